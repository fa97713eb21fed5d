/* SPDX-License-Identifier: MIT */
/*
 * r14_plain_flag.c - R14: message passing with a plain flag.
 *
 * The writer fills a message and then raises a flag; the reader waits for the
 * flag and then reads the message:
 *
 *     writer:  msg = ...;  ready = 1;        reader:  while (!ready) ;  use(msg);
 *
 * With `ready` a plain (or volatile) int this is a data race, and C11 gives it
 * no meaning.  Concretely, nothing stops the reader from seeing `ready == 1`
 * and an old `msg`: the compiler may reorder the plain stores (volatile orders
 * volatile accesses only among themselves), and so may the CPU -- an ARM or
 * POWER core can make the flag store visible before the message stores, or
 * satisfy the message loads before the flag load.  The fix is to make the flag
 * say what it publishes: a release store of the flag ("everything I wrote
 * before is visible to whoever sees this") and an acquire load ("and I see
 * it") (weft's atomic.h; C11 memory_order_release / memory_order_acquire).
 *
 * On x86-64 this demo will almost certainly *not* show a stale message: x86
 * keeps stores in program order and loads in program order (its TSO memory
 * model), and the compiler did not happen to move these accesses (it may, in
 * another build: nothing forbids it).  The hardware hides the
 * bug -- until the code is compiled differently or runs on an ARM server or
 * phone.  (qemu-user does not help: it runs aarch64 code with the host's
 * ordering.)  So here the evidence is ThreadSanitizer's report, which reasons
 * about the happens-before order the program establishes, not about what one
 * CPU happened to do.  And the cost: on x86 a release store and an acquire
 * load compile to the same plain `mov` instructions as the racy version.
 *
 * Each run passes `--iters` messages, one at a time: the writer writes a
 * four-word message and raises `ready`; the reader waits for it, checks every
 * word, and answers with `ack` (the same kind of flag) so that the writer does
 * not overwrite a message being read.
 *
 * Modes:
 *   plain            `volatile int` flags, plain message words
 *   release-acquire  flags stored with release and loaded with acquire
 */
#include "lab.h"

#include <weft/atomic.h>

#define WORDS 4

static struct {
	bool ordered;
	long msg[WORDS];         /* plain: the data published by `ready` */
	int ready, ack;          /* the round number last published / last read */
	long iters;
	long stale;              /* messages read with a word from an older round */
} box;

static int load_flag(int *flag)
{
	if (box.ordered)
		return weft_atomic_load(flag, WEFT_ACQUIRE); /* acquire: pairs with store_flag()'s release; see msg */
	return *(volatile int *)flag;                       /* the bug: orders nothing */
}

static void store_flag(int *flag, int value)
{
	if (box.ordered)
		weft_atomic_store(flag, value, WEFT_RELEASE); /* release: publishes msg; pairs with load_flag() */
	else
		*(volatile int *)flag = value;                /* the bug: publishes nothing */
}

static void wait_flag(int *flag, int value)
{
	for (unsigned spins = 0; load_flag(flag) != value; spins++) {
		if (spins % 1024 == 1023)
			sched_yield(); /* the other thread may share our CPU on a loaded machine */
		weft_cpu_relax();
	}
}

static void writer(void)
{
	for (int r = 1; r <= box.iters; r++) {
		wait_flag(&box.ack, r - 1); /* the reader is done with the previous message */
		for (int w = 0; w < WORDS; w++)
			box.msg[w] = (long)r * WORDS + w;
		store_flag(&box.ready, r);
	}
}

static void reader(void)
{
	for (int r = 1; r <= box.iters; r++) {
		wait_flag(&box.ready, r);
		bool fresh = true;
		for (int w = 0; w < WORDS; w++)
			fresh &= box.msg[w] == (long)r * WORDS + w;
		box.stale += !fresh;
		store_flag(&box.ack, r);
	}
}

static void writer_or_reader(void *ctx, int index)
{
	(void)ctx;
	if (index == 0)
		writer();
	else
		reader();
}

static const struct lab_mode modes[] = {
	{ "plain", LAB_OTHER, LAB_TSAN_REPORTS, "volatile int flags, plain message (x86 hides the race: TSan shows it)" },
	{ "release-acquire", LAB_FIXED, LAB_TSAN_SILENT, "the flag stored with release, loaded with acquire" },
};

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	box.ordered = mode == &modes[1];
	box.iters = opts->iters;
	box.ready = box.ack = 0;
	box.stale = 0;
	uint64_t elapsed = lab_run_threads(2, writer_or_reader, NULL);

	res->wrong = box.stale != 0;
#if defined(__x86_64__) || defined(__i386__)
	const char *why = box.ordered ? "" : " (x86 keeps stores and loads in order: the hardware hid the race)";
#else
	const char *why = "";
#endif
	lab_result_say(res, "%ld messages, %ld read stale%s", box.iters, box.stale, box.stale ? "" : why);
	lab_set_cost(res, elapsed, (double)box.iters); /* one message: write, flag, read, ack */
}

static const struct lab_prog prog = {
	.name = "r14_plain_flag",
	.title = "R14 message passing with a plain flag: the reader sees the flag, is the message there?",
	.threads = 2,
	.runs = 10,
	.iters = 20000,
	.tsan_iters = 2000,
	.symptom = "a stale message was read",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
