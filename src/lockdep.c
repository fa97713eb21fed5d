/* SPDX-License-Identifier: MIT */
/*
 * lockdep.c - lock-order checking for WEFT_DEBUG builds (docs/lockorder.md).
 *
 * A deadlock between threads that block on locks needs a cycle of "holds A,
 * waits for B" relations.  Such a cycle is only possible if the program, at
 * some time, took B while holding A and, at some other time (in any thread),
 * took A while holding B (or the longer chain A..B..C..A).  So we record every
 * such order as an edge A -> B of a directed graph over lock addresses, and a
 * new edge that closes a cycle is a potential deadlock, reported even though
 * this run did not deadlock.  This is the "lock order graph" of the Goodlock
 * family of checkers (K. Havelund, "Using Runtime Analysis to Guide Model
 * Checking of Java Programs", SPIN 2000; S. Bensalem, K. Havelund, "Dynamic
 * Deadlock Analysis of Multi-Threaded Programs", 2005), of ThreadSanitizer's
 * deadlock detector (detect_deadlocks=1) and of the Linux kernel's lockdep
 * (I. Molnar, A. van de Ven, 2006; Documentation/locking/lockdep-design).
 * Unlike lockdep we key by lock address, not by lock class: simpler, but two
 * instances of "the same kind" of lock are two nodes.
 *
 * The pieces:
 *  - per thread (thread-local, no synchronization): the stack of locks it
 *    holds, each with the return address of the call that took it;
 *  - per process: the nodes (locks that appear in some edge) and the edges,
 *    each with the sites and the thread that first took the pair and a short
 *    stack trace, in two hash tables, guarded by weft__lockdep_mu, a plain
 *    pthread mutex that is not itself checked;
 *  - on a blocking acquisition of B: for every held lock H, look up H -> B;
 *    a new edge is added and a depth-first search from B for H tells whether
 *    it closed a cycle; if so, the cycle is printed once (the edge is then in
 *    the graph, so the same pair never reports again).
 *
 * What adds edges: lock, rdlock, wrlock (blocking); timed locks too, unless
 * the deadline is malformed or already past, because a timed lock in a cycle
 * stalls every party of it until their deadlines (and a timeout is rarely
 * handled as "release everything and retry"); weft_cond_wait()'s re-taking
 * of its mutex, from every other lock the waiter holds.  What adds none:
 * trylock (it never waits, so it can close no wait cycle), but a lock taken
 * by trylock is held, and later blocking acquisitions order after it.
 * Readers count as writers: weft_rwlock_t and weft_brlock_t prefer writers,
 * so a reader waits behind a waiting writer, and a read-read inversion
 * deadlocks as soon as writers wait on both locks.
 *
 * Bounds: at most WEFT__LOCKDEP_MAX_LOCKS nodes and WEFT__LOCKDEP_MAX_EDGES
 * edges (about 2 MiB, allocated on the first edge; pages are touched only as
 * they fill); a thread tracks at most WEFT__LOCKDEP_MAX_HELD held locks.
 * Past a bound the checker says so once and stops adding: it may then miss a
 * cycle, but never reports a false one.  Destroy removes a lock's node and
 * edges (its address may be reused by an unrelated lock).
 *
 * Report: stderr, once per new cycle.  WEFT_LOCKDEP=abort aborts after the
 * report; WEFT_LOCKDEP=off disables the checker.  Each process keeps its own
 * graph (process-shared locks are checked per process, by address).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr(), Dl_info, syscall() */
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__)
#include <execinfo.h>
#define WEFT__LOCKDEP_HAVE_BACKTRACE 1
#else
#define WEFT__LOCKDEP_HAVE_BACKTRACE 0
#endif

#include "weft/atomic.h"
#include "weft/config.h"
#include "weft/deadline.h"
#include "weft/debug.h"

#define WEFT__LOCKDEP_MAX_LOCKS 4096
#define WEFT__LOCKDEP_MAX_EDGES 16384
#define WEFT__LOCKDEP_MAX_HELD 32
#define WEFT__LOCKDEP_FRAMES 6 /* stack frames kept per edge */
#define WEFT__LOCKDEP_NODE_BUCKETS (2 * WEFT__LOCKDEP_MAX_LOCKS)
#define WEFT__LOCKDEP_EDGE_BUCKETS (2 * WEFT__LOCKDEP_MAX_EDGES)
#define WEFT__LOCKDEP_NONE (-1)

/* A lock that appears in at least one edge.  Lists are of edge indices. */
struct weft__lockdep_node {
	const void *addr;  /* the lock; NULL while free */
	unsigned kind;     /* WEFT__LOCKDEP_* of its first use (names the type) */
	int32_t hash_next; /* next node in its bucket, or next free node */
	int32_t out;       /* edges from this lock */
	int32_t in;        /* edges to this lock */
	uint32_t mark;     /* search epoch in which this node was reached */
	int32_t cursor;    /* search: next out-edge to try */
	int32_t parent;    /* search: the edge we reached this node by */
};

/* "held @from while taking @to", as first seen. */
struct weft__lockdep_edge {
	int32_t from, to;  /* node indices */
	int32_t hash_next; /* next edge in its bucket, or next free edge */
	int32_t next_out;  /* next edge of from's out list */
	int32_t next_in;   /* next edge of to's in list */
	uint32_t tid;      /* the thread that first took the pair */
	unsigned from_kind, to_kind;
	unsigned to_timed;     /* the acquisition of @to was a timed one */
	const void *from_site; /* where @from was taken */
	const void *to_site;   /* where @to was taken */
	void *frames[WEFT__LOCKDEP_FRAMES]; /* the stack at the acquisition of @to */
	int nframes;
};

/* Everything the process shares, allocated once. */
struct weft__lockdep_graph {
	struct weft__lockdep_node nodes[WEFT__LOCKDEP_MAX_LOCKS];
	struct weft__lockdep_edge edges[WEFT__LOCKDEP_MAX_EDGES];
	int32_t node_bucket[WEFT__LOCKDEP_NODE_BUCKETS];
	int32_t edge_bucket[WEFT__LOCKDEP_EDGE_BUCKETS];
	int32_t search_stack[WEFT__LOCKDEP_MAX_LOCKS];
	int32_t free_nodes, free_edges;
	uint32_t epoch;
	int full_warned;
};

struct weft__lockdep_held_lock {
	const void *lock;
	const void *site; /* return address of the call that took it */
	unsigned kind;
};

/* The calling thread's held locks, oldest first. */
struct weft__lockdep_thread {
	unsigned depth;
	int overflow_warned;
	struct weft__lockdep_held_lock held[WEFT__LOCKDEP_MAX_HELD];
};

static _Thread_local struct weft__lockdep_thread weft__lockdep_me;

static pthread_mutex_t weft__lockdep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t weft__lockdep_once = PTHREAD_ONCE_INIT;
static struct weft__lockdep_graph *weft__lockdep_g; /* NULL: not allocated (yet, or failed) */
static int weft__lockdep_mode;                      /* below; fixed by weft__lockdep_setup() */
static unsigned long weft__lockdep_nreports;        /* guarded by weft__lockdep_mu */

#define WEFT__LOCKDEP_WARN 0
#define WEFT__LOCKDEP_ABORT 1
#define WEFT__LOCKDEP_OFF 2

static const char *const weft__lockdep_type[] = {"weft_mutex_t", "weft_rwlock_t", "weft_rwlock_t",
						  "weft_brlock_t", "weft_brlock_t"};
static const char *const weft__lockdep_verb[] = {"lock", "wrlock", "rdlock", "wrlock", "rdlock"};

static const char *weft__lockdep_type_of(unsigned kind)
{
	return kind < sizeof(weft__lockdep_type) / sizeof(weft__lockdep_type[0]) ? weft__lockdep_type[kind] : "lock";
}

static const char *weft__lockdep_verb_of(unsigned kind)
{
	return kind < sizeof(weft__lockdep_verb) / sizeof(weft__lockdep_verb[0]) ? weft__lockdep_verb[kind] : "lock";
}

/* fork(): hold the graph's mutex across it, so that the child's copy of the
 * graph is consistent and its mutex is free. */
static void weft__lockdep_prefork(void)
{
	pthread_mutex_lock(&weft__lockdep_mu);
}

static void weft__lockdep_postfork(void)
{
	pthread_mutex_unlock(&weft__lockdep_mu);
}

/* The child's one thread is a new thread (weft_debug_self() changes, so it
 * cannot unlock what the parent's thread held): it holds nothing. */
static void weft__lockdep_postfork_child(void)
{
	weft__lockdep_me.depth = 0;
	pthread_mutex_unlock(&weft__lockdep_mu);
}

static void weft__lockdep_setup(void)
{
	const char *env = getenv("WEFT_LOCKDEP");
	if (env != NULL && strcmp(env, "abort") == 0)
		weft__lockdep_mode = WEFT__LOCKDEP_ABORT;
	else if (env != NULL && (strcmp(env, "off") == 0 || strcmp(env, "0") == 0))
		weft__lockdep_mode = WEFT__LOCKDEP_OFF;
	if (weft__lockdep_mode == WEFT__LOCKDEP_OFF)
		return;
	(void)pthread_atfork(weft__lockdep_prefork, weft__lockdep_postfork, weft__lockdep_postfork_child);
#if WEFT__LOCKDEP_HAVE_BACKTRACE
	/* The first backtrace() loads the unwinder (dlopen, malloc): do it now,
	 * not under weft__lockdep_mu in the middle of a lock call. */
	void *frame[1];
	(void)backtrace(frame, 1);
#endif
}

static int weft__lockdep_enabled(void)
{
	pthread_once(&weft__lockdep_once, weft__lockdep_setup);
	return weft__lockdep_mode != WEFT__LOCKDEP_OFF;
}

/* ---- the graph (all under weft__lockdep_mu) ----------------------------- */

static struct weft__lockdep_graph *weft__lockdep_graph(void)
{
	struct weft__lockdep_graph *g = weft__lockdep_g;
	if (g != NULL)
		return g;
	/* calloc: large enough to come from mmap, so untouched pages cost nothing */
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		fprintf(stderr, "weft lockdep: out of memory for the lock graph; lock-order checking is off\n");
		weft__lockdep_mode = WEFT__LOCKDEP_OFF;
		return NULL;
	}
	for (int32_t i = 0; i < WEFT__LOCKDEP_MAX_LOCKS; i++)
		g->nodes[i].hash_next = i + 1 < WEFT__LOCKDEP_MAX_LOCKS ? i + 1 : WEFT__LOCKDEP_NONE;
	for (int32_t i = 0; i < WEFT__LOCKDEP_MAX_EDGES; i++)
		g->edges[i].hash_next = i + 1 < WEFT__LOCKDEP_MAX_EDGES ? i + 1 : WEFT__LOCKDEP_NONE;
	for (int32_t i = 0; i < WEFT__LOCKDEP_NODE_BUCKETS; i++)
		g->node_bucket[i] = WEFT__LOCKDEP_NONE;
	for (int32_t i = 0; i < WEFT__LOCKDEP_EDGE_BUCKETS; i++)
		g->edge_bucket[i] = WEFT__LOCKDEP_NONE;
	g->free_nodes = 0;
	g->free_edges = 0;
	weft__lockdep_g = g;
	return g;
}

static uint32_t weft__lockdep_hash_ptr(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> 32);
}

static uint32_t weft__lockdep_hash_pair(int32_t from, int32_t to)
{
	uint64_t h = ((uint64_t)(uint32_t)from << 32 | (uint32_t)to) * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> 32);
}

static int32_t weft__lockdep_node_find(struct weft__lockdep_graph *g, const void *addr)
{
	int32_t n = g->node_bucket[weft__lockdep_hash_ptr(addr) % WEFT__LOCKDEP_NODE_BUCKETS];
	while (n != WEFT__LOCKDEP_NONE && g->nodes[n].addr != addr)
		n = g->nodes[n].hash_next;
	return n;
}

static void weft__lockdep_full(struct weft__lockdep_graph *g, const char *what)
{
	if (g->full_warned)
		return;
	g->full_warned = 1;
	fprintf(stderr,
		"weft lockdep: more than %d %s in the lock graph; new lock orders are no longer checked "
		"(docs/lockorder.md)\n",
		what[0] == 'l' ? WEFT__LOCKDEP_MAX_LOCKS : WEFT__LOCKDEP_MAX_EDGES, what);
}

/* The node of @addr, created if new.  Return: its index, or NONE when full. */
static int32_t weft__lockdep_node_get(struct weft__lockdep_graph *g, const void *addr, unsigned kind)
{
	int32_t n = weft__lockdep_node_find(g, addr);
	if (n != WEFT__LOCKDEP_NONE)
		return n;
	n = g->free_nodes;
	if (n == WEFT__LOCKDEP_NONE) {
		weft__lockdep_full(g, "locks");
		return n;
	}
	struct weft__lockdep_node *node = &g->nodes[n];
	g->free_nodes = node->hash_next;
	uint32_t b = weft__lockdep_hash_ptr(addr) % WEFT__LOCKDEP_NODE_BUCKETS;
	node->addr = addr;
	node->kind = kind;
	node->out = WEFT__LOCKDEP_NONE;
	node->in = WEFT__LOCKDEP_NONE;
	node->mark = 0;
	node->hash_next = g->node_bucket[b];
	g->node_bucket[b] = n;
	return n;
}

static int32_t weft__lockdep_edge_find(struct weft__lockdep_graph *g, int32_t from, int32_t to)
{
	int32_t e = g->edge_bucket[weft__lockdep_hash_pair(from, to) % WEFT__LOCKDEP_EDGE_BUCKETS];
	while (e != WEFT__LOCKDEP_NONE && !(g->edges[e].from == from && g->edges[e].to == to))
		e = g->edges[e].hash_next;
	return e;
}

/* The three lists an edge is on, each threaded through its own field. */
#define WEFT__LOCKDEP_LIST_HASH 0
#define WEFT__LOCKDEP_LIST_OUT 1
#define WEFT__LOCKDEP_LIST_IN 2

static int32_t *weft__lockdep_link(struct weft__lockdep_edge *edge, int list)
{
	return list == WEFT__LOCKDEP_LIST_HASH ? &edge->hash_next
	       : list == WEFT__LOCKDEP_LIST_OUT ? &edge->next_out
						: &edge->next_in;
}

/* Unlink edge @e from the list @list that starts at @head. */
static void weft__lockdep_unlink(struct weft__lockdep_graph *g, int32_t *head, int32_t e, int list)
{
	while (*head != e)
		head = weft__lockdep_link(&g->edges[*head], list);
	*head = *weft__lockdep_link(&g->edges[e], list);
}

static void weft__lockdep_edge_free(struct weft__lockdep_graph *g, int32_t e)
{
	struct weft__lockdep_edge *edge = &g->edges[e];
	uint32_t b = weft__lockdep_hash_pair(edge->from, edge->to) % WEFT__LOCKDEP_EDGE_BUCKETS;
	weft__lockdep_unlink(g, &g->edge_bucket[b], e, WEFT__LOCKDEP_LIST_HASH);
	weft__lockdep_unlink(g, &g->nodes[edge->from].out, e, WEFT__LOCKDEP_LIST_OUT);
	weft__lockdep_unlink(g, &g->nodes[edge->to].in, e, WEFT__LOCKDEP_LIST_IN);
	edge->hash_next = g->free_edges;
	g->free_edges = e;
}

/*
 * Whether @dst can be reached from @src along edges: an iterative depth-first
 * search that leaves, in each reached node's `parent`, the edge it was reached
 * by, so that the path can be read back from @dst.
 */
static int weft__lockdep_reaches(struct weft__lockdep_graph *g, int32_t src, int32_t dst)
{
	uint32_t epoch = ++g->epoch;
	if (epoch == 0) { /* wrapped: clear every mark once */
		for (int32_t i = 0; i < WEFT__LOCKDEP_MAX_LOCKS; i++)
			g->nodes[i].mark = 0;
		epoch = g->epoch = 1;
	}
	int32_t sp = 0;
	g->nodes[src].mark = epoch;
	g->nodes[src].parent = WEFT__LOCKDEP_NONE;
	g->nodes[src].cursor = g->nodes[src].out;
	g->search_stack[sp++] = src;
	if (src == dst)
		return 1;
	while (sp > 0) {
		struct weft__lockdep_node *n = &g->nodes[g->search_stack[sp - 1]];
		int32_t e = n->cursor;
		if (e == WEFT__LOCKDEP_NONE) {
			sp--;
			continue;
		}
		n->cursor = g->edges[e].next_out;
		int32_t m = g->edges[e].to;
		if (g->nodes[m].mark == epoch)
			continue;
		g->nodes[m].mark = epoch;
		g->nodes[m].parent = e;
		if (m == dst)
			return 1;
		g->nodes[m].cursor = g->nodes[m].out;
		g->search_stack[sp++] = m; /* each node is pushed once per epoch: fits */
	}
	return 0;
}

/* ---- the report ---------------------------------------------------------- */

/* One code address, as "symbol+0xoff (object+0xoff)" when dladdr() knows the
 * object, the object offset being what `addr2line -e object` takes for a
 * position-independent object.  @ip is a return address: we name ip - 1, the
 * call instruction, as debuggers do. */
static void weft__lockdep_print_site(const void *ip)
{
	Dl_info info;
	if (ip == NULL) {
		fprintf(stderr, "?");
		return;
	}
	const char *at = (const char *)ip - 1;
	if (dladdr(at, &info) != 0 && info.dli_fname != NULL) {
		const char *obj = strrchr(info.dli_fname, '/');
		obj = obj != NULL ? obj + 1 : info.dli_fname;
		if (info.dli_sname != NULL)
			fprintf(stderr, "%s+0x%lx ", info.dli_sname,
				(unsigned long)(at - (const char *)info.dli_saddr));
		fprintf(stderr, "(%s+0x%lx)", obj, (unsigned long)(at - (const char *)info.dli_fbase));
	} else {
		fprintf(stderr, "%p", ip);
	}
}

static void weft__lockdep_print_edge(struct weft__lockdep_graph *g, const struct weft__lockdep_edge *e,
				     const char *when)
{
	const struct weft__lockdep_node *from = &g->nodes[e->from], *to = &g->nodes[e->to];
	fprintf(stderr, "  %s %p -> %s %p (thread %u, %s):\n", weft__lockdep_type_of(from->kind), from->addr,
		weft__lockdep_type_of(to->kind), to->addr, (unsigned)e->tid, when);
	fprintf(stderr, "      holding %p (%s), taken at ", from->addr, weft__lockdep_verb_of(e->from_kind));
	weft__lockdep_print_site(e->from_site);
	fprintf(stderr, "\n      %s%s %p at ", e->to_timed ? "timed " : "", weft__lockdep_verb_of(e->to_kind), to->addr);
	weft__lockdep_print_site(e->to_site);
	fprintf(stderr, "\n");
	/* the stack from the lock call's caller on (frame 0 is to_site again) */
	for (int i = e->nframes > 0 && e->frames[0] == e->to_site; i < e->nframes; i++) {
		fprintf(stderr, "        called from ");
		weft__lockdep_print_site(e->frames[i]);
		fprintf(stderr, "\n");
	}
}

/* The new edge @e closed a cycle: @e, then the path the search found from
 * e->to back to e->from. */
static void weft__lockdep_report(struct weft__lockdep_graph *g, int32_t e)
{
	int32_t path[WEFT__LOCKDEP_MAX_LOCKS];
	int32_t len = 0;
	for (int32_t n = g->edges[e].from; g->nodes[n].parent != WEFT__LOCKDEP_NONE && n != g->edges[e].to;
	     n = g->edges[g->nodes[n].parent].from)
		path[len++] = g->nodes[n].parent;
	const struct weft__lockdep_edge *ne = &g->edges[e];
	const struct weft__lockdep_node *held = &g->nodes[ne->from], *taken = &g->nodes[ne->to];
	weft__lockdep_nreports++;
	fprintf(stderr, "weft lockdep: potential deadlock: thread %u takes %s %p while holding %s %p", (unsigned)ne->tid,
		weft__lockdep_type_of(taken->kind), taken->addr, weft__lockdep_type_of(held->kind), held->addr);
	if (ne->from == ne->to)
		fprintf(stderr, " (the same lock: it would wait for itself)\n");
	else
		fprintf(stderr, ",\n  and earlier orders lead from %p back to %p: a lock-order cycle of %d locks:\n",
			taken->addr, held->addr, (int)len + 1);
	weft__lockdep_print_edge(g, ne, "now");
	for (int32_t i = len - 1; i >= 0; i--)
		weft__lockdep_print_edge(g, &g->edges[path[i]], "earlier");
	if (weft__lockdep_mode == WEFT__LOCKDEP_ABORT) {
		fprintf(stderr, "weft lockdep: aborting (WEFT_LOCKDEP=abort)\n");
		fflush(stderr);
		abort();
	}
	fprintf(stderr, "weft lockdep: continuing (WEFT_LOCKDEP=abort aborts here); `addr2line -f -i -e OBJECT "
			"0xOFFSET` names a site (docs/lockorder.md)\n");
	fflush(stderr);
}

/* ---- the hooks ----------------------------------------------------------- */

/* Add the edge held -> @lock for every lock the thread holds; report any new
 * edge that closes a cycle.  @site: the return address into the caller. */
static void weft__lockdep_order(const void *lock, unsigned kind, unsigned timed, const void *site)
{
	struct weft__lockdep_thread *me = &weft__lockdep_me;
	if (me->depth == 0) /* nothing held (or the checker is off) */
		return;
	pthread_mutex_lock(&weft__lockdep_mu);
	struct weft__lockdep_graph *g = weft__lockdep_graph();
	int32_t to = g != NULL ? weft__lockdep_node_get(g, lock, kind) : WEFT__LOCKDEP_NONE;
	for (unsigned i = 0; to != WEFT__LOCKDEP_NONE && i < me->depth; i++) {
		const struct weft__lockdep_held_lock *h = &me->held[i];
		int32_t from = weft__lockdep_node_get(g, h->lock, h->kind);
		if (from == WEFT__LOCKDEP_NONE)
			break;
		if (weft__lockdep_edge_find(g, from, to) != WEFT__LOCKDEP_NONE)
			continue;
		int32_t e = g->free_edges;
		if (e == WEFT__LOCKDEP_NONE) {
			weft__lockdep_full(g, "orders");
			break;
		}
		struct weft__lockdep_edge *edge = &g->edges[e];
		g->free_edges = edge->hash_next;
		uint32_t b = weft__lockdep_hash_pair(from, to) % WEFT__LOCKDEP_EDGE_BUCKETS;
		edge->from = from;
		edge->to = to;
		edge->hash_next = g->edge_bucket[b];
		g->edge_bucket[b] = e;
		edge->next_out = g->nodes[from].out;
		g->nodes[from].out = e;
		edge->next_in = g->nodes[to].in;
		g->nodes[to].in = e;
		edge->tid = weft_debug_self();
		edge->from_kind = h->kind;
		edge->to_kind = kind;
		edge->to_timed = timed;
		edge->from_site = h->site;
		edge->to_site = site;
		edge->nframes = 0;
#if WEFT__LOCKDEP_HAVE_BACKTRACE
		{
			/* Keep the frames from the caller of the lock call on:
			 * skip ours up to the one that returns to @site. */
			void *frames[WEFT__LOCKDEP_FRAMES + 8];
			int n = backtrace(frames, WEFT__LOCKDEP_FRAMES + 8), first = 0;
			while (first < n && frames[first] != site)
				first++;
			if (first == n)
				first = 0;
			for (int k = first; k < n && edge->nframes < WEFT__LOCKDEP_FRAMES; k++)
				edge->frames[edge->nframes++] = frames[k];
		}
#endif
		/* The new edge from -> to closes a cycle iff from is reachable
		 * from to (it is, trivially, when they are the same lock). */
		if (weft__lockdep_reaches(g, to, from))
			weft__lockdep_report(g, e);
	}
	pthread_mutex_unlock(&weft__lockdep_mu);
}

static void weft__lockdep_push(const void *lock, unsigned kind, const void *site)
{
	struct weft__lockdep_thread *me = &weft__lockdep_me;
	if (!weft__lockdep_enabled())
		return;
	if (me->depth == WEFT__LOCKDEP_MAX_HELD) {
		if (!me->overflow_warned) {
			me->overflow_warned = 1;
			fprintf(stderr,
				"weft lockdep: thread %u holds more than %d locks; the others are not checked "
				"(docs/lockorder.md)\n",
				(unsigned)weft_debug_self(), WEFT__LOCKDEP_MAX_HELD);
		}
		return;
	}
	me->held[me->depth].lock = lock;
	me->held[me->depth].site = site;
	me->held[me->depth].kind = kind;
	me->depth++;
}

WEFT_NOINLINE void weft__lockdep_lock(const void *lock, unsigned kind)
{
	const void *site = __builtin_return_address(0);
	weft__lockdep_order(lock, kind, 0, site);
	weft__lockdep_push(lock, kind, site);
}

WEFT_NOINLINE void weft__lockdep_timed(const void *lock, unsigned kind, const struct timespec *deadline)
{
	/* A malformed deadline returns WEFT_EINVAL and a past one never waits:
	 * neither can be part of a wait cycle. */
	if (weft_deadline_valid(deadline) && !weft_deadline_passed(deadline))
		weft__lockdep_order(lock, kind, 1, __builtin_return_address(0));
}

WEFT_NOINLINE void weft__lockdep_check(const void *lock, unsigned kind)
{
	weft__lockdep_order(lock, kind, 0, __builtin_return_address(0));
}

WEFT_NOINLINE void weft__lockdep_held(const void *lock, unsigned kind)
{
	weft__lockdep_push(lock, kind, __builtin_return_address(0));
}

void weft__lockdep_unlock(const void *lock)
{
	/* The most recent hold of @lock (a reader may hold a lock more than once
	 * through trylock); a lock we do not know (taken past the bound, or by
	 * code built without WEFT_DEBUG) is ignored. */
	struct weft__lockdep_thread *me = &weft__lockdep_me;
	for (unsigned i = me->depth; i-- > 0;) {
		if (me->held[i].lock == lock) {
			memmove(&me->held[i], &me->held[i + 1], (me->depth - i - 1) * sizeof(me->held[0]));
			me->depth--;
			return;
		}
	}
}

void weft__lockdep_forget(const void *lock)
{
	if (!weft__lockdep_enabled())
		return;
	pthread_mutex_lock(&weft__lockdep_mu);
	struct weft__lockdep_graph *g = weft__lockdep_g;
	int32_t n = g != NULL ? weft__lockdep_node_find(g, lock) : WEFT__LOCKDEP_NONE;
	if (n != WEFT__LOCKDEP_NONE) {
		struct weft__lockdep_node *node = &g->nodes[n];
		while (node->out != WEFT__LOCKDEP_NONE)
			weft__lockdep_edge_free(g, node->out);
		while (node->in != WEFT__LOCKDEP_NONE)
			weft__lockdep_edge_free(g, node->in);
		int32_t *head = &g->node_bucket[weft__lockdep_hash_ptr(lock) % WEFT__LOCKDEP_NODE_BUCKETS];
		while (*head != n)
			head = &g->nodes[*head].hash_next;
		*head = node->hash_next;
		node->addr = NULL;
		node->hash_next = g->free_nodes;
		g->free_nodes = n;
	}
	pthread_mutex_unlock(&weft__lockdep_mu);
}

unsigned long weft_lockdep_reports(void)
{
	pthread_mutex_lock(&weft__lockdep_mu);
	unsigned long n = weft__lockdep_nreports;
	pthread_mutex_unlock(&weft__lockdep_mu);
	return n;
}
