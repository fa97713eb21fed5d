/* SPDX-License-Identifier: MIT */
/*
 * weft_preload.c - libweft-preload.so: run a program's pthread mutexes,
 * condition variables, rwlocks, spinlocks, barriers and unnamed semaphores on
 * weft's primitives, with LD_PRELOAD.
 *
 * The approach is LiTL's (H. Guiroux, R. Lachaize, V. Quema, "Multicore
 * Locks: the Case is Not Closed Yet", USENIX ATC 2016; "Lock-Unlock: Is That
 * All?", ACM TOCS 2019): define the pthread symbols in a preloaded library,
 * so that the program's calls bind here, and resolve glibc's own with
 * dlsym(RTLD_NEXT).  Unlike LiTL, which keeps its lock in a side table found
 * through a hash of the pthread object's address, each weft object here
 * lives inside the pthread object's own storage (weft's types are 4 to 24
 * bytes; pthread_mutex_t is 40, pthread_cond_t 48, pthread_rwlock_t 56), so
 * the lock path is the weft fast path plus one load of a tag word and a
 * per-thread counter.  No code is taken from LiTL.
 *
 * Tag words: which objects are weft's, which glibc's.
 *   mutex    glibc's __kind (offset 16).  PTHREAD_MUTEX_INITIALIZER and our
 *            own pthread_mutex_init() of a normal/default/adaptive private
 *            mutex leave it 0 (or 3, adaptive): weft.  Anything glibc would
 *            give a non-zero kind (recursive, error-checking, robust,
 *            priority-inheritance/protect, process-shared) is initialised by
 *            glibc and every later call on it goes to glibc.
 *   rwlock   glibc's __shared (offset 28): non-zero only for a process-shared
 *            rwlock, which glibc keeps.  weft's lock is at offset 0.
 *   cond     glibc's __wrefs bit 0 (offset 36): set by glibc for a
 *            process-shared condvar.  weft's cond is at offset 0, the clock
 *            chosen by pthread_condattr_setclock() at offset 24.
 *   barrier, sem   no static initializer: our init writes WEFT_PRELOAD_MAGIC
 *            at offset 24 (beyond every field glibc uses); anything else
 *            (a pshared one, a named semaphore from sem_open()) is glibc's.
 *   spin     pthread_spinlock_t is an int, weft_spin_t one 32-bit word: all
 *            are weft's (a process-shared one works too: it never sleeps).
 *
 * Mutex kinds (WEFT_PRELOAD_MUTEX, read once, before the first lock):
 * mutex (weft_mutex_t, default), spin (weft_spin_t), ticket (weft_ticket_t),
 * mcs (weft_mcs_t).  An MCS lock needs a queue node per acquisition that
 * lives until the unlock: each thread has WP_MCS_NODES nodes in its
 * thread-local record (a bitmap says which are in use; nested locks take
 * one each), the holder writes its node's address into the mutex (offset 24,
 * written and read only by the holder) so that pthread_mutex_unlock() finds
 * it, and a thread holding more than WP_MCS_NODES MCS mutexes at once gets a
 * heap node, freed at its unlock.
 *
 * Condition variables always use weft_cond_t's wait protocol, with the mutex
 * released and re-taken by this file (so a cond works with every mutex kind
 * and with glibc's recursive mutexes).  The requeue target weft_cond_t
 * records is a never-locked mutex marked process-shared, so a broadcast
 * wakes every sleeper and never moves them onto the mutex: a woken waiter
 * leaves the condition variable without needing the mutex.  That is what lets
 * pthread_cond_destroy() wait for the woken waiters to leave (POSIX allows
 * destroying a condvar right after a broadcast; weft_cond_t alone does not),
 * and lets pthread_cancel() wake a waiter while the canceller holds the mutex.
 *
 * Cancellation: pthread_cond_wait() is a cancellation point and weft's waits
 * are not.  The wait calls pthread_testcancel() on entry (mutex held, nothing
 * registered) and after it has re-taken the mutex (so cleanup handlers run
 * with the mutex held, as POSIX requires).  A thread asleep in the wait is
 * woken by our pthread_cancel(): it sets glibc's cancel flag, then, under the
 * registry lock, broadcasts the condvar the target is waiting on (recorded in
 * the target's thread record) until the target has left that wait.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weft/barrier.h"
#include "weft/cond.h"
#include "weft/deadline.h"
#include "weft/mutex.h"
#include "weft/rwlock.h"
#include "weft/sem.h"
#include "weft/spinlock.h"
#include "weft/status.h"

#include "weft_preload.h"

#define WP_EXPORT __attribute__((visibility("default")))
#define WP_LIKELY(x) __builtin_expect(!!(x), 1)
#define WP_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define WEFT_PRELOAD_MAGIC 0x57656674u /* "Weft" */

/* ---- layouts inside the pthread objects -------------------------------- */

struct wp_mutex {
	union {
		weft_mutex_t mutex;
		weft_spin_t spin;
		weft_ticket_t ticket;
		weft_mcs_t mcs;
	} lock;                   /* 0..8 */
	uint32_t unused8[2];      /* 8..16 */
	int32_t kind;             /* 16: glibc's __kind, our tag: 0 or 3 = weft */
	uint32_t unused20;        /* 20 */
	weft_mcs_node_t *mcs_node; /* 24: the MCS holder's node (holder only) */
	uint64_t unused32;        /* 32..40 */
};
_Static_assert(sizeof(struct wp_mutex) <= sizeof(pthread_mutex_t), "weft mutex fits in pthread_mutex_t");
_Static_assert(offsetof(struct wp_mutex, kind) == offsetof(pthread_mutex_t, __data.__kind), "tag is glibc's __kind");
_Static_assert(_Alignof(weft_mcs_t) <= _Alignof(pthread_mutex_t), "alignment");

struct wp_cond {
	weft_cond_t cond;  /* 0..24 */
	uint32_t clock;    /* 24: 0 realtime, 1 monotonic */
	uint32_t unused28; /* 28 */
	uint32_t unused32; /* 32 */
	uint32_t wrefs;    /* 36: glibc's __wrefs; bit 0 set = glibc's process-shared condvar */
	uint64_t unused40; /* 40 */
};
_Static_assert(sizeof(struct wp_cond) <= sizeof(pthread_cond_t), "weft cond fits in pthread_cond_t");
_Static_assert(offsetof(struct wp_cond, wrefs) == offsetof(pthread_cond_t, __data.__wrefs), "tag is glibc's __wrefs");
_Static_assert(_Alignof(weft_cond_t) <= _Alignof(pthread_cond_t), "alignment");

struct wp_rwlock {
	weft_rwlock_t rw;  /* 0..8 */
	uint64_t unused8;  /* 8..16 */
	uintptr_t writer;  /* 16: the write holder's record address, 0 otherwise */
	uint32_t unused24; /* 24 */
	uint32_t shared;   /* 28: glibc's __shared: non-zero = glibc's */
};
_Static_assert(sizeof(struct wp_rwlock) <= sizeof(pthread_rwlock_t), "weft rwlock fits in pthread_rwlock_t");
_Static_assert(offsetof(struct wp_rwlock, shared) == offsetof(pthread_rwlock_t, __data.__shared), "tag is glibc's __shared");

struct wp_barrier {
	weft_barrier_t barrier; /* 0..12 */
	uint32_t unused12;
	uint32_t inside;        /* 16: threads inside pthread_barrier_wait() */
	uint32_t unused20;
	uint32_t tag;           /* 24: WEFT_PRELOAD_MAGIC = weft's */
};
_Static_assert(sizeof(struct wp_barrier) <= sizeof(pthread_barrier_t), "weft barrier fits in pthread_barrier_t");

struct wp_sem {
	uint64_t glibc_data; /* 0: glibc's value and waiters */
	uint32_t glibc_private; /* 8 */
	uint32_t unused12;
	weft_sem_t sem;      /* 16..24 */
	uint32_t tag;        /* 24: WEFT_PRELOAD_MAGIC = weft's */
};
_Static_assert(sizeof(struct wp_sem) <= sizeof(sem_t), "weft sem fits in sem_t");

_Static_assert(sizeof(weft_spin_t) == sizeof(pthread_spinlock_t), "weft spin is pthread_spinlock_t");

/* ---- glibc's own functions ---------------------------------------------- */

struct wp_real {
	int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
	int (*mutex_destroy)(pthread_mutex_t *);
	int (*mutex_lock)(pthread_mutex_t *);
	int (*mutex_trylock)(pthread_mutex_t *);
	int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
	int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
	int (*mutex_unlock)(pthread_mutex_t *);
	int (*cond_init)(pthread_cond_t *, const pthread_condattr_t *);
	int (*cond_destroy)(pthread_cond_t *);
	int (*cond_signal)(pthread_cond_t *);
	int (*cond_broadcast)(pthread_cond_t *);
	int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
	int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
	int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
	int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
	int (*rwlock_destroy)(pthread_rwlock_t *);
	int (*rwlock_rdlock)(pthread_rwlock_t *);
	int (*rwlock_tryrdlock)(pthread_rwlock_t *);
	int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
	int (*rwlock_wrlock)(pthread_rwlock_t *);
	int (*rwlock_trywrlock)(pthread_rwlock_t *);
	int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
	int (*rwlock_unlock)(pthread_rwlock_t *);
	int (*barrier_init)(pthread_barrier_t *, const pthread_barrierattr_t *, unsigned);
	int (*barrier_destroy)(pthread_barrier_t *);
	int (*barrier_wait)(pthread_barrier_t *);
	int (*sem_init)(sem_t *, int, unsigned);
	int (*sem_destroy)(sem_t *);
	int (*sem_wait)(sem_t *);
	int (*sem_trywait)(sem_t *);
	int (*sem_timedwait)(sem_t *, const struct timespec *);
	int (*sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
	int (*sem_post)(sem_t *);
	int (*sem_getvalue)(sem_t *, int *);
	int (*cancel)(pthread_t);
};

static struct wp_real real;
static int real_ready; /* 0, 1 resolved */

#ifdef WEFT_PRELOAD_PREFIX
/* Linked into a test program (the TSan build): our functions carry a prefix,
 * so the plain names are glibc's (through TSan's interceptors). */
#define WP_SET(field, name, ver) (real.field = name)
#else
static void *wp_sym(const char *name, const char *version)
{
	void *p = version ? dlvsym(RTLD_NEXT, name, version) : 0;
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	return p;
}
#define WP_SET(field, name, ver) (*(void **)&real.field = wp_sym(#name, ver))
#endif

static void wp_resolve(void)
{
	/* pthread_cond_* have two versions on x86-64: GLIBC_2.2.5 (the old
	 * LinuxThreads-compatible one) and GLIBC_2.3.2, which programs link. */
	WP_SET(mutex_init, pthread_mutex_init, 0);
	WP_SET(mutex_destroy, pthread_mutex_destroy, 0);
	WP_SET(mutex_lock, pthread_mutex_lock, 0);
	WP_SET(mutex_trylock, pthread_mutex_trylock, 0);
	WP_SET(mutex_timedlock, pthread_mutex_timedlock, 0);
	WP_SET(mutex_clocklock, pthread_mutex_clocklock, 0);
	WP_SET(mutex_unlock, pthread_mutex_unlock, 0);
	WP_SET(cond_init, pthread_cond_init, "GLIBC_2.3.2");
	WP_SET(cond_destroy, pthread_cond_destroy, "GLIBC_2.3.2");
	WP_SET(cond_signal, pthread_cond_signal, "GLIBC_2.3.2");
	WP_SET(cond_broadcast, pthread_cond_broadcast, "GLIBC_2.3.2");
	WP_SET(cond_wait, pthread_cond_wait, "GLIBC_2.3.2");
	WP_SET(cond_timedwait, pthread_cond_timedwait, "GLIBC_2.3.2");
	WP_SET(cond_clockwait, pthread_cond_clockwait, 0);
	WP_SET(rwlock_init, pthread_rwlock_init, 0);
	WP_SET(rwlock_destroy, pthread_rwlock_destroy, 0);
	WP_SET(rwlock_rdlock, pthread_rwlock_rdlock, 0);
	WP_SET(rwlock_tryrdlock, pthread_rwlock_tryrdlock, 0);
	WP_SET(rwlock_timedrdlock, pthread_rwlock_timedrdlock, 0);
	WP_SET(rwlock_clockrdlock, pthread_rwlock_clockrdlock, 0);
	WP_SET(rwlock_wrlock, pthread_rwlock_wrlock, 0);
	WP_SET(rwlock_trywrlock, pthread_rwlock_trywrlock, 0);
	WP_SET(rwlock_timedwrlock, pthread_rwlock_timedwrlock, 0);
	WP_SET(rwlock_clockwrlock, pthread_rwlock_clockwrlock, 0);
	WP_SET(rwlock_unlock, pthread_rwlock_unlock, 0);
	WP_SET(barrier_init, pthread_barrier_init, 0);
	WP_SET(barrier_destroy, pthread_barrier_destroy, 0);
	WP_SET(barrier_wait, pthread_barrier_wait, 0);
	WP_SET(sem_init, sem_init, 0);
	WP_SET(sem_destroy, sem_destroy, 0);
	WP_SET(sem_wait, sem_wait, 0);
	WP_SET(sem_trywait, sem_trywait, 0);
	WP_SET(sem_timedwait, sem_timedwait, 0);
	WP_SET(sem_clockwait, sem_clockwait, 0);
	WP_SET(sem_post, sem_post, 0);
	WP_SET(sem_getvalue, sem_getvalue, 0);
	WP_SET(cancel, pthread_cancel, 0);
	/* release: publishes the pointers to threads that see real_ready == 1
	 * with the acquire load in REAL() */
	__atomic_store_n(&real_ready, 1, __ATOMIC_RELEASE);
}

/* glibc's function; resolved on first need (a library constructor may lock
 * before ours runs).  Two threads resolving at once store the same values. */
#define REAL(field) \
	(*(/* acquire: pairs with the release store in wp_resolve() */ \
	   __atomic_load_n(&real_ready, __ATOMIC_ACQUIRE) ? (void)0 : wp_resolve(), real.field))

/* ---- configuration --------------------------------------------------------- */

enum { WP_KIND_UNSET = 0, WP_KIND_MUTEX, WP_KIND_SPIN, WP_KIND_TICKET, WP_KIND_MCS };
static const char *const wp_kind_names[] = {"unset", "mutex", "spin", "ticket", "mcs"};
static int wp_kind; /* fixed before the first lock: see wp_kind_get() */

static int wp_kind_init(void)
{
	const char *e = getenv("WEFT_PRELOAD_MUTEX");
	int k = WP_KIND_MUTEX;
	if (e && *e) {
		if (!strcmp(e, "spin"))
			k = WP_KIND_SPIN;
		else if (!strcmp(e, "ticket"))
			k = WP_KIND_TICKET;
		else if (!strcmp(e, "mcs"))
			k = WP_KIND_MCS;
		else if (strcmp(e, "mutex") != 0) {
			static const char msg[] = "libweft-preload: unknown WEFT_PRELOAD_MUTEX, using mutex\n";
			ssize_t r = write(2, msg, sizeof msg - 1);
			(void)r;
		}
	}
	/* relaxed: every thread computes the same value from the same environment */
	__atomic_store_n(&wp_kind, k, __ATOMIC_RELAXED);
	return k;
}

static inline int wp_kind_get(void)
{
	/* relaxed: see wp_kind_init() */
	int k = __atomic_load_n(&wp_kind, __ATOMIC_RELAXED);
	return WP_LIKELY(k != WP_KIND_UNSET) ? k : wp_kind_init();
}

/* ---- per-thread records: counters, the condvar being waited on, MCS nodes -- */

#define WP_MCS_NODES 8

struct wp_thread {
	uint64_t served[WP_OP_COUNT]; /* calls run on weft; written by the owner only */
	uint64_t passed[WP_OP_COUNT]; /* calls passed to glibc */
	weft_mcs_node_t nodes[WP_MCS_NODES];
	uint32_t nodes_used;          /* bitmap; owner only */
	int state;                    /* 0 new, 1 registered, 2 gone (after its key destructor) */
	pthread_t self;
	struct wp_cond *waiting;      /* the condvar this thread sleeps on, or NULL */
	uint32_t wait_gen;            /* bumped at each condvar wait */
	struct wp_thread *next;       /* registry list, under wp_reg */
};

static __thread struct wp_thread wp_self __attribute__((tls_model("initial-exec")));

static weft_mutex_t wp_reg = WEFT_MUTEX_INIT; /* the registry list and the totals */
static struct wp_thread *wp_threads;
static uint64_t wp_gone_served[WP_OP_COUNT], wp_gone_passed[WP_OP_COUNT];
static pthread_key_t wp_key;
static int wp_key_ready;
static struct timespec wp_start;

static void wp_thread_gone(void *arg)
{
	struct wp_thread *t = arg;
	weft_mutex_lock(&wp_reg);
	for (struct wp_thread **p = &wp_threads; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	for (int i = 0; i < WP_OP_COUNT; i++) {
		wp_gone_served[i] += t->served[i];
		wp_gone_passed[i] += t->passed[i];
	}
	t->state = 2; /* never registered again: its storage goes with the thread */
	weft_mutex_unlock(&wp_reg);
}

static void wp_atfork_prepare(void)
{
	weft_mutex_lock(&wp_reg);
}

static void wp_atfork_parent(void)
{
	weft_mutex_unlock(&wp_reg);
}

static void wp_atfork_child(void)
{
	/* Only the forking thread lives on in the child: drop the others'
	 * records (their storage is gone), keep their counts out. */
	struct wp_thread *me = &wp_self;
	wp_threads = me->state == 1 ? me : 0;
	if (me->state == 1)
		me->next = 0;
	for (int i = 0; i < WP_OP_COUNT; i++)
		wp_gone_served[i] = wp_gone_passed[i] = 0;
	memset(me->served, 0, sizeof me->served);
	memset(me->passed, 0, sizeof me->passed);
	clock_gettime(CLOCK_MONOTONIC, &wp_start);
	wp_reg = (weft_mutex_t)WEFT_MUTEX_INIT; /* the parent's holder is not here */
}

static void wp_global_init(void)
{
	/* under wp_reg */
	if (!wp_key_ready) {
		pthread_key_create(&wp_key, wp_thread_gone);
		pthread_atfork(wp_atfork_prepare, wp_atfork_parent, wp_atfork_child);
		wp_key_ready = 1;
	}
}

static __attribute__((noinline, cold)) void wp_register(struct wp_thread *t)
{
	if (t->state == 2)
		return; /* exiting thread: count into storage nobody sums */
	weft_mutex_lock(&wp_reg);
	wp_global_init();
	t->self = pthread_self();
	t->next = wp_threads;
	wp_threads = t;
	t->state = 1;
	weft_mutex_unlock(&wp_reg);
	pthread_setspecific(wp_key, t);
}

static inline struct wp_thread *wp_me(void)
{
	struct wp_thread *t = &wp_self;
	if (WP_UNLIKELY(t->state != 1))
		wp_register(t);
	return t;
}

/* Counting: the owner's plain increment, as a relaxed load and store (not an
 * RMW: only the owner writes), so the exit summary may read it concurrently. */
static inline void wp_count(uint64_t *c)
{
	/* relaxed: one writer; readers want an approximate running total */
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}
/* Counting is on only when WEFT_PRELOAD_STATS names a file (weft-run --stats):
 * without it a call pays one load of this flag, not the per-thread record. */
static int wp_counting = -1; /* -1 unknown, 0 off, 1 on */

static __attribute__((noinline, cold)) int wp_counting_init(void)
{
	const char *e = getenv("WEFT_PRELOAD_STATS");
	int on = e && *e;
	/* relaxed: every thread computes the same value from the same environment */
	__atomic_store_n(&wp_counting, on, __ATOMIC_RELAXED);
	return on;
}

static inline bool wp_counting_on(void)
{
	/* relaxed: see wp_counting_init() */
	int c = __atomic_load_n(&wp_counting, __ATOMIC_RELAXED);
	return WP_UNLIKELY(c != 0) && (c > 0 || wp_counting_init());
}

#define SERVED(op) (wp_counting_on() ? wp_count(&wp_me()->served[op]) : (void)0)
#define PASSED(op) (wp_counting_on() ? wp_count(&wp_me()->passed[op]) : (void)0)

static const char *const wp_op_names[WP_OP_COUNT] = {
#define X(op, name) [op] = name,
	WP_OPS(X)
#undef X
};

static void wp_write_stats(void)
{
	const char *path = getenv("WEFT_PRELOAD_STATS");
	if (!path || !*path)
		return;
	uint64_t served[WP_OP_COUNT], passed[WP_OP_COUNT];
	weft_mutex_lock(&wp_reg);
	for (int i = 0; i < WP_OP_COUNT; i++) {
		served[i] = wp_gone_served[i];
		passed[i] = wp_gone_passed[i];
	}
	for (struct wp_thread *t = wp_threads; t; t = t->next) {
		for (int i = 0; i < WP_OP_COUNT; i++) {
			/* relaxed: see wp_count() */
			served[i] += __atomic_load_n(&t->served[i], __ATOMIC_RELAXED);
			passed[i] += __atomic_load_n(&t->passed[i], __ATOMIC_RELAXED);
		}
	}
	weft_mutex_unlock(&wp_reg);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = (double)(now.tv_sec - wp_start.tv_sec) + (double)(now.tv_nsec - wp_start.tv_nsec) * 1e-9;
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "pid %ld kind %s seconds %.6f\n", (long)getpid(), wp_kind_names[wp_kind_get()], secs);
	for (int i = 0; i < WP_OP_COUNT; i++)
		if (served[i] || passed[i])
			fprintf(f, "op %s served %llu passed %llu\n", wp_op_names[i], (unsigned long long)served[i],
				(unsigned long long)passed[i]);
	fclose(f);
}

#ifndef WEFT_PRELOAD_PREFIX
__attribute__((constructor)) static void wp_ctor(void)
{
	clock_gettime(CLOCK_MONOTONIC, &wp_start);
	wp_kind_get();
	wp_counting_init();
	/* WEFT_PRELOAD_MUTEX_SPIN=N: weft_mutex_t's spin bound (pauses before a
	 * contended locker sleeps), for measurements (docs/apps.md) */
	const char *spin = getenv("WEFT_PRELOAD_MUTEX_SPIN");
	if (spin && *spin)
		(void)weft_mutex_set_spin((unsigned)strtoul(spin, 0, 10));
	if (!__atomic_load_n(&real_ready, __ATOMIC_ACQUIRE)) /* acquire: as in REAL() */
		wp_resolve();
}

__attribute__((destructor)) static void wp_dtor(void)
{
	wp_write_stats();
}
#else
WP_EXPORT void weft_preload_stats(void)
{
	wp_write_stats();
}
#endif

/* ---- time ------------------------------------------------------------------ */

static inline bool wp_ts_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/*
 * wp_to_monotonic() - an absolute deadline on @clock as a CLOCK_MONOTONIC one.
 * A CLOCK_REALTIME deadline becomes "now_monotonic + (deadline - now_realtime)",
 * computed once: a later step of the realtime clock (settimeofday, NTP
 * stepping) does not move it, where glibc's wait would follow the step.
 * Negative seconds are in the past.  @ts must be valid (wp_ts_valid()).
 */
static void wp_to_monotonic(clockid_t clock, const struct timespec *ts, struct timespec *out)
{
	struct timespec mono;
	if (clock == CLOCK_MONOTONIC) {
		*out = *ts;
		if (out->tv_sec < 0)
			out->tv_sec = out->tv_nsec = 0;
		return;
	}
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	long long sec = (long long)ts->tv_sec - rt.tv_sec;
	long nsec = ts->tv_nsec - rt.tv_nsec;
	if (nsec < 0) {
		nsec += 1000000000L;
		sec -= 1;
	}
	if (sec < 0) {
		*out = mono; /* already past */
		return;
	}
	long long s;
	if (__builtin_add_overflow((long long)mono.tv_sec, sec, &s) || s > (long long)LONG_MAX - 1)
		s = (long long)LONG_MAX - 1;
	nsec += mono.tv_nsec;
	if (nsec >= 1000000000L) {
		nsec -= 1000000000L;
		s += 1;
	}
	out->tv_sec = (time_t)s;
	out->tv_nsec = nsec;
}

static bool wp_clock_ok(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

/* ---- mutex ------------------------------------------------------------------ */

static inline bool wp_mutex_is_weft(const struct wp_mutex *m)
{
	/* relaxed: the kind is fixed at init; glibc's initializers set it statically */
	int32_t k = __atomic_load_n(&m->kind, __ATOMIC_RELAXED);
	return k == 0 || k == PTHREAD_MUTEX_ADAPTIVE_NP;
}

static weft_mcs_node_t *wp_mcs_node_get(struct wp_thread *t)
{
	uint32_t free_bits = ~t->nodes_used & ((1u << WP_MCS_NODES) - 1u);
	if (WP_LIKELY(free_bits)) {
		unsigned i = (unsigned)__builtin_ctz(free_bits);
		t->nodes_used |= 1u << i;
		return &t->nodes[i];
	}
	void *p = 0;
	if (posix_memalign(&p, WEFT_CACHE_LINE, sizeof(weft_mcs_node_t)) != 0)
		abort();
	return p;
}

static void wp_mcs_node_put(struct wp_thread *t, weft_mcs_node_t *n)
{
	if (n >= &t->nodes[0] && n < &t->nodes[WP_MCS_NODES])
		t->nodes_used &= ~(1u << (unsigned)(n - t->nodes));
	else
		free(n);
}

/* The weft lock operations by kind (the object is weft's); the default kind
 * first, inline, so that the interposed call is the weft fast path plus a
 * tag check and a counter. */
static inline __attribute__((always_inline)) void wp_lock(struct wp_mutex *m)
{
	int kind = wp_kind_get();
	if (WP_LIKELY(kind == WP_KIND_MUTEX)) {
		weft_mutex_lock(&m->lock.mutex);
		return;
	}
	switch (kind) {
	case WP_KIND_SPIN:
		weft_spin_lock(&m->lock.spin);
		break;
	case WP_KIND_TICKET:
		weft_ticket_lock(&m->lock.ticket);
		break;
	case WP_KIND_MCS: {
		weft_mcs_node_t *n = wp_mcs_node_get(wp_me());
		weft_mcs_lock(&m->lock.mcs, n);
		m->mcs_node = n; /* the holder's private field */
		break;
	}
	default:
		weft_mutex_lock(&m->lock.mutex);
	}
}

static inline __attribute__((always_inline)) bool wp_trylock(struct wp_mutex *m)
{
	int kind = wp_kind_get();
	if (WP_LIKELY(kind == WP_KIND_MUTEX)) {
		return weft_mutex_trylock(&m->lock.mutex);
	}
	switch (kind) {
	case WP_KIND_SPIN:
		return weft_spin_trylock(&m->lock.spin);
	case WP_KIND_TICKET:
		return weft_ticket_trylock(&m->lock.ticket);
	case WP_KIND_MCS: {
		struct wp_thread *t = wp_me();
		weft_mcs_node_t *n = wp_mcs_node_get(t);
		if (weft_mcs_trylock(&m->lock.mcs, n)) {
			m->mcs_node = n;
			return true;
		}
		wp_mcs_node_put(t, n);
		return false;
	}
	default:
		return weft_mutex_trylock(&m->lock.mutex);
	}
}

static inline __attribute__((always_inline)) void wp_unlock(struct wp_mutex *m)
{
	int kind = wp_kind_get();
	if (WP_LIKELY(kind == WP_KIND_MUTEX)) {
		weft_mutex_unlock(&m->lock.mutex);
		return;
	}
	switch (kind) {
	case WP_KIND_SPIN:
		weft_spin_unlock(&m->lock.spin);
		break;
	case WP_KIND_TICKET:
		weft_ticket_unlock(&m->lock.ticket);
		break;
	case WP_KIND_MCS: {
		weft_mcs_node_t *n = m->mcs_node;
		weft_mcs_unlock(&m->lock.mcs, n);
		wp_mcs_node_put(wp_me(), n);
		break;
	}
	default:
		weft_mutex_unlock(&m->lock.mutex);
	}
}

static bool wp_held(struct wp_mutex *m)
{
	/* relaxed, all: a snapshot for pthread_mutex_destroy()'s EBUSY */
	switch (wp_kind_get()) {
	case WP_KIND_SPIN:
		return __atomic_load_n(&m->lock.spin.locked, __ATOMIC_RELAXED) != 0;
	case WP_KIND_TICKET:
		return __atomic_load_n(&m->lock.ticket.next, __ATOMIC_RELAXED) !=
		       __atomic_load_n(&m->lock.ticket.serving, __ATOMIC_RELAXED);
	case WP_KIND_MCS:
		return __atomic_load_n(&m->lock.mcs.tail, __ATOMIC_RELAXED) != 0;
	default:
		return (__atomic_load_n(&m->lock.mutex.state, __ATOMIC_RELAXED) & WEFT_MUTEX_STATE_MASK) != 0;
	}
}

/* A timed lock: weft_mutex_timedlock() for the mutex kind; try and yield
 * until the deadline for the spinning kinds. */
static int wp_timedlock(struct wp_mutex *m, const struct timespec *mono)
{
	if (wp_kind_get() == WP_KIND_MUTEX)
		return weft_mutex_timedlock(&m->lock.mutex, mono) == WEFT_OK ? 0 : ETIMEDOUT;
	for (;;) {
		if (wp_trylock(m))
			return 0;
		if (weft_deadline_passed(mono))
			return ETIMEDOUT;
		sched_yield();
	}
}

WP_EXPORT int WP(pthread_mutex_init)(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr)
{
	if (attr) {
		int type = PTHREAD_MUTEX_NORMAL, proto = PTHREAD_PRIO_NONE, robust = PTHREAD_MUTEX_STALLED,
		    pshared = PTHREAD_PROCESS_PRIVATE;
		pthread_mutexattr_gettype(attr, &type);
		pthread_mutexattr_getprotocol(attr, &proto);
		pthread_mutexattr_getrobust(attr, &robust);
		pthread_mutexattr_getpshared(attr, &pshared);
		if ((type != PTHREAD_MUTEX_NORMAL && type != PTHREAD_MUTEX_ADAPTIVE_NP) || proto != PTHREAD_PRIO_NONE ||
		    robust != PTHREAD_MUTEX_STALLED || pshared != PTHREAD_PROCESS_PRIVATE) {
			PASSED(WP_OP_MUTEX_INIT);
			return REAL(mutex_init)(mutex, attr);
		}
	}
	SERVED(WP_OP_MUTEX_INIT);
	memset(mutex, 0, sizeof *mutex); /* kind 0: weft's; every lock kind is all-zero when free */
	return 0;
}

WP_EXPORT int WP(pthread_mutex_destroy)(pthread_mutex_t *mutex)
{
	struct wp_mutex *m = (struct wp_mutex *)mutex;
	if (WP_UNLIKELY(!wp_mutex_is_weft(m))) {
		PASSED(WP_OP_MUTEX_DESTROY);
		return REAL(mutex_destroy)(mutex);
	}
	SERVED(WP_OP_MUTEX_DESTROY);
	if (wp_held(m))
		return EBUSY;
	return 0;
}

WP_EXPORT int WP(pthread_mutex_lock)(pthread_mutex_t *mutex)
{
	struct wp_mutex *m = (struct wp_mutex *)mutex;
	if (WP_UNLIKELY(!wp_mutex_is_weft(m))) {
		PASSED(WP_OP_MUTEX_LOCK);
		return REAL(mutex_lock)(mutex);
	}
	SERVED(WP_OP_MUTEX_LOCK);
	wp_lock(m);
	return 0;
}

WP_EXPORT int WP(pthread_mutex_trylock)(pthread_mutex_t *mutex)
{
	struct wp_mutex *m = (struct wp_mutex *)mutex;
	if (WP_UNLIKELY(!wp_mutex_is_weft(m))) {
		PASSED(WP_OP_MUTEX_TRYLOCK);
		return REAL(mutex_trylock)(mutex);
	}
	SERVED(WP_OP_MUTEX_TRYLOCK);
	return wp_trylock(m) ? 0 : EBUSY;
}

static int wp_mutex_timed(pthread_mutex_t *mutex, clockid_t clock, const struct timespec *abstime)
{
	struct wp_mutex *m = (struct wp_mutex *)mutex;
	if (wp_trylock(m))
		return 0;
	if (!wp_ts_valid(abstime))
		return EINVAL; /* only when it would block, as POSIX says */
	struct timespec mono;
	wp_to_monotonic(clock, abstime, &mono);
	return wp_timedlock(m, &mono);
}

WP_EXPORT int WP(pthread_mutex_timedlock)(pthread_mutex_t *mutex, const struct timespec *abstime)
{
	if (WP_UNLIKELY(!wp_mutex_is_weft((struct wp_mutex *)mutex))) {
		PASSED(WP_OP_MUTEX_TIMEDLOCK);
		return REAL(mutex_timedlock)(mutex, abstime);
	}
	SERVED(WP_OP_MUTEX_TIMEDLOCK);
	return wp_mutex_timed(mutex, CLOCK_REALTIME, abstime);
}

WP_EXPORT int WP(pthread_mutex_clocklock)(pthread_mutex_t *mutex, clockid_t clock, const struct timespec *abstime)
{
	if (WP_UNLIKELY(!wp_mutex_is_weft((struct wp_mutex *)mutex))) {
		PASSED(WP_OP_MUTEX_TIMEDLOCK);
		return REAL(mutex_clocklock)(mutex, clock, abstime);
	}
	SERVED(WP_OP_MUTEX_TIMEDLOCK);
	if (!wp_clock_ok(clock))
		return EINVAL; /* as glibc: checked before the lock is tried */
	return wp_mutex_timed(mutex, clock, abstime);
}

WP_EXPORT int WP(pthread_mutex_unlock)(pthread_mutex_t *mutex)
{
	struct wp_mutex *m = (struct wp_mutex *)mutex;
	if (WP_UNLIKELY(!wp_mutex_is_weft(m))) {
		PASSED(WP_OP_MUTEX_UNLOCK);
		return REAL(mutex_unlock)(mutex);
	}
	SERVED(WP_OP_MUTEX_UNLOCK);
	wp_unlock(m);
	return 0;
}

/* The mutex a condvar wait drops and re-takes, whoever's it is. */
static void wp_any_unlock(pthread_mutex_t *mutex)
{
	struct wp_mutex *m = (struct wp_mutex *)mutex;
	if (wp_mutex_is_weft(m))
		wp_unlock(m);
	else
		REAL(mutex_unlock)(mutex);
}

static void wp_any_lock(pthread_mutex_t *mutex)
{
	struct wp_mutex *m = (struct wp_mutex *)mutex;
	if (wp_mutex_is_weft(m))
		wp_lock(m);
	else
		REAL(mutex_lock)(mutex);
}

/* ---- condition variables ----------------------------------------------------- */

/* weft_cond_t's requeue target for every interposed condvar: never locked,
 * marked process-shared, so weft_cond_broadcast_slow() wakes every sleeper
 * instead of moving them onto a mutex (see the overview). */
static weft_mutex_t wp_no_requeue = {WEFT_MUTEX_PSHARED_BIT};

static inline bool wp_cond_is_weft(const struct wp_cond *c)
{
	/* relaxed: fixed at init */
	return !(__atomic_load_n(&c->wrefs, __ATOMIC_RELAXED) & 1u);
}

WP_EXPORT int WP(pthread_cond_init)(pthread_cond_t *cond, const pthread_condattr_t *attr)
{
	clockid_t clock = CLOCK_REALTIME;
	if (attr) {
		int pshared = PTHREAD_PROCESS_PRIVATE;
		pthread_condattr_getpshared(attr, &pshared);
		pthread_condattr_getclock(attr, &clock);
		if (pshared != PTHREAD_PROCESS_PRIVATE || !wp_clock_ok(clock)) {
			PASSED(WP_OP_COND_INIT);
			return REAL(cond_init)(cond, attr);
		}
	}
	SERVED(WP_OP_COND_INIT);
	memset(cond, 0, sizeof *cond);
	((struct wp_cond *)cond)->clock = clock == CLOCK_MONOTONIC;
	return 0;
}

WP_EXPORT int WP(pthread_cond_destroy)(pthread_cond_t *cond)
{
	struct wp_cond *c = (struct wp_cond *)cond;
	if (WP_UNLIKELY(!wp_cond_is_weft(c))) {
		PASSED(WP_OP_COND_DESTROY);
		return REAL(cond_destroy)(cond);
	}
	SERVED(WP_OP_COND_DESTROY);
	/* POSIX: destroying is allowed once no thread is blocked on it, which
	 * includes right after a broadcast, while the woken waiters are still
	 * leaving.  They leave without the mutex (no requeue), so wait for them.
	 * acquire: pairs with the waiters' release decrement of `waiters` in
	 * weft_cond_wait_slow(), their last access to the condvar. */
	while (__atomic_load_n(&c->cond.waiters, __ATOMIC_ACQUIRE) & WEFT_COND_COUNT_MASK)
		sched_yield();
	/* ... and for a pthread_cancel() that may still broadcast it (the
	 * canceller broadcasts only under wp_reg while a record names it). */
	for (;;) {
		bool busy = false;
		weft_mutex_lock(&wp_reg);
		for (struct wp_thread *t = wp_threads; t && !busy; t = t->next)
			busy = __atomic_load_n(&t->waiting, __ATOMIC_SEQ_CST) == c; /* seq_cst: see pthread_cancel() */
		weft_mutex_unlock(&wp_reg);
		if (!busy)
			break;
		sched_yield();
	}
	weft_cond_destroy(&c->cond);
	return 0;
}

WP_EXPORT int WP(pthread_cond_signal)(pthread_cond_t *cond)
{
	struct wp_cond *c = (struct wp_cond *)cond;
	if (WP_UNLIKELY(!wp_cond_is_weft(c))) {
		PASSED(WP_OP_COND_SIGNAL);
		return REAL(cond_signal)(cond);
	}
	SERVED(WP_OP_COND_SIGNAL);
	weft_cond_signal(&c->cond);
	return 0;
}

WP_EXPORT int WP(pthread_cond_broadcast)(pthread_cond_t *cond)
{
	struct wp_cond *c = (struct wp_cond *)cond;
	if (WP_UNLIKELY(!wp_cond_is_weft(c))) {
		PASSED(WP_OP_COND_BROADCAST);
		return REAL(cond_broadcast)(cond);
	}
	SERVED(WP_OP_COND_BROADCAST);
	weft_cond_broadcast(&c->cond);
	return 0;
}

/* The wait (see Cancellation in the overview).  @mono: NULL or a valid
 * CLOCK_MONOTONIC deadline. */
static int wp_cond_wait(struct wp_cond *c, pthread_mutex_t *mutex, const struct timespec *mono)
{
	pthread_testcancel(); /* mutex held, nothing registered */
	struct wp_thread *t = wp_me();
	/* relaxed: read by pthread_cancel() under wp_reg after the seq_cst
	 * store below, which orders it */
	__atomic_store_n(&t->wait_gen, t->wait_gen + 1u, __ATOMIC_RELAXED);
	/* seq_cst: a Dekker pair with pthread_cancel()'s flag store then load
	 * of `waiting`: either our testcancel below sees the cancel, or the
	 * canceller sees us waiting and broadcasts until we leave */
	__atomic_store_n(&t->waiting, c, __ATOMIC_SEQ_CST);
	struct weft__cond_wait w;
	weft_cond_wait_enter_slow(&c->cond, &wp_no_requeue, &w);
	wp_any_unlock(mutex);
	int rc = weft_cond_wait_slow(&c->cond, &w, mono);
	/* seq_cst: see above; cleared before re-taking the mutex, so a
	 * canceller that holds the mutex stops broadcasting */
	__atomic_store_n(&t->waiting, (struct wp_cond *)0, __ATOMIC_SEQ_CST);
	wp_any_lock(mutex);
	pthread_testcancel(); /* mutex held again: cleanup handlers see it held */
	return rc == WEFT_ETIMEDOUT ? ETIMEDOUT : 0;
}

static int wp_cond_pshared_with_weft_mutex(void)
{
	static const char msg[] = "libweft-preload: a process-shared condvar used with a private mutex is not supported\n";
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	return EINVAL;
}

WP_EXPORT int WP(pthread_cond_wait)(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
	struct wp_cond *c = (struct wp_cond *)cond;
	if (WP_UNLIKELY(!wp_cond_is_weft(c))) {
		PASSED(WP_OP_COND_WAIT);
		if (wp_mutex_is_weft((struct wp_mutex *)mutex))
			return wp_cond_pshared_with_weft_mutex();
		return REAL(cond_wait)(cond, mutex);
	}
	SERVED(WP_OP_COND_WAIT);
	return wp_cond_wait(c, mutex, 0);
}

static int wp_cond_timed(struct wp_cond *c, pthread_mutex_t *mutex, clockid_t clock, const struct timespec *abstime)
{
	if (!wp_ts_valid(abstime))
		return EINVAL;
	struct timespec mono;
	wp_to_monotonic(clock, abstime, &mono);
	return wp_cond_wait(c, mutex, &mono);
}

WP_EXPORT int WP(pthread_cond_timedwait)(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *abstime)
{
	struct wp_cond *c = (struct wp_cond *)cond;
	if (WP_UNLIKELY(!wp_cond_is_weft(c))) {
		PASSED(WP_OP_COND_TIMEDWAIT);
		if (wp_mutex_is_weft((struct wp_mutex *)mutex))
			return wp_cond_pshared_with_weft_mutex();
		return REAL(cond_timedwait)(cond, mutex, abstime);
	}
	SERVED(WP_OP_COND_TIMEDWAIT);
	/* relaxed: fixed at init */
	return wp_cond_timed(c, mutex, __atomic_load_n(&c->clock, __ATOMIC_RELAXED) ? CLOCK_MONOTONIC : CLOCK_REALTIME,
			     abstime);
}

WP_EXPORT int WP(pthread_cond_clockwait)(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
					 const struct timespec *abstime)
{
	struct wp_cond *c = (struct wp_cond *)cond;
	if (WP_UNLIKELY(!wp_cond_is_weft(c))) {
		PASSED(WP_OP_COND_TIMEDWAIT);
		if (wp_mutex_is_weft((struct wp_mutex *)mutex))
			return wp_cond_pshared_with_weft_mutex();
		return REAL(cond_clockwait)(cond, mutex, clock, abstime);
	}
	SERVED(WP_OP_COND_TIMEDWAIT);
	if (!wp_clock_ok(clock))
		return EINVAL; /* as glibc */
	return wp_cond_timed(c, mutex, clock, abstime);
}

/* pthread_cancel(): glibc's, then wake the target if it sleeps in one of our
 * condvar waits (see Cancellation in the overview). */
WP_EXPORT int WP(pthread_cancel)(pthread_t thread)
{
	int rc = REAL(cancel)(thread);
	if (rc != 0)
		return rc;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* seq_cst: glibc's flag store before our loads of `waiting` */
	uint32_t gen = 0;
	bool first = true;
	for (;;) {
		bool again = false;
		weft_mutex_lock(&wp_reg);
		for (struct wp_thread *t = wp_threads; t; t = t->next) {
			if (!pthread_equal(t->self, thread))
				continue;
			/* seq_cst: the Dekker pair with wp_cond_wait()'s store */
			struct wp_cond *c = __atomic_load_n(&t->waiting, __ATOMIC_SEQ_CST);
			uint32_t g = __atomic_load_n(&t->wait_gen, __ATOMIC_RELAXED); /* relaxed: ordered by `waiting` */
			if (first)
				gen = g;
			first = false;
			if (c && g == gen) {
				/* the condvar is alive: its destroy waits for us (wp_reg) */
				weft_cond_broadcast(&c->cond);
				again = true;
			}
			break;
		}
		weft_mutex_unlock(&wp_reg);
		if (!again)
			return 0;
		sched_yield();
	}
}

/* ---- rwlocks --------------------------------------------------------------------- */

/* WEFT_PRELOAD_RWLOCK=glibc passes every rwlock through (for programs that
 * take read locks recursively while a writer may wait: weft's rwlock prefers
 * writers, glibc's default prefers readers).  Read once, before the first
 * rwlock call; -1 unknown, 0 weft, 1 glibc. */
static int wp_rw_glibc = -1;

static __attribute__((noinline, cold)) int wp_rw_mode_init(void)
{
	const char *e = getenv("WEFT_PRELOAD_RWLOCK");
	int g = e && !strcmp(e, "glibc");
	/* relaxed: every thread computes the same value from the same environment */
	__atomic_store_n(&wp_rw_glibc, g, __ATOMIC_RELAXED);
	return g;
}

static inline bool wp_rw_all_glibc(void)
{
	/* relaxed: see wp_rw_mode_init() */
	int g = __atomic_load_n(&wp_rw_glibc, __ATOMIC_RELAXED);
	return WP_UNLIKELY(g != 0) && (g > 0 || wp_rw_mode_init());
}

static inline bool wp_rw_is_weft(const struct wp_rwlock *r)
{
	if (wp_rw_all_glibc())
		return false;
	/* relaxed: fixed at init */
	return __atomic_load_n(&r->shared, __ATOMIC_RELAXED) == 0;
}

WP_EXPORT int WP(pthread_rwlock_init)(pthread_rwlock_t *rwlock, const pthread_rwlockattr_t *attr)
{
	if (wp_rw_all_glibc()) {
		PASSED(WP_OP_RWLOCK_INIT);
		return REAL(rwlock_init)(rwlock, attr);
	}
	if (attr) {
		int pshared = PTHREAD_PROCESS_PRIVATE;
		pthread_rwlockattr_getpshared(attr, &pshared);
		if (pshared != PTHREAD_PROCESS_PRIVATE) {
			PASSED(WP_OP_RWLOCK_INIT);
			return REAL(rwlock_init)(rwlock, attr);
		}
	}
	SERVED(WP_OP_RWLOCK_INIT);
	memset(rwlock, 0, sizeof *rwlock);
	return 0;
}

WP_EXPORT int WP(pthread_rwlock_destroy)(pthread_rwlock_t *rwlock)
{
	struct wp_rwlock *r = (struct wp_rwlock *)rwlock;
	if (WP_UNLIKELY(!wp_rw_is_weft(r))) {
		PASSED(WP_OP_RWLOCK_DESTROY);
		return REAL(rwlock_destroy)(rwlock);
	}
	SERVED(WP_OP_RWLOCK_DESTROY);
	weft_rwlock_destroy(&r->rw);
	return 0;
}

#define WP_RW_SIMPLE(fn, op, realfn, body)                                    \
	WP_EXPORT int WP(fn)(pthread_rwlock_t * rwlock)                       \
	{                                                                     \
		struct wp_rwlock *r = (struct wp_rwlock *)rwlock;             \
		if (WP_UNLIKELY(!wp_rw_is_weft(r))) {                         \
			PASSED(op);                                           \
			return REAL(realfn)(rwlock);                          \
		}                                                             \
		SERVED(op);                                                   \
		body                                                          \
	}

/*
 * pthread_rwlock_unlock() does not say which lock it releases.  The write
 * holder marks the lock with its own thread record's address; a thread that
 * finds its mark is the writer, any other holder a reader.  (The WRITER bit
 * of the state does not tell: with reader bias a writer may set it while
 * biased readers still hold the lock.)  relaxed, all: a thread only ever
 * compares the mark with its own address, which only it stores.
 */
static inline uintptr_t wp_self_id(void)
{
	return (uintptr_t)&wp_self;
}

static inline void wp_rw_mark_writer(struct wp_rwlock *r)
{
	__atomic_store_n(&r->writer, wp_self_id(), __ATOMIC_RELAXED);
}

WP_RW_SIMPLE(pthread_rwlock_rdlock, WP_OP_RWLOCK_RDLOCK, rwlock_rdlock, weft_rwlock_rdlock(&r->rw); return 0;)
WP_RW_SIMPLE(pthread_rwlock_wrlock, WP_OP_RWLOCK_WRLOCK, rwlock_wrlock,
	     weft_rwlock_wrlock(&r->rw); wp_rw_mark_writer(r); return 0;)
WP_RW_SIMPLE(pthread_rwlock_tryrdlock, WP_OP_RWLOCK_TRYLOCK, rwlock_tryrdlock,
	     return weft_rwlock_tryrdlock(&r->rw) ? 0 : EBUSY;)
WP_RW_SIMPLE(pthread_rwlock_trywrlock, WP_OP_RWLOCK_TRYLOCK, rwlock_trywrlock,
	     if (!weft_rwlock_trywrlock(&r->rw)) return EBUSY; wp_rw_mark_writer(r); return 0;)

WP_RW_SIMPLE(pthread_rwlock_unlock, WP_OP_RWLOCK_UNLOCK, rwlock_unlock,
	     if (__atomic_load_n(&r->writer, __ATOMIC_RELAXED) == wp_self_id()) {
		     __atomic_store_n(&r->writer, (uintptr_t)0, __ATOMIC_RELAXED);
		     weft_rwlock_wrunlock(&r->rw);
	     } else weft_rwlock_rdunlock(&r->rw);
	     return 0;)

static int wp_rw_timed(struct wp_rwlock *r, bool write, clockid_t clock, const struct timespec *abstime)
{
	int rc = WEFT_OK;
	if (!(write ? weft_rwlock_trywrlock(&r->rw) : weft_rwlock_tryrdlock(&r->rw))) {
		if (!wp_ts_valid(abstime))
			return EINVAL;
		struct timespec mono;
		wp_to_monotonic(clock, abstime, &mono);
		rc = write ? weft_rwlock_timedwrlock(&r->rw, &mono) : weft_rwlock_timedrdlock(&r->rw, &mono);
	}
	if (rc != WEFT_OK)
		return ETIMEDOUT;
	if (write)
		wp_rw_mark_writer(r);
	return 0;
}

WP_EXPORT int WP(pthread_rwlock_timedrdlock)(pthread_rwlock_t *rwlock, const struct timespec *abstime)
{
	struct wp_rwlock *r = (struct wp_rwlock *)rwlock;
	if (WP_UNLIKELY(!wp_rw_is_weft(r))) {
		PASSED(WP_OP_RWLOCK_TIMED);
		return REAL(rwlock_timedrdlock)(rwlock, abstime);
	}
	SERVED(WP_OP_RWLOCK_TIMED);
	return wp_rw_timed(r, false, CLOCK_REALTIME, abstime);
}

WP_EXPORT int WP(pthread_rwlock_timedwrlock)(pthread_rwlock_t *rwlock, const struct timespec *abstime)
{
	struct wp_rwlock *r = (struct wp_rwlock *)rwlock;
	if (WP_UNLIKELY(!wp_rw_is_weft(r))) {
		PASSED(WP_OP_RWLOCK_TIMED);
		return REAL(rwlock_timedwrlock)(rwlock, abstime);
	}
	SERVED(WP_OP_RWLOCK_TIMED);
	return wp_rw_timed(r, true, CLOCK_REALTIME, abstime);
}

WP_EXPORT int WP(pthread_rwlock_clockrdlock)(pthread_rwlock_t *rwlock, clockid_t clock, const struct timespec *abstime)
{
	struct wp_rwlock *r = (struct wp_rwlock *)rwlock;
	if (WP_UNLIKELY(!wp_rw_is_weft(r))) {
		PASSED(WP_OP_RWLOCK_TIMED);
		return REAL(rwlock_clockrdlock)(rwlock, clock, abstime);
	}
	SERVED(WP_OP_RWLOCK_TIMED);
	if (!wp_clock_ok(clock))
		return EINVAL; /* as glibc */
	return wp_rw_timed(r, false, clock, abstime);
}

WP_EXPORT int WP(pthread_rwlock_clockwrlock)(pthread_rwlock_t *rwlock, clockid_t clock, const struct timespec *abstime)
{
	struct wp_rwlock *r = (struct wp_rwlock *)rwlock;
	if (WP_UNLIKELY(!wp_rw_is_weft(r))) {
		PASSED(WP_OP_RWLOCK_TIMED);
		return REAL(rwlock_clockwrlock)(rwlock, clock, abstime);
	}
	SERVED(WP_OP_RWLOCK_TIMED);
	if (!wp_clock_ok(clock))
		return EINVAL; /* as glibc */
	return wp_rw_timed(r, true, clock, abstime);
}

/* ---- spinlocks ------------------------------------------------------------------- */

WP_EXPORT int WP(pthread_spin_init)(pthread_spinlock_t *lock, int pshared)
{
	(void)pshared; /* weft_spin_t never sleeps: the same word works between processes */
	SERVED(WP_OP_SPIN_INIT);
	weft_spin_init((weft_spin_t *)lock);
	return 0;
}

WP_EXPORT int WP(pthread_spin_destroy)(pthread_spinlock_t *lock)
{
	SERVED(WP_OP_SPIN_INIT);
	weft_spin_destroy((weft_spin_t *)lock);
	return 0;
}

WP_EXPORT int WP(pthread_spin_lock)(pthread_spinlock_t *lock)
{
	SERVED(WP_OP_SPIN_LOCK);
	weft_spin_lock((weft_spin_t *)lock);
	return 0;
}

WP_EXPORT int WP(pthread_spin_trylock)(pthread_spinlock_t *lock)
{
	SERVED(WP_OP_SPIN_LOCK);
	return weft_spin_trylock((weft_spin_t *)lock) ? 0 : EBUSY;
}

WP_EXPORT int WP(pthread_spin_unlock)(pthread_spinlock_t *lock)
{
	SERVED(WP_OP_SPIN_UNLOCK);
	weft_spin_unlock((weft_spin_t *)lock);
	return 0;
}

/* ---- barriers -------------------------------------------------------------------- */

static inline bool wp_barrier_is_weft(const struct wp_barrier *b)
{
	/* relaxed: fixed at init */
	return __atomic_load_n(&b->tag, __ATOMIC_RELAXED) == WEFT_PRELOAD_MAGIC;
}

WP_EXPORT int WP(pthread_barrier_init)(pthread_barrier_t *barrier, const pthread_barrierattr_t *attr, unsigned count)
{
	struct wp_barrier *b = (struct wp_barrier *)barrier;
	if (attr) {
		int pshared = PTHREAD_PROCESS_PRIVATE;
		pthread_barrierattr_getpshared(attr, &pshared);
		if (pshared != PTHREAD_PROCESS_PRIVATE) {
			PASSED(WP_OP_BARRIER_INIT);
			int rc = REAL(barrier_init)(barrier, attr, count);
			if (rc == 0)
				__atomic_store_n(&b->tag, 0u, __ATOMIC_RELAXED); /* relaxed: not shared yet */
			return rc;
		}
	}
	SERVED(WP_OP_BARRIER_INIT);
	if (count == 0 || count > INT_MAX)
		return EINVAL;
	memset(barrier, 0, sizeof *barrier);
	if (weft_barrier_init(&b->barrier, count) != WEFT_OK)
		return EINVAL;
	/* relaxed: not shared yet; publishing the barrier is the caller's job */
	__atomic_store_n(&b->tag, WEFT_PRELOAD_MAGIC, __ATOMIC_RELAXED);
	return 0;
}

WP_EXPORT int WP(pthread_barrier_wait)(pthread_barrier_t *barrier)
{
	struct wp_barrier *b = (struct wp_barrier *)barrier;
	if (WP_UNLIKELY(!wp_barrier_is_weft(b))) {
		PASSED(WP_OP_BARRIER_WAIT);
		return REAL(barrier_wait)(barrier);
	}
	SERVED(WP_OP_BARRIER_WAIT);
	/* relaxed: published to the serial thread by our arrival (an acq_rel
	 * increment in weft_barrier_wait()) that follows it */
	__atomic_fetch_add(&b->inside, 1u, __ATOMIC_RELAXED);
	bool serial = weft_barrier_wait(&b->barrier);
	/* release: our last access to the barrier; pairs with the acquire load
	 * in pthread_barrier_destroy(), which may then let the memory be reused */
	__atomic_fetch_sub(&b->inside, 1u, __ATOMIC_RELEASE);
	return serial ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
}

WP_EXPORT int WP(pthread_barrier_destroy)(pthread_barrier_t *barrier)
{
	struct wp_barrier *b = (struct wp_barrier *)barrier;
	if (WP_UNLIKELY(!wp_barrier_is_weft(b))) {
		PASSED(WP_OP_BARRIER_INIT);
		return REAL(barrier_destroy)(barrier);
	}
	SERVED(WP_OP_BARRIER_INIT);
	/* relaxed: a round in progress means threads are blocked on it: EBUSY */
	if (__atomic_load_n(&b->barrier.arrived, __ATOMIC_RELAXED) & WEFT_BARRIER_COUNT_MASK)
		return EBUSY;
	/* POSIX lets the serial thread destroy (and re-initialise) the barrier
	 * while the others are still returning from the wait: wait for them.
	 * acquire: pairs with their release decrement of `inside`. */
	while (__atomic_load_n(&b->inside, __ATOMIC_ACQUIRE) != 0)
		sched_yield();
	weft_barrier_destroy(&b->barrier);
	return 0;
}

/* ---- unnamed semaphores ---------------------------------------------------------- */

static inline bool wp_sem_is_weft(const struct wp_sem *s)
{
	/* relaxed: fixed at init */
	return __atomic_load_n(&s->tag, __ATOMIC_RELAXED) == WEFT_PRELOAD_MAGIC;
}

WP_EXPORT int WP(sem_init)(sem_t *sem, int pshared, unsigned value)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	/* Process-shared semaphores, and values a weft_sem_t cannot hold
	 * (WEFT_SEM_VALUE_MAX is 2^30-1, glibc's SEM_VALUE_MAX 2^31-1: bit 30 of
	 * weft's word is its fairness claim), stay glibc's, so that POSIX's
	 * range is kept whole. */
	if (pshared || (value > WEFT_SEM_VALUE_MAX && value <= (unsigned)SEM_VALUE_MAX)) {
		PASSED(WP_OP_SEM_INIT);
		int rc = REAL(sem_init)(sem, pshared, value);
		if (rc == 0)
			__atomic_store_n(&s->tag, 0u, __ATOMIC_RELAXED); /* relaxed: not shared yet */
		return rc;
	}
	SERVED(WP_OP_SEM_INIT);
	if (value > (unsigned)SEM_VALUE_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(sem, 0, sizeof *sem);
	if (weft_sem_init(&s->sem, value, 0) != WEFT_OK) {
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(&s->tag, WEFT_PRELOAD_MAGIC, __ATOMIC_RELAXED); /* relaxed: not shared yet */
	return 0;
}

WP_EXPORT int WP(sem_destroy)(sem_t *sem)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	if (WP_UNLIKELY(!wp_sem_is_weft(s))) {
		PASSED(WP_OP_SEM_INIT);
		return REAL(sem_destroy)(sem);
	}
	SERVED(WP_OP_SEM_INIT);
	weft_sem_destroy(&s->sem);
	return 0;
}

WP_EXPORT int WP(sem_wait)(sem_t *sem)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	if (WP_UNLIKELY(!wp_sem_is_weft(s))) {
		PASSED(WP_OP_SEM_WAIT);
		return REAL(sem_wait)(sem);
	}
	SERVED(WP_OP_SEM_WAIT);
	pthread_testcancel(); /* a cancellation point: act on a pending cancel before blocking */
	weft_sem_wait(&s->sem);
	return 0;
}

WP_EXPORT int WP(sem_trywait)(sem_t *sem)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	if (WP_UNLIKELY(!wp_sem_is_weft(s))) {
		PASSED(WP_OP_SEM_WAIT);
		return REAL(sem_trywait)(sem);
	}
	SERVED(WP_OP_SEM_WAIT);
	if (weft_sem_trywait(&s->sem))
		return 0;
	errno = EAGAIN;
	return -1;
}

static int wp_sem_timed(struct wp_sem *s, clockid_t clock, const struct timespec *abstime)
{
	pthread_testcancel();
	if (!wp_ts_valid(abstime)) { /* checked first, as glibc does */
		errno = EINVAL;
		return -1;
	}
	if (weft_sem_trywait(&s->sem))
		return 0;
	struct timespec mono;
	wp_to_monotonic(clock, abstime, &mono);
	if (weft_sem_timedwait(&s->sem, &mono) == WEFT_OK)
		return 0;
	errno = ETIMEDOUT;
	return -1;
}

WP_EXPORT int WP(sem_timedwait)(sem_t *sem, const struct timespec *abstime)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	if (WP_UNLIKELY(!wp_sem_is_weft(s))) {
		PASSED(WP_OP_SEM_WAIT);
		return REAL(sem_timedwait)(sem, abstime);
	}
	SERVED(WP_OP_SEM_WAIT);
	return wp_sem_timed(s, CLOCK_REALTIME, abstime);
}

WP_EXPORT int WP(sem_clockwait)(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	if (WP_UNLIKELY(!wp_sem_is_weft(s))) {
		PASSED(WP_OP_SEM_WAIT);
		return REAL(sem_clockwait)(sem, clock, abstime);
	}
	SERVED(WP_OP_SEM_WAIT);
	if (!wp_clock_ok(clock)) {
		errno = EINVAL;
		return -1;
	}
	return wp_sem_timed(s, clock, abstime);
}

WP_EXPORT int WP(sem_post)(sem_t *sem)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	if (WP_UNLIKELY(!wp_sem_is_weft(s))) {
		PASSED(WP_OP_SEM_POST);
		return REAL(sem_post)(sem);
	}
	SERVED(WP_OP_SEM_POST);
	if (weft_sem_post(&s->sem) == WEFT_OK)
		return 0;
	errno = EOVERFLOW;
	return -1;
}

WP_EXPORT int WP(sem_getvalue)(sem_t *sem, int *value)
{
	struct wp_sem *s = (struct wp_sem *)sem;
	if (WP_UNLIKELY(!wp_sem_is_weft(s))) {
		PASSED(WP_OP_SEM_POST);
		return REAL(sem_getvalue)(sem, value);
	}
	SERVED(WP_OP_SEM_POST);
	long v = weft_sem_value(&s->sem);
	*value = v < 0 ? 0 : (int)v;
	return 0;
}
