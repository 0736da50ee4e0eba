/* SPDX-License-Identifier: MIT */
/*
 * pc-testdev: QEMU's pc-testdev as kvm-unit-tests uses it.  Fixed
 * resources: a 32-bit latch at ports 0xe0-0xe3 (byte alias 0xe8-0xeb), a
 * page-drop port at 0xe4, interrupt line ports 0x2000-0x2017, and 64 KiB of
 * device memory at GPA 0xff000000.  Public attribute numbers and state.
 */
#ifndef DVM_DEVICES_PC_TESTDEV_H
#define DVM_DEVICES_PC_TESTDEV_H

#include <stdint.h>

#define DVM_PC_TESTDEV_GRP_STATE 1
#define DVM_PC_TESTDEV_STATE_REGS 0  /* struct dvm_pc_testdev_state */
#define DVM_PC_TESTDEV_STATE_IOMEM 1 /* the 64 KiB memory window, as is */

#define DVM_PC_TESTDEV_PORT_LATCH 0xe0 /* 4 ports: the latch at any width */
#define DVM_PC_TESTDEV_PORT_FLUSH 0xe4 /* 4 ports: dword write of a GPA drops its page */
#define DVM_PC_TESTDEV_PORT_ALIAS 0xe8 /* 4 ports: the latch, byte by byte */
#define DVM_PC_TESTDEV_PORT_IRQ 0x2000 /* 0x2000 + N drives interrupt line (GSI) N */
#define DVM_PC_TESTDEV_NR_IRQS 24
#define DVM_PC_TESTDEV_IOMEM_BASE 0xff000000ull
#define DVM_PC_TESTDEV_IOMEM_SIZE 0x10000u

/*
 * Registers.  irq_lines has bit N set while the device holds line N high;
 * setting it drives the lines to match.  Setting answers EINVAL for
 * irq_lines bits at or above DVM_PC_TESTDEV_NR_IRQS or reserved != 0.
 */
struct dvm_pc_testdev_state {
	uint32_t latch;
	uint32_t irq_lines;
	uint32_t reserved[2]; /* 0 */
};
_Static_assert(sizeof(struct dvm_pc_testdev_state) == 16, "stable blob size");

#endif
