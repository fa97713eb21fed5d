/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the per-thread registry (see registry.h).
 *
 * A record is a header (struct reg_node: this thread's list link and the
 * object id) followed by the client's bytes; the client only ever sees the
 * latter.  One pthread key serves every registry: its value is non-NULL for a
 * thread that has records anywhere, and its destructor empties each of the
 * thread's lists in turn.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

#include "keep_errno.h"
#include "registry.h"
#include "wordlock.h"
#include "weft/atomic.h"
#include "weft/chaos.h"

struct reg_node {
	struct reg_node *next; /* this thread's list, newest first */
	uint64_t id;
};

/* The client's bytes start here, aligned for any type. */
#define REG_HEADER ((sizeof(struct reg_node) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))

static void *reg_rec(struct reg_node *n)
{
	return (char *)n + REG_HEADER;
}

static __thread struct reg_node *reg_heads[WEFT__REGISTRY_COUNT]; /* this thread's lists */
static __thread int reg_armed; /* the key holds a value for this thread */

static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static pthread_key_t reg_key;
static int reg_key_ok;

static struct weft__registry *const reg_all[WEFT__REGISTRY_COUNT] = {
	[WEFT__REGISTRY_SCOUNTER] = &weft__scounter_registry,
	[WEFT__REGISTRY_POOL] = &weft__pool_registry,
};

/* ---- the lock ----------------------------------------------------------- */

/*
 * No spinning before parking: the lock is taken on a thread's first use of an
 * object, at thread exit, by destroy and by stats, so it is almost never
 * contended; when it is, the holder may be walking a list, and a sleep costs
 * nothing that matters there.
 */
static void reg_lock_word(struct weft__registry *reg)
{
	if (!weft__wordlock_trylock(&reg->lock, 0u))
		(void)weft__wordlock_lock(&reg->lock, 0u, WEFT__SPIN_NONE, NULL, 0u);
}

static void reg_unlock_word(struct weft__registry *reg)
{
	weft__wordlock_unlock(&reg->lock, 0u, 0u);
}

/* fork(): hold every registry lock across it, in index order (nothing takes
 * two at once otherwise, so no order can invert), and release them on both
 * sides.  In the child the forking thread is the holder, so releasing is
 * right; an unlock that finds the word CONTENDED (threads of the parent were
 * asleep on it) makes one wake-up call that finds nobody. */
static void reg_fork_prepare(void)
{
	for (unsigned i = 0; i < WEFT__REGISTRY_COUNT; i++)
		reg_lock_word(reg_all[i]);
}

static void reg_fork_release(void)
{
	for (unsigned i = WEFT__REGISTRY_COUNT; i-- > 0;)
		reg_unlock_word(reg_all[i]);
}

static void reg_thread_exit(void *arg);

static void reg_init(void)
{
	reg_key_ok = pthread_key_create(&reg_key, reg_thread_exit) == 0;
	(void)pthread_atfork(reg_fork_prepare, reg_fork_release, reg_fork_release);
}

/* Every entry point goes through here first, so the fork handlers are in
 * place before any thread can hold a registry lock. */
static void reg_setup(void)
{
	int saved = weft__errno_save();
	pthread_once(&reg_once, reg_init);
	weft__errno_restore(saved);
}

void weft__registry_lock(struct weft__registry *reg)
{
	reg_setup();
	reg_lock_word(reg);
}

void weft__registry_unlock(struct weft__registry *reg)
{
	reg_unlock_word(reg);
}

uint64_t weft__registry_new_id(struct weft__registry *reg)
{
	/* relaxed: only uniqueness matters; publishing the object is the caller's job */
	return weft_atomic_fetch_add(&reg->next_id, (uint64_t)1, WEFT_RELAXED) + 1;
}

/* ---- records ------------------------------------------------------------ */

static void reg_free(struct weft__registry *reg, struct reg_node *n)
{
	if (reg->forget)
		reg->forget(reg_rec(n));
	free(n);
}

/* Arm the exit destructor for this thread.  Return: false if impossible (out
 * of pthread keys), in which case the thread must not keep records. */
static bool reg_arm(void)
{
	if (reg_armed)
		return true;
	reg_setup();
	int saved = weft__errno_save();
	bool ok = reg_key_ok && pthread_setspecific(reg_key, &reg_armed) == 0;
	weft__errno_restore(saved);
	if (ok)
		reg_armed = 1;
	return ok;
}

void *weft__registry_alloc(struct weft__registry *reg, uint64_t id, size_t size)
{
	if (!reg_arm())
		return NULL;
	int saved = weft__errno_save();
	struct reg_node *n = (struct reg_node *)malloc(REG_HEADER + size);
	weft__errno_restore(saved);
	if (!n)
		return NULL;
	n->id = id;
	n->next = reg_heads[reg->index];
	reg_heads[reg->index] = n;
	return reg_rec(n);
}

void *weft__registry_find(struct weft__registry *reg, uint64_t id)
{
	/* Only this thread links and frees its records; ids never change. */
	for (struct reg_node *n = reg_heads[reg->index]; n; n = n->next)
		if (n->id == id)
			return reg_rec(n);
	return NULL;
}

void weft__registry_sweep(struct weft__registry *reg)
{
	struct reg_node **pp = &reg_heads[reg->index];
	while (*pp) {
		struct reg_node *n = *pp;
		if (reg->dead(reg_rec(n))) {
			*pp = n->next;
			reg_free(reg, n);
		} else {
			pp = &n->next;
		}
	}
}

/* The pthread key destructor: hand every live record to its client, then
 * free them all. */
static void reg_thread_exit(void *arg)
{
	(void)arg;
	reg_armed = 0;
	WEFT__CHAOS_POINT(); /* the thread is leaving; its records are still its own */
	for (unsigned i = 0; i < WEFT__REGISTRY_COUNT; i++) {
		struct weft__registry *reg = reg_all[i];
		struct reg_node *list = reg_heads[i];
		if (!list)
			continue;
		reg_lock_word(reg);
		for (struct reg_node *n = list; n; n = n->next)
			if (!reg->dead(reg_rec(n)))
				reg->release(reg_rec(n));
		reg_unlock_word(reg);
		/* Released or dead, no other thread refers to them any more. */
		reg_heads[i] = NULL;
		while (list) {
			struct reg_node *n = list;
			list = n->next;
			reg_free(reg, n);
		}
		if (reg->thread_done)
			reg->thread_done();
	}
}
