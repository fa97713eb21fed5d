/* SPDX-License-Identifier: MIT */
/*
 * stress_rwlock.c - weft_rwlock_t and weft_brlock_t under ThreadSanitizer.
 *
 * Phases of --seconds/9 each (five for weft_rwlock_t, four for weft_brlock_t):
 *
 *  exclusion   (twice: with the default spin budget, and with
 *              weft_rwlock_set_spin(0) so that every wait parks at once)
 *              every thread mixes reads (~80%) and writes, through the
 *              blocking, try and timed (short random deadline) calls.  Inside
 *              a write section: no other writer (a plain flag) and no reader
 *              (an atomic count); the section updates two plain variables
 *              that must stay consistent (b == 3 * a).  Inside a read section:
 *              no writer (the plain flag) and a consistent pair.  A broken
 *              lock fails the checks and makes TSan report the plain
 *              variables.  At the end a == the number of write sections.
 *  bias churn  (weft_rwlock_t only) reader bias (BRAVO) under churn: 99%
 *              reads, weft_rwlock_set_bias(1) so that writers revoke bias
 *              over and over, and threads that exit after 300 operations and
 *              are replaced, round after round; the exclusion checks as
 *              above.  Fails if no read went through the bias table.
 *  held read   (issue 12) the main thread holds a read lock (for
 *              weft_rwlock_t a biased one, when bias can be turned on) for
 *              the whole phase; half the threads loop trywrlock, which must
 *              never succeed, the other half tryrdlock and timedrdlock (short
 *              random deadlines), which must never fail: no writer can get
 *              in, so a failed read is a spurious failure.
 *  starvation  readers arrive back to back (each re-locks at once), so the
 *              lock is never free of readers on its own; writers take it with
 *              timedwrlock (10 s deadline) and measure each wait.  Every
 *              writer must get in every time: a timeout fails the test as
 *              "writer starved".  The worst wait is in the summary line.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/deadline.h"
#include "weft/brlock.h"
#include "weft/rwlock.h"
#include "weft/status.h"

/* One interface over both locks (function pointers are fine here: this
 * measures correctness, not speed). */
struct lock_ops {
	const char *name;
	void (*rdlock)(void *);
	bool (*tryrdlock)(void *);
	int (*timedrdlock)(void *, const struct timespec *);
	void (*rdunlock)(void *);
	void (*wrlock)(void *);
	bool (*trywrlock)(void *);
	int (*timedwrlock)(void *, const struct timespec *);
	void (*wrunlock)(void *);
};

static void rw_rdlock(void *l) { weft_rwlock_rdlock((weft_rwlock_t *)l); }
static bool rw_tryrdlock(void *l) { return weft_rwlock_tryrdlock((weft_rwlock_t *)l); }
static int rw_timedrdlock(void *l, const struct timespec *d) { return weft_rwlock_timedrdlock((weft_rwlock_t *)l, d); }
static void rw_rdunlock(void *l) { weft_rwlock_rdunlock((weft_rwlock_t *)l); }
static void rw_wrlock(void *l) { weft_rwlock_wrlock((weft_rwlock_t *)l); }
static bool rw_trywrlock(void *l) { return weft_rwlock_trywrlock((weft_rwlock_t *)l); }
static int rw_timedwrlock(void *l, const struct timespec *d) { return weft_rwlock_timedwrlock((weft_rwlock_t *)l, d); }
static void rw_wrunlock(void *l) { weft_rwlock_wrunlock((weft_rwlock_t *)l); }

static void br_rdlock(void *l) { weft_brlock_rdlock((weft_brlock_t *)l); }
static bool br_tryrdlock(void *l) { return weft_brlock_tryrdlock((weft_brlock_t *)l); }
static int br_timedrdlock(void *l, const struct timespec *d) { return weft_brlock_timedrdlock((weft_brlock_t *)l, d); }
static void br_rdunlock(void *l) { weft_brlock_rdunlock((weft_brlock_t *)l); }
static void br_wrlock(void *l) { weft_brlock_wrlock((weft_brlock_t *)l); }
static bool br_trywrlock(void *l) { return weft_brlock_trywrlock((weft_brlock_t *)l); }
static int br_timedwrlock(void *l, const struct timespec *d) { return weft_brlock_timedwrlock((weft_brlock_t *)l, d); }
static void br_wrunlock(void *l) { weft_brlock_wrunlock((weft_brlock_t *)l); }

static const struct lock_ops rw_ops = {"rwlock", rw_rdlock, rw_tryrdlock, rw_timedrdlock, rw_rdunlock,
				       rw_wrlock, rw_trywrlock, rw_timedwrlock, rw_wrunlock};
static const struct lock_ops br_ops = {"brlock", br_rdlock, br_tryrdlock, br_timedrdlock, br_rdunlock,
				       br_wrlock, br_trywrlock, br_timedwrlock, br_wrunlock};

static weft_rwlock_t the_rwlock = WEFT_RWLOCK_INIT;
static weft_brlock_t the_brlock = WEFT_BRLOCK_INIT;

/* The shared state of a phase. */
static struct stress_opts opts;  /* the run's options */
static const struct lock_ops *ops;
static void *lock;
static int writer_in;            /* plain: 1 inside a write section */
static long data_a, data_b;      /* plain: b == 3 * a outside write sections */
static uint32_t readers_in;      /* atomic: readers inside */

struct worker {
	uint64_t rng;
	unsigned long long reads, writes, timeouts, try_fails;
	int is_writer;            /* starvation phase: this thread writes */
	unsigned writes_per_256;  /* exclusion phases: the share of writes */
	unsigned long long ops_limit; /* exclusion phases: exit after this many (0: none) */
	unsigned long long biased; /* rwlock reads made through the bias table */
	double worst_wait;        /* starvation phase: longest wrlock, seconds */
	unsigned long long waits; /* starvation phase: write acquisitions */
} __attribute__((aligned(64)));

static void read_section(struct worker *w)
{
	__atomic_fetch_add(&readers_in, 1, __ATOMIC_RELAXED);
	if (ops == &rw_ops && weft__rwlock_bias_held((weft_rwlock_t *)lock, weft__rwlock_slot((weft_rwlock_t *)lock)))
		w->biased++;
	if (stress_violated(writer_in))
		stress_fail(&opts, "%s: a reader is inside beside a writer", ops->name);
	long a = data_a, b = data_b;
	if (stress_violated(b != 3 * a))
		stress_fail(&opts, "%s: a reader saw a torn write (a=%ld b=%ld)", ops->name, a, b);
	__atomic_fetch_sub(&readers_in, 1, __ATOMIC_RELAXED);
}

static void write_section(void)
{
	if (stress_violated(writer_in))
		stress_fail(&opts, "%s: two writers inside", ops->name);
	writer_in = 1;
	uint32_t r = __atomic_load_n(&readers_in, __ATOMIC_RELAXED);
	if (stress_violated(r != 0))
		stress_fail(&opts, "%s: a writer is inside beside %u readers", ops->name, r);
	data_a++;
	data_b = 3 * data_a;
	writer_in = 0;
}

/* A deadline 0..~130 us ahead (sometimes already past). */
static struct timespec short_deadline(struct worker *w)
{
	return weft_deadline_after_ns(stress_rand(&w->rng) & 0x1FFFF);
}

static void *exclusion_worker(void *p)
{
	struct worker *w = (struct worker *)p;
	unsigned long long n = 0;
	while (!stress_phase_over() && (w->ops_limit == 0 || n++ < w->ops_limit)) {
		uint64_t r = stress_rand(&w->rng);
		unsigned how = (unsigned)(r >> 8) & 3; /* 0,1 blocking, 2 try, 3 timed */
		if ((r & 0xFF) >= w->writes_per_256) {
			if (how == 2 && !ops->tryrdlock(lock)) {
				w->try_fails++;
				continue;
			}
			if (how == 3) {
				struct timespec dl = short_deadline(w);
				if (ops->timedrdlock(lock, &dl) != WEFT_OK) {
					w->timeouts++;
					continue;
				}
			}
			if (how < 2)
				ops->rdlock(lock);
			read_section(w);
			ops->rdunlock(lock);
			w->reads++;
		} else {
			if (how == 2 && !ops->trywrlock(lock)) {
				w->try_fails++;
				continue;
			}
			if (how == 3) {
				struct timespec dl = short_deadline(w);
				if (ops->timedwrlock(lock, &dl) != WEFT_OK) {
					w->timeouts++;
					continue;
				}
			}
			if (how < 2)
				ops->wrlock(lock);
			write_section();
			ops->wrunlock(lock);
			w->writes++;
		}
	}
	return NULL;
}

static void *starvation_worker(void *p)
{
	struct worker *w = (struct worker *)p;
	/* a writer tries at least once, however late its thread started */
	while ((w->is_writer && w->waits == 0) || !stress_phase_over()) {
		if (!w->is_writer) {
			/* back to back: the next read starts as this one ends */
			ops->rdlock(lock);
			read_section(w);
			for (volatile int i = 0; i < 50; i++)
				;
			ops->rdunlock(lock);
			w->reads++;
			continue;
		}
		double t0 = stress_now();
		struct timespec dl = weft_deadline_after_ns(10ull * 1000000000ull);
		if (stress_violated(ops->timedwrlock(lock, &dl) != WEFT_OK))
			stress_fail(&opts, "%s: writer starved: no write lock within 10 s of continuous reads", ops->name);
		double waited = stress_now() - t0;
		write_section();
		ops->wrunlock(lock);
		w->writes++;
		w->waits++;
		if (waited > w->worst_wait)
			w->worst_wait = waited;
		for (volatile int i = 0; i < 2000; i++) /* writers are the rare side */
			;
	}
	return NULL;
}

/* Held-read phase: even threads try to write, odd ones read (see the top). */
static void *held_read_worker(void *p)
{
	struct worker *w = (struct worker *)p;
	while (!stress_phase_over()) {
		if (w->is_writer) {
			if (stress_violated(ops->trywrlock(lock)))
				stress_fail(&opts, "%s: trywrlock got a lock another thread read-holds", ops->name);
			w->try_fails++;
			continue;
		}
		if (stress_violated(!ops->tryrdlock(lock)))
			stress_fail(&opts, "%s: tryrdlock failed on a read-held lock that no writer can get", ops->name);
		read_section(w);
		ops->rdunlock(lock);
		struct timespec dl = short_deadline(w);
		if (stress_violated(ops->timedrdlock(lock, &dl) != WEFT_OK))
			stress_fail(&opts, "%s: timedrdlock timed out on a read-held lock that no writer can get", ops->name);
		read_section(w);
		ops->rdunlock(lock);
		w->reads += 2;
	}
	return NULL;
}

struct result {
	unsigned long long reads, writes, timeouts, try_fails;
	double worst_wait;
	unsigned long long writer_acquisitions;
	unsigned long long biased, rounds;
};

/* Exclusion phases: the share of writes (per 256 operations), and how many
 * operations a thread makes before it exits (0: until the phase ends). */
static unsigned phase_writes_per_256 = 51; /* ~20% */
static unsigned long long phase_ops_limit;

static struct result run_phase(const struct stress_opts *all, const struct lock_ops *o, void *l, int starvation,
			       unsigned nthreads, unsigned nwriters)
{
	opts = *all;
	ops = o;
	lock = l;
	data_a = data_b = 0;
	struct worker *w = (struct worker *)calloc(nthreads, sizeof(*w));
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].rng = all->seed * 2654435761u + i + 1;
		w[i].is_writer = i < nwriters;
		w[i].writes_per_256 = phase_writes_per_256;
		w[i].ops_limit = phase_ops_limit;
	}
	stress_phase_begin(all->seconds / 9);
	stress_run_threads(nthreads, starvation ? starvation_worker : exclusion_worker, w, sizeof(*w));
	struct result r = {0, 0, 0, 0, 0.0, 0, 0, 1};
	for (unsigned i = 0; i < nthreads; i++) {
		r.reads += w[i].reads;
		r.writes += w[i].writes;
		r.timeouts += w[i].timeouts;
		r.try_fails += w[i].try_fails;
		r.writer_acquisitions += w[i].waits;
		r.biased += w[i].biased;
		if (w[i].worst_wait > r.worst_wait)
			r.worst_wait = w[i].worst_wait;
		if (stress_violated(starvation && w[i].is_writer && w[i].waits == 0))
			stress_fail(&opts, "%s: writer %u never got the lock", o->name, i);
	}
	free(w);
	if (stress_violated((unsigned long long)data_a != r.writes))
		stress_fail(&opts, "%s: %ld write sections counted, %llu writes made", o->name, data_a, r.writes);
	if (stress_violated(__atomic_load_n(&readers_in, __ATOMIC_RELAXED) != 0))
		stress_fail(&opts, "%s: readers_in %u at the end", o->name, readers_in);
	return r;
}

/* The held-read phase over @l (see the top); @biased: set if the main thread's
 * read went through the bias table (weft_rwlock_t only). */
static struct result run_held_read(const struct stress_opts *all, const struct lock_ops *o, void *l,
				   unsigned nthreads, int *biased)
{
	opts = *all;
	ops = o;
	lock = l;
	struct result r = {0, 0, 0, 0, 0.0, 0, 0, 1};
	if (o == &rw_ops) {
		/* counted reads turn bias on unless a recent revocation inhibits it */
		double until = stress_now() + 1.0;
		do {
			o->rdlock(l);
			o->rdunlock(l);
		} while (!(__atomic_load_n(&((weft_rwlock_t *)l)->state, __ATOMIC_RELAXED) & WEFT_RWLOCK_BIASED) &&
			 stress_now() < until);
	}
	o->rdlock(l);
	if (biased != NULL)
		*biased = weft__rwlock_bias_held((weft_rwlock_t *)l, weft__rwlock_slot((weft_rwlock_t *)l));
	struct worker *w = (struct worker *)calloc(nthreads, sizeof(*w));
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].rng = all->seed * 2654435761u + i + 7;
		w[i].is_writer = (i % 2) == 0;
	}
	stress_phase_begin(all->seconds / 9);
	stress_run_threads(nthreads, held_read_worker, w, sizeof(*w));
	for (unsigned i = 0; i < nthreads; i++) {
		r.reads += w[i].reads;
		r.try_fails += w[i].try_fails;
	}
	free(w);
	o->rdunlock(l);
	return r;
}

static void add(struct result *to, struct result r)
{
	to->reads += r.reads;
	to->writes += r.writes;
	to->timeouts += r.timeouts;
	to->try_fails += r.try_fails;
	to->biased += r.biased;
	to->rounds += r.rounds;
}

/*
 * Reader bias under churn: 99% reads, 1% writes, a short inhibit (bias
 * multiplier 1) so that writers revoke over and over, and threads that exit
 * after a few hundred operations and are replaced (their table slots and
 * held bits must not outlive them).  Rounds until the phase's time is up.
 */
static struct result run_bias_churn(const struct stress_opts *all, unsigned nthreads)
{
	unsigned n = weft_rwlock_set_bias(1);
	phase_writes_per_256 = 3;
	phase_ops_limit = 300;
	double end = stress_now() + all->seconds / 9;
	struct result r = run_phase(all, &rw_ops, &the_rwlock, 0, nthreads, 0);
	/* A revocation in an earlier phase (multiplier 9) that waited for a
	 * preempted reader can inhibit bias for longer than this phase lasts on
	 * a loaded machine; so keep going, up to 10 s more, until a read has
	 * gone through the table (main() fails the run if none has). */
	while (stress_now() < end || (r.biased == 0 && stress_now() < end + 10))
		add(&r, run_phase(all, &rw_ops, &the_rwlock, 0, nthreads, 0));
	phase_writes_per_256 = 51;
	phase_ops_limit = 0;
	weft_rwlock_set_bias(n);
	return r;
}


int main(int argc, char **argv)
{
	struct stress_opts o = stress_parse(argc, argv, "stress_rwlock");
	unsigned n = o.threads < 2 ? 2 : o.threads; /* a writer and at least one reader */
	unsigned readers = n < 3 ? 2 : n - 1;       /* starvation: continuous readers ... */
	unsigned writers = n >= 8 ? 2 : 1;          /* ... and one or two writers */

	struct result rx = run_phase(&o, &rw_ops, &the_rwlock, 0, n, 0);
	unsigned spin = weft_rwlock_set_spin(0);
	add(&rx, run_phase(&o, &rw_ops, &the_rwlock, 0, n, 0));
	weft_rwlock_set_spin(spin);
	struct result rc = run_bias_churn(&o, n);
	int held_biased = 0;
	struct result rh = run_held_read(&o, &rw_ops, &the_rwlock, n, &held_biased);
	struct result rs = run_phase(&o, &rw_ops, &the_rwlock, 1, readers + writers, writers);
	weft_rwlock_destroy(&the_rwlock);
	struct result bx = run_phase(&o, &br_ops, &the_brlock, 0, n, 0);
	weft_rwlock_set_spin(0);
	add(&bx, run_phase(&o, &br_ops, &the_brlock, 0, n, 0));
	weft_rwlock_set_spin(spin);
	struct result bh = run_held_read(&o, &br_ops, &the_brlock, n, NULL);
	struct result bs = run_phase(&o, &br_ops, &the_brlock, 1, readers + writers, writers);
	weft_brlock_destroy(&the_brlock);

	if (stress_violated(rc.biased == 0))
		stress_fail(&o, "rwlock: no read went through the bias table in the churn phase");
	unsigned long long total = rx.reads + rx.writes + rc.reads + rc.writes + rs.reads + rs.writes + bx.reads + bx.writes + bs.reads +
				   bs.writes + rh.reads + rh.try_fails + bh.reads + bh.try_fails;
	stress_pass(&o, total,
		    "rwlock: reads=%llu (biased %llu) writes=%llu timeouts=%llu try_fails=%llu, bias churn: %llu "
		    "rounds, reads=%llu (biased %llu) writes=%llu, held %s read: %llu reads beside %llu failed trywrlocks, "
		    "starvation probe %u readers %u "
		    "writers: %llu writes, worst writer wait %.0f us | brlock: reads=%llu writes=%llu timeouts=%llu "
		    "try_fails=%llu, held read: %llu reads beside %llu failed trywrlocks, starvation probe: %llu writes, "
		    "worst writer wait %.0f us",
		    rx.reads, rx.biased, rx.writes, rx.timeouts, rx.try_fails, rc.rounds, rc.reads, rc.biased, rc.writes,
		    held_biased ? "biased" : "counted", rh.reads, rh.try_fails, readers, writers, rs.writer_acquisitions,
		    rs.worst_wait * 1e6, bx.reads, bx.writes, bx.timeouts, bx.try_fails, bh.reads, bh.try_fails,
		    bs.writer_acquisitions, bs.worst_wait * 1e6);
	return 0;
}
