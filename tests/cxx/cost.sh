#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make check-cxx-cost: the wrappers add no instructions.  cost_c.c (a C
# lock/unlock loop on weft_mutex_t) and cost_cxx.cpp (the same loop on
# weft::mutex through std::scoped_lock) are compiled at -O2 by gcc/g++ and
# by clang/clang++; their object code is compared after the function names
# and addresses are blanked: they must be the same, instruction for
# instruction, with both compilers.  (clang++ used to add cold std::terminate
# landing pads after the loop, for the C slow paths called from the noexcept
# lock and unlock, until config.h declared WEFT_NOINLINE functions nothrow in
# C++.)
#
# Usage: tests/cxx/cost.sh OUTDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
dis() { # object function -> normalized instructions
	objdump -d --no-show-raw-insn "$1" |
		awk -v fn="<$2>:" '$2 == fn {f = 1; next} f && /^$/ {exit} f' |
		sed -E 's/^ *[0-9a-f]+:[[:space:]]*//; s/[0-9a-f]+ <[^>]*>/<L>/; s/[[:space:]]+$//'
}
status=0
for pair in "gcc g++" "clang clang++"; do
	set -- $pair
	$1 -std=c11 -O2 -I"$here/../../include" -c "$here/cost_c.c" -o "$out/cost_c-$1.o"
	$2 -std=c++17 -O2 -I"$here/../../include" -c "$here/cost_cxx.cpp" -o "$out/cost_cxx-$1.o"
	dis "$out/cost_c-$1.o" weft_cost_loop_c >"$out/c-$1.s"
	dis "$out/cost_cxx-$1.o" weft_cost_loop_cxx >"$out/cxx-$1.s"
	nc=$(wc -l <"$out/c-$1.s")
	nx=$(wc -l <"$out/cxx-$1.s")
	[ "$nc" -gt 10 ] || { echo "check-cxx-cost: $1: no loop found in the object code" >&2; exit 1; }
	if cmp -s "$out/c-$1.s" "$out/cxx-$1.s"; then
		echo "check-cxx-cost: $1: C and C++ loops identical ($nc instructions)"
	else
		echo "check-cxx-cost: $1: the C++ loop ($nx instructions) differs from the C loop ($nc):" >&2
		diff "$out/c-$1.s" "$out/cxx-$1.s" >&2 || true
		status=1
	fi
done
exit $status
