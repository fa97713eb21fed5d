/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BENCH_LOCKBENCH_H
#define WEFT_BENCH_LOCKBENCH_H

/*
 * lockbench.h - the lock workloads, written once for every implementation.
 *
 * Each workload is a static inline always_inline body that takes the lock and
 * unlock operations as function pointers.  An implementation calls it from a
 * tiny wrapper with constant arguments:
 *
 *     static void lk_mine(void *l, void *node) { (void)node; my_lock(l); }
 *     static void uk_mine(void *l, void *node) { (void)node; my_unlock(l); }
 *     static void mine_contended(wb_thread *t) { lb_contended(t, lk_mine, uk_mine); }
 *
 * After inlining, the pointers are constants, so the compiler calls (or
 * inlines) my_lock directly: no indirect call in the measured loop
 * (bench/check_calls.py checks the objects).
 *
 * @node is a per-thread, cache-line-aligned buffer of LB_NODE_BYTES, for
 * queue locks (an MCS node, a TBB scoped_lock); other locks ignore it.
 *
 * Workloads (lb_register_impl() registers them all for one implementation):
 *   <family>/uncontended/<impl>            lock+unlock on one thread (fixed loop)
 *   <family>/contended_cs<C>_out<O>/<impl> a shared counter incremented under
 *       the lock, C ns of work inside and O ns outside, C, O in {0, 50, 500};
 *       1, 2, 4, 8 threads, timed loop: fairness, sampled acquire wait, CPU/op
 *   <family>/contended_cs<C>_out<C>/<impl> long critical sections, C = 1000,
 *       10000, 100000 ns (as much work outside); 2, 4, 8 threads
 *   <family>/holder_sleeps_<S>us/<impl>    the holder sleeps S us inside
 *       (nanosleep: it leaves the CPU holding the lock), S = 50; 2, 4, 8 threads
 *   <family>/handoff/<impl>                two threads alternate strictly
 *       through the lock (each waits for its turn outside, then locks and
 *       passes the turn); items = handoffs
 * The teardown checks that the counter equals the operations: a lock that
 * does not exclude fails the run.
 *
 * C and C++ (the C++ peers include it too).
 */

#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include <weft/mutex.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LB_LOCK_BYTES 256
#define LB_NODE_BYTES 256
#define LB_ALWAYS_INLINE inline __attribute__((always_inline))

typedef void (*lb_op_fn)(void *lock, void *node);

struct lb_impl {
	const char *family; /* "spin" or "mutex" */
	const char *name;   /* the impl part of the row name */
	void (*init)(void *lock);
	void (*destroy)(void *lock);             /* may be NULL */
	void (*node_init)(void *node);           /* may be NULL: per thread, before the loop */
	void (*node_fini)(void *node);           /* may be NULL: per thread, after the loop */
	wb_body_fn uncontended, contended, handoff; /* NULL: no such row */
};

struct lb_params {
	const struct lb_impl *impl;
	double cs_ns;  /* work inside the critical section */
	double out_ns; /* work between critical sections */
	double sleep_ns; /* > 0: nanosleep this long inside instead of working */
	int spin;      /* >= 0: weft_mutex_set_spin() for the run; -1: leave it */
};

struct lb_shared {
	unsigned char lock[LB_LOCK_BYTES] __attribute__((aligned(64)));
	/* the protected data, on its own line (written only under the lock) */
	uint64_t counter __attribute__((aligned(64)));
	uint32_t turn;
	/* outside the lock */
	uint64_t ops __attribute__((aligned(64)));
	unsigned prev_spin;
};

struct lb_node {
	unsigned char b[LB_NODE_BYTES];
} __attribute__((aligned(64)));

static inline void *lb_setup(wb_thread *t)
{
	const struct lb_params *p = (const struct lb_params *)t->arg;
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct lb_shared)) != 0)
		wb_fail(t, "out of memory");
	struct lb_shared *s = (struct lb_shared *)mem;
	memset(s, 0, sizeof *s);
	p->impl->init(s->lock);
	if (p->spin >= 0)
		s->prev_spin = weft_mutex_set_spin((unsigned)p->spin);
	return s;
}

static inline void lb_teardown(wb_thread *t)
{
	const struct lb_params *p = (const struct lb_params *)t->arg;
	struct lb_shared *s = (struct lb_shared *)t->shared;
	uint64_t ops = wb_total_ops(t);
	/* the counter and ops are read after the runner's barrier: no race */
	if (s->ops != 0 && s->counter != ops)
		wb_fail(t, "lost updates: counter %llu, operations %llu", (unsigned long long)s->counter,
			(unsigned long long)ops);
	if (p->spin >= 0)
		weft_mutex_set_spin(s->prev_spin);
	if (p->impl->destroy)
		p->impl->destroy(s->lock);
	free(s);
}

static LB_ALWAYS_INLINE void lb_node_begin(wb_thread *t, struct lb_node *node)
{
	const struct lb_params *p = (const struct lb_params *)t->arg;
	memset(node, 0, sizeof *node);
	if (p->impl->node_init)
		p->impl->node_init(node->b);
}

static LB_ALWAYS_INLINE void lb_node_end(wb_thread *t, struct lb_node *node)
{
	const struct lb_params *p = (const struct lb_params *)t->arg;
	if (p->impl->node_fini)
		p->impl->node_fini(node->b);
}

/* lock+unlock on one thread, nothing inside; a fixed loop of t->iters */
static LB_ALWAYS_INLINE void lb_uncontended(wb_thread *t, lb_op_fn lock, lb_op_fn unlock)
{
	struct lb_shared *s = (struct lb_shared *)t->shared;
	struct lb_node node;
	lb_node_begin(t, &node);
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++) {
		lock(s->lock, node.b);
		unlock(s->lock, node.b);
	}
	lb_node_end(t, &node);
	wb_done(t, n);
}

/* the contended counter; a timed loop (see shim.h) */
static LB_ALWAYS_INLINE void lb_contended(wb_thread *t, lb_op_fn lock, lb_op_fn unlock)
{
	const struct lb_params *p = (const struct lb_params *)t->arg;
	struct lb_shared *s = (struct lb_shared *)t->shared;
	const uint32_t cs = wb_work_loops(p->cs_ns);
	const uint32_t out = wb_work_loops(p->out_ns);
	const struct timespec nap = {0, (long)p->sleep_ns};
	const int sleeps = p->sleep_ns > 0;
	struct lb_node node;
	lb_node_begin(t, &node);
	uint64_t i;
	for (i = 0; wb_running(t, i); i++) {
		uint64_t w = wb_sample_begin(i);
		lock(s->lock, node.b);
		wb_sample_end(t, w);
		s->counter++;
		if (sleeps)
			nanosleep(&nap, NULL); /* the holder leaves the CPU */
		else
			wb_work(cs);
		unlock(s->lock, node.b);
		wb_work(out);
	}
	lb_node_end(t, &node);
	/* relaxed: read by thread 0 after the runner's barrier */
	__atomic_fetch_add(&s->ops, i, __ATOMIC_RELAXED);
	wb_done(t, i);
}

/*
 * Wait, outside the lock, until it is thread @me's turn (or the run stopped):
 * spin with pause, then yield, so that a descheduled partner gets the CPU.
 */
static inline bool lb_wait_turn(const wb_thread *t, const uint32_t *turn, uint32_t me)
{
	for (unsigned spins = 0;; spins++) {
		/* acquire: pairs with the partner's release store of the turn */
		if (__atomic_load_n(turn, __ATOMIC_ACQUIRE) == me)
			return true;
		if (wb_stopped(t))
			return false;
		if (spins < 4096)
			weft_cpu_relax();
		else
			sched_yield();
	}
}

/*
 * Two threads alternate strictly: each waits outside the lock for its turn,
 * takes the lock, passes the turn, releases.  The partner sees the turn while
 * the lock may still be held, so every acquisition meets a lock that was just
 * held by the other core: the handoff path (cache-line transfer, a short spin
 * or a futex wake).  items = handoffs.
 */
static LB_ALWAYS_INLINE void lb_handoff(wb_thread *t, lb_op_fn lock, lb_op_fn unlock)
{
	struct lb_shared *s = (struct lb_shared *)t->shared;
	const uint32_t me = (uint32_t)t->tid & 1u;
	struct lb_node node;
	lb_node_begin(t, &node);
	uint64_t mine = 0;
	while (wb_running(t, mine) && lb_wait_turn(t, &s->turn, me)) {
		lock(s->lock, node.b);
		s->counter++;
		/* release: pairs with the acquire load in lb_wait_turn(), which reads
		 * the turn outside the lock */
		__atomic_store_n(&s->turn, me ^ 1u, __ATOMIC_RELEASE);
		unlock(s->lock, node.b);
		mine++;
	}
	lb_node_end(t, &node);
	__atomic_fetch_add(&s->ops, mine, __ATOMIC_RELAXED);
	wb_done(t, mine);
}

/* Register every lock workload of one implementation. */
static inline void lb_register_impl(const struct lb_impl *impl)
{
	static const double grid[] = {0, 50, 500};
	char name[160];
	struct lb_params *p;
	wb_def def;

	if (impl->uncontended) {
		p = (struct lb_params *)calloc(1, sizeof *p);
		p->impl = impl;
		p->spin = -1;
		memset(&def, 0, sizeof def);
		snprintf(name, sizeof name, "%s/uncontended/%s", impl->family, impl->name);
		def.name = name;
		def.body = impl->uncontended;
		def.threads = WB_T1;
		def.arg = p;
		def.setup = lb_setup;
		def.teardown = lb_teardown;
		wb_register_def(&def);
	}
	for (unsigned c = 0; impl->contended && c < 3; c++)
		for (unsigned o = 0; o < 3; o++) {
			p = (struct lb_params *)calloc(1, sizeof *p);
			p->impl = impl;
			p->cs_ns = grid[c];
			p->out_ns = grid[o];
			p->spin = -1;
			memset(&def, 0, sizeof def);
			snprintf(name, sizeof name, "%s/contended_cs%.0f_out%.0f/%s", impl->family, grid[c],
				 grid[o], impl->name);
			def.name = name;
			def.body = impl->contended;
			def.threads = WB_T1248;
			def.flags = WB_FAIRNESS | WB_LATENCY | WB_CPU | WB_LONGEST_WAIT;
			def.arg = p;
			def.setup = lb_setup;
			def.teardown = lb_teardown;
			wb_register_def(&def);
		}
	/* long critical sections, and a holder that sleeps */
	static const double longs[] = {1000, 10000, 100000, 0};
	for (unsigned c = 0; impl->contended && c < 4; c++) {
		p = (struct lb_params *)calloc(1, sizeof *p);
		p->impl = impl;
		p->cs_ns = longs[c];
		p->out_ns = longs[c];
		p->sleep_ns = longs[c] == 0 ? 50000 : 0;
		p->spin = -1;
		memset(&def, 0, sizeof def);
		if (longs[c] > 0)
			snprintf(name, sizeof name, "%s/contended_cs%.0f_out%.0f/%s", impl->family, longs[c],
				 longs[c], impl->name);
		else
			snprintf(name, sizeof name, "%s/holder_sleeps_%.0fus/%s", impl->family, p->sleep_ns / 1000,
				 impl->name);
		def.name = name;
		def.body = impl->contended;
		def.threads = WB_T2 | WB_T4 | WB_T8;
		def.flags = WB_FAIRNESS | WB_LATENCY | WB_CPU | WB_LONGEST_WAIT;
		def.arg = p;
		def.setup = lb_setup;
		def.teardown = lb_teardown;
		wb_register_def(&def);
	}
	if (impl->handoff) {
		p = (struct lb_params *)calloc(1, sizeof *p);
		p->impl = impl;
		p->spin = -1;
		memset(&def, 0, sizeof def);
		snprintf(name, sizeof name, "%s/handoff/%s", impl->family, impl->name);
		def.name = name;
		def.body = impl->handoff;
		def.threads = WB_T2;
		def.flags = WB_CPU | WB_STOP_TIMER;
		def.arg = p;
		def.setup = lb_setup;
		def.teardown = lb_teardown;
		wb_register_def(&def);
	}
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_LOCKBENCH_H */
