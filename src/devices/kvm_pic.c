/* SPDX-License-Identifier: MIT */
/*
 * `pic`: the in-kernel 8259A pair.  KVM creates it together with the IOAPIC
 * (KVM_CREATE_IRQCHIP) and cannot remove it, so it is a destroy-only
 * singleton: after its handle closes it stays, and a second create answers
 * EEXIST.
 */
#include "devices/kvm_irqchip_common.h"
#include "dvm/device.h"
#include "dvm/devices/kvm_irqchip.h"

static const struct dvm_attr_desc pic_attrs[] = {
    {.group = DVM_PIC_GRP_STATE,
     .attr = DVM_PIC_MASTER,
     .name = "master",
     .size = sizeof(struct kvm_pic_state),
     .kind = DVM_ATTR_STATE,
     .access = DVM_ATTR_RW | DVM_ATTR_WHILE_PAUSED,
     .format = DVM_FMT_BLOB,
     .help = "master 8259 at 0x20 (struct kvm_pic_state, KVM_IRQCHIP_PIC_MASTER)"},
    {.group = DVM_PIC_GRP_STATE,
     .attr = DVM_PIC_SLAVE,
     .name = "slave",
     .size = sizeof(struct kvm_pic_state),
     .kind = DVM_ATTR_STATE,
     .access = DVM_ATTR_RW | DVM_ATTR_WHILE_PAUSED,
     .format = DVM_FMT_BLOB,
     .help = "slave 8259 at 0xa0 (struct kvm_pic_state, KVM_IRQCHIP_PIC_SLAVE)"},
};

static int pic_create(struct dvm_device *dev)
{
	return dvm_irq_ensure_kernel_irqchip(dev->vm);
}

static int pic_access(struct dvm_device *dev, const struct kvm_device_attr *attr, bool write)
{
	uint32_t chip =
	    attr->attr == DVM_PIC_MASTER ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
	return dvm_kvm_irqchip_access(dev->vm, chip, (void *)(uintptr_t)attr->addr,
				      sizeof(struct kvm_pic_state), write);
}

static int pic_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return pic_access(dev, attr, true);
}

static int pic_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return pic_access(dev, attr, false);
}

static void pic_destroy(struct dvm_device *dev)
{
	(void)dev; /* goes with the VM fd */
}

const struct dvm_device_ops dvm_pic_ops = {
    .name = "pic",
    .type = DVM_DEV_TYPE_PIC,
    .flags = DVM_OPS_SINGLETON | DVM_OPS_NEEDS_KVM,
    .summary = "in-kernel 8259A master/slave PIC (KVM_GET/SET_IRQCHIP)",
    .attrs = pic_attrs,
    .nr_attrs = sizeof(pic_attrs) / sizeof(pic_attrs[0]),
    .probe = dvm_kvm_irqchip_probe,
    .create = pic_create,
    .destroy = pic_destroy,
    .set_attr = pic_set_attr,
    .get_attr = pic_get_attr,
};
