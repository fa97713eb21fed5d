/* SPDX-License-Identifier: MIT */
/*
 * coswitch_test.c - the hand-written coroutine switch of coswitch.h keeps every
 * value a caller keeps in callee-saved registers (integer and floating point)
 * across switches, and enters a new coroutine with its argument.
 *
 * Two coroutines (main and one on its own stack) switch back and forth
 * COSWITCH_TEST_ROUNDS times; each keeps many integer and double values live
 * across every switch (the compiler puts them in callee-saved registers) and
 * scrambles the registers while it runs; at the end every value must equal
 * its closed form.  Prints "coswitch: ok (<arch>)" or fails with exit 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "coswitch.h"

#if !COSWITCH_AVAILABLE
int main(void)
{
	puts("coswitch: not available on this architecture (the C7 asm_switch row is not built)");
	return 0;
}
#else

#define COSWITCH_TEST_ROUNDS 100000u

static void *main_sp, *co_sp;
static volatile unsigned co_rounds; /* volatile: read by main after switches */

struct co_arg {
	unsigned magic;
};

static void co_entry(void *arg)
{
	const struct co_arg *a = (const struct co_arg *)arg;
	/* values live across the switch, as in main, to use the same registers */
	unsigned long x0 = a->magic, x1 = 3, x2 = 5, x3 = 7, x4 = 11, x5 = 13;
	double d0 = 0.5, d1 = 1.5, d2 = 2.5, d3 = 3.5;
	for (;;) {
		x0 = x0 * 31 + 1;
		x1 += x0;
		x2 ^= x1;
		x3 += x2 >> 3;
		x4 -= x3;
		x5 += x4 | 1;
		d0 = d0 * 0.999 + 1.0;
		d1 += d0;
		d2 = d2 * 0.5 + d1;
		d3 -= d2 * 0.25;
		co_rounds++;
		/* keep the values observable so the compiler cannot drop them */
		__asm__ __volatile__("" ::"r"(x0), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
		__asm__ __volatile__("" ::"m"(d0), "m"(d1), "m"(d2), "m"(d3) : "memory");
		coswitch(&co_sp, main_sp);
	}
}

int main(void)
{
	static unsigned char stack[64 * 1024] __attribute__((aligned(16)));
	static struct co_arg arg = {12345};
	co_sp = coswitch_init(stack, sizeof stack, co_entry, &arg);

	unsigned long a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7;
	double p = 1.0, q = 2.0, r = 3.0, s = 4.0;
	for (unsigned i = 0; i < COSWITCH_TEST_ROUNDS; i++) {
		a += 1;
		b += 2;
		c += 3;
		d += 4;
		e += 5;
		f += 6;
		g += 7;
		p += 1.0;
		q += 2.0;
		r += 3.0;
		s += 4.0;
		coswitch(&main_sp, co_sp);
	}
	const unsigned long n = COSWITCH_TEST_ROUNDS;
	int bad = a != 1 + n || b != 2 + 2 * n || c != 3 + 3 * n || d != 4 + 4 * n || e != 5 + 5 * n ||
		  f != 6 + 6 * n || g != 7 + 7 * n || p != 1.0 + (double)n || q != 2.0 + 2.0 * (double)n ||
		  r != 3.0 + 3.0 * (double)n || s != 4.0 + 4.0 * (double)n || co_rounds != n;
	if (bad) {
		fprintf(stderr, "coswitch: FAILED: a value kept across switches changed (rounds %u)\n", co_rounds);
		return 1;
	}
#if defined(__x86_64__)
	puts("coswitch: ok (x86-64)");
#else
	puts("coswitch: ok (aarch64)");
#endif
	return 0;
}
#endif
