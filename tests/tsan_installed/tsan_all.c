/* SPDX-License-Identifier: MIT */
/*
 * tsan_all.c - every blocking, timed and try call of every weft primitive,
 * with real concurrency, in a program built with -fsanitize=thread; run by
 * `make check-tsan-installed` (mk/tsan_installed.mk) against an installed
 * *release* libweft (built without TSan, static and shared) and against
 * dist/weft.h.  It must produce no ThreadSanitizer report: every datum is
 * written by one thread and read by another only under the protection of the
 * primitive under test, so any report is the library hiding (or misreporting)
 * the synchronization it provides.
 *
 * Each section runs two threads (A and B) on one primitive and checks its
 * result with an assertion that prints both values; a watchdog alarm turns a
 * hang into a failure (a deadline, never a timing assertion).
 *
 * Built with -DTSI_SINGLE it includes "weft.h" (dist/weft.h, implementation in
 * tsan_impl.c); otherwise <weft/weft.h> from the install.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef TSI_SINGLE
#include "weft.h"
#else
#include <weft/weft.h>
#endif

#define N 4000 /* operations per thread and section (TSan is slow) */

static int failures;

#define EXPECT_EQ(what, got, want)                                                                        \
	do {                                                                                              \
		long long got_ = (long long)(got), want_ = (long long)(want);                             \
		if (got_ != want_) {                                                                      \
			fprintf(stderr, "tsan_all: %s: got %lld, want %lld (%s:%d)\n", (what), got_, want_, \
				__FILE__, __LINE__);                                                      \
			__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);                             \
		}                                                                                         \
	} while (0)

/* Run a(arg) and b(arg) on two threads and wait for both. */
static void run2(void *(*a)(void *), void *(*b)(void *), void *arg)
{
	pthread_t ta, tb;
	if (pthread_create(&ta, NULL, a, arg) != 0 || pthread_create(&tb, NULL, b, arg) != 0) {
		perror("pthread_create");
		exit(2);
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
}

static struct timespec soon(void)
{
	return weft_deadline_after_ns(200 * 1000); /* 200 us: often expires under contention */
}

static struct timespec later(void)
{
	return weft_deadline_after_ns(10ull * 1000 * 1000 * 1000); /* 10 s: never expires in a passing run */
}

static struct timespec past(void)
{
	struct timespec ts = {0, 0};
	return ts;
}

/* ---- mutex: lock, trylock, timedlock (both outcomes), lock_ctx ----------- */

static weft_mutex_t mx = WEFT_MUTEX_INIT;
static long mx_data; /* plain: protected by mx */
static long mx_timeouts;

static void *mx_thread(void *arg)
{
	long id = (long)(intptr_t)arg;
	(void)id;
	for (int i = 0; i < N; i++) {
		switch (i % 5) {
		case 0:
			weft_mutex_lock(&mx);
			break;
		case 4: {
			/* a token never cancelled during the run: waits as lock() */
			static weft_cancel_t mx_tok;
			EXPECT_EQ("weft_mutex_lock_ctx", weft_mutex_lock_ctx(&mx, NULL, &mx_tok), WEFT_OK);
			break;
		}
		case 1:
			while (!weft_mutex_trylock(&mx))
				;
			break;
		case 2: {
			struct timespec d = soon();
			while (weft_mutex_timedlock(&mx, &d) != WEFT_OK) {
				weft_mutex_lock(&mx);
				mx_timeouts++;
				weft_mutex_unlock(&mx);
				d = soon();
			}
			break;
		}
		default: {
			struct timespec d = later();
			EXPECT_EQ("weft_mutex_timedlock", weft_mutex_timedlock(&mx, &d), WEFT_OK);
			break;
		}
		}
		mx_data++;
		weft_mutex_unlock(&mx);
	}
	return NULL;
}

static void *mx_a(void *arg) { (void)arg; return mx_thread((void *)0); }
static void *mx_b(void *arg) { (void)arg; return mx_thread((void *)1); }

static void test_mutex(void)
{
	weft_mutex_t m2;
	EXPECT_EQ("weft_mutex_init", weft_mutex_init(&m2, 0), WEFT_OK);
	struct timespec p = past();
	EXPECT_EQ("weft_mutex_timedlock(past, free)", weft_mutex_timedlock(&m2, &p), WEFT_OK);
	EXPECT_EQ("weft_mutex_trylock(held)", weft_mutex_trylock(&m2), false);
	EXPECT_EQ("weft_mutex_timedlock(past, held)", weft_mutex_timedlock(&m2, &p), WEFT_ETIMEDOUT);
	weft_cancel_t done = WEFT_CANCEL_INIT;
	weft_cancel(&done);
	EXPECT_EQ("weft_mutex_lock_ctx(held, cancelled)", weft_mutex_lock_ctx(&m2, NULL, &done), WEFT_ECANCELED);
	weft_mutex_unlock(&m2);
	EXPECT_EQ("weft_mutex_lock_ctx(free, cancelled)", weft_mutex_lock_ctx(&m2, NULL, &done), WEFT_OK);
	weft_mutex_unlock(&m2);
	weft_mutex_destroy(&m2);
	run2(mx_a, mx_b, NULL);
	EXPECT_EQ("mutex: protected increments", mx_data, 2 * N);
}

/* ---- rwlock and brlock: every read and write call ------------------------ */

struct rwdata {
	long a, b; /* plain: written together under the write lock, a == b under any lock */
	long reads;
};

static weft_rwlock_t rw = WEFT_RWLOCK_INIT;
static struct rwdata rwd;

static void *rw_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		struct timespec d;
		switch (i % 5) {
		case 0:
			weft_rwlock_wrlock(&rw);
			break;
		case 4: {
			static weft_cancel_t wr_tok; /* never cancelled: waits as wrlock() */
			EXPECT_EQ("weft_rwlock_wrlock_ctx", weft_rwlock_wrlock_ctx(&rw, NULL, &wr_tok), WEFT_OK);
			break;
		}
		case 1:
			while (!weft_rwlock_trywrlock(&rw))
				;
			break;
		case 2:
			d = soon();
			while (weft_rwlock_timedwrlock(&rw, &d) != WEFT_OK)
				d = soon();
			break;
		default:
			d = later();
			EXPECT_EQ("weft_rwlock_timedwrlock", weft_rwlock_timedwrlock(&rw, &d), WEFT_OK);
			break;
		}
		rwd.a++;
		rwd.b++;
		weft_rwlock_wrunlock(&rw);
	}
	return NULL;
}

static void *rw_reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		struct timespec d;
		switch (i % 5) {
		case 0:
			weft_rwlock_rdlock(&rw);
			break;
		case 4: {
			static weft_cancel_t rd_tok; /* never cancelled: waits as rdlock() */
			EXPECT_EQ("weft_rwlock_rdlock_ctx", weft_rwlock_rdlock_ctx(&rw, NULL, &rd_tok), WEFT_OK);
			break;
		}
		case 1:
			while (!weft_rwlock_tryrdlock(&rw))
				;
			break;
		case 2:
			d = soon();
			while (weft_rwlock_timedrdlock(&rw, &d) != WEFT_OK)
				d = soon();
			break;
		default:
			d = later();
			EXPECT_EQ("weft_rwlock_timedrdlock", weft_rwlock_timedrdlock(&rw, &d), WEFT_OK);
			break;
		}
		EXPECT_EQ("rwlock: a == b under the read lock", rwd.a, rwd.b);
		weft_rwlock_rdunlock(&rw);
	}
	/* reads counted under the write lock: a write after reads */
	weft_rwlock_wrlock(&rw);
	rwd.reads = N;
	weft_rwlock_wrunlock(&rw);
	return NULL;
}

static weft_brlock_t br = WEFT_BRLOCK_INIT;
static struct rwdata brd;

static void *br_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < N / 4; i++) { /* a brlock write visits every reader slot: fewer */
		struct timespec d;
		switch (i % 5) {
		case 0:
			weft_brlock_wrlock(&br);
			break;
		case 4: {
			static weft_cancel_t bw_tok; /* never cancelled: waits as wrlock() */
			EXPECT_EQ("weft_brlock_wrlock_ctx", weft_brlock_wrlock_ctx(&br, NULL, &bw_tok), WEFT_OK);
			break;
		}
		case 1:
			while (!weft_brlock_trywrlock(&br))
				;
			break;
		case 2:
			d = soon();
			while (weft_brlock_timedwrlock(&br, &d) != WEFT_OK)
				d = soon();
			break;
		default:
			d = later();
			EXPECT_EQ("weft_brlock_timedwrlock", weft_brlock_timedwrlock(&br, &d), WEFT_OK);
			break;
		}
		brd.a++;
		brd.b++;
		weft_brlock_wrunlock(&br);
	}
	return NULL;
}

static void *br_reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		struct timespec d;
		switch (i % 5) {
		case 0:
			weft_brlock_rdlock(&br);
			break;
		case 4: {
			static weft_cancel_t br_tok; /* never cancelled: waits as rdlock() */
			EXPECT_EQ("weft_brlock_rdlock_ctx", weft_brlock_rdlock_ctx(&br, NULL, &br_tok), WEFT_OK);
			break;
		}
		case 1:
			while (!weft_brlock_tryrdlock(&br))
				;
			break;
		case 2:
			d = soon();
			while (weft_brlock_timedrdlock(&br, &d) != WEFT_OK)
				d = soon();
			break;
		default:
			d = later();
			EXPECT_EQ("weft_brlock_timedrdlock", weft_brlock_timedrdlock(&br, &d), WEFT_OK);
			break;
		}
		EXPECT_EQ("brlock: a == b under the read lock", brd.a, brd.b);
		weft_brlock_rdunlock(&br);
	}
	weft_brlock_wrlock(&br);
	brd.reads = N;
	weft_brlock_wrunlock(&br);
	return NULL;
}

static void test_rwlock(void)
{
	run2(rw_writer, rw_reader, NULL);
	EXPECT_EQ("rwlock: writes", rwd.a, N);
	EXPECT_EQ("rwlock: reads", rwd.reads, N);
	run2(br_writer, br_reader, NULL);
	EXPECT_EQ("brlock: writes", brd.a, N / 4);
	EXPECT_EQ("brlock: reads", brd.reads, N);
}

/* ---- cond: wait, timedwait, signal, broadcast ----------------------------- */

static weft_mutex_t cv_mx = WEFT_MUTEX_INIT;
static weft_cond_t cv = WEFT_COND_INIT;
static long cv_slot, cv_full; /* plain: a one-item mailbox under cv_mx */
static long cv_sum;
static weft_cancel_t cv_tok; /* never cancelled during the run: weft_cond_wait_ctx() waits as weft_cond_wait() */

static void *cv_producer(void *arg)
{
	(void)arg;
	for (long i = 1; i <= N; i++) {
		weft_mutex_lock(&cv_mx);
		while (cv_full) {
			if (i % 4 == 3) {
				struct timespec d = soon();
				(void)!weft_cond_wait_ctx(&cv, &cv_mx, &d, &cv_tok);
			} else if (i % 2) {
				weft_cond_wait(&cv, &cv_mx);
			} else {
				struct timespec d = soon();
				(void)!weft_cond_timedwait(&cv, &cv_mx, &d);
			}
		}
		cv_slot = i;
		cv_full = 1;
		if (i % 3)
			weft_cond_signal(&cv);
		else
			weft_cond_broadcast(&cv);
		weft_mutex_unlock(&cv_mx);
	}
	return NULL;
}

static void *cv_consumer(void *arg)
{
	(void)arg;
	for (long i = 1; i <= N; i++) {
		weft_mutex_lock(&cv_mx);
		while (!cv_full) {
			if (i % 4 == 3) {
				(void)!weft_cond_wait_ctx(&cv, &cv_mx, NULL, &cv_tok);
			} else if (i % 2) {
				weft_cond_wait(&cv, &cv_mx);
			} else {
				struct timespec d = soon();
				(void)!weft_cond_timedwait(&cv, &cv_mx, &d);
			}
		}
		cv_sum += cv_slot;
		cv_full = 0;
		weft_mutex_unlock(&cv_mx);
		/* signal after the unlock, the other allowed place */
		if (i % 3)
			weft_cond_signal(&cv);
		else
			weft_cond_broadcast(&cv);
	}
	return NULL;
}

static void test_cond(void)
{
	run2(cv_producer, cv_consumer, NULL);
	EXPECT_EQ("cond: items summed", cv_sum, (long)N * (N + 1) / 2);
	struct timespec p = past();
	weft_mutex_lock(&cv_mx);
	EXPECT_EQ("weft_cond_timedwait(past)", weft_cond_timedwait(&cv, &cv_mx, &p), WEFT_ETIMEDOUT);
	/* cancelled: the mutex is dropped and re-taken, as TSan must see */
	weft_cancel(&cv_tok);
	EXPECT_EQ("weft_cond_wait_ctx(cancelled)", weft_cond_wait_ctx(&cv, &cv_mx, NULL, &cv_tok), WEFT_ECANCELED);
	weft_mutex_unlock(&cv_mx);
}

/* ---- sem: post, post_n publish; wait, trywait, timedwait consume ---------- */

#define RING 64
static weft_sem_t sem_items, sem_free;
static long sem_ring[RING]; /* plain: slot i is the producer's until posted, then the consumer's */
static long sem_sum;

static void sem_take(weft_sem_t *s, int how)
{
	struct timespec d;
	switch (how % 5) {
	case 0:
		weft_sem_wait(s);
		break;
	case 1:
		while (!weft_sem_trywait(s))
			;
		break;
	case 2:
		d = soon();
		while (weft_sem_timedwait(s, &d) != WEFT_OK)
			d = soon();
		break;
	case 3:
		d = later();
		EXPECT_EQ("weft_sem_timedwait", weft_sem_timedwait(s, &d), WEFT_OK);
		break;
	default: {
		static weft_cancel_t live = WEFT_CANCEL_INIT; /* never cancelled */
		d = later();
		EXPECT_EQ("weft_sem_wait_ctx", weft_sem_wait_ctx(s, (how & 8) ? &d : NULL, &live), WEFT_OK);
		break;
	}
	}
}

static void *sem_producer(void *arg)
{
	(void)arg;
	for (long i = 0; i < N; i += 2) {
		sem_take(&sem_free, (int)(i / 2));
		sem_take(&sem_free, (int)(i / 2) + 1);
		sem_ring[i % RING] = i + 1;
		sem_ring[(i + 1) % RING] = i + 2;
		if ((i / 2) % 2)
			EXPECT_EQ("weft_sem_post_n", weft_sem_post_n(&sem_items, 2), WEFT_OK);
		else {
			EXPECT_EQ("weft_sem_post", weft_sem_post(&sem_items), WEFT_OK);
			EXPECT_EQ("weft_sem_post", weft_sem_post(&sem_items), WEFT_OK);
		}
	}
	return NULL;
}

static void *sem_consumer(void *arg)
{
	(void)arg;
	for (long i = 0; i < N; i++) {
		sem_take(&sem_items, (int)i);
		sem_sum += sem_ring[i % RING];
		sem_ring[i % RING] = 0; /* the slot goes back to the producer with the post */
		EXPECT_EQ("weft_sem_post", weft_sem_post(&sem_free), WEFT_OK);
	}
	return NULL;
}

static void test_sem(void)
{
	EXPECT_EQ("weft_sem_init", weft_sem_init(&sem_items, 0, 0), WEFT_OK);
	EXPECT_EQ("weft_sem_init", weft_sem_init(&sem_free, RING, 0), WEFT_OK);
	run2(sem_producer, sem_consumer, NULL);
	EXPECT_EQ("sem: items summed", sem_sum, (long)N * (N + 1) / 2);
	struct timespec p = past();
	EXPECT_EQ("weft_sem_timedwait(past)", weft_sem_timedwait(&sem_items, &p), WEFT_ETIMEDOUT);
	weft_sem_destroy(&sem_items);
	weft_sem_destroy(&sem_free);
}

/* ---- once ------------------------------------------------------------------ */

static weft_once_t once = WEFT_ONCE_INIT;
static long once_value; /* plain: written by the once function, read after weft_once() */
static long once_calls;

static void once_fn(void)
{
	once_value = 42;
	once_calls++;
}

static void *once_thread(void *arg)
{
	long *seen = (long *)arg;
	weft_once(&once, once_fn);
	__atomic_fetch_add(seen, once_value, __ATOMIC_RELAXED);
	return NULL;
}

static void test_once(void)
{
	long seen = 0;
	run2(once_thread, once_thread, &seen);
	EXPECT_EQ("once: both saw the value", seen, 84);
	EXPECT_EQ("once: called once", once_calls, 1);
}

/* ---- barrier ---------------------------------------------------------------- */

static weft_barrier_t bar;
static long bar_data[2]; /* plain: thread t writes bar_data[t] in a phase, the other reads it in the next */
static long bar_sum[2];
static weft_cancel_t bar_tok;

static void *bar_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (long i = 1; i <= N / 4; i++) {
		bar_data[t] = i;
		if (i % 2) {
			(void)weft_barrier_wait(&bar);
		} else {
			/* the cancellable wait passes on the same terms (no deadline,
			 * a token nobody cancels) */
			bool serial;
			EXPECT_EQ("weft_barrier_wait_ctx", weft_barrier_wait_ctx(&bar, &serial, NULL, &bar_tok), WEFT_OK);
		}
		bar_sum[t] += bar_data[1 - t];
		(void)weft_barrier_wait(&bar); /* the other has read before we write again */
	}
	return NULL;
}

static void *bar_a(void *arg) { (void)arg; return bar_thread((void *)0); }
static void *bar_b(void *arg) { (void)arg; return bar_thread((void *)1); }

static void test_barrier(void)
{
	EXPECT_EQ("weft_barrier_init", weft_barrier_init(&bar, 2), WEFT_OK);
	run2(bar_a, bar_b, NULL);
	long want = (long)(N / 4) * (N / 4 + 1) / 2;
	EXPECT_EQ("barrier: A read B's phases", bar_sum[0], want);
	EXPECT_EQ("barrier: B read A's phases", bar_sum[1], want);
	weft_barrier_destroy(&bar);
}

/* ---- latch: count_down publishes; wait, timedwait, try_wait consume ---------- */

#define LATCHES 64
static weft_latch_t latches[LATCHES];
static long latch_data[LATCHES]; /* plain: written before the count-down, read after the wait */
static long latch_sum;
static weft_cancel_t latch_tok; /* never cancelled */

static void *latch_setter(void *arg)
{
	(void)arg;
	for (int i = 0; i < LATCHES; i++) {
		latch_data[i] = i + 1;
		EXPECT_EQ("weft_latch_count_down", weft_latch_count_down(&latches[i], i % 2 ? 2 : 1), WEFT_OK);
		if (!(i % 2))
			EXPECT_EQ("weft_latch_count_down", weft_latch_count_down(&latches[i], 1), WEFT_OK);
	}
	return NULL;
}

static void *latch_waiter(void *arg)
{
	(void)arg;
	for (int i = 0; i < LATCHES; i++) {
		struct timespec d;
		switch (i % 4) {
		case 0:
			weft_latch_wait(&latches[i]);
			break;
		case 1:
			while (!weft_latch_try_wait(&latches[i]))
				;
			break;
		case 2:
			d = soon();
			if (i % 8 == 2) {
				while (weft_latch_wait_ctx(&latches[i], &d, &latch_tok) != WEFT_OK)
					d = soon();
				break;
			}
			while (weft_latch_timedwait(&latches[i], &d) != WEFT_OK)
				d = soon();
			break;
		default:
			d = later();
			EXPECT_EQ("weft_latch_timedwait", weft_latch_timedwait(&latches[i], &d), WEFT_OK);
			break;
		}
		latch_sum += latch_data[i];
	}
	return NULL;
}

static void test_latch(void)
{
	for (int i = 0; i < LATCHES; i++)
		EXPECT_EQ("weft_latch_init", weft_latch_init(&latches[i], 2), WEFT_OK);
	struct timespec p = past();
	EXPECT_EQ("weft_latch_timedwait(past)", weft_latch_timedwait(&latches[0], &p), WEFT_ETIMEDOUT);
	run2(latch_setter, latch_waiter, NULL);
	EXPECT_EQ("latch: data summed", latch_sum, (long)LATCHES * (LATCHES + 1) / 2);
	for (int i = 0; i < LATCHES; i++)
		weft_latch_destroy(&latches[i]);
}

/* ---- counter and scounter ------------------------------------------------------ */

static weft_counter_t ctr = WEFT_COUNTER_INIT;
static long ctr_data[N]; /* plain: element i is written before the i+1-th release add */
static weft_scounter_t sctr;

static void *ctr_writer(void *arg)
{
	(void)arg;
	for (long i = 0; i < N; i++) {
		ctr_data[i] = i + 1;
		weft_counter_add_release(&ctr, 1);
		weft_scounter_add(&sctr, 1);
	}
	return NULL;
}

static void *ctr_reader(void *arg)
{
	long *sum = (long *)arg;
	long done = 0;
	while (done < N) {
		long n = (long)weft_counter_load_acquire(&ctr);
		for (; done < n; done++)
			*sum += ctr_data[done];
		weft_scounter_add(&sctr, -1);
		weft_scounter_add(&sctr, 1);
		(void)weft_scounter_read(&sctr);
		(void)weft_scounter_read_approx(&sctr);
	}
	return NULL;
}

static void test_counter(void)
{
	long sum = 0;
	EXPECT_EQ("weft_scounter_init", weft_scounter_init(&sctr), WEFT_OK);
	run2(ctr_writer, ctr_reader, &sum);
	EXPECT_EQ("counter: data summed", sum, (long)N * (N + 1) / 2);
	EXPECT_EQ("scounter: exact read", weft_scounter_read(&sctr), N);
	weft_scounter_destroy(&sctr);
}

/* ---- mpmc: every push publishes its item, every pop consumes one ----------------- */

struct item {
	long value; /* plain: written by the producer before the push, read after the pop */
};

static weft_mpmc_t *q;
static weft_mpmc_t *q_full, *q_empty; /* the other cases of the selects: never ready */
static weft_cancel_t q_token = WEFT_CANCEL_INIT; /* never cancelled */
static struct item items[N];
static long q_sum;

static void *q_producer(void *arg)
{
	(void)arg;
	for (long i = 0; i < N;) {
		items[i].value = i + 1;
		struct timespec d;
		switch (i % 7) {
		case 0:
			EXPECT_EQ("weft_mpmc_push", weft_mpmc_push(q, &items[i]), WEFT_OK);
			i++;
			break;
		case 1:
			while (!weft_mpmc_try_push(q, &items[i]))
				;
			i++;
			break;
		case 2:
			d = soon();
			while (weft_mpmc_timedpush(q, &items[i], &d) != WEFT_OK)
				d = soon();
			i++;
			break;
		case 3:
			d = later();
			EXPECT_EQ("weft_mpmc_timedpush", weft_mpmc_timedpush(q, &items[i], &d), WEFT_OK);
			i++;
			break;
		case 5:
			EXPECT_EQ("weft_mpmc_push_ctx", weft_mpmc_push_ctx(q, &items[i], NULL, &q_token), WEFT_OK);
			i++;
			break;
		case 6: {
			weft_mpmc_case_t c[2] = {{q_full, WEFT_MPMC_OP_PUSH, NULL}, {q, WEFT_MPMC_OP_PUSH, &items[i]}};
			unsigned chosen = 0;
			EXPECT_EQ("weft_mpmc_select(push)", weft_mpmc_select(c, 2, NULL, &q_token, &chosen), WEFT_OK);
			EXPECT_EQ("weft_mpmc_select(push): the case", chosen, 1);
			i++;
			break;
		}
		default: {
			void *batch[3];
			size_t n = 0;
			for (; n < 3 && i + (long)n < N; n++) {
				items[i + (long)n].value = i + (long)n + 1;
				batch[n] = &items[i + (long)n];
			}
			size_t done = 0;
			while (done < n)
				done += weft_mpmc_push_n(q, batch + done, n - done);
			i += (long)n;
			break;
		}
		}
	}
	return NULL;
}

static void *q_consumer(void *arg)
{
	(void)arg;
	long got = 0;
	for (int k = 0; got < N; k++) {
		void *p = NULL;
		struct timespec d;
		switch (k % 7) {
		case 0:
			EXPECT_EQ("weft_mpmc_pop", weft_mpmc_pop(q, &p), WEFT_OK);
			break;
		case 1:
			while (!weft_mpmc_try_pop(q, &p))
				;
			break;
		case 2:
			d = soon();
			while (weft_mpmc_timedpop(q, &p, &d) != WEFT_OK)
				d = soon();
			break;
		case 3:
			d = later();
			EXPECT_EQ("weft_mpmc_timedpop", weft_mpmc_timedpop(q, &p, &d), WEFT_OK);
			break;
		case 5:
			EXPECT_EQ("weft_mpmc_pop_ctx", weft_mpmc_pop_ctx(q, &p, NULL, &q_token), WEFT_OK);
			break;
		case 6: {
			weft_mpmc_case_t c[2] = {{q_empty, WEFT_MPMC_OP_POP, NULL}, {q, WEFT_MPMC_OP_POP, NULL}};
			unsigned chosen = 0;
			EXPECT_EQ("weft_mpmc_select(pop)", weft_mpmc_select(c, 2, NULL, &q_token, &chosen), WEFT_OK);
			EXPECT_EQ("weft_mpmc_select(pop): the case", chosen, 1);
			p = c[1].item;
			break;
		}
		default: {
			void *batch[3];
			size_t n = weft_mpmc_pop_n(q, batch, 3);
			for (size_t j = 0; j < n; j++)
				q_sum += ((struct item *)batch[j])->value;
			got += (long)n;
			continue;
		}
		}
		q_sum += ((struct item *)p)->value;
		got++;
	}
	return NULL;
}

static void test_mpmc(void)
{
	q = weft_mpmc_create(8, 0); /* small: pushes block on full, pops on empty */
	q_full = weft_mpmc_create(2, 0);
	q_empty = weft_mpmc_create(2, 0);
	if (q == NULL || q_full == NULL || q_empty == NULL) {
		fprintf(stderr, "tsan_all: weft_mpmc_create failed\n");
		exit(2);
	}
	struct timespec p = past();
	void *out;
	EXPECT_EQ("weft_mpmc_timedpop(past, empty)", weft_mpmc_timedpop(q, &out, &p), WEFT_ETIMEDOUT);
	while (weft_mpmc_try_push(q_full, &items[0]))
		;
	run2(q_producer, q_consumer, NULL);
	EXPECT_EQ("mpmc: items summed", q_sum, (long)N * (N + 1) / 2);
	weft_mpmc_close(q);
	EXPECT_EQ("weft_mpmc_pop(closed, empty)", weft_mpmc_pop(q, &out), WEFT_ECLOSED);
	weft_mpmc_destroy(q);
	weft_mpmc_destroy(q_full);
	weft_mpmc_destroy(q_empty);
}

/* ---- pool: an object put by one thread is got and written by the other ---------- */

struct obj {
	long owner_writes[4]; /* plain: written by whoever got the object */
};

static weft_pool_t *pool;

static void *pool_thread(void *arg)
{
	long t = (long)(intptr_t)arg;
	for (int i = 0; i < N; i++) {
		struct obj *o = (struct obj *)weft_pool_get(pool);
		if (o == NULL)
			continue; /* the other thread holds them all (or its cache does) */
		for (int k = 0; k < 4; k++)
			o->owner_writes[k] = t * 1000 + i;
		EXPECT_EQ("pool: object kept its writes", o->owner_writes[3], t * 1000 + i);
		weft_pool_put(pool, o);
		if (i % 16 == 0)
			weft_pool_flush(pool); /* hand the cache back: objects cross threads */
	}
	weft_pool_flush(pool);
	return NULL;
}

static void *pool_a(void *arg) { (void)arg; return pool_thread((void *)0); }
static void *pool_b(void *arg) { (void)arg; return pool_thread((void *)1); }

static void test_pool(void)
{
	pool = weft_pool_create(sizeof(struct obj), 4, 0);
	if (pool == NULL) {
		fprintf(stderr, "tsan_all: weft_pool_create failed\n");
		exit(2);
	}
	run2(pool_a, pool_b, NULL);
	weft_pool_destroy(pool);
}

/* ---- spinlocks: spin, ticket, mcs ------------------------------------------------ */

static weft_spin_t sp = WEFT_SPIN_INIT;
static weft_ticket_t tk = WEFT_TICKET_INIT;
static weft_mcs_t mcs = WEFT_MCS_INIT;
static long sp_data, tk_data, mcs_data; /* plain: each under its lock */

static void *spin_thread(void *arg)
{
	(void)arg;
	weft_mcs_node_t node;
	for (int i = 0; i < N; i++) {
		if (i % 2)
			weft_spin_lock(&sp);
		else
			while (!weft_spin_trylock(&sp))
				;
		sp_data++;
		weft_spin_unlock(&sp);

		if (i % 2)
			weft_ticket_lock(&tk);
		else
			while (!weft_ticket_trylock(&tk))
				;
		tk_data++;
		weft_ticket_unlock(&tk);

		if (i % 2)
			weft_mcs_lock(&mcs, &node);
		else
			while (!weft_mcs_trylock(&mcs, &node))
				;
		mcs_data++;
		weft_mcs_unlock(&mcs, &node);
	}
	return NULL;
}

static void test_spinlocks(void)
{
	run2(spin_thread, spin_thread, NULL);
	EXPECT_EQ("spin: increments", sp_data, 2 * N);
	EXPECT_EQ("ticket: increments", tk_data, 2 * N);
	EXPECT_EQ("mcs: increments", mcs_data, 2 * N);
}

/* ---- cancel: weft_cancel() publishes; a WEFT_ECANCELED return consumes ------
 * The canceller writes plain data, then cancels; each cancelled call (the
 * waiter is asleep in it, or it finds the token cancelled) reads the data.
 * weft_cancel()'s release and the acquire behind WEFT_ECANCELED must both be
 * made where TSan sees them (the headers), not only in the library. */

#define CANCEL_ROUNDS 200
#define CANCEL_PASSES 2
static weft_cancel_t can_tok[CANCEL_ROUNDS];
static long can_data[CANCEL_ROUNDS]; /* plain: written before weft_cancel(), read after WEFT_ECANCELED */
static long can_sum;
static weft_latch_t can_shut;        /* never opened */
static weft_mpmc_t *can_q;           /* stays empty */
static uint32_t can_started;         /* atomic: rounds the waiter has begun */

static void *can_canceller(void *arg)
{
	(void)arg;
	for (int i = 0; i < CANCEL_ROUNDS; i++) {
		/* let the waiter reach its call (not required: a token found
		 * cancelled must publish the same) */
		while (__atomic_load_n(&can_started, __ATOMIC_RELAXED) <= (uint32_t)i)
			sched_yield();
		can_data[i] = i + 1;
		weft_cancel(&can_tok[i]);
	}
	return NULL;
}

/* The same through weft_sem_wait_ctx() (no unit), weft_mpmc_pop_ctx() and
 * weft_mpmc_select() (an empty queue), weft_mpmc_push_ctx() (a full one), and
 * the mutex, rwlock and brlock _ctx locks (held by the main thread all along,
 * in the other mode).  For the locks even an instrumented library needs the
 * wrapper's weft__cancel_acquired(): TSan ignores what happens between its
 * pre_lock and post_lock annotations, the wait's acquire included. */
static weft_sem_t can_sem;       /* no unit */
static weft_mutex_t can_held_mx; /* locked by test_cancel() during the pass */
static weft_rwlock_t can_held_rw; /* read-locked by test_cancel() during the pass */
static weft_rwlock_t can_wheld_rw; /* write-locked by test_cancel() during the pass */
static weft_brlock_t can_held_br;  /* read-locked by test_cancel() during the pass */
static weft_brlock_t can_wheld_br; /* write-locked by test_cancel() during the pass */
static weft_mpmc_t *can_full;      /* full: a push waits */

static void *can_waiter(void *arg)
{
	(void)arg;
	for (int i = 0; i < CANCEL_ROUNDS; i++) {
		__atomic_store_n(&can_started, (uint32_t)i + 1, __ATOMIC_RELAXED);
		int rc;
		void *v;
		switch (i % 9) {
		case 0:
			rc = weft_sem_wait_ctx(&can_sem, NULL, &can_tok[i]);
			break;
		case 1:
			rc = weft_mpmc_pop_ctx(can_q, &v, NULL, &can_tok[i]);
			break;
		case 2: {
			weft_mpmc_case_t c = {can_q, WEFT_MPMC_OP_POP, NULL};
			unsigned chosen;
			rc = weft_mpmc_select(&c, 1, NULL, &can_tok[i], &chosen);
			break;
		}
		case 3:
			rc = weft_mutex_lock_ctx(&can_held_mx, NULL, &can_tok[i]);
			break;
		case 4:
			rc = weft_rwlock_wrlock_ctx(&can_held_rw, NULL, &can_tok[i]);
			break;
		case 5:
			rc = weft_rwlock_rdlock_ctx(&can_wheld_rw, NULL, &can_tok[i]);
			break;
		case 6:
			rc = weft_brlock_wrlock_ctx(&can_held_br, NULL, &can_tok[i]);
			break;
		case 7:
			rc = weft_brlock_rdlock_ctx(&can_wheld_br, NULL, &can_tok[i]);
			break;
		default:
			rc = weft_mpmc_push_ctx(can_full, &can_sum, NULL, &can_tok[i]);
			break;
		}
		EXPECT_EQ("cancelled sem/mpmc/mutex/rwlock call", rc, WEFT_ECANCELED);
		can_sum += can_data[i];
	}
	return NULL;
}

/* The same through weft_latch_wait_ctx(), weft_cond_wait_ctx() (a condition
 * variable nobody signals: it comes back cancelled, holding its mutex) and
 * weft_barrier_wait_ctx() (a barrier of two nobody else reaches: the arrival
 * is withdrawn). */
static weft_mutex_t can_mx = WEFT_MUTEX_INIT;
static weft_cond_t can_cv = WEFT_COND_INIT;
static weft_barrier_t can_bar;

static void *can_waiter_cond_latch_barrier(void *arg)
{
	(void)arg;
	for (int i = 0; i < CANCEL_ROUNDS; i++) {
		__atomic_store_n(&can_started, (uint32_t)i + 1, __ATOMIC_RELAXED);
		int rc;
		switch (i % 3) {
		case 0:
			rc = weft_latch_wait_ctx(&can_shut, NULL, &can_tok[i]);
			break;
		case 1:
			weft_mutex_lock(&can_mx);
			do /* a spurious wake-up goes round again */
				rc = weft_cond_wait_ctx(&can_cv, &can_mx, NULL, &can_tok[i]);
			while (rc == WEFT_OK);
			weft_mutex_unlock(&can_mx);
			break;
		default:
			rc = weft_barrier_wait_ctx(&can_bar, NULL, NULL, &can_tok[i]);
			break;
		}
		EXPECT_EQ("cancelled cond/latch/barrier call", rc, WEFT_ECANCELED);
		can_sum += can_data[i];
	}
	return NULL;
}

/* The token alone: a poller of weft_cancel_requested() reads the data. */
static void *can_poller(void *arg)
{
	(void)arg;
	for (int i = 0; i < CANCEL_ROUNDS; i++) {
		__atomic_store_n(&can_started, (uint32_t)i + 1, __ATOMIC_RELAXED);
		while (!weft_cancel_requested(&can_tok[i]))
			sched_yield();
		can_sum += can_data[i];
	}
	return NULL;
}

static void test_cancel(void)
{
	EXPECT_EQ("weft_latch_init", weft_latch_init(&can_shut, 1), WEFT_OK);
	can_q = weft_mpmc_create(8, 0);
	EXPECT_EQ("weft_mpmc_create", can_q != NULL, 1);
	if (can_q == NULL)
		return;
	/* pass 0: a poller; pass 1: the sem, mpmc, mutex, rwlock and brlock
	 * _ctx calls (their inline wrappers end with weft__cancel_acquired()) */
	EXPECT_EQ("weft_sem_init", weft_sem_init(&can_sem, 0, 0), WEFT_OK);
	EXPECT_EQ("weft_mutex_init", weft_mutex_init(&can_held_mx, 0), WEFT_OK);
	EXPECT_EQ("weft_rwlock_init", weft_rwlock_init(&can_held_rw, 0), WEFT_OK);
	EXPECT_EQ("weft_rwlock_init", weft_rwlock_init(&can_wheld_rw, 0), WEFT_OK);
	EXPECT_EQ("weft_brlock_init", weft_brlock_init(&can_held_br, 0), WEFT_OK);
	EXPECT_EQ("weft_brlock_init", weft_brlock_init(&can_wheld_br, 0), WEFT_OK);
	can_full = weft_mpmc_create(2, 0);
	EXPECT_EQ("weft_mpmc_create", can_full != NULL, 1);
	if (can_full == NULL)
		return;
	while (weft_mpmc_try_push(can_full, &can_sum))
		;
	weft_mutex_lock(&can_held_mx);
	weft_rwlock_rdlock(&can_held_rw);
	weft_rwlock_wrlock(&can_wheld_rw);
	weft_brlock_rdlock(&can_held_br);
	weft_brlock_wrlock(&can_wheld_br);
	for (int pass = 0; pass < CANCEL_PASSES; pass++) {
		for (int i = 0; i < CANCEL_ROUNDS; i++) {
			EXPECT_EQ("weft_cancel_init", weft_cancel_init(&can_tok[i], NULL, 0), WEFT_OK);
			can_data[i] = 0;
		}
		can_sum = 0;
		__atomic_store_n(&can_started, 0, __ATOMIC_RELAXED);
		run2(can_canceller, pass == 0 ? can_poller : can_waiter, NULL);
		EXPECT_EQ("cancel: data summed", can_sum, (long)CANCEL_ROUNDS * (CANCEL_ROUNDS + 1) / 2);
	}
	weft_brlock_wrunlock(&can_wheld_br);
	weft_brlock_rdunlock(&can_held_br);
	weft_rwlock_wrunlock(&can_wheld_rw);
	weft_rwlock_rdunlock(&can_held_rw);
	weft_mutex_unlock(&can_held_mx);
	weft_brlock_destroy(&can_wheld_br);
	weft_brlock_destroy(&can_held_br);
	weft_rwlock_destroy(&can_wheld_rw);
	weft_mpmc_destroy(can_full);
	weft_rwlock_destroy(&can_held_rw);
	weft_mutex_destroy(&can_held_mx);
	weft_sem_destroy(&can_sem);
	/* the cond, latch and barrier _ctx calls (their wrappers end with
	 * weft__cancel_acquired()) */
	EXPECT_EQ("weft_barrier_init", weft_barrier_init(&can_bar, 2), WEFT_OK);
	for (int i = 0; i < CANCEL_ROUNDS; i++) {
		EXPECT_EQ("weft_cancel_init", weft_cancel_init(&can_tok[i], NULL, 0), WEFT_OK);
		can_data[i] = 0;
	}
	can_sum = 0;
	__atomic_store_n(&can_started, 0, __ATOMIC_RELAXED);
	run2(can_canceller, can_waiter_cond_latch_barrier, NULL);
	EXPECT_EQ("cancel (cond/latch/barrier): data summed", can_sum, (long)CANCEL_ROUNDS * (CANCEL_ROUNDS + 1) / 2);
	weft_barrier_destroy(&can_bar);
	weft_mpmc_destroy(can_q);
	weft_latch_destroy(&can_shut);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} sections[] = {
		{"mutex", test_mutex},	   {"rwlock", test_rwlock}, {"cond", test_cond},
		{"sem", test_sem},	   {"once", test_once},	    {"barrier", test_barrier},
		{"latch", test_latch},	   {"counter", test_counter}, {"mpmc", test_mpmc},
		{"pool", test_pool},	   {"spinlocks", test_spinlocks}, {"cancel", test_cancel},
	};
	alarm(240); /* a hang is a failure (SIGALRM kills the run) */
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (argc > 1 && strcmp(argv[1], sections[i].name) != 0)
			continue;
		fprintf(stderr, "tsan_all: %s\n", sections[i].name);
		sections[i].fn();
	}
	if (failures) {
		fprintf(stderr, "tsan_all: %d failed checks\n", failures);
		return 1;
	}
	fprintf(stderr, "tsan_all: every section passed its checks\n");
	return 0;
}
