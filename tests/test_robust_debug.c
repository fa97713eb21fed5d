/* SPDX-License-Identifier: MIT */
/*
 * test_robust_debug.c - the WEFT_DEBUG misuse checks of weft_robust_mutex_t.
 * In a release build the misuses are reported by return codes instead
 * (test_robust.c, test_badinput.c) and this program checks that.
 */
#include <pthread.h>

#include "check.h"
#include "weft/weft.h"

static weft_robust_mutex_t m;

static void unlock_free(void)
{
	(void)weft_robust_mutex_unlock(&m);
}

static void *hold(void *arg)
{
	(void)arg;
	(void)!weft_robust_mutex_lock(&m);
	return NULL; /* dies holding */
}

static void unlock_of_other(void)
{
	static weft_robust_mutex_t other;
	m = other;
	pthread_t t;
	pthread_create(&t, NULL, hold, NULL);
	pthread_join(t, NULL);
	/* the holder died: the word names a dead thread, not us */
	(void)weft_robust_mutex_unlock(&m);
}

static void destroy_held(void)
{
	(void)!weft_robust_mutex_lock(&m);
	weft_robust_mutex_destroy(&m);
}

static void test_unlock_not_held(void)
{
#ifdef WEFT_DEBUG
	CHECK(check_child_aborts(unlock_free, "weft: weft_robust_mutex_t"));
	CHECK(check_child_aborts(unlock_free, "unlocked by a thread that does not hold it"));
	CHECK(check_child_aborts(unlock_of_other, "unlocked by a thread that does not hold it"));
#else
	CHECK_STATUS(weft_robust_mutex_unlock(&m), WEFT_EINVAL);
	(void)unlock_free, (void)unlock_of_other;
#endif
}

static void test_destroy_held(void)
{
#ifdef WEFT_TSAN
	return; /* TSan reports the destroy of a held lock too (correctly), in the child */
#endif
	weft_robust_mutex_t probe;
	if (weft_robust_mutex_init(&probe, 0) == WEFT_ENOTSUP)
		return; /* nothing can be held here (qemu-user) */
#ifdef WEFT_DEBUG
	CHECK(check_child_aborts(destroy_held, "destroyed while held"));
#else
	CHECK(check_child_runs_clean(destroy_held));
#endif
}

/* A private robust mutex (all-zero, in shared memory) held by the parent. */
static weft_robust_mutex_t *g_shared;

static void lock_private_of_other_process(void)
{
	(void)!weft_robust_mutex_lock(g_shared);
}

static void test_private_used_by_two_processes(void)
{
	weft_robust_mutex_t probe;
	if (weft_robust_mutex_init(&probe, 0) == WEFT_ENOTSUP)
		return; /* no robust futex list here (qemu-user): test_robust.c checks WEFT_ENOTSUP */
	g_shared = check_shared_alloc(sizeof(*g_shared));
	CHECK_STATUS(weft_robust_mutex_lock(g_shared), WEFT_OK);
#ifdef WEFT_DEBUG
	CHECK(check_child_aborts(lock_private_of_other_process, "initialized without WEFT_PSHARED"));
#else
	(void)lock_private_of_other_process;
#endif
	CHECK_STATUS(weft_robust_mutex_unlock(g_shared), WEFT_OK);
	check_shared_free(g_shared, sizeof(*g_shared));
}

int main(void)
{
	RUN_TEST(test_unlock_not_held);
	RUN_TEST(test_destroy_held);
	RUN_TEST(test_private_used_by_two_processes);
	return check_summary();
}
