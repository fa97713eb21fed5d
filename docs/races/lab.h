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
 * The summary line is "the race showed in X of N runs[, median C ns/op]" for
 * racy and other modes ("the race" may be another symptom: "the unfairness
 * showed in ...") and "fix 'NAME': correct in X of N runs[, median C ns/op]"
 * for fixed modes; the median cost appears when run() set one.
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

struct lab_prog {
	const char *name;  /* "r01_lost_update" */
	const char *title; /* "R1 lost update: threads do counter++ on one plain int" */
	int threads, procs, runs;
	long iters;
	long tsan_iters;   /* default iterations in the TSan build; 0: same as iters */
	const char *symptom; /* "the race" (NULL) or e.g. "the unfairness": "... showed in X of N runs" */
	const struct lab_mode *modes;
	int nmodes;
	/* Runs `mode` once with `opts`; fills `res` (use lab_result_say()). */
	void (*run)(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res);
	const struct lab_flag *flags; /* optional: the program's own flags */
	int nflags;
	/* optional: called after every mode ran (not with --mode), for a concluding
	 * line such as a ratio of two modes' costs */
	void (*after)(const struct lab_opts *opts);
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
	return NULL;
}

static inline void lab__die(const char *what, int err)
{
	fprintf(stderr, "race lab: %s: %s\n", what, strerror(err));
	exit(3);
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
		p->run(m, opts, &res);
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
		printf("  %s showed in %d of %d runs", p->symptom ? p->symptom : "the race", wrong, opts->runs);
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
	const char *mode_name = NULL;
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mode_name = optarg; break;
		case 'q': opts.quiet = true; break;
		case 'r':
			if (!lab__parse_num(optarg, 1, LAB_MAX_RUNS, &v))
				goto bad_number;
			opts.runs = (int)v;
			break;
		case 't':
			if (!lab__parse_num(optarg, 1, 1024, &v))
				goto bad_number;
			opts.threads = (int)v;
			break;
		case 'p':
			if (!lab__parse_num(optarg, 1, 1024, &v))
				goto bad_number;
			opts.procs = (int)v;
			break;
		case 'i':
			if (!lab__parse_num(optarg, 1, 1000000000L, &v))
				goto bad_number;
			opts.iters = v;
			break;
		case 'l':
			lab__list(p, "racy", LAB_RACY, -1);
			lab__list(p, "fixed", LAB_FIXED, -1);
			lab__list(p, "other", LAB_OTHER, -1);
			lab__list(p, "tsan-racy", -1, LAB_TSAN_REPORTS);
			lab__list(p, "tsan-clean", -1, LAB_TSAN_SILENT);
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
