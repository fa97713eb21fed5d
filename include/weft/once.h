/* SPDX-License-Identifier: MIT */
#ifndef WEFT_ONCE_H
#define WEFT_ONCE_H

/*
 * once.h - run an initialization function exactly once, however many threads
 * ask for it at the same time.
 *
 * Algorithm: a 32-bit futex word with three kinds of value (the futex
 * "once" of U. Drepper, "Futexes Are Tricky", 2011, and Rust std's
 * sys/sync/once/futex.rs, written anew):
 *
 *     NEW      0            nobody has started
 *     DONE     1            fn has returned; everyone may go on
 *     RUNNING  tid << 1     thread `tid` runs fn ...
 *              | WAITERS    ... and bit 0 set: threads may sleep on the word
 *
 * weft_once(): if the word is DONE, return (one acquire load, inline).  Else
 * CAS NEW -> RUNNING(self): the winner runs fn, swaps in DONE and, if the
 * WAITERS bit was set, wakes every sleeper.  The others watch the word for a
 * bounded spin, then set WAITERS and sleep until it is DONE.
 *
 * Keeping the runner's thread id in the word lets weft catch the one misuse
 * that would otherwise hang for ever: fn calling weft_once() on the same
 * object.  That aborts with a message, in every build (it costs nothing on the
 * fast path).  fn must return normally: if it exits the thread, longjmp()s
 * out, or is cancelled, every other caller waits for ever.  A child forked
 * while another thread runs fn inherits a RUNNING word and would wait for
 * ever too.
 *
 * Progress: blocking for the callers that arrive while fn runs; wait-free
 * (one load) once it is done.  Fairness: not applicable.
 *
 * Ordering: everything fn wrote (and everything its caller wrote before) is
 * visible to every thread after its weft_once() returns: the DONE store is a
 * release, the fast-path load and the sleepers' loads are acquires.
 *
 * Footprint: 4 bytes (pthread_once_t: 4).  All-zero is NEW; WEFT_ONCE_INIT is
 * the same.  Private to a process (no WEFT_PSHARED).
 */

#include <stdbool.h>
#include <stdint.h>

#include "atomic.h"
#include "config.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

#define WEFT_ONCE_NEW 0u
#define WEFT_ONCE_DONE 1u
#define WEFT_ONCE_WAITERS 1u /* bit 0 of a RUNNING word (which is never 1 alone) */

typedef struct weft_once {
	uint32_t state; /* NEW, DONE, or runner tid << 1 | WAITERS */
} weft_once_t;

WEFT_STATIC_ASSERT(sizeof(weft_once_t) == 4, "weft_once_t is one 32-bit word");

#define WEFT_ONCE_INIT {0}

WEFT_NOINLINE WEFT_COLD void weft_once_slow(weft_once_t *once, void (*fn)(void));

/**
 * weft_once() - call @fn if no call on @once has, and wait until it returned.
 * @once: the once flag (WEFT_ONCE_INIT or all-zero).
 * @fn: the function; it must return normally and must not call weft_once()
 *      on the same @once (that aborts).
 *
 * Exactly one caller runs @fn; every caller returns only after @fn has
 * returned.
 *
 * Context: may block while another thread runs @fn; not async-signal-safe.
 * Ordering: acquire; pairs with the release that marks @fn done.
 */
/*
 * TSan: weft_once() publishes what @fn wrote to every caller that returns; the
 * library stores DONE (a release) after @fn, and a library built without TSan
 * does not show that store.  The announcement must come after @fn and before
 * DONE, that is inside the library's call: so under TSan the library runs
 * weft__once_tsan_run(), which runs @fn and then releases the once, and every
 * caller acquires it on the way out (fast path included: it read DONE from the
 * library's store).  The thread-local pair carries @fn and the once to the
 * trampoline (saved and restored, so @fn may itself call weft_once()).
 */
#ifdef WEFT_TSAN
struct weft__once_tsan {
	void (*fn)(void);
	weft_once_t *once;
};
#ifdef __cplusplus
static thread_local struct weft__once_tsan weft__once_tsan_cur;
#else
static _Thread_local struct weft__once_tsan weft__once_tsan_cur __attribute__((unused));
#endif
static inline void weft__once_tsan_run(void)
{
	struct weft__once_tsan me = weft__once_tsan_cur;
	me.fn();
	WEFT_TSAN_RELEASE(me.once); /* TSan: @fn's writes, before the library stores DONE */
}
#endif

static inline void weft_once(weft_once_t *once, void (*fn)(void))
{
	/* acquire: pairs with the release exchange that stores DONE after fn */
	if (WEFT_LIKELY(weft_atomic_load(&once->state, WEFT_ACQUIRE) == WEFT_ONCE_DONE)) {
		WEFT_TSAN_ACQUIRE(once); /* TSan: see above */
		return;
	}
#ifdef WEFT_TSAN
	struct weft__once_tsan saved = weft__once_tsan_cur;
	weft__once_tsan_cur.fn = fn;
	weft__once_tsan_cur.once = once;
	weft_once_slow(once, weft__once_tsan_run);
	weft__once_tsan_cur = saved;
	WEFT_TSAN_ACQUIRE(once); /* TSan: see above */
#else
	weft_once_slow(once, fn);
#endif
}

/**
 * weft_once_done() - whether the function of @once has returned.
 * @once: the once flag.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire: if true, what the function wrote is visible.
 * Return: true once the function has returned.
 */
static inline bool weft_once_done(weft_once_t *once)
{
	/* acquire: as in weft_once() */
	return weft_atomic_load(&once->state, WEFT_ACQUIRE) == WEFT_ONCE_DONE;
}

WEFT_EXTERN_C_END

#endif /* WEFT_ONCE_H */
