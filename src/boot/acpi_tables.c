// SPDX-License-Identifier: MIT
/*
 * The machine's ACPI tables, written from the ACPI specification's table
 * layouts (ACPI 2.0 revisions: RSDP 2, FADT 3, MADT 1, as most VMMs use):
 *
 *   RSDP -> RSDT (32-bit) and XSDT (64-bit), each listing FADT then MADT;
 *   FADT -> FACS and DSDT (both in the 32- and 64-bit fields, same values),
 *           the PM blocks of the acpi device and the i8042 reset register;
 *   DSDT:   just \_S3 and \_S5 packages, hand-encoded AML;
 *   MADT:   one local APIC per CPU, one I/O APIC, IRQ0->GSI2 and the SCI
 *           (level, active high) as overrides, LINT1 NMI on all CPUs.
 *
 * Only what dvm really has is described: no GPE blocks, no PM2 block, no C2/C3
 * states, power and sleep buttons not fixed features (there are none).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "boot/acpi_tables.h"
#include "core/bytes.h"
#include "dvm/devices/acpi_pm.h"

#define SDT_HEADER_LEN 36
#define RSDP_LEN 36
#define RSDP_V1_LEN 20
#define FADT_LEN 244 /* revision 3 */
#define FACS_LEN 64
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_LAPIC_NMI_LEN 6

/* FADT flags (ACPI 6.4 table 5.10). */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP (1u << 10)
/* IAPC_BOOT_ARCH. */
#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_8042 (1u << 1)

/* Generic Address Structure: address space IDs. */
#define GAS_SYSTEM_IO 1

/* MADT. */
#define MADT_PCAT_COMPAT 1u
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_TYPE_ISO 2
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_LAPIC_ENABLED 1u
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL 0xc
#define ALL_PROCESSORS 0xff

/*
 * The DSDT's AML: Name (_S3, Package () {1, 1, 0, 0}) then
 * Name (_S5, Package () {0, 0, 0, 0}), QEMU's sleep types.  For each:
 *   0x08            NameOp
 *   '_' 'S' '5' '_' NameSeg (a 3-character name is padded with '_')
 *   0x12            PackageOp
 *   0x06            PkgLength, one byte form (bits 7-6 = 0): the 6 bytes from
 *                   here to the package's end (itself, NumElements, 4 elements)
 *   0x04            NumElements
 *   4 elements      PM1a_SLP_TYP, PM1b_SLP_TYP, reserved, reserved:
 *                   ZeroOp (0x00) or OneOp (0x01)
 */
static const uint8_t dsdt_aml[] = {
    0x08,
    '_',
    'S',
    '3',
    '_',
    0x12,
    0x06,
    0x04,
    DVM_ACPI_S3_SLP_TYP,
    DVM_ACPI_S3_SLP_TYP,
    0x00,
    0x00,
    0x08,
    '_',
    'S',
    '5',
    '_',
    0x12,
    0x06,
    0x04,
    DVM_ACPI_S5_SLP_TYP,
    0x00,
    0x00,
    0x00,
};
_Static_assert(DVM_ACPI_S5_SLP_TYP == 0, "ZeroOp encodes only 0; use BytePrefix otherwise");
_Static_assert(DVM_ACPI_S3_SLP_TYP == 1, "OneOp encodes only 1; use BytePrefix otherwise");

static void put8(uint8_t *p, uint8_t v)
{
	p[0] = v;
}

static void sdt_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	put8(t + 8, rev);
	/* t[9] checksum: last */
	memcpy(t + 10, DVM_ACPI_OEM_ID, 6);
	memcpy(t + 16, DVM_ACPI_OEM_TABLE_ID, 8);
	put32(t + 24, 1); /* OEM revision */
	memcpy(t + 28, DVM_ACPI_CREATOR_ID, 4);
	put32(t + 32, 1); /* creator revision */
}

static void sdt_checksum(uint8_t *t)
{
	uint32_t len =
	    (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = 0;
	t[9] = checksum8(t, len);
}

/* A Generic Address Structure for an I/O port block.  Access size 0: ACPI
 * 2.0 (FADT revision 3) has it reserved; the bit width says the size. */
static void gas_io(uint8_t *p, uint8_t bit_width, uint16_t port)
{
	put8(p, GAS_SYSTEM_IO);
	put8(p + 1, bit_width);
	put8(p + 2, 0); /* bit offset */
	put8(p + 3, 0); /* access size */
	put64(p + 4, port);
}

static uint32_t madt_len(unsigned nr_cpus)
{
	return SDT_HEADER_LEN + 8 + nr_cpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN +
	       MADT_LAPIC_NMI_LEN;
}

static void madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	put8(e, MADT_TYPE_ISO);
	put8(e + 1, MADT_ISO_LEN);
	put8(e + 2, 0); /* bus: ISA */
	put8(e + 3, irq);
	put32(e + 4, gsi);
	put16(e + 8, flags);
}

static void build_madt(uint8_t *t, const struct dvm_acpi_tables_config *cfg)
{
	uint32_t len = madt_len(cfg->nr_cpus);
	uint8_t *e = t + SDT_HEADER_LEN + 8;

	sdt_header(t, "APIC", len, 1);
	put32(t + 36, DVM_ACPI_LAPIC_ADDR);
	put32(t + 40, MADT_PCAT_COMPAT); /* there are 8259s too */
	for (unsigned i = 0; i < cfg->nr_cpus; i++, e += MADT_LAPIC_LEN) {
		put8(e, MADT_TYPE_LAPIC);
		put8(e + 1, MADT_LAPIC_LEN);
		put8(e + 2, (uint8_t)i); /* ACPI processor UID */
		put8(e + 3, (uint8_t)i); /* APIC ID: the vCPU index, as KVM_CREATE_VCPU got it */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	put8(e, MADT_TYPE_IOAPIC);
	put8(e + 1, MADT_IOAPIC_LEN);
	put8(e + 2, cfg->ioapic_id);
	put8(e + 3, 0);
	put32(e + 4, DVM_ACPI_IOAPIC_ADDR);
	put32(e + 8, 0); /* GSI base */
	e += MADT_IOAPIC_LEN;
	/* The PIT's IRQ0 is on pin 2 (pin 0 is the 8259's ExtINT); flags conform to ISA. */
	madt_iso(e, 0, 2, 0);
	e += MADT_ISO_LEN;
	/* The SCI is level-triggered, active high, on its own pin. */
	madt_iso(e, cfg->sci_irq, cfg->sci_irq, MPS_ACTIVE_HIGH | MPS_LEVEL);
	e += MADT_ISO_LEN;
	put8(e, MADT_TYPE_LAPIC_NMI);
	put8(e + 1, MADT_LAPIC_NMI_LEN);
	put8(e + 2, ALL_PROCESSORS);
	put16(e + 3, 0); /* flags: conform */
	put8(e + 5, 1);	 /* LINT1 */
	sdt_checksum(t);
}

static void build_fadt(uint8_t *t, const struct dvm_acpi_tables_config *cfg, uint32_t facs,
		       uint32_t dsdt)
{
	uint16_t evt = cfg->pm_base + DVM_ACPI_PM1_STS, cnt = cfg->pm_base + DVM_ACPI_PM1_CNT;
	uint16_t tmr = cfg->pm_base + DVM_ACPI_PM_TMR;

	sdt_header(t, "FACP", FADT_LEN, 3);
	put32(t + 36, facs);
	put32(t + 40, dsdt);
	put8(t + 45, 0); /* preferred PM profile: unspecified */
	put16(t + 46, cfg->sci_irq);
	put32(t + 48, 0); /* SMI_CMD 0: ACPI is always enabled (SCI_EN reads 1) */
	put32(t + 56, evt);
	put32(t + 64, cnt);
	put32(t + 76, tmr);
	put8(t + 88, 4); /* PM1_EVT_LEN */
	put8(t + 89, 2); /* PM1_CNT_LEN */
	put8(t + 91, 4); /* PM_TMR_LEN */
	/* No C2 (> 100 us) nor C3 (> 1000 us). */
	put16(t + 96, 0x0fff);
	put16(t + 98, 0x0fff);
	put8(t + 108, 0x32); /* CENTURY: the cmos-rtc's century register */
	put16(t + 109, BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042);
	/* WBINVD and HLT (C1) work; no fixed buttons; 24-bit timer (no TMR_VAL_EXT). */
	put32(t + 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
			   FADT_F_RESET_REG_SUP);
	gas_io(t + 116, 8, DVM_ACPI_RESET_PORT);
	put8(t + 128, DVM_ACPI_RESET_VALUE);
	put64(t + 132, facs);
	put64(t + 140, dsdt);
	gas_io(t + 148, 32, evt);
	gas_io(t + 172, 16, cnt);
	gas_io(t + 208, 32, tmr);
	sdt_checksum(t);
}

static void build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put32(t + 4, FACS_LEN);
	put8(t + 32, 1); /* version (ACPI 2.0); no checksum in the FACS */
}

static void build_dsdt(uint8_t *t)
{
	sdt_header(t, "DSDT", SDT_HEADER_LEN + sizeof(dsdt_aml), 2); /* 2: 64-bit integers */
	memcpy(t + SDT_HEADER_LEN, dsdt_aml, sizeof(dsdt_aml));
	sdt_checksum(t);
}

static void build_rsdp(uint8_t *t, uint32_t rsdt, uint64_t xsdt)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, DVM_ACPI_OEM_ID, 6);
	put8(t + 15, 2); /* revision: ACPI 2.0+, XSDT present */
	put32(t + 16, rsdt);
	put32(t + 20, RSDP_LEN);
	put64(t + 24, xsdt);
	t[8] = checksum8(t, RSDP_V1_LEN);
	t[32] = checksum8(t, RSDP_LEN);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int dvm_acpi_build_tables(struct dvm_guest_mem *mem, const struct dvm_acpi_tables_config *cfg,
			  char *err, size_t errlen)
{
	uint64_t rsdp = DVM_ACPI_RSDP_ADDR, rsdt, xsdt, facs, fadt, dsdt, madt, end;
	uint8_t *m;

	if (!err)
		errlen = 0;
	if (!mem || !cfg || !mem->host) {
		snprintf(err, errlen, "no guest memory");
		return -EINVAL;
	}
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > DVM_ACPI_MAX_CPUS) {
		snprintf(err, errlen, "%u CPUs: the MADT describes 1 to %d", cfg->nr_cpus,
			 DVM_ACPI_MAX_CPUS);
		return -EINVAL;
	}
	if (cfg->pm_base == 0 || cfg->pm_base > 0x10000 - DVM_ACPI_PM_LEN) {
		snprintf(err, errlen, "PM base %#x: not 0, and the block must end below 0x10000",
			 cfg->pm_base);
		return -EINVAL;
	}
	if (cfg->sci_irq < 1 || cfg->sci_irq > 15 || cfg->sci_irq == 2) {
		snprintf(err, errlen, "SCI IRQ %u: an ISA IRQ 1-15 other than 2", cfg->sci_irq);
		return -EINVAL;
	}
	if (cfg->ioapic_id > 15) {
		snprintf(err, errlen, "I/O APIC ID %u: at most 15", cfg->ioapic_id);
		return -EINVAL;
	}
	if (mem->size < DVM_ACPI_AREA_END) {
		snprintf(err, errlen, "guest RAM ends below %#llx, where the ACPI tables go",
			 (unsigned long long)DVM_ACPI_AREA_END);
		return -ENOSPC;
	}

	rsdt = align_up(rsdp + RSDP_LEN, 16);
	xsdt = align_up(rsdt + SDT_HEADER_LEN + 2 * 4, 16);
	facs = align_up(xsdt + SDT_HEADER_LEN + 2 * 8, 64); /* the FACS must be 64-byte aligned */
	fadt = align_up(facs + FACS_LEN, 16);
	dsdt = align_up(fadt + FADT_LEN, 16);
	madt = align_up(dsdt + SDT_HEADER_LEN + sizeof(dsdt_aml), 16);
	end = madt + madt_len(cfg->nr_cpus);
	if (facs != DVM_ACPI_FACS_ADDR) { /* the acpi device finds the waking vector there */
		snprintf(err, errlen, "FACS at %#llx, not at DVM_ACPI_FACS_ADDR",
			 (unsigned long long)facs);
		return -E2BIG;
	}
	if (end > DVM_ACPI_AREA_END) { /* 255 CPUs take about 3 KiB: only a layout bug */
		snprintf(err, errlen, "ACPI tables do not fit below %#llx",
			 (unsigned long long)DVM_ACPI_AREA_END);
		return -E2BIG;
	}

	m = mem->host;
	memset(m + DVM_ACPI_RSDP_ADDR, 0, DVM_ACPI_AREA_END - DVM_ACPI_RSDP_ADDR);
	build_facs(m + facs);
	build_dsdt(m + dsdt);
	build_fadt(m + fadt, cfg, (uint32_t)facs, (uint32_t)dsdt);
	build_madt(m + madt, cfg);

	sdt_header(m + rsdt, "RSDT", SDT_HEADER_LEN + 2 * 4, 1);
	put32(m + rsdt + SDT_HEADER_LEN, (uint32_t)fadt);
	put32(m + rsdt + SDT_HEADER_LEN + 4, (uint32_t)madt);
	sdt_checksum(m + rsdt);

	sdt_header(m + xsdt, "XSDT", SDT_HEADER_LEN + 2 * 8, 1);
	put64(m + xsdt + SDT_HEADER_LEN, fadt);
	put64(m + xsdt + SDT_HEADER_LEN + 8, madt);
	sdt_checksum(m + xsdt);

	build_rsdp(m + rsdp, (uint32_t)rsdt, xsdt);
	return 0;
}
