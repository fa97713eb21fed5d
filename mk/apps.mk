# make apps (issue 18): real multithreaded programs from Debian's packages on
# glibc's pthread locks and on weft's (libweft-preload.so, each mutex kind),
# interleaved and repeated, every run's output checked; then docs/apps.md.
#
#   make apps           APPS_REPS=6 APPS_KINDS=mutex,spin,ticket,mcs,mutex-nospin APPS=sysbench-mutex,pigz,...
#   make apps-doc       docs/apps.md from the last build/apps/results.json
#   make check-apps     (in make check) one small run of each app on glibc and on
#                       weft: outputs must be identical; a few seconds
#   make lockcost       interposed uncontended pthread_mutex_lock+unlock vs a direct
#                       weft_mutex_lock+unlock, interleaved in one run

APPS_PACKAGES := sysbench pigz zstd xz-utils redis-server redis-tools python3
APPS_REPS     ?= 6
APPS_KINDS    ?= mutex,spin,ticket,mcs,mutex-nospin
APPS          ?=
APPS_RESULTS  := $(BUILD)/apps/results.json

apps-deps:
	$(Q)DEPS_PACKAGES="$(APPS_PACKAGES)" scripts/deps.sh --check-or-install

apps: apps-deps $(PRELOAD_SO) $(PRELOAD_RUN) $(BUILD)/apps/lockcost
	$(Q)python3 apps/apps.py run --build $(BUILD) --reps $(APPS_REPS) --kinds $(APPS_KINDS) \
		$(if $(APPS),--apps $(APPS)) --out $(APPS_RESULTS)
	$(Q)$(BUILD)/apps/lockcost --json $(BUILD)/apps/lockcost.json
	$(Q)python3 apps/report_apps.py $(APPS_RESULTS) $(BUILD)/apps/lockcost.json docs/apps.md

apps-doc:
	$(Q)python3 apps/report_apps.py $(APPS_RESULTS) $(BUILD)/apps/lockcost.json docs/apps.md

check-apps: apps-deps $(PRELOAD_SO) $(PRELOAD_RUN)
	$(Q)python3 apps/apps.py smoke --build $(BUILD)

# The cost probe: linked to libweft.a for the direct calls; its
# pthread_mutex_* calls go to the interposer when it runs under weft-run.
$(BUILD)/apps/lockcost: apps/lockcost.c $(main_LIB) $(PRELOAD_SO)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -Iinclude $(WARNINGS) $(CFLAGS) -o $@ $< $(BUILD)/libweft.a -ldl -lm $(LDLIBS)

lockcost: $(BUILD)/apps/lockcost $(PRELOAD_RUN)
	$(Q)$(PRELOAD_RUN) -- $(BUILD)/apps/lockcost

.PHONY: apps apps-deps apps-doc check-apps lockcost
CHECK_STEPS += check-apps
HELP_LINES  += "make apps            real programs (sysbench, pigz, zstd, xz, redis) on glibc vs weft's locks; docs/apps.md"
