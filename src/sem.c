/* SPDX-License-Identifier: MIT */
/*
 * sem.c - the sleeping and waking paths of weft_sem_t.  The algorithm, its
 * sources and its word are described at the top of include/weft/sem.h.
 *
 * Transitions made here:
 *   spin:     count -> count - 1 by CAS when takeable (count > 0, no claim up)
 *   register: waiters++ (seq_cst: the Dekker pair with the post's CAS and load)
 *   sleep:    futex_wait(&value, word as seen) until woken, then retry the CAS
 *   claim:    count 0 and no claim -> claim bit up (a registered sleeper of a
 *             private semaphore, starving past the bound, after a lost round)
 *   take:     the claimant: count -> count - 1 and claim down, in one CAS
 *   unclaim:  a claimant that times out: claim down (a unit still there is
 *             taken first, as any timed-out waiter takes one that arrived)
 *   leave:    waiters--
 *   wake:     a post with waiters: n sleepers, or all while a claim is up
 *             (the claimant must be among those woken)
 */
#include "spinwait.h"
#include "wait.h"
#include "weft/sem.h"

#include "fairness.h" /* the one home of the bound and its clock (issue 15) */

/* The spin bound is the policy's WEFT__SPIN_SEM preset (src/spinwait.c). */
unsigned weft_sem_set_spin(unsigned pauses)
{
	return weft__spin_set_pauses(WEFT__SPIN_SEM, pauses);
}

/* count -> count - 1 if takeable (no claim up).  Return: true if a unit was
 * taken, and in *seen the word as last read. */
static bool sem_try_take(weft_sem_t *sem, uint32_t *seen)
{
	/* relaxed: the CAS is the acquire */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	while (WEFT__SEM_TAKEABLE(v)) {
		/* acquire: pairs with the release CAS in weft_sem_post_n() */
		if (weft_atomic_cas_weak(&sem->value, &v, v - 1u, WEFT_ACQUIRE, WEFT_RELAXED))
			return true;
	}
	*seen = v;
	return false;
}

/* The claimant's take: count -> count - 1 with the claim bit down, in one CAS.
 * Units left over may have sleepers that the claim turned away: wake them. */
static bool sem_take_claimed(weft_sem_t *sem, uint32_t *seen)
{
	/* relaxed: the CAS is the acquire */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	while (v & WEFT_SEM_COUNT_MASK) {
		/* acquire: pairs with the release CAS in weft_sem_post_n() */
		if (weft_atomic_cas_weak(&sem->value, &v, (v - 1u) & ~WEFT_SEM_STARVING_BIT, WEFT_ACQUIRE,
					 WEFT_RELAXED)) {
			if ((v & WEFT_SEM_COUNT_MASK) > 1u)
				weft__wake(&sem->value, (int)((v & WEFT_SEM_COUNT_MASK) - 1u), 0);
			return true;
		}
	}
	*seen = v;
	return false;
}

/* Raise the claim if the count is 0 and nobody claims.  Return: true if
 * raised, and in *seen the word as last read (with the claim if raised). */
static bool sem_claim(weft_sem_t *sem, uint32_t *seen)
{
	/* relaxed: the CAS below decides */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	while ((v & (WEFT_SEM_COUNT_MASK | WEFT_SEM_STARVING_BIT)) == 0) {
		/* relaxed: the bit orders nothing; a unit is still handed over
		 * only by the acquire CAS of sem_take_claimed() */
		if (weft_atomic_cas_weak(&sem->value, &v, v | WEFT_SEM_STARVING_BIT, WEFT_RELAXED, WEFT_RELAXED)) {
			*seen = v | WEFT_SEM_STARVING_BIT;
			return true;
		}
	}
	*seen = v;
	return false;
}

/* A claimant that gives up (timeout): lower the claim; units that arrived
 * meanwhile were turned away from the others: wake them. */
static void sem_unclaim(weft_sem_t *sem)
{
	/* relaxed: the bit orders nothing (as in sem_claim()) */
	uint32_t v = weft_atomic_fetch_and(&sem->value, ~WEFT_SEM_STARVING_BIT, WEFT_RELAXED);
	if (v & WEFT_SEM_COUNT_MASK)
		weft__wake(&sem->value, (int)(v & WEFT_SEM_COUNT_MASK), 0);
}

/* The slow path of every wait; @cancel NULL: none (weft_sem_wait_ctx()). */
static int sem_wait_slow(weft_sem_t *sem, const struct timespec *deadline, weft_cancel_t *cancel)
{
	uint32_t seen = 0;
	/* The call would wait: now, and only now, the token counts.  One
	 * already cancelled ends the wait before any spin or sleep. */
	if (cancel != NULL && weft_cancel_requested(cancel))
		return WEFT_ECANCELED;
	/* Watch the word for a bounded spin, a check per pause: no backoff, a
	 * unit that appears should be taken at once (a post's CAS is the only
	 * writer we wait for, and a read-only watcher does not slow it).  A
	 * deadline that has passed ends it before the first pause. */
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, WEFT__SPIN_SEM, deadline);
	/* Spin only while no thread sleeps on the semaphore: if some do, units
	 * are scarce, a new unit is likely to go to one of them, and a spinner
	 * would only take CPU time from the threads that post.  relaxed: a hint. */
	if (weft_atomic_load(&sem->waiters, WEFT_RELAXED) != 0)
		weft__spinwait_no_pauses(&sw);
	enum weft__spin_result spun;
	do {
		if (sem_try_take(sem, &seen))
			return WEFT_OK;
	} while ((spun = weft__spinwait_spin(&sw)) == WEFT__SPIN_AGAIN);
	if (spun == WEFT__SPIN_TIMEDOUT)
		return WEFT_ETIMEDOUT; /* we looked for a unit just before */

	unsigned flags = (seen & WEFT_SEM_PSHARED_BIT) ? WEFT_PSHARED : 0u;
	/* seq_cst: registers us before the kernel reads the word; pairs with the
	 * post's seq_cst CAS and its seq_cst load of `waiters` */
	weft_atomic_fetch_add(&sem->waiters, 1u, WEFT_SEQ_CST);
	struct weft__fair_clock clock = {0}; /* started at the first sleep */
	bool claimed = false;
	int rc;
	for (;;) {
		if (claimed ? sem_take_claimed(sem, &seen) : sem_try_take(sem, &seen)) {
			if (claimed)
				weft__fair_handoff_taken(sem); /* the rate limit's clock */
			rc = WEFT_OK;
			break;
		}
		/* Lost again after waiting past the bound: claim the next unit,
		 * at most one claim served per bound per semaphore (the rate
		 * limit of src/fairness.h, as the word lock's hand-offs: with
		 * many sleepers past the bound, a claim at every post would
		 * turn the semaphore into a convoy of wake-all posts).  Never
		 * for a process-shared semaphore (see sem.h). */
		if (!claimed && !flags && weft__fair_starving(&clock) && weft__fair_handoff_allowed(sem)) {
			if (sem_claim(sem, &seen)) {
				claimed = true;
				continue; /* a unit may have come between the two reads */
			}
			/* not claimed: a unit came meanwhile (take it; sleeping on a
			 * word that shows it would miss its post's wake-up), or
			 * another sleeper claims (sleep until its claim is served) */
			if (WEFT__SEM_TAKEABLE(seen))
				continue;
		}
		weft__fair_start(&clock);
		/* seen has no takeable unit: sleep until the word changes (a post,
		 * or a claim raised or lowered).  A process-shared semaphore naps:
		 * a poster killed between its increment and its wake-up call, or a
		 * woken waiter killed before it took the unit, would leave us
		 * asleep beside a unit (issue 14, docs/processes.md; the nap:
		 * src/wait.h) */
		int slept = weft__wait_napping_ctx(&sem->value, seen, deadline, flags, cancel);
		if (slept == WEFT_ECANCELED) {
			/* cancelled with the word as we saw it (the wait layer looks
			 * at the word first), so no unit came for us and no post's
			 * wake-up is consumed by leaving; nothing taken.  A claim
			 * turned the others away: lower it and wake them for units
			 * that are there. */
			if (claimed)
				sem_unclaim(sem);
			rc = WEFT_ECANCELED;
			break;
		}
		if (slept == WEFT_ETIMEDOUT) {
			/* the kernel did not wake us, so no post's wake-up is lost
			 * by leaving; a unit that arrived meanwhile is still ours */
			if (claimed) {
				rc = sem_take_claimed(sem, &seen) ? WEFT_OK : WEFT_ETIMEDOUT;
				if (rc == WEFT_OK)
					weft__fair_handoff_taken(sem);
				else
					sem_unclaim(sem);
			} else {
				rc = sem_try_take(sem, &seen) ? WEFT_OK : WEFT_ETIMEDOUT;
			}
			break;
		}
	}
	/* relaxed: a count; a post that still sees us makes one wake-up call
	 * that finds nobody */
	weft_atomic_fetch_sub(&sem->waiters, 1u, WEFT_RELAXED);
	return rc;
}

int weft_sem_wait_slow(weft_sem_t *sem, const struct timespec *deadline)
{
	return sem_wait_slow(sem, deadline, NULL);
}

int weft_sem_wait_ctx_slow(weft_sem_t *sem, const struct timespec *deadline, weft_cancel_t *cancel)
{
	return sem_wait_slow(sem, deadline, cancel);
}

void weft_sem_wake_slow(weft_sem_t *sem, unsigned n)
{
	/* relaxed: the pshared bit is fixed at init; a claim raised before our
	 * CAS is seen here (read after our own RMW of the word) */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	unsigned flags = (v & WEFT_SEM_PSHARED_BIT) ? WEFT_PSHARED : 0u;
	/* With a claim up the woken must include the claimant, and the kernel
	 * does not say which sleeper it wakes: wake them all (the others find
	 * the claim and sleep again).  Rare: once per starving sleeper per bound. */
	if (v & WEFT_SEM_STARVING_BIT)
		n = (unsigned)INT32_MAX;
	weft__wake(&sem->value, n > (unsigned)INT32_MAX ? INT32_MAX : (int)n, flags);
}
