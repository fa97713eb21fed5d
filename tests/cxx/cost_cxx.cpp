// SPDX-License-Identifier: MIT
// cost_cxx.cpp - cost_c.c's loop over weft::mutex through std::scoped_lock.
#include <weft/weft.hpp>

extern "C" void weft_cost_loop_cxx(weft::mutex *m, long n, long *x);
extern "C" void weft_cost_loop_cxx(weft::mutex *m, long n, long *x)
{
	for (long i = 0; i < n; i++) {
		std::scoped_lock lock(*m);
		(*x)++;
	}
}
