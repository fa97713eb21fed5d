/* SPDX-License-Identifier: MIT */
/*
 * stress_select.c - weft_mpmc_select(), weft_mpmc_push_ctx() and
 * weft_mpmc_pop_ctx() under ThreadSanitizer, with cancellation racing
 * against the operations.
 *
 * Four queues of capacity 4 (always nearly full or empty, so that every side
 * sleeps and wakes).  --threads N runs max(N/2, 1) producers and the rest (at
 * least 1) consumers, plus one canceller thread.  Each worker owns a run of
 * cancellation tokens and uses one at a time; the canceller cancels workers'
 * current tokens at random, and a worker that sees WEFT_ECANCELED moves on to
 * its next token.
 *
 *  producers mix: weft_mpmc_push() on their own queue; a select over push
 *     cases on all four queues (the same value in each; a random deadline or
 *     none; the token); weft_mpmc_push_ctx() on a random queue.
 *  consumers mix: a select over pop cases on every queue not yet reported
 *     closed (deadline or none; the token); weft_mpmc_pop_ctx() on one of
 *     them (always with a deadline: a producer may be blocked on another
 *     queue); weft_mpmc_try_pop().  A case reported WEFT_ECLOSED is dropped;
 *     a consumer leaves when every queue has been.
 *
 * When time is up the producers stop, the main thread closes the queues.
 * Invariants: each value (producer id << 40 | sequence) is popped exactly
 * once (a per-value mark, and the sums); a value is never lost to a
 * cancellation or a timeout (the marks again); every call returns one of its
 * documented codes; a wake-up is never lost: a queue holding values while
 * every consumer is registered asleep on it (or room while every producer
 * is) for 2 s fails the run, and the harness's watchdog fails a hang.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stress.h"
#include "weft/cancel.h"
#include "weft/deadline.h"
#include "weft/mpmc.h"

#define NQ 4
#define MAX_WORKERS 64
#define MAX_PER_PRODUCER ((uint64_t)1 << 20)
#define SEQ_BITS 40
#define TOKENS 16384 /* per worker; the last one is never cancelled */

static struct stress_opts opts;

struct worker {
	weft_mpmc_t **q;
	unsigned id;   /* producer or consumer number */
	unsigned slot; /* index among all workers (the canceller's view) */
	uint64_t rng;
	weft_cancel_t *tokens;
	uint32_t current; /* the token in use; written by the worker, read by the canceller */
	uint64_t pushed, push_sum, popped, pop_sum, cancels, timeouts;
	uint64_t selects_ok;
};

static uint8_t *marks; /* producers * MAX_PER_PRODUCER */
static unsigned nproducers;
static uint32_t canceller_stop;

static uint64_t encode(unsigned producer, uint64_t seq)
{
	return ((uint64_t)producer << SEQ_BITS) | seq;
}

static weft_cancel_t *token(struct worker *w)
{
	return &w->tokens[w->current];
}

/* The call was cancelled: use the next token from now on. */
static void next_token(struct worker *w)
{
	w->cancels++;
	if (w->current + 1 < TOKENS)
		__atomic_store_n(&w->current, w->current + 1, __ATOMIC_RELAXED); /* relaxed: any token may be cancelled */
}

/* NULL (no deadline) half the time, else up to 2 ms from now in *@ts. */
static const struct timespec *maybe_deadline(struct worker *w, struct timespec *ts)
{
	if (stress_rand(&w->rng) % 2)
		return NULL;
	*ts = weft_deadline_after_ns(stress_rand(&w->rng) % 2000000);
	return ts;
}

static void check_rc(const char *what, int rc, int allowed_closed)
{
	if (stress_violated(rc != WEFT_OK && rc != WEFT_ETIMEDOUT && rc != WEFT_ECANCELED &&
			    !(allowed_closed && rc == WEFT_ECLOSED)))
		stress_fail(&opts, "%s returned %d", what, rc);
}

static void produce(struct worker *w)
{
	uint64_t seq = 0;
	while (seq < MAX_PER_PRODUCER && !stress_phase_over()) {
		unsigned op = (unsigned)(stress_rand(&w->rng) % 10);
		void *v = (void *)(uintptr_t)encode(w->id, seq);
		struct timespec ts;
		int rc;
		if (op < 3) {
			rc = weft_mpmc_push(w->q[w->id % NQ], v);
		} else if (op < 7) {
			weft_mpmc_case_t c[NQ];
			for (unsigned i = 0; i < NQ; i++)
				c[i] = (weft_mpmc_case_t){w->q[i], WEFT_MPMC_OP_PUSH, v};
			unsigned chosen = NQ;
			rc = weft_mpmc_select(c, NQ, maybe_deadline(w, &ts), token(w), &chosen);
			if (stress_violated(rc == WEFT_OK && chosen >= NQ))
				stress_fail(&opts, "select pushed through case %u", chosen);
			w->selects_ok += rc == WEFT_OK;
		} else {
			rc = weft_mpmc_push_ctx(w->q[stress_rand(&w->rng) % NQ], v, maybe_deadline(w, &ts), token(w));
		}
		check_rc("a push", rc, 0);
		if (rc == WEFT_OK) {
			w->pushed++;
			w->push_sum += (uint64_t)(uintptr_t)v;
			seq++;
		} else if (rc == WEFT_ECANCELED) {
			next_token(w);
		} else if (rc == WEFT_ETIMEDOUT) {
			w->timeouts++;
		}
	}
}

static void take(struct worker *w, void *value)
{
	uint64_t v = (uint64_t)(uintptr_t)value;
	unsigned p = (unsigned)(v >> SEQ_BITS);
	uint64_t seq = v & (((uint64_t)1 << SEQ_BITS) - 1);
	if (stress_violated(p >= nproducers || seq >= MAX_PER_PRODUCER))
		stress_fail(&opts, "popped a value never pushed: producer %u seq %llu", p, (unsigned long long)seq);
	/* relaxed: the marks are checked after every worker has been joined */
	uint8_t before = __atomic_fetch_add(&marks[p * MAX_PER_PRODUCER + seq], 1, __ATOMIC_RELAXED);
	if (stress_violated(before != 0))
		stress_fail(&opts, "value popped twice: producer %u seq %llu", p, (unsigned long long)seq);
	w->popped++;
	w->pop_sum += v;
}

static void consume(struct worker *w)
{
	weft_mpmc_case_t c[NQ];
	unsigned n = NQ;
	for (unsigned i = 0; i < NQ; i++)
		c[i] = (weft_mpmc_case_t){w->q[i], WEFT_MPMC_OP_POP, NULL};
	while (n > 0) {
		unsigned op = (unsigned)(stress_rand(&w->rng) % 10);
		struct timespec ts;
		int rc;
		if (op < 6) {
			unsigned chosen = NQ;
			rc = weft_mpmc_select(c, n, maybe_deadline(w, &ts), token(w), &chosen);
			check_rc("a select over pops", rc, 1);
			if (stress_violated((rc == WEFT_OK || rc == WEFT_ECLOSED) && chosen >= n))
				stress_fail(&opts, "select chose case %u of %u", chosen, n);
			if (rc == WEFT_OK) {
				take(w, c[chosen].item);
				w->selects_ok++;
			} else if (rc == WEFT_ECLOSED) {
				c[chosen] = c[--n];
			}
		} else if (op < 8) {
			/* Always a deadline: waiting on one queue for ever could
			 * wait for a producer that is blocked on another. */
			unsigned k = (unsigned)(stress_rand(&w->rng) % n);
			void *v = (void *)(uintptr_t)UINT64_MAX;
			ts = weft_deadline_after_ns(stress_rand(&w->rng) % 2000000);
			rc = weft_mpmc_pop_ctx(c[k].queue, &v, &ts, token(w));
			check_rc("pop_ctx", rc, 1);
			if (rc == WEFT_OK)
				take(w, v);
			else if (stress_violated(v != (void *)(uintptr_t)UINT64_MAX))
				stress_fail(&opts, "pop_ctx wrote its output and returned %d", rc);
			/* ECLOSED: the select will report it too */
		} else {
			void *v;
			rc = weft_mpmc_try_pop(c[stress_rand(&w->rng) % n].queue, &v) ? WEFT_OK : WEFT_EBUSY;
			if (rc == WEFT_OK)
				take(w, v);
		}
		if (rc == WEFT_ECANCELED)
			next_token(w);
		else if (rc == WEFT_ETIMEDOUT)
			w->timeouts++;
	}
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	if (w->slot < nproducers)
		produce(w);
	else
		consume(w);
	return NULL;
}

struct canceller {
	struct worker *w;
	unsigned nworkers;
	uint64_t rng;
	uint64_t cancels;
};

static void *canceller_thread(void *arg)
{
	struct canceller *c = arg;
	while (!__atomic_load_n(&canceller_stop, __ATOMIC_ACQUIRE)) {
		struct worker *w = &c->w[stress_rand(&c->rng) % c->nworkers];
		/* relaxed: cancelling any of the worker's tokens is allowed */
		uint32_t cur = __atomic_load_n(&w->current, __ATOMIC_RELAXED);
		if (cur + 1 < TOKENS) { /* the last token stays live: its owner keeps sleeping */
			weft_cancel(&w->tokens[cur]);
			c->cancels++;
		}
		for (unsigned i = (unsigned)(stress_rand(&c->rng) % 64); i > 0; i--)
			sched_yield();
	}
	return NULL;
}

/* Values on a queue while all consumers sleep on it (or room while all
 * producers do) may last microseconds; 2 s means a lost wake-up. */
static void watch(weft_mpmc_t **q, unsigned producers, unsigned consumers)
{
	double stuck_since[NQ] = {0};
	while (!stress_phase_over()) {
		for (unsigned k = 0; k < NQ; k++) {
			/* relaxed: a sampled diagnostic */
			uint32_t ps = __atomic_load_n(&q[k]->push_sleepers, __ATOMIC_RELAXED) & WEFT_MPMC_SLEEPERS;
			uint32_t cs = __atomic_load_n(&q[k]->pop_sleepers, __ATOMIC_RELAXED) & WEFT_MPMC_SLEEPERS;
			size_t size = weft_mpmc_size_approx(q[k]);
			int stuck = (cs >= consumers && size > 0) || (ps >= producers && size < weft_mpmc_capacity(q[k]));
			double now = stress_now();
			if (!stuck)
				stuck_since[k] = 0;
			else if (stuck_since[k] == 0)
				stuck_since[k] = now;
			else if (stress_violated(now - stuck_since[k] > 2.0))
				stress_fail(&opts, "queue %u: lost wake-up: size %llu, %u consumers and %u producers asleep for 2 s",
					    k, (unsigned long long)size, cs, ps);
		}
		usleep(5000);
	}
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_select");
	unsigned producers = opts.threads / 2;
	if (producers < 1)
		producers = 1;
	if (producers > MAX_WORKERS / 2)
		producers = MAX_WORKERS / 2;
	unsigned consumers = opts.threads > producers ? opts.threads - producers : 1;
	if (consumers > MAX_WORKERS / 2)
		consumers = MAX_WORKERS / 2;
	nproducers = producers;
	unsigned nworkers = producers + consumers;
	size_t mark_bytes = (size_t)producers * MAX_PER_PRODUCER;
	marks = mmap(NULL, mark_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (marks == MAP_FAILED)
		stress_fail(&opts, "mmap of %llu bytes failed", (unsigned long long)mark_bytes);
	weft_mpmc_t *q[NQ];
	for (unsigned k = 0; k < NQ; k++)
		if ((q[k] = weft_mpmc_create(4, 0)) == NULL)
			stress_fail(&opts, "weft_mpmc_create failed (%u)", k);
	struct worker *w = calloc(nworkers, sizeof *w);
	pthread_t *tids = calloc(nworkers, sizeof *tids);
	for (unsigned i = 0; i < nworkers; i++) {
		w[i].q = q;
		w[i].slot = i;
		w[i].id = i < producers ? i : i - producers;
		w[i].rng = opts.seed * 0x9E3779B97F4A7C15ull + i + 1;
		w[i].tokens = calloc(TOKENS, sizeof(weft_cancel_t)); /* all zero: valid tokens */
		if (w[i].tokens == NULL)
			stress_fail(&opts, "out of memory (%u)", i);
	}
	struct canceller canc = {w, nworkers, opts.seed ^ 0x5bd1e995u, 0};
	stress_phase_begin(opts.seconds);
	for (unsigned i = 0; i < nworkers; i++)
		pthread_create(&tids[i], NULL, worker_thread, &w[i]);
	pthread_t ctid;
	pthread_create(&ctid, NULL, canceller_thread, &canc);
	watch(q, producers, consumers);
	for (unsigned i = 0; i < producers; i++)
		pthread_join(tids[i], NULL);
	for (unsigned k = 0; k < NQ; k++)
		weft_mpmc_close(q[k]);
	for (unsigned i = producers; i < nworkers; i++)
		pthread_join(tids[i], NULL);
	__atomic_store_n(&canceller_stop, 1u, __ATOMIC_RELEASE);
	pthread_join(ctid, NULL);

	uint64_t pushed = 0, popped = 0, push_sum = 0, pop_sum = 0, cancels = 0, timeouts = 0, selects = 0;
	for (unsigned i = 0; i < nworkers; i++) {
		pushed += w[i].pushed;
		push_sum += w[i].push_sum;
		popped += w[i].popped;
		pop_sum += w[i].pop_sum;
		cancels += w[i].cancels;
		timeouts += w[i].timeouts;
		selects += w[i].selects_ok;
	}
	for (unsigned k = 0; k < NQ; k++)
		if (stress_violated(weft_mpmc_size_approx(q[k]) != 0))
			stress_fail(&opts, "queue %u: %llu values left after the drain", k,
				    (unsigned long long)weft_mpmc_size_approx(q[k]));
	for (unsigned p = 0; p < producers; p++) {
		struct worker *pw = &w[p];
		for (uint64_t s = 0; s < MAX_PER_PRODUCER; s++) {
			uint8_t want = s < pw->pushed ? 1 : 0;
			if (stress_violated(marks[p * MAX_PER_PRODUCER + s] != want))
				stress_fail(&opts, "producer %u value %llu popped %u times, expected %u", p,
					    (unsigned long long)s, marks[p * MAX_PER_PRODUCER + s], want);
		}
	}
	if (stress_violated(pushed != popped || push_sum != pop_sum))
		stress_fail(&opts, "pushed %llu (sum %llu) but popped %llu (sum %llu)", (unsigned long long)pushed,
			    (unsigned long long)push_sum, (unsigned long long)popped, (unsigned long long)pop_sum);
	stress_pass(&opts, pushed + popped,
		    "producers=%u consumers=%u selects=%llu cancelled=%llu timedout=%llu (canceller: %llu): "
		    "each value popped once, sums equal, no value lost to a cancel",
		    producers, consumers, (unsigned long long)selects, (unsigned long long)cancels,
		    (unsigned long long)timeouts, (unsigned long long)canc.cancels);
	for (unsigned i = 0; i < nworkers; i++)
		free(w[i].tokens);
	free(w);
	free(tids);
	munmap(marks, mark_bytes);
	for (unsigned k = 0; k < NQ; k++)
		weft_mpmc_destroy(q[k]);
	return 0;
}
