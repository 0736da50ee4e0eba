/* SPDX-License-Identifier: MIT */
/*
 * pci-host: PCI configuration mechanism #1 (CONFIG_ADDRESS at 0xcf8,
 * CONFIG_DATA at 0xcfc-0xcff) onto the VM's PCI config bus
 * (DVM_BUS_PCI_CFG), and the host bridge at 00:00.0 with the identity of
 * Q35's MCH.  Public attribute numbers and state.
 */
#ifndef DVM_DEVICES_PCI_HOST_H
#define DVM_DEVICES_PCI_HOST_H

#include <stdint.h>

#define DVM_PCI_HOST_GRP_STATE 1
#define DVM_PCI_HOST_STATE_REGS 0 /* struct dvm_pci_host_state */

#define DVM_PCI_HOST_CONFIG_ADDRESS 0xcf8
#define DVM_PCI_HOST_CONFIG_DATA 0xcfc

/* CONFIG_ADDRESS: the bits that exist (enable, bus, device, function,
 * dword register); the reserved 30:24 and 1:0 read 0. */
#define DVM_PCI_HOST_ADDR_ENABLE 0x80000000u
#define DVM_PCI_HOST_ADDR_MASK 0x80fffffcu

/* The host bridge's identity: Q35's MCH, with dvm's (virtio) subsystem IDs. */
#define DVM_PCI_HOST_VENDOR_ID 0x8086
#define DVM_PCI_HOST_DEVICE_ID 0x29c0
#define DVM_PCI_HOST_CLASS 0x060000 /* bridge, host bridge */
#define DVM_PCI_HOST_SUBSYS_VENDOR_ID 0x1af4
#define DVM_PCI_HOST_SUBSYS_ID 0x1100

/* Bits of the bridge's command register software may set: I/O, memory,
 * bus master, parity error response, SERR#, interrupt disable. */
#define DVM_PCI_HOST_COMMAND_MASK 0x0547u

/*
 * The whole state: the address latch and the host bridge's writable
 * registers (everything else in its config space is constant).  Setting
 * answers EINVAL for a config_address with reserved bits, a command with
 * bits outside DVM_PCI_HOST_COMMAND_MASK, or reserved != 0.
 */
struct dvm_pci_host_state {
	uint32_t config_address; /* CONFIG_ADDRESS latch (DVM_PCI_HOST_ADDR_MASK bits) */
	uint16_t command;	 /* 00:00.0 register 0x04 */
	uint8_t cache_line_size; /* 00:00.0 register 0x0c */
	uint8_t interrupt_line;	 /* 00:00.0 register 0x3c (scratch for software) */
	uint32_t reserved[2];	 /* 0 */
};
_Static_assert(sizeof(struct dvm_pci_host_state) == 16, "stable blob size");

#endif
