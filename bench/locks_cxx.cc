// SPDX-License-Identifier: MIT
//
// locks_cxx.cc - the C++-only lock peers on the workloads of lockbench.h:
//   mutex/*/absl         absl::Mutex (Lock/Unlock)
//   spin/*/tbb_spin      tbb::spin_mutex (lock/unlock)
//   spin/*/tbb_queuing   tbb::queuing_mutex (a queue lock; its scoped_lock is
//                        the per-thread node)
// The bodies are the same always-inline C bodies, compiled as C++ here.

#include <new>

#include <absl/synchronization/mutex.h>
#include <oneapi/tbb/queuing_mutex.h>
#include <oneapi/tbb/spin_mutex.h>

#include "lockbench.h"

namespace {

// ---- absl::Mutex ------------------------------------------------------------

// As Abseil's authors set it up for speed: deadlock detection off
// (absl/synchronization/mutex.h: "When set to 'kIgnore', tracking of lock
// ordering is disabled"; Debian's build otherwise tracks it on every Lock).
__attribute__((constructor)) void absl_setup()
{
	absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

static_assert(sizeof(absl::Mutex) <= LB_LOCK_BYTES, "absl::Mutex fits the lock buffer");

void absl_init(void *l)
{
	new (l) absl::Mutex();
}
void absl_destroy(void *l)
{
	static_cast<absl::Mutex *>(l)->~Mutex();
}
void absl_lock(void *l, void *)
{
	static_cast<absl::Mutex *>(l)->Lock();
}
void absl_unlock(void *l, void *)
{
	static_cast<absl::Mutex *>(l)->Unlock();
}
void absl_uncontended(wb_thread *t)
{
	lb_uncontended(t, absl_lock, absl_unlock);
}
void absl_contended(wb_thread *t)
{
	lb_contended(t, absl_lock, absl_unlock);
}
void absl_handoff(wb_thread *t)
{
	lb_handoff(t, absl_lock, absl_unlock);
}

// ---- tbb::spin_mutex -----------------------------------------------------------

static_assert(sizeof(tbb::spin_mutex) <= LB_LOCK_BYTES, "tbb::spin_mutex fits the lock buffer");

void tbbspin_init(void *l)
{
	new (l) tbb::spin_mutex();
}
void tbbspin_destroy(void *l)
{
	static_cast<tbb::spin_mutex *>(l)->~spin_mutex();
}
void tbbspin_lock(void *l, void *)
{
	static_cast<tbb::spin_mutex *>(l)->lock();
}
void tbbspin_unlock(void *l, void *)
{
	static_cast<tbb::spin_mutex *>(l)->unlock();
}
void tbbspin_uncontended(wb_thread *t)
{
	lb_uncontended(t, tbbspin_lock, tbbspin_unlock);
}
void tbbspin_contended(wb_thread *t)
{
	lb_contended(t, tbbspin_lock, tbbspin_unlock);
}
void tbbspin_handoff(wb_thread *t)
{
	lb_handoff(t, tbbspin_lock, tbbspin_unlock);
}

// ---- tbb::queuing_mutex --------------------------------------------------------

using queuing_lock = tbb::queuing_mutex::scoped_lock;
static_assert(sizeof(tbb::queuing_mutex) <= LB_LOCK_BYTES, "tbb::queuing_mutex fits the lock buffer");
static_assert(sizeof(queuing_lock) <= LB_NODE_BYTES, "its scoped_lock fits the node buffer");

void tbbq_init(void *l)
{
	new (l) tbb::queuing_mutex();
}
void tbbq_destroy(void *l)
{
	static_cast<tbb::queuing_mutex *>(l)->~queuing_mutex();
}
void tbbq_node_init(void *node)
{
	new (node) queuing_lock();
}
void tbbq_node_fini(void *node)
{
	static_cast<queuing_lock *>(node)->~queuing_lock();
}
void tbbq_lock(void *l, void *node)
{
	static_cast<queuing_lock *>(node)->acquire(*static_cast<tbb::queuing_mutex *>(l));
}
void tbbq_unlock(void *, void *node)
{
	static_cast<queuing_lock *>(node)->release();
}
void tbbq_uncontended(wb_thread *t)
{
	lb_uncontended(t, tbbq_lock, tbbq_unlock);
}
void tbbq_contended(wb_thread *t)
{
	lb_contended(t, tbbq_lock, tbbq_unlock);
}
void tbbq_handoff(wb_thread *t)
{
	lb_handoff(t, tbbq_lock, tbbq_unlock);
}

lb_impl make_impl(const char *family, const char *name, void (*init)(void *), void (*destroy)(void *),
		  void (*node_init)(void *), void (*node_fini)(void *), wb_body_fn u, wb_body_fn c, wb_body_fn h)
{
	lb_impl impl;
	impl.family = family;
	impl.name = name;
	impl.init = init;
	impl.destroy = destroy;
	impl.node_init = node_init;
	impl.node_fini = node_fini;
	impl.uncontended = u;
	impl.contended = c;
	impl.handoff = h;
	return impl;
}

const lb_impl cxx_impls[] = {
	make_impl("mutex", "absl", absl_init, absl_destroy, nullptr, nullptr, absl_uncontended, absl_contended,
		  absl_handoff),
	make_impl("spin", "tbb_spin", tbbspin_init, tbbspin_destroy, nullptr, nullptr, tbbspin_uncontended,
		  tbbspin_contended, tbbspin_handoff),
	make_impl("spin", "tbb_queuing", tbbq_init, tbbq_destroy, tbbq_node_init, tbbq_node_fini, tbbq_uncontended,
		  tbbq_contended, tbbq_handoff),
};

struct Registrar {
	Registrar()
	{
		for (const lb_impl &impl : cxx_impls)
			lb_register_impl(&impl);
	}
} registrar;

} // namespace
