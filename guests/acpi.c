// SPDX-License-Identifier: MIT
/*
 * Finds and checks the ACPI tables as an OS would, then powers off through
 * ACPI S5.  The RSDP is searched on 16-byte boundaries in 0xe0000-0xfffff;
 * both RSDP checksums, the RSDT and (revision 2+) the XSDT are checked, and
 * every table they list must have a good checksum.  From the FADT: the PM
 * blocks, the FACS and the DSDT; from the MADT: the enabled processors
 * (compared with "cpus=N" on the command line, default 1) and the I/O APIC
 * (compared with the I/O APIC's own ID register).  The PM timer must count,
 * within 24 bits.  Then SLP_TYP from \_S5 with SLP_EN goes to PM1a_CNT:
 * the VMM must power off (exit 0).  Any failed check: debug-exit 0x40;
 * still running after S5: debug-exit 0x41.
 */
#include "common/guest.h"

#define EXIT_CHECK_FAILED 0x40
#define EXIT_STILL_RUNNING 0x41

#define SLP_EN 0x2000
#define SLP_TYP_SHIFT 10
#define FADT_TMR_VAL_EXT (1u << 8)
#define IOAPIC_BASE 0xfec00000u

static const u8 *phys(u32 addr)
{
	return (const u8 *)(uptr)addr;
}

static u32 rd32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void put_hex(u32 v)
{
	serial_puts("0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		serial_putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

static void put_sig(const u8 *p)
{
	for (int i = 0; i < 4; i++)
		serial_putc((char)p[i]);
}

static void __attribute__((noreturn)) fail(const char *what)
{
	serial_puts("acpi: FAIL ");
	serial_puts(what);
	serial_putc('\n');
	debug_exit(EXIT_CHECK_FAILED);
	halt_forever();
}

/* A system description table: plausible length, good checksum. */
static const u8 *sdt(u32 addr, const char *sig)
{
	const u8 *t = phys(addr);
	u32 len;

	if (!addr || addr >= 0x40000000u)
		fail("table address out of range");
	len = rd32(t + 4);
	if (len < 36 || len > 0x100000)
		fail("table length");
	if (sig && !bytes_same(t, sig, 4))
		fail("table signature");
	if (bytes_sum(t, len))
		fail("table checksum");
	return t;
}

static const u8 *find_rsdp(void)
{
	for (u32 a = 0xe0000; a < 0x100000; a += 16) {
		const u8 *p = phys(a);
		if (bytes_same(p, "RSD PTR ", 8) && bytes_sum(p, 20) == 0)
			return p;
	}
	return 0;
}

/* \_S5's first element: Name (_S5, Package (n) {SLP_TYP, ...}). */
static int find_s5(const u8 *dsdt, u32 *slp_typ)
{
	u32 len = rd32(dsdt + 4);

	for (u32 i = 37; i + 8 < len; i++) {
		const u8 *p = dsdt + i;
		if (!bytes_same(p, "_S5_", 4))
			continue;
		if (p[-1] != 0x08 && !(p[-1] == '\\' && i >= 38 && p[-2] == 0x08))
			continue; /* not a NameOp */
		p += 4;
		if (*p++ != 0x12)
			continue;   /* not a PackageOp */
		p += 1 + (*p >> 6); /* PkgLength: lead byte and its follow bytes */
		p++;		    /* NumElements */
		if (p >= dsdt + len)
			return 0;
		switch (*p) {
		case 0x00: /* ZeroOp */
			*slp_typ = 0;
			return 1;
		case 0x01: /* OneOp */
			*slp_typ = 1;
			return 1;
		case 0x0a: /* BytePrefix */
			*slp_typ = p[1];
			return 1;
		}
		return 0;
	}
	return 0;
}

static u32 ioapic_id(void)
{
	mmio_write32(IOAPIC_BASE, 0); /* IOREGSEL: ID */
	return (mmio_read32(IOAPIC_BASE + 0x10) >> 24) & 0xf;
}

static void check_madt(const u8 *madt, u32 want_cpus)
{
	u32 len = rd32(madt + 4), cpus = 0, ioapics = 0, irq0_to_2 = 0;
	u32 bsp = lapic_read(LAPIC_ID) >> 24, bsp_listed = 0;

	if (rd32(madt + 36) != LAPIC_BASE)
		fail("MADT local APIC address");
	for (u32 off = 44; off + 2 <= len;) {
		const u8 *e = madt + off;
		if (e[1] < 2 || off + e[1] > len)
			fail("MADT entry length");
		if (e[0] == 0 && (rd32(e + 4) & 1)) {
			cpus++;
			if (e[3] == bsp)
				bsp_listed = 1;
		} else if (e[0] == 1) {
			if (rd32(e + 4) != IOAPIC_BASE || rd32(e + 8) != 0)
				fail("MADT I/O APIC address or GSI base");
			if (e[2] != ioapic_id())
				fail("MADT I/O APIC ID differs from the I/O APIC's");
			ioapics++;
		} else if (e[0] == 2 && e[2] == 0 && e[3] == 0 && rd32(e + 4) == 2) {
			irq0_to_2 = 1;
		}
		off += e[1];
	}
	serial_puts("acpi: madt cpus ");
	serial_put_uint(cpus);
	serial_putc('\n');
	if (cpus != want_cpus)
		fail("MADT CPU count differs from cpus=");
	if (!bsp_listed)
		fail("boot CPU's APIC ID not in the MADT");
	if (ioapics != 1 || !irq0_to_2)
		fail("MADT I/O APIC or IRQ0 override");
	serial_puts("acpi: madt cpus ok\n");
	serial_puts("acpi: madt ioapic ok\n");
}

/* The timer counts, within 24 bits (or 32 with TMR_VAL_EXT), never by much. */
static void check_pm_timer(u16 port, u32 fadt_flags)
{
	u32 mask = (fadt_flags & FADT_TMR_VAL_EXT) ? 0xffffffffu : 0xffffffu;
	u32 prev = inl(port), total = 0;

	for (int i = 0; i < 8; i++) {
		u32 now = inl(port), d;
		if (now & ~mask)
			fail("PM timer has bits above its width");
		d = (now - prev) & mask;
		if (d >= 0x800000)
			fail("PM timer went backwards or jumped");
		total += d;
		prev = now;
	}
	if (!total)
		fail("PM timer does not count");
	serial_puts("acpi: pm timer ok\n");
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	const char *cmdline = "";
	const u8 *rsdp, *rsdt, *fadt = 0, *madt = 0, *dsdt, *facs;
	u32 want_cpus = 1, n, slp_typ;
	u16 pm1a_cnt, pm_tmr;

	serial_enable_fifo();
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (info->flags & MB_INFO_CMDLINE) && info->cmdline)
		cmdline = (const char *)(uptr)info->cmdline;
	cmdline_find_uint(cmdline, "cpus=", &want_cpus);

	rsdp = find_rsdp();
	if (!rsdp)
		fail("no RSDP in 0xe0000-0xfffff");
	serial_puts("acpi: rsdp at ");
	put_hex((u32)(uptr)rsdp);
	serial_putc('\n');

	rsdt = sdt(rd32(rsdp + 16), "RSDT");
	n = (rd32(rsdt + 4) - 36) / 4;
	for (u32 i = 0; i < n; i++) {
		const u8 *t = sdt(rd32(rsdt + 36 + 4 * i), 0);
		serial_puts("acpi: table ");
		put_sig(t);
		serial_puts(" ok\n");
		if (bytes_same(t, "FACP", 4))
			fadt = t;
		else if (bytes_same(t, "APIC", 4))
			madt = t;
	}
	serial_puts("acpi: rsdt ok\n");

	if (rsdp[15] >= 2) {
		const u8 *xsdt;
		u32 xn;
		if (bytes_sum(rsdp, rd32(rsdp + 20)) || rd32(rsdp + 20) < 36)
			fail("RSDP extended checksum");
		serial_puts("acpi: rsdp ok\n");
		if (rd32(rsdp + 28))
			fail("XSDT above 4 GiB");
		xsdt = sdt(rd32(rsdp + 24), "XSDT");
		xn = (rd32(xsdt + 4) - 36) / 8;
		if (xn != n)
			fail("XSDT and RSDT list different tables");
		for (u32 i = 0; i < xn; i++) {
			if (rd32(xsdt + 40 + 8 * i) ||
			    rd32(xsdt + 36 + 8 * i) != rd32(rsdt + 36 + 4 * i))
				fail("XSDT and RSDT list different tables");
			sdt(rd32(xsdt + 36 + 8 * i), 0);
		}
		serial_puts("acpi: xsdt ok\n");
	} else {
		serial_puts("acpi: rsdp revision 0, no xsdt\n");
	}
	if (!fadt || !madt)
		fail("no FACP or no APIC table");

	if (rd32(fadt + 4) < 116)
		fail("FADT too short");
	facs = phys(rd32(fadt + 36));
	if (!bytes_same(facs, "FACS", 4) || rd32(facs + 4) < 64 || ((uptr)facs & 63))
		fail("FACS");
	serial_puts("acpi: facs ok\n");
	dsdt = sdt(rd32(fadt + 40), "DSDT");
	if (!find_s5(dsdt, &slp_typ))
		fail("no \\_S5 in the DSDT");
	serial_puts("acpi: dsdt ok, _S5 slp_typ ");
	serial_put_uint(slp_typ);
	serial_putc('\n');

	check_madt(madt, want_cpus);

	pm1a_cnt = (u16)rd32(fadt + 64);
	pm_tmr = (u16)rd32(fadt + 76);
	if (!pm1a_cnt || !pm_tmr || fadt[89] < 2 || fadt[91] != 4)
		fail("FADT PM1a_CNT or PM_TMR block");
	if (!(inw(pm1a_cnt) & 1))
		fail("SCI_EN clear: not in ACPI mode");
	check_pm_timer(pm_tmr, rd32(fadt + 112));

	serial_puts("acpi: powering off via S5\n");
	outw(pm1a_cnt, (u16)((inw(pm1a_cnt) & ~(7u << SLP_TYP_SHIFT)) |
			     (slp_typ & 7) << SLP_TYP_SHIFT | SLP_EN));
	/* A VMM that ignored it lets us run on. */
	for (int i = 0; i < 4; i++)
		inl(pm_tmr);
	serial_puts("acpi: FAIL still running after S5\n");
	debug_exit(EXIT_STILL_RUNNING);
	halt_forever();
}
