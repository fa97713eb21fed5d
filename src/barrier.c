/* SPDX-License-Identifier: MIT */
/*
 * barrier.c - opening the next phase and waiting for it.  The algorithm and
 * the word are described at the top of include/weft/barrier.h.
 *
 * Transitions made here:
 *   open:     arrived P|count -> !P|0, then phase p[|SLEEPERS] -> p + 2   (last arriver)
 *   park:     phase p -> p | SLEEPERS by CAS, then sleep while phase == p | SLEEPERS
 *   withdraw: arrived P|n -> P|(n - 1) by CAS, only while the parity is still
 *             P (the phase's own) and n < count (weft_barrier_wait_ctx())
 */
#include "spinwait.h"
#include "wait.h"
#include "weft/barrier.h"

/* The parity bit of `arrived` during @phase. */
static uint32_t barrier_parity(uint32_t phase)
{
	return ((phase / WEFT_BARRIER_PHASE_STEP) & 1u) ? WEFT_BARRIER_PARITY : 0u;
}

void weft_barrier_release_slow(weft_barrier_t *barrier)
{
	/* relaxed read: only we change the phase number in this phase */
	uint32_t phase = weft_atomic_load(&barrier->phase, WEFT_RELAXED) & ~WEFT_BARRIER_SLEEPERS;
	uint32_t next = phase + WEFT_BARRIER_PHASE_STEP;
	/* No arrivals yet, with the next phase's parity: from here on a waiter
	 * of this phase that gives up sees the parity changed and does not
	 * withdraw (barrier_withdraw()).  relaxed: published by the release
	 * exchange below, which every thread of the next phase acquires before
	 * it increments; a withdrawing waiter needs no order from it (it then
	 * waits for the exchange with an acquire load). */
	weft_atomic_store(&barrier->arrived, barrier_parity(next), WEFT_RELAXED);
	WEFT__CHAOS_POINT(); /* arrivals reset, phase not yet opened */
	/* release: publishes every arrival's writes (acquired by our acq_rel
	 * increment) and the reset above; pairs with the waiters' acquire loads */
	uint32_t old = weft_atomic_exchange(&barrier->phase, next, WEFT_RELEASE);
	if (old & WEFT_BARRIER_SLEEPERS)
		weft__wake(&barrier->phase, INT32_MAX, 0);
}

/*
 * Take our arrival at @phase back, if the phase has not completed (the
 * overview of include/weft/barrier.h, "Withdrawing").  Return: true if
 * withdrawn; false if the phase completed first (the parity of `arrived` has
 * moved on, or its count is full: the last arriver is opening the phase).
 */
static bool barrier_withdraw(weft_barrier_t *barrier, uint32_t phase)
{
	uint32_t parity = barrier_parity(phase);
	/* relaxed: count is fixed at init */
	uint32_t count = weft_atomic_load(&barrier->count, WEFT_RELAXED);
	/* relaxed: the CAS below checks */
	uint32_t a = weft_atomic_load(&barrier->arrived, WEFT_RELAXED);
	for (;;) {
		if ((a & WEFT_BARRIER_PARITY) != parity || (a & WEFT_BARRIER_COUNT_MASK) == count)
			return false;
		/* Our own arrival is among the (a & COUNT_MASK) >= 1 counted.
		 * relaxed: a withdrawn waiter passes nothing and is passed
		 * nothing; its RMW keeps the arrivals' release sequence whole, so
		 * the last arriver still acquires every remaining arrival */
		if (weft_atomic_cas_weak(&barrier->arrived, &a, a - 1u, WEFT_RELAXED, WEFT_RELAXED))
			return true;
	}
}

int weft_barrier_wait_ctx_slow(weft_barrier_t *barrier, uint32_t phase, const struct timespec *deadline,
			       weft_cancel_t *cancel)
{
	/* As weft_barrier_wait_slow(), with @deadline read by the spin policy and
	 * @cancel by the sleep only (weft__spinwait_wait_bit()). */
	struct weft__spinwait sw;
	weft__spinwait_init_ctx(&sw, WEFT__SPIN_BARRIER, deadline, cancel);
	for (;;) {
		/* acquire: pairs with the release exchange that opens the next phase */
		uint32_t now = weft_atomic_load(&barrier->phase, WEFT_ACQUIRE);
		if ((now & ~WEFT_BARRIER_SLEEPERS) != phase)
			return WEFT_OK;
		int rc = weft__spinwait_wait_bit(&sw, &barrier->phase, now, WEFT_BARRIER_SLEEPERS, 0);
		if (rc == WEFT_OK)
			continue;
		WEFT__CHAOS_POINT(); /* giving up, arrival still counted */
		if (barrier_withdraw(barrier, phase))
			return rc; /* SLEEPERS may stay set: one spare wake-up call */
		/* The phase completed before we could withdraw: it counted us, so
		 * we pass the barrier with the others.  Its opening is a few
		 * instructions away (or a preempted last arriver's time slice):
		 * wait for it without deadline or token. */
		weft_barrier_wait_slow(barrier, phase);
		return WEFT_OK;
	}
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
