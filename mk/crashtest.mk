# mk/crashtest.mk - `make crashtest` (issue 14): for every process-shared
# primitive, worker processes on shared objects, one SIGKILLed at a random
# moment; survivors must finish (a watchdog), invariants must hold, a robust
# mutex must report the death.  tests/crash/crashtest.c says how.
#
#   make crashtest                       CRASHTEST_KILLS (default 1000) kills per primitive
#   make crashtest-quick                 (part of make check) 25 kills per primitive
#   CRASHTEST_SEED=0x...                 replay a run (the seed is printed first)
#   CRASHTEST_ARGS=-p robust             one primitive, or other crashtest flags

CRASHTEST_KILLS       ?= 1000
CRASHTEST_QUICK_KILLS ?= 25
CRASHTEST_SEED        ?=
CRASHTEST_ARGS        ?=
CRASHTEST_BIN         := $(BUILD)/crash/crashtest

$(eval $(call weft_programs,main,tests/crash,$(BUILD)/crash,$(CRASHTEST_BIN)))

.PHONY: crashtest crashtest-quick

crashtest: $(CRASHTEST_BIN)
	$(Q)$(CRASHTEST_BIN) -k $(CRASHTEST_KILLS) $(if $(CRASHTEST_SEED),-s $(CRASHTEST_SEED)) $(CRASHTEST_ARGS)

crashtest-quick: $(CRASHTEST_BIN)
	$(Q)$(CRASHTEST_BIN) -k $(CRASHTEST_QUICK_KILLS) $(if $(CRASHTEST_SEED),-s $(CRASHTEST_SEED)) $(CRASHTEST_ARGS)

CHECK_STEPS += crashtest-quick
HELP_LINES  += "make crashtest       kill a worker process of every process-shared primitive CRASHTEST_KILLS (1000) times: 0 hangs, 0 violations"
HELP_LINES  += "make crashtest-quick the same, 25 kills per primitive (part of make check)"

# Uncontended cost of a robust lock+unlock against a robust pthread_mutex_t and
# a plain weft_mutex_t, interleaved in one run (tests/crash/robust_cost.c).
ROBUST_COST_BIN := $(BUILD)/crash/robust_cost
$(eval $(call weft_programs,main,tests/crash,$(BUILD)/crash,$(ROBUST_COST_BIN)))
.PHONY: robust-cost
robust-cost: $(ROBUST_COST_BIN)
	$(Q)$(ROBUST_COST_BIN)
HELP_LINES  += "make robust-cost     uncontended robust lock+unlock vs a robust pthread_mutex_t and a plain weft_mutex_t"
