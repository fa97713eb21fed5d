/* SPDX-License-Identifier: MIT */
/*
 * cancel.c - cancellation tokens (include/weft/cancel.h): init, cancel,
 * destroy.  The waiting side is the wait layer's (src/wait.h): a cancellable
 * wait sleeps on its token's state word and its ancestors', and
 * weft__cancel_wake() reaches the sleepers of either wait path.
 */
#include "weft/cancel.h"

#include <stddef.h>

#include "wait.h"
#include "weft/atomic.h"
#include "weft/status.h"

/* The number of ancestors of @tok (0 for a root), from its info word. */
static unsigned depth_of(const weft_cancel_t *tok)
{
	return (tok->info >> WEFT__CANCEL_DEPTH_SHIFT) & WEFT__CANCEL_DEPTH_MASK;
}

int weft_cancel_init(weft_cancel_t *tok, weft_cancel_t *parent, unsigned flags)
{
	if (tok == NULL || parent == tok || (flags & ~WEFT_PSHARED) != 0)
		return WEFT_EINVAL;
	unsigned depth = 0;
	if (parent != NULL) {
		depth = depth_of(parent) + 1;
		if (depth >= WEFT_CANCEL_MAX_CHAIN)
			return WEFT_EINVAL; /* the chain would hold more than WEFT_CANCEL_MAX_CHAIN */
		if ((flags & WEFT_PSHARED) && !(parent->info & WEFT__CANCEL_PSHARED))
			return WEFT_EINVAL; /* a private parent's wake-up stays in its process */
	}
	/* relaxed: init must not race with any use of @tok; it is published to
	 * other threads (or processes) as any data is */
	weft_atomic_store(&tok->state, 0, WEFT_RELAXED);
	tok->info = (flags & WEFT_PSHARED ? WEFT__CANCEL_PSHARED : 0) | depth << WEFT__CANCEL_DEPTH_SHIFT;
	tok->parent_off = parent == NULL ? 0 : (int64_t)((const char *)parent - (const char *)tok);
	return WEFT_OK;
}

/* The wake-up after weft_cancel()'s release (cancel.h) set the bit first.
 * WEFT_NOIPA and a compiler barrier (config.h): weft_cancel() hands the
 * caller's writes over to the cancelled threads, and a compiler that saw
 * this as leaving the caller's globals alone could sink them past it. */
WEFT_NOIPA void weft_cancel_slow(weft_cancel_t *tok)
{
	WEFT_COMPILER_BARRIER();
	weft__cancel_wake(tok);
}

void weft_cancel_destroy(weft_cancel_t *tok)
{
	(void)tok; /* a token owns nothing */
}
