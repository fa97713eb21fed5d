#!/usr/bin/env bash
# Runs matrix cells (mk/portability.mk) one after another, each in its own
# build directory, and prints a table of cells with PASS/FAIL and seconds.
#
#   scripts/run_matrix.sh CELL...      CELL = cc:san:std:opt[:parts[:defs[:tag]]]
#
# cc: gcc, clang or aarch64-linux-gnu-gcc (run under $QEMU_AARCH64);
# san: asan (ASan+UBSan), tsan or none; std: the library's -std; opt: O0..O3;
# parts: unit, stress or unit+stress (default); defs: extra -D flags; tag: a
# suffix for the cell's name.  Each cell's output goes to
# $BUILD/matrix/<cell>.log; a failed cell's last lines are printed.  A cell
# that runs past $MATRIX_CELL_TIMEOUT seconds (default 900) is killed and fails.
set -u
make=${MAKE:-make}
build=${BUILD:-build}
qemu=${QEMU_AARCH64:-qemu-aarch64 -L /usr/aarch64-linux-gnu}
mkdir -p "$build/matrix"
# Build each cell in parallel unless an outer `make -jN` already shares its jobs.
jobs=-j$(nproc)
case ${MAKEFLAGS:-} in *jobserver*) jobs= ;; esac
names=()
results=()
times=()
failed=0
start_all=$(date +%s.%N)
for cell in "$@"; do
	IFS=: read -r cc san std opt parts defs tag <<< "$cell"
	parts=${parts:-unit+stress}
	runner=
	case $cc in aarch64-*) runner=$qemu ;; esac
	name="${cc/aarch64-linux-gnu-gcc/aarch64-gcc}-$san-$std-$opt${tag:-}"
	log="$build/matrix/$name.log"
	echo "matrix: $name ($parts${defs:+, $defs}) ..."
	t0=$(date +%s.%N)
	timeout -k 10 "${MATRIX_CELL_TIMEOUT:-900}" \
		$make --no-print-directory $jobs matrix-cell BUILD="$build" CELL_CC="$cc" CELL_SAN="$san" \
		CELL_STD="$std" CELL_OPT="$opt" CELL_PARTS="${parts//+/ }" CELL_DEFS="${defs:-}" \
		CELL_TAG="${tag:-}" CELL_RUNNER="$runner" > "$log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
	summary=$(grep -E '^([0-9]+ passed, [0-9]+ failed|stress: .*|[0-9]+ tests skipped.*)$' "$log" | tr '\n' ';' | sed 's/;$//; s/;/; /g')
	if [ "$rc" -eq 0 ]; then
		res=PASS
	else
		res=FAIL
		failed=$((failed + 1))
		echo "matrix: $name FAILED (exit status $rc); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
	grep -E '^skipping ' "$log" | sed 's/^/    /'
	names+=("$name")
	results+=("$res")
	times+=("$secs")
	echo "matrix: $name $res in ${secs}s: $summary"
done
total=$(awk -v a="$start_all" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo
printf '%-36s %-6s %8s\n' "cell" "result" "seconds"
for i in "${!names[@]}"; do
	printf '%-36s %-6s %8s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
done
echo "matrix: $((${#names[@]} - failed)) passed, $failed failed, ${total}s in total"
[ "$failed" -eq 0 ]
