/* SPDX-License-Identifier: MIT */
/*
 * bench_scenario_c6.c - scenario C6 of SCENARIOS.md: one big lock serializing
 * CPU work, the model of Python's global interpreter lock (GIL).
 *
 * The article (seeds/002, "Go语言协程与Python多线程的并发之争"): cpu_task()
 * increments a local counter 10^7 times; run once on one thread, then on two
 * threads at once; "the GIL prevents parallel execution, so the total time is
 * close to twice the single-thread time".  seeds/003 models the interpreter
 * loop: every 100 bytecodes the running thread releases the GIL and at once
 * tries to take it again.
 *
 * Here one iteration of a row is the article's run: every thread increments
 * its own local counter 10^7 times, in slices of 100 increments, each slice
 * under one global lock (released and re-taken between slices, as in
 * seeds/003).  Rows at 1 and 2 threads:
 *
 *     scenario/c6_gil/weft_mutex     the global lock is a weft_mutex_t
 *     scenario/c6_gil/pthread        a pthread_mutex_t
 *     scenario/c6_gil/limit          no lock: the work alone, free to run in parallel
 *
 * items_per_second counts increments (all threads), so ns_per_op is the time
 * per increment; runs_per_second counts the article's runs (every thread's
 * 10^7 increments), so 1 / runs_per_second is the time the article prints.
 * The article's claim is time(2 threads) / time(1 thread) ~ 2 with the lock;
 * docs/claims.md computes that ratio from these rows (without the lock and
 * with 2 CPUs it is ~1).
 *
 * A C increment costs about a cycle where a Python `count += 1` costs tens of
 * nanoseconds, so the lock's own cost (and the cache line it moves between
 * CPUs when both threads take turns) weighs more here than under CPython.
 * first_finish_frac (2 threads): when the first thread finished, as a
 * fraction of the whole run: near 1 when the lock alternates the threads,
 * near 0.5 when one thread keeps re-taking it and the other runs afterwards.
 *
 * The teardown checks that the lock excluded: the slices counted under it
 * equal the slices run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <weft/mutex.h>

#include "shim.h"

#define C6_INCREMENTS 10000000u /* per thread, per run: range(10**7) */
#define C6_SLICE 100u           /* increments per lock hold: seeds/003's 100 bytecodes */
#define C6_ALWAYS_INLINE inline __attribute__((always_inline))

struct c6_shared {
	weft_mutex_t wm;
	pthread_mutex_t pm;
	uint64_t slices __attribute__((aligned(64))); /* plain: incremented under the lock */
	uint64_t start_ns[2], finish_ns[2];            /* plain: each thread its own, read in teardown */
};

static void *c6_setup(wb_thread *t)
{
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct c6_shared)) != 0)
		wb_fail(t, "out of memory");
	struct c6_shared *s = (struct c6_shared *)mem;
	memset(s, 0, sizeof *s);
	(void)!weft_mutex_init(&s->wm, 0);
	pthread_mutex_init(&s->pm, NULL);
	return s;
}

static void c6_teardown(wb_thread *t)
{
	struct c6_shared *s = (struct c6_shared *)t->shared;
	const int locked = t->arg != NULL;
	/* read after the runner's barrier: the bodies have stopped */
	uint64_t want = (uint64_t)t->nthreads * t->iters * (C6_INCREMENTS / C6_SLICE);
	if (locked && s->slices != want)
		wb_fail(t, "the lock did not exclude: %llu slices counted under it, %llu run",
			(unsigned long long)s->slices, (unsigned long long)want);
	if (t->nthreads == 2) {
		uint64_t start = s->start_ns[0] < s->start_ns[1] ? s->start_ns[0] : s->start_ns[1];
		uint64_t first = s->finish_ns[0] < s->finish_ns[1] ? s->finish_ns[0] : s->finish_ns[1];
		uint64_t last = s->finish_ns[0] < s->finish_ns[1] ? s->finish_ns[1] : s->finish_ns[0];
		if (last > start)
			wb_counter(t, "first_finish_frac", (double)(first - start) / (double)(last - start), WB_SUM);
	}
	weft_mutex_destroy(&s->wm);
	pthread_mutex_destroy(&s->pm);
	free(s);
}

typedef void (*c6_fn)(struct c6_shared *s);

/* Every thread runs t->iters runs of the article's task (a fixed loop). */
static C6_ALWAYS_INLINE void c6_body(wb_thread *t, c6_fn lock, c6_fn unlock, int locked)
{
	struct c6_shared *s = (struct c6_shared *)t->shared;
	s->start_ns[t->tid] = wb_clock_ns();
	uint64_t r;
	for (r = 0; r < t->iters; r++) {
		uint32_t count = 0; /* the article's local counter */
		for (uint32_t slice = 0; slice < C6_INCREMENTS / C6_SLICE; slice++) {
			lock(s);
			for (uint32_t k = 0; k < C6_SLICE; k++) {
				count++;
				/* keep one add per increment: no vectorizing, no folding */
				__asm__ __volatile__("" : "+r"(count));
			}
			if (locked)
				s->slices++;
			unlock(s);
		}
		if (count != C6_INCREMENTS)
			wb_fail(t, "counted %u, expected %u", count, C6_INCREMENTS);
	}
	s->finish_ns[t->tid] = wb_clock_ns();
	if (t->tid == 0)
		wb_counter(t, "runs_per_second", (double)t->iters, WB_RATE);
	wb_done(t, t->iters * C6_INCREMENTS);
}

static void c6_weft_lock(struct c6_shared *s)
{
	weft_mutex_lock(&s->wm);
}
static void c6_weft_unlock(struct c6_shared *s)
{
	weft_mutex_unlock(&s->wm);
}
static void c6_pthread_lock(struct c6_shared *s)
{
	pthread_mutex_lock(&s->pm);
}
static void c6_pthread_unlock(struct c6_shared *s)
{
	pthread_mutex_unlock(&s->pm);
}
static void c6_no_lock(struct c6_shared *s)
{
	(void)s;
}

static void c6_weft(wb_thread *t)
{
	c6_body(t, c6_weft_lock, c6_weft_unlock, 1);
}
static void c6_pthread(wb_thread *t)
{
	c6_body(t, c6_pthread_lock, c6_pthread_unlock, 1);
}
static void c6_limit(wb_thread *t)
{
	c6_body(t, c6_no_lock, c6_no_lock, 0);
}

__attribute__((constructor)) static void register_c6(void)
{
	static const int locked = 1;
	static const struct {
		const char *name;
		wb_body_fn body;
		const void *arg; /* non-NULL: the row takes the lock (teardown checks it) */
	} rows[] = {
		{"scenario/c6_gil/weft_mutex", c6_weft, &locked},
		{"scenario/c6_gil/pthread", c6_pthread, &locked},
		{"scenario/c6_gil/limit", c6_limit, NULL},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		wb_def def;
		memset(&def, 0, sizeof def);
		def.name = rows[i].name;
		def.body = rows[i].body;
		def.threads = WB_T1 | WB_T2;
		def.flags = WB_CPU;
		def.arg = rows[i].arg;
		def.setup = c6_setup;
		def.teardown = c6_teardown;
		wb_register_def(&def);
	}
}
