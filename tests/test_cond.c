/* SPDX-License-Identifier: MIT */
/*
 * test_cond.c - weft_cond_t: initial states, init flags, signal and broadcast
 * with and without waiters, every timed case (past deadline, timeout, each
 * malformed timespec), the wait layer's requeue, a small producer/consumer,
 * and the process-shared condition variable across fork().
 *
 * Every test also runs in the WEFT_DEBUG build (make check-variants), so no
 * test here misuses the condition variable.  No timing assertion: a waiter is
 * notified only after it is seen asleep (check_wait_until_sleeping), waits
 * that should be notified carry a deadline far in the future (reaching it
 * means a lost wake-up), and timeouts are checked against the deadline, not a
 * stopwatch.  The tests run both with the default spin and with spinning
 * off, so the futex sleeping path is the one exercised.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "wait.h"
#include "weft/weft.h"

#define SEC_NS (1000ull * 1000 * 1000)
#define GENEROUS_NS (60 * SEC_NS) /* a waiter still blocked after this lost its wake-up */
#define HANG_ALARM_S 600          /* kills the program if something hangs */

static const unsigned flag_sets[] = {0, WEFT_PSHARED};
#define N_FLAG_SETS 2
static const unsigned spins[] = {WEFT_COND_SPIN_DEFAULT, 0};
#define N_SPINS 2

static int mutex_held(weft_mutex_t *m)
{
	/* white box: the state bits of the mutex word */
	return (__atomic_load_n(&m->state, __ATOMIC_RELAXED) & WEFT_MUTEX_STATE_MASK) != 0;
}

static uint32_t cond_waiters(weft_cond_t *c)
{
	return __atomic_load_n(&c->waiters, __ATOMIC_RELAXED) & WEFT_COND_COUNT_MASK;
}

/* ---- a waiter thread ------------------------------------------------------ */

struct shared {
	weft_mutex_t m;
	weft_cond_t c;
	int pred;   /* guarded by m */
	int tokens; /* guarded by m: each waiter of the token test takes one */
};

struct waiter {
	struct shared *s;
	bool take_token; /* wait for tokens > 0 and take one, instead of pred */
	int rc;          /* WEFT_OK, or the timedwait status that ended the wait */
	int saw;         /* the predicate held when it returned */
	pid_t tid;
	int started; /* atomic */
	int done;    /* atomic */
	pthread_t thread;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct shared *s = w->s;
	w->tid = check_gettid();
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	struct timespec deadline = weft_deadline_after_ns(GENEROUS_NS);
	int rc = WEFT_OK;
	weft_mutex_lock(&s->m);
	if (w->take_token) {
		while (s->tokens == 0 && rc == WEFT_OK)
			rc = weft_cond_timedwait(&s->c, &s->m, &deadline);
		w->saw = s->tokens > 0;
		if (s->tokens > 0)
			s->tokens--;
	} else {
		while (!s->pred && rc == WEFT_OK)
			rc = weft_cond_timedwait(&s->c, &s->m, &deadline);
		w->saw = s->pred;
	}
	weft_mutex_unlock(&s->m);
	w->rc = rc;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A waiter that uses the untimed weft_cond_wait(). */
static void *plain_waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct shared *s = w->s;
	w->tid = check_gettid();
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	weft_mutex_lock(&s->m);
	while (!s->pred)
		weft_cond_wait(&s->c, &s->m);
	w->saw = s->pred;
	weft_mutex_unlock(&s->m);
	w->rc = WEFT_OK;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void waiter_start(struct waiter *w, struct shared *s, void *(*fn)(void *))
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	CHECK_EQ(pthread_create(&w->thread, NULL, fn, w), 0);
	while (!__atomic_load_n(&w->started, __ATOMIC_ACQUIRE))
		sched_yield();
}

/* Wait until the waiter sleeps in the kernel (a hint, see check.h). */
static void waiter_sleeping(struct waiter *w)
{
	(void)check_wait_until_sleeping(getpid(), w->tid);
}

static void waiter_join(struct waiter *w)
{
	pthread_join(w->thread, NULL);
	CHECK_STATUS(w->rc, WEFT_OK);
	CHECK(w->saw);
}

static void shared_init(struct shared *s, unsigned flags)
{
	memset(s, 0, sizeof(*s));
	CHECK_STATUS(weft_mutex_init(&s->m, flags), WEFT_OK);
	CHECK_STATUS(weft_cond_init(&s->c, flags), WEFT_OK);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_initial_states(void)
{
	weft_cond_t zero;
	memset(&zero, 0, sizeof(zero));
	weft_cond_t st = WEFT_COND_INIT;
	CHECK(memcmp(&zero, &st, sizeof(st)) == 0);
	weft_cond_t c;
	memset(&c, 0xab, sizeof(c));
	CHECK_STATUS(weft_cond_init(&c, 0), WEFT_OK);
	CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
	CHECK_STATUS(weft_cond_init(&c, WEFT_PSHARED), WEFT_OK);
	CHECK_EQ(c.waiters, WEFT_COND_PSHARED_BIT);
	CHECK_EQ(cond_waiters(&c), 0);
	weft_cond_destroy(&c);
	weft_cond_destroy(&st);
	CHECK_EQ(sizeof(weft_cond_t), 16 + sizeof(void *));
}

static void test_init_bad_flags(void)
{
	const unsigned bad[] = {0x2u, 0x80000000u, WEFT_PSHARED | 0x4u, ~0u};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		weft_cond_t c, before;
		memset(&c, 0x5a, sizeof(c));
		before = c;
		CHECK_STATUS(weft_cond_init(&c, bad[i]), WEFT_EINVAL);
		CHECK(memcmp(&c, &before, sizeof(c)) == 0); /* untouched */
	}
}

/* No waiter: signal and broadcast change nothing (not even the sequence
 * word: the fast path is one load). */
static void test_notify_no_waiter(void)
{
	for (size_t f = 0; f < N_FLAG_SETS; f++) {
		weft_cond_t c;
		CHECK_STATUS(weft_cond_init(&c, flag_sets[f]), WEFT_OK);
		weft_cond_t before = c;
		weft_cond_signal(&c);
		weft_cond_broadcast(&c);
		weft_cond_signal(&c);
		CHECK(memcmp(&c, &before, sizeof(c)) == 0);
		weft_cond_destroy(&c);
	}
}

static void test_timedwait_bad_deadline(void)
{
	struct timespec bad[] = {{0, -1}, {0, 1000000000L}, {-1, 0}, {5, 2000000000L}, {-5, -5}};
	for (size_t f = 0; f < N_FLAG_SETS; f++) {
		struct shared s;
		shared_init(&s, flag_sets[f]);
		weft_mutex_lock(&s.m);
		CHECK_STATUS(weft_cond_timedwait(&s.c, &s.m, NULL), WEFT_EINVAL);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK_STATUS(weft_cond_timedwait(&s.c, &s.m, &bad[i]), WEFT_EINVAL);
		CHECK(mutex_held(&s.m)); /* never released */
		CHECK_EQ(cond_waiters(&s.c), 0);
		CHECK_EQ(s.c.seq, 0);
		weft_mutex_unlock(&s.m);
		weft_cond_destroy(&s.c);
		weft_mutex_destroy(&s.m);
	}
}

static void test_timedwait_past_deadline(void)
{
	struct timespec past[] = {{0, 0}, {1, 999999999L}};
	for (size_t f = 0; f < N_FLAG_SETS; f++) {
		struct shared s;
		shared_init(&s, flag_sets[f]);
		weft_mutex_lock(&s.m);
		for (size_t i = 0; i < 2; i++) {
			errno = 4321;
			CHECK_STATUS(weft_cond_timedwait(&s.c, &s.m, &past[i]), WEFT_ETIMEDOUT);
			CHECK_EQ(errno, 4321); /* weft never touches errno */
			CHECK(mutex_held(&s.m)); /* held again on return */
			CHECK_EQ(cond_waiters(&s.c), 0);
		}
		weft_mutex_unlock(&s.m);
	}
}

/* Nobody notifies: the wait ends with WEFT_ETIMEDOUT, not before the deadline. */
static void test_timedwait_times_out(void)
{
	for (size_t sp = 0; sp < N_SPINS; sp++) {
		unsigned old = weft_cond_set_spin(spins[sp]);
		for (size_t f = 0; f < N_FLAG_SETS; f++) {
			struct shared s;
			shared_init(&s, flag_sets[f]);
			weft_mutex_lock(&s.m);
			struct timespec d = weft_deadline_after_ns(20 * 1000 * 1000);
			int rc;
			do /* a spurious wake-up returns WEFT_OK: wait again, as a caller would */
				rc = weft_cond_timedwait(&s.c, &s.m, &d);
			while (rc == WEFT_OK);
			CHECK_STATUS(rc, WEFT_ETIMEDOUT);
			CHECK(weft_deadline_passed(&d));
			CHECK(mutex_held(&s.m));
			CHECK_EQ(cond_waiters(&s.c), 0);
			CHECK_EQ(s.c.sleepers, 0);
			weft_mutex_unlock(&s.m);
		}
		weft_cond_set_spin(old);
	}
}

/* A sleeping waiter is woken by a signal made under the mutex, or after it. */
static void test_signal_wakes_sleeper(void)
{
	for (size_t sp = 0; sp < N_SPINS; sp++) {
		unsigned old = weft_cond_set_spin(spins[sp]);
		for (size_t f = 0; f < N_FLAG_SETS; f++) {
			for (int after_unlock = 0; after_unlock < 2; after_unlock++) {
				struct shared s;
				shared_init(&s, flag_sets[f]);
				struct waiter w;
				waiter_start(&w, &s, after_unlock ? plain_waiter_main : waiter_main);
				waiter_sleeping(&w);
				weft_mutex_lock(&s.m);
				s.pred = 1;
				if (!after_unlock)
					weft_cond_signal(&s.c);
				weft_mutex_unlock(&s.m);
				if (after_unlock)
					weft_cond_signal(&s.c);
				waiter_join(&w);
				CHECK_EQ(cond_waiters(&s.c), 0);
				CHECK_EQ(s.c.sleepers, 0);
				weft_cond_destroy(&s.c);
			}
		}
		weft_cond_set_spin(old);
	}
}

/* Each signal releases one token; every waiter gets one: no signal is lost. */
static void test_signal_per_token(void)
{
	enum { N = 4 };
	for (size_t sp = 0; sp < N_SPINS; sp++) {
		unsigned old = weft_cond_set_spin(spins[sp]);
		for (size_t f = 0; f < N_FLAG_SETS; f++) {
			struct shared s;
			shared_init(&s, flag_sets[f]);
			struct waiter w[N];
			for (int i = 0; i < N; i++) {
				memset(&w[i], 0, sizeof(w[i]));
				w[i].s = &s;
				w[i].take_token = true;
				CHECK_EQ(pthread_create(&w[i].thread, NULL, waiter_main, &w[i]), 0);
			}
			for (int i = 0; i < N; i++) {
				while (!__atomic_load_n(&w[i].started, __ATOMIC_ACQUIRE))
					sched_yield();
				waiter_sleeping(&w[i]);
			}
			for (int i = 0; i < N; i++) {
				weft_mutex_lock(&s.m);
				s.tokens++;
				weft_cond_signal(&s.c);
				weft_mutex_unlock(&s.m);
			}
			for (int i = 0; i < N; i++)
				waiter_join(&w[i]);
			CHECK_EQ(s.tokens, 0);
			CHECK_EQ(cond_waiters(&s.c), 0);
		}
		weft_cond_set_spin(old);
	}
}

/* Broadcast wakes every waiter, whether the notifier holds the mutex through
 * the broadcast (the requeued waiters then wake one by one on its unlocks) or
 * broadcasts after unlocking. */
static void test_broadcast_wakes_all(void)
{
	enum { N = 8 };
	for (size_t sp = 0; sp < N_SPINS; sp++) {
		unsigned old = weft_cond_set_spin(spins[sp]);
		for (size_t f = 0; f < N_FLAG_SETS; f++) {
			for (int after_unlock = 0; after_unlock < 2; after_unlock++) {
				struct shared s;
				shared_init(&s, flag_sets[f]);
				struct waiter w[N];
				for (int i = 0; i < N; i++)
					waiter_start(&w[i], &s, (i & 1) ? plain_waiter_main : waiter_main);
				for (int i = 0; i < N; i++)
					waiter_sleeping(&w[i]);
				weft_mutex_lock(&s.m);
				s.pred = 1;
				if (!after_unlock)
					weft_cond_broadcast(&s.c);
				weft_mutex_unlock(&s.m);
				if (after_unlock)
					weft_cond_broadcast(&s.c);
				for (int i = 0; i < N; i++)
					waiter_join(&w[i]);
				CHECK_EQ(cond_waiters(&s.c), 0);
				CHECK_EQ(s.c.sleepers, 0);
				/* the mutex is free and usable: nobody is left on it */
				CHECK(weft_mutex_trylock(&s.m));
				weft_mutex_unlock(&s.m);
				weft_cond_destroy(&s.c);
			}
		}
		weft_cond_set_spin(old);
	}
}

/* A waiter that arrives after a broadcast is not woken by it. */
static void test_broadcast_then_new_waiter(void)
{
	struct shared s;
	shared_init(&s, 0);
	weft_cond_broadcast(&s.c); /* nobody waits: a no-op */
	weft_mutex_lock(&s.m);
	struct timespec d = weft_deadline_after_ns(10 * 1000 * 1000);
	int rc;
	do
		rc = weft_cond_timedwait(&s.c, &s.m, &d);
	while (rc == WEFT_OK);
	CHECK_STATUS(rc, WEFT_ETIMEDOUT);
	weft_mutex_unlock(&s.m);
}

/* The mutex is released while waiting: another thread can take it. */
struct holder_arg {
	struct shared *s;
	int locked; /* atomic */
};

static void *try_holder(void *arg)
{
	struct holder_arg *h = arg;
	weft_mutex_lock(&h->s->m);
	__atomic_store_n(&h->locked, 1, __ATOMIC_RELEASE);
	h->s->pred = 1;
	weft_cond_signal(&h->s->c);
	weft_mutex_unlock(&h->s->m);
	return NULL;
}

static void test_wait_releases_mutex(void)
{
	struct shared s;
	shared_init(&s, 0);
	weft_mutex_lock(&s.m);
	struct holder_arg h = {&s, 0};
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, try_holder, &h), 0);
	struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
	int rc = WEFT_OK;
	while (!s.pred && rc == WEFT_OK)
		rc = weft_cond_timedwait(&s.c, &s.m, &d);
	CHECK_STATUS(rc, WEFT_OK);
	CHECK(__atomic_load_n(&h.locked, __ATOMIC_ACQUIRE));
	weft_mutex_unlock(&s.m);
	pthread_join(t, NULL);
}

/* ---- the wait layer's requeue ------------------------------------------- */

struct word_waiter {
	uint32_t *word;
	int rc;
	pid_t tid;
	int started, done; /* atomic */
	pthread_t thread;
};

static void *word_waiter_main(void *arg)
{
	struct word_waiter *w = arg;
	w->tid = check_gettid();
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
	w->rc = weft__wait(w->word, 0, &d, 0);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int count_done(struct word_waiter *w, int n)
{
	int d = 0;
	for (int i = 0; i < n; i++)
		d += __atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE);
	return d;
}

static void test_requeue(void)
{
	static uint32_t from, to; /* both 0: the waiters sleep while they stay 0 */
	struct word_waiter w[2];
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 2; i++) {
		w[i].word = &from;
		CHECK_EQ(pthread_create(&w[i].thread, NULL, word_waiter_main, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		while (!__atomic_load_n(&w[i].started, __ATOMIC_ACQUIRE))
			sched_yield();
		(void)check_wait_until_sleeping(getpid(), w[i].tid);
	}
	/* the word does not hold the expected value: nothing happens */
	CHECK_STATUS(weft__requeue(&from, 7, 1, &to, 0), WEFT_EBUSY);
	CHECK_EQ(count_done(w, 2), 0);
	CHECK_STATUS(weft__requeue(&from, 0, 1, &to, 0), WEFT_OK);
	while (count_done(w, 2) == 0) /* one woken at once (the portable backend wakes both) */
		usleep(1000);
	if (strcmp(weft__wait_backend(), "futex") == 0) {
		/* atomic: the moved waiter writes its `done` after the wake below,
		 * and TSan does not see the futex wake as synchronization */
		int moved = __atomic_load_n(&w[0].done, __ATOMIC_ACQUIRE) ? 1 : 0;
		/* the other sleeps on `to` now: a wake-up on `from` cannot reach it */
		weft__wake(&from, INT32_MAX, 0);
		CHECK(check_wait_until_sleeping(getpid(), w[moved].tid));
		CHECK_EQ(count_done(w, 2), 1);
		weft__wake(&to, 1, 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(w[i].thread, NULL);
		CHECK_STATUS(w[i].rc, WEFT_OK);
	}
}

/* ---- producer/consumer ----------------------------------------------------- */

#define PC_CAP 4
#define PC_ITEMS 20000
#define PC_PRODUCERS 2
#define PC_CONSUMERS 2

struct pc {
	weft_mutex_t m;
	weft_cond_t not_full, not_empty;
	unsigned long buf[PC_CAP];
	unsigned head, tail, len;
	unsigned long long sum;
	unsigned consumed;
};

static void *pc_producer(void *arg)
{
	struct pc *q = arg;
	for (unsigned long i = 1; i <= PC_ITEMS; i++) {
		weft_mutex_lock(&q->m);
		while (q->len == PC_CAP)
			weft_cond_wait(&q->not_full, &q->m);
		q->buf[q->tail] = i;
		q->tail = (q->tail + 1) % PC_CAP;
		q->len++;
		weft_cond_signal(&q->not_empty);
		weft_mutex_unlock(&q->m);
	}
	return NULL;
}

static void *pc_consumer(void *arg)
{
	struct pc *q = arg;
	for (;;) {
		weft_mutex_lock(&q->m);
		while (q->len == 0 && q->consumed < PC_ITEMS * PC_PRODUCERS)
			weft_cond_wait(&q->not_empty, &q->m);
		if (q->len == 0) { /* everything consumed */
			weft_mutex_unlock(&q->m);
			return NULL;
		}
		q->sum += q->buf[q->head];
		q->head = (q->head + 1) % PC_CAP;
		q->len--;
		if (++q->consumed == PC_ITEMS * PC_PRODUCERS)
			weft_cond_broadcast(&q->not_empty); /* release the other consumers */
		weft_cond_signal(&q->not_full);
		weft_mutex_unlock(&q->m);
	}
}

static void test_producer_consumer(void)
{
	for (size_t sp = 0; sp < N_SPINS; sp++) {
		unsigned old = weft_cond_set_spin(spins[sp]);
		struct pc q;
		memset(&q, 0, sizeof(q));
		pthread_t t[PC_PRODUCERS + PC_CONSUMERS];
		for (int i = 0; i < PC_PRODUCERS + PC_CONSUMERS; i++)
			CHECK_EQ(pthread_create(&t[i], NULL, i < PC_PRODUCERS ? pc_producer : pc_consumer, &q), 0);
		for (int i = 0; i < PC_PRODUCERS + PC_CONSUMERS; i++)
			pthread_join(t[i], NULL);
		CHECK_EQ(q.consumed, PC_ITEMS * PC_PRODUCERS);
		CHECK_EQ(q.sum, (unsigned long long)PC_PRODUCERS * PC_ITEMS * (PC_ITEMS + 1) / 2);
		CHECK_EQ(cond_waiters(&q.not_full), 0);
		CHECK_EQ(cond_waiters(&q.not_empty), 0);
		weft_cond_set_spin(old);
	}
}

static void test_set_spin(void)
{
	unsigned old = weft_cond_set_spin(7);
	CHECK_EQ(old, WEFT_COND_SPIN_DEFAULT);
	CHECK_EQ(weft_cond_set_spin(old), 7);
}

/* ---- process-shared across fork() ------------------------------------------ */

/* The child waits, the parent notifies (signal, or broadcast to two children),
 * and the other way round. */
static int child_wait(struct shared *s)
{
	struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
	int rc = WEFT_OK;
	weft_mutex_lock(&s->m);
	while (!s->pred && rc == WEFT_OK)
		rc = weft_cond_timedwait(&s->c, &s->m, &d);
	int ok = s->pred && rc == WEFT_OK;
	weft_mutex_unlock(&s->m);
	return ok ? 0 : 3;
}

static void test_pshared_fork(void)
{
	for (int children = 1; children <= 2; children++) {
		struct shared *s = check_shared_alloc(sizeof(*s));
		if (s == NULL) {
			CHECK(0);
			return;
		}
		shared_init(s, WEFT_PSHARED);
		pid_t pid[2];
		for (int i = 0; i < children; i++) {
			fflush(stdout);
			fflush(stderr);
			pid[i] = fork();
			if (pid[i] == 0)
				_exit(child_wait(s));
			CHECK_GT(pid[i], 0);
		}
		for (int i = 0; i < children; i++)
			(void)check_wait_until_sleeping(pid[i], pid[i]);
		weft_mutex_lock(&s->m);
		s->pred = 1;
		if (children == 1)
			weft_cond_signal(&s->c);
		else
			weft_cond_broadcast(&s->c);
		weft_mutex_unlock(&s->m);
		for (int i = 0; i < children; i++)
			CHECK_EQ(check_wait_child(pid[i]), 0);
		check_shared_free(s, sizeof(*s));
	}

	/* the parent waits, the child notifies */
	struct shared *s = check_shared_alloc(sizeof(*s));
	if (s == NULL) {
		CHECK(0);
		return;
	}
	shared_init(s, WEFT_PSHARED);
	pid_t parent = getpid(), self = check_gettid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		(void)check_wait_until_sleeping(parent, self);
		weft_mutex_lock(&s->m);
		s->pred = 1;
		weft_cond_signal(&s->c);
		weft_mutex_unlock(&s->m);
		_exit(0);
	}
	CHECK_EQ(child_wait(s), 0);
	CHECK_EQ(check_wait_child(pid), 0);
	check_shared_free(s, sizeof(*s));
}

int main(void)
{
	alarm(HANG_ALARM_S);
	RUN_TEST(test_initial_states);
	RUN_TEST(test_init_bad_flags);
	RUN_TEST(test_notify_no_waiter);
	RUN_TEST(test_timedwait_bad_deadline);
	RUN_TEST(test_timedwait_past_deadline);
	RUN_TEST(test_timedwait_times_out);
	RUN_TEST(test_signal_wakes_sleeper);
	RUN_TEST(test_signal_per_token);
	RUN_TEST(test_broadcast_wakes_all);
	RUN_TEST(test_broadcast_then_new_waiter);
	RUN_TEST(test_wait_releases_mutex);
	RUN_TEST(test_requeue);
	RUN_TEST(test_producer_consumer);
	RUN_TEST(test_set_spin);
	RUN_TEST(test_pshared_fork);
	return check_summary();
}
