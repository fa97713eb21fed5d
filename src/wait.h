/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_WAIT_H
#define WEFT_SRC_WAIT_H

/*
 * wait.h - weft's one internal interface for sleeping on a 32-bit word.
 *
 * weft__wait() sleeps while *addr still holds @expected, until woken, until the
 * absolute CLOCK_MONOTONIC @deadline (NULL: no deadline), or spuriously.  It is
 * the futex contract: the check of *addr and the sleep are atomic with respect
 * to weft__wake(), so a waker that changes *addr and then calls weft__wake()
 * cannot be missed.  Callers always re-check their condition in a loop.
 *
 * Two backends, chosen at build time, both run the whole unit suite:
 *  - wait_futex.c (Linux, the default): FUTEX_WAIT_BITSET with an absolute
 *    CLOCK_MONOTONIC deadline, private flavour unless WEFT_PSHARED.
 *  - wait_portable.c (-DWEFT_WAIT_PORTABLE, or any non-Linux system): a table of
 *    buckets, each a pthread mutex and condvar, chosen by hashing the address.
 *    Process-shared words cannot use a per-process table, so for WEFT_PSHARED
 *    the portable backend polls with exponentially growing sleeps (up to 1 ms).
 *
 * weft__requeue() is the futex FUTEX_CMP_REQUEUE operation (futex(2); the
 * condition-variable use is U. Drepper, "Futexes Are Tricky", 2011): wake a few
 * waiters of one word and move the rest, still asleep, onto another word, so
 * that a condition-variable broadcast does not wake every waiter to fight for
 * the mutex.  The portable backend cannot move sleepers between buckets and
 * wakes every waiter of the first word instead (correct, but the herd it avoids
 * on Linux comes back).
 *
 * The three calls are WEFT_NOIPA and begin with WEFT_COMPILER_BARRIER(): they
 * are where a thread waits for, or hands over to, other threads, so no
 * compiler may summarize them (or any blocking path above them) as leaving
 * the caller's globals alone.  See config.h for the gcc behaviour this stops.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "weft/cancel.h"
#include "weft/chaos.h"
#include "weft/config.h"

/* Sleep while *addr == expected.  Return: WEFT_OK (woken, value changed, or
 * spurious) or WEFT_ETIMEDOUT.  flags: 0 or WEFT_PSHARED. */
WEFT_NOIPA int weft__wait(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags);

/* Wake up to @count waiters sleeping on @addr (INT32_MAX: all).  Return:
 * how many it woke, as far as the backend can tell: exact on the futex
 * backend; on the portable one the sleepers of the word's bucket (an upper
 * bound: words share buckets), and 0 for a process-shared word (its waiters
 * poll and are not counted).  0 thus means nobody asleep on @addr was woken,
 * except for the portable backend's pollers.  (The word lock's fair unlock
 * takes back a hand-off that woke nobody: src/wordlock.c.) */
WEFT_NOIPA int weft__wake(const uint32_t *addr, int count, unsigned flags);

/* If *addr still holds @expected, wake up to @nwake waiters sleeping on @addr
 * and move all its other waiters to sleep on @target (they return from their
 * weft__wait() when woken there, or at their deadline).  Both words must have
 * the same flavour (@flags).  Return: WEFT_OK, or WEFT_EBUSY if *addr !=
 * @expected (nothing was done; the caller re-reads and decides).  The portable
 * backend wakes every waiter of @addr instead and returns WEFT_OK. */
WEFT_NOIPA int weft__requeue(const uint32_t *addr, uint32_t expected, int nwake, const uint32_t *target, unsigned flags);

/*
 * weft__wait_napping() - weft__wait() for a sleeper that must outlive a waker
 * killed between its change of the word and its wake-up call.
 *
 * Within one process that cannot happen (a thread is not killed alone), so a
 * private word (@flags without WEFT_PSHARED) sleeps exactly as weft__wait().
 * A process-shared one sleeps in naps of at most WEFT__PSHARED_NAP_NS and
 * returns WEFT__WAIT_NAPPED when a nap ended before @deadline: the caller
 * looks again (and may look for a dead holder).  `make crashtest` found the
 * sleepers this keeps from sleeping for ever (docs/processes.md).  The one
 * home of the nap for the word lock, the rwlock's queue heads and the brlock.
 *
 * Return: WEFT_OK (woken, value changed, or spurious), WEFT__WAIT_NAPPED, or
 * WEFT_ETIMEDOUT (@deadline itself passed).
 */
#define WEFT__PSHARED_NAP_NS 50000000ull /* 50 ms: a dead waker costs a survivor at most this */
#define WEFT__WAIT_NAPPED (-1)           /* not a public status: only weft__wait_napping() returns it */
WEFT_NOIPA int weft__wait_napping(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags);
/* The same with a cancellation token (weft__wait_ctx() below; NULL: none):
 * also WEFT_ECANCELED.  The cancellable condition variable's process-shared
 * sleep (src/cond.c). */
WEFT_NOIPA int weft__wait_napping_ctx(const uint32_t *addr, uint32_t expected, const struct timespec *deadline,
				      unsigned flags, weft_cancel_t *cancel);

/*
 * Cancellable waits (issue 16; the token is include/weft/cancel.h).
 *
 * weft__wait_ctx() is weft__wait() that also returns when @cancel (or an
 * ancestor) is cancelled.  @cancel == NULL is exactly weft__wait() (a test
 * and a tail call, nothing else is read).  With a token, the word comes
 * first, before the sleep and after it: WEFT_OK if *addr != @expected; else
 * WEFT_ECANCELED if the chain is cancelled (before the sleep: at once,
 * without a system call); else sleep on *addr and on the state word of every
 * token of the chain at once.  So WEFT_ECANCELED means "cancelled, and the
 * word still held @expected at the last look"; a word that changes at the
 * same moment wins, and the caller's loop, looking again, either does its
 * operation or calls again and gets WEFT_ECANCELED.  (A caller whose waker
 * can hand it something after that last look must still look before it
 * gives up, as after WEFT_ETIMEDOUT.)  WEFT_ECANCELED is an acquire that
 * pairs with weft_cancel()'s release.
 *
 * weft__wait_any() sleeps until any of @n words differs from its expected
 * value (or spuriously), @deadline, or @cancel (NULL: none): the same returns
 * in the same order (a changed word wins: WEFT_OK at once if one differs
 * already), and WEFT_EINVAL for words == NULL, n == 0 or n >
 * WEFT__WAIT_ANY_MAX.  Each word has its own flavour (0 or WEFT_PSHARED).
 *
 * How (src/wait_futex.c, src/wait.c):
 *  - Linux >= 5.16: one futex_waitv() on the object word(s) and the chain's
 *    state words (at most 64 + WEFT_CANCEL_MAX_CHAIN = 80 of futex_waitv's
 *    128), with the absolute CLOCK_MONOTONIC deadline; weft_cancel() is one
 *    FUTEX_WAKE of the token's word.  A chain holding a WEFT_PSHARED token
 *    sleeps in naps of WEFT__PSHARED_NAP_NS (50 ms) and looks again: a
 *    canceller killed between its bit and its wake-up costs a sleeper at most
 *    that (docs/processes.md, rule 1).
 *  - No futex_waitv (ENOSYS/EPERM: older kernels, seccomp; the portable
 *    backend; or WEFT_NO_FUTEX_WAITV=1 in the environment, read once), a
 *    private chain: the waiter registers a node (on its stack) in a
 *    per-process registry before its last check of the token, and
 *    weft_cancel() wakes the word of every registered waiter of the chain
 *    again and again until that waiter reports it has left its sleep.  The
 *    lost-wake-up argument is at weft__cancel_registry_wake() in wait.c.
 *  - No futex_waitv, a chain holding a WEFT_PSHARED token (another process
 *    may cancel it, and its registry is not ours), or a WEFT_PSHARED word on
 *    the portable backend (which polls it: no wake-up reaches it): sleep in
 *    naps of WEFT__CANCEL_NAP_NS and look at the chain after each: a cancel
 *    takes up to that long to be seen.
 *  - weft__wait_any() without futex_waitv: naps too (growing from 16 us to
 *    WEFT__CANCEL_NAP_NS) asleep on the first word, looking at every word and
 *    the chain after each: a change of the first word or a cancel is seen at
 *    once, a change of another word within a nap.
 */
#define WEFT__CANCEL_NAP_NS 1000000ull /* 1 ms: the fallback's cancel latency for process-shared chains */

WEFT_NOIPA int weft__wait_ctx(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags,
			      weft_cancel_t *cancel);

struct weft__wait_word {
	const uint32_t *addr; /* the word */
	uint32_t expected;    /* sleep while *addr == expected */
	unsigned flags;       /* 0 or WEFT_PSHARED */
};
#define WEFT__WAIT_ANY_MAX 64

WEFT_NOIPA int weft__wait_any(const struct weft__wait_word *words, unsigned n, const struct timespec *deadline,
			      weft_cancel_t *cancel);

/* weft_cancel()'s wake-up, after it set the cancelled bit of @tok: wakes the
 * futex_waitv sleepers of @tok's word and the registered fallback waiters of
 * every chain holding @tok.  (src/wait.c) */
WEFT_NOIPA void weft__cancel_wake(const weft_cancel_t *tok);

/* Tests: whether cancellable waits use futex_waitv (false on the portable
 * backend, on a kernel without it, or under WEFT_NO_FUTEX_WAITV=1), and a
 * switch to force the fallback (on = false) or allow futex_waitv again. */
bool weft__wait_uses_waitv(void);
void weft__wait_set_waitv(bool on);

/* The status of a cancellable wait that looks at @words and @cancel, after a
 * sleep that ended with @rc (or before one: @rc = WEFT__WAIT_WOULD_SLEEP):
 * WEFT_OK if a word differs, else WEFT_ECANCELED if the chain is cancelled,
 * else @rc.  The one home of that order, for both backends (wait.c). */
#define WEFT__WAIT_WOULD_SLEEP (-2) /* not a public status */
int weft__wait_outcome(const struct weft__wait_word *words, unsigned n, int rc, const weft_cancel_t *cancel);

/* Whether weft__wake() leaves process-shared sleepers alone: the portable
 * backend's process-shared waits poll their word and nothing wakes them. */
#if defined(__linux__) && !defined(WEFT_WAIT_PORTABLE)
#define WEFT__WAIT_PSHARED_POLLS 0
#else
#define WEFT__WAIT_PSHARED_POLLS 1
#endif

/* Whether any token of @tok's chain is WEFT_PSHARED (NULL: false).  Such a
 * chain may be cancelled by a process that dies between setting the bit and
 * its wake-up call, so its sleepers nap (WEFT__PSHARED_NAP_NS on the
 * futex_waitv path, WEFT__CANCEL_NAP_NS on the fallback; docs/processes.md). */
bool weft__cancel_chain_pshared(const weft_cancel_t *tok);

/* The earlier of @deadline (NULL: none) and @ns from now (kept in *out). */
const struct timespec *weft__wait_nap_until(const struct timespec *deadline, uint64_t ns, struct timespec *out);

/* weft__wait_ctx() for at most @nap_ns: the one nap of the wait layer's
 * callers (the process-shared napping sleep, the word lock's hand-off sleep,
 * the robust mutex, the rwlock's bias revocation, the cancel fallback).
 * Return: as weft__wait_ctx(), and WEFT__WAIT_NAPPED when the nap ended
 * before @deadline (WEFT_ETIMEDOUT only when @deadline itself passed). */
WEFT_NOIPA int weft__wait_nap(const uint32_t *addr, uint32_t expected, const struct timespec *deadline,
			      uint64_t nap_ns, unsigned flags, weft_cancel_t *cancel);

/* The generic fallback of weft__wait_ctx() and weft__wait_any() (wait.c),
 * over the backend's weft__wait(); the backends call them after their own
 * weft__wait_outcome() found that they would sleep. */
int weft__wait_ctx_fallback(const uint32_t *addr, uint32_t expected, const struct timespec *deadline,
			    unsigned flags, const weft_cancel_t *cancel);
int weft__wait_any_fallback(const struct weft__wait_word *words, unsigned n, const struct timespec *deadline,
			    const weft_cancel_t *cancel);

/* The name of the backend compiled in: "futex" or "portable". */
const char *weft__wait_backend(void);

#endif /* WEFT_SRC_WAIT_H */
