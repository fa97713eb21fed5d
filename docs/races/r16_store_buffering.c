/* SPDX-License-Identifier: MIT */
/*
 * r16_store_buffering.c - R16: store buffering, the reordering x86 does make.
 *
 * Dekker's mutual exclusion (E. W. Dijkstra, "Cooperating Sequential
 * Processes", 1965) and Peterson's lock (G. L. Peterson, "Myths About the
 * Mutual Exclusion Problem", IPL 1981) begin the same way: each thread raises
 * its own flag, then looks at the other's, and enters only if the other's is
 * down:
 *
 *     T1:  x = 1;  r1 = y;          T2:  y = 1;  r2 = x;
 *
 * In any interleaving of these four steps at least one thread reads 1 -- the
 * second store comes before the second load -- so at most one enters.  On
 * x86 both may read 0 (and both enter): each core puts its store in its own
 * store buffer and lets the later load of a *different* address go ahead
 * before the store reaches the cache.  That is the one reordering x86's
 * memory model allows (Intel SDM vol. 3A, section 8.2.3.4, "Loads May Be
 * Reordered with Earlier Stores to Different Locations"; P. Sewell, S.
 * Sarkar, S. Owens, F. Zappa Nardelli, M. O. Myreen, "x86-TSO: A Rigorous and
 * Usable Programmer's Model for x86 Multiprocessors", CACM 53(7), 2010).
 * R14's reordering (message passing) is one x86 forbids; this one it does.
 *
 * Each trial uses a fresh pair x[i], y[i] (zeroed arrays: nothing to reset),
 * and the two threads start each trial together: both count the trial in a
 * shared counter and spin until it shows both arrivals (a counter barrier), so
 * that their stores and loads overlap in time, as the reordering needs.
 * `--iters` trials per run (default 100 000); a run "went wrong" when
 * some trial read both zeros, and the count is given per million trials.
 *
 * Modes:
 *   plain     volatile int flags: a data race (TSan reports it)
 *   acq-rel   release stores, acquire loads: no data race, TSan is silent,
 *             and still both read 0 -- release/acquire orders a store after
 *             earlier accesses and a load before later ones, never a store
 *             before a later load.  A race in the logic, not a data race.
 *   seq-cst   seq_cst stores and loads: one total order of all four, so the
 *             second store precedes the second load (gcc: the store is an
 *             xchg, a locked instruction that drains the store buffer)
 *   fence     release store, a seq_cst fence (mfence), acquire load
 */
#include "lab.h"

#include <weft/atomic.h>

enum mode_id { PLAIN, ACQ_REL, SEQ_CST, FENCE };

static struct {
	int *x, *y;          /* x[i]: T1's flag in trial i, y[i]: T2's */
	unsigned char *r1, *r2; /* what each read */
	long trials;
	enum mode_id mode;
	long arrived;        /* the counter barrier: 2 * i + (arrivals in trial i) */
} sb;

/* Both threads count themselves in, then spin until both are in trial i.
 * After a while (the other thread is not running: a busy machine) the spin
 * yields the core, so that a trial costs microseconds, not a time slice. */
static void barrier(long i)
{
	/* acq_rel: the barrier orders the previous trial's reads before this one */
	weft_atomic_fetch_add(&sb.arrived, 1, WEFT_ACQ_REL);
	for (int k = 0; weft_atomic_load(&sb.arrived, WEFT_ACQUIRE) < 2 * (i + 1); k++) /* acquire: pairs with the add */
		if (k < 2000)
			weft_cpu_relax();
		else
			sched_yield();
}

/* One side of the entry protocol: raise mine, look at theirs. */
static inline int enter(int *mine, int *theirs)
{
	switch (sb.mode) {
	case PLAIN:
		*(volatile int *)mine = 1;
		return *(volatile int *)theirs;
	case ACQ_REL:
		weft_atomic_store(mine, 1, WEFT_RELEASE); /* release: orders what came before, not the load after */
		return weft_atomic_load(theirs, WEFT_ACQUIRE); /* acquire: orders what comes after, not the store before */
	case SEQ_CST:
		weft_atomic_store(mine, 1, WEFT_SEQ_CST); /* seq_cst: one total order with the other thread's store */
		return weft_atomic_load(theirs, WEFT_SEQ_CST); /* seq_cst: pairs with the other's seq_cst store */
	case FENCE:
	default:
		weft_atomic_store(mine, 1, WEFT_RELAXED); /* relaxed: the fence orders it */
#if LAB_TSAN
		/* TSan does not model fences (gcc warns and -Werror fails): a seq_cst
		 * read-modify-write is also a full barrier on x86 (a locked add) */
		{
			static int dummy;
			weft_atomic_fetch_add(&dummy, 0, WEFT_SEQ_CST); /* seq_cst: the full barrier */
		}
#else
		weft_atomic_fence(WEFT_SEQ_CST); /* seq_cst fence: the store is visible before the load runs */
#endif
		return weft_atomic_load(theirs, WEFT_RELAXED); /* relaxed: after the fence */
	}
}

static void worker(void *ctx, int self)
{
	(void)ctx;
	for (long i = 0; i < sb.trials; i++) {
		barrier(i);
		if (self == 0)
			sb.r1[i] = (unsigned char)enter(&sb.x[i], &sb.y[i]);
		else
			sb.r2[i] = (unsigned char)enter(&sb.y[i], &sb.x[i]);
	}
}

static const struct lab_mode modes[] = {
	{ "plain", LAB_RACY, LAB_TSAN_REPORTS, "volatile int flags: x = 1; r1 = y  ||  y = 1; r2 = x" },
	{ "acq-rel", LAB_RACY, LAB_TSAN_SILENT, "release stores, acquire loads (TSan silent: no data race, still wrong)" },
	{ "seq-cst", LAB_FIXED, LAB_TSAN_SILENT, "seq_cst stores and loads" },
	{ "fence", LAB_FIXED, LAB_TSAN_SILENT, "release store, seq_cst fence (mfence), acquire load" },
};


static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	long n = opts->iters;
	sb.mode = (enum mode_id)(mode - modes);
	sb.trials = n;
	sb.arrived = 0;
	sb.x = calloc((size_t)n, sizeof(int));
	sb.y = calloc((size_t)n, sizeof(int));
	sb.r1 = calloc((size_t)n, 1);
	sb.r2 = calloc((size_t)n, 1);
	if (!sb.x || !sb.y || !sb.r1 || !sb.r2)
		lab__die("calloc", ENOMEM);
	uint64_t ns = lab_run_threads(2, worker, NULL);
	long both = 0, only1 = 0, only2 = 0, none = 0;
	for (long i = 0; i < n; i++) {
		int a = sb.r1[i], b = sb.r2[i];
		both += !a && !b; /* both read 0: the reordering */
		none += a && b;
		only1 += a && !b;
		only2 += !a && b;
	}
	res->wrong = both > 0;
	lab_result_say(res, "%ld trials: both read 0 in %ld (%.0f per million); r1=1,r2=0 %ld, r1=0,r2=1 %ld, both 1 %ld",
		       n, both, 1e6 * (double)both / (double)n, only2, only1, none);
	lab_set_cost(res, ns, (double)n);
	free(sb.x);
	free(sb.y);
	free(sb.r1);
	free(sb.r2);
}

/*
 * The fix's cost, without the barrier (whose cache-line transfers dominate a
 * trial): one thread runs the entry protocol on its own two flags
 * COST_ROUNDS times in each mode.  A seq_cst store (xchg) or an mfence waits
 * for the store buffer to drain; a release store does not wait.
 */
#define COST_ROUNDS 2000000L
static void after(const struct lab_opts *opts)
{
	(void)opts;
	static int mine, theirs;
	double ns[4];
	for (int m = 0; m < 4; m++) {
		sb.mode = (enum mode_id)m;
		int sum = 0;
		uint64_t t0 = lab_now_ns();
		for (long i = 0; i < COST_ROUNDS; i++)
			sum += enter(&mine, &theirs);
		ns[m] = (double)(lab_now_ns() - t0) / (double)COST_ROUNDS;
		if (sum < 0)
			puts(""); /* keeps `sum` live */
	}
	printf("\nthe entry protocol alone (store, load; one thread, %ld rounds): plain %.1f ns, acq-rel %.1f ns,"
	       " seq-cst %.1f ns, fence %.1f ns\n", COST_ROUNDS, ns[PLAIN], ns[ACQ_REL], ns[SEQ_CST], ns[FENCE]);
}

static const struct lab_prog prog = {
	.name = "r16_store_buffering",
	.title = "R16 store buffering: x = 1; r1 = y || y = 1; r2 = x -- can both read 0?",
	.threads = 2,
	.runs = 10,
	.iters = 100000, /* trials per run; counted per million */
	.tsan_iters = 2000,
	.symptom = "both threads read 0",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.after = after,
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
