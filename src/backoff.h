/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_BACKOFF_H
#define WEFT_SRC_BACKOFF_H

/*
 * backoff.h - the bounded spin every weft waiter uses before it yields or sleeps.
 *
 * Exponential backoff (Anderson 1990): each failed check doubles the number of
 * pause instructions before the next, up to a cap, so that waiters stop
 * hammering the lock's cache line.  Once a waiter has paused
 * WEFT_SPIN_YIELD_AFTER times in total it is told to stop spinning: spinlocks
 * then yield the CPU between checks, blocking primitives park.
 */

#include <sched.h>
#include <stdbool.h>

#include "weft/atomic.h"
#include "weft/spinlock.h"

#define WEFT_BACKOFF_MAX_PAUSES 64u /* cap of one backoff step: ~64 * 40 ns on current x86 */

struct weft__backoff {
	unsigned step;  /* pauses in the next step */
	unsigned spent; /* pauses so far */
	unsigned cap;   /* the longest step (at most 2^16, so doubling cannot overflow) */
};

#define WEFT__BACKOFF_INIT {1, 0, WEFT_BACKOFF_MAX_PAUSES}

/* Pause for one step, then double the next step up to the cap. */
static inline void weft__backoff_pause(struct weft__backoff *b)
{
	for (unsigned i = 0; i < b->step; i++)
		weft_cpu_relax();
	b->spent += b->step;
	b->step = b->step * 2 > b->cap ? b->cap : b->step * 2;
}

/* One backoff step.  Return: false once the spin budget is spent (the caller
 * should yield or park instead of calling again). */
static inline bool weft__backoff_spin(struct weft__backoff *b, unsigned budget)
{
	if (b->spent >= budget)
		return false;
	weft__backoff_pause(b);
	return true;
}

/* Spin while the budget lasts, then give the CPU away once per call. */
static inline void weft__backoff_or_yield(struct weft__backoff *b)
{
	if (!weft__backoff_spin(b, WEFT_SPIN_YIELD_AFTER))
		sched_yield();
}

#endif /* WEFT_SRC_BACKOFF_H */
