// SPDX-License-Identifier: MIT
//
// test_cxx.cpp - weft.hpp driven by the standard library's generic code.
//
// The locks are used only through std::scoped_lock, std::unique_lock,
// std::shared_lock, std::lock and std::condition_variable_any; the
// semaphore, latch and barrier through templates written against the C++20
// <semaphore>/<latch>/<barrier> interfaces, which (built as C++20) run the
// std types through the same templates.  Every multi-thread case checks an
// invariant a broken wrapper would violate (mutual exclusion with an owner
// check, conservation through the queue, a semaphore's bound); waits are
// bounded by deadlines only to catch a hang.  Built plain and under TSan by
// `make check-cxx` (mk/cxx.mk).
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <string>
#include <type_traits>
#include <vector>
#if __cplusplus >= 202002L
#include <barrier>
#include <latch>
#include <semaphore>
#endif
#include <sys/syscall.h>
#include <unistd.h>

using namespace std::chrono_literals;

static std::atomic<int> passed{0}, failed{0}; // CHECKs run on several threads
#define CHECK(cond)                                                                                        \
	do {                                                                                               \
		if (cond) {                                                                                \
			passed++;                                                                          \
		} else {                                                                                   \
			failed++;                                                                          \
			std::printf("%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                  \
		}                                                                                          \
	} while (0)
#define CHECK_EQ(a, b)                                                                                     \
	do {                                                                                               \
		long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
		if (va_ == vb_) {                                                                          \
			passed++;                                                                          \
		} else {                                                                                   \
			failed++;                                                                          \
			std::printf("%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, va_, vb_); \
		}                                                                                          \
	} while (0)

static constexpr int kThreads = 4;
static constexpr int kIters = 20000;

template <class F>
static void run_threads(int n, F f)
{
	std::vector<std::thread> ts;
	for (int i = 0; i < n; i++)
		ts.emplace_back(f, i);
	for (auto &t : ts)
		t.join();
}

// ---- layout and traits: zero overhead, pinned objects ---------------------

static_assert(sizeof(weft::mutex) == sizeof(weft_mutex_t), "weft::mutex is the C object");
static_assert(sizeof(weft::spin_mutex) == sizeof(weft_spin_t), "no extra state");
static_assert(sizeof(weft::shared_mutex) == sizeof(weft_rwlock_t), "no extra state");
static_assert(sizeof(weft::condition_variable) == sizeof(weft_cond_t), "no extra state");
static_assert(sizeof(weft::counting_semaphore<>) == sizeof(weft_sem_t), "no extra state");
static_assert(sizeof(weft::mpmc_queue<int *>) == sizeof(void *), "a pointer to the C queue");
static_assert(!std::is_copy_constructible_v<weft::mutex> && !std::is_move_constructible_v<weft::mutex>,
	      "a mutex must not move");
static_assert(!std::is_move_assignable_v<weft::shared_mutex> && !std::is_move_constructible_v<weft::latch>,
	      "pinned");
static_assert(std::is_move_constructible_v<weft::mpmc_queue<int *>> &&
		      !std::is_copy_constructible_v<weft::mpmc_queue<int *>>,
	      "the queue owns its heap object");
static_assert(weft::counting_semaphore<5>::max() == 5, "C++20 shape");

// ---- Lockable through std::scoped_lock / std::unique_lock / std::lock ----

template <class M>
static void lockable(const char *name)
{
	M m;
	long counter = 0;
	std::atomic<int> inside{0};
	int overlaps = 0;
	run_threads(kThreads, [&](int) {
		for (int i = 0; i < kIters; i++) {
			std::scoped_lock lock(m);
			if (inside.fetch_add(1, std::memory_order_relaxed) != 0)
				overlaps++;
			counter++;
			inside.fetch_sub(1, std::memory_order_relaxed);
		}
	});
	CHECK_EQ(counter, (long)kThreads * kIters);
	CHECK_EQ(overlaps, 0);

	{
		std::unique_lock<M> held(m);
		std::thread([&] {
			std::unique_lock<M> other(m, std::try_to_lock);
			CHECK(!other.owns_lock());
		}).join();
	}
	std::unique_lock<M> again(m, std::try_to_lock);
	CHECK(again.owns_lock());
	again.unlock();

	// std::lock / std::scoped_lock of two: opposite orders, no deadlock
	M a, b;
	long both = 0;
	run_threads(2, [&](int id) {
		for (int i = 0; i < kIters / 4; i++) {
			if (id == 0) {
				std::scoped_lock lock(a, b);
				both++;
			} else {
				std::unique_lock<M> lb(b, std::defer_lock), la(a, std::defer_lock);
				std::lock(lb, la);
				both++;
			}
		}
	});
	CHECK_EQ(both, 2L * (kIters / 4));
	std::printf("  %s: Lockable ok\n", name);
}

// ---- TimedLockable ------------------------------------------------------

template <class M>
static void timed_lockable(const char *name)
{
	M m;
	{
		std::unique_lock<M> held(m);
		std::thread([&] {
			std::unique_lock<M> l1(m, 2ms);
			CHECK(!l1.owns_lock());
			std::unique_lock<M> l2(m, std::chrono::steady_clock::now() + 2ms);
			CHECK(!l2.owns_lock());
			std::unique_lock<M> l3(m, std::chrono::system_clock::now() + 2ms);
			CHECK(!l3.owns_lock());
			std::unique_lock<M> l4(m, -5s); // a past deadline: a trylock
			CHECK(!l4.owns_lock());
		}).join();
	}
	std::unique_lock<M> l(m, 10s);
	CHECK(l.owns_lock());
	l.unlock();
	CHECK(l.try_lock_until(std::chrono::system_clock::now() + 10s));
	std::printf("  %s: TimedLockable ok\n", name);
}

// ---- SharedTimedLockable through std::shared_lock -----------------------

template <class M>
static void shared_lockable(const char *name)
{
	M m;
	long a = 0, b = 0; // equal whenever no writer holds m
	long torn = 0;
	std::atomic<long> torn_seen{0};
	run_threads(kThreads, [&](int id) {
		for (int i = 0; i < kIters / 2; i++) {
			if (id == 0 && i % 8 == 0) {
				std::unique_lock<M> w(m);
				a++;
				b++;
			} else {
				std::shared_lock<M> r(m);
				if (a != b)
					torn_seen.fetch_add(1, std::memory_order_relaxed);
			}
		}
	});
	torn = torn_seen.load();
	CHECK_EQ(torn, 0);
	CHECK_EQ(a, (kIters / 2 + 7) / 8);
	{
		std::shared_lock<M> r1(m);
		std::thread([&] {
			std::shared_lock<M> r2(m, std::try_to_lock); // readers share
			CHECK(r2.owns_lock());
			std::unique_lock<M> w(m, 2ms); // a writer waits
			CHECK(!w.owns_lock());
		}).join();
	}
	{
		std::unique_lock<M> w(m);
		std::thread([&] {
			std::shared_lock<M> r(m, 2ms);
			CHECK(!r.owns_lock());
			std::shared_lock<M> r2(m, std::chrono::system_clock::now() + 2ms);
			CHECK(!r2.owns_lock());
		}).join();
	}
	std::shared_lock<M> r(m, 10s);
	CHECK(r.owns_lock());
	std::printf("  %s: SharedTimedLockable ok\n", name);
}

// ---- condition variables ------------------------------------------------

template <class CV, class M>
static void condvar(const char *name)
{
	M m;
	CV cv;
	int ready = 0, consumed = 0;
	std::thread consumer([&] {
		for (int i = 1; i <= 200; i++) {
			std::unique_lock<M> l(m);
			cv.wait(l, [&] { return ready >= i; });
			consumed = i;
			cv.notify_all();
		}
	});
	for (int i = 1; i <= 200; i++) {
		std::unique_lock<M> l(m);
		ready = i;
		cv.notify_one();
		bool ok = cv.wait_for(l, 10s, [&] { return consumed >= i; });
		CHECK(ok);
	}
	consumer.join();
	std::unique_lock<M> l(m);
	(void)cv.wait_for(l, 1ms); // timeout or a spurious wake-up: either is allowed
	CHECK(!cv.wait_for(l, 1ms, [] { return false; }));
	CHECK(!cv.wait_until(l, std::chrono::system_clock::now() + 1ms, [] { return false; }));
	CHECK(cv.wait_until(l, std::chrono::steady_clock::now() + 1s, [] { return true; }));
	std::printf("  %s: condition variable ok\n", name);
}

// ---- the C++20 shapes -----------------------------------------------------

template <class Sem>
static void semaphore_shape(const char *name)
{
	constexpr int kBound = 2;
	Sem sem(kBound);
	std::atomic<int> inside{0};
	std::atomic<int> worst{0};
	run_threads(kThreads, [&](int) {
		for (int i = 0; i < kIters / 10; i++) {
			if (i % 2)
				sem.acquire();
			else if (!sem.try_acquire_for(10s))
				continue;
			int now = inside.fetch_add(1) + 1;
			int w = worst.load();
			while (now > w && !worst.compare_exchange_weak(w, now)) {
			}
			inside.fetch_sub(1);
			sem.release();
		}
	});
	CHECK(worst.load() <= kBound);
	CHECK(sem.try_acquire());
	CHECK(sem.try_acquire());
	CHECK(!sem.try_acquire());
	CHECK(!sem.try_acquire_for(1ms));
	CHECK(!sem.try_acquire_until(std::chrono::steady_clock::now() + 1ms));
	CHECK(!sem.try_acquire_until(std::chrono::system_clock::now() + 1ms));
	sem.release(2);
	CHECK(sem.try_acquire_until(std::chrono::steady_clock::now() + 1s));
	CHECK(Sem::max() >= kBound);
	std::printf("  %s: counting_semaphore shape ok\n", name);
}

template <class Latch>
static void latch_shape(const char *name)
{
	Latch done(kThreads);
	std::vector<int> out(kThreads, 0);
	CHECK(!done.try_wait());
	std::thread waiter([&] {
		done.wait();
		for (int i = 0; i < kThreads; i++)
			CHECK_EQ(out[i], i + 1); // published by count_down
	});
	run_threads(kThreads, [&](int id) {
		out[id] = id + 1;
		if (id == 0)
			done.arrive_and_wait();
		else
			done.count_down();
	});
	waiter.join();
	CHECK(done.try_wait());
	CHECK(Latch::max() >= kThreads);
	std::printf("  %s: latch shape ok\n", name);
}

template <class Barrier>
static void barrier_shape(const char *name)
{
	Barrier bar(kThreads);
	constexpr int kPhases = 50;
	std::vector<int> slot(kThreads, 0);
	std::atomic<int> bad{0};
	run_threads(kThreads, [&](int id) {
		for (int p = 1; p <= kPhases; p++) {
			slot[id] = p;
			bar.arrive_and_wait();
			for (int j = 0; j < kThreads; j++)
				if (slot[j] != p)
					bad.fetch_add(1);
			bar.arrive_and_wait();
		}
	});
	CHECK_EQ(bad.load(), 0);
	std::printf("  %s: barrier shape ok\n", name);
}

// ---- the rest -------------------------------------------------------------

static void once()
{
	weft::once_flag flag;
	std::atomic<int> calls{0};
	int value = 0;
	run_threads(kThreads, [&](int) {
		weft::call_once(
			flag,
			[&](int v) {
				calls.fetch_add(1);
				std::this_thread::sleep_for(1ms);
				value = v;
			},
			42);
		CHECK_EQ(value, 42); // visible to every caller that returns
	});
	CHECK_EQ(calls.load(), 1);
	CHECK(flag.done());
	// nested: a callable may run call_once on another flag
	weft::once_flag outer, inner;
	int n = 0;
	weft::call_once(outer, [&] { weft::call_once(inner, [&] { n += 10; }); n += 1; });
	CHECK_EQ(n, 11);
	std::printf("  once_flag: ok\n");
}

static void counters()
{
	weft::counter c;
	weft::sharded_counter s;
	run_threads(kThreads, [&](int) {
		for (int i = 0; i < kIters; i++) {
			++c;
			s += 2;
			--s;
		}
	});
	CHECK_EQ(c.load(), (long long)kThreads * kIters);
	CHECK_EQ(s.read(), (long long)kThreads * kIters);
	CHECK_EQ(c.fetch_add(5), (long long)kThreads * kIters);
	std::printf("  counter, sharded_counter: ok\n");
}

static void queue()
{
	// conservation through the queue, with close() for shutdown
	weft::mpmc_queue<std::uint32_t> q(64);
	constexpr std::uint32_t kPer = 5000;
	std::atomic<std::uint64_t> sum{0};
	std::atomic<std::uint64_t> count{0};
	std::atomic<int> producers_left{2};
	run_threads(kThreads, [&](int id) {
		if (id < 2) {
			for (std::uint32_t i = 1; i <= kPer; i++) {
				std::uint32_t v = i * 2 + (std::uint32_t)id;
				if (i % 3 == 0) {
					std::uint32_t batch[1] = {v};
					while (q.try_push_n(batch, 1) != 1)
						std::this_thread::yield();
				} else if (q.push(v) != weft::queue_op_status::success) {
					CHECK(false);
				}
			}
			if (producers_left.fetch_sub(1) == 1)
				q.close();
		} else {
			std::uint32_t buf[8];
			for (;;) {
				std::size_t n = q.try_pop_n(buf, 8);
				for (std::size_t i = 0; i < n; i++)
					sum += buf[i];
				count += n;
				if (n)
					continue;
				auto v = q.pop(); // blocks; nullopt once closed and drained
				if (!v)
					break;
				sum += *v;
				count++;
			}
		}
	});
	std::uint64_t want = 0;
	for (std::uint32_t id = 0; id < 2; id++)
		for (std::uint32_t i = 1; i <= kPer; i++)
			want += i * 2 + id;
	CHECK_EQ(count.load(), 2 * kPer);
	CHECK_EQ(sum.load(), want);
	CHECK(q.push(1) == weft::queue_op_status::closed);
	CHECK(q.try_push(1) == weft::queue_op_status::closed);

	weft::mpmc_queue<int *> p(2);
	int x = 7;
	CHECK(p.try_push(&x) == weft::queue_op_status::success);
	CHECK(p.try_push(&x) == weft::queue_op_status::success);
	CHECK(p.try_push(&x) == weft::queue_op_status::full);
	CHECK(p.push_for(&x, 1ms) == weft::queue_op_status::timeout);
	int *out = nullptr;
	CHECK(p.pop_for(out, 1s) == weft::queue_op_status::success && out == &x);
	CHECK(p.pop_until(out, std::chrono::system_clock::now() + 1s) == weft::queue_op_status::success);
	CHECK(p.try_pop(out) == weft::queue_op_status::empty);
	CHECK(p.pop_for(out, 1ms) == weft::queue_op_status::timeout);
	CHECK(p.pop_until(out, std::chrono::steady_clock::now() + 1ms) == weft::queue_op_status::timeout);
	weft::mpmc_queue<int *> moved(std::move(p));
	CHECK(moved.capacity() == 2);
#if defined(__cpp_exceptions)
	bool threw = false;
	try {
		weft::mpmc_queue<int *> bad(3); // not a power of two
	} catch (const weft::error &e) {
		threw = e.code() == WEFT_EINVAL && std::string(e.what()).find("weft::mpmc_queue") == 0;
	}
	CHECK(threw);
#endif
	std::printf("  mpmc_queue: ok\n");
}

static std::atomic<int> live_objects{0};
struct Widget {
	explicit Widget(int v) : value(v) { live_objects++; }
	~Widget() { live_objects--; }
	int value;
	char pad[40];
};

static void pool()
{
	weft::object_pool<Widget> pool(8);
	{
		std::vector<weft::object_pool<Widget>::handle> hs;
		for (int i = 0; i < 8; i++) {
			auto h = pool.make(i);
			CHECK(h != nullptr);
			hs.push_back(std::move(h));
		}
		CHECK(pool.make(99) == nullptr); // exhausted: an empty handle
		CHECK_EQ(live_objects.load(), 8);
		CHECK_EQ(hs[3]->value, 3);
		// handles die on another thread
		std::thread([&] { hs.clear(); }).join();
	}
	CHECK_EQ(live_objects.load(), 0);
	run_threads(kThreads, [&](int id) {
		for (int i = 0; i < 1000; i++) {
			auto h = pool.make(id);
			if (h)
				CHECK_EQ(h->value, id);
		}
		pool.flush();
	});
	CHECK_EQ(live_objects.load(), 0);
	CHECK_EQ(pool.stats().in_use, 0);
	std::printf("  object_pool: ok\n");
}

// ---- cancellation: cancel_token and the `_ctx` members --------------------

static void tokens()
{
	weft::cancel_token root;
	weft::cancel_token child(&root), grandchild(&child), sibling(&root);
	CHECK(!root.requested() && !child.requested() && !grandchild.requested());
	CHECK(weft_cancel_requested(grandchild.native_handle()) == grandchild.requested());
	child.cancel(); // down the tree, never up or sideways
	CHECK(child.requested() && grandchild.requested());
	CHECK(!root.requested() && !sibling.requested());
	root.cancel();
	CHECK(sibling.requested());
	root.cancel(); // twice: harmless
	weft::cancel_token shared(weft::process_shared), shared_child(weft::process_shared, &shared);
	shared.cancel();
	CHECK(shared_child.requested());
	static_assert(sizeof(weft::cancel_token) == sizeof(weft_cancel_t), "the C token itself");
	static_assert(!std::is_copy_constructible_v<weft::cancel_token> &&
			      !std::is_move_constructible_v<weft::cancel_token>,
		      "waiters and children hold its address");
#if defined(__cpp_exceptions)
	// a chain longer than WEFT_CANCEL_MAX_CHAIN is refused, by weft::error
	bool threw = false;
	{
		std::vector<std::unique_ptr<weft::cancel_token>> chain;
		chain.push_back(std::make_unique<weft::cancel_token>());
		try {
			for (int i = 1; i <= WEFT_CANCEL_MAX_CHAIN; i++)
				chain.push_back(std::make_unique<weft::cancel_token>(chain.back().get()));
		} catch (const weft::error &e) {
			threw = e.code() == WEFT_EINVAL && chain.size() == WEFT_CANCEL_MAX_CHAIN;
		}
		while (!chain.empty()) // children before their parents
			chain.pop_back();
	}
	CHECK(threw);
#endif
	std::printf("  cancel_token: ok\n");
}

// Wait until thread @tid sleeps in the kernel (state S or D): only a hint
// (false if it never did within ~20 s), so that the cancel below is the one
// that wakes a sleeper rather than one the waiter finds before it sleeps.
// As check_wait_until_sleeping() in tests/check.h; not a timing assertion.
static bool wait_until_sleeping(pid_t tid)
{
	std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
	for (int i = 0; i < 20000; i++) {
		if (FILE *f = std::fopen(path.c_str(), "r")) {
			char buf[512];
			std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
			std::fclose(f);
			buf[n] = '\0';
			const char *p = std::strrchr(buf, ')');
			if (p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D'))
				return true;
		} else {
			return false;
		}
		std::this_thread::sleep_for(1ms);
	}
	return false;
}

// The deadline forms of a `_ctx` member, each run by cancel_wakes(): none, a
// duration, a steady_clock and a system_clock time point, all an hour away,
// so that a canceled result cannot be a deadline that passed (a lost wake-up
// hangs instead, and the alarm() in main() ends the run).
enum class form { none, duration, steady, system, count };

template <class Wait>
static weft::op_status with_form(form f, weft::cancel_token &tok, Wait wait)
{
	switch (f) {
	case form::duration:
		return wait(1h, tok);
	case form::steady:
		return wait(std::chrono::steady_clock::now() + 1h, tok);
	case form::system:
		return wait(std::chrono::system_clock::now() + 1h, tok);
	default:
		return wait(tok);
	}
}

// A waiter in @wait (given the token and the form) sleeps; then its token is
// cancelled, directly or (every other round) through the token's parent.
// The waiter must report canceled, and @after (run by the waiter) checks that
// the operation was not performed.
template <class Wait>
static void cancel_wakes(const char *name, Wait wait)
{
	int slept = 0;
	for (int f = 0; f < (int)form::count; f++) {
		for (int via_parent = 0; via_parent < 2; via_parent++) {
			weft::cancel_token root, tok(&root);
			std::atomic<pid_t> tid{0};
			weft::op_status got = weft::op_status::success;
			std::thread waiter([&] {
				tid.store((pid_t)syscall(SYS_gettid), std::memory_order_release);
				got = wait((form)f, tok);
			});
			pid_t t;
			while ((t = tid.load(std::memory_order_acquire)) == 0)
				std::this_thread::yield();
			slept += wait_until_sleeping(t);
			(via_parent ? root : tok).cancel();
			waiter.join();
			CHECK(got == weft::op_status::canceled);
		}
	}
	std::printf("  %s: a cancel wakes its sleeper (%d of %d were seen asleep)\n", name, slept,
		    2 * (int)form::count);
}

// mutex: a cancelled lock_ctx does not hold the mutex.  clang's
// -Wthread-safety cannot follow a lock taken through an enum result
// (docs/cxx.md), hence no analysis here.
static void mutex_ctx() WEFT_NO_THREAD_SAFETY_ANALYSIS
{
	weft::mutex m;
	m.lock();
	cancel_wakes("mutex::lock_ctx", [&](form f, weft::cancel_token &tok) {
		return with_form(f, tok, [&](auto &&...a) { return m.lock_ctx(a...); });
	});
	weft::cancel_token tok;
	std::thread([&] { CHECK(m.lock_ctx(1ms, tok) == weft::op_status::timeout); }).join();
	m.unlock();
	tok.cancel();
	CHECK(m.lock_ctx(tok) == weft::op_status::success); // free: the token is not read
	std::thread([&] { CHECK(m.lock_ctx(tok) == weft::op_status::canceled); }).join();
	m.unlock();
	CHECK(m.try_lock()); // no cancelled waiter left holding it
	m.unlock();
	weft::cancel_token live;
	CHECK(m.lock_ctx(std::chrono::system_clock::now() + 1h, live) == weft::op_status::success);
	m.unlock();
}

// shared mutexes: a cancelled writer or reader holds nothing (as mutex_ctx())
template <class M>
static void shared_mutex_ctx(const char *name) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
	std::string lock_name = std::string(name) + "::lock_ctx", shared_name = std::string(name) + "::lock_shared_ctx";
	M rw;
	rw.lock_shared(); // a reader: writers wait
	cancel_wakes(lock_name.c_str(), [&](form f, weft::cancel_token &tok) {
		return with_form(f, tok, [&](auto &&...a) { return rw.lock_ctx(a...); });
	});
	weft::cancel_token tok;
	std::thread([&] { CHECK(rw.lock_ctx(1ms, tok) == weft::op_status::timeout); }).join();
	rw.unlock_shared();
	rw.lock(); // a writer: readers wait
	cancel_wakes(shared_name.c_str(), [&](form f, weft::cancel_token &t) {
		return with_form(f, t, [&](auto &&...a) { return rw.lock_shared_ctx(a...); });
	});
	std::thread([&] { CHECK(rw.lock_shared_ctx(1ms, tok) == weft::op_status::timeout); }).join();
	rw.unlock();
	CHECK(rw.try_lock()); // the cancelled waiters hold nothing
	rw.unlock();
	tok.cancel();
	CHECK(rw.lock_shared_ctx(tok) == weft::op_status::success); // free: the token is not read
	std::thread([&]() WEFT_NO_THREAD_SAFETY_ANALYSIS {
		CHECK(rw.lock_shared_ctx(tok) == weft::op_status::success); // readers share
		rw.unlock_shared();
		CHECK(rw.lock_ctx(tok) == weft::op_status::canceled);
	}).join();
	rw.unlock_shared();
	CHECK(rw.lock_ctx(std::chrono::system_clock::now() + 1h, tok) == weft::op_status::success);
	rw.unlock();
}

static void ctx_members()
{
	mutex_ctx();
	shared_mutex_ctx<weft::shared_mutex>("shared_mutex");
	shared_mutex_ctx<weft::br_shared_mutex>("br_shared_mutex");
	// condition variable: canceled with the lock held again; a cancelled
	// token does not stop a predicate already true
	{
		weft::mutex m;
		weft::condition_variable cv;
		bool held_after = true;
		cancel_wakes("condition_variable::wait_ctx", [&](form f, weft::cancel_token &tok) {
			std::unique_lock<weft::mutex> lk(m);
			auto st = with_form(f, tok, [&](auto &&...a) { return cv.wait_ctx(lk, a...); });
			held_after = held_after && lk.owns_lock() && !m.try_lock();
			return st;
		});
		CHECK(held_after);
		weft::cancel_token tok;
		tok.cancel();
		std::unique_lock<weft::mutex> lk(m);
		CHECK(cv.wait_ctx(lk, tok) == weft::op_status::canceled);
		CHECK(!cv.wait_ctx(lk, tok, [] { return false; }));
		CHECK(cv.wait_ctx(lk, tok, [] { return true; }));
		CHECK(!cv.wait_ctx(lk, 1h, tok, [] { return false; }));
		weft::cancel_token live;
		CHECK(cv.wait_ctx(lk, 1ms, live) != weft::op_status::canceled); // timeout, or spurious
		CHECK(!cv.wait_ctx(lk, 1ms, live, [] { return false; }));     // the deadline ends it
		CHECK(lk.owns_lock());
		// the predicate form wakes to a notification and returns true
		bool ready = false;
		std::thread t([&] {
			std::this_thread::sleep_for(1ms);
			std::scoped_lock g(m);
			ready = true;
			cv.notify_all();
		});
		CHECK(cv.wait_ctx(lk, 1h, live, [&] { return ready; }));
		lk.unlock();
		t.join();
	}
	// latch: canceled while closed; open wins over a cancelled token
	{
		weft::latch l(1);
		cancel_wakes("latch::wait_ctx", [&](form f, weft::cancel_token &tok) {
			return with_form(f, tok, [&](auto &&...a) { return l.wait_ctx(a...); });
		});
		weft::cancel_token tok;
		CHECK(l.wait_ctx(1ms, tok) == weft::op_status::timeout);
		tok.cancel();
		CHECK(l.wait_ctx(tok) == weft::op_status::canceled);
		l.count_down();
		CHECK(l.wait_ctx(tok) == weft::op_status::success); // open: the token is not read
	}
	// barrier: a cancelled arrival is withdrawn
	{
		weft::barrier b(2);
		cancel_wakes("barrier::wait_ctx", [&](form f, weft::cancel_token &tok) {
			return with_form(f, tok, [&](auto &&...a) { return b.wait_ctx(a...); });
		});
		// had one of those arrivals stayed, this one would complete the phase
		weft::cancel_token tok;
		bool serial = true;
		CHECK(b.wait_ctx(1ms, tok, &serial) == weft::op_status::timeout && !serial);
		std::atomic<int> serials{0}, ok{0};
		run_threads(2, [&](int) {
			bool s = false;
			if (b.wait_ctx(1h, tok, &s) == weft::op_status::success)
				ok++;
			serials += s;
		});
		CHECK_EQ(ok.load(), 2);
		CHECK_EQ(serials.load(), 1);
	}
	// semaphore: nothing taken by a cancelled wait; an available unit is taken
	{
		weft::counting_semaphore<4> sem(0);
		cancel_wakes("counting_semaphore::acquire_ctx", [&](form f, weft::cancel_token &tok) {
			return with_form(f, tok, [&](auto &&...a) { return sem.acquire_ctx(a...); });
		});
		CHECK_EQ(sem.value(), 0);
		weft::cancel_token tok;
		CHECK(sem.acquire_ctx(1ms, tok) == weft::op_status::timeout);
		tok.cancel();
		CHECK(sem.acquire_ctx(tok) == weft::op_status::canceled);
		sem.release(2);
		CHECK(sem.acquire_ctx(tok) == weft::op_status::success); // a unit: the token is not read
		CHECK(sem.acquire_ctx(std::chrono::system_clock::now() + 1h, tok) == weft::op_status::success);
		CHECK(sem.acquire_ctx(tok) == weft::op_status::canceled);
		CHECK_EQ(sem.value(), 0);
	}
	// queue: nothing pushed into a full queue, nothing popped from an empty one
	{
		weft::mpmc_queue<std::uint32_t> q(2);
		cancel_wakes("mpmc_queue::pop_ctx", [&](form f, weft::cancel_token &tok) {
			std::uint32_t out = 77;
			auto st = with_form(f, tok, [&](auto &&...a) { return q.pop_ctx(out, a...); });
			CHECK_EQ(out, 77); // untouched
			return st;
		});
		CHECK(q.try_push(1) == weft::queue_op_status::success);
		CHECK(q.try_push(2) == weft::queue_op_status::success);
		cancel_wakes("mpmc_queue::push_ctx", [&](form f, weft::cancel_token &tok) {
			return with_form(f, tok, [&](auto &&...a) { return q.push_ctx(3, a...); });
		});
		weft::cancel_token tok;
		CHECK(q.push_ctx(3, 1ms, tok) == weft::queue_op_status::timeout);
		tok.cancel();
		CHECK(q.push_ctx(3, tok) == weft::queue_op_status::canceled);
		std::uint32_t a = 0, b = 0, c = 0;
		CHECK(q.pop_ctx(a, tok) == weft::queue_op_status::success); // a value: the token is not read
		CHECK(q.pop_ctx(b, 1h, tok) == weft::queue_op_status::success);
		CHECK(q.pop_ctx(c, tok) == weft::queue_op_status::canceled);
		CHECK(a == 1 && b == 2 && c == 0); // the cancelled pushes left nothing
		q.close();
		weft::cancel_token live;
		CHECK(q.pop_ctx(c, live) == weft::queue_op_status::closed);
		CHECK(q.push_ctx(4, std::chrono::steady_clock::now() + 1h, live) == weft::queue_op_status::closed);
	}
}

// weft::mpmc_select over queues of different value types
static void select_queues()
{
	weft::mpmc_queue<int> ints(4);
	weft::mpmc_queue<int *> ptrs(4);
	weft::cancel_token tok;
	int i = -1, x = 5;
	int *p = nullptr;
	CHECK(ptrs.try_push(&x) == weft::queue_op_status::success);
	auto r = weft::mpmc_select({ints.pop_case(i), ptrs.pop_case(p)}, tok);
	CHECK(r.status == weft::op_status::success && r.index == 1);
	CHECK(p == &x && i == -1); // only the chosen case's out is written
	r = weft::mpmc_select({ints.pop_case(i), ptrs.pop_case(p)}, 1ms, tok);
	CHECK(r.status == weft::op_status::timeout);
	r = weft::mpmc_select({ints.pop_case(i), ints.push_case(9)}, std::chrono::system_clock::now() + 1h, tok);
	CHECK(r.status == weft::op_status::success && r.index == 1 && i == -1);
	CHECK(ints.try_pop(i) == weft::queue_op_status::success && i == 9);
	// a sleeping select is woken by a cancel; nothing is taken
	ptrs.close();
	cancel_wakes("mpmc_select", [&](form f, weft::cancel_token &t) {
		i = -1;
		auto st = with_form(f, t, [&](auto &&...a) { return weft::mpmc_select({ints.pop_case(i)}, a...).status; });
		CHECK_EQ(i, -1);
		return st;
	});
	// closed and drained, reported only when nothing else is ready
	r = weft::mpmc_select({ints.pop_case(i), ptrs.pop_case(p)}, tok);
	CHECK(r.status == weft::op_status::closed && r.index == 1);
	CHECK(ints.try_push(3) == weft::queue_op_status::success);
	r = weft::mpmc_select({ptrs.pop_case(p), ints.pop_case(i)}, tok);
	CHECK(r.status == weft::op_status::success && r.index == 1 && i == 3);
	// conservation: two producers, one consumer selecting over both queues
	weft::mpmc_queue<std::uint32_t> a(8), b(8);
	constexpr std::uint32_t kPer = 3000;
	std::uint64_t sum = 0;
	run_threads(3, [&](int id) {
		if (id < 2) {
			auto &q = id ? b : a;
			for (std::uint32_t v = 1; v <= kPer; v++)
				CHECK(q.push(v * 2 + (std::uint32_t)id) == weft::queue_op_status::success);
			return;
		}
		for (std::uint32_t n = 0; n < 2 * kPer; n++) {
			std::uint32_t va = 0, vb = 0;
			auto res = weft::mpmc_select({a.pop_case(va), b.pop_case(vb)}, 1h, tok);
			CHECK(res.status == weft::op_status::success);
			sum += res.index ? vb : va;
			CHECK((res.index ? va : vb) == 0);
		}
	});
	CHECK_EQ(sum, (std::uint64_t)kPer * (kPer + 1) * 2 + kPer);
#if defined(__cpp_exceptions)
	bool threw = false;
	try {
		(void)weft::mpmc_select({}, tok);
	} catch (const weft::error &e) {
		threw = e.code() == WEFT_EINVAL;
	}
	CHECK(threw);
#endif
	std::printf("  mpmc_select: ok\n");
}

#if defined(__cpp_lib_jthread)
// g++ 12 -O2 warns that a local std::stop_source "may be used uninitialized"
// inside libstdc++'s own constructor (it passes *this to the state it is
// building): a false positive about <stop_token>, not about weft.hpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// C++20: a std::stop_token tied to a cancel_token by weft::cancel_on_stop
static void stop_token_bridge()
{
	{ // a stop requested already cancels in the constructor
		std::stop_source src;
		src.request_stop();
		weft::cancel_token tok;
		weft::cancel_on_stop link(src.get_token(), tok);
		CHECK(tok.requested());
	}
	{ // a bridge destroyed before the stop cancels nothing
		std::stop_source src;
		weft::cancel_token tok;
		{
			weft::cancel_on_stop link(src.get_token(), tok);
		}
		src.request_stop();
		CHECK(!tok.requested());
	}
	// a std::jthread's request_stop() wakes its worker's sleeping pop_ctx
	weft::mpmc_queue<int> q(4);
	std::atomic<pid_t> tid{0};
	std::atomic<int> got{-1};
	std::jthread worker([&](std::stop_token st) {
		weft::cancel_token tok;
		weft::cancel_on_stop link(st, tok);
		tid.store((pid_t)syscall(SYS_gettid), std::memory_order_release);
		int v = 0;
		got = (int)q.pop_ctx(v, tok);
	});
	pid_t t;
	while ((t = tid.load(std::memory_order_acquire)) == 0)
		std::this_thread::yield();
	(void)wait_until_sleeping(t);
	worker.request_stop();
	worker.join();
	CHECK_EQ(got.load(), (int)weft::op_status::canceled);
	CHECK(q.size_approx() == 0);
	std::printf("  cancel_on_stop: a std::stop_token's stop cancels the token\n");
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

int main()
{
	std::printf("test_cxx (C++%ld)\n", (long)(__cplusplus / 100 % 100));
	lockable<weft::mutex>("weft::mutex");
	lockable<weft::spin_mutex>("weft::spin_mutex");
	lockable<weft::ticket_mutex>("weft::ticket_mutex");
	lockable<weft::shared_mutex>("weft::shared_mutex");
	lockable<weft::br_shared_mutex>("weft::br_shared_mutex");
	timed_lockable<weft::mutex>("weft::mutex");
	timed_lockable<weft::shared_mutex>("weft::shared_mutex");
	timed_lockable<weft::br_shared_mutex>("weft::br_shared_mutex");
	shared_lockable<weft::shared_mutex>("weft::shared_mutex");
	shared_lockable<weft::br_shared_mutex>("weft::br_shared_mutex");
	condvar<weft::condition_variable, weft::mutex>("weft::condition_variable + weft::mutex");
	condvar<std::condition_variable_any, weft::mutex>("std::condition_variable_any + weft::mutex");
	condvar<std::condition_variable_any, weft::spin_mutex>("std::condition_variable_any + weft::spin_mutex");
	semaphore_shape<weft::counting_semaphore<2>>("weft::counting_semaphore");
	latch_shape<weft::latch>("weft::latch");
	barrier_shape<weft::barrier>("weft::barrier");
#if __cplusplus >= 202002L
	// the same templates over the standard's types: the shapes match
	semaphore_shape<std::counting_semaphore<2>>("std::counting_semaphore");
	latch_shape<std::latch>("std::latch");
	barrier_shape<std::barrier<>>("std::barrier");
#endif
	once();
	counters();
	queue();
	pool();
	alarm(600); // a lost wake-up in a `_ctx` wait hangs: end the run instead
	tokens();
	ctx_members();
	select_queues();
#if defined(__cpp_lib_jthread)
	stop_token_bridge();
#endif
	alarm(0);
	std::printf("test_cxx: %d passed, %d failed\n", passed.load(), failed.load());
	return failed ? 1 : 0;
}
