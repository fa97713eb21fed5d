/* SPDX-License-Identifier: MIT */
#ifndef WEFT_MPMC_H
#define WEFT_MPMC_H

/*
 * mpmc.h - a bounded multi-producer multi-consumer FIFO queue of void *
 * values: lock-free try operations, blocking, timed and batch operations,
 * close, and a placement form for memory shared between processes.
 *
 * Algorithm: D. Vyukov, "Bounded MPMC queue", 1024cores.net (2010/2011).  An
 * array of 2^k slots, each holding a value and a 64-bit sequence number, and
 * two 64-bit position counters: tail (next position to push) and head (next
 * position to pop).  Position p lives in slot p mod 2^k, and the slot's
 * sequence number says whose turn it is:
 *
 *     seq == p          free: the producer that claims position p may fill it
 *     seq == p + 1      full: the consumer that claims position p may empty it
 *     seq == p + 2^k    emptied: free for the producer of the next lap
 *
 * push: read tail = p; if slot(p).seq == p, claim p by CAS tail p -> p + 1,
 *       store the value, then store seq = p + 1 (release).  seq < p means the
 *       slot still holds the value of lap p - 2^k: the queue is full.
 * pop:  read head = p; if slot(p).seq == p + 1, claim p by CAS head p -> p + 1,
 *       load the value, then store seq = p + 2^k (release).  seq < p + 1 means
 *       nothing was published at p yet: the queue is empty.
 *
 * The 64-bit counters never wrap in practice (a century at 5e9 operations per
 * second), so a CAS on them cannot suffer ABA.  Capacity 1 is refused because
 * "full at p" (p + 1) and "free at p + 1" would be the same sequence number.
 * Batches (push_n, pop_n) claim k consecutive ready slots with one CAS.
 *
 * Progress: try_push and try_pop are lock-free with one exception, inherent to
 * the algorithm: a producer that is preempted (or killed) between its CAS on
 * tail and its store of seq leaves its slot "claimed but unpublished"; until it
 * resumes, consumers that reach that slot see the queue as empty there, even if
 * later slots hold values.  Symmetrically a consumer stalled between its CAS
 * on head and its release of the slot makes producers that lap around to that
 * slot see the queue as full.  try_* never wait for such a thread (they fail);
 * blocking calls spin briefly, yield, then nap as registered sleepers with a
 * growing timeout until the slot moves (docs/mpmc.md).
 *
 * Contention: a push (pop) whose CAS on tail (head) fails, or that finds its
 * position already taken, backs off before it retries: a few pauses, doubling
 * up to a bound (weft_mpmc_set_backoff(); exponential backoff after T. E.
 * Anderson, 1990).  Meanwhile the winner goes on with cache lines it holds,
 * which is what makes the contended rows of docs/mpmc.md fast.  A timed call
 * stops backing off (WEFT_ETIMEDOUT) at its deadline.
 *
 * Blocking: a push that finds the queue full (a pop that finds it empty)
 * first polls it for a bounded time (the spin bound, weft_mpmc_set_spin()):
 * quietly at first, watching only the slot it needs after every pause, then
 * yielding the CPU every few pauses, so that pollers do not keep the threads
 * they wait for off the CPUs; then it sleeps on the wait layer.  The first
 * poller of a side past the quiet start sets the WEFT_MPMC_SPINNING bit.  Each side has a sleeper
 * word (a count and the WEFT_MPMC_WAKING and WEFT_MPMC_SPINNING bits) and a
 * 32-bit epoch word.  A sleeper registers in the count, reads the epoch,
 * re-checks the counters, and sleeps while the epoch is unchanged.  A
 * successful push loads the consumers' sleeper word once, right after its
 * CAS on tail; if it shows sleepers and no wake-up in flight, after
 * publishing, the pusher sets WAKING, bumps the epoch and wakes one sleeper
 * (pop symmetrically).  That one load, on a cache line the CAS has just
 * taken, is all a sleeping thread costs the fast path; while a woken thread
 * is on its way, or a consumer is polling (SPINNING), every other push sees
 * the bit and makes no system call.
 *
 * Why no wake-up is lost: the sleeper's registration (a fetch_add) and the
 * pusher's claim (the CAS on tail) are seq_cst read-modify-writes, and the
 * pusher's load of the sleeper word and the sleeper's re-check of the
 * counters are seq_cst loads.  In the single total order either the claim
 * comes first, and the re-check sees tail moved (the sleeper does not sleep),
 * or the registration comes first, and the pusher's load sees it.  WAKING is
 * cleared by every sleeper twice, with seq_cst read-modify-writes: after it
 * takes its epoch snapshot and before its re-check, and when it deregisters;
 * a poller clears SPINNING, also with a seq_cst read-modify-write, when it
 * stops polling.  A pusher that sees either bit and skips its wake-up read
 * the word before the next such clear, so the clearing thread's re-check
 * (or, if it leaves, its hand-over check in mpmc.c) sees the pushed value
 * and wakes the next sleeper if values remain.  The re-check compares the counters rather than
 * the slot because the slot's publication is a plain release store, which
 * could not take part in the argument without a full fence on every push.
 *
 * close: sets a bit in tail (so no further push can claim a position), then
 * bumps both epochs and wakes every sleeper.  Pops drain what was pushed
 * before the close, then report WEFT_ECLOSED.
 *
 * Fairness: none.  Values leave in FIFO order, but threads are not served in
 * arrival order; a sleeper woken for a value may find it taken by a thread that
 * never slept, and sleeps again.
 *
 * Ordering: a push that succeeds is a release and the pop that returns its
 * value an acquire: everything the producer wrote before pushing is visible to
 * the consumer after popping.  Successful operations are linearizable, each at
 * its CAS on tail or head, so values leave in the order of their pushes'
 * claims.  A failed try has no ordering, and may report "empty" ("full")
 * while a peer's claim window is open (see Progress).
 *
 * Footprint: weft_mpmc_bytes(capacity) = 192 + 16 * capacity bytes on 64-bit
 * targets, rounded up to a cache line: a 64-byte line of fixed fields, one
 * line for the producers' side (tail), one for the consumers' (head), then the
 * slots.  The structure holds no pointers, so a WEFT_PSHARED queue works at any
 * address in any process that maps it; the values are then indices or offsets.
 *
 * WEFT_DEBUG: using a queue that was never initialized or was destroyed, and
 * destroying a queue while threads sleep in it, abort with a message.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "cancel.h"
#include "config.h"
#include "deadline.h"
#include "debug.h"
#include "status.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

/* Capacity bounds: a power of two in [WEFT_MPMC_CAPACITY_MIN, WEFT_MPMC_CAPACITY_MAX]. */
#define WEFT_MPMC_CAPACITY_MIN 2u
#define WEFT_MPMC_CAPACITY_MAX ((size_t)1 << 30)

/* Bit 63 of tail: the queue is closed.  Positions use bits 0..62. */
#define WEFT_MPMC_CLOSED_BIT ((uint64_t)1 << 63)

/* Pause instructions a blocking push/pop backs off for before it sleeps;
 * chosen by the sweep in docs/mpmc.md. */
#define WEFT_MPMC_SPIN_DEFAULT 256u

/* Pause instructions a push or pop that lost the race for a position waits
 * at most before it retries (it starts at 1/16 of this and doubles); chosen
 * by the sweep in docs/mpmc.md.  weft_mpmc_set_backoff() clamps to the limit. */
#define WEFT_MPMC_BACKOFF_DEFAULT 256u
#define WEFT_MPMC_BACKOFF_LIMIT 65536u

/* The sleeper words push_sleepers and pop_sleepers: */
#define WEFT_MPMC_WAKING 0x80000000u   /* a wake-up is in flight */
#define WEFT_MPMC_SPINNING 0x40000000u /* a waiter of this side is polling the queue */
#define WEFT_MPMC_SLEEPERS 0x3fffffffu /* the number of registered sleepers */

/* weft_mpmc_select(): the direction of a case, and the most cases one call
 * takes (it sleeps on one word per case, all at once: the wait layer's
 * weft__wait_any() takes up to 64 words besides the token's). */
enum { WEFT_MPMC_OP_POP = 0, WEFT_MPMC_OP_PUSH = 1 };
#define WEFT_MPMC_SELECT_MAX 64u

/* One case of weft_mpmc_select(). */
typedef struct weft_mpmc_case {
	struct weft_mpmc *queue; /* the queue */
	int op;                  /* WEFT_MPMC_OP_POP or WEFT_MPMC_OP_PUSH */
	void *item;              /* PUSH: the value to push; POP: receives the value popped */
} weft_mpmc_case_t;

/* A live queue's magic number (checked under WEFT_DEBUG). */
#define WEFT_MPMC_MAGIC 0x6d706d63u /* "mpmc" */

typedef struct weft_mpmc_slot {
	uint64_t seq; /* whose turn (see the overview) */
	void *value;  /* written by the producer that owns the slot, read by the consumer */
} weft_mpmc_slot_t;

typedef struct weft_mpmc {
	/* Line 0: fixed at init, read by everyone. */
	uint64_t mask;  /* capacity - 1 */
	uint32_t flags; /* WEFT_PSHARED, and an internal bit: weft_mpmc_create() allocated it */
	uint32_t magic; /* WEFT_MPMC_MAGIC while alive */
	char pad0[WEFT_CACHE_LINE - 16];
	/* Line 1: the producers' side.  The consumers' sleeper count lives here
	 * because pushers load it right after their CAS has taken this line. */
	uint64_t tail;         /* next position to push | WEFT_MPMC_CLOSED_BIT */
	uint32_t pop_sleepers; /* consumers: sleepers | WEFT_MPMC_WAKING | WEFT_MPMC_SPINNING */
	uint32_t pop_epoch;    /* futex word consumers sleep on; bumped by pushers that saw sleepers */
	char pad1[WEFT_CACHE_LINE - 16];
	/* Line 2: the consumers' side, and the producers' sleepers. */
	uint64_t head;          /* next position to pop */
	uint32_t push_sleepers; /* producers: sleepers | WEFT_MPMC_WAKING | WEFT_MPMC_SPINNING */
	uint32_t push_epoch;    /* futex word producers sleep on; bumped by poppers that saw sleepers */
	char pad2[WEFT_CACHE_LINE - 16];
	/* The slots follow, at offset sizeof(weft_mpmc_t) (no pointer is stored). */
} WEFT_ALIGNED(WEFT_CACHE_LINE) weft_mpmc_t;

WEFT_STATIC_ASSERT(offsetof(weft_mpmc_t, tail) % WEFT_CACHE_LINE == 0, "tail starts a cache line");
WEFT_STATIC_ASSERT(offsetof(weft_mpmc_t, head) % WEFT_CACHE_LINE == 0, "head starts a cache line");
WEFT_STATIC_ASSERT(offsetof(weft_mpmc_t, tail) - offsetof(weft_mpmc_t, mask) >= WEFT_CACHE_LINE,
		   "tail is not on the line of the fixed fields");
WEFT_STATIC_ASSERT(offsetof(weft_mpmc_t, head) - offsetof(weft_mpmc_t, tail) >= WEFT_CACHE_LINE,
		   "head and tail are on different cache lines");
WEFT_STATIC_ASSERT(offsetof(weft_mpmc_t, pop_epoch) < offsetof(weft_mpmc_t, tail) + WEFT_CACHE_LINE,
		   "the consumers' sleeper count and epoch share tail's line");
WEFT_STATIC_ASSERT(offsetof(weft_mpmc_t, push_epoch) < offsetof(weft_mpmc_t, head) + WEFT_CACHE_LINE,
		   "the producers' sleeper count and epoch share head's line");
WEFT_STATIC_ASSERT(sizeof(weft_mpmc_t) == 3 * WEFT_CACHE_LINE, "three cache lines, then the slots");

/* What a first attempt (weft__mpmc_push_fast(), weft__mpmc_pop_fast()) found;
 * the slow paths take it to know whether to back off before they retry. */
#define WEFT__MPMC_DONE 0      /* pushed or popped */
#define WEFT__MPMC_LOST 1      /* another thread took the position first */
#define WEFT__MPMC_NOT_READY 2 /* the slot is not ready: full, empty, or a peer's claim window */

/* Out of line (src/mpmc.c).  @first is the first attempt's result. */
WEFT_NOINLINE bool weft_mpmc_try_push_slow(weft_mpmc_t *q, void *value, int first);
WEFT_NOINLINE bool weft_mpmc_try_pop_slow(weft_mpmc_t *q, void **out, int first);
WEFT_NOINLINE int weft_mpmc_push_slow(weft_mpmc_t *q, void *value, const struct timespec *deadline,
				      weft_cancel_t *cancel, int first);
WEFT_NOINLINE int weft_mpmc_pop_slow(weft_mpmc_t *q, void **out, const struct timespec *deadline,
				     weft_cancel_t *cancel, int first);
WEFT_NOINLINE WEFT_COLD void weft_mpmc_wake_pop_slow(weft_mpmc_t *q, size_t count);
WEFT_NOINLINE WEFT_COLD void weft_mpmc_wake_push_slow(weft_mpmc_t *q, size_t count);
void weft_mpmc_destroy_slow(weft_mpmc_t *q);
int weft_mpmc_timedpush_slow(weft_mpmc_t *q, void *value, const struct timespec *deadline);
int weft_mpmc_timedpop_slow(weft_mpmc_t *q, void **out, const struct timespec *deadline);
size_t weft_mpmc_push_n_slow(weft_mpmc_t *q, void *const *values, size_t n);
struct weft_mpmc_case;
WEFT_NOINLINE int weft_mpmc_select_slow(struct weft_mpmc_case *cases, unsigned n, const struct timespec *deadline,
					weft_cancel_t *cancel, unsigned *chosen, unsigned start);
size_t weft_mpmc_pop_n_slow(weft_mpmc_t *q, void **out, size_t n);

/*
 * TSan.  A push publishes what the producer wrote before it to the pop that
 * returns its value (see Ordering).  The inline fast paths show TSan their
 * release store and acquire load of the slot's seq; the paths in the library
 * (contended, blocking, timed, batch) do not when it is built without TSan.
 * So every push call first releases the queue's address (WEFT_TSAN_RELEASE(q))
 * and every pop call that returns a value then acquires it.  This is coarser
 * than the queue's real order (a pop is ordered after every push released
 * before it, not only after the push of its own value), so TSan may miss a
 * race between a producer's later writes and a consumer of an earlier value;
 * it never reports a race the queue prevents.
 */

#ifdef WEFT_DEBUG
static inline void weft__mpmc_check(const weft_mpmc_t *q)
{
	/* relaxed: a diagnostic; init_at() stored it before the queue was shared */
	if (weft_atomic_load(&q->magic, WEFT_RELAXED) != WEFT_MPMC_MAGIC)
		weft_debug_die("weft_mpmc_t", q, "used before init or after destroy");
}
#define WEFT__MPMC_CHECK(q) weft__mpmc_check(q)
#else
#define WEFT__MPMC_CHECK(q) ((void)0)
#endif

/* Whether a sleeper word calls for a wake-up: someone sleeps, no wake-up is
 * on its way already, and no waiter of that side is polling (it will take
 * what we published, and hands over to a sleeper when it stops polling). */
static inline bool weft__mpmc_should_wake(uint32_t word)
{
	return word != 0 && word <= WEFT_MPMC_SLEEPERS;
}

/* The slot of position @pos.  The slots start right after the header. */
static inline weft_mpmc_slot_t *weft__mpmc_slot(weft_mpmc_t *q, uint64_t pos)
{
	/* mask is written once by init_at() before the queue is shared */
	return (weft_mpmc_slot_t *)(void *)((char *)q + sizeof(weft_mpmc_t)) + (pos & q->mask);
}

/**
 * weft_mpmc_validate() - whether a capacity and flags are acceptable.
 * @capacity: a power of two from WEFT_MPMC_CAPACITY_MIN to WEFT_MPMC_CAPACITY_MAX.
 * @flags: 0 or WEFT_PSHARED.
 *
 * weft_mpmc_create() and weft_mpmc_init_at() return NULL both for bad input and
 * (create only) for lack of memory; this tells the two apart.
 *
 * Context: any; never blocks.
 * Return: WEFT_OK, or WEFT_EINVAL for a bad capacity or an unknown flag.
 */
WEFT_NODISCARD int weft_mpmc_validate(size_t capacity, unsigned flags);

/**
 * weft_mpmc_bytes() - the memory a queue of @capacity slots needs.
 * @capacity: as for weft_mpmc_validate().
 *
 * Context: any; never blocks.
 * Return: the size in bytes (a multiple of WEFT_CACHE_LINE), or 0 if @capacity
 * is not valid.
 */
size_t weft_mpmc_bytes(size_t capacity);

/**
 * weft_mpmc_init_at() - build an empty queue in caller-provided memory.
 * @mem: weft_mpmc_bytes(@capacity) bytes aligned to WEFT_CACHE_LINE; for
 *       WEFT_PSHARED, memory every process maps (mmap MAP_SHARED, shm_open).
 * @capacity: a power of two from 2 to WEFT_MPMC_CAPACITY_MAX.
 * @flags: 0, or WEFT_PSHARED for a queue shared between processes.
 *
 * The structure holds no pointers: other processes may map @mem at any
 * address and use it without initializing it again.
 *
 * Context: any thread; @mem must not be in use.  Publishing the queue to
 * other threads or processes (pthread_create, fork, a release store) is the
 * caller's job.
 * Return: @mem as a queue, or NULL (WEFT_EINVAL) if @mem is NULL or misaligned,
 * @capacity is not valid, or @flags has an unknown bit.
 */
WEFT_NODISCARD weft_mpmc_t *weft_mpmc_init_at(void *mem, size_t capacity, unsigned flags);

/**
 * weft_mpmc_create() - allocate and initialize an empty queue.
 * @capacity: a power of two from 2 to WEFT_MPMC_CAPACITY_MAX.
 * @flags: 0 or WEFT_PSHARED (only useful if the memory is then shared, which
 *         malloc'd memory is not across exec; prefer weft_mpmc_init_at()).
 *
 * Context: any thread; allocates.
 * Return: the queue, or NULL: weft_mpmc_validate() says WEFT_EINVAL for bad
 * input, otherwise the allocation failed (WEFT_ENOMEM).
 */
WEFT_NODISCARD weft_mpmc_t *weft_mpmc_create(size_t capacity, unsigned flags);

/**
 * weft_mpmc_destroy() - end the queue's life; free it if weft_mpmc_create()
 * allocated it.
 * @q: the queue, or NULL (nothing happens).  No thread may use it afterwards.
 *
 * Values still in the queue are dropped (they are the caller's to own).  For a
 * queue placed with weft_mpmc_init_at() the memory stays the caller's.
 *
 * Context: any thread; no other thread may be using or sleeping in @q
 * (a WEFT_DEBUG build aborts if one sleeps in it).
 */
static inline void weft_mpmc_destroy(weft_mpmc_t *q)
{
	if (q == NULL)
		return;
#ifdef WEFT_DEBUG
	weft__mpmc_check(q);
	/* relaxed: a diagnostic; a correct caller has no concurrent user */
	if ((weft_atomic_load(&q->push_sleepers, WEFT_RELAXED) & WEFT_MPMC_SLEEPERS) != 0 ||
	    (weft_atomic_load(&q->pop_sleepers, WEFT_RELAXED) & WEFT_MPMC_SLEEPERS) != 0)
		weft_debug_die("weft_mpmc_t", q, "destroyed while threads sleep in it");
#endif
	weft_mpmc_destroy_slow(q);
}

/* One attempt at the uncontended push: WEFT__MPMC_DONE, or why it failed
 * (the caller then takes a slow path). */
static inline int weft__mpmc_push_fast(weft_mpmc_t *q, void *value)
{
	/* relaxed: a guess at the position; the CAS below validates it */
	uint64_t pos = weft_atomic_load(&q->tail, WEFT_RELAXED);
	weft_mpmc_slot_t *slot = weft__mpmc_slot(q, pos);
	/* acquire: pairs with the release store of seq in the pop that emptied
	 * the slot, so its load of value happens before our store below.  A
	 * closed queue has bit 63 in pos, which never equals a seq. */
	uint64_t seq = weft_atomic_load(&slot->seq, WEFT_ACQUIRE);
	if (WEFT_UNLIKELY(seq != pos)) /* seq > pos: a producer claimed pos before us
					* (meaningless once pos has the closed bit) */
		return (int64_t)(seq - pos) > 0 && !(pos & WEFT_MPMC_CLOSED_BIT) ? WEFT__MPMC_LOST
										   : WEFT__MPMC_NOT_READY;
	/* seq_cst: the claim must be ordered before our load of pop_sleepers
	 * and after any consumer's registration that it does not see (the
	 * lost-wake-up argument in the overview); relaxed on failure: we only
	 * retry */
	if (WEFT_LIKELY(weft_atomic_cas(&q->tail, &pos, pos + 1, WEFT_SEQ_CST, WEFT_RELAXED))) {
		WEFT__CHAOS_POINT(); /* claimed, not yet published */
		/* seq_cst: pairs with the seq_cst fetch_add in a sleeping pop */
		uint32_t sleepers = weft_atomic_load(&q->pop_sleepers, WEFT_SEQ_CST);
		slot->value = value; /* ours alone until the store of seq below */
		/* release: publishes value; pairs with the acquire load of seq in pop */
		weft_atomic_store(&slot->seq, pos + 1, WEFT_RELEASE);
		if (WEFT_UNLIKELY(weft__mpmc_should_wake(sleepers)))
			weft_mpmc_wake_pop_slow(q, 1);
		return WEFT__MPMC_DONE;
	}
	return WEFT__MPMC_LOST;
}

/* One attempt at the uncontended pop: WEFT__MPMC_DONE, or why it failed. */
static inline int weft__mpmc_pop_fast(weft_mpmc_t *q, void **out)
{
	/* relaxed: a guess at the position; the CAS below validates it */
	uint64_t pos = weft_atomic_load(&q->head, WEFT_RELAXED);
	weft_mpmc_slot_t *slot = weft__mpmc_slot(q, pos);
	/* acquire: pairs with the release store of seq in the push that filled
	 * the slot, so its value is visible below */
	uint64_t seq = weft_atomic_load(&slot->seq, WEFT_ACQUIRE);
	if (WEFT_UNLIKELY(seq != pos + 1)) /* seq > pos + 1: a consumer took pos before us */
		return (int64_t)(seq - (pos + 1)) > 0 ? WEFT__MPMC_LOST : WEFT__MPMC_NOT_READY;
	/* seq_cst: as in weft__mpmc_push_fast(), for sleeping pushers */
	if (WEFT_LIKELY(weft_atomic_cas(&q->head, &pos, pos + 1, WEFT_SEQ_CST, WEFT_RELAXED))) {
		WEFT__CHAOS_POINT(); /* claimed, not yet published */
		/* seq_cst: pairs with the seq_cst fetch_add in a sleeping push */
		uint32_t sleepers = weft_atomic_load(&q->push_sleepers, WEFT_SEQ_CST);
		*out = slot->value; /* ours alone until the store of seq below */
		/* release: our load of value happens before the next lap's store;
		 * pairs with the acquire load of seq in push */
		weft_atomic_store(&slot->seq, pos + q->mask + 1, WEFT_RELEASE);
		if (WEFT_UNLIKELY(weft__mpmc_should_wake(sleepers)))
			weft_mpmc_wake_push_slow(q, 1);
		return WEFT__MPMC_DONE;
	}
	return WEFT__MPMC_LOST;
}

/**
 * weft_mpmc_try_push() - push @value if there is room.
 * @q: the queue.
 * @value: any pointer (NULL included); for WEFT_PSHARED an index or offset.
 *
 * Context: any thread or process; never blocks (a wake-up it owes a
 * sleeper is one futex system call; a lost race backs off briefly: pauses
 * and sched_yield(), see weft_mpmc_set_backoff()).
 * Ordering: release on success (see the overview); none on failure.
 * Return: true if @value is in the queue; false if it is full or closed
 * (weft_mpmc_is_closed() tells which).
 */
WEFT_NODISCARD static inline bool weft_mpmc_try_push(weft_mpmc_t *q, void *value)
{
	WEFT__MPMC_CHECK(q);
	WEFT_TSAN_RELEASE(q); /* TSan: see above weft__mpmc_push_fast() */
	int first = weft__mpmc_push_fast(q, value);
	return first == WEFT__MPMC_DONE || weft_mpmc_try_push_slow(q, value, first);
}

/**
 * weft_mpmc_try_pop() - pop the oldest value if there is one.
 * @q: the queue.
 * @out: receives the value.
 *
 * Context: any thread or process; never blocks (a lost race backs off
 * briefly: pauses and sched_yield(), see weft_mpmc_set_backoff()).
 * Ordering: acquire on success (pairs with the push of the value); none on failure.
 * Return: true if a value was stored in *@out; false if the queue is empty
 * (closed or not), or its oldest slot is claimed by a push still in progress.
 */
WEFT_NODISCARD static inline bool weft_mpmc_try_pop(weft_mpmc_t *q, void **out)
{
	WEFT__MPMC_CHECK(q);
	int first = weft__mpmc_pop_fast(q, out);
	bool ok = first == WEFT__MPMC_DONE || weft_mpmc_try_pop_slow(q, out, first);
	if (ok)
		WEFT_TSAN_ACQUIRE(q); /* TSan: see above weft__mpmc_push_fast() */
	return ok;
}

/**
 * weft_mpmc_push() - push @value, sleeping while the queue is full.
 * @q: the queue.
 * @value: any pointer; for WEFT_PSHARED an index or offset.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: release on WEFT_OK.
 * Return: WEFT_OK, or WEFT_ECLOSED if the queue is (or becomes, while this
 * call waits) closed; @value was then not pushed.
 */
WEFT_NODISCARD static inline int weft_mpmc_push(weft_mpmc_t *q, void *value)
{
	WEFT__MPMC_CHECK(q);
	WEFT_TSAN_RELEASE(q); /* TSan: see above weft__mpmc_push_fast() */
	int first = weft__mpmc_push_fast(q, value);
	if (WEFT_LIKELY(first == WEFT__MPMC_DONE))
		return WEFT_OK;
	return weft_mpmc_push_slow(q, value, NULL, NULL, first);
}

/**
 * weft_mpmc_pop() - pop the oldest value, sleeping while the queue is empty.
 * @q: the queue.
 * @out: receives the value.
 *
 * An idle consumer sleeps in the kernel and uses no CPU.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire on WEFT_OK.
 * Return: WEFT_OK, or WEFT_ECLOSED once the queue is closed and every value
 * pushed before the close has been popped.
 */
WEFT_NODISCARD static inline int weft_mpmc_pop(weft_mpmc_t *q, void **out)
{
	WEFT__MPMC_CHECK(q);
	int first = weft__mpmc_pop_fast(q, out);
	if (WEFT_LIKELY(first == WEFT__MPMC_DONE)) {
		WEFT_TSAN_ACQUIRE(q); /* TSan: see above weft__mpmc_push_fast() */
		return WEFT_OK;
	}
	int rc = weft_mpmc_pop_slow(q, out, NULL, NULL, first);
	if (rc == WEFT_OK)
		WEFT_TSAN_ACQUIRE(q); /* TSan: see above weft__mpmc_push_fast() */
	return rc;
}

/**
 * weft_mpmc_timedpush() - push @value, or give up at @deadline.
 * @q: the queue.
 * @value: any pointer.
 * @deadline: absolute CLOCK_MONOTONIC time (weft_deadline_after_ns()).
 *
 * A deadline already past still pushes if there is room at once.
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: release on WEFT_OK.
 * Return: WEFT_OK, WEFT_ETIMEDOUT, WEFT_ECLOSED, or WEFT_EINVAL for a NULL or
 * malformed @deadline (the queue is then not touched).
 */
WEFT_NODISCARD static inline int weft_mpmc_timedpush(weft_mpmc_t *q, void *value, const struct timespec *deadline)
{
	WEFT_TSAN_RELEASE(q); /* TSan: see above weft__mpmc_push_fast() */
	return weft_mpmc_timedpush_slow(q, value, deadline);
}

/**
 * weft_mpmc_timedpop() - pop the oldest value, or give up at @deadline.
 * @q: the queue.
 * @out: receives the value.
 * @deadline: absolute CLOCK_MONOTONIC time.
 *
 * A deadline already past still pops if a value is there at once.
 *
 * Context: may block until @deadline; not async-signal-safe.
 * Ordering: acquire on WEFT_OK.
 * Return: WEFT_OK, WEFT_ETIMEDOUT, WEFT_ECLOSED (closed and drained), or
 * WEFT_EINVAL for a NULL or malformed @deadline (the queue is then not touched).
 */
WEFT_NODISCARD static inline int weft_mpmc_timedpop(weft_mpmc_t *q, void **out, const struct timespec *deadline)
{
	int rc = weft_mpmc_timedpop_slow(q, out, deadline);
	if (rc == WEFT_OK)
		WEFT_TSAN_ACQUIRE(q); /* TSan: see above weft__mpmc_push_fast() */
	return rc;
}

/**
 * weft_mpmc_push_ctx() - push @value, sleeping while the queue is full, until
 * @deadline or until @cancel is cancelled.
 * @q: the queue.
 * @value: any pointer; for WEFT_PSHARED an index or offset.
 * @deadline: absolute CLOCK_MONOTONIC time, or NULL for none.
 * @cancel: a token (include/weft/cancel.h), or NULL for none.
 *
 * weft_mpmc_push() (both NULL) and weft_mpmc_timedpush() (no token) with a
 * cancellation token.  A push that finds room succeeds without looking at the
 * token or the clock; the token is read only once the call would wait, so a
 * token cancelled beforehand makes a push on a full queue return at once.  A
 * process-shared queue needs a process-shared token.
 *
 * Context: may block until @deadline or the cancellation; not async-signal-safe.
 * Ordering: release on WEFT_OK.
 * Return: WEFT_OK; WEFT_ETIMEDOUT or WEFT_ECANCELED: @value was not pushed;
 * WEFT_ECLOSED (closed, not pushed); WEFT_EINVAL for a malformed @deadline
 * (the queue is then not touched).
 */
WEFT_NODISCARD static inline int weft_mpmc_push_ctx(weft_mpmc_t *q, void *value, const struct timespec *deadline,
						    weft_cancel_t *cancel)
{
	if (deadline != NULL && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT__MPMC_CHECK(q);
	WEFT_TSAN_RELEASE(q); /* TSan: see above weft__mpmc_push_fast() */
	int first = weft__mpmc_push_fast(q, value);
	if (WEFT_LIKELY(first == WEFT__MPMC_DONE))
		return WEFT_OK;
	return weft__cancel_acquired(weft_mpmc_push_slow(q, value, deadline, cancel, first), cancel); /* TSan: see cancel.h */
}

/**
 * weft_mpmc_pop_ctx() - pop the oldest value, sleeping while the queue is
 * empty, until @deadline or until @cancel is cancelled.
 * @q: the queue.
 * @out: receives the value.
 * @deadline: absolute CLOCK_MONOTONIC time, or NULL for none.
 * @cancel: a token (include/weft/cancel.h), or NULL for none.
 *
 * weft_mpmc_pop() and weft_mpmc_timedpop() with a cancellation token.  A pop
 * that finds a value takes it without looking at the token; the token is read
 * only once the call would wait.  A value is never lost to a cancellation: a
 * pop that has claimed a value returns it (WEFT_OK) even if the token is
 * cancelled meanwhile; WEFT_ECANCELED means nothing was taken.
 *
 * Context: may block until @deadline or the cancellation; not async-signal-safe.
 * Ordering: acquire on WEFT_OK.
 * Return: WEFT_OK; WEFT_ETIMEDOUT or WEFT_ECANCELED (nothing popped, *@out
 * untouched); WEFT_ECLOSED (closed and drained); WEFT_EINVAL for a malformed
 * @deadline (the queue is then not touched).
 */
WEFT_NODISCARD static inline int weft_mpmc_pop_ctx(weft_mpmc_t *q, void **out, const struct timespec *deadline,
						   weft_cancel_t *cancel)
{
	if (deadline != NULL && !weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT__MPMC_CHECK(q);
	int first = weft__mpmc_pop_fast(q, out);
	int rc = WEFT_LIKELY(first == WEFT__MPMC_DONE) ? WEFT_OK : weft_mpmc_pop_slow(q, out, deadline, cancel, first);
	if (rc == WEFT_OK)
		WEFT_TSAN_ACQUIRE(q); /* TSan: see above weft__mpmc_push_fast() */
	return weft__cancel_acquired(rc, cancel); /* TSan: see cancel.h */
}

/* weft_mpmc_select()'s checks of its arguments (WEFT_EINVAL if false). */
static inline bool weft__mpmc_select_valid(const weft_mpmc_case_t *cases, unsigned n,
					   const struct timespec *deadline, const unsigned *chosen)
{
	if (cases == NULL || chosen == NULL || n == 0 || n > WEFT_MPMC_SELECT_MAX)
		return false;
	if (deadline != NULL && !weft_deadline_valid(deadline))
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (cases[i].queue == NULL || (cases[i].op != WEFT_MPMC_OP_POP && cases[i].op != WEFT_MPMC_OP_PUSH))
			return false;
		WEFT__MPMC_CHECK(cases[i].queue);
	}
	return true;
}

/* The case a select tries first: a per-thread xorshift32 generator (G.
 * Marsaglia, "Xorshift RNGs", Journal of Statistical Software 8(14), 2003),
 * so that a queue that is always ready cannot starve another, with no shared
 * counter to contend on.  The state lives in src/mpmc.c; 0 means unseeded. */
extern __thread uint32_t weft__mpmc_select_rng;

static inline unsigned weft__mpmc_select_start(unsigned n)
{
	uint32_t x = weft__mpmc_select_rng;
	if (WEFT_UNLIKELY(x == 0)) /* this thread's first select: seed from its TLS address */
		x = (uint32_t)((uintptr_t)&weft__mpmc_select_rng >> 4) * 2654435761u | 1u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	weft__mpmc_select_rng = x;
	/* uniform in [0, n): the high bits of x * n (D. Lemire's multiply-shift) */
	return (unsigned)(((uint64_t)x * n) >> 32);
}

/* One uncontended first attempt per case from @start (the inline attempts
 * push/pop begin with); true with *@chosen if one was performed.  Anything
 * else (a lost race, a closed queue, a peer's claim window) is left to the
 * full scans of weft_mpmc_select_slow(). */
static inline bool weft__mpmc_select_first(weft_mpmc_case_t *cases, unsigned n, unsigned start, unsigned *chosen)
{
	for (unsigned k = 0, i = start; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
		weft_mpmc_case_t *c = &cases[i];
		void *value;
		if (c->op == WEFT_MPMC_OP_PUSH) {
			if (weft__mpmc_push_fast(c->queue, c->item) != WEFT__MPMC_DONE)
				continue;
		} else {
			if (weft__mpmc_pop_fast(c->queue, &value) != WEFT__MPMC_DONE)
				continue;
			c->item = value; /* written only for the case performed */
		}
		*chosen = i;
		return true;
	}
	return false;
}

/**
 * weft_mpmc_select() - perform exactly one of several pushes and pops, the
 * first that can be done, sleeping until one can, until @deadline or until
 * @cancel is cancelled.
 * @cases: @n cases, each a queue, a direction (WEFT_MPMC_OP_POP or
 *         WEFT_MPMC_OP_PUSH) and an item: the value to push, or where the
 *         popped value goes.
 * @n: 1 to WEFT_MPMC_SELECT_MAX.
 * @deadline: absolute CLOCK_MONOTONIC time, or NULL for none.
 * @cancel: a token (include/weft/cancel.h), or NULL for none.
 * @chosen: receives the index of the case performed (WEFT_OK) or of the
 *          closed case reported (WEFT_ECLOSED); untouched otherwise.
 *
 * Go's select over channels, for weft_mpmc_t: the call tries each case once
 * with the non-blocking try operation, starting at a pseudo-random case (a
 * per-thread generator), and performs the first that succeeds; only that
 * case's queue changes, and only that case's item (for a pop) is written.
 * The random start makes it fair between ready cases: a queue that is always
 * ready cannot starve another.  When no case is ready, the caller announces
 * itself as a sleeper on every queue (as weft_mpmc_pop() and weft_mpmc_push()
 * do), looks once more, and sleeps on all of them at once with the token; a
 * push (pop) on any of the queues wakes it.
 *
 * Closed queues: a pop case on a closed and drained queue, or a push case on
 * a closed queue, can never be performed.  Ready operations win: such a case
 * is reported (WEFT_ECLOSED, *@chosen = its index; the lowest index if several
 * are closed) only when no other case can be performed at that moment, and
 * then without waiting.  Drop it from @cases to wait on the others.
 *
 * A case may name a queue more than once (as pop and push, or twice).  Queues
 * may be process-shared (a process-shared queue then needs a process-shared
 * token); a sleeper on such a queue naps, as weft_mpmc_pop() does.
 *
 * Context: may block until @deadline or the cancellation; not async-signal-safe.
 * Ordering: as the operation performed: release for a push, acquire for a pop.
 * Return: WEFT_OK (case *@chosen was performed); WEFT_ECLOSED (see above);
 * WEFT_ETIMEDOUT or WEFT_ECANCELED (nothing was performed; the token is read
 * only when no case is ready); WEFT_EINVAL (nothing done) if @cases or
 * @chosen is NULL, @n is 0 or above WEFT_MPMC_SELECT_MAX, a case's queue is
 * NULL or its op unknown, or @deadline is malformed.
 */
WEFT_NODISCARD static inline int weft_mpmc_select(weft_mpmc_case_t *cases, unsigned n, const struct timespec *deadline,
						  weft_cancel_t *cancel, unsigned *chosen)
{
	if (WEFT_UNLIKELY(!weft__mpmc_select_valid(cases, n, deadline, chosen)))
		return WEFT_EINVAL;
#ifdef WEFT_TSAN
	/* TSan: see above weft__mpmc_push_fast(); the push may be any case's */
	for (unsigned i = 0; i < n; i++)
		if (cases[i].op == WEFT_MPMC_OP_PUSH)
			WEFT_TSAN_RELEASE(cases[i].queue);
#endif
	unsigned start = weft__mpmc_select_start(n);
	int rc = WEFT_OK;
	if (!weft__mpmc_select_first(cases, n, start, chosen))
		rc = weft_mpmc_select_slow(cases, n, deadline, cancel, chosen, start);
#ifdef WEFT_TSAN
	if (rc == WEFT_OK && cases[*chosen].op == WEFT_MPMC_OP_POP)
		WEFT_TSAN_ACQUIRE(cases[*chosen].queue); /* TSan: as in weft_mpmc_pop() */
#endif
	return weft__cancel_acquired(rc, cancel); /* TSan: see cancel.h */
}

/**
 * weft_mpmc_push_n() - push up to @n values as one batch, without blocking.
 * @q: the queue.
 * @values: the values, in order; may be NULL only if @n is 0.
 * @n: how many to push.
 *
 * Pushes the longest prefix of @values that fits in the free slots ready at
 * the moment of the claim; the values pushed are consecutive in the queue.
 *
 * Context: any thread or process; never blocks (a lost race backs off
 * briefly: pauses and sched_yield(), see weft_mpmc_set_backoff()).
 * Ordering: release, for each value pushed.
 * Return: how many values were pushed (0 if the queue is full or closed, or
 * @values is NULL).
 */
WEFT_NODISCARD static inline size_t weft_mpmc_push_n(weft_mpmc_t *q, void *const *values, size_t n)
{
	WEFT_TSAN_RELEASE(q); /* TSan: see above weft__mpmc_push_fast() */
	return weft_mpmc_push_n_slow(q, values, n);
}

/**
 * weft_mpmc_pop_n() - pop up to @n values as one batch, without blocking.
 * @q: the queue.
 * @out: receives the values, oldest first; may be NULL only if @n is 0.
 * @n: room in @out.
 *
 * Context: any thread or process; never blocks (a lost race backs off
 * briefly: pauses and sched_yield(), see weft_mpmc_set_backoff()).
 * Ordering: acquire, for each value popped.
 * Return: how many values were popped (0 if the queue is empty, or @out is NULL).
 */
WEFT_NODISCARD static inline size_t weft_mpmc_pop_n(weft_mpmc_t *q, void **out, size_t n)
{
	size_t got = weft_mpmc_pop_n_slow(q, out, n);
	if (got != 0)
		WEFT_TSAN_ACQUIRE(q); /* TSan: see above weft__mpmc_push_fast() */
	return got;
}

/**
 * weft_mpmc_close() - refuse further pushes and wake every sleeper.
 * @q: the queue.
 *
 * Pushes that have not claimed a slot yet fail with WEFT_ECLOSED (try_push
 * and push_n: false and 0); values already pushed stay poppable, and pops
 * report WEFT_ECLOSED once the queue is drained.  Closing twice is harmless.
 *
 * Context: any thread or process; never blocks (makes two futex wake calls).
 * Ordering: every push that succeeded was linearized before the close.
 */
void weft_mpmc_close(weft_mpmc_t *q);

/**
 * weft_mpmc_is_closed() - whether weft_mpmc_close() has been called.
 * @q: the queue.
 *
 * Context: any; never blocks.
 * Ordering: acquire: a true result happens after the close.
 * Return: true once the queue is closed.
 */
static inline bool weft_mpmc_is_closed(weft_mpmc_t *q)
{
	WEFT__MPMC_CHECK(q);
	/* acquire: pairs with the seq_cst fetch_or in weft_mpmc_close() */
	return (weft_atomic_load(&q->tail, WEFT_ACQUIRE) & WEFT_MPMC_CLOSED_BIT) != 0;
}

/**
 * weft_mpmc_capacity() - the number of slots.
 * @q: the queue.
 *
 * Return: the capacity given at creation.
 */
static inline size_t weft_mpmc_capacity(const weft_mpmc_t *q)
{
	WEFT__MPMC_CHECK(q);
	return (size_t)q->mask + 1; /* fixed at init */
}

/**
 * weft_mpmc_size_approx() - roughly how many values the queue holds.
 * @q: the queue.
 *
 * Counts positions claimed by pushes and not yet claimed by pops, so pushes
 * and pops in progress are counted as done.  Exact when the queue is quiet.
 *
 * Context: any; never blocks.
 * Ordering: none (relaxed loads).
 * Return: a value from 0 to the capacity.
 */
static inline size_t weft_mpmc_size_approx(weft_mpmc_t *q)
{
	WEFT__MPMC_CHECK(q);
	/* relaxed: a snapshot for statistics; head first, so that the usual
	 * outcome of a race is a slight overcount, clamped below */
	uint64_t head = weft_atomic_load(&q->head, WEFT_RELAXED);
	uint64_t tail = weft_atomic_load(&q->tail, WEFT_RELAXED) & ~WEFT_MPMC_CLOSED_BIT;
	if (tail <= head)
		return 0;
	return (size_t)(tail - head) > (size_t)q->mask + 1 ? (size_t)q->mask + 1 : (size_t)(tail - head);
}

/**
 * weft_mpmc_set_spin() - set how many pause instructions a blocking push or
 * pop backs off for before it sleeps, for every queue in the process.
 * @pauses: the new bound; 0 sleeps at once.
 *
 * A tuning knob for measurements; the default was chosen by measurement
 * (docs/mpmc.md).
 *
 * Context: any thread, at any time.
 * Return: the previous bound.
 */
unsigned weft_mpmc_set_spin(unsigned pauses);

/**
 * weft_mpmc_set_backoff() - set the longest wait, in pause instructions, of
 * a push or pop that lost the race for a position, for every queue in the
 * process.
 * @max_pauses: the new bound; the first wait after a lost race is 1/16 of it,
 *              and each further loss doubles the wait up to it.  0: retry at
 *              once.  Values above WEFT_MPMC_BACKOFF_LIMIT are clamped to it.
 *
 * A tuning knob for measurements; the default (WEFT_MPMC_BACKOFF_DEFAULT)
 * was chosen by measurement (docs/mpmc.md).  It never changes what an
 * operation returns, only how long a contended one takes.
 *
 * Context: any thread, at any time.
 * Return: the previous bound.
 */
unsigned weft_mpmc_set_backoff(unsigned max_pauses);

WEFT_EXTERN_C_END

#endif /* WEFT_MPMC_H */
