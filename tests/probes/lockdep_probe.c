/* SPDX-License-Identifier: MIT */
/*
 * lockdep_probe.c - every call of the lock-order-checked types, for `make
 * check-lockdep`: compiled without WEFT_DEBUG its object must reference no
 * weft__lockdep_ hook, with WEFT_DEBUG it must.  Never run.
 */
#include "weft/weft.h"
void probe_mutex(weft_mutex_t *m, const struct timespec *d);
void probe_rw(weft_rwlock_t *rw, const struct timespec *d);
void probe_br(weft_brlock_t *br, const struct timespec *d);
void probe_cond(weft_cond_t *c, weft_mutex_t *m, const struct timespec *d);
void probe_mutex(weft_mutex_t *m, const struct timespec *d)
{
	weft_mutex_lock(m); weft_mutex_unlock(m);
	if (weft_mutex_trylock(m)) weft_mutex_unlock(m);
	if (weft_mutex_timedlock(m, d) == 0) weft_mutex_unlock(m);
	weft_mutex_destroy(m);
}
void probe_rw(weft_rwlock_t *rw, const struct timespec *d)
{
	weft_rwlock_rdlock(rw); weft_rwlock_rdunlock(rw);
	weft_rwlock_wrlock(rw); weft_rwlock_wrunlock(rw);
	if (weft_rwlock_tryrdlock(rw)) weft_rwlock_rdunlock(rw);
	if (weft_rwlock_trywrlock(rw)) weft_rwlock_wrunlock(rw);
	if (weft_rwlock_timedrdlock(rw, d) == 0) weft_rwlock_rdunlock(rw);
	if (weft_rwlock_timedwrlock(rw, d) == 0) weft_rwlock_wrunlock(rw);
	weft_rwlock_destroy(rw);
}
void probe_br(weft_brlock_t *br, const struct timespec *d)
{
	weft_brlock_rdlock(br); weft_brlock_rdunlock(br);
	weft_brlock_wrlock(br); weft_brlock_wrunlock(br);
	if (weft_brlock_tryrdlock(br)) weft_brlock_rdunlock(br);
	if (weft_brlock_trywrlock(br)) weft_brlock_wrunlock(br);
	if (weft_brlock_timedrdlock(br, d) == 0) weft_brlock_rdunlock(br);
	if (weft_brlock_timedwrlock(br, d) == 0) weft_brlock_wrunlock(br);
	weft_brlock_destroy(br);
}
void probe_cond(weft_cond_t *c, weft_mutex_t *m, const struct timespec *d)
{
	weft_mutex_lock(m); weft_cond_wait(c, m); (void)!weft_cond_timedwait(c, m, d); weft_mutex_unlock(m);
}
