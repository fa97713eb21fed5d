/* SPDX-License-Identifier: MIT */
/*
 * rwlock_bias.pml - weft_rwlock_t's reader bias (BRAVO: D. Dice, A. Kogan,
 * "BRAVO - Biased Locking for Reader-Writer Locks", USENIX ATC 2019) and the
 * REVOKING protocol of its trywrlock (include/weft/rwlock.h, src/rwlock.c,
 * include/weft/rwlock_bias.h, src/rwlock_bias.c), checked with Spin.
 *
 * The state word is split into fields (R, BIASED, REVOKING, WRITER); every
 * RMW of the word is one atomic step over all of them, as the CAS is.  Spin
 * interleaves steps under sequential consistency: that is what the seq_cst
 * handshake (reader: slot CAS, then state load; writer: BIASED clear, then
 * slot loads) provides, so the model checks the protocol, not the memory
 * orders of the other (acquire/release/relaxed) accesses.  The queue, WAITING
 * and PARKED are left out: a blocking writer here simply retries its CAS
 * (the queue only orders waiters and parks them; it never lets a writer take
 * WRITER in a state where the CAS below would not).
 *
 * Threads (each ITERS rounds):
 *   NREADERS readers: rdlock (biased if BIASED is set and the slot is free,
 *     else counted, waiting while WRITER); a counted reader may turn bias on;
 *   one try-writer: weft_rwlock_trywrlock() (plain CAS when unbiased, the
 *     REVOKING protocol when biased);
 *   one blocking/timed writer: takes WRITER, then revokes (clears BIASED,
 *     waits for each slot that holds the lock), or, as a timed writer that
 *     gives up, puts BIASED back and lets WRITER go.
 *
 * Checked (safety): in every critical section, no reader beside a writer and
 * no two writers (assertions), and every thread finishes (no invalid end
 * state).
 *
 * Bug switches (each must make Spin report an error; `make models` checks):
 *   BUG_RWB_TRY_NO_RECHECK   the try-writer's REVOKING -> WRITER CAS does not
 *                            demand R == 0 and BIASED clear
 *   BUG_RWB_TRY_NO_REBIAS    a try that finds a biased reader clears REVOKING
 *                            without putting BIASED back
 *   BUG_RWB_READER_NO_CHECK  a biased reader does not re-check the state after
 *                            claiming its slot
 */

#ifndef NREADERS
#define NREADERS 2
#endif
#ifndef ITERS
#define ITERS 1
#endif

byte R;          /* counted readers */
bool BIASED;
bool REVOKING;
bool WRITER;
bool slot[NREADERS]; /* slot[i]: reader i's table slot holds the lock */

byte readers_in; /* oracle: readers inside */
byte writers_in; /* oracle: writers inside */
byte finished;

inline read_section()
{
	readers_in++;
	assert(writers_in == 0);
	readers_in--
}

inline write_section()
{
	writers_in++;
	assert(writers_in == 1 && readers_in == 0);
	writers_in--
}

proctype reader(byte me)
{
	byte round;
	bool biased;
	do
	:: round < ITERS -> round++;
		biased = false;
		/* weft__rwlock_bias_enter(): claim the slot, then look at the state */
		if
		:: BIASED && !slot[me] ->
			slot[me] = true;            /* seq_cst CAS NULL -> lock */
#ifdef BUG_RWB_READER_NO_CHECK
			biased = true
#else
			if
			:: atomic { BIASED && !WRITER -> biased = true }   /* seq_cst load */
			:: else -> slot[me] = false  /* back out: release store of NULL */
			fi
#endif
		:: else -> skip
		fi;
		if
		:: biased -> skip
		:: else ->
			/* counted: (r, 0) -> (r+1, 0); the queue path waits the same way */
			atomic { !WRITER -> R++ };
			/* rwl_maybe_bias(): a reader holding a count may turn bias on */
			if
			:: skip; BIASED = true      /* fetch_or, any time inhibit allows */
			:: skip
			fi
		fi;
		read_section();
		if
		:: biased -> slot[me] = false   /* weft__rwlock_bias_leave() */
		:: else -> atomic { R-- }
		fi
	:: else -> break
	od;
	finished++
}

/* Whether some slot holds the lock, looked at slot by slot (the scan). */
inline scan(found)
{
	found = false;
	i = 0;
	do
	:: i < NREADERS ->
		if
		:: slot[i] -> found = true
		:: else -> skip
		fi;
		i++
	:: else -> break
	od
}

proctype try_writer()
{
	byte round, i;
	bool found, got, revoking;
	do
	:: round < ITERS -> round++;
		got = false;
		revoking = false;
		/* weft_rwlock_trywrlock(): writable = no R, WRITER, REVOKING */
		atomic {
			if
			:: R == 0 && !WRITER && !REVOKING && !BIASED -> WRITER = true; got = true
			:: R == 0 && !WRITER && !REVOKING && BIASED ->
				BIASED = false; REVOKING = true; revoking = true   /* seq_cst CAS */
			:: else -> skip
			fi
		};
		if
		:: revoking ->
			scan(found);
			if
			:: found ->
				/* rwl_end_revoking(rebias = true) */
				atomic {
#ifndef BUG_RWB_TRY_NO_REBIAS
					BIASED = true;
#endif
					REVOKING = false
				}
			:: else ->
				atomic {
#ifdef BUG_RWB_TRY_NO_RECHECK
					REVOKING = false; WRITER = true; got = true
#else
					if
					:: R == 0 && !BIASED -> REVOKING = false; WRITER = true; got = true
					:: else -> REVOKING = false       /* a reader came in: fail */
					fi
#endif
				}
			fi
		:: else -> skip
		fi;
		if
		:: got ->
			write_section();
			WRITER = false                /* wrunlock */
		:: else -> skip
		fi
	:: else -> break
	od;
	finished++
}

proctype writer()
{
	byte round, i;
	bool gave_up;
	do
	:: round < ITERS -> round++;
		gave_up = false;
		/* take WRITER: writable, then CAS (the queue path ends the same way) */
		atomic { R == 0 && !WRITER && !REVOKING -> WRITER = true };
		/* rwl_revoke() */
		if
		:: BIASED ->
			BIASED = false;               /* seq_cst fetch_and */
			i = 0;
			do
			:: i < NREADERS ->
				if
				:: !slot[i] -> i++          /* seq_cst slot load */
				:: slot[i] ->
					if
					:: skip                   /* wait (rwl_wait_slot) */
					:: skip -> gave_up = true; break   /* a timed writer's deadline */
					fi
				fi
			:: else -> break
			od
		:: else -> skip
		fi;
		if
		:: gave_up ->
			BIASED = true;                /* put bias back, then let WRITER go */
			WRITER = false
		:: else ->
			write_section();
			WRITER = false
		fi
	:: else -> break
	od;
	finished++
}

init {
	byte k;
	atomic {
		BIASED = true;
		k = 0;
		do
		:: k < NREADERS -> run reader(k); k++
		:: else -> break
		od;
		run try_writer();
		run writer()
	}
	(finished == NREADERS + 2);
	assert(R == 0 && !WRITER && !REVOKING && readers_in == 0 && writers_in == 0)
}
