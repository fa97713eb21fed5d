/* SPDX-License-Identifier: MIT */
/*
 * lockcost.c - what interposition costs an uncontended lock: the program's
 * pthread_mutex_lock()+unlock() (through libweft-preload.so when run under
 * weft-run; glibc's otherwise) against a direct weft_mutex_lock()+unlock()
 * (weft's inline fast path, linked from libweft.a), in the same process,
 * interleaved round by round (A B, B A, ...), a second thread alive (idle)
 * as in the benchmark suite.
 *
 *   lockcost [--rounds N] [--iters N] [--json PATH]
 *
 * Prints the median ns per lock+unlock pair of each, and the geometric mean
 * of the per-round ratios (pthread / direct) with a 95% percentile-bootstrap
 * interval and the min..max of the ratios.  A measurement, not a test.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weft/mutex.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static weft_mutex_t wm = WEFT_MUTEX_INIT;

static __attribute__((noinline)) double run_pthread(long iters)
{
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		pthread_mutex_lock(&pm);
		__asm__ __volatile__("" ::: "memory");
		pthread_mutex_unlock(&pm);
	}
	return (now_ns() - t0) / (double)iters;
}

static __attribute__((noinline)) double run_direct(long iters)
{
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		weft_mutex_lock(&wm);
		__asm__ __volatile__("" ::: "memory");
		weft_mutex_unlock(&wm);
	}
	return (now_ns() - t0) / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	double *c = malloc(sizeof *c * (size_t)n);
	memcpy(c, v, sizeof *c * (size_t)n);
	qsort(c, (size_t)n, sizeof *c, cmp_double);
	double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
	free(c);
	return m;
}

static pthread_mutex_t idle_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;
static int idle_stop;

static void *idle_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_m);
	while (!idle_stop)
		pthread_cond_wait(&idle_cv, &idle_m);
	pthread_mutex_unlock(&idle_m);
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = 21;
	long iters = 2000000;
	const char *json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = atol(argv[++i]);
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else {
			fprintf(stderr, "usage: lockcost [--rounds N] [--iters N] [--json PATH]\n");
			return 2;
		}
	}
	if (rounds < 2)
		rounds = 2;
	Dl_info info;
	void *fn = dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	const char *impl = fn && dladdr(fn, &info) && info.dli_fname && strstr(info.dli_fname, "libweft-preload")
				   ? "libweft-preload (interposed)"
				   : "glibc";
	pthread_t t;
	pthread_create(&t, 0, idle_thread, 0);
	run_pthread(iters / 4); /* warm-up */
	run_direct(iters / 4);
	double *a = malloc(sizeof *a * (size_t)rounds), *b = malloc(sizeof *b * (size_t)rounds);
	double *r = malloc(sizeof *r * (size_t)rounds);
	for (int i = 0; i < rounds; i++) {
		if (i % 2) {
			a[i] = run_pthread(iters);
			b[i] = run_direct(iters);
		} else {
			b[i] = run_direct(iters);
			a[i] = run_pthread(iters);
		}
		r[i] = a[i] / b[i];
	}
	pthread_mutex_lock(&idle_m);
	idle_stop = 1;
	pthread_cond_signal(&idle_cv);
	pthread_mutex_unlock(&idle_m);
	pthread_join(t, 0);

	double mean = 0, lo_r = r[0], hi_r = r[0];
	for (int i = 0; i < rounds; i++) {
		mean += log(r[i]);
		lo_r = r[i] < lo_r ? r[i] : lo_r;
		hi_r = r[i] > hi_r ? r[i] : hi_r;
	}
	mean /= rounds;
	enum { B = 4000 };
	double *boot = malloc(sizeof *boot * B);
	unsigned seed = 18;
	for (int k = 0; k < B; k++) {
		double s = 0;
		for (int i = 0; i < rounds; i++)
			s += log(r[rand_r(&seed) % (unsigned)rounds]);
		boot[k] = s / rounds;
	}
	qsort(boot, B, sizeof *boot, cmp_double);
	double lo = exp(boot[(int)(0.025 * B)]), hi = exp(boot[(int)(0.975 * B)]);
	double ma = median(a, rounds), mb = median(b, rounds);
	printf("lockcost: pthread_mutex_lock+unlock via %s: median %.2f ns/pair\n", impl, ma);
	printf("lockcost: direct weft_mutex_lock+unlock:          median %.2f ns/pair\n", mb);
	printf("lockcost: ratio %.3f [95%% CI %.3f, %.3f] (per-round min %.3f, max %.3f; %d rounds of %ld pairs)\n",
	       exp(mean), lo, hi, lo_r, hi_r, rounds, iters);
	if (json) {
		FILE *f = fopen(json, "w");
		if (f) {
			fprintf(f, "{\"impl\": \"%s\", \"pthread_ns\": %.4f, \"direct_ns\": %.4f, \"ratio\": %.4f, "
				   "\"lo\": %.4f, \"hi\": %.4f, \"min\": %.4f, \"max\": %.4f, \"rounds\": %d, \"iters\": %ld}\n",
				impl, ma, mb, exp(mean), lo, hi, lo_r, hi_r, rounds, iters);
			fclose(f);
		}
	}
	free(a);
	free(b);
	free(r);
	free(boot);
	return 0;
}
