/* SPDX-License-Identifier: MIT */
/*
 * r15_thundering_herd.c - R15: a broadcast that wakes every waiter for one
 * unit of work.
 *
 * `--threads` workers wait on a condition variable for jobs; a producer posts
 * one job at a time and waits until a worker has taken it.  Announcing each
 * job with a broadcast (notify_all) wakes every worker: one takes the job, the
 * others find the queue empty and go back to sleep -- each such wake-up a trip
 * through the kernel's scheduler for nothing.  With N waiters, N - 1 wasted
 * wake-ups per job: the thundering herd.  Nothing goes wrong; it only costs.
 *
 * Modes (all correct: each job is taken exactly once):
 *   pthread-broadcast  pthread_cond_broadcast(): glibc (2.25 and later) wakes
 *                      every waiter, and they all run for the mutex at once
 *   weft-broadcast     weft_cond_broadcast(): wakes one and *requeues* the
 *                      others onto the mutex (FUTEX_CMP_REQUEUE), so each
 *                      wakes only when the mutex is handed to it, one after
 *                      the other: no stampede for the mutex.  Each moved
 *                      waiter still wakes; whether it finds a job depends on
 *                      when -- here the producer has often posted the next
 *                      job by then, so fewer of those wake-ups are wasted
 *                      (the runs count how many)
 *   weft-signal        weft_cond_signal(): one job, one wake-up
 *   pthread-signal     pthread_cond_signal(), for comparison
 * Each run counts the waiters' wake-ups, the wasted ones (woke, found no job),
 * the context switches of the whole process (getrusage), and the time per job.
 *
 * Signal is right here because every waiter can do every job and each
 * notification is for one job.  Broadcast is for a state change every waiter
 * must see (shutting down, a barrier opening), or for waiters waiting on
 * different conditions that share one condition variable.
 *
 * ThreadSanitizer stays silent on every mode: there is no data race.
 */
#include "lab.h"

#include <sys/resource.h>

#include <weft/cond.h>
#include <weft/mutex.h>
#include <weft/sem.h>

enum mode_id { PTHREAD_BROADCAST, WEFT_BROADCAST, WEFT_SIGNAL, PTHREAD_SIGNAL };

static struct {
	enum mode_id mode;
	bool use_pthread, broadcast;
	pthread_mutex_t pmutex;
	pthread_cond_t pcond;
	weft_mutex_t wmutex;
	weft_cond_t wcond;
	weft_sem_t taken;       /* a worker took a job: the producer may post the next */
	long jobs;
	/* under the mutex */
	long queued, consumed, wakeups, wasted;
	bool done;
} herd;

static void lock(void)
{
	if (herd.use_pthread)
		pthread_mutex_lock(&herd.pmutex);
	else
		weft_mutex_lock(&herd.wmutex);
}

static void unlock(void)
{
	if (herd.use_pthread)
		pthread_mutex_unlock(&herd.pmutex);
	else
		weft_mutex_unlock(&herd.wmutex);
}

static void wait_for_job(void)
{
	if (herd.use_pthread)
		pthread_cond_wait(&herd.pcond, &herd.pmutex);
	else
		weft_cond_wait(&herd.wcond, &herd.wmutex);
}

static void notify(bool all)
{
	if (herd.use_pthread)
		all ? pthread_cond_broadcast(&herd.pcond) : pthread_cond_signal(&herd.pcond);
	else
		all ? weft_cond_broadcast(&herd.wcond) : weft_cond_signal(&herd.wcond);
}

static void worker(void)
{
	lock();
	for (;;) {
		while (herd.queued == 0 && !herd.done) {
			wait_for_job();
			herd.wakeups++;
			if (herd.queued == 0 && !herd.done)
				herd.wasted++; /* woke up for nothing */
		}
		if (herd.queued == 0)
			break; /* done */
		herd.queued--;
		herd.consumed++;
		(void)!weft_sem_post(&herd.taken);
	}
	unlock();
}

static void producer(void)
{
	for (long j = 0; j < herd.jobs; j++) {
		lock();
		herd.queued++;
		notify(herd.broadcast); /* one job: tell one worker, or all of them */
		unlock();
		weft_sem_wait(&herd.taken);
	}
	lock();
	herd.done = true;
	notify(true); /* a state change every worker must see: broadcast is right here */
	unlock();
}

static void producer_or_worker(void *ctx, int index)
{
	(void)ctx;
	if (index == 0)
		producer();
	else
		worker();
}

static const struct lab_mode modes[] = {
	{ "pthread-broadcast", LAB_OTHER, LAB_TSAN_SILENT, "pthread_cond_broadcast() for every job: all waiters wake" },
	{ "weft-broadcast", LAB_OTHER, LAB_TSAN_SILENT, "weft_cond_broadcast(): wakes one, requeues the rest onto the mutex" },
	{ "weft-signal", LAB_FIXED, LAB_TSAN_SILENT, "weft_cond_signal(): one job, one waiter woken" },
	{ "pthread-signal", LAB_FIXED, LAB_TSAN_SILENT, "pthread_cond_signal(), for comparison" },
};

static double wasted[LAB_ARRAY_SIZE(modes)][LAB_MAX_RUNS];
static int nwasted[LAB_ARRAY_SIZE(modes)];

static long context_switches(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru); /* every thread of the process */
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	int waiters = opts->threads;
	herd.mode = (enum mode_id)(mode - modes);
	herd.use_pthread = herd.mode == PTHREAD_BROADCAST || herd.mode == PTHREAD_SIGNAL;
	herd.broadcast = herd.mode == PTHREAD_BROADCAST || herd.mode == WEFT_BROADCAST;
	herd.jobs = opts->iters;
	herd.queued = herd.consumed = herd.wakeups = herd.wasted = 0;
	herd.done = false;
	pthread_mutex_init(&herd.pmutex, NULL);
	pthread_cond_init(&herd.pcond, NULL);
	(void)!weft_mutex_init(&herd.wmutex, 0);
	(void)!weft_sem_init(&herd.taken, 0, 0);

	long switches = context_switches();
	uint64_t elapsed = lab_run_threads(1 + waiters, producer_or_worker, NULL);
	switches = context_switches() - switches;

	pthread_cond_destroy(&herd.pcond);
	pthread_mutex_destroy(&herd.pmutex);
	double jobs = (double)herd.jobs;
	res->wrong = herd.consumed != herd.jobs;
	lab_result_say(res, "%ld jobs, %d waiters: %ld taken; per job %.2f wake-ups, %.2f wasted, %.1f context switches",
		       herd.jobs, waiters, herd.consumed, (double)herd.wakeups / jobs, (double)herd.wasted / jobs,
		       (double)switches / jobs);
	lab_set_cost(res, elapsed, jobs); /* per job: post, wake, take, acknowledge */
	int m = (int)herd.mode;
	if (nwasted[m] < LAB_MAX_RUNS)
		wasted[m][nwasted[m]++] = (double)herd.wasted / jobs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void after(const struct lab_opts *opts)
{
	printf("\nwasted wake-ups per job, median of %d runs:", opts->runs);
	for (int m = 0; m < (int)LAB_ARRAY_SIZE(modes); m++) {
		qsort(wasted[m], (size_t)nwasted[m], sizeof(double), cmp_double);
		printf("%s %s %.2f", m ? "," : "", modes[m].name, nwasted[m] ? wasted[m][nwasted[m] / 2] : -1.0);
	}
	printf("\n");
}

static const struct lab_prog prog = {
	.name = "r15_thundering_herd",
	.title = "R15 thundering herd: one job, every waiter woken",
	.threads = 8,   /* waiting workers */
	.runs = 10,
	.iters = 200,   /* jobs */
	.tsan_iters = 50,
	.symptom = "a job was lost or taken twice",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.after = after,
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
