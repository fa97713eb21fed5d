/* SPDX-License-Identifier: MIT */
/*
 * fairness.c - the bound of eventual fairness and its clock (src/fairness.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime() under -std=c11 */
#endif
#include "fairness.h"

#include <errno.h>
#include <time.h>

#include "weft/atomic.h"
#include "weft/mutex.h"

/* relaxed everywhere: a tuning knob, see fairness.h */
static uint64_t fair_bound_ns = WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT;

uint64_t weft_mutex_set_fair_bound(uint64_t ns)
{
	return weft_atomic_exchange(&fair_bound_ns, ns, WEFT_RELAXED);
}

uint64_t weft__fair_bound_ns(void)
{
	return weft_atomic_load(&fair_bound_ns, WEFT_RELAXED);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	int saved_errno = errno;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for CLOCK_MONOTONIC on Linux */
	errno = saved_errno;
	/* +1: 0 means "not started", and the clock may read 0 s 0 ns in theory */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 1u;
}

void weft__fair_start(struct weft__fair_clock *clock)
{
	if (clock->since_ns == 0)
		clock->since_ns = now_ns();
}

bool weft__fair_starving(const struct weft__fair_clock *clock)
{
	return clock->since_ns != 0 && now_ns() - clock->since_ns >= weft__fair_bound_ns();
}

/* The time of each slot's last hand-off (ns, as now_ns()); 0: none yet.
 * relaxed: a rate limit; a stale read allows or delays one hand-off. */
#define FAIR_SLOTS 64u /* power of two */
static uint64_t last_handoff_ns[FAIR_SLOTS];

static uint64_t *slot_of(const void *lock)
{
	/* Fibonacci hashing of the address; the low bits are alignment. */
	uintptr_t h = ((uintptr_t)lock >> 2) * (uintptr_t)0x9E3779B97F4A7C15ull;
	return &last_handoff_ns[(h >> 26) & (FAIR_SLOTS - 1)];
}

bool weft__fair_handoff_allowed(const void *lock)
{
	uint64_t last = weft_atomic_load(slot_of(lock), WEFT_RELAXED);
	return last == 0 || now_ns() - last >= weft__fair_bound_ns();
}

void weft__fair_handoff_taken(const void *lock)
{
	weft_atomic_store(slot_of(lock), now_ns(), WEFT_RELAXED);
}
