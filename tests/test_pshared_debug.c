/* SPDX-License-Identifier: MIT */
/*
 * test_pshared_debug.c - WEFT_DEBUG catches a missing WEFT_PSHARED (issue 14):
 * a weft_rwlock_t or weft_brlock_t in shared memory, initialized private
 * (all-zero), write-held by the parent; the child's blocking and timed
 * acquisitions must abort naming the lock and the fix instead of sleeping
 * for ever on a futex keyed by its own process.  (weft_mutex_t:
 * test_mutex_debug.c; weft_robust_mutex_t: test_robust_debug.c.)  The checks
 * are inline, so this file turns WEFT_DEBUG on for itself.
 */
#ifndef WEFT_DEBUG
#define WEFT_DEBUG
#endif

#include "check.h"
#include "weft/weft.h"

#define FIX_MSG "initialized without WEFT_PSHARED"

static weft_rwlock_t *g_rw;
static weft_brlock_t *g_br;

static void rw_rdlock(void)
{
	weft_rwlock_rdlock(g_rw);
}

static void rw_wrlock(void)
{
	weft_rwlock_wrlock(g_rw);
}

static void rw_timedwrlock(void)
{
	struct timespec d = weft_deadline_after_ns(60ull * 1000 * 1000 * 1000);
	(void)!weft_rwlock_timedwrlock(g_rw, &d);
}

static void br_wrlock(void)
{
	weft_brlock_wrlock(g_br);
}

static void test_rwlock_private_two_processes(void)
{
	g_rw = check_shared_alloc(sizeof(*g_rw)); /* zero-filled: a private rwlock */
	weft_rwlock_wrlock(g_rw);
	CHECK(check_child_aborts(rw_rdlock, FIX_MSG));
	CHECK(check_child_aborts(rw_wrlock, "weft_rwlock_init(rwlock, WEFT_PSHARED)"));
	CHECK(check_child_aborts(rw_timedwrlock, FIX_MSG));
	weft_rwlock_wrunlock(g_rw);
	check_shared_free(g_rw, sizeof(*g_rw));
}

static void test_brlock_private_two_processes(void)
{
	g_br = check_shared_alloc(sizeof(*g_br));
	weft_brlock_wrlock(g_br);
	CHECK(check_child_aborts(br_wrlock, "weft_brlock_init(brlock, WEFT_PSHARED)"));
	weft_brlock_wrunlock(g_br);
	check_shared_free(g_br, sizeof(*g_br));
}

int main(void)
{
	alarm(300);
	RUN_TEST(test_rwlock_private_two_processes);
	RUN_TEST(test_brlock_private_two_processes);
	return check_summary();
}
