/* SPDX-License-Identifier: MIT */
/* Schema lookups and the checks the core derives from a type's schema. */
#include <errno.h>
#include <string.h>

#include "core/attr_check.h"
#include "dvm/device.h"

const struct dvm_attr_desc *dvm_attr_lookup(const struct dvm_device_ops *ops, uint32_t group,
					    uint64_t attr)
{
	for (size_t i = 0; i < ops->nr_attrs; i++) {
		const struct dvm_attr_desc *d = &ops->attrs[i];
		uint64_t count = d->count ? d->count : 1;
		if (d->group == group && attr >= d->attr && attr - d->attr < count)
			return d;
	}
	return NULL;
}

const struct dvm_attr_desc *dvm_attr_by_name(const struct dvm_device_ops *ops, const char *name)
{
	for (size_t i = 0; i < ops->nr_attrs; i++)
		if (strcmp(ops->attrs[i].name, name) == 0)
			return &ops->attrs[i];
	return NULL;
}

const char *dvm_attr_kind_name(uint32_t kind)
{
	switch (kind) {
	case DVM_ATTR_CONFIG:
		return "config";
	case DVM_ATTR_STATE:
		return "state";
	case DVM_ATTR_COMMAND:
		return "command";
	}
	return "?";
}

const char *dvm_attr_format_name(uint32_t format)
{
	switch (format) {
	case DVM_FMT_UINT:
		return "uint";
	case DVM_FMT_BOOL:
		return "bool";
	case DVM_FMT_STRING:
		return "string";
	}
	return "blob";
}

const char *dvm_attr_access_flag_name(uint32_t bit)
{
	switch (bit) {
	case DVM_ATTR_R:
		return "read";
	case DVM_ATTR_W:
		return "write";
	case DVM_ATTR_BEFORE_START:
		return "before-start";
	case DVM_ATTR_ONCE:
		return "once";
	case DVM_ATTR_WHILE_PAUSED:
		return "while-paused";
	case DVM_ATTR_DERIVED:
		return "derived";
	case DVM_ATTR_HOST_REF:
		return "host-ref";
	}
	return NULL;
}

/* The kernel can't be asked whether a user pointer is good without a
 * syscall; in one address space we refuse what can never be valid:
 * NULL, the first page, and non-canonical or kernel-half addresses. */
bool dvm_user_ptr_bad(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	return a < 4096 || a >= 0x0000800000000000ull;
}

uint64_t dvm_attr_read_uint(const void *p, uint32_t size)
{
	uint64_t v = 0;
	memcpy(&v, p, size < 8 ? size : 8); /* little-endian host */
	return v;
}

int dvm_attr_check(const struct dvm_device *dev, const struct dvm_attr_desc *d, bool is_write,
		   const void *addr, bool running)
{
	if (!d)
		return -ENXIO;
	if (!(d->access & (is_write ? DVM_ATTR_W : DVM_ATTR_R)))
		return -EPERM;
	if (running && (d->access & DVM_ATTR_WHILE_PAUSED))
		return -EBUSY;
	if (is_write && (d->access & DVM_ATTR_BEFORE_START) && dvm_vm_started(dev->vm))
		return -EBUSY;
	if (is_write && (d->access & DVM_ATTR_ONCE)) {
		size_t row = (size_t)(d - dev->ops->attrs);
		if (row < 64 && (dev->attrs_written & (1ull << row)))
			return -EEXIST;
	}
	if (dvm_user_ptr_bad(addr))
		return -EFAULT;
	if (is_write && d->format == DVM_FMT_UINT && d->max) {
		uint64_t v = dvm_attr_read_uint(addr, d->size);
		if (v < d->min || v > d->max)
			return -EINVAL;
	}
	if (is_write && d->format == DVM_FMT_BOOL && *(const uint8_t *)addr > 1)
		return -EINVAL;
	return 0;
}

int dvm_attr_field_access(struct dvm_device *dev, const struct dvm_attr_desc *d, bool is_write,
			  void *addr)
{
	uint8_t *field = (uint8_t *)dev->private + (d->field - 1);
	uint64_t v;
	int ret;

	if (!is_write) {
		switch (d->size) {
		case 1:
			v = __atomic_load_n(field, __ATOMIC_RELAXED);
			break;
		case 2:
			v = __atomic_load_n((uint16_t *)field, __ATOMIC_RELAXED);
			break;
		case 4:
			v = __atomic_load_n((uint32_t *)field, __ATOMIC_RELAXED);
			break;
		case 8:
			v = __atomic_load_n((uint64_t *)field, __ATOMIC_RELAXED);
			break;
		default:
			return -EINVAL; /* a schema mistake, caught by the tests */
		}
		memcpy(addr, &v, d->size);
		return 0;
	}
	v = dvm_attr_read_uint(addr, d->size);
	if (dev->ops->check_attr) {
		ret = dev->ops->check_attr(dev, d, v);
		if (ret)
			return ret;
	}
	switch (d->size) {
	case 1:
		__atomic_store_n(field, (uint8_t)v, __ATOMIC_RELAXED);
		break;
	case 2:
		__atomic_store_n((uint16_t *)field, (uint16_t)v, __ATOMIC_RELAXED);
		break;
	case 4:
		__atomic_store_n((uint32_t *)field, (uint32_t)v, __ATOMIC_RELAXED);
		break;
	case 8:
		__atomic_store_n((uint64_t *)field, v, __ATOMIC_RELAXED);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}
