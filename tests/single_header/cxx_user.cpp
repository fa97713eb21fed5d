// SPDX-License-Identifier: MIT
// A C++ file using the single header's declarations and inline fast paths,
// linked with impl.c: what the #error in impl_in_cxx.cpp tells users to do.
#include "weft.h"

#include <cstdio>
#include <thread>

static weft_mutex_t mutex = WEFT_MUTEX_INIT;
static weft_cond_t cond = WEFT_COND_INIT;
static int ready;

int main()
{
	std::thread setter([] {
		weft_mutex_lock(&mutex);
		ready = 1;
		weft_cond_signal(&cond);
		weft_mutex_unlock(&mutex);
	});
	weft_mutex_lock(&mutex);
	while (!ready)
		weft_cond_wait(&cond, &mutex);
	weft_mutex_unlock(&mutex);
	setter.join();
	std::puts("cxx_user: ok");
	return 0;
}
