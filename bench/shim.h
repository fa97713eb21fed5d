/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BENCH_SHIM_H
#define WEFT_BENCH_SHIM_H

/*
 * shim.h - the C side of the benchmark harness: Google Benchmark runs C bodies.
 *
 * A benchmark row is "<family>/<workload>/<impl>" (Google Benchmark appends
 * "/real_time" and "/threads:N").  A C file registers its rows from a
 * constructor, so there is no central list:
 *
 *     static void body(wb_thread *t) { ...measured loop...; wb_done(t, ops); }
 *     __attribute__((constructor)) static void reg(void)
 *     {
 *             wb_register("mutex/uncontended/weft_mutex", body, WB_T1);
 *     }
 *
 * One run of a row (Google Benchmark may make several while it grows the
 * iteration count of a fixed loop; a timed loop lasts its window, so its first
 * run is kept):
 *
 *   1. thread 0 calls def->setup(t) if set; its result is t->shared on every thread;
 *   2. all threads pass a barrier: nobody measures before setup is done;
 *   3. all threads pass a second barrier; the last to arrive sets ONE start
 *      stamp a little in the future (WB_START_LEAD_NS), and every thread waits
 *      for that stamp before it calls def->body(t) ONCE (so no thread starts
 *      ahead: a thread the scheduler runs late simply starts late);
 *      the body runs its own loop (so the loop contains only direct calls)
 *      and reports its operation count with wb_done();
 *   4. the measured window: a timed loop ends at ONE stop stamp, taken when
 *      thread 0 finds the window over (start + window, checked at each of
 *      its operations) and raises the stop flag, or when the runner's timer
 *      thread does at start + window (every run with more than one thread,
 *      unless the row says WB_STOP_SELF), whichever comes first: a fixed
 *      window in which all threads ran, which a starved or blocked thread 0
 *      cannot stretch; every thread stops at its next check of the flag (one
 *      load per operation, and under WB_LONGEST_WAIT one timestamp that gives
 *      each thread's longest operation, its wait included).  A thread that sees
 *      the flag more than WB_LATE_NS after the stamp was inside an operation
 *      when the window closed: that operation is not counted.  A fixed loop
 *      ends when the last body returns;
 *   5. thread 0 calls def->teardown(t), then computes the counters:
 *      items_per_second = summed in-window counts / (stop - start),
 *      fairness and per-thread counts, per-thread latency percentiles (and
 *      their worst), CPU time per operation, run-queue delay (schedstat),
 *      and the wb_counter() values.
 *
 * The window is --benchmark_min_time, times WB oversubscription factor
 * (--wb_oversub_factor, default 3) when the row has more threads than CPUs.
 *
 * Two loop shapes:
 *   fixed  - every thread runs t->iters operations:
 *                for (i = 0; i < t->iters; i++) op();  wb_done(t, t->iters);
 *   timed  - every thread runs until the window closes; per-thread counts
 *            differ and fairness shows:
 *                for (i = 0; wb_running(t, i); i++) op();  wb_done(t, i);
 *            A body whose threads may block (a queue, a semaphore) must make
 *            sure nobody sleeps forever once the window closes: thread 0
 *            raises the stop flag itself (it is never blocked when it does),
 *            then, after its loop, it can post, broadcast or push enough to
 *            wake the others, and the others test wb_stopped() after every
 *            wake-up.
 *
 * Everything here is C and C++ (shim.cc and the *_cxx.cc peers include it).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- registration ------------------------------------------------------- */

/* Thread counts as a mask: WB_T(n) is n threads (1 <= n <= 64). */
#define WB_T(n) (UINT64_C(1) << ((n) - 1))
#define WB_T1 WB_T(1)
#define WB_T2 WB_T(2)
#define WB_T4 WB_T(4)
#define WB_T8 WB_T(8)
#define WB_T16 WB_T(16)
#define WB_T64 WB_T(64)
#define WB_T1248 (WB_T1 | WB_T2 | WB_T4 | WB_T8) /* the standard sweep */

/* wb_def.flags: which derived counters thread 0 emits after a run. */
#define WB_FAIRNESS 0x1u /* fair_max_min, fair_cv over the per-thread wb_done() counts */
#define WB_LATENCY 0x2u  /* <lat_name>_p50_ns, _p99_ns, _max_ns over wb_sample_*() samples */
#define WB_CPU 0x4u      /* kept for the rows that set it: cpu_ns_per_op and runq_ns_per_op
			  * (CPU time and run-queue delay per operation) are now on every row */
/* The runner's timer closes the window at start + window, even while thread 0
 * is blocked (a starved thread 0 cannot stretch the window).  It does so for
 * every run with more than one thread unless the row says WB_STOP_SELF; this
 * flag asks for it at one thread too. */
#define WB_STOP_TIMER 0x8u
/* The body counts only operations that completed before the stop (it tests
 * wb_stopped() after each one), so the runner drops nothing for a late thread. */
#define WB_EXACT_OPS 0x10u
/* Only thread 0 may close the window (the runner's timer stays off): for a body
 * in which thread 0 can wait for ever on a thread that acted on the stop flag
 * (it would hang when the timer closed the window while thread 0 slept).  No
 * row needs it today: in every body either only thread 0 acts on the flag, or
 * what a thread waits for is released by threads that do not stop while they
 * hold it (locks, permits, queues drained by consumers that ignore the flag). */
#define WB_STOP_SELF 0x20u
/* Time every operation of a multi-thread run (one timestamp in wb_running(),
 * about 9 ns on the development VM): longest_wait_ns, each thread's longest
 * operation with its wait, exactly, where one sample in 64 would miss a single
 * long starvation.  For the rows where waiting is the point (locks,
 * semaphores, queues); not for rows whose operation costs about one timestamp
 * (a counter's atomic add, a pool's pop and push), which it would double. */
#define WB_LONGEST_WAIT 0x40u

typedef struct wb_thread wb_thread;

typedef void (*wb_body_fn)(wb_thread *t);
typedef void *(*wb_setup_fn)(wb_thread *t);
typedef void (*wb_teardown_fn)(wb_thread *t);

typedef struct wb_def {
	const char *name;        /* "<family>/<workload>/<impl>", copied */
	wb_body_fn body;         /* runs once per thread per run, measured */
	uint64_t threads;        /* thread counts: WB_T1 | WB_T2 ... */
	unsigned flags;          /* WB_FAIRNESS | WB_LATENCY | WB_CPU */
	const void *arg;         /* constant row parameter, seen as t->arg (not copied) */
	wb_setup_fn setup;       /* optional: thread 0, before anyone measures; returns t->shared */
	wb_teardown_fn teardown; /* optional: thread 0, after everyone stopped measuring */
	const char *lat_name;    /* latency counter prefix; NULL means "wait" */
} wb_def;

/* Register a row (call from a constructor).  Duplicate names abort. */
void wb_register(const char *name, wb_body_fn body, uint64_t threads);
void wb_register_def(const wb_def *def);

/* ---- the per-thread context ------------------------------------------ */

#define WB_MAX_COUNTERS 16

/* Kinds for wb_counter(): how thread 0 combines the threads' values. */
#define WB_SUM 0u  /* summed over threads (a run-wide value: set it on one thread) */
#define WB_RATE 1u /* summed over threads, then divided by the run's seconds */
#define WB_AVG 2u  /* averaged over the threads that set it */

struct wb_counter_slot {
	const char *name; /* a string literal; compared by content */
	double value;
	unsigned kind;
};

struct wb_run; /* internal: one per run, shared by its threads */

struct wb_thread {
	/* read by bodies */
	int tid;             /* 0 .. nthreads-1 */
	int nthreads;        /* threads in this run */
	uint64_t iters;      /* Google Benchmark's iteration count for this run */
	const void *arg;     /* wb_def.arg */
	void *shared;        /* what setup returned (NULL without setup) */
	uint32_t *stop_flag; /* nonzero once thread 0 has stopped; see wb_stopped() */

	/* written through the functions below */
	uint64_t ops;        /* wb_done() */
	uint64_t deadline;   /* thread 0's safety cap, in wb_now() ticks */
	uint64_t *samples;   /* latency samples in ticks (WB_LATENCY), reservoir of samples_cap */
	uint32_t samples_cap;
	uint32_t samples_n;
	uint64_t samples_seen;
	uint64_t rng;
	int ncounters;
	struct wb_counter_slot counters[WB_MAX_COUNTERS];
	uint64_t cpu_ns;     /* set by the runner around the body */
	uint64_t runq_ns;    /* run-queue delay around the body (schedstat), set by the runner */
	uint64_t seen_stop;  /* wb_now() when this thread saw the stop flag (0: never) */
	uint32_t time_ops;   /* set by the runner: WB_LONGEST_WAIT and more than one thread */
	uint64_t last_check; /* wb_now() at this thread's previous wb_running() (the start stamp first) */
	uint64_t op_max;     /* the longest time between two of its wb_running() checks, in ticks:
			      * its longest operation, wait included, every operation timed
			      * (time_ops) */
	uint32_t late;       /* 1: saw the flag late, its operation in flight is not counted */
	struct wb_run *run;
};

/* The operation count of this thread: items_per_second sums it over threads. */
static inline void wb_done(wb_thread *t, uint64_t ops)
{
	t->ops = ops;
}

/* In teardown: the sum of every thread's wb_done() count for this run. */
uint64_t wb_total_ops(const wb_thread *t);

/* A named counter (see WB_SUM, WB_RATE, WB_AVG).  Call after the measured loop. */
void wb_counter(wb_thread *t, const char *name, double value, unsigned kind);

/* Print a message naming the row and exit(1): a broken invariant in a body. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
void wb_fail(const wb_thread *t, const char *fmt, ...);

/* ---- the timed loop --------------------------------------------------- */

/* Out of line: the end of the window passed (thread 0 alone checks it every 16 operations). */
bool wb_over_time(wb_thread *t);

/* Raise the stop flag and take the run's stop stamp (wb_running() does it for
 * thread 0 when the window is over; out of line, once per run). */
void wb_stop(wb_thread *t);

/* Out of line, cold: a thread other than 0 saw the flag (stamps it). */
void wb_saw_stop(wb_thread *t);

/* True once thread 0 has closed the window. */
static inline bool wb_stopped(const wb_thread *t)
{
	/* relaxed: a flag; the line stays shared in every cache until the one write */
	return __atomic_load_n(t->stop_flag, __ATOMIC_RELAXED) != 0;
}

/* ---- time, work and latency samples ----------------------------------- */

uint64_t wb_clock_ns(void); /* CLOCK_MONOTONIC in ns */

/* A cheap monotonic tick counter (rdtsc on x86, CLOCK_MONOTONIC ns elsewhere). */
static inline uint64_t wb_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return wb_clock_ns();
#endif
}

/*
 * wb_running() - the condition of a timed loop, @done operations so far.
 * Thread 0: true until the window is over (checked at every operation when
 * operations are timed, every 16 otherwise; never before its first one) or the
 * runner's timer closed it; then it raises the stop flag.  Others: true until
 * the flag is up.  Under WB_LONGEST_WAIT (more than one thread), every call
 * also times the operation since the previous call (op_max: the thread's
 * longest wait).
 */
static inline bool wb_running(wb_thread *t, uint64_t done)
{
	uint64_t now = 0;
	if (t->time_ops) {
		/* WB_LONGEST_WAIT: every operation timed, once (not sampled): a
		 * thread starved once for a long time shows in its op_max, where
		 * one sample in 64 would miss it */
		now = wb_now();
		if (now - t->last_check > t->op_max)
			t->op_max = now - t->last_check;
		t->last_check = now;
	}
	if (t->tid != 0) {
		if (!wb_stopped(t))
			return true;
		wb_saw_stop(t);
		return false;
	}
	if (wb_stopped(t)) { /* the timer closed the window */
		wb_saw_stop(t);
		return false;
	}
	/* at least one operation: a thread 0 scheduled after the window closed
	 * still does one, as the bodies' hand-shakes expect (a waiter that starts
	 * after thread 0 has stopped would otherwise wait for ever) */
	if (done == 0)
		return true;
	if (now ? now <= t->deadline : ((done & 15u) != 0 || !wb_over_time(t)))
		return true;
	wb_stop(t);
	return false;
}

/* Tick conversions, calibrated at startup by the runner. */
double wb_ticks_to_ns(uint64_t ticks);
uint64_t wb_ns_to_ticks(double ns);

/*
 * wb_work() - burn @loops iterations of a dependent add that the compiler
 * cannot remove and that touches no memory.  wb_work_loops(ns) converts a
 * duration to loops with the speed calibrated ONCE at startup, so busy work is
 * counted in iterations: rows that are compared do the same work, whatever
 * the host's load does to the loop's speed later.  The runner re-measures the
 * speed before every run (counter work_ns_per_kloop) so that drift shows
 * beside the results.  Compute the loops before the measured loop.
 */
static inline void wb_work(uint32_t loops)
{
	for (uint32_t i = 0; i < loops; i++)
		__asm__ __volatile__("" : "+r"(i));
}
uint32_t wb_work_loops(double ns);

/* Latency sampling: one operation in WB_SAMPLE_EVERY is timed. */
#define WB_SAMPLE_EVERY 64u

/*
 * wb_sample_begin() - the start tick if operation number @i is sampled, else 0.
 * wb_sample_end()   - record now - @start if @start is nonzero.
 *
 *     uint64_t s = wb_sample_begin(i);
 *     lock(l);
 *     wb_sample_end(t, s);            -- the acquire wait of operation i
 */
static inline uint64_t wb_sample_begin(uint64_t i)
{
	return (i & (WB_SAMPLE_EVERY - 1)) ? 0 : wb_now();
}

void wb_record_ticks(wb_thread *t, uint64_t ticks); /* out of line, cold */

static inline void wb_sample_end(wb_thread *t, uint64_t start)
{
	if (start)
		wb_record_ticks(t, wb_now() - start);
}

/* Record a latency measured some other way, in ns (e.g. a broadcast's wake-all
 * time).  wb_record_ticks() and wb_sample_end() subtract the cost of taking two
 * timestamps (calibrated at startup); this one records @ns as given. */
void wb_record_ns(wb_thread *t, double ns);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_SHIM_H */
