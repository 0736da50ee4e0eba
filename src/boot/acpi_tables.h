/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables of the machine, built on a plain view of guest memory so
 * they can be unit tested without a VM: RSDP (revision 2) at 0xe0000, then
 * RSDT, XSDT, FACS, FADT (revision 3), DSDT and MADT, all below 0xf0000 (the
 * part of the BIOS area include/dvm/boot.h gives to ACPI).
 */
#ifndef DVM_BOOT_ACPI_TABLES_H
#define DVM_BOOT_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "dvm/boot.h"

#define DVM_ACPI_RSDP_ADDR 0xe0000ull /* first in the area; the tables follow */
#define DVM_ACPI_AREA_END 0xf0000ull
#define DVM_ACPI_FACS_ADDR 0xe00c0ull  /* fixed by the layout; the builder checks */
#define DVM_ACPI_FACS_WAKING_VECTOR 12 /* offset of the 32-bit firmware waking vector */
#define DVM_ACPI_LAPIC_ADDR 0xfee00000u
#define DVM_ACPI_IOAPIC_ADDR 0xfec00000u
#define DVM_ACPI_MAX_CPUS 255	 /* xAPIC IDs 0..254; 255 is the broadcast ID */
#define DVM_ACPI_RESET_PORT 0x64 /* the i8042's command port: 0xfe pulses reset */
#define DVM_ACPI_RESET_VALUE 0xfe

/* The OEM fields of every table. */
#define DVM_ACPI_OEM_ID "DVM   "	 /* 6 bytes */
#define DVM_ACPI_OEM_TABLE_ID "DVMMACH " /* 8 bytes */
#define DVM_ACPI_CREATOR_ID "DVM "	 /* 4 bytes */

struct dvm_acpi_tables_config {
	uint16_t pm_base;  /* PM1a_EVT_BLK; PM1a_CNT_BLK at +4, PM_TMR_BLK at +8; not 0 */
	uint16_t nr_cpus;  /* 1..255: APIC IDs and processor UIDs 0..nr_cpus-1 */
	uint8_t ioapic_id; /* the I/O APIC at 0xfec00000, GSI base 0 */
	uint8_t sci_irq;   /* ISA IRQ (= GSI) of the SCI: 1..15, not 2 */
};

/* Zeroes [0xe0000, 0xf0000) and writes the tables there.  0 or -errno
 * (-EINVAL for a bad config, -ENOSPC when guest RAM ends below 0xf0000);
 * on error `err` (may be NULL) gets a one-line reason. */
int dvm_acpi_build_tables(struct dvm_guest_mem *mem, const struct dvm_acpi_tables_config *cfg,
			  char *err, size_t errlen);

#endif
