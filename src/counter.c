/* SPDX-License-Identifier: MIT */
/*
 * counter.c - the out-of-line parts of weft_scounter_t: slot ownership, reads,
 * init and destroy.  The design is described at the top of include/weft/counter.h.
 *
 * Who touches what:
 *   slot->value    written only by the slot's owner (relaxed load + store);
 *                  read by any reader (relaxed).  Never reset: a slot given
 *                  back keeps its count and the next owner continues from it.
 *   slot->owner    the owning claim, or NULL; under the registry lock only.
 *   claim          one per (thread, counter): which slot the thread owns; a
 *                  record of the per-thread registry (src/registry.h), which
 *                  keeps each thread's claims in a list only that thread
 *                  links, looks up and frees; other threads only set
 *                  claim->dead (under the registry lock) when the counter is
 *                  destroyed.
 *   free_slots     the number of unowned slots: written under the registry lock,
 *                  read without it (relaxed) as a hint by threads that
 *                  overflowed, so that they do not take the lock for nothing.
 *
 * Ownership changes (claim, give back at thread exit, destroy) all happen
 * under the registry lock, so the last store of a slot's old owner happens-before the
 * first load of its new owner (unlock/lock), and the new owner continues from
 * the right value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CLOCK_MONOTONIC_COARSE */
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keep_errno.h"
#include "registry.h"
#include "weft/counter.h"

struct sc_claim;

struct sc_slot {
	uint64_t value;      /* the count; single writer (the owner) */
	struct sc_claim *owner; /* under the registry lock */
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
	struct weft__scounter_shards *sh; /* its slots (valid while !dead) */
	struct sc_slot *slot;             /* the slot this thread owns; NULL: none (yet) */
	int dead;                         /* the counter was destroyed; under the registry lock */
};

__thread struct weft__scounter_tls weft__scounter_tls[WEFT__SCOUNTER_TLS_WAYS];

static void sc_clear_tls(void)
{
	memset(weft__scounter_tls, 0, sizeof(weft__scounter_tls));
}

/* A claim the registry may free: its counter is gone, or it never got a slot. */
static bool sc_claim_dead(const void *rec)
{
	const struct sc_claim *c = (const struct sc_claim *)rec;
	return c->dead || c->slot == NULL;
}

/* Thread exit, under the registry lock: give the slot back. */
static void sc_claim_release(void *rec)
{
	struct sc_claim *c = (struct sc_claim *)rec;
	c->slot->owner = NULL;
	/* relaxed: a hint; the lock orders the ownership change itself */
	uint32_t f = weft_atomic_load(&c->sh->free_slots, WEFT_RELAXED);
	weft_atomic_store(&c->sh->free_slots, f + 1, WEFT_RELAXED);
}

struct weft__registry weft__scounter_registry = {
	.index = WEFT__REGISTRY_SCOUNTER,
	.dead = sc_claim_dead,
	.release = sc_claim_release,
	.thread_done = sc_clear_tls,
};

/* Claim a free slot of @sc for this thread.  Return: the claim, or NULL if no
 * slot is free (or memory or a pthread key is lacking). */
static struct sc_claim *sc_claim_slot(weft_scounter_t *sc)
{
	struct weft__registry *reg = &weft__scounter_registry;
	struct sc_claim *c = (struct sc_claim *)weft__registry_alloc(reg, sc->id, sizeof(*c));
	if (!c)
		return NULL;
	struct weft__scounter_shards *sh = sc->shards;
	c->sh = sh;
	c->slot = NULL;
	c->dead = 0;
	struct sc_slot *found = NULL;
	weft__registry_lock(reg);
	for (uint32_t i = 0; i < sh->nslots; i++) {
		if (sh->slots[i].owner == NULL) {
			found = &sh->slots[i];
			break;
		}
	}
	if (found) {
		c->slot = found;
		found->owner = c;
		/* relaxed: a hint; the lock orders the ownership change itself */
		uint32_t f = weft_atomic_load(&sh->free_slots, WEFT_RELAXED);
		weft_atomic_store(&sh->free_slots, f - 1, WEFT_RELAXED);
	}
	weft__registry_sweep(reg); /* claims of destroyed counters, and ours if it found no slot */
	weft__registry_unlock(reg);
	return found ? c : NULL;
}

void weft_scounter_add_slow(weft_scounter_t *sc, int64_t n)
{
	uint64_t id = sc->id;
	if (id == 0)
		weft_debug_die("weft_scounter_t", sc, "used before weft_scounter_init() or after destroy");
	struct weft__scounter_shards *sh = sc->shards;
	struct sc_claim *c = (struct sc_claim *)weft__registry_find(&weft__scounter_registry, id);
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
	sc->id = weft__registry_new_id(&weft__scounter_registry);
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
	weft__registry_lock(&weft__scounter_registry);
	for (uint32_t i = 0; i < sh->nslots; i++)
		used += sh->slots[i].owner != NULL;
	weft__registry_unlock(&weft__scounter_registry);
	return used;
}

void weft_scounter_destroy(weft_scounter_t *sc)
{
	struct weft__scounter_shards *sh = sc->shards;
	if (!sh)
		return;
	weft__registry_lock(&weft__scounter_registry);
	for (uint32_t i = 0; i < sh->nslots; i++) {
		struct sc_claim *c = sh->slots[i].owner;
		if (c) {
			c->dead = 1; /* its thread frees it; it must not touch @sh again */
			sh->slots[i].owner = NULL;
		}
	}
	weft__registry_sweep(&weft__scounter_registry); /* this thread's own claim can go now; others sweep theirs */
	weft__registry_unlock(&weft__scounter_registry);
	sc->id = 0;
	sc->shards = NULL;
	free(sh);
}
