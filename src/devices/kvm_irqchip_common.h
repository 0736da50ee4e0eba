/* SPDX-License-Identifier: MIT */
/* KVM_GET/SET_IRQCHIP for one chip, shared by the pic and ioapic types. */
#ifndef DVM_KVM_IRQCHIP_COMMON_H
#define DVM_KVM_IRQCHIP_COMMON_H

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dvm/vm.h"

static inline int dvm_kvm_irqchip_probe(struct dvm_vm *vm)
{
	return dvm_vm_check_extension(vm, KVM_CAP_IRQCHIP) ? 0 : -ENODEV;
}

/* Copies `size` bytes of chip `chip_id`'s state to or from addr. */
static inline int dvm_kvm_irqchip_access(struct dvm_vm *vm, uint32_t chip_id, void *addr,
					 size_t size, bool write)
{
	struct kvm_irqchip chip = {.chip_id = chip_id};

	if (write) {
		memcpy(&chip.chip, addr, size);
		return ioctl(dvm_vm_fd(vm), KVM_SET_IRQCHIP, &chip) < 0 ? -errno : 0;
	}
	if (ioctl(dvm_vm_fd(vm), KVM_GET_IRQCHIP, &chip) < 0)
		return -errno;
	memcpy(addr, &chip.chip, size);
	return 0;
}

#endif
