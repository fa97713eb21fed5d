#!/usr/bin/env bash
# make check-badinput: every public function of include/weft/ has a row in the
# coverage table of tests/test_badinput.c, the table names no function that is
# gone, and the test calls each one.  Public: a declaration or definition at
# the start of a line in a public header, not weft__* (private) and not
# *_slow (the out-of-line halves of inline calls).  Macros are not functions.
set -eu
test_file=${1:-tests/test_badinput.c}
shift || true
headers=("$@")
[ ${#headers[@]} -gt 0 ] || headers=(include/weft/*.h)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -hE '^[A-Za-z_][^#(]*\bweft_[a-z0-9_]+\(' "${headers[@]}" |
	sed -E 's/.*\b(weft_[a-z0-9_]+)\(.*/\1/' | grep -v '^weft__' | grep -v '_slow$' | sort -u >"$tmp/public"
# rows look like: {"weft_name", "what is tried", "where"},
grep -oE '^[[:space:]]*\{"weft_[a-z0-9_]+",' "$test_file" | sed -E 's/.*"(weft_[a-z0-9_]+)".*/\1/' | sort >"$tmp/rows"

status=0
missing=$(comm -23 "$tmp/public" <(sort -u "$tmp/rows"))
stale=$(comm -13 "$tmp/public" <(sort -u "$tmp/rows"))
dups=$(uniq -d "$tmp/rows")
if [ -n "$missing" ]; then
	echo "check-badinput: public functions without a row in $test_file's coverage table:" >&2
	echo "$missing" | sed 's/^/  /' >&2
	status=1
fi
if [ -n "$stale" ]; then
	echo "check-badinput: rows for functions no public header declares:" >&2
	echo "$stale" | sed 's/^/  /' >&2
	status=1
fi
if [ -n "$dups" ]; then
	echo "check-badinput: functions with more than one row:" >&2
	echo "$dups" | sed 's/^/  /' >&2
	status=1
fi
# every function is called somewhere outside the table (its name followed by "(")
uncalled=""
while read -r fn; do
	grep -qE "\\b$fn\\(" "$test_file" || uncalled="$uncalled $fn"
done <"$tmp/public"
if [ -n "$uncalled" ]; then
	echo "check-badinput: public functions $test_file never calls:$uncalled" >&2
	status=1
fi
[ $status -eq 0 ] && echo "check-badinput: $(wc -l <"$tmp/public") public functions, each with a row in the coverage table and called by $test_file"
exit $status
