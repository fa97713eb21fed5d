#!/usr/bin/env bash
# scripts/races_check.sh - runs the race lab's programs, driven by their --list-modes.
#
#   races_check.sh --run PROG...
#       `make races`: every program with its defaults (every mode, its default
#       runs); fails if a program exits non-zero (a fixed mode went wrong).
#   races_check.sh --check --tsan-dir DIR PROG...
#       `make races-check`: every fixed mode of PROG must exit 0 (correct in
#       RACES_CHECK_RUNS runs, default 3); DIR/<prog>, the -fsanitize=thread
#       build, must print "WARNING: ThreadSanitizer" on stderr for each tsan-racy
#       mode (in one of RACES_TSAN_TRIES runs, default 3: the race must happen
#       for TSan to see it) and stay silent and exit 0 for each tsan-clean mode.  Each forced
#       schedule ("schedule: MODE lose|safe ORDER") runs RACES_SCHEDULE_RUNS
#       times (default 10): "lose" must go wrong in every run, "safe" in none.
#   races_check.sh --count N [--table FILE] PROG...
#       `make races-count`: each racy and fixed mode N times; prints how many runs
#       went wrong, and writes a markdown table to FILE.
#
# The contract with the programs (flags, --list-modes lines, exit status,
# summary lines) is the top comment of docs/races/lab.h.
set -u

action=
tsan_dir=
count_runs=10
table=
while [ $# -gt 0 ]; do
	case "$1" in
	--run | --check) action=${1#--}; shift ;;
	--count) action=count; count_runs=$2; shift 2 ;;
	--tsan-dir) tsan_dir=$2; shift 2 ;;
	--table) table=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "races_check.sh: unknown flag $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ -n "$action" ] || { echo "usage: races_check.sh --run|--check --tsan-dir DIR|--count N PROG..." >&2; exit 2; }

# modes PROG KIND: the modes of one --list-modes line ("racy", "fixed", "tsan-racy" ...)
modes() {
	"$1" --list-modes | sed -n "s/^$2:[[:space:]]*//p"
}

# Only the programs themselves (a glob may also catch their .d files).
progs=()
for p in "$@"; do
	case "$p" in *.d) continue ;; esac
	[ -f "$p" ] && [ -x "$p" ] && progs+=("$p")
done
set -- "${progs[@]}"

failed=0
checks=0
start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

case "$action" in
run)
	for prog in "$@"; do
		echo
		echo "==================== $(basename "$prog") ===================="
		"$prog"
		rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "$(basename "$prog"): FAILED (exit status $rc: a fixed mode went wrong)"
			failed=$((failed + 1))
		fi
	done
	echo
	echo "races: $# programs in $(elapsed) s, $failed failed"
	;;

check)
	export TSAN_OPTIONS="exitcode=66 halt_on_error=0 report_signal_unsafe=0 die_after_fork=0 ${TSAN_OPTIONS:-}"
	runs=${RACES_CHECK_RUNS:-3}
	log=$(mktemp)
	trap 'rm -f "$log" "$log.sched"' EXIT
	for prog in "$@"; do
		name=$(basename "$prog")
		tsan="$tsan_dir/$name"
		for m in $(modes "$prog" fixed); do
			checks=$((checks + 1))
			"$prog" --mode "$m" --runs "$runs" --quiet >"$log" 2>&1
			rc=$?
			if [ "$rc" -eq 0 ]; then
				echo "  ok    $name --mode $m: correct in $runs of $runs runs"
			else
				echo "  FAIL  $name --mode $m: exit status $rc (expected 0: correct in every run)"
				sed 's/^/        /' "$log"
				failed=$((failed + 1))
			fi
		done
		for m in $(modes "$prog" tsan-racy); do
			checks=$((checks + 1))
			# A racy mode is a race that has to happen in the run for TSan to
			# see it (R12's ABA needs a preemption at the wrong moment), and on
			# a loaded machine one run can miss it (R12: 4 of 10 runs at load 16
			# on 2 CPUs).  So up to RACES_TSAN_TRIES runs (default 3); the first
			# report passes, and the attempts it took are printed.
			tries=${RACES_TSAN_TRIES:-3}
			try=0
			while [ "$try" -lt "$tries" ]; do
				try=$((try + 1))
				"$tsan" --mode "$m" --runs 1 --quiet >/dev/null 2>"$log"
				rc=$?
				grep -q "WARNING: ThreadSanitizer" "$log" && break
			done
			if grep -q "WARNING: ThreadSanitizer" "$log"; then
				what=$(grep -m1 "WARNING: ThreadSanitizer" "$log" | sed 's/.*WARNING: ThreadSanitizer: //; s/ (pid=.*//')
				echo "  ok    tsan $name --mode $m: TSan reports ($what; run $try of at most $tries)"
			else
				echo "  FAIL  tsan $name --mode $m: no ThreadSanitizer report in $tries runs (exit status $rc)"
				sed 's/^/        /' "$log" | head -20
				failed=$((failed + 1))
			fi
		done
		"$prog" --list-modes | sed -n 's/^schedule:[[:space:]]*//p' | while read -r m outcome order; do
			echo "$m $outcome $order"
		done >"$log.sched"
		while read -r m outcome order; do
			checks=$((checks + 1))
			sruns=${RACES_SCHEDULE_RUNS:-10}
			out=$("$prog" --mode "$m" --schedule "$order" --runs "$sruns" --quiet 2>&1)
			# the summary: "fix 'M': correct in X of N runs" or "<symptom> in X of N runs"
			summary=$(printf '%s\n' "$out" | grep -E ' in [0-9]+ of [0-9]+ runs' | tail -1)
			wrong=$(printf '%s\n' "$summary" | sed -n 's/.* in \([0-9]*\) of [0-9]* runs.*/\1/p')
			case "$summary" in *"fix '"*"': correct in"*) [ -n "$wrong" ] && wrong=$((sruns - wrong)) ;; esac
			want=$([ "$outcome" = lose ] && echo "$sruns" || echo 0)
			if [ "${wrong:-x}" = "$want" ]; then
				echo "  ok    $name --mode $m --schedule $order: went wrong in $wrong of $sruns runs ($outcome)"
			else
				echo "  FAIL  $name --mode $m --schedule $order: went wrong in ${wrong:-?} of $sruns runs, expected $want ($outcome)"
				printf '%s\n' "$out" | sed 's/^/        /' | head -20
				failed=$((failed + 1))
			fi
		done <"$log.sched"
		fixed=" $(modes "$prog" fixed) "
		for m in $(modes "$prog" tsan-clean); do
			checks=$((checks + 1))
			"$tsan" --mode "$m" --runs 1 --quiet >/dev/null 2>"$log"
			rc=$?
			# A fixed mode must also be correct (0); a racy mode that TSan
			# cannot see (a race in the logic, not a data race) may say 1.
			ok_rc=0
			case "$fixed" in *" $m "*) ;; *) [ "$rc" -eq 1 ] && ok_rc=1 ;; esac
			if [ "$rc" -eq "$ok_rc" ] && ! grep -q "ThreadSanitizer" "$log"; then
				echo "  ok    tsan $name --mode $m: silent"
			else
				echo "  FAIL  tsan $name --mode $m: exit status $rc, expected silence"
				sed 's/^/        /' "$log" | head -40
				failed=$((failed + 1))
			fi
		done
	done
	echo "races-check: $((checks - failed)) passed, $failed failed ($# programs, $(elapsed) s)"
	;;

count)
	rows=()
	for prog in "$@"; do
		name=$(basename "$prog")
		for kind in racy fixed other; do
			for m in $(modes "$prog" "$kind"); do
				out=$("$prog" --mode "$m" --runs "$count_runs" --quiet 2>&1)
				rc=$?
				if [ "$kind" = fixed ]; then
					ok=$(printf '%s\n' "$out" | sed -n 's/.*correct in \([0-9]*\) of \([0-9]*\) runs.*/\1/p' | tail -1)
					wrong=$((count_runs - ${ok:-0}))
					cost=$(printf '%s\n' "$out" | sed -n 's/.*median \([0-9.]*\) ns\/op.*/\1/p' | tail -1)
				else
					wrong=$(printf '%s\n' "$out" | sed -n 's/.* in \([0-9]*\) of \([0-9]*\) runs.*/\1/p' | tail -1)
					cost=
				fi
				case "$kind" in
				racy) verdict=$([ "${wrong:-0}" -ge $(((count_runs * 9 + 9) / 10)) ] && echo "shows (target >= 9/10)" || echo "MISSED (target >= 9/10)") ;;
				fixed) verdict=$([ "${wrong:-1}" -eq 0 ] && [ "$rc" -eq 0 ] && echo "correct" || echo "WRONG") ;;
				other) verdict="evidence only" ;;
				esac
				case "$verdict" in MISSED* | WRONG) failed=$((failed + 1)) ;; esac
				checks=$((checks + 1))
				printf '  %-28s %-12s %-6s wrong in %2s of %s runs%s  %s\n' "$name" "$m" "$kind" "${wrong:-?}" \
					"$count_runs" "${cost:+, $cost ns/op}" "$verdict"
				rows+=("| $name | $m | $kind | ${wrong:-?} of $count_runs | ${cost:+$cost} | $verdict |")
			done
		done
	done
	echo "races-count: $checks modes x $count_runs runs, $failed off target ($(elapsed) s)"
	if [ -n "$table" ]; then
		mkdir -p "$(dirname "$table")"
		{
			echo "| program | mode | kind | runs that went wrong | median ns/op | verdict |"
			echo "|---|---|---|---|---|---|"
			printf '%s\n' "${rows[@]}"
		} >"$table"
		echo "races-count: table written to $table"
	fi
	# Counting reports; a missed target is printed, not a failed build (timing).
	failed=0
	;;
esac
[ "$failed" -eq 0 ]
