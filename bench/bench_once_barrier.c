/* SPDX-License-Identifier: MIT */
/*
 * bench_once_barrier.c - families `once` and `barrier`: weft_once_t,
 * weft_barrier_t and weft_latch_t against glibc (the C++20 std::barrier and
 * std::latch peers are in sync_cxx.cc).
 *
 *   once/after_first/<impl>          once() on a flag whose function has
 *                                    already run (the common case); every
 *                                    thread a fixed loop; 1, 2, 4, 8 threads
 *   barrier/phase/<impl>             every thread waits on one barrier, phase
 *                                    after phase; items = phases; 2, 4, 8 threads
 *   barrier/latch_countdown/<impl>   fork-join rounds: one thread opens a start
 *                                    latch, N-1 workers count a done latch down,
 *                                    the first waits on it; items = rounds
 *
 * Peers: pthread_once, pthread_barrier_t.  glibc has no latch, so the
 * latch_countdown `pthread` row is the textbook latch made for this bench: a
 * count under a pthread mutex and a condition variable broadcast at zero.
 * The once `limit` row is the acquire load of a flag (what the fast path
 * cannot avoid).  barrier/latch rows have no `limit`: a phase's floor is a
 * hand-off between threads, which is what the rows measure.
 *
 * Bodies: see syncbench.h (barrier, latch); constant function pointers into
 * always-inline bodies, so the measured loops make direct calls only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <weft/barrier.h>
#include <weft/latch.h>
#include <weft/once.h>

#include "syncbench.h"

/* ---- once/after_first ---------------------------------------------------------- */

struct ob_once {
	weft_once_t wonce __attribute__((aligned(64)));
	pthread_once_t ponce __attribute__((aligned(64)));
	uint32_t flag __attribute__((aligned(64))); /* the limit row's "done" flag */
};

/* How often the init function ran in this run: set by setup (thread 0, before
 * the run), read in teardown (after the runner's barrier). */
static unsigned ob_init_calls;

static void ob_init(void)
{
	ob_init_calls++;
}

static void *ob_once_setup(wb_thread *t)
{
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct ob_once)) != 0)
		wb_fail(t, "out of memory");
	struct ob_once *s = (struct ob_once *)mem;
	memset(s, 0, sizeof *s);
	s->ponce = (pthread_once_t)PTHREAD_ONCE_INIT;
	ob_init_calls = 0;
	/* the first calls, before anyone measures: the rows time what comes after */
	weft_once(&s->wonce, ob_init);
	pthread_once(&s->ponce, ob_init);
	/* relaxed: published to the bodies by the runner's barrier */
	__atomic_store_n(&s->flag, 1u, __ATOMIC_RELAXED);
	if (ob_init_calls != 2)
		wb_fail(t, "init ran %u times for two once flags", ob_init_calls);
	return s;
}

static void ob_once_teardown(wb_thread *t)
{
	if (ob_init_calls != 2)
		wb_fail(t, "init ran %u times after the first calls", ob_init_calls - 2);
	free(t->shared);
}

static void once_weft(wb_thread *t)
{
	struct ob_once *s = (struct ob_once *)t->shared;
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++)
		weft_once(&s->wonce, ob_init);
	wb_done(t, n);
}

static void once_pthread(wb_thread *t)
{
	struct ob_once *s = (struct ob_once *)t->shared;
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++)
		pthread_once(&s->ponce, ob_init);
	wb_done(t, n);
}

static void once_limit(wb_thread *t)
{
	struct ob_once *s = (struct ob_once *)t->shared;
	const uint64_t n = t->iters;
	uint64_t seen = 0;
	for (uint64_t i = 0; i < n; i++)
		seen += __atomic_load_n(&s->flag, __ATOMIC_ACQUIRE); /* acquire: as once's fast path */
	if (seen != n)
		wb_fail(t, "flag read %llu times set of %llu", (unsigned long long)seen,
			(unsigned long long)n);
	wb_done(t, n);
}

/* ---- barrier/phase ------------------------------------------------------------ */

static void wbar_init(void *b, unsigned n) { (void)!weft_barrier_init((weft_barrier_t *)b, n); }
static int wbar_wait(void *b) { return weft_barrier_wait((weft_barrier_t *)b); }
static void pb_init(void *b, unsigned n) { pthread_barrier_init((pthread_barrier_t *)b, NULL, n); }
static void pb_destroy(void *b) { pthread_barrier_destroy((pthread_barrier_t *)b); }
static int pb_wait(void *b)
{
	return pthread_barrier_wait((pthread_barrier_t *)b) == PTHREAD_BARRIER_SERIAL_THREAD;
}

static void phase_weft(wb_thread *t) { sb_phase(t, wbar_wait); }
static void phase_pthread(wb_thread *t) { sb_phase(t, pb_wait); }

/* ---- barrier/latch_countdown ---------------------------------------------------- */

static void wl_init(void *l, unsigned n) { (void)!weft_latch_init((weft_latch_t *)l, n); }
static int wl_count_down(void *l) { return weft_latch_count_down((weft_latch_t *)l, 1u); }
static void wl_wait(void *l) { weft_latch_wait((weft_latch_t *)l); }

/* The pthread baseline: a latch as a count under a mutex, broadcast at zero. */
struct pl_latch {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned count;
};
_Static_assert(sizeof(struct pl_latch) <= SB_OBJ_BYTES, "the latch fits its slot");

static void pl_init(void *p, unsigned n)
{
	struct pl_latch *l = (struct pl_latch *)p;
	pthread_mutex_init(&l->m, NULL);
	pthread_cond_init(&l->c, NULL);
	l->count = n;
}
static void pl_destroy(void *p)
{
	struct pl_latch *l = (struct pl_latch *)p;
	pthread_cond_destroy(&l->c);
	pthread_mutex_destroy(&l->m);
}
/* Reuse keeps the mutex and condvar: only the count is reset. */
static void pl_reinit(void *p, unsigned n)
{
	struct pl_latch *l = (struct pl_latch *)p;
	pthread_mutex_lock(&l->m);
	l->count = n;
	pthread_mutex_unlock(&l->m);
}
static int pl_count_down(void *p)
{
	struct pl_latch *l = (struct pl_latch *)p;
	int rc = 0;
	pthread_mutex_lock(&l->m);
	if (l->count == 0)
		rc = 1;
	else if (--l->count == 0)
		pthread_cond_broadcast(&l->c);
	pthread_mutex_unlock(&l->m);
	return rc;
}
static void pl_wait(void *p)
{
	struct pl_latch *l = (struct pl_latch *)p;
	pthread_mutex_lock(&l->m);
	while (l->count != 0)
		pthread_cond_wait(&l->c, &l->m);
	pthread_mutex_unlock(&l->m);
}

static void latch_weft(wb_thread *t) { sb_latch_countdown(t, wl_count_down, wl_wait, wl_init); }
static void latch_pthread(wb_thread *t) { sb_latch_countdown(t, pl_count_down, pl_wait, pl_reinit); }

/* ---- registration -------------------------------------------------------------------- */

static const struct sb_impl sb_weft_barrier = {wbar_init, NULL};
static const struct sb_impl sb_pthread_barrier = {pb_init, pb_destroy};
static const struct sb_impl sb_weft_latch = {wl_init, NULL};
static const struct sb_impl sb_pthread_latch = {pl_init, pl_destroy};

static void ob_register(const char *name, wb_body_fn body, uint64_t threads, unsigned flags,
			const void *arg, wb_setup_fn setup, wb_teardown_fn teardown)
{
	wb_def def;
	memset(&def, 0, sizeof def);
	def.name = name;
	def.body = body;
	def.threads = threads;
	def.flags = flags;
	def.arg = arg;
	def.setup = setup;
	def.teardown = teardown;
	wb_register_def(&def);
}

__attribute__((constructor)) static void register_once_barrier(void)
{
	const uint64_t t248 = WB_T2 | WB_T4 | WB_T8;
	ob_register("once/after_first/weft_once", once_weft, WB_T1248, 0, NULL, ob_once_setup,
		    ob_once_teardown);
	ob_register("once/after_first/pthread_once", once_pthread, WB_T1248, 0, NULL, ob_once_setup,
		    ob_once_teardown);
	ob_register("once/after_first/limit", once_limit, WB_T1248, 0, NULL, ob_once_setup,
		    ob_once_teardown);
	ob_register("barrier/phase/weft_barrier", phase_weft, t248, WB_CPU, &sb_weft_barrier,
		    sb_barrier_setup, sb_barrier_teardown);
	ob_register("barrier/phase/pthread_barrier", phase_pthread, t248, WB_CPU, &sb_pthread_barrier,
		    sb_barrier_setup, sb_barrier_teardown);
	ob_register("barrier/latch_countdown/weft_latch", latch_weft, t248, WB_CPU, &sb_weft_latch,
		    sb_latch_setup, sb_latch_teardown);
	ob_register("barrier/latch_countdown/pthread", latch_pthread, t248, WB_CPU, &sb_pthread_latch,
		    sb_latch_setup, sb_latch_teardown);
}
