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
 *          n == count: arrived = 0; phase = p + 2 (clearing SLEEPERS);
 *                      wake all if SLEEPERS was set; return true.
 *          otherwise:  watch phase for a bounded spin, then set SLEEPERS and
 *                      sleep while phase == p | SLEEPERS; return false.
 *
 * The phase word counts in steps of two; bit 0 (SLEEPERS) says that some
 * thread sleeps on it, so the last arriver makes a system call only then.
 * Phases never mix: a thread's phase cannot end without its own arrival, so
 * the value it read before arriving names its phase, and the reset of
 * `arrived` is published by the same release that opens the next phase.
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
 * Footprint: 12 bytes (pthread_barrier_t: 32).  There is no all-zero barrier
 * (a count of 0 is invalid); use weft_barrier_init() or WEFT_BARRIER_INIT(n).
 * Private to a process.
 */

#include <stdbool.h>
#include <stdint.h>

#include "atomic.h"
#include "config.h"
#include "status.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

#define WEFT_BARRIER_SLEEPERS 1u /* bit 0 of `phase` */
#define WEFT_BARRIER_PHASE_STEP 2u

typedef struct weft_barrier {
	uint32_t count;   /* threads per phase; fixed at init */
	uint32_t arrived; /* threads arrived in the current phase */
	uint32_t phase;   /* futex word: phase number * 2 | WEFT_BARRIER_SLEEPERS */
} weft_barrier_t;

WEFT_STATIC_ASSERT(sizeof(weft_barrier_t) == 12, "weft_barrier_t is three 32-bit words");

#define WEFT_BARRIER_INIT(n) {(n), 0, 0}

WEFT_NOINLINE WEFT_COLD void weft_barrier_wait_slow(weft_barrier_t *barrier, uint32_t phase);
void weft_barrier_release_slow(weft_barrier_t *barrier);

/**
 * weft_barrier_init() - initialize a barrier for @count threads per phase.
 * @barrier: the barrier.
 * @count: the number of threads that meet at each phase; at least 1.
 *
 * Context: any thread; the barrier must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL if @count is 0 (@barrier is untouched).
 */
WEFT_NODISCARD static inline int weft_barrier_init(weft_barrier_t *barrier, unsigned count)
{
	if (count == 0)
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

static inline bool weft_barrier_wait(weft_barrier_t *barrier)
{
	/* acquire: pairs with the release that opened this phase, so the reset of
	 * `arrived` is seen before our increment */
	uint32_t phase = weft_atomic_load(&barrier->phase, WEFT_ACQUIRE) & ~WEFT_BARRIER_SLEEPERS;
	/* relaxed: count is fixed at init */
	uint32_t count = weft_atomic_load(&barrier->count, WEFT_RELAXED);
	WEFT_TSAN_RELEASE(WEFT__BARRIER_TSAN_ADDR(barrier, phase)); /* TSan: see above */
	/* acq_rel: releases this thread's writes of the phase, and the last
	 * arriver acquires every earlier arrival (they form one release sequence) */
	uint32_t n = weft_atomic_fetch_add(&barrier->arrived, 1u, WEFT_ACQ_REL) + 1u;
	if (n == count) {
		weft_barrier_release_slow(barrier);
		WEFT_TSAN_ACQUIRE(WEFT__BARRIER_TSAN_ADDR(barrier, phase)); /* TSan: see above */
		return true;
	}
	weft_barrier_wait_slow(barrier, phase);
	WEFT_TSAN_ACQUIRE(WEFT__BARRIER_TSAN_ADDR(barrier, phase)); /* TSan: see above */
	return false;
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
