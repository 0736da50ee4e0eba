/* SPDX-License-Identifier: MIT */
/* ELF64 entry: dvm enters in long mode with identity paging; own stack. */
	.section .text.start, "ax"
	.code64
	.global _start
_start:
	cli
	lea stack_top(%rip), %rsp
	call guest_main
1:	cli
	hlt
	jmp 1b

	.section .bss
	.align 16
	.skip 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
