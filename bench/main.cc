// SPDX-License-Identifier: MIT
//
// main.cc - the benchmark program: a second thread, calibration, the rows,
// and a console reporter that shows progress ([k/N] and the time left).
//
// Two ways to run the rows:
//   Google Benchmark's own loop (--benchmark_repetitions, random interleaving,
//   --benchmark_out): kept for the smoke test and for ad-hoc use;
//   paired rounds (--wb_rounds=R --wb_out=FILE): the rows that are compared
//   (one family/workload at one thread count, every implementation) run one
//   after the other, in a fresh random order, in each of R rounds (A B C, B A C,
//   ...), the groups themselves in a random order per round.  Round r of A and
//   round r of B ran minutes apart at most, so their ratio is one paired
//   observation; the report bootstraps over the R of them.  FILE is Google
//   Benchmark JSON (one "iteration" entry per row and round, with
//   repetition_index = round) plus wb_* fields: wb_round, wb_slot (its place in
//   the run), wb_per_thread (per-thread counts, CPU, run-queue delay and
//   latency percentiles), and a context with the load average at every round.
//   It is rewritten after every round, so an interrupted run keeps its rounds.

#include "shim.h"
#include "shim_internal.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
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

std::string json_str(const std::string &s)
{
	std::string o = "\"";
	for (char c : s) {
		if (c == '"' || c == '\\')
			o += '\\';
		if ((unsigned char)c < 0x20)
			continue;
		o += c;
	}
	return o + "\"";
}

std::string json_num(double v)
{
	if (!(v == v) || v > 1e300 || v < -1e300)
		return "null";
	char buf[64];
	std::snprintf(buf, sizeof buf, "%.9g", v);
	return buf;
}

std::string loadavg1()
{
	std::ifstream f("/proc/loadavg");
	std::string a;
	f >> a;
	return a.empty() ? "null" : a;
}

// The other work competing for the CPUs now: the mean of procs_running in
// /proc/stat (threads running or runnable, this one included) over 20 samples
// in 1 s, less this thread.  Unlike the 1-minute load average, it is not
// raised by a bench run that ended seconds ago (a script that runs the bench
// several times would otherwise warn about its own previous run).
std::string runnable_others()
{
	double sum = 0;
	int n = 0;
	for (int i = 0; i < 20; i++) {
		std::ifstream f("/proc/stat");
		std::string key;
		long v;
		while (f >> key) {
			if (key == "procs_running" && (f >> v)) {
				sum += (double)v - 1;
				n++;
				break;
			}
			f.ignore(1 << 20, '\n');
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, nullptr);
	}
	if (n == 0)
		return "null";
	char buf[32];
	std::snprintf(buf, sizeof buf, "%.2f", sum / n);
	return buf;
}

std::string utc_now()
{
	char buf[32];
	std::time_t now = std::time(nullptr);
	std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
	return buf;
}

// The paired runner's reporter: keeps every measured run as a JSON entry and
// prints one short line per run.
class PairedReporter : public benchmark::BenchmarkReporter {
public:
	int round = 0, rounds = 0;
	long slot = 0;
	std::vector<std::string> entries;

	bool ReportContext(const Context &) override
	{
		return true;
	}

	void ReportRuns(const std::vector<Run> &reports) override
	{
		for (const Run &r : reports) {
			if (r.run_type != Run::RT_Iteration)
				continue;
			std::string name = r.benchmark_name();
			std::string e = "{";
			e += "\"name\": " + json_str(name);
			e += ", \"run_name\": " + json_str(r.run_name.str());
			e += ", \"run_type\": \"iteration\"";
			e += ", \"repetitions\": " + std::to_string(rounds);
			e += ", \"repetition_index\": " + std::to_string(round);
			e += ", \"threads\": " + std::to_string(r.threads);
			e += ", \"iterations\": " + std::to_string((long long)r.iterations);
			e += ", \"real_time\": " + json_num(r.GetAdjustedRealTime());
			e += ", \"time_unit\": \"ns\"";
			if (r.error_occurred)
				e += ", \"error_occurred\": true, \"error_message\": " + json_str(r.error_message);
			for (const auto &c : r.counters)
				e += ", " + json_str(c.first) + ": " + json_num(c.second.value);
			e += ", \"wb_round\": " + std::to_string(round);
			e += ", \"wb_slot\": " + std::to_string(slot++);
			e += ", \"wb_per_thread\": " + wb_last_detail(name);
			e += "}";
			entries.push_back(e);
			double ips = 0;
			auto it = r.counters.find("items_per_second");
			if (it != r.counters.end())
				ips = it->second.value;
			std::printf("[round %d/%d] %-70s %12.4g items/s\n", round + 1, rounds, name.c_str(), ips);
			std::fflush(stdout);
		}
	}

	void Finalize() override
	{
	}
};

std::string regex_escape(const std::string &s)
{
	std::string o;
	for (char c : s) {
		if (std::strchr(".^$|()*+?{}[]\\", c))
			o += '\\';
		o += c;
	}
	return o;
}

// "<family>/<workload>/<impl>/real_time/threads:N" -> "<family>/<workload>/threads:N"
std::string group_of(const std::string &instance)
{
	size_t at = instance.find("/real_time/threads:");
	std::string row = instance.substr(0, at);
	size_t slash = row.rfind('/');
	return row.substr(0, slash) + instance.substr(at + 10);
}

int run_paired(const std::vector<std::string> &all, const std::string &filter, int rounds, unsigned long seed,
	       const std::string &out, double window, double oversub, const std::string &label)
{
	std::vector<std::string> names;
	for (const std::string &s : all)
		if (count_matching({s}, filter) == 1)
			names.push_back(s);
	std::map<std::string, std::vector<std::string>> groups;
	for (const std::string &s : names)
		groups[group_of(s)].push_back(s);
	std::vector<std::string> keys;
	for (auto &g : groups)
		keys.push_back(g.first);
	std::mt19937_64 rng(seed);
	PairedReporter rep;
	rep.rounds = rounds;
	std::vector<std::string> loads;
	std::string started = utc_now(), load0 = loadavg1(), busy0 = runnable_others();
	const uint64_t t0 = wb_clock_ns();
	if (busy0 != "null" && std::atof(busy0.c_str()) > wb_cpus() / 2.0)
		std::fprintf(stderr, "weft_bench: WARNING: %s other threads runnable on %d CPUs (more than half busy; "
			     "load average %s): the report will withhold its verdicts; for reference numbers run on "
			     "a quiet machine\n",
			     busy0.c_str(), wb_cpus(), load0.c_str());
	std::fprintf(stderr, "weft_bench: paired: %zu rows in %zu groups x %d rounds, seed %lu, window %.3gs (x%.3g when threads > %d CPUs)\n",
		     names.size(), keys.size(), rounds, seed, window, oversub, wb_cpus());
	for (int r = 0; r < rounds; r++) {
		rep.round = r;
		loads.push_back(loadavg1());
		std::shuffle(keys.begin(), keys.end(), rng);
		for (const std::string &k : keys) {
			std::vector<std::string> order = groups[k];
			std::shuffle(order.begin(), order.end(), rng);
			for (const std::string &inst : order)
				benchmark::RunSpecifiedBenchmarks(&rep, "^" + regex_escape(inst) + "$");
		}
		// the whole file again after every round: an interrupted run keeps its rounds
		std::string tmp = out + ".tmp";
		std::ofstream f(tmp);
		f << "{\n  \"context\": {\"date\": " << json_str(started) << ", \"wb_paired\": true"
		  << ", \"wb_rounds\": " << rounds << ", \"wb_rounds_done\": " << (r + 1)
		  << ", \"wb_seed\": " << seed << ", \"wb_window_s\": " << json_num(window)
		  << ", \"wb_oversub_factor\": " << json_num(oversub) << ", \"num_cpus\": " << wb_cpus()
		  << ", \"wb_filter\": " << json_str(filter) << ", \"wb_label\": " << json_str(label)
		  << ", \"wb_load_at_start\": " << load0 << ", \"wb_runnable_at_start\": " << busy0
		  << ", \"wb_load_per_round\": [";
		for (size_t i = 0; i < loads.size(); i++)
			f << (i ? ", " : "") << loads[i];
		f << "], \"wb_ns_per_tick\": " << json_num(wb_calibrated_ns_per_tick())
		  << ", \"wb_work_loops_per_ns\": " << json_num(wb_calibrated_loops_per_ns())
		  << ", \"wb_elapsed_s\": " << json_num((double)(wb_clock_ns() - t0) * 1e-9) << "},\n  \"benchmarks\": [\n";
		for (size_t i = 0; i < rep.entries.size(); i++)
			f << "    " << rep.entries[i] << (i + 1 < rep.entries.size() ? ",\n" : "\n");
		f << "  ]\n}\n";
		f.close();
		if (!f || std::rename(tmp.c_str(), out.c_str()) != 0) {
			std::perror(out.c_str());
			return 1;
		}
	}
	std::fprintf(stderr, "weft_bench: paired: %zu runs in %.0fs -> %s\n", rep.entries.size(),
		     (double)(wb_clock_ns() - t0) * 1e-9, out.c_str());
	return 0;
}

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
	int rounds = 0;
	unsigned long seed = 0;
	double oversub = 3.0, window_ms = 0, loops_per_ns = 0;
	std::string out, label;
	int kept = 1;
	for (int i = 1; i < argc; i++) {
		// our own flags (--wb_*), taken out of argv before Google Benchmark sees it
		if (std::strncmp(argv[i], "--wb_rounds=", 12) == 0) {
			rounds = std::atoi(argv[i] + 12);
			continue;
		}
		if (std::strncmp(argv[i], "--wb_out=", 9) == 0) {
			out = argv[i] + 9;
			continue;
		}
		if (std::strncmp(argv[i], "--wb_seed=", 10) == 0) {
			seed = std::strtoul(argv[i] + 10, nullptr, 10);
			continue;
		}
		if (std::strncmp(argv[i], "--wb_oversub_factor=", 20) == 0) {
			oversub = std::atof(argv[i] + 20);
			continue;
		}
		if (std::strncmp(argv[i], "--wb_window_ms=", 15) == 0) {
			window_ms = std::atof(argv[i] + 15);
			continue;
		}
		// the wb_work() speed to use instead of this process's calibration:
		// make bench-ab runs many processes whose rows must do the same work
		if (std::strncmp(argv[i], "--wb_work_loops_per_ns=", 23) == 0) {
			loops_per_ns = std::atof(argv[i] + 23);
			continue;
		}
		if (std::strncmp(argv[i], "--wb_label=", 11) == 0) {
			label = argv[i] + 11;
			continue;
		}
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
	if (loops_per_ns > 0)
		wb_set_loops_per_ns(loops_per_ns);
	// the window of a timed loop: min_time (1 ms in the smoke test's fixed mode)
	double window = window_ms > 0 ? window_ms * 1e-3 : fixed_iters ? 1e-3 : min_time;
	wb_set_window(window, oversub);
	std::vector<std::string> names = wb_register_all(fixed_iters);
	if (rounds > 0) {
		if (out.empty() || reps != 1) {
			std::fprintf(stderr, "weft_bench: --wb_rounds needs --wb_out=FILE and no --benchmark_repetitions\n");
			return 2;
		}
		if (seed == 0)
			seed = (unsigned long)wb_clock_ns();
		int rc = run_paired(names, benchmark::GetBenchmarkFilter(), rounds, seed, out, window, oversub, label);
		benchmark::Shutdown();
		return rc;
	}
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
