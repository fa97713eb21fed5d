/* SPDX-License-Identifier: MIT */
/*
 * r04_oversell.c - R4: check-then-act, or how one unit of stock is sold four times.
 *
 * The article's web shop runs 4 worker processes, and each order does
 *
 *	stock = SELECT stock ...;            -- check
 *	if stock > 0:
 *		UPDATE ... stock = stock - 1  -- act
 *
 * With stock = 1, all four workers query at about the same time, all see 1,
 * all four sell: 3 units oversold.  Here the stock is a long in
 * mmap(MAP_SHARED) memory, the workers are --procs processes (or --threads
 * threads), each tries --iters purchases, and the database round trip between
 * the check and the act is a QUERY_US sleep.
 *
 * Fixes: a WEFT_PSHARED weft_mutex_t held across check and act; a CAS
 * "decrement if still positive" (the act fails if the stock changed since the
 * check, and the buyer checks again); a weft_sem_t that holds the stock (one
 * unit per permit: taking a permit *is* the check and the act).
 *
 * One more racy mode, thread-atomic-check, makes the check and the act each
 * an atomic operation: no data race any more, so ThreadSanitizer is silent,
 * and yet the stock is still oversold.  TSan finds data races, not races in
 * the logic: the check and the act must be one atomic step.
 */
#include "lab.h"

#include <weft/atomic.h>
#include <weft/mutex.h>
#include <weft/sem.h>

#define INITIAL_STOCK 1
/* The database round trip between the check and the act. */
#define QUERY_US 1000

struct shared {
	long stock;          /* plain in the racy modes, atomic in the cas modes */
	weft_mutex_t mutex;  /* WEFT_PSHARED */
	weft_sem_t permits;  /* WEFT_PSHARED, one permit per unit of stock */
	long sold[1024];     /* per worker: only worker i writes sold[i] */
	long iters;
};

static void query_database(void)
{
	usleep(QUERY_US);
}

static void buy_racy(void *ctx, int index)
{
	struct shared *s = ctx;
	volatile long *stock = &s->stock;
	for (long i = 0; i < s->iters; i++) {
		lab_step(index); /* the lab's gate (--schedule); one test otherwise */
		long seen = *stock;
		lab_ev(index, LAB_EV_CHECK, seen, "check"); /* recorded under --trace */
		if (seen > 0) {            /* check: "SELECT stock" */
			query_database(); /* every other buyer checks now, and sees 1 too */
			lab_step(index);
			long now = *stock;
			*stock = now - 1;  /* act: "UPDATE stock = stock - 1" */
			lab_ev(index, LAB_EV_ACT, now - 1, "sell");
			s->sold[index]++;
		}
	}
}

/* Both steps atomic, still two steps: no data race, same oversell. */
static void buy_atomic_check(void *ctx, int index)
{
	struct shared *s = ctx;
	for (long i = 0; i < s->iters; i++) {
		lab_step(index);
		long seen = weft_atomic_load(&s->stock, WEFT_RELAXED); /* relaxed: a count, publishes nothing */
		lab_ev(index, LAB_EV_CHECK, seen, "check");
		if (seen > 0) {
			query_database();
			lab_step(index);
			long now = weft_atomic_fetch_sub(&s->stock, 1, WEFT_RELAXED) - 1;
			lab_ev(index, LAB_EV_ACT, now, "sell");
			s->sold[index]++;
		}
	}
}

static void buy_mutex(void *ctx, int index)
{
	struct shared *s = ctx;
	for (long i = 0; i < s->iters; i++) {
		weft_mutex_lock(&s->mutex); /* check and act in one critical section */
		if (s->stock > 0) {
			query_database();
			s->stock--;
			s->sold[index]++;
		}
		weft_mutex_unlock(&s->mutex);
	}
}

/* Decrement if positive: the act is a CAS from the value the check saw. */
static void buy_cas(void *ctx, int index)
{
	struct shared *s = ctx;
	for (long i = 0; i < s->iters; i++) {
		long seen = weft_atomic_load(&s->stock, WEFT_RELAXED); /* relaxed: the count is the only data */
		while (seen > 0) {
			query_database();
			/* relaxed: nothing else is published with the stock */
			if (weft_atomic_cas(&s->stock, &seen, seen - 1, WEFT_RELAXED, WEFT_RELAXED)) {
				s->sold[index]++;
				break;
			}
			/* another buyer changed the stock since our check: `seen` is the new value */
		}
	}
}

static void buy_sem(void *ctx, int index)
{
	struct shared *s = ctx;
	for (long i = 0; i < s->iters; i++) {
		if (weft_sem_trywait(&s->permits)) { /* check and act in one step */
			query_database();            /* write the order */
			s->sold[index]++;
		}
	}
}

static void run(const struct lab_mode *mode, const struct lab_opts *o, struct lab_result *res)
{
	struct shared *s = lab_shared_alloc(sizeof(*s));
	s->stock = INITIAL_STOCK;
	s->iters = o->iters;
	(void)!weft_mutex_init(&s->mutex, WEFT_PSHARED);
	(void)!weft_sem_init(&s->permits, INITIAL_STOCK, WEFT_PSHARED);

	bool procs = strncmp(mode->name, "proc-", 5) == 0;
	const char *how = mode->name + (procs ? 5 : 7); /* after "proc-" or "thread-" */
	lab_worker_fn fn = strcmp(how, "racy") == 0	    ? buy_racy
			   : strcmp(how, "atomic-check") == 0 ? buy_atomic_check
			   : strcmp(how, "mutex") == 0	    ? buy_mutex
			   : strcmp(how, "cas") == 0	    ? buy_cas
							    : buy_sem;
	int workers = procs ? o->procs : o->threads;
	if (workers > (int)LAB_ARRAY_SIZE(s->sold))
		workers = (int)LAB_ARRAY_SIZE(s->sold);
	lab_shared_value(INITIAL_STOCK);
	uint64_t ns = procs ? lab_run_procs(workers, fn, s) : lab_run_threads(workers, fn, s);

	long sold = 0;
	for (int i = 0; i < workers; i++)
		sold += s->sold[i];
	long left = fn == buy_sem ? weft_sem_value(&s->permits) : s->stock;
	res->wrong = sold > INITIAL_STOCK;
	if (res->wrong)
		lab_result_say(res, "stock %d, %d %s: %ld sold, %ld oversold (stock now %ld), %.1f ms",
			       INITIAL_STOCK, workers, procs ? "processes" : "threads", sold,
			       sold - INITIAL_STOCK, left, (double)ns / 1e6);
	else
		lab_result_say(res, "stock %d, %d %s: %ld sold, none oversold (stock now %ld), %.1f ms",
			       INITIAL_STOCK, workers, procs ? "processes" : "threads", sold, left,
			       (double)ns / 1e6);
	weft_sem_destroy(&s->permits);
	weft_mutex_destroy(&s->mutex);
	lab_shared_free(s, sizeof(*s));
}

static const struct lab_mode modes[] = {
	{ "proc-racy", LAB_RACY, LAB_TSAN_SKIP, "processes: if (stock > 0) { query; stock--; }" },
	{ "proc-mutex", LAB_FIXED, LAB_TSAN_SKIP, "processes: WEFT_PSHARED weft_mutex_t around check and act" },
	{ "proc-cas", LAB_FIXED, LAB_TSAN_SKIP, "processes: CAS stock from the value checked to one less" },
	{ "proc-sem", LAB_FIXED, LAB_TSAN_SKIP, "processes: WEFT_PSHARED weft_sem_t holds the stock; trywait sells" },
	{ "thread-racy", LAB_RACY, LAB_TSAN_REPORTS, "threads: the same racy code (what TSan can see)" },
	{ "thread-atomic-check", LAB_RACY, LAB_TSAN_SILENT,
	  "threads: atomic load to check, atomic decrement to act (TSan is silent: no data race)" },
	{ "thread-mutex", LAB_FIXED, LAB_TSAN_SILENT, "threads: weft_mutex_t around check and act" },
	{ "thread-cas", LAB_FIXED, LAB_TSAN_SILENT, "threads: CAS decrement-if-positive" },
	{ "thread-sem", LAB_FIXED, LAB_TSAN_SILENT, "threads: weft_sem_t holds the stock" },
};

/* Two buyers, one unit: both check before either sells, or one after the other. */
static const struct lab_schedule schedules[] = {
	{ "proc-racy", true, "T1,T2,T1,T2" },
	{ "proc-racy", false, "T1,T1,T2" },
	{ "thread-atomic-check", true, "T1,T2,T1,T2" },
	{ "thread-atomic-check", false, "T1,T1,T2" },
};

static const struct lab_prog prog = {
	.name = "r04_oversell",
	.title = "R4 check-then-act: 4 buyers, 1 unit of stock",
	.threads = 4, .procs = 4, .iters = 1, .runs = 10,
	.symptom = "the stock was oversold",
	.modes = modes, .nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.schedules = schedules, .nschedules = (int)LAB_ARRAY_SIZE(schedules),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
