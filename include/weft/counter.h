/* SPDX-License-Identifier: MIT */
#ifndef WEFT_COUNTER_H
#define WEFT_COUNTER_H

/*
 * counter.h - two counters: a plain 64-bit atomic counter, and a sharded
 * counter whose increments never share a cache line between threads.
 *
 * weft_counter_t (8 bytes) is one 64-bit word updated with single atomic
 * instructions (lock xadd / cmpxchg on x86-64, ldadd / cas with LSE on
 * aarch64).  Arithmetic wraps modulo 2^64.  Progress: wait-free where the
 * hardware has a fetch-and-add (x86-64, aarch64 with LSE), lock-free otherwise.
 * Every thread that adds pulls the word's cache line to its own core, so under
 * contention each add costs a cache-line transfer (about 50-100 ns between
 * cores) and the counter stops scaling: use weft_scounter_t for hot counters
 * that are read rarely.
 *
 * weft_scounter_t is a distributed counter in the style of the Linux kernel's
 * percpu_counter and of Java's LongAdder (D. Lea, java.util.concurrent.atomic.
 * LongAdder, 2012), but with per-thread rather than per-CPU or hashed cells:
 *
 *   - An array of cache-line-padded slots (WEFT_SCOUNTER_SLOTS_DEFAULT = 32
 *     unless weft_scounter_init_n() asks otherwise), one 64-bit word each, plus
 *     one shared overflow word.
 *   - A thread claims a free slot the first time it adds to a counter and then
 *     owns it: it is the slot's only writer, so weft_scounter_add() is a relaxed
 *     load and a relaxed store on the thread's own line -- no locked
 *     instruction, no cache-line transfer.  The thread finds its slot through a
 *     small thread-local table keyed by the counter's id (ids are never reused),
 *     which costs a few loads.
 *   - When the thread exits, a pthread key destructor gives the slot back; a
 *     later thread claims it and continues from the value the slot holds.
 *     Slots are never zeroed or folded elsewhere, so every increment lives in
 *     exactly one word for the life of the counter.  That is what makes read()
 *     exact even while threads exit and slots change hands: there is no moment
 *     in which a released count is in flight between two words, so a reader
 *     can neither miss it nor count it twice.  (Ownership passes through a
 *     process-wide lock: the releasing thread's last store happens-before the
 *     new owner's first load.)
 *   - When every slot is owned, further threads add with an atomic fetch-and-add
 *     on the shared overflow word: still exact, just not sharded.  A thread
 *     that overflowed claims a slot as soon as one is free again.
 *
 * weft_scounter_read() sums all slots and the overflow word: exact, and costs
 * one load per slot (a cache miss for each slot some thread is writing).
 * weft_scounter_read_approx() returns a cached total that is refreshed by a
 * full read() when it is older than WEFT_SCOUNTER_APPROX_NS: it costs a coarse
 * clock read and two loads, and is never staler than the bound documented on
 * the function.
 *
 * Progress: weft_counter_t and weft_scounter_add() on a thread that owns a slot
 * are wait-free; a thread's first add to a counter, its exit, and init/destroy
 * take a process-wide lock (blocking, short).  Fairness: not applicable
 * (nothing waits).
 *
 * Ordering: the plain operations of weft_counter_t are relaxed: they count and
 * order nothing else.  The _acquire, _release and _acq_rel variants order the
 * surrounding memory accesses for counters that publish something (a reference
 * count whose drop to zero frees an object, a sequence number that publishes a
 * buffer).  weft_scounter_t is relaxed throughout; its reads count every add
 * that happens-before the read (for instance, the adds of joined threads).
 *
 * Footprint: weft_counter_t 8 bytes.  weft_scounter_t 16 bytes in place plus
 * weft_scounter_bytes(nslots) = 64 * (nslots + 3) bytes on the heap (2240 bytes
 * for the default 32 slots), plus 40 bytes per thread that holds a slot, plus a
 * 128-byte thread-local table per thread.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "atomic.h"
#include "config.h"
#include "debug.h"
#include "status.h"

WEFT_EXTERN_C_BEGIN

/* ==== weft_counter_t ==================================================== */

typedef struct weft_counter {
	uint64_t value WEFT_ALIGNED(8); /* aligned: 8-byte atomics on 32-bit targets */
} weft_counter_t;
WEFT_STATIC_ASSERT(sizeof(weft_counter_t) == 8, "weft_counter_t is one 64-bit word");

#define WEFT_COUNTER_INIT {0}

/**
 * weft_counter_init() - set a counter to zero.
 * @counter: the counter.
 * @flags: 0, or WEFT_PSHARED for a counter in memory shared between processes
 *         (accepted for uniformity: the atomic instructions work there as is).
 *
 * A counter may instead be set to WEFT_COUNTER_INIT or zero-filled.
 *
 * Context: any thread; the counter must not be in use.
 * Return: WEFT_OK, or WEFT_EINVAL for an unknown flag (the counter is untouched).
 */
WEFT_NODISCARD static inline int weft_counter_init(weft_counter_t *counter, unsigned flags)
{
	if (flags & ~WEFT_PSHARED)
		return WEFT_EINVAL;
	/* relaxed: not shared yet; publishing the counter is the caller's job */
	weft_atomic_store(&counter->value, (uint64_t)0, WEFT_RELAXED);
	return WEFT_OK;
}

/*
 * The arithmetic.  All return the value before the operation; all wrap modulo
 * 2^64.  The plain forms are relaxed (pure counting); the suffix names the
 * order of the others.
 */

/**
 * weft_counter_add() - add @n and return the previous value.
 * @counter: the counter.
 * @n: the amount.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed: orders nothing but the counter itself.
 * Return: the value before the addition.
 */
static inline uint64_t weft_counter_add(weft_counter_t *counter, uint64_t n)
{
	return weft_atomic_fetch_add(&counter->value, n, WEFT_RELAXED); /* relaxed: counting only */
}

/**
 * weft_counter_add_release() - add @n, publishing the caller's earlier writes.
 * @counter: the counter.
 * @n: the amount.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: release: a thread that reads the new value (or a later one) with
 * weft_counter_load_acquire() or an _acq_rel operation sees every write the
 * caller made before this call.
 * Return: the value before the addition.
 */
static inline uint64_t weft_counter_add_release(weft_counter_t *counter, uint64_t n)
{
	/* release: publishes the caller's prior writes; pairs with the acquire
	 * load/RMW of whoever observes this value */
	return weft_atomic_fetch_add(&counter->value, n, WEFT_RELEASE);
}

/**
 * weft_counter_add_acq_rel() - add @n with both acquire and release order.
 * @counter: the counter.
 * @n: the amount.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: acquire and release: publishes the caller's earlier writes, and
 * sees the writes published by the releases this operation reads from.
 * Return: the value before the addition.
 */
static inline uint64_t weft_counter_add_acq_rel(weft_counter_t *counter, uint64_t n)
{
	/* acq_rel: both publishes our writes and observes the releasers' */
	return weft_atomic_fetch_add(&counter->value, n, WEFT_ACQ_REL);
}

/**
 * weft_counter_sub() - subtract @n and return the previous value.
 * @counter: the counter.
 * @n: the amount.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed.
 * Return: the value before the subtraction.
 */
static inline uint64_t weft_counter_sub(weft_counter_t *counter, uint64_t n)
{
	return weft_atomic_fetch_sub(&counter->value, n, WEFT_RELAXED); /* relaxed: counting only */
}

/**
 * weft_counter_sub_release() - subtract @n, publishing the caller's earlier writes.
 * @counter: the counter.
 * @n: the amount.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: release (see weft_counter_add_release()).
 * Return: the value before the subtraction.
 */
static inline uint64_t weft_counter_sub_release(weft_counter_t *counter, uint64_t n)
{
	/* release: publishes the caller's prior writes; pairs with the acquire of
	 * whoever observes this value */
	return weft_atomic_fetch_sub(&counter->value, n, WEFT_RELEASE);
}

/**
 * weft_counter_sub_acq_rel() - subtract @n with acquire and release order.
 * @counter: the counter.
 * @n: the amount.
 *
 * The reference-count drop: the thread that takes the count to zero sees
 * every other holder's writes, so it may free the object.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: acquire and release.
 * Return: the value before the subtraction.
 */
static inline uint64_t weft_counter_sub_acq_rel(weft_counter_t *counter, uint64_t n)
{
	/* acq_rel: each dropper publishes its writes; the last one observes all */
	return weft_atomic_fetch_sub(&counter->value, n, WEFT_ACQ_REL);
}

/**
 * weft_counter_inc() - add one.
 * @counter: the counter.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed.
 * Return: the value before the increment.
 */
static inline uint64_t weft_counter_inc(weft_counter_t *counter)
{
	return weft_atomic_fetch_add(&counter->value, (uint64_t)1, WEFT_RELAXED); /* relaxed: counting only */
}

/**
 * weft_counter_dec() - subtract one.
 * @counter: the counter.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed.
 * Return: the value before the decrement.
 */
static inline uint64_t weft_counter_dec(weft_counter_t *counter)
{
	return weft_atomic_fetch_sub(&counter->value, (uint64_t)1, WEFT_RELAXED); /* relaxed: counting only */
}

/**
 * weft_counter_dec_release() - subtract one, publishing the caller's writes.
 * @counter: the counter.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: release.
 * Return: the value before the decrement.
 */
static inline uint64_t weft_counter_dec_release(weft_counter_t *counter)
{
	/* release: publishes the caller's prior writes to whoever acquires the count */
	return weft_atomic_fetch_sub(&counter->value, (uint64_t)1, WEFT_RELEASE);
}

/**
 * weft_counter_dec_acq_rel() - subtract one with acquire and release order
 * (reference-count drop: if it returns 1, the caller may free the object).
 * @counter: the counter.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: acquire and release.
 * Return: the value before the decrement.
 */
static inline uint64_t weft_counter_dec_acq_rel(weft_counter_t *counter)
{
	/* acq_rel: each dropper publishes its writes; the last one observes all */
	return weft_atomic_fetch_sub(&counter->value, (uint64_t)1, WEFT_ACQ_REL);
}

/**
 * weft_counter_load() - read the counter.
 * @counter: the counter.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed.
 * Return: the current value.
 */
static inline uint64_t weft_counter_load(weft_counter_t *counter)
{
	return weft_atomic_load(&counter->value, WEFT_RELAXED); /* relaxed: counting only */
}

/**
 * weft_counter_load_acquire() - read the counter and see what its writer published.
 * @counter: the counter.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: acquire: pairs with the _release/_acq_rel operation that wrote
 * the value read (or any release earlier in its modification order).
 * Return: the current value.
 */
static inline uint64_t weft_counter_load_acquire(weft_counter_t *counter)
{
	/* acquire: pairs with a release/acq_rel write of this counter */
	return weft_atomic_load(&counter->value, WEFT_ACQUIRE);
}

/**
 * weft_counter_store() - set the counter.
 * @counter: the counter.
 * @value: the new value.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed.
 */
static inline void weft_counter_store(weft_counter_t *counter, uint64_t value)
{
	weft_atomic_store(&counter->value, value, WEFT_RELAXED); /* relaxed: counting only */
}

/**
 * weft_counter_store_release() - set the counter, publishing the caller's writes.
 * @counter: the counter.
 * @value: the new value.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: release: pairs with weft_counter_load_acquire().
 */
static inline void weft_counter_store_release(weft_counter_t *counter, uint64_t value)
{
	/* release: publishes the caller's prior writes; pairs with load_acquire */
	weft_atomic_store(&counter->value, value, WEFT_RELEASE);
}

/**
 * weft_counter_exchange() - set the counter and return the previous value
 * (read-and-reset: weft_counter_exchange(c, 0)).
 * @counter: the counter.
 * @value: the new value.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed.
 * Return: the value before the exchange.
 */
static inline uint64_t weft_counter_exchange(weft_counter_t *counter, uint64_t value)
{
	return weft_atomic_exchange(&counter->value, value, WEFT_RELAXED); /* relaxed: counting only */
}

/**
 * weft_counter_exchange_acq_rel() - exchange with acquire and release order.
 * @counter: the counter.
 * @value: the new value.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: acquire and release.
 * Return: the value before the exchange.
 */
static inline uint64_t weft_counter_exchange_acq_rel(weft_counter_t *counter, uint64_t value)
{
	/* acq_rel: publishes our writes and observes the previous writer's */
	return weft_atomic_exchange(&counter->value, value, WEFT_ACQ_REL);
}

/**
 * weft_counter_cas() - set the counter to @desired if it holds *@expected.
 * @counter: the counter.
 * @expected: in: the value expected; out, on failure: the value found.
 * @desired: the new value.
 *
 * A strong compare-and-swap: it fails only if the value differs.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: relaxed, on success and on failure.
 * Return: true if the counter held *@expected and now holds @desired.
 */
WEFT_NODISCARD static inline bool weft_counter_cas(weft_counter_t *counter, uint64_t *expected, uint64_t desired)
{
	/* relaxed: counting only (e.g. decrement-if-positive) */
	return weft_atomic_cas(&counter->value, expected, desired, WEFT_RELAXED, WEFT_RELAXED);
}

/**
 * weft_counter_cas_acq_rel() - compare-and-swap with acquire and release order.
 * @counter: the counter.
 * @expected: in: the value expected; out, on failure: the value found.
 * @desired: the new value.
 *
 * Context: any; never blocks; async-signal-safe.
 * Ordering: acquire and release on success; acquire on failure.
 * Return: true if the counter held *@expected and now holds @desired.
 */
WEFT_NODISCARD static inline bool weft_counter_cas_acq_rel(weft_counter_t *counter, uint64_t *expected, uint64_t desired)
{
	/* acq_rel on success: publishes our writes, observes the previous writer's;
	 * acquire on failure: the value found may be acted upon */
	return weft_atomic_cas(&counter->value, expected, desired, WEFT_ACQ_REL, WEFT_ACQUIRE);
}

/**
 * weft_counter_destroy() - end the counter's life (nothing to free).
 * @counter: the counter.
 *
 * Context: any thread.
 */
static inline void weft_counter_destroy(weft_counter_t *counter)
{
	(void)counter;
}

/* ==== weft_scounter_t =================================================== */

#define WEFT_SCOUNTER_SLOTS_DEFAULT 32u /* slots of weft_scounter_init() */
#define WEFT_SCOUNTER_SLOTS_MAX 4096u   /* largest nslots weft_scounter_init_n() accepts */
/* The refresh interval of weft_scounter_read_approx(), in nanoseconds. */
#define WEFT_SCOUNTER_APPROX_NS 1000000u

struct weft__scounter_shards; /* private: the slots, in src/counter.c */

typedef struct weft_scounter {
	uint64_t id;                          /* unique per init, never reused; 0: not initialized */
	struct weft__scounter_shards *shards; /* the slots and the overflow word */
} weft_scounter_t;

/*
 * The thread-local table that maps a counter's id to the calling thread's slot
 * (private; filled by weft_scounter_add_slow()).  Direct-mapped on the low bits
 * of the id; an entry whose id does not match is a miss.
 */
#define WEFT__SCOUNTER_TLS_WAYS 8u
struct weft__scounter_tls {
	uint64_t id;     /* the counter's id, 0 for an empty entry */
	uint64_t *value; /* the calling thread's slot in that counter */
};
extern __thread struct weft__scounter_tls weft__scounter_tls[WEFT__SCOUNTER_TLS_WAYS];

WEFT_NOINLINE WEFT_COLD void weft_scounter_add_slow(weft_scounter_t *sc, int64_t n);

/**
 * weft_scounter_bytes() - the heap footprint of a sharded counter.
 * @nslots: the number of slots.
 *
 * Context: any.
 * Return: the bytes weft_scounter_init_n(sc, @nslots) allocates: one cache
 * line per slot plus three (header, overflow word, read_approx cache); 0 if
 * @nslots is 0 or above WEFT_SCOUNTER_SLOTS_MAX.
 */
size_t weft_scounter_bytes(unsigned nslots);

/**
 * weft_scounter_init_n() - initialize a sharded counter at zero with @nslots slots.
 * @sc: the counter.
 * @nslots: how many threads can own a slot at once (1..WEFT_SCOUNTER_SLOTS_MAX);
 *          further threads share the overflow word.
 *
 * Context: may allocate and take a process-wide lock; not async-signal-safe.
 * Return: WEFT_OK; WEFT_EINVAL for @nslots out of range; WEFT_ENOMEM if the
 * slots cannot be allocated.  On failure @sc is left uninitialized (id 0).
 */
WEFT_NODISCARD int weft_scounter_init_n(weft_scounter_t *sc, unsigned nslots);

/**
 * weft_scounter_init() - initialize a sharded counter at zero with
 * WEFT_SCOUNTER_SLOTS_DEFAULT slots.
 * @sc: the counter.
 *
 * Context: may allocate; not async-signal-safe.
 * Return: WEFT_OK or WEFT_ENOMEM.
 */
WEFT_NODISCARD int weft_scounter_init(weft_scounter_t *sc);

/**
 * weft_scounter_add() - add @n (which may be negative) to the counter.
 * @sc: an initialized counter.
 * @n: the amount.
 *
 * On a thread that owns a slot of @sc: a relaxed load and store of that slot.
 * A thread's first add claims a slot (or, if none is free, adds atomically to
 * the shared overflow word).  Arithmetic wraps modulo 2^64.
 *
 * Context: any thread; the first add of a thread takes a process-wide lock and
 * may allocate 40 bytes.  Not async-signal-safe (a signal handler that adds to
 * the counter its thread is adding to could lose the interrupted add).
 * Ordering: relaxed.
 */
static inline void weft_scounter_add(weft_scounter_t *sc, int64_t n)
{
	/* plain read: the id is written by init before the counter is published
	 * and never changes until destroy */
	uint64_t id = sc->id;
#ifdef WEFT_DEBUG
	if (id == 0)
		weft_debug_die("weft_scounter_t", sc, "used before weft_scounter_init() or after destroy");
#endif
	struct weft__scounter_tls *e = &weft__scounter_tls[id & (WEFT__SCOUNTER_TLS_WAYS - 1u)];
	if (WEFT_LIKELY(e->id == id)) {
		uint64_t *slot = e->value;
		/* relaxed load and store: this thread is the slot's only writer, so no
		 * read-modify-write is needed; readers only need each store to be
		 * atomic, and ownership changes synchronize through the slot lock */
		weft_atomic_store(slot, weft_atomic_load(slot, WEFT_RELAXED) + (uint64_t)n, WEFT_RELAXED);
		return;
	}
	weft_scounter_add_slow(sc, n);
}

/**
 * weft_scounter_inc() - add one.
 * @sc: an initialized counter.
 *
 * Context, Ordering: as weft_scounter_add().
 */
static inline void weft_scounter_inc(weft_scounter_t *sc)
{
	weft_scounter_add(sc, 1);
}

/**
 * weft_scounter_dec() - subtract one.
 * @sc: an initialized counter.
 *
 * Context, Ordering: as weft_scounter_add().
 */
static inline void weft_scounter_dec(weft_scounter_t *sc)
{
	weft_scounter_add(sc, -1);
}

/**
 * weft_scounter_read() - the exact value: the sum of every slot and the
 * overflow word.
 * @sc: an initialized counter.
 *
 * Every add that happens-before the call (adds of this thread, of threads
 * joined since, of threads that published through a release/acquire pair) is
 * counted exactly once, including adds of threads that have exited and whose
 * slots were since reused.  Adds running concurrently are each counted fully
 * or not at all.
 *
 * Reading a counter that was never initialized or was destroyed aborts
 * with a message naming it, in every build.
 *
 * Context: any thread; never blocks; costs one load per slot (nslots + 1).
 * Ordering: relaxed.
 * Return: the sum, as a two's-complement 64-bit value.
 */
int64_t weft_scounter_read(weft_scounter_t *sc);

/**
 * weft_scounter_read_approx() - a recent value, cheaper than weft_scounter_read().
 * @sc: an initialized counter.
 *
 * Returns a cached total if it is fresh, else performs weft_scounter_read(),
 * caches its result and returns it.  Staleness bound: the value returned is
 * the result of a weft_scounter_read() that started at most
 * WEFT_SCOUNTER_APPROX_NS (1 ms) plus the resolution of CLOCK_MONOTONIC_COARSE
 * (clock_getres(); 4 ms on a Linux kernel with HZ=250) before this call.
 * When the cached total is fresh the cost is one coarse clock read (a vDSO
 * call, about 7 ns) and two loads, independent of the number of slots.
 *
 * Context: any thread; never blocks.
 * Ordering: relaxed (for the count); the cached total and its time stamp are
 * published together (release/acquire).
 * Return: the value.
 */
int64_t weft_scounter_read_approx(weft_scounter_t *sc);

/**
 * weft_scounter_slots_in_use() - how many slots threads own right now.
 * @sc: an initialized counter.
 *
 * A diagnostic (tests use it to see slots given back at thread exit).
 *
 * Context: takes the process-wide slot lock; not async-signal-safe.
 * Return: the number of owned slots (0..nslots).
 */
unsigned weft_scounter_slots_in_use(weft_scounter_t *sc);

/**
 * weft_scounter_destroy() - free the counter's slots.
 * @sc: an initialized counter that no thread adds to or reads any more
 *      (threads that added to it may still be alive: their slots are
 *      disowned, and their exit does not touch the freed memory).
 *
 * Sets the id to 0, so that a later add aborts in a WEFT_DEBUG build (and
 * aborts or faults on a null pointer in a release build), and a later read
 * aborts.  Destroying an uninitialized (all-zero) counter does nothing.
 *
 * Context: takes the process-wide slot lock; frees memory.
 */
void weft_scounter_destroy(weft_scounter_t *sc);

WEFT_EXTERN_C_END

#endif /* WEFT_COUNTER_H */
