/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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

uint32_t weft_debug_self(void)
{
	/* Per-thread cache; the kernel tid is unique across processes, which the
	 * owner mark of a process-shared mutex needs. */
	static __thread uint32_t self;
	if (self == 0)
		self = (uint32_t)syscall(SYS_gettid);
	return self;
}
