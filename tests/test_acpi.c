// SPDX-License-Identifier: MIT
/*
 * Unit tests of the ACPI table builder (on a plain buffer) and of the `acpi`
 * device: schema, configuration, PM registers through guest port accesses
 * on a VM without /dev/kvm, S5 power-off, state save/restore, and guest
 * nonsense at every port and width.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/acpi_tables.h"
#include "dvm/device.h"
#include "dvm/devices/acpi_pm.h"
#include "dvm/vm.h"

#define MEM_SIZE (1u << 20)
#define PM 0x600

/* ---- little-endian readers and table checks ---- */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* A table at `addr` in the area: its signature, a sane length, checksum 0. */
static const uint8_t *table(const uint8_t *m, uint64_t addr, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(addr >= DVM_ACPI_RSDP_ADDR && addr + 36 <= DVM_ACPI_AREA_END);
	t = m + addr;
	assert_memory_equal(t, sig, 4);
	len = rd32(t + 4);
	assert_true(len >= 36 && addr + len <= DVM_ACPI_AREA_END);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, DVM_ACPI_OEM_ID, 6);
	assert_memory_equal(t + 16, DVM_ACPI_OEM_TABLE_ID, 8);
	return t;
}

/* A GAS for an I/O block. */
static void check_gas(const uint8_t *g, uint8_t width, uint64_t port)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], width);
	assert_int_equal(g[2], 0);
	assert_int_equal(rd64(g + 4), port);
}

struct parsed {
	const uint8_t *rsdp, *rsdt, *xsdt, *fadt, *facs, *dsdt, *madt;
	unsigned lapics, ioapics, isos, nmis;
};

/* Walk and check everything the builder wrote for `cfg`. */
static struct parsed check_tables(const uint8_t *m, const struct dvm_acpi_tables_config *cfg)
{
	struct parsed p = {0};
	const uint8_t *e, *end;
	uint64_t facs, dsdt;

	/* RSDP, revision 2: both checksums. */
	p.rsdp = m + DVM_ACPI_RSDP_ADDR;
	assert_memory_equal(p.rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(p.rsdp, 20), 0);
	assert_int_equal(sum(p.rsdp, 36), 0);
	assert_int_equal(p.rsdp[15], 2);
	assert_int_equal(rd32(p.rsdp + 20), 36);
	assert_memory_equal(p.rsdp + 9, DVM_ACPI_OEM_ID, 6);

	/* RSDT and XSDT: FADT then MADT, the same addresses. */
	p.rsdt = table(m, rd32(p.rsdp + 16), "RSDT");
	p.xsdt = table(m, rd64(p.rsdp + 24), "XSDT");
	assert_int_equal(rd32(p.rsdt + 4), 36 + 2 * 4);
	assert_int_equal(rd32(p.xsdt + 4), 36 + 2 * 8);
	assert_int_equal(rd64(p.xsdt + 36), rd32(p.rsdt + 36));
	assert_int_equal(rd64(p.xsdt + 44), rd32(p.rsdt + 40));
	p.fadt = table(m, rd32(p.rsdt + 36), "FACP");
	p.madt = table(m, rd32(p.rsdt + 40), "APIC");

	/* FADT, revision 3, 244 bytes. */
	assert_true(p.fadt[8] >= 3);
	assert_int_equal(rd32(p.fadt + 4), 244);
	facs = rd32(p.fadt + 36);
	dsdt = rd32(p.fadt + 40);
	assert_int_equal(rd64(p.fadt + 132), facs);
	assert_int_equal(rd64(p.fadt + 140), dsdt);
	assert_int_equal(rd16(p.fadt + 46), cfg->sci_irq);
	assert_int_equal(rd32(p.fadt + 48), 0); /* SMI_CMD: always in ACPI mode */
	assert_int_equal(rd32(p.fadt + 56), cfg->pm_base);
	assert_int_equal(rd32(p.fadt + 60), 0); /* no PM1b */
	assert_int_equal(rd32(p.fadt + 64), cfg->pm_base + 4);
	assert_int_equal(rd32(p.fadt + 72), 0); /* no PM2 */
	assert_int_equal(rd32(p.fadt + 76), cfg->pm_base + 8);
	assert_int_equal(rd32(p.fadt + 80), 0); /* no GPE0 */
	assert_int_equal(p.fadt[88], 4);	/* PM1_EVT_LEN */
	assert_int_equal(p.fadt[89], 2);	/* PM1_CNT_LEN */
	assert_int_equal(p.fadt[91], 4);	/* PM_TMR_LEN */
	assert_int_equal(p.fadt[92], 0);	/* GPE0_BLK_LEN */
	assert_true(rd16(p.fadt + 96) > 100);	/* no C2 */
	assert_true(rd16(p.fadt + 98) > 1000);	/* no C3 */
	assert_int_equal(p.fadt[108], 0x32);	/* CENTURY in the RTC's CMOS */
	assert_true(rd16(p.fadt + 109) & 0x2);	/* 8042 */
	uint32_t flags = rd32(p.fadt + 112);
	assert_true(flags & (1u << 0));	  /* WBINVD */
	assert_false(flags & (1u << 8));  /* TMR_VAL_EXT: 24-bit timer */
	assert_true(flags & (1u << 10));  /* RESET_REG_SUP */
	assert_false(flags & (1u << 20)); /* not hardware-reduced */
	check_gas(p.fadt + 116, 8, 0x64); /* reset register: the i8042 */
	assert_int_equal(p.fadt[128], 0xfe);
	check_gas(p.fadt + 148, 32, cfg->pm_base);
	check_gas(p.fadt + 172, 16, cfg->pm_base + 4);
	check_gas(p.fadt + 208, 32, cfg->pm_base + 8);
	for (unsigned off = 160; off < 172; off++) /* X_PM1b_EVT_BLK empty */
		assert_int_equal(p.fadt[off], 0);

	/* FACS: 64 bytes, 64-byte aligned, in the area. */
	assert_int_equal(facs % 64, 0);
	assert_true(facs >= DVM_ACPI_RSDP_ADDR && facs + 64 <= DVM_ACPI_AREA_END);
	assert_int_equal(facs, DVM_ACPI_FACS_ADDR);
	p.facs = m + facs;
	assert_memory_equal(p.facs, "FACS", 4);
	assert_int_equal(rd32(p.facs + 4), 64);

	/* DSDT: exactly Name (_S3, Package () {1, 1, 0, 0}), Name (_S5, Package () {0, 0, 0, 0}).
	 */
	static const uint8_t aml[] = {0x08, '_',  'S',	'3',  '_',  0x12, 0x06, 0x04,
				      0x01, 0x01, 0x00, 0x00, 0x08, '_',  'S',	'5',
				      '_',  0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
	p.dsdt = table(m, dsdt, "DSDT");
	assert_int_equal(rd32(p.dsdt + 4), 36 + sizeof(aml));
	assert_memory_equal(p.dsdt + 36, aml, sizeof(aml));

	/* MADT. */
	assert_int_equal(rd32(p.madt + 36), 0xfee00000);
	assert_int_equal(rd32(p.madt + 40), 1); /* PCAT_COMPAT */
	e = p.madt + 44;
	end = p.madt + rd32(p.madt + 4);
	while (e < end) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0: /* processor local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], p.lapics); /* UID */
			assert_int_equal(e[3], p.lapics); /* APIC ID = vCPU index */
			assert_int_equal(rd32(e + 4), 1); /* enabled */
			p.lapics++;
			break;
		case 1: /* I/O APIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], cfg->ioapic_id);
			assert_int_equal(rd32(e + 4), 0xfec00000);
			assert_int_equal(rd32(e + 8), 0);
			p.ioapics++;
			break;
		case 2: /* interrupt source override */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			if (e[3] == 0) {
				assert_int_equal(rd32(e + 4), 2);
				assert_int_equal(rd16(e + 8), 0);
			} else {
				assert_int_equal(e[3], cfg->sci_irq);
				assert_int_equal(rd32(e + 4), cfg->sci_irq);
				assert_int_equal(rd16(e + 8), 0xd); /* level, active high */
			}
			p.isos++;
			break;
		case 4: /* local APIC NMI */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1); /* LINT1 */
			p.nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		e += e[1];
	}
	assert_ptr_equal(e, end);
	assert_int_equal(p.lapics, cfg->nr_cpus);
	assert_int_equal(p.ioapics, 1);
	assert_int_equal(p.isos, 2);
	assert_int_equal(p.nmis, 1);
	return p;
}

/* ---- the builder ---- */

static struct dvm_acpi_tables_config default_cfg(uint16_t cpus)
{
	return (struct dvm_acpi_tables_config){
	    .pm_base = PM, .nr_cpus = cpus, .ioapic_id = 0, .sci_irq = 9};
}

static void test_builder_cpu_counts(void **state)
{
	static const uint16_t counts[] = {1, 2, 4, 64, 254, 255};
	struct dvm_guest_mem mem = {calloc(1, MEM_SIZE), MEM_SIZE};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct dvm_acpi_tables_config cfg = default_cfg(counts[i]);
		memset(mem.host, 0xa5, MEM_SIZE); /* stale bytes must not survive */
		assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err)), 0);
		struct parsed p = check_tables(mem.host, &cfg);
		assert_int_equal(rd32(p.madt + 4), 44 + 8 * counts[i] + 12 + 2 * 10 + 6);
		/* The area is zero past the last table; outside it is untouched. */
		assert_int_equal(mem.host[DVM_ACPI_AREA_END - 1], 0);
		assert_int_equal(mem.host[DVM_ACPI_RSDP_ADDR - 1], 0xa5);
		assert_int_equal(mem.host[DVM_ACPI_AREA_END], 0xa5);
	}
	free(mem.host);
}

static void test_builder_config(void **state)
{
	struct dvm_acpi_tables_config cfg = {
	    .pm_base = 0xb000, .nr_cpus = 3, .ioapic_id = 5, .sci_irq = 10};
	struct dvm_guest_mem mem = {calloc(1, MEM_SIZE), MEM_SIZE};

	(void)state;
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, NULL, 0), 0);
	check_tables(mem.host, &cfg);
	free(mem.host);
}

static void test_builder_errors(void **state)
{
	struct dvm_guest_mem mem = {calloc(1, MEM_SIZE), MEM_SIZE};
	struct dvm_guest_mem small = {mem.host, DVM_ACPI_AREA_END - 1};
	struct dvm_guest_mem none = {NULL, MEM_SIZE};
	struct dvm_acpi_tables_config cfg;
	char err[128];

	(void)state;
	cfg = default_cfg(0);
	err[0] = 0;
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "CPUs"));
	cfg = default_cfg(256);
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err)), -EINVAL);
	cfg = default_cfg(1);
	cfg.pm_base = 0;
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err)), -EINVAL);
	cfg.pm_base = 0xfff5;
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err)), -EINVAL);
	cfg = default_cfg(1);
	cfg.sci_irq = 2;
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err)), -EINVAL);
	cfg.sci_irq = 16;
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err)), -EINVAL);
	cfg = default_cfg(1);
	cfg.ioapic_id = 16;
	assert_int_equal(dvm_acpi_build_tables(&mem, &cfg, NULL, 0), -EINVAL);
	cfg = default_cfg(1);
	assert_int_equal(dvm_acpi_build_tables(&small, &cfg, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "0xf0000"));
	assert_int_equal(dvm_acpi_build_tables(&none, &cfg, err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_acpi_build_tables(NULL, &cfg, err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_acpi_build_tables(&mem, NULL, err, sizeof(err)), -EINVAL);
	/* Nothing was written by the refused calls. */
	for (size_t i = 0; i < MEM_SIZE; i++)
		if (mem.host[i])
			fail_msg("byte %#zx written", i);
	free(mem.host);
}

/* ---- the device ---- */

struct fx {
	struct dvm_vm *vm;
	int h;
};

static int setup_mem(void **state, uint64_t mem_size)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct dvm_vm_config cfg = {.mem_size = mem_size, .flags = DVM_VM_NO_KVM};
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_ACPI_PM};

	dvm_register_builtin_devices();
	assert_int_equal(dvm_vm_create(&cfg, &f->vm), 0);
	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	f->h = (int)cd.fd;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_mem(state, MEM_SIZE);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dvm_vm_shutdown(f->vm);
	free(f);
	return 0;
}

static uint32_t in(struct dvm_vm *vm, uint16_t port, unsigned len)
{
	uint64_t v = 0;

	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, port, &v, len, false));
	return (uint32_t)v;
}

static void out(struct dvm_vm *vm, uint16_t port, uint32_t val, unsigned len)
{
	uint64_t v = val;

	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, port, &v, len, true));
}

static struct dvm_acpi_pm_regs get_regs(struct fx *f)
{
	struct dvm_acpi_pm_regs r;

	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_ACPI_PM_GRP_STATE, DVM_ACPI_PM_STATE_REGS, &r), 0);
	return r;
}

static int set_regs(struct fx *f, const struct dvm_acpi_pm_regs *r)
{
	return dvm_device_set(f->vm, f->h, DVM_ACPI_PM_GRP_STATE, DVM_ACPI_PM_STATE_REGS, r);
}

static int set_cfg(struct fx *f, uint64_t attr, uint64_t value)
{
	return dvm_device_set(f->vm, f->h, DVM_ACPI_PM_GRP_CONFIG, attr, &value);
}

static void test_schema(void **state)
{
	struct fx *f = *state;
	const struct dvm_device_ops *ops = dvm_device_ops_by_name("acpi");
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_ACPI_PM};
	static const char *const names[] = {"pm-base", "cpus",	 "ioapic-id",
					    "sci-irq", "tables", "regs"};

	assert_non_null(ops);
	assert_int_equal(ops->type, DVM_DEV_TYPE_ACPI_PM);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct dvm_attr_desc *d = dvm_attr_by_name(ops, names[i]);
		assert_non_null(d);
		assert_int_equal(dvm_device_has(f->vm, f->h, d->group, d->attr), 0);
	}
	assert_int_equal(dvm_attr_by_name(ops, "regs")->kind, DVM_ATTR_STATE);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_ACPI_PM_GRP_CONFIG, 5), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_ACPI_PM_GRP_STATE, 1), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, 2, 0), -ENXIO);
	/* One per machine. */
	assert_int_equal(dvm_create_device(f->vm, &cd), -EEXIST);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint16_t u16v;
	uint8_t u8v;

	/* Defaults. */
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_ACPI_PM_GRP_CONFIG, DVM_ACPI_PM_CONFIG_PM_BASE, &u16v),
	    0);
	assert_int_equal(u16v, 0x600);
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_ACPI_PM_GRP_CONFIG, DVM_ACPI_PM_CONFIG_CPUS, &u16v), 0);
	assert_int_equal(u16v, 1);
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_ACPI_PM_GRP_CONFIG, DVM_ACPI_PM_CONFIG_SCI_IRQ, &u8v),
	    0);
	assert_int_equal(u8v, 9);
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_ACPI_PM_GRP_CONFIG, DVM_ACPI_PM_CONFIG_TABLES, &u8v),
	    0);
	assert_int_equal(u8v, 1);
	/* Out of range. */
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_CPUS, 0), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_CPUS, 256), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_PM_BASE, 0), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_PM_BASE, 0xfff5), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_SCI_IRQ, 0), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_SCI_IRQ, 2), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_SCI_IRQ, 16), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_IOAPIC_ID, 16), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_TABLES, 2), -EINVAL);
	/* In range. */
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_CPUS, 255), 0);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_PM_BASE, 0xfff4), 0);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_SCI_IRQ, 11), 0);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_IOAPIC_ID, 15), 0);
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_ACPI_PM_GRP_CONFIG, DVM_ACPI_PM_CONFIG_CPUS, &u16v), 0);
	assert_int_equal(u16v, 255);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	/* Configuration is fixed once running. */
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_CPUS, 2), -EBUSY);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_PM_BASE, 0x600), -EBUSY);
	assert_int_equal(in(f->vm, 0xfff4 + DVM_ACPI_PM1_CNT, 2), DVM_ACPI_PM1_CNT_SCI_EN);
}

/* The tables go into guest RAM at start, matching the configuration. */
static void test_tables_in_guest(void **state)
{
	struct fx *f = *state;
	struct dvm_acpi_tables_config cfg = {
	    .pm_base = 0xb000, .nr_cpus = 4, .ioapic_id = 2, .sci_irq = 10};
	uint8_t *m = dvm_vm_gpa_to_hva(f->vm, 0, MEM_SIZE);
	uint64_t v;

	assert_non_null(m);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_PM_BASE, 0xb000), 0);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_CPUS, 4), 0);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_IOAPIC_ID, 2), 0);
	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_SCI_IRQ, 10), 0);
	assert_int_equal(m[DVM_ACPI_RSDP_ADDR], 0); /* not before start */
	assert_int_equal(dvm_vm_start(f->vm), 0);
	check_tables(m, &cfg);
	/* The registers are where the FADT says, and nothing is at 0x600. */
	assert_int_equal(in(f->vm, 0xb004, 2), DVM_ACPI_PM1_CNT_SCI_EN);
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x604, &v, 2, false));
}

static void test_tables_off(void **state)
{
	struct fx *f = *state;
	uint8_t *m = dvm_vm_gpa_to_hva(f->vm, 0, MEM_SIZE);

	assert_int_equal(set_cfg(f, DVM_ACPI_PM_CONFIG_TABLES, 0), 0);
	memset(m + DVM_ACPI_RSDP_ADDR, 0x5a, 16);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(m[DVM_ACPI_RSDP_ADDR], 0x5a); /* left alone */
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_CNT, 2), DVM_ACPI_PM1_CNT_SCI_EN);
}

/* Guest RAM that ends below the table area: start fails, clearly. */
static int setup_small(void **state)
{
	return setup_mem(state, 0x80000);
}

static void test_tables_no_room(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dvm_vm_start(f->vm), -ENOSPC);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
}

static void test_pm1_registers(void **state)
{
	struct fx *f = *state;
	struct dvm_acpi_pm_regs r = {0};

	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_STS, 2), 0);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_EN, 2), 0);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_CNT, 2), DVM_ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_CNT, 4), DVM_ACPI_PM1_CNT_SCI_EN);

	/* PM1_EN keeps its defined bits. */
	out(f->vm, PM + DVM_ACPI_PM1_EN, 0xffff, 2);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_EN, 2), DVM_ACPI_PM1_EN_MASK);
	out(f->vm, PM + DVM_ACPI_PM1_EN + 1, 0x00, 1); /* high byte only */
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_EN, 2), DVM_ACPI_PM1_EN_MASK & 0xff);
	out(f->vm, PM + DVM_ACPI_PM1_EN, 0, 2);

	/* PM1_STS: write 1 to clear, 0 leaves a bit alone. */
	r.pm1_sts = DVM_ACPI_PM1_STS_TMR | DVM_ACPI_PM1_STS_WAK | DVM_ACPI_PM1_STS_PWRBTN;
	r.pm1_cnt = DVM_ACPI_PM1_CNT_SCI_EN;
	assert_int_equal(set_regs(f, &r), 0);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_STS, 2), r.pm1_sts);
	out(f->vm, PM + DVM_ACPI_PM1_STS, 0, 2);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_STS, 2), r.pm1_sts);
	out(f->vm, PM + DVM_ACPI_PM1_STS, DVM_ACPI_PM1_STS_WAK, 2);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_STS, 2),
			 DVM_ACPI_PM1_STS_TMR | DVM_ACPI_PM1_STS_PWRBTN);
	/* A dword write covers STS (clear) and EN (write) at once. */
	out(f->vm, PM, (uint32_t)DVM_ACPI_PM1_EN_PWRBTN << 16 | DVM_ACPI_PM1_STS_TMR, 4);
	assert_int_equal(in(f->vm, PM, 4),
			 (uint32_t)DVM_ACPI_PM1_EN_PWRBTN << 16 | DVM_ACPI_PM1_STS_PWRBTN);
	/* Byte write to the high half of STS. */
	out(f->vm, PM + 1, DVM_ACPI_PM1_STS_PWRBTN >> 8, 1);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_STS, 2), 0);

	/* PM1_CNT: SCI_EN and BM_RLD and SLP_TYP stick; GBL_RLS and SLP_EN read 0. */
	out(f->vm, PM + DVM_ACPI_PM1_CNT, 0x0007 | (5 << 10), 2);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_CNT, 2), 0x0003 | (5 << 10));
	out(f->vm, PM + DVM_ACPI_PM1_CNT, 0, 2);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_CNT, 2), 0); /* SCI_EN is writable */
	/* The reserved upper half of the 32-bit PM1_CNT reads 0 and ignores writes. */
	out(f->vm, PM + 6, 0xffff, 2);
	assert_int_equal(in(f->vm, PM + 6, 2), 0);
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
}

/* The SCI follows SCI_EN && (PM1_STS & PM1_EN). */
static void test_sci_line(void **state)
{
	struct fx *f = *state;
	struct dvm_acpi_pm_regs r = {
	    .pm1_sts = DVM_ACPI_PM1_STS_TMR,
	    .pm1_en = DVM_ACPI_PM1_EN_TMR,
	    .pm1_cnt = DVM_ACPI_PM1_CNT_SCI_EN,
	};

	assert_int_equal(set_regs(f, &r), 0); /* restored before start */
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 1);
	out(f->vm, PM + DVM_ACPI_PM1_EN, 0, 2);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 0);
	out(f->vm, PM + DVM_ACPI_PM1_EN, DVM_ACPI_PM1_EN_TMR, 2);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 1);
	out(f->vm, PM + DVM_ACPI_PM1_CNT, 0, 2); /* SCI_EN off */
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 0);
	out(f->vm, PM + DVM_ACPI_PM1_CNT, DVM_ACPI_PM1_CNT_SCI_EN, 2);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 1);
	out(f->vm, PM + DVM_ACPI_PM1_STS, DVM_ACPI_PM1_STS_TMR, 2); /* cleared */
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 0);
	/* A status bit that has no enable (WAK) raises nothing. */
	r.pm1_sts = DVM_ACPI_PM1_STS_WAK;
	r.pm1_en = DVM_ACPI_PM1_EN_MASK;
	assert_int_equal(set_regs(f, &r), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 0);
}

static uint64_t clock_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)(((unsigned __int128)ts.tv_sec * 1000000000u + ts.tv_nsec) *
			  DVM_ACPI_PM_TMR_HZ / 1000000000u);
}

/*
 * The timer counts CLOCK_MONOTONIC at 3.579545 MHz: between two reads it
 * advances by what the clock did around them.  No timing assumption: the
 * bounds come from clock reads bracketing each timer read.
 */
static void test_timer_rate(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	for (int i = 0; i < 20; i++) {
		uint64_t c0 = clock_ticks();
		uint32_t t0 = in(f->vm, PM + DVM_ACPI_PM_TMR, 4);
		uint64_t c1 = clock_ticks();
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
		uint64_t c2 = clock_ticks();
		uint32_t t1 = in(f->vm, PM + DVM_ACPI_PM_TMR, 4);
		uint64_t c3 = clock_ticks();
		uint32_t d = (t1 - t0) & DVM_ACPI_PM_TMR_MASK;

		assert_true(t0 <= DVM_ACPI_PM_TMR_MASK && t1 <= DVM_ACPI_PM_TMR_MASK);
		if (c3 - c0 >= DVM_ACPI_PM_TMR_MASK)
			continue; /* the host stalled for 4.7 s: the counter wrapped, no bound */
		assert_true(d + 1 >= c2 - c1);
		assert_true(d <= c3 - c0 + 1);
		assert_true(d > 0); /* 200 us is 716 ticks */
	}
	/* Bits 24-31 read 0 (TMR_VAL_EXT clear); every width and byte works. */
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM_TMR + 3, 1), 0);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM_TMR + 2, 2) >> 8, 0);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM_TMR, 4) >> 24, 0);
	/* Writes to the timer do nothing (it is read-only). */
	struct dvm_acpi_pm_regs r = {.pm1_cnt = DVM_ACPI_PM1_CNT_SCI_EN, .tmr = 0x100000};
	assert_int_equal(set_regs(f, &r), 0);
	out(f->vm, PM + DVM_ACPI_PM_TMR, 0, 4);
	assert_true(((in(f->vm, PM + DVM_ACPI_PM_TMR, 4) - 0x100000) & DVM_ACPI_PM_TMR_MASK) <
		    0x800000);
}

/* Restored just below 2^24, the counter wraps to small values and goes on. */
static void test_timer_wrap(void **state)
{
	struct fx *f = *state;
	struct dvm_acpi_pm_regs r = {.pm1_cnt = DVM_ACPI_PM1_CNT_SCI_EN, .tmr = 0xfffff0};
	uint64_t c0;
	uint32_t t;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(set_regs(f, &r), 0);
	c0 = clock_ticks();
	t = in(f->vm, PM + DVM_ACPI_PM_TMR, 4);
	assert_true(t <= DVM_ACPI_PM_TMR_MASK);
	while (clock_ticks() - c0 < 1000) /* 1000 ticks since the restore: past the wrap */
		;
	t = in(f->vm, PM + DVM_ACPI_PM_TMR, 4);
	if (clock_ticks() - c0 >= 0x800000)
		return;		   /* the host stalled for seconds: no bound to check */
	assert_true(t < 0xfffff0); /* wrapped */
	assert_true(((t - 0xfffff0) & DVM_ACPI_PM_TMR_MASK) >= 1000 - 2);
}

static void test_state_round_trip(void **state)
{
	struct fx *f = *state;
	struct dvm_acpi_pm_regs r = {
	    .pm1_sts = DVM_ACPI_PM1_STS_RTC | DVM_ACPI_PM1_STS_BM,
	    .pm1_en = DVM_ACPI_PM1_EN_RTC | DVM_ACPI_PM1_EN_GBL,
	    .pm1_cnt = DVM_ACPI_PM1_CNT_SCI_EN | (3 << 10),
	    .tmr = 0x123456,
	};
	struct dvm_acpi_pm_regs g;

	/* Fresh device: SCI_EN set, nothing else. */
	g = get_regs(f);
	assert_int_equal(g.pm1_sts, 0);
	assert_int_equal(g.pm1_en, 0);
	assert_int_equal(g.pm1_cnt, DVM_ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(g.reserved0, 0);
	assert_int_equal(g.reserved1, 0);
	assert_true(g.tmr <= DVM_ACPI_PM_TMR_MASK);

	assert_int_equal(set_regs(f, &r), 0);
	g = get_regs(f);
	assert_int_equal(g.pm1_sts, r.pm1_sts);
	assert_int_equal(g.pm1_en, r.pm1_en);
	assert_int_equal(g.pm1_cnt, r.pm1_cnt);
	/* The timer goes on from the restored count. */
	assert_true(((g.tmr - r.tmr) & DVM_ACPI_PM_TMR_MASK) < 0x800000);
	/* The guest sees the same. */
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(in(f->vm, PM, 4), (uint32_t)r.pm1_en << 16 | r.pm1_sts);
	assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_CNT, 2), r.pm1_cnt);
	assert_true(((in(f->vm, PM + DVM_ACPI_PM_TMR, 4) - r.tmr) & DVM_ACPI_PM_TMR_MASK) <
		    0x800000);
	/* Save, restore into the same device: nothing changes. */
	g = get_regs(f);
	assert_int_equal(set_regs(f, &g), 0);
	struct dvm_acpi_pm_regs g2 = get_regs(f);
	assert_int_equal(g2.pm1_sts, g.pm1_sts);
	assert_int_equal(g2.pm1_cnt, g.pm1_cnt);
	assert_true(((g2.tmr - g.tmr) & DVM_ACPI_PM_TMR_MASK) < 0x800000);
}

static void test_state_rejected(void **state)
{
	struct fx *f = *state;
	const struct dvm_acpi_pm_regs good = {
	    .pm1_sts = DVM_ACPI_PM1_STS_WAK, .pm1_en = 0, .pm1_cnt = 1, .tmr = 5};
	struct dvm_acpi_pm_regs bad[] = {good, good, good, good, good, good, good, good};
	struct dvm_acpi_pm_regs g;

	assert_int_equal(set_regs(f, &good), 0);
	bad[0].pm1_sts = 0x0002;		    /* undefined status bit */
	bad[1].pm1_en = 0x0002;			    /* undefined enable bit */
	bad[2].pm1_cnt |= DVM_ACPI_PM1_CNT_SLP_EN;  /* write-only */
	bad[3].pm1_cnt |= DVM_ACPI_PM1_CNT_GBL_RLS; /* write-only */
	bad[4].pm1_cnt |= 0x8000;		    /* reserved */
	bad[5].tmr = 0x1000000;			    /* more than 24 bits */
	bad[6].reserved0 = 1;
	bad[7].reserved1 = 0x80000000u;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(set_regs(f, &bad[i]), -EINVAL);
	g = get_regs(f);
	assert_int_equal(g.pm1_sts, good.pm1_sts);
	assert_int_equal(g.pm1_cnt, good.pm1_cnt);
	/* A bad pointer is EFAULT before anything is read. */
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_ACPI_PM_GRP_STATE, DVM_ACPI_PM_STATE_REGS, NULL),
	    -EFAULT);
}

static void expect_s5(struct fx *f, uint16_t port, uint32_t val, unsigned len)
{
	enum dvm_stop_reason reason = DVM_STOP_NONE;
	const char *msg = NULL;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
	out(f->vm, port, val, len);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
	assert_int_equal(dvm_vm_wait(f->vm, &reason, &msg), 0);
	assert_int_equal(reason, DVM_STOP_POWEROFF);
	assert_string_equal(msg, "guest powered off (ACPI S5)");
}

static void test_s5_word(void **state)
{
	struct fx *f = *state;

	expect_s5(f, PM + DVM_ACPI_PM1_CNT,
		  DVM_ACPI_PM1_CNT_SLP_EN | DVM_ACPI_S5_SLP_TYP << 10 | DVM_ACPI_PM1_CNT_SCI_EN, 2);
}

/* SLP_TYP and SLP_EN are both in the high byte: a byte write is a full request. */
static void test_s5_byte(void **state)
{
	struct fx *f = *state;

	expect_s5(f, PM + DVM_ACPI_PM1_CNT + 1, (DVM_ACPI_PM1_CNT_SLP_EN >> 8), 1);
}

static void test_s5_dword(void **state)
{
	struct fx *f = *state;

	expect_s5(f, PM + DVM_ACPI_PM1_CNT, DVM_ACPI_PM1_CNT_SLP_EN | 0xffff0000u, 4);
}

/* The other sleep types are refused: no stop, one warning for all of them. */
static void test_other_sleep_types(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/dvm-test-acpi-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char buf[1024] = "";
	ssize_t n;
	int lines = 0;

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	/* SLP_TYP 0 without SLP_EN is no request. */
	out(f->vm, PM + DVM_ACPI_PM1_CNT, DVM_ACPI_PM1_CNT_SCI_EN, 2);
	fflush(stderr);
	dup2(fd, 2);
	for (unsigned typ = 2; typ < 8; typ++) { /* 1 is S3 */
		out(f->vm, PM + DVM_ACPI_PM1_CNT,
		    DVM_ACPI_PM1_CNT_SLP_EN | typ << 10 | DVM_ACPI_PM1_CNT_SCI_EN, 2);
		assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
		/* SLP_TYP is kept, SLP_EN reads 0. */
		assert_int_equal(in(f->vm, PM + DVM_ACPI_PM1_CNT, 2),
				 typ << 10 | DVM_ACPI_PM1_CNT_SCI_EN);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	for (char *p = buf; (p = strstr(p, "sleep type")); p++)
		lines++;
	assert_int_equal(lines, 1);
	assert_non_null(strstr(buf, "sleep type 2"));
	/* S5 still works afterwards. */
	out(f->vm, PM + DVM_ACPI_PM1_CNT, DVM_ACPI_PM1_CNT_SLP_EN, 2);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
}

static bool wait_state(struct dvm_vm *vm, enum dvm_vm_state want)
{
	for (int i = 0; i < 2000 && dvm_vm_state(vm) != want; i++)
		usleep(1000);
	return dvm_vm_state(vm) == want;
}

/* S3: the VM pauses at the write; the RTC alarm line (with RTC_EN) wakes it
 * with WAK_STS and RTC_STS set.  (No vCPUs here: the reset part is covered
 * by the s3 guest.) */
static void test_s3_sleep_and_rtc_wake(void **state)
{
	struct fx *f = *state;
	uint32_t vector = 0x1000;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	memcpy((uint8_t *)dvm_vm_gpa_to_hva(f->vm, DVM_ACPI_FACS_ADDR, 64) +
		   DVM_ACPI_FACS_WAKING_VECTOR,
	       &vector, 4);
	out(f->vm, PM + DVM_ACPI_PM1_EN, DVM_ACPI_PM1_EN_RTC, 2);
	out(f->vm, PM + DVM_ACPI_PM1_CNT,
	    DVM_ACPI_PM1_CNT_SLP_EN | DVM_ACPI_S3_SLP_TYP << 10 | DVM_ACPI_PM1_CNT_SCI_EN, 2);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_PAUSED); /* at once, not later */
	usleep(50 * 1000);
	/* Asleep: a line other than the RTC's doesn't wake it. */
	dvm_irq_set_line(f->vm, 4, 1);
	usleep(50 * 1000);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_PAUSED);
	dvm_irq_set_line(f->vm, DVM_ACPI_RTC_IRQ, 1);
	assert_true(wait_state(f->vm, DVM_VM_RUNNING));
	uint32_t sts = in(f->vm, PM + DVM_ACPI_PM1_STS, 2);
	assert_true(sts & DVM_ACPI_PM1_STS_WAK);
	assert_true(sts & DVM_ACPI_PM1_STS_RTC);
	/* A monitor's pause and resume while running again leave it running. */
	assert_int_equal(dvm_vm_pause(f->vm), 0);
	assert_int_equal(dvm_vm_resume(f->vm), 0);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_RUNNING);
}

/* Without RTC_EN the alarm doesn't wake it; a monitor's pause/resume while
 * asleep doesn't either; with no waking vector the wake is a reset. */
static void test_s3_needs_rtc_en_and_a_vector(void **state)
{
	struct fx *f = *state;
	enum dvm_stop_reason reason;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	dvm_irq_set_line(f->vm, DVM_ACPI_RTC_IRQ, 1);
	out(f->vm, PM + DVM_ACPI_PM1_CNT, DVM_ACPI_PM1_CNT_SLP_EN | DVM_ACPI_S3_SLP_TYP << 10, 2);
	assert_int_equal(dvm_vm_pause(f->vm), 0);
	assert_int_equal(dvm_vm_resume(f->vm), 0);
	usleep(50 * 1000);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_PAUSED);
	out(f->vm, PM + DVM_ACPI_PM1_EN, DVM_ACPI_PM1_EN_RTC, 2);
	assert_true(wait_state(f->vm, DVM_VM_STOPPED));
	assert_int_equal(dvm_vm_wait(f->vm, &reason, NULL), 0);
	assert_int_equal(reason, DVM_STOP_RESET);
}

/* Every port around the block, every width, any value: never a crash or
 * an overrun; reads past the block's 12 ports are all-ones. */
static void test_garbage(void **state)
{
	struct fx *f = *state;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct dvm_acpi_pm_regs g;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	for (int round = 0; round < 8; round++)
		for (uint16_t port = PM - 8; port < PM + DVM_ACPI_PM_LEN + 8; port++)
			for (unsigned len = 1; len <= 8; len *= 2) {
				uint8_t buf[16];
				memset(buf, 0xcc, sizeof(buf));
				bool claimed =
				    dvm_bus_access(f->vm, DVM_BUS_PIO, port, buf, len, false);
				assert_int_equal(claimed,
						 port >= PM && port < PM + DVM_ACPI_PM_LEN);
				for (unsigned i = len; i < sizeof(buf); i++)
					assert_int_equal(buf[i], 0xcc); /* no overrun */
				for (unsigned i = 0; i < len; i++)
					if (port + i >= PM + DVM_ACPI_PM_LEN || port + i < PM)
						assert_int_equal(buf[i], 0xff);
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				uint64_t v = seed;
				/* Keep SLP_EN out of the way so the VM runs on. */
				if (port <= PM + 5 && port + len > PM + 5)
					((uint8_t *)&v)[PM + 5 - port] &= (uint8_t)~0x20;
				dvm_bus_access(f->vm, DVM_BUS_PIO, port, &v, len, true);
			}
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
	/* The registers kept only their defined bits. */
	g = get_regs(f);
	assert_int_equal(g.pm1_sts & ~DVM_ACPI_PM1_STS_MASK, 0);
	assert_int_equal(g.pm1_en & ~DVM_ACPI_PM1_EN_MASK, 0);
	assert_int_equal(g.pm1_cnt & ~DVM_ACPI_PM1_CNT_MASK, 0);
	assert_true(g.tmr <= DVM_ACPI_PM_TMR_MASK);
	/* And random writes including SLP_EN end the VM as S5 or not at all. */
	for (int i = 0; i < 64 && dvm_vm_state(f->vm) != DVM_VM_STOPPED; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		out(f->vm, PM + DVM_ACPI_PM1_CNT, (uint32_t)(seed >> 32), 2);
	}
	if (dvm_vm_state(f->vm) == DVM_VM_STOPPED)
		assert_int_equal(dvm_vm_wait(f->vm, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builder_cpu_counts),
	    cmocka_unit_test(test_builder_config),
	    cmocka_unit_test_setup_teardown(test_s3_sleep_and_rtc_wake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s3_needs_rtc_en_and_a_vector, setup, teardown),
	    cmocka_unit_test(test_builder_errors),
	    cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tables_in_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tables_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tables_no_room, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_pm1_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sci_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timer_rate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timer_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s5_word, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s5_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s5_dword, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_sleep_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
