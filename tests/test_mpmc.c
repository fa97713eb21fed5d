/* SPDX-License-Identifier: MIT */
/*
 * test_mpmc.c - weft_mpmc_t: creation and bad input, FIFO order, full and
 * empty, batches across the wrap-around, timed calls, close with sleepers,
 * an idle consumer's CPU use, and a process-shared queue between a parent
 * and a child.  No assertion depends on timing.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "spinwait.h"
#include "weft/mpmc.h"
#include "weft/weft.h"

#define V(i) ((void *)(uintptr_t)(i))
#define U(p) ((uintptr_t)(p))

/* Wait (up to 30 s, then fail) until @n threads have registered as sleepers. */
static void wait_sleepers(uint32_t *count, uint32_t n)
{
	for (int i = 0; i < 30000; i++) {
		if ((__atomic_load_n(count, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS) >= n)
			return;
		usleep(1000);
	}
	CHECK_GE(__atomic_load_n(count, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS, n);
}

static struct timespec past(void)
{
	struct timespec ts = {0, 0}; /* the clock started long ago */
	return ts;
}

/* ---- creation and bad input ------------------------------------------------ */

static void test_validate_and_bytes(void)
{
	CHECK_STATUS(weft_mpmc_validate(2, 0), WEFT_OK);
	CHECK_STATUS(weft_mpmc_validate(1024, WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_mpmc_validate(WEFT_MPMC_CAPACITY_MAX, 0), WEFT_OK);
	CHECK_STATUS(weft_mpmc_validate(0, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_validate(1, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_validate(3, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_validate(1000, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_validate(WEFT_MPMC_CAPACITY_MAX * 2, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_validate(SIZE_MAX, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_validate(4, 0x2), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_validate(4, 0x80000000u), WEFT_EINVAL);

	CHECK_EQ(weft_mpmc_bytes(2), 256);            /* 192 + 2 * 16, rounded to 64 */
	CHECK_EQ(weft_mpmc_bytes(1024), 192 + 16384); /* already a multiple of 64 */
	CHECK_EQ(weft_mpmc_bytes(0), 0);
	CHECK_EQ(weft_mpmc_bytes(3), 0);
	CHECK_EQ(weft_mpmc_bytes(WEFT_MPMC_CAPACITY_MAX * 2), 0);
	CHECK_EQ(weft_mpmc_bytes(2) % WEFT_CACHE_LINE, 0);
}

static void test_create_bad_input(void)
{
	CHECK(weft_mpmc_create(0, 0) == NULL);
	CHECK(weft_mpmc_create(1, 0) == NULL);
	CHECK(weft_mpmc_create(3, 0) == NULL);
	CHECK(weft_mpmc_create(WEFT_MPMC_CAPACITY_MAX * 2, 0) == NULL);
	CHECK(weft_mpmc_create(SIZE_MAX, 0) == NULL);
	CHECK(weft_mpmc_create(8, 0x2) == NULL);
	CHECK(weft_mpmc_create(8, ~0u) == NULL);
	weft_mpmc_destroy(NULL); /* documented no-op */

	weft_mpmc_t *q = weft_mpmc_create(8, 0);
	CHECK(q != NULL);
	CHECK_EQ(weft_mpmc_capacity(q), 8);
	CHECK_EQ(weft_mpmc_size_approx(q), 0);
	CHECK(!weft_mpmc_is_closed(q));
	weft_mpmc_destroy(q);
}

static void test_init_at_bad_input(void)
{
	size_t bytes = weft_mpmc_bytes(16);
	char *mem = aligned_alloc(WEFT_CACHE_LINE, bytes + WEFT_CACHE_LINE);
	CHECK(mem != NULL);
	CHECK(weft_mpmc_init_at(NULL, 16, 0) == NULL);
	CHECK(weft_mpmc_init_at(mem + 8, 16, 0) == NULL); /* misaligned */
	CHECK(weft_mpmc_init_at(mem, 0, 0) == NULL);
	CHECK(weft_mpmc_init_at(mem, 12, 0) == NULL);
	CHECK(weft_mpmc_init_at(mem, WEFT_MPMC_CAPACITY_MAX * 2, 0) == NULL);
	CHECK(weft_mpmc_init_at(mem, 16, 0x4) == NULL);
	weft_mpmc_t *q = weft_mpmc_init_at(mem, 16, 0);
	CHECK(q == (weft_mpmc_t *)(void *)mem);
	CHECK(weft_mpmc_try_push(q, V(7)));
	void *out = NULL;
	CHECK(weft_mpmc_try_pop(q, &out));
	CHECK_EQ(U(out), 7);
	weft_mpmc_destroy(q); /* does not free placed memory */
	free(mem);
}

/* ---- single-thread semantics ----------------------------------------------- */

static void test_fifo_full_empty_laps(void)
{
	enum { CAP = 16 };
	weft_mpmc_t *q = weft_mpmc_create(CAP, 0);
	void *out = V(123);
	CHECK(!weft_mpmc_try_pop(q, &out));
	CHECK_EQ(U(out), 123); /* untouched on failure */
	uintptr_t next_in = 1, next_out = 1;
	for (int lap = 0; lap < 10; lap++) {
		for (int i = 0; i < CAP; i++)
			CHECK(weft_mpmc_try_push(q, V(next_in++)));
		CHECK(!weft_mpmc_try_push(q, V(999)));
		CHECK_EQ(weft_mpmc_size_approx(q), CAP);
		for (int i = 0; i < CAP; i++) {
			CHECK(weft_mpmc_try_pop(q, &out));
			CHECK_EQ(U(out), next_out++);
		}
		CHECK(!weft_mpmc_try_pop(q, &out));
		CHECK_EQ(weft_mpmc_size_approx(q), 0);
	}
	/* Half full, many laps: positions keep growing, order holds. */
	for (int i = 0; i < 1000; i++) {
		CHECK(weft_mpmc_try_push(q, V(next_in++)));
		if (i >= CAP / 2) {
			CHECK(weft_mpmc_try_pop(q, &out));
			CHECK_EQ(U(out), next_out++);
		}
	}
	CHECK_EQ(weft_mpmc_size_approx(q), CAP / 2);
	weft_mpmc_destroy(q);
}

static void test_null_and_blocking_calls_single_thread(void)
{
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	void *out = V(1);
	CHECK_STATUS(weft_mpmc_push(q, NULL), WEFT_OK);
	CHECK_STATUS(weft_mpmc_push(q, V(5)), WEFT_OK);
	CHECK_STATUS(weft_mpmc_pop(q, &out), WEFT_OK);
	CHECK(out == NULL);
	CHECK_STATUS(weft_mpmc_pop(q, &out), WEFT_OK);
	CHECK_EQ(U(out), 5);
	weft_mpmc_destroy(q);
}

static void test_capacity_two_wraps(void)
{
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	void *out;
	for (uintptr_t i = 0; i < 100; i++) {
		CHECK(weft_mpmc_try_push(q, V(2 * i)));
		CHECK(weft_mpmc_try_push(q, V(2 * i + 1)));
		CHECK(!weft_mpmc_try_push(q, V(0)));
		CHECK(weft_mpmc_try_pop(q, &out));
		CHECK_EQ(U(out), 2 * i);
		CHECK(weft_mpmc_try_pop(q, &out));
		CHECK_EQ(U(out), 2 * i + 1);
		CHECK(!weft_mpmc_try_pop(q, &out));
	}
	weft_mpmc_destroy(q);
}

/* ---- batches ----------------------------------------------------------------- */

static void test_batches_across_wrap(void)
{
	enum { CAP = 8 };
	weft_mpmc_t *q = weft_mpmc_create(CAP, 0);
	void *in[20], *out[20];
	for (int i = 0; i < 20; i++)
		in[i] = V(100 + i);
	/* Move the positions to 5 so that batches cross the end of the array. */
	for (int i = 0; i < 5; i++) {
		CHECK(weft_mpmc_try_push(q, V(i)));
		CHECK(weft_mpmc_try_pop(q, &out[0]));
	}
	CHECK_EQ(weft_mpmc_push_n(q, in, 6), 6); /* slots 5,6,7,0,1,2 */
	CHECK_EQ(weft_mpmc_push_n(q, in + 6, 5), 2); /* only 2 free */
	CHECK_EQ(weft_mpmc_push_n(q, in + 8, 3), 0); /* full */
	CHECK(!weft_mpmc_try_push(q, V(0)));
	CHECK_EQ(weft_mpmc_size_approx(q), CAP);

	CHECK_EQ(weft_mpmc_pop_n(q, out, 3), 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(U(out[i]), 100 + i);
	CHECK_EQ(weft_mpmc_push_n(q, in + 8, 12), 3); /* room for 3, n above capacity is fine */
	CHECK_EQ(weft_mpmc_pop_n(q, out, 20), CAP);
	for (int i = 0; i < CAP; i++)
		CHECK_EQ(U(out[i]), 103 + i);
	CHECK_EQ(weft_mpmc_pop_n(q, out, 4), 0); /* empty */

	/* Batches and single operations interleave in FIFO order. */
	CHECK(weft_mpmc_try_push(q, V(1)));
	CHECK_EQ(weft_mpmc_push_n(q, in, 2), 2);
	CHECK(weft_mpmc_try_push(q, V(2)));
	CHECK(weft_mpmc_try_pop(q, &out[0]));
	CHECK_EQ(U(out[0]), 1);
	CHECK_EQ(weft_mpmc_pop_n(q, out, 2), 2);
	CHECK_EQ(U(out[0]), 100);
	CHECK_EQ(U(out[1]), 101);
	CHECK(weft_mpmc_try_pop(q, &out[0]));
	CHECK_EQ(U(out[0]), 2);

	/* Bad input: NULL arrays, n == 0. */
	CHECK_EQ(weft_mpmc_push_n(q, NULL, 3), 0);
	CHECK_EQ(weft_mpmc_push_n(q, in, 0), 0);
	CHECK_EQ(weft_mpmc_pop_n(q, NULL, 3), 0);
	CHECK_EQ(weft_mpmc_pop_n(q, out, 0), 0);
	CHECK_EQ(weft_mpmc_size_approx(q), 0);
	weft_mpmc_destroy(q);
}

/* ---- timed calls ------------------------------------------------------------- */

static void test_timed_bad_deadline(void)
{
	weft_mpmc_t *q = weft_mpmc_create(4, 0);
	struct timespec bad[] = {{0, -1}, {0, 1000000000L}, {-1, 0}, {5, 2000000000L}};
	void *out = V(77);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_STATUS(weft_mpmc_timedpush(q, V(1), &bad[i]), WEFT_EINVAL);
		CHECK_STATUS(weft_mpmc_timedpop(q, &out, &bad[i]), WEFT_EINVAL);
	}
	CHECK_STATUS(weft_mpmc_timedpush(q, V(1), NULL), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, NULL), WEFT_EINVAL);
	CHECK_EQ(weft_mpmc_size_approx(q), 0); /* nothing was pushed */
	CHECK(weft_mpmc_try_push(q, V(9)));
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, &bad[0]), WEFT_EINVAL);
	CHECK_EQ(weft_mpmc_size_approx(q), 1); /* nothing was popped */
	CHECK_EQ(U(out), 77);
	weft_mpmc_destroy(q);
}

/* Issue 12: the poll of a timed push (pop) is bounded by the deadline, not
 * only by the spin bound: with a bound far longer than the deadline (50 M
 * pauses, over a second), the call ends at the deadline while still polling,
 * so it never parks and makes far fewer than the bound's 1.5 M yields (the
 * old poll checked no deadline, and yielded every 32 pauses until its bound
 * was spent).  A past deadline makes no yield. */
static void test_timed_poll_bounded_by_deadline(void)
{
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	void *out = NULL;
	unsigned old_spin = weft_mpmc_set_spin(50u * 1000 * 1000);
	unsigned long yields = weft__spin_stats.yields, parks = weft__spin_stats.parks;
	struct timespec d = past();
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, &d), WEFT_ETIMEDOUT);
	CHECK_EQ(weft__spin_stats.yields, yields);
	d = weft_deadline_after_ns(1000 * 1000);
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, &d), WEFT_ETIMEDOUT);
	CHECK_EQ(weft__spin_stats.parks, parks);
	CHECK_LT(weft__spin_stats.yields - yields, 50u * 1000 * 1000 / 32 / 2);
	CHECK(weft_mpmc_try_push(q, V(1)));
	CHECK(weft_mpmc_try_push(q, V(2)));
	d = weft_deadline_after_ns(1000 * 1000);
	yields = weft__spin_stats.yields;
	CHECK_STATUS(weft_mpmc_timedpush(q, V(3), &d), WEFT_ETIMEDOUT);
	CHECK_EQ(weft__spin_stats.parks, parks);
	CHECK_LT(weft__spin_stats.yields - yields, 50u * 1000 * 1000 / 32 / 2);
	CHECK_EQ(q->push_sleepers, 0); /* no sleeper registered, no SPINNING left */
	CHECK_EQ(q->pop_sleepers, 0);
	weft_mpmc_set_spin(old_spin);
	weft_mpmc_destroy(q);
}

static void test_timed_past_and_near_deadlines(void)
{
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	struct timespec old = past();
	void *out = NULL;
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, &old), WEFT_ETIMEDOUT);
	struct timespec soon = weft_deadline_after_ns(2 * 1000 * 1000);
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, &soon), WEFT_ETIMEDOUT);
	/* A past deadline still succeeds when no waiting is needed. */
	CHECK_STATUS(weft_mpmc_timedpush(q, V(1), &old), WEFT_OK);
	CHECK_STATUS(weft_mpmc_timedpush(q, V(2), &old), WEFT_OK);
	CHECK_STATUS(weft_mpmc_timedpush(q, V(3), &old), WEFT_ETIMEDOUT);
	soon = weft_deadline_after_ns(2 * 1000 * 1000);
	CHECK_STATUS(weft_mpmc_timedpush(q, V(3), &soon), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, &old), WEFT_OK);
	CHECK_EQ(U(out), 1);
	CHECK_EQ(weft_mpmc_size_approx(q), 1);
	CHECK_EQ(q->push_sleepers, 0); /* timed-out sleepers left */
	CHECK_EQ(q->pop_sleepers, 0);
	weft_mpmc_destroy(q);
}

/* The contention backoff is bounded by the caller's deadline.  A push (pop)
 * that keeps losing the race for a position backs off, and from its second
 * loss on yields the CPU first; a timed call must stop at its deadline rather
 * than go on losing (and yielding, a time slice each on a busy CPU).  The
 * test forges the state an always-winning rival leaves: slot 0 says "position
 * 0 was taken" while tail (head) stays at 0, so every attempt loses.  Before
 * the fix the timed calls never returned (the child died of its alarm); now
 * each returns WEFT_ETIMEDOUT, a past deadline after at most one yield. */
static void lost_races_child(void)
{
	weft_mpmc_t *q = weft_mpmc_create(4, 0);
	weft_mpmc_slot_t *slot0 = weft__mpmc_slot(q, 0);
	int bad = 0;
	__atomic_store_n(&slot0->seq, (uint64_t)1, __ATOMIC_RELAXED); /* a rival pushed at 0; tail stays 0 */
	struct timespec d = past();
	unsigned long yields = weft__spin_stats.yields;
	bad |= weft_mpmc_timedpush(q, V(1), &d) != WEFT_ETIMEDOUT;
	bad |= weft__spin_stats.yields - yields > 1;
	d = weft_deadline_after_ns(2 * 1000 * 1000);
	bad |= weft_mpmc_timedpush(q, V(1), &d) != WEFT_ETIMEDOUT;
	__atomic_store_n(&slot0->seq, (uint64_t)2, __ATOMIC_RELAXED); /* a rival popped 0's value; head stays 0 */
	void *out = NULL;
	d = past();
	yields = weft__spin_stats.yields;
	bad |= weft_mpmc_timedpop(q, &out, &d) != WEFT_ETIMEDOUT;
	bad |= weft__spin_stats.yields - yields > 1;
	d = weft_deadline_after_ns(2 * 1000 * 1000);
	bad |= weft_mpmc_timedpop(q, &out, &d) != WEFT_ETIMEDOUT;
	_exit(bad ? 3 : 0);
}

static void test_backoff_bounded_by_deadline(void)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10); /* before the fix: an endless retry loop */
		lost_races_child();
	}
	CHECK_GT(pid, 0);
	CHECK_EQ(check_wait_child(pid), 0);
}

/* ---- threads ------------------------------------------------------------------- */

struct waiter {
	weft_mpmc_t *q;
	int rc;
	void *value;
	int timed;
};

static void *pop_thread(void *arg)
{
	struct waiter *w = arg;
	if (w->timed) {
		struct timespec dl = weft_deadline_after_ns(60ull * 1000 * 1000 * 1000);
		w->rc = weft_mpmc_timedpop(w->q, &w->value, &dl);
	} else {
		w->rc = weft_mpmc_pop(w->q, &w->value);
	}
	return NULL;
}

static void *push_thread(void *arg)
{
	struct waiter *w = arg;
	if (w->timed) {
		struct timespec dl = weft_deadline_after_ns(60ull * 1000 * 1000 * 1000);
		w->rc = weft_mpmc_timedpush(w->q, w->value, &dl);
	} else {
		w->rc = weft_mpmc_push(w->q, w->value);
	}
	return NULL;
}

static void test_blocked_pop_woken_by_push(void)
{
	for (int timed = 0; timed < 2; timed++) {
		weft_mpmc_t *q = weft_mpmc_create(4, 0);
		struct waiter w = {q, -1, NULL, timed};
		pthread_t t;
		pthread_create(&t, NULL, pop_thread, &w);
		wait_sleepers(&q->pop_sleepers, 1);
		CHECK(weft_mpmc_try_push(q, V(42)));
		pthread_join(t, NULL);
		CHECK_STATUS(w.rc, WEFT_OK);
		CHECK_EQ(U(w.value), 42);
		weft_mpmc_destroy(q);
	}
}

static void test_blocked_push_woken_by_pop(void)
{
	for (int timed = 0; timed < 2; timed++) {
		weft_mpmc_t *q = weft_mpmc_create(2, 0);
		CHECK(weft_mpmc_try_push(q, V(1)));
		CHECK(weft_mpmc_try_push(q, V(2)));
		struct waiter w = {q, -1, V(3), timed};
		pthread_t t;
		pthread_create(&t, NULL, push_thread, &w);
		wait_sleepers(&q->push_sleepers, 1);
		void *out;
		CHECK(weft_mpmc_try_pop(q, &out));
		CHECK_EQ(U(out), 1);
		pthread_join(t, NULL);
		CHECK_STATUS(w.rc, WEFT_OK);
		CHECK(weft_mpmc_try_pop(q, &out));
		CHECK_EQ(U(out), 2);
		CHECK(weft_mpmc_try_pop(q, &out));
		CHECK_EQ(U(out), 3);
		weft_mpmc_destroy(q);
	}
}

/* One value per sleeping consumer: every one of them must come back. */
static void test_many_blocked_pops_each_get_one(void)
{
	enum { N = 6 };
	weft_mpmc_t *q = weft_mpmc_create(8, 0);
	struct waiter w[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct waiter){q, -1, NULL, i & 1};
		pthread_create(&t[i], NULL, pop_thread, &w[i]);
	}
	wait_sleepers(&q->pop_sleepers, N);
	for (int i = 0; i < N; i++)
		CHECK(weft_mpmc_try_push(q, V(1000 + i)));
	uintptr_t sum = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		CHECK_STATUS(w[i].rc, WEFT_OK);
		sum += U(w[i].value);
	}
	CHECK_EQ(sum, N * 1000 + N * (N - 1) / 2);
	weft_mpmc_destroy(q);
}

/* More sleeping producers than room: each pop frees one slot, one wake-up
 * is in flight at a time, and every woken producer hands the next one over. */
static void test_many_blocked_pushes_all_get_in(void)
{
	enum { N = 6, CAP = 4 };
	weft_mpmc_t *q = weft_mpmc_create(CAP, 0);
	for (int i = 0; i < CAP; i++)
		CHECK(weft_mpmc_try_push(q, V(1)));
	struct waiter w[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct waiter){q, -1, V(100 + i), i & 1};
		pthread_create(&t[i], NULL, push_thread, &w[i]);
	}
	wait_sleepers(&q->push_sleepers, N);
	uintptr_t sum = 0;
	void *out;
	for (int i = 0; i < CAP + N; i++) {
		CHECK_STATUS(weft_mpmc_pop(q, &out), WEFT_OK);
		sum += U(out);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		CHECK_STATUS(w[i].rc, WEFT_OK);
	}
	CHECK_EQ(sum, CAP + N * 100 + N * (N - 1) / 2);
	CHECK_EQ(weft_mpmc_size_approx(q), 0);
	weft_mpmc_destroy(q);
}

/* While one consumer polls (WEFT_MPMC_SPINNING), pushes make no wake-up
 * call; the poller must hand the other values over to the sleepers when it
 * leaves, or they sleep forever (the alarm in main() fails the test). */
static void test_poller_hands_over_to_sleepers(void)
{
	enum { N = 4 };
	unsigned old_spin = weft_mpmc_set_spin(2000000000u); /* poll for as long as the test runs */
	weft_mpmc_t *q = weft_mpmc_create(8, 0);
	struct waiter w[N];
	pthread_t t[N];
	w[0] = (struct waiter){q, -1, NULL, 0};
	pthread_create(&t[0], NULL, pop_thread, &w[0]);
	for (int i = 0; i < 30000 && !(__atomic_load_n(&q->pop_sleepers, __ATOMIC_ACQUIRE) & WEFT_MPMC_SPINNING); i++)
		usleep(1000);
	CHECK(__atomic_load_n(&q->pop_sleepers, __ATOMIC_ACQUIRE) & WEFT_MPMC_SPINNING);
	weft_mpmc_set_spin(0); /* the poller keeps the bound it read; the others sleep at once */
	for (int i = 1; i < N; i++) {
		w[i] = (struct waiter){q, -1, NULL, i & 1};
		pthread_create(&t[i], NULL, pop_thread, &w[i]);
	}
	wait_sleepers(&q->pop_sleepers, N - 1);
	for (int i = 0; i < N; i++)
		CHECK(weft_mpmc_try_push(q, V(50 + i)));
	uintptr_t sum = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		CHECK_STATUS(w[i].rc, WEFT_OK);
		sum += U(w[i].value);
	}
	CHECK_EQ(sum, N * 50 + N * (N - 1) / 2);
	weft_mpmc_set_spin(old_spin); /* (the bound was already 0: restore the default) */
	weft_mpmc_destroy(q);
}

/* A batch wakes as many sleepers as it moves values. */
static void test_batch_wakes_sleepers(void)
{
	enum { N = 5 };
	weft_mpmc_t *q = weft_mpmc_create(8, 0);
	struct waiter w[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct waiter){q, -1, NULL, 0};
		pthread_create(&t[i], NULL, pop_thread, &w[i]);
	}
	wait_sleepers(&q->pop_sleepers, N);
	void *in[N];
	for (int i = 0; i < N; i++)
		in[i] = V(10 + i);
	CHECK_EQ(weft_mpmc_push_n(q, in, N), N);
	uintptr_t sum = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		CHECK_STATUS(w[i].rc, WEFT_OK);
		sum += U(w[i].value);
	}
	CHECK_EQ(sum, N * 10 + N * (N - 1) / 2);
	weft_mpmc_destroy(q);
}

static void test_close_semantics(void)
{
	weft_mpmc_t *q = weft_mpmc_create(8, 0);
	void *in[2] = {V(8), V(9)};
	void *out[4];
	CHECK(weft_mpmc_try_push(q, V(1)));
	CHECK(weft_mpmc_try_push(q, V(2)));
	CHECK(weft_mpmc_try_push(q, V(3)));
	weft_mpmc_close(q);
	CHECK(weft_mpmc_is_closed(q));
	weft_mpmc_close(q); /* twice is harmless */
	struct timespec old = past();
	struct timespec later = weft_deadline_after_ns(1000ull * 1000 * 1000);
	CHECK(!weft_mpmc_try_push(q, V(4)));
	CHECK_STATUS(weft_mpmc_push(q, V(4)), WEFT_ECLOSED);
	CHECK_STATUS(weft_mpmc_timedpush(q, V(4), &later), WEFT_ECLOSED);
	CHECK_STATUS(weft_mpmc_timedpush(q, V(4), &old), WEFT_ECLOSED);
	CHECK_EQ(weft_mpmc_push_n(q, in, 2), 0);
	CHECK_EQ(weft_mpmc_size_approx(q), 3);
	/* Pops drain first. */
	CHECK_STATUS(weft_mpmc_pop(q, &out[0]), WEFT_OK);
	CHECK_EQ(U(out[0]), 1);
	CHECK_STATUS(weft_mpmc_timedpop(q, &out[0], &old), WEFT_OK);
	CHECK_EQ(U(out[0]), 2);
	CHECK_EQ(weft_mpmc_pop_n(q, out, 4), 1);
	CHECK_EQ(U(out[0]), 3);
	/* Then report the close. */
	CHECK(!weft_mpmc_try_pop(q, &out[0]));
	CHECK_STATUS(weft_mpmc_pop(q, &out[0]), WEFT_ECLOSED);
	CHECK_STATUS(weft_mpmc_timedpop(q, &out[0], &later), WEFT_ECLOSED);
	CHECK_STATUS(weft_mpmc_timedpop(q, &out[0], &old), WEFT_ECLOSED);
	CHECK_EQ(weft_mpmc_pop_n(q, out, 4), 0);
	CHECK_EQ(weft_mpmc_size_approx(q), 0);
	weft_mpmc_destroy(q);
}

static void test_close_wakes_blocked_pops(void)
{
	enum { N = 4 };
	weft_mpmc_t *q = weft_mpmc_create(4, 0);
	struct waiter w[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct waiter){q, -1, NULL, i & 1};
		pthread_create(&t[i], NULL, pop_thread, &w[i]);
	}
	wait_sleepers(&q->pop_sleepers, N);
	weft_mpmc_close(q);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		CHECK_STATUS(w[i].rc, WEFT_ECLOSED);
	}
	weft_mpmc_destroy(q);
}

static void test_close_wakes_blocked_pushes_and_pops_drain(void)
{
	enum { N = 4, CAP = 4 };
	weft_mpmc_t *q = weft_mpmc_create(CAP, 0);
	for (int i = 0; i < CAP; i++)
		CHECK(weft_mpmc_try_push(q, V(10 + i)));
	struct waiter w[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct waiter){q, -1, V(99), i & 1};
		pthread_create(&t[i], NULL, push_thread, &w[i]);
	}
	wait_sleepers(&q->push_sleepers, N);
	weft_mpmc_close(q);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		CHECK_STATUS(w[i].rc, WEFT_ECLOSED);
	}
	void *out;
	for (int i = 0; i < CAP; i++) {
		CHECK_STATUS(weft_mpmc_pop(q, &out), WEFT_OK);
		CHECK_EQ(U(out), 10 + i);
	}
	CHECK_STATUS(weft_mpmc_pop(q, &out), WEFT_ECLOSED);
	weft_mpmc_destroy(q);
}

/* A consumer sleeping on an empty queue uses (next to) no CPU.  A spinning
 * or polling one would burn most of the 200 ms it waits. */
static void test_idle_consumer_uses_no_cpu(void)
{
	weft_mpmc_t *q = weft_mpmc_create(4, 0);
	struct waiter w = {q, -1, NULL, 0};
	pthread_t t;
	pthread_create(&t, NULL, pop_thread, &w);
	wait_sleepers(&q->pop_sleepers, 1);
	usleep(20 * 1000); /* let it finish its bounded spin and go to sleep */
	clockid_t clock;
	CHECK_EQ(pthread_getcpuclockid(t, &clock), 0);
	struct timespec c0, c1;
	clock_gettime(clock, &c0);
	usleep(200 * 1000);
	clock_gettime(clock, &c1);
	long long used_ns = (long long)(c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec);
	CHECK_LT(used_ns, 20LL * 1000 * 1000);
	CHECK(weft_mpmc_try_push(q, V(5)));
	pthread_join(t, NULL);
	CHECK_STATUS(w.rc, WEFT_OK);
	CHECK_EQ(U(w.value), 5);
	weft_mpmc_destroy(q);
}

/* Several blocking producers and consumers through a tiny queue. */
struct mp_arg {
	weft_mpmc_t *q;
	int id;
	int count;
	uintptr_t sum;
	int order_ok;
};

static void *mp_producer(void *arg)
{
	struct mp_arg *a = arg;
	for (int i = 0; i < a->count; i++) {
		uintptr_t v = ((uintptr_t)a->id << 32) | (uintptr_t)(i + 1);
		if (weft_mpmc_push(a->q, V(v)) != WEFT_OK)
			a->order_ok = 0;
	}
	return NULL;
}

static void *mp_consumer(void *arg)
{
	struct mp_arg *a = arg;
	uintptr_t last[8] = {0};
	void *out;
	while (weft_mpmc_pop(a->q, &out) == WEFT_OK) {
		uintptr_t v = U(out);
		unsigned p = (unsigned)(v >> 32);
		if (p >= 8 || (v & 0xffffffffu) <= last[p])
			a->order_ok = 0;
		else
			last[p] = v & 0xffffffffu;
		a->sum += v;
	}
	return NULL;
}

static void test_blocking_many_to_many(void)
{
	enum { P = 4, C = 4, N = 20000 };
	weft_mpmc_t *q = weft_mpmc_create(4, 0);
	struct mp_arg pa[P], ca[C];
	pthread_t pt[P], ct[C];
	for (int i = 0; i < C; i++) {
		ca[i] = (struct mp_arg){q, i, 0, 0, 1};
		pthread_create(&ct[i], NULL, mp_consumer, &ca[i]);
	}
	for (int i = 0; i < P; i++) {
		pa[i] = (struct mp_arg){q, i, N, 0, 1};
		pthread_create(&pt[i], NULL, mp_producer, &pa[i]);
	}
	for (int i = 0; i < P; i++)
		pthread_join(pt[i], NULL);
	weft_mpmc_close(q);
	uintptr_t sum = 0, want = 0;
	for (int i = 0; i < C; i++) {
		pthread_join(ct[i], NULL);
		CHECK(ca[i].order_ok);
		sum += ca[i].sum;
	}
	for (int i = 0; i < P; i++) {
		CHECK(pa[i].order_ok);
		want += ((uintptr_t)i << 32) * N + (uintptr_t)N * (N + 1) / 2;
	}
	CHECK_EQ(sum, want);
	weft_mpmc_destroy(q);
}

/* ---- contention backoff ------------------------------------------------------ */

struct pair_arg {
	weft_mpmc_t *q;
	int id, count;
	uintptr_t in_sum, out_sum;
	int lost; /* a try_pop failed although this thread's own value was in */
};

/* The bench's pair shape with the try calls: push one value, pop one.  The
 * pop may not fail for good: this thread's own push is in the queue, so the
 * queue holds a value until the pop, and the try_pop can fail only inside
 * a peer's claim window; retry a bounded number of times. */
static void *pair_thread(void *arg)
{
	struct pair_arg *a = arg;
	for (int i = 0; i < a->count; i++) {
		uintptr_t v = ((uintptr_t)a->id << 32) | (uintptr_t)(i + 1);
		while (!weft_mpmc_try_push(a->q, V(v)))
			sched_yield(); /* at most 4 of the 8 slots hold values: fails only in a popper's claim window */
		a->in_sum += v;
		void *out = NULL;
		int tries = 0;
		while (!weft_mpmc_try_pop(a->q, &out)) {
			if (++tries > 1000000) {
				a->lost = 1;
				break;
			}
			sched_yield();
		}
		a->out_sum += U(out);
	}
	return NULL;
}

/* Contended try_push/try_pop pairs conserve every value whatever the
 * backoff bound: 0 (retry at once), 1, the default, and the limit. */
static void test_contended_pairs_any_backoff(void)
{
	enum { T = 4, N = 20000 };
	static const unsigned bounds[] = {0, 1, WEFT_MPMC_BACKOFF_DEFAULT, WEFT_MPMC_BACKOFF_LIMIT};
	unsigned old = weft_mpmc_set_backoff(0);
	for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
		weft_mpmc_set_backoff(bounds[b]);
		weft_mpmc_t *q = weft_mpmc_create(8, 0);
		struct pair_arg a[T];
		pthread_t t[T];
		for (int i = 0; i < T; i++) {
			a[i] = (struct pair_arg){q, i, N, 0, 0, 0};
			pthread_create(&t[i], NULL, pair_thread, &a[i]);
		}
		uintptr_t in = 0, out = 0;
		for (int i = 0; i < T; i++) {
			pthread_join(t[i], NULL);
			CHECK(!a[i].lost);
			in += a[i].in_sum;
			out += a[i].out_sum;
		}
		CHECK_EQ(in, out);
		void *v;
		CHECK(!weft_mpmc_try_pop(q, &v)); /* every value came out exactly once */
		CHECK_EQ(weft_mpmc_size_approx(q), 0);
		weft_mpmc_destroy(q);
	}
	CHECK_EQ(weft_mpmc_set_backoff(old), WEFT_MPMC_BACKOFF_LIMIT);
}

/* ---- process-shared --------------------------------------------------------- */

static void test_pshared_parent_child(void)
{
	/* The echo queue is large enough that the child never blocks on it while
	 * the parent blocks on a full to_child (the parent keeps it at most half
	 * full before each push): no cycle of waits. */
	enum { CAP = 16, ECHO_CAP = 64, N = 20000 };
	size_t bytes = weft_mpmc_bytes(CAP), total = bytes + weft_mpmc_bytes(ECHO_CAP);
	char *mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	if (mem == MAP_FAILED)
		return;
	weft_mpmc_t *to_child = weft_mpmc_init_at(mem, CAP, WEFT_PSHARED);
	weft_mpmc_t *to_parent = weft_mpmc_init_at(mem + bytes, ECHO_CAP, WEFT_PSHARED);
	CHECK(to_child != NULL && to_parent != NULL);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(60); /* never outlive a hung parent */
		/* Child: echo value * 2 until the parent closes, then close ours. */
		void *v;
		uintptr_t expect = 1;
		int bad = 0;
		while (weft_mpmc_pop(to_child, &v) == WEFT_OK) {
			if (U(v) != expect++)
				bad = 1;
			if (weft_mpmc_push(to_parent, V(U(v) * 2)) != WEFT_OK)
				bad = 1;
		}
		weft_mpmc_close(to_parent);
		_exit(bad || expect != N + 1 ? 1 : 0);
	}
	CHECK_GT(pid, 0);
	/* Parent: push 1..N, reading the echoes as they come (both queues
	 * fill up and empty many times, so both sides sleep and wake). */
	uintptr_t next_echo = 1;
	for (uintptr_t i = 1; i <= N; i++) {
		CHECK_STATUS(weft_mpmc_push(to_child, V(i)), WEFT_OK);
		void *e;
		if (i % 3 == 0 && weft_mpmc_try_pop(to_parent, &e)) {
			CHECK_EQ(U(e), 2 * next_echo);
			next_echo++;
		}
		/* keep the echo queue from filling while we block on ours */
		while (weft_mpmc_size_approx(to_parent) > ECHO_CAP / 2 && weft_mpmc_try_pop(to_parent, &e)) {
			CHECK_EQ(U(e), 2 * next_echo);
			next_echo++;
		}
	}
	weft_mpmc_close(to_child);
	void *e;
	while (weft_mpmc_pop(to_parent, &e) == WEFT_OK) {
		CHECK_EQ(U(e), 2 * next_echo);
		next_echo++;
	}
	CHECK_EQ(next_echo, N + 1);
	int status = 0;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	munmap(mem, total);
}

int main(void)
{
	alarm(300); /* a lost wake-up hangs a blocking test: fail loudly instead */
	RUN_TEST(test_validate_and_bytes);
	RUN_TEST(test_create_bad_input);
	RUN_TEST(test_init_at_bad_input);
	RUN_TEST(test_fifo_full_empty_laps);
	RUN_TEST(test_null_and_blocking_calls_single_thread);
	RUN_TEST(test_capacity_two_wraps);
	RUN_TEST(test_batches_across_wrap);
	RUN_TEST(test_timed_bad_deadline);
	RUN_TEST(test_timed_past_and_near_deadlines);
	RUN_TEST(test_timed_poll_bounded_by_deadline);
	RUN_TEST(test_backoff_bounded_by_deadline);
	RUN_TEST(test_blocked_pop_woken_by_push);
	RUN_TEST(test_blocked_push_woken_by_pop);
	RUN_TEST(test_many_blocked_pops_each_get_one);
	RUN_TEST(test_many_blocked_pushes_all_get_in);
	RUN_TEST(test_batch_wakes_sleepers);
	RUN_TEST(test_poller_hands_over_to_sleepers);
	RUN_TEST(test_close_semantics);
	RUN_TEST(test_close_wakes_blocked_pops);
	RUN_TEST(test_close_wakes_blocked_pushes_and_pops_drain);
	RUN_TEST(test_idle_consumer_uses_no_cpu);
	RUN_TEST(test_blocking_many_to_many);
	RUN_TEST(test_contended_pairs_any_backoff);
	RUN_TEST(test_pshared_parent_child);
	return check_summary();
}
