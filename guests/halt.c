// SPDX-License-Identifier: MIT
/*
 * For dvm's halt watchdog.  With wait=MS it first sleeps MS milliseconds in
 * `sti; hlt` (interrupts on: the watchdog must leave it alone) until a
 * one-shot LAPIC timer wakes it; then it halts for good with interrupts off,
 * which dvm ends with status 8.
 */
#include "common/guest.h"

#define TIMER_VECTOR 0x20
#define TIMER_DIVIDE_BY_1 0xb

volatile u32 fired;

void timer_isr(void);
__asm__(".text\n"
	"timer_isr:\n"
	"	movl $1, fired\n"
	"	movl $0, 0xfee000b0\n" /* EOI */
	"	ret $8\n");	       /* not iret: see timer.c */

void guest_main(u32 magic, const struct multiboot_info *info)
{
	u32 wait_ms = 0;

	(void)magic;
	if (info->flags & MB_INFO_CMDLINE)
		cmdline_find_uint((const char *)(uptr)info->cmdline, "wait=", &wait_ms);
	if (wait_ms > 4000)
		wait_ms = 4000; /* the count must fit 32 bits at KVM's 1 GHz bus */
	if (wait_ms) {
		outb(0x21, 0xff);
		outb(0xa1, 0xff);
		idt_set_gate(TIMER_VECTOR, timer_isr);
		idt_load();
		lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
		lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
		lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot */
		lapic_write(LAPIC_TIMER_INITIAL, wait_ms * 1000000u);
		serial_puts("halt: sleeping with interrupts on\n");
		while (!fired)
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		serial_puts("halt: woke after ");
		serial_put_uint(wait_ms);
		serial_puts(" ms\n");
	}
	serial_puts("halt: halting for good with interrupts off\n");
	halt_forever();
}
