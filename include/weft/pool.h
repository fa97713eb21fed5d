/* SPDX-License-Identifier: MIT */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

/*
 * pool.h - a fixed-size object pool: per-thread caches over a lock-free,
 * ABA-safe shared free list.
 *
 * A pool is one block of memory: a header, two small per-object arrays, and
 * `capacity` objects of `stride` bytes (obj_size rounded up to the alignment).
 * It never allocates objects afterwards, so its memory never exceeds what
 * weft_pool_bytes() reports, whatever the pattern of gets and puts.  Objects
 * are named by their 32-bit index inside the pool.
 *
 * Shared part: a Treiber stack (R. K. Treiber, "Systems Programming: Coping
 * with Parallelism", IBM Research Report RJ 5118, 1986) whose elements are
 * batches of up to WEFT_POOL_BATCH_MAX free objects.  A batch is named by its
 * first object; the first object's own (free) memory holds the batch's size
 * and the indices of the other members, and a separate array links[] holds
 * the index of the next batch, so popping a batch reads one link and one
 * object, whatever the batch size.  The stack's head is one 64-bit word: the
 * index of the top batch in the low 32 bits and a tag in the high 32 bits that
 * every successful push and pop increments.  That tag defeats ABA (a pop that
 * read head A and next B, slept while A was popped and pushed back with
 * another next, and then wakes finds the tag changed and retries) without a
 * 16-byte compare-and-swap: the counter technique is IBM's (IBM System/370
 * Principles of Operation, GA22-7000, appendix A, "Free-Pool Manipulation",
 * where a double-word CAS updates pointer and counter together) and is what
 * Treiber's report builds on; packing a 32-bit index instead of a pointer
 * lets one 64-bit CAS do it; see also M. M. Michael, "ABA Prevention Using Single-Word
 * Instructions", IBM RC 23089, 2004.  A tag can repeat only after 2^32
 * operations on the list while one thread stalls between its two reads and
 * its CAS.  links[] is an array of atomics apart from the objects, so a pop
 * that reads the link of a batch another thread just took never reads memory
 * that the new owner is writing.  Objects never handed out yet are not on the
 * stack: a "fresh" index hands them out in batches, so creating a pool touches
 * none of its objects (and commits no pages for them).
 *
 * Per-thread part: each thread that uses a pool gets a cache (a magazine of
 * up to 2 * batch object pointers; J. Bonwick, J. Adams, "Magazines and Vmem",
 * USENIX 2001).  get pops the cache, put pushes it: a few loads and stores, no
 * atomic read-modify-write.  An empty cache refills with one batch from the
 * stack (one CAS); a full one gives `batch` objects back as one batch (one
 * CAS).  So a producer thread that only gets and a consumer thread that only
 * puts pass objects to each other a batch at a time, and neither strands more
 * than 2 * batch objects.  The thread finds its cache through a thread-local
 * table keyed by the pool's id (ids are never reused).  A pthread key
 * destructor gives a thread's caches back to their pools when it exits; a
 * process-wide registry lock orders that against weft_pool_destroy(), which
 * disowns the caches of threads still alive so their exit does not touch the
 * freed pool.
 *
 * batch = min(WEFT_POOL_BATCH_MAX, stride / 4, capacity / 16).  When that is
 * below 2 (objects under 8 bytes, pools under 32 objects), or with
 * WEFT_POOL_NOCACHE or WEFT_PSHARED, the pool has no thread caches: every get
 * and put is one operation on the shared stack, and object memory is never
 * written by the pool.
 *
 * Exhaustion: weft_pool_get() returns NULL when the calling thread's cache,
 * the shared stack and the fresh objects are all empty.  Objects may then
 * still sit free in other threads' caches (at most 2 * batch per thread;
 * weft_pool_stats() says how many): a thread gives its cache back when it
 * exits or calls weft_pool_flush().
 *
 * Progress: get and put are lock-free (wait-free on a cache hit).  A thread's
 * first use of a pool, its exit, weft_pool_stats() and create/destroy take a
 * process-wide lock.  Fairness: none (LIFO reuse keeps objects cache-hot).
 *
 * Ordering: put is a release and the get that returns the same object on
 * another thread an acquire: everything written to an object (and anything
 * else) before put is visible to the thread that gets it next.  (On one
 * thread, program order does it.)
 *
 * Footprint: weft_pool_bytes(obj_size, capacity) = 192 bytes of header + 5
 * bytes per object (a 4-byte link, a 1-byte WEFT_DEBUG state) + capacity *
 * stride, rounded to cache lines.  Per thread that uses a pool: a 304-byte
 * cache, and (once per thread) a 64-byte thread-local table.
 *
 * WEFT_DEBUG: putting an object twice, and putting a pointer that is not an
 * object of this pool (or not the start of one), abort with "weft:
 * weft_pool_t <pool>: ... <pointer> ...".  All code that uses one pool must
 * agree on WEFT_DEBUG (the state array is kept by debug code only).  Getting
 * from or putting into a pool after destroy aborts in every build (destroy
 * clears the pool's id, which sends both to the checked slow path).
 */

#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "config.h"
#include "debug.h"
#include "status.h"
#include "tsan.h"

WEFT_EXTERN_C_BEGIN

#define WEFT_POOL_NOCACHE 0x100u         /* flag: no thread caches */
#define WEFT_POOL_CAPACITY_MAX 0xFFFFFFFFu /* indices are 32-bit; 0xFFFFFFFF is the list's end */
#define WEFT_POOL_ALIGN_MAX 4096u        /* largest alignment weft_pool_create_aligned() accepts */
#define WEFT_POOL_BATCH_MAX 16u          /* objects moved between a cache and the stack at once */

/*
 * The pool header, at the start of the pool's memory.  All fields are private:
 * the inline get/put read `id` (and, under WEFT_DEBUG, nothing else).
 */
typedef struct weft_pool {
	/* line 0: fixed at init, read by every get and put */
	uint64_t id;         /* never reused; 0: the pool has no thread caches */
	uint64_t obj_offset; /* objects start at (char *)pool + obj_offset */
	uint64_t stride;     /* bytes between objects: (odd << shift) */
	uint64_t inv;        /* inverse of odd modulo 2^64 (exact division) */
	uint64_t obj_size;   /* as asked */
	uint32_t shift;
	uint32_t capacity;
	uint32_t batch; /* objects per batch; 1 without caches */
	uint32_t flags; /* as given, plus private bits (src/pool.c) */
	uint32_t align; /* every object's alignment */
	/* line 1: the shared free list */
	uint64_t head WEFT_ALIGNED(WEFT_CACHE_LINE); /* tag << 32 | index of the top batch */
	uint64_t free_shared;                         /* objects on the stack (stats; never below) */
	uint32_t fresh;                               /* [fresh, capacity) never handed out */
	/* line 2: registry state, under the process-wide pool lock */
	struct weft__pool_cache *caches WEFT_ALIGNED(WEFT_CACHE_LINE); /* threads' caches of this pool */
	uint64_t bytes;                                                /* of the block */
} weft_pool_t;
WEFT_STATIC_ASSERT(offsetof(weft_pool_t, head) == WEFT_CACHE_LINE, "the free list has a line of its own");
WEFT_STATIC_ASSERT(sizeof(weft_pool_t) == 3 * WEFT_CACHE_LINE, "the header is three cache lines");

/* A thread's cache of one pool (private). */
struct weft__pool_cache {
	uint64_t id;    /* the pool's id */
	uint32_t count; /* objects in mag[]; written by the owner, read by stats (relaxed) */
	uint32_t size;  /* capacity of mag[] (2 * batch); 0 in the empty entry */
	weft_pool_t *pool;                   /* NULL once the pool is destroyed (registry lock) */
	struct weft__pool_cache *pool_next;   /* the pool's caches (registry lock) */
	struct weft__pool_cache **pool_pprev;
	void *mag[2 * WEFT_POOL_BATCH_MAX]; /* the magazine (size entries used) */
};

/* The thread-local table: pool id (low bits) -> this thread's cache, or the
 * empty entry (id 0, size 0), which makes every lookup that misses fall to the
 * slow path without a null check. */
#define WEFT__POOL_TLS_WAYS 8u
extern struct weft__pool_cache weft__pool_no_cache;
extern __thread struct weft__pool_cache *weft__pool_tls[WEFT__POOL_TLS_WAYS];

WEFT_NOINLINE WEFT_COLD void *weft_pool_get_slow(weft_pool_t *pool);
WEFT_NOINLINE WEFT_COLD void weft_pool_put_slow(weft_pool_t *pool, void *obj);
/* WEFT_DEBUG checks (always in the library, so debug code links with a release build). */
WEFT_NOINLINE void weft__pool_debug_got(weft_pool_t *pool, void *obj);
WEFT_NOINLINE void weft__pool_debug_put(weft_pool_t *pool, void *obj);

/**
 * weft_pool_bytes_aligned() - the memory a pool needs.
 * @obj_size: bytes per object (> 0).
 * @align: object alignment, a power of two up to WEFT_POOL_ALIGN_MAX; 0 for
 *         the default, alignof(max_align_t).
 * @capacity: number of objects, 1..WEFT_POOL_CAPACITY_MAX.
 *
 * Context: any.
 * Return: the bytes weft_pool_init_at_aligned() needs (a multiple of
 * WEFT_CACHE_LINE), or 0 if an argument is out of range or the size does not
 * fit in size_t.
 */
size_t weft_pool_bytes_aligned(size_t obj_size, size_t align, size_t capacity);

/**
 * weft_pool_bytes() - the memory a pool of default alignment needs.
 * @obj_size: bytes per object (> 0).
 * @capacity: number of objects, 1..WEFT_POOL_CAPACITY_MAX.
 *
 * Context: any.
 * Return: as weft_pool_bytes_aligned() with @align 0.
 */
size_t weft_pool_bytes(size_t obj_size, size_t capacity);

/**
 * weft_pool_init_at_aligned() - build a pool in caller memory.
 * @mem: at least weft_pool_bytes_aligned(@obj_size, @align, @capacity) bytes,
 *       aligned to WEFT_CACHE_LINE (64).  With WEFT_PSHARED it may be shared
 *       memory mapped at different addresses in different processes.
 * @obj_size: bytes per object (> 0).
 * @align: object alignment (power of two <= WEFT_POOL_ALIGN_MAX), 0 for
 *         alignof(max_align_t).  Objects are aligned to at least this.
 * @capacity: number of objects, 1..WEFT_POOL_CAPACITY_MAX.
 * @flags: 0, WEFT_POOL_NOCACHE, WEFT_PSHARED (implies no caches).
 *
 * Writes only the header and the per-object arrays; objects are untouched.
 * weft_pool_destroy() does not free @mem.
 *
 * Context: any thread; not async-signal-safe.
 * Return: the pool (== @mem), or NULL for a NULL or misaligned @mem or an
 * argument out of range (@mem is then untouched).
 */
WEFT_NODISCARD weft_pool_t *weft_pool_init_at_aligned(void *mem, size_t obj_size, size_t align, size_t capacity,
				       unsigned flags);

/**
 * weft_pool_init_at() - build a pool of default alignment in caller memory.
 * @mem: weft_pool_bytes(@obj_size, @capacity) bytes aligned to 64.
 * @obj_size: bytes per object.
 * @capacity: number of objects.
 * @flags: see weft_pool_init_at_aligned().
 *
 * Context: any thread; not async-signal-safe.
 * Return: as weft_pool_init_at_aligned().
 */
WEFT_NODISCARD weft_pool_t *weft_pool_init_at(void *mem, size_t obj_size, size_t capacity, unsigned flags);

/**
 * weft_pool_create_aligned() - allocate and build a pool.
 * @obj_size: bytes per object (> 0).
 * @align: object alignment (power of two <= WEFT_POOL_ALIGN_MAX), 0 for default.
 * @capacity: number of objects, 1..WEFT_POOL_CAPACITY_MAX.
 * @flags: 0, WEFT_POOL_NOCACHE, or WEFT_PSHARED (the block is then mapped
 *         MAP_SHARED | MAP_ANONYMOUS, so processes forked afterwards share it).
 *
 * Context: allocates; not async-signal-safe.
 * Return: the pool, or NULL for an argument out of range or no memory.
 */
WEFT_NODISCARD weft_pool_t *weft_pool_create_aligned(size_t obj_size, size_t align, size_t capacity, unsigned flags);

/**
 * weft_pool_create() - allocate and build a pool of default alignment.
 * @obj_size: bytes per object (> 0).
 * @capacity: number of objects, 1..WEFT_POOL_CAPACITY_MAX.
 * @flags: see weft_pool_create_aligned().
 *
 * Context: allocates; not async-signal-safe.
 * Return: the pool, or NULL for an argument out of range or no memory.
 */
WEFT_NODISCARD weft_pool_t *weft_pool_create(size_t obj_size, size_t capacity, unsigned flags);

/**
 * weft_pool_get() - take a free object.
 * @pool: the pool.
 *
 * From the calling thread's cache if it holds one (a few loads and stores);
 * else the cache refills with a batch from the shared list (one CAS), or with
 * never-used objects.  The object's contents are unspecified.
 *
 * Context: any thread; never blocks (a thread's first get or put on a pool
 * takes the registry lock once and allocates its cache).  Not
 * async-signal-safe.
 * Ordering: acquire: sees everything written before the put that returned
 * this object, on whichever thread.
 * Return: an object aligned as asked, or NULL if the pool is exhausted (see
 * the overview: objects cached by other threads are not taken).
 */
WEFT_NODISCARD static inline void *weft_pool_get(weft_pool_t *pool)
{
	/* plain read: fixed at init, before the pool was published */
	uint64_t id = pool->id;
	struct weft__pool_cache *c = weft__pool_tls[id & (WEFT__POOL_TLS_WAYS - 1u)];
	/* relaxed: only this thread writes its count; stats read it */
	uint32_t n = weft_atomic_load(&c->count, WEFT_RELAXED);
	void *obj;
	if (WEFT_LIKELY(c->id == id && n != 0)) {
		obj = c->mag[n - 1];
		weft_atomic_store(&c->count, n - 1, WEFT_RELAXED); /* relaxed: as above */
	} else {
		obj = weft_pool_get_slow(pool);
	}
	/* TSan: the object may come from another thread's put through the
	 * library's free list, whose ordering a library built without TSan does
	 * not show: consume that put's WEFT_TSAN_RELEASE() of the object, so the
	 * new owner's writes are ordered after the old owner's accesses (a
	 * per-object pair, as precise as the pool's own ordering) */
	if (obj)
		WEFT_TSAN_ACQUIRE(obj);
#ifdef WEFT_DEBUG
	if (obj)
		weft__pool_debug_got(pool, obj);
#endif
	return obj;
}

/**
 * weft_pool_put() - give an object back.
 * @pool: the pool the object came from.
 * @obj: the object (from weft_pool_get() on any thread), or NULL (no-op).
 *
 * Into the calling thread's cache; a full cache gives half of itself back to
 * the shared list as one batch (one CAS).  Putting an object twice or a
 * pointer from elsewhere corrupts the pool (WEFT_DEBUG aborts instead).
 *
 * Context: any thread; never blocks (see weft_pool_get()).  Not
 * async-signal-safe.
 * Ordering: release: see weft_pool_get().
 */
static inline void weft_pool_put(weft_pool_t *pool, void *obj)
{
	if (WEFT_UNLIKELY(obj == NULL))
		return;
#ifdef WEFT_DEBUG
	weft__pool_debug_put(pool, obj);
#endif
	/* TSan: the put publishes the caller's accesses to the object to its next
	 * getter (see weft_pool_get()) */
	WEFT_TSAN_RELEASE(obj);
	uint64_t id = pool->id; /* plain read: fixed at init */
	struct weft__pool_cache *c = weft__pool_tls[id & (WEFT__POOL_TLS_WAYS - 1u)];
	/* relaxed: only this thread writes its count; stats read it */
	uint32_t n = weft_atomic_load(&c->count, WEFT_RELAXED);
	if (WEFT_LIKELY(c->id == id && n < c->size)) {
		c->mag[n] = obj;
		weft_atomic_store(&c->count, n + 1, WEFT_RELAXED); /* relaxed: as above */
		return;
	}
	weft_pool_put_slow(pool, obj);
}

/**
 * weft_pool_flush() - give the calling thread's cached objects of @pool back
 * to the shared list (threads do this by themselves when they exit).
 * @pool: the pool.
 *
 * Context: any thread; not async-signal-safe.
 * Ordering: release (as put) for every object given back.
 */
void weft_pool_flush(weft_pool_t *pool);

/* What weft_pool_stats() reports. */
struct weft_pool_stats {
	size_t capacity; /* objects in the pool */
	size_t in_use;   /* handed out and not put back */
	size_t cached;   /* free, in some thread's cache */
	size_t obj_size; /* as asked */
	size_t stride;   /* bytes between objects (obj_size rounded up to the alignment) */
	size_t align;    /* the alignment every object has */
	size_t bytes;    /* the pool's whole block */
	size_t batch;    /* objects per batch; 1 if the pool has no thread caches */
};

/**
 * weft_pool_stats() - capacity, objects in use, objects held in thread caches.
 * @pool: the pool.
 * @out: where to write them.
 *
 * Exact when no thread is getting or putting; a snapshot assembled from
 * several counters otherwise (in_use + cached never exceeds capacity).
 *
 * Context: takes the process-wide pool lock; not async-signal-safe.
 * Return: WEFT_OK, or WEFT_EINVAL if @pool or @out is NULL.
 */
WEFT_NODISCARD int weft_pool_stats(weft_pool_t *pool, struct weft_pool_stats *out);

/**
 * weft_pool_destroy() - end the pool's life; free it if weft_pool_create() made it.
 * @pool: the pool, or NULL (no-op).  No thread may use it any more; threads
 *        that used it may still be alive (their caches are disowned).
 *
 * Objects still handed out simply cease to exist with the pool.
 *
 * Context: takes the process-wide pool lock; may free memory.
 */
void weft_pool_destroy(weft_pool_t *pool);

WEFT_EXTERN_C_END

#endif /* WEFT_POOL_H */
