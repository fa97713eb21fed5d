#!/usr/bin/env bash
# make soak: run the stress programs given as arguments over and over, each at
# every thread count of $SOAK_THREADS, for $SOAK_MINUTES minutes in all, and
# fail on the first broken invariant, watchdog hang or ThreadSanitizer report.
#
# One progress line per run: elapsed time, the test, its threads and seed, and
# the operations and invariant checks it made (parsed from the ops= and checks=
# fields of the stress harness's summary line), plus the running totals.
# Every run gets its own seed (base + run number), passed both as --seed and
# as WEFT_CHAOS_SEED, so a failure can be replayed exactly, also in a
# WEFT_CHAOS build (make soak SOAK_CHAOS=1).
#
#   SOAK_MINUTES (default 5), SOAK_SECONDS per run (3), SOAK_THREADS ("2 4 16"),
#   SOAK_SEED (base seed; default: the clock), SOAK_LOG_DIR (where a failed
#   run's full output is kept; default: a temporary directory).
set -u
minutes=${SOAK_MINUTES:-5}
seconds=${SOAK_SECONDS:-3}
threads=${SOAK_THREADS:-2 4 16}
base=${SOAK_SEED:-$(date +%s)}
logdir=${SOAK_LOG_DIR:-$(mktemp -d)}
mkdir -p "$logdir"
# atexit_sleep_ms=0: TSan would otherwise sleep 1 s in every exit (its default), a third of a short run.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 atexit_sleep_ms=0 second_deadlock_stack=1 detect_deadlocks=1 die_after_fork=0 ${TSAN_OPTIONS:-}"

[ "$#" -gt 0 ] || { echo "usage: soak.sh STRESS_PROGRAM..." >&2; exit 64; }
limit=$((minutes * 60))
# A run that outlives its own watchdog (4 * seconds + 30 s) is killed from
# outside too: a hang that also wedged the watchdog must still end the soak.
outer=$(awk -v s="$seconds" 'BEGIN { printf "%d", 4 * s + 60 }')
start=$(date +%s)
runs=0
total_ops=0
total_checks=0
declare -A per_test_runs=()

clock() { local t=$1; printf '%d:%02d' $((t / 60)) $((t % 60)); }

echo "soak: ${minutes} min, ${seconds} s per run, threads \"${threads}\", base seed ${base}, $# tests"
while :; do
	for prog in "$@"; do
		for n in $threads; do
			now=$(date +%s)
			elapsed=$((now - start))
			if [ "$elapsed" -ge "$limit" ]; then
				echo "soak: PASSED: ${runs} runs of $# tests in $(clock "$elapsed"), ops=${total_ops} checks=${total_checks}, 0 violations, 0 hangs, 0 TSan reports"
				for t in "${!per_test_runs[@]}"; do echo "soak:   $t: ${per_test_runs[$t]} runs"; done | sort
				exit 0
			fi
			runs=$((runs + 1))
			seed=$((base + runs))
			name=$(basename "$prog")
			log="$logdir/$name-t$n-s$seed.log"
			WEFT_CHAOS_SEED=$seed timeout -s KILL "$outer" "$prog" --threads "$n" --seconds "$seconds" --seed "$seed" >"$log" 2>&1
			rc=$?
			ok_line=$(grep -m1 "^$name: ok " "$log")
			why=""
			if [ "$rc" -eq 66 ] || grep -q "WARNING: ThreadSanitizer" "$log"; then
				why="ThreadSanitizer report"
			elif [ "$rc" -eq 2 ] || [ "$rc" -eq 137 ]; then
				why="hang (watchdog, exit status $rc)"
			elif [ "$rc" -ne 0 ] || [ -z "$ok_line" ]; then
				why="invariant violated or crash (exit status $rc)"
			fi
			if [ -n "$why" ]; then
				echo "soak: FAILED after $(clock $(($(date +%s) - start))) on run ${runs}: $name threads=$n seed=$seed: $why"
				echo "---- last lines of $log"
				tail -n 40 "$log"
				echo "----"
				echo "rerun: WEFT_CHAOS_SEED=$seed TSAN_OPTIONS=\"$TSAN_OPTIONS\" $prog --threads $n --seconds $seconds --seed $seed"
				exit 1
			fi
			ops=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' <<<"$ok_line")
			checks=$(sed -n 's/.* checks=\([0-9]*\) .*/\1/p' <<<"$ok_line")
			total_ops=$((total_ops + ${ops:-0}))
			total_checks=$((total_checks + ${checks:-0}))
			per_test_runs[$name]=$((${per_test_runs[$name]:-0} + 1))
			rm -f "$log"
			printf 'soak [%s/%s] run %d %s threads=%d seed=%d: ok ops=%s checks=%s (total ops=%d checks=%d)\n' \
				"$(clock $(($(date +%s) - start)))" "$(clock "$limit")" "$runs" "$name" "$n" "$seed" \
				"${ops:-?}" "${checks:-?}" "$total_ops" "$total_checks"
		done
	done
done
