/* SPDX-License-Identifier: MIT */
/*
 * A flat guest for the port-I/O exit benchmark.  Entered in 32-bit protected
 * mode with flat segments at its load address (dvm's --format flat, and
 * bare_kvm_pio_loop the same way).  It writes PIO_COUNT bytes to PIO_PORT,
 * each one an exit to the VMM, then writes 0 to the isa-debug-exit port 0xf4
 * and halts.  Position independent: only immediates and a relative branch.
 */
#ifndef PIO_COUNT
#error "define PIO_COUNT"
#endif
#ifndef PIO_PORT
#define PIO_PORT 0x80
#endif
	.text
	.code32
	.globl _start
_start:
	mov	$PIO_COUNT, %ecx
	xor	%eax, %eax
	test	%ecx, %ecx
	jz	2f
1:	outb	%al, $PIO_PORT
	dec	%ecx
	jnz	1b
2:	outb	%al, $0xf4
3:	hlt
	jmp	3b
