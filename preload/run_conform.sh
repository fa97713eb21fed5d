#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# preload/run_conform.sh SO WEFT_RUN "TESTS" "TSAN_TESTS"
# Runs the pthread conformance suite: on plain glibc (the suite's own
# expectations), through weft-run with each mutex kind (the interposer must be
# active), and the ThreadSanitizer build (the interposer linked in; any TSan
# report fails it).  Ends with one "N passed, N failed" line.
set -u
so=$1 run=$2 tests=$3 tsan_tests=$4
passed=0 failed=0
one() { # label, command...
	local label=$1; shift
	local out rc
	out=$("$@" 2>&1); rc=$?
	local p f
	p=$(printf '%s\n' "$out" | awk '/ passed, .* failed$/ {print $1}' | tail -1)
	f=$(printf '%s\n' "$out" | awk '/ passed, .* failed$/ {print $3}' | tail -1)
	if [ $rc -ne 0 ] || [ -z "$p" ] || [ "${f:-1}" != 0 ] || printf '%s\n' "$out" | grep -q 'WARNING: ThreadSanitizer'; then
		echo "FAIL $label (exit $rc)"
		printf '%s\n' "$out" | grep -vE '^PASS ' | tail -40
		failed=$((failed + ${f:-1} + (rc != 0 && ${f:-1} == 0)))
		passed=$((passed + ${p:-0}))
	else
		echo "ok   $label: $p passed"
		passed=$((passed + p))
	fi
}
for t in $tests; do
	one "$(basename "$t") on glibc" "$t"
	for kind in mutex spin ticket mcs; do
		one "$(basename "$t") on weft ($kind)" env WEFT_CONFORM_EXPECT=weft "$run" --mutex=$kind -- "$t"
	done
	one "$(basename "$t") on weft (mutex, no spin, rwlocks left to glibc)" \
		env WEFT_CONFORM_EXPECT=weft WEFT_PRELOAD_MUTEX_SPIN=0 WEFT_PRELOAD_RWLOCK=glibc "$run" -- "$t"
done
for t in $tsan_tests; do
	one "$(basename "$t") under ThreadSanitizer (interposer linked in)" \
		env TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" "$t"
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
