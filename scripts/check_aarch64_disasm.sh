#!/usr/bin/env bash
# Checks the aarch64 code of a cross-built libweft.a: weft_cpu_relax() must be
# the YIELD instruction (atomic.h), and the acquire/release orders must be
# real ordered instructions (LDAR/STLR, LDAXR/STLXR exclusives, LSE CAS/SWP/LD*
# with acquire or release semantics, or calls to libgcc's outline atomics,
# which pick LL/SC or LSE at run time).  Prints the counts; fails if weft has
# spin loops but no YIELD, or no ordered instruction at all.
set -u
lib=$1
objdump=${OBJDUMP:-aarch64-linux-gnu-objdump}
dis=$("$objdump" -d "$lib") || exit 1
count() { printf '%s\n' "$dis" | awk -v re="$1" '$3 ~ re' | wc -l; }
yield=$(count '^yield$')
isb=$(count '^isb$')
ldar=$(count '^ldar[bh]?$')
stlr=$(count '^stlr[bh]?$')
excl=$(count '^(ldaxr|stlxr|ldxr|stxr)[bh]?$')
lse=$(count '^(cas|swp|ldadd|ldclr|ldset|ldeor)(a|l|al)?[bh]?$')
outline=$(printf '%s\n' "$dis" | grep -c 'bl.*<__aarch64_\(cas\|swp\|ldadd\|ldclr\|ldset\|ldeor\)')
dmb=$(count '^dmb$')
echo "aarch64 disassembly of $lib: yield=$yield isb=$isb ldar=$ldar stlr=$stlr" \
	"exclusives=$excl lse=$lse outline-atomic-calls=$outline dmb=$dmb"
[ "$yield" -gt 0 ] || { echo "check_aarch64_disasm: no YIELD: weft_cpu_relax() is not the aarch64 one"; exit 1; }
[ $((ldar + stlr + excl + lse + outline)) -gt 0 ] || { echo "check_aarch64_disasm: no ordered atomic instruction"; exit 1; }
