/* SPDX-License-Identifier: MIT */
/*
 * wordlock.c - the waiting paths of the three-state futex word lock.  The
 * algorithm, its states, its transitions and its ordering are at the top of
 * src/wordlock.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* kill() under -std=c11 */
#endif
#include "wordlock.h"

#include <errno.h>
#include <signal.h>
#include <sys/types.h>

#include "fairness.h"
#include "wait.h"
#include "weft/debug.h"
#include "weft/deadline.h"
#include "weft/status.h"

/*
 * Watch the word as the spin preset @spin says (src/spinwait.c: the mutex's or
 * the rwlock's budget) and until @deadline; take it (state @taken: LOCKED, or
 * CONTENDED for a requeued thread; for an owned word, the holder's id and
 * LOCKED) if it comes free, or, if @take_handoff (a requeued thread), if it
 * is handed off.  Return: WEFT_OK (taken), WEFT_EBUSY (park now) or
 * WEFT_ETIMEDOUT.  The watcher backs off exponentially between checks (up to
 * 64 pauses): every check pulls the lock's cache line away from the holder,
 * so a watcher that looks less often lets the holder run its critical
 * sections at full speed.  This is the one spin loop of every word lock.
 */
static int spin_acquire(uint32_t *word, uint32_t taken, bool take_handoff, enum weft__spin_use spin,
			const struct timespec *deadline)
{
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, spin, deadline);
	int rc;
	do {
		/* relaxed: only a hint; the CAS is the acquire */
		uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
		uint32_t state = v & WEFT__WORD_STATE_MASK;
		/* acquire: pairs with the release CAS of the unlock (an owned
		 * word is free only as 0, so its counts are never kept) */
		if ((state == WEFT__WORD_UNLOCKED || (take_handoff && state == WEFT__WORD_HANDOFF)) &&
		    weft_atomic_cas(word, &v, (v & ~WEFT__WORD_STATE_MASK) | taken, WEFT_ACQUIRE, WEFT_RELAXED)) {
			if (state == WEFT__WORD_HANDOFF)
				weft__fair_handoff_taken(word); /* the rate limit, src/fairness.h */
			return WEFT_OK;
		}
	} while ((rc = weft__spinwait_step(&sw)) == WEFT_OK);
	return rc;
}

/* A parked waiter of a (not owned) word. */
struct parked {
	bool may_starve;              /* may count itself STARVING (not WEFT__WORD_NO_HANDOFF) */
	bool registered;              /* counted in WAITERS (FIFO words) */
	bool starving;                /* counted in STARVING */
	bool may_take_handoff;        /* registered, slept on the word, or requeued */
	struct weft__fair_clock clock; /* since the first sleep */
};

/* The word @v less @p's counts: what its acquisition or its leaving writes.
 * A count already at zero stays there (a dead waiter's counts may have been
 * cleared, see the overview). */
static uint32_t without_me(uint32_t v, const struct parked *p)
{
	if (p->registered && (v & WEFT__WORD_WAITER_MASK))
		v -= WEFT__WORD_WAITER_ONE;
	if (p->starving && (v & WEFT__WORD_STARVING_MASK))
		v -= WEFT__WORD_STARVING_ONE;
	return v;
}

/* Try to take the word as CONTENDED, leaving its counts; @v is the last
 * value seen (updated on failure).  acquire: pairs with the release CAS of
 * the unlock that freed or handed off the word.  A hand-off taken is noted
 * for the rate limit (src/fairness.h). */
static bool take(uint32_t *word, uint32_t *v, const struct parked *p)
{
	uint32_t next = (without_me(*v, p) & ~WEFT__WORD_STATE_MASK) | WEFT__WORD_CONTENDED;
	bool handed = (*v & WEFT__WORD_STATE_MASK) == WEFT__WORD_HANDOFF;
	if (!weft_atomic_cas(word, v, next, WEFT_ACQUIRE, WEFT_RELAXED))
		return false;
	if (handed)
		weft__fair_handoff_taken(word);
	return true;
}

/* Replace @*v by @next if the word still holds it (else @*v is reloaded).
 * relaxed: registering, counting oneself starving and marking CONTENDED
 * publish nothing (see the overview). */
static bool update(uint32_t *word, uint32_t *v, uint32_t next)
{
	if (!weft_atomic_cas(word, v, next, WEFT_RELAXED, WEFT_RELAXED))
		return false;
	*v = next;
	return true;
}

/* The deadline has passed: take the word if it is free or handed to us
 * (the hand-off must not be dropped), else leave it.  Return: WEFT_OK or
 * WEFT_ETIMEDOUT. */
static int give_up(uint32_t *word, const struct parked *p)
{
	/* relaxed: the CASes decide */
	uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
	for (;;) {
		uint32_t state = v & WEFT__WORD_STATE_MASK;
		if (state == WEFT__WORD_UNLOCKED || (state == WEFT__WORD_HANDOFF && p->may_take_handoff)) {
			if (take(word, &v, p))
				return WEFT_OK;
		} else if (without_me(v, p) == v || update(word, &v, without_me(v, p))) {
			return WEFT_ETIMEDOUT;
		}
	}
}

/*
 * The sleep of a waiter that stopped spinning: register, sleep while the
 * word is held, take it when free or handed off (see the overview).
 * @requeued: a thread that may have been moved onto the word asleep (it may
 * take a hand-off at once).  @cancel: a token (weft/cancel.h), or NULL; it is
 * read only around the sleeps (weft__wait_ctx()).  A waiter cancelled (or
 * timed out) leaves as give_up() says: with the word, if it was handed off
 * or freed meanwhile (so a hand-off is never dropped), else without.
 * Return: WEFT_OK (held), WEFT_ETIMEDOUT or WEFT_ECANCELED.
 */
static int park(uint32_t *word, const struct timespec *deadline, unsigned wflags, bool requeued,
		weft_cancel_t *cancel, bool may_starve)
{
	struct parked p = {may_starve, false, false, requeued, {0}};
	bool slept = false;
	/* relaxed: the CASes decide */
	uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
	for (;;) {
		uint32_t state = v & WEFT__WORD_STATE_MASK;
		if (state == WEFT__WORD_UNLOCKED || (state == WEFT__WORD_HANDOFF && p.may_take_handoff)) {
			if (take(word, &v, &p))
				return WEFT_OK;
			continue;
		}
		if (state != WEFT__WORD_HANDOFF) {
			uint32_t held = (v & ~WEFT__WORD_STATE_MASK) | WEFT__WORD_CONTENDED;
			if (!p.registered && (v & WEFT__WORD_FIFO) &&
			    (v & WEFT__WORD_WAITER_MASK) != WEFT__WORD_WAITER_MASK) {
				/* a FIFO word: register (a full count: sleep
				 * unregistered) */
				if (!update(word, &v, held + WEFT__WORD_WAITER_ONE))
					continue;
				p.registered = true;
				p.may_take_handoff = true;
			} else if (slept && p.may_starve && !p.starving && (v & WEFT__WORD_STARVING_MASK) == 0 &&
				   weft__fair_starving(&p.clock) && weft__fair_handoff_allowed(word)) {
				/* woken, beaten again, past the bound, nobody else
				 * starving and no hand-off for a bound: the next
				 * unlock hands the word to a sleeper */
				if (!update(word, &v, held + WEFT__WORD_STARVING_ONE))
					continue;
				p.starving = true;
			} else if (state == WEFT__WORD_LOCKED && !update(word, &v, held)) {
				continue;
			}
		}
		weft__fair_start(&p.clock); /* the first sleep starts the stopwatch */
		/* A word handed off to others: the registered waiters it was handed
		 * to take it at once, unless none is left (a process that died while
		 * registered, or, after fork(), the parent's threads that the child
		 * does not have).  So sleep at most a nap (WEFT__PSHARED_NAP_NS,
		 * private words too); WEFT__WAIT_NAPPED then takes a hand-off that
		 * nobody came for (below).  Otherwise process-shared words sleep in
		 * naps too, since an unlock is a CAS and then a wake-up call, and a
		 * process killed between the two would leave us asleep on a free (or
		 * handed-off) word (wait.h). */
		int rc = state == WEFT__WORD_HANDOFF
				 ? weft__wait_nap(word, v, deadline, WEFT__PSHARED_NAP_NS, wflags, cancel)
				 : weft__wait_napping_ctx(word, v, deadline, wflags, cancel);
		slept = true;
		p.may_take_handoff = true;
		/* a wake-up, or a hand-off, may race with the timeout or the cancel */
		if (rc == WEFT_ETIMEDOUT || rc == WEFT_ECANCELED)
			return give_up(word, &p) == WEFT_OK ? WEFT_OK : rc;
		uint32_t before = v;
		/* relaxed: the CASes decide */
		v = weft_atomic_load(word, WEFT_RELAXED);
		if (rc == WEFT__WAIT_NAPPED && v == before && (v & WEFT__WORD_STATE_MASK) == WEFT__WORD_HANDOFF) {
			/* handed off a whole nap ago and nobody came: the waiters it
			 * was for are gone (see the overview).  Take it and clear the
			 * counts.  acquire: as take() */
			if (weft_atomic_cas(word, &v, (v & WEFT__WORD_TAG_MASK) | WEFT__WORD_CONTENDED, WEFT_ACQUIRE,
					    WEFT_RELAXED))
				return WEFT_OK;
		}
	}
}

int weft__wordlock_lock_ctx(uint32_t *word, uint32_t tag, enum weft__spin_use spin, const struct timespec *deadline,
			    unsigned wflags, weft_cancel_t *cancel)
{
	(void)tag; /* the word carries its tag; the CASes keep it */
	bool may_starve = !(wflags & WEFT__WORD_NO_HANDOFF);
	wflags &= ~WEFT__WORD_NO_HANDOFF; /* the rest are the wait layer's flags */
	/* the spin looks at the word first, and at @deadline before its first
	 * pause; the token only when the caller is about to sleep */
	int rc = spin_acquire(word, WEFT__WORD_LOCKED, false, spin, deadline);
	return rc == WEFT_EBUSY ? park(word, deadline, wflags, false, cancel, may_starve) : rc;
}

int weft__wordlock_lock(uint32_t *word, uint32_t tag, enum weft__spin_use spin, const struct timespec *deadline,
			unsigned wflags)
{
	return weft__wordlock_lock_ctx(word, tag, spin, deadline, wflags, NULL);
}

void weft__wordlock_lock_contended(uint32_t *word, uint32_t tag, enum weft__spin_use spin, unsigned wflags)
{
	(void)tag;
	if (spin_acquire(word, WEFT__WORD_CONTENDED, true, spin, NULL) != WEFT_OK)
		(void)park(word, NULL, wflags, true, NULL, true);
}

/* The release of weft__wordlock_release(); @contended: the caller knows the
 * word was CONTENDED even if it now reads LOCKED (weft_mutex_unlock()'s
 * fetch_sub took CONTENDED to LOCKED: weft__wordlock_release_contended()). */
static void release(uint32_t *word, unsigned wflags, bool fair, bool contended)
{
	/* relaxed: the CAS decides */
	uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
	bool counted, blind, sleepers;
	for (;;) {
		bool in_line = fair || (v & WEFT__WORD_FIFO);
		sleepers = contended || (v & WEFT__WORD_STATE_MASK) == WEFT__WORD_CONTENDED;
		/* a counted waiter (starving; or, in line, registered) will come */
		counted = (v & WEFT__WORD_STARVING_MASK) || (in_line && (v & WEFT__WORD_WAITER_MASK));
		/* in line with sleepers nobody counted: hand off to the one the
		 * wake-up finds (it has slept, so it may take it) */
		blind = !counted && in_line && sleepers;
		uint32_t next = (v & ~WEFT__WORD_STATE_MASK) | (counted || blind ? WEFT__WORD_HANDOFF : WEFT__WORD_UNLOCKED);
		/* release: publishes what the holder did; pairs with the acquire
		 * CAS of the next holder (the one that takes the hand-off too) */
		if (weft_atomic_cas_weak(word, &v, next, WEFT_RELEASE, WEFT_RELAXED))
			break;
	}
	/* A counted hand-off wakes one even from LOCKED: a waiter may sleep
	 * while a spinner holds the word LOCKED (the sleeper it was woken in
	 * place of will mark it CONTENDED again, but later). */
	if (counted || (!blind && sleepers)) {
		weft__wake(word, 1, wflags);
		return;
	}
	if (!blind || weft__wake(word, 1, wflags) > 0)
		return;
	/* A blind hand-off that woke nobody: nobody was asleep (the CONTENDED
	 * mark outlived its sleepers).  Take it back; a thread that went to
	 * sleep on the HANDOFF word meanwhile is woken to look again (a thread
	 * on its way from a sleep finds the word free).  Only a blind one: the
	 * word may meanwhile have been taken and handed off again to a counted
	 * waiter, whose hand-off must stay (no barging past a starving waiter).
	 * relaxed load: the CAS decides; release: as above */
	v = weft_atomic_load(word, WEFT_RELAXED);
	while ((v & WEFT__WORD_STATE_MASK) == WEFT__WORD_HANDOFF && !(v & WEFT__WORD_STARVING_MASK) &&
	       !((fair || (v & WEFT__WORD_FIFO)) && (v & WEFT__WORD_WAITER_MASK)))
		if (weft_atomic_cas(word, &v, v & ~WEFT__WORD_STATE_MASK, WEFT_RELEASE, WEFT_RELAXED)) {
			weft__wake(word, 1, wflags);
			break;
		}
}

void weft__wordlock_release(uint32_t *word, unsigned wflags, bool fair)
{
	release(word, wflags, fair, false);
}

void weft__wordlock_release_contended(uint32_t *word, unsigned wflags)
{
	release(word, wflags, false, true);
}

/* ---- the owned word lock (see wordlock.h) --------------------------------- */

/* Whether kernel thread (or process) @id no longer exists. */
static bool holder_gone(uint32_t id)
{
	if (id == WEFT__WORDLOCK_SEALED)
		return false;
	int saved_errno = errno;
	bool gone = kill((pid_t)id, 0) != 0 && errno == ESRCH;
	errno = saved_errno;
	return gone;
}

int weft__wordlock_lock_owned(uint32_t *word, enum weft__spin_use spin, const struct timespec *deadline,
			      weft_cancel_t *cancel, bool *stolen)
{
	const uint32_t me = weft_debug_self() << 2;
	*stolen = false;
	uint32_t v = 0;
	/* acquire: pairs with the release exchange of weft__wordlock_unlock_owned() */
	if (weft_atomic_cas(word, &v, me | WEFT__WORD_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED))
		return WEFT_OK;
	/* An owned word is free only as 0 (its unlock stores 0), so the word
	 * lock's spin (which keeps no counts of a 0 word) takes it as
	 * me | LOCKED. */
	int rc = spin_acquire(word, me | WEFT__WORD_LOCKED, false, spin, deadline);
	if (rc != WEFT_EBUSY)
		return rc;
	for (;;) {
		v = weft_atomic_load(word, WEFT_RELAXED); /* relaxed: the CASes below decide */
		if (v == 0) {
			/* CONTENDED: we slept, others may sleep (see the overview).
			 * acquire: as above */
			if (weft_atomic_cas(word, &v, me | WEFT__WORD_CONTENDED, WEFT_ACQUIRE, WEFT_RELAXED))
				return WEFT_OK;
			continue;
		}
		uint32_t want = (v & ~WEFT__WORD_STATE_MASK) | WEFT__WORD_CONTENDED;
		/* relaxed: only tells the holder to wake someone */
		if (v != want && !weft_atomic_cas(word, &v, want, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		int wrc = weft__wait_napping_ctx(word, want, deadline, WEFT_PSHARED, cancel);
		if (wrc == WEFT_OK)
			continue;
		if (wrc == WEFT_ETIMEDOUT || wrc == WEFT_ECANCELED) {
			/* the caller's deadline, or its cancel: one last look */
			v = 0;
			return weft_atomic_cas(word, &v, me | WEFT__WORD_CONTENDED, WEFT_ACQUIRE, WEFT_RELAXED)
				       ? WEFT_OK
				       : wrc;
		}
		/* A nap ended with no wake-up: is the holder still there?  acquire
		 * on the take-over: we read what the dead holder wrote */
		v = weft_atomic_load(word, WEFT_RELAXED);
		if (v == want && holder_gone(v >> 2) &&
		    weft_atomic_cas(word, &v, me | WEFT__WORD_CONTENDED, WEFT_ACQUIRE, WEFT_RELAXED)) {
			*stolen = true;
			return WEFT_OK;
		}
	}
}

void weft__wordlock_unlock_owned(uint32_t *word)
{
	/* release: publishes what the holder did; pairs with the acquire CAS of
	 * the next holder */
	uint32_t old = weft_atomic_exchange(word, 0u, WEFT_RELEASE);
	if ((old & WEFT__WORD_STATE_MASK) == WEFT__WORD_CONTENDED)
		weft__wake(word, 1, WEFT_PSHARED);
}

bool weft__wordlock_take_from_dead(uint32_t *word)
{
	/* relaxed: the CAS below decides */
	uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
	if (v == 0 || !holder_gone(v >> 2))
		return false;
	/* acquire: we read what the dead holder wrote */
	return weft_atomic_cas(word, &v, (weft_debug_self() << 2) | (v & WEFT__WORD_STATE_MASK), WEFT_ACQUIRE,
			       WEFT_RELAXED);
}

void weft__wordlock_owned_seal(uint32_t *word, bool sealed)
{
	uint32_t id = sealed ? WEFT__WORDLOCK_SEALED : weft_debug_self();
	/* relaxed: only the holder changes the id bits; waiters only add
	 * CONTENDED, which the CAS keeps */
	uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
	while (!weft_atomic_cas_weak(word, &v, (id << 2) | (v & WEFT__WORD_STATE_MASK), WEFT_RELAXED, WEFT_RELAXED))
		;
}

bool weft__wordlock_trylock_owned(uint32_t *word, bool *stolen)
{
	*stolen = false;
	uint32_t v = 0;
	/* acquire: pairs with the release exchange of weft__wordlock_unlock_owned() */
	if (weft_atomic_cas(word, &v, (weft_debug_self() << 2) | WEFT__WORD_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED))
		return true;
	*stolen = weft__wordlock_take_from_dead(word);
	return *stolen;
}
