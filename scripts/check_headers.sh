#!/usr/bin/env bash
# Compiles every public header given as an argument on its own, as C11, as
# C++11 and as C++17, with gcc and clang, warnings as errors.  A header that needs another
# header it does not include, or that is not valid C++, fails here.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
count=0
for h in "$@"; do
	name=${h#include/}
	printf '#include <%s>\nint weft_header_check_%s;\n' "$name" "$(basename "$h" .h)" > "$tmp/one.c"
	cp "$tmp/one.c" "$tmp/one.cc"
	for cc in "gcc -std=c11" "clang -std=c11"; do
		count=$((count + 1))
		$cc -Iinclude -Wall -Wextra -Wpedantic -Werror -Wstrict-prototypes -Wundef -fsyntax-only "$tmp/one.c" ||
			{ echo "check-headers: $h does not compile alone with $cc"; failed=$((failed + 1)); }
	done
	for cxx in "g++ -std=c++11" "clang++ -std=c++11" "g++ -std=c++17" "clang++ -std=c++17"; do
		count=$((count + 1))
		$cxx -Iinclude -Wall -Wextra -Wpedantic -Werror -Wundef -fsyntax-only "$tmp/one.cc" ||
			{ echo "check-headers: $h does not compile alone with $cxx"; failed=$((failed + 1)); }
	done
done
echo "check-headers: $((count - failed)) passed, $failed failed ($# headers x C11/C++11/C++17 x gcc/clang)"
[ "$failed" -eq 0 ]
