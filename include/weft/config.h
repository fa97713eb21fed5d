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
#ifdef __cplusplus
/* nothrow: weft's C code never throws, so a C++ caller (weft.hpp's noexcept
 * lock and unlock) needs no std::terminate landing pad around a slow path */
#define WEFT_NOINLINE __attribute__((noinline, nothrow))
#else
#define WEFT_NOINLINE __attribute__((noinline))
#endif
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

/*
 * Compiler checks of the caller's code (issue 17).
 *
 * WEFT_NODISCARD marks every call whose result reports a failure (try, timed,
 * push/pop, create, init with flags, post): ignoring it is a warning
 * (-Wunused-result, on by default).  C++17 and C23 spell it [[nodiscard]],
 * which a (void) cast silences; in C11 it is warn_unused_result, which gcc
 * reports even through a (void) cast (gcc bug 66425; clang accepts the cast):
 * to drop a result on purpose, write `(void)!weft_sem_post(&s);`, which both
 * compilers and both languages accept.
 */
#if defined(__cplusplus) && __cplusplus >= 201703L
#define WEFT_NODISCARD [[nodiscard]]
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ > 201710L
#define WEFT_NODISCARD [[nodiscard]]
#else
#define WEFT_NODISCARD __attribute__((__warn_unused_result__))
#endif

/*
 * clang's thread-safety analysis (-Wthread-safety), in C and C++: the lock
 * types are capabilities, and lock, trylock and unlock say what they acquire
 * and release, so clang reports an unlock of a lock not held, a lock taken
 * twice, or a function returning with a lock still held.  See
 * https://clang.llvm.org/docs/ThreadSafetyAnalysis.html.  Empty for gcc.
 *
 *   WEFT_CAPABILITY(name)          on a lock type
 *   WEFT_ACQUIRES(lock), WEFT_RELEASES(lock), WEFT_TRY_ACQUIRES(ok, lock)
 *   WEFT_ACQUIRES_SHARED, WEFT_RELEASES_SHARED, WEFT_TRY_ACQUIRES_SHARED: the read side
 *   WEFT_REQUIRES(lock), WEFT_REQUIRES_SHARED(lock): the caller must hold it
 *   WEFT_GUARDED_BY(lock)          on data (for the caller's own structs)
 *   WEFT_NO_THREAD_SAFETY_ANALYSIS on a function the analysis cannot follow
 *
 * A timed lock call is a try-acquire that succeeds when it returns WEFT_OK
 * (0): `if (weft_mutex_timedlock(&m, &d) == WEFT_OK) ... weft_mutex_unlock(&m);`
 * checks clean, and so does a status kept in a variable and tested later.
 * A condition variable's wait requires its mutex.
 */
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(capability)
#define WEFT__TSA(x) __attribute__((x))
#endif
#endif
#ifdef WEFT__TSA
#define WEFT_CAPABILITY(name) WEFT__TSA(capability(name))
#define WEFT_ACQUIRES(...) WEFT__TSA(acquire_capability(__VA_ARGS__))
#define WEFT_ACQUIRES_SHARED(...) WEFT__TSA(acquire_shared_capability(__VA_ARGS__))
#define WEFT_RELEASES(...) WEFT__TSA(release_capability(__VA_ARGS__))
#define WEFT_RELEASES_SHARED(...) WEFT__TSA(release_shared_capability(__VA_ARGS__))
#define WEFT_TRY_ACQUIRES(...) WEFT__TSA(try_acquire_capability(__VA_ARGS__))
#define WEFT_TRY_ACQUIRES_SHARED(...) WEFT__TSA(try_acquire_shared_capability(__VA_ARGS__))
#define WEFT_REQUIRES(...) WEFT__TSA(requires_capability(__VA_ARGS__))
#define WEFT_REQUIRES_SHARED(...) WEFT__TSA(requires_shared_capability(__VA_ARGS__))
#define WEFT_GUARDED_BY(x) WEFT__TSA(guarded_by(x))
#define WEFT_NO_THREAD_SAFETY_ANALYSIS WEFT__TSA(no_thread_safety_analysis)
/* weft's own lock calls: the annotation for callers, and no analysis of the
 * body (which takes the lock through atomics the analysis cannot see). */
#define WEFT__ACQ(...) WEFT__TSA(acquire_capability(__VA_ARGS__)) WEFT__TSA(no_thread_safety_analysis)
#define WEFT__ACQ_SHARED(...) WEFT__TSA(acquire_shared_capability(__VA_ARGS__)) WEFT__TSA(no_thread_safety_analysis)
#define WEFT__REL(...) WEFT__TSA(release_capability(__VA_ARGS__)) WEFT__TSA(no_thread_safety_analysis)
#define WEFT__REL_SHARED(...) WEFT__TSA(release_shared_capability(__VA_ARGS__)) WEFT__TSA(no_thread_safety_analysis)
#define WEFT__TRY(...) WEFT__TSA(try_acquire_capability(__VA_ARGS__)) WEFT__TSA(no_thread_safety_analysis)
#define WEFT__TRY_SHARED(...)                                                                     \
	WEFT__TSA(try_acquire_shared_capability(__VA_ARGS__)) WEFT__TSA(no_thread_safety_analysis)
#else
#define WEFT_CAPABILITY(name)
#define WEFT_ACQUIRES(...)
#define WEFT_ACQUIRES_SHARED(...)
#define WEFT_RELEASES(...)
#define WEFT_RELEASES_SHARED(...)
#define WEFT_TRY_ACQUIRES(...)
#define WEFT_TRY_ACQUIRES_SHARED(...)
#define WEFT_REQUIRES(...)
#define WEFT_REQUIRES_SHARED(...)
#define WEFT_GUARDED_BY(x)
#define WEFT_NO_THREAD_SAFETY_ANALYSIS
#define WEFT__ACQ(...)
#define WEFT__ACQ_SHARED(...)
#define WEFT__REL(...)
#define WEFT__REL_SHARED(...)
#define WEFT__TRY(...)
#define WEFT__TRY_SHARED(...)
#endif

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
