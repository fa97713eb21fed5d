/* SPDX-License-Identifier: MIT */
#ifndef WEFT_TESTS_HELD_LOCKS_H
#define WEFT_TESTS_HELD_LOCKS_H

/*
 * held_locks.h - another thread holds a mutex, one rwlock and one brlock for
 * writing, and one of each for reading, until told to let go: what a timed
 * call with a passed deadline must time out against.  Shared by
 * tests/test_spinwait.c (behaviour) and tests/probes/probe_deadline.c (timing).
 */
#include <pthread.h>

#include "weft/weft.h"

static weft_mutex_t held_mutex = WEFT_MUTEX_INIT;
static weft_rwlock_t held_wr = WEFT_RWLOCK_INIT;  /* write-held */
static weft_rwlock_t held_rd = WEFT_RWLOCK_INIT;  /* read-held */
static weft_brlock_t held_brw = WEFT_BRLOCK_INIT; /* write-held */
static weft_brlock_t held_brr = WEFT_BRLOCK_INIT; /* read-held */
static weft_sem_t held_go, held_done;

static void *held_locks_holder(void *arg)
{
	(void)arg;
	weft_mutex_lock(&held_mutex);
	weft_rwlock_wrlock(&held_wr);
	weft_rwlock_rdlock(&held_rd);
	weft_brlock_wrlock(&held_brw);
	weft_brlock_rdlock(&held_brr);
	(void)!weft_sem_post(&held_go);
	weft_sem_wait(&held_done);
	weft_brlock_rdunlock(&held_brr);
	weft_brlock_wrunlock(&held_brw);
	weft_rwlock_rdunlock(&held_rd);
	weft_rwlock_wrunlock(&held_wr);
	weft_mutex_unlock(&held_mutex);
	return NULL;
}

/* Start the holder and return once it holds everything.  Return: 0, or the
 * first failure (a weft status of sem_init, or pthread_create's error). */
static inline int held_locks_take(pthread_t *t)
{
	int rc = weft_sem_init(&held_go, 0, 0);
	if (rc == 0)
		rc = weft_sem_init(&held_done, 0, 0);
	if (rc == 0)
		rc = pthread_create(t, NULL, held_locks_holder, NULL);
	if (rc == 0)
		weft_sem_wait(&held_go);
	return rc;
}

/* Let go of everything.  Return: pthread_join()'s result. */
static inline int held_locks_release(pthread_t t)
{
	(void)!weft_sem_post(&held_done);
	return pthread_join(t, NULL);
}

#endif /* WEFT_TESTS_HELD_LOCKS_H */
