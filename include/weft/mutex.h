/* SPDX-License-Identifier: MIT */
#ifndef WEFT_MUTEX_H
#define WEFT_MUTEX_H

/*
 * mutex.h - a 4-byte blocking mutex: three-state futex lock with bounded
 * adaptive spinning.
 *
 * Algorithm: U. Drepper, "Futexes Are Tricky" (2011), mutex #3.  The word has
 * three states:
 *
 *     UNLOCKED   0  nobody holds it
 *     LOCKED     1  held, and nobody sleeps on it
 *     CONTENDED  2  held, and threads may be asleep on it
 *
 * lock:    CAS 0 -> 1 (the fast path, inline).  Failing that, watch the word
 *          for 0 with exponential backoff for a bounded number of pause
 *          instructions, retrying the CAS; then swap in CONTENDED and sleep
 *          on the word while the swap did not return 0.
 * unlock:  swap in 0; if the old state was CONTENDED, wake one sleeper.
 *
 * A thread that slept swaps in CONTENDED (not LOCKED) when it wins, because it
 * cannot know whether others still sleep: at worst one unlock makes a wake-up
 * call that finds nobody.  An unlock of an uncontended lock makes no system call.
 *
 * The spin bound (weft_mutex_set_spin(), default WEFT_MUTEX_SPIN_DEFAULT) is
 * the number of pause instructions a contended locker spends watching before
 * it sleeps.  On a VM a futex wake that crosses CPUs costs tens of
 * microseconds, so a short spin that catches the holder's unlock saves far
 * more than it burns; the backoff between checks keeps the watcher from
 * stealing the lock's cache line from the holder on every pause.
 * docs/mutex.md shows the sweep that chose the default.
 *
 * Bit 31 of the word marks a process-shared mutex (WEFT_PSHARED), so that the
 * slow paths use the shared futex flavour.  The fast path CAS expects exactly
 * 0, so a process-shared mutex always takes the (out-of-line) slow path.
 *
 * Progress: blocking.  Fairness: none; an arriving thread may take the lock
 * ahead of one that was woken (barging), which keeps throughput high; a thread
 * can be overtaken repeatedly under heavy contention.
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
#include "config.h"
#include "debug.h"
#include "lockhooks.h"
#include "status.h"

WEFT_EXTERN_C_BEGIN

/* The state word (see the overview). */
#define WEFT_MUTEX_UNLOCKED 0u
#define WEFT_MUTEX_LOCKED 1u
#define WEFT_MUTEX_CONTENDED 2u
#define WEFT_MUTEX_STATE_MASK 3u
#define WEFT_MUTEX_PSHARED_BIT 0x80000000u

/* Pause instructions a contended locker spends before sleeping, chosen by the
 * sweep in docs/mutex.md. */
#define WEFT_MUTEX_SPIN_DEFAULT 400u

typedef struct WEFT_CAPABILITY("mutex") weft_mutex {
	uint32_t state; /* state | WEFT_MUTEX_PSHARED_BIT */
#ifdef WEFT_DEBUG
	uint32_t owner; /* weft_debug_self() of the holder, 0 when free */
#endif
} weft_mutex_t;

#ifndef WEFT_DEBUG
WEFT_STATIC_ASSERT(sizeof(weft_mutex_t) == 4, "weft_mutex_t is one 32-bit word");
#endif

#define WEFT_MUTEX_INIT {0}

WEFT_NOINLINE WEFT_COLD void weft_mutex_lock_slow(weft_mutex_t *mutex);
WEFT_NOINLINE WEFT_COLD void weft_mutex_wake_slow(weft_mutex_t *mutex);
int weft_mutex_timedlock_slow(weft_mutex_t *mutex, const struct timespec *deadline);
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
 * weft_mutex_init() - initialize an unlocked mutex.
 * @mutex: the mutex.
 * @flags: 0, or WEFT_PSHARED for a mutex in memory shared between processes.
 *
 * A private mutex may instead be set to WEFT_MUTEX_INIT or zero-filled.
 *
 * Context: any thread; the mutex must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL for an unknown flag (the mutex is untouched).
 */
WEFT_NODISCARD static inline int weft_mutex_init(weft_mutex_t *mutex, unsigned flags)
{
	if (flags & ~WEFT_PSHARED)
		return WEFT_EINVAL;
	/* relaxed: the mutex is not shared yet; publishing it is the caller's job */
	weft_atomic_store(&mutex->state, (flags & WEFT_PSHARED) ? WEFT_MUTEX_PSHARED_BIT : 0u, WEFT_RELAXED);
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
	uint32_t expected = WEFT_MUTEX_UNLOCKED;
	/* acquire: pairs with the release exchange in weft__mutex_release() */
	if (WEFT_UNLIKELY(!weft_atomic_cas(&mutex->state, &expected, WEFT_MUTEX_LOCKED, WEFT_ACQUIRE,
					   WEFT_RELAXED)))
		weft_mutex_lock_slow(mutex);
}

static inline void weft__mutex_release(weft_mutex_t *mutex)
{
	/* relaxed: the pshared bit never changes after init; the holder reads it */
	uint32_t keep = weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
	/* release: publishes the critical section; pairs with the acquire CAS or
	 * exchange of the next locker */
	uint32_t old = weft_atomic_exchange(&mutex->state, keep, WEFT_RELEASE);
	if (WEFT_UNLIKELY((old & WEFT_MUTEX_STATE_MASK) == WEFT_MUTEX_CONTENDED))
		weft_mutex_wake_slow(mutex);
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
	/* acquire: pairs with the release exchange in weft_mutex_unlock() */
	bool ok = weft_atomic_cas(&mutex->state, &expected, WEFT_MUTEX_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED);
	if (WEFT_UNLIKELY(!ok && expected == WEFT_MUTEX_PSHARED_BIT))
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
 * weft_mutex_unlock() - release the mutex and wake one sleeper if any.
 * @mutex: a mutex the caller holds.
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
