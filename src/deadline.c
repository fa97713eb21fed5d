/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime() under -std=c11 */
#endif
#include <errno.h>
#include <time.h>

#include "weft/deadline.h"

#define WEFT__NSEC_PER_SEC 1000000000ull

static struct timespec now_monotonic(void)
{
	struct timespec ts;
	int saved_errno = errno;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for CLOCK_MONOTONIC on Linux */
	errno = saved_errno;
	return ts;
}

struct timespec weft_deadline_after_ns(uint64_t ns)
{
	struct timespec ts = now_monotonic();
	const time_t max_sec = (time_t)((~(uint64_t)0 >> 1) >> (64 - 8 * sizeof(time_t)));
	uint64_t add_sec = ns / WEFT__NSEC_PER_SEC;
	long nsec = ts.tv_nsec + (long)(ns % WEFT__NSEC_PER_SEC);
	if (nsec >= (long)WEFT__NSEC_PER_SEC) {
		nsec -= (long)WEFT__NSEC_PER_SEC;
		add_sec++;
	}
	if (add_sec > (uint64_t)(max_sec - ts.tv_sec)) { /* saturate: "forever" */
		ts.tv_sec = max_sec;
		ts.tv_nsec = (long)WEFT__NSEC_PER_SEC - 1;
		return ts;
	}
	ts.tv_sec += (time_t)add_sec;
	ts.tv_nsec = nsec;
	return ts;
}

bool weft_deadline_passed(const struct timespec *ts)
{
	struct timespec now = now_monotonic();
	return weft__deadline_not_after(ts, &now);
}
