/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/debug.h"

void weft_debug_die(const char *prim, const void *addr, const char *misuse)
{
	fprintf(stderr, "weft: %s %p: %s\n", prim, addr, misuse);
	fflush(stderr);
	abort();
}

/* Per-thread cache of the kernel tid; 0 until the thread first asks. */
static __thread uint32_t debug_self;
static pthread_once_t debug_atfork_once = PTHREAD_ONCE_INIT;

/* In a fork()ed child the calling thread is a new thread with a new tid, but
 * its copy of the cache still holds the parent's: forget it, or the child
 * would pass for the parent's thread as the owner of a process-shared mutex. */
static void debug_forget_self(void)
{
	debug_self = 0;
}

static void debug_register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, debug_forget_self);
}

uint32_t weft_debug_self(void)
{
	/* The kernel tid is unique across processes, which the owner mark of a
	 * process-shared mutex needs.  The atfork handler is registered before
	 * any thread caches a tid, so no cached tid survives into a child. */
	if (debug_self == 0) {
		pthread_once(&debug_atfork_once, debug_register_atfork);
		debug_self = (uint32_t)syscall(SYS_gettid);
	}
	return debug_self;
}
