/* SPDX-License-Identifier: MIT */
/*
 * crashtest.c - `make crashtest`: process-shared objects survive a process
 * that dies (issue 14).
 *
 * One harness for every process-shared primitive.  A trial:
 *   1. builds the primitive's objects in a fresh MAP_SHARED mapping;
 *   2. forks W worker processes that do random operations on them (each
 *      worker's own xorshift generator, seeded from the printed seed);
 *   3. once every worker has started, sleeps a random 0..KILL_WINDOW_US and
 *      SIGKILLs one random worker (the victim), noting the time;
 *   4. a little later asks the survivors to stop after their current
 *      operation (the `stop` word), and waits for them with a watchdog
 *      (BOUND_MS): a survivor still running then is stuck;
 *   5. checks the primitive's invariants on what is left in shared memory.
 * A stuck trial is a *hang* unless the primitive's dead_holds() oracle shows,
 * from the objects' state, that the victim died holding the very thing the
 * survivors wait for (a plain mutex, a claimed mpmc slot): that is a *stall*,
 * the documented behaviour (docs/processes.md), counted apart.  A robust mutex
 * never stalls.
 *
 * Workers check what they can see (mutual exclusion, a == b under a lock, the
 * semaphore bound) and exit 2 with a message on a violation.
 *
 * Usage: crashtest [-p NAME|all] [-k KILLS] [-s SEED] [-w WORKERS] [-b BOUND_MS] [-v]
 * One summary line per primitive:
 *   crashtest: NAME  trials N  kills N  hangs N  violations N  stalls N (...)
 * Exit status: 0 when no primitive hung or broke an invariant, 1 otherwise.
 * Barrier and latch are private to a process (their headers say so), so they
 * are not here; docs/processes.md says what that means.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft/weft.h"

#define MAX_WORKERS 8
#define SHM_BYTES (4u << 20)
#define KILL_WINDOW_US 15000u /* the victim dies somewhere in its first 15 ms */
#define RUN_AFTER_KILL_US 10000u /* survivors go on this long after the death */
#define MPMC_CAP 8u
#define MPMC_BATCH 4u
#define POOL_CAP 16u
#define POOL_OBJ 64u
#define SEM_UNITS 2u
#define MAX_SEQ (1u << 20) /* values a producer may push in one trial */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* ---- shared memory ------------------------------------------------------ */

struct worker_state {
	uint64_t ops;	     /* operations completed */
	uint64_t produced;    /* mpmc: values pushed (seq of the next); cond: produce steps */
	uint64_t consumed;    /* cond: consume steps */
	uint32_t inside;     /* 1 from before an acquire call until after its release */
	uint32_t held;	     /* 1 from after an acquire returned until before its release */
	uint32_t pool_held;  /* pool: objects held */
	uint32_t started;
	uint64_t report_ns;  /* robust: when it got WEFT_EOWNERDEAD */
	uint32_t reports;    /* robust: how many WEFT_EOWNERDEAD */
	uint32_t pad;
} WEFT_ALIGNED(64);

struct shm {
	uint32_t stop;
	uint32_t nworkers;
	uint64_t kill_ns;	/* when the victim was killed (0: not yet) */
	uint64_t reaped_ns;	/* when waitpid() returned it: its exit, robust list included, is done */
	uint32_t victim;
	uint32_t pad;
	struct worker_state w[MAX_WORKERS];
	/* the primitives (only one is used per trial) */
	weft_mutex_t mutex;
	weft_robust_mutex_t robust WEFT_ALIGNED(64);
	weft_rwlock_t rwlock WEFT_ALIGNED(64);
	weft_cond_t cond WEFT_ALIGNED(64);
	weft_mutex_t cond_mutex;
	weft_sem_t sem WEFT_ALIGNED(64);
	weft_counter_t counter WEFT_ALIGNED(64);
	/* data the primitives protect */
	uint64_t counted WEFT_ALIGNED(64); /* incremented under the lock */
	uint64_t a, b;			  /* a == b outside a write */
	uint32_t cs_owner;		  /* worker + 1 inside the critical section */
	uint32_t readers_in;		  /* rwlock/brlock: readers inside */
	uint32_t writers_in;
	uint32_t sem_in_use;
	int64_t items; /* cond: produced - consumed */
	/* big objects */
	weft_brlock_t brlock;
	unsigned char mpmc_mem[4096] WEFT_ALIGNED(64);
	unsigned char pool_mem[8192] WEFT_ALIGNED(64);
	uint8_t seen[MAX_WORKERS][MAX_SEQ]; /* mpmc: times each (producer, seq) was popped */
};

static struct shm *S;

static void must(int rc, const char *what)
{
	if (rc != WEFT_OK) {
		fprintf(stderr, "crashtest: %s: %s\n", what, weft_strerror(rc));
		exit(1);
	}
}

#define FAIL(...)                                                        \
	do {                                                             \
		fprintf(stderr, "crashtest: worker %d: ", me);           \
		fprintf(stderr, __VA_ARGS__);                            \
		fputc('\n', stderr);                                     \
		_exit(2);                                                \
	} while (0)

static bool stopping(void)
{
	/* relaxed: a request to stop soon; nothing is published with it */
	return weft_atomic_load(&S->stop, WEFT_RELAXED) != 0;
}

/* Marks the kill harness reads after the death.  Plain volatile stores: the
 * parent reads them only after the worker died (waitpid orders them). */
static void mark(volatile uint32_t *field, uint32_t v)
{
	WEFT_COMPILER_BARRIER();
	*field = v;
	WEFT_COMPILER_BARRIER();
}

static struct timespec generous(void)
{
	return weft_deadline_after_ns(60ull * 1000000000ull);
}

static void spin_a_little(uint64_t *rng)
{
	unsigned n = (unsigned)(xorshift(rng) % 64);
	for (unsigned i = 0; i < n; i++)
		weft_cpu_relax();
}

/* ---- the primitives ------------------------------------------------------ */

struct prim {
	const char *name;
	void (*init)(void);
	void (*worker)(int me, uint64_t *rng);
	/* after a stuck trial: does the objects' state show the victim holding
	 * what the survivors wait for?  @what names it for the summary. */
	bool (*dead_holds)(int victim, const char **what);
	/* after the trial: invariant violations found (prints them) */
	int (*check)(int victim, bool stuck);
	bool needs_close; /* mpmc: the parent closes once producers are done */
};

/* -- plain mutex -- */

static void mutex_init(void)
{
	must(weft_mutex_init(&S->mutex, WEFT_PSHARED), "init");
}

static void cs_enter(int me)
{
	if (S->cs_owner != 0)
		FAIL("mutual exclusion broken: worker %u inside", S->cs_owner - 1);
	S->cs_owner = (uint32_t)me + 1;
}

static void cs_leave(int me)
{
	if (S->cs_owner != (uint32_t)me + 1)
		FAIL("mutual exclusion broken: owner mark %u", S->cs_owner);
	S->cs_owner = 0;
}

static void mutex_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	while (!stopping()) {
		mark(&w->inside, 1);
		unsigned how = (unsigned)(xorshift(rng) % 3);
		if (how == 0) {
			while (!weft_mutex_trylock(&S->mutex))
				sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
		} else if (how == 1) {
			weft_mutex_lock(&S->mutex);
		} else {
			struct timespec dl = generous();
			if (weft_mutex_timedlock(&S->mutex, &dl) != WEFT_OK)
				FAIL("timedlock timed out after 60 s");
		}
		mark(&w->held, 1);
		cs_enter(me);
		S->counted++;
		spin_a_little(rng);
		cs_leave(me);
		mark(&w->held, 0);
		weft_mutex_unlock(&S->mutex);
		mark(&w->inside, 0);
		w->ops++;
	}
}

static bool mutex_dead_holds(int victim, const char **what)
{
	(void)victim;
	*what = "mutex held by the dead";
	/* relaxed: the survivors are stuck; the word says whether it is held */
	return (weft_atomic_load(&S->mutex.state, WEFT_RELAXED) & WEFT_MUTEX_STATE_MASK) != 0;
}

static uint64_t sum_ops(void)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < S->nworkers; i++)
		n += S->w[i].ops;
	return n;
}

static int counted_check(int victim, bool stuck)
{
	(void)victim;
	uint64_t ops = sum_ops();
	/* the victim may have counted one operation it did not finish */
	if (!stuck && !(S->counted == ops || S->counted == ops + 1)) {
		fprintf(stderr, "crashtest: counted %" PRIu64 ", operations %" PRIu64 "\n", S->counted, ops);
		return 1;
	}
	return 0;
}

/* -- robust mutex -- */

static void robust_init(void)
{
	must(weft_robust_mutex_init(&S->robust, WEFT_PSHARED | WEFT_ROBUST), "init");
}

static void robust_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	while (!stopping()) {
		mark(&w->inside, 1);
		unsigned how = (unsigned)(xorshift(rng) % 3);
		int rc;
		if (how == 0) {
			while ((rc = weft_robust_mutex_trylock(&S->robust)) == WEFT_EBUSY)
				sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
		} else if (how == 1) {
			rc = weft_robust_mutex_lock(&S->robust);
		} else {
			struct timespec dl = generous();
			rc = weft_robust_mutex_timedlock(&S->robust, &dl);
		}
		if (rc == WEFT_EOWNERDEAD) {
			w->report_ns = now_ns();
			w->reports++;
			/* relaxed: the parent stored it before the kill */
			if (weft_atomic_load(&S->kill_ns, WEFT_RELAXED) == 0)
				FAIL("WEFT_EOWNERDEAD before anyone died");
			/* repair: the dead holder may have left a != b or its mark */
			S->b = S->a;
			S->cs_owner = 0;
			if (weft_robust_mutex_consistent(&S->robust) != WEFT_OK)
				FAIL("consistent() failed");
		} else if (rc != WEFT_OK) {
			FAIL("robust lock returned %d (%s)", rc, weft_strerror(rc));
		}
		mark(&w->held, 1);
		cs_enter(me);
		if (S->a != S->b)
			FAIL("a %" PRIu64 " != b %" PRIu64 " under the lock", S->a, S->b);
		S->a++;
		S->counted++;
		spin_a_little(rng);
		S->b++;
		cs_leave(me);
		mark(&w->held, 0);
		if (weft_robust_mutex_unlock(&S->robust) != WEFT_OK)
			FAIL("unlock failed");
		mark(&w->inside, 0);
		w->ops++;
	}
}

static bool never_holds(int victim, const char **what)
{
	(void)victim;
	*what = "none expected";
	return false;
}

static int robust_check(int victim, bool stuck)
{
	int bad = 0;
	uint32_t reports = 0;
	for (uint32_t i = 0; i < S->nworkers; i++)
		reports += S->w[i].reports;
	/* Nobody locked it after the death?  Then the parent hears it. */
	int rc = weft_robust_mutex_trylock(&S->robust);
	if (rc == WEFT_EOWNERDEAD) {
		reports++;
		(void)!weft_robust_mutex_consistent(&S->robust);
		S->b = S->a;
		S->counted = sum_ops(); /* the dead one's count is lost with it */
	}
	if (rc == WEFT_OK || rc == WEFT_EOWNERDEAD)
		weft_robust_mutex_unlock(&S->robust);
	else {
		fprintf(stderr, "crashtest: robust: the parent's trylock returned %d\n", rc);
		bad++;
	}
	if (reports > 1 || (S->w[victim].held && reports != 1)) {
		fprintf(stderr, "crashtest: robust: %u death reports (victim held: %u)\n", reports, S->w[victim].held);
		bad++;
	}
	if (S->a != S->b) {
		fprintf(stderr, "crashtest: robust: a != b after the trial\n");
		bad++;
	}
	return bad + counted_check(victim, stuck);
}

/* -- rwlock and brlock: readers check a == b, writers bump both -- */

static void rw_init(void)
{
	must(weft_rwlock_init(&S->rwlock, WEFT_PSHARED), "init");
}

static void br_init(void)
{
	must(weft_brlock_init(&S->brlock, WEFT_PSHARED), "init");
}

static void read_section(int me)
{
	/* relaxed: the lock orders these; the counters only detect overlap */
	weft_atomic_fetch_add(&S->readers_in, 1u, WEFT_RELAXED);
	if (weft_atomic_load(&S->writers_in, WEFT_RELAXED) != 0)
		FAIL("a reader inside with a writer");
	if (S->a != S->b)
		FAIL("reader saw a != b");
	weft_atomic_fetch_sub(&S->readers_in, 1u, WEFT_RELAXED);
}

static void write_section(int me, uint64_t *rng)
{
	if (weft_atomic_fetch_add(&S->writers_in, 1u, WEFT_RELAXED) != 0 ||
	    weft_atomic_load(&S->readers_in, WEFT_RELAXED) != 0)
		FAIL("a writer inside with others");
	S->a++;
	spin_a_little(rng);
	S->b++;
	weft_atomic_fetch_sub(&S->writers_in, 1u, WEFT_RELAXED);
}

static void rw_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	weft_rwlock_t *l = &S->rwlock;
	while (!stopping()) {
		unsigned r = (unsigned)(xorshift(rng) % 10);
		bool write = r < 3;
		unsigned how = (unsigned)(xorshift(rng) % 3);
		mark(&w->inside, 1);
		if (write) {
			if (how == 0) {
				while (!weft_rwlock_trywrlock(l))
					sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
			} else if (how == 1) {
				weft_rwlock_wrlock(l);
			} else {
				struct timespec dl = generous();
				if (weft_rwlock_timedwrlock(l, &dl) != WEFT_OK)
					FAIL("timedwrlock timed out after 60 s");
			}
			mark(&w->held, 1);
			write_section(me, rng);
			mark(&w->held, 0);
			weft_rwlock_wrunlock(l);
		} else {
			if (how == 0) {
				while (!weft_rwlock_tryrdlock(l))
					sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
			} else if (how == 1) {
				weft_rwlock_rdlock(l);
			} else {
				struct timespec dl = generous();
				if (weft_rwlock_timedrdlock(l, &dl) != WEFT_OK)
					FAIL("timedrdlock timed out after 60 s");
			}
			mark(&w->held, 1);
			read_section(me);
			mark(&w->held, 0);
			weft_rwlock_rdunlock(l);
		}
		mark(&w->inside, 0);
		w->ops++;
	}
}

static bool rw_dead_holds(int victim, const char **what)
{
	*what = "rwlock held by the dead";
	/* relaxed: the survivors are stuck */
	uint32_t s = weft_atomic_load(&S->rwlock.state, WEFT_RELAXED);
	return (s & (WEFT_RWLOCK_WRITER | WEFT_RWLOCK_READERS)) != 0 || S->w[victim].held;
}

static void br_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	weft_brlock_t *l = &S->brlock;
	while (!stopping()) {
		unsigned r = (unsigned)(xorshift(rng) % 10);
		unsigned how = (unsigned)(xorshift(rng) % 3);
		mark(&w->inside, 1);
		if (r < 3) {
			if (how == 0) {
				while (!weft_brlock_trywrlock(l))
					sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
			} else if (how == 1) {
				weft_brlock_wrlock(l);
			} else {
				struct timespec dl = generous();
				if (weft_brlock_timedwrlock(l, &dl) != WEFT_OK)
					FAIL("timedwrlock timed out after 60 s");
			}
			mark(&w->held, 1);
			write_section(me, rng);
			mark(&w->held, 0);
			weft_brlock_wrunlock(l);
		} else {
			if (how == 0) {
				while (!weft_brlock_tryrdlock(l))
					sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
			} else if (how == 1) {
				weft_brlock_rdlock(l);
			} else {
				struct timespec dl = generous();
				if (weft_brlock_timedrdlock(l, &dl) != WEFT_OK)
					FAIL("timedrdlock timed out after 60 s");
			}
			mark(&w->held, 1);
			read_section(me);
			mark(&w->held, 0);
			weft_brlock_rdunlock(l);
		}
		mark(&w->inside, 0);
		w->ops++;
	}
}

static bool br_dead_holds(int victim, const char **what)
{
	*what = "brlock held by the dead";
	/* relaxed: the survivors are stuck */
	if (weft_atomic_load(&S->brlock.writer, WEFT_RELAXED) & WEFT_BRLOCK_ACTIVE)
		return true;
	/* the writers' mutex sealed by its holder: the dead held the write lock
	 * (an unsealed one held by the dead is a sweeper, which survivors replace) */
	uint32_t wl = weft_atomic_load(&S->brlock.wlock, WEFT_RELAXED);
	if ((wl & 3u) && (wl >> 2) == 0x3fffffffu)
		return true;
	/* a reader count nobody stuck owns: the dead one's (killed between its
	 * slot increment and its mark, or in rdunlock before the decrement) */
	for (unsigned i = 0; i < WEFT_BRLOCK_SLOTS; i++)
		if (weft_atomic_load(&S->brlock.slots[i].readers, WEFT_RELAXED) & WEFT_BRLOCK_SLOT_READERS)
			return true;
	return S->w[victim].held != 0;
}

static int rw_check(int victim, bool stuck)
{
	(void)victim;
	if (!stuck && S->a != S->b) {
		fprintf(stderr, "crashtest: a %" PRIu64 " != b %" PRIu64 " after the trial\n", S->a, S->b);
		return 1;
	}
	return 0;
}

/* -- cond: produce one, consume one -- */

static void cond_init(void)
{
	must(weft_mutex_init(&S->cond_mutex, WEFT_PSHARED), "init");
	must(weft_cond_init(&S->cond, WEFT_PSHARED), "init");
}

static void cond_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	while (!stopping()) {
		mark(&w->inside, 1);
		weft_mutex_lock(&S->cond_mutex);
		S->items++;
		w->produced++;
		if (xorshift(rng) % 4 == 0)
			weft_cond_broadcast(&S->cond);
		else
			weft_cond_signal(&S->cond);
		weft_mutex_unlock(&S->cond_mutex);
		weft_mutex_lock(&S->cond_mutex);
		while (S->items == 0) {
			if (xorshift(rng) % 2) {
				weft_cond_wait(&S->cond, &S->cond_mutex);
			} else {
				struct timespec dl = generous();
				if (weft_cond_timedwait(&S->cond, &S->cond_mutex, &dl) == WEFT_ETIMEDOUT)
					FAIL("an item never came in 60 s");
			}
		}
		S->items--;
		w->consumed++;
		weft_mutex_unlock(&S->cond_mutex);
		mark(&w->inside, 0);
		w->ops++;
	}
}

static bool cond_dead_holds(int victim, const char **what)
{
	(void)victim;
	*what = "cond's mutex held by the dead";
	/* relaxed: the survivors are stuck */
	return (weft_atomic_load(&S->cond_mutex.state, WEFT_RELAXED) & WEFT_MUTEX_STATE_MASK) != 0;
}

static int cond_check(int victim, bool stuck)
{
	(void)victim;
	int64_t net = 0;
	for (uint32_t i = 0; i < S->nworkers; i++)
		net += (int64_t)S->w[i].produced - (int64_t)S->w[i].consumed;
	/* the victim may have changed items without its own count (one step) */
	if (!stuck && (S->items < 0 || S->items > net + 1 || S->items < net - 1)) {
		fprintf(stderr, "crashtest: cond: items %" PRId64 ", produced - consumed %" PRId64 "\n", S->items, net);
		return 1;
	}
	return 0;
}

/* -- sem: SEM_UNITS units shared by all -- */

static void sem_init_(void)
{
	must(weft_sem_init(&S->sem, SEM_UNITS, WEFT_PSHARED), "init");
}

static void sem_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	while (!stopping()) {
		mark(&w->inside, 1);
		unsigned how = (unsigned)(xorshift(rng) % 3);
		if (how == 0) {
			while (!weft_sem_trywait(&S->sem))
				sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
		} else if (how == 1) {
			weft_sem_wait(&S->sem);
		} else {
			struct timespec dl = generous();
			if (weft_sem_timedwait(&S->sem, &dl) != WEFT_OK)
				FAIL("sem timedwait timed out after 60 s");
		}
		mark(&w->held, 1);
		/* relaxed: a bound check only */
		if (weft_atomic_fetch_add(&S->sem_in_use, 1u, WEFT_RELAXED) >= SEM_UNITS)
			FAIL("more than %u units in use", SEM_UNITS);
		spin_a_little(rng);
		weft_atomic_fetch_sub(&S->sem_in_use, 1u, WEFT_RELAXED);
		mark(&w->held, 0);
		if (weft_sem_post(&S->sem) != WEFT_OK)
			FAIL("post failed");
		mark(&w->inside, 0);
		w->ops++;
	}
}

static int sem_check(int victim, bool stuck)
{
	long v = weft_sem_value(&S->sem);
	/* conserved: every unit is in the semaphore, except one the victim took
	 * (possible only if it died inside) */
	long lo = S->w[victim].inside ? (long)SEM_UNITS - 1 : (long)SEM_UNITS;
	if (!stuck && (v < lo || v > (long)SEM_UNITS)) {
		fprintf(stderr, "crashtest: sem: value %ld after the trial (victim inside: %u)\n", v,
			S->w[victim].inside);
		return 1;
	}
	return 0;
}

static bool sem_dead_holds(int victim, const char **what)
{
	(void)victim;
	*what = "units held by the dead";
	return false; /* SEM_UNITS >= 2: one dead holder leaves units for the rest */
}

/* -- mpmc: workers 0..W/2-1 produce, the rest consume; the parent closes -- */

static weft_mpmc_t *Q(void)
{
	return (weft_mpmc_t *)(void *)S->mpmc_mem;
}

static void mpmc_init(void)
{
	if (weft_mpmc_bytes(MPMC_CAP) > sizeof S->mpmc_mem || !weft_mpmc_init_at(S->mpmc_mem, MPMC_CAP, WEFT_PSHARED)) {
		fprintf(stderr, "crashtest: mpmc init failed\n");
		exit(1);
	}
}

static bool is_producer(int me)
{
	return (uint32_t)me < S->nworkers / 2;
}

static void *value_of(int me, uint64_t seq)
{
	return (void *)(uintptr_t)(((uint64_t)(me + 1) << 32) | (seq + 1));
}

static void record(int me, void *v)
{
	uint64_t x = (uint64_t)(uintptr_t)v;
	uint64_t p = (x >> 32) - 1, seq = (x & 0xffffffffu) - 1;
	if (p >= MAX_WORKERS || seq >= MAX_SEQ)
		FAIL("popped a value nobody pushed: %#" PRIx64, x);
	/* relaxed: counts read by the parent after every worker is gone */
	if (weft_atomic_fetch_add(&S->seen[p][seq], (uint8_t)1, WEFT_RELAXED) != 0)
		FAIL("value %" PRIu64 ":%" PRIu64 " popped twice", p, seq);
}

static void mpmc_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	weft_mpmc_t *q = Q();
	if (is_producer(me)) {
		while (!stopping() && w->produced + MPMC_BATCH < MAX_SEQ) {
			unsigned how = (unsigned)(xorshift(rng) % 4);
			mark(&w->inside, 1);
			if (how == 0) {
				while (!weft_mpmc_try_push(q, value_of(me, w->produced)))
					sched_yield(); /* 4 workers on 2 CPUs: let the holder (or the dying victim) run */
				w->produced++;
			} else if (how == 1) {
				if (weft_mpmc_push(q, value_of(me, w->produced)) != WEFT_OK)
					FAIL("push failed");
				w->produced++;
			} else if (how == 2) {
				struct timespec dl = generous();
				if (weft_mpmc_timedpush(q, value_of(me, w->produced), &dl) != WEFT_OK)
					FAIL("timedpush failed");
				w->produced++;
			} else {
				void *vals[MPMC_BATCH];
				for (unsigned i = 0; i < MPMC_BATCH; i++)
					vals[i] = value_of(me, w->produced + i);
				w->produced += weft_mpmc_push_n(q, vals, MPMC_BATCH);
			}
			mark(&w->inside, 0);
			w->ops++;
		}
		return;
	}
	for (;;) {
		unsigned how = (unsigned)(xorshift(rng) % 4);
		mark(&w->inside, 1);
		void *v = NULL;
		int rc;
		if (how == 0) {
			bool closed = weft_mpmc_is_closed(q); /* before the try: a value pushed before close is seen */
			if (weft_mpmc_try_pop(q, &v))
				record(me, v);
			else if (closed)
				break;
		} else if (how == 1) {
			rc = weft_mpmc_pop(q, &v);
			if (rc == WEFT_ECLOSED)
				break;
			record(me, v);
		} else if (how == 2) {
			struct timespec dl = generous();
			rc = weft_mpmc_timedpop(q, &v, &dl);
			if (rc == WEFT_ECLOSED)
				break;
			if (rc != WEFT_OK)
				FAIL("timedpop: %s", weft_strerror(rc));
			record(me, v);
		} else {
			void *vals[MPMC_BATCH];
			size_t n = weft_mpmc_pop_n(q, vals, MPMC_BATCH);
			for (size_t i = 0; i < n; i++)
				record(me, vals[i]);
		}
		mark(&w->inside, 0);
		w->ops++;
	}
	mark(&w->inside, 0);
}

/* A slot claimed by a push or pop that never finished: its sequence number
 * lags the position that claimed it (Vyukov's protocol, mpmc.h). */
static bool mpmc_dead_holds(int victim, const char **what)
{
	(void)victim;
	*what = "a slot claimed by the dead";
	weft_mpmc_t *q = Q();
	weft_mpmc_slot_t *slots = (weft_mpmc_slot_t *)(void *)(S->mpmc_mem + sizeof(weft_mpmc_t));
	/* relaxed: the survivors are stuck */
	uint64_t tail = weft_atomic_load(&q->tail, WEFT_RELAXED) & ~WEFT_MPMC_CLOSED_BIT;
	uint64_t head = weft_atomic_load(&q->head, WEFT_RELAXED);
	for (uint64_t pos = head; pos < tail; pos++) /* pushed or being pushed */
		if (weft_atomic_load(&slots[pos & (MPMC_CAP - 1)].seq, WEFT_RELAXED) != pos + 1)
			return true;
	for (uint64_t pos = head >= MPMC_CAP ? head - MPMC_CAP : 0; pos < head; pos++) /* popped or being popped */
		if (weft_atomic_load(&slots[pos & (MPMC_CAP - 1)].seq, WEFT_RELAXED) != pos + MPMC_CAP)
			return true;
	return false;
}

static int mpmc_check(int victim, bool stuck)
{
	if (stuck)
		return 0;
	int bad = 0;
	uint64_t lost = 0;
	for (uint32_t p = 0; p < S->nworkers / 2; p++) {
		uint64_t n = S->w[p].produced;
		for (uint64_t s = 0; s < n; s++)
			if (S->seen[p][s] == 0)
				lost++;
		/* the victim producer's value in flight may or may not be there */
		uint64_t extra_ok = (uint32_t)victim == p ? MPMC_BATCH : 0;
		for (uint64_t s = n; s < n + MPMC_BATCH + 1 && s < MAX_SEQ; s++)
			if (S->seen[p][s] != 0 && s >= n + extra_ok) {
				fprintf(stderr, "crashtest: mpmc: value %u:%" PRIu64 " popped but never pushed\n", p, s);
				bad++;
			}
	}
	/* values lost: only those a dead consumer had popped and not yet recorded */
	uint64_t lost_ok = is_producer(victim) ? 0 : MPMC_BATCH;
	if (lost > lost_ok) {
		fprintf(stderr, "crashtest: mpmc: %" PRIu64 " values lost (victim %d, allowed %" PRIu64 ")\n", lost,
			victim, lost_ok);
		bad++;
	}
	return bad;
}

/* -- pool: get, mark the object, put back -- */

static weft_pool_t *P(void)
{
	return (weft_pool_t *)(void *)S->pool_mem;
}

static void pool_init_(void)
{
	if (weft_pool_bytes(POOL_OBJ, POOL_CAP) > sizeof S->pool_mem ||
	    !weft_pool_init_at(S->pool_mem, POOL_OBJ, POOL_CAP, WEFT_PSHARED)) {
		fprintf(stderr, "crashtest: pool init failed\n");
		exit(1);
	}
}

static void pool_worker(int me, uint64_t *rng)
{
	struct worker_state *w = &S->w[me];
	uint32_t *held[4];
	unsigned n = 0;
	while (!stopping()) {
		bool get = n == 0 || (n < 4 && xorshift(rng) % 2);
		if (get) {
			mark(&w->inside, 1);
			uint32_t *o = weft_pool_get(P());
			if (o != NULL) {
				/* relaxed: the pool's own acquire published the object */
				uint32_t expect = 0;
				if (!weft_atomic_cas(o, &expect, (uint32_t)me + 1, WEFT_RELAXED, WEFT_RELAXED))
					FAIL("object %p handed out twice (owner %u)", (void *)o, expect);
				held[n++] = o;
				mark(&w->pool_held, n);
			}
			mark(&w->inside, 0);
		} else {
			uint32_t *o = held[--n];
			weft_atomic_store(o, 0u, WEFT_RELAXED);
			mark(&w->inside, 1);
			mark(&w->pool_held, n);
			weft_pool_put(P(), o);
			mark(&w->inside, 0);
		}
		w->ops++;
	}
	while (n > 0) {
		uint32_t *o = held[--n];
		weft_atomic_store(o, 0u, WEFT_RELAXED);
		mark(&w->pool_held, n);
		weft_pool_put(P(), o);
	}
}

static int pool_check(int victim, bool stuck)
{
	if (stuck)
		return 0;
	unsigned free_n = 0;
	while (weft_pool_get(P()) != NULL && free_n <= POOL_CAP)
		free_n++;
	unsigned dead = S->w[victim].pool_held;
	/* one more may be in flight (taken from or not yet given back to the list) */
	unsigned slack = S->w[victim].inside ? 1 : 0;
	if (free_n + dead > POOL_CAP || free_n + dead + slack < POOL_CAP) {
		fprintf(stderr, "crashtest: pool: %u free + %u held by the dead (+%u in flight) != %u\n", free_n, dead,
			slack, POOL_CAP);
		return 1;
	}
	return 0;
}

/* -- counter -- */

static void counter_init(void)
{
	must(weft_counter_init(&S->counter, WEFT_PSHARED), "init");
}

static void counter_worker(int me, uint64_t *rng)
{
	(void)rng;
	struct worker_state *w = &S->w[me];
	while (!stopping()) {
		weft_counter_add(&S->counter, 1);
		w->ops++;
	}
}

static int counter_check(int victim, bool stuck)
{
	(void)victim, (void)stuck;
	uint64_t v = weft_counter_load(&S->counter), ops = sum_ops();
	if (v != ops && v != ops + 1) {
		fprintf(stderr, "crashtest: counter %" PRIu64 ", adds %" PRIu64 "\n", v, ops);
		return 1;
	}
	return 0;
}

static const struct prim prims[] = {
	{"mutex", mutex_init, mutex_worker, mutex_dead_holds, counted_check, false},
	{"robust", robust_init, robust_worker, never_holds, robust_check, false},
	{"rwlock", rw_init, rw_worker, rw_dead_holds, rw_check, false},
	{"brlock", br_init, br_worker, br_dead_holds, rw_check, false},
	{"cond", cond_init, cond_worker, cond_dead_holds, cond_check, false},
	{"sem", sem_init_, sem_worker, sem_dead_holds, sem_check, false},
	{"mpmc", mpmc_init, mpmc_worker, mpmc_dead_holds, mpmc_check, true},
	{"pool", pool_init_, pool_worker, never_holds, pool_check, false},
	{"counter", counter_init, counter_worker, never_holds, counter_check, false},
};
#define N_PRIMS (sizeof prims / sizeof prims[0])

/* ---- the harness ---------------------------------------------------------- */

struct tally {
	unsigned trials, kills, hangs, violations, stalls;
	const char *stall_what;
	uint64_t lat_ns[100000];      /* kill() to the report */
	uint64_t exit_lat_ns[100000]; /* the victim reaped (its exit done) to the report; 0 if before */
	unsigned n_lat;
};

static int verbose;

/* Wait for every pid in @pids (0 = already reaped) until @deadline_ns.
 * Return: how many are still running. */
static unsigned reap_until(pid_t *pids, int *status, unsigned n, uint64_t deadline_ns)
{
	for (;;) {
		unsigned left = 0;
		for (unsigned i = 0; i < n; i++) {
			if (pids[i] == 0)
				continue;
			int st;
			pid_t r = waitpid(pids[i], &st, WNOHANG);
			if (r == pids[i]) {
				status[i] = st;
				pids[i] = 0;
			} else {
				left++;
			}
		}
		if (left == 0 || now_ns() >= deadline_ns)
			return left;
		usleep(200);
	}
}

static void run_trial(const struct prim *p, struct tally *t, uint64_t seed, unsigned nworkers, unsigned bound_ms)
{
	uint64_t rng = seed | 1;
	memset(S, 0, offsetof(struct shm, seen));
	if (p->needs_close)
		memset(S->seen, 0, sizeof S->seen);
	S->nworkers = nworkers;
	p->init();
	pid_t pids[MAX_WORKERS];
	int status[MAX_WORKERS];
	fflush(stdout);
	fflush(stderr);
	for (unsigned i = 0; i < nworkers; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			uint64_t wrng = (seed ^ (0x9e3779b97f4a7c15ull * (i + 1))) | 1;
			/* relaxed: the parent only polls it */
			weft_atomic_store(&S->w[i].started, 1u, WEFT_RELAXED);
			p->worker((int)i, &wrng);
			_exit(0);
		}
		pids[i] = pid;
		status[i] = 0;
	}
	t->trials++;
	for (unsigned i = 0; i < nworkers; i++)
		while (weft_atomic_load(&S->w[i].started, WEFT_RELAXED) == 0)
			usleep(50);
	unsigned victim = (unsigned)(xorshift(&rng) % nworkers);
	usleep((useconds_t)(xorshift(&rng) % KILL_WINDOW_US));
	S->victim = victim;
	/* relaxed: the survivor reads it after it got EOWNERDEAD, which the
	 * kernel's store follows */
	weft_atomic_store(&S->kill_ns, now_ns(), WEFT_RELAXED);
	kill(pids[victim], SIGKILL);
	t->kills++;
	int vst;
	waitpid(pids[victim], &vst, 0);
	S->reaped_ns = now_ns();
	pids[victim] = 0;
	usleep(RUN_AFTER_KILL_US);
	weft_atomic_store(&S->stop, 1u, WEFT_RELAXED); /* relaxed: a request */
	uint64_t deadline = now_ns() + (uint64_t)bound_ms * 1000000ull;
	unsigned left;
	if (p->needs_close) {
		/* producers first, then close the queue, then the consumers */
		pid_t prod[MAX_WORKERS] = {0};
		for (unsigned i = 0; i < nworkers / 2; i++)
			prod[i] = pids[i];
		left = reap_until(prod, status, nworkers / 2, deadline);
		for (unsigned i = 0; i < nworkers / 2; i++)
			if (prod[i] == 0)
				pids[i] = 0;
		if (left == 0)
			weft_mpmc_close(Q());
	}
	/* A trial whose survivors stopped making progress while the victim holds
	 * what they wait for is a stall: no need to wait out the watchdog. */
	uint64_t last_ops = sum_ops(), last_change = now_ns();
	const char *what = "";
	for (;;) {
		uint64_t step = now_ns() + 50000000ull;
		left = reap_until(pids, status, nworkers, step < deadline ? step : deadline);
		if (left == 0 || now_ns() >= deadline)
			break;
		uint64_t ops = sum_ops();
		if (ops != last_ops) {
			last_ops = ops;
			last_change = now_ns();
		} else if (now_ns() - last_change > 300000000ull && p->dead_holds((int)victim, &what)) {
			break;
		}
	}
	bool stuck = left != 0;
	if (stuck) {
		if (p->dead_holds((int)victim, &what)) {
			t->stalls++;
			t->stall_what = what;
		} else {
			t->hangs++;
			fprintf(stderr, "crashtest: %s: HANG: seed %#" PRIx64 ", victim %u, %u survivors stuck\n", p->name,
				seed, victim, left);
			fprintf(stderr, "  words: mutex %#x robust %#x rwlock %#x/%#x brlock %#x/%#x sem %#x cond-mutex %#x\n",
				S->mutex.state, S->robust.word, S->rwlock.state, S->rwlock.queue, S->brlock.writer,
				S->brlock.wlock, S->sem.value, S->cond_mutex.state);
			for (unsigned i = 0; i < nworkers; i++)
				fprintf(stderr, "  worker %u: pid %d ops %" PRIu64 " inside %u held %u%s\n", i, (int)pids[i],
					S->w[i].ops, S->w[i].inside, S->w[i].held, i == victim ? " (victim)" : "");
			if (getenv("CRASHTEST_HOLD"))
				sleep(600); /* leave the stuck survivors for a debugger */
		}
		for (unsigned i = 0; i < nworkers; i++)
			if (pids[i] != 0) {
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &status[i], 0);
				pids[i] = 0;
				status[i] = 0;
			}
	}
	int bad = 0;
	for (unsigned i = 0; i < nworkers; i++)
		if (i != victim && status[i] != 0 && !(WIFSIGNALED(status[i]) && stuck)) {
			fprintf(stderr, "crashtest: %s: worker %u exited with status %#x (seed %#" PRIx64 ")\n", p->name, i,
				status[i], seed);
			bad++;
		}
	bad += p->check((int)victim, stuck);
	if (bad) {
		t->violations++;
		fprintf(stderr, "crashtest: %s: VIOLATION: seed %#" PRIx64 ", victim %u\n", p->name, seed, victim);
	}
	for (unsigned i = 0; i < nworkers; i++)
		if (S->w[i].reports && t->n_lat < sizeof t->lat_ns / sizeof t->lat_ns[0]) {
			t->exit_lat_ns[t->n_lat] = S->w[i].report_ns > S->reaped_ns ? S->w[i].report_ns - S->reaped_ns : 0;
			t->lat_ns[t->n_lat++] = S->w[i].report_ns - S->kill_ns;
		}
	if (verbose)
		printf("  %s trial %u: victim %u, ops %" PRIu64 "%s\n", p->name, t->trials, victim, sum_ops(),
		       stuck ? " (stuck)" : "");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *only = "all";
	unsigned kills = 20, nworkers = 4, bound_ms = 3000;
	uint64_t seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	int opt;
	while ((opt = getopt(argc, argv, "p:k:s:w:b:v")) != -1) {
		switch (opt) {
		case 'p': only = optarg; break;
		case 'k': kills = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'w': nworkers = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': bound_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: %s [-p NAME|all] [-k KILLS] [-s SEED] [-w WORKERS] [-b BOUND_MS] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (nworkers < 3 || nworkers > MAX_WORKERS) {
		fprintf(stderr, "crashtest: -w must be 3..%d\n", MAX_WORKERS);
		return 2;
	}
	S = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (S == MAP_FAILED) {
		perror("crashtest: mmap");
		return 1;
	}
	printf("crashtest: seed %#" PRIx64 ", %u kills per primitive, %u workers, watchdog %u ms\n", seed, kills,
	       nworkers, bound_ms);
	int failed = 0, matched = 0;
	static struct tally t;
	for (unsigned pi = 0; pi < N_PRIMS; pi++) {
		const struct prim *p = &prims[pi];
		if (strcmp(only, "all") != 0 && strcmp(only, p->name) != 0)
			continue;
		matched++;
		memset(&t, 0, sizeof t);
		for (unsigned k = 0; k < kills; k++)
			run_trial(p, &t, seed + 0x100000ull * pi + k, nworkers, bound_ms);
		printf("crashtest: %-8s trials %u  kills %u  hangs %u  violations %u  stalls %u%s%s%s", p->name, t.trials,
		       t.kills, t.hangs, t.violations, t.stalls, t.stalls ? " (" : "", t.stalls ? t.stall_what : "",
		       t.stalls ? ", documented)" : "");
		if (t.n_lat) {
			qsort(t.lat_ns, t.n_lat, sizeof t.lat_ns[0], cmp_u64);
			qsort(t.exit_lat_ns, t.n_lat, sizeof t.exit_lat_ns[0], cmp_u64);
			printf("  death reports %u, kill-to-EOWNERDEAD p50 %.0f us p99 %.0f us max %.0f us;"
			       " exit-to-EOWNERDEAD p50 %.0f us p99 %.0f us max %.0f us",
			       t.n_lat, t.lat_ns[t.n_lat / 2] / 1e3, t.lat_ns[(t.n_lat * 99) / 100] / 1e3,
			       t.lat_ns[t.n_lat - 1] / 1e3, t.exit_lat_ns[t.n_lat / 2] / 1e3,
			       t.exit_lat_ns[(t.n_lat * 99) / 100] / 1e3, t.exit_lat_ns[t.n_lat - 1] / 1e3);
		}
		printf("\n");
		fflush(stdout);
		if (t.hangs || t.violations)
			failed = 1;
	}
	if (!matched) {
		fprintf(stderr, "crashtest: no primitive named %s\n", only);
		return 2;
	}
	return failed;
}
