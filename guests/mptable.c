// SPDX-License-Identifier: MIT
/*
 * Finds and checks the Intel MultiProcessor Specification table as an OS
 * would: the "_MP_" floating pointer on a 16-byte boundary in the BIOS ROM
 * area 0xf0000-0xfffff, both checksums, then the entries: enabled
 * processors (compared with "cpus=N" on the command line, default 1), the
 * BSP flag on exactly one of them, the boot CPU's own APIC ID, one I/O APIC
 * at 0xfec00000 and ISA IRQ0 routed to its pin 2.  Success: debug-exit
 * 0x2a; a failed check: 0x40.
 */
#include "common/guest.h"

#define EXIT_OK 0x2a
#define EXIT_CHECK_FAILED 0x40

static const u8 *phys(u32 addr)
{
	return (const u8 *)(uptr)addr;
}

static u16 rd16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static u32 rd32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void __attribute__((noreturn)) fail(const char *what)
{
	serial_puts("mptable: FAIL ");
	serial_puts(what);
	serial_putc('\n');
	debug_exit(EXIT_CHECK_FAILED);
	halt_forever();
}

static const u8 *find_floating(void)
{
	for (u32 a = 0xf0000; a < 0x100000; a += 16) {
		const u8 *p = phys(a);
		if (bytes_same(p, "_MP_", 4) && p[8] >= 1 && bytes_sum(p, 16u * p[8]) == 0)
			return p;
	}
	return 0;
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	const char *cmdline = "";
	const u8 *fp, *t;
	u32 want_cpus = 1, cpus = 0, bsps = 0, ioapics = 0, irq0_pin = 0xff, ioapic_id = 0x100;
	u32 bsp_id = lapic_read(LAPIC_ID) >> 24, bsp_entry_id = 0x100;
	u32 len, count, off;

	serial_enable_fifo();
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (info->flags & MB_INFO_CMDLINE) && info->cmdline)
		cmdline = (const char *)(uptr)info->cmdline;
	cmdline_find_uint(cmdline, "cpus=", &want_cpus);

	fp = find_floating();
	if (!fp)
		fail("no _MP_ floating pointer in 0xf0000-0xfffff");
	if (!rd32(fp + 4) || fp[11])
		fail("no configuration table (default configurations are not handled)");
	serial_puts("mptable: floating pointer ok\n");

	t = phys(rd32(fp + 4));
	len = rd16(t + 4);
	if (!bytes_same(t, "PCMP", 4) || len < 44 || len > 0x10000 || bytes_sum(t, len))
		fail("configuration table signature, length or checksum");
	if (rd32(t + 36) != LAPIC_BASE)
		fail("local APIC address");
	serial_puts("mptable: config table ok\n");

	count = rd16(t + 34);
	off = 44;
	for (u32 i = 0; i < count; i++) {
		const u8 *e = t + off;
		u32 elen = e[0] == 0 ? 20 : 8;
		if (e[0] > 4 || off + elen > len)
			fail("entry type or length");
		switch (e[0]) {
		case 0: /* processor */
			if (e[3] & 1)
				cpus++;
			if (e[3] & 2) {
				bsps++;
				bsp_entry_id = e[1];
			}
			break;
		case 2: /* I/O APIC */
			if (rd32(e + 4) != 0xfec00000u || !(e[3] & 1))
				fail("I/O APIC address or enable");
			ioapic_id = e[1];
			ioapics++;
			break;
		case 3: /* I/O interrupt assignment */
			if (e[1] == 0 && e[5] == 0 && e[6] == ioapic_id)
				irq0_pin = e[7];
			break;
		}
		off += elen;
	}
	serial_puts("mptable: cpus ");
	serial_put_uint(cpus);
	serial_putc('\n');
	if (cpus != want_cpus)
		fail("processor count differs from cpus=");
	if (bsps != 1 || bsp_entry_id != bsp_id)
		fail("BSP flag not on exactly the boot CPU");
	serial_puts("mptable: bsp ok\n");
	if (ioapics != 1)
		fail("not one I/O APIC");
	serial_puts("mptable: ioapic ok\n");
	if (irq0_pin != 2)
		fail("ISA IRQ0 not routed to I/O APIC pin 2");
	serial_puts("mptable: irq0 -> pin 2 ok\n");
	debug_exit(EXIT_OK);
	halt_forever();
}
