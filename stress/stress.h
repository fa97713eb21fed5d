/* SPDX-License-Identifier: MIT */
#ifndef WEFT_STRESS_H
#define WEFT_STRESS_H

/*
 * stress.h - the harness every stress/stress_*.c uses.  `make stress` builds
 * them with -fsanitize=thread and scripts/run_stress.sh runs each at several
 * thread counts.
 *
 *   int main(int argc, char **argv) {
 *       struct stress_opts o = stress_parse(argc, argv, "stress_mutex");
 *       ... start o.threads threads that loop while !stress_should_stop() ...
 *       if (stress_violated(got != want))
 *           stress_fail(&o, "counter %ld != %ld", got, want);
 *       stress_pass(&o, ops, "invariants checked: ...");
 *   }
 *
 * Flags: --threads N, --seconds S (default $STRESS_SECONDS or 2), --seed X.
 *
 * Every invariant test goes through stress_violated(), which counts it, so that
 * the summary line can say how many checks a run made.  The summary line is
 * machine-readable (scripts/soak.sh parses it):
 *
 *   <name>: ok threads=N seconds=S seed=X ops=N checks=N <free text>
 *
 * A failure prints "<name>: FAILED (threads=N seed=X): ..." and exits 1.
 * A watchdog aborts the program if it runs past 4 * seconds + 30 s: a stress
 * test that hangs has found a lost wake-up or a deadlock, and must say so
 * instead of stalling CI.
 */

#include <pthread.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct stress_opts {
	const char *name;
	unsigned threads;
	double seconds;
	uint64_t seed;
};

static int stress__stop; /* set once the time is up; read with relaxed atomics */
static double stress__t0; /* the run's start; written once, before any other thread exists */

static inline double stress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void stress_fail(const struct stress_opts *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: FAILED (threads=%u seed=%llu): ", o->name, o->threads, (unsigned long long)o->seed);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fflush(stderr);
	_exit(1);
}

/*
 * Invariant checks, counted.  Each thread counts its own checks in a plain
 * thread-local counter (no shared cache line in the hot path, and no extra
 * synchronization for TSan to see) and adds them to the run's total every
 * STRESS__CHECK_BATCH checks, when one of its threads started by
 * stress_run_threads() ends, and in stress_pass().  The total lives in a
 * MAP_SHARED page so that processes a test forks add to the same number.  A
 * thread a test starts itself, or a child process, may leave up to a batch
 * uncounted: the count is a lower bound, never an overcount.
 */
#define STRESS__CHECK_BATCH 1024u
static unsigned long long *stress__checks_total; /* MAP_SHARED; relaxed atomics */
static __thread unsigned long long stress__checks_mine;

static inline void stress__checks_flush(void)
{
	if (stress__checks_total && stress__checks_mine) {
		/* relaxed: a statistic, read after every worker is joined */
		__atomic_fetch_add(stress__checks_total, stress__checks_mine, __ATOMIC_RELAXED);
		stress__checks_mine = 0;
	}
}

/* Count one invariant check; return @violated, for `if (stress_violated(...)) stress_fail(...)`. */
static inline int stress_violated(int violated)
{
	if (++stress__checks_mine == STRESS__CHECK_BATCH)
		stress__checks_flush();
	return violated;
}

/* Count @n checks made at once (a loop that compares n slots). */
static inline void stress_checked(unsigned long long n)
{
	stress__checks_mine += n;
	if (stress__checks_mine >= STRESS__CHECK_BATCH)
		stress__checks_flush();
}

/* The watchdog: a detached thread that kills a hung run. */
static double stress__watchdog_limit;
static const char *stress__name;
static void *stress__watchdog(void *arg)
{
	(void)arg;
	while (stress_now() - stress__t0 < stress__watchdog_limit)
		usleep(100 * 1000);
	fprintf(stderr, "%s: FAILED: watchdog: still running after %.0f s (hang: lost wake-up or deadlock?)\n",
		stress__name, stress__watchdog_limit);
	fflush(stderr);
	_exit(2);
	return NULL;
}

static inline struct stress_opts stress_parse(int argc, char **argv, const char *name)
{
	struct stress_opts o = {name, 4, 2.0, 0};
	const char *env = getenv("STRESS_SECONDS");
	if (env && *env)
		o.seconds = atof(env);
	o.seed = (uint64_t)time(NULL);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			o.threads = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			o.seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			o.seed = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--threads N] [--seconds S] [--seed X]\n", argv[0]);
			exit(64);
		}
	}
	if (o.threads < 1 || o.seconds <= 0) {
		fprintf(stderr, "%s: --threads must be >= 1 and --seconds > 0\n", name);
		exit(64);
	}
	void *page = mmap(NULL, sizeof(*stress__checks_total), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	stress__checks_total = page == MAP_FAILED ? NULL : (unsigned long long *)page;
	stress__t0 = stress_now();
	stress__name = name;
	stress__watchdog_limit = 4 * o.seconds + 30;
	pthread_t wd;
	pthread_create(&wd, NULL, stress__watchdog, NULL);
	pthread_detach(wd);
	return o;
}

/* Whether the test's time is up (workers poll this). */
static inline int stress_should_stop(const struct stress_opts *o)
{
	if (__atomic_load_n(&stress__stop, __ATOMIC_RELAXED))
		return 1;
	if (stress_now() - stress__t0 >= o->seconds) {
		__atomic_store_n(&stress__stop, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

/*
 * Phases.  A test that runs several phases, each for its own share of the
 * time, starts each with stress_phase_begin() before it creates the phase's
 * threads (or forks its processes), and its workers poll stress_phase_over().
 * This clock is separate from the whole run's, which the watchdog reads, and
 * it does not stop at the run's overall limit: a last phase that starts late
 * still runs its operations (the watchdog still ends a hung run).  A test
 * that wants both checks calls stress_phase_over() || stress_should_stop().
 */
static double stress__phase_end; /* plain: written before the phase's threads start */
static int stress__phase_stop;   /* sticky "time is up"; relaxed atomics */

static inline void stress_phase_begin(double seconds)
{
	__atomic_store_n(&stress__phase_stop, 0, __ATOMIC_RELAXED);
	stress__phase_end = stress_now() + seconds;
}

static inline int stress_phase_over(void)
{
	if (__atomic_load_n(&stress__phase_stop, __ATOMIC_RELAXED))
		return 1;
	if (stress_now() >= stress__phase_end) {
		__atomic_store_n(&stress__phase_stop, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

/* Run fn(arg_i) on n threads, arg_i = base + i * stride, and join them. */
struct stress__thread {
	void *(*fn)(void *);
	void *arg;
};

static void *stress__thread_main(void *p)
{
	struct stress__thread *t = (struct stress__thread *)p;
	void *ret = t->fn(t->arg);
	stress__checks_flush(); /* the thread's last, partial batch */
	return ret;
}

static inline void stress_run_threads(unsigned n, void *(*fn)(void *), void *base, size_t stride)
{
	pthread_t *tids = (pthread_t *)calloc(n, sizeof(*tids));
	struct stress__thread *args = (struct stress__thread *)calloc(n, sizeof(*args));
	if (!tids || !args) {
		fprintf(stderr, "out of memory\n");
		exit(3);
	}
	for (unsigned i = 0; i < n; i++) {
		args[i].fn = fn;
		args[i].arg = (char *)base + i * stride;
		if (pthread_create(&tids[i], NULL, stress__thread_main, &args[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(3);
		}
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	free(args);
	free(tids);
}

/* xorshift64*: a per-thread generator for random schedules. */
static inline uint64_t stress_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline void stress_pass(const struct stress_opts *o, unsigned long long ops, const char *fmt, ...)
{
	va_list ap;
	stress__checks_flush();
	/* relaxed: every thread that added to it has been joined (or has exited) */
	unsigned long long checks = stress__checks_total ? __atomic_load_n(stress__checks_total, __ATOMIC_RELAXED) : 0;
	va_start(ap, fmt);
	printf("%s: ok threads=%u seconds=%.1f seed=%llu ops=%llu checks=%llu ", o->name, o->threads, o->seconds,
	       (unsigned long long)o->seed, ops, checks);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

#endif /* WEFT_STRESS_H */
