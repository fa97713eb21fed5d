# C++ (issue 17): include/weft/weft.hpp, and the compiler checks of C and C++.
#
#   make check-cxx          tests/cxx/test_cxx.cpp (the wrappers through std::scoped_lock,
#                           unique_lock, shared_lock, std::lock, condition_variable_any
#                           and the C++20 semaphore/latch/barrier shapes) built with
#                           $(CXX) and clang++ as C++17 (-Wall -Wextra -Werror; clang
#                           also -Wthread-safety), with $(CXX) as C++20 (which runs
#                           std::counting_semaphore, std::latch and std::barrier through
#                           the same templates), and with clang++ -fsanitize=thread as
#                           C++17 against the TSan library; each run must pass, TSan
#                           silent; the g++ C++17 build again with WEFT_NO_FUTEX_WAITV=1
#                           (the `_ctx` members' wake-ups on the fallback path)
#   make check-diagnostics  tests/diag/run.py: deliberate mistakes in C and C++ draw the
#                           expected -Wthread-safety and unused-result warnings from gcc
#                           and clang, the correct programs compile clean with -Werror
#   make check-cxx-cost     tests/cxx/cost.sh: a C and a C++ lock/unlock loop compile to
#                           the same instructions, with g++ and with clang++
#   make cxx-cost-bench     the two loops timed in turn, A B A B (a measurement, not a check)
#
# `make install` installs weft.hpp beside the C headers (uninstall removes the folder).

CXX_BUILD   := $(BUILD)/cxx
CLANGXX     ?= clang++
CXX_WARN    := -Wall -Wextra -Werror
CXX_TEST    := tests/cxx/test_cxx.cpp
CXX_TESTS   := $(CXX_BUILD)/test_cxx-gcc17 $(CXX_BUILD)/test_cxx-clang17 $(CXX_BUILD)/test_cxx-gcc20 \
               $(CXX_BUILD)/test_cxx-tsan17

.PHONY: check-cxx check-diagnostics check-cxx-cost cxx-cost-bench install-cxx

install: install-cxx
install-cxx:
	install -d $(DESTDIR)$(INCLUDEDIR)/weft
	install -m 644 include/weft/weft.hpp $(DESTDIR)$(INCLUDEDIR)/weft/

$(CXX_BUILD)/test_cxx-gcc17: $(CXX_TEST) include/weft/weft.hpp $(HEADERS) $(main_LIB)
	@mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O2 -g -Iinclude $(CXX_WARN) -o $@ $< $(main_LIB) $(LDLIBS)
$(CXX_BUILD)/test_cxx-clang17: $(CXX_TEST) include/weft/weft.hpp $(HEADERS) $(main_LIB)
	@mkdir -p $(@D)
	$(Q)$(CLANGXX) -std=c++17 -O2 -g -Iinclude $(CXX_WARN) -Wthread-safety -o $@ $< $(main_LIB) $(LDLIBS)
$(CXX_BUILD)/test_cxx-gcc20: $(CXX_TEST) include/weft/weft.hpp $(HEADERS) $(main_LIB)
	@mkdir -p $(@D)
	$(Q)$(CXX) -std=c++20 -O2 -g -Iinclude $(CXX_WARN) -o $@ $< $(main_LIB) $(LDLIBS)
$(CXX_BUILD)/test_cxx-tsan17: $(CXX_TEST) include/weft/weft.hpp $(HEADERS) $(tsan_LIB)
	@mkdir -p $(@D)
	$(Q)$(CLANGXX) -std=c++17 $(TSAN_FLAGS) -Iinclude $(CXX_WARN) -Wthread-safety -o $@ $< $(tsan_LIB) $(LDLIBS)

check-cxx: $(CXX_TESTS)
	$(Q)for t in $(CXX_TESTS); do \
		TSAN_OPTIONS="halt_on_error=1 exitcode=66" $$t >$$t.log 2>&1 || { cat $$t.log; echo "check-cxx: $$t failed"; exit 1; }; \
		if grep -q "ThreadSanitizer" $$t.log; then cat $$t.log; echo "check-cxx: $$t: TSan report"; exit 1; fi; \
		echo "check-cxx: $$(basename $$t): $$(tail -n 1 $$t.log)"; \
	done
	$(Q)t=$(CXX_BUILD)/test_cxx-gcc17; WEFT_NO_FUTEX_WAITV=1 $$t >$$t.nowaitv.log 2>&1 || { cat $$t.nowaitv.log; echo "check-cxx: $$t (WEFT_NO_FUTEX_WAITV=1) failed"; exit 1; }; \
		echo "check-cxx: test_cxx-gcc17, cancel wake-ups without futex_waitv: $$(tail -n 1 $$t.nowaitv.log)"

check-diagnostics:
	$(Q)python3 tests/diag/run.py $(CC) $(CXX) clang $(CLANGXX)

check-cxx-cost:
	$(Q)tests/cxx/cost.sh $(CXX_BUILD)/cost

$(CXX_BUILD)/cost_bench: tests/cxx/cost_bench.cpp tests/cxx/cost_c.c tests/cxx/cost_cxx.cpp include/weft/weft.hpp $(HEADERS) $(main_LIB)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -O2 -Iinclude -c tests/cxx/cost_c.c -o $(CXX_BUILD)/cost_bench_c.o
	$(Q)$(CXX) -std=c++17 -O2 -Iinclude -c tests/cxx/cost_cxx.cpp -o $(CXX_BUILD)/cost_bench_cxx.o
	$(Q)$(CXX) -std=c++17 -O2 -Iinclude $(CXX_WARN) -o $@ $< $(CXX_BUILD)/cost_bench_c.o $(CXX_BUILD)/cost_bench_cxx.o \
		$(main_LIB) $(LDLIBS)

cxx-cost-bench: $(CXX_BUILD)/cost_bench
	$(Q)$(CXX_BUILD)/cost_bench

CHECK_STEPS += check-cxx check-diagnostics check-cxx-cost
HELP_LINES  += "make check-cxx  weft.hpp through the standard adapters: g++/clang++ C++17, C++20 shapes, TSan"
HELP_LINES  += "make check-diagnostics  -Wthread-safety and unused-result warnings on deliberate mistakes (C, C++)"
HELP_LINES  += "make check-cxx-cost  a C and a C++ lock/unlock loop compile to the same instructions"
HELP_LINES  += "make cxx-cost-bench  the C and C++ loops timed in turn (a measurement)"
