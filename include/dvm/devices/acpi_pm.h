/* SPDX-License-Identifier: MIT */
/*
 * acpi: the ACPI power-management registers in ICH9's layout (PM1 event and
 * control blocks, PM timer) and, at start, the ACPI tables in guest memory.
 * Public attribute numbers, register layout and state.  One per VM.
 */
#ifndef DVM_DEVICES_ACPI_PM_H
#define DVM_DEVICES_ACPI_PM_H

#include <stdint.h>

#define DVM_ACPI_PM_GRP_CONFIG 0
#define DVM_ACPI_PM_CONFIG_PM_BASE 0   /* u16 I/O base of the PM registers; default 0x600 */
#define DVM_ACPI_PM_CONFIG_CPUS 1      /* u16 CPUs the MADT lists, 1..255; default 1 */
#define DVM_ACPI_PM_CONFIG_IOAPIC_ID 2 /* u8 the MADT's I/O APIC ID, 0..15; default 0 */
#define DVM_ACPI_PM_CONFIG_SCI_IRQ 3   /* u8 ISA IRQ = GSI of the SCI, 1..15 but 2; default 9 */
#define DVM_ACPI_PM_CONFIG_TABLES 4    /* bool: write the ACPI tables at start; default 1 */

#define DVM_ACPI_PM_GRP_STATE 1
#define DVM_ACPI_PM_STATE_REGS 0 /* struct dvm_acpi_pm_regs */

#define DVM_ACPI_PM_DEFAULT_BASE 0x600
#define DVM_ACPI_PM_DEFAULT_SCI_IRQ 9

/* Offsets from pm-base (ICH9: PM1a_EVT_BLK, PM1a_CNT_BLK, PM_TMR_BLK). */
#define DVM_ACPI_PM1_STS 0x0 /* 16-bit, write 1 to clear */
#define DVM_ACPI_PM1_EN 0x2  /* 16-bit */
#define DVM_ACPI_PM1_CNT 0x4 /* 16-bit (ICH9: 32-bit, upper half reserved, reads 0) */
#define DVM_ACPI_PM_TMR 0x8  /* 32-bit, read-only; 24 bits count */
#define DVM_ACPI_PM_LEN 0xc  /* ports claimed */

/* PM1_STS bits kept (all write-1-to-clear); nothing in dvm sets them today. */
#define DVM_ACPI_PM1_STS_TMR 0x0001
#define DVM_ACPI_PM1_STS_BM 0x0010
#define DVM_ACPI_PM1_STS_GBL 0x0020
#define DVM_ACPI_PM1_STS_PWRBTN 0x0100
#define DVM_ACPI_PM1_STS_RTC 0x0400
#define DVM_ACPI_PM1_STS_PCIEXPWAK 0x4000
#define DVM_ACPI_PM1_STS_WAK 0x8000
#define DVM_ACPI_PM1_STS_MASK 0xc531

/* PM1_EN bits kept. */
#define DVM_ACPI_PM1_EN_TMR 0x0001
#define DVM_ACPI_PM1_EN_GBL 0x0020
#define DVM_ACPI_PM1_EN_PWRBTN 0x0100
#define DVM_ACPI_PM1_EN_RTC 0x0400
#define DVM_ACPI_PM1_EN_PCIEXP_WAKE_DIS 0x4000
#define DVM_ACPI_PM1_EN_MASK 0x4521

/* PM1_CNT. */
#define DVM_ACPI_PM1_CNT_SCI_EN 0x0001
#define DVM_ACPI_PM1_CNT_BM_RLD 0x0002
#define DVM_ACPI_PM1_CNT_GBL_RLS 0x0004 /* write-only, reads 0; ignored (no SMM) */
#define DVM_ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define DVM_ACPI_PM1_CNT_SLP_TYP 0x1c00
#define DVM_ACPI_PM1_CNT_SLP_EN 0x2000 /* write-only, reads 0 */
#define DVM_ACPI_PM1_CNT_MASK 0x1c03   /* the bits kept */

/* The SLP_TYP the DSDT's \_S5 gives (as QEMU's: Package {0, 0, 0, 0}). */
#define DVM_ACPI_S5_SLP_TYP 0
/* \_S3 (suspend to RAM) as QEMU's: Package {1, 1, 0, 0}. */
#define DVM_ACPI_S3_SLP_TYP 1
/* The RTC's interrupt line: its alarm wakes the machine from S3 when PM1_EN.RTC_EN is set. */
#define DVM_ACPI_RTC_IRQ 8

/* The PM timer: 24 bits at 3.579545 MHz. */
#define DVM_ACPI_PM_TMR_HZ 3579545u
#define DVM_ACPI_PM_TMR_MASK 0xffffffu

/*
 * The registers, for snapshots.  `tmr` is the counter's value when the state
 * was read; setting it makes the counter go on from there, so a restored
 * timer is continuous.  Setting checks that only the kept bits are set
 * (PM1_CNT without SLP_EN), tmr <= 0xffffff and reserved == 0 (EINVAL).
 */
struct dvm_acpi_pm_regs {
	uint16_t pm1_sts;
	uint16_t pm1_en;
	uint16_t pm1_cnt;
	uint16_t reserved0;
	uint32_t tmr;
	uint32_t reserved1;
};
_Static_assert(sizeof(struct dvm_acpi_pm_regs) == 16, "stable blob size");

#endif
