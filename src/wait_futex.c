/* SPDX-License-Identifier: MIT */
/*
 * wait_futex.c - the Linux futex backend of the wait layer (see wait.h).
 *
 * FUTEX_WAIT_BITSET takes an absolute timeout measured on CLOCK_MONOTONIC
 * (FUTEX_CLOCK_REALTIME is not set), which is exactly weft's deadline contract,
 * so no relative-time arithmetic can stretch a wait.  FUTEX_PRIVATE_FLAG lets the
 * kernel key the futex by (mm, address) without taking the page lock; it is left
 * off for WEFT_PSHARED objects, whose waiters live in other processes.
 *
 * Reference: H. Franke, R. Russell, M. Kirkwood, "Fuss, Futexes and Furwocks:
 * Fast Userlevel Locking in Linux", Ottawa Linux Symposium 2002; futex(2).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(), sched_yield() under -std=c11 */
#endif
#include "wait.h"

#if defined(__linux__) && !defined(WEFT_WAIT_PORTABLE)

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "keep_errno.h"
#include "weft/status.h"

static int futex_op(unsigned flags, int op)
{
	return (flags & WEFT_PSHARED) ? op : (op | FUTEX_PRIVATE_FLAG);
}

WEFT_NOIPA int weft__wait(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags)
{
	WEFT_COMPILER_BARRIER(); /* a blocking call is a compiler barrier: see config.h */
	WEFT__CHAOS_POINT(); /* the caller's check of the word and this call can be split */
	int saved_errno = weft__errno_save();
	long rc = syscall(SYS_futex, addr, futex_op(flags, FUTEX_WAIT_BITSET), expected, deadline, NULL,
			  FUTEX_BITSET_MATCH_ANY);
	int status = WEFT_OK;
	/* EAGAIN: *addr != expected already; EINTR: a signal; both are "re-check". */
	if (rc == -1 && errno == ETIMEDOUT)
		status = WEFT_ETIMEDOUT;
	weft__errno_restore(saved_errno);
	return status;
}

WEFT_NOIPA void weft__wake(const uint32_t *addr, int count, unsigned flags)
{
	WEFT_COMPILER_BARRIER(); /* see config.h */
	WEFT__CHAOS_POINT(); /* the caller's change of the word and this wake-up can be split */
	int saved_errno = weft__errno_save();
	(void)syscall(SYS_futex, addr, futex_op(flags, FUTEX_WAKE), count, NULL, NULL, 0);
	weft__errno_restore(saved_errno);
}

WEFT_NOIPA int weft__requeue(const uint32_t *addr, uint32_t expected, int nwake, const uint32_t *target, unsigned flags)
{
	WEFT_COMPILER_BARRIER(); /* see config.h */
	WEFT__CHAOS_POINT(); /* the caller's read of the word and this requeue can be split */
	int saved_errno = weft__errno_save();
	/* FUTEX_CMP_REQUEUE: the kernel compares *addr with @expected under the
	 * futex hash-bucket lock, wakes @nwake waiters and moves up to INT32_MAX
	 * (the "timeout" slot, read as an integer) onto @target. */
	long rc = syscall(SYS_futex, addr, futex_op(flags, FUTEX_CMP_REQUEUE), nwake, (void *)(uintptr_t)INT32_MAX,
			  target, expected);
	int status = WEFT_OK;
	if (rc == -1 && errno == EAGAIN)
		status = WEFT_EBUSY;
	else if (rc == -1) /* unexpected (e.g. no requeue support): fall back to waking all */
		(void)syscall(SYS_futex, addr, futex_op(flags, FUTEX_WAKE), INT32_MAX, NULL, NULL, 0);
	weft__errno_restore(saved_errno);
	return status;
}

const char *weft__wait_backend(void)
{
	return "futex";
}

#else
/* ISO C forbids an empty translation unit. */
typedef int weft__wait_futex_unused;
#endif
