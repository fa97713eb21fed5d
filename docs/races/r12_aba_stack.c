/* SPDX-License-Identifier: MIT */
/*
 * r12_aba_stack.c - R12: ABA on a naive lock-free stack.
 *
 * A Treiber stack (R. K. Treiber, "Systems Programming: Coping with
 * Parallelism", IBM RJ 5118, 1986) keeps free nodes in a linked list whose
 * head one compare-and-swap (CAS) updates.  Pop:
 *
 *     old  = head;               // A
 *     next = old->next;          // B
 *     CAS(&head, old, next);     // "if head is still A, make it B"
 *
 * The CAS checks that head is still A, not that nothing happened.  Between the
 * read of `next` and the CAS another thread may pop A, pop B, and push A back:
 * head is A again (the "ABA"), the CAS succeeds, and head becomes B -- a node
 * the other thread holds.  B is now both on the stack and in use: it will be
 * handed to a second owner, and pushing it back can link it to itself.  No
 * memory is freed here (the nodes are an array, named by index), so nothing
 * crashes: the stack is just silently wrong.
 *
 * The fix is the one weft_pool uses (include/weft/pool.h): head is one 64-bit
 * word holding the top's index in the low 32 bits and a tag in the high 32
 * bits that every successful CAS increments.  After pop A, pop B, push A the
 * head is (A, tag+3), not (A, tag), and the stale CAS fails.  (IBM System/370
 * Principles of Operation, appendix A, "Free-Pool Manipulation", did it with a
 * double-word CAS on pointer and counter.)
 *
 * Four workers (`--threads`: more than this machine's two cores, so that some
 * are preempted in the middle of a pop, as real ABAs happen) each pop two
 * nodes, mark each as their own (an atomic exchange on the node's owner:
 * finding another owner there is a double hand-out, caught in the act), write
 * their id into it, push the first back while still holding the second (the
 * push that completes an ABA), then push the second.  After the run the stack
 * is walked: every node must be on it exactly once.  Both modes also widen
 * the window between reading `next` and the CAS by `--window-ns` of spinning,
 * standing for a preemption at the worst moment.
 *
 * ThreadSanitizer: every stack field is an atomic, so the stack itself has no
 * data race to report; but a node handed to two owners is written by both
 * without any order between them, and TSan reports that write-write race on
 * the node's payload -- the symptom, where the ABA happened.
 */
#include "lab.h"

#include <weft/atomic.h>

#define MAX_NODES 4096
#define NIL 0xffffffffu

static long opt_nodes = 8, opt_window_ns = 1000;

struct node {
	uint32_t next;      /* index of the next node; atomic (relaxed, see pop) */
	uint32_t owner;     /* 0 free, else 1 + worker; atomic */
	long payload;       /* plain: written only by the node's owner */
};

static struct {
	uint64_t head;      /* tag << 32 | index of the top node; the tag stays 0 when naive */
	bool tagged;
	struct node nodes[MAX_NODES];
	long iters;
	long double_owned;  /* pops that found the node already owned */
	long overwritten;   /* payloads changed under their owner's feet */
	long empty;         /* pops that found the stack empty */
} st;

static uint32_t index_of(uint64_t head) { return (uint32_t)head; }

static uint64_t make_head(uint64_t old, uint32_t index)
{
	uint64_t tag = st.tagged ? (old >> 32) + 1 : 0; /* a new tag for every change */
	return (tag << 32) | index;
}

/* Node names for the forced schedule's printout: the top of the fresh stack
 * is A, the one below it B ... */
static char name(uint32_t i)
{
	return i == NIL ? '-' : (char)('A' + (opt_nodes - 1 - (long)i) % 26);
}

/* The stack as "head A(tag 0): A B C", for the schedule's printout. */
static void describe_stack(char *buf, size_t size)
{
	uint64_t head = weft_atomic_load(&st.head, WEFT_RELAXED); /* relaxed: printed under the lab's turn */
	int len = snprintf(buf, size, "tag %u: ", (unsigned)(head >> 32));
	uint32_t i = index_of(head);
	for (long k = 0; i != NIL && k < opt_nodes + 1 && len < (int)size - 3; k++) {
		len += snprintf(buf + len, size - (size_t)len, "%c ", name(i));
		i = weft_atomic_load(&st.nodes[i].next, WEFT_RELAXED);
	}
	if (i != NIL && len < (int)size - 4)
		snprintf(buf + len, size - (size_t)len, "...");
}

/* The step's text: with the node names under --schedule (one thread runs at a
 * time then), a fixed label otherwise and under --trace (whose events keep
 * the pointer). */
__attribute__((format(printf, 2, 3)))
static const char *step_text(const char *label, const char *fmt, ...)
{
	static __thread char buf[64];
	if (!lab_scheduled() || lab_tracing()) /* a trace keeps the pointer: a literal */
		return label;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

/* lab_step() / lab_ev(): the lab's gates (--schedule) and trace (--trace); a
 * test of one global each without those flags.  Steps: read, CAS. */
static void push(uint32_t i, int self)
{
	lab_step(self);
	/* relaxed: the CAS below publishes, and a failed CAS reloads */
	uint64_t old = weft_atomic_load(&st.head, WEFT_RELAXED);
	for (;;) {
		weft_atomic_store(&st.nodes[i].next, index_of(old), WEFT_RELAXED); /* published by the CAS */
		lab_ev(self, LAB_EV_LOAD, (long)index_of(old),
		       step_text("push: read head", "push %c: head is %c", name(i), name(index_of(old))));
		lab_step(self);
		/* release: publishes the node's next and payload; pairs with the acquire in pop() */
		if (weft_atomic_cas_weak(&st.head, &old, make_head(old, i), WEFT_RELEASE, WEFT_RELAXED))
			break;
		lab_ev(self, LAB_EV_NOTE, LAB_NOVAL, step_text("push: CAS failed", "push %c: CAS fails", name(i)));
		lab_step(self);
	}
	lab_ev(self, LAB_EV_STORE, (long)i, step_text("push: CAS", "push %c: CAS head := %c", name(i), name(i)));
}

static uint32_t pop(int self)
{
	uint64_t old = 0;
	for (bool first = true;; first = false) {
		lab_step(self);
		if (first) /* after a failed CAS, `old` is already the new head */
			/* acquire: the top node's next and payload, published by push()'s release CAS */
			old = weft_atomic_load(&st.head, WEFT_ACQUIRE);
		uint32_t top = index_of(old);
		if (top == NIL) {
			lab_ev(self, LAB_EV_NOTE, LAB_NOVAL, "pop: empty");
			return NIL;
		}
		/* relaxed: the acquire above ordered it; a stale value is what the CAS is for */
		uint32_t next = weft_atomic_load(&st.nodes[top].next, WEFT_RELAXED);
		lab_ev(self, LAB_EV_LOAD, (long)top,
		       step_text("pop: read head", "pop: head %c, next %c", name(top), name(next)));
		lab_spin_ns((uint64_t)opt_window_ns); /* the window: another thread may pop and push here */
		lab_step(self);
		/* acquire on success: we now own `top`, and read what its last owner wrote;
		 * acquire on failure: `old` is the new top, whose next we read next */
		if (weft_atomic_cas_weak(&st.head, &old, make_head(old, next), WEFT_ACQUIRE, WEFT_ACQUIRE)) {
			lab_ev(self, LAB_EV_STORE, (long)next,
			       step_text("pop: CAS", "pop %c: CAS head := %c", name(top), name(next)));
			return top;
		}
		lab_ev(self, LAB_EV_NOTE, LAB_NOVAL, step_text("pop: CAS failed", "pop %c: CAS fails", name(top)));
	}
}

static void take(uint32_t i, int self)
{
	lab_step(self);
	uint32_t was = weft_atomic_exchange(&st.nodes[i].owner, (uint32_t)self + 1, WEFT_RELAXED); /* relaxed: a detector */
	if (was != 0)
		__atomic_fetch_add(&st.double_owned, 1, __ATOMIC_RELAXED); /* relaxed: a count */
	st.nodes[i].payload = self; /* the new owner's work on the node */
	if (was != 0)
		lab_ev(self, LAB_EV_BAD, (long)i,
		       step_text("2nd owner", "takes %c: T%u has it!", name(i), (unsigned)was));
	else
		lab_ev(self, LAB_EV_NOTE, (long)i, step_text("takes", "takes %c", name(i)));
}

static void give_back(uint32_t i, int self)
{
	lab_step(self); /* under --schedule: the node stays ours until this turn */
	if (st.nodes[i].payload != self)
		__atomic_fetch_add(&st.overwritten, 1, __ATOMIC_RELAXED); /* relaxed: a count */
	uint32_t mine = (uint32_t)self + 1;
	weft_atomic_cas(&st.nodes[i].owner, &mine, 0u, WEFT_RELAXED, WEFT_RELAXED); /* relaxed: a detector */
	push(i, self);
}

static void worker(void *ctx, int self)
{
	(void)ctx;
	for (long k = 0; k < st.iters; k++) {
		uint32_t a = pop(self);
		if (a == NIL) {
			__atomic_fetch_add(&st.empty, 1, __ATOMIC_RELAXED);
			continue;
		}
		take(a, self);
		uint32_t b = pop(self);
		if (b != NIL)
			take(b, self);
		give_back(a, self); /* push A back while holding B: this completes an ABA */
		if (b != NIL) {
			lab_spin_ns((uint64_t)opt_window_ns); /* still working on B */
			give_back(b, self);
		}
	}
}

/* Walks the stack: how many distinct nodes, and where it first loops or repeats. */
static void audit(long *on_stack, long *repeats)
{
	static unsigned char seen[MAX_NODES];
	memset(seen, 0, sizeof(seen));
	*on_stack = *repeats = 0;
	uint32_t i = index_of(st.head);
	for (long steps = 0; i != NIL && steps <= opt_nodes; steps++) {
		if (seen[i]++) {
			(*repeats)++; /* a node met twice: the list loops */
			break;
		}
		(*on_stack)++;
		i = st.nodes[i].next;
	}
}

static const struct lab_mode modes[] = {
	{ "naive", LAB_RACY, LAB_TSAN_REPORTS, "head is the top node's index: CAS cannot tell A from A-again" },
	{ "tagged", LAB_FIXED, LAB_TSAN_SILENT, "head is tag << 32 | index, the tag bumped by every CAS (as weft_pool does)" },
};

static void run(const struct lab_mode *mode, const struct lab_opts *opts, struct lab_result *res)
{
	st.tagged = mode == &modes[1];
	st.iters = opts->iters;
	st.double_owned = st.overwritten = st.empty = 0;
	st.head = NIL; /* tag 0, empty */
	for (uint32_t i = 0; i < (uint32_t)opt_nodes; i++) {
		st.nodes[i].owner = 0;
		push(i, -1); /* -1: the setup, not a worker: no gate, no trace */
	}
	lab_shared_value((long)index_of(st.head));
	lab_shared_describe = describe_stack;
	uint64_t elapsed = lab_run_threads(opts->threads, worker, NULL);

	long on_stack, repeats;
	audit(&on_stack, &repeats);
	res->wrong = st.double_owned || st.overwritten || on_stack != opt_nodes || repeats;
	if (res->wrong)
		lab_result_say(res, "%ld nodes, %ld left on the stack%s; %ld double hand-outs, %ld payloads overwritten",
			       opt_nodes, on_stack, repeats ? ", which loops" : "", st.double_owned, st.overwritten);
	else
		lab_result_say(res, "%ld nodes, all %ld back on the stack once, no double hand-out: correct", opt_nodes,
			       on_stack);
	/* one op = one pop and its push */
	lab_set_cost(res, elapsed, 2.0 * (double)opts->threads * (double)opts->iters);
}

static const struct lab_flag flags[] = {
	{ "nodes", "nodes on the stack", &opt_nodes, 2, MAX_NODES },
	{ "window-ns", "spin between reading next and the CAS (0: none)", &opt_window_ns, 0, 1000000000 },
};

/* Three nodes A B C; each worker: pop, take, pop, take, push, push (10 steps
 * when no CAS fails).  T1 reads head A, next B, and stops; T2 pops A, pops B,
 * pushes A back (8 steps); T1's CAS still sees A: head := B, which T2 holds;
 * T1 pops B and takes it -- two owners. */
static const struct lab_schedule schedules[] = {
	{ "naive", true, "T1,T2*8,T1*5" },
	{ "naive", false, "T1*10,T2*10" },
	{ "tagged", false, "T1,T2*8,T1*5" },
};

static const struct lab_prog prog = {
	.name = "r12_aba_stack",
	.title = "R12 ABA on a lock-free (Treiber) stack: a stale CAS succeeds because head is A again",
	.threads = 4,   /* more threads than this machine's 2 cores: some are preempted mid-pop */
	.runs = 10,
	.iters = 2500,
	.tsan_iters = 2500,
	.symptom = "the ABA happened (a node handed out twice)",
	.modes = modes,
	.nmodes = (int)LAB_ARRAY_SIZE(modes),
	.run = run,
	.schedules = schedules, .nschedules = (int)LAB_ARRAY_SIZE(schedules),
	.flags = flags,
	.nflags = (int)LAB_ARRAY_SIZE(flags),
};

int main(int argc, char **argv)
{
	return lab_main(&prog, argc, argv);
}
