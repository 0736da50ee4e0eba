// SPDX-License-Identifier: MIT
/*
 * Prints a few CPUID feature bits as the guest sees them, so tests can check
 * that `dvm run --cpu` edits reach the guest.  Exit code 0x31.
 */
#include "common/guest.h"

static void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static void show(const char *name, u32 reg, unsigned bit)
{
	serial_puts("cpuid: ");
	serial_puts(name);
	serial_puts(reg >> bit & 1 ? "=1\n" : "=0\n");
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	u32 a, b, c, d;

	(void)magic;
	(void)info;
	cpuid(1, 0, &a, &b, &c, &d);
	show("x2apic", c, 21);
	show("tsc-deadline", c, 24);
	show("hypervisor", c, 31);
	show("sse2", d, 26);
	debug_exit(0x31);
	halt_forever();
}
