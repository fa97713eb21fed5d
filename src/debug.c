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
static __thread uint32_t weft__debug_self_id;
static pthread_once_t weft__debug_atfork_once = PTHREAD_ONCE_INIT;

/* In a fork()ed child the calling thread is a new thread with a new tid, but
 * its copy of the cache still holds the parent's: forget it, or the child
 * would pass for the parent's thread as the owner of a process-shared mutex. */
static void weft__debug_forget_self(void)
{
	weft__debug_self_id = 0;
}

static void weft__debug_register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, weft__debug_forget_self);
}

uint32_t weft_debug_self(void)
{
	/* The kernel tid is unique across processes, which the owner mark of a
	 * process-shared mutex needs.  The atfork handler is registered before
	 * any thread caches a tid, so no cached tid survives into a child. */
	if (weft__debug_self_id == 0) {
		pthread_once(&weft__debug_atfork_once, weft__debug_register_atfork);
		weft__debug_self_id = (uint32_t)syscall(SYS_gettid);
	}
	return weft__debug_self_id;
}
