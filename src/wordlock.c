/* SPDX-License-Identifier: MIT */
/*
 * wordlock.c - the waiting paths of the three-state futex word lock.  The
 * algorithm, its states, its transitions and its ordering are at the top of
 * src/wordlock.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* kill() under -std=c11 */
#endif
#include "wordlock.h"

#include <errno.h>
#include <signal.h>
#include <sys/types.h>

#include "wait.h"
#include "weft/debug.h"
#include "weft/deadline.h"
#include "weft/status.h"

/*
 * Watch the word as the spin preset @spin says (src/spinwait.c: the mutex's or
 * the rwlock's budget) and until @deadline; take it (as @tag | @taken: LOCKED,
 * or CONTENDED for a requeued thread; an owned word's holder id and LOCKED)
 * if it comes free.  Return: WEFT_OK (taken), WEFT_EBUSY (park now) or
 * WEFT_ETIMEDOUT.  The watcher backs off exponentially between checks (up to
 * 64 pauses): every check pulls the lock's cache line away from the holder,
 * so a watcher that looks less often lets the holder run its critical
 * sections at full speed.  This is the one spin loop of every word lock.
 */
static int spin_acquire(uint32_t *word, uint32_t tag, uint32_t taken, enum weft__spin_use spin,
			const struct timespec *deadline)
{
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, spin, deadline);
	int rc;
	do {
		/* relaxed: only a hint; the CAS is the acquire */
		uint32_t state = weft_atomic_load(word, WEFT_RELAXED);
		uint32_t expected = tag | WEFT__WORD_UNLOCKED;
		/* acquire: pairs with the release exchange of the unlock */
		if ((state & WEFT__WORD_STATE_MASK) == WEFT__WORD_UNLOCKED &&
		    weft_atomic_cas(word, &expected, tag | taken, WEFT_ACQUIRE, WEFT_RELAXED))
			return WEFT_OK;
	} while ((rc = weft__spinwait_step(&sw)) == WEFT_OK);
	return rc;
}

/* any -> CONTENDED: we own the lock iff it was UNLOCKED.  acquire: pairs with
 * the release exchange of the unlock. */
static bool mark_contended(uint32_t *word, uint32_t tag)
{
	uint32_t old = weft_atomic_exchange(word, tag | WEFT__WORD_CONTENDED, WEFT_ACQUIRE);
	return (old & WEFT__WORD_STATE_MASK) == WEFT__WORD_UNLOCKED;
}

/* Sleep on the word while it says CONTENDED, until we own it or @deadline. */
static int park(uint32_t *word, uint32_t tag, const struct timespec *deadline, unsigned wflags)
{
	while (!mark_contended(word, tag)) {
		/* Process-shared: in naps, since an unlock is an exchange to
		 * UNLOCKED and then a wake-up call, and a process killed between
		 * the two would leave us asleep on a free word (wait.h). */
		int rc = weft__wait_napping(word, tag | WEFT__WORD_CONTENDED, deadline, wflags);
		/* A wake-up may race with the timeout: one last exchange decides. */
		if (rc == WEFT_ETIMEDOUT)
			return mark_contended(word, tag) ? WEFT_OK : WEFT_ETIMEDOUT;
	}
	return WEFT_OK;
}

int weft__wordlock_lock(uint32_t *word, uint32_t tag, enum weft__spin_use spin, const struct timespec *deadline,
			unsigned wflags)
{
	/* the spin looks at the word first, and at @deadline before its first pause */
	int rc = spin_acquire(word, tag, WEFT__WORD_LOCKED, spin, deadline);
	return rc == WEFT_EBUSY ? park(word, tag, deadline, wflags) : rc;
}

void weft__wordlock_lock_contended(uint32_t *word, uint32_t tag, enum weft__spin_use spin, unsigned wflags)
{
	if (spin_acquire(word, tag, WEFT__WORD_CONTENDED, spin, NULL) != WEFT_OK)
		(void)park(word, tag, NULL, wflags);
}

void weft__wordlock_wake(uint32_t *word, unsigned wflags)
{
	weft__wake(word, 1, wflags);
}

/* ---- the owned word lock (see wordlock.h) --------------------------------- */

/* Whether kernel thread (or process) @id no longer exists. */
static bool holder_gone(uint32_t id)
{
	if (id == WEFT__WORDLOCK_SEALED)
		return false;
	int saved_errno = errno;
	bool gone = kill((pid_t)id, 0) != 0 && errno == ESRCH;
	errno = saved_errno;
	return gone;
}

int weft__wordlock_lock_owned(uint32_t *word, enum weft__spin_use spin, const struct timespec *deadline, bool *stolen)
{
	const uint32_t me = weft_debug_self() << 2;
	*stolen = false;
	uint32_t v = 0;
	/* acquire: pairs with the release exchange of weft__wordlock_unlock_owned() */
	if (weft_atomic_cas(word, &v, me | WEFT__WORD_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED))
		return WEFT_OK;
	/* An owned word is free only as 0 (its unlock stores 0), so the word
	 * lock's spin with tag 0 takes it as me | LOCKED. */
	int rc = spin_acquire(word, 0u, me | WEFT__WORD_LOCKED, spin, deadline);
	if (rc != WEFT_EBUSY)
		return rc;
	for (;;) {
		v = weft_atomic_load(word, WEFT_RELAXED); /* relaxed: the CASes below decide */
		if (v == 0) {
			/* CONTENDED: we slept, others may sleep (see the overview).
			 * acquire: as above */
			if (weft_atomic_cas(word, &v, me | WEFT__WORD_CONTENDED, WEFT_ACQUIRE, WEFT_RELAXED))
				return WEFT_OK;
			continue;
		}
		uint32_t want = (v & ~WEFT__WORD_STATE_MASK) | WEFT__WORD_CONTENDED;
		/* relaxed: only tells the holder to wake someone */
		if (v != want && !weft_atomic_cas(word, &v, want, WEFT_RELAXED, WEFT_RELAXED))
			continue;
		int wrc = weft__wait_napping(word, want, deadline, WEFT_PSHARED);
		if (wrc == WEFT_OK)
			continue;
		if (wrc == WEFT_ETIMEDOUT) {
			/* the caller's deadline: one last look */
			v = 0;
			return weft_atomic_cas(word, &v, me | WEFT__WORD_CONTENDED, WEFT_ACQUIRE, WEFT_RELAXED)
				       ? WEFT_OK
				       : WEFT_ETIMEDOUT;
		}
		/* A nap ended with no wake-up: is the holder still there?  acquire
		 * on the take-over: we read what the dead holder wrote */
		v = weft_atomic_load(word, WEFT_RELAXED);
		if (v == want && holder_gone(v >> 2) &&
		    weft_atomic_cas(word, &v, me | WEFT__WORD_CONTENDED, WEFT_ACQUIRE, WEFT_RELAXED)) {
			*stolen = true;
			return WEFT_OK;
		}
	}
}

void weft__wordlock_unlock_owned(uint32_t *word)
{
	/* release: publishes what the holder did; pairs with the acquire CAS of
	 * the next holder */
	uint32_t old = weft_atomic_exchange(word, 0u, WEFT_RELEASE);
	if ((old & WEFT__WORD_STATE_MASK) == WEFT__WORD_CONTENDED)
		weft__wake(word, 1, WEFT_PSHARED);
}

bool weft__wordlock_take_from_dead(uint32_t *word)
{
	/* relaxed: the CAS below decides */
	uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
	if (v == 0 || !holder_gone(v >> 2))
		return false;
	/* acquire: we read what the dead holder wrote */
	return weft_atomic_cas(word, &v, (weft_debug_self() << 2) | (v & WEFT__WORD_STATE_MASK), WEFT_ACQUIRE,
			       WEFT_RELAXED);
}

void weft__wordlock_owned_seal(uint32_t *word, bool sealed)
{
	uint32_t id = sealed ? WEFT__WORDLOCK_SEALED : weft_debug_self();
	/* relaxed: only the holder changes the id bits; waiters only add
	 * CONTENDED, which the CAS keeps */
	uint32_t v = weft_atomic_load(word, WEFT_RELAXED);
	while (!weft_atomic_cas_weak(word, &v, (id << 2) | (v & WEFT__WORD_STATE_MASK), WEFT_RELAXED, WEFT_RELAXED))
		;
}

bool weft__wordlock_trylock_owned(uint32_t *word, bool *stolen)
{
	*stolen = false;
	uint32_t v = 0;
	/* acquire: pairs with the release exchange of weft__wordlock_unlock_owned() */
	if (weft_atomic_cas(word, &v, (weft_debug_self() << 2) | WEFT__WORD_LOCKED, WEFT_ACQUIRE, WEFT_RELAXED))
		return true;
	*stolen = weft__wordlock_take_from_dead(word);
	return *stolen;
}
