/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_REGISTRY_H
#define WEFT_SRC_REGISTRY_H

/*
 * registry.h - the per-thread registry, written once for the objects that
 * keep per-thread state: the sharded counter (a thread's claim of a slot,
 * src/counter.c) and the pool (a thread's cache, src/pool.c).
 *
 * A registry hands out object ids, and keeps for each thread a list of
 * records, one per (thread, object) pair: only that thread links, looks up
 * and frees its records, so lookups take no lock.  Other threads may only
 * mark a record dead (its object was destroyed), under the registry lock,
 * which also guards whatever the client links records into (the counter's
 * slot owners, the pool's list of caches).  When a thread exits, a pthread
 * key destructor hands each of its live records to the client's release()
 * under the lock (give the slot back, flush the cache), then frees them all.
 * A thread frees its dead records at its exit, or earlier whenever the client
 * calls weft__registry_sweep() (under the lock).
 *
 * fork(): the child must not inherit a registry lock held by a thread that
 * does not exist there.  pthread_atfork() handlers, installed with the first
 * use of any registry, take every registry lock before fork() (so the child's
 * copy of the guarded lists is consistent) and release them after it, in the
 * parent and in the child.  In the child, records of threads that did not
 * survive the fork stay where they are: their counter slots stay claimed (the
 * counts stay in the sum) and their pool caches keep their objects (counted
 * as in use).
 *
 * The lock is an internal word lock (src/wordlock.h), not a weft_mutex_t, so
 * that WEFT_DEBUG's owner checks and lock-order records (and their own fork
 * handler, src/lockdep.c) never see it: the registry's fork handlers could
 * otherwise run into lockdep's, whose order depends on which was installed
 * first.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/config.h"

/* Each registry's place in the per-thread table. */
#define WEFT__REGISTRY_SCOUNTER 0u
#define WEFT__REGISTRY_POOL 1u
#define WEFT__REGISTRY_COUNT 2u

struct weft__registry {
	uint32_t lock;    /* word lock; guards what the client says, and the dead marks */
	uint64_t next_id; /* the last id handed out; relaxed fetch_add */
	unsigned index;   /* WEFT__REGISTRY_* */
	/* The client's record callbacks (@rec is what weft__registry_alloc() returned): */
	bool (*dead)(const void *rec); /* under the lock: its object was destroyed */
	void (*release)(void *rec);    /* thread exit, under the lock, live records only */
	void (*forget)(void *rec);     /* the owning thread, before the record is freed; may be NULL */
	void (*thread_done)(void);     /* thread exit, after its records are freed; may be NULL */
};

/* The two registries (defined by their clients; registry.c's fork handlers
 * take both locks). */
extern struct weft__registry weft__scounter_registry;
extern struct weft__registry weft__pool_registry;

/* A new object id: never 0, never reused. */
uint64_t weft__registry_new_id(struct weft__registry *reg);

void weft__registry_lock(struct weft__registry *reg);
void weft__registry_unlock(struct weft__registry *reg);

/*
 * weft__registry_alloc() - a new record of @size bytes for (this thread,
 * object @id), linked into this thread's list, its exit destructor armed.
 * Return: the record (suitably aligned for any type; contents undefined), or
 * NULL if memory or a pthread key is lacking (errno unchanged): the caller
 * then works without per-thread state.
 */
void *weft__registry_alloc(struct weft__registry *reg, uint64_t id, size_t size);

/* This thread's record for object @id, or NULL.  No lock. */
void *weft__registry_find(struct weft__registry *reg, uint64_t id);

/* Free this thread's dead records (calling forget() on each).  Under the lock. */
void weft__registry_sweep(struct weft__registry *reg);

#endif /* WEFT_SRC_REGISTRY_H */
