#!/usr/bin/env bash
# Runs each unit-test program given as an argument and adds up their
# "N passed, N failed" lines.  A program that crashes, or exits non-zero without
# reporting a failure, counts as one failed test.  Prints one final line:
#   N passed, N failed
set -u
total_pass=0
total_fail=0
for prog in "$@"; do
	out=$("$prog" 2>&1)
	rc=$?
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
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
