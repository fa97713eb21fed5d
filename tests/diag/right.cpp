// SPDX-License-Identifier: MIT
// right.cpp - weft.hpp used right: no warning under -Wall -Wextra -Werror
// (clang: and -Wthread-safety).
#include <weft/weft.hpp>

#include <mutex>
#include <shared_mutex>

static weft::mutex m;
static weft::shared_mutex rw;
static int value WEFT_GUARDED_BY(m);

int guarded();
int guarded()
{
	m.lock();
	int v = ++value;
	m.unlock();
	if (m.try_lock()) {
		v = ++value;
		m.unlock();
	}
	return v;
}

void adapters();
void adapters()
{
	{
		std::scoped_lock lock(m);
	}
	{
		std::shared_lock<weft::shared_mutex> r(rw);
	}
	rw.lock_shared();
	rw.unlock_shared();
	if (m.try_lock_for(std::chrono::milliseconds(1)))
		m.unlock();
}

bool cancellable(weft::latch &gate, weft::cancel_token &request);
bool cancellable(weft::latch &gate, weft::cancel_token &request)
{
	weft::cancel_token child(&request);
	return gate.wait_ctx(std::chrono::seconds(1), child) == weft::op_status::success;
}

// a lock taken through a _ctx member, released by a std::unique_lock that
// adopts it (clang's analysis follows neither; docs/cxx.md)
bool locked_ctx(weft::cancel_token &request);
bool locked_ctx(weft::cancel_token &request)
{
	if (m.lock_ctx(std::chrono::seconds(2), request) != weft::op_status::success)
		return false;
	std::unique_lock<weft::mutex> held(m, std::adopt_lock);
	return true;
}
