/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BENCH_SYNCBENCH_H
#define WEFT_BENCH_SYNCBENCH_H

/*
 * syncbench.h - the barrier and latch workloads, written once for every
 * implementation (weft, glibc, C++20 std::barrier / std::latch).
 *
 * As in lockbench.h, each workload is a static inline always_inline body
 * taking its operations as function pointers; an implementation calls it from
 * a tiny wrapper with constant arguments, so the measured loop makes direct
 * calls only (bench/check_calls.py checks the binary).  The object's
 * init/destroy go through a struct sb_impl (t->arg) in setup and teardown,
 * which are not measured.
 *
 * Workloads:
 *   barrier/phase/<impl>            every thread waits on one barrier, again
 *       and again; items = phases completed.  Thread 0 decides the last phase
 *       (timed loop): it stores its number in `last_phase` before arriving at
 *       it, and every thread leaves after the phase whose number it reads
 *       there (the barrier publishes the store).  The teardown checks that
 *       every phase had exactly one serial thread (or completion call).
 *   barrier/latch_countdown/<impl>  fork-join rounds through two latches per
 *       round: thread 0 counts down `start` (count 1), the N-1 workers wait on
 *       it, each writes its round number in its slot and counts down `done`
 *       (count N-1), thread 0 waits on `done` and checks every slot.  Two
 *       pairs of latches alternate: after its wait on done[r % 2], thread 0
 *       re-initializes pair r % 2 for round r + 2 (every worker has left it);
 *       the next `start` count-down publishes that.  items = rounds.
 *
 * C and C++ (sync_cxx.cc includes it for the std:: peers).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SB_OBJ_BYTES 256 /* room for any implementation's object */
#define SB_MAX_THREADS 64
#define SB_ALWAYS_INLINE inline __attribute__((always_inline))

struct sb_impl {
	/* init(obj, count): a barrier of count threads, or a latch of count */
	void (*init)(void *obj, unsigned count);
	void (*destroy)(void *obj); /* may be NULL */
};

struct sb_slot {
	uint64_t v __attribute__((aligned(64)));
};

struct sb_shared {
	unsigned char barrier[SB_OBJ_BYTES] __attribute__((aligned(64)));
	unsigned char start[2][SB_OBJ_BYTES] __attribute__((aligned(64)));
	unsigned char done[2][SB_OBJ_BYTES] __attribute__((aligned(64)));
	uint64_t last_phase __attribute__((aligned(64))); /* atomic: the phase after which all leave */
	uint32_t stop;                     /* atomic: latch rounds over */
	uint64_t serial;                   /* atomic: serial returns, summed after the loop */
	uint64_t completions;              /* std::barrier's completion calls (serialized by it) */
	struct sb_slot slot[SB_MAX_THREADS];
};

static inline void *sb_alloc(wb_thread *t)
{
	void *mem = NULL;
	if (t->nthreads > SB_MAX_THREADS)
		wb_fail(t, "at most %d threads", SB_MAX_THREADS);
	if (posix_memalign(&mem, 64, sizeof(struct sb_shared)) != 0)
		wb_fail(t, "out of memory");
	memset(mem, 0, sizeof(struct sb_shared));
	return mem;
}

/* ---- barrier/phase ------------------------------------------------------------ */

static inline void *sb_barrier_setup(wb_thread *t)
{
	const struct sb_impl *impl = (const struct sb_impl *)t->arg;
	struct sb_shared *s = (struct sb_shared *)sb_alloc(t);
	impl->init(s->barrier, (unsigned)t->nthreads);
	s->last_phase = UINT64_MAX;
	return s;
}

static inline void sb_barrier_teardown(wb_thread *t)
{
	const struct sb_impl *impl = (const struct sb_impl *)t->arg;
	struct sb_shared *s = (struct sb_shared *)t->shared;
	uint64_t phases = wb_total_ops(t); /* counted by thread 0 only */
	/* read after the runner's barrier: the bodies have stopped */
	uint64_t ends = s->serial + s->completions;
	if (ends != phases)
		wb_fail(t, "%llu phases but %llu serial threads / completions",
			(unsigned long long)phases, (unsigned long long)ends);
	if (impl->destroy)
		impl->destroy(s->barrier);
	free(s);
}

/* wait(b) returns nonzero in the serial thread of the phase (0 if the
 * implementation does not say; it then counts completions instead). */
static SB_ALWAYS_INLINE void sb_phase(wb_thread *t, int (*wait)(void *b))
{
	struct sb_shared *s = (struct sb_shared *)t->shared;
	uint64_t i = 0, serial = 0;
	for (;;) {
		/* relaxed: the barrier wait below publishes it to the phase's threads */
		if (t->tid == 0 && !wb_running(t, i))
			__atomic_store_n(&s->last_phase, i, __ATOMIC_RELAXED);
		serial += (uint64_t)(wait(s->barrier) != 0);
		/* relaxed: written before thread 0 arrived at phase i, read after it
		 * ended (the barrier orders it); a later write names a later phase */
		if (__atomic_load_n(&s->last_phase, __ATOMIC_RELAXED) == i++)
			break;
	}
	/* relaxed: read by thread 0 after the runner's barrier */
	__atomic_fetch_add(&s->serial, serial, __ATOMIC_RELAXED);
	wb_done(t, t->tid == 0 ? i : 0); /* items = phases */
}

/* ---- barrier/latch_countdown ---------------------------------------------------- */

static inline void *sb_latch_setup(wb_thread *t)
{
	const struct sb_impl *impl = (const struct sb_impl *)t->arg;
	struct sb_shared *s = (struct sb_shared *)sb_alloc(t);
	for (int k = 0; k < 2; k++) {
		impl->init(s->start[k], 1u);
		impl->init(s->done[k], (unsigned)t->nthreads - 1u);
	}
	return s;
}

static inline void sb_latch_teardown(wb_thread *t)
{
	const struct sb_impl *impl = (const struct sb_impl *)t->arg;
	struct sb_shared *s = (struct sb_shared *)t->shared;
	for (int k = 0; k < 2 && impl->destroy; k++) {
		impl->destroy(s->start[k]);
		impl->destroy(s->done[k]);
	}
	free(s);
}

/* count_down(l) returns 0 on success; reinit(l, n) makes a used latch a fresh
 * one of count n (nobody uses it then). */
static SB_ALWAYS_INLINE void sb_latch_countdown(wb_thread *t, int (*count_down)(void *l),
						void (*wait)(void *l),
						void (*reinit)(void *l, unsigned n))
{
	struct sb_shared *s = (struct sb_shared *)t->shared;
	const unsigned workers = (unsigned)t->nthreads - 1u;
	uint64_t r;
	if (t->tid == 0) {
		for (r = 0;; r++) {
			const int k = (int)(r & 1u);
			if (!wb_running(t, r)) {
				/* relaxed: published by the release of the count-down below */
				__atomic_store_n(&s->stop, 1u, __ATOMIC_RELAXED);
				if (count_down(s->start[k]) != 0)
					wb_fail(t, "start count-down refused");
				break;
			}
			if (count_down(s->start[k]) != 0)
				wb_fail(t, "start count-down refused");
			wait(s->done[k]);
			for (int j = 1; j <= (int)workers; j++) {
				/* relaxed: the latch's release/acquire orders it */
				uint64_t v = __atomic_load_n(&s->slot[j].v, __ATOMIC_RELAXED);
				if (v != r + 1)
					wb_fail(t, "round %llu: worker %d wrote %llu before its count-down",
						(unsigned long long)r, j, (unsigned long long)v);
			}
			reinit(s->start[k], 1u);
			reinit(s->done[k], workers);
		}
		wb_done(t, r); /* items = rounds */
		return;
	}
	for (r = 0;; r++) {
		const int k = (int)(r & 1u);
		wait(s->start[k]);
		/* relaxed: written before the start count-down we have just seen */
		if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
			break;
		/* relaxed: published by the release of our count-down */
		__atomic_store_n(&s->slot[t->tid].v, r + 1, __ATOMIC_RELAXED);
		if (count_down(s->done[k]) != 0)
			wb_fail(t, "done count-down refused");
	}
	wb_done(t, 0);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_SYNCBENCH_H */
