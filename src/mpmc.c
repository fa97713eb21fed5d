/* SPDX-License-Identifier: MIT */
/*
 * mpmc.c - creation, the retry loops, batches, sleeping and close of
 * weft_mpmc_t.  The algorithm (D. Vyukov's bounded MPMC queue), the slot
 * states and the sleeping protocol are described at the top of
 * include/weft/mpmc.h; the inline first attempts live there too.
 *
 * When an attempt fails, a blocking push or pop asks the counters why:
 *   - the queue is really full (push) or empty (pop): poll it for up to
 *     weft_mpmc_set_spin() pauses, yielding the CPU every few pauses
 *     (mpmc_spin_more()), then register as a sleeper, re-check, and sleep on
 *     the side's epoch word (mpmc_sleep());
 *   - the counters say "there is room / there is a value" but the slot says
 *     otherwise: a peer is between its claim and its release of that slot
 *     (the algorithm's one blocking window).  Spin briefly, then yield the CPU
 *     so that a preempted peer can run, then nap on the epoch word as a
 *     registered sleeper, with a growing timeout (mpmc_stall()).
 * Nothing spins forever, and a thread waiting on an empty queue sleeps in
 * the kernel.
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "keep_errno.h"
#include "spinwait.h"
#include "wait.h"
#include "weft/deadline.h"
#include "weft/mpmc.h"
#include "weft/status.h"

/* An internal bit of weft_mpmc_t.flags: weft_mpmc_create() allocated the queue. */
#define WEFT__MPMC_OWNED 0x80000000u

/* The claim-window stall (mpmc_stall()): short spins, then yields (the
 * WEFT__SPIN_MPMC_STALL preset of src/spinwait.c), then registered naps with
 * a growing timeout.  The peer's window is a few instructions, so a peer
 * that is running finishes within the spins; one that was preempted needs a
 * CPU, which the yields and naps give it; the next push (pop) of anyone ends
 * a nap, and the timeout only matters if nobody makes progress (a peer
 * stopped or killed inside its window). */
#define WEFT__MPMC_NAP_MIN_NS 50000ull
#define WEFT__MPMC_NAP_MAX_NS 1000000ull

/*
 * Contention backoff: a thread that loses the race for a position (its CAS
 * fails, or the slot shows that another thread claimed the position) waits
 * before it tries again: max/16 pauses the first time, doubling up to max
 * (weft_mpmc_set_backoff(), WEFT_MPMC_BACKOFF_DEFAULT; the
 * WEFT__SPIN_MPMC_BACKOFF preset of src/spinwait.c).  This is the
 * exponential backoff of T. E. Anderson, "The performance of spin lock
 * alternatives for shared-memory multiprocessors" (IEEE TPDS 1(1), 1990),
 * applied to lock-free retries as in M. Herlihy and N. Shavit, "The Art of
 * Multiprocessor Programming", section 11.2 (the backoff stack).  Why it
 * pays: an immediate retry collides with the winner's next operation and
 * moves the tail (head) line and the slot lines between CPUs once more;
 * while the loser waits, the winner runs several operations on lines it
 * already holds.  The bound keeps a loser's wait short: 256 pauses are about
 * 1 to 12 microseconds, depending on the CPU's pause instruction (6.7 on the
 * machine of docs/benchmarks.md).  The default comes from the sweep in
 * docs/mpmc.md.
 */

unsigned weft_mpmc_set_backoff(unsigned max_pauses)
{
	if (max_pauses > WEFT_MPMC_BACKOFF_LIMIT)
		max_pauses = WEFT_MPMC_BACKOFF_LIMIT;
	return weft__spin_set_cap(WEFT__SPIN_MPMC_BACKOFF, max_pauses);
}

/* One backoff step after a lost race (src/spinwait.h does the pausing and the
 * doubling).  From the second lost race of one operation on, yield the CPU
 * first: when threads outnumber CPUs, a thread that keeps losing hands its
 * CPU to a runnable thread the scheduler would otherwise keep waiting for a
 * whole time slice (in docs/mpmc.md, the worst stalls of the 4- and 8-thread
 * pair rows fell from 16 and 32-40 ms to 3 and 10-11 ms); on a CPU nobody
 * else wants, sched_yield() returns at once and the pauses still do the
 * waiting (yielding instead of pausing made the 2-thread rows bimodal: a
 * yield that returns at once is no backoff). */
static bool mpmc_back_off(struct weft__spinwait *b)
{
	/* The caller's deadline bounds the backoff: it is read (one vDSO
	 * clock_gettime) before each yield, or before each retry when the cap
	 * is 0, and never past it: a timed call that keeps losing the race
	 * gives up there (false) instead of yielding on. */
	if (b->step > b->cap / 16 || b->step == 0) {
		if (weft__spinwait_passed(b))
			return false;
		if (b->step != 0)
			weft__spinwait_yield();
	}
	weft__spinwait_pause(b);
	return true;
}

/* The backoff of a slow path whose first attempt found @first, bounded by
 * @deadline (NULL: none): steps from 1/16 of the bound up to it; a lost race
 * waits before the slow path's first retry (the retry itself then looks at
 * the deadline if it loses again). */
static struct weft__spinwait mpmc_backoff_start(int first, const struct timespec *deadline)
{
	struct weft__spinwait b;
	weft__spinwait_init(&b, WEFT__SPIN_MPMC_BACKOFF, deadline);
	if (first == WEFT__MPMC_LOST)
		(void)mpmc_back_off(&b);
	return b;
}

/* What one attempt loop found. */
enum mpmc_outcome {
	MPMC_DONE,    /* pushed or popped */
	MPMC_BLOCKED, /* full (push) or empty (pop) */
	MPMC_CLOSED,  /* push: the queue is closed; pop (mpmc_counters()): closed and drained */
	MPMC_TIMEDOUT /* the attempt kept losing races past the caller's deadline (mpmc_back_off()) */
};

enum mpmc_side { MPMC_PUSH_SIDE, MPMC_POP_SIDE };

/* The spin bound is the WEFT__SPIN_MPMC_WAIT preset (src/spinwait.c). */
unsigned weft_mpmc_set_spin(unsigned pauses)
{
	return weft__spin_set_pauses(WEFT__SPIN_MPMC_WAIT, pauses);
}

static unsigned mpmc_wait_flags(const weft_mpmc_t *q)
{
	return q->flags & WEFT_PSHARED; /* fixed at init */
}

static uint64_t mpmc_capacity(const weft_mpmc_t *q)
{
	return q->mask + 1; /* fixed at init */
}

/* ---- creation ------------------------------------------------------------ */

int weft_mpmc_validate(size_t capacity, unsigned flags)
{
	if (flags & ~WEFT_PSHARED)
		return WEFT_EINVAL;
	if (capacity < WEFT_MPMC_CAPACITY_MIN || capacity > WEFT_MPMC_CAPACITY_MAX ||
	    (capacity & (capacity - 1)) != 0)
		return WEFT_EINVAL;
	return WEFT_OK;
}

size_t weft_mpmc_bytes(size_t capacity)
{
	if (weft_mpmc_validate(capacity, 0) != WEFT_OK)
		return 0;
	/* 32-bit targets: the largest capacities do not fit in size_t */
	if (capacity > (SIZE_MAX - sizeof(weft_mpmc_t) - WEFT_CACHE_LINE) / sizeof(weft_mpmc_slot_t))
		return 0;
	size_t bytes = sizeof(weft_mpmc_t) + capacity * sizeof(weft_mpmc_slot_t);
	return (bytes + WEFT_CACHE_LINE - 1) / WEFT_CACHE_LINE * WEFT_CACHE_LINE;
}

static weft_mpmc_t *mpmc_init(void *mem, size_t capacity, unsigned flags)
{
	weft_mpmc_t *q = (weft_mpmc_t *)mem;
	/* relaxed stores throughout: the queue is not shared yet; publishing it
	 * (pthread_create, fork, a release store) is the caller's job */
	q->mask = (uint64_t)capacity - 1;
	q->flags = flags;
	weft_atomic_store(&q->tail, (uint64_t)0, WEFT_RELAXED);
	weft_atomic_store(&q->head, (uint64_t)0, WEFT_RELAXED);
	weft_atomic_store(&q->pop_sleepers, 0u, WEFT_RELAXED);
	weft_atomic_store(&q->push_sleepers, 0u, WEFT_RELAXED);
	weft_atomic_store(&q->pop_epoch, 0u, WEFT_RELAXED);
	weft_atomic_store(&q->push_epoch, 0u, WEFT_RELAXED);
	for (size_t i = 0; i < capacity; i++) {
		weft_mpmc_slot_t *slot = weft__mpmc_slot(q, i);
		weft_atomic_store(&slot->seq, (uint64_t)i, WEFT_RELAXED); /* free for position i */
		slot->value = NULL;
	}
	weft_atomic_store(&q->magic, WEFT_MPMC_MAGIC, WEFT_RELAXED);
	return q;
}

weft_mpmc_t *weft_mpmc_init_at(void *mem, size_t capacity, unsigned flags)
{
	if (mem == NULL || (uintptr_t)mem % WEFT_CACHE_LINE != 0 || weft_mpmc_validate(capacity, flags) != WEFT_OK ||
	    weft_mpmc_bytes(capacity) == 0)
		return NULL;
	return mpmc_init(mem, capacity, flags);
}

weft_mpmc_t *weft_mpmc_create(size_t capacity, unsigned flags)
{
	if (weft_mpmc_validate(capacity, flags) != WEFT_OK)
		return NULL;
	size_t bytes = weft_mpmc_bytes(capacity);
	if (bytes == 0)
		return NULL;
	int saved = weft__errno_save(); /* aligned_alloc() sets ENOMEM; errno stays the caller's */
	void *mem = aligned_alloc(WEFT_CACHE_LINE, bytes); /* bytes is a multiple of the alignment */
	weft__errno_restore(saved);
	if (mem == NULL)
		return NULL;
	return mpmc_init(mem, capacity, flags | WEFT__MPMC_OWNED);
}

void weft_mpmc_destroy_slow(weft_mpmc_t *q)
{
	/* relaxed: no thread may use the queue any more; the mark only helps
	 * WEFT_DEBUG builds catch a use after destroy */
	weft_atomic_store(&q->magic, 0u, WEFT_RELAXED);
	if (q->flags & WEFT__MPMC_OWNED)
		free(q);
}

/* ---- the attempt loops (Vyukov's algorithm) ------------------------------- */

/*
 * Wake up to @count sleepers of one side, unless nobody sleeps there or a
 * wake-up is already in flight (WEFT_MPMC_WAKING, see mpmc.h).  The thread
 * that sets WAKING makes the system call; the first sleeper to deregister
 * clears it again.
 */
static void mpmc_wake(weft_mpmc_t *q, uint32_t *sleepers, uint32_t *epoch, size_t count)
{
	/* relaxed: a first guess for the CAS */
	uint32_t w = weft_atomic_load(sleepers, WEFT_RELAXED);
	do {
		if (!weft__mpmc_should_wake(w))
			return;
		/* seq_cst: a waker that later sees WAKING and skips its call read
		 * this value, so it precedes the clearing deregistration in the
		 * total order (the argument in mpmc.h); relaxed on failure: retry */
	} while (!weft_atomic_cas_weak(sleepers, &w, w | WEFT_MPMC_WAKING, WEFT_SEQ_CST, WEFT_RELAXED));
	/* release: a sleeper that reads the bumped epoch before it sleeps also
	 * sees our claim in its re-check; pairs with the acquire load of the
	 * epoch in mpmc_sleep() */
	weft_atomic_fetch_add(epoch, 1u, WEFT_RELEASE);
	weft__wake(epoch, count > INT32_MAX ? INT32_MAX : (int)count, mpmc_wait_flags(q));
}

/* After a push of @count values that saw sleeping consumers. */
void weft_mpmc_wake_pop_slow(weft_mpmc_t *q, size_t count)
{
	mpmc_wake(q, &q->pop_sleepers, &q->pop_epoch, count);
}

/* After a pop of @count values that saw sleeping producers. */
void weft_mpmc_wake_push_slow(weft_mpmc_t *q, size_t count)
{
	mpmc_wake(q, &q->push_sleepers, &q->push_epoch, count);
}

/* Push @value unless the queue is full or closed, retrying (after a
 * backoff) on contention until @backoff's deadline. */
static enum mpmc_outcome mpmc_push_once(weft_mpmc_t *q, void *value, struct weft__spinwait *backoff)
{
	/* relaxed: a guess at the position; the CAS validates it */
	uint64_t pos = weft_atomic_load(&q->tail, WEFT_RELAXED);
	for (;;) {
		if (pos & WEFT_MPMC_CLOSED_BIT)
			return MPMC_CLOSED;
		weft_mpmc_slot_t *slot = weft__mpmc_slot(q, pos);
		/* acquire: pairs with the release store of seq by the pop that
		 * emptied the slot (its load of value happens before our store) */
		uint64_t seq = weft_atomic_load(&slot->seq, WEFT_ACQUIRE);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			/* seq_cst on success: the claim, ordered with sleepers'
			 * registrations (see mpmc.h); relaxed on failure: pos gets
			 * the current tail and we retry */
			if (weft_atomic_cas_weak(&q->tail, &pos, pos + 1, WEFT_SEQ_CST, WEFT_RELAXED)) {
				WEFT__CHAOS_POINT(); /* claimed, not yet published */
				/* seq_cst: pairs with the seq_cst registration in mpmc_sleep() */
				uint32_t sleepers = weft_atomic_load(&q->pop_sleepers, WEFT_SEQ_CST);
				slot->value = value;
				/* release: publishes value; pairs with the acquire load of seq in pop */
				weft_atomic_store(&slot->seq, pos + 1, WEFT_RELEASE);
				if (weft__mpmc_should_wake(sleepers))
					weft_mpmc_wake_pop_slow(q, 1);
				return MPMC_DONE;
			}
		} else if (dif < 0) {
			return MPMC_BLOCKED; /* the slot still holds the previous lap's value */
		}
		/* Another producer claimed pos (our CAS failed, or the slot is
		 * already past pos): back off, then catch up (relaxed, as above). */
		if (!mpmc_back_off(backoff))
			return MPMC_TIMEDOUT;
		pos = weft_atomic_load(&q->tail, WEFT_RELAXED);
	}
}

/* Pop into *out unless the queue is empty, retrying (after a backoff) on
 * contention until @backoff's deadline. */
static enum mpmc_outcome mpmc_pop_once(weft_mpmc_t *q, void **out, struct weft__spinwait *backoff)
{
	/* relaxed: a guess at the position; the CAS validates it */
	uint64_t pos = weft_atomic_load(&q->head, WEFT_RELAXED);
	for (;;) {
		weft_mpmc_slot_t *slot = weft__mpmc_slot(q, pos);
		/* acquire: pairs with the release store of seq by the push that
		 * filled the slot, so its value is visible */
		uint64_t seq = weft_atomic_load(&slot->seq, WEFT_ACQUIRE);
		int64_t dif = (int64_t)(seq - (pos + 1));
		if (dif == 0) {
			/* seq_cst on success, relaxed on failure: as in mpmc_push_once() */
			if (weft_atomic_cas_weak(&q->head, &pos, pos + 1, WEFT_SEQ_CST, WEFT_RELAXED)) {
				WEFT__CHAOS_POINT(); /* claimed, not yet published */
				/* seq_cst: pairs with the seq_cst registration in mpmc_sleep() */
				uint32_t sleepers = weft_atomic_load(&q->push_sleepers, WEFT_SEQ_CST);
				*out = slot->value;
				/* release: our load of value happens before the next
				 * lap's store; pairs with the acquire load of seq in push */
				weft_atomic_store(&slot->seq, pos + mpmc_capacity(q), WEFT_RELEASE);
				if (weft__mpmc_should_wake(sleepers))
					weft_mpmc_wake_push_slow(q, 1);
				return MPMC_DONE;
			}
		} else if (dif < 0) {
			return MPMC_BLOCKED; /* nothing published at pos yet */
		}
		/* Another consumer took pos: back off, then catch up (relaxed, as above). */
		if (!mpmc_back_off(backoff))
			return MPMC_TIMEDOUT;
		pos = weft_atomic_load(&q->head, WEFT_RELAXED);
	}
}

bool weft_mpmc_try_push_slow(weft_mpmc_t *q, void *value, int first)
{
	struct weft__spinwait backoff = mpmc_backoff_start(first, NULL);
	return mpmc_push_once(q, value, &backoff) == MPMC_DONE;
}

bool weft_mpmc_try_pop_slow(weft_mpmc_t *q, void **out, int first)
{
	struct weft__spinwait backoff = mpmc_backoff_start(first, NULL);
	return mpmc_pop_once(q, out, &backoff) == MPMC_DONE;
}

/* ---- batches ------------------------------------------------------------- */

size_t weft_mpmc_push_n_slow(weft_mpmc_t *q, void *const *values, size_t n)
{
	WEFT__MPMC_CHECK(q);
	if (values == NULL || n == 0)
		return 0;
	if (n > mpmc_capacity(q))
		n = (size_t)mpmc_capacity(q); /* never look at a slot twice */
	struct weft__spinwait backoff = mpmc_backoff_start(WEFT__MPMC_NOT_READY, NULL);
	/* relaxed: a guess at the position; the CAS validates it */
	uint64_t pos = weft_atomic_load(&q->tail, WEFT_RELAXED);
	for (;;) {
		if (pos & WEFT_MPMC_CLOSED_BIT)
			return 0;
		/* Count the free slots from pos on.  acquire: as in
		 * mpmc_push_once(), once per slot we will write */
		size_t k = 0;
		uint64_t first_seq = 0;
		for (; k < n; k++) {
			uint64_t seq = weft_atomic_load(&weft__mpmc_slot(q, pos + k)->seq, WEFT_ACQUIRE);
			if (k == 0)
				first_seq = seq;
			if (seq != pos + k)
				break;
		}
		if (k == 0) {
			if ((int64_t)(first_seq - pos) < 0)
				return 0; /* full */
			(void)mpmc_back_off(&backoff); /* another producer claimed pos; no deadline */
			pos = weft_atomic_load(&q->tail, WEFT_RELAXED); /* relaxed: catch up, as above */
			continue;
		}
		/* seq_cst on success, relaxed on failure: as in mpmc_push_once().
		 * Slots pos .. pos+k-1 were free for exactly these positions, so
		 * once the CAS succeeds no other thread may touch them. */
		if (weft_atomic_cas_weak(&q->tail, &pos, pos + k, WEFT_SEQ_CST, WEFT_RELAXED)) {
			WEFT__CHAOS_POINT(); /* claimed, not yet published */
			/* seq_cst: pairs with the seq_cst registration in mpmc_sleep() */
			uint32_t sleepers = weft_atomic_load(&q->pop_sleepers, WEFT_SEQ_CST);
			for (size_t i = 0; i < k; i++) {
				weft_mpmc_slot_t *slot = weft__mpmc_slot(q, pos + i);
				slot->value = values[i];
				/* release: publishes the value; pairs with the acquire load of seq in pop */
				weft_atomic_store(&slot->seq, pos + i + 1, WEFT_RELEASE);
			}
			if (weft__mpmc_should_wake(sleepers))
				weft_mpmc_wake_pop_slow(q, k);
			return k;
		}
		(void)mpmc_back_off(&backoff); /* lost the CAS; pos holds the current tail */
	}
}

size_t weft_mpmc_pop_n_slow(weft_mpmc_t *q, void **out, size_t n)
{
	WEFT__MPMC_CHECK(q);
	if (out == NULL || n == 0)
		return 0;
	uint64_t capacity = mpmc_capacity(q);
	if (n > capacity)
		n = (size_t)capacity;
	struct weft__spinwait backoff = mpmc_backoff_start(WEFT__MPMC_NOT_READY, NULL);
	/* relaxed: a guess at the position; the CAS validates it */
	uint64_t pos = weft_atomic_load(&q->head, WEFT_RELAXED);
	for (;;) {
		/* Count the published slots from pos on.  acquire: as in
		 * mpmc_pop_once(), once per slot we will read */
		size_t k = 0;
		uint64_t first_seq = 0;
		for (; k < n; k++) {
			uint64_t seq = weft_atomic_load(&weft__mpmc_slot(q, pos + k)->seq, WEFT_ACQUIRE);
			if (k == 0)
				first_seq = seq;
			if (seq != pos + k + 1)
				break;
		}
		if (k == 0) {
			if ((int64_t)(first_seq - (pos + 1)) < 0)
				return 0; /* empty */
			(void)mpmc_back_off(&backoff); /* another consumer took pos; no deadline */
			pos = weft_atomic_load(&q->head, WEFT_RELAXED); /* relaxed: catch up, as above */
			continue;
		}
		/* seq_cst on success, relaxed on failure: as in mpmc_pop_once() */
		if (weft_atomic_cas_weak(&q->head, &pos, pos + k, WEFT_SEQ_CST, WEFT_RELAXED)) {
			WEFT__CHAOS_POINT(); /* claimed, not yet published */
			/* seq_cst: pairs with the seq_cst registration in mpmc_sleep() */
			uint32_t sleepers = weft_atomic_load(&q->push_sleepers, WEFT_SEQ_CST);
			for (size_t i = 0; i < k; i++) {
				weft_mpmc_slot_t *slot = weft__mpmc_slot(q, pos + i);
				out[i] = slot->value;
				/* release: our load happens before the next lap's store;
				 * pairs with the acquire load of seq in push */
				weft_atomic_store(&slot->seq, pos + i + capacity, WEFT_RELEASE);
			}
			if (weft__mpmc_should_wake(sleepers))
				weft_mpmc_wake_push_slow(q, k);
			return k;
		}
		(void)mpmc_back_off(&backoff); /* lost the CAS; pos holds the current head */
	}
}

/* ---- sleeping -------------------------------------------------------------- */

static uint32_t *mpmc_sleepers(weft_mpmc_t *q, enum mpmc_side side)
{
	return side == MPMC_PUSH_SIDE ? &q->push_sleepers : &q->pop_sleepers;
}

static uint32_t *mpmc_epoch(weft_mpmc_t *q, enum mpmc_side side)
{
	return side == MPMC_PUSH_SIDE ? &q->push_epoch : &q->pop_epoch;
}

/* The earlier of two valid deadlines; @b may be NULL (none). */
static const struct timespec *mpmc_earlier(const struct timespec *a, const struct timespec *b)
{
	return b == NULL || weft__deadline_not_after(a, b) ? a : b;
}

/* What the counters say about the side that failed: the queue is really
 * full/empty (MPMC_BLOCKED), closed (MPMC_CLOSED: push, or pop once drained),
 * or there is room/a value by the counters, so a peer is inside its claim
 * window or we raced (MPMC_DONE: "retry"). */
static enum mpmc_outcome mpmc_counters(weft_mpmc_t *q, enum mpmc_side side, int order)
{
	/* order: relaxed for a hint, seq_cst for the re-check of a registered
	 * sleeper (see mpmc_sleep()).  head first: head never passes tail, so
	 * tail - head below cannot wrap. */
	uint64_t head = order == WEFT_SEQ_CST ? weft_atomic_load(&q->head, WEFT_SEQ_CST)
					      : weft_atomic_load(&q->head, WEFT_RELAXED);
	uint64_t tail = order == WEFT_SEQ_CST ? weft_atomic_load(&q->tail, WEFT_SEQ_CST)
					      : weft_atomic_load(&q->tail, WEFT_ACQUIRE);
	bool closed = (tail & WEFT_MPMC_CLOSED_BIT) != 0;
	tail &= ~WEFT_MPMC_CLOSED_BIT;
	if (side == MPMC_PUSH_SIDE) {
		if (closed)
			return MPMC_CLOSED;
		return tail - head >= mpmc_capacity(q) ? MPMC_BLOCKED : MPMC_DONE;
	}
	if (tail == head)
		return closed ? MPMC_CLOSED : MPMC_BLOCKED;
	return MPMC_DONE;
}

/* Deregister from @sleepers and clear WAKING; note in *@handover if it was set. */
static void mpmc_deregister(uint32_t *sleepers, bool *handover)
{
	/* seq_cst: see mpmc_sleep(); relaxed load: a first guess for the CAS */
	uint32_t w = weft_atomic_load(sleepers, WEFT_RELAXED);
	while (!weft_atomic_cas_weak(sleepers, &w, (w - 1) & ~WEFT_MPMC_WAKING, WEFT_SEQ_CST, WEFT_RELAXED))
		;
	if (w & WEFT_MPMC_WAKING)
		*handover = true;
}

/*
 * Register as a sleeper on @side, re-check, and sleep while the queue is
 * still full (push) or empty (pop).  *@handover is set if our deregistration
 * cleared WEFT_MPMC_WAKING: wake-ups may have been skipped on our account,
 * so before leaving the slow path we must pass one on (mpmc_hand_over()).
 *
 * Return: WEFT_OK (retry), WEFT_ETIMEDOUT (@deadline passed while asleep),
 * WEFT_ECANCELED (@cancel, if not NULL, was cancelled before or during the
 * sleep), or WEFT_ECLOSED (push: closed; pop: closed and drained).
 */
/*
 * The sleep of a process-shared queue: naps of WEFT__MPMC_PSHARED_NAP_NS.  A
 * peer process killed while it held SPINNING leaves the bit set for ever, and
 * the other side's wakers skip their call on its strength (WAKING heals: the
 * next sleeper to deregister clears it).  So a sleeper naps, and one whose
 * nap ended with a value (room) that nobody woke it for clears SPINNING: a
 * live poller takes a value within its spin bound, microseconds, not a nap
 * (clearing a live one's bit costs only wake-up calls).  make crashtest and
 * test_dead_peer.c's test_mpmc_dead_poller found it (docs/processes.md).
 */
#define WEFT__MPMC_PSHARED_NAP_NS 50000000ull /* 50 ms */

/* A process-shared sleeper's nap ended with a value (room) on @side that
 * nobody woke it for: clear a SPINNING bit a dead poller may have left. */
static void mpmc_heal_spinning(weft_mpmc_t *q, enum mpmc_side side)
{
	/* relaxed load: a hint; seq_cst fetch_and: ordered like mpmc_spin_stop()'s clear */
	if (mpmc_counters(q, side, WEFT_SEQ_CST) == MPMC_DONE &&
	    (weft_atomic_load(mpmc_sleepers(q, side), WEFT_RELAXED) & WEFT_MPMC_SPINNING))
		weft_atomic_fetch_and(mpmc_sleepers(q, side), ~WEFT_MPMC_SPINNING, WEFT_SEQ_CST);
}

static int mpmc_sleep_shared(weft_mpmc_t *q, enum mpmc_side side, uint32_t *epoch, uint32_t seen,
			     const struct timespec *deadline, weft_cancel_t *cancel)
{
	struct timespec nap = weft_deadline_after_ns(WEFT__MPMC_PSHARED_NAP_NS);
	int rc = weft__wait_ctx(epoch, seen, mpmc_earlier(&nap, deadline), WEFT_PSHARED, cancel);
	if (rc != WEFT_ETIMEDOUT || (deadline != NULL && weft_deadline_passed(deadline)))
		return rc;
	mpmc_heal_spinning(q, side);
	return WEFT_OK; /* only a nap ended: look again */
}

static int mpmc_sleep(weft_mpmc_t *q, enum mpmc_side side, const struct timespec *deadline, weft_cancel_t *cancel,
		      bool *handover)
{
	uint32_t *sleepers = mpmc_sleepers(q, side);
	uint32_t *epoch = mpmc_epoch(q, side);

	/* seq_cst: the registration.  In the total order of seq_cst operations
	 * either a peer's claim (CAS on tail or head) comes before it, and the
	 * re-check below sees the claim, or after it, and the peer's seq_cst
	 * load of our word sees us and wakes us after publishing. */
	weft_atomic_fetch_add(sleepers, 1u, WEFT_SEQ_CST);
	/* acquire: if the epoch was already bumped, we see the bumper's claim
	 * (pairs with the release fetch_add in mpmc_wake() and
	 * weft_mpmc_close()).  Read before the re-check: a bump after it ends
	 * the sleep below at once. */
	uint32_t seen = weft_atomic_load(epoch, WEFT_ACQUIRE);
	/* Clear WAKING before the re-check.  A wake-up in flight may have been
	 * meant for us, yet not reach us: if it bumped the epoch before our
	 * snapshot we will sleep on the new value, and the value it announced
	 * may be gone (taken by a thread that never slept).  Wakers that skipped
	 * their call because of the bit read it before this clear, so our
	 * re-check below sees their values; a waker that sets the bit after the
	 * clear bumps the epoch after our snapshot (its CAS and our clear are
	 * ordered in the total order, and reading its bump would have made its
	 * CAS happen before the clear), so our sleep ends at once.  seq_cst: both
	 * arguments need this clear in the total order. */
	if (weft_atomic_fetch_and(sleepers, ~WEFT_MPMC_WAKING, WEFT_SEQ_CST) & WEFT_MPMC_WAKING)
		*handover = true;
	/* seq_cst: the re-check, after the registration in the total order.  A
	 * stale counter can only make us sleep when the peer that moved it did
	 * so after our load, and is therefore bound to see us and wake us. */
	enum mpmc_outcome now = mpmc_counters(q, side, WEFT_SEQ_CST);
	int rc = WEFT_OK;
	if (now == MPMC_CLOSED)
		rc = WEFT_ECLOSED;
	else if (now == MPMC_BLOCKED && !(q->flags & WEFT_PSHARED))
		rc = weft__wait_ctx(epoch, seen, deadline, mpmc_wait_flags(q), cancel);
	else if (now == MPMC_BLOCKED)
		rc = mpmc_sleep_shared(q, side, epoch, seen, deadline, cancel);
	/* Deregister and clear WAKING (whoever set it meant to wake someone,
	 * and someone is now awake).  seq_cst: wakers that skipped their call
	 * because of the bit read it before this, so our later re-check or
	 * hand-over sees their values. */
	mpmc_deregister(sleepers, handover);
	return rc;
}

/*
 * Leaving a slow path after our deregistration cleared WAKING: if there is
 * still something for a sleeper of @side (a value to pop, room to push) and
 * one sleeps, wake it; wake-ups skipped while the bit was set are covered.
 */
static void mpmc_hand_over(weft_mpmc_t *q, enum mpmc_side side)
{
	/* seq_cst: after our deregistration in the total order, so we see every
	 * claim whose waker skipped its call on the strength of the bit */
	if (mpmc_counters(q, side, WEFT_SEQ_CST) != MPMC_DONE)
		return;
	if (side == MPMC_PUSH_SIDE)
		weft_mpmc_wake_push_slow(q, 1);
	else
		weft_mpmc_wake_pop_slow(q, 1);
}

/* Polling a full (empty) queue before sleeping, for at most the spin bound,
 * every 4 pauses, yielding the CPU in place of every 32nd pause (the
 * WEFT__SPIN_MPMC_WAIT preset of src/spinwait.c: on an idle machine
 * sched_yield() returns at once and polling goes on; on a busy one the
 * thread we wait for may be queued behind us, and pure spinning would keep
 * it from running).  Every waiter polls;
 * the first of a side also sets WEFT_MPMC_SPINNING.  While the bit is set,
 * the other side's wakers skip their call (the poller will take what they
 * publish), so whoever clears it hands over on leaving, as a thread that
 * clears WAKING does.  (Letting only the bit's holder poll and the others
 * sleep at once cost a futex sleep and wake per few values when waiters
 * outnumber CPUs: scenario C1's shape ran 3-40x slower; docs/mpmc.md.) */
struct mpmc_spin {
	struct weft__spinwait sw; /* the spin bound, and pauses so far */
	int role;       /* 0: not decided yet, 1: polling and holding SPINNING,
			 * 2: polling without it, -1: not polling (any more) */
};

/* The first pauses of a wait are quiet: the waiter watches only the slot it
 * needs (its counter's line and the slot's line, which the other side writes
 * once per value), after every pause, without setting SPINNING and without
 * yielding.  Most waits in a busy queue end within them (a ping-pong hop, a
 * consumer catching up with a producer).  Polling proper, below, also reads
 * the other side's counter to tell an empty (full) queue from a claim window,
 * and the first poller announces itself with a read-modify-write on that
 * line: both move the line the other side is using at that moment.  A quiet
 * waiter is not a sleeper, so nobody owes it a wake-up.  64 pauses are
 * ~1.7 us here; they count against the spin bound; the sweep in docs/mpmc.md
 * chose the length. */
#define WEFT__MPMC_SPIN_QUIET 64u

/* Stop polling: clear SPINNING.  Wakers may have skipped their call because
 * of the bit; seq_cst: they read it before this clear, so our hand-over
 * check (or our re-check, if we go to sleep) sees what they published. */
static void mpmc_spin_stop(weft_mpmc_t *q, enum mpmc_side side, struct mpmc_spin *sp, bool *handover)
{
	weft_atomic_fetch_and(mpmc_sleepers(q, side), ~WEFT_MPMC_SPINNING, WEFT_SEQ_CST);
	sp->role = -1;
	*handover = true;
}

/* One more polling step?  WEFT__SPIN_AGAIN: look again; WEFT__SPIN_PARK:
 * stop polling and sleep; WEFT__SPIN_TIMEDOUT: the deadline has passed.
 * Pauses between looks are few (4), because a waiter only reads lines the
 * peer writes (no contention to back off from), and every pause between the
 * peer's move and our look adds to the hand-over latency. */
static enum weft__spin_result mpmc_spin_more(weft_mpmc_t *q, enum mpmc_side side, struct mpmc_spin *sp,
					     bool *handover)
{
	uint32_t *word = mpmc_sleepers(q, side);
	if (sp->role == 0) {
		sp->role = -1;
		if (sp->sw.budget == 0)
			return WEFT__SPIN_PARK;
		/* relaxed: setting SPINNING publishes nothing (wakers that see
		 * it skip their call; the clear in mpmc_spin_stop() is what
		 * orders); relaxed load: a first guess for the CAS */
		uint32_t w = weft_atomic_load(word, WEFT_RELAXED);
		do {
			if (w & WEFT_MPMC_SPINNING) {
				sp->role = 2; /* another waiter holds the bit: poll without it */
				break;
			}
		} while (!weft_atomic_cas_weak(word, &w, w | WEFT_MPMC_SPINNING, WEFT_RELAXED, WEFT_RELAXED));
		if (sp->role != 2)
			sp->role = 1;
	}
	if (sp->role < 1)
		return WEFT__SPIN_PARK;
	enum weft__spin_result r = weft__spinwait_spin(&sp->sw);
	if (r != WEFT__SPIN_AGAIN) {
		if (sp->role == 1)
			mpmc_spin_stop(q, side, sp, handover);
		sp->role = -1;
	}
	return r;
}

/* Leaving the slow path: give up SPINNING if we hold it. */
static void mpmc_spin_done(weft_mpmc_t *q, enum mpmc_side side, struct mpmc_spin *sp, bool *handover)
{
	if (sp->role == 1)
		mpmc_spin_stop(q, side, sp, handover);
}

/* Whether the slot that the next push (pop) needs is ready for it. */
static bool mpmc_slot_ready(weft_mpmc_t *q, enum mpmc_side side)
{
	/* relaxed counters and acquire seq: a hint; the attempt that follows
	 * does the real checks */
	if (side == MPMC_PUSH_SIDE) {
		uint64_t tail = weft_atomic_load(&q->tail, WEFT_RELAXED);
		return (tail & WEFT_MPMC_CLOSED_BIT) ||
		       weft_atomic_load(&weft__mpmc_slot(q, tail)->seq, WEFT_ACQUIRE) == tail;
	}
	uint64_t head = weft_atomic_load(&q->head, WEFT_RELAXED);
	return weft_atomic_load(&weft__mpmc_slot(q, head)->seq, WEFT_ACQUIRE) == head + 1;
}

/* The quiet start of a wait (WEFT__MPMC_SPIN_QUIET): a look after every
 * pause; the pauses count against the spin bound. */
static void mpmc_spin_quiet(weft_mpmc_t *q, enum mpmc_side side, struct mpmc_spin *sp)
{
	unsigned quiet = sp->sw.budget < WEFT__MPMC_SPIN_QUIET ? sp->sw.budget : WEFT__MPMC_SPIN_QUIET;
	while (sp->sw.spent < quiet && !mpmc_slot_ready(q, side))
		weft__spinwait_relax(&sp->sw);
}

/*
 * A peer sits inside its claim window on the slot we need (the one place
 * where the algorithm blocks; see mpmc.h).  It is running on another CPU and
 * done in nanoseconds, or it was preempted and needs a CPU: spin a little,
 * then yield, then nap.  A napper registers as a sleeper, so the next push
 * (pop) of any thread wakes it; the stalled peer itself may not (it loaded
 * the sleeper word before we registered), hence the growing timeout, which
 * only matters if no other thread makes progress either.
 *
 * Return: WEFT_OK (retry), WEFT_ETIMEDOUT, or WEFT_ECANCELED (@cancel was
 * cancelled before or during a nap).
 */
struct mpmc_stall {
	struct weft__spinwait sw; /* the WEFT__SPIN_MPMC_STALL preset, bounded by the deadline */
	unsigned naps;            /* naps so far */
};

/* The timeout of nap number @naps (0, 1, ...) of a claim-window stall. */
static uint64_t mpmc_nap_ns(unsigned naps)
{
	uint64_t nap = naps >= 6 ? WEFT__MPMC_NAP_MAX_NS : WEFT__MPMC_NAP_MIN_NS << naps;
	return nap > WEFT__MPMC_NAP_MAX_NS ? WEFT__MPMC_NAP_MAX_NS : nap;
}

static int mpmc_stall(weft_mpmc_t *q, enum mpmc_side side, struct mpmc_stall *st, const struct timespec *deadline,
		      weft_cancel_t *cancel, bool *handover)
{
	int rc = weft__spinwait_step(&st->sw); /* spin, yield, or (EBUSY) nap */
	if (rc != WEFT_EBUSY)
		return rc;
	struct timespec until = weft_deadline_after_ns(mpmc_nap_ns(st->naps++));
	uint32_t *sleepers = mpmc_sleepers(q, side);
	uint32_t *epoch = mpmc_epoch(q, side);
	/* The registration protocol of mpmc_sleep(), with a timeout: a missed
	 * wake-up here costs at most the nap.  seq_cst, acquire: as there. */
	weft_atomic_fetch_add(sleepers, 1u, WEFT_SEQ_CST);
	uint32_t seen = weft_atomic_load(epoch, WEFT_ACQUIRE);
	if (weft_atomic_fetch_and(sleepers, ~WEFT_MPMC_WAKING, WEFT_SEQ_CST) & WEFT_MPMC_WAKING)
		*handover = true;
	if (!mpmc_slot_ready(q, side))
		rc = weft__wait_ctx(epoch, seen, mpmc_earlier(&until, deadline), mpmc_wait_flags(q), cancel);
	mpmc_deregister(sleepers, handover);
	return rc == WEFT_ECANCELED ? WEFT_ECANCELED : WEFT_OK;
}

static int mpmc_push_wait(weft_mpmc_t *q, void *value, const struct timespec *deadline, weft_cancel_t *cancel,
			  bool *handover,
			  struct mpmc_spin *spin, int first)
{
	struct weft__spinwait backoff = mpmc_backoff_start(first, deadline);
	struct mpmc_stall stall;
	stall.naps = 0;
	weft__spinwait_init(&stall.sw, WEFT__SPIN_MPMC_STALL, deadline);
	bool first_try = true;
	if (first == WEFT__MPMC_NOT_READY && (deadline == NULL || !weft_deadline_passed(deadline)))
		mpmc_spin_quiet(q, MPMC_PUSH_SIDE, spin);
	for (;;) {
		enum mpmc_outcome r = mpmc_push_once(q, value, &backoff);
		if (r == MPMC_DONE)
			return WEFT_OK;
		if (r == MPMC_CLOSED)
			return WEFT_ECLOSED;
		if (r == MPMC_TIMEDOUT)
			return WEFT_ETIMEDOUT;
		if (first_try && deadline != NULL && weft_deadline_passed(deadline))
			return WEFT_ETIMEDOUT;
		/* The token is read only now that the call would wait (once:
		 * weft__wait_ctx() looks at it again before each sleep). */
		if (first_try && cancel != NULL && weft_cancel_requested(cancel))
			return WEFT_ECANCELED;
		first_try = false;
		int rc = WEFT_OK;
		switch (mpmc_counters(q, MPMC_PUSH_SIDE, WEFT_RELAXED)) {
		case MPMC_CLOSED:
			return WEFT_ECLOSED;
		case MPMC_DONE: /* room by the counters: a pop is inside its window */
			rc = mpmc_stall(q, MPMC_PUSH_SIDE, &stall, deadline, cancel, handover);
			break;
		case MPMC_TIMEDOUT: /* mpmc_counters() never says so */
		case MPMC_BLOCKED: /* full: poll a while, then sleep */
			switch (mpmc_spin_more(q, MPMC_PUSH_SIDE, spin, handover)) {
			case WEFT__SPIN_AGAIN:
				continue;
			case WEFT__SPIN_TIMEDOUT:
				rc = WEFT_ETIMEDOUT;
				break;
			case WEFT__SPIN_PARK:
				rc = mpmc_sleep(q, MPMC_PUSH_SIDE, deadline, cancel, handover);
				break;
			}
			break;
		}
		if (rc == WEFT_ECLOSED || rc == WEFT_ECANCELED)
			return rc; /* cancelled: nothing claimed; a wake-up meant for
				    * us is passed on by the hand-over */
		if (rc == WEFT_ETIMEDOUT) {
			/* One last attempt: a wake-up meant for us may have come
			 * with the timeout, and must not be wasted. */
			r = mpmc_push_once(q, value, &backoff);
			return r == MPMC_DONE ? WEFT_OK : r == MPMC_CLOSED ? WEFT_ECLOSED : WEFT_ETIMEDOUT;
		}
	}
}

static int mpmc_pop_wait(weft_mpmc_t *q, void **out, const struct timespec *deadline, weft_cancel_t *cancel,
			  bool *handover,
			 struct mpmc_spin *spin, int first)
{
	struct weft__spinwait backoff = mpmc_backoff_start(first, deadline);
	struct mpmc_stall stall;
	stall.naps = 0;
	weft__spinwait_init(&stall.sw, WEFT__SPIN_MPMC_STALL, deadline);
	bool first_try = true;
	if (first == WEFT__MPMC_NOT_READY && (deadline == NULL || !weft_deadline_passed(deadline)))
		mpmc_spin_quiet(q, MPMC_POP_SIDE, spin);
	for (;;) {
		enum mpmc_outcome r = mpmc_pop_once(q, out, &backoff);
		if (r == MPMC_DONE)
			return WEFT_OK;
		if (r == MPMC_TIMEDOUT)
			return WEFT_ETIMEDOUT;
		enum mpmc_outcome c = mpmc_counters(q, MPMC_POP_SIDE, WEFT_RELAXED);
		if (c == MPMC_CLOSED)
			return WEFT_ECLOSED; /* closed and drained */
		if (first_try && deadline != NULL && weft_deadline_passed(deadline))
			return WEFT_ETIMEDOUT;
		/* The token is read only now that the call would wait (once:
		 * weft__wait_ctx() looks at it again before each sleep). */
		if (first_try && cancel != NULL && weft_cancel_requested(cancel))
			return WEFT_ECANCELED;
		first_try = false;
		int rc;
		if (c == MPMC_DONE) { /* a value by the counters: a push is inside its window */
			rc = mpmc_stall(q, MPMC_POP_SIDE, &stall, deadline, cancel, handover);
		} else { /* empty: poll a while, then sleep */
			enum weft__spin_result spun = mpmc_spin_more(q, MPMC_POP_SIDE, spin, handover);
			if (spun == WEFT__SPIN_AGAIN)
				continue;
			rc = spun == WEFT__SPIN_TIMEDOUT ? WEFT_ETIMEDOUT
							 : mpmc_sleep(q, MPMC_POP_SIDE, deadline, cancel, handover);
		}
		if (rc == WEFT_ECLOSED || rc == WEFT_ECANCELED)
			return rc; /* cancelled: nothing claimed; a wake-up meant for
				    * us is passed on by the hand-over */
		if (rc == WEFT_ETIMEDOUT) {
			/* One last attempt, as in mpmc_push_wait(). */
			if (mpmc_pop_once(q, out, &backoff) == MPMC_DONE)
				return WEFT_OK;
			return mpmc_counters(q, MPMC_POP_SIDE, WEFT_RELAXED) == MPMC_CLOSED ? WEFT_ECLOSED
											  : WEFT_ETIMEDOUT;
		}
	}
}

int weft_mpmc_push_slow(weft_mpmc_t *q, void *value, const struct timespec *deadline, weft_cancel_t *cancel,
			int first)
{
	bool handover = false;
	struct mpmc_spin spin;
	weft__spinwait_init(&spin.sw, WEFT__SPIN_MPMC_WAIT, deadline);
	spin.role = 0;
	int rc = mpmc_push_wait(q, value, deadline, cancel, &handover, &spin, first);
	mpmc_spin_done(q, MPMC_PUSH_SIDE, &spin, &handover);
	if (handover)
		mpmc_hand_over(q, MPMC_PUSH_SIDE);
	return rc;
}

int weft_mpmc_pop_slow(weft_mpmc_t *q, void **out, const struct timespec *deadline, weft_cancel_t *cancel, int first)
{
	bool handover = false;
	struct mpmc_spin spin;
	weft__spinwait_init(&spin.sw, WEFT__SPIN_MPMC_WAIT, deadline);
	spin.role = 0;
	int rc = mpmc_pop_wait(q, out, deadline, cancel, &handover, &spin, first);
	mpmc_spin_done(q, MPMC_POP_SIDE, &spin, &handover);
	if (handover)
		mpmc_hand_over(q, MPMC_POP_SIDE);
	return rc;
}

int weft_mpmc_timedpush_slow(weft_mpmc_t *q, void *value, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT__MPMC_CHECK(q);
	int first = weft__mpmc_push_fast(q, value);
	if (first == WEFT__MPMC_DONE)
		return WEFT_OK;
	return weft_mpmc_push_slow(q, value, deadline, NULL, first);
}

int weft_mpmc_timedpop_slow(weft_mpmc_t *q, void **out, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	WEFT__MPMC_CHECK(q);
	int first = weft__mpmc_pop_fast(q, out);
	if (first == WEFT__MPMC_DONE)
		return WEFT_OK;
	return weft_mpmc_pop_slow(q, out, deadline, NULL, first);
}

/* ---- select ---------------------------------------------------------------- */

/*
 * weft_mpmc_select(), Go's select over several queues (include/weft/mpmc.h).
 * One call:
 *   1. (inline, in mpmc.h) checks its arguments, picks a pseudo-random start
 *      and makes the uncontended first attempt of each case from there; here
 *      it scans the cases with the attempt loops of the try operations
 *      (mpmc_push_once(), mpmc_pop_once()), and performs the first that
 *      succeeds: only a successful attempt changes a queue, so no value is
 *      taken from a queue that is not reported;
 *   2. if none did: reports a closed case, the token or the deadline, or
 *      polls (rescans) for the spin bound of a blocking pop (the
 *      WEFT__SPIN_MPMC_WAIT preset), without WEFT_MPMC_SPINNING: that bit
 *      promises one queue's wakers that the poller will take their value,
 *      which a poller of several queues cannot promise;
 *   3. then registers as a sleeper on the side of every case, exactly as
 *      mpmc_sleep() does on one queue (registration, epoch snapshot, WAKING
 *      cleared, seq_cst re-check of the counters), and sleeps on all the
 *      epoch words at once with the token (weft__wait_any()).  The
 *      lost-wake-up argument of mpmc.h holds queue by queue: a peer's claim
 *      on queue A comes before our registration on A (and our re-check of A
 *      sees it) or after it (and the peer sees us and bumps A's epoch).
 *      Every exit deregisters from every queue, and the call hands over
 *      (mpmc_hand_over()) on each queue whose WAKING bit its deregistration
 *      cleared: a wake-up meant for a sleeper of A may reach a select that
 *      then takes B's value, and the hand-over passes A's value on.
 */

/* The state of weft__mpmc_select_start() (include/weft/mpmc.h). */
__thread uint32_t weft__mpmc_select_rng;

static enum mpmc_side mpmc_case_side(const weft_mpmc_case_t *c)
{
	return c->op == WEFT_MPMC_OP_PUSH ? MPMC_PUSH_SIDE : MPMC_POP_SIDE;
}

struct mpmc_select {
	weft_mpmc_case_t *cases;
	unsigned n;
	unsigned start;                /* the first case each scan tries */
	unsigned closed;               /* the lowest closed case the last scan found, or n */
	unsigned naps;                 /* claim-window naps in a row (mpmc_nap_ns()) */
	uint64_t handover;             /* bit i: a deregistration from case i's side cleared WAKING */
	struct weft__spinwait backoff; /* contention backoff of the attempts, bounded by the deadline */
};

/* One attempt at case @c, as its try operation would make it. */
static enum mpmc_outcome mpmc_case_try(weft_mpmc_case_t *c, struct weft__spinwait *backoff)
{
	if (c->op == WEFT_MPMC_OP_PUSH)
		return mpmc_push_once(c->queue, c->item, backoff);
	void *value;
	enum mpmc_outcome r = mpmc_pop_once(c->queue, &value, backoff);
	if (r == MPMC_DONE)
		c->item = value; /* written only for the case performed */
	else if (r == MPMC_BLOCKED && mpmc_counters(c->queue, MPMC_POP_SIDE, WEFT_RELAXED) == MPMC_CLOSED)
		r = MPMC_CLOSED; /* closed and drained */
	return r;
}

/* Try every case once, from s->start; true with *@chosen if one was performed. */
static bool mpmc_select_scan(struct mpmc_select *s, unsigned *chosen)
{
	s->closed = s->n;
	for (unsigned k = 0, i = s->start; k < s->n; k++, i = i + 1 == s->n ? 0 : i + 1) {
		enum mpmc_outcome r = mpmc_case_try(&s->cases[i], &s->backoff);
		if (r == MPMC_DONE) {
			*chosen = i;
			return true;
		}
		if (r == MPMC_CLOSED && i < s->closed)
			s->closed = i;
	}
	return false;
}

/*
 * Step 3 of the overview: register on every case's side, re-check, sleep on
 * every epoch word and the token, deregister.  The sleep is skipped if a
 * re-check finds a case that can be performed (or a closed one): the caller
 * scans again.  A queue whose counters show a value (room) that its slot
 * does not is in a peer's claim window, whose end may not wake us: then the
 * sleep is a nap (mpmc_stall()'s growing timeout).  A process-shared queue
 * naps as mpmc_sleep_shared() does.
 *
 * Return: WEFT_OK (look again), WEFT_ETIMEDOUT (@deadline passed) or
 * WEFT_ECANCELED.
 */
static int mpmc_select_sleep(struct mpmc_select *s, const struct timespec *deadline, weft_cancel_t *cancel)
{
	struct weft__wait_word words[WEFT_MPMC_SELECT_MAX];
	unsigned nwords = 0;
	bool shared = false, ready = false, window = false;
	for (unsigned i = 0; i < s->n; i++) {
		weft_mpmc_t *q = s->cases[i].queue;
		enum mpmc_side side = mpmc_case_side(&s->cases[i]);
		uint32_t *sleepers = mpmc_sleepers(q, side);
		uint32_t *epoch = mpmc_epoch(q, side);
		/* seq_cst: the registration; acquire: the epoch snapshot
		 * (pairs with the release bumps in mpmc_wake() and
		 * weft_mpmc_close()); seq_cst: the clear of WAKING.  All three
		 * as in mpmc_sleep(), whose comments give the reasons. */
		weft_atomic_fetch_add(sleepers, 1u, WEFT_SEQ_CST);
		uint32_t seen = weft_atomic_load(epoch, WEFT_ACQUIRE);
		if (weft_atomic_fetch_and(sleepers, ~WEFT_MPMC_WAKING, WEFT_SEQ_CST) & WEFT_MPMC_WAKING)
			s->handover |= (uint64_t)1 << i;
		unsigned w = 0;
		while (w < nwords && words[w].addr != epoch)
			w++; /* a queue named twice on one side: one word (the first snapshot) */
		if (w == nwords) {
			words[nwords].addr = epoch;
			words[nwords].expected = seen;
			words[nwords].flags = mpmc_wait_flags(q);
			nwords++;
		}
		shared |= (q->flags & WEFT_PSHARED) != 0; /* fixed at init */
	}
	/* seq_cst: the re-checks, each after its registration in the total
	 * order (see mpmc_sleep()) */
	for (unsigned i = 0; i < s->n && !ready; i++) {
		weft_mpmc_t *q = s->cases[i].queue;
		enum mpmc_side side = mpmc_case_side(&s->cases[i]);
		enum mpmc_outcome now = mpmc_counters(q, side, WEFT_SEQ_CST);
		if (now == MPMC_CLOSED || (now == MPMC_DONE && mpmc_slot_ready(q, side)))
			ready = true;
		else if (now == MPMC_DONE)
			window = true;
	}
	int rc = WEFT_OK;
	if (!ready) {
		const struct timespec *until = deadline;
		struct timespec nap, shared_nap;
		if (window) {
			nap = weft_deadline_after_ns(mpmc_nap_ns(s->naps++));
			until = mpmc_earlier(&nap, until);
		} else {
			s->naps = 0;
		}
		if (shared) {
			shared_nap = weft_deadline_after_ns(WEFT__MPMC_PSHARED_NAP_NS);
			until = mpmc_earlier(&shared_nap, until);
		}
		rc = weft__wait_any(words, nwords, until, cancel);
		if (rc == WEFT_ETIMEDOUT && until != deadline && !(deadline != NULL && weft_deadline_passed(deadline))) {
			rc = WEFT_OK; /* only a nap ended: look again */
			for (unsigned i = 0; shared && i < s->n; i++)
				if (s->cases[i].queue->flags & WEFT_PSHARED)
					mpmc_heal_spinning(s->cases[i].queue, mpmc_case_side(&s->cases[i]));
		}
	}
	for (unsigned i = 0; i < s->n; i++) {
		bool cleared = false;
		mpmc_deregister(mpmc_sleepers(s->cases[i].queue, mpmc_case_side(&s->cases[i])), &cleared);
		if (cleared)
			s->handover |= (uint64_t)1 << i;
	}
	return rc;
}

/* After weft_mpmc_select()'s checks of its arguments and its first attempts
 * from @start failed. */
int weft_mpmc_select_slow(weft_mpmc_case_t *cases, unsigned n, const struct timespec *deadline, weft_cancel_t *cancel,
			  unsigned *chosen, unsigned start)
{
	WEFT_STATIC_ASSERT(WEFT_MPMC_SELECT_MAX <= WEFT__WAIT_ANY_MAX, "a select sleeps on one word per case");
	WEFT_STATIC_ASSERT(WEFT_MPMC_SELECT_MAX <= 64, "struct mpmc_select.handover has a bit per case");
	struct mpmc_select s;
	s.cases = cases;
	s.n = n;
	s.start = start;
	s.closed = n;
	s.naps = 0;
	s.handover = 0;
	weft__spinwait_init(&s.backoff, WEFT__SPIN_MPMC_BACKOFF, deadline);
	struct weft__spinwait spin;
	weft__spinwait_init(&spin, WEFT__SPIN_MPMC_WAIT, deadline);
	bool first = true, polling = false;
	int rc;
	for (;;) {
		/* While polling, only the first attempts: a pop's closed check
		 * reads tail, the producers' line, and a poller that read it
		 * every few pauses would pull it away from the pushes it waits
		 * for.  The sleep's re-check sees a close. */
		if (polling ? weft__mpmc_select_first(cases, n, start, chosen) : mpmc_select_scan(&s, chosen)) {
			rc = WEFT_OK;
			break;
		}
		if (!polling && s.closed < n) {
			*chosen = s.closed;
			rc = WEFT_ECLOSED;
			break;
		}
		if (first) {
			first = false;
			/* The token is read only now that the call would wait. */
			if (cancel != NULL && weft_cancel_requested(cancel)) {
				rc = WEFT_ECANCELED;
				break;
			}
			if (deadline != NULL && weft_deadline_passed(deadline)) {
				rc = WEFT_ETIMEDOUT;
				break;
			}
		}
		enum weft__spin_result spun = weft__spinwait_spin(&spin);
		polling = spun == WEFT__SPIN_AGAIN;
		if (polling)
			continue;
		rc = spun == WEFT__SPIN_TIMEDOUT ? WEFT_ETIMEDOUT : mpmc_select_sleep(&s, deadline, cancel);
		if (rc == WEFT_OK)
			continue;
		if (rc == WEFT_ETIMEDOUT && mpmc_select_scan(&s, chosen)) {
			rc = WEFT_OK; /* one last look, as in mpmc_pop_wait() */
		} else if (rc == WEFT_ETIMEDOUT && s.closed < n) {
			*chosen = s.closed;
			rc = WEFT_ECLOSED;
		}
		break; /* cancelled: nothing was performed; the hand-over below
			* passes on any wake-up that was meant for us */
	}
	for (unsigned i = 0; s.handover != 0; i++, s.handover >>= 1)
		if (s.handover & 1u)
			mpmc_hand_over(cases[i].queue, mpmc_case_side(&cases[i]));
	return rc;
}

/* ---- close ----------------------------------------------------------------- */

void weft_mpmc_close(weft_mpmc_t *q)
{
	WEFT__MPMC_CHECK(q);
	/* seq_cst: after this no push can claim a position (its CAS expects a
	 * tail without the bit); sleepers' seq_cst re-checks see it or are
	 * woken below */
	weft_atomic_fetch_or(&q->tail, WEFT_MPMC_CLOSED_BIT, WEFT_SEQ_CST);
	/* release: a sleeper that reads a bumped epoch sees the closed bit;
	 * pairs with the acquire load of the epoch in mpmc_sleep().  Both sides
	 * are woken unconditionally: close is rare, and a sleeper may be
	 * between its registration and its sleep. */
	weft_atomic_fetch_add(&q->pop_epoch, 1u, WEFT_RELEASE);
	weft_atomic_fetch_add(&q->push_epoch, 1u, WEFT_RELEASE);
	weft__wake(&q->pop_epoch, INT32_MAX, mpmc_wait_flags(q));
	weft__wake(&q->push_epoch, INT32_MAX, mpmc_wait_flags(q));
}
