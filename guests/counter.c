// SPDX-License-Identifier: MIT
/*
 * Counts on the serial port, one line per timer period, for snapshot and
 * restore tests: "count 1", "count 2", ... up to `max=N` (default 40), then
 * exits with debug-exit 0x2c.  The tick comes from the LAPIC timer (10 ms,
 * periodic) or, with `pit=1`, from the PIT through the 8259 (IRQ 0), so a
 * restore has to bring back the interrupt controller and timer state too:
 * after one, the count goes on with no gap and no repeat.
 */
#include "common/guest.h"

#define TIMER_VECTOR 0x20
#define PIT_VECTOR 0x30
#define TIMER_DIVIDE_BY_1 0xb
#define TICKS_PER_LINE 3

volatile u32 ticks;

void lapic_isr(void);
void pit_isr(void);
__asm__(".text\n"
	"lapic_isr:\n"
	"	incl ticks\n"
	"	movl $0, 0xfee000b0\n" /* LAPIC EOI */
	"	ret $8\n"	       /* not iret: see timer.c */
	"pit_isr:\n"
	"	incl ticks\n"
	"	push %eax\n"
	"	mov $0x20, %al\n"
	"	out %al, $0x20\n" /* 8259 EOI */
	"	pop %eax\n"
	"	ret $8\n");

static void start_pit(void)
{
	pic_init(PIT_VECTOR, PIT_VECTOR + 8, 0xfe, 0xff); /* only IRQ 0 */
	/* PIT channel 0, mode 2, 100 Hz. */
	u16 div = 11932;
	outb(0x43, 0x34);
	outb(0x40, (u8)div);
	outb(0x40, (u8)(div >> 8));
}

static void start_lapic(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
	lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, 10000000); /* 10 ms at KVM's 1 GHz bus */
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	u32 max = 40, pit = 0;
	const char *cmdline =
	    (info->flags & MB_INFO_CMDLINE) ? (const char *)(uptr)info->cmdline : "";

	(void)magic;
	cmdline_find_uint(cmdline, "max=", &max);
	cmdline_find_uint(cmdline, "pit=", &pit);
	idt_set_gate(TIMER_VECTOR, lapic_isr);
	idt_set_gate(PIT_VECTOR, pit_isr);
	idt_load();
	if (pit)
		start_pit();
	else
		start_lapic();
	serial_puts(pit ? "counter: pit\n" : "counter: lapic\n");
	for (u32 n = 1; n <= max; n++) {
		u32 until = ticks + TICKS_PER_LINE;
		while (ticks < until)
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		serial_puts("count ");
		serial_put_uint(n);
		serial_puts("\n");
	}
	debug_exit(0x2c);
	halt_forever();
}
