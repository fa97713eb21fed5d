/* SPDX-License-Identifier: MIT */
/*
 * mutex.pml - weft_mutex_t (include/weft/mutex.h, src/mutex.c,
 * src/wordlock.c) checked with Spin.  docs/models.md explains the model and
 * how to run it.
 *
 * NTHREADS threads each take the mutex ITERS times (with weft_mutex_lock(),
 * weft_mutex_trylock(), or with -DTIMED weft_mutex_timedlock(), whose deadline
 * may pass at any moment, as the model checker picks) and release it (with
 * weft_mutex_unlock(), or with -DUNLOCK_FAIR also weft_mutex_unlock_fair()).
 * -DFIFO: the mutex is made with WEFT_FIFO.  (The options are separate runs:
 * all at once with 3 threads outgrow a gigabyte of states.)
 *
 * Checked:
 *  - mutual exclusion: assert(holders == 1) inside the critical section, and
 *    the invariant (state is UNLOCKED or HANDOFF) == (holders == 0) in every
 *    state;
 *  - no barging past a starving sleeper: STARVING > 0 implies the state is
 *    not UNLOCKED (so the fast path, the spin and trylock cannot take it), in
 *    every state; with FIFO, WAITERS > 0 implies it too;
 *  - a hand-off is never dropped: a timed waiter that gives up while the word
 *    is handed off takes it instead (else the others hang: an invalid end
 *    state);
 *  - no lost wake-up, no deadlock (safety run): every thread finishes, i.e.
 *    Spin finds no invalid end state (a thread asleep for good, or blocked,
 *    when the others are finished);
 *  - with -DLIVENESS the threads loop forever and, under weak fairness,
 *      progress:  [] <> (holders > 0)    someone takes the mutex again and again
 *      woken:     [] (asleep(0) -> <> !asleep(0))   a sleeper is woken
 *                 (with 2 threads; with more, barging and the free choice of
 *                 which sleeper a wake picks let one starve: weft promises no
 *                 fairness).
 *
 * Bug switches (each must make Spin report an error; `make models` checks):
 *   BUG_MUTEX_UNLOCK_NO_WAKE        unlock stores UNLOCKED without waking
 *   BUG_MUTEX_WOKEN_TAKES_LOCKED    a woken sleeper takes the lock as LOCKED
 *   BUG_MUTEX_UNLOCK_NO_HANDOFF     unlock releases although a sleeper starves
 *   BUG_MUTEX_GIVE_UP_DROPS_HANDOFF a timed waiter leaves a word handed off
 *                                   to it (and nobody else may take it)
 *   BUG_MUTEX_BLIND_HANDOFF_KEPT    a fair unlock keeps a hand-off whose
 *                                   wake-up found nobody
 */

#ifndef NTHREADS
#define NTHREADS 3
#endif
#ifndef ITERS
#define ITERS 2
#endif

#define NWORDS 2
#define W_MUTEX 1
#ifdef FIFO
byte word[NWORDS] = 64;     /* FIFO_BIT: weft_mutex_init(&m, WEFT_FIFO) (word[0] is unused) */
#else
byte word[NWORDS];
#endif

#include "futex.pml"
#include "mutex_impl.pml"

byte finished;              /* threads that have finished */

proctype thread(byte me)
{
	bool ok; byte old; byte seen; byte spins;
	bool got;
	byte round;

#ifdef LIVENESS
	do
	:: true ->
#else
	do
	:: round < ITERS -> round++;
#endif
		if
		:: skip; mutex_lock(me); got = true     /* weft_mutex_lock() */
		:: skip; mutex_try_acquire(me, got)     /* weft_mutex_trylock() */
#ifdef TIMED
		:: skip; mutex_lock_maybe_timed(me, true); got = ok; ok = false  /* weft_mutex_timedlock() */
#endif
		fi;
		if
		:: got ->
			assert(holders == 1);           /* mutual exclusion */
			if
			:: skip; mutex_unlock(me)       /* weft_mutex_unlock() */
#ifdef UNLOCK_FAIR
			:: skip; mutex_unlock_maybe_fair(me, true, false)   /* weft_mutex_unlock_fair() */
#endif
			fi;
			got = false
		:: else -> skip
		fi
#ifndef LIVENESS
	:: else -> break
#endif
	od;
	finished++
}

#ifndef LIVENESS
/* The invariant, checked in every reachable state. */
active proctype invariant()
{
	assert(((mstate(mutex_state) == UNLOCKED || mstate(mutex_state) == HANDOFF) == (holders == 0)) &&
	       ((mutex_state & STARVING_MASK) == 0 || mstate(mutex_state) != UNLOCKED) &&
	       (!(mutex_state & FIFO_BIT) || (mutex_state & WAITER_MASK) == 0 || mstate(mutex_state) != UNLOCKED))
}
#endif

init
{
	byte i;
	atomic {
		for (i : 0 .. NTHREADS - 1) {
			run thread(i)
		}
	}
#ifndef LIVENESS
	/* Everyone finished: nothing held, nobody asleep. */
	(finished == NTHREADS);
	assert((mutex_state & ~FIFO_BIT) == UNLOCKED && holders == 0);
	for (i : 0 .. NTHREADS - 1) {
		assert(!asleep(i))
	}
#endif
}

#ifdef LIVENESS
ltl progress { [] <> (holders > 0) }
ltl woken { [] (asleep(0) -> <> !asleep(0)) }
#endif
