/* SPDX-License-Identifier: MIT */
/*
 * `pit`: KVM's in-kernel 8254 (KVM_CREATE_PIT2), wired to IRQ 0 of the
 * in-kernel irqchip, which it brings up when needed.  KVM cannot remove a
 * PIT: a destroy-only singleton.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dvm/device.h"
#include "dvm/devices/kvm_irqchip.h"
#include "dvm/vm.h"

static const struct dvm_attr_desc pit_attrs[] = {
    {.group = DVM_PIT_GRP_STATE,
     .attr = 0,
     .name = "state",
     .size = sizeof(struct kvm_pit_state2),
     .kind = DVM_ATTR_STATE,
     .access = DVM_ATTR_RW | DVM_ATTR_WHILE_PAUSED,
     .format = DVM_FMT_BLOB,
     .help = "three counters and the speaker gate (struct kvm_pit_state2)"},
};

static int pit_probe(struct dvm_vm *vm)
{
	return dvm_vm_check_extension(vm, KVM_CAP_PIT2) ? 0 : -ENODEV;
}

static int pit_create(struct dvm_device *dev)
{
	/* KVM_PIT_SPEAKER_DUMMY: port 0x61 is answered in the kernel. */
	struct kvm_pit_config cfg = {.flags = KVM_PIT_SPEAKER_DUMMY};
	int ret = dvm_irq_ensure_kernel_irqchip(dev->vm);

	if (ret)
		return ret;
	if (ioctl(dvm_vm_fd(dev->vm), KVM_CREATE_PIT2, &cfg) < 0)
		return -errno;
	return 0;
}

static int pit_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return ioctl(dvm_vm_fd(dev->vm), KVM_SET_PIT2, (void *)(uintptr_t)attr->addr) < 0 ? -errno
											  : 0;
}

static int pit_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return ioctl(dvm_vm_fd(dev->vm), KVM_GET_PIT2, (void *)(uintptr_t)attr->addr) < 0 ? -errno
											  : 0;
}

static void pit_destroy(struct dvm_device *dev)
{
	(void)dev; /* goes with the VM fd */
}

const struct dvm_device_ops dvm_pit_ops = {
    .name = "pit",
    .type = DVM_DEV_TYPE_PIT,
    .flags = DVM_OPS_SINGLETON | DVM_OPS_NEEDS_KVM,
    .summary = "in-kernel 8254 PIT on IRQ 0 (KVM_GET/SET_PIT2)",
    .attrs = pit_attrs,
    .nr_attrs = sizeof(pit_attrs) / sizeof(pit_attrs[0]),
    .probe = pit_probe,
    .create = pit_create,
    .destroy = pit_destroy,
    .set_attr = pit_set_attr,
    .get_attr = pit_get_attr,
};
