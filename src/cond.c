/* SPDX-License-Identifier: MIT */
/*
 * cond.c - the waiting, signalling and broadcasting paths of weft_cond_t.  The
 * algorithm, its sources and its contract are at the top of
 * include/weft/cond.h.
 *
 * Memory orders, once for the group:
 *  - `waiters` is incremented while the caller holds the mutex and read by a
 *    signaller that changed the predicate under the same mutex: the mutex's
 *    release/acquire orders them, so both sides are relaxed.
 *  - `seq` carries no data (the mutex protects the data); a waiter only asks
 *    "did it change since I looked?", so its loads are relaxed.
 *  - `sleepers` and `seq` form a Dekker pair: the waiter increments
 *    `sleepers` and then the kernel reads `seq` (after its own full barrier);
 *    the notifier increments `seq` and then reads `sleepers`.  Both RMWs and
 *    the notifier's load are sequentially consistent, so at least one side
 *    sees the other's store: the notifier wakes, or the sleeper does not sleep.
 *
 * The caller's mutex is dropped and re-taken by the inline weft_cond_wait()
 * (weft__mutex_drop()/weft__mutex_retake() of weft/mutex.h), between
 * weft_cond_wait_enter_slow() and weft_cond_wait_slow() and after it: never
 * here, so that its TSan annotations, owner mark and lock-order records are
 * made in the caller's translation unit.
 */
#include "spinwait.h"
#include "wait.h"
#include "weft/cond.h"
#include "weft/deadline.h"

/* The spin bound is the WEFT__SPIN_COND preset (src/spinwait.c). */
unsigned weft_cond_set_spin(unsigned pauses)
{
	return weft__spin_set_pauses(WEFT__SPIN_COND, pauses);
}

static unsigned cond_wait_flags(const weft_cond_t *cond)
{
	/* relaxed: the pshared bit is fixed at init */
	return (weft_atomic_load(&cond->waiters, WEFT_RELAXED) & WEFT_COND_PSHARED_BIT) ? WEFT_PSHARED : 0u;
}

void weft_cond_wait_enter_slow(weft_cond_t *cond, weft_mutex_t *mutex, struct weft__cond_wait *w)
{
	/* relaxed: published to signallers by the mutex release that follows
	 * (weft__mutex_drop() in the caller's weft_cond_wait()) */
	uint32_t flags_word = weft_atomic_fetch_add(&cond->waiters, 1u, WEFT_RELAXED);
	w->flags_word = flags_word;
	w->slept = false;
	/* Record the requeue target.  relaxed: the broadcaster reads it after it
	 * has read `sleepers` (seq_cst), which our seq_cst increment in
	 * weft_cond_wait_slow() releases; so it sees this store whenever it sees
	 * us as a sleeper. */
	if (!(flags_word & WEFT_COND_PSHARED_BIT) && weft_atomic_load(&cond->mutex, WEFT_RELAXED) != mutex)
		weft_atomic_store(&cond->mutex, mutex, WEFT_RELAXED);
	/* relaxed: read before the mutex is released; any notifier that changes
	 * the predicate later bumps seq after taking the mutex after us */
	w->seen = weft_atomic_load(&cond->seq, WEFT_RELAXED);
	WEFT__CHAOS_POINT(); /* registered and seq read, mutex still held */
}

/*
 * Sleep on seq while it holds @seen.  A process-shared condition variable
 * naps (weft__wait_napping(), src/wait.h): a notifier killed between its increment of seq and its
 * wake-up call (it held nothing: it may notify after its unlock) would leave
 * us asleep though the predicate changed.  A nap that ends with seq changed
 * reports a notification; one that ends with seq unchanged sleeps on (no
 * spurious return).  Issue 14, docs/processes.md.
 */
static int cond_sleep(weft_cond_t *cond, uint32_t seen, const struct timespec *deadline, unsigned flags,
		      weft_cancel_t *cancel)
{
	for (;;) {
		int rc = weft__wait_napping_ctx(&cond->seq, seen, deadline, flags, cancel);
		if (rc != WEFT__WAIT_NAPPED)
			return rc;
		/* relaxed: a look; the caller re-checks its predicate under the mutex */
		if (weft_atomic_load(&cond->seq, WEFT_RELAXED) != seen)
			return WEFT_OK;
	}
}

int weft_cond_wait_slow(weft_cond_t *cond, struct weft__cond_wait *w, const struct timespec *deadline)
{
	return weft_cond_wait_ctx_slow(cond, w, deadline, (weft_cancel_t *)0);
}

int weft_cond_wait_ctx_slow(weft_cond_t *cond, struct weft__cond_wait *w, const struct timespec *deadline,
			    weft_cancel_t *cancel)
{
	WEFT__CHAOS_POINT(); /* mutex released, not yet watching: notifications may come now */
	unsigned flags = (w->flags_word & WEFT_COND_PSHARED_BIT) ? WEFT_PSHARED : 0u;
	uint32_t seen = w->seen;

	/* Watch seq for a bounded spin: a check per pause, no backoff (the word
	 * changes once, and only notifiers write it, so watching costs the
	 * notifier nothing; a late look would only add latency).  A deadline
	 * that has passed ends the spin before its first pause, and the wait
	 * then returns without sleeping. */
	int rc = WEFT_OK;
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_COND, deadline);
	/* Spin only with at most one other waiter (a handoff between two
	 * threads, whose partner may still be on its way out of its own wait).
	 * With more, a notification is likely for one of the others, and
	 * spinners would take the CPUs that the notifier and the woken threads
	 * need: a broadcast's wake-up chain, a queue with more threads than
	 * cores (docs/cond.md has the measurements). */
	if ((w->flags_word & WEFT_COND_COUNT_MASK) > 1)
		weft__spinwait_no_pauses(&sw);
	enum weft__spin_result spun = WEFT__SPIN_AGAIN;
	/* relaxed: see the group comment */
	while (weft_atomic_load(&cond->seq, WEFT_RELAXED) == seen && (spun = weft__spinwait_spin(&sw)) == WEFT__SPIN_AGAIN)
		;

	if (spun == WEFT__SPIN_TIMEDOUT) {
		rc = WEFT_ETIMEDOUT; /* seq was unchanged just now */
	} else if (spun == WEFT__SPIN_PARK) {
		/* seq_cst: the Dekker pair with the notifier's seq increment */
		weft_atomic_fetch_add(&cond->sleepers, 1u, WEFT_SEQ_CST);
		WEFT__CHAOS_POINT(); /* announced as a sleeper, not yet asleep */
		rc = cond_sleep(cond, seen, deadline, flags, cancel);
		/* relaxed: a count; an extra wake-up call is the only cost of a late read */
		weft_atomic_fetch_sub(&cond->sleepers, 1u, WEFT_RELAXED);
		/* A thread that slept may have been moved onto the mutex word by
		 * a broadcast: the caller re-takes the mutex as CONTENDED
		 * (weft__mutex_retake()).  (A broadcast counter does not tell: a
		 * waiter that starts waiting just after a broadcast's increment
		 * of seq is still moved by its requeue.)  A waiter woken while
		 * spinning was never asleep and locks normally. */
		w->slept = true;
		/* A notification that raced with the timeout or the cancel:
		 * report it, the caller re-checks its predicate either way.  This
		 * is what keeps a cancel from losing a signal: a signaller bumps
		 * seq before its wake-up call, and the kernel may have given that
		 * wake-up (one, for a signal) to us just as the cancel woke us (a
		 * futex_waitv sleeper stays queued on seq until it runs again;
		 * the fallback's cancel wakes the word itself).  Whoever took it
		 * finds seq changed here, after leaving its sleep, and reports
		 * WEFT_OK.  A waiter that finds seq unchanged has left the
		 * kernel's queue, so a signal that comes later wakes another
		 * sleeper (or one about to sleep, whose compare fails).
		 * relaxed: the wake-up that took us out of the queue, or the
		 * futex hash-bucket lock of our own dequeue, orders the
		 * signaller's increment before this load. */
		if (rc != WEFT_OK && weft_atomic_load(&cond->seq, WEFT_RELAXED) != seen)
			rc = WEFT_OK;
	}
	/* release: the last access to *cond in this call; one who sees the count
	 * drop (acquire) may destroy and reuse the memory (libweft-preload's
	 * pthread_cond_destroy() waits for this, as POSIX requires) */
	weft_atomic_fetch_sub(&cond->waiters, 1u, WEFT_RELEASE);
	return rc;
}

void weft_cond_signal_slow(weft_cond_t *cond)
{
	/* seq_cst: the Dekker pair with a waiter's sleepers increment */
	weft_atomic_fetch_add(&cond->seq, 1u, WEFT_SEQ_CST);
	WEFT__CHAOS_POINT(); /* seq bumped, sleepers not yet read */
	if (weft_atomic_load(&cond->sleepers, WEFT_SEQ_CST) != 0)
		weft__wake(&cond->seq, 1, cond_wait_flags(cond));
}

void weft_cond_broadcast_slow(weft_cond_t *cond)
{
	/* seq_cst: the Dekker pair with a waiter's sleepers increment */
	uint32_t seq = weft_atomic_fetch_add(&cond->seq, 1u, WEFT_SEQ_CST) + 1u;
	WEFT__CHAOS_POINT(); /* seq bumped, sleepers not yet read */
	/* seq_cst: also an acquire that makes the sleepers' `mutex` stores visible */
	if (weft_atomic_load(&cond->sleepers, WEFT_SEQ_CST) == 0)
		return; /* spinning waiters see seq change by themselves */
	unsigned flags = cond_wait_flags(cond);
	weft_mutex_t *mutex = (flags & WEFT_PSHARED) ? 0 : weft_atomic_load(&cond->mutex, WEFT_RELAXED);
	/* Requeue only private onto private: a shared-flavour mutex is woken
	 * with the shared futex key, which a private requeue would not reach.
	 * relaxed: the pshared bit of the mutex is fixed at its init. */
	if (mutex != 0 && !(weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT) &&
	    weft__requeue(&cond->seq, seq, 1, &mutex->state, 0) == WEFT_OK)
		return;
	/* pshared, or seq moved on under us (a concurrent notification): wake all */
	weft__wake(&cond->seq, INT32_MAX, flags);
}
