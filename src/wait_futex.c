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
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "keep_errno.h"
#include "weft/atomic.h"
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

WEFT_NOIPA int weft__wake(const uint32_t *addr, int count, unsigned flags)
{
	WEFT_COMPILER_BARRIER(); /* see config.h */
	WEFT__CHAOS_POINT(); /* the caller's change of the word and this wake-up can be split */
	int saved_errno = weft__errno_save();
	/* FUTEX_WAKE returns the number of waiters woken (futex_waitv sleepers
	 * on the word included) */
	long woken = syscall(SYS_futex, addr, futex_op(flags, FUTEX_WAKE), count, NULL, NULL, 0);
	weft__errno_restore(saved_errno);
	return woken > 0 ? (int)woken : 0;
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

/* ---- cancellable waits: futex_waitv (wait.h) ----------------------------- */

/*
 * futex_waitv(2) (Linux 5.16, A. Almeida, "futex2"): sleep on up to 128 words
 * at once until any is woken or differs from its value, with an absolute
 * timeout on the clock named.  The entry layout is the kernel ABI, spelled
 * here so that older headers build; 449 is its number on every architecture
 * (the generic table, x86-64 and aarch64 alike).
 */
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
struct waitv_entry {
	uint64_t val;      /* sleep while the word holds this */
	uint64_t uaddr;    /* the word's address */
	uint32_t flags;    /* WAITV_U32, | WAITV_PRIVATE for a process-private word */
	uint32_t reserved; /* 0 */
};
#define WAITV_U32 0x02u      /* FUTEX2_SIZE_U32 (FUTEX_32) */
#define WAITV_PRIVATE 0x80u  /* FUTEX2_PRIVATE (FUTEX_PRIVATE_FLAG) */
#define WAITV_MAX (WEFT__WAIT_ANY_MAX + WEFT_CANCEL_MAX_CHAIN)
WEFT_STATIC_ASSERT(WAITV_MAX <= 128, "futex_waitv takes 128 words at most");
WEFT_STATIC_ASSERT(sizeof(struct waitv_entry) == 24, "struct futex_waitv is 24 bytes");

/* Whether futex_waitv is used: unknown until the first cancellable wait reads
 * WEFT_NO_FUTEX_WAITV; off for good once the kernel says ENOSYS or EPERM. */
enum { WAITV_UNKNOWN = 0, WAITV_ON = 1, WAITV_OFF = 2 };
static int waitv_state; /* relaxed: a hint; every value leads to a correct wait */

static bool waitv_usable(void)
{
	int st = weft_atomic_load(&waitv_state, WEFT_RELAXED);
	if (WEFT_UNLIKELY(st == WAITV_UNKNOWN)) {
		const char *env = getenv("WEFT_NO_FUTEX_WAITV");
		st = (env != NULL && env[0] != '\0' && env[0] != '0') ? WAITV_OFF : WAITV_ON;
		weft_atomic_store(&waitv_state, st, WEFT_RELAXED);
	}
	return st == WAITV_ON;
}

bool weft__wait_uses_waitv(void)
{
	return waitv_usable();
}

void weft__wait_set_waitv(bool on)
{
	weft_atomic_store(&waitv_state, on ? WAITV_ON : WAITV_OFF, WEFT_RELAXED);
}

static void waitv_word(struct waitv_entry *e, const uint32_t *addr, uint32_t val, unsigned flags)
{
	e->val = val;
	e->uaddr = (uint64_t)(uintptr_t)addr;
	e->flags = WAITV_U32 | ((flags & WEFT_PSHARED) ? 0 : WAITV_PRIVATE);
	e->reserved = 0;
}

/* Append the chain's state words to @v (from @n); return the new count. */
static unsigned waitv_chain(struct waitv_entry *v, unsigned n, const weft_cancel_t *tok)
{
	for (int i = 0; tok != NULL && i < WEFT_CANCEL_MAX_CHAIN; i++, tok = weft__cancel_parent(tok))
		/* 0: the caller found the chain uncancelled; a cancel since then
		 * makes the kernel's compare fail (EAGAIN) */
		waitv_word(&v[n++], &tok->state, 0,
			   (tok->info & WEFT__CANCEL_PSHARED) ? WEFT_PSHARED : 0);
	return n;
}

/* One futex_waitv() over @v.  Return: WEFT_OK (woken, a word differs, or a
 * signal), WEFT_ETIMEDOUT, or -1 if futex_waitv cannot be used (the caller
 * takes the fallback). */
static int waitv_sleep(struct waitv_entry *v, unsigned n, const struct timespec *deadline)
{
	long rc = syscall(SYS_futex_waitv, v, n, 0, deadline, CLOCK_MONOTONIC);
	if (rc >= 0 || errno == EAGAIN || errno == EINTR)
		return WEFT_OK;
	if (errno == ETIMEDOUT)
		return WEFT_ETIMEDOUT;
	if (errno == ENOSYS || errno == EPERM)
		weft__wait_set_waitv(false); /* kernel < 5.16, or a seccomp filter: for good */
	return -1; /* or unexpected (EFAULT, EINVAL): the fallback will say */
}

/*
 * Sleep with futex_waitv over @v (@nv entries: @words, then the chain of
 * @cancel) until a word changes, a cancel, or @deadline.  A chain holding a
 * process-shared token naps WEFT__PSHARED_NAP_NS at most and looks again (a
 * canceller killed after its bit and before its wake-up wakes nobody).
 * Return: weft__wait_outcome()'s status, or -1 if futex_waitv cannot be used.
 */
static int waitv_wait(struct waitv_entry *v, unsigned nv, const struct weft__wait_word *words, unsigned n,
		      const struct timespec *deadline, const weft_cancel_t *cancel)
{
	bool nap = weft__cancel_chain_pshared(cancel);
	int status;
	do {
		struct timespec nap_end;
		const struct timespec *until =
			nap ? weft__wait_nap_until(deadline, WEFT__PSHARED_NAP_NS, &nap_end) : deadline;
		status = waitv_sleep(v, nv, until);
		if (status == -1)
			return -1;
		if (status == WEFT_ETIMEDOUT && until != deadline)
			status = WEFT__WAIT_WOULD_SLEEP; /* only a nap ended */
		status = weft__wait_outcome(words, n, status, cancel);
	} while (status == WEFT__WAIT_WOULD_SLEEP);
	return status;
}

/* weft__wait_ctx() with a token: out of line, so that the NULL token's path
 * is a test and a tail call (no frame for the waitv array). */
static WEFT_NOINLINE int wait_ctx_token(const uint32_t *addr, uint32_t expected, const struct timespec *deadline,
					unsigned flags, weft_cancel_t *cancel)
{
	WEFT_COMPILER_BARRIER(); /* a blocking call is a compiler barrier: see config.h */
	WEFT__CHAOS_POINT(); /* the caller's check of the word and this call can be split */
	const struct weft__wait_word word = {addr, expected, flags};
	int status = weft__wait_outcome(&word, 1, WEFT__WAIT_WOULD_SLEEP, cancel);
	if (status != WEFT__WAIT_WOULD_SLEEP)
		return status; /* the word changed, or cancelled: no system call */
	int saved_errno = weft__errno_save();
	status = -1;
	if (waitv_usable()) {
		struct waitv_entry v[1 + WEFT_CANCEL_MAX_CHAIN];
		waitv_word(&v[0], addr, expected, flags);
		status = waitv_wait(v, waitv_chain(v, 1, cancel), &word, 1, deadline, cancel);
	}
	if (status == -1)
		status = weft__wait_ctx_fallback(addr, expected, deadline, flags, cancel);
	weft__errno_restore(saved_errno);
	return status;
}

WEFT_NOIPA int weft__wait_ctx(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags,
			      weft_cancel_t *cancel)
{
	if (cancel == NULL)
		return weft__wait(addr, expected, deadline, flags); /* exactly today's wait */
	return wait_ctx_token(addr, expected, deadline, flags, cancel);
}

WEFT_NOIPA int weft__wait_any(const struct weft__wait_word *words, unsigned n, const struct timespec *deadline,
			      weft_cancel_t *cancel)
{
	WEFT_COMPILER_BARRIER(); /* a blocking call is a compiler barrier: see config.h */
	WEFT__CHAOS_POINT(); /* the caller's check of the words and this call can be split */
	if (words == NULL || n == 0 || n > WEFT__WAIT_ANY_MAX)
		return WEFT_EINVAL;
	int status = weft__wait_outcome(words, n, WEFT__WAIT_WOULD_SLEEP, cancel);
	if (status != WEFT__WAIT_WOULD_SLEEP)
		return status; /* a word changed, or cancelled: no system call */
	int saved_errno = weft__errno_save();
	status = -1;
	if (waitv_usable()) {
		struct waitv_entry v[WAITV_MAX];
		for (unsigned i = 0; i < n; i++)
			waitv_word(&v[i], words[i].addr, words[i].expected, words[i].flags);
		status = waitv_wait(v, waitv_chain(v, n, cancel), words, n, deadline, cancel);
	}
	if (status == -1)
		status = weft__wait_any_fallback(words, n, deadline, cancel);
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
