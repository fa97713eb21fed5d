#!/usr/bin/env bash
# make check-dist: dist/weft.h must be the fresh output of scripts/amalgamate.py,
# and a program built from it alone (one TU with WEFT_IMPLEMENTATION, one
# without, as C11 and as C++11) must compile, link and run.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 scripts/amalgamate.py -o "$tmp/weft.h"
if ! cmp -s "$tmp/weft.h" dist/weft.h; then
	echo "check-dist: dist/weft.h is stale; run 'make dist' and commit it" >&2
	diff -u dist/weft.h "$tmp/weft.h" | head -n 20 >&2 || true
	exit 1
fi
cat > "$tmp/impl.c" <<'C'
#define WEFT_IMPLEMENTATION
#include "weft.h"
#include <pthread.h>
#include <stdio.h>
static weft_mutex_t mutex = WEFT_MUTEX_INIT;
static long counter;
long use_from_other_tu(void);
static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++) {
		weft_mutex_lock(&mutex);
		counter++;
		weft_mutex_unlock(&mutex);
	}
	return NULL;
}
int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	if (counter != 400000 || use_from_other_tu() != 0) {
		printf("check-dist: single-header program counted %ld, expected 400000\n", counter);
		return 1;
	}
	return 0;
}
C
cat > "$tmp/other.cc" <<'C'
#include "weft.h"
extern "C" long use_from_other_tu(void);
long use_from_other_tu(void)
{
	weft_spin_t lock = WEFT_SPIN_INIT;
	weft_spin_lock(&lock);
	weft_spin_unlock(&lock);
	return weft_strerror(WEFT_OK)[0] == 's' ? 0 : 1;
}
C
gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$tmp" -c "$tmp/impl.c" -o "$tmp/impl.o"
g++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$tmp" -c "$tmp/other.cc" -o "$tmp/other.o"
g++ "$tmp/impl.o" "$tmp/other.o" -pthread -o "$tmp/prog"
"$tmp/prog"
echo "check-dist: dist/weft.h is fresh; a C11 + C++11 program built from it alone runs"
