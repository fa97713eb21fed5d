/* SPDX-License-Identifier: MIT */
/*
 * ipa_reference_repro.c - the compiler behaviour behind issue 12's
 * single-header hang, reduced to 30 lines of plain C11 with no weft in it
 * (kept for the upstream reports; not built by make).
 *
 *     gcc -O2 -pthread ipa_reference_repro.c && ./a.out    # hangs (gcc 12.2)
 *     gcc -O2 -fno-ipa-reference -pthread ...               # returns
 *     clang -O2 -pthread ...                                # hangs (clang 14)
 *
 * The program is race-free: main() reads `ready` only after wait_word()'s
 * acquire load has read the value of setter()'s release store, so
 * `ready = 1` happens-before that read, which must see 1.  Both compilers
 * summarize wait_word() (atomics only) as writing no global and hoist the
 * load of the static `ready` above the first call, out of the loop.  gcc's
 * ipa-reference also ignores an asm "memory" clobber in wait_word(); its
 * noipa attribute on wait_word() cures it.  clang's GlobalsAA is cured by the
 * asm.  weft's fix: include/weft/config.h (WEFT_NOIPA, WEFT_COMPILER_BARRIER).
 */
#include <pthread.h>
#include <unistd.h>

static int ready; /* plain data, published by the release store below */
int word;

__attribute__((noinline)) void wait_word(void)
{
	while (!__atomic_load_n(&word, __ATOMIC_ACQUIRE)) /* pairs with the release store in setter() */
		;
}

static void *setter(void *arg)
{
	usleep(10000); /* so that a hoisted load in main() reads 0 first */
	ready = 1;
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	return arg;
}

int main(void)
{
	pthread_t t;
	alarm(2); /* a hang ends here, with SIGALRM */
	pthread_create(&t, 0, setter, 0);
	do
		wait_word(); /* ready = 1 happens-before the load below */
	while (!ready);
	pthread_join(t, 0);
	return 0;
}
