/* SPDX-License-Identifier: MIT */
/*
 * stress_mpmc.c - weft_mpmc_t under ThreadSanitizer.
 *
 * --threads N runs N/2 producers and N - N/2 consumers (at least one of each;
 * --threads 16 is 8 + 8 on a 2-core machine).  Three phases share --seconds:
 *
 *  A. capacity 4 (always full or empty, so both sides sleep and wake):
 *     producers mix push, try_push, timedpush and push_n; consumers mix pop,
 *     try_pop, timedpop and pop_n.  When time is up the producers stop, the
 *     main thread closes the queue, and the consumers drain it and exit on
 *     WEFT_ECLOSED.
 *  B. capacity 256, the same mix, but the queue is closed while producers are
 *     still pushing: they must see WEFT_ECLOSED, and every push that succeeded
 *     must still be popped.
 *  C. process-shared: min(N/2, 4) producer processes and as many consumer
 *     processes on a WEFT_PSHARED queue of capacity 8 in mmap(MAP_SHARED).
 *
 * Invariants, checked in every phase: each value (producer id << 40 | sequence)
 * is popped exactly once (a per-value mark, and the sum of everything pushed
 * against the sum of everything popped); each consumer sees each producer's
 * sequence numbers strictly increasing; blocked calls return (the harness's
 * watchdog fails a hang; child processes carry their own alarm).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"
#include "weft/deadline.h"
#include "weft/mpmc.h"

#define MAX_PRODUCERS 64
#define MAX_PER_PRODUCER ((uint64_t)1 << 20) /* values a producer may push in one phase */
#define SEQ_BITS 40
#define BATCH_MAX 8

static struct stress_opts opts;

/* Shared by the workers of one phase; in phase C it lives in MAP_SHARED memory. */
struct shared {
	unsigned producers, consumers;
	uint64_t pushed[MAX_PRODUCERS];   /* values each producer pushed (written by it) */
	uint64_t push_sum[MAX_PRODUCERS]; /* their sum */
	uint64_t pop_sum[MAX_PRODUCERS];  /* per consumer: sum of what it popped */
	uint64_t popped[MAX_PRODUCERS];   /* per consumer: how many */
	uint32_t failed;                  /* a child saw a broken invariant */
	char why[256];
	uint8_t marks[]; /* producers * MAX_PER_PRODUCER, atomic increments */
};

struct worker {
	weft_mpmc_t *q;
	struct shared *sh;
	unsigned id;
	uint64_t rng;
	int close_race; /* phase B: push until ECLOSED, do not stop on time */
};

static uint64_t encode(unsigned producer, uint64_t seq)
{
	return ((uint64_t)producer << SEQ_BITS) | seq;
}

static void fail_in_worker(struct shared *sh, const char *fmt, unsigned long long a, unsigned long long b)
{
	/* In a child process stress_fail's _exit would only end the child: note
	 * the failure in shared memory too. */
	if (__atomic_exchange_n(&sh->failed, 1u, __ATOMIC_RELAXED) == 0)
		snprintf(sh->why, sizeof(sh->why), fmt, a, b);
	stress_fail(&opts, fmt, a, b);
}

/* ---- producers ------------------------------------------------------------- */

static void record_push(struct worker *w, uint64_t first_seq, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w->sh->push_sum[w->id] += encode(w->id, first_seq + i);
	w->sh->pushed[w->id] += n;
}

/* Push values until time is up (or, in close_race, until the queue closes). */
static void produce(struct worker *w)
{
	uint64_t seq = 0;
	while (seq < MAX_PER_PRODUCER) {
		if (!w->close_race && stress_phase_over())
			break;
		unsigned op = (unsigned)(stress_rand(&w->rng) % 10);
		uint64_t v = encode(w->id, seq);
		int rc;
		if (op < 4) {
			rc = weft_mpmc_push(w->q, (void *)(uintptr_t)v);
		} else if (op < 6) {
			rc = weft_mpmc_try_push(w->q, (void *)(uintptr_t)v) ? WEFT_OK : WEFT_EBUSY;
			if (rc == WEFT_EBUSY && weft_mpmc_is_closed(w->q))
				rc = WEFT_ECLOSED;
		} else if (op < 8) {
			struct timespec dl = weft_deadline_after_ns(stress_rand(&w->rng) % 2000000);
			rc = weft_mpmc_timedpush(w->q, (void *)(uintptr_t)v, &dl);
		} else {
			void *batch[BATCH_MAX];
			size_t k = 1 + (size_t)(stress_rand(&w->rng) % BATCH_MAX);
			if (k > MAX_PER_PRODUCER - seq)
				k = (size_t)(MAX_PER_PRODUCER - seq);
			for (size_t i = 0; i < k; i++)
				batch[i] = (void *)(uintptr_t)encode(w->id, seq + i);
			size_t m = weft_mpmc_push_n(w->q, batch, k);
			if (stress_violated(m > k))
				fail_in_worker(w->sh, "push_n moved %llu of %llu values", m, k);
			record_push(w, seq, m);
			seq += m;
			if (m == 0 && weft_mpmc_is_closed(w->q))
				break;
			continue;
		}
		if (rc == WEFT_OK) {
			record_push(w, seq, 1);
			seq++;
		} else if (rc == WEFT_ECLOSED) {
			if (stress_violated(!w->close_race))
				fail_in_worker(w->sh, "push returned WEFT_ECLOSED before the close (%llu, %llu)", rc,
					       seq);
			break;
		} else if (stress_violated(rc != WEFT_EBUSY && rc != WEFT_ETIMEDOUT)) {
			fail_in_worker(w->sh, "push returned %llu at sequence %llu", (unsigned long long)rc, seq);
		}
	}
}

/* ---- consumers -------------------------------------------------------------- */

static void take(struct worker *w, uint64_t *last, uint64_t v)
{
	unsigned p = (unsigned)(v >> SEQ_BITS);
	uint64_t seq = v & (((uint64_t)1 << SEQ_BITS) - 1);
	if (stress_violated(p >= w->sh->producers || seq >= MAX_PER_PRODUCER))
		fail_in_worker(w->sh, "popped a value never pushed: producer %llu seq %llu", p, seq);
	if (stress_violated(last[p] != UINT64_MAX && seq <= last[p]))
		fail_in_worker(w->sh, "producer order broken: seq %llu after %llu", seq, last[p]);
	last[p] = seq;
	/* relaxed: the count is checked after every worker has been joined or waited for */
	uint8_t before = __atomic_fetch_add(&w->sh->marks[p * MAX_PER_PRODUCER + seq], 1, __ATOMIC_RELAXED);
	if (stress_violated(before != 0))
		fail_in_worker(w->sh, "value popped twice: producer %llu seq %llu", p, seq);
	w->sh->pop_sum[w->id] += v;
	w->sh->popped[w->id]++;
}

/* Pop until the queue is closed and drained. */
static void consume(struct worker *w)
{
	uint64_t last[MAX_PRODUCERS];
	for (unsigned i = 0; i < MAX_PRODUCERS; i++)
		last[i] = UINT64_MAX;
	for (;;) {
		unsigned op = (unsigned)(stress_rand(&w->rng) % 10);
		void *v = NULL;
		int rc;
		if (op < 4) {
			rc = weft_mpmc_pop(w->q, &v);
		} else if (op < 6) {
			rc = weft_mpmc_try_pop(w->q, &v) ? WEFT_OK : WEFT_EBUSY;
		} else if (op < 8) {
			struct timespec dl = weft_deadline_after_ns(stress_rand(&w->rng) % 2000000);
			rc = weft_mpmc_timedpop(w->q, &v, &dl);
		} else {
			void *batch[BATCH_MAX];
			size_t k = 1 + (size_t)(stress_rand(&w->rng) % BATCH_MAX);
			size_t m = weft_mpmc_pop_n(w->q, batch, k);
			if (stress_violated(m > k))
				fail_in_worker(w->sh, "pop_n moved %llu of %llu values", m, k);
			for (size_t i = 0; i < m; i++)
				take(w, last, (uint64_t)(uintptr_t)batch[i]);
			continue;
		}
		if (rc == WEFT_OK)
			take(w, last, (uint64_t)(uintptr_t)v);
		else if (rc == WEFT_ECLOSED)
			return;
		else if (stress_violated(rc != WEFT_EBUSY && rc != WEFT_ETIMEDOUT))
			fail_in_worker(w->sh, "pop returned %llu (%llu)", (unsigned long long)rc, 0);
	}
}

/* ---- checks ------------------------------------------------------------------ */

static unsigned long long verify(const char *phase, struct shared *sh)
{
	if (stress_violated(sh->failed))
		stress_fail(&opts, "phase %s: a worker failed: %s", phase, sh->why);
	uint64_t pushed = 0, popped = 0, push_sum = 0, pop_sum = 0;
	for (unsigned p = 0; p < sh->producers; p++) {
		pushed += sh->pushed[p];
		push_sum += sh->push_sum[p];
		for (uint64_t s = 0; s < MAX_PER_PRODUCER; s++) {
			uint8_t m = sh->marks[p * MAX_PER_PRODUCER + s];
			uint8_t want = s < sh->pushed[p] ? 1 : 0;
			if (stress_violated(m != want))
				stress_fail(&opts, "phase %s: producer %u value %llu popped %u times, expected %u", phase,
					    p, (unsigned long long)s, m, want);
		}
	}
	for (unsigned c = 0; c < sh->consumers; c++) {
		popped += sh->popped[c];
		pop_sum += sh->pop_sum[c];
	}
	if (stress_violated(pushed != popped || push_sum != pop_sum))
		stress_fail(&opts, "phase %s: pushed %llu (sum %llu) but popped %llu (sum %llu)", phase,
			    (unsigned long long)pushed, (unsigned long long)push_sum, (unsigned long long)popped,
			    (unsigned long long)pop_sum);
	return (unsigned long long)(pushed + popped);
}

static struct shared *shared_alloc(unsigned producers, unsigned consumers, size_t *bytes)
{
	*bytes = sizeof(struct shared) + (size_t)producers * MAX_PER_PRODUCER;
	struct shared *sh = mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		stress_fail(&opts, "mmap of %llu bytes failed", (unsigned long long)*bytes);
	sh->producers = producers;
	sh->consumers = consumers;
	return sh;
}

/* ---- phases A and B: threads -------------------------------------------------- */

static void *producer_thread(void *arg)
{
	produce(arg);
	return NULL;
}

static void *consumer_thread(void *arg)
{
	consume(arg);
	return NULL;
}

/*
 * Until the phase's time is up (and, unless @until_time_only, until every
 * producer has stopped), sample the queue every 5 ms.  Values in the queue
 * while every consumer is registered asleep, or room while every producer
 * is, can last microseconds (a wake-up on its way); if either lasts 2 s, a
 * wake-up was lost.
 */
static void watch_sleepers(const char *name, weft_mpmc_t *q, unsigned producers, unsigned consumers,
			   int until_time_only)
{
	double stuck_since = 0;
	size_t capacity = weft_mpmc_capacity(q);
	for (;;) {
		/* relaxed: a sampled diagnostic */
		uint32_t ps = __atomic_load_n(&q->push_sleepers, __ATOMIC_RELAXED) & WEFT_MPMC_SLEEPERS;
		uint32_t cs = __atomic_load_n(&q->pop_sleepers, __ATOMIC_RELAXED) & WEFT_MPMC_SLEEPERS;
		size_t size = weft_mpmc_size_approx(q);
		int stuck = (cs == consumers && size > 0) || (ps == producers && size < capacity);
		double now = stress_now();
		if (!stuck)
			stuck_since = 0;
		else if (stuck_since == 0)
			stuck_since = now;
		else if (stress_violated(now - stuck_since > 2.0))
			stress_fail(&opts, "phase %s: lost wake-up: size %llu, %u of %u consumers and %u of %u producers asleep for 2 s",
				    name, (unsigned long long)size, cs, consumers, ps, producers);
		if (stress_phase_over() && (until_time_only || stuck_since == 0))
			return;
		usleep(5000);
	}
}

static unsigned long long thread_phase(const char *name, size_t capacity, int close_race, double seconds,
				       unsigned producers, unsigned consumers)
{
	size_t bytes;
	struct shared *sh = shared_alloc(producers, consumers, &bytes);
	weft_mpmc_t *q = weft_mpmc_create(capacity, 0);
	if (q == NULL)
		stress_fail(&opts, "weft_mpmc_create(%llu) failed", (unsigned long long)capacity);
	struct worker *w = calloc(producers + consumers, sizeof(*w));
	pthread_t *tids = calloc(producers + consumers, sizeof(*tids));
	for (unsigned i = 0; i < producers + consumers; i++) {
		w[i].q = q;
		w[i].sh = sh;
		w[i].id = i < producers ? i : i - producers;
		w[i].rng = opts.seed * 0x9E3779B97F4A7C15ull + i + 1;
		w[i].close_race = close_race;
	}
	stress_phase_begin(seconds);
	for (unsigned i = 0; i < producers + consumers; i++)
		pthread_create(&tids[i], NULL, i < producers ? producer_thread : consumer_thread, &w[i]);
	/* While the producers run, watch for a lost wake-up: the close at the
	 * end wakes every sleeper and would hide one. */
	watch_sleepers(name, q, producers, consumers, close_race);
	if (close_race) {
		/* Close while the producers are still pushing. */
		weft_mpmc_close(q);
		for (unsigned i = 0; i < producers; i++)
			pthread_join(tids[i], NULL);
	} else {
		for (unsigned i = 0; i < producers; i++)
			pthread_join(tids[i], NULL);
		weft_mpmc_close(q);
	}
	for (unsigned i = producers; i < producers + consumers; i++)
		pthread_join(tids[i], NULL);
	if (stress_violated(weft_mpmc_size_approx(q) != 0))
		stress_fail(&opts, "phase %s: %llu values left after the drain", name,
			    (unsigned long long)weft_mpmc_size_approx(q));
	unsigned long long ops = verify(name, sh);
	weft_mpmc_destroy(q);
	free(w);
	free(tids);
	munmap(sh, bytes);
	return ops;
}

/* ---- phase C: processes --------------------------------------------------------- */

static unsigned long long process_phase(double seconds, unsigned producers, unsigned consumers)
{
	size_t bytes;
	struct shared *sh = shared_alloc(producers, consumers, &bytes);
	size_t qbytes = weft_mpmc_bytes(8);
	void *qmem = mmap(NULL, qbytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (qmem == MAP_FAILED)
		stress_fail(&opts, "mmap of the queue failed (%llu bytes)", (unsigned long long)qbytes);
	weft_mpmc_t *q = weft_mpmc_init_at(qmem, 8, WEFT_PSHARED);
	stress_phase_begin(seconds);
	pid_t pids[2 * MAX_PRODUCERS];
	unsigned alarm_s = (unsigned)(4 * seconds + 30);
	fflush(stdout);
	fflush(stderr);
	for (unsigned i = 0; i < producers + consumers; i++) {
		pid_t pid = fork();
		if (pid < 0)
			stress_fail(&opts, "fork failed (%llu)", (unsigned long long)i);
		if (pid == 0) {
			alarm(alarm_s); /* the parent's watchdog does not reach us */
			struct worker w = {q, sh, i < producers ? i : i - producers,
					   opts.seed * 0x9E3779B97F4A7C15ull + 1000 + i, 0};
			if (i < producers)
				produce(&w);
			else
				consume(&w);
			_exit(0);
		}
		pids[i] = pid;
	}
	for (unsigned i = 0; i < producers; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		if (stress_violated(!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			stress_fail(&opts, "phase C: producer process %u died (status %d)", i, status);
	}
	weft_mpmc_close(q);
	for (unsigned i = producers; i < producers + consumers; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		if (stress_violated(!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			stress_fail(&opts, "phase C: consumer process %u died (status %d)", i - producers, status);
	}
	unsigned long long ops = verify("C (processes)", sh);
	munmap(qmem, qbytes);
	munmap(sh, bytes);
	return ops;
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_mpmc");
	unsigned producers = opts.threads / 2, consumers;
	if (producers < 1)
		producers = 1;
	if (producers > MAX_PRODUCERS)
		producers = MAX_PRODUCERS;
	consumers = opts.threads > producers ? opts.threads - producers : 1;
	if (consumers > MAX_PRODUCERS)
		consumers = MAX_PRODUCERS;
	unsigned procs = producers < 4 ? producers : 4;

	unsigned long long ops = 0;
	ops += thread_phase("A (capacity 4)", 4, 0, opts.seconds * 0.4, producers, consumers);
	ops += thread_phase("B (capacity 256, close while pushing)", 256, 1, opts.seconds * 0.3, producers,
			    consumers);
	ops += process_phase(opts.seconds * 0.3, procs, procs);
	stress_pass(&opts, ops,
		    "producers=%u consumers=%u processes=%u+%u: each value popped once, sums equal, "
		    "per-producer order, close drains",
		    producers, consumers, procs, procs);
	return 0;
}
