#!/usr/bin/env bash
# tests/tsan_installed/run.sh PROGRAM... - run each TSan-built program of
# `make check-tsan-installed` with halt_on_error=0 and demand silence: exit
# status 0 (TSan's exitcode=66 says it reported something) and no
# "WARNING: ThreadSanitizer" line.  Prints one line per program; on a report,
# the report's SUMMARY lines and the first report in full.  The logs stay in
# PROGRAM.log.
set -u
fail=0
for prog in "$@"; do
	log="$prog.log"
	TSAN_OPTIONS="halt_on_error=0 exitcode=66 ${TSAN_OPTIONS:-}" "$prog" >"$log" 2>&1
	rc=$?
	reports=$(grep -c "WARNING: ThreadSanitizer" "$log")
	if [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]; then
		echo "check-tsan-installed: $(basename "$prog"): 0 ThreadSanitizer reports, checks passed"
	else
		fail=1
		echo "check-tsan-installed: $(basename "$prog"): FAILED: exit $rc, $reports ThreadSanitizer reports (log: $log)"
		grep -E "^SUMMARY: ThreadSanitizer|^tsan_all: .*(got|failed)" "$log" | sort | uniq -c | sed 's/^/    /'
		awk '/^WARNING: ThreadSanitizer/{p=1} p{print "    | " $0} /^=====/{if(p&&++n==2)exit}' "$log" | head -60
	fi
done
exit $fail
