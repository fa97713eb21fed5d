/* SPDX-License-Identifier: MIT */
#ifndef WEFT_ROBUST_H
#define WEFT_ROBUST_H

/*
 * robust.h - weft_robust_mutex_t: a mutex whose holder may die.  When the
 * thread that holds it exits or its process is killed (SIGKILL included), the
 * next locker gets the lock with WEFT_EOWNERDEAD, repairs the protected data
 * and calls weft_robust_mutex_consistent(); a holder that unlocks without it
 * makes the mutex WEFT_ENOTRECOVERABLE for everyone (every later lock fails
 * with that code until the mutex is initialized again).
 *
 * Mechanism: the Linux kernel's robust futexes (Documentation/locking/
 * robust-futexes.rst and robust-futex-ABI.rst, I. Molnar and T. Gleixner,
 * 2006; set_robust_list(2)).  Each thread registers with the kernel one list
 * head; each lock it holds is an entry of that list, and the entry's futex
 * word is at a fixed offset (the head's futex_offset) from the entry.  When a
 * thread exits, the kernel walks its list and, for each word whose low 30 bits
 * (FUTEX_TID_MASK) still hold the dying thread's id, sets the word to
 * FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and wakes one waiter.  The head's
 * list_op_pending names the one entry being locked or unlocked, so a death in
 * the middle of either is handled too.  No polling: the death is reported at
 * the dying thread's exit, by the kernel.
 *
 * The word (32 bits, the kernel's layout):
 *
 *     0                           free
 *     tid                         held by thread tid, nobody asleep
 *     tid | WAITERS               held, threads may sleep on the word
 *     OWNER_DIED [| WAITERS]      free; the last holder died holding it
 *     tid | OWNER_DIED [| W.]     held by tid after a death, not yet made
 *                                 consistent (tid's unlock makes it
 *                                 NOTRECOVERABLE)
 *     NOTRECOVERABLE (0x3fffffff) a TID_MASK value no thread id reaches
 *                                 (pid_max <= 2^22): for ever unusable
 *
 * lock:   CAS 0 -> tid (inline fast path).  Else: if the tid bits are 0, CAS
 *         in tid (keeping WAITERS, keeping OWNER_DIED as the "inconsistent"
 *         mark and reporting WEFT_EOWNERDEAD); if held, set WAITERS and sleep
 *         on the word.  A thread that slept takes the word with WAITERS (it
 *         cannot know whether others still sleep; Drepper, "Futexes Are
 *         Tricky", 2011, takes state 2 for the same reason).
 * unlock: CAS tid -> 0 (inline).  Else (WAITERS or OWNER_DIED set): exchange
 *         in 0 and wake one if WAITERS was set, or, if OWNER_DIED was still
 *         set, exchange in NOTRECOVERABLE and wake all.
 * Sleeps and wakes always use the shared futex flavour, with or without
 * WEFT_PSHARED: the kernel's wake-up at a death is a shared-flavour wake.
 * There is no spinning before the sleep (as with glibc's robust mutexes).
 * A WEFT_PSHARED robust mutex's sleepers nap 50 ms at most: an unlock wakes
 * one sleeper, and one killed after that wake, before it took the word,
 * passes it to nobody (docs/processes.md, rule 1).
 *
 * Coexisting with glibc.  A thread has exactly one registered list head, and
 * glibc registers its own at every thread's start for its robust
 * pthread_mutex_t.  Registering a second head would unhook glibc's (and the
 * first robust pthread mutex locked afterwards would unhook ours), so weft
 * links its entries into the list that is registered: it reads the head with
 * get_robust_list(2) and gives its mutex the entry layout that head's
 * futex_offset asks for.  On x86-64 and aarch64 glibc the offset is -32: the
 * entry is 32 bytes after the word, and glibc keeps the list doubly linked
 * with a `prev` pointer 8 bytes before each entry (pointing at the previous
 * entry; the head has one before it too) that its own unlock follows and
 * rewrites in its neighbours.  weft's entries have the same two pointers at
 * the same places and keep them right, so either library may insert or remove
 * its entries in any order.  The kernel ABI itself only reads `next`; the
 * `prev` convention is glibc's, so it is checked once per process, before the
 * first weft robust lock, by locking a robust pthread_mutex_t and looking at
 * where glibc put it; where it does not hold (another libc) and no head is
 * registered, weft registers its own head; where a different head is
 * registered, init and lock return WEFT_ENOTSUP.  `make test` runs a thread
 * holding a weft and a pthread robust mutex (locked and unlocked in every
 * order) that dies: both report the death.
 *
 * Footprint: 40 bytes (the size of a pthread_mutex_t): the word at offset 0,
 * the flags, a WEFT_DEBUG owner mark, reserved bytes, then `prev` at 24 and
 * the list entry at 32.  The layout is the same with and without WEFT_DEBUG.
 * All-zero is an unlocked, process-private robust mutex; WEFT_ROBUST_MUTEX_INIT
 * is the same.
 *
 * Cost: an uncontended lock+unlock is one CAS each plus the list bookkeeping
 * (five plain stores to memory the thread already owns); docs/processes.md
 * compares it with a robust pthread_mutex_t and a plain weft_mutex_t measured
 * in the same run.  weft_mutex_t is unchanged: 4 bytes, one CAS.
 *
 * API departures from weft_mutex_t: lock, trylock and unlock return int (a
 * death must be reported); trylock returns WEFT_EBUSY when busy instead of
 * false.  weft_cond_t waits only with a weft_mutex_t.
 *
 * Fork: a child does not own the locks its parent's thread held (their words
 * hold the parent thread's id); the child's thread registers afresh.  A lock
 * taken with a process's mapping at one address stays listed at that address:
 * do not unmap or remap shared memory while holding a robust mutex in it.
 *
 * Linux only (the kernel mechanism); elsewhere init and lock return
 * WEFT_ENOTSUP.  32-bit targets are not supported (glibc's 32-bit layout
 * differs) and return WEFT_ENOTSUP too.
 *
 * Ordering: a lock returning WEFT_OK or WEFT_EOWNERDEAD is an acquire, unlock a
 * release; after a death, the next holder sees every write the dead holder made
 * (whatever it was in the middle of, which is what it must repair).
 *
 * TSan and WEFT_DEBUG: the hooks of lockhooks.h, as for weft_mutex_t.  A
 * thread of the same process that exits holding a robust mutex never unlocks
 * it in TSan's books, so TSan reports the next holder's lock as a "double
 * lock" once per mutex: its interface has no annotation for the repair its
 * own pthread interceptor makes on EOWNERDEAD.  A dead *process* is invisible
 * to TSan (each process has its own).
 * WEFT_DEBUG also aborts, naming the fix, when a robust mutex initialized
 * without WEFT_PSHARED is locked while a thread of another process holds it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "atomic.h"
#include "config.h"
#include "debug.h"
#include "lockhooks.h"
#include "status.h"

WEFT_EXTERN_C_BEGIN

/* init flag: accepted (and implied) by weft_robust_mutex_init(); a plain
 * weft_mutex_init() rejects it with WEFT_EINVAL. */
#ifndef WEFT_ROBUST
#define WEFT_ROBUST 0x2u
#endif

/* The word: the kernel's robust-futex bits (linux/futex.h). */
#define WEFT_ROBUST_WAITERS 0x80000000u        /* FUTEX_WAITERS */
#define WEFT_ROBUST_OWNER_DIED 0x40000000u     /* FUTEX_OWNER_DIED */
#define WEFT_ROBUST_TID_MASK 0x3fffffffu       /* FUTEX_TID_MASK */
#define WEFT_ROBUST_NOTRECOVERABLE 0x3fffffffu /* a tid no thread has */

/* The robust-list head the kernel knows (struct robust_list_head). */
struct weft__robust_head {
	void *list;		 /* the first entry, or the head itself */
	long futex_offset;	 /* word = entry + futex_offset */
	void *list_op_pending; /* the entry being locked or unlocked */
};

/* Per thread: the registered head (NULL until the first robust lock) and the
 * kernel thread id the word holds. */
struct weft__robust_self {
	struct weft__robust_head *head;
	uint32_t tid;
};
extern __thread struct weft__robust_self weft__robust_self;

typedef struct weft_robust_mutex {
	uint32_t word;	/* see the overview */
	uint32_t flags; /* WEFT_PSHARED | WEFT_ROBUST, fixed at init */
	uint32_t owner; /* WEFT_DEBUG: weft_debug_self() of the holder */
	uint32_t pid;	/* reserved (0) */
	uint64_t reserved;
	void *prev; /* the list's back link (glibc's convention, see the overview) */
	void *next; /* the list entry: word = &next + futex_offset */
} weft_robust_mutex_t;

#if UINTPTR_MAX > 0xffffffffu
WEFT_STATIC_ASSERT(sizeof(weft_robust_mutex_t) == 40, "weft_robust_mutex_t is 40 bytes");
WEFT_STATIC_ASSERT(offsetof(weft_robust_mutex_t, next) == 32 && offsetof(weft_robust_mutex_t, prev) == 24,
		   "the list entry sits where glibc's futex_offset (-32) expects it");
#endif
/* word = entry + WEFT__ROBUST_FUTEX_OFFSET */
#define WEFT__ROBUST_FUTEX_OFFSET (-(long)offsetof(weft_robust_mutex_t, next))

#define WEFT_ROBUST_MUTEX_INIT {0, 0, 0, 0, 0, 0, 0}

/**
 * weft_robust_mutex_init() - initialize an unlocked robust mutex.
 * @mutex: the mutex.
 * @flags: 0, or WEFT_PSHARED for a mutex in memory shared between processes;
 *         WEFT_ROBUST is accepted (and implied).
 *
 * Also registers the calling thread with the kernel's robust list if it is
 * not yet (see the overview).  A private robust mutex may instead be set to
 * WEFT_ROBUST_MUTEX_INIT or zero-filled.
 *
 * Context: any thread; the mutex must not be in use.
 * Return: WEFT_OK, WEFT_EINVAL for an unknown flag (the mutex is untouched),
 * or WEFT_ENOTSUP where robust mutexes are not supported (see the overview).
 */
/* Out of line (src/robust.c). */
WEFT_NODISCARD int weft_robust_mutex_init(weft_robust_mutex_t *mutex, unsigned flags);
WEFT_NOINLINE WEFT_COLD int weft__robust_lock_slow(weft_robust_mutex_t *mutex, const struct timespec *deadline,
						   bool try_only);
WEFT_NOINLINE WEFT_COLD int weft__robust_unlock_slow(weft_robust_mutex_t *mutex);
int weft__robust_timedlock_slow(weft_robust_mutex_t *mutex, const struct timespec *deadline);
void weft__robust_debug_pid_check(weft_robust_mutex_t *mutex);

/*
 * The list bookkeeping, on the calling thread's own list (only this thread and,
 * at its exit, the kernel read it).  Plain stores: the kernel reads the list
 * only once the thread is dead, so program order on this thread is all that
 * matters, and the compiler barriers keep the compiler from reordering the
 * stores the kernel relies on (the entry whole before it is linked; the
 * pending mark set before the word changes, cleared after).
 * Pointers stored in the list may carry bit 0 (a PI entry, robust-futex-ABI):
 * mask it before following one.
 */
static inline void **weft__robust_node(void *entry)
{
	return (void **)((uintptr_t)entry & ~(uintptr_t)1);
}

static inline void weft__robust_link(struct weft__robust_head *head, weft_robust_mutex_t *mutex)
{
	void *first = head->list;
	mutex->next = first;
	mutex->prev = &head->list;
	weft__robust_node(first)[-1] = &mutex->next; /* first's back link */
	WEFT_COMPILER_BARRIER();			 /* the entry is whole before the kernel can reach it */
	head->list = &mutex->next;
}

static inline void weft__robust_unlink(weft_robust_mutex_t *mutex)
{
	void *next = mutex->next, *prev = mutex->prev;
	weft__robust_node(prev)[0] = next;
	weft__robust_node(next)[-1] = prev;
}

/* The inline fast path of lock: -1 if it must take the slow path. */
static inline int weft__robust_acquire_fast(weft_robust_mutex_t *mutex)
{
	/* The thread-local is read by name, not through a pointer: UBSan's
	 * null check of a pointer to it misfires under gcc 12. */
	struct weft__robust_head *head = weft__robust_self.head;
	if (WEFT_UNLIKELY(head == (struct weft__robust_head *)0))
		return -1;
	head->list_op_pending = &mutex->next;
	WEFT_COMPILER_BARRIER(); /* pending is set before the word can name us */
	uint32_t expected = 0;
	/* acquire: pairs with the release CAS or exchange of the previous unlock */
	if (WEFT_UNLIKELY(!weft_atomic_cas(&mutex->word, &expected, weft__robust_self.tid, WEFT_ACQUIRE, WEFT_RELAXED)))
		return -1;
	weft__robust_link(head, mutex);
	WEFT_COMPILER_BARRIER(); /* linked before pending is cleared */
	head->list_op_pending = (void *)0;
	return WEFT_OK;
}

static inline int weft__robust_acquire(weft_robust_mutex_t *mutex, const struct timespec *deadline, bool try_only)
{
#ifdef WEFT_DEBUG
	weft__robust_debug_pid_check(mutex);
#endif
	int rc = weft__robust_acquire_fast(mutex);
	if (WEFT_UNLIKELY(rc != WEFT_OK))
		rc = weft__robust_lock_slow(mutex, deadline, try_only);
	return rc;
}

/* Whether a lock call took the mutex. */
static inline bool weft__robust_got(weft_robust_mutex_t *mutex, int rc)
{
	(void)mutex;
	return rc == WEFT_OK || rc == WEFT_EOWNERDEAD;
}

/**
 * weft_robust_mutex_trylock() - take the mutex if it is free.
 * @mutex: the mutex.
 *
 * Context: any thread; never blocks.
 * Ordering: acquire when the mutex is taken, none otherwise.
 * Return: WEFT_OK (held); WEFT_EOWNERDEAD (held, the last holder died holding
 * it: repair, then weft_robust_mutex_consistent()); WEFT_EBUSY;
 * WEFT_ENOTRECOVERABLE; WEFT_ENOTSUP (see the overview).
 */
WEFT_NODISCARD static inline int weft_robust_mutex_trylock(weft_robust_mutex_t *mutex)
{
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TRY,
			       (const struct timespec *)0);
	int rc = weft__robust_acquire(mutex, (const struct timespec *)0, true);
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TRY,
				weft__robust_got(mutex, rc));
	return rc;
}

/**
 * weft_robust_mutex_lock() - take the mutex, sleeping while another thread
 * holds it.
 * @mutex: the mutex; the caller must not hold it.
 *
 * Context: may block; not async-signal-safe.
 * Ordering: acquire when the mutex is taken.
 * Return: WEFT_OK; WEFT_EOWNERDEAD (held; the previous holder died holding it);
 * WEFT_ENOTRECOVERABLE (not held: a holder after a death unlocked without
 * weft_robust_mutex_consistent()); WEFT_ENOTSUP.
 */
WEFT_NODISCARD static inline int weft_robust_mutex_lock(weft_robust_mutex_t *mutex)
{
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_BLOCK,
			       (const struct timespec *)0);
	int rc = weft__robust_acquire(mutex, (const struct timespec *)0, false);
	bool got = weft__robust_got(mutex, rc);
	/* The BLOCK hooks assume success: a failed robust lock (no longer
	 * recoverable) is reported to TSan as a failed try, and the lock-order
	 * checker, which counted it held at pre-acquire, forgets it. */
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX,
				got ? WEFT__HOOK_BLOCK : WEFT__HOOK_TRY, got);
#ifdef WEFT_DEBUG
	if (!got)
		weft__lockdep_unlock(mutex);
#endif
	return rc;
}

/**
 * weft_robust_mutex_timedlock() - take the mutex, or give up at @deadline.
 * @mutex: the mutex; the caller must not hold it.
 * @deadline: absolute CLOCK_MONOTONIC time.
 *
 * Context: may block until @deadline.
 * Ordering: acquire when the mutex is taken.
 * Return: as weft_robust_mutex_lock(), or WEFT_ETIMEDOUT, or WEFT_EINVAL for a
 * malformed or NULL @deadline (the mutex is not touched).
 */
WEFT_NODISCARD static inline int weft_robust_mutex_timedlock(weft_robust_mutex_t *mutex, const struct timespec *deadline)
{
	weft__lock_pre_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TIMED,
			       deadline);
	int rc = weft__robust_timedlock_slow(mutex, deadline);
	weft__lock_post_acquire(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX, WEFT__HOOK_TIMED,
				weft__robust_got(mutex, rc));
	return rc;
}

/**
 * weft_robust_mutex_unlock() - release the mutex.
 * @mutex: a mutex the calling thread holds.
 *
 * Unlocking a mutex taken with WEFT_EOWNERDEAD without calling
 * weft_robust_mutex_consistent() first makes it WEFT_ENOTRECOVERABLE.
 *
 * Context: the holding thread; never blocks.
 * Ordering: release.
 * Return: WEFT_OK, or WEFT_EINVAL if the calling thread does not hold it
 * (nothing is changed; a WEFT_DEBUG build aborts instead).
 */
static inline int weft_robust_mutex_unlock(weft_robust_mutex_t *mutex)
{
	struct weft__robust_head *head = weft__robust_self.head;
	uint32_t tid = weft__robust_self.tid;
	/* relaxed: only the holder stores its own tid, and it is us or nobody */
	if (WEFT_UNLIKELY(head == (struct weft__robust_head *)0 ||
			  (weft_atomic_load(&mutex->word, WEFT_RELAXED) & WEFT_ROBUST_TID_MASK) != tid)) {
#ifdef WEFT_DEBUG
		weft_debug_die("weft_robust_mutex_t", mutex, "unlocked by a thread that does not hold it");
#endif
		return WEFT_EINVAL;
	}
	weft__lock_pre_release(mutex, WEFT__HOOK_OWNER(mutex->owner), WEFT__LOCKDEP_MUTEX);
	head->list_op_pending = &mutex->next;
	WEFT_COMPILER_BARRIER(); /* pending covers the entry before it leaves the list */
	weft__robust_unlink(mutex);
	WEFT_COMPILER_BARRIER(); /* unlinked before the word is released */
	uint32_t expected = tid;
	/* release: publishes the critical section; pairs with the acquire CAS of
	 * the next locker */
	if (WEFT_UNLIKELY(!weft_atomic_cas(&mutex->word, &expected, 0u, WEFT_RELEASE, WEFT_RELAXED)))
		(void)weft__robust_unlock_slow(mutex);
	WEFT_COMPILER_BARRIER(); /* released before pending is cleared */
	head->list_op_pending = (void *)0;
	weft__lock_post_release(mutex, WEFT__LOCKDEP_MUTEX);
	return WEFT_OK;
}

/**
 * weft_robust_mutex_consistent() - declare the data repaired after
 * WEFT_EOWNERDEAD, so that the next unlock releases the mutex normally.
 * @mutex: a mutex the calling thread took with WEFT_EOWNERDEAD.
 *
 * Context: the holding thread; never blocks.
 * Return: WEFT_OK, or WEFT_EINVAL if the caller does not hold the mutex or it
 * is not marked inconsistent.
 */
WEFT_NODISCARD int weft_robust_mutex_consistent(weft_robust_mutex_t *mutex);

/**
 * weft_robust_mutex_destroy() - end the mutex's life (nothing to free).
 * @mutex: an unlocked mutex; a WEFT_DEBUG build aborts if it is held.
 */
static inline void weft_robust_mutex_destroy(weft_robust_mutex_t *mutex)
{
#ifdef WEFT_DEBUG
	/* relaxed: a diagnostic; a correct caller has no concurrent user */
	uint32_t tid = weft_atomic_load(&mutex->word, WEFT_RELAXED) & WEFT_ROBUST_TID_MASK;
	if (tid != 0 && tid != WEFT_ROBUST_NOTRECOVERABLE)
		weft_debug_die("weft_robust_mutex_t", mutex, "destroyed while held");
#endif
	weft__lock_destroy(mutex, WEFT__LOCKDEP_MUTEX);
}

WEFT_EXTERN_C_END

#endif /* WEFT_ROBUST_H */
