/* SPDX-License-Identifier: MIT */
/*
 * test_spinwait.c - the one spin policy (src/spinwait.h) and its presets.
 *
 * No timing assertion: each test counts what the policy answers and does
 * (pause steps, yields, parks; the per-thread weft__spin_stats), so the
 * shapes that the benchmark numbers were measured with stay as they were,
 * and a deadline that has passed ends a spin before any pause or yield.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "held_locks.h"
#include "spinwait.h"
#include "weft/weft.h"

static const struct timespec past = {0, 0};

struct tally {
	unsigned pause_steps; /* AGAIN answers that yielded nothing */
	unsigned yields;      /* AGAIN answers that yielded */
	unsigned spent;       /* pauses counted by the policy when it stopped */
	enum weft__spin_result last;
};

/* Spin with @use until the policy says something other than AGAIN, or
 * @limit calls. */
static struct tally run(enum weft__spin_use use, const struct timespec *deadline, unsigned limit)
{
	struct tally t = {0, 0, 0, WEFT__SPIN_AGAIN};
	struct weft__spinwait sw;
	weft__spinwait_init(&sw, use, deadline);
	for (unsigned i = 0; i < limit; i++) {
		unsigned long y = weft__spin_stats.yields;
		t.last = weft__spinwait_spin(&sw);
		if (t.last != WEFT__SPIN_AGAIN)
			break;
		if (weft__spin_stats.yields != y)
			t.yields++;
		else
			t.pause_steps++;
	}
	t.spent = sw.spent;
	return t;
}

/* Barrier and latch: 16 pauses, a look after each, 12 yields, then park. */
static void test_barrier_preset(void)
{
	unsigned long parks = weft__spin_stats.parks;
	struct tally t = run(WEFT__SPIN_BARRIER, NULL, 1000);
	CHECK_EQ(t.pause_steps, 16);
	CHECK_EQ(t.yields, 12);
	CHECK_EQ(t.last, WEFT__SPIN_PARK);
	CHECK_EQ(weft__spin_stats.parks, parks + 1);
}

/* Sem, cond, once: 400 pauses, a look after each, no yield, then park. */
static void test_look_every_pause_presets(void)
{
	static const enum weft__spin_use uses[] = {WEFT__SPIN_SEM, WEFT__SPIN_COND, WEFT__SPIN_ONCE};
	for (unsigned i = 0; i < sizeof uses / sizeof uses[0]; i++) {
		struct tally t = run(uses[i], NULL, 100000);
		CHECK_EQ(t.pause_steps, 400);
		CHECK_EQ(t.yields, 0);
		CHECK_EQ(t.last, WEFT__SPIN_PARK);
	}
}

/* weft_spin_t: backoff 1, 2, 4 ... 64 until 256 pauses are spent (10
 * steps, 319 pauses), then a yield between looks for ever. */
static void test_spinlock_preset(void)
{
	struct tally t = run(WEFT__SPIN_SPINLOCK, NULL, 50);
	CHECK_EQ(t.pause_steps, 10);
	CHECK_EQ(t.yields, 40);
	CHECK_EQ(t.spent, 319);
	CHECK_EQ(t.last, WEFT__SPIN_AGAIN);
	t = run(WEFT__SPIN_TICKET, NULL, 300);
	CHECK_EQ(t.pause_steps, 256);
	CHECK_EQ(t.yields, 44);
	t = run(WEFT__SPIN_MCS, NULL, 100);
	CHECK_EQ(t.pause_steps, 64);
	CHECK_EQ(t.yields, 36);
}

/* Mutex and rwlock: backoff steps up to 64 until the budget is spent, then
 * park, never a yield (the rwlock's slot drain yields 16 times first). */
static void test_lock_presets(void)
{
	struct tally t = run(WEFT__SPIN_MUTEX, NULL, 1000);
	CHECK_EQ(t.yields, 0);
	CHECK_EQ(t.spent, 447); /* 1+2+...+64 = 127, then 64s: the first total >= 400 */
	CHECK_EQ(t.last, WEFT__SPIN_PARK);
	t = run(WEFT__SPIN_RWLOCK, NULL, 1000);
	CHECK_EQ(t.yields, 0);
	CHECK_EQ(t.spent, 127); /* the first total >= 100 */
	CHECK_EQ(t.last, WEFT__SPIN_PARK);
	t = run(WEFT__SPIN_RWLOCK_DRAIN, NULL, 1000); /* the same, then 16 yields */
	CHECK_EQ(t.spent, 127);
	CHECK_EQ(t.yields, 16);
	CHECK_EQ(t.last, WEFT__SPIN_PARK);
}

/* mpmc polling: steps of 4 pauses, a yield in place of the step that ends
 * each 32 pauses, 256 in all, then park. */
static void test_mpmc_presets(void)
{
	struct tally t = run(WEFT__SPIN_MPMC_WAIT, NULL, 1000);
	CHECK_EQ(t.pause_steps, 56);
	CHECK_EQ(t.yields, 8);
	CHECK_EQ(t.spent, 256);
	CHECK_EQ(t.last, WEFT__SPIN_PARK);
	/* the claim-window stall: 16, 32, 64, 128, 256 x 4 pauses, 16 yields, park */
	t = run(WEFT__SPIN_MPMC_STALL, NULL, 1000);
	CHECK_EQ(t.pause_steps, 8);
	CHECK_EQ(t.spent, 1264);
	CHECK_EQ(t.yields, 16);
	CHECK_EQ(t.last, WEFT__SPIN_PARK);
}

/* A deadline that has passed ends every spin before its first pause. */
static void test_past_deadline_spins_nothing(void)
{
	for (int use = 0; use < WEFT__SPIN_USES; use++) {
		unsigned long yields = weft__spin_stats.yields, parks = weft__spin_stats.parks;
		struct tally t = run((enum weft__spin_use)use, &past, 1000);
		CHECK_EQ(t.last, WEFT__SPIN_TIMEDOUT);
		CHECK_EQ(t.pause_steps, 0);
		CHECK_EQ(weft__spin_stats.yields, yields);
		CHECK_EQ(weft__spin_stats.parks, parks);
	}
}

/* A deadline that passes during the pauses ends the spin at the first yield
 * (before it), not after the yields. */
static void test_deadline_checked_before_each_yield(void)
{
	struct timespec soon = weft_deadline_after_ns(1); /* passed by the first yield */
	unsigned long yields = weft__spin_stats.yields;
	struct tally t = run(WEFT__SPIN_BARRIER, &soon, 1000);
	CHECK_EQ(t.last, WEFT__SPIN_TIMEDOUT);
	CHECK_EQ(weft__spin_stats.yields, yields);
	CHECK_LE(t.pause_steps, 16);
}

/* Issue 12 (docs/errors.md: a past deadline returns at once, without
 * sleeping): every timed call that would have to wait returns
 * WEFT_ETIMEDOUT without a yield and without the policy sending it to park. */
static void test_every_timed_call_past_deadline(void)
{
	pthread_t t;
	CHECK_EQ(held_locks_take(&t), 0); /* its sem_inits and pthread_create */
	unsigned long yields = weft__spin_stats.yields, parks = weft__spin_stats.parks;

	weft_sem_t sem;
	CHECK_STATUS(weft_sem_init(&sem, 0, 0), WEFT_OK);
	CHECK_STATUS(weft_sem_timedwait(&sem, &past), WEFT_ETIMEDOUT);
	weft_latch_t latch = WEFT_LATCH_INIT(1);
	CHECK_STATUS(weft_latch_timedwait(&latch, &past), WEFT_ETIMEDOUT);
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	void *out = NULL;
	CHECK_STATUS(weft_mpmc_timedpop(q, &out, &past), WEFT_ETIMEDOUT);
	CHECK(weft_mpmc_try_push(q, q));
	CHECK(weft_mpmc_try_push(q, q));
	CHECK_STATUS(weft_mpmc_timedpush(q, q, &past), WEFT_ETIMEDOUT);
	weft_mpmc_destroy(q);
	CHECK_STATUS(weft_mutex_timedlock(&held_mutex, &past), WEFT_ETIMEDOUT);
	weft_mutex_t m = WEFT_MUTEX_INIT;
	weft_cond_t cv = WEFT_COND_INIT;
	weft_mutex_lock(&m);
	CHECK_STATUS(weft_cond_timedwait(&cv, &m, &past), WEFT_ETIMEDOUT);
	weft_mutex_unlock(&m);
	CHECK_STATUS(weft_rwlock_timedrdlock(&held_wr, &past), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_rwlock_timedwrlock(&held_wr, &past), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_rwlock_timedwrlock(&held_rd, &past), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_brlock_timedrdlock(&held_brw, &past), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_brlock_timedwrlock(&held_brw, &past), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_brlock_timedwrlock(&held_brr, &past), WEFT_ETIMEDOUT);

	CHECK_EQ(weft__spin_stats.yields, yields);
	CHECK_EQ(weft__spin_stats.parks, parks);
	CHECK_EQ(held_locks_release(t), 0);
}

/* The public setters write the presets and return the previous value. */
static void test_setters_write_presets(void)
{
	unsigned old = weft_sem_set_spin(7);
	CHECK_EQ(old, WEFT_SEM_SPIN_DEFAULT);
	CHECK_EQ(run(WEFT__SPIN_SEM, NULL, 1000).pause_steps, 7);
	CHECK_EQ(run(WEFT__SPIN_ONCE, NULL, 1000).pause_steps, 400); /* once keeps its own */
	CHECK_EQ(weft_sem_set_spin(old), 7);

	old = weft_mutex_set_spin(9);
	CHECK_EQ(old, WEFT_MUTEX_SPIN_DEFAULT);
	CHECK_EQ(weft__spin_presets[WEFT__SPIN_MUTEX].pauses, 9);
	CHECK_EQ(weft_mutex_set_spin(old), 9);
	old = weft_cond_set_spin(0);
	CHECK_EQ(old, WEFT_COND_SPIN_DEFAULT);
	CHECK_EQ(run(WEFT__SPIN_COND, NULL, 1000).pause_steps, 0);
	CHECK_EQ(weft_cond_set_spin(old), 0);
	old = weft_rwlock_set_spin(3);
	CHECK_EQ(old, WEFT_RWLOCK_SPIN_DEFAULT);
	CHECK_EQ(weft__spin_presets[WEFT__SPIN_RWLOCK].pauses, 3);
	CHECK_EQ(weft__spin_presets[WEFT__SPIN_RWLOCK_DRAIN].pauses, 3);
	CHECK_EQ(weft_rwlock_set_spin(old), 3);

	old = weft_mpmc_set_spin(0);
	CHECK_EQ(old, WEFT_MPMC_SPIN_DEFAULT);
	CHECK_EQ(run(WEFT__SPIN_MPMC_WAIT, NULL, 1000).pause_steps, 0);
	CHECK_EQ(weft_mpmc_set_spin(old), 0);

	old = weft_mpmc_set_backoff(UINT_MAX);
	CHECK_EQ(old, WEFT_MPMC_BACKOFF_DEFAULT);
	CHECK_EQ(weft__spin_presets[WEFT__SPIN_MPMC_BACKOFF].cap, WEFT_MPMC_BACKOFF_LIMIT);
	CHECK_EQ(weft__spin_presets[WEFT__SPIN_MPMC_BACKOFF].step, WEFT_MPMC_BACKOFF_LIMIT / 16);
	CHECK_EQ(weft_mpmc_set_backoff(old), WEFT_MPMC_BACKOFF_LIMIT);
	CHECK_EQ(weft__spin_presets[WEFT__SPIN_MPMC_BACKOFF].step, WEFT_MPMC_BACKOFF_DEFAULT / 16);
}

int main(void)
{
	RUN_TEST(test_barrier_preset);
	RUN_TEST(test_look_every_pause_presets);
	RUN_TEST(test_spinlock_preset);
	RUN_TEST(test_lock_presets);
	RUN_TEST(test_mpmc_presets);
	RUN_TEST(test_past_deadline_spins_nothing);
	RUN_TEST(test_deadline_checked_before_each_yield);
	RUN_TEST(test_setters_write_presets);
	RUN_TEST(test_every_timed_call_past_deadline);
	return check_summary();
}
