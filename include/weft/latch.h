/* SPDX-License-Identifier: MIT */
#ifndef WEFT_LATCH_H
#define WEFT_LATCH_H

/*
 * latch.h - a single-use countdown latch (C++20 std::latch, Java's
 * CountDownLatch): threads count it down, waiters sleep until it reaches zero.
 *
 * Algorithm: one 32-bit futex word.  Bits 0..30 are the count, bit 31
 * (WAITERS) says that a thread may sleep on the word.
 *
 *   count_down(n):  CAS count -> count - n, refusing to go below zero; when
 *                   it reaches zero the word becomes 0 (WAITERS cleared) and,
 *                   if WAITERS was set, every sleeper is woken.
 *   wait:           return if count == 0 (inline); else watch the word for a
 *                   bounded spin, then set WAITERS and sleep until it is 0.
 *
 * So a count_down that does not open the latch, or opens it with nobody
 * asleep, makes no system call.
 *
 * Counting down below zero is an error, not a wrap: weft_latch_count_down()
 * returns WEFT_EINVAL (an argument out of range for the current count) and
 * changes nothing.  The latch cannot be reset: to count again, init it once
 * no thread uses it.
 *
 * Progress: count_down and try_wait are lock-free; wait blocks.  Fairness:
 * not applicable.
 *
 * Ordering: everything written before a count_down is visible to every thread
 * after its wait (or try_wait returning true) sees zero: each count_down is a
 * release RMW, the waits are acquire loads, and the count_downs form one
 * release sequence.
 *
 * Footprint: 4 bytes.  All-zero is an open latch (count 0);
 * WEFT_LATCH_INIT(n) is a latch of count n.  Private to a process.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "cancel.h"
#include "config.h"
#include "deadline.h"
#include "status.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

#define WEFT_LATCH_COUNT_MASK 0x7fffffffu
#define WEFT_LATCH_WAITERS 0x80000000u
#define WEFT_LATCH_MAX 0x7fffffffu /* the largest initial count */

typedef struct weft_latch {
	uint32_t state; /* futex word: count | WEFT_LATCH_WAITERS */
} weft_latch_t;

WEFT_STATIC_ASSERT(sizeof(weft_latch_t) == 4, "weft_latch_t is one 32-bit word");

#define WEFT_LATCH_INIT(n) {(n)}

WEFT_NOINLINE WEFT_COLD int weft_latch_wait_slow(weft_latch_t *latch, const struct timespec *deadline);
WEFT_NOINLINE WEFT_COLD int weft_latch_wait_ctx_slow(weft_latch_t *latch, const struct timespec *deadline,
						     weft_cancel_t *cancel);

/**
 * weft_latch_init() - initialize a latch that opens after @count count-downs.
 * @latch: the latch.
 * @count: the initial count, at most WEFT_LATCH_MAX; 0 makes an open latch.
 *
 * Context: any thread; the latch must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL if @count is above WEFT_LATCH_MAX (@latch is
 * untouched).
 */
WEFT_NODISCARD static inline int weft_latch_init(weft_latch_t *latch, unsigned count)
{
	if (count > WEFT_LATCH_MAX)
		return WEFT_EINVAL;
	/* relaxed: not shared yet; publishing it is the caller's job */
	weft_atomic_store(&latch->state, (uint32_t)count, WEFT_RELAXED);
	return WEFT_OK;
}

/**
 * weft_latch_count_down() - subtract @n from the count; at zero, wake every
 * waiter.  (Out of line: a CAS loop and perhaps a wake-up call.)
 * @latch: the latch.
 * @n: how much to count down; 0 does nothing.
 *
 * Context: any thread; never blocks.
 * Ordering: release; pairs with the acquire of the waits that see zero.
 * Return: WEFT_OK, or WEFT_EINVAL if @n is larger than the count left
 * (nothing changes).
 */
int weft_latch_count_down_slow(weft_latch_t *latch, unsigned n);
WEFT_NODISCARD static inline int weft_latch_count_down(weft_latch_t *latch, unsigned n)
{
	/* TSan: a count-down publishes the caller's writes to every thread whose
	 * wait sees zero; the library's release RMW is invisible to TSan when the
	 * library is built without it, so announce it here (consumed by the
	 * WEFT_TSAN_ACQUIRE() of the waits) */
	WEFT_TSAN_RELEASE(latch);
	return weft_latch_count_down_slow(latch, n);
}

/**
 * weft_latch_try_wait() - whether the latch is open.
 * @latch: the latch.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire when it returns true.
 * Return: true if the count is zero.
 */
WEFT_NODISCARD static inline bool weft_latch_try_wait(weft_latch_t *latch)
{
	/* acquire: pairs with the release of the count_down that reached zero */
	bool open = (weft_atomic_load(&latch->state, WEFT_ACQUIRE) & WEFT_LATCH_COUNT_MASK) == 0;
	/* TSan: zero was stored by the library's count-down, so the acquire
	 * load above may not show TSan the count-downs' writes: consume their
	 * WEFT_TSAN_RELEASE() (weft_latch_count_down()) */
	if (open)
		WEFT_TSAN_ACQUIRE(latch);
	return open;
}

/**
 * weft_latch_wait() - sleep until the count is zero.
 * @latch: the latch.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire; see the overview.
 */
static inline void weft_latch_wait(weft_latch_t *latch)
{
	if (WEFT_LIKELY(weft_latch_try_wait(latch)))
		return;
	(void)weft_latch_wait_slow(latch, (const struct timespec *)0);
	WEFT_TSAN_ACQUIRE(latch); /* TSan: as in weft_latch_try_wait() */
}

/**
 * weft_latch_timedwait() - sleep until the count is zero, or until @deadline.
 * @latch: the latch.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()).
 *
 * An open latch returns WEFT_OK even if @deadline has passed.
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK.
 * Return: WEFT_OK (open), WEFT_ETIMEDOUT, or WEFT_EINVAL for a malformed or
 * NULL @deadline.
 */
WEFT_NODISCARD static inline int weft_latch_timedwait(weft_latch_t *latch, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	if (weft_latch_try_wait(latch))
		return WEFT_OK;
	int rc = weft_latch_wait_slow(latch, deadline);
	if (rc == WEFT_OK)
		WEFT_TSAN_ACQUIRE(latch); /* TSan: as in weft_latch_try_wait() */
	return rc;
}

/**
 * weft_latch_wait_ctx() - sleep until the count is zero, until @deadline, or
 * until @cancel is cancelled.
 * @latch: the latch.
 * @deadline: absolute CLOCK_MONOTONIC time (see weft_deadline_after_ns()), or
 *            NULL for none.
 * @cancel: a cancellation token (weft/cancel.h), or NULL for none.
 *
 * An open latch returns WEFT_OK at once, whatever @deadline and @cancel say:
 * the token is read only when the call would wait, and a token cancelled
 * already then returns WEFT_ECANCELED without sleeping.  A count-down that
 * opens the latch while the waiter is being cancelled (or times out) wins:
 * the waiter takes a last look at the count and reports WEFT_OK if it is
 * zero.  Waiting changes nothing in the latch, so a cancelled waiter leaves
 * nothing behind.  See docs/waiting.md.
 *
 * Context: may block until @deadline or the cancel; not async-signal-safe.
 * Ordering: acquire on WEFT_OK (as weft_latch_wait()); on WEFT_ECANCELED, the
 * acquire of the cancel (weft_cancel()'s release).
 * Return: WEFT_OK (open), WEFT_ETIMEDOUT, WEFT_ECANCELED, or WEFT_EINVAL for a
 * malformed @deadline (nothing is done).
 */
WEFT_NODISCARD static inline int weft_latch_wait_ctx(weft_latch_t *latch, const struct timespec *deadline,
						     weft_cancel_t *cancel)
{
	if (deadline != (const struct timespec *)0 && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	if (weft_latch_try_wait(latch))
		return WEFT_OK;
	int rc = weft_latch_wait_ctx_slow(latch, deadline, cancel);
	if (rc == WEFT_OK)
		WEFT_TSAN_ACQUIRE(latch); /* TSan: as in weft_latch_try_wait() */
	return weft__cancel_acquired(rc, cancel); /* TSan: the cancel's release, seen here */
}

/**
 * weft_latch_destroy() - end the latch's life.
 * @latch: a latch no thread waits on or will use again.
 *
 * Context: any thread.
 */
static inline void weft_latch_destroy(weft_latch_t *latch)
{
	(void)latch;
}

WEFT_EXTERN_C_END

#endif /* WEFT_LATCH_H */
