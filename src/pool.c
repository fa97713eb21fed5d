/* SPDX-License-Identifier: MIT */
/*
 * pool.c - everything of weft_pool_t but the cache hits: the shared free list,
 * the thread caches' life cycle, layout, stats and the WEFT_DEBUG checks.  The
 * design is described at the top of include/weft/pool.h.
 *
 * The block:
 *
 *     [ weft_pool_t: 3 lines ][ links: uint32 x capacity ][ states: uint8 x capacity ]
 *     [ pad to max(64, align) ][ object 0 ][ object 1 ] ... [ object capacity-1 ]
 *
 * The shared stack holds batches.  A batch is named by one object, its "top";
 * links[top] is the index of the next batch's top (NIL ends the stack).  When
 * the pool has caches (batch > 1) the top object's memory starts with a
 * header: uint32 n (1..batch), then the indices of the other n - 1 members.
 * The header is written by the pusher before its release CAS and read by the
 * popper after its acquire CAS, by which time the popper owns the batch, so
 * plain accesses are race-free; links[] is read before the CAS, possibly after
 * another thread has taken the batch, so it is an array of atomics.
 *
 * State transitions of the head word (tag << 32 | top):
 *     push:  (t, a) -> (t+1, b)   links[b] = a written first; release
 *     pop:   (t, a) -> (t+1, links[a])                         acquire
 * Every modification of head is a CAS (an RMW), so whatever head value a
 * popper loads belongs to the release sequence of the push that put its top
 * there, and the acquire load synchronizes with that push.
 *
 * Caches: one struct weft__pool_cache per (thread, pool), allocated on the
 * thread's first slow-path get or put: a record of the per-thread registry
 * (src/registry.h).  Its mag[] is touched only by its thread; its count is
 * also read by weft_pool_stats().  It sits on two lists: the thread's (the
 * registry's, linked and freed only by that thread) and the pool's (under the
 * registry lock).  weft_pool_destroy() sets cache->pool = NULL for every
 * cache of the pool, under the lock; the owning thread frees such "dead"
 * caches at its exit or its next cache allocation.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "keep_errno.h"
#include "registry.h"
#include "weft/pool.h"

#define WEFT__POOL_NIL 0xFFFFFFFFu

/* Private flag bits in pool->flags. */
#define WEFT__POOL_OWNED_MALLOC 0x10000u /* weft_pool_create() allocated the block */
#define WEFT__POOL_OWNED_MMAP 0x20000u   /* ... with mmap (WEFT_PSHARED) */
#define WEFT__POOL_DESTROYED 0x40000u    /* weft_pool_destroy() ran (placement pools) */

/* WEFT_DEBUG object states. */
#define WEFT__POOL_STATE_FREE 0u
#define WEFT__POOL_STATE_USED 1u

struct weft__pool_cache weft__pool_no_cache; /* id 0, size 0: every lookup misses */

WEFT_STATIC_ASSERT(WEFT__POOL_TLS_WAYS == 8, "the initializer below lists 8 entries");
__thread struct weft__pool_cache *weft__pool_tls[WEFT__POOL_TLS_WAYS] = {
	&weft__pool_no_cache, &weft__pool_no_cache, &weft__pool_no_cache, &weft__pool_no_cache,
	&weft__pool_no_cache, &weft__pool_no_cache, &weft__pool_no_cache, &weft__pool_no_cache,
};


/* ---- layout ------------------------------------------------------------ */

static char *pool_objects(const weft_pool_t *pool)
{
	return (char *)pool + pool->obj_offset;
}

static uint32_t *pool_links(const weft_pool_t *pool)
{
	return (uint32_t *)(void *)((char *)pool + sizeof(weft_pool_t));
}

static uint8_t *pool_states(const weft_pool_t *pool)
{
	return (uint8_t *)(pool_links(pool) + pool->capacity);
}

static void *pool_obj_at(const weft_pool_t *pool, uint32_t idx)
{
	return pool_objects(pool) + (size_t)idx * pool->stride;
}

/* The index of an object of the pool: an exact division by stride done as a
 * shift and a multiplication by the inverse of stride's odd part. */
static uint32_t pool_index_of(const weft_pool_t *pool, const void *obj)
{
	uint64_t off = (uint64_t)((uintptr_t)obj - (uintptr_t)pool_objects(pool));
	return (uint32_t)((off >> pool->shift) * pool->inv);
}

/* Whether @obj is the start of an object of @pool.  If off = q * stride
 * exactly then (off >> shift) * inv == q; if stride's odd part does not divide
 * off >> shift, the product is a number >= capacity (it cannot equal some
 * q < capacity without off == q * stride). */
static bool pool_lookup_index(const weft_pool_t *pool, const void *obj, uint32_t *idx)
{
	uint64_t off = (uint64_t)((uintptr_t)obj - (uintptr_t)pool_objects(pool));
	if (off & ((UINT64_C(1) << pool->shift) - 1))
		return false;
	uint64_t q = (off >> pool->shift) * pool->inv;
	if (q >= pool->capacity)
		return false;
	*idx = (uint32_t)q;
	return true;
}

/* Inverse of an odd number modulo 2^64 by Newton's iteration: d * d == 1
 * (mod 8) gives 3 correct bits, and each step doubles them. */
static uint64_t pool_inverse_odd(uint64_t d)
{
	uint64_t x = d;
	for (int i = 0; i < 5; i++)
		x *= 2 - d * x;
	return x;
}

struct pool_layout {
	size_t align;      /* of the pool_objects */
	size_t stride;     /* obj_size rounded up to align */
	size_t obj_offset; /* pool_objects start here (mem aligned to max(64, align)) */
	size_t bytes;      /* the whole block */
	uint32_t batch;    /* pool_objects per batch if the pool has caches */
};

static size_t pool_block_align(size_t align)
{
	return align > WEFT_CACHE_LINE ? align : WEFT_CACHE_LINE;
}

static bool pool_compute_layout(size_t obj_size, size_t align, size_t capacity, struct pool_layout *l)
{
	if (obj_size == 0 || capacity == 0 || capacity > WEFT_POOL_CAPACITY_MAX)
		return false;
	if (align == 0)
		align = _Alignof(max_align_t);
	if ((align & (align - 1)) != 0 || align > WEFT_POOL_ALIGN_MAX)
		return false;
	size_t stride, objs, head, bytes;
	if (__builtin_add_overflow(obj_size, align - 1, &stride))
		return false;
	stride &= ~(align - 1);
	size_t balign = pool_block_align(align);
	/* header + links + states, rounded up so that pool_objects start aligned */
	head = sizeof(weft_pool_t) + capacity * (sizeof(uint32_t) + sizeof(uint8_t));
	head = (head + balign - 1) & ~(balign - 1);
	if (__builtin_mul_overflow(capacity, stride, &objs) || __builtin_add_overflow(head, objs, &bytes) ||
	    __builtin_add_overflow(bytes, (size_t)WEFT_CACHE_LINE - 1, &bytes))
		return false;
	bytes &= ~(size_t)(WEFT_CACHE_LINE - 1);
	l->align = align;
	l->stride = stride;
	l->obj_offset = head;
	l->bytes = bytes;
	size_t batch = WEFT_POOL_BATCH_MAX;
	if (stride / sizeof(uint32_t) < batch)
		batch = stride / sizeof(uint32_t);
	if (capacity / 16 < batch)
		batch = capacity / 16;
	l->batch = (uint32_t)batch;
	return true;
}

size_t weft_pool_bytes_aligned(size_t obj_size, size_t align, size_t capacity)
{
	struct pool_layout l;
	return pool_compute_layout(obj_size, align, capacity, &l) ? l.bytes : 0;
}

size_t weft_pool_bytes(size_t obj_size, size_t capacity)
{
	return weft_pool_bytes_aligned(obj_size, 0, capacity);
}

weft_pool_t *weft_pool_init_at_aligned(void *mem, size_t obj_size, size_t align, size_t capacity,
				       unsigned flags)
{
	struct pool_layout l;
	if (mem == NULL || (flags & ~(WEFT_POOL_NOCACHE | WEFT_PSHARED)) != 0 ||
	    !pool_compute_layout(obj_size, align, capacity, &l) || ((uintptr_t)mem & (pool_block_align(l.align) - 1)) != 0)
		return NULL;
	weft_pool_t *pool = (weft_pool_t *)mem;
	memset(pool, 0, sizeof(*pool));
	unsigned shift = (unsigned)__builtin_ctzll((unsigned long long)l.stride);
	pool->obj_offset = l.obj_offset;
	pool->stride = l.stride;
	pool->shift = shift;
	pool->inv = pool_inverse_odd((uint64_t)l.stride >> shift);
	pool->obj_size = obj_size;
	pool->capacity = (uint32_t)capacity;
	pool->flags = flags;
	pool->align = (uint32_t)l.align;
	pool->bytes = l.bytes;
	pool->head = WEFT__POOL_NIL; /* tag 0, empty: every object is still fresh */
	pool->free_shared = 0;
	pool->fresh = 0;
	pool->caches = NULL;
	memset(pool_states(pool), WEFT__POOL_STATE_FREE, capacity);
	if ((flags & (WEFT_POOL_NOCACHE | WEFT_PSHARED)) || l.batch < 2) {
		pool->batch = 1;
		pool->id = 0;
	} else {
		pool->batch = l.batch;
		/* relaxed: only uniqueness matters; publishing the pool is the caller's job */
		pool->id = weft__registry_new_id(&weft__pool_registry);
	}
	return pool;
}

weft_pool_t *weft_pool_init_at(void *mem, size_t obj_size, size_t capacity, unsigned flags)
{
	return weft_pool_init_at_aligned(mem, obj_size, 0, capacity, flags);
}

weft_pool_t *weft_pool_create_aligned(size_t obj_size, size_t align, size_t capacity, unsigned flags)
{
	struct pool_layout l;
	if ((flags & ~(WEFT_POOL_NOCACHE | WEFT_PSHARED)) != 0 || !pool_compute_layout(obj_size, align, capacity, &l))
		return NULL;
	int saved = weft__errno_save();
	void *mem = NULL;
	if (flags & WEFT_PSHARED) {
		mem = mmap(NULL, l.bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			mem = NULL;
	} else if (posix_memalign(&mem, pool_block_align(l.align), l.bytes) != 0) {
		mem = NULL;
	}
	weft__errno_restore(saved);
	if (!mem)
		return NULL;
	weft_pool_t *pool = weft_pool_init_at_aligned(mem, obj_size, align, capacity, flags);
	pool->flags |= (flags & WEFT_PSHARED) ? WEFT__POOL_OWNED_MMAP : WEFT__POOL_OWNED_MALLOC;
	return pool;
}

weft_pool_t *weft_pool_create(size_t obj_size, size_t capacity, unsigned flags)
{
	return weft_pool_create_aligned(obj_size, 0, capacity, flags);
}

/* ---- WEFT_DEBUG checks -------------------------------------------------- */

WEFT_NORETURN WEFT_COLD static void pool_die_obj(const weft_pool_t *pool, const void *obj, const char *what)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s %p", what, obj);
	weft_debug_die("weft_pool_t", pool, msg);
}

static void pool_check_alive(const weft_pool_t *pool)
{
	if (pool->flags & WEFT__POOL_DESTROYED)
		weft_debug_die("weft_pool_t", pool, "used after weft_pool_destroy()");
}

void weft__pool_debug_got(weft_pool_t *pool, void *obj)
{
	uint32_t idx;
	if (!pool_lookup_index(pool, obj, &idx))
		pool_die_obj(pool, obj, "internal error: handed out a pointer outside the pool:");
	/* relaxed: a diagnostic mark; the free list orders the object itself */
	if (weft_atomic_exchange(&pool_states(pool)[idx], (uint8_t)WEFT__POOL_STATE_USED, WEFT_RELAXED) != WEFT__POOL_STATE_FREE)
		pool_die_obj(pool, obj,
			"handed out an object already in use (pool corrupted by a put without WEFT_DEBUG?):");
}

void weft__pool_debug_put(weft_pool_t *pool, void *obj)
{
	uint32_t idx;
	pool_check_alive(pool);
	if (!pool_lookup_index(pool, obj, &idx))
		pool_die_obj(pool, obj, "put of a pointer that is not an object of this pool:");
	/* relaxed: a diagnostic mark; two racing puts of one object still see
	 * each other's exchange (one RMW order on the byte) */
	if (weft_atomic_exchange(&pool_states(pool)[idx], (uint8_t)WEFT__POOL_STATE_FREE, WEFT_RELAXED) != WEFT__POOL_STATE_USED)
		pool_die_obj(pool, obj, "double put (object already free):");
}

/* ---- the shared stack --------------------------------------------------- */

/* Read the batch whose top is @top (owned by the caller) into out[].  The top
 * object goes last, so it is the next one handed out (its line is hot). */
static uint32_t pool_unpack_batch(weft_pool_t *pool, uint32_t top, void **out)
{
	void *obj = pool_obj_at(pool, top);
	if (pool->batch == 1) {
		out[0] = obj;
		return 1;
	}
	uint32_t hdr[WEFT_POOL_BATCH_MAX];
	memcpy(&hdr[0], obj, sizeof(uint32_t));
	uint32_t n = hdr[0];
	if (n == 0 || n > pool->batch)
		pool_die_obj(pool, obj, "free object overwritten (written after it was put back?):");
	memcpy(&hdr[1], (char *)obj + sizeof(uint32_t), (n - 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i + 1 < n; i++) {
		if (hdr[1 + i] >= pool->capacity)
			pool_die_obj(pool, obj, "free object overwritten (written after it was put back?):");
		out[i] = pool_obj_at(pool, hdr[1 + i]);
	}
	out[n - 1] = obj;
	return n;
}

/* Take up to batch never-used pool_objects.  Return: how many (0: none left). */
static uint32_t pool_take_fresh(weft_pool_t *pool, void **out)
{
	/* relaxed: fresh pool_objects carry no data, and the pool's initialization
	 * was published to this thread with the pool pointer */
	uint32_t f = weft_atomic_load(&pool->fresh, WEFT_RELAXED);
	uint32_t k;
	do {
		if (f >= pool->capacity)
			return 0;
		k = pool->capacity - f < pool->batch ? pool->capacity - f : pool->batch;
	} while (!weft_atomic_cas_weak(&pool->fresh, &f, f + k, WEFT_RELAXED, WEFT_RELAXED));
	for (uint32_t i = 0; i < k; i++)
		out[i] = pool_obj_at(pool, f + k - 1 - i); /* lowest index handed out first */
	return k;
}

/* Pop one batch (or take fresh pool_objects) into out[].  Return: how many. */
static uint32_t pool_pop_batch(weft_pool_t *pool, void **out)
{
	uint32_t *lk = pool_links(pool);
	/* acquire: pairs with the release CAS of the push that put this top on
	 * the stack (see the top of the file), so links[top] and the batch
	 * header, and everything written to the pool_objects before their put, are
	 * visible */
	uint64_t head = weft_atomic_load(&pool->head, WEFT_ACQUIRE);
	for (;;) {
		uint32_t top = (uint32_t)head;
		if (top == WEFT__POOL_NIL)
			return pool_take_fresh(pool, out);
		WEFT__CHAOS_POINT(); /* let another thread pop `top` (and push it back) */
		/* relaxed: if another thread takes `top` first this may be stale or
		 * rewritten, and the CAS below fails because the tag moved on */
		uint32_t next = weft_atomic_load(&lk[top], WEFT_RELAXED);
		uint64_t desired = (((head >> 32) + 1) << 32) | next;
		/* acquire (both ways): as the load above, for the value we act on */
		if (weft_atomic_cas_weak(&pool->head, &head, desired, WEFT_ACQUIRE, WEFT_ACQUIRE)) {
			uint32_t n = pool_unpack_batch(pool, top, out);
			/* relaxed: statistics; subtracted after the pop so it never
			 * undercounts the stack */
			weft_atomic_fetch_sub(&pool->free_shared, (uint64_t)n, WEFT_RELAXED);
			return n;
		}
	}
}

/* Push objs[0..n-1] (1 <= n <= batch, all owned by the caller) as one batch. */
static void pool_push_batch(weft_pool_t *pool, void **objs, uint32_t n)
{
	uint32_t *lk = pool_links(pool);
	uint32_t top = pool_index_of(pool, objs[n - 1]);
	if (pool->batch > 1) {
		uint32_t hdr[WEFT_POOL_BATCH_MAX];
		hdr[0] = n;
		for (uint32_t i = 0; i + 1 < n; i++)
			hdr[1 + i] = pool_index_of(pool, objs[i]);
		memcpy(objs[n - 1], hdr, n * sizeof(uint32_t)); /* published by the CAS */
	}
	/* relaxed: statistics; added before the push so it never undercounts */
	weft_atomic_fetch_add(&pool->free_shared, (uint64_t)n, WEFT_RELAXED);
	/* relaxed: only a first guess for the CAS, which rereads on failure */
	uint64_t head = weft_atomic_load(&pool->head, WEFT_RELAXED);
	uint64_t desired;
	do {
		/* relaxed: published by the release CAS below */
		weft_atomic_store(&lk[top], (uint32_t)head, WEFT_RELAXED);
		desired = (((head >> 32) + 1) << 32) | top;
		/* release: publishes links[top], the batch header and the pool_objects'
		 * contents; pairs with the acquire load/CAS in pool_pop_batch() */
	} while (!weft_atomic_cas_weak(&pool->head, &head, desired, WEFT_RELEASE, WEFT_RELAXED));
}

/* Give all of a cache's pool_objects back to the stack. */
static void pool_flush_cache(weft_pool_t *pool, struct weft__pool_cache *c)
{
	uint32_t n = weft_atomic_load(&c->count, WEFT_RELAXED); /* relaxed: our own count */
	while (n) {
		uint32_t k = n < pool->batch ? n : pool->batch;
		pool_push_batch(pool, &c->mag[n - k], k);
		n -= k;
		weft_atomic_store(&c->count, n, WEFT_RELAXED); /* relaxed: stats read it */
	}
}

/* ---- thread caches ------------------------------------------------------ */

static void pool_forget_tls(struct weft__pool_cache *c)
{
	struct weft__pool_cache **slot = &weft__pool_tls[c->id & (WEFT__POOL_TLS_WAYS - 1u)];
	if (*slot == c)
		*slot = &weft__pool_no_cache;
}

static void pool_unlink_from_pool(struct weft__pool_cache *c)
{
	*c->pool_pprev = c->pool_next;
	if (c->pool_next)
		c->pool_next->pool_pprev = c->pool_pprev;
}

/* A cache the registry may free: its pool was destroyed (or it is being
 * given back at thread exit). */
static bool pool_cache_dead(const void *rec)
{
	return ((const struct weft__pool_cache *)rec)->pool == NULL;
}

/* Thread exit, under the registry lock: give the cache's objects back. */
static void pool_cache_release(void *rec)
{
	struct weft__pool_cache *c = (struct weft__pool_cache *)rec;
	pool_flush_cache(c->pool, c);
	pool_unlink_from_pool(c);
	c->pool = NULL;
}

/* Before the owning thread frees a cache: no table entry may point at it. */
static void pool_cache_forget(void *rec)
{
	pool_forget_tls((struct weft__pool_cache *)rec);
}

struct weft__registry weft__pool_registry = {
	.index = WEFT__REGISTRY_POOL,
	.dead = pool_cache_dead,
	.release = pool_cache_release,
	.forget = pool_cache_forget,
};

/* This thread's cache of @pool, created if needed and entered in the
 * thread-local table.  NULL if it cannot be made (no memory, no pthread key):
 * the caller then works on the shared stack directly. */
static struct weft__pool_cache *pool_own_cache(weft_pool_t *pool)
{
	struct weft__registry *reg = &weft__pool_registry;
	struct weft__pool_cache *c = (struct weft__pool_cache *)weft__registry_find(reg, pool->id);
	if (!c) {
		c = (struct weft__pool_cache *)weft__registry_alloc(reg, pool->id, sizeof(*c));
		if (!c)
			return NULL;
		c->id = pool->id;
		c->count = 0;
		c->size = 2 * pool->batch;
		c->pool = pool;
		weft__registry_lock(reg);
		weft__registry_sweep(reg); /* caches of destroyed pools */
		c->pool_next = pool->caches;
		c->pool_pprev = &pool->caches;
		if (pool->caches)
			pool->caches->pool_pprev = &c->pool_next;
		pool->caches = c;
		weft__registry_unlock(reg);
	}
	weft__pool_tls[pool->id & (WEFT__POOL_TLS_WAYS - 1u)] = c;
	return c;
}

/* get without a cache: one batch from the stack, the rest of it pushed back. */
static void *pool_get_uncached(weft_pool_t *pool)
{
	void *tmp[WEFT_POOL_BATCH_MAX];
	uint32_t n = pool_pop_batch(pool, tmp);
	if (n == 0)
		return NULL;
	if (n > 1)
		pool_push_batch(pool, tmp, n - 1);
	return tmp[n - 1];
}

void *weft_pool_get_slow(weft_pool_t *pool)
{
	pool_check_alive(pool);
	struct weft__pool_cache *c = pool->id ? pool_own_cache(pool) : NULL;
	if (!c)
		return pool_get_uncached(pool);
	uint32_t n = weft_atomic_load(&c->count, WEFT_RELAXED); /* relaxed: our own count */
	if (n == 0)
		n = pool_pop_batch(pool, c->mag);
	if (n == 0)
		return NULL;
	weft_atomic_store(&c->count, n - 1, WEFT_RELAXED); /* relaxed: stats read it */
	return c->mag[n - 1];
}

void weft_pool_put_slow(weft_pool_t *pool, void *obj)
{
	pool_check_alive(pool);
	struct weft__pool_cache *c = pool->id ? pool_own_cache(pool) : NULL;
	if (!c) {
		pool_push_batch(pool, &obj, 1);
		return;
	}
	uint32_t n = weft_atomic_load(&c->count, WEFT_RELAXED); /* relaxed: our own count */
	if (n == c->size) {
		pool_push_batch(pool, &c->mag[n - pool->batch], pool->batch);
		n -= pool->batch;
	}
	c->mag[n] = obj;
	weft_atomic_store(&c->count, n + 1, WEFT_RELAXED); /* relaxed: stats read it */
}

void weft_pool_flush(weft_pool_t *pool)
{
	if (pool->id == 0)
		return;
	struct weft__pool_cache *c = (struct weft__pool_cache *)weft__registry_find(&weft__pool_registry, pool->id);
	if (c)
		pool_flush_cache(pool, c);
}

int weft_pool_stats(weft_pool_t *pool, struct weft_pool_stats *out)
{
	if (!pool || !out)
		return WEFT_EINVAL;
	uint64_t cached = 0;
	weft__registry_lock(&weft__pool_registry);
	for (struct weft__pool_cache *c = pool->caches; c; c = c->pool_next)
		cached += weft_atomic_load(&c->count, WEFT_RELAXED); /* relaxed: a snapshot */
	weft__registry_unlock(&weft__pool_registry);
	/* relaxed: a snapshot (see the function's comment) */
	uint64_t shared = weft_atomic_load(&pool->free_shared, WEFT_RELAXED);
	uint64_t fresh = pool->capacity - weft_atomic_load(&pool->fresh, WEFT_RELAXED);
	uint64_t cap = pool->capacity;
	if (cached > cap)
		cached = cap;
	uint64_t free_total = shared + fresh + cached;
	if (free_total > cap)
		free_total = cap;
	out->capacity = (size_t)cap;
	out->in_use = (size_t)(cap - free_total);
	out->cached = (size_t)cached;
	out->obj_size = (size_t)pool->obj_size;
	out->stride = (size_t)pool->stride;
	out->align = pool->align;
	out->bytes = (size_t)pool->bytes;
	out->batch = pool->batch;
	return WEFT_OK;
}

void weft_pool_destroy(weft_pool_t *pool)
{
	if (!pool)
		return;
	weft__registry_lock(&weft__pool_registry);
	/* Disown every thread's cache: their exit must not touch the pool. */
	for (struct weft__pool_cache *c = pool->caches; c; c = c->pool_next)
		c->pool = NULL;
	pool->caches = NULL;
	weft__registry_sweep(&weft__pool_registry); /* this thread's own cache can go now */
	weft__registry_unlock(&weft__pool_registry);
	unsigned flags = pool->flags;
	if (flags & WEFT__POOL_OWNED_MMAP) {
		int saved = weft__errno_save();
		munmap(pool, pool->bytes);
		weft__errno_restore(saved);
	} else if (flags & WEFT__POOL_OWNED_MALLOC) {
		free(pool);
	} else {
		pool->id = 0;
		pool->flags |= WEFT__POOL_DESTROYED;
	}
}
