// SPDX-License-Identifier: MIT
//
// mpmc_cxx.cc - the C++ peers of family `mpmc` (workloads in mpmcbench.h,
// C peers in bench_mpmc.c).
//
// impl                        queue                                    how it waits
// moodycamel_nonlinearizable  moodycamel::ConcurrentQueue<void *>:     try_enqueue (no allocation past the
//                             NOT a linearizable FIFO (FIFO per        pre-allocated blocks) / try_dequeue +
//                             producer only; values of different       mq_relax; capacity only approximate
//                             producers come out in any order)         (blocks of 32): no c1 rows
// moodycamel_tokens           the same with one ProducerToken and one  enqueue(token) (allocates blocks as
//                             ConsumerToken per thread                 needed: not bounded) / try_dequeue(token):
//                             (its header: "create a token and use     the use its header recommends for
//                             that with the single-item methods")      single items ("ideally ... one token
//                                                                      per thread (of each kind)")
// boost                       boost::lockfree::queue<void *>           bounded_push / pop + mq_relax; the
//                             (Michael-Scott over a fixed node pool)   pool holds capacity + 1 nodes (a dummy)
// tbb_bounded                 oneTBB concurrent_bounded_queue<void *>  push / pop block (TBB's own waiting)
//                             with set_capacity()

#include <boost/lockfree/queue.hpp>
#include <concurrentqueue/concurrentqueue.h>
#include <new>
#include <tbb/concurrent_queue.h>

#include "mpmcbench.h"
#include "shim.h"

namespace {

// ---- moodycamel ----------------------------------------------------------

using mc_queue = moodycamel::ConcurrentQueue<void *>;

void *mc_create(size_t capacity)
{
	return new (std::nothrow) mc_queue(capacity);
}

// Never timed (teardown).  The destructor loops over the queue's producers
// calling their virtual destructors: flatten keeps that loop in this function,
// whose name tells bench/check_calls.py to skip it.
__attribute__((noinline, flatten)) void mc_destroy_unmeasured(void *q)
{
	delete static_cast<mc_queue *>(q);
}

MQ_ALWAYS_INLINE int mc_try_pop(void *q, void *, void **v)
{
	return static_cast<mc_queue *>(q)->try_dequeue(*v);
}

MQ_ALWAYS_INLINE void mc_push(void *q, void *, void *v)
{
	unsigned fails = 0;
	while (!static_cast<mc_queue *>(q)->try_enqueue(v))
		mq_relax(&fails);
}

MQ_ALWAYS_INLINE void *mc_pop(void *q, void *)
{
	void *v = nullptr;
	unsigned fails = 0;
	while (!static_cast<mc_queue *>(q)->try_dequeue(v))
		mq_relax(&fails);
	return v;
}

MQ_WRAPPERS(mc)

// ---- moodycamel with tokens -------------------------------------------------------

struct mct_tls {
	moodycamel::ProducerToken p;
	moodycamel::ConsumerToken c;
	explicit mct_tls(mc_queue &q) : p(q), c(q)
	{
	}
};

void *mct_thread_begin(void *q)
{
	return new mct_tls(*static_cast<mc_queue *>(q));
}

// Never timed (after the loop): flatten, as mc_destroy_unmeasured.
__attribute__((noinline, flatten)) void mct_thread_end_unmeasured(void *, void *tls)
{
	delete static_cast<mct_tls *>(tls);
}

MQ_ALWAYS_INLINE int mct_try_pop(void *q, void *tls, void **v)
{
	if (!tls) // the teardown's drain
		return static_cast<mc_queue *>(q)->try_dequeue(*v);
	return static_cast<mc_queue *>(q)->try_dequeue(static_cast<mct_tls *>(tls)->c, *v);
}

// enqueue(token, v), not try_enqueue: an explicit producer keeps the blocks
// it took from the shared pool, so with several producers try_enqueue can fail
// for ever once another producer holds every block (the pc row livelocked);
// enqueue allocates a block when it needs one, as the header's recommended use
// does.  So this row is not bounded by the capacity.
MQ_ALWAYS_INLINE void mct_push(void *q, void *tls, void *v)
{
	unsigned fails = 0;
	while (!static_cast<mc_queue *>(q)->enqueue(static_cast<mct_tls *>(tls)->p, v))
		mq_relax(&fails);
}

MQ_ALWAYS_INLINE void *mct_pop(void *q, void *tls)
{
	void *v = nullptr;
	unsigned fails = 0;
	while (!static_cast<mc_queue *>(q)->try_dequeue(static_cast<mct_tls *>(tls)->c, v))
		mq_relax(&fails);
	return v;
}

MQ_WRAPPERS(mct)

// ---- Boost.Lockfree ---------------------------------------------------------

using bl_queue = boost::lockfree::queue<void *>;

size_t bl_capacity(size_t wanted)
{
	return wanted + 1; // the dummy node takes one from the pool
}

void *bl_create(size_t capacity)
{
	return new (std::nothrow) bl_queue(capacity);
}

void bl_destroy(void *q)
{
	delete static_cast<bl_queue *>(q);
}

MQ_ALWAYS_INLINE int bl_try_pop(void *q, void *, void **v)
{
	return static_cast<bl_queue *>(q)->pop(*v);
}

MQ_ALWAYS_INLINE void bl_push(void *q, void *, void *v)
{
	unsigned fails = 0;
	while (!static_cast<bl_queue *>(q)->bounded_push(v))
		mq_relax(&fails);
}

MQ_ALWAYS_INLINE void *bl_pop(void *q, void *)
{
	void *v = nullptr;
	unsigned fails = 0;
	while (!static_cast<bl_queue *>(q)->pop(v))
		mq_relax(&fails);
	return v;
}

MQ_WRAPPERS(bl)

// ---- oneTBB --------------------------------------------------------------------

using tb_queue = tbb::concurrent_bounded_queue<void *>;

void *tb_create(size_t capacity)
{
	tb_queue *q = new (std::nothrow) tb_queue();
	if (q)
		q->set_capacity(static_cast<std::ptrdiff_t>(capacity));
	return q;
}

void tb_destroy(void *q)
{
	delete static_cast<tb_queue *>(q);
}

MQ_ALWAYS_INLINE int tb_try_pop(void *q, void *, void **v)
{
	return static_cast<tb_queue *>(q)->try_pop(*v);
}

MQ_ALWAYS_INLINE void tb_push(void *q, void *, void *v)
{
	static_cast<tb_queue *>(q)->push(v);
}

MQ_ALWAYS_INLINE void *tb_pop(void *q, void *)
{
	void *v = nullptr;
	static_cast<tb_queue *>(q)->pop(v);
	return v;
}

MQ_WRAPPERS(tb)

__attribute__((constructor)) void mpmc_cxx_register()
{
	static mq_impl impls[4];
	impls[0] = mq_impl{"moodycamel_nonlinearizable", MQ_PC | MQ_PINGPONG, mc_create, mc_destroy_unmeasured, nullptr,
			   nullptr, mc_drain, nullptr, mc_pair, mc_pc, mc_pingpong};
	impls[1] = mq_impl{"boost", MQ_BOUNDED | MQ_PC | MQ_PINGPONG, bl_create, bl_destroy, nullptr, nullptr,
			   bl_drain, bl_capacity, bl_pair, bl_pc, bl_pingpong};
	impls[2] = mq_impl{"tbb_bounded", MQ_BOUNDED | MQ_BLOCKING | MQ_PC | MQ_PINGPONG, tb_create, tb_destroy,
			   nullptr, nullptr, tb_drain, nullptr, tb_pair, tb_pc, tb_pingpong};
	// no pingpong rows: they use two queues with one per-thread context, and a
	// token belongs to one queue
	impls[3] = mq_impl{"moodycamel_tokens", MQ_PC, mc_create, mc_destroy_unmeasured, mct_thread_begin,
			   mct_thread_end_unmeasured, mct_drain, nullptr, mct_pair, mct_pc, mct_pingpong};
	for (const mq_impl &impl : impls)
		mq_register_impl(&impl);
}

} // namespace
