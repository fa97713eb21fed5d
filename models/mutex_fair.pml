/* SPDX-License-Identifier: MIT */
/*
 * mutex_fair.pml - the bounded bypass of weft_mutex_t's hand-off (issue 15),
 * checked with Spin.  docs/models.md explains the models and how to run them.
 *
 * The lock and unlock paths are mutex_impl.pml's.  The futex layer here is
 * futex.pml's with the order the Linux kernel keeps for threads of normal
 * priority: a wake-up takes the longest sleeper of the word (futex_wake()
 * queues are FIFO within a priority), and no spurious wake-ups (a signal that
 * interrupts a sleeper lets it re-check the word, and so take a hand-off out
 * of turn: one per signal).  Timeouts are not modelled.
 *
 * Thread 0 locks the mutex ITERS0 times with weft_mutex_lock(); threads
 * 1..NTHREADS-1 lock it ITERS times each with weft_mutex_lock() or
 * weft_mutex_trylock().  Checked (safety run):
 *  - no barging: once thread 0 counts itself STARVING, no other thread takes
 *    the mutex by the fast path, the spin or trylock until thread 0 has had
 *    it (only parked threads take it, by hand-offs);
 *  - bounded bypass: during one sleep of thread 0 as a STARVING waiter, the
 *    other threads take the mutex at most NTHREADS - 1 times (each sleeper
 *    that went to sleep before it, at most once) before it is woken;
 *  - mutual exclusion and no lost wake-up, as in mutex.pml.
 * What is not bounded: the time a woken thread waits to be scheduled (a
 * registered waiter on its way to sleep may take a hand-off meanwhile, and
 * the woken one then sleeps again); docs/mutex.md says so.
 *
 * Bug switch (must make Spin report an error; `make models` checks):
 *   BUG_MUTEX_UNLOCK_NO_HANDOFF   unlock releases although a sleeper starves
 */

#ifndef NTHREADS
#define NTHREADS 3
#endif
#ifndef ITERS
#define ITERS 2
#endif
#ifndef ITERS0
#define ITERS0 1
#endif
#define MAXTHREADS NTHREADS
#ifndef BYPASS_MAX
#define BYPASS_MAX (NTHREADS - 1)
#endif

#define NWORDS 2
#define W_MUTEX 1
byte word[NWORDS];

/* ---- the futex layer, FIFO ----------------------------------------------- */

#define NOWHERE 0
byte asleep_on[MAXTHREADS];     /* NOWHERE, or the word the thread sleeps on */
byte rank[MAXTHREADS];          /* 1 = the longest sleeper of its word */
hidden byte futex_i;
hidden byte futex_n;

#define asleep(t) (asleep_on[t] != NOWHERE)

byte bypass;                    /* others' acquisitions during thread 0's starving sleep */

inline futex_wait(me, w, expected)
{
	atomic {
		if
		:: word[w] == expected ->
			futex_n = 0;
			futex_i = 0;
			do
			:: futex_i < MAXTHREADS ->
				if
				:: asleep_on[futex_i] == w -> futex_n++
				:: else -> skip
				fi;
				futex_i++
			:: else -> break
			od;
			asleep_on[me] = w;
			rank[me] = futex_n + 1;
			if
			:: me == 0 -> bypass = 0
			:: else -> skip
			fi
		:: else -> skip        /* EAGAIN */
		fi;
		futex_i = 0;
		futex_n = 0
	};
	asleep_on[me] == NOWHERE        /* woken */
}

/* Wake the longest sleeper of w (n is always 1 here; inside an atomic). */
inline futex_wake_some(w, n)
{
		futex_n = 0;
		futex_i = 0;
		do
		:: futex_i < MAXTHREADS ->
			if
			:: asleep_on[futex_i] == w && rank[futex_i] == 1 -> futex_n = futex_i + 1
			:: else -> skip
			fi;
			futex_i++
		:: else -> break
		od;
		if
		:: futex_n > 0 ->
			asleep_on[futex_n - 1] = NOWHERE;
			rank[futex_n - 1] = 0;
			futex_i = 0;
			do
			:: futex_i < MAXTHREADS ->
				if
				:: asleep_on[futex_i] == w -> rank[futex_i]--
				:: else -> skip
				fi;
				futex_i++
			:: else -> break
			od
		:: else -> skip
		fi;
		futex_i = 0;
		futex_n = 0
}

inline futex_wake(w, n)
{
	atomic { futex_wake_some(w, n) }
}

/* Count an acquisition by another thread while thread 0 sleeps starving. */
#define mutex_acquired(me, parked) \
	if \
	:: me != 0 && m_starv[0] -> assert(parked) \
	:: else -> skip \
	fi; \
	if \
	:: me != 0 && m_starv[0] && asleep(0) -> bypass++; assert(bypass <= BYPASS_MAX) \
	:: else -> skip \
	fi

#include "mutex_impl.pml"

byte finished;

proctype thread(byte me)
{
	bool ok; byte old; byte seen; byte spins;
	bool got;
	byte round;

	do
	:: (me == 0 && round < ITERS0) || (me != 0 && round < ITERS) -> round++;
		if
		:: skip; mutex_lock(me); got = true
		:: me != 0; mutex_try_acquire(me, got)
		fi;
		if
		:: got ->
			assert(holders == 1);
			mutex_unlock(me);
			got = false
		:: else -> skip
		fi
	:: else -> break
	od;
	finished++
}

init
{
	byte i;
	atomic {
		for (i : 0 .. NTHREADS - 1) {
			run thread(i)
		}
	}
	(finished == NTHREADS);
	assert((mutex_state & ~FIFO_BIT) == UNLOCKED && holders == 0);
	for (i : 0 .. NTHREADS - 1) {
		assert(!asleep(i))
	}
}
