// SPDX-License-Identifier: MIT
//
// shim.cc - runs the C bodies of shim.h under Google Benchmark.
//
// The registry is filled by constructors (C and C++) before main(); main()
// hands it to Google Benchmark with wb_register_all().  One run of a row:
// thread 0 builds a wb_run (per-thread contexts on their own cache lines, the
// stop flag on its own line) and calls setup; a barrier; inside a single
// KeepRunningBatch(max_iterations) batch, a barrier whose last arrival sets
// the common start stamp, every thread waits for the stamp and calls the body
// once; thread 0 closes the window (wb_stop: one stop stamp for all); a
// barrier; thread 0 derives the counters, calls teardown and frees the run.

#include "shim.h"
#include "shim_internal.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

namespace {

struct Row {
	wb_def def;
	std::string name;
	std::string lat_name;
	// the row's barrier: a mutex and condition variable (setup and result
	// collection are not measured, and waiters must not burn the CPU)
	std::mutex m;
	std::condition_variable cv;
	int arrived = 0;
	unsigned long generation = 0;
	wb_run *run = nullptr; // the current run; written by thread 0 before the first barrier
	std::map<int, uint64_t> last_iters; // threads -> iterations of the last run (progress)
	std::map<int, std::string> detail;  // threads -> per-thread detail of the last run (JSON)
};

std::vector<Row *> &registry()
{
	static std::vector<Row *> rows; // constructed on first use: safe from C constructors
	return rows;
}

// Returns after all n threads arrived; the last to arrive stores wb_now() +
// @lead in *opened if it is not NULL (read by the others after the mutex).
void barrier(Row *row, int n, uint64_t *opened = nullptr, uint64_t lead = 0)
{
	std::unique_lock<std::mutex> lock(row->m);
	unsigned long gen = row->generation;
	if (++row->arrived == n) {
		if (opened)
			*opened = wb_now() + lead;
		row->arrived = 0;
		row->generation++;
		row->cv.notify_all();
		return;
	}
	row->cv.wait(lock, [&] { return row->generation != gen; });
}

uint64_t thread_cpu_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double g_ns_per_tick = 1.0;
uint64_t g_tick_overhead = 0; // two back-to-back wb_now(): subtracted from samples
double g_loops_per_ns = 1.0;
double g_window_ns = 100e6;    // the measured window of a timed loop
double g_oversub_factor = 3.0; // ... times this when threads > CPUs
int g_ncpu = 1;
uint64_t g_start_lead_ticks = 0;
uint64_t g_late_ticks = 0;

// The start stamp is this far after the last thread reached the start barrier,
// so that every thread woken from the barrier can reach the start line.
const double kStartLeadNs = 500e3;
// A thread that sees the stop flag this long after the stop stamp was inside
// an operation (blocked in a lock, a wait) when the window closed.
const double kLateNs = 2e3;

// Per thread: the run-queue delay so far (the second field of
// /proc/thread-self/schedstat, ns); 0 where the kernel has no schedstat.
uint64_t thread_runq_ns()
{
	char buf[128];
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long long on_cpu = 0, waited = 0;
	if (std::sscanf(buf, "%llu %llu", &on_cpu, &waited) != 2)
		return 0;
	return waited;
}

const uint32_t kSamplesCap = 4096;

struct Progress {
	size_t total = 0, done = 0;
	double min_time = 0.5;
	bool tty = false;
	uint64_t start_ns = 0, last_print_ns = 0;
	size_t last_print_done = 0;
} g_progress;

// A run is a repetition when it repeats the previous run's iteration count
// (repetitions after the first reuse it) or, for the first repetition, when it
// lasted min_time (Google Benchmark's own test; shorter runs only calibrate).
void progress_note(Row *row, int n, uint64_t iters, double seconds)
{
	Progress &p = g_progress;
	if (p.total == 0)
		return;
	auto it = row->last_iters.find(n);
	bool repeated = it != row->last_iters.end() && it->second == iters;
	row->last_iters[n] = iters;
	if (!repeated && seconds < p.min_time)
		return;
	p.done++;
	uint64_t now = wb_clock_ns();
	double el = (double)(now - p.start_ns) * 1e-9;
	double left = p.total > p.done ? el / (double)p.done * (double)(p.total - p.done) : 0.0;
	if (p.tty) {
		std::fprintf(stderr, "\r\033[K[%zu/%zu, %.0fs elapsed, ~%.0fs left] %s/threads:%d", p.done, p.total, el,
			     left, row->name.c_str(), n);
		std::fflush(stderr);
		return;
	}
	if (p.done == p.total || p.done - p.last_print_done >= std::max<size_t>(1, p.total / 20) ||
	    now - p.last_print_ns >= 15000000000ull) {
		std::fprintf(stderr, "[%zu/%zu, %.0fs elapsed, ~%.0fs left] %s/threads:%d\n", p.done, p.total, el, left,
			     row->name.c_str(), n);
		p.last_print_ns = now;
		p.last_print_done = p.done;
	}
}

} // namespace

void wb_progress_init(size_t total, double min_time, bool tty)
{
	g_progress.total = total;
	g_progress.min_time = min_time;
	g_progress.tty = tty;
	g_progress.start_ns = g_progress.last_print_ns = wb_clock_ns();
}

void wb_progress_end(void)
{
	if (g_progress.done == 0)
		return; // nothing ran (--benchmark_list_tests, or no row matched)
	if (g_progress.tty && g_progress.done)
		std::fputs("\r\033[K", stderr);
	double el = (double)(wb_clock_ns() - g_progress.start_ns) * 1e-9;
	std::fprintf(stderr, "weft_bench: %zu benchmark repetitions in %.0fs\n", g_progress.done, el);
}

struct alignas(64) wb_slot {
	wb_thread t;
};

struct alignas(64) wb_stop_line {
	uint32_t flag;
};

struct wb_run {
	wb_stop_line stop;
	uint64_t stop_tick;  // wb_now() when thread 0 closed the window (atomic: see wb_stop)
	uint32_t timed;      // a body acted on the window (wb_stop, wb_saw_stop): a timed loop (atomic)
	uint64_t start_tick; // the common start stamp (wb_now() ticks)
	uint64_t window_ticks;
	double work_ns_per_kloop; // wb_work() speed measured just before this run
	Row *row;
	int n;
	wb_slot *slots;
	void *shared;
	uint64_t *end_tick;  // per thread, wb_now() when its body returned
	double seconds;      // the wall time of the measured part
};

// ---- the C API ------------------------------------------------------------

extern "C" void wb_register_def(const wb_def *def)
{
	if (!def || !def->name || !def->body || !def->threads) {
		std::fprintf(stderr, "wb_register: a row needs a name, a body and thread counts\n");
		std::exit(1);
	}
	for (Row *r : registry())
		if (r->name == def->name) {
			std::fprintf(stderr, "wb_register: duplicate row %s\n", def->name);
			std::exit(1);
		}
	Row *row = new Row;
	row->def = *def;
	row->name = def->name;
	row->lat_name = def->lat_name ? def->lat_name : "wait";
	row->def.name = row->name.c_str();
	registry().push_back(row);
}

extern "C" void wb_register(const char *name, wb_body_fn body, uint64_t threads)
{
	wb_def def;
	std::memset(&def, 0, sizeof def);
	def.name = name;
	def.body = body;
	def.threads = threads;
	wb_register_def(&def);
}

extern "C" uint64_t wb_total_ops(const wb_thread *t)
{
	uint64_t total = 0;
	for (int i = 0; i < t->run->n; i++)
		total += t->run->slots[i].t.ops;
	return total;
}

extern "C" void wb_counter(wb_thread *t, const char *name, double value, unsigned kind)
{
	for (int i = 0; i < t->ncounters; i++)
		if (std::strcmp(t->counters[i].name, name) == 0) {
			t->counters[i].value = value;
			t->counters[i].kind = kind;
			return;
		}
	if (t->ncounters == WB_MAX_COUNTERS)
		wb_fail(t, "more than %d counters", WB_MAX_COUNTERS);
	t->counters[t->ncounters].name = name;
	t->counters[t->ncounters].value = value;
	t->counters[t->ncounters].kind = kind;
	t->ncounters++;
}

extern "C" void wb_fail(const wb_thread *t, const char *fmt, ...)
{
	std::fflush(stdout);
	std::fprintf(stderr, "\nweft_bench: %s (threads:%d, thread %d): ",
		     t && t->run ? t->run->row->name.c_str() : "?", t ? t->nthreads : 0, t ? t->tid : -1);
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(stderr, fmt, ap);
	va_end(ap);
	std::fprintf(stderr, "\n");
	std::exit(1);
}

extern "C" bool wb_over_time(wb_thread *t)
{
	return wb_now() > t->deadline;
}

namespace {

// Close the window of @run: the first stop stamp wins (the body's thread 0 or
// the runner's timer, whichever comes first).
void raise_stop(wb_run *run)
{
	uint64_t expect = 0;
	// relaxed: the first stamp wins; published by the release store below
	__atomic_compare_exchange_n(&run->stop_tick, &expect, wb_now(), false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
	// release: publishes stop_tick; pairs with the acquire load in wb_saw_stop()
	__atomic_store_n(&run->stop.flag, 1u, __ATOMIC_RELEASE);
}

// A body looked at the window, so the run is a timed loop: its window ends at
// the stop stamp.  (The timer also raises the flag in a fixed loop, which never
// looks at it; that run's window ends at the last body's return.)
void mark_timed(wb_run *run)
{
	// relaxed: read by thread 0 after the runner's barrier, which orders it
	__atomic_store_n(&run->timed, 1u, __ATOMIC_RELAXED);
}

} // namespace

extern "C" void wb_stop(wb_thread *t)
{
	mark_timed(t->run);
	raise_stop(t->run);
}

extern "C" void wb_saw_stop(wb_thread *t)
{
	uint64_t now = wb_now();
	if (t->seen_stop)
		return;
	t->seen_stop = now;
	mark_timed(t->run);
	// acquire: pairs with the release store in wb_stop(), so stop_tick is set
	if (__atomic_load_n(t->stop_flag, __ATOMIC_ACQUIRE) == 0)
		return;
	uint64_t stop = __atomic_load_n(&t->run->stop_tick, __ATOMIC_RELAXED); // ordered by the acquire above
	if (stop && now > stop && now - stop > g_late_ticks)
		t->late = 1;
}

extern "C" uint64_t wb_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

extern "C" double wb_ticks_to_ns(uint64_t ticks)
{
	return (double)ticks * g_ns_per_tick;
}

extern "C" uint64_t wb_ns_to_ticks(double ns)
{
	return ns <= 0 ? 0 : (uint64_t)(ns / g_ns_per_tick);
}

extern "C" uint32_t wb_work_loops(double ns)
{
	double loops = ns * g_loops_per_ns;
	return loops <= 0 ? 0u : loops > 4e9 ? 4000000000u : (uint32_t)(loops + 0.5);
}

namespace {

void record_raw(wb_thread *t, uint64_t ticks)
{
	if (!t->samples)
		return;
	t->samples_seen++;
	if (t->samples_n < t->samples_cap) {
		t->samples[t->samples_n++] = ticks;
		return;
	}
	// reservoir sampling (Vitter's algorithm R): keep each sample with
	// probability cap/seen, so the kept set stays uniform over the run
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	uint64_t j = t->rng % t->samples_seen;
	if (j < t->samples_cap)
		t->samples[j] = ticks;
}

} // namespace

extern "C" void wb_record_ticks(wb_thread *t, uint64_t ticks)
{
	record_raw(t, ticks > g_tick_overhead ? ticks - g_tick_overhead : 0);
}

extern "C" void wb_record_ns(wb_thread *t, double ns)
{
	record_raw(t, wb_ns_to_ticks(ns));
}

// ---- calibration ------------------------------------------------------------

void wb_calibrate(void)
{
	// ticks per ns: rdtsc against CLOCK_MONOTONIC over 30 ms
	uint64_t c0 = wb_clock_ns(), k0 = wb_now();
	struct timespec nap = {0, 30000000};
	nanosleep(&nap, nullptr);
	uint64_t c1 = wb_clock_ns(), k1 = wb_now();
	if (k1 > k0)
		g_ns_per_tick = (double)(c1 - c0) / (double)(k1 - k0);

	// the cost of taking two timestamps, the floor of every latency sample
	uint64_t best_pair = UINT64_MAX;
	for (int i = 0; i < 1000; i++) {
		uint64_t a = wb_now();
		uint64_t b = wb_now();
		best_pair = std::min(best_pair, b - a);
	}
	g_tick_overhead = best_pair;

	// work loops per ns: the fastest of several runs (the least disturbed)
	const uint32_t loops = 1u << 21;
	double best = 1e30;
	for (int i = 0; i < 7; i++) {
		uint64_t a = wb_clock_ns();
		wb_work(loops);
		uint64_t b = wb_clock_ns();
		best = std::min(best, (double)(b - a));
	}
	g_loops_per_ns = (double)loops / best;

	g_start_lead_ticks = wb_ns_to_ticks(kStartLeadNs);
	g_late_ticks = wb_ns_to_ticks(kLateNs);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	g_ncpu = ncpu > 0 ? (int)ncpu : 1;
}

void wb_set_loops_per_ns(double loops_per_ns)
{
	if (loops_per_ns > 0)
		g_loops_per_ns = loops_per_ns;
}

void wb_set_window(double seconds, double oversub_factor)
{
	g_window_ns = std::max(1e5, seconds * 1e9);
	g_oversub_factor = std::max(1.0, oversub_factor);
}

int wb_cpus(void)
{
	return g_ncpu;
}

double wb_calibrated_ns_per_tick(void)
{
	return g_ns_per_tick;
}

double wb_calibrated_loops_per_ns(void)
{
	return g_loops_per_ns;
}

// ---- one run ------------------------------------------------------------------

namespace {

double percentile(const std::vector<uint64_t> &sorted, double p)
{
	if (sorted.empty())
		return 0;
	// nearest rank
	size_t rank = (size_t)std::ceil(p * (double)sorted.size());
	if (rank < 1)
		rank = 1;
	return (double)sorted[std::min(rank, sorted.size()) - 1];
}

// The wb_work() speed now, in ns per 1000 loops: the least disturbed of three
// short runs (about 50 us).  Recorded beside each run; it does not change the
// loops a row does (see wb_work_loops()).
double measure_work_ns_per_kloop()
{
	const uint32_t loops = 1u << 15;
	double best = 1e30;
	for (int i = 0; i < 3; i++) {
		uint64_t a = wb_clock_ns();
		wb_work(loops);
		uint64_t b = wb_clock_ns();
		best = std::min(best, (double)(b - a));
	}
	return best * 1000.0 / loops;
}

void json_array(std::string &out, const char *key, const std::vector<double> &v)
{
	char buf[64];
	out += "\"";
	out += key;
	out += "\": [";
	for (size_t i = 0; i < v.size(); i++) {
		std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v[i]);
		out += buf;
	}
	out += "]";
}

void finish(benchmark::State &st, wb_run *run)
{
	Row *row = run->row;
	const int n = run->n;
	wb_thread *t0 = &run->slots[0].t;

	if (row->def.teardown)
		row->def.teardown(t0);

	// In-window operation counts: a thread that saw the stop flag late was
	// inside an operation when the window closed, and that one is not counted.
	std::vector<uint64_t> ops(n);
	uint64_t total = 0, hi = 0, lo = UINT64_MAX, cpu = 0, runq = 0, late = 0, lag = 0, idle = 0;
	// after the barrier; a stop stamp that no body looked at (the timer in a fixed loop) is none
	const uint64_t stop = __atomic_load_n(&run->timed, __ATOMIC_RELAXED)
				      ? __atomic_load_n(&run->stop_tick, __ATOMIC_RELAXED)
				      : 0;
	int worst = -1; // the thread with the longest operation (wait included)
	for (int i = 0; i < n; i++) {
		const wb_thread *t = &run->slots[i].t;
		ops[i] = t->ops > 0 && t->late && !(row->def.flags & WB_EXACT_OPS) ? t->ops - 1 : t->ops;
		late += t->late;
		if (stop && t->seen_stop > stop)
			lag = std::max(lag, t->seen_stop - stop);
		total += ops[i];
		hi = std::max(hi, ops[i]);
		lo = std::min(lo, ops[i]);
		idle += ops[i] == 0;
		cpu += t->cpu_ns;
		runq += t->runq_ns;
		if (t->op_max && (worst < 0 || t->op_max > run->slots[worst].t.op_max))
			worst = i;
	}
	// The window: from the common start stamp to the stop stamp of a timed
	// loop, or to the last body's return in a fixed loop.  (Google Benchmark's
	// own real time averages per-thread timers, which a thread descheduled at
	// the start would shorten.)
	double seconds;
	if (stop) {
		seconds = wb_ticks_to_ns(stop > run->start_tick ? stop - run->start_tick : 0) * 1e-9;
	} else {
		uint64_t end = run->start_tick;
		for (int i = 0; i < n; i++)
			end = std::max(end, run->end_tick[i]);
		seconds = wb_ticks_to_ns(end - run->start_tick) * 1e-9;
	}
	seconds = std::max(1e-9, seconds);
	run->seconds = seconds;
	st.counters["items_per_second"] = (double)total / seconds;
	st.counters["window_ms"] = seconds * 1e3;
	st.counters["work_ns_per_kloop"] = run->work_ns_per_kloop;
	// run-queue delay: how long this row's threads were runnable but not
	// running, per second of window (0.0 .. threads), and per operation
	st.counters["runq_s_per_s"] = (double)runq * 1e-9 / seconds;
	if (stop) {
		st.counters["stop_lag_max_ns"] = wb_ticks_to_ns(lag);
		st.counters["late_threads"] = (double)late;
	}
	// Starvation, exactly: the longest time one thread spent on one operation
	// (its wait, plus the operation's own work), every operation timed by
	// wb_running(), and how long that thread was runnable but not running over
	// the run (schedstat: the part of a long wait the scheduler, not the lock,
	// may explain).
	if (stop && worst >= 0) {
		st.counters["longest_wait_ns"] = wb_ticks_to_ns(run->slots[worst].t.op_max);
		st.counters["longest_wait_runq_ns"] = (double)run->slots[worst].t.runq_ns;
	}

	unsigned flags = row->def.flags;
	if (flags & WB_FAIRNESS) {
		double mean = (double)total / n, var = 0;
		for (int i = 0; i < n; i++) {
			double d = (double)ops[i] - mean;
			var += d * d;
		}
		var /= n;
		// a thread with no operation makes max/min meaningless: idle_threads says so
		st.counters["fair_max_min"] = (double)hi / (double)std::max<uint64_t>(lo, 1);
		st.counters["fair_cv"] = mean > 0 ? std::sqrt(var) / mean : 0.0;
		st.counters["idle_threads"] = (double)idle;
	}
	// CPU time and run-queue delay per operation: on every row, beside its throughput
	st.counters["cpu_ns_per_op"] = (double)cpu / (double)std::max<uint64_t>(total, 1);
	st.counters["runq_ns_per_op"] = (double)runq / (double)std::max<uint64_t>(total, 1);
	std::vector<double> p50s(n, 0), p99s(n, 0), maxs(n, 0);
	if (flags & WB_LATENCY) {
		// percentiles per thread (a reservoir of samples each), then pooled;
		// the worst thread's p99 and the maximum are reported too
		std::vector<uint64_t> all;
		double worst_p99 = 0;
		for (int i = 0; i < n; i++) {
			const wb_thread *t = &run->slots[i].t;
			std::vector<uint64_t> mine(t->samples, t->samples + t->samples_n);
			std::sort(mine.begin(), mine.end());
			if (!mine.empty()) {
				p50s[i] = percentile(mine, 0.50) * g_ns_per_tick;
				p99s[i] = percentile(mine, 0.99) * g_ns_per_tick;
				maxs[i] = (double)mine.back() * g_ns_per_tick;
				worst_p99 = std::max(worst_p99, p99s[i]);
			}
			all.insert(all.end(), mine.begin(), mine.end());
		}
		std::sort(all.begin(), all.end());
		if (!all.empty()) {
			st.counters[row->lat_name + "_p50_ns"] = percentile(all, 0.50) * g_ns_per_tick;
			st.counters[row->lat_name + "_p99_ns"] = percentile(all, 0.99) * g_ns_per_tick;
			st.counters[row->lat_name + "_max_ns"] = (double)all.back() * g_ns_per_tick;
			st.counters[row->lat_name + "_p99_worst_thread_ns"] = worst_p99;
		}
	}

	// the per-thread detail, for the paired runner's results (main.cc)
	std::vector<double> v_ops(n), v_cpu(n), v_runq(n), v_opmax(n);
	for (int i = 0; i < n; i++) {
		v_ops[i] = (double)ops[i];
		v_cpu[i] = (double)run->slots[i].t.cpu_ns;
		v_runq[i] = (double)run->slots[i].t.runq_ns;
		v_opmax[i] = wb_ticks_to_ns(run->slots[i].t.op_max);
	}
	std::string d = "{";
	json_array(d, "ops", v_ops);
	d += ", ";
	json_array(d, "cpu_ns", v_cpu);
	d += ", ";
	json_array(d, "runq_ns", v_runq);
	if (stop && worst >= 0) {
		d += ", ";
		json_array(d, "longest_wait_ns", v_opmax);
	}
	if (flags & WB_LATENCY) {
		d += ", ";
		json_array(d, (row->lat_name + "_p50_ns").c_str(), p50s);
		d += ", ";
		json_array(d, (row->lat_name + "_p99_ns").c_str(), p99s);
		d += ", ";
		json_array(d, (row->lat_name + "_max_ns").c_str(), maxs);
	}
	d += "}";
	row->detail[n] = d;

	// custom counters, combined over threads by name
	struct Acc {
		double sum = 0;
		int count = 0;
		unsigned kind = WB_SUM;
	};
	std::vector<std::pair<std::string, Acc>> acc;
	for (int i = 0; i < n; i++) {
		const wb_thread *t = &run->slots[i].t;
		for (int c = 0; c < t->ncounters; c++) {
			const wb_counter_slot &s = t->counters[c];
			auto it = std::find_if(acc.begin(), acc.end(),
					       [&](const std::pair<std::string, Acc> &a) { return a.first == s.name; });
			if (it == acc.end()) {
				acc.emplace_back(s.name, Acc());
				it = acc.end() - 1;
			}
			it->second.sum += s.value;
			it->second.count++;
			it->second.kind = s.kind;
		}
	}
	for (auto &a : acc) {
		if (a.second.kind == WB_RATE)
			st.counters[a.first] = a.second.sum / seconds;
		else if (a.second.kind == WB_AVG)
			st.counters[a.first] = a.second.sum / a.second.count;
		else
			st.counters[a.first] = a.second.sum;
	}
}

// The stop timer (WB_STOP_TIMER): one thread for the process, armed by thread
// 0 of a run for its window's end, disarmed after the run.
struct StopTimer {
	std::mutex m;
	std::condition_variable cv;
	wb_run *armed = nullptr;
	uint64_t deadline_tick = 0;
	unsigned long gen = 0;
	bool started = false;

	void loop()
	{
		std::unique_lock<std::mutex> lock(m);
		for (;;) {
			if (!armed) {
				cv.wait(lock);
				continue;
			}
			uint64_t now = wb_now();
			if (now >= deadline_tick) {
				raise_stop(armed);
				armed = nullptr;
				continue;
			}
			unsigned long g = gen;
			cv.wait_for(lock, std::chrono::nanoseconds((long long)wb_ticks_to_ns(deadline_tick - now)),
				    [&] { return gen != g; });
		}
	}

	void arm(wb_run *run, uint64_t deadline)
	{
		std::lock_guard<std::mutex> lock(m);
		if (!started) {
			started = true;
			std::thread([this] { loop(); }).detach();
		}
		armed = run;
		deadline_tick = deadline;
		gen++;
		cv.notify_one();
	}

	void disarm()
	{
		std::lock_guard<std::mutex> lock(m);
		armed = nullptr;
		gen++;
		cv.notify_one();
	}
};

// Never destroyed: its thread waits on it until the process exits.
StopTimer &g_stop_timer = *new StopTimer;

// Wait for the common start stamp: sleep while it is far, then yield (with
// more threads than CPUs a spinning waiter would delay the others).
void wait_for_start(uint64_t start_tick)
{
	for (;;) {
		uint64_t now = wb_now();
		if (now >= start_tick)
			return;
		double left = wb_ticks_to_ns(start_tick - now);
		if (left > 150e3) {
			struct timespec nap = {0, (long)(left - 100e3)};
			nanosleep(&nap, nullptr);
		} else {
			sched_yield();
		}
	}
}

// The runner's timer closes the window of every run with more than one thread
// (a fixed window in which all threads ran, whatever thread 0 is doing), unless
// the row opts out (WB_STOP_SELF); WB_STOP_TIMER asks for it at one thread too.
bool timer_closes(const Row *row, int n)
{
	if (row->def.flags & WB_STOP_SELF)
		return false;
	return n > 1 || (row->def.flags & WB_STOP_TIMER);
}

void run_row(benchmark::State &st, Row *row)
{
	const int tid = st.thread_index();
	const int n = st.threads();
	const benchmark::IterationCount iters = st.max_iterations;

	if (tid == 0) {
		wb_run *run = new wb_run;
		run->stop.flag = 0;
		run->stop_tick = 0;
		run->timed = 0;
		run->start_tick = 0;
		run->window_ticks = wb_ns_to_ticks(g_window_ns * (n > g_ncpu ? g_oversub_factor : 1.0));
		run->row = row;
		run->n = n;
		run->slots = new wb_slot[n];
		run->shared = nullptr;
		run->end_tick = new uint64_t[n]();
		run->seconds = 0;
		run->work_ns_per_kloop = measure_work_ns_per_kloop();
		for (int i = 0; i < n; i++) {
			wb_thread *t = &run->slots[i].t;
			std::memset(t, 0, sizeof *t);
			t->tid = i;
			t->nthreads = n;
			t->iters = (uint64_t)iters;
			t->arg = row->def.arg;
			t->stop_flag = &run->stop.flag;
			t->run = run;
			t->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
			if (row->def.flags & WB_LATENCY) {
				t->samples = new uint64_t[kSamplesCap];
				t->samples_cap = kSamplesCap;
			}
		}
		if (row->def.setup)
			run->shared = row->def.setup(&run->slots[0].t);
		for (int i = 0; i < n; i++)
			run->slots[i].t.shared = run->shared;
		row->run = run;
	}
	barrier(row, n); // nobody measures before setup is done
	wb_run *run = row->run;
	wb_thread *t = &run->slots[tid].t;

	while (st.KeepRunningBatch(iters)) {
		// One start stamp for all, a little after the last thread arrived;
		// everyone waits for it, so no thread starts ahead of another.
		barrier(row, n, &run->start_tick, g_start_lead_ticks);
		const uint64_t start = run->start_tick; // written under the barrier's mutex
		wait_for_start(start);
		t->deadline = start + run->window_ticks;
		t->last_check = start;
		t->time_ops = n > 1 && (row->def.flags & WB_LONGEST_WAIT);
		if (tid == 0 && timer_closes(row, n))
			g_stop_timer.arm(run, t->deadline);
		uint64_t cpu0 = thread_cpu_ns(), rq0 = thread_runq_ns();
		row->def.body(t);
		run->end_tick[tid] = wb_now();
		t->cpu_ns = thread_cpu_ns() - cpu0;
		t->runq_ns = thread_runq_ns() - rq0;
	}

	barrier(row, n); // every thread's results are in its slot
	if (tid != 0)
		return;
	if (timer_closes(row, n))
		g_stop_timer.disarm();
	finish(st, run);
	progress_note(row, n, (uint64_t)iters, run->seconds);
	for (int i = 0; i < n; i++)
		delete[] run->slots[i].t.samples;
	delete[] run->slots;
	delete[] run->end_tick;
	row->run = nullptr;
	delete run;
}

} // namespace

// ---- handing the rows to Google Benchmark -------------------------------------

std::string wb_last_detail(const std::string &instance)
{
	size_t at = instance.find("/real_time/threads:");
	if (at == std::string::npos)
		return "{}";
	std::string name = instance.substr(0, at);
	int n = std::atoi(instance.c_str() + at + 19);
	for (Row *row : registry())
		if (row->name == name) {
			auto it = row->detail.find(n);
			return it == row->detail.end() ? "{}" : it->second;
		}
	return "{}";
}

std::vector<std::string> wb_register_all(long fixed_iters)
{
	std::vector<Row *> &rows = registry();
	std::sort(rows.begin(), rows.end(), [](const Row *a, const Row *b) { return a->name < b->name; });
	std::vector<std::string> instances;
	for (Row *row : rows) {
		benchmark::internal::Benchmark *b =
			benchmark::RegisterBenchmark(row->name.c_str(), [row](benchmark::State &st) { run_row(st, row); });
		b->UseRealTime();
		if (fixed_iters > 0)
			b->Iterations(fixed_iters);
		for (int n = 1; n <= 64; n++)
			if (row->def.threads & WB_T(n)) {
				b->Threads(n);
				instances.push_back(row->name + "/real_time/threads:" + std::to_string(n));
			}
	}
	return instances;
}
