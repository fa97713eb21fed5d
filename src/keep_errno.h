/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_KEEP_ERRNO_H
#define WEFT_SRC_KEEP_ERRNO_H

/*
 * keep_errno.h - no weft call changes errno (docs/errors.md).  A call into
 * the C library that may set it (malloc, aligned_alloc, posix_memalign, mmap,
 * a system call) is bracketed:
 *
 *     int saved = weft__errno_save();
 *     void *mem = aligned_alloc(...);
 *     weft__errno_restore(saved);
 *
 * The compiler barrier in weft__errno_restore() is what makes the pair
 * robust: gcc knows posix_memalign() reports through its return value and
 * assumes it leaves errno alone, so without the barrier `errno = saved` is a
 * store of the value just loaded and gcc -O2 deletes the save and the
 * restore (glibc's posix_memalign() does set errno to ENOMEM on the way).
 * The same reasoning would reach malloc() and aligned_alloc() under
 * -fno-math-errno (-ffast-math), which tells gcc that they do not set errno
 * either.
 */

#include <errno.h>

#include "weft/config.h"

static inline int weft__errno_save(void)
{
	return errno;
}

static inline void weft__errno_restore(int saved)
{
	WEFT_COMPILER_BARRIER(); /* errno may have changed in the call: see above */
	errno = saved;
}

#endif /* WEFT_SRC_KEEP_ERRNO_H */
