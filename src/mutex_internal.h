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

/* weft__mutex_acquire() and weft__mutex_release(), the lock and unlock without
 * owner checks or TSan annotations, are in weft/mutex.h: the public lock and
 * unlock are built on them. */

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
