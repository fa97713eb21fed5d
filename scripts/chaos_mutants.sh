#!/usr/bin/env bash
# make chaos-mutants: does the chaos build find bugs that plain TSan stress
# runs miss?  Plants a known bug (a mutant) in a copy of the sources, builds
# the affected stress test twice (TSan; TSan + WEFT_CHAOS) and runs both with
# the same seeds.  A run that fails, hangs (no exit after $MUTANT_TIMEOUT s) or
# reports a race has caught the mutant.  Prints the catch rate of each build;
# fails if the chaos build catches a mutant with none of the seeds.
#
# Mutants:
#   sem-early-waiters: weft_sem_post_n() reads `waiters` before its CAS adds
#     the units instead of after (a lost wake-up: a waiter that registers in
#     between sleeps on, unwoken).
#   cond-early-sleepers: weft_cond_signal() reads `sleepers` before it bumps
#     seq (the same lost wake-up in the condition variable).
set -u
seeds=${MUTANT_SEEDS:-1 2 3 4 5}
threads=${MUTANT_THREADS:-4}
seconds=${MUTANT_SECONDS:-0.5}
limit=${MUTANT_TIMEOUT:-15}
cc=${TSAN_CC:-clang}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 atexit_sleep_ms=0 die_after_fork=0 ${TSAN_OPTIONS:-}"

# mutate FILE OLD NEW: replace the one occurrence of OLD in FILE, or fail.
mutate() {
	python3 - "$@" <<'PY'
import sys
path, old, new = sys.argv[1:4]
s = open(path).read()
if s.count(old) != 1:
    sys.exit("chaos-mutants: the mutant no longer applies to %s; update scripts/chaos_mutants.sh" % path)
open(path, "w").write(s.replace(old, new))
PY
}

plant() {
	case $1 in
	sem-early-waiters)
		mutate "$2/include/weft/sem.h" \
			'	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	do {' \
			'	uint32_t v = weft_atomic_load(&sem->value, WEFT_RELAXED);
	uint32_t early = weft_atomic_load(&sem->waiters, WEFT_SEQ_CST);
	do {' &&
		mutate "$2/include/weft/sem.h" \
			'if (WEFT_UNLIKELY(weft_atomic_load(&sem->waiters, WEFT_SEQ_CST) != 0))' \
			'if (WEFT_UNLIKELY(early != 0))'
		echo stress_sem ;;
	cond-early-sleepers)
		mutate "$2/src/cond.c" \
			'	weft_atomic_fetch_add(&cond->seq, 1u, WEFT_SEQ_CST);
	WEFT__CHAOS_POINT(); /* seq bumped, sleepers not yet read */
	if (weft_atomic_load(&cond->sleepers, WEFT_SEQ_CST) != 0)' \
			'	uint32_t early = weft_atomic_load(&cond->sleepers, WEFT_SEQ_CST);
	WEFT__CHAOS_POINT();
	weft_atomic_fetch_add(&cond->seq, 1u, WEFT_SEQ_CST);
	if (early != 0)'
		echo stress_cond ;;
	esac
}

missed=0
for mutant in sem-early-waiters cond-early-sleepers; do
	dir=$tmp/$mutant
	mkdir -p "$dir"
	cp -r "$root/include" "$root/src" "$root/stress" "$dir/"
	test=$(plant "$mutant" "$dir") || exit 1
	for mode in tsan chaos; do
		flags="-fsanitize=thread -O1 -g"
		[ "$mode" = chaos ] && flags="$flags -DWEFT_CHAOS"
		# shellcheck disable=SC2086
		$cc -std=gnu11 -w -I"$dir/include" -I"$dir/src" -I"$dir/stress" $flags -o "$dir/$mode" \
			"$dir/stress/$test.c" "$dir"/src/*.c -pthread || exit 1
	done
	line="chaos-mutants: $mutant ($test, threads=$threads, ${seconds} s):"
	for mode in tsan chaos; do
		caught=0
		which=""
		for seed in $seeds; do
			# (in a subshell, whose stderr also takes bash's "Killed" notice)
			(WEFT_CHAOS_SEED=$seed timeout -s KILL "$limit" "$dir/$mode" --threads "$threads" --seconds "$seconds" \
				--seed "$seed" >"$dir/out" 2>&1) 2>/dev/null
			if [ $? -ne 0 ]; then
				caught=$((caught + 1))
				which="$which $seed"
			fi
		done
		line="$line $mode caught it with $caught of $(wc -w <<<"$seeds") seeds${which:+ (${which# })};"
		[ "$mode" = chaos ] && [ "$caught" -eq 0 ] && missed=$((missed + 1))
	done
	echo "$line"
done
[ "$missed" -eq 0 ] || { echo "chaos-mutants: the chaos build missed $missed mutant(s)"; exit 1; }
