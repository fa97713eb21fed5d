# mk/races.mk - the race lab (docs/races/r*.c, docs/races.md), included by the top Makefile.
#
#   make races         build every race program and run each with its defaults
#   make races-check   (part of make check) every fixed mode is correct; the
#                      -fsanitize=thread build of every tsan-racy mode reports and
#                      of every tsan-clean mode stays silent (scripts/races_check.sh)
#   make races-lockdep (part of races-check) R11 built with WEFT_DEBUG: the
#                      lock-order checker reports the ABBA mode, not the fixes
#   make races-count   every racy and fixed mode RACES_COUNT_RUNS (10) times: how
#                      often each went wrong; writes $(BUILD)/races/counts.md too
#   make races-doc     docs/races.md from docs/races/chapters/*.md with real output
#
# Programs by wildcard: a new docs/races/rNN_name.c joins every target with no
# edit here.  Each is one C file on docs/races/lab.h (its top comment is the
# contract: flags, --list-modes, exit status, doc markers).

RACES_SRCS       := $(sort $(wildcard docs/races/r[0-9]*.c))
RACES_BUILD      := $(BUILD)/races
RACES_BINS       := $(RACES_SRCS:docs/races/%.c=$(RACES_BUILD)/%)
RACES_TSAN_BINS  := $(RACES_SRCS:docs/races/%.c=$(RACES_BUILD)/tsan/%)
RACES_COUNT_RUNS ?= 10
# Always optimized like a user's build, whatever CFLAGS says (the races need real
# loads and stores at real speed); never sanitized in the normal build.
RACES_CFLAGS     := -std=gnu11 -Iinclude -Idocs/races $(WARNINGS) -O2 -g -MMD -MP
RACES_TSAN_FLAGS := -std=gnu11 -Iinclude -Idocs/races $(WARNINGS) $(TSAN_FLAGS) -MMD -MP

.PHONY: races races-build races-check races-count races-doc races-lockdep

$(RACES_BUILD)/%: docs/races/%.c $(BUILD)/libweft.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(RACES_CFLAGS) -MF $@.d -MT $@ -o $@ $< $(BUILD)/libweft.a $(LDLIBS)

$(RACES_BUILD)/tsan/%: docs/races/%.c $(TSAN_LIB_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TSAN-CC $<")
	$(Q)$(TSAN_CC) $(RACES_TSAN_FLAGS) -MF $@.d -MT $@ -o $@ $< $(TSAN_LIB_OBJS) $(LDLIBS)

# The TSan library objects are shared with `make stress`: keep them.
.SECONDARY: $(TSAN_LIB_OBJS)

races-build: $(RACES_BINS) $(RACES_TSAN_BINS)

races: $(RACES_BINS)
	$(Q)scripts/races_check.sh --run $(RACES_BINS)

races-check:
	$(Q)$(MAKE) --no-print-directory races-build WERROR=-Werror
	$(Q)scripts/races_check.sh --check --tsan-dir $(RACES_BUILD)/tsan $(RACES_BINS)
	$(Q)$(MAKE) --no-print-directory races-lockdep WERROR=-Werror
	$(Q)python3 scripts/races_doc.py --check-pictures

# R11 again, built with WEFT_DEBUG: weft's lock-order checker (docs/lockorder.md)
# must report the ABBA mode's inversion, and stay silent on the fixes that remove
# it (lock ordering, trylock).  The timed fix keeps the inversion (a timeout only
# breaks the hang), so the checker reports it too; that is asserted as well.
RACES_LOCKDEP_BIN := $(RACES_BUILD)/lockdep/r11_abba_deadlock

$(RACES_LOCKDEP_BIN): docs/races/r11_abba_deadlock.c $(BUILD)/libweft.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $< (WEFT_DEBUG)")
	$(Q)$(CC) $(RACES_CFLAGS) -DWEFT_DEBUG -MF $@.d -MT $@ -o $@ $< $(BUILD)/libweft.a $(LDLIBS)

races-lockdep: $(RACES_LOCKDEP_BIN)
	$(Q)scripts/races_lockdep.sh $(RACES_LOCKDEP_BIN)

races-count: $(RACES_BINS)
	$(Q)scripts/races_check.sh --count $(RACES_COUNT_RUNS) --table $(RACES_BUILD)/counts.md $(RACES_BINS)

races-doc: races-build
	$(Q)python3 scripts/races_doc.py --bin $(RACES_BUILD) --counts $(RACES_BUILD)/counts.md -o docs/races.md

CHECK_STEPS += races-check
HELP_LINES  += "make races      the race lab: every race program with its defaults (docs/races.md)"
HELP_LINES  += "make races-check  race lab checks: fixes correct, TSan reports the racy modes only"
HELP_LINES  += "make races-count  each racy and fixed mode $(RACES_COUNT_RUNS) times: how often it went wrong"
HELP_LINES  += "make races-doc  regenerate docs/races.md with this machine's output"

-include $(RACES_BINS:=.d) $(RACES_TSAN_BINS:=.d) $(RACES_LOCKDEP_BIN).d
