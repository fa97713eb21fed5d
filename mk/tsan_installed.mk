# ThreadSanitizer against the installed *release* library (issue 12).
#
#   make check-tsan-installed   build libweft as a user would (plain -O2, no
#                               sanitizer), `make install` it into a folder under
#                               $(BUILD), then build tests/tsan_installed/tsan_all.c
#                               with $(TSAN_CC) -fsanitize=thread against the
#                               installed libweft.a, against libweft.so, and
#                               against dist/weft.h (implementation in
#                               tsan_impl.c), run each, and demand zero TSan
#                               reports and every check passed.
#
# The program calls every blocking, timed and try call of every primitive
# with two threads; it fails if an annotation the headers must make is made
# only by the library (which is compiled without TSan here), see
# include/weft/lockhooks.h and include/weft/tsan.h.

TSI_BUILD  := $(BUILD)/tsan_installed
TSI_ROOT    = $(abspath $(TSI_BUILD))/root
TSI_PREFIX := /usr
TSI_FLAGS  := -std=gnu11 $(WARNINGS) -Werror -fsanitize=thread -O1 -g
TSI_SRC    := tests/tsan_installed/tsan_all.c

.PHONY: check-tsan-installed

check-tsan-installed:
	$(Q)rm -rf $(TSI_BUILD) && mkdir -p $(TSI_BUILD)
	@echo "check-tsan-installed: release libweft (-O2, no sanitizer) installed into $(TSI_ROOT)"
	$(Q)$(MAKE) --no-print-directory install BUILD=$(TSI_BUILD)/lib CFLAGS=-O2 EXTRA_CFLAGS= \
		DESTDIR=$(TSI_ROOT) PREFIX=$(TSI_PREFIX) LIBDIR=$(TSI_PREFIX)/lib INCLUDEDIR=$(TSI_PREFIX)/include >/dev/null
	$(Q)$(TSAN_CC) $(TSI_FLAGS) -I$(TSI_ROOT)$(TSI_PREFIX)/include -o $(TSI_BUILD)/tsan_static \
		$(TSI_SRC) $(TSI_ROOT)$(TSI_PREFIX)/lib/libweft.a $(LDLIBS)
	$(Q)$(TSAN_CC) $(TSI_FLAGS) -I$(TSI_ROOT)$(TSI_PREFIX)/include -o $(TSI_BUILD)/tsan_shared \
		$(TSI_SRC) -L$(TSI_ROOT)$(TSI_PREFIX)/lib -Wl,-rpath,$(TSI_ROOT)$(TSI_PREFIX)/lib -lweft $(LDLIBS)
	$(Q)$(TSAN_CC) $(TSI_FLAGS) -Idist -DTSI_SINGLE -o $(TSI_BUILD)/tsan_single \
		$(TSI_SRC) tests/tsan_installed/tsan_impl.c $(LDLIBS)
	$(Q)tests/tsan_installed/run.sh $(TSI_BUILD)/tsan_static $(TSI_BUILD)/tsan_shared $(TSI_BUILD)/tsan_single

CHECK_STEPS += check-tsan-installed
HELP_LINES  += "make check-tsan-installed  TSan program vs the installed release library and dist/weft.h: no reports"
