/* SPDX-License-Identifier: MIT */
/*
 * rwlock_bias.c - the writer's half of weft_rwlock_t's reader bias: the
 * visible-readers table, its scan and the wait for biased readers, and the
 * inhibit policy.  BRAVO: D. Dice, A. Kogan, "BRAVO - Biased Locking for
 * Reader-Writer Locks", USENIX ATC 2019.  The reader's half is inline in
 * include/weft/rwlock_bias.h; the BIASED bit of the state word is set and
 * cleared by src/rwlock.c (rwl_maybe_bias(), rwl_revoke(),
 * weft_rwlock_trywrlock_slow()).
 *
 * Memory orders: the scan's slot loads are seq_cst, the load half of the
 * store-load handshake with a reader's seq_cst slot CAS and state load (see
 * weft__rwlock_bias_enter()); they are also acquires that pair with a biased
 * reader's release store of NULL.  The tuning values and the inhibit
 * deadlines are relaxed: they publish nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime */
#endif
#include <pthread.h>
#include <time.h>

#include "rwlock_bias.h"
#include "spinwait.h"
#include "wait.h"
#include "weft/deadline.h"
#include "weft/rwlock.h"
#include "weft/status.h"

/*
 * The visible-readers table, shared by every private weft_rwlock_t of the
 * process: 1024 slots of 8 bytes, 8 KiB, 128 cache lines.  A biased reader
 * holds one slot (NULL -> lock); a writer that revokes bias loads all of them.
 */
weft_rwlock_t *weft__rwlock_readers[WEFT_RWLOCK_BIAS_SLOTS] WEFT_ALIGNED(WEFT_CACHE_LINE);
_Thread_local uint64_t weft__rwlock_held[WEFT_RWLOCK_BIAS_SLOTS / 64];
_Thread_local unsigned weft__rwlock_tick;

/* relaxed everywhere: a tuning value (the inhibit multiplier N; 0: no bias) */
static unsigned rwl_bias_n = WEFT_RWLOCK_BIAS_DEFAULT;

unsigned weft_rwlock_set_bias(unsigned n)
{
	return weft_atomic_exchange(&rwl_bias_n, n, WEFT_RELAXED);
}

/*
 * Inhibit deadlines (CLOCK_MONOTONIC ns; 0: none), one per hash bucket of lock
 * addresses: BRAVO keeps one per lock, but weft_rwlock_t has no room.  Locks
 * that share a bucket share a deadline, which only moves when bias comes back
 * on (a policy, never a question of correctness).  All accesses relaxed: the
 * value publishes nothing.
 */
#define WEFT__RWL_INHIBIT_BITS 8
static uint64_t rwl_inhibit[1u << WEFT__RWL_INHIBIT_BITS];

static uint64_t *rwl_inhibit_of(const weft_rwlock_t *rw)
{
	return &rwl_inhibit[((uint64_t)(uintptr_t)rw * 0x9E3779B97F4A7C15ull) >> (64 - WEFT__RWL_INHIBIT_BITS)];
}

uint64_t weft__rwlock_bias_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool weft__rwlock_bias_allowed(const weft_rwlock_t *rw)
{
	if (weft_atomic_load(&rwl_bias_n, WEFT_RELAXED) == 0)
		return false;
	uint64_t *inhibit = rwl_inhibit_of(rw);
	uint64_t until = weft_atomic_load(inhibit, WEFT_RELAXED);
	if (until != 0) {
		if (weft__rwlock_bias_now() < until)
			return false;
		weft_atomic_cas(inhibit, &until, 0u, WEFT_RELAXED, WEFT_RELAXED);
	}
	return true;
}

void weft__rwlock_bias_inhibit(const weft_rwlock_t *rw, uint64_t t0)
{
	uint64_t now = weft__rwlock_bias_now();
	uint64_t until = now + (uint64_t)weft_atomic_load(&rwl_bias_n, WEFT_RELAXED) * (now - t0);
	weft_atomic_store(rwl_inhibit_of(rw), until ? until : 1u, WEFT_RELAXED);
}

/* Sleep until @nap or @deadline, whichever comes first, through the wait
 * layer: a futex wait (on a word nobody changes or wakes) with an absolute
 * deadline, which leaves errno alone and is not a cancellation point
 * (nanosleep() was both: issue 12). */
static void rwl_nap(uint64_t nap_ns, const struct timespec *deadline)
{
	uint32_t never_changes = 0;
	(void)weft__wait_nap(&never_changes, 0u, deadline, nap_ns, 0u, NULL);
}

/*
 * Wait until the biased reader in @slot has left @rw: spin, then yield, then
 * sleep with a doubling period (1 us .. 256 us).  A slot is a pointer, not a
 * futex word, and a biased reader's unlock makes no wake call, so the writer
 * polls.  While it sleeps, cancellation is disabled (and restored after), so
 * that whatever backend the wait layer has, a pthread_cancel() of the writer
 * stays pending until the caller's next real cancellation point instead of
 * killing it here with WRITER held.
 */
WEFT_NOINLINE static int rwl_wait_slot(weft_rwlock_t **slot, weft_rwlock_t *rw, const struct timespec *deadline)
{
	struct weft__spinwait sw; /* spin, then 16 yields: WEFT__SPIN_RWLOCK_DRAIN */
	weft__spinwait_init(&sw, WEFT__SPIN_RWLOCK_DRAIN, deadline);
	uint64_t sleep_ns = 1000;
	int cancel_state = -1; /* -1: not changed yet */
	int rc = WEFT_OK;
	/* acquire: pairs with the release store of NULL in weft__rwlock_bias_leave() */
	while (weft_atomic_load(slot, WEFT_ACQUIRE) == rw) {
		enum weft__spin_result spun = weft__spinwait_spin(&sw);
		if (spun == WEFT__SPIN_AGAIN)
			continue;
		if (spun == WEFT__SPIN_TIMEDOUT) {
			/* acquire: as above */
			rc = weft_atomic_load(slot, WEFT_ACQUIRE) == rw ? WEFT_ETIMEDOUT : WEFT_OK;
			break;
		}
		if (cancel_state == -1)
			(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
		rwl_nap(sleep_ns, deadline);
		if (sleep_ns < 256000)
			sleep_ns *= 2;
	}
	if (cancel_state != -1) {
		int ignored;
		(void)pthread_setcancelstate(cancel_state, &ignored);
	}
	return rc;
}

/*
 * The first slot from @i on that holds @rw, or WEFT_RWLOCK_BIAS_SLOTS.  A loop
 * of its own, with the wait out of line (rwl_wait_slot() is noinline), so that
 * gcc keeps the index in a register: with the wait inlined into the scan it
 * kept the index on the stack, 12 instructions and a store-to-load round trip
 * per slot, and a revocation took 390 or 570 ns depending on where the code
 * landed.  The inhibit window is N times that, so the slow one kept bias off
 * for 128 more reads in every 1000 of the reads90 benchmark (issue 12).  Now 6
 * instructions per slot, ~340 ns per revocation whatever the alignment.
 */
static unsigned rwl_find_slot(const weft_rwlock_t *rw, unsigned i)
{
	for (; i < WEFT_RWLOCK_BIAS_SLOTS; i++)
		/* seq_cst: the load half of the handshake; also an acquire that
		 * pairs with the reader's release store of NULL */
		if (weft_atomic_load(&weft__rwlock_readers[i], WEFT_SEQ_CST) == rw)
			break;
	return i;
}

int weft__rwlock_bias_scan(weft_rwlock_t *rw, bool try_only, const struct timespec *deadline)
{
	for (unsigned i = rwl_find_slot(rw, 0); i < WEFT_RWLOCK_BIAS_SLOTS; i = rwl_find_slot(rw, i + 1)) {
		if (try_only)
			return WEFT_EBUSY;
		int rc = rwl_wait_slot(&weft__rwlock_readers[i], rw, deadline);
		if (rc != WEFT_OK)
			return rc;
	}
	return WEFT_OK;
}
