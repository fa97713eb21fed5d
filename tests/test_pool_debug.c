/* SPDX-License-Identifier: MIT */
/*
 * test_pool_debug.c - the WEFT_DEBUG misuse checks of weft_pool_t and
 * weft_scounter_t.
 *
 * Each misuse runs in a forked child (check_child_aborts()), which must die of
 * SIGABRT after printing "weft: weft_pool_t <pool>: <misuse> <pointer>".  A
 * fork()ed child sees the same addresses, so the parent builds the expected
 * message.  Correct use in the same build must not abort.
 */
#ifndef WEFT_DEBUG
#define WEFT_DEBUG
#endif

#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "weft/counter.h"
#include "weft/pool.h"

#define MSG_DOUBLE "double put (object already free):"
#define MSG_FOREIGN "put of a pointer that is not an object of this pool:"
#define MSG_DESTROYED "used after weft_pool_destroy()"

static weft_pool_t *g_pool;
static weft_pool_t *g_other;
static void *g_obj;

static int aborts_naming(void (*fn)(void), const void *pool, const char *misuse, const void *ptr)
{
	char expect[256];
	if (ptr)
		snprintf(expect, sizeof(expect), "weft: weft_pool_t %p: %s %p", pool, misuse, ptr);
	else
		snprintf(expect, sizeof(expect), "weft: weft_pool_t %p: %s", pool, misuse);
	return check_child_aborts(fn, expect);
}

static void put_twice_in_a_row(void)
{
	void *p = weft_pool_get(g_pool);
	weft_pool_put(g_pool, p);
	weft_pool_put(g_pool, p);
}

static void put_never_got(void)
{
	weft_pool_put(g_pool, g_obj); /* g_obj: an object the parent put back */
}

static void *put_on_thread(void *arg)
{
	weft_pool_put(g_pool, arg);
	return NULL;
}

static void put_twice_across_threads(void)
{
	void *p = weft_pool_get(g_pool);
	pthread_t t;
	pthread_create(&t, NULL, put_on_thread, p);
	pthread_join(t, NULL);
	weft_pool_put(g_pool, p);
}

static void test_double_put(void)
{
	static const unsigned flags[] = {0, WEFT_POOL_NOCACHE};
	for (int i = 0; i < 2; i++) {
		g_pool = weft_pool_create(64, 100, flags[i]);
		/* the object the child's first get returns: LIFO, so the one we put last */
		void *p = weft_pool_get(g_pool);
		weft_pool_put(g_pool, p);
		g_obj = p;
		CHECK(aborts_naming(put_twice_in_a_row, g_pool, MSG_DOUBLE, p));
		CHECK(aborts_naming(put_never_got, g_pool, MSG_DOUBLE, p));
		CHECK(aborts_naming(put_twice_across_threads, g_pool, MSG_DOUBLE, p));
		weft_pool_destroy(g_pool);
	}
}

static void put_foreign(void)
{
	weft_pool_put(g_pool, g_obj);
}

static void test_foreign_pointer(void)
{
	g_pool = weft_pool_create(48, 100, 0);
	g_other = weft_pool_create(48, 100, 0);
	static char not_pooled[64];
	void *inside = weft_pool_get(g_pool);
	void *theirs = weft_pool_get(g_other);
	void *cases[] = {
		not_pooled,               /* static memory */
		(char *)inside + 1,       /* inside an object, not its start */
		(char *)inside + 16,      /* aligned, but still not a start (stride 48) */
		theirs,                   /* another pool's object */
		(char *)g_pool + 64,      /* the pool's header */
		(char *)inside - 48 * 1000, /* before the objects */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		g_obj = cases[i];
		CHECK(aborts_naming(put_foreign, g_pool, MSG_FOREIGN, g_obj));
	}
	weft_pool_put(g_pool, inside);
	weft_pool_put(g_other, theirs);
	weft_pool_destroy(g_pool);
	weft_pool_destroy(g_other);
}

static void get_after_destroy(void)
{
	weft_pool_destroy(g_pool);
	(void)!weft_pool_get(g_pool);
}

static void put_after_destroy(void)
{
	void *p = weft_pool_get(g_pool);
	weft_pool_destroy(g_pool);
	weft_pool_put(g_pool, p);
}

/* A placement pool's header outlives destroy, so use after destroy is caught. */
static void test_use_after_destroy(void)
{
	size_t bytes = weft_pool_bytes(32, 100);
	void *mem = aligned_alloc(64, bytes);
	g_pool = weft_pool_init_at(mem, 32, 100, 0);
	CHECK(aborts_naming(get_after_destroy, g_pool, MSG_DESTROYED, NULL));
	CHECK(aborts_naming(put_after_destroy, g_pool, MSG_DESTROYED, NULL));
	weft_pool_destroy(g_pool);
	free(mem);
}

/* Correct use, with objects crossing threads, never trips a check. */
static void *cross_worker(void *arg)
{
	void **objs = (void **)arg;
	for (int i = 0; i < 500; i++)
		weft_pool_put(g_pool, objs[i]);
	for (int i = 0; i < 500; i++)
		objs[i] = weft_pool_get(g_pool);
	return NULL;
}

static void test_correct_use_is_quiet(void)
{
	g_pool = weft_pool_create(40, 1000, 0);
	static void *objs[1000];
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 1000; i++) {
			objs[i] = weft_pool_get(g_pool);
			CHECK(objs[i] != NULL);
		}
		pthread_t t;
		pthread_create(&t, NULL, cross_worker, objs);
		pthread_join(t, NULL);
		for (int i = 0; i < 1000; i++)
			weft_pool_put(g_pool, objs[i]);
	}
	weft_pool_destroy(g_pool);
}

/* ---- weft_scounter_t ----------------------------------------------------- */

static weft_scounter_t g_sc;

static void add_uninitialized(void)
{
	weft_scounter_add(&g_sc, 1);
}

static void add_after_destroy(void)
{
	(void)!weft_scounter_init(&g_sc);
	weft_scounter_add(&g_sc, 1);
	weft_scounter_destroy(&g_sc);
	weft_scounter_add(&g_sc, 1);
}

static void read_after_destroy(void)
{
	(void)!weft_scounter_init(&g_sc);
	weft_scounter_destroy(&g_sc);
	(void)weft_scounter_read(&g_sc);
}

static void test_scounter_misuse(void)
{
	char expect[160];
	snprintf(expect, sizeof(expect), "weft: weft_scounter_t %p: used before weft_scounter_init() or after destroy",
		 (void *)&g_sc);
	CHECK(check_child_aborts(add_uninitialized, expect));
	CHECK(check_child_aborts(add_after_destroy, expect));
	snprintf(expect, sizeof(expect), "weft: weft_scounter_t %p: read before weft_scounter_init() or after destroy",
		 (void *)&g_sc);
	CHECK(check_child_aborts(read_after_destroy, expect));
}

int main(void)
{
	RUN_TEST(test_double_put);
	RUN_TEST(test_foreign_pointer);
	RUN_TEST(test_use_after_destroy);
	RUN_TEST(test_correct_use_is_quiet);
	RUN_TEST(test_scounter_misuse);
	return check_summary();
}
