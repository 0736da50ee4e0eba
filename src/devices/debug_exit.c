// SPDX-License-Identifier: MIT
/*
 * debug-exit: the isa-debug-exit convention test guests use to end the
 * machine with a status.  A write of V (the value as written, of the access
 * width) stops the VM with status (V << 1) | 1, so a guest can never make
 * dvm report success (dvm's own statuses are even).  The status is computed
 * in 32 bits and kept non-negative; the OS truncates the process exit code to
 * its low 8 bits, which are the same as QEMU's exit((V << 1) | 1).
 *
 * Reads return 0.  Several may exist at different ports.  It has a release
 * op: closing its handle removes it (and frees its ports), so it can be
 * created again.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvm/device.h"
#include "dvm/devices/debug_exit.h"
#include "dvm/vm.h"

struct debug_exit {
	pthread_mutex_t lock; /* config against start */
	struct dvm_vm *vm;
	uint16_t iobase;
	uint8_t iosize;
	bool registered;
	uint16_t reg_base; /* the base registered, for unregister */
};

static const struct dvm_attr_desc debug_exit_attrs[] = {
    {
	.group = DVM_DEBUG_EXIT_GRP_CONFIG,
	.attr = DVM_DEBUG_EXIT_CONFIG_IOBASE,
	.name = "iobase",
	DVM_FIELD(struct debug_exit, iobase),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.def = DVM_DEBUG_EXIT_DEFAULT_IOBASE,
	.help = "I/O port base",
    },
    {
	.group = DVM_DEBUG_EXIT_GRP_CONFIG,
	.attr = DVM_DEBUG_EXIT_CONFIG_IOSIZE,
	.name = "iosize",
	DVM_FIELD(struct debug_exit, iosize),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 1,
	.max = 4,
	.def = DVM_DEBUG_EXIT_DEFAULT_IOSIZE,
	.help = "number of ports claimed: 1, 2 or 4",
    },
};

static void debug_exit_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void debug_exit_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct debug_exit *d = opaque;
	uint64_t v = 0;
	char msg[64];
	int status;

	(void)offset;
	/* Little-endian value of the access width; len is at most 8. */
	memcpy(&v, data, len <= sizeof(v) ? len : sizeof(v));
	status = (int)((((uint32_t)v << 1) | 1u) & INT_MAX);
	snprintf(msg, sizeof(msg), "guest wrote %#llx to debug-exit", (unsigned long long)v);
	dvm_vm_request_stop(d->vm, DVM_STOP_DEBUG_EXIT, status, msg);
}

static const struct dvm_io_ops debug_exit_io_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
};

static int debug_exit_create(struct dvm_device *dev)
{
	struct debug_exit *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->vm = dev->vm;
	d->iobase = DVM_DEBUG_EXIT_DEFAULT_IOBASE;
	d->iosize = DVM_DEBUG_EXIT_DEFAULT_IOSIZE;
	dev->private = d;
	return 0;
}

static int debug_exit_start(struct dvm_device *dev)
{
	struct debug_exit *d = dev->private;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (!d->registered) {
		ret = dvm_bus_register(d->vm, DVM_BUS_PIO, d->iobase, d->iosize, &debug_exit_io_ops,
				       d);
		if (!ret) {
			d->registered = true;
			d->reg_base = d->iobase;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* Both teardown paths: after unregister no vCPU can be inside our handler. */
static void debug_exit_free(struct dvm_device *dev)
{
	struct debug_exit *d = dev->private;

	if (!d)
		return;
	if (d->registered)
		dvm_bus_unregister(d->vm, DVM_BUS_PIO, d->reg_base, d);
	pthread_mutex_destroy(&d->lock);
	free(d);
	dev->private = NULL;
}

/* The rules the schema's min/max can't say. */
static int debug_exit_check_attr(struct dvm_device *dev, const struct dvm_attr_desc *desc,
				 uint64_t value)
{
	struct debug_exit *d = dev->private;
	uint32_t base = desc->attr == DVM_DEBUG_EXIT_CONFIG_IOBASE ? value : d->iobase;
	uint32_t size = desc->attr == DVM_DEBUG_EXIT_CONFIG_IOSIZE ? value : d->iosize;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	if (base + size > 0x10000)
		return -E2BIG; /* would run past the port address space */
	return 0;
}

const struct dvm_device_ops dvm_debug_exit_ops = {
    .name = "debug-exit",
    .type = DVM_DEV_TYPE_DEBUG_EXIT,
    .summary = "isa-debug-exit: a guest write of V ends dvm with status (V << 1) | 1",
    .attrs = debug_exit_attrs,
    .nr_attrs = sizeof(debug_exit_attrs) / sizeof(debug_exit_attrs[0]),
    .create = debug_exit_create,
    .release = debug_exit_free,
    .destroy = debug_exit_free,
    .check_attr = debug_exit_check_attr,
    .start = debug_exit_start,
};
