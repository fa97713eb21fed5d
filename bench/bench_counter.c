/* SPDX-License-Identifier: MIT */
/*
 * bench_counter.c - family "counter" and scenario C8.
 *
 *     counter/inc/<impl>            every thread increments one shared counter
 *                                   (timed loop; 1, 2, 4, 8 threads); items =
 *                                   increments.  impl:
 *         limit          a relaxed __atomic_fetch_add on one word: the bare
 *                        atomic a shared counter cannot avoid
 *         weft_counter   weft_counter_inc()
 *         ck_pr_faa      Concurrency Kit ck_pr_faa_64()
 *         weft_mutex     a counter under a weft_mutex_t (lock and count on one line)
 *         pthread        a counter under a pthread_mutex_t
 *         weft_scounter  weft_scounter_inc(): each thread its own slot
 *     counter/read/<impl>           thread 0 reads the counter in a loop while
 *     counter/read_approx/<impl>    the other threads (if any) increment it;
 *                                   items = reads (1, 2, 4 threads); impl
 *                                   weft_scounter (read: sums 32 slots + the
 *                                   overflow word; read_approx: the cached
 *                                   total) and weft_counter (one load)
 *     scenario/c8_counter/<impl>    SCENARIOS C8, "contended counter: mutex vs
 *                                   atomic vs sharded", 1, 2, 4, 8 threads:
 *                                   every thread does the same fixed number
 *                                   of increments (the articles' "N threads x
 *                                   M increments" form), impl pthread,
 *                                   weft_mutex, weft_counter, weft_scounter
 *
 * Every teardown checks that the counter equals the increments made: a
 * counter that loses updates fails the run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ck_pr.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <weft/counter.h>
#include <weft/mutex.h>

#include "shim.h"

#define CB_ALWAYS_INLINE inline __attribute__((always_inline))

struct cb_shared {
	uint64_t word __attribute__((aligned(64))); /* limit, ck_pr_faa */
	weft_counter_t wc __attribute__((aligned(64)));
	struct {
		weft_mutex_t lock;
		uint64_t count;
	} wm __attribute__((aligned(64)));
	struct {
		pthread_mutex_t lock;
		uint64_t count;
	} pm __attribute__((aligned(64)));
	weft_scounter_t sc __attribute__((aligned(64)));
	uint64_t incs __attribute__((aligned(64))); /* increments made by the read rows' writers */
};

static void *cb_setup(wb_thread *t)
{
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct cb_shared)) != 0)
		wb_fail(t, "out of memory");
	struct cb_shared *s = (struct cb_shared *)mem;
	memset(s, 0, sizeof(*s));
	(void)!weft_counter_init(&s->wc, 0);
	(void)!weft_mutex_init(&s->wm.lock, 0);
	pthread_mutex_init(&s->pm.lock, NULL);
	if (weft_scounter_init(&s->sc) != WEFT_OK)
		wb_fail(t, "weft_scounter_init failed");
	return s;
}

/* The sum of every counter: only the row's own impl moved, so the sum is its
 * count.  Read after the runner's barrier: the bodies have stopped. */
static uint64_t cb_total(struct cb_shared *s)
{
	return s->word + weft_counter_load(&s->wc) + s->wm.count + s->pm.count +
	       (uint64_t)weft_scounter_read(&s->sc);
}

static void cb_free(struct cb_shared *s)
{
	weft_scounter_destroy(&s->sc);
	weft_mutex_destroy(&s->wm.lock);
	pthread_mutex_destroy(&s->pm.lock);
	free(s);
}

static void cb_teardown(wb_thread *t)
{
	struct cb_shared *s = (struct cb_shared *)t->shared;
	uint64_t ops = wb_total_ops(t), got = cb_total(s);
	if (got != ops)
		wb_fail(t, "lost updates: counter %llu, increments %llu", (unsigned long long)got, (unsigned long long)ops);
	cb_free(s);
}

static void cb_read_teardown(wb_thread *t)
{
	struct cb_shared *s = (struct cb_shared *)t->shared;
	uint64_t got = cb_total(s);
	if (got != s->incs)
		wb_fail(t, "lost updates: counter %llu, increments %llu", (unsigned long long)got,
			(unsigned long long)s->incs);
	cb_free(s);
}

/* ---- the increment operations ------------------------------------------- */

typedef void (*cb_inc_fn)(struct cb_shared *s);

static CB_ALWAYS_INLINE void inc_limit(struct cb_shared *s)
{
	__atomic_fetch_add(&s->word, 1, __ATOMIC_RELAXED); /* relaxed: counting only */
}
static CB_ALWAYS_INLINE void inc_weft_counter(struct cb_shared *s)
{
	weft_counter_inc(&s->wc);
}
static CB_ALWAYS_INLINE void inc_ck(struct cb_shared *s)
{
	ck_pr_faa_64(&s->word, 1);
}
static CB_ALWAYS_INLINE void inc_weft_mutex(struct cb_shared *s)
{
	weft_mutex_lock(&s->wm.lock);
	s->wm.count++;
	weft_mutex_unlock(&s->wm.lock);
}
static CB_ALWAYS_INLINE void inc_pthread(struct cb_shared *s)
{
	pthread_mutex_lock(&s->pm.lock);
	s->pm.count++;
	pthread_mutex_unlock(&s->pm.lock);
}
static CB_ALWAYS_INLINE void inc_weft_scounter(struct cb_shared *s)
{
	weft_scounter_inc(&s->sc);
}

/* counter/inc: the timed loop (see shim.h) */
static CB_ALWAYS_INLINE void cb_inc(wb_thread *t, cb_inc_fn inc)
{
	struct cb_shared *s = (struct cb_shared *)t->shared;
	uint64_t i;
	for (i = 0; wb_running(t, i); i++)
		inc(s);
	wb_done(t, i);
}

/* scenario/c8_counter: every thread the same fixed count */
static CB_ALWAYS_INLINE void cb_fixed(wb_thread *t, cb_inc_fn inc)
{
	struct cb_shared *s = (struct cb_shared *)t->shared;
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++)
		inc(s);
	wb_done(t, n);
}

static void inc_limit_body(wb_thread *t)
{
	cb_inc(t, inc_limit);
}
static void inc_weft_counter_body(wb_thread *t)
{
	cb_inc(t, inc_weft_counter);
}
static void inc_ck_body(wb_thread *t)
{
	cb_inc(t, inc_ck);
}
static void inc_weft_mutex_body(wb_thread *t)
{
	cb_inc(t, inc_weft_mutex);
}
static void inc_pthread_body(wb_thread *t)
{
	cb_inc(t, inc_pthread);
}
static void inc_weft_scounter_body(wb_thread *t)
{
	cb_inc(t, inc_weft_scounter);
}

static void c8_pthread_body(wb_thread *t)
{
	cb_fixed(t, inc_pthread);
}
static void c8_weft_mutex_body(wb_thread *t)
{
	cb_fixed(t, inc_weft_mutex);
}
static void c8_weft_counter_body(wb_thread *t)
{
	cb_fixed(t, inc_weft_counter);
}
static void c8_weft_scounter_body(wb_thread *t)
{
	cb_fixed(t, inc_weft_scounter);
}

/* ---- reads ------------------------------------------------------------- */

typedef int64_t (*cb_read_fn)(struct cb_shared *s);

static CB_ALWAYS_INLINE int64_t read_sc(struct cb_shared *s)
{
	return weft_scounter_read(&s->sc);
}
static CB_ALWAYS_INLINE int64_t read_sc_approx(struct cb_shared *s)
{
	return weft_scounter_read_approx(&s->sc);
}
static CB_ALWAYS_INLINE int64_t read_wc(struct cb_shared *s)
{
	return (int64_t)weft_counter_load(&s->wc);
}

/* Thread 0 reads (timed loop); the others increment with @inc until it stops. */
static CB_ALWAYS_INLINE void cb_read(wb_thread *t, cb_read_fn rd, cb_inc_fn inc)
{
	struct cb_shared *s = (struct cb_shared *)t->shared;
	uint64_t i;
	if (t->tid == 0) {
		int64_t sink = 0;
		for (i = 0; wb_running(t, i); i++)
			sink += rd(s);
		__asm__ __volatile__("" ::"r"(sink));
		wb_done(t, i);
		return;
	}
	for (i = 0; wb_running(t, i); i++)
		inc(s);
	/* relaxed: read by thread 0 after the runner's barrier */
	__atomic_fetch_add(&s->incs, i, __ATOMIC_RELAXED);
	wb_counter(t, "inc_per_second", (double)i, WB_RATE);
	wb_done(t, 0);
}

static void read_sc_body(wb_thread *t)
{
	cb_read(t, read_sc, inc_weft_scounter);
}
static void read_sc_approx_body(wb_thread *t)
{
	cb_read(t, read_sc_approx, inc_weft_scounter);
}
static void read_wc_body(wb_thread *t)
{
	cb_read(t, read_wc, inc_weft_counter);
}

/* ---- registration ------------------------------------------------------- */

static void cb_reg(const char *name, wb_body_fn body, uint64_t threads, wb_teardown_fn teardown, unsigned flags)
{
	wb_def def;
	memset(&def, 0, sizeof(def));
	def.name = name;
	def.body = body;
	def.threads = threads;
	def.flags = flags;
	def.setup = cb_setup;
	def.teardown = teardown;
	wb_register_def(&def);
}

__attribute__((constructor)) static void cb_register(void)
{
	const unsigned f = WB_FAIRNESS | WB_CPU;
	cb_reg("counter/inc/limit", inc_limit_body, WB_T1248, cb_teardown, f);
	cb_reg("counter/inc/weft_counter", inc_weft_counter_body, WB_T1248, cb_teardown, f);
	cb_reg("counter/inc/ck_pr_faa", inc_ck_body, WB_T1248, cb_teardown, f);
	cb_reg("counter/inc/weft_mutex", inc_weft_mutex_body, WB_T1248, cb_teardown, f);
	cb_reg("counter/inc/pthread", inc_pthread_body, WB_T1248, cb_teardown, f);
	cb_reg("counter/inc/weft_scounter", inc_weft_scounter_body, WB_T1248, cb_teardown, f);

	const uint64_t rt = WB_T1 | WB_T2 | WB_T4;
	cb_reg("counter/read/weft_scounter", read_sc_body, rt, cb_read_teardown, 0);
	cb_reg("counter/read_approx/weft_scounter", read_sc_approx_body, rt, cb_read_teardown, 0);
	cb_reg("counter/read/weft_counter", read_wc_body, rt, cb_read_teardown, 0);

	cb_reg("scenario/c8_counter/pthread", c8_pthread_body, WB_T1248, cb_teardown, WB_CPU);
	cb_reg("scenario/c8_counter/weft_mutex", c8_weft_mutex_body, WB_T1248, cb_teardown, WB_CPU);
	cb_reg("scenario/c8_counter/weft_counter", c8_weft_counter_body, WB_T1248, cb_teardown, WB_CPU);
	cb_reg("scenario/c8_counter/weft_scounter", c8_weft_scounter_body, WB_T1248, cb_teardown, WB_CPU);
}
