/* SPDX-License-Identifier: MIT */
/*
 * stress_sem.c - weft_sem_t under ThreadSanitizer.
 *
 * Six phases, --seconds/6 each: N = 1 and N = 3 permits, each with the
 * default spin, with weft_sem_set_spin(0) (every wait that finds no unit
 * sleeps), and with the fairness bound at 0 (weft_mutex_set_fair_bound():
 * every sleeper that loses a round claims the next unit).
 *
 *  bound      a semaphore of N permits (N = 1, then N = 3) guards a section;
 *             every thread takes a permit through wait, timedwait (a short
 *             random deadline: timeouts are fine) or trywait, and sometimes a
 *             second one with trywait (returned together with post_n(2)).
 *             Inside, an atomic count of holders must never pass N, and a
 *             plain per-permit-count check (N == 1: a plain counter that only
 *             a holder touches) makes TSan see a missing acquire/release.  At
 *             the end the semaphore holds exactly N units again.
 *
 * Eventual fairness (the claim of a starving sleeper, include/weft/sem.h): now
 * and then a holder sleeps 2 ms inside (longer than the fairness bound, 1 ms),
 * so that sleepers starve and claim; some timedwaits get deadlines of up to
 * 3 ms, so that a claimant also times out and lowers its claim.  A holder
 * counts the claims it sees up; at the end of a phase no claim may be left.
 *
 * A permit that a post fails to hand to a sleeper while units are available
 * shows up as a thread stuck in weft_sem_wait(): the harness's watchdog fails
 * the run.  Every timedwait that times out re-checks: a timeout while the
 * count was positive all along is not an error (another thread may have taken
 * it), so the watchdog, not the timeout, is the lost-wake-up oracle here.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/deadline.h"
#include "weft/mutex.h"
#include "weft/sem.h"
#include "weft/status.h"

static struct stress_opts opts;

static weft_sem_t sem;
static unsigned permits;
static unsigned holders;         /* atomic: threads inside (a double holder counts twice) */
static unsigned max_holders;     /* atomic: the most seen */
static unsigned long long plain; /* N == 1 only: touched only by the holder */

struct worker {
	uint64_t rng;
	unsigned long long sections, doubles, timeouts, try_fails, claims_seen;
} __attribute__((aligned(64)));

static void enter(unsigned k)
{
	unsigned h = __atomic_add_fetch(&holders, k, __ATOMIC_RELAXED);
	if (stress_violated(h > permits))
		stress_fail(&opts, "%u holders inside a semaphore of %u permits", h, permits);
	unsigned m = __atomic_load_n(&max_holders, __ATOMIC_RELAXED);
	while (h > m && !__atomic_compare_exchange_n(&max_holders, &m, h, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (permits == 1)
		plain++; /* a data race unless the semaphore orders the holders */
}

static void leave(unsigned k)
{
	__atomic_sub_fetch(&holders, k, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (!(stress_phase_over() || stress_should_stop(&opts))) {
		uint64_t r = stress_rand(&w->rng);
		switch (r % 4) {
		case 0:
		case 1:
			weft_sem_wait(&sem);
			break;
		case 2: {
			/* mostly under 100 us; one in four up to 3 ms, past the bound */
			uint64_t ns = (r >> 50) % 4 == 0 ? (r >> 8) % 3000000 : (r >> 8) % 100000;
			struct timespec d = weft_deadline_after_ns(ns);
			int rc = weft_sem_timedwait(&sem, &d);
			if (rc == WEFT_ETIMEDOUT) {
				w->timeouts++;
				continue;
			}
			if (stress_violated(rc != WEFT_OK))
				stress_fail(&opts, "timedwait returned %d", rc);
			break;
		}
		default:
			if (!weft_sem_trywait(&sem)) {
				w->try_fails++;
				continue;
			}
			break;
		}
		unsigned k = 1;
		if ((r >> 40) % 8 == 0 && permits > 1 && weft_sem_trywait(&sem)) {
			k = 2;
			w->doubles++;
		}
		enter(k);
		/* relaxed: a white-box look at the claim bit (a statistic) */
		w->claims_seen += (__atomic_load_n(&sem.value, __ATOMIC_RELAXED) & WEFT_SEM_STARVING_BIT) != 0;
		if ((r >> 30) % 256 == 0) {
			const struct timespec nap = {0, 2000000}; /* past the bound: the others starve */
			nanosleep(&nap, NULL);
		} else {
			for (unsigned i = (unsigned)((r >> 20) % 64); i > 0; i--)
				__asm__ __volatile__("" ::: "memory");
		}
		leave(k);
		int rc = k == 2 ? weft_sem_post_n(&sem, 2) : weft_sem_post(&sem);
		if (stress_violated(rc != WEFT_OK))
			stress_fail(&opts, "post returned %d", rc);
		w->sections++;
	}
	return NULL;
}

struct result {
	unsigned long long sections, doubles, timeouts, try_fails, claims_seen;
	unsigned max_holders;
};

static struct result run_phase(unsigned n, unsigned npermits, double seconds)
{
	permits = npermits;
	holders = max_holders = 0;
	plain = 0;
	if (weft_sem_init(&sem, npermits, 0) != WEFT_OK)
		stress_fail(&opts, "init failed");
	struct worker *w = calloc(n, sizeof(*w));
	for (unsigned i = 0; i < n; i++)
		w[i].rng = opts.seed * 2654435761u + i * 977 + npermits;
	stress_phase_begin(seconds);
	stress_run_threads(n, worker_main, w, sizeof(*w));
	struct result r = {0, 0, 0, 0, 0, max_holders};
	for (unsigned i = 0; i < n; i++) {
		r.claims_seen += w[i].claims_seen;
		r.sections += w[i].sections;
		r.doubles += w[i].doubles;
		r.timeouts += w[i].timeouts;
		r.try_fails += w[i].try_fails;
	}
	free(w);
	if (stress_violated(weft_sem_value(&sem) != (long)npermits))
		stress_fail(&opts, "%ld units at the end of a phase, expected %u", weft_sem_value(&sem), npermits);
	if (stress_violated((__atomic_load_n(&sem.value, __ATOMIC_RELAXED) & WEFT_SEM_STARVING_BIT) != 0))
		stress_fail(&opts, "a claim is still up at the end of a phase");
	if (stress_violated(__atomic_load_n(&sem.waiters, __ATOMIC_RELAXED) != 0))
		stress_fail(&opts, "%u waiters registered at the end", sem.waiters);
	if (stress_violated(npermits == 1 && plain != r.sections))
		stress_fail(&opts, "plain counter %llu != %llu sections", plain, r.sections);
	weft_sem_destroy(&sem);
	return r;
}

static void add(struct result *to, struct result r)
{
	to->sections += r.sections;
	to->doubles += r.doubles;
	to->timeouts += r.timeouts;
	to->try_fails += r.try_fails;
	to->claims_seen += r.claims_seen;
	if (r.max_holders > to->max_holders)
		to->max_holders = r.max_holders;
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_sem");
	unsigned n = opts.threads < 2 ? 2 : opts.threads;
	double sixth = opts.seconds / 6;
	struct result one = run_phase(n, 1, sixth);
	struct result three = run_phase(n, 3, sixth);
	unsigned spin = weft_sem_set_spin(0);
	add(&one, run_phase(n, 1, sixth));
	add(&three, run_phase(n, 3, sixth));
	weft_sem_set_spin(spin);
	/* the fairness bound at 0: every sleeper that loses a round claims */
	uint64_t bound = weft_mutex_set_fair_bound(0);
	add(&one, run_phase(n, 1, sixth));
	add(&three, run_phase(n, 3, sixth));
	weft_mutex_set_fair_bound(bound);
	stress_pass(&opts, one.sections + three.sections,
		    "1 permit: %llu sections, max holders %u | 3 permits: %llu sections (%llu with 2 permits), "
		    "max holders %u | timeouts %llu, trywait failures %llu, claims seen %llu; never over the "
		    "bound, units conserved",
		    one.sections, one.max_holders, three.sections, three.doubles, three.max_holders,
		    one.timeouts + three.timeouts, one.try_fails + three.try_fails,
		    one.claims_seen + three.claims_seen);
	return 0;
}
