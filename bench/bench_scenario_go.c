/* SPDX-License-Identifier: MIT */
/*
 * bench_scenario_go.c - the articles' Go service (issue 16, examples/go_service.c
 * and examples/fan_in.c) as scenario rows: cancellable waits and select
 * against what C offers without them.
 *
 * scenario/go_order/<impl> - the order handler.  Thread 0 is the clients'
 * network; every other thread is a client sending requests back to back.  A
 * request has a context: a deadline GO_CONTEXT_NS ahead and a cancellation;
 * it takes the "db" lock, then does GO_WORK_NS of "database" work under it
 * that also ends at the deadline or the cancel.  One request in GO_GONE_EVERY
 * is abandoned: its client goes away GO_GONE_NS after sending it, and thread
 * 0 cancels it then.  The articles' 2 s context and 50 ms of work are scaled
 * down 100x (20 ms, 500 us), as in scenario/c3_slow_io; 7 clients queue about
 * 3.5 ms of work (everything is served), 63 queue about 31 ms (past the 20 ms
 * context: requests time out).
 *
 *     weft_mutex_ctx      weft_mutex_lock_ctx() with the request's deadline and
 *                         weft_cancel_t; the work is weft_latch_wait_ctx() on a
 *                         latch that never opens (a cancellable sleep); thread
 *                         0 cancels with weft_cancel(), which wakes exactly
 *                         that waiter
 *     weft_cond_ctx       the lock is a busy flag under a weft_mutex_t, waited
 *                         for with weft_cond_wait_ctx() (the monitor a C
 *                         programmer writes, with weft's parts); work and
 *                         cancel as above
 *     weft_sem_ctx        the lock is the Go code's own: a channel of capacity 1,
 *                         here a weft_sem_t of one unit taken with
 *                         weft_sem_wait_ctx() and given back with
 *                         weft_sem_post(); the work and the cancel as above
 *     baseline_pthread    what C offers without tokens: a "busy" flag under a
 *                         pthread mutex, waiters on a condition variable with
 *                         pthread_cond_clockwait(CLOCK_MONOTONIC), a
 *                         per-request "cancelled" flag; cancelling sets it
 *                         under the mutex and broadcasts the condition
 *                         variables (the canceller cannot know which waiter
 *                         is whose); a waiter that gives up passes on a
 *                         wake-up it may have taken
 *
 * items_per_second: requests served per second (requests_per_second: sent);
 * served/timed_out/cancelled: the outcomes (every request has exactly one;
 * checked); cancel_p50/p99/max_ns: from the cancel (weft_cancel(), or the
 * baseline's flag and broadcasts) to the cancelled request's return.
 *
 * scenario/go_fan_in/<impl> - fan-in: thread 0 consumes, every other thread
 * produces into its own queue of GO_FAN_CAPACITY; stop is a `done` signal.
 *
 *     weft_select         one weft_mpmc_t per producer; the consumer
 *                         weft_mpmc_select()s a pop over all of them; producers
 *                         push with weft_mpmc_push_ctx(.., done); at the end of
 *                         the window the consumer weft_cancel()s done
 *     baseline_pthread    one ring per producer under one pthread mutex; the
 *                         consumer waits on a "readable" condition variable,
 *                         each producer on its own "writable" one; done is a
 *                         flag under the mutex, broadcast
 *
 * items_per_second: values consumed per second; cpu_ns_per_op: CPU time of all
 * threads per value consumed (a consumer that sleeps while every queue is
 * empty costs nothing there).  The teardown checks conservation (pushed ==
 * popped + left in the queues) and each producer's order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/weft.h>

#include "shim.h"

/* An older weft has no cancellation tokens (make bench-ab measures its library
 * with this bench): these rows exist only where weft/cancel.h defines
 * WEFT_CANCEL_MAX_CHAIN. */
#ifdef WEFT_CANCEL_MAX_CHAIN

#define GO_ALWAYS_INLINE inline __attribute__((always_inline))

#define GO_CONTEXT_NS 20000000ull /* the request's deadline: 2 s / 100 */
#define GO_WORK_NS 500000ull      /* work under the lock: 50 ms / 100 */
#define GO_GONE_NS 1000000ull     /* an abandoning client leaves after 1 ms */
#define GO_GONE_EVERY 4u          /* one request in 4 is abandoned */
#define GO_NET_TICK_NS 50000L     /* thread 0 looks for clients gone every 50 us */
#define GO_MAX_THREADS 64

enum { GO_SERVED, GO_TIMED_OUT, GO_CANCELLED };

static uint64_t go_clock_ns(void)
{
	return wb_clock_ns();
}

static struct timespec go_ts(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	return ts;
}

/* ---- the order handler ------------------------------------------------------ */

/* A client's current request, as the network (thread 0) sees it. */
struct go_slot {
	pthread_mutex_t lock;  /* guards the fields below against thread 0 */
	bool active;           /* a request is in flight */
	bool abandon;          /* its client goes away GO_GONE_NS after it started */
	uint64_t start_ns;     /* when it was sent */
	uint64_t cancel_ns;    /* when thread 0 cancelled it; 0: not cancelled */
	weft_cancel_t tok;     /* the weft rows: the request's token */
	bool cancelled;        /* baseline: the request's flag, under go_order.m */
} __attribute__((aligned(64)));

struct go_order {
	/* weft_cond_ctx */
	weft_mutex_t wm;    /* guards wbusy */
	weft_cond_t widle;  /* wbusy was cleared */
	bool wbusy;         /* under wm: the "db" is taken */
	/* weft_sem_ctx */
	weft_sem_t wsem;    /* one unit: the "db" */
	/* weft_mutex_ctx */
	weft_mutex_t db;
	weft_latch_t never; /* never opens: the work's cancellable sleep */
	/* baseline_pthread */
	pthread_mutex_t m;
	pthread_cond_t lock_free; /* the busy flag was cleared */
	pthread_cond_t work;      /* the holder's work wait: woken by a cancel */
	bool busy;                /* under m */
	/* both */
	int inside;               /* requests in the database (plain: under the lock) */
	uint64_t outcome[3];      /* summed after the loops */
	uint64_t requests;        /* summed after the loops */
	struct go_slot slot[GO_MAX_THREADS];
};

static void *go_order_setup(wb_thread *t)
{
	if (t->nthreads > GO_MAX_THREADS)
		wb_fail(t, "at most %d threads", GO_MAX_THREADS);
	struct go_order *s = (struct go_order *)calloc(1, sizeof *s);
	if (!s)
		wb_fail(t, "out of memory");
	(void)!weft_mutex_init(&s->wm, 0);
	(void)!weft_cond_init(&s->widle, 0);
	(void)!weft_sem_init(&s->wsem, 1, 0);
	(void)!weft_mutex_init(&s->db, 0);
	(void)!weft_latch_init(&s->never, 1);
	pthread_mutex_init(&s->m, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->lock_free, &ca);
	pthread_cond_init(&s->work, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < GO_MAX_THREADS; i++)
		pthread_mutex_init(&s->slot[i].lock, NULL);
	return s;
}

static void go_order_teardown(wb_thread *t)
{
	struct go_order *s = (struct go_order *)t->shared;
	uint64_t total = s->outcome[GO_SERVED] + s->outcome[GO_TIMED_OUT] + s->outcome[GO_CANCELLED];
	wb_counter(t, "served", (double)s->outcome[GO_SERVED], WB_SUM);
	wb_counter(t, "timed_out", (double)s->outcome[GO_TIMED_OUT], WB_SUM);
	wb_counter(t, "cancelled", (double)s->outcome[GO_CANCELLED], WB_SUM);
	wb_counter(t, "timeout_frac", total ? (double)s->outcome[GO_TIMED_OUT] / (double)total : 0.0, WB_SUM);
	wb_counter(t, "context_us", (double)GO_CONTEXT_NS / 1000.0, WB_SUM);
	wb_counter(t, "work_us", (double)GO_WORK_NS / 1000.0, WB_SUM);
	if (total != s->requests)
		wb_fail(t, "%llu outcomes for %llu requests", (unsigned long long)total, (unsigned long long)s->requests);
	weft_cond_destroy(&s->widle);
	weft_sem_destroy(&s->wsem);
	weft_mutex_destroy(&s->db);
	weft_mutex_destroy(&s->wm);
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->lock_free);
	pthread_cond_destroy(&s->work);
	for (int i = 0; i < GO_MAX_THREADS; i++)
		pthread_mutex_destroy(&s->slot[i].lock);
	free(s);
}

/* weft_cond_ctx: Database.CreateOrder(ctx, req) with the lock a busy flag
 * under a weft_mutex_t, waited for with weft_cond_wait_ctx(). */
static int go_weft_request(struct go_order *s, struct go_slot *slot, uint64_t start)
{
	struct timespec deadline = go_ts(start + GO_CONTEXT_NS);
	int rc = WEFT_OK;
	weft_mutex_lock(&s->wm);
	while (s->wbusy && rc == WEFT_OK)
		rc = weft_cond_wait_ctx(&s->widle, &s->wm, &deadline, &slot->tok);
	if (rc == WEFT_OK)
		s->wbusy = true;
	weft_mutex_unlock(&s->wm);
	if (rc != WEFT_OK)
		return rc == WEFT_ETIMEDOUT ? GO_TIMED_OUT : GO_CANCELLED;
	if (s->inside++ != 0)
		abort(); /* two requests in the database: the lock failed */
	uint64_t end = go_clock_ns() + GO_WORK_NS;
	bool deadline_first = start + GO_CONTEXT_NS < end;
	struct timespec until = deadline_first ? deadline : go_ts(end);
	rc = weft_latch_wait_ctx(&s->never, &until, &slot->tok);
	s->inside--;
	weft_mutex_lock(&s->wm);
	s->wbusy = false;
	weft_mutex_unlock(&s->wm);
	weft_cond_signal(&s->widle);
	if (rc == WEFT_ECANCELED)
		return GO_CANCELLED;
	return deadline_first ? GO_TIMED_OUT : GO_SERVED;
}

/* weft_mutex_ctx: Database.CreateOrder(ctx, req), the lock weft_mutex_lock_ctx(). */
static int go_wmutex_request(struct go_order *s, struct go_slot *slot, uint64_t start)
{
	struct timespec deadline = go_ts(start + GO_CONTEXT_NS);
	int rc = weft_mutex_lock_ctx(&s->db, &deadline, &slot->tok);
	if (rc != WEFT_OK)
		return rc == WEFT_ETIMEDOUT ? GO_TIMED_OUT : GO_CANCELLED;
	if (s->inside++ != 0)
		abort(); /* two requests in the database: the lock failed */
	uint64_t end = go_clock_ns() + GO_WORK_NS;
	bool deadline_first = start + GO_CONTEXT_NS < end;
	struct timespec until = deadline_first ? deadline : go_ts(end);
	rc = weft_latch_wait_ctx(&s->never, &until, &slot->tok);
	s->inside--;
	weft_mutex_unlock(&s->db);
	if (rc == WEFT_ECANCELED)
		return GO_CANCELLED;
	return deadline_first ? GO_TIMED_OUT : GO_SERVED;
}

/* weft_sem_ctx: the same request, the lock a semaphore of one unit. */
static int go_wsem_request(struct go_order *s, struct go_slot *slot, uint64_t start)
{
	struct timespec deadline = go_ts(start + GO_CONTEXT_NS);
	int rc = weft_sem_wait_ctx(&s->wsem, &deadline, &slot->tok);
	if (rc != WEFT_OK)
		return rc == WEFT_ETIMEDOUT ? GO_TIMED_OUT : GO_CANCELLED;
	if (s->inside++ != 0)
		abort(); /* two requests in the database: the lock failed */
	uint64_t end = go_clock_ns() + GO_WORK_NS;
	bool deadline_first = start + GO_CONTEXT_NS < end;
	struct timespec until = deadline_first ? deadline : go_ts(end);
	rc = weft_latch_wait_ctx(&s->never, &until, &slot->tok);
	s->inside--;
	(void)!weft_sem_post(&s->wsem);
	if (rc == WEFT_ECANCELED)
		return GO_CANCELLED;
	return deadline_first ? GO_TIMED_OUT : GO_SERVED;
}

static void go_weft_cancel(struct go_order *s, struct go_slot *slot)
{
	(void)s;
	weft_cancel(&slot->tok);
}

static void go_weft_prepare(struct go_order *s, struct go_slot *slot)
{
	(void)s;
	(void)!weft_cancel_init(&slot->tok, NULL, 0);
}

/* baseline_pthread: the same request with a busy flag, a mutex and condition variables. */
static int go_base_request(struct go_order *s, struct go_slot *slot, uint64_t start)
{
	struct timespec deadline = go_ts(start + GO_CONTEXT_NS);
	int rc = GO_SERVED;
	pthread_mutex_lock(&s->m);
	while (s->busy && !slot->cancelled) {
		if (pthread_cond_clockwait(&s->lock_free, &s->m, CLOCK_MONOTONIC, &deadline) != 0 && s->busy) {
			rc = GO_TIMED_OUT;
			break;
		}
	}
	if (rc == GO_SERVED && slot->cancelled)
		rc = GO_CANCELLED;
	if (rc != GO_SERVED) {
		/* we may have taken the wake-up of the unlock: pass it on */
		if (!s->busy)
			pthread_cond_signal(&s->lock_free);
		pthread_mutex_unlock(&s->m);
		return rc;
	}
	s->busy = true;
	if (s->inside++ != 0)
		abort();
	uint64_t end = go_clock_ns() + GO_WORK_NS;
	bool deadline_first = start + GO_CONTEXT_NS < end;
	struct timespec until = deadline_first ? deadline : go_ts(end);
	while (!slot->cancelled && pthread_cond_clockwait(&s->work, &s->m, CLOCK_MONOTONIC, &until) == 0)
		;
	rc = slot->cancelled ? GO_CANCELLED : deadline_first ? GO_TIMED_OUT : GO_SERVED;
	s->inside--;
	s->busy = false;
	pthread_mutex_unlock(&s->m);
	pthread_cond_signal(&s->lock_free);
	return rc;
}

static void go_base_cancel(struct go_order *s, struct go_slot *slot)
{
	pthread_mutex_lock(&s->m);
	slot->cancelled = true;
	pthread_mutex_unlock(&s->m);
	/* the request may wait for the lock or in its work: wake both kinds */
	pthread_cond_broadcast(&s->lock_free);
	pthread_cond_broadcast(&s->work);
}

static void go_base_prepare(struct go_order *s, struct go_slot *slot)
{
	pthread_mutex_lock(&s->m);
	slot->cancelled = false;
	pthread_mutex_unlock(&s->m);
}

typedef int (*go_request_fn)(struct go_order *, struct go_slot *, uint64_t);
typedef void (*go_slot_fn)(struct go_order *, struct go_slot *);

static GO_ALWAYS_INLINE void go_order_body(wb_thread *t, go_request_fn request, go_slot_fn prepare,
					    go_slot_fn cancel)
{
	struct go_order *s = (struct go_order *)t->shared;
	if (t->tid == 0) { /* the network: cancels the requests of clients that went away */
		const struct timespec tick = {0, GO_NET_TICK_NS};
		uint64_t i;
		for (i = 0; wb_running(t, i); i++) {
			uint64_t now = go_clock_ns();
			for (int c = 1; c < t->nthreads; c++) {
				struct go_slot *slot = &s->slot[c];
				pthread_mutex_lock(&slot->lock);
				if (slot->active && slot->abandon && slot->cancel_ns == 0 && now - slot->start_ns >= GO_GONE_NS) {
					slot->cancel_ns = go_clock_ns();
					cancel(s, slot);
				}
				pthread_mutex_unlock(&slot->lock);
			}
			nanosleep(&tick, NULL);
		}
		wb_done(t, 0);
		return;
	}
	struct go_slot *slot = &s->slot[t->tid];
	uint64_t n[3] = {0, 0, 0}, i;
	for (i = 0; wb_running(t, i); i++) {
		uint64_t start = go_clock_ns();
		pthread_mutex_lock(&slot->lock);
		prepare(s, slot);
		slot->active = true;
		slot->abandon = (i + (uint64_t)t->tid) % GO_GONE_EVERY == 0;
		slot->start_ns = start;
		slot->cancel_ns = 0;
		pthread_mutex_unlock(&slot->lock);
		int outcome = request(s, slot, start);
		uint64_t back = go_clock_ns();
		pthread_mutex_lock(&slot->lock);
		slot->active = false;
		uint64_t cancelled_at = slot->cancel_ns;
		pthread_mutex_unlock(&slot->lock);
		if (outcome == GO_CANCELLED) {
			if (cancelled_at == 0)
				wb_fail(t, "a request returned cancelled with no cancel");
			wb_record_ns(t, (double)(back - cancelled_at));
		}
		n[outcome]++;
	}
	/* relaxed: read by thread 0 in teardown, after the runner's barrier */
	for (int k = 0; k < 3; k++)
		__atomic_fetch_add(&s->outcome[k], n[k], __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->requests, i, __ATOMIC_RELAXED);
	wb_counter(t, "requests_per_second", (double)i, WB_RATE);
	wb_done(t, n[GO_SERVED]);
}

static void go_order_weft(wb_thread *t)
{
	go_order_body(t, go_weft_request, go_weft_prepare, go_weft_cancel);
}

static void go_order_wmutex(wb_thread *t)
{
	go_order_body(t, go_wmutex_request, go_weft_prepare, go_weft_cancel);
}

static void go_order_wsem(wb_thread *t)
{
	go_order_body(t, go_wsem_request, go_weft_prepare, go_weft_cancel);
}

static void go_order_base(wb_thread *t)
{
	go_order_body(t, go_base_request, go_base_prepare, go_base_cancel);
}


/* ---- fan-in ------------------------------------------------------------------ */

#define GO_FAN_CAPACITY 64u
#define GO_FAN_MAX_PRODUCERS 16

struct go_ring {
	uintptr_t slot[GO_FAN_CAPACITY];
	unsigned head, len;
};

struct go_fan {
	/* weft_select */
	weft_mpmc_t *q[GO_FAN_MAX_PRODUCERS];
	weft_cancel_t done;
	/* baseline_pthread */
	pthread_mutex_t m;
	pthread_cond_t readable;
	pthread_cond_t writable[GO_FAN_MAX_PRODUCERS];
	struct go_ring ring[GO_FAN_MAX_PRODUCERS]; /* under m */
	bool base_done;                             /* under m */
	/* both */
	uint64_t pushed[GO_FAN_MAX_PRODUCERS];      /* each producer's count, read in teardown */
	uint64_t popped[GO_FAN_MAX_PRODUCERS];      /* the consumer's */
	uint64_t next[GO_FAN_MAX_PRODUCERS];        /* the consumer's: next sequence number expected */
	uint64_t out_of_order;
};

static uintptr_t go_fan_value(unsigned producer, uint64_t seq)
{
	return ((uintptr_t)seq << 4 | producer) + 1;
}

static GO_ALWAYS_INLINE void go_fan_receive(struct go_fan *s, uintptr_t v)
{
	unsigned p = (unsigned)((v - 1) & 15u);
	uint64_t seq = (uint64_t)((v - 1) >> 4);
	s->out_of_order += seq != s->next[p];
	s->next[p] = seq + 1;
	s->popped[p]++;
}

static void *go_fan_setup(wb_thread *t)
{
	if (t->nthreads < 2 || t->nthreads - 1 > GO_FAN_MAX_PRODUCERS)
		wb_fail(t, "2 to %d threads", GO_FAN_MAX_PRODUCERS + 1);
	struct go_fan *s = (struct go_fan *)calloc(1, sizeof *s);
	if (!s)
		wb_fail(t, "out of memory");
	for (int p = 0; p < t->nthreads - 1; p++)
		if ((s->q[p] = weft_mpmc_create(GO_FAN_CAPACITY, 0)) == NULL)
			wb_fail(t, "weft_mpmc_create failed");
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->readable, NULL);
	for (int p = 0; p < GO_FAN_MAX_PRODUCERS; p++)
		pthread_cond_init(&s->writable[p], NULL);
	return s;
}

static void go_fan_teardown(wb_thread *t)
{
	struct go_fan *s = (struct go_fan *)t->shared;
	for (int p = 0; p < t->nthreads - 1; p++) {
		uint64_t left = s->ring[p].len;
		void *v;
		while (weft_mpmc_try_pop(s->q[p], &v))
			left++;
		if (s->pushed[p] != s->popped[p] + left)
			wb_fail(t, "producer %d: %llu pushed, %llu popped, %llu left", p, (unsigned long long)s->pushed[p],
				(unsigned long long)s->popped[p], (unsigned long long)left);
		weft_mpmc_destroy(s->q[p]);
	}
	if (s->out_of_order)
		wb_fail(t, "%llu values out of their producer's order", (unsigned long long)s->out_of_order);
	weft_cancel_destroy(&s->done);
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->readable);
	for (int p = 0; p < GO_FAN_MAX_PRODUCERS; p++)
		pthread_cond_destroy(&s->writable[p]);
	free(s);
}

static void go_fan_weft(wb_thread *t)
{
	struct go_fan *s = (struct go_fan *)t->shared;
	if (t->tid != 0) { /* a producer: select { case q <- v: case <-done: } */
		unsigned p = (unsigned)t->tid - 1;
		uint64_t seq = 0;
		while (!wb_stopped(t) &&
		       weft_mpmc_push_ctx(s->q[p], (void *)go_fan_value(p, seq), NULL, &s->done) == WEFT_OK)
			seq++;
		s->pushed[p] = seq;
		wb_done(t, 0);
		return;
	}
	unsigned n = (unsigned)t->nthreads - 1;
	weft_mpmc_case_t cases[GO_FAN_MAX_PRODUCERS];
	for (unsigned p = 0; p < n; p++)
		cases[p] = (weft_mpmc_case_t){s->q[p], WEFT_MPMC_OP_POP, NULL};
	uint64_t got = 0;
	while (wb_running(t, got)) {
		unsigned c;
		/* a deadline only as a guard: producers fill the queues until the end */
		struct timespec guard = weft_deadline_after_ns(100000000u);
		int rc = weft_mpmc_select(cases, n, &guard, NULL, &c);
		if (rc == WEFT_OK) {
			go_fan_receive(s, (uintptr_t)cases[c].item); /* a pop case receives its value in .item */
			got++;
		} else if (rc != WEFT_ETIMEDOUT) {
			wb_fail(t, "weft_mpmc_select returned %d", rc);
		}
	}
	weft_cancel(&s->done); /* close(done): producers stop, wherever they sleep */
	wb_done(t, got);
}

static void go_fan_base(wb_thread *t)
{
	struct go_fan *s = (struct go_fan *)t->shared;
	if (t->tid != 0) {
		unsigned p = (unsigned)t->tid - 1;
		struct go_ring *r = &s->ring[p];
		uint64_t seq = 0;
		for (;;) {
			pthread_mutex_lock(&s->m);
			while (r->len == GO_FAN_CAPACITY && !s->base_done)
				pthread_cond_wait(&s->writable[p], &s->m);
			if (s->base_done) {
				pthread_mutex_unlock(&s->m);
				break;
			}
			r->slot[(r->head + r->len++) % GO_FAN_CAPACITY] = go_fan_value(p, seq++);
			pthread_mutex_unlock(&s->m);
			pthread_cond_signal(&s->readable);
		}
		s->pushed[p] = seq;
		wb_done(t, 0);
		return;
	}
	unsigned n = (unsigned)t->nthreads - 1, start = 0;
	uint64_t got = 0;
	pthread_mutex_lock(&s->m);
	while (wb_running(t, got)) {
		int found = -1;
		for (unsigned k = 0; k < n && found < 0; k++)
			if (s->ring[(start + k) % n].len > 0)
				found = (int)((start + k) % n);
		if (found < 0) {
			pthread_cond_wait(&s->readable, &s->m);
			continue;
		}
		struct go_ring *r = &s->ring[found];
		uintptr_t v = r->slot[r->head];
		r->head = (r->head + 1) % GO_FAN_CAPACITY;
		r->len--;
		start = (unsigned)found + 1; /* round robin: fair as select's random start */
		pthread_cond_signal(&s->writable[found]);
		go_fan_receive(s, v);
		got++;
	}
	s->base_done = true;
	pthread_mutex_unlock(&s->m);
	for (unsigned p = 0; p < n; p++)
		pthread_cond_broadcast(&s->writable[p]);
	wb_done(t, got);
}

__attribute__((constructor)) static void register_go(void)
{
	static const struct {
		const char *name;
		wb_body_fn body;
		uint64_t threads;
		wb_setup_fn setup;
		wb_teardown_fn teardown;
		unsigned flags;
		const char *lat_name;
	} rows[] = {
		{"scenario/go_order/weft_cond_ctx", go_order_weft, WB_T8 | WB_T64, go_order_setup, go_order_teardown,
		 WB_FAIRNESS | WB_LATENCY | WB_CPU, "cancel"},
		{"scenario/go_order/weft_mutex_ctx", go_order_wmutex, WB_T8 | WB_T64, go_order_setup, go_order_teardown,
		 WB_FAIRNESS | WB_LATENCY | WB_CPU, "cancel"},
		{"scenario/go_order/weft_sem_ctx", go_order_wsem, WB_T8 | WB_T64, go_order_setup, go_order_teardown,
		 WB_FAIRNESS | WB_LATENCY | WB_CPU, "cancel"},
		{"scenario/go_order/baseline_pthread", go_order_base, WB_T8 | WB_T64, go_order_setup, go_order_teardown,
		 WB_FAIRNESS | WB_LATENCY | WB_CPU, "cancel"},
		{"scenario/go_fan_in/weft_select", go_fan_weft, WB_T(5) | WB_T(9), go_fan_setup, go_fan_teardown, WB_CPU,
		 NULL},
		{"scenario/go_fan_in/baseline_pthread", go_fan_base, WB_T(5) | WB_T(9), go_fan_setup, go_fan_teardown,
		 WB_CPU, NULL},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		wb_def def;
		memset(&def, 0, sizeof def);
		def.name = rows[i].name;
		def.body = rows[i].body;
		def.threads = rows[i].threads;
		def.flags = rows[i].flags;
		def.setup = rows[i].setup;
		def.teardown = rows[i].teardown;
		def.lat_name = rows[i].lat_name;
		wb_register_def(&def);
	}
}

#endif /* WEFT_CANCEL_MAX_CHAIN */
