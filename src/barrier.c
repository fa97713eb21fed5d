/* SPDX-License-Identifier: MIT */
/*
 * barrier.c - opening the next phase and waiting for it.  The algorithm and
 * the word are described at the top of include/weft/barrier.h.
 *
 * Transitions made here:
 *   open:  arrived count -> 0, then phase p[|SLEEPERS] -> p + 2   (last arriver)
 *   park:  phase p -> p | SLEEPERS by CAS, then sleep while phase == p | SLEEPERS
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_yield() under -std=c11 */
#endif
#include <sched.h>

#include "wait.h"
#include "weft/barrier.h"

/* How a waiter waits for the other parties: 16 pauses, then up to 12
 * sched_yield() rounds, then a futex sleep.  The parties it waits for are
 * other threads that still have work to do, so a long spin only helps while
 * every party has a CPU; with more parties than CPUs (or a loaded machine)
 * a spinning waiter holds the CPU a late party needs.  A yield hands that
 * CPU over for ~0.6 us instead of a sleep and a wake-up (20-50 us of wake
 * latency on a 2-vCPU VM), and on an idle machine it returns at once, so the
 * yields are a slower, still bounded spin.  Measured on the bench rows
 * barrier/phase at 2, 4 and 8 threads on 2 CPUs (docs/once-barrier-latch.md): 16
 * pauses + 12 yields gave 4-7x the rate of the semaphore's 400-pause spin at
 * 4 and 8 threads and the same at 2.  (libstdc++'s atomic wait, behind
 * std::latch and std::barrier, also spins briefly and then yields.) */
#define WEFT__BARRIER_SPIN 16u
#define WEFT__BARRIER_YIELDS 12u

void weft_barrier_release_slow(weft_barrier_t *barrier)
{
	/* relaxed: published by the release exchange below, which every thread
	 * of the next phase acquires before it increments */
	weft_atomic_store(&barrier->arrived, 0u, WEFT_RELAXED);
	WEFT__CHAOS_POINT(); /* arrivals reset, phase not yet opened */
	/* relaxed read: only we change the phase number in this phase */
	uint32_t phase = weft_atomic_load(&barrier->phase, WEFT_RELAXED) & ~WEFT_BARRIER_SLEEPERS;
	/* release: publishes every arrival's writes (acquired by our acq_rel
	 * increment) and the reset above; pairs with the waiters' acquire loads */
	uint32_t old = weft_atomic_exchange(&barrier->phase, phase + WEFT_BARRIER_PHASE_STEP, WEFT_RELEASE);
	if (old & WEFT_BARRIER_SLEEPERS)
		weft__wake(&barrier->phase, INT32_MAX, 0);
}

void weft_barrier_wait_slow(weft_barrier_t *barrier, uint32_t phase)
{
	unsigned spins = 0;
	for (;;) {
		/* acquire: pairs with the release exchange that opens the next phase */
		uint32_t now = weft_atomic_load(&barrier->phase, WEFT_ACQUIRE);
		if ((now & ~WEFT_BARRIER_SLEEPERS) != phase)
			return;
		if (spins < WEFT__BARRIER_SPIN) {
			spins++;
			weft_cpu_relax();
			continue;
		}
		if (spins < WEFT__BARRIER_SPIN + WEFT__BARRIER_YIELDS) {
			spins++;
			sched_yield(); /* let a runnable party have this CPU */
			continue;
		}
		/* relaxed: only a flag; the wait below re-checks the word */
		if (!(now & WEFT_BARRIER_SLEEPERS) &&
		    !weft_atomic_cas(&barrier->phase, &now, now | WEFT_BARRIER_SLEEPERS, WEFT_RELAXED, WEFT_RELAXED))
			continue; /* the phase moved on, or another sleeper set the bit */
		(void)weft__wait(&barrier->phase, phase | WEFT_BARRIER_SLEEPERS, (const struct timespec *)0, 0);
	}
}
