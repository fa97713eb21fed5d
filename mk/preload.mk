# libweft-preload.so and weft-run (issue 18): run any program's pthread locks on
# weft's, with LD_PRELOAD.  docs/preload.md.
#
#   make                       also builds $(BUILD)/libweft-preload.so and $(BUILD)/weft-run
#   make check-preload         the pthread conformance suite: plain glibc, the
#                              interposer with each mutex kind, and a ThreadSanitizer build
#   make install               also installs the library and bin/weft-run

PRELOAD_SO      := $(BUILD)/libweft-preload.so
PRELOAD_RUN     := $(BUILD)/weft-run
PRELOAD_CFLAGS  := -std=gnu11 -Iinclude -Isrc -Ipreload -fPIC -fvisibility=hidden $(WARNINGS) $(CFLAGS) $(EXTRA_CFLAGS)
BINDIR          ?= $(PREFIX)/bin

all: $(PRELOAD_SO) $(PRELOAD_RUN)

$(BUILD)/preload/weft_preload.o: preload/weft_preload.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(PRELOAD_CFLAGS) -MMD -MP -c $< -o $@

# The interposer and weft's own objects in one shared library; only the
# pthread and sem symbols are exported (preload/exports.map).
$(PRELOAD_SO): $(BUILD)/preload/weft_preload.o $(LIB_OBJS) preload/exports.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,--version-script=preload/exports.map -o $@ \
		$(BUILD)/preload/weft_preload.o $(LIB_OBJS) -ldl $(LDLIBS)

$(PRELOAD_RUN): preload/weft-run.in
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PRELOAD_LIB@|$(abspath $(PRELOAD_SO))|' $< > $@ && chmod 755 $@

-include $(BUILD)/preload/weft_preload.d

# ---- the conformance suite ----------------------------------------------

PRELOAD_TEST_SRCS := $(sort $(wildcard preload/tests/*.c))
PRELOAD_TESTS     := $(PRELOAD_TEST_SRCS:preload/tests/%.c=$(BUILD)/preload/tests/%)
PRELOAD_TSAN_TESTS := $(PRELOAD_TEST_SRCS:preload/tests/%.c=$(BUILD)/preload/tsan/%)

$(PRELOAD_TESTS): $(BUILD)/preload/tests/%: preload/tests/%.c preload/weft_preload.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -Ipreload $(WARNINGS) $(CFLAGS) -o $@ $< -ldl $(LDLIBS)

# ThreadSanitizer: the interposer's object linked into the test with a
# prefix (weft_preload.h says why), on the TSan build of the library.
$(BUILD)/preload/tsan/weft_preload.o: preload/weft_preload.c
	@mkdir -p $(@D)
	$(Q)$(TSAN_CC) -std=gnu11 -Iinclude -Isrc -Ipreload $(WARNINGS) $(TSAN_FLAGS) -DWEFT_PRELOAD_PREFIX -c $< -o $@

$(PRELOAD_TSAN_TESTS): $(BUILD)/preload/tsan/%: preload/tests/%.c preload/weft_preload.h $(BUILD)/preload/tsan/weft_preload.o $(tsan_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      [tsan] $<")
	$(Q)$(TSAN_CC) -std=gnu11 -Ipreload $(WARNINGS) $(TSAN_FLAGS) -DWEFT_PRELOAD_PREFIX -DWEFT_PRELOAD_RENAME -o $@ $< \
		$(BUILD)/preload/tsan/weft_preload.o $(tsan_LIB) -ldl $(LDLIBS)

check-preload: $(PRELOAD_SO) $(PRELOAD_RUN) $(PRELOAD_TESTS) $(PRELOAD_TSAN_TESTS)
	$(Q)preload/run_conform.sh $(PRELOAD_SO) $(PRELOAD_RUN) "$(PRELOAD_TESTS)" "$(PRELOAD_TSAN_TESTS)"

install-preload: $(PRELOAD_SO) preload/weft-run.in
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR)
	install -m 755 $(PRELOAD_SO) $(DESTDIR)$(LIBDIR)/libweft-preload.so
	sed -e 's|@PRELOAD_LIB@|$(LIBDIR)/libweft-preload.so|' preload/weft-run.in > $(DESTDIR)$(BINDIR)/weft-run
	chmod 755 $(DESTDIR)$(BINDIR)/weft-run

uninstall-preload:
	rm -f $(DESTDIR)$(LIBDIR)/libweft-preload.so $(DESTDIR)$(BINDIR)/weft-run

install: install-preload
uninstall: uninstall-preload

.PHONY: check-preload install-preload uninstall-preload
CHECK_STEPS += check-preload
HELP_LINES  += "make check-preload   pthread conformance suite: glibc, libweft-preload.so (each mutex kind), TSan"
