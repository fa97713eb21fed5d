/* SPDX-License-Identifier: MIT */
/*
 * mutex_impl.pml - weft_mutex_t's lock and unlock paths, step by step: the
 * futex word lock of src/wordlock.{h,c} with its hand-off (Drepper, "Futexes
 * Are Tricky", 2011, mutex #3; the eventual fairness of WebKit's WTF::Lock,
 * parking_lot and Linux's MUTEX_FLAG_HANDOFF).  Included by mutex.pml,
 * mutex_fair.pml and cond.pml after a futex layer (futex.pml, or the FIFO one
 * of mutex_fair.pml).
 *
 * The word, in a byte: the state in bits 0..1 (UNLOCKED, LOCKED, CONTENDED,
 * HANDOFF), the registered sleepers (WAITERS) in bits 2..3, the starving ones
 * in bits 4..5, the FIFO tag in bit 6 (the C word: bits 2..16, 17..29, 30).
 * Three threads fit; the C code's saturation of full counts is not modelled.
 * The pshared bit is left out: it only selects the futex flavour.
 *
 * Each atomic { } below is one atomic instruction of the C code.  A step of
 * the C code that loads the word and then CASes it is one atomic step here:
 * a CAS that fails because the word changed since the load only makes the C
 * code load again, which the model's interleavings already contain.
 *
 * Per-thread state of a lock call (the C code's struct parked and `slept`)
 * is kept in arrays indexed by the thread id, so that callers need declare
 * only:   bool ok; byte old; byte seen; byte spins;
 * and the model declares W_MUTEX (the word id of the mutex in word[]).
 *
 * Starving: the C code counts a registered waiter starving when it is woken,
 * loses, and has waited longer than the fairness bound.  Time is not
 * modelled: a woken registered waiter that loses may count itself starving
 * or not, as the model checker chooses, which covers every bound.
 *
 * Timeouts (weft_mutex_timedlock()): a timed waiter may, instead of going to
 * sleep, find its deadline passed (`timed`); it then gives up by give_up()'s
 * CAS.  (A timeout while asleep is the same: the kernel removes a timed-out
 * sleeper from the queue, so it receives no wake-up in the meantime.)
 *
 * `holders` counts the threads that hold the mutex; it changes in the same
 * atomic step as the CAS that takes or releases the word, so
 * (state is UNLOCKED or HANDOFF) == (holders == 0) is an invariant of a
 * correct mutex.
 */

#define UNLOCKED 0      /* WEFT__WORD_UNLOCKED: nobody holds it */
#define LOCKED 1        /* WEFT__WORD_LOCKED: held, nobody sleeps on it */
#define CONTENDED 2     /* WEFT__WORD_CONTENDED: held, threads may sleep on it */
#define HANDOFF 3       /* WEFT__WORD_HANDOFF: released to a parked waiter */
#define STATE_MASK 3
#define WAITER_ONE 4
#define WAITER_MASK 12
#define STARVING_ONE 16
#define STARVING_MASK 48
#define FIFO_BIT 64

#ifndef SPIN_MAX
#define SPIN_MAX 2
#endif

#define mutex_state word[W_MUTEX]

/* A model may watch acquisitions (mutex_fair.pml counts overtakes): @parked
 * is false for the fast path, the spin and trylock, true for a parked (or
 * requeued) thread. */
#ifndef mutex_acquired
#define mutex_acquired(me, parked) skip
#endif
#define mstate(v) ((v) & STATE_MASK)

byte holders;           /* threads holding the mutex (the property's view) */

/* struct parked of src/wordlock.c, and `slept`, per thread */
bool m_reg[MAXTHREADS];   /* counted in WAITERS */
bool m_starv[MAXTHREADS]; /* counted in STARVING */
bool m_elig[MAXTHREADS];  /* may take a HANDOFF word: registered, slept, or requeued */
bool m_slept[MAXTHREADS];
bool m_timed[MAXTHREADS]; /* a timed lock call whose deadline passed: it gave up */

/* The word less my counts (without_me(), wordlock.c): what my acquisition or
 * my leaving writes.  Counts are never at zero when I am counted in them. */
#define without_me(me, v) ((v) - (m_reg[me] -> WAITER_ONE : 0) - (m_starv[me] -> STARVING_ONE : 0))

/* take(), wordlock.c: the CAS of UNLOCKED (or, if eligible, HANDOFF) to
 * CONTENDED that removes my counts.  Inside an atomic step. */
inline mutex_take(me)
{
#ifdef BUG_MUTEX_WOKEN_TAKES_LOCKED
	/* BUG: a woken thread takes the lock as LOCKED (Drepper's mutex #2
	 * mistake): holding LOCKED, its unlock wakes nobody although other
	 * threads may still sleep. */
	mutex_state = (without_me(me, mutex_state) & ~STATE_MASK) | LOCKED;
#else
	mutex_state = (without_me(me, mutex_state) & ~STATE_MASK) | CONTENDED;
#endif
	holders++;
	mutex_acquired(me, true);
	ok = true
}

inline mutex_clear_me(me)
{
	m_reg[me] = false; m_starv[me] = false; m_elig[me] = false; m_slept[me] = false; m_timed[me] = false
}

/* weft__wordlock_trylock(), wordlock.h (and the inline fast paths of
 * weft_mutex_lock() and weft_mutex_trylock(), which are the same CAS on a
 * word without counts): state UNLOCKED -> LOCKED, the counts kept. */
inline mutex_try_acquire(me, ok)
{
	atomic {
		if
		:: mstate(mutex_state) == UNLOCKED -> mutex_state = mutex_state | LOCKED; holders++; mutex_acquired(me, false); ok = true
		:: else -> ok = false
		fi
	}
}

/* spin_acquire(), wordlock.c: watch the word; take state UNLOCKED (or, for a
 * requeued thread, `contended`, HANDOFF too) as LOCKED (CONTENDED). */
inline mutex_spin(me, contended, ok)
{
	ok = false;
	spins = 1;
	do
	:: atomic {
		seen = mutex_state;                     /* the relaxed load */
		if
		:: mstate(seen) == UNLOCKED && !contended ->
			mutex_state = seen | LOCKED; holders++; mutex_acquired(me, false); ok = true
		:: (mstate(seen) == UNLOCKED || mstate(seen) == HANDOFF) && contended ->
			mutex_state = (seen & ~STATE_MASK) | CONTENDED; holders++; mutex_acquired(me, true); ok = true
		:: else -> skip
		fi
	   };
		if
		:: ok -> break
		:: else -> skip
		fi;
		/* weft__spinwait_step(): budget left or spent */
		if
		:: spins < SPIN_MAX -> spins++
		:: break
		fi
	od;
	spins = 0;
	seen = 0
}

#ifdef BUG_MUTEX_GIVE_UP_DROPS_HANDOFF
/* BUG: a timed waiter whose deadline passes removes its registration and
 * leaves, although the word was handed off on its account. */
#define GIVE_UP_TAKES_HANDOFF(me) false
#else
#define GIVE_UP_TAKES_HANDOFF(me) m_elig[me]
#endif

/* give_up(), wordlock.c: the deadline passed.  Take the word if it is free
 * or handed off (and we may take it), else remove our counts and leave. */
inline mutex_give_up(me)
{
	atomic {
		if
		:: (mstate(mutex_state) == UNLOCKED || (mstate(mutex_state) == HANDOFF && GIVE_UP_TAKES_HANDOFF(me))) ->
			mutex_take(me)
		:: else -> mutex_state = without_me(me, mutex_state); m_timed[me] = true
		fi
	}
}

/* park(), wordlock.c: register, sleep, take the word when free or handed
 * off.  @requeued: weft__wordlock_lock_contended()'s park.  @timed: the call
 * has a deadline (it may pass at any time). */
inline mutex_park(me, requeued, timed)
{
	m_elig[me] = requeued;
	do
	:: atomic {
		seen = mutex_state;
		if
		:: mstate(seen) == UNLOCKED || (mstate(seen) == HANDOFF && m_elig[me]) ->
			mutex_take(me)
		:: mstate(seen) == HANDOFF && !m_elig[me] -> skip       /* sleep on it */
		:: mstate(seen) != UNLOCKED && mstate(seen) != HANDOFF && !m_reg[me] &&
		   (seen & FIFO_BIT) && (seen & WAITER_MASK) != WAITER_MASK ->
			/* a FIFO word: register, WAITERS + 1, state CONTENDED */
			mutex_state = ((seen & ~STATE_MASK) | CONTENDED) + WAITER_ONE;
			m_reg[me] = true; m_elig[me] = true
		:: mstate(seen) != UNLOCKED && mstate(seen) != HANDOFF && (m_reg[me] || !(seen & FIFO_BIT)) &&
		   m_slept[me] && !m_starv[me] && (seen & STARVING_MASK) == 0 ->
			/* woken, beaten, past the bound (time is not modelled: Spin
			 * chooses), nobody else starving: STARVING + 1 */
			mutex_state = ((seen & ~STATE_MASK) | CONTENDED) + STARVING_ONE;
			m_starv[me] = true
		:: mstate(seen) != UNLOCKED && mstate(seen) != HANDOFF &&
		   (m_reg[me] || !(seen & FIFO_BIT) || (seen & WAITER_MASK) == WAITER_MASK) ->
			/* not (yet) starving: mark CONTENDED */
			mutex_state = (seen & ~STATE_MASK) | CONTENDED
		fi;
		seen = mutex_state
	   };
		if
		:: ok -> break
		:: else -> skip
		fi;
		if
		:: timed -> mutex_give_up(me)           /* the deadline passed */
		:: true -> futex_wait(me, W_MUTEX, seen)
		fi;
		if
		:: ok || m_timed[me] -> break
		:: else -> m_slept[me] = true; m_elig[me] = true
		fi
	od;
	seen = 0
}

/* weft_mutex_lock() (the inline CAS, then weft__wordlock_lock(): spin, park);
 * weft_mutex_timedlock() with @timed.  ok: whether the caller holds it. */
inline mutex_lock_maybe_timed(me, timed)
{
	ok = false;
	mutex_try_acquire(me, ok);              /* mutex.h, the fast path */
	if
	:: !ok -> mutex_spin(me, false, ok)     /* wordlock.c, spin_acquire() */
	:: else -> skip
	fi;
	if
	:: !ok -> mutex_park(me, false, timed)  /* wordlock.c, park() */
	:: else -> skip
	fi;
	mutex_clear_me(me)
}

inline mutex_lock(me)
{
	mutex_lock_maybe_timed(me, false);
	ok = false
}

/* weft__wordlock_lock_contended(), wordlock.c: for a thread that may have
 * been requeued onto the mutex word by a broadcast. */
inline mutex_lock_contended(me)
{
#ifdef BUG_COND_REACQUIRE_LOCKED
	/* BUG: a thread that slept on the condition variable re-takes the mutex
	 * as an ordinary lock (LOCKED), so its unlock does not wake the threads
	 * a broadcast moved onto the mutex word with it. */
	mutex_lock(me)
#else
	mutex_spin(me, true, ok);
	if
	:: !ok -> mutex_park(me, true, false)
	:: else -> skip
	fi;
	mutex_clear_me(me);
	ok = false
#endif
}

/* weft_mutex_unlock() (the inline CASes, else weft__wordlock_release())
 * and, with @fair, weft_mutex_unlock_fair().  `seen` records the kind of
 * release: 0 plain, 1 counted hand-off, 2 blind hand-off, 3 taken back. */
inline mutex_unlock_maybe_fair(me, fair, contended)
{
	atomic {                                /* the release CAS */
		holders--;
		old = mutex_state;
		if
#ifndef BUG_MUTEX_UNLOCK_NO_HANDOFF
		:: (old & STARVING_MASK) != 0 || ((fair || (old & FIFO_BIT)) && (old & WAITER_MASK) != 0) ->
			mutex_state = (old & ~STATE_MASK) | HANDOFF; seen = 1
		:: (old & STARVING_MASK) == 0 && !((fair || (old & FIFO_BIT)) && (old & WAITER_MASK) != 0) &&
		   (fair || (old & FIFO_BIT)) && (contended || mstate(old) == CONTENDED) ->
			mutex_state = (old & ~STATE_MASK) | HANDOFF; seen = 2
#endif
		:: else -> mutex_state = old & ~STATE_MASK; seen = 0
		fi
	};
	if
	:: seen == 2 ->
		/* the blind hand-off's wake-up, which reports whether it woke a
		 * sleeper of the word (weft__wake()'s count) */
		atomic {
			spins = (asleep_on[0] == W_MUTEX || asleep_on[1] == W_MUTEX ||
				 (MAXTHREADS > 2 && asleep_on[2] == W_MUTEX) || (MAXTHREADS > 3 && asleep_on[3] == W_MUTEX));
			futex_wake_some(W_MUTEX, 1)
		};
		if
		:: spins -> skip
		:: else ->
#ifndef BUG_MUTEX_BLIND_HANDOFF_KEPT
			/* woke nobody: take it back, and wake one more */
			atomic {
				if
				:: mstate(mutex_state) == HANDOFF && (mutex_state & STARVING_MASK) == 0 &&
				   !((fair || (mutex_state & FIFO_BIT)) && (mutex_state & WAITER_MASK) != 0) ->
					mutex_state = mutex_state & ~STATE_MASK; seen = 3
				:: else -> skip
				fi
			};
			if
			:: seen == 3 -> futex_wake(W_MUTEX, 1)
			:: else -> skip
			fi
#else
			/* BUG: the hand-off is kept although nobody was woken */
			skip
#endif
		fi;
		spins = 0
	:: seen == 1 || (seen == 0 && (contended || mstate(old) == CONTENDED)) ->
#ifndef BUG_MUTEX_UNLOCK_NO_WAKE
		futex_wake(W_MUTEX, 1)
#else
		/* BUG: the word is released without waking a sleeper. */
		skip
#endif
	:: else -> skip
	fi;
	old = 0;
	seen = 0
}

/* weft_mutex_unlock(): weft__mutex_release(), mutex.h.  The holder's look
 * (a relaxed load); if it saw LOCKED with nobody starving and no FIFO tag,
 * fetch_sub(LOCKED): from LOCKED that frees the word, counts kept; from
 * CONTENDED (a waiter marked it since the look) it leaves LOCKED, still
 * held, and weft__wordlock_release_contended() releases it as the CONTENDED
 * word it was (the release above with @contended).  Anything else: the
 * release above at once. */
inline mutex_unlock(me)
{
	atomic { seen = mutex_state };          /* the relaxed look */
	if
	:: (seen & (STATE_MASK | STARVING_MASK | FIFO_BIT)) == LOCKED ->
		atomic {                        /* the fetch_sub */
			old = mutex_state;
			assert(mstate(old) == LOCKED || mstate(old) == CONTENDED);
			/* the counts are added only with the CONTENDED mark:
			 * a LOCKED word has nobody starving */
			assert(mstate(old) != LOCKED || (old & STARVING_MASK) == 0);
#ifndef BUG_MUTEX_FAST_UNLOCK_FREES_ANY
			mutex_state = old - LOCKED;
			if
			:: mstate(old) == LOCKED -> holders--
			:: else -> skip
			fi
#else
			/* BUG: the RMW frees the word whatever it found (an
			 * exchange with UNLOCKED would): a CONTENDED mark set
			 * since the look is lost, and nobody is woken */
			mutex_state = old & ~STATE_MASK;
			holders--;
			old = (old & ~STATE_MASK) | LOCKED
#endif
		};
		if
		:: mstate(old) == LOCKED -> old = 0; seen = 0
		:: else -> mutex_unlock_maybe_fair(me, false, true)
		fi
	:: else -> mutex_unlock_maybe_fair(me, false, false)
	fi
}
