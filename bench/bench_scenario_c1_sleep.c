/* SPDX-License-Identifier: MIT */
/*
 * bench_scenario_c1_sleep.c - scenario C1 of SCENARIOS.md exactly as the
 * article runs it, sleeps included.
 *
 * The article (seeds/003, 场景1 "生产者-消费者模式"): Queue(maxsize=10); 2
 * producers put 5 items each and sleep 0.1 s after every put; 3 consumers
 * each take an item, sleep 0.2 s ("process" it) and call task_done(); the
 * main thread joins the producers, then queue.join() returns once every item
 * is done.  Also with 2 consumers.  The scaled-up version without sleeps is
 * scenario/c1_2p3c and scenario/c1_2p2c (bench_scenario_queue.c).
 *
 *     scenario/c1_sleep_2p3c/<impl>    5 threads: 2 producers, 3 consumers
 *     scenario/c1_sleep_2p2c/<impl>    4 threads: 2 producers, 2 consumers
 *
 * impls: weft_cond_sem and pthread, the two twins of bench/c2_queue.h (the
 * queue Python's queues are built like).  One iteration is one run of the
 * article's program, from the moment all threads start to the moment the
 * tenth item is done (queue.join()); round_s is that time, the mean over the
 * run's rounds.  docs/claims.md sets it against the time the article's
 * parameters predict (bench/report/claims.py simulates the schedule).
 *
 * A round lasts about a second, so `make bench` runs one round per
 * repetition.  The smoke run (`--wb_iterations`, part of make check) would
 * spend seconds sleeping: when the program is started with --wb_iterations
 * every sleep is 100x shorter, and time_scale (1 normally, 0.01 then) says
 * so; round_s is always given in the article's units (divided by time_scale).
 *
 * The teardown checks that every item produced was consumed exactly once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/barrier.h>

#include "c2_queue.h"
#include "shim.h"

#define C1S_CAPACITY 10
#define C1S_PRODUCERS 2
#define C1S_ITEMS_EACH 5
#define C1S_PUT_SLEEP_NS 100000000L  /* time.sleep(0.1) after each put */
#define C1S_WORK_SLEEP_NS 200000000L /* time.sleep(0.2) per item consumed */
#define C1S_ITEMS (C1S_PRODUCERS * C1S_ITEMS_EACH)
#define C1S_SENTINEL ((void *)~(uintptr_t)0)
#define C1S_ALWAYS_INLINE inline __attribute__((always_inline))

static double c1s_scale = 1.0; /* 0.01 in the smoke run: see above */

struct c1s_shared {
	c2_queue_t wq;
	c2p_queue_t pq;
	weft_barrier_t start, end;
	uint64_t round_start_ns;    /* plain: thread 0 after `start`, read after `end` */
	uint64_t round_end_ns;      /* plain: the consumer that finishes the tenth item */
	unsigned done;              /* atomic: items done this round */
	uint64_t consumed_sum;      /* atomic: the sum of the item values done */
	double round_s_sum;         /* thread 0 */
	uint64_t rounds;            /* thread 0 */
	int last;                   /* plain: set by thread 0 before `end` */
};

static void c1s_sleep(long ns)
{
	long scaled = (long)((double)ns * c1s_scale);
	struct timespec ts = {scaled / 1000000000L, scaled % 1000000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *c1s_setup(wb_thread *t)
{
	struct c1s_shared *s = (struct c1s_shared *)calloc(1, sizeof *s);
	if (s == NULL || c2_queue_init(&s->wq, C1S_CAPACITY) != WEFT_OK ||
	    c2p_queue_init(&s->pq, C1S_CAPACITY) != WEFT_OK)
		wb_fail(t, "queue init failed");
	(void)!weft_barrier_init(&s->start, (unsigned)t->nthreads);
	(void)!weft_barrier_init(&s->end, (unsigned)t->nthreads);
	return s;
}

static void c1s_teardown(wb_thread *t)
{
	struct c1s_shared *s = (struct c1s_shared *)t->shared;
	if (s->rounds)
		wb_counter(t, "round_s", s->round_s_sum / (double)s->rounds, WB_SUM);
	wb_counter(t, "time_scale", c1s_scale, WB_SUM);
	wb_counter(t, "consumers", t->nthreads - C1S_PRODUCERS, WB_SUM);
	c2_queue_destroy(&s->wq);
	c2p_queue_destroy(&s->pq);
	free(s);
}

typedef int (*c1s_push_fn)(void *q, void *item);
typedef int (*c1s_pop_fn)(void *q, void **item);

static int c1s_wpush(void *q, void *item) { return c2_push((c2_queue_t *)q, item); }
static int c1s_wpop(void *q, void **item) { return c2_pop((c2_queue_t *)q, item); }
static int c1s_ppush(void *q, void *item) { return c2p_push((c2p_queue_t *)q, item); }
static int c1s_ppop(void *q, void **item) { return c2p_pop((c2p_queue_t *)q, item); }

/*
 * Threads 0 and 1 produce (thread 0 also keeps the books), the others consume.
 * Producer p puts the values p*5+1 .. p*5+5; the consumer that finishes the
 * tenth item ends the round and pushes one sentinel per other consumer.
 */
static C1S_ALWAYS_INLINE void c1s_body(wb_thread *t, c1s_push_fn push, c1s_pop_fn pop, void *q)
{
	struct c1s_shared *s = (struct c1s_shared *)t->shared;
	const int consumers = t->nthreads - C1S_PRODUCERS;
	uint64_t round, items = 0;
	for (round = 0;; round++) {
		(void)weft_barrier_wait(&s->start);
		if (t->tid == 0)
			s->round_start_ns = wb_clock_ns();
		if (t->tid < C1S_PRODUCERS) {
			for (int i = 0; i < C1S_ITEMS_EACH; i++) {
				uintptr_t v = (uintptr_t)(t->tid * C1S_ITEMS_EACH + i + 1);
				if (push(q, (void *)v) != WEFT_OK)
					wb_fail(t, "push failed");
				c1s_sleep(C1S_PUT_SLEEP_NS);
			}
		} else {
			void *item;
			for (;;) {
				if (pop(q, &item) != WEFT_OK)
					wb_fail(t, "pop failed");
				if (item == C1S_SENTINEL)
					break;
				c1s_sleep(C1S_WORK_SLEEP_NS); /* process the item */
				items++;
				/* relaxed: summed for the check after `end` (the barrier orders it) */
				__atomic_fetch_add(&s->consumed_sum, (uint64_t)(uintptr_t)item, __ATOMIC_RELAXED);
				/* relaxed: only the count matters; exactly one consumer sees the tenth */
				if (__atomic_add_fetch(&s->done, 1u, __ATOMIC_RELAXED) == C1S_ITEMS) {
					s->round_end_ns = wb_clock_ns(); /* queue.join() returns */
					for (int k = 1; k < consumers; k++)
						if (push(q, C1S_SENTINEL) != WEFT_OK)
							wb_fail(t, "push failed");
					break;
				}
			}
		}
		if (t->tid == 0)
			s->last = !wb_running(t, round + 1);
		(void)weft_barrier_wait(&s->end);
		if (t->tid == 0) {
			/* everyone is past `end` and waits at `start`: the round's state is quiet */
			const uint64_t want = (uint64_t)C1S_ITEMS * (C1S_ITEMS + 1) / 2;
			if (s->done != C1S_ITEMS || s->consumed_sum != want)
				wb_fail(t, "items lost or duplicated: %u done, sum %llu (expected %d, %llu)", s->done,
					(unsigned long long)s->consumed_sum, C1S_ITEMS, (unsigned long long)want);
			s->round_s_sum += (double)(s->round_end_ns - s->round_start_ns) * 1e-9 / c1s_scale;
			s->rounds++;
			s->done = 0;
			s->consumed_sum = 0;
		}
		if (s->last)
			break;
	}
	wb_done(t, items); /* items consumed by this thread */
}

static void c1s_weft(wb_thread *t)
{
	struct c1s_shared *s = (struct c1s_shared *)t->shared;
	c1s_body(t, c1s_wpush, c1s_wpop, &s->wq);
}
static void c1s_pthread(wb_thread *t)
{
	struct c1s_shared *s = (struct c1s_shared *)t->shared;
	c1s_body(t, c1s_ppush, c1s_ppop, &s->pq);
}

/* glibc passes main's arguments to constructors: the smoke run is recognized
 * by the runner's own flag. */
__attribute__((constructor)) static void register_c1_sleep(int argc, char **argv, char **envp)
{
	(void)envp;
	for (int i = 1; i < argc && argv; i++)
		if (argv[i] && strncmp(argv[i], "--wb_iterations=", 16) == 0)
			c1s_scale = 0.01;
	static const struct {
		const char *name;
		wb_body_fn body;
		uint64_t threads;
	} rows[] = {
		{"scenario/c1_sleep_2p3c/weft_cond_sem", c1s_weft, WB_T(5)},
		{"scenario/c1_sleep_2p3c/pthread", c1s_pthread, WB_T(5)},
		{"scenario/c1_sleep_2p2c/weft_cond_sem", c1s_weft, WB_T(4)},
		{"scenario/c1_sleep_2p2c/pthread", c1s_pthread, WB_T(4)},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		wb_def def;
		memset(&def, 0, sizeof def);
		def.name = rows[i].name;
		def.body = rows[i].body;
		def.threads = rows[i].threads;
		def.setup = c1s_setup;
		def.teardown = c1s_teardown;
		wb_register_def(&def);
	}
}
