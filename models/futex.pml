/* SPDX-License-Identifier: MIT */
/*
 * futex.pml - the futex wait/wake layer of src/wait.h (src/wait_futex.c),
 * shared by mutex.pml, cond.pml and sem.pml.
 *
 * A model includes this file after it has declared
 *     byte word[NWORDS];      the futex words, word ids 1..NWORDS-1
 * Thread ids are 0..NTHREADS-1 (at most MAXTHREADS).
 *
 * What is modelled (futex(2)):
 *  - futex_wait(me, w, expected): weft__wait() = FUTEX_WAIT.  In one atomic
 *    step the kernel compares word[w] with expected and, if they are equal,
 *    puts the thread to sleep on w; otherwise it returns at once (EAGAIN).  A
 *    sleeping thread runs again only when a wake or requeue takes it off the
 *    word, or spuriously (EINTR and the like): at most SPURIOUS spurious
 *    wake-ups happen in a whole run, each at any moment the model checker
 *    chooses.  Bounding them keeps a lost wake-up visible: with unbounded
 *    spurious wake-ups no sleeper would ever be stuck.
 *  - futex_wake(w, n): weft__wake() = FUTEX_WAKE.  One atomic step wakes
 *    min(n, sleepers on w) of the threads asleep on w.  Which ones is left to
 *    the model checker (the kernel's FIFO order is not relied on).
 *  - futex_requeue(w, expected, nwake, target, rc): weft__requeue() =
 *    FUTEX_CMP_REQUEUE.  One atomic step: if word[w] != expected, rc = EBUSY
 *    and nothing happens; else wake nwake sleepers of w and move all the other
 *    sleepers of w, still asleep, onto target; rc = OK.
 *  - Timeouts (deadlines) and the process-shared flavour are not modelled.
 */

#ifndef MAXTHREADS
#define MAXTHREADS 4
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif

#define NOWHERE 0       /* asleep_on[t]: thread t is not asleep */
#define WEFT_OK 0
#define WEFT_EBUSY 1

byte asleep_on[MAXTHREADS];     /* NOWHERE, or the word the thread sleeps on */
byte spurious_left = SPURIOUS;  /* spurious wake-ups the run may still have */
hidden byte futex_left;         /* scratch of one atomic futex step */
hidden byte futex_i;

#define asleep(t) (asleep_on[t] != NOWHERE)

/* weft__wait(&word[w], expected, NULL, 0): src/wait_futex.c:33 */
inline futex_wait(me, w, expected)
{
	atomic {
		if
		:: word[w] == expected -> asleep_on[me] = w
		:: else -> skip        /* EAGAIN: the word changed already */
		fi
	};
	/* Asleep: runs on only when a wake or requeue cleared asleep_on[me] (a
	 * requeue only changes the word it sleeps on), or spuriously. */
	if
	:: asleep_on[me] == NOWHERE
	:: atomic { asleep_on[me] != NOWHERE && spurious_left > 0 ->
		spurious_left--; asleep_on[me] = NOWHERE }
	fi
}

/* Wake min(n, sleepers on w) sleepers of w, any of them (inside an atomic). */
inline futex_wake_some(w, n)
{
	futex_left = n;
	do
	:: futex_left == 0 -> break
	:: else ->
		if
		:: asleep_on[0] == w -> asleep_on[0] = NOWHERE
		:: MAXTHREADS > 1 && asleep_on[1] == w -> asleep_on[1] = NOWHERE
		:: MAXTHREADS > 2 && asleep_on[2] == w -> asleep_on[2] = NOWHERE
		:: MAXTHREADS > 3 && asleep_on[3] == w -> asleep_on[3] = NOWHERE
		:: else -> break
		fi;
		futex_left--
	od;
	futex_left = 0
}

/* weft__wake(&word[w], n, 0): src/wait_futex.c:47 (n = 255 stands for
 * INT32_MAX, "all": there are never that many threads) */
inline futex_wake(w, n)
{
	atomic { futex_wake_some(w, n) }
}

/* weft__requeue(&word[w], expected, nwake, &word[target], 0):
 * src/wait_futex.c:55 (FUTEX_CMP_REQUEUE; EAGAIN becomes WEFT_EBUSY) */
inline futex_requeue(w, expected, nwake, target, rc)
{
	atomic {
		if
		:: word[w] != expected -> rc = WEFT_EBUSY
		:: else ->
			futex_wake_some(w, nwake);
			futex_i = 0;
			do
			:: futex_i < MAXTHREADS ->
				if
				:: asleep_on[futex_i] == w -> asleep_on[futex_i] = target
				:: else -> skip
				fi;
				futex_i++
			:: else -> break
			od;
			futex_i = 0;
			rc = WEFT_OK
		fi
	}
}
