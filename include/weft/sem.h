/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SEM_H
#define WEFT_SEM_H

/*
 * sem.h - an 8-byte counting semaphore: a futex word holding the count, a
 * registered-waiter count beside it, bounded spinning before sleeping.
 *
 * Algorithm (after the futex semaphores of U. Drepper, "Futexes Are Tricky",
 * 2011, and glibc's nptl sem_post/sem_wait design by T. Riegel, 2015, which
 * also keeps a waiter count so that a post with nobody waiting makes no system
 * call):
 *
 *   post(n):  CAS count -> count + n, refusing to pass WEFT_SEM_VALUE_MAX;
 *             then if waiters != 0: futex_wake(&value, n).
 *   wait:     CAS count -> count - 1 while count > 0 (the inline fast path);
 *             else watch the word for a bounded spin, retrying (only while
 *             no thread sleeps on it: a crowd of waiters parks at once);
 *             else waiters++, then loop { take a unit if count > 0, else
 *             futex_wait(&value, 0) }, then waiters--.
 *
 * `waiters` and `value` form a Dekker pair (sequentially consistent on both
 * sides): a post that sees no waiter knows that any waiter that registers
 * later will see its new count before it sleeps, so no wake-up is lost.  A
 * woken waiter competes for the unit with threads that never slept (barging):
 * if it loses, it sleeps again; the unit went to someone.
 *
 * Eventual fairness (issue 15; the bound and its clock are src/fairness.h's,
 * shared with weft_mutex_t): a sleeper of a private semaphore that has waited
 * longer than the bound and loses once more raises WEFT_SEM_STARVING_BIT in
 * the word (only while the count is 0; one claimant at a time).  While it is
 * up no other thread takes a unit -- the inline fast paths test the bit with
 * the count in one comparison, so barging waiters fall to the slow path and
 * sleep -- and a post wakes every sleeper, so the claimant is among those
 * woken; the claimant takes the next unit and lowers the bit in one CAS
 * (waking the others if units are left).  The units never leave the count:
 * nothing can be lost, only passed over.  A process-shared semaphore never
 * claims: a claimant killed with the bit up would stop every other waiter.
 *
 * The word: bits 0..29 are the count, bit 30 the claim of a starving sleeper,
 * bit 31 marks a process-shared semaphore.  The count never goes negative
 * (waiters are counted apart), so weft_sem_value() is never negative.
 * WEFT_SEM_VALUE_MAX is 2^30 - 1 (1073741823): a post that would pass it
 * returns WEFT_EOVERFLOW and changes nothing.
 *
 * Progress: wait is blocking; trywait, post and value are lock-free.
 * Fairness: barging, bounded (private semaphores): a sleeper is passed over
 * for at most the bound (weft_mutex_set_fair_bound(), 1 ms by default) plus
 * the time until it runs again, then it gets the next unit.  trywait fails
 * while a claim is up, even with units in the count.
 *
 * Ordering: a post is a release and a successful wait (wait, trywait,
 * timedwait returning WEFT_OK) an acquire: what a thread wrote before posting
 * is visible to the thread that takes that unit.  Failed waits have no
 * ordering.
 *
 * Footprint: 8 bytes (sem_t: 32), unchanged by the claim bit.  All-zero is
 * a private semaphore with count 0; WEFT_SEM_INIT(n) is a private one with
 * count n.
 *
 * WEFT_DEBUG: destroying a semaphore while threads wait on it aborts.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "cancel.h"
#include "config.h"
#include "deadline.h"
#include "debug.h"
#include "status.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

/* The word (see the overview). */
#define WEFT_SEM_COUNT_MASK 0x3fffffffu
#define WEFT_SEM_STARVING_BIT 0x40000000u /* a starving sleeper claims the next unit */
#define WEFT_SEM_PSHARED_BIT 0x80000000u
#define WEFT_SEM_VALUE_MAX 0x3fffffffu /* 2^30 - 1 */

/* Whether a thread that has not claimed may take a unit from word @v: the
 * count is not 0 and no starving sleeper claims it.  One test for both: with
 * the claim bit up, (v & ~PSHARED) - 1 is at least the mask. */
#define WEFT__SEM_TAKEABLE(v) ((((v) & ~WEFT_SEM_PSHARED_BIT) - 1u) < WEFT_SEM_COUNT_MASK)

/* Pause instructions a waiter spends watching for a unit before it sleeps,
 * chosen by the sweep in docs/sem.md. */
#define WEFT_SEM_SPIN_DEFAULT 400u

typedef struct weft_sem {
	uint32_t value;   /* futex word: count | WEFT_SEM_PSHARED_BIT */
	uint32_t waiters; /* threads registered to sleep on value */
} weft_sem_t;

WEFT_STATIC_ASSERT(sizeof(weft_sem_t) == 8, "weft_sem_t is two 32-bit words");

#define WEFT_SEM_INIT(n) {(n), 0}

WEFT_NOINLINE WEFT_COLD int weft_sem_wait_slow(weft_sem_t *sem, const struct timespec *deadline);
WEFT_NOINLINE WEFT_COLD int weft_sem_wait_ctx_slow(weft_sem_t *sem, const struct timespec *deadline,
						   weft_cancel_t *cancel);
WEFT_NOINLINE WEFT_COLD void weft_sem_wake_slow(weft_sem_t *sem, unsigned n);

/**
 * weft_sem_set_spin() - set how long a waiter watches for a unit before it
 * sleeps, for every weft_sem_t in the process.
 * @pauses: the bound: checks of the word, one pause instruction apart; 0
 *          sleeps at once.
 *
 * Context: any thread, at any time.
 * Return: the previous bound.
 */
unsigned weft_sem_set_spin(unsigned pauses);

/**
 * weft_sem_init() - initialize a semaphore with @value units.
 * @sem: the semaphore.
 * @value: the initial count, at most WEFT_SEM_VALUE_MAX.
 * @flags: 0, or WEFT_PSHARED for a semaphore in memory shared between processes.
 *
 * Context: any thread; the semaphore must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL for an unknown flag or @value above
 * WEFT_SEM_VALUE_MAX (@sem is then untouched).
 */
WEFT_NODISCARD static inline int weft_sem_init(weft_sem_t *sem, unsigned value, unsigned flags)
{
	if ((flags & ~WEFT_PSHARED) || value > WEFT_SEM_VALUE_MAX)
		return WEFT_EINVAL;
	/* relaxed: not shared yet; publishing it is the caller's job */
	weft_atomic_store(&sem->value, value | ((flags & WEFT_PSHARED) ? WEFT_SEM_PSHARED_BIT : 0u), WEFT_RELAXED);
	weft_atomic_store(&sem->waiters, 0u, WEFT_RELAXED);
	return WEFT_OK;
}

/**
 * weft_sem_trywait() - take a unit if one is available.
 * @sem: the semaphore.
 *
 * Context: any thread; never blocks; async-signal-safe.
 * Ordering: acquire on success, none on failure.
 * Return: true if a unit was taken; false if the count is 0, or while a
 * starving sleeper claims the next unit (see the overview).
 */
WEFT_NODISCARD static inline bool weft_sem_trywait(weft_sem_t *sem)
{
	/* relaxed: the CAS below is the acquire */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	while (WEFT__SEM_TAKEABLE(v)) {
		/* acquire: pairs with the release CAS in weft_sem_post_n() */
		if (weft_atomic_cas_weak(&sem->value, &v, v - 1u, WEFT_ACQUIRE, WEFT_RELAXED))
			return true;
	}
	return false;
}

/**
 * weft_sem_wait() - take a unit, sleeping until one is available.
 * @sem: the semaphore.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire; pairs with the release of the post that made the unit.
 */
static inline void weft_sem_wait(weft_sem_t *sem)
{
	/* relaxed: the CAS below is the acquire */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	/* acquire: pairs with the release CAS in weft_sem_post_n() */
	if (WEFT_LIKELY(WEFT__SEM_TAKEABLE(v) &&
			weft_atomic_cas(&sem->value, &v, v - 1u, WEFT_ACQUIRE, WEFT_RELAXED)))
		return;
	(void)weft_sem_wait_slow(sem, (const struct timespec *)0);
	/* TSan: the unit was taken by the library's acquire CAS, which a library
	 * built without TSan does not show: consume what the posts published
	 * (their WEFT_TSAN_RELEASE in weft_sem_post_n()) */
	WEFT_TSAN_ACQUIRE(sem);
}

/**
 * weft_sem_timedwait() - take a unit, or give up at @deadline.
 * @sem: the semaphore.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()).
 *
 * A deadline already past still takes a unit that is available at once.
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK, none otherwise.
 * Return: WEFT_OK (a unit taken), WEFT_ETIMEDOUT, or WEFT_EINVAL for a
 * malformed or NULL @deadline (nothing taken).
 */
WEFT_NODISCARD static inline int weft_sem_timedwait(weft_sem_t *sem, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	if (weft_sem_trywait(sem))
		return WEFT_OK;
	int rc = weft_sem_wait_slow(sem, deadline);
	if (rc == WEFT_OK)
		WEFT_TSAN_ACQUIRE(sem); /* TSan: as in weft_sem_wait() */
	return rc;
}

/**
 * weft_sem_wait_ctx() - take a unit, sleeping until one is available, until
 * @deadline or until @cancel is cancelled.
 * @sem: the semaphore.
 * @deadline: absolute CLOCK_MONOTONIC time, or NULL for none.
 * @cancel: a token (include/weft/cancel.h), or NULL for none.
 *
 * weft_sem_wait() and weft_sem_timedwait() with a cancellation token.  A wait
 * that finds a unit takes it without looking at the token; the token is read
 * only once the call would wait (a token already cancelled then returns
 * WEFT_ECANCELED without sleeping).  No unit is lost to a cancellation: units
 * never leave the count until a waiter takes one, so WEFT_ECANCELED means
 * nothing was taken and every unit is still there for the other waiters; a
 * cancelled waiter that had claimed the next unit (see the overview) lowers
 * its claim and wakes sleepers for the units that are there.  A deadline
 * already past still takes a unit that is available at once.
 *
 * Context: may block until @deadline or the cancellation; not async-signal-safe.
 * Ordering: acquire on WEFT_OK, none otherwise.
 * Return: WEFT_OK (a unit taken); WEFT_ETIMEDOUT or WEFT_ECANCELED (nothing
 * taken); WEFT_EINVAL for a malformed @deadline (nothing taken).
 */
WEFT_NODISCARD static inline int weft_sem_wait_ctx(weft_sem_t *sem, const struct timespec *deadline,
						   weft_cancel_t *cancel)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	if (weft_sem_trywait(sem))
		return WEFT_OK;
	int rc = weft_sem_wait_ctx_slow(sem, deadline, cancel);
	if (rc == WEFT_OK)
		WEFT_TSAN_ACQUIRE(sem); /* TSan: as in weft_sem_wait() */
	return weft__cancel_acquired(rc, cancel); /* TSan: the cancel's release, seen here */
}

/**
 * weft_sem_post_n() - add @n units and wake up to @n waiters.
 * @sem: the semaphore.
 * @n: units to add; 0 does nothing.
 *
 * With no registered waiter it makes no system call.
 *
 * Context: any thread; never blocks; async-signal-safe (as sem_post()).
 * Ordering: release; publishes what the caller wrote to whoever takes the units.
 * Return: WEFT_OK, or WEFT_EOVERFLOW if the count would pass
 * WEFT_SEM_VALUE_MAX (nothing is added).
 */
WEFT_NODISCARD static inline int weft_sem_post_n(weft_sem_t *sem, unsigned n)
{
	/* TSan: a post publishes the caller's writes to whoever takes a unit;
	 * the inline takers see that through the CAS below, a taker in the
	 * library (weft_sem_wait_slow()) through this release, which its
	 * caller's WEFT_TSAN_ACQUIRE() consumes.  (A failed post releases too:
	 * harmless, TSan then only orders a little more.) */
	WEFT_TSAN_RELEASE(sem);
	/* relaxed: the CAS below checks and orders */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	do {
		if (n > WEFT_SEM_VALUE_MAX - (v & WEFT_SEM_COUNT_MASK))
			return WEFT_EOVERFLOW;
		if (n == 0)
			return WEFT_OK;
		/* seq_cst: a release that publishes the caller's writes to the
		 * taker (pairs with the acquire CAS of a wait), and one half of the
		 * Dekker pair with a waiter's registration in `waiters` */
	} while (!weft_atomic_cas_weak(&sem->value, &v, v + n, WEFT_SEQ_CST, WEFT_RELAXED));
	WEFT__CHAOS_POINT(); /* units added, waiters not yet looked at */
	/* seq_cst: the other half of the Dekker pair (see the overview) */
	if (WEFT_UNLIKELY(weft_atomic_load(&sem->waiters, WEFT_SEQ_CST) != 0))
		weft_sem_wake_slow(sem, n);
	return WEFT_OK;
}

/**
 * weft_sem_post() - add one unit and wake one waiter if any.
 * @sem: the semaphore.
 *
 * Context: any thread; never blocks; async-signal-safe.
 * Ordering: release, as weft_sem_post_n().
 * Return: WEFT_OK, or WEFT_EOVERFLOW if the count is WEFT_SEM_VALUE_MAX
 * already (nothing is added).
 */
WEFT_NODISCARD static inline int weft_sem_post(weft_sem_t *sem)
{
	return weft_sem_post_n(sem, 1u);
}

/**
 * weft_sem_value() - the number of units available now.
 * @sem: the semaphore.
 *
 * A snapshot: it may be stale by the time the caller looks at it.
 *
 * Context: any thread; never blocks.
 * Ordering: none (relaxed).
 * Return: the count, 0 .. WEFT_SEM_VALUE_MAX (never negative).
 */
static inline long weft_sem_value(weft_sem_t *sem)
{
	/* relaxed: a snapshot that orders nothing */
	return (long)(weft_atomic_load(&sem->value, WEFT_RELAXED) & WEFT_SEM_COUNT_MASK);
}

/**
 * weft_sem_destroy() - end the semaphore's life.
 * @sem: a semaphore no thread waits on or will use again.
 *
 * Nothing to free; a WEFT_DEBUG build aborts if a thread still waits on it.
 *
 * Context: any thread.
 */
static inline void weft_sem_destroy(weft_sem_t *sem)
{
#ifdef WEFT_DEBUG
	/* relaxed: a diagnostic; a correct caller has no concurrent user */
	if (weft_atomic_load(&sem->waiters, WEFT_RELAXED) != 0)
		weft_debug_die("weft_sem_t", sem, "destroyed while threads wait on it");
#endif
	(void)sem;
}

WEFT_EXTERN_C_END

#endif /* WEFT_SEM_H */
