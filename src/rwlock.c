/* SPDX-License-Identifier: MIT */
/*
 * rwlock.c - the contended paths of weft_rwlock_t.  The algorithm, its state
 * word and its sources are described at the top of include/weft/rwlock.h (the
 * reader-bias table is in src/rwlock_bias.c, weft_brlock_t in src/brlock.c);
 * the transitions made here are listed there as tuples (R, WRITER, WAITING,
 * PARKED) and repeated beside the code that makes them.
 *
 * Memory orders, once for the whole file:
 *  - every successful acquisition of a lock is an acquire CAS that pairs with the release RMW of the unlock
 *    whose value it read; release sequences carry that through the RMWs of
 *    other threads in between;
 *  - the queue mutex is acquire/release like weft_mutex_t's;
 *  - loads that only choose what to try next, and the RMWs that set or clear
 *    WAITING/PARKED, are relaxed: they publish no data, and the futex
 *    compares the word's current value (every RMW sees the latest value
 *    in the word's modification order), so no stale guess can make a thread
 *    sleep through the change it waits for;
 *  - reader bias (BRAVO) is a seq_cst store-load handshake between a reader
 *    (claim a slot, then load BIASED) and a writer (clear BIASED, then load
 *    every slot); see weft__rwlock_bias_enter(), rwl_revoke() and
 *    weft_rwlock_trywrlock_slow() (where the clear is the BIASED -> REVOKING CAS).
 */
#include "rwlock_bias.h"
#include "spinwait.h"
#include "wait.h"
#include "wordlock.h"
#include "weft/deadline.h"
#include "weft/rwlock.h"
#include "weft/status.h"

/* The spin budget of every rwlock and brlock waiter: the WEFT__SPIN_RWLOCK
 * preset, and the pauses of WEFT__SPIN_RWLOCK_DRAIN (src/spinwait.c). */
unsigned weft_rwlock_set_spin(unsigned pauses)
{
	(void)weft__spin_set_pauses(WEFT__SPIN_RWLOCK_DRAIN, pauses);
	return weft__spin_set_pauses(WEFT__SPIN_RWLOCK, pauses);
}

/* Whether a caller's deadline has already passed (NULL: never). */
static bool rwl_expired(const struct timespec *deadline)
{
	return deadline != NULL && weft_deadline_passed(deadline);
}

/* ==== weft_rwlock_t: the BIASED bit (BRAVO; the table: rwlock_bias.c) ==== */

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
	if (!weft__rwlock_bias_allowed(rw))
		return;
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

/*
 * A blocking or timed writer's revocation, once it holds WRITER: clear
 * BIASED, then scan the table and wait for each slot that holds @rw.  Readers
 * that arrive after the clear see it and take the counted path, where WRITER
 * stops them (a writer waits: writer preference).  Then inhibit bias for N
 * times what this took (Dice and Kogan's policy).  On a timeout bias is put
 * back on and the write lock given back.
 * Return: WEFT_OK or WEFT_ETIMEDOUT.
 */
static int rwl_revoke(weft_rwlock_t *rw, const struct timespec *deadline)
{
	/* relaxed: we hold WRITER, and only a reader inside the lock sets
	 * BIASED, so it cannot change under us; our acquire CAS read it last */
	if (!(weft_atomic_load(&rw->state, WEFT_RELAXED) & WEFT_RWLOCK_BIASED))
		return WEFT_OK;
	uint64_t t0 = weft__rwlock_bias_now();
	/* seq_cst: the writer's store half of the handshake with
	 * weft__rwlock_bias_enter() (which explains why acquire/release is not
	 * enough): the clear must precede, in the seq_cst order, every slot load
	 * of weft__rwlock_bias_scan() */
	weft_atomic_fetch_and(&rw->state, ~WEFT_RWLOCK_BIASED, WEFT_SEQ_CST);
	int rc = weft__rwlock_bias_scan(rw, false, deadline);
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
	weft__rwlock_bias_inhibit(rw, t0);
	return WEFT_OK;
}

void weft_rwlock_rebias_slow(weft_rwlock_t *rw)
{
	rwl_maybe_bias(rw);
}

/* Clear REVOKING (and set BIASED when @rebias) after a failed biased
 * trywrlock; wake the write head if it parked meanwhile (it waits for
 * REVOKING to go).  relaxed: publishes nothing (we wrote nothing); the RMW
 * keeps the release sequence of the state word unbroken. */
static void rwl_end_revoking(weft_rwlock_t *rw, uint32_t s, bool rebias)
{
	uint32_t want;
	do
		want = (s & ~WEFT_RWLOCK_REVOKING) | (rebias ? WEFT_RWLOCK_BIASED : 0u);
	while (!weft_atomic_cas_weak(&rw->state, &s, want, WEFT_RELAXED, WEFT_RELAXED));
	if (s & WEFT_RWLOCK_PARKED)
		weft_rwlock_wake_slow(rw);
}

/*
 * trywrlock of a biased lock (see "trywrlock on a biased lock" at the top of
 * rwlock.h): swap BIASED for REVOKING, scan the table, then turn REVOKING into
 * WRITER if no reader of either kind is inside.  Readers are never stopped:
 * REVOKING only keeps writers out.
 */
bool weft_rwlock_trywrlock_slow(weft_rwlock_t *rw)
{
	/* relaxed: a first guess for the CAS */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	for (;;) {
		if (!weft__rwlock_writable(s))
			return false;
		if (!(s & WEFT_RWLOCK_BIASED)) {
			/* bias went meanwhile (another writer revoked it): the plain
			 * try.  acquire: pairs with the release fetch_sub of both
			 * unlocks */
			if (weft_atomic_cas_weak(&rw->state, &s, s | WEFT_RWLOCK_WRITER, WEFT_ACQUIRE, WEFT_RELAXED))
				return true;
			continue;
		}
		/* (0, 0, 0, pk, B, 0) -> (0, 0, 0, pk, 0, V).  seq_cst: the store
		 * half of the handshake with weft__rwlock_bias_enter(), as the
		 * clear in rwl_revoke(); it must precede every slot load of the
		 * scan below in the seq_cst order */
		if (weft_atomic_cas_weak(&rw->state, &s, (s & ~WEFT_RWLOCK_BIASED) | WEFT_RWLOCK_REVOKING,
					 WEFT_SEQ_CST, WEFT_RELAXED))
			break;
	}
	uint64_t t0 = weft__rwlock_bias_now();
	if (weft__rwlock_bias_scan(rw, true, NULL) != WEFT_OK) {
		/* A biased reader is inside: BIASED back on (it must be set
		 * while one is), REVOKING off.  relaxed: a first guess */
		rwl_end_revoking(rw, weft_atomic_load(&rw->state, WEFT_RELAXED), true);
		return false;
	}
	/* No biased reader was inside when we looked, and none got in after
	 * (BIASED was clear) unless a counted reader turned BIASED back on,
	 * which the CAS below refuses.  relaxed: a first guess */
	s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	for (;;) {
		if (s & (WEFT_RWLOCK_READERS | WEFT_RWLOCK_BIASED)) {
			/* a reader came in meanwhile: the lock was read-held during
			 * our call, a genuine failure */
			rwl_end_revoking(rw, s, false);
			return false;
		}
		/* (0, 0, ww, pk, 0, V) -> (0, 1, ww, pk, 0, 0).  acquire: pairs with
		 * the release fetch_sub of the counted readers that came and went
		 * while we scanned (the scan's seq_cst loads already acquired the
		 * biased readers' release stores of NULL) */
		if (weft_atomic_cas_weak(&rw->state, &s, (s & ~WEFT_RWLOCK_REVOKING) | WEFT_RWLOCK_WRITER,
					 WEFT_ACQUIRE, WEFT_RELAXED))
			break;
	}
	weft__rwlock_bias_inhibit(rw, t0);
	return true;
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

/*
 * One round of a queue head's wait, @s its last look at the state word: spin
 * while the policy says so, else mark PARKED (the unlock that changes what we
 * wait for then wakes us) and sleep -- for a process-shared lock in naps
 * (weft__wait_napping(): an unlocker killed between its change of the state
 * and its wake-up call would leave the head asleep for ever, issue 14).
 * @cancel (NULL: none) is read only around the sleep (weft__wait_ctx()).
 * Return: WEFT_OK to look at *s again, or WEFT_ETIMEDOUT once @deadline has
 * passed, WEFT_ECANCELED once @cancel is cancelled (the caller then takes
 * its last look).
 */
static int rwl_head_wait(weft_rwlock_t *rw, uint32_t *s, struct weft__spinwait *sw, const struct timespec *deadline,
			 unsigned wflags, weft_cancel_t *cancel)
{
	if (weft__spinwait_spin(sw) == WEFT__SPIN_AGAIN) {
		*s = weft_atomic_load(&rw->state, WEFT_RELAXED);
		return WEFT_OK;
	}
	/* (..., pk=0) -> (..., pk=1).  relaxed: publishes nothing; a failed CAS
	 * leaves the new value in *s for the caller's next look */
	if (!(*s & WEFT_RWLOCK_PARKED) &&
	    !weft_atomic_cas(&rw->state, s, *s | WEFT_RWLOCK_PARKED, WEFT_RELAXED, WEFT_RELAXED))
		return WEFT_OK;
	*s |= WEFT_RWLOCK_PARKED;
	int rc = weft__wait_napping_ctx(&rw->state, *s, deadline, wflags, cancel);
	if (rc == WEFT_ECANCELED)
		return rc;
	if (rc != WEFT__WAIT_NAPPED && rwl_expired(deadline))
		return WEFT_ETIMEDOUT;
	*s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	return WEFT_OK;
}

/*
 * The waiters' queue.  A process-shared rwlock queues with the owned word
 * lock (src/wordlock.h), which names the queue head: the head sets WAITING
 * (a writer) and PARKED while it waits, and a head killed there (it held
 * nothing but its place in line) left WAITING|PARKED set and the queue taken
 * for ever, so that every reader and writer hung (issue 14; make crashtest).
 * The next waiter takes the queue over once it sees the head is gone, and
 * undoes the head's marks: only the head sets them, and it is now the head.
 * A head that died after it took the lock still holds it (WRITER, or its
 * count in R): that is a dead holder, which the take-over cannot undo.
 */
static int rwl_queue_lock(weft_rwlock_t *rw, const struct timespec *deadline, unsigned wflags, weft_cancel_t *cancel)
{
	if (!(wflags & WEFT_PSHARED))
		return weft__wordlock_lock_ctx(&rw->queue, 0u, WEFT__SPIN_RWLOCK, deadline, wflags, cancel);
	bool stolen;
	int rc = weft__wordlock_lock_owned(&rw->queue, WEFT__SPIN_RWLOCK, deadline, cancel, &stolen);
	/* (r, w, ww, pk) -> (r, w, 0, 0).  relaxed: publishes nothing (as the
	 * head's own RMWs of these bits) */
	if (rc == WEFT_OK && stolen)
		weft_atomic_fetch_and(&rw->state, ~(WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED), WEFT_RELAXED);
	return rc;
}

static void rwl_queue_unlock(weft_rwlock_t *rw, unsigned wflags)
{
	if (wflags & WEFT_PSHARED)
		weft__wordlock_unlock_owned(&rw->queue);
	else
		weft__wordlock_unlock(&rw->queue, 0u, wflags);
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
static int rwl_read_as_head(weft_rwlock_t *rw, const struct timespec *deadline, unsigned wflags,
			    weft_cancel_t *cancel)
{
	int why;
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_RWLOCK, deadline);
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
		/* (0, 1, 0, 0) -> (0, 1, 0, 1): the unlock that clears WRITER wakes us */
		if ((why = rwl_head_wait(rw, &s, &sw, deadline, wflags, cancel)) != WEFT_OK)
			break;
	}
	/* @deadline passed or @cancel cancelled (why): a last look, then
	 * (0, 1, 0, pk) -> (0, 1, 0, 0) */
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
			return why;
		}
	}
}

static int rwl_rdlock(weft_rwlock_t *rw, const struct timespec *deadline, weft_cancel_t *cancel)
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
	/* A reader never asks for the queue to be handed to it
	 * (WEFT__WORD_NO_HANDOFF): under writer preference only writers are owed
	 * the fairness bound, and a hand-off to a woken reader that the
	 * scheduler has not run yet held the writers up for as long as it waited
	 * for a CPU (rwlock/writer_wait at 8 threads on 2 CPUs: 5.8x fewer
	 * writes than without, issue 12's A/B). */
	int rc = rwl_queue_lock(rw, deadline, wflags | WEFT__WORD_NO_HANDOFF, cancel);
	if (rc != WEFT_OK)
		return rc;
	rc = rwl_read_as_head(rw, deadline, wflags, cancel);
	rwl_queue_unlock(rw, wflags);
	return rc;
}

void weft_rwlock_rdlock_slow(weft_rwlock_t *rw)
{
	(void)rwl_rdlock(rw, NULL, NULL);
	rwl_maybe_bias(rw);
}

int weft_rwlock_rdlock_ctx_slow(weft_rwlock_t *rw, const struct timespec *deadline, weft_cancel_t *cancel)
{
	int rc = WEFT_OK;
	/* relaxed: a hint, as in weft_rwlock_rdlock() */
	if (!((weft_atomic_load(&rw->state, WEFT_RELAXED) & WEFT_RWLOCK_BIASED) && weft__rwlock_bias_try(rw))) {
		rc = rwl_rdlock(rw, deadline, cancel);
		if (rc == WEFT_OK)
			rwl_maybe_bias(rw);
	}
	return rc;
}

int weft_rwlock_timedrdlock_slow(weft_rwlock_t *rw, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	return weft_rwlock_rdlock_ctx_slow(rw, deadline, NULL);
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
static int rwl_write_as_head(weft_rwlock_t *rw, const struct timespec *deadline, unsigned wflags,
			     weft_cancel_t *cancel)
{
	int why;
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_RWLOCK, deadline);
	/* (r, w, 0, pk) -> (r, w, 1, pk).  relaxed: publishes nothing; readers
	 * that see it simply queue (see the file comment) */
	uint32_t s = weft_atomic_fetch_or(&rw->state, WEFT_RWLOCK_WAITING, WEFT_RELAXED) | WEFT_RWLOCK_WAITING;
	const uint32_t busy = WEFT_RWLOCK_READERS | WEFT_RWLOCK_WRITER | WEFT_RWLOCK_REVOKING;
	for (;;) {
		if (!(s & busy)) {
			/* (0, 0, 1, pk) -> (0, 1, 0, 0).  acquire: pairs with the
			 * release fetch_sub of the last reader or writer */
			if (weft_atomic_cas(&rw->state, &s, (s & (WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_BIASED)) | WEFT_RWLOCK_WRITER,
					    WEFT_ACQUIRE, WEFT_RELAXED))
				return WEFT_OK;
			continue;
		}
		/* (r, w, 1, 0) -> (r, w, 1, 1): the last reader's rdunlock, or the
		 * holder's wrunlock, wakes us */
		if ((why = rwl_head_wait(rw, &s, &sw, deadline, wflags, cancel)) != WEFT_OK)
			break;
	}
	/* @deadline passed or @cancel cancelled (why): a last look, then
	 * (r, w, 1, pk) -> (r, w, 0, 0): readers may
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
			return why;
		}
	}
}

static int rwl_wrlock_counted(weft_rwlock_t *rw, const struct timespec *deadline, weft_cancel_t *cancel)
{
	/* relaxed: a first guess for the CAS */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	if (rwl_write_try(rw, &s))
		return WEFT_OK;
	if (rwl_expired(deadline))
		return WEFT_ETIMEDOUT;
	unsigned wflags = rwl_flags(s);
	int rc = rwl_queue_lock(rw, deadline, wflags, cancel);
	if (rc != WEFT_OK)
		return rc;
	rc = rwl_write_as_head(rw, deadline, wflags, cancel);
	rwl_queue_unlock(rw, wflags);
	return rc;
}

/* Take WRITER (the counted lock), then revoke reader bias.  The revocation
 * (waiting for biased readers already inside to leave) is not cancellable:
 * it waits only for sections in progress. */
static int rwl_wrlock(weft_rwlock_t *rw, const struct timespec *deadline, weft_cancel_t *cancel)
{
	int rc = rwl_wrlock_counted(rw, deadline, cancel);
	return rc == WEFT_OK ? rwl_revoke(rw, deadline) : rc;
}

void weft_rwlock_wrlock_slow(weft_rwlock_t *rw)
{
	(void)rwl_wrlock(rw, NULL, NULL);
}

int weft_rwlock_timedwrlock_slow(weft_rwlock_t *rw, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	return rwl_wrlock(rw, deadline, NULL);
}

int weft_rwlock_wrlock_ctx_slow(weft_rwlock_t *rw, const struct timespec *deadline, weft_cancel_t *cancel)
{
	return rwl_wrlock(rw, deadline, cancel);
}

void weft_rwlock_wake_slow(weft_rwlock_t *rw)
{
	/* relaxed: only the pshared bit is used, and it is fixed at init.  One
	 * waiter: only the queue head ever sleeps on the state word. */
	weft__wake(&rw->state, 1, rwl_flags(weft_atomic_load(&rw->state, WEFT_RELAXED)));
}


/*
 * A try that failed on a process-shared lock because a queue head announced
 * itself (WAITING): a try loop never queues, so it would never take a dead
 * head's place, and would fail for ever on a lock nobody holds.  If the head
 * is gone, take the queue over, undo its marks, hand the queue on, and try
 * once more.  Costs a kill(id, 0) per such failed try.
 */
bool weft_rwlock_try_dead_head_slow(weft_rwlock_t *rw, bool write)
{
	if (!weft__wordlock_take_from_dead(&rw->queue))
		return false;
	/* (r, w, ww, pk) -> (r, w, 0, 0), as in rwl_queue_lock().  relaxed: as there */
	weft_atomic_fetch_and(&rw->state, ~(WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED), WEFT_RELAXED);
	weft__wordlock_unlock_owned(&rw->queue);
	/* relaxed: a first guess for the CAS */
	uint32_t s = weft_atomic_load(&rw->state, WEFT_RELAXED);
	return write ? rwl_write_try(rw, &s) : rwl_read_retry(rw, &s);
}
