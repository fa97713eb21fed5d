/* SPDX-License-Identifier: MIT */
/*
 * config_cache.c - a read-mostly configuration: many threads read it all
 * the time, one thread replaces it now and then.
 *
 * The lock is a weft_brlock_t, the distributed-reader lock: each reading
 * thread counts itself in a slot (a cache line) of its own, so readers never
 * write a line another reader writes, and reads scale with the cores.  The
 * price is paid by the writer, which must look at every slot; for a
 * configuration that changes once in thousands of reads that is the right
 * trade.  (weft_rwlock_t is the general reader-writer lock; docs/rwlock.md
 * and docs/choosing.md compare the two.)
 *
 * Readers copy what they need while holding the read lock and use the copy
 * after: the critical section stays short, and a reader never sees half of
 * an update (each config checks itself: limit == 10 * version).
 *
 * Build: cc -std=c11 config_cache.c -lweft -pthread
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <weft/weft.h>

#define READERS 3
#define UPDATES 50

struct config {
	unsigned version;
	unsigned limit;      /* always 10 * version: a torn read would break it */
	char name[32];
};

static weft_brlock_t lock = WEFT_BRLOCK_INIT;
static struct config current = {1, 10, "config-1"};
static weft_counter_t reads = WEFT_COUNTER_INIT;
static weft_counter_t torn = WEFT_COUNTER_INIT;
static weft_latch_t writer_done = WEFT_LATCH_INIT(1);

/* The read side: a short critical section that copies the config out. */
static struct config config_get(void)
{
	weft_brlock_rdlock(&lock);
	struct config copy = current;
	weft_brlock_rdunlock(&lock);
	return copy;
}

/* The write side: build the new config outside the lock, swap it in under it. */
static void config_set(unsigned version)
{
	struct config next = {version, 10 * version, ""};
	snprintf(next.name, sizeof(next.name), "config-%u", version);
	weft_brlock_wrlock(&lock);
	current = next;
	weft_brlock_wrunlock(&lock);
}

static void *reader(void *arg)
{
	(void)arg;
	unsigned last = 0;
	/* Read until the writer has finished, and at least once after. */
	do {
		struct config c = config_get();
		if (c.limit != 10 * c.version || c.version < last)
			weft_counter_inc(&torn);
		last = c.version;
		weft_counter_inc(&reads);
	} while (!weft_latch_try_wait(&writer_done) || last != UPDATES);
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	for (unsigned v = 2; v <= UPDATES; v++) {
		config_set(v);
		struct timespec pause = {0, 200000}; /* an update now and then */
		nanosleep(&pause, NULL);
	}
	(void)!weft_latch_count_down(&writer_done, 1);
	return NULL;
}

int main(void)
{
	pthread_t r[READERS], w;
	for (int i = 0; i < READERS; i++)
		if (pthread_create(&r[i], NULL, reader, NULL) != 0)
			return 1;
	if (pthread_create(&w, NULL, writer, NULL) != 0)
		return 1;
	pthread_join(w, NULL);
	for (int i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	struct config c = config_get();
	printf("config_cache: %llu reads of %d versions, %llu torn; now %s (limit %u)\n",
	       (unsigned long long)weft_counter_load(&reads), UPDATES, (unsigned long long)weft_counter_load(&torn),
	       c.name, c.limit);
	return weft_counter_load(&torn) == 0 && c.version == UPDATES && strcmp(c.name, "config-50") == 0 ? 0 : 1;
}
