/* SPDX-License-Identifier: MIT */
/*
 * wordlock.c - the waiting paths of the three-state futex word lock.  The
 * algorithm, its states, its transitions and its ordering are at the top of
 * src/wordlock.h.
 */
#include "wordlock.h"

#include "backoff.h"
#include "wait.h"
#include "weft/deadline.h"
#include "weft/status.h"

/*
 * Watch the word for up to @budget pause instructions; take it (as @taken:
 * LOCKED, or CONTENDED for a requeued thread) if it comes free.  The watcher
 * backs off exponentially between checks (src/backoff.h): every check pulls the
 * lock's cache line away from the holder, so a watcher that looks less often
 * lets the holder run its critical sections at full speed.  This is the one
 * spin loop of every word lock.
 */
static bool spin_acquire(uint32_t *word, uint32_t tag, uint32_t taken, unsigned budget)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	do {
		/* relaxed: only a hint; the CAS is the acquire */
		uint32_t state = weft_atomic_load(word, WEFT_RELAXED);
		uint32_t expected = tag | WEFT__WORD_UNLOCKED;
		/* acquire: pairs with the release exchange of the unlock */
		if ((state & WEFT__WORD_STATE_MASK) == WEFT__WORD_UNLOCKED &&
		    weft_atomic_cas(word, &expected, tag | taken, WEFT_ACQUIRE, WEFT_RELAXED))
			return true;
	} while (weft__backoff_spin(&backoff, budget));
	return false;
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
		int rc = weft__wait(word, tag | WEFT__WORD_CONTENDED, deadline, wflags);
		/* A wake-up may race with the timeout: one last exchange decides. */
		if (rc == WEFT_ETIMEDOUT)
			return mark_contended(word, tag) ? WEFT_OK : WEFT_ETIMEDOUT;
	}
	return WEFT_OK;
}

int weft__wordlock_lock(uint32_t *word, uint32_t tag, unsigned spin, const struct timespec *deadline,
			unsigned wflags)
{
	if (weft__wordlock_trylock(word, tag))
		return WEFT_OK;
	if (deadline != NULL && weft_deadline_passed(deadline))
		return WEFT_ETIMEDOUT;
	if (spin_acquire(word, tag, WEFT__WORD_LOCKED, spin))
		return WEFT_OK;
	return park(word, tag, deadline, wflags);
}

void weft__wordlock_lock_contended(uint32_t *word, uint32_t tag, unsigned spin, unsigned wflags)
{
	if (!spin_acquire(word, tag, WEFT__WORD_CONTENDED, spin))
		(void)park(word, tag, NULL, wflags);
}

void weft__wordlock_wake(uint32_t *word, unsigned wflags)
{
	weft__wake(word, 1, wflags);
}
