#!/usr/bin/env bash
# bench/report/targets15.sh BASE ROUNDS MIN_TIME NEW_BIN OUT_DIR
#
# `make bench-targets-15`: issue 15's three targets in one interleaved run.
# Per round, the base build (BASE's library measured by the working tree's
# bench: base_build.sh) and the working tree's build each run once, which
# first alternating by round; each run is one paired round of the runner
# (--wb_rounds=1, a fresh random order of the rows, seeded by the round):
#   base: the contended throughput rows (mutex/contended_cs*_out* at 2, 4, 8)
#   new:  the same rows, mutex/contended_cs50_out50 pthread at 4 and 8, and
#         scenario C3 at 8 clients for weft_mutex and pthread
# Both builds' processes do the same wb_work() per ns (base_build.sh,
# work_speed_flags), so the base and new rows do the same work;
# then bench/report/targets15.py prints met / missed with intervals
# (OUT_DIR/targets15.md).
set -eu
base=$1 rounds=$2 min_time=$3 new_bin=$4 out=$5
tput='^mutex/contended_cs(0|50|500)_out(0|50|500)/weft_mutex/real_time/threads:[248]$'
fair='^mutex/contended_cs50_out50/pthread/real_time/threads:[48]$'
c3='^scenario/c3_slow_io/(weft_mutex|pthread)/real_time/threads:8$'
. "$(dirname "$0")/base_build.sh"
base_build "$base" mutex # the base side runs the mutex rows only
work_speed_flags "$new_bin" new >/dev/null # calibrate once
rm -rf "$out" && mkdir -p "$out"
start=$(date +%s)
echo "bench-targets-15: load at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
for ((r = 0; r < rounds; r++)); do
	if ((r % 2 == 0)); then order="base new"; else order="new base"; fi
	for side in $order; do
		if [ "$side" = base ]; then bin=$base_bin filter=$tput; else bin=$new_bin filter="$tput|$fair|$c3"; fi
		"$bin" --benchmark_filter="$filter" --benchmark_min_time="$min_time" --wb_rounds=1 --wb_seed=$((r + 1)) \
			$(work_speed_flags "$new_bin" "$side") \
			--wb_out="$out/$side.$r.json" >"$out/$side.$r.log" 2>&1 ||
			{ tail -n 20 "$out/$side.$r.log" >&2; exit 1; }
	done
	echo "bench-targets-15: round $((r + 1))/$rounds done ($(($(date +%s) - start))s)"
done
python3 "$root/bench/report/targets15.py" --base-label "$base_label" --out "$out/targets15.md" "$out"
