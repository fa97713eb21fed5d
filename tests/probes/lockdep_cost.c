/* SPDX-License-Identifier: MIT */
/*
 * lockdep_cost.c - what the lock-order checker costs a single thread, in
 * nanoseconds per lock/unlock pair of an uncontended weft_mutex_t, taken alone
 * and nested two and three deep.  `make lockdep-cost` runs it three ways
 * (release; WEFT_DEBUG; WEFT_DEBUG with WEFT_LOCKDEP=off; each build linked
 * against the library built the same way) and prints one line
 * per run.  The numbers are medians of 7 runs on whatever machine runs it:
 * provisional, for the order of magnitude.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "weft/weft.h"

#define ROUNDS 7
#define ITERS 200000

static weft_mutex_t m[3];

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median ns per lock/unlock pair with @depth mutexes nested. */
static double measure(int depth)
{
	double t[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();
		for (int i = 0; i < ITERS; i++) {
			for (int d = 0; d < depth; d++)
				weft_mutex_lock(&m[d]);
			for (int d = depth; d-- > 0;)
				weft_mutex_unlock(&m[d]);
		}
		t[r] = (now_ns() - t0) / ((double)ITERS * depth);
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_double);
	return t[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	const char *label = argc > 1 ? argv[1] : "?";
	double d1 = measure(1), d2 = measure(2), d3 = measure(3);
	printf("%-32s  alone %7.1f ns   nested 2 %7.1f ns   nested 3 %7.1f ns   (per lock+unlock; reports %lu)\n",
	       label, d1, d2, d3, weft_lockdep_reports());
	return 0;
}
