/* SPDX-License-Identifier: MIT */
/*
 * bench_cond.c - family `cond`: weft_cond_t (with weft_mutex_t) against
 * pthread_cond_t (with pthread_mutex_t, glibc).
 *
 *   cond/signal_nowaiter/<impl>     signal with nobody waiting (1 thread, fixed loop)
 *   cond/broadcast_nowaiter/<impl>  broadcast with nobody waiting
 *   cond/pingpong/<impl>            two threads hand a turn back and forth through
 *                                   one mutex and one condition variable; items =
 *                                   round trips (a handoff each way)
 *   cond/broadcast8/<impl>          8 waiters asleep in the wait; a ninth thread
 *                                   broadcasts under the mutex; wakeall_p50_ns etc.
 *                                   = time from just before the broadcast until the
 *                                   last of the 8 has re-acquired the mutex
 *   cond/late_wake_<D>us/<impl>     the ping-pong where each side works D us (10, 100,
 *                                   1000) under the mutex before it hands over: the
 *                                   wake-up comes after the spin window
 *   cond/pingpong_spin<N>/weft_cond the ping-pong with weft_cond_set_spin(N): the
 *                                   sweep behind WEFT_COND_SPIN_DEFAULT (docs/cond.md)
 *
 * `limit` rows: signal_nowaiter/limit is the one relaxed load of a counter
 * that a signal with no waiter cannot avoid.
 *
 * Bodies are always-inline and take the operations as constant function
 * pointers, so the measured loops make direct calls only (see lockbench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/cond.h>
#include <weft/mutex.h>

#include "shim.h"

#define CV_ALWAYS_INLINE inline __attribute__((always_inline))
#define CV_WAITERS 8           /* broadcast8 */
#define CV_PARK_NS 1000000L    /* broadcast8: let the waiters fall asleep (past any spin) */

typedef void (*cv_lock_fn)(void *m);
typedef void (*cv_wait_fn)(void *c, void *m);
typedef void (*cv_notify_fn)(void *c);

struct cv_shared {
	weft_mutex_t wm;
	weft_cond_t wc;
	pthread_mutex_t pm;
	pthread_cond_t pc;
	uint32_t word; /* limit rows */
	/* ping-pong, guarded by the mutex */
	uint32_t turn;
	int done;
	/* broadcast8 */
	unsigned gen, stop;   /* guarded by the mutex */
	unsigned registered;  /* atomic: waiters inside the wait this round */
	unsigned woken;       /* atomic: waiters that re-acquired this round */
	uint64_t t_end;       /* atomic: wb_now() of the last re-acquire */
	unsigned prev_spin;
};

struct cv_params {
	int spin;        /* >= 0: weft_cond_set_spin() for the run; -1: leave it */
	double delay_ns; /* ping-pong: work (under the mutex) before each hand-over */
};

static const struct cv_params cv_default = {-1, 0};

static void *cv_setup(wb_thread *t)
{
	const struct cv_params *p = t->arg ? (const struct cv_params *)t->arg : &cv_default;
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct cv_shared)) != 0)
		wb_fail(t, "out of memory");
	struct cv_shared *s = (struct cv_shared *)mem;
	memset(s, 0, sizeof *s);
	(void)!weft_mutex_init(&s->wm, 0);
	(void)!weft_cond_init(&s->wc, 0);
	pthread_mutex_init(&s->pm, NULL);
	pthread_cond_init(&s->pc, NULL);
	if (p->spin >= 0)
		s->prev_spin = weft_cond_set_spin((unsigned)p->spin);
	return s;
}

static void cv_teardown(wb_thread *t)
{
	const struct cv_params *p = t->arg ? (const struct cv_params *)t->arg : &cv_default;
	struct cv_shared *s = (struct cv_shared *)t->shared;
	if (p->spin >= 0)
		weft_cond_set_spin(s->prev_spin);
	weft_cond_destroy(&s->wc);
	weft_mutex_destroy(&s->wm);
	pthread_cond_destroy(&s->pc);
	pthread_mutex_destroy(&s->pm);
	free(s);
}

/* ---- the operations ----------------------------------------------------------- */

static void w_lock(void *m) { weft_mutex_lock((weft_mutex_t *)m); }
static void w_unlock(void *m) { weft_mutex_unlock((weft_mutex_t *)m); }
static void w_wait(void *c, void *m) { weft_cond_wait((weft_cond_t *)c, (weft_mutex_t *)m); }
static void w_signal(void *c) { weft_cond_signal((weft_cond_t *)c); }
static void w_broadcast(void *c) { weft_cond_broadcast((weft_cond_t *)c); }

static void p_lock(void *m) { pthread_mutex_lock((pthread_mutex_t *)m); }
static void p_unlock(void *m) { pthread_mutex_unlock((pthread_mutex_t *)m); }
static void p_wait(void *c, void *m) { pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m); }
static void p_signal(void *c) { pthread_cond_signal((pthread_cond_t *)c); }
static void p_broadcast(void *c) { pthread_cond_broadcast((pthread_cond_t *)c); }

/* ---- no waiter ------------------------------------------------------------------ */

static CV_ALWAYS_INLINE void cv_nowaiter(wb_thread *t, cv_notify_fn notify, void *c)
{
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++)
		notify(c);
	wb_done(t, n);
}

static void nw_signal_weft(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_nowaiter(t, w_signal, &s->wc);
}
static void nw_signal_pthread(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_nowaiter(t, p_signal, &s->pc);
}
static void nw_broadcast_weft(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_nowaiter(t, w_broadcast, &s->wc);
}
static void nw_broadcast_pthread(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_nowaiter(t, p_broadcast, &s->pc);
}
static void nw_limit(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	const uint64_t n = t->iters;
	uint64_t seen = 0;
	for (uint64_t i = 0; i < n; i++)
		seen += __atomic_load_n(&s->word, __ATOMIC_RELAXED); /* the waiter-count check */
	if (seen)
		wb_fail(t, "limit word changed");
	wb_done(t, n);
}

/* ---- ping-pong ------------------------------------------------------------------- */

static CV_ALWAYS_INLINE void cv_pingpong(wb_thread *t, cv_lock_fn lock, cv_lock_fn unlock, cv_wait_fn wait,
					 cv_notify_fn signal, void *m, void *c)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	const struct cv_params *p = t->arg ? (const struct cv_params *)t->arg : &cv_default;
	const uint32_t delay = wb_work_loops(p->delay_ns);
	const uint32_t me = (uint32_t)t->tid;
	uint64_t n = 0;
	if (t->tid > 1) { /* only two players */
		wb_done(t, 0);
		return;
	}
	lock(m);
	for (;;) {
		while (s->turn != me && !s->done)
			wait(c, m);
		if (s->done)
			break;
		wb_work(delay); /* the partner waits in the condition variable meanwhile */
		s->turn = me ^ 1u;
		signal(c);
		n++;
		if (me == 0 && !wb_running(t, n)) {
			s->done = 1;
			signal(c);
			break;
		}
	}
	unlock(m);
	wb_done(t, me == 0 ? n : 0); /* items = round trips = thread 0's handoffs */
}

static void pp_weft(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_pingpong(t, w_lock, w_unlock, w_wait, w_signal, &s->wm, &s->wc);
}
static void pp_pthread(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_pingpong(t, p_lock, p_unlock, p_wait, p_signal, &s->pm, &s->pc);
}

/* ---- broadcast to 8 sleeping waiters ---------------------------------------------- */

static CV_ALWAYS_INLINE void cv_broadcast8(wb_thread *t, cv_lock_fn lock, cv_lock_fn unlock, cv_wait_fn wait,
					   cv_notify_fn broadcast, void *m, void *c)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	const unsigned nw = (unsigned)t->nthreads - 1;
	if (t->tid == 0) {
		const struct timespec park = {0, CV_PARK_NS};
		uint64_t i;
		for (i = 0; wb_running(t, i); i++) {
			/* every waiter is inside its wait (it registers under the
			 * mutex just before waiting), then give them time to park */
			while (__atomic_load_n(&s->registered, __ATOMIC_ACQUIRE) < nw)
				sched_yield();
			nanosleep(&park, NULL);
			__atomic_store_n(&s->registered, 0u, __ATOMIC_RELAXED);
			__atomic_store_n(&s->woken, 0u, __ATOMIC_RELAXED);
			uint64_t t0 = wb_now();
			lock(m);
			s->gen++;
			broadcast(c);
			unlock(m);
			while (__atomic_load_n(&s->woken, __ATOMIC_ACQUIRE) < nw)
				sched_yield();
			uint64_t t1 = __atomic_load_n(&s->t_end, __ATOMIC_RELAXED);
			wb_record_ns(t, wb_ticks_to_ns(t1 - t0));
		}
		lock(m);
		s->stop = 1;
		s->gen++;
		broadcast(c);
		unlock(m);
		wb_done(t, i);
		return;
	}
	lock(m);
	unsigned seen = s->gen;
	for (;;) {
		__atomic_fetch_add(&s->registered, 1u, __ATOMIC_RELEASE);
		/* stop is set under the mutex: a waiter that arrives after thread 0
		 * has stopped (and broadcast for the last time) must not wait */
		while (s->gen == seen && !s->stop)
			wait(c, m);
		if (s->stop)
			break;
		seen = s->gen;
		if (__atomic_load_n(&s->woken, __ATOMIC_RELAXED) + 1 == nw) /* the last one (we hold the mutex) */
			__atomic_store_n(&s->t_end, wb_now(), __ATOMIC_RELAXED);
		/* release: publishes t_end to thread 0's acquire load */
		__atomic_fetch_add(&s->woken, 1u, __ATOMIC_RELEASE);
	}
	unlock(m);
	wb_done(t, 0);
}

static void b8_weft(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_broadcast8(t, w_lock, w_unlock, w_wait, w_broadcast, &s->wm, &s->wc);
}
static void b8_pthread(wb_thread *t)
{
	struct cv_shared *s = (struct cv_shared *)t->shared;
	cv_broadcast8(t, p_lock, p_unlock, p_wait, p_broadcast, &s->pm, &s->pc);
}

/* ---- registration -------------------------------------------------------------------- */

static void cv_register(const char *name, wb_body_fn body, uint64_t threads, unsigned flags, const char *lat,
			const struct cv_params *p)
{
	wb_def def;
	memset(&def, 0, sizeof def);
	def.name = name;
	def.body = body;
	def.threads = threads;
	def.flags = flags;
	def.arg = p;
	def.setup = cv_setup;
	def.teardown = cv_teardown;
	def.lat_name = lat;
	wb_register_def(&def);
}

__attribute__((constructor)) static void register_cond(void)
{
	cv_register("cond/signal_nowaiter/weft_cond", nw_signal_weft, WB_T1, 0, NULL, NULL);
	cv_register("cond/signal_nowaiter/pthread", nw_signal_pthread, WB_T1, 0, NULL, NULL);
	cv_register("cond/signal_nowaiter/limit", nw_limit, WB_T1, 0, NULL, NULL);
	cv_register("cond/broadcast_nowaiter/weft_cond", nw_broadcast_weft, WB_T1, 0, NULL, NULL);
	cv_register("cond/broadcast_nowaiter/pthread", nw_broadcast_pthread, WB_T1, 0, NULL, NULL);
	cv_register("cond/pingpong/weft_cond", pp_weft, WB_T2, WB_CPU, NULL, NULL);
	cv_register("cond/pingpong/pthread", pp_pthread, WB_T2, WB_CPU, NULL, NULL);
	cv_register("cond/broadcast8/weft_cond", b8_weft, WB_T(CV_WAITERS + 1), WB_LATENCY, "wakeall", NULL);
	cv_register("cond/broadcast8/pthread", b8_pthread, WB_T(CV_WAITERS + 1), WB_LATENCY, "wakeall", NULL);

	/* wake-ups after the spin window: each side works D us before it hands over */
	static const unsigned delays_us[] = {10, 100, 1000};
	for (size_t k = 0; k < sizeof delays_us / sizeof delays_us[0]; k++) {
		struct cv_params *p = (struct cv_params *)calloc(1, sizeof *p);
		p->spin = -1;
		p->delay_ns = delays_us[k] * 1000.0;
		char name[96];
		snprintf(name, sizeof name, "cond/late_wake_%uus/weft_cond", delays_us[k]);
		cv_register(name, pp_weft, WB_T2, WB_CPU, NULL, p);
		snprintf(name, sizeof name, "cond/late_wake_%uus/pthread", delays_us[k]);
		cv_register(name, pp_pthread, WB_T2, WB_CPU, NULL, p);
	}

	/* the spin sweep (pause instructions; ~50 ns each on the reference VM) */
	static const unsigned sweep[] = {0, 50, 100, 200, 400, 1000, 2000, 8000};
	for (size_t k = 0; k < sizeof sweep / sizeof sweep[0]; k++) {
		struct cv_params *p = (struct cv_params *)calloc(1, sizeof *p);
		p->spin = (int)sweep[k];
		char name[96];
		snprintf(name, sizeof name, "cond/pingpong_spin%u/weft_cond", sweep[k]);
		cv_register(name, pp_weft, WB_T2, WB_CPU, NULL, p);
	}
}
