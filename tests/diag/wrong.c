/* SPDX-License-Identifier: MIT */
/*
 * wrong.c - mistakes the compiler must report (tests/diag/run.sh).  Each line
 * marked "expect: <regex>" must draw a warning matching the regex from the
 * compilers named (clang: -Wthread-safety; gcc and clang: unused results);
 * no other line may draw one.
 */
#include <weft/weft.h>

static weft_mutex_t m = WEFT_MUTEX_INIT;
static weft_rwlock_t rw = WEFT_RWLOCK_INIT;
static weft_cond_t cv = WEFT_COND_INIT;
static weft_spin_t spin = WEFT_SPIN_INIT;

void unlock_not_held(void);
void unlock_not_held(void)
{
	weft_mutex_unlock(&m); /* expect clang: releasing mutex 'm' that was not held */
}

/* the pthread idiom: pthread_mutex_trylock() returns 0 on success, weft's true */
void trylock_inverted(void);
void trylock_inverted(void)
{
	if (weft_mutex_trylock(&m) == 0) {
		weft_mutex_unlock(&m); /* expect clang: releasing mutex 'm' that was not held */
	}
} /* expect clang: mutex 'm' is not held on every path */

void returns_holding(void);
void returns_holding(void)
{
	weft_spin_lock(&spin);
} /* expect clang: mutex 'spin' is still held at the end of function */

void wrong_side(void);
void wrong_side(void)
{
	weft_rwlock_rdlock(&rw);
	weft_rwlock_wrunlock(&rw); /* expect clang: releasing rwlock 'rw' using exclusive access, expected shared access */
}

void wait_without_mutex(void);
void wait_without_mutex(void)
{
	weft_cond_wait(&cv, &m); /* expect clang: calling function 'weft_cond_wait' requires holding mutex 'm' */
}

void timedlock_unchecked(const struct timespec *d);
void timedlock_unchecked(const struct timespec *d)
{
	int rc = weft_mutex_timedlock(&m, d);
	(void)rc;
	weft_mutex_unlock(&m); /* expect clang: releasing mutex 'm' that was not held */
}

void dropped_results(weft_mpmc_t *q, weft_sem_t *s, void *job);
void dropped_results(weft_mpmc_t *q, weft_sem_t *s, void *job)
{
	weft_mpmc_try_push(q, job); /* expect gcc clang: ignoring return value */
	weft_sem_post(s);           /* expect gcc clang: ignoring return value */
	weft_mpmc_create(64, 0);    /* expect gcc clang: ignoring return value */
	weft_rwlock_init(&rw, 0);   /* expect gcc clang: ignoring return value */
}
