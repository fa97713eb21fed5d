/* SPDX-License-Identifier: MIT */
/*
 * test_dead_peer.c - process-shared objects and a peer that died holding
 * nothing (issue 14; make crashtest finds these at random, each test here
 * sets up the one state a death left, deterministically).  Each failed before
 * its fix by hanging; the 60 s deadlines only detect that.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "wait.h" /* weft__wake(): frees a stuck sleeper when a test fails */
#include "weft/weft.h"

#define HANG_GUARD_S 300
#define GENEROUS_NS (60ull * 1000 * 1000 * 1000)

/* ---- mpmc: a polling consumer killed with WEFT_MPMC_SPINNING set ---------- */

struct popper {
	weft_mpmc_t *q;
	pid_t tid;
	int done;
	void *got;
};

static void *popper_main(void *arg)
{
	struct popper *p = arg;
	__atomic_store_n(&p->tid, check_gettid(), __ATOMIC_RELEASE);
	if (weft_mpmc_pop(p->q, &p->got) == WEFT_OK)
		__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_mpmc_dead_poller(void)
{
	size_t bytes = weft_mpmc_bytes(8);
	void *mem = check_shared_alloc(bytes);
	weft_mpmc_t *q = weft_mpmc_init_at(mem, 8, WEFT_PSHARED);
	CHECK(q != NULL);
	if (q == NULL)
		return;
	weft_mpmc_set_spin(0); /* the live popper below sleeps at once */
	struct popper p = {q, 0, 0, NULL};
	pthread_t t;
	pthread_create(&t, NULL, popper_main, &p);
	while (__atomic_load_n(&p.tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), p.tid);
	/* a consumer in another process started polling, then was killed */
	__atomic_fetch_or(&q->pop_sleepers, WEFT_MPMC_SPINNING, __ATOMIC_SEQ_CST);
	CHECK(weft_mpmc_try_push(q, (void *)(uintptr_t)42));
	struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
	while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang))
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&p.done, __ATOMIC_ACQUIRE), 1);
	if (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE))
		weft_mpmc_close(q); /* frees a stuck popper */
	pthread_join(t, NULL);
	CHECK_EQ((uintptr_t)p.got, 42);
	weft_mpmc_set_spin(WEFT_MPMC_SPIN_DEFAULT);
	weft_mpmc_destroy(q);
	check_shared_free(mem, bytes);
}

/* ---- robust mutex: a woken waiter killed before it took the word --------- */

struct rsleeper {
	weft_robust_mutex_t *m;
	pid_t tid;
	int done;
};

static void *rsleeper_main(void *arg)
{
	struct rsleeper *r = arg;
	__atomic_store_n(&r->tid, check_gettid(), __ATOMIC_RELEASE);
	if (weft_robust_mutex_lock(r->m) == WEFT_OK) {
		__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
		(void)weft_robust_mutex_unlock(r->m);
	}
	return NULL;
}

/*
 * An unlock wakes one sleeper; if that one's process dies before it takes the
 * word, and another locker took the word meanwhile (so the kernel's re-wake
 * for a dying pending locker does not fire), the other sleepers sleep on.
 * Simulated: WAITERS is cleared (the wake was spent on the dead one), then the
 * holder unlocks without a wake and locks and unlocks again.
 */
static void test_robust_dead_wakee(void)
{
	weft_robust_mutex_t *m = check_shared_alloc(sizeof(*m));
	if (weft_robust_mutex_init(m, WEFT_PSHARED) == WEFT_ENOTSUP) {
		check_shared_free(m, sizeof(*m));
		return; /* no robust futex list here (qemu-user): test_robust.c checks WEFT_ENOTSUP */
	}
	CHECK_STATUS(weft_robust_mutex_lock(m), WEFT_OK);
	struct rsleeper r = {m, 0, 0};
	pthread_t t;
	pthread_create(&t, NULL, rsleeper_main, &r);
	while (__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), r.tid);
	__atomic_fetch_and(&m->word, ~WEFT_ROBUST_WAITERS, __ATOMIC_SEQ_CST);
	CHECK_STATUS(weft_robust_mutex_unlock(m), WEFT_OK);
	struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang)) {
		if (weft_robust_mutex_trylock(m) == WEFT_OK)
			(void)weft_robust_mutex_unlock(m);
		usleep(1000);
	}
	CHECK_EQ(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE), 1);
	if (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
		CHECK_STATUS(weft_robust_mutex_lock(m), WEFT_OK); /* free the sleeper */
		__atomic_fetch_or(&m->word, WEFT_ROBUST_WAITERS, __ATOMIC_SEQ_CST);
		(void)weft_robust_mutex_unlock(m);
	}
	pthread_join(t, NULL);
	check_shared_free(m, sizeof(*m));
}

/* ---- rwlock: the queue head killed while it waited ------------------------ */

/* A thread id that existed and is gone: a child process that exited. */
static pid_t dead_id(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	(void)check_wait_child(pid);
	return pid;
}

struct rwjob {
	weft_rwlock_t *rw;
	int write;
	int done;
};

static void *rwjob_main(void *arg)
{
	struct rwjob *j = arg;
	if (j->write) {
		weft_rwlock_wrlock(j->rw);
		weft_rwlock_wrunlock(j->rw);
	} else {
		weft_rwlock_rdlock(j->rw);
		weft_rwlock_rdunlock(j->rw);
	}
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A writer queued behind a reader, became the head, set WAITING and PARKED,
 * and its process was killed; the reader left.  State: R = 0, WAITING,
 * PARKED, the queue held by the dead head.  Readers and writers must get in,
 * blocking or trying (make crashtest found the try loops: 5 in 1000 kills).
 */
static void test_rwlock_dead_head(void)
{
	weft_rwlock_t *rw = check_shared_alloc(sizeof(*rw));
	CHECK_STATUS(weft_rwlock_init(rw, WEFT_PSHARED), WEFT_OK);
	/* how the survivor comes: 0 rdlock, 1 wrlock (both queue and sleep),
	 * 2 tryrdlock, 3 trywrlock (a try loop never queues) */
	for (int how = 0; how < 4; how++) {
		uint32_t dead = (uint32_t)dead_id();
		__atomic_store_n(&rw->queue, (dead << 2) | (how < 2 ? 2u : 1u), __ATOMIC_RELAXED);
		__atomic_fetch_or(&rw->state, WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED, __ATOMIC_RELAXED);
		if (how >= 2) {
			bool got = how == 2 ? weft_rwlock_tryrdlock(rw) : weft_rwlock_trywrlock(rw);
			CHECK(got);
			if (got && how == 2)
				weft_rwlock_rdunlock(rw);
			else if (got)
				weft_rwlock_wrunlock(rw);
			if (!got) {
				__atomic_fetch_and(&rw->state, ~(WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED), __ATOMIC_RELAXED);
				__atomic_store_n(&rw->queue, 0u, __ATOMIC_RELEASE);
			}
			continue;
		}
		struct rwjob j = {rw, how, 0};
		pthread_t t;
		pthread_create(&t, NULL, rwjob_main, &j);
		struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
		while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang))
			usleep(1000);
		CHECK_EQ(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE), 1);
		if (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE)) {
			/* free the stuck thread so the program can end */
			__atomic_fetch_and(&rw->state, ~(WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED), __ATOMIC_RELAXED);
			__atomic_store_n(&rw->queue, 0u, __ATOMIC_RELEASE);
			weft_rwlock_wrlock(rw);
			weft_rwlock_wrunlock(rw);
		}
		pthread_join(t, NULL);
		CHECK(weft_rwlock_tryrdlock(rw));
		weft_rwlock_rdunlock(rw);
	}
	CHECK_EQ(__atomic_load_n(&rw->queue, __ATOMIC_RELAXED), 0);
	check_shared_free(rw, sizeof(*rw));
}

/* ---- brlock: a writer killed while it swept the reader slots -------------- */

struct brjob {
	weft_brlock_t *br;
	int write;
	int done;
	int holding; /* the writer holds the lock (main then checks exclusion) */
	int release; /* main says: let it go */
};

static void *brjob_main(void *arg)
{
	struct brjob *j = arg;
	if (j->write) {
		weft_brlock_wrlock(j->br);
		__atomic_store_n(&j->holding, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&j->release, __ATOMIC_ACQUIRE))
			usleep(1000);
		weft_brlock_wrunlock(j->br);
	} else {
		weft_brlock_rdlock(j->br);
		weft_brlock_rdunlock(j->br);
	}
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A writer took the writers' mutex, set ACTIVE (with TRY and a reader's VETO,
 * for a trywrlock) and was killed while it swept: readers wait on ACTIVE and
 * writers on the mutex, though nobody holds the lock.  A reader (blocking or
 * trying) or a writer must take its place.  A writer that had finished its
 * sweep (the mutex sealed) keeps the lock: nobody takes it over.
 */
static void test_brlock_dead_sweeper(void)
{
	weft_brlock_t *br = check_shared_alloc(sizeof(*br));
	CHECK_STATUS(weft_brlock_init(br, WEFT_PSHARED), WEFT_OK);
	for (int how = 0; how < 4; how++) { /* 0 rdlock, 1 wrlock, 2 tryrdlock, 3 sealed */
		uint32_t dead = how == 3 ? 0x3fffffffu : (uint32_t)dead_id();
		__atomic_store_n(&br->wlock, (dead << 2) | 1u, __ATOMIC_RELAXED);
		__atomic_fetch_or(&br->writer, WEFT_BRLOCK_ACTIVE | (how == 1 ? WEFT_BRLOCK_TRY | WEFT_BRLOCK_VETO : 0u),
				  __ATOMIC_SEQ_CST);
		if (how >= 2) {
			bool got = weft_brlock_tryrdlock(br);
			CHECK_EQ(got, how == 2);
			if (got)
				weft_brlock_rdunlock(br);
			if (how == 3) { /* the sealed holder keeps it; clean up by hand */
				CHECK_EQ(__atomic_load_n(&br->wlock, __ATOMIC_RELAXED), (dead << 2) | 1u);
				__atomic_store_n(&br->writer, WEFT_BRLOCK_PSHARED_BIT, __ATOMIC_RELEASE);
				__atomic_store_n(&br->wlock, 0u, __ATOMIC_RELEASE);
			}
			continue;
		}
		struct brjob j = {br, how, 0, 0, 0};
		pthread_t t;
		pthread_create(&t, NULL, brjob_main, &j);
		struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
		while (!__atomic_load_n(how ? &j.holding : &j.done, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang))
			usleep(1000);
		CHECK_EQ(__atomic_load_n(how ? &j.holding : &j.done, __ATOMIC_ACQUIRE), 1);
		if (how == 1 && __atomic_load_n(&j.holding, __ATOMIC_ACQUIRE))
			CHECK(!weft_brlock_tryrdlock(br)); /* the dead one's TRY is gone: no veto, exclusion holds */
		if (!__atomic_load_n(how ? &j.holding : &j.done, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&br->writer, WEFT_BRLOCK_PSHARED_BIT, __ATOMIC_RELEASE);
			__atomic_store_n(&br->wlock, 0u, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&j.release, 1, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
	}
	CHECK(weft_brlock_tryrdlock(br));
	weft_brlock_rdunlock(br);
	CHECK(weft_brlock_trywrlock(br));
	weft_brlock_wrunlock(br);
	CHECK_EQ(__atomic_load_n(&br->wlock, __ATOMIC_RELAXED), 0);
	check_shared_free(br, sizeof(*br));
}

/* ---- sem: a poster killed between its increment and its wake-up call ----- */

struct semjob {
	weft_sem_t *sem;
	pid_t tid;
	int done;
};

static void *semjob_main(void *arg)
{
	struct semjob *j = arg;
	__atomic_store_n(&j->tid, check_gettid(), __ATOMIC_RELEASE);
	weft_sem_wait(j->sem);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_sem_dead_poster(void)
{
	weft_sem_t *sem = check_shared_alloc(sizeof(*sem));
	CHECK_STATUS(weft_sem_init(sem, 0, WEFT_PSHARED), WEFT_OK);
	unsigned old_spin = weft_sem_set_spin(0);
	struct semjob j = {sem, 0, 0};
	pthread_t t;
	pthread_create(&t, NULL, semjob_main, &j);
	while (__atomic_load_n(&j.tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), j.tid);
	/* the dead poster's increment, and no wake-up call */
	__atomic_fetch_add(&sem->value, 1u, __ATOMIC_SEQ_CST);
	struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang))
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE), 1);
	if (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		(void)!weft_sem_post(sem); /* wakes the stuck waiter */
	pthread_join(t, NULL);
	weft_sem_set_spin(old_spin);
	check_shared_free(sem, sizeof(*sem));
}

/* ---- rwlock: the last reader killed between its decrement and its wake ---- */

struct rdhold {
	weft_rwlock_t *rw;
	int go;
};

static void *reader_dies_in_unlock(void *arg)
{
	struct rdhold *h = arg;
	weft_rwlock_rdlock(h->rw);
	__atomic_store_n(&h->go, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&h->go, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);
	/* rdunlock's decrement without its wake-up call: the reader's process
	 * died between the two */
	__atomic_fetch_sub(&h->rw->state, 1u, __ATOMIC_RELEASE);
	return NULL;
}

struct wrjob {
	weft_rwlock_t *rw;
	pid_t tid;
	int done;
};

static void *writer_head(void *arg)
{
	struct wrjob *j = arg;
	__atomic_store_n(&j->tid, check_gettid(), __ATOMIC_RELEASE);
	weft_rwlock_wrlock(j->rw);
	weft_rwlock_wrunlock(j->rw);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_rwlock_dead_reader_wake(void)
{
	weft_rwlock_t *rw = check_shared_alloc(sizeof(*rw));
	CHECK_STATUS(weft_rwlock_init(rw, WEFT_PSHARED), WEFT_OK);
	unsigned old_spin = weft_rwlock_set_spin(0);
	struct rdhold h = {rw, 0};
	pthread_t r, w;
	pthread_create(&r, NULL, reader_dies_in_unlock, &h);
	while (__atomic_load_n(&h.go, __ATOMIC_ACQUIRE) != 1)
		usleep(100);
	struct wrjob j = {rw, 0, 0};
	pthread_create(&w, NULL, writer_head, &j);
	while (__atomic_load_n(&j.tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	/* the writer parks on the state word (PARKED) once it heads the queue */
	struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
	while (!(__atomic_load_n(&rw->state, __ATOMIC_RELAXED) & WEFT_RWLOCK_PARKED) && !weft_deadline_passed(&hang))
		usleep(100);
	(void)check_wait_until_sleeping(getpid(), j.tid);
	__atomic_store_n(&h.go, 2, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang))
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE), 1);
	if (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		weft__wake(&rw->state, 1, WEFT_PSHARED); /* the missing wake-up call */
	pthread_join(w, NULL);
	weft_rwlock_set_spin(old_spin);
	check_shared_free(rw, sizeof(*rw));
}

/* ---- cond: a notifier killed between its increment and its wake-up call --- */

struct condjob {
	weft_mutex_t *m;
	weft_cond_t *c;
	int *ready;
	pid_t tid;
	int done;
};

static void *condjob_main(void *arg)
{
	struct condjob *j = arg;
	__atomic_store_n(&j->tid, check_gettid(), __ATOMIC_RELEASE);
	weft_mutex_lock(j->m);
	while (!*j->ready)
		weft_cond_wait(j->c, j->m);
	weft_mutex_unlock(j->m);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_cond_dead_notifier(void)
{
	struct shm {
		weft_mutex_t m;
		weft_cond_t c;
		int ready;
	} *sh = check_shared_alloc(sizeof(*sh));
	CHECK_STATUS(weft_mutex_init(&sh->m, WEFT_PSHARED), WEFT_OK);
	CHECK_STATUS(weft_cond_init(&sh->c, WEFT_PSHARED), WEFT_OK);
	unsigned old_spin = weft_cond_set_spin(0);
	struct condjob j = {&sh->m, &sh->c, &sh->ready, 0, 0};
	pthread_t t;
	pthread_create(&t, NULL, condjob_main, &j);
	while (__atomic_load_n(&j.tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	(void)check_wait_until_sleeping(getpid(), j.tid);
	weft_mutex_lock(&sh->m);
	sh->ready = 1;
	weft_mutex_unlock(&sh->m);
	/* the dead notifier's increment of seq, and no wake-up call */
	__atomic_fetch_add(&sh->c.seq, 1u, __ATOMIC_SEQ_CST);
	struct timespec hang = weft_deadline_after_ns(GENEROUS_NS);
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) && !weft_deadline_passed(&hang))
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE), 1);
	if (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		weft_cond_broadcast(&sh->c);
	pthread_join(t, NULL);
	weft_cond_set_spin(old_spin);
	check_shared_free(sh, sizeof(*sh));
}

int main(void)
{
	alarm(HANG_GUARD_S);
	RUN_TEST(test_mpmc_dead_poller);
	RUN_TEST(test_robust_dead_wakee);
	RUN_TEST(test_rwlock_dead_head);
	RUN_TEST(test_brlock_dead_sweeper);
	RUN_TEST(test_sem_dead_poster);
	RUN_TEST(test_rwlock_dead_reader_wake);
	RUN_TEST(test_cond_dead_notifier);
	return check_summary();
}
