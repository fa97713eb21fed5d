/* SPDX-License-Identifier: MIT */
/*
 * test_select.c - weft_mpmc_select() and the cancellable weft_mpmc_push_ctx()
 * and weft_mpmc_pop_ctx(): bad input, exactly one case performed, fairness
 * between always-ready queues (a count), closed queues, deadlines, tokens
 * cancelled before and during a sleep, wake-ups through every queue, mixed
 * push and pop cases, conservation with many producers across 4 queues,
 * cancellation racing with pushes (no value popped and then dropped),
 * process-shared queues between a parent and a child, and an idle select's
 * CPU time.  No assertion depends on timing; deadlines and
 * alarm() only guard against hangs.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "weft/cancel.h"
#include "weft/mpmc.h"
#include "weft/weft.h"

#define V(i) ((void *)(uintptr_t)(i))
#define U(p) ((uintptr_t)(p))
#define NQ 4

/* Wait (up to 30 s, then fail) until @n threads have registered as sleepers. */
static void wait_sleepers(uint32_t *count, uint32_t n)
{
	for (int i = 0; i < 30000; i++) {
		if ((__atomic_load_n(count, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS) >= n)
			return;
		usleep(1000);
	}
	CHECK_GE(__atomic_load_n(count, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS, n);
}

static void make_queues(weft_mpmc_t **q, size_t capacity)
{
	for (int i = 0; i < NQ; i++) {
		q[i] = weft_mpmc_create(capacity, 0);
		CHECK(q[i] != NULL);
	}
}

static void destroy_queues(weft_mpmc_t **q)
{
	for (int i = 0; i < NQ; i++)
		weft_mpmc_destroy(q[i]);
}

static void pop_cases(weft_mpmc_case_t *c, weft_mpmc_t **q)
{
	for (int i = 0; i < NQ; i++) {
		c[i].queue = q[i];
		c[i].op = WEFT_MPMC_OP_POP;
		c[i].item = V(0xdead);
	}
}

/* ---- bad input ---------------------------------------------------------------- */

static void test_select_bad_input(void)
{
	weft_mpmc_t *q[NQ];
	make_queues(q, 4);
	CHECK(weft_mpmc_try_push(q[0], V(1)));
	weft_mpmc_case_t c[WEFT_MPMC_SELECT_MAX + 1];
	for (unsigned i = 0; i <= WEFT_MPMC_SELECT_MAX; i++)
		c[i] = (weft_mpmc_case_t){q[0], WEFT_MPMC_OP_POP, NULL};
	unsigned chosen = 77;
	CHECK_STATUS(weft_mpmc_select(c, 0, NULL, NULL, &chosen), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_select(c, WEFT_MPMC_SELECT_MAX + 1, NULL, NULL, &chosen), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_select(NULL, 1, NULL, NULL, &chosen), WEFT_EINVAL);
	CHECK_STATUS(weft_mpmc_select(c, 1, NULL, NULL, NULL), WEFT_EINVAL);
	c[1].queue = NULL;
	CHECK_STATUS(weft_mpmc_select(c, 2, NULL, NULL, &chosen), WEFT_EINVAL);
	c[1].queue = q[1];
	c[1].op = 2;
	CHECK_STATUS(weft_mpmc_select(c, 2, NULL, NULL, &chosen), WEFT_EINVAL);
	c[1].op = -1;
	CHECK_STATUS(weft_mpmc_select(c, 2, NULL, NULL, &chosen), WEFT_EINVAL);
	c[1].op = WEFT_MPMC_OP_POP;
	static const struct timespec bad[] = {{-1, 0}, {0, -1}, {0, 1000000000L}, {1, 1000000000L}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_STATUS(weft_mpmc_select(c, 2, &bad[i], NULL, &chosen), WEFT_EINVAL);
	/* nothing was taken, nothing written */
	CHECK_EQ(chosen, 77);
	CHECK_EQ(weft_mpmc_size_approx(q[0]), 1);
	CHECK(c[0].item == NULL);
	/* the full 64 cases are accepted (all on one queue) */
	CHECK_STATUS(weft_mpmc_select(c, WEFT_MPMC_SELECT_MAX, NULL, NULL, &chosen), WEFT_OK);
	CHECK(c[chosen].queue == q[0]);
	CHECK_EQ(U(c[chosen].item), 1);
	destroy_queues(q);
}

static void test_ctx_bad_deadline(void)
{
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	static const struct timespec bad[] = {{-1, 0}, {0, -1}, {0, 1000000000L}};
	void *out = V(9);
	CHECK(weft_mpmc_try_push(q, V(1)));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_STATUS(weft_mpmc_push_ctx(q, V(2), &bad[i], NULL), WEFT_EINVAL);
		CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, &bad[i], NULL), WEFT_EINVAL);
	}
	CHECK_EQ(weft_mpmc_size_approx(q), 1); /* untouched */
	CHECK_EQ(U(out), 9);
	weft_mpmc_destroy(q);
}

/* ---- the ready path ------------------------------------------------------------ */

/* Exactly the chosen case is performed: one queue changes, one item is written. */
static void test_select_performs_exactly_one(void)
{
	weft_mpmc_t *q[NQ];
	make_queues(q, 4);
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < NQ; i++)
			CHECK(weft_mpmc_try_push(q[i], V(100 * i + 1)));
		weft_mpmc_case_t c[NQ];
		pop_cases(c, q);
		unsigned chosen = 99;
		CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_OK);
		CHECK_LT(chosen, NQ);
		for (unsigned i = 0; i < NQ; i++) {
			CHECK_EQ(weft_mpmc_size_approx(q[i]), i == chosen ? 0 : 1);
			CHECK_EQ(U(c[i].item), i == chosen ? 100 * i + 1 : 0xdead);
		}
		void *v;
		for (int i = 0; i < NQ; i++)
			while (weft_mpmc_try_pop(q[i], &v))
				;
	}
	/* push cases: room in all queues, one value goes in */
	weft_mpmc_case_t c[NQ];
	for (int i = 0; i < NQ; i++)
		c[i] = (weft_mpmc_case_t){q[i], WEFT_MPMC_OP_PUSH, V(50 + i)};
	unsigned chosen = 99;
	CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_OK);
	CHECK_LT(chosen, NQ);
	for (unsigned i = 0; i < NQ; i++)
		CHECK_EQ(weft_mpmc_size_approx(q[i]), i == chosen ? 1 : 0);
	void *v = NULL;
	CHECK(weft_mpmc_try_pop(q[chosen], &v));
	CHECK_EQ(U(v), 50 + chosen);
	/* only one ready among four: that one, whatever the start */
	for (int round = 0; round < 50; round++) {
		pop_cases(c, q);
		CHECK(weft_mpmc_try_push(q[2], V(7)));
		CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_OK);
		CHECK_EQ(chosen, 2);
		CHECK_EQ(U(c[2].item), 7);
	}
	destroy_queues(q);
}

/* Two queues that are always ready: both are chosen, many times each.  With a
 * fair start each is chosen 1000 times out of 2000 on average; a select that
 * always started at case 0 would choose queue 1 never.  The bound (400) is
 * 26 standard deviations from the mean: a count, not a timing. */
static void test_select_fair_between_ready_queues(void)
{
	weft_mpmc_t *a = weft_mpmc_create(4, 0), *b = weft_mpmc_create(4, 0);
	unsigned count[2] = {0, 0};
	for (int i = 0; i < 2000; i++) {
		(void)!weft_mpmc_try_push(a, V(1));
		(void)!weft_mpmc_try_push(b, V(2));
		weft_mpmc_case_t c[2] = {{a, WEFT_MPMC_OP_POP, NULL}, {b, WEFT_MPMC_OP_POP, NULL}};
		unsigned chosen = 9;
		CHECK_STATUS(weft_mpmc_select(c, 2, NULL, NULL, &chosen), WEFT_OK);
		CHECK_LT(chosen, 2);
		if (chosen < 2) {
			count[chosen]++;
			CHECK_EQ(U(c[chosen].item), chosen + 1);
		}
	}
	CHECK_GT(count[0], 400);
	CHECK_GT(count[1], 400);
	/* and with four cases, each of the four */
	weft_mpmc_t *q[NQ];
	make_queues(q, 4);
	unsigned four[NQ] = {0};
	for (int i = 0; i < 2000; i++) {
		weft_mpmc_case_t c[NQ];
		for (int k = 0; k < NQ; k++) {
			(void)!weft_mpmc_try_push(q[k], V(k));
			c[k] = (weft_mpmc_case_t){q[k], WEFT_MPMC_OP_POP, NULL};
		}
		unsigned chosen = 9;
		CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_OK);
		if (chosen < NQ)
			four[chosen]++;
	}
	for (int k = 0; k < NQ; k++)
		CHECK_GT(four[k], 250); /* mean 500, sd 19 */
	destroy_queues(q);
	weft_mpmc_destroy(a);
	weft_mpmc_destroy(b);
}

/* ---- deadlines, tokens, closed queues, without a second thread ------------------ */

static void test_select_deadline_and_token_when_nothing_ready(void)
{
	weft_mpmc_t *q[NQ];
	make_queues(q, 2);
	weft_mpmc_case_t c[NQ];
	pop_cases(c, q);
	unsigned chosen = 77;
	struct timespec past = {0, 0};
	CHECK_STATUS(weft_mpmc_select(c, NQ, &past, NULL, &chosen), WEFT_ETIMEDOUT);
	struct timespec soon = weft_deadline_after_ns(2 * 1000 * 1000);
	CHECK_STATUS(weft_mpmc_select(c, NQ, &soon, NULL, &chosen), WEFT_ETIMEDOUT);
	CHECK(weft_deadline_passed(&soon));
	CHECK_EQ(chosen, 77);
	for (int i = 0; i < NQ; i++)
		CHECK_EQ(U(c[i].item), 0xdead);

	weft_cancel_t tok = WEFT_CANCEL_INIT;
	weft_cancel(&tok);
	CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, &tok, &chosen), WEFT_ECANCELED);
	CHECK_STATUS(weft_mpmc_select(c, NQ, &soon, &tok, &chosen), WEFT_ECANCELED);
	CHECK_EQ(chosen, 77);
	/* a ready case wins over a past deadline and a cancelled token: the
	 * token is read only when the call would wait */
	CHECK(weft_mpmc_try_push(q[3], V(3)));
	CHECK_STATUS(weft_mpmc_select(c, NQ, &past, &tok, &chosen), WEFT_OK);
	CHECK_EQ(chosen, 3);
	CHECK_EQ(U(c[3].item), 3);
	/* push cases on full queues */
	for (int i = 0; i < NQ; i++) {
		while (weft_mpmc_try_push(q[i], V(1)))
			;
		c[i] = (weft_mpmc_case_t){q[i], WEFT_MPMC_OP_PUSH, V(5)};
	}
	CHECK_STATUS(weft_mpmc_select(c, NQ, &past, NULL, &chosen), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, &tok, &chosen), WEFT_ECANCELED);
	for (int i = 0; i < NQ; i++)
		CHECK_EQ(weft_mpmc_size_approx(q[i]), 2);
	weft_cancel_destroy(&tok);
	destroy_queues(q);
}

static void test_ctx_ready_and_not(void)
{
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	struct timespec past = {0, 0};
	void *out = V(9);
	/* no deadline, no token: weft_mpmc_push()/pop() */
	CHECK_STATUS(weft_mpmc_push_ctx(q, V(1), NULL, NULL), WEFT_OK);
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, NULL, NULL), WEFT_OK);
	CHECK_EQ(U(out), 1);
	weft_cancel(&tok);
	/* ready: the cancelled token and the past deadline are not looked at */
	CHECK_STATUS(weft_mpmc_push_ctx(q, V(2), &past, &tok), WEFT_OK);
	CHECK_STATUS(weft_mpmc_push_ctx(q, V(3), NULL, &tok), WEFT_OK);
	CHECK_STATUS(weft_mpmc_push_ctx(q, V(4), NULL, &tok), WEFT_ECANCELED); /* full */
	CHECK_STATUS(weft_mpmc_push_ctx(q, V(4), &past, NULL), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, &past, &tok), WEFT_OK);
	CHECK_EQ(U(out), 2);
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, NULL, &tok), WEFT_OK);
	CHECK_EQ(U(out), 3);
	out = V(9);
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, NULL, &tok), WEFT_ECANCELED); /* empty */
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, &past, NULL), WEFT_ETIMEDOUT);
	CHECK_EQ(U(out), 9);
	struct timespec soon = weft_deadline_after_ns(2 * 1000 * 1000);
	weft_cancel_t fresh = WEFT_CANCEL_INIT;
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, &soon, &fresh), WEFT_ETIMEDOUT);
	/* closed wins over the token: the queue is drained */
	weft_mpmc_close(q);
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, NULL, &tok), WEFT_ECLOSED);
	CHECK_STATUS(weft_mpmc_push_ctx(q, V(5), NULL, &tok), WEFT_ECLOSED);
	weft_cancel_destroy(&tok);
	weft_cancel_destroy(&fresh);
	weft_mpmc_destroy(q);
}

/* The token is not read unless the call would wait: a pointer that faults
 * if it is read must not matter to a push with room, a pop with a value or a
 * select with a ready case (a build that read it would die of SIGSEGV). */
static void test_token_not_read_when_ready(void)
{
	weft_cancel_t *unreadable = (weft_cancel_t *)(uintptr_t)64; /* the unmapped zero page */
	weft_mpmc_t *q = weft_mpmc_create(2, 0);
	void *out = NULL;
	CHECK_STATUS(weft_mpmc_push_ctx(q, V(1), NULL, unreadable), WEFT_OK);
	CHECK_STATUS(weft_mpmc_pop_ctx(q, &out, NULL, unreadable), WEFT_OK);
	CHECK_EQ(U(out), 1);
	weft_mpmc_case_t c[2] = {{q, WEFT_MPMC_OP_POP, NULL}, {q, WEFT_MPMC_OP_PUSH, V(2)}};
	unsigned chosen = 9;
	/* empty: the pop case cannot be done, the push case can */
	CHECK_STATUS(weft_mpmc_select(c, 2, NULL, unreadable, &chosen), WEFT_OK);
	CHECK_EQ(chosen, 1);
	CHECK_EQ(weft_mpmc_size_approx(q), 1);
	weft_mpmc_destroy(q);
}

/* Closed cases: reported only when nothing else can be done; the lowest. */
static void test_select_closed_queues(void)
{
	weft_mpmc_t *q[NQ];
	make_queues(q, 2);
	weft_mpmc_case_t c[NQ];
	unsigned chosen = 77;
	/* a closed queue with a value is drained first */
	CHECK(weft_mpmc_try_push(q[1], V(11)));
	weft_mpmc_close(q[1]);
	pop_cases(c, q);
	CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_OK);
	CHECK_EQ(chosen, 1);
	CHECK_EQ(U(c[1].item), 11);
	/* now closed and drained, the others empty: reported at once, no wait */
	chosen = 77;
	CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_ECLOSED);
	CHECK_EQ(chosen, 1);
	/* a ready case wins, whatever the start */
	for (int round = 0; round < 50; round++) {
		CHECK(weft_mpmc_try_push(q[3], V(33)));
		pop_cases(c, q);
		CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_OK);
		CHECK_EQ(chosen, 3);
		CHECK_EQ(U(c[3].item), 33);
	}
	/* several closed: the lowest index */
	weft_mpmc_close(q[2]);
	weft_mpmc_close(q[0]);
	for (int round = 0; round < 20; round++) {
		CHECK_STATUS(weft_mpmc_select(c, NQ, NULL, NULL, &chosen), WEFT_ECLOSED);
		CHECK_EQ(chosen, 0);
	}
	/* closed wins over a cancelled token and a past deadline */
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	weft_cancel(&tok);
	struct timespec past = {0, 0};
	CHECK_STATUS(weft_mpmc_select(&c[1], 3, &past, &tok, &chosen), WEFT_ECLOSED);
	CHECK_EQ(chosen, 0); /* c[2], the lowest closed of c[1..3] */
	/* push on a closed queue */
	weft_mpmc_case_t pc[2] = {{q[3], WEFT_MPMC_OP_POP, NULL}, {q[2], WEFT_MPMC_OP_PUSH, V(1)}};
	CHECK_STATUS(weft_mpmc_select(pc, 2, NULL, NULL, &chosen), WEFT_ECLOSED);
	CHECK_EQ(chosen, 1);
	weft_cancel_destroy(&tok);
	destroy_queues(q);
}

/* ---- sleeping selects ------------------------------------------------------------ */

struct sel {
	weft_mpmc_case_t c[NQ];
	unsigned n;
	const struct timespec *deadline;
	weft_cancel_t *cancel;
	unsigned chosen;
	int rc;
	pid_t tid;
	clockid_t cpu;
};

static void *select_thread(void *arg)
{
	struct sel *s = arg;
	__atomic_store_n(&s->tid, check_gettid(), __ATOMIC_RELEASE);
	s->rc = weft_mpmc_select(s->c, s->n, s->deadline, s->cancel, &s->chosen);
	return NULL;
}

static void start_select(pthread_t *t, struct sel *s)
{
	s->tid = 0;
	s->rc = -1;
	s->chosen = 99;
	pthread_create(t, NULL, select_thread, s);
	while (__atomic_load_n(&s->tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
}

/* A select asleep on four empty queues is woken by a push on any of them. */
static void test_select_woken_by_each_queue(void)
{
	weft_mpmc_t *q[NQ];
	make_queues(q, 2);
	for (unsigned k = 0; k < NQ; k++) {
		struct sel s;
		pop_cases(s.c, q);
		s.n = NQ;
		s.deadline = NULL;
		s.cancel = NULL;
		pthread_t t;
		start_select(&t, &s);
		for (int i = 0; i < NQ; i++)
			wait_sleepers(&q[i]->pop_sleepers, 1);
		(void)check_wait_until_sleeping(getpid(), s.tid);
		CHECK(weft_mpmc_try_push(q[k], V(10 + k)));
		pthread_join(t, NULL);
		CHECK_STATUS(s.rc, WEFT_OK);
		CHECK_EQ(s.chosen, k);
		CHECK_EQ(U(s.c[k].item), 10 + k);
		for (int i = 0; i < NQ; i++) /* every announcement withdrawn */
			CHECK_EQ(__atomic_load_n(&q[i]->pop_sleepers, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS, 0);
	}
	/* push cases on four full queues: a pop on one of them makes room */
	for (int i = 0; i < NQ; i++)
		while (weft_mpmc_try_push(q[i], V(1)))
			;
	struct sel s;
	for (int i = 0; i < NQ; i++)
		s.c[i] = (weft_mpmc_case_t){q[i], WEFT_MPMC_OP_PUSH, V(20 + i)};
	s.n = NQ;
	s.deadline = NULL;
	s.cancel = NULL;
	pthread_t t;
	start_select(&t, &s);
	for (int i = 0; i < NQ; i++)
		wait_sleepers(&q[i]->push_sleepers, 1);
	(void)check_wait_until_sleeping(getpid(), s.tid);
	void *v;
	CHECK(weft_mpmc_try_pop(q[2], &v));
	pthread_join(t, NULL);
	CHECK_STATUS(s.rc, WEFT_OK);
	CHECK_EQ(s.chosen, 2);
	CHECK(weft_mpmc_try_pop(q[2], &v));
	CHECK(weft_mpmc_try_pop(q[2], &v));
	CHECK_EQ(U(v), 22);
	for (int i = 0; i < NQ; i++)
		CHECK_EQ(__atomic_load_n(&q[i]->push_sleepers, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS, 0);
	destroy_queues(q);
}

/* A token cancelled while the select (or a _ctx call) sleeps ends it with
 * WEFT_ECANCELED; a close ends it with WEFT_ECLOSED; a deadline with
 * WEFT_ETIMEDOUT.  Nothing is taken in any of them. */
static void test_select_cancel_close_deadline_while_asleep(void)
{
	weft_mpmc_t *q[NQ];
	make_queues(q, 2);
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	struct sel s;
	pop_cases(s.c, q);
	s.n = NQ;
	s.deadline = NULL;
	s.cancel = &tok;
	pthread_t t;
	start_select(&t, &s);
	for (int i = 0; i < NQ; i++)
		wait_sleepers(&q[i]->pop_sleepers, 1);
	(void)check_wait_until_sleeping(getpid(), s.tid);
	weft_cancel(&tok);
	pthread_join(t, NULL);
	CHECK_STATUS(s.rc, WEFT_ECANCELED);
	CHECK_EQ(s.chosen, 99);
	for (int i = 0; i < NQ; i++) {
		CHECK_EQ(U(s.c[i].item), 0xdead);
		CHECK_EQ(__atomic_load_n(&q[i]->pop_sleepers, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS, 0);
	}
	weft_cancel_destroy(&tok);

	struct timespec d = weft_deadline_after_ns(20 * 1000 * 1000);
	s.cancel = NULL;
	s.deadline = &d;
	start_select(&t, &s);
	pthread_join(t, NULL);
	CHECK_STATUS(s.rc, WEFT_ETIMEDOUT);
	CHECK(weft_deadline_passed(&d));

	s.deadline = NULL;
	start_select(&t, &s);
	for (int i = 0; i < NQ; i++)
		wait_sleepers(&q[i]->pop_sleepers, 1);
	weft_mpmc_close(q[2]);
	pthread_join(t, NULL);
	CHECK_STATUS(s.rc, WEFT_ECLOSED);
	CHECK_EQ(s.chosen, 2);
	destroy_queues(q);
}

struct ctxw {
	weft_mpmc_t *q;
	weft_cancel_t *tok;
	int push;
	int rc;
	void *out;
	pid_t tid;
};

static void *ctx_thread(void *arg)
{
	struct ctxw *w = arg;
	__atomic_store_n(&w->tid, check_gettid(), __ATOMIC_RELEASE);
	w->rc = w->push ? weft_mpmc_push_ctx(w->q, V(77), NULL, w->tok) : weft_mpmc_pop_ctx(w->q, &w->out, NULL, w->tok);
	return NULL;
}

static void test_ctx_cancel_while_asleep(void)
{
	for (int push = 0; push < 2; push++) {
		weft_mpmc_t *q = weft_mpmc_create(2, 0);
		if (push)
			while (weft_mpmc_try_push(q, V(1)))
				;
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		struct ctxw w = {q, &tok, push, -1, V(9), 0};
		pthread_t t;
		pthread_create(&t, NULL, ctx_thread, &w);
		wait_sleepers(push ? &q->push_sleepers : &q->pop_sleepers, 1);
		while (__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE) == 0)
			sched_yield();
		(void)check_wait_until_sleeping(getpid(), w.tid);
		weft_cancel(&tok);
		pthread_join(t, NULL);
		CHECK_STATUS(w.rc, WEFT_ECANCELED);
		CHECK_EQ(U(w.out), 9);
		CHECK_EQ(weft_mpmc_size_approx(q), push ? 2 : 0);
		weft_cancel_destroy(&tok);
		weft_mpmc_destroy(q);
	}
}

/* ---- mixed push and pop cases ------------------------------------------------------ */

/* A relay selects over {pop from A, push its next number to B}: the pushes to
 * B must arrive as 0, 1, 2, ... with no gap and no repeat (a push performed
 * but not reported would repeat a number), and every value pushed to A must
 * be popped once. */
#define RELAY_N 20000

static void *relay_producer(void *arg)
{
	weft_mpmc_t *a = arg;
	for (uintptr_t i = 1; i <= RELAY_N; i++)
		CHECK_STATUS(weft_mpmc_push(a, V(i)), WEFT_OK);
	return NULL;
}

struct relay_consumer {
	weft_mpmc_t *b;
	int in_order;
};

static void *relay_consumer(void *arg)
{
	struct relay_consumer *r = arg;
	for (uintptr_t i = 0; i < RELAY_N; i++) {
		void *v = NULL;
		if (weft_mpmc_pop(r->b, &v) != WEFT_OK || U(v) != i)
			r->in_order = 0;
	}
	return NULL;
}

static void test_select_mixed_push_and_pop(void)
{
	weft_mpmc_t *a = weft_mpmc_create(2, 0), *b = weft_mpmc_create(2, 0);
	struct relay_consumer rc = {b, 1};
	pthread_t tp, tc;
	pthread_create(&tp, NULL, relay_producer, a);
	pthread_create(&tc, NULL, relay_consumer, &rc);
	unsigned char *seen = calloc(RELAY_N + 1, 1);
	uintptr_t next_out = 0, popped = 0;
	int dup = 0;
	while (popped < RELAY_N || next_out < RELAY_N) {
		weft_mpmc_case_t c[2];
		unsigned n = 0;
		if (popped < RELAY_N)
			c[n++] = (weft_mpmc_case_t){a, WEFT_MPMC_OP_POP, NULL};
		if (next_out < RELAY_N)
			c[n++] = (weft_mpmc_case_t){b, WEFT_MPMC_OP_PUSH, V(next_out)};
		unsigned chosen = 9;
		int r = weft_mpmc_select(c, n, NULL, NULL, &chosen);
		CHECK_STATUS(r, WEFT_OK);
		if (r != WEFT_OK)
			break;
		if (c[chosen].op == WEFT_MPMC_OP_PUSH) {
			next_out++;
		} else {
			uintptr_t v = U(c[chosen].item);
			if (v == 0 || v > RELAY_N || seen[v]++)
				dup++;
			popped++;
		}
	}
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	CHECK_EQ(dup, 0);
	CHECK(rc.in_order);
	CHECK_EQ(weft_mpmc_size_approx(a), 0);
	CHECK_EQ(weft_mpmc_size_approx(b), 0);
	free(seen);
	weft_mpmc_destroy(a);
	weft_mpmc_destroy(b);
}

/* ---- conservation: many producers, 4 queues, selecting consumers --------------------- */

#define CONS_PRODUCERS 8 /* two per queue */
#define CONS_PER_PRODUCER 20000
#define CONS_CONSUMERS 2

struct cons {
	weft_mpmc_t *q[NQ];
	unsigned char *seen; /* one byte per value, counted with atomics */
	uint32_t closed_left;
	int bad;
};

struct cons_producer {
	struct cons *c;
	int id;
};

static uintptr_t cons_value(int producer, int i)
{
	return (uintptr_t)producer * CONS_PER_PRODUCER + (uintptr_t)i + 1;
}

static void *cons_producer(void *arg)
{
	struct cons_producer *p = arg;
	weft_mpmc_t *q = p->c->q[p->id % NQ];
	for (int i = 0; i < CONS_PER_PRODUCER; i++)
		if (weft_mpmc_push(q, V(cons_value(p->id, i))) != WEFT_OK)
			__atomic_store_n(&p->c->bad, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* Select until every queue reported closed: each ECLOSED case is dropped. */
static void *cons_consumer(void *arg)
{
	struct cons *c = arg;
	weft_mpmc_case_t cases[NQ];
	unsigned n = NQ;
	for (int i = 0; i < NQ; i++)
		cases[i] = (weft_mpmc_case_t){c->q[i], WEFT_MPMC_OP_POP, NULL};
	while (n > 0) {
		unsigned chosen = 99;
		int r = weft_mpmc_select(cases, n, NULL, NULL, &chosen);
		if (r == WEFT_ECLOSED && chosen < n) {
			cases[chosen] = cases[--n];
			continue;
		}
		if (r != WEFT_OK || chosen >= n) {
			__atomic_store_n(&c->bad, 2, __ATOMIC_RELAXED);
			break;
		}
		uintptr_t v = U(cases[chosen].item);
		if (v == 0 || v > (uintptr_t)CONS_PRODUCERS * CONS_PER_PRODUCER)
			__atomic_store_n(&c->bad, 3, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&c->seen[v], 1, __ATOMIC_RELAXED); /* relaxed: read after join */
	}
	return NULL;
}

static void test_select_conservation_many_producers(void)
{
	struct cons c;
	memset(&c, 0, sizeof c);
	make_queues(c.q, 8);
	size_t total = (size_t)CONS_PRODUCERS * CONS_PER_PRODUCER;
	c.seen = calloc(total + 1, 1);
	pthread_t prod[CONS_PRODUCERS], cons[CONS_CONSUMERS];
	struct cons_producer pa[CONS_PRODUCERS];
	for (int i = 0; i < CONS_CONSUMERS; i++)
		pthread_create(&cons[i], NULL, cons_consumer, &c);
	for (int i = 0; i < CONS_PRODUCERS; i++) {
		pa[i] = (struct cons_producer){&c, i};
		pthread_create(&prod[i], NULL, cons_producer, &pa[i]);
	}
	for (int i = 0; i < CONS_PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	for (int i = 0; i < NQ; i++)
		weft_mpmc_close(c.q[i]);
	for (int i = 0; i < CONS_CONSUMERS; i++)
		pthread_join(cons[i], NULL);
	CHECK_EQ(c.bad, 0);
	size_t once = 0, twice = 0;
	for (size_t v = 1; v <= total; v++) {
		once += c.seen[v] == 1;
		twice += c.seen[v] > 1;
	}
	CHECK_EQ(once, total);
	CHECK_EQ(twice, 0);
	free(c.seen);
	destroy_queues(c.q);
}

/* ---- cancellation racing with pushes ------------------------------------------------- */

/* Producers push K values into 4 queues; a consumer selects (or pop_ctx's)
 * with a token that a third thread cancels again and again.  Every value
 * must be returned exactly once: by a select that said WEFT_OK, or left in a
 * queue for the final drain.  A select that claimed a value and then
 * reported WEFT_ECANCELED would lose it. */
#define RACE_PER_PRODUCER 20000
#define RACE_TOKENS (1u << 17) /* one fresh token per cancelled wait; the last is reused */

struct race {
	weft_mpmc_t *q[NQ];
	weft_cancel_t *tokens; /* all zero: valid, uncancelled */
	uint32_t generation;   /* the consumer's token; it moves on after each cancel */
	uint32_t stop;
	unsigned char *seen;
	uint64_t cancels_seen;
	int use_select;
};

static void *race_producer(void *arg)
{
	struct cons_producer *p = arg;
	struct race *r = (struct race *)(void *)p->c;
	for (int i = 0; i < RACE_PER_PRODUCER; i++)
		CHECK_STATUS(weft_mpmc_push(r->q[p->id], V(cons_value(p->id, i))), WEFT_OK);
	return NULL;
}

static void *race_canceller(void *arg)
{
	struct race *r = arg;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		/* relaxed: any token of the array may be cancelled at any time */
		weft_cancel(&r->tokens[__atomic_load_n(&r->generation, __ATOMIC_RELAXED)]);
		for (int i = 0; i < 20; i++)
			sched_yield();
	}
	return NULL;
}

static void race_take(struct race *r, uintptr_t v)
{
	if (v == 0 || v > (uintptr_t)NQ * RACE_PER_PRODUCER)
		r->seen[0] = 1; /* marks a bad value */
	else
		r->seen[v]++;
}

static void race_consume(struct race *r, uint64_t total)
{
	uint64_t got = 0;
	weft_mpmc_case_t c[NQ];
	while (got < total) {
		uint32_t g = __atomic_load_n(&r->generation, __ATOMIC_RELAXED); /* only we write it */
		weft_cancel_t *tok = &r->tokens[g];
		int rc;
		uintptr_t v = 0;
		if (r->use_select) {
			pop_cases(c, r->q);
			unsigned chosen = 99;
			rc = weft_mpmc_select(c, NQ, NULL, tok, &chosen);
			if (rc == WEFT_OK)
				v = U(c[chosen].item);
		} else {
			/* one queue at a time, with a short deadline so that a
			 * drained queue does not hold us (a hang guard only) */
			void *out = V(0);
			struct timespec d = weft_deadline_after_ns(1000 * 1000);
			rc = weft_mpmc_pop_ctx(r->q[(got + g) % NQ], &out, &d, tok);
			v = U(out);
			if (rc == WEFT_ETIMEDOUT)
				continue;
			if (rc != WEFT_OK && U(out) != 0)
				r->seen[0] = 1; /* a failed pop wrote *out */
		}
		if (rc == WEFT_OK) {
			race_take(r, v);
			got++;
			continue;
		}
		CHECK_STATUS(rc, WEFT_ECANCELED);
		if (rc != WEFT_ECANCELED)
			return;
		r->cancels_seen++;
		if (g + 1 < RACE_TOKENS)
			__atomic_store_n(&r->generation, g + 1, __ATOMIC_RELAXED); /* relaxed: see the canceller */
	}
}

static void run_cancel_race(int use_select)
{
	struct race r;
	memset(&r, 0, sizeof r);
	make_queues(r.q, 4);
	r.tokens = calloc(RACE_TOKENS, sizeof *r.tokens);
	r.use_select = use_select;
	uint64_t total = (uint64_t)NQ * RACE_PER_PRODUCER;
	r.seen = calloc(total + 1, 1);
	pthread_t prod[NQ], canceller;
	struct cons_producer pa[NQ];
	for (int i = 0; i < NQ; i++) {
		pa[i] = (struct cons_producer){(struct cons *)(void *)&r, i};
		pthread_create(&prod[i], NULL, race_producer, &pa[i]);
	}
	pthread_create(&canceller, NULL, race_canceller, &r);
	race_consume(&r, total);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(canceller, NULL);
	for (int i = 0; i < NQ; i++)
		pthread_join(prod[i], NULL);
	/* nothing may be left: every value pushed was popped once */
	void *v;
	for (int i = 0; i < NQ; i++)
		while (weft_mpmc_try_pop(r.q[i], &v))
			race_take(&r, U(v));
	CHECK_EQ(r.seen[0], 0);
	uint64_t once = 0, other = 0;
	for (uint64_t i = 1; i <= total; i++) {
		once += r.seen[i] == 1;
		other += r.seen[i] != 1;
	}
	CHECK_EQ(once, total);
	CHECK_EQ(other, 0);
	CHECK_GT(r.cancels_seen, 0); /* the race was run */
	printf("  %s: %llu values, %llu cancelled waits\n", use_select ? "select" : "pop_ctx",
	       (unsigned long long)total, (unsigned long long)r.cancels_seen);
	free(r.seen);
	free(r.tokens);
	destroy_queues(r.q);
}

static void test_select_cancel_racing_with_pushes(void)
{
	run_cancel_race(1);
}

static void test_pop_ctx_cancel_racing_with_pushes(void)
{
	run_cancel_race(0);
}

/* ---- process-shared queues ----------------------------------------------------------- */

/* A child process pushes into two WEFT_PSHARED queues, alternately, then
 * closes them; the parent selects over both until both are reported closed:
 * every value arrives once, and the selects sleep on the shared futex words. */
#define PS_VALUES 20000

static void test_select_pshared_parent_child(void)
{
	size_t qbytes = weft_mpmc_bytes(4);
	unsigned char *mem = check_shared_alloc(2 * qbytes);
	if (mem == NULL) {
		CHECK(mem != NULL);
		return;
	}
	weft_mpmc_t *a = weft_mpmc_init_at(mem, 4, WEFT_PSHARED);
	weft_mpmc_t *b = weft_mpmc_init_at(mem + qbytes, 4, WEFT_PSHARED);
	CHECK(a != NULL && b != NULL);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(60);
		for (uintptr_t i = 1; i <= PS_VALUES; i++)
			if (weft_mpmc_push(i % 2 ? a : b, V(i)) != WEFT_OK)
				_exit(3);
		weft_mpmc_close(a);
		weft_mpmc_close(b);
		_exit(0);
	}
	CHECK_GT(pid, 0);
	weft_mpmc_case_t c[2] = {{a, WEFT_MPMC_OP_POP, NULL}, {b, WEFT_MPMC_OP_POP, NULL}};
	unsigned n = 2;
	uint64_t count = 0, sum = 0;
	while (n > 0) {
		unsigned chosen = 9;
		int rc = weft_mpmc_select(c, n, NULL, NULL, &chosen);
		if (rc == WEFT_ECLOSED && chosen < n) {
			c[chosen] = c[--n];
			continue;
		}
		CHECK_STATUS(rc, WEFT_OK);
		if (rc != WEFT_OK)
			break;
		count++;
		sum += U(c[chosen].item);
	}
	CHECK_EQ(check_wait_child(pid), 0);
	CHECK_EQ(count, PS_VALUES);
	CHECK_EQ(sum, (uint64_t)PS_VALUES * (PS_VALUES + 1) / 2);
	check_shared_free(mem, 2 * qbytes);
}

/* ---- an idle select uses no CPU ------------------------------------------------------ */

static void *idle_select_thread(void *arg)
{
	struct sel *s = arg;
	CHECK_EQ(pthread_getcpuclockid(pthread_self(), &s->cpu), 0);
	return select_thread(arg);
}

/* A select asleep on four empty queues uses (next to) no CPU: its thread's
 * CPU clock (CLOCK_THREAD_CPUTIME_ID of that thread) moves less than 20 ms
 * over 200 ms of wall time.  A polling select would burn what the scheduler
 * gives it: on this 2-CPU machine shared with a load of ~10, that is still
 * about 2/10 of 200 ms, twice the bound. */
static void test_select_idle_uses_no_cpu(void)
{
	weft_mpmc_t *q[NQ];
	make_queues(q, 4);
	struct sel s;
	pop_cases(s.c, q);
	s.n = NQ;
	s.deadline = NULL;
	s.cancel = NULL;
	s.tid = 0;
	s.rc = -1;
	pthread_t t;
	pthread_create(&t, NULL, idle_select_thread, &s);
	for (int i = 0; i < NQ; i++)
		wait_sleepers(&q[i]->pop_sleepers, 1);
	usleep(20 * 1000); /* past its announcement, into the sleep */
	clockid_t clock;
	CHECK_EQ(pthread_getcpuclockid(t, &clock), 0);
	struct timespec c0, c1, w0, w1;
	clock_gettime(clock, &c0);
	clock_gettime(CLOCK_MONOTONIC, &w0);
	usleep(200 * 1000);
	clock_gettime(clock, &c1);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	long long used_ns = (long long)(c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec);
	long long wall_ns = (long long)(w1.tv_sec - w0.tv_sec) * 1000000000LL + (w1.tv_nsec - w0.tv_nsec);
	printf("  idle select: %lld us of CPU in %lld us\n", used_ns / 1000, wall_ns / 1000);
	CHECK_LT(used_ns, 20LL * 1000 * 1000);
	CHECK(weft_mpmc_try_push(q[1], V(5)));
	pthread_join(t, NULL);
	CHECK_STATUS(s.rc, WEFT_OK);
	CHECK_EQ(s.chosen, 1);
	destroy_queues(q);
}

int main(void)
{
	alarm(300); /* a lost wake-up hangs a blocking test: fail loudly instead */
	RUN_TEST(test_select_bad_input);
	RUN_TEST(test_ctx_bad_deadline);
	RUN_TEST(test_select_performs_exactly_one);
	RUN_TEST(test_select_fair_between_ready_queues);
	RUN_TEST(test_select_deadline_and_token_when_nothing_ready);
	RUN_TEST(test_ctx_ready_and_not);
	RUN_TEST(test_token_not_read_when_ready);
	RUN_TEST(test_select_closed_queues);
	RUN_TEST(test_select_woken_by_each_queue);
	RUN_TEST(test_select_cancel_close_deadline_while_asleep);
	RUN_TEST(test_ctx_cancel_while_asleep);
	RUN_TEST(test_select_mixed_push_and_pop);
	RUN_TEST(test_select_conservation_many_producers);
	RUN_TEST(test_select_cancel_racing_with_pushes);
	RUN_TEST(test_pop_ctx_cancel_racing_with_pushes);
	RUN_TEST(test_select_pshared_parent_child);
	RUN_TEST(test_select_idle_uses_no_cpu);
	return check_summary();
}
