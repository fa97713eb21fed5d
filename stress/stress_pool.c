/* SPDX-License-Identifier: MIT */
/*
 * stress_pool.c - weft_pool_t under ThreadSanitizer, with threads that start
 * and exit all through the run.
 *
 * Every object carries an owner mark (a per-owner token and a random
 * sequence) written, with plain stores, by whoever gets it; whoever puts it
 * back (or passes it on) first checks that the mark is still its own.  If the
 * pool handed one object to two owners at once, the mark check fails or TSan
 * reports the two owners' conflicting writes.  A global count of objects held
 * (incremented after a get, decremented before a put) must never exceed the
 * capacity, and every object must lie inside the pool's block: the pool never
 * grows.  At the end of every phase all threads have exited (their caches
 * went back at exit), and weft_pool_get() must then succeed exactly capacity
 * times, with distinct objects, and then return NULL: nothing was lost.
 *
 * Phases share --seconds:
 *  A. churn, capacity 1024 with thread caches: --threads drivers each run a
 *     sequence of short-lived workers (random 1..3000 operations, then exit)
 *     that get, put, and hand objects to other threads through a ring
 *     (cross-thread put); a worker's exit returns its cache.
 *  B. producers and consumers: N/2 threads only get (and pass the objects
 *     through the ring), the others only put; capacity 4096.
 *  C. churn on a pool without caches (WEFT_POOL_NOCACHE), capacity 64:
 *     every operation is a CAS on the shared stack's head, where ABA would
 *     show up.
 *  D. churn with caches on a small pool (capacity 64: batches of 4, caches
 *     of 8), so that batches move between caches and the stack all the time.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"
#include "weft/pool.h"

#define OBJ_SIZE 64
#define HOLD_MAX 64
#define RING 256

struct mark {
	uint64_t owner; /* the token of the holder */
	uint64_t seq;   /* the holder's random stamp */
};

static struct stress_opts opts;
static char phase_name;

static weft_pool_t *g_pool;
static size_t g_cap;
static char *g_lo, *g_hi; /* the pool's block */
static int64_t g_held;    /* objects held by threads (atomic) */
static uint64_t g_ops, g_workers, g_handoffs;
static uint64_t g_next_token; /* atomic */

/* The ring that carries objects between threads (a plain locked queue: the
 * pool, not the queue, is under test). */
struct entry {
	struct mark *obj;
	uint64_t owner, seq; /* the mark the sender left */
};
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry ring[RING];
static unsigned ring_head, ring_tail; /* under ring_lock */

static int ring_push(struct entry e)
{
	int ok = 0;
	pthread_mutex_lock(&ring_lock);
	if (ring_head - ring_tail < RING) {
		ring[ring_head++ % RING] = e;
		ok = 1;
	}
	pthread_mutex_unlock(&ring_lock);
	return ok;
}

static int ring_pop(struct entry *e)
{
	int ok = 0;
	pthread_mutex_lock(&ring_lock);
	if (ring_head != ring_tail) {
		*e = ring[ring_tail++ % RING];
		ok = 1;
	}
	pthread_mutex_unlock(&ring_lock);
	return ok;
}

/* A thread's view: its token and the objects it holds. */
struct holder {
	uint64_t token;
	uint64_t rng;
	struct mark *objs[HOLD_MAX];
	uint64_t seqs[HOLD_MAX];
	unsigned n;
};

static void holder_init(struct holder *h, uint64_t seed)
{
	h->token = __atomic_add_fetch(&g_next_token, 1, __ATOMIC_RELAXED);
	h->rng = seed | 1;
	h->n = 0;
}

static void take(struct holder *h, struct mark *m)
{
	if (stress_violated((char *)m < g_lo || (char *)m + OBJ_SIZE > g_hi))
		stress_fail(&opts, "phase %c: object %p outside the pool [%p, %p)", phase_name, (void *)m, (void *)g_lo,
			    (void *)g_hi);
	uint64_t seq = stress_rand(&h->rng);
	m->owner = h->token; /* plain: a second owner would race here */
	m->seq = seq;
	h->objs[h->n] = m;
	h->seqs[h->n] = seq;
	h->n++;
}

static int try_get(struct holder *h)
{
	struct mark *m = (struct mark *)weft_pool_get(g_pool);
	if (!m)
		return 0;
	int64_t held = __atomic_add_fetch(&g_held, 1, __ATOMIC_RELAXED);
	if (stress_violated(held > (int64_t)g_cap))
		stress_fail(&opts, "phase %c: %lld objects held, capacity %zu", phase_name, (long long)held, g_cap);
	take(h, m);
	return 1;
}

/* Remove held object i after checking its mark.  Return: the object. */
static struct mark *release(struct holder *h, unsigned i)
{
	struct mark *m = h->objs[i];
	if (stress_violated(m->owner != h->token || m->seq != h->seqs[i]))
		stress_fail(&opts, "phase %c: object %p has mark %llu/%llx, holder %llu/%llx: two owners", phase_name,
			    (void *)m, (unsigned long long)m->owner, (unsigned long long)m->seq,
			    (unsigned long long)h->token, (unsigned long long)h->seqs[i]);
	h->n--;
	h->objs[i] = h->objs[h->n];
	h->seqs[i] = h->seqs[h->n];
	return m;
}

static void put_back(struct holder *h, unsigned i)
{
	struct mark *m = release(h, i);
	__atomic_sub_fetch(&g_held, 1, __ATOMIC_RELAXED);
	weft_pool_put(g_pool, m);
}

/* Pass held object i to the ring (it stays counted as held). */
static int hand_off(struct holder *h, unsigned i)
{
	struct entry e = {h->objs[i], h->token, h->seqs[i]};
	if (!ring_push(e))
		return 0;
	h->n--;
	h->objs[i] = h->objs[h->n];
	h->seqs[i] = h->seqs[h->n];
	__atomic_fetch_add(&g_handoffs, 1, __ATOMIC_RELAXED);
	return 1;
}

/* Take an object from the ring, check the sender's mark, and own it. */
static int receive(struct holder *h)
{
	struct entry e;
	if (!ring_pop(&e))
		return 0;
	if (stress_violated(e.obj->owner != e.owner || e.obj->seq != e.seq))
		stress_fail(&opts, "phase %c: object %p changed in the ring: two owners", phase_name, (void *)e.obj);
	take(h, e.obj);
	return 1;
}

static void drop_all(struct holder *h)
{
	while (h->n)
		put_back(h, h->n - 1);
}

/* ---- churn (phases A, C, D) --------------------------------------------- */

static void *churn_worker(void *arg)
{
	struct holder h;
	holder_init(&h, (uint64_t)(uintptr_t)arg);
	unsigned n = 1 + (unsigned)(stress_rand(&h.rng) % 3000), i;
	for (i = 0; i < n && !((i & 63) == 0 && stress_phase_over()); i++) {
		unsigned r = (unsigned)(stress_rand(&h.rng) % 100);
		if (r < 45 && h.n < HOLD_MAX) {
			(void)try_get(&h);
		} else if (r < 85 && h.n > 0) {
			put_back(&h, (unsigned)(stress_rand(&h.rng) % h.n));
		} else if (r < 92 && h.n > 0) {
			(void)hand_off(&h, (unsigned)(stress_rand(&h.rng) % h.n));
		} else if (h.n < HOLD_MAX) {
			(void)receive(&h);
		}
	}
	drop_all(&h);
	__atomic_fetch_add(&g_ops, (uint64_t)i, __ATOMIC_RELAXED);
	return NULL;
}

static void *driver(void *arg)
{
	(void)arg;
	uint64_t rng = opts.seed ^ (uint64_t)(uintptr_t)&rng;
	while (!stress_phase_over()) {
		pthread_t t;
		if (pthread_create(&t, NULL, churn_worker, (void *)(uintptr_t)stress_rand(&rng)) != 0)
			stress_fail(&opts, "pthread_create failed");
		pthread_join(t, NULL);
		__atomic_fetch_add(&g_workers, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* ---- producers and consumers (phase B) ---------------------------------- */

static void *producer(void *arg)
{
	struct holder h;
	holder_init(&h, (uint64_t)(uintptr_t)arg);
	uint64_t ops = 0;
	while (!stress_phase_over()) {
		if (!try_get(&h)) {
			sched_yield(); /* the consumers' caches hold the rest */
			continue;
		}
		while (!hand_off(&h, 0)) {
			if (stress_phase_over()) {
				drop_all(&h);
				break;
			}
			sched_yield();
		}
		ops++;
	}
	__atomic_fetch_add(&g_ops, ops, __ATOMIC_RELAXED);
	return NULL;
}

static void *consumer(void *arg)
{
	struct holder h;
	holder_init(&h, (uint64_t)(uintptr_t)arg);
	uint64_t ops = 0;
	while (!stress_phase_over()) {
		if (!receive(&h)) {
			sched_yield();
			continue;
		}
		put_back(&h, 0);
		ops++;
	}
	__atomic_fetch_add(&g_ops, ops, __ATOMIC_RELAXED);
	return NULL;
}

/* ---- phases --------------------------------------------------------------- */

static void check_nothing_lost(void)
{
	/* The ring's leftovers go back first (their senders have exited). */
	struct entry e;
	while (ring_pop(&e)) {
		weft_pool_put(g_pool, e.obj);
		__atomic_sub_fetch(&g_held, 1, __ATOMIC_RELAXED);
	}
	if (stress_violated(__atomic_load_n(&g_held, __ATOMIC_RELAXED) != 0))
		stress_fail(&opts, "phase %c: %lld objects still held after every thread put back", phase_name,
			    (long long)g_held);
	struct weft_pool_stats st;
	(void)!weft_pool_stats(g_pool, &st);
	if (stress_violated(st.in_use != 0))
		stress_fail(&opts, "phase %c: stats say %zu in use after every thread put back", phase_name, st.in_use);
	void **got = (void **)calloc(g_cap, sizeof(void *));
	size_t n = 0;
	void *p;
	while ((p = weft_pool_get(g_pool)) != NULL) {
		if (stress_violated(n == g_cap))
			stress_fail(&opts, "phase %c: get succeeded more than capacity (%zu) times", phase_name, g_cap);
		got[n++] = p;
	}
	if (stress_violated(n != g_cap))
		stress_fail(&opts, "phase %c: get succeeded %zu times after the run, capacity %zu: objects lost", phase_name,
			    n, g_cap);
	/* distinct: mark each object, then check the marks */
	for (size_t i = 0; i < n; i++)
		((struct mark *)got[i])->owner = i;
	for (size_t i = 0; i < n; i++) {
		if (stress_violated(((struct mark *)got[i])->owner != i))
			stress_fail(&opts, "phase %c: object %p handed out twice at the end", phase_name, got[i]);
		weft_pool_put(g_pool, got[i]);
	}
	free(got);
}

static void run_phase(char name, size_t cap, unsigned flags, int prodcons, double seconds)
{
	phase_name = name;
	g_cap = cap;
	g_pool = weft_pool_create(OBJ_SIZE, cap, flags);
	if (!g_pool)
		stress_fail(&opts, "weft_pool_create failed");
	struct weft_pool_stats st;
	(void)!weft_pool_stats(g_pool, &st);
	g_lo = (char *)g_pool;
	g_hi = (char *)g_pool + st.bytes;
	stress_phase_begin(seconds);
	unsigned n = opts.threads < 2 && prodcons ? 2 : opts.threads;
	pthread_t *t = (pthread_t *)calloc(n, sizeof(*t));
	for (unsigned i = 0; i < n; i++) {
		void *(*fn)(void *) = !prodcons ? driver : (i % 2 == 0 ? producer : consumer);
		pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)(opts.seed + i + 1));
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	check_nothing_lost();
	weft_pool_destroy(g_pool);
}

int main(int argc, char **argv)
{
	opts = stress_parse(argc, argv, "stress_pool");
	run_phase('A', 1024, 0, 0, opts.seconds * 0.3);
	run_phase('B', 4096, 0, 1, opts.seconds * 0.3);
	run_phase('C', 64, WEFT_POOL_NOCACHE, 0, opts.seconds * 0.2);
	run_phase('D', 64, 0, 0, opts.seconds * 0.2);
	stress_pass(&opts, (unsigned long long)g_ops,
		    "workers=%llu handoffs=%llu invariants: one owner per object, held <= capacity, inside the block, "
		    "exactly capacity gets after every phase",
		    (unsigned long long)g_workers, (unsigned long long)g_handoffs);
	return 0;
}
