/* SPDX-License-Identifier: MIT */
/*
 * r09_cond_if_not_while.c - R9: a condition variable waited under `if`, and a
 * notification sent before anyone waits.
 *
 * The article's consumer does it right:
 *
 *     with condition:
 *         while not items:          # while, not if
 *             condition.wait()
 *         item = items.pop(0)
 *
 * and its producer makes 5 items, 0.5 s apart, notifying after each.  Two
 * mistakes are common, and both look fine with one consumer on a quiet machine:
 *
 * 1. `if not items: wait()`.  A return from wait() means "something happened,
 *    look again", not "an item is there": another consumer may have taken it
 *    first, the producer may have notified everyone (notify_all), and condition
 *    variables may wake spuriously (POSIX allows it; weft_cond_t documents
 *    when).  The `if` version pops from an empty queue.
 * 2. Waiting without a predicate: `wait()` for "the notification", then take
 *    an item.  A notification is not stored: one sent while nobody waits is
 *    lost, and a consumer that arrives late waits for one that already came --
 *    forever.  (The article starts its consumer 0.1 s before the producer for
 *    exactly this reason: a sleep as synchronization, R8 again.)
 *
 * The fix for both is the article's own: loop on the state (the queue), not on
 * the notification.  The queue remembers what the notification cannot.
 *
 * Modes (the producer makes `--iters` items, `--interval-ms` apart, default 5
 * and 5 ms: the article's 5 items, its 0.5 s scaled down):
 *   if            `if` instead of `while`; `--threads` consumers (default 2),
 *                 the producer broadcasts (notify_all)
 *   while         the same with the predicate loop
 *   no-predicate  one consumer that waits for each notification without looking
 *                 at the queue, and starts a little late (after the first item)
 *   predicate     the same late consumer with the predicate loop
 *
 * No wait in this lab can hang: every wait has a deadline, and a consumer that
 * is still waiting `--patience-ms` after the producer finished gives up and
 * reports that, without the deadline, it would have waited forever.
 *
 * ThreadSanitizer has nothing to say about any mode: every access is made
 * under the mutex, so there is no data race.  These are logic races (which
 * thread gets there first decides the outcome), and only the program's own
 * checks find them.
 */
#include "lab.h"

#include <weft/cond.h>
#include <weft/deadline.h>
#include <weft/mutex.h>

#define MAX_CONSUMERS 16
#define QUEUE_SLOTS 1024
#define EMPTY (-1L) /* a slot no producer wrote */
#define STOP 1000000L

static long opt_interval_ms = 5, opt_patience_ms = 100;

enum mode_id { IF, WHILE, NO_PREDICATE, PREDICATE };

static struct {
	enum mode_id mode;
	weft_mutex_t mutex;
	weft_cond_t cond;
	/* all under `mutex` */
	long slot[QUEUE_SLOTS];
	long head, tail;           /* the queue is slot[head .. tail) */
	bool producer_done;
	bool first_pushed;         /* atomic: the late consumer's cue */
	uint64_t producer_done_at;
	uint64_t pushed_at[QUEUE_SLOTS];
	long items, consumed, garbage, stuck;
	uint64_t latency_ns;       /* sum of push-to-pop times of real items */
	uint64_t consumer_started; /* when the (last) consumer first took the mutex */
} q;

/* Waits until woken (a notification, or a spurious wake-up), as a plain
 * weft_cond_wait() would.  Unlike it, it gives up -- and returns true -- when
 * the producer finished `--patience-ms` ago and still nothing woke it: the
 * plain wait would sleep forever.  The deadline is only this watchdog; a
 * timeout never counts as a wake-up. */
static bool wait_or_give_up(void)
{
	for (;;) {
		struct timespec deadline = weft_deadline_after_ns((uint64_t)opt_patience_ms * 1000000u / 4);
		if (weft_cond_timedwait(&q.cond, &q.mutex, &deadline) != WEFT_ETIMEDOUT)
			return false;
		if (q.producer_done && lab_now_ns() - q.producer_done_at > (uint64_t)opt_patience_ms * 1000000u)
			return true;
	}
}

/* Pops the queue as the buggy consumers do, without looking first; popping an
 * empty queue fails (IndexError in the article's Python) and is counted. */
static long take(int lane)
{
	if (q.head == q.tail) {
		q.garbage++; /* popped from an empty queue */
		lab_ev(lane, LAB_EV_BAD, LAB_NOVAL, "pops an empty queue");
		return EMPTY;
	}
	long i = q.head++, item = q.slot[i];
	lab_ev(lane, LAB_EV_STORE, q.tail - q.head, "pops: items"); /* under --trace; the queue's length */
	if (item != STOP) {
		q.consumed++;
		uint64_t since = q.pushed_at[i] > q.consumer_started ? q.pushed_at[i] : q.consumer_started;
		q.latency_ns += lab_now_ns() - since; /* not counting a late consumer's lateness */
	}
	return item;
}

static void consumer(void *ctx, int self)
{
	(void)ctx;
	int lane = self + 1; /* T1 is the producer */
	if (q.mode == NO_PREDICATE || q.mode == PREDICATE)
		/* starts late (opens its log file first): after the first notification,
		 * plus half an interval; acquire: pairs with the producer's release */
		while (!__atomic_load_n(&q.first_pushed, __ATOMIC_ACQUIRE))
			usleep((useconds_t)(opt_interval_ms * 500));
	weft_mutex_lock(&q.mutex);
	q.consumer_started = lab_now_ns();
	for (;;) {
		bool gave_up = false;
		switch (q.mode) {
		case IF:
			lab_ev(lane, LAB_EV_NOTE, q.tail - q.head, "sees items");
			if (q.head == q.tail) {          /* the bug: if, not while */
				gave_up = wait_or_give_up();
				lab_ev(lane, LAB_EV_NOTE, LAB_NOVAL, "wakes");
			}
			break;
		case NO_PREDICATE:
			gave_up = wait_or_give_up();     /* the bug: waits for a notification, not for an item */
			break;
		case WHILE:
		case PREDICATE:
			lab_ev(lane, LAB_EV_NOTE, q.tail - q.head, "sees items");
			while (q.head == q.tail && !gave_up) { /* the fix: look at the queue after every wake-up */
				gave_up = wait_or_give_up();
				lab_ev(lane, LAB_EV_NOTE, q.tail - q.head, "wakes, sees");
			}
			break;
		}
		if (gave_up) {
			q.stuck++;
			break;
		}
		if (take(lane) == STOP)
			break;
		if (q.mode == NO_PREDICATE && q.consumed == q.items) /* it knows how many will come */
			break;
	}
	weft_mutex_unlock(&q.mutex);
}

static void push(long item, bool broadcast)
{
	weft_mutex_lock(&q.mutex);
	if (q.tail < QUEUE_SLOTS) {
		q.pushed_at[q.tail] = lab_now_ns();
		q.slot[q.tail++] = item;
	}
	lab_ev(0, LAB_EV_STORE, q.tail - q.head, item == STOP ? "pushes STOP: items" : "pushes: items");
	if (broadcast)
		weft_cond_broadcast(&q.cond); /* notify_all */
	else
		weft_cond_signal(&q.cond);    /* notify */
	weft_mutex_unlock(&q.mutex);
}

struct run_args {
	long items;
	int consumers;
};

static void producer_or_consumer(void *ctx, int index)
{
	struct run_args *a = ctx;
	if (index > 0) {
		consumer(ctx, index - 1);
		return;
	}
	bool broadcast = q.mode == IF || q.mode == WHILE;
	for (long i = 0; i < a->items; i++) {
		usleep((useconds_t)opt_interval_ms * 1000u); /* time.sleep(0.5): making the item */
		push(i, broadcast);
		__atomic_store_n(&q.first_pushed, true, __ATOMIC_RELEASE); /* release: the late consumer starts after this */
	}
	if (q.mode != NO_PREDICATE)
		for (int c = 0; c < a->consumers; c++)
			push(STOP, broadcast); /* one "no more items" per consumer */
	weft_mutex_lock(&q.mutex);
	q.producer_done = true;
	q.producer_done_at = lab_now_ns();
	weft_mutex_unlock(&q.mutex);
}

static const struct lab_mode modes[] = {
	{ "if", LAB_RACY, LAB_TSAN_SILENT, "if (queue empty) wait; pop -- with 2 consumers and notify_all" },
	{ "while", LAB_FIXED, LAB_TSAN_SILENT, "while (queue empty) wait; pop -- the same 2 consumers and notify_all" },
	{ "no-predicate", LAB_RACY, LAB_TSAN_SILENT, "wait for a notification, then pop; the consumer starts after the first item" },
	{ "predicate", LAB_FIXED, LAB_TSAN_SILENT, "while (queue empty) wait; pop -- the same late consumer" },
};

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	memset(&q, 0, sizeof(q));
	q.mode = (enum mode_id)(mode - modes);
	(void)!weft_mutex_init(&q.mutex, 0);
	for (int i = 0; i < QUEUE_SLOTS; i++)
		q.slot[i] = EMPTY;
	struct run_args a = {
		.items = opts->iters < QUEUE_SLOTS - MAX_CONSUMERS ? opts->iters : QUEUE_SLOTS - MAX_CONSUMERS,
		.consumers = (q.mode == NO_PREDICATE || q.mode == PREDICATE) ? 1
			     : opts->threads < MAX_CONSUMERS ? opts->threads : MAX_CONSUMERS,
	};
	q.items = a.items;
	lab_shared_value(0); /* the queue's length, for --trace */
	lab_run_threads(1 + a.consumers, producer_or_consumer, &a);

	res->wrong = q.consumed != a.items || q.garbage || q.stuck;
	if (res->wrong) {
		char stuck[160] = "";
		if (q.stuck)
			snprintf(stuck, sizeof(stuck), "; %ld consumer%s still waiting %ld ms after the producer finished (would hang forever)",
				 q.stuck, q.stuck > 1 ? "s" : "", opt_patience_ms);
		lab_result_say(res, "%ld items: %ld consumed, %ld pops from an empty queue%s", a.items, q.consumed,
			       q.garbage, stuck);
	} else {
		lab_result_say(res, "%ld items, %d consumer%s: every item consumed once: correct", a.items, a.consumers,
			       a.consumers > 1 ? "s" : "");
		lab_set_cost(res, q.latency_ns, (double)q.consumed); /* push to pop, per item */
	}
}

static const struct lab_flag flags[] = {
	{ "interval-ms", "the producer sleeps this long before each item (the article: 500)", &opt_interval_ms, 0, 60000 },
	{ "patience-ms", "a consumer still waiting this long after the producer finished gives up", &opt_patience_ms, 1, 600000 },
};

static const struct lab_prog prog = {
	.name = "r09_cond_if_not_while",
	.title = "R9 condition variable: `if` instead of `while`, and a notification nobody waited for\n"
		 "1 producer x 5 items; --threads consumers in the if/while modes, 1 in the others",
	.threads = 2,
	.runs = 10,
	.iters = 5, /* items */
	.symptom = "a consumer popped an empty queue or waited forever",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.flags = flags,
	.nflags = (int)LAB_ARRAY_SIZE(flags),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
