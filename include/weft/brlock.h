/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BRLOCK_H
#define WEFT_BRLOCK_H

/*
 * brlock.h - weft_brlock_t, a "big-reader" lock whose readers each touch
 * only their own cache line, for data that is read far more often than it
 * is written.  64-byte aligned, 4160 bytes.  Contended paths: src/brlock.c.
 *
 * A distributed-reader lock (W. C. Hsieh, W. E. Weihl, "Scalable Reader-Writer
 * Locks for Parallel Systems", IPPS 1992; the Linux 2.4 "big-reader" brlock of
 * I. Molnar, 2000): one reader counter per cache line, WEFT_BRLOCK_SLOTS of
 * them.  Each thread is given a slot the first time it uses any brlock (slot =
 * thread number modulo WEFT_BRLOCK_SLOTS); with no more threads than slots a
 * reader writes only its own line, so readers on different cores never share
 * a line and read throughput scales with cores.  Threads beyond that share
 * slots (still correct, slot updates are atomic).
 *
 * reader: increment its slot (seq_cst), then read the writer word (seq_cst).
 *         No writer: in.  A writer: take the increment back and wait (spin,
 *         then sleep on the writer word) until the writer has gone, then retry.
 * unlock: decrement its slot (release); wake the writer if it sleeps on that
 *         slot and this was the last reader there.
 * writer: take the writers' mutex (the word lock of src/wordlock.h), set ACTIVE in
 *         the writer word (seq_cst), then sweep the slots and wait (spin, then
 *         sleep on the slot) for each to drain.  The seq_cst increment/load of
 *         the reader and the seq_cst set/load of the writer are the two halves
 *         of a store-load handshake: either the writer sees the reader's
 *         count, or the reader sees ACTIVE.
 * trywrlock: a first look at the slots (a reader inside: fail, touching
 *         nothing); then the writers' mutex by trylock, ACTIVE|TRY (seq_cst),
 *         the sweep (a reader: fail), and a confirming CAS ACTIVE|TRY ->
 *         ACTIVE that fails if a reader set VETO.  A reader that sees
 *         ACTIVE|TRY sets VETO and comes in, so no reader ever fails or
 *         waits for a trywrlock that does not get the lock (issue 12).
 * wrunlock: clear ACTIVE (release), wake readers that sleep on the writer
 *         word, release the writers' mutex.
 *
 * The writer's cost: one pass over WEFT_BRLOCK_SLOTS cache lines, each a
 * cache miss when its reader's core last wrote it (~64 loads, a few
 * microseconds), plus the wait for readers inside.  Fairness: writers are
 * preferred (a writer that has set ACTIVE waits only for readers already
 * inside); readers can be starved by continuous writers, and writers compete
 * for the writers' mutex without order, but a writer asleep on it longer than
 * the fairness bound is handed it (the word lock of weft_mutex_t; private
 * locks only: a WEFT_PSHARED brlock's owned writers' mutex lets them barge).
 *
 * Ordering: a successful read or write lock is an acquire, an unlock a
 * release; a write section happens before every later read or write section,
 * a read section before the next write section.  Failed try or timed calls
 * order nothing.  Footprint: 64 bytes for the writer's line plus 64 per slot:
 * 4160 bytes with the default 64 slots, 64-byte aligned (static, automatic,
 * or aligned_alloc()/mmap storage; plain malloc() is not enough).
 *
 * Recursion: a thread must not read-lock a brlock it already holds (with a
 * writer sweeping in between, the second rdlock waits for the writer, which
 * waits for the first).  The spin budget before sleeping is shared with
 * weft_rwlock_t: weft_rwlock_set_spin() in rwlock.h.
 *
 * WEFT_DEBUG builds abort, with a message naming the lock's address, on:
 * rdunlock while the caller's slot count is 0, rdunlock of a write-held lock,
 * wrunlock of a lock not write-held by the caller (and of a read-held one:
 * "wrong unlock mode"), rdlock or wrlock by the thread that holds it for
 * writing (self-deadlock), and destroy while held.  Readers are counted, not
 * named, so these go undetected: rdunlock by a thread that holds no read lock
 * while another thread sharing its slot does, and a second rdlock by a reader.
 * Under ThreadSanitizer the lock carries the __tsan_mutex_* annotations, read
 * acquisitions with WEFT_TSAN_READ_LOCK, so TSan checks it as it checks
 * pthread_rwlock_t.
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
#include "status.h"

WEFT_EXTERN_C_BEGIN

/* Reader slots per lock.  Fixed: the library and its users must agree. */
#define WEFT_BRLOCK_SLOTS 64

/* The writer word. */
#define WEFT_BRLOCK_ACTIVE 0x1u             /* a writer holds the lock or sweeps the slots */
#define WEFT_BRLOCK_PARKED 0x2u             /* readers sleep on the writer word */
#define WEFT_BRLOCK_TRY 0x4u                /* with ACTIVE: a trywrlock sweeps; readers may veto */
#define WEFT_BRLOCK_VETO 0x8u               /* with TRY: a reader came in; the trywrlock fails */
#define WEFT_BRLOCK_PSHARED_BIT 0x80000000u /* process-shared (fixed at init) */

/* A slot word: readers counted in this slot, and whether the writer sleeps on it. */
#define WEFT_BRLOCK_SLOT_READERS 0x7FFFFFFFu
#define WEFT_BRLOCK_SLOT_WAITER 0x80000000u

struct weft__brlock_slot {
	uint32_t readers; /* count | SLOT_WAITER */
} WEFT_ALIGNED(WEFT_CACHE_LINE);

typedef struct WEFT_CAPABILITY("rwlock") weft_brlock {
	uint32_t writer; /* ACTIVE | PARKED | PSHARED; read by every reader, written by writers */
	uint32_t wlock;  /* three-state futex mutex of the writers: 0, 1, 2 */
#ifdef WEFT_DEBUG
	uint32_t owner; /* weft_debug_self() of the write holder, 0 when none */
#endif
	struct weft__brlock_slot slots[WEFT_BRLOCK_SLOTS]; /* one cache line each */
} WEFT_ALIGNED(WEFT_CACHE_LINE) weft_brlock_t;

WEFT_STATIC_ASSERT(sizeof(struct weft__brlock_slot) == WEFT_CACHE_LINE, "a slot is one cache line");
WEFT_STATIC_ASSERT(offsetof(weft_brlock_t, slots) == WEFT_CACHE_LINE,
		   "the writer's line is apart from every reader's line");
WEFT_STATIC_ASSERT(sizeof(weft_brlock_t) == WEFT_CACHE_LINE * (1 + WEFT_BRLOCK_SLOTS),
		   "footprint: one line for the writer, one per slot");

/* All-zero; every field spelled out so that C++ -Wextra stays quiet. */
#ifdef WEFT_DEBUG
#define WEFT_BRLOCK_INIT {0, 0, 0, {{0}}}
#else
#define WEFT_BRLOCK_INIT {0, 0, {{0}}}
#endif

/* The spin budget of brlock waiters, shared with weft_rwlock_t (the same
 * declaration as in rwlock.h, where it is documented). */
unsigned weft_rwlock_set_spin(unsigned pauses);

/* The calling thread's slot index + 1 (0: not assigned yet); see src/brlock.c. */
#ifdef __cplusplus
extern thread_local unsigned weft__brlock_slot_id;
#else
extern _Thread_local unsigned weft__brlock_slot_id;
#endif
WEFT_NOINLINE WEFT_COLD unsigned weft__brlock_slot_assign(void);

WEFT_NOINLINE WEFT_COLD bool weft_brlock_veto_slow(weft_brlock_t *br, uint32_t w);
WEFT_NOINLINE WEFT_COLD void weft_brlock_rdlock_slow(weft_brlock_t *br, uint32_t *slot);
WEFT_NOINLINE WEFT_COLD void weft_brlock_wake_slow(weft_brlock_t *br, uint32_t *slot);
WEFT_NOINLINE WEFT_COLD bool weft_brlock_try_dead_writer_slow(weft_brlock_t *br, uint32_t *slot);
int weft_brlock_timedrdlock_slow(weft_brlock_t *br, const struct timespec *deadline);
void weft_brlock_wrlock_slow(weft_brlock_t *br);
bool weft_brlock_trywrlock_slow(weft_brlock_t *br);
int weft_brlock_timedwrlock_slow(weft_brlock_t *br, const struct timespec *deadline);
int weft_brlock_rdlock_ctx_slow(weft_brlock_t *br, const struct timespec *deadline, weft_cancel_t *cancel);
int weft_brlock_wrlock_ctx_slow(weft_brlock_t *br, const struct timespec *deadline, weft_cancel_t *cancel);
void weft_brlock_wrunlock_slow(weft_brlock_t *br);

/* The calling thread's reader slot in @br. */
static inline uint32_t *weft__brlock_my_slot(weft_brlock_t *br)
{
	unsigned id = weft__brlock_slot_id;
	if (WEFT_UNLIKELY(id == 0))
		id = weft__brlock_slot_assign();
	return &br->slots[id - 1].readers;
}

/**
 * weft_brlock_init() - initialize an unlocked distributed-reader lock.
 * @br: the lock (64-byte aligned storage).
 * @flags: 0, or WEFT_PSHARED for a lock in memory shared between processes.
 *
 * A private lock may instead be set to WEFT_BRLOCK_INIT or zero-filled.
 *
 * Context: any thread; the lock must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL for an unknown flag (the lock is untouched).
 */
WEFT_NODISCARD static inline int weft_brlock_init(weft_brlock_t *br, unsigned flags)
{
	if (flags & ~WEFT_PSHARED)
		return WEFT_EINVAL;
	/* relaxed: the lock is not shared yet; publishing it is the caller's job */
	weft_atomic_store(&br->writer, (flags & WEFT_PSHARED) ? WEFT_BRLOCK_PSHARED_BIT : 0u, WEFT_RELAXED);
	weft_atomic_store(&br->wlock, 0u, WEFT_RELAXED);
	for (unsigned i = 0; i < WEFT_BRLOCK_SLOTS; i++)
		weft_atomic_store(&br->slots[i].readers, 0u, WEFT_RELAXED);
	weft__lock_create(br, WEFT__HOOK_OWNER(br->owner), WEFT__LOCKDEP_BRLOCK_WRITE);
	return WEFT_OK;
}

/*
 * Build-mode hooks (lockhooks.h).  The write side carries the WEFT_DEBUG owner
 * word `owner`; a read acquisition passes it to the pre-acquire hook only, so
 * that a read by the write holder is caught as a self-deadlock, and
 * WEFT__HOOK_NO_OWNER to the post-acquire hook (readers are not named).
 */
#define WEFT__BRLOCK_OWNER(br) WEFT__HOOK_OWNER((br)->owner)

#ifdef WEFT_DEBUG
/* The lock's own misuse checks, made before the release hooks.  relaxed:
 * diagnostics; our own slot holds our own increment until we take it back,
 * and the owner mark is ours only if we stored it. */
static inline void weft__brlock_check_rdunlock(weft_brlock_t *br)
{
	if (weft_atomic_load(&br->owner, WEFT_RELAXED) == weft_debug_self())
		weft_debug_die("weft_brlock_t", br, "rdunlock of a write-held lock (wrong unlock mode)");
	if ((weft_atomic_load(weft__brlock_my_slot(br), WEFT_RELAXED) & WEFT_BRLOCK_SLOT_READERS) == 0)
		weft_debug_die("weft_brlock_t", br, "read-unlocked but not read-held");
}
static inline void weft__brlock_check_wrunlock(weft_brlock_t *br)
{
	/* the owner word itself is checked by weft__lock_pre_release() */
	if (weft_atomic_load(&br->owner, WEFT_RELAXED) != weft_debug_self() &&
	    (weft_atomic_load(weft__brlock_my_slot(br), WEFT_RELAXED) & WEFT_BRLOCK_SLOT_READERS))
		weft_debug_die("weft_brlock_t", br, "wrunlock of a read-held lock (wrong unlock mode)");
}
#define WEFT__BRLOCK_CHECK_RDUNLOCK(br) weft__brlock_check_rdunlock(br)
#define WEFT__BRLOCK_CHECK_WRUNLOCK(br) weft__brlock_check_wrunlock(br)
#else
#define WEFT__BRLOCK_CHECK_RDUNLOCK(br) ((void)0)
#define WEFT__BRLOCK_CHECK_WRUNLOCK(br) ((void)0)
#endif

/* The reader's half of the handshake: count ourselves in our slot, then look
 * for a writer.  Return: true if no writer is there (we are in). */
static inline bool weft__brlock_enter(weft_brlock_t *br, uint32_t *slot)
{
	/* seq_cst: the increment must be ordered before the load below (a
	 * store-load pair); pairs with the seq_cst fetch_or of ACTIVE and the
	 * seq_cst slot loads of the writer's sweep in src/brlock.c */
	weft_atomic_fetch_add(slot, 1u, WEFT_SEQ_CST);
	/* seq_cst: the other half of the handshake above; also an acquire that
	 * pairs with the release exchange in weft_brlock_wrunlock_slow() */
	uint32_t w = weft_atomic_load(&br->writer, WEFT_SEQ_CST);
	if (WEFT_LIKELY(!(w & WEFT_BRLOCK_ACTIVE)))
		return true;
	/* a trywrlock sweeping (TRY): veto it and come in, instead of failing
	 * or waiting for a writer that may never get the lock */
	return (w & WEFT_BRLOCK_TRY) && weft_brlock_veto_slow(br, w);
}

/* Take our count back out of @slot (we hold, or failed to get, a read lock). */
static inline void weft__brlock_leave(weft_brlock_t *br, uint32_t *slot)
{
	/* release: orders the read section before the writer's acquire load of
	 * this slot (a failed entry has nothing to order, and harms nothing) */
	uint32_t old = weft_atomic_fetch_sub(slot, 1u, WEFT_RELEASE);
	if (WEFT_UNLIKELY(old == (WEFT_BRLOCK_SLOT_WAITER | 1u)))
		weft_brlock_wake_slow(br, slot);
}

/**
 * weft_brlock_tryrdlock() - take a read lock if no writer holds or sweeps.
 * @br: the lock.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire on success, none on failure.
 * Return: true if the caller now holds a read lock.
 */
WEFT_NODISCARD static inline bool weft_brlock_tryrdlock(weft_brlock_t *br) WEFT__TRY_SHARED(true, br)
{
	weft__lock_pre_acquire(br, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_TRY, (const struct timespec *)0);
	uint32_t *slot = weft__brlock_my_slot(br);
	bool ok = weft__brlock_enter(br, slot);
	if (!ok)
		weft__brlock_leave(br, slot);
	/* process-shared: a writer killed while it swept leaves ACTIVE for ever
	 * unless someone takes its place (src/brlock.c) */
	if (WEFT_UNLIKELY(!ok && (weft_atomic_load(&br->writer, WEFT_RELAXED) & WEFT_BRLOCK_PSHARED_BIT)))
		ok = weft_brlock_try_dead_writer_slow(br, slot);
	weft__lock_post_acquire(br, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_TRY, ok);
	return ok;
}

/**
 * weft_brlock_rdlock() - take a read lock, waiting while a writer holds or
 * sweeps the lock.
 * @br: the lock; the caller must not already hold it (in either mode).
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire; pairs with the release in weft_brlock_wrunlock().
 */
static inline void weft_brlock_rdlock(weft_brlock_t *br) WEFT__ACQ_SHARED(br)
{
	weft__lock_pre_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_BLOCK, (const struct timespec *)0);
	uint32_t *slot = weft__brlock_my_slot(br);
	if (WEFT_UNLIKELY(!weft__brlock_enter(br, slot)))
		weft_brlock_rdlock_slow(br, slot);
	weft__lock_post_acquire(br, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_BLOCK, true);
}

/**
 * weft_brlock_timedrdlock() - take a read lock, or give up at @deadline.
 * @br: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time.
 *
 * A deadline already past returns WEFT_ETIMEDOUT at once if a writer is there.
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK, none otherwise.
 * Return: WEFT_OK, WEFT_ETIMEDOUT, or WEFT_EINVAL for a malformed or NULL
 * @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_brlock_timedrdlock(weft_brlock_t *br, const struct timespec *deadline) WEFT__TRY_SHARED(0, br)
{
	weft__lock_pre_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_TIMED, deadline);
	int rc = weft_brlock_timedrdlock_slow(br, deadline);
	weft__lock_post_acquire(br, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return rc;
}

/**
 * weft_brlock_rdlock_ctx() - take a read lock, or give up at @deadline or
 * when @cancel is cancelled.
 * @br: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time, or NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * The token is read only when the caller would sleep (waiting for a writer
 * to leave): a lock that can be read-locked now is taken even with a
 * cancelled token.  WEFT_ECANCELED and WEFT_ETIMEDOUT: not taken.
 *
 * Context: may block until @deadline or the cancel; not async-signal-safe.
 * Ordering: acquire on WEFT_OK; on WEFT_ECANCELED the acquire of the cancel;
 * none on WEFT_ETIMEDOUT.
 * Return: WEFT_OK (read-held), WEFT_ETIMEDOUT, WEFT_ECANCELED, or WEFT_EINVAL
 * for a malformed @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_brlock_rdlock_ctx(weft_brlock_t *br, const struct timespec *deadline,
							weft_cancel_t *cancel) WEFT__TRY_SHARED(0, br)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	weft__lock_pre_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_TIMED, deadline);
	int rc = weft_brlock_rdlock_ctx_slow(br, deadline, cancel);
	weft__lock_post_acquire(br, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_BRLOCK_READ, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return weft__cancel_acquired(rc, cancel); /* TSan: see cancel.h */
}

/**
 * weft_brlock_rdunlock() - release a read lock.
 * @br: a lock the caller holds for reading.
 *
 * Context: the thread that took the read lock (the slot is per thread);
 * never blocks (one futex wake when it is the last reader a writer sleeps on).
 * Ordering: release; the read section happens before the next writer's.
 */
static inline void weft_brlock_rdunlock(weft_brlock_t *br) WEFT__REL_SHARED(br)
{
	WEFT__BRLOCK_CHECK_RDUNLOCK(br);
	weft__lock_pre_release(br, WEFT__HOOK_NO_OWNER, WEFT__LOCKDEP_BRLOCK_READ);
	weft__brlock_leave(br, weft__brlock_my_slot(br));
	weft__lock_post_release(br, WEFT__LOCKDEP_BRLOCK_READ);
}

/**
 * weft_brlock_trywrlock() - take the write lock if no writer holds it and no
 * reader is inside.
 * @br: the lock.
 *
 * Readers are never made to fail or wait by an attempt that fails: a
 * read-held lock fails it at a first look at the slots, and readers that
 * arrive during its sweep veto it (see the overview).
 *
 * Context: any thread; never blocks (costs one or two sweeps of the slots).
 * Ordering: acquire on success, none on failure.
 * Return: true if the caller now holds the write lock.
 */
WEFT_NODISCARD static inline bool weft_brlock_trywrlock(weft_brlock_t *br) WEFT__TRY(true, br)
{
	weft__lock_pre_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_TRY, (const struct timespec *)0);
	bool ok = weft_brlock_trywrlock_slow(br);
	weft__lock_post_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_TRY, ok);
	return ok;
}

/**
 * weft_brlock_wrlock() - take the write lock: exclude other writers, stop new
 * readers, and wait until the readers inside have left.
 * @br: the lock; the caller must not already hold it (in either mode).
 *
 * Context: may block; not async-signal-safe.  Costs a sweep of the slots.
 * Ordering: acquire; pairs with the release of every earlier unlock.
 */
static inline void weft_brlock_wrlock(weft_brlock_t *br) WEFT__ACQ(br)
{
	weft__lock_pre_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_BLOCK, (const struct timespec *)0);
	weft_brlock_wrlock_slow(br);
	weft__lock_post_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_BLOCK, true);
}

/**
 * weft_brlock_timedwrlock() - take the write lock, or give up at @deadline.
 * @br: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time.
 *
 * A deadline already past returns WEFT_ETIMEDOUT at once if the lock is busy.
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK, none otherwise.
 * Return: WEFT_OK, WEFT_ETIMEDOUT, or WEFT_EINVAL for a malformed or NULL
 * @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_brlock_timedwrlock(weft_brlock_t *br, const struct timespec *deadline) WEFT__TRY(0, br)
{
	weft__lock_pre_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_TIMED, deadline);
	int rc = weft_brlock_timedwrlock_slow(br, deadline);
	weft__lock_post_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return rc;
}

/**
 * weft_brlock_wrlock_ctx() - take the write lock, or give up at @deadline or
 * when @cancel is cancelled.
 * @br: the lock; the caller must not already hold it.
 * @deadline: absolute CLOCK_MONOTONIC time, or NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * The token is read only when the caller would sleep (for the writers'
 * mutex, or for a slot's readers to leave): a free lock is taken even with a
 * cancelled token.  A cancelled writer that had set ACTIVE clears it and
 * wakes the readers it stopped, as at a timeout.  WEFT_ECANCELED and
 * WEFT_ETIMEDOUT: not taken.
 *
 * Context: may block until @deadline or the cancel; not async-signal-safe.
 * Ordering: acquire on WEFT_OK; on WEFT_ECANCELED the acquire of the cancel;
 * none on WEFT_ETIMEDOUT.
 * Return: WEFT_OK (write-held), WEFT_ETIMEDOUT, WEFT_ECANCELED, or
 * WEFT_EINVAL for a malformed @deadline (the lock is then not touched).
 */
WEFT_NODISCARD static inline int weft_brlock_wrlock_ctx(weft_brlock_t *br, const struct timespec *deadline,
							weft_cancel_t *cancel) WEFT__TRY(0, br)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	weft__lock_pre_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_TIMED, deadline);
	int rc = weft_brlock_wrlock_ctx_slow(br, deadline, cancel);
	weft__lock_post_acquire(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE, WEFT__HOOK_TIMED, rc == WEFT_OK);
	return weft__cancel_acquired(rc, cancel); /* TSan: see cancel.h */
}

/**
 * weft_brlock_wrunlock() - release the write lock.
 * @br: a lock the caller holds for writing.
 *
 * Context: the thread that holds the write lock; never blocks.
 * Ordering: release; publishes the write section to every later holder.
 */
static inline void weft_brlock_wrunlock(weft_brlock_t *br) WEFT__REL(br)
{
	WEFT__BRLOCK_CHECK_WRUNLOCK(br);
	weft__lock_pre_release(br, WEFT__BRLOCK_OWNER(br), WEFT__LOCKDEP_BRLOCK_WRITE);
	weft_brlock_wrunlock_slow(br);
	weft__lock_post_release(br, WEFT__LOCKDEP_BRLOCK_WRITE);
}

/**
 * weft_brlock_destroy() - end the lock's life.
 * @br: an unlocked lock that no thread waits for or will use again.
 *
 * Nothing to free; a WEFT_DEBUG build aborts if the lock is held.
 *
 * Context: any thread.
 */
static inline void weft_brlock_destroy(weft_brlock_t *br)
{
#ifdef WEFT_DEBUG
	/* relaxed: diagnostics; a correct caller has no concurrent user */
	if (weft_atomic_load(&br->writer, WEFT_RELAXED) & WEFT_BRLOCK_ACTIVE)
		weft_debug_die("weft_brlock_t", br, "destroyed while held");
	for (unsigned i = 0; i < WEFT_BRLOCK_SLOTS; i++)
		if (weft_atomic_load(&br->slots[i].readers, WEFT_RELAXED) & WEFT_BRLOCK_SLOT_READERS)
			weft_debug_die("weft_brlock_t", br, "destroyed while held");
#endif
	weft__lock_destroy(br, WEFT__LOCKDEP_BRLOCK_WRITE);
}

WEFT_EXTERN_C_END

#endif /* WEFT_BRLOCK_H */
