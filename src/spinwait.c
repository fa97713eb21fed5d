/* SPDX-License-Identifier: MIT */
/*
 * spinwait.c - the presets of weft's one spin policy (src/spinwait.h): for
 * each use, (pause budget, first step, longest step, yields before parking,
 * yield interval), and where the numbers come from.  One pause is ~27 ns on
 * the reference machine (AMD EPYC vCPU), ~40 ns on some current Intel x86.
 *
 * A "sweep" below is a benchmark run over several values of the number with
 * the chosen one in bold in the page cited; where a number has no sweep
 * behind it, the comment says so.
 */
#include "spinwait.h"
#include "weft/cond.h"
#include "weft/mpmc.h"
#include "weft/mutex.h"
#include "weft/rwlock.h"
#include "weft/sem.h"
#include "weft/spinlock.h"

/* The longest backoff step of a waiter that watches a lock word (mutex,
 * rwlock, weft_spin_t): 1, 2, 4 ... 64 pauses between looks, so that a
 * watcher stops pulling the line from the holder.  No sweep chose 64: it is
 * the value the mutex, rwlock and spinlock sweeps were all run with. */
#define WEFT__SPIN_LOCK_CAP 64u

/* The claim-window stall of weft_mpmc_t: 8 spins of 16, 32, 64, 128, 256,
 * 256, 256, 256 pauses (1264 in all), then 16 yields, then registered naps
 * (src/mpmc.c, mpmc_stall()).  No sweep chose these numbers (docs/mpmc.md,
 * "Progress, and where it is not lock-free", describes the shape only). */
#define WEFT__SPIN_MPMC_STALL_PAUSES (16u + 32u + 64u + 128u + 4u * 256u)
#define WEFT__SPIN_MPMC_STALL_YIELDS 16u

/* In the order of enum weft__spin_use (positional: the implementation also
 * compiles as C++). */
struct weft__spin_preset weft__spin_presets[WEFT__SPIN_USES] = {
	/* weft_mutex_t: 400 pauses of backoff (cap 64), then park.
	 * docs/mutex.md, "The spin bound": the sweep of the rows
	 * mutex/spin_sweep_<N>/weft_mutex, N = 0 ... 4000. */
	{WEFT_MUTEX_SPIN_DEFAULT, 1u, WEFT__SPIN_LOCK_CAP, 0u, 0u},
	/* weft_cond_t: 400 pauses, a look after each, then park.
	 * docs/cond.md, "The spin sweep": cond/pingpong_spin<N>/weft_cond and
	 * scenario/c1_2p3c_spin<N>/weft_cond_sem, N = 0 ... 8000. */
	{WEFT_COND_SPIN_DEFAULT, 1u, 1u, 0u, 0u},
	/* weft_sem_t: 400 pauses, a look after each, then park.
	 * docs/sem.md, "The spin sweep": sem/pingpong_spin<N>/weft_sem,
	 * N = 0 ... 8000. */
	{WEFT_SEM_SPIN_DEFAULT, 1u, 1u, 0u, 0u},
	/* weft_once_t: the semaphore's 400 pauses (a once waiter, like a
	 * semaphore waiter, waits for another thread's work).  No sweep of its
	 * own: borrowed from docs/sem.md's.  Not changed by weft_sem_set_spin(). */
	{WEFT_SEM_SPIN_DEFAULT, 1u, 1u, 0u, 0u},
	/* weft_barrier_t and weft_latch_t: 16 pauses, a look after each, then 12
	 * yields, then park.  The parties a waiter waits for still have work to
	 * do: with more parties than CPUs a long spin holds the CPU a late party
	 * needs, while a yield hands it over for ~0.6 us instead of a sleep and
	 * a wake-up (20-50 us on a 2-vCPU VM), and returns at once on an idle
	 * machine (libstdc++'s atomic wait, behind std::latch and std::barrier,
	 * also spins briefly and then yields).  Not a sweep: docs/once-barrier-latch.md ("How to
	 * read the barrier and latch rows") compares this policy with the
	 * semaphore's 400-pause spin on barrier/phase and
	 * barrier/latch_countdown at 2, 4 and 8 threads (4-7x the rate at 4
	 * and 8 threads, the same at 2); 16 and 12 themselves were not swept. */
	{16u, 1u, 1u, 12u, 0u},
	/* weft_spin_t (and weft_mcs_t's unlock waiting for its successor to
	 * link): 256 pauses of backoff (cap 64), then yield between looks for
	 * ever.  docs/spinlock.md, "Why they yield", explains the yield; no
	 * sweep chose 256 (WEFT_SPIN_YIELD_AFTER, ~7 us). */
	{WEFT_SPIN_YIELD_AFTER, 1u, WEFT__SPIN_LOCK_CAP, WEFT__SPIN_FOREVER, 0u},
	/* weft_ticket_t, the waiter next in line: 256 pauses, a look after each
	 * (16 pauses between looks measured 0.36x ck_ticket at 2 threads,
	 * docs/spinlock.md, "Algorithms and sources"), then yield for ever.  No
	 * sweep chose 256. */
	{WEFT_SPIN_YIELD_AFTER, 1u, 1u, WEFT__SPIN_FOREVER, 0u},
	/* weft_mcs_t, a queued waiter: 64 pauses, a look after each, then yield
	 * for ever (docs/spinlock.md, "Why they yield").  No sweep chose 64. */
	{64u, 1u, 1u, WEFT__SPIN_FOREVER, 0u},
	/* weft_rwlock_t and weft_brlock_t: 100 pauses of backoff (cap 64), then
	 * park.  docs/rwlock.md, "The spin budget": the sweep of the rows
	 * rwlock/spin_sweep_<N>/weft_rwlock and .../weft_brlock, N = 0 ... 1600. */
	{WEFT_RWLOCK_SPIN_DEFAULT, 1u, WEFT__SPIN_LOCK_CAP, 0u, 0u},
	/* weft_rwlock_t, a writer waiting for a biased reader to leave its
	 * slot (a pointer, not a futex word: nobody wakes it): the rwlock's
	 * budget (weft_rwlock_set_spin() sets both), then 16 yields, then naps
	 * of 1 to 256 us (src/rwlock_bias.c).  The 16 yields and the naps were
	 * not swept (docs/rwlock.md, "Reader bias (BRAVO)", describes them). */
	{WEFT_RWLOCK_SPIN_DEFAULT, 1u, WEFT__SPIN_LOCK_CAP, 16u, 0u},
	/* weft_mpmc_t, a blocking push (pop) on a full (empty) queue: 256
	 * pauses (the first 64 quiet, src/mpmc.c), polling every 4 pauses, a
	 * yield in place of every 32nd pause, then park.  docs/mpmc.md, "The
	 * spin bound" (the sweep of 0 ... 4096; it predates the quiet start) and
	 * "The quiet start of a wait" (the sweep of 0 ... 256 quiet pauses); the
	 * yield every 32 pauses was measured against none ("Polling without
	 * yields", same page), not swept; the step of 4 was not swept. */
	{WEFT_MPMC_SPIN_DEFAULT, 4u, 4u, 0u, 32u},
	/* weft_mpmc_t, after a lost race for a position: steps from 1/16 of the
	 * cap (16) doubling up to the cap, 256 pauses, with a yield before every
	 * step but the first (src/mpmc.c, mpmc_back_off()); never parks (the
	 * retry is the caller's).  docs/mpmc.md, "The contention backoff": the
	 * sweep of the cap, 0 ... 1024, and the table of yield placements. */
	{0u, WEFT_MPMC_BACKOFF_DEFAULT / 16u, WEFT_MPMC_BACKOFF_DEFAULT, 0u, 0u},
	/* weft_mpmc_t, waiting out a peer inside its claim window (see above:
	 * no sweep). */
	{WEFT__SPIN_MPMC_STALL_PAUSES, 16u, 256u, WEFT__SPIN_MPMC_STALL_YIELDS, 0u},
	/* No spin at all: a lock taken rarely and held across allocations (the
	 * per-thread registry's, src/registry.c), where spinning cannot pay.
	 * Not measured. */
	{0u, 1u, 1u, 0u, 0u},
};

__thread struct weft__spin_stats weft__spin_stats;

unsigned weft__spin_set_pauses(enum weft__spin_use use, unsigned pauses)
{
	/* relaxed: a tuning value (see spinwait.h) */
	return weft_atomic_exchange(&weft__spin_presets[use].pauses, pauses, WEFT_RELAXED);
}

unsigned weft__spin_set_cap(enum weft__spin_use use, unsigned cap)
{
	/* The first step is 1/16 of the cap (the cap itself when that is 0).
	 * relaxed: tuning values; a waiter that reads the step of one setting
	 * and the cap of another still waits a bounded time. */
	weft_atomic_store(&weft__spin_presets[use].step, cap / 16u > 0 ? cap / 16u : cap, WEFT_RELAXED);
	return weft_atomic_exchange(&weft__spin_presets[use].cap, cap, WEFT_RELAXED);
}
