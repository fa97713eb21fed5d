/* SPDX-License-Identifier: MIT */
/*
 * test_status.c - the status codes and weft_strerror().
 */
#include <limits.h>

#include "check.h"
#include "weft/weft.h"

static const int all_codes[] = {WEFT_OK,        WEFT_EBUSY,  WEFT_ETIMEDOUT, WEFT_EINVAL,
				WEFT_EOVERFLOW, WEFT_ENOMEM, WEFT_ECLOSED,   WEFT_EOWNERDEAD,
				WEFT_ENOTRECOVERABLE, WEFT_ENOTSUP, WEFT_ECANCELED};
#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

static const char unknown[] = "unknown weft status";

/* The contract fixes WEFT_OK = 0; the others are distinct and nonzero. */
static void test_code_values(void)
{
	CHECK_EQ(WEFT_OK, 0);
	for (size_t i = 0; i < N_CODES; i++) {
		if (i > 0)
			CHECK_NE(all_codes[i], 0);
		for (size_t j = i + 1; j < N_CODES; j++)
			CHECK_NE(all_codes[i], all_codes[j]);
	}
}

/* Every code has its own non-empty description, none of them "unknown". */
static void test_strerror_every_code(void)
{
	for (size_t i = 0; i < N_CODES; i++) {
		const char *s = weft_strerror(all_codes[i]);
		CHECK(s != NULL);
		if (s == NULL)
			continue;
		CHECK_GT(strlen(s), 0);
		CHECK(strcmp(s, unknown) != 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(s, weft_strerror(all_codes[j])) != 0);
	}
	/* the same code gives the same (static) string every time */
	CHECK(weft_strerror(WEFT_ETIMEDOUT) == weft_strerror(WEFT_ETIMEDOUT));
}

static void test_strerror_unknown(void)
{
	const int bad[] = {-1, WEFT_ECANCELED + 1, 11, 100, 1000, INT_MIN, INT_MAX, -WEFT_EINVAL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *s = weft_strerror(bad[i]);
		CHECK(s != NULL);
		if (s != NULL && strcmp(s, unknown) != 0) {
			fprintf(stderr, "  weft_strerror(%d) = \"%s\", expected \"%s\"\n", bad[i], s, unknown);
			check__fail();
		}
	}
}

int main(void)
{
	RUN_TEST(test_code_values);
	RUN_TEST(test_strerror_every_code);
	RUN_TEST(test_strerror_unknown);
	return check_summary();
}
