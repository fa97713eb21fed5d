/* SPDX-License-Identifier: MIT */
/*
 * stress_robust.c - weft_robust_mutex_t under ThreadSanitizer, interleaved
 * with glibc's robust pthread mutexes in the same threads' robust lists.
 *
 * --threads N drivers; each creates a worker thread, joins it and creates the
 * next until the time is up, so threads register their robust lists and exit
 * all through the run.  A worker takes, in ascending order (no lock-order
 * report), a random subset of NW weft robust mutexes (half private, half
 * WEFT_PSHARED) and NP robust pthread mutexes, each by lock, trylock or
 * timedlock, then releases them in a random order (entries leave the shared
 * list from every place).  Inside each weft mutex: an owner mark (mutual
 * exclusion) and a plain counter.  At the end every counter must equal the
 * number of acquisitions, and no lock may report WEFT_EOWNERDEAD (nobody
 * died).  Deaths are make crashtest's and test_robust.c's business: TSan
 * cannot follow a thread that exits holding a lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/weft.h"

#define NW 4
#define NP 3

static struct stress_opts opts;
static weft_robust_mutex_t g_w[NW];
static pthread_mutex_t g_p[NP];
static uint64_t g_count[NW];  /* under g_w[i] */
static uint32_t g_owner[NW];  /* under g_w[i]: the holder's mark */
static uint64_t g_taken[NW];  /* acquisitions (atomic) */
static uint64_t g_ops;

static int take(unsigned i, uint64_t *rng)
{
	unsigned how = (unsigned)(stress_rand(rng) % 3);
	int rc;
	if (how == 0) {
		while ((rc = weft_robust_mutex_trylock(&g_w[i])) == WEFT_EBUSY)
			sched_yield();
	} else if (how == 1) {
		rc = weft_robust_mutex_lock(&g_w[i]);
	} else {
		struct timespec dl = weft_deadline_after_ns(60ull * 1000000000ull);
		rc = weft_robust_mutex_timedlock(&g_w[i], &dl);
	}
	return rc;
}

static void *worker(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	uint32_t me = (uint32_t)(stress_rand(&rng) | 1);
	unsigned n = 1 + (unsigned)(stress_rand(&rng) % 2000);
	unsigned it;
	for (it = 0; it < n && !stress_phase_over(); it++) {
		unsigned want = (unsigned)(stress_rand(&rng) % (1u << (NW + NP)));
		unsigned held = 0;
		/* ascending: weft i, then pthread i, interleaved */
		for (unsigned k = 0; k < NW + NP; k++) {
			if (!((want >> k) & 1u))
				continue;
			if (k < NW) {
				int rc = take(k, &rng);
				if (stress_violated(rc != WEFT_OK))
					stress_fail(&opts, "robust lock %u returned %d (%s)", k, rc, weft_strerror(rc));
				if (stress_violated(g_owner[k] != 0))
					stress_fail(&opts, "two holders of robust mutex %u", k);
				g_owner[k] = me;
				g_count[k]++;
				__atomic_fetch_add(&g_taken[k], 1, __ATOMIC_RELAXED);
			} else {
				int rc = pthread_mutex_lock(&g_p[k - NW]);
				if (stress_violated(rc != 0))
					stress_fail(&opts, "pthread robust lock %u returned %d", k - NW, rc);
			}
			held |= 1u << k;
		}
		/* release in a random order */
		while (held) {
			unsigned k = (unsigned)(stress_rand(&rng) % (NW + NP));
			if (!((held >> k) & 1u))
				continue;
			if (k < NW) {
				if (stress_violated(g_owner[k] != me))
					stress_fail(&opts, "robust mutex %u: owner mark changed while held", k);
				g_owner[k] = 0;
				if (stress_violated(weft_robust_mutex_unlock(&g_w[k]) != WEFT_OK))
					stress_fail(&opts, "robust unlock %u failed", k);
			} else {
				pthread_mutex_unlock(&g_p[k - NW]);
			}
			held &= ~(1u << k);
		}
	}
	__atomic_fetch_add(&g_ops, it, __ATOMIC_RELAXED);
	return NULL;
}

static void *driver(void *arg)
{
	uint64_t rng = opts.seed ^ (uint64_t)(uintptr_t)arg;
	while (!stress_phase_over()) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, (void *)(uintptr_t)(stress_rand(&rng) | 1)) != 0)
			stress_fail(&opts, "pthread_create failed");
		pthread_join(t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_robust");
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	for (unsigned i = 0; i < NP; i++)
		pthread_mutex_init(&g_p[i], &attr);
	for (unsigned i = 0; i < NW; i++)
		if (weft_robust_mutex_init(&g_w[i], i % 2 ? WEFT_PSHARED | WEFT_ROBUST : 0u) != WEFT_OK)
			stress_fail(&opts, "weft_robust_mutex_init failed");
	stress_phase_begin(opts.seconds);
	pthread_t *d = calloc(opts.threads, sizeof(*d));
	for (unsigned i = 0; i < opts.threads; i++)
		pthread_create(&d[i], NULL, driver, (void *)(uintptr_t)(i + 1));
	for (unsigned i = 0; i < opts.threads; i++)
		pthread_join(d[i], NULL);
	free(d);
	unsigned long long total = 0;
	for (unsigned i = 0; i < NW; i++) {
		if (stress_violated(weft_robust_mutex_trylock(&g_w[i]) != WEFT_OK))
			stress_fail(&opts, "robust mutex %u not free at the end", i);
		uint64_t taken = __atomic_load_n(&g_taken[i], __ATOMIC_RELAXED);
		if (stress_violated(g_count[i] != taken))
			stress_fail(&opts, "robust mutex %u: counter %llu, acquisitions %llu", i,
				    (unsigned long long)g_count[i], (unsigned long long)taken);
		total += taken;
		(void)weft_robust_mutex_unlock(&g_w[i]);
	}
	stress_pass(&opts, __atomic_load_n(&g_ops, __ATOMIC_RELAXED),
		    "robust acquisitions=%llu; checked: owner mark, plain counters, no death reported, "
		    "weft and glibc robust entries mixed in each thread's list",
		    total);
	return 0;
}
