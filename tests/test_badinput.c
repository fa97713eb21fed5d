/* SPDX-License-Identifier: MIT */
/*
 * test_badinput.c - bad input, everywhere (issue 7, item 3).
 *
 * Walks every public function of include/weft/ (the table `coverage` below
 * lists them all, with what is tried on each and where) and every documented
 * error: unknown flags; sizes and capacities of 0, not a power of two, past
 * the maximum, overflow-sized and SIZE_MAX; malformed deadlines (NULL,
 * tv_nsec < 0 or >= 1e9, tv_sec < 0) and deadlines in the past; semaphore
 * overflow; a latch counted below zero; pool and queue exhaustion, a full and
 * an empty queue, a closed queue; NULL where the API accepts or rejects it;
 * weft_strerror() of every code and of unknown ones; and, in a forked child
 * with a small address-space limit, WEFT_ENOMEM and the NULL of failed
 * allocations.
 *
 * Every failing call must return its documented status and leave the object
 * usable: each is followed by a check that the object's state is unchanged
 * (the bytes, or the sem value, the queue size and FIFO order, the pool's
 * stats) and by a successful operation on the same object.  Functions with no
 * error return get their boundary inputs (all-zero objects, INIT macros,
 * maximum counts, wrap-around) and say so in the table.
 *
 * Misuse that only a WEFT_DEBUG build reports (by aborting) is tested by the
 * tests/test_*_debug.c programs; the table names them.  The aborts that
 * happen in every build (a recursive weft_once(), too many readers of a
 * weft_rwlock_t, reading a dead weft_scounter_t, using a placement pool after
 * destroy, weft_debug_die() itself) are tested here in forked children.
 *
 * Runs in every variant of `make check` (release, ASan+UBSan, the portable
 * wait backend, clang, WEFT_DEBUG).  No timing assertion: a "busy" object is
 * held by a helper thread that waits until told to let go, and the only
 * deadlines that may be reached are in the past or a millisecond ahead.
 * scripts/check_badinput_coverage.sh checks that the table names every public
 * function in include/weft/ and that this file calls each of them.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "check.h"
#include "weft/weft.h"

/* ==== the coverage table ================================================== */

/*
 * One row per public function: what this file feeds it (errors, or the
 * boundaries of a function that has no error return) and which test does.
 * "no error return" means the function reports nothing: its row lists the
 * boundary inputs tried instead.  The weft_*_slow() functions the headers
 * declare are the inline calls' out-of-line halves, not an API of their own;
 * they are reached through the calls listed here.
 */
/* "end of time": a deadline at the largest time_t, which must sleep until woken
 * (test_far_deadlines). */
struct coverage_row {
	const char *fn;
	const char *tried;
	const char *where;
};

static const struct coverage_row coverage[] = {
	/* status.h, deadline.h, debug.h, atomic.h */
	{"weft_strerror", "every code; -1, 10, 100, INT_MIN, INT_MAX -> \"unknown weft status\"", "test_strerror"},
	{"weft_deadline_after_ns", "no error return; 0, 1, 1e9-1, INT64_MAX, UINT64_MAX (saturates)", "test_deadline"},
	{"weft_deadline_valid", "NULL, 6 malformed timespecs -> false; {0,0}, {0,1e9-1} -> true", "test_deadline"},
	{"weft_deadline_passed", "no error return; {0,0}, now, saturated far future", "test_deadline"},
	{"weft_debug_die", "aborts with \"weft: <prim> <addr>: <misuse>\" (child)", "test_debug"},
	{"weft_debug_self", "no error return; nonzero, stable, differs per thread", "test_debug"},
	{"weft_cpu_relax", "no error return; called", "test_debug"},
	/* cancel.h */
	{"weft_cancel_init", "EINVAL: NULL, self as parent, 0x2, ~0, PSHARED under a private parent, a chain past "
			     "WEFT_CANCEL_MAX_CHAIN (untouched); all-zero token usable",
	 "test_cancel_token"},
	{"weft_cancel", "no error return; NULL, twice, all-zero token", "test_cancel_token"},
	{"weft_cancel_requested", "no error return; NULL -> false, all-zero -> false", "test_cancel_token"},
	{"weft_cancel_destroy", "no error return; NULL, all-zero token", "test_cancel_token"},
	{"weft_lockdep_reports", "no error return; malformed and past deadlines add no lock order: no report", "test_lockdep"},
	/* spinlock.h: no function has an error return */
	{"weft_spin_init", "no error return; re-init of a used lock", "test_spinlocks"},
	{"weft_spin_trylock", "no error return; held lock -> false, state unchanged", "test_spinlocks"},
	{"weft_spin_lock", "no error return; all-zero and WEFT_SPIN_INIT locks", "test_spinlocks"},
	{"weft_spin_unlock", "no error return; lock usable after", "test_spinlocks"},
	{"weft_spin_destroy", "no error return; all-zero lock", "test_spinlocks"},
	{"weft_ticket_init", "no error return", "test_spinlocks"},
	{"weft_ticket_trylock", "no error return; held -> false; counters at UINT32_MAX wrap", "test_spinlocks"},
	{"weft_ticket_lock", "no error return; all-zero, WEFT_TICKET_INIT, wrapped counters", "test_spinlocks"},
	{"weft_ticket_unlock", "no error return; wraps serving past UINT32_MAX", "test_spinlocks"},
	{"weft_ticket_destroy", "no error return; all-zero lock", "test_spinlocks"},
	{"weft_mcs_init", "no error return", "test_spinlocks"},
	{"weft_mcs_trylock", "no error return; held -> false, tail unchanged", "test_spinlocks"},
	{"weft_mcs_lock", "no error return; all-zero, WEFT_MCS_INIT", "test_spinlocks"},
	{"weft_mcs_unlock", "no error return; lock free after (tail NULL)", "test_spinlocks"},
	{"weft_mcs_destroy", "no error return; all-zero lock", "test_spinlocks"},
	/* mutex.h */
	{"weft_mutex_set_spin", "no error return; 0 and UINT_MAX, returns the previous", "test_mutex"},
	{"weft_mutex_set_fair_bound", "no error return; 0 and UINT64_MAX, returns the previous", "test_mutex"},
	{"weft_mutex_init", "EINVAL: 0x2, 0x100, 0x80000000, ~0 (untouched); PSHARED ok", "test_mutex"},
	{"weft_mutex_trylock", "busy -> false, state unchanged", "test_mutex"},
	{"weft_mutex_lock", "all-zero and WEFT_MUTEX_INIT; after every error (test_mutex_debug: relock by owner)",
	 "test_mutex"},
	{"weft_mutex_lock_ctx", "EINVAL: 6 malformed deadlines, free and busy (untouched); ECANCELED: cancelled token, busy; OK: "
				"cancelled token, free (not read)", "test_mutex"},
	{"weft_mutex_timedlock", "EINVAL: NULL + 6 malformed, free and busy (untouched); ETIMEDOUT: past and 1 ms, busy; "
				 "OK: past deadline, free",
	 "test_mutex, test_far_deadlines"},
	{"weft_mutex_unlock", "no error return (test_mutex_debug: not held, other thread/process)", "test_mutex"},
	{"weft_mutex_unlock_fair", "no error return; no sleeper: a plain unlock (WEFT_DEBUG: the hooks of weft_mutex_unlock)",
	 "test_mutex"},
	{"weft_mutex_destroy", "no error return; all-zero (test_mutex_debug: while held)", "test_mutex"},
	/* robust.h */
	{"weft_robust_mutex_init", "EINVAL: 0x100, 0x80000000, ~0, PSHARED|0x4 (untouched); 0, PSHARED, ROBUST ok",
	 "test_robust_mutex"},
	{"weft_robust_mutex_trylock", "busy -> EBUSY, word unchanged; owner died -> EOWNERDEAD", "test_robust_mutex"},
	{"weft_robust_mutex_lock", "all-zero; ENOTRECOVERABLE after an unlock without consistent()", "test_robust_mutex"},
	{"weft_robust_mutex_timedlock", "EINVAL: NULL + 6 malformed, free and busy (untouched); ETIMEDOUT past, busy",
	 "test_robust_mutex"},
	{"weft_robust_mutex_unlock", "EINVAL: free mutex, held by another thread (untouched; aborts in WEFT_DEBUG)",
	 "test_robust_mutex"},
	{"weft_robust_mutex_consistent", "EINVAL: not held, held but consistent", "test_robust_mutex"},
	{"weft_robust_mutex_destroy", "no error return; all-zero", "test_robust_mutex"},
	/* rwlock.h */
	{"weft_rwlock_set_spin", "no error return; 0, returns the previous", "test_rwlock"},
	{"weft_rwlock_set_bias", "no error return; 0 (bias off) and back, returns the previous", "test_rwlock"},
	{"weft_rwlock_init", "EINVAL: unknown flags (untouched); PSHARED ok", "test_rwlock"},
	{"weft_rwlock_tryrdlock", "write-held -> false; at WEFT_RWLOCK_READERS_MAX -> false, unchanged",
	 "test_rwlock, test_rwlock_readers_max"},
	{"weft_rwlock_rdlock", "all-zero; one past WEFT_RWLOCK_READERS_MAX aborts in every build (child)",
	 "test_rwlock_readers_max"},
	{"weft_rwlock_rdlock_ctx", "EINVAL: 6 malformed, free/read/write-held (untouched); OK: cancelled token, free",
	 "test_rwlock"},
	{"weft_rwlock_wrlock_ctx", "EINVAL: 6 malformed (untouched); ECANCELED: cancelled token, read-held (no marks left); "
				   "OK: cancelled token, free",
	 "test_rwlock"},
	{"weft_rwlock_timedrdlock", "EINVAL: NULL + 6 malformed, free/read/write-held (untouched); ETIMEDOUT: past and "
				    "1 ms, write-held; OK: past, read-held; at max readers aborts (child)",
	 "test_rwlock, test_rwlock_readers_max, test_far_deadlines"},
	{"weft_rwlock_rdunlock", "no error return (test_rwlock_debug: not read-held, wrong mode)", "test_rwlock"},
	{"weft_rwlock_trywrlock", "read-held and write-held -> false, unchanged", "test_rwlock"},
	{"weft_rwlock_wrlock", "WEFT_RWLOCK_INIT; after every error (test_rwlock_debug: relock by writer)", "test_rwlock"},
	{"weft_rwlock_timedwrlock", "EINVAL: NULL + 6 malformed (untouched); ETIMEDOUT: past and 1 ms, read- and "
				    "write-held; OK: past, free",
	 "test_rwlock, test_far_deadlines"},
	{"weft_rwlock_wrunlock", "no error return (test_rwlock_debug: not write-held, wrong mode)", "test_rwlock"},
	{"weft_rwlock_destroy", "no error return; all-zero (test_rwlock_debug: while held)", "test_rwlock"},
	{"weft_brlock_init", "EINVAL: unknown flags (untouched); PSHARED ok", "test_brlock"},
	{"weft_brlock_tryrdlock", "write-held -> false, unchanged", "test_brlock"},
	{"weft_brlock_rdlock", "all-zero; after every error", "test_brlock"},
	{"weft_brlock_rdlock_ctx", "EINVAL: 6 malformed (untouched); OK: cancelled token, free", "test_brlock"},
	{"weft_brlock_wrlock_ctx", "EINVAL: 6 malformed (untouched); ECANCELED: cancelled token, read-held (ACTIVE "
				   "cleared); OK: cancelled token, free",
	 "test_brlock"},
	{"weft_brlock_timedrdlock", "EINVAL: NULL + 6 malformed (untouched); ETIMEDOUT: past and 1 ms, write-held; OK: "
				    "past, free",
	 "test_brlock"},
	{"weft_brlock_rdunlock", "no error return (test_rwlock_debug: not read-held, wrong mode)", "test_brlock"},
	{"weft_brlock_trywrlock", "read-held and write-held -> false, unchanged", "test_brlock"},
	{"weft_brlock_wrlock", "WEFT_BRLOCK_INIT; after every error", "test_brlock"},
	{"weft_brlock_timedwrlock", "EINVAL: NULL + 6 malformed (untouched); ETIMEDOUT: past and 1 ms, read- and "
				    "write-held; OK: past, free",
	 "test_brlock"},
	{"weft_brlock_wrunlock", "no error return (test_rwlock_debug: not write-held, wrong mode)", "test_brlock"},
	{"weft_brlock_destroy", "no error return; all-zero (test_rwlock_debug: while held)", "test_brlock"},
	/* cond.h */
	{"weft_cond_set_spin", "no error return; 0, returns the previous", "test_cond"},
	{"weft_cond_init", "EINVAL: unknown flags (untouched); PSHARED ok", "test_cond"},
	{"weft_cond_wait", "no error return; WEFT_COND_INIT (test_cond_debug: mutex not held, other mutex)",
	 "test_cond_wait_init"},
	{"weft_cond_timedwait", "EINVAL: NULL + 6 malformed, mutex stays held, cond untouched; ETIMEDOUT: past and "
				"1 ms, mutex held again",
	 "test_cond, test_far_deadlines"},
	{"weft_cond_wait_ctx", "EINVAL: 6 malformed, mutex stays held, cond untouched; ECANCELED: cancelled token, "
			       "mutex held again; ETIMEDOUT: past; NULL deadline and token with a notifier",
	 "test_cond_ctx"},
	{"weft_cond_signal", "no error return; no waiter: no change", "test_cond"},
	{"weft_cond_broadcast", "no error return; no waiter: no change", "test_cond"},
	{"weft_cond_destroy", "no error return; all-zero (test_cond_debug: with a waiter)", "test_cond"},
	/* sem.h */
	{"weft_sem_set_spin", "no error return; 0, returns the previous", "test_sem"},
	{"weft_sem_init", "EINVAL: unknown flags, MAX+1, UINT_MAX (untouched); MAX ok", "test_sem"},
	{"weft_sem_trywait", "0 units -> false, value unchanged", "test_sem"},
	{"weft_sem_wait", "WEFT_SEM_INIT(n); after every error", "test_sem"},
	{"weft_sem_timedwait", "EINVAL: NULL + 6 malformed (nothing taken); ETIMEDOUT: past and 1 ms at 0; OK: past "
			       "with a unit",
	 "test_sem, test_far_deadlines"},
	{"weft_sem_wait_ctx", "EINVAL: 6 malformed deadlines (NULL is none), untouched; ETIMEDOUT: empty, past; "
			      "ECANCELED: empty, cancelled; OK with a unit (token not read)",
	 "test_sem"},
	{"weft_sem_post", "EOVERFLOW at WEFT_SEM_VALUE_MAX, value unchanged", "test_sem"},
	{"weft_sem_post_n", "EOVERFLOW: 1 at MAX, MAX-v+1, UINT_MAX, MAX+1 (unchanged); 0 at MAX ok", "test_sem"},
	{"weft_sem_value", "no error return; 0 and MAX, never negative", "test_sem"},
	{"weft_sem_destroy", "no error return (test_cond_debug: with a waiter)", "test_sem"},
	/* once.h, barrier.h, latch.h */
	{"weft_once", "no error return; runs once, not again with another fn; recursive call aborts in every build "
		      "(child)",
	 "test_once"},
	{"weft_once_done", "no error return; all-zero -> false, after -> true", "test_once"},
	{"weft_barrier_init", "EINVAL: 0, MAX+1, UINT_MAX (untouched); 1 and MAX ok", "test_barrier"},
	{"weft_barrier_wait", "no error return; count 1 (every call is last), WEFT_BARRIER_INIT(1)", "test_barrier"},
	{"weft_barrier_wait_ctx", "EINVAL: 6 malformed (not arrived); ECANCELED, ETIMEDOUT: arrival withdrawn; OK: "
				  "last arrival with a cancelled token and a past deadline; NULL serial",
	 "test_barrier"},
	{"weft_barrier_destroy", "no error return", "test_barrier"},
	{"weft_latch_init", "EINVAL: MAX+1, UINT_MAX (untouched); 0 and MAX ok", "test_latch"},
	{"weft_latch_count_down", "EINVAL: below zero (n > count, open latch, UINT_MAX), unchanged; 0 ok", "test_latch"},
	{"weft_latch_try_wait", "no error return; closed -> false, open -> true", "test_latch"},
	{"weft_latch_wait", "no error return; open latch, all-zero latch", "test_latch"},
	{"weft_latch_timedwait", "EINVAL: NULL + 6 malformed, open and closed (unchanged); ETIMEDOUT: past and 1 ms; "
				 "OK: open with a past deadline",
	 "test_latch, test_far_deadlines"},
	{"weft_latch_wait_ctx", "EINVAL: 6 malformed (unchanged); ECANCELED: cancelled token; ETIMEDOUT: past; OK: "
				"open with a cancelled token and a past deadline, NULL both",
	 "test_latch"},
	{"weft_latch_destroy", "no error return", "test_latch"},
	/* counter.h */
	{"weft_counter_init", "EINVAL: unknown flags (value untouched); PSHARED ok", "test_counter"},
	{"weft_counter_add", "no error return; wraps at 2^64", "test_counter"},
	{"weft_counter_add_release", "no error return; wraps at 2^64", "test_counter"},
	{"weft_counter_add_acq_rel", "no error return; wraps at 2^64", "test_counter"},
	{"weft_counter_sub", "no error return; wraps below 0", "test_counter"},
	{"weft_counter_sub_release", "no error return; wraps below 0", "test_counter"},
	{"weft_counter_sub_acq_rel", "no error return; wraps below 0", "test_counter"},
	{"weft_counter_inc", "no error return; UINT64_MAX -> 0", "test_counter"},
	{"weft_counter_dec", "no error return; 0 -> UINT64_MAX", "test_counter"},
	{"weft_counter_dec_release", "no error return; 0 -> UINT64_MAX", "test_counter"},
	{"weft_counter_dec_acq_rel", "no error return; 0 -> UINT64_MAX", "test_counter"},
	{"weft_counter_load", "no error return; WEFT_COUNTER_INIT", "test_counter"},
	{"weft_counter_load_acquire", "no error return", "test_counter"},
	{"weft_counter_store", "no error return; UINT64_MAX", "test_counter"},
	{"weft_counter_store_release", "no error return", "test_counter"},
	{"weft_counter_exchange", "no error return; read-and-reset", "test_counter"},
	{"weft_counter_exchange_acq_rel", "no error return", "test_counter"},
	{"weft_counter_cas", "mismatch -> false, *expected = value found, counter unchanged", "test_counter"},
	{"weft_counter_cas_acq_rel", "mismatch -> false, *expected = value found, counter unchanged", "test_counter"},
	{"weft_counter_destroy", "no error return", "test_counter"},
	{"weft_scounter_bytes", "0, MAX+1, UINT_MAX -> 0; 1 and MAX -> 64 * (n + 3)", "test_scounter"},
	{"weft_scounter_init_n", "EINVAL: 0, MAX+1, UINT_MAX (id 0); ENOMEM (child, address-space limit)",
	 "test_scounter, test_enomem"},
	{"weft_scounter_init", "ENOMEM (child, address-space limit), id 0", "test_enomem"},
	{"weft_scounter_add", "no error return; INT64_MAX, INT64_MIN wrap (test_pool_debug: uninitialized)",
	 "test_scounter"},
	{"weft_scounter_inc", "no error return", "test_scounter"},
	{"weft_scounter_dec", "no error return; below zero", "test_scounter"},
	{"weft_scounter_read", "no error return; never initialized or destroyed: aborts in every build (child)",
	 "test_scounter"},
	{"weft_scounter_read_approx", "no error return; never initialized or destroyed: aborts in every build (child)",
	 "test_scounter"},
	{"weft_scounter_slots_in_use", "no error return; 0 before the first add, 1 after", "test_scounter"},
	{"weft_scounter_destroy", "no error return; all-zero and twice: no-ops", "test_scounter"},
	/* pool.h */
	{"weft_pool_bytes_aligned", "0: obj_size 0, capacity 0 and CAPACITY_MAX+1, align 3/8192/2^63/SIZE_MAX, size "
				    "overflow, SIZE_MAX",
	 "test_pool_args"},
	{"weft_pool_bytes", "0: obj_size 0, capacity 0, SIZE_MAX, overflow; capacity CAPACITY_MAX ok", "test_pool_args"},
	{"weft_pool_init_at_aligned", "NULL: NULL mem, misaligned mem, unknown flags, every bad size (mem untouched)",
	 "test_pool_init_at"},
	{"weft_pool_init_at", "NULL: NULL mem, misaligned mem, unknown flags, bad sizes (mem untouched)",
	 "test_pool_init_at"},
	{"weft_pool_create_aligned", "NULL: every bad size and align, unknown flags; no memory (child)",
	 "test_pool_args, test_enomem"},
	{"weft_pool_create", "NULL: bad sizes, unknown flags; no memory (child)", "test_pool_args, test_enomem"},
	{"weft_pool_get", "exhausted -> NULL, stats unchanged; placement pool after destroy aborts in every build (child)",
	 "test_pool_exhaustion, test_pool_after_destroy"},
	{"weft_pool_put", "NULL is a no-op, stats unchanged; after destroy aborts (child) (test_pool_debug: twice, "
			  "foreign pointer)",
	 "test_pool_exhaustion, test_pool_after_destroy"},
	{"weft_pool_flush", "no error return; cache-less pool, nothing cached", "test_pool_exhaustion"},
	{"weft_pool_stats", "EINVAL: NULL pool, NULL out, both (out untouched)", "test_pool_exhaustion"},
	{"weft_pool_destroy", "NULL is a no-op", "test_pool_exhaustion"},
	/* mpmc.h */
	{"weft_mpmc_validate", "EINVAL: 0, 1, 3, 6, 1000, MAX*2, 2^63, SIZE_MAX, unknown flags", "test_mpmc_args"},
	{"weft_mpmc_bytes", "0 for every bad capacity; 2 and MAX ok", "test_mpmc_args"},
	{"weft_mpmc_init_at", "NULL: NULL mem, misaligned mem, bad capacity, unknown flags (mem untouched)",
	 "test_mpmc_args"},
	{"weft_mpmc_create", "NULL: bad capacity, unknown flags; no memory with validate OK (child)",
	 "test_mpmc_args, test_enomem"},
	{"weft_mpmc_destroy", "NULL is a no-op (test_mpmc_debug: with a sleeper)", "test_mpmc_args"},
	{"weft_mpmc_try_push", "full -> false, closed -> false; size and FIFO order unchanged", "test_mpmc_full_empty"},
	{"weft_mpmc_try_pop", "empty -> false, closed and drained -> false", "test_mpmc_full_empty"},
	{"weft_mpmc_push", "ECLOSED on a closed queue; NULL value ok", "test_mpmc_closed"},
	{"weft_mpmc_pop", "ECLOSED once closed and drained", "test_mpmc_closed"},
	{"weft_mpmc_timedpush", "EINVAL: NULL + 6 malformed, full/closed (untouched); ETIMEDOUT: full, past and 1 ms; "
				"ECLOSED",
	 "test_mpmc_full_empty, test_mpmc_closed"},
	{"weft_mpmc_timedpop", "EINVAL: NULL + 6 malformed, empty/closed (untouched); ETIMEDOUT: empty, past and 1 ms; "
			       "ECLOSED",
	 "test_mpmc_full_empty, test_mpmc_closed, test_far_deadlines"},
	{"weft_mpmc_push_n", "0: NULL values, n 0, full, closed; n > capacity clamps", "test_mpmc_batches"},
	{"weft_mpmc_pop_n", "0: NULL out, n 0, empty, closed and drained; n > capacity clamps", "test_mpmc_batches"},
	{"weft_mpmc_push_ctx", "EINVAL: 6 malformed deadlines (NULL is none), untouched; ETIMEDOUT: full, past; "
	 "ECANCELED: full, cancelled token; ECLOSED; OK with a cancelled token when there is room", "test_mpmc_ctx_select"},
	{"weft_mpmc_pop_ctx", "EINVAL: 6 malformed deadlines (NULL is none), untouched; ETIMEDOUT: empty, past; "
	 "ECANCELED: empty, cancelled token; ECLOSED once drained; OK with a cancelled token when a value is there",
	 "test_mpmc_ctx_select"},
	{"weft_mpmc_select", "EINVAL: NULL cases/chosen, n 0 and MAX+1, NULL queue, op 2 and -1, 6 malformed deadlines "
	 "(nothing taken, *chosen untouched); ETIMEDOUT past; ECANCELED; ECLOSED (lowest closed case); OK", "test_mpmc_ctx_select"},
	{"weft_mpmc_close", "no error return; twice is harmless", "test_mpmc_closed"},
	{"weft_mpmc_is_closed", "no error return; before and after close", "test_mpmc_closed"},
	{"weft_mpmc_capacity", "no error return; 2 and unchanged by errors", "test_mpmc_full_empty"},
	{"weft_mpmc_size_approx", "no error return; 0, full, unchanged by errors", "test_mpmc_full_empty"},
	{"weft_mpmc_set_spin", "no error return; 0, returns the previous", "test_mpmc_full_empty"},
	{"weft_mpmc_set_backoff", "no error return; 0, UINT_MAX clamps to WEFT_MPMC_BACKOFF_LIMIT, returns the previous",
	 "test_mpmc_full_empty"},
};

#define N_COVERAGE (sizeof(coverage) / sizeof(coverage[0]))

/* ==== helpers ============================================================== */

/*
 * errno (docs/errors.md: no weft call changes it).  Every call of a public
 * function in this file is written E(call), or EV(call) for the void ones:
 * errno is set to a sentinel no call sets, the call runs, and errno must
 * still hold the sentinel after it, whatever the call returned.  So each
 * failing call, each boundary call and each successful call around them is
 * also an errno check.  (The holder threads' calls are checked in their own
 * threads: errno is per thread.)
 */
#define ERRNO_SENTINEL 0x5eed

static void errno_arm(void)
{
	errno = ERRNO_SENTINEL;
}

static void errno_check(const char *call, const char *file, int line)
{
	int e = errno;
	if (e != ERRNO_SENTINEL) {
		fprintf(stderr, "  %s:%d: %s changed errno: %d (%s), expected it unchanged (%d)\n", file, line, call,
			e, strerror(e), ERRNO_SENTINEL);
		check__fail();
	}
	errno = ERRNO_SENTINEL;
}

#define E(call)                                                                                                  \
	__extension__({                                                                                          \
		errno_arm();                                                                                     \
		__typeof__(call) e_result_ = (call);                                                             \
		errno_check(#call, __FILE__, __LINE__);                                                          \
		e_result_;                                                                                       \
	})
#define EV(call) (errno_arm(), (call), errno_check(#call, __FILE__, __LINE__))


#define MS_NS 1000000ull

/* The malformed deadlines every timed call must refuse with WEFT_EINVAL,
 * then NULL (index N_BAD_DEADLINES). */
static const struct timespec bad_deadlines[] = {
	{0, -1},
	{0, 1000000000L},
	{-1, 0},
	{-1, 999999999L},
	{0, LONG_MAX},
	{(time_t)LONG_MIN, LONG_MIN},
};
#define N_BAD_DEADLINES (sizeof(bad_deadlines) / sizeof(bad_deadlines[0]))

static const struct timespec *bad_deadline(size_t i)
{
	return i < N_BAD_DEADLINES ? &bad_deadlines[i] : NULL;
}

#define FOR_EACH_BAD_DEADLINE(i) for (size_t i = 0; i <= N_BAD_DEADLINES; i++)

/* The largest time_t (a deadline no clock reaches). */
#define TIME_T_MAX ((time_t)((~(uint64_t)0 >> 1) >> (64 - 8 * sizeof(time_t))))

/* A deadline long past. */
static const struct timespec past = {0, 0};

/* A deadline a millisecond ahead: a call on a busy object reaches it. */
static struct timespec soon(void)
{
	return E(weft_deadline_after_ns(MS_NS));
}

/* Bytes of an object, to show that a failed call left it untouched. */
#define SNAPSHOT(obj, copy) memcpy(&(copy), &(obj), sizeof(obj))
#define UNCHANGED(obj, copy) (memcmp(&(copy), &(obj), sizeof(obj)) == 0)

/*
 * A thread that takes a lock, then holds it until told to let go: the "busy"
 * object of the timed and try calls.  POSIX semaphores, not weft's, so that
 * the harness does not depend on what it tests.
 */
struct holder {
	void (*lock)(void *);
	void (*unlock)(void *);
	void *obj;
	sem_t held;
	sem_t release;
	pthread_t thread;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	h->lock(h->obj);
	sem_post(&h->held);
	while (sem_wait(&h->release) != 0)
		;
	h->unlock(h->obj);
	return NULL;
}

static void holder_start(struct holder *h, void (*lock)(void *), void (*unlock)(void *), void *obj)
{
	h->lock = lock;
	h->unlock = unlock;
	h->obj = obj;
	sem_init(&h->held, 0, 0);
	sem_init(&h->release, 0, 0);
	CHECK_EQ(pthread_create(&h->thread, NULL, holder_main, h), 0);
	while (sem_wait(&h->held) != 0)
		;
}

static void holder_stop(struct holder *h)
{
	sem_post(&h->release);
	pthread_join(h->thread, NULL);
	sem_destroy(&h->held);
	sem_destroy(&h->release);
}

/* ==== status.h, deadline.h, debug.h, atomic.h ============================== */

static void test_strerror(void)
{
	const int codes[] = {WEFT_OK, WEFT_EBUSY, WEFT_ETIMEDOUT, WEFT_EINVAL, WEFT_EOVERFLOW, WEFT_ENOMEM, WEFT_ECLOSED,
			     WEFT_EOWNERDEAD, WEFT_ENOTRECOVERABLE, WEFT_ENOTSUP, WEFT_ECANCELED};
	const char *unknown = "unknown weft status";
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = E(weft_strerror(codes[i]));
		CHECK(s != NULL && *s != '\0' && strcmp(s, unknown) != 0);
	}
	const int bad[] = {-1, WEFT_ECANCELED + 1, 100, INT_MIN, INT_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(strcmp(E(weft_strerror(bad[i])), unknown) == 0);
}

static void test_cancel_token(void)
{
	weft_cancel_t zero, tok, chain[WEFT_CANCEL_MAX_CHAIN + 1];
	memset(&zero, 0, sizeof(zero));
	memset(chain, 0, sizeof(chain));
	CHECK(!E(weft_cancel_requested(NULL)));
	CHECK(!E(weft_cancel_requested(&zero)));
	CHECK_STATUS(E(weft_cancel_init(NULL, NULL, 0)), WEFT_EINVAL);
	memset(&tok, 0xab, sizeof(tok));
	weft_cancel_t before = tok;
	CHECK_STATUS(E(weft_cancel_init(&tok, &tok, 0)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_cancel_init(&tok, NULL, 0x2)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_cancel_init(&tok, NULL, ~0u)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_cancel_init(&tok, &zero, WEFT_PSHARED)), WEFT_EINVAL); /* private parent */
	for (int i = 1; i < WEFT_CANCEL_MAX_CHAIN; i++)
		CHECK_STATUS(E(weft_cancel_init(&chain[i], &chain[i - 1], 0)), WEFT_OK);
	CHECK_STATUS(E(weft_cancel_init(&tok, &chain[WEFT_CANCEL_MAX_CHAIN - 1], 0)), WEFT_EINVAL);
	CHECK(memcmp(&tok, &before, sizeof(tok)) == 0); /* untouched by every failure */
	CHECK_STATUS(E(weft_cancel_init(&tok, &zero, 0)), WEFT_OK);
	EV(weft_cancel(NULL));
	EV(weft_cancel(&zero));
	EV(weft_cancel(&zero));
	CHECK(E(weft_cancel_requested(&zero)));
	CHECK(E(weft_cancel_requested(&tok)));
	EV(weft_cancel_destroy(NULL));
	EV(weft_cancel_destroy(&tok));
	EV(weft_cancel_destroy(&zero));
}

static void test_deadline(void)
{
	FOR_EACH_BAD_DEADLINE(i)
	CHECK(!E(weft_deadline_valid(bad_deadline(i))));
	const struct timespec ok0 = {0, 0}, ok1 = {0, 999999999L};
	CHECK(E(weft_deadline_valid(&ok0)));
	CHECK(E(weft_deadline_valid(&ok1)));

	const uint64_t ns[] = {0, 1, 999999999ull, (uint64_t)INT64_MAX, UINT64_MAX};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		struct timespec d = E(weft_deadline_after_ns(ns[i]));
		CHECK(E(weft_deadline_valid(&d)));
	}
	/* no wrap-around: each deadline is at least now + ns (CLOCK_MONOTONIC
	 * does not go back), up to the largest time_t, where it saturates */
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		struct timespec before = E(weft_deadline_after_ns(0));
		struct timespec d = E(weft_deadline_after_ns(ns[i]));
		struct timespec after = E(weft_deadline_after_ns(0));
		uint64_t add_sec = ns[i] / 1000000000u;
		if (sizeof(time_t) == 8 || add_sec < (uint64_t)INT32_MAX - (uint64_t)after.tv_sec) {
			CHECK((uint64_t)d.tv_sec >= (uint64_t)before.tv_sec + add_sec);
			CHECK((uint64_t)d.tv_sec <= (uint64_t)after.tv_sec + add_sec + 1);
		} else
			CHECK(d.tv_sec == TIME_T_MAX && d.tv_nsec == 999999999L); /* saturated */
	}
	struct timespec forever = E(weft_deadline_after_ns(UINT64_MAX));
	CHECK_GT(forever.tv_sec, 0);
	CHECK(!E(weft_deadline_passed(&forever)));
	const struct timespec last = {TIME_T_MAX, 999999999L};
	CHECK(E(weft_deadline_valid(&last)));
	CHECK(!E(weft_deadline_passed(&last)));
	struct timespec now = E(weft_deadline_after_ns(0));
	CHECK(E(weft_deadline_passed(&now))); /* monotonic: now is not in the future */
	CHECK(E(weft_deadline_passed(&past)));
}

static void die_child(void)
{
	EV(weft_debug_die("test_prim_t", (const void *)&bad_deadlines, "test misuse"));
}

static void *self_on_thread(void *arg)
{
	*(uint32_t *)arg = E(weft_debug_self());
	return NULL;
}

static void test_debug(void)
{
	char expect[128];
	snprintf(expect, sizeof(expect), "weft: test_prim_t %p: test misuse", (const void *)&bad_deadlines);
	CHECK(check_child_aborts(die_child, expect));
	uint32_t me = E(weft_debug_self()), other = 0;
	CHECK_NE(me, 0);
	CHECK_EQ(E(weft_debug_self()), me);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, self_on_thread, &other), 0);
	pthread_join(t, NULL);
	CHECK_NE(other, 0);
	CHECK_NE(other, me);
	for (int i = 0; i < 4; i++)
		EV(weft_cpu_relax());
}

/*
 * Lock-order checking (WEFT_DEBUG builds; docs/lockorder.md): a timed call
 * with a malformed or past deadline cannot block, so it must add no "held A
 * while taking B" order.  Taking B under A and then A under B that way is no
 * potential deadlock and must not be reported.  (A release build feeds the
 * checker nothing: the count stays 0 there too.)
 */
static void test_lockdep(void)
{
	unsigned long before = E(weft_lockdep_reports());
	weft_mutex_t a = WEFT_MUTEX_INIT, b = WEFT_MUTEX_INIT;
	weft_rwlock_t ra = WEFT_RWLOCK_INIT, rb = WEFT_RWLOCK_INIT;
	for (int order = 0; order < 2; order++) {
		weft_mutex_t *outer = order ? &b : &a, *inner = order ? &a : &b;
		weft_rwlock_t *router = order ? &rb : &ra, *rinner = order ? &ra : &rb;
		EV(weft_mutex_lock(outer));
		EV(weft_rwlock_wrlock(router));
		FOR_EACH_BAD_DEADLINE(i)
		{
			CHECK_STATUS(E(weft_mutex_timedlock(inner, bad_deadline(i))), WEFT_EINVAL);
			CHECK_STATUS(E(weft_rwlock_timedrdlock(rinner, bad_deadline(i))), WEFT_EINVAL);
			CHECK_STATUS(E(weft_rwlock_timedwrlock(rinner, bad_deadline(i))), WEFT_EINVAL);
		}
		CHECK_STATUS(E(weft_mutex_timedlock(inner, &past)), WEFT_OK);
		EV(weft_mutex_unlock(inner));
		CHECK_STATUS(E(weft_rwlock_timedwrlock(rinner, &past)), WEFT_OK);
		EV(weft_rwlock_wrunlock(rinner));
		EV(weft_rwlock_wrunlock(router));
		EV(weft_mutex_unlock(outer));
	}
	CHECK_EQ(E(weft_lockdep_reports()), before);
#ifndef WEFT_DEBUG
	CHECK_EQ(E(weft_lockdep_reports()), 0);
#endif
	EV(weft_mutex_destroy(&a));
	EV(weft_mutex_destroy(&b));
	EV(weft_rwlock_destroy(&ra));
	EV(weft_rwlock_destroy(&rb));
}

/* ==== spinlock.h =========================================================== */

static void test_spinlocks(void)
{
	weft_spin_t zero_spin, init_spin = WEFT_SPIN_INIT, copy_spin;
	memset(&zero_spin, 0, sizeof(zero_spin));
	weft_spin_t *spins[] = {&zero_spin, &init_spin};
	for (int i = 0; i < 2; i++) {
		weft_spin_t *s = spins[i];
		EV(weft_spin_lock(s));
		SNAPSHOT(*s, copy_spin);
		CHECK(!E(weft_spin_trylock(s))); /* held: fails, changes nothing */
		CHECK(UNCHANGED(*s, copy_spin));
		EV(weft_spin_unlock(s));
		CHECK(E(weft_spin_trylock(s)));
		EV(weft_spin_unlock(s));
		EV(weft_spin_init(s));
		CHECK_EQ(s->locked, 0);
		EV(weft_spin_destroy(s));
	}

	weft_ticket_t zero_ticket, init_ticket = WEFT_TICKET_INIT, copy_ticket;
	memset(&zero_ticket, 0, sizeof(zero_ticket));
	/* a lock whose counters are about to wrap: free (next == serving) */
	weft_ticket_t wrap_ticket = {UINT32_MAX, UINT32_MAX};
	weft_ticket_t *tickets[] = {&zero_ticket, &init_ticket, &wrap_ticket};
	for (int i = 0; i < 3; i++) {
		weft_ticket_t *t = tickets[i];
		CHECK(E(weft_ticket_trylock(t)));
		SNAPSHOT(*t, copy_ticket);
		CHECK(!E(weft_ticket_trylock(t)));
		CHECK(UNCHANGED(*t, copy_ticket));
		EV(weft_ticket_unlock(t));
		EV(weft_ticket_lock(t));
		EV(weft_ticket_unlock(t));
		CHECK_EQ(t->next, t->serving);
		EV(weft_ticket_destroy(t));
	}
	CHECK_EQ(wrap_ticket.serving, 1u); /* UINT32_MAX + 2 */
	EV(weft_ticket_init(&wrap_ticket));
	CHECK_EQ(wrap_ticket.next, 0u);

	weft_mcs_t zero_mcs, init_mcs = WEFT_MCS_INIT;
	memset(&zero_mcs, 0, sizeof(zero_mcs));
	weft_mcs_t *locks[] = {&zero_mcs, &init_mcs};
	for (int i = 0; i < 2; i++) {
		weft_mcs_t *m = locks[i];
		weft_mcs_node_t a, b;
		EV(weft_mcs_lock(m, &a));
		CHECK(m->tail == &a);
		CHECK(!E(weft_mcs_trylock(m, &b)));
		CHECK(m->tail == &a);
		EV(weft_mcs_unlock(m, &a));
		CHECK(m->tail == NULL);
		CHECK(E(weft_mcs_trylock(m, &b)));
		EV(weft_mcs_unlock(m, &b));
		EV(weft_mcs_init(m));
		EV(weft_mcs_destroy(m));
	}
}

/* ==== mutex.h ============================================================== */

static const unsigned bad_flags[] = {0x2u, 0x100u, 0x80000000u, ~0u, WEFT_PSHARED | 0x4u};
#define N_BAD_FLAGS (sizeof(bad_flags) / sizeof(bad_flags[0]))

static void mutex_lock_fn(void *p)
{
	EV(weft_mutex_lock(p));
}
static void mutex_unlock_fn(void *p)
{
	EV(weft_mutex_unlock(p));
}

/* 0x4 is WEFT_FIFO for a mutex */
static const unsigned mutex_bad_flags[] = {0x2u, 0x100u, 0x80000000u, ~0u, WEFT_PSHARED | 0x8u, WEFT_FIFO | 0x2u};
#define N_MUTEX_BAD_FLAGS (sizeof(mutex_bad_flags) / sizeof(mutex_bad_flags[0]))

static void test_mutex(void)
{
	unsigned prev = E(weft_mutex_set_spin(0));
	CHECK_EQ(E(weft_mutex_set_spin(UINT_MAX)), 0);
	CHECK_EQ(E(weft_mutex_set_spin(prev)), UINT_MAX);
	uint64_t prev_bound = E(weft_mutex_set_fair_bound(0));
	CHECK_EQ(E(weft_mutex_set_fair_bound(UINT64_MAX)), 0);
	CHECK_EQ(E(weft_mutex_set_fair_bound(prev_bound)), UINT64_MAX);

	weft_mutex_t zero, init = WEFT_MUTEX_INIT;
	memset(&zero, 0, sizeof(zero));
	CHECK(UNCHANGED(zero, init));
	for (int f = 0; f < 4; f++) {
		unsigned flags = ((f & 1) ? WEFT_PSHARED : 0u) | ((f & 2) ? WEFT_FIFO : 0u);
		weft_mutex_t m, copy;
		memset(&m, 0xA5, sizeof(m));
		for (size_t i = 0; i < N_MUTEX_BAD_FLAGS; i++) {
			SNAPSHOT(m, copy);
			CHECK_STATUS(E(weft_mutex_init(&m, mutex_bad_flags[i])), WEFT_EINVAL);
			CHECK(UNCHANGED(m, copy));
		}
		CHECK_STATUS(E(weft_mutex_init(&m, flags)), WEFT_OK);

		/* free mutex: malformed deadlines touch nothing; a past one takes it */
		FOR_EACH_BAD_DEADLINE(i)
		{
			SNAPSHOT(m, copy);
			CHECK_STATUS(E(weft_mutex_timedlock(&m, bad_deadline(i))), WEFT_EINVAL);
			CHECK(UNCHANGED(m, copy));
		}
		CHECK_STATUS(E(weft_mutex_timedlock(&m, &past)), WEFT_OK);
		EV(weft_mutex_unlock(&m));
		FOR_EACH_BAD_DEADLINE(i)
		{
			if (bad_deadline(i) == NULL)
				continue;
			SNAPSHOT(m, copy);
			CHECK_STATUS(E(weft_mutex_lock_ctx(&m, bad_deadline(i), NULL)), WEFT_EINVAL);
			CHECK(UNCHANGED(m, copy));
		}
		{
			weft_cancel_t gone = WEFT_CANCEL_INIT;
			EV(weft_cancel(&gone));
			CHECK_STATUS(E(weft_mutex_lock_ctx(&m, NULL, &gone)), WEFT_OK); /* free: the token is not read */
			EV(weft_mutex_unlock(&m));
		}

		/* busy mutex (another thread holds it) */
		struct holder h;
		holder_start(&h, mutex_lock_fn, mutex_unlock_fn, &m);
		SNAPSHOT(m, copy);
		CHECK(!E(weft_mutex_trylock(&m)));
		CHECK(UNCHANGED(m, copy));
		FOR_EACH_BAD_DEADLINE(i)
		CHECK_STATUS(E(weft_mutex_timedlock(&m, bad_deadline(i))), WEFT_EINVAL);
		CHECK(UNCHANGED(m, copy));
		CHECK_STATUS(E(weft_mutex_timedlock(&m, &past)), WEFT_ETIMEDOUT);
		CHECK(UNCHANGED(m, copy)); /* a past deadline returns before marking the word */
		FOR_EACH_BAD_DEADLINE(i)
		{
			if (bad_deadline(i) == NULL)
				continue; /* NULL is "no deadline" for the _ctx calls */
			CHECK_STATUS(E(weft_mutex_lock_ctx(&m, bad_deadline(i), NULL)), WEFT_EINVAL);
			CHECK(UNCHANGED(m, copy));
		}
		weft_cancel_t gone = WEFT_CANCEL_INIT;
		EV(weft_cancel(&gone));
		CHECK_STATUS(E(weft_mutex_lock_ctx(&m, NULL, &gone)), WEFT_ECANCELED);
		struct timespec d = soon();
		CHECK_STATUS(E(weft_mutex_timedlock(&m, &d)), WEFT_ETIMEDOUT);
		holder_stop(&h);
		/* usable: the timed-out waiter left at most a CONTENDED mark */
		EV(weft_mutex_lock(&m));
		EV(weft_mutex_unlock(&m));
		CHECK(E(weft_mutex_trylock(&m)));
		EV(weft_mutex_unlock_fair(&m)); /* no sleeper: a plain unlock */
		CHECK_EQ(m.state & WEFT_MUTEX_STATE_MASK, WEFT_MUTEX_UNLOCKED);
		CHECK(E(weft_mutex_trylock(&m)));
		EV(weft_mutex_unlock(&m));
		CHECK_EQ(m.state & WEFT_MUTEX_STATE_MASK, WEFT_MUTEX_UNLOCKED);
		EV(weft_mutex_destroy(&m));
	}
	EV(weft_mutex_lock(&zero));
	EV(weft_mutex_unlock(&zero));
	EV(weft_mutex_destroy(&zero));
	EV(weft_mutex_lock(&init));
	EV(weft_mutex_unlock(&init));
}

static void robust_lock_fn(void *p)
{
	CHECK_STATUS(E(weft_robust_mutex_lock(p)), WEFT_OK);
}

static void robust_unlock_fn(void *p)
{
	CHECK_STATUS(E(weft_robust_mutex_unlock(p)), WEFT_OK);
}

static void *robust_die_holding(void *p)
{
	CHECK_STATUS(E(weft_robust_mutex_lock(p)), WEFT_OK);
	return NULL; /* the thread exits holding it */
}

static void test_robust_mutex(void)
{
	weft_robust_mutex_t m, copy, zero = WEFT_ROBUST_MUTEX_INIT;
	memset(&m, 0xA5, sizeof(m));
	const unsigned rbad[] = {0x100u, 0x80000000u, ~0u, WEFT_PSHARED | 0x4u};
	for (size_t i = 0; i < sizeof(rbad) / sizeof(rbad[0]); i++) {
		SNAPSHOT(m, copy);
		CHECK_STATUS(E(weft_robust_mutex_init(&m, rbad[i])), WEFT_EINVAL);
		CHECK(UNCHANGED(m, copy));
	}
	if (E(weft_robust_mutex_init(&m, 0u)) == WEFT_ENOTSUP) {
		/* no robust futex list on this system (qemu-user): every call says so */
		CHECK_STATUS(E(weft_robust_mutex_lock(&zero)), WEFT_ENOTSUP);
		CHECK_STATUS(E(weft_robust_mutex_trylock(&zero)), WEFT_ENOTSUP);
		return;
	}
	for (int f = 0; f < 3; f++) {
		CHECK_STATUS(E(weft_robust_mutex_init(&m, f == 0 ? 0u : f == 1 ? WEFT_PSHARED : WEFT_ROBUST)), WEFT_OK);
#ifndef WEFT_DEBUG
		SNAPSHOT(m, copy);
		CHECK_STATUS(E(weft_robust_mutex_unlock(&m)), WEFT_EINVAL); /* free */
		CHECK(UNCHANGED(m, copy));
#endif
		CHECK_STATUS(E(weft_robust_mutex_consistent(&m)), WEFT_EINVAL);
		FOR_EACH_BAD_DEADLINE(i)
		{
			SNAPSHOT(m, copy);
			CHECK_STATUS(E(weft_robust_mutex_timedlock(&m, bad_deadline(i))), WEFT_EINVAL);
			CHECK(UNCHANGED(m, copy));
		}
		CHECK_STATUS(E(weft_robust_mutex_timedlock(&m, &past)), WEFT_OK);
		CHECK_STATUS(E(weft_robust_mutex_consistent(&m)), WEFT_EINVAL); /* held, consistent */
		CHECK_STATUS(E(weft_robust_mutex_unlock(&m)), WEFT_OK);

		struct holder h;
		holder_start(&h, robust_lock_fn, robust_unlock_fn, &m);
		SNAPSHOT(m, copy);
		CHECK_STATUS(E(weft_robust_mutex_trylock(&m)), WEFT_EBUSY);
		CHECK(UNCHANGED(m, copy));
#ifndef WEFT_DEBUG
		CHECK_STATUS(E(weft_robust_mutex_unlock(&m)), WEFT_EINVAL); /* held by the holder */
		CHECK(UNCHANGED(m, copy));
#endif
		CHECK_STATUS(E(weft_robust_mutex_consistent(&m)), WEFT_EINVAL);
		FOR_EACH_BAD_DEADLINE(i)
		CHECK_STATUS(E(weft_robust_mutex_timedlock(&m, bad_deadline(i))), WEFT_EINVAL);
		CHECK(UNCHANGED(m, copy));
		CHECK_STATUS(E(weft_robust_mutex_timedlock(&m, &past)), WEFT_ETIMEDOUT);
		holder_stop(&h);

#ifndef WEFT_TSAN /* TSan cannot follow a thread that exits holding a lock (robust.h) */
		pthread_t t;
		pthread_create(&t, NULL, robust_die_holding, &m);
		pthread_join(t, NULL);
		CHECK_STATUS(E(weft_robust_mutex_trylock(&m)), WEFT_EOWNERDEAD);
		CHECK_STATUS(E(weft_robust_mutex_unlock(&m)), WEFT_OK); /* not made consistent */
		CHECK_STATUS(E(weft_robust_mutex_lock(&m)), WEFT_ENOTRECOVERABLE);
		CHECK_STATUS(E(weft_robust_mutex_trylock(&m)), WEFT_ENOTRECOVERABLE);
#else
		(void)robust_die_holding;
#endif
		EV(weft_robust_mutex_destroy(&m));
	}
	CHECK_STATUS(E(weft_robust_mutex_lock(&zero)), WEFT_OK);
	CHECK_STATUS(E(weft_robust_mutex_unlock(&zero)), WEFT_OK);
	EV(weft_robust_mutex_destroy(&zero));
}

/* ==== rwlock.h ============================================================= */

static void rw_rd_fn(void *p)
{
	EV(weft_rwlock_rdlock(p));
}
static void rw_rdun_fn(void *p)
{
	EV(weft_rwlock_rdunlock(p));
}
static void rw_wr_fn(void *p)
{
	EV(weft_rwlock_wrlock(p));
}
static void rw_wrun_fn(void *p)
{
	EV(weft_rwlock_wrunlock(p));
}

/* Every timed call with every malformed deadline: WEFT_EINVAL, bytes untouched. */
static void rwlock_bad_deadlines(weft_rwlock_t *rw)
{
	weft_rwlock_t copy;
	SNAPSHOT(*rw, copy);
	FOR_EACH_BAD_DEADLINE(i)
	{
		CHECK_STATUS(E(weft_rwlock_timedrdlock(rw, bad_deadline(i))), WEFT_EINVAL);
		CHECK_STATUS(E(weft_rwlock_timedwrlock(rw, bad_deadline(i))), WEFT_EINVAL);
		if (bad_deadline(i) == NULL)
			continue; /* NULL is "no deadline" for the _ctx calls */
		CHECK_STATUS(E(weft_rwlock_rdlock_ctx(rw, bad_deadline(i), NULL)), WEFT_EINVAL);
		CHECK_STATUS(E(weft_rwlock_wrlock_ctx(rw, bad_deadline(i), NULL)), WEFT_EINVAL);
	}
	CHECK(UNCHANGED(*rw, copy));
}

static void test_rwlock(void)
{
	unsigned prev_spin = E(weft_rwlock_set_spin(0));
	CHECK_EQ(E(weft_rwlock_set_spin(prev_spin)), 0);

	for (int pass = 0; pass < 3; pass++) {
		/* pass 0: private, default bias; 1: reader bias off; 2: process-shared */
		const unsigned bias = pass == 1 ? 0u : WEFT_RWLOCK_BIAS_DEFAULT;
		unsigned prev_bias = E(weft_rwlock_set_bias(bias));
		CHECK_EQ(E(weft_rwlock_set_bias(bias)), bias);
		weft_rwlock_t rw, copy;
		memset(&rw, 0xA5, sizeof(rw));
		for (size_t i = 0; i < N_BAD_FLAGS; i++) {
			SNAPSHOT(rw, copy);
			CHECK_STATUS(E(weft_rwlock_init(&rw, bad_flags[i])), WEFT_EINVAL);
			CHECK(UNCHANGED(rw, copy));
		}
		CHECK_STATUS(E(weft_rwlock_init(&rw, pass == 2 ? WEFT_PSHARED : 0u)), WEFT_OK);
		/* a few hundred reads, so that a biased lock is biased by now */
		for (int i = 0; i < 200; i++) {
			EV(weft_rwlock_rdlock(&rw));
			EV(weft_rwlock_rdunlock(&rw));
		}

		/* free */
		rwlock_bad_deadlines(&rw);
		CHECK_STATUS(E(weft_rwlock_timedrdlock(&rw, &past)), WEFT_OK);
		EV(weft_rwlock_rdunlock(&rw));
		{
			weft_cancel_t gone = WEFT_CANCEL_INIT; /* cancelled: not read on a free lock */
			EV(weft_cancel(&gone));
			CHECK_STATUS(E(weft_rwlock_rdlock_ctx(&rw, NULL, &gone)), WEFT_OK);
			EV(weft_rwlock_rdunlock(&rw));
			CHECK_STATUS(E(weft_rwlock_wrlock_ctx(&rw, NULL, &gone)), WEFT_OK);
			EV(weft_rwlock_wrunlock(&rw));
		}
		CHECK_STATUS(E(weft_rwlock_timedwrlock(&rw, &past)), WEFT_OK);
		EV(weft_rwlock_wrunlock(&rw));

		/* read-held by another thread: writers fail, readers get in */
		struct holder h;
		holder_start(&h, rw_rd_fn, rw_rdun_fn, &rw);
		rwlock_bad_deadlines(&rw);
		SNAPSHOT(rw, copy);
		CHECK(!E(weft_rwlock_trywrlock(&rw)));
		CHECK(UNCHANGED(rw, copy));
		CHECK_STATUS(E(weft_rwlock_timedwrlock(&rw, &past)), WEFT_ETIMEDOUT);
		CHECK(UNCHANGED(rw, copy));
		struct timespec d = soon();
		CHECK_STATUS(E(weft_rwlock_timedwrlock(&rw, &d)), WEFT_ETIMEDOUT);
		CHECK_EQ(rw.state & (WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED | WEFT_RWLOCK_WRITER), 0);
		{
			weft_cancel_t gone = WEFT_CANCEL_INIT;
			EV(weft_cancel(&gone));
			CHECK_STATUS(E(weft_rwlock_wrlock_ctx(&rw, NULL, &gone)), WEFT_ECANCELED);
			CHECK_EQ(rw.state & (WEFT_RWLOCK_WAITING | WEFT_RWLOCK_PARKED | WEFT_RWLOCK_WRITER), 0);
		}
		CHECK_STATUS(E(weft_rwlock_timedrdlock(&rw, &past)), WEFT_OK); /* readable: no waiting needed */
		EV(weft_rwlock_rdunlock(&rw));
		CHECK(E(weft_rwlock_tryrdlock(&rw)));
		EV(weft_rwlock_rdunlock(&rw));
		holder_stop(&h);

		/* write-held by another thread: everyone fails */
		holder_start(&h, rw_wr_fn, rw_wrun_fn, &rw);
		rwlock_bad_deadlines(&rw);
		SNAPSHOT(rw, copy);
		CHECK(!E(weft_rwlock_tryrdlock(&rw)));
		CHECK(!E(weft_rwlock_trywrlock(&rw)));
		CHECK_STATUS(E(weft_rwlock_timedrdlock(&rw, &past)), WEFT_ETIMEDOUT);
		CHECK_STATUS(E(weft_rwlock_timedwrlock(&rw, &past)), WEFT_ETIMEDOUT);
		CHECK(UNCHANGED(rw, copy));
		d = soon();
		CHECK_STATUS(E(weft_rwlock_timedrdlock(&rw, &d)), WEFT_ETIMEDOUT);
		d = soon();
		CHECK_STATUS(E(weft_rwlock_timedwrlock(&rw, &d)), WEFT_ETIMEDOUT);
		CHECK_EQ(rw.state & (WEFT_RWLOCK_WAITING | WEFT_RWLOCK_READERS), 0);
		holder_stop(&h);

		/* usable afterwards in both modes */
		EV(weft_rwlock_wrlock(&rw));
		EV(weft_rwlock_wrunlock(&rw));
		EV(weft_rwlock_rdlock(&rw));
		EV(weft_rwlock_rdunlock(&rw));
		CHECK(E(weft_rwlock_trywrlock(&rw)));
		EV(weft_rwlock_wrunlock(&rw));
		CHECK_EQ(rw.state & ~(WEFT_RWLOCK_PSHARED_BIT | WEFT_RWLOCK_BIASED), 0);
		CHECK_EQ(rw.queue, 0);
		EV(weft_rwlock_destroy(&rw));
		E(weft_rwlock_set_bias(prev_bias));
	}

	weft_rwlock_t zero, init = WEFT_RWLOCK_INIT;
	memset(&zero, 0, sizeof(zero));
	CHECK(UNCHANGED(zero, init));
	EV(weft_rwlock_rdlock(&zero));
	EV(weft_rwlock_rdunlock(&zero));
	EV(weft_rwlock_wrlock(&init));
	EV(weft_rwlock_wrunlock(&init));
	EV(weft_rwlock_destroy(&zero));
	EV(weft_rwlock_destroy(&init));
}

/* The counted-reader limit: white box, the R field is set directly (2^27 - 1
 * real read locks would take too long). */
static weft_rwlock_t max_rw;

static void rdlock_past_max(void)
{
	EV(weft_rwlock_rdlock(&max_rw));
}

static void timedrdlock_past_max(void)
{
	struct timespec d = E(weft_deadline_after_ns(MS_NS));
	(void)E(weft_rwlock_timedrdlock(&max_rw, &d));
}

static void test_rwlock_readers_max(void)
{
	unsigned prev_bias = E(weft_rwlock_set_bias(0)); /* every reader counted */
	CHECK_STATUS(E(weft_rwlock_init(&max_rw, 0)), WEFT_OK);
	weft_atomic_store(&max_rw.state, WEFT_RWLOCK_READERS_MAX - 1u, WEFT_RELAXED);
	CHECK(E(weft_rwlock_tryrdlock(&max_rw))); /* the last reader that fits */
	CHECK_EQ(max_rw.state, WEFT_RWLOCK_READERS_MAX);
	CHECK(!E(weft_rwlock_tryrdlock(&max_rw))); /* one more: fails, changes nothing */
	CHECK(!E(weft_rwlock_trywrlock(&max_rw)));
	CHECK_EQ(max_rw.state, WEFT_RWLOCK_READERS_MAX);
	/* rdlock and timedrdlock cannot fail: they abort, in every build */
	CHECK(check_child_aborts(rdlock_past_max, "more than WEFT_RWLOCK_READERS_MAX concurrent read locks"));
	CHECK(check_child_aborts(timedrdlock_past_max, "more than WEFT_RWLOCK_READERS_MAX concurrent read locks"));
	EV(weft_rwlock_rdunlock(&max_rw));
	CHECK(E(weft_rwlock_tryrdlock(&max_rw))); /* usable again */
	EV(weft_rwlock_rdunlock(&max_rw));
	CHECK_EQ(max_rw.state, WEFT_RWLOCK_READERS_MAX - 1u);
	weft_atomic_store(&max_rw.state, 0u, WEFT_RELAXED); /* the pretend readers leave */
	EV(weft_rwlock_wrlock(&max_rw));
	EV(weft_rwlock_wrunlock(&max_rw));
	EV(weft_rwlock_destroy(&max_rw));
	E(weft_rwlock_set_bias(prev_bias));
}

/* weft_brlock_t is 4160 bytes and 64-byte aligned: static storage. */
static weft_brlock_t br_lock, br_copy, br_zero, br_init = WEFT_BRLOCK_INIT;

static void br_rd_fn(void *p)
{
	EV(weft_brlock_rdlock(p));
}
static void br_rdun_fn(void *p)
{
	EV(weft_brlock_rdunlock(p));
}
static void br_wr_fn(void *p)
{
	EV(weft_brlock_wrlock(p));
}
static void br_wrun_fn(void *p)
{
	EV(weft_brlock_wrunlock(p));
}

static void brlock_bad_deadlines(weft_brlock_t *br)
{
	SNAPSHOT(*br, br_copy);
	FOR_EACH_BAD_DEADLINE(i)
	{
		CHECK_STATUS(E(weft_brlock_timedrdlock(br, bad_deadline(i))), WEFT_EINVAL);
		CHECK_STATUS(E(weft_brlock_timedwrlock(br, bad_deadline(i))), WEFT_EINVAL);
		if (bad_deadline(i) == NULL)
			continue; /* NULL is "no deadline" for the _ctx calls */
		CHECK_STATUS(E(weft_brlock_rdlock_ctx(br, bad_deadline(i), NULL)), WEFT_EINVAL);
		CHECK_STATUS(E(weft_brlock_wrlock_ctx(br, bad_deadline(i), NULL)), WEFT_EINVAL);
	}
	CHECK(UNCHANGED(*br, br_copy));
}

static void test_brlock(void)
{
	for (int pass = 0; pass < 2; pass++) {
		weft_brlock_t *br = &br_lock;
		memset(br, 0xA5, sizeof(*br));
		for (size_t i = 0; i < N_BAD_FLAGS; i++) {
			SNAPSHOT(*br, br_copy);
			CHECK_STATUS(E(weft_brlock_init(br, bad_flags[i])), WEFT_EINVAL);
			CHECK(UNCHANGED(*br, br_copy));
		}
		CHECK_STATUS(E(weft_brlock_init(br, pass ? WEFT_PSHARED : 0u)), WEFT_OK);

		brlock_bad_deadlines(br);
		CHECK_STATUS(E(weft_brlock_timedrdlock(br, &past)), WEFT_OK);
		EV(weft_brlock_rdunlock(br));
		CHECK_STATUS(E(weft_brlock_timedwrlock(br, &past)), WEFT_OK);
		EV(weft_brlock_wrunlock(br));
		{
			weft_cancel_t gone = WEFT_CANCEL_INIT; /* cancelled: not read on a free lock */
			EV(weft_cancel(&gone));
			CHECK_STATUS(E(weft_brlock_rdlock_ctx(br, NULL, &gone)), WEFT_OK);
			EV(weft_brlock_rdunlock(br));
			CHECK_STATUS(E(weft_brlock_wrlock_ctx(br, NULL, &gone)), WEFT_OK);
			EV(weft_brlock_wrunlock(br));
		}

		struct holder h;
		holder_start(&h, br_rd_fn, br_rdun_fn, br);
		brlock_bad_deadlines(br);
		SNAPSHOT(*br, br_copy);
		CHECK(!E(weft_brlock_trywrlock(br)));
		CHECK_STATUS(E(weft_brlock_timedwrlock(br, &past)), WEFT_ETIMEDOUT);
		CHECK(UNCHANGED(*br, br_copy));
		struct timespec d = soon();
		CHECK_STATUS(E(weft_brlock_timedwrlock(br, &d)), WEFT_ETIMEDOUT);
		CHECK_EQ(br->writer & WEFT_BRLOCK_ACTIVE, 0);
		{
			weft_cancel_t gone = WEFT_CANCEL_INIT;
			EV(weft_cancel(&gone));
			CHECK_STATUS(E(weft_brlock_wrlock_ctx(br, NULL, &gone)), WEFT_ECANCELED);
			CHECK_EQ(br->writer & WEFT_BRLOCK_ACTIVE, 0);
		}
		CHECK_STATUS(E(weft_brlock_timedrdlock(br, &past)), WEFT_OK);
		EV(weft_brlock_rdunlock(br));
		holder_stop(&h);

		holder_start(&h, br_wr_fn, br_wrun_fn, br);
		brlock_bad_deadlines(br);
		SNAPSHOT(*br, br_copy);
		CHECK(!E(weft_brlock_tryrdlock(br)));
		CHECK(!E(weft_brlock_trywrlock(br)));
		CHECK_STATUS(E(weft_brlock_timedrdlock(br, &past)), WEFT_ETIMEDOUT);
		CHECK_STATUS(E(weft_brlock_timedwrlock(br, &past)), WEFT_ETIMEDOUT);
		CHECK(UNCHANGED(*br, br_copy));
		d = soon();
		CHECK_STATUS(E(weft_brlock_timedrdlock(br, &d)), WEFT_ETIMEDOUT);
		d = soon();
		CHECK_STATUS(E(weft_brlock_timedwrlock(br, &d)), WEFT_ETIMEDOUT);
		holder_stop(&h);

		EV(weft_brlock_wrlock(br));
		EV(weft_brlock_wrunlock(br));
		EV(weft_brlock_rdlock(br));
		EV(weft_brlock_rdunlock(br));
		CHECK(E(weft_brlock_trywrlock(br)));
		EV(weft_brlock_wrunlock(br));
		CHECK(E(weft_brlock_tryrdlock(br)));
		EV(weft_brlock_rdunlock(br));
		for (int i = 0; i < WEFT_BRLOCK_SLOTS; i++)
			CHECK_EQ(br->slots[i].readers, 0);
		CHECK_EQ(br->writer & ~WEFT_BRLOCK_PSHARED_BIT, 0);
		EV(weft_brlock_destroy(br));
	}
	CHECK(UNCHANGED(br_zero, br_init));
	EV(weft_brlock_rdlock(&br_zero));
	EV(weft_brlock_rdunlock(&br_zero));
	EV(weft_brlock_wrlock(&br_init));
	EV(weft_brlock_wrunlock(&br_init));
	EV(weft_brlock_destroy(&br_zero));
	EV(weft_brlock_destroy(&br_init));
}

/* ==== cond.h =============================================================== */

static void test_cond(void)
{
	unsigned prev = E(weft_cond_set_spin(0));
	CHECK_EQ(E(weft_cond_set_spin(prev)), 0);

	for (int f = 0; f < 2; f++) {
		unsigned flags = f ? WEFT_PSHARED : 0u;
		weft_cond_t c, copy;
		memset(&c, 0xA5, sizeof(c));
		for (size_t i = 0; i < N_BAD_FLAGS; i++) {
			SNAPSHOT(c, copy);
			CHECK_STATUS(E(weft_cond_init(&c, bad_flags[i])), WEFT_EINVAL);
			CHECK(UNCHANGED(c, copy));
		}
		CHECK_STATUS(E(weft_cond_init(&c, flags)), WEFT_OK);
		weft_mutex_t m;
		CHECK_STATUS(E(weft_mutex_init(&m, flags)), WEFT_OK);

		/* no waiter: signal and broadcast change nothing */
		SNAPSHOT(c, copy);
		EV(weft_cond_signal(&c));
		EV(weft_cond_broadcast(&c));
		CHECK(UNCHANGED(c, copy));

		EV(weft_mutex_lock(&m));
		weft_mutex_t mcopy;
		SNAPSHOT(m, mcopy);
		FOR_EACH_BAD_DEADLINE(i)
		{
			CHECK_STATUS(E(weft_cond_timedwait(&c, &m, bad_deadline(i))), WEFT_EINVAL);
			CHECK(UNCHANGED(c, copy));
			CHECK(UNCHANGED(m, mcopy)); /* still held by us (WEFT_DEBUG: owner too) */
		}
		/* past and near deadlines: WEFT_ETIMEDOUT, or WEFT_OK for a
		 * spurious wake-up (documented); the mutex is held again either way */
		int rc = E(weft_cond_timedwait(&c, &m, &past));
		CHECK(rc == WEFT_ETIMEDOUT || rc == WEFT_OK);
		struct timespec d = soon();
		rc = E(weft_cond_timedwait(&c, &m, &d));
		CHECK(rc == WEFT_ETIMEDOUT || rc == WEFT_OK);
		CHECK(!E(weft_mutex_trylock(&m)));
		CHECK_EQ(c.waiters & WEFT_COND_COUNT_MASK, 0);
		CHECK_EQ(c.sleepers, 0);
		EV(weft_mutex_unlock(&m)); /* WEFT_DEBUG: aborts unless we are the owner */
		CHECK(E(weft_mutex_trylock(&m)));
		EV(weft_mutex_unlock(&m));
		EV(weft_cond_signal(&c));
		EV(weft_cond_destroy(&c));
		EV(weft_mutex_destroy(&m));
	}
	weft_cond_t zero, init = WEFT_COND_INIT;
	memset(&zero, 0, sizeof(zero));
	CHECK(UNCHANGED(zero, init));
	EV(weft_cond_broadcast(&zero));
	EV(weft_cond_destroy(&zero));
}

/* weft_cond_wait() on a WEFT_COND_INIT condition variable, notified by a thread. */
static weft_cond_t cw_cond = WEFT_COND_INIT;
static weft_mutex_t cw_mutex = WEFT_MUTEX_INIT;
static int cw_flag;

static void *cw_notifier(void *arg)
{
	(void)arg;
	EV(weft_mutex_lock(&cw_mutex));
	cw_flag = 1;
	EV(weft_cond_broadcast(&cw_cond));
	EV(weft_mutex_unlock(&cw_mutex));
	return NULL;
}

static void test_cond_wait_init(void)
{
	pthread_t t;
	EV(weft_mutex_lock(&cw_mutex));
	CHECK_EQ(pthread_create(&t, NULL, cw_notifier, NULL), 0);
	while (!cw_flag)
		EV(weft_cond_wait(&cw_cond, &cw_mutex));
	EV(weft_mutex_unlock(&cw_mutex));
	pthread_join(t, NULL);
	EV(weft_cond_destroy(&cw_cond));
}

/* weft_cond_wait_ctx(): bad deadlines refused with the mutex held; a cancelled
 * token and a past deadline give up with it held again; no deadline and no
 * token wait for a notifier. */
static void test_cond_ctx(void)
{
	weft_cond_t c = WEFT_COND_INIT, copy;
	weft_mutex_t m = WEFT_MUTEX_INIT, mcopy;
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	EV(weft_cancel(&tok));
	EV(weft_mutex_lock(&m));
	SNAPSHOT(c, copy);
	SNAPSHOT(m, mcopy);
	FOR_EACH_BAD_DEADLINE(i)
	{
		if (bad_deadline(i) == NULL)
			continue; /* NULL: no deadline */
		CHECK_STATUS(E(weft_cond_wait_ctx(&c, &m, bad_deadline(i), &tok)), WEFT_EINVAL);
		CHECK(UNCHANGED(c, copy));
		CHECK(UNCHANGED(m, mcopy));
	}
	/* WEFT_OK is a spurious wake-up here (documented), never an error */
	int rc = E(weft_cond_wait_ctx(&c, &m, NULL, &tok));
	CHECK(rc == WEFT_ECANCELED || rc == WEFT_OK);
	rc = E(weft_cond_wait_ctx(&c, &m, &past, NULL));
	CHECK(rc == WEFT_ETIMEDOUT || rc == WEFT_OK);
	CHECK(!E(weft_mutex_trylock(&m))); /* held again */
	CHECK_EQ(c.waiters & WEFT_COND_COUNT_MASK, 0);
	EV(weft_mutex_unlock(&m));
	/* no deadline, no token: woken by a notifier */
	pthread_t t;
	cw_flag = 0;
	EV(weft_mutex_lock(&cw_mutex));
	CHECK_EQ(pthread_create(&t, NULL, cw_notifier, NULL), 0);
	while (!cw_flag)
		CHECK_STATUS(E(weft_cond_wait_ctx(&cw_cond, &cw_mutex, NULL, NULL)), WEFT_OK);
	EV(weft_mutex_unlock(&cw_mutex));
	pthread_join(t, NULL);
	EV(weft_cancel_destroy(&tok));
	EV(weft_cond_destroy(&c));
}

/* ==== sem.h ================================================================ */

static void test_sem(void)
{
	unsigned prev = E(weft_sem_set_spin(0));
	CHECK_EQ(E(weft_sem_set_spin(prev)), 0);

	for (int f = 0; f < 2; f++) {
		unsigned flags = f ? WEFT_PSHARED : 0u;
		weft_sem_t s = WEFT_SEM_INIT(7), copy;
		const struct {
			unsigned value, flags;
		} bad[] = {{0, 0x2u}, {1, ~0u}, {0, WEFT_PSHARED | 0x8u}, {WEFT_SEM_VALUE_MAX + 1u, flags}, {UINT_MAX, flags}};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			SNAPSHOT(s, copy);
			CHECK_STATUS(E(weft_sem_init(&s, bad[i].value, bad[i].flags)), WEFT_EINVAL);
			CHECK(UNCHANGED(s, copy));
		}
		CHECK_EQ(E(weft_sem_value(&s)), 7);
		EV(weft_sem_wait(&s));
		CHECK_EQ(E(weft_sem_value(&s)), 6);

		/* at the maximum: every post that would pass it changes nothing */
		CHECK_STATUS(E(weft_sem_init(&s, WEFT_SEM_VALUE_MAX, flags)), WEFT_OK);
		SNAPSHOT(s, copy);
		CHECK_STATUS(E(weft_sem_post(&s)), WEFT_EOVERFLOW);
		CHECK_STATUS(E(weft_sem_post_n(&s, 1)), WEFT_EOVERFLOW);
		CHECK_STATUS(E(weft_sem_post_n(&s, UINT_MAX)), WEFT_EOVERFLOW);
		CHECK(UNCHANGED(s, copy));
		CHECK_STATUS(E(weft_sem_post_n(&s, 0)), WEFT_OK);
		CHECK_EQ(E(weft_sem_value(&s)), (long)WEFT_SEM_VALUE_MAX);
		CHECK(E(weft_sem_trywait(&s))); /* usable: take one, give it back */
		CHECK_STATUS(E(weft_sem_post(&s)), WEFT_OK);
		CHECK_EQ(E(weft_sem_value(&s)), (long)WEFT_SEM_VALUE_MAX);

		/* below the maximum: post_n that would pass it */
		CHECK_STATUS(E(weft_sem_init(&s, 5, flags)), WEFT_OK);
		SNAPSHOT(s, copy);
		CHECK_STATUS(E(weft_sem_post_n(&s, WEFT_SEM_VALUE_MAX - 5u + 1u)), WEFT_EOVERFLOW);
		CHECK_STATUS(E(weft_sem_post_n(&s, WEFT_SEM_VALUE_MAX + 1u)), WEFT_EOVERFLOW);
		CHECK_STATUS(E(weft_sem_post_n(&s, UINT_MAX)), WEFT_EOVERFLOW);
		CHECK(UNCHANGED(s, copy));
		CHECK_STATUS(E(weft_sem_post_n(&s, WEFT_SEM_VALUE_MAX - 5u)), WEFT_OK); /* exactly to the max */
		CHECK_EQ(E(weft_sem_value(&s)), (long)WEFT_SEM_VALUE_MAX);

		/* empty: trywait and timed waits fail and take nothing */
		CHECK_STATUS(E(weft_sem_init(&s, 0, flags)), WEFT_OK);
		SNAPSHOT(s, copy);
		CHECK(!E(weft_sem_trywait(&s)));
		FOR_EACH_BAD_DEADLINE(i)
		CHECK_STATUS(E(weft_sem_timedwait(&s, bad_deadline(i))), WEFT_EINVAL);
		CHECK_STATUS(E(weft_sem_timedwait(&s, &past)), WEFT_ETIMEDOUT);
		for (size_t i = 0; i < N_BAD_DEADLINES; i++) /* the malformed ones; NULL is none here */
			CHECK_STATUS(E(weft_sem_wait_ctx(&s, bad_deadline(i), NULL)), WEFT_EINVAL);
		CHECK_STATUS(E(weft_sem_wait_ctx(&s, &past, NULL)), WEFT_ETIMEDOUT);
		{
			weft_cancel_t gone = WEFT_CANCEL_INIT;
			weft_cancel(&gone);
			CHECK_STATUS(E(weft_sem_wait_ctx(&s, NULL, &gone)), WEFT_ECANCELED);
			CHECK(UNCHANGED(s, copy));
			CHECK_STATUS(E(weft_sem_post(&s)), WEFT_OK);
			CHECK_STATUS(E(weft_sem_wait_ctx(&s, NULL, &gone)), WEFT_OK); /* a unit: token not read */
			weft_cancel_destroy(&gone);
		}
		CHECK(UNCHANGED(s, copy));
		struct timespec d = soon();
		CHECK_STATUS(E(weft_sem_timedwait(&s, &d)), WEFT_ETIMEDOUT);
		CHECK_EQ(E(weft_sem_value(&s)), 0);
		CHECK_EQ(s.waiters, 0);

		/* one unit: malformed deadlines still take nothing; a past one takes it */
		CHECK_STATUS(E(weft_sem_post(&s)), WEFT_OK);
		FOR_EACH_BAD_DEADLINE(i)
		CHECK_STATUS(E(weft_sem_timedwait(&s, bad_deadline(i))), WEFT_EINVAL);
		CHECK_EQ(E(weft_sem_value(&s)), 1);
		CHECK_STATUS(E(weft_sem_timedwait(&s, &past)), WEFT_OK);
		CHECK_EQ(E(weft_sem_value(&s)), 0);
		CHECK_STATUS(E(weft_sem_post_n(&s, 2)), WEFT_OK);
		EV(weft_sem_wait(&s));
		EV(weft_sem_wait(&s));
		CHECK_EQ(E(weft_sem_value(&s)), 0);
		EV(weft_sem_destroy(&s));
	}
	weft_sem_t zero;
	memset(&zero, 0, sizeof(zero));
	CHECK_EQ(E(weft_sem_value(&zero)), 0);
	CHECK(!E(weft_sem_trywait(&zero)));
	EV(weft_sem_destroy(&zero));
}

/* ==== once.h, barrier.h, latch.h =========================================== */

static int once_calls, other_calls;
static weft_once_t once_flag = WEFT_ONCE_INIT;
static weft_once_t recursive_flag = WEFT_ONCE_INIT;

static void once_fn(void)
{
	once_calls++;
}
static void other_fn(void)
{
	other_calls++;
}
static void recursive_fn(void)
{
	EV(weft_once(&recursive_flag, recursive_fn));
}
static void recursive_child(void)
{
	EV(weft_once(&recursive_flag, recursive_fn));
}

static void test_once(void)
{
	weft_once_t zero;
	memset(&zero, 0, sizeof(zero));
	CHECK(!E(weft_once_done(&zero)));
	CHECK(!E(weft_once_done(&once_flag)));
	EV(weft_once(&once_flag, once_fn));
	EV(weft_once(&once_flag, once_fn));
	EV(weft_once(&once_flag, other_fn)); /* done: not called, whatever the function */
	CHECK_EQ(once_calls, 1);
	CHECK_EQ(other_calls, 0);
	CHECK(E(weft_once_done(&once_flag)));
	EV(weft_once(&zero, other_fn));
	CHECK_EQ(other_calls, 1);
	/* the one misuse it can see: fn calling weft_once() on its own flag
	 * aborts in every build (also in test_once_barrier_latch.c) */
	CHECK(check_child_aborts(recursive_child, "called again from its own function"));
}

static void test_barrier(void)
{
	weft_barrier_t b = WEFT_BARRIER_INIT(1), copy;
	CHECK(E(weft_barrier_wait(&b))); /* count 1: every caller is the last */
	CHECK(E(weft_barrier_wait(&b)));
	SNAPSHOT(b, copy);
	CHECK_STATUS(E(weft_barrier_init(&b, 0)), WEFT_EINVAL);
	CHECK(UNCHANGED(b, copy));
	CHECK(E(weft_barrier_wait(&b)));
	CHECK_EQ(b.arrived & WEFT_BARRIER_COUNT_MASK, 0); /* bit 31: the phase parity */
	SNAPSHOT(b, copy);
	CHECK_STATUS(E(weft_barrier_init(&b, UINT_MAX)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_barrier_init(&b, WEFT_BARRIER_MAX + 1u)), WEFT_EINVAL);
	CHECK(UNCHANGED(b, copy));
	CHECK_STATUS(E(weft_barrier_init(&b, WEFT_BARRIER_MAX)), WEFT_OK);
	CHECK_EQ(b.count, WEFT_BARRIER_MAX);
	CHECK_STATUS(E(weft_barrier_init(&b, 1)), WEFT_OK);
	CHECK(E(weft_barrier_wait(&b)));
	/* weft_barrier_wait_ctx(): the last arrival ignores token and deadline */
	weft_cancel_t tok = WEFT_CANCEL_INIT;
	EV(weft_cancel(&tok));
	bool serial = false;
	CHECK_STATUS(E(weft_barrier_wait_ctx(&b, &serial, &past, &tok)), WEFT_OK);
	CHECK(serial);
	CHECK_STATUS(E(weft_barrier_wait_ctx(&b, NULL, NULL, NULL)), WEFT_OK);
	/* a first arrival of two: a malformed deadline does not arrive; a
	 * cancel or timeout withdraws the arrival */
	CHECK_STATUS(E(weft_barrier_init(&b, 2)), WEFT_OK);
	SNAPSHOT(b, copy);
	FOR_EACH_BAD_DEADLINE(i)
	{
		if (bad_deadline(i) == NULL)
			continue; /* NULL: no deadline */
		CHECK_STATUS(E(weft_barrier_wait_ctx(&b, &serial, bad_deadline(i), &tok)), WEFT_EINVAL);
		CHECK(UNCHANGED(b, copy));
	}
	CHECK_STATUS(E(weft_barrier_wait_ctx(&b, &serial, NULL, &tok)), WEFT_ECANCELED);
	CHECK(!serial);
	CHECK_STATUS(E(weft_barrier_wait_ctx(&b, &serial, &past, NULL)), WEFT_ETIMEDOUT);
	CHECK_EQ(b.arrived & WEFT_BARRIER_COUNT_MASK, 0);
	CHECK_EQ(b.phase & ~WEFT_BARRIER_SLEEPERS, 0);
	EV(weft_cancel_destroy(&tok));
	EV(weft_barrier_destroy(&b));
}

static void test_latch(void)
{
	weft_latch_t l = WEFT_LATCH_INIT(3), copy;
	const unsigned bad_counts[] = {WEFT_LATCH_MAX + 1u, 0x80000000u, UINT_MAX};
	for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
		SNAPSHOT(l, copy);
		CHECK_STATUS(E(weft_latch_init(&l, bad_counts[i])), WEFT_EINVAL);
		CHECK(UNCHANGED(l, copy));
	}
	/* below zero is an error, not a wrap; nothing changes */
	SNAPSHOT(l, copy);
	CHECK_STATUS(E(weft_latch_count_down(&l, 4)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_latch_count_down(&l, UINT_MAX)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_latch_count_down(&l, WEFT_LATCH_MAX + 1u)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_latch_count_down(&l, 0)), WEFT_OK);
	CHECK(UNCHANGED(l, copy));
	CHECK(!E(weft_latch_try_wait(&l)));
	/* closed: malformed deadlines, then past and near ones */
	FOR_EACH_BAD_DEADLINE(i)
	CHECK_STATUS(E(weft_latch_timedwait(&l, bad_deadline(i))), WEFT_EINVAL);
	CHECK_STATUS(E(weft_latch_timedwait(&l, &past)), WEFT_ETIMEDOUT);
	struct timespec d = soon();
	CHECK_STATUS(E(weft_latch_timedwait(&l, &d)), WEFT_ETIMEDOUT);
	CHECK_EQ(l.state & WEFT_LATCH_COUNT_MASK, 3u); /* the timed-out waiter may leave WAITERS set */
	CHECK_STATUS(E(weft_latch_count_down(&l, 2)), WEFT_OK);
	CHECK_STATUS(E(weft_latch_count_down(&l, 2)), WEFT_EINVAL);
	CHECK_EQ(l.state & WEFT_LATCH_COUNT_MASK, 1u);
	CHECK_STATUS(E(weft_latch_count_down(&l, 1)), WEFT_OK);
	CHECK_EQ(l.state, 0u);
	/* open: counting down further is below zero too */
	CHECK_STATUS(E(weft_latch_count_down(&l, 1)), WEFT_EINVAL);
	CHECK_EQ(l.state, 0u);
	CHECK(E(weft_latch_try_wait(&l)));
	EV(weft_latch_wait(&l));
	{
		/* weft_latch_wait_ctx(): an open latch ignores token and deadline */
		weft_cancel_t tok = WEFT_CANCEL_INIT;
		EV(weft_cancel(&tok));
		CHECK_STATUS(E(weft_latch_wait_ctx(&l, &past, &tok)), WEFT_OK);
		CHECK_STATUS(E(weft_latch_wait_ctx(&l, NULL, NULL)), WEFT_OK);
		weft_latch_t closed = WEFT_LATCH_INIT(1), lcopy;
		SNAPSHOT(closed, lcopy);
		FOR_EACH_BAD_DEADLINE(i)
		{
			if (bad_deadline(i) == NULL)
				continue; /* NULL: no deadline */
			CHECK_STATUS(E(weft_latch_wait_ctx(&closed, bad_deadline(i), &tok)), WEFT_EINVAL);
			CHECK(UNCHANGED(closed, lcopy));
		}
		CHECK_STATUS(E(weft_latch_wait_ctx(&closed, NULL, &tok)), WEFT_ECANCELED);
		CHECK_STATUS(E(weft_latch_wait_ctx(&closed, &past, NULL)), WEFT_ETIMEDOUT);
		CHECK_EQ(closed.state & WEFT_LATCH_COUNT_MASK, 1);
		EV(weft_cancel_destroy(&tok));
	}
	FOR_EACH_BAD_DEADLINE(i)
	CHECK_STATUS(E(weft_latch_timedwait(&l, bad_deadline(i))), WEFT_EINVAL);
	CHECK_STATUS(E(weft_latch_timedwait(&l, &past)), WEFT_OK);
	/* the largest count, and all-zero (an open latch) */
	CHECK_STATUS(E(weft_latch_init(&l, WEFT_LATCH_MAX)), WEFT_OK);
	CHECK_STATUS(E(weft_latch_count_down(&l, WEFT_LATCH_MAX)), WEFT_OK);
	CHECK(E(weft_latch_try_wait(&l)));
	CHECK_STATUS(E(weft_latch_init(&l, 0)), WEFT_OK);
	CHECK(E(weft_latch_try_wait(&l)));
	EV(weft_latch_destroy(&l));
	weft_latch_t zero;
	memset(&zero, 0, sizeof(zero));
	EV(weft_latch_wait(&zero));
	CHECK(E(weft_latch_try_wait(&zero)));
}

/* ==== counter.h ============================================================ */

static void test_counter(void)
{
	weft_counter_t c = WEFT_COUNTER_INIT;
	CHECK_EQ(E(weft_counter_load(&c)), 0);
	EV(weft_counter_store(&c, 42));
	for (size_t i = 0; i < N_BAD_FLAGS; i++)
		CHECK_STATUS(E(weft_counter_init(&c, bad_flags[i])), WEFT_EINVAL);
	CHECK_EQ(E(weft_counter_load(&c)), 42); /* untouched */
	CHECK_STATUS(E(weft_counter_init(&c, WEFT_PSHARED)), WEFT_OK);
	CHECK_EQ(E(weft_counter_load(&c)), 0);

	/* no error return: arithmetic wraps modulo 2^64 */
	EV(weft_counter_store(&c, UINT64_MAX));
	CHECK(E(weft_counter_inc(&c)) == UINT64_MAX);
	CHECK(E(weft_counter_load(&c)) == 0);
	CHECK(E(weft_counter_dec(&c)) == 0);
	CHECK(E(weft_counter_load_acquire(&c)) == UINT64_MAX);
	CHECK(E(weft_counter_add(&c, 2)) == UINT64_MAX);
	CHECK(E(weft_counter_add_release(&c, UINT64_MAX)) == 1);
	CHECK(E(weft_counter_add_acq_rel(&c, 1)) == 0);
	CHECK(E(weft_counter_sub(&c, 2)) == 1);
	CHECK(E(weft_counter_sub_release(&c, UINT64_MAX)) == UINT64_MAX);
	CHECK(E(weft_counter_sub_acq_rel(&c, 1)) == 0);
	CHECK(E(weft_counter_dec_release(&c)) == UINT64_MAX);
	CHECK(E(weft_counter_dec_acq_rel(&c)) == UINT64_MAX - 1);
	EV(weft_counter_store_release(&c, 5));
	CHECK(E(weft_counter_exchange(&c, UINT64_MAX)) == 5);
	CHECK(E(weft_counter_exchange_acq_rel(&c, 0)) == UINT64_MAX);

	/* a failed compare-and-swap reports the value and changes nothing */
	EV(weft_counter_store(&c, 7));
	uint64_t expected = 8;
	CHECK(!E(weft_counter_cas(&c, &expected, 100)));
	CHECK(expected == 7);
	CHECK(E(weft_counter_load(&c)) == 7);
	expected = UINT64_MAX;
	CHECK(!E(weft_counter_cas_acq_rel(&c, &expected, 100)));
	CHECK(expected == 7);
	CHECK(E(weft_counter_cas_acq_rel(&c, &expected, 9)));
	CHECK(E(weft_counter_cas(&c, &expected, 9)) == false && expected == 9);
	CHECK(E(weft_counter_cas(&c, &expected, 10)));
	CHECK(E(weft_counter_load(&c)) == 10);
	EV(weft_counter_destroy(&c));
}

static weft_scounter_t dead_sc;

static void read_dead(void)
{
	(void)E(weft_scounter_read(&dead_sc));
}
static void read_approx_dead(void)
{
	(void)E(weft_scounter_read_approx(&dead_sc));
}

static void test_scounter(void)
{
	const unsigned bad_slots[] = {0, WEFT_SCOUNTER_SLOTS_MAX + 1u, UINT_MAX};
	for (size_t i = 0; i < sizeof(bad_slots) / sizeof(bad_slots[0]); i++) {
		CHECK_EQ(E(weft_scounter_bytes(bad_slots[i])), 0);
		weft_scounter_t sc;
		memset(&sc, 0xA5, sizeof(sc));
		CHECK_STATUS(E(weft_scounter_init_n(&sc, bad_slots[i])), WEFT_EINVAL);
		CHECK_EQ(sc.id, 0); /* documented: left uninitialized, id 0 */
		EV(weft_scounter_destroy(&sc)); /* and so destroy is a no-op */
	}
	CHECK_EQ(E(weft_scounter_bytes(1)), 64 * 4);
	CHECK_EQ(E(weft_scounter_bytes(WEFT_SCOUNTER_SLOTS_MAX)), 64 * (WEFT_SCOUNTER_SLOTS_MAX + 3));

	const unsigned good_slots[] = {1, WEFT_SCOUNTER_SLOTS_MAX};
	for (size_t i = 0; i < 2; i++) {
		weft_scounter_t sc;
		CHECK_STATUS(E(weft_scounter_init_n(&sc, good_slots[i])), WEFT_OK);
		CHECK_NE(sc.id, 0);
		CHECK_EQ(E(weft_scounter_slots_in_use(&sc)), 0);
		CHECK_EQ(E(weft_scounter_read(&sc)), 0);
		EV(weft_scounter_dec(&sc)); /* below zero: a signed sum */
		CHECK_EQ(E(weft_scounter_read(&sc)), -1);
		CHECK_EQ(E(weft_scounter_slots_in_use(&sc)), 1);
		EV(weft_scounter_add(&sc, INT64_MAX));
		EV(weft_scounter_add(&sc, 2)); /* wraps modulo 2^64 */
		CHECK(E(weft_scounter_read(&sc)) == INT64_MIN);
		EV(weft_scounter_add(&sc, INT64_MIN)); /* back to 0 */
		EV(weft_scounter_inc(&sc));
		CHECK_EQ(E(weft_scounter_read(&sc)), 1);
		int64_t approx = E(weft_scounter_read_approx(&sc));
		/* a value the counter has held lately */
		CHECK(approx == 1 || approx == 0 || approx == -1 || approx == INT64_MAX - 1 || approx == INT64_MIN);
		EV(weft_scounter_destroy(&sc));
		CHECK_EQ(sc.id, 0);
		EV(weft_scounter_destroy(&sc)); /* twice: a no-op */
	}
	/* reading a counter never initialized, or destroyed, aborts in every build */
	char expect[160];
	snprintf(expect, sizeof(expect), "weft: weft_scounter_t %p: read before weft_scounter_init() or after destroy",
		 (void *)&dead_sc);
	CHECK(check_child_aborts(read_dead, expect));
	CHECK(check_child_aborts(read_approx_dead, expect));
	CHECK_STATUS(E(weft_scounter_init(&dead_sc)), WEFT_OK);
	EV(weft_scounter_destroy(&dead_sc));
	CHECK(check_child_aborts(read_dead, expect));
	CHECK(check_child_aborts(read_approx_dead, expect));

	weft_scounter_t zero;
	memset(&zero, 0, sizeof(zero));
	EV(weft_scounter_destroy(&zero));
	CHECK_STATUS(E(weft_scounter_init(&zero)), WEFT_OK); /* usable after all of it */
	EV(weft_scounter_inc(&zero));
	CHECK_EQ(E(weft_scounter_read(&zero)), 1);
	EV(weft_scounter_destroy(&zero));
}

/* ==== pool.h =============================================================== */

struct pool_args {
	size_t obj_size, align, capacity;
};

/* Sizes every pool function must refuse (bytes 0, create/init NULL). */
static const struct pool_args bad_pool_args[] = {
	{0, 0, 16},
	{8, 0, 0},
	{SIZE_MAX, 0, 16},
	{SIZE_MAX - 15, 16, 2},       /* capacity * stride overflows */
	{SIZE_MAX / 2, 0, 4},         /* likewise */
	{8, 0, SIZE_MAX},
	{8, 3, 16},                   /* align not a power of two */
	{8, 6, 16},
	{8, 8192, 16},                /* above WEFT_POOL_ALIGN_MAX */
	{8, (size_t)1 << (sizeof(size_t) * 8 - 1), 16},
	{8, SIZE_MAX, 16},
#if SIZE_MAX > 0xFFFFFFFFu
	{8, 0, (size_t)WEFT_POOL_CAPACITY_MAX + 1},
	{1, 0, (size_t)1 << 40},
#endif
};
#define N_BAD_POOL_ARGS (sizeof(bad_pool_args) / sizeof(bad_pool_args[0]))

static const unsigned bad_pool_flags[] = {0x2u, 0x200u, 0x80000000u, ~0u, WEFT_POOL_NOCACHE | 0x4u};
#define N_BAD_POOL_FLAGS (sizeof(bad_pool_flags) / sizeof(bad_pool_flags[0]))

static void test_pool_args(void)
{
	for (size_t i = 0; i < N_BAD_POOL_ARGS; i++) {
		const struct pool_args *a = &bad_pool_args[i];
		CHECK_EQ(E(weft_pool_bytes_aligned(a->obj_size, a->align, a->capacity)), 0);
		CHECK(E(weft_pool_create_aligned(a->obj_size, a->align, a->capacity, 0)) == NULL);
		CHECK(E(weft_pool_create_aligned(a->obj_size, a->align, a->capacity, WEFT_PSHARED)) == NULL);
		if (a->align == 0) {
			CHECK_EQ(E(weft_pool_bytes(a->obj_size, a->capacity)), 0);
			CHECK(E(weft_pool_create(a->obj_size, a->capacity, 0)) == NULL);
		}
	}
	for (size_t i = 0; i < N_BAD_POOL_FLAGS; i++) {
		CHECK(E(weft_pool_create(16, 64, bad_pool_flags[i])) == NULL);
		CHECK(E(weft_pool_create_aligned(16, 64, 64, bad_pool_flags[i])) == NULL);
	}
	/* the boundaries that are valid */
	CHECK_GT(E(weft_pool_bytes(1, WEFT_POOL_CAPACITY_MAX)), 0);
	CHECK_EQ(E(weft_pool_bytes_aligned(1, WEFT_POOL_ALIGN_MAX, 1)) % WEFT_CACHE_LINE, 0);
	CHECK_GT(E(weft_pool_bytes_aligned(1, 1, 1)), 0);
	weft_pool_t *p = E(weft_pool_create_aligned(1, WEFT_POOL_ALIGN_MAX, 2, 0));
	CHECK(p != NULL);
	if (p != NULL) {
		void *o = E(weft_pool_get(p));
		CHECK(o != NULL && (uintptr_t)o % WEFT_POOL_ALIGN_MAX == 0);
		EV(weft_pool_put(p, o));
		EV(weft_pool_destroy(p));
	}
}

static void test_pool_init_at(void)
{
	const size_t bytes = E(weft_pool_bytes_aligned(32, 128, 64));
	CHECK_GT(bytes, 0);
	/* 256-aligned storage, so that +64 is 64- but not 128-aligned */
	static unsigned char mem[64 * 1024] __attribute__((aligned(256)));
	static unsigned char copy[sizeof(mem)];
	CHECK_LE(bytes + 256, sizeof(mem));
	memset(mem, 0xA5, sizeof(mem));
	memcpy(copy, mem, sizeof(mem));
	CHECK(E(weft_pool_init_at(NULL, 32, 64, 0)) == NULL);
	CHECK(E(weft_pool_init_at_aligned(NULL, 32, 128, 64, 0)) == NULL);
	CHECK(E(weft_pool_init_at(mem + 8, 32, 64, 0)) == NULL);              /* not 64-aligned */
	CHECK(E(weft_pool_init_at_aligned(mem + 64, 32, 128, 64, 0)) == NULL); /* not 128-aligned */
	for (size_t i = 0; i < N_BAD_POOL_FLAGS; i++) {
		CHECK(E(weft_pool_init_at(mem, 32, 64, bad_pool_flags[i])) == NULL);
		CHECK(E(weft_pool_init_at_aligned(mem, 32, 128, 64, bad_pool_flags[i])) == NULL);
	}
	for (size_t i = 0; i < N_BAD_POOL_ARGS; i++) {
		const struct pool_args *a = &bad_pool_args[i];
		CHECK(E(weft_pool_init_at_aligned(mem, a->obj_size, a->align, a->capacity, 0)) == NULL);
		if (a->align == 0)
			CHECK(E(weft_pool_init_at(mem, a->obj_size, a->capacity, 0)) == NULL);
	}
	CHECK(memcmp(mem, copy, sizeof(mem)) == 0); /* every refusal left the memory untouched */
	weft_pool_t *p = E(weft_pool_init_at_aligned(mem + 128, 32, 128, 64, 0));
	CHECK(p == (weft_pool_t *)(void *)(mem + 128));
	if (p != NULL) {
		void *o = E(weft_pool_get(p));
		CHECK(o != NULL && (uintptr_t)o % 128 == 0);
		EV(weft_pool_put(p, o));
		EV(weft_pool_destroy(p));
	}
}

/* A placement pool used after weft_pool_destroy(): get and put take the slow
 * path (destroy zeroes the id), which aborts in every build. */
static unsigned char dead_pool_mem[64 * 1024] __attribute__((aligned(64)));

static void get_after_destroy(void)
{
	weft_pool_t *p = E(weft_pool_init_at(dead_pool_mem, 16, 4, 0));
	EV(weft_pool_destroy(p));
	(void)E(weft_pool_get(p));
}

static void put_after_destroy(void)
{
	weft_pool_t *p = E(weft_pool_init_at(dead_pool_mem, 64, 64, 0)); /* with caches */
	void *o = E(weft_pool_get(p));
	EV(weft_pool_destroy(p));
	EV(weft_pool_put(p, o));
}

static void test_pool_after_destroy(void)
{
	CHECK_LE(E(weft_pool_bytes(64, 64)), sizeof(dead_pool_mem));
	char expect[128];
	snprintf(expect, sizeof(expect), "weft: weft_pool_t %p: used after weft_pool_destroy()", (void *)dead_pool_mem);
	CHECK(check_child_aborts(get_after_destroy, expect));
	CHECK(check_child_aborts(put_after_destroy, expect));
}

static void check_stats(weft_pool_t *p, size_t in_use)
{
	struct weft_pool_stats st;
	CHECK_STATUS(E(weft_pool_stats(p, &st)), WEFT_OK);
	CHECK_EQ(st.in_use, in_use);
}

static void test_pool_exhaustion(void)
{
	/* capacity 4: no caches; 64 x 64 B: caches (batch 4); NOCACHE; PSHARED */
	const struct {
		size_t obj_size, capacity;
		unsigned flags;
	} cases[] = {{16, 4, 0}, {64, 64, 0}, {64, 64, WEFT_POOL_NOCACHE}, {16, 8, WEFT_PSHARED}};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		weft_pool_t *p = E(weft_pool_create(cases[k].obj_size, cases[k].capacity, cases[k].flags));
		CHECK(p != NULL);
		if (p == NULL)
			continue;
		size_t cap = cases[k].capacity;
		void *objs[64];
		EV(weft_pool_flush(p)); /* nothing cached yet: a no-op */
		for (size_t i = 0; i < cap; i++) {
			objs[i] = E(weft_pool_get(p));
			CHECK(objs[i] != NULL);
			for (size_t j = 0; j < i; j++)
				CHECK(objs[i] != objs[j]);
		}
		check_stats(p, cap);
		/* exhausted: NULL, and nothing changes */
		CHECK(E(weft_pool_get(p)) == NULL);
		CHECK(E(weft_pool_get(p)) == NULL);
		check_stats(p, cap);
		EV(weft_pool_put(p, NULL)); /* a no-op */
		check_stats(p, cap);
		/* stats: both NULL arguments refused, out untouched */
		struct weft_pool_stats st, st_copy;
		memset(&st, 0xA5, sizeof(st));
		SNAPSHOT(st, st_copy);
		CHECK_STATUS(E(weft_pool_stats(NULL, &st)), WEFT_EINVAL);
		CHECK_STATUS(E(weft_pool_stats(p, NULL)), WEFT_EINVAL);
		CHECK_STATUS(E(weft_pool_stats(NULL, NULL)), WEFT_EINVAL);
		CHECK(UNCHANGED(st, st_copy));
		/* usable: one back, one out again; then all back and out again */
		EV(weft_pool_put(p, objs[0]));
		check_stats(p, cap - 1);
		objs[0] = E(weft_pool_get(p));
		CHECK(objs[0] != NULL);
		CHECK(E(weft_pool_get(p)) == NULL);
		for (size_t i = 0; i < cap; i++)
			EV(weft_pool_put(p, objs[i]));
		EV(weft_pool_flush(p));
		CHECK_STATUS(E(weft_pool_stats(p, &st)), WEFT_OK);
		CHECK_EQ(st.in_use, 0);
		CHECK_EQ(st.cached, 0);
		CHECK_EQ(st.capacity, cap);
		for (size_t i = 0; i < cap; i++)
			CHECK((objs[i] = E(weft_pool_get(p))) != NULL);
		check_stats(p, cap);
		for (size_t i = 0; i < cap; i++)
			EV(weft_pool_put(p, objs[i]));
		EV(weft_pool_destroy(p));
	}
	EV(weft_pool_destroy(NULL)); /* a no-op */
}

/* ==== mpmc.h =============================================================== */

static const size_t bad_caps[] = {0, 1, 3, 6, 1000, WEFT_MPMC_CAPACITY_MAX * 2,
				  (size_t)1 << (sizeof(size_t) * 8 - 1), SIZE_MAX};
#define N_BAD_CAPS (sizeof(bad_caps) / sizeof(bad_caps[0]))

static void test_mpmc_args(void)
{
	for (size_t i = 0; i < N_BAD_CAPS; i++) {
		CHECK_STATUS(E(weft_mpmc_validate(bad_caps[i], 0)), WEFT_EINVAL);
		CHECK_EQ(E(weft_mpmc_bytes(bad_caps[i])), 0);
		CHECK(E(weft_mpmc_create(bad_caps[i], 0)) == NULL);
	}
	for (size_t i = 0; i < N_BAD_FLAGS; i++) {
		CHECK_STATUS(E(weft_mpmc_validate(4, bad_flags[i])), WEFT_EINVAL);
		CHECK(E(weft_mpmc_create(4, bad_flags[i])) == NULL);
	}
	CHECK_STATUS(E(weft_mpmc_validate(WEFT_MPMC_CAPACITY_MIN, 0)), WEFT_OK);
	CHECK_STATUS(E(weft_mpmc_validate(WEFT_MPMC_CAPACITY_MAX, WEFT_PSHARED)), WEFT_OK);
	CHECK_EQ(E(weft_mpmc_bytes(2)), 256);
	CHECK_GT(E(weft_mpmc_bytes(WEFT_MPMC_CAPACITY_MAX)), 0);

	static unsigned char mem[4096] __attribute__((aligned(64)));
	static unsigned char copy[sizeof(mem)];
	memset(mem, 0xA5, sizeof(mem));
	memcpy(copy, mem, sizeof(mem));
	CHECK(E(weft_mpmc_init_at(NULL, 4, 0)) == NULL);
	CHECK(E(weft_mpmc_init_at(mem + 8, 4, 0)) == NULL);
	CHECK(E(weft_mpmc_init_at(mem + 32, 4, 0)) == NULL);
	for (size_t i = 0; i < N_BAD_CAPS; i++)
		CHECK(E(weft_mpmc_init_at(mem, bad_caps[i], 0)) == NULL);
	for (size_t i = 0; i < N_BAD_FLAGS; i++)
		CHECK(E(weft_mpmc_init_at(mem, 4, bad_flags[i])) == NULL);
	CHECK(memcmp(mem, copy, sizeof(mem)) == 0);
	weft_mpmc_t *q = E(weft_mpmc_init_at(mem + 64, 4, WEFT_PSHARED));
	CHECK(q == (weft_mpmc_t *)(void *)(mem + 64));
	if (q != NULL) {
		void *v = NULL;
		CHECK(E(weft_mpmc_try_push(q, (void *)(uintptr_t)3)));
		CHECK(E(weft_mpmc_try_pop(q, &v)) && v == (void *)(uintptr_t)3);
		EV(weft_mpmc_destroy(q));
	}
	EV(weft_mpmc_destroy(NULL)); /* a no-op */
}

#define VAL(i) ((void *)(uintptr_t)(0x1000 + (i)))

/* Pops everything from @q and checks it is exactly VAL(first) .. VAL(first + n - 1). */
static void drain_in_order(weft_mpmc_t *q, size_t first, size_t n)
{
	CHECK_EQ(E(weft_mpmc_size_approx(q)), n);
	for (size_t i = 0; i < n; i++) {
		void *v = NULL;
		CHECK(E(weft_mpmc_try_pop(q, &v)));
		CHECK(v == VAL(first + i));
	}
	CHECK_EQ(E(weft_mpmc_size_approx(q)), 0);
}

static void test_mpmc_full_empty(void)
{
	unsigned prev = E(weft_mpmc_set_spin(0));
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: no spinning, so the timed calls sleep at once; 1: default */
		E(weft_mpmc_set_spin(pass ? prev : 0u));
		weft_mpmc_t *q = E(weft_mpmc_create(2, 0));
		CHECK(q != NULL);
		if (q == NULL)
			return;
		void *v = NULL;
		/* empty */
		CHECK(!E(weft_mpmc_try_pop(q, &v)));
		FOR_EACH_BAD_DEADLINE(i)
		CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, bad_deadline(i))), WEFT_EINVAL);
		CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, &past)), WEFT_ETIMEDOUT);
		struct timespec d = soon();
		CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, &d)), WEFT_ETIMEDOUT);
		CHECK_EQ(E(weft_mpmc_size_approx(q)), 0);
		/* full; the values stay in order through every failure */
		CHECK_STATUS(E(weft_mpmc_timedpush(q, VAL(0), &past)), WEFT_OK); /* room: a past deadline is fine */
		CHECK_STATUS(E(weft_mpmc_push(q, VAL(1))), WEFT_OK);
		CHECK(!E(weft_mpmc_try_push(q, VAL(99))));
		FOR_EACH_BAD_DEADLINE(i)
		CHECK_STATUS(E(weft_mpmc_timedpush(q, VAL(99), bad_deadline(i))), WEFT_EINVAL);
		CHECK_STATUS(E(weft_mpmc_timedpush(q, VAL(99), &past)), WEFT_ETIMEDOUT);
		d = soon();
		CHECK_STATUS(E(weft_mpmc_timedpush(q, VAL(99), &d)), WEFT_ETIMEDOUT);
		CHECK(!E(weft_mpmc_is_closed(q)));
		CHECK_EQ(E(weft_mpmc_capacity(q)), 2);
		CHECK_EQ(E(weft_mpmc_size_approx(q)), 2);
		/* a malformed deadline on a queue with a value takes nothing */
		FOR_EACH_BAD_DEADLINE(i)
		CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, bad_deadline(i))), WEFT_EINVAL);
		drain_in_order(q, 0, 2);
		/* usable: laps on, FIFO intact */
		for (size_t i = 2; i < 9; i++) {
			CHECK(E(weft_mpmc_try_push(q, VAL(i))));
			CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, &past)), WEFT_OK);
			CHECK(v == VAL(i));
		}
		/* NULL is a value like any other */
		CHECK(E(weft_mpmc_try_push(q, NULL)));
		v = VAL(0);
		CHECK_STATUS(E(weft_mpmc_pop(q, &v)), WEFT_OK);
		CHECK(v == NULL);
		EV(weft_mpmc_destroy(q));
	}
	CHECK_EQ(E(weft_mpmc_set_spin(prev)), prev);
	/* the backoff bound: any value is accepted, too large ones clamp */
	unsigned prev_backoff = E(weft_mpmc_set_backoff(0));
	CHECK_EQ(prev_backoff, WEFT_MPMC_BACKOFF_DEFAULT);
	CHECK_EQ(E(weft_mpmc_set_backoff(UINT_MAX)), 0);
	CHECK_EQ(E(weft_mpmc_set_backoff(prev_backoff)), WEFT_MPMC_BACKOFF_LIMIT);
	CHECK_EQ(E(weft_mpmc_set_backoff(prev_backoff)), prev_backoff);
}

static void test_mpmc_ctx_select(void)
{
	weft_mpmc_t *q = E(weft_mpmc_create(2, 0)), *r = E(weft_mpmc_create(2, 0));
	CHECK(q != NULL && r != NULL);
	if (q == NULL || r == NULL)
		return;
	weft_cancel_t tok = WEFT_CANCEL_INIT, live = WEFT_CANCEL_INIT;
	EV(weft_cancel(&tok));
	void *v = VAL(77);
	/* empty q: pops refuse, time out, are cancelled; *v untouched */
	for (size_t i = 0; i < N_BAD_DEADLINES; i++)
		CHECK_STATUS(E(weft_mpmc_pop_ctx(q, &v, bad_deadline(i), NULL)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_mpmc_pop_ctx(q, &v, &past, NULL)), WEFT_ETIMEDOUT);
	CHECK_STATUS(E(weft_mpmc_pop_ctx(q, &v, &past, &live)), WEFT_ETIMEDOUT);
	CHECK_STATUS(E(weft_mpmc_pop_ctx(q, &v, NULL, &tok)), WEFT_ECANCELED);
	CHECK(v == VAL(77));
	/* room: a cancelled token is not looked at */
	CHECK_STATUS(E(weft_mpmc_push_ctx(q, VAL(0), NULL, &tok)), WEFT_OK);
	CHECK_STATUS(E(weft_mpmc_push_ctx(q, VAL(1), &past, NULL)), WEFT_OK);
	/* full q */
	for (size_t i = 0; i < N_BAD_DEADLINES; i++)
		CHECK_STATUS(E(weft_mpmc_push_ctx(q, VAL(99), bad_deadline(i), NULL)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_mpmc_push_ctx(q, VAL(99), &past, NULL)), WEFT_ETIMEDOUT);
	CHECK_STATUS(E(weft_mpmc_push_ctx(q, VAL(99), NULL, &tok)), WEFT_ECANCELED);
	drain_in_order(q, 0, 2);

	/* select: bad input takes nothing and writes nothing */
	CHECK_STATUS(E(weft_mpmc_push_ctx(q, VAL(5), NULL, NULL)), WEFT_OK);
	weft_mpmc_case_t c[WEFT_MPMC_SELECT_MAX + 1];
	for (unsigned i = 0; i <= WEFT_MPMC_SELECT_MAX; i++)
		c[i] = (weft_mpmc_case_t){q, WEFT_MPMC_OP_POP, VAL(77)};
	unsigned chosen = 1234;
	CHECK_STATUS(E(weft_mpmc_select(NULL, 1, NULL, NULL, &chosen)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_mpmc_select(c, 1, NULL, NULL, NULL)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_mpmc_select(c, 0, NULL, NULL, &chosen)), WEFT_EINVAL);
	CHECK_STATUS(E(weft_mpmc_select(c, WEFT_MPMC_SELECT_MAX + 1, NULL, NULL, &chosen)), WEFT_EINVAL);
	c[1].queue = NULL;
	CHECK_STATUS(E(weft_mpmc_select(c, 2, NULL, NULL, &chosen)), WEFT_EINVAL);
	c[1].queue = r;
	c[1].op = 2;
	CHECK_STATUS(E(weft_mpmc_select(c, 2, NULL, NULL, &chosen)), WEFT_EINVAL);
	c[1].op = -1;
	CHECK_STATUS(E(weft_mpmc_select(c, 2, NULL, NULL, &chosen)), WEFT_EINVAL);
	c[1].op = WEFT_MPMC_OP_PUSH;
	c[1].item = VAL(6);
	while (E(weft_mpmc_try_push(r, VAL(7))))
		;
	for (size_t i = 0; i < N_BAD_DEADLINES; i++)
		CHECK_STATUS(E(weft_mpmc_select(c, 2, bad_deadline(i), NULL, &chosen)), WEFT_EINVAL);
	CHECK_EQ(chosen, 1234);
	CHECK(c[0].item == VAL(77));
	CHECK_EQ(E(weft_mpmc_size_approx(q)), 1);
	/* pop from q (ready) or push to r (full): the pop */
	CHECK_STATUS(E(weft_mpmc_select(c, 2, &past, &tok, &chosen)), WEFT_OK);
	CHECK_EQ(chosen, 0);
	CHECK(c[0].item == VAL(5));
	/* neither ready */
	CHECK_STATUS(E(weft_mpmc_select(c, 2, &past, NULL, &chosen)), WEFT_ETIMEDOUT);
	CHECK_STATUS(E(weft_mpmc_select(c, 2, NULL, &tok, &chosen)), WEFT_ECANCELED);
	CHECK_EQ(chosen, 0);
	/* closed: reported without waiting, the lowest closed case */
	EV(weft_mpmc_close(r));
	EV(weft_mpmc_close(q));
	CHECK_STATUS(E(weft_mpmc_select(c, 2, NULL, NULL, &chosen)), WEFT_ECLOSED);
	CHECK_EQ(chosen, 0);
	CHECK_STATUS(E(weft_mpmc_select(&c[1], 1, NULL, NULL, &chosen)), WEFT_ECLOSED);
	CHECK_EQ(chosen, 0);
	CHECK_STATUS(E(weft_mpmc_push_ctx(q, VAL(1), NULL, &tok)), WEFT_ECLOSED);
	CHECK_STATUS(E(weft_mpmc_pop_ctx(q, &v, NULL, &tok)), WEFT_ECLOSED);
	CHECK_EQ(E(weft_mpmc_size_approx(r)), 2); /* still full */
	EV(weft_cancel_destroy(&tok));
	EV(weft_cancel_destroy(&live));
	EV(weft_mpmc_destroy(q));
	EV(weft_mpmc_destroy(r));
}

static void test_mpmc_closed(void)
{
	weft_mpmc_t *q = E(weft_mpmc_create(4, 0));
	CHECK(q != NULL);
	if (q == NULL)
		return;
	CHECK_STATUS(E(weft_mpmc_push(q, VAL(0))), WEFT_OK);
	CHECK_STATUS(E(weft_mpmc_push(q, VAL(1))), WEFT_OK);
	CHECK(!E(weft_mpmc_is_closed(q)));
	EV(weft_mpmc_close(q));
	EV(weft_mpmc_close(q)); /* twice: harmless */
	CHECK(E(weft_mpmc_is_closed(q)));
	void *v = NULL;
	/* no push gets in; the values stay */
	CHECK(!E(weft_mpmc_try_push(q, VAL(99))));
	CHECK_STATUS(E(weft_mpmc_push(q, VAL(99))), WEFT_ECLOSED);
	CHECK_STATUS(E(weft_mpmc_timedpush(q, VAL(99), &past)), WEFT_ECLOSED);
	struct timespec d = soon();
	CHECK_STATUS(E(weft_mpmc_timedpush(q, VAL(99), &d)), WEFT_ECLOSED);
	FOR_EACH_BAD_DEADLINE(i)
	{
		CHECK_STATUS(E(weft_mpmc_timedpush(q, VAL(99), bad_deadline(i))), WEFT_EINVAL);
		CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, bad_deadline(i))), WEFT_EINVAL);
	}
	void *vals[2] = {VAL(99), VAL(98)};
	CHECK_EQ(E(weft_mpmc_push_n(q, vals, 2)), 0);
	CHECK_EQ(E(weft_mpmc_size_approx(q)), 2);
	/* pops drain what was pushed before the close, in order */
	CHECK_STATUS(E(weft_mpmc_pop(q, &v)), WEFT_OK);
	CHECK(v == VAL(0));
	CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, &past)), WEFT_OK);
	CHECK(v == VAL(1));
	/* closed and drained */
	CHECK_STATUS(E(weft_mpmc_pop(q, &v)), WEFT_ECLOSED);
	CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, &past)), WEFT_ECLOSED);
	d = soon();
	CHECK_STATUS(E(weft_mpmc_timedpop(q, &v, &d)), WEFT_ECLOSED);
	CHECK(!E(weft_mpmc_try_pop(q, &v)));
	CHECK_EQ(E(weft_mpmc_pop_n(q, vals, 2)), 0);
	CHECK_EQ(E(weft_mpmc_size_approx(q)), 0);
	CHECK_EQ(E(weft_mpmc_capacity(q)), 4);
	EV(weft_mpmc_destroy(q));
}

static void test_mpmc_batches(void)
{
	weft_mpmc_t *q = E(weft_mpmc_create(4, 0));
	CHECK(q != NULL);
	if (q == NULL)
		return;
	void *in[8], *out[8];
	for (size_t i = 0; i < 8; i++)
		in[i] = VAL(i);
	/* NULL arrays and n == 0 move nothing */
	CHECK_EQ(E(weft_mpmc_push_n(q, NULL, 3)), 0);
	CHECK_EQ(E(weft_mpmc_push_n(q, NULL, 0)), 0);
	CHECK_EQ(E(weft_mpmc_push_n(q, in, 0)), 0);
	CHECK_EQ(E(weft_mpmc_pop_n(q, out, 3)), 0); /* empty */
	CHECK_EQ(E(weft_mpmc_size_approx(q)), 0);
	/* n > capacity: clamps to what fits */
	CHECK_EQ(E(weft_mpmc_push_n(q, in, 8)), 4);
	CHECK_EQ(E(weft_mpmc_push_n(q, in + 4, 1)), 0); /* full */
	CHECK(!E(weft_mpmc_try_push(q, VAL(99))));
	CHECK_EQ(E(weft_mpmc_pop_n(q, NULL, 3)), 0);
	CHECK_EQ(E(weft_mpmc_pop_n(q, NULL, 0)), 0);
	CHECK_EQ(E(weft_mpmc_pop_n(q, out, 0)), 0);
	CHECK_EQ(E(weft_mpmc_size_approx(q)), 4);
	CHECK_EQ(E(weft_mpmc_pop_n(q, out, 1)), 1);
	CHECK(out[0] == VAL(0));
	CHECK_EQ(E(weft_mpmc_push_n(q, in + 4, 4)), 1); /* one free slot */
	CHECK_EQ(E(weft_mpmc_pop_n(q, out, 8)), 4);     /* n > capacity */
	for (size_t i = 0; i < 4; i++)
		CHECK(out[i] == VAL(i + 1));
	CHECK_EQ(E(weft_mpmc_size_approx(q)), 0);
	EV(weft_mpmc_destroy(q));
}

/* ==== deadlines no clock reaches =========================================== */

/*
 * A waiter thread makes one timed call with a deadline at the end of time (the
 * largest time_t, and weft_deadline_after_ns(UINT64_MAX)); the main thread
 * lets it through once it sleeps.  The call must really sleep (a backend that
 * choked on the huge timespec would spin or fail) and return WEFT_OK.
 */
struct far_waiter {
	int (*call)(const struct timespec *);
	struct timespec deadline;
	pid_t tid;
	int rc;
	pthread_t thread;
};

static void *far_main(void *arg)
{
	struct far_waiter *w = arg;
	__atomic_store_n(&w->tid, check_gettid(), __ATOMIC_RELEASE);
	w->rc = w->call(&w->deadline);
	return NULL;
}

static void far_run(int (*call)(const struct timespec *), void (*prepare)(void), void (*release)(void))
{
	const struct timespec far[2] = {{TIME_T_MAX, 999999999L}, E(weft_deadline_after_ns(UINT64_MAX))};
	for (int i = 0; i < 2; i++) {
		struct far_waiter w;
		memset(&w, 0, sizeof(w));
		w.call = call;
		w.deadline = far[i];
		w.rc = -1;
		if (prepare)
			prepare();
		CHECK_EQ(pthread_create(&w.thread, NULL, far_main, &w), 0);
		pid_t tid;
		while ((tid = __atomic_load_n(&w.tid, __ATOMIC_ACQUIRE)) == 0)
			sched_yield();
		CHECK(check_wait_until_sleeping(getpid(), tid));
		release();
		pthread_join(w.thread, NULL);
		CHECK_STATUS(w.rc, WEFT_OK);
	}
}

static weft_sem_t far_sem = WEFT_SEM_INIT(0);
static weft_mutex_t far_mutex = WEFT_MUTEX_INIT;
static weft_rwlock_t far_rw = WEFT_RWLOCK_INIT;
static weft_latch_t far_latch = WEFT_LATCH_INIT(1);
static weft_cond_t far_cond = WEFT_COND_INIT;
static weft_mpmc_t *far_q;
static int far_flag;

static int far_sem_call(const struct timespec *d)
{
	return E(weft_sem_timedwait(&far_sem, d));
}
static void far_sem_release(void)
{
	CHECK_STATUS(E(weft_sem_post(&far_sem)), WEFT_OK);
}
static int far_mutex_call(const struct timespec *d)
{
	int rc = E(weft_mutex_timedlock(&far_mutex, d));
	if (rc == WEFT_OK)
		EV(weft_mutex_unlock(&far_mutex));
	return rc;
}
static void far_mutex_prepare(void)
{
	EV(weft_mutex_lock(&far_mutex));
}
static void far_mutex_release(void)
{
	EV(weft_mutex_unlock(&far_mutex));
}
static int far_rd_call(const struct timespec *d)
{
	int rc = E(weft_rwlock_timedrdlock(&far_rw, d));
	if (rc == WEFT_OK)
		EV(weft_rwlock_rdunlock(&far_rw));
	return rc;
}
static int far_wr_call(const struct timespec *d)
{
	int rc = E(weft_rwlock_timedwrlock(&far_rw, d));
	if (rc == WEFT_OK)
		EV(weft_rwlock_wrunlock(&far_rw));
	return rc;
}
static void far_rw_prepare(void)
{
	EV(weft_rwlock_wrlock(&far_rw));
}
static void far_rw_release(void)
{
	EV(weft_rwlock_wrunlock(&far_rw));
}
static int far_latch_call(const struct timespec *d)
{
	return E(weft_latch_timedwait(&far_latch, d));
}
static void far_latch_prepare(void)
{
	CHECK_STATUS(E(weft_latch_init(&far_latch, 1)), WEFT_OK);
}
static void far_latch_release(void)
{
	CHECK_STATUS(E(weft_latch_count_down(&far_latch, 1)), WEFT_OK);
}
static int far_cond_call(const struct timespec *d)
{
	int rc = WEFT_OK;
	EV(weft_mutex_lock(&far_mutex));
	while (!far_flag && rc == WEFT_OK)
		rc = E(weft_cond_timedwait(&far_cond, &far_mutex, d));
	EV(weft_mutex_unlock(&far_mutex));
	return rc;
}
static void far_cond_prepare(void)
{
	far_flag = 0;
}
static void far_cond_release(void)
{
	EV(weft_mutex_lock(&far_mutex));
	far_flag = 1;
	EV(weft_cond_signal(&far_cond));
	EV(weft_mutex_unlock(&far_mutex));
}
static int far_pop_call(const struct timespec *d)
{
	void *v = NULL;
	int rc = E(weft_mpmc_timedpop(far_q, &v, d));
	return rc == WEFT_OK && v != VAL(7) ? -1 : rc;
}
static void far_pop_release(void)
{
	CHECK_STATUS(E(weft_mpmc_push(far_q, VAL(7))), WEFT_OK);
}

static void test_far_deadlines(void)
{
	far_run(far_sem_call, NULL, far_sem_release);
	far_run(far_mutex_call, far_mutex_prepare, far_mutex_release);
	far_run(far_rd_call, far_rw_prepare, far_rw_release);
	far_run(far_wr_call, far_rw_prepare, far_rw_release);
	far_run(far_latch_call, far_latch_prepare, far_latch_release);
	far_run(far_cond_call, far_cond_prepare, far_cond_release);
	far_q = E(weft_mpmc_create(2, 0));
	CHECK(far_q != NULL);
	if (far_q != NULL) {
		far_run(far_pop_call, NULL, far_pop_release);
		EV(weft_mpmc_destroy(far_q));
	}
}

/* ==== out of memory ======================================================== */

#if defined(__SANITIZE_ADDRESS__)
#define BADINPUT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BADINPUT_ASAN 1
#endif
#endif

#ifndef BADINPUT_ASAN
/* Exit statuses of enomem_child(), one per step, so the parent says which failed. */
WEFT_NORETURN static void enomem_fail(int step)
{
	_exit(10 + step);
}

/*
 * In a forked child: cap the address space a little above what the process
 * maps now, then ask for more than that.  Then eat the heap that is left and
 * ask for the small blocks of a sharded counter.  Everything that fails must
 * fail cleanly, and work again once memory is back.
 */
static void enomem_child(void)
{
	long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL || fscanf(f, "%ld", &pages) != 1)
		enomem_fail(0);
	fclose(f);
	struct rlimit rl;
	rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)64 << 20);
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		enomem_fail(1);

	/* valid arguments, no memory: NULL (and validate tells it from EINVAL) */
	if (E(weft_mpmc_validate(WEFT_MPMC_CAPACITY_MAX, 0)) != WEFT_OK)
		enomem_fail(2);
	if (E(weft_mpmc_create(WEFT_MPMC_CAPACITY_MAX, 0)) != NULL)
		enomem_fail(3);
	if (E(weft_pool_bytes(1u << 20, 1024)) == 0)
		enomem_fail(4);
	if (E(weft_pool_create(1u << 20, 1024, 0)) != NULL)
		enomem_fail(5);
	if (E(weft_pool_create_aligned(1u << 20, 4096, 1024, WEFT_PSHARED)) != NULL)
		enomem_fail(6);

	/* take every block the heap can still give, largest first */
	void *hoard = NULL;
	for (size_t size = (size_t)1 << 20; size >= sizeof(void *); size /= 2) {
		void *b;
		while ((b = malloc(size)) != NULL) {
			*(void **)b = hoard;
			hoard = b;
		}
	}
	weft_scounter_t sc;
	memset(&sc, 0xA5, sizeof(sc));
	if (E(weft_scounter_init(&sc)) != WEFT_ENOMEM || sc.id != 0)
		enomem_fail(7);
	memset(&sc, 0xA5, sizeof(sc));
	if (E(weft_scounter_init_n(&sc, 1)) != WEFT_ENOMEM || sc.id != 0)
		enomem_fail(8);
	if (E(weft_mpmc_create(2, 0)) != NULL)
		enomem_fail(9);
	if (E(weft_pool_create(16, 4, 0)) != NULL)
		enomem_fail(10);
	while (hoard != NULL) {
		void *next = *(void **)hoard;
		free(hoard);
		hoard = next;
	}

	/* memory is back: the same calls succeed */
	if (E(weft_scounter_init(&sc)) != WEFT_OK)
		enomem_fail(11);
	EV(weft_scounter_add(&sc, 3));
	if (E(weft_scounter_read(&sc)) != 3)
		enomem_fail(12);
	EV(weft_scounter_destroy(&sc));
	weft_mpmc_t *q = E(weft_mpmc_create(2, 0));
	if (q == NULL)
		enomem_fail(13);
	EV(weft_mpmc_destroy(q));
	weft_pool_t *p = E(weft_pool_create(16, 4, 0));
	if (p == NULL || E(weft_pool_get(p)) == NULL)
		enomem_fail(14);
	EV(weft_pool_destroy(p));
	if (check__test_failed) /* an errno check above failed (its message is on stderr) */
		enomem_fail(15);
}
#endif

static void test_enomem(void)
{
#ifdef BADINPUT_ASAN
	/* ASan reserves terabytes of shadow memory and aborts on a failed
	 * allocation: an address-space limit cannot be tested under it. */
	printf("  (test_enomem skipped under AddressSanitizer)\n");
#else
	CHECK(check_child_runs_clean(enomem_child));
#endif
}

/* ==== the table itself ===================================================== */

static void test_coverage_table(void)
{
	for (size_t i = 0; i < N_COVERAGE; i++) {
		CHECK(strncmp(coverage[i].fn, "weft_", 5) == 0);
		CHECK(strlen(coverage[i].tried) > 0);
		CHECK(strncmp(coverage[i].where, "test_", 5) == 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(coverage[i].fn, coverage[j].fn) != 0);
	}
	printf("  %zu public functions in the coverage table\n", N_COVERAGE);
}

int main(void)
{
	RUN_TEST(test_coverage_table);
	RUN_TEST(test_strerror);
	RUN_TEST(test_deadline);
	RUN_TEST(test_cancel_token);
	RUN_TEST(test_debug);
	RUN_TEST(test_lockdep);
	RUN_TEST(test_spinlocks);
	RUN_TEST(test_mutex);
	RUN_TEST(test_robust_mutex);
	RUN_TEST(test_rwlock);
	RUN_TEST(test_rwlock_readers_max);
	RUN_TEST(test_brlock);
	RUN_TEST(test_cond);
	RUN_TEST(test_cond_wait_init);
	RUN_TEST(test_cond_ctx);
	RUN_TEST(test_sem);
	RUN_TEST(test_once);
	RUN_TEST(test_barrier);
	RUN_TEST(test_latch);
	RUN_TEST(test_counter);
	RUN_TEST(test_scounter);
	RUN_TEST(test_pool_args);
	RUN_TEST(test_pool_init_at);
	RUN_TEST(test_pool_exhaustion);
	RUN_TEST(test_pool_after_destroy);
	RUN_TEST(test_mpmc_args);
	RUN_TEST(test_mpmc_full_empty);
	RUN_TEST(test_mpmc_closed);
	RUN_TEST(test_mpmc_ctx_select);
	RUN_TEST(test_mpmc_batches);
	RUN_TEST(test_far_deadlines);
	RUN_TEST(test_enomem);
	return check_summary();
}
