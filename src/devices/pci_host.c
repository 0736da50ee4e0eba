// SPDX-License-Identifier: MIT
/*
 * pci-host: PCI configuration mechanism #1 and the host bridge at 00:00.0,
 * written from the PCI Local Bus Specification 3.0, 3.2.2.3.2.
 *
 * CONFIG_ADDRESS (0xcf8) is latched only by a full dword write, and a dword
 * read returns it; the spec makes any other access to 0xcf8-0xcfb ordinary
 * I/O that the bridge forwards untouched.  So only port 0xcf8 itself is
 * claimed on the bus (a dword access at 0xcf8 starts there; the bus picks a
 * range by the first port), non-dword accesses at 0xcf8 act as if nobody
 * were there (reads all-ones, writes dropped), and 0xcf9-0xcfb stay free for
 * another device (on real chipsets 0xcf9 is the reset control register).
 *
 * CONFIG_DATA (0xcfc-0xcff) with the enable bit set becomes an access of the
 * same width to register (CONFIG_ADDRESS[7:2] << 2) + (port - 0xcfc) of the
 * addressed function on DVM_BUS_PCI_CFG, where PCI functions register their
 * 4 KiB of config space; nothing there reads all-ones, writes are dropped.
 * With the enable bit clear, or for bytes of an access that run past 0xcff,
 * reads are all-ones and writes go nowhere.
 *
 * The host bridge registers 00:00.0 on that bus like any other function.
 * It has Q35's MCH identity and a 256-byte type 0 header with no BARs,
 * capabilities or interrupt pin; only the command register's meaningful
 * bits, the cache line size and the interrupt line byte are writable.
 * Offsets 0x100-0xfff (reachable through a future ECAM window) read 0.
 *
 * Locking: one mutex guards the latch and the config image.  The
 * CONFIG_DATA handler drops it before dispatching on the config bus, since
 * the target may be this very bridge.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "dvm/device.h"
#include "dvm/devices/pci_host.h"
#include "dvm/vm.h"

#define HDR_SIZE 256 /* conventional config space */

/* Type 0 header offsets. */
enum {
	REG_VENDOR_ID = 0x00,
	REG_DEVICE_ID = 0x02,
	REG_COMMAND = 0x04,
	REG_STATUS = 0x06,
	REG_REVISION = 0x08,
	REG_CLASS = 0x09, /* prog-if, subclass, class: 3 bytes */
	REG_CACHE_LINE_SIZE = 0x0c,
	REG_HEADER_TYPE = 0x0e,
	REG_SUBSYS_VENDOR_ID = 0x2c,
	REG_SUBSYS_ID = 0x2e,
	REG_INTERRUPT_LINE = 0x3c,
};

struct pci_host {
	pthread_mutex_t lock;
	struct dvm_vm *vm;
	uint32_t config_address;
	uint8_t cfg[HDR_SIZE];
	bool reg_addr, reg_data, reg_cfg; /* what start registered */
};

static const struct dvm_attr_desc pci_host_attrs[] = {
    {
	.group = DVM_PCI_HOST_GRP_STATE,
	.attr = DVM_PCI_HOST_STATE_REGS,
	.name = "regs",
	.size = sizeof(struct dvm_pci_host_state),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "CONFIG_ADDRESS latch and the host bridge's writable registers "
		"(struct dvm_pci_host_state)",
    },
};

/* Writable bits of the bridge's config bytes; all others are read-only. */
static uint8_t wmask(unsigned off)
{
	switch (off) {
	case REG_COMMAND:
		return DVM_PCI_HOST_COMMAND_MASK & 0xff;
	case REG_COMMAND + 1:
		return DVM_PCI_HOST_COMMAND_MASK >> 8;
	case REG_CACHE_LINE_SIZE:
	case REG_INTERRUPT_LINE:
		return 0xff;
	}
	return 0;
}

static void bridge_reset(struct pci_host *h)
{
	memset(h->cfg, 0, sizeof(h->cfg));
	put16(&h->cfg[REG_VENDOR_ID], DVM_PCI_HOST_VENDOR_ID);
	put16(&h->cfg[REG_DEVICE_ID], DVM_PCI_HOST_DEVICE_ID);
	h->cfg[REG_REVISION] = 0;
	h->cfg[REG_CLASS] = DVM_PCI_HOST_CLASS & 0xff;
	h->cfg[REG_CLASS + 1] = (DVM_PCI_HOST_CLASS >> 8) & 0xff;
	h->cfg[REG_CLASS + 2] = DVM_PCI_HOST_CLASS >> 16;
	h->cfg[REG_HEADER_TYPE] = 0x00; /* type 0, single function */
	put16(&h->cfg[REG_SUBSYS_VENDOR_ID], DVM_PCI_HOST_SUBSYS_VENDOR_ID);
	put16(&h->cfg[REG_SUBSYS_ID], DVM_PCI_HOST_SUBSYS_ID);
}

/* ---- 00:00.0 on the config bus ---- */

static void bridge_cfg_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct pci_host *h = opaque;
	uint8_t *p = data;

	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < len; i++)
		p[i] = offset + i < HDR_SIZE ? h->cfg[offset + i] : 0;
	pthread_mutex_unlock(&h->lock);
}

static void bridge_cfg_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pci_host *h = opaque;
	const uint8_t *p = data;

	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < len && offset + i < HDR_SIZE; i++) {
		uint8_t m = wmask(offset + i);
		h->cfg[offset + i] = (h->cfg[offset + i] & ~m) | (p[i] & m);
	}
	pthread_mutex_unlock(&h->lock);
}

static const struct dvm_io_ops bridge_cfg_ops = {
    .read = bridge_cfg_read,
    .write = bridge_cfg_write,
};

/* ---- CONFIG_ADDRESS, 0xcf8 ---- */

static void addr_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct pci_host *h = opaque;
	uint32_t v;

	if (offset != 0 || len != 4) {
		memset(data, 0xff, len); /* not ours: an ordinary I/O read nobody answers */
		return;
	}
	pthread_mutex_lock(&h->lock);
	v = h->config_address;
	pthread_mutex_unlock(&h->lock);
	memcpy(data, &v, 4);
}

static void addr_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pci_host *h = opaque;
	uint32_t v;

	if (offset != 0 || len != 4)
		return; /* only a full dword write latches */
	memcpy(&v, data, 4);
	pthread_mutex_lock(&h->lock);
	h->config_address = v & DVM_PCI_HOST_ADDR_MASK;
	pthread_mutex_unlock(&h->lock);
}

static const struct dvm_io_ops addr_ops = {
    .read = addr_read,
    .write = addr_write,
};

/* ---- CONFIG_DATA, 0xcfc-0xcff ---- */

/* The config-bus address of CONFIG_DATA byte `offset` under the latch, or
 * false when config cycles are disabled. */
static bool data_target(struct pci_host *h, uint64_t offset, uint64_t *addr)
{
	uint32_t ca;

	pthread_mutex_lock(&h->lock);
	ca = h->config_address;
	pthread_mutex_unlock(&h->lock);
	if (!(ca & DVM_PCI_HOST_ADDR_ENABLE))
		return false;
	/* bus 23:16, device 15:11, function 10:8 land on ECAM's 27:20, 19:15, 14:12. */
	*addr = ((uint64_t)(ca & 0x00ffff00) << 4) + (ca & 0xfc) + offset;
	return true;
}

static void data_access(struct pci_host *h, uint64_t offset, uint8_t *p, unsigned len,
			bool is_write)
{
	unsigned n = offset < 4 ? 4 - offset : 0; /* bytes that are CONFIG_DATA's */
	uint64_t addr;

	if (!is_write)
		memset(p, 0xff, len);
	if (n == 0 || !data_target(h, offset, &addr))
		return;
	if (n >= len) {
		dvm_bus_access(h->vm, DVM_BUS_PCI_CFG, addr, p, len, is_write);
		return;
	}
	/* An access running past 0xcff: its CONFIG_DATA bytes one by one. */
	for (unsigned i = 0; i < n; i++)
		dvm_bus_access(h->vm, DVM_BUS_PCI_CFG, addr + i, p + i, 1, is_write);
}

static void data_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	data_access(opaque, offset, data, len, false);
}

static void data_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	uint8_t buf[8];

	/* A private copy: the bus hands out a const buffer. */
	if (len > sizeof(buf))
		return;
	memcpy(buf, data, len);
	data_access(opaque, offset, buf, len, true);
}

static const struct dvm_io_ops data_ops = {
    .read = data_read,
    .write = data_write,
};

/* ---- device ---- */

static int pci_host_create(struct dvm_device *dev)
{
	struct pci_host *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->vm = dev->vm;
	bridge_reset(h);
	dev->private = h;
	return 0;
}

static void unregister_all(struct pci_host *h)
{
	if (h->reg_cfg)
		dvm_bus_unregister(h->vm, DVM_BUS_PCI_CFG, DVM_PCI_CFG_ADDR(0, 0, 0), h);
	if (h->reg_data)
		dvm_bus_unregister(h->vm, DVM_BUS_PIO, DVM_PCI_HOST_CONFIG_DATA, h);
	if (h->reg_addr)
		dvm_bus_unregister(h->vm, DVM_BUS_PIO, DVM_PCI_HOST_CONFIG_ADDRESS, h);
	h->reg_cfg = h->reg_data = h->reg_addr = false;
}

static int pci_host_start(struct dvm_device *dev)
{
	struct pci_host *h = dev->private;
	int ret;

	if (h->reg_addr)
		return 0;
	/* Port 0xcf8 alone: 0xcf9-0xcfb are not the latch's (see the top). */
	ret = dvm_bus_register(h->vm, DVM_BUS_PIO, DVM_PCI_HOST_CONFIG_ADDRESS, 1, &addr_ops, h);
	if (ret)
		return ret;
	h->reg_addr = true;
	ret = dvm_bus_register(h->vm, DVM_BUS_PIO, DVM_PCI_HOST_CONFIG_DATA, 4, &data_ops, h);
	if (ret)
		goto fail;
	h->reg_data = true;
	ret = dvm_bus_register(h->vm, DVM_BUS_PCI_CFG, DVM_PCI_CFG_ADDR(0, 0, 0), DVM_PCI_CFG_SIZE,
			       &bridge_cfg_ops, h);
	if (ret)
		goto fail;
	h->reg_cfg = true;
	return 0;
fail:
	unregister_all(h);
	return ret;
}

static void pci_host_destroy(struct dvm_device *dev)
{
	struct pci_host *h = dev->private;

	if (!h)
		return;
	unregister_all(h); /* after this no vCPU is inside our handlers */
	pthread_mutex_destroy(&h->lock);
	free(h);
	dev->private = NULL;
}

static int pci_host_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct pci_host *h = dev->private;
	struct dvm_pci_host_state s;

	if (attr->group != DVM_PCI_HOST_GRP_STATE || attr->attr != DVM_PCI_HOST_STATE_REGS)
		return -ENXIO;
	memcpy(&s, (const void *)(uintptr_t)attr->addr, sizeof(s));
	if ((s.config_address & ~DVM_PCI_HOST_ADDR_MASK) ||
	    (s.command & ~DVM_PCI_HOST_COMMAND_MASK) || s.reserved[0] || s.reserved[1])
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	h->config_address = s.config_address;
	put16(&h->cfg[REG_COMMAND], s.command);
	h->cfg[REG_CACHE_LINE_SIZE] = s.cache_line_size;
	h->cfg[REG_INTERRUPT_LINE] = s.interrupt_line;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int pci_host_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct pci_host *h = dev->private;
	struct dvm_pci_host_state s;

	if (attr->group != DVM_PCI_HOST_GRP_STATE || attr->attr != DVM_PCI_HOST_STATE_REGS)
		return -ENXIO;
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&h->lock);
	s.config_address = h->config_address;
	s.command = get16(&h->cfg[REG_COMMAND]);
	s.cache_line_size = h->cfg[REG_CACHE_LINE_SIZE];
	s.interrupt_line = h->cfg[REG_INTERRUPT_LINE];
	pthread_mutex_unlock(&h->lock);
	memcpy((void *)(uintptr_t)attr->addr, &s, sizeof(s));
	return 0;
}

const struct dvm_device_ops dvm_pci_host_ops = {
    .name = "pci-host",
    .type = DVM_DEV_TYPE_PCI_HOST,
    .flags = DVM_OPS_SINGLETON,
    .summary = "PCI config mechanism #1 (0xcf8/0xcfc) and the Q35 MCH host bridge at 00:00.0",
    .attrs = pci_host_attrs,
    .nr_attrs = sizeof(pci_host_attrs) / sizeof(pci_host_attrs[0]),
    .create = pci_host_create,
    .destroy = pci_host_destroy,
    .set_attr = pci_host_set_attr,
    .get_attr = pci_host_get_attr,
    .start = pci_host_start,
};
