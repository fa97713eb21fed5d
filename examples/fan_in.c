/* SPDX-License-Identifier: MIT */
/*
 * fan_in.c - the articles' fan-in: several producers, each with its own
 * queue, one consumer that takes from whichever has a value, and a `done`
 * signal to stop everyone; written with weft_mpmc_select() and a
 * cancellation token, and next to it the same with one mutex and condition
 * variables (the baseline a C programmer writes without weft).
 *
 * In Go (the articles' "fan-out/fan-in, with done <- struct{}{} to stop"):
 *
 *     for {                                   // the consumer
 *         select {
 *         case v, ok := <-q[0]: ...           // one case per producer
 *         case v, ok := <-q[1]: ...
 *         case <-done: return
 *         }
 *     }
 *     select { case q[i] <- v: case <-done: return }   // a producer
 *
 * With weft, each q[i] is a weft_mpmc_t, the consumer's select is
 * weft_mpmc_select() over one pop case per queue, and `done` is a
 * weft_cancel_t passed to the consumer's select and to every producer's
 * weft_mpmc_push_ctx(): weft_cancel(&done) stops them all at once, wherever
 * they sleep.  A producer that has sent everything closes its queue (close(ch)
 * in Go); the consumer drops a closed, drained case from its select.
 *
 * Two runs of each version:
 *   drain  producers send PER_PRODUCER values each and close; the consumer
 *          takes them all.  Checked: every value arrives exactly once, and
 *          each producer's values in the order sent.
 *   done   the same, but a supervisor thread cancels `done` once the
 *          consumer has taken STOP_AFTER values: everyone stops, wherever
 *          they sleep.  The consumer looks at `done` before each select
 *          (weft_cancel_requested(): in Go, `done` may win over ready
 *          channels; weft_mpmc_select() performs a ready case even with a
 *          cancelled token, so "stop now" is this look).  Checked: nothing is
 *          lost or duplicated: values sent == values received + values left
 *          in the queues (drained afterwards), and a producer stopped by
 *          `done` did not send the value it was stopped on.
 * Each prints its throughput; the two versions are not raced against each
 * other here (bench/bench_scenario_go.c measures that, interleaved).
 *
 * Build: cc -std=c11 fan_in.c -lweft -pthread
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <weft/weft.h>

#define PRODUCERS 4
#define PER_PRODUCER 50000
#define CAPACITY 64 /* each producer's queue (a power of two) */
#define STOP_AFTER (PRODUCERS * PER_PRODUCER / 3)

/* A value: its producer and its sequence number, never 0. */
static uintptr_t encode(unsigned producer, unsigned long seq)
{
	return ((uintptr_t)seq << 4 | producer) + 1;
}

struct tally {
	unsigned long sent[PRODUCERS];     /* values sent by each producer */
	unsigned long received[PRODUCERS]; /* values received from each producer */
	unsigned long left[PRODUCERS];     /* values still queued at the end */
	unsigned long out_of_order;        /* a producer's value before an earlier one */
	unsigned long next[PRODUCERS];     /* the next sequence number expected */
};

static weft_counter_t failures = WEFT_COUNTER_INIT;

static void expect(bool cond, const char *what, const char *version, const char *run)
{
	if (!cond) {
		printf("  %s/%s: invariant failed: %s\n", version, run, what);
		weft_counter_inc(&failures);
	}
}

/* The consumer's side of both versions: account one value. */
static void receive(struct tally *t, uintptr_t v)
{
	unsigned p = (unsigned)((v - 1) & 15u);
	unsigned long seq = (unsigned long)((v - 1) >> 4);
	if (p >= PRODUCERS || seq != t->next[p])
		t->out_of_order++;
	else
		t->next[p] = seq + 1;
	if (p < PRODUCERS)
		t->received[p]++;
}

static void check(struct tally *t, bool stopped, const char *version, const char *run)
{
	unsigned long sent = 0, got = 0, left = 0;
	for (int p = 0; p < PRODUCERS; p++) {
		sent += t->sent[p];
		got += t->received[p];
		left += t->left[p];
		expect(t->sent[p] == t->received[p] + t->left[p], "a producer's values conserved", version, run);
		expect(stopped || t->sent[p] == PER_PRODUCER, "every value sent", version, run);
	}
	expect(t->out_of_order == 0, "each producer's values in order, none twice", version, run);
	expect(stopped || left == 0, "nothing left over", version, run);
	expect(!stopped || got >= STOP_AFTER, "the consumer stopped only after STOP_AFTER", version, run);
	(void)sent;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- weft: one queue per producer, weft_mpmc_select(), a done token ---------- */

static weft_mpmc_t *queue[PRODUCERS];
static weft_cancel_t done;
static struct tally wt;
static weft_latch_t enough; /* counted down by the consumer at STOP_AFTER values */

/* The supervisor of the "done" runs: waits until the consumer has had
 * enough, then stops everyone (close(done) in Go). */
static void *weft_supervisor(void *arg)
{
	(void)arg;
	weft_latch_wait(&enough);
	weft_cancel(&done);
	return NULL;
}

static void *weft_producer(void *arg)
{
	unsigned p = (unsigned)(uintptr_t)arg;
	for (unsigned long seq = 0; seq < PER_PRODUCER; seq++) {
		/* select { case q[p] <- v: case <-done: return } */
		int rc = weft_mpmc_push_ctx(queue[p], (void *)encode(p, seq), NULL, &done);
		if (rc == WEFT_ECANCELED)
			return NULL; /* not sent: the tally does not count it */
		if (rc != WEFT_OK) {
			printf("  weft producer %u: push returned %s\n", p, weft_strerror(rc));
			weft_counter_inc(&failures);
			return NULL;
		}
		wt.sent[p]++; /* only this producer writes it; read after the join */
	}
	weft_mpmc_close(queue[p]); /* close(ch): no more values from p */
	return NULL;
}

static void weft_consumer(bool stop_early)
{
	weft_mpmc_case_t cases[PRODUCERS];
	unsigned open = PRODUCERS;
	for (unsigned p = 0; p < PRODUCERS; p++)
		cases[p] = (weft_mpmc_case_t){queue[p], WEFT_MPMC_OP_POP, NULL};
	unsigned long got = 0;
	while (open > 0 && !weft_cancel_requested(&done)) {
		unsigned i;
		int rc = weft_mpmc_select(cases, open, NULL, &done, &i);
		if (rc == WEFT_OK) {
			receive(&wt, (uintptr_t)cases[i].item); /* a pop case receives its value in .item */
			if (stop_early && ++got == STOP_AFTER)
				(void)!weft_latch_count_down(&enough, 1); /* tell the supervisor */
		} else if (rc == WEFT_ECLOSED) {
			cases[i] = cases[--open]; /* closed and drained: drop the case */
		} else if (rc == WEFT_ECANCELED) {
			return; /* case <-done: return */
		} else {
			printf("  weft consumer: select returned %s\n", weft_strerror(rc));
			weft_counter_inc(&failures);
			return;
		}
	}
}

static void run_weft(bool stop_early)
{
	wt = (struct tally){{0}, {0}, {0}, 0, {0}};
	if (weft_cancel_init(&done, NULL, 0) != WEFT_OK || weft_latch_init(&enough, 1) != WEFT_OK)
		weft_counter_inc(&failures);
	for (unsigned p = 0; p < PRODUCERS; p++)
		if ((queue[p] = weft_mpmc_create(CAPACITY, 0)) == NULL)
			exit(1);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t t[PRODUCERS], supervisor;
	for (unsigned p = 0; p < PRODUCERS; p++)
		if (pthread_create(&t[p], NULL, weft_producer, (void *)(uintptr_t)p) != 0)
			exit(1);
	if (stop_early && pthread_create(&supervisor, NULL, weft_supervisor, NULL) != 0)
		exit(1);
	weft_consumer(stop_early);
	for (unsigned p = 0; p < PRODUCERS; p++)
		pthread_join(t[p], NULL);
	if (stop_early)
		pthread_join(supervisor, NULL);
	double s = seconds_since(&t0);
	unsigned long got = 0;
	for (unsigned p = 0; p < PRODUCERS; p++) {
		void *v;
		while (weft_mpmc_try_pop(queue[p], &v))
			wt.left[p]++;
		weft_mpmc_destroy(queue[p]);
		got += wt.received[p];
	}
	weft_cancel_destroy(&done);
	check(&wt, stop_early, "weft", stop_early ? "done" : "drain");
	printf("weft_mpmc_select, %-5s: %lu values in %.3f s (%.0f per second)\n", stop_early ? "done" : "drain",
	       got, s, (double)got / s);
}

/* ---- baseline: the same queues under one pthread mutex and condition variables */

struct ring {
	uintptr_t slot[CAPACITY];
	unsigned head, len;
	bool closed;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t readable = PTHREAD_COND_INITIALIZER; /* some ring has a value, or closed, or done */
static pthread_cond_t writable[PRODUCERS];                  /* rings[p] has room, or done */
static struct ring rings[PRODUCERS];                        /* under lock */
static bool base_done;                                      /* under lock */
static bool base_enough;                                    /* under lock: STOP_AFTER values taken */
static pthread_cond_t enough_cond = PTHREAD_COND_INITIALIZER; /* base_enough became true */
static struct tally bt;

static void *base_supervisor(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!base_enough)
		pthread_cond_wait(&enough_cond, &lock);
	base_done = true; /* close(done): wake everyone who may wait */
	pthread_mutex_unlock(&lock);
	pthread_cond_broadcast(&readable);
	for (unsigned p = 0; p < PRODUCERS; p++)
		pthread_cond_broadcast(&writable[p]);
	return NULL;
}

static void *base_producer(void *arg)
{
	unsigned p = (unsigned)(uintptr_t)arg;
	struct ring *r = &rings[p];
	for (unsigned long seq = 0; seq < PER_PRODUCER; seq++) {
		pthread_mutex_lock(&lock);
		while (r->len == CAPACITY && !base_done)
			pthread_cond_wait(&writable[p], &lock);
		if (base_done) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		r->slot[(r->head + r->len++) % CAPACITY] = encode(p, seq);
		pthread_mutex_unlock(&lock);
		pthread_cond_signal(&readable);
		bt.sent[p]++;
	}
	pthread_mutex_lock(&lock);
	r->closed = true;
	pthread_mutex_unlock(&lock);
	pthread_cond_signal(&readable);
	return NULL;
}

static void base_consumer(bool stop_early)
{
	unsigned long got = 0;
	unsigned start = 0; /* round robin, as the select's random start is fair */
	pthread_mutex_lock(&lock);
	while (!base_done) {
		int found = -1, open = 0;
		for (unsigned k = 0; k < PRODUCERS && found < 0; k++) {
			unsigned p = (start + k) % PRODUCERS;
			open += !rings[p].closed || rings[p].len > 0;
			if (rings[p].len > 0)
				found = (int)p;
		}
		if (found >= 0) {
			struct ring *r = &rings[found];
			uintptr_t v = r->slot[r->head];
			r->head = (r->head + 1) % CAPACITY;
			r->len--;
			start = (unsigned)found + 1;
			pthread_cond_signal(&writable[found]);
			receive(&bt, v);
			if (stop_early && ++got == STOP_AFTER) {
				base_enough = true; /* tell the supervisor */
				pthread_cond_signal(&enough_cond);
			}
		} else if (open == 0) {
			break;
		} else {
			pthread_cond_wait(&readable, &lock);
		}
	}
	pthread_mutex_unlock(&lock);
}

static void run_baseline(bool stop_early)
{
	bt = (struct tally){{0}, {0}, {0}, 0, {0}};
	for (unsigned p = 0; p < PRODUCERS; p++) {
		rings[p] = (struct ring){{0}, 0, 0, false};
		pthread_cond_init(&writable[p], NULL);
	}
	base_done = false;
	base_enough = false;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t t[PRODUCERS], supervisor;
	for (unsigned p = 0; p < PRODUCERS; p++)
		if (pthread_create(&t[p], NULL, base_producer, (void *)(uintptr_t)p) != 0)
			exit(1);
	if (stop_early && pthread_create(&supervisor, NULL, base_supervisor, NULL) != 0)
		exit(1);
	base_consumer(stop_early);
	for (unsigned p = 0; p < PRODUCERS; p++)
		pthread_join(t[p], NULL);
	if (stop_early)
		pthread_join(supervisor, NULL);
	double s = seconds_since(&t0);
	unsigned long got = 0;
	for (unsigned p = 0; p < PRODUCERS; p++) {
		pthread_cond_destroy(&writable[p]);
		bt.left[p] = rings[p].len;
		got += bt.received[p];
	}
	check(&bt, stop_early, "baseline", stop_early ? "done" : "drain");
	printf("mutex+condvar,    %-5s: %lu values in %.3f s (%.0f per second)\n", stop_early ? "done" : "drain",
	       got, s, (double)got / s);
}

int main(void)
{
	run_weft(false);
	run_baseline(false);
	run_weft(true);
	run_baseline(true);
	printf("fan_in: %d producers x %d values into one consumer, select and baseline; invariants %s\n", PRODUCERS,
	       PER_PRODUCER, weft_counter_load(&failures) == 0 ? "hold" : "FAILED");
	return weft_counter_load(&failures) == 0 ? 0 : 1;
}
