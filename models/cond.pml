/* SPDX-License-Identifier: MIT */
/*
 * cond.pml - weft_cond_t (include/weft/cond.h, src/cond.c) with the mutex it
 * waits with (mutex_impl.pml), checked with Spin.  docs/models.md explains
 * the model and how to run it.
 *
 * Two scenarios, each the predicate-loop use the header prescribes (change
 * the predicate under the mutex; wait in a loop that re-checks it):
 *
 *  SCENARIO_ROUND (default): NTHREADS threads take turns ROUNDS times each:
 *      lock; while (turn != me) wait; turn = next; notify; unlock
 *  (notify before or after the unlock, the model checker picks).  With 3 or
 *  more threads the notification is a broadcast, so broadcast's requeue onto
 *  the mutex word is exercised; with 2 it is a signal or a broadcast.
 *
 *  SCENARIO_PRODCONS: thread 0 produces NTHREADS-1 items, one per critical
 *  section, each followed by a signal or a broadcast (either side of the
 *  unlock); threads 1..NTHREADS-1 each consume one:
 *      lock; while (items == 0) wait; items--; unlock
 *
 *  SCENARIO_CANCEL (issue 16, weft_cond_wait_ctx()): three threads.  Thread 0
 *  produces 2 items, each followed by a signal or a broadcast (either side of
 *  the unlock); thread 1 waits for one with weft_cond_wait_ctx() and a token
 *  that a canceller cancels at any moment, and gives up as soon as the call
 *  returns WEFT_ECANCELED, without a look at the predicate (the naive user:
 *  a signal it swallowed would be lost); thread 2 consumes with plain waits
 *  until both items are taken.  Thread 1 broadcasts after it takes an item
 *  (the count thread 2 waits on changed).  The wait with a token is the
 *  futex_waitv wait of src/wait_futex.c: it compares seq and the token at
 *  once and sleeps on both; a cancel makes the sleeper runnable, but its
 *  entry on seq stays queued until it runs, so a signal's one wake-up may be
 *  given to it (the kernel's futex_unqueue_multiple() happens when it runs).
 *  The wait layer reports a changed seq first (WEFT_OK), then the cancel;
 *  the condition variable turns a cancel or timeout into WEFT_OK when seq
 *  changed (src/cond.c).
 *
 * Checked:
 *  - mutual exclusion of the mutex across waits: assert(holders == 1) in
 *    every critical section and after every return from a wait;
 *  - no lost wake-up, no deadlock (safety run): every thread finishes, so no
 *    notification sent after the predicate changed is missed by a waiter,
 *    including one between the waiter's unlock and its futex wait (the seq
 *    check), and no thread a broadcast moved onto the mutex word is left
 *    asleep there;
 *  - with -DLIVENESS (SCENARIO_ROUND, threads loop forever), under weak
 *    fairness:  rr:  [] <> (turn == 0) && [] <> (turn == NTHREADS-1)
 *    every thread gets its turn again and again.
 *
 * Bug switches (each must make Spin report an error; `make models` checks):
 *   BUG_COND_SEQ_AFTER_UNLOCK          the waiter reads seq after it has
 *                                      released the mutex
 *   BUG_COND_SIGNAL_READS_SLEEPERS_FIRST  signal reads `sleepers` before it
 *                                      bumps seq (the Dekker pair broken)
 *   BUG_COND_REACQUIRE_LOCKED          a waiter that slept re-takes the mutex
 *                                      as LOCKED, not CONTENDED
 *   BUG_COND_CANCEL_WINS               (SCENARIO_CANCEL) a cancelled waiter
 *                                      reports WEFT_ECANCELED even though seq
 *                                      changed: the signal it took is lost
 */

#ifndef NTHREADS
#define NTHREADS 3
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef COND_SPIN_MAX
#define COND_SPIN_MAX 1
#endif
#ifndef SPIN_MAX
#define SPIN_MAX 1
#endif
#if !defined(SCENARIO_PRODCONS) && !defined(SCENARIO_ROUND) && !defined(SCENARIO_CANCEL)
#define SCENARIO_ROUND
#endif
#ifdef SCENARIO_CANCEL
#define CANCEL_ITEMS 2
#endif

#define NWORDS 3
#define W_MUTEX 1
#define W_SEQ 2
byte word[NWORDS];

#include "futex.pml"
#include "mutex_impl.pml"

#define seq word[W_SEQ]         /* weft_cond_t.seq, the futex word */

/* seq counts modulo SEQ_MOD.  The C counter wraps at 2^32; a byte wraps at
 * 256, more than a safety run ever notifies.  The endless liveness runs count
 * modulo 4 to keep the state space finite: in the round-robin scenario at most
 * NTHREADS - 1 notifications happen between a waiter's read of seq and its
 * sleep (the others wait for its turn), so the wrap never aliases. */
#ifndef SEQ_MOD
#ifdef LIVENESS
#define SEQ_MOD 4
#else
#define SEQ_MOD 256
#endif
#endif
byte waiters;                   /* weft_cond_t.waiters (count bits) */
byte sleepers;                  /* weft_cond_t.sleepers */
bool mutex_recorded;            /* weft_cond_t.mutex != 0 (one mutex only) */

byte turn;                      /* SCENARIO_ROUND: whose turn it is */
byte items;                     /* SCENARIO_PRODCONS: items produced, not consumed */
byte finished;                  /* threads that have finished */
byte consumed;                  /* SCENARIO_CANCEL: items taken */
bool cancelled;                 /* SCENARIO_CANCEL: thread 1's token */

#define WEFT_ECANCELED 10

/* weft_cond_wait() -> weft_cond_wait_slow(), src/cond.c:38-107.  The caller
 * holds the mutex; locals: the mutex ones and cseen, flags_word, changed,
 * slept, cspins. */
inline cond_wait(me)
{
	atomic { flags_word = waiters; waiters++ };     /* cond.c:41, fetch_add */
	mutex_recorded = true;                          /* cond.c:47 */
#ifndef BUG_COND_SEQ_AFTER_UNLOCK
	cseen = seq;                                    /* cond.c:50 */
#endif
	mutex_unlock(me);                               /* cond.c:54 */
#ifdef BUG_COND_SEQ_AFTER_UNLOCK
	/* BUG: seq read after the mutex is released: a notification between
	 * the unlock and this load is missed. */
	cseen = seq;
#endif
	/* cond.c:69-76: watch seq for 0..COND_SPIN_MAX checks, only with at most
	 * one other waiter */
	changed = false;
	if
	:: flags_word <= 1 ->
		do
		:: cspins < COND_SPIN_MAX ->
			cspins++;
			if
			:: seq != cseen -> changed = true; break        /* cond.c:73 */
			:: else -> skip
			fi
		:: break                                /* the budget is spent */
		od;
		cspins = 0
	:: else -> skip
	fi;
	if
	:: !changed ->
		atomic { sleepers++ };                  /* cond.c:80, seq_cst */
		futex_wait(me, W_SEQ, cseen);           /* cond.c:82 */
		atomic { sleepers-- };                  /* cond.c:84 */
		slept = true
	:: else -> skip
	fi;
	atomic { waiters-- };                           /* cond.c:92 */
	if
	:: slept -> mutex_lock_contended(me)            /* cond.c:102 */
	:: else -> mutex_lock(me)                       /* cond.c:104 */
	fi;
	assert(holders == 1);
	cseen = 0; flags_word = 0; changed = false; slept = false
}

/* weft_cond_wait_ctx() with a token (src/cond.c weft_cond_wait_ctx_slow(),
 * the sleep through weft__wait_ctx(): futex_waitv on seq and the token).
 * rc: WEFT_OK or WEFT_ECANCELED.  The deadline is not modelled. */
inline cond_wait_ctx(me, rc)
{
	atomic { flags_word = waiters; waiters++ };
	mutex_recorded = true;
	cseen = seq;
	mutex_unlock(me);
	changed = false;
	if
	:: flags_word <= 1 ->
		do
		:: cspins < COND_SPIN_MAX ->
			cspins++;
			if
			:: seq != cseen -> changed = true; break
			:: else -> skip
			fi
		:: break
		od;
		cspins = 0
	:: else -> skip
	fi;
	rc = WEFT_OK;
	if
	:: !changed ->
		atomic { sleepers++ };
		/* futex_waitv: seq and the token compared at once with the sleep;
		 * the wait layer looks at the word first, then at the token */
		atomic {
			if
			:: seq != cseen -> skip                 /* EAGAIN: OK */
			:: else ->
				if
				:: cancelled -> rc = WEFT_ECANCELED     /* no system call */
				:: else -> asleep_on[me] = W_SEQ
				fi
			fi
		};
		/* asleep: a wake-up (a signal's, possibly after the cancel), a
		 * spurious return, or the cancel: the thread runs and dequeues
		 * itself from seq (until then a wake-up may still pick it) */
		if
		:: asleep_on[me] == NOWHERE
		:: atomic { asleep_on[me] != NOWHERE && cancelled -> asleep_on[me] = NOWHERE }
		:: atomic { asleep_on[me] != NOWHERE && spurious_left > 0 ->
			spurious_left--; asleep_on[me] = NOWHERE }
		fi;
		/* the wait layer's outcome after the sleep: a changed word wins */
		atomic {
			if
			:: seq != cseen -> rc = WEFT_OK
			:: else -> if
				:: cancelled -> rc = WEFT_ECANCELED
				:: else -> skip
				fi
			fi
		};
		atomic { sleepers-- };
		slept = true;
#ifndef BUG_COND_CANCEL_WINS
		/* src/cond.c: a notification that raced with the cancel wins */
		if
		:: rc != WEFT_OK && seq != cseen -> rc = WEFT_OK
		:: else -> skip
		fi
#else
		/* BUG: the cancel wins over a notification the waiter may have
		 * taken (as if the wait layer and the condition variable both
		 * reported the token first) */
		if
		:: cancelled -> rc = WEFT_ECANCELED
		:: else -> skip
		fi
#endif
	:: else -> skip
	fi;
	atomic { waiters-- };
	if
	:: slept -> mutex_lock_contended(me)
	:: else -> mutex_lock(me)
	fi;
	assert(holders == 1);
	cseen = 0; flags_word = 0; changed = false; slept = false
}

/* weft_cond_signal(), include/weft/cond.h:251, and weft_cond_signal_slow(),
 * src/cond.c:109-116. */
inline cond_signal()
{
	if
	:: waiters > 0 ->                               /* cond.h:251, relaxed load */
#ifndef BUG_COND_SIGNAL_READS_SLEEPERS_FIRST
		atomic { seq = (seq + 1) % SEQ_MOD };   /* cond.c:112, seq_cst */
		if
		:: sleepers != 0 -> futex_wake(W_SEQ, 1)        /* cond.c:114-115 */
		:: else -> skip
		fi
#else
		/* BUG: sleepers read before seq is bumped. */
		if
		:: sleepers != 0 -> atomic { seq = (seq + 1) % SEQ_MOD }; futex_wake(W_SEQ, 1)
		:: else -> atomic { seq = (seq + 1) % SEQ_MOD }
		fi
#endif
	:: else -> skip
	fi
}

/* weft_cond_broadcast(), include/weft/cond.h:268, and
 * weft_cond_broadcast_slow(), src/cond.c:118-136. */
inline cond_broadcast()
{
	if
	:: waiters > 0 ->                               /* cond.h:268, relaxed load */
		atomic { seq = (seq + 1) % SEQ_MOD; bseq = seq };       /* cond.c:121 */
		if
		:: sleepers == 0 -> skip                /* cond.c:124-125 */
		:: else ->
			if
			:: mutex_recorded ->            /* cond.c:127, 131-132 */
				futex_requeue(W_SEQ, bseq, 1, W_MUTEX, rc)
			:: else -> rc = WEFT_EBUSY
			fi;
			if
			:: rc != WEFT_OK -> futex_wake(W_SEQ, 255)      /* cond.c:135 */
			:: else -> skip
			fi
		fi;
		bseq = 0; rc = 0
	:: else -> skip
	fi
}

inline notify()
{
#ifdef SCENARIO_ROUND
	if
	:: NTHREADS > 2 -> cond_broadcast()
	:: NTHREADS <= 2 -> cond_signal()
	:: NTHREADS <= 2 -> cond_broadcast()
	fi
#else
	if
	:: skip; cond_signal()
	:: skip; cond_broadcast()
	fi
#endif
}

/* Notify while holding the mutex, or after releasing it. */
inline notify_and_unlock(me)
{
	if
	:: skip; notify(); mutex_unlock(me)
	:: skip; mutex_unlock(me); notify()
	fi
}

proctype thread(byte me)
{
	bool ok; byte old; byte seen; byte spins;
	byte cseen; byte flags_word; bool changed; bool slept; byte cspins;
	byte bseq; byte rc;
	byte round;

#ifdef SCENARIO_ROUND
#ifdef LIVENESS
	do
	:: true ->
#else
	do
	:: round < ROUNDS -> round++;
#endif
		mutex_lock(me);
		assert(holders == 1);
		do
		:: turn != me -> cond_wait(me)
		:: else -> break
		od;
		turn = (turn + 1) % NTHREADS;
		notify_and_unlock(me)
#ifndef LIVENESS
	:: else -> break
#endif
	od;
#elif defined(SCENARIO_CANCEL)
	if
	:: me == 0 ->
		do
		:: round < CANCEL_ITEMS -> round++;
			mutex_lock(me);
			assert(holders == 1);
			items++;
			notify_and_unlock(me)
		:: else -> break
		od
	:: me == 1 ->
		mutex_lock(me);
		assert(holders == 1);
		do
		:: items > 0 ->
			items--; consumed++;
			cond_broadcast();       /* thread 2 waits on `consumed` too */
			break
		:: else ->
			cond_wait_ctx(me, rc);
			if
			:: rc == WEFT_ECANCELED -> break        /* gives up, no look */
			:: else -> skip
			fi
		od;
		mutex_unlock(me)
	:: else ->
		mutex_lock(me);
		assert(holders == 1);
		do
		:: consumed == CANCEL_ITEMS -> break
		:: items > 0 -> items--; consumed++
		:: items == 0 && consumed < CANCEL_ITEMS -> cond_wait(me)
		od;
		mutex_unlock(me)
	fi;
#else /* SCENARIO_PRODCONS */
	if
	:: me == 0 ->
		do
		:: round < NTHREADS - 1 -> round++;
			mutex_lock(me);
			assert(holders == 1);
			items++;
			notify_and_unlock(me)
		:: else -> break
		od
	:: else ->
		mutex_lock(me);
		assert(holders == 1);
		do
		:: items == 0 -> cond_wait(me)
		:: else -> break
		od;
		items--;
		mutex_unlock(me)
	fi;
#endif
	finished++
}

#ifdef SCENARIO_CANCEL
/* weft_cancel() of thread 1's token, at any moment (it needs no futex wake
 * on seq: futex_waitv wakes the token's word, modelled above as "runnable") */
proctype canceller()
{
	cancelled = true
}
#endif

init
{
	byte i;
	atomic {
		for (i : 0 .. NTHREADS - 1) {
			run thread(i)
		}
#ifdef SCENARIO_CANCEL
		run canceller()
#endif
	}
#ifndef LIVENESS
	/* Everyone finished: mutex free, no waiter left, nobody asleep. */
	(finished == NTHREADS);
	assert(mutex_state == UNLOCKED && holders == 0);
	assert(waiters == 0 && sleepers == 0 && items == 0);
	for (i : 0 .. NTHREADS - 1) {
		assert(!asleep(i))
	}
#endif
}

#ifdef LIVENESS
ltl rr { ([] <> (turn == 0)) && ([] <> (turn == NTHREADS - 1)) }
#endif
