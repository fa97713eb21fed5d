/* SPDX-License-Identifier: MIT */
/*
 * mutex_impl.pml - weft_mutex_t's lock and unlock paths, step by step: the
 * three-state futex mutex of include/weft/mutex.h and src/mutex.c (Drepper,
 * "Futexes Are Tricky", 2011, mutex #3).  Included by mutex.pml and cond.pml
 * after futex.pml.
 *
 * Each atomic { } below is one atomic instruction of the C code (a CAS, an
 * exchange, a load), named with its file and line.  The pshared bit is left
 * out: it never changes after init and only selects the futex flavour.
 *
 * The calling proctype declares the locals the steps use:
 *     bool ok; byte old; byte seen; byte spins;
 * and the model declares W_MUTEX (the word id of the mutex in word[]).
 *
 * Bounded spinning: the C code watches the word for a budget of pause
 * instructions with exponential backoff (src/spinwait.h).  The model replaces
 * the budget by a nondeterministic number of watch-and-CAS rounds, from 1 up
 * to SPIN_MAX: every bound the tuning knob can set is among the runs checked.
 *
 * `holders` counts the threads that hold the mutex; it changes in the same
 * atomic step as the CAS or exchange that takes or releases the word, so
 * (state == UNLOCKED) == (holders == 0) is an invariant of a correct mutex.
 */

#define UNLOCKED 0      /* WEFT_MUTEX_UNLOCKED: nobody holds it */
#define LOCKED 1        /* WEFT_MUTEX_LOCKED: held, nobody sleeps on it */
#define CONTENDED 2     /* WEFT_MUTEX_CONTENDED: held, threads may sleep on it */

#ifndef SPIN_MAX
#define SPIN_MAX 2
#endif

#define mutex_state word[W_MUTEX]

byte holders;           /* threads holding the mutex (the property's view) */

/* try_acquire(), src/mutex.c:36 (and the inline fast path of
 * weft__mutex_acquire(), include/weft/mutex.h:163, and weft_mutex_trylock(),
 * mutex.h:192): CAS UNLOCKED -> LOCKED. */
inline mutex_try_acquire(ok)
{
	atomic {
		if
		:: mutex_state == UNLOCKED -> mutex_state = LOCKED; holders++; ok = true
		:: else -> ok = false
		fi
	}
}

/* The CAS of weft__mutex_acquire_contended(), src/mutex.c:98:
 * CAS UNLOCKED -> CONTENDED. */
inline mutex_try_acquire_contended(ok)
{
	atomic {
		if
		:: mutex_state == UNLOCKED -> mutex_state = CONTENDED; holders++; ok = true
		:: else -> ok = false
		fi
	}
}

/* mark_contended(), src/mutex.c:70: exchange in CONTENDED; the caller holds
 * the lock iff the old state was UNLOCKED. */
inline mutex_mark_contended(old)
{
	atomic {
		old = mutex_state;
		mutex_state = CONTENDED;
		if
		:: old == UNLOCKED -> holders++
		:: else -> skip
		fi
	}
}

/* The watch loop of spin_acquire(), src/mutex.c:57-62 (try_acquire() as the
 * CAS), or of weft__mutex_acquire_contended(), mutex.c:93-101 (the CAS to
 * CONTENDED), as chosen by `contended`. */
inline mutex_spin(contended, ok)
{
	ok = false;
	spins = 1;
	do
	:: seen = mutex_state;                  /* mutex.c:59 / :97, relaxed load */
		if
		:: seen == UNLOCKED && !contended -> mutex_try_acquire(ok)             /* :60 */
		:: seen == UNLOCKED && contended -> mutex_try_acquire_contended(ok)    /* :98 */
		:: else -> skip
		fi;
		if
		:: ok -> break
		:: else -> skip
		fi;
		/* weft__spinwait_step() (wordlock.c, spin_acquire()): budget left or spent */
		if
		:: spins < SPIN_MAX -> spins++
		:: break
		fi
	od;
	spins = 0;
	seen = 0
}

/* The sleep loop of weft_mutex_lock_slow(), src/mutex.c:80-81 (and of
 * weft__mutex_acquire_contended(), mutex.c:102-103):
 *     while (!mark_contended()) weft__wait(&state, CONTENDED); */
inline mutex_sleep_loop(me)
{
	do
	:: mutex_mark_contended(old);
		if
		:: old == UNLOCKED -> break
		:: else -> futex_wait(me, W_MUTEX, CONTENDED)    /* mutex.c:81 */
		fi;
#ifdef BUG_MUTEX_WOKEN_TAKES_LOCKED
		/* BUG: a woken thread first tries the plain CAS to LOCKED (Drepper's
		 * mutex #2 mistake): holding LOCKED, its unlock wakes nobody although
		 * other threads may still sleep. */
		mutex_try_acquire(ok);
		if
		:: ok -> ok = false; break
		:: else -> skip
		fi
#else
		skip
#endif
	od;
	old = 0
}

/* weft_mutex_lock() -> weft__mutex_acquire(), include/weft/mutex.h:159-166,
 * and weft_mutex_lock_slow(), src/mutex.c:74-82. */
inline mutex_lock(me)
{
	mutex_try_acquire(ok);                  /* mutex.h:163, the fast path */
	if
	:: !ok ->
		mutex_try_acquire(ok);          /* mutex.c:78, try_acquire() */
		if
		:: !ok -> mutex_spin(false, ok) /* mutex.c:78, spin_acquire() */
		:: else -> skip
		fi;
		if
		:: !ok -> mutex_sleep_loop(me)  /* mutex.c:80-81 */
		:: else -> skip
		fi
	:: else -> skip
	fi;
	ok = false
}

/* weft__mutex_acquire_contended(), src/mutex.c:87-104: for a thread that may
 * have been requeued onto the mutex word by a broadcast. */
inline mutex_lock_contended(me)
{
#ifdef BUG_COND_REACQUIRE_LOCKED
	/* BUG: a thread that slept on the condition variable re-takes the mutex
	 * as an ordinary lock (LOCKED), so its unlock does not wake the threads
	 * a broadcast moved onto the mutex word with it. */
	mutex_lock(me)
#else
	mutex_spin(true, ok);                   /* mutex.c:93-101 */
	if
	:: !ok -> mutex_sleep_loop(me)          /* mutex.c:102-103 */
	:: else -> skip
	fi;
	ok = false
#endif
}

/* weft__mutex_release(), include/weft/mutex.h:168-177 (weft_mutex_unlock()). */
inline mutex_unlock(me)
{
	atomic {                                /* mutex.h:174, the release exchange */
		holders--;
		old = mutex_state;
		mutex_state = UNLOCKED
	};
	if
	:: old == CONTENDED ->
#ifndef BUG_MUTEX_UNLOCK_NO_WAKE
		futex_wake(W_MUTEX, 1)          /* mutex.h:176 -> mutex.c:110 */
#else
		/* BUG: CONTENDED is released without waking a sleeper. */
		skip
#endif
	:: else -> skip
	fi;
	old = 0
}
