/* SPDX-License-Identifier: MIT */
/*
 * conform.c - a pthread conformance suite for libweft-preload.so.
 *
 * Every test states POSIX's (or glibc's documented) behaviour, so the same
 * program passes on plain glibc; preload/run_conform.sh runs it plain, under
 * the interposer with each mutex kind (WEFT_CONFORM_EXPECT=weft then checks
 * that the calls really reach the interposer), and as a ThreadSanitizer build
 * with the interposer linked in (-DWEFT_PRELOAD_PREFIX, weft_preload.h).
 *
 * No test asserts on timing: timeouts are only checked to happen, and a
 * watchdog (alarm) turns a hang into a failure.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <time.h>

#include "../../tests/check.h"
#include "weft_preload.h"

#ifdef WEFT_PRELOAD_PREFIX
void weft_preload_stats(void);
#endif

static struct timespec ts_after(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_nsec -= 1000000000L;
		ts.tv_sec++;
	}
	return ts;
}

static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, 0, fn, arg);
	if (rc != 0) {
		fprintf(stderr, "pthread_create: %d\n", rc);
		exit(2);
	}
}

/* ---- is the interposer really there? ---------------------------------- */

static void test_interposer_active(void)
{
	const char *want = getenv("WEFT_CONFORM_EXPECT");
#ifdef WEFT_PRELOAD_PREFIX
	CHECK(1); /* linked in */
	(void)want;
#else
	Dl_info info;
	void *fn = dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	bool weft = fn && dladdr(fn, &info) && info.dli_fname && strstr(info.dli_fname, "libweft-preload");
	if (want && !strcmp(want, "weft"))
		CHECK(weft);
	else
		CHECK(!weft);
#endif
}

/* ---- mutexes ---------------------------------------------------------- */

static pthread_mutex_t g_static_mutex = PTHREAD_MUTEX_INITIALIZER;

static void *try_other(void *arg)
{
	return (void *)(intptr_t)pthread_mutex_trylock(arg);
}

static int trylock_from_other_thread(pthread_mutex_t *m)
{
	pthread_t t;
	void *rc;
	spawn(&t, try_other, m);
	pthread_join(t, &rc);
	return (int)(intptr_t)rc;
}

static void test_mutex_static_and_init(void)
{
	CHECK_EQ(pthread_mutex_lock(&g_static_mutex), 0);
	CHECK_EQ(trylock_from_other_thread(&g_static_mutex), EBUSY);
	CHECK_EQ(pthread_mutex_unlock(&g_static_mutex), 0);
	CHECK_EQ(pthread_mutex_trylock(&g_static_mutex), 0);
	CHECK_EQ(pthread_mutex_unlock(&g_static_mutex), 0);

	pthread_mutex_t m;
	memset(&m, 0x5a, sizeof m); /* init must not depend on the old bytes */
	CHECK_EQ(pthread_mutex_init(&m, 0), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_destroy(&m), EBUSY); /* glibc: EBUSY while locked */
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_destroy(&m), 0);

	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_NORMAL);
	CHECK_EQ(pthread_mutex_init(&m, &a), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_trylock(&m), EBUSY);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_destroy(&m), 0);
	pthread_mutexattr_destroy(&a);

	pthread_mutex_t ad = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
	CHECK_EQ(pthread_mutex_lock(&ad), 0);
	CHECK_EQ(trylock_from_other_thread(&ad), EBUSY);
	CHECK_EQ(pthread_mutex_unlock(&ad), 0);
}

/* Passed through to glibc: recursive, error-checking, robust, pshared. */
static void test_mutex_passthrough_types(void)
{
	pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	CHECK_EQ(pthread_mutex_lock(&r), 0);
	CHECK_EQ(pthread_mutex_lock(&r), 0);
	CHECK_EQ(pthread_mutex_trylock(&r), 0);
	CHECK_EQ(trylock_from_other_thread(&r), EBUSY);
	CHECK_EQ(pthread_mutex_unlock(&r), 0);
	CHECK_EQ(pthread_mutex_unlock(&r), 0);
	CHECK_EQ(pthread_mutex_unlock(&r), 0);
	CHECK_EQ(pthread_mutex_destroy(&r), 0);

	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	CHECK_EQ(pthread_mutex_init(&r, &a), 0);
	CHECK_EQ(pthread_mutex_lock(&r), 0);
	CHECK_EQ(pthread_mutex_lock(&r), 0);
	CHECK_EQ(pthread_mutex_unlock(&r), 0);
	CHECK_EQ(pthread_mutex_unlock(&r), 0);
	CHECK_EQ(pthread_mutex_destroy(&r), 0);

	pthread_mutex_t e;
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	CHECK_EQ(pthread_mutex_init(&e, &a), 0);
#ifndef WEFT_PRELOAD_PREFIX /* misuse on purpose: TSan reports it, as it should */
	CHECK_EQ(pthread_mutex_unlock(&e), EPERM);
#endif
	CHECK_EQ(pthread_mutex_lock(&e), 0);
#ifndef WEFT_PRELOAD_PREFIX
	CHECK_EQ(pthread_mutex_lock(&e), EDEADLK);
#endif
	CHECK_EQ(pthread_mutex_unlock(&e), 0);
	CHECK_EQ(pthread_mutex_destroy(&e), 0);
	pthread_mutexattr_destroy(&a);

	pthread_mutex_t es = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
	CHECK_EQ(pthread_mutex_lock(&es), 0);
#ifndef WEFT_PRELOAD_PREFIX
	CHECK_EQ(pthread_mutex_lock(&es), EDEADLK);
#endif
	CHECK_EQ(pthread_mutex_unlock(&es), 0);
}

static pthread_mutex_t g_robust;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_robust);
	return 0; /* exits holding it */
}

static void test_mutex_robust(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	CHECK_EQ(pthread_mutex_init(&g_robust, &a), 0);
	pthread_mutexattr_destroy(&a);
	pthread_t t;
	spawn(&t, die_holding, 0);
	pthread_join(t, 0);
	CHECK_EQ(pthread_mutex_lock(&g_robust), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&g_robust), 0);
	CHECK_EQ(pthread_mutex_unlock(&g_robust), 0);
	CHECK_EQ(pthread_mutex_lock(&g_robust), 0);
	CHECK_EQ(pthread_mutex_unlock(&g_robust), 0);
	CHECK_EQ(pthread_mutex_destroy(&g_robust), 0);
}

static void test_mutex_pshared_fork(void)
{
	struct shared {
		pthread_mutex_t m;
		long counter;
	} *s = check_shared_alloc(sizeof *s);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	CHECK_EQ(pthread_mutex_init(&s->m, &a), 0);
	pthread_mutexattr_destroy(&a);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 20000; i++) {
			pthread_mutex_lock(&s->m);
			s->counter++;
			pthread_mutex_unlock(&s->m);
		}
		_exit(0);
	}
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&s->m);
		s->counter++;
		pthread_mutex_unlock(&s->m);
	}
	CHECK_EQ(check_wait_child(pid), 0);
	CHECK_EQ(s->counter, 40000);
	CHECK_EQ(pthread_mutex_destroy(&s->m), 0);
	check_shared_free(s, sizeof *s);
}

static pthread_mutex_t g_held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cv = PTHREAD_COND_INITIALIZER;
static int g_gate_state;

static void gate_set(int v)
{
	pthread_mutex_lock(&g_gate);
	g_gate_state = v;
	pthread_cond_broadcast(&g_gate_cv);
	pthread_mutex_unlock(&g_gate);
}

static void gate_wait(int v)
{
	pthread_mutex_lock(&g_gate);
	while (g_gate_state != v)
		pthread_cond_wait(&g_gate_cv, &g_gate);
	pthread_mutex_unlock(&g_gate);
}

static void *hold_until_released(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_held);
	gate_set(1);
	gate_wait(2);
	pthread_mutex_unlock(&g_held);
	return 0;
}

static void test_mutex_timed(void)
{
	g_gate_state = 0;
	pthread_t t;
	spawn(&t, hold_until_released, 0);
	gate_wait(1);
	struct timespec ts = ts_after(CLOCK_REALTIME, 30);
	CHECK_EQ(pthread_mutex_timedlock(&g_held, &ts), ETIMEDOUT);
	ts = ts_after(CLOCK_MONOTONIC, 30);
	CHECK_EQ(pthread_mutex_clocklock(&g_held, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
	ts = ts_after(CLOCK_REALTIME, 30);
	CHECK_EQ(pthread_mutex_clocklock(&g_held, CLOCK_REALTIME, &ts), ETIMEDOUT);
	struct timespec past = {0, 0};
	CHECK_EQ(pthread_mutex_timedlock(&g_held, &past), ETIMEDOUT);
	struct timespec bad = {0, 1000000000L};
	CHECK_EQ(pthread_mutex_timedlock(&g_held, &bad), EINVAL);
	CHECK_EQ(pthread_mutex_clocklock(&g_held, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
	gate_set(2);
	pthread_join(t, 0);
	/* free: a deadline is not even looked at (POSIX: EINVAL only "if it
	 * would have blocked") */
	CHECK_EQ(pthread_mutex_timedlock(&g_held, &bad), 0);
	CHECK_EQ(pthread_mutex_unlock(&g_held), 0);
	ts = ts_after(CLOCK_REALTIME, 1000);
	CHECK_EQ(pthread_mutex_timedlock(&g_held, &ts), 0);
	CHECK_EQ(pthread_mutex_unlock(&g_held), 0);
}

/* Mutual exclusion: a plain counter and an owner check in the section. */
#define MX_THREADS 4
#define MX_ITERS 20000
static pthread_mutex_t g_mx = PTHREAD_MUTEX_INITIALIZER;
static long g_mx_counter;
static int g_mx_owner;
static atomic_int g_mx_violations;

static void *mx_worker(void *arg)
{
	int id = (int)(intptr_t)arg + 1;
	for (int i = 0; i < MX_ITERS; i++) {
		if (i % 7 == 0) {
			while (pthread_mutex_trylock(&g_mx) != 0)
				sched_yield();
		} else {
			pthread_mutex_lock(&g_mx);
		}
		if (g_mx_owner != 0)
			atomic_fetch_add_explicit(&g_mx_violations, 1, memory_order_relaxed); /* relaxed: a count */
		g_mx_owner = id;
		g_mx_counter++;
		g_mx_owner = 0;
		pthread_mutex_unlock(&g_mx);
	}
	return 0;
}

static void test_mutex_exclusion(void)
{
	pthread_t t[MX_THREADS];
	for (int i = 0; i < MX_THREADS; i++)
		spawn(&t[i], mx_worker, (void *)(intptr_t)i);
	for (int i = 0; i < MX_THREADS; i++)
		pthread_join(t[i], 0);
	CHECK_EQ(g_mx_counter, (long)MX_THREADS * MX_ITERS);
	CHECK_EQ(atomic_load_explicit(&g_mx_violations, memory_order_relaxed), 0); /* relaxed: after the joins */
}

/* Nested locks (MCS needs a node per held mutex: more than its per-thread
 * array of 8). */
static void test_mutex_nested(void)
{
	pthread_mutex_t m[12];
	for (int i = 0; i < 12; i++)
		CHECK_EQ(pthread_mutex_init(&m[i], 0), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 12; i++)
			CHECK_EQ(pthread_mutex_lock(&m[i]), 0);
		for (int i = 0; i < 12; i++)
			CHECK_EQ(trylock_from_other_thread(&m[i]), EBUSY);
		for (int i = round % 2 ? 0 : 11; round % 2 ? i < 12 : i >= 0; i += round % 2 ? 1 : -1)
			CHECK_EQ(pthread_mutex_unlock(&m[i]), 0);
	}
	for (int i = 0; i < 12; i++)
		CHECK_EQ(pthread_mutex_destroy(&m[i]), 0);
}

/* ---- condition variables ------------------------------------------------- */

static pthread_mutex_t g_cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_ready, g_woken;

static void *cv_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_cm);
	while (!g_ready)
		CHECK_EQ(pthread_cond_wait(&g_cv, &g_cm), 0);
	g_woken++;
	pthread_mutex_unlock(&g_cm);
	return 0;
}

static void test_cond_signal_broadcast(void)
{
	enum { N = 4 };
	pthread_t t[N];
	g_ready = 0;
	g_woken = 0;
	for (int i = 0; i < N; i++)
		spawn(&t[i], cv_waiter, 0);
	pthread_mutex_lock(&g_cm);
	g_ready = 1;
	CHECK_EQ(pthread_cond_signal(&g_cv), 0);
	CHECK_EQ(pthread_cond_broadcast(&g_cv), 0);
	pthread_mutex_unlock(&g_cm);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], 0);
	CHECK_EQ(g_woken, N);
	/* no waiters: both are no-ops */
	CHECK_EQ(pthread_cond_signal(&g_cv), 0);
	CHECK_EQ(pthread_cond_broadcast(&g_cv), 0);
}

static void test_cond_timed_both_clocks(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t rt = PTHREAD_COND_INITIALIZER, mono;
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	CHECK_EQ(pthread_condattr_setclock(&a, CLOCK_MONOTONIC), 0);
	CHECK_EQ(pthread_condattr_setclock(&a, CLOCK_PROCESS_CPUTIME_ID), EINVAL);
	CHECK_EQ(pthread_cond_init(&mono, &a), 0);
	pthread_condattr_destroy(&a);

	pthread_mutex_lock(&m);
	struct timespec ts = ts_after(CLOCK_REALTIME, 20);
	int rc;
	while ((rc = pthread_cond_timedwait(&rt, &m, &ts)) == 0)
		; /* spurious wake-ups are allowed */
	CHECK_EQ(rc, ETIMEDOUT);
	CHECK_EQ(pthread_mutex_trylock(&m), EBUSY); /* held again */
	ts = ts_after(CLOCK_MONOTONIC, 20);
	while ((rc = pthread_cond_timedwait(&mono, &m, &ts)) == 0)
		;
	CHECK_EQ(rc, ETIMEDOUT);
	ts = ts_after(CLOCK_MONOTONIC, 20);
	while ((rc = pthread_cond_clockwait(&rt, &m, CLOCK_MONOTONIC, &ts)) == 0)
		;
	CHECK_EQ(rc, ETIMEDOUT);
	ts = ts_after(CLOCK_REALTIME, 20);
	while ((rc = pthread_cond_clockwait(&mono, &m, CLOCK_REALTIME, &ts)) == 0)
		;
	CHECK_EQ(rc, ETIMEDOUT);
	struct timespec past = {0, 0};
	CHECK_EQ(pthread_cond_timedwait(&rt, &m, &past), ETIMEDOUT);
	struct timespec bad = {0, -1};
	CHECK_EQ(pthread_cond_timedwait(&rt, &m, &bad), EINVAL);
	CHECK_EQ(pthread_cond_clockwait(&rt, &m, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
	CHECK_EQ(pthread_mutex_trylock(&m), EBUSY);
	pthread_mutex_unlock(&m);
	CHECK_EQ(pthread_cond_destroy(&mono), 0);
	CHECK_EQ(pthread_cond_destroy(&rt), 0);
}

/* A monotonic-clock wait is woken by a signal before its deadline (the wait
 * must not return ETIMEDOUT while the predicate is still false). */
static void *cv_timed_waiter(void *arg)
{
	pthread_cond_t *cv = arg;
	pthread_mutex_lock(&g_cm);
	struct timespec ts = ts_after(CLOCK_MONOTONIC, 60000);
	int rc = 0;
	while (!g_ready && rc == 0)
		rc = pthread_cond_timedwait(cv, &g_cm, &ts);
	pthread_mutex_unlock(&g_cm);
	return (void *)(intptr_t)rc;
}

static void test_cond_timed_signalled(void)
{
	pthread_cond_t cv;
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	CHECK_EQ(pthread_cond_init(&cv, &a), 0);
	pthread_condattr_destroy(&a);
	g_ready = 0;
	pthread_t t;
	spawn(&t, cv_timed_waiter, &cv);
	pthread_mutex_lock(&g_cm);
	g_ready = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&g_cm);
	void *rc;
	pthread_join(t, &rc);
	CHECK_EQ((intptr_t)rc, 0);
	CHECK_EQ(pthread_cond_destroy(&cv), 0);
}

/* A condvar with a glibc (recursive) mutex. */
static pthread_mutex_t g_rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_cond_t g_rec_cv = PTHREAD_COND_INITIALIZER;
static int g_rec_flag;

static void *rec_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_rec);
	while (!g_rec_flag)
		pthread_cond_wait(&g_rec_cv, &g_rec);
	pthread_mutex_unlock(&g_rec);
	return 0;
}

static void test_cond_with_recursive_mutex(void)
{
	pthread_t t;
	spawn(&t, rec_waiter, 0);
	pthread_mutex_lock(&g_rec);
	g_rec_flag = 1;
	pthread_cond_signal(&g_rec_cv);
	pthread_mutex_unlock(&g_rec);
	pthread_join(t, 0);
	CHECK_EQ(g_rec_flag, 1);
}

/* Producer/consumer through a bounded buffer: conservation of the sum. */
#define PC_ITEMS 20000
#define PC_CAP 8
static struct {
	pthread_mutex_t m;
	pthread_cond_t not_empty, not_full;
	long buf[PC_CAP];
	int head, count, producers_left;
	long sum;
} g_pc = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0, 0};

static void *pc_producer(void *arg)
{
	long base = (long)(intptr_t)arg * PC_ITEMS;
	for (long i = 1; i <= PC_ITEMS; i++) {
		pthread_mutex_lock(&g_pc.m);
		while (g_pc.count == PC_CAP)
			pthread_cond_wait(&g_pc.not_full, &g_pc.m);
		g_pc.buf[(g_pc.head + g_pc.count) % PC_CAP] = base + i;
		g_pc.count++;
		pthread_cond_signal(&g_pc.not_empty);
		pthread_mutex_unlock(&g_pc.m);
	}
	pthread_mutex_lock(&g_pc.m);
	if (--g_pc.producers_left == 0)
		pthread_cond_broadcast(&g_pc.not_empty);
	pthread_mutex_unlock(&g_pc.m);
	return 0;
}

static void *pc_consumer(void *arg)
{
	(void)arg;
	long sum = 0;
	for (;;) {
		pthread_mutex_lock(&g_pc.m);
		while (g_pc.count == 0 && g_pc.producers_left > 0)
			pthread_cond_wait(&g_pc.not_empty, &g_pc.m);
		if (g_pc.count == 0) {
			pthread_mutex_unlock(&g_pc.m);
			break;
		}
		sum += g_pc.buf[g_pc.head];
		g_pc.head = (g_pc.head + 1) % PC_CAP;
		g_pc.count--;
		pthread_cond_signal(&g_pc.not_full);
		pthread_mutex_unlock(&g_pc.m);
	}
	pthread_mutex_lock(&g_pc.m);
	g_pc.sum += sum;
	pthread_mutex_unlock(&g_pc.m);
	return 0;
}

static void test_cond_producer_consumer(void)
{
	enum { P = 2, C = 2 };
	pthread_t p[P], c[C];
	g_pc.producers_left = P;
	for (int i = 0; i < C; i++)
		spawn(&c[i], pc_consumer, 0);
	for (int i = 0; i < P; i++)
		spawn(&p[i], pc_producer, (void *)(intptr_t)i);
	for (int i = 0; i < P; i++)
		pthread_join(p[i], 0);
	for (int i = 0; i < C; i++)
		pthread_join(c[i], 0);
	long want = 0;
	for (long i = 0; i < P; i++)
		want += i * PC_ITEMS * PC_ITEMS + (long)PC_ITEMS * (PC_ITEMS + 1) / 2;
	CHECK_EQ(g_pc.sum, want);
}

/*
 * POSIX: "It shall be safe to destroy an initialized condition variable upon
 * which no threads are currently blocked" - including right after a
 * broadcast, while the woken waiters are still on their way out.  The
 * memory is then reused (filled with a pattern) and must stay untouched.
 */
struct cv_reuse {
	pthread_mutex_t m;
	int go;
	int arrived;
	union {
		pthread_cond_t cv;
		unsigned char bytes[sizeof(pthread_cond_t)];
	} u;
};

static void *reuse_waiter(void *arg)
{
	struct cv_reuse *r = arg;
	pthread_mutex_lock(&r->m);
	r->arrived++;
	while (!r->go)
		pthread_cond_wait(&r->u.cv, &r->m);
	pthread_mutex_unlock(&r->m);
	return 0;
}

static void test_cond_destroy_after_broadcast(void)
{
	enum { N = 3, ROUNDS = 200 };
	for (int round = 0; round < ROUNDS; round++) {
		struct cv_reuse *r = calloc(1, sizeof *r);
		pthread_mutex_init(&r->m, 0);
		pthread_cond_init(&r->u.cv, 0);
		pthread_t t[N];
		for (int i = 0; i < N; i++)
			spawn(&t[i], reuse_waiter, r);
		for (;;) { /* all inside the wait (they released the mutex there) */
			pthread_mutex_lock(&r->m);
			int a = r->arrived;
			pthread_mutex_unlock(&r->m);
			if (a == N)
				break;
			sched_yield();
		}
		pthread_mutex_lock(&r->m);
		r->go = 1;
		pthread_cond_broadcast(&r->u.cv);
		pthread_mutex_unlock(&r->m);
		CHECK_EQ(pthread_cond_destroy(&r->u.cv), 0);
		memset(r->u.bytes, 0xa5, sizeof r->u.bytes); /* reused at once */
		for (int i = 0; i < N; i++)
			pthread_join(t[i], 0);
		for (size_t i = 0; i < sizeof r->u.bytes; i++)
			if (r->u.bytes[i] != 0xa5) {
				CHECK_EQ(r->u.bytes[i], 0xa5);
				break;
			}
		pthread_mutex_destroy(&r->m);
		free(r);
	}
}

/* ---- cancellation ---------------------------------------------------------- */

struct cancel_case {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int waiting;
	int held_in_cleanup;
	int timed;
};

static void cancel_cleanup(void *arg)
{
	struct cancel_case *c = arg;
	/* POSIX: the mutex is re-acquired before the cleanup handlers run.
	 * Nobody else holds it now, so EBUSY means we do. */
	c->held_in_cleanup = pthread_mutex_trylock(&c->m) == EBUSY;
	if (!c->held_in_cleanup)
		return;
	pthread_mutex_unlock(&c->m);
}

static void *cancel_victim(void *arg)
{
	struct cancel_case *c = arg;
	pthread_mutex_lock(&c->m);
	pthread_cleanup_push(cancel_cleanup, c);
	c->waiting = 1;
	for (;;) { /* nobody ever signals: only the cancel ends this */
		if (c->timed) {
			struct timespec ts = ts_after(CLOCK_REALTIME, 3600 * 1000L);
			pthread_cond_timedwait(&c->cv, &c->m, &ts);
		} else {
			pthread_cond_wait(&c->cv, &c->m);
		}
	}
	pthread_cleanup_pop(0);
	return 0;
}

static void run_cancel_case(int timed, int hold_mutex_while_cancelling)
{
	struct cancel_case c;
	memset(&c, 0, sizeof c);
	pthread_mutex_init(&c.m, 0);
	pthread_cond_init(&c.cv, 0);
	c.timed = timed;
	pthread_t t;
	spawn(&t, cancel_victim, &c);
	for (;;) { /* the victim sets `waiting` under the mutex, then waits (releasing it) */
		pthread_mutex_lock(&c.m);
		int w = c.waiting;
		if (w && hold_mutex_while_cancelling)
			break; /* keep holding it */
		pthread_mutex_unlock(&c.m);
		if (w)
			break;
		sched_yield();
	}
	CHECK_EQ(pthread_cancel(t), 0);
	if (hold_mutex_while_cancelling)
		pthread_mutex_unlock(&c.m);
	void *ret;
	CHECK_EQ(pthread_join(t, &ret), 0);
	CHECK(ret == PTHREAD_CANCELED);
	CHECK_EQ(c.held_in_cleanup, 1);
	CHECK_EQ(pthread_mutex_trylock(&c.m), 0); /* released by the cleanup handler */
	pthread_mutex_unlock(&c.m);
	CHECK_EQ(pthread_cond_destroy(&c.cv), 0);
	CHECK_EQ(pthread_mutex_destroy(&c.m), 0);
}

static void test_cancel_cond_wait(void)
{
	for (int i = 0; i < 20; i++) {
		run_cancel_case(0, 0);
		run_cancel_case(1, 0);
		run_cancel_case(0, 1);
	}
}

/* ---- rwlocks ------------------------------------------------------------------ */

static pthread_rwlock_t g_rw = PTHREAD_RWLOCK_INITIALIZER;

static void *rw_try(void *arg)
{
	int write = (int)(intptr_t)arg;
	int rc = write ? pthread_rwlock_trywrlock(&g_rw) : pthread_rwlock_tryrdlock(&g_rw);
	if (rc == 0)
		pthread_rwlock_unlock(&g_rw);
	return (void *)(intptr_t)rc;
}

static int rw_try_other(int write)
{
	pthread_t t;
	void *rc;
	spawn(&t, rw_try, (void *)(intptr_t)write);
	pthread_join(t, &rc);
	return (int)(intptr_t)rc;
}

static void *rw_timed(void *arg)
{
	int write = (int)(intptr_t)arg;
	struct timespec ts = ts_after(CLOCK_REALTIME, 20);
	int rc = write ? pthread_rwlock_timedwrlock(&g_rw, &ts) : pthread_rwlock_timedrdlock(&g_rw, &ts);
	struct timespec bad = {0, 2000000000L};
	int rc2 = write ? pthread_rwlock_timedwrlock(&g_rw, &bad) : pthread_rwlock_timedrdlock(&g_rw, &bad);
	struct timespec m = ts_after(CLOCK_MONOTONIC, 20);
	int rc3 = write ? pthread_rwlock_clockwrlock(&g_rw, CLOCK_MONOTONIC, &m)
			: pthread_rwlock_clockrdlock(&g_rw, CLOCK_MONOTONIC, &m);
	return (void *)(intptr_t)(rc * 10000 + rc2 * 100 + rc3);
}

static int rw_timed_other(int write)
{
	pthread_t t;
	void *rc;
	spawn(&t, rw_timed, (void *)(intptr_t)write);
	pthread_join(t, &rc);
	return (int)(intptr_t)rc;
}

static void test_rwlock_basic(void)
{
	CHECK_EQ(pthread_rwlock_rdlock(&g_rw), 0);
	CHECK_EQ(rw_try_other(0), 0);     /* readers share */
	CHECK_EQ(rw_try_other(1), EBUSY); /* a writer does not */
	CHECK_EQ(rw_timed_other(1), ETIMEDOUT * 10000 + EINVAL * 100 + ETIMEDOUT);
	CHECK_EQ(pthread_rwlock_unlock(&g_rw), 0);
	CHECK_EQ(pthread_rwlock_wrlock(&g_rw), 0);
	CHECK_EQ(rw_try_other(0), EBUSY);
	CHECK_EQ(rw_try_other(1), EBUSY);
	CHECK_EQ(rw_timed_other(0), ETIMEDOUT * 10000 + EINVAL * 100 + ETIMEDOUT);
	CHECK_EQ(pthread_rwlock_unlock(&g_rw), 0);
	CHECK_EQ(rw_try_other(1), 0);
	struct timespec ts = ts_after(CLOCK_REALTIME, 1000);
	CHECK_EQ(pthread_rwlock_timedwrlock(&g_rw, &ts), 0);
	CHECK_EQ(pthread_rwlock_unlock(&g_rw), 0);
	CHECK_EQ(pthread_rwlock_timedrdlock(&g_rw, &ts), 0);
	CHECK_EQ(pthread_rwlock_unlock(&g_rw), 0);
	CHECK_EQ(pthread_rwlock_clockrdlock(&g_rw, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);

	pthread_rwlock_t r;
	memset(&r, 0x33, sizeof r);
	CHECK_EQ(pthread_rwlock_init(&r, 0), 0);
	CHECK_EQ(pthread_rwlock_wrlock(&r), 0);
	CHECK_EQ(pthread_rwlock_tryrdlock(&r), EBUSY);
	CHECK_EQ(pthread_rwlock_unlock(&r), 0);
	CHECK_EQ(pthread_rwlock_destroy(&r), 0);
}

#define RW_THREADS 4
#define RW_ITERS 5000
static pthread_rwlock_t g_rw2 = PTHREAD_RWLOCK_INITIALIZER;
static long g_rw_a, g_rw_b;
static atomic_int g_rw_bad;

static void *rw_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < RW_ITERS; i++) {
		if ((i + id) % 4 == 0) {
			pthread_rwlock_wrlock(&g_rw2);
			g_rw_a++;
			g_rw_b++;
			pthread_rwlock_unlock(&g_rw2);
		} else {
			pthread_rwlock_rdlock(&g_rw2);
			if (g_rw_a != g_rw_b)
				atomic_fetch_add_explicit(&g_rw_bad, 1, memory_order_relaxed); /* relaxed: a count */
			pthread_rwlock_unlock(&g_rw2);
		}
	}
	return 0;
}

static void test_rwlock_exclusion(void)
{
	pthread_t t[RW_THREADS];
	for (int i = 0; i < RW_THREADS; i++)
		spawn(&t[i], rw_worker, (void *)(intptr_t)i);
	for (int i = 0; i < RW_THREADS; i++)
		pthread_join(t[i], 0);
	CHECK_EQ(g_rw_a, (long)RW_THREADS * RW_ITERS / 4);
	CHECK_EQ(g_rw_a, g_rw_b);
	CHECK_EQ(atomic_load_explicit(&g_rw_bad, memory_order_relaxed), 0); /* relaxed: after the joins */
}

static void test_rwlock_pshared_passthrough(void)
{
	pthread_rwlock_t r;
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	CHECK_EQ(pthread_rwlock_init(&r, &a), 0);
	pthread_rwlockattr_destroy(&a);
	CHECK_EQ(pthread_rwlock_rdlock(&r), 0);
	CHECK_EQ(pthread_rwlock_rdlock(&r), 0);
	CHECK_EQ(pthread_rwlock_trywrlock(&r), EBUSY);
	CHECK_EQ(pthread_rwlock_unlock(&r), 0);
	CHECK_EQ(pthread_rwlock_unlock(&r), 0);
	CHECK_EQ(pthread_rwlock_wrlock(&r), 0);
	CHECK_EQ(pthread_rwlock_unlock(&r), 0);
	CHECK_EQ(pthread_rwlock_destroy(&r), 0);
}

/* ---- spinlocks ----------------------------------------------------------------- */

static pthread_spinlock_t g_spin;
static long g_spin_counter;

static void *spin_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		pthread_spin_lock(&g_spin);
		g_spin_counter++;
		pthread_spin_unlock(&g_spin);
	}
	return 0;
}

static void test_spin(void)
{
	CHECK_EQ(pthread_spin_init(&g_spin, PTHREAD_PROCESS_PRIVATE), 0);
	CHECK_EQ(pthread_spin_lock(&g_spin), 0);
	CHECK_EQ(pthread_spin_trylock(&g_spin), EBUSY);
	CHECK_EQ(pthread_spin_unlock(&g_spin), 0);
	CHECK_EQ(pthread_spin_trylock(&g_spin), 0);
	CHECK_EQ(pthread_spin_unlock(&g_spin), 0);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		spawn(&t[i], spin_worker, 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	CHECK_EQ(g_spin_counter, 60000);
	CHECK_EQ(pthread_spin_destroy(&g_spin), 0);
}

/* ---- barriers ----------------------------------------------------------------- */

#define BAR_THREADS 4
#define BAR_ROUNDS 300
static pthread_barrier_t g_bar, g_bar_sync;
static atomic_int g_serials[BAR_ROUNDS];
static int g_bar_reinit_failed;

static void *bar_worker(void *arg)
{
	(void)arg;
	for (int r = 0; r < BAR_ROUNDS; r++) {
		int rc = pthread_barrier_wait(&g_bar);
		if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
			atomic_fetch_add_explicit(&g_serials[r], 1, memory_order_relaxed); /* relaxed: a count */
			/* POSIX: the serial thread may destroy and re-initialise
			 * the barrier while the others are still returning */
			if (pthread_barrier_destroy(&g_bar) != 0 || pthread_barrier_init(&g_bar, 0, BAR_THREADS) != 0)
				g_bar_reinit_failed = 1;
		} else if (rc != 0) {
			g_bar_reinit_failed = 1;
		}
		pthread_barrier_wait(&g_bar_sync); /* the next round starts on the new barrier */
	}
	return 0;
}

static void test_barrier(void)
{
	pthread_barrier_t b;
	CHECK_EQ(pthread_barrier_init(&b, 0, 0), EINVAL);
	CHECK_EQ(pthread_barrier_init(&b, 0, 1), 0);
	CHECK_EQ(pthread_barrier_wait(&b), PTHREAD_BARRIER_SERIAL_THREAD);
	CHECK_EQ(pthread_barrier_destroy(&b), 0);

	CHECK_EQ(pthread_barrier_init(&g_bar, 0, BAR_THREADS), 0);
	CHECK_EQ(pthread_barrier_init(&g_bar_sync, 0, BAR_THREADS), 0);
	pthread_t t[BAR_THREADS];
	for (int i = 0; i < BAR_THREADS; i++)
		spawn(&t[i], bar_worker, 0);
	for (int i = 0; i < BAR_THREADS; i++)
		pthread_join(t[i], 0);
	CHECK_EQ(g_bar_reinit_failed, 0);
	for (int r = 0; r < BAR_ROUNDS; r++)
		if (atomic_load_explicit(&g_serials[r], memory_order_relaxed) != 1) { /* relaxed: after the joins */
			CHECK_EQ(atomic_load_explicit(&g_serials[r], memory_order_relaxed), 1);
			break;
		}
	CHECK_EQ(pthread_barrier_destroy(&g_bar), 0);
	CHECK_EQ(pthread_barrier_destroy(&g_bar_sync), 0);
}

/* ---- semaphores ---------------------------------------------------------------- */

static sem_t g_items;
static long g_sem_sum;
static pthread_mutex_t g_sem_m = PTHREAD_MUTEX_INITIALIZER;

static void *sem_consumer(void *arg)
{
	(void)arg;
	long sum = 0;
	for (int i = 0; i < 5000; i++) {
		if (i % 3 == 0) {
			struct timespec ts = ts_after(CLOCK_REALTIME, 60000);
			while (sem_timedwait(&g_items, &ts) != 0)
				;
		} else {
			while (sem_wait(&g_items) != 0)
				;
		}
		sum += 1;
	}
	pthread_mutex_lock(&g_sem_m);
	g_sem_sum += sum;
	pthread_mutex_unlock(&g_sem_m);
	return 0;
}

static void test_sem(void)
{
	sem_t s;
	errno = 0;
	CHECK_EQ(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1u), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(sem_init(&s, 0, 1), 0);
	int v = -1;
	CHECK_EQ(sem_getvalue(&s, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(sem_trywait(&s), 0);
	errno = 0;
	CHECK_EQ(sem_trywait(&s), -1);
	CHECK_EQ(errno, EAGAIN);
	struct timespec ts = ts_after(CLOCK_REALTIME, 20);
	errno = 0;
	CHECK_EQ(sem_timedwait(&s, &ts), -1);
	CHECK_EQ(errno, ETIMEDOUT);
	ts = ts_after(CLOCK_MONOTONIC, 20);
	errno = 0;
	CHECK_EQ(sem_clockwait(&s, CLOCK_MONOTONIC, &ts), -1);
	CHECK_EQ(errno, ETIMEDOUT);
	struct timespec bad = {0, 1000000000L};
	errno = 0;
	CHECK_EQ(sem_timedwait(&s, &bad), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(sem_post(&s), 0);
	errno = 0;
	CHECK_EQ(sem_timedwait(&s, &bad), -1); /* glibc checks the deadline first (POSIX allows either) */
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(sem_trywait(&s), 0);
	CHECK_EQ(sem_destroy(&s), 0);

	CHECK_EQ(sem_init(&s, 0, SEM_VALUE_MAX), 0);
	errno = 0;
	CHECK_EQ(sem_post(&s), -1);
	CHECK_EQ(errno, EOVERFLOW);
	CHECK_EQ(sem_getvalue(&s, &v), 0);
	CHECK_EQ(v, SEM_VALUE_MAX);
	CHECK_EQ(sem_destroy(&s), 0);

	CHECK_EQ(sem_init(&g_items, 0, 0), 0);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		spawn(&t[i], sem_consumer, 0);
	for (int i = 0; i < 10000; i++)
		CHECK_EQ(sem_post(&g_items), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], 0);
	CHECK_EQ(g_sem_sum, 10000);
	CHECK_EQ(sem_getvalue(&g_items, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(sem_destroy(&g_items), 0);
}

static void test_sem_passthrough(void)
{
	/* process-shared: glibc's */
	sem_t *s = check_shared_alloc(sizeof *s);
	CHECK_EQ(sem_init(s, 1, 0), 0);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 100; i++)
			sem_post(s);
		_exit(0);
	}
	for (int i = 0; i < 100; i++)
		CHECK_EQ(sem_wait(s), 0);
	CHECK_EQ(check_wait_child(pid), 0);
	CHECK_EQ(sem_destroy(s), 0);
	check_shared_free(s, sizeof *s);

	/* named: glibc's */
	char name[64];
	snprintf(name, sizeof name, "/weft-conform-%ld", (long)getpid());
	sem_t *n = sem_open(name, O_CREAT | O_EXCL, 0600, 2);
	CHECK(n != SEM_FAILED);
	if (n != SEM_FAILED) {
		CHECK_EQ(sem_wait(n), 0);
		CHECK_EQ(sem_trywait(n), 0);
		errno = 0;
		CHECK_EQ(sem_trywait(n), -1);
		CHECK_EQ(errno, EAGAIN);
		CHECK_EQ(sem_post(n), 0);
		int v = -1;
		CHECK_EQ(sem_getvalue(n, &v), 0);
		CHECK_EQ(v, 1);
		sem_close(n);
		sem_unlink(name);
	}
}

/* ---- fork in a multithreaded program -------------------------------------------- */

static pthread_mutex_t g_fork_m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_fork_stop;
static long g_fork_counter;

static void fork_prepare(void)
{
	pthread_mutex_lock(&g_fork_m);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&g_fork_m);
}

static void *fork_hammer(void *arg)
{
	(void)arg;
	/* relaxed: a stop flag; the join orders the rest */
	while (!atomic_load_explicit(&g_fork_stop, memory_order_relaxed)) {
		pthread_mutex_lock(&g_fork_m);
		g_fork_counter++;
		pthread_mutex_unlock(&g_fork_m);
	}
	return 0;
}

#ifndef WEFT_PRELOAD_PREFIX
static void *child_thread(void *arg)
{
	pthread_mutex_lock(&g_fork_m);
	(*(long *)arg)++;
	pthread_mutex_unlock(&g_fork_m);
	return 0;
}
#endif

static void test_fork_multithreaded(void)
{
	static int registered;
	if (!registered++)
		pthread_atfork(fork_prepare, fork_release, fork_release);
	/* A fair queue lock (ticket, MCS) cannot survive fork() while other
	 * threads queue on it: their tickets or nodes are in the lock word, and
	 * the threads are not in the child (docs/preload.md).  With those kinds
	 * the other threads only exist; with the others they contend. */
	const char *kind = getenv("WEFT_PRELOAD_MUTEX");
	bool fair = kind && (!strcmp(kind, "ticket") || !strcmp(kind, "mcs"));
	if (fair)
		atomic_store_explicit(&g_fork_stop, 1, memory_order_relaxed); /* relaxed: see fork_hammer() */
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		spawn(&t[i], fork_hammer, 0);
	for (int k = 0; k < 5; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* the mutex was made consistent by the atfork handlers */
			long n = 0;
			pthread_mutex_lock(&g_fork_m);
			n++;
			pthread_mutex_unlock(&g_fork_m);
			pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
			pthread_mutex_lock(&g_fork_m);
			struct timespec ts = ts_after(CLOCK_MONOTONIC, 5);
			while (pthread_cond_clockwait(&cv, &g_fork_m, CLOCK_MONOTONIC, &ts) == 0)
				;
			pthread_mutex_unlock(&g_fork_m);
#ifndef WEFT_PRELOAD_PREFIX /* TSan does not support threads after a multithreaded fork */
			pthread_t c;
			if (pthread_create(&c, 0, child_thread, &n) == 0)
				pthread_join(c, 0);
			else
				n++;
#else
			n++;
#endif
			_exit(n == 2 ? 0 : 1);
		}
		CHECK_EQ(check_wait_child(pid), 0);
	}
	atomic_store_explicit(&g_fork_stop, 1, memory_order_relaxed); /* relaxed: see fork_hammer() */
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], 0);
	if (!fair)
		CHECK_GT(g_fork_counter, 0);
}

int main(void)
{
	alarm(CHECK_CHILD_ALARM_S); /* a hang is a failure */
	setvbuf(stdout, 0, _IOLBF, 0);
	RUN_TEST(test_interposer_active);
	RUN_TEST(test_mutex_static_and_init);
	RUN_TEST(test_mutex_passthrough_types);
	RUN_TEST(test_mutex_robust);
	RUN_TEST(test_mutex_pshared_fork);
	RUN_TEST(test_mutex_timed);
	RUN_TEST(test_mutex_exclusion);
	RUN_TEST(test_mutex_nested);
	RUN_TEST(test_cond_signal_broadcast);
	RUN_TEST(test_cond_timed_both_clocks);
	RUN_TEST(test_cond_timed_signalled);
	RUN_TEST(test_cond_with_recursive_mutex);
	RUN_TEST(test_cond_producer_consumer);
	RUN_TEST(test_cond_destroy_after_broadcast);
	RUN_TEST(test_cancel_cond_wait);
	RUN_TEST(test_rwlock_basic);
	RUN_TEST(test_rwlock_exclusion);
	RUN_TEST(test_rwlock_pshared_passthrough);
	RUN_TEST(test_spin);
	RUN_TEST(test_barrier);
	RUN_TEST(test_sem);
	RUN_TEST(test_sem_passthrough);
	RUN_TEST(test_fork_multithreaded);
#ifdef WEFT_PRELOAD_PREFIX
	weft_preload_stats();
#endif
	return check_summary();
}
