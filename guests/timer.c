// SPDX-License-Identifier: MIT
/*
 * Takes three periodic LAPIC timer interrupts (vector 0x20) through an IDT,
 * then reports and exits with debug-exit code 0x21.
 */
#include "common/guest.h"

#define TIMER_DIVIDE_BY_1 0xb
#define TIMER_VECTOR 0x20
#define SPURIOUS_VECTOR 0xff

volatile u32 ticks;

/*
 * The handlers, in assembly so the frame is exactly right.  They return
 * with "ret $8" (pop EIP, drop CS and EFLAGS) instead of iret: PVM emulates
 * guest kernel code with KVM's emulator, which has no protected-mode iret.
 * That is correct here because interrupts are only enabled in the
 * "sti; hlt" window, so the interrupted code runs with IF=0 and the same CS.
 */
void timer_isr(void);
void spurious_isr(void);
__asm__(".text\n"
	"timer_isr:\n"
	"	incl ticks\n"
	"	movl $0, 0xfee000b0\n" /* EOI */
	"	ret $8\n"
	"spurious_isr:\n"
	"	ret $8\n");

void guest_main(u32 magic, const struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	serial_puts("timer: start\n");
	/* Mask both 8259s so only the LAPIC timer can interrupt. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	idt_set_gate(TIMER_VECTOR, timer_isr);
	idt_set_gate(SPURIOUS_VECTOR, spurious_isr);
	idt_load();

	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, 1000000); /* ~1 ms at KVM's 1 GHz bus */

	/* sti's one-instruction shadow means hlt starts before the interrupt. */
	while (ticks < 3)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);

	serial_puts("timer: 3 ticks\n");
	debug_exit(0x21);
	halt_forever();
}
