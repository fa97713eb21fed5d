/* SPDX-License-Identifier: MIT */
/*
 * probe_fair_bound.c - the sweep that chose weft_mutex_t's fairness bound
 * (WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT, docs/mutex.md "The fairness bound").
 * Run by hand (make probe-fair-bound); it measures time, so it asserts
 * nothing.
 *
 * For each bound (weft_mutex_set_fair_bound(); "off" = UINT64_MAX, the
 * barging lock without hand-offs), in rounds with the bounds in a fresh
 * random order each round:
 *  - C3 (SCENARIOS.md, as bench/bench_scenario_c3.c): 8 clients send requests
 *    back to back; a request takes the mutex with a 20 ms deadline, sleeps
 *    500 us under it (the I/O), unlocks.  Reported: timeouts / requests, the
 *    p99 and largest acquire wait, served per second.
 *  - contended: 4 threads increment a counter under the mutex (an empty
 *    section, nothing outside): acquisitions per second, the throughput the
 *    hand-offs may cost.
 * Usage: probe_fair_bound [ROUNDS [SECONDS_PER_RUN]]   (default 3, 1)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft/weft.h"

#define C3_CLIENTS 8
#define C3_IO_NS 500000ull
#define C3_TIMEOUT_NS (40ull * C3_IO_NS)
#define CONT_THREADS 4
#define MAX_SAMPLES 200000

static const uint64_t bounds[] = {0, 100000, 250000, 500000, 1000000, 2000000, 4000000, UINT64_MAX};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static weft_mutex_t m;
static uint64_t stop_at;
static uint64_t waits[MAX_SAMPLES];
static unsigned nwaits;
static unsigned long served, timeouts;
static pthread_mutex_t stats = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;

static void *c3_client(void *arg)
{
	(void)arg;
	while (now_ns() < stop_at) {
		uint64_t t0 = now_ns();
		struct timespec d = weft_deadline_after_ns(C3_TIMEOUT_NS);
		int rc = weft_mutex_timedlock(&m, &d);
		uint64_t waited = now_ns() - t0;
		if (rc == WEFT_OK) {
			struct timespec io = {0, (long)C3_IO_NS};
			nanosleep(&io, NULL);
			weft_mutex_unlock(&m);
		}
		pthread_mutex_lock(&stats);
		if (nwaits < MAX_SAMPLES)
			waits[nwaits++] = waited;
		if (rc == WEFT_OK)
			served++;
		else
			timeouts++;
		pthread_mutex_unlock(&stats);
	}
	return NULL;
}

static void *cont_thread(void *arg)
{
	unsigned long *ops = arg;
	unsigned long n = 0;
	while ((n & 1023) != 0 || now_ns() < stop_at) {
		weft_mutex_lock(&m);
		counter = counter + 1;
		weft_mutex_unlock(&m);
		n++;
	}
	*ops = n;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct result {
	double timeout_frac, p99_ms, max_ms, served_per_s, cont_ops_per_s;
};

static struct result run(uint64_t bound, double seconds)
{
	struct result r;
	weft_mutex_set_fair_bound(bound);
	pthread_t t[C3_CLIENTS];
	m = (weft_mutex_t)WEFT_MUTEX_INIT;
	nwaits = 0;
	served = timeouts = 0;
	stop_at = now_ns() + (uint64_t)(seconds * 1e9);
	for (int i = 0; i < C3_CLIENTS; i++)
		pthread_create(&t[i], NULL, c3_client, NULL);
	for (int i = 0; i < C3_CLIENTS; i++)
		pthread_join(t[i], NULL);
	qsort(waits, nwaits, sizeof(waits[0]), cmp_u64);
	r.timeout_frac = (double)timeouts / (double)(served + timeouts);
	r.p99_ms = nwaits ? (double)waits[(size_t)(nwaits * 0.99)] / 1e6 : 0;
	r.max_ms = nwaits ? (double)waits[nwaits - 1] / 1e6 : 0;
	r.served_per_s = (double)served / seconds;

	pthread_t c[CONT_THREADS];
	unsigned long ops[CONT_THREADS];
	uint64_t t0 = now_ns();
	stop_at = t0 + (uint64_t)(seconds * 1e9 / 2);
	for (int i = 0; i < CONT_THREADS; i++)
		pthread_create(&c[i], NULL, cont_thread, &ops[i]);
	unsigned long total = 0;
	for (int i = 0; i < CONT_THREADS; i++) {
		pthread_join(c[i], NULL);
		total += ops[i];
	}
	r.cont_ops_per_s = (double)total / ((double)(now_ns() - t0) / 1e9);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	double seconds = argc > 2 ? atof(argv[2]) : 1.0;
	if (rounds < 1 || rounds > 100 || !(seconds > 0)) {
		fprintf(stderr, "usage: %s [ROUNDS [SECONDS_PER_RUN]]\n", argv[0]);
		return 2;
	}
	struct result *res = calloc((size_t)rounds * NBOUNDS, sizeof(*res));
	unsigned order[NBOUNDS];
	srand((unsigned)now_ns());
	for (int k = 0; k < rounds; k++) {
		for (unsigned i = 0; i < NBOUNDS; i++)
			order[i] = i;
		for (unsigned i = NBOUNDS - 1; i > 0; i--) { /* a fresh order each round */
			unsigned j = (unsigned)rand() % (i + 1), x = order[i];
			order[i] = order[j];
			order[j] = x;
		}
		for (unsigned i = 0; i < NBOUNDS; i++)
			res[(size_t)k * NBOUNDS + order[i]] = run(bounds[order[i]], seconds);
		fprintf(stderr, "round %d/%d done\n", k + 1, rounds);
	}
	printf("bound        C3@8: timeouts  p99 wait   max wait   served/s | contended@%d: acq/s (vs off)\n",
	       CONT_THREADS);
	double off_ops = 0;
	for (unsigned b = 0; b < NBOUNDS; b++) {
		double tf[100], p99[100], mx[100], sv[100], co[100];
		for (int k = 0; k < rounds; k++) {
			struct result *r = &res[(size_t)k * NBOUNDS + b];
			tf[k] = r->timeout_frac, p99[k] = r->p99_ms, mx[k] = r->max_ms, sv[k] = r->served_per_s,
			co[k] = r->cont_ops_per_s;
		}
		double ops = median(co, rounds);
		if (bounds[b] == UINT64_MAX)
			off_ops = ops;
		char name[32];
		if (bounds[b] == UINT64_MAX)
			snprintf(name, sizeof name, "off");
		else
			snprintf(name, sizeof name, "%.2f ms", (double)bounds[b] / 1e6);
		printf("%-10s %14.4f %7.2f ms %7.2f ms %10.0f | %12.3g\n", name, median(tf, rounds), median(p99, rounds),
		       median(mx, rounds), median(sv, rounds), ops);
	}
	printf("(medians of %d rounds of %.1f s; contended acq/s of 'off' = %.3g: divide to compare)\n", rounds, seconds,
	       off_ops);
	free(res);
	return 0;
}
