/* SPDX-License-Identifier: MIT */
/*
 * test_mutex_ctx.c - weft_mutex_lock_ctx() (issue 16): the token is read only
 * when the caller would sleep, a cancel wakes a sleeper, and a cancel that
 * races with an unlock (or a hand-off) has exactly one outcome: WEFT_OK with
 * the mutex held, or WEFT_ECANCELED with the mutex left free and the word
 * clean (no count of the waiter left behind, no hand-off dropped).
 *
 * Counts and states only, no durations; a blocked waiter is cancelled only
 * after it is seen asleep (a hint: the test passes either way); alarm()
 * guards against a hang.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "weft/weft.h"

#define ROUNDS 300

static const unsigned flag_sets[] = {0, WEFT_PSHARED, WEFT_FIFO};
#define N_FLAG_SETS 3

/* The word holds no waiter's count and is free. */
static bool word_clean_and_free(weft_mutex_t *m)
{
	/* relaxed: every other thread has been joined */
	uint32_t w = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
	return (w & ~(WEFT_MUTEX_PSHARED_BIT | WEFT_MUTEX_FIFO_BIT)) == WEFT_MUTEX_UNLOCKED;
}

/* A free mutex is taken whatever the token says: it is not read. */
static void test_free_mutex_ignores_the_token(void)
{
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_mutex_t m;
		CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		weft_cancel(&tok);
		CHECK_STATUS(weft_mutex_lock_ctx(&m, NULL, &tok), WEFT_OK);
		weft_mutex_unlock(&m);
		CHECK_STATUS(weft_mutex_lock_ctx(&m, NULL, NULL), WEFT_OK);
		weft_mutex_unlock(&m);
		struct timespec past = {0, 0};
		CHECK_STATUS(weft_mutex_lock_ctx(&m, &past, &tok), WEFT_OK);
		weft_mutex_unlock(&m);
		CHECK(word_clean_and_free(&m));
		weft_cancel_destroy(&tok);
	}
}

static void test_einval(void)
{
	weft_mutex_t m = WEFT_MUTEX_INIT;
	const struct timespec bad = {0, 1000000000};
	CHECK_STATUS(weft_mutex_lock_ctx(&m, &bad, NULL), WEFT_EINVAL);
	CHECK(word_clean_and_free(&m)); /* not taken */
}

/* ---- a waiter on a mutex another thread holds -------------------------- */

struct arena {
	weft_mutex_t m;
	weft_cancel_t tok;
	int rc;            /* the waiter's result */
	int inside;        /* plain, guarded by m: a holder's mark */
	pid_t waiter_tid;  /* atomic */
	unsigned go;       /* atomic: the round the holder may unlock in */
	bool fair;         /* the holder unlocks with weft_mutex_unlock_fair() */
	bool held;         /* atomic: the holder has the mutex */
};

static void *waiter_main(void *arg)
{
	struct arena *a = arg;
	__atomic_store_n(&a->waiter_tid, check_gettid(), __ATOMIC_RELEASE);
	a->rc = weft_mutex_lock_ctx(&a->m, NULL, &a->tok);
	if (a->rc == WEFT_OK) {
		CHECK_EQ(a->inside, 0); /* nobody else inside */
		a->inside = 2;
		a->inside = 0;
		weft_mutex_unlock(&a->m);
	}
	return NULL;
}

/* A token cancelled before the call: WEFT_ECANCELED without sleeping. */
static void test_cancelled_already_held(void)
{
	for (int f = 0; f < N_FLAG_SETS; f++) {
		struct arena a = {0};
		CHECK_STATUS(weft_mutex_init(&a.m, flag_sets[f]), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&a.tok, NULL, 0), WEFT_OK);
		weft_cancel(&a.tok);
		weft_mutex_lock(&a.m); /* held by this thread; the waiter is another */
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, waiter_main, &a), 0);
		CHECK_EQ(pthread_join(t, NULL), 0);
		CHECK_STATUS(a.rc, WEFT_ECANCELED);
		weft_mutex_unlock(&a.m);
		CHECK(word_clean_and_free(&a.m));
		weft_cancel_destroy(&a.tok);
	}
}

/* A sleeping waiter is woken by the cancel and leaves without the mutex. */
static void test_cancel_wakes_sleeper(void)
{
	for (int f = 0; f < N_FLAG_SETS; f++) {
		struct arena a = {0};
		CHECK_STATUS(weft_mutex_init(&a.m, flag_sets[f]), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&a.tok, NULL, 0), WEFT_OK);
		weft_mutex_lock(&a.m);
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, waiter_main, &a), 0);
		while (__atomic_load_n(&a.waiter_tid, __ATOMIC_ACQUIRE) == 0)
			sched_yield();
		(void)check_wait_until_sleeping(getpid(), a.waiter_tid);
		weft_cancel(&a.tok);
		CHECK_EQ(pthread_join(t, NULL), 0);
		CHECK_STATUS(a.rc, WEFT_ECANCELED);
		weft_mutex_unlock(&a.m);
		CHECK(word_clean_and_free(&a.m));
		weft_cancel_destroy(&a.tok);
	}
}

/* The holder: takes the mutex, says so, and unlocks (plain or fair) when
 * told to.  (It unlocks on its own thread: the WEFT_DEBUG owner check.) */
static void *holder_main(void *arg)
{
	struct arena *a = arg;
	weft_mutex_lock(&a->m);
	a->inside = 1;
	/* release: the mutex is held now; pairs with the acquire load of held */
	__atomic_store_n(&a->held, true, __ATOMIC_RELEASE);
	/* acquire: pairs with the release store of go */
	while (__atomic_load_n(&a->go, __ATOMIC_ACQUIRE) == 0)
		;
	a->inside = 0;
	if (a->fair)
		weft_mutex_unlock_fair(&a->m);
	else
		weft_mutex_unlock(&a->m);
	return NULL;
}

/*
 * The race: a holder thread takes the mutex; the waiter sleeps on it; then
 * the holder unlocks (plain or fair; FIFO and bound 0 make it a hand-off)
 * while this thread cancels, both released at once.  Exactly one outcome:
 * WEFT_OK (the waiter held it: it checked nobody was inside) or
 * WEFT_ECANCELED, and either way the mutex ends free with a clean word (a
 * dropped hand-off would leave it HANDOFF: not free).
 */
static void test_cancel_races_unlock(void)
{
	uint64_t old_bound = weft_mutex_set_fair_bound(0);
	unsigned ok = 0, cancelled = 0;
	for (int f = 0; f < N_FLAG_SETS; f++) {
		for (int r = 0; r < ROUNDS; r++) {
			struct arena a = {0};
			a.fair = (r & 1) != 0;
			CHECK_STATUS(weft_mutex_init(&a.m, flag_sets[f]), WEFT_OK);
			CHECK_STATUS(weft_cancel_init(&a.tok, NULL, 0), WEFT_OK);
			pthread_t h, w;
			CHECK_EQ(pthread_create(&h, NULL, holder_main, &a), 0);
			while (!__atomic_load_n(&a.held, __ATOMIC_ACQUIRE))
				sched_yield();
			CHECK_EQ(pthread_create(&w, NULL, waiter_main, &a), 0);
			while (__atomic_load_n(&a.waiter_tid, __ATOMIC_ACQUIRE) == 0)
				sched_yield();
			if (r % 4 < 2) /* half the rounds: the waiter asleep first */
				(void)check_wait_until_sleeping(getpid(), a.waiter_tid);
			/* release: the holder may unlock; the cancel follows at once */
			__atomic_store_n(&a.go, 1, __ATOMIC_RELEASE);
			weft_cancel(&a.tok);
			CHECK_EQ(pthread_join(h, NULL), 0);
			CHECK_EQ(pthread_join(w, NULL), 0);
			if (a.rc == WEFT_OK)
				ok++;
			else if (a.rc == WEFT_ECANCELED)
				cancelled++;
			else
				CHECK_STATUS(a.rc, WEFT_ECANCELED);
			CHECK(word_clean_and_free(&a.m));
			CHECK(weft_mutex_trylock(&a.m));
			weft_mutex_unlock(&a.m);
			weft_cancel_destroy(&a.tok);
			if (check__test_failed)
				break;
		}
	}
	fprintf(stderr, "  outcomes: %u WEFT_OK, %u WEFT_ECANCELED\n", ok, cancelled);
	weft_mutex_set_fair_bound(old_bound);
}

int main(void)
{
	alarm(300); /* a hang guard only */
	RUN_TEST(test_free_mutex_ignores_the_token);
	RUN_TEST(test_einval);
	RUN_TEST(test_cancelled_already_held);
	RUN_TEST(test_cancel_wakes_sleeper);
	RUN_TEST(test_cancel_races_unlock);
	return check_summary();
}
