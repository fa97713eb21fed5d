/* SPDX-License-Identifier: MIT */
/*
 * r17_crashed_holder.c - R17: the flash sale's stock lock, and a worker that
 * dies holding it.
 *
 * R4 fixed the oversold stock with a WEFT_PSHARED lock around the check and
 * the act.  The articles' version is a Redis lock with `timeout=10`, which
 * exists so that a crashed worker cannot hold the lock for ever.  Here the 4
 * worker processes sell STOCK units under a process-shared lock, and worker 0
 * is killed (SIGKILL: no cleanup, no unlock) on its first sale, inside the
 * critical section, after it took the unit off the stock and before it wrote
 * the order: the shared data is half-changed, and the lock is held by a dead
 * process.
 *
 *   plain-mutex  a weft_mutex_t: the survivors wait for a lock nobody will
 *                ever release.  They use weft_mutex_timedlock() with a
 *                watchdog deadline (--watchdog-ms) only so that the program
 *                ends: a weft_mutex_lock() would sleep for ever.  Wrong: the
 *                survivors hung, and the unit the dead worker took is lost.
 *   robust       a weft_robust_mutex_t: the next worker's lock returns
 *                WEFT_EOWNERDEAD (the kernel's robust-futex list reports the
 *                death at the dead process's exit, not a timeout); it repairs
 *                the stock from the orders written (stock = STOCK - sold),
 *                calls weft_robust_mutex_consistent() and sells on.  Correct:
 *                every unit sold exactly once, nobody hung; the line shows
 *                how long after the death the report came.
 *
 * ThreadSanitizer cannot see a race or a death between processes (each
 * process has its own TSan), so neither mode is in a TSan list; the evidence
 * is the watchdog and the numbers.  docs/processes.md has the mechanism.
 */
#include "lab.h"

#include <signal.h>
#include <sys/wait.h>

#include <weft/deadline.h>
#include <weft/mutex.h>
#include <weft/robust.h>

#define STOCK 20
#define DIE_ON_SALE 1 /* worker 0 dies in its first sale; the others start once it holds the lock */

static long watchdog_ms = 500;

static const struct lab_flag flags[] = {
	{ "watchdog-ms", "plain-mutex: how long a survivor waits before it says it hung", &watchdog_ms, 1, 60000 },
};

struct shared {
	long stock;                  /* under the lock */
	long sold[1024];             /* orders written: only worker i writes sold[i], under the lock */
	weft_mutex_t mutex;          /* WEFT_PSHARED */
	weft_robust_mutex_t robust;  /* WEFT_PSHARED | WEFT_ROBUST */
	int use_robust;
	int hung[1024];              /* plain-mutex: the watchdog fired for worker i */
	int repairs;                 /* robust: WEFT_EOWNERDEAD seen */
	long repaired_from, repaired_to; /* the stock the dead worker left, and the recount */
	uint64_t died_ns, report_ns; /* worker 0 about to die; the death reported */
	int w0_in;                   /* worker 0 holds the lock: the others may start */
};

static int lock(struct shared *s, int index)
{
	if (!s->use_robust) {
		struct timespec watchdog = weft_deadline_after_ns((uint64_t)watchdog_ms * 1000000u);
		if (weft_mutex_timedlock(&s->mutex, &watchdog) != WEFT_OK) {
			s->hung[index] = 1; /* a weft_mutex_lock() would never return */
			return -1;
		}
		return 0;
	}
	int rc = weft_robust_mutex_lock(&s->robust);
	if (rc == WEFT_EOWNERDEAD) {
		/* The holder died inside: the stock may be one unit short of the
		 * orders.  The orders are the truth: recount. */
		s->report_ns = lab_now_ns();
		s->repairs++;
		s->repaired_from = s->stock;
		long sold = 0;
		for (int i = 0; i < 1024; i++)
			sold += s->sold[i];
		s->stock = STOCK - sold;
		s->repaired_to = s->stock;
		if (weft_robust_mutex_consistent(&s->robust) != WEFT_OK)
			return -1;
		return 0;
	}
	return rc == WEFT_OK ? 0 : -1;
}

static void unlock(struct shared *s)
{
	if (s->use_robust)
		(void)weft_robust_mutex_unlock(&s->robust);
	else
		weft_mutex_unlock(&s->mutex);
}

static void worker(struct shared *s, int index)
{
	/* relaxed: only a start signal; the lock orders the data */
	while (index != 0 && !__atomic_load_n(&s->w0_in, __ATOMIC_RELAXED))
		usleep(50);
	for (long sales = 0;;) {
		if (lock(s, index) != 0)
			return;
		if (s->stock <= 0) {
			unlock(s);
			return;
		}
		if (index == 0)
			__atomic_store_n(&s->w0_in, 1, __ATOMIC_RELAXED);
		s->stock--; /* the unit is taken ... */
		if (index == 0 && ++sales == DIE_ON_SALE) {
			s->died_ns = lab_now_ns();
			raise(SIGKILL); /* ... and the order never written */
		}
		s->sold[index]++; /* "INSERT INTO orders" */
		unlock(s);
		usleep(100); /* the rest of the request */
	}
}

static void run(const struct lab_mode *mode, const struct lab_opts *o, struct lab_result *res)
{
	struct shared *s = lab_shared_alloc(sizeof(*s));
	s->stock = STOCK;
	s->use_robust = strcmp(mode->name, "robust") == 0;
	(void)!weft_mutex_init(&s->mutex, WEFT_PSHARED);
	if (weft_robust_mutex_init(&s->robust, WEFT_PSHARED | WEFT_ROBUST) != WEFT_OK) {
		lab_result_say(res, "weft_robust_mutex_init: not supported here");
		res->wrong = true;
		lab_shared_free(s, sizeof(*s));
		return;
	}
	int workers = o->procs < 2 ? 2 : o->procs > 1024 ? 1024 : o->procs;
	pid_t pids[1024];
	fflush(stdout);
	uint64_t t0 = lab_now_ns();
	for (int i = 0; i < workers; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			worker(s, i);
			_exit(0);
		}
	}
	int killed = 0, hung = 0;
	for (int i = 0; i < workers; i++) {
		int status = 0;
		waitpid(pids[i], &status, 0);
		killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	}
	uint64_t ns = lab_now_ns() - t0;
	long sold = 0;
	for (int i = 0; i < workers; i++) {
		sold += s->sold[i];
		hung += s->hung[i];
	}
	if (!s->use_robust) {
		res->wrong = hung > 0 || sold != STOCK;
		lab_result_say(res,
			       "worker 0 killed holding the lock: %d of %d survivors hung (their %ld ms watchdog fired); "
			       "sold %ld of %d, %ld never sold, 1 taken by the dead and never ordered",
			       hung, workers - 1, watchdog_ms, sold, STOCK, s->stock);
	} else {
		res->wrong = killed != 1 || s->repairs != 1 || sold != STOCK || s->stock != 0;
		lab_result_say(res,
			       "worker 0 killed holding the lock; WEFT_EOWNERDEAD %d time(s), %.0f us after the death; "
			       "stock repaired %ld -> %ld; sold %ld of %d, none oversold, none lost; %.1f ms",
			       s->repairs, s->report_ns > s->died_ns ? (double)(s->report_ns - s->died_ns) / 1e3 : 0.0,
			       s->repaired_from, s->repaired_to, sold, STOCK, (double)ns / 1e6);
	}
	weft_mutex_destroy(&s->mutex);
	lab_shared_free(s, sizeof(*s));
}

static const struct lab_mode modes[] = {
	{ "plain-mutex", LAB_RACY, LAB_TSAN_SKIP,
	  "processes: WEFT_PSHARED weft_mutex_t; worker 0 dies holding it (TSan cannot see processes)" },
	{ "robust", LAB_FIXED, LAB_TSAN_SKIP,
	  "processes: weft_robust_mutex_t; the next worker gets WEFT_EOWNERDEAD, repairs, sells on" },
};

static const struct lab_prog prog = {
	.name = "r17_crashed_holder",
	.title = "R17 crashed holder: 4 workers, 20 units, worker 0 killed inside the stock lock",
	.threads = 4, .procs = 4, .iters = 1, .runs = 10,
	.symptom = "the survivors hung",
	.modes = modes, .nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.flags = flags, .nflags = (int)LAB_ARRAY_SIZE(flags),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
