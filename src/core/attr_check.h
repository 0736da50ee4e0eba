/* SPDX-License-Identifier: MIT */
#ifndef DVM_ATTR_CHECK_H
#define DVM_ATTR_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "dvm/vm.h"

bool dvm_user_ptr_bad(const void *p);
uint64_t dvm_attr_read_uint(const void *p, uint32_t size);
/* The schema-derived checks for one SET or GET, in the kernel's order:
 * ENXIO, EPERM, EBUSY, EEXIST, EFAULT, EINVAL. */
int dvm_attr_check(const struct dvm_device *dev, const struct dvm_attr_desc *d, bool is_write,
		   const void *addr, bool running);
/* Reads or writes a DVM_FIELD() row in dev->private; a write goes through
 * ops->check_attr first.  Stores are atomic, so a reader never sees half. */
int dvm_attr_field_access(struct dvm_device *dev, const struct dvm_attr_desc *d, bool is_write,
			  void *addr);

#endif
