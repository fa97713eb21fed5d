/* SPDX-License-Identifier: MIT */
#ifndef WEFT_COND_H
#define WEFT_COND_H

/*
 * cond.h - a condition variable for weft_mutex_t: a futex sequence counter,
 * waiter counts that keep signal and broadcast free of system calls when
 * nobody sleeps, and a broadcast that requeues sleepers onto the mutex.
 *
 * Algorithm.  The futex word `seq` is a notification counter (the design of
 * Rust std's futex condvar, library/std/src/sys/sync/condvar/futex.rs, and of
 * the condvar in U. Drepper, "Futexes Are Tricky", 2011):
 *
 *   wait:       waiters++; seen = seq; unlock the mutex;
 *               watch seq for a bounded spin (only with at most one other
 *               waiter); then sleepers++; futex_wait(&seq, seen); sleepers--;
 *               waiters--; lock the mutex again (as CONTENDED if it slept).
 *   signal:     if waiters == 0: return (one load, no store);
 *               seq++; if sleepers: futex_wake(&seq, 1).
 *   broadcast:  if waiters == 0: return;
 *               seq++; if sleepers: futex_cmp_requeue(&seq, seen: seq,
 *               wake 1, move the rest onto the mutex word).
 *
 * Spinning: a waiter watches `seq` for WEFT_COND_SPIN_DEFAULT pauses (about
 * one futex sleep-and-wake handoff on the reference machine, the
 * competitive-spinning rule of A. Karlin et al., "Empirical Studies of
 * Competitive Spinning for a Shared-Memory Multiprocessor", SOSP 1991) before
 * it sleeps, but only when at most one other thread waits: a two-thread
 * handoff then runs without system calls, while a crowd of waiters (a
 * broadcast's wake-up chain, more threads than cores) parks at once and
 * leaves the CPUs to the threads that will notify.
 *
 * The waiter reads `seq` before it releases the mutex, and a signaller changes
 * the predicate under the same mutex before it bumps `seq`, so a waiter either
 * sees the new predicate or sleeps on a value that the signal has already
 * changed: the kernel's compare-and-sleep then returns at once.  No wake-up is
 * lost.  `sleepers` and `seq` form a Dekker pair (sequentially consistent on
 * both sides), so a signaller that sees no sleeper knows every future sleeper
 * will see its new `seq`.
 *
 * Broadcast without a stampede.  Waking every sleeper would make all of them
 * race for the mutex that only one can hold, and all but one go back to sleep
 * on it (the thundering herd).  Instead the broadcaster wakes one sleeper and
 * moves the others, still asleep, onto the mutex word with FUTEX_CMP_REQUEUE
 * (futex(2); the requeue design of Drepper's paper and of glibc's pre-2.25
 * condvar).  Each later unlock of the mutex then wakes the next one.  A thread
 * that slept may have been moved, so it re-takes the mutex in the mutex's
 * CONTENDED state (not LOCKED): its own unlock must wake the next moved
 * sleeper, or they would sleep forever.  The broadcaster needs the mutex's
 * address: waiters record it in the condition variable.  Broadcast falls back
 * to waking every sleeper for a process-shared condition variable or mutex (a
 * pointer means nothing in another process), with the portable wait backend
 * (which cannot move sleepers), or when a concurrent signal changed `seq`.
 *
 * Spurious wake-ups: yes, they can happen, so wait in a predicate loop.  A
 * signal wakes one sleeper, but also every waiter that has not yet gone to
 * sleep (they all see `seq` change), and a thread that starts waiting just
 * after a broadcast can be moved and woken by it.  A signal (EINTR) and the
 * portable backend's shared buckets cause more.  Spinning waiters that see
 * `seq` change return without any system call.  (`seq` is 32 bits: a waiter
 * that is preempted between reading it and sleeping while exactly 2^32 signals
 * happen would sleep through them; this is the limit of every futex condvar.)
 *
 * Use: change the predicate only while holding the mutex; call signal or
 * broadcast while holding it or after releasing it.  All threads that wait at
 * the same time must use the same mutex.
 *
 * Progress: blocking.  Fairness: the kernel wakes sleepers in FIFO order within
 * a priority; the mutex re-acquisition that follows is not fair (barging).
 *
 * Ordering: weft_cond_wait() releases the mutex and acquires it again before
 * it returns, with the mutex's ordering; the condition variable itself
 * publishes nothing.  Data must be protected by the mutex.
 *
 * Footprint: 24 bytes on 64-bit systems (pthread_cond_t: 48).  All-zero is an
 * idle private condition variable; WEFT_COND_INIT is the same.
 *
 * Destroy: a condition variable may be destroyed (or freed) once every waiter
 * has returned from weft_cond_wait()/weft_cond_timedwait().  This is stricter
 * than POSIX, which also allows it right after a broadcast: here woken waiters
 * still update the counters on their way out.  WEFT_DEBUG aborts if a waiter
 * is still inside.
 *
 * WEFT_DEBUG: waiting with a mutex the caller does not hold, waiting with a
 * different mutex than the threads already waiting, and destroying it with
 * waiters abort.  Under ThreadSanitizer the wait shows an unlock of the mutex
 * when it drops it and a lock when it takes it back (weft__cond_wait()); like
 * every hook of a lock-like call they are made by the inline header code
 * (lockhooks.h), never by the library, so they are there when a TSan program
 * links a library built without TSan.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "cancel.h"
#include "config.h"
#include "deadline.h"
#include "debug.h"
#include "mutex.h"
#include "status.h"

WEFT_EXTERN_C_BEGIN

/* `waiters`: bit 31 marks a process-shared condition variable, bits 0..30
 * count the threads inside a wait. */
#define WEFT_COND_PSHARED_BIT 0x80000000u
#define WEFT_COND_COUNT_MASK 0x7fffffffu

/* Pause instructions a waiter spends watching `seq` before it sleeps, chosen
 * by the sweep in docs/cond.md. */
#define WEFT_COND_SPIN_DEFAULT 400u

typedef struct weft_cond {
	uint32_t seq;         /* futex word: bumped by each signal/broadcast that finds a waiter */
	uint32_t waiters;     /* WEFT_COND_PSHARED_BIT | threads inside a wait */
	uint32_t sleepers;    /* threads in (or entering) the futex wait on seq */
	uint32_t reserved;    /* zero */
	weft_mutex_t *mutex;  /* the waiters' mutex, the broadcast's requeue target (private only) */
} weft_cond_t;

WEFT_STATIC_ASSERT(sizeof(weft_cond_t) == 16 + sizeof(void *), "weft_cond_t is four 32-bit words and a pointer");

#define WEFT_COND_INIT {0, 0, 0, 0, 0}

WEFT_NOINLINE WEFT_COLD void weft_cond_signal_slow(weft_cond_t *cond);
WEFT_NOINLINE WEFT_COLD void weft_cond_broadcast_slow(weft_cond_t *cond);
/*
 * A wait in three steps (see weft__cond_wait() below): weft_cond_wait_enter_slow()
 * registers the waiter and reads `seq` while the caller still holds the mutex;
 * the caller drops the mutex (weft__mutex_drop()); weft_cond_wait_slow() spins,
 * sleeps and deregisters; the caller re-takes the mutex (weft__mutex_retake()).
 */
struct weft__cond_wait {
	uint32_t seen;       /* `seq` read while the mutex was held */
	uint32_t flags_word; /* `waiters` before our increment: pshared bit, other waiters */
	bool slept;          /* set by weft_cond_wait_slow(): re-take the mutex as CONTENDED */
};
void weft_cond_wait_enter_slow(weft_cond_t *cond, weft_mutex_t *mutex, struct weft__cond_wait *w);
int weft_cond_wait_slow(weft_cond_t *cond, struct weft__cond_wait *w, const struct timespec *deadline);
int weft_cond_wait_ctx_slow(weft_cond_t *cond, struct weft__cond_wait *w, const struct timespec *deadline,
			    weft_cancel_t *cancel);

/**
 * weft_cond_set_spin() - set how long a waiter watches for a signal before it
 * sleeps, for every weft_cond_t in the process.
 * @pauses: the bound: checks of the word, one pause instruction apart; 0
 *          sleeps at once.
 *
 * A tuning knob for measurements; the default was chosen by measurement
 * (docs/cond.md).
 *
 * Context: any thread, at any time.
 * Return: the previous bound.
 */
unsigned weft_cond_set_spin(unsigned pauses);

/**
 * weft_cond_init() - initialize a condition variable with no waiters.
 * @cond: the condition variable.
 * @flags: 0, or WEFT_PSHARED for one in memory shared between processes (use
 *         it with a WEFT_PSHARED mutex).
 *
 * A private one may instead be set to WEFT_COND_INIT or zero-filled.
 *
 * Context: any thread; the condition variable must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL for an unknown flag (@cond is untouched).
 */
WEFT_NODISCARD static inline int weft_cond_init(weft_cond_t *cond, unsigned flags)
{
	if (flags & ~WEFT_PSHARED)
		return WEFT_EINVAL;
	/* relaxed: not shared yet; publishing it is the caller's job */
	weft_atomic_store(&cond->seq, 0u, WEFT_RELAXED);
	weft_atomic_store(&cond->waiters, (flags & WEFT_PSHARED) ? WEFT_COND_PSHARED_BIT : 0u, WEFT_RELAXED);
	weft_atomic_store(&cond->sleepers, 0u, WEFT_RELAXED);
	weft_atomic_store(&cond->reserved, 0u, WEFT_RELAXED);
	weft_atomic_store(&cond->mutex, (weft_mutex_t *)0, WEFT_RELAXED);
	return WEFT_OK;
}

#ifdef WEFT_DEBUG
/* The condition variable's own WEFT_DEBUG checks; the mutex's owner mark and
 * lock-order records are made by weft__mutex_drop()/weft__mutex_retake(). */
static inline void weft__cond_debug_enter(weft_cond_t *cond, weft_mutex_t *mutex)
{
	/* relaxed: compared only against our own id, which only we store */
	if (weft_atomic_load(&mutex->owner, WEFT_RELAXED) != weft_debug_self())
		weft_debug_die("weft_cond_t", cond, "waited on with a mutex the caller does not hold");
	/* relaxed: a diagnostic; a correct program changes neither concurrently
	 * with a different mutex */
	weft_mutex_t *current = weft_atomic_load(&cond->mutex, WEFT_RELAXED);
	if (!(weft_atomic_load(&cond->waiters, WEFT_RELAXED) & WEFT_COND_PSHARED_BIT) && current != 0 &&
	    current != mutex && (weft_atomic_load(&cond->waiters, WEFT_RELAXED) & WEFT_COND_COUNT_MASK) != 0)
		weft_debug_die("weft_cond_t", cond, "waited on with a different mutex than its current waiters");
}
#define WEFT__COND_DEBUG_ENTER(c, m) weft__cond_debug_enter((c), (m))
#else
#define WEFT__COND_DEBUG_ENTER(c, m) ((void)0)
#endif

/*
 * weft__cond_wait() - the wait of weft_cond_wait(), weft_cond_timedwait() and
 * weft_cond_wait_ctx() (@cancel: NULL for the first two).
 *
 * ThreadSanitizer sees an unlock of @mutex at the drop and a lock at the
 * retake, both annotated here, in the caller's translation unit (lockhooks.h),
 * so that a TSan program linked against a release library sees them.
 *
 * No happens-before annotation of the condition variable itself: it publishes
 * nothing (see Ordering in the overview).  A signal orders nothing for the
 * waiter; the data are ordered by the mutex, whose unlock by the signaller (or
 * by whoever changed the predicate) and retake by the waiter TSan sees.  An
 * annotation here would hide the race of a program that changes the predicate
 * without the mutex and then signals.
 */
static inline int weft__cond_wait(weft_cond_t *cond, weft_mutex_t *mutex, const struct timespec *deadline,
				  weft_cancel_t *cancel)
{
	struct weft__cond_wait w;
	WEFT__COND_DEBUG_ENTER(cond, mutex);
	weft_cond_wait_enter_slow(cond, mutex, &w);
	weft__mutex_drop(mutex);
	int rc = weft_cond_wait_ctx_slow(cond, &w, deadline, cancel);
	weft__mutex_retake(mutex, w.slept);
	return rc;
}

/**
 * weft_cond_wait() - release @mutex, sleep until signalled, take @mutex again.
 * @cond: the condition variable.
 * @mutex: a mutex the caller holds; the same one for all concurrent waiters.
 *
 * Wake-ups can be spurious (see the overview): call it in a loop that
 * re-checks the predicate.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: the mutex's release, then its acquire on return.
 */
static inline void weft_cond_wait(weft_cond_t *cond, weft_mutex_t *mutex) WEFT_REQUIRES(mutex)
{
	(void)weft__cond_wait(cond, mutex, (const struct timespec *)0, (weft_cancel_t *)0);
}

/**
 * weft_cond_timedwait() - weft_cond_wait() that gives up at @deadline.
 * @cond: the condition variable.
 * @mutex: a mutex the caller holds.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()).
 *
 * On every return except WEFT_EINVAL the caller holds @mutex again, as after
 * weft_cond_wait().  A deadline already past returns WEFT_ETIMEDOUT (after
 * releasing and re-taking the mutex) unless a notification arrives first.
 *
 * Context: may block until @deadline, and then until it gets the mutex back.
 * Ordering: as weft_cond_wait().
 * Return: WEFT_OK (notified, or spuriously woken), WEFT_ETIMEDOUT, or
 * WEFT_EINVAL for a malformed or NULL @deadline (nothing is done; the mutex
 * stays held).
 */
WEFT_NODISCARD static inline int weft_cond_timedwait(weft_cond_t *cond, weft_mutex_t *mutex, const struct timespec *deadline) WEFT_REQUIRES(mutex)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	return weft__cond_wait(cond, mutex, deadline, (weft_cancel_t *)0);
}

/**
 * weft_cond_wait_ctx() - weft_cond_wait() that also gives up at @deadline or
 * when @cancel is cancelled.
 * @cond: the condition variable.
 * @mutex: a mutex the caller holds.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()), or
 *            NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * On every return except WEFT_EINVAL the caller holds @mutex again, as after
 * weft_cond_timedwait(): a cancelled waiter re-takes the mutex before it
 * returns (so a cancel takes effect once the mutex is free).  The token is
 * read only when the waiter would sleep (after its short watch of the
 * notification counter); one cancelled already then returns WEFT_ECANCELED
 * without sleeping.
 *
 * No notification is lost to a cancel: a waiter that is cancelled (or times
 * out) after a signal or broadcast reached the condition variable reports
 * WEFT_OK, not WEFT_ECANCELED, since it may have taken the wake-up that
 * signal made; WEFT_ECANCELED (and WEFT_ETIMEDOUT) mean that no notification
 * came between the start of the wait and the waiter's last look, so any
 * later signal goes to another waiter.  Re-check the predicate after
 * WEFT_OK as always; see docs/waiting.md.
 *
 * Context: may block until @deadline or the cancel, and then until it gets
 * the mutex back.
 * Ordering: as weft_cond_wait(); on WEFT_ECANCELED also the acquire of the
 * cancel (weft_cancel()'s release).
 * Return: WEFT_OK (notified, or spuriously woken), WEFT_ETIMEDOUT,
 * WEFT_ECANCELED, or WEFT_EINVAL for a malformed @deadline (nothing is done;
 * the mutex stays held).
 */
WEFT_NODISCARD static inline int weft_cond_wait_ctx(weft_cond_t *cond, weft_mutex_t *mutex,
						    const struct timespec *deadline, weft_cancel_t *cancel)
	WEFT_REQUIRES(mutex)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	/* TSan: the cancel's release, seen here (weft__cancel_acquired()) */
	return weft__cancel_acquired(weft__cond_wait(cond, mutex, deadline, cancel), cancel);
}

/**
 * weft_cond_signal() - wake at least one waiter, if there is one.
 * @cond: the condition variable.
 *
 * With no waiter it is one load.  Call it after changing the predicate under
 * the mutex, while holding the mutex or after releasing it.
 *
 * Context: any thread; never blocks (may make one system call).
 * Ordering: none of its own; the mutex orders the predicate.
 */
static inline void weft_cond_signal(weft_cond_t *cond)
{
	/* relaxed: a waiter increments `waiters` while holding the mutex, and the
	 * caller changed the predicate under that mutex, so the mutex's
	 * release/acquire already orders the increment before this load */
	if (WEFT_UNLIKELY(weft_atomic_load(&cond->waiters, WEFT_RELAXED) & WEFT_COND_COUNT_MASK))
		weft_cond_signal_slow(cond);
}

/**
 * weft_cond_broadcast() - wake every waiter.
 * @cond: the condition variable.
 *
 * One sleeper is woken; the others are moved onto the mutex and woken one by
 * one as it is unlocked (see the overview for when all are woken instead).
 *
 * Context: any thread; never blocks (may make one system call).
 * Ordering: as weft_cond_signal().
 */
static inline void weft_cond_broadcast(weft_cond_t *cond)
{
	/* relaxed: as in weft_cond_signal() */
	if (WEFT_UNLIKELY(weft_atomic_load(&cond->waiters, WEFT_RELAXED) & WEFT_COND_COUNT_MASK))
		weft_cond_broadcast_slow(cond);
}

/**
 * weft_cond_destroy() - end the condition variable's life.
 * @cond: a condition variable with no thread inside a wait on it (every waiter
 *        has returned; see the overview).
 *
 * Nothing to free; a WEFT_DEBUG build aborts if a waiter is still inside.
 *
 * Context: any thread.
 */
static inline void weft_cond_destroy(weft_cond_t *cond)
{
#ifdef WEFT_DEBUG
	/* relaxed: a diagnostic; a correct caller has no concurrent user */
	if (weft_atomic_load(&cond->waiters, WEFT_RELAXED) & WEFT_COND_COUNT_MASK)
		weft_debug_die("weft_cond_t", cond, "destroyed while threads wait on it");
#endif
	(void)cond;
}

WEFT_EXTERN_C_END

#endif /* WEFT_COND_H */
