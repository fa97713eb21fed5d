# bench/bench.mk - the benchmark suite, included by the top Makefile.
#
#   make bench         build $(BUILD)/bench/weft_bench, write machine.json, run every row
#                      with repetitions in random interleaving -> results.json
#   make bench-smoke   every row once, very briefly (part of make check)
#   make report        docs/benchmarks.md and docs/img/*.png from results.json, and
#                      docs/claims.md (scripts/claims.py), and docs/*.md from their
#                      docs/*.md.in templates (scripts/fill_numbers.py)
#
# Knobs: BENCH_FILTER (regex), BENCH_REPS, BENCH_MIN_TIME (seconds per
# repetition), BENCH_ARGS (more flags for the program), BENCH_OPT.
#
# Sources by wildcard, so a new family adds a file and edits nothing here:
# bench/bench_*.c (C bodies, each registering its own rows), bench/*_cxx.cc (C++
# peers), plus the shim (shim.cc, main.cc).

BENCH_BUILD    := $(BUILD)/bench
BENCH_BIN      := $(BENCH_BUILD)/weft_bench
BENCH_C_SRCS   := $(sort $(wildcard bench/bench_*.c))
BENCH_CXX_SRCS := $(sort $(wildcard bench/*_cxx.cc)) bench/shim.cc bench/main.cc
BENCH_OBJS     := $(BENCH_C_SRCS:bench/%.c=$(BENCH_BUILD)/%.o) $(BENCH_CXX_SRCS:bench/%.cc=$(BENCH_BUILD)/%.o)

BENCH_REPS     ?= 5
BENCH_MIN_TIME ?= 0.1
BENCH_FILTER   ?=
BENCH_ARGS     ?=
# Always optimized, whatever CFLAGS says; never sanitized (EXTRA_CFLAGS is not used).
BENCH_OPT      ?= -O2 -g

# Peers found through pkg-config, evaluated once and only when a bench target needs them.
BENCH_PKGS      := absl_synchronization tbb benchmark
BENCH_PKG_CFLAGS = $(eval BENCH_PKG_CFLAGS := $(shell pkg-config --cflags $(BENCH_PKGS) 2>/dev/null))$(BENCH_PKG_CFLAGS)
BENCH_PKG_LIBS   = $(eval BENCH_PKG_LIBS := $(shell pkg-config --libs $(BENCH_PKGS) 2>/dev/null))$(BENCH_PKG_LIBS)

BENCH_CFLAGS   = -std=gnu11 -Iinclude -Isrc -Ibench $(WARNINGS) $(BENCH_OPT) -MMD -MP
# The C-only warnings do not apply to C++.
BENCH_CXXFLAGS = -std=gnu++17 -Iinclude -Isrc -Ibench \
                 $(filter-out -Wstrict-prototypes -Wmissing-prototypes,$(WARNINGS)) \
                 $(BENCH_OPT) $(BENCH_PKG_CFLAGS) -MMD -MP
BENCH_LDLIBS   = $(BUILD)/libweft.a $(BENCH_PKG_LIBS) -lck -lurcu -lurcu-cds -ldl -pthread

$(BENCH_BUILD)/%.o: bench/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_BUILD)/%.o: bench/%.cc
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(BENCH_CXXFLAGS) -c $< -o $@

$(BENCH_BIN): $(BENCH_OBJS) $(BUILD)/libweft.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(BENCH_LDLIBS)

BENCH_RUN_FLAGS = $(if $(BENCH_FILTER),'--benchmark_filter=$(BENCH_FILTER)') $(BENCH_ARGS)

bench:
	$(Q)scripts/deps.sh --check-or-install
	$(Q)$(MAKE) --no-print-directory $(BENCH_BIN)
	$(Q)python3 scripts/bench_machine.py --cc "$(CC)" --cxx "$(CXX)" --reps "$(BENCH_REPS)" \
		--min-time "$(BENCH_MIN_TIME)" --filter '$(BENCH_FILTER)' -o $(BENCH_BUILD)/machine.json
	$(Q)$(BENCH_BIN) --benchmark_repetitions=$(BENCH_REPS) --benchmark_min_time=$(BENCH_MIN_TIME) \
		--benchmark_enable_random_interleaving=true \
		--benchmark_out=$(BENCH_BUILD)/results.json --benchmark_out_format=json $(BENCH_RUN_FLAGS)
	@echo "bench: results in $(BENCH_BUILD)/results.json; 'make report' writes docs/benchmarks.md"

# Every row once, briefly (one run of 10 iterations, no calibration); the
# console output goes to a log (shown on failure).
# Also checks that no measured loop makes an indirect call.
bench-smoke: $(BENCH_BIN)
	$(Q)scripts/bench_check_calls.py $(BENCH_OBJS)
	$(Q)start=$$(date +%s); \
	if $(BENCH_BIN) --wb_iterations=10 --benchmark_repetitions=1 $(BENCH_RUN_FLAGS) \
		> $(BENCH_BUILD)/smoke.log 2>&1; then \
		echo "bench-smoke: $$(grep -c '/real_time/threads:[0-9]* ' $(BENCH_BUILD)/smoke.log) rows ran in $$(( $$(date +%s) - start ))s"; \
	else \
		rc=$$?; tail -n 30 $(BENCH_BUILD)/smoke.log; \
		echo "bench-smoke: FAILED (exit $$rc); full log in $(BENCH_BUILD)/smoke.log"; exit 1; \
	fi

# Pages whose prose argues from the numbers are templates (docs/*.md.in)
# filled from the same run; a claim in them that no longer holds fails here.
REPORT_PAGES := $(patsubst %.md.in,%.md,$(wildcard docs/*.md.in))

report:
	$(Q)python3 scripts/report.py --results $(BENCH_BUILD)/results.json --machine $(BENCH_BUILD)/machine.json \
		--out docs/benchmarks.md --img docs/img
	$(Q)python3 scripts/claims.py --results $(BENCH_BUILD)/results.json --out docs/claims.md
	$(Q)for page in $(REPORT_PAGES); do \
		python3 scripts/fill_numbers.py --results $(BENCH_BUILD)/results.json $$page.in $$page || exit 1; \
	done

-include $(BENCH_OBJS:.o=.d)
