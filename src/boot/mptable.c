// SPDX-License-Identifier: MIT
/*
 * The Intel MultiProcessor Specification 1.4 table, for guests that look
 * for "_MP_" instead of (or before) ACPI: the floating pointer at 0xf0000
 * and the configuration table right after it, below 0xf1000.
 *
 * Entries, in the order the specification requires (by type): one
 * processor per vCPU (APIC ID = index, CPU 0 the BSP), the ISA bus, the I/O
 * APIC, ISA IRQs 0-15 but 2 (IRQ0 on pin 2, the rest identity, polarity
 * and trigger conforming to ISA), then ExtINT on LINT0 and NMI on LINT1 of
 * every local APIC.  No IMCR (virtual wire mode), no extended table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "dvm/boot.h"

#define MP_FLOAT_LEN 16
#define MP_HEADER_LEN 44
#define MP_PROC_LEN 20
#define MP_ENTRY_LEN 8	  /* bus, I/O APIC, I/O and local interrupt entries */
#define MP_NR_ISA_IRQS 15 /* 0-15 without 2 */

#define MP_ENTRY_PROC 0
#define MP_ENTRY_BUS 1
#define MP_ENTRY_IOAPIC 2
#define MP_ENTRY_IOINT 3
#define MP_ENTRY_LINT 4

#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3

#define MP_PROC_EN 0x1
#define MP_PROC_BP 0x2
#define MP_LAPIC_VERSION 0x14  /* integrated xAPIC, as KVM's */
#define MP_IOAPIC_VERSION 0x11 /* KVM's in-kernel I/O APIC */
#define MP_CPU_SIGNATURE 0x600 /* family 6; the guest's CPUID has the truth */
#define MP_CPU_FEATURES 0x201  /* FPU, APIC */
#define MP_ALL_LAPICS 0xff

static size_t table_len(unsigned nr_cpus)
{
	return MP_HEADER_LEN + (size_t)nr_cpus * MP_PROC_LEN + MP_ENTRY_LEN /* bus */ +
	       MP_ENTRY_LEN /* I/O APIC */ + MP_NR_ISA_IRQS * MP_ENTRY_LEN + 2 * MP_ENTRY_LEN;
}

static unsigned max_cpus(void)
{
	return (unsigned)((DVM_MPTABLE_END - DVM_MPTABLE_ADDR - MP_FLOAT_LEN - table_len(0)) /
			  MP_PROC_LEN);
}

static uint8_t *int_entry(uint8_t *e, uint8_t type, uint8_t int_type, uint8_t irq, uint8_t dst_id,
			  uint8_t dst_pin)
{
	e[0] = type;
	e[1] = int_type;
	put16(e + 2, 0); /* polarity and trigger conform to the bus */
	e[4] = 0;	 /* source bus: ISA */
	e[5] = irq;
	e[6] = dst_id;
	e[7] = dst_pin;
	return e + MP_ENTRY_LEN;
}

int dvm_mptable_build(struct dvm_guest_mem *mem, unsigned nr_cpus, uint8_t ioapic_id, char *err,
		      size_t errlen)
{
	uint8_t *fp, *t, *e;
	size_t len;
	unsigned entries = 0;

	if (!err)
		errlen = 0;
	if (!mem || !mem->host) {
		snprintf(err, errlen, "no guest memory");
		return -EINVAL;
	}
	if (nr_cpus < 1 || nr_cpus > max_cpus()) {
		snprintf(err, errlen, "%u CPUs do not fit in the MP table below %#x (at most %u)",
			 nr_cpus, DVM_MPTABLE_END, max_cpus());
		return nr_cpus ? -E2BIG : -EINVAL;
	}
	if (mem->size < DVM_MPTABLE_END) {
		snprintf(err, errlen, "guest RAM ends below %#x, where the MP table goes",
			 DVM_MPTABLE_END);
		return -ENOSPC;
	}

	fp = mem->host + DVM_MPTABLE_ADDR;
	t = fp + MP_FLOAT_LEN;
	len = table_len(nr_cpus);
	memset(fp, 0, DVM_MPTABLE_END - DVM_MPTABLE_ADDR);

	e = t + MP_HEADER_LEN;
	for (unsigned i = 0; i < nr_cpus; i++, e += MP_PROC_LEN, entries++) {
		e[0] = MP_ENTRY_PROC;
		e[1] = (uint8_t)i; /* local APIC ID: the vCPU index */
		e[2] = MP_LAPIC_VERSION;
		e[3] = MP_PROC_EN | (i == 0 ? MP_PROC_BP : 0);
		put32(e + 4, MP_CPU_SIGNATURE);
		put32(e + 8, MP_CPU_FEATURES);
	}
	e[0] = MP_ENTRY_BUS;
	e[1] = 0; /* bus ID */
	memcpy(e + 2, "ISA   ", 6);
	e += MP_ENTRY_LEN;
	entries++;
	e[0] = MP_ENTRY_IOAPIC;
	e[1] = ioapic_id;
	e[2] = MP_IOAPIC_VERSION;
	e[3] = 1; /* enabled */
	put32(e + 4, 0xfec00000u);
	e += MP_ENTRY_LEN;
	entries++;
	for (uint8_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue; /* the cascade: no ISA device has it */
		e = int_entry(e, MP_ENTRY_IOINT, MP_INT, irq, ioapic_id, irq == 0 ? 2 : irq);
		entries++;
	}
	e = int_entry(e, MP_ENTRY_LINT, MP_EXTINT, 0, MP_ALL_LAPICS, 0);
	e = int_entry(e, MP_ENTRY_LINT, MP_NMI, 0, MP_ALL_LAPICS, 1);
	entries += 2;

	memcpy(t, "PCMP", 4);
	put16(t + 4, (uint16_t)len);
	t[6] = 4; /* specification revision 1.4 */
	memcpy(t + 8, "DVM     ", 8);
	memcpy(t + 16, "DVMMACH     ", 12);
	put16(t + 34, (uint16_t)entries);
	put32(t + 36, 0xfee00000u);
	t[7] = checksum8(t, len);

	memcpy(fp, "_MP_", 4);
	put32(fp + 4, (uint32_t)(DVM_MPTABLE_ADDR + MP_FLOAT_LEN));
	fp[8] = 1; /* length in 16-byte units */
	fp[9] = 4; /* revision 1.4 */
	/* feature bytes 0: a configuration table is present; no IMCR */
	fp[10] = checksum8(fp, MP_FLOAT_LEN);
	return 0;
}
