// SPDX-License-Identifier: MIT
/*
 * Walks PCI bus 0 through configuration mechanism #1 (0xcf8/0xcfc): every
 * device, and functions 1-7 of multi-function ones, printing what it finds.
 * Then checks the host bridge at 00:00.0 (Q35 MCH: 8086:29c0, class 060000),
 * that absent slots read all-ones, that config cycles with the enable bit
 * clear read all-ones, that the command register is writable and the vendor
 * ID is not, that byte and word reads at every offset of the header agree
 * with dword reads, and that only dword writes latch CONFIG_ADDRESS.
 * Ends with debug-exit code 0x50 when all hold, 1 after "pci: FAIL ...".
 * Port 0xcf9 is never touched (on Q35 it is the reset control register).
 */
#include "common/guest.h"

/* 16- and 32-bit port I/O (guest.h has the 8-bit ones). */
#define CONFIG_ADDRESS 0xcf8
#define CONFIG_DATA 0xcfc
#define ENABLE 0x80000000u

#define PCI_VENDOR_ID 0x00
#define PCI_COMMAND 0x04
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_SUBSYSTEM 0x2c
#define COMMAND_MEMORY 0x0002
#define COMMAND_MASTER 0x0004

static u32 cfg_addr(u32 dev, u32 fn, u32 reg)
{
	return ENABLE | dev << 11 | fn << 8 | (reg & 0xfc);
}

static u32 cfg_read32(u32 dev, u32 fn, u32 reg)
{
	outl(CONFIG_ADDRESS, cfg_addr(dev, fn, reg));
	return inl(CONFIG_DATA);
}

static u16 cfg_read16(u32 dev, u32 fn, u32 reg)
{
	outl(CONFIG_ADDRESS, cfg_addr(dev, fn, reg));
	return inw(CONFIG_DATA + (reg & 3));
}

static u8 cfg_read8(u32 dev, u32 fn, u32 reg)
{
	outl(CONFIG_ADDRESS, cfg_addr(dev, fn, reg));
	return inb(CONFIG_DATA + (reg & 3));
}

static void cfg_write32(u32 dev, u32 fn, u32 reg, u32 v)
{
	outl(CONFIG_ADDRESS, cfg_addr(dev, fn, reg));
	outl(CONFIG_DATA, v);
}

static void cfg_write16(u32 dev, u32 fn, u32 reg, u16 v)
{
	outl(CONFIG_ADDRESS, cfg_addr(dev, fn, reg));
	outw(CONFIG_DATA + (reg & 3), v);
}

static void fail(const char *what, u32 got)
{
	serial_puts("pci: FAIL ");
	serial_puts(what);
	serial_puts(" (got 0x");
	serial_put_hex(got, 8);
	serial_puts(")\n");
	debug_exit(1);
	halt_forever();
}

static u32 functions, absent_slots;

static void print_function(u32 dev, u32 fn, u32 id)
{
	serial_puts("pci: 00:");
	serial_put_hex(dev, 2);
	serial_putc('.');
	serial_put_hex(fn, 1);
	serial_putc(' ');
	serial_put_hex(id & 0xffff, 4);
	serial_putc(':');
	serial_put_hex(id >> 16, 4);
	serial_puts(" class ");
	serial_put_hex(cfg_read32(dev, fn, PCI_CLASS_REVISION) >> 8, 6);
	serial_putc('\n');
	functions++;
}

static void walk_bus0(void)
{
	for (u32 dev = 0; dev < 32; dev++) {
		u32 id = cfg_read32(dev, 0, PCI_VENDOR_ID);

		if ((id & 0xffff) == 0xffff) {
			/* Nobody answers: every register floats high. */
			if (id != 0xffffffffu)
				fail("absent slot's ID dword", id);
			if (cfg_read32(dev, 0, PCI_CLASS_REVISION) != 0xffffffffu)
				fail("absent slot's class dword", dev);
			absent_slots++;
			continue;
		}
		print_function(dev, 0, id);
		if (!(cfg_read8(dev, 0, PCI_HEADER_TYPE) & 0x80))
			continue;
		for (u32 fn = 1; fn < 8; fn++) {
			id = cfg_read32(dev, fn, PCI_VENDOR_ID);
			if ((id & 0xffff) != 0xffff)
				print_function(dev, fn, id);
		}
	}
	serial_puts("pci: bus 0: ");
	serial_put_uint(functions);
	serial_puts(" functions, ");
	serial_put_uint(absent_slots);
	serial_puts(" empty slots\n");
	if (!absent_slots)
		fail("no empty slot on bus 0", functions);
}

static void check_host_bridge(void)
{
	u32 v;

	serial_puts("pci: 00:00.0 header:");
	for (u32 reg = 0; reg < 0x40; reg += 4) {
		serial_putc(' ');
		serial_put_hex(cfg_read32(0, 0, reg), 8);
	}
	serial_putc('\n');
	if ((v = cfg_read32(0, 0, PCI_VENDOR_ID)) != 0x29c08086u)
		fail("00:00.0 vendor/device", v);
	if ((v = cfg_read32(0, 0, PCI_CLASS_REVISION) >> 8) != 0x060000)
		fail("00:00.0 class", v);
	if ((v = cfg_read8(0, 0, PCI_HEADER_TYPE)) & 0x7f)
		fail("00:00.0 header type", v);
	if ((v = cfg_read32(0, 0, PCI_SUBSYSTEM)) != 0x11001af4u)
		fail("00:00.0 subsystem", v);
	serial_puts("pci: host bridge 8086:29c0 class 060000 ok\n");
}

static void check_writes(void)
{
	u16 cmd = cfg_read16(0, 0, PCI_COMMAND), want = cmd ^ (COMMAND_MEMORY | COMMAND_MASTER);
	u32 v;

	cfg_write16(0, 0, PCI_COMMAND, want);
	if ((v = cfg_read16(0, 0, PCI_COMMAND)) != want)
		fail("command register write", v);
	cfg_write16(0, 0, PCI_COMMAND, cmd);
	if ((v = cfg_read16(0, 0, PCI_COMMAND)) != cmd)
		fail("command register restore", v);

	cfg_write16(0, 0, PCI_VENDOR_ID, 0x1234);
	if ((v = cfg_read16(0, 0, PCI_VENDOR_ID)) != 0x8086)
		fail("vendor ID is read-only (word)", v);
	cfg_write32(0, 0, PCI_VENDOR_ID, 0);
	if ((v = cfg_read32(0, 0, PCI_VENDOR_ID)) != 0x29c08086u)
		fail("vendor ID is read-only (dword)", v);
	serial_puts("pci: command writable, vendor ID read-only\n");
}

static void check_widths(void)
{
	for (u32 reg = 0; reg < 0x40; reg++) {
		u32 d = cfg_read32(0, 0, reg & ~3u), shift = 8 * (reg & 3), v;

		if ((v = cfg_read8(0, 0, reg)) != ((d >> shift) & 0xff))
			fail("byte read disagrees with dword", reg << 16 | v);
		/* Words at 0xcfc, 0xcfd and 0xcfe stay inside CONFIG_DATA. */
		if ((reg & 3) != 3 && (v = cfg_read16(0, 0, reg)) != ((d >> shift) & 0xffff))
			fail("word read disagrees with dword", reg << 16 | v);
	}
	serial_puts("pci: byte and word reads agree with dwords\n");
}

static void check_latch(void)
{
	u32 v;

	outl(CONFIG_ADDRESS, ENABLE | 0x08);
	if ((v = inl(CONFIG_ADDRESS)) != (ENABLE | 0x08))
		fail("CONFIG_ADDRESS read back", v);
	/* A byte or word write to 0xcf8 is ordinary I/O, not a latch write. */
	outb(CONFIG_ADDRESS, 0x00);
	outw(CONFIG_ADDRESS, 0x0000);
	if ((v = inl(CONFIG_ADDRESS)) != (ENABLE | 0x08))
		fail("byte/word write changed CONFIG_ADDRESS", v);
	/* Enable bit clear: no config cycle, the data port floats high. */
	outl(CONFIG_ADDRESS, 0x00000000);
	if ((v = inl(CONFIG_DATA)) != 0xffffffffu)
		fail("config read with the enable bit clear", v);
	serial_puts("pci: CONFIG_ADDRESS latch ok\n");
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	serial_enable_fifo();
	serial_puts("pci: walking bus 0\n");
	walk_bus0();
	check_host_bridge();
	check_writes();
	check_widths();
	check_latch();
	serial_puts("pci: all checks passed\n");
	debug_exit(0x50);
	halt_forever();
}
