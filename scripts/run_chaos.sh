#!/usr/bin/env bash
# make chaos: run every stress program given as an argument (built with
# -DWEFT_CHAOS and -fsanitize=thread) once per seed of $CHAOS_SEEDS at every
# thread count of $CHAOS_THREADS, for $CHAOS_SECONDS each.  The seed goes both
# to the chaos points (WEFT_CHAOS_SEED) and to the test's own generator
# (--seed).  Every failure (a TSan report, a broken invariant, a watchdog
# hang) prints the test, threads and seed and the command that reruns it; the
# last line counts runs and failures.
set -u
seeds=${CHAOS_SEEDS:-1 2 3 4 5}
threads=${CHAOS_THREADS:-2 8}
seconds=${CHAOS_SECONDS:-1}
# atexit_sleep_ms=0: TSan would otherwise sleep 1 s in every exit (its default), a third of a short run.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 atexit_sleep_ms=0 second_deadlock_stack=1 detect_deadlocks=1 die_after_fork=0 ${TSAN_OPTIONS:-}"
runs=0
failed=0
tsan=0
rerun=()
start=$(date +%s)
for prog in "$@"; do
	name=$(basename "$prog")
	for n in $threads; do
		for seed in $seeds; do
			runs=$((runs + 1))
			out=$(WEFT_CHAOS_SEED=$seed "$prog" --threads "$n" --seconds "$seconds" --seed "$seed" 2>&1)
			rc=$?
			if [ "$rc" -eq 0 ] && ! grep -q "WARNING: ThreadSanitizer" <<<"$out"; then
				echo "chaos: ok $name threads=$n seed=$seed: $(grep -o 'ops=[0-9]* checks=[0-9]*' <<<"$out")"
				continue
			fi
			failed=$((failed + 1))
			case $rc in
			66) why="ThreadSanitizer report"; tsan=$((tsan + 1)) ;;
			2) why="hang (watchdog)" ;;
			*) why="exit status $rc" ;;
			esac
			cmd="WEFT_CHAOS_SEED=$seed TSAN_OPTIONS=\"$TSAN_OPTIONS\" $prog --threads $n --seconds $seconds --seed $seed"
			echo "$out" | tail -n 60
			echo "chaos: FAILED $name threads=$n seed=$seed: $why"
			echo "chaos: rerun: $cmd"
			rerun+=("$cmd")
		done
	done
done
echo "chaos: $((runs - failed)) passed, $failed failed ($tsan TSan reports) in $(($(date +%s) - start)) s; seeds \"$seeds\", threads \"$threads\", ${seconds} s per run"
for cmd in "${rerun[@]}"; do echo "chaos: rerun: $cmd"; done
[ "$failed" -eq 0 ]
