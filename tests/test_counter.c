/* SPDX-License-Identifier: MIT */
/* test_counter.c - weft_counter_t and weft_scounter_t: semantics, wrap-around,
 * bad input, slot claiming, reuse after thread exit, overflow, destroy with
 * live threads, read_approx freshness. */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "weft/counter.h"

/* ---- weft_counter_t ---------------------------------------------------- */

static void test_counter_init(void)
{
	weft_counter_t c = WEFT_COUNTER_INIT;
	CHECK_EQ(weft_counter_load(&c), 0);
	weft_counter_store(&c, 5);
	CHECK_STATUS(weft_counter_init(&c, 0), WEFT_OK);
	CHECK_EQ(weft_counter_load(&c), 0);
	CHECK_STATUS(weft_counter_init(&c, WEFT_PSHARED), WEFT_OK);
	weft_counter_store(&c, 7);
	CHECK_STATUS(weft_counter_init(&c, 0x80u), WEFT_EINVAL);
	CHECK_STATUS(weft_counter_init(&c, WEFT_PSHARED | 0x2u), WEFT_EINVAL);
	CHECK_EQ(weft_counter_load(&c), 7); /* untouched on EINVAL */
	weft_counter_destroy(&c);
}

static void test_counter_arith(void)
{
	weft_counter_t c = WEFT_COUNTER_INIT;
	CHECK_EQ(weft_counter_add(&c, 10), 0);
	CHECK_EQ(weft_counter_add_release(&c, 5), 10);
	CHECK_EQ(weft_counter_add_acq_rel(&c, 1), 15);
	CHECK_EQ(weft_counter_sub(&c, 2), 16);
	CHECK_EQ(weft_counter_sub_release(&c, 3), 14);
	CHECK_EQ(weft_counter_sub_acq_rel(&c, 1), 11);
	CHECK_EQ(weft_counter_inc(&c), 10);
	CHECK_EQ(weft_counter_dec(&c), 11);
	CHECK_EQ(weft_counter_dec_release(&c), 10);
	CHECK_EQ(weft_counter_dec_acq_rel(&c), 9);
	CHECK_EQ(weft_counter_load(&c), 8);
	CHECK_EQ(weft_counter_load_acquire(&c), 8);
	CHECK_EQ(weft_counter_exchange(&c, 100), 8);
	CHECK_EQ(weft_counter_exchange_acq_rel(&c, 200), 100);
	weft_counter_store_release(&c, 300);
	CHECK_EQ(weft_counter_load(&c), 300);
}

static void test_counter_cas(void)
{
	weft_counter_t c = WEFT_COUNTER_INIT;
	weft_counter_store(&c, 42);
	uint64_t expected = 41;
	CHECK(!weft_counter_cas(&c, &expected, 50));
	CHECK_EQ(expected, 42); /* failure reports the value found */
	CHECK_EQ(weft_counter_load(&c), 42);
	CHECK(weft_counter_cas(&c, &expected, 50));
	CHECK_EQ(weft_counter_load(&c), 50);
	expected = 0;
	CHECK(!weft_counter_cas_acq_rel(&c, &expected, 1));
	CHECK_EQ(expected, 50);
	CHECK(weft_counter_cas_acq_rel(&c, &expected, 1));
	CHECK_EQ(weft_counter_load(&c), 1);
}

static void test_counter_wraps(void)
{
	weft_counter_t c = WEFT_COUNTER_INIT;
	CHECK(weft_counter_dec(&c) == 0);
	CHECK(weft_counter_load(&c) == UINT64_MAX);
	CHECK(weft_counter_inc(&c) == UINT64_MAX);
	CHECK(weft_counter_load(&c) == 0);
	CHECK(weft_counter_add(&c, UINT64_MAX - 1) == 0);
	CHECK(weft_counter_add(&c, 3) == UINT64_MAX - 1);
	CHECK_EQ(weft_counter_load(&c), 1);
}

#define COUNTER_THREADS 4
#define COUNTER_ITERS 100000

static void *counter_worker(void *arg)
{
	weft_counter_t *c = (weft_counter_t *)arg;
	for (int i = 0; i < COUNTER_ITERS; i++) {
		weft_counter_inc(c);
		weft_counter_add(c, 2);
		weft_counter_sub(c, 1);
	}
	return NULL;
}

/* Lost updates would show here (SCENARIOS R1: 4 x 100 000). */
static void test_counter_threads(void)
{
	weft_counter_t c = WEFT_COUNTER_INIT;
	pthread_t th[COUNTER_THREADS];
	for (int i = 0; i < COUNTER_THREADS; i++)
		pthread_create(&th[i], NULL, counter_worker, &c);
	for (int i = 0; i < COUNTER_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(weft_counter_load(&c), 2 * COUNTER_THREADS * COUNTER_ITERS);
}

/* The reference-count pattern: only the last dec_acq_rel returns 1. */
struct refobj {
	weft_counter_t refs;
	int data[4];
	int freed_by_last;
};

static void *ref_worker(void *arg)
{
	struct refobj *o = (struct refobj *)arg;
	volatile int seen = o->data[0]; /* read-only use of the object */
	(void)seen;
	if (weft_counter_dec_acq_rel(&o->refs) == 1)
		o->freed_by_last = 1;
	return NULL;
}

static void test_counter_refcount(void)
{
	struct refobj o = {WEFT_COUNTER_INIT, {1, 2, 3, 4}, 0};
	weft_counter_store(&o.refs, 5);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, ref_worker, &o);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(o.freed_by_last, 0);
	CHECK_EQ(weft_counter_dec_acq_rel(&o.refs), 1);
	CHECK_EQ(weft_counter_load(&o.refs), 0);
}

/* ---- weft_scounter_t --------------------------------------------------- */

static void test_scounter_basic(void)
{
	weft_scounter_t sc;
	CHECK_STATUS(weft_scounter_init(&sc), WEFT_OK);
	CHECK_NE(sc.id, 0);
	CHECK_EQ(weft_scounter_read(&sc), 0);
	CHECK_EQ(weft_scounter_read_approx(&sc), 0);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 0);
	weft_scounter_add(&sc, 5);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 1);
	weft_scounter_inc(&sc);
	weft_scounter_dec(&sc);
	weft_scounter_dec(&sc);
	weft_scounter_add(&sc, -10);
	CHECK_EQ(weft_scounter_read(&sc), -6);
	weft_scounter_add(&sc, INT64_MAX);
	weft_scounter_add(&sc, 10);
	CHECK(weft_scounter_read(&sc) == INT64_MIN + 3); /* wraps */
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 1);
	weft_scounter_destroy(&sc);
	CHECK_EQ(sc.id, 0);
	CHECK(sc.shards == NULL);
	weft_scounter_destroy(&sc); /* destroyed (all-zero) again: no-op */
}

static void test_scounter_bad_input(void)
{
	weft_scounter_t sc = {0, NULL};
	CHECK_STATUS(weft_scounter_init_n(&sc, 0), WEFT_EINVAL);
	CHECK_EQ(sc.id, 0);
	CHECK_STATUS(weft_scounter_init_n(&sc, WEFT_SCOUNTER_SLOTS_MAX + 1), WEFT_EINVAL);
	CHECK_EQ(sc.id, 0);
	CHECK(sc.shards == NULL);
	CHECK_EQ(weft_scounter_bytes(0), 0);
	CHECK_EQ(weft_scounter_bytes(WEFT_SCOUNTER_SLOTS_MAX + 1), 0);
	CHECK_EQ(weft_scounter_bytes(1), 4 * 64);
	CHECK_EQ(weft_scounter_bytes(WEFT_SCOUNTER_SLOTS_DEFAULT), 64 * (WEFT_SCOUNTER_SLOTS_DEFAULT + 3));
	CHECK_STATUS(weft_scounter_init_n(&sc, WEFT_SCOUNTER_SLOTS_MAX), WEFT_OK);
	weft_scounter_add(&sc, 3);
	CHECK_EQ(weft_scounter_read(&sc), 3);
	weft_scounter_destroy(&sc);
	weft_scounter_t zero = {0, NULL};
	weft_scounter_destroy(&zero); /* never initialized: no-op */
}

/* Ids are unique: two counters alive at once, and a re-init at the same
 * address, never share a slot. */
static void test_scounter_reinit_same_address(void)
{
	weft_scounter_t a, b;
	CHECK_STATUS(weft_scounter_init(&a), WEFT_OK);
	CHECK_STATUS(weft_scounter_init(&b), WEFT_OK);
	CHECK_NE(a.id, b.id);
	weft_scounter_add(&a, 1);
	weft_scounter_add(&b, 2);
	uint64_t old_id = a.id;
	weft_scounter_destroy(&a);
	CHECK_STATUS(weft_scounter_init(&a), WEFT_OK);
	CHECK_NE(a.id, old_id);
	CHECK_EQ(weft_scounter_read(&a), 0);
	weft_scounter_add(&a, 7);
	CHECK_EQ(weft_scounter_read(&a), 7);
	CHECK_EQ(weft_scounter_read(&b), 2);
	weft_scounter_destroy(&a);
	weft_scounter_destroy(&b);
}

/* More counters than thread-local table entries: the direct-mapped table
 * collides, the slow path must still find each counter's own slot. */
static void test_scounter_many_counters(void)
{
	enum { N = 3 * WEFT__SCOUNTER_TLS_WAYS + 1 };
	weft_scounter_t sc[N];
	for (int i = 0; i < N; i++)
		CHECK_STATUS(weft_scounter_init_n(&sc[i], 2), WEFT_OK);
	for (int round = 0; round < 100; round++)
		for (int i = 0; i < N; i++)
			weft_scounter_add(&sc[i], i + 1);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(weft_scounter_read(&sc[i]), 100 * (i + 1));
		CHECK_EQ(weft_scounter_slots_in_use(&sc[i]), 1);
	}
	for (int i = 0; i < N; i++)
		weft_scounter_destroy(&sc[i]);
}

struct sc_job {
	weft_scounter_t *sc;
	int64_t n;
	int reps;
	pthread_barrier_t *hold; /* if set: wait here after adding, before exiting */
	unsigned in_use_seen;
};

static void *sc_adder(void *arg)
{
	struct sc_job *j = (struct sc_job *)arg;
	for (int i = 0; i < j->reps; i++)
		weft_scounter_add(j->sc, j->n);
	if (j->hold) {
		pthread_barrier_wait(j->hold); /* everyone has added */
		pthread_barrier_wait(j->hold); /* main has looked */
	}
	return NULL;
}

/* Threads that come and go give their slots back, and the counts they leave
 * in the slots survive the reuse (nothing lost, nothing counted twice). */
static void test_scounter_slot_reuse(void)
{
	weft_scounter_t sc;
	CHECK_STATUS(weft_scounter_init_n(&sc, 2), WEFT_OK);
	int64_t want = 0;
	for (int t = 0; t < 20; t++) {
		struct sc_job j = {&sc, t + 1, 1000, NULL, 0};
		pthread_t th;
		pthread_create(&th, NULL, sc_adder, &j);
		pthread_join(th, NULL);
		want += (int64_t)(t + 1) * 1000;
		CHECK_EQ(weft_scounter_slots_in_use(&sc), 0);
		CHECK_EQ(weft_scounter_read(&sc), want);
	}
	weft_scounter_destroy(&sc);
}

/* More live threads than slots: the rest count through the overflow word. */
static void test_scounter_overflow(void)
{
	enum { T = 6, SLOTS = 2 };
	weft_scounter_t sc;
	CHECK_STATUS(weft_scounter_init_n(&sc, SLOTS), WEFT_OK);
	pthread_barrier_t hold;
	pthread_barrier_init(&hold, NULL, T + 1);
	struct sc_job j[T];
	pthread_t th[T];
	for (int i = 0; i < T; i++) {
		j[i] = (struct sc_job){&sc, i + 1, 10000, &hold, 0};
		pthread_create(&th[i], NULL, sc_adder, &j[i]);
	}
	pthread_barrier_wait(&hold);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), SLOTS);
	CHECK_EQ(weft_scounter_read(&sc), 10000 * (1 + 2 + 3 + 4 + 5 + 6));
	pthread_barrier_wait(&hold);
	for (int i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 0);
	CHECK_EQ(weft_scounter_read(&sc), 10000 * (1 + 2 + 3 + 4 + 5 + 6));
	pthread_barrier_destroy(&hold);
	weft_scounter_destroy(&sc);
}

/* A thread that overflowed takes a slot once one is given back. */
struct step_job {
	weft_scounter_t *sc;
	sem_t go, done;
	int steps;
};

static void *stepper(void *arg)
{
	struct step_job *j = (struct step_job *)arg;
	for (int s = 0; s < j->steps; s++) {
		sem_wait(&j->go);
		weft_scounter_add(j->sc, 1);
		sem_post(&j->done);
	}
	sem_wait(&j->go); /* exit only when told */
	return NULL;
}

static void test_scounter_overflow_then_slot(void)
{
	weft_scounter_t sc;
	CHECK_STATUS(weft_scounter_init_n(&sc, 1), WEFT_OK);
	struct step_job a = {&sc, {{0}}, {{0}}, 1}, b = {&sc, {{0}}, {{0}}, 2};
	sem_init(&a.go, 0, 0);
	sem_init(&a.done, 0, 0);
	sem_init(&b.go, 0, 0);
	sem_init(&b.done, 0, 0);
	pthread_t ta, tb;
	pthread_create(&ta, NULL, stepper, &a);
	pthread_create(&tb, NULL, stepper, &b);
	sem_post(&a.go); /* A takes the only slot */
	sem_wait(&a.done);
	sem_post(&b.go); /* B overflows */
	sem_wait(&b.done);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 1);
	sem_post(&a.go);
	pthread_join(ta, NULL); /* A gives its slot back */
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 0);
	sem_post(&b.go); /* B's next add claims it */
	sem_wait(&b.done);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 1);
	CHECK_EQ(weft_scounter_read(&sc), 3);
	sem_post(&b.go);
	pthread_join(tb, NULL);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 0);
	CHECK_EQ(weft_scounter_read(&sc), 3);
	sem_destroy(&a.go);
	sem_destroy(&a.done);
	sem_destroy(&b.go);
	sem_destroy(&b.done);
	weft_scounter_destroy(&sc);
}

/* Destroying a counter while a thread that owns one of its slots lives on:
 * the thread's exit must not touch the freed slots (ASan would see it), and
 * the thread can use a new counter at the same address. */
struct outlive_job {
	weft_scounter_t *sc;
	sem_t go, done;
};

static void *outliver(void *arg)
{
	struct outlive_job *j = (struct outlive_job *)arg;
	for (int s = 0; s < 2; s++) {
		sem_wait(&j->go);
		weft_scounter_add(j->sc, 10);
		sem_post(&j->done);
	}
	sem_wait(&j->go); /* exit only when told */
	return NULL;
}

static void test_scounter_destroy_with_live_owner(void)
{
	weft_scounter_t sc;
	CHECK_STATUS(weft_scounter_init_n(&sc, 4), WEFT_OK);
	struct outlive_job j = {&sc, {{0}}, {{0}}};
	sem_init(&j.go, 0, 0);
	sem_init(&j.done, 0, 0);
	pthread_t th;
	pthread_create(&th, NULL, outliver, &j);
	sem_post(&j.go);
	sem_wait(&j.done);
	CHECK_EQ(weft_scounter_read(&sc), 10);
	weft_scounter_destroy(&sc);
	CHECK_STATUS(weft_scounter_init_n(&sc, 4), WEFT_OK);
	sem_post(&j.go);
	sem_wait(&j.done);
	CHECK_EQ(weft_scounter_read(&sc), 10);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 1);
	sem_post(&j.go);
	pthread_join(th, NULL);
	CHECK_EQ(weft_scounter_slots_in_use(&sc), 0);
	CHECK_EQ(weft_scounter_read(&sc), 10);
	sem_destroy(&j.go);
	sem_destroy(&j.done);
	weft_scounter_destroy(&sc);
}

/* read_approx: exact on the first call (nothing cached yet), and after the
 * cache has aged past the bound.  20 ms of sleep exceeds 1 ms plus any coarse
 * clock resolution (4 ms at HZ=250, 10 ms at HZ=100), so this is not a timing
 * assertion: usleep never returns early. */
static void test_scounter_read_approx(void)
{
	weft_scounter_t sc;
	CHECK_STATUS(weft_scounter_init(&sc), WEFT_OK);
	weft_scounter_add(&sc, 100);
	CHECK_EQ(weft_scounter_read_approx(&sc), 100);
	weft_scounter_add(&sc, 1);
	int64_t v = weft_scounter_read_approx(&sc);
	CHECK(v == 100 || v == 101); /* cached or refreshed */
	usleep(20000);
	CHECK_EQ(weft_scounter_read_approx(&sc), 101);
	CHECK_EQ(weft_scounter_read(&sc), 101);
	weft_scounter_destroy(&sc);
}

int main(void)
{
	RUN_TEST(test_counter_init);
	RUN_TEST(test_counter_arith);
	RUN_TEST(test_counter_cas);
	RUN_TEST(test_counter_wraps);
	RUN_TEST(test_counter_threads);
	RUN_TEST(test_counter_refcount);
	RUN_TEST(test_scounter_basic);
	RUN_TEST(test_scounter_bad_input);
	RUN_TEST(test_scounter_reinit_same_address);
	RUN_TEST(test_scounter_many_counters);
	RUN_TEST(test_scounter_slot_reuse);
	RUN_TEST(test_scounter_overflow);
	RUN_TEST(test_scounter_overflow_then_slot);
	RUN_TEST(test_scounter_destroy_with_live_owner);
	RUN_TEST(test_scounter_read_approx);
	return check_summary();
}
