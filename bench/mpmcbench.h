/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BENCH_MPMCBENCH_H
#define WEFT_BENCH_MPMCBENCH_H

/*
 * mpmcbench.h - the queue workloads of family `mpmc`, written once for every
 * implementation (C bodies in bench_mpmc.c, C++ peers in mpmc_cxx.cc).
 *
 * An implementation supplies two always-inline operations that always succeed
 * in the end, blocking the implementation's own way (weft, the C2 queues,
 * oneTBB) or retrying its try operation with mq_relax() (everyone else):
 *
 *     push(q, tls, value)      returns when value is in the queue
 *     pop(q, tls) -> value     returns when a value was taken
 *
 * and calls the generic bodies from tiny wrappers with constant arguments, so
 * the measured loops call the queue directly (no indirect call; see
 * bench/check_calls.py).  @tls is a per-thread pointer from the
 * implementation's thread_begin hook (an RCU registration, a node cache).
 *
 * Workloads (rows "mpmc/<workload>/<impl>"):
 *   pair            every thread pushes one value then pops one; 1, 2, 4, 8
 *                   threads; items = pairs.  Counters: sampled latency of a
 *                   pair, fairness, CPU per pair, and stall_max_us: the
 *                   longest time any thread went between two completed pairs
 *                   (at 4 and 8 threads on 2 cores this includes time spent
 *                   descheduled), and stall_own_max_us: the same gaps less
 *                   the time the thread sat runnable in the kernel's run
 *                   queue (see mq_stall_clock below), that is the part of a
 *                   stall the queue's own code spent, running or asleep.
 *   1p1c, 2p2c      producers push as fast as they can, consumers pop;
 *                   items = values popped.
 *   c1              scenario C1 without its sleeps: capacity 10, 2 producers,
 *                   3 consumers (bounded queues only).
 *   pingpong        two threads bounce one value through two queues;
 *                   items = round trips; rtt_p50/p99 sampled.
 *   slow_consumer   blocking queues only: half the threads produce (250 ns
 *                   of work per value), half consume (500 ns per value: C1's
 *                   0.1 s and 0.2 s scaled down 400 000 times) through a
 *                   queue of 64, so the queue is mostly full and producers
 *                   block; items per second and CPU time per item
 *                   (cpu_ns_per_op) show what blocking costs.
 *   sparse          blocking queues only: one producer pushes a value, then
 *                   sleeps 20 us (nanosleep: ~70 us with the default timer
 *                   slack); one consumer waits for each.  cpu_ns_per_op shows
 *                   what a mostly idle consumer burns while it waits.
 *
 * Producer/consumer runs end with sentinels: thread 0 is a producer; when the
 * last producer has stopped it pushes one MQ_SENTINEL per consumer, and each
 * consumer leaves at its sentinel.  In a linearizable FIFO queue every value
 * comes out before the sentinels; the teardown drains whatever a
 * non-linearizable queue left behind and checks conservation: the count and
 * the sum of the values popped equal those pushed, or the run fails.
 */

#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#include <weft/atomic.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MQ_ALWAYS_INLINE inline __attribute__((always_inline))
#define MQ_SENTINEL ((void *)~(uintptr_t)0)

/* Capabilities of an implementation (which rows it gets). */
#define MQ_BOUNDED 0x1u  /* fixed capacity: c1 rows */
#define MQ_BLOCKING 0x2u /* push/pop sleep: slow_consumer rows */
#define MQ_PC 0x4u       /* producer/consumer rows (memory stays bounded) */
#define MQ_PINGPONG 0x8u /* pingpong rows */

struct mq_impl {
	const char *name; /* the impl part of the row name */
	unsigned caps;
	void *(*create)(size_t capacity);            /* NULL on failure */
	void (*destroy)(void *q);
	void *(*thread_begin)(void *q);              /* may be NULL */
	void (*thread_end)(void *q, void *tls);      /* may be NULL */
	/* the teardown's drain: pop what is left, add the values to *sum, return how many */
	uint64_t (*drain)(void *q, void *tls, uint64_t *sum);
	size_t (*capacity_for)(size_t wanted);       /* may be NULL: the capacity used */
	wb_body_fn pair, pc, pingpong;               /* the wrappers; NULL: no such rows */
};

struct mq_params {
	const struct mq_impl *impl;
	size_t capacity;
	int producers;         /* > 0: that many; 0: half the threads; -1: all but one */
	double prod_work_ns;   /* busy work per value pushed */
	double cons_work_ns;   /* busy work per value popped */
	double prod_sleep_ns;  /* nanosleep after each value pushed (0: none) */
};

struct mq_shared {
	void *q, *q2;
	uint64_t pushed __attribute__((aligned(64))), push_sum;
	uint64_t popped, pop_sum;
	uint64_t stall_max;         /* ticks */
	uint64_t stall_own_max_ns;  /* see mq_stall_clock */
	uint64_t stall_own_known;   /* threads that could read their schedstat */
	uint32_t producers_done;
};

/* Retry policy of a try-only queue: pause, then give the CPU away. */
static inline void mq_relax(unsigned *fails)
{
	if (++*fails < 64)
		weft_cpu_relax();
	else
		sched_yield();
}

static inline int mq_producers(const wb_thread *t)
{
	const struct mq_params *p = (const struct mq_params *)t->arg;
	if (p->producers > 0)
		return p->producers;
	if (p->producers < 0)
		return t->nthreads - 1;
	return t->nthreads / 2;
}

static inline void *mq_thread_begin(const wb_thread *t, void *q)
{
	const struct mq_params *p = (const struct mq_params *)t->arg;
	return p->impl->thread_begin ? p->impl->thread_begin(q) : NULL;
}

static inline void mq_thread_end(const wb_thread *t, void *q, void *tls)
{
	const struct mq_params *p = (const struct mq_params *)t->arg;
	if (p->impl->thread_end)
		p->impl->thread_end(q, tls);
}

static inline size_t mq_capacity(const struct mq_params *p)
{
	return p->impl->capacity_for ? p->impl->capacity_for(p->capacity) : p->capacity;
}

static inline void *mq_setup(wb_thread *t)
{
	const struct mq_params *p = (const struct mq_params *)t->arg;
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct mq_shared)) != 0)
		wb_fail(t, "out of memory");
	struct mq_shared *s = (struct mq_shared *)mem;
	memset(s, 0, sizeof *s);
	s->q = p->impl->create(mq_capacity(p));
	s->q2 = p->impl->create(mq_capacity(p));
	if (s->q == NULL || s->q2 == NULL)
		wb_fail(t, "cannot create a queue of %zu", mq_capacity(p));
	return s;
}

/* Pop what is left (a non-linearizable queue may hold values behind the
 * sentinels) with a queue's try_pop; return how many, adding their sum to
 * *sum.  Each implementation instantiates it (MQ_WRAPPERS), so the loop calls
 * its try_pop directly. */
typedef int (*mq_try_pop_fn)(void *q, void *tls, void **value);

static MQ_ALWAYS_INLINE uint64_t mq_drain_with(void *q, void *tls, uint64_t *sum, mq_try_pop_fn try_pop)
{
	uint64_t n = 0;
	void *v;
	while (try_pop(q, tls, &v)) {
		if (v != MQ_SENTINEL) {
			*sum += (uintptr_t)v;
			n++;
		}
	}
	return n;
}

static inline uint64_t mq_drain(wb_thread *t, void *q, uint64_t *sum)
{
	const struct mq_params *p = (const struct mq_params *)t->arg;
	void *tls = mq_thread_begin(t, q);
	uint64_t n = p->impl->drain(q, tls, sum);
	mq_thread_end(t, q, tls);
	return n;
}

static inline void mq_teardown(wb_thread *t)
{
	const struct mq_params *p = (const struct mq_params *)t->arg;
	struct mq_shared *s = (struct mq_shared *)t->shared;
	/* everything below was written before the runner's barrier */
	uint64_t sum = s->pop_sum;
	uint64_t n = s->popped + mq_drain(t, s->q, &sum);
	if (n != s->pushed || sum != s->push_sum)
		wb_fail(t, "conservation: pushed %llu (sum %llu), popped %llu (sum %llu)",
			(unsigned long long)s->pushed, (unsigned long long)s->push_sum, (unsigned long long)n,
			(unsigned long long)sum);
	if (s->stall_max)
		wb_counter(t, "stall_max_us", wb_ticks_to_ns(s->stall_max) / 1000.0, WB_SUM);
	if (s->stall_max && s->stall_own_known == (uint64_t)t->nthreads)
		wb_counter(t, "stall_own_max_us", (double)s->stall_own_max_ns / 1000.0, WB_SUM);
	p->impl->destroy(s->q);
	p->impl->destroy(s->q2);
	free(s);
}

/*
 * Splitting a stall: on 2 cores, 4 or 8 busy threads take turns, and a
 * thread the scheduler preempts waits in the run queue for several 4 ms
 * ticks; the limit row, which has no queue at all, shows such gaps too.
 * The kernel counts that wait per thread (run_delay, the second field of
 * /proc/thread-self/schedstat, in ns).  Reading it costs a system call, so a
 * thread reads it at most every MQ_STALL_READ_NS of wall time, at the end of
 * a pair (the reads cost under 1 % of a run).  For a gap [a, b] longer than
 * that, the previous read was at r, at most MQ_STALL_READ_NS before a, and
 * the read at b gives the run-queue wait d over [r, b] >= the wait inside
 * [a, b]; so the gap's own part (running or sleeping) is at most
 * (b - a) - d + (a - r): that upper bound is what stall_own_max_us reports.
 * Shorter gaps count whole.  Without schedstat the counter is left out.
 */
#define MQ_STALL_READ_NS 200000.0

struct mq_stall_clock {
	int fd;                         /* /proc/thread-self/schedstat, or -1 */
	uint64_t every;                 /* MQ_STALL_READ_NS in wb_now() ticks */
	uint64_t read_at;               /* wb_now() of the last read */
	uint64_t run_delay;             /* run_delay (ns) at that read */
	uint64_t gap_max, own_max_ns;   /* worst gap (ticks), worst own part (ns) */
};

/* run_delay in ns, or 0 if it cannot be read. */
static inline uint64_t mq_run_delay_ns(int fd)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = buf;
	(void)strtoull(p, &p, 10); /* time on the CPU */
	return strtoull(p, NULL, 10);
}

static inline void mq_stall_begin(struct mq_stall_clock *c, uint64_t now)
{
	c->fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	c->every = wb_ns_to_ticks(MQ_STALL_READ_NS);
	c->read_at = now;
	c->run_delay = c->fd >= 0 ? mq_run_delay_ns(c->fd) : 0;
	c->gap_max = 0;
	c->own_max_ns = 0;
}

/* A pair ended at @now, the previous one at @last. */
static MQ_ALWAYS_INLINE void mq_stall_note(struct mq_stall_clock *c, uint64_t last, uint64_t now)
{
	uint64_t gap = now - last;
	if (gap > c->gap_max)
		c->gap_max = gap;
	if (WEFT_LIKELY(now - c->read_at < c->every)) {
		/* gap < every: counts whole (gaps under a quarter of it are
		 * far below any stall of interest, and skip the conversion) */
		if (gap > c->every / 4) {
			double g = wb_ticks_to_ns(gap);
			if (g > (double)c->own_max_ns)
				c->own_max_ns = (uint64_t)g;
		}
		return;
	}
	if (c->fd < 0)
		return;
	uint64_t delay = mq_run_delay_ns(c->fd);
	double own = wb_ticks_to_ns(gap);
	if (gap >= c->every) /* a short gap that happened to end a read period counts whole */
		own += wb_ticks_to_ns(last - c->read_at) - (double)(delay - c->run_delay);
	if (own > 0 && own > (double)c->own_max_ns)
		c->own_max_ns = (uint64_t)own;
	c->run_delay = delay;
	c->read_at = now;
}

typedef void (*mq_push_fn)(void *q, void *tls, void *value);
typedef void *(*mq_pop_fn)(void *q, void *tls);

static inline void mq_add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED); /* relaxed: read after the runner's barrier */
}

static inline void mq_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED); /* relaxed: as mq_add() */
	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* pair: push then pop, every thread; a timed loop. */
static MQ_ALWAYS_INLINE void mq_pair(wb_thread *t, mq_push_fn push, mq_pop_fn pop)
{
	struct mq_shared *s = (struct mq_shared *)t->shared;
	void *q = s->q;
	void *tls = mq_thread_begin(t, q);
	uint64_t in_sum = 0, out_sum = 0;
	const uintptr_t base = (uintptr_t)(t->tid + 1) << 40;
	uint64_t last = wb_now();
	struct mq_stall_clock stall;
	mq_stall_begin(&stall, last);
	uint64_t i;
	for (i = 0; wb_running(t, i); i++) {
		uint64_t w = wb_sample_begin(i);
		uintptr_t v = base | (uintptr_t)(i + 1);
		push(q, tls, (void *)v);
		out_sum += (uintptr_t)pop(q, tls);
		wb_sample_end(t, w);
		in_sum += v;
		uint64_t now = wb_now();
		mq_stall_note(&stall, last, now);
		last = now;
	}
	mq_thread_end(t, q, tls);
	if (stall.fd >= 0) {
		close(stall.fd);
		mq_max(&s->stall_own_max_ns, stall.own_max_ns);
		mq_add(&s->stall_own_known, 1);
	}
	mq_add(&s->pushed, i);
	mq_add(&s->push_sum, in_sum);
	mq_add(&s->popped, i);
	mq_add(&s->pop_sum, out_sum);
	mq_max(&s->stall_max, stall.gap_max);
	wb_done(t, i);
}

/* producers and consumers (see the top of the file). */
static MQ_ALWAYS_INLINE void mq_pc(wb_thread *t, mq_push_fn push, mq_pop_fn pop)
{
	const struct mq_params *p = (const struct mq_params *)t->arg;
	struct mq_shared *s = (struct mq_shared *)t->shared;
	void *q = s->q;
	void *tls = mq_thread_begin(t, q);
	const int producers = mq_producers(t);
	if (t->tid < producers) {
		const uint32_t work = wb_work_loops(p->prod_work_ns);
		const uintptr_t base = (uintptr_t)(t->tid + 1) << 40;
		uint64_t sum = 0, i;
		const struct timespec nap = {0, (long)p->prod_sleep_ns};
		for (i = 0; wb_running(t, i); i++) {
			uintptr_t v = base | (uintptr_t)(i + 1);
			push(q, tls, (void *)v);
			sum += v;
			wb_work(work);
			if (nap.tv_nsec)
				nanosleep(&nap, NULL);
		}
		mq_add(&s->pushed, i);
		mq_add(&s->push_sum, sum);
		/* acq_rel: the last producer's sentinels follow every producer's pushes */
		if ((int)__atomic_add_fetch(&s->producers_done, 1u, __ATOMIC_ACQ_REL) == producers)
			for (int c = producers; c < t->nthreads; c++)
				push(q, tls, MQ_SENTINEL);
		wb_done(t, 0);
	} else {
		const uint32_t work = wb_work_loops(p->cons_work_ns);
		uint64_t sum = 0, n = 0;
		for (;;) {
			void *v = pop(q, tls);
			if (v == MQ_SENTINEL)
				break;
			sum += (uintptr_t)v;
			n++;
			wb_work(work);
		}
		mq_add(&s->popped, n);
		mq_add(&s->pop_sum, sum);
		wb_done(t, n);
	}
	mq_thread_end(t, q, tls);
}

/* pingpong: thread 0 sends through q and waits for the echo on q2. */
static MQ_ALWAYS_INLINE void mq_pingpong(wb_thread *t, mq_push_fn push, mq_pop_fn pop)
{
	struct mq_shared *s = (struct mq_shared *)t->shared;
	void *tls = mq_thread_begin(t, s->q);
	if (t->tid == 0) {
		uint64_t i, sum = 0;
		for (i = 0; wb_running(t, i); i++) {
			uint64_t w = wb_sample_begin(i);
			uintptr_t v = (uintptr_t)(i + 1);
			push(s->q, tls, (void *)v);
			void *echo = pop(s->q2, tls);
			wb_sample_end(t, w);
			if ((uintptr_t)echo != v)
				wb_fail(t, "pingpong: sent %llu, got back %llu", (unsigned long long)v,
					(unsigned long long)(uintptr_t)echo);
			sum += v;
		}
		push(s->q, tls, MQ_SENTINEL);
		mq_add(&s->pushed, i);
		mq_add(&s->push_sum, sum);
		mq_add(&s->popped, i);
		mq_add(&s->pop_sum, sum);
		wb_done(t, i);
	} else {
		for (;;) {
			void *v = pop(s->q, tls);
			if (v == MQ_SENTINEL)
				break;
			push(s->q2, tls, v);
		}
		wb_done(t, 0);
	}
	mq_thread_end(t, s->q, tls);
}

/* Register the rows of one implementation.  The parameters must outlive
 * the program (wb_def.arg is not copied), so they are allocated here. */
static inline void mq_register_impl(const struct mq_impl *impl)
{
	static const struct {
		const char *workload;
		int kind; /* 0 pair, 1 pc, 2 pingpong */
		uint64_t threads;
		unsigned needs;
		size_t capacity;
		int producers;
		double prod_ns, cons_ns, sleep_ns;
		unsigned flags;
		const char *lat;
	} rows[] = {
		{"pair", 0, WB_T1248, 0, 1024, 0, 0, 0, 0, WB_FAIRNESS | WB_LATENCY | WB_CPU | WB_LONGEST_WAIT, "pair"},
		{"1p1c", 1, WB_T2, MQ_PC, 1024, 1, 0, 0, 0, WB_CPU, NULL},
		{"2p2c", 1, WB_T4, MQ_PC, 1024, 2, 0, 0, 0, WB_CPU, NULL},
		{"c1", 1, WB_T(5), MQ_PC | MQ_BOUNDED, 10, 2, 0, 0, 0, WB_CPU, NULL},
		{"pingpong", 2, WB_T2, MQ_PINGPONG, 1024, 0, 0, 0, 0, WB_LATENCY | WB_CPU, "rtt"},
		{"slow_consumer", 1, WB_T2 | WB_T4, MQ_PC | MQ_BLOCKING | MQ_BOUNDED, 64, 0, 250, 500, 0, WB_CPU, NULL},
		{"sparse", 1, WB_T2, MQ_PC | MQ_BLOCKING | MQ_BOUNDED, 64, 1, 0, 0, 20000, WB_CPU, NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		wb_body_fn body = rows[i].kind == 0 ? impl->pair : rows[i].kind == 1 ? impl->pc : impl->pingpong;
		if (body == NULL || (impl->caps & rows[i].needs) != rows[i].needs)
			continue;
		struct mq_params *p = (struct mq_params *)calloc(1, sizeof *p);
		p->impl = impl;
		p->capacity = rows[i].capacity;
		p->producers = rows[i].producers;
		p->prod_work_ns = rows[i].prod_ns;
		p->cons_work_ns = rows[i].cons_ns;
		p->prod_sleep_ns = rows[i].sleep_ns;
		char name[128];
		snprintf(name, sizeof name, "mpmc/%s/%s", rows[i].workload, impl->name);
		wb_def def;
		memset(&def, 0, sizeof def);
		def.name = name;
		def.body = body;
		def.threads = rows[i].threads;
		def.flags = rows[i].flags;
		def.arg = p;
		def.setup = mq_setup;
		def.teardown = mq_teardown;
		def.lat_name = rows[i].lat;
		wb_register_def(&def);
	}
}

/* The wrappers of an implementation whose operations are NAME_push, NAME_pop
 * and NAME_try_pop: NAME_pair, NAME_pc, NAME_pingpong and NAME_drain. */
#define MQ_WRAPPERS(NAME)                                                                  \
	static void NAME##_pair(wb_thread *t) { mq_pair(t, NAME##_push, NAME##_pop); }        \
	static void NAME##_pc(wb_thread *t) { mq_pc(t, NAME##_push, NAME##_pop); }            \
	static void NAME##_pingpong(wb_thread *t) { mq_pingpong(t, NAME##_push, NAME##_pop); } \
	static uint64_t NAME##_drain(void *q, void *tls, uint64_t *sum)                        \
	{                                                                                  \
		return mq_drain_with(q, tls, sum, NAME##_try_pop);                         \
	}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_MPMCBENCH_H */
