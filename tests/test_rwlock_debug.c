/* SPDX-License-Identifier: MIT */
/*
 * test_rwlock_debug.c - the WEFT_DEBUG misuse checks of weft_rwlock_t and
 * weft_brlock_t.  Each misuse runs in a forked child, which must abort with a
 * message naming the primitive, the lock's address and the misuse.
 */
#define WEFT_DEBUG 1

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "weft/deadline.h"
#include "weft/brlock.h"
#include "weft/rwlock.h"

static weft_rwlock_t rw;
static weft_brlock_t br;

/* "weft_rwlock_t 0x...: <misuse>" for the lock at @addr. */
static const char *msg(const char *prim, const void *addr, const char *misuse)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "weft: %s %p: %s", prim, addr, misuse);
	return buf;
}

struct fn_box {
	void (*fn)(void);
};

static void *run_in_thread(void *p)
{
	((struct fn_box *)p)->fn();
	return NULL;
}

/* Call fn on a new thread (a lock held by another thread). */
static void on_other_thread(void (*fn)(void))
{
	struct fn_box box = {fn};
	pthread_t t;
	pthread_create(&t, NULL, run_in_thread, &box);
	pthread_join(t, NULL);
}

/* ---- weft_rwlock_t ---- */

static void rw_correct_use(void)
{
	(void)!weft_rwlock_init(&rw, 0);
	weft_rwlock_rdlock(&rw);
	weft_rwlock_rdlock(&rw);
	weft_rwlock_rdunlock(&rw);
	weft_rwlock_rdunlock(&rw);
	weft_rwlock_wrlock(&rw);
	weft_rwlock_wrunlock(&rw);
	CHECK(weft_rwlock_trywrlock(&rw));
	weft_rwlock_wrunlock(&rw);
	struct timespec far = weft_deadline_after_ns(1000000000ull);
	CHECK_EQ(weft_rwlock_timedwrlock(&rw, &far), WEFT_OK);
	weft_rwlock_wrunlock(&rw);
	weft_rwlock_destroy(&rw);
}

static void rw_rdunlock_unheld(void) { weft_rwlock_rdunlock(&rw); }
static void rw_rdunlock_write_held(void) { weft_rwlock_wrlock(&rw); weft_rwlock_rdunlock(&rw); }
static void rw_wrunlock_unheld(void) { weft_rwlock_wrunlock(&rw); }
static void rw_wrunlock_read_held(void) { weft_rwlock_rdlock(&rw); weft_rwlock_wrunlock(&rw); }
static void rw_take_write(void) { weft_rwlock_wrlock(&rw); }
static void rw_wrunlock_other(void) { on_other_thread(rw_take_write); weft_rwlock_wrunlock(&rw); }
static void rw_wrlock_twice(void) { weft_rwlock_wrlock(&rw); weft_rwlock_wrlock(&rw); }
static void rw_rdlock_by_writer(void) { weft_rwlock_wrlock(&rw); weft_rwlock_rdlock(&rw); }
static void rw_timedwrlock_by_writer(void)
{
	struct timespec far = weft_deadline_after_ns(1000000000ull);
	weft_rwlock_wrlock(&rw);
	(void)!weft_rwlock_timedwrlock(&rw, &far);
}
static void rw_destroy_read_held(void) { weft_rwlock_rdlock(&rw); weft_rwlock_destroy(&rw); }
static void rw_destroy_write_held(void) { weft_rwlock_wrlock(&rw); weft_rwlock_destroy(&rw); }
static void rw_too_many_readers(void)
{
	rw.state = WEFT_RWLOCK_READERS_MAX;
	weft_rwlock_rdlock(&rw);
}

static void test_rw_correct_use_passes(void)
{
	rw_correct_use();
	CHECK_EQ(rw.state, 0);
	CHECK_EQ(rw.writer, 0);
}

/* Read until a counted reader has turned reader bias on (bounded: only a hang
 * reaches it; the child then fails to abort with the expected message). */
static void rw_bias_on(void)
{
	(void)!weft_rwlock_init(&rw, 0);
	for (int i = 0; i < 100000 && !(__atomic_load_n(&rw.state, __ATOMIC_RELAXED) & WEFT_RWLOCK_BIASED); i++) {
		weft_rwlock_rdlock(&rw);
		weft_rwlock_rdunlock(&rw);
	}
}
static void rw_wrunlock_bias_held(void) { rw_bias_on(); weft_rwlock_rdlock(&rw); weft_rwlock_wrunlock(&rw); }
static void rw_rdunlock_bias_twice(void) { rw_bias_on(); weft_rwlock_rdlock(&rw); weft_rwlock_rdunlock(&rw); weft_rwlock_rdunlock(&rw); }
static void rw_destroy_bias_held(void) { rw_bias_on(); weft_rwlock_rdlock(&rw); weft_rwlock_destroy(&rw); }
static void rw_bias_correct_use(void)
{
	rw_bias_on();
	CHECK(__atomic_load_n(&rw.state, __ATOMIC_RELAXED) & WEFT_RWLOCK_BIASED);
	weft_rwlock_rdlock(&rw); /* biased */
	weft_rwlock_rdlock(&rw); /* counted */
	weft_rwlock_rdunlock(&rw);
	weft_rwlock_rdunlock(&rw);
	weft_rwlock_wrlock(&rw); /* revokes */
	weft_rwlock_wrunlock(&rw);
	weft_rwlock_destroy(&rw);
}
static void test_rw_bias_misuse(void)
{
	const char *p = "weft_rwlock_t";
	rw_bias_correct_use();
	CHECK(check_child_aborts(rw_wrunlock_bias_held, msg(p, &rw, "wrunlock of a read-held lock (wrong unlock mode)")));
	CHECK(check_child_aborts(rw_rdunlock_bias_twice, msg(p, &rw, "read-unlocked but not read-held")));
	CHECK(check_child_aborts(rw_destroy_bias_held, msg(p, &rw, "destroyed while held")));
}

static void test_rw_misuse(void)
{
	const char *p = "weft_rwlock_t";
	CHECK(check_child_aborts(rw_rdunlock_unheld, msg(p, &rw, "read-unlocked but not read-held")));
	CHECK(check_child_aborts(rw_rdunlock_write_held, msg(p, &rw, "rdunlock of a write-held lock (wrong unlock mode)")));
	CHECK(check_child_aborts(rw_wrunlock_unheld, msg(p, &rw, "write-unlocked but not write-held")));
	CHECK(check_child_aborts(rw_wrunlock_read_held, msg(p, &rw, "wrunlock of a read-held lock (wrong unlock mode)")));
	CHECK(check_child_aborts(rw_wrunlock_other, msg(p, &rw, "write-unlocked by a thread that does not hold it")));
	CHECK(check_child_aborts(rw_wrlock_twice, msg(p, &rw, "locked again by the thread that holds it for writing (self-deadlock)")));
	CHECK(check_child_aborts(rw_rdlock_by_writer, msg(p, &rw, "locked again by the thread that holds it for writing (self-deadlock)")));
	CHECK(check_child_aborts(rw_timedwrlock_by_writer, msg(p, &rw, "locked again by the thread that holds it for writing (self-deadlock)")));
	CHECK(check_child_aborts(rw_destroy_read_held, msg(p, &rw, "destroyed while held")));
	CHECK(check_child_aborts(rw_destroy_write_held, msg(p, &rw, "destroyed while held")));
	CHECK(check_child_aborts(rw_too_many_readers, msg(p, &rw, "more than WEFT_RWLOCK_READERS_MAX concurrent read locks")));
}

/* ---- weft_brlock_t ---- */

static void br_correct_use(void)
{
	(void)!weft_brlock_init(&br, 0);
	weft_brlock_rdlock(&br);
	weft_brlock_rdlock(&br);
	weft_brlock_rdunlock(&br);
	weft_brlock_rdunlock(&br);
	weft_brlock_wrlock(&br);
	weft_brlock_wrunlock(&br);
	CHECK(weft_brlock_trywrlock(&br));
	weft_brlock_wrunlock(&br);
	weft_brlock_destroy(&br);
}

static void br_rdunlock_unheld(void) { weft_brlock_rdunlock(&br); }
static void br_rdunlock_write_held(void) { weft_brlock_wrlock(&br); weft_brlock_rdunlock(&br); }
static void br_wrunlock_unheld(void) { weft_brlock_wrunlock(&br); }
static void br_wrunlock_read_held(void) { weft_brlock_rdlock(&br); weft_brlock_wrunlock(&br); }
static void br_take_write(void) { weft_brlock_wrlock(&br); }
static void br_wrunlock_other(void) { on_other_thread(br_take_write); weft_brlock_wrunlock(&br); }
static void br_wrlock_twice(void) { weft_brlock_wrlock(&br); weft_brlock_wrlock(&br); }
static void br_rdlock_by_writer(void) { weft_brlock_wrlock(&br); weft_brlock_rdlock(&br); }
static void br_destroy_read_held(void) { weft_brlock_rdlock(&br); weft_brlock_destroy(&br); }
static void br_destroy_write_held(void) { weft_brlock_wrlock(&br); weft_brlock_destroy(&br); }

static void test_br_correct_use_passes(void)
{
	br_correct_use();
	CHECK_EQ(br.writer, 0);
	CHECK_EQ(br.owner, 0);
}

static void test_br_misuse(void)
{
	const char *p = "weft_brlock_t";
	CHECK(check_child_aborts(br_rdunlock_unheld, msg(p, &br, "read-unlocked but not read-held")));
	CHECK(check_child_aborts(br_rdunlock_write_held, msg(p, &br, "rdunlock of a write-held lock (wrong unlock mode)")));
	CHECK(check_child_aborts(br_wrunlock_unheld, msg(p, &br, "write-unlocked but not write-held by this thread")));
	CHECK(check_child_aborts(br_wrunlock_read_held, msg(p, &br, "wrunlock of a read-held lock (wrong unlock mode)")));
	CHECK(check_child_aborts(br_wrunlock_other, msg(p, &br, "write-unlocked but not write-held by this thread")));
	CHECK(check_child_aborts(br_wrlock_twice, msg(p, &br, "locked again by the thread that holds it for writing (self-deadlock)")));
	CHECK(check_child_aborts(br_rdlock_by_writer, msg(p, &br, "locked again by the thread that holds it for writing (self-deadlock)")));
	CHECK(check_child_aborts(br_destroy_read_held, msg(p, &br, "destroyed while held")));
	CHECK(check_child_aborts(br_destroy_write_held, msg(p, &br, "destroyed while held")));
}

int main(void)
{
	/* these tests take read locks recursively on purpose (to count readers),
	 * which a WEFT_DEBUG build's lock-order checker reports (docs/lockorder.md) */
	setenv("WEFT_LOCKDEP", "off", 1);
	RUN_TEST(test_rw_correct_use_passes);
	RUN_TEST(test_rw_misuse);
	RUN_TEST(test_rw_bias_misuse);
	RUN_TEST(test_br_correct_use_passes);
	RUN_TEST(test_br_misuse);
	return check_summary();
}
