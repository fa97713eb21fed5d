/* SPDX-License-Identifier: MIT */
/*
 * probe_deadline.c - how long every timed call takes with a deadline that has
 * already passed (and how late a 1 ms timed pop returns), to run by hand with
 * a busy loop pinned to the same CPU.  A probe, not a test: it measures time,
 * so it is not part of `make test` and asserts nothing.
 *
 *   make probe-deadline [PROBE_CALLS=n]   (mk/probes.mk), which does:
 *   taskset -c 0 sh -c 'while :; do :; done' &  HOG=$!
 *   taskset -c 0 build/probes/probe_deadline [calls]
 *   kill $HOG
 *
 * Prints, per call, p50 / p99 / max in microseconds over @calls calls
 * (default 1000).  docs/errors.md: a past deadline returns at once without
 * sleeping; the target is under 50 us even with a CPU hog on the same CPU.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "weft/weft.h"
#include "../held_locks.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *ns, int n, int bad)
{
	qsort(ns, (size_t)n, sizeof ns[0], cmp_u64);
	printf("%-28s p50 %8.1f us  p99 %8.1f us  max %9.1f us%s\n", name, ns[n / 2] / 1e3,
	       ns[(n * 99) / 100] / 1e3, ns[n - 1] / 1e3, bad ? "  (unexpected return codes!)" : "");
}

static const struct timespec past = {0, 0};

#define PROBE(name, call, want)                                                   \
	do {                                                                      \
		int bad_ = 0;                                                     \
		for (int i_ = 0; i_ < calls; i_++) {                              \
			uint64_t t0_ = now_ns();                                  \
			int rc_ = (call);                                         \
			ns[i_] = now_ns() - t0_;                                  \
			bad_ |= rc_ != (want);                                    \
		}                                                                 \
		report(name, ns, calls, bad_);                                    \
	} while (0)

int main(int argc, char **argv)
{
	int calls = argc > 1 ? atoi(argv[1]) : 1000;
	if (calls < 1)
		calls = 1000;
	uint64_t *ns = malloc((size_t)calls * sizeof *ns);
	if (ns == NULL)
		return 1;

	pthread_t t;
	if (held_locks_take(&t) != 0) {
		free(ns);
		return 1;
	}

	weft_sem_t sem;
	(void)!weft_sem_init(&sem, 0, 0);
	PROBE("sem_timedwait", weft_sem_timedwait(&sem, &past), WEFT_ETIMEDOUT);

	weft_latch_t latch;
	(void)!weft_latch_init(&latch, 1);
	PROBE("latch_timedwait", weft_latch_timedwait(&latch, &past), WEFT_ETIMEDOUT);

	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	PROBE("mpmc_timedpop (empty)", weft_mpmc_timedpop(q, &(void *){NULL}, &past), WEFT_ETIMEDOUT);
	(void)!weft_mpmc_try_push(q, q);
	(void)!weft_mpmc_try_push(q, q);
	PROBE("mpmc_timedpush (full)", weft_mpmc_timedpush(q, q, &past), WEFT_ETIMEDOUT);

	PROBE("mutex_timedlock (held)", weft_mutex_timedlock(&held_mutex, &past), WEFT_ETIMEDOUT);

	weft_mutex_t m = WEFT_MUTEX_INIT;
	weft_cond_t cv = WEFT_COND_INIT;
	weft_mutex_lock(&m);
	PROBE("cond_timedwait", weft_cond_timedwait(&cv, &m, &past), WEFT_ETIMEDOUT);
	weft_mutex_unlock(&m);

	PROBE("rwlock_timedrdlock (wr)", weft_rwlock_timedrdlock(&held_wr, &past), WEFT_ETIMEDOUT);
	PROBE("rwlock_timedwrlock (wr)", weft_rwlock_timedwrlock(&held_wr, &past), WEFT_ETIMEDOUT);
	PROBE("rwlock_timedwrlock (rd)", weft_rwlock_timedwrlock(&held_rd, &past), WEFT_ETIMEDOUT);
	PROBE("brlock_timedrdlock (wr)", weft_brlock_timedrdlock(&held_brw, &past), WEFT_ETIMEDOUT);
	PROBE("brlock_timedwrlock (wr)", weft_brlock_timedwrlock(&held_brw, &past), WEFT_ETIMEDOUT);
	PROBE("brlock_timedwrlock (rd)", weft_brlock_timedwrlock(&held_brr, &past), WEFT_ETIMEDOUT);

	/* How late a 1 ms timed pop on an empty queue returns (lateness past
	 * the deadline, not the whole wait). */
	int near = calls / 10 > 0 ? calls / 10 : 1;
	weft_mpmc_t *e = weft_mpmc_create(2, 0);
	for (int i = 0; i < near; i++) {
		struct timespec d = weft_deadline_after_ns(1000000);
		uint64_t due = (uint64_t)d.tv_sec * 1000000000ull + (uint64_t)d.tv_nsec;
		(void)!weft_mpmc_timedpop(e, &(void *){NULL}, &d);
		uint64_t end = now_ns();
		ns[i] = end > due ? end - due : 0;
	}
	report("mpmc_timedpop 1ms: late by", ns, near, 0);

	(void)held_locks_release(t);
	weft_mpmc_destroy(q);
	weft_mpmc_destroy(e);
	free(ns);
	return 0;
}
