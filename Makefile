# weft - the one entry point.  `make help` lists the targets.
#
# Overridable: CC, CXX, CFLAGS, CXXFLAGS, LDFLAGS, PREFIX, DESTDIR, LIBDIR,
# INCLUDEDIR, BUILD, V=1 (show commands), STRESS_SECONDS, BENCH_FILTER.

VERSION     := 0.1.0
SOVERSION   := 0

CC          ?= cc
CXX         ?= c++
TSAN_CC     ?= clang
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BUILD       ?= build

CFLAGS      ?= -O2 -g
# Extra flags for a variant build (sanitizers, WEFT_WAIT_PORTABLE, ...).
EXTRA_CFLAGS ?=
WERROR      ?=
WARNINGS    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wcast-align -Wundef $(WERROR)
LDLIBS      := -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS    := $(sort $(wildcard src/*.c))
TEST_SRCS   := $(sort $(wildcard tests/test_*.c))
STRESS_SRCS := $(sort $(wildcard stress/stress_*.c))
HEADERS     := $(sort $(wildcard include/weft/*.h))

.PHONY: all test stress check bench bench-smoke report races install uninstall deps \
        clean help check-headers check-dist check-install check-variants dist
.DEFAULT_GOAL := all

# ---- library variants: the one recipe ------------------------------------
#
# $(eval $(call weft_lib_variant,NAME,DIR,CC,CFLAGS[,AR]))
#   The library built one way, in its own directory.  Compiles every src/*.c to
#   DIR/obj/<name>.o with
#       CC -std=c11 -Iinclude -Isrc -fPIC $(WARNINGS) CFLAGS -MMD -MP
#   archives the objects into DIR/libweft.a (with AR, default ar) and includes
#   their dependency files.  It defines, for the caller:
#       NAME_DIR, NAME_CC, NAME_CFLAGS, NAME_AR   its arguments
#       NAME_LIB_OBJS                             the objects
#       NAME_LIB                                  DIR/libweft.a
#   CFLAGS are the variant's own flags (-O level, sanitizers, -D..., -Werror);
#   a -std among them replaces the library's c11.  The arguments are expanded
#   when the call is evaluated: define what they name before the call.  Pass
#   flags holding a comma (-fsanitize=address,undefined) through a variable.
#   The objects are explicit targets, never intermediates: they stay between
#   runs and a second make compiles only what changed (-MMD -MP).
#
# $(eval $(call weft_programs,NAME,SRCDIR,OUTDIR,BINS[,FLAGS]))
#   Programs on variant NAME: each OUTDIR/<x> of BINS is compiled from
#   SRCDIR/<x>.c to OUTDIR/<x>.o (kept, so a library change only relinks) with
#       NAME_CC -Iinclude -Isrc -ISRCDIR $(WARNINGS) NAME_CFLAGS FLAGS -std=gnu11 -MMD -MP
#   and linked against NAME_LIB and $(LDLIBS).  Programs always build as gnu11
#   (they use fork, mmap, getopt); the library keeps its own -std.
#
# Example, in a new mk/ fragment (the unit tests built with -DWEFT_SOMETHING):
#   $(eval $(call weft_lib_variant,something,$(BUILD)/something,$(CC),$(CFLAGS) -DWEFT_SOMETHING))
#   SOMETHING_TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/something/tests/%)
#   $(eval $(call weft_programs,something,tests,$(BUILD)/something/tests,$(SOMETHING_TESTS)))
#   check-something: $(SOMETHING_TESTS)
#   	$(Q)scripts/run_tests.sh $(SOMETHING_TESTS)
define weft_lib_variant
$(1)_DIR      := $(2)
$(1)_CC       := $(3)
$(1)_CFLAGS   := $(4)
$(1)_AR       := $(if $(5),$(5),ar)
$(1)_LIB_OBJS := $$(LIB_SRCS:src/%.c=$(2)/obj/%.o)
$(1)_LIB      := $(2)/libweft.a

$$($(1)_LIB_OBJS): $(2)/obj/%.o: src/%.c
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  CC      $(if $(filter main,$(1)),,[$(1)] )$$<")
	$$(Q)$$($(1)_CC) -std=c11 -Iinclude -Isrc -fPIC $$(WARNINGS) $$($(1)_CFLAGS) -MMD -MP -c $$< -o $$@

$(2)/libweft.a: $$($(1)_LIB_OBJS)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && $$($(1)_AR) rcs $$@ $$^

-include $$($(1)_LIB_OBJS:.o=.d)
endef

define weft_programs
$(4:=.o): $(3)/%.o: $(2)/%.c
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  CC      $(if $(filter main,$(1)),,[$(1)] )$$<")
	$$(Q)$$($(1)_CC) -Iinclude -Isrc -I$(2) $$(WARNINGS) $$($(1)_CFLAGS) $(5) -std=gnu11 -MMD -MP -c $$< -o $$@

$(4): $(3)/%: $(3)/%.o $$($(1)_LIB)
	$$(Q)$$($(1)_CC) $$($(1)_CFLAGS) $(5) $$(LDFLAGS) -o $$@ $$< $$($(1)_LIB) $$(LDLIBS)

-include $(4:=.d)
endef

# ---- the library ----------------------------------------------------------

# Every loop of the released library starts a 64-byte line, so that its speed
# does not depend on where the linker puts it in the program that links it.
# Without it, bench-ab against bb52a9a (issue 12) found counter/read/
# weft_scounter @1 1.30x slower, confirmed in a second run, from the same
# instructions (weft_scounter_read()'s loop straddled a line); and
# rwlock/reads90/weft_brlock @2 ran at 77 M/s in one bench binary and 87 M/s in
# another built from the same library.  With it, scounter read is a tie (1.02x
# [0.92, 1.11]).  The bench's own loops get the same flag (BENCH_OPT,
# mk/bench.mk).  LIB_ALIGN= drops it.
LIB_ALIGN   ?= -falign-loops=64
$(eval $(call weft_lib_variant,main,$(BUILD),$(CC),$(CFLAGS) $(LIB_ALIGN) $(EXTRA_CFLAGS)))
LIB_OBJS := $(main_LIB_OBJS)

all: $(BUILD)/libweft.a $(BUILD)/libweft.so

$(BUILD)/libweft.so: $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libweft.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- unit tests ---------------------------------------------------------

TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
$(eval $(call weft_programs,main,tests,$(BUILD)/tests,$(TEST_BINS)))

# Runs every test program; the runner sums their results into one final
# "N passed, N failed" line and fails if any test failed or crashed.
test: $(TEST_BINS)
	$(Q)scripts/run_tests.sh $(TEST_BINS)

# ---- ThreadSanitizer stress ---------------------------------------------

STRESS_BUILD   := $(BUILD)/tsan
STRESS_SECONDS ?= 2
STRESS_THREADS ?= 2 4 16
TSAN_FLAGS     := -fsanitize=thread -O1 -g
STRESS_BINS    := $(STRESS_SRCS:stress/%.c=$(STRESS_BUILD)/%)

$(eval $(call weft_lib_variant,tsan,$(STRESS_BUILD),$(TSAN_CC),$(TSAN_FLAGS)))
$(eval $(call weft_programs,tsan,stress,$(STRESS_BUILD),$(STRESS_BINS)))
TSAN_LIB_OBJS  := $(tsan_LIB_OBJS)

stress: $(STRESS_BINS)
	$(Q)STRESS_SECONDS=$(STRESS_SECONDS) STRESS_THREADS="$(STRESS_THREADS)" scripts/run_stress.sh $(STRESS_BINS)

# ---- the unit suite in other builds (check-variants) --------------------

# ASan+UBSan, the portable wait backend, clang, WEFT_DEBUG: each in
# $(BUILD)/<variant>/, warnings as errors.
VARIANTS_ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CHECK_VARIANTS      := asan portable clang debug
$(eval $(call weft_lib_variant,asan,$(BUILD)/asan,$(CC),$(CFLAGS) -Werror $(VARIANTS_ASAN_FLAGS)))
$(eval $(call weft_lib_variant,portable,$(BUILD)/portable,$(CC),$(CFLAGS) -Werror -DWEFT_WAIT_PORTABLE))
$(eval $(call weft_lib_variant,clang,$(BUILD)/clang,clang,$(CFLAGS) -Werror))
$(eval $(call weft_lib_variant,debug,$(BUILD)/debug,$(CC),$(CFLAGS) -Werror -DWEFT_DEBUG))
$(foreach v,$(CHECK_VARIANTS),$(eval $(v)_TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/$(v)/tests/%)) \
	$(eval $(call weft_programs,$(v),tests,$(BUILD)/$(v)/tests,$($(v)_TESTS))))

check-variants: $(foreach v,$(CHECK_VARIANTS),$($(v)_TESTS))
	$(Q)$(foreach v,$(CHECK_VARIANTS),echo "check-variants: $(v)" && scripts/run_tests.sh $($(v)_TESTS) &&) true

# ---- the checks CI runs -------------------------------------------------

# Every public header compiles on its own as C11 and as C++11.
check-headers:
	$(Q)scripts/check_headers.sh $(HEADERS)

# dist/weft.h is generated; the committed copy must be the fresh one.
dist: dist/weft.h
dist/weft.h: $(HEADERS) $(LIB_SRCS) $(wildcard src/*.h) scripts/amalgamate.py
	$(Q)python3 scripts/amalgamate.py -o $@

check-dist:
	$(Q)scripts/check_dist.sh

check-install:
	$(Q)scripts/check_install.sh

check:
	$(Q)scripts/deps.sh --check-or-install
	$(Q)$(MAKE) --no-print-directory all WERROR=-Werror
	$(Q)$(MAKE) --no-print-directory test WERROR=-Werror
	$(Q)$(MAKE) --no-print-directory stress
	$(Q)$(MAKE) --no-print-directory check-variants
	$(Q)$(MAKE) --no-print-directory check-headers
	$(Q)$(MAKE) --no-print-directory check-dist
	$(Q)$(MAKE) --no-print-directory check-install
	$(Q)$(MAKE) --no-print-directory bench-smoke
	$(Q)for step in $(CHECK_STEPS); do $(MAKE) --no-print-directory $$step || exit 1; done
	@echo "make check: all checks passed"

# ---- install ------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(INCLUDEDIR)/weft $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/weft/
	install -m 644 $(BUILD)/libweft.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libweft.so $(DESTDIR)$(LIBDIR)/libweft.so.$(VERSION)
	ln -sf libweft.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libweft.so.$(SOVERSION)
	ln -sf libweft.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libweft.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' weft.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/weft.pc
	@scripts/install_hint.sh "$(DESTDIR)" "$(LIBDIR)"

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/weft
	rm -f $(DESTDIR)$(LIBDIR)/libweft.a $(DESTDIR)$(LIBDIR)/libweft.so \
	      $(DESTDIR)$(LIBDIR)/libweft.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libweft.so.$(VERSION) \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/weft.pc

deps:
	scripts/deps.sh

clean:
	rm -rf $(BUILD)

help:
	@echo "make            build/libweft.a and build/libweft.so"
	@echo "make test       unit tests (ends with 'N passed, N failed')"
	@echo "make stress     ThreadSanitizer stress tests (STRESS_SECONDS=$(STRESS_SECONDS) per run)"
	@echo "make check      everything CI runs"
	@echo "make bench      the benchmark suite (BENCH_FILTER=regex for a subset)"
	@echo "make bench-smoke every benchmark row once, briefly"
	@echo "make dist       regenerate dist/weft.h, the single header"
	@echo "make report     docs/benchmarks.md from build/bench/results.json"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR= LIBDIR= INCLUDEDIR="
	@echo "make deps       install the Debian packages the targets need"
	@for line in $(HELP_LINES); do echo "$$line"; done

# Further targets, one file per concern (the benchmark suite in mk/bench.mk,
# race lab, chaos and soak, models, portability).  Each may append a target to CHECK_STEPS (run by `make check`
# after the steps above) and a quoted line to HELP_LINES.
CHECK_STEPS :=
HELP_LINES  :=
include $(sort $(wildcard mk/*.mk))

