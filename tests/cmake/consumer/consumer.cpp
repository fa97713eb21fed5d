// SPDX-License-Identifier: MIT
// A C++ consumer built by CMake: weft.hpp's types through the standard adapters.
#include <weft/weft.hpp>

#include <cstdio>
#include <mutex>
#include <thread>

int main()
{
	weft::mutex lock;
	weft::mpmc_queue<long> queue(16);
	long total = 0;
	std::thread producer([&] {
		for (long i = 1; i <= 1000; i++) {
			{
				std::scoped_lock guard(lock);
				total += i;
			}
			if (queue.push(i) != weft::queue_op_status::success)
				return;
		}
		queue.close();
	});
	long popped = 0;
	while (auto v = queue.pop())
		popped += *v;
	producer.join();
	std::printf("weft %s C++ consumer: total %ld, popped %ld\n", WEFT_VERSION_STRING, total, popped);
	return total == 500500 && popped == 500500 ? 0 : 1;
}
