#!/usr/bin/env bash
# Runs each unit-test program given as an argument and adds up their
# "N passed, N failed" lines.  A program that crashes, or exits non-zero without
# reporting a failure, counts as one failed test.  Prints one final line:
#   N passed, N failed
# $WEFT_RUNNER, if set, is a command each program runs under (qemu-aarch64 ...).
# $WEFT_SKIP lists "test_name:reason_with_underscores" words: tests a build
# cannot run.  Each skip is printed with its reason; the test programs get the
# names in $CHECK_SKIP and print "SKIP name" instead of running them.
set -u
read -r -a runner <<< "${WEFT_RUNNER:-}"
total_pass=0
total_fail=0
skip_names=
for skip in ${WEFT_SKIP:-}; do
	echo "skipping ${skip%%:*} in this build: $(printf '%s' "${skip#*:}" | tr _ ' ')"
	skip_names="$skip_names ${skip%%:*}"
done
export CHECK_SKIP="${skip_names# }"
skipped=0
for prog in "$@"; do
	out=$("${runner[@]}" "$prog" 2>&1)
	rc=$?
	skipped=$((skipped + $(printf '%s\n' "$out" | grep -c '^SKIP ')))
	printf '%s\n' "$out" | grep -v '^PASS ' | sed "s|^|$(basename "$prog"): |"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		echo "$(basename "$prog"): no summary line (exit status $rc): counted as one failure"
		total_fail=$((total_fail + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$(basename "$prog"): exit status $rc with no failed test: counted as one failure"
		total_fail=$((total_fail + 1))
	fi
done
[ "$skipped" -eq 0 ] || echo "$skipped tests skipped (see above)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
