# The single header in the user's own file (issue 12): every blocking and timed
# call waiting in a loop on a plain global, compiled in one file with
# dist/weft.h by gcc and clang at -O0..-O3 and -flto, must return (a watchdog
# catches a hang); the implementation's misuse (a system header first, a C++
# file) stops with weft's own #error.  See tests/single_header/run.sh.

.PHONY: check-single-header-loops

check-single-header-loops: dist/weft.h
	$(Q)JOBS=2 tests/single_header/run.sh $(BUILD)/single_header

CHECK_STEPS += check-single-header-loops
HELP_LINES  += "make check-single-header-loops  every blocking call's wait loop, single header, gcc/clang -O0..-O3/-flto"
