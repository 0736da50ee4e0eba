/* SPDX-License-Identifier: MIT */
/*
 * `kvm-vfio`: forwarded to the kernel's KVM_CREATE_DEVICE (KVM_DEV_TYPE_VFIO).
 * Every call goes to the kernel's handle unchanged, so the answers are the
 * kernel's own; the schema is only there for `dvm describe`.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dvm/device.h"
#include "dvm/vm.h"

static const struct dvm_attr_desc vfio_attrs[] = {
    {.group = KVM_DEV_VFIO_GROUP,
     .attr = KVM_DEV_VFIO_GROUP_ADD,
     .name = "file-add",
     .size = 4,
     .kind = DVM_ATTR_COMMAND,
     .access = DVM_ATTR_W | DVM_ATTR_HOST_REF,
     .format = DVM_FMT_UINT,
     .help = "add a VFIO group/device file: addr points to an int32 fd"},
    {.group = KVM_DEV_VFIO_GROUP,
     .attr = KVM_DEV_VFIO_GROUP_DEL,
     .name = "file-del",
     .size = 4,
     .kind = DVM_ATTR_COMMAND,
     .access = DVM_ATTR_W | DVM_ATTR_HOST_REF,
     .format = DVM_FMT_UINT,
     .help = "remove a VFIO group/device file: addr points to an int32 fd"},
};

static int kernel_fd(struct dvm_device *dev)
{
	return (int)(intptr_t)dev->private;
}

/* The kernel's own TEST answer: registered on this host or not. */
static int vfio_probe(struct dvm_vm *vm)
{
	struct kvm_create_device cd = {.type = KVM_DEV_TYPE_VFIO, .flags = KVM_CREATE_DEVICE_TEST};
	return ioctl(dvm_vm_fd(vm), KVM_CREATE_DEVICE, &cd) < 0 ? -errno : 0;
}

static int vfio_create(struct dvm_device *dev)
{
	struct kvm_create_device cd = {.type = KVM_DEV_TYPE_VFIO};

	if (ioctl(dvm_vm_fd(dev->vm), KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	dev->private = (void *)(intptr_t)cd.fd;
	return 0;
}

static void vfio_release(struct dvm_device *dev)
{
	close(kernel_fd(dev));
}

static int forward(struct dvm_device *dev, unsigned long cmd, const struct kvm_device_attr *attr)
{
	return ioctl(kernel_fd(dev), cmd, attr) < 0 ? -errno : 0;
}

static int vfio_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return forward(dev, KVM_SET_DEVICE_ATTR, attr);
}

static int vfio_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return forward(dev, KVM_GET_DEVICE_ATTR, attr);
}

static int vfio_has_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return forward(dev, KVM_HAS_DEVICE_ATTR, attr);
}

static long vfio_ioctl(struct dvm_device *dev, unsigned int cmd, void *arg)
{
	return ioctl(kernel_fd(dev), cmd, arg) < 0 ? -errno : 0;
}

const struct dvm_device_ops dvm_kvm_vfio_ops = {
    .name = "kvm-vfio",
    .type = DVM_DEV_TYPE_KVM_VFIO,
    .flags = DVM_OPS_PASSTHROUGH | DVM_OPS_NEEDS_KVM,
    .summary = "the kernel's KVM-VFIO bridge device, forwarded (kernel-backed)",
    .attrs = vfio_attrs,
    .nr_attrs = sizeof(vfio_attrs) / sizeof(vfio_attrs[0]),
    .probe = vfio_probe,
    .create = vfio_create,
    .release = vfio_release,
    .set_attr = vfio_set_attr,
    .get_attr = vfio_get_attr,
    .has_attr = vfio_has_attr,
    .ioctl = vfio_ioctl,
};
