/* SPDX-License-Identifier: MIT */
/*
 * test_mutex_debug.c - the WEFT_DEBUG misuse checks of weft_mutex_t.
 *
 * Each misuse runs in a forked child (check_child_aborts()), which must die
 * of SIGABRT after printing "weft: weft_mutex_t <address>: <misuse>", the
 * address being that of the misused mutex.  Correct uses, run the same way,
 * must exit normally.  The checks are inline, so this file turns WEFT_DEBUG on
 * for itself and works against the release library too.
 */
#ifndef WEFT_DEBUG
#define WEFT_DEBUG
#endif

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/prctl.h>

#include "check.h"
#include "weft/weft.h"

#define HANG_GUARD_S 300 /* the whole program normally takes well under 10 s */

#define MSG_NOT_HELD "unlocked by a thread that does not hold it"
#define MSG_RELOCK "locked again by the thread that holds it (self-deadlock)"
#define MSG_DESTROY "destroyed while held"

/* The mutex the child functions use: a fork()ed child sees the same address. */
static weft_mutex_t *g_m;
static unsigned g_flags;
static weft_mutex_t private_mutex;

/* A fresh g_m for every child: a process-shared mutex that an aborted child
 * held stays held in the shared memory. */
static void reinit(void)
{
	if (weft_mutex_init(g_m, g_flags) != WEFT_OK)
		abort();
}

/* "weft: weft_mutex_t <g_m>: <misuse>" */
static int aborts_with(void (*fn)(void), const char *misuse)
{
	reinit();
	char expect[256];
	snprintf(expect, sizeof(expect), "weft: weft_mutex_t %p: %s", (void *)g_m, misuse);
	return check_child_aborts(fn, expect);
}

/* Runs @fn in a child (with a fresh g_m) that must return without a weft message. */
static int runs_clean(void (*fn)(void))
{
	reinit();
	return check_child_runs_clean(fn);
}

/* A private and a process-shared mutex (in MAP_SHARED memory) for each test. */
static weft_mutex_t *shared_mutex;

static int for_each_mutex(int i)
{
	if (i == 0) {
		g_m = &private_mutex;
		g_flags = 0;
		return weft_mutex_init(g_m, g_flags) == WEFT_OK;
	}
	g_m = shared_mutex;
	g_flags = WEFT_PSHARED;
	return g_m != NULL && weft_mutex_init(g_m, g_flags) == WEFT_OK;
}

/* ---- misuse --------------------------------------------------------------- */

static void unlock_never_locked(void)
{
	weft_mutex_unlock(g_m);
}

static void unlock_twice(void)
{
	weft_mutex_lock(g_m);
	weft_mutex_unlock(g_m);
	weft_mutex_unlock(g_m);
}

static void unlock_after_trylock_twice(void)
{
	if (!weft_mutex_trylock(g_m))
		_exit(3);
	weft_mutex_unlock(g_m);
	weft_mutex_unlock(g_m);
}

static void test_unlock_not_held(void)
{
	for (int i = 0; i < 2; i++) {
		CHECK(for_each_mutex(i));
		CHECK(aborts_with(unlock_never_locked, MSG_NOT_HELD));
		CHECK(aborts_with(unlock_twice, MSG_NOT_HELD));
		CHECK(aborts_with(unlock_after_trylock_twice, MSG_NOT_HELD));
	}
}

static int holder_ready;

static void *hold_forever(void *arg)
{
	(void)arg;
	weft_mutex_lock(g_m);
	__atomic_store_n(&holder_ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause(); /* until the process aborts */
	return NULL;
}

static void unlock_held_by_other_thread(void)
{
	pthread_t t;
	__atomic_store_n(&holder_ready, 0, __ATOMIC_RELAXED);
	if (pthread_create(&t, NULL, hold_forever, NULL) != 0)
		_exit(3);
	while (!__atomic_load_n(&holder_ready, __ATOMIC_ACQUIRE))
		sched_yield();
	weft_mutex_unlock(g_m);
}

static void test_unlock_held_by_other_thread(void)
{
	for (int i = 0; i < 2; i++) {
		CHECK(for_each_mutex(i));
		CHECK(aborts_with(unlock_held_by_other_thread, MSG_NOT_HELD));
	}
}

/* The parent holds a process-shared mutex; a forked child unlocks it. */
static void test_unlock_held_by_other_process(void)
{
	CHECK(for_each_mutex(1));
	weft_mutex_lock(g_m);
	char expect[256];
	snprintf(expect, sizeof(expect), "weft: weft_mutex_t %p: %s", (void *)g_m, MSG_NOT_HELD);
	CHECK(check_child_aborts(unlock_never_locked, expect));
	weft_mutex_unlock(g_m); /* still the parent's, untouched by the child */
	CHECK(weft_mutex_trylock(g_m));
	weft_mutex_unlock(g_m);
}

static void lock_twice(void)
{
	weft_mutex_lock(g_m);
	weft_mutex_lock(g_m);
}

static void trylock_then_lock(void)
{
	if (!weft_mutex_trylock(g_m))
		_exit(3);
	weft_mutex_lock(g_m);
}

static void timedlock_then_lock(void)
{
	struct timespec d = weft_deadline_after_ns(1000000000ull);
	if (weft_mutex_timedlock(g_m, &d) != WEFT_OK)
		_exit(3);
	weft_mutex_lock(g_m);
}

static void test_lock_again_by_owner(void)
{
	for (int i = 0; i < 2; i++) {
		CHECK(for_each_mutex(i));
		CHECK(aborts_with(lock_twice, MSG_RELOCK));
		CHECK(aborts_with(trylock_then_lock, MSG_RELOCK));
		CHECK(aborts_with(timedlock_then_lock, MSG_RELOCK));
	}
}

static void lock_then_timedlock_future(void)
{
	weft_mutex_lock(g_m);
	struct timespec d = weft_deadline_after_ns(60ull * 1000000000ull);
	(void)!weft_mutex_timedlock(g_m, &d);
}

static void lock_then_timedlock_past(void)
{
	weft_mutex_lock(g_m);
	struct timespec past = {0, 0};
	(void)!weft_mutex_timedlock(g_m, &past); /* would "time out", but it is misuse all the same */
}

static void test_timedlock_by_owner(void)
{
	for (int i = 0; i < 2; i++) {
		CHECK(for_each_mutex(i));
		CHECK(aborts_with(lock_then_timedlock_future, MSG_RELOCK));
		CHECK(aborts_with(lock_then_timedlock_past, MSG_RELOCK));
	}
}

static void destroy_held(void)
{
	weft_mutex_lock(g_m);
	weft_mutex_destroy(g_m);
}

static void destroy_held_by_other_thread(void)
{
	pthread_t t;
	__atomic_store_n(&holder_ready, 0, __ATOMIC_RELAXED);
	if (pthread_create(&t, NULL, hold_forever, NULL) != 0)
		_exit(3);
	while (!__atomic_load_n(&holder_ready, __ATOMIC_ACQUIRE))
		sched_yield();
	weft_mutex_destroy(g_m);
}

static void test_destroy_while_held(void)
{
	for (int i = 0; i < 2; i++) {
		CHECK(for_each_mutex(i));
		CHECK(aborts_with(destroy_held, MSG_DESTROY));
		CHECK(aborts_with(destroy_held_by_other_thread, MSG_DESTROY));
	}
}

/* ---- correct uses do not abort -------------------------------------------- */

static int worker_ok;

static void *correct_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		weft_mutex_lock(g_m);
		weft_mutex_unlock(g_m);
		if (weft_mutex_trylock(g_m))
			weft_mutex_unlock(g_m);
		struct timespec d = weft_deadline_after_ns(30ull * 1000000000ull);
		if (weft_mutex_timedlock(g_m, &d) != WEFT_OK)
			return NULL;
		weft_mutex_unlock(g_m);
	}
	__atomic_fetch_add(&worker_ok, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void correct_uses(void)
{
	weft_mutex_lock(g_m);
	if (weft_mutex_trylock(g_m)) /* a trylock by the owner just fails */
		_exit(4);
	weft_mutex_unlock(g_m);
	if (!weft_mutex_trylock(g_m))
		_exit(5);
	weft_mutex_unlock(g_m);
	struct timespec past = {0, 0};
	if (weft_mutex_timedlock(g_m, &past) != WEFT_OK)
		_exit(6);
	weft_mutex_unlock(g_m);
	/* bad input is reported, not a misuse abort */
	if (weft_mutex_timedlock(g_m, NULL) != WEFT_EINVAL)
		_exit(7);
	/* several threads, each unlocking what it locked */
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, correct_worker, NULL) != 0)
			_exit(3);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	if (__atomic_load_n(&worker_ok, __ATOMIC_RELAXED) != 3)
		_exit(8);
	/* a held lock that another thread waits for, then handed over */
	weft_mutex_lock(g_m);
	weft_mutex_unlock(g_m);
	weft_mutex_destroy(g_m);
	if (weft_mutex_init(g_m, g_flags) != WEFT_OK)
		_exit(9);
	weft_mutex_lock(g_m);
	weft_mutex_unlock(g_m);
	weft_mutex_destroy(g_m);
}

static void test_correct_uses(void)
{
	for (int i = 0; i < 2; i++) {
		CHECK(for_each_mutex(i));
		CHECK(runs_clean(correct_uses));
	}
	/* and in this process too */
	CHECK(for_each_mutex(0));
	worker_ok = 0;
	correct_uses();
	CHECK_EQ(worker_ok, 3);
}

/* The parent holds a process-shared mutex at fork(): the child is not its
 * owner, so its lock() blocks (no false self-deadlock abort) until the parent
 * unlocks, and it then owns the mutex itself. */
static int *child_waiting;

static void child_locks_after_parent(void)
{
	if (weft_mutex_trylock(g_m))
		_exit(3);
	__atomic_store_n(child_waiting, 1, __ATOMIC_RELEASE);
	weft_mutex_lock(g_m);
	weft_mutex_unlock(g_m);
}

static void test_pshared_owner_across_fork(void)
{
	CHECK(for_each_mutex(1));
	child_waiting = check_shared_alloc(sizeof(*child_waiting));
	CHECK(child_waiting != NULL);
	if (!child_waiting)
		return;
	weft_mutex_lock(g_m);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		child_locks_after_parent();
		_exit(0);
	}
	CHECK_GT(pid, 0);
	while (pid > 0 && !__atomic_load_n(child_waiting, __ATOMIC_ACQUIRE))
		sched_yield();
	if (pid > 0)
		(void)check_wait_until_sleeping(pid, pid);
	weft_mutex_unlock(g_m);
	if (pid > 0)
		CHECK_EQ(check_wait_child(pid), 0);
	/* the parent can take it again: the child left it free */
	CHECK(weft_mutex_trylock(g_m));
	weft_mutex_unlock(g_m);
	check_shared_free(child_waiting, sizeof(*child_waiting));
}

/* A private mutex in shared memory (zero-filled mmap, the README's all-zero
 * promise) held by the parent: the child's lock must abort naming the fix,
 * not sleep for ever on a private futex nobody in its process wakes. */
static weft_mutex_t *g_zero_shared;

static void lock_private_held_by_other_process(void)
{
	weft_mutex_lock(g_zero_shared);
}

static void timedlock_private_held_by_other_process(void)
{
	struct timespec d = weft_deadline_after_ns(60ull * 1000 * 1000 * 1000);
	(void)!weft_mutex_timedlock(g_zero_shared, &d);
}

static void test_private_used_by_two_processes(void)
{
	g_zero_shared = check_shared_alloc(sizeof(*g_zero_shared));
	weft_mutex_lock(g_zero_shared);
	CHECK(check_child_aborts(lock_private_held_by_other_process, "initialized without WEFT_PSHARED"));
	CHECK(check_child_aborts(lock_private_held_by_other_process, "weft_mutex_init(mutex, WEFT_PSHARED)"));
	CHECK(check_child_aborts(timedlock_private_held_by_other_process, "initialized without WEFT_PSHARED"));
	weft_mutex_unlock(g_zero_shared);
	check_shared_free(g_zero_shared, sizeof(*g_zero_shared));
}

int main(void)
{
	alarm(HANG_GUARD_S); /* a lost wake-up or deadlock kills the program: a failure, not a stall */
	shared_mutex = check_shared_alloc(sizeof(*shared_mutex));
	/* the parent thread has an owner id before any fork */
	weft_mutex_lock(&private_mutex);
	weft_mutex_unlock(&private_mutex);
	RUN_TEST(test_unlock_not_held);
	RUN_TEST(test_unlock_held_by_other_thread);
	RUN_TEST(test_unlock_held_by_other_process);
	RUN_TEST(test_lock_again_by_owner);
	RUN_TEST(test_timedlock_by_owner);
	RUN_TEST(test_destroy_while_held);
	RUN_TEST(test_correct_uses);
	RUN_TEST(test_pshared_owner_across_fork);
	RUN_TEST(test_private_used_by_two_processes);
	check_shared_free(shared_mutex, sizeof(*shared_mutex));
	return check_summary();
}
