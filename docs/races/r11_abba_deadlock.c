/* SPDX-License-Identifier: MIT */
/*
 * r11_abba_deadlock.c - R11: two threads take two locks in opposite orders.
 *
 * A bank moves money between accounts A and B; each account has its own lock,
 * and a transfer locks the account it takes money from, reads its balance
 * (slowly: `--hold-us` of I/O under the lock), then locks the account it pays
 * into.  Thread 0 pays A -> B, thread 1 pays B -> A.  When each has taken its
 * first lock, each waits for the lock the other holds: neither can go on, ever.
 * That is the ABBA deadlock (E. G. Coffman, M. J. Elphick, A. Shoshani, "System
 * Deadlocks", Computing Surveys 1971: mutual exclusion, hold and wait, no
 * preemption, circular wait -- remove any one and it cannot happen).
 *
 * Each run happens in a child process watched by the parent (a watchdog): the
 * threads note in shared memory which lock each holds and which it waits for;
 * when nothing has moved for `--timeout-ms` and every thread holds one lock
 * while waiting for another, the parent reports the deadlock and kills the
 * child.  So the lab never hangs, and the racy mode keeps plain
 * weft_mutex_lock() calls, as real code has them.
 *
 * The first transfer of each direction runs alone (thread 0's first A -> B,
 * then thread 1's first B -> A, then all the others at once), as in a program
 * that worked for months before two transfers met.  That also lets ThreadSanitizer see both orders: its
 * deadlock detector reports a lock-order inversion when a thread asks for a
 * lock in the opposite order of one it has seen acquired before -- it reports
 * the potential deadlock, whether or not the threads then hang.  A run that
 * hangs at the very first transfers never acquired a second lock, and TSan
 * would have no order to compare with.
 *
 * Modes (the three fixes break "circular wait" or "hold and wait"):
 *   abba     plain weft_mutex_lock() in opposite orders: deadlocks
 *   ordered  every thread locks the accounts in one global order (by address)
 *   trylock  lock the first, weft_mutex_trylock() the second; on failure
 *            release the first, back off a random while, start again
 *   timed    the same with weft_mutex_timedlock() and a deadline of
 *            `--wait-us` for the second lock
 */
#include "lab.h"

#include <signal.h>

#include <weft/deadline.h>
#include <weft/latch.h>
#include <weft/mutex.h>

#if LAB_TSAN
/* TSan's lock-order checking is on by default; say so where it matters. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "detect_deadlocks=1:second_deadlock_stack=1";
}
#endif

#define MAX_THREADS 64

/* The TSan build runs far slower (and prints its report): a longer verdict. */
static long opt_hold_us = 200, opt_timeout_ms = LAB_TSAN ? 1000 : 100, opt_wait_us = 1000;

enum mode_id { ABBA, ORDERED, TRYLOCK, TIMED };

/* Shared with the watchdog (MAP_SHARED): the child writes, the parent reads. */
struct bank {
	weft_mutex_t lock[2];       /* account A's and account B's */
	long balance[2];            /* under the account's lock */
	weft_latch_t first_done[2]; /* thread 0's, thread 1's first transfer is done */
	long iters;
	enum mode_id mode;
	/* progress, for the watchdog: relaxed atomics (a snapshot is enough) */
	long transfers;             /* completed, all threads */
	long retries;               /* trylock failures and timeouts */
	int holds[MAX_THREADS];     /* account a thread holds: -1 none, 0 A, 1 B */
	int wants[MAX_THREADS];     /* account it waits for, -1 none */
	uint64_t elapsed_ns;
};

static const char account_name[2] = { 'A', 'B' };

static void note(int *field, int value)
{
	__atomic_store_n(field, value, __ATOMIC_RELAXED); /* relaxed: the watchdog only reports it */
}

/*
 * The wait-for graph the watchdog found: an edge Ti -> Tj when Ti waits for a
 * lock Tj holds.  A cycle in it is the deadlock (Coffman et al.'s "circular
 * wait"); printed when the watchdog fires.
 */
static void print_wait_for_graph(struct bank *bank, int n)
{
	int holds[MAX_THREADS], wants[MAX_THREADS], next[MAX_THREADS];
	for (int i = 0; i < n; i++) {
		holds[i] = __atomic_load_n(&bank->holds[i], __ATOMIC_RELAXED); /* relaxed: a snapshot, see note() */
		wants[i] = __atomic_load_n(&bank->wants[i], __ATOMIC_RELAXED);
	}
	lab_say("wait-for graph (an arrow: waits for a lock the other holds):");
	for (int i = 0; i < n; i++) {
		next[i] = -1;
		for (int j = 0; j < n; j++)
			if (j != i && wants[i] >= 0 && holds[j] == wants[i])
				next[i] = j;
		char held_by[32] = "";
		if (next[i] >= 0)
			snprintf(held_by, sizeof(held_by), " -> T%d (holds %c)", next[i] + 1, account_name[wants[i]]);
		lab_say("  T%d holds %c, waits for %c%s", i + 1, holds[i] < 0 ? '-' : account_name[holds[i]],
			wants[i] < 0 ? '-' : account_name[wants[i]], held_by);
	}
	/* follow the arrows from T1: coming back to a thread already met is the cycle */
	int at = 0, seen[MAX_THREADS] = { 0 };
	char cycle[256];
	int len = snprintf(cycle, sizeof(cycle), "T%d", at + 1);
	while (at >= 0 && !seen[at] && len < 200) {
		seen[at] = 1;
		at = next[at];
		if (at >= 0)
			len += snprintf(cycle + len, sizeof(cycle) - (size_t)len, " -> T%d", at + 1);
	}
	if (at >= 0)
		lab_say("  cycle: %s: each waits for the next, none can go on", cycle);
	else
		lab_say("  no cycle from T1 (%s): a thread is slow, not deadlocked", cycle);
}

static void backoff(unsigned *seed)
{
	/* random, up to about two holds, so that two threads that failed together
	 * do not retry in step (which would be a livelock) */
	long max_us = 2 * opt_hold_us + 50;
	struct timespec ts = { 0, (rand_r(seed) % max_us + 1) * 1000 };
	nanosleep(&ts, NULL);
}

/* Moves 1 from account `from` to account `to` with the mode's locking. */
static void transfer(struct bank *bank, int self, int from, int to, unsigned *seed)
{
	weft_mutex_t *first = &bank->lock[from], *second = &bank->lock[to];
	int first_id = from, second_id = to;
	if (bank->mode == ORDERED && first > second) { /* one global order: by address */
		first = &bank->lock[to], second = &bank->lock[from];
		first_id = to, second_id = from;
	}
	static const char *const asks[2] = { "asks for A", "asks for B" };
	for (;;) {
		lab_step(self); /* under --schedule: wait for this step's turn */
		note(&bank->wants[self], first_id);
		lab_ev(self, LAB_EV_NOTE, LAB_NOVAL, asks[first_id]); /* the turn passes before the lock may block */
		weft_mutex_lock(first);
		note(&bank->holds[self], first_id);
		note(&bank->wants[self], second_id);
		usleep((useconds_t)opt_hold_us); /* reading the balance: slow I/O under the lock */

		bool got = true;
		lab_step(self);
		lab_ev(self, LAB_EV_NOTE, LAB_NOVAL, asks[second_id]);
		if (bank->mode == TRYLOCK) {
			got = weft_mutex_trylock(second);
		} else if (bank->mode == TIMED) {
			struct timespec deadline = weft_deadline_after_ns((uint64_t)opt_wait_us * 1000u);
			got = weft_mutex_timedlock(second, &deadline) == WEFT_OK;
		} else {
			weft_mutex_lock(second); /* ABBA: may wait forever */
		}
		if (got)
			break;
		/* give back what we hold, so the other thread can finish */
		note(&bank->holds[self], -1);
		weft_mutex_unlock(first);
		__atomic_fetch_add(&bank->retries, 1, __ATOMIC_RELAXED); /* relaxed: a statistic */
		backoff(seed);
	}
	note(&bank->wants[self], -1);
	bank->balance[from]--;
	bank->balance[to]++;
	weft_mutex_unlock(second);
	weft_mutex_unlock(first);
	note(&bank->holds[self], -1);
	__atomic_fetch_add(&bank->transfers, 1, __ATOMIC_RELAXED); /* relaxed: progress for the watchdog */
}

static void teller(void *ctx, int self)
{
	struct bank *bank = ctx;
	unsigned seed = (unsigned)self * 7919u + 1u;
	int from = self % 2, to = 1 - from; /* even threads pay A -> B, odd ones B -> A */
	/* The first transfer A -> B runs alone, then the first B -> A, then all
	 * the others at once. */
	bool alone = !lab_scheduled(); /* a forced schedule decides the order itself */
	if (self != 0 && alone)
		weft_latch_wait(&bank->first_done[0]);
	if (self > 1 && alone)
		weft_latch_wait(&bank->first_done[1]);
	for (long i = 0; i < bank->iters; i++) {
		transfer(bank, self, from, to, &seed);
		if (i == 0 && self < 2)
			(void)!weft_latch_count_down(&bank->first_done[self], 1);
		if (i == 0 && self == 0 && alone)
			weft_latch_wait(&bank->first_done[1]);
	}
}

static const struct lab_mode modes[] = {
	{ "abba", LAB_RACY, LAB_TSAN_REPORTS, "plain weft_mutex_lock(), T1 locks A then B, T2 B then A" },
	{ "ordered", LAB_FIXED, LAB_TSAN_SILENT, "every thread locks the two accounts in one order (by address)" },
	{ "trylock", LAB_FIXED, LAB_TSAN_SILENT, "trylock the second lock; on failure release the first and back off" },
	{ "timed", LAB_FIXED, LAB_TSAN_SILENT, "timedlock the second lock (--wait-us); on timeout release and back off" },
};

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	int n = opts->threads < MAX_THREADS ? opts->threads : MAX_THREADS;
	struct bank *bank = lab_shared_alloc(sizeof(*bank));
	(void)!weft_mutex_init(&bank->lock[0], 0);
	(void)!weft_mutex_init(&bank->lock[1], 0);
	(void)!weft_latch_init(&bank->first_done[0], 1);
	(void)!weft_latch_init(&bank->first_done[1], n > 1 ? 1 : 0);
	bank->balance[0] = bank->balance[1] = 1000000;
	bank->iters = opts->iters;
	bank->mode = (enum mode_id)(mode - modes);
	for (int i = 0; i < n; i++)
		bank->holds[i] = bank->wants[i] = -1;

	fflush(stdout);
	fflush(stderr);
	pid_t child = fork();
	if (child < 0)
		lab__die("fork", errno);
	if (child == 0) {
		bank->elapsed_ns = lab_run_threads(n, teller, bank);
		_exit(0);
	}

	/* The watchdog.  A deadlock is: for --timeout-ms no transfer completed and
	 * no retry happened, and every thread holds a lock and waits for another.
	 * (A slow start on a loaded machine, or retrying fixes, are not deadlocks;
	 * 50 timeouts without progress of any kind is reported as a hang.) */
	long last = -1;
	uint64_t last_change = lab_now_ns();
	int status = 0;
	bool deadlocked = false;
	uint64_t stuck_ns = 0;
	for (;;) {
		pid_t w = waitpid(child, &status, WNOHANG);
		if (w == child)
			break;
		long progress = __atomic_load_n(&bank->transfers, __ATOMIC_RELAXED) +
				__atomic_load_n(&bank->retries, __ATOMIC_RELAXED);
		uint64_t still = lab_now_ns() - last_change;
		bool all_hold_and_wait = true;
		for (int i = 0; i < n; i++)
			all_hold_and_wait &= __atomic_load_n(&bank->holds[i], __ATOMIC_RELAXED) >= 0 &&
					     __atomic_load_n(&bank->wants[i], __ATOMIC_RELAXED) >= 0;
		if (progress != last) {
			last = progress;
			last_change = lab_now_ns();
		} else if ((still > (uint64_t)opt_timeout_ms * 1000000u && all_hold_and_wait) ||
			   still > (uint64_t)opt_timeout_ms * 50000000u) {
			deadlocked = true;
			stuck_ns = still;
			print_wait_for_graph(bank, n);
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
			break;
		}
		usleep(1000);
	}

	long expected = (long)n * opts->iters, done = bank->transfers;
	if (deadlocked) {
		res->wrong = true;
		lab_result_say(res, "DEADLOCK after %ld of %ld transfers: no progress for %.0f ms, watchdog killed it",
			       done, expected, (double)stuck_ns / 1e6);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		res->wrong = true;
		lab_result_say(res, "the child process died (%s %d) after %ld of %ld transfers",
			       WIFSIGNALED(status) ? "signal" : "exit status",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), done, expected);
	} else {
		long total = bank->balance[0] + bank->balance[1];
		res->wrong = done != expected || total != 2000000;
		lab_result_say(res, "%ld of %ld transfers, money %s, %.2f retries per transfer", done, expected,
			       total == 2000000 ? "conserved" : "NOT conserved",
			       (double)bank->retries / (double)(done ? done : 1));
		lab_set_cost(res, bank->elapsed_ns, (double)done);
	}
	lab_shared_free(bank, sizeof(*bank));
}

static const struct lab_flag flags[] = {
	{ "hold-us", "microseconds a transfer sleeps holding its first lock", &opt_hold_us, 0, 1000000 },
	{ "timeout-ms", "the watchdog's verdict: no transfer for this long is a deadlock", &opt_timeout_ms, 1, 60000 },
	{ "wait-us", "timed mode: how long to wait for the second lock", &opt_wait_us, 1, 10000000 },
};

/* T1 pays A -> B, T2 B -> A, one transfer each.  Each step asks for a lock. */
static const struct lab_schedule schedules[] = {
	{ "abba", true, "T1,T2,T1,T2" },    /* T1 has A, T2 has B, each asks for the other's */
	{ "abba", false, "T1,T1,T2,T2" },   /* T1's transfer, then T2's */
	{ "ordered", false, "T1,T2,T1,T2" }, /* both ask for A first: T2 waits, no cycle */
};

static const struct lab_prog prog = {
	.name = "r11_abba_deadlock",
	.title = "R11 ABBA deadlock: two threads lock accounts A and B in opposite orders",
	.threads = 2,
	.runs = 10,
	.iters = 50, /* transfers per thread */
	.tsan_iters = 20,
	.symptom = "the deadlock happened",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.schedules = schedules, .nschedules = (int)LAB_ARRAY_SIZE(schedules),
	.flags = flags,
	.nflags = (int)LAB_ARRAY_SIZE(flags),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
