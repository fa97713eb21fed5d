/* SPDX-License-Identifier: MIT */
/*
 * test_robust.c - weft_robust_mutex_t: init, lock, trylock, timedlock, unlock;
 * a holder thread that exits and a holder process that is killed (the next
 * locker, sleeping or arriving, gets WEFT_EOWNERDEAD); consistent() and
 * WEFT_ENOTRECOVERABLE; and coexistence with glibc's robust pthread mutexes in
 * one thread's robust list (a thread holding one of each dies: both report it).
 *
 * No timing assertion: deadlines only detect a hang.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "weft/weft.h"

#define HANG_GUARD_S 300

/* ThreadSanitizer cannot follow a thread that exits holding a lock (the next
 * holder's lock is a "double lock" to it: its interface has no annotation for
 * the repair its own pthread interceptor makes on EOWNERDEAD), nor a lock held
 * across fork(): those tests return at once in a TSan build (robust.h). */
#ifdef WEFT_TSAN
#define NOT_UNDER_TSAN() return
#else
#define NOT_UNDER_TSAN() (void)0
#endif
#define SEC_NS (1000ull * 1000 * 1000)
#define GENEROUS_NS (60 * SEC_NS)

static const unsigned flag_sets[] = {0, WEFT_PSHARED, WEFT_ROBUST, WEFT_ROBUST | WEFT_PSHARED};
#define N_FLAG_SETS 4

static void test_footprint(void)
{
	CHECK_EQ(sizeof(weft_robust_mutex_t), 40);
	CHECK_EQ(sizeof(weft_mutex_t) == 4 || sizeof(weft_mutex_t) == 8, 1); /* the plain one is unchanged */
	weft_robust_mutex_t z;
	memset(&z, 0, sizeof z);
	weft_robust_mutex_t i = WEFT_ROBUST_MUTEX_INIT;
	CHECK_EQ(memcmp(&z, &i, sizeof z), 0);
}

static void test_init_flags(void)
{
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_robust_mutex_t m;
		CHECK_STATUS(weft_robust_mutex_init(&m, flag_sets[f]), WEFT_OK);
		CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_OK);
		CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
		weft_robust_mutex_destroy(&m);
	}
	weft_robust_mutex_t m;
	memset(&m, 0xab, sizeof m);
	CHECK_STATUS(weft_robust_mutex_init(&m, 0x100u), WEFT_EINVAL);
	CHECK_EQ(m.word, 0xabababab); /* untouched */
	weft_mutex_t pm;
	CHECK_STATUS(weft_mutex_init(&pm, WEFT_ROBUST), WEFT_EINVAL); /* the 4-byte mutex cannot be robust */
}

static void test_zero_and_try(void)
{
	static weft_robust_mutex_t m; /* all-zero: valid */
	CHECK_STATUS(weft_robust_mutex_trylock(&m), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_consistent(&m), WEFT_EINVAL); /* nothing to repair */
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
	const struct timespec past = {0, 0};
	CHECK_STATUS(weft_robust_mutex_timedlock(&m, &past), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
	struct timespec bad = {0, 1000000000L};
	CHECK_STATUS(weft_robust_mutex_timedlock(&m, &bad), WEFT_EINVAL);
	CHECK_STATUS(weft_robust_mutex_timedlock(&m, NULL), WEFT_EINVAL);
	CHECK_EQ(m.word, 0);
}

/* ---- a thread that does one thing and reports ----------------------------- */

struct job {
	weft_robust_mutex_t *m;
	int op; /* 0 trylock, 1 lock, 2 timedlock (past deadline), 3 timedlock (generous), 4 lock and exit holding */
	int rc;
	pid_t tid;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	__atomic_store_n(&j->tid, check_gettid(), __ATOMIC_RELEASE);
	struct timespec dl = {0, 0};
	if (j->op == 3)
		dl = weft_deadline_after_ns(GENEROUS_NS);
	switch (j->op) {
	case 0:
		j->rc = weft_robust_mutex_trylock(j->m);
		break;
	case 1:
	case 4:
		j->rc = weft_robust_mutex_lock(j->m);
		break;
	default:
		j->rc = weft_robust_mutex_timedlock(j->m, &dl);
		break;
	}
	if (j->op != 4 && (j->rc == WEFT_OK || j->rc == WEFT_EOWNERDEAD)) {
		if (j->rc == WEFT_EOWNERDEAD)
			CHECK_STATUS(weft_robust_mutex_consistent(j->m), WEFT_OK);
		CHECK_STATUS(weft_robust_mutex_unlock(j->m), WEFT_OK);
	}
	return NULL; /* op 4: exits holding the mutex */
}

static int run_job(weft_robust_mutex_t *m, int op)
{
	struct job j = {m, op, -1, 0};
	pthread_t t;
	pthread_create(&t, NULL, job_main, &j);
	pthread_join(t, NULL);
	return j.rc;
}

static void test_busy_from_other_thread(void)
{
	weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_OK);
	CHECK_STATUS(run_job(&m, 0), WEFT_EBUSY);
	CHECK_STATUS(run_job(&m, 2), WEFT_ETIMEDOUT);
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
	CHECK_STATUS(run_job(&m, 0), WEFT_OK);
}

static void *unlock_not_held(void *arg)
{
	*(int *)((void **)arg)[1] = weft_robust_mutex_unlock(((void **)arg)[0]);
	return NULL;
}

static void test_unlock_not_held(void)
{
#ifndef WEFT_DEBUG
	weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_EINVAL);
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_OK);
	int rc = -1;
	void *args[2] = {&m, &rc};
	pthread_t t;
	pthread_create(&t, NULL, unlock_not_held, args);
	pthread_join(t, NULL);
	CHECK_STATUS(rc, WEFT_EINVAL);
	CHECK_STATUS(run_job(&m, 0), WEFT_EBUSY); /* still held by us */
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
#else
	(void)unlock_not_held;
#endif
}

/* A holder thread exits: the next locker (try, lock, timed) gets EOWNERDEAD. */
static void test_thread_exit_holding(void)
{
	NOT_UNDER_TSAN();
	for (int op = 0; op < 4; op++) {
		if (op == 2)
			continue; /* the past-deadline timed lock also works, but op 3 covers timed */
		weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
		CHECK_STATUS(run_job(&m, 4), WEFT_OK); /* exits holding */
		int rc;
		if (op == 0)
			rc = weft_robust_mutex_trylock(&m);
		else if (op == 1)
			rc = weft_robust_mutex_lock(&m);
		else {
			struct timespec dl = weft_deadline_after_ns(GENEROUS_NS);
			rc = weft_robust_mutex_timedlock(&m, &dl);
		}
		CHECK_STATUS(rc, WEFT_EOWNERDEAD);
		CHECK_STATUS(weft_robust_mutex_consistent(&m), WEFT_OK);
		CHECK_STATUS(weft_robust_mutex_consistent(&m), WEFT_EINVAL);
		CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
		CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_OK); /* healthy again */
		CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
	}
}

/* Unlock after EOWNERDEAD without consistent(): ENOTRECOVERABLE for all. */
static void test_not_recoverable(void)
{
	NOT_UNDER_TSAN();
	weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
	CHECK_STATUS(run_job(&m, 4), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_EOWNERDEAD);
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_ENOTRECOVERABLE);
	CHECK_STATUS(weft_robust_mutex_trylock(&m), WEFT_ENOTRECOVERABLE);
	struct timespec dl = weft_deadline_after_ns(GENEROUS_NS);
	CHECK_STATUS(weft_robust_mutex_timedlock(&m, &dl), WEFT_ENOTRECOVERABLE);
	CHECK_STATUS(run_job(&m, 1), WEFT_ENOTRECOVERABLE);
	CHECK_STATUS(weft_robust_mutex_init(&m, 0), WEFT_OK); /* init makes it new */
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
}

/* Sleepers are woken by ENOTRECOVERABLE, not left asleep. */

static void test_not_recoverable_wakes_sleepers(void)
{
	NOT_UNDER_TSAN();
	weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
	CHECK_STATUS(run_job(&m, 4), WEFT_OK);
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_EOWNERDEAD);
	struct job j[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		j[i] = (struct job){&m, i == 2 ? 3 : 1, -1, 0};
		pthread_create(&t[i], NULL, job_main, &j[i]);
	}
	for (int i = 0; i < 3; i++) {
		while (__atomic_load_n(&j[i].tid, __ATOMIC_ACQUIRE) == 0)
			usleep(100);
		check_wait_until_sleeping(getpid(), j[i].tid);
	}
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK); /* no consistent(): unrecoverable */
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK_STATUS(j[i].rc, WEFT_ENOTRECOVERABLE);
	}
}

/* A sleeping locker is woken when the holder thread exits. */
static void *hold_then_exit(void *arg)
{
	struct job *j = arg;
	j->rc = weft_robust_mutex_lock(j->m);
	__atomic_store_n(&j->tid, check_gettid(), __ATOMIC_RELEASE);
	/* wait until main sleeps on the mutex (op field is main's tid) */
	while (__atomic_load_n(&j->op, __ATOMIC_ACQUIRE) == 0)
		usleep(100);
	check_wait_until_sleeping(getpid(), j->op);
	return NULL;
}

static void test_sleeper_woken_by_death(void)
{
	NOT_UNDER_TSAN();
	for (int f = 0; f < N_FLAG_SETS; f++) {
		weft_robust_mutex_t m;
		CHECK_STATUS(weft_robust_mutex_init(&m, flag_sets[f]), WEFT_OK);
		struct job j = {&m, 0, -1, 0};
		pthread_t t;
		pthread_create(&t, NULL, hold_then_exit, &j);
		while (__atomic_load_n(&j.tid, __ATOMIC_ACQUIRE) == 0)
			usleep(100);
		__atomic_store_n(&j.op, check_gettid(), __ATOMIC_RELEASE);
		struct timespec dl = weft_deadline_after_ns(GENEROUS_NS);
		int rc = (f & 1) ? weft_robust_mutex_timedlock(&m, &dl) : weft_robust_mutex_lock(&m);
		CHECK_STATUS(rc, WEFT_EOWNERDEAD);
		CHECK_STATUS(weft_robust_mutex_consistent(&m), WEFT_OK);
		CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
		pthread_join(t, NULL);
	}
}

/* Many threads, one counter: mutual exclusion. */
struct count_arg {
	weft_robust_mutex_t *m;
	long *counter;
	int iters;
	int bad;
};

static void *count_main(void *arg)
{
	struct count_arg *a = arg;
	for (int i = 0; i < a->iters; i++) {
		struct timespec dl = weft_deadline_after_ns(GENEROUS_NS);
		int rc = (i % 3 == 0)	? weft_robust_mutex_trylock(a->m)
			 : (i % 3 == 1) ? weft_robust_mutex_lock(a->m)
					: weft_robust_mutex_timedlock(a->m, &dl);
		if (rc == WEFT_EBUSY) {
			i--;
			continue;
		}
		if (rc != WEFT_OK) {
			a->bad++;
			continue;
		}
		long v = *a->counter;
		*a->counter = v + 1;
		if (weft_robust_mutex_unlock(a->m) != WEFT_OK)
			a->bad++;
	}
	return NULL;
}

static void test_contention(void)
{
	weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
	long counter = 0;
	struct count_arg a[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct count_arg){&m, &counter, 20000, 0};
		pthread_create(&t[i], NULL, count_main, &a[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(a[i].bad, 0);
	}
	CHECK_EQ(counter, 4 * 20000);
}

/* ---- processes ------------------------------------------------------------ */

/* A child process locks and is SIGKILLed while holding; the parent, arriving
 * after the death or already asleep on the mutex, gets EOWNERDEAD. */
struct killer {
	pid_t child, sleeper;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	check_wait_until_sleeping(getpid(), k->sleeper);
	kill(k->child, SIGKILL);
	return NULL;
}

static void test_process_killed_holding(void)
{
	weft_robust_mutex_t *m = check_shared_alloc(4096);
	if (m == NULL) {
		check__fail();
		return;
	}
	uint32_t *go = (uint32_t *)(void *)((char *)m + 2048);
	for (int round = 0; round < 4; round++) {
		CHECK_STATUS(weft_robust_mutex_init(m, (round & 2) ? WEFT_PSHARED : WEFT_PSHARED | WEFT_ROBUST),
			     WEFT_OK);
		__atomic_store_n(go, 0u, __ATOMIC_RELAXED);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			int rc = weft_robust_mutex_lock(m);
			__atomic_store_n(go, rc == WEFT_OK ? 1u : 2u, __ATOMIC_RELEASE);
			for (;;)
				pause();
		}
		while (__atomic_load_n(go, __ATOMIC_ACQUIRE) == 0)
			usleep(100);
		CHECK_EQ(__atomic_load_n(go, __ATOMIC_ACQUIRE), 1);
		if ((round & 1) == 0) {
			kill(pid, SIGKILL); /* killed before anyone waits */
			CHECK_EQ(check_wait_child(pid), 1000 + SIGKILL);
			CHECK_STATUS(weft_robust_mutex_trylock(m), WEFT_EOWNERDEAD);
		} else {
			struct killer k = {pid, check_gettid()};
			pthread_t t;
			pthread_create(&t, NULL, killer_main, &k);
			CHECK_STATUS(weft_robust_mutex_lock(m), WEFT_EOWNERDEAD);
			pthread_join(t, NULL);
			CHECK_EQ(check_wait_child(pid), 1000 + SIGKILL);
		}
		CHECK_STATUS(weft_robust_mutex_consistent(m), WEFT_OK);
		CHECK_STATUS(weft_robust_mutex_unlock(m), WEFT_OK);
	}
	check_shared_free(m, 4096);
}

/* A fork()ed child's thread registers afresh and can lock (its tid is new). */
static void child_locks(void)
{
	static weft_robust_mutex_t m;
	if (weft_robust_mutex_lock(&m) != WEFT_OK || weft_robust_mutex_unlock(&m) != WEFT_OK)
		_exit(3);
	if (run_job(&m, 4) != WEFT_OK || weft_robust_mutex_lock(&m) != WEFT_EOWNERDEAD)
		_exit(4);
}

static void test_fork_child(void)
{
	NOT_UNDER_TSAN();
	weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_OK); /* registered before the fork */
	CHECK(check_child_runs_clean(child_locks));
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_OK);
}

/* ---- glibc's robust pthread mutexes in the same thread's list ------------- */

#define N_MIX 6 /* weft and pthread mutexes, alternately */

struct mix {
	weft_robust_mutex_t w[N_MIX];
	pthread_mutex_t p[N_MIX];
	unsigned seed;
	unsigned hold; /* bit i: die holding w[i]; bit N_MIX + i: p[i] */
	int bad;
};

static unsigned mix_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

/* Lock and unlock both kinds in random orders (each insertion and removal at
 * every place of the list), then exit holding the @hold set. */
static void *mix_main(void *arg)
{
	struct mix *x = arg;
	unsigned held = 0;
	for (int step = 0; step < 2000; step++) {
		unsigned i = mix_rand(&x->seed) % (2 * N_MIX);
		if (held & (1u << i)) {
			int rc = i < N_MIX ? weft_robust_mutex_unlock(&x->w[i]) : pthread_mutex_unlock(&x->p[i - N_MIX]);
			x->bad += rc != 0;
			held &= ~(1u << i);
		} else {
			/* take locks only in ascending order (the WEFT_DEBUG checker and
			 * TSan would rightly report anything else); they are released in
			 * any order, so entries leave the list from every place */
			if (held & ~((2u << i) - 1u))
				continue;
			int rc = i < N_MIX ? weft_robust_mutex_lock(&x->w[i]) : pthread_mutex_lock(&x->p[i - N_MIX]);
			x->bad += rc != 0;
			held |= 1u << i;
		}
	}
	/* Now hold exactly @hold: drop what is not wanted (in index order),
	 * then take what is missing (ascending, like the random phase). */
	for (unsigned i = 0; i < 2 * N_MIX; i++) {
		if (((held >> i) & 1u) && !((x->hold >> i) & 1u)) {
			int rc = i < N_MIX ? weft_robust_mutex_unlock(&x->w[i]) : pthread_mutex_unlock(&x->p[i - N_MIX]);
			x->bad += rc != 0;
			held &= ~(1u << i);
		}
	}
	for (unsigned i = 0; i < 2 * N_MIX; i++) {
		if (!((held >> i) & 1u) && ((x->hold >> i) & 1u)) {
			/* a higher lock is held: drop it first, keeping the order */
			for (unsigned j = i + 1; j < 2 * N_MIX; j++)
				if ((held >> j) & 1u) {
					x->bad += (j < N_MIX ? weft_robust_mutex_unlock(&x->w[j])
							     : pthread_mutex_unlock(&x->p[j - N_MIX])) != 0;
					held &= ~(1u << j);
				}
			int rc = i < N_MIX ? weft_robust_mutex_lock(&x->w[i]) : pthread_mutex_lock(&x->p[i - N_MIX]);
			x->bad += rc != 0;
			held |= 1u << i;
		}
	}
	if (held != x->hold) {
		fprintf(stderr, "  held %#x, wanted %#x\n", held, x->hold);
		x->bad++;
	}
	return NULL; /* exits holding x->hold */
}

static void test_glibc_coexistence(void)
{
	NOT_UNDER_TSAN();
	static struct mix x;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	for (unsigned trial = 0; trial < 40; trial++) {
		for (int i = 0; i < N_MIX; i++) {
			CHECK_STATUS(weft_robust_mutex_init(&x.w[i], 0), WEFT_OK);
			pthread_mutex_init(&x.p[i], &attr);
		}
		x.seed = 7919u * trial + 1;
		x.hold = trial == 0 ? (1u | 1u << N_MIX) : (mix_rand(&x.seed) & ((1u << 2 * N_MIX) - 1));
		x.bad = 0;
		pthread_t t;
		pthread_create(&t, NULL, mix_main, &x);
		pthread_join(t, NULL);
		CHECK_EQ(x.bad, 0);
		for (unsigned i = 0; i < 2 * N_MIX; i++) {
			bool died = (x.hold >> i) & 1u;
			int rc;
			if (i < N_MIX) {
				rc = weft_robust_mutex_trylock(&x.w[i]);
				CHECK_STATUS(rc, died ? WEFT_EOWNERDEAD : WEFT_OK);
				if (rc == WEFT_EOWNERDEAD)
					CHECK_STATUS(weft_robust_mutex_consistent(&x.w[i]), WEFT_OK);
				weft_robust_mutex_unlock(&x.w[i]);
			} else {
				rc = pthread_mutex_trylock(&x.p[i - N_MIX]);
				if (rc != (died ? EOWNERDEAD : 0)) {
					fprintf(stderr, "  trial %u: pthread mutex %u: trylock %d, expected %d\n", trial,
						i - N_MIX, rc, died ? EOWNERDEAD : 0);
					check__fail();
				}
				if (rc == EOWNERDEAD)
					pthread_mutex_consistent(&x.p[i - N_MIX]);
				if (rc == 0 || rc == EOWNERDEAD)
					pthread_mutex_unlock(&x.p[i - N_MIX]);
			}
		}
		for (int i = 0; i < N_MIX; i++)
			pthread_mutex_destroy(&x.p[i]);
	}
	pthread_mutexattr_destroy(&attr);
}

/* Where the kernel offers no robust futex list (qemu-user, which check-aarch64
 * runs under, implements none: glibc's robust mutexes do not report deaths
 * there either), every call says so. */
static void test_unsupported(void)
{
	weft_robust_mutex_t m = WEFT_ROBUST_MUTEX_INIT;
	CHECK_STATUS(weft_robust_mutex_init(&m, WEFT_PSHARED), WEFT_ENOTSUP);
	CHECK_STATUS(weft_robust_mutex_lock(&m), WEFT_ENOTSUP);
	CHECK_STATUS(weft_robust_mutex_trylock(&m), WEFT_ENOTSUP);
	struct timespec dl = weft_deadline_after_ns(1000);
	CHECK_STATUS(weft_robust_mutex_timedlock(&m, &dl), WEFT_ENOTSUP);
#ifndef WEFT_DEBUG
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_EINVAL);
#endif
	CHECK_EQ(m.word, 0);
}

int main(void)
{
	alarm(HANG_GUARD_S);
	weft_robust_mutex_t probe;
	if (weft_robust_mutex_init(&probe, 0) == WEFT_ENOTSUP) {
		printf("SKIP the robust mutex's behaviour: this system has no robust futex list (WEFT_ENOTSUP)\n");
		RUN_TEST(test_footprint);
		RUN_TEST(test_unsupported);
		return check_summary();
	}
	RUN_TEST(test_footprint);
	RUN_TEST(test_init_flags);
	RUN_TEST(test_zero_and_try);
	RUN_TEST(test_busy_from_other_thread);
	RUN_TEST(test_unlock_not_held);
	RUN_TEST(test_thread_exit_holding);
	RUN_TEST(test_not_recoverable);
	RUN_TEST(test_not_recoverable_wakes_sleepers);
	RUN_TEST(test_sleeper_woken_by_death);
	RUN_TEST(test_contention);
	RUN_TEST(test_process_killed_holding);
	RUN_TEST(test_fork_child);
	RUN_TEST(test_glibc_coexistence);
	return check_summary();
}
