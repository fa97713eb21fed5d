/* SPDX-License-Identifier: MIT */
/*
 * bench_scenario_queue.c - scenarios C1, C2 and C4 of SCENARIOS.md: the
 * blocking producer/consumer queue and the semaphore-bounded fan-out.
 *
 *   scenario/c2_queue/<impl>    the queue of bench/c2_queue.h (semaphore for the
 *                               capacity + mutex + condition variable, the design
 *                               of Python's multiprocessing.Queue), capacity 256,
 *                               half the threads producing, half consuming;
 *                               items = items through the queue per second
 *   scenario/c1_2p3c/<impl>     C1 as in the articles, without the sleeps:
 *                               capacity 10, 2 producers, 3 consumers (5 threads)
 *   scenario/c1_2p2c/<impl>     C1's second setting: 2 producers, 2 consumers
 *   scenario/c1_2p3c_spin<N>/weft_cond_sem
 *                               C1 2p3c with weft_cond_set_spin(N) and
 *                               weft_sem_set_spin(N): the oversubscribed side of
 *                               the spin sweep (docs/cond.md, docs/sem.md)
 *   scenario/c4_fanout/<impl>   C4: n tasks (one per thread, n = 20 or 25), a
 *                               semaphore of K = 10 permits bounds how many run
 *                               at once; a task holds a permit for 1 ms (the
 *                               articles' 100 ms scaled down 100x).  The
 *                               articles: n tasks take ceil(n/K) x task time
 *                               (20 tasks on 10 workers: 2 waves).  Counters:
 *                               elapsed_over_ideal (round time / (ceil(n/K) x
 *                               1 ms), the mean over rounds), max_inside (the
 *                               most tasks seen holding a permit at once: must be
 *                               <= K, or the run fails)
 *
 * impls: weft_cond_sem (weft_sem_t + weft_mutex_t + weft_cond_t) and pthread
 * (sem_t + pthread_mutex_t + pthread_cond_t) for the queues; weft_sem and
 * sem_t for the fan-out.  The teardowns check conservation (every item pushed
 * is popped once: the counts and sums match) and the fan-out's bound.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/barrier.h>
#include <weft/cond.h>
#include <weft/sem.h>

#include "c2_queue.h"
#include "shim.h"

#define SQ_ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- C1 / C2: the blocking queue -------------------------------------------- */

struct sq_params {
	size_t capacity;
	int producers; /* 0: half the threads */
	int spin;      /* >= 0: weft_cond_set_spin() and weft_sem_set_spin() for the run */
};

struct sq_shared {
	c2_queue_t wq;
	c2p_queue_t pq;
	int producers_left;                   /* atomic */
	uint64_t pushed, pushed_sum;          /* atomic */
	uint64_t popped, popped_sum;          /* atomic */
	unsigned prev_cond_spin, prev_sem_spin;
};

static int sq_nprod(const wb_thread *t)
{
	const struct sq_params *p = (const struct sq_params *)t->arg;
	int n = p->producers ? p->producers : t->nthreads / 2;
	return n < 1 ? 1 : n;
}

static void *sq_setup(wb_thread *t)
{
	const struct sq_params *p = (const struct sq_params *)t->arg;
	struct sq_shared *s = (struct sq_shared *)calloc(1, sizeof *s);
	if (s == NULL || c2_queue_init(&s->wq, p->capacity) != WEFT_OK || c2p_queue_init(&s->pq, p->capacity) != WEFT_OK)
		wb_fail(t, "queue init failed");
	if (t->nthreads <= sq_nprod(t))
		wb_fail(t, "needs at least one consumer");
	s->producers_left = sq_nprod(t);
	if (p->spin >= 0) {
		s->prev_cond_spin = weft_cond_set_spin((unsigned)p->spin);
		s->prev_sem_spin = weft_sem_set_spin((unsigned)p->spin);
	}
	return s;
}

static void sq_teardown(wb_thread *t)
{
	const struct sq_params *p = (const struct sq_params *)t->arg;
	struct sq_shared *s = (struct sq_shared *)t->shared;
	/* read after the runner's barrier */
	if (s->pushed != s->popped || s->pushed_sum != s->popped_sum)
		wb_fail(t, "queue lost or duplicated items: pushed %llu (sum %llu), popped %llu (sum %llu)",
			(unsigned long long)s->pushed, (unsigned long long)s->pushed_sum,
			(unsigned long long)s->popped, (unsigned long long)s->popped_sum);
	if (p->spin >= 0) {
		weft_cond_set_spin(s->prev_cond_spin);
		weft_sem_set_spin(s->prev_sem_spin);
	}
	c2_queue_destroy(&s->wq);
	c2p_queue_destroy(&s->pq);
	free(s);
}

typedef int (*sq_push_fn)(void *q, void *item);
typedef int (*sq_pop_fn)(void *q, void **item);
typedef void (*sq_close_fn)(void *q);

static int wq_push(void *q, void *item) { return c2_push((c2_queue_t *)q, item); }
static int wq_pop(void *q, void **item) { return c2_pop((c2_queue_t *)q, item); }
static void wq_close(void *q) { c2_close((c2_queue_t *)q); }
static int pq_push(void *q, void *item) { return c2p_push((c2p_queue_t *)q, item); }
static int pq_pop(void *q, void **item) { return c2p_pop((c2p_queue_t *)q, item); }
static void pq_close(void *q) { c2p_close((c2p_queue_t *)q); }

/*
 * Producers (threads 0 .. nprod-1; thread 0 drives the timed loop) push
 * 1, 2, 3, ...; the last producer to stop closes the queue; consumers pop
 * until it is closed and empty.  items = pops.
 */
static SQ_ALWAYS_INLINE void sq_body(wb_thread *t, sq_push_fn push, sq_pop_fn pop, sq_close_fn close, void *q)
{
	struct sq_shared *s = (struct sq_shared *)t->shared;
	if (t->tid < sq_nprod(t)) {
		uint64_t i, sum = 0;
		for (i = 0; wb_running(t, i); i++) {
			if (push(q, (void *)(uintptr_t)(i + 1)) != WEFT_OK)
				wb_fail(t, "push failed");
			sum += i + 1;
		}
		__atomic_fetch_add(&s->pushed, i, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->pushed_sum, sum, __ATOMIC_RELAXED);
		if (__atomic_sub_fetch(&s->producers_left, 1, __ATOMIC_ACQ_REL) == 0)
			close(q);
		wb_done(t, 0);
		return;
	}
	uint64_t n = 0, sum = 0;
	void *item;
	while (pop(q, &item) == WEFT_OK) {
		sum += (uintptr_t)item;
		n++;
	}
	__atomic_fetch_add(&s->popped, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->popped_sum, sum, __ATOMIC_RELAXED);
	wb_done(t, n);
}

static void sq_weft(wb_thread *t)
{
	struct sq_shared *s = (struct sq_shared *)t->shared;
	sq_body(t, wq_push, wq_pop, wq_close, &s->wq);
}
static void sq_pthread(wb_thread *t)
{
	struct sq_shared *s = (struct sq_shared *)t->shared;
	sq_body(t, pq_push, pq_pop, pq_close, &s->pq);
}

/* ---- C4: fan-out bounded by a semaphore ------------------------------------------ */

#define C4_K 10
#define C4_TASK_NS 1000000L
#define C4_MAX_THREADS 64

struct c4_shared {
	weft_sem_t ws;
	sem_t ps;
	weft_barrier_t start, end;
	uint64_t t_start[C4_MAX_THREADS], t_finish[C4_MAX_THREADS]; /* plain, ordered by the barriers */
	int last;                                                    /* plain: set by thread 0 before `end` */
	unsigned inside, max_inside;                                 /* atomic */
	double ratio_sum;                                            /* the `end` winner only */
	uint64_t rounds;
};

static void *c4_setup(wb_thread *t)
{
	if (t->nthreads > C4_MAX_THREADS)
		wb_fail(t, "at most %d threads", C4_MAX_THREADS);
	struct c4_shared *s = (struct c4_shared *)calloc(1, sizeof *s);
	if (s == NULL)
		wb_fail(t, "out of memory");
	(void)!weft_sem_init(&s->ws, C4_K, 0);
	sem_init(&s->ps, 0, C4_K);
	(void)!weft_barrier_init(&s->start, (unsigned)t->nthreads);
	(void)!weft_barrier_init(&s->end, (unsigned)t->nthreads);
	return s;
}

static void c4_teardown(wb_thread *t)
{
	struct c4_shared *s = (struct c4_shared *)t->shared;
	if (s->max_inside > C4_K)
		wb_fail(t, "%u tasks held a permit at once, K = %d", s->max_inside, C4_K);
	if (s->rounds)
		wb_counter(t, "elapsed_over_ideal", s->ratio_sum / (double)s->rounds, WB_SUM);
	wb_counter(t, "max_inside", s->max_inside, WB_SUM);
	wb_counter(t, "waves", (double)((t->nthreads + C4_K - 1) / C4_K), WB_SUM);
	sem_destroy(&s->ps);
	weft_sem_destroy(&s->ws);
	free(s);
}

typedef void (*c4_fn)(void *sem);
static void c4_weft_acquire(void *sem) { weft_sem_wait((weft_sem_t *)sem); }
static void c4_weft_release(void *sem) { (void)!weft_sem_post((weft_sem_t *)sem); }
static void c4_semt_acquire(void *sem) { while (sem_wait((sem_t *)sem) != 0 && errno == EINTR) ; }
static void c4_semt_release(void *sem) { (void)sem_post((sem_t *)sem); }

static SQ_ALWAYS_INLINE void c4_body(wb_thread *t, c4_fn acquire, c4_fn release, void *sem)
{
	struct c4_shared *s = (struct c4_shared *)t->shared;
	const struct timespec task = {0, C4_TASK_NS};
	const int n = t->nthreads;
	uint64_t round;
	for (round = 0;; round++) {
		(void)weft_barrier_wait(&s->start);
		s->t_start[t->tid] = wb_now();
		acquire(sem);
		unsigned in = __atomic_add_fetch(&s->inside, 1u, __ATOMIC_RELAXED);
		unsigned m = __atomic_load_n(&s->max_inside, __ATOMIC_RELAXED);
		while (in > m && !__atomic_compare_exchange_n(&s->max_inside, &m, in, 1, __ATOMIC_RELAXED,
							       __ATOMIC_RELAXED))
			;
		nanosleep(&task, NULL); /* the task, holding a permit */
		__atomic_sub_fetch(&s->inside, 1u, __ATOMIC_RELAXED);
		release(sem);
		s->t_finish[t->tid] = wb_now();
		if (t->tid == 0)
			s->last = !wb_running(t, round + 1);
		if (weft_barrier_wait(&s->end)) {
			uint64_t t0 = s->t_start[0], t1 = s->t_finish[0];
			for (int i = 1; i < n; i++) {
				if (s->t_start[i] < t0)
					t0 = s->t_start[i];
				if (s->t_finish[i] > t1)
					t1 = s->t_finish[i];
			}
			double ideal = (double)((n + C4_K - 1) / C4_K) * (double)C4_TASK_NS;
			s->ratio_sum += wb_ticks_to_ns(t1 - t0) / ideal;
			s->rounds++;
		}
		if (s->last)
			break;
	}
	wb_done(t, round + 1); /* tasks run by this thread */
}

static void c4_weft(wb_thread *t)
{
	struct c4_shared *s = (struct c4_shared *)t->shared;
	c4_body(t, c4_weft_acquire, c4_weft_release, &s->ws);
}
static void c4_semt(wb_thread *t)
{
	struct c4_shared *s = (struct c4_shared *)t->shared;
	c4_body(t, c4_semt_acquire, c4_semt_release, &s->ps);
}

/* ---- registration ------------------------------------------------------------------- */

static void sq_register(const char *name, wb_body_fn body, uint64_t threads, size_t capacity, int producers,
			int spin)
{
	struct sq_params *p = (struct sq_params *)calloc(1, sizeof *p);
	p->capacity = capacity;
	p->producers = producers;
	p->spin = spin;
	wb_def def;
	memset(&def, 0, sizeof def);
	def.name = name;
	def.body = body;
	def.threads = threads;
	def.flags = WB_CPU;
	def.arg = p;
	def.setup = sq_setup;
	def.teardown = sq_teardown;
	wb_register_def(&def);
}

__attribute__((constructor)) static void register_scenario_queue(void)
{
	sq_register("scenario/c2_queue/weft_cond_sem", sq_weft, WB_T2 | WB_T4 | WB_T8, 256, 0, -1);
	sq_register("scenario/c2_queue/pthread", sq_pthread, WB_T2 | WB_T4 | WB_T8, 256, 0, -1);
	sq_register("scenario/c1_2p3c/weft_cond_sem", sq_weft, WB_T(5), 10, 2, -1);
	sq_register("scenario/c1_2p3c/pthread", sq_pthread, WB_T(5), 10, 2, -1);
	sq_register("scenario/c1_2p2c/weft_cond_sem", sq_weft, WB_T4, 10, 2, -1);
	sq_register("scenario/c1_2p2c/pthread", sq_pthread, WB_T4, 10, 2, -1);
	static const int sweep[] = {0, 50, 100, 200, 400, 1000, 2000};
	for (size_t k = 0; k < sizeof sweep / sizeof sweep[0]; k++) {
		char name[96];
		snprintf(name, sizeof name, "scenario/c1_2p3c_spin%d/weft_cond_sem", sweep[k]);
		sq_register(name, sq_weft, WB_T(5), 10, 2, sweep[k]);
	}

	static const struct {
		const char *name;
		wb_body_fn body;
	} c4[] = {{"scenario/c4_fanout/weft_sem", c4_weft}, {"scenario/c4_fanout/sem_t", c4_semt}};
	for (size_t i = 0; i < sizeof c4 / sizeof c4[0]; i++) {
		wb_def def;
		memset(&def, 0, sizeof def);
		def.name = c4[i].name;
		def.body = c4[i].body;
		def.threads = WB_T(20) | WB_T(25);
		def.flags = WB_CPU;
		def.setup = c4_setup;
		def.teardown = c4_teardown;
		wb_register_def(&def);
	}
}
