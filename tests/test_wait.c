/* SPDX-License-Identifier: MIT */
/*
 * test_wait.c - the internal wait layer (src/wait.h), whichever backend is
 * compiled in: the futex backend by default, the portable one with
 * -DWEFT_WAIT_PORTABLE.
 *
 * No timing assertion.  A lost wake-up shows up as a waiter that sleeps until
 * its generous deadline (GENEROUS_NS) and returns WEFT_ETIMEDOUT, which fails
 * the test; a wait without a deadline that never returns is caught by the
 * program's alarm() (HANG_GUARD_S), so a hang fails instead of stalling the suite.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "wait.h"
#include "weft/weft.h"

#define HANG_GUARD_S 300 /* the whole program normally takes well under 10 s */

#define GENEROUS_NS (30ull * 1000 * 1000 * 1000) /* far beyond any scheduling delay */

static const unsigned flavours[] = {0, WEFT_PSHARED};

static void test_backend_name(void)
{
	const char *name = weft__wait_backend();
	CHECK(name != NULL);
#if defined(WEFT_WAIT_PORTABLE) || !defined(__linux__)
	CHECK(name != NULL && strcmp(name, "portable") == 0);
#else
	CHECK(name != NULL && strcmp(name, "futex") == 0);
#endif
}

/* *addr != expected: return at once, with or without a deadline. */
static void test_wait_value_differs(void)
{
	uint32_t word = 5;
	for (size_t f = 0; f < 2; f++) {
		struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
		CHECK_STATUS(weft__wait(&word, 4, &d, flavours[f]), WEFT_OK);
		CHECK_STATUS(weft__wait(&word, 0, &d, flavours[f]), WEFT_OK);
		CHECK_STATUS(weft__wait(&word, UINT32_MAX, &d, flavours[f]), WEFT_OK);
		CHECK_STATUS(weft__wait(&word, 6, NULL, flavours[f]), WEFT_OK);
		/* a deadline already past does not matter when the value differs */
		struct timespec past = {0, 0};
		int rc = weft__wait(&word, 4, &past, flavours[f]);
		CHECK(rc == WEFT_OK || rc == WEFT_ETIMEDOUT);
	}
	CHECK_EQ(word, 5);
}

/* *addr == expected and the deadline is already past: WEFT_ETIMEDOUT. */
static void test_wait_past_deadline(void)
{
	uint32_t word = 7;
	for (size_t f = 0; f < 2; f++) {
		struct timespec past = {0, 0};
		CHECK_STATUS(weft__wait(&word, 7, &past, flavours[f]), WEFT_ETIMEDOUT);
		past = (struct timespec){1, 500};
		CHECK_STATUS(weft__wait(&word, 7, &past, flavours[f]), WEFT_ETIMEDOUT);
		struct timespec now = weft_deadline_after_ns(0);
		CHECK_STATUS(weft__wait(&word, 7, &now, flavours[f]), WEFT_ETIMEDOUT);
		struct timespec second_ago = weft_deadline_after_ns(0);
		second_ago.tv_sec -= 1;
		CHECK_STATUS(weft__wait(&word, 7, &second_ago, flavours[f]), WEFT_ETIMEDOUT);
	}
	CHECK_EQ(word, 7);
}

/* A short future deadline: the wait ends with WEFT_ETIMEDOUT (after any
 * spurious returns), and never before the deadline has passed. */
static void test_wait_short_deadline(void)
{
	uint32_t word = 0;
	for (size_t f = 0; f < 2; f++) {
		struct timespec d = weft_deadline_after_ns(3 * 1000 * 1000);
		int rc = WEFT_OK;
		for (int i = 0; i < 1000 && rc == WEFT_OK; i++)
			rc = weft__wait(&word, 0, &d, flavours[f]);
		CHECK_STATUS(rc, WEFT_ETIMEDOUT);
		CHECK(weft_deadline_passed(&d));
	}
}

/* ---- wake a sleeping thread ---------------------------------------------- */

struct sleeper {
	uint32_t *word;
	unsigned flags;
	pid_t tid;       /* published before sleeping */
	int ready;       /* atomic: tid is set */
	int far;         /* 0: GENEROUS_NS deadline; 1: after_ns(UINT64_MAX); 2: largest timespec; 3: none */
	unsigned returns; /* atomic: how many times weft__wait() returned */
	int timed_out;   /* atomic, set by the sleeper: a lost wake-up */
	uint32_t seen;   /* atomic: the value that ended the wait (0 while waiting) */
	pthread_t thread;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	s->tid = check_gettid();
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
	if (s->far == 1)
		d = weft_deadline_after_ns(UINT64_MAX);
	if (s->far == 2) {
		d.tv_sec = (time_t)((((uint64_t)1 << (sizeof(time_t) * 8 - 2)) - 1) * 2 + 1);
		d.tv_nsec = 999999999;
	}
	uint32_t v;
	while ((v = __atomic_load_n(s->word, __ATOMIC_ACQUIRE)) == 0) {
		int rc = weft__wait(s->word, 0, s->far == 3 ? NULL : &d, s->flags);
		__atomic_fetch_add(&s->returns, 1, __ATOMIC_RELAXED);
		if (rc == WEFT_ETIMEDOUT) {
			__atomic_store_n(&s->timed_out, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	__atomic_store_n(&s->seen, __atomic_load_n(s->word, __ATOMIC_ACQUIRE), __ATOMIC_RELAXED);
	return NULL;
}

static void start_sleeper_far(struct sleeper *s, uint32_t *word, unsigned flags, int far)
{
	memset(s, 0, sizeof(*s));
	s->word = word;
	s->flags = flags;
	s->far = far;
	if (pthread_create(&s->thread, NULL, sleeper_main, s) != 0) {
		perror("pthread_create");
		exit(3);
	}
	while (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), s->tid);
}

static void start_sleeper(struct sleeper *s, uint32_t *word, unsigned flags)
{
	start_sleeper_far(s, word, flags, 0);
}

static void finish_sleeper(struct sleeper *s)
{
	pthread_join(s->thread, NULL);
	CHECK_EQ(s->timed_out, 0);
	CHECK_EQ(s->seen, 1);
}

static void test_wake_one_sleeper(void)
{
	for (size_t f = 0; f < 2; f++) {
		for (int round = 0; round < 10; round++) {
			uint32_t word = 0;
			struct sleeper s;
			start_sleeper(&s, &word, flavours[f]);
			/* release: publishes the change the woken waiter returns for */
			__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
			weft__wake(&word, 1, flavours[f]);
			finish_sleeper(&s);
			if (check__test_failed)
				return; /* each lost wake-up costs GENEROUS_NS: stop at the first */
		}
	}
}

/* Far deadlines (the largest after_ns(), the largest timespec) and no deadline
 * at all sleep until woken: the backend must not reject them and return at
 * once (the caller's loop would then spin on the CPU instead of sleeping).
 * A spin shows up as thousands of returns. */
static void test_wait_far_deadline(void)
{
	for (size_t f = 0; f < 2; f++) {
		for (int far = 1; far <= 3; far++) {
			uint32_t word = 0;
			struct sleeper s;
			start_sleeper_far(&s, &word, flavours[f], far);
			__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
			weft__wake(&word, 1, flavours[f]);
			finish_sleeper(&s);
			/* the portable backend's process-shared flavour polls (1 us to 1 ms
			 * naps), so it returns a few dozen times; a futex waiter once or twice */
			CHECK_LT(s.returns, 1000);
		}
	}
}

/* Wake before the waiter sleeps: changing the word first makes the wait
 * return at once (the futex contract), whatever the interleaving. */
static void test_wake_races_with_wait(void)
{
	for (size_t f = 0; f < 2; f++) {
		for (int round = 0; round < 200; round++) {
			uint32_t word = 0;
			struct sleeper s;
			memset(&s, 0, sizeof(s));
			s.word = &word;
			s.flags = flavours[f];
			if (pthread_create(&s.thread, NULL, sleeper_main, &s) != 0)
				exit(3);
			if (round & 1)
				sched_yield();
			__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
			weft__wake(&word, 1, flavours[f]);
			finish_sleeper(&s);
			if (check__test_failed)
				return; /* each lost wake-up costs GENEROUS_NS: stop at the first */
		}
	}
}

#define N_SLEEPERS 4

/* Wake all (INT32_MAX) releases every sleeper. */
static void test_wake_all(void)
{
	for (size_t f = 0; f < 2; f++) {
		uint32_t word = 0;
		struct sleeper s[N_SLEEPERS];
		for (int i = 0; i < N_SLEEPERS; i++)
			start_sleeper(&s[i], &word, flavours[f]);
		__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
		weft__wake(&word, INT32_MAX, flavours[f]);
		for (int i = 0; i < N_SLEEPERS; i++)
			finish_sleeper(&s[i]);
	}
}

/* N wakes of one each release N sleepers (a backend may wake more per call). */
static void test_wake_one_each(void)
{
	for (size_t f = 0; f < 2; f++) {
		uint32_t word = 0;
		struct sleeper s[N_SLEEPERS];
		for (int i = 0; i < N_SLEEPERS; i++)
			start_sleeper(&s[i], &word, flavours[f]);
		__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
		for (int i = 0; i < N_SLEEPERS; i++)
			weft__wake(&word, 1, flavours[f]);
		for (int i = 0; i < N_SLEEPERS; i++)
			finish_sleeper(&s[i]);
	}
}

/* Two words: waking one does not release the other's sleeper for good (a
 * shared bucket may wake it spuriously; it must go back to sleep). */
static void test_wake_other_word(void)
{
	uint32_t words[2] = {0, 0};
	struct sleeper a, b;
	start_sleeper(&a, &words[0], 0);
	start_sleeper(&b, &words[1], 0);
	__atomic_store_n(&words[0], 1, __ATOMIC_RELEASE);
	weft__wake(&words[0], INT32_MAX, 0);
	finish_sleeper(&a);
	/* b is still waiting: its word never changed */
	(void)check_wait_until_sleeping(getpid(), b.tid);
	CHECK_EQ(__atomic_load_n(&b.seen, __ATOMIC_RELAXED), 0);
	__atomic_store_n(&words[1], 1, __ATOMIC_RELEASE);
	weft__wake(&words[1], 1, 0);
	finish_sleeper(&b);
}

/* Waking a word nobody waits on is harmless. */
static void test_wake_nobody(void)
{
	uint32_t word = 3;
	for (size_t f = 0; f < 2; f++) {
		weft__wake(&word, 1, flavours[f]);
		weft__wake(&word, INT32_MAX, flavours[f]);
	}
	CHECK_EQ(word, 3);
}

/* wait and wake leave errno as they found it, timeouts included. */
static void test_errno_untouched(void)
{
	uint32_t word = 0;
	for (size_t f = 0; f < 2; f++) {
		struct timespec past = {0, 0};
		errno = 4321;
		CHECK_STATUS(weft__wait(&word, 0, &past, flavours[f]), WEFT_ETIMEDOUT);
		CHECK_EQ(errno, 4321);
		CHECK_STATUS(weft__wait(&word, 1, &past, flavours[f]), WEFT_OK);
		CHECK_EQ(errno, 4321);
		weft__wake(&word, 1, flavours[f]);
		CHECK_EQ(errno, 4321);
	}
	errno = 0;
}

/* ---- process-shared: fork() over MAP_SHARED memory ----------------------- */

struct shared_words {
	uint32_t word;
	uint32_t ready; /* how many children are about to wait */
};

/* The child waits; the parent wakes it. */
static void test_pshared_parent_wakes_child(void)
{
	struct shared_words *sh = check_shared_alloc(sizeof(*sh));
	CHECK(sh != NULL);
	if (sh == NULL)
		return;
	enum { CHILDREN = 3 };
	pid_t pids[CHILDREN];
	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			__atomic_fetch_add(&sh->ready, 1, __ATOMIC_RELEASE);
			struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
			while (__atomic_load_n(&sh->word, __ATOMIC_ACQUIRE) == 0)
				if (weft__wait(&sh->word, 0, &d, WEFT_PSHARED) == WEFT_ETIMEDOUT)
					_exit(2); /* lost wake-up */
			_exit(__atomic_load_n(&sh->word, __ATOMIC_ACQUIRE) == 1 ? 0 : 3);
		}
		CHECK_GT(pids[i], 0);
	}
	while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < CHILDREN)
		sched_yield();
	for (int i = 0; i < CHILDREN; i++)
		(void)check_wait_until_sleeping(pids[i], pids[i]);
	__atomic_store_n(&sh->word, 1, __ATOMIC_RELEASE);
	weft__wake(&sh->word, INT32_MAX, WEFT_PSHARED);
	for (int i = 0; i < CHILDREN; i++)
		if (pids[i] > 0)
			CHECK_EQ(check_wait_child(pids[i]), 0);
	check_shared_free(sh, sizeof(*sh));
}

/* The parent waits; a child wakes it, one waiter at a time. */
static void test_pshared_child_wakes_parent(void)
{
	struct shared_words *sh = check_shared_alloc(sizeof(*sh));
	CHECK(sh != NULL);
	if (sh == NULL)
		return;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) == 0)
			sched_yield();
		(void)check_wait_until_sleeping(parent, parent);
		__atomic_store_n(&sh->word, 1, __ATOMIC_RELEASE);
		weft__wake(&sh->word, 1, WEFT_PSHARED);
		_exit(0);
	}
	CHECK_GT(pid, 0);
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
	int timed_out = 0;
	while (!timed_out && __atomic_load_n(&sh->word, __ATOMIC_ACQUIRE) == 0)
		timed_out = weft__wait(&sh->word, 0, &d, WEFT_PSHARED) == WEFT_ETIMEDOUT;
	CHECK_EQ(timed_out, 0);
	CHECK_EQ(__atomic_load_n(&sh->word, __ATOMIC_ACQUIRE), 1);
	if (pid > 0)
		CHECK_EQ(check_wait_child(pid), 0);
	check_shared_free(sh, sizeof(*sh));
}

int main(void)
{
	alarm(HANG_GUARD_S); /* a lost wake-up or deadlock kills the program: a failure, not a stall */
	RUN_TEST(test_backend_name);
	RUN_TEST(test_wait_value_differs);
	RUN_TEST(test_wait_past_deadline);
	RUN_TEST(test_wait_short_deadline);
	RUN_TEST(test_wake_one_sleeper);
	RUN_TEST(test_wait_far_deadline);
	RUN_TEST(test_wake_races_with_wait);
	RUN_TEST(test_wake_all);
	RUN_TEST(test_wake_one_each);
	RUN_TEST(test_wake_other_word);
	RUN_TEST(test_wake_nobody);
	RUN_TEST(test_errno_untouched);
	RUN_TEST(test_pshared_parent_wakes_child);
	RUN_TEST(test_pshared_child_wakes_parent);
	return check_summary();
}
