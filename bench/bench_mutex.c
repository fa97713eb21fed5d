/* SPDX-License-Identifier: MIT */
/*
 * bench_mutex.c - family "mutex": weft_mutex against pthread_mutex (normal and
 * adaptive; absl::Mutex is in locks_cxx.cc) on the workloads of lockbench.h;
 * the A/A row (weft_mutex_aa: weft_mutex under a second name, the noise floor);
 * the process-shared flavours (weft_mutex_pshared: WEFT_PSHARED, against
 * pthread_pshared: PTHREAD_PROCESS_SHARED); the `limit` row (one CAS to lock, one exchange to unlock, on a plain word:
 * what a futex mutex cannot avoid); and the spin sweep that chose
 * WEFT_MUTEX_SPIN_DEFAULT:
 *
 *     mutex/spin_sweep_<N>/weft_mutex   the contended counter with 50 ns inside
 *                                       and 50 ns outside, weft_mutex_set_spin(N)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>

#include <weft/mutex.h>

#include "lockbench.h"

/* ---- weft_mutex -------------------------------------------------------------- */

static void wmutex_init(void *l)
{
	(void)!weft_mutex_init((weft_mutex_t *)l, 0);
}
static void wmutex_pshared_init(void *l)
{
	(void)!weft_mutex_init((weft_mutex_t *)l, WEFT_PSHARED);
}
static void wmutex_destroy(void *l)
{
	weft_mutex_destroy((weft_mutex_t *)l);
}
static void wmutex_lock(void *l, void *node)
{
	(void)node;
	weft_mutex_lock((weft_mutex_t *)l);
}
static void wmutex_unlock(void *l, void *node)
{
	(void)node;
	weft_mutex_unlock((weft_mutex_t *)l);
}
static void wmutex_uncontended(wb_thread *t)
{
	lb_uncontended(t, wmutex_lock, wmutex_unlock);
}
static void wmutex_contended(wb_thread *t)
{
	lb_contended(t, wmutex_lock, wmutex_unlock);
}
static void wmutex_handoff(wb_thread *t)
{
	lb_handoff(t, wmutex_lock, wmutex_unlock);
}

/* ---- pthread_mutex: normal and adaptive ------------------------------------- */

static void pmutex_init(void *l)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_NORMAL);
	pthread_mutex_init((pthread_mutex_t *)l, &a);
	pthread_mutexattr_destroy(&a);
}
static void padaptive_init(void *l)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init((pthread_mutex_t *)l, &a);
	pthread_mutexattr_destroy(&a);
}
static void ppshared_init(void *l)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init((pthread_mutex_t *)l, &a);
	pthread_mutexattr_destroy(&a);
}
static void pmutex_destroy(void *l)
{
	pthread_mutex_destroy((pthread_mutex_t *)l);
}
static void pmutex_lock(void *l, void *node)
{
	(void)node;
	pthread_mutex_lock((pthread_mutex_t *)l);
}
static void pmutex_unlock(void *l, void *node)
{
	(void)node;
	pthread_mutex_unlock((pthread_mutex_t *)l);
}
static void pmutex_uncontended(wb_thread *t)
{
	lb_uncontended(t, pmutex_lock, pmutex_unlock);
}
static void pmutex_contended(wb_thread *t)
{
	lb_contended(t, pmutex_lock, pmutex_unlock);
}
static void pmutex_handoff(wb_thread *t)
{
	lb_handoff(t, pmutex_lock, pmutex_unlock);
}

/* ---- limit: CAS 0 -> 1 to lock, exchange to 0 to unlock -------------------------- */

static void limit_init(void *l)
{
	*(uint32_t *)l = 0;
}
static void limit_lock(void *l, void *node)
{
	(void)node;
	uint32_t expected = 0;
	/* acquire: what a lock must at least do; one thread, so it always succeeds */
	(void)__atomic_compare_exchange_n((uint32_t *)l, &expected, 1u, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
static void limit_unlock(void *l, void *node)
{
	(void)node;
	/* release: publishes the (empty) critical section; the old value would say
	 * whether to wake anyone */
	(void)__atomic_exchange_n((uint32_t *)l, 0u, __ATOMIC_RELEASE);
}
static void limit_uncontended(wb_thread *t)
{
	lb_uncontended(t, limit_lock, limit_unlock);
}

static const struct lb_impl mutex_impls[] = {
	{"mutex", "weft_mutex", wmutex_init, wmutex_destroy, NULL, NULL, wmutex_uncontended, wmutex_contended,
	 wmutex_handoff},
	{"mutex", "pthread", pmutex_init, pmutex_destroy, NULL, NULL, pmutex_uncontended, pmutex_contended,
	 pmutex_handoff},
	{"mutex", "pthread_adaptive", padaptive_init, pmutex_destroy, NULL, NULL, pmutex_uncontended,
	 pmutex_contended, pmutex_handoff},
	{"mutex", "limit", limit_init, NULL, NULL, NULL, limit_uncontended, NULL, NULL},
	/* the A/A row: weft_mutex again under another name; its ratio to
	 * weft_mutex is the noise floor the report prints first */
	{"mutex", "weft_mutex_aa", wmutex_init, wmutex_destroy, NULL, NULL, wmutex_uncontended, wmutex_contended,
	 wmutex_handoff},
	/* process-shared flavours (the lock in ordinary memory here: the cost of the
	 * shared futex and the flags, compared with each other only) */
	{"mutex", "weft_mutex_pshared", wmutex_pshared_init, wmutex_destroy, NULL, NULL, wmutex_uncontended,
	 wmutex_contended, wmutex_handoff},
	{"mutex", "pthread_pshared", ppshared_init, pmutex_destroy, NULL, NULL, pmutex_uncontended,
	 pmutex_contended, pmutex_handoff},
};

/* The spin bounds of the sweep, in pauses (weft_mutex_set_spin()). */
static const int sweep[] = {0, 25, 50, 100, 200, 400, 1000, 2000, 4000};

__attribute__((constructor)) static void register_mutex(void)
{
	for (size_t i = 0; i < sizeof mutex_impls / sizeof mutex_impls[0]; i++)
		lb_register_impl(&mutex_impls[i]);

	for (size_t i = 0; i < sizeof sweep / sizeof sweep[0]; i++) {
		struct lb_params *p = (struct lb_params *)calloc(1, sizeof *p);
		char name[96];
		p->impl = &mutex_impls[0];
		p->cs_ns = 50;
		p->out_ns = 50;
		p->spin = sweep[i];
		snprintf(name, sizeof name, "mutex/spin_sweep_%d/weft_mutex", sweep[i]);
		wb_def def;
		memset(&def, 0, sizeof def);
		def.name = name;
		def.body = wmutex_contended;
		def.threads = WB_T2 | WB_T4 | WB_T8;
		def.flags = WB_FAIRNESS | WB_LATENCY | WB_CPU | WB_LONGEST_WAIT;
		def.arg = p;
		def.setup = lb_setup;
		def.teardown = lb_teardown;
		wb_register_def(&def);
	}
}
