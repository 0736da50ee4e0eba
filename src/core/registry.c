/* SPDX-License-Identifier: MIT */
/* The table of device types, indexed by type number as in the kernel. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "dvm/device.h"

static const struct dvm_device_ops *registry[DVM_DEV_TYPE_MAX];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

int dvm_register_device_ops(const struct dvm_device_ops *ops)
{
	int ret = 0;

	if (!ops || !ops->name || !ops->create)
		return -EINVAL;
	if (ops->type >= DVM_DEV_TYPE_MAX)
		return -ENOSPC;
	pthread_mutex_lock(&registry_lock);
	if (registry[ops->type])
		ret = registry[ops->type] == ops ? 0 : -EEXIST;
	else
		registry[ops->type] = ops;
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

const struct dvm_device_ops *dvm_device_ops_by_type(uint32_t type)
{
	if (type >= DVM_DEV_TYPE_MAX)
		return NULL;
	/* Clamp the index under speculation too (the kernel's Spectre-v1 fix). */
	type &= (uint32_t) - (type < DVM_DEV_TYPE_MAX);
	return __atomic_load_n(&registry[type], __ATOMIC_ACQUIRE);
}

const struct dvm_device_ops *dvm_device_ops_by_name(const char *name)
{
	for (uint32_t t = 0; t < DVM_DEV_TYPE_MAX; t++) {
		const struct dvm_device_ops *ops = dvm_device_ops_by_type(t);
		if (ops && strcmp(ops->name, name) == 0)
			return ops;
	}
	return NULL;
}

void dvm_for_each_device_ops(void (*fn)(const struct dvm_device_ops *, void *), void *opaque)
{
	for (uint32_t t = 0; t < DVM_DEV_TYPE_MAX; t++) {
		const struct dvm_device_ops *ops = dvm_device_ops_by_type(t);
		if (ops)
			fn(ops, opaque);
	}
}

extern const struct dvm_device_ops dvm_kvm_vfio_ops, dvm_vcpu_ops, dvm_pic_ops, dvm_ioapic_ops,
    dvm_pit_ops, dvm_serial_8250_ops, dvm_i8042_ops, dvm_debug_exit_ops;
extern const struct dvm_device_ops dvm_acpi_pm_ops;
extern const struct dvm_device_ops dvm_cmos_rtc_ops;
extern const struct dvm_device_ops dvm_pci_host_ops, dvm_pc_testdev_ops;
extern const struct dvm_device_ops dvm_fw_cfg_ops;

static const struct dvm_device_ops *const builtin_types[] = {
    &dvm_kvm_vfio_ops, &dvm_vcpu_ops,	     &dvm_pic_ops,	&dvm_ioapic_ops,
    &dvm_pit_ops,      &dvm_serial_8250_ops, &dvm_i8042_ops,	&dvm_debug_exit_ops,
    &dvm_acpi_pm_ops,  &dvm_cmos_rtc_ops,    &dvm_pci_host_ops, &dvm_pc_testdev_ops,
    &dvm_fw_cfg_ops,
};

void dvm_register_builtin_devices(void)
{
	for (size_t i = 0; i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++)
		dvm_register_device_ops(builtin_types[i]);
}
