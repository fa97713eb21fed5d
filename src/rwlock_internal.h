/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_RWLOCK_INTERNAL_H
#define WEFT_SRC_RWLOCK_INTERNAL_H

/*
 * rwlock_internal.h - what src/rwlock.c, src/rwlock_bias.c and src/brlock.c
 * share: the spin budget of weft_rwlock_set_spin(), and the three-state futex
 * word lock of the rwlock's queue and the brlock's writers.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "backoff.h"
#include "wait.h"
#include "weft/atomic.h"
#include "weft/status.h"

/* The spin budget of every rwlock and brlock waiter (weft_rwlock_set_spin()). */
unsigned weft__rwlock_spin_budget(void);

/*
 * Drepper's mutex #3 on a bare word: 0 free, 1 held, 2 held and maybe slept
 * on.  Spin (backoff) for a free word, then swap in 2 and sleep while the swap
 * did not return 0.  Return: WEFT_OK, or WEFT_ETIMEDOUT at @deadline.  On a
 * timeout the word may be left at 2: the next unlock then makes one wake call
 * that finds nobody.
 */
static inline int weft__rwl_word_lock(uint32_t *word, const struct timespec *deadline, unsigned wflags)
{
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	unsigned budget = weft__rwlock_spin_budget();
	do {
		uint32_t expected = 0;
		/* relaxed load: a hint.  acquire CAS: pairs with the release
		 * exchange in weft__rwl_word_unlock() */
		if (weft_atomic_load(word, WEFT_RELAXED) == 0 &&
		    weft_atomic_cas(word, &expected, 1u, WEFT_ACQUIRE, WEFT_RELAXED))
			return WEFT_OK;
	} while (weft__backoff_spin(&backoff, budget));
	/* acquire: as above; we own the word iff it was 0 */
	while (weft_atomic_exchange(word, 2u, WEFT_ACQUIRE) != 0) {
		if (weft__wait(word, 2u, deadline, wflags) == WEFT_ETIMEDOUT)
			return weft_atomic_exchange(word, 2u, WEFT_ACQUIRE) == 0 ? WEFT_OK : WEFT_ETIMEDOUT;
	}
	return WEFT_OK;
}

static inline bool weft__rwl_word_trylock(uint32_t *word)
{
	uint32_t expected = 0;
	/* acquire: pairs with the release exchange in weft__rwl_word_unlock() */
	return weft_atomic_cas(word, &expected, 1u, WEFT_ACQUIRE, WEFT_RELAXED);
}

static inline void weft__rwl_word_unlock(uint32_t *word, unsigned wflags)
{
	/* release: publishes what the holder did; pairs with the acquire CAS or
	 * exchange of weft__rwl_word_lock() */
	if (weft_atomic_exchange(word, 0u, WEFT_RELEASE) == 2u)
		weft__wake(word, 1, wflags);
}

#endif /* WEFT_SRC_RWLOCK_INTERNAL_H */
