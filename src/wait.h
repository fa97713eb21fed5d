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

#include <stdint.h>
#include <time.h>

#include "weft/chaos.h"
#include "weft/config.h"

/* Sleep while *addr == expected.  Return: WEFT_OK (woken, value changed, or
 * spurious) or WEFT_ETIMEDOUT.  flags: 0 or WEFT_PSHARED. */
WEFT_NOIPA int weft__wait(const uint32_t *addr, uint32_t expected, const struct timespec *deadline, unsigned flags);

/* Wake up to @count waiters sleeping on @addr (INT32_MAX: all). */
WEFT_NOIPA void weft__wake(const uint32_t *addr, int count, unsigned flags);

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

/* The name of the backend compiled in: "futex" or "portable". */
const char *weft__wait_backend(void);

#endif /* WEFT_SRC_WAIT_H */
