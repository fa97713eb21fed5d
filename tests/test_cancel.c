/* SPDX-License-Identifier: MIT */
/*
 * test_cancel.c - pthread_cancel() of a thread blocked in a weft call
 * (issue 12; docs/errors.md "Threads, fork() and cancellation").
 *
 * The contract: no weft call is a thread-cancellation point.  A thread
 * cancelled (deferred, the default) while it sleeps in a weft call stays in
 * it until the call returns as it would have (woken, or its deadline); the
 * cancellation then acts at the thread's next cancellation point.  Nothing of
 * weft's stays locked, and the object, and every object that shares its wait
 * bucket (portable backend), works afterwards.
 *
 * For each blocking call (mutex lock, cond wait, sem wait, latch wait, barrier
 * wait, rwlock rdlock and wrlock, mpmc pop): a victim thread blocks in it; once
 * the victim sleeps, this thread cancels it, then releases the object the
 * ordinary way.  The victim must come out of the call (it sets `returned`),
 * reach pthread_testcancel() and end there (join gives PTHREAD_CANCELED);
 * then a second thread blocks in the same call on the same object and is
 * released normally, and a wake on thousands of other words reaches every
 * wait bucket.  Each case runs in a forked child under alarm(): a
 * cancellation inside the wait layer that leaves its lock held hangs the
 * release, and the watchdog turns that into a failure.  Run on both wait
 * backends (make test; make test EXTRA_CFLAGS=-DWEFT_WAIT_PORTABLE).  No timing
 * assertion: waiting until the victim sleeps only makes the sleeping path the
 * one tested.
 */
#include <pthread.h>

#include "check.h"
#include "wait.h"
#include "weft/weft.h"

#define CHILD_WATCHDOG 20 /* seconds; a healthy case takes milliseconds */

static weft_mutex_t mx;
static weft_cond_t cv;
static int cond_flag; /* under mx */
static weft_sem_t sem;
static weft_latch_t latch;
static weft_barrier_t barrier;
static weft_rwlock_t rw;
static weft_mpmc_t *queue;
static int token;

/* ---- the blocking calls, and how this thread lets each one go ---- */

static void mutex_block(void)
{
	weft_mutex_lock(&mx);
	weft_mutex_unlock(&mx);
}
static void mutex_hold(void)
{
	weft_mutex_lock(&mx);
}
static void mutex_release(void)
{
	weft_mutex_unlock(&mx);
}

static void cond_block(void)
{
	weft_mutex_lock(&mx);
	while (!cond_flag)
		weft_cond_wait(&cv, &mx);
	cond_flag = 0;
	weft_mutex_unlock(&mx);
}
static void cond_hold(void)
{
}
static void cond_release(void)
{
	weft_mutex_lock(&mx);
	cond_flag = 1;
	weft_cond_signal(&cv);
	weft_mutex_unlock(&mx);
}

static void sem_block(void)
{
	weft_sem_wait(&sem);
}
static void sem_hold(void)
{
}
static void sem_release(void)
{
	(void)!weft_sem_post(&sem);
}

static void latch_block(void)
{
	weft_latch_wait(&latch);
}
static void latch_hold(void)
{
	(void)!weft_latch_init(&latch, 1);
}
static void latch_release(void)
{
	(void)!weft_latch_count_down(&latch, 1);
}

static void barrier_block(void)
{
	(void)!weft_barrier_wait(&barrier);
}
static void barrier_hold(void)
{
}
static void barrier_release(void)
{
	(void)!weft_barrier_wait(&barrier);
}

static void rdlock_block(void)
{
	weft_rwlock_rdlock(&rw);
	weft_rwlock_rdunlock(&rw);
}
static void wrlock_block(void)
{
	weft_rwlock_wrlock(&rw);
	weft_rwlock_wrunlock(&rw);
}
static void rw_hold_write(void)
{
	weft_rwlock_wrlock(&rw);
}
static void rw_release_write(void)
{
	weft_rwlock_wrunlock(&rw);
}
static void rw_hold_read(void)
{
	weft_rwlock_rdlock(&rw);
}
static void rw_release_read(void)
{
	weft_rwlock_rdunlock(&rw);
}

static void pop_block(void)
{
	void *v;
	(void)!weft_mpmc_pop(queue, &v);
}
static void pop_hold(void)
{
}
static void pop_release(void)
{
	(void)!weft_mpmc_push(queue, &token);
}

struct cancel_case {
	const char *name;
	void (*block)(void);   /* what the victim does (and undoes) */
	void (*hold)(void);    /* before the victim starts: make it block */
	void (*release)(void); /* after the cancel: let it go */
};

static const struct cancel_case cases[] = {
	{"weft_mutex_lock", mutex_block, mutex_hold, mutex_release},
	{"weft_cond_wait", cond_block, cond_hold, cond_release},
	{"weft_sem_wait", sem_block, sem_hold, sem_release},
	{"weft_latch_wait", latch_block, latch_hold, latch_release},
	{"weft_barrier_wait", barrier_block, barrier_hold, barrier_release},
	{"weft_rwlock_rdlock", rdlock_block, rw_hold_write, rw_release_write},
	{"weft_rwlock_wrlock", wrlock_block, rw_hold_read, rw_release_read},
	{"weft_mpmc_pop", pop_block, pop_hold, pop_release},
};

/* ---- the victim ---- */

static const struct cancel_case *current;
static pid_t victim_tid;
static int returned; /* the victim came out of its weft call */

static void *victim_main(void *arg)
{
	(void)arg;
	/* release: pairs with the acquire load in wait_for_victim() */
	__atomic_store_n(&victim_tid, check_gettid(), __ATOMIC_RELEASE);
	current->block();
	/* release: pairs with the acquire load after the join */
	__atomic_store_n(&returned, 1, __ATOMIC_RELEASE);
	pthread_testcancel(); /* the cancellation acts here, not inside weft */
	return NULL;
}

static void wait_for_victim(void)
{
	pid_t tid;
	while ((tid = __atomic_load_n(&victim_tid, __ATOMIC_ACQUIRE)) == 0) /* pairs with victim_main() */
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), tid);
}

/* One round: a victim blocks; cancelled or not, it is then released.  Exit
 * status of the child: 0, or the number of the failed step. */
static int one_round(int cancel)
{
	__atomic_store_n(&victim_tid, 0, __ATOMIC_RELAXED); /* relaxed: no thread runs yet */
	__atomic_store_n(&returned, 0, __ATOMIC_RELAXED);
	current->hold();
	pthread_t t;
	if (pthread_create(&t, NULL, victim_main, NULL) != 0)
		return 2;
	wait_for_victim();
	if (cancel && pthread_cancel(t) != 0)
		return 3;
	current->release(); /* hangs if the cancelled waiter kept a lock of weft's */
	void *res;
	if (pthread_join(t, &res) != 0)
		return 4;
	if (!__atomic_load_n(&returned, __ATOMIC_ACQUIRE)) /* pairs with victim_main() */
		return 5; /* cancelled inside the weft call: it is a cancellation point */
	if (res != (cancel ? PTHREAD_CANCELED : NULL))
		return 6;
	return 0;
}

static void run_case(void)
{
	(void)!weft_mutex_init(&mx, 0);
	(void)!weft_cond_init(&cv, 0);
	(void)!weft_sem_init(&sem, 0, 0);
	(void)!weft_barrier_init(&barrier, 2);
	(void)!weft_rwlock_init(&rw, 0);
	queue = weft_mpmc_create(2, 0);
	if (queue == NULL)
		_exit(7);
	int rc = one_round(1); /* cancelled */
	if (rc == 0)
		rc = one_round(0); /* the object (and its wait bucket) still works */
	if (rc)
		_exit(rc);
	/* Every other object too: a wake on 4096 words reaches every bucket of
	 * the portable backend's table (a bucket lock kept by the dead waiter
	 * would hang here); on the futex backend these are 4096 cheap syscalls. */
	static uint32_t words[4096];
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		weft__wake(&words[i], 1, 0);
}

static const char *step_name(int rc)
{
	switch (rc) {
	case 5:
		return "the victim was cancelled inside the weft call";
	case 6:
		return "the victim's end did not match (PTHREAD_CANCELED when cancelled, NULL when not)";
	default:
		return "setup failed";
	}
}

static void test_cancel_blocked(void)
{
	printf("  (wait backend: %s)\n", weft__wait_backend());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		current = &cases[i];
		fflush(NULL);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid < 0)
			return;
		if (pid == 0) {
			alarm(CHILD_WATCHDOG);
			run_case();
			_exit(0);
		}
		int status;
		while (waitpid(pid, &status, 0) < 0)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			fprintf(stderr, "  %s: hung after a waiter in it was cancelled (a lock of weft's kept)\n",
				cases[i].name);
		else if (WIFEXITED(status))
			fprintf(stderr, "  %s: %s (step %d)\n", cases[i].name, step_name(WEXITSTATUS(status)),
				WEXITSTATUS(status));
		else
			fprintf(stderr, "  %s: child status 0x%x\n", cases[i].name, (unsigned)status);
		check__fail();
	}
}

int main(void)
{
	RUN_TEST(test_cancel_blocked);
	return check_summary();
}
