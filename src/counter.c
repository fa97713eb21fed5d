/* SPDX-License-Identifier: MIT */
/*
 * counter.c - the out-of-line parts of weft_scounter_t: slot ownership, reads,
 * init and destroy.  The design is described at the top of include/weft/counter.h.
 *
 * Who touches what:
 *   slot->value    written only by the slot's owner (relaxed load + store);
 *                  read by any reader (relaxed).  Never reset: a slot given
 *                  back keeps its count and the next owner continues from it.
 *   slot->owner    the owning claim, or NULL; under sc_slot_lock only.
 *   claim          one per (thread, counter): which slot the thread owns.  A
 *                  thread's claims form a list only that thread links, unlinks
 *                  and frees; other threads only set claim->dead (under
 *                  sc_slot_lock) when the counter is destroyed.
 *   free_slots     the number of unowned slots: written under sc_slot_lock,
 *                  read without it (relaxed) as a hint by threads that
 *                  overflowed, so that they do not take the lock for nothing.
 *
 * Ownership changes (claim, give back at thread exit, destroy) all happen
 * under sc_slot_lock, so the last store of a slot's old owner happens-before the
 * first load of its new owner (unlock/lock), and the new owner continues from
 * the right value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CLOCK_MONOTONIC_COARSE */
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keep_errno.h"
#include "weft/counter.h"
#include "weft/mutex.h"

struct sc_claim;

struct sc_slot {
	uint64_t value;      /* the count; single writer (the owner) */
	struct sc_claim *owner; /* under sc_slot_lock */
	char pad[WEFT_CACHE_LINE - sizeof(uint64_t) - sizeof(struct sc_claim *)];
};
WEFT_STATIC_ASSERT(sizeof(struct sc_slot) == WEFT_CACHE_LINE, "one slot per cache line");

struct weft__scounter_shards {
	/* line 0: fixed at init, plus the rarely written hint */
	uint32_t nslots;
	uint32_t free_slots; /* hint, see the top of the file */
	char pad0[WEFT_CACHE_LINE - 2 * sizeof(uint32_t)];
	/* line 1: the shared word of threads that found no free slot */
	uint64_t overflow;
	char pad1[WEFT_CACHE_LINE - sizeof(uint64_t)];
	/* line 2: the cache of weft_scounter_read_approx() */
	uint64_t approx_total; /* a read() result ... */
	uint64_t approx_stamp; /* ... and the coarse time it started (0: none yet) */
	uint32_t approx_lock;  /* 1 while a refresher publishes */
	char pad2[WEFT_CACHE_LINE - 2 * sizeof(uint64_t) - sizeof(uint32_t)];
	struct sc_slot slots[];
};
WEFT_STATIC_ASSERT(offsetof(struct weft__scounter_shards, overflow) == WEFT_CACHE_LINE,
		   "the overflow word has a line of its own");
WEFT_STATIC_ASSERT(offsetof(struct weft__scounter_shards, approx_total) == 2 * WEFT_CACHE_LINE,
		   "the approx cache has a line of its own");
WEFT_STATIC_ASSERT(offsetof(struct weft__scounter_shards, slots) == 3 * WEFT_CACHE_LINE,
		   "slots start on a line boundary");

struct sc_claim {
	uint64_t id;                      /* the counter's id (immutable) */
	struct weft__scounter_shards *sh; /* its slots (valid while !dead) */
	struct sc_slot *slot;                /* the slot this thread owns */
	struct sc_claim *next;               /* this thread's list */
	int dead;                         /* the counter was destroyed; under sc_slot_lock */
};

__thread struct weft__scounter_tls weft__scounter_tls[WEFT__SCOUNTER_TLS_WAYS];

static weft_mutex_t sc_slot_lock = WEFT_MUTEX_INIT;
static uint64_t sc_next_id; /* relaxed fetch_add: uniqueness is all it provides */

static __thread struct sc_claim *sc_my_claims; /* this thread's claims, newest first */
static __thread int sc_key_armed;           /* the exit key holds a value for this thread */

static pthread_once_t sc_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t sc_exit_key;
static int sc_key_ok;

static void sc_clear_tls(void)
{
	memset(weft__scounter_tls, 0, sizeof(weft__scounter_tls));
}

/* Free this thread's claims of destroyed counters.  Called under sc_slot_lock. */
static void sc_sweep_dead(void)
{
	struct sc_claim **pp = &sc_my_claims;
	while (*pp) {
		struct sc_claim *c = *pp;
		if (c->dead) {
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* The pthread key destructor: give back every slot this thread owns. */
static void sc_thread_exit(void *arg)
{
	(void)arg;
	sc_key_armed = 0;
	WEFT__CHAOS_POINT(); /* the thread is leaving; its slots are still its own */
	weft_mutex_lock(&sc_slot_lock);
	for (struct sc_claim *c = sc_my_claims; c; c = c->next) {
		if (c->dead)
			continue;
		c->slot->owner = NULL;
		/* relaxed: a hint; the lock orders the ownership change itself */
		uint32_t f = weft_atomic_load(&c->sh->free_slots, WEFT_RELAXED);
		weft_atomic_store(&c->sh->free_slots, f + 1, WEFT_RELAXED);
	}
	weft_mutex_unlock(&sc_slot_lock);
	while (sc_my_claims) {
		struct sc_claim *c = sc_my_claims;
		sc_my_claims = c->next;
		free(c);
	}
	sc_clear_tls();
}

static void sc_make_key(void)
{
	sc_key_ok = pthread_key_create(&sc_exit_key, sc_thread_exit) == 0;
}

/* Arm the exit destructor for this thread.  Return: false if impossible
 * (out of pthread keys), in which case the thread must not own slots. */
static bool sc_arm_exit(void)
{
	if (sc_key_armed)
		return true;
	pthread_once(&sc_key_once, sc_make_key);
	if (!sc_key_ok || pthread_setspecific(sc_exit_key, &sc_key_armed) != 0)
		return false;
	sc_key_armed = 1;
	return true;
}

static struct sc_claim *sc_find_claim(uint64_t id)
{
	/* Only this thread links and frees its claims; c->id never changes. */
	for (struct sc_claim *c = sc_my_claims; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Claim a free slot of @sc for this thread.  Return: the claim, or NULL if no
 * slot is free (or memory or a pthread key is lacking). */
static struct sc_claim *sc_claim_slot(weft_scounter_t *sc)
{
	if (!sc_arm_exit())
		return NULL;
	int saved = weft__errno_save();
	struct sc_claim *c = (struct sc_claim *)malloc(sizeof(*c));
	weft__errno_restore(saved);
	if (!c)
		return NULL;
	struct weft__scounter_shards *sh = sc->shards;
	struct sc_slot *found = NULL;
	weft_mutex_lock(&sc_slot_lock);
	sc_sweep_dead();
	for (uint32_t i = 0; i < sh->nslots; i++) {
		if (sh->slots[i].owner == NULL) {
			found = &sh->slots[i];
			break;
		}
	}
	if (found) {
		c->id = sc->id;
		c->sh = sh;
		c->slot = found;
		c->dead = 0;
		c->next = sc_my_claims;
		sc_my_claims = c;
		found->owner = c;
		/* relaxed: a hint; the lock orders the ownership change itself */
		uint32_t f = weft_atomic_load(&sh->free_slots, WEFT_RELAXED);
		weft_atomic_store(&sh->free_slots, f - 1, WEFT_RELAXED);
	}
	weft_mutex_unlock(&sc_slot_lock);
	if (!found) {
		free(c);
		return NULL;
	}
	return c;
}

void weft_scounter_add_slow(weft_scounter_t *sc, int64_t n)
{
	uint64_t id = sc->id;
	if (id == 0)
		weft_debug_die("weft_scounter_t", sc, "used before weft_scounter_init() or after destroy");
	struct weft__scounter_shards *sh = sc->shards;
	struct sc_claim *c = sc_find_claim(id);
	/* relaxed: a hint; sc_claim_slot() rechecks under the lock */
	if (!c && weft_atomic_load(&sh->free_slots, WEFT_RELAXED) != 0)
		c = sc_claim_slot(sc);
	if (c) {
		WEFT__CHAOS_POINT(); /* slot claimed, not yet cached or written */
		struct weft__scounter_tls *e = &weft__scounter_tls[id & (WEFT__SCOUNTER_TLS_WAYS - 1u)];
		e->id = id;
		e->value = &c->slot->value;
		/* relaxed load + store: we are the slot's only writer (see counter.h) */
		uint64_t *v = &c->slot->value;
		weft_atomic_store(v, weft_atomic_load(v, WEFT_RELAXED) + (uint64_t)n, WEFT_RELAXED);
		return;
	}
	/* relaxed: counting only; read() sums it with the slots */
	weft_atomic_fetch_add(&sh->overflow, (uint64_t)n, WEFT_RELAXED);
}

size_t weft_scounter_bytes(unsigned nslots)
{
	if (nslots == 0 || nslots > WEFT_SCOUNTER_SLOTS_MAX)
		return 0;
	return sizeof(struct weft__scounter_shards) + (size_t)nslots * sizeof(struct sc_slot);
}

int weft_scounter_init_n(weft_scounter_t *sc, unsigned nslots)
{
	sc->id = 0;
	sc->shards = NULL;
	size_t bytes = weft_scounter_bytes(nslots);
	if (bytes == 0)
		return WEFT_EINVAL;
	int saved = weft__errno_save();
	struct weft__scounter_shards *sh = (struct weft__scounter_shards *)aligned_alloc(WEFT_CACHE_LINE, bytes);
	weft__errno_restore(saved);
	if (!sh)
		return WEFT_ENOMEM;
	memset(sh, 0, bytes);
	sh->nslots = nslots;
	sh->free_slots = nslots;
	sc->shards = sh;
	/* relaxed: only uniqueness matters; publishing @sc is the caller's job */
	sc->id = weft_atomic_fetch_add(&sc_next_id, (uint64_t)1, WEFT_RELAXED) + 1;
	return WEFT_OK;
}

int weft_scounter_init(weft_scounter_t *sc)
{
	return weft_scounter_init_n(sc, WEFT_SCOUNTER_SLOTS_DEFAULT);
}

static uint64_t sc_sum_slots(const struct weft__scounter_shards *sh)
{
	/* relaxed loads: each slot and the overflow word are read atomically;
	 * every add that happens-before this call is visible by coherence */
	uint64_t sum = weft_atomic_load(&sh->overflow, WEFT_RELAXED);
	for (uint32_t i = 0; i < sh->nslots; i++)
		sum += weft_atomic_load(&sh->slots[i].value, WEFT_RELAXED);
	return sum;
}

/* Out of line, so the check costs one branch in every build. */
static void sc_check_initialized(const weft_scounter_t *sc)
{
	if (sc->id == 0)
		weft_debug_die("weft_scounter_t", sc, "read before weft_scounter_init() or after destroy");
}

int64_t weft_scounter_read(weft_scounter_t *sc)
{
	sc_check_initialized(sc);
	return (int64_t)sc_sum_slots(sc->shards);
}

static uint64_t sc_coarse_now_ns(void)
{
	struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1; /* +1: never 0 */
}

int64_t weft_scounter_read_approx(weft_scounter_t *sc)
{
	sc_check_initialized(sc);
	struct weft__scounter_shards *sh = sc->shards;
	uint64_t now = sc_coarse_now_ns();
	/* acquire: pairs with the release store of the stamp below, so the total
	 * loaded next is the one stored with this stamp, or a later one */
	uint64_t stamp = weft_atomic_load(&sh->approx_stamp, WEFT_ACQUIRE);
	/* signed: a stamp taken after our clock read is fresh, not stale */
	if (stamp != 0 && (int64_t)(now - stamp) <= (int64_t)WEFT_SCOUNTER_APPROX_NS)
		return (int64_t)weft_atomic_load(&sh->approx_total, WEFT_RELAXED);
	uint64_t total = sc_sum_slots(sh);
	uint32_t unlocked = 0;
	/* acquire: pairs with the release store that ended the previous publish */
	if (weft_atomic_cas(&sh->approx_lock, &unlocked, 1u, WEFT_ACQUIRE, WEFT_RELAXED)) {
		/* Publish only a newer result, so that stamps and totals move
		 * forward together: a reader that sees a stamp gets that total or a
		 * later one. */
		if ((int64_t)(now - weft_atomic_load(&sh->approx_stamp, WEFT_RELAXED)) > 0) {
			weft_atomic_store(&sh->approx_total, total, WEFT_RELAXED); /* published by the next store */
			/* release: publishes approx_total; pairs with the acquire load above */
			weft_atomic_store(&sh->approx_stamp, now, WEFT_RELEASE);
		}
		/* release: ends the publish; pairs with the acquire CAS above */
		weft_atomic_store(&sh->approx_lock, 0u, WEFT_RELEASE);
	}
	return (int64_t)total;
}

unsigned weft_scounter_slots_in_use(weft_scounter_t *sc)
{
	struct weft__scounter_shards *sh = sc->shards;
	unsigned used = 0;
	weft_mutex_lock(&sc_slot_lock);
	for (uint32_t i = 0; i < sh->nslots; i++)
		used += sh->slots[i].owner != NULL;
	weft_mutex_unlock(&sc_slot_lock);
	return used;
}

void weft_scounter_destroy(weft_scounter_t *sc)
{
	struct weft__scounter_shards *sh = sc->shards;
	if (!sh)
		return;
	weft_mutex_lock(&sc_slot_lock);
	for (uint32_t i = 0; i < sh->nslots; i++) {
		struct sc_claim *c = sh->slots[i].owner;
		if (c) {
			c->dead = 1; /* its thread frees it; it must not touch @sh again */
			sh->slots[i].owner = NULL;
		}
	}
	sc_sweep_dead(); /* this thread's own claim can go now; other threads sweep theirs */
	weft_mutex_unlock(&sc_slot_lock);
	sc->id = 0;
	sc->shards = NULL;
	free(sh);
}
