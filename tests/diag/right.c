/* SPDX-License-Identifier: MIT */
/*
 * right.c - the same jobs as wrong.c done right: compiles without a warning
 * under -Wall -Wextra -Werror (clang: and -Wthread-safety).
 */
#include <weft/weft.h>

static weft_mutex_t m = WEFT_MUTEX_INIT;
static weft_rwlock_t rw = WEFT_RWLOCK_INIT;
static weft_cond_t cv = WEFT_COND_INIT;
static int ready WEFT_GUARDED_BY(m);

void trylock(void);
void trylock(void)
{
	if (weft_mutex_trylock(&m)) {
		ready = 1;
		weft_mutex_unlock(&m);
	}
}

void timedlock(const struct timespec *d);
void timedlock(const struct timespec *d)
{
	int rc = weft_mutex_timedlock(&m, d);
	if (rc == WEFT_OK) {
		ready = 2;
		weft_mutex_unlock(&m);
	}
}

void reader(void);
void reader(void)
{
	weft_rwlock_rdlock(&rw);
	weft_rwlock_rdunlock(&rw);
	if (weft_rwlock_trywrlock(&rw))
		weft_rwlock_wrunlock(&rw);
}

void wait_ready(void);
void wait_ready(void)
{
	weft_mutex_lock(&m);
	while (!ready)
		weft_cond_wait(&cv, &m);
	weft_mutex_unlock(&m);
}

int results(weft_mpmc_t *q, weft_sem_t *s, void *job);
int results(weft_mpmc_t *q, weft_sem_t *s, void *job)
{
	if (!weft_mpmc_try_push(q, job))
		return -1;
	(void)!weft_sem_post(s); /* dropped on purpose: the idiom both compilers accept */
	return 0;
}
