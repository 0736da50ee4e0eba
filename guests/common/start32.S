/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 entry for the 32-bit guests: header, own GDT and stack (the
 * loader's are not ours to keep), then guest_main(eax magic, ebx info).
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.start, "ax"
	.code32
	.global _start
_start:
	cli
	mov $stack_top, %esp
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	mov $0x10, %ecx
	mov %ecx, %ds
	mov %ecx, %es
	mov %ecx, %fs
	mov %ecx, %gs
	mov %ecx, %ss
	push %ebx
	push %eax
	call guest_main
2:	cli
	hlt
	jmp 2b

	.section .rodata
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff /* 0x08: flat 32-bit code */
	.quad 0x00cf93000000ffff /* 0x10: flat data */
	.global gdt_desc
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.section .bss
	.align 16
	.skip 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
