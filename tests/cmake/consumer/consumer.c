/* SPDX-License-Identifier: MIT */
/* A consumer of weft built by CMake: two threads count through a mutex and
 * hand each other items through an MPMC queue. */
#ifdef CONSUMER_SINGLE_HEADER
#include <weft.h>
#else
#include <weft/weft.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static weft_mutex_t lock = WEFT_MUTEX_INIT;
static long total;
static weft_mpmc_t *queue;

static void *producer(void *arg)
{
	(void)arg;
	for (uintptr_t i = 1; i <= 1000; i++) {
		weft_mutex_lock(&lock);
		total += (long)i;
		weft_mutex_unlock(&lock);
		if (weft_mpmc_push(queue, (void *)i) != WEFT_OK)
			return (void *)1;
	}
	weft_mpmc_close(queue);
	return NULL;
}

int main(void)
{
	queue = weft_mpmc_create(16, 0);
	if (!queue)
		return 1;
	pthread_t t;
	if (pthread_create(&t, NULL, producer, NULL) != 0)
		return 1;
	long popped = 0;
	void *item;
	while (weft_mpmc_pop(queue, &item) == WEFT_OK)
		popped += (long)(uintptr_t)item;
	void *ret;
	pthread_join(t, &ret);
	weft_mpmc_destroy(queue);
	printf("weft %s consumer: total %ld, popped %ld\n", WEFT_VERSION_STRING, total, popped);
	return ret == NULL && total == 500500 && popped == 500500 ? 0 : 1;
}
