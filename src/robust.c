/* SPDX-License-Identifier: MIT */
/*
 * robust.c - the slow paths of weft_robust_mutex_t and the per-thread robust
 * list registration.  The word, the list layout and the coexistence with
 * glibc are described at the top of include/weft/robust.h; the kernel side is
 * Documentation/locking/robust-futex-ABI.rst and set_robust_list(2).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() under -std=c11 */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <unistd.h>

#include "wait.h"
#include "weft/deadline.h"
#include "weft/robust.h"
#include "weft/status.h"

#if defined(__linux__)
#include <sys/syscall.h>
#endif

__thread struct weft__robust_self weft__robust_self;

#if defined(__linux__) && UINTPTR_MAX > 0xffffffffu && defined(SYS_get_robust_list) && defined(SYS_set_robust_list)
#define WEFT__ROBUST_SUPPORTED 1
#else
#define WEFT__ROBUST_SUPPORTED 0
#endif

#if WEFT__ROBUST_SUPPORTED

/*
 * The head weft registers itself when no head is registered (a libc that
 * registers none, or registers lazily): a back-link slot before it, as the
 * doubly linked convention wants.
 */
struct own_head {
	void *prev;
	struct weft__robust_head head;
};
static __thread struct own_head own;

/* Process-wide: may weft link into a head glibc registered?  0 unknown, 1 yes,
 * 2 no.  Decided once, by probe_glibc(). */
static int glibc_ok;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void forget_self(void)
{
	/* In a fork()ed child the thread has a new tid, and the kernel forgot
	 * its list head (glibc registers its own again): look both up again. */
	weft__robust_self.head = NULL;
	weft__robust_self.tid = 0;
}

static struct weft__robust_head *registered_head(void)
{
	struct weft__robust_head *head = NULL;
	size_t len = 0;
	if (syscall(SYS_get_robust_list, 0, &head, &len) != 0)
		return NULL;
	return head;
}

/*
 * Check glibc's list convention once: lock a robust pthread mutex and look
 * where glibc linked it.  The entry must be the head's first, at word -
 * futex_offset (our offset); its next must be the old first entry, its back
 * link (8 bytes before it) the head, and the old first entry's back link the
 * new entry.  After the unlock the old first entry must be first again, its
 * back link the head.  Any other answer: weft does not link into glibc's list.
 */
static void probe_glibc(void)
{
	(void)pthread_atfork(NULL, NULL, forget_self);
	int ok = 0;
	struct weft__robust_head *head = registered_head();
	pthread_mutexattr_t attr;
	pthread_mutex_t pm;
	if (head != NULL && head->futex_offset == WEFT__ROBUST_FUTEX_OFFSET && pthread_mutexattr_init(&attr) == 0) {
		if (pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0 && pthread_mutex_init(&pm, &attr) == 0) {
			void *before = head->list;
			if (pthread_mutex_lock(&pm) == 0) {
				void *entry = (char *)&pm - WEFT__ROBUST_FUTEX_OFFSET;
				void **node = weft__robust_node(head->list);
				ok = (void *)node == entry && node[0] == before && node[-1] == (void *)&head->list &&
				     weft__robust_node(before)[-1] == entry;
				(void)pthread_mutex_unlock(&pm);
				ok = ok && head->list == before && weft__robust_node(before)[-1] == (void *)&head->list;
			}
			(void)pthread_mutex_destroy(&pm);
		}
		(void)pthread_mutexattr_destroy(&attr);
	}
	/* relaxed: published by pthread_once */
	weft_atomic_store(&glibc_ok, ok ? 1 : 2, WEFT_RELAXED);
}

/* Find or make the calling thread's list head.  Return: WEFT_OK or
 * WEFT_ENOTSUP. */
static int register_self(void)
{
	if (weft__robust_self.head != NULL)
		return WEFT_OK;
	int saved_errno = errno;
	pthread_once(&probe_once, probe_glibc);
	int rc = WEFT_OK;
	struct weft__robust_head *head = registered_head();
	if (head == NULL || head == &own.head) {
		/* Nobody registered a head (or only we did, before a fork):
		 * register ours, empty. */
		own.head.list = &own.head.list;
		own.head.futex_offset = WEFT__ROBUST_FUTEX_OFFSET;
		own.head.list_op_pending = NULL;
		own.prev = &own.head.list;
		if (syscall(SYS_set_robust_list, &own.head, sizeof own.head) != 0)
			rc = WEFT_ENOTSUP;
		head = &own.head;
	} else if (head->futex_offset != WEFT__ROBUST_FUTEX_OFFSET ||
		   weft_atomic_load(&glibc_ok, WEFT_RELAXED) != 1) { /* relaxed: set under pthread_once */
		rc = WEFT_ENOTSUP;
	}
	if (rc == WEFT_OK) {
		weft__robust_self.tid = (uint32_t)syscall(SYS_gettid);
		weft__robust_self.head = head;
	}
	errno = saved_errno;
	return rc;
}

#else /* !WEFT__ROBUST_SUPPORTED */

static int register_self(void)
{
	return WEFT_ENOTSUP;
}

#endif

int weft_robust_mutex_init(weft_robust_mutex_t *mutex, unsigned flags)
{
	if (flags & ~(WEFT_PSHARED | WEFT_ROBUST))
		return WEFT_EINVAL;
	int rc = register_self();
	if (rc != WEFT_OK)
		return rc;
	/* relaxed: the mutex is not shared yet; publishing it is the caller's job */
	weft_atomic_store(&mutex->word, 0u, WEFT_RELAXED);
	weft_atomic_store(&mutex->flags, flags | WEFT_ROBUST, WEFT_RELAXED);
	weft_atomic_store(&mutex->pid, 0u, WEFT_RELAXED);
	mutex->reserved = 0;
	mutex->prev = NULL;
	mutex->next = NULL;
	weft__lock_create(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX);
	return WEFT_OK;
}

#define WEFT__ROBUST_NAP_NS 50000000ull /* 50 ms; see weft__robust_lock_slow() */

/*
 * The slow path of every lock: register the thread if needed, then take the
 * word as the overview of robust.h says.  @deadline: valid or NULL.
 */
int weft__robust_lock_slow(weft_robust_mutex_t *mutex, const struct timespec *deadline, bool try_only)
{
	int rc = register_self();
	if (rc != WEFT_OK)
		return rc;
	struct weft__robust_head *head = weft__robust_self.head;
	uint32_t tid = weft__robust_self.tid;
	head->list_op_pending = &mutex->next;
	WEFT_COMPILER_BARRIER(); /* pending is set before the word can name us */
	uint32_t slept = 0;	 /* WAITERS once we have slept */
	bool timed_out = false;
	for (;;) {
		/* relaxed: a look; the CAS below is the acquire */
		uint32_t v = weft_atomic_load(&mutex->word, WEFT_RELAXED);
		uint32_t owner = v & WEFT_ROBUST_TID_MASK;
		if (owner == WEFT_ROBUST_NOTRECOVERABLE) {
			rc = WEFT_ENOTRECOVERABLE;
			break;
		}
		if (owner == 0) {
			/* Free.  OWNER_DIED stays in the word as the mark
			 * "held, not consistent" until weft_robust_mutex_consistent(). */
			uint32_t want = tid | (v & (WEFT_ROBUST_WAITERS | WEFT_ROBUST_OWNER_DIED)) | slept;
			/* acquire: pairs with the release of the previous unlock (or
			 * the kernel's store at the holder's death) */
			if (weft_atomic_cas(&mutex->word, &v, want, WEFT_ACQUIRE, WEFT_RELAXED)) {
				weft__robust_link(head, mutex);
				rc = (v & WEFT_ROBUST_OWNER_DIED) ? WEFT_EOWNERDEAD : WEFT_OK;
				break;
			}
			continue;
		}
		if (try_only || timed_out) {
			rc = try_only ? WEFT_EBUSY : WEFT_ETIMEDOUT;
			break;
		}
		if (!(v & WEFT_ROBUST_WAITERS)) {
			/* relaxed: only tells the holder to wake us; the wait below
			 * compares the word */
			if (!weft_atomic_cas(&mutex->word, &v, v | WEFT_ROBUST_WAITERS, WEFT_RELAXED, WEFT_RELAXED))
				continue;
			v |= WEFT_ROBUST_WAITERS;
		}
		/* The shared flavour always: the kernel's wake at a death is one.
		 * A process-shared mutex naps at most WEFT__ROBUST_NAP_NS: an
		 * unlock wakes one sleeper, and a sleeper killed after that wake
		 * and before it took the word passes the wake to nobody (the
		 * kernel re-wakes only if the word is still 0 at its death;
		 * another locker may have taken it meanwhile, without WAITERS).
		 * make crashtest -p robust found it: 8 hangs in 200 kills. */
		bool naps = weft_atomic_load(&mutex->flags, WEFT_RELAXED) & WEFT_PSHARED; /* relaxed: fixed at init */
		int rc_wait = naps ? weft__wait_nap(&mutex->word, v, deadline, WEFT__ROBUST_NAP_NS, WEFT_PSHARED, NULL)
				   : weft__wait(&mutex->word, v, deadline, WEFT_PSHARED);
		if (rc_wait == WEFT_ETIMEDOUT) /* the deadline, not a nap (WEFT__WAIT_NAPPED) */
			timed_out = true; /* one more look decides */
		slept = WEFT_ROBUST_WAITERS;
	}
	WEFT_COMPILER_BARRIER(); /* linked (or not ours) before pending is cleared */
	head->list_op_pending = NULL;
	return rc;
}

int weft__robust_timedlock_slow(weft_robust_mutex_t *mutex, const struct timespec *deadline)
{
	if (!weft_deadline_valid(deadline))
		return WEFT_EINVAL;
#ifdef WEFT_DEBUG
	weft__robust_debug_pid_check(mutex);
#endif
	int rc = weft__robust_acquire_fast(mutex);
	if (rc != WEFT_OK)
		rc = weft__robust_lock_slow(mutex, deadline, false);
	return rc;
}

/* Called by the holder with pending set and its entry unlinked, when the word
 * is not just its tid: WAITERS or OWNER_DIED is set. */
int weft__robust_unlock_slow(weft_robust_mutex_t *mutex)
{
	/* relaxed: OWNER_DIED changes only by the holder (us) or at its death */
	uint32_t v = weft_atomic_load(&mutex->word, WEFT_RELAXED);
	if (v & WEFT_ROBUST_OWNER_DIED) {
		/* Not made consistent: unusable for everyone, wake them all to
		 * hear it.  release: pairs with their acquire-less re-read; it
		 * publishes nothing they may use. */
		(void)weft_atomic_exchange(&mutex->word, WEFT_ROBUST_NOTRECOVERABLE, WEFT_RELEASE);
		weft__wake(&mutex->word, INT32_MAX, WEFT_PSHARED);
		return WEFT_OK;
	}
	/* release: publishes the critical section; pairs with the acquire CAS of
	 * the next locker */
	uint32_t old = weft_atomic_exchange(&mutex->word, 0u, WEFT_RELEASE);
	if (old & WEFT_ROBUST_WAITERS)
		weft__wake(&mutex->word, 1, WEFT_PSHARED);
	return WEFT_OK;
}

int weft_robust_mutex_consistent(weft_robust_mutex_t *mutex)
{
	uint32_t tid = weft__robust_self.tid;
	/* relaxed: the tid bits are ours to read while we hold it */
	uint32_t v = weft_atomic_load(&mutex->word, WEFT_RELAXED);
	if (tid == 0 || (v & WEFT_ROBUST_TID_MASK) != tid || !(v & WEFT_ROBUST_OWNER_DIED))
		return WEFT_EINVAL;
	/* relaxed: we hold the mutex; only waiters' WAITERS bit races with us,
	 * and the fetch_and keeps it */
	(void)weft_atomic_fetch_and(&mutex->word, ~WEFT_ROBUST_OWNER_DIED, WEFT_RELAXED);
	return WEFT_OK;
}

bool weft__debug_tid_foreign(uint32_t tid); /* src/mutex.c */

/* WEFT_DEBUG (called by robust.h's lock calls): a robust mutex initialized
 * without WEFT_PSHARED and held by a thread of another process. */
void weft__robust_debug_pid_check(weft_robust_mutex_t *mutex)
{
	/* relaxed: diagnostics */
	if (weft_atomic_load(&mutex->flags, WEFT_RELAXED) & WEFT_PSHARED)
		return;
	uint32_t owner = weft_atomic_load(&mutex->word, WEFT_RELAXED) & WEFT_ROBUST_TID_MASK;
	if (owner == 0 || owner == WEFT_ROBUST_NOTRECOVERABLE || owner == weft__robust_self.tid ||
	    !weft__debug_tid_foreign(owner))
		return;
	if ((weft_atomic_load(&mutex->word, WEFT_RELAXED) & WEFT_ROBUST_TID_MASK) != owner)
		return; /* released meanwhile: it may have been one of ours that exited */
	char msg[220];
	snprintf(msg, sizeof msg,
		 "used by two processes (held by thread %u of another one) but initialized without WEFT_PSHARED: "
		 "initialize it with weft_robust_mutex_init(mutex, WEFT_PSHARED | WEFT_ROBUST)",
		 owner);
	weft_debug_die("weft_robust_mutex_t", mutex, msg);
}
