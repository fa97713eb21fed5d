# examples/ (issue 17): short programs for readers, each checking its own result.
#
#   make examples         build them (C: $(CC) with the project's warnings and -Werror;
#                         C++: $(CXX) -std=c++17 -Wall -Wextra -Werror)
#   make check-examples   build and run each; every one must exit 0; and each compiles
#                         clean under clang -Wthread-safety -Werror
#
# docs/getting-started.md walks through worker_pool.c and stock_processes.c.

EXAMPLES_BUILD   := $(BUILD)/examples
EXAMPLES_C       := $(sort $(wildcard examples/*.c))
EXAMPLES_CXX     := $(sort $(wildcard examples/*.cpp))
EXAMPLES_C_BINS  := $(EXAMPLES_C:examples/%.c=$(EXAMPLES_BUILD)/%)
EXAMPLES_CXX_BINS := $(EXAMPLES_CXX:examples/%.cpp=$(EXAMPLES_BUILD)/%_cxx)

$(eval $(call weft_programs,main,examples,$(EXAMPLES_BUILD),$(EXAMPLES_C_BINS),-Werror))

$(EXAMPLES_CXX_BINS): $(EXAMPLES_BUILD)/%_cxx: examples/%.cpp include/weft/weft.hpp $(HEADERS) $(main_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) -std=c++17 -O2 -Iinclude -Wall -Wextra -Werror -o $@ $< $(main_LIB) $(LDLIBS)

.PHONY: examples check-examples

examples: $(EXAMPLES_C_BINS) $(EXAMPLES_CXX_BINS)

check-examples: examples
	$(Q)for f in $(EXAMPLES_C); do clang -std=gnu11 -Iinclude $(WARNINGS) -Werror -Wthread-safety -fsyntax-only $$f || exit 1; done
	$(Q)for f in $(EXAMPLES_CXX); do $(CLANGXX) -std=c++17 -Iinclude -Wall -Wextra -Werror -Wthread-safety -fsyntax-only $$f || exit 1; done
	@echo "check-examples: clang -Wthread-safety -Werror: clean"
	$(Q)for p in $(EXAMPLES_C_BINS) $(EXAMPLES_CXX_BINS); do \
		timeout 60 $$p >$$p.log 2>&1 || { cat $$p.log; echo "check-examples: $$p failed"; exit 1; }; \
		echo "check-examples: $$(basename $$p): $$(tail -n 1 $$p.log)"; \
	done

CHECK_STEPS += check-examples
HELP_LINES  += "make check-examples  build and run examples/ (worker pool, stock in shared memory, config cache, rate limiter, C++ pool, Go service, fan-in)"
