/* SPDX-License-Identifier: MIT */
/*
 * test_lockorder.c - the WEFT_DEBUG lock-order checker (src/lockdep.c,
 * docs/lockorder.md).
 *
 * Every case runs in a forked child (the checker's graph is per process, so
 * each case starts from an empty one) whose stderr is captured; the child
 * exits with the number of reports weft_lockdep_reports() counted.  The
 * "deadlocks" are never real: the threads take their locks one after the
 * other (create, join), and the checker must still see that the orders could
 * deadlock if the threads ran together.  The hooks are called from the inline
 * lock functions, so this file turns WEFT_DEBUG on for itself and runs against
 * the release library as well as the WEFT_DEBUG one.
 */
#ifndef WEFT_DEBUG
#define WEFT_DEBUG 1
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "weft/weft.h"

#define REPORT "weft lockdep: potential deadlock"

static weft_mutex_t ma, mb, mc;
static weft_rwlock_t ra, rb;
static weft_brlock_t br;
static weft_cond_t cv;

static void *thread_main(void *arg)
{
	void (**fn)(void) = arg;
	(*fn)();
	return NULL;
}

/* Runs @fn in a new thread and waits for it: orders one after another. */
static void in_thread(void (*fn)(void))
{
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, &fn) != 0)
		_exit(100);
	pthread_join(t, NULL);
}

/* The child's exit status: how many reports it made (the parent checks it). */
static void child_done(void)
{
	fflush(stderr);
	_exit((int)weft_lockdep_reports());
}

/* Runs @fn in a child.  Return: whether it exited with @reports reports and
 * its stderr contains every string of @expect (NULL-terminated) and, when
 * @reports is 0, nothing from the checker. */
static int child_reports(void (*fn)(void), int reports, const char *const *expect)
{
	static char buf[16384];
	int status = check__run_child(fn, buf, sizeof(buf));
	int ok = status == reports;
	for (const char *const *e = expect; e != NULL && *e != NULL; e++)
		ok = ok && strstr(buf, *e) != NULL;
	if (reports == 0)
		ok = ok && strstr(buf, "weft lockdep") == NULL;
	if (!ok) {
		fprintf(stderr, "  child: status %d, want %d reports; expected:", status, reports);
		for (const char *const *e = expect; e != NULL && *e != NULL; e++)
			fprintf(stderr, " \"%s\"", *e);
		fprintf(stderr, "\n  child stderr:\n%s\n", buf);
	}
	return ok;
}

/* "takes <type> <taken> while holding <type> <held>" */
static const char *takes(const char *taken_type, const void *taken, const char *held_type, const void *held)
{
	static char buf[4][160];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "takes %s %p while holding %s %p", taken_type, taken, held_type, held);
	return b;
}

/* ---- mutexes: A then B, B then A ----------------------------------------- */

static void lock_a_then_b(void)
{
	weft_mutex_lock(&ma);
	weft_mutex_lock(&mb);
	weft_mutex_unlock(&mb);
	weft_mutex_unlock(&ma);
}

static void lock_b_then_a(void)
{
	weft_mutex_lock(&mb);
	weft_mutex_lock(&ma);
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mb);
}

static void lock_b_then_c(void)
{
	weft_mutex_lock(&mb);
	weft_mutex_lock(&mc);
	weft_mutex_unlock(&mc);
	weft_mutex_unlock(&mb);
}

static void lock_c_then_a(void)
{
	weft_mutex_lock(&mc);
	weft_mutex_lock(&ma);
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mc);
}

static void abba(void)
{
	in_thread(lock_a_then_b);
	in_thread(lock_b_then_a);
	/* the same orders again are no new cycle: no second report */
	in_thread(lock_a_then_b);
	in_thread(lock_b_then_a);
	child_done();
}

static void test_abba_reported_once(void)
{
	const char *expect[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mb), "a lock-order cycle of 2 locks",
				NULL};
	CHECK(child_reports(abba, 1, expect));
}

static void abba_one_thread(void)
{
	lock_a_then_b();
	lock_b_then_a();
	child_done();
}

static void test_abba_in_one_thread(void)
{
	/* one thread alone cannot deadlock this way, but two running this code
	 * can: the order, not the thread, is what is checked */
	const char *expect[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mb), NULL};
	CHECK(child_reports(abba_one_thread, 1, expect));
}

static void abc_cycle(void)
{
	in_thread(lock_a_then_b);
	in_thread(lock_b_then_c);
	in_thread(lock_c_then_a); /* closes A -> B -> C -> A */
	child_done();
}

static void test_three_lock_cycle(void)
{
	char a[32], b[32];
	snprintf(a, sizeof(a), "%p -> ", (void *)&ma);
	snprintf(b, sizeof(b), "%p -> ", (void *)&mb);
	const char *expect[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mc), "a lock-order cycle of 3 locks",
				a, b, NULL};
	CHECK(child_reports(abc_cycle, 1, expect));
}

static void consistent(void)
{
	for (int i = 0; i < 3; i++) {
		in_thread(lock_a_then_b);
		in_thread(lock_b_then_c);
	}
	/* A, B, C nested, and A with C skipping B: all the same order */
	weft_mutex_lock(&ma);
	weft_mutex_lock(&mb);
	weft_mutex_lock(&mc);
	weft_mutex_unlock(&mc);
	weft_mutex_unlock(&mb);
	weft_mutex_lock(&mc);
	weft_mutex_unlock(&mc);
	weft_mutex_unlock(&ma);
	child_done();
}

static void test_consistent_order_not_reported(void)
{
	CHECK(child_reports(consistent, 0, NULL));
}

/* ---- trylock -------------------------------------------------------------- */

static void a_then_try_b(void)
{
	weft_mutex_lock(&ma);
	if (!weft_mutex_trylock(&mb))
		_exit(101);
	weft_mutex_unlock(&mb);
	weft_mutex_unlock(&ma);
}

static void b_then_try_a(void)
{
	weft_mutex_lock(&mb);
	if (!weft_mutex_trylock(&ma))
		_exit(101);
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mb);
}

static void trylock_inversion(void)
{
	in_thread(a_then_try_b);
	in_thread(b_then_try_a);
	child_done();
}

static void test_trylock_inversion_not_reported(void)
{
	/* a trylock never waits, so it cannot close a wait cycle */
	CHECK(child_reports(trylock_inversion, 0, NULL));
}

static void try_b_then_a(void)
{
	if (!weft_mutex_trylock(&mb))
		_exit(101);
	weft_mutex_lock(&ma);
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mb);
}

static void a_try_c_then_b(void)
{
	/* A, then C by trylock, then B: A -> B is an order even though the
	 * lock taken just before B came from a trylock */
	weft_mutex_lock(&ma);
	if (!weft_mutex_trylock(&mc))
		_exit(101);
	weft_mutex_lock(&mb);
	weft_mutex_unlock(&mb);
	weft_mutex_unlock(&mc);
	weft_mutex_unlock(&ma);
}

static void trylock_between(void)
{
	in_thread(a_try_c_then_b);
	in_thread(lock_b_then_a);
	child_done();
}

static void trylocked_lock_is_held(void)
{
	in_thread(lock_a_then_b);
	in_thread(try_b_then_a); /* waits for A while holding B, taken by trylock */
	child_done();
}

static void test_trylocked_lock_counts_as_held(void)
{
	const char *expect[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mb), NULL};
	CHECK(child_reports(trylocked_lock_is_held, 1, expect));
	CHECK(child_reports(trylock_between, 1, expect));
}

/* ---- timed locks ---------------------------------------------------------- */

static void b_then_timed_a(void)
{
	struct timespec d = weft_deadline_after_ns(10ull * 1000 * 1000 * 1000);
	weft_mutex_lock(&mb);
	if (weft_mutex_timedlock(&ma, &d) != WEFT_OK)
		_exit(101);
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mb);
}

static void b_then_past_deadline_a(void)
{
	struct timespec past = {0, 0};
	weft_mutex_lock(&mb);
	if (weft_mutex_timedlock(&ma, &past) != WEFT_OK) /* free: taken at once */
		_exit(101);
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mb);
}

static void timed_inversion(void)
{
	in_thread(lock_a_then_b);
	in_thread(b_then_timed_a);
	child_done();
}

static void past_deadline_inversion(void)
{
	in_thread(lock_a_then_b);
	in_thread(b_then_past_deadline_a);
	child_done();
}

static void test_timedlock_adds_order(void)
{
	char timed[64];
	snprintf(timed, sizeof(timed), "timed lock %p", (void *)&ma);
	const char *expect[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mb), timed, NULL};
	CHECK(child_reports(timed_inversion, 1, expect));
	/* a deadline already past cannot wait: like a trylock */
	CHECK(child_reports(past_deadline_inversion, 0, NULL));
}

/* ---- condition variables -------------------------------------------------- */

static void cond_wait_retakes_mutex(void)
{
	/* A, then B; waiting on A releases it and re-takes it while B is still
	 * held: B -> A, the inverse order */
	struct timespec d = weft_deadline_after_ns(1000 * 1000);
	weft_mutex_lock(&ma);
	weft_mutex_lock(&mb);
	while (weft_cond_timedwait(&cv, &ma, &d) == WEFT_OK)
		; /* nobody signals: until the deadline */
	weft_mutex_unlock(&mb);
	weft_mutex_unlock(&ma);
	child_done();
}

static void cond_wait_clean(void)
{
	/* B, then A, and waiting on A while B stays held: B -> A both times */
	struct timespec d = weft_deadline_after_ns(1000 * 1000);
	weft_mutex_lock(&mb);
	weft_mutex_lock(&ma);
	while (weft_cond_timedwait(&cv, &ma, &d) == WEFT_OK)
		;
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mb);
	/* and the mutex is held again after the wait: A -> C is recorded */
	weft_mutex_lock(&ma);
	d = weft_deadline_after_ns(1000 * 1000);
	while (weft_cond_timedwait(&cv, &ma, &d) == WEFT_OK)
		;
	weft_mutex_lock(&mc);
	weft_mutex_unlock(&mc);
	weft_mutex_unlock(&ma);
	weft_mutex_lock(&mc);
	weft_mutex_lock(&ma); /* C -> A: closes A -> C */
	weft_mutex_unlock(&ma);
	weft_mutex_unlock(&mc);
	child_done();
}

static void test_cond_wait(void)
{
	const char *expect[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mb), NULL};
	CHECK(child_reports(cond_wait_retakes_mutex, 1, expect));
	const char *expect_c[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mc), NULL};
	CHECK(child_reports(cond_wait_clean, 1, expect_c));
}

/* ---- reader-writer locks -------------------------------------------------- */

static void read_a_then_mutex(void)
{
	weft_rwlock_rdlock(&ra);
	weft_mutex_lock(&ma);
	weft_mutex_unlock(&ma);
	weft_rwlock_rdunlock(&ra);
}

static void mutex_then_write_a(void)
{
	weft_mutex_lock(&ma);
	weft_rwlock_wrlock(&ra);
	weft_rwlock_wrunlock(&ra);
	weft_mutex_unlock(&ma);
}

static void reader_writer_inversion(void)
{
	in_thread(read_a_then_mutex);
	in_thread(mutex_then_write_a);
	child_done();
}

static void read_a_then_read_b(void)
{
	weft_rwlock_rdlock(&ra);
	weft_rwlock_rdlock(&rb);
	weft_rwlock_rdunlock(&rb);
	weft_rwlock_rdunlock(&ra);
}

static void read_b_then_read_a(void)
{
	weft_rwlock_rdlock(&rb);
	weft_rwlock_rdlock(&ra);
	weft_rwlock_rdunlock(&ra);
	weft_rwlock_rdunlock(&rb);
}

static void reader_reader_inversion(void)
{
	in_thread(read_a_then_read_b);
	in_thread(read_b_then_read_a);
	child_done();
}

static void brlock_inversion(void)
{
	weft_brlock_rdlock(&br);
	weft_mutex_lock(&ma);
	weft_mutex_unlock(&ma);
	weft_brlock_rdunlock(&br);
	weft_mutex_lock(&ma);
	weft_brlock_wrlock(&br);
	weft_brlock_wrunlock(&br);
	weft_mutex_unlock(&ma);
	child_done();
}

static void read_twice(void)
{
	/* a second read lock by a reader waits behind a waiting writer, which
	 * waits for the first: weft_rwlock_t is not recursive */
	if (!weft_rwlock_tryrdlock(&ra))
		_exit(101);
	weft_rwlock_rdlock(&ra);
	weft_rwlock_rdunlock(&ra);
	weft_rwlock_rdunlock(&ra);
	child_done();
}

static void rwlock_consistent(void)
{
	for (int i = 0; i < 3; i++) {
		in_thread(read_a_then_read_b);
		weft_rwlock_wrlock(&ra);
		weft_rwlock_wrlock(&rb);
		weft_rwlock_wrunlock(&rb);
		weft_rwlock_wrunlock(&ra);
	}
	child_done();
}

static void test_rwlock(void)
{
	const char *expect[] = {REPORT, takes("weft_rwlock_t", &ra, "weft_mutex_t", &ma), "wrlock", "rdlock", NULL};
	CHECK(child_reports(reader_writer_inversion, 1, expect));
	/* writer preference: readers count as writers */
	const char *expect_rr[] = {REPORT, takes("weft_rwlock_t", &ra, "weft_rwlock_t", &rb), NULL};
	CHECK(child_reports(reader_reader_inversion, 1, expect_rr));
	const char *expect_br[] = {REPORT, takes("weft_brlock_t", (void *)&br, "weft_mutex_t", &ma), NULL};
	CHECK(child_reports(brlock_inversion, 1, expect_br));
	const char *expect_self[] = {REPORT, takes("weft_rwlock_t", &ra, "weft_rwlock_t", &ra), "the same lock", NULL};
	CHECK(child_reports(read_twice, 1, expect_self));
	CHECK(child_reports(rwlock_consistent, 0, NULL));
}

/* ---- destroy ------------------------------------------------------------- */

static void destroy_and_reuse(void)
{
	in_thread(lock_a_then_b);
	/* the locks end, and new ones are made at the same addresses: the old
	 * order says nothing about them */
	weft_mutex_destroy(&ma);
	weft_mutex_destroy(&mb);
	if (weft_mutex_init(&ma, 0) != WEFT_OK || weft_mutex_init(&mb, 0) != WEFT_OK)
		_exit(101);
	in_thread(lock_b_then_a);
	if (weft_lockdep_reports() != 0)
		_exit(50); /* the old A -> B was taken for the new locks' */
	/* only one of the pair destroyed is enough too */
	weft_mutex_destroy(&ma);
	if (weft_mutex_init(&ma, 0) != WEFT_OK)
		_exit(101);
	in_thread(lock_a_then_b);
	/* B -> A went with the old A, so A -> B above was no cycle; the new
	 * locks are checked like any: B -> A again closes one */
	in_thread(lock_b_then_a);
	child_done();
}

static void test_destroy_forgets(void)
{
	const char *expect[] = {REPORT, takes("weft_mutex_t", &ma, "weft_mutex_t", &mb), NULL};
	CHECK(child_reports(destroy_and_reuse, 1, expect));
}

/* ---- WEFT_LOCKDEP --------------------------------------------------------- */

static void abba_abort(void)
{
	setenv("WEFT_LOCKDEP", "abort", 1); /* read at the checker's first use */
	in_thread(lock_a_then_b);
	in_thread(lock_b_then_a);
	_exit(0); /* not reached */
}

static void abba_off(void)
{
	setenv("WEFT_LOCKDEP", "off", 1);
	abba();
}

static void test_env(void)
{
	CHECK(check_child_aborts(abba_abort, "weft lockdep: aborting (WEFT_LOCKDEP=abort)"));
	CHECK(check_child_aborts(abba_abort, takes("weft_mutex_t", &ma, "weft_mutex_t", &mb)));
	CHECK(child_reports(abba_off, 0, NULL));
}

/* ---- process-shared ------------------------------------------------------- */

static weft_mutex_t *shared_pair;

static void pshared_abba(void)
{
	/* two process-shared mutexes in shared memory: checked per process */
	weft_mutex_lock(&shared_pair[0]);
	weft_mutex_lock(&shared_pair[1]);
	weft_mutex_unlock(&shared_pair[1]);
	weft_mutex_unlock(&shared_pair[0]);
	weft_mutex_lock(&shared_pair[1]);
	weft_mutex_lock(&shared_pair[0]);
	weft_mutex_unlock(&shared_pair[0]);
	weft_mutex_unlock(&shared_pair[1]);
	child_done();
}

static void test_pshared(void)
{
	shared_pair = check_shared_alloc(2 * sizeof(weft_mutex_t));
	CHECK(shared_pair != NULL);
	if (shared_pair == NULL)
		return;
	CHECK_STATUS(weft_mutex_init(&shared_pair[0], WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_mutex_init(&shared_pair[1], WEFT_PSHARED), WEFT_OK);
	const char *expect[] = {REPORT, takes("weft_mutex_t", &shared_pair[0], "weft_mutex_t", &shared_pair[1]), NULL};
	CHECK(child_reports(pshared_abba, 1, expect));
	check_shared_free(shared_pair, 2 * sizeof(weft_mutex_t));
}

static void fork_while_holding(void)
{
	/* the child of fork() is a new thread: it does not hold what the
	 * parent's thread holds, so waiting for it there is no self-deadlock */
	weft_mutex_lock(&shared_pair[0]);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec d = weft_deadline_after_ns(1000 * 1000);
		if (weft_mutex_timedlock(&shared_pair[0], &d) != WEFT_ETIMEDOUT)
			_exit(101);
		child_done();
	}
	int status = check_wait_child(pid);
	weft_mutex_unlock(&shared_pair[0]);
	_exit(status);
}

static void test_fork_holds_nothing(void)
{
	shared_pair = check_shared_alloc(2 * sizeof(weft_mutex_t));
	CHECK(shared_pair != NULL);
	if (shared_pair == NULL)
		return;
	CHECK_STATUS(weft_mutex_init(&shared_pair[0], WEFT_PSHARED), WEFT_OK);
	CHECK(child_reports(fork_while_holding, 0, NULL));
	check_shared_free(shared_pair, 2 * sizeof(weft_mutex_t));
}

int main(void)
{
	/* The parent takes no nested locks: every case's child starts with an
	 * empty graph. */
	RUN_TEST(test_abba_reported_once);
	RUN_TEST(test_abba_in_one_thread);
	RUN_TEST(test_three_lock_cycle);
	RUN_TEST(test_consistent_order_not_reported);
	RUN_TEST(test_trylock_inversion_not_reported);
	RUN_TEST(test_trylocked_lock_counts_as_held);
	RUN_TEST(test_timedlock_adds_order);
	RUN_TEST(test_cond_wait);
	RUN_TEST(test_rwlock);
	RUN_TEST(test_destroy_forgets);
	RUN_TEST(test_env);
	RUN_TEST(test_pshared);
	RUN_TEST(test_fork_holds_nothing);
	if (weft_lockdep_reports() != 0) {
		fprintf(stderr, "  the parent itself made reports\n");
		return 1;
	}
	return check_summary();
}
