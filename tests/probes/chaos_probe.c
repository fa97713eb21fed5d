/* SPDX-License-Identifier: MIT */
/*
 * chaos_probe.c - inline fast paths with chaos points, for `make
 * check-chaos-free`: compiled without WEFT_CHAOS its object must reference no
 * weft__chaos_point, with WEFT_CHAOS it must.  Never run.
 */
#include "weft/weft.h"
void probe_locks(weft_mutex_t *m, weft_spin_t *s, weft_ticket_t *t, weft_mcs_t *mcs, weft_mcs_node_t *node);
void probe_others(weft_sem_t *sem, weft_mpmc_t *q, weft_rwlock_t *rw, weft_counter_t *c);
void probe_locks(weft_mutex_t *m, weft_spin_t *s, weft_ticket_t *t, weft_mcs_t *mcs, weft_mcs_node_t *node)
{
	weft_mutex_lock(m); weft_mutex_unlock(m);
	weft_spin_lock(s); weft_spin_unlock(s);
	if (weft_ticket_trylock(t)) weft_ticket_unlock(t);
	weft_mcs_lock(mcs, node); weft_mcs_unlock(mcs, node);
}
void probe_others(weft_sem_t *sem, weft_mpmc_t *q, weft_rwlock_t *rw, weft_counter_t *c)
{
	void *v = 0;
	(void)!weft_sem_post(sem); (void)!weft_sem_trywait(sem);
	if (weft_mpmc_try_push(q, v)) (void)!weft_mpmc_try_pop(q, &v);
	weft_rwlock_wrlock(rw); weft_rwlock_wrunlock(rw);
	(void)weft_counter_exchange(c, 1);
}
