/* SPDX-License-Identifier: MIT */
#ifndef WEFT_DEBUG_H
#define WEFT_DEBUG_H

/*
 * debug.h - what WEFT_DEBUG builds use to report misuse.
 *
 * Misuse that no return code can report (unlocking a mutex the caller does not
 * hold, locking it again from its owner) aborts a WEFT_DEBUG build with a message
 * naming the primitive, its address and the misuse.  Release builds compile none
 * of these checks.  The functions are always present in the library, so code
 * built with WEFT_DEBUG links against a release libweft.
 */

#include <stdint.h>

#include "config.h"

WEFT_EXTERN_C_BEGIN

/**
 * weft_debug_die() - print "weft: <prim> <addr>: <misuse>" to stderr and abort.
 * @prim: the primitive's type name, e.g. "weft_mutex_t".
 * @addr: the object.
 * @misuse: what the caller did wrong.
 *
 * Context: any; does not return.
 */
WEFT_NORETURN WEFT_COLD void weft_debug_die(const char *prim, const void *addr, const char *misuse);

/**
 * weft_debug_self() - a nonzero id of the calling thread, unique across processes
 * (the kernel thread id), used as the owner mark of WEFT_DEBUG locks.
 *
 * A fork()ed child's thread gets its own id: it does not pass for the parent
 * thread that held a lock at fork() time (as with glibc's error-checking
 * mutexes, a lock held across fork() cannot be unlocked by the child).
 *
 * Return: the id, cached per thread after the first call.
 */
uint32_t weft_debug_self(void);

WEFT_EXTERN_C_END

#endif /* WEFT_DEBUG_H */
