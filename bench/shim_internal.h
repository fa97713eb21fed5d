// SPDX-License-Identifier: MIT
// shim_internal.h - what main.cc needs from shim.cc (C++ only).
#ifndef WEFT_BENCH_SHIM_INTERNAL_H
#define WEFT_BENCH_SHIM_INTERNAL_H

#include <string>
#include <vector>

// Calibrate the tick and work-loop conversions.
void wb_calibrate(void);
// Use @loops_per_ns as the wb_work() speed instead of the calibrated one
// (--wb_work_loops_per_ns: processes compared with each other do the same work).
void wb_set_loops_per_ns(double loops_per_ns);
// The measured window of a timed loop (seconds), and its factor for rows with
// more threads than CPUs.
void wb_set_window(double seconds, double oversub_factor);
int wb_cpus(void);
// The per-thread detail (JSON object) of the last finished run of an instance
// ("<row>/real_time/threads:N"); "{}" if none.
std::string wb_last_detail(const std::string &instance);
double wb_calibrated_ns_per_tick(void);
double wb_calibrated_loops_per_ns(void);

// Register every row with Google Benchmark (sorted by name), with a fixed
// iteration count if fixed_iters > 0; returns the instance names
// ("<row>/real_time/threads:N") for counting.
std::vector<std::string> wb_register_all(long fixed_iters);

// Progress on stderr, one step per finished repetition of a row instance:
// a line rewritten in place on a terminal, else a line every 5% or 15 s.
void wb_progress_init(size_t total, double min_time, bool tty);
void wb_progress_end(void);

#endif
