/* SPDX-License-Identifier: MIT */
#ifndef WEFT_RWLOCK_BIAS_H
#define WEFT_RWLOCK_BIAS_H

/*
 * rwlock_bias.h - the inline half of weft_rwlock_t's reader bias: the
 * visible-readers table and a biased reader's entry and exit.  Included by
 * rwlock.h; not an API of its own.  The writer's half (revocation: the table
 * scan, the wait for biased readers, the inhibit policy) is in
 * src/rwlock_bias.c; the state word it guards, in rwlock.h and src/rwlock.c.
 *
 * BRAVO (D. Dice, A. Kogan, "BRAVO - Biased Locking for Reader-Writer Locks",
 * USENIX ATC 2019) wraps an underlying reader-writer lock.  While the lock's
 * BIASED bit is set, a reader claims a slot of a process-wide table of
 * WEFT_RWLOCK_BIAS_SLOTS pointers (slot = hash of the lock and the thread;
 * CAS NULL -> lock), then re-checks the lock's state word for BIASED set and
 * no writer; its unlock stores NULL.  One atomic RMW on a line that other
 * threads rarely write.  A reader whose slot is taken, or that sees bias off
 * or a writer, backs out and takes the underlying lock's read path.  A writer
 * that finds BIASED set clears it and scans the whole table, waiting for every
 * slot that holds this lock.
 *
 * Ordering: the reader's slot CAS and state load and the writer's BIASED
 * clear and slot loads are all seq_cst: a store-load (Dekker) handshake, so
 * either the writer sees the reader's slot or the reader sees BIASED clear.
 * A biased reader's unlock is a release store that pairs with the writer's
 * (seq_cst, so acquire) slot load.
 *
 * Footprint: 8 KiB of table per process (1024 slots, 128 cache lines), 128
 * bytes of thread-local held bits per thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "config.h"

WEFT_EXTERN_C_BEGIN

struct weft_rwlock;

#define WEFT_RWLOCK_BIAS_BITS 10
#define WEFT_RWLOCK_BIAS_SLOTS (1u << WEFT_RWLOCK_BIAS_BITS)
/* The default inhibit multiplier N: after a revocation that took t, reader
 * bias stays off for N * t (see weft_rwlock_set_bias() in rwlock.h). */
#define WEFT_RWLOCK_BIAS_DEFAULT 9u
/* Counted reads by the calling thread; every WEFT_RWLOCK_REBIAS_EVERY-th
 * one of an unbiased private lock calls weft_rwlock_rebias_slow(), which
 * turns reader bias back on once no revocation inhibits it. */
#define WEFT_RWLOCK_REBIAS_EVERY 64u

/* The visible-readers table, shared by every private weft_rwlock_t of the
 * process, defined in src/rwlock_bias.c.  A slot holds the lock a biased
 * reader holds, or NULL. */
extern struct weft_rwlock *weft__rwlock_readers[WEFT_RWLOCK_BIAS_SLOTS];
/* One bit per table slot, set while the calling thread holds that slot: how a
 * reader's unlock tells a table hold from a counted one.  Its address is also
 * the per-thread value hashed into the slot number. */
#ifdef __cplusplus
extern thread_local uint64_t weft__rwlock_held[WEFT_RWLOCK_BIAS_SLOTS / 64];
extern thread_local unsigned weft__rwlock_tick;
#else
extern _Thread_local uint64_t weft__rwlock_held[WEFT_RWLOCK_BIAS_SLOTS / 64];
extern _Thread_local unsigned weft__rwlock_tick;
#endif

/* The calling thread's slot of @rw in the visible-readers table: a
 * multiplicative hash of the lock's address and of a per-thread address. */
static inline unsigned weft__rwlock_slot(const struct weft_rwlock *rw)
{
	uint64_t h = (uint64_t)(uintptr_t)rw ^ ((uint64_t)(uintptr_t)&weft__rwlock_held[0] * 0xC2B2AE3D27D4EB4Full);
	return (unsigned)((h * 0x9E3779B97F4A7C15ull) >> (64 - WEFT_RWLOCK_BIAS_BITS));
}

/*
 * A biased reader's entry: claim our slot (NULL -> rw), then load the lock's
 * state word @state and check that (*state & @mask) == @want (for
 * weft_rwlock_t: BIASED set, no writer holding, no writer waiting at the head
 * of the queue, so writer preference holds for biased readers too).  Return:
 * true if in (our held bit is then set); false with nothing changed otherwise.
 *
 * seq_cst, both operations: this is the reader's half of a store-load
 * handshake (Dekker) with the writer's revocation (src/rwlock.c clears
 * BIASED, seq_cst, then src/rwlock_bias.c loads every slot, seq_cst).
 * Acquire and release alone would let our load of the state be satisfied
 * before our CAS is visible, so that the writer misses our slot while we miss
 * its clear; in the single total order of seq_cst operations either our CAS
 * precedes the writer's slot load (it sees us and waits) or its clear precedes
 * our load (we see BIASED off and back out).
 */
static inline bool weft__rwlock_bias_enter(struct weft_rwlock *rw, const uint32_t *state, uint32_t mask,
					   uint32_t want)
{
	unsigned i = weft__rwlock_slot(rw);
	struct weft_rwlock *expected = NULL;
	/* seq_cst: the store half of the handshake above */
	if (!weft_atomic_cas(&weft__rwlock_readers[i], &expected, rw, WEFT_SEQ_CST, WEFT_RELAXED))
		return false;
	/* seq_cst: the load half of the handshake above; also the acquire that
	 * pairs (through the release sequence of the state word) with the
	 * release fetch_sub of the last wrunlock before bias was turned back on */
	if (WEFT_LIKELY((weft_atomic_load(state, WEFT_SEQ_CST) & mask) == want)) {
		weft__rwlock_held[i / 64] |= (uint64_t)1 << (i % 64); /* our own thread's bitmap */
		return true;
	}
	/* release: we never entered, nothing to publish; release so that the
	 * writer's acquire scan still pairs with every store of the slot */
	weft_atomic_store(&weft__rwlock_readers[i], (struct weft_rwlock *)NULL, WEFT_RELEASE);
	return false;
}

/* Whether the calling thread holds @rw through the table slot @i: its held
 * bit for the slot is set and the slot holds @rw (the bit alone may belong to
 * another lock hashed to the same slot).  relaxed: a slot we hold changes
 * only by our own stores. */
static inline bool weft__rwlock_bias_held(const struct weft_rwlock *rw, unsigned i)
{
	return (weft__rwlock_held[i / 64] & ((uint64_t)1 << (i % 64))) &&
	       weft_atomic_load(&weft__rwlock_readers[i], WEFT_RELAXED) == rw;
}

/* A biased reader's exit from slot @i (weft__rwlock_bias_held() was true). */
static inline void weft__rwlock_bias_leave(unsigned i)
{
	weft__rwlock_held[i / 64] &= ~((uint64_t)1 << (i % 64)); /* our own thread's bitmap */
	/* release: orders the read section before the writer's section; pairs
	 * with the seq_cst (acquire) slot loads of the revocation scan in
	 * src/rwlock_bias.c */
	weft_atomic_store(&weft__rwlock_readers[i], (struct weft_rwlock *)NULL, WEFT_RELEASE);
}

WEFT_EXTERN_C_END

#endif /* WEFT_RWLOCK_BIAS_H */
