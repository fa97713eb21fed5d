/* SPDX-License-Identifier: MIT */
/*
 * wait_portable.c - the portable backend of the wait layer (see wait.h).
 *
 * A fixed table of buckets, each a pthread mutex, a CLOCK_MONOTONIC condvar and
 * a count of sleepers; a word's bucket is chosen by hashing its address (the
 * "parking lot" idea of WebKit's WTF::ParkingLot, F. Pizlo, 2016, reduced to a
 * static table).  A waiter checks *addr under the bucket mutex and sleeps on the
 * condvar; a waker takes the same mutex before it signals, so a waker that
 * changed *addr first cannot slip between the waiter's check and its sleep.
 *
 * Several words share a bucket, so a wake broadcasts to the bucket: a woken
 * thread whose word did not change returns as a spurious wake-up, which the
 * contract allows.  Per-process tables cannot see other processes, so
 * WEFT_PSHARED waits poll with growing sleeps instead.
 *
 * Cancellation: pthread_cond_wait(), pthread_cond_timedwait() and nanosleep()
 * are thread-cancellation points, and no weft call may be one (docs/errors.md).
 * A waiter cancelled inside pthread_cond_wait() would also die holding its
 * bucket's mutex (the condvar retakes it before the thread unwinds), and every
 * object hashing to that bucket would hang.  So weft__wait() turns
 * cancellation off around its sleep and restores the caller's state after:
 * a cancel request that arrives meanwhile stays pending and acts at the
 * caller's next cancellation point, as on the futex backend, whose syscall()
 * is not one.  (A cleanup handler would instead make every blocking call a
 * cancellation point on this backend only, with each primitive's state to
 * unwind; that is not a contract weft can keep.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(), sched_yield() under -std=c11 */
#endif
#include "wait.h"

#if !defined(__linux__) || defined(WEFT_WAIT_PORTABLE)

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "keep_errno.h"
#include "weft/atomic.h"
#include "weft/deadline.h"
#include "weft/status.h"

#define WEFT__WAIT_BUCKETS 256 /* power of two; sleeping threads rarely exceed it */

struct bucket {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned sleepers; /* guarded by lock */
} WEFT_ALIGNED(WEFT_CACHE_LINE);

static struct bucket buckets[WEFT__WAIT_BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void buckets_make(void)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	for (unsigned i = 0; i < WEFT__WAIT_BUCKETS; i++) {
		pthread_mutex_init(&buckets[i].lock, NULL);
		pthread_cond_init(&buckets[i].cond, &attr);
		buckets[i].sleepers = 0;
	}
	pthread_condattr_destroy(&attr);
}

/*
 * fork(): the child has one thread, the one that forked, and it was not in
 * here (weft__wait() calls nothing that forks).  Any bucket mutex held at the
 * fork was held by a thread the child does not have, and any sleeper counted
 * in a bucket is such a thread too: make the table new.  No prepare handler
 * is needed, because nothing a bucket guards outlives the fork: `sleepers`
 * counts threads, and the waiters' words are the callers' memory, which a
 * bucket only reads.  (Holding all 256 mutexes across fork() would also order
 * this table against every other fork handler that waits, such as the
 * registry's, for nothing.)
 */
static void buckets_after_fork_child(void)
{
	buckets_make();
}

static void buckets_init(void)
{
	buckets_make();
	(void)pthread_atfork(NULL, NULL, buckets_after_fork_child);
}

static struct bucket *bucket_of(const uint32_t *addr)
{
	/* Fibonacci hashing of the address; the low bits are alignment. */
	uintptr_t h = ((uintptr_t)addr >> 2) * (uintptr_t)0x9E3779B97F4A7C15ull;
	return &buckets[(h >> 24) & (WEFT__WAIT_BUCKETS - 1)];
}

/* WEFT_PSHARED: sleep 1 us, 2 us, ... 1 ms between checks until the deadline. */
static int poll_wait(const uint32_t *addr, uint32_t expected, const struct timespec *deadline)
{
	long nap_ns = 1000;
	/* acquire: pairs with the release that changed the word, as a futex would */
	while (weft_atomic_load(addr, WEFT_ACQUIRE) == expected) {
		if (deadline != NULL && weft_deadline_passed(deadline))
			return WEFT_ETIMEDOUT;
		struct timespec nap = {0, nap_ns};
		nanosleep(&nap, NULL);
		if (nap_ns < 1000000)
			nap_ns *= 2;
	}
	return WEFT_OK;
}

WEFT_NOIPA int weft__wait(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags)
{
	WEFT_COMPILER_BARRIER(); /* a blocking call is a compiler barrier: see config.h */
	WEFT__CHAOS_POINT(); /* the caller's check of the word and this call can be split */
	int saved_errno = weft__errno_save();
	int status = WEFT_OK;
	int cancel_state, ignored; /* POSIX wants a place for the old state even when unused */
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state); /* see the top of the file */
	if (flags & WEFT_PSHARED) {
		status = poll_wait(addr, expected, deadline);
		(void)pthread_setcancelstate(cancel_state, &ignored);
		weft__errno_restore(saved_errno);
		return status;
	}
	pthread_once(&buckets_once, buckets_init);
	struct bucket *b = bucket_of(addr);
	pthread_mutex_lock(&b->lock);
	/* relaxed: the bucket mutex orders this check against the waker's lock of it */
	if (weft_atomic_load(addr, WEFT_RELAXED) == expected) {
		b->sleepers++;
		int rc = deadline ? pthread_cond_timedwait(&b->cond, &b->lock, deadline)
				  : pthread_cond_wait(&b->cond, &b->lock);
		b->sleepers--;
		if (rc == ETIMEDOUT)
			status = WEFT_ETIMEDOUT;
	}
	pthread_mutex_unlock(&b->lock);
	(void)pthread_setcancelstate(cancel_state, &ignored);
	weft__errno_restore(saved_errno);
	return status;
}

WEFT_NOIPA int weft__wake(const uint32_t *addr, int count, unsigned flags)
{
	WEFT_COMPILER_BARRIER(); /* see config.h */
	WEFT__CHAOS_POINT(); /* the caller's change of the word and this wake-up can be split */
	(void)count; /* a shared bucket cannot tell its sleepers apart: wake them all */
	if (flags & WEFT_PSHARED)
		return 0; /* pollers see the change by themselves (and are not counted: wait.h) */
	int saved_errno = weft__errno_save();
	pthread_once(&buckets_once, buckets_init);
	struct bucket *b = bucket_of(addr);
	pthread_mutex_lock(&b->lock);
	int woken = (int)b->sleepers; /* every sleeper of the bucket: an upper bound for @addr */
	if (woken)
		pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	weft__errno_restore(saved_errno);
	return woken;
}

/* A bucket's sleepers cannot be moved to another bucket: wake all of them (see
 * wait.h).  The compare is done under the bucket lock, as the kernel does it
 * under its hash-bucket lock. */
WEFT_NOIPA int weft__requeue(const uint32_t *addr, uint32_t expected, int nwake, const uint32_t *target, unsigned flags)
{
	WEFT_COMPILER_BARRIER(); /* see config.h */
	WEFT__CHAOS_POINT(); /* the caller's read of the word and this requeue can be split */
	(void)nwake;
	(void)target;
	if (flags & WEFT_PSHARED) /* pollers see the change by themselves */
		return weft_atomic_load(addr, WEFT_RELAXED) == expected ? WEFT_OK : WEFT_EBUSY;
	int saved_errno = weft__errno_save();
	int status = WEFT_OK;
	pthread_once(&buckets_once, buckets_init);
	struct bucket *b = bucket_of(addr);
	pthread_mutex_lock(&b->lock);
	/* relaxed: the bucket mutex orders this check, as in weft__wait() */
	if (weft_atomic_load(addr, WEFT_RELAXED) != expected)
		status = WEFT_EBUSY;
	else if (b->sleepers)
		pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	weft__errno_restore(saved_errno);
	return status;
}

/* Cancellable waits: no futex_waitv here; the generic fallback of wait.c
 * over this backend's weft__wait() (see wait.h). */
bool weft__wait_uses_waitv(void)
{
	return false;
}

void weft__wait_set_waitv(bool on)
{
	(void)on; /* nothing to switch */
}

WEFT_NOIPA int weft__wait_ctx(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags,
			      weft_cancel_t *cancel)
{
	if (cancel == NULL)
		return weft__wait(addr, expected, deadline, flags);
	WEFT_COMPILER_BARRIER(); /* a blocking call is a compiler barrier: see config.h */
	WEFT__CHAOS_POINT(); /* the caller's check of the word and this call can be split */
	const struct weft__wait_word word = {addr, expected, flags};
	int status = weft__wait_outcome(&word, 1, WEFT__WAIT_WOULD_SLEEP, cancel);
	if (status != WEFT__WAIT_WOULD_SLEEP)
		return status; /* the word changed, or cancelled */
	return weft__wait_ctx_fallback(addr, expected, deadline, flags, cancel);
}

WEFT_NOIPA int weft__wait_any(const struct weft__wait_word *words, unsigned n, const struct timespec *deadline,
			      weft_cancel_t *cancel)
{
	WEFT_COMPILER_BARRIER(); /* a blocking call is a compiler barrier: see config.h */
	WEFT__CHAOS_POINT(); /* the caller's check of the words and this call can be split */
	if (words == NULL || n == 0 || n > WEFT__WAIT_ANY_MAX)
		return WEFT_EINVAL;
	return weft__wait_any_fallback(words, n, deadline, cancel); /* it looks first */
}

const char *weft__wait_backend(void)
{
	return "portable";
}

#else
/* ISO C forbids an empty translation unit. */
typedef int weft__wait_portable_unused;
#endif
