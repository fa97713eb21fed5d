/* SPDX-License-Identifier: MIT */
#ifndef WEFT_MUTEX_H
#define WEFT_MUTEX_H

/*
 * mutex.h - a 4-byte blocking mutex: futex lock with bounded adaptive
 * spinning and eventual fairness.
 *
 * Algorithm: U. Drepper, "Futexes Are Tricky" (2011), mutex #3, with the
 * hand-off of eventual fairness (WebKit's WTF::Lock, Rust's parking_lot,
 * Linux's MUTEX_FLAG_HANDOFF; src/fairness.h).  The low two bits of the word
 * are the state:
 *
 *     UNLOCKED   0  nobody holds it
 *     LOCKED     1  held, and nobody sleeps on it
 *     CONTENDED  2  held, and threads may be asleep on it
 *     HANDOFF    3  released to a sleeper, held on its behalf
 *
 * lock:    CAS 0 -> 1 (the fast path, inline; a free word with sleepers'
 *          counts in it is taken inline too, by a second CAS).  Failing that, watch the word
 *          for UNLOCKED with exponential backoff for a bounded number of pause
 *          instructions, retrying the CAS; then register as a waiter (a count
 *          in the word), mark the word CONTENDED and sleep on it.
 * unlock:  load the word, CAS LOCKED -> UNLOCKED from the value seen (the
 *          fast path, inline; sleepers' counts and the tag bits kept, nobody
 *          starving, not FIFO).  Failing that: hand off
 *          if a waiter is starving, else release and wake one sleeper if the
 *          word was CONTENDED.
 *
 * A thread that slept takes the word as CONTENDED (not LOCKED), because it
 * cannot know whether others still sleep: at worst one unlock makes a wake-up
 * call that finds nobody.  The uncontended lock and unlock are one atomic
 * instruction each and make no call.
 *
 * The spin bound (weft_mutex_set_spin(), default WEFT_MUTEX_SPIN_DEFAULT) is
 * the number of pause instructions a contended locker spends watching before
 * it sleeps.  On a VM a futex wake that crosses CPUs costs tens of
 * microseconds, so a short spin that catches the holder's unlock saves far
 * more than it burns; the backoff between checks keeps the watcher from
 * stealing the lock's cache line from the holder on every pause.
 * docs/mutex.md shows the sweep that chose the default.
 *
 * Fairness.  An arriving thread may take a free lock ahead of one that was
 * woken (barging), which keeps contended throughput high.  But no sleeper
 * starves: a sleeper that has waited longer than the fairness bound
 * (weft_mutex_set_fair_bound(), default WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT,
 * chosen by the sweep in docs/mutex.md), woken and beaten again, counts
 * itself starving in the word, and the next unlock hands the lock to a
 * sleeper (HANDOFF: the fast path, spinners and trylock cannot take it).  At
 * most one sleeper is starving at a time and a lock gets at most one such
 * hand-off per bound (parking_lot's fair timeout: more would make a busy lock
 * a convoy).  weft_mutex_unlock_fair() hands off to a sleeper if one waits;
 * a mutex made with WEFT_FIFO does so at every unlock (its sleepers register
 * in the word), so that no thread that has not slept takes the lock ahead of
 * one that has.  Among the sleepers, the one the kernel wakes (the longest
 * sleeper, for threads of normal priority on Linux) usually gets it; a
 * counted one on its way to sleep may take it first.
 *
 * The word: bits 0..1 the state; bits 2..16 the number of registered
 * sleepers (WEFT_FIFO words only); bits 17..29 the number of starving ones;
 * bit 30 WEFT_FIFO (WEFT_MUTEX_FIFO_BIT); bit 31 WEFT_PSHARED
 * (WEFT_MUTEX_PSHARED_BIT), so that the slow paths use the shared futex
 * flavour.  The lock's fast path CAS expects exactly 0; when it fails on a
 * word that is free with counts or flag bits in it, a second CAS inline takes
 * it keeping them, so a process-shared lock takes two CASes and no call.  The
 * unlock's one CAS starts from the word it loaded, so it keeps them at no
 * extra cost.
 *
 * Process-shared: a process killed while it hands the lock off, or while it
 * sleeps counted, cannot hang the others: sleepers nap (50 ms) and take a
 * hand-off that nobody came for (src/wordlock.h).
 *
 * Progress: blocking.  Fairness: eventual (above), strict FIFO among sleepers
 * with WEFT_FIFO.
 *
 * Ordering: a successful lock (lock, trylock, timedlock returning WEFT_OK) is
 * an acquire and unlock a release: everything the previous holder wrote before
 * unlocking is visible after locking.  A failed trylock or timedlock has no
 * ordering.
 *
 * Footprint: 4 bytes (8 with WEFT_DEBUG, which adds the owner's thread id).
 * All-zero is an unlocked private mutex; WEFT_MUTEX_INIT is the same.
 *
 * WEFT_DEBUG changes the struct layout: weft_mutex_t grows from one 32-bit
 * word to two (`owner` after `state`), and so does every struct of yours
 * that embeds one (no weft type embeds a mutex).  Every translation unit that
 * shares a mutex must therefore agree on WEFT_DEBUG: a program must not mix
 * debug and release objects (a release unit would write only the word, a
 * debug unit would read an owner that is not there).  The library itself may
 * be built either way: its out-of-line paths touch only the word.
 *
 * WEFT_DEBUG: unlocking a mutex the caller does not hold, locking it again from
 * its owner, destroying it while held, and locking a private mutex (no
 * WEFT_PSHARED) that a thread of another process holds abort with a message
 * that names the mutex's address (and, for the last, the fix).  Under ThreadSanitizer the mutex carries the __tsan_mutex_*
 * annotations, so TSan checks it as it checks pthread mutexes, lock-order
 * inversions included.  The owner checks, lock-order records and TSan
 * annotations are all made by the inline hooks of lockhooks.h, in the caller's
 * translation unit, never by src/mutex.c (whose word lock is src/wordlock.c):
 * a TSan program linked against a release library sees them all.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "cancel.h"
#include "config.h"
#include "deadline.h"
#include "debug.h"
#include "lockhooks.h"
#include "status.h"

WEFT_EXTERN_C_BEGIN

/* The state word (see the overview). */
#define WEFT_MUTEX_UNLOCKED 0u
#define WEFT_MUTEX_LOCKED 1u
#define WEFT_MUTEX_CONTENDED 2u
#define WEFT_MUTEX_HANDOFF 3u
#define WEFT_MUTEX_STATE_MASK 3u
#define WEFT_MUTEX_WAITER_ONE 0x00000004u     /* one registered sleeper (WEFT_FIFO) */
#define WEFT_MUTEX_WAITERS_MASK 0x0001fffcu   /* bits 2..16 */
#define WEFT_MUTEX_STARVING_ONE 0x00020000u   /* one starving sleeper */
#define WEFT_MUTEX_STARVING_MASK 0x3ffe0000u  /* bits 17..29 */
#define WEFT_MUTEX_FIFO_BIT 0x40000000u
#define WEFT_MUTEX_PSHARED_BIT 0x80000000u

/* weft_mutex_init() flag: every unlock with a registered sleeper hands the
 * lock to a sleeper (strict FIFO hand-off; see the overview). */
#define WEFT_FIFO 0x4u

/* How long a sleeper may wait before the lock is handed to it, chosen by the
 * sweep in docs/mutex.md (weft_mutex_set_fair_bound()). */
#define WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT 1000000ull

/* Pause instructions a contended locker spends before sleeping, chosen by the
 * sweep in docs/mutex.md. */
#define WEFT_MUTEX_SPIN_DEFAULT 400u

typedef struct WEFT_CAPABILITY("mutex") weft_mutex {
	uint32_t state; /* state | counts | WEFT_MUTEX_FIFO_BIT | WEFT_MUTEX_PSHARED_BIT */
#ifdef WEFT_DEBUG
	uint32_t owner; /* weft_debug_self() of the holder, 0 when free */
#endif
} weft_mutex_t;

#ifndef WEFT_DEBUG
WEFT_STATIC_ASSERT(sizeof(weft_mutex_t) == 4, "weft_mutex_t is one 32-bit word");
#endif

#define WEFT_MUTEX_INIT {0}

WEFT_NOINLINE WEFT_COLD void weft_mutex_lock_slow(weft_mutex_t *mutex);
WEFT_NOINLINE WEFT_COLD void weft_mutex_unlock_slow(weft_mutex_t *mutex, bool fair);
WEFT_NOINLINE WEFT_COLD void weft_mutex_unlock_contended_slow(weft_mutex_t *mutex);
int weft_mutex_timedlock_slow(weft_mutex_t *mutex, const struct timespec *deadline);
WEFT_NOINLINE WEFT_COLD int weft_mutex_lock_ctx_slow(weft_mutex_t *mutex, const struct timespec *deadline,
						     weft_cancel_t *cancel);
bool weft_mutex_trylock_slow(weft_mutex_t *mutex);

/**
 * weft_mutex_set_spin() - set how many pause instructions a contended locker
 * spends watching the lock before it sleeps, for every weft_mutex_t in the
 * process.
 * @pauses: the new bound; 0 checks once and then sleeps.
 *
 * A tuning knob for measurements and unusual machines; the default was chosen
 * by measurement (docs/mutex.md).
 *
 * Context: any thread, at any time.
 * Return: the previous bound.
 */
unsigned weft_mutex_set_spin(unsigned pauses);

/**
 * weft_mutex_set_fair_bound() - set how long a sleeper may wait before the
 * lock is handed to it, for every weft lock with eventual fairness in the
 * process (weft_mutex_t, the queue of weft_rwlock_t, the writers of
 * weft_brlock_t).
 * @ns: the new bound in nanoseconds; 0 hands off as soon as a woken sleeper
 * loses the lock once.
 *
 * A tuning knob for measurements; the default (WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT)
 * was chosen by measurement (docs/mutex.md).  A waiter that reads the old
 * bound for a moment only starves a moment more or less.
 *
 * Context: any thread, at any time.
 * Return: the previous bound.
 */
uint64_t weft_mutex_set_fair_bound(uint64_t ns);

/**
 * weft_mutex_init() - initialize an unlocked mutex.
 * @mutex: the mutex.
 * @flags: 0, or any of WEFT_PSHARED (a mutex in memory shared between
 * processes) and WEFT_FIFO (every unlock hands the lock to a sleeper if there
 * is one: no thread that has not slept takes it ahead of one that has).
 *
 * A private mutex without WEFT_FIFO may instead be set to WEFT_MUTEX_INIT or
 * zero-filled.
 *
 * Context: any thread; the mutex must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL for an unknown flag (the mutex is untouched).
 */
WEFT_NODISCARD static inline int weft_mutex_init(weft_mutex_t *mutex, unsigned flags)
{
	if (flags & ~(WEFT_PSHARED | WEFT_FIFO))
		return WEFT_EINVAL;
	/* relaxed: the mutex is not shared yet; publishing it is the caller's job */
	weft_atomic_store(&mutex->state,
			  ((flags & WEFT_PSHARED) ? WEFT_MUTEX_PSHARED_BIT : 0u) | ((flags & WEFT_FIFO) ? WEFT_MUTEX_FIFO_BIT : 0u),
			  WEFT_RELAXED);
	weft__lock_create(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX);
	return WEFT_OK;
}

/*
 * weft__mutex_acquire() / weft__mutex_release() - the bare lock and unlock:
 * the word-lock fast paths, with none of the hooks of lockhooks.h.  The public
 * calls below wrap them in the hooks; nothing else should call them.
 */
static inline void weft__mutex_acquire(weft_mutex_t *mutex)
{
	uint32_t v = WEFT_MUTEX_UNLOCKED;
	/* acquire: pairs with the release RMW (fetch_sub, or CAS) in
	 * weft__mutex_release() or weft_mutex_unlock_slow() */
	if (WEFT_LIKELY(weft_atomic_cas(&mutex->state, &v, WEFT_MUTEX_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED)))
		return;
	/* Free, but with sleepers' counts or a tag bit in the word (the failed
	 * CAS returned it): take it as the word lock's spin would, counts kept
	 * (while a sleeper starves the word is never free: see the overview).
	 * Contended barging stays inline; acquire: as above. */
	if ((v & WEFT_MUTEX_STATE_MASK) == WEFT_MUTEX_UNLOCKED &&
	    weft_atomic_cas(&mutex->state, &v, v | WEFT_MUTEX_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED))
		return;
	weft_mutex_lock_slow(mutex);
}

static inline void weft__mutex_release(weft_mutex_t *mutex)
{
	/* The holder looks at the word first.  LOCKED, perhaps with sleepers'
	 * counts or the pshared bit, nobody starving, not FIFO, is a plain
	 * release that wakes nobody: state - 1 by fetch_sub, counts and tag
	 * kept (one locked instruction, and cheaper than a CAS: 4.6 against
	 * 5.3 ns per lock/unlock pair on the development VM's EPYC).  Anything
	 * else (CONTENDED: wake one; a starving sleeper or a FIFO word: hand
	 * off) is the slow path's.  relaxed load: the holder's own look.
	 *
	 * Between the look and the fetch_sub a waiter can only mark the word
	 * CONTENDED, perhaps counting itself STARVING in the same CAS
	 * (src/wordlock.c, park()); nobody else changes the state of a held
	 * word.  So the fetch_sub found either LOCKED, still with nobody
	 * starving (a count is only ever added together with the CONTENDED
	 * mark): the word is free; or CONTENDED: CONTENDED - 1 is LOCKED, still
	 * ours, and the slow path releases it as the CONTENDED word it was,
	 * waking one or handing off.  release: publishes the critical section;
	 * pairs with the acquire CAS of the next locker. */
	uint32_t v = weft_atomic_load(&mutex->state, WEFT_RELAXED);
	if (WEFT_LIKELY((v & (WEFT_MUTEX_STATE_MASK | WEFT_MUTEX_STARVING_MASK | WEFT_MUTEX_FIFO_BIT)) ==
			WEFT_MUTEX_LOCKED)) {
		v = weft_atomic_fetch_sub(&mutex->state, WEFT_MUTEX_LOCKED, WEFT_RELEASE);
		if (WEFT_UNLIKELY((v & WEFT_MUTEX_STATE_MASK) != WEFT_MUTEX_LOCKED))
			weft_mutex_unlock_contended_slow(mutex);
		return;
	}
	weft_mutex_unlock_slow(mutex, false);
}

/**
 * weft_mutex_trylock() - take the mutex if it is free.
 * @mutex: the mutex.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire on success, none on failure.
 * Return: true if the caller now holds the mutex.
 */
WEFT_NODISCARD static inline bool weft_mutex_trylock(weft_mutex_t *mutex) WEFT__TRY(true, mutex)
{
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TRY,
			       (const struct timespec *)0);
	uint32_t expected = WEFT_MUTEX_UNLOCKED;
	/* acquire: pairs with the release RMW in weft_mutex_unlock() */
	bool ok = weft_atomic_cas(&mutex->state, &expected, WEFT_MUTEX_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED);
	/* free, but with a tag bit or waiters' counts in the word */
	if (WEFT_UNLIKELY(!ok && (expected & WEFT_MUTEX_STATE_MASK) == WEFT_MUTEX_UNLOCKED))
		ok = weft_mutex_trylock_slow(mutex);
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TRY, ok);
	return ok;
}

/**
 * weft_mutex_lock() - take the mutex, sleeping while another thread holds it.
 * @mutex: the mutex; the caller must not hold it.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire; pairs with the release in weft_mutex_unlock().
 */
static inline void weft_mutex_lock(weft_mutex_t *mutex) WEFT__ACQ(mutex)
{
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_BLOCK,
			       (const struct timespec *)0);
	weft__mutex_acquire(mutex);
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_BLOCK, true);
}

/**
 * weft_mutex_timedlock() - take the mutex, or give up at @deadline.
 * @mutex: the mutex; the caller must not hold it.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()).
 *
 * A deadline already past returns WEFT_ETIMEDOUT at once if the mutex is busy
 * (and WEFT_OK if it is free).
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK, none otherwise.
 * Return: WEFT_OK (held), WEFT_ETIMEDOUT, or WEFT_EINVAL for a malformed or
 * NULL @deadline (the mutex is then not touched).
 */
WEFT_NODISCARD static inline int weft_mutex_timedlock(weft_mutex_t *mutex, const struct timespec *deadline) WEFT__TRY(0, mutex)
{
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TIMED,
			       deadline);
	int rc = weft_mutex_timedlock_slow(mutex, deadline);
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TIMED,
				rc == WEFT_OK);
	return rc;
}

/**
 * weft_mutex_lock_ctx() - take the mutex, or give up at @deadline or when
 * @cancel is cancelled.
 * @mutex: the mutex; the caller must not hold it.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()), or
 *            NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * The token is read only when the caller would sleep (after the fast path
 * and the spin): a mutex that is free, or freed while the caller spins, is
 * taken even if @cancel is cancelled already; a token cancelled already when
 * the caller would sleep returns WEFT_ECANCELED without sleeping.  A cancel
 * (or the deadline) that races with the mutex being freed or handed off to
 * the waiter returns WEFT_OK with the mutex held: a hand-off is never
 * dropped.  WEFT_ECANCELED and WEFT_ETIMEDOUT: the mutex was not taken.
 *
 * Context: may block until @deadline or the cancel; not async-signal-safe.
 * Ordering: acquire on WEFT_OK; on WEFT_ECANCELED the acquire of the cancel
 * (weft_cancel()'s release); none on WEFT_ETIMEDOUT.
 * Return: WEFT_OK (held), WEFT_ETIMEDOUT, WEFT_ECANCELED, or WEFT_EINVAL for
 * a malformed @deadline (the mutex is then not touched).
 */
WEFT_NODISCARD static inline int weft_mutex_lock_ctx(weft_mutex_t *mutex, const struct timespec *deadline,
						     weft_cancel_t *cancel) WEFT__TRY(0, mutex)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TIMED,
			       deadline);
	uint32_t v = WEFT_MUTEX_UNLOCKED;
	/* acquire: as in weft__mutex_acquire() */
	int rc = weft_atomic_cas(&mutex->state, &v, WEFT_MUTEX_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED)
			 ? WEFT_OK
			 : weft_mutex_lock_ctx_slow(mutex, deadline, cancel);
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TIMED,
				rc == WEFT_OK);
	return weft__cancel_acquired(rc, cancel); /* TSan: see cancel.h */
}

/**
 * weft_mutex_unlock() - release the mutex and wake one sleeper if any.
 * @mutex: a mutex the caller holds.
 *
 * If a sleeper is starving (it has waited longer than the fairness bound), or
 * the mutex was made with WEFT_FIFO and a sleeper waits, the lock is handed
 * to a sleeper instead of freed (see the overview).
 *
 * Context: any thread that holds the mutex; never blocks.
 * Ordering: release; publishes the critical section to the next holder.
 */
static inline void weft_mutex_unlock(weft_mutex_t *mutex) WEFT__REL(mutex)
{
	weft__lock_pre_release(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX);
	weft__mutex_release(mutex);
	weft__lock_post_release(mutex, WEFT__LOCKDEP_MUTEX);
}

/**
 * weft_mutex_unlock_fair() - release the mutex to a sleeper, if one waits.
 * @mutex: a mutex the caller holds.
 *
 * If a thread sleeps on the mutex, the lock is handed to a sleeper (usually
 * the longest one): no thread that has not slept, the caller included, can
 * take it first.  Otherwise it is weft_mutex_unlock() (a hand-off whose
 * wake-up finds nobody asleep is taken back at once).
 * For a caller that is about to lock again and wants the waiters served
 * first (parking_lot's unlock_fair()).
 *
 * Context: any thread that holds the mutex; never blocks.
 * Ordering: release; publishes the critical section to the next holder.
 */
static inline void weft_mutex_unlock_fair(weft_mutex_t *mutex) WEFT__REL(mutex)
{
	weft__lock_pre_release(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX);
	weft_mutex_unlock_slow(mutex, true);
	weft__lock_post_release(mutex, WEFT__LOCKDEP_MUTEX);
}

/*
 * weft__mutex_drop() / weft__mutex_retake() - what weft_cond_wait() does to
 * the caller's mutex: it releases it before it waits and takes it again before
 * it returns.  To ThreadSanitizer, the lock-order checker and the WEFT_DEBUG
 * owner mark they are an unlock and a lock (lockhooks.h), made in the caller's
 * translation unit.
 *
 * weft__mutex_drop() also makes the lock-order check of the coming retake now,
 * before the condition wait: waiting on a condition while holding L, for a
 * signaller that needs L after this mutex, is the deadlock to report.
 *
 * weft__mutex_retake(@slept): a thread that slept may have been moved onto the
 * mutex word by a broadcast (FUTEX_CMP_REQUEUE) and cannot ask the kernel
 * whether it was, so it takes the mutex as CONTENDED (its unlock then wakes the
 * next moved sleeper; Drepper, "Futexes Are Tricky", 2011: a thread that has
 * slept takes the lock with state 2).  A thread that never slept locks normally.
 */
WEFT_NOINLINE WEFT_COLD void weft__mutex_acquire_contended(weft_mutex_t *mutex);

static inline void weft__mutex_drop(weft_mutex_t *mutex)
{
	weft__lock_pre_release(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX);
	weft__mutex_release(mutex);
	weft__lock_post_release(mutex, WEFT__LOCKDEP_MUTEX);
	weft__lock_order_check(mutex, WEFT__LOCKDEP_MUTEX);
}

static inline void weft__mutex_retake(weft_mutex_t *mutex, bool slept)
{
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_RETAKE,
			       (const struct timespec *)0);
	if (slept)
		weft__mutex_acquire_contended(mutex);
	else
		weft__mutex_acquire(mutex);
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_RETAKE, true);
}

/**
 * weft_mutex_destroy() - end the mutex's life.
 * @mutex: an unlocked mutex that no thread will use again.
 *
 * Nothing to free; a WEFT_DEBUG build aborts if the mutex is still held.
 *
 * Context: any thread.
 */
static inline void weft_mutex_destroy(weft_mutex_t *mutex)
{
#ifdef WEFT_DEBUG
	/* relaxed: a diagnostic; a correct caller has no concurrent user */
	if (weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_STATE_MASK)
		weft_debug_die("weft_mutex_t", mutex, "destroyed while held");
#endif
	weft__lock_destroy(mutex, WEFT__LOCKDEP_MUTEX);
}

WEFT_EXTERN_C_END

#endif /* WEFT_MUTEX_H */
