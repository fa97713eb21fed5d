/* SPDX-License-Identifier: MIT */
/*
 * bench_scenario_c7.c - scenario C7 of SCENARIOS.md: what a context switch and
 * the creation of a thread or a process cost, against the articles' claims
 * (thread switch 1-100 us, coroutine switch 50-200 ns, process switch 1-10 ms,
 * thread creation ~10 us; docs/claims.md sets each against these rows).
 *
 * Every row runs on one harness thread; items are switches (one-way handoffs)
 * or creations, so ns_per_op = 1e9 / items_per_second is the cost of one.
 *
 *   scenario/c7_thread_switch_same_core/futex
 *   scenario/c7_thread_switch_two_cores/futex
 *       the harness thread and a partner thread, both pinned to one CPU (or to
 *       two different CPUs), hand a turn back and forth through a futex word:
 *       set it, FUTEX_WAKE the other, FUTEX_WAIT until it is handed back.  On
 *       one CPU every handoff is a switch from the thread that blocks to the
 *       thread it woke; across two CPUs it is a wake-up on the other CPU (the
 *       idle CPU leaves its idle loop), the latency a cross-core handoff pays.
 *   scenario/c7_process_switch_same_core/futex_shm, .../pipe
 *   scenario/c7_process_switch_two_cores/futex_shm, .../pipe
 *       the same between two processes (a child forked in setup): a futex word
 *       in a MAP_SHARED page (the futex call without FUTEX_PRIVATE_FLAG), or a
 *       byte through two pipes (write one, block reading the other: the
 *       classic lmbench lat_ctx measure).  A process switch also changes the
 *       address space.
 *   scenario/c7_thread_create/pthread       pthread_create + pthread_join of a
 *                                           thread that returns at once
 *   scenario/c7_process_create/fork_wait    fork + _exit(0) in the child + waitpid
 *   scenario/c7_process_create/fork_exec_wait  the same, the child execs /bin/true
 *   scenario/c7_coroutine_switch/swapcontext   two ucontexts switch back and forth
 *   scenario/c7_coroutine_switch/asm_switch    the same with coswitch.h (saves the
 *                                           callee-saved registers only, no system
 *                                           call); x86-64 and aarch64 only
 *
 * The two-core rows are registered only if the process may run on at least
 * two CPUs (its affinity mask at startup).  The pinned rows pin the harness
 * thread in setup and restore its affinity in teardown.  On a loaded machine
 * the same-core rows also absorb other processes' time slices on that CPU.
 *
 * fork copies the page tables of weft_bench (a few MB): a smaller process
 * forks faster.  The coroutine rows switch between two stacks on one thread:
 * no kernel, no scheduler.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "coswitch.h"
#include "shim.h"

#define C7_ALWAYS_INLINE inline __attribute__((always_inline))
#define C7_CO_STACK (64 * 1024)
#define C7_TRUE_PATH "/bin/true"

/* The two CPUs of the pinned rows: the first two of the startup affinity mask. */
static int c7_cpu_a = -1, c7_cpu_b = -1;

/* ---- pinning -------------------------------------------------------------- */

static void c7_pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* a system call, async-signal-safe: also used in a forked child */
	(void)sched_setaffinity(0, sizeof set, &set);
}

/* ---- the futex word handoff ----------------------------------------------- */

/* turn: 0 = the harness thread's turn, 1 = the partner's, 2 = the partner quits. */
#define C7_MINE 0u
#define C7_THEIRS 1u
#define C7_QUIT 2u

static long c7_futex(uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/*
 * Give the turn to the other side and wake it.  @shared selects the shared
 * futex operations (a word in a MAP_SHARED page, two processes) instead of
 * FUTEX_*_PRIVATE (threads of one process).
 */
static C7_ALWAYS_INLINE void c7_hand_over(uint32_t *turn, uint32_t to, int shared)
{
	/* release: the handoff publishes nothing but the turn; release keeps the
	 * model honest (a real handoff would publish data), pairs with the
	 * acquire load in c7_wait_turn on the other side */
	__atomic_store_n(turn, to, __ATOMIC_RELEASE);
	(void)c7_futex(turn, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, 1);
}

/* Block until *turn is no longer @busy; returns the new value. */
static C7_ALWAYS_INLINE uint32_t c7_wait_turn(uint32_t *turn, uint32_t busy, int shared)
{
	uint32_t v;
	/* acquire: pairs with the release store of c7_hand_over on the other side */
	while ((v = __atomic_load_n(turn, __ATOMIC_ACQUIRE)) == busy)
		(void)c7_futex(turn, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, busy);
	return v;
}

/* The partner's loop (a thread, or a forked child): wait for its turn, hand it back. */
static void c7_partner_loop(uint32_t *turn, int shared)
{
	while (c7_wait_turn(turn, C7_MINE, shared) != C7_QUIT)
		c7_hand_over(turn, C7_MINE, shared);
}

/* ---- rows' parameters and shared state ---------------------------------- */

enum c7_kind { C7_THREAD_FUTEX, C7_PROC_FUTEX, C7_PROC_PIPE };

struct c7_params {
	enum c7_kind kind;
	int two_cores; /* 0: both sides on CPU a; 1: the harness thread on a, the partner on b */
};

struct c7_shared {
	uint32_t *turn;  /* C7_THREAD_FUTEX: &own_turn; C7_PROC_FUTEX: a MAP_SHARED page */
	uint32_t own_turn;
	int shared_futex;
	int partner_cpu;
	pthread_t partner;
	pid_t child;
	int to_child[2], to_parent[2]; /* C7_PROC_PIPE */
	cpu_set_t saved;               /* the harness thread's affinity before setup */
};

static void *c7_thread_partner(void *arg)
{
	struct c7_shared *s = (struct c7_shared *)arg;
	c7_pin_self(s->partner_cpu);
	c7_partner_loop(s->turn, 0);
	return NULL;
}

static void c7_pipe_child(struct c7_shared *s)
{
	char b;
	/* read until the parent closes its end; answer every byte */
	while (read(s->to_child[0], &b, 1) == 1)
		if (write(s->to_parent[1], &b, 1) != 1)
			break;
}

static void *c7_switch_setup(wb_thread *t)
{
	const struct c7_params *p = (const struct c7_params *)t->arg;
	struct c7_shared *s = (struct c7_shared *)calloc(1, sizeof *s);
	if (s == NULL)
		wb_fail(t, "out of memory");
	s->partner_cpu = p->two_cores ? c7_cpu_b : c7_cpu_a;
	if (sched_getaffinity(0, sizeof s->saved, &s->saved) != 0)
		wb_fail(t, "sched_getaffinity: %s", strerror(errno));
	c7_pin_self(c7_cpu_a);

	switch (p->kind) {
	case C7_THREAD_FUTEX:
		s->turn = &s->own_turn;
		if (pthread_create(&s->partner, NULL, c7_thread_partner, s) != 0)
			wb_fail(t, "pthread_create failed");
		break;
	case C7_PROC_FUTEX:
		s->turn = (uint32_t *)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (s->turn == MAP_FAILED)
			wb_fail(t, "mmap: %s", strerror(errno));
		s->shared_futex = 1;
		s->child = fork();
		if (s->child < 0)
			wb_fail(t, "fork: %s", strerror(errno));
		if (s->child == 0) {
			/* the child of a threaded process: system calls and atomics only */
			c7_pin_self(s->partner_cpu);
			c7_partner_loop(s->turn, 1);
			_exit(0);
		}
		break;
	case C7_PROC_PIPE:
		if (pipe(s->to_child) != 0 || pipe(s->to_parent) != 0)
			wb_fail(t, "pipe: %s", strerror(errno));
		s->child = fork();
		if (s->child < 0)
			wb_fail(t, "fork: %s", strerror(errno));
		if (s->child == 0) {
			close(s->to_child[1]);
			close(s->to_parent[0]);
			c7_pin_self(s->partner_cpu);
			c7_pipe_child(s);
			_exit(0);
		}
		close(s->to_child[0]);
		close(s->to_parent[1]);
		break;
	}
	return s;
}

static void c7_switch_teardown(wb_thread *t)
{
	const struct c7_params *p = (const struct c7_params *)t->arg;
	struct c7_shared *s = (struct c7_shared *)t->shared;
	int status = 0;
	switch (p->kind) {
	case C7_THREAD_FUTEX:
		c7_hand_over(s->turn, C7_QUIT, 0);
		pthread_join(s->partner, NULL);
		break;
	case C7_PROC_FUTEX:
		c7_hand_over(s->turn, C7_QUIT, 1);
		if (waitpid(s->child, &status, 0) != s->child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			wb_fail(t, "the partner process did not exit cleanly");
		munmap(s->turn, 4096);
		break;
	case C7_PROC_PIPE:
		close(s->to_child[1]); /* the child reads end-of-file and exits */
		if (waitpid(s->child, &status, 0) != s->child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			wb_fail(t, "the partner process did not exit cleanly");
		close(s->to_parent[0]);
		break;
	}
	(void)sched_setaffinity(0, sizeof s->saved, &s->saved);
	free(s);
}

/* items = one-way handoffs: two per round trip. */
static void c7_futex_pingpong(wb_thread *t)
{
	struct c7_shared *s = (struct c7_shared *)t->shared;
	const int shared = s->shared_futex;
	uint64_t i;
	for (i = 0; i < t->iters; i++) {
		c7_hand_over(s->turn, C7_THEIRS, shared);
		if (c7_wait_turn(s->turn, C7_THEIRS, shared) != C7_MINE)
			wb_fail(t, "the partner quit early");
	}
	wb_done(t, 2 * t->iters);
}

static void c7_pipe_pingpong(wb_thread *t)
{
	struct c7_shared *s = (struct c7_shared *)t->shared;
	char b = 'x';
	uint64_t i;
	for (i = 0; i < t->iters; i++) {
		if (write(s->to_child[1], &b, 1) != 1 || read(s->to_parent[0], &b, 1) != 1)
			wb_fail(t, "the pipe ping-pong broke: %s", strerror(errno));
	}
	wb_done(t, 2 * t->iters);
}

/* ---- creation ------------------------------------------------------------- */

static void *c7_empty_thread(void *arg)
{
	return arg;
}

static void c7_thread_create(wb_thread *t)
{
	static int token; /* the thread returns its argument: proves it ran */
	uint64_t i;
	for (i = 0; i < t->iters; i++) {
		pthread_t th;
		void *ret = NULL;
		if (pthread_create(&th, NULL, c7_empty_thread, &token) != 0 || pthread_join(th, &ret) != 0 ||
		    ret != &token)
			wb_fail(t, "pthread_create/join failed");
	}
	wb_done(t, t->iters);
}

static C7_ALWAYS_INLINE void c7_fork_body(wb_thread *t, int exec)
{
	static char *const argv[] = {(char *)C7_TRUE_PATH, NULL};
	static char *const envp[] = {NULL};
	uint64_t i;
	for (i = 0; i < t->iters; i++) {
		pid_t pid = fork();
		if (pid < 0)
			wb_fail(t, "fork: %s", strerror(errno));
		if (pid == 0) {
			if (exec)
				execve(C7_TRUE_PATH, argv, envp);
			_exit(exec ? 127 : 0);
		}
		int status = 0;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			wb_fail(t, "the child did not exit with 0");
	}
	wb_done(t, t->iters);
}

static void c7_fork_wait(wb_thread *t)
{
	c7_fork_body(t, 0);
}
static void c7_fork_exec_wait(wb_thread *t)
{
	c7_fork_body(t, 1);
}

/* ---- coroutines ----------------------------------------------------------- */

struct c7_co {
	ucontext_t main_uc, co_uc;
	void *main_sp, *co_sp;
	uint64_t resumed; /* switches into the coroutine, counted by it */
	void *stack;
};

static void *c7_co_setup(wb_thread *t)
{
	struct c7_co *c = (struct c7_co *)calloc(1, sizeof *c);
	if (c == NULL || (c->stack = malloc(C7_CO_STACK)) == NULL)
		wb_fail(t, "out of memory");
	return c;
}

static void c7_co_teardown(wb_thread *t)
{
	struct c7_co *c = (struct c7_co *)t->shared;
	/* every switch into the coroutine came back: 2 switches per round */
	if (c->resumed != t->iters)
		wb_fail(t, "the coroutine ran %llu times, expected %llu", (unsigned long long)c->resumed,
			(unsigned long long)t->iters);
	free(c->stack); /* the coroutine is left suspended: nothing on its stack to release */
	free(c);
}

/* The coroutine of the swapcontext row: count, switch back, forever. */
static struct c7_co *c7_uc_current; /* makecontext passes int arguments only */

static void c7_uc_entry(void)
{
	struct c7_co *c = c7_uc_current;
	for (;;) {
		c->resumed++;
		swapcontext(&c->co_uc, &c->main_uc);
	}
}

static void c7_swapcontext(wb_thread *t)
{
	struct c7_co *c = (struct c7_co *)t->shared;
	if (getcontext(&c->co_uc) != 0)
		wb_fail(t, "getcontext failed");
	c->co_uc.uc_stack.ss_sp = c->stack;
	c->co_uc.uc_stack.ss_size = C7_CO_STACK;
	c->co_uc.uc_link = NULL;
	c7_uc_current = c;
	makecontext(&c->co_uc, c7_uc_entry, 0);
	uint64_t i;
	for (i = 0; i < t->iters; i++)
		swapcontext(&c->main_uc, &c->co_uc);
	wb_done(t, 2 * t->iters);
}

#if COSWITCH_AVAILABLE
static void c7_asm_entry(void *arg)
{
	struct c7_co *c = (struct c7_co *)arg;
	for (;;) {
		c->resumed++;
		coswitch(&c->co_sp, c->main_sp);
	}
}

static void c7_asm_switch(wb_thread *t)
{
	struct c7_co *c = (struct c7_co *)t->shared;
	c->co_sp = coswitch_init(c->stack, C7_CO_STACK, c7_asm_entry, c);
	uint64_t i;
	for (i = 0; i < t->iters; i++)
		coswitch(&c->main_sp, c->co_sp);
	wb_done(t, 2 * t->iters);
}
#endif

/* ---- registration ----------------------------------------------------------- */

static void c7_reg(const char *name, wb_body_fn body, const void *arg, wb_setup_fn setup, wb_teardown_fn teardown)
{
	wb_def def;
	memset(&def, 0, sizeof def);
	def.name = name;
	def.body = body;
	def.threads = WB_T1;
	def.arg = arg;
	def.setup = setup;
	def.teardown = teardown;
	wb_register_def(&def);
}

__attribute__((constructor)) static void register_c7(void)
{
	static const struct c7_params thr1 = {C7_THREAD_FUTEX, 0}, thr2 = {C7_THREAD_FUTEX, 1};
	static const struct c7_params pf1 = {C7_PROC_FUTEX, 0}, pf2 = {C7_PROC_FUTEX, 1};
	static const struct c7_params pp1 = {C7_PROC_PIPE, 0}, pp2 = {C7_PROC_PIPE, 1};
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		for (int cpu = 0; cpu < CPU_SETSIZE && c7_cpu_b < 0; cpu++)
			if (CPU_ISSET(cpu, &set)) {
				if (c7_cpu_a < 0)
					c7_cpu_a = cpu;
				else
					c7_cpu_b = cpu;
			}
	if (c7_cpu_a >= 0) {
		c7_reg("scenario/c7_thread_switch_same_core/futex", c7_futex_pingpong, &thr1, c7_switch_setup,
		       c7_switch_teardown);
		c7_reg("scenario/c7_process_switch_same_core/futex_shm", c7_futex_pingpong, &pf1, c7_switch_setup,
		       c7_switch_teardown);
		c7_reg("scenario/c7_process_switch_same_core/pipe", c7_pipe_pingpong, &pp1, c7_switch_setup,
		       c7_switch_teardown);
	}
	/* only one CPU available: no two-core rows (docs/claims.md says so) */
	if (c7_cpu_b >= 0) {
		c7_reg("scenario/c7_thread_switch_two_cores/futex", c7_futex_pingpong, &thr2, c7_switch_setup,
		       c7_switch_teardown);
		c7_reg("scenario/c7_process_switch_two_cores/futex_shm", c7_futex_pingpong, &pf2, c7_switch_setup,
		       c7_switch_teardown);
		c7_reg("scenario/c7_process_switch_two_cores/pipe", c7_pipe_pingpong, &pp2, c7_switch_setup,
		       c7_switch_teardown);
	}
	c7_reg("scenario/c7_thread_create/pthread", c7_thread_create, NULL, NULL, NULL);
	c7_reg("scenario/c7_process_create/fork_wait", c7_fork_wait, NULL, NULL, NULL);
	if (access(C7_TRUE_PATH, X_OK) == 0)
		c7_reg("scenario/c7_process_create/fork_exec_wait", c7_fork_exec_wait, NULL, NULL, NULL);
	c7_reg("scenario/c7_coroutine_switch/swapcontext", c7_swapcontext, NULL, c7_co_setup, c7_co_teardown);
#if COSWITCH_AVAILABLE
	c7_reg("scenario/c7_coroutine_switch/asm_switch", c7_asm_switch, NULL, c7_co_setup, c7_co_teardown);
#endif
}
