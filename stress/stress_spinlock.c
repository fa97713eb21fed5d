/* SPDX-License-Identifier: MIT */
/*
 * stress_spinlock.c - mutual exclusion of weft_spin_t, weft_ticket_t and
 * weft_mcs_t under ThreadSanitizer.
 *
 * Each lock runs for a third of --seconds with --threads threads that take it
 * with lock() or, at random, trylock().  Inside the critical section a thread
 * checks that nobody else is there (a plain `owner` variable must be 0, then
 * stays its own id through a little work, sometimes across a sched_yield()
 * that lets the holder be preempted) and increments a plain counter.  At the
 * end the counter must equal the number of acquisitions.  Any overlap breaks
 * the owner check or loses an increment; TSan checks the rest.
 */
#include <sched.h>
#include <stdbool.h>

#include "stress.h"
#include "weft/weft.h"

enum kind { SPIN, TICKET, MCS, N_KINDS };
static const char *const kind_name[N_KINDS] = {"spin", "ticket", "mcs"};

static struct {
	weft_spin_t spin;
	char pad0[WEFT_CACHE_LINE - sizeof(weft_spin_t)];
	weft_ticket_t ticket;
	char pad1[WEFT_CACHE_LINE - sizeof(weft_ticket_t)];
	weft_mcs_t mcs;
	char pad2[WEFT_CACHE_LINE - sizeof(weft_mcs_t)];
	/* guarded by the lock under test; plain on purpose */
	unsigned long long counter;
	unsigned owner;
} g WEFT_ALIGNED(WEFT_CACHE_LINE);

struct worker {
	struct stress_opts *phase;
	enum kind kind;
	unsigned id; /* 1..threads */
	uint64_t rng;
	unsigned long long ops;         /* acquisitions */
	unsigned long long try_ok;      /* of which by trylock */
	unsigned long long try_failed;  /* trylocks that found it held */
} WEFT_ALIGNED(WEFT_CACHE_LINE);

static bool take(struct worker *w, weft_mcs_node_t *node, bool try)
{
	switch (w->kind) {
	case SPIN:
		if (try)
			return weft_spin_trylock(&g.spin);
		weft_spin_lock(&g.spin);
		return true;
	case TICKET:
		if (try)
			return weft_ticket_trylock(&g.ticket);
		weft_ticket_lock(&g.ticket);
		return true;
	default:
		if (try)
			return weft_mcs_trylock(&g.mcs, node);
		weft_mcs_lock(&g.mcs, node);
		return true;
	}
}

static void release(struct worker *w, weft_mcs_node_t *node)
{
	switch (w->kind) {
	case SPIN:
		weft_spin_unlock(&g.spin);
		break;
	case TICKET:
		weft_ticket_unlock(&g.ticket);
		break;
	default:
		weft_mcs_unlock(&g.mcs, node);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	weft_mcs_node_t node; /* one per thread, reused for every acquisition */
	/* do-while: every thread makes one batch of attempts however late the
	 * scheduler starts it, so "nobody ever got the lock" means a broken
	 * lock (or a hang the watchdog ends), never a slow start on a loaded machine */
	do {
		for (int batch = 0; batch < 64; batch++) {
			uint64_t r = stress_rand(&w->rng);
			bool try = r % 4 == 0;
			if (!take(w, &node, try)) {
				w->try_failed++;
				continue;
			}
			/* ---- critical section ---- */
			if (stress_violated(g.owner != 0))
				stress_fail(w->phase, "%s: thread %u entered while thread %u was inside",
					    kind_name[w->kind], w->id, g.owner);
			g.owner = w->id;
			g.counter++;
			unsigned work = (unsigned)(r >> 8) % 32;
			for (volatile unsigned i = 0; i < work; i++)
				;
			if ((r >> 16) % 512 == 0)
				sched_yield(); /* be preempted while holding it now and then */
			if (stress_violated(g.owner != w->id))
				stress_fail(w->phase, "%s: thread %u found thread %u inside its critical section",
					    kind_name[w->kind], w->id, g.owner);
			g.owner = 0;
			/* ---- end ---- */
			release(w, &node);
			w->ops++;
			w->try_ok += try;
		}
	} while (!stress_phase_over());
	return NULL;
}

int main(int argc, char **argv)
{
	struct stress_opts o = stress_parse(argc, argv, "stress_spinlock");
	struct worker *workers = calloc(o.threads, sizeof(*workers));
	if (!workers)
		stress_fail(&o, "out of memory");
	unsigned long long total_ops = 0, per_kind[N_KINDS], tries_failed = 0;
	for (int k = 0; k < N_KINDS; k++) {
		struct stress_opts phase = o;
		phase.seconds = o.seconds / N_KINDS;
		g.counter = 0;
		g.owner = 0;
		for (unsigned i = 0; i < o.threads; i++) {
			memset(&workers[i], 0, sizeof(workers[i]));
			workers[i].phase = &phase;
			workers[i].kind = (enum kind)k;
			workers[i].id = i + 1;
			workers[i].rng = o.seed * 0x9E3779B97F4A7C15ull + (uint64_t)k * 7919 + i + 1;
		}
		stress_phase_begin(phase.seconds);
		stress_run_threads(o.threads, worker_main, workers, sizeof(*workers));
		unsigned long long ops = 0;
		for (unsigned i = 0; i < o.threads; i++) {
			ops += workers[i].ops;
			tries_failed += workers[i].try_failed;
		}
		if (stress_violated(g.counter != ops))
			stress_fail(&o, "%s: counter %llu != %llu acquisitions (lost updates)", kind_name[k], g.counter, ops);
		if (stress_violated(g.owner != 0))
			stress_fail(&o, "%s: owner %u left set", kind_name[k], g.owner);
		if (stress_violated(ops == 0))
			stress_fail(&o, "%s: no thread ever got the lock", kind_name[k]);
		/* left free */
		weft_mcs_node_t node;
		struct worker probe = {&phase, (enum kind)k, 0, 0, 0, 0, 0};
		if (stress_violated(!take(&probe, &node, true)))
			stress_fail(&o, "%s: still held after every thread left", kind_name[k]);
		release(&probe, &node);
		per_kind[k] = ops;
		total_ops += ops;
	}
	free(workers);
	stress_pass(&o, total_ops, "spin=%llu ticket=%llu mcs=%llu trylock_failed=%llu; checked: plain counter, owner",
		    per_kind[SPIN], per_kind[TICKET], per_kind[MCS], tries_failed);
	return 0;
}
