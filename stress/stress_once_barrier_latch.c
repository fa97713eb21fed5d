/* SPDX-License-Identifier: MIT */
/*
 * stress_once_barrier_latch.c - weft_barrier_t, weft_latch_t and weft_once_t
 * under ThreadSanitizer, all threads in lock step for --seconds.
 *
 * One round, every thread:
 *   1. writes its round number into its own plain slot;
 *      barrier A (the thread it returns true to counts a true for the round
 *      and decides, once the time is up, that this round is the last);
 *   2. reads every slot: all must hold this round (phases never mix; TSan
 *      checks that the barrier orders the plain slots);
 *      counts down this round's latch (n = 1, sometimes in two steps of the
 *      latch's error path: a count_down that would go below zero must fail
 *      and change nothing) and waits for it (wait, a timed wait with a far
 *      deadline, or try_wait polling); after the latch every thread's
 *      pre-count-down write (a plain per-thread cell) must be visible;
 *      calls weft_once() on this round's once object: its function must
 *      run exactly once per round and its write be visible to all;
 *   3. barrier B: the thread it returns true to checks that barrier A gave
 *      exactly one true this round, and re-initializes the next round's
 *      latch and once object (two of each alternate, so nobody can still be
 *      using the one being reset).
 * Some threads nap now and then before a barrier, so the others sleep in it.
 *
 * Cancellable waits (issue 16): at barrier A a thread may arrive with
 * weft_barrier_wait_ctx() and either a short random deadline (retrying until
 * it passes: every timeout withdraws its arrival, racing with the last
 * arrivals) or the round's token, which one thread in 8 cancels before it
 * arrives (a withdrawn arrival then arrives again with weft_barrier_wait());
 * the latch may be waited for with weft_latch_wait_ctx() and the same token.
 * A withdrawal that took an arrival it should not have (or kept one it
 * reported withdrawn) mixes phases, gives a round two trues or none, or
 * leaves threads asleep for the watchdog.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/barrier.h"
#include "weft/cancel.h"
#include "weft/deadline.h"
#include "weft/latch.h"
#include "weft/once.h"
#include "weft/status.h"

#define MAX_THREADS 256
#define FAR_NS (20ull * 1000 * 1000 * 1000)

static struct stress_opts opts;
static unsigned nthreads;
static weft_barrier_t barrier;
static weft_latch_t latch[2];
static weft_once_t once[2];
static long slot[MAX_THREADS];  /* plain, ordered by the barriers */
static long cell[MAX_THREADS];  /* plain, ordered by the latch */
static int trues_a;             /* atomic: barrier A trues this round */
static int last_round;          /* plain: set between A and B, read after B */
static long once_runs;          /* atomic: weft_once functions run this round */
static long once_value;         /* plain: written by the once function */
static long current_round;      /* plain: written by A's true thread, read by the once function after the latch */
static weft_cancel_t round_tok[2]; /* round r uses round_tok[r & 1]; B's true thread re-inits it for r + 2 */

static void once_fn(void)
{
	__atomic_fetch_add(&once_runs, 1, __ATOMIC_RELAXED);
	once_value = current_round;
}

struct worker {
	unsigned id;
	uint64_t rng;
	unsigned long long rounds, sleeps, withdrawn, cancelled;
	int latch_errors_checked;
} __attribute__((aligned(64)));

static void maybe_nap(struct worker *w)
{
	if (stress_rand(&w->rng) % 64 == 0) {
		usleep(200);
		w->sleeps++;
	}
}

/* Barrier A, arrived at in one of the ways the overview lists. */
static bool barrier_a(struct worker *w, long round)
{
	uint64_t r = stress_rand(&w->rng);
	weft_cancel_t *tok = &round_tok[round & 1];
	bool serial = false;
	int rc;
	switch (r % 4) {
	case 0:
		return weft_barrier_wait(&barrier);
	case 1: /* short deadlines, until it passes */
		for (;;) {
			struct timespec d = weft_deadline_after_ns((r >> 8) % 100000);
			rc = weft_barrier_wait_ctx(&barrier, &serial, &d, NULL);
			if (rc == WEFT_OK)
				return serial;
			if (stress_violated(rc != WEFT_ETIMEDOUT))
				stress_fail(&opts, "barrier: wait_ctx with a deadline returned %d", rc);
			w->withdrawn++;
		}
	default: /* the round's token; one thread in 8 cancels it first */
		if ((r >> 4) % 8 == 0)
			weft_cancel(tok);
		rc = weft_barrier_wait_ctx(&barrier, &serial, NULL, tok);
		if (rc == WEFT_OK)
			return serial;
		if (stress_violated(rc != WEFT_ECANCELED))
			stress_fail(&opts, "barrier: wait_ctx with a token returned %d", rc);
		w->cancelled++;
		return weft_barrier_wait(&barrier); /* withdrawn: arrive again */
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (long round = 0;; round++) {
		slot[w->id] = round;
		maybe_nap(w);
		if (barrier_a(w, round)) {
			__atomic_fetch_add(&trues_a, 1, __ATOMIC_RELAXED);
			current_round = round; /* read by the once function, after barrier A */
			if (stress_should_stop(&opts))
				last_round = 1;
		}
		for (unsigned i = 0; i < nthreads; i++)
			if (stress_violated(slot[i] != round))
				stress_fail(&opts, "round %ld: thread %u still in round %ld after the barrier (phases mixed)",
					    round, i, slot[i]);

		weft_latch_t *l = &latch[round & 1];
		cell[w->id] = round;
		uint64_t r = stress_rand(&w->rng);
		if (r % 16 == 0) {
			/* the error path: more than can be left must fail without change */
			int rc = weft_latch_count_down(l, nthreads + 1);
			if (stress_violated(rc != WEFT_EINVAL))
				stress_fail(&opts, "latch: count_down below zero returned %d", rc);
			w->latch_errors_checked++;
		}
		if (stress_violated(weft_latch_count_down(l, 1) != WEFT_OK))
			stress_fail(&opts, "latch: count_down(1) failed in round %ld", round);
		switch ((r >> 8) % 4) {
		case 0:
			weft_latch_wait(l);
			break;
		case 3: {
			struct timespec d = weft_deadline_after_ns(FAR_NS);
			int rc = weft_latch_wait_ctx(l, &d, &round_tok[round & 1]);
			if (rc == WEFT_ECANCELED) {
				w->cancelled++;
				rc = weft_latch_timedwait(l, &d);
			}
			if (stress_violated(rc != WEFT_OK))
				stress_fail(&opts, "latch: wait_ctx returned %d (lost wake-up?)", rc);
			break;
		}
		case 1: {
			struct timespec d = weft_deadline_after_ns(FAR_NS);
			if (stress_violated(weft_latch_timedwait(l, &d) != WEFT_OK))
				stress_fail(&opts, "latch: lost wake-up (timed wait of %.0f s expired)", FAR_NS / 1e9);
			break;
		}
		default:
			while (!weft_latch_try_wait(l))
				sched_yield();
			break;
		}
		for (unsigned i = 0; i < nthreads; i++)
			if (stress_violated(cell[i] != round))
				stress_fail(&opts, "latch: thread %u's write of round %ld not visible after the latch", i,
					    round);

		weft_once(&once[round & 1], once_fn);
		if (stress_violated(once_value != round))
			stress_fail(&opts, "once: saw %ld after weft_once() of round %ld", once_value, round);

		maybe_nap(w);
		if (weft_barrier_wait(&barrier)) {
			int t = __atomic_exchange_n(&trues_a, 0, __ATOMIC_RELAXED);
			if (stress_violated(t != 1))
				stress_fail(&opts, "barrier: %d threads got true in round %ld", t, round);
			long runs = __atomic_exchange_n(&once_runs, 0, __ATOMIC_RELAXED);
			if (stress_violated(runs != 1))
				stress_fail(&opts, "once: the function ran %ld times in round %ld", runs, round);
			/* nobody uses the other latch and once until after barrier A
			 * of the next round, which this thread has not reached yet */
			(void)!weft_latch_init(&latch[(round + 1) & 1], nthreads);
			/* this round's token: used again from barrier A of round + 2,
			 * which nobody reaches before this thread arrives at B of
			 * round + 1 (round + 1 uses the other token from its A on) */
			(void)!weft_cancel_init(&round_tok[round & 1], NULL, 0);
			once[(round + 1) & 1] = (weft_once_t)WEFT_ONCE_INIT;
		}
		/* A's true thread wrote last_round between A and B; every thread
		 * reads it after B, so all of them leave after the same round. */
		w->rounds++;
		if (last_round)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_once_barrier_latch");
	nthreads = opts.threads > MAX_THREADS ? MAX_THREADS : opts.threads;
	(void)!weft_barrier_init(&barrier, nthreads);
	(void)!weft_latch_init(&latch[0], nthreads);
	(void)!weft_latch_init(&latch[1], nthreads);
	struct worker *w = calloc(nthreads, sizeof(*w));
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].rng = opts.seed * 2654435761u + i + 1;
	}
	stress_run_threads(nthreads, worker_main, w, sizeof(*w));
	unsigned long long rounds = w[0].rounds, sleeps = 0, withdrawn = 0, cancelled = 0;
	int errs = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		if (stress_violated(w[i].rounds != rounds))
			stress_fail(&opts, "thread %u did %llu rounds, thread 0 %llu", i, w[i].rounds, rounds);
		sleeps += w[i].sleeps;
		withdrawn += w[i].withdrawn;
		cancelled += w[i].cancelled;
		errs += w[i].latch_errors_checked;
	}
	free(w);
	weft_barrier_destroy(&barrier);
	stress_pass(&opts, rounds,
		    "%llu rounds x %u threads: barrier phases never mixed, one true per phase; latch opened once per "
		    "round with every write visible (%d below-zero count_downs refused); once ran exactly once per "
		    "round; %llu naps; %llu arrivals withdrawn at their deadline, %llu waits cancelled",
		    rounds, nthreads, errs, sleeps, withdrawn, cancelled);
	return 0;
}
