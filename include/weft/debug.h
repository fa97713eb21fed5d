/* SPDX-License-Identifier: MIT */
#ifndef WEFT_DEBUG_H
#define WEFT_DEBUG_H

/*
 * debug.h - what WEFT_DEBUG builds use to report misuse.
 *
 * Misuse that no return code can report (unlocking a mutex the caller does not
 * hold, locking it again from its owner) aborts a WEFT_DEBUG build with a message
 * naming the primitive, its address and the misuse.  Release builds compile none
 * of these checks.  The functions are always present in the library, so code
 * built with WEFT_DEBUG links against a release libweft.
 */

#include <stdint.h>
#include <time.h>

#include "config.h"

WEFT_EXTERN_C_BEGIN

/**
 * weft_debug_die() - print "weft: <prim> <addr>: <misuse>" to stderr and abort.
 * @prim: the primitive's type name, e.g. "weft_mutex_t".
 * @addr: the object.
 * @misuse: what the caller did wrong.
 *
 * Context: any; does not return.
 */
WEFT_NORETURN WEFT_COLD void weft_debug_die(const char *prim, const void *addr, const char *misuse);

/**
 * weft_debug_self() - a nonzero id of the calling thread, unique across processes
 * (the kernel thread id), used as the owner mark of WEFT_DEBUG locks.
 *
 * A fork()ed child's thread gets its own id: it does not pass for the parent
 * thread that held a lock at fork() time (as with glibc's error-checking
 * mutexes, a lock held across fork() cannot be unlocked by the child).
 *
 * Return: the id, cached per thread after the first call.
 */
uint32_t weft_debug_self(void);

/*
 * Lock-order checking ("lockdep", docs/lockorder.md).  A WEFT_DEBUG build
 * records, per thread, the weft mutexes and rwlocks it holds, and globally
 * every "held A while taking B" pair; a pair that closes a cycle is a
 * potential deadlock, reported on stderr the first time it is seen.  The lock
 * calls reach the library through the WEFT__LOCKDEP_* macros below, which
 * release builds define to nothing.  The hooks are private (weft__); the one
 * public call is weft_lockdep_reports().
 */

/* What a hook is told about the acquisition: the lock's type and mode. */
#define WEFT__LOCKDEP_MUTEX 0u
#define WEFT__LOCKDEP_RWLOCK_WRITE 1u
#define WEFT__LOCKDEP_RWLOCK_READ 2u
#define WEFT__LOCKDEP_BRLOCK_WRITE 3u
#define WEFT__LOCKDEP_BRLOCK_READ 4u

/* A blocking acquisition of @lock is about to start: check the order against
 * every lock the thread holds (may report), then count @lock as held. */
void weft__lockdep_lock(const void *lock, unsigned kind);
/* A timed acquisition is about to start: check the order as above unless
 * @deadline is malformed or already past (then it cannot block). */
void weft__lockdep_timed(const void *lock, unsigned kind, const struct timespec *deadline);
/* A blocking re-acquisition (weft_cond_wait()'s) is about to start: check. */
void weft__lockdep_check(const void *lock, unsigned kind);
/* @lock is now held, taken by a call that adds no order (try, timed, cond). */
void weft__lockdep_held(const void *lock, unsigned kind);
/* @lock is released by the calling thread. */
void weft__lockdep_unlock(const void *lock);
/* @lock is destroyed: forget its order, its address may be reused. */
void weft__lockdep_forget(const void *lock);

/**
 * weft_lockdep_reports() - how many potential deadlocks (lock-order cycles)
 * the checker has reported in this process so far.
 *
 * Only WEFT_DEBUG code feeds the checker; in a program without it this is 0.
 *
 * Context: any thread.
 * Return: the count.
 */
unsigned long weft_lockdep_reports(void);

#ifdef WEFT_DEBUG
#define WEFT__LOCKDEP_LOCK(l, kind) weft__lockdep_lock((l), (kind))
#define WEFT__LOCKDEP_TIMED(l, kind, deadline) weft__lockdep_timed((l), (kind), (deadline))
#define WEFT__LOCKDEP_CHECK(l, kind) weft__lockdep_check((l), (kind))
#define WEFT__LOCKDEP_HELD(l, kind) weft__lockdep_held((l), (kind))
#define WEFT__LOCKDEP_UNLOCK(l) weft__lockdep_unlock(l)
#define WEFT__LOCKDEP_FORGET(l) weft__lockdep_forget(l)
#else
#define WEFT__LOCKDEP_LOCK(l, kind) ((void)0)
#define WEFT__LOCKDEP_TIMED(l, kind, deadline) ((void)0)
#define WEFT__LOCKDEP_CHECK(l, kind) ((void)0)
#define WEFT__LOCKDEP_HELD(l, kind) ((void)0)
#define WEFT__LOCKDEP_UNLOCK(l) ((void)0)
#define WEFT__LOCKDEP_FORGET(l) ((void)0)
#endif

WEFT_EXTERN_C_END

#endif /* WEFT_DEBUG_H */
