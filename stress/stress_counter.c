/* SPDX-License-Identifier: MIT */
/*
 * stress_counter.c - weft_counter_t and weft_scounter_t under ThreadSanitizer,
 * with threads that start and exit all through the run.
 *
 * --threads N starts N "drivers"; each driver creates a worker thread, joins
 * it, and creates the next, until the phase's time is up, so workers start and
 * exit at random moments while others are adding.  Each worker does a random
 * number of operations (1..4000) and exits.  Three phases share --seconds:
 *
 *  A. one weft_scounter_t with fewer slots than N (slots run out: overflow;
 *     exiting workers give slots back and new ones take them over), positive
 *     adds only, and a reader thread calling read() and read_approx() all the
 *     time: each successive read() must be >= the previous one (every slot only
 *     grows, and a slot changing hands keeps its value, so a lost or
 *     double-counted hand-over shows up as a dip or, at the end, a wrong sum).
 *     The same adds go to a weft_counter_t.  After the join, read() and the
 *     weft_counter_t must both equal the sum of what the workers added.
 *  B. as A with signed random adds (the exact sum still must match).
 *  C. destroy with live owners: workers add to the "current" counter under a
 *     read lock; a churner thread, under the write lock, checks the current
 *     counter's exact value against what the workers recorded, destroys it
 *     (disowning the slots of workers still alive), and starts a new one.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/counter.h"

static struct stress_opts opts;

/* ---- phases A and B ------------------------------------------------------ */

static weft_scounter_t g_sc;
static weft_counter_t g_plain;
static int64_t g_added;      /* what the workers added (atomic) */
static int g_signed;         /* phase B */
static uint64_t g_ops;       /* operations, for the summary line */
static uint64_t g_workers;   /* workers started */

static void *ab_worker(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	unsigned n = 1 + (unsigned)(stress_rand(&rng) % 4000);
	int64_t mine = 0;
	unsigned i;
	for (i = 0; i < n; i++) {
		int64_t v = (int64_t)(stress_rand(&rng) % 1000);
		if (g_signed)
			v -= 500;
		weft_scounter_add(&g_sc, v);
		weft_counter_add(&g_plain, (uint64_t)v);
		mine += v;
		if ((i & 255) == 0 && stress_phase_over())
			break;
	}
	__atomic_fetch_add(&g_added, mine, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g_ops, (uint64_t)i, __ATOMIC_RELAXED);
	return NULL;
}

/* ISO C has no conversion between function and object pointers, so a driver
 * gets its worker function inside a struct. */
struct driver_arg {
	void *(*worker)(void *);
};

static void *driver(void *arg)
{
	void *(*worker)(void *) = ((const struct driver_arg *)arg)->worker;
	uint64_t rng = opts.seed ^ (uint64_t)(uintptr_t)&rng;
	while (!stress_phase_over()) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, (void *)(uintptr_t)(stress_rand(&rng) | 1)) != 0)
			stress_fail(&opts, "pthread_create failed");
		pthread_join(t, NULL);
		__atomic_fetch_add(&g_workers, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	int64_t last = weft_scounter_read(&g_sc);
	while (!stress_phase_over()) {
		int64_t now = weft_scounter_read(&g_sc);
		if (stress_violated(!g_signed && now < last))
			stress_fail(&opts, "read() went backwards: %lld after %lld", (long long)now, (long long)last);
		last = now;
		(void)weft_scounter_read_approx(&g_sc);
	}
	return NULL;
}

static void run_drivers(void *(*worker)(void *), void *(*extra)(void *))
{
	pthread_t *d = (pthread_t *)calloc(opts.threads, sizeof(*d));
	pthread_t x;
	struct driver_arg da = { worker }; /* outlives the drivers: joined below */
	for (unsigned i = 0; i < opts.threads; i++)
		pthread_create(&d[i], NULL, driver, &da);
	pthread_create(&x, NULL, extra, NULL);
	for (unsigned i = 0; i < opts.threads; i++)
		pthread_join(d[i], NULL);
	pthread_join(x, NULL);
	free(d);
}

static void start_phase(double seconds)
{
	stress_phase_begin(seconds);
}

static void phase_ab(int is_signed, double seconds)
{
	unsigned slots = opts.threads > 2 ? opts.threads / 2 : 1;
	if (weft_scounter_init_n(&g_sc, slots) != WEFT_OK)
		stress_fail(&opts, "weft_scounter_init_n failed");
	(void)!weft_counter_init(&g_plain, 0);
	g_added = 0;
	g_signed = is_signed;
	start_phase(seconds);
	run_drivers(ab_worker, reader);
	int64_t want = __atomic_load_n(&g_added, __ATOMIC_RELAXED);
	int64_t got = weft_scounter_read(&g_sc);
	if (stress_violated(got != want))
		stress_fail(&opts, "phase %c: scounter read %lld, added %lld", is_signed ? 'B' : 'A', (long long)got,
			    (long long)want);
	if (stress_violated((int64_t)weft_counter_load(&g_plain) != want))
		stress_fail(&opts, "phase %c: counter %lld, added %lld", is_signed ? 'B' : 'A',
			    (long long)weft_counter_load(&g_plain), (long long)want);
	if (stress_violated(weft_scounter_slots_in_use(&g_sc) != 0))
		stress_fail(&opts, "slots still owned after every worker exited: %u", weft_scounter_slots_in_use(&g_sc));
	weft_scounter_destroy(&g_sc);
}

/* ---- phase C ------------------------------------------------------------- */

static pthread_rwlock_t g_cur_lock = PTHREAD_RWLOCK_INITIALIZER;
static weft_scounter_t g_cur;    /* under g_cur_lock (write: replace; read: add) */
static weft_counter_t g_cur_sum; /* what workers added to g_cur */
static uint64_t g_generations;

static void *c_worker(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	unsigned n = 1 + (unsigned)(stress_rand(&rng) % 2000);
	unsigned i;
	for (i = 0; i < n; i++) {
		int64_t v = (int64_t)(stress_rand(&rng) % 100) - 30;
		pthread_rwlock_rdlock(&g_cur_lock);
		weft_scounter_add(&g_cur, v);
		weft_counter_add(&g_cur_sum, (uint64_t)v);
		pthread_rwlock_unlock(&g_cur_lock);
		if ((i & 255) == 0 && stress_phase_over())
			break;
	}
	__atomic_fetch_add(&g_ops, (uint64_t)i, __ATOMIC_RELAXED);
	return NULL;
}

static void *churner(void *arg)
{
	(void)arg;
	while (!stress_phase_over()) {
		struct timespec ts = {0, 200 * 1000};
		nanosleep(&ts, NULL);
		pthread_rwlock_wrlock(&g_cur_lock);
		int64_t got = weft_scounter_read(&g_cur);
		int64_t want = (int64_t)weft_counter_load(&g_cur_sum);
		if (stress_violated(got != want))
			stress_fail(&opts, "phase C: generation %llu read %lld, added %lld",
				    (unsigned long long)g_generations, (long long)got, (long long)want);
		weft_scounter_destroy(&g_cur);
		if (weft_scounter_init_n(&g_cur, 1 + (unsigned)(g_generations % 4)) != WEFT_OK)
			stress_fail(&opts, "weft_scounter_init_n failed");
		weft_counter_store(&g_cur_sum, 0);
		g_generations++;
		pthread_rwlock_unlock(&g_cur_lock);
	}
	return NULL;
}

static void phase_c(double seconds)
{
	if (weft_scounter_init_n(&g_cur, 2) != WEFT_OK)
		stress_fail(&opts, "weft_scounter_init_n failed");
	(void)!weft_counter_init(&g_cur_sum, 0);
	start_phase(seconds);
	run_drivers(c_worker, churner);
	if (stress_violated(weft_scounter_read(&g_cur) != (int64_t)weft_counter_load(&g_cur_sum)))
		stress_fail(&opts, "phase C: final generation read %lld, added %lld", (long long)weft_scounter_read(&g_cur),
			    (long long)weft_counter_load(&g_cur_sum));
	weft_scounter_destroy(&g_cur);
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_counter");
	phase_ab(0, opts.seconds * 0.4);
	phase_ab(1, opts.seconds * 0.3);
	phase_c(opts.seconds * 0.3);
	stress_pass(&opts, (unsigned long long)g_ops,
		    "workers=%llu generations=%llu invariants: exact sums after thread churn, monotonic reads, "
		    "destroy with live owners",
		    (unsigned long long)g_workers, (unsigned long long)g_generations);
	return 0;
}
