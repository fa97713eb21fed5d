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
#include "spinwait.h"
#include "wait.h"
#include "weft/latch.h"

/* weft_latch_count_down(): documented in include/weft/latch.h. */
int weft_latch_count_down_slow(weft_latch_t *latch, unsigned n)
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
	return weft_latch_wait_ctx_slow(latch, deadline, (weft_cancel_t *)0);
}

int weft_latch_wait_ctx_slow(weft_latch_t *latch, const struct timespec *deadline, weft_cancel_t *cancel)
{
	/* Spin, yield, then park, as the WEFT__SPIN_BARRIER preset says
	 * (src/spinwait.c: 16 pauses, 12 yields); the policy reads @deadline
	 * before the first pause and each yield, so a deadline that has passed
	 * returns before any yield and before WAITERS is set.  @cancel is read
	 * only by the sleep (weft__spinwait_wait_bit()), so a cancelled token
	 * costs a wait that opens while it spins nothing. */
	struct weft__spinwait sw;
	weft__spinwait_init_ctx(&sw, WEFT__SPIN_BARRIER, deadline, cancel);
	for (;;) {
		/* acquire: pairs with the release of the count_down that reached zero */
		uint32_t v = weft_atomic_load(&latch->state, WEFT_ACQUIRE);
		if ((v & WEFT_LATCH_COUNT_MASK) == 0)
			return WEFT_OK;
		int rc = weft__spinwait_wait_bit(&sw, &latch->state, v, WEFT_LATCH_WAITERS, 0);
		if (rc != WEFT_OK)
			/* timed out or cancelled: a last look, so that a count-down
			 * that opened the latch meanwhile is reported, not lost (the
			 * waiter leaves no trace in the latch either way: WAITERS
			 * only costs the last count-down a wake-up call).  acquire:
			 * as above */
			return (weft_atomic_load(&latch->state, WEFT_ACQUIRE) & WEFT_LATCH_COUNT_MASK) == 0 ? WEFT_OK : rc;
	}
}
