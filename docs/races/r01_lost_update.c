/* SPDX-License-Identifier: MIT */
/*
 * r01_lost_update.c - R1: threads do counter++ on one plain shared int.
 *
 * The articles' first example: 4 threads each add 1 to a global counter
 * 100 000 times and the total comes out below 400 000 (the other example,
 * 2 threads x 1 000 000, behaves the same: try --threads 2 --iters 1000000).
 * `counter++` is three steps -- load, add, store -- and two threads that load
 * the same value both store value+1: one increment is lost.
 *
 * Modes: racy (the bug), and four fixes, each with its cost per increment:
 * mutex (weft_mutex_t), spin (weft_spin_t), atomic (one fetch-and-add,
 * weft_counter_t), sharded (weft_scounter_t: each thread adds on its own cache
 * line; the total is summed when read).
 */
#include "lab.h"

#include <weft/counter.h>
#include <weft/mutex.h>
#include <weft/spinlock.h>

struct shared {
	long counter;             /* racy, mutex, spin: a plain long */
	weft_mutex_t mutex;
	weft_spin_t spin;
	weft_counter_t atomic;    /* one atomic 64-bit word */
	weft_scounter_t sharded;  /* one slot per thread */
	long iters;
};

/* The bug.  `volatile` keeps the compiler from turning the loop into a single
 * `counter += iters` (which would hide the race inside one iteration, as an
 * optimizing compiler is allowed to do); each ++ is a real load and store. */
static void add_racy(void *ctx, int index)
{
	struct shared *s = ctx;
	volatile long *counter = &s->counter;
	for (long i = 0; i < s->iters; i++) {
		/* (*counter)++, its load and its store written apart so that the lab
		 * can stop between them (--schedule) and record them (--trace);
		 * without those flags lab_step() and lab_ev() test one global */
		lab_step(index);
		long v = *counter;                     /* load */
		lab_ev(index, LAB_EV_LOAD, v, "load");
		lab_step(index);
		*counter = v + 1;                      /* add, store: another thread can store in between */
		lab_ev(index, LAB_EV_STORE, v + 1, "store");
	}
}

static void add_mutex(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++) {
		weft_mutex_lock(&s->mutex);
		s->counter++;
		weft_mutex_unlock(&s->mutex);
	}
}

static void add_spin(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++) {
		weft_spin_lock(&s->spin);
		s->counter++;
		weft_spin_unlock(&s->spin);
	}
}

static void add_atomic(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++)
		weft_counter_add(&s->atomic, 1); /* one lock xadd: load, add and store as one */
}

static void add_sharded(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++)
		weft_scounter_add(&s->sharded, 1); /* this thread's own slot: no contention */
}

static void run(const struct lab_mode *mode, const struct lab_opts *o, struct lab_result *res)
{
	static struct shared s;
	memset(&s, 0, sizeof(s));
	s.iters = o->iters;
	(void)!weft_mutex_init(&s.mutex, 0);
	weft_spin_init(&s.spin);
	(void)!weft_counter_init(&s.atomic, 0);
	if (weft_scounter_init(&s.sharded) != WEFT_OK)
		lab__die("weft_scounter_init", ENOMEM);

	lab_worker_fn fn = strcmp(mode->name, "racy") == 0    ? add_racy
			   : strcmp(mode->name, "mutex") == 0 ? add_mutex
			   : strcmp(mode->name, "spin") == 0  ? add_spin
			   : strcmp(mode->name, "atomic") == 0 ? add_atomic
							       : add_sharded;
	lab_shared_value(0);
	uint64_t ns = lab_run_threads(o->threads, fn, &s);

	long long got = fn == add_atomic    ? (long long)weft_counter_load(&s.atomic)
			: fn == add_sharded ? (long long)weft_scounter_read(&s.sharded)
					    : s.counter;
	long long expected = (long long)o->threads * o->iters;
	lab_check_count(res, expected, got, "updates");
	if (fn != add_racy)
		lab_set_cost(res, ns, (double)expected);
	weft_scounter_destroy(&s.sharded);
	weft_mutex_destroy(&s.mutex);
}

static const struct lab_mode modes[] = {
	{ "racy", LAB_RACY, LAB_TSAN_REPORTS, "counter++ on a plain long, no lock" },
	{ "mutex", LAB_FIXED, LAB_TSAN_SILENT, "weft_mutex_t held around counter++" },
	{ "spin", LAB_FIXED, LAB_TSAN_SILENT, "weft_spin_t held around counter++" },
	{ "atomic", LAB_FIXED, LAB_TSAN_SILENT, "weft_counter_add(): one atomic fetch-and-add" },
	{ "sharded", LAB_FIXED, LAB_TSAN_SILENT, "weft_scounter_add(): one counter slot per thread, summed on read" },
};

/* Two threads, one increment each: the loads and stores interleaved lose one. */
static const struct lab_schedule schedules[] = {
	{ "racy", true, "T1,T2,T1,T2" },  /* both load 0, both store 1 */
	{ "racy", false, "T1,T1,T2,T2" }, /* T1's load and store, then T2's: 2 */
};

static const struct lab_prog prog = {
	.name = "r01_lost_update",
	.title = "R1 lost update: threads do counter++ on one plain shared counter",
	.threads = 4, .iters = 100000, .runs = 10, .tsan_iters = 10000,
	.symptom = "updates were lost",
	.modes = modes, .nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.schedules = schedules, .nschedules = (int)LAB_ARRAY_SIZE(schedules),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
