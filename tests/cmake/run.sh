#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make check-cmake (mk/cmake.mk):
#  1. CMakeLists.txt configures, builds (warnings as errors) and installs the
#     library into OUT/root-cmake (prefix /usr/local, by DESTDIR);
#  2. `make install` installs into OUT/root-make the same way;
#  3. both trees hold the same files (less the interposition library and its
#     launcher, which only make builds), and every text file the same text;
#  4. tests/cmake/consumer builds with find_package(weft CONFIG REQUIRED)
#     against OUT/root-make, with add_subdirectory() of this tree, and with
#     FetchContent (pointed at this tree by FETCHCONTENT_SOURCE_DIR_WEFT); each
#     build's programs (libweft.a, libweft.so, the single header, C++) run.
#
# Usage: tests/cmake/run.sh OUT       (CMAKE, CC, CXX from the environment)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
cmake=${CMAKE:-cmake}
cc=${CC:-cc}
cxx=${CXX:-c++}
log=$out/log
rm -rf "$out/root-cmake" "$out/root-make" "$out/consumer-"* "$log"
quiet() { # run, keeping the output in $log; show it on failure
	echo "+ $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		echo "check-cmake: failed: $*" >&2
		tail -n 30 "$log" >&2
		exit 1
	fi
}

# 1. the library by CMake
quiet "$cmake" -S "$root" -B "$out/lib" -DCMAKE_C_COMPILER="$cc" -DCMAKE_INSTALL_PREFIX=/usr/local -DWEFT_WERROR=ON
quiet "$cmake" --build "$out/lib" -j 2
DESTDIR="$out/root-cmake" quiet "$cmake" --install "$out/lib"

# 2. the library by make
quiet make -C "$root" --no-print-directory install DESTDIR="$out/root-make" PREFIX=/usr/local

# 3. the same tree
(cd "$out/root-cmake" && find . \( -type f -o -type l \) | sort) >"$out/files-cmake"
# make install also installs the pthread interposition library and its
# launcher (mk/preload.mk), which live beside the library and which
# CMakeLists.txt does not build: they are left out of the comparison.
(cd "$out/root-make" && find . \( -type f -o -type l \) | sort |
	grep -v -e '/bin/weft-run$' -e '/libweft-preload\.so[.0-9]*$') >"$out/files-make"
if ! diff -u "$out/files-make" "$out/files-cmake" >"$out/files.diff"; then
	echo "check-cmake: make install and cmake --install differ (- make, + cmake):" >&2
	cat "$out/files.diff" >&2
	exit 1
fi
n=0
while read -r f; do
	case "$f" in
	*.a | *.so | *.so.*) continue ;;
	esac
	n=$((n + 1))
	cmp -s "$out/root-make/$f" "$out/root-cmake/$f" ||
		{ echo "check-cmake: $f differs between make install and cmake --install:" >&2
		  diff -u "$out/root-make/$f" "$out/root-cmake/$f" >&2; exit 1; }
done <"$out/files-make"
echo "check-cmake: make install and cmake --install lay out the same $(wc -l <"$out/files-make") files ($n text files identical)"

# 4. the consumer, each way
consume() { # mode, extra cmake args...
	mode=$1
	shift
	b="$out/consumer-$mode"
	quiet "$cmake" -S "$root/tests/cmake/consumer" -B "$b" -DCMAKE_C_COMPILER="$cc" \
		-DCMAKE_CXX_COMPILER="$cxx" -DWEFT_CONSUMER_MODE="$mode" "$@"
	quiet "$cmake" --build "$b" -j 2
	for p in "$b"/consumer_*; do
		[ -x "$p" ] && [ -f "$p" ] || continue
		quiet "$p"
		echo "check-cmake: $mode: $(basename "$p"): $(tail -n 1 "$log")"
	done
}
consume find_package -DCMAKE_PREFIX_PATH="$out/root-make/usr/local"
consume add_subdirectory -DWEFT_SOURCE_DIR="$root"
consume fetchcontent -DFETCHCONTENT_SOURCE_DIR_WEFT="$root"
echo "check-cmake: passed"
