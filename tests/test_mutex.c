/* SPDX-License-Identifier: MIT */
/*
 * test_mutex.c - weft_mutex_t: initial states, init flags, lock, trylock,
 * timedlock edge cases, every documented bad input, the spin knob, and the
 * process-shared mutex across fork().
 *
 * Every test also runs in the WEFT_DEBUG build (make check-variants), so no
 * test here misuses the mutex (no unlock from a non-owner, no timedlock by the
 * holder): operations on a held mutex run on another thread or process.
 * No timing assertion: a blocked waiter is released only after it is seen
 * asleep, and timeouts are checked against the deadline, not a stopwatch.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>

#include "check.h"
#include "weft/weft.h"

#define HANG_GUARD_S 300 /* the whole program normally takes well under 10 s */

#define SEC_NS (1000ull * 1000 * 1000)
#define GENEROUS_NS (60 * SEC_NS) /* a waiter still blocked after this lost its wake-up */

static const unsigned flag_sets[] = {0, WEFT_PSHARED};
#define N_FLAG_SETS 2

/* ---- a job run on another thread ------------------------------------------ */

enum op { OP_TRYLOCK, OP_LOCK, OP_TIMEDLOCK };

struct job {
	weft_mutex_t *m;
	enum op op;
	const struct timespec *deadline; /* OP_TIMEDLOCK: may be NULL or malformed */
	const int *held;                 /* main's mark: set while main holds m */
	bool unlock;                     /* unlock again if the job got the lock */
	/* results */
	int rc;           /* trylock: 1/0; others: the status */
	int saw_held;     /* got the lock while main's mark was set */
	int passed;       /* OP_TIMEDLOCK + WEFT_ETIMEDOUT: the deadline had passed */
	pid_t tid;        /* published when started */
	int started;      /* atomic */
	pthread_t thread;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	j->tid = check_gettid();
	__atomic_store_n(&j->started, 1, __ATOMIC_RELEASE);
	bool got;
	switch (j->op) {
	case OP_TRYLOCK:
		got = weft_mutex_trylock(j->m);
		j->rc = got;
		break;
	case OP_LOCK:
		weft_mutex_lock(j->m);
		got = true;
		j->rc = WEFT_OK;
		break;
	default:
		j->rc = weft_mutex_timedlock(j->m, j->deadline);
		got = j->rc == WEFT_OK;
		if (j->rc == WEFT_ETIMEDOUT)
			j->passed = weft_deadline_passed(j->deadline);
		break;
	}
	if (got) {
		if (j->held && *j->held) /* plain: main writes it under the mutex */
			j->saw_held = 1;
		if (j->unlock)
			weft_mutex_unlock(j->m);
	}
	return NULL;
}

static void job_start(struct job *j, weft_mutex_t *m, enum op op, const struct timespec *deadline,
		      const int *held)
{
	memset(j, 0, sizeof(*j));
	j->m = m;
	j->op = op;
	j->deadline = deadline;
	j->held = held;
	j->unlock = true;
	if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
		perror("pthread_create");
		exit(3);
	}
	while (!__atomic_load_n(&j->started, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void job_join(struct job *j)
{
	pthread_join(j->thread, NULL);
}

/* Run a job to completion on another thread. */
static struct job job_run(weft_mutex_t *m, enum op op, const struct timespec *deadline)
{
	struct job j;
	job_start(&j, m, op, deadline, NULL);
	job_join(&j);
	return j;
}

/* Whether another thread sees @m free (takes and releases it). */
static bool free_for_others(weft_mutex_t *m)
{
	return job_run(m, OP_TRYLOCK, NULL).rc == 1;
}

/* ---- initial states and init() ------------------------------------------- */

/* The single-thread cycle every fresh mutex must pass. */
static void check_cycle(weft_mutex_t *m)
{
	CHECK(weft_mutex_trylock(m));
	CHECK(!free_for_others(m));
	weft_mutex_unlock(m);
	CHECK(free_for_others(m));
	weft_mutex_lock(m);
	CHECK(!free_for_others(m));
	weft_mutex_unlock(m);
	struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
	CHECK_STATUS(weft_mutex_timedlock(m, &d), WEFT_OK);
	CHECK(!free_for_others(m));
	weft_mutex_unlock(m);
	struct timespec past = {0, 0};
	CHECK_STATUS(weft_mutex_timedlock(m, &past), WEFT_OK); /* free: a past deadline still succeeds */
	weft_mutex_unlock(m);
	for (int i = 0; i < 100; i++) {
		weft_mutex_lock(m);
		weft_mutex_unlock(m);
		CHECK(weft_mutex_trylock(m));
		weft_mutex_unlock(m);
	}
	CHECK(free_for_others(m));
}

static weft_mutex_t static_zero; /* all-zero static storage */
static weft_mutex_t static_init = WEFT_MUTEX_INIT;

static void test_initial_states(void)
{
	check_cycle(&static_zero);
	check_cycle(&static_init);
	weft_mutex_t local = WEFT_MUTEX_INIT;
	check_cycle(&local);
	weft_mutex_destroy(&local);
	weft_mutex_t *heap = calloc(1, sizeof(*heap));
	CHECK(heap != NULL);
	if (heap) {
		check_cycle(heap);
		weft_mutex_destroy(heap);
		free(heap);
	}
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_mutex_t m;
		memset(&m, 0xA5, sizeof(m)); /* init() overwrites whatever was there */
		CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
		check_cycle(&m);
		weft_mutex_destroy(&m);
		/* init again after destroy: a fresh mutex */
		CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
		check_cycle(&m);
		weft_mutex_destroy(&m);
	}
	/* WEFT_MUTEX_INIT is the all-zero state */
	weft_mutex_t zero, init = WEFT_MUTEX_INIT;
	memset(&zero, 0, sizeof(zero));
	CHECK(memcmp(&zero, &init, sizeof(zero)) == 0);
	(void)!weft_mutex_init(&init, 0);
	CHECK(memcmp(&zero, &init, sizeof(zero)) == 0);
}

static void test_footprint(void)
{
#ifdef WEFT_DEBUG
	CHECK_EQ(sizeof(weft_mutex_t), 8); /* the owner's thread id */
#else
	CHECK_EQ(sizeof(weft_mutex_t), 4);
#endif
	CHECK_EQ(_Alignof(weft_mutex_t), 4);
}

/* Unknown flags: WEFT_EINVAL and not a byte of the mutex changes. */
static void test_init_bad_flags(void)
{
	const unsigned bad[] = {0x2u, 0x8u, 0x100u, 0x80000000u, WEFT_PSHARED | 0x2u, WEFT_PSHARED | 0x80000000u,
				WEFT_FIFO | 0x2u, ~0u, ~WEFT_PSHARED};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		weft_mutex_t m, snap;
		memset(&m, 0x5A, sizeof(m));
		memcpy(&snap, &m, sizeof(m));
		CHECK_STATUS(weft_mutex_init(&m, bad[i]), WEFT_EINVAL);
		CHECK(memcmp(&m, &snap, sizeof(m)) == 0);

		/* a held mutex stays held (and a free one free) */
		weft_mutex_t held = WEFT_MUTEX_INIT;
		weft_mutex_lock(&held);
		memcpy(&snap, &held, sizeof(held));
		CHECK_STATUS(weft_mutex_init(&held, bad[i]), WEFT_EINVAL);
		CHECK(memcmp(&held, &snap, sizeof(held)) == 0);
		CHECK(!free_for_others(&held));
		weft_mutex_unlock(&held);
		CHECK_STATUS(weft_mutex_init(&held, bad[i]), WEFT_EINVAL);
		CHECK(free_for_others(&held));
	}
}

/* ---- trylock / lock against other threads --------------------------------- */

static void test_trylock_other_thread(void)
{
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_mutex_t m;
		CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
		weft_mutex_lock(&m);
		CHECK_EQ(job_run(&m, OP_TRYLOCK, NULL).rc, 0);
		CHECK_EQ(job_run(&m, OP_TRYLOCK, NULL).rc, 0);
		weft_mutex_unlock(&m);
		CHECK_EQ(job_run(&m, OP_TRYLOCK, NULL).rc, 1); /* takes and releases it */
		CHECK(weft_mutex_trylock(&m));
		weft_mutex_unlock(&m);
		weft_mutex_destroy(&m);
	}
}

/* A locker blocks while main holds the mutex, sleeps, and gets it after the
 * unlock; it never gets in while main's mark is set.  With the default spin
 * and with no spin at all. */
static void test_lock_blocks_until_unlock(void)
{
	for (int spin = 0; spin < 2; spin++) {
		unsigned old = weft_mutex_set_spin(spin ? WEFT_MUTEX_SPIN_DEFAULT : 0);
		for (int f = 0; f < N_FLAG_SETS; f++) {
			for (int round = 0; round < 5; round++) {
				weft_mutex_t m;
				CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
				int held = 0;
				struct job j[3];
				weft_mutex_lock(&m);
				held = 1;
				for (int i = 0; i < 3; i++) {
					job_start(&j[i], &m, OP_LOCK, NULL, &held);
					(void)check_wait_until_sleeping(getpid(), j[i].tid);
				}
				held = 0;
				weft_mutex_unlock(&m);
				for (int i = 0; i < 3; i++) {
					job_join(&j[i]);
					CHECK_EQ(j[i].saw_held, 0);
				}
				CHECK(free_for_others(&m));
				weft_mutex_destroy(&m);
			}
		}
		weft_mutex_set_spin(old);
	}
}

/* ---- timedlock ------------------------------------------------------------- */

/* Free mutex: any valid deadline, even long past, gets it. */
static void test_timedlock_free(void)
{
	const struct timespec deadlines[] = {{0, 0}, {1, 999999999}, {0, 1}};
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_mutex_t m;
		CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
		for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
			CHECK_STATUS(weft_mutex_timedlock(&m, &deadlines[i]), WEFT_OK);
			CHECK(!free_for_others(&m));
			weft_mutex_unlock(&m);
		}
		struct timespec now = weft_deadline_after_ns(0);
		CHECK_STATUS(weft_mutex_timedlock(&m, &now), WEFT_OK);
		weft_mutex_unlock(&m);
		struct timespec later = weft_deadline_after_ns(UINT64_MAX);
		CHECK_STATUS(weft_mutex_timedlock(&m, &later), WEFT_OK);
		weft_mutex_unlock(&m);
		CHECK(free_for_others(&m));
	}
}

/* Busy mutex, deadline already past: WEFT_ETIMEDOUT without waiting (a wait
 * would last until the generous alarm), and the holder keeps it. */
static void test_timedlock_busy_past(void)
{
	const struct timespec deadlines[] = {{0, 0}, {1, 0}, {0, 999999999}};
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_mutex_t m;
		CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
		weft_mutex_lock(&m);
		for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
			struct job j = job_run(&m, OP_TIMEDLOCK, &deadlines[i]);
			CHECK_STATUS(j.rc, WEFT_ETIMEDOUT);
			CHECK_EQ(j.passed, 1);
		}
		struct timespec now = weft_deadline_after_ns(0);
		struct job j = job_run(&m, OP_TIMEDLOCK, &now);
		CHECK_STATUS(j.rc, WEFT_ETIMEDOUT);
		CHECK(!free_for_others(&m));
		weft_mutex_unlock(&m);
		CHECK(free_for_others(&m));
	}
}

/* Busy mutex, short future deadline: WEFT_ETIMEDOUT, never before the
 * deadline; afterwards the mutex still works (the timed-out waiter may have
 * left the word marked contended). */
static void test_timedlock_busy_short(void)
{
	for (int spin = 0; spin < 2; spin++) {
		unsigned old = weft_mutex_set_spin(spin ? WEFT_MUTEX_SPIN_DEFAULT : 0);
		for (int f = 0; f < N_FLAG_SETS; f++) {
			weft_mutex_t m;
			CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
			int held = 0;
			weft_mutex_lock(&m);
			held = 1;
			for (int i = 0; i < 3; i++) {
				struct timespec d = weft_deadline_after_ns((uint64_t)(i + 1) * 5 * 1000 * 1000);
				struct job j;
				job_start(&j, &m, OP_TIMEDLOCK, &d, &held);
				job_join(&j);
				CHECK_STATUS(j.rc, WEFT_ETIMEDOUT);
				CHECK_EQ(j.passed, 1);
				CHECK_EQ(j.saw_held, 0);
			}
			CHECK(!free_for_others(&m));
			held = 0;
			weft_mutex_unlock(&m);
			CHECK(free_for_others(&m));
			weft_mutex_lock(&m);
			weft_mutex_unlock(&m);
		}
		weft_mutex_set_spin(old);
	}
}

/* A timed waiter gets the mutex when the holder unlocks before its deadline. */
static void test_timedlock_gets_lock(void)
{
	for (int spin = 0; spin < 2; spin++) {
		unsigned old = weft_mutex_set_spin(spin ? WEFT_MUTEX_SPIN_DEFAULT : 0);
		for (int f = 0; f < N_FLAG_SETS; f++) {
			for (int round = 0; round < 5; round++) {
				weft_mutex_t m;
				CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
				int held = 0;
				/* odd rounds: the farthest deadline there is */
				struct timespec d = weft_deadline_after_ns(round & 1 ? UINT64_MAX : GENEROUS_NS);
				struct job j;
				weft_mutex_lock(&m);
				held = 1;
				job_start(&j, &m, OP_TIMEDLOCK, &d, &held);
				(void)check_wait_until_sleeping(getpid(), j.tid);
				held = 0;
				weft_mutex_unlock(&m);
				job_join(&j);
				CHECK_STATUS(j.rc, WEFT_OK);
				CHECK_EQ(j.saw_held, 0);
				CHECK(free_for_others(&m));
				if (check__test_failed)
					break; /* a lost wake-up costs GENEROUS_NS: stop at the first */
			}
		}
		weft_mutex_set_spin(old);
	}
}

/* A malformed or NULL deadline: WEFT_EINVAL, the mutex untouched, whether it
 * is free or held. */
static void test_timedlock_einval(void)
{
	const struct timespec bad[] = {
		{0, -1}, {0, 1000000000}, {0, LONG_MAX}, {5, LONG_MIN}, {-1, 0}, {-1, 999999999},
	};
	const size_t n_bad = sizeof(bad) / sizeof(bad[0]);
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_mutex_t m, snap;
		CHECK_STATUS(weft_mutex_init(&m, flag_sets[f]), WEFT_OK);
		/* free: main may call it */
		for (size_t i = 0; i <= n_bad; i++) {
			const struct timespec *d = i < n_bad ? &bad[i] : NULL;
			memcpy(&snap, &m, sizeof(m));
			CHECK_STATUS(weft_mutex_timedlock(&m, d), WEFT_EINVAL);
			CHECK(memcmp(&m, &snap, sizeof(m)) == 0);
			CHECK(free_for_others(&m));
		}
		/* held by main: from another thread */
		weft_mutex_lock(&m);
		for (size_t i = 0; i <= n_bad; i++) {
			const struct timespec *d = i < n_bad ? &bad[i] : NULL;
			memcpy(&snap, &m, sizeof(m));
			struct job j = job_run(&m, OP_TIMEDLOCK, d);
			CHECK_STATUS(j.rc, WEFT_EINVAL);
			CHECK(memcmp(&m, &snap, sizeof(m)) == 0);
		}
		CHECK(!free_for_others(&m));
		weft_mutex_unlock(&m);
		CHECK(free_for_others(&m));
	}
}

/* ---- the spin knob and contention ------------------------------------------ */

static void test_set_spin(void)
{
	/* this runs first: the process still has the default */
	unsigned first = weft_mutex_set_spin(0);
	CHECK_EQ(first, WEFT_MUTEX_SPIN_DEFAULT);
	CHECK_EQ(weft_mutex_set_spin(7), 0);
	CHECK_EQ(weft_mutex_set_spin(UINT_MAX), 7);
	CHECK_EQ(weft_mutex_set_spin(first), UINT_MAX);
	CHECK_EQ(weft_mutex_set_spin(first), first);
}

#define CONT_THREADS 4
#define CONT_ITERS 5000

struct contention {
	weft_mutex_t m;
	long counter; /* plain, guarded by m */
	int owner;    /* plain, guarded by m */
	int broken;   /* atomic */
};

struct cont_arg {
	struct contention *c;
	int id;
	long done;
	long timeouts;
};

static void *cont_worker(void *arg)
{
	struct cont_arg *a = arg;
	struct contention *c = a->c;
	uint64_t rnd = (uint64_t)a->id * 0x9E3779B97F4A7C15ull + 7;
	while (a->done < CONT_ITERS) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		switch (rnd % 4) {
		case 0:
			if (!weft_mutex_trylock(&c->m))
				continue;
			break;
		case 1: {
			/* 0..63 us ahead: some succeed, some time out */
			struct timespec d = weft_deadline_after_ns((rnd >> 8) % 64 * 1000);
			int rc = weft_mutex_timedlock(&c->m, &d);
			if (rc != WEFT_OK) {
				if (rc != WEFT_ETIMEDOUT || !weft_deadline_passed(&d))
					__atomic_store_n(&c->broken, 1, __ATOMIC_RELAXED);
				a->timeouts++;
				continue;
			}
			break;
		}
		default:
			weft_mutex_lock(&c->m);
			break;
		}
		if (c->owner != 0)
			__atomic_store_n(&c->broken, 1, __ATOMIC_RELAXED);
		c->owner = a->id;
		c->counter++;
		if ((rnd >> 20) % 64 == 0)
			sched_yield(); /* get preempted while holding it now and then */
		if (c->owner != a->id)
			__atomic_store_n(&c->broken, 1, __ATOMIC_RELAXED);
		c->owner = 0;
		weft_mutex_unlock(&c->m);
		a->done++;
	}
	return NULL;
}

/* Mutual exclusion under contention, lock/trylock/timedlock mixed, for both
 * flavours, with the default spin and with none (every waiter sleeps). */
static void test_contention(void)
{
	for (int spin = 0; spin < 2; spin++) {
		unsigned old = weft_mutex_set_spin(spin ? WEFT_MUTEX_SPIN_DEFAULT : 0);
		for (int f = 0; f < N_FLAG_SETS; f++) {
			struct contention *c = calloc(1, sizeof(*c));
			CHECK(c != NULL);
			if (!c)
				break;
			CHECK_STATUS(weft_mutex_init(&c->m, flag_sets[f]), WEFT_OK);
			pthread_t t[CONT_THREADS];
			struct cont_arg args[CONT_THREADS];
			for (int i = 0; i < CONT_THREADS; i++) {
				args[i] = (struct cont_arg){c, i + 1, 0, 0};
				if (pthread_create(&t[i], NULL, cont_worker, &args[i]) != 0)
					exit(3);
			}
			for (int i = 0; i < CONT_THREADS; i++)
				pthread_join(t[i], NULL);
			CHECK_EQ(c->counter, (long)CONT_THREADS * CONT_ITERS);
			CHECK_EQ(c->broken, 0);
			CHECK(free_for_others(&c->m));
			weft_mutex_destroy(&c->m);
			free(c);
		}
		weft_mutex_set_spin(old);
	}
}

/* ---- process-shared across fork() ----------------------------------------- */

#define PS_CHILDREN 3
#define PS_ITERS 20000

struct pshared_area {
	weft_mutex_t m;
	long counter;       /* plain, guarded by m */
	int owner;          /* plain, guarded by m: the holder's pid */
	int broken;         /* atomic */
	int ready;          /* atomic */
	int child_unlocked; /* atomic: the child is about to unlock */
	int rc;             /* atomic: a child's result */
};

/* The counter loop every process runs: lock, trylock and timedlock mixed. */
static void pshared_increments(struct pshared_area *a, int seed)
{
	int me = (int)getpid();
	uint64_t rnd = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 3;
	for (long i = 0; i < PS_ITERS;) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		if (rnd % 4 == 0) {
			if (!weft_mutex_trylock(&a->m))
				continue;
		} else if (rnd % 4 == 1) {
			struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
			if (weft_mutex_timedlock(&a->m, &d) != WEFT_OK) {
				__atomic_store_n(&a->broken, 1, __ATOMIC_RELAXED);
				continue;
			}
		} else {
			weft_mutex_lock(&a->m);
		}
		if (a->owner != 0)
			__atomic_store_n(&a->broken, 1, __ATOMIC_RELAXED);
		a->owner = me;
		a->counter++;
		if (a->owner != me)
			__atomic_store_n(&a->broken, 1, __ATOMIC_RELAXED);
		a->owner = 0;
		weft_mutex_unlock(&a->m);
		i++;
	}
}

static pid_t fork_child(void)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan if the parent dies */
	return pid;
}

/* Parent and children increment one shared counter under one WEFT_PSHARED
 * mutex in MAP_SHARED memory: the total is exact. */
static void test_pshared_counter(void)
{
	for (int spin = 0; spin < 2; spin++) {
		unsigned old = weft_mutex_set_spin(spin ? WEFT_MUTEX_SPIN_DEFAULT : 0);
		struct pshared_area *a = check_shared_alloc(sizeof(*a));
		CHECK(a != NULL);
		if (!a)
			return;
		CHECK_STATUS(weft_mutex_init(&a->m, WEFT_PSHARED), WEFT_OK);
		/* the parent has used the mutex before it forks */
		weft_mutex_lock(&a->m);
		weft_mutex_unlock(&a->m);
		pid_t pids[PS_CHILDREN];
		for (int i = 0; i < PS_CHILDREN; i++) {
			pids[i] = fork_child();
			if (pids[i] == 0) {
				pshared_increments(a, i + 1);
				_exit(0);
			}
			CHECK_GT(pids[i], 0);
		}
		pshared_increments(a, 100);
		for (int i = 0; i < PS_CHILDREN; i++)
			if (pids[i] > 0)
				CHECK_EQ(check_wait_child(pids[i]), 0);
		CHECK_EQ(a->counter, (long)(PS_CHILDREN + 1) * PS_ITERS);
		CHECK_EQ(a->broken, 0);
		CHECK(weft_mutex_trylock(&a->m));
		weft_mutex_unlock(&a->m);
		weft_mutex_destroy(&a->m);
		check_shared_free(a, sizeof(*a));
		weft_mutex_set_spin(old);
	}
}

/* A child holds the mutex; the parent blocks in lock() (and in timedlock());
 * the child unlocks once the parent sleeps; the parent gets it only then. */
static void test_pshared_blocks_across_processes(void)
{
	for (int use_timed = 0; use_timed < 2; use_timed++) {
		struct pshared_area *a = check_shared_alloc(sizeof(*a));
		CHECK(a != NULL);
		if (!a)
			return;
		CHECK_STATUS(weft_mutex_init(&a->m, WEFT_PSHARED), WEFT_OK);
		weft_mutex_lock(&a->m); /* the parent has held it before */
		weft_mutex_unlock(&a->m);
		pid_t parent = getpid();
		pid_t pid = fork_child();
		if (pid == 0) {
			weft_mutex_lock(&a->m);
			__atomic_store_n(&a->ready, 1, __ATOMIC_RELEASE);
			/* wait (hint only) until the parent sleeps on the mutex */
			while (__atomic_load_n(&a->ready, __ATOMIC_ACQUIRE) != 2)
				sched_yield();
			(void)check_wait_until_sleeping(parent, parent);
			__atomic_store_n(&a->child_unlocked, 1, __ATOMIC_RELAXED);
			weft_mutex_unlock(&a->m);
			_exit(0);
		}
		CHECK_GT(pid, 0);
		if (pid < 0)
			return;
		while (__atomic_load_n(&a->ready, __ATOMIC_ACQUIRE) != 1)
			sched_yield();
		/* held by the child: no way in yet */
		CHECK(!weft_mutex_trylock(&a->m));
		struct timespec past = {0, 0};
		CHECK_STATUS(weft_mutex_timedlock(&a->m, &past), WEFT_ETIMEDOUT);
		struct timespec soon = weft_deadline_after_ns(2 * 1000 * 1000);
		CHECK_STATUS(weft_mutex_timedlock(&a->m, &soon), WEFT_ETIMEDOUT);
		CHECK(weft_deadline_passed(&soon));
		__atomic_store_n(&a->ready, 2, __ATOMIC_RELEASE);
		if (use_timed) {
			struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
			CHECK_STATUS(weft_mutex_timedlock(&a->m, &d), WEFT_OK);
		} else {
			weft_mutex_lock(&a->m);
		}
		CHECK_EQ(__atomic_load_n(&a->child_unlocked, __ATOMIC_RELAXED), 1);
		weft_mutex_unlock(&a->m);
		CHECK_EQ(check_wait_child(pid), 0);
		check_shared_free(a, sizeof(*a));
	}
}

/*
 * A process killed inside weft_mutex_unlock(), after its exchange made the
 * word free and before its wake-up call: the sleeper must not sleep for ever
 * while others lock and unlock without contention (make crashtest found it).
 * The dead unlocker is simulated: the word is set free with no wake-up.
 */
struct dead_unlock {
	weft_mutex_t *m;
	pid_t tid;
	int got;
};

static void *dead_unlock_sleeper(void *arg)
{
	struct dead_unlock *d = arg;
	__atomic_store_n(&d->tid, check_gettid(), __ATOMIC_RELEASE);
	weft_mutex_lock(d->m);
	__atomic_store_n(&d->got, 1, __ATOMIC_RELEASE);
	weft_mutex_unlock(d->m);
	return NULL;
}

static void test_pshared_dead_unlocker(void)
{
	weft_mutex_t m;
	CHECK_STATUS(weft_mutex_init(&m, WEFT_PSHARED), WEFT_OK);
	/* "the process that will die" holds it: set by hand, as another process's
	 * lock would be (no lock call here, so TSan sees no holder that never
	 * unlocks) */
	__atomic_store_n(&m.state, WEFT_MUTEX_PSHARED_BIT | WEFT_MUTEX_LOCKED, __ATOMIC_RELEASE);
	struct dead_unlock d = {&m, 0, 0};
	pthread_t t;
	pthread_create(&t, NULL, dead_unlock_sleeper, &d);
	while (__atomic_load_n(&d.tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), d.tid);
	/* the dead unlocker's exchange, and no wake-up call */
	__atomic_store_n(&m.state, WEFT_MUTEX_PSHARED_BIT, __ATOMIC_RELEASE);
	/* others lock and unlock without contention; the sleeper must get in */
	struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
	while (!__atomic_load_n(&d.got, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang)) {
		if (weft_mutex_trylock(&m))
			weft_mutex_unlock(&m);
		usleep(1000);
	}
	CHECK_EQ(__atomic_load_n(&d.got, __ATOMIC_ACQUIRE), 1);
	if (!__atomic_load_n(&d.got, __ATOMIC_ACQUIRE)) {
		/* free the stuck sleeper so the program can end */
		__atomic_store_n(&m.state, WEFT_MUTEX_PSHARED_BIT, __ATOMIC_RELEASE);
		syscall(SYS_futex, &m.state, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
	}
	pthread_join(t, NULL);
}

/* The parent holds the mutex; a child's timedlock times out, its lock()
 * sleeps until the parent unlocks. */
static void test_pshared_parent_holds(void)
{
	struct pshared_area *a = check_shared_alloc(sizeof(*a));
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK_STATUS(weft_mutex_init(&a->m, WEFT_PSHARED), WEFT_OK);
	weft_mutex_lock(&a->m);
	a->owner = 1; /* plain, guarded by the mutex */
	pid_t pid = fork_child();
	if (pid == 0) {
		int rc = 0;
		if (weft_mutex_trylock(&a->m))
			rc |= 1;
		struct timespec soon = weft_deadline_after_ns(2 * 1000 * 1000);
		if (weft_mutex_timedlock(&a->m, &soon) != WEFT_ETIMEDOUT || !weft_deadline_passed(&soon))
			rc |= 2;
		__atomic_store_n(&a->ready, 1, __ATOMIC_RELEASE);
		weft_mutex_lock(&a->m);
		if (a->owner != 0)
			rc |= 4;
		weft_mutex_unlock(&a->m);
		_exit(rc);
	}
	CHECK_GT(pid, 0);
	if (pid < 0)
		return;
	while (__atomic_load_n(&a->ready, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	(void)check_wait_until_sleeping(pid, pid);
	a->owner = 0;
	weft_mutex_unlock(&a->m);
	CHECK_EQ(check_wait_child(pid), 0);
	CHECK(weft_mutex_trylock(&a->m));
	weft_mutex_unlock(&a->m);
	check_shared_free(a, sizeof(*a));
}

int main(void)
{
	alarm(HANG_GUARD_S); /* a lost wake-up or deadlock kills the program: a failure, not a stall */
	RUN_TEST(test_set_spin); /* first: it checks the process-wide default */
	RUN_TEST(test_footprint);
	RUN_TEST(test_initial_states);
	RUN_TEST(test_init_bad_flags);
	RUN_TEST(test_trylock_other_thread);
	RUN_TEST(test_lock_blocks_until_unlock);
	RUN_TEST(test_timedlock_free);
	RUN_TEST(test_timedlock_busy_past);
	RUN_TEST(test_timedlock_busy_short);
	RUN_TEST(test_timedlock_gets_lock);
	RUN_TEST(test_timedlock_einval);
	RUN_TEST(test_contention);
	RUN_TEST(test_pshared_counter);
	RUN_TEST(test_pshared_blocks_across_processes);
	RUN_TEST(test_pshared_parent_holds);
	RUN_TEST(test_pshared_dead_unlocker);
	return check_summary();
}
