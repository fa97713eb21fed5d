/* SPDX-License-Identifier: MIT */
/*
 * chaos.c - the schedule perturbations of a WEFT_CHAOS build (see chaos.h).
 *
 * Each thread owns a xorshift64* generator (Marsaglia, "Xorshift RNGs", 2003;
 * Vigna's * output scrambler, 2016), seeded on its first chaos point from
 * WEFT_CHAOS_SEED (0 if unset), the order in which threads reached their first
 * point, and the process id (forked children diverge from their parent).  The
 * seed also picks how dense the perturbations are, so that a handful of seeds
 * covers both light and heavy chaos: a point acts with probability 1/2, 1/4,
 * 1/8 or 1/16 (seed % 4), and an acting point
 *   - yields the CPU (sched_yield)                    half the time,
 *   - spins for 1-512 cpu_relax pauses                 3 in 8,
 *   - sleeps 1-50 us (nanosleep; usually longer, the   1 in 8.
 *     kernel rounds up)
 * A seed does not replay a run exactly (the OS scheduler still decides), but
 * it fixes each thread's sequence of perturbations, which makes a failing seed
 * far likelier to fail again.
 *
 * This file uses no weft primitive (a chaos point inside one must not recurse)
 * and compiles to nothing without WEFT_CHAOS.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_yield(), nanosleep() under -std=c11 */
#endif

#include "weft/chaos.h"

#ifdef WEFT_CHAOS

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "weft/atomic.h"

static unsigned weft__chaos_threads; /* threads seeded so far; relaxed: only a distinct number is needed */
static __thread uint64_t weft__chaos_state; /* 0: not seeded yet */
static __thread uint32_t weft__chaos_mask;  /* act when (r & mask) == 0 */

/* splitmix64 (Steele, Lea, Flood, "Fast Splittable Pseudorandom Number
 * Generators", OOPSLA 2014): spreads a seed into a well-mixed, nonzero state. */
static uint64_t weft__chaos_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	x ^= x >> 31;
	return x ? x : 1;
}

static void weft__chaos_seed(void)
{
	const char *env = getenv("WEFT_CHAOS_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0;
	uint64_t nth = weft_atomic_fetch_add(&weft__chaos_threads, 1u, WEFT_RELAXED); /* relaxed: see above */
	weft__chaos_state = weft__chaos_mix(seed ^ weft__chaos_mix(nth + ((uint64_t)getpid() << 32)));
	weft__chaos_mask = (2u << (seed % 4)) - 1; /* 1/2, 1/4, 1/8, 1/16 */
}

static uint64_t weft__chaos_next(void)
{
	uint64_t x = weft__chaos_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	weft__chaos_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

void weft__chaos_point(void)
{
	if (WEFT_UNLIKELY(weft__chaos_state == 0))
		weft__chaos_seed();
	uint64_t r = weft__chaos_next();
	if ((r & weft__chaos_mask) != 0)
		return;
	unsigned kind = (unsigned)(r >> 32) % 8;
	if (kind < 4) {
		sched_yield();
	} else if (kind < 7) {
		unsigned pauses = 1 + (unsigned)(r >> 40) % 512;
		for (unsigned i = 0; i < pauses; i++)
			weft_cpu_relax();
	} else {
		int saved = errno; /* nanosleep() may set it (EINTR); callers' errno stays theirs */
		struct timespec nap = {0, (long)(1000 + (r >> 40) % 49000)};
		nanosleep(&nap, NULL);
		errno = saved;
	}
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int weft__chaos_off;
#endif /* WEFT_CHAOS */
