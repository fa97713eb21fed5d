/* SPDX-License-Identifier: MIT */
/*
 * barrier.c - opening the next phase and waiting for it.  The algorithm and
 * the word are described at the top of include/weft/barrier.h.
 *
 * Transitions made here:
 *   open:  arrived count -> 0, then phase p[|SLEEPERS] -> p + 2   (last arriver)
 *   park:  phase p -> p | SLEEPERS by CAS, then sleep while phase == p | SLEEPERS
 */
#include "spinwait.h"
#include "wait.h"
#include "weft/barrier.h"

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
	/* Spin, yield, then park, as the WEFT__SPIN_BARRIER preset says
	 * (src/spinwait.c: 16 pauses, 12 yields). */
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_BARRIER, (const struct timespec *)0);
	for (;;) {
		/* acquire: pairs with the release exchange that opens the next phase */
		uint32_t now = weft_atomic_load(&barrier->phase, WEFT_ACQUIRE);
		if ((now & ~WEFT_BARRIER_SLEEPERS) != phase)
			return;
		(void)weft__spinwait_wait_bit(&sw, &barrier->phase, now, WEFT_BARRIER_SLEEPERS, 0);
	}
}
