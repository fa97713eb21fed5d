/* SPDX-License-Identifier: MIT */
/*
 * r10_coroutine_check_act.c - R10: check-then-act across a suspension point.
 *
 * The articles say coroutines "run in one thread, so they need no locks".  One
 * of them then writes the order handler of its "coroutine era" web shop:
 *
 *     stock, user = await asyncio.gather(check_stock(id), get_user_info(uid))
 *     if stock > 0:
 *         await db.execute("UPDATE products SET stock = stock - 1 ...")
 *
 * The stock is read, the task is suspended at `await` (other tasks run), and
 * the decision is taken on the value read before the suspension.  Four orders
 * arrive together with one unit in stock: all four read 1, all four sell.
 * One thread, no preemption -- and still a race: not a data race (no two
 * accesses ever overlap) but an atomicity violation.  The check and the act
 * were meant to be one step; a yield between them splits it.
 *
 * Here the coroutines are real: a round-robin scheduler of `--tasks` tasks on
 * one OS thread, each task with its own stack, switched with
 * makecontext()/swapcontext() (POSIX.1-2001 ucontext).  task_yield() is the
 * `await`: it saves the task's registers and resumes the scheduler, which
 * resumes the next task.
 *
 * Modes:
 *   racy       read the stock, yield (the await), then sell if what was read was > 0
 *   no-yield   await first, then check and sell with no yield in between (what
 *              `UPDATE ... SET stock = stock - 1 WHERE stock > 0` does in SQL)
 *   task-lock  a lock for tasks: weft_mutex_trylock(), and yield to the other
 *              tasks while another task holds it (blocking would stop the
 *              scheduler's only thread, and with it the holder: a deadlock)
 *
 * ThreadSanitizer and one thread.  TSan finds data races between threads; with
 * one thread every access happens after the previous one and it can report
 * nothing.  The TSan build therefore tells TSan about the tasks with its fiber
 * API (<sanitizer/tsan_interface.h>: __tsan_create_fiber, __tsan_switch_to_fiber):
 * each task is a fiber; starting a task and its end synchronize with the
 * scheduler (as pthread_create and pthread_join do) but a yield does not
 * (__tsan_switch_to_fiber_no_sync).  That is the model "these tasks may run
 * in parallel", the model of a thread pool or of Go's goroutines.  Under it
 * TSan reports the racy mode -- and also the no-yield mode, which is correct
 * only as long as the tasks share one thread and switch only at yields:
 * exactly the assumption the articles rely on.  The task-lock mode is correct
 * under both models, and TSan stays silent on it.
 */
#include "lab.h"

#include <ucontext.h>

#include <weft/mutex.h>

/* ---- TSan's fiber API (declared here: the header may not be installed) ---- */

#define FIBER_SYNC 0u
#define FIBER_NO_SYNC 1u /* __tsan_switch_to_fiber_no_sync */
#if LAB_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#define fiber_current() __tsan_get_current_fiber()
#define fiber_create() __tsan_create_fiber(0)
#define fiber_destroy(f) __tsan_destroy_fiber(f)
#define fiber_switch(f, flags) __tsan_switch_to_fiber((f), (flags))
#else
#define fiber_current() NULL
#define fiber_create() NULL
#define fiber_destroy(f) ((void)(f))
#define fiber_switch(f, flags) ((void)(f), (void)(flags))
#endif

/* ---- a cooperative scheduler: N tasks, one thread, round robin ---------- */

#define MAX_TASKS 64
#define TASK_STACK (LAB_TSAN ? 1024 * 1024 : 64 * 1024) /* TSan's runtime needs deep stacks */

struct task {
	ucontext_t ctx;
	void *fiber;     /* TSan's view of the task; NULL in the normal build */
	char *stack;
	bool started, done;
};

static struct {
	ucontext_t ctx;  /* the scheduler's own context (main's stack) */
	void *fiber;
	struct task tasks[MAX_TASKS];
	int ntasks, current;
	long switches;   /* task -> scheduler switches (yields and ends) */
	void (*body)(int task); /* what every task runs */
} sched;

/*
 * The scheduler's bookkeeping (current, done) is read and written with relaxed
 * atomics.  On one thread relaxed is exact; the atomics only tell TSan's fiber
 * model, in which a yield does not synchronize, that this state is the
 * scheduler's own hand-off and not the tasks' data under test.
 */
static int current_task(void)
{
	return __atomic_load_n(&sched.current, __ATOMIC_RELAXED); /* relaxed: see above */
}

/* The `await`: suspend this task, let the others run, come back later. */
static void task_yield(void)
{
	struct task *t = &sched.tasks[current_task()];
	__atomic_fetch_add(&sched.switches, 1, __ATOMIC_RELAXED); /* relaxed: see current_task() */
	fiber_switch(sched.fiber, FIBER_NO_SYNC); /* a yield orders nothing (see the top) */
	swapcontext(&t->ctx, &sched.ctx);
}

static void task_trampoline(void)
{
	int me = current_task();
	sched.body(me);
	__atomic_store_n(&sched.tasks[me].done, true, __ATOMIC_RELAXED); /* relaxed: see current_task() */
	/* The end of a task synchronizes with the scheduler, like pthread_join.
	 * Then switch away for good rather than return through uc_link: the
	 * return would run this function's exit in the scheduler's fiber. */
	fiber_switch(sched.fiber, FIBER_SYNC);
	swapcontext(&sched.tasks[me].ctx, &sched.ctx);
	abort(); /* a finished task is never resumed */
}

/* Runs body(0) ... body(n-1) as tasks until all have returned. */
static void sched_run(int n, void (*body)(int))
{
	sched.ntasks = n;
	__atomic_fetch_add(&sched.switches, n, __ATOMIC_RELAXED); /* each task's end is a switch too */
	sched.body = body;
	for (int i = 0; i < n; i++) {
		struct task *t = &sched.tasks[i];
		t->started = t->done = false;
		getcontext(&t->ctx);
		t->ctx.uc_stack.ss_sp = t->stack;
		t->ctx.uc_stack.ss_size = TASK_STACK;
		t->ctx.uc_link = NULL; /* tasks never return: see task_trampoline() */
		makecontext(&t->ctx, task_trampoline, 0);
	}
	for (int left = n; left > 0;) {
		for (int i = 0; i < n; i++) {
			struct task *t = &sched.tasks[i];
			if (__atomic_load_n(&t->done, __ATOMIC_RELAXED)) /* relaxed: see current_task() */
				continue;
			__atomic_store_n(&sched.current, i, __ATOMIC_RELAXED);
			/* Starting a task synchronizes (like pthread_create); resuming
			 * does not.  Nothing may touch memory between the fiber switch
			 * and swapcontext(): TSan would count it as the task's access. */
			unsigned how = t->started ? FIBER_NO_SYNC : FIBER_SYNC;
			t->started = true;
			fiber_switch(t->fiber, how);
			swapcontext(&sched.ctx, &t->ctx);
			left -= __atomic_load_n(&t->done, __ATOMIC_RELAXED);
		}
	}
}

static void sched_setup(int n)
{
	sched.fiber = fiber_current();
	for (int i = 0; i < n; i++) {
		sched.tasks[i].stack = malloc(TASK_STACK);
		if (!sched.tasks[i].stack)
			lab__die("malloc", ENOMEM);
		sched.tasks[i].fiber = fiber_create();
	}
}

static void sched_teardown(int n)
{
	for (int i = 0; i < n; i++) {
		free(sched.tasks[i].stack);
		fiber_destroy(sched.tasks[i].fiber);
	}
}

/* ---- the shop ------------------------------------------------------------ */

static long opt_tasks = 4, opt_stock = 1;

static struct {
	long stock, sold;
	weft_mutex_t lock;   /* task-lock mode */
	long first_seen[MAX_TASKS]; /* what each task read in the first round */
	bool record;
} shop;

static void task_lock(weft_mutex_t *m)
{
	while (!weft_mutex_trylock(m))
		task_yield(); /* never block the scheduler's thread: let the holder run */
}

/* The article's handler, literally: read, await, then act on what was read. */
static void order_racy(int task)
{
	long stock = shop.stock;  /* check_stock(): SELECT stock */
	task_yield();             /* await asyncio.gather(...): the other tasks run */
	if (shop.record)
		shop.first_seen[task] = stock;
	if (stock > 0) {          /* decides on a value that may be stale by now */
		shop.stock--;     /* UPDATE products SET stock = stock - 1 */
		shop.sold++;
	}
}

/* Await first; then check and act with no suspension point between them. */
static void order_no_yield(int task)
{
	task_yield();             /* await get_user_info(...) */
	long stock = shop.stock;
	if (shop.record)
		shop.first_seen[task] = stock;
	if (stock > 0) {          /* no yield since the read: nobody else ran */
		shop.stock--;
		shop.sold++;
	}
}

/* The article's handler kept as it is, but the check-to-act span is locked. */
static void order_task_lock(int task)
{
	task_lock(&shop.lock);
	long stock = shop.stock;
	task_yield();             /* the await is still here; other tasks wait at the lock */
	if (shop.record)
		shop.first_seen[task] = stock;
	if (stock > 0) {
		shop.stock--;
		shop.sold++;
	}
	weft_mutex_unlock(&shop.lock);
}

static const struct lab_mode modes[] = {
	{ "racy", LAB_RACY, LAB_TSAN_REPORTS,
	  "read the stock, yield (the await), then sell on what was read" },
	{ "no-yield", LAB_FIXED, LAB_TSAN_SKIP,
	  "await first, then check and sell with no yield between (TSan's fiber model reports it: correct only while the tasks share one thread)" },
	{ "task-lock", LAB_FIXED, LAB_TSAN_SILENT,
	  "a task lock around check and act (trylock, yield while another task holds it)" },
};

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	static const struct lab_mode *shown;
	void (*body)(int) = mode == &modes[0] ? order_racy : mode == &modes[1] ? order_no_yield : order_task_lock;
	int n = (int)opt_tasks;
	long rounds = opts->iters, oversold_rounds = 0, total_sold = 0;
	long per_round = opt_stock < n ? opt_stock : n;

	sched_setup(n);
	(void)!weft_mutex_init(&shop.lock, 0);
	__atomic_store_n(&sched.switches, 0, __ATOMIC_RELAXED);
	uint64_t begin = lab_now_ns();
	for (long r = 0; r < rounds; r++) {
		shop.stock = opt_stock;
		shop.sold = 0;
		shop.record = r == 0;
		sched_run(n, body);
		total_sold += shop.sold;
		oversold_rounds += shop.sold > per_round;
		if (r == 0 && shown != mode) { /* once per mode */
			shown = mode;
			char seen[256];
			int len = 0;
			for (int i = 0; i < n && len < 200; i++)
				len += snprintf(seen + len, sizeof(seen) - (size_t)len, "%s%ld", i ? " " : "",
						shop.first_seen[i]);
			lab_say("round 1: the %d tasks read stock %s; %ld sold, stock ended at %ld", n, seen,
				shop.sold, shop.stock);
		}
	}
	uint64_t elapsed = lab_now_ns() - begin;
	weft_mutex_destroy(&shop.lock);
	sched_teardown(n);

	res->wrong = oversold_rounds > 0;
	double switches = (double)__atomic_load_n(&sched.switches, __ATOMIC_RELAXED) / (double)(rounds * n);
	if (res->wrong)
		lab_result_say(res, "%ld of %ld rounds oversold: %ld sold where %ld could be, %.1f switches/order",
			       oversold_rounds, rounds, total_sold, per_round * rounds, switches);
	else
		lab_result_say(res, "%ld sold in %ld rounds, none oversold: correct, %.1f switches/order",
			       total_sold, rounds, switches);
	lab_set_cost(res, elapsed, (double)(rounds * n)); /* per order, switches included */
}

static const struct lab_flag flags[] = {
	{ "tasks", "coroutines placing one order each per round", &opt_tasks, 1, MAX_TASKS },
	{ "stock", "units in stock at the start of a round", &opt_stock, 0, 1000000 },
};

static const struct lab_prog prog = {
	.name = "r10_coroutine_check_act",
	.title = "R10 check-then-act across a yield: coroutines on one thread still oversell",
	.threads = 1,
	.runs = 10,
	.iters = 1000,    /* rounds: each round restocks and runs every task once */
	.tsan_iters = 20,
	.symptom = "the stock was oversold",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.flags = flags,
	.nflags = (int)LAB_ARRAY_SIZE(flags),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
