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
