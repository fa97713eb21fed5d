/* SPDX-License-Identifier: MIT */
/*
 * mutex.c - the contended paths of weft_mutex_t.  The algorithm, its states and
 * its source are described at the top of include/weft/mutex.h; the word lock
 * itself (spin, park, wake: Drepper's mutex #3) is src/wordlock.c, shared with
 * the rwlock's queue and the brlock's writers; the fairness bound is
 * src/fairness.c.  The mutex adds its spin bound and its process-shared and
 * FIFO bits (the word lock's constant tag).
 *
 * No TSan annotation, owner mark or lock-order record is made here: they are
 * in the inline calls of weft/mutex.h (weft/lockhooks.h), so that a TSan
 * program linked against a release library sees them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() under -std=c11 */
#endif
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wordlock.h"
#include "weft/deadline.h"
#include "weft/mutex.h"
#include "weft/brlock.h"
#include "weft/rwlock.h"
#include "weft/status.h"

WEFT_STATIC_ASSERT(WEFT_MUTEX_PSHARED_BIT == 0x80000000u && offsetof(weft_mutex_t, state) == 0 &&
			   WEFT_RWLOCK_PSHARED_BIT == 0x80000000u && offsetof(weft_rwlock_t, state) == 0 &&
			   WEFT_BRLOCK_PSHARED_BIT == 0x80000000u && offsetof(weft_brlock_t, writer) == 0,
		   "weft__debug_pshared_holder() reads the pshared bit in bit 31 of the first word");

WEFT_STATIC_ASSERT(WEFT_MUTEX_UNLOCKED == WEFT__WORD_UNLOCKED && WEFT_MUTEX_LOCKED == WEFT__WORD_LOCKED &&
			   WEFT_MUTEX_CONTENDED == WEFT__WORD_CONTENDED && WEFT_MUTEX_HANDOFF == WEFT__WORD_HANDOFF &&
			   WEFT_MUTEX_STATE_MASK == WEFT__WORD_STATE_MASK && WEFT_MUTEX_FIFO_BIT == WEFT__WORD_FIFO &&
			   WEFT_MUTEX_WAITER_ONE == WEFT__WORD_WAITER_ONE && WEFT_MUTEX_WAITERS_MASK == WEFT__WORD_WAITER_MASK &&
			   WEFT_MUTEX_STARVING_ONE == WEFT__WORD_STARVING_ONE &&
			   WEFT_MUTEX_STARVING_MASK == WEFT__WORD_STARVING_MASK &&
			   ((WEFT_MUTEX_FIFO_BIT | WEFT_MUTEX_PSHARED_BIT) & ~WEFT__WORD_TAG_MASK) == 0,
		   "the mutex word is a word lock (src/wordlock.h)");

/* The spin bound is the WEFT__SPIN_MUTEX preset (src/spinwait.c). */
unsigned weft_mutex_set_spin(unsigned pauses)
{
	return weft__spin_set_pauses(WEFT__SPIN_MUTEX, pauses);
}

/* The word lock's tag: the pshared and FIFO bits.  relaxed: fixed at init. */
static uint32_t mutex_tag(const weft_mutex_t *mutex)
{
	return weft_atomic_load(&mutex->state, WEFT_RELAXED) & WEFT__WORD_TAG_MASK;
}

static unsigned wait_flags(uint32_t tag)
{
	return (tag & WEFT_MUTEX_PSHARED_BIT) ? WEFT_PSHARED : 0u;
}

bool weft_mutex_trylock_slow(weft_mutex_t *mutex)
{
	return weft__wordlock_trylock(&mutex->state, mutex_tag(mutex));
}

void weft_mutex_lock_slow(weft_mutex_t *mutex)
{
	uint32_t tag = mutex_tag(mutex);
	(void)weft__wordlock_lock(&mutex->state, tag, WEFT__SPIN_MUTEX, NULL,
				  wait_flags(tag));
}

void weft__mutex_acquire_contended(weft_mutex_t *mutex)
{
	uint32_t tag = mutex_tag(mutex);
	weft__wordlock_lock_contended(&mutex->state, tag, WEFT__SPIN_MUTEX,
				      wait_flags(tag));
}

void weft_mutex_unlock_slow(weft_mutex_t *mutex, bool fair)
{
	weft__wordlock_release(&mutex->state, wait_flags(mutex_tag(mutex)), fair);
}

void weft_mutex_unlock_contended_slow(weft_mutex_t *mutex)
{
	weft__wordlock_release_contended(&mutex->state, wait_flags(mutex_tag(mutex)));
}

int weft_mutex_timedlock_slow(weft_mutex_t *mutex, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
	uint32_t tag = mutex_tag(mutex);
	return weft__wordlock_lock(&mutex->state, tag, WEFT__SPIN_MUTEX, deadline,
				   wait_flags(tag));
}

int weft_mutex_lock_ctx_slow(weft_mutex_t *mutex, const struct timespec *deadline, weft_cancel_t *cancel)
{
	uint32_t tag = mutex_tag(mutex);
	return weft__wordlock_lock_ctx(&mutex->state, tag, WEFT__SPIN_MUTEX, deadline, wait_flags(tag), cancel);
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

void weft__debug_pshared_holder(const char *type, const void *lock, const uint32_t *owner, uint32_t holder)
{
	/* relaxed: diagnostics.  The first word of a weft_mutex_t, weft_rwlock_t
	 * and weft_brlock_t carries the process-shared bit in bit 31.  A
	 * weft_robust_mutex_t's hooks also say weft_mutex_t, but it has a check
	 * of its own (src/robust.c), which knows a dead holder from a foreign
	 * one; its owner mark is its third word, a WEFT_DEBUG weft_mutex_t's the
	 * second (this file may be built without WEFT_DEBUG: the offset is
	 * written out). */
	uint32_t first = weft_atomic_load((const uint32_t *)lock, WEFT_RELAXED);
	if (strcmp(type, "weft_mutex_t") == 0 && (const char *)owner - (const char *)lock != (ptrdiff_t)sizeof(uint32_t))
		return;
	if ((first & 0x80000000u) || !weft__debug_tid_foreign(holder))
		return;
	/* Still held by the same thread?  Then it was not one of ours that
	 * exited meanwhile. */
	if (weft_atomic_load(owner, WEFT_RELAXED) != holder)
		return;
	const char *init = strcmp(type, "weft_mutex_t") == 0    ? "weft_mutex_init(mutex, WEFT_PSHARED)"
			   : strcmp(type, "weft_rwlock_t") == 0 ? "weft_rwlock_init(rwlock, WEFT_PSHARED)"
								  : "weft_brlock_init(brlock, WEFT_PSHARED)";
	char msg[200];
	snprintf(msg, sizeof msg,
		 "used by two processes (held by thread %u of another one) but initialized without WEFT_PSHARED: "
		 "initialize it with %s",
		 holder, init);
	weft_debug_die(type, lock, msg);
}
