#!/usr/bin/env bash
# bench/report/ab.sh BASE FILTER ROUNDS MIN_TIME NEW_BIN OUT_DIR [FAMILIES]
#
# `make bench-ab`: the benchmark at git revision BASE (built in a temporary
# worktree, removed afterwards; by default BASE's library measured by the
# working tree's bench: base_build.sh) and the working tree's (NEW_BIN), run
# alternately for ROUNDS rounds on the rows FILTER selects that both builds
# have, then per-row ratios new/base with 95% bootstrap intervals over the
# paired rounds (bench/report/ab.py): OUT_DIR/ab.md and the terminal.  With
# AB_AA=1 the new build also runs a second time ("again"), and ab.py measures
# each row's noise as the new build against itself and says which rows are
# slower beyond it.
#
# Pairing.  The machine's speed drifts over minutes (on the 2-vCPU VM the
# wb_work() loop ran anywhere from 330 to 810 ns per 1000 loops within one
# run): the builds must measure a row within seconds of each other.  So the
# rows are cut into chunks of whole workloads (at least AB_CHUNK rows,
# default 8), and every round runs each chunk on every build back to back,
# one process per build and chunk, the build that goes first turning with the
# round and the chunk.  Every process is given the same wb_work() speed
# (--wb_work_loops_per_ns, calibrated once here), so that a row does the same
# work in every process.  Each process writes Google Benchmark's own JSON
# (one repetition), which builds of every age write.
#
# Confirmation.  With several hundred rows, a few lie beyond their own A/A
# interval by chance in any run (the A/A alone makes verdicts in about a
# sixth of the rows).  With AB_AA=1 and AB_CONFIRM=N, the rows slower beyond
# the noise are run again, alone, for N rounds with their own A/A, and
# OUT_DIR/ab.md ends with that second run and how many of the rows it finds
# slower beyond the noise again.  Both runs' counts are printed: the second
# one tells a regression from a row that was unlucky once.
set -eu
base=$1 filter=$2 rounds=$3 min_time=$4 new_bin=$5 out=$6 fams=${7:-}
. "$(dirname "$0")/base_build.sh"
base_build "$base" "$fams"
sides="base new"
[ "${AB_AA:-0}" = 1 ] && sides="base new again"
set -- $sides
nsides=$#
work_speed_flags "$new_bin" new >/dev/null # calibrate once (base_build.sh)

# the rows (names that start with a family) that binary $1 has among those $2 selects
rows_of() { "$1" --benchmark_list_tests --benchmark_filter="$2" 2>/dev/null | grep -E '^[a-z][a-z0-9_]*/' | sort; }

# run_ab FILTER ROUNDS DIR: the rows FILTER selects that both builds have,
# every build once per chunk and round, alternately, into DIR (emptied first)
run_ab() {
	local filter=$1 rounds=$2 dir=$3 r c i chunk side bin log nchunks
	rm -rf "$dir" && mkdir -p "$dir"
	rows_of "$new_bin" "$filter" >"$dir/rows.new"
	rows_of "$base_bin" "$filter" >"$dir/rows.base"
	comm -12 "$dir/rows.new" "$dir/rows.base" >"$dir/rows"
	[ -s "$dir/rows" ] || { echo "bench-ab: no row that both builds have matches '$filter'" >&2; exit 2; }
	# chunks: one line each, an anchored regex of its rows' full names
	awk -F/ -v min="${AB_CHUNK:-8}" '
		function flush() { if (n) print "^(" names ")$"; names = ""; n = 0 }
		{ wl = $1 "/" $2; if (wl != last && n >= min) flush(); last = wl
		  gsub(/[.+?*()|^$\[\]{}]/, "\\\\&"); names = names (n ? "|" : "") $0; n++ }
		END { flush() }' "$dir/rows" >"$dir/chunks"
	nchunks=$(wc -l <"$dir/chunks")
	echo "bench-ab: $(wc -l <"$dir/rows") rows in $nchunks chunks, $rounds rounds, builds: $sides;" \
		"wb_work speed ${work_lpn:-per process} loops/ns"
	for ((r = 0; r < rounds; r++)); do
		c=0
		while read -r chunk; do
			for ((i = 0; i < nsides; i++)); do
				set -- $sides
				shift $(((r + c + i) % nsides))
				side=$1
				bin=$new_bin
				[ "$side" = base ] && bin=$base_bin
				log=$dir/$side.$r.$c.log
				"$bin" --benchmark_filter="$chunk" --benchmark_min_time="$min_time" --benchmark_repetitions=1 \
					$(work_speed_flags "$new_bin" "$side") --benchmark_out="$dir/$side.$r.$c.json" \
					--benchmark_out_format=json >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
			done
			c=$((c + 1))
		done <"$dir/chunks"
		echo "bench-ab: round $((r + 1))/$rounds done"
	done
}

run_ab "$filter" "$rounds" "$out"
python3 "$root/bench/report/ab.py" --base-label "$base_label" --out "$out/ab.md" --slower-out "$out/slower" "$out"
# rows slower beyond the noise exist only with AB_AA=1 (their A/A)
if [ "${AB_CONFIRM:-0}" -gt 0 ] && [ -s "$out/slower" ]; then
	echo "bench-ab: confirming the $(wc -l <"$out/slower") rows slower beyond the noise: $AB_CONFIRM rounds, alone"
	run_ab "$(paste -sd'|' "$out/slower")" "$AB_CONFIRM" "$out/confirm"
	python3 "$root/bench/report/ab.py" --base-label "$base_label" --out "$out/confirm/ab.md" \
		--confirms "$out/slower" "$out/confirm"
	{ printf '\n# Confirmation run\n\n'; cat "$out/confirm/ab.md"; } >>"$out/ab.md"
fi
