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
 * Eventual fairness (issue 15): a registered sleeper that has slept at least
 * once may, at any later moment the model checker picks (the bound passing),
 * claim the next unit after a lost round: the claim bit goes up in the word if
 * the count is 0 and nobody claims.  Non-claimants never take while it is up;
 * a post that sees it wakes every sleeper; the claimant takes a unit and
 * lowers the bit in one CAS, waking sleepers for the units left over.  With
 * -DTIMEOUTS (POOL) a registered waiter may also give up after a sleep, as a
 * timedwait whose deadline passed: a claimant then takes a unit that is there
 * or lowers its claim (waking sleepers for units that came meanwhile).
 *
 * Checked:
 *  - the count never goes negative, and units are conserved: in every state
 *    count >= 0 and count + held == units posted so far + SEM_INIT, where
 *    `held` counts the units taken and not yet posted back (POOL) or taken
 *    at all (HANDOFF);
 *  - bounded bypass: once a claim is up, no other thread takes a unit until
 *    the claimant has taken one or given up (`bypass` stays 0), and no claim
 *    is left at the end;
 *  - no lost wake-up, no deadlock (safety run): every thread finishes, so no
 *    waiter sleeps for good while the count is above zero;
 *  - with -DLIVENESS (SCENARIO_POOL, threads loop forever), under weak
 *    fairness:  progress:  [] <> (held > 0)
 *               woken:     [] (asleep(0) -> <> !asleep(0))   (2 threads)
 *               served:    [] (claimant != 0 -> <> claimant == 0)  (a claim
 *                          is always served: the claimant gets a unit)
 *
 * Bug switches (each must make Spin report an error; `make models` checks):
 *   BUG_SEM_POST_READS_WAITERS_FIRST  post reads `waiters` before its CAS
 *                                     (the Dekker pair broken)
 *   BUG_SEM_POST_N_WAKES_ONE          post_n(n) wakes one sleeper, not n
 *   BUG_SEM_WAIT_UNCHECKED            the fast path decrements without
 *                                     checking that the count is positive
 *   BUG_SEM_CLAIM_IGNORED             the fast path takes a unit while a
 *                                     claim is up (bypass)
 *   BUG_SEM_CLAIM_WAKES_N             a post with a claim up wakes n
 *                                     sleepers, not all (the claimant may
 *                                     sleep on beside its unit)
 *   BUG_SEM_CLAIM_TAKE_NO_WAKE        the claimant takes its unit without
 *                                     waking sleepers for the units left
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

/* weft_sem_t.value: the count plus WEFT_SEM_STARVING_BIT, here CLAIM (the
 * counts stay far below it) */
#define CLAIM 64
#define CNT(x) ((x) % CLAIM)
#define CLAIMED(x) ((x) >= CLAIM)
#define TAKEABLE(x) (CNT(x) > 0 && !CLAIMED(x))    /* WEFT__SEM_TAKEABLE */
#define count CNT(word[W_SEM])
byte waiters;                   /* weft_sem_t.waiters */
byte claimant;                  /* ghost: 1 + the thread whose claim is up, or 0 */
byte bypass;                    /* ghost: units taken by others while a claim was up */
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
	v = word[W_SEM];                                /* sem.c, relaxed */
	do
	:: TAKEABLE(v) ->
		atomic {                                /* sem.c, CAS acquire */
			if
			:: word[W_SEM] == v -> word[W_SEM] = v - 1; held++; ok = true;
				bypass = bypass + (claimant != 0)
			:: else -> v = word[W_SEM]; ok = false
			fi
		};
		if
		:: ok -> break
		:: else -> skip
		fi
	:: else -> ok = false; break
	od;
	sseen = v;
	v = 0
}

/* sem_take_claimed(), src/sem.c: the claimant's CAS takes a unit and lowers
 * the claim; units left over get sleepers woken. */
inline sem_take_claimed(ok)
{
	v = word[W_SEM];
	do
	:: CNT(v) > 0 ->
		atomic {
			if
			:: word[W_SEM] == v -> word[W_SEM] = CNT(v) - 1; held++; ok = true;
				claimant = 0
			:: else -> v = word[W_SEM]; ok = false
			fi
		};
		if
		:: ok ->
#ifndef BUG_SEM_CLAIM_TAKE_NO_WAKE
			if
			:: CNT(v) > 1 -> futex_wake(W_SEM, CNT(v) - 1)
			:: else -> skip
			fi;
#endif
			break
		:: else -> skip
		fi
	:: else -> ok = false; break
	od;
	sseen = v;
	v = 0
}

/* sem_claim(), src/sem.c: count 0 and no claim -> claim up (relaxed CAS). */
inline sem_claim(me, ok)
{
	v = word[W_SEM];
	do
	:: CNT(v) == 0 && !CLAIMED(v) ->
		atomic {
			if
			:: word[W_SEM] == v -> word[W_SEM] = v + CLAIM; ok = true; claimant = me + 1
			:: else -> v = word[W_SEM]; ok = false
			fi
		};
		if
		:: ok -> sseen = v + CLAIM; break
		:: else -> skip
		fi
	:: else -> ok = false; sseen = v; break
	od;
	v = 0
}

/* sem_unclaim(), src/sem.c: fetch_and clears the claim; units that came
 * meanwhile were turned away from the others: wake sleepers for them. */
inline sem_unclaim()
{
	atomic { v = word[W_SEM]; word[W_SEM] = CNT(v); claimant = 0 };
	if
	:: CNT(v) > 0 -> futex_wake(W_SEM, CNT(v))
	:: else -> skip
	fi;
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
		atomic { waiters++ };                   /* sem.c, seq_cst */
		do                                      /* sem.c: the sleep loop */
		:: if
			:: claimed -> sem_take_claimed(ok)
			:: else -> sem_try_take(ok)
			fi;
			if
			:: ok -> break
			:: else -> skip
			fi;
			/* past the bound after a sleep (the checker picks when):
			 * claim.  Or not yet.  Claimed, or a unit came meanwhile:
			 * look again instead of sleeping (sem.c's `continue`) */
			retry = false;
			if
			:: !claimed && slept -> sem_claim(me, claimed); retry = claimed || TAKEABLE(sseen)
			:: skip
			fi;
			if
			:: retry -> skip
			:: else ->
				futex_wait(me, W_SEM, sseen);   /* sem.c: weft__wait_napping */
				slept = true;
#ifdef TIMEOUTS
				/* the deadline passed (timedwait): a unit that
				 * arrived is still ours, else give up */
				if
				:: skip
				:: if
					:: claimed -> sem_take_claimed(ok);
						if
						:: !ok -> sem_unclaim()
						:: else -> skip
						fi
					:: else -> sem_try_take(ok)
					fi;
					gaveup = !ok;
					break
				fi
#endif
			fi
		od;
		atomic { waiters-- }                    /* sem.c, relaxed */
	:: else -> skip
	fi;
	sseen = 0; claimed = false; slept = false
}

/* weft_sem_wait(), include/weft/sem.h:140-149. */
inline sem_wait(me)
{
	v = word[W_SEM];                                /* sem.h, relaxed */
#if !defined(BUG_SEM_WAIT_UNCHECKED) && !defined(BUG_SEM_CLAIM_IGNORED)
	if
	:: TAKEABLE(v) ->
		atomic {                                /* sem.h, CAS acquire */
			if
			:: word[W_SEM] == v -> word[W_SEM] = v - 1; held++; ok = true;
				bypass = bypass + (claimant != 0)
			:: else -> ok = false
			fi
		}
	:: else -> ok = false
	fi;
#elif defined(BUG_SEM_CLAIM_IGNORED)
	/* BUG: the old test, count > 0, blind to the claim. */
	if
	:: CNT(v) > 0 ->
		atomic {
			if
			:: word[W_SEM] == v -> word[W_SEM] = v - 1; held++; ok = true;
				bypass = bypass + (claimant != 0)
			:: else -> ok = false
			fi
		}
	:: else -> ok = false
	fi;
#else
	/* BUG: a fetch_sub that trusts the load it made before. */
	if
	:: CNT(v) > 0 -> atomic { word[W_SEM] = word[W_SEM] - 1; held++; ok = true }
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
	v = word[W_SEM];                                /* sem.h, relaxed */
	do
	:: atomic {                                     /* sem.h, CAS seq_cst */
		if
		:: word[W_SEM] == v -> word[W_SEM] = v + n; held = held - give; posted = posted + n - give; ok = true
		:: else -> v = word[W_SEM]; ok = false
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
	:: w != 0 ->                                    /* weft_sem_wake_slow() */
		if
#ifndef BUG_SEM_CLAIM_WAKES_N
		:: CLAIMED(word[W_SEM]) -> futex_wake(W_SEM, 255) /* all: the claimant is one */
#endif
		:: else ->
#ifndef BUG_SEM_POST_N_WAKES_ONE
			futex_wake(W_SEM, n)
#else
			futex_wake(W_SEM, 1)            /* BUG: wakes one, not n */
#endif
		fi
	:: else -> skip
	fi;
	w = 0
}

proctype thread(byte me)
{
	bool ok; short v; short sseen; byte sspins; byte w;
	bool got; bool claimed; bool slept; bool gaveup; bool retry;
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
		:: skip; sem_wait(me); got = !gaveup; gaveup = false /* weft_sem_wait(), timedwait */
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

/* Count never negative, units conserved, no bypass of a claim: checked in
 * every reachable state. */
#ifndef LIVENESS
active proctype invariant()
{
	assert(word[W_SEM] >= 0 && count + held == start + posted && bypass == 0)
}
#endif

init
{
	byte i;
	atomic {
#ifdef SCENARIO_POOL
		start = SEM_INIT;
#endif
		word[W_SEM] = start;
		for (i : 0 .. NTHREADS - 1) {
			run thread(i)
		}
	}
#ifndef LIVENESS
	(finished == NTHREADS);
	assert(waiters == 0 && !CLAIMED(word[W_SEM]) && claimant == 0);
	for (i : 0 .. NTHREADS - 1) {
		assert(!asleep(i))
	}
#endif
}

#ifdef LIVENESS
ltl progress { [] <> (held > 0) }
ltl woken { [] (asleep(0) -> <> !asleep(0)) }
ltl served { [] (claimant != 0 -> <> (claimant == 0)) }
#endif
