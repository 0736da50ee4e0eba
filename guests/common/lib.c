// SPDX-License-Identifier: MIT
#include "guest.h"

#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_THR_EMPTY 0x20
#define DEBUG_EXIT_PORT 0xf4
#define I8042_COMMAND 0x64
#define I8042_PULSE_RESET 0xfe

void serial_putc(char c)
{
	/* Polling keeps the guest free of interrupts; each poll is one exit. */
	while (!(inb(COM1_LSR) & LSR_THR_EMPTY))
		;
	outb(COM1, (u8)c);
}

/* Set by serial_enable_fifo(): the transmitter takes 16 bytes per THRE. */
static int serial_fifo;

void serial_enable_fifo(void)
{
	/* FCR: FIFOs on, both cleared.  Clearing drops received bytes, so a
	 * guest that reads input turns this on before it expects any. */
	outb(COM1 + 2, 0x07);
	serial_fifo = 1;
}

void serial_puts(const char *s)
{
	if (!serial_fifo) {
		while (*s)
			serial_putc(*s++);
		return;
	}
	/* As a 16550 driver does: once THR is empty the transmit FIFO takes 16
	 * bytes, here with one string instruction (one exit, not 16). */
	while (*s) {
		u32 n = 0;
		while (n < 16 && s[n])
			n++;
		while (!(inb(COM1_LSR) & LSR_THR_EMPTY))
			;
		__asm__ volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(COM1) : "memory");
	}
}

void serial_put_uint(u32 value)
{
	char digits[10];
	int n = 0;

	do {
		digits[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	while (n)
		serial_putc(digits[--n]);
}

#define CODE_SELECTOR 0x08 /* start32.S's GDT */
#define INTERRUPT_GATE_32 0x8e

struct idt_gate {
	u16 offset_low;
	u16 selector;
	u8 zero;
	u8 type_attr;
	u16 offset_high;
} __attribute__((packed));

static struct idt_gate idt[256];

void idt_set_gate(unsigned vector, void (*handler)(void))
{
	u32 addr = (u32)(uptr)handler;

	idt[vector & 0xff] =
	    (struct idt_gate){(u16)addr, CODE_SELECTOR, 0, INTERRUPT_GATE_32, (u16)(addr >> 16)};
}

void idt_load(void)
{
	struct {
		u16 limit;
		u32 base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (u32)(uptr)idt};

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void debug_exit(u8 code)
{
	outb(DEBUG_EXIT_PORT, code);
}

void i8042_reset(void)
{
	outb(I8042_COMMAND, I8042_PULSE_RESET);
}

void pic_init(u8 master_base, u8 slave_base, u8 master_mask, u8 slave_mask)
{
	outb(PIC1_CMD, 0x11); /* ICW1: edge-triggered, cascaded, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, master_base); /* ICW2 */
	outb(PIC2_DATA, slave_base);
	outb(PIC1_DATA, 0x04); /* ICW3: the slave is on IRQ 2 */
	outb(PIC2_DATA, 0x02); /* and its cascade identity is 2 */
	outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, master_mask);
	outb(PIC2_DATA, slave_mask);
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

int cmdline_find_uint(const char *cmdline, const char *key, u32 *value)
{
	for (const char *p = cmdline; *p; p++) {
		const char *k = key, *s = p;
		u32 v = 0;

		if (p != cmdline && p[-1] != ' ')
			continue;
		while (*k && *s == *k)
			k++, s++;
		if (*k || *s < '0' || *s > '9')
			continue;
		while (*s >= '0' && *s <= '9')
			v = v * 10 + (u32)(*s++ - '0');
		*value = v;
		return 1;
	}
	return 0;
}

/* The compiler may emit calls to these even in freestanding code. */
void *memset(void *dst, int c, uptr n)
{
	u8 *d = dst;

	while (n--)
		*d++ = (u8)c;
	return dst;
}

void *memcpy(void *dst, const void *src, uptr n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void serial_put_hex(u32 value, int digits)
{
	while (digits-- > 0)
		serial_putc("0123456789abcdef"[(value >> (4 * digits)) & 0xf]);
}

u8 bytes_sum(const u8 *p, u32 len)
{
	u8 s = 0;

	while (len--)
		s += *p++;
	return s;
}

int bytes_same(const u8 *p, const char *s, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (p[i] != (u8)s[i])
			return 0;
	return 1;
}
