/* SPDX-License-Identifier: MIT */
#ifndef WEFT_WEFT_HPP
#define WEFT_WEFT_HPP

/*
 * weft.hpp - C++ types over weft's C objects (C++17; nothing here needs C++20).
 *
 * Each type holds the C object itself (or, for the queue and the pool, the
 * pointer to it) and forwards to the static inline C calls: no virtual call,
 * no extra state, nothing a compiler does not inline away (`make check-cxx-cost`
 * compares the object code of a C and a C++ lock/unlock loop).  They meet
 * the standard library's named requirements, so the standard's generic code
 * drives them:
 *
 *   weft::mutex            Lockable, TimedLockable      std::scoped_lock, std::unique_lock,
 *   weft::spin_mutex       Lockable                       std::lock, std::condition_variable_any
 *   weft::ticket_mutex     Lockable
 *   weft::shared_mutex     SharedTimedLockable          + std::shared_lock
 *   weft::br_shared_mutex  SharedTimedLockable (distributed readers, for read-mostly data)
 *   weft::condition_variable   with std::unique_lock<weft::mutex>
 *   weft::counting_semaphore<N>, weft::binary_semaphore   the shape of C++20 <semaphore>
 *   weft::latch            the shape of C++20 <latch>
 *   weft::barrier          C++20 <barrier>'s arrive_and_wait() (no completion function,
 *                          no arrival token: weft_barrier_t has neither)
 *   weft::once_flag, weft::call_once
 *   weft::counter, weft::sharded_counter
 *   weft::mpmc_queue<T>    T a pointer, or trivially copyable and no larger than one
 *   weft::mpmc_select()    Go's select over queues: one of several pushes and pops
 *   weft::object_pool<T>   make() returns a std::unique_ptr whose deleter destroys T and
 *                          gives the memory back to the pool
 *   weft::cancel_token     weft_cancel_t: Go's context.Done(), C++20's std::stop_source;
 *                          the `_ctx` members (lock_ctx, wait_ctx, pop_ctx, ...) take one
 *   weft::cancel_on_stop   (C++20) cancels a cancel_token when a std::stop_token is stopped
 *
 * Every type whose C object must stay where it was initialized (every lock,
 * the condition variable, semaphore, latch, barrier, once flag, counters,
 * cancellation token) is neither copyable nor movable.  mpmc_queue and
 * object_pool own a heap object through a pointer and are movable (not
 * copyable).
 *
 * Every call whose result says it failed (try_*, timed calls, `_ctx` calls,
 * queue operations, make()) is [[nodiscard]].  The `_ctx` calls and the queue
 * report a weft::op_status (success, timeout, canceled, closed, ...).  A
 * constructor whose C init can fail (a bad capacity, no memory, a token chain
 * too deep) throws weft::error (or aborts when exceptions are disabled);
 * nothing else throws, except the precondition violations that C++20 leaves
 * undefined and weft detects: a semaphore release past max() and a latch
 * counted down below zero throw weft::error.
 *
 * Time: the timed calls take std::chrono durations and time points of any
 * clock.  weft's deadlines are CLOCK_MONOTONIC, which is what
 * std::chrono::steady_clock reads on Linux (libstdc++ and libc++), so a
 * steady_clock time point converts directly; a duration is measured from now
 * on CLOCK_MONOTONIC; a time point of another clock (system_clock) is turned
 * into a duration from that clock's now, and the call retried if that clock
 * says the deadline has not come yet (as std::timed_mutex does).
 *
 * Ordering: each call orders memory as the C call it wraps (see its header).
 *
 * docs/cxx.md: the types, their departures from the standard ones, the cost.
 */

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "weft.hpp needs C++17 or later (-std=c++17); C code includes <weft/weft.h>"
#endif

#include "weft.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#if __has_include(<version>)
#include <version> /* __cpp_lib_jthread: C++20's <stop_token>, for weft::cancel_on_stop */
#endif
#if defined(__cpp_lib_jthread)
#include <stop_token>
#endif

namespace weft {

/* ---- errors ------------------------------------------------------------ */

/** A weft status code (WEFT_EINVAL, WEFT_ENOMEM, ...) as an exception;
 * what() is "<where>: <weft_strerror(code)>". */
class error : public std::runtime_error {
public:
	error(int code, const char *where)
		: std::runtime_error(std::string(where) + ": " + weft_strerror(code)), code_(code)
	{
	}
	/** The WEFT_* status code. */
	int code() const noexcept { return code_; }

private:
	int code_;
};

namespace detail {

[[noreturn]] inline void fail(int code, const char *where)
{
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
	throw error(code, where);
#else
	(void)code, (void)where;
	std::abort();
#endif
}

inline void check(int rc, const char *where)
{
	if (WEFT_UNLIKELY(rc != WEFT_OK))
		fail(rc, where);
}

} // namespace detail

/**
 * What an operation that may wait did: the result of the queue's operations
 * (after P0260's queue_op_status, hence the alias) and of every `_ctx` call.
 */
enum class op_status {
	success,  /* done */
	empty,    /* try_pop: nothing to pop now */
	full,     /* try_push: no free slot now */
	closed,   /* push: the queue is closed; pop: closed and drained */
	timeout,  /* the deadline passed first; nothing was done */
	canceled, /* the cancel_token was cancelled first (WEFT_ECANCELED); nothing was done */
};
using queue_op_status = op_status;

namespace detail {

/* A WEFT_* status of a call that may wait, as an op_status: the one mapping.
 * Nothing else reaches here (the wrappers build well-formed deadlines, so
 * WEFT_EINVAL cannot), and anything else is a bug: fail(). */
inline op_status to_status(int rc, const char *where)
{
	switch (rc) {
	case WEFT_OK:
		return op_status::success;
	case WEFT_ETIMEDOUT:
		return op_status::timeout;
	case WEFT_ECANCELED:
		return op_status::canceled;
	case WEFT_ECLOSED:
		return op_status::closed;
	default:
		fail(rc, where);
	}
}

/* Durations are clamped to this (about 292 years in nanoseconds). */
constexpr std::int64_t max_ns = INT64_MAX;

template <class Rep, class Period>
inline std::uint64_t to_ns(const std::chrono::duration<Rep, Period> &d) noexcept
{
	using namespace std::chrono;
	if (d <= d.zero())
		return 0;
	if (duration_cast<duration<double, std::nano>>(d).count() >= static_cast<double>(max_ns))
		return static_cast<std::uint64_t>(max_ns);
	return static_cast<std::uint64_t>(ceil<nanoseconds>(d).count());
}

/* A CLOCK_MONOTONIC deadline @d from now. */
template <class Rep, class Period>
inline struct timespec deadline_after(const std::chrono::duration<Rep, Period> &d) noexcept
{
	return weft_deadline_after_ns(to_ns(d));
}

/* A steady_clock time point as a CLOCK_MONOTONIC deadline (the same clock on Linux). */
template <class Dur>
inline struct timespec deadline_at(const std::chrono::time_point<std::chrono::steady_clock, Dur> &tp) noexcept
{
	using namespace std::chrono;
	auto ns = ceil<nanoseconds>(tp.time_since_epoch()).count();
	if (ns < 0)
		ns = 0;
	struct timespec ts;
	ts.tv_sec = static_cast<time_t>(ns / 1000000000);
	ts.tv_nsec = static_cast<long>(ns % 1000000000);
	return ts;
}

/*
 * timed_until(tp, op): op(const timespec *) until @tp.  For steady_clock one
 * call; for another clock, calls with the remaining time on CLOCK_MONOTONIC
 * until op succeeds or that clock has passed @tp.  op returns a WEFT status;
 * the last one is returned.
 */
template <class Clock, class Dur, class Op>
inline int timed_until(const std::chrono::time_point<Clock, Dur> &tp, Op &&op)
{
	if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
		struct timespec ts = deadline_at(tp);
		return op(&ts);
	} else {
		for (;;) {
			struct timespec ts = deadline_after(tp - Clock::now());
			int rc = op(&ts);
			if (rc != WEFT_ETIMEDOUT || Clock::now() >= tp)
				return rc;
		}
	}
}

/*
 * with_deadline(d, op): op(const timespec *) with @d, a duration (from now)
 * or a time point (through timed_until()) - the deadline argument of the
 * `_ctx` members.  Any other type is a compile error.
 */
template <class Rep, class Period, class Op>
inline int with_deadline(const std::chrono::duration<Rep, Period> &d, Op &&op)
{
	struct timespec ts = deadline_after(d);
	return op(&ts);
}
template <class Clock, class Dur, class Op>
inline int with_deadline(const std::chrono::time_point<Clock, Dur> &tp, Op &&op)
{
	return timed_until(tp, std::forward<Op>(op));
}

} // namespace detail

/** Tag: construct an object usable between processes (WEFT_PSHARED). */
struct process_shared_t {
	explicit process_shared_t() = default;
};
inline constexpr process_shared_t process_shared{};

/* Not copyable, not movable: the C object must stay where it was initialized. */
#define WEFT__PINNED(T)                                                                                    \
	T(const T &) = delete;                                                                             \
	T &operator=(const T &) = delete;                                                                  \
	T(T &&) = delete;                                                                                  \
	T &operator=(T &&) = delete

/* ---- cancellation ------------------------------------------------------ */

/**
 * weft::cancel_token - weft_cancel_t: a cancellation token (Go's
 * context.Done(), C++20's std::stop_source and std::stop_token in one).
 * cancel() wakes every `_ctx` call waiting with this token or a descendant;
 * they return op_status::canceled without having done their operation.
 * A token made with a parent is cancelled when the parent is (a Go context
 * tree); the parent must outlive it.  Pinned: waiters and children hold its
 * address.  See include/weft/cancel.h and docs/waiting.md.
 */
class cancel_token {
public:
	/** A root token, not cancelled. */
	constexpr cancel_token() noexcept : t_{} {}
	/** A child of @parent (nullptr: a root): cancelled when @parent is.
	 * Throws weft::error (WEFT_EINVAL) past WEFT_CANCEL_MAX_CHAIN tokens. */
	explicit cancel_token(cancel_token *parent) : t_{}
	{
		detail::check(weft_cancel_init(&t_, parent ? &parent->t_ : nullptr, 0), "weft::cancel_token");
	}
	/** A token for memory shared between processes; @parent (if any) must
	 * be process-shared and in the same mapping. */
	explicit cancel_token(process_shared_t, cancel_token *parent = nullptr) : t_{}
	{
		detail::check(weft_cancel_init(&t_, parent ? &parent->t_ : nullptr, WEFT_PSHARED), "weft::cancel_token");
	}
	~cancel_token() { weft_cancel_destroy(&t_); }
	WEFT__PINNED(cancel_token);

	/** Cancel this token and its descendants, at once and for good
	 * (weft_cancel(): a release; a second call does nothing). */
	void cancel() noexcept { weft_cancel(&t_); }
	/** Whether this token or an ancestor is cancelled (acquire when true). */
	bool requested() const noexcept { return weft_cancel_requested(&t_); }

	using native_handle_type = weft_cancel_t *;
	native_handle_type native_handle() noexcept { return &t_; }

private:
	weft_cancel_t t_;
};

#if defined(__cpp_lib_jthread)
/**
 * weft::cancel_on_stop - (C++20) cancels a cancel_token when a stop is
 * requested on a std::stop_token: a std::stop_callback that calls
 * weft_cancel(), so that a std::jthread's request_stop() (or any
 * std::stop_source's) wakes the `_ctx` waits given the token.
 *
 *   std::jthread worker([&](std::stop_token st) {
 *           weft::cancel_token tok;
 *           weft::cancel_on_stop link(st, tok);
 *           while (q.pop_ctx(job, tok) == weft::op_status::success) ...
 *   });
 *
 * Cost: the cancel runs on the thread that requests the stop, inside
 * request_stop() (or in this constructor if the stop was requested already):
 * an atomic OR and one FUTEX_WAKE with futex_waitv; without it (older kernel,
 * portable backend) a process-local lock and a wake-up of, and a yield to,
 * each registered waiter of the token's chain (see weft_cancel()).  The
 * stop_callback also costs a registration on the stop state here and a
 * deregistration in the destructor, which waits for the callback if it is
 * running on another thread (std::stop_callback's rule).  @tok must outlive
 * this object.  One way only: cancelling @tok stops nothing.
 */
class cancel_on_stop {
	struct canceller {
		cancel_token *tok;
		void operator()() const noexcept { tok->cancel(); }
	};

public:
	cancel_on_stop(const std::stop_token &st, cancel_token &tok) noexcept : cb_(st, canceller{&tok}) {}
	WEFT__PINNED(cancel_on_stop);

private:
	std::stop_callback<canceller> cb_;
};
#endif

/* ---- mutexes ----------------------------------------------------------- */

/**
 * weft::mutex - weft_mutex_t: Lockable and TimedLockable (like std::timed_mutex).
 * constexpr-constructible, so a namespace-scope mutex needs no dynamic
 * initialization.
 */
class WEFT_CAPABILITY("mutex") mutex {
public:
	constexpr mutex() noexcept : m_{} {}
	/** A mutex for memory shared between processes. */
	explicit mutex(process_shared_t) : m_{} { detail::check(weft_mutex_init(&m_, WEFT_PSHARED), "weft::mutex"); }
	~mutex() { weft_mutex_destroy(&m_); }
	WEFT__PINNED(mutex);

	void lock() noexcept WEFT__ACQ() { weft_mutex_lock(&m_); }
	[[nodiscard]] bool try_lock() noexcept WEFT__TRY(true) { return weft_mutex_trylock(&m_); }
	template <class Rep, class Period>
	[[nodiscard]] bool try_lock_for(const std::chrono::duration<Rep, Period> &d) noexcept WEFT__TRY(true)
	{
		struct timespec ts = detail::deadline_after(d);
		return weft_mutex_timedlock(&m_, &ts) == WEFT_OK;
	}
	template <class Clock, class Dur>
	[[nodiscard]] bool try_lock_until(const std::chrono::time_point<Clock, Dur> &tp) WEFT__TRY(true)
	{
		return detail::timed_until(tp, [this](const struct timespec *ts) WEFT_NO_THREAD_SAFETY_ANALYSIS {
			       return weft_mutex_timedlock(&m_, ts);
		       }) == WEFT_OK;
	}
	/**
	 * lock() that also gives up when @tok is cancelled [or at @d, a duration
	 * or a time point] (weft_mutex_lock_ctx()): success (held; a free mutex
	 * is taken without reading @tok), timeout, canceled (not held).  Not
	 * followed by clang's -Wthread-safety (an enum result; docs/cxx.md).
	 */
	[[nodiscard]] op_status lock_ctx(cancel_token &tok) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return detail::to_status(weft_mutex_lock_ctx(&m_, nullptr, tok.native_handle()), "weft::mutex::lock_ctx");
	}
	template <class Deadline>
	[[nodiscard]] op_status lock_ctx(const Deadline &d, cancel_token &tok) WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return detail::to_status(detail::with_deadline(d,
							       [&](const struct timespec *ts) WEFT_NO_THREAD_SAFETY_ANALYSIS {
								       return weft_mutex_lock_ctx(&m_, ts, tok.native_handle());
							       }),
					 "weft::mutex::lock_ctx");
	}
	void unlock() noexcept WEFT__REL() { weft_mutex_unlock(&m_); }
	/** Hand the mutex to a sleeper if one waits (weft_mutex_unlock_fair()). */
	void unlock_fair() noexcept WEFT__REL() { weft_mutex_unlock_fair(&m_); }

	using native_handle_type = weft_mutex_t *;
	native_handle_type native_handle() noexcept { return &m_; }

private:
	weft_mutex_t m_;
};

/** weft::spin_mutex - weft_spin_t (TTAS with backoff): Lockable. */
class WEFT_CAPABILITY("mutex") spin_mutex {
public:
	constexpr spin_mutex() noexcept : m_{} {}
	~spin_mutex() { weft_spin_destroy(&m_); }
	WEFT__PINNED(spin_mutex);

	void lock() noexcept WEFT__ACQ() { weft_spin_lock(&m_); }
	[[nodiscard]] bool try_lock() noexcept WEFT__TRY(true) { return weft_spin_trylock(&m_); }
	void unlock() noexcept WEFT__REL() { weft_spin_unlock(&m_); }

	using native_handle_type = weft_spin_t *;
	native_handle_type native_handle() noexcept { return &m_; }

private:
	weft_spin_t m_;
};

/** weft::ticket_mutex - weft_ticket_t (FIFO spinlock): Lockable. */
class WEFT_CAPABILITY("mutex") ticket_mutex {
public:
	constexpr ticket_mutex() noexcept : m_{} {}
	~ticket_mutex() { weft_ticket_destroy(&m_); }
	WEFT__PINNED(ticket_mutex);

	void lock() noexcept WEFT__ACQ() { weft_ticket_lock(&m_); }
	[[nodiscard]] bool try_lock() noexcept WEFT__TRY(true) { return weft_ticket_trylock(&m_); }
	void unlock() noexcept WEFT__REL() { weft_ticket_unlock(&m_); }

	using native_handle_type = weft_ticket_t *;
	native_handle_type native_handle() noexcept { return &m_; }

private:
	weft_ticket_t m_;
};

/*
 * The two reader-writer locks share one shape; Traits names the C calls.
 * SharedTimedLockable, like std::shared_timed_mutex.
 */
namespace detail {
struct rwlock_traits {
	using type = weft_rwlock_t;
	static int init(type *l, unsigned f) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_rwlock_init(l, f); }
	static void destroy(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_rwlock_destroy(l); }
	static void wrlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_rwlock_wrlock(l); }
	static bool trywrlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_rwlock_trywrlock(l); }
	static int timedwrlock(type *l, const struct timespec *t) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_rwlock_timedwrlock(l, t); }
	static void wrunlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_rwlock_wrunlock(l); }
	static void rdlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_rwlock_rdlock(l); }
	static bool tryrdlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_rwlock_tryrdlock(l); }
	static int timedrdlock(type *l, const struct timespec *t) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_rwlock_timedrdlock(l, t); }
	static void rdunlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_rwlock_rdunlock(l); }
	static int wrlock_ctx(type *l, const struct timespec *t, weft_cancel_t *c) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_rwlock_wrlock_ctx(l, t, c); }
	static int rdlock_ctx(type *l, const struct timespec *t, weft_cancel_t *c) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_rwlock_rdlock_ctx(l, t, c); }
};
struct brlock_traits {
	using type = weft_brlock_t;
	static int init(type *l, unsigned f) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_brlock_init(l, f); }
	static void destroy(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_brlock_destroy(l); }
	static void wrlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_brlock_wrlock(l); }
	static bool trywrlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_brlock_trywrlock(l); }
	static int timedwrlock(type *l, const struct timespec *t) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_brlock_timedwrlock(l, t); }
	static void wrunlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_brlock_wrunlock(l); }
	static void rdlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_brlock_rdlock(l); }
	static bool tryrdlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_brlock_tryrdlock(l); }
	static int timedrdlock(type *l, const struct timespec *t) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_brlock_timedrdlock(l, t); }
	static void rdunlock(type *l) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_brlock_rdunlock(l); }
	static int wrlock_ctx(type *l, const struct timespec *t, weft_cancel_t *c) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_brlock_wrlock_ctx(l, t, c); }
	static int rdlock_ctx(type *l, const struct timespec *t, weft_cancel_t *c) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { return weft_brlock_rdlock_ctx(l, t, c); }
};

template <class Traits>
class WEFT_CAPABILITY("shared_mutex") basic_shared_mutex {
	using T = Traits;

public:
	constexpr basic_shared_mutex() noexcept : m_{} {}
	explicit basic_shared_mutex(process_shared_t) : m_{}
	{
		detail::check(T::init(&m_, WEFT_PSHARED), "weft::shared_mutex");
	}
	~basic_shared_mutex() { T::destroy(&m_); }
	WEFT__PINNED(basic_shared_mutex);

	/* exclusive */
	void lock() noexcept WEFT__ACQ() { T::wrlock(&m_); }
	[[nodiscard]] bool try_lock() noexcept WEFT__TRY(true) { return T::trywrlock(&m_); }
	template <class Rep, class Period>
	[[nodiscard]] bool try_lock_for(const std::chrono::duration<Rep, Period> &d) noexcept WEFT__TRY(true)
	{
		struct timespec ts = detail::deadline_after(d);
		return T::timedwrlock(&m_, &ts) == WEFT_OK;
	}
	template <class Clock, class Dur>
	[[nodiscard]] bool try_lock_until(const std::chrono::time_point<Clock, Dur> &tp) WEFT__TRY(true)
	{
		return detail::timed_until(tp, [this](const struct timespec *ts) WEFT_NO_THREAD_SAFETY_ANALYSIS {
			       return T::timedwrlock(&m_, ts);
		       }) == WEFT_OK;
	}
	/** lock() / lock_shared() that also give up when @tok is cancelled [or
	 * at @d, a duration or a time point]: success (held), timeout, canceled
	 * (not held): weft_rwlock_wrlock_ctx() / weft_rwlock_rdlock_ctx() (or
	 * the brlock's).  Not followed by clang's -Wthread-safety. */
	[[nodiscard]] op_status lock_ctx(cancel_token &tok) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return detail::to_status(T::wrlock_ctx(&m_, nullptr, tok.native_handle()), "weft::shared_mutex::lock_ctx");
	}
	template <class Deadline>
	[[nodiscard]] op_status lock_ctx(const Deadline &d, cancel_token &tok) WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return detail::to_status(detail::with_deadline(d,
							       [&](const struct timespec *ts) {
								       return T::wrlock_ctx(&m_, ts, tok.native_handle());
							       }),
					 "weft::shared_mutex::lock_ctx");
	}
	void unlock() noexcept WEFT__REL() { T::wrunlock(&m_); }

	/* shared */
	[[nodiscard]] op_status lock_shared_ctx(cancel_token &tok) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return detail::to_status(T::rdlock_ctx(&m_, nullptr, tok.native_handle()),
					 "weft::shared_mutex::lock_shared_ctx");
	}
	template <class Deadline>
	[[nodiscard]] op_status lock_shared_ctx(const Deadline &d, cancel_token &tok) WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return detail::to_status(detail::with_deadline(d,
							       [&](const struct timespec *ts) {
								       return T::rdlock_ctx(&m_, ts, tok.native_handle());
							       }),
					 "weft::shared_mutex::lock_shared_ctx");
	}
	void lock_shared() noexcept WEFT__ACQ_SHARED() { T::rdlock(&m_); }
	[[nodiscard]] bool try_lock_shared() noexcept WEFT__TRY_SHARED(true) { return T::tryrdlock(&m_); }
	template <class Rep, class Period>
	[[nodiscard]] bool try_lock_shared_for(const std::chrono::duration<Rep, Period> &d) noexcept
		WEFT__TRY_SHARED(true)
	{
		struct timespec ts = detail::deadline_after(d);
		return T::timedrdlock(&m_, &ts) == WEFT_OK;
	}
	template <class Clock, class Dur>
	[[nodiscard]] bool try_lock_shared_until(const std::chrono::time_point<Clock, Dur> &tp)
		WEFT__TRY_SHARED(true)
	{
		return detail::timed_until(tp, [this](const struct timespec *ts) WEFT_NO_THREAD_SAFETY_ANALYSIS {
			       return T::timedrdlock(&m_, ts);
		       }) == WEFT_OK;
	}
	void unlock_shared() noexcept WEFT__REL_SHARED() { T::rdunlock(&m_); }

	using native_handle_type = typename T::type *;
	native_handle_type native_handle() noexcept { return &m_; }

private:
	typename T::type m_;
};
} // namespace detail

/** weft::shared_mutex - weft_rwlock_t (writer-preferring): SharedTimedLockable. */
using shared_mutex = detail::basic_shared_mutex<detail::rwlock_traits>;
/** weft::br_shared_mutex - weft_brlock_t (a reader slot per thread: readers
 * touch no shared line; writers pay): SharedTimedLockable. */
using br_shared_mutex = detail::basic_shared_mutex<detail::brlock_traits>;

/* ---- condition variable ------------------------------------------------ */

/** What a timed wait without a predicate returns (std::cv_status). */
using cv_status = std::cv_status;

/**
 * weft::condition_variable - weft_cond_t, waited on with
 * std::unique_lock<weft::mutex> (as std::condition_variable with
 * std::unique_lock<std::mutex>).  Spurious wake-ups happen: use the predicate
 * forms, or a loop.
 */
class condition_variable {
public:
	constexpr condition_variable() noexcept : c_{} {}
	explicit condition_variable(process_shared_t) : c_{}
	{
		detail::check(weft_cond_init(&c_, WEFT_PSHARED), "weft::condition_variable");
	}
	~condition_variable() { weft_cond_destroy(&c_); }
	WEFT__PINNED(condition_variable);

	void notify_one() noexcept { weft_cond_signal(&c_); }
	void notify_all() noexcept { weft_cond_broadcast(&c_); }

	void wait(std::unique_lock<mutex> &lk) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS { weft_cond_wait(&c_, lk.mutex()->native_handle()); }
	template <class Pred>
	void wait(std::unique_lock<mutex> &lk, Pred pred)
	{
		while (!pred())
			wait(lk);
	}

	template <class Rep, class Period>
	[[nodiscard]] cv_status wait_for(std::unique_lock<mutex> &lk, const std::chrono::duration<Rep, Period> &d) noexcept
	{
		struct timespec ts = detail::deadline_after(d);
		return timedwait(lk, &ts) == WEFT_OK ? cv_status::no_timeout : cv_status::timeout;
	}
	template <class Rep, class Period, class Pred>
	[[nodiscard]] bool wait_for(std::unique_lock<mutex> &lk, const std::chrono::duration<Rep, Period> &d, Pred pred)
	{
		struct timespec ts = detail::deadline_after(d);
		while (!pred())
			if (timedwait(lk, &ts) == WEFT_ETIMEDOUT)
				return pred();
		return true;
	}
	template <class Clock, class Dur>
	[[nodiscard]] cv_status wait_until(std::unique_lock<mutex> &lk, const std::chrono::time_point<Clock, Dur> &tp)
	{
		int rc = detail::timed_until(tp, [&](const struct timespec *ts) { return timedwait(lk, ts); });
		return rc == WEFT_ETIMEDOUT ? cv_status::timeout : cv_status::no_timeout;
	}
	template <class Clock, class Dur, class Pred>
	[[nodiscard]] bool wait_until(std::unique_lock<mutex> &lk, const std::chrono::time_point<Clock, Dur> &tp,
				      Pred pred)
	{
		while (!pred())
			if (wait_until(lk, tp) == cv_status::timeout)
				return pred();
		return true;
	}

	/*
	 * Cancellable waits (weft_cond_wait_ctx()): wait() that also gives up
	 * when @tok is cancelled, and at @d (a duration or a time point).
	 * success: notified or spurious, or a cancel or timeout that came after
	 * a notification (this waiter may have taken its wake-up, so it reports
	 * it: no notification is lost); timeout / canceled: no notification
	 * came.  @lk is held again in every outcome.
	 */
	[[nodiscard]] op_status wait_ctx(std::unique_lock<mutex> &lk, cancel_token &tok) noexcept
	{
		return detail::to_status(ctxwait(lk, nullptr, tok), "weft::condition_variable::wait_ctx");
	}
	template <class Deadline>
	[[nodiscard]] op_status wait_ctx(std::unique_lock<mutex> &lk, const Deadline &d, cancel_token &tok)
	{
		return detail::to_status(
			detail::with_deadline(d, [&](const struct timespec *ts) { return ctxwait(lk, ts, tok); }),
			"weft::condition_variable::wait_ctx");
	}
	/** Until pred(), a cancel of @tok [or @d]: pred() (as C++20's
	 * condition_variable_any::wait(lock, stop_token, pred)). */
	template <class Pred>
	[[nodiscard]] bool wait_ctx(std::unique_lock<mutex> &lk, cancel_token &tok, Pred pred)
	{
		while (!pred())
			if (wait_ctx(lk, tok) != op_status::success)
				return pred();
		return true;
	}
	template <class Deadline, class Pred>
	[[nodiscard]] bool wait_ctx(std::unique_lock<mutex> &lk, const Deadline &d, cancel_token &tok, Pred pred)
	{
		/* one deadline for the whole loop: a duration is measured once */
		int rc = detail::with_deadline(d, [&](const struct timespec *ts) {
			int r = WEFT_OK;
			while (r == WEFT_OK && !pred())
				r = ctxwait(lk, ts, tok);
			return r;
		});
		return rc == WEFT_OK || pred();
	}

	using native_handle_type = weft_cond_t *;
	native_handle_type native_handle() noexcept { return &c_; }

private:
	int ctxwait(std::unique_lock<mutex> &lk, const struct timespec *ts, cancel_token &tok) noexcept
		WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return weft_cond_wait_ctx(&c_, lk.mutex()->native_handle(), ts, tok.native_handle());
	}
	int timedwait(std::unique_lock<mutex> &lk, const struct timespec *ts) noexcept WEFT_NO_THREAD_SAFETY_ANALYSIS
	{
		return weft_cond_timedwait(&c_, lk.mutex()->native_handle(), ts);
	}
	weft_cond_t c_;
};

/* ---- semaphore, latch, barrier ----------------------------------------- */

/**
 * weft::counting_semaphore - weft_sem_t with the interface of C++20's
 * std::counting_semaphore.  release() past max() throws weft::error
 * (WEFT_EOVERFLOW; C++20 leaves it undefined).
 */
template <std::ptrdiff_t LeastMaxValue = static_cast<std::ptrdiff_t>(WEFT_SEM_VALUE_MAX)>
class counting_semaphore {
	static_assert(LeastMaxValue >= 0 && LeastMaxValue <= static_cast<std::ptrdiff_t>(WEFT_SEM_VALUE_MAX),
		      "weft_sem_t counts up to WEFT_SEM_VALUE_MAX");

public:
	static constexpr std::ptrdiff_t max() noexcept { return LeastMaxValue; }

	explicit counting_semaphore(std::ptrdiff_t desired) : s_{}
	{
		detail::check(desired < 0 || desired > max() ? WEFT_EINVAL
							      : weft_sem_init(&s_, static_cast<unsigned>(desired), 0),
			      "weft::counting_semaphore");
	}
	counting_semaphore(process_shared_t, std::ptrdiff_t desired) : s_{}
	{
		detail::check(desired < 0 || desired > max()
				      ? WEFT_EINVAL
				      : weft_sem_init(&s_, static_cast<unsigned>(desired), WEFT_PSHARED),
			      "weft::counting_semaphore");
	}
	~counting_semaphore() { weft_sem_destroy(&s_); }
	WEFT__PINNED(counting_semaphore);

	void release(std::ptrdiff_t update = 1)
	{
		detail::check(update < 0 ? WEFT_EINVAL : weft_sem_post_n(&s_, static_cast<unsigned>(update)),
			      "weft::counting_semaphore::release");
	}
	void acquire() noexcept { weft_sem_wait(&s_); }
	[[nodiscard]] bool try_acquire() noexcept { return weft_sem_trywait(&s_); }
	template <class Rep, class Period>
	[[nodiscard]] bool try_acquire_for(const std::chrono::duration<Rep, Period> &d) noexcept
	{
		struct timespec ts = detail::deadline_after(d);
		return weft_sem_timedwait(&s_, &ts) == WEFT_OK;
	}
	template <class Clock, class Dur>
	[[nodiscard]] bool try_acquire_until(const std::chrono::time_point<Clock, Dur> &tp)
	{
		return detail::timed_until(tp, [this](const struct timespec *ts) { return weft_sem_timedwait(&s_, ts); }) ==
		       WEFT_OK;
	}
	/** acquire() that also gives up when @tok is cancelled [or at @d, a
	 * duration or a time point] (weft_sem_wait_ctx()): success (a unit
	 * taken; an available unit is taken without reading @tok), timeout,
	 * canceled (nothing taken). */
	[[nodiscard]] op_status acquire_ctx(cancel_token &tok) noexcept
	{
		return detail::to_status(weft_sem_wait_ctx(&s_, nullptr, tok.native_handle()),
					 "weft::counting_semaphore::acquire_ctx");
	}
	template <class Deadline>
	[[nodiscard]] op_status acquire_ctx(const Deadline &d, cancel_token &tok)
	{
		return detail::to_status(detail::with_deadline(d,
							       [&](const struct timespec *ts) {
								       return weft_sem_wait_ctx(&s_, ts, tok.native_handle());
							       }),
					 "weft::counting_semaphore::acquire_ctx");
	}
	/** Units available now (a snapshot; not in C++20). */
	std::ptrdiff_t value() noexcept { return static_cast<std::ptrdiff_t>(weft_sem_value(&s_)); }

	using native_handle_type = weft_sem_t *;
	native_handle_type native_handle() noexcept { return &s_; }

private:
	weft_sem_t s_;
};
using binary_semaphore = counting_semaphore<1>;

/**
 * weft::latch - weft_latch_t with the interface of C++20's std::latch.
 * count_down() below zero throws weft::error (WEFT_EINVAL; C++20: undefined).
 */
class latch {
public:
	static constexpr std::ptrdiff_t max() noexcept { return static_cast<std::ptrdiff_t>(WEFT_LATCH_MAX); }

	explicit latch(std::ptrdiff_t expected) : l_{}
	{
		detail::check(expected < 0 || expected > max() ? WEFT_EINVAL
								: weft_latch_init(&l_, static_cast<unsigned>(expected)),
			      "weft::latch");
	}
	~latch() { weft_latch_destroy(&l_); }
	WEFT__PINNED(latch);

	void count_down(std::ptrdiff_t n = 1)
	{
		detail::check(n < 0 || n > max() ? WEFT_EINVAL : weft_latch_count_down(&l_, static_cast<unsigned>(n)),
			      "weft::latch::count_down");
	}
	[[nodiscard]] bool try_wait() const noexcept { return weft_latch_try_wait(&l_); }
	void wait() const noexcept { weft_latch_wait(&l_); }
	void arrive_and_wait(std::ptrdiff_t n = 1)
	{
		count_down(n);
		wait();
	}
	/** wait() with a time limit (not in C++20): true if the latch opened. */
	template <class Rep, class Period>
	[[nodiscard]] bool wait_for(const std::chrono::duration<Rep, Period> &d) const noexcept
	{
		struct timespec ts = detail::deadline_after(d);
		return weft_latch_timedwait(&l_, &ts) == WEFT_OK;
	}

	/** wait() that also gives up when @tok is cancelled [or at @d, a duration
	 * or a time point]: success (open; an open latch never reads @tok),
	 * timeout, canceled.  Waiting changes nothing in the latch. */
	[[nodiscard]] op_status wait_ctx(cancel_token &tok) const noexcept
	{
		return detail::to_status(weft_latch_wait_ctx(&l_, nullptr, tok.native_handle()), "weft::latch::wait_ctx");
	}
	template <class Deadline>
	[[nodiscard]] op_status wait_ctx(const Deadline &d, cancel_token &tok) const
	{
		return detail::to_status(detail::with_deadline(d,
							       [&](const struct timespec *ts) {
								       return weft_latch_wait_ctx(&l_, ts, tok.native_handle());
							       }),
					 "weft::latch::wait_ctx");
	}

	using native_handle_type = weft_latch_t *;
	native_handle_type native_handle() noexcept { return &l_; }

private:
	mutable weft_latch_t l_; /* the C calls take a non-const pointer; waiting changes nothing */
};

/**
 * weft::barrier - weft_barrier_t: C++20 std::barrier's arrive_and_wait()
 * (without its completion function, arrival tokens or arrive_and_drop(),
 * which weft_barrier_t does not have), and wait(), which tells one thread
 * of each phase that it was the last to arrive (as pthread_barrier_wait()).
 */
class barrier {
public:
	static constexpr std::ptrdiff_t max() noexcept { return static_cast<std::ptrdiff_t>(UINT32_MAX >> 1); }

	explicit barrier(std::ptrdiff_t expected) : b_{}
	{
		detail::check(expected <= 0 || expected > max() ? WEFT_EINVAL
								 : weft_barrier_init(&b_, static_cast<unsigned>(expected)),
			      "weft::barrier");
	}
	~barrier() { weft_barrier_destroy(&b_); }
	WEFT__PINNED(barrier);

	void arrive_and_wait() noexcept { (void)weft_barrier_wait(&b_); }
	/** arrive_and_wait(), returning true in exactly one thread of each phase. */
	bool wait() noexcept { return weft_barrier_wait(&b_); }
	/**
	 * wait() that gives up when @tok is cancelled [or at @d, a duration or a
	 * time point], taking its arrival back: success (passed the barrier;
	 * *@serial true in the last arrival of the phase), timeout or canceled
	 * (not arrived: the phase still waits for its count; arrive again later).
	 */
	[[nodiscard]] op_status wait_ctx(cancel_token &tok, bool *serial = nullptr) noexcept
	{
		return detail::to_status(weft_barrier_wait_ctx(&b_, serial, nullptr, tok.native_handle()),
					 "weft::barrier::wait_ctx");
	}
	template <class Deadline>
	[[nodiscard]] op_status wait_ctx(const Deadline &d, cancel_token &tok, bool *serial = nullptr)
	{
		return detail::to_status(detail::with_deadline(d,
							       [&](const struct timespec *ts) {
								       return weft_barrier_wait_ctx(&b_, serial, ts,
												    tok.native_handle());
							       }),
					 "weft::barrier::wait_ctx");
	}

	using native_handle_type = weft_barrier_t *;
	native_handle_type native_handle() noexcept { return &b_; }

private:
	weft_barrier_t b_;
};

/* ---- once -------------------------------------------------------------- */

/** weft::once_flag - weft_once_t, for weft::call_once(). */
class once_flag {
public:
	constexpr once_flag() noexcept : o_{} {}
	WEFT__PINNED(once_flag);
	/** Whether a call_once() on this flag has returned. */
	bool done() noexcept { return weft_once_done(&o_); }

private:
	template <class F, class... Args>
	friend void call_once(once_flag &, F &&, Args &&...);
	weft_once_t o_;
};

namespace detail {
/* weft_once() takes a void (*)(void): the callable reaches it through a
 * thread-local pointer set by the calling thread, the only one that can run
 * it.  Saved and restored, so a callable may call_once() another flag. */
inline thread_local void (*once_thunk)(void *) = nullptr;
inline thread_local void *once_arg = nullptr;
inline void once_trampoline(void) noexcept { once_thunk(once_arg); }
} // namespace detail

/**
 * weft::call_once() - as std::call_once: exactly one caller on @flag runs
 * @f(@args...); every caller returns after it has returned.  @f must return
 * normally: an exception leaving it ends the program (std::terminate), since
 * weft_once_t has no way back to "not run".
 */
template <class F, class... Args>
void call_once(once_flag &flag, F &&f, Args &&...args)
{
	if (WEFT_LIKELY(weft_once_done(&flag.o_)))
		return;
	auto call = [&]() { std::forward<F>(f)(std::forward<Args>(args)...); };
	using Call = decltype(call);
	void (*saved_thunk)(void *) = detail::once_thunk;
	void *saved_arg = detail::once_arg;
	detail::once_thunk = [](void *p) { (*static_cast<Call *>(p))(); };
	detail::once_arg = &call;
	weft_once(&flag.o_, detail::once_trampoline);
	detail::once_thunk = saved_thunk;
	detail::once_arg = saved_arg;
}

/* ---- counters ---------------------------------------------------------- */

/** weft::counter - weft_counter_t: a relaxed 64-bit counter (wraps). */
class counter {
public:
	constexpr counter() noexcept : c_{} {}
	~counter() { weft_counter_destroy(&c_); }
	WEFT__PINNED(counter);

	/** Add @n; return the value before. */
	std::uint64_t fetch_add(std::uint64_t n = 1) noexcept { return weft_counter_add(&c_, n); }
	std::uint64_t fetch_sub(std::uint64_t n = 1) noexcept { return weft_counter_sub(&c_, n); }
	counter &operator+=(std::uint64_t n) noexcept { return (void)weft_counter_add(&c_, n), *this; }
	counter &operator-=(std::uint64_t n) noexcept { return (void)weft_counter_sub(&c_, n), *this; }
	counter &operator++() noexcept { return (void)weft_counter_inc(&c_), *this; }
	counter &operator--() noexcept { return (void)weft_counter_dec(&c_), *this; }
	std::uint64_t load() noexcept { return weft_counter_load(&c_); }
	void store(std::uint64_t v) noexcept { weft_counter_store(&c_, v); }

	using native_handle_type = weft_counter_t *;
	native_handle_type native_handle() noexcept { return &c_; }

private:
	weft_counter_t c_;
};

/** weft::sharded_counter - weft_scounter_t: a slot per thread; cheap adds, costly reads. */
class sharded_counter {
public:
	sharded_counter() : c_{} { detail::check(weft_scounter_init(&c_), "weft::sharded_counter"); }
	explicit sharded_counter(unsigned slots) : c_{}
	{
		detail::check(weft_scounter_init_n(&c_, slots), "weft::sharded_counter");
	}
	~sharded_counter() { weft_scounter_destroy(&c_); }
	WEFT__PINNED(sharded_counter);

	void add(std::int64_t n) noexcept { weft_scounter_add(&c_, n); }
	sharded_counter &operator+=(std::int64_t n) noexcept { return add(n), *this; }
	sharded_counter &operator-=(std::int64_t n) noexcept { return add(-n), *this; }
	sharded_counter &operator++() noexcept { return weft_scounter_inc(&c_), *this; }
	sharded_counter &operator--() noexcept { return weft_scounter_dec(&c_), *this; }
	/** The exact sum (reads every slot). */
	std::int64_t read() noexcept { return weft_scounter_read(&c_); }
	/** A sum at most WEFT_SCOUNTER_APPROX_NS old. */
	std::int64_t read_approx() noexcept { return weft_scounter_read_approx(&c_); }

	using native_handle_type = weft_scounter_t *;
	native_handle_type native_handle() noexcept { return &c_; }

private:
	weft_scounter_t c_;
};

/* ---- MPMC queue -------------------------------------------------------- */

template <class T>
class mpmc_queue;
namespace detail {
template <class Deadline>
struct select_call;
}

/**
 * weft::select_case - one case of weft::mpmc_select(): a push of a value or a
 * pop into a T, on one queue.  Made by mpmc_queue<T>::push_case(v) and
 * pop_case(out); it refers to the queue and to @out, which must outlive it.
 */
class select_case {
	template <class T>
	friend class mpmc_queue;
	template <class Deadline>
	friend struct detail::select_call;
	select_case(const weft_mpmc_case_t &c, void *out, void (*store)(void *, void *)) noexcept
		: c_(c), out_(out), store_(store)
	{
	}
	weft_mpmc_case_t c_;                 /* queue, op, and the value to push */
	void *out_;                          /* pop: the T that receives the value */
	void (*store_)(void *out, void *item); /* pop: unbox the C value into *out_ */
};

/** What weft::mpmc_select() did: @status, and for success and closed the
 * index of the case performed (or found closed). */
struct select_result {
	op_status status;
	std::size_t index;
};


/**
 * weft::mpmc_queue<T> - weft_mpmc_t of values of type T: a pointer, or any
 * trivially copyable type no larger than a pointer (an index, a small
 * handle).  Bounded, lock-free, linearizable FIFO, try/blocking/timed,
 * batches, close() for shutdown.  Owns the queue (weft_mpmc_create()).
 */
template <class T>
class mpmc_queue {
	static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(void *),
		      "mpmc_queue<T>: T must be a pointer or trivially copyable and no larger than void *");
	static_assert(std::is_default_constructible_v<T>, "mpmc_queue<T>: T must be default-constructible");

public:
	using value_type = T;

	/** A queue of @capacity slots (a power of two, 2..WEFT_MPMC_CAPACITY_MAX). */
	explicit mpmc_queue(std::size_t capacity) : q_(weft_mpmc_create(capacity, 0))
	{
		if (!q_)
			detail::fail(weft_mpmc_validate(capacity, 0) != WEFT_OK ? WEFT_EINVAL : WEFT_ENOMEM,
				     "weft::mpmc_queue");
	}
	~mpmc_queue() { weft_mpmc_destroy(q_); }
	mpmc_queue(const mpmc_queue &) = delete;
	mpmc_queue &operator=(const mpmc_queue &) = delete;
	mpmc_queue(mpmc_queue &&o) noexcept : q_(std::exchange(o.q_, nullptr)) {}
	mpmc_queue &operator=(mpmc_queue &&o) noexcept
	{
		std::swap(q_, o.q_);
		return *this;
	}

	/* try: never block */
	[[nodiscard]] queue_op_status try_push(const T &v) noexcept
	{
		if (weft_mpmc_try_push(q_, box(v)))
			return queue_op_status::success;
		return weft_mpmc_is_closed(q_) ? queue_op_status::closed : queue_op_status::full;
	}
	[[nodiscard]] queue_op_status try_pop(T &out) noexcept
	{
		void *p;
		if (weft_mpmc_try_pop(q_, &p)) {
			out = unbox(p);
			return queue_op_status::success;
		}
		return weft_mpmc_is_closed(q_) ? queue_op_status::closed : queue_op_status::empty;
	}
	[[nodiscard]] std::optional<T> try_pop() noexcept
	{
		T v;
		if (try_pop(v) == queue_op_status::success)
			return v;
		return std::nullopt;
	}

	/* blocking: success, or closed */
	[[nodiscard]] queue_op_status push(const T &v) noexcept { return status(weft_mpmc_push(q_, box(v))); }
	[[nodiscard]] queue_op_status pop(T &out) noexcept
	{
		void *p;
		int rc = weft_mpmc_pop(q_, &p);
		if (rc == WEFT_OK)
			out = unbox(p);
		return status(rc);
	}
	/** Blocking pop; std::nullopt once the queue is closed and drained. */
	[[nodiscard]] std::optional<T> pop() noexcept
	{
		T v;
		if (pop(v) == queue_op_status::success)
			return v;
		return std::nullopt;
	}

	/* timed: success, timeout or closed */
	template <class Rep, class Period>
	[[nodiscard]] queue_op_status push_for(const T &v, const std::chrono::duration<Rep, Period> &d) noexcept
	{
		struct timespec ts = detail::deadline_after(d);
		return status(weft_mpmc_timedpush(q_, box(v), &ts));
	}
	template <class Clock, class Dur>
	[[nodiscard]] queue_op_status push_until(const T &v, const std::chrono::time_point<Clock, Dur> &tp)
	{
		return status(detail::timed_until(
			tp, [&](const struct timespec *ts) { return weft_mpmc_timedpush(q_, box(v), ts); }));
	}
	template <class Rep, class Period>
	[[nodiscard]] queue_op_status pop_for(T &out, const std::chrono::duration<Rep, Period> &d) noexcept
	{
		struct timespec ts = detail::deadline_after(d);
		void *p;
		int rc = weft_mpmc_timedpop(q_, &p, &ts);
		if (rc == WEFT_OK)
			out = unbox(p);
		return status(rc);
	}
	template <class Clock, class Dur>
	[[nodiscard]] queue_op_status pop_until(T &out, const std::chrono::time_point<Clock, Dur> &tp)
	{
		void *p;
		int rc = detail::timed_until(tp, [&](const struct timespec *ts) { return weft_mpmc_timedpop(q_, &p, ts); });
		if (rc == WEFT_OK)
			out = unbox(p);
		return status(rc);
	}

	/*
	 * cancellable: success, canceled, closed (and timeout with a deadline).
	 * @d is a duration or a time point.  A push that finds room and a pop
	 * that finds a value do not look at @tok; canceled means nothing was
	 * pushed or popped (a value already claimed is returned, never lost).
	 */
	[[nodiscard]] queue_op_status push_ctx(const T &v, cancel_token &tok) noexcept
	{
		return status(weft_mpmc_push_ctx(q_, box(v), nullptr, tok.native_handle()));
	}
	template <class Deadline>
	[[nodiscard]] queue_op_status push_ctx(const T &v, const Deadline &d, cancel_token &tok)
	{
		return status(detail::with_deadline(d, [&](const struct timespec *ts) {
			return weft_mpmc_push_ctx(q_, box(v), ts, tok.native_handle());
		}));
	}
	[[nodiscard]] queue_op_status pop_ctx(T &out, cancel_token &tok) noexcept
	{
		void *p;
		int rc = weft_mpmc_pop_ctx(q_, &p, nullptr, tok.native_handle());
		if (rc == WEFT_OK)
			out = unbox(p);
		return status(rc);
	}
	template <class Deadline>
	[[nodiscard]] queue_op_status pop_ctx(T &out, const Deadline &d, cancel_token &tok)
	{
		void *p;
		int rc = detail::with_deadline(
			d, [&](const struct timespec *ts) { return weft_mpmc_pop_ctx(q_, &p, ts, tok.native_handle()); });
		if (rc == WEFT_OK)
			out = unbox(p);
		return status(rc);
	}

	/** Cases of weft::mpmc_select(): push @v, pop into @out (written only if
	 * this case is the one performed). */
	[[nodiscard]] select_case push_case(const T &v) noexcept
	{
		return select_case(weft_mpmc_case_t{q_, WEFT_MPMC_OP_PUSH, box(v)}, nullptr, nullptr);
	}
	[[nodiscard]] select_case pop_case(T &out) noexcept
	{
		return select_case(weft_mpmc_case_t{q_, WEFT_MPMC_OP_POP, nullptr}, &out, &store);
	}

	/**
	 * Batches, without blocking: push the longest prefix of @values[0..n)
	 * that fits, pop up to @n values into @out.  Return how many.  (Batches
	 * of more than 64 values go to the queue 64 at a time.)
	 */
	[[nodiscard]] std::size_t try_push_n(const T *values, std::size_t n) noexcept
	{
		if constexpr (std::is_same_v<T, void *>) {
			return weft_mpmc_push_n(q_, values, n);
		} else {
			std::size_t done = 0;
			while (done < n) {
				void *buf[64];
				std::size_t k = n - done < 64 ? n - done : 64;
				for (std::size_t i = 0; i < k; i++)
					buf[i] = box(values[done + i]);
				std::size_t got = weft_mpmc_push_n(q_, buf, k);
				done += got;
				if (got < k)
					break;
			}
			return done;
		}
	}
	[[nodiscard]] std::size_t try_pop_n(T *out, std::size_t n) noexcept
	{
		if constexpr (std::is_same_v<T, void *>) {
			return weft_mpmc_pop_n(q_, out, n);
		} else {
			std::size_t done = 0;
			while (done < n) {
				void *buf[64];
				std::size_t k = n - done < 64 ? n - done : 64;
				std::size_t got = weft_mpmc_pop_n(q_, buf, k);
				for (std::size_t i = 0; i < got; i++)
					out[done + i] = unbox(buf[i]);
				done += got;
				if (got < k)
					break;
			}
			return done;
		}
	}

	/** Refuse further pushes and wake every waiter; values already in stay poppable. */
	void close() noexcept { weft_mpmc_close(q_); }
	bool is_closed() noexcept { return weft_mpmc_is_closed(q_); }
	std::size_t capacity() const noexcept { return weft_mpmc_capacity(q_); }
	std::size_t size_approx() noexcept { return weft_mpmc_size_approx(q_); }

	using native_handle_type = weft_mpmc_t *;
	native_handle_type native_handle() noexcept { return q_; }

private:
	static void *box(const T &v) noexcept
	{
		void *p = nullptr;
		std::memcpy(static_cast<void *>(&p), static_cast<const void *>(&v), sizeof(T));
		return p;
	}
	static T unbox(void *p) noexcept
	{
		T v;
		std::memcpy(static_cast<void *>(&v), static_cast<const void *>(&p), sizeof(T));
		return v;
	}
	static queue_op_status status(int rc) noexcept { return detail::to_status(rc, "weft::mpmc_queue"); }
	static void store(void *out, void *item) noexcept { *static_cast<T *>(out) = unbox(item); }
	weft_mpmc_t *q_;
};

namespace detail {
/* weft::mpmc_select()'s body: the C cases in an array, the call, the popped
 * value to its T. */
template <class Deadline>
struct select_call {
	static select_result run(std::initializer_list<select_case> cases, const Deadline *d, cancel_token &tok)
	{
		weft_mpmc_case_t c[WEFT_MPMC_SELECT_MAX];
		std::size_t n = cases.size();
		if (n == 0 || n > WEFT_MPMC_SELECT_MAX)
			detail::fail(WEFT_EINVAL, "weft::mpmc_select");
		for (std::size_t i = 0; i < n; i++)
			c[i] = cases.begin()[i].c_;
		unsigned chosen = 0;
		auto op = [&](const struct timespec *ts) {
			return weft_mpmc_select(c, static_cast<unsigned>(n), ts, tok.native_handle(), &chosen);
		};
		int rc;
		if constexpr (std::is_void_v<Deadline>)
			rc = op(nullptr);
		else
			rc = detail::with_deadline(*d, op);
		op_status st = detail::to_status(rc, "weft::mpmc_select");
		if (st == op_status::success && c[chosen].op == WEFT_MPMC_OP_POP) {
			const select_case &sc = cases.begin()[chosen];
			sc.store_(sc.out_, c[chosen].item);
		}
		return select_result{st, st == op_status::success || st == op_status::closed ? chosen : 0};
	}
};
} // namespace detail

/**
 * weft::mpmc_select() - weft_mpmc_select(): perform exactly one of @cases
 * (queue.push_case(v), queue.pop_case(out), over queues of any T), the
 * first that can be done, sleeping until one can, until @tok is cancelled
 * [or until @d, a duration or a time point].  Go's select.
 *
 *   int job; std::uint32_t ctl;
 *   auto r = weft::mpmc_select({jobs.pop_case(job), control.pop_case(ctl)}, tok);
 *   if (r.status == weft::op_status::success && r.index == 0) run(job);
 *
 * success: cases[index] was performed (a pop wrote its @out; no other case
 * touched its queue or its @out); closed: cases[index] can never be
 * performed (a pop on a closed and drained queue, a push on a closed one),
 * reported only when no other case is ready; timeout / canceled: nothing was
 * performed (the token is read only when no case is ready).  Fair between
 * ready cases (a random start).  1 to WEFT_MPMC_SELECT_MAX cases; more, or
 * none, throws weft::error (WEFT_EINVAL).
 */
[[nodiscard]] inline select_result mpmc_select(std::initializer_list<select_case> cases, cancel_token &tok)
{
	return detail::select_call<void>::run(cases, nullptr, tok);
}
template <class Deadline>
[[nodiscard]] inline select_result mpmc_select(std::initializer_list<select_case> cases, const Deadline &d,
					       cancel_token &tok)
{
	return detail::select_call<Deadline>::run(cases, &d, tok);
}

/* ---- object pool ------------------------------------------------------- */

/**
 * weft::object_pool<T> - weft_pool_t of objects of type T: make(args...)
 * constructs a T in a free slot and returns it as a std::unique_ptr whose
 * deleter destroys the T and puts the slot back (on any thread).  The pool
 * must outlive its handles.  Owns the pool (weft_pool_create_aligned()).
 */
template <class T>
class object_pool {
	static_assert(alignof(T) <= WEFT_POOL_ALIGN_MAX, "object_pool<T>: alignof(T) above WEFT_POOL_ALIGN_MAX");

public:
	/** Destroys the T and gives its slot back to the pool. */
	class deleter {
	public:
		deleter() noexcept = default;
		explicit deleter(weft_pool_t *pool) noexcept : pool_(pool) {}
		void operator()(T *p) const noexcept
		{
			p->~T();
			weft_pool_put(pool_, static_cast<void *>(p));
		}

	private:
		weft_pool_t *pool_ = nullptr;
	};
	using handle = std::unique_ptr<T, deleter>;

	/** A pool of @capacity objects; @flags 0 or WEFT_POOL_NOCACHE. */
	explicit object_pool(std::size_t capacity, unsigned flags = 0)
		: p_(weft_pool_create_aligned(sizeof(T), alignof(T), capacity, flags))
	{
		if (!p_)
			detail::fail(weft_pool_bytes_aligned(sizeof(T), alignof(T), capacity) == 0 ? WEFT_EINVAL
												       : WEFT_ENOMEM,
				     "weft::object_pool");
	}
	~object_pool() { weft_pool_destroy(p_); }
	object_pool(const object_pool &) = delete;
	object_pool &operator=(const object_pool &) = delete;
	object_pool(object_pool &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
	object_pool &operator=(object_pool &&o) noexcept
	{
		std::swap(p_, o.p_);
		return *this;
	}

	/** A new T(@args...), or an empty handle if the pool is exhausted.
	 * If T's constructor throws, the slot goes back and the exception on. */
	template <class... Args>
	[[nodiscard]] handle make(Args &&...args)
	{
		void *mem = weft_pool_get(p_);
		if (!mem)
			return handle(nullptr, deleter(p_));
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
		try {
			return handle(::new (mem) T(std::forward<Args>(args)...), deleter(p_));
		} catch (...) {
			weft_pool_put(p_, mem);
			throw;
		}
#else
		return handle(::new (mem) T(std::forward<Args>(args)...), deleter(p_));
#endif
	}

	/** Capacity, objects in use, objects held in thread caches. */
	[[nodiscard]] struct weft_pool_stats stats() const
	{
		struct weft_pool_stats s;
		detail::check(weft_pool_stats(p_, &s), "weft::object_pool::stats");
		return s;
	}
	/** Give this thread's cached slots back to the shared list. */
	void flush() noexcept { weft_pool_flush(p_); }

	using native_handle_type = weft_pool_t *;
	native_handle_type native_handle() noexcept { return p_; }

private:
	weft_pool_t *p_;
};

#undef WEFT__PINNED

} // namespace weft

#endif /* WEFT_WEFT_HPP */
