/* SPDX-License-Identifier: MIT */
#ifndef WEFT_CANCEL_H
#define WEFT_CANCEL_H

/*
 * cancel.h - cancellation tokens: wake a wait, at once and for good.
 *
 * A weft_cancel_t is Go's context.Done() / C++20's std::stop_token reduced to
 * 16 bytes: one 32-bit state word holding a "cancelled" bit, and the offset of
 * its parent.  weft_cancel() sets the bit (once, for good) and wakes every
 * weft wait that names the token or one of its descendants; the `_ctx`
 * variants of the blocking calls (weft_mutex_lock_ctx(), weft_sem_wait_ctx(),
 * weft_mpmc_pop_ctx(), ...) then return WEFT_ECANCELED without having done
 * their operation.  Polling is weft_cancel_requested().
 *
 * Trees.  weft_cancel_init(child, parent, flags) chains a child to a parent:
 * cancelling the parent cancels the child (and its children), cancelling the
 * child leaves the parent alone, as in a Go context tree.  Nothing is
 * allocated, and nothing walks down the tree: a waiter sleeps on the state
 * words of its token and of every ancestor at once, so a parent's cancel
 * reaches it directly.  A chain holds at most WEFT_CANCEL_MAX_CHAIN tokens
 * (the token and its ancestors); weft_cancel_init() refuses a deeper one.
 *
 * The parent is recorded as a self-relative offset, not a pointer, so that a
 * chain inside one shared mapping is valid in every process that maps it, at
 * any address.  Hence the rule for WEFT_PSHARED tokens: a process-shared token
 * and its parent must live in the same mapping, and a process-shared token's
 * parent must be process-shared too (a private token's wake-up would not reach
 * a sleeper in another process).  A private token's parent may be anywhere in
 * the process, private or process-shared.  Moving a token (memcpy) breaks its
 * chain; copy neither tokens nor the memory that holds a chain.
 *
 * All-zero is a valid uncancelled root token (WEFT_CANCEL_INIT), private.
 * There is no "uncancel": a token stays cancelled until weft_cancel_init()
 * makes it new, which must not race with any use of it.
 *
 * How the wake-up works (src/wait.h): on Linux 5.16 and later a cancellable
 * wait sleeps with futex_waitv() on the object's word and on every state word
 * of the chain, and weft_cancel() is one FUTEX_WAKE on the token's word.
 * Without futex_waitv (older kernels, the portable wait backend), a waiter
 * with a private chain registers in a per-process table before it sleeps and
 * weft_cancel() wakes it through the table; a waiter whose chain holds a
 * process-shared token (which another process may cancel) checks the chain
 * every 1 ms instead.  A sleeper whose chain holds a process-shared token also
 * naps 50 ms on the futex_waitv path: a canceller killed between its bit and
 * its wake-up strands nobody (docs/processes.md).  docs/cancel.md has the
 * measured latencies; the protocol's Spin model is models/cancel.pml.
 *
 * Progress: weft_cancel() is an atomic OR, one system call and, for a
 * private token, a walk of the fallback's registry under its lock (empty
 * while every wait uses futex_waitv); it waits only for registered fallback
 * waiters of the chain to leave their sleep (see weft_cancel()).
 *
 * Ordering: weft_cancel() is a release of everything its caller wrote before
 * it; weft_cancel_requested() returning true, and a wait returning
 * WEFT_ECANCELED, are acquires that pair with it (the canceller's reason for
 * cancelling, written before weft_cancel(), is visible to the cancelled).
 */

#include <stdbool.h>
#include <stdint.h>

#include "atomic.h"
#include "config.h"
#include "status.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

/* state word */
#define WEFT__CANCEL_CANCELLED 0x1u /* set once by weft_cancel(); never cleared */

/* info word (written by weft_cancel_init() only, read-only afterwards) */
#define WEFT__CANCEL_PSHARED 0x1u /* = WEFT_PSHARED: wake with the shared futex flavour */
#define WEFT__CANCEL_DEPTH_SHIFT 8 /* bits 8..15: number of ancestors (0: a root) */
#define WEFT__CANCEL_DEPTH_MASK 0xffu

/* Most tokens in one chain (a token and its ancestors).  A cancellable wait
 * sleeps on this many words beside its own (futex_waitv takes 128 in all). */
#define WEFT_CANCEL_MAX_CHAIN 16

typedef struct weft_cancel {
	uint32_t state;     /* WEFT__CANCEL_CANCELLED, or 0; waiters sleep on this word */
	uint32_t info;      /* WEFT__CANCEL_PSHARED | depth << WEFT__CANCEL_DEPTH_SHIFT */
	int64_t parent_off; /* (char *)parent - (char *)this; 0: no parent */
} weft_cancel_t;

WEFT_STATIC_ASSERT(sizeof(weft_cancel_t) == 16, "weft_cancel_t is 16 bytes");

/* A private, uncancelled root token; the same state as all-zero memory. */
#define WEFT_CANCEL_INIT {0, 0, 0}

/* The parent of @tok, or NULL for a root. */
static inline const weft_cancel_t *weft__cancel_parent(const weft_cancel_t *tok)
{
	/* plain read: written by weft_cancel_init() before the token is shared */
	return tok->parent_off == 0 ? (const weft_cancel_t *)0
				    : (const weft_cancel_t *)(const void *)((const char *)tok + tok->parent_off);
}

/**
 * weft_cancel_init() - make @tok a new, uncancelled token, child of @parent.
 * @tok: the token.
 * @parent: the parent, whose cancel cancels @tok too; NULL for a root.
 * @flags: 0, or WEFT_PSHARED for a token in shared memory used by several
 *         processes (its parent, if any, must then be WEFT_PSHARED and in the
 *         same mapping).
 *
 * Not needed for a root: all-zero memory and WEFT_CANCEL_INIT are one.  Must
 * not race with any other use of @tok.  @parent may be cancelled already:
 * @tok then reads as cancelled at once.
 *
 * Context: any thread; does not block.
 * Ordering: none (publish @tok to other threads as any data).
 * Return: WEFT_OK, or WEFT_EINVAL if @tok is NULL, @parent is @tok, @flags
 * holds an unknown bit, the chain would hold more than WEFT_CANCEL_MAX_CHAIN
 * tokens, or @flags has WEFT_PSHARED and @parent does not.
 */
WEFT_NODISCARD int weft_cancel_init(weft_cancel_t *tok, weft_cancel_t *parent, unsigned flags);

/* The out-of-line half of weft_cancel(): the wake-up (src/cancel.c). */
WEFT_NOINLINE void weft_cancel_slow(weft_cancel_t *tok);

/**
 * weft_cancel() - cancel @tok and its descendants, at once and for good.
 * @tok: the token; NULL does nothing.
 *
 * Sets the token's cancelled bit and wakes every weft wait that names @tok or
 * a descendant; those return WEFT_ECANCELED (their operation not done).  Later
 * cancellable calls that would wait return WEFT_ECANCELED without sleeping.
 * Cancelling twice is harmless.
 *
 * Context: any thread; does not sleep, but on the fallback path (no
 * futex_waitv) it takes a process-local lock and wakes, and yields the CPU to,
 * each registered waiter of the chain until that waiter has left its sleep:
 * a waiter stopped (SIGSTOP, a debugger) between its look at the token and
 * its sleep holds the call up until it runs again.  Never from a signal
 * handler.
 * Ordering: release: pairs with the acquire of weft_cancel_requested() and of
 * a wait that returns WEFT_ECANCELED.  The release is made here, in the
 * caller's code, so that ThreadSanitizer sees it with a library built
 * without it.
 */
static inline void weft_cancel(weft_cancel_t *tok)
{
	if (tok == (weft_cancel_t *)0)
		return;
	/* release: publishes what the canceller wrote before; pairs with the
	 * acquire loads of weft_cancel_requested() (and so of every wait that
	 * returns WEFT_ECANCELED, and weft__cancel_acquired()) */
	uint32_t old = weft_atomic_fetch_or(&tok->state, WEFT__CANCEL_CANCELLED, WEFT_RELEASE);
	if (!(old & WEFT__CANCEL_CANCELLED)) /* a cancel before: that one wakes (or woke) the sleepers */
		weft_cancel_slow(tok);
}

/**
 * weft_cancel_requested() - whether @tok or any of its ancestors is cancelled.
 * @tok: the token; NULL: never cancelled.
 *
 * Context: any thread; does not block; async-signal-safe.
 * Ordering: acquire when it returns true: pairs with the release in
 * weft_cancel(), so what the canceller wrote before cancelling is visible.
 * Return: true once @tok or an ancestor has been cancelled.
 */
static inline bool weft_cancel_requested(const weft_cancel_t *tok)
{
	/* bounded: weft_cancel_init() never builds a longer chain */
	for (int i = 0; tok != (const weft_cancel_t *)0 && i < WEFT_CANCEL_MAX_CHAIN; i++) {
		/* acquire: pairs with the release fetch_or in weft_cancel() */
		if (weft_atomic_load(&tok->state, WEFT_ACQUIRE) & WEFT__CANCEL_CANCELLED)
			return true;
		tok = weft__cancel_parent(tok);
	}
	return false;
}

/*
 * weft__cancel_acquired() - for the `_ctx` calls' inline wrappers: return @rc,
 * and when it is WEFT_ECANCELED, load @tok's chain again with acquire here,
 * in the caller's code.  The library's own acquire (inside the wait) is
 * invisible to ThreadSanitizer when the library was built without it, and
 * TSan would report the canceller's data, read after the cancelled call, as
 * a race (make check-tsan-installed, section "cancel").  Under TSan only
 * (tsan.h's WEFT_TSAN): elsewhere it compiles to nothing.
 */
static inline int weft__cancel_acquired(int rc, const weft_cancel_t *tok)
{
#ifdef WEFT_TSAN
	if (rc == WEFT_ECANCELED)
		(void)weft_cancel_requested(tok); /* acquire: pairs with weft_cancel()'s release */
#else
	(void)tok; /* the library's acquire orders the memory; only TSan needs to see one */
#endif
	return rc;
}

/**
 * weft_cancel_destroy() - end the life of @tok.
 * @tok: the token; NULL does nothing.
 *
 * No wait may name @tok (or a descendant) any more, and no descendant may be
 * used after it.  Frees nothing: a token owns no resources.
 *
 * Context: any thread; does not block.
 */
void weft_cancel_destroy(weft_cancel_t *tok);

WEFT_EXTERN_C_END

#endif /* WEFT_CANCEL_H */
