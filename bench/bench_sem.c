/* SPDX-License-Identifier: MIT */
/*
 * bench_sem.c - family `sem`: weft_sem_t against glibc's sem_t.
 *
 *   sem/post_nowaiter/<impl>      post with nobody waiting (1 thread, fixed loop)
 *   sem/post_wait/<impl>          post then wait on one thread: the uncontended pair
 *   sem/pingpong/<impl>           two threads, two semaphores: post(a) wait(b) /
 *                                 wait(a) post(b); items = round trips
 *   sem/late_wake_<D>us/<impl>    the ping-pong where each side works D us (10, 100,
 *                                 1000) before it posts: the wake-up comes after the
 *                                 spin window, so a waiter that spins pays for it in
 *                                 CPU (cpu_ns_per_op) and gains nothing
 *   sem/pingpong_spin<N>/weft_sem the ping-pong with weft_sem_set_spin(N): the sweep
 *                                 behind WEFT_SEM_SPIN_DEFAULT (docs/sem.md)
 *   sem/contended_k<K>_cs50_out50/<impl>
 *                                 every thread: wait, 50 ns of work holding the unit,
 *                                 post, 50 ns outside; K units.  The semaphore as a
 *                                 lock (K = 1) or a limit (K = 2): throughput, the
 *                                 spread of per-thread counts and the longest wait
 *                                 (a waiter passed over by arriving threads shows here)
 *
 * `limit` rows: the bare atomic read-modify-writes the operation cannot avoid
 * (post_nowaiter: one RMW; post_wait: two).
 *
 * Bodies are always-inline with constant function pointers: the measured
 * loops make direct calls only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/sem.h>

#include "shim.h"

#define SM_ALWAYS_INLINE inline __attribute__((always_inline))
#define SM_RESET_EVERY (1u << 28) /* post_nowaiter: drain before the count can overflow */

typedef void (*sm_fn)(void *s);

struct sm_shared {
	weft_sem_t wa, wb;
	sem_t pa, pb;
	uint32_t word;
	int done; /* atomic: ping-pong over */
	unsigned prev_spin;
};

struct sm_params {
	int spin;        /* >= 0: weft_sem_set_spin() for the run; -1: leave it */
	double delay_ns; /* ping-pong: work before each post; contended: work holding a unit */
	unsigned units;  /* contended: the initial count (0: 1) */
	double out_ns;   /* contended: work between a post and the next wait */
};
static const struct sm_params sm_default = {-1, 0, 0, 0};

static void *sm_setup(wb_thread *t)
{
	const struct sm_params *p = t->arg ? (const struct sm_params *)t->arg : &sm_default;
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct sm_shared)) != 0)
		wb_fail(t, "out of memory");
	struct sm_shared *s = (struct sm_shared *)mem;
	memset(s, 0, sizeof *s);
	(void)!weft_sem_init(&s->wa, 0, 0);
	(void)!weft_sem_init(&s->wb, 0, 0);
	sem_init(&s->pa, 0, 0);
	sem_init(&s->pb, 0, 0);
	for (unsigned k = 0; k < p->units; k++) { /* contended: the units, on the second pair */
		(void)!weft_sem_post(&s->wb);
		(void)sem_post(&s->pb);
	}
	if (p->spin >= 0)
		s->prev_spin = weft_sem_set_spin((unsigned)p->spin);
	return s;
}

static void sm_teardown(wb_thread *t)
{
	const struct sm_params *p = t->arg ? (const struct sm_params *)t->arg : &sm_default;
	struct sm_shared *s = (struct sm_shared *)t->shared;
	if (p->spin >= 0)
		weft_sem_set_spin(s->prev_spin);
	sem_destroy(&s->pa);
	sem_destroy(&s->pb);
	free(s);
}

static void w_post(void *s) { (void)!weft_sem_post((weft_sem_t *)s); }
static void w_wait(void *s) { weft_sem_wait((weft_sem_t *)s); }
static void w_drain(void *s) { while (weft_sem_trywait((weft_sem_t *)s)) ; }
static void p_post(void *s) { (void)sem_post((sem_t *)s); }
static void p_wait(void *s) { while (sem_wait((sem_t *)s) != 0 && errno == EINTR) ; }
static void p_drain(void *s) { while (sem_trywait((sem_t *)s) == 0) ; }

/* ---- one thread ---------------------------------------------------------------- */

static SM_ALWAYS_INLINE void sm_post_nowaiter(wb_thread *t, sm_fn post, sm_fn drain, void *s)
{
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++) {
		post(s);
		if (WEFT_UNLIKELY((i & (SM_RESET_EVERY - 1)) == SM_RESET_EVERY - 1))
			drain(s); /* never reached at usual iteration counts */
	}
	wb_done(t, n);
}

static SM_ALWAYS_INLINE void sm_post_wait(wb_thread *t, sm_fn post, sm_fn wait, void *s)
{
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++) {
		post(s);
		wait(s);
	}
	wb_done(t, n);
}

static void pn_weft(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_post_nowaiter(t, w_post, w_drain, &s->wa);
}
static void pn_semt(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_post_nowaiter(t, p_post, p_drain, &s->pa);
}
static void pn_limit(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++)
		__atomic_fetch_add(&s->word, 1u, __ATOMIC_SEQ_CST); /* the count's RMW */
	wb_done(t, n);
}
static void pw_weft(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_post_wait(t, w_post, w_wait, &s->wa);
}
static void pw_semt(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_post_wait(t, p_post, p_wait, &s->pa);
}
static void pw_limit(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++) {
		__atomic_fetch_add(&s->word, 1u, __ATOMIC_SEQ_CST);  /* post's RMW */
		__atomic_fetch_sub(&s->word, 1u, __ATOMIC_ACQUIRE);  /* wait's RMW */
	}
	wb_done(t, n);
}

/* ---- ping-pong -------------------------------------------------------------------- */

static SM_ALWAYS_INLINE void sm_pingpong(wb_thread *t, sm_fn post, sm_fn wait, void *a, void *b)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	const struct sm_params *p = t->arg ? (const struct sm_params *)t->arg : &sm_default;
	const uint32_t delay = wb_work_loops(p->delay_ns);
	uint64_t n = 0;
	if (t->tid == 0) {
		while (wb_running(t, n)) {
			wb_work(delay);
			post(a);
			wait(b);
			n++;
		}
		/* release: pairs with the partner's acquire after its wait */
		__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
		post(a);
		wb_done(t, n);
		return;
	}
	if (t->tid == 1) {
		for (;;) {
			wait(a);
			if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
				break;
			wb_work(delay);
			post(b);
		}
	}
	wb_done(t, 0); /* items = round trips, counted by thread 0 */
}

static void pp_weft(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_pingpong(t, w_post, w_wait, &s->wa, &s->wb);
}
static void pp_semt(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_pingpong(t, p_post, p_wait, &s->pa, &s->pb);
}

/* ---- contended: K units, every thread waits, works, posts ------------------------------------ */

static SM_ALWAYS_INLINE void sm_contended(wb_thread *t, sm_fn post, sm_fn wait, void *sem)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	const struct sm_params *p = t->arg ? (const struct sm_params *)t->arg : &sm_default;
	const uint32_t cs = wb_work_loops(p->delay_ns), out = wb_work_loops(p->out_ns);
	uint64_t i;
	/* nobody stops while holding a unit (post comes before the next check of
	 * the flag), so a waiter always gets one back: the timer may close the window */
	for (i = 0; wb_running(t, i); i++) {
		uint64_t w = wb_sample_begin(i);
		wait(sem);
		wb_sample_end(t, w);
		wb_work(cs);
		post(sem);
		wb_work(out);
	}
	(void)s;
	wb_done(t, i);
}

static void ct_weft(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_contended(t, w_post, w_wait, &s->wb);
}
static void ct_semt(wb_thread *t)
{
	struct sm_shared *s = (struct sm_shared *)t->shared;
	sm_contended(t, p_post, p_wait, &s->pb);
}

/* ---- registration -------------------------------------------------------------------- */

static void sm_register(const char *name, wb_body_fn body, uint64_t threads, unsigned flags,
			const struct sm_params *p)
{
	wb_def def;
	memset(&def, 0, sizeof def);
	def.name = name;
	def.body = body;
	def.threads = threads;
	def.flags = flags;
	def.arg = p;
	def.setup = sm_setup;
	def.teardown = sm_teardown;
	wb_register_def(&def);
}

__attribute__((constructor)) static void register_sem(void)
{
	sm_register("sem/post_nowaiter/weft_sem", pn_weft, WB_T1, 0, NULL);
	sm_register("sem/post_nowaiter/sem_t", pn_semt, WB_T1, 0, NULL);
	sm_register("sem/post_nowaiter/limit", pn_limit, WB_T1, 0, NULL);
	sm_register("sem/post_wait/weft_sem", pw_weft, WB_T1, 0, NULL);
	sm_register("sem/post_wait/sem_t", pw_semt, WB_T1, 0, NULL);
	sm_register("sem/post_wait/limit", pw_limit, WB_T1, 0, NULL);
	sm_register("sem/pingpong/weft_sem", pp_weft, WB_T2, WB_CPU, NULL);
	sm_register("sem/pingpong/sem_t", pp_semt, WB_T2, WB_CPU, NULL);

	/* wake-ups after the spin window */
	static const unsigned delays_us[] = {10, 100, 1000};
	for (size_t k = 0; k < sizeof delays_us / sizeof delays_us[0]; k++) {
		struct sm_params *p = (struct sm_params *)calloc(1, sizeof *p);
		p->spin = -1;
		p->delay_ns = delays_us[k] * 1000.0;
		char name[96];
		snprintf(name, sizeof name, "sem/late_wake_%uus/weft_sem", delays_us[k]);
		sm_register(name, pp_weft, WB_T2, WB_CPU, p);
		snprintf(name, sizeof name, "sem/late_wake_%uus/sem_t", delays_us[k]);
		sm_register(name, pp_semt, WB_T2, WB_CPU, p);
	}

	/* contended: the semaphore as a lock (1 unit) and as a limit (2 units) */
	static const unsigned units[] = {1, 2};
	for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
		struct sm_params *p = (struct sm_params *)calloc(1, sizeof *p);
		p->spin = -1;
		p->delay_ns = 50;
		p->out_ns = 50;
		p->units = units[k];
		const uint64_t threads = units[k] == 1 ? (WB_T2 | WB_T4 | WB_T8) : (WB_T4 | WB_T8);
		const unsigned f = WB_FAIRNESS | WB_LATENCY | WB_CPU | WB_LONGEST_WAIT;
		char name[96];
		snprintf(name, sizeof name, "sem/contended_k%u_cs50_out50/weft_sem", units[k]);
		sm_register(name, ct_weft, threads, f, p);
		snprintf(name, sizeof name, "sem/contended_k%u_cs50_out50/sem_t", units[k]);
		sm_register(name, ct_semt, threads, f, p);
	}

	/* the spin sweep (pause instructions; ~50 ns each on the reference VM) */
	static const unsigned sweep[] = {0, 50, 100, 200, 400, 1000, 2000, 8000};
	for (size_t k = 0; k < sizeof sweep / sizeof sweep[0]; k++) {
		struct sm_params *p = (struct sm_params *)calloc(1, sizeof *p);
		p->spin = (int)sweep[k];
		char name[96];
		snprintf(name, sizeof name, "sem/pingpong_spin%u/weft_sem", sweep[k]);
		sm_register(name, pp_weft, WB_T2, WB_CPU, p);
	}
}
