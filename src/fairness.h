/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_FAIRNESS_H
#define WEFT_SRC_FAIRNESS_H

/*
 * fairness.h - the one bound on how long a sleeper may be overtaken, and its
 * clock, for every weft lock that lets arriving threads barge ahead of woken
 * ones (the word lock of src/wordlock.h: weft_mutex_t, the rwlock's queue,
 * the brlock's writers; weft_sem_t's waiters).
 *
 * Eventual fairness, after WebKit's WTF::Lock (F. Pizlo, "Locking in WebKit",
 * 2016: a fair hand-off about once a millisecond), Rust's parking_lot
 * (`FairTimeout`: a waiter's unlock is made fair after ~0.5 ms on average)
 * and Linux's mutex (kernel/locking/mutex.c, MUTEX_FLAG_HANDOFF: a waiter that
 * keeps losing asks for the lock to be handed to it).  A waiter notes the
 * time of its first sleep (weft__fair_start(), once per acquisition, in the
 * slow path only); each time it is woken and loses the race again it asks
 * weft__fair_starving(); once that says yes it announces itself, and the next
 * release hands the lock to a sleeper instead of freeing it.
 *
 * Hand-offs are also rate-limited per lock, as parking_lot's fair timeout
 * is: a hand-off costs a wake-up with the lock idle meanwhile, and with many
 * threads asleep on a busy lock most of them are past the bound, so a
 * hand-off at every unlock would turn the lock into a convoy.  A waiter may
 * count itself starving only if nobody else is (the word lock checks its
 * STARVING count) and the lock had no hand-off in the last bound
 * (weft__fair_handoff_allowed(); the thread that takes a hand-off notes it
 * with weft__fair_handoff_taken()).  The times live in a small table hashed
 * by the lock's address (parking_lot keeps its timeout in its hash buckets):
 * locks that share a slot share the rate, which only delays a hand-off.
 *
 * The bound is a process-wide setting (weft_mutex_set_fair_bound()), read
 * with a relaxed load: a waiter that sees an old value for a moment only
 * starves a moment more or less.  docs/mutex.md has the sweep that chose the
 * default.
 */

#include <stdbool.h>
#include <stdint.h>

/* A waiter's stopwatch: 0 = not started (no sleep yet). */
struct weft__fair_clock {
	uint64_t since_ns; /* CLOCK_MONOTONIC ns of the first sleep, or 0 */
};

/* Start the stopwatch if it is not running (the first sleep). */
void weft__fair_start(struct weft__fair_clock *clock);

/* Whether the waiter has waited longer than the bound since its first sleep
 * (false if the stopwatch never started). */
bool weft__fair_starving(const struct weft__fair_clock *clock);

/* The bound now, in nanoseconds. */
uint64_t weft__fair_bound_ns(void);

/* Whether the lock at @lock had no hand-off in the last bound. */
bool weft__fair_handoff_allowed(const void *lock);

/* A hand-off of the lock at @lock was just taken. */
void weft__fair_handoff_taken(const void *lock);

#endif /* WEFT_SRC_FAIRNESS_H */
