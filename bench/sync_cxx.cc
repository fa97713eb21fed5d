// SPDX-License-Identifier: MIT
//
// sync_cxx.cc - the C++20 peers of family `barrier` (libstdc++), on the
// workloads of syncbench.h:
//   barrier/phase/std_barrier             std::barrier::arrive_and_wait, with a
//                                         completion function that counts phases
//                                         (the teardown checks the count)
//   barrier/latch_countdown/std_latch     std::latch count_down / wait; a used
//                                         latch is destroyed and constructed anew
// Compiled as C++20 (mk/bench_sync.mk); the rest of the bench is C++17.

#include <barrier>
#include <cstddef>
#include <latch>
#include <new>

#include "syncbench.h"

namespace {

// ---- std::barrier -------------------------------------------------------------

// Runs once per phase in one thread (std::barrier serializes it): counts phases.
struct count_phases {
	uint64_t *n;
	void operator()() noexcept { ++*n; }
};
using std_barrier = std::barrier<count_phases>;
static_assert(sizeof(std_barrier) <= SB_OBJ_BYTES, "std::barrier fits its slot");

void sb_std_barrier_init(void *b, unsigned n)
{
	// b is sb_shared.barrier: the completion counts into the same sb_shared
	auto *s = reinterpret_cast<sb_shared *>(static_cast<unsigned char *>(b) -
						offsetof(sb_shared, barrier));
	new (b) std_barrier(static_cast<std::ptrdiff_t>(n), count_phases{&s->completions});
}
void sb_std_barrier_destroy(void *b)
{
	static_cast<std_barrier *>(b)->~std_barrier();
}
int sb_std_barrier_wait(void *b)
{
	static_cast<std_barrier *>(b)->arrive_and_wait();
	return 0; // no serial thread: the completion counts the phase
}
void phase_std(wb_thread *t)
{
	sb_phase(t, sb_std_barrier_wait);
}

// ---- std::latch ------------------------------------------------------------------

static_assert(sizeof(std::latch) <= SB_OBJ_BYTES, "std::latch fits its slot");

void sb_std_latch_init(void *l, unsigned n)
{
	new (l) std::latch(static_cast<std::ptrdiff_t>(n));
}
void sb_std_latch_destroy(void *l)
{
	static_cast<std::latch *>(l)->~latch();
}
void sb_std_latch_reinit(void *l, unsigned n)
{
	sb_std_latch_destroy(l);
	sb_std_latch_init(l, n);
}
int sb_std_latch_count_down(void *l)
{
	static_cast<std::latch *>(l)->count_down(1);
	return 0;
}
void sb_std_latch_wait(void *l)
{
	static_cast<std::latch *>(l)->wait();
}
void latch_std(wb_thread *t)
{
	sb_latch_countdown(t, sb_std_latch_count_down, sb_std_latch_wait, sb_std_latch_reinit);
}

const sb_impl sb_std_barrier_impl = {sb_std_barrier_init, sb_std_barrier_destroy};
const sb_impl sb_std_latch_impl = {sb_std_latch_init, sb_std_latch_destroy};

void register_one(const char *name, wb_body_fn body, const sb_impl *impl, wb_setup_fn setup,
		  wb_teardown_fn teardown)
{
	wb_def def = {};
	def.name = name;
	def.body = body;
	def.threads = WB_T2 | WB_T4 | WB_T8;
	def.flags = WB_CPU;
	def.arg = impl;
	def.setup = setup;
	def.teardown = teardown;
	wb_register_def(&def);
}

__attribute__((constructor)) void register_sync_cxx()
{
	register_one("barrier/phase/std_barrier", phase_std, &sb_std_barrier_impl, sb_barrier_setup,
		     sb_barrier_teardown);
	register_one("barrier/latch_countdown/std_latch", latch_std, &sb_std_latch_impl,
		     sb_latch_setup, sb_latch_teardown);
}

} // namespace
