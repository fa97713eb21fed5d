/* SPDX-License-Identifier: MIT */
/*
 * bench_mpmc.c - family `mpmc`: weft_mpmc_t against the C peers.  The
 * workloads are in mpmcbench.h; the C++ peers (moodycamel, Boost, oneTBB) are
 * in mpmc_cxx.cc.
 *
 * impl              queue                                   how it waits
 * weft              weft_mpmc_t (capacity rounded down      push/pop: bounded spin, then futex
 *                   to a power of two: C1's 10 -> 8)
 * ck_ring_mpmc      Concurrency Kit ck_ring, MPMC mode      try + mq_relax (pause, then yield)
 *                   (power of two; holds capacity - 1)
 * ck_fifo_mpmc      Concurrency Kit ck_fifo_mpmc (Michael-  try + mq_relax; unbounded: pair and
 *                   Scott with generation counters)         pingpong rows only (nodes are reused
 *                                                           per thread, never freed mid-run)
 * urcu_wfcq         liburcu wait-free concurrent queue      enqueue wait-free; dequeue: the non-blocking
 *                   (cds_wfcq, inline static API)           __cds_wfcq_dequeue_nonblocking under the
 *                                                           queue's dequeue lock (the mutual exclusion
 *                                                           its synchronization table asks for), and
 *                                                           CDS_WFCQ_WOULDBLOCK (an enqueue in flight)
 *                                                           retried outside the lock; unbounded
 * urcu_lfq          liburcu RCU lock-free queue (cds_lfq)   try + mq_relax; nodes malloc'd per
 *                   through the library, urcu-memb flavour  push, freed with call_rcu; unbounded
 * c2_weft           scenario C2 queue (bench/c2_queue.h):   sem + mutex + condvar, blocking
 *                   weft_sem_t + weft_mutex_t + weft_cond_t
 * c2_pthread        the same with sem_t + pthread mutex/cond
 * weft_select,      select4 rows only: one consumer of four queues, with
 * poll_trypop       weft_mpmc_select() or (a baseline) try_pop in turn; see "select4" below
 * limit             pair: one fetch_add on a "tail" line and one on a "head" line per pair, the
 *                   read-modify-writes any linearizable array queue needs; pingpong: a one-slot
 *                   mailbox per direction (the bare cross-core round trip)
 *
 * Unbounded queues skip the c1 and slow_consumer rows (a capacity is what
 * those rows measure).  WEFT_BENCH_MPMC_SPIN=<pauses> overrides the weft
 * spin bound for a run, WEFT_BENCH_MPMC_BACKOFF=<pauses> its contention
 * backoff bound (the sweeps in docs/mpmc.md).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ck_fifo.h>
#include <ck_ring.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/rculfqueue.h>
#include <urcu/wfcqueue.h>
#include <urcu/static/wfcqueue.h> /* the inline forms, _cds_wfcq_* */
#include <urcu/urcu-memb.h>

#include <weft/mpmc.h>

#include "c2_queue.h"
#include "mpmcbench.h"
#include "shim.h"

static size_t pow2_down(size_t n)
{
	size_t p = 2;
	while (p * 2 <= n)
		p *= 2;
	return p;
}

static size_t pow2_up(size_t n)
{
	size_t p = 2;
	while (p < n)
		p *= 2;
	return p;
}

/* ---- weft ------------------------------------------------------------------ */

static void *weft_create(size_t capacity)
{
	const char *spin = getenv("WEFT_BENCH_MPMC_SPIN");
	if (spin && *spin)
		weft_mpmc_set_spin((unsigned)strtoul(spin, NULL, 10));
	const char *backoff = getenv("WEFT_BENCH_MPMC_BACKOFF");
	if (backoff && *backoff)
		weft_mpmc_set_backoff((unsigned)strtoul(backoff, NULL, 10));
	return weft_mpmc_create(capacity, 0);
}

static void weft_destroy(void *q)
{
	weft_mpmc_destroy((weft_mpmc_t *)q);
}

static MQ_ALWAYS_INLINE int weft_try_pop(void *q, void *tls, void **v)
{
	(void)tls;
	return weft_mpmc_try_pop((weft_mpmc_t *)q, v);
}

static MQ_ALWAYS_INLINE void weft_push(void *q, void *tls, void *v)
{
	(void)tls;
	(void)!weft_mpmc_push((weft_mpmc_t *)q, v); /* never closed during a run */
}

static MQ_ALWAYS_INLINE void *weft_pop(void *q, void *tls)
{
	(void)tls;
	void *v = NULL;
	(void)!weft_mpmc_pop((weft_mpmc_t *)q, &v);
	return v;
}

MQ_WRAPPERS(weft)

/* ---- Concurrency Kit ck_ring (MPMC) -------------------------------------------- */

struct ckr {
	ck_ring_t ring __attribute__((aligned(64)));
	ck_ring_buffer_t buf[] __attribute__((aligned(64)));
};

static void *ckr_create(size_t capacity)
{
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct ckr) + capacity * sizeof(ck_ring_buffer_t)) != 0)
		return NULL;
	struct ckr *r = (struct ckr *)mem;
	memset(r, 0, sizeof *r + capacity * sizeof(ck_ring_buffer_t));
	ck_ring_init(&r->ring, (unsigned)capacity);
	return r;
}

static void ckr_destroy(void *q)
{
	free(q);
}

static MQ_ALWAYS_INLINE int ckr_try_pop(void *q, void *tls, void **v)
{
	(void)tls;
	struct ckr *r = (struct ckr *)q;
	return ck_ring_dequeue_mpmc(&r->ring, r->buf, v);
}

static MQ_ALWAYS_INLINE void ckr_push(void *q, void *tls, void *v)
{
	(void)tls;
	struct ckr *r = (struct ckr *)q;
	unsigned fails = 0;
	while (!ck_ring_enqueue_mpmc(&r->ring, r->buf, v))
		mq_relax(&fails);
}

static MQ_ALWAYS_INLINE void *ckr_pop(void *q, void *tls)
{
	(void)tls;
	struct ckr *r = (struct ckr *)q;
	void *v;
	unsigned fails = 0;
	while (!ck_ring_dequeue_mpmc(&r->ring, r->buf, &v))
		mq_relax(&fails);
	return v;
}

MQ_WRAPPERS(ckr)

/* ---- Concurrency Kit ck_fifo_mpmc ---------------------------------------------- */

/* Entries come from a per-queue arena and circulate through per-thread caches
 * (a dequeue hands back the old stub as "garbage", reused by this thread's
 * next enqueue).  ck_fifo_mpmc's generation counters make the reuse of
 * type-stable entries safe; they are never freed while the queue lives. */
#define CKF_ARENA 4096
#define CKF_CACHE 64

struct ckf {
	ck_fifo_mpmc_t fifo __attribute__((aligned(64)));
	uint32_t next __attribute__((aligned(64))); /* arena entries handed out */
	ck_fifo_mpmc_entry_t arena[CKF_ARENA];
};

struct ckf_tls {
	unsigned n;
	ck_fifo_mpmc_entry_t *cache[CKF_CACHE];
};

static void *ckf_create(size_t capacity)
{
	(void)capacity; /* unbounded */
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct ckf)) != 0)
		return NULL;
	struct ckf *f = (struct ckf *)mem;
	memset(f, 0, sizeof *f);
	ck_fifo_mpmc_init(&f->fifo, &f->arena[0]);
	f->next = 1;
	return f;
}

static void ckf_destroy(void *q)
{
	free(q);
}

static void *ckf_thread_begin(void *q)
{
	(void)q;
	return calloc(1, sizeof(struct ckf_tls));
}

static void ckf_thread_end(void *q, void *tls)
{
	(void)q;
	free(tls); /* cached entries stay in the arena */
}

static ck_fifo_mpmc_entry_t *ckf_entry(struct ckf *f, struct ckf_tls *c)
{
	if (c->n > 0)
		return c->cache[--c->n];
	/* relaxed: only the index must be unique */
	uint32_t i = __atomic_fetch_add(&f->next, 1u, __ATOMIC_RELAXED);
	if (i >= CKF_ARENA) {
		fprintf(stderr, "bench_mpmc: ck_fifo_mpmc arena exhausted\n");
		abort();
	}
	return &f->arena[i];
}

static void ckf_recycle(struct ckf_tls *c, ck_fifo_mpmc_entry_t *garbage)
{
	if (c->n < CKF_CACHE)
		c->cache[c->n++] = garbage; /* else it stays unused in the arena */
}

static MQ_ALWAYS_INLINE int ckf_try_pop(void *q, void *tls, void **v)
{
	struct ckf *f = (struct ckf *)q;
	ck_fifo_mpmc_entry_t *garbage;
	if (!ck_fifo_mpmc_dequeue(&f->fifo, v, &garbage))
		return 0;
	ckf_recycle((struct ckf_tls *)tls, garbage);
	return 1;
}

static MQ_ALWAYS_INLINE void ckf_push(void *q, void *tls, void *v)
{
	struct ckf *f = (struct ckf *)q;
	ck_fifo_mpmc_enqueue(&f->fifo, ckf_entry(f, (struct ckf_tls *)tls), v);
}

static MQ_ALWAYS_INLINE void *ckf_pop(void *q, void *tls)
{
	struct ckf *f = (struct ckf *)q;
	ck_fifo_mpmc_entry_t *garbage;
	void *v;
	unsigned fails = 0;
	while (!ck_fifo_mpmc_dequeue(&f->fifo, &v, &garbage))
		mq_relax(&fails);
	ckf_recycle((struct ckf_tls *)tls, garbage);
	return v;
}

MQ_WRAPPERS(ckf)

/* ---- liburcu cds_wfcq ------------------------------------------------------------ */

/* A dequeued wfcq node is the dequeuer's at once (dequeue_blocking waits for
 * a concurrent enqueuer's link), so nodes go to a per-thread cache and are
 * freed only when it overflows (consumers of producer/consumer rows). */
#define WFQ_CACHE 256

struct wfq {
	struct cds_wfcq_head head __attribute__((aligned(64)));
	struct cds_wfcq_tail tail __attribute__((aligned(64)));
};

struct wfq_node {
	struct cds_wfcq_node node;
	void *value;
	struct wfq_node *next_free;
};

struct wfq_tls {
	struct wfq_node *free_list;
	unsigned n;
};

static void *wfq_create(size_t capacity)
{
	(void)capacity; /* unbounded */
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct wfq)) != 0)
		return NULL;
	struct wfq *w = (struct wfq *)mem;
	_cds_wfcq_init(&w->head, &w->tail);
	return w;
}

static void wfq_destroy(void *q)
{
	struct wfq *w = (struct wfq *)q;
	_cds_wfcq_destroy(&w->head, &w->tail);
	free(w);
}

static void *wfq_thread_begin(void *q)
{
	(void)q;
	return calloc(1, sizeof(struct wfq_tls));
}

static void wfq_thread_end(void *q, void *tls)
{
	(void)q;
	struct wfq_tls *c = (struct wfq_tls *)tls;
	while (c->free_list) {
		struct wfq_node *n = c->free_list;
		c->free_list = n->next_free;
		free(n);
	}
	free(c);
}

static inline void wfq_recycle(struct wfq_tls *c, struct wfq_node *n)
{
	if (c->n >= WFQ_CACHE) {
		free(n);
		return;
	}
	n->next_free = c->free_list;
	c->free_list = n;
	c->n++;
}

/*
 * The non-blocking dequeue under the dequeue lock (urcu/wfcqueue.h: dequeue
 * needs mutual exclusion, "ensured by holding cds_wfcq_dequeue_lock()").
 * dequeue_blocking would, with an enqueue in flight, wait for it while
 * holding the lock (and sleep 10 ms at a time after a bounded spin); the
 * non-blocking form returns CDS_WFCQ_WOULDBLOCK instead and the caller
 * retries outside the lock.
 */
static MQ_ALWAYS_INLINE struct cds_wfcq_node *wfq_dequeue(struct wfq *w)
{
	_cds_wfcq_dequeue_lock(&w->head, &w->tail);
	struct cds_wfcq_node *node = ___cds_wfcq_dequeue_nonblocking(&w->head, &w->tail);
	_cds_wfcq_dequeue_unlock(&w->head, &w->tail);
	return node == CDS_WFCQ_WOULDBLOCK ? NULL : node;
}

static MQ_ALWAYS_INLINE int wfq_try_pop(void *q, void *tls, void **v)
{
	struct wfq *w = (struct wfq *)q;
	struct cds_wfcq_node *node = wfq_dequeue(w);
	if (!node)
		return 0;
	struct wfq_node *n = caa_container_of(node, struct wfq_node, node);
	*v = n->value;
	wfq_recycle((struct wfq_tls *)tls, n);
	return 1;
}

static MQ_ALWAYS_INLINE void wfq_push(void *q, void *tls, void *v)
{
	struct wfq *w = (struct wfq *)q;
	struct wfq_tls *c = (struct wfq_tls *)tls;
	struct wfq_node *n = c->free_list;
	if (n) {
		c->free_list = n->next_free;
		c->n--;
	} else {
		n = (struct wfq_node *)malloc(sizeof *n);
		if (!n)
			abort();
	}
	_cds_wfcq_node_init(&n->node);
	n->value = v;
	_cds_wfcq_enqueue(&w->head, &w->tail, &n->node);
}

static MQ_ALWAYS_INLINE void *wfq_pop(void *q, void *tls)
{
	struct wfq *w = (struct wfq *)q;
	struct cds_wfcq_node *node;
	unsigned fails = 0;
	while (!(node = wfq_dequeue(w)))
		mq_relax(&fails);
	struct wfq_node *n = caa_container_of(node, struct wfq_node, node);
	void *v = n->value;
	wfq_recycle((struct wfq_tls *)tls, n);
	return v;
}

MQ_WRAPPERS(wfq)

/* ---- liburcu cds_lfq (RCU lock-free queue) ------------------------------------------ */

struct lfq {
	struct cds_lfq_queue_rcu q __attribute__((aligned(64)));
};

struct lfq_node {
	struct cds_lfq_node_rcu node;
	void *value;
	struct rcu_head rcu;
};

static void lfq_free_node(struct rcu_head *head)
{
	free(caa_container_of(head, struct lfq_node, rcu));
}

static void *lfq_create(size_t capacity)
{
	(void)capacity; /* unbounded */
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct lfq)) != 0)
		return NULL;
	struct lfq *l = (struct lfq *)mem;
	cds_lfq_init_rcu(&l->q, urcu_memb_call_rcu);
	return l;
}

static void lfq_destroy(void *q)
{
	struct lfq *l = (struct lfq *)q;
	urcu_memb_register_thread(); /* destroy hands the dummy node to call_rcu */
	(void)cds_lfq_destroy_rcu(&l->q);
	urcu_memb_unregister_thread();
	free(l);
}

static void *lfq_thread_begin(void *q)
{
	(void)q;
	urcu_memb_register_thread();
	return NULL;
}

static void lfq_thread_end(void *q, void *tls)
{
	(void)q;
	(void)tls;
	urcu_memb_unregister_thread();
}

static MQ_ALWAYS_INLINE int lfq_try_pop(void *q, void *tls, void **v)
{
	(void)tls;
	struct lfq *l = (struct lfq *)q;
	urcu_memb_read_lock();
	struct cds_lfq_node_rcu *node = cds_lfq_dequeue_rcu(&l->q);
	urcu_memb_read_unlock();
	if (!node)
		return 0;
	struct lfq_node *n = caa_container_of(node, struct lfq_node, node);
	*v = n->value;
	urcu_memb_call_rcu(&n->rcu, lfq_free_node);
	return 1;
}

static MQ_ALWAYS_INLINE void lfq_push(void *q, void *tls, void *v)
{
	(void)tls;
	struct lfq *l = (struct lfq *)q;
	struct lfq_node *n = (struct lfq_node *)malloc(sizeof *n);
	if (!n)
		abort();
	cds_lfq_node_init_rcu(&n->node);
	n->value = v;
	urcu_memb_read_lock();
	cds_lfq_enqueue_rcu(&l->q, &n->node);
	urcu_memb_read_unlock();
}

static MQ_ALWAYS_INLINE void *lfq_pop(void *q, void *tls)
{
	void *v;
	unsigned fails = 0;
	while (!lfq_try_pop(q, tls, &v))
		mq_relax(&fails);
	return v;
}

MQ_WRAPPERS(lfq)

/* ---- scenario C2 queues ---------------------------------------------------------------- */

static void *c2w_create(size_t capacity)
{
	c2_queue_t *q = (c2_queue_t *)calloc(1, sizeof *q);
	if (q && c2_queue_init(q, capacity) != WEFT_OK) {
		free(q);
		return NULL;
	}
	return q;
}

static void c2w_destroy(void *q)
{
	c2_queue_destroy((c2_queue_t *)q);
	free(q);
}

static MQ_ALWAYS_INLINE int c2w_try_pop(void *q, void *tls, void **v)
{
	(void)tls;
	return c2_try_pop((c2_queue_t *)q, v);
}

static MQ_ALWAYS_INLINE void c2w_push(void *q, void *tls, void *v)
{
	(void)tls;
	(void)c2_push((c2_queue_t *)q, v);
}

static MQ_ALWAYS_INLINE void *c2w_pop(void *q, void *tls)
{
	(void)tls;
	void *v = NULL;
	(void)c2_pop((c2_queue_t *)q, &v);
	return v;
}

MQ_WRAPPERS(c2w)

static void *c2p_create(size_t capacity)
{
	c2p_queue_t *q = (c2p_queue_t *)calloc(1, sizeof *q);
	if (q && c2p_queue_init(q, capacity) != WEFT_OK) {
		free(q);
		return NULL;
	}
	return q;
}

static void c2p_destroy(void *q)
{
	c2p_queue_destroy((c2p_queue_t *)q);
	free(q);
}

static MQ_ALWAYS_INLINE int c2pt_try_pop(void *q, void *tls, void **v)
{
	(void)tls;
	return c2p_try_pop((c2p_queue_t *)q, v);
}

static MQ_ALWAYS_INLINE void c2pt_push(void *q, void *tls, void *v)
{
	(void)tls;
	(void)c2p_push((c2p_queue_t *)q, v);
}

static MQ_ALWAYS_INLINE void *c2pt_pop(void *q, void *tls)
{
	(void)tls;
	void *v = NULL;
	(void)c2p_pop((c2p_queue_t *)q, &v);
	return v;
}

MQ_WRAPPERS(c2pt)

/* ---- limit ------------------------------------------------------------------------- */

/* pair: the two read-modify-writes on two shared lines; the value never
 * leaves the thread (tls).  pingpong: a one-slot mailbox per direction. */
struct lim {
	uint64_t tail __attribute__((aligned(64)));
	uint64_t head __attribute__((aligned(64)));
	void *slot __attribute__((aligned(64))); /* mailbox: NULL when empty */
};

struct lim_tls {
	void *value;
};

static void *lim_create(size_t capacity)
{
	(void)capacity;
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct lim)) != 0)
		return NULL;
	memset(mem, 0, sizeof(struct lim));
	return mem;
}

static void lim_destroy(void *q)
{
	free(q);
}

static void *lim_thread_begin(void *q)
{
	(void)q;
	return calloc(1, sizeof(struct lim_tls));
}

static void lim_thread_end(void *q, void *tls)
{
	(void)q;
	free(tls);
}

static uint64_t lim_drain(void *q, void *tls, uint64_t *sum)
{
	(void)q;
	(void)tls;
	(void)sum;
	return 0; /* nothing is ever left */
}

static MQ_ALWAYS_INLINE void limpair_push(void *q, void *tls, void *v)
{
	/* relaxed: only the cost of the read-modify-write is measured */
	__atomic_fetch_add(&((struct lim *)q)->tail, 1, __ATOMIC_RELAXED);
	((struct lim_tls *)tls)->value = v;
}

static MQ_ALWAYS_INLINE void *limpair_pop(void *q, void *tls)
{
	__atomic_fetch_add(&((struct lim *)q)->head, 1, __ATOMIC_RELAXED); /* relaxed: as above */
	return ((struct lim_tls *)tls)->value;
}

static MQ_ALWAYS_INLINE void limbox_push(void *q, void *tls, void *v)
{
	(void)tls;
	struct lim *l = (struct lim *)q;
	unsigned fails = 0;
	/* acquire: the reader took the previous value */
	while (__atomic_load_n(&l->slot, __ATOMIC_ACQUIRE) != NULL)
		mq_relax(&fails);
	__atomic_store_n(&l->slot, v, __ATOMIC_RELEASE); /* release: hands the value over */
}

static MQ_ALWAYS_INLINE void *limbox_pop(void *q, void *tls)
{
	(void)tls;
	struct lim *l = (struct lim *)q;
	unsigned fails = 0;
	void *v;
	/* acquire: pairs with the release store in limbox_push() */
	while ((v = __atomic_load_n(&l->slot, __ATOMIC_ACQUIRE)) == NULL)
		mq_relax(&fails);
	__atomic_store_n(&l->slot, NULL, __ATOMIC_RELEASE); /* release: the slot is free */
	return v;
}

static void lim_pair(wb_thread *t)
{
	mq_pair(t, limpair_push, limpair_pop);
}

static void lim_pingpong(wb_thread *t)
{
	mq_pingpong(t, limbox_push, limbox_pop);
}

/* ---- select4: one consumer of four queues ---------------------------------------------- */

/*
 * mpmc/select4/<impl>: four producers, each pushing as fast as it can into
 * its own weft_mpmc_t (capacity 1024, blocking push), and one consumer that
 * takes from all four; items = values taken.  mpmc/select4_work/<impl>: the
 * same, but each producer does 1 us of busy work (wb_work) per value, so
 * the queues are often empty and the consumer waits: what its waiting costs
 * the producers shows.  mpmc/select4_sparse/<impl>: each producer sleeps
 * 20 us (nanosleep) after each value, so the queues are empty nearly all the
 * time; items/s is the producers' pace for both, and cpu_ns_per_op shows
 * what the waiting consumer burns (the "no CPU while empty" target).
 *   weft_select   the consumer calls weft_mpmc_select() over four pop cases
 *                 (it sleeps when all four are empty);
 *   poll_trypop   a baseline, not a peer: the consumer calls
 *                 weft_mpmc_try_pop() on the queues in turn, and after a
 *                 round that found all four empty relaxes as the try-only
 *                 peers do (mq_relax(): pauses, then sched_yield()).  It
 *                 never sleeps, so cpu_ns_per_op shows what polling costs.
 * Thread 0 is a producer (it closes the window).  A producer that stops
 * pushes MQ_SENTINEL into its queue; the consumer drops a queue at its
 * sentinel and leaves after the fourth.  The teardown checks conservation.
 */
#define SEL_QUEUES 4

struct sel_params {
	double work_ns; /* busy work per value pushed */
	long sleep_ns;  /* nanosleep after each value pushed (0: none) */
};

struct sel_shared {
	weft_mpmc_t *q[SEL_QUEUES];
	uint64_t pushed __attribute__((aligned(64))), push_sum;
	uint64_t popped, pop_sum;
};

static void *sel_setup(wb_thread *t)
{
	struct sel_shared *s = NULL;
	if (posix_memalign((void **)&s, 64, sizeof *s) != 0)
		wb_fail(t, "out of memory");
	memset(s, 0, sizeof *s);
	for (int i = 0; i < SEL_QUEUES; i++)
		if ((s->q[i] = weft_create(1024)) == NULL)
			wb_fail(t, "cannot create a queue");
	return s;
}

static void sel_teardown(wb_thread *t)
{
	struct sel_shared *s = (struct sel_shared *)t->shared;
	uint64_t n = s->popped, sum = s->pop_sum; /* written before the runner's barrier */
	void *v;
	for (int i = 0; i < SEL_QUEUES; i++) {
		while (weft_mpmc_try_pop(s->q[i], &v))
			if (v != MQ_SENTINEL) {
				n++;
				sum += (uintptr_t)v;
			}
		weft_mpmc_destroy(s->q[i]);
	}
	if (n != s->pushed || sum != s->push_sum)
		wb_fail(t, "conservation: pushed %llu (sum %llu), popped %llu (sum %llu)",
			(unsigned long long)s->pushed, (unsigned long long)s->push_sum, (unsigned long long)n,
			(unsigned long long)sum);
	free(s);
}

/* Threads 0..3: push into queue tid until the window closes (with the row's
 * busy work per value, t->arg), then the sentinel. */
static void sel_produce(wb_thread *t, struct sel_shared *s)
{
	weft_mpmc_t *q = s->q[t->tid];
	const uintptr_t base = (uintptr_t)(t->tid + 1) << 40;
	const struct sel_params *p = (const struct sel_params *)t->arg;
	const uint32_t work = wb_work_loops(p->work_ns);
	const struct timespec nap = {0, p->sleep_ns};
	uint64_t i, sum = 0;
	for (i = 0; wb_running(t, i); i++) {
		uintptr_t v = base | (uintptr_t)(i + 1);
		(void)!weft_mpmc_push(q, (void *)v); /* never closed */
		sum += v;
		wb_work(work);
		if (nap.tv_nsec)
			nanosleep(&nap, NULL);
	}
	(void)!weft_mpmc_push(q, MQ_SENTINEL);
	mq_add(&s->pushed, i);
	mq_add(&s->push_sum, sum);
	wb_done(t, 0);
}

static void sel_consumed(wb_thread *t, struct sel_shared *s, uint64_t n, uint64_t sum)
{
	mq_add(&s->popped, n);
	mq_add(&s->pop_sum, sum);
	wb_done(t, n);
}

/* An older weft has no select (make bench-ab measures its library with this
 * bench): WEFT_MPMC_SELECT_MAX comes with weft_mpmc_select(). */
#ifdef WEFT_MPMC_SELECT_MAX
static void sel_weft_select(wb_thread *t)
{
	struct sel_shared *s = (struct sel_shared *)t->shared;
	if (t->tid < SEL_QUEUES) {
		sel_produce(t, s);
		return;
	}
	weft_mpmc_case_t c[SEL_QUEUES];
	unsigned n = SEL_QUEUES;
	for (int i = 0; i < SEL_QUEUES; i++)
		c[i] = (weft_mpmc_case_t){s->q[i], WEFT_MPMC_OP_POP, NULL};
	uint64_t got = 0, sum = 0;
	while (n > 0) {
		unsigned k = 0;
		if (weft_mpmc_select(c, n, NULL, NULL, &k) != WEFT_OK)
			wb_fail(t, "weft_mpmc_select failed");
		void *v = c[k].item;
		if (v == MQ_SENTINEL) {
			c[k] = c[--n];
			continue;
		}
		sum += (uintptr_t)v;
		got++;
	}
	sel_consumed(t, s, got, sum);
}

#endif /* WEFT_MPMC_SELECT_MAX */

static void sel_poll_trypop(wb_thread *t)
{
	struct sel_shared *s = (struct sel_shared *)t->shared;
	if (t->tid < SEL_QUEUES) {
		sel_produce(t, s);
		return;
	}
	weft_mpmc_t *q[SEL_QUEUES];
	unsigned n = SEL_QUEUES, fails = 0;
	for (int i = 0; i < SEL_QUEUES; i++)
		q[i] = s->q[i];
	uint64_t got = 0, sum = 0;
	while (n > 0) {
		bool any = false;
		for (unsigned k = 0; k < n; k++) {
			void *v;
			if (!weft_mpmc_try_pop(q[k], &v))
				continue;
			any = true;
			if (v == MQ_SENTINEL) {
				q[k--] = q[--n];
				continue;
			}
			sum += (uintptr_t)v;
			got++;
		}
		if (any)
			fails = 0;
		else
			mq_relax(&fails);
	}
	sel_consumed(t, s, got, sum);
}

static void sel_register(const char *name, wb_body_fn body, const struct sel_params *params)
{
	wb_def def;
	memset(&def, 0, sizeof def);
	def.name = name;
	def.arg = params;
	def.body = body;
	def.threads = WB_T(SEL_QUEUES + 1);
	def.flags = WB_CPU;
	def.setup = sel_setup;
	def.teardown = sel_teardown;
	wb_register_def(&def);
}

/* ---- registration --------------------------------------------------------------------- */

__attribute__((constructor)) static void mpmc_register(void)
{
	static const struct mq_impl impls[] = {
		{"weft", MQ_BOUNDED | MQ_BLOCKING | MQ_PC | MQ_PINGPONG, weft_create, weft_destroy, NULL, NULL,
		 weft_drain, pow2_down, weft_pair, weft_pc, weft_pingpong},
		{"ck_ring_mpmc", MQ_BOUNDED | MQ_PC | MQ_PINGPONG, ckr_create, ckr_destroy, NULL, NULL, ckr_drain,
		 pow2_up, ckr_pair, ckr_pc, ckr_pingpong},
		{"ck_fifo_mpmc", MQ_PINGPONG, ckf_create, ckf_destroy, ckf_thread_begin, ckf_thread_end, ckf_drain,
		 NULL, ckf_pair, ckf_pc, ckf_pingpong},
		{"urcu_wfcq", MQ_PC | MQ_PINGPONG, wfq_create, wfq_destroy, wfq_thread_begin, wfq_thread_end,
		 wfq_drain, NULL, wfq_pair, wfq_pc, wfq_pingpong},
		{"urcu_lfq", MQ_PC | MQ_PINGPONG, lfq_create, lfq_destroy, lfq_thread_begin, lfq_thread_end,
		 lfq_drain, NULL, lfq_pair, lfq_pc, lfq_pingpong},
		{"c2_weft", MQ_BOUNDED | MQ_BLOCKING | MQ_PC | MQ_PINGPONG, c2w_create, c2w_destroy, NULL, NULL,
		 c2w_drain, NULL, c2w_pair, c2w_pc, c2w_pingpong},
		{"c2_pthread", MQ_BOUNDED | MQ_BLOCKING | MQ_PC | MQ_PINGPONG, c2p_create, c2p_destroy, NULL, NULL,
		 c2pt_drain, NULL, c2pt_pair, c2pt_pc, c2pt_pingpong},
		{"limit", MQ_PINGPONG, lim_create, lim_destroy, lim_thread_begin, lim_thread_end, lim_drain, NULL,
		 lim_pair, NULL, lim_pingpong},
	};
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		mq_register_impl(&impls[i]);
	static const struct sel_params flat_out = {0, 0}, busy = {1000, 0}, sparse = {0, 20000};
#ifdef WEFT_MPMC_SELECT_MAX
	sel_register("mpmc/select4/weft_select", sel_weft_select, &flat_out);
	sel_register("mpmc/select4_work/weft_select", sel_weft_select, &busy);
	sel_register("mpmc/select4_sparse/weft_select", sel_weft_select, &sparse);
#endif
	sel_register("mpmc/select4/poll_trypop", sel_poll_trypop, &flat_out);
	sel_register("mpmc/select4_work/poll_trypop", sel_poll_trypop, &busy);
	sel_register("mpmc/select4_sparse/poll_trypop", sel_poll_trypop, &sparse);
}
