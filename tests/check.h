/* SPDX-License-Identifier: MIT */
#ifndef WEFT_TESTS_CHECK_H
#define WEFT_TESTS_CHECK_H

/*
 * check.h - the unit-test harness every tests/test_*.c uses.
 *
 *   static void test_something(void) { CHECK_EQ(weft_x(), 3); }
 *   int main(void) { RUN_TEST(test_something); return check_summary(); }
 *
 * Each RUN_TEST prints "PASS name" or "FAIL name" (or "SKIP name" if the
 * environment's CHECK_SKIP lists it); a failed assertion prints
 * its place and both values.  check_summary() prints "N passed, N failed" and
 * returns the exit status; scripts/run_tests.sh adds the programs' lines up.
 * check_child_aborts() runs a function in a forked child and checks that it
 * aborts with a message (the WEFT_DEBUG misuse checks); check_child_runs_clean()
 * checks that it returns without one (the correct uses).  For blocking and
 * process-shared tests: check_gettid(), check_wait_until_sleeping() (wait until
 * a waiter really sleeps before releasing it), check_shared_alloc() /
 * check_shared_free() (MAP_SHARED memory for fork()) and check_wait_child().
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int check__test_failed;
static int check__passed;
static int check__failed;

static inline void check__fail(void)
{
	check__test_failed = 1;
}

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check__fail();                                               \
		}                                                                    \
	} while (0)

#define CHECK_OP_(a, op, b)                                                          \
	do {                                                                         \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);      \
		if (!(check_a_ op check_b_)) {                                       \
			fprintf(stderr, "  %s:%d: CHECK(%s %s %s) failed: %lld vs %lld\n", __FILE__, \
				__LINE__, #a, #op, #b, check_a_, check_b_);          \
			check__fail();                                               \
		}                                                                    \
	} while (0)

#define CHECK_EQ(a, b) CHECK_OP_(a, ==, b)
#define CHECK_NE(a, b) CHECK_OP_(a, !=, b)
#define CHECK_LT(a, b) CHECK_OP_(a, <, b)
#define CHECK_LE(a, b) CHECK_OP_(a, <=, b)
#define CHECK_GT(a, b) CHECK_OP_(a, >, b)
#define CHECK_GE(a, b) CHECK_OP_(a, >=, b)

#define CHECK_STATUS(got, want)                                                      \
	do {                                                                         \
		int check_g_ = (got), check_w_ = (want);                             \
		if (check_g_ != check_w_) {                                          \
			fprintf(stderr, "  %s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__, \
				__LINE__, #got, check_g_, weft_strerror(check_g_), check_w_, \
				weft_strerror(check_w_));                            \
			check__fail();                                               \
		}                                                                    \
	} while (0)

/* Whether @name is a word of $CHECK_SKIP: a build that cannot run a test (a
 * sanitizer limit) lists it there; scripts/run_tests.sh prints the reason. */
static inline int check__skipped(const char *name)
{
	const char *list = getenv("CHECK_SKIP");
	size_t len = strlen(name);
	for (const char *p = list; p != NULL && (p = strstr(p, name)) != NULL; p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
			return 1;
	return 0;
}

static inline void check__run(const char *name, void (*fn)(void))
{
	if (check__skipped(name)) {
		printf("SKIP %s\n", name); /* neither passed nor failed */
		fflush(stdout);
		return;
	}
	check__test_failed = 0;
	fn();
	if (check__test_failed)
		check__failed++;
	else
		check__passed++;
	printf("%s %s\n", check__test_failed ? "FAIL" : "PASS", name);
	fflush(stdout);
}

#define RUN_TEST(fn) check__run(#fn, fn)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check__passed, check__failed);
	return check__failed ? 1 : 0;
}

/* The kernel id of the calling thread (what /proc/PID/task/ lists). */
static inline pid_t check_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * check_wait_until_sleeping() - wait until thread @tid of process @pid is
 * asleep in the kernel (state S or D in /proc/PID/task/TID/stat), polling every
 * millisecond for up to about 20 s.  A test calls it before it wakes or
 * unlocks, so that the waiter it releases has really gone to sleep rather than
 * not yet reached its wait.  This is not a timing assertion: the answer is
 * only a hint (0 when the thread never slept or is gone), and a correct
 * primitive passes either way; waiting just makes the sleeping path the one
 * that is tested.
 */
static inline int check_wait_until_sleeping(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	for (int i = 0; i < 20000; i++) {
		FILE *f = fopen(path, "r");
		if (f == NULL)
			return 0;
		char buf[512];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		const char *p = strrchr(buf, ')'); /* "pid (comm) S ..."; comm may hold ')' */
		if (p != NULL && (p[2] == 'S' || p[2] == 'D'))
			return 1;
		usleep(1000);
	}
	return 0;
}

/*
 * check_shared_alloc() - @size zeroed bytes of anonymous MAP_SHARED memory,
 * which a fork()ed child shares with its parent (process-shared tests).
 * Return: the memory, or NULL (after printing why).  Free with check_shared_free().
 */
static inline void *check_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("  mmap(MAP_SHARED)");
		return NULL;
	}
	return p;
}

static inline void check_shared_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size);
}

/*
 * check_wait_child() - reap child @pid; Return: its exit status (0..255), or
 * 1000 + the signal number that killed it.
 */
static inline int check_wait_child(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 1000 + WTERMSIG(status);
	return -1;
}

#define CHECK_CHILD_ALARM_S 120

/*
 * check__run_child() - run @fn in a forked child whose stderr is captured into
 * @buf (NUL-terminated, at most @size - 1 bytes), so that expected messages do
 * not clutter the output.  A child that hangs dies of SIGALRM: a failure, not
 * a stall.  Return: check_wait_child()'s status, or -1 if pipe or fork failed.
 */
static inline int check__run_child(void (*fn)(void), char *buf, size_t size)
{
	int pipefd[2];
	buf[0] = '\0';
	if (pipe(pipefd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], 2);
		alarm(CHECK_CHILD_ALARM_S);
		fn();
		_exit(0); /* returned */
	}
	close(pipefd[1]);
	size_t len = 0;
	ssize_t n;
	while (len < size - 1 && (n = read(pipefd[0], buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(pipefd[0]);
	return pid > 0 ? check_wait_child(pid) : -1;
}

/*
 * check_child_aborts() - run @fn in a child process and report whether it
 * died of SIGABRT after writing @expect (a substring) to stderr.
 */
static inline int check_child_aborts(void (*fn)(void), const char *expect)
{
	char buf[4096];
	int status = check__run_child(fn, buf, sizeof(buf));
	int ok = status == 1000 + SIGABRT && strstr(buf, expect) != NULL;
	if (!ok)
		fprintf(stderr, "  child did not abort with \"%s\" (status %d, stderr: %s)\n", expect, status, buf);
	return ok;
}

/*
 * check_child_runs_clean() - run @fn in a child process and report whether it
 * returned (exit status 0) without printing a weft message.
 */
static inline int check_child_runs_clean(void (*fn)(void))
{
	char buf[4096];
	int status = check__run_child(fn, buf, sizeof(buf));
	int ok = status == 0 && strstr(buf, "weft:") == NULL;
	if (!ok)
		fprintf(stderr, "  child did not run clean (status %d, stderr: %s)\n", status, buf);
	return ok;
}

#endif /* WEFT_TESTS_CHECK_H */
