/* SPDX-License-Identifier: MIT */
#ifndef WEFT_CHAOS_H
#define WEFT_CHAOS_H

/*
 * chaos.h - schedule perturbation points for testing (the WEFT_CHAOS build).
 *
 * WEFT__CHAOS_POINT() marks a place in weft's own code where a thread can lose
 * a race: between a load and the CAS that depends on it, just before a futex
 * wait, between claiming a queue slot and publishing it, between two state
 * changes of a blocking primitive.  In a normal build it expands to nothing,
 * so release code is unchanged.  Built with -DWEFT_CHAOS (library and program
 * alike; `make chaos` does it), each point calls weft__chaos_point() in
 * src/chaos.c, which now and then yields the CPU, spins briefly or sleeps a
 * few microseconds, driven by a per-thread generator seeded from the
 * environment variable WEFT_CHAOS_SEED.  The delays widen the race windows so
 * that stress tests reach interleavings an unperturbed run almost never does.
 */

#include "config.h"

#ifdef WEFT_CHAOS
WEFT_EXTERN_C_BEGIN
void weft__chaos_point(void);
WEFT_EXTERN_C_END
#define WEFT__CHAOS_POINT() weft__chaos_point()
#else
#define WEFT__CHAOS_POINT() ((void)0)
#endif

#endif /* WEFT_CHAOS_H */
