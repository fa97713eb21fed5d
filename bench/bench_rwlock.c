/* SPDX-License-Identifier: MIT */
/*
 * bench_rwlock.c - family "rwlock": weft_rwlock and weft_brlock against
 * pthread_rwlock (default, which prefers readers, and writer-preferring),
 * Concurrency Kit's ck_rwlock, ck_brlock and ck_pflock (phase-fair), a
 * weft_mutex and a pthread_mutex taken for reads and writes alike, liburcu's read side (the
 * read-side limit: rcu_read_lock/unlock of the memb flavour, inlined), and a
 * `limit` row (a fetch_add and a fetch_sub on one shared word: what a
 * centralized reader count cannot avoid).
 *
 * Rows:
 *   rwlock/uncontended_read/<impl>    rdlock+rdunlock on one thread (fixed loop)
 *   rwlock/uncontended_write/<impl>   wrlock+wrunlock on one thread
 *   rwlock/reads100/<impl>            every thread: read sections only
 *   rwlock/reads99/<impl>             99 reads : 1 write per 100 operations per thread
 *   rwlock/reads90/<impl>             90 : 10
 *   rwlock/reads50, reads95, reads99_9  50 : 50, 95 : 5, 999 : 1 per 1000
 *   rwlock/reads99_rd200/<impl>,      reads99 with 200 ns (2 us) of work inside
 *       reads99_rd2000/<impl>         every read section; 2, 4, 8 threads
 *   rwlock/writes100/<impl>           write sections only
 *       (1, 2, 4, 8 threads, timed loop; a read section reads two words that
 *       a write section updates together, and a torn pair fails the run; the
 *       teardown checks that no write was lost)
 *   rwlock/writer_wait/<impl>         thread 0 writes (about every 2 us), the other
 *       threads read back to back; the counter writer_wait_max_ns is the worst
 *       write-lock wait of the run, writer_wait_p50/p99 its distribution.
 *       Readers stop at the run's safety cap (WB_RUN_CAP_MS, 2 s by default),
 *       so a lock that starves writers shows a worst wait near the cap instead
 *       of hanging.  2, 4, 8 threads.
 *   rwlock/spin_sweep_<N>/weft_rwlock, .../weft_brlock
 *       reads90 at 2 and 4 threads with weft_rwlock_set_spin(N), N in
 *       {0, 25, 100, 400, 1600} pauses: the sweep behind WEFT_RWLOCK_SPIN_DEFAULT.
 *
 * urcu rows exist only for the read-only workloads (an RCU writer does not
 * exclude readers; it is not a lock).  The weft_brlock lock storage is 4160
 * bytes; every lock lives in its own 64-byte-aligned block.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _LGPL_SOURCE /* inline liburcu read side: the read-side limit */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_brlock.h>
#include <ck_pflock.h>
#include <ck_rwlock.h>
#include <urcu/urcu-memb.h>

#include <weft/mutex.h>
#include <weft/rwlock.h>

#include "shim.h"

#define RB_LOCK_BYTES 8192 /* >= every lock below (weft_brlock_t is 4160) */
#define RB_NODE_BYTES 256
#define RB_ALWAYS_INLINE inline __attribute__((always_inline))

typedef void (*rb_fn)(void *lock, void *node);

struct rb_impl {
	const char *name;
	void (*init)(void *lock);
	void (*destroy)(void *lock);                /* may be NULL */
	void (*node_init)(void *lock, void *node);  /* may be NULL: per thread, before the loop */
	void (*node_fini)(void *lock, void *node);  /* may be NULL */
	wb_body_fn read_pair, write_pair, mixed, writer_wait; /* NULL: no such row */
	int read_only;                              /* only the read-only workloads */
};

struct rb_params {
	const struct rb_impl *impl;
	unsigned writes_per_1000;
	double read_ns; /* busy work inside every read section */
	int spin; /* >= 0: weft_rwlock_set_spin() for the run; -1: leave it */
};

struct rb_shared {
	unsigned char lock[RB_LOCK_BYTES] __attribute__((aligned(64)));
	/* the protected data, on its own line: b == 2 * a outside write sections */
	uint64_t a __attribute__((aligned(64)));
	uint64_t b;
	/* outside the lock */
	uint64_t writes __attribute__((aligned(64)));
	uint64_t torn;
	unsigned prev_spin;
};

struct rb_node {
	unsigned char b[RB_NODE_BYTES];
} __attribute__((aligned(64)));

static void *rb_setup(wb_thread *t)
{
	const struct rb_params *p = (const struct rb_params *)t->arg;
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct rb_shared)) != 0)
		wb_fail(t, "out of memory");
	struct rb_shared *s = (struct rb_shared *)mem;
	memset(s, 0, sizeof *s);
	p->impl->init(s->lock);
	if (p->spin >= 0)
		s->prev_spin = weft_rwlock_set_spin((unsigned)p->spin);
	return s;
}

static void rb_teardown(wb_thread *t)
{
	const struct rb_params *p = (const struct rb_params *)t->arg;
	struct rb_shared *s = (struct rb_shared *)t->shared;
	/* read after the runner's barrier: no race */
	if (s->torn)
		wb_fail(t, "%llu read sections saw a half-done write", (unsigned long long)s->torn);
	if (s->a != s->writes)
		wb_fail(t, "lost writes: a = %llu after %llu write sections", (unsigned long long)s->a,
			(unsigned long long)s->writes);
	if (p->spin >= 0)
		weft_rwlock_set_spin(s->prev_spin);
	if (p->impl->destroy)
		p->impl->destroy(s->lock);
	free(s);
}

static RB_ALWAYS_INLINE void rb_node_begin(wb_thread *t, struct rb_node *node)
{
	const struct rb_params *p = (const struct rb_params *)t->arg;
	memset(node, 0, sizeof *node);
	if (p->impl->node_init)
		p->impl->node_init(((struct rb_shared *)t->shared)->lock, node->b);
}

static RB_ALWAYS_INLINE void rb_node_end(wb_thread *t, struct rb_node *node)
{
	const struct rb_params *p = (const struct rb_params *)t->arg;
	if (p->impl->node_fini)
		p->impl->node_fini(((struct rb_shared *)t->shared)->lock, node->b);
}

/* One read section: read the pair; count a torn one. */
static RB_ALWAYS_INLINE uint64_t rb_read(struct rb_shared *s)
{
	uint64_t a = *(volatile uint64_t *)&s->a;
	uint64_t b = *(volatile uint64_t *)&s->b;
	return b != 2 * a;
}

static RB_ALWAYS_INLINE void rb_write(struct rb_shared *s)
{
	uint64_t a = *(volatile uint64_t *)&s->a + 1;
	*(volatile uint64_t *)&s->a = a;
	*(volatile uint64_t *)&s->b = 2 * a;
}

/* lock+unlock pairs on one thread, nothing inside; fixed loop */
static RB_ALWAYS_INLINE void rb_pair(wb_thread *t, rb_fn lock, rb_fn unlock)
{
	struct rb_shared *s = (struct rb_shared *)t->shared;
	struct rb_node node;
	rb_node_begin(t, &node);
	const uint64_t n = t->iters;
	for (uint64_t i = 0; i < n; i++) {
		lock(s->lock, node.b);
		unlock(s->lock, node.b);
	}
	rb_node_end(t, &node);
	wb_done(t, n);
}

/* the read/write mix of t->arg; timed loop */
static RB_ALWAYS_INLINE void rb_mixed(wb_thread *t, rb_fn rdlock, rb_fn rdunlock, rb_fn wrlock, rb_fn wrunlock)
{
	const struct rb_params *p = (const struct rb_params *)t->arg;
	struct rb_shared *s = (struct rb_shared *)t->shared;
	const unsigned wmod = p->writes_per_1000;
	const uint32_t rd = wb_work_loops(p->read_ns);
	unsigned k = (unsigned)t->tid * 379u % 1000u; /* threads write at different moments */
	uint64_t torn = 0, writes = 0, i;
	struct rb_node node;
	rb_node_begin(t, &node);
	for (i = 0; wb_running(t, i); i++) {
		if (++k == 1000)
			k = 0;
		if (k < wmod) {
			wrlock(s->lock, node.b);
			rb_write(s);
			wrunlock(s->lock, node.b);
			writes++;
		} else {
			rdlock(s->lock, node.b);
			torn += rb_read(s);
			wb_work(rd);
			rdunlock(s->lock, node.b);
		}
	}
	rb_node_end(t, &node);
	/* relaxed: read by thread 0 after the runner's barrier */
	__atomic_fetch_add(&s->writes, writes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->torn, torn, __ATOMIC_RELAXED);
	wb_done(t, i);
}

/*
 * Thread 0 writes, waiting ~2 us between writes; the others read back to back
 * until thread 0 stops or their safety cap passes.  items = writes.
 */
static RB_ALWAYS_INLINE void rb_writer_wait(wb_thread *t, rb_fn rdlock, rb_fn rdunlock, rb_fn wrlock,
					    rb_fn wrunlock)
{
	struct rb_shared *s = (struct rb_shared *)t->shared;
	struct rb_node node;
	rb_node_begin(t, &node);
	uint64_t i, torn = 0, writes = 0;
	if (t->tid == 0) {
		const uint32_t gap = wb_work_loops(2000);
		uint64_t worst = 0;
		for (i = 0; wb_running(t, i); i++) {
			uint64_t t0 = wb_now();
			wrlock(s->lock, node.b);
			uint64_t waited = wb_now() - t0;
			rb_write(s);
			wrunlock(s->lock, node.b);
			writes++;
			wb_record_ticks(t, waited);
			if (waited > worst)
				worst = waited;
			wb_work(gap);
		}
		wb_counter(t, "writer_wait_max_ns", wb_ticks_to_ns(worst), WB_SUM);
		wb_done(t, i);
	} else {
		for (i = 0; !wb_stopped(t) && ((i & 1023u) != 0 || !wb_over_time(t)); i++) {
			rdlock(s->lock, node.b);
			torn += rb_read(s);
			rdunlock(s->lock, node.b);
		}
		wb_done(t, 0); /* items are the writer's */
	}
	rb_node_end(t, &node);
	__atomic_fetch_add(&s->writes, writes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->torn, torn, __ATOMIC_RELAXED);
}

/* The four bodies of one implementation, from its four operations. */
#define RB_BODIES(impl, rd, rdu, wr, wru)                                                     \
	static void impl##_read_pair(wb_thread *t) { rb_pair(t, rd, rdu); }                   \
	static void impl##_write_pair(wb_thread *t) { rb_pair(t, wr, wru); }                  \
	static void impl##_mixed(wb_thread *t) { rb_mixed(t, rd, rdu, wr, wru); }             \
	static void impl##_writer_wait(wb_thread *t) { rb_writer_wait(t, rd, rdu, wr, wru); }

/* ---- weft_rwlock ---------------------------------------------------------- */

static void wrw_init(void *l) { (void)!weft_rwlock_init((weft_rwlock_t *)l, 0); }
static void wrw_destroy(void *l) { weft_rwlock_destroy((weft_rwlock_t *)l); }
static void wrw_rd(void *l, void *n) { (void)n; weft_rwlock_rdlock((weft_rwlock_t *)l); }
static void wrw_rdu(void *l, void *n) { (void)n; weft_rwlock_rdunlock((weft_rwlock_t *)l); }
static void wrw_wr(void *l, void *n) { (void)n; weft_rwlock_wrlock((weft_rwlock_t *)l); }
static void wrw_wru(void *l, void *n) { (void)n; weft_rwlock_wrunlock((weft_rwlock_t *)l); }
RB_BODIES(wrw, wrw_rd, wrw_rdu, wrw_wr, wrw_wru)

/* ---- weft_brlock ---------------------------------------------------------- */

static void wbr_init(void *l) { (void)!weft_brlock_init((weft_brlock_t *)l, 0); }
static void wbr_destroy(void *l) { weft_brlock_destroy((weft_brlock_t *)l); }
static void wbr_rd(void *l, void *n) { (void)n; weft_brlock_rdlock((weft_brlock_t *)l); }
static void wbr_rdu(void *l, void *n) { (void)n; weft_brlock_rdunlock((weft_brlock_t *)l); }
static void wbr_wr(void *l, void *n) { (void)n; weft_brlock_wrlock((weft_brlock_t *)l); }
static void wbr_wru(void *l, void *n) { (void)n; weft_brlock_wrunlock((weft_brlock_t *)l); }
RB_BODIES(wbr, wbr_rd, wbr_rdu, wbr_wr, wbr_wru)

/* ---- pthread_rwlock: default (prefers readers) and writer-preferring ------- */

static void prw_init(void *l) { pthread_rwlock_init((pthread_rwlock_t *)l, NULL); }
static void prw_wpref_init(void *l)
{
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init((pthread_rwlock_t *)l, &a);
	pthread_rwlockattr_destroy(&a);
}
static void prw_destroy(void *l) { pthread_rwlock_destroy((pthread_rwlock_t *)l); }
static void prw_rd(void *l, void *n) { (void)n; pthread_rwlock_rdlock((pthread_rwlock_t *)l); }
static void prw_wr(void *l, void *n) { (void)n; pthread_rwlock_wrlock((pthread_rwlock_t *)l); }
static void prw_u(void *l, void *n) { (void)n; pthread_rwlock_unlock((pthread_rwlock_t *)l); }
RB_BODIES(prw, prw_rd, prw_u, prw_wr, prw_u)

/* ---- Concurrency Kit: ck_rwlock, ck_brlock, ck_pflock ---------------------- */

static void ckrw_init(void *l) { ck_rwlock_init((ck_rwlock_t *)l); }
static void ckrw_rd(void *l, void *n) { (void)n; ck_rwlock_read_lock((ck_rwlock_t *)l); }
static void ckrw_rdu(void *l, void *n) { (void)n; ck_rwlock_read_unlock((ck_rwlock_t *)l); }
static void ckrw_wr(void *l, void *n) { (void)n; ck_rwlock_write_lock((ck_rwlock_t *)l); }
static void ckrw_wru(void *l, void *n) { (void)n; ck_rwlock_write_unlock((ck_rwlock_t *)l); }
RB_BODIES(ckrw, ckrw_rd, ckrw_rdu, ckrw_wr, ckrw_wru)

/* ck_brlock readers register a per-thread record (the node) with the lock */
static void ckbr_init(void *l) { ck_brlock_init((struct ck_brlock *)l); }
static void ckbr_node_init(void *l, void *n)
{
	ck_brlock_read_register((struct ck_brlock *)l, (struct ck_brlock_reader *)n);
}
static void ckbr_node_fini(void *l, void *n)
{
	ck_brlock_read_unregister((struct ck_brlock *)l, (struct ck_brlock_reader *)n);
}
static void ckbr_rd(void *l, void *n) { ck_brlock_read_lock((struct ck_brlock *)l, (struct ck_brlock_reader *)n); }
static void ckbr_rdu(void *l, void *n) { (void)l; ck_brlock_read_unlock((struct ck_brlock_reader *)n); }
static void ckbr_wr(void *l, void *n) { (void)n; ck_brlock_write_lock((struct ck_brlock *)l); }
static void ckbr_wru(void *l, void *n) { (void)n; ck_brlock_write_unlock((struct ck_brlock *)l); }
RB_BODIES(ckbr, ckbr_rd, ckbr_rdu, ckbr_wr, ckbr_wru)

static void ckpf_init(void *l) { ck_pflock_init((ck_pflock_t *)l); }
static void ckpf_rd(void *l, void *n) { (void)n; ck_pflock_read_lock((ck_pflock_t *)l); }
static void ckpf_rdu(void *l, void *n) { (void)n; ck_pflock_read_unlock((ck_pflock_t *)l); }
static void ckpf_wr(void *l, void *n) { (void)n; ck_pflock_write_lock((ck_pflock_t *)l); }
static void ckpf_wru(void *l, void *n) { (void)n; ck_pflock_write_unlock((ck_pflock_t *)l); }
RB_BODIES(ckpf, ckpf_rd, ckpf_rdu, ckpf_wr, ckpf_wru)

/* ---- weft_mutex for both sides ---------------------------------------------- */

static void wmx_init(void *l) { (void)!weft_mutex_init((weft_mutex_t *)l, 0); }
static void wmx_destroy(void *l) { weft_mutex_destroy((weft_mutex_t *)l); }
static void wmx_lock(void *l, void *n) { (void)n; weft_mutex_lock((weft_mutex_t *)l); }
static void wmx_unlock(void *l, void *n) { (void)n; weft_mutex_unlock((weft_mutex_t *)l); }
RB_BODIES(wmx, wmx_lock, wmx_unlock, wmx_lock, wmx_unlock)

/* ---- pthread_mutex for both sides (the writes100 target compares with it) --- */

static void pmx_init(void *l) { pthread_mutex_init((pthread_mutex_t *)l, NULL); }
static void pmx_destroy(void *l) { pthread_mutex_destroy((pthread_mutex_t *)l); }
static void pmx_lock(void *l, void *n) { (void)n; pthread_mutex_lock((pthread_mutex_t *)l); }
static void pmx_unlock(void *l, void *n) { (void)n; pthread_mutex_unlock((pthread_mutex_t *)l); }
RB_BODIES(pmx, pmx_lock, pmx_unlock, pmx_lock, pmx_unlock)

/* ---- liburcu read side (memb flavour) --------------------------------------- */

static void urcu_init(void *l) { (void)l; }
static void urcu_node_init(void *l, void *n) { (void)l; (void)n; urcu_memb_register_thread(); }
static void urcu_node_fini(void *l, void *n) { (void)l; (void)n; urcu_memb_unregister_thread(); }
static void urcu_rd(void *l, void *n) { (void)l; (void)n; urcu_memb_read_lock(); }
static void urcu_rdu(void *l, void *n) { (void)l; (void)n; urcu_memb_read_unlock(); }
static void urcu_no_write(void *l, void *n) { (void)l; (void)n; abort(); /* read-only rows only */ }
static void urcu_read_pair(wb_thread *t) { rb_pair(t, urcu_rd, urcu_rdu); }
static void urcu_mixed(wb_thread *t) { rb_mixed(t, urcu_rd, urcu_rdu, urcu_no_write, urcu_no_write); }

/* ---- limit: one fetch_add and one fetch_sub on a shared word ------------------ */

static void lim_init(void *l) { memset(l, 0, 4); }
static void lim_inc(void *l, void *n)
{
	(void)n;
	/* acquire: what a reader count's increment must be */
	__atomic_fetch_add((uint32_t *)l, 1u, __ATOMIC_ACQUIRE);
}
static void lim_dec(void *l, void *n)
{
	(void)n;
	/* release: what a reader count's decrement must be */
	__atomic_fetch_sub((uint32_t *)l, 1u, __ATOMIC_RELEASE);
}
static void lim_read_pair(wb_thread *t) { rb_pair(t, lim_inc, lim_dec); }
static void lim_mixed(wb_thread *t) { rb_mixed(t, lim_inc, lim_dec, urcu_no_write, urcu_no_write); }

/* ---- registration ---------------------------------------------------------- */

#define RB_IMPL(nm, pre, ini, des, ni, nf) \
	{nm, ini, des, ni, nf, pre##_read_pair, pre##_write_pair, pre##_mixed, pre##_writer_wait, 0}

static const struct rb_impl rb_impls[] = {
	RB_IMPL("weft_rwlock", wrw, wrw_init, wrw_destroy, NULL, NULL),
	RB_IMPL("weft_brlock", wbr, wbr_init, wbr_destroy, NULL, NULL),
	RB_IMPL("pthread", prw, prw_init, prw_destroy, NULL, NULL),
	RB_IMPL("pthread_wpref", prw, prw_wpref_init, prw_destroy, NULL, NULL),
	RB_IMPL("ck_rwlock", ckrw, ckrw_init, NULL, NULL, NULL),
	RB_IMPL("ck_brlock", ckbr, ckbr_init, NULL, ckbr_node_init, ckbr_node_fini),
	RB_IMPL("ck_pflock", ckpf, ckpf_init, NULL, NULL, NULL),
	RB_IMPL("weft_mutex", wmx, wmx_init, wmx_destroy, NULL, NULL),
	RB_IMPL("pthread_mutex", pmx, pmx_init, pmx_destroy, NULL, NULL),
	{"urcu", urcu_init, NULL, urcu_node_init, urcu_node_fini, urcu_read_pair, NULL, urcu_mixed, NULL, 1},
	{"limit", lim_init, NULL, NULL, NULL, lim_read_pair, NULL, lim_mixed, NULL, 1},
};

static void rb_register(const struct rb_impl *impl, const char *workload, wb_body_fn body, uint64_t threads,
			unsigned writes_per_1000, double read_ns, unsigned flags, const char *lat_name, int spin)
{
	char name[160];
	struct rb_params *p = (struct rb_params *)calloc(1, sizeof *p);
	p->impl = impl;
	p->writes_per_1000 = writes_per_1000;
	p->read_ns = read_ns;
	p->spin = spin;
	wb_def def;
	memset(&def, 0, sizeof def);
	snprintf(name, sizeof name, "rwlock/%s/%s", workload, impl->name);
	def.name = name;
	def.body = body;
	def.threads = threads;
	/* locks only: no thread waits for ever on one that stopped, so the
	 * runner's timer may close the window (a starved thread 0 cannot stretch it) */
	def.flags = flags | WB_STOP_TIMER;
	def.arg = p;
	def.setup = rb_setup;
	def.teardown = rb_teardown;
	def.lat_name = lat_name;
	wb_register_def(&def);
}

__attribute__((constructor)) static void register_rwlock(void)
{
	static const struct {
		const char *name;
		unsigned writes_per_1000;
		double read_ns;
		uint64_t threads;
	} mixes[] = {{"reads100", 0, 0, WB_T1248},        {"reads99_9", 1, 0, WB_T1248},
		     {"reads99", 10, 0, WB_T1248},        {"reads95", 50, 0, WB_T1248},
		     {"reads90", 100, 0, WB_T1248},       {"reads50", 500, 0, WB_T1248},
		     {"writes100", 1000, 0, WB_T1248},    {"reads99_rd200", 10, 200, WB_T2 | WB_T4 | WB_T8},
		     {"reads99_rd2000", 10, 2000, WB_T2 | WB_T4 | WB_T8}};
	for (size_t i = 0; i < sizeof rb_impls / sizeof rb_impls[0]; i++) {
		const struct rb_impl *impl = &rb_impls[i];
		rb_register(impl, "uncontended_read", impl->read_pair, WB_T1, 0, 0, 0, NULL, -1);
		if (impl->write_pair)
			rb_register(impl, "uncontended_write", impl->write_pair, WB_T1, 0, 0, 0, NULL, -1);
		for (size_t m = 0; m < sizeof mixes / sizeof mixes[0]; m++)
			if (!impl->read_only || mixes[m].writes_per_1000 == 0)
				rb_register(impl, mixes[m].name, impl->mixed, mixes[m].threads, mixes[m].writes_per_1000,
					    mixes[m].read_ns, WB_FAIRNESS | WB_CPU | WB_LONGEST_WAIT, NULL, -1);
		if (impl->writer_wait)
			rb_register(impl, "writer_wait", impl->writer_wait, WB_T2 | WB_T4 | WB_T8, 0, 0, WB_LATENCY | WB_LONGEST_WAIT,
				    "writer_wait", -1);
	}
	/* the sweep that chooses WEFT_RWLOCK_SPIN_DEFAULT: reads90 with the
	 * spin budget (pause instructions) of weft_rwlock_set_spin() */
	static const unsigned sweep[] = {0, 25, 100, 400, 1600};
	for (size_t k = 0; k < sizeof sweep / sizeof sweep[0]; k++) {
		char workload[48];
		snprintf(workload, sizeof workload, "spin_sweep_%u", sweep[k]);
		rb_register(&rb_impls[0], workload, rb_impls[0].mixed, WB_T2 | WB_T4, 100, 0, WB_FAIRNESS | WB_CPU | WB_LONGEST_WAIT,
			    NULL, (int)sweep[k]);
		rb_register(&rb_impls[1], workload, rb_impls[1].mixed, WB_T2 | WB_T4, 100, 0, WB_FAIRNESS | WB_CPU | WB_LONGEST_WAIT,
			    NULL, (int)sweep[k]);
	}
}
