/* SPDX-License-Identifier: MIT */
/*
 * latch.c - counting down and waiting for weft_latch_t.  The word is described
 * at the top of include/weft/latch.h.
 *
 * Transitions made here:
 *   count_down: c[|W] -> (c - n)[|W]      CAS, when n < c
 *               c[|W] -> 0                CAS, when n == c; wake all if W was set
 *   park:       c -> c | W                CAS (c > 0), then sleep while c | W
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_yield() under -std=c11 */
#endif
#include <sched.h>

#include "wait.h"
#include "weft/latch.h"

/* How a waiter waits for the other parties: 16 pauses, then up to 12
 * sched_yield() rounds, then a futex sleep.  The parties it waits for are
 * other threads that still have work to do, so a long spin only helps while
 * every party has a CPU; with more parties than CPUs (or a loaded machine)
 * a spinning waiter holds the CPU a late party needs.  A yield hands that
 * CPU over for ~0.6 us instead of a sleep and a wake-up (20-50 us of wake
 * latency on a 2-vCPU VM), and on an idle machine it returns at once, so the
 * yields are a slower, still bounded spin.  Measured on the bench rows
 * barrier/latch_countdown at 2, 4 and 8 threads on 2 CPUs (docs/once-barrier-latch.md): 16
 * pauses + 12 yields gave 4-7x the rate of the semaphore's 400-pause spin at
 * 4 and 8 threads and the same at 2.  (libstdc++'s atomic wait, behind
 * std::latch and std::barrier, also spins briefly and then yields.) */
#define WEFT__LATCH_SPIN 16u
#define WEFT__LATCH_YIELDS 12u

/* weft_latch_count_down(): documented in include/weft/latch.h. */
int weft_latch_count_down(weft_latch_t *latch, unsigned n)
{
	/* relaxed: the CAS below checks and orders */
	uint32_t v = weft_atomic_load(&latch->state, WEFT_RELAXED);
	uint32_t next;
	do {
		uint32_t count = v & WEFT_LATCH_COUNT_MASK;
		if (n > count)
			return WEFT_EINVAL;
		if (n == 0)
			return WEFT_OK;
		next = (n == count) ? 0u : v - n;
		/* release: publishes the caller's writes to the waiters that see
		 * zero; every count_down is an RMW, so all of them are in the
		 * release sequence that the last one ends */
	} while (!weft_atomic_cas_weak(&latch->state, &v, next, WEFT_RELEASE, WEFT_RELAXED));
	WEFT__CHAOS_POINT(); /* counted down, waiters not yet woken */
	if (next == 0 && (v & WEFT_LATCH_WAITERS))
		weft__wake(&latch->state, INT32_MAX, 0);
	return WEFT_OK;
}

int weft_latch_wait_slow(weft_latch_t *latch, const struct timespec *deadline)
{
	unsigned spins = 0;
	for (;;) {
		/* acquire: pairs with the release of the count_down that reached zero */
		uint32_t v = weft_atomic_load(&latch->state, WEFT_ACQUIRE);
		if ((v & WEFT_LATCH_COUNT_MASK) == 0)
			return WEFT_OK;
		if (spins < WEFT__LATCH_SPIN) {
			spins++;
			weft_cpu_relax();
			continue;
		}
		if (spins < WEFT__LATCH_SPIN + WEFT__LATCH_YIELDS) {
			spins++;
			sched_yield(); /* let a runnable party have this CPU */
			continue;
		}
		/* relaxed: only a flag; the wait below re-checks the word */
		if (!(v & WEFT_LATCH_WAITERS) &&
		    !weft_atomic_cas(&latch->state, &v, v | WEFT_LATCH_WAITERS, WEFT_RELAXED, WEFT_RELAXED))
			continue; /* the count moved: look again */
		if (weft__wait(&latch->state, v | WEFT_LATCH_WAITERS, deadline, 0) == WEFT_ETIMEDOUT) {
			/* acquire: as above */
			return (weft_atomic_load(&latch->state, WEFT_ACQUIRE) & WEFT_LATCH_COUNT_MASK) == 0
				       ? WEFT_OK
				       : WEFT_ETIMEDOUT;
		}
	}
}
