/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_SPINWAIT_H
#define WEFT_SRC_SPINWAIT_H

/*
 * spinwait.h - weft's one spin policy: how every waiter spins, yields and
 * decides to park, and the measured numbers each primitive spins with.
 *
 * In the manner of parking_lot's SpinWait (core/src/spinwait.rs): a waiter
 * keeps a small struct weft__spinwait and calls weft__spinwait_spin() each
 * time its condition is still false.  The call
 *   1. pauses: steps of `step` pause instructions, each step doubling up to
 *      `cap` (Anderson's exponential backoff, T. E. Anderson, "The
 *      Performance of Spin Lock Alternatives for Shared-Memory
 *      Multiprocessors", IEEE TPDS 1(1), 1990; cap == step is a constant
 *      step, cap 1 a look after every pause), until `pauses` have been
 *      spent; a preset with `yield_every` yields in place of every so many
 *      pauses' step instead;
 *   2. then yields the CPU (sched_yield()), `yields` times
 *      (WEFT__SPIN_FOREVER: for ever; the spinlocks never park);
 *   3. then says WEFT__SPIN_PARK: the caller sleeps in the kernel.
 * and returns WEFT__SPIN_TIMEDOUT instead as soon as it sees the caller's
 * deadline has passed.  The deadline is read (one vDSO clock_gettime) before
 * the first pause, before each yield and before the call that says PARK,
 * never once per pause.  So a timed call whose deadline has passed spins no
 * pause, makes no yield and no system call in the policy, and a yield, which
 * on a busy CPU can cost a time slice, is never entered past the deadline.
 *
 * The rest of the interface:
 *   weft__spinwait_step()      the same answer as a status (OK, ETIMEDOUT, EBUSY = park);
 *   weft__spinwait_wait_bit()  one round of spin-then-park on a futex word with a
 *                              "someone sleeps" bit (barrier, latch, rwlock, brlock);
 *   weft__spinwait_no_pauses() skip the pauses of this wait (a waiter that knows
 *                              spinning cannot pay);
 *   weft__spinwait_pause(), _relax(), _yield(): one step, one pause, one yield,
 *                              for the shapes spin() does not cover (the ticket
 *                              waiter that is not next, mpmc's quiet start and
 *                              contention backoff).
 *
 * The presets, one per use (enum weft__spin_use), are weft__spin_presets[] in
 * spinwait.c; each says where its numbers were measured.  The public
 * weft_*_set_spin() calls (and weft_mpmc_set_backoff()) set fields of them;
 * a waiter reads its preset once, in weft__spinwait_init().
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_yield() under -std=c11 */
#endif
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "wait.h"
#include "weft/atomic.h"
#include "weft/deadline.h"
#include "weft/status.h"

/* yields: never stop yielding (never park) */
#define WEFT__SPIN_FOREVER UINT_MAX

/* The uses; each indexes weft__spin_presets[]. */
enum weft__spin_use {
	WEFT__SPIN_MUTEX,         /* weft_mutex_t and the rwlock's word lock: watch a lock word */
	WEFT__SPIN_COND,          /* weft_cond_t: watch seq for a notification */
	WEFT__SPIN_SEM,           /* weft_sem_t: watch the count for a unit */
	WEFT__SPIN_ONCE,          /* weft_once_t: wait for the running call to finish */
	WEFT__SPIN_BARRIER,       /* weft_barrier_t and weft_latch_t: wait for the other parties */
	WEFT__SPIN_SPINLOCK,      /* weft_spin_t, and weft_mcs_t's unlock waiting for its successor */
	WEFT__SPIN_TICKET,        /* weft_ticket_t: the waiter next in line */
	WEFT__SPIN_MCS,           /* weft_mcs_t: a queued waiter on its own node */
	WEFT__SPIN_RWLOCK,        /* weft_rwlock_t and weft_brlock_t waiters */
	WEFT__SPIN_RWLOCK_DRAIN,  /* weft_rwlock_t: a writer waiting for a biased reader's slot to empty */
	WEFT__SPIN_MPMC_WAIT,     /* weft_mpmc_t: a blocking push (pop) polling a full (empty) queue */
	WEFT__SPIN_MPMC_BACKOFF,  /* weft_mpmc_t: the wait after a lost race for a position */
	WEFT__SPIN_MPMC_STALL,    /* weft_mpmc_t: waiting out a peer inside its claim window */
	WEFT__SPIN_NONE,          /* no spin: park at once (the registry's lock) */
	WEFT__SPIN_USES
};

struct weft__spin_preset {
	unsigned pauses;      /* pause budget before the first yield (0: none) */
	unsigned step;        /* pauses in the first step */
	unsigned cap;         /* the longest step (at most 2^16, so doubling cannot overflow) */
	unsigned yields;      /* yields after the pauses, before parking; WEFT__SPIN_FOREVER: never park */
	unsigned yield_every; /* 0, or: yield in place of the step that ends each such many pauses */
};

/* The presets (spinwait.c).  Fields are read and written with relaxed atomics:
 * tuning values, with no data to publish; a waiter reads them once. */
extern struct weft__spin_preset weft__spin_presets[WEFT__SPIN_USES];

/* Set a preset's pause budget (or, for WEFT__SPIN_MPMC_BACKOFF, its cap and
 * first step); return the previous value.  For the weft_*_set_spin() calls. */
unsigned weft__spin_set_pauses(enum weft__spin_use use, unsigned pauses);
unsigned weft__spin_set_cap(enum weft__spin_use use, unsigned cap);

/* Per-thread counts of what the policy did, for tests (a thread reads its own). */
struct weft__spin_stats {
	unsigned long yields; /* sched_yield() calls made by weft__spinwait_*() */
	unsigned long parks;  /* WEFT__SPIN_PARK answers */
};
extern __thread struct weft__spin_stats weft__spin_stats;

enum weft__spin_result {
	WEFT__SPIN_AGAIN,   /* paused or yielded: look at the condition again */
	WEFT__SPIN_PARK,    /* the spin is over: sleep in the kernel (or, for a lock-free retry, just retry) */
	WEFT__SPIN_TIMEDOUT /* the deadline has passed: look once more, then give up */
};

struct weft__spinwait {
	unsigned step;        /* pauses in the next step */
	unsigned cap;         /* the longest step */
	unsigned spent;       /* pauses so far (steps replaced by a yield count too) */
	unsigned budget;      /* pauses before the yields */
	unsigned yields;      /* yields left before parking, or WEFT__SPIN_FOREVER */
	unsigned yield_every; /* see struct weft__spin_preset */
	bool looked;          /* the deadline was read before the first step */
	const struct timespec *deadline; /* NULL: none */
	weft_cancel_t *cancel;           /* NULL: none; read only by the sleep (weft__wait_ctx()) */
};

/* Start a wait with the preset of @use, bounded by @deadline (NULL: none).
 * Reads no clock. */
static inline void weft__spinwait_init(struct weft__spinwait *sw, enum weft__spin_use use,
				       const struct timespec *deadline)
{
	const struct weft__spin_preset *p = &weft__spin_presets[use];
	/* relaxed: tuning values (see weft__spin_presets) */
	sw->step = weft_atomic_load(&p->step, WEFT_RELAXED);
	sw->cap = weft_atomic_load(&p->cap, WEFT_RELAXED);
	sw->budget = weft_atomic_load(&p->pauses, WEFT_RELAXED);
	sw->yields = weft_atomic_load(&p->yields, WEFT_RELAXED);
	sw->yield_every = weft_atomic_load(&p->yield_every, WEFT_RELAXED);
	sw->spent = 0;
	sw->looked = deadline == NULL;
	sw->deadline = deadline;
	sw->cancel = NULL;
}

/* The same, for a cancellable wait (the `_ctx` calls): the sleep of
 * weft__spinwait_wait_bit() also ends when @cancel (NULL: none) is cancelled.
 * The spin itself does not read the token: it ends at a park, where the sleep
 * looks at it before sleeping (a token already cancelled never sleeps). */
static inline void weft__spinwait_init_ctx(struct weft__spinwait *sw, enum weft__spin_use use,
					   const struct timespec *deadline, weft_cancel_t *cancel)
{
	weft__spinwait_init(sw, use, deadline);
	sw->cancel = cancel;
}

/* No pauses for this wait (go straight to the yields, or park): for a waiter
 * that knows spinning cannot pay (others already sleep). */
static inline void weft__spinwait_no_pauses(struct weft__spinwait *sw)
{
	sw->budget = sw->spent;
}

/* One step of pauses, then double the next step up to the cap. */
static inline void weft__spinwait_pause(struct weft__spinwait *sw)
{
	unsigned step = sw->step;
	for (unsigned i = 0; i < step; i++)
		weft_cpu_relax();
	sw->spent += step;
	if (step < sw->cap)
		sw->step = step * 2 > sw->cap ? sw->cap : step * 2;
}

/* One pause, counted against the budget (a waiter that looks after every
 * pause whatever its preset's step, e.g. mpmc's quiet start). */
static inline void weft__spinwait_relax(struct weft__spinwait *sw)
{
	weft_cpu_relax();
	sw->spent++;
}

/* Give the CPU away once, outside the budget and the deadline checks (a
 * ticket waiter that is not next in line; the mpmc contention backoff). */
static inline void weft__spinwait_yield(void)
{
	weft__spin_stats.yields++;
	/* A spinning waiter that never reaches the wait layer still tells the
	 * compiler it may have changed the caller's globals: clang has no
	 * noipa, and its summaries honour this clobber (include/weft/config.h) */
	WEFT_COMPILER_BARRIER();
	sched_yield();
}

static inline bool weft__spinwait_passed(struct weft__spinwait *sw)
{
	return sw->deadline != NULL && weft_deadline_passed(sw->deadline);
}

/* The pause budget is spent: whether the next call yields or parks. */
static inline bool weft__spinwait_spun(const struct weft__spinwait *sw)
{
	return sw->spent >= sw->budget;
}

/* The condition the caller waits for is still false: wait a little.  See the
 * top of this file. */
static inline enum weft__spin_result weft__spinwait_spin(struct weft__spinwait *sw)
{
	if (!sw->looked) {
		sw->looked = true;
		if (weft__spinwait_passed(sw))
			return WEFT__SPIN_TIMEDOUT;
	}
	if (sw->spent < sw->budget) {
		if (sw->yield_every != 0 && sw->spent % sw->yield_every == sw->yield_every - sw->step) {
			if (weft__spinwait_passed(sw))
				return WEFT__SPIN_TIMEDOUT;
			weft__spinwait_yield();
			sw->spent += sw->step;
		} else {
			weft__spinwait_pause(sw);
		}
		return WEFT__SPIN_AGAIN;
	}
	if (weft__spinwait_passed(sw))
		return WEFT__SPIN_TIMEDOUT;
	if (sw->yields != 0) {
		if (sw->yields != WEFT__SPIN_FOREVER)
			sw->yields--;
		weft__spinwait_yield();
		return WEFT__SPIN_AGAIN;
	}
	weft__spin_stats.parks++;
	return WEFT__SPIN_PARK;
}

/* weft__spinwait_spin() as a status: WEFT_OK (look again), WEFT_ETIMEDOUT,
 * or WEFT_EBUSY (park now). */
static inline int weft__spinwait_step(struct weft__spinwait *sw)
{
	enum weft__spin_result r = weft__spinwait_spin(sw);
	return r == WEFT__SPIN_AGAIN ? WEFT_OK : r == WEFT__SPIN_TIMEDOUT ? WEFT_ETIMEDOUT : WEFT_EBUSY;
}

/*
 * One round of a wait on a futex word whose waker wakes the sleepers when it
 * sees a "someone sleeps" @bit in it (barrier, latch, the rwlock's and the
 * brlock's words): the caller read @word as @seen and its condition is still
 * false.  Spin as @sw says; once told to park, set @bit by CAS and sleep
 * while the word holds @seen | @bit, until the deadline of @sw.  relaxed CAS:
 * the bit is only a flag; the sleep re-checks the word, and the caller
 * re-reads it (with its own order) after this returns.  @wflags: 0 or
 * WEFT_PSHARED.
 *
 * Return: WEFT_OK (paused, yielded, the word moved, woken, or a spurious
 * return: look again), WEFT_ETIMEDOUT (the deadline passed while spinning
 * or asleep; @bit may be left set: the caller takes a last look and decides)
 * or WEFT_ECANCELED (the token of weft__spinwait_init_ctx() was cancelled
 * before or during the sleep; likewise).
 */
static inline int weft__spinwait_wait_bit(struct weft__spinwait *sw, uint32_t *word, uint32_t seen, uint32_t bit,
					  unsigned wflags)
{
	int rc = weft__spinwait_step(sw);
	if (rc != WEFT_EBUSY)
		return rc;
	if (!(seen & bit) && !weft_atomic_cas(word, &seen, seen | bit, WEFT_RELAXED, WEFT_RELAXED))
		return WEFT_OK; /* the word moved: look again */
	return weft__wait_ctx(word, seen | bit, sw->deadline, wflags, sw->cancel);
}

#endif /* WEFT_SRC_SPINWAIT_H */
