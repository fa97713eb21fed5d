/* SPDX-License-Identifier: MIT */
#ifndef WEFT_PRELOAD_H
#define WEFT_PRELOAD_H

/*
 * weft_preload.h - the interposer's operation list (its counters) and, for a
 * program that links the interposer's object instead of preloading it (the
 * ThreadSanitizer build of the conformance suite, -DWEFT_PRELOAD_PREFIX), the
 * renaming of the pthread calls to the interposer's prefixed ones.
 *
 * Why a prefix under TSan: the TSan runtime intercepts the pthread calls
 * itself, so preloading a second interposer under it would either hide our
 * locks from TSan or hide TSan's from us.  Linked with a prefix, the suite's
 * calls reach our functions, weft's inline code carries its __tsan_mutex_*
 * annotations into them, and what we pass through to glibc goes through
 * TSan's interceptors as usual.
 */

#define WP_OPS(X)                                            \
	X(WP_OP_MUTEX_INIT, "pthread_mutex_init")    \
	X(WP_OP_MUTEX_DESTROY, "pthread_mutex_destroy")      \
	X(WP_OP_MUTEX_LOCK, "pthread_mutex_lock")            \
	X(WP_OP_MUTEX_TRYLOCK, "pthread_mutex_trylock")      \
	X(WP_OP_MUTEX_TIMEDLOCK, "pthread_mutex_timed/clocklock") \
	X(WP_OP_MUTEX_UNLOCK, "pthread_mutex_unlock")        \
	X(WP_OP_COND_INIT, "pthread_cond_init")              \
	X(WP_OP_COND_DESTROY, "pthread_cond_destroy")        \
	X(WP_OP_COND_SIGNAL, "pthread_cond_signal")          \
	X(WP_OP_COND_BROADCAST, "pthread_cond_broadcast")    \
	X(WP_OP_COND_WAIT, "pthread_cond_wait")              \
	X(WP_OP_COND_TIMEDWAIT, "pthread_cond_timed/clockwait") \
	X(WP_OP_RWLOCK_INIT, "pthread_rwlock_init")          \
	X(WP_OP_RWLOCK_DESTROY, "pthread_rwlock_destroy")    \
	X(WP_OP_RWLOCK_RDLOCK, "pthread_rwlock_rdlock")      \
	X(WP_OP_RWLOCK_WRLOCK, "pthread_rwlock_wrlock")      \
	X(WP_OP_RWLOCK_TRYLOCK, "pthread_rwlock_try*lock")   \
	X(WP_OP_RWLOCK_TIMED, "pthread_rwlock_timed/clock*lock") \
	X(WP_OP_RWLOCK_UNLOCK, "pthread_rwlock_unlock")      \
	X(WP_OP_SPIN_INIT, "pthread_spin_init/destroy")      \
	X(WP_OP_SPIN_LOCK, "pthread_spin_lock/trylock")      \
	X(WP_OP_SPIN_UNLOCK, "pthread_spin_unlock")          \
	X(WP_OP_BARRIER_INIT, "pthread_barrier_init/destroy") \
	X(WP_OP_BARRIER_WAIT, "pthread_barrier_wait")        \
	X(WP_OP_SEM_INIT, "sem_init/destroy")                \
	X(WP_OP_SEM_WAIT, "sem_wait/trywait/timedwait")      \
	X(WP_OP_SEM_POST, "sem_post/getvalue")

enum wp_op {
#define WP_ENUM(op, name) op,
	WP_OPS(WP_ENUM)
#undef WP_ENUM
	WP_OP_COUNT
};

#ifdef WEFT_PRELOAD_PREFIX
#define WP(name) weft_preload_##name
#else
#define WP(name) name
#endif

/* In a program built with -DWEFT_PRELOAD_PREFIX (after <pthread.h> and
 * <semaphore.h>): every interposed call goes to the prefixed function. */
#if defined(WEFT_PRELOAD_PREFIX) && defined(WEFT_PRELOAD_RENAME)
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#define WP_DECL_RENAME(ret, name, args) ret weft_preload_##name args;
WP_DECL_RENAME(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *))
WP_DECL_RENAME(int, pthread_mutex_destroy, (pthread_mutex_t *))
WP_DECL_RENAME(int, pthread_mutex_lock, (pthread_mutex_t *))
WP_DECL_RENAME(int, pthread_mutex_trylock, (pthread_mutex_t *))
WP_DECL_RENAME(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *))
WP_DECL_RENAME(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *))
WP_DECL_RENAME(int, pthread_mutex_unlock, (pthread_mutex_t *))
WP_DECL_RENAME(int, pthread_cond_init, (pthread_cond_t *, const pthread_condattr_t *))
WP_DECL_RENAME(int, pthread_cond_destroy, (pthread_cond_t *))
WP_DECL_RENAME(int, pthread_cond_signal, (pthread_cond_t *))
WP_DECL_RENAME(int, pthread_cond_broadcast, (pthread_cond_t *))
WP_DECL_RENAME(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))
WP_DECL_RENAME(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *))
WP_DECL_RENAME(int, pthread_cond_clockwait, (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *))
WP_DECL_RENAME(int, pthread_cancel, (pthread_t))
WP_DECL_RENAME(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *))
WP_DECL_RENAME(int, pthread_rwlock_destroy, (pthread_rwlock_t *))
WP_DECL_RENAME(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))
WP_DECL_RENAME(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))
WP_DECL_RENAME(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *))
WP_DECL_RENAME(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *))
WP_DECL_RENAME(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *))
WP_DECL_RENAME(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *))
WP_DECL_RENAME(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *))
WP_DECL_RENAME(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *))
WP_DECL_RENAME(int, pthread_rwlock_unlock, (pthread_rwlock_t *))
WP_DECL_RENAME(int, pthread_spin_init, (pthread_spinlock_t *, int))
WP_DECL_RENAME(int, pthread_spin_destroy, (pthread_spinlock_t *))
WP_DECL_RENAME(int, pthread_spin_lock, (pthread_spinlock_t *))
WP_DECL_RENAME(int, pthread_spin_trylock, (pthread_spinlock_t *))
WP_DECL_RENAME(int, pthread_spin_unlock, (pthread_spinlock_t *))
WP_DECL_RENAME(int, pthread_barrier_init, (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned))
WP_DECL_RENAME(int, pthread_barrier_destroy, (pthread_barrier_t *))
WP_DECL_RENAME(int, pthread_barrier_wait, (pthread_barrier_t *))
WP_DECL_RENAME(int, sem_init, (sem_t *, int, unsigned))
WP_DECL_RENAME(int, sem_destroy, (sem_t *))
WP_DECL_RENAME(int, sem_wait, (sem_t *))
WP_DECL_RENAME(int, sem_trywait, (sem_t *))
WP_DECL_RENAME(int, sem_timedwait, (sem_t *, const struct timespec *))
WP_DECL_RENAME(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *))
WP_DECL_RENAME(int, sem_post, (sem_t *))
WP_DECL_RENAME(int, sem_getvalue, (sem_t *, int *))
#define pthread_mutex_init weft_preload_pthread_mutex_init
#define pthread_mutex_destroy weft_preload_pthread_mutex_destroy
#define pthread_mutex_lock weft_preload_pthread_mutex_lock
#define pthread_mutex_trylock weft_preload_pthread_mutex_trylock
#define pthread_mutex_timedlock weft_preload_pthread_mutex_timedlock
#define pthread_mutex_clocklock weft_preload_pthread_mutex_clocklock
#define pthread_mutex_unlock weft_preload_pthread_mutex_unlock
#define pthread_cond_init weft_preload_pthread_cond_init
#define pthread_cond_destroy weft_preload_pthread_cond_destroy
#define pthread_cond_signal weft_preload_pthread_cond_signal
#define pthread_cond_broadcast weft_preload_pthread_cond_broadcast
#define pthread_cond_wait weft_preload_pthread_cond_wait
#define pthread_cond_timedwait weft_preload_pthread_cond_timedwait
#define pthread_cond_clockwait weft_preload_pthread_cond_clockwait
#define pthread_cancel weft_preload_pthread_cancel
#define pthread_rwlock_init weft_preload_pthread_rwlock_init
#define pthread_rwlock_destroy weft_preload_pthread_rwlock_destroy
#define pthread_rwlock_rdlock weft_preload_pthread_rwlock_rdlock
#define pthread_rwlock_wrlock weft_preload_pthread_rwlock_wrlock
#define pthread_rwlock_tryrdlock weft_preload_pthread_rwlock_tryrdlock
#define pthread_rwlock_trywrlock weft_preload_pthread_rwlock_trywrlock
#define pthread_rwlock_timedrdlock weft_preload_pthread_rwlock_timedrdlock
#define pthread_rwlock_timedwrlock weft_preload_pthread_rwlock_timedwrlock
#define pthread_rwlock_clockrdlock weft_preload_pthread_rwlock_clockrdlock
#define pthread_rwlock_clockwrlock weft_preload_pthread_rwlock_clockwrlock
#define pthread_rwlock_unlock weft_preload_pthread_rwlock_unlock
#define pthread_spin_init weft_preload_pthread_spin_init
#define pthread_spin_destroy weft_preload_pthread_spin_destroy
#define pthread_spin_lock weft_preload_pthread_spin_lock
#define pthread_spin_trylock weft_preload_pthread_spin_trylock
#define pthread_spin_unlock weft_preload_pthread_spin_unlock
#define pthread_barrier_init weft_preload_pthread_barrier_init
#define pthread_barrier_destroy weft_preload_pthread_barrier_destroy
#define pthread_barrier_wait weft_preload_pthread_barrier_wait
#define sem_init weft_preload_sem_init
#define sem_destroy weft_preload_sem_destroy
#define sem_wait weft_preload_sem_wait
#define sem_trywait weft_preload_sem_trywait
#define sem_timedwait weft_preload_sem_timedwait
#define sem_clockwait weft_preload_sem_clockwait
#define sem_post weft_preload_sem_post
#define sem_getvalue weft_preload_sem_getvalue
#endif

#endif /* WEFT_PRELOAD_H */
