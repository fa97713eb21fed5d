/* SPDX-License-Identifier: MIT */
/*
 * bench_pool.c - family "pool" and scenario C5.
 *
 * Implementations (the <impl> of the row names), objects of 64 bytes:
 *     glibc              malloc / free
 *     mimalloc           mi_malloc / mi_free      } loaded with dlopen(RTLD_LOCAL) from the
 *     jemalloc           mallocx / dallocx        } Debian packages, so that this one binary
 *                                                   compares them without replacing malloc
 *     pthread            a free list (array stack) under one pthread_mutex_t
 *     ck_stack           a Concurrency Kit ck_stack (Treiber stack with a generation
 *                        counter, 16-byte CAS) of the objects, entry inside each object
 *     weft_pool          weft_pool_get / weft_pool_put (thread caches)
 *     weft_pool_nocache  the same with WEFT_POOL_NOCACHE: the bare lock-free stack
 *     limit              (prodcons only) no allocator: each producer sends the same
 *                        object again and again; the floor of the workload
 * mimalloc and jemalloc are called through a one-instruction jump stub
 * (jmp *ptr), which costs what the PLT jump costs the glibc calls; the loops
 * make direct calls only.  The fixed-capacity pools hold 65536 objects and are
 * warmed (every object touched) before the clock starts.
 *
 * Workloads:
 *     pool/pair/<impl>       get, write one word, put; 1, 2, 4, 8 threads each
 *                            on its own (the pool is shared); items = pairs
 *     pool/burst32/<impl>    32 gets, then 32 puts; items = objects
 *     pool/prodcons/<impl>   2, 4, 8 threads in pairs: the even thread gets
 *                            objects and passes them through a single-producer
 *                            single-consumer ring (indices published every 16
 *                            items) to the odd one, which puts them (every
 *                            object crosses threads); items = objects passed
 *
 * Scenario C5 of SCENARIOS.md, "object creation strategies" (256-byte objects,
 * "creating" one = get + memset + put), 1, 2, 4, 8 threads:
 *     scenario/c5_object_creation/glibc              direct malloc/free
 *     scenario/c5_object_creation/tls_cache          a thread-local cache of 64 over malloc
 *     scenario/c5_object_creation/pthread            a global locked pool
 *     scenario/c5_object_creation/weft_pool          the lock-free pool (thread caches)
 *     scenario/c5_object_creation/weft_pool_nocache  the lock-free pool without caches
 * with two counters beside the usual: us_per_obj (the time one thread spends
 * per object, averaged over threads) and article_us, the article's claim for
 * the strategy (direct 12.4, TLS cache 3.1, object pool 1.8 microseconds).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ck_stack.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/atomic.h>
#include <weft/pool.h>

#include "shim.h"

#define PB_ALWAYS_INLINE inline __attribute__((always_inline))
#define PB_CAP 65536u    /* objects of the fixed-capacity pools (family pool) */
#define PB_C5_CAP 16384u /* ... and of scenario C5 */
#define PB_RING 256u     /* slots of a producer-consumer ring */
#define PB_PAIRS 4u      /* rings: up to 8 threads */
#define PB_BURST 32u

enum pb_kind { PB_GLIBC, PB_MIMALLOC, PB_JEMALLOC, PB_PTHREAD, PB_CK, PB_WEFT, PB_WEFT_NOCACHE, PB_TLS, PB_LIMIT };

struct pb_params {
	enum pb_kind kind;
	size_t obj;        /* object size */
	size_t cap;        /* capacity of the fixed pools */
	double article_us; /* C5: the article's number, 0 elsewhere */
};

/* ---- mimalloc and jemalloc, by symbol ------------------------------------ */

/* Resolved in the constructor; NULL if the library is not installed. */
__attribute__((used, visibility("hidden"))) void *(*pb_mi_malloc_fn)(size_t);
__attribute__((used, visibility("hidden"))) void (*pb_mi_free_fn)(void *);
__attribute__((used, visibility("hidden"))) void *(*pb_je_mallocx_fn)(size_t, int);
__attribute__((used, visibility("hidden"))) void (*pb_je_dallocx_fn)(void *, int);

#if defined(__x86_64__)
/* Jump stubs, as the PLT does it: a direct call lands on "jmp *pointer". */
void *pb_mi_malloc(size_t n);
void pb_mi_free(void *p);
void *pb_je_mallocx(size_t n, int flags);
void pb_je_dallocx(void *p, int flags);
#define PB_STUB(name)                                                              \
	__asm__(".text\n\t.p2align 4\n\t.globl " #name "\n\t.hidden " #name "\n\t.type " #name \
		", @function\n" #name ":\n\tjmp *" #name "_fn(%rip)\n\t.size " #name ", .-" #name "\n")
PB_STUB(pb_mi_malloc);
PB_STUB(pb_mi_free);
PB_STUB(pb_je_mallocx);
PB_STUB(pb_je_dallocx);
#else
#define pb_mi_malloc(n) pb_mi_malloc_fn(n)
#define pb_mi_free(p) pb_mi_free_fn(p)
#define pb_je_mallocx(n, f) pb_je_mallocx_fn((n), (f))
#define pb_je_dallocx(p, f) pb_je_dallocx_fn((p), (f))
#endif

/*
 * libjemalloc.so.2 keeps its thread state in initial-exec TLS, which dlopen()
 * must carve from the static TLS surplus that glibc reserves at start-up (512
 * bytes by default: too small).  If the dlopen fails for that reason, the
 * program runs itself again once with glibc.rtld.optional_static_tls raised
 * (a glibc tunable, read only at start-up).  argv comes from glibc, which
 * passes (argc, argv, envp) to every ELF constructor.
 */
#define PB_REEXEC_ENV "WEFT_BENCH_STATIC_TLS_REEXEC"

static void pb_reexec_with_static_tls(char **argv)
{
	if (!argv || getenv(PB_REEXEC_ENV))
		return; /* tried once already */
	const char *old = getenv("GLIBC_TUNABLES");
	char tunables[1024];
	snprintf(tunables, sizeof(tunables), "%s%sglibc.rtld.optional_static_tls=16384", old ? old : "",
		 old ? ":" : "");
	setenv("GLIBC_TUNABLES", tunables, 1);
	setenv(PB_REEXEC_ENV, "1", 1);
	fflush(NULL);
	execv("/proc/self/exe", argv);
	/* exec failed: carry on without jemalloc */
	if (old)
		setenv("GLIBC_TUNABLES", old, 1);
	else
		unsetenv("GLIBC_TUNABLES");
}

static void pb_load_allocators(char **argv)
{
	void *mi = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
	if (mi) {
		*(void **)&pb_mi_malloc_fn = dlsym(mi, "mi_malloc");
		*(void **)&pb_mi_free_fn = dlsym(mi, "mi_free");
	}
	void *je = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!je) {
		const char *err = dlerror();
		if (err && strstr(err, "static TLS")) {
			pb_reexec_with_static_tls(argv);
			fprintf(stderr, "bench_pool: %s\n", err);
		}
	}
	if (je) {
		*(void **)&pb_je_mallocx_fn = dlsym(je, "mallocx");
		*(void **)&pb_je_dallocx_fn = dlsym(je, "dallocx");
	}
	if (!pb_mi_malloc_fn || !pb_mi_free_fn)
		fprintf(stderr, "bench_pool: libmimalloc.so.2 not found: no pool/*/mimalloc rows\n");
	if (!pb_je_mallocx_fn || !pb_je_dallocx_fn)
		fprintf(stderr, "bench_pool: libjemalloc.so.2 not found: no pool/*/jemalloc rows\n");
}

/* ---- shared state ------------------------------------------------------- */

/* A single-producer single-consumer ring. */
struct pb_ring {
	void *slot[PB_RING];
	uint32_t head __attribute__((aligned(64))); /* written by the producer */
	uint32_t tail __attribute__((aligned(64))); /* written by the consumer */
} __attribute__((aligned(64)));

struct pb_shared {
	const struct pb_params *p;
	size_t obj;
	weft_pool_t *wp;
	char *mem; /* the objects of the pthread and ck_stack pools */
	struct {
		pthread_mutex_t lock;
		void **stack;
		size_t top;
	} pm __attribute__((aligned(64)));
	ck_stack_t ck __attribute__((aligned(64)));
	struct pb_ring rings[PB_PAIRS];
};

static void *pb_setup(wb_thread *t)
{
	const struct pb_params *p = (const struct pb_params *)t->arg;
	void *m = NULL;
	if (posix_memalign(&m, 64, sizeof(struct pb_shared)) != 0)
		wb_fail(t, "out of memory");
	struct pb_shared *s = (struct pb_shared *)m;
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->obj = p->obj;
	pthread_mutex_init(&s->pm.lock, NULL);
	ck_stack_init(&s->ck);
	if (p->kind == PB_WEFT || p->kind == PB_WEFT_NOCACHE) {
		s->wp = weft_pool_create(p->obj, p->cap, p->kind == PB_WEFT_NOCACHE ? WEFT_POOL_NOCACHE : 0);
		if (!s->wp)
			wb_fail(t, "weft_pool_create failed");
		/* warm: touch every object once, then give all back to the shared list */
		void **all = (void **)malloc(p->cap * sizeof(void *));
		for (size_t i = 0; i < p->cap; i++) {
			all[i] = weft_pool_get(s->wp);
			memset(all[i], 0, p->obj);
		}
		for (size_t i = p->cap; i-- > 0;)
			weft_pool_put(s->wp, all[i]);
		weft_pool_flush(s->wp);
		free(all);
	} else if (p->kind == PB_PTHREAD || p->kind == PB_CK) {
		if (posix_memalign((void **)&s->mem, 64, p->cap * p->obj) != 0)
			wb_fail(t, "out of memory");
		memset(s->mem, 0, p->cap * p->obj);
		s->pm.stack = (void **)malloc(p->cap * sizeof(void *));
		for (size_t i = p->cap; i-- > 0;) {
			void *o = s->mem + i * p->obj;
			if (p->kind == PB_PTHREAD)
				s->pm.stack[s->pm.top++] = o;
			else
				ck_stack_push_mpmc(&s->ck, (ck_stack_entry_t *)o);
		}
	}
	return s;
}

/* ---- get and put of each implementation ----------------------------------- */

typedef void *(*pb_get_fn)(struct pb_shared *s);
typedef void (*pb_put_fn)(struct pb_shared *s, void *obj);

static PB_ALWAYS_INLINE void *get_glibc(struct pb_shared *s)
{
	return malloc(s->obj);
}
static PB_ALWAYS_INLINE void put_glibc(struct pb_shared *s, void *o)
{
	(void)s;
	free(o);
}
static PB_ALWAYS_INLINE void *get_mimalloc(struct pb_shared *s)
{
	return pb_mi_malloc(s->obj);
}
static PB_ALWAYS_INLINE void put_mimalloc(struct pb_shared *s, void *o)
{
	(void)s;
	pb_mi_free(o);
}
static PB_ALWAYS_INLINE void *get_jemalloc(struct pb_shared *s)
{
	return pb_je_mallocx(s->obj, 0);
}
static PB_ALWAYS_INLINE void put_jemalloc(struct pb_shared *s, void *o)
{
	(void)s;
	pb_je_dallocx(o, 0);
}
static PB_ALWAYS_INLINE void *get_pthread(struct pb_shared *s)
{
	pthread_mutex_lock(&s->pm.lock);
	void *o = s->pm.top ? s->pm.stack[--s->pm.top] : NULL;
	pthread_mutex_unlock(&s->pm.lock);
	return o;
}
static PB_ALWAYS_INLINE void put_pthread(struct pb_shared *s, void *o)
{
	pthread_mutex_lock(&s->pm.lock);
	s->pm.stack[s->pm.top++] = o;
	pthread_mutex_unlock(&s->pm.lock);
}
static PB_ALWAYS_INLINE void *get_ck(struct pb_shared *s)
{
	return (void *)ck_stack_pop_mpmc(&s->ck);
}
static PB_ALWAYS_INLINE void put_ck(struct pb_shared *s, void *o)
{
	ck_stack_push_mpmc(&s->ck, (ck_stack_entry_t *)o);
}
static PB_ALWAYS_INLINE void *get_weft(struct pb_shared *s)
{
	return weft_pool_get(s->wp);
}
static PB_ALWAYS_INLINE void put_weft(struct pb_shared *s, void *o)
{
	weft_pool_put(s->wp, o);
}

/* limit: no allocator at all; each producer sends one object of its own over
 * and over (the floor of pool/prodcons: the ring and the object's cache line
 * crossing cores). */
static __thread uint64_t pb_limit_obj[8] __attribute__((aligned(64)));

static PB_ALWAYS_INLINE void *get_limit(struct pb_shared *s)
{
	(void)s;
	return pb_limit_obj;
}
static PB_ALWAYS_INLINE void put_limit(struct pb_shared *s, void *o)
{
	(void)s;
	(void)o;
}

/* C5's thread-local cache: up to 64 free objects per thread, over malloc. */
static __thread struct {
	void *v[64];
	unsigned n;
} pb_tls;

static PB_ALWAYS_INLINE void *get_tls(struct pb_shared *s)
{
	return pb_tls.n ? pb_tls.v[--pb_tls.n] : malloc(s->obj);
}
static PB_ALWAYS_INLINE void put_tls(struct pb_shared *s, void *o)
{
	(void)s;
	if (pb_tls.n < 64)
		pb_tls.v[pb_tls.n++] = o;
	else
		free(o);
}
static void tls_drain(void)
{
	while (pb_tls.n)
		free(pb_tls.v[--pb_tls.n]);
}

/* ---- the workloads -------------------------------------------------------- */

/* Wait a little, then give the CPU away: threads may outnumber cores. */
static inline void pb_backoff(unsigned *spins)
{
	if (++*spins < 64)
		weft_cpu_relax();
	else
		sched_yield();
}

static PB_ALWAYS_INLINE void *pb_get_or_fail(wb_thread *t, struct pb_shared *s, pb_get_fn get)
{
	void *o = get(s);
	if (__builtin_expect(o == NULL, 0))
		wb_fail(t, "the pool ran out of objects");
	return o;
}

static PB_ALWAYS_INLINE void pb_pair(wb_thread *t, pb_get_fn get, pb_put_fn put)
{
	struct pb_shared *s = (struct pb_shared *)t->shared;
	uint64_t i;
	for (i = 0; wb_running(t, i); i++) {
		void *o = pb_get_or_fail(t, s, get);
		*(volatile uint64_t *)o = i;
		put(s, o);
	}
	wb_done(t, i);
}

static PB_ALWAYS_INLINE void pb_burst(wb_thread *t, pb_get_fn get, pb_put_fn put)
{
	struct pb_shared *s = (struct pb_shared *)t->shared;
	void *v[PB_BURST];
	uint64_t i;
	for (i = 0; wb_running(t, i); i++) {
		for (unsigned k = 0; k < PB_BURST; k++) {
			v[k] = pb_get_or_fail(t, s, get);
			*(volatile uint64_t *)v[k] = i;
		}
		for (unsigned k = 0; k < PB_BURST; k++)
			put(s, v[k]);
	}
	wb_done(t, i * PB_BURST);
}

/*
 * Even threads produce into ring tid/2, odd threads consume from it.  The ring
 * publishes its indices in steps of PB_PUBLISH items (and whenever a side is
 * about to wait, and at the end), so that the queue itself moves few cache
 * lines between the cores and the allocators' own costs show.
 */
#define PB_PUBLISH 16u

static PB_ALWAYS_INLINE void pb_prodcons(wb_thread *t, pb_get_fn get, pb_put_fn put)
{
	struct pb_shared *s = (struct pb_shared *)t->shared;
	struct pb_ring *r = &s->rings[(unsigned)t->tid / 2];
	uint64_t i = 0;
	if (t->tid % 2 == 0) {
		uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED); /* relaxed: our own index */
		/* acquire: pairs with the consumer's release of tail (those slots are free) */
		uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		for (i = 0; wb_running(t, i); i++) {
			void *o = pb_get_or_fail(t, s, get);
			*(volatile uint64_t *)o = i;
			if (head - tail == PB_RING) {
				/* release: publishes the slots written so far; pairs with the consumer's acquire */
				__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
				unsigned spins = 0;
				while (head - (tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE)) == PB_RING) {
					if (wb_stopped(t)) {
						put(s, o);
						goto out;
					}
					pb_backoff(&spins);
				}
			}
			r->slot[head % PB_RING] = o;
			if (++head % PB_PUBLISH == 0)
				__atomic_store_n(&r->head, head, __ATOMIC_RELEASE); /* release: as above */
		}
	out:
		__atomic_store_n(&r->head, head, __ATOMIC_RELEASE); /* release: as above */
		wb_done(t, i);
		return;
	}
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED); /* relaxed: our own index */
	/* acquire: pairs with the producer's release of head (those slots are filled) */
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	for (;;) {
		if (tail == head) {
			/* release: hands the slots read so far back; pairs with the producer's acquire */
			__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
			unsigned spins = 0;
			while (tail == (head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))) {
				if (wb_stopped(t))
					goto done;
				pb_backoff(&spins);
			}
		}
		void *o = r->slot[tail % PB_RING];
		if (++tail % PB_PUBLISH == 0)
			__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE); /* release: as above */
		(void)*(volatile uint64_t *)o;
		put(s, o);
	}
done:
	__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE); /* release: as above */
	wb_done(t, 0);
}

static void pb_teardown(wb_thread *t)
{
	struct pb_shared *s = (struct pb_shared *)t->shared;
	const struct pb_params *p = s->p;
	/* objects left in the rings go back (after the runner's barrier: plain reads) */
	for (unsigned k = 0; k < PB_PAIRS; k++) {
		struct pb_ring *r = &s->rings[k];
		for (uint32_t j = r->tail; j != r->head; j++) {
			void *o = r->slot[j % PB_RING];
			switch (p->kind) {
			case PB_GLIBC:
			case PB_TLS: free(o); break;
			case PB_MIMALLOC: pb_mi_free(o); break;
			case PB_JEMALLOC: pb_je_dallocx(o, 0); break;
			case PB_PTHREAD: put_pthread(s, o); break;
			case PB_CK: put_ck(s, o); break;
			case PB_WEFT:
			case PB_WEFT_NOCACHE: put_weft(s, o); break;
			case PB_LIMIT: break;
			}
		}
	}
	/* conservation: every fixed pool holds all its objects again */
	if (s->wp) {
		struct weft_pool_stats st;
		(void)!weft_pool_stats(s->wp, &st);
		if (st.in_use != 0)
			wb_fail(t, "weft_pool: %zu objects still in use after the run", st.in_use);
		weft_pool_destroy(s->wp);
	}
	if (p->kind == PB_PTHREAD && s->pm.top != p->cap)
		wb_fail(t, "pthread pool: %zu of %zu objects back", s->pm.top, p->cap);
	if (p->kind == PB_CK) {
		size_t n = 0;
		while (ck_stack_pop_mpmc(&s->ck))
			n++;
		if (n != p->cap)
			wb_fail(t, "ck_stack pool: %zu of %zu objects back", n, p->cap);
	}
	if (p->article_us > 0)
		wb_counter(t, "article_us", p->article_us, WB_SUM);
	pthread_mutex_destroy(&s->pm.lock);
	free(s->pm.stack);
	free(s->mem);
	free(s);
}

/* ---- the bodies, one per implementation and workload --------------------- */

static void pair_glibc(wb_thread *t)
{
	pb_pair(t, get_glibc, put_glibc);
}
static void pair_mimalloc(wb_thread *t)
{
	pb_pair(t, get_mimalloc, put_mimalloc);
}
static void pair_jemalloc(wb_thread *t)
{
	pb_pair(t, get_jemalloc, put_jemalloc);
}
static void pair_pthread(wb_thread *t)
{
	pb_pair(t, get_pthread, put_pthread);
}
static void pair_ck(wb_thread *t)
{
	pb_pair(t, get_ck, put_ck);
}
static void pair_weft(wb_thread *t)
{
	pb_pair(t, get_weft, put_weft);
}

static void burst_glibc(wb_thread *t)
{
	pb_burst(t, get_glibc, put_glibc);
}
static void burst_mimalloc(wb_thread *t)
{
	pb_burst(t, get_mimalloc, put_mimalloc);
}
static void burst_jemalloc(wb_thread *t)
{
	pb_burst(t, get_jemalloc, put_jemalloc);
}
static void burst_pthread(wb_thread *t)
{
	pb_burst(t, get_pthread, put_pthread);
}
static void burst_ck(wb_thread *t)
{
	pb_burst(t, get_ck, put_ck);
}
static void burst_weft(wb_thread *t)
{
	pb_burst(t, get_weft, put_weft);
}

static void prodcons_glibc(wb_thread *t)
{
	pb_prodcons(t, get_glibc, put_glibc);
}
static void prodcons_mimalloc(wb_thread *t)
{
	pb_prodcons(t, get_mimalloc, put_mimalloc);
}
static void prodcons_jemalloc(wb_thread *t)
{
	pb_prodcons(t, get_jemalloc, put_jemalloc);
}
static void prodcons_pthread(wb_thread *t)
{
	pb_prodcons(t, get_pthread, put_pthread);
}
static void prodcons_ck(wb_thread *t)
{
	pb_prodcons(t, get_ck, put_ck);
}
static void prodcons_weft(wb_thread *t)
{
	pb_prodcons(t, get_weft, put_weft);
}
static void prodcons_limit(wb_thread *t)
{
	pb_prodcons(t, get_limit, put_limit);
}

/* ---- scenario C5 ----------------------------------------------------------- */

static PB_ALWAYS_INLINE void c5_create(wb_thread *t, pb_get_fn get, pb_put_fn put)
{
	struct pb_shared *s = (struct pb_shared *)t->shared;
	const size_t obj = s->obj;
	uint64_t t0 = wb_clock_ns(), i;
	for (i = 0; wb_running(t, i); i++) {
		void *o = pb_get_or_fail(t, s, get);
		memset(o, (int)(i & 0xff), obj); /* "construct" it */
		__asm__ __volatile__("" ::"r"(o) : "memory");
		put(s, o);
	}
	uint64_t ns = wb_clock_ns() - t0;
	if (i)
		wb_counter(t, "us_per_obj", (double)ns / (double)i / 1000.0, WB_AVG);
	wb_done(t, i);
}

static void c5_glibc(wb_thread *t)
{
	c5_create(t, get_glibc, put_glibc);
}
static void c5_tls(wb_thread *t)
{
	c5_create(t, get_tls, put_tls);
	tls_drain();
}
static void c5_pthread(wb_thread *t)
{
	c5_create(t, get_pthread, put_pthread);
}
static void c5_weft(wb_thread *t)
{
	c5_create(t, get_weft, put_weft);
}

/* ---- registration ----------------------------------------------------------- */

static const struct pb_params pb_glibc = {PB_GLIBC, 64, PB_CAP, 0};
static const struct pb_params pb_mimalloc = {PB_MIMALLOC, 64, PB_CAP, 0};
static const struct pb_params pb_jemalloc = {PB_JEMALLOC, 64, PB_CAP, 0};
static const struct pb_params pb_pthread = {PB_PTHREAD, 64, PB_CAP, 0};
static const struct pb_params pb_ck = {PB_CK, 64, PB_CAP, 0};
static const struct pb_params pb_weft = {PB_WEFT, 64, PB_CAP, 0};
static const struct pb_params pb_weft_nocache = {PB_WEFT_NOCACHE, 64, PB_CAP, 0};
static const struct pb_params pb_limit = {PB_LIMIT, 64, PB_CAP, 0};

/* The article's numbers (microseconds per object): direct 12.4, TLS cache 3.1,
 * object pool 1.8 (its pool has no lock-free variant: both pool rows get 1.8). */
static const struct pb_params c5_p_glibc = {PB_GLIBC, 256, PB_C5_CAP, 12.4};
static const struct pb_params c5_p_tls = {PB_TLS, 256, PB_C5_CAP, 3.1};
static const struct pb_params c5_p_pthread = {PB_PTHREAD, 256, PB_C5_CAP, 1.8};
static const struct pb_params c5_p_weft = {PB_WEFT, 256, PB_C5_CAP, 1.8};
static const struct pb_params c5_p_weft_nocache = {PB_WEFT_NOCACHE, 256, PB_C5_CAP, 1.8};

static void pb_reg(const char *name, wb_body_fn body, uint64_t threads, const struct pb_params *p, unsigned flags)
{
	wb_def def;
	memset(&def, 0, sizeof(def));
	def.name = name;
	def.body = body;
	def.threads = threads;
	def.flags = flags;
	def.arg = p;
	def.setup = pb_setup;
	def.teardown = pb_teardown;
	wb_register_def(&def);
}

__attribute__((constructor)) static void pb_register(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)envp;
	pb_load_allocators(argv);
	const int mi = pb_mi_malloc_fn && pb_mi_free_fn, je = pb_je_mallocx_fn && pb_je_dallocx_fn;
	const uint64_t pc = WB_T2 | WB_T4 | WB_T8;
	const unsigned f = WB_FAIRNESS | WB_CPU;

	pb_reg("pool/pair/glibc", pair_glibc, WB_T1248, &pb_glibc, f);
	if (mi)
		pb_reg("pool/pair/mimalloc", pair_mimalloc, WB_T1248, &pb_mimalloc, f);
	if (je)
		pb_reg("pool/pair/jemalloc", pair_jemalloc, WB_T1248, &pb_jemalloc, f);
	pb_reg("pool/pair/pthread", pair_pthread, WB_T1248, &pb_pthread, f);
	pb_reg("pool/pair/ck_stack", pair_ck, WB_T1248, &pb_ck, f);
	pb_reg("pool/pair/weft_pool", pair_weft, WB_T1248, &pb_weft, f);
	pb_reg("pool/pair/weft_pool_nocache", pair_weft, WB_T1248, &pb_weft_nocache, f);

	pb_reg("pool/burst32/glibc", burst_glibc, WB_T1248, &pb_glibc, f);
	if (mi)
		pb_reg("pool/burst32/mimalloc", burst_mimalloc, WB_T1248, &pb_mimalloc, f);
	if (je)
		pb_reg("pool/burst32/jemalloc", burst_jemalloc, WB_T1248, &pb_jemalloc, f);
	pb_reg("pool/burst32/pthread", burst_pthread, WB_T1248, &pb_pthread, f);
	pb_reg("pool/burst32/ck_stack", burst_ck, WB_T1248, &pb_ck, f);
	pb_reg("pool/burst32/weft_pool", burst_weft, WB_T1248, &pb_weft, f);
	pb_reg("pool/burst32/weft_pool_nocache", burst_weft, WB_T1248, &pb_weft_nocache, f);

	pb_reg("pool/prodcons/limit", prodcons_limit, pc, &pb_limit, WB_CPU);
	pb_reg("pool/prodcons/glibc", prodcons_glibc, pc, &pb_glibc, WB_CPU);
	if (mi)
		pb_reg("pool/prodcons/mimalloc", prodcons_mimalloc, pc, &pb_mimalloc, WB_CPU);
	if (je)
		pb_reg("pool/prodcons/jemalloc", prodcons_jemalloc, pc, &pb_jemalloc, WB_CPU);
	pb_reg("pool/prodcons/pthread", prodcons_pthread, pc, &pb_pthread, WB_CPU);
	pb_reg("pool/prodcons/ck_stack", prodcons_ck, pc, &pb_ck, WB_CPU);
	pb_reg("pool/prodcons/weft_pool", prodcons_weft, pc, &pb_weft, WB_CPU);
	pb_reg("pool/prodcons/weft_pool_nocache", prodcons_weft, pc, &pb_weft_nocache, WB_CPU);

	pb_reg("scenario/c5_object_creation/glibc", c5_glibc, WB_T1248, &c5_p_glibc, WB_CPU);
	pb_reg("scenario/c5_object_creation/tls_cache", c5_tls, WB_T1248, &c5_p_tls, WB_CPU);
	pb_reg("scenario/c5_object_creation/pthread", c5_pthread, WB_T1248, &c5_p_pthread, WB_CPU);
	pb_reg("scenario/c5_object_creation/weft_pool", c5_weft, WB_T1248, &c5_p_weft, WB_CPU);
	pb_reg("scenario/c5_object_creation/weft_pool_nocache", c5_weft, WB_T1248, &c5_p_weft_nocache, WB_CPU);
}
