/* SPDX-License-Identifier: MIT */
/*
 * worker_pool.c - a pool of worker threads fed through a weft_mpmc_t queue,
 * shut down with weft_mpmc_close().
 *
 * The main thread pushes jobs (pointers to struct job) into a bounded queue;
 * each worker pops and runs them.  When the main thread has no more work it
 * closes the queue: pushes fail from then on, but the jobs already queued
 * are still popped, and a worker's pop returns WEFT_ECLOSED only once the
 * queue is closed *and* empty, which is the worker's signal to exit.  No
 * sentinel "poison pill" jobs, no flag to poll.
 *
 * Build: cc -std=c11 worker_pool.c -lweft -pthread   (see docs/getting-started.md)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft/weft.h>

#define WORKERS 4
#define JOBS 1000

struct job {
	unsigned long input;  /* written by main before the push */
	unsigned long output; /* written by the worker that ran it */
};

static weft_mpmc_t *queue;
static weft_counter_t jobs_done = WEFT_COUNTER_INIT;

/* The work itself: any function of the input will do. */
static unsigned long work(unsigned long n)
{
	return n * n;
}

static void *worker(void *arg)
{
	(void)arg;
	void *item;
	/* weft_mpmc_pop() sleeps while the queue is empty; it returns WEFT_OK with a
	 * job, or WEFT_ECLOSED when the queue is closed and drained. */
	while (weft_mpmc_pop(queue, &item) == WEFT_OK) {
		struct job *job = item;
		/* The pop is an acquire: job->input, written before the push, is visible. */
		job->output = work(job->input);
		weft_counter_inc(&jobs_done);
	}
	return NULL;
}

int main(void)
{
	/* A queue of 64 slots (a power of two).  A full queue makes the producer
	 * wait: the bound is the pool's back-pressure. */
	queue = weft_mpmc_create(64, 0);
	if (queue == NULL) {
		fprintf(stderr, "weft_mpmc_create failed\n");
		return 1;
	}

	pthread_t threads[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL) != 0)
			return 1;

	static struct job jobs[JOBS];
	for (int i = 0; i < JOBS; i++) {
		jobs[i].input = (unsigned long)i;
		/* push sleeps while the queue is full; it fails only on a closed queue.
		 * Its result must be checked: weft_mpmc_push() is WEFT_NODISCARD. */
		if (weft_mpmc_push(queue, &jobs[i]) != WEFT_OK) {
			fprintf(stderr, "push failed\n");
			return 1;
		}
	}

	/* Shutdown: no more jobs.  Workers finish what is queued, then exit. */
	weft_mpmc_close(queue);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(threads[i], NULL);
	weft_mpmc_destroy(queue);

	/* pthread_join() orders every worker's writes before this point. */
	unsigned long sum = 0, want = 0;
	for (int i = 0; i < JOBS; i++) {
		sum += jobs[i].output;
		want += work((unsigned long)i);
	}
	printf("worker_pool: %d workers ran %llu jobs; sum of results %lu (expected %lu)\n", WORKERS,
	       (unsigned long long)weft_counter_load(&jobs_done), sum, want);
	return sum == want && weft_counter_load(&jobs_done) == JOBS ? 0 : 1;
}
