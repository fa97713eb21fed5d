/* SPDX-License-Identifier: MIT */
/*
 * bench_scenario_c3.c - scenario C3 of SCENARIOS.md: one lock held across slow
 * I/O, with timed acquires.
 *
 * The article: 50 ms of simulated I/O under one lock, requests that give up
 * after 2 s, so at most 20 requests are served per second and, past about 40
 * queued requests, the rest time out.  Scaled down 100x so that a run takes
 * milliseconds: 500 us of I/O (a nanosleep under the lock), a 20 ms timeout
 * (the same 40:1 ratio).  Every thread is a client that sends requests back to
 * back; 8 clients stay under the 40-deep limit, 64 go past it.
 *
 *     scenario/c3_slow_io/weft_mutex          weft_mutex_timedlock, CLOCK_MONOTONIC deadline
 *     scenario/c3_slow_io/pthread             pthread_mutex_timedlock: its deadline is
 *                                             CLOCK_REALTIME, so a wall-clock step moves it
 *     scenario/c3_slow_io/pthread_clocklock   pthread_mutex_clocklock(CLOCK_MONOTONIC)
 *
 * items_per_second is requests served per second (the article's "at most 20
 * per second" becomes at most ~2000); timeout_frac the fraction of requests
 * that timed out; io_us and timeout_us the row's two times (docs/claims.md
 * scales the measures back to the article's from them); wait_p50/p99/max the
 * acquire wait of every request, served or timed out (a timed-out request
 * waited its whole timeout: the tail shows it); fairness over the clients'
 * served counts; timeouts the number of requests that timed out;
 * starved_clients the clients that sent requests and had none served in the
 * window (barging starvation); worst_client_timeout_frac the largest
 * fraction of one client's requests that timed out; client_wait_max_mean_ns
 * the mean over clients of each client's longest wait (each client's own is
 * in the per-thread detail, wait_max_ns, and the worst is wait_max_ns).
 *
 * The runner's timer closes the window at start + window (every multi-thread
 * row), so a client starved by barging cannot stretch it; a request still
 * waiting then is neither served nor timed out (WB_EXACT_OPS).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/deadline.h>
#include <weft/mutex.h>

#include "shim.h"

#define C3_IO_NS 500000ull               /* simulated I/O under the lock */
#define C3_TIMEOUT_NS (40ull * C3_IO_NS) /* a request gives up after this */

struct c3_shared {
	weft_mutex_t wm;
	pthread_mutex_t pm;
	uint64_t served, timed_out; /* summed after the loops */
	uint64_t worst_client_ppm;  /* the largest per-client timeout fraction, parts per million */
};

typedef int (*c3_timedlock_fn)(struct c3_shared *s);
typedef void (*c3_unlock_fn)(struct c3_shared *s);

static struct timespec c3_after(clockid_t clock, uint64_t ns)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec += (long)(ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void *c3_setup(wb_thread *t)
{
	struct c3_shared *s = (struct c3_shared *)calloc(1, sizeof *s);
	if (!s)
		wb_fail(t, "out of memory");
	(void)!weft_mutex_init(&s->wm, 0);
	pthread_mutex_init(&s->pm, NULL);
	return s;
}

static void c3_teardown(wb_thread *t)
{
	struct c3_shared *s = (struct c3_shared *)t->shared;
	uint64_t requests = s->served + s->timed_out;
	wb_counter(t, "timeout_frac", requests ? (double)s->timed_out / (double)requests : 0.0, WB_SUM);
	wb_counter(t, "timeouts", (double)s->timed_out, WB_SUM);
	wb_counter(t, "worst_client_timeout_frac", (double)s->worst_client_ppm / 1e6, WB_SUM);
	wb_counter(t, "io_us", (double)C3_IO_NS / 1000.0, WB_SUM);
	wb_counter(t, "timeout_us", (double)C3_TIMEOUT_NS / 1000.0, WB_SUM);
	weft_mutex_destroy(&s->wm);
	pthread_mutex_destroy(&s->pm);
	free(s);
}

static inline __attribute__((always_inline)) void c3_body(wb_thread *t, c3_timedlock_fn timedlock,
							   c3_unlock_fn unlock)
{
	struct c3_shared *s = (struct c3_shared *)t->shared;
	const struct timespec io = {0, (long)C3_IO_NS};
	uint64_t served = 0, timed_out = 0, longest = 0, i;
	for (i = 0; wb_running(t, i); i++) {
		uint64_t start = wb_now();
		int rc = timedlock(s);
		uint64_t waited = wb_now() - start;
		if (waited > longest)
			longest = waited;
		if (rc == 0) {
			wb_record_ticks(t, waited);
			nanosleep(&io, NULL); /* the slow I/O, under the lock */
			unlock(s);
			/* only requests finished inside the window count (WB_EXACT_OPS) */
			served += !wb_stopped(t);
		} else {
			wb_record_ticks(t, waited); /* the wait of a request that gave up */
			timed_out += !wb_stopped(t);
		}
	}
	uint64_t ppm = i ? timed_out * 1000000u / i : 0;
	/* relaxed: a max over the clients, read by thread 0 after the runner's barrier */
	uint64_t cur = __atomic_load_n(&s->worst_client_ppm, __ATOMIC_RELAXED);
	while (ppm > cur && !__atomic_compare_exchange_n(&s->worst_client_ppm, &cur, ppm, 0, __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED))
		;
	wb_counter(t, "starved_clients", (i > 0 && served == 0) ? 1.0 : 0.0, WB_SUM);
	/* relaxed: read by thread 0 in teardown, after the runner's barrier */
	__atomic_fetch_add(&s->served, served, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->timed_out, timed_out, __ATOMIC_RELAXED);
	wb_counter(t, "requests_per_second", (double)i, WB_RATE);
	wb_counter(t, "client_wait_max_mean_ns", wb_ticks_to_ns(longest), WB_AVG);
	wb_done(t, served);
}

static int c3_weft_timedlock(struct c3_shared *s)
{
	struct timespec dl = weft_deadline_after_ns(C3_TIMEOUT_NS);
	return weft_mutex_timedlock(&s->wm, &dl);
}
static void c3_weft_unlock(struct c3_shared *s)
{
	weft_mutex_unlock(&s->wm);
}
static int c3_pthread_timedlock(struct c3_shared *s)
{
	struct timespec dl = c3_after(CLOCK_REALTIME, C3_TIMEOUT_NS);
	return pthread_mutex_timedlock(&s->pm, &dl);
}
static int c3_pthread_clocklock(struct c3_shared *s)
{
	struct timespec dl = c3_after(CLOCK_MONOTONIC, C3_TIMEOUT_NS);
	return pthread_mutex_clocklock(&s->pm, CLOCK_MONOTONIC, &dl);
}
static void c3_pthread_unlock(struct c3_shared *s)
{
	pthread_mutex_unlock(&s->pm);
}

static void c3_weft(wb_thread *t)
{
	c3_body(t, c3_weft_timedlock, c3_weft_unlock);
}
static void c3_pthread(wb_thread *t)
{
	c3_body(t, c3_pthread_timedlock, c3_pthread_unlock);
}
static void c3_clocklock(wb_thread *t)
{
	c3_body(t, c3_pthread_clocklock, c3_pthread_unlock);
}

__attribute__((constructor)) static void register_c3(void)
{
	static const struct {
		const char *name;
		wb_body_fn body;
	} rows[] = {
		{"scenario/c3_slow_io/weft_mutex", c3_weft},
		{"scenario/c3_slow_io/pthread", c3_pthread},
		{"scenario/c3_slow_io/pthread_clocklock", c3_clocklock},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		wb_def def;
		memset(&def, 0, sizeof def);
		def.name = rows[i].name;
		def.body = rows[i].body;
		def.threads = WB_T8 | WB_T64;
		def.flags = WB_FAIRNESS | WB_LATENCY | WB_CPU | WB_EXACT_OPS | WB_LONGEST_WAIT;
		def.setup = c3_setup;
		def.teardown = c3_teardown;
		wb_register_def(&def);
	}
}
