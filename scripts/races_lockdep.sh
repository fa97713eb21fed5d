#!/usr/bin/env bash
# races_lockdep.sh BIN - race R11 (ABBA deadlock) built with -DWEFT_DEBUG must be
# caught by weft's lock-order checker (src/lockdep.c, docs/lockorder.md):
#   abba     the checker reports a potential deadlock (once), naming the lock
#            inversion, whether or not this run actually deadlocks;
#   ordered, trylock
#            no report: a consistent order, and try-locks that cannot block,
#            leave no cycle;
#   timed    a report: timed locks still take the locks in opposite orders (the
#            timeout only breaks the hang), so the inversion is real.
# The program's own exit status is not judged here (races_check.sh does that on
# the release build); only what the checker prints.
set -u
unset WEFT_LOCKDEP # the checker's default: report and go on
bin=$1
marker='weft lockdep: potential deadlock'
pass=0 fail=0
check() { # mode expect(yes|no)
	local mode=$1 expect=$2 err n
	err=$("$bin" --mode "$mode" --runs 1 --quiet 2>&1 >/dev/null)
	n=$(grep -c "$marker" <<<"$err")
	if { [ "$expect" = yes ] && [ "$n" -ge 1 ]; } || { [ "$expect" = no ] && [ "$n" -eq 0 ]; }; then
		printf 'races-lockdep: %-8s %-3s report(s), expected %s: ok\n' "$mode" "$n" "$expect"
		pass=$((pass + 1))
	else
		printf 'races-lockdep: %-8s %-3s report(s), expected %s: FAILED\n' "$mode" "$n" "$expect"
		printf '%s\n' "$err" | head -n 20
		fail=$((fail + 1))
	fi
}
check abba yes
check ordered no
check trylock no
check timed yes
echo "races-lockdep: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
