#!/usr/bin/env bash
# Installs the Debian packages weft's make targets need.
#
#   scripts/deps.sh                     install whatever is missing
#   scripts/deps.sh --check-or-install  the same, silent when nothing is missing
#                                       (make check and make bench call this)
#   scripts/deps.sh --list              print the package list
#   DEPS_PACKAGES="p1 p2" scripts/deps.sh ...   only these packages (a target's own list:
#                                       mk/bench.mk passes the benchmark's, per family)
#
# The core library needs only a C11 compiler and pthreads; these packages are for
# the tests (clang + its ThreadSanitizer runtime), the benchmark peers, the
# report's charts and the single-header generator.
set -eu

packages=(
	build-essential pkg-config python3
	cmake                             # make check-cmake: the CMake build and its consumers
	groff-base                        # make check-man: groff renders every manual page
	clang libclang-rt-14-dev          # make stress: clang -fsanitize=thread and its runtime
	libbenchmark-dev                  # Google Benchmark
	libck-dev                         # Concurrency Kit peers
	liburcu-dev                       # liburcu peers
	libconcurrentqueue-dev            # moodycamel ConcurrentQueue
	libboost-dev                      # Boost.Lockfree
	libtbb-dev                        # oneTBB
	libabsl-dev                       # Abseil
	libmimalloc-dev libjemalloc-dev   # allocator peers of the pool
	gnuplot-nox                       # charts of the benchmark report
	spin                              # make models: Promela models of the wait/wake protocols
	sysbench pigz zstd xz-utils redis-server redis-tools  # make apps / check-apps: real programs on weft's locks (mk/apps.mk)
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user  # the aarch64 cross build and its tests
)

if [ -n "${DEPS_PACKAGES:-}" ]; then
	read -r -a packages <<<"$DEPS_PACKAGES"
fi

if [ "${1:-}" = "--list" ]; then
	printf '%s\n' "${packages[@]}"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	[ "${1:-}" = "--check-or-install" ] || echo "deps: all ${#packages[@]} packages are installed"
	exit 0
fi

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "deps: not root and no sudo; run as root:" >&2
	echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
