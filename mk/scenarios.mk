# mk/scenarios.mk - the contention scenarios' claims and the coroutine switch they use,
# included by the top Makefile.
#
#   make claims          docs/claims.md from $(BUILD)/bench/results.json (the run `make report`
#                        reads): every numeric claim of SCENARIOS.md C1, C3-C7 against the
#                        scenario/* rows (bench/report/claims.py).  Run `make bench` first; rows
#                        missing from the run are shown as "not measured".
#   make check-coswitch  (part of make check) bench/coswitch_test.c: the hand-written
#                        coroutine switch keeps callee-saved registers, natively and, when
#                        gcc-aarch64-linux-gnu and qemu-aarch64 are installed, for aarch64
#                        under qemu-user
#
# The scenario rows themselves are bench/bench_scenario_*.c (picked up by mk/bench.mk).

COSWITCH_BUILD   := $(BUILD)/scenarios
COSWITCH_CFLAGS  := -std=gnu11 -Ibench $(WARNINGS) -O2
AARCH64_CC       ?= aarch64-linux-gnu-gcc
QEMU_AARCH64     ?= qemu-aarch64
CLAIMS_RESULTS   ?= $(BUILD)/bench/results.json

.PHONY: claims check-coswitch

claims:
	$(Q)python3 bench/report/claims.py --results $(CLAIMS_RESULTS) --out docs/claims.md

$(COSWITCH_BUILD)/coswitch_test: bench/coswitch_test.c bench/coswitch.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(COSWITCH_CFLAGS) -o $@ $<

$(COSWITCH_BUILD)/coswitch_test_aarch64: bench/coswitch_test.c bench/coswitch.h
	@mkdir -p $(@D)
	$(Q)$(AARCH64_CC) $(COSWITCH_CFLAGS) -static -o $@ $<

check-coswitch: $(COSWITCH_BUILD)/coswitch_test
	$(Q)$(COSWITCH_BUILD)/coswitch_test
	$(Q)if command -v $(AARCH64_CC) >/dev/null 2>&1 && command -v $(QEMU_AARCH64) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(COSWITCH_BUILD)/coswitch_test_aarch64 && \
		$(QEMU_AARCH64) $(COSWITCH_BUILD)/coswitch_test_aarch64; \
	else \
		echo "coswitch: aarch64 not checked ($(AARCH64_CC) or $(QEMU_AARCH64) missing)"; \
	fi

CHECK_STEPS += check-coswitch
HELP_LINES  += "make claims     docs/claims.md: the articles' numeric claims against the scenario rows"
