// SPDX-License-Identifier: MIT
//
// cost_bench.cpp - `make cxx-cost-bench`: the C loop (cost_c.c) and the C++
// loop (cost_cxx.cpp, weft::mutex through std::scoped_lock) timed in turn,
// A B A B ..., on 1 thread and on 2 threads sharing one lock.  Prints the
// median ns per lock/unlock of each and their ratio.  A measurement to read,
// not a test: on a shared, noisy machine the A/A spread is the noise floor.
#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

extern "C" void weft_cost_loop_c(weft_mutex_t *m, long n, long *x);
extern "C" void weft_cost_loop_cxx(weft::mutex *m, long n, long *x);

static double run(bool cxx, int threads, long n)
{
	weft::mutex m;
	long x = 0;
	auto body = [&] {
		if (cxx)
			weft_cost_loop_cxx(&m, n, &x);
		else
			weft_cost_loop_c(m.native_handle(), n, &x);
	};
	auto t0 = std::chrono::steady_clock::now();
	std::vector<std::thread> ts;
	for (int i = 1; i < threads; i++)
		ts.emplace_back(body);
	body();
	for (auto &t : ts)
		t.join();
	auto t1 = std::chrono::steady_clock::now();
	return std::chrono::duration<double, std::nano>(t1 - t0).count() / (double)(n * threads);
}

static double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? std::atoi(argv[1]) : 11;
	long n = argc > 2 ? std::atol(argv[2]) : 2000000;
	std::thread idle([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); }); // not single-threaded
	idle.join();
	for (int threads : {1, 2}) {
		std::vector<double> c, cxx, c2;
		for (int r = 0; r < reps; r++) {
			c.push_back(run(false, threads, n));
			cxx.push_back(run(true, threads, n));
			c2.push_back(run(false, threads, n)); // A/A: the noise floor
		}
		double mc = median(c), mx = median(cxx), mc2 = median(c2);
		std::printf("threads %d: C %.2f ns/op, C++ %.2f ns/op, C again %.2f ns/op; C++/C %.3f, A/A %.3f (%d reps)\n",
			    threads, mc, mx, mc2, mx / mc, mc2 / mc, reps);
	}
	return 0;
}
