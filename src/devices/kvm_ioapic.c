/* SPDX-License-Identifier: MIT */
/* `ioapic`: the in-kernel IOAPIC at 0xfec00000; destroy-only singleton like `pic`. */
#include "devices/kvm_irqchip_common.h"
#include "dvm/device.h"
#include "dvm/devices/kvm_irqchip.h"

static const struct dvm_attr_desc ioapic_attrs[] = {
    {.group = DVM_IOAPIC_GRP_STATE,
     .attr = 0,
     .name = "state",
     .size = sizeof(struct kvm_ioapic_state),
     .kind = DVM_ATTR_STATE,
     .access = DVM_ATTR_RW | DVM_ATTR_WHILE_PAUSED,
     .format = DVM_FMT_BLOB,
     .help = "redirection table and registers (struct kvm_ioapic_state)"},
};

static int ioapic_create(struct dvm_device *dev)
{
	return dvm_irq_ensure_kernel_irqchip(dev->vm);
}

static int ioapic_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return dvm_kvm_irqchip_access(dev->vm, KVM_IRQCHIP_IOAPIC, (void *)(uintptr_t)attr->addr,
				      sizeof(struct kvm_ioapic_state), true);
}

static int ioapic_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return dvm_kvm_irqchip_access(dev->vm, KVM_IRQCHIP_IOAPIC, (void *)(uintptr_t)attr->addr,
				      sizeof(struct kvm_ioapic_state), false);
}

static void ioapic_destroy(struct dvm_device *dev)
{
	(void)dev; /* goes with the VM fd */
}

const struct dvm_device_ops dvm_ioapic_ops = {
    .name = "ioapic",
    .type = DVM_DEV_TYPE_IOAPIC,
    .flags = DVM_OPS_SINGLETON | DVM_OPS_NEEDS_KVM,
    .summary = "in-kernel IOAPIC, 24 pins (KVM_GET/SET_IRQCHIP)",
    .attrs = ioapic_attrs,
    .nr_attrs = sizeof(ioapic_attrs) / sizeof(ioapic_attrs[0]),
    .probe = dvm_kvm_irqchip_probe,
    .create = ioapic_create,
    .destroy = ioapic_destroy,
    .set_attr = ioapic_set_attr,
    .get_attr = ioapic_get_attr,
};
