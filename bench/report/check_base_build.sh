#!/usr/bin/env bash
# bench/report/check_base_build.sh [BASE] - `make check-bench-ab`: make bench-ab
# must measure an older library with the working tree's bench, so that its
# ratios differ in the library alone (base_build.sh).  Builds, against BASE
# (default bb52a9a, issue 12's base: older than the mk/ layout, the select and
# the cancellation tokens), the families whose bench files use the newest API
# (mpmc: weft_mpmc_select(); scenario: weft_cancel_t), and checks that the
# working tree's bench was used and that the rows BASE cannot have are the
# only ones missing.  Before base_build.sh knew the old layout, and before
# those rows were guarded by the headers' feature macros, it fell back to
# BASE's own bench and this check failed.
set -eu
base=${1:-bb52a9a}
fail() { echo "check-bench-ab: FAILED: $*" >&2; exit 1; }
if ! git rev-parse --verify -q "$base^{commit}" >/dev/null; then
	echo "check-bench-ab: $base is not in this clone (a shallow clone?): not checked"
	exit 0
fi
. "$(dirname "$0")/base_build.sh"
log=$(mktemp)
base_build "$base" "mpmc scenario" 2>"$log" || { cat "$log" >&2; fail "the build at $base failed"; }
case $base_label in
*"the working tree's bench"*) rm -f "$log" ;;
*) cat "$log" >&2; fail "base = $base_label" ;;
esac
rows=$("$base_bin" --benchmark_list_tests)
grep -q '^mpmc/select4/poll_trypop/' <<<"$rows" || fail "mpmc/select4/poll_trypop is missing at $base"
grep -q '^mpmc/pingpong/weft/' <<<"$rows" || fail "mpmc/pingpong/weft is missing at $base"
! grep -q 'weft_select\|^scenario/go_' <<<"$rows" || fail "rows of an API $base does not have were built"
echo "check-bench-ab: the working tree's bench builds against $base ($(wc -l <<<"$rows") mpmc and scenario rows;" \
	"select and Go-service rows left out)"
