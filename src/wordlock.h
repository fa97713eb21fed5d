/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_WORDLOCK_H
#define WEFT_SRC_WORDLOCK_H

/*
 * wordlock.h - the three-state futex word lock, written once for every weft
 * lock built on one: weft_mutex_t's word, the rwlock's queue word and the
 * brlock's writer lock.
 *
 * Algorithm: U. Drepper, "Futexes Are Tricky" (2011), mutex #3.  The low two
 * bits of the word are the state:
 *
 *     UNLOCKED   0  nobody holds it
 *     LOCKED     1  held, and nobody sleeps on it
 *     CONTENDED  2  held, and threads may be asleep on it
 *
 * The other bits are the caller's @tag, constant for the word's life (the
 * mutex keeps its process-shared bit there); every store writes them back
 * unchanged, and a word whose state bits are UNLOCKED equals @tag.
 *
 * Transitions, as (old state -> new state):
 *   trylock:  UNLOCKED -> LOCKED     by CAS
 *   spin:     UNLOCKED -> LOCKED     by CAS, after watching the word with
 *                                    exponential backoff as the spin preset
 *                                    @spin says (src/spinwait.h)
 *   park:     any      -> CONTENDED  by exchange; the caller owns the lock iff
 *                                    the old state was UNLOCKED, else it sleeps
 *                                    on the word while it says CONTENDED
 *   unlock:   any      -> UNLOCKED   by exchange; wake one sleeper iff the old
 *                                    state was CONTENDED
 *
 * A thread that slept takes the word as CONTENDED (the park exchange), not
 * LOCKED: it cannot know whether others still sleep, so its unlock must wake
 * one (at worst a wake-up call that finds nobody).  The same holds for a
 * thread that a condition-variable broadcast requeued onto the word (it slept
 * without being counted): weft__wordlock_lock_contended() takes the word only
 * as CONTENDED, spinning included.  A timed lock that gives up may leave the
 * word CONTENDED for its sake: the next unlock then makes one wake-up call that
 * finds nobody.
 *
 * Ordering: every successful acquisition (CAS or exchange returning UNLOCKED)
 * is an acquire that pairs with the release exchange of the unlock whose value
 * it read; a failed one orders nothing.  The loads that only watch the word are
 * relaxed: the CAS or exchange re-checks it, and the futex compares the word's
 * current value, so a stale look can cost a pause, never a missed wake-up.
 *
 * No ThreadSanitizer annotation, owner mark or lock-order record is made here:
 * those are the callers' header wrappers (include/weft/lockhooks.h).
 *
 * @wflags of every call: 0, or WEFT_PSHARED for a word in shared memory (the
 * shared futex flavour).
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "spinwait.h"
#include "weft/atomic.h"
#include "weft/config.h"

#define WEFT__WORD_UNLOCKED 0u
#define WEFT__WORD_LOCKED 1u
#define WEFT__WORD_CONTENDED 2u
#define WEFT__WORD_STATE_MASK 3u

/* UNLOCKED -> LOCKED if the word is free now.  Return: whether we own it. */
static inline bool weft__wordlock_trylock(uint32_t *word, uint32_t tag)
{
	uint32_t expected = tag | WEFT__WORD_UNLOCKED;
	/* acquire: pairs with the release exchange in weft__wordlock_unlock()
	 * (or weft_mutex_unlock()) */
	return weft_atomic_cas(word, &expected, tag | WEFT__WORD_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED);
}

/* Wake one thread sleeping on the word (the unlock of a CONTENDED word). */
void weft__wordlock_wake(uint32_t *word, unsigned wflags);

/* any -> UNLOCKED; wake one sleeper if it was CONTENDED. */
static inline void weft__wordlock_unlock(uint32_t *word, uint32_t tag, unsigned wflags)
{
	/* release: publishes what the holder did; pairs with the acquire CAS or
	 * exchange of the next locker */
	uint32_t old = weft_atomic_exchange(word, tag | WEFT__WORD_UNLOCKED, WEFT_RELEASE);
	if (WEFT_UNLIKELY((old & WEFT__WORD_STATE_MASK) == WEFT__WORD_CONTENDED))
		weft__wordlock_wake(word, wflags);
}

/*
 * weft__wordlock_lock() - take the word: watch it as the spin preset @spin
 * says (src/spinwait.c; a first look, then pauses, none once @deadline has
 * passed); then park.
 * @deadline: absolute CLOCK_MONOTONIC time, valid, or NULL for none.
 * Return: WEFT_OK (held) or WEFT_ETIMEDOUT.
 */
int weft__wordlock_lock(uint32_t *word, uint32_t tag, enum weft__spin_use spin, const struct timespec *deadline,
			unsigned wflags);

/*
 * weft__wordlock_lock_contended() - take the word, leaving it CONTENDED, for a
 * thread that may have been requeued onto it (see the overview).
 */
void weft__wordlock_lock_contended(uint32_t *word, uint32_t tag, enum weft__spin_use spin, unsigned wflags);

/*
 * The owned word lock: a process-shared word that also names its holder, for
 * locks held only while a thread *waits* (the rwlock's queue), so that the
 * death of a process that held nothing but its place in line cannot stop the
 * others for ever.  The word is 0 when free, else (holder << 2) | state, the
 * holder being the kernel thread id (weft_debug_self(); ids fit in 30 bits,
 * pid_max <= 2^22) and the state LOCKED or CONTENDED as above.  A sleeper
 * naps (WEFT__PSHARED_NAP_NS, src/wait.h) and, when a nap ends with the word
 * unchanged, asks the kernel whether the holder still exists (kill(id, 0),
 * ESRCH: gone); if not, it takes the word over with a CAS and is told so
 * (*@stolen = true), to repair what the dead holder's role left behind.
 * Limits: a recycled thread id looks alive (the sleepers then wait as
 * before); processes in different pid namespaces see different ids.
 * Always the shared futex flavour.
 */
int weft__wordlock_lock_owned(uint32_t *word, enum weft__spin_use spin, const struct timespec *deadline, bool *stolen);
void weft__wordlock_unlock_owned(uint32_t *word);
/* An owned word whose holder has sealed it is never taken over: its holder
 * got what the word guards (the brlock's write lock), and a dead holder of
 * that keeps it.  weft__wordlock_owned_seal(word, true) replaces the holder's
 * id with WEFT__WORDLOCK_SEALED, (word, false) puts it back (before a
 * release, so that a holder killed while releasing can be replaced). */
#define WEFT__WORDLOCK_SEALED 0x3fffffffu
void weft__wordlock_owned_seal(uint32_t *word, bool sealed);
/* trylock of an owned word: free, or held by a holder that is gone (taken
 * over: *@stolen).  Return: whether the caller holds it. */
bool weft__wordlock_trylock_owned(uint32_t *word, bool *stolen);

/* Take an owned word over from a holder that is gone (as a sleeper's nap
 * does), for a caller that polls instead of sleeping.  Return: whether the
 * caller now holds the word (the state bits are kept: unlock wakes a sleeper
 * if there may be one). */
bool weft__wordlock_take_from_dead(uint32_t *word);

#endif /* WEFT_SRC_WORDLOCK_H */
