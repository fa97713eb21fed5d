#!/usr/bin/env bash
# Runs every ThreadSanitizer stress program given as an argument at each
# thread count of $STRESS_THREADS (default "2 4 16") for $STRESS_SECONDS each.
# Any TSan report (exit status 66), broken invariant or watchdog hang fails.
# $WEFT_RUNNER, if set, is a command each program runs under (qemu-aarch64 ...).
set -u
read -r -a runner <<< "${WEFT_RUNNER:-}"
threads=${STRESS_THREADS:-2 4 16}
seconds=${STRESS_SECONDS:-2}
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 atexit_sleep_ms=0 second_deadlock_stack=1 detect_deadlocks=1 die_after_fork=0 ${TSAN_OPTIONS:-}"
runs=0
failed=0
for prog in "$@"; do
	for n in $threads; do
		runs=$((runs + 1))
		"${runner[@]}" "$prog" --threads "$n" --seconds "$seconds"
		rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "$(basename "$prog") --threads $n --seconds $seconds: FAILED (exit status $rc)"
			failed=$((failed + 1))
		fi
	done
done
echo "stress: $((runs - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
