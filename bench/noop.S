/* SPDX-License-Identifier: MIT */
/* The exec baseline for bench_spawn: a static program that only exits(0). */
	.text
	.globl _start
_start:
	mov	$60, %eax /* exit */
	xor	%edi, %edi
	syscall
	.section .note.GNU-stack, "", @progbits
