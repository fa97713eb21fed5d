/* SPDX-License-Identifier: MIT */
#ifndef WEFT_LOCKHOOKS_H
#define WEFT_LOCKHOOKS_H

/*
 * lockhooks.h - the one set of build-mode hooks of every lock-like call.
 *
 * A lock's own code (mutex.h, rwlock.h, brlock.h, cond.h's drop and retake of
 * the caller's mutex) never calls the WEFT_DEBUG owner checks, the lock-order
 * checker (src/lockdep.c, docs/lockorder.md) or the ThreadSanitizer mutex
 * annotations directly: it brackets each acquisition and release with the hooks
 * below, which make them in one fixed order.  This is the arrangement of the
 * Linux kernel's lock_acquire()/lock_release() (include/linux/lockdep.h), which
 * every kernel lock calls instead of repeating its debug bookkeeping.
 *
 * The hooks are static inline and live in the headers, never in src/, for one
 * reason: a program built with -fsanitize=thread that links the *release*
 * libweft (built without TSan) must still see every annotation, so every
 * annotation has to be compiled into the caller's own translation unit.  The
 * out-of-line slow paths in src/ know nothing of TSan, WEFT_DEBUG or lockdep.
 * In a release build without TSan every hook is empty and compiles to nothing
 * (no call, no branch, no load: `objdump -d` of weft_mutex_lock()/unlock() is
 * the same instruction for instruction as before the hooks).
 *
 * API (all private, weft__):
 *
 *   acquisition, around the lock's own atomic operations:
 *
 *     weft__lock_pre_acquire(lock, owner, kind, how, deadline);
 *     ...take the lock; ok = did we get it...
 *     weft__lock_post_acquire(lock, owner, kind, how, ok);
 *
 *   release:
 *
 *     weft__lock_pre_release(lock, owner, kind);
 *     ...release the lock...
 *     weft__lock_post_release(lock, kind);
 *
 *   life:   weft__lock_create(lock, owner, kind)   at the end of init;
 *           weft__lock_destroy(lock, kind)          in destroy, after the
 *                                                   lock's own "still held" check.
 *
 *   @lock:  the object's address (the key of TSan and of the checker).
 *   @owner: WEFT__HOOK_OWNER(obj->owner) for a lock whose struct carries a
 *           WEFT_DEBUG owner word (a mutex, the write side of a rwlock or
 *           brlock), or WEFT__HOOK_NO_OWNER (a read acquisition, or a type with
 *           none).  The macro drops its argument in release builds, where the
 *           owner field does not exist.
 *   @kind:  WEFT__LOCKDEP_MUTEX, _RWLOCK_WRITE, _RWLOCK_READ, _BRLOCK_WRITE,
 *           _BRLOCK_READ (debug.h): the checker's kind, the TSan read flag
 *           (the _READ kinds) and the type named in WEFT_DEBUG messages.
 *   @how:   WEFT__HOOK_BLOCK  lock/rdlock/wrlock: may wait without bound;
 *           WEFT__HOOK_TIMED  the timed calls: may wait until @deadline, may fail;
 *           WEFT__HOOK_TRY    the try calls: never wait, may fail;
 *           WEFT__HOOK_RETAKE weft_cond_wait()'s re-acquisition of its mutex,
 *                             whose lock order was checked before it slept
 *                             (weft__lock_order_check(), see below).
 *
 * The fixed order (each step only in the builds that have it):
 *
 *   pre-acquire:   1. WEFT_DEBUG: the caller must not hold @owner already
 *                     ("locked again ... (self-deadlock)"); BLOCK and TIMED only
 *                     (a try by the holder just fails); nor may a thread of
 *                     another process hold a lock without WEFT_PSHARED
 *                     (weft__debug_pshared_holder());
 *                  2. lock order: BLOCK checks the order and counts the lock as
 *                     held from now (weft__lockdep_lock(): a run that really
 *                     deadlocks prints its report before it blocks); TIMED
 *                     checks the order unless the deadline cannot wait
 *                     (weft__lockdep_timed()); TRY and RETAKE check nothing;
 *                  3. TSan: __tsan_mutex_pre_lock (TRY and TIMED pass the
 *                     try flag: they may fail; the _READ kinds the read flag).
 *   post-acquire:  1. TSan: __tsan_mutex_post_lock, with "try failed" added
 *                     when !ok;
 *                  2. WEFT_DEBUG, when ok: the owner mark (@owner = this thread);
 *                  3. lock order, when ok: TIMED, TRY and RETAKE count the lock
 *                     as held now (weft__lockdep_held()); BLOCK did at step 2
 *                     of pre-acquire.
 *   pre-release:   1. WEFT_DEBUG: the caller must hold @owner ("unlocked by a
 *                     thread that does not hold it"), then the mark is cleared;
 *                  2. lock order: the lock is no longer held;
 *                  3. TSan: __tsan_mutex_pre_unlock.
 *   post-release:  1. TSan: __tsan_mutex_post_unlock.
 *   create:        WEFT_DEBUG: clear @owner; TSan: __tsan_mutex_create.
 *   destroy:       lock order: forget the lock (its address may be reused);
 *                  TSan: __tsan_mutex_destroy.
 *
 * Between pre- and post-acquire (and pre- and post-release) TSan ignores the
 * calling thread's memory accesses and synchronization: the lock's own atomics
 * are hidden from it, and what it sees is the annotation: a release at the
 * unlock, an acquire at the lock.  So nothing else may run between the two
 * (no user callback, no wait for an unrelated event).
 *
 * weft__lock_order_check(lock, kind) is step 2 of a BLOCK pre-acquire alone,
 * without counting the lock as held: weft_cond_wait() calls it for its mutex
 * right after dropping it, before it sleeps, because the sleep itself may be
 * the deadlock (holding L, waiting on a condition whose signaller needs L); the
 * retake after the sleep then uses WEFT__HOOK_RETAKE.
 *
 * Mixing builds: WEFT_DEBUG adds owner words to the lock structs (mutex.h says
 * which), so every translation unit that shares a lock must agree on
 * WEFT_DEBUG.  TSan may differ between the program and the library: that is
 * the point of these hooks (`make check-tsan-installed`).
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "config.h"
#include "debug.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

/* @how: what kind of acquisition (see the overview). */
#define WEFT__HOOK_BLOCK 0u
#define WEFT__HOOK_TIMED 1u
#define WEFT__HOOK_TRY 2u
#define WEFT__HOOK_RETAKE 3u

/* The owner word of a WEFT_DEBUG lock, or none.  In release builds the field
 * does not exist: the macro drops its argument unevaluated. */
#ifdef WEFT_DEBUG
#define WEFT__HOOK_OWNER(field) (&(field))
#else
#define WEFT__HOOK_OWNER(field) ((uint32_t *)0)
#endif
#define WEFT__HOOK_NO_OWNER ((uint32_t *)0)

#ifdef WEFT_DEBUG
/* The type and the messages WEFT_DEBUG prints, by kind. */
static inline const char *weft__hook_type(unsigned kind)
{
	return kind == WEFT__LOCKDEP_MUTEX				       ? "weft_mutex_t"
	       : kind == WEFT__LOCKDEP_RWLOCK_WRITE || kind == WEFT__LOCKDEP_RWLOCK_READ ? "weft_rwlock_t"
									       : "weft_brlock_t";
}
static inline const char *weft__hook_msg_relock(unsigned kind)
{
	return kind == WEFT__LOCKDEP_MUTEX ? "locked again by the thread that holds it (self-deadlock)"
					   : "locked again by the thread that holds it for writing (self-deadlock)";
}
static inline const char *weft__hook_msg_not_held(unsigned kind)
{
	return kind == WEFT__LOCKDEP_MUTEX	      ? "unlocked by a thread that does not hold it"
	       : kind == WEFT__LOCKDEP_RWLOCK_WRITE ? "write-unlocked by a thread that does not hold it"
						    : "write-unlocked but not write-held by this thread";
}
#endif

/*
 * weft__debug_pshared_holder() - WEFT_DEBUG (src/mutex.c; always in the
 * library, so that WEFT_DEBUG code links against a release libweft): @lock (a
 * weft_mutex_t, weft_rwlock_t or weft_brlock_t of type @type) is held by
 * thread @holder (its owner mark, at @owner).  If that thread belongs to
 * another process and the lock was initialized without WEFT_PSHARED (bit 31
 * of its first word, in all three types), abort naming the lock and the fix:
 * a private lock in shared memory sleeps on a futex keyed by one process, so
 * the other process's wake-up calls never reach it.
 */
void weft__debug_pshared_holder(const char *type, const void *lock, const uint32_t *owner, uint32_t holder);

#ifdef WEFT_TSAN
/* The TSan flags of an acquisition or release of @kind by @how. */
static inline unsigned weft__hook_tsan_flags(unsigned kind, unsigned how)
{
	unsigned f = (kind == WEFT__LOCKDEP_RWLOCK_READ || kind == WEFT__LOCKDEP_BRLOCK_READ) ? WEFT_TSAN_READ_LOCK : 0u;
	if (how == WEFT__HOOK_TRY || how == WEFT__HOOK_TIMED)
		f |= WEFT_TSAN_TRY_LOCK;
	return f;
}
#endif

/**
 * weft__lock_pre_acquire() - the hooks before an acquisition (see the overview).
 * @lock: the lock.  @owner: WEFT__HOOK_OWNER(field) or WEFT__HOOK_NO_OWNER.
 * @kind: WEFT__LOCKDEP_*.  @how: WEFT__HOOK_*.
 * @deadline: the timed call's deadline (NULL otherwise).
 */
static inline void weft__lock_pre_acquire(void *lock, uint32_t *owner, unsigned kind, unsigned how,
					  const struct timespec *deadline)
{
#ifdef WEFT_DEBUG
	if (owner != 0 && (how == WEFT__HOOK_BLOCK || how == WEFT__HOOK_TIMED)) {
		/* relaxed: compared only against our own id, which only we store */
		uint32_t holder = weft_atomic_load(owner, WEFT_RELAXED);
		if (holder == weft_debug_self())
			weft_debug_die(weft__hook_type(kind), lock, weft__hook_msg_relock(kind));
		/* held by a thread of another process, but not WEFT_PSHARED? */
		if (holder != 0)
			weft__debug_pshared_holder(weft__hook_type(kind), lock, owner, holder);
	}
	if (how == WEFT__HOOK_BLOCK)
		weft__lockdep_lock(lock, kind);
	else if (how == WEFT__HOOK_TIMED)
		weft__lockdep_timed(lock, kind, deadline);
#endif
#ifdef WEFT_TSAN
	WEFT_TSAN_PRE_LOCK(lock, weft__hook_tsan_flags(kind, how));
#endif
	(void)lock, (void)owner, (void)kind, (void)how, (void)deadline;
}

/**
 * weft__lock_post_acquire() - the hooks after an acquisition (see the overview).
 * @ok: whether the caller now holds the lock (always true for BLOCK, RETAKE).
 */
static inline void weft__lock_post_acquire(void *lock, uint32_t *owner, unsigned kind, unsigned how, bool ok)
{
#ifdef WEFT_TSAN
	WEFT_TSAN_POST_LOCK(lock, weft__hook_tsan_flags(kind, how) | (ok ? 0u : WEFT_TSAN_TRY_FAILED));
#endif
#ifdef WEFT_DEBUG
	if (ok) {
		if (owner != 0)
			weft_atomic_store(owner, weft_debug_self(), WEFT_RELAXED); /* relaxed: a diagnostic mark */
		if (how != WEFT__HOOK_BLOCK)
			weft__lockdep_held(lock, kind);
	}
#endif
	(void)lock, (void)owner, (void)kind, (void)how, (void)ok;
}

/**
 * weft__lock_pre_release() - the hooks before a release (see the overview).
 */
static inline void weft__lock_pre_release(void *lock, uint32_t *owner, unsigned kind)
{
#ifdef WEFT_DEBUG
	if (owner != 0) {
		/* relaxed: compared only against our own id, which only we store */
		if (weft_atomic_load(owner, WEFT_RELAXED) != weft_debug_self())
			weft_debug_die(weft__hook_type(kind), lock, weft__hook_msg_not_held(kind));
		weft_atomic_store(owner, 0u, WEFT_RELAXED); /* relaxed: a diagnostic mark */
	}
	weft__lockdep_unlock(lock);
#endif
#ifdef WEFT_TSAN
	WEFT_TSAN_PRE_UNLOCK(lock, weft__hook_tsan_flags(kind, WEFT__HOOK_BLOCK));
#endif
	(void)lock, (void)owner, (void)kind;
}

/**
 * weft__lock_post_release() - the hooks after a release (see the overview).
 */
static inline void weft__lock_post_release(void *lock, unsigned kind)
{
#ifdef WEFT_TSAN
	WEFT_TSAN_POST_UNLOCK(lock, weft__hook_tsan_flags(kind, WEFT__HOOK_BLOCK));
#endif
	(void)lock, (void)kind;
}

/**
 * weft__lock_order_check() - the lock-order check of a coming blocking
 * acquisition, made early (weft_cond_wait(): before it sleeps); the
 * acquisition then uses WEFT__HOOK_RETAKE.
 */
static inline void weft__lock_order_check(void *lock, unsigned kind)
{
#ifdef WEFT_DEBUG
	weft__lockdep_check(lock, kind);
#endif
	(void)lock, (void)kind;
}

/**
 * weft__lock_create() - the hooks of init, after the lock's own stores.
 */
static inline void weft__lock_create(void *lock, uint32_t *owner, unsigned kind)
{
#ifdef WEFT_DEBUG
	if (owner != 0)
		weft_atomic_store(owner, 0u, WEFT_RELAXED); /* relaxed: not shared yet */
#endif
	WEFT_TSAN_CREATE(lock, 0);
	(void)lock, (void)owner, (void)kind;
}

/**
 * weft__lock_destroy() - the hooks of destroy, after the lock's own checks.
 */
static inline void weft__lock_destroy(void *lock, unsigned kind)
{
#ifdef WEFT_DEBUG
	weft__lockdep_forget(lock);
#endif
	WEFT_TSAN_DESTROY(lock, 0);
	(void)lock, (void)kind;
}

WEFT_EXTERN_C_END

#endif /* WEFT_LOCKHOOKS_H */
