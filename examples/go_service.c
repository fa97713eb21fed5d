/* SPDX-License-Identifier: MIT */
/*
 * go_service.c - the articles' Go order handler, in C: a lock taken with a
 * 2 s context, 50 ms of "database" work that stops when the context is done,
 * clients that go away, and a server that shuts down.
 *
 * The Go original (the "Go high-concurrency service template" of the
 * articles, docs/races.md) does, per request:
 *
 *     ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
 *     select {                                     // take the lock
 *     case db.mutex <- struct{}{}: defer func() { <-db.mutex }()
 *     case <-ctx.Done(): return nil, ctx.Err()
 *     }
 *     select {                                     // 50 ms of work
 *     case <-time.After(50 * time.Millisecond):
 *     case <-ctx.Done(): return nil, ctx.Err()
 *     }
 *
 * Here a context is a deadline (absolute CLOCK_MONOTONIC, WithTimeout) and a
 * weft_cancel_t token (WithCancel).  Tokens form a tree as contexts do: each
 * request's token is a child of the server's, so the server's shutdown
 * cancels every request at once, and a client that goes away cancels only
 * its own.  The "db" lock is a weft_mutex_t taken with weft_mutex_lock_ctx(),
 * which gives up at the request's deadline or cancel (the Go code makes its
 * lock of a channel of capacity 1; a weft_sem_t of one unit with
 * weft_sem_wait_ctx() is that construction, and bench/bench_scenario_go.c
 * measures both).  The 50 ms of work is a wait on a latch that never opens
 * (a channel nobody sends on) until the work's end, the request's deadline
 * or its cancellation, whichever comes first.
 *
 * The run (about 2.2 s): 50 requests arrive at once and queue for the lock;
 * the clients of 6 of them go away after 300 ms; 14 more arrive at 1.5 s;
 * the server shuts down at 2.1 s.  Each request prints what happened to it:
 * served, timed out (its 2 s passed) or cancelled (its client went away, or
 * the shutdown).  The article's arithmetic (SCENARIOS.md, C3): one lock and
 * 50 ms under it serve at most 20 requests a second, so of 50 queued
 * requests with 2 s each at most 40 are served and the rest time out.
 *
 * The program checks its own invariants and exits 1 if one fails: every
 * request has exactly one outcome; the lock excluded (one request in the
 * "database" at a time, and exactly the served requests wrote an order);
 * no more requests were served than 50 ms slots fit in the time the run
 * took; a request reported timed out only after its deadline, cancelled
 * only with its token cancelled; and the counts the lock's exclusion forces:
 * at least 4 of the first 50 time out (50 - 6 that may go away - 40 slots),
 * at least 2 of the 14 late ones are cancelled by the shutdown (only 12
 * slots fit between 1.5 s and 2.1 s).
 *
 * Build: cc -std=c11 go_service.c -lweft -pthread
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <weft/weft.h>

#define FIRST_WAVE 50
#define LATE_WAVE 14
#define REQUESTS (FIRST_WAVE + LATE_WAVE)
#define CLIENTS_GONE 6                    /* the first wave's last 6 requests */
#define CONTEXT_NS 2000000000ull          /* context.WithTimeout(..., 2*time.Second) */
#define WORK_NS 50000000ull               /* time.After(50 * time.Millisecond) */
#define CLIENTS_GO_AT_NS 300000000ull     /* 0.3 s */
#define LATE_AT_NS 1500000000ull          /* 1.5 s */
#define SHUTDOWN_AT_NS 2100000000ull      /* 2.1 s */

enum outcome { PENDING, SERVED, TIMED_OUT, CANCELLED_CLIENT, CANCELLED_SHUTDOWN };
static const char *const outcome_name[] = {"pending", "served", "timed out", "cancelled (client went away)",
					   "cancelled (server shutdown)"};

struct database {
	weft_mutex_t mutex;          /* Go: mutex chan struct{} (capacity 1) */
	int inside;                  /* under mutex: requests in the "database" (must be <= 1) */
	int max_inside;              /* under mutex */
	long orders;                 /* under mutex: orders created */
};

struct request {
	int id;
	weft_cancel_t ctx;           /* child of the server's token */
	struct timespec deadline;    /* arrival + 2 s */
	bool client_gone;            /* written before weft_cancel(&ctx) by the client */
	enum outcome outcome;
	double done_at;              /* seconds since start */
	long order_id;
	pthread_t thread;
};

static struct database db = {WEFT_MUTEX_INIT, 0, 0, 0};
static weft_cancel_t server = WEFT_CANCEL_INIT; /* the server's root context */
static bool shutting_down;                       /* written before weft_cancel(&server) */
static struct request req[REQUESTS];
static struct timespec start;
static weft_counter_t broken = WEFT_COUNTER_INIT; /* invariants that failed */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - start.tv_sec) + (double)(t.tv_nsec - start.tv_nsec) / 1e9;
}

static struct timespec after(uint64_t ns)
{
	return weft_deadline_after_ns(ns);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * select { case <-time.After(ns): case <-ctx.Done(): }, also ending at the
 * context's deadline: wait on a latch that never opens until the earlier of
 * the two instants, or the cancel.  Return: WEFT_OK (the time passed),
 * WEFT_ETIMEDOUT (the context's deadline came first) or WEFT_ECANCELED.
 */
static int sleep_ctx(uint64_t ns, const struct timespec *deadline, weft_cancel_t *ctx)
{
	static weft_latch_t never = WEFT_LATCH_INIT(1);
	struct timespec until = after(ns);
	bool deadline_first = before(deadline, &until);
	int rc = weft_latch_wait_ctx(&never, deadline_first ? deadline : &until, ctx);
	if (rc == WEFT_ETIMEDOUT && !deadline_first)
		return WEFT_OK;
	return rc;
}

/* Database.CreateOrder(ctx, req) */
static int create_order(struct request *r)
{
	/* select { case db.mutex <- struct{}{}: case <-ctx.Done(): return ctx.Err() } */
	int rc = weft_mutex_lock_ctx(&db.mutex, &r->deadline, &r->ctx);
	if (rc != WEFT_OK)
		return rc; /* ctx.Err(): the lock was not taken */
	if (++db.inside > db.max_inside)
		db.max_inside = db.inside;
	rc = sleep_ctx(WORK_NS, &r->deadline, &r->ctx);
	if (rc == WEFT_OK)
		r->order_id = ++db.orders; /* db.orders[order.OrderID] = order */
	db.inside--;
	weft_mutex_unlock(&db.mutex); /* defer func() { <-db.mutex }() */
	return rc;
}

/* Handler.CreateOrder: context.WithTimeout(r.Context(), 2 s), then the order. */
static void *handle(void *arg)
{
	struct request *r = arg;
	int rc = create_order(r);
	r->done_at = now_s();
	if (rc == WEFT_OK) {
		r->outcome = SERVED;
	} else if (rc == WEFT_ETIMEDOUT) {
		r->outcome = TIMED_OUT; /* http.StatusGatewayTimeout */
		if (!weft_deadline_passed(&r->deadline)) {
			printf("  invariant: request %d timed out before its deadline\n", r->id);
			weft_counter_inc(&broken);
		}
	} else if (rc == WEFT_ECANCELED) {
		/* WEFT_ECANCELED is an acquire of the cancel: the canceller's flag,
		 * written before weft_cancel(), is visible */
		r->outcome = r->client_gone ? CANCELLED_CLIENT : CANCELLED_SHUTDOWN;
		if (!weft_cancel_requested(&r->ctx) || (!r->client_gone && !shutting_down)) {
			printf("  invariant: request %d cancelled with no cancel\n", r->id);
			weft_counter_inc(&broken);
		}
	} else {
		printf("  invariant: request %d: unexpected status %s\n", r->id, weft_strerror(rc));
		weft_counter_inc(&broken);
	}
	return NULL;
}

/* Requests from..to-1 arrive together: one 2 s deadline for all of them. */
static void arrive(int from, int to)
{
	struct timespec deadline = after(CONTEXT_NS);
	for (int i = from; i < to; i++) {
		req[i].id = i;
		req[i].deadline = deadline;
		if (weft_cancel_init(&req[i].ctx, &server, 0) != WEFT_OK ||
		    pthread_create(&req[i].thread, NULL, handle, &req[i]) != 0) {
			printf("go_service: cannot start request %d\n", i);
			exit(1);
		}
	}
}

static void sleep_until(uint64_t ns_since_start)
{
	struct timespec t = start;
	t.tv_sec += (time_t)(ns_since_start / 1000000000u);
	t.tv_nsec += (long)(ns_since_start % 1000000000u);
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0)
		;
}

int main(void)
{
	clock_gettime(CLOCK_MONOTONIC, &start);
	arrive(0, FIRST_WAVE);

	sleep_until(CLIENTS_GO_AT_NS);
	for (int i = FIRST_WAVE - CLIENTS_GONE; i < FIRST_WAVE; i++) {
		req[i].client_gone = true; /* published by weft_cancel()'s release */
		weft_cancel(&req[i].ctx);  /* the client closed its connection */
	}

	sleep_until(LATE_AT_NS);
	arrive(FIRST_WAVE, REQUESTS);

	sleep_until(SHUTDOWN_AT_NS);
	shutting_down = true;
	weft_cancel(&server); /* every request's context is done */

	for (int i = 0; i < REQUESTS; i++)
		pthread_join(req[i].thread, NULL);
	double elapsed = now_s();

	int count[5] = {0}, first_timed_out = 0, late_shutdown = 0;
	for (int i = 0; i < REQUESTS; i++) {
		struct request *r = &req[i];
		count[r->outcome]++;
		first_timed_out += i < FIRST_WAVE && r->outcome == TIMED_OUT;
		late_shutdown += i >= FIRST_WAVE && r->outcome == CANCELLED_SHUTDOWN;
		if (r->outcome == SERVED)
			printf("request %2d: served, order %ld, at %.2f s\n", i, r->order_id, r->done_at);
		else
			printf("request %2d: %s at %.2f s\n", i, outcome_name[r->outcome], r->done_at);
	}
	weft_cancel_destroy(&server);

	/* The invariants of the overview. */
	long slots = (long)(elapsed * 1e9 / (double)WORK_NS);
	if (count[PENDING] != 0 || count[SERVED] + count[TIMED_OUT] + count[CANCELLED_CLIENT] +
					   count[CANCELLED_SHUTDOWN] != REQUESTS) {
		printf("  invariant: %d requests without an outcome\n", count[PENDING]);
		weft_counter_inc(&broken);
	}
	if (db.max_inside != 1 || db.orders != count[SERVED]) {
		printf("  invariant: %d requests in the database at once; %ld orders for %d served\n", db.max_inside,
		       db.orders, count[SERVED]);
		weft_counter_inc(&broken);
	}
	if (count[SERVED] > slots) {
		printf("  invariant: %d served in %.2f s, more than %ld slots of 50 ms\n", count[SERVED], elapsed, slots);
		weft_counter_inc(&broken);
	}
	if (first_timed_out < FIRST_WAVE - CLIENTS_GONE - (int)(CONTEXT_NS / WORK_NS) ||
	    late_shutdown < LATE_WAVE - (int)((SHUTDOWN_AT_NS - LATE_AT_NS) / WORK_NS)) {
		printf("  invariant: %d of the first wave timed out, %d late ones cancelled by the shutdown\n",
		       first_timed_out, late_shutdown);
		weft_counter_inc(&broken);
	}
	bool ok = weft_counter_load(&broken) == 0;
	printf("go_service: %d requests in %.2f s: %d served (one lock, 50 ms each: at most %ld), %d timed out, "
	       "%d cancelled by their client, %d by the shutdown; invariants %s\n",
	       REQUESTS, elapsed, count[SERVED], slots, count[TIMED_OUT], count[CANCELLED_CLIENT],
	       count[CANCELLED_SHUTDOWN], ok ? "hold" : "FAILED");
	return ok ? 0 : 1;
}
