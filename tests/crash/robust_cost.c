/* SPDX-License-Identifier: MIT */
/*
 * robust_cost.c - `make robust-cost`: what an uncontended lock+unlock costs,
 * for a weft_robust_mutex_t, a robust pthread_mutex_t and a plain
 * weft_mutex_t, measured in the same run, interleaved.
 *
 * Rounds of R rows each (the three, in a fresh random order per round), each
 * row N lock+unlock pairs on one thread; a second thread exists (parked)
 * so that glibc does not take its single-threaded shortcuts.  Per round the
 * ratios robust/pthread and robust/plain; the output gives their median and
 * the 10th-90th percentile spread over the rounds.  The machine is shared:
 * read the spread, not just the median.
 *
 * Usage: robust_cost [-r ROUNDS] [-n PAIRS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "weft/weft.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static weft_robust_mutex_t rm;
static pthread_mutex_t pm;
static weft_mutex_t plain;

static __attribute__((noinline)) double row_robust(long n)
{
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (weft_robust_mutex_lock(&rm) != WEFT_OK)
			abort();
		__asm__ __volatile__("" ::: "memory");
		(void)weft_robust_mutex_unlock(&rm);
	}
	return (double)(now_ns() - t0) / (double)n;
}

static __attribute__((noinline)) double row_pthread(long n)
{
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (pthread_mutex_lock(&pm) != 0)
			abort();
		__asm__ __volatile__("" ::: "memory");
		pthread_mutex_unlock(&pm);
	}
	return (double)(now_ns() - t0) / (double)n;
}

static __attribute__((noinline)) double row_plain(long n)
{
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		weft_mutex_lock(&plain);
		__asm__ __volatile__("" ::: "memory");
		weft_mutex_unlock(&plain);
	}
	return (double)(now_ns() - t0) / (double)n;
}

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void summary(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_d);
	printf("%-26s min %7.3f  p10 %7.3f  median %7.3f  p90 %7.3f  (%d rounds)\n", what, v[0], v[n / 10], v[n / 2],
	       v[(n * 9) / 10], n);
}

int main(int argc, char **argv)
{
	int rounds = 30;
	long n = 2000000;
	int opt;
	while ((opt = getopt(argc, argv, "r:n:")) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'n')
			n = atol(optarg);
		else
			return 2;
	}
	if (rounds < 3 || rounds > 1000)
		return 2;
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&pm, &a);
	if (weft_robust_mutex_init(&rm, WEFT_ROBUST) != WEFT_OK || weft_mutex_init(&plain, 0) != WEFT_OK)
		return 1;
	row_robust(n / 10), row_pthread(n / 10), row_plain(n / 10); /* warm up */
	double rp[1000], rq[1000], ns_r[1000], ns_p[1000], ns_q[1000];
	unsigned seed = (unsigned)now_ns();
	for (int r = 0; r < rounds; r++) {
		int order[3] = {0, 1, 2};
		for (int i = 2; i > 0; i--) {
			int j = (int)(rand_r(&seed) % (unsigned)(i + 1)), x = order[i];
			order[i] = order[j], order[j] = x;
		}
		for (int i = 0; i < 3; i++) {
			if (order[i] == 0)
				ns_r[r] = row_robust(n);
			else if (order[i] == 1)
				ns_p[r] = row_pthread(n);
			else
				ns_q[r] = row_plain(n);
		}
		rp[r] = ns_r[r] / ns_p[r];
		rq[r] = ns_r[r] / ns_q[r];
	}
	printf("robust_cost: %d rounds x %ld uncontended lock+unlock pairs per row, rows in random order per round\n",
	       rounds, n);
	summary("weft robust ns/pair", ns_r, rounds);
	summary("pthread robust ns/pair", ns_p, rounds);
	summary("weft plain ns/pair", ns_q, rounds);
	summary("ratio robust / pthread", rp, rounds);
	summary("ratio robust / plain", rq, rounds);
	return 0;
}
