/* SPDX-License-Identifier: MIT */
/*
 * stress_cond.c - weft_cond_t with weft_mutex_t under ThreadSanitizer.
 *
 * Four phases, --seconds/4 each; the first two with the default spin, the
 * last two with weft_cond_set_spin(0) so that every wait sleeps in the kernel:
 *
 *  queue      producers and consumers over a 4-slot ring guarded by one mutex
 *             and two condition variables (not_full, not_empty).  Each item
 *             carries its producer and sequence number: a consumer must see
 *             every producer's items in increasing order; at the end the
 *             produced and consumed counts and sums must match.  Producers
 *             signal after each push, consumers after each pop; some signal
 *             while holding the mutex, some after releasing it; some waits
 *             are timed.
 *  broadcast  one thread opens "generations" and broadcasts (sometimes
 *             holding the mutex, so that the requeued waiters wake one by one
 *             on its unlocks, sometimes not); all the others wait for each
 *             generation, some with weft_cond_wait(), some with short random
 *             deadlines (a requeued waiter may time out while asleep on the
 *             mutex word), some with weft_cond_wait_ctx() and a token of the
 *             generation that the broadcaster cancels at random, before or
 *             after its broadcast (a cancel racing with the broadcast and its
 *             requeue: the waiter must come back with the mutex held and, if
 *             the broadcast came first, report WEFT_OK), and acknowledge it;
 *             the broadcaster waits for every acknowledgement before the
 *             next generation.
 *
 * Lost wake-ups: a timed wait that returns WEFT_ETIMEDOUT while its predicate
 * has been true since before the wait's deadline began would be one; the
 * waits that should be notified use a 20 s deadline, and a timeout with the
 * predicate true fails the test ("lost wake-up").  Untimed waits that never
 * return are caught by the harness's watchdog.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/cancel.h"
#include "weft/cond.h"
#include "weft/deadline.h"
#include "weft/mutex.h"
#include "weft/status.h"

#define LOST_WAKEUP_NS (20ull * 1000 * 1000 * 1000)
#define RING 4
#define MAX_THREADS 256

static struct stress_opts opts;

/* ---- queue phase ------------------------------------------------------------- */

struct item {
	uint32_t producer;
	uint64_t seq;
};

static weft_mutex_t qlock = WEFT_MUTEX_INIT;
static weft_cond_t not_full = WEFT_COND_INIT, not_empty = WEFT_COND_INIT;
/* guarded by qlock */
static struct item ring[RING];
static unsigned head, len;
static int producers_left;

struct worker {
	unsigned id;
	int producer;
	uint64_t rng;
	unsigned long long ops, sum, timed_waits, timeouts;
	uint64_t last_seq[MAX_THREADS]; /* consumer: last sequence seen per producer (+1) */
} __attribute__((aligned(64)));

/* Wait on @c with the queue lock held.  A timed wait that times out while
 * @pred holds means the notification was lost. */
static void qwait(struct worker *w, weft_cond_t *c, int (*pred)(void))
{
	if (stress_rand(&w->rng) & 1) {
		weft_cond_wait(c, &qlock);
		return;
	}
	w->timed_waits++;
	struct timespec d = weft_deadline_after_ns(LOST_WAKEUP_NS);
	int rc = weft_cond_timedwait(c, &qlock, &d);
	if (rc == WEFT_ETIMEDOUT) {
		w->timeouts++;
		if (stress_violated(pred()))
			stress_fail(&opts, "queue: lost wake-up: a waiter timed out after %.0f s with its predicate true",
				    LOST_WAKEUP_NS / 1e9);
	} else if (stress_violated(rc != WEFT_OK)) {
		stress_fail(&opts, "queue: timedwait returned %d", rc);
	}
}

static int can_push(void)
{
	return len < RING;
}

static int can_pop(void)
{
	return len > 0 || producers_left == 0;
}

static void *queue_worker(void *arg)
{
	struct worker *w = arg;
	if (w->producer) {
		uint64_t seq = 0;
		while (!(stress_phase_over() || stress_should_stop(&opts))) {
			weft_mutex_lock(&qlock);
			while (!can_push())
				qwait(w, &not_full, can_push);
			ring[(head + len) % RING] = (struct item){w->id, seq};
			len++;
			w->sum += seq;
			seq++;
			int inside = stress_rand(&w->rng) & 1;
			if (inside)
				weft_cond_signal(&not_empty);
			weft_mutex_unlock(&qlock);
			if (!inside)
				weft_cond_signal(&not_empty);
			w->ops++;
		}
		weft_mutex_lock(&qlock);
		if (--producers_left == 0)
			weft_cond_broadcast(&not_empty); /* consumers drain and leave */
		weft_mutex_unlock(&qlock);
		return NULL;
	}
	for (;;) {
		weft_mutex_lock(&qlock);
		while (!can_pop())
			qwait(w, &not_empty, can_pop);
		if (len == 0) { /* no producer left and nothing queued */
			weft_mutex_unlock(&qlock);
			return NULL;
		}
		struct item it = ring[head];
		head = (head + 1) % RING;
		len--;
		int inside = stress_rand(&w->rng) & 1;
		if (inside)
			weft_cond_signal(&not_full);
		weft_mutex_unlock(&qlock);
		if (!inside)
			weft_cond_signal(&not_full);
		if (stress_violated(it.seq + 1 <= w->last_seq[it.producer]))
			stress_fail(&opts, "queue: producer %u's item %llu came after %llu", it.producer,
				    (unsigned long long)it.seq, (unsigned long long)w->last_seq[it.producer] - 1);
		w->last_seq[it.producer] = it.seq + 1;
		w->sum += it.seq;
		w->ops++;
	}
}

struct qresult {
	unsigned long long items, timed_waits, timeouts;
};

static struct qresult run_queue_phase(unsigned nthreads, double seconds)
{
	unsigned producers = nthreads / 2 ? nthreads / 2 : 1;
	unsigned consumers = nthreads > producers ? nthreads - producers : 1;
	unsigned n = producers + consumers;
	struct worker *w = calloc(n, sizeof(*w));
	for (unsigned i = 0; i < n; i++) {
		w[i].id = i;
		w[i].producer = i < producers;
		w[i].rng = opts.seed * 2654435761u + i + 1;
	}
	head = len = 0;
	producers_left = (int)producers;
	stress_phase_begin(seconds);
	stress_run_threads(n, queue_worker, w, sizeof(*w));
	unsigned long long produced = 0, consumed = 0, psum = 0, csum = 0;
	struct qresult r = {0, 0, 0};
	for (unsigned i = 0; i < n; i++) {
		if (w[i].producer) {
			produced += w[i].ops;
			psum += w[i].sum;
		} else {
			consumed += w[i].ops;
			csum += w[i].sum;
		}
		r.timed_waits += w[i].timed_waits;
		r.timeouts += w[i].timeouts;
	}
	free(w);
	if (stress_violated(produced != consumed || psum != csum || len != 0))
		stress_fail(&opts, "queue: produced %llu (sum %llu), consumed %llu (sum %llu), %u left", produced, psum,
			    consumed, csum, len);
	r.items = consumed;
	return r;
}

/* ---- broadcast phase ---------------------------------------------------------- */

static weft_mutex_t block = WEFT_MUTEX_INIT;
static weft_cond_t gen_cond = WEFT_COND_INIT, ack_cond = WEFT_COND_INIT;
/* guarded by block */
static unsigned long long generation;
static unsigned acks;
static int finished;
/* The token of the waiters waiting for the generation after g is gen_tok[g & 1];
 * the broadcaster re-initializes the next one while every waiter is between
 * two generations, and cancels the current one at random. */
static weft_cancel_t gen_tok[2];

struct bworker {
	uint64_t rng;
	int broadcaster;
	unsigned nwaiters;
	unsigned long long gens, short_timeouts, cancelled;
} __attribute__((aligned(64)));

static void *broadcast_worker(void *arg)
{
	struct bworker *b = arg;
	if (b->broadcaster) {
		while (!(stress_phase_over() || stress_should_stop(&opts))) {
			/* plain read: only this thread writes `generation` */
			weft_cancel_t *tok = &gen_tok[generation & 1];
			uint64_t r = stress_rand(&b->rng);
			if (r % 4 == 0)
				weft_cancel(tok); /* before the change: waiters come back cancelled */
			weft_mutex_lock(&block);
			/* every waiter acknowledged `generation`: none uses the token
			 * of the next one yet */
			(void)!weft_cancel_init(&gen_tok[(generation + 1) & 1], NULL, 0);
			generation++;
			acks = 0;
			int inside = r & 4;
			if (inside)
				weft_cond_broadcast(&gen_cond);
			weft_mutex_unlock(&block);
			if (!inside)
				weft_cond_broadcast(&gen_cond);
			if (r % 4 == 1)
				weft_cancel(tok); /* racing with the woken and the requeued */
			weft_mutex_lock(&block);
			while (acks < b->nwaiters) {
				struct timespec d = weft_deadline_after_ns(LOST_WAKEUP_NS);
				if (stress_violated(weft_cond_timedwait(&ack_cond, &block, &d) == WEFT_ETIMEDOUT && acks == b->nwaiters))
					stress_fail(&opts, "broadcast: lost wake-up of the broadcaster");
				if (stress_violated(weft_deadline_passed(&d) && acks < b->nwaiters))
					stress_fail(&opts, "broadcast: %u of %u waiters did not see generation %llu "
							   "within %.0f s (lost wake-up)",
						    b->nwaiters - acks, b->nwaiters, generation, LOST_WAKEUP_NS / 1e9);
			}
			weft_mutex_unlock(&block);
			b->gens++;
		}
		weft_mutex_lock(&block);
		finished = 1;
		generation++;
		weft_cond_broadcast(&gen_cond);
		weft_mutex_unlock(&block);
		return NULL;
	}
	unsigned long long seen = 0;
	weft_mutex_lock(&block);
	for (;;) {
		while (generation == seen) {
			uint64_t r = stress_rand(&b->rng);
			if (r & 1) {
				weft_cond_wait(&gen_cond, &block);
			} else if ((r & 6) == 6) {
				/* cancellable: ECANCELED leaves the predicate to the loop */
				struct timespec d = weft_deadline_after_ns(LOST_WAKEUP_NS);
				int rc = weft_cond_wait_ctx(&gen_cond, &block, &d, &gen_tok[seen & 1]);
				if (stress_violated(weft_mutex_trylock(&block)))
					stress_fail(&opts, "broadcast: weft_cond_wait_ctx() returned %d without the mutex", rc);
				if (rc == WEFT_ECANCELED)
					b->cancelled++;
				if (stress_violated(rc == WEFT_ETIMEDOUT && generation != seen))
					stress_fail(&opts, "broadcast: lost wake-up: a cancellable waiter timed out after a broadcast");
			} else if (r & 2) {
				/* a short deadline: may time out asleep, even after a requeue */
				struct timespec d = weft_deadline_after_ns((r >> 8) % 200000);
				if (weft_cond_timedwait(&gen_cond, &block, &d) == WEFT_ETIMEDOUT)
					b->short_timeouts++;
			} else {
				struct timespec d = weft_deadline_after_ns(LOST_WAKEUP_NS);
				if (stress_violated(weft_cond_timedwait(&gen_cond, &block, &d) == WEFT_ETIMEDOUT && generation != seen))
					stress_fail(&opts, "broadcast: lost wake-up: a waiter timed out after a broadcast");
			}
		}
		if (finished)
			break;
		seen = generation;
		b->gens++;
		if (++acks == b->nwaiters)
			weft_cond_signal(&ack_cond);
	}
	weft_mutex_unlock(&block);
	return NULL;
}

struct bresult {
	unsigned long long gens, short_timeouts, cancelled;
};

static struct bresult run_broadcast_phase(unsigned nthreads, double seconds)
{
	unsigned n = nthreads < 3 ? 3 : nthreads; /* a broadcaster and at least two waiters */
	struct bworker *b = calloc(n, sizeof(*b));
	for (unsigned i = 0; i < n; i++) {
		b[i].rng = opts.seed * 40503u + i + 7;
		b[i].broadcaster = i == 0;
		b[i].nwaiters = n - 1;
	}
	generation = 0;
	acks = 0;
	finished = 0;
	(void)!weft_cancel_init(&gen_tok[0], NULL, 0);
	(void)!weft_cancel_init(&gen_tok[1], NULL, 0);
	stress_phase_begin(seconds);
	stress_run_threads(n, broadcast_worker, b, sizeof(*b));
	struct bresult r = {b[0].gens, 0, 0};
	for (unsigned i = 1; i < n; i++) {
		r.short_timeouts += b[i].short_timeouts;
		r.cancelled += b[i].cancelled;
		if (stress_violated(b[i].gens != b[0].gens))
			stress_fail(&opts, "broadcast: a waiter saw %llu generations of %llu", b[i].gens, b[0].gens);
	}
	free(b);
	return r;
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_cond");
	if (opts.threads > MAX_THREADS)
		opts.threads = MAX_THREADS;
	double quarter = opts.seconds / 4;
	struct qresult q1 = run_queue_phase(opts.threads, quarter);
	struct bresult b1 = run_broadcast_phase(opts.threads, quarter);
	unsigned spin = weft_cond_set_spin(0);
	struct qresult q2 = run_queue_phase(opts.threads, quarter);
	struct bresult b2 = run_broadcast_phase(opts.threads, quarter);
	weft_cond_set_spin(spin);
	weft_cond_destroy(&not_full);
	weft_cond_destroy(&not_empty);
	weft_cond_destroy(&gen_cond);
	weft_cond_destroy(&ack_cond);
	stress_pass(&opts, q1.items + q2.items + b1.gens + b2.gens,
		    "queue: %llu items in order, conserved (spin %llu, no spin %llu; %llu timed waits, %llu timeouts) | "
		    "broadcast: %llu generations seen by all (short-deadline timeouts %llu, cancelled waits %llu)",
		    q1.items + q2.items, q1.items, q2.items, q1.timed_waits + q2.timed_waits, q1.timeouts + q2.timeouts,
		    b1.gens + b2.gens, b1.short_timeouts + b2.short_timeouts, b1.cancelled + b2.cancelled);
	return 0;
}
