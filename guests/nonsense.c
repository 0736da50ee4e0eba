// SPDX-License-Identifier: MIT
/*
 * The guest as adversary: writes pseudo-random values to every I/O port at
 * every width and reads each back, then scribbles over unclaimed MMIO and
 * pc-testdev's window, and checks the machine is still there.  Left out are
 * only the ports whose documented job is to end the machine (debug-exit,
 * the i8042's reset, ACPI's sleep control) and COM1 itself, which carries
 * the report; every other device gets nonsense.
 * Exit code 0x4e when it survived (status 157; not 137, which timeout(1) uses).
 */
#include "common/guest.h"

static u32 seed = 0x12345678u;

static u32 next(void)
{
	seed = seed * 1664525u + 1013904223u;
	return seed;
}

static int spared(u32 port)
{
	return (port >= 0xf4 && port <= 0xf7) ||   /* debug-exit */
	       port == 0x60 || port == 0x64 ||	   /* i8042: reset pulse */
	       (port >= 0x604 && port <= 0x607) || /* ACPI PM1_CNT: S3, S5 */
	       (port >= 0x3f8 && port <= 0x3ff);   /* COM1: the report */
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	u32 reads = 0;

	(void)magic;
	(void)info;
	serial_puts("nonsense: every port, every width\n");
	for (u32 port = 0; port < 0x10000; port++) {
		if (spared(port))
			continue;
		outb((u16)port, (u8)next());
		reads += inb((u16)port) != 0;
		if (port + 2 <= 0x10000 && !spared(port + 1)) {
			outw((u16)port, (u16)next());
			reads += inw((u16)port) != 0;
		}
		if (port + 4 <= 0x10000 && !spared(port + 1) && !spared(port + 2) &&
		    !spared(port + 3)) {
			outl((u16)port, next());
			reads += inl((u16)port) != 0;
		}
	}
	/* Unclaimed MMIO in the PCI hole, and pc-testdev's memory. */
	for (u32 a = 0xc0000000u; a < 0xc0010000u; a += 0x1000)
		mmio_write32(a, next());
	for (u32 a = 0xff000000u; a < 0xff010000u; a += 0x100)
		mmio_write32(a + (next() & 0xfc), next());
	/* Lower the lines pc-testdev may have left high. */
	for (u32 n = 0; n < 24; n++)
		outb((u16)(0x2000 + n), 0);
	serial_puts("nonsense: survived (");
	serial_put_uint(reads);
	serial_puts(" nonzero reads)\n");
	debug_exit(0x4e);
	halt_forever();
}
