# bench/report/base_build.sh - sourced by ab.sh and targets15.sh: build the
# bench of git revision BASE in a temporary worktree (removed on exit).
#
#   base_build BASE [FAMILIES]   sets: base_bin (the program), base_label, tmp
#
# AB_HARNESS=new (the default): BASE's library and headers measured by the
# working tree's bench/ (harness, bodies) and mk/bench*.mk, so the two builds
# differ only in the library, not in how they are measured; with FAMILIES
# ("mutex scenario"...), only those families' bench files are compiled
# (`make bench-cmp-bin`), so that a file of another family using a newer API
# does not stop the build.  If the working tree's bench still does not compile
# against BASE, BASE's own bench is used and the label says so.
# AB_HARNESS=base: BASE's own bench.
base_build() {
	local base=$1 fams=${2:-} rev harness
	root=$(git rev-parse --show-toplevel)
	rev=$(git rev-parse --verify "$base^{commit}")
	tmp=$(mktemp -d /tmp/weft-ab.XXXXXX)
	trap 'git -C "$root" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
	echo "bench: building the bench at $base ($rev) in $tmp/src" >&2
	git -C "$root" worktree add --detach "$tmp/src" "$rev" >/dev/null 2>&1
	harness=${AB_HARNESS:-new}
	if [ "$harness" = new ]; then
		rm -rf "$tmp/src/bench" && cp -r "$root/bench" "$tmp/src/bench" && rm -rf "$tmp/src/bench/report/fixture"
		cp "$root"/mk/bench*.mk "$tmp/src/mk/"
		# Before the move to mk/, the Makefile included bench/bench.mk
		# by name (bb52a9a and older): the working tree's goes there.
		if grep -q '^include bench/bench.mk' "$tmp/src/Makefile"; then
			mv "$tmp/src/mk/bench.mk" "$tmp/src/bench/bench.mk"
		fi
		if [ -n "$fams" ] &&
			base_bin=$tmp/src/$(make -C "$tmp/src" --no-print-directory -s -j2 BUILD=build \
				BENCH_FAMILIES_SEL="$fams" bench-cmp-bin 2>"$tmp/build.log" | tail -n 1) &&
			[ -f "$base_bin" ] && [ -x "$base_bin" ]; then
			:
		elif [ -n "$fams" ] || ! make -C "$tmp/src" --no-print-directory -j2 BUILD=build build/bench/weft_bench \
			>"$tmp/build.log" 2>&1; then
			echo "bench: the working tree's bench does not build against $base; using $base's own bench" \
				"(the two builds then differ in the harness too)" >&2
			tail -n 5 "$tmp/build.log" >&2
			git -C "$tmp/src" checkout -q -- bench mk && git -C "$tmp/src" clean -qfd bench mk
			harness=base
		fi
	fi
	if [ "$harness" = base ]; then
		make -C "$tmp/src" --no-print-directory -j2 BUILD=build build/bench/weft_bench >/dev/null
		base_label="$base ($rev) with its own bench"
		base_bin=$tmp/src/build/bench/weft_bench
	else
		base_label="$base ($rev) with the working tree's bench"
		[ -n "$fams" ] || base_bin=$tmp/src/build/bench/weft_bench
	fi
	echo "bench: base = $base_label" >&2
}

# work_speed_flags BIN SIDE: the runner flag that gives a process the one
# wb_work() speed of a comparison (calibrated once, by BIN, on the first call),
# so that a row does the same work in every process; empty for BASE's own
# bench, which does not know the flag.
work_speed_flags() {
	if [ -z "${work_lpn:-}" ]; then
		work_lpn=$("$1" --benchmark_list_tests --benchmark_filter='^$' 2>/dev/null |
			sed -n 's/.*, \([0-9.]*\) work loops\/ns.*/\1/p' | head -n 1)
	fi
	case "$2:$base_label" in
	base:*"with its own bench"*) ;;
	*) [ -z "$work_lpn" ] || echo "--wb_work_loops_per_ns=$work_lpn" ;;
	esac
}
