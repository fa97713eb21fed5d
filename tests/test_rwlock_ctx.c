/* SPDX-License-Identifier: MIT */
/*
 * test_rwlock_ctx.c - weft_rwlock_rdlock_ctx() and weft_rwlock_wrlock_ctx(),
 * and weft_brlock_t's two (issue 16): the token is read only when the caller would sleep; a cancel
 * wakes a waiter in the queue or at its head; a cancel racing with the
 * writer's unlock has exactly one outcome (WEFT_OK with the lock held, or
 * WEFT_ECANCELED), and the lock always ends free with clean words (no
 * WAITING/PARKED mark, no queue held, nothing handed to nobody).
 *
 * Private and WEFT_PSHARED locks (whose queue is the owned word lock).
 * Counts and states only; a waiter is cancelled after it is seen asleep (a
 * hint); alarm() guards against a hang.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "weft/weft.h"

#define ROUNDS 200

static const unsigned flag_sets[] = {0, WEFT_PSHARED};
#define N_FLAG_SETS 2

/* Free, and nothing left behind (bias bits aside). */
static bool clean_and_free(weft_rwlock_t *rw)
{
	/* relaxed: every other thread has been joined */
	uint32_t s = __atomic_load_n(&rw->state, __ATOMIC_RELAXED);
	uint32_t q = __atomic_load_n(&rw->queue, __ATOMIC_RELAXED);
	return (s & ~(WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_BIASED)) == 0 && q == 0;
}

static bool free_for_all(weft_rwlock_t *rw)
{
	if (!weft_rwlock_trywrlock(rw))
		return false;
	weft_rwlock_wrunlock(rw);
	if (!weft_rwlock_tryrdlock(rw))
		return false;
	weft_rwlock_rdunlock(rw);
	return true;
}

static void test_free_lock_ignores_the_token(void)
{
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_rwlock_t rw;
		CHECK_STATUS(weft_rwlock_init(&rw, flag_sets[f]), WEFT_OK);
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		weft_cancel(&tok);
		CHECK_STATUS(weft_rwlock_rdlock_ctx(&rw, NULL, &tok), WEFT_OK);
		weft_rwlock_rdunlock(&rw);
		CHECK_STATUS(weft_rwlock_wrlock_ctx(&rw, NULL, &tok), WEFT_OK);
		weft_rwlock_wrunlock(&rw);
		CHECK_STATUS(weft_rwlock_wrlock_ctx(&rw, NULL, NULL), WEFT_OK);
		weft_rwlock_wrunlock(&rw);
		const struct timespec bad = {0, 1000000000};
		CHECK_STATUS(weft_rwlock_rdlock_ctx(&rw, &bad, NULL), WEFT_EINVAL);
		CHECK_STATUS(weft_rwlock_wrlock_ctx(&rw, &bad, NULL), WEFT_EINVAL);
		CHECK(clean_and_free(&rw));
		weft_rwlock_destroy(&rw);
	}
}

struct arena {
	weft_rwlock_t rw;
	weft_cancel_t tok[2];
	int rc[2];
	bool write[2];   /* waiter i takes the write lock, else a read lock */
	pid_t tid[2];    /* atomic */
	unsigned go;     /* atomic: the holder may unlock */
	bool held;       /* atomic: the holder has the write lock */
	int inside;      /* plain: writers' mark, guarded by the lock */
};

struct waiter_arg {
	struct arena *a;
	int i;
};

static void *waiter_main(void *p)
{
	struct waiter_arg *wa = p;
	struct arena *a = wa->a;
	int i = wa->i;
	__atomic_store_n(&a->tid[i], check_gettid(), __ATOMIC_RELEASE);
	if (a->write[i]) {
		a->rc[i] = weft_rwlock_wrlock_ctx(&a->rw, NULL, &a->tok[i]);
		if (a->rc[i] == WEFT_OK) {
			CHECK_EQ(a->inside, 0);
			weft_rwlock_wrunlock(&a->rw);
		}
	} else {
		a->rc[i] = weft_rwlock_rdlock_ctx(&a->rw, NULL, &a->tok[i]);
		if (a->rc[i] == WEFT_OK) {
			CHECK_EQ(a->inside, 0);
			weft_rwlock_rdunlock(&a->rw);
		}
	}
	return NULL;
}

static void *holder_main(void *p)
{
	struct arena *a = p;
	weft_rwlock_wrlock(&a->rw);
	a->inside = 1;
	/* release: the lock is held; pairs with the acquire load of held */
	__atomic_store_n(&a->held, true, __ATOMIC_RELEASE);
	/* acquire: pairs with the release store of go */
	while (__atomic_load_n(&a->go, __ATOMIC_ACQUIRE) == 0)
		;
	a->inside = 0;
	weft_rwlock_wrunlock(&a->rw);
	return NULL;
}

/* Two waiters behind a writer: the first becomes the queue's head, the
 * second sleeps in the queue.  Cancel both (the one in the queue first):
 * both return WEFT_ECANCELED and the lock ends clean.  Every mix of read
 * and write waiters. */
static void test_cancel_head_and_queued(void)
{
	for (int f = 0; f < N_FLAG_SETS; f++) {
		for (int mix = 0; mix < 4; mix++) {
			struct arena a = {0};
			CHECK_STATUS(weft_rwlock_init(&a.rw, flag_sets[f]), WEFT_OK);
			struct waiter_arg wa[2] = {{&a, 0}, {&a, 1}};
			pthread_t h, w[2];
			CHECK_EQ(pthread_create(&h, NULL, holder_main, &a), 0);
			while (!__atomic_load_n(&a.held, __ATOMIC_ACQUIRE))
				sched_yield();
			for (int i = 0; i < 2; i++) {
				a.write[i] = (mix >> i) & 1;
				CHECK_STATUS(weft_cancel_init(&a.tok[i], NULL, 0), WEFT_OK);
				CHECK_EQ(pthread_create(&w[i], NULL, waiter_main, &wa[i]), 0);
				while (__atomic_load_n(&a.tid[i], __ATOMIC_ACQUIRE) == 0)
					sched_yield();
				(void)check_wait_until_sleeping(getpid(), a.tid[i]);
			}
			weft_cancel(&a.tok[1]);
			CHECK_EQ(pthread_join(w[1], NULL), 0);
			weft_cancel(&a.tok[0]);
			CHECK_EQ(pthread_join(w[0], NULL), 0);
			CHECK_STATUS(a.rc[0], WEFT_ECANCELED);
			CHECK_STATUS(a.rc[1], WEFT_ECANCELED);
			__atomic_store_n(&a.go, 1, __ATOMIC_RELEASE);
			CHECK_EQ(pthread_join(h, NULL), 0);
			CHECK(clean_and_free(&a.rw));
			CHECK(free_for_all(&a.rw));
			for (int i = 0; i < 2; i++)
				weft_cancel_destroy(&a.tok[i]);
			weft_rwlock_destroy(&a.rw);
		}
	}
}

/* The race: the holder unlocks while this thread cancels the waiters.  Each
 * waiter has exactly one outcome, and the lock ends free and clean. */
static void test_cancel_races_unlock(void)
{
	uint64_t old_bound = weft_mutex_set_fair_bound(0); /* hand the queue off often */
	unsigned ok = 0, cancelled = 0;
	for (int f = 0; f < N_FLAG_SETS; f++) {
		for (int r = 0; r < ROUNDS; r++) {
			struct arena a = {0};
			CHECK_STATUS(weft_rwlock_init(&a.rw, flag_sets[f]), WEFT_OK);
			struct waiter_arg wa[2] = {{&a, 0}, {&a, 1}};
			pthread_t h, w[2];
			CHECK_EQ(pthread_create(&h, NULL, holder_main, &a), 0);
			while (!__atomic_load_n(&a.held, __ATOMIC_ACQUIRE))
				sched_yield();
			for (int i = 0; i < 2; i++) {
				a.write[i] = ((r >> i) & 1) != 0;
				CHECK_STATUS(weft_cancel_init(&a.tok[i], NULL, 0), WEFT_OK);
				CHECK_EQ(pthread_create(&w[i], NULL, waiter_main, &wa[i]), 0);
				while (__atomic_load_n(&a.tid[i], __ATOMIC_ACQUIRE) == 0)
					sched_yield();
				if (r % 8 < 4)
					(void)check_wait_until_sleeping(getpid(), a.tid[i]);
			}
			/* release: the holder may unlock; the cancels follow at once */
			__atomic_store_n(&a.go, 1, __ATOMIC_RELEASE);
			weft_cancel(&a.tok[r & 1]);
			weft_cancel(&a.tok[!(r & 1)]);
			CHECK_EQ(pthread_join(h, NULL), 0);
			for (int i = 0; i < 2; i++) {
				CHECK_EQ(pthread_join(w[i], NULL), 0);
				if (a.rc[i] == WEFT_OK)
					ok++;
				else if (a.rc[i] == WEFT_ECANCELED)
					cancelled++;
				else
					CHECK_STATUS(a.rc[i], WEFT_ECANCELED);
				weft_cancel_destroy(&a.tok[i]);
			}
			CHECK(clean_and_free(&a.rw));
			CHECK(free_for_all(&a.rw));
			weft_rwlock_destroy(&a.rw);
			if (check__test_failed)
				break;
		}
	}
	fprintf(stderr, "  outcomes: %u WEFT_OK, %u WEFT_ECANCELED\n", ok, cancelled);
	weft_mutex_set_fair_bound(old_bound);
}

/* ---- weft_brlock_t ------------------------------------------------------- */

static weft_brlock_t br; /* 4160 bytes, 64-byte aligned: static */

struct br_arena {
	weft_cancel_t tok;
	int rc;
	bool write;      /* the waiter takes the write lock, else a read lock */
	bool hold_write; /* the holder takes the write lock, else a read lock */
	pid_t tid;       /* atomic */
	unsigned go;     /* atomic */
	bool held;       /* atomic */
};

static void *br_holder(void *p)
{
	struct br_arena *a = p;
	if (a->hold_write)
		weft_brlock_wrlock(&br);
	else
		weft_brlock_rdlock(&br);
	/* release: held now; pairs with the acquire load of held */
	__atomic_store_n(&a->held, true, __ATOMIC_RELEASE);
	/* acquire: pairs with the release store of go */
	while (__atomic_load_n(&a->go, __ATOMIC_ACQUIRE) == 0)
		;
	if (a->hold_write)
		weft_brlock_wrunlock(&br);
	else
		weft_brlock_rdunlock(&br);
	return NULL;
}

static void *br_waiter(void *p)
{
	struct br_arena *a = p;
	__atomic_store_n(&a->tid, check_gettid(), __ATOMIC_RELEASE);
	a->rc = a->write ? weft_brlock_wrlock_ctx(&br, NULL, &a->tok) : weft_brlock_rdlock_ctx(&br, NULL, &a->tok);
	if (a->rc == WEFT_OK) {
		if (a->write)
			weft_brlock_wrunlock(&br);
		else
			weft_brlock_rdunlock(&br);
	}
	return NULL;
}

static bool br_free_for_all(void)
{
	if (!weft_brlock_trywrlock(&br))
		return false;
	weft_brlock_wrunlock(&br);
	if (!weft_brlock_tryrdlock(&br))
		return false;
	weft_brlock_rdunlock(&br);
	return true;
}

/* A reader against a writer, a writer against a writer (the writers'
 * mutex), a writer against a reader (a slot to drain): cancelled asleep,
 * or racing the holder's unlock; one outcome each, the lock free after. */
static void test_brlock_ctx(void)
{
	uint64_t old_bound = weft_mutex_set_fair_bound(0);
	unsigned ok = 0, cancelled = 0;
	for (int f = 0; f < N_FLAG_SETS; f++) {
		CHECK_STATUS(weft_brlock_init(&br, flag_sets[f]), WEFT_OK);
		weft_cancel_t gone = WEFT_CANCEL_INIT;
		weft_cancel(&gone);
		CHECK_STATUS(weft_brlock_rdlock_ctx(&br, NULL, &gone), WEFT_OK); /* free: not read */
		weft_brlock_rdunlock(&br);
		CHECK_STATUS(weft_brlock_wrlock_ctx(&br, NULL, &gone), WEFT_OK);
		weft_brlock_wrunlock(&br);
		const struct timespec bad = {0, -1};
		CHECK_STATUS(weft_brlock_rdlock_ctx(&br, &bad, NULL), WEFT_EINVAL);
		CHECK_STATUS(weft_brlock_wrlock_ctx(&br, &bad, NULL), WEFT_EINVAL);
		for (int r = 0; r < ROUNDS / 2; r++) {
			int kind = r % 3; /* 0: reader vs writer, 1: writer vs writer, 2: writer vs reader */
			struct br_arena a = {0};
			a.write = kind != 0;
			a.hold_write = kind != 2;
			bool race = (r / 3) % 2 != 0;
			CHECK_STATUS(weft_cancel_init(&a.tok, NULL, 0), WEFT_OK);
			pthread_t h, w;
			CHECK_EQ(pthread_create(&h, NULL, br_holder, &a), 0);
			while (!__atomic_load_n(&a.held, __ATOMIC_ACQUIRE))
				sched_yield();
			CHECK_EQ(pthread_create(&w, NULL, br_waiter, &a), 0);
			while (__atomic_load_n(&a.tid, __ATOMIC_ACQUIRE) == 0)
				sched_yield();
			if (!race || r % 4 == 1)
				(void)check_wait_until_sleeping(getpid(), a.tid);
			if (race)
				/* release: the holder may unlock; the cancel follows */
				__atomic_store_n(&a.go, 1, __ATOMIC_RELEASE);
			weft_cancel(&a.tok);
			CHECK_EQ(pthread_join(w, NULL), 0);
			if (!race) {
				CHECK_STATUS(a.rc, WEFT_ECANCELED); /* asleep, the holder still in */
				__atomic_store_n(&a.go, 1, __ATOMIC_RELEASE);
			}
			CHECK_EQ(pthread_join(h, NULL), 0);
			if (a.rc == WEFT_OK)
				ok++;
			else if (a.rc == WEFT_ECANCELED)
				cancelled++;
			else
				CHECK_STATUS(a.rc, WEFT_ECANCELED);
			CHECK(br_free_for_all());
			weft_cancel_destroy(&a.tok);
			if (check__test_failed)
				break;
		}
		weft_brlock_destroy(&br);
	}
	fprintf(stderr, "  brlock outcomes: %u WEFT_OK, %u WEFT_ECANCELED\n", ok, cancelled);
	weft_mutex_set_fair_bound(old_bound);
}

int main(void)
{
	alarm(300); /* a hang guard only */
	RUN_TEST(test_free_lock_ignores_the_token);
	RUN_TEST(test_cancel_head_and_queued);
	RUN_TEST(test_cancel_races_unlock);
	RUN_TEST(test_brlock_ctx);
	return check_summary();
}
