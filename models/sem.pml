/* SPDX-License-Identifier: MIT */
/*
 * sem.pml - weft_sem_t (include/weft/sem.h, src/sem.c) checked with Spin.
 * docs/models.md explains the model and how to run it.
 *
 * Two scenarios:
 *
 *  SCENARIO_POOL (default): the semaphore starts at SEM_INIT units and
 *  NTHREADS threads each take a unit ITERS times (weft_sem_wait(), or
 *  weft_sem_trywait() when the model checker picks it), hold it, and post it
 *  back.
 *
 *  SCENARIO_HANDOFF: the semaphore starts at 0; threads 1..NTHREADS-1 each
 *  wait for one unit; thread 0 posts NTHREADS-1 units, with one
 *  weft_sem_post_n() or with single posts (the model checker picks).
 *
 * Checked:
 *  - the count never goes negative, and units are conserved: in every state
 *    count >= 0 and count + held == units posted so far + SEM_INIT, where
 *    `held` counts the units taken and not yet posted back (POOL) or taken
 *    at all (HANDOFF);
 *  - no lost wake-up, no deadlock (safety run): every thread finishes, so no
 *    waiter sleeps for good while the count is above zero;
 *  - with -DLIVENESS (SCENARIO_POOL, threads loop forever), under weak
 *    fairness:  progress:  [] <> (held > 0)
 *               woken:     [] (asleep(0) -> <> !asleep(0))   (2 threads)
 *
 * Bug switches (each must make Spin report an error; `make models` checks):
 *   BUG_SEM_POST_READS_WAITERS_FIRST  post reads `waiters` before its CAS
 *                                     (the Dekker pair broken)
 *   BUG_SEM_POST_N_WAKES_ONE          post_n(n) wakes one sleeper, not n
 *   BUG_SEM_WAIT_UNCHECKED            the fast path decrements without
 *                                     checking that the count is positive
 */

#ifndef NTHREADS
#define NTHREADS 3
#endif
#ifndef ITERS
#define ITERS 1
#endif
#ifndef SEM_INIT
#define SEM_INIT 1
#endif
#ifndef SEM_SPIN_MAX
#define SEM_SPIN_MAX 1
#endif
#if !defined(SCENARIO_HANDOFF) && !defined(SCENARIO_POOL)
#define SCENARIO_POOL
#endif

#define NWORDS 2
#define W_SEM 1
short word[NWORDS];     /* signed, so that a negative count would show */

#include "futex.pml"

#define count word[W_SEM]       /* weft_sem_t.value (count bits) */
byte waiters;                   /* weft_sem_t.waiters */
byte held;                      /* units taken and not (yet) posted back */
byte posted;                    /* units posted by thread 0 (HANDOFF) */
byte start;                     /* the initial count */
byte finished;

/* sem_try_take(), src/sem.c:25-36 (weft_sem_trywait(), sem.h:121-131, is the
 * same loop): load, then CAS count -> count - 1 while count > 0.  A failed
 * CAS reloads the word (weak CAS spurious failures only repeat a round and
 * are left out). */
inline sem_try_take(ok)
{
	v = count;                                      /* sem.c:28, relaxed */
	do
	:: v > 0 ->
		atomic {                                /* sem.c:31, CAS acquire */
			if
			:: count == v -> count = v - 1; held++; ok = true
			:: else -> v = count; ok = false
			fi
		};
		if
		:: ok -> break
		:: else -> skip
		fi
	:: else -> ok = false; break
	od;
	sseen = v;                                      /* sem.c:34 */
	v = 0
}

/* weft_sem_wait_slow(), src/sem.c:38-79, without a deadline. */
inline sem_wait_slow(me)
{
	/* sem.c:47: spin only while nobody is registered to sleep */
	if
	:: waiters == 0 -> skip                         /* budget = the spin bound */
	:: else -> sspins = SEM_SPIN_MAX                /* budget = 0 */
	fi;
	do                                              /* sem.c:49-55 */
	:: sem_try_take(ok);
		if
		:: ok -> break
		:: else -> skip
		fi;
		if
		:: sspins < SEM_SPIN_MAX -> sspins++    /* budget left */
		:: break                                /* i >= budget */
		fi
	od;
	sspins = 0;
	if
	:: !ok ->
		atomic { waiters++ };                   /* sem.c:60, seq_cst */
		do                                      /* sem.c:62-74 */
		:: sem_try_take(ok);                    /* sem.c:63 */
			if
			:: ok -> break
			:: else -> futex_wait(me, W_SEM, sseen) /* sem.c:68 */
			fi
		od;
		atomic { waiters-- }                    /* sem.c:77 */
	:: else -> skip
	fi;
	ok = false; sseen = 0
}

/* weft_sem_wait(), include/weft/sem.h:140-149. */
inline sem_wait(me)
{
	v = count;                                      /* sem.h:143, relaxed */
#ifndef BUG_SEM_WAIT_UNCHECKED
	if
	:: v > 0 ->
		atomic {                                /* sem.h:146, CAS acquire */
			if
			:: count == v -> count = v - 1; held++; ok = true
			:: else -> ok = false
			fi
		}
	:: else -> ok = false
	fi;
#else
	/* BUG: a fetch_sub that trusts the load it made before. */
	if
	:: v > 0 -> atomic { count--; held++; ok = true }
	:: else -> ok = false
	fi;
#endif
	v = 0;
	if
	:: !ok -> sem_wait_slow(me)
	:: else -> ok = false
	fi
}

/* weft_sem_post_n(), include/weft/sem.h:184-202, and weft_sem_wake_slow(),
 * src/sem.c:81-86.  `give` is what the caller hands back from `held` (POOL)
 * or 0 (HANDOFF).  Overflow (WEFT_EOVERFLOW) is not modelled: the counts
 * stay tiny. */
inline sem_post_n(n, give)
{
#ifdef BUG_SEM_POST_READS_WAITERS_FIRST
	/* BUG: waiters read before the CAS that publishes the units. */
	w = waiters;
#endif
	v = count;                                      /* sem.h:187, relaxed */
	do
	:: atomic {                                     /* sem.h:196, CAS seq_cst */
		if
		:: count == v -> count = v + n; held = held - give; posted = posted + n - give; ok = true
		:: else -> v = count; ok = false
		fi
	   };
		if
		:: ok -> break
		:: else -> skip
		fi
	od;
	ok = false; v = 0;
#ifndef BUG_SEM_POST_READS_WAITERS_FIRST
	w = waiters;                                    /* sem.h:199, seq_cst */
#endif
	if
	:: w != 0 ->
#ifndef BUG_SEM_POST_N_WAKES_ONE
		futex_wake(W_SEM, n)                    /* sem.c:85 */
#else
		futex_wake(W_SEM, 1)                    /* BUG: wakes one, not n */
#endif
	:: else -> skip
	fi;
	w = 0
}

proctype thread(byte me)
{
	bool ok; short v; short sseen; byte sspins; byte w;
	bool got;
	byte round;

#ifdef SCENARIO_POOL
#ifdef LIVENESS
	do
	:: true ->
#else
	do
	:: round < ITERS -> round++;
#endif
		if
		:: skip; sem_wait(me); got = true       /* weft_sem_wait() */
		:: skip; sem_try_take(got)              /* weft_sem_trywait() */
		fi;
		if
		:: got ->
			assert(held <= SEM_INIT);       /* at most SEM_INIT holders */
			sem_post_n(1, 1);               /* weft_sem_post() */
			got = false
		:: else -> skip
		fi
#ifndef LIVENESS
	:: else -> break
#endif
	od;
#else /* SCENARIO_HANDOFF */
	if
	:: me == 0 ->
		if
		:: skip; sem_post_n(NTHREADS - 1, 0)    /* weft_sem_post_n() */
		:: skip;
			do                              /* weft_sem_post(), repeatedly */
			:: round < NTHREADS - 1 -> round++; sem_post_n(1, 0)
			:: else -> break
			od
		fi
	:: else -> sem_wait(me)
	fi;
#endif
	finished++
}

/* Count never negative, units conserved: checked in every reachable state. */
#ifndef LIVENESS
active proctype invariant()
{
	assert(count >= 0 && count + held == start + posted)
}
#endif

init
{
	byte i;
	atomic {
#ifdef SCENARIO_POOL
		start = SEM_INIT;
#endif
		count = start;
		for (i : 0 .. NTHREADS - 1) {
			run thread(i)
		}
	}
#ifndef LIVENESS
	(finished == NTHREADS);
	assert(waiters == 0);
	for (i : 0 .. NTHREADS - 1) {
		assert(!asleep(i))
	}
#endif
}

#ifdef LIVENESS
ltl progress { [] <> (held > 0) }
ltl woken { [] (asleep(0) -> <> !asleep(0)) }
#endif
