/* SPDX-License-Identifier: MIT */
/*
 * mutex.pml - weft_mutex_t (include/weft/mutex.h, src/mutex.c) checked with
 * Spin.  docs/models.md explains the model and how to run it.
 *
 * NTHREADS threads each take the mutex ITERS times (with weft_mutex_lock(),
 * or weft_mutex_trylock() when the model checker picks it) and release it.
 *
 * Checked:
 *  - mutual exclusion: assert(holders == 1) inside the critical section, and
 *    the invariant (state == UNLOCKED) == (holders == 0) in every state;
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
 *   BUG_MUTEX_UNLOCK_NO_WAKE      unlock stores UNLOCKED without waking
 *   BUG_MUTEX_WOKEN_TAKES_LOCKED  a woken sleeper takes the lock as LOCKED
 */

#ifndef NTHREADS
#define NTHREADS 3
#endif
#ifndef ITERS
#define ITERS 2
#endif

#define NWORDS 2
#define W_MUTEX 1
byte word[NWORDS];

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
		:: skip; mutex_try_acquire(got)         /* weft_mutex_trylock(), mutex.h:192 */
		fi;
		if
		:: got ->
			assert(holders == 1);           /* mutual exclusion */
			mutex_unlock(me);               /* weft_mutex_unlock() */
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
	assert((mutex_state == UNLOCKED) == (holders == 0))
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
	assert(mutex_state == UNLOCKED && holders == 0);
	for (i : 0 .. NTHREADS - 1) {
		assert(!asleep(i))
	}
#endif
}

#ifdef LIVENESS
ltl progress { [] <> (holders > 0) }
ltl woken { [] (asleep(0) -> <> !asleep(0)) }
#endif
