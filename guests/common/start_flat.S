/* SPDX-License-Identifier: MIT */
/* Flat binary entry: the first byte is the entry point (32-bit protected mode). */
	.section .text.start, "ax"
	.code32
	.global _start
_start:
	cli
	mov $stack_top, %esp
	call guest_main
1:	cli
	hlt
	jmp 1b

	.section .bss
	.align 16
	.skip 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
