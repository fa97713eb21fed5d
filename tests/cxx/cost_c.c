/* SPDX-License-Identifier: MIT */
/* cost_c.c - a lock/unlock loop in C; cost_cxx.cpp is the same loop over
 * weft::mutex through std::scoped_lock.  `make check-cxx-cost` compares
 * their object code (tests/cxx/cost.sh). */
#include <weft/mutex.h>

void weft_cost_loop_c(weft_mutex_t *m, long n, long *x);
void weft_cost_loop_c(weft_mutex_t *m, long n, long *x)
{
	for (long i = 0; i < n; i++) {
		weft_mutex_lock(m);
		(*x)++;
		weft_mutex_unlock(m);
	}
}
