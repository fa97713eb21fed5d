# Bad input (issue 7, item 3).  tests/test_badinput.c itself runs with the unit
# tests (`make test`, and every variant of check-variants); this step checks
# that its coverage table still names every public function in include/weft/.

.PHONY: check-badinput

check-badinput:
	$(Q)scripts/check_badinput_coverage.sh tests/test_badinput.c $(HEADERS)

CHECK_STEPS += check-badinput
HELP_LINES  += "make check-badinput  every public function has a row in tests/test_badinput.c (see docs/errors.md)"
