/* SPDX-License-Identifier: MIT */
/*
 * test_once_barrier_latch.c - weft_once_t, weft_barrier_t, weft_latch_t:
 * initial states, every documented bad input (barrier count 0, latch count
 * above the maximum, a count-down below zero), the timed latch wait (past
 * deadline, timeout, each malformed timespec), sleeping waiters woken, the
 * barrier's one true per phase across phases, and the recursive weft_once()
 * that aborts instead of deadlocking.
 *
 * No timing assertion: waiters are released only after they are seen asleep,
 * and waits that should end carry a far deadline or run under alarm().
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "spinwait.h"
#include "weft/weft.h"

#define SEC_NS (1000ull * 1000 * 1000)
#define GENEROUS_NS (60 * SEC_NS)
#define HANG_ALARM_S 600

/* ---- once ------------------------------------------------------------------ */

static int once_calls; /* atomic */
static int once_data;  /* plain: written by fn, read after weft_once() */

static void once_fn(void)
{
	__atomic_fetch_add(&once_calls, 1, __ATOMIC_RELAXED);
	once_data = 42;
}

static void test_once_single_thread(void)
{
	weft_once_t zero;
	memset(&zero, 0, sizeof(zero));
	weft_once_t o = WEFT_ONCE_INIT;
	CHECK(memcmp(&o, &zero, sizeof(o)) == 0);
	CHECK(!weft_once_done(&o));
	once_calls = 0;
	weft_once(&o, once_fn);
	CHECK(weft_once_done(&o));
	weft_once(&o, once_fn);
	weft_once(&zero, once_fn);
	CHECK_EQ(__atomic_load_n(&once_calls, __ATOMIC_RELAXED), 2); /* one per object */
	CHECK_EQ(o.state, WEFT_ONCE_DONE);
	CHECK_EQ(sizeof(weft_once_t), 4);
}

/* Threads that arrive while fn runs sleep until it returns, then all see its
 * writes; fn runs once.  fn blocks until the others are asleep. */
static weft_once_t slow_once = WEFT_ONCE_INIT;
static weft_latch_t slow_started = WEFT_LATCH_INIT(1);
static weft_latch_t slow_release = WEFT_LATCH_INIT(1);
static int slow_calls;
static int slow_data;

static void slow_fn(void)
{
	slow_calls++; /* plain: only the one runner writes it */
	(void)!weft_latch_count_down(&slow_started, 1);
	weft_latch_wait(&slow_release);
	slow_data = 7;
}

struct once_thread {
	int saw; /* slow_data after weft_once() */
	pid_t tid;
	int started; /* atomic */
	pthread_t thread;
};

static void *once_thread_main(void *arg)
{
	struct once_thread *t = arg;
	t->tid = check_gettid();
	__atomic_store_n(&t->started, 1, __ATOMIC_RELEASE);
	weft_once(&slow_once, slow_fn);
	t->saw = slow_data;
	return NULL;
}

static void test_once_waiters_sleep(void)
{
	enum { N = 4 };
	struct once_thread t[N];
	memset(t, 0, sizeof(t));
	CHECK_EQ(pthread_create(&t[0].thread, NULL, once_thread_main, &t[0]), 0);
	weft_latch_wait(&slow_started); /* t[0] runs fn now */
	for (int i = 1; i < N; i++)
		CHECK_EQ(pthread_create(&t[i].thread, NULL, once_thread_main, &t[i]), 0);
	for (int i = 1; i < N; i++) {
		while (!__atomic_load_n(&t[i].started, __ATOMIC_ACQUIRE))
			sched_yield();
		(void)check_wait_until_sleeping(getpid(), t[i].tid);
	}
	CHECK(!weft_once_done(&slow_once));
	(void)!weft_latch_count_down(&slow_release, 1);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i].thread, NULL);
		CHECK_EQ(t[i].saw, 7);
	}
	CHECK_EQ(slow_calls, 1);
	CHECK(weft_once_done(&slow_once));
}

/* Many threads race for the first call: exactly one runs fn. */
static weft_once_t race_once = WEFT_ONCE_INIT;
static int race_calls; /* atomic */
static void race_fn(void)
{
	__atomic_fetch_add(&race_calls, 1, __ATOMIC_RELAXED);
	usleep(2000); /* let the others arrive while it runs */
}
static void *race_main(void *arg)
{
	(void)arg;
	weft_once(&race_once, race_fn);
	return (void *)(uintptr_t)weft_once_done(&race_once);
}

static void test_once_race(void)
{
	enum { N = 8 };
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, race_main, NULL), 0);
	for (int i = 0; i < N; i++) {
		void *done = NULL;
		pthread_join(t[i], &done);
		CHECK(done != NULL);
	}
	CHECK_EQ(__atomic_load_n(&race_calls, __ATOMIC_RELAXED), 1);
}

/* fn calling weft_once() on its own object would deadlock: it aborts. */
static weft_once_t recursive_once = WEFT_ONCE_INIT;
static void recursive_fn(void)
{
	weft_once(&recursive_once, recursive_fn);
}
static void recursive_child(void)
{
	alarm(10); /* a deadlock would end as SIGALRM, not SIGABRT: the test fails */
	weft_once(&recursive_once, recursive_fn);
}

static void test_once_recursive_aborts(void)
{
	CHECK(check_child_aborts(recursive_child, "called again from its own function"));
}

/* ---- barrier --------------------------------------------------------------- */

static void test_barrier_init(void)
{
	weft_barrier_t b;
	memset(&b, 0x3c, sizeof(b));
	weft_barrier_t before = b;
	CHECK_STATUS(weft_barrier_init(&b, 0), WEFT_EINVAL);
	CHECK(memcmp(&b, &before, sizeof(b)) == 0);
	CHECK_STATUS(weft_barrier_init(&b, 3), WEFT_OK);
	weft_barrier_t st = WEFT_BARRIER_INIT(3);
	CHECK(memcmp(&b, &st, sizeof(b)) == 0);
	before = b;
	CHECK_STATUS(weft_barrier_init(&b, UINT32_MAX), WEFT_EINVAL); /* above WEFT_BARRIER_MAX */
	CHECK(memcmp(&b, &before, sizeof(b)) == 0);
	CHECK_STATUS(weft_barrier_init(&b, WEFT_BARRIER_MAX), WEFT_OK);
	weft_barrier_destroy(&b);
	CHECK_EQ(sizeof(weft_barrier_t), 12);
}

/* A barrier of one never blocks and always returns true. */
static void test_barrier_one(void)
{
	weft_barrier_t b = WEFT_BARRIER_INIT(1);
	for (int i = 0; i < 5; i++)
		CHECK(weft_barrier_wait(&b));
	CHECK_EQ(b.phase, 5 * WEFT_BARRIER_PHASE_STEP);
}

#define B_THREADS 4
#define B_PHASES 200

struct barrier_run {
	weft_barrier_t b;
	int slot[B_THREADS];   /* each thread's phase; read by all after the barrier */
	int trues[B_PHASES];   /* atomic: true returns per phase */
	int mixed;             /* atomic: a thread saw another in a different phase */
	int sleep_first;       /* the first thread naps in each phase, so others sleep */
};

struct barrier_arg {
	struct barrier_run *r;
	int id;
};

static void *barrier_main(void *arg)
{
	struct barrier_arg *a = arg;
	struct barrier_run *r = a->r;
	for (int p = 0; p < B_PHASES; p++) {
		r->slot[a->id] = p; /* plain: published by the barrier */
		if (r->sleep_first && a->id == 0 && p % 50 == 0)
			usleep(2000);
		if (weft_barrier_wait(&r->b))
			__atomic_fetch_add(&r->trues[p], 1, __ATOMIC_RELAXED);
		for (int i = 0; i < B_THREADS; i++)
			if (r->slot[i] != p)
				__atomic_store_n(&r->mixed, 1, __ATOMIC_RELAXED);
		/* second barrier: nobody writes its next slot while others read */
		if (weft_barrier_wait(&r->b))
			__atomic_fetch_add(&r->trues[p], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_barrier_phases(void)
{
	for (int nap = 0; nap < 2; nap++) {
		struct barrier_run r;
		memset(&r, 0, sizeof(r));
		CHECK_STATUS(weft_barrier_init(&r.b, B_THREADS), WEFT_OK);
		r.sleep_first = nap;
		pthread_t t[B_THREADS];
		struct barrier_arg a[B_THREADS];
		for (int i = 0; i < B_THREADS; i++) {
			a[i] = (struct barrier_arg){&r, i};
			CHECK_EQ(pthread_create(&t[i], NULL, barrier_main, &a[i]), 0);
		}
		for (int i = 0; i < B_THREADS; i++)
			pthread_join(t[i], NULL);
		CHECK_EQ(r.mixed, 0);
		int bad = 0;
		for (int p = 0; p < B_PHASES; p++)
			bad += r.trues[p] != 2; /* two barriers per loop: one true each */
		CHECK_EQ(bad, 0);
		CHECK_EQ(r.b.arrived, 0); /* an even number of phases: parity 0 */
		CHECK_EQ(r.b.phase & ~WEFT_BARRIER_SLEEPERS, 2u * B_PHASES * WEFT_BARRIER_PHASE_STEP);
	}
}

/* ---- latch ----------------------------------------------------------------- */

static void test_latch_init(void)
{
	weft_latch_t zero;
	memset(&zero, 0, sizeof(zero));
	CHECK(weft_latch_try_wait(&zero)); /* all-zero: open */
	weft_latch_wait(&zero);
	weft_latch_t l = WEFT_LATCH_INIT(9);
	CHECK_STATUS(weft_latch_init(&l, WEFT_LATCH_MAX + 1u), WEFT_EINVAL);
	CHECK_STATUS(weft_latch_init(&l, ~0u), WEFT_EINVAL);
	CHECK_EQ(l.state, 9); /* untouched */
	CHECK_STATUS(weft_latch_init(&l, WEFT_LATCH_MAX), WEFT_OK);
	CHECK(!weft_latch_try_wait(&l));
	CHECK_STATUS(weft_latch_count_down(&l, WEFT_LATCH_MAX), WEFT_OK);
	CHECK(weft_latch_try_wait(&l));
	CHECK_STATUS(weft_latch_init(&l, 0), WEFT_OK);
	CHECK(weft_latch_try_wait(&l));
	weft_latch_destroy(&l);
	CHECK_EQ(sizeof(weft_latch_t), 4);
}

static void test_latch_count_down(void)
{
	weft_latch_t l;
	CHECK_STATUS(weft_latch_init(&l, 3), WEFT_OK);
	CHECK_STATUS(weft_latch_count_down(&l, 0), WEFT_OK);
	CHECK_EQ(l.state, 3);
	CHECK_STATUS(weft_latch_count_down(&l, 4), WEFT_EINVAL); /* below zero: refused */
	CHECK_STATUS(weft_latch_count_down(&l, ~0u), WEFT_EINVAL);
	CHECK_EQ(l.state, 3); /* unchanged */
	CHECK_STATUS(weft_latch_count_down(&l, 2), WEFT_OK);
	CHECK(!weft_latch_try_wait(&l));
	CHECK_STATUS(weft_latch_count_down(&l, 2), WEFT_EINVAL);
	CHECK_STATUS(weft_latch_count_down(&l, 1), WEFT_OK);
	CHECK(weft_latch_try_wait(&l));
	CHECK_STATUS(weft_latch_count_down(&l, 1), WEFT_EINVAL); /* already open */
	CHECK_STATUS(weft_latch_count_down(&l, 0), WEFT_OK);
	CHECK_EQ(l.state, 0);
}

static void test_latch_timed(void)
{
	weft_latch_t l = WEFT_LATCH_INIT(1);
	struct timespec bad[] = {{0, -1}, {0, 1000000000L}, {-1, 0}};
	CHECK_STATUS(weft_latch_timedwait(&l, NULL), WEFT_EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_STATUS(weft_latch_timedwait(&l, &bad[i]), WEFT_EINVAL);
	struct timespec past = {0, 0};
	errno = 55;
	CHECK_STATUS(weft_latch_timedwait(&l, &past), WEFT_ETIMEDOUT);
	CHECK_EQ(errno, 55);
	struct timespec d = weft_deadline_after_ns(20 * 1000 * 1000);
	CHECK_STATUS(weft_latch_timedwait(&l, &d), WEFT_ETIMEDOUT);
	CHECK(weft_deadline_passed(&d));
	CHECK_EQ(l.state & WEFT_LATCH_COUNT_MASK, 1);
	/* a timed-out sleeper may leave the WAITERS bit: a count_down still works */
	CHECK_STATUS(weft_latch_count_down(&l, 1), WEFT_OK);
	CHECK_EQ(l.state, 0);
	CHECK_STATUS(weft_latch_timedwait(&l, &past), WEFT_OK); /* open: OK even past */
	CHECK_STATUS(weft_latch_timedwait(&l, &d), WEFT_OK);
}

struct latch_waiter {
	weft_latch_t *l;
	bool timed;
	int rc;
	pid_t tid;
	int started; /* atomic */
	pthread_t thread;
};

static void *latch_waiter_main(void *arg)
{
	struct latch_waiter *w = arg;
	w->tid = check_gettid();
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	if (w->timed) {
		struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
		w->rc = weft_latch_timedwait(w->l, &d);
	} else {
		weft_latch_wait(w->l);
		w->rc = WEFT_OK;
	}
	return NULL;
}

/* Sleepers are woken by the count_down that reaches zero, not before. */
/* Issue 12: a deadline that has passed returns at once (docs/errors.md):
 * no yield, no sleep, and no WAITERS bit left behind (the old wait yielded
 * 12 times and set WAITERS before it looked at the deadline). */
static void test_latch_past_deadline_at_once(void)
{
	weft_latch_t l = WEFT_LATCH_INIT(2);
	struct timespec past = {0, 0};
	unsigned long yields = weft__spin_stats.yields, parks = weft__spin_stats.parks;
	CHECK_STATUS(weft_latch_timedwait(&l, &past), WEFT_ETIMEDOUT);
	CHECK_EQ(l.state, 2); /* the count, and no WAITERS */
	CHECK_EQ(weft__spin_stats.yields, yields);
	CHECK_EQ(weft__spin_stats.parks, parks);
	CHECK_STATUS(weft_latch_count_down(&l, 2), WEFT_OK);
	CHECK_STATUS(weft_latch_timedwait(&l, &past), WEFT_OK);
}

static void test_latch_wakes_sleepers(void)
{
	enum { N = 4 };
	weft_latch_t l = WEFT_LATCH_INIT(3);
	struct latch_waiter w[N];
	for (int i = 0; i < N; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].l = &l;
		w[i].timed = i & 1;
		CHECK_EQ(pthread_create(&w[i].thread, NULL, latch_waiter_main, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		while (!__atomic_load_n(&w[i].started, __ATOMIC_ACQUIRE))
			sched_yield();
		(void)check_wait_until_sleeping(getpid(), w[i].tid);
	}
	CHECK_STATUS(weft_latch_count_down(&l, 2), WEFT_OK);
	for (int i = 0; i < N; i++) /* still closed: they sleep on */
		(void)check_wait_until_sleeping(getpid(), w[i].tid);
	CHECK(!weft_latch_try_wait(&l));
	CHECK_STATUS(weft_latch_count_down(&l, 1), WEFT_OK);
	for (int i = 0; i < N; i++) {
		pthread_join(w[i].thread, NULL);
		CHECK_STATUS(w[i].rc, WEFT_OK);
	}
}

int main(void)
{
	alarm(HANG_ALARM_S);
	RUN_TEST(test_once_single_thread);
	RUN_TEST(test_once_waiters_sleep);
	RUN_TEST(test_once_race);
	RUN_TEST(test_once_recursive_aborts);
	RUN_TEST(test_barrier_init);
	RUN_TEST(test_barrier_one);
	RUN_TEST(test_barrier_phases);
	RUN_TEST(test_latch_init);
	RUN_TEST(test_latch_count_down);
	RUN_TEST(test_latch_timed);
	RUN_TEST(test_latch_past_deadline_at_once);
	RUN_TEST(test_latch_wakes_sleepers);
	return check_summary();
}
