# Lock-order checking (src/lockdep.c, docs/lockorder.md).
#
#   make check-lockdep   a release build of every lock call references no
#                        lockdep hook (the checker is compiled out); in make check
#   make lockdep-cost    ns per uncontended lock/unlock: release, WEFT_DEBUG,
#                        WEFT_DEBUG with WEFT_LOCKDEP=off (provisional numbers)

LOCKDEP_BUILD := $(BUILD)/lockdep

.PHONY: check-lockdep lockdep-cost

# Compiles a program that calls every lock, unlock, try, timed, cond-wait and
# destroy call of the checked types with the release headers, and fails if
# its object mentions a weft__lockdep_ symbol; then the same with WEFT_DEBUG,
# which must mention them (else the check could not fail).
check-lockdep:
	@mkdir -p $(LOCKDEP_BUILD)
	$(Q)$(CC) -std=c11 -Iinclude $(WARNINGS) -Werror -O2 -c tests/probes/lockdep_probe.c -o $(LOCKDEP_BUILD)/probe_release.o
	$(Q)$(CC) -std=c11 -Iinclude $(WARNINGS) -Werror -O2 -DWEFT_DEBUG -c tests/probes/lockdep_probe.c -o $(LOCKDEP_BUILD)/probe_debug.o
	$(Q)if nm $(LOCKDEP_BUILD)/probe_release.o | grep -q weft__lockdep_; then \
		echo "check-lockdep: the release build calls the lock-order checker:"; \
		nm $(LOCKDEP_BUILD)/probe_release.o | grep weft__lockdep_; exit 1; fi
	$(Q)n=$$(nm $(LOCKDEP_BUILD)/probe_debug.o | grep -c ' U weft__lockdep_'); \
	if [ "$$n" -lt 6 ]; then echo "check-lockdep: the WEFT_DEBUG build calls only $$n lockdep hooks"; exit 1; fi; \
	echo "check-lockdep: release lock calls reference no lockdep hook; WEFT_DEBUG ones reference $$n"

# The cost program on the release library and on the WEFT_DEBUG one (the
# check-variants `debug` variant): a WEFT_DEBUG program links a WEFT_DEBUG library.
LOCKDEP_COST_RELEASE := $(LOCKDEP_BUILD)/release/lockdep_cost
LOCKDEP_COST_DEBUG   := $(LOCKDEP_BUILD)/debug/lockdep_cost
$(eval $(call weft_programs,main,tests/probes,$(LOCKDEP_BUILD)/release,$(LOCKDEP_COST_RELEASE)))
$(eval $(call weft_programs,debug,tests/probes,$(LOCKDEP_BUILD)/debug,$(LOCKDEP_COST_DEBUG)))

lockdep-cost: $(LOCKDEP_COST_RELEASE) $(LOCKDEP_COST_DEBUG)
	$(Q)$(LOCKDEP_COST_RELEASE) "release"
	$(Q)WEFT_LOCKDEP=off $(LOCKDEP_COST_DEBUG) "WEFT_DEBUG, WEFT_LOCKDEP=off"
	$(Q)$(LOCKDEP_COST_DEBUG) "WEFT_DEBUG (lock-order checks)"

CHECK_STEPS += check-lockdep
HELP_LINES  += "make lockdep-cost  what WEFT_DEBUG lock-order checking costs per lock (docs/lockorder.md)"
