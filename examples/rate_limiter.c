/* SPDX-License-Identifier: MIT */
/*
 * rate_limiter.c - a token bucket made of a counting semaphore.
 *
 * The semaphore's count is the bucket: a request takes a token with
 * weft_sem_timedwait() (and gives up if none comes before its deadline); a
 * refill thread adds BURST tokens every tick, but never more than the bucket
 * holds.  So at most BURST requests pass at once after a quiet spell, and
 * about BURST per tick in the long run, however many clients push.
 *
 * Build: cc -std=c11 rate_limiter.c -lweft -pthread
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include <weft/weft.h>

#define CLIENTS 6
#define BURST 5             /* bucket size, and tokens added per tick */
#define TICK_NS 2000000     /* 2 ms */
#define TICKS 25

static weft_sem_t bucket;
static weft_counter_t served = WEFT_COUNTER_INIT;
static weft_counter_t refused = WEFT_COUNTER_INIT;
static weft_counter_t added = WEFT_COUNTER_INIT;
static weft_latch_t stop = WEFT_LATCH_INIT(1);

static void *refill(void *arg)
{
	(void)arg;
	for (int t = 0; t < TICKS; t++) {
		struct timespec tick = {0, TICK_NS};
		nanosleep(&tick, NULL);
		/* Top the bucket up to BURST.  (Another refill thread could race with
		 * this look; with one refiller the bucket never exceeds BURST.) */
		long room = BURST - weft_sem_value(&bucket);
		if (room > 0 && weft_sem_post_n(&bucket, (unsigned)room) == WEFT_OK)
			weft_counter_add(&added, (uint64_t)room);
	}
	(void)!weft_latch_count_down(&stop, 1);
	return NULL;
}

static void *client(void *arg)
{
	(void)arg;
	while (!weft_latch_try_wait(&stop)) {
		/* Wait at most 1 ms for a token; a real client would report "busy". */
		struct timespec deadline = weft_deadline_after_ns(1000000);
		if (weft_sem_timedwait(&bucket, &deadline) == WEFT_OK)
			weft_counter_inc(&served);  /* ... handle the request ... */
		else
			weft_counter_inc(&refused);
	}
	return NULL;
}

int main(void)
{
	/* The bucket starts full. */
	if (weft_sem_init(&bucket, BURST, 0) != WEFT_OK)
		return 1;
	pthread_t c[CLIENTS], r;
	for (int i = 0; i < CLIENTS; i++)
		if (pthread_create(&c[i], NULL, client, NULL) != 0)
			return 1;
	if (pthread_create(&r, NULL, refill, NULL) != 0)
		return 1;
	pthread_join(r, NULL);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(c[i], NULL);

	/* Every served request took a token: never more than the first bucket
	 * plus what the refills added (what is left was not taken). */
	unsigned long long s = weft_counter_load(&served), a = weft_counter_load(&added);
	unsigned long long left = (unsigned long long)weft_sem_value(&bucket);
	printf("rate_limiter: %llu served, %llu refused, over %d ticks of %d tokens (%llu added, %llu left)\n", s,
	       (unsigned long long)weft_counter_load(&refused), TICKS, BURST, a, left);
	weft_sem_destroy(&bucket);
	return s + left == BURST + a && s <= (unsigned long long)BURST * (TICKS + 1) ? 0 : 1;
}
