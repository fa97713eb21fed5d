/* SPDX-License-Identifier: MIT */
#ifndef WEFT_ATOMIC_H
#define WEFT_ATOMIC_H

/*
 * atomic.h - the one seam between weft and the hardware's atomic operations.
 *
 * weft uses the GCC/Clang __atomic builtins on plain integer and pointer fields
 * rather than C11 _Atomic: C++ code can include the headers unchanged, and
 * ThreadSanitizer sees every access.  Every call names its memory order; weft
 * never relies on a default sequentially consistent operation.
 *
 * The wrappers are macros so that they work on any integer or pointer width the
 * builtins accept (4 and 8 bytes in weft).
 */

#include "chaos.h"
#include "config.h"

#define WEFT_RELAXED __ATOMIC_RELAXED
#define WEFT_ACQUIRE __ATOMIC_ACQUIRE
#define WEFT_RELEASE __ATOMIC_RELEASE
#define WEFT_ACQ_REL __ATOMIC_ACQ_REL
/* seq_cst: only for store-then-load handshakes (a waiter publishes itself,
 * then re-checks; the other side does the mirror image) where acquire and
 * release cannot order a store before a later load; each use says so. */
#define WEFT_SEQ_CST __ATOMIC_SEQ_CST /* seq_cst: see the comment above */

#define weft_atomic_load(p, mo) __atomic_load_n((p), (mo))
#define weft_atomic_store(p, v, mo) __atomic_store_n((p), (v), (mo))
#ifndef WEFT_CHAOS
#define weft_atomic_exchange(p, v, mo) __atomic_exchange_n((p), (v), (mo))
/* Strong CAS: fails only if *p != *expected; on failure *expected gets *p. */
#define weft_atomic_cas(p, expected, desired, mo_ok, mo_fail) \
	__atomic_compare_exchange_n((p), (expected), (desired), 0, (mo_ok), (mo_fail))
/* Weak CAS: may fail spuriously; for retry loops only. */
#define weft_atomic_cas_weak(p, expected, desired, mo_ok, mo_fail) \
	__atomic_compare_exchange_n((p), (expected), (desired), 1, (mo_ok), (mo_fail))
#else
/* The chaos build (chaos.h): the same operations, each preceded by a chaos
 * point, so that every CAS can lose the race against the load it validates. */
#define weft_atomic_exchange(p, v, mo) (WEFT__CHAOS_POINT(), __atomic_exchange_n((p), (v), (mo)))
#define weft_atomic_cas(p, expected, desired, mo_ok, mo_fail) \
	(WEFT__CHAOS_POINT(), __atomic_compare_exchange_n((p), (expected), (desired), 0, (mo_ok), (mo_fail)))
#define weft_atomic_cas_weak(p, expected, desired, mo_ok, mo_fail) \
	(WEFT__CHAOS_POINT(), __atomic_compare_exchange_n((p), (expected), (desired), 1, (mo_ok), (mo_fail)))
#endif
#define weft_atomic_fetch_add(p, v, mo) __atomic_fetch_add((p), (v), (mo))
#define weft_atomic_fetch_sub(p, v, mo) __atomic_fetch_sub((p), (v), (mo))
#define weft_atomic_fetch_or(p, v, mo) __atomic_fetch_or((p), (v), (mo))
#define weft_atomic_fetch_and(p, v, mo) __atomic_fetch_and((p), (v), (mo))
/* Prefer an ordered operation to a fence: ThreadSanitizer does not model fences. */
#define weft_atomic_fence(mo) __atomic_thread_fence(mo)

/**
 * weft_cpu_relax() - tell the CPU this thread is spinning.
 *
 * x86: PAUSE (lets the sibling hyperthread run and avoids the memory-order
 * machine clear when the spin ends).  aarch64: YIELD.  Elsewhere only a compiler
 * barrier, so that the spinning load is re-issued.
 *
 * Context: any; never blocks.
 */
static inline void weft_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* WEFT_ATOMIC_H */
