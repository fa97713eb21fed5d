/* SPDX-License-Identifier: MIT */
/*
 * spinlock.c - the contended paths of weft_spin_t, weft_ticket_t and weft_mcs_t.
 * The algorithms and their sources are described in include/weft/spinlock.h.
 */
#include "spinwait.h"
#include "weft/spinlock.h"

/* The presets (src/spinwait.c): WEFT__SPIN_SPINLOCK for weft_spin_t and for
 * an MCS unlock waiting for its successor to link (backoff up to 64 pauses
 * between looks, WEFT_SPIN_YIELD_AFTER pauses in all, then a yield between
 * looks); WEFT__SPIN_TICKET for the ticket waiter next in line and
 * WEFT__SPIN_MCS for a queued MCS waiter (a look after every pause, then a
 * yield between looks).  None of them parks. */

void weft_spin_lock_slow(weft_spin_t *lock)
{
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_SPINLOCK, (const struct timespec *)0);
	for (;;) {
		/* relaxed: only watching for "free"; the exchange below is the acquire */
		while (weft_atomic_load(&lock->locked, WEFT_RELAXED) != 0)
			(void)weft__spinwait_spin(&sw);
		/* acquire: pairs with the release store in weft_spin_unlock() */
		if (weft_atomic_exchange(&lock->locked, 1, WEFT_ACQUIRE) == 0)
			return;
	}
}

void weft_ticket_lock_slow(weft_ticket_t *lock, uint32_t ticket)
{
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_TICKET, (const struct timespec *)0);
	for (;;) {
		/* acquire: pairs with the release store of serving in weft_ticket_unlock() */
		uint32_t serving = weft_atomic_load(&lock->serving, WEFT_ACQUIRE);
		if (serving == ticket)
			return;
		unsigned ahead = ticket - serving; /* wraps correctly: both are mod 2^32 */
		if (ahead > 1) {
			/* Others are ahead of us: give the CPU away so that whoever
			 * must run next can. */
			weft__spinwait_yield();
			continue;
		}
		/* Next in line: look after every pause, then (the holder may be
		 * preempted) yield between looks.  Only the holder writes
		 * serving, so one reader polling it costs the holder nothing more
		 * than the one miss its unlock takes anyway; a longer (proportional)
		 * backoff here only delays the handoff (measured: 0.36x ck_ticket at
		 * 2 threads with 16 pauses between looks). */
		(void)weft__spinwait_spin(&sw);
	}
}

void weft_mcs_lock_slow(weft_mcs_node_t *node)
{
	/* The flag is on our own cache line, so looking after every pause
	 * costs nobody else anything (no backoff needed).  A queued waiter
	 * cannot tell how far it is from the head, so it spends only a short
	 * budget before yielding to whoever is ahead (WEFT__SPIN_MCS). */
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_MCS, (const struct timespec *)0);
	/* acquire: pairs with the release store of locked = 0 in weft_mcs_unlock_slow() */
	while (weft_atomic_load(&node->locked, WEFT_ACQUIRE) != 0)
		(void)weft__spinwait_spin(&sw);
}

void weft_mcs_unlock_slow(weft_mcs_t *lock, weft_mcs_node_t *node)
{
	(void)lock;
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_SPINLOCK, (const struct timespec *)0);
	weft_mcs_node_t *next;
	/* A successor swapped the tail but has not linked itself yet: wait for
	 * it.  acquire: pairs with its release store of node->next. */
	while ((next = weft_atomic_load(&node->next, WEFT_ACQUIRE)) == 0)
		(void)weft__spinwait_spin(&sw);
	/* release: hands over the critical section; pairs with the acquire load of
	 * locked in weft_mcs_lock_slow() */
	weft_atomic_store(&next->locked, 0, WEFT_RELEASE);
}
