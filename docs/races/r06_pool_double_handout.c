/* SPDX-License-Identifier: MIT */
/*
 * r06_pool_double_handout.c - R6: an object pool with no synchronization.
 *
 * The article's ObjectPool<T> keeps free objects in a std::vector:
 *
 *	T *acquire() { if (free_list.empty()) return new T();
 *	               T *obj = free_list.back(); free_list.pop_back(); return obj; }
 *	void release(T *obj) { obj->reset(); free_list.push_back(obj); }
 *
 * Fine on one thread.  On several, two threads read the same back() before
 * either pops it, and one object has two owners; a lost pop or push also
 * leaks objects or hands out a slot that was already taken.  Here the free
 * list is an array and a count, and each --threads thread does --iters
 * get / use / put rounds.  Each object carries an owner tag that a getter sets
 * with an atomic exchange: finding another thread's tag there means the pool
 * handed the object out twice -- detected, and counted.
 *
 * Fixes: the same pool under a weft_mutex_t, and weft_pool_t (per-thread
 * caches over a lock-free free list).
 */
#include "lab.h"

#include <weft/atomic.h>
#include <weft/mutex.h>
#include <weft/pool.h>

#define POOL_CAPACITY 64
/* "Using" an object: a little work while it is owned (cpu_relax pauses). */
#define USE_RELAX 4
/* The gap between back() and pop_back(): std::vector's two calls are a few
 * instructions apart; two pauses stand for them (and make the window wide
 * enough to be hit in most runs of a few milliseconds). */
#define BACK_POP_RELAX 2

/*
 * An object.  The owner tag sits past the first 192 bytes because weft_pool_t
 * keeps its free-list bookkeeping in the first bytes of free objects (at most
 * 4 + 4 * 15 bytes); a tag there would be overwritten while the object is free.
 */
struct object {
	char payload[192];
	int owner; /* atomic: 0 free, else 1 + the index of the owning thread */
	char pad[60];
};

/* The article's pool: a stack of free objects, no lock. */
struct naive_pool {
	struct object *items[POOL_CAPACITY];
	int count;
};

struct shared {
	struct naive_pool naive;
	weft_mutex_t mutex; /* the mutex fix: guards `naive` */
	weft_pool_t *wpool;
	struct object objects[POOL_CAPACITY];
	long iters;
	bool use_mutex;
	/* atomic statistics */
	long double_handouts, empty;
};

/* lab_step() / lab_ev(): the lab's gates (--schedule) and trace (--trace);
 * without those flags each tests one global. */
static struct object *naive_get(struct naive_pool *p, int me)
{
	lab_step(me);
	int n = p->count;     /* free_list.empty() / back() ... */
	lab_ev(me, LAB_EV_LOAD, n, "back: count");
	if (n <= 0)
		return NULL;
	struct object *obj = p->items[n - 1];
	for (int k = 0; k < BACK_POP_RELAX; k++)
		weft_cpu_relax();
	lab_step(me);
	p->count = n - 1;     /* ... pop_back(): another thread may have read the same n */
	lab_ev(me, LAB_EV_STORE, n - 1, "pop: count");
	return obj;
}

static void naive_put(struct naive_pool *p, struct object *obj, int me)
{
	lab_step(me);
	int n = p->count;
	lab_ev(me, LAB_EV_LOAD, n, "put: count");
	if (n >= POOL_CAPACITY) /* only after lost pops: the object leaks */
		return;
	p->items[n] = obj;
	lab_step(me);
	p->count = n + 1;
	lab_ev(me, LAB_EV_STORE, n + 1, "push: count");
}

/* Marks the object as ours; another owner's tag means a double hand-out. */
static void take_ownership(struct shared *s, struct object *obj, int me)
{
	lab_step(me);
	/* relaxed: a detector, not a lock; the pool under test orders the rest */
	int previous = weft_atomic_exchange(&obj->owner, me + 1, WEFT_RELAXED);
	if (previous != 0)
		weft_atomic_fetch_add(&s->double_handouts, 1, WEFT_RELAXED);
	lab_ev(me, previous ? LAB_EV_BAD : LAB_EV_NOTE, (long)(obj - s->objects),
	       previous ? "2nd owner of obj" : "owns obj");
}

static void give_up_ownership(struct object *obj, int me)
{
	lab_step(me); /* under --schedule: holds the object until its turn */
	int expected = me + 1;
	/* relaxed: as above.  Fails if a second owner overwrote our tag: theirs stays. */
	weft_atomic_cas(&obj->owner, &expected, 0, WEFT_RELAXED, WEFT_RELAXED);
	lab_ev(me, LAB_EV_NOTE, LAB_NOVAL, "gives it up");
}

static void use(struct object *obj)
{
	(void)obj;
	for (int k = 0; k < USE_RELAX; k++)
		weft_cpu_relax();
}

static void naive_worker(void *ctx, int index)
{
	struct shared *s = ctx;
	for (long i = 0; i < s->iters; i++) {
		if (s->use_mutex)
			weft_mutex_lock(&s->mutex);
		struct object *obj = naive_get(&s->naive, index);
		if (s->use_mutex)
			weft_mutex_unlock(&s->mutex);
		if (!obj) {
			weft_atomic_fetch_add(&s->empty, 1, WEFT_RELAXED);
			continue;
		}
		take_ownership(s, obj, index);
		use(obj);
		give_up_ownership(obj, index);
		if (s->use_mutex)
			weft_mutex_lock(&s->mutex);
		naive_put(&s->naive, obj, index);
		if (s->use_mutex)
			weft_mutex_unlock(&s->mutex);
	}
}

static void weft_pool_worker(void *ctx, int index)
{
	struct shared *s = ctx;
	for (long i = 0; i < s->iters; i++) {
		struct object *obj = weft_pool_get(s->wpool);
		if (!obj) {
			weft_atomic_fetch_add(&s->empty, 1, WEFT_RELAXED);
			continue;
		}
		take_ownership(s, obj, index);
		use(obj);
		give_up_ownership(obj, index);
		weft_pool_put(s->wpool, obj);
	}
}

static void run(const struct lab_mode *mode, const struct lab_opts *o, struct lab_result *res)
{
	static struct shared s;
	memset(&s, 0, sizeof(s));
	s.iters = o->iters;
	(void)!weft_mutex_init(&s.mutex, 0);
	for (int i = 0; i < POOL_CAPACITY; i++)
		s.naive.items[i] = &s.objects[i];
	s.naive.count = POOL_CAPACITY;
	s.use_mutex = strcmp(mode->name, "mutex") == 0;
	lab_worker_fn fn = naive_worker;
	if (strcmp(mode->name, "weft_pool") == 0) {
		s.wpool = weft_pool_create(sizeof(struct object), POOL_CAPACITY, 0);
		if (!s.wpool)
			lab__die("weft_pool_create", ENOMEM);
		fn = weft_pool_worker;
	}

	lab_shared_value(POOL_CAPACITY); /* the count of free objects */
	uint64_t ns = lab_run_threads(o->threads, fn, &s);

	long rounds = (long)o->threads * o->iters;
	res->wrong = s.double_handouts > 0;
	int left = s.wpool ? -1 : s.naive.count;
	if (res->wrong)
		lab_result_say(res, "%ld gets: %ld objects handed to a second owner, %ld gets found the pool "
			       "empty, %d of %d objects left in the pool", rounds, s.double_handouts, s.empty,
			       left, POOL_CAPACITY);
	else
		lab_result_say(res, "%ld gets: no object handed out twice%s", rounds,
			       s.empty ? ", but some found the pool empty" : "");
	if (mode->kind == LAB_FIXED)
		lab_set_cost(res, ns, (double)rounds);
	if (s.wpool)
		weft_pool_destroy(s.wpool);
	weft_mutex_destroy(&s.mutex);
}

static const struct lab_mode modes[] = {
	{ "racy", LAB_RACY, LAB_TSAN_REPORTS, "the article's pool: back(), pop_back(), push_back(), no lock" },
	{ "mutex", LAB_FIXED, LAB_TSAN_SILENT, "the same pool, get and put under a weft_mutex_t" },
	{ "weft_pool", LAB_FIXED, LAB_TSAN_SILENT, "weft_pool_t: per-thread caches over a lock-free free list" },
};

/* Two threads: both back() before either pop_back(), and both own object 63. */
static const struct lab_schedule schedules[] = {
	{ "racy", true, "T1,T2,T1,T2,T1,T2" },
	{ "racy", false, "T1,T1,T2,T2,T1,T2" },
};

static const struct lab_prog prog = {
	.name = "r06_pool_double_handout",
	.title = "R6 an object pool with no synchronization: one object, two owners",
	.threads = 4, .iters = 50000, .runs = 10, .tsan_iters = 5000,
	.symptom = "an object was handed out twice",
	.modes = modes, .nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.schedules = schedules, .nschedules = (int)LAB_ARRAY_SIZE(schedules),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
