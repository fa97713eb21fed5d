/* SPDX-License-Identifier: MIT */
#ifndef WEFT_RWLOCK_H
#define WEFT_RWLOCK_H

/*
 * rwlock.h - weft_rwlock_t, an 8-byte futex reader-writer lock,
 * writer-preferring, with BRAVO reader bias (its table: rwlock_bias.h and
 * src/rwlock_bias.c).  Contended paths: src/rwlock.c.  The distributed-reader
 * lock weft_brlock_t is in brlock.h (still included from here, for programs
 * written when both lived in this header).
 *
 * Two 32-bit words.  `state` holds everything a reader's fast path needs:
 *
 *      31        30       29        28       27        26       25 ......... 0
 *   +---------+--------+---------+--------+--------+----------+---------------+
 *   | PSHARED | WRITER | WAITING | PARKED | BIASED | REVOKING | R: count (26) |
 *   +---------+--------+---------+--------+--------+----------+---------------+
 *
 *   R        readers holding the lock through the count (at most
 *            WEFT_RWLOCK_READERS_MAX)
 *   REVOKING a trywrlock is checking the table for biased readers (below):
 *            writers keep out, readers do not
 *   BIASED   reader bias is on (below): readers may hold the lock through
 *            the visible-readers table instead of R
 *   PARKED   the queue head (below) sleeps on `state`: whoever makes the
 *            change it waits for must wake it
 *   WAITING  a writer at the head of the queue waits for the lock: new readers
 *            must queue behind it (writer preference)
 *   WRITER   a writer holds the lock
 *   PSHARED  fixed at init: the futex calls use the shared flavour
 *
 * `queue` is a three-state futex mutex (0 free, 1 held, 2 held and maybe
 * slept on; U. Drepper, "Futexes Are Tricky", 2011, mutex #3; the word lock
 * of src/wordlock.h; a WEFT_PSHARED lock's also names its holder, so that a
 * head killed while it waits is replaced: src/rwlock.c, docs/processes.md).  Every thread that cannot take the lock at once queues
 * on it; the one thread that holds it, the head, is the only one that waits
 * on `state`, sets WAITING or PARKED, and it lets the queue go as soon as it
 * has the rwlock.  This is the
 * queued reader-writer lock of the Linux kernel (W. Long, kernel/locking/
 * qrwlock.c, 2014: readers and writers wait their turn on an inner lock, the
 * head alone deals with the lock word), with sleeping in place of spinning.
 * Because there is never more than one head, WAITING and PARKED are exact:
 * a waiting writer that times out simply clears them and hands the queue on,
 * and no unlock ever has to guess whether a writer is really waiting.
 *
 * Transitions, as (R, WRITER, WAITING, PARKED) -> (...); r is any count, pk
 * any PARKED; PSHARED never changes:
 *
 *   rdlock fast     (r<MAX, 0, 0, pk) -> (r+1, 0, 0, pk)   CAS, acquire
 *   rdunlock        (r, 0, ww, pk)    -> (r-1, 0, ww, pk)  fetch_sub, release;
 *                                        wakes the head if r was 1 and pk
 *   wrlock fast     (0, 0, 0, 0)      -> (0, 1, 0, 0)      CAS, acquire
 *   wrunlock        (0, 1, ww, pk)    -> (0, 0, ww, pk)    fetch_sub, release;
 *                                        wakes the head if pk
 *   writer head     (r, w, 0, pk)     -> (r, w, 1, pk)     announce (fetch_or)
 *                   (0, 0, 1, pk)     -> (0, 1, 0, 0)      acquire (CAS)
 *                   (r, w, 1, 0)      -> (r, w, 1, 1)      park (CAS), then sleep
 *                   (r, w, 1, pk)     -> (r, w, 0, 0)      time out (CAS)
 *   reader head     (r<MAX, 0, 0, pk) -> (r+1, 0, 0, 0)    acquire (CAS)
 *                   (0, 1, 0, 0)      -> (0, 1, 0, 1)      park (CAS), then sleep
 *                   (0, 1, 0, pk)     -> (0, 1, 0, 0)      time out (CAS)
 *
 * An uncontended read lock is one CAS and its unlock one fetch_sub; an
 * uncontended write lock is one CAS and its unlock one fetch_sub.  A reader
 * that loses its CAS to another reader retries at once (no queueing: the lock
 * is still readable).  Queued threads spin briefly (src/spinwait.h, the budget
 * of weft_rwlock_set_spin()) on the queue word and, once head, on `state`,
 * before they sleep.
 *
 * Fairness: writer-preferring.  Once a writer is head (WAITING set), no new
 * reader gets in until that writer has had the lock, so a stream of readers
 * cannot starve writers: a writer waits for the readers already inside, and
 * for the threads queued ahead of it.  Readers, in turn, can be starved by a
 * continuous stream of writers (each writer that queues behind the holder
 * becomes head and sets WAITING again before the holder unlocks).  The queue
 * mutex lets newcomers barge, so neither side is FIFO, but writers have the
 * bounded unfairness of weft_mutex_t (the same word lock, src/wordlock.h): a
 * writer asleep in the queue longer than the fairness bound is handed the
 * queue (private locks; a WEFT_PSHARED lock's owned queue word keeps no counts
 * and lets newcomers barge).  Readers do not ask for hand-offs: with more
 * threads than CPUs, a hand-off to a woken reader held the writers up until
 * the scheduler ran it (5.8x fewer writes in rwlock/writer_wait at 8 threads
 * on 2 CPUs).  A writer or reader
 * whose timed call expires while it is head clears WAITING/PARKED and passes
 * the queue on; a reader may then get in ahead of writers still queued.
 *
 * Progress: blocking.  A thread must not read-lock a weft_rwlock_t it already
 * holds: with a writer waiting in between, the second rdlock waits for the
 * writer, which waits for the first (deadlock).
 *
 * Ordering: a successful read or write lock is an acquire, an unlock a
 * release.  Everything a writer wrote before wrunlock is visible to every
 * later reader and writer; everything a reader did before rdunlock happens
 * before the next writer's section.  Failed try or timed calls order nothing.
 *
 * Reader bias: BRAVO (D. Dice, A. Kogan, "BRAVO - Biased Locking for
 * Reader-Writer Locks", USENIX ATC 2019).  While BIASED is set, a reader
 * claims a slot of a process-wide table of WEFT_RWLOCK_BIAS_SLOTS pointers
 * (slot = hash of the lock and the thread; CAS NULL -> lock, seq_cst), then
 * re-checks state (seq_cst) for BIASED set and WRITER, WAITING clear; its
 * unlock stores NULL (release).  One atomic RMW on a line other threads do not
 * write.  A reader whose slot is taken, or that sees bias off, backs out and
 * takes the counted path above.  A writer takes the counted lock as before;
 * then, if BIASED is set, it clears it (seq_cst) and scans the whole table
 * (seq_cst loads), waiting for every slot that holds this lock (spin,
 * yield, then timed futex sleeps with cancellation disabled: no errno
 * change, no cancellation point): the two seq_cst pairs form a store-load
 * handshake, so either the writer sees the
 * reader's slot or the reader sees BIASED clear.  After a revocation that
 * took t, bias stays off for N * t (N = WEFT_RWLOCK_BIAS_DEFAULT, see
 * weft_rwlock_set_bias()), then counted readers turn it back on.  A timed-out
 * write puts BIASED back before it lets go (clear BIASED always means "no
 * biased reader inside").  Pshared locks never set BIASED.  Costs and
 * numbers: docs/rwlock.md.
 *
 * trywrlock on a biased lock does not take WRITER first: a trywrlock that
 * then finds a biased reader would have made every reader arriving meanwhile
 * fail or queue, though no writer ever got the lock (issue 12).  It swaps
 * BIASED for REVOKING instead (seq_cst CAS: the same handshake), which keeps
 * writers out but lets counted readers in; scans the table; then either
 * finds a biased reader (BIASED back, REVOKING off: fails) or turns REVOKING
 * into WRITER with a CAS that also demands R == 0 and BIASED still clear
 * (fails if a counted reader came in meanwhile, or turned bias back on):
 *
 *   try, biased     (0, 0, 0, pk, B, 0) -> (0, 0, 0, pk, 0, V)  CAS, seq_cst
 *                   (r, 0, ww, pk, b, V) -> (r, 0, ww, pk, 1, 0) biased reader found
 *                   (0, 0, ww, pk, 0, V) -> (0, 1, ww, pk, 0, 0) CAS, acquire: in
 *                   (r, 0, ww, pk, b, V) -> (r, 0, ww, pk, b, 0) r > 0 or b: fails
 *
 * (R, WRITER, WAITING, PARKED, BIASED, REVOKING); a write head that set
 * WAITING meanwhile waits for REVOKING to go, and is woken if it parked.
 *
 * Footprint: 8 bytes (12 with WEFT_DEBUG, which adds the writer's thread id),
 * plus, once per process, the 8 KiB table.  All-zero is an unlocked private
 * lock, unbiased until its first reads; WEFT_RWLOCK_INIT is the same.
 *
 * WEFT_DEBUG builds abort, with a message naming the lock's address, on:
 * rdunlock of a lock nobody read-holds (reader count 0), rdunlock of a
 * write-held lock, wrunlock of a lock not write-held by the caller (and of a
 * read-held one: "wrong unlock mode"), rdlock or wrlock by the thread that
 * holds it for writing (self-deadlock), and destroy while held.  Readers are
 * counted, not named, so these go undetected: rdunlock by a thread that holds
 * no read lock while another thread does, and a second rdlock by a reader
 * (see the recursion rule).  Under ThreadSanitizer the lock carries the
 * __tsan_mutex_* annotations, read acquisitions with WEFT_TSAN_READ_LOCK, so
 * TSan checks it as it checks pthread_rwlock_t.  The owner checks, lock-order
 * records and annotations are all made inline by the wrappers of lockhooks.h
 * (none in src/), so a TSan program sees them with a release library too.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "cancel.h"
#include "config.h"
#include "deadline.h"
#include "debug.h"
#include "lockhooks.h"
#include "rwlock_bias.h"
#include "status.h"

WEFT_EXTERN_C_BEGIN

/* ---- weft_rwlock_t ---------------------------------------------------- */

/* The state word (see the overview). */
#define WEFT_RWLOCK_READERS 0x03FFFFFFu      /* mask of R */
#define WEFT_RWLOCK_REVOKING 0x04000000u     /* a trywrlock scans for biased readers: writers keep out */
#define WEFT_RWLOCK_BIASED 0x08000000u       /* reader bias on: readers may use the table */
#define WEFT_RWLOCK_PARKED 0x10000000u       /* the queue head sleeps on the state word */
#define WEFT_RWLOCK_WAITING 0x20000000u      /* a writer is head: readers queue */
#define WEFT_RWLOCK_WRITER 0x40000000u       /* write-locked */
#define WEFT_RWLOCK_PSHARED_BIT 0x80000000u  /* process-shared (fixed at init) */
#define WEFT_RWLOCK_READERS_MAX 0x03FFFFFFu  /* counted readers; one more aborts */

/* Pause instructions a waiter spends watching before it sleeps (the same
 * budget as weft_mutex_t's, see docs/rwlock.md). */
#define WEFT_RWLOCK_SPIN_DEFAULT 100u

typedef struct WEFT_CAPABILITY("rwlock") weft_rwlock {
	uint32_t state; /* R | REVOKING | BIASED | PARKED | WAITING | WRITER | PSHARED */
	uint32_t queue; /* three-state futex mutex of the waiters: 0, 1, 2 */
#ifdef WEFT_DEBUG
	uint32_t writer; /* weft_debug_self() of the write holder, 0 when none */
#endif
} weft_rwlock_t;

#ifndef WEFT_DEBUG
WEFT_STATIC_ASSERT(sizeof(weft_rwlock_t) == 8, "weft_rwlock_t is two 32-bit words");
#endif
WEFT_STATIC_ASSERT(offsetof(weft_rwlock_t, queue) == 4, "the library's slow paths assume this layout");

/* All-zero; every field spelled out so that C++ -Wextra stays quiet. */
#ifdef WEFT_DEBUG
#define WEFT_RWLOCK_INIT {0, 0, 0}
#else
#define WEFT_RWLOCK_INIT {0, 0}
#endif

WEFT_NOINLINE WEFT_COLD void weft_rwlock_rdlock_slow(weft_rwlock_t *rw);
WEFT_NOINLINE WEFT_COLD void weft_rwlock_rebias_slow(weft_rwlock_t *rw);
bool weft_rwlock_trywrlock_slow(weft_rwlock_t *rw);
WEFT_NOINLINE WEFT_COLD bool weft_rwlock_try_dead_head_slow(weft_rwlock_t *rw, bool write);
WEFT_NOINLINE WEFT_COLD void weft_rwlock_wrlock_slow(weft_rwlock_t *rw);
WEFT_NOINLINE WEFT_COLD void weft_rwlock_wake_slow(weft_rwlock_t *rw);
int weft_rwlock_timedrdlock_slow(weft_rwlock_t *rw, const struct timespec *deadline);
int weft_rwlock_timedwrlock_slow(weft_rwlock_t *rw, const struct timespec *deadline);
int weft_rwlock_rdlock_ctx_slow(weft_rwlock_t *rw, const struct timespec *deadline, weft_cancel_t *cancel);
int weft_rwlock_wrlock_ctx_slow(weft_rwlock_t *rw, const struct timespec *deadline, weft_cancel_t *cancel);

/**
 * weft_rwlock_set_spin() - set how long a waiter of any weft_rwlock_t or
 * weft_brlock_t in the process spins before it sleeps.
 * @pauses: the budget in pause instructions (src/spinwait.h); 0 sleeps at once.
 *
 * Context: any thread, at any time.
 * Return: the previous budget.
 */
unsigned weft_rwlock_set_spin(unsigned pauses);

/**
 * weft_rwlock_set_bias() - set the reader-bias policy of every private
 * weft_rwlock_t in the process.
 * @n: the inhibit multiplier: after a writer's revocation of reader bias that
 *     took t nanoseconds, readers do not turn bias back on for n * t; 0 turns
 *     reader bias off (readers never turn it on; a lock still biased loses it
 *     at its next write lock).
 *
 * Context: any thread, at any time.
 * Return: the previous multiplier (WEFT_RWLOCK_BIAS_DEFAULT at start).
 */
unsigned weft_rwlock_set_bias(unsigned n);

/**
 * weft_rwlock_init() - initialize an unlocked reader-writer lock.
 * @rw: the lock.
 * @flags: 0, or WEFT_PSHARED for a lock in memory shared between processes.
 *
 * A private lock may instead be set to WEFT_RWLOCK_INIT or zero-filled.
 *
 * Context: any thread; the lock must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL for an unknown flag (the lock is untouched).
 */
WEFT_NODISCARD static inline int weft_rwlock_init(weft_rwlock_t *rw, unsigned flags)
{
	if (flags & ~WEFT_PSHARED)
		return WEFT_EINVAL;
	/* relaxed: the lock is not shared yet; publishing it is the caller's job */
	weft_atomic_store(&rw->state, (flags & WEFT_PSHARED) ? WEFT_RWLOCK_PSHARED_BIT : 0u, WEFT_RELAXED);
	weft_atomic_store(&rw->queue, 0u, WEFT_RELAXED);
	weft__lock_create(rw, WEFT__HOOK_OWNER(rw->writer), WEFT__LOCKDEP_RWLOCK_WRITE);
	return WEFT_OK;
}

/* Whether a reader may enter a lock in state @s: no writer holds or waits and
 * R < READERS_MAX.  WRITER and WAITING lie above the R field, so one compare
 * covers all three. */
static inline bool weft__rwlock_readable(uint32_t s)
{
	return (s & (WEFT_RWLOCK_READERS | WEFT_RWLOCK_WAITING | WEFT_RWLOCK_WRITER)) < WEFT_RWLOCK_READERS_MAX;
}

/* Whether a writer may take a lock in state @s: no reader, no writer, no
 * writer waiting at the head of the queue, no trywrlock revoking reader bias
 * (PARKED may be set: a parked reader head then sees WRITER and sleeps
 * again). */
static inline bool weft__rwlock_writable(uint32_t s)
{
	return (s & (WEFT_RWLOCK_READERS | WEFT_RWLOCK_REVOKING | WEFT_RWLOCK_WAITING | WEFT_RWLOCK_WRITER)) == 0;
}

/* A biased reader's entry (rwlock_bias.h): in if BIASED is set and no writer
 * holds or waits (writer preference holds for biased readers too). */
static inline bool weft__rwlock_bias_try(weft_rwlock_t *rw)
{
	return weft__rwlock_bias_enter(rw, &rw->state, WEFT_RWLOCK_BIASED | WEFT_RWLOCK_WAITING | WEFT_RWLOCK_WRITER,
				       WEFT_RWLOCK_BIASED);
}

/*
 * Build-mode hooks (lockhooks.h).  The write side carries the WEFT_DEBUG owner
 * word `writer`; a read acquisition passes it to the pre-acquire hook only, so
 * that a read by the write holder is caught as a self-deadlock, and
 * WEFT__HOOK_NO_OWNER to the post-acquire hook (readers are not named).
 */
#define WEFT__RWLOCK_OWNER(rw) WEFT__HOOK_OWNER((rw)->writer)

#ifdef WEFT_DEBUG
/* The lock's own misuse checks, made before the release hooks: which mode
 * does the state word say the caller holds?  relaxed loads: diagnostics; a
 * correct caller's hold keeps the bits it checks from changing. */
static inline void weft__rwlock_check_rdunlock(weft_rwlock_t *rw)
{
	/* if the caller holds a read count, R >= 1 until it unlocks */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	if ((s & WEFT_RWLOCK_READERS) == 0)
		weft_debug_die("weft_rwlock_t", rw,
			       (s & WEFT_RWLOCK_WRITER) ? "rdunlock of a write-held lock (wrong unlock mode)"
							: "read-unlocked but not read-held");
}
static inline void weft__rwlock_check_wrunlock(weft_rwlock_t *rw)
{
	/* a correct caller holds WRITER, which nobody else clears; the owner
	 * word is checked by weft__lock_pre_release() */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	if (!(s & WEFT_RWLOCK_WRITER) && weft__rwlock_bias_held(rw, weft__rwlock_slot(rw)))
		weft_debug_die("weft_rwlock_t", rw, "wrunlock of a read-held lock (wrong unlock mode)");
	if (!(s & WEFT_RWLOCK_WRITER))
		weft_debug_die("weft_rwlock_t", rw,
			       (s & WEFT_RWLOCK_READERS) ? "wrunlock of a read-held lock (wrong unlock mode)"
							 : "write-unlocked but not write-held");
}
#define WEFT__RWLOCK_CHECK_RDUNLOCK(rw) weft__rwlock_check_rdunlock(rw)
#define WEFT__RWLOCK_CHECK_WRUNLOCK(rw) weft__rwlock_check_wrunlock(rw)
#else
#define WEFT__RWLOCK_CHECK_RDUNLOCK(rw) ((void)0)
#define WEFT__RWLOCK_CHECK_WRUNLOCK(rw) ((void)0)
#endif

/**
 * weft_rwlock_tryrdlock() - take a read lock if no writer holds or waits.
 * @rw: the lock.
 *
 * Fails while a writer holds the lock or waits for it (writer preference),
 * and at WEFT_RWLOCK_READERS_MAX readers; not because other readers race.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire on success, none on failure.
 * Return: true if the caller now holds a read lock.
 */
WEFT_NODISCARD static inline bool weft_rwlock_tryrdlock(weft_rwlock_t *rw) WEFT__TRY_SHARED(true, rw)
{
	weft__lock_pre_acquire(rw, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_TRY, (const struct timespec *)0);
	/* relaxed: a first guess for the CAS, which checks it */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	bool ok = (s & WEFT_RWLOCK_BIASED) && weft__rwlock_bias_try(rw);
	while (!ok && weft__rwlock_readable(s)) {
		/* acquire: pairs with the release fetch_sub in weft_rwlock_wrunlock();
		 * a failed CAS reloads s (another reader or a writer got in first) */
		if (weft_atomic_cas_weak(&rw->state, &s, s + 1, WEFT_ACQUIRE, WEFT_RELAXED)) {
			ok = true;
			break;
		}
	}
	/* a process-shared lock whose queue head announced itself: is it alive? */
	if (WEFT_UNLIKELY(!ok && (s & (WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_WAITING | WEFT_RWLOCK_WRITER)) ==
					 (WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_WAITING)))
		ok = weft_rwlock_try_dead_head_slow(rw, false);
	weft__lock_post_acquire(rw, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_TRY, ok);
	return ok;
}

/**
 * weft_rwlock_rdlock() - take a read lock, sleeping while a writer holds or
 * waits for the lock.
 * @rw: the lock; the caller must not already hold it (in either mode).
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire; pairs with the release in weft_rwlock_wrunlock().
 */
static inline void weft_rwlock_rdlock(weft_rwlock_t *rw) WEFT__ACQ_SHARED(rw)
{
	weft__lock_pre_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_BLOCK, (const struct timespec *)0);
	/* relaxed: a hint; weft__rwlock_bias_enter() checks BIASED again */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	if (s & WEFT_RWLOCK_BIASED) {
		if (WEFT_UNLIKELY(!weft__rwlock_bias_try(rw)))
			weft_rwlock_rdlock_slow(rw);
	} else if (WEFT_UNLIKELY(!(weft__rwlock_readable(s) &&
				   /* acquire: pairs with the release fetch_sub in weft_rwlock_wrunlock() */
				   weft_atomic_cas(&rw->state, &s, s + 1, WEFT_ACQUIRE, WEFT_RELAXED)))) {
		weft_rwlock_rdlock_slow(rw);
	} else if (WEFT_UNLIKELY(++weft__rwlock_tick % WEFT_RWLOCK_REBIAS_EVERY == 0) &&
		   !(s & WEFT_RWLOCK_PSHARED_BIT)) {
		weft_rwlock_rebias_slow(rw); /* now and then: may bias come back? */
	}
	weft__lock_post_acquire(rw, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_BLOCK, true);
}

/**
 * weft_rwlock_timedrdlock() - take a read lock, or give up at @deadline.
 * @rw: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()).
 *
 * A deadline already past returns WEFT_ETIMEDOUT at once if the lock cannot
 * be read-locked now (and WEFT_OK if it can).
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK, none otherwise.
 * Return: WEFT_OK (read-held), WEFT_ETIMEDOUT, or WEFT_EINVAL for a malformed
 * or NULL @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_rwlock_timedrdlock(weft_rwlock_t *rw, const struct timespec *deadline) WEFT__TRY_SHARED(0, rw)
{
	weft__lock_pre_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_TIMED, deadline);
	int rc = weft_rwlock_timedrdlock_slow(rw, deadline);
	weft__lock_post_acquire(rw, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return rc;
}

/**
 * weft_rwlock_rdlock_ctx() - take a read lock, or give up at @deadline or when
 * @cancel is cancelled.
 * @rw: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()), or
 *            NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * The token is read only when the caller would sleep (in the queue, or as
 * its head): a lock that can be read-locked now is taken even with a
 * cancelled token.  A cancel that races with the lock becoming readable may
 * return WEFT_OK (read-held).  WEFT_ECANCELED and WEFT_ETIMEDOUT: not taken;
 * a cancelled head clears its marks and passes the queue on, as at a timeout.
 *
 * Context: may block until @deadline or the cancel; not async-signal-safe.
 * Ordering: acquire on WEFT_OK; on WEFT_ECANCELED the acquire of the cancel;
 * none on WEFT_ETIMEDOUT.
 * Return: WEFT_OK (read-held), WEFT_ETIMEDOUT, WEFT_ECANCELED, or WEFT_EINVAL
 * for a malformed @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_rwlock_rdlock_ctx(weft_rwlock_t *rw, const struct timespec *deadline,
							weft_cancel_t *cancel) WEFT__TRY_SHARED(0, rw)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	weft__lock_pre_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_TIMED, deadline);
	int rc = weft_rwlock_rdlock_ctx_slow(rw, deadline, cancel);
	weft__lock_post_acquire(rw, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_RWLOCK_READ, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return weft__cancel_acquired(rc, cancel); /* TSan: see cancel.h */
}

/**
 * weft_rwlock_rdunlock() - release a read lock.
 * @rw: a lock the caller holds for reading.
 *
 * Context: any thread that holds a read lock; never blocks (it may make one
 * futex wake call, when it is the last reader and a writer sleeps).
 * Ordering: release; the read section happens before the next writer's.
 */
static inline void weft_rwlock_rdunlock(weft_rwlock_t *rw) WEFT__REL_SHARED(rw)
{
	unsigned i = weft__rwlock_slot(rw);
	bool biased = weft__rwlock_bias_held(rw, i);
	if (!biased)
		WEFT__RWLOCK_CHECK_RDUNLOCK(rw);
	weft__lock_pre_release(rw, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_RWLOCK_READ);
	if (biased) {
		weft__rwlock_bias_leave(i);
	} else {
		/* release: orders the read section before the next writer's acquire CAS */
		uint32_t old = weft_atomic_fetch_sub(&rw->state, 1u, WEFT_RELEASE);
		if (WEFT_UNLIKELY((old & (WEFT_RWLOCK_READERS | WEFT_RWLOCK_PARKED)) == (WEFT_RWLOCK_PARKED | 1u)))
			weft_rwlock_wake_slow(rw);
	}
	weft__lock_post_release(rw, WEFT__LOCKDEP_RWLOCK_READ);
}

/**
 * weft_rwlock_trywrlock() - take the write lock if nobody holds the lock and
 * no writer waits for it.
 * @rw: the lock.
 *
 * Fails while a reader (counted or biased) or a writer holds the lock, a
 * writer waits for it, or another trywrlock is checking a biased lock for
 * biased readers.  A failed attempt never makes a reader fail or wait.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire on success, none on failure.
 * Return: true if the caller now holds the write lock.
 */
WEFT_NODISCARD static inline bool weft_rwlock_trywrlock(weft_rwlock_t *rw) WEFT__TRY(true, rw)
{
	weft__lock_pre_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_TRY, (const struct timespec *)0);
	/* relaxed: a first guess for the CAS, which checks it */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	bool ok = false;
	while (weft__rwlock_writable(s)) {
		if (s & WEFT_RWLOCK_BIASED) {
			/* biased: look for biased readers without stopping
			 * counted ones (src/rwlock.c) */
			ok = weft_rwlock_trywrlock_slow(rw);
			break;
		}
		/* acquire: pairs with the release fetch_sub of weft_rwlock_rdunlock()
		 * and weft_rwlock_wrunlock(); a failed CAS reloads s */
		if (weft_atomic_cas_weak(&rw->state, &s, s | WEFT_RWLOCK_WRITER, WEFT_ACQUIRE, WEFT_RELAXED)) {
			ok = true;
			break;
		}
	}
	/* a process-shared lock whose queue head announced itself: is it alive? */
	if (WEFT_UNLIKELY(!ok && (s & (WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_WAITING | WEFT_RWLOCK_READERS |
				       WEFT_RWLOCK_WRITER)) == (WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_WAITING)))
		ok = weft_rwlock_try_dead_head_slow(rw, true);
	weft__lock_post_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_TRY, ok);
	return ok;
}

/**
 * weft_rwlock_wrlock() - take the write lock, sleeping while others hold it.
 * @rw: the lock; the caller must not already hold it (in either mode).
 *
 * Once this call waits at the head of the queue, new readers wait behind it.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire; pairs with the release of every earlier unlock.
 */
static inline void weft_rwlock_wrlock(weft_rwlock_t *rw) WEFT__ACQ(rw)
{
	weft__lock_pre_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_BLOCK, (const struct timespec *)0);
	uint32_t expected = 0;
	/* acquire: pairs with the release fetch_sub of weft_rwlock_rdunlock() and
	 * weft_rwlock_wrunlock().  Only an idle, unbiased private lock is exactly
	 * 0; a biased one goes to the slow path, which revokes the bias. */
	if (WEFT_UNLIKELY(!weft_atomic_cas(&rw->state, &expected, WEFT_RWLOCK_WRITER, WEFT_ACQUIRE, WEFT_RELAXED)))
		weft_rwlock_wrlock_slow(rw);
	weft__lock_post_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_BLOCK, true);
}

/**
 * weft_rwlock_timedwrlock() - take the write lock, or give up at @deadline.
 * @rw: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()).
 *
 * A deadline already past returns WEFT_ETIMEDOUT at once if the lock is busy
 * (and WEFT_OK if it is free).
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK, none otherwise.
 * Return: WEFT_OK (write-held), WEFT_ETIMEDOUT, or WEFT_EINVAL for a
 * malformed or NULL @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_rwlock_timedwrlock(weft_rwlock_t *rw, const struct timespec *deadline) WEFT__TRY(0, rw)
{
	weft__lock_pre_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_TIMED, deadline);
	int rc = weft_rwlock_timedwrlock_slow(rw, deadline);
	weft__lock_post_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return rc;
}

/**
 * weft_rwlock_wrlock_ctx() - take the write lock, or give up at @deadline or
 * when @cancel is cancelled.
 * @rw: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()), or
 *            NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * The token is read only when the caller would sleep (in the queue, or as
 * its head waiting for the readers and writer inside): a free lock is taken
 * even with a cancelled token.  A cancel that races with the lock coming
 * free, or with the queue being handed to the caller, may return WEFT_OK
 * (write-held); a hand-off of the queue is never dropped.  Once the caller
 * holds WRITER it waits for biased readers already inside without looking
 * at the token (they are leaving).  WEFT_ECANCELED and WEFT_ETIMEDOUT: not
 * taken; a cancelled head clears WAITING and passes the queue on, as at a
 * timeout.
 *
 * Context: may block until @deadline or the cancel; not async-signal-safe.
 * Ordering: acquire on WEFT_OK; on WEFT_ECANCELED the acquire of the cancel;
 * none on WEFT_ETIMEDOUT.
 * Return: WEFT_OK (write-held), WEFT_ETIMEDOUT, WEFT_ECANCELED, or
 * WEFT_EINVAL for a malformed @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_rwlock_wrlock_ctx(weft_rwlock_t *rw, const struct timespec *deadline,
							weft_cancel_t *cancel) WEFT__TRY(0, rw)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	weft__lock_pre_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_TIMED, deadline);
	int rc = weft_rwlock_wrlock_ctx_slow(rw, deadline, cancel);
	weft__lock_post_acquire(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return weft__cancel_acquired(rc, cancel); /* TSan: see cancel.h */
}

/**
 * weft_rwlock_wrunlock() - release the write lock.
 * @rw: a lock the caller holds for writing.
 *
 * Context: the thread that holds the write lock; never blocks (it may make one
 * futex wake call, when the queue head sleeps).
 * Ordering: release; publishes the write section to every later holder.
 */
static inline void weft_rwlock_wrunlock(weft_rwlock_t *rw) WEFT__REL(rw)
{
	WEFT__RWLOCK_CHECK_WRUNLOCK(rw);
	weft__lock_pre_release(rw, WEFT__RWLOCK_OWNER(rw), WEFT__LOCKDEP_RWLOCK_WRITE);
	/* release: publishes the write section; pairs with the acquire CAS of the
	 * next reader or writer.  fetch_sub (not fetch_and) is one locked xadd. */
	uint32_t old = weft_atomic_fetch_sub(&rw->state, WEFT_RWLOCK_WRITER, WEFT_RELEASE);
	if (WEFT_UNLIKELY(old & WEFT_RWLOCK_PARKED))
		weft_rwlock_wake_slow(rw);
	weft__lock_post_release(rw, WEFT__LOCKDEP_RWLOCK_WRITE);
}

/**
 * weft_rwlock_destroy() - end the lock's life.
 * @rw: an unlocked lock that no thread waits for or will use again.
 *
 * Nothing to free; a WEFT_DEBUG build aborts if the lock is held or waited for.
 *
 * Context: any thread.
 */
static inline void weft_rwlock_destroy(weft_rwlock_t *rw)
{
#ifdef WEFT_DEBUG
	/* relaxed: a diagnostic; a correct caller has no concurrent user */
	if (weft_atomic_load(&rw->state, WEFT_RELAXED) & (WEFT_RWLOCK_READERS | WEFT_RWLOCK_WRITER))
		weft_debug_die("weft_rwlock_t", rw, "destroyed while held");
	for (unsigned i = 0; i < WEFT_RWLOCK_BIAS_SLOTS; i++)
		if (weft_atomic_load(&weft__rwlock_readers[i], WEFT_RELAXED) == rw)
			weft_debug_die("weft_rwlock_t", rw, "destroyed while held");
	if (weft_atomic_load(&rw->queue, WEFT_RELAXED) != 0)
		weft_debug_die("weft_rwlock_t", rw, "destroyed while threads wait for it");
#endif
	weft__lock_destroy(rw, WEFT__LOCKDEP_RWLOCK_WRITE);
}

WEFT_EXTERN_C_END

/* weft_brlock_t lived here until it got its own header. */
#include "brlock.h"

#endif /* WEFT_RWLOCK_H */
