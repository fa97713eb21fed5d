/* SPDX-License-Identifier: MIT */
/*
 * r13_false_sharing.c - R13: per-thread counters on one cache line.
 *
 * Each thread counts in its own slot of an array -- no sharing, no lock, and
 * the totals are always right.  But the slots are 8 bytes apart, and the CPU
 * caches memory in 64-byte lines: the slots of 8 threads share one line.  A
 * core must own a line exclusively to write to it (MESI cache coherence), so
 * every increment on one core takes the line away from the other core, which
 * then has to fetch it back (tens of nanoseconds on the same socket, more on
 * a VM).  The threads share nothing in the program and everything in the
 * hardware: false sharing.  The fix is to give each slot a line of its own
 * (WEFT_CACHE_LINE bytes, with alignment), as weft_scounter_t's shards do.
 *
 * This is a cost, not a wrong result: both modes count exactly.  The run
 * checks the totals anyway, and reports the cost per increment and, at the
 * end, the ratio of the two modes' medians.
 *
 * Each increment is a load and a store of the thread's own slot (relaxed
 * atomics: the compiler may not fold the loop into one addition, and no
 * locked instruction hides the effect behind its own cost).  ThreadSanitizer
 * stays silent on both modes: there is no race, only a slow cache line.
 *
 * Modes:
 *   shared-line  uint64_t slot[threads]: consecutive, 8 to a cache line
 *   padded       each slot alone on its own WEFT_CACHE_LINE-aligned line
 */
#include "lab.h"

#include <weft/atomic.h>
#include <weft/config.h>

#define MAX_THREADS 64

struct padded_slot {
	_Alignas(WEFT_CACHE_LINE) uint64_t n;
};
_Static_assert(sizeof(struct padded_slot) == WEFT_CACHE_LINE, "one slot per cache line");

static struct {
	_Alignas(WEFT_CACHE_LINE) uint64_t packed[MAX_THREADS]; /* 8 slots per line */
	struct padded_slot padded[MAX_THREADS];                 /* 1 slot per line */
	long iters;
	bool use_padded;
} counters;

static void count(void *ctx, int self)
{
	(void)ctx;
	uint64_t *slot = counters.use_padded ? &counters.padded[self].n : &counters.packed[self];
	for (long i = 0; i < counters.iters; i++) {
		/* relaxed: only this thread writes the slot; the join publishes it */
		uint64_t v = weft_atomic_load(slot, WEFT_RELAXED);
		weft_atomic_store(slot, v + 1, WEFT_RELAXED);
	}
}

static const struct lab_mode modes[] = {
	{ "shared-line", LAB_OTHER, LAB_TSAN_SILENT, "uint64_t slot[threads]: each thread's counter 8 bytes from the next" },
	{ "padded", LAB_FIXED, LAB_TSAN_SILENT, "each thread's counter on its own 64-byte cache line" },
};

static double median_cost[2];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	static double costs[2][LAB_MAX_RUNS];
	static int ncosts[2];
	int m = (int)(mode - modes);
	int n = opts->threads < MAX_THREADS ? opts->threads : MAX_THREADS;

	counters.use_padded = m == 1;
	counters.iters = opts->iters;
	memset(counters.packed, 0, sizeof(counters.packed));
	memset(counters.padded, 0, sizeof(counters.padded));
	uint64_t elapsed = lab_run_threads(n, count, NULL);

	long long total = 0;
	for (int i = 0; i < n; i++)
		total += (long long)(m ? counters.padded[i].n : counters.packed[i]);
	lab_check_count(res, (long long)n * opts->iters, total, "increments");
	/* cost per increment, per thread: what one thread's ++ takes */
	lab_set_cost(res, elapsed, (double)opts->iters);
	if (ncosts[m] < LAB_MAX_RUNS)
		costs[m][ncosts[m]++] = res->ns_per_op;
	double sorted[LAB_MAX_RUNS];
	memcpy(sorted, costs[m], sizeof(double) * (size_t)ncosts[m]);
	qsort(sorted, (size_t)ncosts[m], sizeof(double), cmp_double);
	median_cost[m] = sorted[ncosts[m] / 2];
}

static void after(const struct lab_opts *opts)
{
	(void)opts;
	if (median_cost[0] > 0 && median_cost[1] > 0)
		printf("\nfalse sharing: one line costs %.1fx the padded layout per increment (medians %.2f and %.2f ns)\n",
		       median_cost[0] / median_cost[1], median_cost[0], median_cost[1]);
}

static const struct lab_prog prog = {
	.name = "r13_false_sharing",
	.title = "R13 false sharing: per-thread counters that share a cache line (a cost, not a wrong result)",
	.threads = 2,
	.runs = 10,
	.iters = 10000000,
	.tsan_iters = 100000,
	.symptom = "a wrong total showed",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.after = after,
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
