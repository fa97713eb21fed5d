/* SPDX-License-Identifier: MIT */
#ifndef WEFT_BENCH_COSWITCH_H
#define WEFT_BENCH_COSWITCH_H

/*
 * coswitch.h - a hand-written coroutine switch for scenario C7: what a
 * user-space context switch costs when it saves only what the calling
 * convention says a callee must preserve, with no system call (swapcontext
 * also saves the signal mask with sigprocmask, a system call, and the whole
 * floating-point environment).
 *
 *     void *sp = coswitch_init(stack, size, entry, arg);  a new coroutine
 *     coswitch(&my_sp, sp);       save my callee-saved registers on my stack,
 *                                 store my stack pointer in my_sp, load sp,
 *                                 restore the registers saved there, return
 *                                 into the other coroutine
 *
 * entry(arg) runs on the new stack the first time it is switched to and must
 * never return (it switches away for good instead).
 *
 * Written from the System V psABI (x86-64: rbx, rbp, r12-r15 and rsp are
 * callee-saved) and the AAPCS64 (aarch64: x19-x28, x29, x30, sp and the low
 * halves of v8-v15, d8-d15, are callee-saved).  Not saved: the x87 control
 * word and MXCSR on x86-64, FPCR on aarch64 (callee-saved too, but nothing
 * here changes them; a general-purpose library must save them).
 *
 * COSWITCH_AVAILABLE is 0 on any other architecture, and the C7 row that
 * uses it is not registered there.
 *
 * One file includes this (bench_scenario_c7.c); bench/coswitch_test.c checks
 * it natively and for aarch64 under qemu (see the comment at the end).
 */

#include <stddef.h>
#include <stdint.h>

typedef void (*coswitch_entry_fn)(void *arg);

#if defined(__x86_64__)
#define COSWITCH_AVAILABLE 1

/*
 * rdi = where to store the current stack pointer, rsi = the stack pointer to
 * switch to.  The frame on a suspended stack, from its stack pointer up:
 * r15 r14 r13 r12 rbx rbp <return address>.
 */
__asm__(".text\n"
	".p2align 4\n"
	".globl coswitch\n"
	".hidden coswitch\n"
	".type coswitch,@function\n"
	"coswitch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size coswitch, .-coswitch\n"
	/* the first switch to a new coroutine returns here: r12 = arg, r13 =
	 * entry; rsp is 16-byte aligned, so after the call pushes its return
	 * address the entry sees the alignment of an ordinary call */
	".p2align 4\n"
	".globl coswitch__start\n"
	".hidden coswitch__start\n"
	".type coswitch__start,@function\n"
	"coswitch__start:\n"
	"	movq %r12, %rdi\n"
	"	callq *%r13\n"
	"	ud2\n"
	".size coswitch__start, .-coswitch__start\n");

#elif defined(__aarch64__)
#define COSWITCH_AVAILABLE 1

/*
 * x0 = where to store the current stack pointer, x1 = the stack pointer to
 * switch to.  The frame on a suspended stack (160 bytes, 16-aligned):
 * x19..x28, x29, x30 (the return address), d8..d15.
 */
__asm__(".text\n"
	".p2align 4\n"
	".globl coswitch\n"
	".hidden coswitch\n"
	".type coswitch,%function\n"
	"coswitch:\n"
	"	sub sp, sp, #160\n"
	"	stp x19, x20, [sp, #0]\n"
	"	stp x21, x22, [sp, #16]\n"
	"	stp x23, x24, [sp, #32]\n"
	"	stp x25, x26, [sp, #48]\n"
	"	stp x27, x28, [sp, #64]\n"
	"	stp x29, x30, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	mov x2, sp\n"
	"	str x2, [x0]\n"
	"	mov sp, x1\n"
	"	ldp x19, x20, [sp, #0]\n"
	"	ldp x21, x22, [sp, #16]\n"
	"	ldp x23, x24, [sp, #32]\n"
	"	ldp x25, x26, [sp, #48]\n"
	"	ldp x27, x28, [sp, #64]\n"
	"	ldp x29, x30, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	add sp, sp, #160\n"
	"	ret\n"
	".size coswitch, .-coswitch\n"
	/* the first switch to a new coroutine returns here: x19 = arg, x20 = entry */
	".p2align 4\n"
	".globl coswitch__start\n"
	".hidden coswitch__start\n"
	".type coswitch__start,%function\n"
	"coswitch__start:\n"
	"	mov x0, x19\n"
	"	blr x20\n"
	"	brk #0\n"
	".size coswitch__start, .-coswitch__start\n");

#else
#define COSWITCH_AVAILABLE 0
#endif

#if COSWITCH_AVAILABLE
void coswitch(void **save_sp, void *to_sp);
void coswitch__start(void);

/* A suspended frame on a fresh stack whose first switch enters entry(arg). */
static inline void *coswitch_init(void *stack, size_t size, coswitch_entry_fn entry, void *arg)
{
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
	uint64_t *sp = (uint64_t *)top - 7;
	sp[0] = 0;                          /* r15 */
	sp[1] = 0;                          /* r14 */
	sp[2] = (uint64_t)(uintptr_t)entry; /* r13 */
	sp[3] = (uint64_t)(uintptr_t)arg;   /* r12 */
	sp[4] = 0;                          /* rbx */
	sp[5] = 0;                          /* rbp: the end of the frame chain */
	sp[6] = (uint64_t)(uintptr_t)coswitch__start; /* ret pops it: rsp = top */
#else
	uint64_t *sp = (uint64_t *)(top - 160);
	for (int i = 0; i < 20; i++)
		sp[i] = 0;
	sp[0] = (uint64_t)(uintptr_t)arg;             /* x19 */
	sp[1] = (uint64_t)(uintptr_t)entry;           /* x20 */
	sp[11] = (uint64_t)(uintptr_t)coswitch__start; /* x30; x29 = 0 ends the frame chain */
#endif
	return sp;
}
#endif

/*
 * Checked by bench/coswitch_test.c: `make check-coswitch` natively (part of
 * make check) and for aarch64 without the hardware (gcc-aarch64-linux-gnu,
 * qemu-user) when the cross compiler and qemu-aarch64 are installed.
 */

#endif /* WEFT_BENCH_COSWITCH_H */
