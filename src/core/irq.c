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

/* The anonymous source of dvm_irq_set_line(). */
static const char anonymous_source;

int dvm_irq_set_line_from(struct dvm_vm *vm, uint32_t gsi, const void *source, int level)
{
	const void **slots;
	int ret = 0, wire = 0;

	if (gsi >= DVM_NR_GSIS || !source)
		return -EINVAL;
	pthread_mutex_lock(&vm->irq_lock);
	slots = vm->irq_sources[gsi];
	int mine = -1, free_slot = -1;
	for (int i = 0; i < DVM_IRQ_MAX_SOURCES; i++) {
		if (slots[i] == source)
			mine = i;
		else if (!slots[i] && free_slot < 0)
			free_slot = i;
	}
	if (level && mine < 0) {
		if (free_slot < 0) {
			pthread_mutex_unlock(&vm->irq_lock);
			return -ENOSPC; /* more sharers than any PC line has */
		}
		slots[free_slot] = source;
	} else if (!level && mine >= 0) {
		slots[mine] = NULL;
	}
	for (int i = 0; i < DVM_IRQ_MAX_SOURCES; i++)
		wire |= slots[i] != NULL;
	__atomic_store_n(&vm->irq_levels[gsi], wire, __ATOMIC_RELAXED);
	/* Every call reaches KVM, as before sharing existed: its PIC and IOAPIC
	 * see edges only where the wire changes. */
	if (dvm_irq_has_kernel_irqchip(vm)) {
		struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)wire};
		if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

int dvm_irq_set_line(struct dvm_vm *vm, uint32_t gsi, int level)
{
	return dvm_irq_set_line_from(vm, gsi, &anonymous_source, level);
}

int dvm_irq_get_line(struct dvm_vm *vm, uint32_t gsi)
{
	if (gsi >= DVM_NR_GSIS)
		return -EINVAL;
	return __atomic_load_n(&vm->irq_levels[gsi], __ATOMIC_RELAXED);
}
