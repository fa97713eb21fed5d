// SPDX-License-Identifier: MIT
//
// worker_pool.cpp - worker_pool.c with the C++ wrappers (weft.hpp, C++17):
// weft::mpmc_queue<job *> for the jobs, close() for shutdown, std::thread for
// the workers, and a weft::latch the main thread waits on until every worker
// has drained the queue.
//
// Build: c++ -std=c++17 worker_pool.cpp -lweft -pthread
#include <weft/weft.hpp>

#include <cstdio>
#include <thread>
#include <vector>

struct job {
	unsigned long input;
	unsigned long output;
};

static unsigned long work(unsigned long n)
{
	return n * n;
}

int main()
{
	constexpr int kWorkers = 4;
	constexpr int kJobs = 1000;

	weft::mpmc_queue<job *> queue(64); // throws weft::error on a bad capacity
	weft::latch drained(kWorkers);     // counted down by each worker as it exits
	weft::counter done;

	std::vector<std::thread> workers;
	for (int i = 0; i < kWorkers; i++)
		workers.emplace_back([&] {
			// pop() blocks; it returns std::nullopt once the queue is closed and empty.
			while (std::optional<job *> j = queue.pop()) {
				(*j)->output = work((*j)->input);
				++done;
			}
			drained.count_down();
		});

	std::vector<job> jobs(kJobs);
	for (int i = 0; i < kJobs; i++) {
		jobs[i].input = static_cast<unsigned long>(i);
		// push() is [[nodiscard]]: it reports a closed queue.
		if (queue.push(&jobs[i]) != weft::queue_op_status::success)
			return 1;
	}
	queue.close(); // shutdown: the workers finish what is queued, then leave

	drained.wait(); // every worker is done with the queue
	for (auto &t : workers)
		t.join();

	unsigned long sum = 0, want = 0;
	for (int i = 0; i < kJobs; i++) {
		sum += jobs[i].output;
		want += work(static_cast<unsigned long>(i));
	}
	std::printf("worker_pool (C++): %d workers ran %llu jobs; sum of results %lu (expected %lu)\n", kWorkers,
		    static_cast<unsigned long long>(done.load()), sum, want);
	return sum == want && done.load() == kJobs ? 0 : 1;
}
