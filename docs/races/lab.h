/* SPDX-License-Identifier: MIT */
#ifndef WEFT_RACE_LAB_H
#define WEFT_RACE_LAB_H

/*
 * lab.h - the harness shared by every program of weft's race lab (docs/races/r*.c).
 *
 * A race program describes itself in one `struct lab_prog` (name, title, default
 * parameters, a table of modes) and one function that runs a mode once; it ends
 * with `int main(int argc, char **argv) { return lab_main(&prog, argc, argv); }`.
 * lab_main() parses the flags, repeats the runs, prints the summary lines and
 * picks the exit status.  Everything is static inline: include it in exactly one
 * .c file per program.  lab_run_threads() / lab_run_procs() pin worker i to core
 * i % ncpus and release all workers together, so that the races of a few
 * milliseconds' work do show on a 2-core machine.
 *
 * ---- Flags (every program) -------------------------------------------------
 *
 *   --mode NAME    run one mode; without --mode every mode runs, in table order
 *   --runs N       repeat each mode N times (default: the program's, usually 10)
 *   --threads N    threads      (default: the program's, from the article)
 *   --iters N      iterations   (per thread or process; default: the program's)
 *   --procs N      processes    (programs that fork; default: the program's)
 *   --quiet        only the mode headers and the summary lines, not each run
 *   --list-modes   print the machine-readable mode lists below and exit 0
 *   --schedule S   a forced schedule: the racy code runs one step at a time in
 *                  the order S ("T1,T2,T1,T2"; "T2*6" is six T2 steps), see
 *                  "Steps" below; threads default to the highest T named,
 *                  iters to 1, runs to 10
 *   --trace        record every step (per-thread buffers, CPU-counter times)
 *                  and print the windows where an update was lost (or the
 *                  stock oversold ...) as columns T1 | T2 | shared value
 *   --trace-data F write the first such window as tab-separated data for a
 *                  picture (scripts/races_plot.gp, make races-doc)
 *   --help
 *   --NAME N       a program's own numeric flags (struct lab_flag), in --help
 *
 * ---- Exit status (the checker relies on it) -------------------------------
 *
 *   0  every run of the chosen mode produced the expected (correct) result;
 *      without --mode: every run of every *fixed* mode was correct (a racy mode
 *      going wrong is what the lab is for, so it does not fail the whole run)
 *   1  a wrong result was observed (so `--mode racy` exits 1 when the race showed)
 *   2  usage error (unknown flag or mode, bad number)
 *
 * ---- --list-modes (the checker's contract) --------------------------------
 *
 * One line per kind, each "kind:" followed by space-separated mode names; a kind
 * with no mode is printed with nothing after the colon:
 *
 *   racy: racy widened       modes that produce a wrong result on this machine;
 *                            `make races-count` counts how often (target >= 9/10)
 *   fixed: mutex spin atomic modes that must be correct in every run (exit 0)
 *   other: fair              modes shown for evidence only (a cost, a failure the
 *                            hardware hides): run, printed, never judged
 *   tsan-racy: racy          modes whose -fsanitize=thread build must report
 *                            ("WARNING: ThreadSanitizer" on stderr)
 *   tsan-clean: mutex atomic modes whose TSan build must stay silent: exit 0 for a
 *                            fixed mode; a racy mode listed here (a race in the
 *                            logic, with no data race, e.g. check-then-act on
 *                            atomics) may exit 1, but never with a TSan report
 *
 *   schedule: racy lose T1,T2,T1,T2   a forced schedule (one line each):
 *                            mode, the outcome it must give every time (lose:
 *                            wrong in every run; safe: correct in every run),
 *                            the schedule; `make races-check` runs each 10 times
 *
 * A mode may be in neither tsan list (TSan cannot see a race between processes,
 * so the fork-based modes are left out; say so in the mode's description).
 *
 * ---- Output (what students read; scripts parse only the summary lines) ----
 *
 *   R1 lost update: threads do counter++ on one plain int
 *   threads 4, iters 100000, runs 10
 *
 *   [racy] counter++ on a plain int, no lock
 *     run  1: expected 400000, got 271344: 32.2% of updates lost
 *     ...
 *     the race showed in 10 of 10 runs
 *   [mutex] weft_mutex_t around counter++
 *     run  1: expected 400000, got 400000: correct, 41.0 ns/op
 *     ...
 *     fix 'mutex': correct in 10 of 10 runs, median 41.0 ns/op
 *
 * The summary line is "SYMPTOM in X of N runs[, median C ns/op]" for racy
 * and other modes (SYMPTOM in the program's words: "updates were lost", "the
 * deadlock happened"; "the race showed" by default) and "fix 'NAME': correct
 * in X of N runs[, median C ns/op]" for fixed modes; the median cost appears
 * when run() set one.
 *
 * ---- Steps: forced schedules and traces ----------------------------------
 *
 * The racy code marks its steps itself, so that what runs is the real code:
 *
 *	lab_step(self);                         // wait for this thread's turn
 *	long v = *counter;                      // the step
 *	lab_ev(self, LAB_EV_LOAD, v, "load");   // record it, pass the turn on
 *
 * `self` is the worker's index (T1 is index 0).  Without --schedule and
 * --trace both calls test one global and return.  With --schedule the gates
 * (lab_step) release one thread at a time in the order given; a step that may
 * block (taking a lock) passes the turn on *before* blocking (lab_ev first).
 * When the schedule is used up, or names a thread that has finished, the gates
 * skip it; a gate that waits 2 s for a thread that never comes (blocked
 * elsewhere) says so on stderr and opens every gate.  The gates and the trace
 * buffers live in MAP_SHARED memory, so the fork()ed workers of
 * lab_run_procs() use them too.
 *
 * The trace: each thread appends (CPU counter, kind, value) to its own buffer
 * (no lock, no shared write: recording does not synchronize the threads); the
 * driver merges them by time after the run.  A LOAD/CHECK reads the shared
 * value, a STORE/ACT writes it; a store made when the shared value is no
 * longer what its thread last read overwrote someone's update (or acted on a
 * stale check) and is marked; LAB_EV_BAD marks a symptom seen in the act (a
 * double hand-out ...).
 *
 * ---- docs/races.md markers (scripts/races_doc.py, `make races-doc`) --------
 *
 * A chapter docs/races/chapters/rNN.md may contain, each alone on a line:
 *
 *   <!-- run: r01_lost_update --mode racy --runs 3 -->
 *       replaced by the command line and its real output (stdout and stderr,
 *       as run by the normal gcc build) in a fenced block
 *   <!-- tsan: r01_lost_update --mode racy -->
 *       replaced by the first ThreadSanitizer report of the -fsanitize=thread
 *       build run with those flags, trimmed to what a student needs (addresses,
 *       pids, thread ids and build paths stripped)
 *
 * The first word is the program (docs/races/<name>.c); the rest are its flags.
 * The generated docs/races.md keeps the marker line above each block so that
 * the chapter text stays the single source.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* CPU_SET, sched_setaffinity */
#endif
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* LAB_TSAN is 1 in the -fsanitize=thread build: programs may shrink their work. */
#if defined(__SANITIZE_THREAD__)
#define LAB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LAB_TSAN 1
#endif
#endif
#ifndef LAB_TSAN
#define LAB_TSAN 0
#endif

enum lab_kind {
	LAB_RACY,  /* should go wrong; counted */
	LAB_FIXED, /* must be correct in every run */
	LAB_OTHER, /* evidence only, never judged */
};

enum lab_tsan {
	LAB_TSAN_SKIP,    /* not checked under TSan (e.g. a race between processes) */
	LAB_TSAN_REPORTS, /* the TSan build must report */
	LAB_TSAN_SILENT,  /* the TSan build must stay silent */
};

struct lab_mode {
	const char *name;
	enum lab_kind kind;
	enum lab_tsan tsan;
	const char *what; /* the header line: what this mode does */
};

struct lab_opts {
	int threads;
	long iters;
	int procs;
	int runs;
	bool quiet;
};

/* What one run reports back to the driver. */
struct lab_result {
	bool wrong;        /* a wrong result (lost update, oversold, double hand-out ...) */
	double ns_per_op;  /* the cost; < 0 when not measured */
	char line[256];    /* the run's one line, without the "run N:" prefix */
};

/* A program's own numeric flag: "--name N", range-checked, shown by --help. */
struct lab_flag {
	const char *name;  /* without the dashes */
	const char *help;
	long *value;       /* the program's global, holding its default */
	long min, max;
};

/* A forced schedule and the outcome it gives every time (--list-modes "schedule:"). */
struct lab_schedule {
	const char *mode;
	bool loses;        /* true: wrong in every run; false: correct in every run */
	const char *order; /* "T1,T2,T1,T2" */
};

struct lab_prog {
	const char *name;  /* "r01_lost_update" */
	const char *title; /* "R1 lost update: threads do counter++ on one plain int" */
	int threads, procs, runs;
	long iters;
	long tsan_iters;   /* default iterations in the TSan build; 0: same as iters */
	/* what went wrong, as the summary says it: "<symptom> in X of N runs"; the
	 * words fit the kind ("updates were lost", "the deadlock happened", "the
	 * lock starved a thread"); NULL: "the race showed" */
	const char *symptom;
	const struct lab_mode *modes;
	int nmodes;
	/* Runs `mode` once with `opts`; fills `res` (use lab_result_say()). */
	void (*run)(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res);
	const struct lab_flag *flags; /* optional: the program's own flags */
	int nflags;
	/* optional: called after every mode ran (not with --mode), for a concluding
	 * line such as a ratio of two modes' costs */
	void (*after)(const struct lab_opts *opts);
	/* optional: the forced schedules its chapter shows, checked by races-check */
	const struct lab_schedule *schedules;
	int nschedules;
};

#define LAB_MAX_RUNS 1000
#define LAB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool lab_quiet_flag;

/* ---- time ---------------------------------------------------------------- */

static inline uint64_t lab_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy-waits about `ns` nanoseconds without a system call (widens a race window). */
static inline void lab_spin_ns(uint64_t ns)
{
	uint64_t end = lab_now_ns() + ns;
	while (lab_now_ns() < end)
		;
}

/* ---- output -------------------------------------------------------------- */

/* An extra line of a run (per-thread counts ...), indented, hidden by --quiet. */
__attribute__((format(printf, 1, 2)))
static inline void lab_say(const char *fmt, ...)
{
	if (lab_quiet_flag)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("    ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* Sets the run's line. */
__attribute__((format(printf, 2, 3)))
static inline void lab_result_say(struct lab_result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->line, sizeof(res->line), fmt, ap);
	va_end(ap);
}

/*
 * Compares a count with what it should be and sets the run's line and verdict:
 *   "expected 400000, got 271344: 32.2% of updates lost"
 *   "expected 1 sold, got 4: 3 more than possible"      (noun "sold")
 *   "expected 400000, got 400000: correct"
 * `lost_what` names what a shortfall loses ("updates").
 */
static inline void lab_check_count(struct lab_result *res, long long expected, long long got,
				   const char *lost_what)
{
	res->wrong = got != expected;
	if (got == expected)
		lab_result_say(res, "expected %lld, got %lld: correct", expected, got);
	else if (got < expected)
		lab_result_say(res, "expected %lld, got %lld: %.1f%% of %s lost", expected, got,
			       100.0 * (double)(expected - got) / (double)expected, lost_what);
	else
		lab_result_say(res, "expected %lld, got %lld: %lld more than possible", expected, got,
			       got - expected);
}

/* Records the cost: `elapsed_ns` spent on `ops` operations. */
static inline void lab_set_cost(struct lab_result *res, uint64_t elapsed_ns, double ops)
{
	res->ns_per_op = ops > 0 ? (double)elapsed_ns / ops : -1.0;
}

static inline void lab__die(const char *what, int err)
{
	fprintf(stderr, "race lab: %s: %s\n", what, strerror(err));
	exit(3);
}

/* ---- steps: forced schedules and traces (see "Steps" at the top) ---------- */

#define LAB_SCHED_MAX 512      /* steps in one --schedule */
#define LAB_LANES 8            /* threads a schedule or trace can name */
#define LAB_TRACE_CAP (1L << 18) /* events per thread */
#define LAB_NOVAL (-0x7fffffffL - 1) /* lab_ev() value: nothing to show */
#define LAB_STUCK_NS 2000000000ull /* a gate waits this long for a turn that never comes */

enum lab_ev_kind {
	LAB_EV_LOAD,  /* reads the shared value */
	LAB_EV_STORE, /* writes the shared value */
	LAB_EV_CHECK, /* a load that decides (if stock > 0) */
	LAB_EV_ACT,   /* a store acting on that decision */
	LAB_EV_NOTE,  /* anything else (takes a lock, waits, CAS failed ...) */
	LAB_EV_BAD,   /* the symptom, seen as it happens (a double hand-out ...) */
};

struct lab_event {
	uint64_t ticks;   /* the CPU's counter when the step was done */
	long value;       /* the value the step read or wrote (LAB_NOVAL: none) */
	const char *what; /* "load", "store", "wants lock B" ... (a string literal) */
	int kind;
	int lane;         /* the thread: 0 for T1 */
};

/* Shared (MAP_SHARED) between the workers, whether threads or processes. */
struct lab__steps {
	int len;                      /* --schedule's steps; 0: no schedule */
	unsigned char order[LAB_SCHED_MAX];
	int pos;                      /* atomic: the step whose turn it is */
	int open;                     /* atomic: the stuck-gate watchdog opened every gate */
	int done[LAB_LANES];          /* atomic: the worker finished */
	int held[LAB_LANES];          /* the worker holds the turn (only it touches its slot) */
	int steps_done;               /* steps printed (under the turn) */
	bool has_shared;              /* lab_shared_value() was called this run */
	long shared;                  /* the shared value as the schedule's steps left it */
	long initial;                 /* ... and before the run */
	long seen[LAB_LANES];         /* under the schedule: what each thread last read */
	bool have_seen[LAB_LANES];
	long count[LAB_LANES];        /* events in each lane's buffer (its own slot only) */
	uint64_t t0_ticks, t0_ns, t1_ticks, t1_ns; /* the counter's rate, for the trace */
};

static struct lab__steps *lab__st;   /* NULL: neither --schedule nor --trace */
static struct lab_event *lab__buf;  /* LAB_LANES * LAB_TRACE_CAP events, MAP_SHARED */
static bool lab__scheduled, lab__tracing;
static const char *lab__trace_data;  /* --trace-data FILE */
static int lab__hooks;               /* lab__scheduled || lab__tracing */

/* The CPU's own counter: cheap, not a system call, so recording barely changes
 * the timing it records.  rdtscp waits for the instructions before it (the
 * step) to execute; aarch64's virtual counter is read with an isb before it. */
static inline uint64_t lab_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned lo, hi, aux;
	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
	return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
	uint64_t v;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
#else
	return lab_now_ns();
#endif
}

static inline bool lab_scheduled(void) { return lab__scheduled; }

/* Optional: writes the shared state as text for the schedule's printout (R12's
 * stack and tag) instead of the number lab_ev() last stored. */
static void (*lab_shared_describe)(char *buf, size_t size);
static inline bool lab_tracing(void) { return lab__tracing; }

/* The shared value's value before the run (the counter's 0, the stock's 1):
 * the trace and the schedule's printout start from it. */
static inline void lab_shared_value(long v)
{
	if (!lab__st)
		return;
	lab__st->has_shared = true;
	lab__st->shared = lab__st->initial = v;
}

static inline void lab__step_wait(int self)
{
	struct lab__steps *st = lab__st;
	if (self < 0 || self >= LAB_LANES) /* not a worker (setup in main): no gate */
		return;
	int last = -1;
	uint64_t since = 0;
	for (unsigned k = 0;; k++) {
		/* acquire: pairs with the release that passed the turn, so the
		 * previous step's writes are seen by this one */
		int p = __atomic_load_n(&st->pos, __ATOMIC_ACQUIRE);
		if (p >= st->len || __atomic_load_n(&st->open, __ATOMIC_ACQUIRE))
			return; /* the schedule is used up: run freely */
		int who = st->order[p];
		if (who == self) {
			st->held[self] = 1;
			return;
		}
		if (who >= LAB_LANES || __atomic_load_n(&st->done[who], __ATOMIC_ACQUIRE)) {
			/* that thread finished (or does not exist): skip its step;
			 * acq_rel: as a passed turn */
			__atomic_compare_exchange_n(&st->pos, &p, p + 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			continue;
		}
		if (p != last) {
			last = p;
			since = lab_now_ns();
		} else if ((k & 1023) == 0 && lab_now_ns() - since > LAB_STUCK_NS) {
			fprintf(stderr, "race lab: schedule step %d is T%d's, which has not come to it in %.0f s "
					"(blocked elsewhere?): every gate is open now\n",
				p + 1, who + 1, (double)LAB_STUCK_NS / 1e9);
			__atomic_store_n(&st->open, 1, __ATOMIC_RELEASE); /* release: as a passed turn */
			return;
		}
		if (k < 2000)
			__asm__ __volatile__("" ::: "memory");
		else
			sched_yield();
	}
}

/* Waits for this thread's turn under --schedule; returns at once otherwise. */
static inline void lab_step(int self)
{
	if (__builtin_expect(!lab__scheduled, 1))
		return;
	lab__step_wait(self);
}

/* One line of a two-column picture: T1's text | T2's text | the shared value. */
static inline void lab__row(int nlanes, const char *prefix, int lane, const char *text, const char *shared)
{
	char line[512];
	int at = snprintf(line, sizeof(line), "    %s", prefix);
	for (int l = 0; l < nlanes && at < (int)sizeof(line); l++)
		at += snprintf(line + at, sizeof(line) - (size_t)at, "%-24s%s", l == lane ? text : "",
			       l + 1 < nlanes || shared ? "| " : "");
	if (shared && at < (int)sizeof(line))
		snprintf(line + at, sizeof(line) - (size_t)at, "%s", shared);
	while (at > 0 && at < (int)sizeof(line) && line[at - 1] == ' ' && !shared)
		line[--at] = 0;
	puts(line);
}

static inline int lab__nlanes(void)
{
	int n = 0;
	for (int i = 0; i < lab__st->len; i++)
		n = lab__st->order[i] + 1 > n ? lab__st->order[i] + 1 : n;
	return n < 2 ? 2 : n;
}

/* The columns' header; `shared`: with the shared value's column. */
static inline void lab__step_header(int nlanes, const char *first, bool shared)
{
	char text[32], prefix[16];
	snprintf(prefix, sizeof(prefix), "%-9s", first);
	char line[512];
	int at = snprintf(line, sizeof(line), "    %s", prefix);
	for (int l = 0; l < nlanes && at < (int)sizeof(line); l++) {
		snprintf(text, sizeof(text), "T%d", l + 1);
		at += snprintf(line + at, sizeof(line) - (size_t)at, "%-24s%s", text, l + 1 < nlanes || shared ? "| " : "");
	}
	if (shared && at < (int)sizeof(line))
		snprintf(line + at, sizeof(line) - (size_t)at, "shared value");
	while (at > 0 && at < (int)sizeof(line) && line[at - 1] == ' ' && !shared)
		line[--at] = 0;
	puts(line);
}

static inline void lab__ev(int self, int kind, long value, const char *what)
{
	struct lab__steps *st = lab__st;
	if (self < 0 || self >= LAB_LANES)
		return;
	if (lab__tracing && st->count[self] < LAB_TRACE_CAP) {
		/* this thread's own buffer and count: nothing shared is written */
		lab__buf[(long)self * LAB_TRACE_CAP + st->count[self]] =
			(struct lab_event){ .ticks = lab_ticks(), .value = value, .what = what, .kind = kind, .lane = self };
		st->count[self]++;
	}
	if (lab__scheduled && st->held[self]) {
		bool marked = kind == LAB_EV_BAD;
		if (kind == LAB_EV_LOAD || kind == LAB_EV_CHECK) {
			st->seen[self] = value;
			st->have_seen[self] = true;
		} else if (kind == LAB_EV_STORE || kind == LAB_EV_ACT) {
			marked = st->have_seen[self] && st->seen[self] != st->shared; /* as lab__trace_merge() */
			st->have_seen[self] = false;
			st->shared = value;
		}
		if (!lab_quiet_flag) {
			char text[64], shared_text[96], prefix[16];
			const char *shared = shared_text;
			if (value == LAB_NOVAL || lab_shared_describe) /* the text says it all */
				snprintf(text, sizeof(text), "%s%s", marked ? "* " : "", what);
			else
				snprintf(text, sizeof(text), "%s%s %ld", marked ? "* " : "", what, value);
			if (lab_shared_describe)
				lab_shared_describe(shared_text, sizeof(shared_text));
			else if (st->has_shared)
				snprintf(shared_text, sizeof(shared_text), "%ld", st->shared);
			else
				shared = NULL; /* no shared value: no column */
			if (st->steps_done == 0) /* the header, now that the run said whether there is a shared value */
				lab__step_header(lab__nlanes(), "step", shared != NULL);
			snprintf(prefix, sizeof(prefix), "%-9d", ++st->steps_done);
			lab__row(lab__nlanes(), prefix, self, text, shared);
			fflush(stdout);
		}
		st->held[self] = 0;
		/* release: the next thread's step sees everything this one did */
		__atomic_fetch_add(&st->pos, 1, __ATOMIC_RELEASE);
	}
}

/* Records a step (under --trace) and passes the turn on (under --schedule). */
static inline void lab_ev(int self, int kind, long value, const char *what)
{
	if (__builtin_expect(!lab__hooks, 1))
		return;
	lab__ev(self, kind, value, what);
}

/* A worker finished: the gates skip its remaining turns. */
static inline void lab__finish(int self)
{
	if (!lab__st || self < 0 || self >= LAB_LANES)
		return;
	if (lab__st->held[self]) { /* finished holding the turn: pass it on */
		lab__st->held[self] = 0;
		__atomic_fetch_add(&lab__st->pos, 1, __ATOMIC_RELEASE); /* release: as lab__ev */
	}
	__atomic_store_n(&lab__st->done[self], 1, __ATOMIC_RELEASE); /* release: its last step is done */
}

static inline void lab__steps_reset(void)
{
	struct lab__steps *st = lab__st;
	if (!st)
		return;
	st->pos = st->open = st->steps_done = 0;
	st->has_shared = false;
	st->shared = 0;
	memset(st->done, 0, sizeof(st->done));
	memset(st->held, 0, sizeof(st->held));
	memset(st->have_seen, 0, sizeof(st->have_seen));
	memset(st->count, 0, sizeof(st->count));
	st->t0_ticks = lab_ticks();
	st->t0_ns = lab_now_ns();
}

/* Parses "T1,T2*3,1": into lab__st->order.  Return: the highest thread named, 0 on error. */
static inline int lab__parse_schedule(const char *s)
{
	int max = 0;
	lab__st->len = 0;
	while (*s) {
		if (*s == 'T' || *s == 't')
			s++;
		char *end;
		long t = strtol(s, &end, 10), times = 1;
		if (end == s || t < 1 || t > LAB_LANES)
			return 0;
		s = end;
		if (*s == '*') {
			times = strtol(s + 1, &end, 10);
			if (end == s + 1 || times < 1)
				return 0;
			s = end;
		}
		for (long k = 0; k < times; k++) {
			if (lab__st->len >= LAB_SCHED_MAX)
				return 0;
			lab__st->order[lab__st->len++] = (unsigned char)(t - 1);
		}
		max = (int)t > max ? (int)t : max;
		if (*s == ',')
			s++;
		else if (*s)
			return 0;
	}
	return max;
}

/* ---- the trace, after a run ---------------------------------------------- */

static inline int lab__cmp_event(const void *a, const void *b)
{
	const struct lab_event *x = a, *y = b;
	return (x->ticks > y->ticks) - (x->ticks < y->ticks);
}

/*
 * Merges the lanes by time and replays the shared value: a STORE or ACT made
 * when the shared value is no longer what that thread last LOADed or CHECKed
 * overwrote an update it never saw (or acted on a stale check): marked.
 * Return: the events (caller frees), *n of them; shared[i] is the value after
 * event i, mark[i] 1 for a marked event.
 */
static inline struct lab_event *lab__trace_merge(long *n, long **shared_out, char **mark_out, long *nmarks)
{
	struct lab__steps *st = lab__st;
	long total = 0;
	for (int l = 0; l < LAB_LANES; l++)
		total += st->count[l];
	struct lab_event *ev = malloc((size_t)(total ? total : 1) * sizeof(*ev));
	long *shared = malloc((size_t)(total ? total : 1) * sizeof(long));
	char *mark = calloc((size_t)(total ? total : 1), 1);
	if (!ev || !shared || !mark)
		lab__die("malloc", ENOMEM);
	long k = 0;
	for (int l = 0; l < LAB_LANES; l++)
		for (long i = 0; i < st->count[l]; i++)
			ev[k++] = lab__buf[(long)l * LAB_TRACE_CAP + i];
	qsort(ev, (size_t)total, sizeof(*ev), lab__cmp_event);
	long value = st->shared, seen[LAB_LANES];
	bool have_seen[LAB_LANES] = { false };
	*nmarks = 0;
	for (long i = 0; i < total; i++) {
		int l = ev[i].lane;
		switch (ev[i].kind) {
		case LAB_EV_LOAD:
		case LAB_EV_CHECK:
			seen[l] = ev[i].value;
			have_seen[l] = true;
			break;
		case LAB_EV_STORE:
		case LAB_EV_ACT:
			if (have_seen[l] && seen[l] != value)
				mark[i] = 1;
			value = ev[i].value;
			have_seen[l] = false;
			break;
		case LAB_EV_BAD:
			mark[i] = 1;
			break;
		default:
			break;
		}
		*nmarks += mark[i];
		shared[i] = value;
	}
	*n = total;
	*shared_out = shared;
	*mark_out = mark;
	return ev;
}

static inline double lab__ticks_to_ns(uint64_t dt)
{
	struct lab__steps *st = lab__st;
	double rate = st->t1_ticks > st->t0_ticks ? (double)(st->t1_ns - st->t0_ns) / (double)(st->t1_ticks - st->t0_ticks) : 1.0;
	return (double)dt * rate;
}

static inline void lab__trace_report(void)
{
	struct lab__steps *st = lab__st;
	st->t1_ticks = lab_ticks();
	st->t1_ns = lab_now_ns();
	long n, nmarks, *shared;
	char *mark;
	st->shared = st->initial;
	struct lab_event *ev = lab__trace_merge(&n, &shared, &mark, &nmarks);
	int nlanes = 2;
	for (int l = 0; l < LAB_LANES; l++)
		if (st->count[l] > 0 && l + 1 > nlanes)
			nlanes = l + 1;
	printf("    trace: %ld events, %ld marked (*): a store over an update its thread never read,"
	       " or the symptom itself\n", n, nmarks);
	uint64_t t0 = n > 0 ? ev[0].ticks : 0;
	long shown_to = -1;
	int windows = 0;
	for (long i = 0; i < n && windows < 3; i++) {
		if (!mark[i])
			continue;
		windows++;
		long from = i - 8 > shown_to + 1 ? i - 8 : shown_to + 1, to = i + 2 < n - 1 ? i + 2 : n - 1;
		if (from > shown_to + 1 || windows == 1) {
			printf("    ...\n");
			lab__step_header(nlanes, "ns", st->has_shared);
		}
		for (long j = from; j <= to; j++) {
			char text[64], sh[32], prefix[16];
			if (ev[j].value == LAB_NOVAL)
				snprintf(text, sizeof(text), "%s%s", mark[j] ? "* " : "", ev[j].what);
			else
				snprintf(text, sizeof(text), "%s%s %ld", mark[j] ? "* " : "", ev[j].what, ev[j].value);
			snprintf(sh, sizeof(sh), "%ld", shared[j]);
			snprintf(prefix, sizeof(prefix), "%-9.0f", lab__ticks_to_ns(ev[j].ticks - t0));
			lab__row(nlanes, prefix, ev[j].lane, text, st->has_shared ? sh : NULL);
		}
		shown_to = to;
		i = to;
	}
	if (lab__trace_data) {
		/* The window of the picture (all of a short trace): 12 events before a mark and 6 after,
		 * around the mark (of the first 100 000) whose window switches threads
		 * most often within 5 us -- the busiest interleaving; the start if
		 * there is no mark. */
		long best = -1, best_score = -1, seen_marks = 0;
		for (long i = 0; i < n && seen_marks < 100000; i++) {
			if (!mark[i])
				continue;
			seen_marks++;
			long score = 0, lo = i > 12 ? i - 12 : 0, hi = i + 6 < n - 1 ? i + 6 : n - 1;
			for (long j = lo + 1; j <= hi; j++)
				score += ev[j].lane != ev[j - 1].lane;
			/* a window across a preemption (tens of microseconds or more
			 * with one thread idle) draws as two clumps: only if no other */
			if (lab__ticks_to_ns(ev[hi].ticks - ev[lo].ticks) > 5000.0)
				score -= 1000;
			if (score > best_score)
				best = i, best_score = score;
		}
		long from = best >= 0 ? (best > 12 ? best - 12 : 0) : 0;
		long to = best >= 0 ? (best + 6 < n - 1 ? best + 6 : n - 1) : (n < 19 ? n - 1 : 18);
		if (n <= 32) /* a short trace (a forced schedule, R4's four buyers): all of it */
			from = 0, to = n - 1;
		FILE *f = fopen(lab__trace_data, "w");
		if (!f)
			lab__die(lab__trace_data, errno);
		fprintf(f, "# ns\tthread\tkind\tvalue\tshared_after\tmarked\twhat\n");
		static const char *kinds[] = { "load", "store", "check", "act", "note", "bad" };
		for (long j = from; j <= to; j++) {
			char value[32] = ""; /* empty: the step has no value to show */
			if (ev[j].value != LAB_NOVAL)
				snprintf(value, sizeof(value), "%ld", ev[j].value);
			fprintf(f, "%.0f\t%d\t%s\t%s\t%ld\t%d\t%s\n", lab__ticks_to_ns(ev[j].ticks - ev[from].ticks),
				ev[j].lane + 1, kinds[ev[j].kind], value, shared[j], mark[j], ev[j].what);
		}
		fclose(f);
	}
	free(ev);
	free(shared);
	free(mark);
}

/* ---- threads and processes ----------------------------------------------- */

typedef void (*lab_worker_fn)(void *ctx, int index);

struct lab__thread {
	pthread_t tid;
	lab_worker_fn fn;
	void *ctx;
	int index;
	int nthreads;
	int *arrived;           /* start gate: threads that have arrived */
	uint64_t begin_ns, end_ns;
};

/*
 * The start gate: every worker counts itself in, then waits (yielding the CPU)
 * until all have arrived, so that they start within microseconds of each other
 * (a sleeping barrier wakes them one futex wake -- tens of microseconds -- apart,
 * and a short loop could finish before the last one starts).
 */
static inline void lab__gate(int *arrived, int n)
{
	__atomic_fetch_add(arrived, 1, __ATOMIC_ACQ_REL); /* acq_rel: the gate orders the setup before the work */
	/* Spin a little first (some microseconds): a thread still on its core
	 * when the last one arrives starts at once; yield after that, so that a
	 * worker pinned to the same core can run and arrive. */
	for (int k = 0; __atomic_load_n(arrived, __ATOMIC_ACQUIRE) < n; k++) {
		if (k < 20000)
			__asm__ __volatile__("" ::: "memory");
		else
			sched_yield();
	}
}

/*
 * Pins the calling thread or process to CPU index % ncpus.  The lab's loops are
 * short (a few milliseconds); left alone, the scheduler often runs two new
 * threads one after the other on the same core, and a race needs them to run
 * at the same time on different cores.
 */
static inline void lab__pin(int index)
{
	cpu_set_t online;
	if (sched_getaffinity(0, sizeof(online), &online) != 0)
		return;
	int ncpus = CPU_COUNT(&online), want = index % (ncpus > 0 ? ncpus : 1);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &online))
			continue;
		if (want-- == 0) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			sched_setaffinity(0, sizeof(one), &one); /* best effort */
			return;
		}
	}
}

static inline void *lab__thread_main(void *arg)
{
	struct lab__thread *t = arg;
	lab__pin(t->index);
	lab__gate(t->arrived, t->nthreads);
	t->begin_ns = lab_now_ns();
	t->fn(t->ctx, t->index);
	t->end_ns = lab_now_ns();
	lab__finish(t->index);
	return NULL;
}

/*
 * Runs fn(ctx, 0) ... fn(ctx, n-1) on n threads that start together.
 * Return: wall-clock nanoseconds from the first worker's start to the last
 * worker's end (each worker reads the clock around its fn()).
 */
static inline uint64_t lab_run_threads(int n, lab_worker_fn fn, void *ctx)
{
	struct lab__thread *t = calloc((size_t)n, sizeof(*t));
	int arrived = 0;
	if (!t)
		lab__die("calloc", ENOMEM);
	for (int i = 0; i < n; i++) {
		t[i] = (struct lab__thread){ .fn = fn, .ctx = ctx, .index = i, .nthreads = n, .arrived = &arrived };
		int err = pthread_create(&t[i].tid, NULL, lab__thread_main, &t[i]);
		if (err)
			lab__die("pthread_create", err);
	}
	uint64_t begin = UINT64_MAX, end = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i].tid, NULL);
		begin = t[i].begin_ns < begin ? t[i].begin_ns : begin;
		end = t[i].end_ns > end ? t[i].end_ns : end;
	}
	free(t);
	return end - begin;
}

/* Zeroed memory shared with the children of later fork()s (MAP_SHARED | MAP_ANONYMOUS). */
static inline void *lab_shared_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		lab__die("mmap", errno);
	return p;
}

static inline void lab_shared_free(void *p, size_t bytes)
{
	munmap(p, bytes);
}

/*
 * Forks n processes that run fn(ctx, 0) ... fn(ctx, n-1) and _exit(0); `ctx`
 * must point into lab_shared_alloc() memory for the children's writes to be
 * seen.  They start together (the same gate, in shared memory).
 * Return: wall-clock nanoseconds from the first child's start to the last
 * child's end.
 */
static inline uint64_t lab_run_procs(int n, lab_worker_fn fn, void *ctx)
{
	struct lab__procs {
		int arrived;
		uint64_t begin_ns[1024], end_ns[1024];
	} *sh = lab_shared_alloc(sizeof(*sh));
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			lab__die("fork", errno);
		if (pid == 0) {
			lab__pin(i);
			lab__gate(&sh->arrived, n);
			sh->begin_ns[i] = lab_now_ns();
			fn(ctx, i);
			sh->end_ns[i] = lab_now_ns();
			lab__finish(i);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++) {
		int status;
		if (wait(&status) < 0)
			lab__die("wait", errno);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			lab__die("child process", ECHILD);
	}
	uint64_t begin = UINT64_MAX, end = 0;
	for (int i = 0; i < n; i++) {
		begin = sh->begin_ns[i] < begin ? sh->begin_ns[i] : begin;
		end = sh->end_ns[i] > end ? sh->end_ns[i] : end;
	}
	lab_shared_free(sh, sizeof(*sh));
	return end - begin;
}

/* ---- the driver ---------------------------------------------------------- */

static inline void lab__usage(const struct lab_prog *p, FILE *to)
{
	fprintf(to, "%s\nusage: %s [--mode NAME] [--runs N] [--threads N] [--iters N] [--procs N]"
		    " [--quiet] [--list-modes]\nmodes:\n", p->title, p->name);
	for (int i = 0; i < p->nmodes; i++)
		fprintf(to, "  %-10s %s\n", p->modes[i].name, p->modes[i].what);
	if (p->nflags > 0)
		fprintf(to, "program flags:\n");
	for (int i = 0; i < p->nflags; i++)
		fprintf(to, "  --%-12s N  %s (default %ld)\n", p->flags[i].name, p->flags[i].help, *p->flags[i].value);
}

static inline void lab__list(const struct lab_prog *p, const char *label, int kind, int tsan)
{
	fputs(label, stdout);
	fputc(':', stdout);
	for (int i = 0; i < p->nmodes; i++)
		if ((kind < 0 || (int)p->modes[i].kind == kind) && (tsan < 0 || (int)p->modes[i].tsan == tsan))
			printf(" %s", p->modes[i].name);
	fputc('\n', stdout);
}

static inline int lab__cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Runs one mode opts->runs times; prints its header, the runs and the summary.
 * Return: how many runs went wrong. */
static inline int lab__run_mode(const struct lab_prog *p, const struct lab_mode *m,
				const struct lab_opts *opts)
{
	static double costs[LAB_MAX_RUNS];
	int wrong = 0, ncosts = 0;
	printf("\n[%s] %s\n", m->name, m->what);
	fflush(stdout);
	for (int r = 0; r < opts->runs; r++) {
		struct lab_result res = { .wrong = false, .ns_per_op = -1.0, .line = "" };
		lab__steps_reset();
		p->run(m, opts, &res);
		if (lab__tracing)
			lab__trace_report();
		wrong += res.wrong;
		if (res.ns_per_op >= 0)
			costs[ncosts++] = res.ns_per_op;
		if (!opts->quiet) {
			if (res.ns_per_op >= 0)
				printf("  run %2d: %s, %.1f ns/op\n", r + 1, res.line, res.ns_per_op);
			else
				printf("  run %2d: %s\n", r + 1, res.line);
		}
		fflush(stdout);
	}
	if (m->kind == LAB_FIXED)
		printf("  fix '%s': correct in %d of %d runs", m->name, opts->runs - wrong, opts->runs);
	else
		printf("  %s in %d of %d runs", p->symptom ? p->symptom : "the race showed", wrong, opts->runs);
	if (ncosts > 0) {
		qsort(costs, (size_t)ncosts, sizeof(costs[0]), lab__cmp_double);
		printf(", median %.1f ns/op", costs[ncosts / 2]);
	}
	printf("\n");
	fflush(stdout);
	return wrong;
}

static inline bool lab__parse_num(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static inline int lab_main(const struct lab_prog *p, int argc, char **argv)
{
	static const struct option common[] = {
		{ "mode", required_argument, NULL, 'm' },  { "runs", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' }, { "iters", required_argument, NULL, 'i' },
		{ "procs", required_argument, NULL, 'p' },  { "quiet", no_argument, NULL, 'q' },
		{ "list-modes", no_argument, NULL, 'l' },   { "help", no_argument, NULL, 'h' },
		{ "schedule", required_argument, NULL, 's' }, { "trace", no_argument, NULL, 'T' },
		{ "trace-data", required_argument, NULL, 'D' },
	};
	enum { LAB_NCOMMON = sizeof(common) / sizeof(common[0]), LAB_FLAG_BASE = 1000 };
	/* The common options, then the program's own (val = LAB_FLAG_BASE + index), then the end. */
	struct option *longopts = calloc(LAB_NCOMMON + (size_t)p->nflags + 1, sizeof(*longopts));
	if (!longopts)
		lab__die("calloc", ENOMEM);
	memcpy(longopts, common, sizeof(common));
	for (int f = 0; f < p->nflags; f++)
		longopts[LAB_NCOMMON + f] = (struct option){ p->flags[f].name, required_argument, NULL, LAB_FLAG_BASE + f };
	struct lab_opts opts = {
		.threads = p->threads, .procs = p->procs, .runs = p->runs,
		.iters = (LAB_TSAN && p->tsan_iters > 0) ? p->tsan_iters : p->iters,
	};
	const char *mode_name = NULL, *schedule = NULL;
	bool set_threads = false, set_iters = false, set_procs = false;
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mode_name = optarg; break;
		case 'q': opts.quiet = true; break;
		case 's': schedule = optarg; break;
		case 'T': lab__tracing = true; break;
		case 'D': lab__tracing = true; lab__trace_data = optarg; break;
		case 'r':
			if (!lab__parse_num(optarg, 1, LAB_MAX_RUNS, &v))
				goto bad_number;
			opts.runs = (int)v;
			break;
		case 't':
			if (!lab__parse_num(optarg, 1, 1024, &v))
				goto bad_number;
			opts.threads = (int)v;
			set_threads = true;
			break;
		case 'p':
			if (!lab__parse_num(optarg, 1, 1024, &v))
				goto bad_number;
			opts.procs = (int)v;
			set_procs = true;
			break;
		case 'i':
			if (!lab__parse_num(optarg, 1, 1000000000L, &v))
				goto bad_number;
			opts.iters = v;
			set_iters = true;
			break;
		case 'l':
			lab__list(p, "racy", LAB_RACY, -1);
			lab__list(p, "fixed", LAB_FIXED, -1);
			lab__list(p, "other", LAB_OTHER, -1);
			lab__list(p, "tsan-racy", -1, LAB_TSAN_REPORTS);
			lab__list(p, "tsan-clean", -1, LAB_TSAN_SILENT);
			for (int i = 0; i < p->nschedules; i++)
				printf("schedule: %s %s %s\n", p->schedules[i].mode, p->schedules[i].loses ? "lose" : "safe",
				       p->schedules[i].order);
			return 0;
		case 'h': lab__usage(p, stdout); return 0;
		default:
			if (c >= LAB_FLAG_BASE && c < LAB_FLAG_BASE + p->nflags) {
				const struct lab_flag *f = &p->flags[c - LAB_FLAG_BASE];
				if (!lab__parse_num(optarg, f->min, f->max, &v))
					goto bad_number;
				*f->value = v;
				break;
			}
			lab__usage(p, stderr);
			return 2;
		}
	}
	free(longopts);
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", p->name, argv[optind]);
		return 2;
	}
	lab_quiet_flag = opts.quiet;
	if (schedule || lab__tracing) {
		lab__st = lab_shared_alloc(sizeof(*lab__st));
		lab__hooks = 1;
	}
	if (lab__tracing)
		lab__buf = lab_shared_alloc((size_t)LAB_LANES * LAB_TRACE_CAP * sizeof(*lab__buf));
	if (schedule) {
		int max = lab__parse_schedule(schedule);
		if (max == 0) {
			fprintf(stderr, "%s: bad schedule '%s' (expected e.g. T1,T2,T1,T2 or T1,T2*3; T1..T%d)\n",
				p->name, schedule, LAB_LANES);
			return 2;
		}
		lab__scheduled = true;
		if (!set_threads)
			opts.threads = max;
		if (!set_procs && p->procs > 0)
			opts.procs = max;
		if (!set_iters && p->iters > 0)
			opts.iters = 1;
	}

	const struct lab_mode *only = NULL;
	if (mode_name) {
		for (int i = 0; i < p->nmodes; i++)
			if (strcmp(p->modes[i].name, mode_name) == 0)
				only = &p->modes[i];
		if (!only) {
			fprintf(stderr, "%s: unknown mode '%s'\n", p->name, mode_name);
			lab__usage(p, stderr);
			return 2;
		}
	}

	printf("%s\n", p->title);
	printf("threads %d", opts.threads);
	if (p->iters > 0) /* 0: the program has no iteration count */
		printf(", iters %ld", opts.iters);
	if (p->procs > 0)
		printf(", procs %d", opts.procs);
	printf(", runs %d%s\n", opts.runs, LAB_TSAN ? " (ThreadSanitizer build)" : "");
	if (schedule)
		printf("forced schedule %s: each step waits at the lab's gate for its turn\n", schedule);
	if (only)
		return lab__run_mode(p, only, &opts) > 0 ? 1 : 0;
	int fixed_wrong = 0;
	for (int i = 0; i < p->nmodes; i++) {
		int w = lab__run_mode(p, &p->modes[i], &opts);
		if (p->modes[i].kind == LAB_FIXED)
			fixed_wrong += w;
	}
	if (p->after)
		p->after(&opts);
	return fixed_wrong > 0 ? 1 : 0;

bad_number:
	fprintf(stderr, "%s: bad number '%s'\n", p->name, optarg);
	return 2;
}

#endif /* WEFT_RACE_LAB_H */
