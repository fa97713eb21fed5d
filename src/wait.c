/* SPDX-License-Identifier: MIT */
/*
 * wait.c - the backend-independent part of the wait layer (src/wait.h): the
 * napping sleep of process-shared words, and the cancellable waits' fallback
 * without futex_waitv (its registry and weft_cancel()'s wake-up), over
 * whichever backend was built.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_yield() under -std=c11 */
#endif
#include "wait.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "keep_errno.h"
#include "wordlock.h"
#include "weft/atomic.h"
#include "weft/deadline.h"
#include "weft/status.h"

WEFT_NOIPA int weft__wait_napping(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags)
{
	return weft__wait_napping_ctx(addr, expected, deadline, flags, NULL);
}

WEFT_NOIPA int weft__wait_napping_ctx(const uint32_t *addr, uint32_t expected, const struct timespec *deadline,
				      unsigned flags, weft_cancel_t *cancel)
{
	if (!(flags & WEFT_PSHARED))
		return weft__wait_ctx(addr, expected, deadline, flags, cancel);
	return weft__wait_nap(addr, expected, deadline, WEFT__PSHARED_NAP_NS, flags, cancel);
}

WEFT_NOIPA int weft__wait_nap(const uint32_t *addr, uint32_t expected, const struct timespec *deadline,
			      uint64_t nap_ns, unsigned flags, weft_cancel_t *cancel)
{
	struct timespec nap; /* the deadline, if it comes first: no nap */
	const struct timespec *until = weft__wait_nap_until(deadline, nap_ns, &nap);
	int rc = weft__wait_ctx(addr, expected, until, flags, cancel);
	return rc == WEFT_ETIMEDOUT && until == &nap ? WEFT__WAIT_NAPPED : rc;
}

/* ---- cancellable waits: the fallback without futex_waitv (wait.h) -------- */

bool weft__cancel_chain_pshared(const weft_cancel_t *tok)
{
	for (int i = 0; tok != NULL && i < WEFT_CANCEL_MAX_CHAIN; i++, tok = weft__cancel_parent(tok))
		if (tok->info & WEFT__CANCEL_PSHARED) /* plain: written once at init */
			return true;
	return false;
}

/* Whether @tok is in the chain that starts at @leaf. */
static bool chain_holds(const weft_cancel_t *leaf, const weft_cancel_t *tok)
{
	for (int i = 0; leaf != NULL && i < WEFT_CANCEL_MAX_CHAIN; i++, leaf = weft__cancel_parent(leaf))
		if (leaf == tok)
			return true;
	return false;
}

/*
 * The registry of fallback waiters with a private chain: one list, one lock
 * (a cancellable wait on the fallback path takes it twice; weft_cancel()
 * once).  A node lives on its waiter's stack from before the waiter's last
 * look at the token until after its sleep.
 */
struct cancel_waiter {
	const weft_cancel_t *tok;   /* the waiter's token (the leaf of its chain) */
	const uint32_t *addr;       /* the word it sleeps on */
	unsigned flags;             /* its flavour */
	uint32_t awake;             /* 1 once the waiter is past its sleep (atomic) */
	struct cancel_waiter *next; /* guarded by registry_lock */
	struct cancel_waiter *prev; /* guarded by registry_lock */
};

/* The word lock (src/wordlock.h).  A waiter leaving its sleep finds it held
 * by the canceller that woke it, which lets go as soon as it sees the
 * waiter's awake: the holder is running and about to let go, so the waiter
 * spins briefly, then yields (the holder may need its CPU), then parks: the
 * barrier's preset, whose reasoning this is (src/spinwait.c).  Measured with
 * make probe-cancel (600 trials each, load 7): fallback p50 11 us with it,
 * 22 us with the mutex's 400-pause spin, 19 us with the spinlock's. */
static uint32_t registry_lock;
static struct cancel_waiter *registry_head; /* guarded by registry_lock */
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_lock_take(void)
{
	(void)weft__wordlock_lock(&registry_lock, 0, WEFT__SPIN_BARRIER, NULL, 0); /* no deadline: WEFT_OK */
}

static void registry_lock_drop(void)
{
	weft__wordlock_unlock(&registry_lock, 0, 0);
}

/* fork(): the child has only the forking thread, which was not in a
 * cancellable wait; every registered node belonged to a thread it lacks, and
 * the lock may have been held by one.  Make both new (as the portable
 * backend's buckets). */
static void registry_after_fork_child(void)
{
	weft_atomic_store(&registry_lock, WEFT__WORD_UNLOCKED, WEFT_RELAXED); /* one thread now */
	registry_head = NULL;
}

static void registry_init(void)
{
	(void)pthread_atfork(NULL, NULL, registry_after_fork_child);
}

static void registry_add(struct cancel_waiter *w)
{
	pthread_once(&registry_once, registry_init);
	registry_lock_take();
	w->prev = NULL;
	w->next = registry_head;
	if (registry_head != NULL)
		registry_head->prev = w;
	registry_head = w;
	registry_lock_drop();
}

static void registry_remove(struct cancel_waiter *w)
{
	registry_lock_take();
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		registry_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	registry_lock_drop();
}

/* Whether @w's waiter is past its sleep. */
static bool awake(struct cancel_waiter *w)
{
	/* acquire: pairs with the release store of awake in
	 * weft__wait_ctx_fallback() (orders nothing but the lock's own) */
	return weft_atomic_load(&w->awake, WEFT_ACQUIRE) != 0;
}

/*
 * weft__cancel_registry_wake() - wake every registered waiter whose chain
 * holds @tok, whose cancelled bit the caller has set.
 *
 * No lost wake-up.  A waiter W runs: (1) registry_add() under registry_lock;
 * (2) look at the chain; (3) weft__wait() on its word; (4) awake = 1;
 * (5) registry_remove() under registry_lock.  The canceller C runs: (a) set
 * the bit (release); (b) take registry_lock; (c) for each node of the chain:
 * weft__wake() its word, until its awake is 1.
 *  - C's (b) comes before W's (1) in the lock's order: C's (a) happens before
 *    W's (1), so W's (2) sees the bit and W does not sleep.
 *  - C's (b) comes after W's (1) and before W's (5) (it cannot come after:
 *    W's node would be gone, but then W is past its sleep anyway): C finds the
 *    node, which cannot leave the list (nor W's stack) while C holds the lock.
 *    W is before (3), in it, or past it.  Past: awake is 1, C stops.  In it:
 *    C's next wake-up takes it out (the futex and the portable bucket both
 *    guarantee that a wake-up issued after a sleeper's check wakes it).
 *    Before it: C's wake-ups may all come too early, but C goes on waking
 *    (and yielding the CPU to W) until awake is 1, and W gets to (3): its
 *    check finds the word unchanged (a cancel does not change it) and sleeps,
 *    and the first wake-up after that ends the sleep.
 * The price: C may spin (wake, yield) for as long as W takes to reach its
 * sleep after its look at the token, and waiters of the same word are woken
 * too (a spurious wake-up, which they tolerate).  Process-shared chains are
 * never registered: another process's cancel cannot see this registry.
 * models/cancel.pml checks this protocol (PATH_REGISTRY) and catches its
 * broken variants (one wake-up only; a look at the token before registering).
 */
static void weft__cancel_registry_wake(const weft_cancel_t *tok)
{
	pthread_once(&registry_once, registry_init);
	registry_lock_take();
	for (struct cancel_waiter *w = registry_head; w != NULL; w = w->next) {
		if (!chain_holds(w->tok, tok))
			continue;
		for (;;) {
			weft__wake(w->addr, INT32_MAX, w->flags);
			/* watch awake a little (a woken sleeper takes tens of
			 * microseconds to run here), then yield to let W reach its
			 * sleep (2 CPUs, many threads), then wake again */
			for (int i = 0; i < 64 && !awake(w); i++)
				weft_cpu_relax();
			if (awake(w))
				break;
			sched_yield();
		}
	}
	registry_lock_drop();
}

WEFT_NOIPA void weft__cancel_wake(const weft_cancel_t *tok)
{
	WEFT_COMPILER_BARRIER(); /* see config.h */
	int saved_errno = weft__errno_save();
	unsigned flavour = (tok->info & WEFT__CANCEL_PSHARED) ? WEFT_PSHARED : 0;
	/* the futex_waitv sleepers of the chain sleep on this word */
	weft__wake(&tok->state, INT32_MAX, flavour);
	/* the fallback's registered sleepers: only private chains register, and a
	 * private chain holds no process-shared token */
	if (!flavour)
		weft__cancel_registry_wake(tok);
	weft__errno_restore(saved_errno);
}

const struct timespec *weft__wait_nap_until(const struct timespec *deadline, uint64_t ns, struct timespec *out)
{
	*out = weft_deadline_after_ns(ns);
	if (deadline != NULL && weft__deadline_not_after(deadline, out))
		return deadline;
	return out;
}

/* Whether a word of @words differs from its expected value. */
static bool any_changed(const struct weft__wait_word *words, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		/* acquire: pairs with the release that changed the word, as a futex
		 * wait that returns does */
		if (weft_atomic_load(words[i].addr, WEFT_ACQUIRE) != words[i].expected)
			return true;
	return false;
}

int weft__wait_outcome(const struct weft__wait_word *words, unsigned n, int rc, const weft_cancel_t *cancel)
{
	if (any_changed(words, n))
		return WEFT_OK;
	if (weft_cancel_requested(cancel)) /* acquire: pairs with weft_cancel() */
		return WEFT_ECANCELED;
	return rc;
}

int weft__wait_ctx_fallback(const uint32_t *addr, uint32_t expected, const struct timespec *deadline,
			    unsigned flags, const weft_cancel_t *cancel)
{
	const struct weft__wait_word word = {addr, expected, flags};
	if (weft__cancel_chain_pshared(cancel) || (WEFT__WAIT_PSHARED_POLLS && (flags & WEFT_PSHARED))) {
		/* another process may cancel, or the backend polls this word and
		 * no wake-up reaches it: look at the chain after each nap */
		for (;;) {
			int rc = weft__wait_nap(addr, expected, deadline, WEFT__CANCEL_NAP_NS, flags, NULL);
			if (rc == WEFT__WAIT_NAPPED)
				rc = WEFT__WAIT_WOULD_SLEEP; /* only a nap ended */
			rc = weft__wait_outcome(&word, 1, rc, cancel);
			if (rc != WEFT__WAIT_WOULD_SLEEP)
				return rc;
		}
	}
	struct cancel_waiter w = {cancel, addr, flags, 0, NULL, NULL};
	registry_add(&w);
	int rc = weft__wait_outcome(&word, 1, WEFT__WAIT_WOULD_SLEEP, cancel); /* (2) of the argument above */
	if (rc == WEFT__WAIT_WOULD_SLEEP)
		rc = weft__wait(addr, expected, deadline, flags);
	/* release: pairs with the acquire in weft__cancel_registry_wake(); orders
	 * nothing of ours, but says we are past the sleep */
	weft_atomic_store(&w.awake, 1, WEFT_RELEASE);
	registry_remove(&w);
	return weft__wait_outcome(&word, 1, rc, cancel);
}

#define ANY_FIRST_NAP_NS 16000ull /* 16 us, doubling up to WEFT__CANCEL_NAP_NS */

int weft__wait_any_fallback(const struct weft__wait_word *words, unsigned n, const struct timespec *deadline,
			    const weft_cancel_t *cancel)
{
	uint64_t nap_ns = ANY_FIRST_NAP_NS;
	for (;;) {
		int rc = weft__wait_outcome(words, n, WEFT__WAIT_WOULD_SLEEP, cancel);
		if (rc != WEFT__WAIT_WOULD_SLEEP)
			return rc;
		struct timespec nap;
		const struct timespec *until = weft__wait_nap_until(deadline, nap_ns, &nap);
		rc = cancel != NULL
			     ? weft__wait_ctx_fallback(words[0].addr, words[0].expected, until, words[0].flags, cancel)
			     : weft__wait(words[0].addr, words[0].expected, until, words[0].flags);
		if (rc == WEFT_ETIMEDOUT && until == deadline)
			return weft__wait_outcome(words, n, WEFT_ETIMEDOUT, cancel);
		if (rc == WEFT_ETIMEDOUT && nap_ns < WEFT__CANCEL_NAP_NS)
			nap_ns *= 2;
		/* woken, cancelled, or a nap ended: the loop's top looks again */
	}
}
