/* SPDX-License-Identifier: MIT */
/*
 * stress_mutex.c - weft_mutex_t under ThreadSanitizer.
 *
 * Six phases, each a sixth of --seconds:
 *  1. process-shared: 2-4 processes (fork() over MAP_SHARED memory, before any
 *     worker thread exists) increment one plain counter under one WEFT_PSHARED
 *     mutex, with lock, trylock and timedlock mixed;
 *  2. threads on a private mutex with the default spin: lock, trylock and
 *     timedlock (generous deadline: it must succeed) mixed;
 *  3. threads on a WEFT_PSHARED-flagged mutex with the spin set to 0, so
 *     that every contended locker sleeps in the kernel (the shared futex
 *     flavour, and the wake path on almost every unlock);
 *  4. timed lock under contention: every acquisition is a timedlock with a
 *     short deadline (some already past), holders sometimes sleep in the
 *     critical section, so both outcomes happen; a timeout must come only
 *     after its deadline;
 *  5. hand-off: a WEFT_FIFO mutex (every unlock with a registered sleeper
 *     hands off), lock, trylock, timedlock with short deadlines (timed
 *     waiters give up while hand-offs are in flight: a hand-off must be
 *     taken, never dropped) and weft_mutex_unlock_fair() mixed;
 *  6. the same on a plain mutex with the fairness bound at 0 and the spin at
 *     0, so that woken sleepers turn starving at once and most unlocks hand
 *     off.
 * In every critical section: a plain `owner` variable must be free on entry
 * and still ours after a little work, and a plain counter is incremented; at
 * the end of each phase the counter must equal the acquisitions (lost wake-ups
 * show up as a hang that the harness's watchdog reports).
 */
#include <sched.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "stress.h"
#include "weft/weft.h"

#define GENEROUS_NS (60ull * 1000 * 1000 * 1000)
#define N_PHASES 6
#define MAX_PROCS 4

/* ---- the critical section every phase runs -------------------------------- */

struct guarded {
	weft_mutex_t m;
	char pad[WEFT_CACHE_LINE - sizeof(weft_mutex_t)];
	unsigned long long counter; /* plain, guarded by m */
	unsigned owner;             /* plain, guarded by m */
};

/* Called with g->m held. */
static void critical_section(const struct stress_opts *o, struct guarded *g, unsigned me, uint64_t r, int sleepy)
{
	if (stress_violated(g->owner != 0))
		stress_fail(o, "%u entered while %u was inside", me, g->owner);
	g->owner = me;
	g->counter++;
	unsigned work = (unsigned)(r >> 8) % 64;
	for (volatile unsigned i = 0; i < work; i++)
		;
	if ((r >> 16) % 256 == 0)
		sched_yield(); /* be preempted while holding it now and then */
	if (sleepy && (r >> 24) % 32 == 0) {
		struct timespec nap = {0, 50 * 1000}; /* make timed waiters give up */
		nanosleep(&nap, NULL);
	}
	if (stress_violated(g->owner != me))
		stress_fail(o, "%u found %u inside its critical section", me, g->owner);
	g->owner = 0;
}

/* The mixed acquisition of phases 1-3.  Return: whether we got the lock. */
static bool take_mixed(const struct stress_opts *o, weft_mutex_t *m, uint64_t r, unsigned long long *try_failed)
{
	switch (r % 4) {
	case 0:
		if (weft_mutex_trylock(m))
			return true;
		(*try_failed)++;
		return false;
	case 1: {
		struct timespec d = weft_deadline_after_ns(GENEROUS_NS);
		int rc = weft_mutex_timedlock(m, &d);
		if (stress_violated(rc != WEFT_OK))
			stress_fail(o, "timedlock with a %llu s deadline returned %d (%s): lost wake-up?",
				    GENEROUS_NS / 1000000000ull, rc, weft_strerror(rc));
		return true;
	}
	default:
		weft_mutex_lock(m);
		return true;
	}
}

/* ---- phase 1: processes ---------------------------------------------------- */

struct proc_area {
	struct guarded g;
	unsigned long long ops[MAX_PROCS];
	unsigned long long try_failed[MAX_PROCS];
};

static void proc_main(const struct stress_opts *phase, struct proc_area *a, unsigned idx, uint64_t seed)
{
	unsigned me = (unsigned)getpid();
	uint64_t rng = seed;
	unsigned long long ops = 0, try_failed = 0;
	/* do-while: every thread makes one batch of attempts however late the
	 * scheduler starts it, so "nobody ever got the lock" means a broken
	 * lock (or a hang the watchdog ends), never a slow start on a loaded machine */
	do {
		for (int batch = 0; batch < 64; batch++) {
			uint64_t r = stress_rand(&rng);
			if (!take_mixed(phase, &a->g.m, r, &try_failed))
				continue;
			critical_section(phase, &a->g, me, r, 0);
			weft_mutex_unlock(&a->g.m);
			ops++;
		}
	} while (!stress_phase_over());
	a->ops[idx] = ops;
	a->try_failed[idx] = try_failed;
}

static unsigned long long phase_processes(const struct stress_opts *o, const struct stress_opts *phase,
					  unsigned *nprocs)
{
	unsigned n = o->threads < 2 ? 2 : o->threads > MAX_PROCS ? MAX_PROCS : o->threads;
	*nprocs = n;
	struct proc_area *a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		stress_fail(o, "mmap(MAP_SHARED) failed");
	if (weft_mutex_init(&a->g.m, WEFT_PSHARED) != WEFT_OK)
		stress_fail(o, "weft_mutex_init(WEFT_PSHARED) failed");
	pid_t pids[MAX_PROCS];
	stress_phase_begin(phase->seconds);
	for (unsigned i = 0; i < n; i++) {
		fflush(stdout);
		fflush(stderr);
		pids[i] = fork();
		if (pids[i] < 0)
			stress_fail(o, "fork failed");
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan if the parent's watchdog fires */
			proc_main(phase, a, i, o->seed * 0x9E3779B97F4A7C15ull + 1000 + i);
			_exit(0);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) != pids[i])
			stress_fail(o, "waitpid failed");
		if (stress_violated(!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			stress_fail(o, "processes: child %u %s %d", i, WIFEXITED(status) ? "exited with" : "killed by signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	unsigned long long ops = 0;
	for (unsigned i = 0; i < n; i++)
		ops += a->ops[i];
	if (stress_violated(a->g.counter != ops))
		stress_fail(o, "processes: counter %llu != %llu acquisitions (lost updates)", a->g.counter, ops);
	if (stress_violated(ops == 0))
		stress_fail(o, "processes: no process ever got the mutex");
	if (stress_violated(!weft_mutex_trylock(&a->g.m)))
		stress_fail(o, "processes: mutex still held after every process left");
	weft_mutex_unlock(&a->g.m);
	weft_mutex_destroy(&a->g.m);
	munmap(a, sizeof(*a));
	return ops;
}

/* ---- phases 2-4: threads --------------------------------------------------- */

static struct guarded g WEFT_ALIGNED(WEFT_CACHE_LINE);

struct worker {
	const struct stress_opts *phase;
	int timed_only; /* phase 4 */
	int hand_off;   /* phases 5-6: short timed locks mixed in, unlock_fair half the time */
	unsigned id;
	uint64_t rng;
	unsigned long long ops, try_failed, timeouts;
} WEFT_ALIGNED(WEFT_CACHE_LINE);

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	/* do-while: every thread makes one batch of attempts however late the
	 * scheduler starts it, so "nobody ever got the lock" means a broken
	 * lock (or a hang the watchdog ends), never a slow start on a loaded machine */
	do {
		for (int batch = 0; batch < 64; batch++) {
			uint64_t r = stress_rand(&w->rng);
			if (w->timed_only || (w->hand_off && r % 3 == 0)) {
				/* a quarter already past, the rest 0-200 us ahead */
				struct timespec d = {0, 0};
				if (r % 4 != 0)
					d = weft_deadline_after_ns((r >> 32) % (200 * 1000));
				int rc = weft_mutex_timedlock(&g.m, &d);
				if (rc == WEFT_ETIMEDOUT) {
					if (stress_violated(!weft_deadline_passed(&d)))
						stress_fail(w->phase, "timedlock: WEFT_ETIMEDOUT before the deadline");
					w->timeouts++;
					continue;
				}
				if (stress_violated(rc != WEFT_OK))
					stress_fail(w->phase, "timedlock returned %d (%s)", rc, weft_strerror(rc));
			} else if (!take_mixed(w->phase, &g.m, r, &w->try_failed)) {
				continue;
			}
			critical_section(w->phase, &g, w->id, r, w->timed_only || w->hand_off);
			if (w->hand_off && (r >> 40) % 2)
				weft_mutex_unlock_fair(&g.m);
			else
				weft_mutex_unlock(&g.m);
			w->ops++;
		}
	} while (!stress_phase_over());
	return NULL;
}

struct phase_result {
	unsigned long long ops, try_failed, timeouts;
};

static struct phase_result phase_threads(const struct stress_opts *o, const struct stress_opts *phase,
					 unsigned flags, unsigned spin, int timed_only, int hand_off, const char *name)
{
	struct phase_result res = {0, 0, 0};
	if (weft_mutex_init(&g.m, flags) != WEFT_OK)
		stress_fail(o, "%s: weft_mutex_init failed", name);
	g.counter = 0;
	g.owner = 0;
	unsigned old_spin = weft_mutex_set_spin(spin);
	struct worker *workers = calloc(o->threads, sizeof(*workers));
	if (!workers)
		stress_fail(o, "out of memory");
	for (unsigned i = 0; i < o->threads; i++) {
		workers[i].phase = phase;
		workers[i].timed_only = timed_only;
		workers[i].hand_off = hand_off;
		workers[i].id = i + 1;
		workers[i].rng = o->seed * 0x9E3779B97F4A7C15ull + (uint64_t)timed_only * 7919 + spin + i + 1;
	}
	stress_phase_begin(phase->seconds);
	stress_run_threads(o->threads, worker_main, workers, sizeof(*workers));
	weft_mutex_set_spin(old_spin);
	for (unsigned i = 0; i < o->threads; i++) {
		res.ops += workers[i].ops;
		res.try_failed += workers[i].try_failed;
		res.timeouts += workers[i].timeouts;
	}
	free(workers);
	if (stress_violated(g.counter != res.ops))
		stress_fail(o, "%s: counter %llu != %llu acquisitions (lost updates)", name, g.counter, res.ops);
	if (stress_violated(res.ops == 0))
		stress_fail(o, "%s: no thread ever got the mutex", name);
	if (stress_violated(!weft_mutex_trylock(&g.m)))
		stress_fail(o, "%s: mutex still held after every thread left", name);
	weft_mutex_unlock(&g.m);
	weft_mutex_destroy(&g.m);
	return res;
}

int main(int argc, char **argv)
{
	struct stress_opts o = stress_parse(argc, argv, "stress_mutex");
	struct stress_opts phase = o;
	phase.seconds = o.seconds / N_PHASES;

	unsigned nprocs;
	unsigned long long proc_ops = phase_processes(&o, &phase, &nprocs);
	struct phase_result mixed = phase_threads(&o, &phase, 0, WEFT_MUTEX_SPIN_DEFAULT, 0, 0, "threads");
	struct phase_result sleepy = phase_threads(&o, &phase, WEFT_PSHARED, 0, 0, 0, "threads, pshared, spin 0");
	struct phase_result timed = phase_threads(&o, &phase, 0, WEFT_MUTEX_SPIN_DEFAULT, 1, 0, "timed");
	struct phase_result fifo = phase_threads(&o, &phase, WEFT_FIFO, WEFT_MUTEX_SPIN_DEFAULT, 0, 1, "fifo hand-off");
	uint64_t old_bound = weft_mutex_set_fair_bound(0);
	struct phase_result starving = phase_threads(&o, &phase, 0, 0, 0, 1, "bound 0 hand-off");
	weft_mutex_set_fair_bound(old_bound);

	stress_pass(&o, proc_ops + mixed.ops + sleepy.ops + timed.ops + fifo.ops + starving.ops,
		    "processes=%u:%llu threads:%llu spin0-pshared:%llu timed:%llu ok/%llu timeouts "
		    "fifo:%llu ok/%llu timeouts bound0:%llu ok/%llu timeouts "
		    "trylock_failed=%llu; checked: plain counter, owner, timeouts after deadline",
		    nprocs, proc_ops, mixed.ops, sleepy.ops, timed.ops, timed.timeouts, fifo.ops, fifo.timeouts,
		    starving.ops, starving.timeouts, mixed.try_failed + sleepy.try_failed);
	return 0;
}
