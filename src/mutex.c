/* SPDX-License-Identifier: MIT */
/*
 * mutex.c - the contended paths of weft_mutex_t.  The algorithm, its states and
 * its source are described at the top of include/weft/mutex.h.
 *
 * Transitions made here, as (old state -> new state):
 *   spin:  UNLOCKED -> LOCKED      by CAS, after watching the word
 *   park:  any      -> CONTENDED   by exchange; we own it iff old was UNLOCKED
 *   wake:  (unlock already stored UNLOCKED) one sleeper is woken
 */
#include "backoff.h"
#include "mutex_internal.h"
#include "wait.h"
#include "weft/deadline.h"
#include "weft/mutex.h"
#include "weft/status.h"

/* relaxed everywhere: a tuning value, read once per contended lock */
static unsigned mutex_spin = WEFT_MUTEX_SPIN_DEFAULT;

unsigned weft_mutex_set_spin(unsigned pauses)
{
	return weft_atomic_exchange(&mutex_spin, pauses, WEFT_RELAXED);
}

static unsigned wait_flags(uint32_t pshared_bit)
{
	return pshared_bit ? WEFT_PSHARED : 0u;
}

/* UNLOCKED -> LOCKED if the word is unlocked now.  acquire: pairs with the
 * release exchange in weft_mutex_unlock(). */
static bool try_acquire(weft_mutex_t *mutex, uint32_t pshared_bit)
{
	uint32_t expected = pshared_bit | WEFT_MUTEX_UNLOCKED;
	return weft_atomic_cas(&mutex->state, &expected, pshared_bit | WEFT_MUTEX_LOCKED, WEFT_ACQUIRE,
			       WEFT_RELAXED);
}

bool weft_mutex_trylock_slow(weft_mutex_t *mutex)
{
	/* relaxed: the pshared bit is fixed at init */
	uint32_t pshared_bit = weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
	return try_acquire(mutex, pshared_bit);
}

/*
 * Watch the word for up to the spin bound; take it if it comes free.  The
 * watcher backs off exponentially between checks (src/backoff.h): every check
 * pulls the lock's cache line away from the holder, so a watcher that looks
 * less often lets the holder run its critical sections at full speed.
 */
static bool spin_acquire(weft_mutex_t *mutex, uint32_t pshared_bit)
{
	unsigned budget = weft_atomic_load(&mutex_spin, WEFT_RELAXED);
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	do {
		/* relaxed: only a hint; try_acquire() is the acquire */
		uint32_t state = weft_atomic_load(&mutex->state, WEFT_RELAXED);
		if ((state & WEFT_MUTEX_STATE_MASK) == WEFT_MUTEX_UNLOCKED && try_acquire(mutex, pshared_bit))
			return true;
	} while (weft__backoff_spin(&backoff, budget));
	return false;
}

/* Swap in CONTENDED: we hold the lock iff it was UNLOCKED.  acquire: pairs
 * with the release exchange in weft_mutex_unlock(). */
static bool mark_contended(weft_mutex_t *mutex, uint32_t pshared_bit)
{
	uint32_t old = weft_atomic_exchange(&mutex->state, pshared_bit | WEFT_MUTEX_CONTENDED, WEFT_ACQUIRE);
	return (old & WEFT_MUTEX_STATE_MASK) == WEFT_MUTEX_UNLOCKED;
}

void weft_mutex_lock_slow(weft_mutex_t *mutex)
{
	/* relaxed: the pshared bit is fixed at init */
	uint32_t pshared_bit = weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
	if (try_acquire(mutex, pshared_bit) || spin_acquire(mutex, pshared_bit))
		return;
	while (!mark_contended(mutex, pshared_bit))
		(void)weft__wait(&mutex->state, pshared_bit | WEFT_MUTEX_CONTENDED, NULL, wait_flags(pshared_bit));
}

/* For weft_cond_wait() (see mutex_internal.h): watch with backoff as
 * spin_acquire() does, then sleep; take the lock only as CONTENDED, because
 * requeued threads may sleep on the word. */
void weft__mutex_acquire_contended(weft_mutex_t *mutex)
{
	/* relaxed: the pshared bit is fixed at init */
	uint32_t pshared_bit = weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
	unsigned budget = weft_atomic_load(&mutex_spin, WEFT_RELAXED);
	struct weft__backoff backoff = WEFT__BACKOFF_INIT;
	do {
		uint32_t expected = pshared_bit | WEFT_MUTEX_UNLOCKED;
		/* relaxed load: only a hint.  acquire CAS: pairs with the release
		 * exchange in weft_mutex_unlock() */
		if ((weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_STATE_MASK) == WEFT_MUTEX_UNLOCKED &&
		    weft_atomic_cas(&mutex->state, &expected, pshared_bit | WEFT_MUTEX_CONTENDED, WEFT_ACQUIRE,
				    WEFT_RELAXED))
			return;
	} while (weft__backoff_spin(&backoff, budget));
	while (!mark_contended(mutex, pshared_bit))
		(void)weft__wait(&mutex->state, pshared_bit | WEFT_MUTEX_CONTENDED, NULL, wait_flags(pshared_bit));
}

void weft_mutex_wake_slow(weft_mutex_t *mutex)
{
	/* relaxed: the pshared bit is fixed at init */
	uint32_t pshared_bit = weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
	weft__wake(&mutex->state, 1, wait_flags(pshared_bit));
}

static int timedlock(weft_mutex_t *mutex, const struct timespec *deadline)
{
	/* relaxed: the pshared bit is fixed at init */
	uint32_t pshared_bit = weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
	if (try_acquire(mutex, pshared_bit))
		return WEFT_OK;
	if (weft_deadline_passed(deadline))
		return WEFT_ETIMEDOUT;
	if (spin_acquire(mutex, pshared_bit))
		return WEFT_OK;
	while (!mark_contended(mutex, pshared_bit)) {
		int rc = weft__wait(&mutex->state, pshared_bit | WEFT_MUTEX_CONTENDED, deadline,
				    wait_flags(pshared_bit));
		/* On a timeout the word may still say CONTENDED for our sake: the
		 * next unlock then makes one wake-up call that finds nobody. */
		if (rc == WEFT_ETIMEDOUT)
			return mark_contended(mutex, pshared_bit) ? WEFT_OK : WEFT_ETIMEDOUT;
	}
	return WEFT_OK;
}

int weft_mutex_timedlock_slow(weft_mutex_t *mutex, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT_TSAN_PRE_LOCK(mutex, WEFT_TSAN_TRY_LOCK);
	int rc = timedlock(mutex, deadline);
	WEFT_TSAN_POST_LOCK(mutex, rc == WEFT_OK ? WEFT_TSAN_TRY_LOCK : WEFT_TSAN_TRY_LOCK | WEFT_TSAN_TRY_FAILED);
	return rc;
}
