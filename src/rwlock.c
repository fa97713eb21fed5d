/* SPDX-License-Identifier: MIT */
/*
 * rwlock.c - the contended paths of weft_rwlock_t and weft_brlock_t.  The
 * algorithms, their state words and their sources are described at the top of
 * include/weft/rwlock.h; the transitions made here are listed there as tuples
 * (R, WRITER, WAITING, PARKED) and repeated beside the code that makes them.
 *
 * Memory orders, once for the whole file:
 *  - every successful acquisition of a lock is an acquire CAS (or, in the
 *    brlock, a seq_cst load) that pairs with the release RMW of the unlock
 *    whose value it read; release sequences carry that through the RMWs of
 *    other threads in between;
 *  - the queue and writers' mutexes are acquire/release like weft_mutex_t's;
 *  - loads that only choose what to try next, and the RMWs that set or clear
 *    WAITING/PARKED/SLOT_WAITER, are relaxed: they publish no data, and the
 *    futex compares the word's current value (every RMW sees the latest value
 *    in the word's modification order), so no stale guess can make a thread
 *    sleep through the change it waits for;
 *  - reader bias (BRAVO) is a seq_cst store-load handshake between a reader
 *    (claim a slot, then load BIASED) and a writer (clear BIASED, then load
 *    every slot); see weft__rwlock_bias_enter() and rwl_revoke().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime, nanosleep */
#endif
#include <time.h>

#include "backoff.h"
#include "wait.h"
#include "weft/deadline.h"
#include "weft/rwlock.h"
#include "weft/status.h"

/* relaxed everywhere: a tuning value, read once per contended wait */
static unsigned rwl_spin = WEFT_RWLOCK_SPIN_DEFAULT;

unsigned weft_rwlock_set_spin(unsigned pauses)
{
	return weft_atomic_exchange(&rwl_spin, pauses, WEFT_RELAXED);
}

static unsigned rwl_spin_budget(void)
{
	return weft_atomic_load(&rwl_spin, WEFT_RELAXED);
}

/* Whether a caller's deadline has already passed (NULL: never). */
static bool rwl_expired(const struct timespec *deadline)
{
	return deadline != NULL && weft_deadline_passed(deadline);
}

/* ---- the three-state futex mutex of the queue and of brlock writers ---- */

/*
 * Drepper's mutex #3 on a bare word: 0 free, 1 held, 2 held and maybe slept
 * on.  Spin (backoff) for a free word, then swap in 2 and sleep while the swap
 * did not return 0.  Return: WEFT_OK, or WEFT_ETIMEDOUT at @deadline.  On a
 * timeout the word may be left at 2: the next unlock then makes one wake call
 * that finds nobody.
 */
static int rwl_word_lock(uint32_t *word, const struct timespec *deadline, unsigned wflags)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	unsigned budget = rwl_spin_budget();
	do {
		uint32_t expected = 0;
		/* relaxed load: a hint.  acquire CAS: pairs with the release
		 * exchange in rwl_word_unlock() */
		if (weft_atomic_load(word, WEFT_RELAXED) == 0 &&
		    weft_atomic_cas(word, &expected, 1u, WEFT_ACQUIRE, WEFT_RELAXED))
			return WEFT_OK;
	} while (weft__backoff_spin(&backoff, budget));
	/* acquire: as above; we own the word iff it was 0 */
	while (weft_atomic_exchange(word, 2u, WEFT_ACQUIRE) != 0) {
		if (weft__wait(word, 2u, deadline, wflags) == WEFT_ETIMEDOUT)
			return weft_atomic_exchange(word, 2u, WEFT_ACQUIRE) == 0 ? WEFT_OK : WEFT_ETIMEDOUT;
	}
	return WEFT_OK;
}

static bool rwl_word_trylock(uint32_t *word)
{
	uint32_t expected = 0;
	/* acquire: pairs with the release exchange in rwl_word_unlock() */
	return weft_atomic_cas(word, &expected, 1u, WEFT_ACQUIRE, WEFT_RELAXED);
}

static void rwl_word_unlock(uint32_t *word, unsigned wflags)
{
	/* release: publishes what the holder did; pairs with the acquire CAS or
	 * exchange of rwl_word_lock() */
	if (weft_atomic_exchange(word, 0u, WEFT_RELEASE) == 2u)
		weft__wake(word, 1, wflags);
}

/* ==== weft_rwlock_t: reader bias (BRAVO) ============================== */

/*
 * The visible-readers table, shared by every private weft_rwlock_t of the
 * process: 1024 slots of 8 bytes, 8 KiB, 128 cache lines.  A biased reader
 * holds one slot (NULL -> lock); a writer that revokes bias loads all of them.
 */
weft_rwlock_t *weft__rwlock_readers[WEFT_RWLOCK_BIAS_SLOTS] WEFT_ALIGNED(WEFT_CACHE_LINE);
_Thread_local uint64_t weft__rwlock_held[WEFT_RWLOCK_BIAS_SLOTS / 64];

/* relaxed everywhere: a tuning value (the inhibit multiplier N; 0: no bias) */
static unsigned rwl_bias_n = WEFT_RWLOCK_BIAS_DEFAULT;

unsigned weft_rwlock_set_bias(unsigned n)
{
	return weft_atomic_exchange(&rwl_bias_n, n, WEFT_RELAXED);
}

/*
 * Inhibit deadlines (CLOCK_MONOTONIC ns; 0: none), one per hash bucket of lock
 * addresses: BRAVO keeps one per lock, but weft_rwlock_t has no room.  Locks
 * that share a bucket share a deadline, which only moves when bias comes back
 * on (a policy, never a question of correctness).  All accesses relaxed: the
 * value publishes nothing.
 */
#define WEFT__RWL_INHIBIT_BITS 8
static uint64_t rwl_inhibit[1u << WEFT__RWL_INHIBIT_BITS];

_Thread_local unsigned weft__rwlock_tick;

static uint64_t *rwl_inhibit_of(const weft_rwlock_t *rw)
{
	return &rwl_inhibit[((uint64_t)(uintptr_t)rw * 0x9E3779B97F4A7C15ull) >> (64 - WEFT__RWL_INHIBIT_BITS)];
}

static uint64_t rwl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A reader that got in by the count turns bias (back) on, unless the lock is
 * pshared, bias is off process-wide, or a recent revocation inhibits it.
 * Called by every contended counted read, and by every
 * WEFT_RWLOCK_REBIAS_EVERY-th uncontended one (weft_rwlock_rdlock()).  The
 * caller holds a read count, so no writer holds the lock: the next writer's
 * acquire CAS reads BIASED and revokes.
 */
static void rwl_maybe_bias(weft_rwlock_t *rw)
{
	/* relaxed: a hint; the fetch_or below is what counts */
	if (weft_atomic_load(&rw->state, WEFT_RELAXED) & (WEFT_RWLOCK_BIASED | WEFT_RWLOCK_PSHARED_BIT))
		return;
	if (weft_atomic_load(&rwl_bias_n, WEFT_RELAXED) == 0)
		return;
	uint64_t *inhibit = rwl_inhibit_of(rw);
	uint64_t until = weft_atomic_load(inhibit, WEFT_RELAXED);
	if (until != 0) {
		if (rwl_now_ns() < until)
			return;
		weft_atomic_cas(inhibit, &until, 0u, WEFT_RELAXED, WEFT_RELAXED);
	}
	/* relaxed: publishes nothing; a biased reader's seq_cst load that reads
	 * this RMW synchronizes, through the release sequence of `state`, with
	 * the last wrunlock's release fetch_sub */
	weft_atomic_fetch_or(&rw->state, WEFT_RWLOCK_BIASED, WEFT_RELAXED);
}

/* Give back a write lock we took but may not keep (a failed try, a timeout). */
static void rwl_release_writer(weft_rwlock_t *rw)
{
	/* release: pairs with the acquire CAS of the next holder (we wrote
	 * nothing, but the lock word must stay a release sequence) */
	uint32_t old = weft_atomic_fetch_sub(&rw->state, WEFT_RWLOCK_WRITER, WEFT_RELEASE);
	if (old & WEFT_RWLOCK_PARKED)
		weft_rwlock_wake_slow(rw);
}

/* Wait until the biased reader in @slot has left @rw: spin, then yield, then
 * sleep with a doubling period (1 us .. 256 us).  A slot is a pointer, not a
 * futex word, so the writer polls. */
static int rwl_wait_slot(weft_rwlock_t **slot, weft_rwlock_t *rw, const struct timespec *deadline)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	unsigned budget = rwl_spin_budget();
	long sleep_ns = 1000;
	unsigned yields = 0;
	/* acquire: pairs with the release store of NULL in weft_rwlock_rdunlock() */
	while (weft_atomic_load(slot, WEFT_ACQUIRE) == rw) {
		if (weft__backoff_spin(&backoff, budget))
			continue;
		if (deadline != NULL && weft_deadline_passed(deadline))
			return weft_atomic_load(slot, WEFT_ACQUIRE) == rw ? WEFT_ETIMEDOUT : WEFT_OK;
		if (yields < 16) {
			yields++;
			sched_yield();
			continue;
		}
		struct timespec ts = {0, sleep_ns};
		nanosleep(&ts, NULL);
		if (sleep_ns < 256000)
			sleep_ns *= 2;
	}
	return WEFT_OK;
}

/*
 * The writer's revocation, once it holds WRITER: clear BIASED, then scan the
 * table and wait for each slot that holds @rw.  Readers that arrive after the
 * clear see it and take the counted path, where WRITER stops them.  Then
 * inhibit bias for N times what this took (Dice and Kogan's policy).
 * @try_only: fail at the first biased reader instead of waiting.  On failure
 * bias is put back on and the write lock given back.
 * Return: WEFT_OK, WEFT_EBUSY (try_only) or WEFT_ETIMEDOUT.
 */
static int rwl_revoke(weft_rwlock_t *rw, bool try_only, const struct timespec *deadline)
{
	/* relaxed: we hold WRITER, and only a reader inside the lock sets
	 * BIASED, so it cannot change under us; our acquire CAS read it last */
	if (!(weft_atomic_load(&rw->state, WEFT_RELAXED) & WEFT_RWLOCK_BIASED))
		return WEFT_OK;
	uint64_t t0 = rwl_now_ns();
	/* seq_cst: the writer's store half of the handshake with
	 * weft__rwlock_bias_enter() (which explains why acquire/release is not
	 * enough): the clear must precede, in the seq_cst order, every slot load
	 * below */
	weft_atomic_fetch_and(&rw->state, ~WEFT_RWLOCK_BIASED, WEFT_SEQ_CST);
	int rc = WEFT_OK;
	for (unsigned i = 0; i < WEFT_RWLOCK_BIAS_SLOTS && rc == WEFT_OK; i++) {
		/* seq_cst: the load half of the handshake; also an acquire that
		 * pairs with the reader's release store of NULL */
		if (weft_atomic_load(&weft__rwlock_readers[i], WEFT_SEQ_CST) != rw)
			continue;
		rc = try_only ? WEFT_EBUSY : rwl_wait_slot(&weft__rwlock_readers[i], rw, deadline);
	}
	if (rc != WEFT_OK) {
		/* Biased readers may still be inside: put BIASED back before
		 * letting the lock go, so that the next writer scans again (a
		 * clear BIASED must always mean "no biased reader inside").
		 * relaxed: publishes nothing; we hold WRITER, and our release
		 * below orders it for the next holder */
		weft_atomic_fetch_or(&rw->state, WEFT_RWLOCK_BIASED, WEFT_RELAXED);
		rwl_release_writer(rw);
		return rc;
	}
	uint64_t now = rwl_now_ns();
	uint64_t until = now + (uint64_t)weft_atomic_load(&rwl_bias_n, WEFT_RELAXED) * (now - t0);
	weft_atomic_store(rwl_inhibit_of(rw), until ? until : 1u, WEFT_RELAXED);
	return WEFT_OK;
}

void weft_rwlock_rebias_slow(weft_rwlock_t *rw)
{
	rwl_maybe_bias(rw);
}

bool weft_rwlock_tryrevoke_slow(weft_rwlock_t *rw)
{
	return rwl_revoke(rw, true, NULL) == WEFT_OK;
}

/* ==== weft_rwlock_t ===================================================== */

static unsigned rwl_flags(uint32_t state)
{
	return (state & WEFT_RWLOCK_PSHARED_BIT) ? WEFT_PSHARED : 0u;
}

WEFT_NORETURN WEFT_COLD static void rwl_too_many_readers(weft_rwlock_t *rw)
{
	weft_debug_die("weft_rwlock_t", rw, "more than WEFT_RWLOCK_READERS_MAX concurrent read locks");
}

/* A reader that lost its CAS to another reader retries while the lock stays
 * readable.  Return: true once in. */
static bool rwl_read_retry(weft_rwlock_t *rw, uint32_t *s)
{
	while (weft__rwlock_readable(*s)) {
		/* acquire: pairs with the release fetch_sub in weft_rwlock_wrunlock() */
		if (weft_atomic_cas_weak(&rw->state, s, *s + 1, WEFT_ACQUIRE, WEFT_RELAXED))
			return true;
	}
	return false;
}

/*
 * The reader at the head of the queue: wait until no writer holds the lock,
 * then count itself in.  WAITING cannot be set: only a writer head sets it,
 * and we are the head.
 */
static int rwl_read_as_head(weft_rwlock_t *rw, const struct timespec *deadline, unsigned wflags)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	unsigned budget = rwl_spin_budget();
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	for (;;) {
		if (!(s & WEFT_RWLOCK_WRITER)) {
			if ((s & WEFT_RWLOCK_READERS) == WEFT_RWLOCK_READERS_MAX)
				rwl_too_many_readers(rw);
			/* (r, 0, 0, pk) -> (r+1, 0, 0, 0).  acquire: pairs with the
			 * release fetch_sub in weft_rwlock_wrunlock() */
			if (weft_atomic_cas(&rw->state, &s, (s + 1) & ~WEFT_RWLOCK_PARKED, WEFT_ACQUIRE,
					    WEFT_RELAXED))
				return WEFT_OK;
			continue;
		}
		if (weft__backoff_spin(&backoff, budget)) {
			s = weft_atomic_load(&rw->state, WEFT_RELAXED);
			continue;
		}
		/* (0, 1, 0, 0) -> (0, 1, 0, 1): the unlock that clears WRITER wakes us */
		if (!(s & WEFT_RWLOCK_PARKED) &&
		    !weft_atomic_cas(&rw->state, &s, s | WEFT_RWLOCK_PARKED, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		s |= WEFT_RWLOCK_PARKED;
		if (weft__wait(&rw->state, s, deadline, wflags) == WEFT_ETIMEDOUT) {
			/* a last look, then (0, 1, 0, pk) -> (0, 1, 0, 0) */
			s = weft_atomic_load(&rw->state, WEFT_RELAXED);
			for (;;) {
				if (!(s & WEFT_RWLOCK_WRITER)) {
					if ((s & WEFT_RWLOCK_READERS) == WEFT_RWLOCK_READERS_MAX)
						rwl_too_many_readers(rw);
					/* acquire: as above */
					if (weft_atomic_cas(&rw->state, &s, (s + 1) & ~WEFT_RWLOCK_PARKED,
							    WEFT_ACQUIRE, WEFT_RELAXED))
						return WEFT_OK;
				} else if (weft_atomic_cas(&rw->state, &s, s & ~WEFT_RWLOCK_PARKED, WEFT_RELAXED,
							   WEFT_RELAXED)) {
					return WEFT_ETIMEDOUT;
				}
			}
		}
		s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	}
}

static int rwl_rdlock(weft_rwlock_t *rw, const struct timespec *deadline)
{
	/* relaxed: a first guess for the CAS */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	if (rwl_read_retry(rw, &s))
		return WEFT_OK;
	if ((s & WEFT_RWLOCK_READERS) == WEFT_RWLOCK_READERS_MAX &&
	    !(s & (WEFT_RWLOCK_WRITER | WEFT_RWLOCK_WAITING)))
		rwl_too_many_readers(rw);
	if (rwl_expired(deadline))
		return WEFT_ETIMEDOUT;
	unsigned wflags = rwl_flags(s);
	if (rwl_word_lock(&rw->queue, deadline, wflags) != WEFT_OK)
		return WEFT_ETIMEDOUT;
	int rc = rwl_read_as_head(rw, deadline, wflags);
	rwl_word_unlock(&rw->queue, wflags);
	return rc;
}

void weft_rwlock_rdlock_slow(weft_rwlock_t *rw)
{
	(void)rwl_rdlock(rw, NULL);
	rwl_maybe_bias(rw);
}

int weft_rwlock_timedrdlock_slow(weft_rwlock_t *rw, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT_TSAN_PRE_LOCK(rw, WEFT_TSAN_READ_LOCK | WEFT_TSAN_TRY_LOCK);
	int rc = WEFT_OK;
	/* relaxed: a hint, as in weft_rwlock_rdlock() */
	if (!((weft_atomic_load(&rw->state, WEFT_RELAXED) & WEFT_RWLOCK_BIASED) && weft__rwlock_bias_enter(rw))) {
		rc = rwl_rdlock(rw, deadline);
		if (rc == WEFT_OK)
			rwl_maybe_bias(rw);
	}
	WEFT_TSAN_POST_LOCK(rw, rc == WEFT_OK ? WEFT_TSAN_READ_LOCK | WEFT_TSAN_TRY_LOCK
					      : WEFT_TSAN_READ_LOCK | WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return rc;
}

/* A writer's one attempt: (0, 0, 0, pk) -> (0, 1, 0, pk), retried while the
 * lock stays writable. */
static bool rwl_write_try(weft_rwlock_t *rw, uint32_t *s)
{
	while (weft__rwlock_writable(*s)) {
		/* acquire: pairs with the release fetch_sub of both unlocks */
		if (weft_atomic_cas_weak(&rw->state, s, *s | WEFT_RWLOCK_WRITER, WEFT_ACQUIRE, WEFT_RELAXED))
			return true;
	}
	return false;
}

/*
 * The writer at the head of the queue: announce itself (WAITING), which stops
 * new readers, then wait until the readers inside and any writer holding the
 * lock have left.
 */
static int rwl_write_as_head(weft_rwlock_t *rw, const struct timespec *deadline, unsigned wflags)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	unsigned budget = rwl_spin_budget();
	/* (r, w, 0, pk) -> (r, w, 1, pk).  relaxed: publishes nothing; readers
	 * that see it simply queue (see the file comment) */
	uint32_t s = weft_atomic_fetch_or(&rw->state, WEFT_RWLOCK_WAITING, WEFT_RELAXED) | WEFT_RWLOCK_WAITING;
	const uint32_t busy = WEFT_RWLOCK_READERS | WEFT_RWLOCK_WRITER;
	for (;;) {
		if (!(s & busy)) {
			/* (0, 0, 1, pk) -> (0, 1, 0, 0).  acquire: pairs with the
			 * release fetch_sub of the last reader or writer */
			if (weft_atomic_cas(&rw->state, &s, (s & (WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_BIASED)) | WEFT_RWLOCK_WRITER,
					    WEFT_ACQUIRE, WEFT_RELAXED))
				return WEFT_OK;
			continue;
		}
		if (weft__backoff_spin(&backoff, budget)) {
			s = weft_atomic_load(&rw->state, WEFT_RELAXED);
			continue;
		}
		/* (r, w, 1, 0) -> (r, w, 1, 1): the last reader's rdunlock, or the
		 * holder's wrunlock, wakes us */
		if (!(s & WEFT_RWLOCK_PARKED) &&
		    !weft_atomic_cas(&rw->state, &s, s | WEFT_RWLOCK_PARKED, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		s |= WEFT_RWLOCK_PARKED;
		if (weft__wait(&rw->state, s, deadline, wflags) == WEFT_ETIMEDOUT) {
			/* a last look, then (r, w, 1, pk) -> (r, w, 0, 0): readers may
			 * come in again; those queued behind us follow when we
			 * release the queue */
			s = weft_atomic_load(&rw->state, WEFT_RELAXED);
			for (;;) {
				if (!(s & busy)) {
					/* acquire: as above */
					if (weft_atomic_cas(&rw->state, &s,
							    (s & (WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_BIASED)) | WEFT_RWLOCK_WRITER,
							    WEFT_ACQUIRE, WEFT_RELAXED))
						return WEFT_OK;
				} else if (weft_atomic_cas(&rw->state, &s,
							   s & ~(WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED),
							   WEFT_RELAXED, WEFT_RELAXED)) {
					return WEFT_ETIMEDOUT;
				}
			}
		}
		s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	}
}

static int rwl_wrlock_counted(weft_rwlock_t *rw, const struct timespec *deadline)
{
	/* relaxed: a first guess for the CAS */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	if (rwl_write_try(rw, &s))
		return WEFT_OK;
	if (rwl_expired(deadline))
		return WEFT_ETIMEDOUT;
	unsigned wflags = rwl_flags(s);
	if (rwl_word_lock(&rw->queue, deadline, wflags) != WEFT_OK)
		return WEFT_ETIMEDOUT;
	int rc = rwl_write_as_head(rw, deadline, wflags);
	rwl_word_unlock(&rw->queue, wflags);
	return rc;
}

/* Take WRITER (the counted lock), then revoke reader bias. */
static int rwl_wrlock(weft_rwlock_t *rw, const struct timespec *deadline)
{
	int rc = rwl_wrlock_counted(rw, deadline);
	return rc == WEFT_OK ? rwl_revoke(rw, false, deadline) : rc;
}

void weft_rwlock_wrlock_slow(weft_rwlock_t *rw)
{
	(void)rwl_wrlock(rw, NULL);
}

int weft_rwlock_timedwrlock_slow(weft_rwlock_t *rw, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT_TSAN_PRE_LOCK(rw, WEFT_TSAN_TRY_LOCK);
	int rc = rwl_wrlock(rw, deadline);
	WEFT_TSAN_POST_LOCK(rw, rc == WEFT_OK ? WEFT_TSAN_TRY_LOCK : WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return rc;
}

void weft_rwlock_wake_slow(weft_rwlock_t *rw)
{
	/* relaxed: only the pshared bit is used, and it is fixed at init.  One
	 * waiter: only the queue head ever sleeps on the state word. */
	weft__wake(&rw->state, 1, rwl_flags(weft_atomic_load(&rw->state, WEFT_RELAXED)));
}

/* ==== weft_brlock_t ===================================================== */

/*
 * Per-thread slot numbers.  One number per thread for every brlock, handed
 * out round-robin, so the first WEFT_BRLOCK_SLOTS threads each own a line.
 */
#ifdef __cplusplus
thread_local unsigned weft__brlock_slot_id;
#else
_Thread_local unsigned weft__brlock_slot_id;
#endif
static unsigned rwl_brlock_next_slot; /* relaxed: a counter; any value is correct */

unsigned weft__brlock_slot_assign(void)
{
	unsigned id = weft_atomic_fetch_add(&rwl_brlock_next_slot, 1u, WEFT_RELAXED) % WEFT_BRLOCK_SLOTS + 1;
	weft__brlock_slot_id = id;
	return id;
}

static unsigned rwl_br_flags(weft_brlock_t *br)
{
	/* relaxed: only the pshared bit is used, and it is fixed at init */
	return (weft_atomic_load(&br->writer, WEFT_RELAXED) & WEFT_BRLOCK_PSHARED_BIT) ? WEFT_PSHARED : 0u;
}

void weft_brlock_wake_slow(weft_brlock_t *br, uint32_t *slot)
{
	/* one waiter at most: the one writer that sweeps (it holds wlock) */
	weft__wake(slot, 1, rwl_br_flags(br));
}

/* A reader that saw ACTIVE (and took its count back): wait until the writer
 * word has no ACTIVE bit, spinning, then sleeping with PARKED set. */
static int rwl_wait_writer_gone(weft_brlock_t *br, const struct timespec *deadline)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	unsigned budget = rwl_spin_budget();
	unsigned wflags = rwl_br_flags(br);
	/* relaxed: a hint; weft__brlock_enter() makes the real check */
	uint32_t w = weft_atomic_load(&br->writer, WEFT_RELAXED);
	while (w & WEFT_BRLOCK_ACTIVE) {
		if (weft__backoff_spin(&backoff, budget)) {
			w = weft_atomic_load(&br->writer, WEFT_RELAXED);
			continue;
		}
		/* ACTIVE -> ACTIVE|PARKED: wrunlock then wakes every sleeper */
		if (!(w & WEFT_BRLOCK_PARKED) &&
		    !weft_atomic_cas(&br->writer, &w, w | WEFT_BRLOCK_PARKED, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		/* On a timeout PARKED stays set: the writer's unlock then makes
		 * one wake call that may find nobody. */
		if (weft__wait(&br->writer, w | WEFT_BRLOCK_PARKED, deadline, wflags) == WEFT_ETIMEDOUT)
			return WEFT_ETIMEDOUT;
		w = weft_atomic_load(&br->writer, WEFT_RELAXED);
	}
	return WEFT_OK;
}

/* Called after a failed weft__brlock_enter(): our count is still in @slot. */
static int rwl_brlock_rdlock(weft_brlock_t *br, uint32_t *slot, const struct timespec *deadline)
{
	do {
		weft__brlock_leave(br, slot);
		if (rwl_expired(deadline) || rwl_wait_writer_gone(br, deadline) != WEFT_OK)
			return WEFT_ETIMEDOUT;
	} while (!weft__brlock_enter(br, slot));
	return WEFT_OK;
}

void weft_brlock_rdlock_slow(weft_brlock_t *br, uint32_t *slot)
{
	(void)rwl_brlock_rdlock(br, slot, NULL);
}

int weft_brlock_timedrdlock_slow(weft_brlock_t *br, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT_TSAN_PRE_LOCK(br, WEFT_TSAN_READ_LOCK | WEFT_TSAN_TRY_LOCK);
	uint32_t *slot = weft__brlock_my_slot(br);
	int rc = weft__brlock_enter(br, slot) ? WEFT_OK : rwl_brlock_rdlock(br, slot, deadline);
	WEFT_TSAN_POST_LOCK(br, rc == WEFT_OK ? WEFT_TSAN_READ_LOCK | WEFT_TSAN_TRY_LOCK
					      : WEFT_TSAN_READ_LOCK | WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return rc;
}

/*
 * The writer waits for one slot to drain: spin, then set SLOT_WAITER and
 * sleep on the slot; the reader whose rdunlock takes the count to 0 sees
 * SLOT_WAITER and wakes us.  New readers cannot add lasting counts (ACTIVE is
 * set; they take theirs back), so the wait is bounded by the readers inside.
 */
static int rwl_drain_slot(uint32_t *slot, const struct timespec *deadline, unsigned wflags)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	unsigned budget = rwl_spin_budget();
	/* acquire: pairs with the release fetch_sub of the readers' rdunlock */
	uint32_t c = weft_atomic_load(slot, WEFT_ACQUIRE);
	int rc = WEFT_OK;
	while (c & WEFT_BRLOCK_SLOT_READERS) {
		if (weft__backoff_spin(&backoff, budget)) {
			c = weft_atomic_load(slot, WEFT_ACQUIRE); /* acquire: as above */
			continue;
		}
		/* count -> count|SLOT_WAITER.  relaxed: publishes nothing */
		if (!(c & WEFT_BRLOCK_SLOT_WAITER) &&
		    !weft_atomic_cas(slot, &c, c | WEFT_BRLOCK_SLOT_WAITER, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		c |= WEFT_BRLOCK_SLOT_WAITER;
		if (weft__wait(slot, c, deadline, wflags) == WEFT_ETIMEDOUT) {
			rc = WEFT_ETIMEDOUT;
			break;
		}
		c = weft_atomic_load(slot, WEFT_ACQUIRE); /* acquire: as above */
	}
	if (c & WEFT_BRLOCK_SLOT_WAITER) {
		/* acquire: clears our own mark and takes a last look at the
		 * count; pairs with the readers' release fetch_sub */
		c = weft_atomic_fetch_and(slot, ~WEFT_BRLOCK_SLOT_WAITER, WEFT_ACQUIRE);
		if (!(c & WEFT_BRLOCK_SLOT_READERS))
			rc = WEFT_OK; /* acquire above: drained after all */
	}
	return rc;
}

/* Undo a writer's ACTIVE (a failed try or a timeout) or end its hold:
 * clear ACTIVE, wake the readers that sleep on it, release the writers' mutex. */
static void rwl_brlock_release(weft_brlock_t *br)
{
	unsigned wflags = rwl_br_flags(br);
	/* release: publishes the write section; pairs with the seq_cst (acquire)
	 * load of the writer word in weft__brlock_enter() */
	uint32_t old = weft_atomic_exchange(&br->writer, wflags ? WEFT_BRLOCK_PSHARED_BIT : 0u, WEFT_RELEASE);
	if (old & WEFT_BRLOCK_PARKED)
		weft__wake(&br->writer, INT32_MAX, wflags);
	rwl_word_unlock(&br->wlock, wflags);
}

enum rwl_br_mode { RWL_BR_BLOCK, RWL_BR_TRY, RWL_BR_TIMED };

static int rwl_brlock_wrlock(weft_brlock_t *br, enum rwl_br_mode mode, const struct timespec *deadline)
{
	unsigned wflags = rwl_br_flags(br);
	if (mode == RWL_BR_TRY) {
		if (!rwl_word_trylock(&br->wlock))
			return WEFT_EBUSY;
	} else if (!rwl_word_trylock(&br->wlock)) {
		if (rwl_expired(deadline) || rwl_word_lock(&br->wlock, deadline, wflags) != WEFT_OK)
			return WEFT_ETIMEDOUT;
	}
	/* seq_cst: the writer's half of the store-load handshake: ACTIVE must be
	 * visible before we read the slots; pairs with the seq_cst increment and
	 * load of weft__brlock_enter() */
	weft_atomic_fetch_or(&br->writer, WEFT_BRLOCK_ACTIVE, WEFT_SEQ_CST);
	for (unsigned i = 0; i < WEFT_BRLOCK_SLOTS; i++) {
		uint32_t *slot = &br->slots[i].readers;
		/* seq_cst: the other half of the handshake; also the acquire that
		 * pairs with the readers' release fetch_sub */
		if (!(weft_atomic_load(slot, WEFT_SEQ_CST) & WEFT_BRLOCK_SLOT_READERS))
			continue;
		if (mode == RWL_BR_TRY || rwl_expired(deadline) || rwl_drain_slot(slot, deadline, wflags) != WEFT_OK) {
			rwl_brlock_release(br);
			return mode == RWL_BR_TRY ? WEFT_EBUSY : WEFT_ETIMEDOUT;
		}
	}
	return WEFT_OK;
}

void weft_brlock_wrlock_slow(weft_brlock_t *br)
{
	(void)rwl_brlock_wrlock(br, RWL_BR_BLOCK, NULL);
}

bool weft_brlock_trywrlock_slow(weft_brlock_t *br)
{
	return rwl_brlock_wrlock(br, RWL_BR_TRY, NULL) == WEFT_OK;
}

int weft_brlock_timedwrlock_slow(weft_brlock_t *br, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT_TSAN_PRE_LOCK(br, WEFT_TSAN_TRY_LOCK);
	int rc = rwl_brlock_wrlock(br, RWL_BR_TIMED, deadline);
	WEFT_TSAN_POST_LOCK(br, rc == WEFT_OK ? WEFT_TSAN_TRY_LOCK : WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return rc;
}

void weft_brlock_wrunlock_slow(weft_brlock_t *br)
{
	rwl_brlock_release(br);
}
