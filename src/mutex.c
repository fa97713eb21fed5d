/* SPDX-License-Identifier: MIT */
/*
 * mutex.c - the contended paths of weft_mutex_t.  The algorithm, its states and
 * its source are described at the top of include/weft/mutex.h; the word lock
 * itself (spin, park, wake: Drepper's mutex #3) is src/wordlock.c, shared with
 * the rwlock's queue and the brlock's writers.  The mutex adds its spin bound
 * and its process-shared bit (the word lock's constant tag).
 *
 * No TSan annotation, owner mark or lock-order record is made here: they are
 * in the inline calls of weft/mutex.h (weft/lockhooks.h), so that a TSan
 * program linked against a release library sees them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() under -std=c11 */
#endif
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wordlock.h"
#include "weft/deadline.h"
#include "weft/mutex.h"
#include "weft/status.h"

WEFT_STATIC_ASSERT(WEFT_MUTEX_UNLOCKED == WEFT__WORD_UNLOCKED && WEFT_MUTEX_LOCKED == WEFT__WORD_LOCKED &&
			   WEFT_MUTEX_CONTENDED == WEFT__WORD_CONTENDED &&
			   WEFT_MUTEX_STATE_MASK == WEFT__WORD_STATE_MASK,
		   "the mutex word is a word lock (src/wordlock.h)");

/* relaxed everywhere: a tuning value, read once per contended lock */
static unsigned mutex_spin = WEFT_MUTEX_SPIN_DEFAULT;

unsigned weft_mutex_set_spin(unsigned pauses)
{
	return weft_atomic_exchange(&mutex_spin, pauses, WEFT_RELAXED);
}

/* The word lock's tag: the pshared bit.  relaxed: fixed at init. */
static uint32_t mutex_tag(const weft_mutex_t *mutex)
{
	return weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_PSHARED_BIT;
}

static unsigned wait_flags(uint32_t tag)
{
	return tag ? WEFT_PSHARED : 0u;
}

bool weft_mutex_trylock_slow(weft_mutex_t *mutex)
{
	return weft__wordlock_trylock(&mutex->state, mutex_tag(mutex));
}

void weft_mutex_lock_slow(weft_mutex_t *mutex)
{
	uint32_t tag = mutex_tag(mutex);
	(void)weft__wordlock_lock(&mutex->state, tag, weft_atomic_load(&mutex_spin, WEFT_RELAXED), NULL,
				  wait_flags(tag));
}

void weft__mutex_acquire_contended(weft_mutex_t *mutex)
{
	uint32_t tag = mutex_tag(mutex);
	weft__wordlock_lock_contended(&mutex->state, tag, weft_atomic_load(&mutex_spin, WEFT_RELAXED),
				      wait_flags(tag));
}

void weft_mutex_wake_slow(weft_mutex_t *mutex)
{
	weft__wordlock_wake(&mutex->state, wait_flags(mutex_tag(mutex)));
}

int weft_mutex_timedlock_slow(weft_mutex_t *mutex, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	uint32_t tag = mutex_tag(mutex);
	return weft__wordlock_lock(&mutex->state, tag, weft_atomic_load(&mutex_spin, WEFT_RELAXED), deadline,
				   wait_flags(tag));
}

/*
 * weft__debug_tid_foreign() - whether kernel thread @tid is not a thread of
 * the calling process (tgkill with signal 0 checks without sending).  ESRCH
 * also answers for a thread of ours that has exited, so callers re-read the
 * owner mark before they believe it.
 */
bool weft__debug_tid_foreign(uint32_t tid);
bool weft__debug_tid_foreign(uint32_t tid)
{
#if defined(__linux__) && defined(SYS_tgkill)
	int saved_errno = errno;
	bool foreign = syscall(SYS_tgkill, (long)getpid(), (long)tid, 0) != 0 && errno == ESRCH;
	errno = saved_errno;
	return foreign;
#else
	(void)tid;
	return false;
#endif
}

void weft__mutex_debug_pshared_slow(weft_mutex_t *mutex, uint32_t owner)
{
	if (!weft__debug_tid_foreign(owner))
		return;
	/* relaxed: diagnostics.  Still held by the same thread?  Then it was not
	 * one of ours that exited meanwhile.  (A release-built library called by
	 * a WEFT_DEBUG program does not see the owner field: it re-checks the
	 * word only.) */
#ifdef WEFT_DEBUG
	if (weft_atomic_load(&mutex->owner, WEFT_RELAXED) != owner)
		return;
#endif
	if (!(weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT_MUTEX_STATE_MASK))
		return;
	char msg[200];
	snprintf(msg, sizeof msg,
		 "used by two processes (held by thread %u of another one) but initialized without WEFT_PSHARED: "
		 "initialize it with weft_mutex_init(mutex, WEFT_PSHARED)",
		 owner);
	weft_debug_die("weft_mutex_t", mutex, msg);
}
