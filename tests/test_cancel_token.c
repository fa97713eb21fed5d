/* SPDX-License-Identifier: MIT */
/*
 * test_cancel_token.c - cancellation tokens (include/weft/cancel.h) and the
 * cancellable waits of the wait layer (weft__wait_ctx(), weft__wait_any(),
 * src/wait.h), issue 16.
 *
 * Every waiting test runs twice on the futex backend: on the futex_waitv
 * path (when the kernel has it) and on the fallback, forced with
 * weft__wait_set_waitv(false) (the registry for private chains, naps for
 * process-shared ones).  The portable backend has only the fallback: `make
 * CHECK_VARIANTS=portable check-variants` runs the same tests there.
 *
 * No timing assertion.  A lost wake-up shows as a waiter that sleeps until
 * its generous deadline (GENEROUS_NS) and returns WEFT_ETIMEDOUT, which fails
 * the test; a hang is caught by alarm() (HANG_GUARD_S).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__linux__) && !defined(WEFT_WAIT_PORTABLE)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#define HAVE_SECCOMP_TEST 1
#endif

#include "check.h"
#include "wait.h"
#include "weft/weft.h"

#define HANG_GUARD_S 300
#define GENEROUS_NS (30ull * 1000 * 1000 * 1000)

static const char *mode_name = "?";

/* ---- the token alone ------------------------------------------------------ */

static void test_zero_token_is_root(void)
{
	weft_cancel_t zero;
	memset(&zero, 0, sizeof(zero));
	weft_cancel_t init = WEFT_CANCEL_INIT;
	CHECK(!weft_cancel_requested(&zero));
	CHECK(!weft_cancel_requested(&init));
	CHECK(!weft_cancel_requested(NULL));
	CHECK(memcmp(&zero, &init, sizeof(zero)) == 0);
	weft_cancel(&zero);
	CHECK(weft_cancel_requested(&zero));
	weft_cancel(&zero); /* twice: harmless */
	CHECK(weft_cancel_requested(&zero));
	CHECK(!weft_cancel_requested(&init));
	/* init makes a cancelled token new */
	CHECK_STATUS(weft_cancel_init(&zero, NULL, 0), WEFT_OK);
	CHECK(!weft_cancel_requested(&zero));
	weft_cancel_destroy(&zero);
	weft_cancel_destroy(&init);
	CHECK_EQ(sizeof(weft_cancel_t), 16);
}

static void test_init_bad_input(void)
{
	weft_cancel_t a = WEFT_CANCEL_INIT, b = WEFT_CANCEL_INIT;
	errno = 777;
	CHECK_STATUS(weft_cancel_init(NULL, NULL, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_cancel_init(&a, &a, 0), WEFT_EINVAL);
	CHECK_STATUS(weft_cancel_init(&a, NULL, 0x2), WEFT_EINVAL);
	CHECK_STATUS(weft_cancel_init(&a, NULL, ~0u), WEFT_EINVAL);
	/* a process-shared child needs a process-shared parent */
	CHECK_STATUS(weft_cancel_init(&b, &a, WEFT_PSHARED), WEFT_EINVAL);
	CHECK_STATUS(weft_cancel_init(&a, NULL, WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_cancel_init(&b, &a, WEFT_PSHARED), WEFT_OK);
	/* a private child of a process-shared parent is fine */
	CHECK_STATUS(weft_cancel_init(&b, &a, 0), WEFT_OK);
	CHECK_EQ(errno, 777);
	weft_cancel(NULL); /* does nothing */
	weft_cancel_destroy(NULL);
	errno = 0;
}

/* A chain holds at most WEFT_CANCEL_MAX_CHAIN tokens. */
static void test_depth_limit(void)
{
	weft_cancel_t t[WEFT_CANCEL_MAX_CHAIN + 1];
	memset(t, 0, sizeof(t));
	for (int i = 1; i < WEFT_CANCEL_MAX_CHAIN; i++)
		CHECK_STATUS(weft_cancel_init(&t[i], &t[i - 1], 0), WEFT_OK);
	CHECK_STATUS(weft_cancel_init(&t[WEFT_CANCEL_MAX_CHAIN], &t[WEFT_CANCEL_MAX_CHAIN - 1], 0), WEFT_EINVAL);
	CHECK(!weft_cancel_requested(&t[WEFT_CANCEL_MAX_CHAIN - 1]));
	weft_cancel(&t[0]); /* the root reaches the deepest */
	CHECK(weft_cancel_requested(&t[WEFT_CANCEL_MAX_CHAIN - 1]));
	CHECK(weft_cancel_requested(&t[1]));
}

static void test_chain_direction(void)
{
	weft_cancel_t root = WEFT_CANCEL_INIT, mid, leaf, other;
	CHECK_STATUS(weft_cancel_init(&mid, &root, 0), WEFT_OK);
	CHECK_STATUS(weft_cancel_init(&leaf, &mid, 0), WEFT_OK);
	CHECK_STATUS(weft_cancel_init(&other, &root, 0), WEFT_OK);
	weft_cancel(&leaf); /* a child does not touch its parent or a sibling */
	CHECK(weft_cancel_requested(&leaf));
	CHECK(!weft_cancel_requested(&mid));
	CHECK(!weft_cancel_requested(&root));
	CHECK(!weft_cancel_requested(&other));
	weft_cancel(&root);
	CHECK(weft_cancel_requested(&mid));
	CHECK(weft_cancel_requested(&other));
	/* a child made under a cancelled parent is cancelled at once */
	weft_cancel_t late;
	CHECK_STATUS(weft_cancel_init(&late, &root, 0), WEFT_OK);
	CHECK(weft_cancel_requested(&late));
}

/* ---- waits that do not sleep ---------------------------------------------- */

static void test_wait_ctx_no_sleep(void)
{
	static const unsigned flavours[] = {0, WEFT_PSHARED};
	for (size_t f = 0; f < 2; f++) {
		uint32_t word = 5;
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		struct timespec past = {0, 0};
		struct timespec far = weft_deadline_after_ns(GENEROUS_NS);
		errno = 4321;
		/* NULL token: exactly weft__wait() */
		CHECK_STATUS(weft__wait_ctx(&word, 4, &far, flavours[f], NULL), WEFT_OK);
		CHECK_STATUS(weft__wait_ctx(&word, 5, &past, flavours[f], NULL), WEFT_ETIMEDOUT);
		/* uncancelled token: the value differs, the deadline passed */
		CHECK_STATUS(weft__wait_ctx(&word, 4, &far, flavours[f], &tok), WEFT_OK);
		CHECK_STATUS(weft__wait_ctx(&word, 5, &past, flavours[f], &tok), WEFT_ETIMEDOUT);
		/* cancelled: WEFT_ECANCELED without sleeping (before the deadline
		 * is looked at), but a changed word comes first */
		weft_cancel(&tok);
		CHECK_STATUS(weft__wait_ctx(&word, 5, NULL, flavours[f], &tok), WEFT_ECANCELED);
		CHECK_STATUS(weft__wait_ctx(&word, 5, &past, flavours[f], &tok), WEFT_ECANCELED);
		CHECK_STATUS(weft__wait_ctx(&word, 4, &far, flavours[f], &tok), WEFT_OK);
		CHECK_EQ(errno, 4321);
		CHECK_EQ(word, 5);
	}
	errno = 0;
}

static void test_wait_any_no_sleep(void)
{
	uint32_t w[WEFT__WAIT_ANY_MAX + 1] = {0};
	struct weft__wait_word words[WEFT__WAIT_ANY_MAX + 1];
	for (unsigned i = 0; i <= WEFT__WAIT_ANY_MAX; i++)
		words[i] = (struct weft__wait_word){&w[i], 0, i % 2 ? WEFT_PSHARED : 0};
	struct timespec past = {0, 0};
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	CHECK_STATUS(weft__wait_any(words, 0, &past, NULL), WEFT_EINVAL);
	CHECK_STATUS(weft__wait_any(words, WEFT__WAIT_ANY_MAX + 1, &past, NULL), WEFT_EINVAL);
	CHECK_STATUS(weft__wait_any(NULL, 1, &past, NULL), WEFT_EINVAL);
	CHECK_STATUS(weft__wait_any(words, WEFT__WAIT_ANY_MAX, &past, NULL), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft__wait_any(words, WEFT__WAIT_ANY_MAX, &past, &tok), WEFT_ETIMEDOUT);
	w[WEFT__WAIT_ANY_MAX - 1] = 1;
	CHECK_STATUS(weft__wait_any(words, WEFT__WAIT_ANY_MAX, NULL, &tok), WEFT_OK);
	CHECK_STATUS(weft__wait_any(words, WEFT__WAIT_ANY_MAX, NULL, NULL), WEFT_OK);
	weft_cancel(&tok);
	CHECK_STATUS(weft__wait_any(words, 1, NULL, &tok), WEFT_ECANCELED);
	CHECK_STATUS(weft__wait_any(words, WEFT__WAIT_ANY_MAX - 1, &past, &tok), WEFT_ECANCELED);
	/* a changed word comes first, cancelled or not */
	CHECK_STATUS(weft__wait_any(words, WEFT__WAIT_ANY_MAX, NULL, &tok), WEFT_OK);
}

/* ---- a sleeper woken by a cancel or a change ------------------------------ */

struct sleeper {
	uint32_t *word;
	unsigned flags;
	weft_cancel_t *tok;
	struct weft__wait_word *any; /* non-NULL: weft__wait_any() over n_any words */
	unsigned n_any;
	bool napping; /* weft__wait_napping_ctx() instead of weft__wait_ctx() */
	bool far;     /* the deadline is the largest timespec (the end of time) */
	pid_t tid;
	int ready; /* atomic */
	int rc;    /* the status that ended the loop (read after join) */
	bool late; /* the generous deadline had passed when the loop ended: a lost wake-up */
	pthread_t thread;
};

/* Loop as a primitive does: wait while the word holds 0, until a status
 * other than WEFT_OK. */
static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	s->tid = check_gettid();
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
	struct timespec end_of_time = {(time_t)((((uint64_t)1 << (sizeof(time_t) * 8 - 2)) - 1) * 2 + 1), 999999999};
	if (s->far)
		d = end_of_time;
	int rc = WEFT_OK;
	if (s->any != NULL) {
		while (rc == WEFT_OK) {
			rc = weft__wait_any(s->any, s->n_any, &d, s->tok);
			for (unsigned i = 0; rc == WEFT_OK && i < s->n_any; i++)
				if (__atomic_load_n(s->any[i].addr, __ATOMIC_ACQUIRE) != s->any[i].expected)
					rc = -100 - (int)i; /* word i changed */
		}
	} else {
		while ((rc == WEFT_OK || rc == WEFT__WAIT_NAPPED) && __atomic_load_n(s->word, __ATOMIC_ACQUIRE) == 0)
			rc = s->napping ? weft__wait_napping_ctx(s->word, 0, &d, s->flags, s->tok)
					: weft__wait_ctx(s->word, 0, &d, s->flags, s->tok);
		if (rc == WEFT__WAIT_NAPPED)
			rc = WEFT_OK;
	}
	s->rc = rc;
	s->late = weft_deadline_passed(&d);
	return NULL;
}

static void start_sleeper(struct sleeper *s)
{
	if (pthread_create(&s->thread, NULL, sleeper_main, s) != 0) {
		perror("pthread_create");
		exit(3);
	}
	while (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), s->tid);
}

static int finish_sleeper(struct sleeper *s)
{
	pthread_join(s->thread, NULL);
	if (s->late) { /* whatever it returned, nothing woke it in 30 s */
		fprintf(stderr, "  %s: the sleeper returned %d only at its deadline\n", mode_name, s->rc);
		check__fail();
	}
	return s->rc;
}

/* A cancel wakes a sleeper, for every flavour of word and token. */
static void test_cancel_wakes_sleeper(void)
{
	for (unsigned wf = 0; wf <= WEFT_PSHARED; wf += WEFT_PSHARED) {
		for (unsigned tf = 0; tf <= WEFT_PSHARED; tf += WEFT_PSHARED) {
			uint32_t word = 0;
			weft_cancel_t tok;
			CHECK_STATUS(weft_cancel_init(&tok, NULL, tf), WEFT_OK);
			struct sleeper s = {.word = &word, .flags = wf, .tok = &tok};
			start_sleeper(&s);
			weft_cancel(&tok);
			int rc = finish_sleeper(&s);
			if (rc != WEFT_ECANCELED)
				fprintf(stderr, "  %s: word flags %u, token flags %u\n", mode_name, wf, tf);
			CHECK_STATUS(rc, WEFT_ECANCELED);
			CHECK_EQ(word, 0);
		}
	}
}

/* The napping sleep of process-shared words, with a token: a cancel wakes
 * it at once (not at the end of its 50 ms nap), and a change too. */
static void test_napping_ctx(void)
{
	for (unsigned wf = 0; wf <= WEFT_PSHARED; wf += WEFT_PSHARED) {
		for (int change = 0; change < 2; change++) {
			uint32_t word = 0;
			weft_cancel_t tok = WEFT_CANCEL_INIT;
			struct sleeper s = {.word = &word, .flags = wf, .tok = &tok, .napping = true};
			start_sleeper(&s);
			if (change) {
				__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
				weft__wake(&word, 1, wf);
			} else {
				weft_cancel(&tok);
			}
			CHECK_STATUS(finish_sleeper(&s), change ? WEFT_OK : WEFT_ECANCELED);
		}
	}
	/* a NULL token: exactly weft__wait_napping() */
	uint32_t word = 0;
	struct timespec past = {0, 0};
	CHECK_STATUS(weft__wait_napping_ctx(&word, 0, &past, WEFT_PSHARED, NULL), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft__wait_napping_ctx(&word, 1, NULL, WEFT_PSHARED, NULL), WEFT_OK);
}

/* A deadline at the end of time (futex_waitv takes it as it is) still
 * sleeps, and a cancel ends the sleep. */
static void test_far_deadline(void)
{
	for (unsigned wf = 0; wf <= WEFT_PSHARED; wf += WEFT_PSHARED) {
		uint32_t word = 0;
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		struct sleeper s = {.word = &word, .flags = wf, .tok = &tok, .far = true};
		start_sleeper(&s);
		weft_cancel(&tok);
		CHECK_STATUS(finish_sleeper(&s), WEFT_ECANCELED);
	}
}

/* A token that is not cancelled leaves the ordinary wake-up alone. */
static void test_change_wakes_sleeper_with_token(void)
{
	for (unsigned wf = 0; wf <= WEFT_PSHARED; wf += WEFT_PSHARED) {
		uint32_t word = 0;
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		struct sleeper s = {.word = &word, .flags = wf, .tok = &tok};
		start_sleeper(&s);
		__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
		weft__wake(&word, 1, wf);
		CHECK_STATUS(finish_sleeper(&s), WEFT_OK);
		CHECK(!weft_cancel_requested(&tok));
	}
}

/* Cancelling the root wakes a waiter that names a grandchild; cancelling a
 * child leaves a waiter on its parent asleep (it returns for the change). */
static void test_chain_wakeups(void)
{
	for (unsigned tf = 0; tf <= WEFT_PSHARED; tf += WEFT_PSHARED) {
		uint32_t word = 0;
		weft_cancel_t root, mid, leaf;
		CHECK_STATUS(weft_cancel_init(&root, NULL, tf), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&mid, &root, tf), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&leaf, &mid, 0), WEFT_OK);
		struct sleeper s = {.word = &word, .tok = &leaf};
		start_sleeper(&s);
		weft_cancel(&root);
		CHECK_STATUS(finish_sleeper(&s), WEFT_ECANCELED);

		CHECK_STATUS(weft_cancel_init(&root, NULL, tf), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&mid, &root, tf), WEFT_OK);
		struct sleeper p = {.word = &word, .tok = &root};
		start_sleeper(&p);
		weft_cancel(&mid);
		(void)check_wait_until_sleeping(getpid(), p.tid);
		__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
		weft__wake(&word, INT32_MAX, 0);
		CHECK_STATUS(finish_sleeper(&p), WEFT_OK);
		CHECK(!weft_cancel_requested(&root));
	}
}

/* Several sleepers on different words, one token: one cancel wakes all. */
static void test_cancel_wakes_many(void)
{
	enum { N = 4 };
	uint32_t words[N] = {0};
	weft_cancel_t root = WEFT_CANCEL_INIT, kids[N];
	struct sleeper s[N];
	memset(s, 0, sizeof(s));
	for (int i = 0; i < N; i++) {
		CHECK_STATUS(weft_cancel_init(&kids[i], &root, 0), WEFT_OK);
		s[i].word = &words[i % 2]; /* two sleepers a word */
		s[i].tok = i % 2 ? &kids[i] : &root;
		start_sleeper(&s[i]);
	}
	weft_cancel(&root);
	for (int i = 0; i < N; i++)
		CHECK_STATUS(finish_sleeper(&s[i]), WEFT_ECANCELED);
}

/* weft__wait_any(): a change of any word, or a cancel, ends the sleep. */
static void test_wait_any_sleeper(void)
{
	enum { N = 5 };
	for (unsigned k = 0; k <= 2 * N + 1; k++) { /* k % (N + 1) == N: cancel instead; k > N: a process-shared token */
		uint32_t w[N] = {0};
		struct weft__wait_word words[N];
		for (unsigned i = 0; i < N; i++)
			words[i] = (struct weft__wait_word){&w[i], 0, i == 3 ? WEFT_PSHARED : 0};
		weft_cancel_t tok;
		CHECK_STATUS(weft_cancel_init(&tok, NULL, k > N ? WEFT_PSHARED : 0), WEFT_OK);
		unsigned which = k % (N + 1);
		struct sleeper s = {.any = words, .n_any = N, .tok = &tok};
		start_sleeper(&s);
		if (which < N) {
			__atomic_store_n(&w[which], 1, __ATOMIC_RELEASE);
			weft__wake(&w[which], 1, words[which].flags);
			CHECK_STATUS(finish_sleeper(&s), -100 - (int)which);
		} else {
			weft_cancel(&tok);
			CHECK_STATUS(finish_sleeper(&s), WEFT_ECANCELED);
		}
	}
}

/*
 * A cancel racing with the word's change: every wait ends (no lost wake-up of
 * either kind), with WEFT_ECANCELED only if the token was cancelled, and a
 * sleeper that returns for the change (or spuriously) sees the new value.
 */
static void test_cancel_races_change(void)
{
	enum { ROUNDS = 300 };
	unsigned cancelled = 0, changed = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint32_t word = 0;
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		struct sleeper s = {.word = &word, .tok = &tok};
		if (pthread_create(&s.thread, NULL, sleeper_main, &s) != 0)
			exit(3);
		for (int spin = 0; spin < (r % 7) * 50; spin++)
			weft_cpu_relax();
		int what = r % 3; /* 0: cancel only; 1: change only; 2: both */
		if (what != 1)
			weft_cancel(&tok);
		if (what != 0) {
			__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
			weft__wake(&word, 1, 0);
		}
		int rc = finish_sleeper(&s);
		if (rc == WEFT_ECANCELED) {
			cancelled++;
			CHECK(what != 1);
		} else {
			changed++;
			CHECK_STATUS(rc, WEFT_OK);
			CHECK_EQ(__atomic_load_n(&word, __ATOMIC_ACQUIRE), 1);
			CHECK(what != 0);
		}
	}
	CHECK_GE(cancelled, ROUNDS / 3);
	CHECK_GE(changed, ROUNDS / 3);
}

/* ---- process-shared tokens: fork() over MAP_SHARED memory ------------------ */

struct shared {
	weft_cancel_t root, child;
	uint32_t word;
	uint32_t ready;
};

/* A child process sleeps on a shared word naming the shared child token;
 * the parent process cancels the root. */
static void test_pshared_token_between_processes(void)
{
	struct shared *sh = check_shared_alloc(sizeof(*sh));
	CHECK(sh != NULL);
	if (sh == NULL)
		return;
	CHECK_STATUS(weft_cancel_init(&sh->root, NULL, WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_cancel_init(&sh->child, &sh->root, WEFT_PSHARED), WEFT_OK);
	pid_t pid = fork();
	if (pid == 0) {
		__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
		struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
		int rc = WEFT_OK;
		while (rc == WEFT_OK && __atomic_load_n(&sh->word, __ATOMIC_ACQUIRE) == 0)
			rc = weft__wait_ctx(&sh->word, 0, &d, WEFT_PSHARED, &sh->child);
		if (weft_deadline_passed(&d))
			_exit(9); /* nothing woke it in 30 s (at its deadline, any status) */
		_exit(rc == WEFT_ECANCELED ? 0 : 10 + rc);
	}
	CHECK_GT(pid, 0);
	while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	(void)check_wait_until_sleeping(pid, pid);
	weft_cancel(&sh->root);
	if (pid > 0)
		CHECK_EQ(check_wait_child(pid), 0);
	CHECK_EQ(sh->word, 0);
	check_shared_free(sh, sizeof(*sh));
}

/* ---- a kernel without futex_waitv ---------------------------------------- */

#ifdef HAVE_SECCOMP_TEST
/* Make futex_waitv (449 on x86-64 and aarch64 alike) fail with ENOSYS in this
 * process, as on a kernel older than 5.16.  Return: 0, or -1 if seccomp is
 * not available here. */
static int deny_futex_waitv(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 449, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {(unsigned short)(sizeof(filter) / sizeof(filter[0])), filter};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 ? 0 : -1;
}

/* In a child whose futex_waitv says ENOSYS: the first cancellable sleep finds
 * out, switches to the fallback for good, and still wakes for a cancel (and
 * weft__wait_any() too). */
static void test_enosys_falls_back(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(CHECK_CHILD_ALARM_S);
		if (deny_futex_waitv() != 0)
			_exit(77); /* no seccomp: skipped */
		weft__wait_set_waitv(true); /* "try it" */
		uint32_t word = 0;
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		struct sleeper s = {.word = &word, .tok = &tok};
		start_sleeper(&s);
		weft_cancel(&tok);
		if (finish_sleeper(&s) != WEFT_ECANCELED)
			_exit(1);
		if (weft__wait_uses_waitv())
			_exit(2); /* ENOSYS did not switch the path */
		uint32_t w[2] = {0, 0};
		struct weft__wait_word words[2] = {{&w[0], 0, 0}, {&w[1], 0, 0}};
		weft_cancel_t tok2 = WEFT_CANCEL_INIT;
		struct sleeper a = {.any = words, .n_any = 2, .tok = &tok2};
		start_sleeper(&a);
		__atomic_store_n(&w[1], 1, __ATOMIC_RELEASE);
		weft__wake(&w[1], 1, 0);
		if (finish_sleeper(&a) != -101)
			_exit(3);
		_exit(0);
	}
	CHECK_GT(pid, 0);
	int status = pid > 0 ? check_wait_child(pid) : -1;
	if (status == 77)
		printf("  seccomp not available: not tested\n");
	else
		CHECK_EQ(status, 0);
}
#endif

/*
 * A process killed inside weft_cancel() between its bit and its wake-up call
 * (simulated: the bit set by hand, no wake-up): a sleeper whose chain holds a
 * process-shared token naps, sees the bit and returns WEFT_ECANCELED, long
 * before its generous deadline (the rule of docs/processes.md: a dead peer
 * costs naps, never a hang).  Failed before (the futex_waitv sleeper slept
 * until its deadline: WEFT_ETIMEDOUT).
 */
static void test_dead_canceller(void)
{
	for (int leaf_private = 0; leaf_private < 2; leaf_private++) {
		uint32_t word = 0;
		weft_cancel_t root, child;
		CHECK_STATUS(weft_cancel_init(&root, NULL, WEFT_PSHARED), WEFT_OK);
		CHECK_STATUS(weft_cancel_init(&child, &root, leaf_private ? 0 : WEFT_PSHARED), WEFT_OK);
		struct sleeper s = {.word = &word, .flags = WEFT_PSHARED, .tok = &child};
		start_sleeper(&s);
		/* release: as weft_cancel()'s fetch_or; then "killed": no wake-up */
		__atomic_fetch_or(&root.state, WEFT__CANCEL_CANCELLED, __ATOMIC_RELEASE);
		CHECK_STATUS(finish_sleeper(&s), WEFT_ECANCELED);
	}
}

/* ---- each test on each path ------------------------------------------------ */

static bool use_waitv;

static void set_mode(bool waitv)
{
	use_waitv = waitv;
	weft__wait_set_waitv(waitv);
	mode_name = waitv ? "futex_waitv" : "fallback";
}

#define ON_BOTH_PATHS(fn)                                                              \
	static void fn##_waitv(void)                                                   \
	{                                                                              \
		set_mode(true);                                                        \
		fn();                                                                  \
	}                                                                              \
	static void fn##_fallback(void)                                                \
	{                                                                              \
		set_mode(false);                                                       \
		CHECK(!weft__wait_uses_waitv());                                       \
		fn();                                                                  \
	}

ON_BOTH_PATHS(test_wait_ctx_no_sleep)
ON_BOTH_PATHS(test_wait_any_no_sleep)
ON_BOTH_PATHS(test_cancel_wakes_sleeper)
ON_BOTH_PATHS(test_change_wakes_sleeper_with_token)
ON_BOTH_PATHS(test_napping_ctx)
ON_BOTH_PATHS(test_far_deadline)
ON_BOTH_PATHS(test_chain_wakeups)
ON_BOTH_PATHS(test_cancel_wakes_many)
ON_BOTH_PATHS(test_wait_any_sleeper)
ON_BOTH_PATHS(test_cancel_races_change)
ON_BOTH_PATHS(test_pshared_token_between_processes)
ON_BOTH_PATHS(test_dead_canceller)

/* The futex backend on this kernel takes the futex_waitv path unless told
 * otherwise; say which (informational: older kernels lack it). */
static void test_which_path(void)
{
	weft__wait_set_waitv(true);
	printf("  backend %s, futex_waitv %s\n", weft__wait_backend(),
	       weft__wait_uses_waitv() ? "usable" : "not used");
	/* the forced switch always works */
	weft__wait_set_waitv(false);
	CHECK(!weft__wait_uses_waitv());
}

int main(void)
{
	alarm(HANG_GUARD_S); /* a lost wake-up kills the program: a failure, not a stall */
	RUN_TEST(test_zero_token_is_root);
	RUN_TEST(test_init_bad_input);
	RUN_TEST(test_depth_limit);
	RUN_TEST(test_chain_direction);
	RUN_TEST(test_which_path);
	RUN_TEST(test_wait_ctx_no_sleep_waitv);
	RUN_TEST(test_wait_ctx_no_sleep_fallback);
	RUN_TEST(test_wait_any_no_sleep_waitv);
	RUN_TEST(test_wait_any_no_sleep_fallback);
	RUN_TEST(test_cancel_wakes_sleeper_waitv);
	RUN_TEST(test_cancel_wakes_sleeper_fallback);
	RUN_TEST(test_change_wakes_sleeper_with_token_waitv);
	RUN_TEST(test_change_wakes_sleeper_with_token_fallback);
	RUN_TEST(test_napping_ctx_waitv);
	RUN_TEST(test_napping_ctx_fallback);
	RUN_TEST(test_far_deadline_waitv);
	RUN_TEST(test_far_deadline_fallback);
	RUN_TEST(test_chain_wakeups_waitv);
	RUN_TEST(test_chain_wakeups_fallback);
	RUN_TEST(test_cancel_wakes_many_waitv);
	RUN_TEST(test_cancel_wakes_many_fallback);
	RUN_TEST(test_wait_any_sleeper_waitv);
	RUN_TEST(test_wait_any_sleeper_fallback);
	RUN_TEST(test_cancel_races_change_waitv);
	RUN_TEST(test_cancel_races_change_fallback);
	RUN_TEST(test_pshared_token_between_processes_waitv);
	RUN_TEST(test_pshared_token_between_processes_fallback);
	RUN_TEST(test_dead_canceller_waitv);
	RUN_TEST(test_dead_canceller_fallback);
#ifdef HAVE_SECCOMP_TEST
	RUN_TEST(test_enosys_falls_back);
#endif
	return check_summary();
}
