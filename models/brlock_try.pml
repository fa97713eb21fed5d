/* SPDX-License-Identifier: MIT */
/*
 * brlock_try.pml - weft_brlock_t's reader/writer handshake with the trywrlock's
 * TRY/VETO protocol (include/weft/brlock.h, src/brlock.c), checked with Spin.
 *
 * Each reader has its own slot (the slot count); the writer word is split into
 * ACTIVE, TRY and VETO; each RMW of a word is one atomic step.  Spin
 * interleaves steps under sequential consistency, which the seq_cst handshake
 * (reader: slot increment, then writer-word load; writer: set ACTIVE, then
 * slot loads) and the seq_cst veto/confirm CASes provide.  Sleeping (PARKED,
 * SLOT_WAITER) is left out: waiters here retry, which the futex waits only
 * make cheaper.
 *
 * Threads: NREADERS readers, each ITERS times a tryrdlock (or an rdlock that
 * retries until in); one try-writer (first look, writers' mutex by trylock,
 * ACTIVE|TRY, sweep, confirm unless vetoed); one blocking writer (writers'
 * mutex, ACTIVE, wait for each slot).
 *
 * Checked (safety): no reader beside a writer, no two writers (assertions),
 * every thread finishes.  A reader fails (or waits) only on ACTIVE without
 * TRY, which only a blocking writer or a confirmed trywrlock (one that then
 * holds the lock) leaves in the word: that is the "no spurious read failure"
 * of issue 12, true here by construction; the exclusion runs show that the
 * veto that buys it is safe.
 *
 * Bug switches (each must make Spin report an error; `make models` checks):
 *   BUG_BRT_CONFIRM_IGNORES_VETO  the trywrlock confirms even after a veto
 *   BUG_BRT_VETO_WITHOUT_TRY      a reader that sees ACTIVE without TRY comes
 *                                 in anyway (vetoes a writer that holds)
 */

#ifndef NREADERS
#define NREADERS 2
#endif
#ifndef ITERS
#define ITERS 1
#endif

byte slot[NREADERS];
bool ACTIVE, TRY, VETO;
bool wlock;

byte readers_in, writers_in, finished;

inline release_writer()
{
	atomic { ACTIVE = false; TRY = false; VETO = false };   /* exchange to 0 */
	wlock = false
}

proctype reader(byte me)
{
	byte round;
	bool in, try;
	do
	:: round < ITERS -> round++;
		if
		:: try = true
		:: try = false
		fi;
again:
		in = false;
		slot[me]++;                            /* seq_cst fetch_add */
		atomic {
			if
			:: !ACTIVE -> in = true            /* seq_cst load */
			:: ACTIVE && TRY -> VETO = true; in = true   /* weft_brlock_veto_slow() */
#ifdef BUG_BRT_VETO_WITHOUT_TRY
			:: ACTIVE && !TRY -> in = true
#else
			:: ACTIVE && !TRY -> skip          /* a blocking writer sweeps, or a
			                                      trywrlock confirmed: it holds */
#endif
			fi
		};
		if
		:: in ->
			readers_in++;
			assert(writers_in == 0);
			readers_in--;
			slot[me]--                         /* rdunlock */
		:: else ->
			slot[me]--;                        /* take the count back */
			if
			:: try -> skip                     /* tryrdlock fails */
			:: else -> (!ACTIVE || TRY); goto again   /* rdlock: wait, retry */
			fi
		fi
	:: else -> break
	od;
	finished++
}

proctype try_writer()
{
	byte round, i;
	bool found, got;
	do
	:: round < ITERS -> round++;
		got = false;
		/* brl_any_reader(): the first look */
		found = false;
		i = 0;
		do
		:: i < NREADERS -> if :: slot[i] > 0 -> found = true :: else -> skip fi; i++
		:: else -> break
		od;
		if
		:: found -> skip
		:: else ->
			atomic {
				if
				:: !wlock -> wlock = true; got = true   /* word lock trylock */
				:: else -> skip
				fi
			};
			if
			:: got ->
				atomic { ACTIVE = true; TRY = true };   /* seq_cst fetch_or */
				found = false;
				i = 0;
				do
				:: i < NREADERS -> if :: slot[i] > 0 -> found = true; break :: else -> i++ fi
				:: else -> break
				od;
				if
				:: found -> release_writer(); got = false
				:: else ->
					atomic {
#ifdef BUG_BRT_CONFIRM_IGNORES_VETO
						TRY = false
#else
						if
						:: VETO -> got = false
						:: else -> TRY = false            /* confirm CAS */
						fi
#endif
					};
					if
					:: !got -> release_writer()
					:: else -> skip
					fi
				fi
			:: else -> skip
			fi
		fi;
		if
		:: got ->
			writers_in++;
			assert(writers_in == 1 && readers_in == 0);
			writers_in--;
			release_writer()
		:: else -> skip
		fi
	:: else -> break
	od;
	finished++
}

proctype writer()
{
	byte round, i;
	do
	:: round < ITERS -> round++;
		atomic { !wlock -> wlock = true };
		ACTIVE = true;                                  /* seq_cst fetch_or */
		i = 0;
		do
		:: i < NREADERS -> (slot[i] == 0); i++          /* drain each slot */
		:: else -> break
		od;
		writers_in++;
		assert(writers_in == 1 && readers_in == 0);
		writers_in--;
		release_writer()
	:: else -> break
	od;
	finished++
}

init {
	byte k;
	atomic {
		k = 0;
		do
		:: k < NREADERS -> run reader(k); k++
		:: else -> break
		od;
		run try_writer();
		run writer()
	}
	(finished == NREADERS + 2);
	assert(!ACTIVE && !wlock && readers_in == 0 && writers_in == 0)
}
