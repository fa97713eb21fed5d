/* SPDX-License-Identifier: MIT */
#ifndef WEFT_DEADLINE_H
#define WEFT_DEADLINE_H

/*
 * deadline.h - absolute CLOCK_MONOTONIC deadlines for every timed weft call.
 *
 * Timed calls take an absolute deadline (not a relative timeout) so that a call
 * that is woken spuriously, or retries, never extends its total wait.  The clock
 * is CLOCK_MONOTONIC: setting the wall clock does not move a deadline.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

WEFT_EXTERN_C_BEGIN

/**
 * weft_deadline_after_ns() - the CLOCK_MONOTONIC instant @ns nanoseconds from now.
 * @ns: how far ahead; saturates instead of overflowing.
 *
 * Context: any thread; does not block.
 * Return: the deadline, to pass to a timed call.
 */
struct timespec weft_deadline_after_ns(uint64_t ns);

/**
 * weft_deadline_valid() - whether @ts is a well-formed deadline.
 * @ts: the deadline; NULL is not valid.
 *
 * A deadline is well formed when tv_sec >= 0 and 0 <= tv_nsec < 1e9.  Timed
 * calls return WEFT_EINVAL for anything else.
 *
 * Return: true if @ts may be passed to a timed call.
 */
static inline bool weft_deadline_valid(const struct timespec *ts)
{
	return ts != NULL && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/* Internal: whether deadline @a comes no later than deadline @b (both valid).
 * The one comparison of two timespecs in weft. */
static inline bool weft__deadline_not_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/**
 * weft_deadline_passed() - whether the CLOCK_MONOTONIC clock has reached @ts.
 * @ts: a valid deadline.
 *
 * Return: true once now >= @ts.
 */
bool weft_deadline_passed(const struct timespec *ts);

WEFT_EXTERN_C_END

#endif /* WEFT_DEADLINE_H */
