/* SPDX-License-Identifier: MIT */
/*
 * once.c - the first call and the waiting of weft_once().  The word and its
 * states are described at the top of include/weft/once.h.
 *
 * Transitions made here:
 *   start:  NEW -> RUNNING(self)                   CAS; the winner runs fn
 *   finish: RUNNING(self)[|WAITERS] -> DONE        exchange; wake all if WAITERS
 *   park:   RUNNING(t) -> RUNNING(t)|WAITERS       CAS, then sleep on the word
 */
#include "spinwait.h"
#include "wait.h"
#include "weft/debug.h"
#include "weft/once.h"

void weft_once_slow(weft_once_t *once, void (*fn)(void))
{
	/* Linux thread ids are below 2^22 (PID_MAX_LIMIT), so tid << 1 fits. */
	const uint32_t self = weft_debug_self() << 1;
	uint32_t state = WEFT_ONCE_NEW;
	/* acquire on failure: if we read DONE we return, and fn's writes must be
	 * visible (pairs with the release exchange below) */
	if (weft_atomic_cas(&once->state, &state, self, WEFT_ACQUIRE, WEFT_ACQUIRE)) {
		WEFT__CHAOS_POINT(); /* claimed, fn not yet run: others must wait */
		fn();
		/* release: publishes fn's writes to every thread that reads DONE */
		uint32_t old = weft_atomic_exchange(&once->state, WEFT_ONCE_DONE, WEFT_RELEASE);
		if (old & WEFT_ONCE_WAITERS)
			weft__wake(&once->state, INT32_MAX, 0);
		return;
	}
	/* Spin as the WEFT__SPIN_ONCE preset says (src/spinwait.c), then park. */
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_ONCE, (const struct timespec *)0);
	bool spinning = true;
	for (;;) {
		if (state == WEFT_ONCE_DONE)
			return;
		if ((state & ~WEFT_ONCE_WAITERS) == self)
			weft_debug_die("weft_once_t", once, "weft_once() called again from its own function (deadlock)");
		if (spinning && (spinning = weft__spinwait_spin(&sw) == WEFT__SPIN_AGAIN)) {
			/* acquire: as in weft_once() */
			state = weft_atomic_load(&once->state, WEFT_ACQUIRE);
			continue;
		}
		/* acquire on failure: we may read DONE (see above); on success
		 * only because C11 wants it at least as strong as the failure order */
		if (!(state & WEFT_ONCE_WAITERS) &&
		    !weft_atomic_cas(&once->state, &state, state | WEFT_ONCE_WAITERS, WEFT_ACQUIRE, WEFT_ACQUIRE))
			continue; /* the word moved: look again */
		(void)weft__wait(&once->state, state | WEFT_ONCE_WAITERS, (const struct timespec *)0, 0);
		/* acquire: as in weft_once() */
		state = weft_atomic_load(&once->state, WEFT_ACQUIRE);
	}
}
