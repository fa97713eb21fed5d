#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fastpath_diff.sh REV_A REV_B - do the inline fast paths compile to the same
# instructions with the headers of two revisions?  (issue 16: "a token costs
# the uncontended path nothing".)  Builds one small C file calling each inline
# fast path (lock/unlock, try, post, push/pop) with gcc -O2 against
# include/ of REV_A and of REV_B (git archive, no checkout), and prints, per
# function, "identical" or "DIFFERS" with the instruction counts.  A probe,
# run by hand:   tests/probes/fastpath_diff.sh 46b40bc HEAD
set -eu
a=${1:?usage: fastpath_diff.sh REV_A REV_B}
b=${2:?usage: fastpath_diff.sh REV_A REV_B}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/fast.c" <<'C'
#include "weft/weft.h"
void fp_mutex_lock(weft_mutex_t *m) { weft_mutex_lock(m); }
void fp_mutex_unlock(weft_mutex_t *m) { weft_mutex_unlock(m); }
bool fp_mutex_trylock(weft_mutex_t *m) { return weft_mutex_trylock(m); }
bool fp_sem_trywait(weft_sem_t *s) { return weft_sem_trywait(s); }
void fp_sem_wait(weft_sem_t *s) { weft_sem_wait(s); }
int fp_sem_post(weft_sem_t *s) { return weft_sem_post(s); }
void fp_rdlock(weft_rwlock_t *l) { weft_rwlock_rdlock(l); }
void fp_rdunlock(weft_rwlock_t *l) { weft_rwlock_rdunlock(l); }
void fp_wrlock(weft_rwlock_t *l) { weft_rwlock_wrlock(l); }
void fp_wrunlock(weft_rwlock_t *l) { weft_rwlock_wrunlock(l); }
bool fp_try_push(weft_mpmc_t *q, void *v) { return weft_mpmc_try_push(q, v); }
bool fp_try_pop(weft_mpmc_t *q, void **v) { return weft_mpmc_try_pop(q, v); }
int fp_push(weft_mpmc_t *q, void *v) { return weft_mpmc_push(q, v); }
int fp_pop(weft_mpmc_t *q, void **v) { return weft_mpmc_pop(q, v); }
void fp_latch_wait(weft_latch_t *l) { weft_latch_wait(l); }
C
root=$(git rev-parse --show-toplevel)
for side in a b; do
	eval rev=\$$side
	mkdir -p "$tmp/$side"
	git -C "$root" archive "$rev" include | tar -x -C "$tmp/$side"
	${CC:-gcc} -std=c11 -O2 -I"$tmp/$side/include" -c "$tmp/fast.c" -o "$tmp/$side.o"
	# addresses and jump offsets removed: only the instructions compared
	objdump -d --no-show-raw-insn "$tmp/$side.o" |
		sed -E 's/^ +[0-9a-f]+:\t//; s/[0-9a-f]+ <([a-z_0-9.]+)(\+0x[0-9a-f]+)?>/<\1>/' |
		grep -v 'file format' > "$tmp/$side.dis"
done
for f in $(grep -o '^<fp_[a-z_]*>:' "$tmp/b.dis" | tr -d '<>:'); do
	body() { awk "/^<$f>:/,/^\$/" "$1" | grep -v '^$'; }
	na=$(body "$tmp/a.dis" | grep -c .) nb=$(body "$tmp/b.dis" | grep -c .)
	if [ "$(body "$tmp/a.dis")" = "$(body "$tmp/b.dis")" ]; then
		echo "$f: identical ($((na - 1)) instructions)"
	else
		echo "$f: DIFFERS ($((na - 1)) -> $((nb - 1)) instructions)"
	fi
done
