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
 *       if (broken) stress_fail(&o, "counter %ld != %ld", got, want);
 *       stress_pass(&o, ops, "invariants checked: ...");
 *   }
 *
 * Flags: --threads N, --seconds S (default $STRESS_SECONDS or 2), --seed X.
 * A watchdog aborts the program if it runs past 4 * seconds + 30 s: a stress
 * test that hangs has found a lost wake-up or a deadlock, and must say so
 * instead of stalling CI.
 */

#include <pthread.h>
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
static inline void stress_run_threads(unsigned n, void *(*fn)(void *), void *base, size_t stride)
{
	pthread_t *tids = (pthread_t *)calloc(n, sizeof(*tids));
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, fn, (char *)base + i * stride) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(3);
		}
	for (unsigned i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
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
	va_start(ap, fmt);
	printf("%s: ok threads=%u seconds=%.1f ops=%llu ", o->name, o->threads, o->seconds, ops);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

#endif /* WEFT_STRESS_H */
