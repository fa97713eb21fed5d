/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BARRIER_H
#define WEFT_BARRIER_H

/*
 * barrier.h - a reusable barrier for a fixed number of threads: a central
 * arrival counter and a phase (generation) word that the waiters sleep on.
 *
 * Algorithm: the centralized barrier with a generation counter instead of a
 * sense flag (J. M. Mellor-Crummey, M. L. Scott, "Algorithms for Scalable
 * Synchronization on Shared-Memory Multiprocessors", ACM TOCS 9(1), 1991,
 * section 3.1, "centralized barrier"), with futex sleeping:
 *
 *   wait:  p = phase; n = ++arrived;
 *          n == count: arrived = 0 (and the next parity); phase = p + 2
 *                      (clearing SLEEPERS); wake all if SLEEPERS was set;
 *                      return true.
 *          otherwise:  watch phase for a bounded spin, then set SLEEPERS and
 *                      sleep while phase == p | SLEEPERS; return false.
 *
 * The phase word counts in steps of two; bit 0 (SLEEPERS) says that some
 * thread sleeps on it, so the last arriver makes a system call only then.
 * Phases never mix: a thread's phase cannot end without its own arrival, so
 * the value it read before arriving names its phase, and the reset of
 * `arrived` is published by the same release that opens the next phase.
 *
 * Withdrawing (weft_barrier_wait_ctx(), cancelled or timed out).  A waiter
 * that gives up takes its arrival back, so that the phase it leaves still
 * needs @count arrivals: it decrements `arrived` by CAS, but only while the
 * phase has not completed.  Bit 31 of `arrived` (PARITY) holds the parity of
 * the phase number, flipped by the reset that opens the next phase, so the
 * CAS cannot mistake the next phase's arrivals for its own phase's (the ABA
 * of a count reset to 0 and counted up again).  One bit is enough: a phase
 * two ahead cannot complete while a party of this one has not left (it would
 * need that party's arrival).  If the phase completed first (PARITY flipped,
 * or the count full: the last arriver is opening it), the waiter does not
 * withdraw: it waits for the opening and returns WEFT_OK.  So exactly one of
 * two things happens: the arrival counts and the call returns WEFT_OK, or it
 * does not count and the call returns WEFT_ECANCELED/WEFT_ETIMEDOUT.  The
 * parity bit caps @count at WEFT_BARRIER_MAX (2^31 - 1, glibc's limit too).
 *
 * Each phase needs exactly @count calls to weft_barrier_wait(); a thread
 * that calls it again starts its part of the next phase.  Extra callers in a
 * phase are a misuse (they would be counted into the next one).
 *
 * Progress: blocking.  Fairness: not applicable (everyone leaves together).
 *
 * Ordering: everything every thread wrote before its weft_barrier_wait() of a
 * phase is visible to every thread after that call returns (arrivals are
 * acq_rel increments, the phase change a release, the watch an acquire).
 *
 * Cancellation: weft_barrier_wait_ctx() takes a deadline and a token
 * (weft/cancel.h); see "Withdrawing" above and docs/waiting.md.
 *
 * Footprint: 12 bytes (pthread_barrier_t: 32).  There is no all-zero barrier
 * (a count of 0 is invalid); use weft_barrier_init() or WEFT_BARRIER_INIT(n).
 * Private to a process.
 */

#include <stdbool.h>
#include <stdint.h>

#include <time.h>

#include "atomic.h"
#include "cancel.h"
#include "config.h"
#include "deadline.h"
#include "status.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

#define WEFT_BARRIER_SLEEPERS 1u /* bit 0 of `phase` */
#define WEFT_BARRIER_PHASE_STEP 2u
#define WEFT_BARRIER_PARITY 0x80000000u     /* bit 31 of `arrived`: the phase number's parity */
#define WEFT_BARRIER_COUNT_MASK 0x7fffffffu /* bits 0..30 of `arrived`: the arrivals */
#define WEFT_BARRIER_MAX 0x7fffffffu        /* the largest count */

typedef struct weft_barrier {
	uint32_t count;   /* threads per phase; fixed at init */
	uint32_t arrived; /* WEFT_BARRIER_PARITY of the phase | threads arrived in it */
	uint32_t phase;   /* futex word: phase number * 2 | WEFT_BARRIER_SLEEPERS */
} weft_barrier_t;

WEFT_STATIC_ASSERT(sizeof(weft_barrier_t) == 12, "weft_barrier_t is three 32-bit words");

#define WEFT_BARRIER_INIT(n) {(n), 0, 0}

WEFT_NOINLINE WEFT_COLD void weft_barrier_wait_slow(weft_barrier_t *barrier, uint32_t phase);
void weft_barrier_release_slow(weft_barrier_t *barrier);
WEFT_NOINLINE WEFT_COLD int weft_barrier_wait_ctx_slow(weft_barrier_t *barrier, uint32_t phase,
						       const struct timespec *deadline, weft_cancel_t *cancel);

/**
 * weft_barrier_init() - initialize a barrier for @count threads per phase.
 * @barrier: the barrier.
 * @count: the number of threads that meet at each phase; 1 to
 *         WEFT_BARRIER_MAX.
 *
 * Context: any thread; the barrier must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL if @count is 0 or above WEFT_BARRIER_MAX
 * (@barrier is untouched).
 */
WEFT_NODISCARD static inline int weft_barrier_init(weft_barrier_t *barrier, unsigned count)
{
	if (count == 0 || count > WEFT_BARRIER_MAX)
		return WEFT_EINVAL;
	/* relaxed: not shared yet; publishing it is the caller's job */
	weft_atomic_store(&barrier->count, (uint32_t)count, WEFT_RELAXED);
	weft_atomic_store(&barrier->arrived, 0u, WEFT_RELAXED);
	weft_atomic_store(&barrier->phase, 0u, WEFT_RELAXED);
	return WEFT_OK;
}

/**
 * weft_barrier_wait() - arrive at the barrier and wait for the others.
 * @barrier: the barrier.
 *
 * Returns when all @count threads of this phase have arrived.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: see the overview: the phase's writes of every thread are visible
 * after it.
 * Return: true in exactly one thread of each phase (the last to arrive), false
 * in the others.
 */
/*
 * TSan: every arrival publishes the caller's writes of the phase to every
 * thread that leaves it, which the library (built without TSan) does not show:
 * each arrival releases, and each leaver acquires, an address that stands for
 * the phase.  Two alternate (phase number even or odd, bytes 0 and 1 of the
 * barrier), so an arrival at the next phase is never consumed by a slow leaver
 * of this one: a thread can arrive at phase p + 2 only after every thread has
 * arrived at p + 1, so after every leaver of p has acquired.
 */
#define WEFT__BARRIER_TSAN_ADDR(b, phase) ((char *)(b) + (((phase) / WEFT_BARRIER_PHASE_STEP) & 1u))

/* Arrive at the current phase; store its number in *@phase.  Return: true if
 * this was the last arrival (the next phase is then open). */
static inline bool weft__barrier_arrive(weft_barrier_t *barrier, uint32_t *phase_out)
{
	/* acquire: pairs with the release that opened this phase, so the reset of
	 * `arrived` is seen before our increment */
	uint32_t phase = weft_atomic_load(&barrier->phase, WEFT_ACQUIRE) & ~WEFT_BARRIER_SLEEPERS;
	/* relaxed: count is fixed at init */
	uint32_t count = weft_atomic_load(&barrier->count, WEFT_RELAXED);
	WEFT_TSAN_RELEASE(WEFT__BARRIER_TSAN_ADDR(barrier, phase)); /* TSan: see above */
	*phase_out = phase;
	/* acq_rel: releases this thread's writes of the phase, and the last
	 * arriver acquires every earlier arrival (they form one release sequence,
	 * which a withdrawal's RMW continues) */
	uint32_t n = weft_atomic_fetch_add(&barrier->arrived, 1u, WEFT_ACQ_REL) + 1u;
	if ((n & WEFT_BARRIER_COUNT_MASK) == count) {
		weft_barrier_release_slow(barrier);
		return true;
	}
	return false;
}

static inline bool weft_barrier_wait(weft_barrier_t *barrier)
{
	uint32_t phase;
	bool last = weft__barrier_arrive(barrier, &phase);
	if (!last)
		weft_barrier_wait_slow(barrier, phase);
	WEFT_TSAN_ACQUIRE(WEFT__BARRIER_TSAN_ADDR(barrier, phase)); /* TSan: see above */
	return last;
}

/**
 * weft_barrier_wait_ctx() - weft_barrier_wait() that gives up at @deadline or
 * when @cancel is cancelled, taking its arrival back.
 * @barrier: the barrier.
 * @serial: NULL, or where to store whether this call was the last arrival of
 *          its phase (the one "true" of weft_barrier_wait()); false unless
 *          WEFT_OK.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()), or
 *            NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * The last arrival of a phase never waits, so it returns WEFT_OK without
 * reading the clock or the token.  Any other arrival waits; if it gives up
 * (the token is cancelled, also before the call, or @deadline passes) while
 * the phase is still open, its arrival is withdrawn: the phase goes on waiting
 * for @count arrivals, and the caller may arrive again later.  If the phase
 * completed first, the call returns WEFT_OK as weft_barrier_wait() would.
 * (The overview, "Withdrawing", says why exactly one of the two happens.)
 *
 * Context: may block until @deadline or the cancel; not async-signal-safe.
 * Ordering: on WEFT_OK, as weft_barrier_wait(); on WEFT_ECANCELED, the
 * acquire of the cancel (weft_cancel()'s release); nothing on WEFT_ETIMEDOUT.
 * Return: WEFT_OK (the phase completed with this arrival), WEFT_ETIMEDOUT or
 * WEFT_ECANCELED (the arrival withdrawn), or WEFT_EINVAL for a malformed
 * @deadline (nothing is done: not arrived).
 */
WEFT_NODISCARD static inline int weft_barrier_wait_ctx(weft_barrier_t *barrier, bool *serial,
						       const struct timespec *deadline, weft_cancel_t *cancel)
{
	if (serial != (bool *)0)
		*serial = false;
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	uint32_t phase;
	bool last = weft__barrier_arrive(barrier, &phase);
	int rc = last ? WEFT_OK : weft_barrier_wait_ctx_slow(barrier, phase, deadline, cancel);
	if (rc != WEFT_OK) /* withdrawn: this thread did not pass the barrier */
		return weft__cancel_acquired(rc, cancel); /* TSan: the cancel's release, seen here */
	WEFT_TSAN_ACQUIRE(WEFT__BARRIER_TSAN_ADDR(barrier, phase)); /* TSan: see above */
	if (serial != (bool *)0)
		*serial = last;
	return WEFT_OK;
}

/**
 * weft_barrier_destroy() - end the barrier's life.
 * @barrier: a barrier no thread waits on or will use again.
 *
 * Context: any thread.
 */
static inline void weft_barrier_destroy(weft_barrier_t *barrier)
{
	(void)barrier;
}

WEFT_EXTERN_C_END

#endif /* WEFT_BARRIER_H */
