/* SPDX-License-Identifier: MIT */
/*
 * test_spinlock.c - weft_spin_t, weft_ticket_t and weft_mcs_t.
 *
 * One harness (struct anylock) runs the three locks through the same
 * semantics; FIFO order is tested separately for the ticket and MCS locks,
 * with queues built deterministically (each waiter is seen queued in the lock
 * word before the next one starts).  No timing assertion.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "weft/weft.h"

#define HANG_GUARD_S 300 /* the whole program normally takes well under 10 s */

enum kind { SPIN, TICKET, MCS, N_KINDS };
static const char *const kind_name[N_KINDS] = {"weft_spin_t", "weft_ticket_t", "weft_mcs_t"};

struct anylock {
	enum kind kind;
	weft_spin_t spin;
	weft_ticket_t ticket;
	weft_mcs_t mcs;
};

static void any_lock(struct anylock *l, weft_mcs_node_t *node)
{
	switch (l->kind) {
	case SPIN:
		weft_spin_lock(&l->spin);
		break;
	case TICKET:
		weft_ticket_lock(&l->ticket);
		break;
	default:
		weft_mcs_lock(&l->mcs, node);
		break;
	}
}

static bool any_trylock(struct anylock *l, weft_mcs_node_t *node)
{
	switch (l->kind) {
	case SPIN:
		return weft_spin_trylock(&l->spin);
	case TICKET:
		return weft_ticket_trylock(&l->ticket);
	default:
		return weft_mcs_trylock(&l->mcs, node);
	}
}

static void any_unlock(struct anylock *l, weft_mcs_node_t *node)
{
	switch (l->kind) {
	case SPIN:
		weft_spin_unlock(&l->spin);
		break;
	case TICKET:
		weft_ticket_unlock(&l->ticket);
		break;
	default:
		weft_mcs_unlock(&l->mcs, node);
		break;
	}
}

/* The basic cycle on one thread: free -> held -> free, with nodes reused. */
static void check_cycle(struct anylock *l)
{
	weft_mcs_node_t a, b;
	CHECK(any_trylock(l, &a));
	CHECK(!any_trylock(l, &b)); /* held, even by ourselves */
	any_unlock(l, &a);
	CHECK(any_trylock(l, &b));
	any_unlock(l, &b);
	any_lock(l, &a);
	CHECK(!any_trylock(l, &b));
	any_unlock(l, &a);
	any_lock(l, &b); /* a different node each time is fine */
	any_unlock(l, &b);
	for (int i = 0; i < 1000; i++) {
		weft_mcs_node_t *n = (i & 1) ? &a : &b;
		if (i % 3 == 0) {
			CHECK(any_trylock(l, n));
		} else {
			any_lock(l, n);
		}
		any_unlock(l, n);
	}
	CHECK(any_trylock(l, &a)); /* left free */
	any_unlock(l, &a);
}

static struct anylock zero_static[N_KINDS]; /* static storage: all-zero */

/* All-zero, WEFT_*_INIT and *_init() are all unlocked. */
static void test_unlocked_states(void)
{
	for (int k = 0; k < N_KINDS; k++) {
		/* static zero */
		zero_static[k].kind = (enum kind)k;
		check_cycle(&zero_static[k]);

		/* memset zero (calloc'd memory is the same) */
		struct anylock *heap = calloc(1, sizeof(*heap));
		CHECK(heap != NULL);
		if (heap) {
			heap->kind = (enum kind)k;
			check_cycle(heap);
			free(heap);
		}

		/* the static initializers */
		struct anylock init = {(enum kind)k, WEFT_SPIN_INIT, WEFT_TICKET_INIT, WEFT_MCS_INIT};
		check_cycle(&init);

		/* init() on garbage */
		struct anylock dirty;
		memset(&dirty, 0xA5, sizeof(dirty));
		dirty.kind = (enum kind)k;
		weft_spin_init(&dirty.spin);
		weft_ticket_init(&dirty.ticket);
		weft_mcs_init(&dirty.mcs);
		check_cycle(&dirty);
		weft_spin_destroy(&dirty.spin);
		weft_ticket_destroy(&dirty.ticket);
		weft_mcs_destroy(&dirty.mcs);
	}
	/* the all-zero bit pattern is what the initializers produce */
	weft_spin_t s = WEFT_SPIN_INIT;
	weft_ticket_t t = WEFT_TICKET_INIT;
	weft_mcs_t m = WEFT_MCS_INIT;
	CHECK_EQ(s.locked, 0);
	CHECK_EQ(t.next, 0);
	CHECK_EQ(t.serving, 0);
	CHECK(m.tail == NULL);
}

/* ---- trylock and lock against another thread ----------------------------- */

struct other {
	struct anylock *lock;
	int op;          /* 0: trylock and keep the result (unlock if taken); 1: lock then unlock */
	int result;      /* trylock's answer */
	int acquired;    /* atomic: the lock call returned */
	int saw_holder;  /* atomic: main's "held" mark was still set when we got in */
	int *held;       /* main sets it while it holds the lock */
};

static void *other_main(void *arg)
{
	struct other *o = arg;
	weft_mcs_node_t node;
	if (o->op == 0) {
		o->result = any_trylock(o->lock, &node);
		if (o->result)
			any_unlock(o->lock, &node);
	} else {
		any_lock(o->lock, &node);
		/* main clears *held (plainly, inside its critical section) before unlocking */
		if (*o->held)
			__atomic_store_n(&o->saw_holder, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&o->acquired, 1, __ATOMIC_RELEASE);
		any_unlock(o->lock, &node);
	}
	return NULL;
}

static int run_other(struct anylock *l, int op, int *held, pthread_t *t, struct other *o)
{
	memset(o, 0, sizeof(*o));
	o->lock = l;
	o->op = op;
	o->held = held;
	return pthread_create(t, NULL, other_main, o);
}

static void test_trylock_other_thread(void)
{
	for (int k = 0; k < N_KINDS; k++) {
		struct anylock l = {(enum kind)k, WEFT_SPIN_INIT, WEFT_TICKET_INIT, WEFT_MCS_INIT};
		weft_mcs_node_t node;
		int held = 0;
		pthread_t t;
		struct other o;

		/* held by main: the other thread's trylock fails */
		any_lock(&l, &node);
		CHECK_EQ(run_other(&l, 0, &held, &t, &o), 0);
		pthread_join(t, NULL);
		CHECK_EQ(o.result, 0);
		any_unlock(&l, &node);

		/* free again: it succeeds */
		CHECK_EQ(run_other(&l, 0, &held, &t, &o), 0);
		pthread_join(t, NULL);
		CHECK_EQ(o.result, 1);

		/* and main can take it after the other thread let go */
		CHECK(any_trylock(&l, &node));
		any_unlock(&l, &node);
	}
}

/* lock() from another thread waits for main's unlock: it never gets in while
 * main's "held" mark is set (checked inside its critical section). */
static void test_lock_waits_for_unlock(void)
{
	for (int k = 0; k < N_KINDS; k++) {
		for (int round = 0; round < 20; round++) {
			struct anylock l = {(enum kind)k, WEFT_SPIN_INIT, WEFT_TICKET_INIT, WEFT_MCS_INIT};
			weft_mcs_node_t node;
			int held = 0;
			pthread_t t;
			struct other o;
			any_lock(&l, &node);
			held = 1;
			CHECK_EQ(run_other(&l, 1, &held, &t, &o), 0);
			for (int i = 0; i < 20; i++)
				sched_yield(); /* give the other thread time to spin on the held lock */
			CHECK_EQ(__atomic_load_n(&o.acquired, __ATOMIC_ACQUIRE), 0);
			held = 0;
			any_unlock(&l, &node);
			pthread_join(t, NULL);
			CHECK_EQ(o.acquired, 1);
			CHECK_EQ(o.saw_holder, 0);
		}
	}
}

/* ---- FIFO order: ticket and MCS ------------------------------------------ */

#define N_QUEUED 5

struct fifo {
	struct anylock lock;
	weft_mcs_node_t nodes[N_QUEUED + 1]; /* [0] is main's */
	int order[N_QUEUED];                 /* who got the lock, in order; guarded by the lock */
	int n;                               /* guarded by the lock */
};

struct fifo_arg {
	struct fifo *f;
	int id;
};

static void *fifo_waiter(void *arg)
{
	struct fifo_arg *a = arg;
	struct fifo *f = a->f;
	any_lock(&f->lock, &f->nodes[a->id]);
	f->order[f->n++] = a->id;
	any_unlock(&f->lock, &f->nodes[a->id]);
	return NULL;
}

/* Whether waiter @id has joined the queue, as the lock word shows it. */
static bool fifo_queued(struct fifo *f, int id, uint32_t first_ticket)
{
	if (f->lock.kind == TICKET)
		return __atomic_load_n(&f->lock.ticket.next, __ATOMIC_ACQUIRE) == first_ticket + 1u + (uint32_t)id;
	return __atomic_load_n(&f->lock.mcs.tail, __ATOMIC_ACQUIRE) == &f->nodes[id];
}

/* Main holds the lock; waiters 1..N queue one after another (each is seen in
 * the lock word before the next starts); main unlocks; they must get the
 * lock in exactly that order.  @start sets the ticket counters (wrap-around). */
static void check_fifo(enum kind kind, uint32_t start)
{
	struct fifo *f = calloc(1, sizeof(*f));
	CHECK(f != NULL);
	if (!f)
		return;
	f->lock.kind = kind;
	f->lock.ticket.next = f->lock.ticket.serving = start;
	struct fifo_arg args[N_QUEUED + 1];
	pthread_t threads[N_QUEUED + 1];
	any_lock(&f->lock, &f->nodes[0]);
	for (int id = 1; id <= N_QUEUED; id++) {
		args[id] = (struct fifo_arg){f, id};
		if (pthread_create(&threads[id], NULL, fifo_waiter, &args[id]) != 0)
			exit(3);
		while (!fifo_queued(f, id, start))
			sched_yield();
	}
	/* nobody got in while main held it */
	CHECK_EQ(f->n, 0);
	any_unlock(&f->lock, &f->nodes[0]);
	for (int id = 1; id <= N_QUEUED; id++)
		pthread_join(threads[id], NULL);
	CHECK_EQ(f->n, N_QUEUED);
	for (int i = 0; i < N_QUEUED; i++) {
		if (f->order[i] != i + 1) {
			fprintf(stderr, "  %s (start %u): position %d went to waiter %d, expected %d\n",
				kind_name[kind], start, i, f->order[i], i + 1);
			check__fail();
		}
	}
	/* free at the end */
	CHECK(any_trylock(&f->lock, &f->nodes[0]));
	any_unlock(&f->lock, &f->nodes[0]);
	if (kind == TICKET) {
		CHECK_EQ(f->lock.ticket.next, f->lock.ticket.serving);
		CHECK_EQ(f->lock.ticket.next, (uint32_t)(start + N_QUEUED + 2u));
	} else {
		CHECK(f->lock.mcs.tail == NULL);
	}
	free(f);
}

static void test_ticket_fifo(void)
{
	for (int round = 0; round < 5; round++)
		check_fifo(TICKET, 0);
}

/* The ticket counters wrap at 2^32: the queue crosses the wrap in order. */
static void test_ticket_fifo_wraparound(void)
{
	check_fifo(TICKET, UINT32_MAX - 2u);
	check_fifo(TICKET, UINT32_MAX);
	/* single-threaded through the wrap, trylock included */
	weft_ticket_t t = {UINT32_MAX - 1u, UINT32_MAX - 1u};
	for (int i = 0; i < 4; i++) {
		CHECK(weft_ticket_trylock(&t));
		CHECK(!weft_ticket_trylock(&t));
		weft_ticket_unlock(&t);
		weft_ticket_lock(&t);
		weft_ticket_unlock(&t);
	}
	CHECK_EQ(t.next, t.serving);
	CHECK_EQ(t.next, (uint32_t)(UINT32_MAX - 1u + 8u));
}

/* A trylock never jumps the ticket queue. */
static void test_ticket_trylock_while_queued(void)
{
	weft_ticket_t t = WEFT_TICKET_INIT;
	weft_ticket_lock(&t);
	CHECK(!weft_ticket_trylock(&t));
	CHECK_EQ(t.next, 1); /* a failed trylock takes no ticket */
	weft_ticket_unlock(&t);
	CHECK(weft_ticket_trylock(&t));
	weft_ticket_unlock(&t);
}

static void test_mcs_fifo_handoff(void)
{
	for (int round = 0; round < 5; round++)
		check_fifo(MCS, 0);
}

/* MCS single-threaded: the queue tail is the holder's node, then empty. */
static void test_mcs_nodes(void)
{
	weft_mcs_t m = WEFT_MCS_INIT;
	weft_mcs_node_t nodes[4];
	for (int i = 0; i < 4; i++) {
		weft_mcs_lock(&m, &nodes[i]);
		CHECK(m.tail == &nodes[i]);
		CHECK(!weft_mcs_trylock(&m, &nodes[(i + 1) % 4]));
		CHECK(m.tail == &nodes[i]); /* the failed trylock did not enqueue */
		weft_mcs_unlock(&m, &nodes[i]);
		CHECK(m.tail == NULL);
		CHECK(weft_mcs_trylock(&m, &nodes[i]));
		CHECK(m.tail == &nodes[i]);
		weft_mcs_unlock(&m, &nodes[i]);
		CHECK(m.tail == NULL);
	}
}

/* ---- mutual exclusion ----------------------------------------------------- */

#define EXCL_THREADS 4
#define EXCL_ITERS 20000

struct excl {
	struct anylock lock;
	long counter; /* plain: guarded by the lock */
	int owner;    /* plain: guarded by the lock */
	int broken;   /* atomic */
};

struct excl_arg {
	struct excl *e;
	int id;
	long tries_failed;
};

static void *excl_worker(void *arg)
{
	struct excl_arg *a = arg;
	struct excl *e = a->e;
	weft_mcs_node_t node;
	uint64_t rnd = (uint64_t)a->id * 0x9E3779B97F4A7C15ull + 1;
	for (long i = 0; i < EXCL_ITERS;) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		if (rnd % 4 == 0) {
			if (!any_trylock(&e->lock, &node)) {
				a->tries_failed++;
				continue;
			}
		} else {
			any_lock(&e->lock, &node);
		}
		if (e->owner != 0)
			__atomic_store_n(&e->broken, 1, __ATOMIC_RELAXED);
		e->owner = a->id;
		e->counter++;
		for (volatile int w = 0; w < (int)(rnd % 16); w++)
			;
		if (e->owner != a->id)
			__atomic_store_n(&e->broken, 1, __ATOMIC_RELAXED);
		e->owner = 0;
		any_unlock(&e->lock, &node);
		i++;
	}
	return NULL;
}

static void test_mutual_exclusion(void)
{
	for (int k = 0; k < N_KINDS; k++) {
		struct excl *e = calloc(1, sizeof(*e));
		CHECK(e != NULL);
		if (!e)
			return;
		e->lock.kind = (enum kind)k;
		pthread_t threads[EXCL_THREADS];
		struct excl_arg args[EXCL_THREADS];
		for (int i = 0; i < EXCL_THREADS; i++) {
			args[i] = (struct excl_arg){e, i + 1, 0};
			if (pthread_create(&threads[i], NULL, excl_worker, &args[i]) != 0)
				exit(3);
		}
		for (int i = 0; i < EXCL_THREADS; i++)
			pthread_join(threads[i], NULL);
		if (e->counter != (long)EXCL_THREADS * EXCL_ITERS || e->broken)
			fprintf(stderr, "  %s: mutual exclusion broken\n", kind_name[k]);
		CHECK_EQ(e->counter, (long)EXCL_THREADS * EXCL_ITERS);
		CHECK_EQ(e->broken, 0);
		CHECK_EQ(e->owner, 0);
		weft_mcs_node_t node;
		CHECK(any_trylock(&e->lock, &node)); /* left free */
		any_unlock(&e->lock, &node);
		free(e);
	}
}

int main(void)
{
	alarm(HANG_GUARD_S); /* a lost wake-up or deadlock kills the program: a failure, not a stall */
	RUN_TEST(test_unlocked_states);
	RUN_TEST(test_trylock_other_thread);
	RUN_TEST(test_lock_waits_for_unlock);
	RUN_TEST(test_ticket_fifo);
	RUN_TEST(test_ticket_fifo_wraparound);
	RUN_TEST(test_ticket_trylock_while_queued);
	RUN_TEST(test_mcs_fifo_handoff);
	RUN_TEST(test_mcs_nodes);
	RUN_TEST(test_mutual_exclusion);
	return check_summary();
}
