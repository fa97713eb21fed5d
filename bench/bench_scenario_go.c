/* SPDX-License-Identifier: MIT */
/*
 * bench_scenario_go.c - the articles' Go service (issue 16, examples/fan_in.c)
 * as scenario rows: select and cancellable waits against what C offers
 * without them.
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

#define GO_ALWAYS_INLINE inline __attribute__((always_inline))

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
