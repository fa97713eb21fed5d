/* SPDX-License-Identifier: MIT */
#ifndef WEFT_CONFIG_H
#define WEFT_CONFIG_H

/*
 * config.h - version, flags, cache-line size and the compiler seams every other
 * weft header uses.  Nothing here allocates, blocks or owns state.
 */

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1
#define WEFT_VERSION_PATCH 0
#define WEFT_VERSION_STRING "0.1.0"

/* Object flags accepted by every weft_<type>_init(). */
#define WEFT_PSHARED 0x1u /* the object lives in shared memory and is used by several processes */

/*
 * The unit of false sharing.  64 bytes on x86-64 and on the aarch64 cores we
 * target; fields written by different threads are kept this far apart.
 */
#define WEFT_CACHE_LINE 64

#if defined(__GNUC__) || defined(__clang__)
#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WEFT_NOINLINE __attribute__((noinline))
#define WEFT_COLD __attribute__((cold))
#define WEFT_ALIGNED(n) __attribute__((aligned(n)))
#define WEFT_NORETURN __attribute__((noreturn))
#else
#error "weft needs GCC or Clang (it uses the __atomic builtins)"
#endif

/*
 * Blocking calls are compiler barriers for the caller's data (DESIGN.md), in
 * every build: linked, LTO, or the single header compiled into the caller's
 * own file.  An ordinary call is one only while the compiler cannot see what
 * the callee touches.  When it can (one translation unit, or -flto), gcc's
 * ipa-reference pass summarizes each function by the non-escaping globals it
 * may read or write, and builds that summary from the callee bodies and call
 * edges alone: an __atomic builtin (declared leaf) and a leaf-declared libc
 * call (glibc's syscall(), clock_gettime(), sched_yield(), nanosleep()) add
 * nothing, and neither does an asm with a "memory" clobber.  A blocking path
 * made only of those is summarized as "writes no global", so a caller's
 * `while (!ready) weft_cond_wait(...)` keeps `ready` in a register and never
 * sees another thread's store, although the acquire inside the wait
 * synchronizes with it (gcc 12.2, -O1..-O3 and -flto; -fno-ipa-reference
 * cures it).  clang's GlobalsAA makes the same deduction for a function of
 * atomics alone, but takes an asm "memory" clobber as "reads and writes all".
 *
 * WEFT_NOIPA marks the functions where a thread waits for others: the wait
 * layer (src/wait.h), through which every parking path passes, and the
 * spinning slow paths that never reach it.  gcc's noipa attribute makes
 * callers treat the function as unknown, so their summaries, and every
 * summary above them, say "may write any global".  WEFT_COMPILER_BARRIER()
 * does the same for clang inside those functions.  Both cost nothing next to
 * a system call or a spin; fast paths, whose atomics sit in the caller's own
 * body, need neither (within one function both compilers order plain
 * accesses around an acquire or release atomic).
 * tests/single_header/loops.c checks every blocking call this way.
 */
#ifdef __has_attribute
#if __has_attribute(__noipa__)
#define WEFT_NOIPA __attribute__((__noipa__))
#endif
#endif
#ifndef WEFT_NOIPA
#define WEFT_NOIPA /* clang: no such attribute; WEFT_COMPILER_BARRIER() serves */
#endif
#define WEFT_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

/* C and C++ both read these headers; C++ needs the C linkage block. */
#ifdef __cplusplus
#define WEFT_EXTERN_C_BEGIN extern "C" {
#define WEFT_EXTERN_C_END }
#else
#define WEFT_EXTERN_C_BEGIN
#define WEFT_EXTERN_C_END
#endif

/* _Static_assert is C11; C++11 spells it static_assert. */
#ifdef __cplusplus
#define WEFT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define WEFT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#endif /* WEFT_CONFIG_H */
