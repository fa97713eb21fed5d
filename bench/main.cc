// SPDX-License-Identifier: MIT
//
// main.cc - the benchmark program: a second thread, calibration, the rows,
// and a console reporter that shows progress ([k/N] and the time left).

#include "shim.h"
#include "shim_internal.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include <pthread.h>
#include <unistd.h>

namespace {

// glibc takes shortcuts (no atomic instructions in some paths) while a process
// has a single thread; a sleeping second thread keeps every row honest.
void *sleeper(void *)
{
	for (;;)
		pause();
	return nullptr;
}

// Google Benchmark's filter syntax: a regex, or "-regex" for its complement.
size_t count_matching(const std::vector<std::string> &names, std::string filter)
{
	if (filter.empty() || filter == "all" || filter == ".")
		return names.size();
	bool negate = false;
	if (filter[0] == '-') {
		negate = true;
		filter.erase(0, 1);
	}
	std::regex re(filter, std::regex::extended);
	size_t n = 0;
	for (const std::string &s : names)
		if (std::regex_search(s, re) != negate)
			n++;
	return n;
}

// The console shows one line per row: its median over the repetitions (or its
// only run).  Progress comes from the runner (shim.cc), one repetition at a
// time, because Google Benchmark reports a row only after its last repetition
// and random interleaving finishes most rows near the end.
class MedianReporter : public benchmark::ConsoleReporter {
public:
	MedianReporter(long reps, bool tty)
		: ConsoleReporter(tty ? OO_Color : OO_None), reps_(reps), tty_(tty)
	{
	}

	void ReportRuns(const std::vector<Run> &reports) override
	{
		std::vector<Run> keep;
		for (const Run &r : reports)
			if (reps_ == 1 ? r.run_type == Run::RT_Iteration
				       : r.run_type == Run::RT_Aggregate && r.aggregate_name == "median")
				keep.push_back(r);
		if (keep.empty())
			return;
		if (tty_)
			std::fputs("\r\033[K", stderr); // erase the progress line
		ConsoleReporter::ReportRuns(keep);
	}

private:
	long reps_;
	bool tty_;
};

} // namespace

int main(int argc, char **argv)
{
	pthread_t second;
	if (pthread_create(&second, nullptr, sleeper, nullptr) != 0) {
		std::perror("pthread_create");
		return 1;
	}
	pthread_detach(second);

	// repetitions and min_time, read before Initialize() consumes the flags;
	// our own flag --wb_iterations=N (a fixed iteration count per run, for
	// the smoke test: no calibration runs) is taken out of argv
	long reps = 1;
	double min_time = 0.5; // Google Benchmark's default
	long fixed_iters = 0;
	int kept = 1;
	for (int i = 1; i < argc; i++) {
		if (std::strncmp(argv[i], "--benchmark_repetitions=", 24) == 0)
			reps = std::max(1L, std::atol(argv[i] + 24));
		if (std::strncmp(argv[i], "--benchmark_min_time=", 21) == 0)
			min_time = std::atof(argv[i] + 21);
		if (std::strncmp(argv[i], "--wb_iterations=", 16) == 0) {
			fixed_iters = std::max(1L, std::atol(argv[i] + 16));
			continue;
		}
		argv[kept++] = argv[i];
	}
	argc = kept;
	argv[argc] = nullptr;

	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;

	wb_calibrate();
	wb_set_run_cap(fixed_iters ? 0.0 : min_time);
	std::vector<std::string> names = wb_register_all(fixed_iters);
	size_t rows = count_matching(names, benchmark::GetBenchmarkFilter());
	size_t total = rows * (size_t)reps;
	std::printf("weft_bench: %zu benchmarks (%zu rows x %ld repetitions); %.3f ns/tick, %.3f work loops/ns\n",
		    total, rows, reps, wb_calibrated_ns_per_tick(), wb_calibrated_loops_per_ns());
	std::fflush(stdout);

	wb_progress_init(total, min_time, isatty(2) != 0);
	MedianReporter reporter(reps, isatty(1) != 0);
	benchmark::RunSpecifiedBenchmarks(&reporter);
	wb_progress_end();
	benchmark::Shutdown();
	return 0;
}
