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
ALL_CFLAGS  := -std=c11 -Iinclude -Isrc -fPIC $(WARNINGS) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
# Tests and stress programs use POSIX and GNU extensions (fork, mmap, getopt).
PROG_CFLAGS := -std=gnu11 -Iinclude -Isrc $(WARNINGS) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
LDLIBS      := -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS    := $(sort $(wildcard src/*.c))
LIB_OBJS    := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
TEST_SRCS   := $(sort $(wildcard tests/test_*.c))
TEST_BINS   := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
STRESS_SRCS := $(sort $(wildcard stress/stress_*.c))
HEADERS     := $(sort $(wildcard include/weft/*.h))

.PHONY: all test stress check bench bench-smoke report races install uninstall deps \
        clean help check-headers check-dist check-install check-variants dist
.DEFAULT_GOAL := all

all: $(BUILD)/libweft.a $(BUILD)/libweft.so

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libweft.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libweft.so: $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libweft.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- unit tests ---------------------------------------------------------

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(PROG_CFLAGS) -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libweft.a
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libweft.a $(LDLIBS)

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
TSAN_LIB_OBJS  := $(LIB_SRCS:src/%.c=$(STRESS_BUILD)/obj/%.o)

$(STRESS_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TSAN-CC $<")
	$(Q)$(TSAN_CC) -std=c11 -Iinclude -Isrc $(WARNINGS) $(TSAN_FLAGS) -MMD -MP -c $< -o $@

$(STRESS_BUILD)/%: stress/%.c stress/stress.h $(TSAN_LIB_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TSAN-CC $<")
	$(Q)$(TSAN_CC) -std=gnu11 -Iinclude -Isrc -Istress $(WARNINGS) $(TSAN_FLAGS) -o $@ $< $(TSAN_LIB_OBJS) $(LDLIBS)

# Keep the objects make would delete as intermediates, so a second `make test`
# or `make stress` does not compile the library again.
.SECONDARY: $(TSAN_LIB_OBJS) $(TEST_BINS:=.o)

stress: $(STRESS_BINS)
	$(Q)STRESS_SECONDS=$(STRESS_SECONDS) STRESS_THREADS="$(STRESS_THREADS)" scripts/run_stress.sh $(STRESS_BINS)

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

# The unit suite again under ASan+UBSan, with the portable wait backend, with
# clang, and with WEFT_DEBUG (each in its own build directory).
check-variants:
	$(Q)$(MAKE) --no-print-directory test BUILD=$(BUILD)/asan WERROR=-Werror \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	$(Q)$(MAKE) --no-print-directory test BUILD=$(BUILD)/portable WERROR=-Werror EXTRA_CFLAGS=-DWEFT_WAIT_PORTABLE
	$(Q)$(MAKE) --no-print-directory test BUILD=$(BUILD)/clang WERROR=-Werror CC=clang
	$(Q)$(MAKE) --no-print-directory test BUILD=$(BUILD)/debug WERROR=-Werror EXTRA_CFLAGS=-DWEFT_DEBUG

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

# The benchmark suite: `bench`, `bench-smoke` and `report` live beside it.
include bench/bench.mk

# Further targets, one file per concern (race lab, chaos and soak, models,
# portability).  Each may append a target to CHECK_STEPS (run by `make check`
# after the steps above) and a quoted line to HELP_LINES.
CHECK_STEPS :=
HELP_LINES  :=
include $(sort $(wildcard mk/*.mk))

-include $(LIB_OBJS:.o=.d) $(TSAN_LIB_OBJS:.o=.d) $(TEST_BINS:=.d)
