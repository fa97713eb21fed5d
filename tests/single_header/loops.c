/* SPDX-License-Identifier: MIT */
/*
 * loops.c - every blocking and timed call of every primitive, used the way a
 * user writes it, in ONE translation unit with the single header and its
 * implementation (make check-single-header-loops; tests/single_header/run.sh
 * compiles it with gcc and clang at -O0..-O3 and -flto).
 *
 * Each case has a waiter that loops on a plain global (`ready`), reading it
 * under the lock or after the primitive handed it over, and a setter thread
 * that changes it under the lock or publishes it through the primitive.  The
 * contract (docs/errors.md, DESIGN.md "Every blocking call behaves as a
 * compiler barrier for the caller's data") says the waiter sees the change.  A
 * compiler that believes the blocking call writes no global keeps `ready` in
 * a register and the waiter loops for ever: each case runs in a forked child
 * under alarm(), and a hang is the failure.  Nothing is timed: the naps below
 * only make it likely that the waiter reads `ready` == 0 first, so that a
 * broken build is caught; they can make a run pass by luck, never fail.
 *
 * READY_STORAGE is `static` by default (gcc's inter-procedural reference
 * analysis tracks only variables it can see all uses of: statics, or every
 * global under -flto); run.sh also builds the -flto variant with it empty.
 *
 * Usage: loops            run every case, one child each; exit 1 if any hangs
 *        loops NAME...    run the named cases only
 *        loops --list     print the case names
 */
#ifdef LOOPS_LINKED
/* run.sh also builds this file with include/ and every src .c file under -flto: the
 * linked library, seen whole by the link-time optimizer. */
#include "weft/weft.h"
#else
#define WEFT_IMPLEMENTATION
#include "weft.h"
#endif

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef READY_STORAGE
#define READY_STORAGE static
#endif

#define WATCHDOG_SECONDS 15 /* a healthy case takes milliseconds */
#define NAP_NS 20000000L    /* the setter's head start for the waiter (20 ms) */
#define SLICE_NS 2000000u   /* timed calls: a 2 ms deadline, then loop */

/* The handshake flag: the setter (or the waiter) says "I hold it now".
 * Each case runs in its own child process, so one flag serves them all. */
static int gate;

static void gate_open(void)
{
	/* release: publishes the lock the opener holds; pairs with gate_wait() */
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
}

static void gate_wait(void)
{
	/* acquire: pairs with gate_open() */
	while (!__atomic_load_n(&gate, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void nap(void)
{
	struct timespec ts = {0, NAP_NS};
	nanosleep(&ts, NULL);
}

static pthread_t start(void *(*fn)(void *))
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, NULL) != 0) {
		perror("pthread_create");
		exit(2);
	}
	return t;
}

static void finish(pthread_t t)
{
	pthread_join(t, NULL);
}

/* ---- the waiters' calls ----
 *
 * Every call a waiter makes on a primitive (the blocking call, and the unlock
 * after it) goes through one of these u_*() helpers.
 * By default they are `static inline`, so the call sits right in the user's
 * loop (the shape).  With -DWRAPPED they are noinline, as a user's own
 * helper function would be: the loop then sees only the compiler's summary of
 * the helper, which holds nothing but weft's inline fast path (atomics) and
 * calls to weft's out-of-line functions.  run.sh builds both.
 */
#ifdef WRAPPED
#define USER_FN static __attribute__((noinline))
#else
#define USER_FN static inline
#endif

static weft_mutex_t mx = WEFT_MUTEX_INIT;
static weft_cond_t cv = WEFT_COND_INIT;
static weft_rwlock_t rw = WEFT_RWLOCK_INIT;
static weft_brlock_t br;
static weft_spin_t spin = WEFT_SPIN_INIT;
static weft_ticket_t ticket = WEFT_TICKET_INIT;
static weft_mcs_t mcs = WEFT_MCS_INIT;
static weft_sem_t sem;
static weft_latch_t latch;
static weft_barrier_t barrier;
static weft_once_t once = WEFT_ONCE_INIT;
static weft_mpmc_t *queue;
static int token;
static weft_cancel_t cancel_tok; /* never cancelled: the _ctx cases pass it so the token path is compiled in */

static struct timespec slice(void)
{
	return weft_deadline_after_ns(SLICE_NS);
}

USER_FN void u_mutex_lock(void) { weft_mutex_lock(&mx); }
USER_FN void u_mutex_unlock(void) { weft_mutex_unlock(&mx); }
USER_FN int u_mutex_timedlock(void) { struct timespec d = slice(); return weft_mutex_timedlock(&mx, &d); }
USER_FN int u_mutex_lock_ctx(void) { struct timespec d = slice(); return weft_mutex_lock_ctx(&mx, &d, &cancel_tok); }
USER_FN void u_cond_wait(void) { weft_cond_wait(&cv, &mx); }
USER_FN int u_cond_timedwait(void) { struct timespec d = slice(); return weft_cond_timedwait(&cv, &mx, &d); }
USER_FN int u_cond_wait_ctx(void) { struct timespec d = slice(); return weft_cond_wait_ctx(&cv, &mx, &d, &cancel_tok); }
USER_FN void u_rwlock_rdlock(void) { weft_rwlock_rdlock(&rw); }
USER_FN int u_rwlock_rdlock_ctx(void) { struct timespec d = slice(); return weft_rwlock_rdlock_ctx(&rw, &d, &cancel_tok); }
USER_FN int u_rwlock_wrlock_ctx(void) { struct timespec d = slice(); return weft_rwlock_wrlock_ctx(&rw, &d, &cancel_tok); }
USER_FN void u_rwlock_rdunlock(void) { weft_rwlock_rdunlock(&rw); }
USER_FN void u_rwlock_wrunlock(void) { weft_rwlock_wrunlock(&rw); }
USER_FN int u_rwlock_timedrdlock(void) { struct timespec d = slice(); return weft_rwlock_timedrdlock(&rw, &d); }
USER_FN void u_rwlock_wrlock(void) { weft_rwlock_wrlock(&rw); }
USER_FN int u_rwlock_timedwrlock(void) { struct timespec d = slice(); return weft_rwlock_timedwrlock(&rw, &d); }
USER_FN void u_brlock_rdlock(void) { weft_brlock_rdlock(&br); }
USER_FN void u_brlock_rdunlock(void) { weft_brlock_rdunlock(&br); }
USER_FN void u_brlock_wrunlock(void) { weft_brlock_wrunlock(&br); }
USER_FN int u_brlock_timedrdlock(void) { struct timespec d = slice(); return weft_brlock_timedrdlock(&br, &d); }
USER_FN void u_brlock_wrlock(void) { weft_brlock_wrlock(&br); }
USER_FN int u_brlock_timedwrlock(void) { struct timespec d = slice(); return weft_brlock_timedwrlock(&br, &d); }
USER_FN int u_brlock_rdlock_ctx(void) { struct timespec d = slice(); return weft_brlock_rdlock_ctx(&br, &d, &cancel_tok); }
USER_FN int u_brlock_wrlock_ctx(void) { struct timespec d = slice(); return weft_brlock_wrlock_ctx(&br, &d, &cancel_tok); }
USER_FN void u_spin_lock(void) { weft_spin_lock(&spin); }
USER_FN void u_spin_unlock(void) { weft_spin_unlock(&spin); }
USER_FN void u_ticket_lock(void) { weft_ticket_lock(&ticket); }
USER_FN void u_ticket_unlock(void) { weft_ticket_unlock(&ticket); }
USER_FN void u_mcs_lock(weft_mcs_node_t *node) { weft_mcs_lock(&mcs, node); }
USER_FN void u_mcs_unlock(weft_mcs_node_t *node) { weft_mcs_unlock(&mcs, node); }
USER_FN void u_sem_wait(void) { weft_sem_wait(&sem); }
USER_FN int u_sem_timedwait(void) { struct timespec d = slice(); return weft_sem_timedwait(&sem, &d); }
USER_FN void u_latch_wait(void) { weft_latch_wait(&latch); }
USER_FN int u_latch_timedwait(void) { struct timespec d = slice(); return weft_latch_timedwait(&latch, &d); }
USER_FN bool u_barrier_wait(void) { return weft_barrier_wait(&barrier); }
USER_FN int u_latch_wait_ctx(void) { struct timespec d = slice(); return weft_latch_wait_ctx(&latch, &d, &cancel_tok); }
USER_FN int u_barrier_wait_ctx(void) { struct timespec d = slice(); return weft_barrier_wait_ctx(&barrier, NULL, &d, &cancel_tok); }
static void once_never(void);
USER_FN void u_once(void) { weft_once(&once, once_never); }
USER_FN int u_mpmc_pop(void **v) { return weft_mpmc_pop(queue, v); }
USER_FN int u_mpmc_timedpop(void **v) { struct timespec d = slice(); return weft_mpmc_timedpop(queue, v, &d); }
USER_FN int u_mpmc_push(void) { return weft_mpmc_push(queue, &token); }
USER_FN int u_mpmc_timedpush(void) { struct timespec d = slice(); return weft_mpmc_timedpush(queue, &token, &d); }
static weft_cancel_t live_token = WEFT_CANCEL_INIT; /* never cancelled */
USER_FN int u_mpmc_pop_ctx(void **v) { return weft_mpmc_pop_ctx(queue, v, NULL, &live_token); }
USER_FN int u_mpmc_push_ctx(void) { struct timespec d = slice(); return weft_mpmc_push_ctx(queue, &token, &d, &live_token); }
static weft_latch_t shut; /* never opened: a wait on it ends only by its token */
static weft_cancel_t hand_tok;
USER_FN int u_wait_for_cancel(void) { return weft_latch_wait_ctx(&shut, NULL, &hand_tok); }
USER_FN int u_sem_wait_ctx(void) { struct timespec d = slice(); return weft_sem_wait_ctx(&sem, &d, &live_token); }
static weft_mpmc_t *queue2;
USER_FN int u_mpmc_select(void)
{
	weft_mpmc_case_t c[2] = {{queue2, WEFT_MPMC_OP_POP, NULL}, {queue, WEFT_MPMC_OP_POP, NULL}};
	unsigned chosen;
	return weft_mpmc_select(c, 2, NULL, &live_token, &chosen);
}

/* ---- mutex: the setter holds the lock first; the waiter's lock blocks ---- */

READY_STORAGE int mutex_lock_ready;
READY_STORAGE int mutex_timedlock_ready;
READY_STORAGE int mutex_lock_ctx_ready;

static void *mutex_lock_setter(void *arg)
{
	(void)arg;
	weft_mutex_lock(&mx);
	gate_open();
	nap();
	mutex_lock_ready = 1;
	weft_mutex_unlock(&mx);
	return NULL;
}

static void case_mutex_lock(void)
{
	pthread_t t = start(mutex_lock_setter);
	gate_wait();
	for (;;) {
		u_mutex_lock();
		int r = mutex_lock_ready;
		u_mutex_unlock();
		if (r)
			break;
	}
	finish(t);
}

static void *mutex_timedlock_setter(void *arg)
{
	(void)arg;
	weft_mutex_lock(&mx);
	gate_open();
	nap();
	mutex_timedlock_ready = 1;
	weft_mutex_unlock(&mx);
	return NULL;
}

static void case_mutex_timedlock(void)
{
	pthread_t t = start(mutex_timedlock_setter);
	gate_wait();
	for (;;) {
		if (u_mutex_timedlock() != WEFT_OK)
			continue;
		int r = mutex_timedlock_ready;
		u_mutex_unlock();
		if (r)
			break;
	}
	finish(t);
}

static void *mutex_lock_ctx_setter(void *arg)
{
	(void)arg;
	weft_mutex_lock(&mx);
	gate_open();
	nap();
	mutex_lock_ctx_ready = 1;
	weft_mutex_unlock(&mx);
	return NULL;
}

static void case_mutex_lock_ctx(void)
{
	pthread_t t = start(mutex_lock_ctx_setter);
	gate_wait();
	for (;;) {
		if (u_mutex_lock_ctx() != WEFT_OK)
			continue;
		int r = mutex_lock_ctx_ready;
		u_mutex_unlock();
		if (r)
			break;
	}
	finish(t);
}

/* ---- cond: the loop; the waiter holds the mutex, the setter signals ---- */

READY_STORAGE int cond_wait_ready;
READY_STORAGE int cond_timedwait_ready;
READY_STORAGE int cond_wait_ctx_ready;

static void *cond_wait_setter(void *arg)
{
	(void)arg;
	gate_wait();
	weft_mutex_lock(&mx);
	cond_wait_ready = 1;
	weft_cond_signal(&cv);
	weft_mutex_unlock(&mx);
	return NULL;
}

static void case_cond_wait(void)
{
	pthread_t t = start(cond_wait_setter);
	weft_mutex_lock(&mx);
	gate_open(); /* the setter cannot set ready before this thread waits */
	while (!cond_wait_ready)
		u_cond_wait();
	weft_mutex_unlock(&mx);
	finish(t);
}

static void *cond_timedwait_setter(void *arg)
{
	(void)arg;
	gate_wait();
	weft_mutex_lock(&mx);
	cond_timedwait_ready = 1;
	weft_cond_signal(&cv);
	weft_mutex_unlock(&mx);
	return NULL;
}

static void case_cond_timedwait(void)
{
	pthread_t t = start(cond_timedwait_setter);
	weft_mutex_lock(&mx);
	gate_open();
	while (!cond_timedwait_ready)
		(void)u_cond_timedwait();
	weft_mutex_unlock(&mx);
	finish(t);
}

static void *cond_wait_ctx_setter(void *arg)
{
	(void)arg;
	gate_wait();
	weft_mutex_lock(&mx);
	cond_wait_ctx_ready = 1;
	weft_cond_signal(&cv);
	weft_mutex_unlock(&mx);
	return NULL;
}

static void case_cond_wait_ctx(void)
{
	pthread_t t = start(cond_wait_ctx_setter);
	weft_mutex_lock(&mx);
	gate_open();
	while (!cond_wait_ctx_ready)
		(void)u_cond_wait_ctx();
	weft_mutex_unlock(&mx);
	finish(t);
}

/* ---- rwlock: the setter holds the write lock; the waiter reads or writes ---- */

READY_STORAGE int rwlock_rdlock_ready;
READY_STORAGE int rwlock_timedrdlock_ready;
READY_STORAGE int rwlock_wrlock_ready;
READY_STORAGE int rwlock_timedwrlock_ready;
READY_STORAGE int rwlock_rdlock_ctx_ready;
READY_STORAGE int rwlock_wrlock_ctx_ready;

static void *rwlock_rdlock_setter(void *arg)
{
	(void)arg;
	weft_rwlock_wrlock(&rw);
	gate_open();
	nap();
	rwlock_rdlock_ready = 1;
	weft_rwlock_wrunlock(&rw);
	return NULL;
}

static void case_rwlock_rdlock(void)
{
	pthread_t t = start(rwlock_rdlock_setter);
	gate_wait();
	for (;;) {
		u_rwlock_rdlock();
		int r = rwlock_rdlock_ready;
		u_rwlock_rdunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *rwlock_timedrdlock_setter(void *arg)
{
	(void)arg;
	weft_rwlock_wrlock(&rw);
	gate_open();
	nap();
	rwlock_timedrdlock_ready = 1;
	weft_rwlock_wrunlock(&rw);
	return NULL;
}

static void case_rwlock_timedrdlock(void)
{
	pthread_t t = start(rwlock_timedrdlock_setter);
	gate_wait();
	for (;;) {
		if (u_rwlock_timedrdlock() != WEFT_OK)
			continue;
		int r = rwlock_timedrdlock_ready;
		u_rwlock_rdunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *rwlock_wrlock_setter(void *arg)
{
	(void)arg;
	weft_rwlock_wrlock(&rw);
	gate_open();
	nap();
	rwlock_wrlock_ready = 1;
	weft_rwlock_wrunlock(&rw);
	return NULL;
}

static void case_rwlock_wrlock(void)
{
	pthread_t t = start(rwlock_wrlock_setter);
	gate_wait();
	for (;;) {
		u_rwlock_wrlock();
		int r = rwlock_wrlock_ready;
		u_rwlock_wrunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *rwlock_timedwrlock_setter(void *arg)
{
	(void)arg;
	weft_rwlock_wrlock(&rw);
	gate_open();
	nap();
	rwlock_timedwrlock_ready = 1;
	weft_rwlock_wrunlock(&rw);
	return NULL;
}

static void case_rwlock_timedwrlock(void)
{
	pthread_t t = start(rwlock_timedwrlock_setter);
	gate_wait();
	for (;;) {
		if (u_rwlock_timedwrlock() != WEFT_OK)
			continue;
		int r = rwlock_timedwrlock_ready;
		u_rwlock_wrunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *rwlock_rdlock_ctx_setter(void *arg)
{
	(void)arg;
	weft_rwlock_wrlock(&rw);
	gate_open();
	nap();
	rwlock_rdlock_ctx_ready = 1;
	weft_rwlock_wrunlock(&rw);
	return NULL;
}

static void case_rwlock_rdlock_ctx(void)
{
	pthread_t t = start(rwlock_rdlock_ctx_setter);
	gate_wait();
	for (;;) {
		if (u_rwlock_rdlock_ctx() != WEFT_OK)
			continue;
		int r = rwlock_rdlock_ctx_ready;
		u_rwlock_rdunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *rwlock_wrlock_ctx_setter(void *arg)
{
	(void)arg;
	weft_rwlock_wrlock(&rw);
	gate_open();
	nap();
	rwlock_wrlock_ctx_ready = 1;
	weft_rwlock_wrunlock(&rw);
	return NULL;
}

static void case_rwlock_wrlock_ctx(void)
{
	pthread_t t = start(rwlock_wrlock_ctx_setter);
	gate_wait();
	for (;;) {
		if (u_rwlock_wrlock_ctx() != WEFT_OK)
			continue;
		int r = rwlock_wrlock_ctx_ready;
		u_rwlock_wrunlock();
		if (r)
			break;
	}
	finish(t);
}

/* ---- brlock: likewise ---- */

READY_STORAGE int brlock_rdlock_ready;
READY_STORAGE int brlock_timedrdlock_ready;
READY_STORAGE int brlock_wrlock_ready;
READY_STORAGE int brlock_timedwrlock_ready;
READY_STORAGE int brlock_rdlock_ctx_ready;
READY_STORAGE int brlock_wrlock_ctx_ready;

static void *brlock_rdlock_setter(void *arg)
{
	(void)arg;
	weft_brlock_wrlock(&br);
	gate_open();
	nap();
	brlock_rdlock_ready = 1;
	weft_brlock_wrunlock(&br);
	return NULL;
}

static void case_brlock_rdlock(void)
{
	pthread_t t = start(brlock_rdlock_setter);
	gate_wait();
	for (;;) {
		u_brlock_rdlock();
		int r = brlock_rdlock_ready;
		u_brlock_rdunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *brlock_timedrdlock_setter(void *arg)
{
	(void)arg;
	weft_brlock_wrlock(&br);
	gate_open();
	nap();
	brlock_timedrdlock_ready = 1;
	weft_brlock_wrunlock(&br);
	return NULL;
}

static void case_brlock_timedrdlock(void)
{
	pthread_t t = start(brlock_timedrdlock_setter);
	gate_wait();
	for (;;) {
		if (u_brlock_timedrdlock() != WEFT_OK)
			continue;
		int r = brlock_timedrdlock_ready;
		u_brlock_rdunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *brlock_wrlock_setter(void *arg)
{
	(void)arg;
	weft_brlock_wrlock(&br);
	gate_open();
	nap();
	brlock_wrlock_ready = 1;
	weft_brlock_wrunlock(&br);
	return NULL;
}

static void case_brlock_wrlock(void)
{
	pthread_t t = start(brlock_wrlock_setter);
	gate_wait();
	for (;;) {
		u_brlock_wrlock();
		int r = brlock_wrlock_ready;
		u_brlock_wrunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *brlock_timedwrlock_setter(void *arg)
{
	(void)arg;
	weft_brlock_wrlock(&br);
	gate_open();
	nap();
	brlock_timedwrlock_ready = 1;
	weft_brlock_wrunlock(&br);
	return NULL;
}

static void case_brlock_timedwrlock(void)
{
	pthread_t t = start(brlock_timedwrlock_setter);
	gate_wait();
	for (;;) {
		if (u_brlock_timedwrlock() != WEFT_OK)
			continue;
		int r = brlock_timedwrlock_ready;
		u_brlock_wrunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *brlock_rdlock_ctx_setter(void *arg)
{
	(void)arg;
	weft_brlock_wrlock(&br);
	gate_open();
	nap();
	brlock_rdlock_ctx_ready = 1;
	weft_brlock_wrunlock(&br);
	return NULL;
}

static void case_brlock_rdlock_ctx(void)
{
	pthread_t t = start(brlock_rdlock_ctx_setter);
	gate_wait();
	for (;;) {
		if (u_brlock_rdlock_ctx() != WEFT_OK)
			continue;
		int r = brlock_rdlock_ctx_ready;
		u_brlock_rdunlock();
		if (r)
			break;
	}
	finish(t);
}

static void *brlock_wrlock_ctx_setter(void *arg)
{
	(void)arg;
	weft_brlock_wrlock(&br);
	gate_open();
	nap();
	brlock_wrlock_ctx_ready = 1;
	weft_brlock_wrunlock(&br);
	return NULL;
}

static void case_brlock_wrlock_ctx(void)
{
	pthread_t t = start(brlock_wrlock_ctx_setter);
	gate_wait();
	for (;;) {
		if (u_brlock_wrlock_ctx() != WEFT_OK)
			continue;
		int r = brlock_wrlock_ctx_ready;
		u_brlock_wrunlock();
		if (r)
			break;
	}
	finish(t);
}

/* ---- spinlocks: the setter holds the lock first ---- */

READY_STORAGE int spin_lock_ready;
READY_STORAGE int ticket_lock_ready;
READY_STORAGE int mcs_lock_ready;

static void *spin_lock_setter(void *arg)
{
	(void)arg;
	weft_spin_lock(&spin);
	gate_open();
	nap();
	spin_lock_ready = 1;
	weft_spin_unlock(&spin);
	return NULL;
}

static void case_spin_lock(void)
{
	pthread_t t = start(spin_lock_setter);
	gate_wait();
	for (;;) {
		u_spin_lock();
		int r = spin_lock_ready;
		u_spin_unlock();
		if (r)
			break;
	}
	finish(t);
}

static void *ticket_lock_setter(void *arg)
{
	(void)arg;
	weft_ticket_lock(&ticket);
	gate_open();
	nap();
	ticket_lock_ready = 1;
	weft_ticket_unlock(&ticket);
	return NULL;
}

static void case_ticket_lock(void)
{
	pthread_t t = start(ticket_lock_setter);
	gate_wait();
	for (;;) {
		u_ticket_lock();
		int r = ticket_lock_ready;
		u_ticket_unlock();
		if (r)
			break;
	}
	finish(t);
}

static void *mcs_lock_setter(void *arg)
{
	(void)arg;
	weft_mcs_node_t node;
	weft_mcs_lock(&mcs, &node);
	gate_open();
	nap();
	mcs_lock_ready = 1;
	weft_mcs_unlock(&mcs, &node);
	return NULL;
}

static void case_mcs_lock(void)
{
	pthread_t t = start(mcs_lock_setter);
	gate_wait();
	for (;;) {
		weft_mcs_node_t node;
		u_mcs_lock(&node);
		int r = mcs_lock_ready;
		u_mcs_unlock(&node);
		if (r)
			break;
	}
	finish(t);
}

/* ---- sem, latch, barrier: the setter publishes ready through the primitive ---- */

READY_STORAGE int sem_wait_ready;
READY_STORAGE int sem_timedwait_ready;
READY_STORAGE int sem_wait_ctx_ready;
READY_STORAGE int latch_wait_ready;
READY_STORAGE int latch_timedwait_ready;
READY_STORAGE int barrier_wait_ready;
READY_STORAGE int latch_wait_ctx_ready;
READY_STORAGE int barrier_wait_ctx_ready;

static void *sem_wait_setter(void *arg)
{
	(void)arg;
	nap();
	sem_wait_ready = 1;
	(void)!weft_sem_post(&sem);
	return NULL;
}

static void case_sem_wait(void)
{
	(void)!weft_sem_init(&sem, 0, 0);
	pthread_t t = start(sem_wait_setter);
	while (!sem_wait_ready)
		u_sem_wait();
	finish(t);
}

static void *sem_timedwait_setter(void *arg)
{
	(void)arg;
	nap();
	sem_timedwait_ready = 1;
	(void)!weft_sem_post(&sem);
	return NULL;
}

static void case_sem_timedwait(void)
{
	(void)!weft_sem_init(&sem, 0, 0);
	pthread_t t = start(sem_timedwait_setter);
	while (!sem_timedwait_ready)
		(void)u_sem_timedwait();
	finish(t);
}

static void *sem_wait_ctx_setter(void *arg)
{
	(void)arg;
	nap();
	sem_wait_ctx_ready = 1;
	(void)!weft_sem_post(&sem);
	return NULL;
}

static void case_sem_wait_ctx(void)
{
	(void)!weft_sem_init(&sem, 0, 0);
	pthread_t t = start(sem_wait_ctx_setter);
	while (!sem_wait_ctx_ready)
		(void)u_sem_wait_ctx();
	finish(t);
}

static void *latch_wait_setter(void *arg)
{
	(void)arg;
	nap();
	latch_wait_ready = 1;
	(void)!weft_latch_count_down(&latch, 1);
	return NULL;
}

static void case_latch_wait(void)
{
	(void)!weft_latch_init(&latch, 1);
	pthread_t t = start(latch_wait_setter);
	while (!latch_wait_ready)
		u_latch_wait();
	finish(t);
}

static void *latch_timedwait_setter(void *arg)
{
	(void)arg;
	nap();
	latch_timedwait_ready = 1;
	(void)!weft_latch_count_down(&latch, 1);
	return NULL;
}

static void case_latch_timedwait(void)
{
	(void)!weft_latch_init(&latch, 1);
	pthread_t t = start(latch_timedwait_setter);
	while (!latch_timedwait_ready)
		(void)u_latch_timedwait();
	finish(t);
}

static void *barrier_wait_setter(void *arg)
{
	(void)arg;
	nap();
	barrier_wait_ready = 1;
	(void)!weft_barrier_wait(&barrier);
	return NULL;
}

static void case_barrier_wait(void)
{
	(void)!weft_barrier_init(&barrier, 2);
	pthread_t t = start(barrier_wait_setter);
	while (!barrier_wait_ready)
		(void)u_barrier_wait(); /* a second round would never open */
	finish(t);
}

static void *latch_wait_ctx_setter(void *arg)
{
	(void)arg;
	nap();
	latch_wait_ctx_ready = 1;
	(void)!weft_latch_count_down(&latch, 1);
	return NULL;
}

static void case_latch_wait_ctx(void)
{
	(void)!weft_latch_init(&latch, 1);
	pthread_t t = start(latch_wait_ctx_setter);
	while (!latch_wait_ctx_ready)
		(void)u_latch_wait_ctx();
	finish(t);
}

static void *barrier_wait_ctx_setter(void *arg)
{
	(void)arg;
	nap();
	barrier_wait_ctx_ready = 1;
	(void)!weft_barrier_wait(&barrier);
	return NULL;
}

static void case_barrier_wait_ctx(void)
{
	(void)!weft_barrier_init(&barrier, 2);
	pthread_t t = start(barrier_wait_ctx_setter);
	/* each timeout withdraws the arrival, so the loop may arrive again; once
	 * a wait returns WEFT_OK the phase opened and ready is published, and a
	 * further arrival would never be met */
	while (!barrier_wait_ctx_ready)
		(void)u_barrier_wait_ctx();
	finish(t);
}

/* ---- cancel: the setter publishes through weft_cancel(); the waiter's
 * cancellable wait returns WEFT_ECANCELED (at once, once cancelled) ---- */

READY_STORAGE int cancel_ready;

static void *cancel_setter(void *arg)
{
	(void)arg;
	nap();
	cancel_ready = 1;
	weft_cancel(&hand_tok);
	return NULL;
}

static void case_cancel(void)
{
	(void)!weft_latch_init(&shut, 1);
	(void)!weft_cancel_init(&hand_tok, NULL, 0);
	pthread_t t = start(cancel_setter);
	while (!cancel_ready)
		(void)u_wait_for_cancel();
	finish(t);
}

/* ---- once: the setter runs the init function; the waiter's weft_once() waits ---- */

READY_STORAGE int once_ready;

static void once_init(void)
{
	gate_open();
	nap();
	once_ready = 1;
}

static void once_never(void)
{
	fprintf(stderr, "once: the second init function ran\n");
	abort();
}

static void *once_setter(void *arg)
{
	(void)arg;
	weft_once(&once, once_init);
	return NULL;
}

static void case_once(void)
{
	pthread_t t = start(once_setter);
	gate_wait(); /* the setter is inside once_init() */
	while (!once_ready)
		u_once();
	finish(t);
}

/* ---- mpmc: the setter publishes ready with a push, or makes room with a pop ---- */

READY_STORAGE int mpmc_pop_ready;
READY_STORAGE int mpmc_timedpop_ready;
READY_STORAGE int mpmc_push_ready;
READY_STORAGE int mpmc_timedpush_ready;

static void make_queue(int full)
{
	queue = weft_mpmc_create(2, 0);
	if (queue == NULL) {
		fprintf(stderr, "weft_mpmc_create failed\n");
		exit(2);
	}
	while (full && weft_mpmc_try_push(queue, &token))
		;
}

static void *mpmc_pop_setter(void *arg)
{
	(void)arg;
	nap();
	mpmc_pop_ready = 1;
	(void)!weft_mpmc_push(queue, &token);
	return NULL;
}

static void case_mpmc_pop(void)
{
	make_queue(0);
	pthread_t t = start(mpmc_pop_setter);
	void *v;
	while (!mpmc_pop_ready)
		(void)u_mpmc_pop(&v); /* a second pop would never return */
	finish(t);
}

static void *mpmc_timedpop_setter(void *arg)
{
	(void)arg;
	nap();
	mpmc_timedpop_ready = 1;
	(void)!weft_mpmc_push(queue, &token);
	return NULL;
}

static void case_mpmc_timedpop(void)
{
	make_queue(0);
	pthread_t t = start(mpmc_timedpop_setter);
	void *v;
	while (!mpmc_timedpop_ready)
		(void)u_mpmc_timedpop(&v);
	finish(t);
}

static void *mpmc_push_setter(void *arg)
{
	(void)arg;
	void *v;
	nap();
	mpmc_push_ready = 1;
	(void)!weft_mpmc_pop(queue, &v);
	return NULL;
}

static void case_mpmc_push(void)
{
	make_queue(1);
	pthread_t t = start(mpmc_push_setter);
	while (!mpmc_push_ready)
		(void)u_mpmc_push(); /* the queue is full again after one */
	finish(t);
}

static void *mpmc_timedpush_setter(void *arg)
{
	(void)arg;
	void *v;
	nap();
	mpmc_timedpush_ready = 1;
	(void)!weft_mpmc_pop(queue, &v);
	return NULL;
}

static void case_mpmc_timedpush(void)
{
	make_queue(1);
	pthread_t t = start(mpmc_timedpush_setter);
	while (!mpmc_timedpush_ready)
		(void)u_mpmc_timedpush();
	finish(t);
}

READY_STORAGE int mpmc_pop_ctx_ready;
READY_STORAGE int mpmc_push_ctx_ready;
READY_STORAGE int mpmc_select_ready;

static void *mpmc_pop_ctx_setter(void *arg)
{
	(void)arg;
	nap();
	mpmc_pop_ctx_ready = 1;
	(void)!weft_mpmc_push(queue, &token);
	return NULL;
}

static void case_mpmc_pop_ctx(void)
{
	make_queue(0);
	pthread_t t = start(mpmc_pop_ctx_setter);
	void *v;
	while (!mpmc_pop_ctx_ready)
		(void)u_mpmc_pop_ctx(&v); /* a second pop would never return */
	finish(t);
}

static void *mpmc_push_ctx_setter(void *arg)
{
	(void)arg;
	void *v;
	nap();
	mpmc_push_ctx_ready = 1;
	(void)!weft_mpmc_pop(queue, &v);
	return NULL;
}

static void case_mpmc_push_ctx(void)
{
	make_queue(1);
	pthread_t t = start(mpmc_push_ctx_setter);
	while (!mpmc_push_ctx_ready)
		(void)u_mpmc_push_ctx();
	finish(t);
}

static void *mpmc_select_setter(void *arg)
{
	(void)arg;
	nap();
	mpmc_select_ready = 1;
	(void)!weft_mpmc_push(queue, &token);
	return NULL;
}

static void case_mpmc_select(void)
{
	make_queue(0);
	queue2 = weft_mpmc_create(2, 0);
	if (queue2 == NULL)
		exit(2);
	pthread_t t = start(mpmc_select_setter);
	while (!mpmc_select_ready)
		(void)u_mpmc_select(); /* a second select would never return */
	finish(t);
}

/* ---- the runner ---- */

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{"mutex_lock", case_mutex_lock},
	{"mutex_timedlock", case_mutex_timedlock},
	{"mutex_lock_ctx", case_mutex_lock_ctx},
	{"cond_wait", case_cond_wait},
	{"cond_timedwait", case_cond_timedwait},
	{"cond_wait_ctx", case_cond_wait_ctx},
	{"rwlock_rdlock", case_rwlock_rdlock},
	{"rwlock_timedrdlock", case_rwlock_timedrdlock},
	{"rwlock_wrlock", case_rwlock_wrlock},
	{"rwlock_timedwrlock", case_rwlock_timedwrlock},
	{"rwlock_rdlock_ctx", case_rwlock_rdlock_ctx},
	{"rwlock_wrlock_ctx", case_rwlock_wrlock_ctx},
	{"brlock_rdlock", case_brlock_rdlock},
	{"brlock_timedrdlock", case_brlock_timedrdlock},
	{"brlock_wrlock", case_brlock_wrlock},
	{"brlock_timedwrlock", case_brlock_timedwrlock},
	{"brlock_rdlock_ctx", case_brlock_rdlock_ctx},
	{"brlock_wrlock_ctx", case_brlock_wrlock_ctx},
	{"spin_lock", case_spin_lock},
	{"ticket_lock", case_ticket_lock},
	{"mcs_lock", case_mcs_lock},
	{"sem_wait", case_sem_wait},
	{"sem_timedwait", case_sem_timedwait},
	{"sem_wait_ctx", case_sem_wait_ctx},
	{"latch_wait", case_latch_wait},
	{"latch_timedwait", case_latch_timedwait},
	{"barrier_wait", case_barrier_wait},
	{"latch_wait_ctx", case_latch_wait_ctx},
	{"cancel", case_cancel},
	{"barrier_wait_ctx", case_barrier_wait_ctx},
	{"once", case_once},
	{"mpmc_pop", case_mpmc_pop},
	{"mpmc_timedpop", case_mpmc_timedpop},
	{"mpmc_push", case_mpmc_push},
	{"mpmc_timedpush", case_mpmc_timedpush},
	{"mpmc_pop_ctx", case_mpmc_pop_ctx},
	{"mpmc_push_ctx", case_mpmc_push_ctx},
	{"mpmc_select", case_mpmc_select},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Run one case in a child with a watchdog; 0 if it finished. */
static int run_case(size_t i)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		alarm(WATCHDOG_SECONDS); /* SIGALRM's default action ends the child */
		cases[i].run();
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		printf("HANG %s (no return within %d s: the waiter never saw ready)\n", cases[i].name,
		       WATCHDOG_SECONDS);
	else
		printf("FAIL %s (status 0x%x)\n", cases[i].name, (unsigned)status);
	return 1;
}

int main(int argc, char **argv)
{
	int failed = 0, ran = 0;
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < NCASES; i++)
			puts(cases[i].name);
		return 0;
	}
	/* The cases run one after another: with 2 CPUs, running them at once would
	 * only make the naps longer; each takes a few tens of milliseconds. */
	for (size_t i = 0; i < NCASES; i++) {
		int wanted = argc == 1;
		for (int a = 1; a < argc; a++)
			wanted |= strcmp(argv[a], cases[i].name) == 0;
		if (!wanted)
			continue;
		ran++;
		failed += run_case(i);
	}
	printf("%d cases, %d hung or failed\n", ran, failed);
	return failed != 0 || ran == 0;
}
