/* SPDX-License-Identifier: MIT */
/*
 * brlock.c - the contended paths of weft_brlock_t.  The algorithm, its words
 * and its sources are described at the top of include/weft/brlock.h.
 *
 * Memory orders, once for the whole file:
 *  - a reader's entry is a seq_cst increment of its slot then a seq_cst load
 *    of the writer word; a writer's, a seq_cst fetch_or of ACTIVE then seq_cst
 *    loads of every slot: the two halves of a store-load handshake (see
 *    weft__brlock_enter()); the seq_cst loads are also the acquires that pair
 *    with the release of the unlock whose value they read;
 *  - the writers' mutex is the word lock of src/wordlock.h (acquire/release);
 *  - loads that only choose what to try next, and the RMWs that set or clear
 *    PARKED/SLOT_WAITER, are relaxed: they publish no data, and the futex
 *    compares the word's current value, so no stale guess can make a thread
 *    sleep through the change it waits for.
 */
#include "spinwait.h"
#include "wait.h"
#include "weft/brlock.h"
#include "weft/deadline.h"
#include "weft/status.h"
#include "wordlock.h"

/* Whether a caller's deadline has already passed (NULL: never). */
static bool brl_expired(const struct timespec *deadline)
{
	return deadline != NULL && weft_deadline_passed(deadline);
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
static unsigned brl_next_slot; /* relaxed: a counter; any value is correct */

unsigned weft__brlock_slot_assign(void)
{
	unsigned id = weft_atomic_fetch_add(&brl_next_slot, 1u, WEFT_RELAXED) % WEFT_BRLOCK_SLOTS + 1;
	weft__brlock_slot_id = id;
	return id;
}

static unsigned brl_flags(weft_brlock_t *br)
{
	/* relaxed: only the pshared bit is used, and it is fixed at init */
	return (weft_atomic_load(&br->writer, WEFT_RELAXED) & WEFT_BRLOCK_PSHARED_BIT) ? WEFT_PSHARED : 0u;
}

void weft_brlock_wake_slow(weft_brlock_t *br, uint32_t *slot)
{
	/* one waiter at most: the one writer that sweeps (it holds wlock) */
	weft__wake(slot, 1, brl_flags(br));
}

/*
 * Process-shared brlocks and dead processes (issue 14, docs/processes.md).
 * The writers' mutex of a WEFT_PSHARED brlock is the owned word lock of
 * src/wordlock.h: it names its holder.  A writer that sweeps the slots holds
 * it and has set ACTIVE (readers wait) but has not got the lock; once the
 * sweep is done it seals the word (weft__wordlock_owned_seal()): a dead
 * holder of the write lock keeps it, and nobody takes a sealed word over.  It
 * unseals before it releases.  So a writer killed while it swept (or while
 * it released) is replaced: by the next writer, whose wait on the mutex
 * takes it over, or by a reader, whose nap on ACTIVE ends with a look at the
 * mutex (brl_reclaim_dead_writer()), or by a tryrdlock that failed on ACTIVE.
 * The taker undoes the dead writer's TRY and VETO (a writer) or releases the
 * lock as the dead one would have (a reader).
 */

static void brl_release(weft_brlock_t *br);


/* If the writers' mutex is held by a writer that is gone (and had not sealed
 * it), take it and release the brlock as that writer would have. */
static void brl_reclaim_dead_writer(weft_brlock_t *br)
{
	if (weft__wordlock_take_from_dead(&br->wlock))
		brl_release(br);
}

bool weft_brlock_try_dead_writer_slow(weft_brlock_t *br, uint32_t *slot)
{
	/* relaxed: a hint; the take-over decides */
	if (!(weft_atomic_load(&br->writer, WEFT_RELAXED) & WEFT_BRLOCK_ACTIVE) ||
	    !weft__wordlock_take_from_dead(&br->wlock))
		return false;
	brl_release(br);
	if (weft__brlock_enter(br, slot))
		return true;
	weft__brlock_leave(br, slot);
	return false;
}

/* The writers' mutex: a word lock, owned if process-shared (see above). */
static int brl_wlock(weft_brlock_t *br, bool try_only, const struct timespec *deadline, unsigned wflags,
		     weft_cancel_t *cancel)
{
	if (!wflags) {
		if (try_only)
			return weft__wordlock_trylock(&br->wlock, 0u) ? WEFT_OK : WEFT_EBUSY;
		return weft__wordlock_lock_ctx(&br->wlock, 0u, WEFT__SPIN_RWLOCK, deadline, wflags, cancel);
	}
	bool stolen;
	int rc = try_only ? (weft__wordlock_trylock_owned(&br->wlock, &stolen) ? WEFT_OK : WEFT_EBUSY)
			  : weft__wordlock_lock_owned(&br->wlock, WEFT__SPIN_RWLOCK, deadline, cancel, &stolen);
	/* A dead sweeper's TRY and VETO go (its ACTIVE is ours from now on).
	 * relaxed: publishes nothing; our seq_cst fetch_or of ACTIVE follows */
	if (rc == WEFT_OK && stolen)
		weft_atomic_fetch_and(&br->writer, ~(WEFT_BRLOCK_TRY | WEFT_BRLOCK_VETO), WEFT_RELAXED);
	return rc;
}

/* A reader that saw ACTIVE (and took its count back): wait until the writer
 * word has no ACTIVE bit, spinning, then sleeping with PARKED set (@cancel,
 * NULL: none, read only around the sleep).  Return: WEFT_OK, WEFT_ETIMEDOUT
 * or WEFT_ECANCELED. */
static int brl_wait_writer_gone(weft_brlock_t *br, const struct timespec *deadline, weft_cancel_t *cancel)
{
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_RWLOCK, deadline);
	unsigned wflags = brl_flags(br);
	/* relaxed: a hint; weft__brlock_enter() makes the real check.  A
	 * trywrlock sweeping (TRY) is not waited for: the entry vetoes it */
	uint32_t w = weft_atomic_load(&br->writer, WEFT_RELAXED);
	while ((w & (WEFT_BRLOCK_ACTIVE | WEFT_BRLOCK_TRY)) == WEFT_BRLOCK_ACTIVE) {
		if (weft__spinwait_spin(&sw) == WEFT__SPIN_AGAIN) {
			w = weft_atomic_load(&br->writer, WEFT_RELAXED);
			continue;
		}
		/* ACTIVE -> ACTIVE|PARKED: wrunlock then wakes every sleeper */
		if (!(w & WEFT_BRLOCK_PARKED) &&
		    !weft_atomic_cas(&br->writer, &w, w | WEFT_BRLOCK_PARKED, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		/* On a timeout PARKED stays set: the writer's unlock then makes
		 * one wake call that may find nobody.  Process-shared: nap (a
		 * writer killed between its clear of ACTIVE and its wake-up call
		 * leaves us asleep), and after a nap look for a dead writer. */
		int rc = weft__wait_napping_ctx(&br->writer, w | WEFT_BRLOCK_PARKED, deadline, wflags, cancel);
		if (rc == WEFT_ETIMEDOUT || rc == WEFT_ECANCELED)
			return rc;
		if (rc == WEFT__WAIT_NAPPED)
			brl_reclaim_dead_writer(br);
		w = weft_atomic_load(&br->writer, WEFT_RELAXED);
	}
	return WEFT_OK;
}

/*
 * A reader that counted itself in and saw ACTIVE|TRY (value @w): a trywrlock is
 * sweeping the slots and has not taken the lock.  Mark VETO, which makes that
 * trywrlock fail at its confirming CAS, and come in: a tryrdlock never fails,
 * nor a reader waits, for a trywrlock that then fails (issue 12).  Return:
 * true (in) unless the trywrlock confirmed first (ACTIVE without TRY: it holds
 * the lock, back out as from any writer).
 *
 * Why it is safe: the trywrlock confirms (ACTIVE|TRY -> ACTIVE) with a CAS
 * that fails on VETO; both are RMWs of the writer word, so one comes first in
 * its modification order.  VETO first: the trywrlock fails.  Confirm first:
 * our CAS fails on the missing TRY and we back out.
 *
 * seq_cst CAS (and failure load): it reads the writer word the way the entry's
 * seq_cst load does; an acquire that pairs, through the release sequence of
 * the writer word, with the last wrunlock's release exchange.
 */
bool weft_brlock_veto_slow(weft_brlock_t *br, uint32_t w)
{
	while ((w & (WEFT_BRLOCK_ACTIVE | WEFT_BRLOCK_TRY)) == (WEFT_BRLOCK_ACTIVE | WEFT_BRLOCK_TRY)) {
		if (w & WEFT_BRLOCK_VETO)
			return true;
		if (weft_atomic_cas(&br->writer, &w, w | WEFT_BRLOCK_VETO, WEFT_SEQ_CST, WEFT_SEQ_CST))
			return true;
	}
	/* the trywrlock gave up (no ACTIVE: we are in, as on a first look that
	 * saw none) or confirmed (ACTIVE: back out) */
	return !(w & WEFT_BRLOCK_ACTIVE);
}

/* Called after a failed weft__brlock_enter(): our count is still in @slot. */
static int brl_rdlock(weft_brlock_t *br, uint32_t *slot, const struct timespec *deadline, weft_cancel_t *cancel)
{
	do {
		weft__brlock_leave(br, slot);
		if (brl_expired(deadline))
			return WEFT_ETIMEDOUT;
		int rc = brl_wait_writer_gone(br, deadline, cancel);
		if (rc != WEFT_OK)
			return rc;
	} while (!weft__brlock_enter(br, slot));
	return WEFT_OK;
}

void weft_brlock_rdlock_slow(weft_brlock_t *br, uint32_t *slot)
{
	(void)brl_rdlock(br, slot, NULL, NULL);
}

int weft_brlock_rdlock_ctx_slow(weft_brlock_t *br, const struct timespec *deadline, weft_cancel_t *cancel)
{
	uint32_t *slot = weft__brlock_my_slot(br);
	return weft__brlock_enter(br, slot) ? WEFT_OK : brl_rdlock(br, slot, deadline, cancel);
}

int weft_brlock_timedrdlock_slow(weft_brlock_t *br, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	return weft_brlock_rdlock_ctx_slow(br, deadline, NULL);
}

/*
 * The writer waits for one slot to drain: spin, then set SLOT_WAITER and
 * sleep on the slot; the reader whose rdunlock takes the count to 0 sees
 * SLOT_WAITER and wakes us.  New readers cannot add lasting counts (ACTIVE is
 * set; they take theirs back), so the wait is bounded by the readers inside.
 */
static int brl_drain_slot(uint32_t *slot, const struct timespec *deadline, unsigned wflags, weft_cancel_t *cancel)
{
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_RWLOCK, deadline);
	/* acquire: pairs with the release fetch_sub of the readers' rdunlock */
	uint32_t c = weft_atomic_load(slot, WEFT_ACQUIRE);
	int rc = WEFT_OK;
	while (c & WEFT_BRLOCK_SLOT_READERS) {
		if (weft__spinwait_spin(&sw) == WEFT__SPIN_AGAIN) {
			c = weft_atomic_load(slot, WEFT_ACQUIRE); /* acquire: as above */
			continue;
		}
		/* count -> count|SLOT_WAITER.  relaxed: publishes nothing */
		if (!(c & WEFT_BRLOCK_SLOT_WAITER) &&
		    !weft_atomic_cas(slot, &c, c | WEFT_BRLOCK_SLOT_WAITER, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		c |= WEFT_BRLOCK_SLOT_WAITER;
		/* process-shared: nap (a reader killed between its decrement and
		 * its wake-up call would leave us asleep on a drained slot) */
		int wrc = weft__wait_napping_ctx(slot, c, deadline, wflags, cancel);
		if (wrc == WEFT_ETIMEDOUT || wrc == WEFT_ECANCELED) {
			rc = wrc;
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
static void brl_release(weft_brlock_t *br)
{
	unsigned wflags = brl_flags(br);
	if (wflags)
		weft__wordlock_owned_seal(&br->wlock, false); /* killed from here on: replaceable */
	/* release: publishes the write section; pairs with the seq_cst (acquire)
	 * load of the writer word in weft__brlock_enter() */
	uint32_t old = weft_atomic_exchange(&br->writer, wflags ? WEFT_BRLOCK_PSHARED_BIT : 0u, WEFT_RELEASE);
	if (old & WEFT_BRLOCK_PARKED)
		weft__wake(&br->writer, INT32_MAX, wflags);
	if (wflags)
		weft__wordlock_unlock_owned(&br->wlock);
	else
		weft__wordlock_unlock(&br->wlock, 0u, wflags);
}

enum brl_mode { BRL_BLOCK, BRL_TRY, BRL_TIMED };

/*
 * Whether some slot counts a reader, looked at without setting ACTIVE: a
 * trywrlock's first look.  A trywrlock that set ACTIVE and then found a
 * reader made every reader arriving during its sweep fail (tryrdlock) or wait,
 * though it never got the lock (issue 12); with this look first, a try against
 * a lock that is read-held fails without ever setting ACTIVE.  relaxed: a
 * filter that publishes and acquires nothing; a count seen here is a reader
 * inside or entering during our call (the failure is genuine), and a clean
 * look is followed by the real handshake below.
 */
static bool brl_any_reader(weft_brlock_t *br)
{
	for (unsigned i = 0; i < WEFT_BRLOCK_SLOTS; i++)
		if (weft_atomic_load(&br->slots[i].readers, WEFT_RELAXED) & WEFT_BRLOCK_SLOT_READERS)
			return true;
	return false;
}

static int brl_wrlock(weft_brlock_t *br, enum brl_mode mode, const struct timespec *deadline, weft_cancel_t *cancel)
{
	unsigned wflags = brl_flags(br);
	int rc;
	if (mode == BRL_TRY) {
		if (brl_any_reader(br) || brl_wlock(br, true, NULL, wflags, NULL) != WEFT_OK)
			return WEFT_EBUSY;
	} else if ((rc = brl_wlock(br, false, deadline, wflags, cancel)) != WEFT_OK) {
		return rc;
	}
	/* seq_cst: the writer's half of the store-load handshake: ACTIVE must be
	 * visible before we read the slots; pairs with the seq_cst increment and
	 * load of weft__brlock_enter().  A trywrlock sets TRY too: readers that
	 * see it veto it instead of backing out */
	weft_atomic_fetch_or(&br->writer, WEFT_BRLOCK_ACTIVE | (mode == BRL_TRY ? WEFT_BRLOCK_TRY : 0u), WEFT_SEQ_CST);
	for (unsigned i = 0; i < WEFT_BRLOCK_SLOTS; i++) {
		uint32_t *slot = &br->slots[i].readers;
		/* seq_cst: the other half of the handshake; also the acquire that
		 * pairs with the readers' release fetch_sub */
		if (!(weft_atomic_load(slot, WEFT_SEQ_CST) & WEFT_BRLOCK_SLOT_READERS))
			continue;
		rc = mode == BRL_TRY ? WEFT_EBUSY
				     : brl_expired(deadline) ? WEFT_ETIMEDOUT : brl_drain_slot(slot, deadline, wflags, cancel);
		if (rc != WEFT_OK) {
			brl_release(br);
			return rc;
		}
	}
	if (mode == BRL_TRY) {
		/* Confirm: ACTIVE|TRY -> ACTIVE, unless a reader vetoed (it came
		 * in after our look at its slot: the lock was read-held during
		 * our call, a genuine failure).  seq_cst: the RMW race with
		 * weft_brlock_veto_slow()'s CAS; relaxed first guess */
		uint32_t w = weft_atomic_load(&br->writer, WEFT_RELAXED);
		do {
			if (w & WEFT_BRLOCK_VETO) {
				brl_release(br);
				return WEFT_EBUSY;
			}
		} while (!weft_atomic_cas(&br->writer, &w, w & ~WEFT_BRLOCK_TRY, WEFT_SEQ_CST, WEFT_RELAXED));
	}
	if (wflags)
		weft__wordlock_owned_seal(&br->wlock, true); /* held: a dead holder keeps it */
	return WEFT_OK;
}

void weft_brlock_wrlock_slow(weft_brlock_t *br)
{
	(void)brl_wrlock(br, BRL_BLOCK, NULL, NULL);
}

bool weft_brlock_trywrlock_slow(weft_brlock_t *br)
{
	return brl_wrlock(br, BRL_TRY, NULL, NULL) == WEFT_OK;
}

int weft_brlock_timedwrlock_slow(weft_brlock_t *br, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	return brl_wrlock(br, BRL_TIMED, deadline, NULL);
}

int weft_brlock_wrlock_ctx_slow(weft_brlock_t *br, const struct timespec *deadline, weft_cancel_t *cancel)
{
	return brl_wrlock(br, BRL_TIMED, deadline, cancel);
}

void weft_brlock_wrunlock_slow(weft_brlock_t *br)
{
	brl_release(br);
}
