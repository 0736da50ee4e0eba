// SPDX-License-Identifier: MIT
/*
 * pc-testdev: the test device kvm-unit-tests drives (QEMU's pc-testdev),
 * written from how the tests use it.
 *
 * - 0xe0-0xe3: a 32-bit latch.  An access of any width at port 0xe0 + o
 *   reads or writes latch bytes o, o+1, ... (little-endian), so string I/O
 *   (rep outsb/insb, one exit per element) keeps the last element written.
 *   Bytes of an access that run past 0xe3 are dropped (writes) or read
 *   all-ones; they never reach the page-drop port.
 * - 0xe8-0xeb: the same latch, byte by byte (an alias; same rules).
 * - 0xe4: a dword write of a guest-physical address makes KVM forget its
 *   mapping of that 4 KiB page (dvm_vm_drop_guest_page), so the guest's next
 *   access faults it in again; contents stay.  Other widths, addresses
 *   outside guest RAM and reads do nothing (reads: all-ones).
 * - 0x2000-0x2017: a write to 0x2000 + N drives interrupt line (GSI) N to
 *   the truth of the value written (of the access width).  Reads: all-ones.
 * - 64 KiB at GPA 0xff000000: memory dvm serves on every access (an MMIO
 *   exit each time, never a memory slot, so the guest gets KVM's MMIO
 *   emulation), 1 to 8 bytes at any offset, little-endian; bytes past the end
 *   read all-ones and are not written.
 *
 * Lifetime: part of the machine, one per VM; it stays until the VM goes.
 * Locking: one mutex for the latch, the lines and the memory; lines are
 * driven under it so their order matches the state's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dvm/device.h"
#include "dvm/devices/pc_testdev.h"
#include "dvm/vm.h"

#define LATCH_PORTS 4

struct pc_testdev {
	pthread_mutex_t lock;
	struct dvm_vm *vm;
	uint32_t latch;
	uint32_t irq_lines; /* bit N: this device holds line N high */
	bool started;
	unsigned registered; /* how many of ranges[] start registered */
	uint8_t iomem[DVM_PC_TESTDEV_IOMEM_SIZE];
};

static const struct dvm_attr_desc pc_testdev_attrs[] = {
    {
	.group = DVM_PC_TESTDEV_GRP_STATE,
	.attr = DVM_PC_TESTDEV_STATE_REGS,
	.name = "regs",
	.size = sizeof(struct dvm_pc_testdev_state),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "latch and the interrupt lines held high (struct dvm_pc_testdev_state)",
    },
    {
	.group = DVM_PC_TESTDEV_GRP_STATE,
	.attr = DVM_PC_TESTDEV_STATE_IOMEM,
	.name = "iomem",
	.size = DVM_PC_TESTDEV_IOMEM_SIZE,
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "the 64 KiB of device memory at 0xff000000",
    },
};

/* ---- the latch, 0xe0 and its byte alias 0xe8 ---- */

static void latch_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct pc_testdev *t = opaque;
	uint8_t *p = data;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < len; i++)
		p[i] = offset + i < LATCH_PORTS ? t->latch >> (8 * (offset + i)) : 0xff;
	pthread_mutex_unlock(&t->lock);
}

static void latch_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pc_testdev *t = opaque;
	const uint8_t *p = data;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < len && offset + i < LATCH_PORTS; i++) {
		unsigned shift = 8 * (offset + i);
		t->latch = (t->latch & ~(0xffu << shift)) | (uint32_t)p[i] << shift;
	}
	pthread_mutex_unlock(&t->lock);
}

static const struct dvm_io_ops latch_ops = {
    .read = latch_read,
    .write = latch_write,
};

/* ---- page drop, 0xe4 ---- */

static void ones_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0xff, len);
}

static void flush_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pc_testdev *t = opaque;
	uint32_t gpa;

	if (offset != 0 || len != 4)
		return;
	memcpy(&gpa, data, 4);
	/* Not RAM (or the host refused): nothing to drop, as on QEMU. */
	dvm_vm_drop_guest_page(t->vm, gpa);
}

static const struct dvm_io_ops flush_ops = {
    .read = ones_read,
    .write = flush_write,
};

/* ---- interrupt lines, 0x2000 + N ---- */

/* Under the lock. */
static void drive_line(struct pc_testdev *t, unsigned n, bool level)
{
	if (level)
		t->irq_lines |= 1u << n;
	else
		t->irq_lines &= ~(1u << n);
	dvm_irq_set_line_from(t->vm, n, t, level);
}

static void irq_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pc_testdev *t = opaque;
	uint64_t v = 0;

	if (offset >= DVM_PC_TESTDEV_NR_IRQS || len > sizeof(v))
		return;
	memcpy(&v, data, len);
	pthread_mutex_lock(&t->lock);
	drive_line(t, offset, v != 0);
	pthread_mutex_unlock(&t->lock);
}

static const struct dvm_io_ops irq_ops = {
    .read = ones_read,
    .write = irq_write,
};

/* ---- memory, 0xff000000 ---- */

static void iomem_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct pc_testdev *t = opaque;
	uint8_t *p = data;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < len; i++)
		p[i] = offset + i < DVM_PC_TESTDEV_IOMEM_SIZE ? t->iomem[offset + i] : 0xff;
	pthread_mutex_unlock(&t->lock);
}

static void iomem_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pc_testdev *t = opaque;
	const uint8_t *p = data;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < len && offset + i < DVM_PC_TESTDEV_IOMEM_SIZE; i++)
		t->iomem[offset + i] = p[i];
	pthread_mutex_unlock(&t->lock);
}

static const struct dvm_io_ops iomem_ops = {
    .read = iomem_read,
    .write = iomem_write,
};

/* ---- device ---- */

static const struct {
	enum dvm_bus_space space;
	uint64_t base, len;
	const struct dvm_io_ops *ops;
} ranges[] = {
    {DVM_BUS_PIO, DVM_PC_TESTDEV_PORT_LATCH, LATCH_PORTS, &latch_ops},
    {DVM_BUS_PIO, DVM_PC_TESTDEV_PORT_FLUSH, 4, &flush_ops},
    {DVM_BUS_PIO, DVM_PC_TESTDEV_PORT_ALIAS, LATCH_PORTS, &latch_ops},
    {DVM_BUS_PIO, DVM_PC_TESTDEV_PORT_IRQ, DVM_PC_TESTDEV_NR_IRQS, &irq_ops},
    {DVM_BUS_MMIO, DVM_PC_TESTDEV_IOMEM_BASE, DVM_PC_TESTDEV_IOMEM_SIZE, &iomem_ops},
};
#define NR_RANGES (sizeof(ranges) / sizeof(ranges[0]))

static int pc_testdev_create(struct dvm_device *dev)
{
	struct pc_testdev *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->vm = dev->vm;
	dev->private = t;
	return 0;
}

static void unregister_all(struct pc_testdev *t)
{
	while (t->registered) {
		t->registered--;
		dvm_bus_unregister(t->vm, ranges[t->registered].space, ranges[t->registered].base,
				   t);
	}
}

static int pc_testdev_start(struct dvm_device *dev)
{
	struct pc_testdev *t = dev->private;
	int ret;

	if (t->started)
		return 0;
	for (; t->registered < NR_RANGES; t->registered++) {
		ret =
		    dvm_bus_register(t->vm, ranges[t->registered].space, ranges[t->registered].base,
				     ranges[t->registered].len, ranges[t->registered].ops, t);
		if (ret) {
			unregister_all(t);
			return ret;
		}
	}
	pthread_mutex_lock(&t->lock);
	t->started = true;
	/* Lines restored before start: the irqchip hears them now. */
	for (unsigned n = 0; n < DVM_PC_TESTDEV_NR_IRQS; n++)
		if (t->irq_lines & (1u << n))
			drive_line(t, n, true);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static void pc_testdev_destroy(struct dvm_device *dev)
{
	struct pc_testdev *t = dev->private;

	if (!t)
		return;
	unregister_all(t); /* after this no vCPU is inside our handlers */
	pthread_mutex_destroy(&t->lock);
	free(t);
	dev->private = NULL;
}

static int regs_restore(struct pc_testdev *t, const struct dvm_pc_testdev_state *s)
{
	uint32_t changed;

	if ((s->irq_lines >> DVM_PC_TESTDEV_NR_IRQS) || s->reserved[0] || s->reserved[1])
		return -EINVAL;
	t->latch = s->latch;
	if (!t->started) {
		t->irq_lines = s->irq_lines; /* driven at start */
		return 0;
	}
	changed = t->irq_lines ^ s->irq_lines;
	for (unsigned n = 0; n < DVM_PC_TESTDEV_NR_IRQS; n++)
		if (changed & (1u << n))
			drive_line(t, n, s->irq_lines & (1u << n));
	return 0;
}

static int pc_testdev_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct pc_testdev *t = dev->private;
	const void *src = (const void *)(uintptr_t)attr->addr;
	struct dvm_pc_testdev_state s;
	int ret = 0;

	if (attr->group != DVM_PC_TESTDEV_GRP_STATE)
		return -ENXIO;
	switch (attr->attr) {
	case DVM_PC_TESTDEV_STATE_REGS:
		memcpy(&s, src, sizeof(s));
		pthread_mutex_lock(&t->lock);
		ret = regs_restore(t, &s);
		pthread_mutex_unlock(&t->lock);
		return ret;
	case DVM_PC_TESTDEV_STATE_IOMEM:
		pthread_mutex_lock(&t->lock);
		memcpy(t->iomem, src, sizeof(t->iomem));
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	return -ENXIO;
}

static int pc_testdev_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct pc_testdev *t = dev->private;
	void *dst = (void *)(uintptr_t)attr->addr;
	struct dvm_pc_testdev_state s;

	if (attr->group != DVM_PC_TESTDEV_GRP_STATE)
		return -ENXIO;
	switch (attr->attr) {
	case DVM_PC_TESTDEV_STATE_REGS:
		memset(&s, 0, sizeof(s));
		pthread_mutex_lock(&t->lock);
		s.latch = t->latch;
		s.irq_lines = t->irq_lines;
		pthread_mutex_unlock(&t->lock);
		memcpy(dst, &s, sizeof(s));
		return 0;
	case DVM_PC_TESTDEV_STATE_IOMEM:
		pthread_mutex_lock(&t->lock);
		memcpy(dst, t->iomem, sizeof(t->iomem));
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	return -ENXIO;
}

const struct dvm_device_ops dvm_pc_testdev_ops = {
    .name = "pc-testdev",
    .type = DVM_DEV_TYPE_PC_TESTDEV,
    .flags = DVM_OPS_SINGLETON,
    .summary = "kvm-unit-tests' test device: latch 0xe0/0xe8, page drop 0xe4, irq lines "
	       "0x2000, 64K memory at 0xff000000",
    .attrs = pc_testdev_attrs,
    .nr_attrs = sizeof(pc_testdev_attrs) / sizeof(pc_testdev_attrs[0]),
    .create = pc_testdev_create,
    .destroy = pc_testdev_destroy,
    .set_attr = pc_testdev_set_attr,
    .get_attr = pc_testdev_get_attr,
    .start = pc_testdev_start,
};
