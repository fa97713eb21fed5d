/* SPDX-License-Identifier: MIT */
/*
 * r07_loop_variable.c - R7: passing &i of the loop variable to pthread_create().
 *
 *	for (i = 0; i < n; i++)
 *		pthread_create(&tid[i], NULL, worker, &i);   // every thread gets the SAME address
 *
 * Each thread is meant to learn its own number, but all of them receive the
 * address of one variable that the loop keeps incrementing.  A new thread
 * needs tens of microseconds to start running; by the time it reads *arg, the
 * loop has usually moved on, so threads see the same number twice, skip
 * numbers, or see n (the value after the loop ends).  (Go's `go func() {...
 * i ...}()` inside a for loop had the same trap until Go 1.22 gave each
 * iteration its own variable.)
 *
 * Fixes: pass the value itself, cast into the pointer (`(void *)(intptr_t)i`),
 * or a pointer to a slot that belongs to that thread alone (`&ids[i]`).
 */
#include "lab.h"

#include <weft/atomic.h>

#define MAX_THREADS 1024

static int seen[MAX_THREADS + 1]; /* atomic: how many threads saw each number */

static void record(int id, int n)
{
	if (id < 0 || id > n)
		id = n; /* cannot happen here, but never index out of bounds */
	weft_atomic_fetch_add(&seen[id], 1, WEFT_RELAXED); /* relaxed: read after join */
}

static int nthreads;

static void *worker_by_address(void *arg)
{
	int id = *(int *)arg; /* reads the loop's i, whatever it is by now */
	record(id, nthreads);
	return NULL;
}

static void *worker_by_value(void *arg)
{
	record((int)(intptr_t)arg, nthreads);
	return NULL;
}

static void run(const struct lab_mode *mode, const struct lab_opts *o, struct lab_result *res)
{
	pthread_t tid[MAX_THREADS];
	static int ids[MAX_THREADS];
	int n = o->threads < MAX_THREADS ? o->threads : MAX_THREADS;
	int i;
	nthreads = n;
	memset(seen, 0, sizeof(seen));

	uint64_t t0 = lab_now_ns();
	if (strcmp(mode->name, "racy") == 0) {
		for (i = 0; i < n; i++)
			pthread_create(&tid[i], NULL, worker_by_address, &i); /* the bug */
	} else if (strcmp(mode->name, "value") == 0) {
		for (i = 0; i < n; i++)
			pthread_create(&tid[i], NULL, worker_by_value, (void *)(intptr_t)i);
	} else {
		for (i = 0; i < n; i++) {
			ids[i] = i; /* one slot per thread, never written again */
			pthread_create(&tid[i], NULL, worker_by_address, &ids[i]);
		}
	}
	for (int t = 0; t < n; t++)
		pthread_join(tid[t], NULL); /* before i goes away */
	uint64_t ns = lab_now_ns() - t0;

	/* Each of 0 .. n-1 should have been seen exactly once. */
	int missing = 0;
	char list[200] = "";
	size_t len = 0;
	for (int id = 0; id <= n; id++) {
		if (id < n && seen[id] == 0)
			missing++;
		for (int k = 0; k < seen[id] && len < sizeof(list) - 8; k++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", len ? " " : "", id);
	}
	res->wrong = missing > 0 || seen[n] > 0;
	if (res->wrong)
		lab_result_say(res, "threads saw [%s]: %d numbers missing, %d saw %d (i after the loop)",
			       list, missing, seen[n], n);
	else
		lab_result_say(res, "threads saw [%s]: each number once", list);
	lab_set_cost(res, ns, (double)n); /* per thread: create + start + join */
}

static const struct lab_mode modes[] = {
	{ "racy", LAB_RACY, LAB_TSAN_REPORTS, "pthread_create(..., &i): one address for every thread" },
	{ "value", LAB_FIXED, LAB_TSAN_SILENT, "pthread_create(..., (void *)(intptr_t)i): the value itself" },
	{ "array", LAB_FIXED, LAB_TSAN_SILENT, "pthread_create(..., &ids[i]): a slot of its own per thread" },
};

static const struct lab_prog prog = {
	.name = "r07_loop_variable",
	.title = "R7 the loop variable's address passed to pthread_create",
	.threads = 10, .runs = 10,
	.symptom = "threads saw the wrong loop value",
	.modes = modes, .nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
