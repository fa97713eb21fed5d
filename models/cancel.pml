/* SPDX-License-Identifier: MIT */
/*
 * cancel.pml - the cancellable wait (src/wait.h: weft__wait_ctx()) and
 * weft_cancel() checked with Spin: no lost wake-up on either path.
 * docs/models.md explains how the models are run (`make models`).
 *
 * Threads: NWAITERS waiters (ids 0..NWAITERS-1), each looping as a primitive
 * does: while the object word is 0, weft__wait_ctx(&obj, 0, NULL, tok); stop
 * on WEFT_ECANCELED.  One canceller: weft_cancel(tok).  With -DWITH_CHANGE,
 * one more thread changes the object word and wakes all (the primitive's
 * ordinary wake-up), racing with the cancel.
 *
 * The futex, as in futex.pml: a wait compares and goes to sleep in one atomic
 * step; a wake takes every sleeper of the word off it; at most SPURIOUS
 * spurious wake-ups in a run.  futex_waitv sleeps on two words at once: one
 * atomic step compares both and sleeps on both; a wake of either word ends
 * the sleep.  The portable backend's weft__wait() (check under the bucket
 * mutex, sleep on its condvar) has the same contract as the futex wait, so
 * PATH_REGISTRY covers both backends' fallback.
 *
 * Paths:
 *  PATH_WAITV (default): src/wait_futex.c weft__wait_ctx(): look at the
 *    word, then the token; futex_waitv on {obj == 0, tok == 0}; look at the
 *    word and the token again (weft__wait_outcome(): a changed word wins).
 *    weft_cancel(): set the bit, FUTEX_WAKE the token's word.
 *  PATH_REGISTRY: src/wait.c weft__wait_ctx_fallback() and
 *    weft__cancel_registry_wake(): the waiter registers under the registry
 *    lock, looks at the token, futex-waits on obj, sets awake, unregisters
 *    under the lock; the canceller sets the bit, takes the lock, and for a
 *    registered waiter wakes obj until that waiter's awake is set.
 *
 * Checked:
 *  - safety: every thread ends (a waiter asleep for good is an invalid end
 *    state: a lost wake-up); WEFT_ECANCELED only once the token is set;
 *  - with -DLIVENESS, under weak fairness: done: <> (all waiters done).
 *
 * Bug switches (each must make Spin report an error; `make models` checks):
 *   BUG_CANCEL_WAKE_FIRST        weft_cancel() wakes before it sets the bit
 *   BUG_WAITV_OBJ_ONLY           the waitv path sleeps on the object word
 *                                only (the token looked at before, not slept on)
 *   BUG_REG_ONE_WAKE             the registry's canceller wakes once, without
 *                                waiting for the waiter to be awake
 *   BUG_REG_CHECK_FIRST          the waiter looks at the token before it
 *                                registers
 */

#ifndef NWAITERS
#define NWAITERS 2
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif
#if !defined(PATH_WAITV) && !defined(PATH_REGISTRY)
#define PATH_WAITV
#endif

#define OK 0
#define ECANCELED 10
#define WOULD_SLEEP 254                 /* WEFT__WAIT_WOULD_SLEEP */
#define NOBODY 255

byte obj;                       /* the object's word */
byte tok;                       /* the token's state word (bit 0: cancelled) */
bool on_obj[NWAITERS];          /* asleep on obj */
bool on_tok[NWAITERS];          /* asleep on tok (futex_waitv only) */
byte spurious_left = SPURIOUS;
byte finished;                  /* waiters that returned */

#ifdef PATH_REGISTRY
byte reg_lock = NOBODY;         /* the registry's word lock: its holder */
bool registered[NWAITERS];
bool awake[NWAITERS];
#endif

#define asleep(me) (on_obj[me] || on_tok[me])

/* Sleep until a wake takes us off every word, or spuriously. */
inline sleep_until_woken(me)
{
	if
	:: !asleep(me)
	:: atomic { asleep(me) && spurious_left > 0 -> spurious_left--; on_obj[me] = false; on_tok[me] = false }
	fi
}

/* FUTEX_WAKE(w, all) in one step: a waitv sleeper leaves all its words. */
inline wake_obj()
{
	atomic {
		i = 0;
		do
		:: i < NWAITERS -> if :: on_obj[i] -> on_obj[i] = false; on_tok[i] = false :: else fi; i++
		:: else -> break
		od;
		i = 0
	}
}

inline wake_tok()
{
	atomic {
		i = 0;
		do
		:: i < NWAITERS -> if :: on_tok[i] -> on_obj[i] = false; on_tok[i] = false :: else fi; i++
		:: else -> break
		od;
		i = 0
	}
}

inline lock(me)
{
	atomic { reg_lock == NOBODY -> reg_lock = me }
}

inline unlock()
{
	reg_lock = NOBODY
}

/* weft__wait_outcome(): the word first, then the token, else @otherwise
 * (two loads, one step each, as in the code) */
inline outcome(rc, otherwise)
{
	if
	:: obj != 0 -> rc = OK
	:: else ->
		if
		:: tok != 0 -> rc = ECANCELED
		:: else -> rc = otherwise
		fi
	fi
}

/* weft__wait_ctx(&obj, 0, NULL, 0, &tok) */
inline wait_ctx(me, rc)
{
#ifdef PATH_WAITV
	outcome(rc, WOULD_SLEEP);                    /* before sleeping: no syscall */
	if
	:: rc != WOULD_SLEEP
	:: else ->
		atomic {                             /* futex_waitv: compare both, sleep on both */
			if
#ifdef BUG_WAITV_OBJ_ONLY
			:: obj == 0 -> on_obj[me] = true
#else
			:: obj == 0 && tok == 0 -> on_obj[me] = true; on_tok[me] = true
#endif
			:: else -> skip                  /* EAGAIN */
			fi
		};
		sleep_until_woken(me);
		outcome(rc, OK)
	fi
#else /* PATH_REGISTRY */
#ifdef BUG_REG_CHECK_FIRST
	outcome(rc, WOULD_SLEEP);
	lock(me); registered[me] = true; unlock();
#else
	lock(me); registered[me] = true; unlock();
	outcome(rc, WOULD_SLEEP);                    /* (2) of wait.c's argument */
#endif
	if
	:: rc == WOULD_SLEEP ->
		atomic {                             /* weft__wait(): FUTEX_WAIT */
			if
			:: obj == 0 -> on_obj[me] = true
			:: else -> skip
			fi
		};
		sleep_until_woken(me)
	:: else
	fi;
	awake[me] = true;                            /* release store */
	lock(me); registered[me] = false; unlock();
	outcome(rc, OK)
#endif
}

proctype waiter(byte me)
{
	byte rc = OK;
	do
	:: obj != 0 -> break                         /* the caller's check: changed */
	:: else ->
		wait_ctx(me, rc);
		if
		:: rc == ECANCELED -> assert(tok != 0); break
		:: else
		fi;
#ifdef PATH_REGISTRY
		awake[me] = false
#endif
	od;
	finished++
}

proctype canceller()
{
	byte i;
#ifdef BUG_CANCEL_WAKE_FIRST
	wake_tok();
	tok = 1;
#else
	tok = 1;                                     /* fetch_or, release */
	wake_tok();                                  /* weft__cancel_wake(): the waitv sleepers */
#endif
#ifdef PATH_REGISTRY
	byte w = 0;
	lock(NWAITERS);
	do
	:: w < NWAITERS ->
		if
		:: registered[w] ->
			do
			:: wake_obj();
#ifdef BUG_REG_ONE_WAKE
				break
#else
				if
				:: awake[w] -> break
				:: else -> skip                 /* sched_yield() and again */
				fi
#endif
			od
		:: else
		fi;
		w++
	:: else -> break
	od;
	unlock()
#endif
}

#ifdef WITH_CHANGE
proctype changer()
{
	byte i;
	obj = 1;                                     /* release store */
	wake_obj()
}
#endif

init
{
	byte k;
	atomic {
		k = 0;
		do
		:: k < NWAITERS -> run waiter(k); k++
		:: else -> break
		od;
		run canceller();
#ifdef WITH_CHANGE
		run changer()
#endif
	}
}

#ifdef LIVENESS
ltl done { <> (finished == NWAITERS) }
#endif
