// SPDX-License-Identifier: MIT
/*
 * Unit tests of pci-host and the PCI config bus (DVM_BUS_PCI_CFG), on a VM
 * without /dev/kvm: CONFIG_ADDRESS latching, CONFIG_DATA decoding onto the
 * config bus (checked with a fake function that records what reaches it),
 * all-ones for absent functions and disabled cycles, the host bridge's
 * identity and writable masks, state round trip and rejection, and guest
 * nonsense at every port and width.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/pci_host.h"
#include "dvm/vm.h"

#define CF8 0xcf8
#define CFC 0xcfc
#define EN 0x80000000u

struct fx {
	struct dvm_vm *vm;
	int h;
};

static int setup(void **state)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct fx *f = calloc(1, sizeof(*f));
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_PCI_HOST};

	dvm_register_builtin_devices();
	assert_int_equal(dvm_vm_create(&cfg, &f->vm), 0);
	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	f->h = (int)cd.fd;
	*state = f;
	return 0;
}

static int setup_started(void **state)
{
	setup(state);
	assert_int_equal(dvm_vm_start(((struct fx *)*state)->vm), 0);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dvm_vm_shutdown(f->vm);
	free(f);
	return 0;
}

/* A guest port access of `len` bytes; returns the value read (or 0). */
static uint64_t pio(struct dvm_vm *vm, uint16_t port, unsigned len, bool write, uint64_t v,
		    bool *claimed)
{
	uint64_t data = write ? v : 0x5a5a5a5a5a5a5a5aull;
	bool c = dvm_bus_access(vm, DVM_BUS_PIO, port, &data, len, write);

	if (claimed)
		*claimed = c;
	if (!write && len < 8)
		data &= (1ull << (8 * len)) - 1;
	return write ? 0 : data;
}

static uint32_t in32(struct dvm_vm *vm, uint16_t port)
{
	return (uint32_t)pio(vm, port, 4, false, 0, NULL);
}

static uint16_t in16(struct dvm_vm *vm, uint16_t port)
{
	return (uint16_t)pio(vm, port, 2, false, 0, NULL);
}

static uint8_t in8(struct dvm_vm *vm, uint16_t port)
{
	return (uint8_t)pio(vm, port, 1, false, 0, NULL);
}

static void out(struct dvm_vm *vm, uint16_t port, unsigned len, uint64_t v)
{
	pio(vm, port, len, true, v, NULL);
}

static uint32_t addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return EN | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint32_t cfg_read(struct dvm_vm *vm, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
			 unsigned len)
{
	out(vm, CF8, 4, addr(bus, dev, fn, reg & 0xfc));
	return (uint32_t)pio(vm, CFC + (reg & 3), len, false, 0, NULL);
}

static void cfg_write(struct dvm_vm *vm, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
		      unsigned len, uint32_t v)
{
	out(vm, CF8, 4, addr(bus, dev, fn, reg & 0xfc));
	out(vm, CFC + (reg & 3), len, v);
}

static struct dvm_pci_host_state get_state(struct fx *f)
{
	struct dvm_pci_host_state s;

	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_PCI_HOST_GRP_STATE, DVM_PCI_HOST_STATE_REGS, &s), 0);
	return s;
}

static int set_state(struct fx *f, const struct dvm_pci_host_state *s)
{
	return dvm_device_set(f->vm, f->h, DVM_PCI_HOST_GRP_STATE, DVM_PCI_HOST_STATE_REGS, s);
}

/* A fake PCI function: records every access that reaches it. */
struct fake {
	unsigned reads, writes;
	uint64_t off;
	unsigned len;
	uint64_t val;
	uint8_t regs[DVM_PCI_CFG_SIZE];
};

static void fake_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct fake *k = opaque;

	assert_true(off + len <= DVM_PCI_CFG_SIZE);
	k->reads++;
	k->off = off;
	k->len = len;
	memcpy(data, &k->regs[off], len);
}

static void fake_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct fake *k = opaque;

	assert_true(off + len <= DVM_PCI_CFG_SIZE);
	k->writes++;
	k->off = off;
	k->len = len;
	k->val = 0;
	memcpy(&k->val, data, len);
	memcpy(&k->regs[off], data, len);
}

static const struct dvm_io_ops fake_ops = {.read = fake_read, .write = fake_write};

static void fake_fill(struct fake *k)
{
	for (unsigned i = 0; i < sizeof(k->regs); i++)
		k->regs[i] = (uint8_t)(i * 7 + 3);
}

/* ---- tests ---- */

static void schema_and_singleton(void **state)
{
	struct fx *f = *state;
	const struct dvm_device_ops *ops = dvm_device_ops_by_type(DVM_DEV_TYPE_PCI_HOST);
	const struct dvm_attr_desc *d;
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_PCI_HOST};
	struct dvm_pci_host_state s;

	assert_non_null(ops);
	assert_string_equal(ops->name, "pci-host");
	assert_ptr_equal(dvm_device_ops_by_name("pci-host"), ops);
	d = dvm_attr_by_name(ops, "regs");
	assert_non_null(d);
	assert_int_equal(d->kind, DVM_ATTR_STATE);
	assert_int_equal(d->size, sizeof(struct dvm_pci_host_state));
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_PCI_HOST_GRP_STATE, 0), 0);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_PCI_HOST_GRP_STATE, 1), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, 0, 0), -ENXIO);
	assert_int_equal(dvm_device_get(f->vm, f->h, 0, 0, &s), -ENXIO);
	assert_int_equal(dvm_device_get(f->vm, f->h, DVM_PCI_HOST_GRP_STATE, 0, NULL), -EFAULT);
	/* One per VM. */
	assert_int_equal(dvm_create_device(f->vm, &cd), -EEXIST);
	/* Before start nothing is on the buses. */
	bool claimed = true;
	pio(f->vm, CFC, 4, false, 0, &claimed);
	assert_false(claimed);
	pio(f->vm, CF8, 4, false, 0, &claimed);
	assert_false(claimed);
}

static void bridge_identity(void **state)
{
	struct fx *f = *state;
	uint8_t want[256] = {0};

	want[0x00] = 0x86, want[0x01] = 0x80, want[0x02] = 0xc0, want[0x03] = 0x29;
	want[0x0b] = 0x06; /* class 06, subclass 00, prog-if 00 */
	want[0x2c] = 0xf4, want[0x2d] = 0x1a, want[0x2e] = 0x00, want[0x2f] = 0x11;
	for (unsigned reg = 0; reg < 256; reg += 4) {
		uint32_t w;
		memcpy(&w, &want[reg], 4);
		assert_int_equal(cfg_read(f->vm, 0, 0, 0, reg, 4), w);
	}
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x08, 4) >> 8, DVM_PCI_HOST_CLASS);
	/* Header type 0, single function: no functions 1-7. */
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x0e, 1), 0x00);
	for (unsigned fn = 1; fn < 8; fn++)
		assert_int_equal(cfg_read(f->vm, 0, 0, fn, 0, 4), 0xffffffffu);
	/* Beyond the 256-byte header (reachable on the config bus only): 0. */
	for (unsigned off = 0x100; off < DVM_PCI_CFG_SIZE; off += 0x1fc) {
		uint32_t v = 0x12345678;
		assert_true(dvm_bus_access(f->vm, DVM_BUS_PCI_CFG, DVM_PCI_CFG_ADDR(0, 0, 0) + off,
					   &v, 4, false));
		assert_int_equal(v, 0);
		v = 0xffffffff;
		assert_true(dvm_bus_access(f->vm, DVM_BUS_PCI_CFG, DVM_PCI_CFG_ADDR(0, 0, 0) + off,
					   &v, 4, true));
	}
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0, 4), 0x29c08086u);
}

static void config_address_latch(void **state)
{
	struct fx *f = *state;
	bool claimed;

	out(f->vm, CF8, 4, 0x80000000);
	assert_int_equal(in32(f->vm, CF8), 0x80000000u);
	/* Reserved bits 30:24 and 1:0 are not kept. */
	out(f->vm, CF8, 4, 0xffffffff);
	assert_int_equal(in32(f->vm, CF8), DVM_PCI_HOST_ADDR_MASK);
	out(f->vm, CF8, 4, 0x12345678);
	assert_int_equal(in32(f->vm, CF8), 0x00345678);
	assert_int_equal(get_state(f).config_address, 0x00345678);

	/* Byte and word accesses at 0xcf8 are not the latch's. */
	out(f->vm, CF8, 4, addr(0, 3, 0, 0x10));
	out(f->vm, CF8, 1, 0x00);
	out(f->vm, CF8, 2, 0x0000);
	assert_int_equal(in32(f->vm, CF8), addr(0, 3, 0, 0x10));
	assert_int_equal(pio(f->vm, CF8, 1, false, 0, &claimed), 0xff);
	assert_int_equal(pio(f->vm, CF8, 2, false, 0, &claimed), 0xffff);
	/* 0xcf9-0xcfb are nobody's: unclaimed, and free for another device. */
	for (uint16_t p = CF8 + 1; p < CFC; p++) {
		for (unsigned len = 1; len <= 4; len *= 2) {
			assert_int_equal(pio(f->vm, p, len, false, 0, &claimed),
					 len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1);
			assert_false(claimed);
			pio(f->vm, p, len, true, 0, &claimed);
			assert_false(claimed);
		}
	}
	struct fake k = {0};
	assert_int_equal(dvm_bus_register(f->vm, DVM_BUS_PIO, 0xcf9, 1, &fake_ops, &k), 0);
	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_PIO, 0xcf9, &k), 0);
	assert_int_equal(in32(f->vm, CF8), addr(0, 3, 0, 0x10));
}

static void data_decodes_onto_config_bus(void **state)
{
	struct fx *f = *state;
	static struct fake k1, k2, k3;
	uint64_t a1 = DVM_PCI_CFG_ADDR(1, 2, 5), a2 = DVM_PCI_CFG_ADDR(0, 31, 7),
		 a3 = DVM_PCI_CFG_ADDR(255, 31, 7);

	assert_int_equal(a3 + DVM_PCI_CFG_SIZE, DVM_PCI_CFG_LIMIT);
	fake_fill(&k1);
	fake_fill(&k2);
	fake_fill(&k3);
	assert_int_equal(
	    dvm_bus_register(f->vm, DVM_BUS_PCI_CFG, a1, DVM_PCI_CFG_SIZE, &fake_ops, &k1), 0);
	assert_int_equal(
	    dvm_bus_register(f->vm, DVM_BUS_PCI_CFG, a2, DVM_PCI_CFG_SIZE, &fake_ops, &k2), 0);
	assert_int_equal(
	    dvm_bus_register(f->vm, DVM_BUS_PCI_CFG, a3, DVM_PCI_CFG_SIZE, &fake_ops, &k3), 0);

	/* Word write at 0xcfe: register 0x44 + 2. */
	out(f->vm, CF8, 4, addr(1, 2, 5, 0x44));
	out(f->vm, CFC + 2, 2, 0xbeef);
	assert_int_equal(k1.writes, 1);
	assert_int_equal(k1.off, 0x46);
	assert_int_equal(k1.len, 2);
	assert_int_equal(k1.val, 0xbeef);
	/* Byte read at 0xcfd: register 0x45, one byte. */
	assert_int_equal(in8(f->vm, CFC + 1), k1.regs[0x45]);
	assert_int_equal(k1.off, 0x45);
	assert_int_equal(k1.len, 1);
	/* Dword: the whole register. */
	uint32_t w;
	memcpy(&w, &k1.regs[0x44], 4);
	assert_int_equal(in32(f->vm, CFC), w);
	assert_int_equal(k1.off, 0x44);
	assert_int_equal(k1.len, 4);
	/* Word at 0xcfd: registers 0x45-0x46 in one access. */
	assert_int_equal(in16(f->vm, CFC + 1), w >> 8 & 0xffff);
	assert_int_equal(k1.off, 0x45);
	assert_int_equal(k1.len, 2);

	/* Address bits 1:0 don't move the register; 0xfc is the last one. */
	out(f->vm, CF8, 4, addr(0, 31, 7, 0xfc) | 3);
	assert_int_equal(in8(f->vm, CFC + 3), k2.regs[0xff]);
	assert_int_equal(k2.off, 0xff);
	out(f->vm, CFC, 4, 0xa1b2c3d4);
	assert_int_equal(k2.off, 0xfc);
	assert_int_equal(k2.val, 0xa1b2c3d4);
	assert_int_equal(k1.writes, 1); /* nothing strayed to another function */

	/* The highest bus/device/function. */
	out(f->vm, CF8, 4, addr(255, 31, 7, 0x08));
	out(f->vm, CFC + 1, 1, 0x77);
	assert_int_equal(k3.writes, 1);
	assert_int_equal(k3.off, 0x09);
	assert_int_equal(k3.val, 0x77);

	/* Functions next to them are absent: all-ones, writes go nowhere. */
	unsigned before = k1.reads + k1.writes + k2.reads + k2.writes + k3.reads + k3.writes;
	assert_int_equal(cfg_read(f->vm, 1, 2, 4, 0, 4), 0xffffffffu);
	assert_int_equal(cfg_read(f->vm, 1, 2, 6, 0, 2), 0xffff);
	assert_int_equal(cfg_read(f->vm, 1, 3, 5, 0x41, 1), 0xff);
	assert_int_equal(cfg_read(f->vm, 0, 30, 7, 0, 4), 0xffffffffu);
	assert_int_equal(cfg_read(f->vm, 254, 31, 7, 0, 4), 0xffffffffu);
	cfg_write(f->vm, 1, 2, 4, 0x10, 4, 0xffffffff);
	cfg_write(f->vm, 2, 2, 5, 0x10, 4, 0xffffffff);
	assert_int_equal(before,
			 k1.reads + k1.writes + k2.reads + k2.writes + k3.reads + k3.writes);

	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_PCI_CFG, a1, &k1), 0);
	assert_int_equal(cfg_read(f->vm, 1, 2, 5, 0x44, 4), 0xffffffffu);
	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_PCI_CFG, a2, &k2), 0);
	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_PCI_CFG, a3, &k3), 0);
}

static void disabled_cycles_and_edges(void **state)
{
	struct fx *f = *state;
	static struct fake k;
	uint64_t a = DVM_PCI_CFG_ADDR(0, 4, 0);

	fake_fill(&k);
	assert_int_equal(
	    dvm_bus_register(f->vm, DVM_BUS_PCI_CFG, a, DVM_PCI_CFG_SIZE, &fake_ops, &k), 0);

	/* Enable bit clear: no cycle at any width or offset. */
	out(f->vm, CF8, 4, addr(0, 4, 0, 0x20) & ~EN);
	for (uint16_t p = CFC; p < CFC + 4; p++)
		for (unsigned len = 1; len <= 4; len *= 2) {
			assert_int_equal(pio(f->vm, p, len, false, 0, NULL),
					 len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1);
			out(f->vm, p, len, 0);
		}
	assert_int_equal(k.reads + k.writes, 0);
	/* Also for 00:00.0. */
	out(f->vm, CF8, 4, 0);
	assert_int_equal(in32(f->vm, CFC), 0xffffffffu);

	/* A dword at 0xcfd runs past 0xcff: its three CONFIG_DATA bytes, then ones. */
	out(f->vm, CF8, 4, addr(0, 4, 0, 0x20));
	uint32_t v = in32(f->vm, CFC + 1);
	assert_int_equal(v & 0xff, k.regs[0x21]);
	assert_int_equal(v >> 8 & 0xff, k.regs[0x22]);
	assert_int_equal(v >> 16 & 0xff, k.regs[0x23]);
	assert_int_equal(v >> 24, 0xff);
	assert_int_equal(k.reads, 3);
	assert_int_equal(k.len, 1);
	/* Word at 0xcff. */
	assert_int_equal(in16(f->vm, CFC + 3), 0xff00 | k.regs[0x23]);
	/* Writes past 0xcff write only the CONFIG_DATA bytes. */
	out(f->vm, CFC + 2, 4, 0x11223344);
	assert_int_equal(k.regs[0x22], 0x44);
	assert_int_equal(k.regs[0x23], 0x33);
	assert_int_equal(k.regs[0x24], (uint8_t)(0x24 * 7 + 3));
	/* An 8-byte access (no x86 port access is, but the bus allows it). */
	uint64_t q = pio(f->vm, CFC, 8, false, 0, NULL);
	assert_int_equal(q >> 32, 0xffffffffu);
	assert_int_equal(q & 0xff, k.regs[0x20]);
	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_PCI_CFG, a, &k), 0);
}

static void writable_masks(void **state)
{
	struct fx *f = *state;
	uint32_t before[64];

	for (unsigned i = 0; i < 64; i++)
		before[i] = cfg_read(f->vm, 0, 0, 0, i * 4, 4);
	/* All ones everywhere, at every width: only the writable bits take. */
	for (unsigned reg = 0; reg < 256; reg += 4)
		cfg_write(f->vm, 0, 0, 0, reg, 4, 0xffffffff);
	for (unsigned reg = 0; reg < 256; reg += 2)
		cfg_write(f->vm, 0, 0, 0, reg, 2, 0xffff);
	for (unsigned reg = 0; reg < 256; reg++)
		cfg_write(f->vm, 0, 0, 0, reg, 1, 0xff);
	for (unsigned i = 0; i < 64; i++) {
		uint32_t want = before[i];
		if (i == 0x04 / 4)
			want |= DVM_PCI_HOST_COMMAND_MASK; /* status stays 0 */
		if (i == 0x0c / 4)
			want |= 0xff; /* cache line size */
		if (i == 0x3c / 4)
			want |= 0xff; /* interrupt line */
		assert_int_equal(cfg_read(f->vm, 0, 0, 0, i * 4, 4), want);
	}
	struct dvm_pci_host_state s = get_state(f);
	assert_int_equal(s.command, DVM_PCI_HOST_COMMAND_MASK);
	assert_int_equal(s.cache_line_size, 0xff);
	assert_int_equal(s.interrupt_line, 0xff);

	/* Command by word and by byte; the vendor ID stays. */
	cfg_write(f->vm, 0, 0, 0, 0x04, 2, 0x0006);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x04, 2), 0x0006);
	cfg_write(f->vm, 0, 0, 0, 0x05, 1, 0x04);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x04, 2), 0x0406);
	cfg_write(f->vm, 0, 0, 0, 0x00, 2, 0x1234);
	cfg_write(f->vm, 0, 0, 0, 0x01, 1, 0x00);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x00, 4), 0x29c08086u);
	/* Zeros clear the writable bits again. */
	cfg_write(f->vm, 0, 0, 0, 0x04, 4, 0);
	cfg_write(f->vm, 0, 0, 0, 0x0c, 4, 0);
	cfg_write(f->vm, 0, 0, 0, 0x3c, 4, 0);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(cfg_read(f->vm, 0, 0, 0, i * 4, 4), before[i]);
}

static void byte_and_word_reads_agree(void **state)
{
	struct fx *f = *state;

	cfg_write(f->vm, 0, 0, 0, 0x04, 2, 0x0107);
	cfg_write(f->vm, 0, 0, 0, 0x0c, 1, 0x10);
	for (unsigned reg = 0; reg < 256; reg++) {
		uint32_t d = cfg_read(f->vm, 0, 0, 0, reg & ~3u, 4), sh = 8 * (reg & 3);
		assert_int_equal(cfg_read(f->vm, 0, 0, 0, reg, 1), d >> sh & 0xff);
		if ((reg & 3) != 3)
			assert_int_equal(cfg_read(f->vm, 0, 0, 0, reg, 2), d >> sh & 0xffff);
	}
}

static void state_round_trip(void **state)
{
	struct fx *f = *state;
	struct dvm_pci_host_state s, t;

	cfg_write(f->vm, 0, 0, 0, 0x04, 2, 0x0006);
	cfg_write(f->vm, 0, 0, 0, 0x0c, 1, 0x10);
	cfg_write(f->vm, 0, 0, 0, 0x3c, 1, 0x0b);
	out(f->vm, CF8, 4, addr(0, 0, 0, 0x08));
	s = get_state(f);
	assert_int_equal(s.config_address, addr(0, 0, 0, 0x08));
	assert_int_equal(s.command, 0x0006);
	assert_int_equal(s.cache_line_size, 0x10);
	assert_int_equal(s.interrupt_line, 0x0b);
	assert_int_equal(s.reserved[0] | s.reserved[1], 0);

	/* The guest changes everything; the saved state brings it back. */
	cfg_write(f->vm, 0, 0, 0, 0x04, 2, 0x0541);
	cfg_write(f->vm, 0, 0, 0, 0x0c, 1, 0x20);
	cfg_write(f->vm, 0, 0, 0, 0x3c, 1, 0x05);
	out(f->vm, CF8, 4, 0);
	assert_int_equal(set_state(f, &s), 0);
	t = get_state(f);
	assert_memory_equal(&s, &t, sizeof(s));
	/* And the guest sees it: the latch points at the class register. */
	assert_int_equal(in32(f->vm, CFC) >> 8, DVM_PCI_HOST_CLASS);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x04, 2), 0x0006);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x0c, 1), 0x10);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x3c, 1), 0x0b);

	/* A state restored before start is what the guest finds. */
	void *gs = NULL;
	setup(&gs);
	struct fx *g2 = gs;
	assert_int_equal(set_state(g2, &s), 0);
	assert_int_equal(dvm_vm_start(g2->vm), 0);
	assert_int_equal(in32(g2->vm, CF8), s.config_address);
	assert_int_equal(cfg_read(g2->vm, 0, 0, 0, 0x04, 2), 0x0006);
	teardown(&gs);
}

static void state_rejection(void **state)
{
	struct fx *f = *state;
	struct dvm_pci_host_state good, bad, now;

	cfg_write(f->vm, 0, 0, 0, 0x04, 2, 0x0002);
	out(f->vm, CF8, 4, addr(0, 1, 0, 0x40));
	good = get_state(f);
	static const struct {
		uint32_t ca;
		uint16_t cmd;
		uint32_t r0, r1;
	} cases[] = {
	    {0x00000001, 0, 0, 0}, {0x00000002, 0, 0, 0}, {0x01000000, 0, 0, 0},
	    {0x40000000, 0, 0, 0}, {0, 0x0008, 0, 0},	  {0, 0x8000, 0, 0},
	    {0, 0x0200, 0, 0},	   {0, 0, 1, 0},	  {0, 0, 0, 0x80000000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = good;
		bad.config_address |= cases[i].ca;
		bad.command |= cases[i].cmd;
		bad.reserved[0] = cases[i].r0;
		bad.reserved[1] = cases[i].r1;
		assert_int_equal(set_state(f, &bad), -EINVAL);
		now = get_state(f);
		assert_memory_equal(&now, &good, sizeof(now));
	}
	/* Every field at its extreme legal value is accepted. */
	bad = (struct dvm_pci_host_state){.config_address = DVM_PCI_HOST_ADDR_MASK,
					  .command = DVM_PCI_HOST_COMMAND_MASK,
					  .cache_line_size = 0xff,
					  .interrupt_line = 0xff};
	assert_int_equal(set_state(f, &bad), 0);
	now = get_state(f);
	assert_memory_equal(&now, &bad, sizeof(now));
	assert_int_equal(dvm_device_set(f->vm, f->h, DVM_PCI_HOST_GRP_STATE, 0, (void *)8),
			 -EFAULT);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void guest_garbage(void **state)
{
	struct fx *f = *state;
	static const unsigned lens[] = {1, 2, 4, 8};

	/* Every port near the host's, every width, reads and writes. */
	for (unsigned round = 0; round < 4; round++)
		for (uint16_t p = 0xcf0; p < 0xd08; p++)
			for (unsigned l = 0; l < 4; l++) {
				pio(f->vm, p, lens[l], true, rnd(), NULL);
				pio(f->vm, p, lens[l], false, 0, NULL);
			}
	/* Random latches and data accesses, some aimed at 00:00.0. */
	for (unsigned i = 0; i < 20000; i++) {
		uint32_t a = (uint32_t)rnd();
		if (i & 1)
			a &= 0x800000ff;
		out(f->vm, CF8, 4, a);
		pio(f->vm, CFC + (rnd() & 7), lens[rnd() & 3], rnd() & 1, rnd(), NULL);
	}
	/* The bridge kept its identity; only writable bits may have changed. */
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x00, 4), 0x29c08086u);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x08, 4), 0x06000000u);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x2c, 4), 0x11001af4u);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x04, 4) & ~DVM_PCI_HOST_COMMAND_MASK, 0);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x0c, 4) & ~0xffu, 0);
	struct dvm_pci_host_state s = get_state(f);
	assert_int_equal(s.config_address & ~DVM_PCI_HOST_ADDR_MASK, 0);
	/* The raw config bus too, every width, any offset of 00:00.0. */
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t v = rnd();
		unsigned len = lens[rnd() & 3];
		uint64_t a = DVM_PCI_CFG_ADDR(0, 0, 0) + (rnd() % DVM_PCI_CFG_SIZE);
		if (a + len > DVM_PCI_CFG_ADDR(0, 0, 1))
			continue; /* the bus picks the range by the first byte */
		dvm_bus_access(f->vm, DVM_BUS_PCI_CFG, a, &v, len, rnd() & 1);
	}
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0x00, 4), 0x29c08086u);
}

/* The core's config bus itself: bounds, overlap, all-ones when unclaimed. */
static void config_bus_rules(void **state)
{
	struct fx *f = *state;
	static struct fake k;
	uint64_t v = 0;

	assert_int_equal(DVM_PCI_CFG_ADDR(1, 2, 3), (1u << 20) | (2u << 15) | (3u << 12));
	assert_int_equal(DVM_PCI_CFG_ADDR(0x1ff, 0x3f, 0xf), DVM_PCI_CFG_ADDR(0xff, 0x1f, 7));
	assert_int_equal(
	    dvm_bus_register(f->vm, DVM_BUS_PCI_CFG, DVM_PCI_CFG_LIMIT, 1, &fake_ops, &k), -EINVAL);
	assert_int_equal(dvm_bus_register(f->vm, DVM_BUS_PCI_CFG,
					  DVM_PCI_CFG_LIMIT - DVM_PCI_CFG_SIZE,
					  2 * DVM_PCI_CFG_SIZE, &fake_ops, &k),
			 -EINVAL);
	assert_int_equal(dvm_bus_register(f->vm, DVM_BUS_PCI_CFG, 0, 0, &fake_ops, &k), -EINVAL);
	assert_int_equal(dvm_bus_register(f->vm, DVM_BUS_NR, 0, 1, &fake_ops, &k), -EINVAL);
	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_NR, 0, &k), -EINVAL);
	assert_false(dvm_bus_access(f->vm, DVM_BUS_NR, 0, &v, 4, false));
	/* 00:00.0 is the bridge's: overlapping it is refused. */
	assert_int_equal(dvm_bus_register(f->vm, DVM_BUS_PCI_CFG, DVM_PCI_CFG_ADDR(0, 0, 0) + 0x800,
					  DVM_PCI_CFG_SIZE, &fake_ops, &k),
			 -EEXIST);
	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_PCI_CFG, 0, &k), -ENOENT);
	/* Unclaimed: all-ones, reported as such. */
	v = 0;
	assert_false(
	    dvm_bus_access(f->vm, DVM_BUS_PCI_CFG, DVM_PCI_CFG_ADDR(3, 0, 0), &v, 8, false));
	assert_true(v == ~0ull);
	/* The same address in the PIO and MMIO spaces is a different thing. */
	assert_int_equal(dvm_bus_register(f->vm, DVM_BUS_MMIO, 0, DVM_PCI_CFG_SIZE, &fake_ops, &k),
			 0);
	assert_int_equal(dvm_bus_unregister(f->vm, DVM_BUS_MMIO, 0, &k), 0);
	assert_int_equal(cfg_read(f->vm, 0, 0, 0, 0, 4), 0x29c08086u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(schema_and_singleton, setup, teardown),
	    cmocka_unit_test_setup_teardown(bridge_identity, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(config_address_latch, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(data_decodes_onto_config_bus, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(disabled_cycles_and_edges, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(writable_masks, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(byte_and_word_reads_agree, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(state_round_trip, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(state_rejection, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(guest_garbage, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(config_bus_rules, setup_started, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
