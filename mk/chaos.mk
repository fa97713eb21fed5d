# Chaos schedules and soak (issue 7, items 1-2).
#
#   make chaos   the stress tests built with -DWEFT_CHAOS under TSan, each run
#                with every seed of CHAOS_SEEDS at every thread count of
#                CHAOS_THREADS for CHAOS_SECONDS; a failure prints the test,
#                threads and seed and the command that reruns it.
#   make chaos-quick   the short pass `make check` runs (CHAOS_QUICK_* below).
#   make soak SOAK_MINUTES=N   the TSan stress suite over and over for N minutes
#                (SOAK_CHAOS=1: the chaos build), one progress line per run.

CHAOS_BUILD    := $(BUILD)/chaos
CHAOS_FLAGS    := $(TSAN_FLAGS) -DWEFT_CHAOS
CHAOS_SEEDS    ?= 1 2 3 4 5
CHAOS_THREADS  ?= 2 8
CHAOS_SECONDS  ?= 1
CHAOS_BINS     := $(STRESS_SRCS:stress/%.c=$(CHAOS_BUILD)/%)

# A short pass for `make check`: every test, 5 seeds, two thread counts.
CHAOS_QUICK_SEEDS   ?= 11 12 13 14 15
CHAOS_QUICK_THREADS ?= 2 8
CHAOS_QUICK_SECONDS ?= 0.3

SOAK_MINUTES   ?= 5
SOAK_SECONDS   ?= 3
SOAK_THREADS   ?= 2 4 16
SOAK_CHAOS     ?=
SOAK_BUILD     := $(BUILD)/soak
SOAK_BINS      := $(STRESS_SRCS:stress/%.c=$(SOAK_BUILD)/%)

# The stress programs on the library built with chaos points (TSan + WEFT_CHAOS).
$(eval $(call weft_lib_variant,chaos,$(CHAOS_BUILD),$(TSAN_CC),$(CHAOS_FLAGS)))
$(eval $(call weft_programs,chaos,stress,$(CHAOS_BUILD),$(CHAOS_BINS)))

# The soak's own copy of the `make stress` build: a soak keeps running the
# binaries it started with while other targets rebuild theirs.
$(eval $(call weft_lib_variant,soak,$(SOAK_BUILD),$(TSAN_CC),$(TSAN_FLAGS)))
$(eval $(call weft_programs,soak,stress,$(SOAK_BUILD),$(SOAK_BINS)))

.PHONY: chaos chaos-quick soak check-chaos-free

# The release build pays nothing: neither the inline fast paths (a probe
# object) nor the library reference weft__chaos_point without WEFT_CHAOS; a
# WEFT_CHAOS probe does.
check-chaos-free: $(BUILD)/libweft.a
	@mkdir -p $(CHAOS_BUILD)
	$(Q)$(CC) -std=c11 -Iinclude $(WARNINGS) -Werror -O2 -c tests/probes/chaos_probe.c -o $(CHAOS_BUILD)/probe_release.o
	$(Q)$(CC) -std=c11 -Iinclude $(WARNINGS) -Werror -O2 -DWEFT_CHAOS -c tests/probes/chaos_probe.c -o $(CHAOS_BUILD)/probe_chaos.o
	$(Q)if nm $(CHAOS_BUILD)/probe_release.o $(BUILD)/libweft.a | grep -q weft__chaos; then \
		echo "check-chaos-free: the release build has chaos points:"; \
		nm -A $(CHAOS_BUILD)/probe_release.o $(BUILD)/libweft.a | grep weft__chaos; exit 1; fi
	$(Q)n=$$(nm $(CHAOS_BUILD)/probe_chaos.o | grep -c ' U weft__chaos_point'); \
	if [ "$$n" -ne 1 ]; then echo "check-chaos-free: the WEFT_CHAOS probe does not call weft__chaos_point"; exit 1; fi; \
	echo "check-chaos-free: no chaos point in the release fast paths or library; the WEFT_CHAOS build calls them"

chaos: $(CHAOS_BINS)
	$(Q)CHAOS_SEEDS="$(CHAOS_SEEDS)" CHAOS_THREADS="$(CHAOS_THREADS)" CHAOS_SECONDS=$(CHAOS_SECONDS) \
		scripts/run_chaos.sh $(CHAOS_BINS)

chaos-quick: $(CHAOS_BINS)
	$(Q)CHAOS_SEEDS="$(CHAOS_QUICK_SEEDS)" CHAOS_THREADS="$(CHAOS_QUICK_THREADS)" \
		CHAOS_SECONDS=$(CHAOS_QUICK_SECONDS) scripts/run_chaos.sh $(CHAOS_BINS)

soak: $(if $(SOAK_CHAOS),$(CHAOS_BINS),$(SOAK_BINS))
	$(Q)SOAK_MINUTES=$(SOAK_MINUTES) SOAK_SECONDS=$(SOAK_SECONDS) SOAK_THREADS="$(SOAK_THREADS)" \
		scripts/soak.sh $(if $(SOAK_CHAOS),$(CHAOS_BINS),$(SOAK_BINS))

HELP_LINES += "make chaos      stress tests in the WEFT_CHAOS build under TSan, CHAOS_SEEDS=\"$(CHAOS_SEEDS)\" each"
HELP_LINES += "make soak       the stress suite for SOAK_MINUTES=$(SOAK_MINUTES) (SOAK_CHAOS=1: chaos build)"

CHECK_STEPS += check-chaos-free chaos-quick

# Plant known lost-wake-up bugs in a copy of the sources and compare how often
# plain TSan stress and the chaos build catch them (not part of make check).
.PHONY: chaos-mutants
chaos-mutants:
	$(Q)TSAN_CC=$(TSAN_CC) scripts/chaos_mutants.sh
HELP_LINES += "make chaos-mutants  plant known bugs; compare TSan stress with the chaos build"
