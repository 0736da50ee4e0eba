// SPDX-License-Identifier: MIT
/*
 * Uses every port of pc-testdev (QEMU's, as kvm-unit-tests does):
 * - the 32-bit latch at 0xe0 at each width and offset, and through its byte
 *   alias at 0xe8;
 * - string I/O on the latch (rep outsb/outsw/insb, forwards and backwards);
 * - the page drop at 0xe4: a page written with a pattern, dropped, reads the
 *   same pattern; then the pages holding this code and the stack;
 * - the interrupt lines at 0x2000 + N: raising lines 5 and 10 shows them in
 *   the 8259s' IRR (read through OCW3, with every IRQ masked and IF clear so
 *   no interrupt is taken), lowering them clears it (the lines are put in
 *   level mode through the ELCR, where IRR follows the line);
 * - the 64 KiB window at 0xff000000 at widths 1, 2, 4 and 8,
 *   aligned and not, little-endian (8 bytes through cmpxchg8b).
 * Ends with debug-exit code 0x54 when all hold, 1 after "testdev: FAIL ...".
 * Under QEMU it needs -device pc-testdev.
 */
#include "common/guest.h"

/* 16- and 32-bit port I/O (guest.h has the 8-bit ones). */
#define LATCH 0xe0
#define FLUSH 0xe4
#define ALIAS 0xe8
#define IRQ_PORT(n) (0x2000 + (n))
#define IOMEM 0xff000000u

#define ELCR1 0x4d0
#define ELCR2 0x4d1
#define OCW3_READ_IRR 0x0a

#define MASTER_LINE 5
#define SLAVE_LINE 10

static void fail(const char *what, u32 got)
{
	serial_puts("testdev: FAIL ");
	serial_puts(what);
	serial_puts(" (got 0x");
	serial_put_hex(got, 8);
	serial_puts(")\n");
	debug_exit(1);
	halt_forever();
}

static void expect(const char *what, u32 got, u32 want)
{
	if (got != want)
		fail(what, got);
}

static void check_latch(void)
{
	outl(LATCH, 0x12345678);
	expect("latch dword", inl(LATCH), 0x12345678);
	expect("latch word 0", inw(LATCH), 0x5678);
	expect("latch word 2", inw(LATCH + 2), 0x1234);
	expect("latch word 1", inw(LATCH + 1), 0x3456);
	expect("latch byte 0", inb(LATCH), 0x78);
	expect("latch byte 3", inb(LATCH + 3), 0x12);
	outb(LATCH + 2, 0xab);
	expect("after byte write at 2", inl(LATCH), 0x12ab5678);
	outw(LATCH + 1, 0xcdef);
	expect("after word write at 1", inl(LATCH), 0x12cdef78);
	outw(LATCH, 0xffff);
	expect("after word write at 0", inl(LATCH), 0x12cdffff);

	/* The alias at 0xe8 is the same latch, byte by byte. */
	outl(ALIAS, 0x89abcdef);
	expect("alias dword write, read at 0xe0", inl(LATCH), 0x89abcdef);
	outb(ALIAS + 2, 0x11);
	expect("alias byte write", inl(LATCH), 0x8911cdef);
	expect("alias dword read", inl(ALIAS), 0x8911cdef);
	expect("alias word read at 1", inw(ALIAS + 1), 0x11cd);
	outl(LATCH, 0x55aa55aa);
	expect("alias sees 0xe0 writes", inl(ALIAS), 0x55aa55aa);
	serial_puts("testdev: latch ok\n");
}

static const char letters[] = "abcdefghijklmnop";

static void check_string_io(void)
{
	const char *src = letters;
	u32 n = 16;
	u8 buf[8];
	u8 *dst = buf;

	/* As kvm-unit-tests' emulator test: the last element written stays. */
	__asm__ volatile("cld; rep outsb" : "+S"(src), "+c"(n) : "d"(LATCH) : "memory");
	expect("rep outsb up", inb(LATCH), 'p');
	src = letters + 15;
	n = 16;
	__asm__ volatile("std; rep outsb; cld" : "+S"(src), "+c"(n) : "d"(LATCH) : "memory");
	expect("rep outsb down", inb(LATCH), 'a');
	src = letters;
	n = 8;
	__asm__ volatile("cld; rep outsw" : "+S"(src), "+c"(n) : "d"(LATCH) : "memory");
	expect("rep outsw", inw(LATCH), 'o' | 'p' << 8);
	outb(LATCH, 0x99);
	n = sizeof(buf);
	__asm__ volatile("cld; rep insb" : "+D"(dst), "+c"(n) : "d"(LATCH) : "memory");
	for (u32 i = 0; i < sizeof(buf); i++)
		expect("rep insb", buf[i], 0x99);
	serial_puts("testdev: string io ok\n");
}

static u32 page[1024] __attribute__((aligned(4096)));

static u32 pattern(u32 i)
{
	return i * 0x9e3779b9u ^ 0x5a5a0000u;
}

static void check_page_drop(void)
{
	u32 here = 0;

	for (u32 i = 0; i < 1024; i++)
		page[i] = pattern(i);
	outl(FLUSH, (u32)(uptr)page);
	for (u32 i = 0; i < 1024; i++)
		expect("page contents after drop", page[i], pattern(i));
	/* Written again after a drop, then dropped through an inner address. */
	page[7] = 0xfeedface;
	outl(FLUSH, (u32)(uptr)&page[512]);
	expect("write after drop", page[7], 0xfeedface);
	/* The pages this code and its stack live on (kvm-unit-tests drops the
	 * stack and IDT pages): running on proves they came back intact. */
	outl(FLUSH, (u32)(uptr)check_page_drop);
	outl(FLUSH, (u32)(uptr)&here);
	/* Not RAM, and a wide-of-the-mark width: ignored. */
	outl(FLUSH, IOMEM);
	outb(FLUSH, 0x00);
	outw(FLUSH, 0x0000);
	expect("stack after drop", here, 0);
	serial_puts("testdev: page drop ok\n");
}

static u8 read_irr(u16 cmd_port)
{
	outb(cmd_port, OCW3_READ_IRR);
	return inb(cmd_port);
}

static void check_irq_lines(void)
{
	pic_init(0x20, 0x28, 0xff, 0xff); /* every line masked */
	/* Level mode: IRR follows the line both ways (edge mode only latches). */
	outb(ELCR1, 1 << MASTER_LINE);
	outb(ELCR2, 1 << (SLAVE_LINE - 8));
	expect("master IRR before", read_irr(PIC1_CMD) & (1 << MASTER_LINE), 0);
	outb(IRQ_PORT(MASTER_LINE), 1);
	expect("master IRR raised", read_irr(PIC1_CMD) & (1 << MASTER_LINE), 1 << MASTER_LINE);
	outb(IRQ_PORT(MASTER_LINE), 0);
	expect("master IRR lowered", read_irr(PIC1_CMD) & (1 << MASTER_LINE), 0);
	/* Any non-zero value raises the line. */
	outb(IRQ_PORT(MASTER_LINE), 0x80);
	expect("master IRR raised by 0x80", read_irr(PIC1_CMD) & (1 << MASTER_LINE),
	       1 << MASTER_LINE);
	outb(IRQ_PORT(MASTER_LINE), 0);
	expect("master IRR lowered again", read_irr(PIC1_CMD) & (1 << MASTER_LINE), 0);

	expect("slave IRR before", read_irr(PIC2_CMD) & (1 << (SLAVE_LINE - 8)), 0);
	outb(IRQ_PORT(SLAVE_LINE), 1);
	expect("slave IRR raised", read_irr(PIC2_CMD) & (1 << (SLAVE_LINE - 8)),
	       1 << (SLAVE_LINE - 8));
	outb(IRQ_PORT(SLAVE_LINE), 0);
	expect("slave IRR lowered", read_irr(PIC2_CMD) & (1 << (SLAVE_LINE - 8)), 0);
	outb(ELCR1, 0);
	outb(ELCR2, 0);
	serial_puts("testdev: irq lines ok\n");
}

/*
 * 8-byte accesses from 32-bit code without SSE: cmpxchg8b reads the qword
 * (one 8-byte access) and, when it equals edx:eax, writes ecx:ebx (another).
 * Either way edx:eax ends up holding what memory held.  (MMX movq would do,
 * but PVM's instruction emulator does not know it.)
 */
static u64 cmpxchg8b(u32 addr, u64 expected, u64 value)
{
	u32 lo = (u32)expected, hi = (u32)(expected >> 32);

	__asm__ volatile("cmpxchg8b (%2)"
			 : "+a"(lo), "+d"(hi)
			 : "S"(addr), "b"((u32)value), "c"((u32)(value >> 32))
			 : "memory", "cc");
	return lo | (u64)hi << 32;
}

static u64 mmio_read64(u32 addr)
{
	return cmpxchg8b(addr, 0, 0); /* a match writes back the same 0 */
}

static void mmio_write64(u32 addr, u64 value)
{
	cmpxchg8b(addr, mmio_read64(addr), value);
}

static void check_iomem(void)
{
	volatile u8 *b = (volatile u8 *)(uptr)IOMEM;
	volatile u16 *w;
	volatile u32 *d;
	u64 q = 0x8877665544332211ull, r;

	d = (volatile u32 *)(uptr)IOMEM;
	d[0] = 0x11223344;
	expect("iomem byte 0", b[0], 0x44);
	expect("iomem byte 3", b[3], 0x11);
	w = (volatile u16 *)(uptr)(IOMEM + 1);
	expect("iomem word at 1", *w, 0x2233);
	*w = 0xbeef;
	expect("iomem dword after word write", d[0], 0x11beef44);
	b[2] = 0x5a;
	expect("iomem dword after byte write", d[0], 0x115aef44);

	d = (volatile u32 *)(uptr)(IOMEM + 0x101);
	*d = 0xcafef00d;
	expect("iomem unaligned dword", *d, 0xcafef00d);
	expect("iomem byte 0x104", b[0x104], 0xca);

	mmio_write64(IOMEM + 0x1000, q);
	d = (volatile u32 *)(uptr)(IOMEM + 0x1000);
	expect("iomem qword low", d[0], 0x44332211);
	expect("iomem qword high", d[1], 0x88776655);
	d[1] = 0x01020304;
	r = mmio_read64(IOMEM + 0x1000);
	expect("iomem qword read low", (u32)r, 0x44332211);
	expect("iomem qword read high", (u32)(r >> 32), 0x01020304);

	/* The last bytes of the window. */
	w = (volatile u16 *)(uptr)(IOMEM + 0xfffe);
	*w = 0x1234;
	expect("iomem last word", *w, 0x1234);
	expect("iomem last byte", b[0xffff], 0x12);
	serial_puts("testdev: iomem ok\n");
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	serial_enable_fifo();
	serial_puts("testdev: start\n");
	check_latch();
	check_string_io();
	check_page_drop();
	check_irq_lines();
	check_iomem();
	serial_puts("testdev: all checks passed\n");
	debug_exit(0x54);
	halt_forever();
}
