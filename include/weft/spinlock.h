/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SPINLOCK_H
#define WEFT_SPINLOCK_H

/*
 * spinlock.h - three spinlocks for critical sections of a few dozen nanoseconds.
 *
 * weft_spin_t   test-and-test-and-set with exponential backoff.  Not fair: the
 *               thread that wins the exchange gets the lock.  4 bytes.
 *               T. E. Anderson, "The Performance of Spin Lock Alternatives for
 *               Shared-Memory Multiprocessors", IEEE TPDS 1(1), 1990.
 * weft_ticket_t ticket lock: FIFO, one fetch-and-add to take a ticket; the
 *               waiter next in line polls, the others yield at once.  8 bytes.
 *               J. M. Mellor-Crummey, M. L. Scott, "Algorithms for Scalable
 *               Synchronization on Shared-Memory Multiprocessors", ACM TOCS 9(1), 1991.
 * weft_mcs_t    MCS queue lock: FIFO, each waiter spins on a flag in its own
 *               cache-line-sized node, so a handoff touches one line.  Same paper.
 *
 * None of them spins forever: after a bounded spin (WEFT_SPIN_YIELD_AFTER pause
 * instructions, about 7 us on the reference machine; the presets of weft's
 * one spin policy, src/spinwait.c) a waiter calls sched_yield() between checks, so
 * when threads outnumber cores the holder, or the FIFO successor, gets a CPU
 * instead of a spinner burning a whole time slice.  They never sleep in the
 * kernel; for critical sections that may block, use weft_mutex_t.
 *
 * Progress: blocking (a preempted holder delays everyone).  Fairness: spin
 * none (barging); ticket and mcs strict FIFO in arrival order.
 *
 * Ordering: lock is an acquire and unlock a release: everything written in one
 * critical section is visible in the next.  A failed trylock has no ordering.
 *
 * All-zero is unlocked, so static and calloc'd locks need no init.
 */

#include <stdbool.h>
#include <stdint.h>

#include "atomic.h"
#include "config.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

/* Pause instructions a waiter spends before it starts yielding the CPU. */
#define WEFT_SPIN_YIELD_AFTER 256u

/* ---- weft_spin_t ------------------------------------------------------- */

typedef struct WEFT_CAPABILITY("mutex") weft_spin {
	uint32_t locked; /* 0 free, 1 held */
} weft_spin_t;
WEFT_STATIC_ASSERT(sizeof(weft_spin_t) == 4, "weft_spin_t is one 32-bit word");

#define WEFT_SPIN_INIT {0}

WEFT_NOINLINE WEFT_COLD WEFT_NOIPA void weft_spin_lock_slow(weft_spin_t *lock);

/**
 * weft_spin_init() - initialize an unlocked weft_spin_t.
 * @lock: the lock.
 *
 * The same as WEFT_SPIN_INIT or zero-filling it.
 *
 * Context: any thread; the lock must not be in use.
 */
static inline void weft_spin_init(weft_spin_t *lock)
{
	weft_atomic_store(&lock->locked, 0, WEFT_RELAXED); /* relaxed: not shared yet */
	WEFT_TSAN_CREATE(lock, 0);
}

/**
 * weft_spin_trylock() - take the lock if it is free.
 * @lock: the lock.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire on success, none on failure.
 * Return: true if the caller now holds the lock.
 */
WEFT_NODISCARD static inline bool weft_spin_trylock(weft_spin_t *lock) WEFT__TRY(true, lock)
{
	WEFT_TSAN_PRE_LOCK(lock, WEFT_TSAN_TRY_LOCK);
	/* relaxed test first: a held lock is not written, so its line stays shared */
	bool ok = weft_atomic_load(&lock->locked, WEFT_RELAXED) == 0 &&
		  /* acquire: pairs with the release store in weft_spin_unlock() */
		  weft_atomic_exchange(&lock->locked, 1, WEFT_ACQUIRE) == 0;
	WEFT_TSAN_POST_LOCK(lock, ok ? WEFT_TSAN_TRY_LOCK : WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return ok;
}

/**
 * weft_spin_lock() - take the lock, spinning (then yielding) while it is held.
 * @lock: the lock; must not be held by the caller (it would never return).
 *
 * Context: any thread; spins and yields, never sleeps in the kernel.
 * Ordering: acquire; pairs with the release in weft_spin_unlock().
 */
static inline void weft_spin_lock(weft_spin_t *lock) WEFT__ACQ(lock)
{
	WEFT_TSAN_PRE_LOCK(lock, 0);
	/* acquire: pairs with the release store in weft_spin_unlock() */
	if (WEFT_UNLIKELY(weft_atomic_exchange(&lock->locked, 1, WEFT_ACQUIRE) != 0))
		weft_spin_lock_slow(lock);
	WEFT_TSAN_POST_LOCK(lock, 0);
}

/**
 * weft_spin_unlock() - release the lock.
 * @lock: a lock the caller holds.
 *
 * Ordering: release; publishes the critical section to the next acquirer.
 */
static inline void weft_spin_unlock(weft_spin_t *lock) WEFT__REL(lock)
{
	WEFT_TSAN_PRE_UNLOCK(lock, 0);
	/* release: publishes the critical section; pairs with the acquire exchange */
	weft_atomic_store(&lock->locked, 0, WEFT_RELEASE);
	WEFT_TSAN_POST_UNLOCK(lock, 0);
}

/**
 * weft_spin_destroy() - end the lock's life (nothing to free).
 * @lock: an unlocked lock that no thread will use again.
 *
 * Context: any thread.
 */
static inline void weft_spin_destroy(weft_spin_t *lock)
{
	WEFT_TSAN_DESTROY(lock, 0);
	(void)lock;
}

/* ---- weft_ticket_t ----------------------------------------------------- */

typedef struct WEFT_CAPABILITY("mutex") weft_ticket {
	uint32_t next;    /* the next ticket to hand out */
	uint32_t serving; /* the ticket that holds the lock; written only by the holder */
} weft_ticket_t;
WEFT_STATIC_ASSERT(sizeof(weft_ticket_t) == 8, "weft_ticket_t is two 32-bit words");

#define WEFT_TICKET_INIT {0, 0}

WEFT_NOINLINE WEFT_COLD WEFT_NOIPA void weft_ticket_lock_slow(weft_ticket_t *lock, uint32_t ticket);

/**
 * weft_ticket_init() - initialize an unlocked weft_ticket_t.
 * @lock: the lock.
 *
 * The same as WEFT_TICKET_INIT or zero-filling it.
 *
 * Context: any thread; the lock must not be in use.
 */
static inline void weft_ticket_init(weft_ticket_t *lock)
{
	weft_atomic_store(&lock->next, 0, WEFT_RELAXED); /* relaxed: not shared yet */
	weft_atomic_store(&lock->serving, 0, WEFT_RELAXED);
	WEFT_TSAN_CREATE(lock, 0);
}

/**
 * weft_ticket_trylock() - take the lock if nobody holds it or waits for it.
 * @lock: the lock.
 *
 * Context: any thread; never blocks.  Ordering: acquire on success.
 * Return: true if the caller now holds the lock.
 */
WEFT_NODISCARD static inline bool weft_ticket_trylock(weft_ticket_t *lock) WEFT__TRY(true, lock)
{
	WEFT_TSAN_PRE_LOCK(lock, WEFT_TSAN_TRY_LOCK);
	/* acquire: pairs with the release store of serving in weft_ticket_unlock() */
	uint32_t serving = weft_atomic_load(&lock->serving, WEFT_ACQUIRE);
	uint32_t expected = serving;
	/* next == serving means free with no queue; serving cannot move while it is
	 * (only a holder moves it), so winning this CAS means holding ticket
	 * `serving`.  relaxed: the acquire load above already ordered us. */
	bool ok = weft_atomic_cas(&lock->next, &expected, serving + 1, WEFT_RELAXED, WEFT_RELAXED);
	WEFT_TSAN_POST_LOCK(lock, ok ? WEFT_TSAN_TRY_LOCK : WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return ok;
}

/**
 * weft_ticket_lock() - take a ticket and wait for it to be served.
 * @lock: the lock; must not be held by the caller.
 *
 * Context: any thread; spins and yields, never sleeps in the kernel.
 * Ordering: acquire; pairs with the release in weft_ticket_unlock().
 */
static inline void weft_ticket_lock(weft_ticket_t *lock) WEFT__ACQ(lock)
{
	WEFT_TSAN_PRE_LOCK(lock, 0);
	/* relaxed: taking a ticket publishes nothing; the acquire load below orders us */
	uint32_t ticket = weft_atomic_fetch_add(&lock->next, 1, WEFT_RELAXED);
	/* acquire: pairs with the release store of serving in weft_ticket_unlock() */
	if (WEFT_UNLIKELY(weft_atomic_load(&lock->serving, WEFT_ACQUIRE) != ticket))
		weft_ticket_lock_slow(lock, ticket);
	WEFT_TSAN_POST_LOCK(lock, 0);
}

/**
 * weft_ticket_unlock() - serve the next ticket.
 * @lock: a lock the caller holds.
 *
 * Ordering: release; publishes the critical section to the next ticket holder.
 */
static inline void weft_ticket_unlock(weft_ticket_t *lock) WEFT__REL(lock)
{
	WEFT_TSAN_PRE_UNLOCK(lock, 0);
	/* relaxed: only the holder writes serving, so it reads its own value */
	uint32_t serving = weft_atomic_load(&lock->serving, WEFT_RELAXED);
	/* release: publishes the critical section; pairs with the acquire loads of serving */
	weft_atomic_store(&lock->serving, serving + 1, WEFT_RELEASE);
	WEFT_TSAN_POST_UNLOCK(lock, 0);
}

/**
 * weft_ticket_destroy() - end the lock's life (nothing to free).
 * @lock: an unlocked lock that no thread will use again.
 *
 * Context: any thread.
 */
static inline void weft_ticket_destroy(weft_ticket_t *lock)
{
	WEFT_TSAN_DESTROY(lock, 0);
	(void)lock;
}

/* ---- weft_mcs_t -------------------------------------------------------- */

/*
 * A waiter's queue node.  The caller provides one per acquisition (usually on
 * its stack) and passes the same node to unlock; it must stay alive and unused
 * until weft_mcs_unlock() returns.  Cache-line aligned so that each waiter
 * spins on a line nobody else spins on.
 */
typedef struct weft_mcs_node {
	struct weft_mcs_node *next; /* successor in the queue, set by the successor */
	uint32_t locked;            /* 1 while this waiter must wait; cleared by the predecessor */
} WEFT_ALIGNED(WEFT_CACHE_LINE) weft_mcs_node_t;
WEFT_STATIC_ASSERT(sizeof(weft_mcs_node_t) == WEFT_CACHE_LINE, "one MCS node per cache line");

typedef struct WEFT_CAPABILITY("mutex") weft_mcs {
	weft_mcs_node_t *tail; /* the last waiter, or NULL when free */
} weft_mcs_t;

#define WEFT_MCS_INIT {0}

WEFT_NOINLINE WEFT_COLD WEFT_NOIPA void weft_mcs_lock_slow(weft_mcs_node_t *node);
WEFT_NOINLINE WEFT_COLD void weft_mcs_unlock_slow(weft_mcs_t *lock, weft_mcs_node_t *node);

/**
 * weft_mcs_init() - initialize an unlocked weft_mcs_t.
 * @lock: the lock.
 *
 * The same as WEFT_MCS_INIT or zero-filling it.
 *
 * Context: any thread; the lock must not be in use.
 */
static inline void weft_mcs_init(weft_mcs_t *lock)
{
	weft_atomic_store(&lock->tail, (weft_mcs_node_t *)0, WEFT_RELAXED); /* relaxed: not shared yet */
	WEFT_TSAN_CREATE(lock, 0);
}

/**
 * weft_mcs_trylock() - take the lock if it is free.
 * @lock: the lock.
 * @node: the caller's node, passed again to weft_mcs_unlock() on success.
 *
 * Context: any thread; never blocks.  Ordering: acquire on success.
 * Return: true if the caller now holds the lock.
 */
WEFT_NODISCARD static inline bool weft_mcs_trylock(weft_mcs_t *lock, weft_mcs_node_t *node) WEFT__TRY(true, lock)
{
	WEFT_TSAN_PRE_LOCK(lock, WEFT_TSAN_TRY_LOCK);
	weft_atomic_store(&node->next, (weft_mcs_node_t *)0, WEFT_RELAXED); /* published by the CAS */
	weft_mcs_node_t *expected = 0;
	/* acq_rel: acquire pairs with the release CAS in unlock; release publishes
	 * node->next = NULL to the successor that will write it */
	bool ok = weft_atomic_cas(&lock->tail, &expected, node, WEFT_ACQ_REL, WEFT_RELAXED);
	WEFT_TSAN_POST_LOCK(lock, ok ? WEFT_TSAN_TRY_LOCK : WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return ok;
}

/**
 * weft_mcs_lock() - join the queue and wait for the predecessor's handoff.
 * @lock: the lock; must not be held by the caller.
 * @node: the caller's node, kept alive until the matching weft_mcs_unlock().
 *
 * Context: any thread; spins on @node, then yields; never sleeps in the kernel.
 * Ordering: acquire; pairs with the release handoff in weft_mcs_unlock().
 */
static inline void weft_mcs_lock(weft_mcs_t *lock, weft_mcs_node_t *node) WEFT__ACQ(lock)
{
	WEFT_TSAN_PRE_LOCK(lock, 0);
	/* relaxed: both are published by the acq_rel exchange below */
	weft_atomic_store(&node->next, (weft_mcs_node_t *)0, WEFT_RELAXED);
	weft_atomic_store(&node->locked, 1, WEFT_RELAXED);
	/* acq_rel: release publishes the node's fields to the successor that reads
	 * it from the tail; acquire pairs with the release CAS of an unlock that
	 * emptied the queue */
	weft_mcs_node_t *prev = weft_atomic_exchange(&lock->tail, node, WEFT_ACQ_REL);
	if (WEFT_UNLIKELY(prev != 0)) {
		WEFT__CHAOS_POINT(); /* in the queue, not yet linked: the predecessor's unlock must wait */
		/* release: publishes node->locked = 1 before the predecessor may clear it */
		weft_atomic_store(&prev->next, node, WEFT_RELEASE);
		weft_mcs_lock_slow(node);
	}
	WEFT_TSAN_POST_LOCK(lock, 0);
}

/**
 * weft_mcs_unlock() - hand the lock to the next waiter, or free it.
 * @lock: a lock the caller holds.
 * @node: the node the caller locked with.
 *
 * Ordering: release; publishes the critical section to the next holder.
 */
static inline void weft_mcs_unlock(weft_mcs_t *lock, weft_mcs_node_t *node) WEFT__REL(lock)
{
	WEFT_TSAN_PRE_UNLOCK(lock, 0);
	/* acquire: pairs with the successor's release store of node->next */
	weft_mcs_node_t *next = weft_atomic_load(&node->next, WEFT_ACQUIRE);
	weft_mcs_node_t *expected = node;
	if (WEFT_LIKELY(next == 0) &&
	    /* release: publishes the critical section to the next thread that swaps the tail */
	    weft_atomic_cas(&lock->tail, &expected, (weft_mcs_node_t *)0, WEFT_RELEASE, WEFT_RELAXED)) {
		WEFT_TSAN_POST_UNLOCK(lock, 0);
		return;
	}
	weft_mcs_unlock_slow(lock, node);
	WEFT_TSAN_POST_UNLOCK(lock, 0);
}

/**
 * weft_mcs_destroy() - end the lock's life (nothing to free).
 * @lock: an unlocked lock that no thread will use again.
 *
 * Context: any thread.
 */
static inline void weft_mcs_destroy(weft_mcs_t *lock)
{
	WEFT_TSAN_DESTROY(lock, 0);
	(void)lock;
}

WEFT_EXTERN_C_END

#endif /* WEFT_SPINLOCK_H */
