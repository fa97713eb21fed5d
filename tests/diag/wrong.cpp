// SPDX-License-Identifier: MIT
// wrong.cpp - mistakes the compiler must report with weft.hpp (see wrong.c).
#include <weft/weft.hpp>

static weft::mutex m;
static weft::shared_mutex rw;
static weft::mpmc_queue<int *> *q;
static weft::object_pool<int> *pool;
static weft::latch *gate;
static weft::cancel_token request;

void unlock_not_held();
void unlock_not_held()
{
	m.unlock(); // expect clang: releasing mutex 'm' that was not held
}

void trylock_inverted();
void trylock_inverted()
{
	if (!m.try_lock()) {
		m.unlock(); // expect clang: releasing mutex 'm' that was not held
	}
} // expect clang: mutex 'm' is not held on every path

void shared_as_exclusive();
void shared_as_exclusive()
{
	rw.lock_shared();
	rw.unlock(); // expect clang: releasing .* 'rw' using exclusive access, expected shared access
}

void dropped(int *job);
void dropped(int *job)
{
	m.try_lock();                                       // expect gcc clang: nodiscard|unused-result|ignoring return value
	q->try_push(job);                                   // expect gcc clang: nodiscard|unused-result|ignoring return value
	pool->make(1);                                      // expect gcc clang: nodiscard|unused-result|ignoring return value
	weft_mutex_trylock(m.native_handle());              // expect gcc clang: nodiscard|unused-result|ignoring return value
	gate->wait_ctx(request);                            // expect gcc clang: nodiscard|unused-result|ignoring return value
	m.lock_ctx(request);                                // expect gcc clang: nodiscard|unused-result|ignoring return value
	q->pop_ctx(job, std::chrono::seconds(1), request);  // expect gcc clang: nodiscard|unused-result|ignoring return value
	weft::mpmc_select({q->pop_case(job)}, request);     // expect gcc clang: nodiscard|unused-result|ignoring return value
}
