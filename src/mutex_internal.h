/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_MUTEX_INTERNAL_H
#define WEFT_SRC_MUTEX_INTERNAL_H

/*
 * mutex_internal.h - what other weft primitives (the condition variable) need
 * from weft_mutex_t beyond its public API.
 *
 * weft_cond_wait() releases and re-takes the caller's mutex inside the library.
 * It cannot call weft_mutex_unlock()/weft_mutex_lock(): in a WEFT_DEBUG build
 * those check and set the owner mark, which the inline weft_cond_wait() in the
 * caller's own translation unit already manages.  And a waiter that a
 * broadcast moved onto the mutex word (FUTEX_CMP_REQUEUE) must take the mutex
 * in CONTENDED state, or the unlock after it would not wake the others that
 * were moved with it.  Callers make the TSan annotations themselves.
 */

#include "weft/mutex.h"

/* weft_mutex_unlock() without the WEFT_DEBUG owner check and without TSan
 * annotations. */
static inline void weft__mutex_release(weft_mutex_t *mutex)
{
	/* relaxed: the pshared bit never changes after init; the holder reads it */
	uint32_t keep = weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
	/* release: publishes the critical section; pairs with the acquire CAS or
	 * exchange of the next locker (as in weft_mutex_unlock()) */
	uint32_t old = weft_atomic_exchange(&mutex->state, keep, WEFT_RELEASE);
	if (WEFT_UNLIKELY((old & WEFT_MUTEX_STATE_MASK) == WEFT_MUTEX_CONTENDED))
		weft_mutex_wake_slow(mutex);
}

/* weft_mutex_lock() without the WEFT_DEBUG owner checks and TSan annotations. */
static inline void weft__mutex_acquire(weft_mutex_t *mutex)
{
	uint32_t expected = WEFT_MUTEX_UNLOCKED;
	/* acquire: pairs with the release exchange in weft_mutex_unlock() */
	if (WEFT_UNLIKELY(!weft_atomic_cas(&mutex->state, &expected, WEFT_MUTEX_LOCKED, WEFT_ACQUIRE,
					   WEFT_RELAXED)))
		weft_mutex_lock_slow(mutex);
}

/*
 * weft__mutex_acquire_contended() - take the mutex, leaving it CONTENDED.
 *
 * For a thread that may have been requeued onto the mutex word: other threads
 * may sleep on the word although it says UNLOCKED or LOCKED, so the state this
 * thread leaves must make its own unlock wake one of them (Drepper, "Futexes
 * Are Tricky", 2011: a thread that has slept takes the lock with state 2).
 * No owner mark, no TSan annotation.
 */
void weft__mutex_acquire_contended(weft_mutex_t *mutex);

#endif /* WEFT_SRC_MUTEX_INTERNAL_H */
