/* SPDX-License-Identifier: MIT */
#ifndef WEFT_TSAN_H
#define WEFT_TSAN_H

/*
 * tsan.h - ThreadSanitizer mutex annotations, free when TSan is off.
 *
 * With these, TSan treats a weft lock as it treats a pthread mutex: the lock's
 * own atomics are hidden from it, lock and unlock become acquire and release on
 * the lock, and it can report lock-order inversions.  The prototypes match
 * <sanitizer/tsan_interface.h>; they are declared here so that weft does not
 * depend on that header being installed.
 *
 * Lock-like types call these through the one wrapper set in lockhooks.h.  The
 * happens-before pair below (__tsan_release before a call that publishes,
 * __tsan_acquire after a call that consumes) is for the primitives that are not
 * locks (semaphore, latch, barrier, once, queue, pool): their inline wrappers
 * announce the ordering the library provides, so that a TSan program linked
 * against a library built without TSan still sees it.  Every annotation is in
 * a header for that reason: code in src/ is compiled without TSan in a release
 * library, and TSan cannot see its atomics.
 */

#include "config.h"

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif

#ifdef WEFT_TSAN
WEFT_EXTERN_C_BEGIN
void __tsan_mutex_create(void *addr, unsigned flags);
void __tsan_mutex_destroy(void *addr, unsigned flags);
void __tsan_mutex_pre_lock(void *addr, unsigned flags);
void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion);
int __tsan_mutex_pre_unlock(void *addr, unsigned flags);
void __tsan_mutex_post_unlock(void *addr, unsigned flags);
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
WEFT_EXTERN_C_END

/* Flag values of the TSan interface (stable since LLVM 5). */
#define WEFT_TSAN_LINKER_INIT 0x1u  /* all-zero objects are valid without create */
#define WEFT_TSAN_READ_LOCK 0x8u    /* a shared (reader) acquisition */
#define WEFT_TSAN_TRY_LOCK 0x10u    /* a trylock */
#define WEFT_TSAN_TRY_FAILED 0x20u  /* ... that failed */

#define WEFT_TSAN_CREATE(a, f) __tsan_mutex_create((void *)(a), (f))
#define WEFT_TSAN_DESTROY(a, f) __tsan_mutex_destroy((void *)(a), (f))
#define WEFT_TSAN_PRE_LOCK(a, f) __tsan_mutex_pre_lock((void *)(a), (f))
#define WEFT_TSAN_POST_LOCK(a, f) __tsan_mutex_post_lock((void *)(a), (f), 0)
#define WEFT_TSAN_PRE_UNLOCK(a, f) ((void)__tsan_mutex_pre_unlock((void *)(a), (f)))
#define WEFT_TSAN_POST_UNLOCK(a, f) __tsan_mutex_post_unlock((void *)(a), (f))
/* happens-before: everything before WEFT_TSAN_RELEASE(a) happens before
 * everything after a later WEFT_TSAN_ACQUIRE(a) on the same address */
#define WEFT_TSAN_RELEASE(a) __tsan_release((void *)(a))
#define WEFT_TSAN_ACQUIRE(a) __tsan_acquire((void *)(a))
#else
#define WEFT_TSAN_LINKER_INIT 0u
#define WEFT_TSAN_READ_LOCK 0u
#define WEFT_TSAN_TRY_LOCK 0u
#define WEFT_TSAN_TRY_FAILED 0u
#define WEFT_TSAN_CREATE(a, f) ((void)0)
#define WEFT_TSAN_DESTROY(a, f) ((void)0)
#define WEFT_TSAN_PRE_LOCK(a, f) ((void)0)
#define WEFT_TSAN_POST_LOCK(a, f) ((void)0)
#define WEFT_TSAN_PRE_UNLOCK(a, f) ((void)0)
#define WEFT_TSAN_POST_UNLOCK(a, f) ((void)0)
#define WEFT_TSAN_RELEASE(a) ((void)0)
#define WEFT_TSAN_ACQUIRE(a) ((void)0)
#endif

#endif /* WEFT_TSAN_H */
