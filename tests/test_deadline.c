/* SPDX-License-Identifier: MIT */
/*
 * test_deadline.c - weft_deadline_after_ns(), weft_deadline_valid(),
 * weft_deadline_passed().  No timing assertion: results are compared with
 * CLOCK_MONOTONIC readings taken before and after the call.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "weft/weft.h"

#define NSEC 1000000000LL

static struct timespec now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

/* -1, 0, 1 as a is before, equal to, after b */
static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

/* a + ns, normalized; any uint64_t ns fits a 64-bit time_t (about 584 years) */
static struct timespec ts_add(struct timespec a, uint64_t ns)
{
	a.tv_sec += (time_t)(ns / (uint64_t)NSEC);
	a.tv_nsec += (long)(ns % (uint64_t)NSEC);
	if (a.tv_nsec >= NSEC) {
		a.tv_nsec -= NSEC;
		a.tv_sec++;
	}
	return a;
}

static void check_after(uint64_t ns)
{
	struct timespec before = now();
	struct timespec d = weft_deadline_after_ns(ns);
	struct timespec after = now();
	CHECK(weft_deadline_valid(&d));
	/* before + ns <= d <= after + ns: the clock is CLOCK_MONOTONIC and the sum exact */
	if (ts_cmp(ts_add(before, ns), d) > 0 || ts_cmp(d, ts_add(after, ns)) > 0) {
		fprintf(stderr, "  after_ns(%llu) = %lld.%09ld not within [%lld.%09ld, %lld.%09ld] + ns\n",
			(unsigned long long)ns, (long long)d.tv_sec, d.tv_nsec, (long long)before.tv_sec,
			before.tv_nsec, (long long)after.tv_sec, after.tv_nsec);
		check__fail();
	}
}

static void test_after_ns_values(void)
{
	const uint64_t values[] = {0,          1,           999,           1000000,
				   999999999,  1000000000,  1000000001,    1500000000,
				   1999999999, 2000000000,  123456789012ull, 3600ull * 1000000000ull};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		check_after(values[i]);
}

/* Carry from tv_nsec into tv_sec: ns % 1e9 chosen to push tv_nsec past 1e9
 * whatever the current clock reading is. */
static void test_after_ns_carry(void)
{
	for (int i = 0; i < 200; i++) {
		struct timespec before = now();
		uint64_t ns = (uint64_t)(NSEC - before.tv_nsec) + (uint64_t)(i * 4999999); /* crosses a second */
		check_after(ns);
		check_after(ns + 5 * (uint64_t)NSEC);
	}
}

/* Successive deadlines for the same ns never go backwards. */
static void test_after_ns_monotonic(void)
{
	struct timespec prev = weft_deadline_after_ns(1000);
	for (int i = 0; i < 10000; i++) {
		struct timespec d = weft_deadline_after_ns(1000);
		if (ts_cmp(d, prev) < 0) {
			fprintf(stderr, "  deadline went backwards: %lld.%09ld after %lld.%09ld\n", (long long)d.tv_sec,
				d.tv_nsec, (long long)prev.tv_sec, prev.tv_nsec);
			check__fail();
			break;
		}
		prev = d;
	}
}

/* Huge values saturate (or, with a 64-bit time_t, simply fit) instead of
 * wrapping into the past or producing a malformed timespec. */
static void test_after_ns_huge(void)
{
	const uint64_t values[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX / 2, (uint64_t)INT64_MAX,
				   UINT64_MAX - (uint64_t)NSEC + 1};
	struct timespec before = now();
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct timespec d = weft_deadline_after_ns(values[i]);
		CHECK(weft_deadline_valid(&d));
		CHECK_GT(d.tv_sec, before.tv_sec);
		CHECK(!weft_deadline_passed(&d));
		if (sizeof(time_t) >= 8) {
			/* exact: now + 584 years fits in a 64-bit time_t */
			check_after(values[i]);
		} else {
			/* 32-bit time_t: the sum does not fit; it must saturate */
			CHECK_EQ(d.tv_nsec, NSEC - 1);
		}
	}
	/* UINT64_MAX ns is 18446744073.709551615 s */
	struct timespec d = weft_deadline_after_ns(UINT64_MAX);
	if (sizeof(time_t) >= 8)
		CHECK_GE(d.tv_sec, before.tv_sec + 18446744073LL);
}

static void test_valid(void)
{
	CHECK(!weft_deadline_valid(NULL));
	struct timespec ts;
	ts = (struct timespec){0, 0};
	CHECK(weft_deadline_valid(&ts));
	ts = (struct timespec){0, 999999999};
	CHECK(weft_deadline_valid(&ts));
	ts = (struct timespec){1, 0};
	CHECK(weft_deadline_valid(&ts));
	ts = (struct timespec){0, 1000000000};
	CHECK(!weft_deadline_valid(&ts));
	ts = (struct timespec){5, 1000000001};
	CHECK(!weft_deadline_valid(&ts));
	ts = (struct timespec){0, LONG_MAX};
	CHECK(!weft_deadline_valid(&ts));
	ts = (struct timespec){0, -1};
	CHECK(!weft_deadline_valid(&ts));
	ts = (struct timespec){5, LONG_MIN};
	CHECK(!weft_deadline_valid(&ts));
	ts = (struct timespec){-1, 0};
	CHECK(!weft_deadline_valid(&ts));
	ts = (struct timespec){-1, 500};
	CHECK(!weft_deadline_valid(&ts));
	/* the largest time_t, 2^(bits-1) - 1, computed without overflow */
	const time_t time_max = (time_t)((((uint64_t)1 << (sizeof(time_t) * 8 - 2)) - 1) * 2 + 1);
	ts.tv_sec = -time_max - 1; /* the most negative time_t */
	ts.tv_nsec = 0;
	CHECK(!weft_deadline_valid(&ts));
	ts.tv_sec = time_max;
	ts.tv_nsec = 999999999;
	CHECK(weft_deadline_valid(&ts));
	struct timespec d = weft_deadline_after_ns(12345);
	CHECK(weft_deadline_valid(&d));
}

static void test_passed(void)
{
	struct timespec ts = {0, 0};
	CHECK(weft_deadline_passed(&ts));
	ts = (struct timespec){1, 999999999};
	CHECK(weft_deadline_passed(&ts));
	/* "now" has passed by the time anyone asks (now >= deadline counts) */
	ts = weft_deadline_after_ns(0);
	CHECK(weft_deadline_passed(&ts));
	ts = now();
	CHECK(weft_deadline_passed(&ts));
	/* an hour ahead has not passed; nor has "forever" */
	ts = weft_deadline_after_ns(3600ull * 1000000000ull);
	CHECK(!weft_deadline_passed(&ts));
	ts = weft_deadline_after_ns(UINT64_MAX);
	CHECK(!weft_deadline_passed(&ts));
	/* one second ahead of now, same nanoseconds: seconds dominate */
	ts = now();
	ts.tv_sec += 1;
	CHECK(!weft_deadline_passed(&ts));
	/* later nanoseconds in an earlier second: still passed */
	ts = now();
	ts.tv_sec -= 1;
	ts.tv_nsec = 999999999;
	CHECK(weft_deadline_passed(&ts));
}

/* A deadline made from a short timeout passes: wait for it without a bound on
 * how long that takes (this checks weft_deadline_passed() turns true, not when). */
static void test_passed_eventually(void)
{
	struct timespec d = weft_deadline_after_ns(2 * 1000 * 1000);
	while (!weft_deadline_passed(&d)) {
		struct timespec nap = {0, 100 * 1000};
		nanosleep(&nap, NULL);
	}
	/* and once it said so, the clock really is at or past the deadline */
	CHECK_GE(ts_cmp(now(), d), 0);
}

/* The calls never change errno (weft saves and restores it around the clock). */
static void test_errno_untouched(void)
{
	errno = 12345;
	struct timespec d = weft_deadline_after_ns(1000);
	CHECK_EQ(errno, 12345);
	(void)weft_deadline_passed(&d);
	CHECK_EQ(errno, 12345);
	(void)weft_deadline_valid(&d);
	CHECK_EQ(errno, 12345);
	errno = 0;
}

int main(void)
{
	RUN_TEST(test_after_ns_values);
	RUN_TEST(test_after_ns_carry);
	RUN_TEST(test_after_ns_monotonic);
	RUN_TEST(test_after_ns_huge);
	RUN_TEST(test_valid);
	RUN_TEST(test_passed);
	RUN_TEST(test_passed_eventually);
	RUN_TEST(test_errno_untouched);
	return check_summary();
}
