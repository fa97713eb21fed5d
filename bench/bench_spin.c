/* SPDX-License-Identifier: MIT */
/*
 * bench_spin.c - family "spin": weft's spinlocks against pthread_spin and
 * Concurrency Kit (the TBB spinlocks are in locks_cxx.cc), on the workloads of
 * lockbench.h, plus the `limit` row: the two atomic operations a spinlock
 * cannot avoid (an exchange to take it, a store to release it) on a plain word.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>

#include <ck_spinlock.h>

#include <weft/spinlock.h>

#include "lockbench.h"

/* ---- weft_spin ----------------------------------------------------------- */

static void spin_init(void *l)
{
	weft_spin_init((weft_spin_t *)l);
}
static void spin_lock(void *l, void *node)
{
	(void)node;
	weft_spin_lock((weft_spin_t *)l);
}
static void spin_unlock(void *l, void *node)
{
	(void)node;
	weft_spin_unlock((weft_spin_t *)l);
}
static void spin_uncontended(wb_thread *t)
{
	lb_uncontended(t, spin_lock, spin_unlock);
}
static void spin_contended(wb_thread *t)
{
	lb_contended(t, spin_lock, spin_unlock);
}
static void spin_handoff(wb_thread *t)
{
	lb_handoff(t, spin_lock, spin_unlock);
}

/* ---- weft_ticket ----------------------------------------------------------- */

static void ticket_init(void *l)
{
	weft_ticket_init((weft_ticket_t *)l);
}
static void ticket_lock(void *l, void *node)
{
	(void)node;
	weft_ticket_lock((weft_ticket_t *)l);
}
static void ticket_unlock(void *l, void *node)
{
	(void)node;
	weft_ticket_unlock((weft_ticket_t *)l);
}
static void ticket_uncontended(wb_thread *t)
{
	lb_uncontended(t, ticket_lock, ticket_unlock);
}
static void ticket_contended(wb_thread *t)
{
	lb_contended(t, ticket_lock, ticket_unlock);
}
static void ticket_handoff(wb_thread *t)
{
	lb_handoff(t, ticket_lock, ticket_unlock);
}

/* ---- weft_mcs ------------------------------------------------------------------ */

static void mcs_init(void *l)
{
	weft_mcs_init((weft_mcs_t *)l);
}
static void mcs_lock(void *l, void *node)
{
	weft_mcs_lock((weft_mcs_t *)l, (weft_mcs_node_t *)node);
}
static void mcs_unlock(void *l, void *node)
{
	weft_mcs_unlock((weft_mcs_t *)l, (weft_mcs_node_t *)node);
}
static void mcs_uncontended(wb_thread *t)
{
	lb_uncontended(t, mcs_lock, mcs_unlock);
}
static void mcs_contended(wb_thread *t)
{
	lb_contended(t, mcs_lock, mcs_unlock);
}
static void mcs_handoff(wb_thread *t)
{
	lb_handoff(t, mcs_lock, mcs_unlock);
}

/* ---- pthread_spin ------------------------------------------------------------- */

static void pspin_init(void *l)
{
	pthread_spin_init((pthread_spinlock_t *)l, PTHREAD_PROCESS_PRIVATE);
}
static void pspin_destroy(void *l)
{
	pthread_spin_destroy((pthread_spinlock_t *)l);
}
static void pspin_lock(void *l, void *node)
{
	(void)node;
	pthread_spin_lock((pthread_spinlock_t *)l);
}
static void pspin_unlock(void *l, void *node)
{
	(void)node;
	pthread_spin_unlock((pthread_spinlock_t *)l);
}
static void pspin_uncontended(wb_thread *t)
{
	lb_uncontended(t, pspin_lock, pspin_unlock);
}
static void pspin_contended(wb_thread *t)
{
	lb_contended(t, pspin_lock, pspin_unlock);
}
static void pspin_handoff(wb_thread *t)
{
	lb_handoff(t, pspin_lock, pspin_unlock);
}

/* ---- Concurrency Kit: fas, ticket, mcs -------------------------------------- */

static void ckfas_init(void *l)
{
	ck_spinlock_fas_init((ck_spinlock_fas_t *)l);
}
static void ckfas_lock(void *l, void *node)
{
	(void)node;
	ck_spinlock_fas_lock((ck_spinlock_fas_t *)l);
}
static void ckfas_unlock(void *l, void *node)
{
	(void)node;
	ck_spinlock_fas_unlock((ck_spinlock_fas_t *)l);
}
static void ckfas_uncontended(wb_thread *t)
{
	lb_uncontended(t, ckfas_lock, ckfas_unlock);
}
static void ckfas_contended(wb_thread *t)
{
	lb_contended(t, ckfas_lock, ckfas_unlock);
}
static void ckfas_handoff(wb_thread *t)
{
	lb_handoff(t, ckfas_lock, ckfas_unlock);
}

static void ckticket_init(void *l)
{
	ck_spinlock_ticket_init((ck_spinlock_ticket_t *)l);
}
static void ckticket_lock(void *l, void *node)
{
	(void)node;
	ck_spinlock_ticket_lock((ck_spinlock_ticket_t *)l);
}
static void ckticket_unlock(void *l, void *node)
{
	(void)node;
	ck_spinlock_ticket_unlock((ck_spinlock_ticket_t *)l);
}
static void ckticket_uncontended(wb_thread *t)
{
	lb_uncontended(t, ckticket_lock, ckticket_unlock);
}
static void ckticket_contended(wb_thread *t)
{
	lb_contended(t, ckticket_lock, ckticket_unlock);
}
static void ckticket_handoff(wb_thread *t)
{
	lb_handoff(t, ckticket_lock, ckticket_unlock);
}

static void ckmcs_init(void *l)
{
	ck_spinlock_mcs_init((ck_spinlock_mcs_t *)l);
}
static void ckmcs_lock(void *l, void *node)
{
	ck_spinlock_mcs_lock((ck_spinlock_mcs_t *)l, (ck_spinlock_mcs_context_t *)node);
}
static void ckmcs_unlock(void *l, void *node)
{
	ck_spinlock_mcs_unlock((ck_spinlock_mcs_t *)l, (ck_spinlock_mcs_context_t *)node);
}
static void ckmcs_uncontended(wb_thread *t)
{
	lb_uncontended(t, ckmcs_lock, ckmcs_unlock);
}
static void ckmcs_contended(wb_thread *t)
{
	lb_contended(t, ckmcs_lock, ckmcs_unlock);
}
static void ckmcs_handoff(wb_thread *t)
{
	lb_handoff(t, ckmcs_lock, ckmcs_unlock);
}

/* ---- limit: exchange to take, release store to free, nothing else --------- */

static void limit_init(void *l)
{
	*(uint32_t *)l = 0;
}
static void limit_lock(void *l, void *node)
{
	(void)node;
	/* acquire: what a lock must at least do; the result is ignored (one thread) */
	(void)__atomic_exchange_n((uint32_t *)l, 1u, __ATOMIC_ACQUIRE);
}
static void limit_unlock(void *l, void *node)
{
	(void)node;
	/* release: publishes the (empty) critical section */
	__atomic_store_n((uint32_t *)l, 0u, __ATOMIC_RELEASE);
}
static void limit_uncontended(wb_thread *t)
{
	lb_uncontended(t, limit_lock, limit_unlock);
}

static const struct lb_impl spin_impls[] = {
	{"spin", "weft_spin", spin_init, NULL, NULL, NULL, spin_uncontended, spin_contended, spin_handoff},
	{"spin", "weft_ticket", ticket_init, NULL, NULL, NULL, ticket_uncontended, ticket_contended,
	 ticket_handoff},
	{"spin", "weft_mcs", mcs_init, NULL, NULL, NULL, mcs_uncontended, mcs_contended, mcs_handoff},
	{"spin", "pthread_spin", pspin_init, pspin_destroy, NULL, NULL, pspin_uncontended, pspin_contended,
	 pspin_handoff},
	{"spin", "ck_fas", ckfas_init, NULL, NULL, NULL, ckfas_uncontended, ckfas_contended, ckfas_handoff},
	{"spin", "ck_ticket", ckticket_init, NULL, NULL, NULL, ckticket_uncontended, ckticket_contended,
	 ckticket_handoff},
	{"spin", "ck_mcs", ckmcs_init, NULL, NULL, NULL, ckmcs_uncontended, ckmcs_contended, ckmcs_handoff},
	{"spin", "limit", limit_init, NULL, NULL, NULL, limit_uncontended, NULL, NULL},
};

__attribute__((constructor)) static void register_spin(void)
{
	for (size_t i = 0; i < sizeof spin_impls / sizeof spin_impls[0]; i++)
		lb_register_impl(&spin_impls[i]);
}
