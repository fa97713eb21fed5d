/* SPDX-License-Identifier: MIT */
/*
 * test_cond_latch_barrier_ctx.c - the cancellable waits of the condition
 * variable, the latch and the barrier (issue 16): weft_cond_wait_ctx(),
 * weft_latch_wait_ctx(), weft_barrier_wait_ctx().
 *
 * For each: the calls that must not wait ignore the token (an open latch, the
 * last arrival at a barrier); a token cancelled before the call returns
 * WEFT_ECANCELED without sleeping; a sleeping waiter returns WEFT_ECANCELED
 * when its token, or an ancestor, is cancelled, and WEFT_ETIMEDOUT at its
 * deadline; and the object is left as if the cancelled call had not been made
 * (cond: the mutex re-held, no waiter counted; barrier: the arrival
 * withdrawn, the next arrivals still complete the phase).
 *
 * Then the races, many rounds each, counting outcomes (never durations):
 *  - latch: a cancel racing with the count-down that opens it: WEFT_OK only
 *    when it is open.
 *  - barrier: a cancel racing with the last arrival: the waiter either
 *    passed (WEFT_OK; the phase completed once, one serial) or withdrew
 *    (WEFT_ECANCELED; it must arrive again for the phase to complete).  A
 *    withdrawal of an arrival that was counted, or a "passed" that was not,
 *    leaves a thread blocked for ever: the alarm turns that into a failure.
 *  - cond: one item and one signal racing with the cancel of one of two
 *    sleepers, where the cancelled one gives up without looking at the
 *    predicate: the item must still be taken (a signal taken by a waiter
 *    that then reports WEFT_ECANCELED would be lost, and the other sleeper
 *    would sleep until its hang-guard deadline).
 * And a process-shared condition variable, mutex and token chain: a child
 * process waits, the parent cancels the chain's root; the child returns
 * WEFT_ECANCELED holding the mutex (the process-shared sleep naps, and
 * each nap is a cancellable wait: weft__wait_napping_ctx()).
 *
 * Everything runs twice: with futex_waitv() where the kernel has it, then
 * with the wait layer's fallback forced (weft__wait_set_waitv(false): the
 * registry of sleepers that weft_cancel() wakes); and the whole program runs
 * on both wait backends (make test; make CHECK_VARIANTS=portable
 * check-variants).  Deadlines are hang guards or already past.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "wait.h"
#include "weft/cancel.h"
#include "weft/weft.h"

#define HANG_ALARM_S 120
#define RACE_ROUNDS 300
#define GUARD_NS 20000000000ull /* 20 s: a hang guard, never reached by a correct run */

static struct timespec past(void)
{
	struct timespec t = {0, 0};
	return t;
}

/* A thread that sleeps in a call; tid lets the test wait until it sleeps. */
struct sleeper {
	pthread_t thread;
	pid_t tid;
	int rc;
	bool serial;
	void *arg;
};

static void *start_sleeper(void *(*fn)(void *), struct sleeper *s)
{
	s->tid = 0;
	CHECK_EQ(pthread_create(&s->thread, NULL, fn, s), 0);
	while (__atomic_load_n(&s->tid, __ATOMIC_ACQUIRE) == 0)
		usleep(100);
	return s;
}

static void sleeper_started(struct sleeper *s)
{
	/* release: the test polls tid (acquire) before it looks at /proc */
	__atomic_store_n(&s->tid, check_gettid(), __ATOMIC_RELEASE);
}

/* ---- latch ----------------------------------------------------------------- */

static weft_latch_t s_latch;
static weft_cancel_t s_root, s_tok;

static void *latch_sleeper(void *arg)
{
	struct sleeper *s = arg;
	sleeper_started(s);
	struct timespec guard = weft_deadline_after_ns(GUARD_NS);
	s->rc = weft_latch_wait_ctx(&s_latch, &guard, &s_tok);
	return NULL;
}

static void test_latch_ctx_basic(void)
{
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	weft_cancel(&tok);
	struct timespec p = past();
	/* open: OK whatever the token and the deadline say */
	weft_latch_t open = WEFT_LATCH_INIT(0);
	CHECK_STATUS(weft_latch_wait_ctx(&open, &p, &tok), WEFT_OK);
	CHECK_STATUS(weft_latch_wait_ctx(&open, NULL, NULL), WEFT_OK);
	/* closed: a cancelled token, a past deadline, a malformed deadline */
	weft_latch_t l = WEFT_LATCH_INIT(2);
	CHECK_STATUS(weft_latch_wait_ctx(&l, NULL, &tok), WEFT_ECANCELED);
	CHECK_STATUS(weft_latch_wait_ctx(&l, &p, NULL), WEFT_ETIMEDOUT);
	struct timespec bad = {0, 1000000000L};
	CHECK_STATUS(weft_latch_wait_ctx(&l, &bad, &tok), WEFT_EINVAL);
	/* nothing left behind but perhaps the WAITERS bit */
	CHECK_EQ(l.state & WEFT_LATCH_COUNT_MASK, 2);
	CHECK_STATUS(weft_latch_count_down(&l, 2), WEFT_OK);
	CHECK_STATUS(weft_latch_wait_ctx(&l, NULL, &tok), WEFT_OK);
}

/* A sleeping waiter, cancelled through its parent; then one counted down. */
static void test_latch_ctx_sleeping(void)
{
	alarm(HANG_ALARM_S);
	for (int mode = 0; mode < 2; mode++) {
		CHECK_STATUS(weft_latch_init(&s_latch, 1), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&s_root, NULL, 0), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&s_tok, &s_root, 0), WEFT_OK);
		struct sleeper s;
		start_sleeper(latch_sleeper, &s);
		check_wait_until_sleeping(getpid(), s.tid);
		if (mode == 0)
			weft_cancel(&s_root); /* the parent: reaches the child's waiter */
		else
			CHECK_STATUS(weft_latch_count_down(&s_latch, 1), WEFT_OK);
		pthread_join(s.thread, NULL);
		CHECK_STATUS(s.rc, mode == 0 ? WEFT_ECANCELED : WEFT_OK);
		CHECK(weft_cancel_requested(&s_tok) == (mode == 0));
		CHECK(weft_latch_try_wait(&s_latch) == (mode == 1));
	}
	alarm(0);
}

/* The count-down that opens the latch races with the cancel. */
static weft_latch_t race_go;
static void *latch_opener(void *arg)
{
	(void)arg;
	weft_latch_wait(&race_go);
	CHECK_STATUS(weft_latch_count_down(&s_latch, 1), WEFT_OK);
	return NULL;
}

static void *latch_canceller(void *arg)
{
	(void)arg;
	weft_latch_wait(&race_go);
	weft_cancel(&s_tok);
	return NULL;
}

static void test_latch_ctx_race(void)
{
	alarm(HANG_ALARM_S);
	int outcome[3] = {0, 0, 0}; /* OK, ECANCELED, other */
	for (int r = 0; r < RACE_ROUNDS; r++) {
		CHECK_STATUS(weft_latch_init(&s_latch, 1), WEFT_OK);
		CHECK_STATUS(weft_latch_init(&race_go, 1), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&s_tok, NULL, 0), WEFT_OK);
		struct sleeper s;
		pthread_t o, c;
		start_sleeper(latch_sleeper, &s);
		if (r % 2 == 0)
			check_wait_until_sleeping(getpid(), s.tid);
		CHECK_EQ(pthread_create(&o, NULL, latch_opener, NULL), 0);
		CHECK_EQ(pthread_create(&c, NULL, latch_canceller, NULL), 0);
		CHECK_STATUS(weft_latch_count_down(&race_go, 1), WEFT_OK);
		pthread_join(s.thread, NULL);
		pthread_join(o, NULL);
		pthread_join(c, NULL);
		outcome[s.rc == WEFT_OK ? 0 : s.rc == WEFT_ECANCELED ? 1 : 2]++;
		/* OK means it saw the latch open; the opener never fails */
		CHECK(weft_latch_try_wait(&s_latch));
	}
	CHECK_EQ(outcome[2], 0);
	CHECK_EQ(outcome[0] + outcome[1], RACE_ROUNDS);
	printf("  latch race: %d OK, %d ECANCELED\n", outcome[0], outcome[1]);
	alarm(0);
}

/* ---- barrier --------------------------------------------------------------- */

static weft_barrier_t s_barrier;

static void *barrier_sleeper(void *arg)
{
	struct sleeper *s = arg;
	sleeper_started(s);
	struct timespec guard = weft_deadline_after_ns(GUARD_NS);
	s->rc = weft_barrier_wait_ctx(&s_barrier, &s->serial, &guard, &s_tok);
	return NULL;
}

static void *barrier_plain(void *arg)
{
	struct sleeper *s = arg;
	sleeper_started(s);
	s->serial = weft_barrier_wait(&s_barrier);
	s->rc = WEFT_OK;
	return NULL;
}

static void test_barrier_ctx_basic(void)
{
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	weft_cancel(&tok);
	struct timespec p = past();
	bool serial = false;
	/* the last arrival never waits: OK, serial, whatever the token says */
	weft_barrier_t one = WEFT_BARRIER_INIT(1);
	CHECK_STATUS(weft_barrier_wait_ctx(&one, &serial, &p, &tok), WEFT_OK);
	CHECK(serial);
	CHECK_STATUS(weft_barrier_wait_ctx(&one, NULL, NULL, NULL), WEFT_OK);
	/* a first arrival of two: withdrawn on a cancelled token or past deadline */
	weft_barrier_t b = WEFT_BARRIER_INIT(2);
	serial = true;
	CHECK_STATUS(weft_barrier_wait_ctx(&b, &serial, NULL, &tok), WEFT_ECANCELED);
	CHECK(!serial);
	CHECK_EQ(b.arrived, 0);
	CHECK_STATUS(weft_barrier_wait_ctx(&b, &serial, &p, NULL), WEFT_ETIMEDOUT);
	CHECK_EQ(b.arrived, 0);
	CHECK_EQ(b.phase & ~WEFT_BARRIER_SLEEPERS, 0);
	/* a malformed deadline: not even arrived */
	struct timespec bad = {-1, 0};
	CHECK_STATUS(weft_barrier_wait_ctx(&b, &serial, &bad, NULL), WEFT_EINVAL);
	CHECK_EQ(b.arrived, 0);
	/* the bound of the parity bit */
	CHECK_STATUS(weft_barrier_init(&b, WEFT_BARRIER_MAX + 1u), WEFT_EINVAL);
	CHECK_STATUS(weft_barrier_init(&b, WEFT_BARRIER_MAX), WEFT_OK);
}

/* A sleeping arrival is cancelled and withdrawn; the phase then completes
 * with two other arrivals (phase 0), and again with the cancelled thread
 * arriving again (phase 1, odd parity). */
static void test_barrier_ctx_withdraw(void)
{
	alarm(HANG_ALARM_S);
	CHECK_STATUS(weft_barrier_init(&s_barrier, 2), WEFT_OK);
	for (int phase = 0; phase < 4; phase++) {
		CHECK_STATUS(weft_cancel_init(&s_tok, NULL, 0), WEFT_OK);
		struct sleeper s, a, b;
		start_sleeper(barrier_sleeper, &s);
		check_wait_until_sleeping(getpid(), s.tid);
		weft_cancel(&s_tok);
		pthread_join(s.thread, NULL);
		CHECK_STATUS(s.rc, WEFT_ECANCELED);
		CHECK(!s.serial);
		CHECK_EQ(s_barrier.arrived & WEFT_BARRIER_COUNT_MASK, 0);
		/* two plain arrivals complete the phase: the withdrawn one is not counted */
		start_sleeper(barrier_plain, &a);
		start_sleeper(barrier_plain, &b);
		pthread_join(a.thread, NULL);
		pthread_join(b.thread, NULL);
		CHECK_EQ(a.serial + b.serial, 1);
		CHECK_EQ(s_barrier.phase & ~WEFT_BARRIER_SLEEPERS, (uint32_t)(phase + 1) * WEFT_BARRIER_PHASE_STEP);
		CHECK_EQ(s_barrier.arrived & WEFT_BARRIER_COUNT_MASK, 0);
		CHECK_EQ(!!(s_barrier.arrived & WEFT_BARRIER_PARITY), (phase + 1) & 1);
	}
	alarm(0);
}

/* The withdrawal's guard, in the window a real race opens rarely: the last
 * arriver has reset `arrived` (new parity) but not yet opened the phase, and
 * the waiter gives up.  It must not take an arrival of the next phase: it
 * waits for the opening and passes.  Likewise with the count full (the last
 * arrival in, the reset not yet made). */
static weft_barrier_t w_barrier;
static uint32_t w_arrived_at_opening;
static void *open_phase_later(void *arg)
{
	(void)arg;
	usleep(20000); /* lets the waiter give up first; passes either way */
	w_arrived_at_opening = __atomic_load_n(&w_barrier.arrived, __ATOMIC_RELAXED);
	weft_barrier_release_slow(&w_barrier);
	return NULL;
}

static void test_barrier_ctx_no_aba(void)
{
	alarm(HANG_ALARM_S);
	for (int mode = 0; mode < 2; mode++) {
		CHECK_STATUS(weft_barrier_init(&w_barrier, 3), WEFT_OK);
		/* phase 0, our arrival among 3: mode 0 the count is full (the
		 * last arriver is about to reset), mode 1 the reset is made and
		 * (impossible before the opening, but the strongest case) two
		 * arrivals of phase 1 are in */
		uint32_t arrived = mode == 0 ? 3u : (WEFT_BARRIER_PARITY | 2u);
		w_barrier.arrived = arrived;
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, open_phase_later, NULL), 0);
		struct timespec p = past();
		int rc = weft_barrier_wait_ctx_slow(&w_barrier, 0, &p, NULL);
		pthread_join(t, NULL);
		CHECK_STATUS(rc, WEFT_OK);
		CHECK_EQ(w_barrier.phase & ~WEFT_BARRIER_SLEEPERS, WEFT_BARRIER_PHASE_STEP);
		CHECK_EQ(w_arrived_at_opening, arrived); /* nothing withdrawn */
		CHECK_EQ(w_barrier.arrived, WEFT_BARRIER_PARITY);
	}
	alarm(0);
}

/* The last arrival races with the cancel of the waiting one. */
static void *barrier_last(void *arg)
{
	struct sleeper *s = arg;
	sleeper_started(s);
	weft_latch_wait(&race_go);
	s->serial = weft_barrier_wait(&s_barrier);
	return NULL;
}

static void *barrier_canceller(void *arg)
{
	(void)arg;
	weft_latch_wait(&race_go);
	weft_cancel(&s_tok);
	return NULL;
}

static void test_barrier_ctx_race(void)
{
	alarm(HANG_ALARM_S);
	int passed = 0, withdrawn = 0, other = 0;
	CHECK_STATUS(weft_barrier_init(&s_barrier, 2), WEFT_OK);
	for (int r = 0; r < RACE_ROUNDS; r++) {
		CHECK_STATUS(weft_latch_init(&race_go, 1), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&s_tok, NULL, 0), WEFT_OK);
		uint32_t phase0 = s_barrier.phase & ~WEFT_BARRIER_SLEEPERS;
		struct sleeper s, last;
		pthread_t c;
		start_sleeper(barrier_sleeper, &s);
		if (r % 2 == 0)
			check_wait_until_sleeping(getpid(), s.tid);
		start_sleeper(barrier_last, &last);
		CHECK_EQ(pthread_create(&c, NULL, barrier_canceller, NULL), 0);
		CHECK_STATUS(weft_latch_count_down(&race_go, 1), WEFT_OK);
		pthread_join(s.thread, NULL);
		pthread_join(c, NULL);
		bool again_serial = false;
		if (s.rc == WEFT_ECANCELED) {
			withdrawn++;
			/* withdrawn: the other is still waiting for a second arrival */
			again_serial = weft_barrier_wait(&s_barrier);
		} else if (s.rc == WEFT_OK) {
			passed++;
		} else {
			other++;
		}
		pthread_join(last.thread, NULL);
		/* one phase, completed once, with one serial thread */
		CHECK_EQ((s_barrier.phase & ~WEFT_BARRIER_SLEEPERS) - phase0, WEFT_BARRIER_PHASE_STEP);
		CHECK_EQ(s.serial + last.serial + again_serial, 1);
		CHECK_EQ(s_barrier.arrived & WEFT_BARRIER_COUNT_MASK, 0);
	}
	CHECK_EQ(other, 0);
	printf("  barrier race: %d passed, %d withdrawn\n", passed, withdrawn);
	alarm(0);
}

/* ---- cond ------------------------------------------------------------------ */

static weft_mutex_t c_mutex = WEFT_MUTEX_INIT;
static weft_cond_t c_cond = WEFT_COND_INIT;
static int c_items;        /* under c_mutex */
static int c_done;         /* under c_mutex */
static int c_taken_by[2];  /* under c_mutex: items taken by the ctx waiter, by the plain one */

static void *cond_ctx_sleeper(void *arg)
{
	struct sleeper *s = arg;
	weft_mutex_lock(&c_mutex);
	sleeper_started(s);
	struct timespec guard = weft_deadline_after_ns(GUARD_NS);
	/* a naive waiter: leaves as soon as it is cancelled, without a look at
	 * the predicate (so a signal it swallowed would be lost) */
	for (;;) {
		if (c_items > 0) {
			c_items--;
			c_taken_by[0]++;
			s->rc = WEFT_OK;
			break;
		}
		s->rc = weft_cond_wait_ctx(&c_cond, &c_mutex, &guard, &s_tok);
		/* the mutex is held again in every outcome */
		CHECK_EQ(weft_mutex_trylock(&c_mutex), false);
		if (s->rc != WEFT_OK)
			break;
	}
	weft_mutex_unlock(&c_mutex);
	return NULL;
}

static void *cond_plain_sleeper(void *arg)
{
	struct sleeper *s = arg;
	weft_mutex_lock(&c_mutex);
	sleeper_started(s);
	struct timespec guard = weft_deadline_after_ns(GUARD_NS);
	s->rc = WEFT_OK;
	while (c_items == 0 && !c_done && s->rc == WEFT_OK) {
		s->rc = weft_cond_timedwait(&c_cond, &c_mutex, &guard);
		/* slept until the hang guard: a lost signal (a timed wait that
		 * finds seq changed at its deadline reports WEFT_OK) */
		if (weft_deadline_passed(&guard))
			s->rc = WEFT_ETIMEDOUT;
	}
	if (c_items > 0) {
		c_items--;
		c_taken_by[1]++;
	}
	weft_mutex_unlock(&c_mutex);
	return NULL;
}

static void test_cond_ctx_basic(void)
{
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	weft_cancel(&tok);
	struct timespec p = past(), bad = {0, -1};
	weft_cond_t c = WEFT_COND_INIT;
	weft_mutex_t m = WEFT_MUTEX_INIT;
	weft_mutex_lock(&m);
	CHECK_STATUS(weft_cond_wait_ctx(&c, &m, NULL, &tok), WEFT_ECANCELED);
	CHECK(!weft_mutex_trylock(&m)); /* held again */
	CHECK_STATUS(weft_cond_wait_ctx(&c, &m, &p, NULL), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_cond_wait_ctx(&c, &m, &bad, &tok), WEFT_EINVAL);
	CHECK(!weft_mutex_trylock(&m));
	weft_mutex_unlock(&m);
	CHECK_EQ(c.waiters & WEFT_COND_COUNT_MASK, 0);
	CHECK_EQ(c.sleepers, 0);
	weft_cond_destroy(&c);
}

/* A sleeping waiter cancelled through its parent, and one signalled. */
static void test_cond_ctx_sleeping(void)
{
	alarm(HANG_ALARM_S);
	for (int mode = 0; mode < 2; mode++) {
		CHECK_STATUS(weft_cancel_init(&s_root, NULL, 0), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&s_tok, &s_root, 0), WEFT_OK);
		c_items = 0;
		c_taken_by[0] = 0;
		struct sleeper s;
		start_sleeper(cond_ctx_sleeper, &s);
		check_wait_until_sleeping(getpid(), s.tid);
		if (mode == 0) {
			weft_cancel(&s_root);
		} else {
			weft_mutex_lock(&c_mutex);
			c_items = 1;
			weft_mutex_unlock(&c_mutex);
			weft_cond_signal(&c_cond);
		}
		pthread_join(s.thread, NULL);
		CHECK_STATUS(s.rc, mode == 0 ? WEFT_ECANCELED : WEFT_OK);
		CHECK_EQ(c_taken_by[0], mode);
		CHECK_EQ(c_cond.waiters & WEFT_COND_COUNT_MASK, 0);
	}
	alarm(0);
}

/* @arg: 0 signal only (a canceller thread races with it), 1 cancel and then
 * signal, 2 signal and then cancel: the last two make the cancel and the
 * signal's wake-up reach a sleeper back to back. */
static void *cond_signaller(void *arg)
{
	int how = (int)(intptr_t)arg;
	weft_latch_wait(&race_go);
	if (how == 1)
		weft_cancel(&s_tok);
	weft_mutex_lock(&c_mutex);
	c_items++;
	weft_mutex_unlock(&c_mutex);
	weft_cond_signal(&c_cond);
	if (how == 2)
		weft_cancel(&s_tok);
	return NULL;
}

static void test_cond_ctx_race(void)
{
	alarm(HANG_ALARM_S);
	int by_ctx = 0, by_plain = 0, cancelled = 0, lost = 0;
	for (int r = 0; r < RACE_ROUNDS; r++) {
		CHECK_STATUS(weft_latch_init(&race_go, 1), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&s_tok, NULL, 0), WEFT_OK);
		c_items = 0;
		c_done = 0;
		c_taken_by[0] = c_taken_by[1] = 0;
		struct sleeper a, b;
		pthread_t sig, can;
		/* both asleep (or, every other round, perhaps still spinning) */
		start_sleeper(cond_ctx_sleeper, &a);
		start_sleeper(cond_plain_sleeper, &b);
		if (r % 2 == 0) {
			check_wait_until_sleeping(getpid(), a.tid);
			check_wait_until_sleeping(getpid(), b.tid);
		}
		int how = r % 3;
		CHECK_EQ(pthread_create(&sig, NULL, cond_signaller, (void *)(intptr_t)how), 0);
		if (how == 0)
			CHECK_EQ(pthread_create(&can, NULL, barrier_canceller, NULL), 0);
		CHECK_STATUS(weft_latch_count_down(&race_go, 1), WEFT_OK);
		pthread_join(sig, NULL);
		if (how == 0)
			pthread_join(can, NULL);
		pthread_join(a.thread, NULL);
		/* the item is taken by one of them, never left with both gone or
		 * one asleep: release the plain one only if it is still waiting
		 * after the ctx one took the item */
		weft_mutex_lock(&c_mutex);
		bool ctx_took = c_taken_by[0] == 1;
		if (ctx_took) {
			c_done = 1;
			weft_cond_broadcast(&c_cond);
		}
		weft_mutex_unlock(&c_mutex);
		pthread_join(b.thread, NULL);
		lost += b.rc != WEFT_OK; /* the plain one timed out: a signal was lost */
		CHECK_EQ(c_taken_by[0] + c_taken_by[1], 1);
		CHECK_EQ(c_items, 0);
		by_ctx += c_taken_by[0];
		by_plain += c_taken_by[1];
		cancelled += a.rc == WEFT_ECANCELED;
		CHECK_EQ(c_cond.waiters & WEFT_COND_COUNT_MASK, 0);
		if (lost)
			break; /* each costs a hang guard: one is enough */
	}
	CHECK_EQ(lost, 0);
	printf("  cond race: item taken by the cancellable waiter %d, by the other %d; cancelled %d\n", by_ctx,
	       by_plain, cancelled);
	alarm(0);
}

/* A process-shared condition variable, mutex and token in shared memory: a
 * child process waits, this process cancels; the child must come back with
 * WEFT_ECANCELED and the mutex held (it unlocks it, then reports). */
struct shared_cond {
	weft_mutex_t m;
	weft_cond_t c;
	weft_cancel_t root, tok; /* tok: a child of root, both process-shared */
	int waiting;             /* under m: the child is in its wait */
	int rc;                  /* the child's status */
	int held_after;          /* the child found the mutex held by itself */
};

static void test_cond_ctx_pshared(void)
{
	struct shared_cond *sc = check_shared_alloc(sizeof *sc);
	if (sc == NULL) {
		CHECK(0);
		return;
	}
	CHECK_STATUS(weft_mutex_init(&sc->m, WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_cond_init(&sc->c, WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_cancel_init(&sc->root, NULL, WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_cancel_init(&sc->tok, &sc->root, WEFT_PSHARED), WEFT_OK);
	sc->rc = -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(HANG_ALARM_S);
		struct timespec guard = weft_deadline_after_ns(GUARD_NS);
		weft_mutex_lock(&sc->m);
		sc->waiting = 1;
		int rc;
		do /* a spurious WEFT_OK goes round again */
			rc = weft_cond_wait_ctx(&sc->c, &sc->m, &guard, &sc->tok);
		while (rc == WEFT_OK);
		sc->held_after = !weft_mutex_trylock(&sc->m);
		sc->rc = rc;
		weft_mutex_unlock(&sc->m);
		_exit(0);
	}
	CHECK(pid > 0);
	/* wait until the child waits (it sets `waiting` under the mutex, which
	 * its wait releases) and sleeps */
	for (;;) {
		weft_mutex_lock(&sc->m);
		int w = sc->waiting;
		weft_mutex_unlock(&sc->m);
		if (w)
			break;
		usleep(1000);
	}
	check_wait_until_sleeping(pid, pid);
	weft_cancel(&sc->root); /* the parent: another process's waiter wakes */
	CHECK_EQ(check_wait_child(pid), 0);
	CHECK_STATUS(sc->rc, WEFT_ECANCELED);
	CHECK(sc->held_after);
	CHECK(weft_mutex_trylock(&sc->m)); /* the child unlocked it */
	weft_mutex_unlock(&sc->m);
	check_shared_free(sc, sizeof *sc);
}

static void run_all(void)
{
	RUN_TEST(test_latch_ctx_basic);
	RUN_TEST(test_latch_ctx_sleeping);
	RUN_TEST(test_latch_ctx_race);
	RUN_TEST(test_barrier_ctx_basic);
	RUN_TEST(test_barrier_ctx_withdraw);
	RUN_TEST(test_barrier_ctx_no_aba);
	RUN_TEST(test_barrier_ctx_race);
	RUN_TEST(test_cond_ctx_basic);
	RUN_TEST(test_cond_ctx_sleeping);
	RUN_TEST(test_cond_ctx_race);
	RUN_TEST(test_cond_ctx_pshared);
}

int main(void)
{
	printf("  wait backend %s, futex_waitv %s\n", weft__wait_backend(), weft__wait_uses_waitv() ? "on" : "off");
	run_all();
	if (weft__wait_uses_waitv()) {
		weft__wait_set_waitv(false);
		printf("  again with the fallback (futex_waitv off)\n");
		run_all();
		weft__wait_set_waitv(true);
	}
	return check_summary();
}
