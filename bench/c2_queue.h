/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BENCH_C2_QUEUE_H
#define WEFT_BENCH_C2_QUEUE_H

/*
 * c2_queue.h - scenario C2 of SCENARIOS.md: a bounded blocking queue of
 * `void *` built the way Python's multiprocessing.Queue is: a counting
 * semaphore for the free capacity, a lock, and a condition variable
 * "not empty".  It is the blocking baseline that family `mpmc` compares the
 * lock-free weft_mpmc_t with, so it lives in its own module that any bench
 * file can include.
 *
 *   push(item):  wait(slots);                      (blocks while full)
 *                lock; if closed: unlock, post(slots), ECLOSED;
 *                ring[tail++] = item; signal(not_empty); unlock
 *   pop(&item):  lock; while empty and not closed: wait(not_empty, lock);
 *                if empty (closed): unlock, ECLOSED;
 *                item = ring[head++]; unlock; post(slots)
 *
 * (multiprocessing.Queue: put() acquires the BoundedSemaphore(maxsize) `_sem`,
 * then appends under `_notempty`, a Condition on a Lock, and notifies; the
 * reader releases `_sem` after taking an item.  The pipe and feeder thread
 * that carry items between processes are left out: here the ring is shared
 * memory between threads.)
 *
 * Two twins with the same shape and the same code:
 *   c2_queue_t   weft_sem_t + weft_mutex_t + weft_cond_t
 *   c2p_queue_t  sem_t + pthread_mutex_t + pthread_cond_t (glibc)
 *
 * Close: c2_close() makes every pop return WEFT_ECLOSED once the queue is
 * empty, and every later push return WEFT_ECLOSED; it wakes the poppers, not
 * pushers blocked on a full queue (they are released as the consumers drain
 * it, which they do until WEFT_ECLOSED).  A benchmark stops its producers
 * first, then closes, then the consumers drain and leave.
 *
 * Everything is static inline (header only): the bench build compiles only
 * bench/bench_*.c, and inlined push/pop keep the measured loops free of
 * indirect calls, as weft_mpmc_t's own inline paths are.
 *
 * Status codes are weft's (WEFT_OK, WEFT_EINVAL, WEFT_ENOMEM, WEFT_ECLOSED)
 * for both twins.
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <weft/cond.h>
#include <weft/mutex.h>
#include <weft/sem.h>
#include <weft/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- weft twin ------------------------------------------------------------- */

typedef struct c2_queue {
	weft_sem_t slots;     /* free capacity */
	weft_mutex_t lock;    /* guards everything below */
	weft_cond_t not_empty;
	void **ring;
	size_t cap, head, len;
	bool closed;
} c2_queue_t;

/* Return: WEFT_OK, WEFT_EINVAL (capacity 0 or above WEFT_SEM_VALUE_MAX), WEFT_ENOMEM. */
static inline int c2_queue_init(c2_queue_t *q, size_t capacity)
{
	if (capacity == 0 || capacity > WEFT_SEM_VALUE_MAX)
		return WEFT_EINVAL;
	q->ring = (void **)calloc(capacity, sizeof(void *));
	if (q->ring == NULL)
		return WEFT_ENOMEM;
	(void)!weft_sem_init(&q->slots, (unsigned)capacity, 0);
	(void)!weft_mutex_init(&q->lock, 0);
	(void)!weft_cond_init(&q->not_empty, 0);
	q->cap = capacity;
	q->head = q->len = 0;
	q->closed = false;
	return WEFT_OK;
}

/* Blocks while the queue is full.  Return: WEFT_OK or WEFT_ECLOSED. */
static inline int c2_push(c2_queue_t *q, void *item)
{
	weft_sem_wait(&q->slots);
	weft_mutex_lock(&q->lock);
	if (q->closed) {
		weft_mutex_unlock(&q->lock);
		(void)!weft_sem_post(&q->slots);
		return WEFT_ECLOSED;
	}
	size_t tail = q->head + q->len;
	q->ring[tail >= q->cap ? tail - q->cap : tail] = item;
	q->len++;
	weft_cond_signal(&q->not_empty);
	weft_mutex_unlock(&q->lock);
	return WEFT_OK;
}

/* Blocks while the queue is empty and open.  Return: WEFT_OK (item stored in
 * *item) or WEFT_ECLOSED (closed and empty). */
static inline int c2_pop(c2_queue_t *q, void **item)
{
	weft_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed)
		weft_cond_wait(&q->not_empty, &q->lock);
	if (q->len == 0) {
		weft_mutex_unlock(&q->lock);
		return WEFT_ECLOSED;
	}
	*item = q->ring[q->head];
	q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
	q->len--;
	weft_mutex_unlock(&q->lock);
	(void)!weft_sem_post(&q->slots);
	return WEFT_OK;
}

/* Never blocks on the capacity.  Return: true if pushed (false: full or closed). */
static inline bool c2_try_push(c2_queue_t *q, void *item)
{
	if (!weft_sem_trywait(&q->slots))
		return false;
	weft_mutex_lock(&q->lock);
	if (q->closed) {
		weft_mutex_unlock(&q->lock);
		(void)!weft_sem_post(&q->slots);
		return false;
	}
	size_t tail = q->head + q->len;
	q->ring[tail >= q->cap ? tail - q->cap : tail] = item;
	q->len++;
	weft_cond_signal(&q->not_empty);
	weft_mutex_unlock(&q->lock);
	return true;
}

/* Never waits for an item.  Return: true if an item was stored in *item. */
static inline bool c2_try_pop(c2_queue_t *q, void **item)
{
	weft_mutex_lock(&q->lock);
	if (q->len == 0) {
		weft_mutex_unlock(&q->lock);
		return false;
	}
	*item = q->ring[q->head];
	q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
	q->len--;
	weft_mutex_unlock(&q->lock);
	(void)!weft_sem_post(&q->slots);
	return true;
}

static inline void c2_close(c2_queue_t *q)
{
	weft_mutex_lock(&q->lock);
	q->closed = true;
	weft_cond_broadcast(&q->not_empty);
	weft_mutex_unlock(&q->lock);
}

/* Items queued now (a snapshot). */
static inline size_t c2_len(c2_queue_t *q)
{
	weft_mutex_lock(&q->lock);
	size_t n = q->len;
	weft_mutex_unlock(&q->lock);
	return n;
}

/* No thread may use the queue any more. */
static inline void c2_queue_destroy(c2_queue_t *q)
{
	weft_cond_destroy(&q->not_empty);
	weft_mutex_destroy(&q->lock);
	weft_sem_destroy(&q->slots);
	free(q->ring);
	q->ring = NULL;
}

/* ---- pthread / sem_t twin ---------------------------------------------------- */

typedef struct c2p_queue {
	sem_t slots;
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	void **ring;
	size_t cap, head, len;
	bool closed;
} c2p_queue_t;

/* Return: WEFT_OK, WEFT_EINVAL (capacity 0 or above SEM_VALUE_MAX), WEFT_ENOMEM. */
static inline int c2p_queue_init(c2p_queue_t *q, size_t capacity)
{
	if (capacity == 0 || capacity > (size_t)SEM_VALUE_MAX)
		return WEFT_EINVAL;
	q->ring = (void **)calloc(capacity, sizeof(void *));
	if (q->ring == NULL)
		return WEFT_ENOMEM;
	sem_init(&q->slots, 0, (unsigned)capacity);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	q->cap = capacity;
	q->head = q->len = 0;
	q->closed = false;
	return WEFT_OK;
}

static inline void c2p__sem_wait(sem_t *s)
{
	while (sem_wait(s) != 0 && errno == EINTR)
		;
}

static inline int c2p_push(c2p_queue_t *q, void *item)
{
	c2p__sem_wait(&q->slots);
	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		sem_post(&q->slots);
		return WEFT_ECLOSED;
	}
	size_t tail = q->head + q->len;
	q->ring[tail >= q->cap ? tail - q->cap : tail] = item;
	q->len++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	return WEFT_OK;
}

static inline int c2p_pop(c2p_queue_t *q, void **item)
{
	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed)
		pthread_cond_wait(&q->not_empty, &q->lock);
	if (q->len == 0) {
		pthread_mutex_unlock(&q->lock);
		return WEFT_ECLOSED;
	}
	*item = q->ring[q->head];
	q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
	q->len--;
	pthread_mutex_unlock(&q->lock);
	sem_post(&q->slots);
	return WEFT_OK;
}

static inline bool c2p_try_push(c2p_queue_t *q, void *item)
{
	if (sem_trywait(&q->slots) != 0)
		return false;
	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		sem_post(&q->slots);
		return false;
	}
	size_t tail = q->head + q->len;
	q->ring[tail >= q->cap ? tail - q->cap : tail] = item;
	q->len++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	return true;
}

static inline bool c2p_try_pop(c2p_queue_t *q, void **item)
{
	pthread_mutex_lock(&q->lock);
	if (q->len == 0) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	*item = q->ring[q->head];
	q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
	q->len--;
	pthread_mutex_unlock(&q->lock);
	sem_post(&q->slots);
	return true;
}

static inline void c2p_close(c2p_queue_t *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static inline size_t c2p_len(c2p_queue_t *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

static inline void c2p_queue_destroy(c2p_queue_t *q)
{
	pthread_cond_destroy(&q->not_empty);
	pthread_mutex_destroy(&q->lock);
	sem_destroy(&q->slots);
	free(q->ring);
	q->ring = NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_C2_QUEUE_H */
