/* SPDX-License-Identifier: MIT */
/*
 * r03_processes.c - R3: lost updates across processes.
 *
 * Processes do not share memory unless they ask for it.  The article's
 * example makes a counter with multiprocessing.Value('i', 0), which is an
 * int in a mmap()ed shared page, and has 4 processes add 1 to it 100 000
 * times each; its fixed form takes the value's lock (10 processes, one
 * increment each: 10).  Here the counter lives in mmap(MAP_SHARED |
 * MAP_ANONYMOUS) memory that fork() children inherit, and the fixes are a
 * weft_mutex_t and a weft_counter_t initialized with WEFT_PSHARED in that
 * same page.
 *
 * The proc-* modes fork --procs processes.  ThreadSanitizer only sees the
 * threads of one process, so it cannot report these races; the thread-* modes
 * run the very same code on threads over the same shared page so that TSan
 * has something to report (and to stay silent about).
 */
#include "lab.h"

#include <weft/counter.h>
#include <weft/mutex.h>

/* Everything the workers share: placed in one MAP_SHARED page. */
struct shared {
	long counter;          /* plain: the race */
	weft_mutex_t mutex;    /* WEFT_PSHARED: waiters in other processes are woken */
	weft_counter_t atomic; /* WEFT_PSHARED: one atomic word */
	long iters;
};

static void add_racy(void *ctx, int index)
{
	struct shared *s = ctx;
	volatile long *counter = &s->counter; /* one real load and store per ++ */
	for (long i = 0; i < s->iters; i++) {
		/* (*counter)++ with its load and store apart: the lab's gates
		 * (--schedule) and trace (--trace) live in shared memory, so they
		 * work across processes too */
		lab_step(index);
		long v = *counter;
		lab_ev(index, LAB_EV_LOAD, v, "load");
		lab_step(index);
		*counter = v + 1;
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

static void add_atomic(void *ctx, int index)
{
	struct shared *s = ctx;
	(void)index;
	for (long i = 0; i < s->iters; i++)
		weft_counter_add(&s->atomic, 1);
}

static void run(const struct lab_mode *mode, const struct lab_opts *o, struct lab_result *res)
{
	struct shared *s = lab_shared_alloc(sizeof(*s));
	s->iters = o->iters;
	(void)!weft_mutex_init(&s->mutex, WEFT_PSHARED);
	(void)!weft_counter_init(&s->atomic, WEFT_PSHARED);

	bool procs = strncmp(mode->name, "proc-", 5) == 0;
	const char *fix = mode->name + (procs ? 5 : 7); /* after "proc-" or "thread-" */
	lab_worker_fn fn = strcmp(fix, "racy") == 0 ? add_racy : strcmp(fix, "mutex") == 0 ? add_mutex : add_atomic;
	int workers = procs ? o->procs : o->threads;
	lab_shared_value(0);
	uint64_t ns = procs ? lab_run_procs(workers, fn, s) : lab_run_threads(workers, fn, s);

	long long got = fn == add_atomic ? (long long)weft_counter_load(&s->atomic) : s->counter;
	long long expected = (long long)workers * o->iters;
	lab_check_count(res, expected, got, "updates");
	if (mode->kind == LAB_FIXED)
		lab_set_cost(res, ns, (double)expected);
	weft_mutex_destroy(&s->mutex);
	lab_shared_free(s, sizeof(*s));
}

static const struct lab_mode modes[] = {
	{ "proc-racy", LAB_RACY, LAB_TSAN_SKIP, "--procs processes do counter++ on a plain long in shared memory" },
	{ "proc-mutex", LAB_FIXED, LAB_TSAN_SKIP, "the same under a weft_mutex_t initialized with WEFT_PSHARED" },
	{ "proc-atomic", LAB_FIXED, LAB_TSAN_SKIP, "weft_counter_add() on a WEFT_PSHARED counter in shared memory" },
	{ "thread-racy", LAB_RACY, LAB_TSAN_REPORTS, "the same code on --threads threads (what TSan can see)" },
	{ "thread-mutex", LAB_FIXED, LAB_TSAN_SILENT, "threads, WEFT_PSHARED mutex" },
	{ "thread-atomic", LAB_FIXED, LAB_TSAN_SILENT, "threads, WEFT_PSHARED atomic counter" },
};

static const struct lab_schedule schedules[] = {
	{ "proc-racy", true, "T1,T2,T1,T2" },  /* both processes load 0, both store 1 */
	{ "proc-racy", false, "T1,T1,T2,T2" },
};

static const struct lab_prog prog = {
	.name = "r03_processes",
	.title = "R3 lost update across processes: a counter in mmap(MAP_SHARED) memory",
	.threads = 4, .procs = 4, .iters = 100000, .runs = 10, .tsan_iters = 10000,
	.symptom = "updates were lost",
	.modes = modes, .nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.schedules = schedules, .nschedules = (int)LAB_ARRAY_SIZE(schedules),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
