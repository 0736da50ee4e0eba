/* SPDX-License-Identifier: MIT */
/* Interrupt lines: to KVM's in-kernel irqchip, or recorded when there is none. */
#include <errno.h>
#include <sys/ioctl.h>

#include "core/vm_internal.h"

int dvm_irq_ensure_kernel_irqchip(struct dvm_vm *vm)
{
	int ret = 0;

	if (vm->vm_fd < 0)
		return -ENODEV;
	pthread_mutex_lock(&vm->state_lock);
	if (!vm->kernel_irqchip) {
		if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
			/* KVM refuses once vCPUs exist: not allowed in this state. */
			ret = errno == EINVAL ? -EBUSY : -errno;
		else
			vm->kernel_irqchip = true;
	}
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

bool dvm_irq_has_kernel_irqchip(const struct dvm_vm *vm)
{
	return __atomic_load_n(&vm->kernel_irqchip, __ATOMIC_ACQUIRE);
}

int dvm_irq_set_line(struct dvm_vm *vm, uint32_t gsi, int level)
{
	if (gsi >= DVM_NR_GSIS)
		return -EINVAL;
	__atomic_store_n(&vm->irq_levels[gsi], level ? 1 : 0, __ATOMIC_RELAXED);
	if (dvm_irq_has_kernel_irqchip(vm)) {
		struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
		if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
			return -errno;
	}
	return 0;
}

int dvm_irq_get_line(struct dvm_vm *vm, uint32_t gsi)
{
	if (gsi >= DVM_NR_GSIS)
		return -EINVAL;
	return __atomic_load_n(&vm->irq_levels[gsi], __ATOMIC_RELAXED);
}
