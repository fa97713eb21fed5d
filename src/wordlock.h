/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_WORDLOCK_H
#define WEFT_SRC_WORDLOCK_H

/*
 * wordlock.h - the three-state futex word lock, written once for every weft
 * lock built on one: weft_mutex_t's word, the rwlock's queue word and the
 * brlock's writer lock.
 *
 * Algorithm: U. Drepper, "Futexes Are Tricky" (2011), mutex #3, with the
 * eventual fairness of WebKit's WTF::Lock and Rust's parking_lot and the
 * hand-off of Linux's mutex (src/fairness.h).  The low two bits of the word
 * are the state:
 *
 *     UNLOCKED   0  nobody holds it
 *     LOCKED     1  held, and nobody sleeps on it
 *     CONTENDED  2  held, and threads may be asleep on it
 *     HANDOFF    3  released to a waiter: held on its behalf; only a
 *                   counted waiter (below) or a thread that has slept on the
 *                   word may take it, never the fast path, a spinner or a
 *                   trylock
 *
 * Above them, two counts the waiters keep (not in an owned word, below):
 *
 *     WAITERS    bits 2..16   waiters registered on a FIFO word (only there:
 *                             on a busy lock the churn of a count every
 *                             sleeper changes cost 20% of its throughput)
 *     STARVING   bits 17..29  waiters that slept, lost, and have waited longer
 *                             than the fairness bound (src/fairness.h)
 *
 * and the caller's @tag in bits 30..31, constant for the word's life (the
 * mutex keeps its process-shared bit and its FIFO bit there); every store
 * writes them back unchanged.  A free word with no waiter equals @tag.
 *
 * Transitions, as (old state -> new state):
 *   trylock:  UNLOCKED -> LOCKED     by CAS (the counts kept)
 *   spin:     UNLOCKED -> LOCKED     by CAS, after watching the word with
 *                                    exponential backoff as the spin preset
 *                                    @spin says (src/spinwait.h)
 *   park:     a waiter that stops spinning marks the word CONTENDED (on a
 *             FIFO word it registers, WAITERS + 1, in the same CAS) and
 *             sleeps on it; its first sleep starts its stopwatch.  It takes
 *             UNLOCKED (or, counted or having slept, HANDOFF) -> CONTENDED by
 *             a CAS that also removes its counts.  Woken and beaten again
 *             after the fairness bound, it counts itself STARVING + 1, if
 *             nobody else is starving and the lock had no hand-off in the
 *             last bound (the rate limit of src/fairness.h).
 *   unlock:   LOCKED with nobody starving, not FIFO -> UNLOCKED by CAS,
 *             inline.  Otherwise -> HANDOFF and wake one if a counted waiter
 *             will come (STARVING > 0; or, for a FIFO word or a fair unlock,
 *             WAITERS > 0); else, for a FIFO word or a fair unlock of a
 *             CONTENDED word, -> HANDOFF "blind" and wake one, taken back
 *             (-> UNLOCKED, and one more wake-up) if the wake-up found
 *             nobody; else -> UNLOCKED, waking one if it was CONTENDED.
 *
 * Why a hand-off is never dropped: a counted hand-off is made only while a
 * counted waiter exists, and a counted waiter leaves the word only by a CAS
 * that takes the lock or (at its deadline, or cancelled) removes its counts;
 * a CAS that finds HANDOFF takes the lock instead (a timed waiter then
 * returns WEFT_OK although its deadline has just passed).  So some counted
 * waiter reaches the word and takes it: the one the wake-up call woke, or one
 * that was on its way to sleep.  A blind hand-off is kept only if its
 * wake-up woke a sleeper of the word (weft__wake() counts them), which has
 * slept, so may take it, and will look.  A thread the wake-up finds instead
 * of a counted waiter (a newcomer that slept on the HANDOFF word, or a
 * requeued condition waiter) has slept on the word, so it may take it too.
 * (The portable backend counts a bucket's sleepers, words share buckets: a
 * blind hand-off there may wait for the nap below.)

 * A thread that slept takes the word as CONTENDED, not LOCKED: it cannot know
 * whether others still sleep, so its unlock must wake one (at worst a wake-up
 * call that finds nobody).  The same holds for a thread that a
 * condition-variable broadcast requeued onto the word (it slept without
 * registering): weft__wordlock_lock_contended() takes the word only as
 * CONTENDED, spinning included, and may take a HANDOFF word (it may be the
 * sleeper the hand-off's wake-up call reached).  A timed lock that gives up
 * may leave the word CONTENDED for its sake: the next unlock then makes one
 * wake-up call that finds nobody.
 *
 * Waiters that are gone.  A process-shared holder killed between its HANDOFF
 * CAS and its wake-up call leaves the sleepers to their naps (wait.h), after
 * which one takes the word (it has slept).  A waiter killed while counted
 * leaves its counts behind, and so do, in a child of fork(), the parent's
 * threads that were counted: a hand-off may then be made to nobody.  A
 * thread that sleeps on a HANDOFF word it may not take sleeps at most a nap
 * (WEFT__PSHARED_NAP_NS, 50 ms, private words too); if the word is still the
 * same HANDOFF when the nap ends, nobody came for it: it takes it and clears
 * the counts (the live waiters' own removals floor at zero).  Fairness is
 * lost for a moment, never the lock; a trylock fails until then.
 *
 * Ordering: every successful acquisition (a CAS that finds UNLOCKED, or
 * HANDOFF) is an acquire that pairs with the release RMW of the unlock whose
 * value it read (a CAS; weft_mutex_unlock()'s fetch_sub of a LOCKED word);
 * a failed one orders nothing.  The loads that only watch the
 * word, and the CASes that register, mark CONTENDED or count a starving
 * waiter, are relaxed: they publish nothing, the acquiring CAS re-checks the
 * word, and the futex compares the word's current value, so a stale look can
 * cost a pause, never a missed wake-up.  (An RMW of another thread between
 * an unlock and the next acquisition continues the unlock's release
 * sequence.)
 *
 * No ThreadSanitizer annotation, owner mark or lock-order record is made here:
 * those are the callers' header wrappers (include/weft/lockhooks.h).
 *
 * @wflags of every call: 0, or WEFT_PSHARED for a word in shared memory (the
 * shared futex flavour); for the lock calls also WEFT__WORD_NO_HANDOFF (below).
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "spinwait.h"
#include "weft/atomic.h"
#include "weft/cancel.h"
#include "weft/config.h"

#define WEFT__WORD_UNLOCKED 0u
#define WEFT__WORD_LOCKED 1u
#define WEFT__WORD_CONTENDED 2u
#define WEFT__WORD_HANDOFF 3u
#define WEFT__WORD_STATE_MASK 3u
#define WEFT__WORD_WAITER_ONE 0x00000004u
#define WEFT__WORD_WAITER_MASK 0x0001fffcu
#define WEFT__WORD_STARVING_ONE 0x00020000u
#define WEFT__WORD_STARVING_MASK 0x3ffe0000u
#define WEFT__WORD_FIFO 0x40000000u     /* tag bit: every unlock with a registered waiter hands off */
#define WEFT__WORD_TAG_MASK 0xc0000000u /* the caller's constant bits */

/* A @wflags bit of weft__wordlock_lock() and weft__wordlock_lock_ctx(): this
 * waiter never counts itself STARVING, so no unlock hands the word to it; it
 * waits as a barging waiter does, and other waiters' hand-offs still apply.
 * For a word whose waiters are not all owed the bound: the rwlock's queue,
 * whose readers are starved by design only by writers (writer preference),
 * and whose reader hand-offs cost its writers most of their throughput when
 * the threads outnumber the CPUs (the woken reader holds the queue until the
 * scheduler runs it; src/rwlock.c, rwl_rdlock()). */
#define WEFT__WORD_NO_HANDOFF 0x80000000u

/* UNLOCKED -> LOCKED if the word is free now (waiters' counts kept).
 * Return: whether we own it. */
static inline bool weft__wordlock_trylock(uint32_t *word, uint32_t tag)
{
	uint32_t v = tag | WEFT__WORD_UNLOCKED;
	/* acquire: pairs with the release RMW in weft__wordlock_unlock() (or
	 * weft_mutex_unlock()); a failed CAS orders nothing and returns the word */
	while (!weft_atomic_cas(word, &v, v | WEFT__WORD_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED))
		if ((v & WEFT__WORD_STATE_MASK) != WEFT__WORD_UNLOCKED)
			return false;
	return true;
}

/*
 * weft__wordlock_release() - the unlock of a word that is not plain LOCKED
 * (the inline unlock's CAS failed), or a fair unlock (@fair: hand off to any
 * registered waiter).  See the overview for the choice between HANDOFF and
 * UNLOCKED.
 */
void weft__wordlock_release(uint32_t *word, unsigned wflags, bool fair);

/*
 * weft__wordlock_release_contended() - the rest of an inline unlock whose
 * fetch_sub(LOCKED) found the word CONTENDED (a waiter marked it between the
 * holder's look and the RMW): CONTENDED - 1 is LOCKED, so the word is still
 * held, by the caller, but no longer says that threads may sleep on it.
 * Release it as above, as the CONTENDED word it was (wake one, or hand off).
 */
void weft__wordlock_release_contended(uint32_t *word, unsigned wflags);

/* LOCKED -> UNLOCKED inline, else the slow release. */
static inline void weft__wordlock_unlock(uint32_t *word, uint32_t tag, unsigned wflags)
{
	uint32_t expected = tag | WEFT__WORD_LOCKED;
	/* release: publishes what the holder did; pairs with the acquire CAS of
	 * the next locker */
	if (WEFT_UNLIKELY(!weft_atomic_cas(word, &expected, tag | WEFT__WORD_UNLOCKED, WEFT_RELEASE, WEFT_RELAXED)))
		weft__wordlock_release(word, wflags, false);
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
 * weft__wordlock_lock_ctx() - weft__wordlock_lock() that also gives up when
 * @cancel (weft/cancel.h; NULL: none) is cancelled.  The token is read only
 * when the caller would sleep (weft__wait_ctx()).  A waiter cancelled as the
 * word is freed or handed to it takes it: a hand-off is never dropped.
 * Return: WEFT_OK (held), WEFT_ETIMEDOUT or WEFT_ECANCELED (not held).
 */
int weft__wordlock_lock_ctx(uint32_t *word, uint32_t tag, enum weft__spin_use spin, const struct timespec *deadline,
			    unsigned wflags, weft_cancel_t *cancel);

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
int weft__wordlock_lock_owned(uint32_t *word, enum weft__spin_use spin, const struct timespec *deadline,
			      weft_cancel_t *cancel /* NULL: none; as weft__wordlock_lock_ctx() */, bool *stolen);
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
