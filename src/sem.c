/* SPDX-License-Identifier: MIT */
/*
 * sem.c - the sleeping and waking paths of weft_sem_t.  The algorithm, its
 * sources and its word are described at the top of include/weft/sem.h.
 *
 * Transitions made here:
 *   spin:     count -> count - 1 by CAS when count > 0, watching the word
 *   register: waiters++ (seq_cst: the Dekker pair with the post's CAS and load)
 *   sleep:    futex_wait(&value, count 0) until woken, then retry the CAS
 *   leave:    waiters--
 */
#include "spinwait.h"
#include "wait.h"
#include "weft/sem.h"


/* The spin bound is the policy's WEFT__SPIN_SEM preset (src/spinwait.c). */
unsigned weft_sem_set_spin(unsigned pauses)
{
	return weft__spin_set_pauses(WEFT__SPIN_SEM, pauses);
}

/* count -> count - 1 if count > 0.  Return: true if a unit was taken, and in
 * *seen the word as last read. */
static bool sem_try_take(weft_sem_t *sem, uint32_t *seen)
{
	/* relaxed: the CAS is the acquire */
	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	while (v & WEFT_SEM_COUNT_MASK) {
		/* acquire: pairs with the release CAS in weft_sem_post_n() */
		if (weft_atomic_cas_weak(&sem->value, &v, v - 1u, WEFT_ACQUIRE, WEFT_RELAXED))
			return true;
	}
	*seen = v;
	return false;
}

int weft_sem_wait_slow(weft_sem_t *sem, const struct timespec *deadline)
{
	uint32_t seen = 0;
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
	int rc;
	for (;;) {
		if (sem_try_take(sem, &seen)) {
			rc = WEFT_OK;
			break;
		}
		/* seen has count 0: sleep until a post changes the word.  A
		 * process-shared semaphore naps: a poster killed
		 * between its increment and its wake-up call, or a woken waiter
		 * killed before it took the unit, would leave us asleep beside a
		 * unit (issue 14, docs/processes.md; the nap: src/wait.h) */
		if (weft__wait_napping(&sem->value, seen, deadline, flags) == WEFT_ETIMEDOUT) {
			/* the kernel did not wake us, so no post's wake-up is lost
			 * by leaving; a unit that arrived meanwhile is still ours */
			rc = sem_try_take(sem, &seen) ? WEFT_OK : WEFT_ETIMEDOUT;
			break;
		}
	}
	/* relaxed: a count; a post that still sees us makes one wake-up call
	 * that finds nobody */
	weft_atomic_fetch_sub(&sem->waiters, 1u, WEFT_RELAXED);
	return rc;
}

void weft_sem_wake_slow(weft_sem_t *sem, unsigned n)
{
	/* relaxed: the pshared bit is fixed at init */
	unsigned flags = (weft_atomic_load(&sem->value, WEFT_RELAXED) & WEFT_SEM_PSHARED_BIT) ? WEFT_PSHARED : 0u;
	weft__wake(&sem->value, n > (unsigned)INT32_MAX ? INT32_MAX : (int)n, flags);
}
