# mk/bench.mk - the benchmark suite, included by the top Makefile.
#
#   make bench          build $(BUILD)/bench/weft_bench, write machine.json, run every row in
#                       BENCH_ROUNDS paired rounds (the rows compared run one after the other,
#                       fresh random order per round) -> $(BUILD)/bench/results.json
#   make bench-smoke    every row once, very briefly (part of make check)
#   make bench-compare  BENCH_FILTER=regex: builds only the families the filter names, installs
#                       only their packages, runs them paired, prints the verdict table and
#                       writes $(BUILD)/bench/compare.{json,md}; touches no tracked file
#   make bench-ab       BASE=<git rev> BENCH_FILTER=regex: the bench at BASE (a temporary
#                       worktree) and at the working tree, run alternately; per-row ratios
#                       new/base with 95% intervals -> $(BUILD)/bench/ab/ab.md; AB_AA=1 also runs
#                       the new build twice per round and names the rows slower beyond that noise;
#                       AB_CONFIRM=N then runs those rows again, alone, N rounds, and says which
#                       stay slower beyond the noise (ab.sh, "Confirmation")
#   make bench-targets-15  BASE=<git rev, default fad2c1a>: issue 15's three targets (C3 at 8
#                       clients, the longest wait of mutex/contended_cs50_out50 at 4 and 8, contended
#                       throughput new/base at 2, 4, 8) in one interleaved run, met/missed with 95%
#                       intervals -> terminal and $(BUILD)/bench/targets15/targets15.md (~10 min on 2 CPUs)
#   make report         docs/benchmarks.md and docs/img/*.png, docs/claims.md and docs/*.md
#                       from their .in templates, from results.json -- only from a full run:
#                       after a filtered run it leaves the docs as they were and says so
#   make check-report   (part of make check) regenerates the report from the committed fixture
#                       run bench/report/fixture/results.json and fails on drift from the
#                       committed bench/report/fixture/expected/ (as check-dist does for dist/weft.h)
#
# Knobs: BENCH_FILTER (regex), BENCH_ROUNDS (paired rounds, >= 10 for a verdict),
# BENCH_MIN_TIME (seconds: the measured window of a timed row; x BENCH_OVERSUB when the row
# has more threads than CPUs), BENCH_ARGS (more flags for the program), BENCH_OPT,
# NOISY_OK=1 (print verdicts even when the load at start was above half the CPUs),
# REPORT_PREVIOUS=FILE (make report: an earlier full run; the page shows the verdicts' agreement),
# REPORT_RESULTS/REPORT_MACHINE (make report: another run's files, e.g. the committed reference
# runs in bench/report/reference/, see its README).
#
# Sources by wildcard, so a new family adds a file and edits nothing here:
# bench/bench_*.c (C bodies, each registering its own rows), bench/*_cxx.cc (C++
# peers), plus the shim (shim.cc, main.cc).

BENCH_BUILD    := $(BUILD)/bench
BENCH_BIN      := $(BENCH_BUILD)/weft_bench
BENCH_C_SRCS   := $(sort $(wildcard bench/bench_*.c))
BENCH_CXX_SRCS := $(sort $(wildcard bench/*_cxx.cc)) bench/shim.cc bench/main.cc
BENCH_OBJS     := $(BENCH_C_SRCS:bench/%.c=$(BENCH_BUILD)/%.o) $(BENCH_CXX_SRCS:bench/%.cc=$(BENCH_BUILD)/%.o)

BENCH_ROUNDS   ?= 10
BENCH_MIN_TIME ?= 0.1
BENCH_OVERSUB  ?= 3
BENCH_FILTER   ?=
BENCH_ARGS     ?=
# Always optimized, whatever CFLAGS says; never sanitized (EXTRA_CFLAGS is not used).
# -falign-loops=64: every measured loop (and each inlined wb_work() loop) starts
# a cache line, so a row's speed does not depend on where the linker happened to
# put it.  Without it, cond/signal_nowaiter/weft_cond ran at 3.55 G/s in one
# build and 1.78 G/s in another from the same source and the same instructions:
# the loop straddled a 64-byte line in the slower one (AMD EPYC, bench-ab
# against bb52a9a, 10 rounds; with the alignment 1.03x [0.99, 1.09], a tie).
BENCH_OPT      ?= -O2 -g -falign-loops=64

# ---- what each family needs: sources, Debian packages, pkg-config names, libraries ----
# (bench-compare builds and installs only these for the families its filter names;
# `make bench` needs them all, and nothing else: no qemu, no cross compiler)
BENCH_FAMILIES   := spin mutex rwlock cond sem counter mpmc pool once barrier scenario
BENCH_CORE_DEBS  := build-essential pkg-config python3 libbenchmark-dev
bf_srcs_spin     := bench_spin.c locks_cxx.cc
bf_debs_spin     := libck-dev libtbb-dev libabsl-dev
bf_pc_spin       := tbb absl_synchronization
bf_libs_spin     := -lck
bf_srcs_mutex    := bench_mutex.c locks_cxx.cc
bf_debs_mutex    := libtbb-dev libabsl-dev
bf_pc_mutex      := tbb absl_synchronization
bf_srcs_rwlock   := bench_rwlock.c
bf_debs_rwlock   := libck-dev liburcu-dev
bf_libs_rwlock   := -lck -lurcu
bf_srcs_cond     := bench_cond.c
bf_srcs_sem      := bench_sem.c
bf_srcs_counter  := bench_counter.c
bf_debs_counter  := libck-dev
bf_libs_counter  := -lck
bf_srcs_mpmc     := bench_mpmc.c mpmc_cxx.cc
bf_debs_mpmc     := libck-dev liburcu-dev libconcurrentqueue-dev libboost-dev libtbb-dev
bf_pc_mpmc       := tbb
bf_libs_mpmc     := -lck -lurcu -lurcu-cds
bf_srcs_pool     := bench_pool.c
bf_debs_pool     := libck-dev libmimalloc-dev libjemalloc-dev
bf_libs_pool     := -lck
bf_srcs_once     := bench_once_barrier.c sync_cxx.cc
bf_srcs_barrier  := bench_once_barrier.c sync_cxx.cc
bf_srcs_scenario := $(notdir $(wildcard bench/bench_scenario_*.c))
BENCH_REPORT_DEBS := gnuplot-nox

BENCH_ALL_DEBS := $(sort $(BENCH_CORE_DEBS) $(foreach f,$(BENCH_FAMILIES),$(bf_debs_$(f))) $(BENCH_REPORT_DEBS))
BENCH_PKGS     := $(sort benchmark $(foreach f,$(BENCH_FAMILIES),$(bf_pc_$(f))))

# pkg-config flags of the packages present, evaluated once and only when a bench target needs them
bench_pc = $(shell for p in $(1); do pkg-config --exists $$p 2>/dev/null && pkg-config $(2) $$p; done)
BENCH_PKG_CFLAGS = $(eval BENCH_PKG_CFLAGS := $(call bench_pc,$(BENCH_PKGS),--cflags))$(BENCH_PKG_CFLAGS)
BENCH_PKG_LIBS   = $(eval BENCH_PKG_LIBS := $(call bench_pc,$(BENCH_PKGS),--libs))$(BENCH_PKG_LIBS)

# Peers are compiled into the bench's own files (the header-inline parts of ck,
# liburcu, moodycamel, Boost, oneTBB, Abseil): everything is built with -DNDEBUG,
# as their authors ship them for release, so no assert of theirs is live (the
# bodies check their invariants with wb_fail(), never assert()).
BENCH_CFLAGS   = -std=gnu11 -DNDEBUG -Iinclude -Isrc -Ibench $(WARNINGS) $(BENCH_OPT) -MMD -MP
# The C-only warnings do not apply to C++.
BENCH_CXXFLAGS = -std=gnu++17 -DNDEBUG -Iinclude -Isrc -Ibench \
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
BENCH_PAIRED_FLAGS = --benchmark_min_time=$(BENCH_MIN_TIME) --wb_oversub_factor=$(BENCH_OVERSUB) \
                     --wb_rounds=$(BENCH_ROUNDS)

.PHONY: bench-compare bench-ab bench-targets-15 bench-cmp-bin check-report check-bench-ab

bench:
	$(Q)DEPS_PACKAGES="$(BENCH_ALL_DEBS)" scripts/deps.sh --check-or-install
	$(Q)$(MAKE) --no-print-directory $(BENCH_BIN)
	$(Q)python3 bench/report/machine.py --cc "$(CC)" --cxx "$(CXX)" --reps "$(BENCH_ROUNDS)" \
		--min-time "$(BENCH_MIN_TIME)" --filter '$(BENCH_FILTER)' -o $(BENCH_BUILD)/machine.json
	$(Q)$(BENCH_BIN) $(BENCH_PAIRED_FLAGS) --wb_out=$(BENCH_BUILD)/results.json $(BENCH_RUN_FLAGS)
	@echo "bench: results in $(BENCH_BUILD)/results.json; 'make report' writes docs/benchmarks.md"

# Every row once, briefly (fixed loops of 10 iterations, timed windows of 1 ms);
# the console output goes to a log (shown on failure).
# Also checks that no measured loop makes an indirect call.
bench-smoke: $(BENCH_BIN)
	$(Q)bench/check_calls.py $(BENCH_OBJS)
	$(Q)start=$$(date +%s); \
	if $(BENCH_BIN) --wb_iterations=10 --benchmark_repetitions=1 $(BENCH_RUN_FLAGS) \
		> $(BENCH_BUILD)/smoke.log 2>&1; then \
		echo "bench-smoke: $$(grep -c '/real_time/threads:[0-9]* ' $(BENCH_BUILD)/smoke.log) rows ran in $$(( $$(date +%s) - start ))s"; \
	else \
		rc=$$?; tail -n 30 $(BENCH_BUILD)/smoke.log; \
		echo "bench-smoke: FAILED (exit $$rc); full log in $(BENCH_BUILD)/smoke.log"; exit 1; \
	fi

# ---- bench-compare: only what the chosen rows need ----------------------------

# The families the filter names (a family's name appearing in the regex); BENCH_FAMILIES_SEL overrides.
CMP_FAMS = $(or $(BENCH_FAMILIES_SEL),$(foreach f,$(BENCH_FAMILIES),$(if $(findstring $(f),$(BENCH_FILTER)),$(f))))
CMP_SRCS = $(sort $(foreach f,$(CMP_FAMS),$(bf_srcs_$(f))))
CMP_OBJS = $(patsubst %.c,$(BENCH_BUILD)/%.o,$(filter %.c,$(CMP_SRCS))) \
           $(patsubst %.cc,$(BENCH_BUILD)/%.o,$(filter %.cc,$(CMP_SRCS))) \
           $(BENCH_BUILD)/shim.o $(BENCH_BUILD)/main.o
bench_empty :=
bench_space := $(bench_empty) $(bench_empty)
CMP_BIN  = $(BENCH_BUILD)/cmp/weft_bench_$(subst $(bench_space),_,$(strip $(CMP_FAMS)))
CMP_DEBS = $(sort $(BENCH_CORE_DEBS) $(foreach f,$(CMP_FAMS),$(bf_debs_$(f))))

$(BENCH_BUILD)/cmp/weft_bench_%: $(BUILD)/libweft.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) -o $@ $(CMP_OBJS) $(BUILD)/libweft.a \
		$(call bench_pc,benchmark $(sort $(foreach f,$(CMP_FAMS),$(bf_pc_$(f)))),--libs) \
		$(sort $(foreach f,$(CMP_FAMS),$(bf_libs_$(f)))) -ldl -pthread

bench-compare:
	$(Q)test -n "$(strip $(CMP_FAMS))" || { echo "bench-compare: set BENCH_FILTER to a regex naming a family" \
		"($(BENCH_FAMILIES)), e.g. make bench-compare BENCH_FILTER='^mutex/contended'"; exit 2; }
	@echo "bench-compare: families $(strip $(CMP_FAMS)); packages $(CMP_DEBS)"
	$(Q)DEPS_PACKAGES="$(CMP_DEBS)" scripts/deps.sh --check-or-install
	$(Q)$(MAKE) --no-print-directory $(CMP_OBJS) $(BUILD)/libweft.a
	$(Q)rm -f $(CMP_BIN) && $(MAKE) --no-print-directory $(CMP_BIN) BENCH_FAMILIES_SEL="$(CMP_FAMS)"
	$(Q)$(CMP_BIN) $(BENCH_PAIRED_FLAGS) --wb_out=$(BENCH_BUILD)/compare.json $(BENCH_RUN_FLAGS)
	$(Q)python3 bench/report/verdict.py --results $(BENCH_BUILD)/compare.json --md $(BENCH_BUILD)/compare.md \
		$(if $(NOISY_OK),--noisy-ok)
	@echo "bench-compare: $(BENCH_BUILD)/compare.json and compare.md written; no tracked file touched"

# The bench of only the families BENCH_FAMILIES_SEL (or the filter) names, its path
# on the last line (bench/report/base_build.sh builds BASE's side with it, so
# that a bench file of another family using a newer API does not stop it).
bench-cmp-bin:
	$(Q)$(MAKE) --no-print-directory $(CMP_OBJS) $(BUILD)/libweft.a >/dev/null
	$(Q)rm -f $(CMP_BIN) && $(MAKE) --no-print-directory $(CMP_BIN) BENCH_FAMILIES_SEL="$(CMP_FAMS)" >/dev/null
	@echo $(CMP_BIN)

# ---- bench-ab: two builds interleaved in one run --------------------------------

bench-ab:
	$(Q)test -n "$(BASE)" -a -n "$(BENCH_FILTER)" || { echo "bench-ab: make bench-ab BASE=<git rev> BENCH_FILTER=regex"; exit 2; }
	$(Q)DEPS_PACKAGES="$(BENCH_ALL_DEBS)" scripts/deps.sh --check-or-install
	$(Q)$(MAKE) --no-print-directory $(BENCH_BIN)
	$(Q)AB_AA=$(AB_AA) AB_CONFIRM=$(AB_CONFIRM) bench/report/ab.sh "$(BASE)" '$(BENCH_FILTER)' "$(BENCH_ROUNDS)" "$(BENCH_MIN_TIME)" "$(BENCH_BIN)" \
		"$(BENCH_BUILD)/ab" "$(strip $(CMP_FAMS))"

# ---- bench-targets-15: issue 15's targets, one interleaved run --------------------

# The base is BASE's library measured by the working tree's bench (base_build.sh);
# 20 rounds (TARGETS15_ROUNDS) of 0.1 s windows (0.3 s at 4 and 8 threads on 2 CPUs): ~6 minutes
# on 2 CPUs, the base build included.
TARGETS15_BASE ?= $(or $(BASE),fad2c1a)
TARGETS15_ROUNDS ?= 20
bench-targets-15:
	$(Q)$(MAKE) --no-print-directory $(BENCH_BIN)
	$(Q)bench/report/targets15.sh "$(TARGETS15_BASE)" "$(TARGETS15_ROUNDS)" "$(BENCH_MIN_TIME)" "$(BENCH_BIN)" \
		"$(BENCH_BUILD)/targets15"

# ---- report -------------------------------------------------------------------

# Pages whose prose argues from the numbers are templates (docs/*.md.in)
# filled from the same run; a claim in them that no longer holds fails here.
REPORT_PAGES   := $(patsubst %.md.in,%.md,$(wildcard docs/*.md.in))
REPORT_RESULTS ?= $(BENCH_BUILD)/results.json
REPORT_MACHINE ?= $(BENCH_BUILD)/machine.json

report:
	$(Q)if python3 bench/report/results.py --filtered $(REPORT_RESULTS); then \
		echo "report: $(REPORT_RESULTS) is a filtered run: docs/ left as they were;" \
		     "the verdict table goes to $(BENCH_BUILD)/verdict.md"; \
		python3 bench/report/verdict.py --results $(REPORT_RESULTS) --md $(BENCH_BUILD)/verdict.md >/dev/null; \
		exit 0; \
	fi; \
	python3 bench/report/report.py --results $(REPORT_RESULTS) --machine $(REPORT_MACHINE) \
		$(if $(REPORT_PREVIOUS),--previous $(REPORT_PREVIOUS)) --out docs/benchmarks.md --img docs/img && \
	python3 bench/report/claims.py --results $(REPORT_RESULTS) --machine $(REPORT_MACHINE) --out docs/claims.md && \
	for page in $(REPORT_PAGES); do \
		python3 bench/report/fill_numbers.py --results $(REPORT_RESULTS) $$page.in $$page || exit 1; \
	done

# The report regenerated from a committed fixture run must equal the committed
# expected pages: a change to the generators that changes their output shows
# here, and is committed with its new expected pages (`make report-fixture`).
REPORT_FIXTURE := bench/report/fixture

check-report:
	$(Q)rm -rf $(BUILD)/report-check && mkdir -p $(BUILD)/report-check
	$(Q)python3 bench/report/report.py --results $(REPORT_FIXTURE)/results.json \
		--machine $(REPORT_FIXTURE)/machine.json --out $(BUILD)/report-check/benchmarks.md --no-charts --B 200 >/dev/null
	$(Q)python3 bench/report/verdict.py --results $(REPORT_FIXTURE)/results.json --B 200 --noisy-ok \
		--md $(BUILD)/report-check/verdict.md >/dev/null 2>&1
	$(Q)python3 bench/report/fill_numbers.py --results $(REPORT_FIXTURE)/results.json \
		$(REPORT_FIXTURE)/page.md.in $(BUILD)/report-check/page.md >/dev/null
	$(Q)python3 bench/report/claims.py --results $(REPORT_FIXTURE)/results.json \
		--machine $(REPORT_FIXTURE)/machine.json --out $(BUILD)/report-check/claims.md >/dev/null
	$(Q)python3 bench/report/check_ab.py
	$(Q)if diff -ru $(REPORT_FIXTURE)/expected $(BUILD)/report-check > $(BUILD)/report-check.diff; then \
		echo "check-report: the report generators reproduce $(REPORT_FIXTURE)/expected"; \
	else \
		head -n 40 $(BUILD)/report-check.diff; \
		echo "check-report: FAILED: generated pages drifted from $(REPORT_FIXTURE)/expected" \
		     "(if intended: make report-fixture, and commit)"; exit 1; \
	fi

report-fixture:
	$(Q)$(MAKE) --no-print-directory check-report >/dev/null 2>&1 || true
	$(Q)rm -rf $(REPORT_FIXTURE)/expected && cp -r $(BUILD)/report-check $(REPORT_FIXTURE)/expected
	@echo "report-fixture: $(REPORT_FIXTURE)/expected regenerated; review and commit it"

# make bench-ab's base build uses the working tree's bench even for a base older
# than it (bench/report/check_base_build.sh; about a minute: BASE's library and
# the mpmc and scenario bench files).
check-bench-ab:
	$(Q)DEPS_PACKAGES="$(sort $(BENCH_CORE_DEBS) $(bf_debs_mpmc))" scripts/deps.sh --check-or-install
	$(Q)bench/report/check_base_build.sh

CHECK_STEPS += check-report check-bench-ab
HELP_LINES  += "make bench-compare BENCH_FILTER=re  paired verdicts for chosen rows (no tracked file touched)" \
               "make bench-ab BASE=rev BENCH_FILTER=re  old and new build interleaved: per-row ratios" \
               "make bench-targets-15 [BASE=rev]  issue 15's targets: met/missed with intervals" \
               "make check-report  the report generators against a committed fixture run" \
               "make check-bench-ab  make bench-ab measures an old base with today's bench"

-include $(BENCH_OBJS:.o=.d)
