/* SPDX-License-Identifier: MIT */
/*
 * r02_widened_rmw.c - R2: the read-modify-write written out as two statements,
 *
 *	tmp = counter;
 *	counter = tmp + 1;
 *
 * which is what `counter++` (R1) does anyway, with its window made visible.
 * One of the articles writes exactly this (under a lock, correctly); here it
 * runs without one.  Mode `racy` is those two lines; mode `widened` puts a
 * short pause (three cpu_relax() instructions, tens of ns) between them -- what a cache miss, an
 * interrupt or a preemption does to real code -- and almost every update is
 * lost.  The fixes are R1's, applied to the widened loop (the lock is held
 * across the pause), so their costs include it.
 */
#include "lab.h"

#include <weft/counter.h>
#include <weft/mutex.h>
#include <weft/spinlock.h>

/* Pause iterations between the read and the write in the widened modes. */
#define WIDEN_RELAX 3

struct shared {
	long counter;
	weft_mutex_t mutex;
	weft_spin_t spin;
	weft_counter_t atomic;
	long iters;
};

static inline void widen(void)
{
	for (int k = 0; k < WIDEN_RELAX; k++)
		weft_cpu_relax();
}

static void add_racy(void *ctx, int index)
{
	struct shared *s = ctx;
	volatile long *counter = &s->counter; /* volatile: one real load and store per line */
	for (long i = 0; i < s->iters; i++) {
		lab_step(index); /* a gate under --schedule; without it a test of one global */
		long tmp = *counter; /* read */
		lab_ev(index, LAB_EV_LOAD, tmp, "read"); /* recorded under --trace */
		lab_step(index);
		*counter = tmp + 1;  /* write: another thread may have written in between */
		lab_ev(index, LAB_EV_STORE, tmp + 1, "write");
	}
}

static void add_widened(void *ctx, int index)
{
	struct shared *s = ctx;
	volatile long *counter = &s->counter;
	for (long i = 0; i < s->iters; i++) {
		lab_step(index);
		long tmp = *counter;
		lab_ev(index, LAB_EV_LOAD, tmp, "read");
		widen(); /* the window: every write another thread makes now is overwritten */
		lab_step(index);
		*counter = tmp + 1;
		lab_ev(index, LAB_EV_STORE, tmp + 1, "write");
	}
}

static void add_mutex(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++) {
		weft_mutex_lock(&s->mutex);
		long tmp = s->counter;
		widen();
		s->counter = tmp + 1;
		weft_mutex_unlock(&s->mutex);
	}
}

static void add_spin(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++) {
		weft_spin_lock(&s->spin);
		long tmp = s->counter;
		widen();
		s->counter = tmp + 1;
		weft_spin_unlock(&s->spin);
	}
}

/* The atomic fix has no window to widen: read, add and write are one
 * instruction.  The pause stays in the loop (outside) to keep the work equal. */
static void add_atomic(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++) {
		widen();
		weft_counter_add(&s->atomic, 1);
	}
}

static void run(const struct lab_mode *mode, const struct lab_opts *o, struct lab_result *res)
{
	static struct shared s;
	memset(&s, 0, sizeof(s));
	s.iters = o->iters;
	(void)!weft_mutex_init(&s.mutex, 0);
	weft_spin_init(&s.spin);
	(void)!weft_counter_init(&s.atomic, 0);

	lab_worker_fn fn = strcmp(mode->name, "racy") == 0      ? add_racy
			   : strcmp(mode->name, "widened") == 0 ? add_widened
			   : strcmp(mode->name, "mutex") == 0   ? add_mutex
			   : strcmp(mode->name, "spin") == 0    ? add_spin
								 : add_atomic;
	lab_shared_value(0);
	uint64_t ns = lab_run_threads(o->threads, fn, &s);

	long long got = fn == add_atomic ? (long long)weft_counter_load(&s.atomic) : s.counter;
	long long expected = (long long)o->threads * o->iters;
	lab_check_count(res, expected, got, "updates");
	if (mode->kind == LAB_FIXED)
		lab_set_cost(res, ns, (double)expected);
	weft_mutex_destroy(&s.mutex);
}

static const struct lab_mode modes[] = {
	{ "racy", LAB_RACY, LAB_TSAN_REPORTS, "tmp = counter; counter = tmp + 1; no lock" },
	{ "widened", LAB_RACY, LAB_TSAN_REPORTS, "the same with a short pause (3 x cpu_relax) between read and write" },
	{ "mutex", LAB_FIXED, LAB_TSAN_SILENT, "weft_mutex_t held across read, pause and write" },
	{ "spin", LAB_FIXED, LAB_TSAN_SILENT, "weft_spin_t held across read, pause and write" },
	{ "atomic", LAB_FIXED, LAB_TSAN_SILENT, "pause, then weft_counter_add(): no window left" },
};

static const struct lab_schedule schedules[] = {
	{ "widened", true, "T1,T2,T1,T2" },  /* both read 0, both write 1 */
	{ "widened", false, "T1,T1,T2,T2" }, /* one after the other: 2 */
};

static const struct lab_prog prog = {
	.name = "r02_widened_rmw",
	.title = "R2 widened read-modify-write: tmp = counter; counter = tmp + 1",
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
