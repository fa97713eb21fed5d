#!/usr/bin/env bash
# bench/report/ab.sh BASE FILTER ROUNDS MIN_TIME NEW_BIN OUT_DIR [FAMILIES]
#
# `make bench-ab`: the benchmark at git revision BASE (built in a temporary
# worktree, removed afterwards; by default BASE's library measured by the
# working tree's bench: base_build.sh) and the working tree's (NEW_BIN), run
# alternately for ROUNDS rounds on the rows FILTER selects -- base then new in
# even rounds, new then base in odd ones, so neither always runs first --
# then per-row ratios new/base with 95% bootstrap intervals over the paired
# rounds (bench/report/ab.py): OUT_DIR/ab.md and the terminal.  With AB_AA=1
# the new build also runs a second time in every round ("again"; the three
# take turns at going first), and ab.py measures each row's noise as the new
# build against itself and says which rows are slower beyond it.  Each round is
# one process per build with one repetition of every row (Google Benchmark's
# own JSON, which builds of every age write).
set -eu
base=$1 filter=$2 rounds=$3 min_time=$4 new_bin=$5 out=$6 fams=${7:-}
. "$(dirname "$0")/base_build.sh"
base_build "$base" "$fams"
rm -rf "$out" && mkdir -p "$out"
for ((r = 0; r < rounds; r++)); do
	if [ "${AB_AA:-0}" = 1 ]; then
		case $((r % 3)) in 0) order="base new again" ;; 1) order="new again base" ;; *) order="again base new" ;; esac
	elif ((r % 2 == 0)); then order="base new"; else order="new base"; fi
	for side in $order; do
		bin=$new_bin
		[ "$side" = base ] && bin=$base_bin
		"$bin" --benchmark_filter="$filter" --benchmark_min_time="$min_time" --benchmark_repetitions=1 \
			--benchmark_out="$out/$side.$r.json" --benchmark_out_format=json >/dev/null 2>"$out/$side.$r.log" ||
			{ cat "$out/$side.$r.log" >&2; exit 1; }
	done
	echo "bench-ab: round $((r + 1))/$rounds done"
done
python3 "$root/bench/report/ab.py" --base-label "$base_label" --out "$out/ab.md" "$out"
