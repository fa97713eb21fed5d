/* SPDX-License-Identifier: MIT */
/*
 * test_cond_debug.c - the WEFT_DEBUG misuse checks of weft_cond_t and
 * weft_sem_t.
 *
 * Each misuse runs in a forked child (check_child_aborts()), which must die of
 * SIGABRT after printing "weft: <type> <address>: <misuse>".  The same
 * sequences done correctly must exit normally.  The checks are inline, so
 * this file turns WEFT_DEBUG on for itself and works against the release
 * library too.
 */
#ifndef WEFT_DEBUG
#define WEFT_DEBUG
#endif

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "check.h"
#include "weft/weft.h"

#define MSG_NOT_HELD "waited on with a mutex the caller does not hold"
#define MSG_OTHER_MUTEX "waited on with a different mutex than its current waiters"
#define MSG_DESTROY "destroyed while threads wait on it"

static weft_mutex_t m1, m2;
static weft_cond_t cond;
static weft_sem_t sem;
static int pred; /* guarded by m1 */

static int aborts_with(void (*fn)(void), const char *type, const void *addr, const char *misuse)
{
	char expect[256];
	snprintf(expect, sizeof(expect), "weft: %s %p: %s", type, addr, misuse);
	return check_child_aborts(fn, expect);
}

/* A thread that waits on `cond` with m1 until `pred`. */
static pid_t waiter_tid;
static int waiter_started;
static void *cond_waiter(void *arg)
{
	(void)arg;
	waiter_tid = check_gettid();
	weft_mutex_lock(&m1);
	__atomic_store_n(&waiter_started, 1, __ATOMIC_RELEASE);
	while (!pred)
		weft_cond_wait(&cond, &m1);
	weft_mutex_unlock(&m1);
	return NULL;
}

static pthread_t start_cond_waiter(void)
{
	pthread_t t;
	pthread_create(&t, NULL, cond_waiter, NULL);
	while (!__atomic_load_n(&waiter_started, __ATOMIC_ACQUIRE))
		sched_yield();
	/* it holds m1 until it waits; once we get m1, it is inside the wait */
	weft_mutex_lock(&m1);
	weft_mutex_unlock(&m1);
	return t;
}

static void release_cond_waiter(pthread_t t)
{
	weft_mutex_lock(&m1);
	pred = 1;
	weft_cond_signal(&cond);
	weft_mutex_unlock(&m1);
	pthread_join(t, NULL);
}

/* ---- the misuses and their correct twins ------------------------------------ */

static void wait_not_held(void)
{
	struct timespec d = weft_deadline_after_ns(1000);
	(void)!weft_cond_timedwait(&cond, &m1, &d);
}

static void wait_held(void)
{
	struct timespec d = weft_deadline_after_ns(1000);
	weft_mutex_lock(&m1);
	(void)!weft_cond_timedwait(&cond, &m1, &d);
	weft_mutex_unlock(&m1); /* the owner mark is back: no abort */
	weft_cond_destroy(&cond);
}

static void wait_other_mutex(void)
{
	(void)start_cond_waiter();
	weft_mutex_lock(&m2);
	weft_cond_wait(&cond, &m2);
}

static void wait_same_mutex_after(void)
{
	pthread_t t = start_cond_waiter();
	release_cond_waiter(t);
	/* no waiter left: a different mutex is fine now */
	struct timespec d = weft_deadline_after_ns(1000);
	weft_mutex_lock(&m2);
	(void)!weft_cond_timedwait(&cond, &m2, &d);
	weft_mutex_unlock(&m2);
}

static void destroy_with_waiter(void)
{
	(void)start_cond_waiter();
	weft_cond_destroy(&cond);
}

static void destroy_after_waiter(void)
{
	pthread_t t = start_cond_waiter();
	release_cond_waiter(t);
	weft_cond_destroy(&cond);
}

static pid_t sem_waiter_tid;
static void *sem_waiter(void *arg)
{
	(void)arg;
	__atomic_store_n(&sem_waiter_tid, check_gettid(), __ATOMIC_RELEASE);
	weft_sem_wait(&sem);
	return NULL;
}

static void sem_destroy_with_waiter(void)
{
	pthread_t t;
	pthread_create(&t, NULL, sem_waiter, NULL);
	/* registered once its count is seen */
	while (__atomic_load_n(&sem.waiters, __ATOMIC_RELAXED) == 0)
		sched_yield();
	weft_sem_destroy(&sem);
}

static void sem_destroy_after_waiter(void)
{
	pthread_t t;
	pthread_create(&t, NULL, sem_waiter, NULL);
	while (__atomic_load_n(&sem.waiters, __ATOMIC_RELAXED) == 0)
		sched_yield();
	(void)!weft_sem_post(&sem);
	pthread_join(t, NULL);
	weft_sem_destroy(&sem);
}

static void test_cond_wait_not_held(void)
{
	CHECK(aborts_with(wait_not_held, "weft_cond_t", &cond, MSG_NOT_HELD));
	CHECK(check_child_runs_clean(wait_held));
}

static void test_cond_wait_other_mutex(void)
{
	CHECK(aborts_with(wait_other_mutex, "weft_cond_t", &cond, MSG_OTHER_MUTEX));
	CHECK(check_child_runs_clean(wait_same_mutex_after));
}

static void test_cond_destroy_with_waiter(void)
{
	CHECK(aborts_with(destroy_with_waiter, "weft_cond_t", &cond, MSG_DESTROY));
	CHECK(check_child_runs_clean(destroy_after_waiter));
}

static void test_sem_destroy_with_waiter(void)
{
	CHECK(aborts_with(sem_destroy_with_waiter, "weft_sem_t", &sem, MSG_DESTROY));
	CHECK(check_child_runs_clean(sem_destroy_after_waiter));
}

int main(void)
{
	alarm(600);
	RUN_TEST(test_cond_wait_not_held);
	RUN_TEST(test_cond_wait_other_mutex);
	RUN_TEST(test_cond_destroy_with_waiter);
	RUN_TEST(test_sem_destroy_with_waiter);
	return check_summary();
}
