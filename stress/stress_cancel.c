/* SPDX-License-Identifier: MIT */
/*
 * stress_cancel.c - cancellation tokens and the cancellable waits of the
 * wait layer (weft__wait_ctx(), weft__wait_any()) under ThreadSanitizer.
 *
 * Rounds.  Each round a controller makes a root token and one child per
 * waiter (some grandchildren), and the waiters, released together by a
 * barrier, sleep on the round's word (weft__wait_ctx(), or weft__wait_any()
 * over the word and a second one) naming their own token, with no deadline
 * or a short random one, looping as a primitive does until the word changes
 * or the wait ends otherwise.  The controller, after a random pause, does one
 * of: change the word and wake all; cancel the root; cancel some children
 * and then change the word; cancel the root and change the word at once.
 * Rounds take turns through the futex_waitv path and the forced fallback,
 * private and process-shared words, and private and process-shared tokens
 * (every pairing, over eight rounds).
 *
 * Invariants (every waiter, every round):
 *  - it ends (the watchdog is the lost-wake-up oracle: a cancel or a change
 *    that a sleeper misses leaves it asleep for ever with no deadline);
 *  - WEFT_ECANCELED only when its chain was cancelled, and then the reason the
 *    controller wrote (plainly) before weft_cancel() is visible: TSan reports
 *    a missing acquire/release pair;
 *  - WEFT_OK ends only when the word changed (it looks, as a caller does);
 *  - WEFT_ETIMEDOUT only for a wait with a deadline.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"
#include "wait.h"
#include "weft/cancel.h"
#include "weft/deadline.h"
#include "weft/status.h"

#define MAX_WAITERS 64

static struct stress_opts opts;
static unsigned nwaiters;

static pthread_barrier_t start_line, finish_line;
static int done; /* atomic: the controller says no more rounds */

/* the round: written by the controller between the barriers */
static uint32_t word;       /* atomic: the word waiters sleep on */
static uint32_t other_word; /* atomic: weft__wait_any()'s second word, never changed */
static weft_cancel_t root;
static weft_cancel_t mid[MAX_WAITERS];  /* children of root */
static weft_cancel_t leaf[MAX_WAITERS]; /* children of mid (odd waiters name these) */
static unsigned round_no;
static unsigned long long reason[MAX_WAITERS]; /* plain: written before a cancel, read after ECANCELED */
static unsigned long long root_reason;          /* plain, likewise for the root */

struct waiter {
	unsigned id;
	uint64_t rng;
	unsigned long long woken, cancelled, timed_out;
} __attribute__((aligned(64)));

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	for (;;) {
		pthread_barrier_wait(&start_line);
		if (__atomic_load_n(&done, __ATOMIC_RELAXED))
			return NULL;
		uint64_t r = stress_rand(&w->rng);
		weft_cancel_t *tok = (w->id % 2) ? &leaf[w->id] : &mid[w->id];
		bool timed = r % 4 == 0;
		bool any = (r >> 8) % 3 == 0;
		struct timespec d = weft_deadline_after_ns((r >> 16) % 2000000);
		struct weft__wait_word words[2] = {{&word, 0, round_no % 4 >= 2 ? WEFT_PSHARED : 0},
						   {&other_word, 0, 0}};
		int rc = WEFT_OK;
		/* acquire: pairs with the controller's release store of the word */
		while (rc == WEFT_OK && __atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0)
			rc = any ? weft__wait_any(words, 2, timed ? &d : NULL, tok)
				 : weft__wait_ctx(&word, 0, timed ? &d : NULL, words[0].flags, tok);
		if (rc == WEFT_ECANCELED) {
			w->cancelled++;
			if (stress_violated(!weft_cancel_requested(tok)))
				stress_fail(&opts, "WEFT_ECANCELED but the chain is not cancelled");
			/* plain reads: the cancel's release published them */
			unsigned long long why = reason[w->id] | root_reason;
			if (stress_violated(why != round_no))
				stress_fail(&opts, "cancelled without a reason (%llu, round %u)", why, round_no);
		} else if (rc == WEFT_ETIMEDOUT) {
			w->timed_out++;
			if (stress_violated(!timed))
				stress_fail(&opts, "WEFT_ETIMEDOUT without a deadline");
		} else {
			w->woken++;
			if (stress_violated(rc != WEFT_OK || __atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0))
				stress_fail(&opts, "the wait ended with %d and the word unchanged", rc);
		}
		pthread_barrier_wait(&finish_line);
	}
}

static void change_word(void)
{
	/* release: pairs with the waiters' acquire load of the word */
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	weft__wake(&word, INT32_MAX, round_no % 4 >= 2 ? WEFT_PSHARED : 0);
}

static void new_round(unsigned n)
{
	unsigned tf = (round_no / 4) % 2 ? WEFT_PSHARED : 0; /* every pairing of word and token flavours */
	__atomic_store_n(&word, 0, __ATOMIC_RELAXED); /* the barrier publishes it */
	root_reason = 0;
	if (weft_cancel_init(&root, NULL, tf) != WEFT_OK)
		stress_fail(&opts, "weft_cancel_init(root)");
	for (unsigned i = 0; i < n; i++) {
		reason[i] = 0;
		if (weft_cancel_init(&mid[i], &root, tf) != WEFT_OK || weft_cancel_init(&leaf[i], &mid[i], 0) != WEFT_OK)
			stress_fail(&opts, "weft_cancel_init(child)");
	}
	weft__wait_set_waitv(round_no % 2 == 0);
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_cancel");
	nwaiters = opts.threads < MAX_WAITERS ? opts.threads : MAX_WAITERS;
	struct waiter *ws = calloc(nwaiters, sizeof(*ws));
	pthread_t *tids = calloc(nwaiters, sizeof(*tids));
	if (ws == NULL || tids == NULL)
		return 3;
	pthread_barrier_init(&start_line, NULL, nwaiters + 1);
	pthread_barrier_init(&finish_line, NULL, nwaiters + 1);
	for (unsigned i = 0; i < nwaiters; i++) {
		ws[i].id = i;
		ws[i].rng = opts.seed * 31 + i + 1;
		pthread_create(&tids[i], NULL, waiter_main, &ws[i]);
	}
	uint64_t rng = opts.seed | 1;
	unsigned long long rounds = 0, kinds[4] = {0};
	while (!stress_should_stop(&opts)) {
		round_no++;
		new_round(nwaiters);
		pthread_barrier_wait(&start_line);
		uint64_t r = stress_rand(&rng);
		for (unsigned i = (unsigned)((r >> 8) % 2000); i > 0; i--)
			weft_cpu_relax();
		if ((r >> 40) % 4 == 0)
			usleep(100); /* often enough, the waiters are asleep */
		unsigned kind = (unsigned)(r % 4);
		kinds[kind]++;
		switch (kind) {
		case 0: /* the word changes */
			change_word();
			break;
		case 1: /* the root is cancelled */
			root_reason = round_no;
			weft_cancel(&root);
			break;
		case 2: /* some children are cancelled, then the word changes */
			for (unsigned i = 0; i < nwaiters; i++) {
				if ((r >> (16 + i % 32)) & 1) {
					reason[i] = round_no;
					weft_cancel((r >> 50) & 1 ? &mid[i] : (i % 2 ? &leaf[i] : &mid[i]));
				}
			}
			change_word();
			break;
		default: /* both at once */
			root_reason = round_no;
			weft_cancel(&root);
			change_word();
			break;
		}
		pthread_barrier_wait(&finish_line);
		rounds++;
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELAXED); /* the barrier publishes it */
	pthread_barrier_wait(&start_line);
	unsigned long long woken = 0, cancelled = 0, timed_out = 0;
	for (unsigned i = 0; i < nwaiters; i++) {
		pthread_join(tids[i], NULL);
		woken += ws[i].woken;
		cancelled += ws[i].cancelled;
		timed_out += ws[i].timed_out;
	}
	stress_pass(&opts, rounds * nwaiters,
		    "rounds=%llu (change %llu, cancel %llu, some+change %llu, both %llu) woken=%llu cancelled=%llu "
		    "timed_out=%llu",
		    rounds, kinds[0], kinds[1], kinds[2], kinds[3], woken, cancelled, timed_out);
	free(ws);
	free(tids);
	return 0;
}
