/* SPDX-License-Identifier: MIT */
/*
 * probe_cancel_latency.c - how long a waiter asleep in a cancellable wait
 * takes to return after weft_cancel() (issue 16's target: p99 <= 100 us, on
 * the futex_waitv path and on the fallback).  A probe, not a test: it
 * measures time, so it is not part of `make test` and asserts nothing.
 *
 *   make probe-cancel [PROBE_CALLS=n]    (mk/probes.mk)
 *
 * Per trial: a waiter thread sleeps in weft__wait_ctx() on a word nobody
 * changes, naming a token (a child of a root, which is what is cancelled:
 * the chain is walked); this thread waits until the waiter is asleep in the
 * kernel (/proc/self/task/TID/stat says S), stamps CLOCK_MONOTONIC, calls
 * weft_cancel(&root); the waiter stamps when its wait returns.  Latency =
 * the waiter's stamp - the canceller's.  Prints p50 / p99 / max over @calls
 * trials (default 1000) for each path:
 *   waitv        futex_waitv on the word and the chain (Linux >= 5.16)
 *   fallback     the registry (weft__wait_set_waitv(false))
 *   mpmc waitv / mpmc fallbk   the same through a real primitive:
 *                weft_mpmc_pop_ctx() on an empty queue
 *   pshared-nap  a process-shared chain on the fallback: naps of 1 ms
 *                (expected ~0.5 ms on average, at most a nap + wake-up)
 * and the load (uptime) when it ran, since a loaded 2-CPU machine adds the
 * scheduler's delay to every number.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wait.h"
#include "weft/weft.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Whether thread @tid of this process is asleep (state S or D). */
static int asleep(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p != NULL && (p[2] == 'S' || p[2] == 'D');
}

struct trial {
	uint32_t word;
	weft_cancel_t root, child;
	unsigned flags;
	weft_mpmc_t *queue; /* non-NULL: the waiter pops from it (empty) instead */
	pid_t tid;     /* atomic */
	int rc;        /* written before done */
	uint64_t t_return;
	int done;      /* atomic */
};

static void *waiter(void *arg)
{
	struct trial *t = arg;
	__atomic_store_n(&t->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	int rc;
	if (t->queue != NULL) {
		void *v;
		rc = weft_mpmc_pop_ctx(t->queue, &v, NULL, &t->child);
	} else {
		do
			rc = weft__wait_ctx(&t->word, 0, NULL, t->flags, &t->child);
		while (rc == WEFT_OK); /* spurious: sleep again */
	}
	t->t_return = now_ns();
	t->rc = rc;
	return NULL;
}

/* One trial on one path: the cancel-to-return latency in ns, or 0 if the
 * wait ended otherwise. */
static uint64_t trial(bool waitv, unsigned tok_flags, weft_mpmc_t *queue, int *not_asleep)
{
	weft__wait_set_waitv(waitv);
	struct trial t;
	memset(&t, 0, sizeof(t));
	t.flags = tok_flags;
	t.queue = queue;
	if (weft_cancel_init(&t.root, NULL, tok_flags) != WEFT_OK ||
	    weft_cancel_init(&t.child, &t.root, tok_flags) != WEFT_OK)
		exit(1);
	pthread_t th;
	if (pthread_create(&th, NULL, waiter, &t) != 0)
		exit(1);
	pid_t tid;
	while ((tid = __atomic_load_n(&t.tid, __ATOMIC_ACQUIRE)) == 0)
		sched_yield();
	for (int tries = 0; !asleep(tid) && tries < 20000; tries++)
		usleep(50);
	usleep(200); /* past any registration: asleep for good */
	*not_asleep += !asleep(tid);
	uint64_t t0 = now_ns();
	weft_cancel(&t.root);
	pthread_join(th, NULL);
	return t.rc == WEFT_ECANCELED ? t.t_return - t0 : 0;
}

static void report(const char *name, uint64_t *ns, int n, int not_asleep)
{
	int bad = 0;
	for (int i = 0; i < n; i++)
		bad += ns[i] == 0;
	qsort(ns, (size_t)n, sizeof ns[0], cmp_u64);
	printf("%-12s p50 %8.1f us  p99 %8.1f us  max %9.1f us  (%d trials%s%s)\n", name, ns[n / 2] / 1e3,
	       ns[(n * 99) / 100] / 1e3, ns[n - 1] / 1e3, n, bad ? ", UNEXPECTED RETURN CODES" : "",
	       not_asleep ? ", some waiters not seen asleep" : "");
}

int main(int argc, char **argv)
{
	int calls = argc > 1 ? atoi(argv[1]) : 1000;
	if (calls < 1)
		calls = 1000;
	printf("backend %s; ", weft__wait_backend());
	fflush(stdout);
	fflush(stdout);
	if (system("uptime") != 0)
		printf("\n");
	weft__wait_set_waitv(true);
	bool has_waitv = weft__wait_uses_waitv();
	printf("futex_waitv %s\n", has_waitv ? "usable" : "not usable here: the first row is the fallback too");
	/* the paths take turns, trial by trial: a change of load hits all three */
	enum { PATHS = 5 };
	uint64_t *ns[PATHS];
	int not_asleep[PATHS] = {0};
	for (int p = 0; p < PATHS; p++)
		if ((ns[p] = malloc((size_t)calls * sizeof *ns[p])) == NULL)
			return 1;
	weft_mpmc_t *q = weft_mpmc_create(16, 0); /* stays empty: pop_ctx sleeps */
	if (q == NULL)
		return 1;
	for (int i = 0; i < calls; i++) {
		ns[0][i] = trial(true, 0, NULL, &not_asleep[0]);
		ns[1][i] = trial(false, 0, NULL, &not_asleep[1]);
		ns[2][i] = trial(true, 0, q, &not_asleep[2]);
		ns[3][i] = trial(false, 0, q, &not_asleep[3]);
		ns[4][i] = trial(false, WEFT_PSHARED, NULL, &not_asleep[4]);
	}
	report("waitv", ns[0], calls, not_asleep[0]);
	report("fallback", ns[1], calls, not_asleep[1]);
	report("mpmc waitv", ns[2], calls, not_asleep[2]);
	report("mpmc fallbk", ns[3], calls, not_asleep[3]);
	report("pshared-nap", ns[4], calls, 0); /* a napper wakes every 1 ms: rarely seen asleep */
	fflush(stdout);
	if (system("uptime") != 0)
		printf("\n");
	weft_mpmc_destroy(q);
	for (int p = 0; p < PATHS; p++)
		free(ns[p]);
	return 0;
}
