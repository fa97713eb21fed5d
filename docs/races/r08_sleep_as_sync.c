/* SPDX-License-Identifier: MIT */
/*
 * r08_sleep_as_sync.c - R8: sleep used as synchronization.
 *
 * The Go article starts 5 goroutines that each work for 1 s, and main waits
 * for them with `time.Sleep(2 * time.Second) // wait for the goroutines`; its
 * channel example closes the channel after `time.Sleep(3 * time.Second)`.
 * A sleep waits for a *time*, not for an *event*.  It works while every worker
 * is faster than the guess -- and on a loaded machine, a cold cache or a slow
 * disk, one is not: main reads a result that was never written.  When the
 * guess is generous the program "works" and wastes the difference instead.
 *
 * Here 5 workers each compute one result; main then reads all 5.  A worker's
 * work takes `--work-ms` times a factor drawn anew for each worker and run,
 * between 0.5 and `--slowest-pct`/100 (default 4): the spread of the same
 * job on a busy machine.  The defaults are the article's 1 s and 2 s divided
 * by 50, to keep the lab fast; `--work-ms 1000 --sleep-ms 2000` gives the
 * article's values, `--slowest-pct 100` its idealized, jitter-free workers.
 *
 * Modes:
 *   sleep    main sleeps `--sleep-ms`, then reads the results (the article)
 *   join     main pthread_join()s every worker, then reads
 *   latch    each worker counts a weft_latch_t down after writing; main waits on it
 *   barrier  the workers and main meet at a weft_barrier_t of 6
 * Each run says how long main waited and how late it woke after the last
 * result was written: a negative lateness is a result missed; the cost of a
 * fix is that hand-off time, in nanoseconds.
 *
 * ThreadSanitizer reports the sleep mode in every run, even one whose timing
 * happened to work: a sleep creates no happens-before order between the
 * worker's write and main's read, and TSan checks the order, not the timing.
 */
#include "lab.h"

#include <weft/barrier.h>
#include <weft/latch.h>

#define MAX_WORKERS 64

static long opt_work_ms = 20, opt_sleep_ms = 40, opt_slowest_pct = 400;

enum mode_id { SLEEP, JOIN, LATCH, BARRIER };

static struct {
	enum mode_id mode;
	long result[MAX_WORKERS];       /* plain: written by worker i, read by main */
	uint64_t work_ns[MAX_WORKERS];  /* each worker's share of work, chosen by main */
	uint64_t done_at[MAX_WORKERS];  /* when worker i wrote its result (plain, like result) */
	weft_latch_t latch;
	weft_barrier_t barrier;
} job;

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	uint64_t ns = job.work_ns[i];
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	nanosleep(&ts, NULL);            /* the work (time.Sleep(time.Second) in the article) */
	job.result[i] = (long)i * i + 1; /* never 0: 0 means "not written" */
	job.done_at[i] = lab_now_ns();
	if (job.mode == LATCH)
		(void)!weft_latch_count_down(&job.latch, 1); /* release: publishes result[i] */
	else if (job.mode == BARRIER)
		weft_barrier_wait(&job.barrier);
	return NULL;
}

static const struct lab_mode modes[] = {
	{ "sleep", LAB_RACY, LAB_TSAN_REPORTS, "main sleeps --sleep-ms, then reads the results (time.Sleep(2 * time.Second))" },
	{ "join", LAB_FIXED, LAB_TSAN_SILENT, "main joins every worker, then reads (WaitGroup / thread.join())" },
	{ "latch", LAB_FIXED, LAB_TSAN_SILENT, "each worker counts a weft_latch_t down; main waits for zero" },
	{ "barrier", LAB_FIXED, LAB_TSAN_SILENT, "workers and main meet at a weft_barrier_t of workers + 1" },
};

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	int n = opts->threads < MAX_WORKERS ? opts->threads : MAX_WORKERS;
	unsigned seed = (unsigned)lab_now_ns();
	pthread_t tid[MAX_WORKERS];

	job.mode = (enum mode_id)(mode - modes);
	(void)!weft_latch_init(&job.latch, (unsigned)n);
	(void)!weft_barrier_init(&job.barrier, (unsigned)n + 1);
	uint64_t slowest = 0;
	for (int i = 0; i < n; i++) {
		long pct = 50 + (opt_slowest_pct > 50 ? rand_r(&seed) % (opt_slowest_pct - 50 + 1) : 0);
		job.work_ns[i] = (uint64_t)opt_work_ms * 10000u * (uint64_t)pct; /* ms * pct/100 in ns */
		slowest = job.work_ns[i] > slowest ? job.work_ns[i] : slowest;
		job.result[i] = 0;
		job.done_at[i] = 0;
	}

	uint64_t start = lab_now_ns();
	for (int i = 0; i < n; i++) {
		int err = pthread_create(&tid[i], NULL, worker, (void *)(intptr_t)i);
		if (err)
			lab__die("pthread_create", err);
	}
	switch (job.mode) {
	case SLEEP:
		usleep((useconds_t)opt_sleep_ms * 1000u); /* "long enough", we hope */
		break;
	case JOIN:
		for (int i = 0; i < n; i++)
			pthread_join(tid[i], NULL);
		break;
	case LATCH:
		weft_latch_wait(&job.latch); /* acquire: pairs with every count_down */
		break;
	case BARRIER:
		weft_barrier_wait(&job.barrier);
		break;
	}
	uint64_t woke = lab_now_ns();

	int got = 0;
	for (int i = 0; i < n; i++)
		got += job.result[i] == (long)i * i + 1; /* main reads: written yet? */

	if (job.mode != JOIN) /* joined afterwards only to end the run cleanly */
		for (int i = 0; i < n; i++)
			pthread_join(tid[i], NULL);
	uint64_t last = 0;
	for (int i = 0; i < n; i++)
		last = job.done_at[i] > last ? job.done_at[i] : last;
	weft_barrier_destroy(&job.barrier);

	double waited_ms = (double)(woke - start) / 1e6;
	double late_ms = ((double)woke - (double)last) / 1e6; /* < 0: main read before the last write */
	res->wrong = got != n;
	if (res->wrong)
		lab_result_say(res, "main read after %.1f ms: %d of %d results there, %d missed (the slowest worker needed %.1f ms)",
			       waited_ms, got, n, n - got, (double)slowest / 1e6);
	else
		lab_result_say(res, "main read after %.1f ms: all %d results, %.3f ms after the last was written",
			       waited_ms, n, late_ms);
	if (!res->wrong)
		lab_set_cost(res, woke - last, 1.0); /* the hand-off: last write to main awake */
}

static const struct lab_flag flags[] = {
	{ "work-ms", "a worker's work, before its random slowdown (the article: 1000)", &opt_work_ms, 0, 600000 },
	{ "sleep-ms", "sleep mode: how long main sleeps (the article: 2000)", &opt_sleep_ms, 0, 600000 },
	{ "slowest-pct", "a worker's work takes 50..this percent of --work-ms (100: no jitter)", &opt_slowest_pct, 50, 10000 },
};

static const struct lab_prog prog = {
	.name = "r08_sleep_as_sync",
	.title = "R8 sleep as synchronization: 5 workers, main sleeps and hopes they are done",
	.threads = 5,
	.runs = 10,
	.iters = 1,
	.symptom = "main read unfinished results",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.flags = flags,
	.nflags = (int)LAB_ARRAY_SIZE(flags),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
