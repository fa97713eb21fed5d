/* SPDX-License-Identifier: MIT */
/*
 * spinlock.c - the contended paths of weft_spin_t, weft_ticket_t and weft_mcs_t.
 * The algorithms and their sources are described in include/weft/spinlock.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(), sched_yield() under -std=c11 */
#endif
#include <sched.h>

#include "backoff.h"
#include "weft/spinlock.h"

/* Pauses an MCS waiter spends before yielding (see weft_mcs_lock_slow()). */
#ifndef WEFT__MCS_SPIN_BEFORE_YIELD
#define WEFT__MCS_SPIN_BEFORE_YIELD 64u
#endif

void weft_spin_lock_slow(weft_spin_t *lock)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	for (;;) {
		/* relaxed: only watching for "free"; the exchange below is the acquire */
		while (weft_atomic_load(&lock->locked, WEFT_RELAXED) != 0)
			weft__backoff_or_yield(&backoff);
		/* acquire: pairs with the release store in weft_spin_unlock() */
		if (weft_atomic_exchange(&lock->locked, 1, WEFT_ACQUIRE) == 0)
			return;
	}
}

void weft_ticket_lock_slow(weft_ticket_t *lock, uint32_t ticket)
{
	unsigned spent = 0;
	for (;;) {
		/* acquire: pairs with the release store of serving in weft_ticket_unlock() */
		uint32_t serving = weft_atomic_load(&lock->serving, WEFT_ACQUIRE);
		if (serving == ticket)
			return;
		unsigned ahead = ticket - serving; /* wraps correctly: both are mod 2^32 */
		if (ahead > 1 || spent >= WEFT_SPIN_YIELD_AFTER) {
			/* Others are ahead of us, or the holder may be preempted: give
			 * the CPU away so that whoever must run next can. */
			sched_yield();
			continue;
		}
		/* Next in line: look after every pause.  Only the holder writes
		 * serving, so one reader polling it costs the holder nothing more
		 * than the one miss its unlock takes anyway; a longer (proportional)
		 * backoff here only delays the handoff (measured: 0.36x ck_ticket at
		 * 2 threads with 16 pauses between looks). */
		weft_cpu_relax();
		spent++;
	}
}

void weft_mcs_lock_slow(weft_mcs_node_t *node)
{
	unsigned spent = 0;
	/* acquire: pairs with the release store of locked = 0 in weft_mcs_unlock_slow() */
	while (weft_atomic_load(&node->locked, WEFT_ACQUIRE) != 0) {
		/* The flag is on our own cache line, so looking after every pause
		 * costs nobody else anything (no backoff needed).  A queued waiter
		 * cannot tell how far it is from the head, so it spends only a short
		 * budget before yielding to whoever is ahead. */
		if (spent < WEFT__MCS_SPIN_BEFORE_YIELD) {
			weft_cpu_relax();
			spent++;
		} else {
			sched_yield();
		}
	}
}

void weft_mcs_unlock_slow(weft_mcs_t *lock, weft_mcs_node_t *node)
{
	(void)lock;
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	weft_mcs_node_t *next;
	/* A successor swapped the tail but has not linked itself yet: wait for
	 * it.  acquire: pairs with its release store of node->next. */
	while ((next = weft_atomic_load(&node->next, WEFT_ACQUIRE)) == 0)
		weft__backoff_or_yield(&backoff);
	/* release: hands over the critical section; pairs with the acquire load of
	 * locked in weft_mcs_lock_slow() */
	weft_atomic_store(&next->locked, 0, WEFT_RELEASE);
}
