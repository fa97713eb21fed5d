/* SPDX-License-Identifier: MIT */
/*
 * test_fork.c - fork() while another thread holds one of weft's internal
 * locks (issue 12): the child's first call on the primitive behind that lock
 * must complete.
 *
 * The internal locks: the per-thread registry's lock of the sharded counter
 * and of the pool (src/registry.c), the portable wait backend's bucket
 * mutexes (src/wait_portable.c; under the futex backend the wait layer has no
 * lock and the case passes trivially), and the WEFT_DEBUG lock-order graph's
 * mutex (src/lockdep.c).  test_fork_sleeper also forks while a thread sleeps
 * in the wait layer (a bucket's condvar counts it; the child has no such
 * thread).  For each, a hammer thread takes the lock over and
 * over through ordinary calls while this thread forks; each child makes the
 * first calls a program would make under alarm() and exits.  A child that
 * inherited a held lock with no fork handling hangs there, and the watchdog
 * ends it: that is the failure.  Nothing is timed; the number of forks only
 * makes it likely that some fork lands while the lock is held, so the test
 * can pass by luck on a broken build, never fail on a good one.
 */
#include <pthread.h>

#include "check.h"
#include "wait.h"
#include "weft/weft.h"

#define FORKS 150         /* forks per lock */
#define CHILD_WATCHDOG 10 /* seconds; a healthy child takes microseconds */

static int stop; /* the hammer's stop flag */

struct hammer {
	void (*op)(void);
	pthread_t thread;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	/* relaxed: a flag only; joining the thread orders everything else */
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		h->op();
	return NULL;
}

/* Fork once; the child runs @child_op under a watchdog.  Return: 1 if it
 * finished (exit status 0). */
static int fork_child_ok(void (*child_op)(void), const char *what, int i)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 0;
	}
	if (pid == 0) {
		alarm(CHILD_WATCHDOG);
		child_op();
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	fprintf(stderr, "  fork %d: the child's first %s %s (status 0x%x)\n", i, what,
		WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "hung" : "failed", (unsigned)status);
	return 0;
}

/*
 * Fork FORKS times while a hammer thread runs @hammer_op; each child runs
 * @child_op under a watchdog.  Return: 1 if every child finished.
 */
static int fork_while(void (*hammer_op)(void), void (*child_op)(void), const char *what)
{
	struct hammer h = {hammer_op, 0};
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	CHECK_EQ(pthread_create(&h.thread, NULL, hammer_main, &h), 0);
	int ok = 1;
	for (int i = 0; i < FORKS && ok; i++)
		ok = fork_child_ok(child_op, what, i);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(h.thread, NULL);
	return ok;
}

/* ---- the sharded counter's registry lock ---- */

static weft_scounter_t sc;

/* The hammers take the lock through calls that do not allocate: a child of a
 * fork() that lands inside malloc() may find the allocator's own lock held
 * (AddressSanitizer's allocator has no fork handling), which is not weft's to
 * test. */
static void sc_hammer(void)
{
	(void)!weft_scounter_slots_in_use(&sc); /* takes and drops the registry lock */
}

static void sc_child(void)
{
	weft_scounter_add(&sc, 1);
	if (weft_scounter_slots_in_use(&sc) == 0)
		_exit(3);
	weft_scounter_t mine;
	if (weft_scounter_init(&mine) != WEFT_OK)
		_exit(4);
	weft_scounter_add(&mine, 5);
	if (weft_scounter_read(&mine) != 5)
		_exit(5);
	weft_scounter_destroy(&mine);
}

static void test_fork_scounter(void)
{
	CHECK_STATUS(weft_scounter_init(&sc), WEFT_OK);
	CHECK(fork_while(sc_hammer, sc_child, "weft_scounter_* call"));
	weft_scounter_destroy(&sc);
}

/* ---- the pool's registry lock ---- */

static weft_pool_t *pool;

static void pool_hammer(void)
{
	struct weft_pool_stats st;
	(void)!weft_pool_stats(pool, &st); /* takes and drops the registry lock */
}

static void pool_child(void)
{
	void *o = weft_pool_get(pool);
	if (!o)
		_exit(3);
	weft_pool_put(pool, o);
	struct weft_pool_stats st;
	if (weft_pool_stats(pool, &st) != WEFT_OK)
		_exit(4);
	weft_pool_t *mine = weft_pool_create(16, 4, 0);
	if (!mine || !weft_pool_get(mine))
		_exit(5);
	weft_pool_destroy(mine);
}

static void test_fork_pool(void)
{
	pool = weft_pool_create(64, 1024, 0);
	CHECK(pool != NULL);
	if (!pool)
		return;
	CHECK(fork_while(pool_hammer, pool_child, "weft_pool_* call"));
	weft_pool_destroy(pool);
}

/* ---- the wait layer (the portable backend's bucket mutexes) ---- */

static uint32_t word;

static void wait_hammer(void)
{
	weft__wake(&word, 1, 0); /* portable: takes and drops the word's bucket mutex */
}

static void wait_child(void)
{
	weft__wake(&word, 1, 0);
	const struct timespec past = {0, 0};
	(void)!weft__wait(&word, 0, &past, 0);
	/* and a public primitive that sleeps (another bucket, maybe) */
	weft_sem_t sem;
	if (weft_sem_init(&sem, 0, 0) != WEFT_OK)
		_exit(3);
	struct timespec d = weft_deadline_after_ns(1000);
	(void)!weft_sem_timedwait(&sem, &d);
}

static void test_fork_wait(void)
{
	printf("  (wait backend: %s)\n", weft__wait_backend());
	CHECK(fork_while(wait_hammer, wait_child, "wait or wake"));
}

/* A thread asleep in the wait layer at fork(): in the child it does not
 * exist, but (portable backend) the bucket's condvar still counts it. */
static uint32_t sleep_word;

static pid_t sleeper_tid;

static void *sleeper_main(void *arg)
{
	(void)arg;
	__atomic_store_n(&sleeper_tid, check_gettid(), __ATOMIC_RELEASE); /* pairs with the test's acquire load */
	/* acquire: pairs with the release store in test_fork_sleeper() */
	while (__atomic_load_n(&sleep_word, __ATOMIC_ACQUIRE) == 0)
		(void)!weft__wait(&sleep_word, 0, NULL, 0);
	return NULL;
}

static void sleeper_child(void)
{
	weft__wake(&sleep_word, 1, 0);
	weft__wake(&sleep_word, INT32_MAX, 0);
	const struct timespec past = {0, 0};
	(void)!weft__wait(&sleep_word, 0, &past, 0);
	struct timespec soon = weft_deadline_after_ns(1000);
	(void)!weft__wait(&sleep_word, 0, &soon, 0);
	weft__wake(&sleep_word, 1, 0);
}

static void test_fork_sleeper(void)
{
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, sleeper_main, NULL), 0);
	pid_t tid;
	while ((tid = __atomic_load_n(&sleeper_tid, __ATOMIC_ACQUIRE)) == 0) /* pairs with the sleeper's store */
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), tid);
	int ok = 1;
	for (int i = 0; i < 5 && ok; i++)
		ok = fork_child_ok(sleeper_child, "wake or wait on a word a parent thread sleeps on", i);
	CHECK(ok);
	/* release: pairs with the sleeper's acquire load */
	__atomic_store_n(&sleep_word, 1, __ATOMIC_RELEASE);
	weft__wake(&sleep_word, INT32_MAX, 0);
	pthread_join(t, NULL);
}

/* ---- the lock-order graph (WEFT_DEBUG; a release build has no such lock) ---- */

static weft_mutex_t outer = WEFT_MUTEX_INIT, inner = WEFT_MUTEX_INIT;

static void lockdep_hammer(void)
{
	weft_mutex_lock(&outer);
	weft_mutex_lock(&inner); /* records outer -> inner under the graph's mutex */
	weft_mutex_unlock(&inner);
	weft_mutex_unlock(&outer);
}

static void lockdep_child(void)
{
	/* not the hammer's mutexes: the hammer thread may hold them, and a
	 * user's lock held across fork() is the user's to handle */
	weft_mutex_t a = WEFT_MUTEX_INIT, b = WEFT_MUTEX_INIT;
	weft_mutex_lock(&a);
	weft_mutex_lock(&b);
	weft_mutex_unlock(&b);
	weft_mutex_unlock(&a);
}

static void test_fork_lockdep(void)
{
	CHECK(fork_while(lockdep_hammer, lockdep_child, "mutex lock"));
}

int main(void)
{
	RUN_TEST(test_fork_scounter);
	RUN_TEST(test_fork_pool);
	RUN_TEST(test_fork_wait);
	RUN_TEST(test_fork_sleeper);
	RUN_TEST(test_fork_lockdep);
	return check_summary();
}
