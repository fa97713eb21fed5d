/* SPDX-License-Identifier: MIT */
/* test_pool.c - weft_pool_t: semantics, exhaustion, alignment, placement,
 * thread caches (flush at exit, destroy with live threads), cross-thread
 * put, process-shared pools, stats, and every documented bad input. */
#include <pthread.h>
#include <semaphore.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "weft/pool.h"

/* Get until NULL; check every object is distinct, inside the pool, aligned,
 * and writable over its whole size.  Return: how many. */
static size_t drain(weft_pool_t *pool, void **got, size_t max, size_t obj_size, size_t align)
{
	struct weft_pool_stats st;
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	size_t n = 0;
	for (;;) {
		void *p = weft_pool_get(pool);
		if (!p)
			break;
		if (n == max) {
			CHECK(!"more objects than capacity");
			break;
		}
		CHECK_EQ((uintptr_t)p % align, 0);
		CHECK((char *)p >= (char *)pool && (char *)p + obj_size <= (char *)pool + st.bytes);
		memset(p, 0xA5, obj_size);
		got[n++] = p;
	}
	/* distinct: sort-free check with a marker byte per object */
	for (size_t i = 0; i < n; i++)
		((unsigned char *)got[i])[0] = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(((unsigned char *)got[i])[0], 0);
		((unsigned char *)got[i])[0] = 1;
	}
	return n;
}

static void put_all(weft_pool_t *pool, void **got, size_t n)
{
	for (size_t i = 0; i < n; i++)
		weft_pool_put(pool, got[i]);
}

static void check_exact_capacity(size_t obj_size, size_t capacity, unsigned flags)
{
	weft_pool_t *pool = weft_pool_create(obj_size, capacity, flags);
	CHECK(pool != NULL);
	if (!pool)
		return;
	void **got = (void **)calloc(capacity + 1, sizeof(void *));
	size_t a = alignof(max_align_t);
	for (int round = 0; round < 3; round++) {
		CHECK_EQ(drain(pool, got, capacity + 1, obj_size, a), capacity);
		CHECK(weft_pool_get(pool) == NULL); /* still exhausted */
		struct weft_pool_stats st;
		CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
		CHECK_EQ(st.in_use, capacity);
		put_all(pool, got, capacity);
		CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
		CHECK_EQ(st.in_use, 0);
	}
	free(got);
	weft_pool_destroy(pool);
}

static void test_pool_exhaustion(void)
{
	check_exact_capacity(64, 1000, 0);
	check_exact_capacity(64, 1000, WEFT_POOL_NOCACHE);
	check_exact_capacity(24, 5000, 0);
	check_exact_capacity(1, 1, 0);
	check_exact_capacity(8, 31, 0); /* too small for caches */
	check_exact_capacity(100, 33, 0);
	check_exact_capacity(4, 100, 0); /* stride 16 */
}

static void test_pool_reuse_lifo(void)
{
	weft_pool_t *pool = weft_pool_create(32, 1, 0);
	CHECK(pool != NULL);
	void *a = weft_pool_get(pool);
	CHECK(a != NULL);
	CHECK(weft_pool_get(pool) == NULL);
	weft_pool_put(pool, a);
	CHECK(weft_pool_get(pool) == a);
	weft_pool_put(pool, a);
	weft_pool_put(pool, NULL); /* no-op */
	CHECK(weft_pool_get(pool) == a);
	CHECK(weft_pool_get(pool) == NULL);
	weft_pool_destroy(pool);
	weft_pool_destroy(NULL); /* no-op */
}

static void test_pool_alignment(void)
{
	static const size_t sizes[] = {1, 3, 8, 17, 100, 4097};
	static const size_t aligns[] = {0, 1, 2, 8, 32, 64, 128, 256, 4096};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
			size_t want = aligns[a] ? aligns[a] : alignof(max_align_t);
			weft_pool_t *pool = weft_pool_create_aligned(sizes[s], aligns[a], 40, 0);
			CHECK(pool != NULL);
			if (!pool)
				continue;
			struct weft_pool_stats st;
			CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
			CHECK_EQ(st.align, want);
			CHECK_GE(st.stride, sizes[s]);
			CHECK_EQ(st.stride % want, 0);
			CHECK_EQ(st.obj_size, sizes[s]);
			void *got[41];
			CHECK_EQ(drain(pool, got, 41, sizes[s], want), 40);
			put_all(pool, got, 40);
			weft_pool_destroy(pool);
		}
	}
}

static void test_pool_bad_input(void)
{
	CHECK(weft_pool_create(0, 10, 0) == NULL);
	CHECK(weft_pool_create(8, 0, 0) == NULL);
#if SIZE_MAX > 0xFFFFFFFFu
	CHECK(weft_pool_create(8, (size_t)WEFT_POOL_CAPACITY_MAX + 1, 0) == NULL);
	CHECK_EQ(weft_pool_bytes(8, (size_t)WEFT_POOL_CAPACITY_MAX + 1), 0);
	CHECK_GT(weft_pool_bytes(8, WEFT_POOL_CAPACITY_MAX), 0); /* the largest index range is fine */
#endif
	CHECK(weft_pool_create(8, 10, 0x8000u) == NULL);
	CHECK(weft_pool_create(8, 10, WEFT_POOL_NOCACHE | 0x2u) == NULL);
	CHECK(weft_pool_create(SIZE_MAX, 2, 0) == NULL);
	CHECK(weft_pool_create(SIZE_MAX / 2, 4, 0) == NULL);
	CHECK_EQ(weft_pool_bytes(0, 10), 0);
	CHECK_EQ(weft_pool_bytes(8, 0), 0);
	CHECK_EQ(weft_pool_bytes(SIZE_MAX, 2), 0);
	CHECK_EQ(weft_pool_bytes(SIZE_MAX / 2, 4), 0);
	CHECK(weft_pool_create_aligned(8, 3, 10, 0) == NULL);
	CHECK(weft_pool_create_aligned(8, 24, 10, 0) == NULL);
	CHECK(weft_pool_create_aligned(8, 2 * WEFT_POOL_ALIGN_MAX, 10, 0) == NULL);
	CHECK_EQ(weft_pool_bytes_aligned(8, 3, 10), 0);
	CHECK_EQ(weft_pool_bytes_aligned(8, 2 * WEFT_POOL_ALIGN_MAX, 10), 0);
	CHECK_EQ(weft_pool_bytes_aligned(0, 8, 10), 0);

	size_t bytes = weft_pool_bytes(16, 10);
	CHECK_GT(bytes, 0);
	void *mem = aligned_alloc(64, bytes + 64);
	CHECK(weft_pool_init_at(NULL, 16, 10, 0) == NULL);
	CHECK(weft_pool_init_at((char *)mem + 8, 16, 10, 0) == NULL); /* misaligned */
	CHECK(weft_pool_init_at((char *)mem + 32, 16, 10, 0) == NULL);
	CHECK(weft_pool_init_at(mem, 0, 10, 0) == NULL);
	CHECK(weft_pool_init_at(mem, 16, 0, 0) == NULL);
	CHECK(weft_pool_init_at(mem, 16, 10, 0x4000u) == NULL);
	CHECK(weft_pool_init_at_aligned(mem, 16, 5, 10, 0) == NULL);
	free(mem);
	/* an alignment above 64 needs memory aligned to it */
	bytes = weft_pool_bytes_aligned(16, 256, 10);
	mem = aligned_alloc(256, bytes + 256);
	CHECK(weft_pool_init_at_aligned((char *)mem + 64, 16, 256, 10, 0) == NULL);
	CHECK(weft_pool_init_at_aligned(mem, 16, 256, 10, 0) == mem);
	free(mem);

	struct weft_pool_stats st;
	weft_pool_t *pool = weft_pool_create(8, 100, 0);
	CHECK_STATUS(weft_pool_stats(NULL, &st), WEFT_EINVAL);
	CHECK_STATUS(weft_pool_stats(pool, NULL), WEFT_EINVAL);
	weft_pool_destroy(pool);
}

static void test_pool_bytes(void)
{
	/* header 192 + 5 per object, rounded to 64, + capacity * stride */
	CHECK_EQ(weft_pool_bytes(64, 1000), 192 + 5000 + 56 + 64000);
	CHECK_EQ(weft_pool_bytes(1, 1), 256 + 64); /* stride 16, rounded to a line */
	CHECK_EQ(weft_pool_bytes_aligned(100, 128, 10) % 64, 0);
	struct weft_pool_stats st;
	weft_pool_t *pool = weft_pool_create(64, 1000, 0);
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.bytes, weft_pool_bytes(64, 1000));
	CHECK_EQ(st.capacity, 1000);
	CHECK_EQ(st.batch, WEFT_POOL_BATCH_MAX);
	weft_pool_destroy(pool);
	pool = weft_pool_create(64, 1000, WEFT_POOL_NOCACHE);
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.batch, 1);
	weft_pool_destroy(pool);
}

/* Placement: the pool lives in caller memory, touches nothing past
 * weft_pool_bytes(), and destroy leaves the memory to the caller. */
static void test_pool_placement(void)
{
	size_t bytes = weft_pool_bytes(48, 200);
	unsigned char *mem = (unsigned char *)aligned_alloc(64, bytes + 64);
	memset(mem + bytes, 0x5C, 64); /* guard */
	weft_pool_t *pool = weft_pool_init_at(mem, 48, 200, 0);
	CHECK((void *)pool == (void *)mem);
	void *got[201];
	CHECK_EQ(drain(pool, got, 201, 48, alignof(max_align_t)), 200);
	for (size_t i = 0; i < 200; i++) {
		CHECK((unsigned char *)got[i] >= mem && (unsigned char *)got[i] + 48 <= mem + bytes);
		memset(got[i], 0xFF, 48);
	}
	put_all(pool, got, 200);
	weft_pool_destroy(pool);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(mem[bytes + i], 0x5C);
	/* the same memory again, as a new pool */
	pool = weft_pool_init_at(mem, 48, 200, WEFT_POOL_NOCACHE);
	CHECK(pool != NULL);
	CHECK_EQ(drain(pool, got, 201, 48, alignof(max_align_t)), 200);
	weft_pool_destroy(pool);
	free(mem);
}

static void test_pool_stats_and_flush(void)
{
	weft_pool_t *pool = weft_pool_create(64, 1000, 0);
	struct weft_pool_stats st;
	void *got[10];
	for (int i = 0; i < 10; i++)
		got[i] = weft_pool_get(pool);
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.in_use, 10);
	CHECK_EQ(st.cached, WEFT_POOL_BATCH_MAX - 10); /* the rest of the first batch */
	put_all(pool, got, 10);
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.cached, WEFT_POOL_BATCH_MAX);
	weft_pool_flush(pool);
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(st.in_use, 0);
	weft_pool_destroy(pool);
}

/* ---- threads ------------------------------------------------------------ */

struct hog_job {
	weft_pool_t *pool;
	size_t got;
	sem_t *ready; /* if set: posted once everything is put back ... */
	sem_t *go;    /* ... then wait for this before exiting */
};

/* Take everything, give it all back (into this thread's cache), exit. */
static void *hog(void *arg)
{
	struct hog_job *j = (struct hog_job *)arg;
	void **got = (void **)calloc(4096, sizeof(void *));
	size_t n = 0;
	void *p;
	while (n < 4096 && (p = weft_pool_get(j->pool)) != NULL)
		got[n++] = p;
	j->got = n;
	put_all(j->pool, got, n);
	free(got);
	if (j->ready) {
		sem_post(j->ready);
		sem_wait(j->go);
	}
	return NULL;
}

/* A thread's cache goes back to the pool when the thread exits: afterwards
 * another thread gets exactly capacity objects. */
static void test_pool_cache_flushed_at_exit(void)
{
	enum { CAP = 500 };
	weft_pool_t *pool = weft_pool_create(32, CAP, 0);
	for (int t = 0; t < 5; t++) {
		struct hog_job j = {pool, 0, NULL, NULL};
		pthread_t th;
		pthread_create(&th, NULL, hog, &j);
		pthread_join(th, NULL);
		CHECK_EQ(j.got, CAP);
		struct weft_pool_stats st;
		CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
		CHECK_EQ(st.cached, 0);
		CHECK_EQ(st.in_use, 0);
	}
	void *got[CAP + 1];
	CHECK_EQ(drain(pool, got, CAP + 1, 32, alignof(max_align_t)), CAP);
	put_all(pool, got, CAP);
	weft_pool_destroy(pool);
}

/* While a thread holds free objects in its cache, others may find the pool
 * exhausted; stats says where they are. */
static void test_pool_cached_elsewhere(void)
{
	enum { CAP = 64 };
	weft_pool_t *pool = weft_pool_create(64, CAP, 0); /* batch 4, cache 8 */
	sem_t ready, go;
	sem_init(&ready, 0, 0);
	sem_init(&go, 0, 0);
	struct hog_job j = {pool, 0, &ready, &go};
	pthread_t th;
	pthread_create(&th, NULL, hog, &j);
	sem_wait(&ready);
	struct weft_pool_stats st;
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(j.got, CAP);
	CHECK_EQ(st.in_use, 0);
	CHECK_EQ(st.cached, 8); /* 64 puts into a cache of 8 that gives back 4 at a time */
	CHECK_EQ(st.batch, 4);
	CHECK_LE(st.cached, 2 * st.batch);
	size_t cached = st.cached;
	void *got[CAP + 1];
	CHECK_EQ(drain(pool, got, CAP + 1, 64, alignof(max_align_t)), CAP - cached);
	sem_post(&go);
	pthread_join(th, NULL);
	size_t more = drain(pool, got + (CAP - cached), cached + 1, 64, alignof(max_align_t));
	CHECK_EQ(more, cached);
	put_all(pool, got, CAP);
	sem_destroy(&ready);
	sem_destroy(&go);
	weft_pool_destroy(pool);
}

/* Producer only gets, consumer only puts: objects cross threads, and the
 * pool neither grows nor loses anything. */
struct xfer {
	weft_pool_t *pool;
	void *ring[64];
	unsigned head, tail; /* under lock */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int done;
};

static void *producer(void *arg)
{
	struct xfer *x = (struct xfer *)arg;
	size_t i = 0;
	while (i < 200000) {
		void *p = weft_pool_get(x->pool);
		if (!p) { /* everything is in the ring: wait until it drains */
			pthread_mutex_lock(&x->lock);
			while (x->head != x->tail)
				pthread_cond_wait(&x->cv, &x->lock);
			pthread_mutex_unlock(&x->lock);
			continue;
		}
		*(size_t *)p = i;
		pthread_mutex_lock(&x->lock);
		while (x->head - x->tail == 64)
			pthread_cond_wait(&x->cv, &x->lock);
		x->ring[x->head++ % 64] = p;
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->lock);
		i++;
	}
	pthread_mutex_lock(&x->lock);
	x->done = 1;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

static void test_pool_producer_consumer(void)
{
	enum { CAP = 256 };
	struct xfer x;
	memset(&x, 0, sizeof(x));
	x.pool = weft_pool_create(64, CAP, 0);
	pthread_mutex_init(&x.lock, NULL);
	pthread_cond_init(&x.cv, NULL);
	pthread_t th;
	pthread_create(&th, NULL, producer, &x);
	size_t consumed = 0, expect = 0;
	for (;;) {
		pthread_mutex_lock(&x.lock);
		while (x.head == x.tail && !x.done)
			pthread_cond_wait(&x.cv, &x.lock);
		if (x.head == x.tail && x.done) {
			pthread_mutex_unlock(&x.lock);
			break;
		}
		void *p = x.ring[x.tail++ % 64];
		pthread_cond_broadcast(&x.cv);
		pthread_mutex_unlock(&x.lock);
		CHECK_EQ(*(size_t *)p, expect);
		expect++;
		weft_pool_put(x.pool, p);
		consumed++;
		if (consumed % 1000 == 0) {
			struct weft_pool_stats st;
			CHECK_STATUS(weft_pool_stats(x.pool, &st), WEFT_OK);
			CHECK_LE(st.in_use + st.cached, CAP);
		}
	}
	pthread_join(th, NULL);
	CHECK_EQ(consumed, 200000);
	weft_pool_flush(x.pool);
	void *got[CAP + 1];
	CHECK_EQ(drain(x.pool, got, CAP + 1, 64, alignof(max_align_t)), CAP);
	pthread_mutex_destroy(&x.lock);
	pthread_cond_destroy(&x.cv);
	weft_pool_destroy(x.pool);
}

/* Destroying a pool while a thread that cached its objects lives on: the
 * thread's exit must not touch the freed pool (ASan checks), and the thread
 * can use a new pool (perhaps at the same address). */
struct outlive_job {
	weft_pool_t **pool;
	sem_t go, done;
};

static void *pool_outliver(void *arg)
{
	struct outlive_job *j = (struct outlive_job *)arg;
	for (int s = 0; s < 2; s++) {
		sem_wait(&j->go);
		void *a = weft_pool_get(*j->pool);
		void *b = weft_pool_get(*j->pool);
		weft_pool_put(*j->pool, a);
		weft_pool_put(*j->pool, b); /* both stay in this thread's cache */
		sem_post(&j->done);
	}
	sem_wait(&j->go);
	return NULL;
}

static void test_pool_destroy_with_live_cache(void)
{
	weft_pool_t *pool = weft_pool_create(64, 1000, 0);
	struct outlive_job j = {&pool, {{0}}, {{0}}};
	sem_init(&j.go, 0, 0);
	sem_init(&j.done, 0, 0);
	pthread_t th;
	pthread_create(&th, NULL, pool_outliver, &j);
	sem_post(&j.go);
	sem_wait(&j.done);
	struct weft_pool_stats st;
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.cached, WEFT_POOL_BATCH_MAX);
	weft_pool_destroy(pool);
	pool = weft_pool_create(64, 1000, 0);
	sem_post(&j.go);
	sem_wait(&j.done);
	sem_post(&j.go);
	pthread_join(th, NULL);
	void *got[1001];
	CHECK_EQ(drain(pool, got, 1001, 64, alignof(max_align_t)), 1000);
	weft_pool_destroy(pool);
	/* the same with a placement pool reused in place */
	size_t bytes = weft_pool_bytes(64, 1000);
	void *mem = aligned_alloc(64, bytes);
	pool = weft_pool_init_at(mem, 64, 1000, 0);
	pthread_create(&th, NULL, pool_outliver, &j);
	sem_post(&j.go);
	sem_wait(&j.done);
	weft_pool_destroy(pool);
	pool = weft_pool_init_at(mem, 64, 1000, 0);
	sem_post(&j.go);
	sem_wait(&j.done);
	sem_post(&j.go);
	pthread_join(th, NULL);
	CHECK_EQ(drain(pool, got, 1001, 64, alignof(max_align_t)), 1000);
	weft_pool_destroy(pool);
	free(mem);
	sem_destroy(&j.go);
	sem_destroy(&j.done);
}

/* More pools than thread-local table entries, used in turn by one thread. */
static void test_pool_many_pools(void)
{
	enum { N = 3 * WEFT__POOL_TLS_WAYS + 1, CAP = 100 };
	weft_pool_t *pools[N];
	for (int i = 0; i < N; i++)
		pools[i] = weft_pool_create(32, CAP, 0);
	void *held[N][3];
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < N; i++)
			for (int k = 0; k < 3; k++)
				held[i][k] = weft_pool_get(pools[i]);
		for (int i = 0; i < N; i++)
			for (int k = 0; k < 3; k++) {
				CHECK(held[i][k] != NULL);
				weft_pool_put(pools[i], held[i][k]);
			}
	}
	for (int i = 0; i < N; i++) {
		void *got[CAP + 1];
		CHECK_EQ(drain(pools[i], got, CAP + 1, 32, alignof(max_align_t)), CAP);
		weft_pool_destroy(pools[i]);
	}
}

/* WEFT_PSHARED: a pool in shared memory, used by a forked child. */
static void test_pool_pshared(void)
{
	weft_pool_t *pool = weft_pool_create(64, 8, WEFT_PSHARED);
	CHECK(pool != NULL);
	if (!pool)
		return;
	struct weft_pool_stats st;
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.batch, 1);
	void *mine = weft_pool_get(pool);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int ok = 1;
		for (int i = 0; i < 3; i++) {
			char *p = (char *)weft_pool_get(pool);
			ok &= p != NULL && p != mine;
			if (p)
				strcpy(p, "from the child");
		}
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.in_use, 4); /* ours and the child's three */
	void *got[9];
	CHECK_EQ(drain(pool, got, 9, 64, alignof(max_align_t)), 4);
	weft_pool_destroy(pool);

	/* placement into caller-provided shared memory */
	size_t bytes = weft_pool_bytes(32, 16);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pool = weft_pool_init_at(mem, 32, 16, WEFT_PSHARED);
	CHECK(pool == mem);
	pid = fork();
	if (pid == 0) {
		void *p = weft_pool_get(pool);
		weft_pool_put(pool, p);
		_exit(weft_pool_get(pool) == p ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STATUS(weft_pool_stats(pool, &st), WEFT_OK);
	CHECK_EQ(st.in_use, 1);
	weft_pool_destroy(pool);
	munmap(mem, bytes);
}

int main(void)
{
	RUN_TEST(test_pool_exhaustion);
	RUN_TEST(test_pool_reuse_lifo);
	RUN_TEST(test_pool_alignment);
	RUN_TEST(test_pool_bad_input);
	RUN_TEST(test_pool_bytes);
	RUN_TEST(test_pool_placement);
	RUN_TEST(test_pool_stats_and_flush);
	RUN_TEST(test_pool_cache_flushed_at_exit);
	RUN_TEST(test_pool_cached_elsewhere);
	RUN_TEST(test_pool_producer_consumer);
	RUN_TEST(test_pool_destroy_with_live_cache);
	RUN_TEST(test_pool_many_pools);
	RUN_TEST(test_pool_pshared);
	return check_summary();
}
