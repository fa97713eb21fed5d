/* SPDX-License-Identifier: MIT */
/*
 * wait.c - the backend-independent part of the wait layer (src/wait.h): the
 * napping sleep of process-shared words, over whichever backend was built.
 */
#include "wait.h"

#include <stdbool.h>

#include "weft/deadline.h"
#include "weft/status.h"

/* Whether @a is no later than @b. */
static bool ts_not_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

WEFT_NOIPA int weft__wait_napping(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags)
{
	if (!(flags & WEFT_PSHARED))
		return weft__wait(addr, expected, deadline, flags);
	struct timespec nap = weft_deadline_after_ns(WEFT__PSHARED_NAP_NS);
	if (deadline != NULL && ts_not_after(deadline, &nap))
		return weft__wait(addr, expected, deadline, flags); /* the deadline comes first: no nap */
	int rc = weft__wait(addr, expected, &nap, flags);
	return rc == WEFT_ETIMEDOUT ? WEFT__WAIT_NAPPED : rc;
}
