#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make check-single-header-loops: the single header in the user's own file.
#
#  1. loops.c (every blocking and timed call waiting in a loop on a plain
#     global) built with dist/weft.h in one translation unit, with gcc and
#     clang at -O0, -O1, -O2, -O3 and -O2 -flto, with the calls written in the
#     loop and through the user's own noinline helpers (-DWRAPPED), plus: the
#     globals non-static under -flto, the portable wait backend, and the linked
#     library (include/ + src/) under -flto.  Each program runs every case in a
#     child with a watchdog (alarm); a hang fails the check.
#  2. The implementation after a system header stops with weft's #error.
#  3. The implementation in a C++ file stops with weft's #error (g++ and
#     clang++, -std=c++17); a C++ file using the declarations, linked with
#     one C file holding the implementation, builds and runs.
#
# Usage: tests/single_header/run.sh OUTDIR        (JOBS=2 compiles at once)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-build/single_header}
jobs=${JOBS:-2}
mkdir -p "$out"
out=$(cd "$out" && pwd)
fail=0

have() { command -v "$1" >/dev/null 2>&1; }

# ---- 1. the loops ---------------------------------------------------------

build_one() { # name cc flags...
	name=$1 cc=$2
	shift 2
	case " $* " in
	*" -DLOOPS_LINKED "*)
		srcs="$root/tests/single_header/loops.c $root/src/*.c"
		incs="-I$root/include -I$root/src" ;;
	*)
		srcs="$root/tests/single_header/loops.c"
		incs="-I$root/dist" ;;
	esac
	# shellcheck disable=SC2086
	if ! $cc -std=c11 -w "$@" $incs -o "$out/loops-$name" $srcs -pthread 2>"$out/loops-$name.log"; then
		echo "FAIL build loops-$name ($cc $*):"
		sed 's/^/  /' "$out/loops-$name.log" | head -20
		return 1
	fi
}

run_one() { # name
	if "$out/loops-$1" >"$out/loops-$1.out" 2>&1; then
		echo "ok   loops-$1: $(tail -n 1 "$out/loops-$1.out")"
	else
		echo "FAIL loops-$1:"
		sed 's/^/  /' "$out/loops-$1.out"
		return 1
	fi
}

# xargs runs the jobs two at a time by calling this script again.
if [ "${RUN_SH_JOB:-}" = build ]; then shift; build_one "$@"; exit; fi
if [ "${RUN_SH_JOB:-}" = run ]; then shift; run_one "$@"; exit; fi

# One line per program: name, compiler, flags (the rest of the line).
configs="$out/configs"
: >"$configs"
for cc in gcc clang; do
	if ! have $cc; then
		echo "check-single-header-loops: $cc not found (make deps installs it)" >&2
		fail=1
		continue
	fi
	for opt in O0 O1 O2 O3 flto; do
		flags="-$opt"
		[ $opt = flto ] && flags="-O2 -flto"
		echo "$cc-$opt $cc $flags" >>"$configs"
		echo "$cc-$opt-wrapped $cc $flags -DWRAPPED" >>"$configs"
	done
	echo "$cc-flto-global-wrapped $cc -O2 -flto -DWRAPPED -DREADY_STORAGE=" >>"$configs"
	echo "$cc-O2-portable-wrapped $cc -O2 -DWRAPPED -DWEFT_WAIT_PORTABLE" >>"$configs"
	echo "$cc-flto-linked-wrapped $cc -O2 -flto -DWRAPPED -DLOOPS_LINKED" >>"$configs"
done


RUN_SH_JOB=build xargs -P "$jobs" -L 1 "$0" "$out" <"$configs" || fail=1
cut -d' ' -f1 "$configs" | while read -r name; do
	[ -x "$out/loops-$name" ] && echo "$name"
done | RUN_SH_JOB=run xargs -P "$jobs" -L 1 "$0" "$out" || fail=1
# A program that did not build is a failure too (its FAIL line is above).
while read -r name rest; do
	[ -x "$out/loops-$name" ] || fail=1
done <"$configs"

# ---- 2. a system header before WEFT_IMPLEMENTATION -------------------------

expect_error() { # what pattern compiler args...
	what=$1 pattern=$2
	shift 2
	if "$@" -o "$out/should-not-exist" >"$out/guard.log" 2>&1; then
		echo "FAIL $what: compiled, but weft.h should have stopped it"
		fail=1
	elif ! grep -q "$pattern" "$out/guard.log"; then
		echo "FAIL $what: stopped, but not by weft's #error:"
		sed 's/^/  /' "$out/guard.log" | head -10
		fail=1
	elif [ "$(grep -c ': error:' "$out/guard.log")" -ne 1 ]; then
		echo "FAIL $what: weft's #error came with other errors:"
		sed 's/^/  /' "$out/guard.log" | head -10
		fail=1
	else
		echo "ok   $what"
	fi
}

for cc in gcc clang; do
	have $cc || continue
	for std in c11 gnu11; do
		expect_error "$cc -std=$std: system header first" "a system header was included before WEFT_IMPLEMENTATION" \
			$cc -std=$std -I"$root/dist" -c "$here/late_include.c"
	done
done

# ---- 3. C++ -------------------------------------------------------------------

for cxx in g++ clang++; do
	if ! have $cxx; then
		echo "check-single-header-loops: $cxx not found (make deps installs it)" >&2
		fail=1
		continue
	fi
	expect_error "$cxx -std=c++17: implementation in C++" "define WEFT_IMPLEMENTATION in a C file" \
		$cxx -std=c++17 -I"$root/dist" -c "$here/impl_in_cxx.cpp"
	cc=gcc
	[ $cxx = clang++ ] && cc=clang
	if $cc -std=c11 -O2 -I"$root/dist" -c "$here/impl.c" -o "$out/impl-$cc.o" &&
		$cxx -std=c++17 -O2 -Wall -Wextra -I"$root/dist" "$here/cxx_user.cpp" "$out/impl-$cc.o" \
			-o "$out/cxx_user-$cxx" -pthread &&
		timeout 60 "$out/cxx_user-$cxx" >/dev/null; then
		echo "ok   $cxx: C++ file with the declarations + C file with the implementation"
	else
		echo "FAIL $cxx: C++ file with the declarations + C file with the implementation"
		fail=1
	fi
done

if [ $fail -ne 0 ]; then
	echo "check-single-header-loops: FAILED"
	exit 1
fi
echo "check-single-header-loops: all passed"
