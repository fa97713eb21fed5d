/* SPDX-License-Identifier: MIT */
/*
 * test_mpmc_debug.c - the WEFT_DEBUG misuse checks of weft_mpmc_t: using a
 * queue that was never initialized or was destroyed, and destroying a queue
 * while a thread sleeps in it, abort with a message.
 */
#ifndef WEFT_DEBUG
#define WEFT_DEBUG
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "weft/mpmc.h"

static _Alignas(WEFT_CACHE_LINE) char zeroed[1024];

static void use_uninitialized(void)
{
	memset(zeroed, 0, sizeof(zeroed));
	weft_mpmc_t *q = (weft_mpmc_t *)(void *)zeroed;
	(void)!weft_mpmc_try_push(q, NULL);
}

static void use_after_destroy(void)
{
	weft_mpmc_t *q = weft_mpmc_init_at(zeroed, 8, 0);
	weft_mpmc_destroy(q); /* placed: memory stays valid */
	void *out;
	(void)!weft_mpmc_try_pop(q, &out);
}

static void *sleep_in_pop(void *arg)
{
	void *out;
	(void)!weft_mpmc_pop((weft_mpmc_t *)arg, &out);
	return NULL;
}

static void destroy_with_sleeper(void)
{
	weft_mpmc_t *q = weft_mpmc_init_at(zeroed, 8, 0);
	pthread_t t;
	pthread_create(&t, NULL, sleep_in_pop, q);
	while ((__atomic_load_n(&q->pop_sleepers, __ATOMIC_ACQUIRE) & WEFT_MPMC_SLEEPERS) == 0)
		usleep(1000);
	weft_mpmc_destroy(q);
}

static void test_uninitialized_aborts(void)
{
	CHECK(check_child_aborts(use_uninitialized, "used before init or after destroy"));
}

static void test_use_after_destroy_aborts(void)
{
	CHECK(check_child_aborts(use_after_destroy, "used before init or after destroy"));
}

static void test_destroy_with_sleeper_aborts(void)
{
	CHECK(check_child_aborts(destroy_with_sleeper, "destroyed while threads sleep in it"));
}

static void test_correct_use_does_not_abort(void)
{
	weft_mpmc_t *q = weft_mpmc_create(4, 0);
	void *out;
	CHECK(weft_mpmc_try_push(q, (void *)1));
	CHECK(weft_mpmc_try_pop(q, &out));
	weft_mpmc_close(q);
	CHECK_STATUS(weft_mpmc_pop(q, &out), WEFT_ECLOSED);
	weft_mpmc_destroy(q);
}

int main(void)
{
	RUN_TEST(test_uninitialized_aborts);
	RUN_TEST(test_use_after_destroy_aborts);
	RUN_TEST(test_destroy_with_sleeper_aborts);
	RUN_TEST(test_correct_use_does_not_abort);
	return check_summary();
}
