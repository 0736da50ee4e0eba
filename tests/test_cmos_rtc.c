// SPDX-License-Identifier: MIT
/*
 * Unit tests of cmos-rtc (the MC146818 RTC and CMOS) on a VM without
 * /dev/kvm: the schema and configuration, the firmware bytes, time in every
 * mode, setting the time, register C and the IRQ line, alarm matching, the
 * periodic and update interrupts from the device's thread (waited for with
 * a bounded poll on the line, never timed), the state blob, and garbage at
 * every port and width.
 *
 * Deterministic cases stop the clock with B.SET or inject flags through the
 * state; cases that need the clock to move wait for at most a few seconds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/cmos_rtc.h"
#include "dvm/vm.h"

#define IDX 0x70
#define DATA 0x71
#define IRQ 8
#define WAIT_MS 3000 /* "eventually": an update is at most 1 s away */

struct fx {
	struct dvm_vm *vm;
	int h;
};

static struct dvm_vm *new_vm(uint64_t mem)
{
	struct dvm_vm_config cfg = {.mem_size = mem, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm = NULL;

	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	return vm;
}

static int create_rtc(struct dvm_vm *vm)
{
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_CMOS_RTC};

	assert_int_equal(dvm_create_device(vm, &cd), 0);
	return (int)cd.fd;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	dvm_register_builtin_devices();
	f->vm = new_vm(1 << 20);
	f->h = create_rtc(f->vm);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dvm_vm_shutdown(f->vm); /* joins the device's thread */
	free(f);
	return 0;
}

static void start(struct fx *f)
{
	assert_int_equal(dvm_vm_start(f->vm), 0);
}

static uint8_t in8(struct fx *f, uint16_t port)
{
	uint8_t v = 0;

	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, port, &v, 1, false));
	return v;
}

static void out8(struct fx *f, uint16_t port, uint8_t v)
{
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, port, &v, 1, true));
}

static uint8_t rd(struct fx *f, uint8_t idx)
{
	out8(f, IDX, idx);
	return in8(f, DATA);
}

static void wr(struct fx *f, uint8_t idx, uint8_t v)
{
	out8(f, IDX, idx);
	out8(f, DATA, v);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Bounded: the line reaches `level` within WAIT_MS. */
static bool wait_line(struct fx *f, uint32_t irq, int level)
{
	for (int i = 0; i < WAIT_MS; i++) {
		if (dvm_irq_get_line(f->vm, irq) == level)
			return true;
		sleep_ms(1);
	}
	return false;
}

/* Bounded: reads C until one of `bits` shows; returns the ORed reads. */
static uint8_t poll_c(struct fx *f, uint8_t bits)
{
	uint8_t seen = 0;

	for (int i = 0; i < WAIT_MS && !(seen & bits); i++) {
		seen |= rd(f, DVM_RTC_REG_C);
		if (!(seen & bits))
			sleep_ms(1);
	}
	return seen;
}

static struct dvm_cmos_rtc_state get_state(struct fx *f)
{
	struct dvm_cmos_rtc_state st;

	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_CMOS_RTC_GRP_STATE, DVM_CMOS_RTC_STATE_REGS, &st), 0);
	return st;
}

static int set_state(struct fx *f, const struct dvm_cmos_rtc_state *st)
{
	return dvm_device_set(f->vm, f->h, DVM_CMOS_RTC_GRP_STATE, DVM_CMOS_RTC_STATE_REGS, st);
}

/* BCD 24-hour under SET, then the clock runs again (B = 24h BCD). */
static void set_time(struct fx *f, uint8_t cent, uint8_t year, uint8_t mon, uint8_t day,
		     uint8_t hour, uint8_t min, uint8_t sec)
{
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H);
	wr(f, DVM_RTC_CENTURY, cent);
	wr(f, DVM_RTC_YEAR, year);
	wr(f, DVM_RTC_MONTH, mon);
	wr(f, DVM_RTC_DAY_OF_MONTH, day);
	wr(f, DVM_RTC_HOURS, hour);
	wr(f, DVM_RTC_MINUTES, min);
	wr(f, DVM_RTC_SECONDS, sec);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
}

static uint64_t get_cfg(struct fx *f, uint64_t attr)
{
	uint64_t v = 0;

	assert_int_equal(dvm_device_get(f->vm, f->h, DVM_CMOS_RTC_GRP_CONFIG, attr, &v), 0);
	return v;
}

/* ---- schema and configuration ---- */

static void test_schema(void **state)
{
	struct fx *f = *state;
	const struct dvm_device_ops *ops = dvm_device_ops_by_name("cmos-rtc");
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_CMOS_RTC};
	uint64_t v;

	assert_non_null(ops);
	assert_int_equal(ops->type, DVM_DEV_TYPE_CMOS_RTC);
	for (uint64_t a = 0; a <= DVM_CMOS_RTC_CONFIG_CPUS; a++)
		assert_int_equal(dvm_device_has(f->vm, f->h, DVM_CMOS_RTC_GRP_CONFIG, a), 0);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_CMOS_RTC_GRP_CONFIG, 5), -ENXIO);
	assert_int_equal(
	    dvm_device_has(f->vm, f->h, DVM_CMOS_RTC_GRP_STATE, DVM_CMOS_RTC_STATE_REGS), 0);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_CMOS_RTC_GRP_STATE, 1), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, 2, 0), -ENXIO);
	assert_int_equal(dvm_device_get(f->vm, f->h, 2, 0, &v), -ENXIO);
	assert_non_null(dvm_attr_by_name(ops, "mem-below-4g"));
	assert_non_null(dvm_attr_by_name(ops, "mem-above-4g"));
	assert_non_null(dvm_attr_by_name(ops, "cpus"));
	/* One per machine. */
	assert_int_equal(dvm_create_device(f->vm, &cd), -EEXIST);

	/* Defaults: ports, line, and the VM's memory (1 MiB, all below 4 GiB). */
	assert_int_equal(get_cfg(f, DVM_CMOS_RTC_CONFIG_BASE) & 0xffff, 0x70);
	assert_int_equal(get_cfg(f, DVM_CMOS_RTC_CONFIG_IRQ) & 0xffffffff, 8);
	assert_int_equal(get_cfg(f, DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G), 1 << 20);
	assert_int_equal(get_cfg(f, DVM_CMOS_RTC_CONFIG_MEM_ABOVE_4G), 0);
	assert_int_equal(get_cfg(f, DVM_CMOS_RTC_CONFIG_CPUS) & 0xffff, 1);
}

static void test_config_errors(void **state)
{
	struct fx *f = *state;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

#define SETC(attr, val) dvm_device_set(f->vm, f->h, DVM_CMOS_RTC_GRP_CONFIG, attr, val)
	u32 = 24;
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_IRQ, &u32), -EINVAL);
	u16 = 0xffff; /* the data port would be past 0xffff */
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_BASE, &u16), -EINVAL);
	u16 = 0;
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_CPUS, &u16), -EINVAL);
	u16 = 1025;
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_CPUS, &u16), -EINVAL);
	u64 = (1ull << 32) + 1;
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G, &u64), -EINVAL);
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G, NULL), -EFAULT);
	/* A different line is honoured. */
	u32 = 5;
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_IRQ, &u32), 0);
	start(f);
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_IRQ, &u32), -EBUSY);
	u64 = 1 << 20;
	assert_int_equal(SETC(DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G, &u64), -EBUSY);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H | DVM_RTC_B_UIE);
	assert_true(wait_line(f, 5, 1));
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	assert_true(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_UF);
	assert_int_equal(dvm_irq_get_line(f->vm, 5), 0);
#undef SETC
}

/* ---- firmware bytes ---- */

static unsigned get16(struct fx *f, uint8_t idx)
{
	return rd(f, idx) | rd(f, idx + 1) << 8;
}

static unsigned get24(struct fx *f, uint8_t idx)
{
	return get16(f, idx) | rd(f, idx + 2) << 16;
}

static void config_mem(struct fx *f, uint64_t below, uint64_t above, uint16_t cpus)
{
	assert_int_equal(dvm_device_set(f->vm, f->h, DVM_CMOS_RTC_GRP_CONFIG,
					DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G, &below),
			 0);
	assert_int_equal(dvm_device_set(f->vm, f->h, DVM_CMOS_RTC_GRP_CONFIG,
					DVM_CMOS_RTC_CONFIG_MEM_ABOVE_4G, &above),
			 0);
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_CMOS_RTC_GRP_CONFIG, DVM_CMOS_RTC_CONFIG_CPUS, &cpus),
	    0);
}

static void test_firmware_bytes_default(void **state)
{
	struct fx *f = *state;

	/* The VM's 1 MiB: 640 KiB base, nothing extended. */
	start(f);
	assert_int_equal(get16(f, 0x15), 640);
	assert_int_equal(get16(f, 0x17), 0);
	assert_int_equal(get16(f, 0x30), 0);
	assert_int_equal(get16(f, 0x34), 0);
	assert_int_equal(get24(f, 0x5b), 0);
	assert_int_equal(rd(f, 0x5f), 0);
}

static void test_firmware_bytes_large(void **state)
{
	struct fx *f = *state;

	/* 3 GiB below, 1 TiB above, 8 CPUs: the KiB and 64 KiB fields saturate. */
	config_mem(f, 3ull << 30, 1ull << 40, 8);
	start(f);
	assert_int_equal(get16(f, 0x15), 640);
	assert_int_equal(get16(f, 0x17), 0xffff);
	assert_int_equal(get16(f, 0x30), 0xffff);
	assert_int_equal(get16(f, 0x34), (3072 - 16) * 16);
	assert_int_equal(get24(f, 0x5b), 0xffffff);
	assert_int_equal(rd(f, 0x5f), 7);
}

static void test_firmware_bytes_small(void **state)
{
	struct fx *f = *state;

	/* 24 MiB: 23 MiB extended in KiB, 8 MiB above 16 MiB in 64 KiB units; 5 GiB above 4 GiB. */
	config_mem(f, 24 << 20, 5ull << 30, 2);
	start(f);
	assert_int_equal(get16(f, 0x15), 640);
	assert_int_equal(get16(f, 0x17), 23 * 1024);
	assert_int_equal(get16(f, 0x30), 23 * 1024);
	assert_int_equal(get16(f, 0x34), 8 * 16);
	assert_int_equal(get24(f, 0x5b), (5ull << 30) >> 16);
	assert_int_equal(rd(f, 0x5f), 1);
	/* The guest may rewrite any of it. */
	wr(f, 0x15, 0x12);
	assert_int_equal(rd(f, 0x15), 0x12);
}

/* ---- registers ---- */

static void test_registers(void **state)
{
	struct fx *f = *state;
	struct dvm_cmos_rtc_state st;
	uint8_t v2[2];

	start(f);
	assert_int_equal(rd(f, DVM_RTC_REG_A) & 0x7f, 0x26);
	assert_int_equal(rd(f, DVM_RTC_REG_B), DVM_RTC_B_24H);
	assert_int_equal(rd(f, DVM_RTC_REG_D), DVM_RTC_D_VRT);
	/* D and C are read-only; UIP is not writable. */
	wr(f, DVM_RTC_REG_D, 0x00);
	assert_int_equal(rd(f, DVM_RTC_REG_D), DVM_RTC_D_VRT);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H);
	wr(f, DVM_RTC_REG_A, 0xa6);
	assert_int_equal(rd(f, DVM_RTC_REG_A), 0x26); /* and no UIP while SET */
	/* SET clears UIE. */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_UIE | DVM_RTC_B_24H);
	assert_int_equal(rd(f, DVM_RTC_REG_B), DVM_RTC_B_SET | DVM_RTC_B_24H);
	/* The index port reads 0xff; its bit 7 is the NMI mask, kept apart from the index. */
	assert_int_equal(in8(f, IDX), 0xff);
	out8(f, IDX, 0x80 | DVM_RTC_REG_D);
	assert_int_equal(in8(f, DATA), DVM_RTC_D_VRT);
	st = get_state(f);
	assert_int_equal(st.index, DVM_RTC_REG_D);
	assert_int_equal(st.nmi_disabled, 1);
	out8(f, IDX, 0x40);
	st = get_state(f);
	assert_int_equal(st.index, 0x40);
	assert_int_equal(st.nmi_disabled, 0);
	/* All of CMOS beyond the clock is memory. */
	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != DVM_RTC_CENTURY)
			wr(f, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != DVM_RTC_CENTURY)
			assert_int_equal(rd(f, (uint8_t)i), (uint8_t)(i ^ 0x5a));
	/* A word write to the index port writes index then data (two byte cycles). */
	v2[0] = 0x41;
	v2[1] = 0x77;
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, IDX, v2, 2, true));
	assert_int_equal(rd(f, 0x41), 0x77);
	out8(f, IDX, 0x41);
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, IDX, v2, 2, false));
	assert_int_equal(v2[0], 0xff);
	assert_int_equal(v2[1], 0x77);
}

/* Hours in all four modes for a time set (BCD 24 h) with 59 s to spare. */
static void check_hour(struct fx *f, uint8_t bcd24, uint8_t bin24, uint8_t bcd12, uint8_t bin12)
{
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
	assert_int_equal(rd(f, DVM_RTC_HOURS), bcd24);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H | DVM_RTC_B_DM_BINARY);
	assert_int_equal(rd(f, DVM_RTC_HOURS), bin24);
	wr(f, DVM_RTC_REG_B, 0);
	assert_int_equal(rd(f, DVM_RTC_HOURS), bcd12);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_DM_BINARY);
	assert_int_equal(rd(f, DVM_RTC_HOURS), bin12);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
}

static void test_modes(void **state)
{
	struct fx *f = *state;

	start(f);
	/* Thursday 2024-02-29 12:30:00: the date in BCD and binary. */
	set_time(f, 0x20, 0x24, 0x02, 0x29, 0x12, 0x30, 0x00);
	assert_int_equal(rd(f, DVM_RTC_MINUTES), 0x30);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_MONTH), 0x29);
	assert_int_equal(rd(f, DVM_RTC_MONTH), 0x02);
	assert_int_equal(rd(f, DVM_RTC_YEAR), 0x24);
	assert_int_equal(rd(f, DVM_RTC_CENTURY), 0x20);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_WEEK), 5);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H | DVM_RTC_B_DM_BINARY);
	assert_int_equal(rd(f, DVM_RTC_MINUTES), 30);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_MONTH), 29);
	assert_int_equal(rd(f, DVM_RTC_MONTH), 2);
	assert_int_equal(rd(f, DVM_RTC_YEAR), 24);
	assert_int_equal(rd(f, DVM_RTC_CENTURY), 20);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_WEEK), 5);
	/* Noon is 12 PM; midnight is 12 AM; 11 PM; 1 AM. */
	check_hour(f, 0x12, 12, 0x92, 0x8c);
	set_time(f, 0x20, 0x24, 0x02, 0x29, 0x00, 0x30, 0x00);
	check_hour(f, 0x00, 0, 0x12, 0x0c);
	set_time(f, 0x20, 0x24, 0x02, 0x29, 0x23, 0x30, 0x00);
	check_hour(f, 0x23, 23, 0x91, 0x8b);
	set_time(f, 0x20, 0x24, 0x02, 0x29, 0x01, 0x30, 0x00);
	check_hour(f, 0x01, 1, 0x01, 0x01);
}

static void test_write_12h(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint8_t b, written, bcd24;
	} cases[] = {
	    {0, 0x12, 0x00},				     /* 12 AM, BCD */
	    {0, 0x92, 0x12},				     /* 12 PM, BCD */
	    {0, 0x81, 0x13},				     /* 1 PM, BCD */
	    {0, 0x11, 0x11},				     /* 11 AM, BCD */
	    {DVM_RTC_B_DM_BINARY, 0x0c, 0x00},		     /* 12 AM, binary */
	    {DVM_RTC_B_DM_BINARY, 0x8c, 0x12},		     /* 12 PM, binary */
	    {DVM_RTC_B_DM_BINARY, 0x8b, 0x23},		     /* 11 PM, binary */
	    {DVM_RTC_B_DM_BINARY | DVM_RTC_B_24H, 17, 0x17}, /* 24 h binary */
	};

	start(f);
	set_time(f, 0x20, 0x24, 0x06, 0x15, 0x10, 0x30, 0x00);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | cases[i].b);
		wr(f, DVM_RTC_HOURS, cases[i].written);
		/* Under SET the byte stays as written. */
		assert_int_equal(rd(f, DVM_RTC_HOURS), cases[i].written);
		wr(f, DVM_RTC_REG_B, cases[i].b); /* runs again, in the mode it was written in */
		wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
		assert_int_equal(rd(f, DVM_RTC_HOURS), cases[i].bcd24);
		assert_int_equal(rd(f, DVM_RTC_MINUTES), 0x30);
	}
}

static void test_set_time_continues(void **state)
{
	struct fx *f = *state;
	uint8_t s0, s1;
	bool rolled = false;

	start(f);
	/* Under SET the registers hold still: no update, no UIP. */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H);
	wr(f, DVM_RTC_SECONDS, 0x59);
	wr(f, DVM_RTC_MINUTES, 0x59);
	wr(f, DVM_RTC_HOURS, 0x23);
	wr(f, DVM_RTC_DAY_OF_MONTH, 0x31);
	wr(f, DVM_RTC_MONTH, 0x12);
	wr(f, DVM_RTC_YEAR, 0x99);
	wr(f, DVM_RTC_CENTURY, 0x20);
	s0 = rd(f, DVM_RTC_SECONDS);
	sleep_ms(1100);
	s1 = rd(f, DVM_RTC_SECONDS);
	assert_int_equal(s0, 0x59);
	assert_int_equal(s1, 0x59);
	assert_int_equal(rd(f, DVM_RTC_REG_A) & DVM_RTC_A_UIP, 0);
	/* Running: 2099-12-31 23:59:59 rolls over into 2100 (not a leap year) within a second. */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
	for (int i = 0; i < WAIT_MS && !rolled; i++) {
		rolled = rd(f, DVM_RTC_YEAR) == 0x00;
		if (!rolled)
			sleep_ms(1);
	}
	assert_true(rolled);
	assert_int_equal(rd(f, DVM_RTC_CENTURY), 0x21);
	assert_int_equal(rd(f, DVM_RTC_MONTH), 0x01);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_MONTH), 0x01);
	assert_int_equal(rd(f, DVM_RTC_HOURS), 0x00);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_WEEK), 6); /* 2100-01-01 is a Friday */
	/* 2100-02-28 + 1 day is March 1st. */
	set_time(f, 0x21, 0x00, 0x02, 0x28, 0x12, 0x00, 0x00);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H);
	wr(f, DVM_RTC_DAY_OF_MONTH, 0x29); /* no such day: carries into March */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
	assert_int_equal(rd(f, DVM_RTC_MONTH), 0x03);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_MONTH), 0x01);
	/* A write while running moves that field only; the rest keeps counting. */
	wr(f, DVM_RTC_MINUTES, 0x42);
	assert_int_equal(rd(f, DVM_RTC_MINUTES), 0x42);
	assert_int_equal(rd(f, DVM_RTC_HOURS), 0x12);
	assert_int_equal(rd(f, DVM_RTC_DAY_OF_MONTH), 0x01);
	/* The offset is relative to the host clock: 2100 is well ahead. */
	assert_true(get_state(f).offset_sec > 60ll * 365 * 86400);
}

static void test_uip_and_divider(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1;
	bool uip = false;

	start(f);
	/* UIP goes to 1 before each update (and not for ever): polled for up to 3 s. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		uip = rd(f, DVM_RTC_REG_A) & DVM_RTC_A_UIP;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (!uip && t1.tv_sec - t0.tv_sec < 3);
	assert_true(uip);
	do {
		uip = rd(f, DVM_RTC_REG_A) & DVM_RTC_A_UIP;
		clock_gettime(CLOCK_MONOTONIC, &t0);
	} while (uip && t0.tv_sec - t1.tv_sec < 3);
	assert_false(uip);
	/* Divider in reset: the clock holds, bytes as written; released, it runs on. */
	set_time(f, 0x20, 0x30, 0x01, 0x01, 0x08, 0x00, 0x00);
	wr(f, DVM_RTC_REG_A, 0x70);
	wr(f, DVM_RTC_SECONDS, 0x7f); /* garbage is kept while stopped */
	assert_int_equal(rd(f, DVM_RTC_SECONDS), 0x7f);
	wr(f, DVM_RTC_SECONDS, 0x10);
	wr(f, DVM_RTC_REG_A, 0x26);
	uint8_t s = rd(f, DVM_RTC_SECONDS);
	assert_true(s == 0x10 || s == 0x11 || s == 0x12);
	assert_int_equal(rd(f, DVM_RTC_HOURS), 0x08);
}

static void test_garbage_time(void **state)
{
	struct fx *f = *state;
	struct dvm_cmos_rtc_state st;
	uint8_t v;

	start(f);
	/* Nonsense under SET must not upset the clock once it runs: values stay in range. */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H);
	wr(f, DVM_RTC_SECONDS, 0xff);
	wr(f, DVM_RTC_MINUTES, 0xaa);
	wr(f, DVM_RTC_HOURS, 0x99);
	wr(f, DVM_RTC_DAY_OF_MONTH, 0x00);
	wr(f, DVM_RTC_MONTH, 0x13);
	wr(f, DVM_RTC_YEAR, 0xff);
	wr(f, DVM_RTC_CENTURY, 0xff);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
	v = rd(f, DVM_RTC_SECONDS);
	assert_true((v & 15) <= 9 && (v >> 4) <= 5);
	v = rd(f, DVM_RTC_HOURS);
	assert_true((v & 15) <= 9 && v <= 0x23);
	v = rd(f, DVM_RTC_MONTH);
	assert_true(v >= 1 && v <= 0x12);
	/* Binary extremes too; the state can always be saved and restored. */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_DM_BINARY);
	for (uint8_t i = 0; i < 0x0a; i++)
		if (i != DVM_RTC_REG_A)
			wr(f, i, 0xff);
	wr(f, DVM_RTC_CENTURY, 0xff);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_DM_BINARY);
	assert_true(rd(f, DVM_RTC_SECONDS) < 60);
	st = get_state(f);
	assert_int_equal(set_state(f, &st), 0);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET);
	wr(f, DVM_RTC_CENTURY, 0x00);
	wr(f, DVM_RTC_YEAR, 0x00);
	wr(f, DVM_RTC_MONTH, 0x00);
	wr(f, DVM_RTC_REG_B, 0);
	st = get_state(f);
	assert_int_equal(set_state(f, &st), 0);
}

/* ---- register C and the line ---- */

static void test_reg_c_and_line(void **state)
{
	struct fx *f = *state;
	struct dvm_cmos_rtc_state st;

	/* A stopped clock, no periodic rate, and UF pending with UIE set:
	 * nothing new can happen, so every value is exact. */
	st = get_state(f);
	st.cmos[DVM_RTC_REG_A] = 0x20;
	st.cmos[DVM_RTC_REG_B] = DVM_RTC_B_SET | DVM_RTC_B_24H | DVM_RTC_B_PIE;
	st.flags = DVM_RTC_C_UF;
	assert_int_equal(set_state(f, &st), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0); /* not before start */
	start(f);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0); /* UF without UIE */
	assert_int_equal(get_state(f).cmos[DVM_RTC_REG_C], DVM_RTC_C_UF);
	/* IRQF follows the enables: PF pending, PIE set -> high. */
	st = get_state(f);
	st.flags = DVM_RTC_C_PF | DVM_RTC_C_AF;
	assert_int_equal(set_state(f, &st), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 1);
	/* Reading C returns and clears the flags and lowers the line. */
	assert_int_equal(rd(f, DVM_RTC_REG_C), DVM_RTC_C_IRQF | DVM_RTC_C_PF | DVM_RTC_C_AF);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	assert_int_equal(rd(f, DVM_RTC_REG_C), 0);
	/* A flag that is pending when its enable is set raises the line then. */
	st = get_state(f);
	st.flags = DVM_RTC_C_AF;
	assert_int_equal(set_state(f, &st), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H | DVM_RTC_B_AIE);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 1);
	/* ... and clearing the enable drops IRQF and the line (the flag stays). */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	assert_int_equal(rd(f, DVM_RTC_REG_C), DVM_RTC_C_AF);
	/* A write to C changes nothing. */
	wr(f, DVM_RTC_REG_C, 0xff);
	assert_int_equal(rd(f, DVM_RTC_REG_C), 0);
}

static void test_update_irq(void **state)
{
	struct fx *f = *state;
	uint8_t c;

	start(f);
	wr(f, DVM_RTC_REG_A, 0x20); /* no periodic flags in the way */
	(void)rd(f, DVM_RTC_REG_C);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H | DVM_RTC_B_UIE);
	assert_true(wait_line(f, IRQ, 1));
	c = rd(f, DVM_RTC_REG_C);
	assert_int_equal(c & (DVM_RTC_C_IRQF | DVM_RTC_C_UF), DVM_RTC_C_IRQF | DVM_RTC_C_UF);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	/* And again a second later: the thread keeps going. */
	assert_true(wait_line(f, IRQ, 1));
	assert_true(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_UF);
	/* Disabled: the line stays low, though UF is still set at each update. */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
	assert_true(poll_c(f, DVM_RTC_C_UF) & DVM_RTC_C_UF);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
}

static void test_periodic(void **state)
{
	struct fx *f = *state;
	uint8_t c;

	start(f);
	/* PF is set at each tick whether or not PIE is. */
	assert_true(poll_c(f, DVM_RTC_C_PF) & DVM_RTC_C_PF);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	/* Rate 0: no ticks. */
	wr(f, DVM_RTC_REG_A, 0x20);
	(void)rd(f, DVM_RTC_REG_C);
	sleep_ms(20);
	assert_int_equal(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_PF, 0);
	/* 2 Hz with PIE: the thread raises the line; C acknowledges. */
	wr(f, DVM_RTC_REG_A, 0x2f);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H | DVM_RTC_B_PIE);
	assert_true(wait_line(f, IRQ, 1));
	c = rd(f, DVM_RTC_REG_C);
	assert_int_equal(c & (DVM_RTC_C_IRQF | DVM_RTC_C_PF), DVM_RTC_C_IRQF | DVM_RTC_C_PF);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	/* 8192 Hz (the fastest) and rate 1 (256 Hz): still one at a time, per read of C. */
	wr(f, DVM_RTC_REG_A, 0x23);
	for (int i = 0; i < 20; i++) {
		assert_true(wait_line(f, IRQ, 1));
		assert_true(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_PF);
	}
	wr(f, DVM_RTC_REG_A, 0x21);
	assert_true(wait_line(f, IRQ, 1));
	assert_true(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_PF);
	/* Left pending at 8192 Hz: destroy must still stop the thread (teardown). */
	wr(f, DVM_RTC_REG_A, 0x23);
	assert_true(wait_line(f, IRQ, 1));
}

/*
 * 2025-05-05 10:20:29 in mode b with the given alarm and AIE on.  The time
 * is latched and the seconds rewritten with the divider in reset; releasing
 * it puts the first update (to 10:20:30) half a second later.
 */
static void arm_alarm(struct fx *f, uint8_t b, uint8_t as, uint8_t am, uint8_t ah)
{
	set_time(f, 0x20, 0x25, 0x05, 0x05, 0x10, 0x20, 0x29);
	wr(f, DVM_RTC_REG_B, b);
	wr(f, DVM_RTC_REG_A, 0x70);
	wr(f, DVM_RTC_SECONDS, (b & DVM_RTC_B_DM_BINARY) ? 29 : 0x29);
	wr(f, DVM_RTC_SECONDS_ALARM, as);
	wr(f, DVM_RTC_MINUTES_ALARM, am);
	wr(f, DVM_RTC_HOURS_ALARM, ah);
	(void)rd(f, DVM_RTC_REG_C);
	wr(f, DVM_RTC_REG_B, b | DVM_RTC_B_AIE);
	wr(f, DVM_RTC_REG_A, 0x20);
}

static void test_alarm(void **state)
{
	struct fx *f = *state;
	uint8_t c;

	start(f);
	/* Exact match at 10:20:30. */
	arm_alarm(f, DVM_RTC_B_24H, 0x30, 0x20, 0x10);
	assert_true(wait_line(f, IRQ, 1));
	c = rd(f, DVM_RTC_REG_C);
	assert_int_equal(c & (DVM_RTC_C_IRQF | DVM_RTC_C_AF), DVM_RTC_C_IRQF | DVM_RTC_C_AF);
	assert_int_equal(rd(f, DVM_RTC_SECONDS), 0x30);
	assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);

	/* Don't-care bytes (0xc0-0xff) match anything: every second. */
	arm_alarm(f, DVM_RTC_B_24H, 0xc0, 0xff, 0xd5);
	assert_true(wait_line(f, IRQ, 1));
	assert_true(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_AF);
	assert_true(wait_line(f, IRQ, 1));
	assert_true(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_AF);

	/* Don't-care seconds and minutes, hour in binary 12-hour mode: 10 AM matches. */
	arm_alarm(f, DVM_RTC_B_DM_BINARY, 0xc0, 0xc0, 10);
	assert_true(wait_line(f, IRQ, 1));
	assert_true(rd(f, DVM_RTC_REG_C) & DVM_RTC_C_AF);

	/* No match: another hour (10 PM in 12-hour BCD), or a byte that is no time. */
	static const uint8_t nomatch[][4] = {
	    {0, 0xc0, 0xc0, 0x90},	       /* 10 PM */
	    {DVM_RTC_B_24H, 0x31, 0x21, 0x10}, /* another minute */
	    {DVM_RTC_B_24H, 0x5a, 0xc0, 0xc0}, /* not BCD */
	    {DVM_RTC_B_24H, 0x60, 0xc0, 0xc0}, /* second 60 */
	    {0, 0xc0, 0xc0, 0x00},	       /* hour 0 in 12-hour mode */
	};
	for (size_t i = 0; i < sizeof(nomatch) / sizeof(nomatch[0]); i++) {
		arm_alarm(f, nomatch[i][0], nomatch[i][1], nomatch[i][2], nomatch[i][3]);
		/* Wait for the next update (UF); no AF with it. */
		c = poll_c(f, DVM_RTC_C_UF);
		assert_true(c & DVM_RTC_C_UF);
		assert_int_equal(c & DVM_RTC_C_AF, 0);
		assert_int_equal(dvm_irq_get_line(f->vm, IRQ), 0);
	}
}

/* ---- state ---- */

static void test_state_roundtrip(void **state)
{
	struct fx *f = *state;
	struct dvm_cmos_rtc_state a, b;
	struct fx g;

	start(f);
	set_time(f, 0x20, 0x31, 0x07, 0x04, 0x09, 0x15, 0x00);
	wr(f, 0x50, 0xab);
	wr(f, DVM_RTC_SECONDS_ALARM, 0x45);
	wr(f, DVM_RTC_REG_A, 0x2a);
	/* Stopped clock: the whole blob is exact. */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H | DVM_RTC_B_AIE);
	out8(f, IDX, 0x80 | 0x50);
	a = get_state(f);
	assert_int_equal(a.index, 0x50);
	assert_int_equal(a.nmi_disabled, 1);
	assert_int_equal(a.cmos[DVM_RTC_MINUTES], 0x15);
	assert_int_equal(a.cmos[DVM_RTC_REG_D], DVM_RTC_D_VRT);

	/* Into a fresh machine, before start: the firmware bytes are the state's. */
	g.vm = new_vm(64 << 20);
	g.h = create_rtc(g.vm);
	assert_int_equal(set_state(&g, &a), 0);
	b = get_state(&g);
	b.flags = a.flags = 0; /* PF may tick meanwhile (rate 10) */
	b.cmos[DVM_RTC_REG_C] = a.cmos[DVM_RTC_REG_C] = 0;
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(dvm_vm_start(g.vm), 0);
	b = get_state(&g);
	b.flags = 0;
	b.cmos[DVM_RTC_REG_C] = 0;
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(in8(&g, DATA), 0xab); /* the index came along */

	/* Running clock: the other machine reads the same time (within a second or two). */
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
	a = get_state(f);
	assert_int_equal(set_state(&g, &a), 0);
	assert_int_equal(rd(&g, DVM_RTC_HOURS), 0x09);
	assert_int_equal(rd(&g, DVM_RTC_MINUTES), 0x15);
	assert_true(rd(&g, DVM_RTC_SECONDS) <= 0x03);
	assert_int_equal(rd(&g, DVM_RTC_YEAR), 0x31);
	dvm_vm_shutdown(g.vm);
}

static void test_state_rejected(void **state)
{
	struct fx *f = *state;
	struct dvm_cmos_rtc_state good, bad, after;

	start(f);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_SET | DVM_RTC_B_24H); /* stopped: exact comparisons */
	good = get_state(f);
#define REJECT(field, value)                                                                       \
	do {                                                                                       \
		bad = good;                                                                        \
		bad.field = value;                                                                 \
		assert_int_equal(set_state(f, &bad), -EINVAL);                                     \
	} while (0)
	REJECT(index, 0x80);
	REJECT(index, 0xff);
	REJECT(nmi_disabled, 2);
	REJECT(flags, DVM_RTC_C_IRQF);
	REJECT(flags, 0x01);
	REJECT(cmos[DVM_RTC_REG_A], 0xa6);
	REJECT(offset_nsec, 1000000000u);
	REJECT(offset_nsec, 0xffffffffu);
	REJECT(offset_sec, (1ll << 40) + 1);
	REJECT(offset_sec, INT64_MIN);
	REJECT(offset_sec, INT64_MAX);
	REJECT(reserved[0], 1);
	REJECT(reserved[4], 0x80);
	REJECT(reserved2, 1);
#undef REJECT
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_CMOS_RTC_GRP_STATE, DVM_CMOS_RTC_STATE_REGS, NULL),
	    -EFAULT);
	after = get_state(f);
	after.flags = good.flags = 0;
	after.cmos[DVM_RTC_REG_C] = good.cmos[DVM_RTC_REG_C] = 0;
	assert_memory_equal(&good, &after, sizeof(good));
	/* The edges are accepted. */
	bad = good;
	bad.offset_sec = -(1ll << 40);
	bad.offset_nsec = 999999999;
	bad.index = 0x7f;
	bad.flags = DVM_RTC_C_PF | DVM_RTC_C_AF | DVM_RTC_C_UF;
	bad.cmos[DVM_RTC_REG_B] = DVM_RTC_B_24H; /* running: a year 35000 years back */
	assert_int_equal(set_state(f, &bad), 0);
	assert_true(rd(f, DVM_RTC_MONTH) <= 0x12);
	bad.offset_sec = 1ll << 40; /* and as far ahead */
	assert_int_equal(set_state(f, &bad), 0);
	assert_true(rd(f, DVM_RTC_MONTH) <= 0x12);
	assert_int_equal(set_state(f, &good), 0);
}

/* ---- guest nonsense ---- */

static void test_garbage_ports(void **state)
{
	struct fx *f = *state;
	static const unsigned widths[] = {1, 2, 4, 8};
	uint64_t x = 0x9e3779b97f4a7c15ull, buf;
	struct dvm_cmos_rtc_state st;

	start(f);
	/* Every port around the device, every width, reads and random writes. */
	for (int round = 0; round < 400; round++) {
		for (uint16_t port = IDX - 7; port <= DATA + 7; port++) {
			for (size_t w = 0; w < 4; w++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf = x;
				dvm_bus_access(f->vm, DVM_BUS_PIO, port, &buf, widths[w],
					       round & 1);
			}
		}
	}
	/* Reads that start at the device see 0xff beyond its two ports. */
	out8(f, IDX, DVM_RTC_REG_D);
	buf = 0;
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, DATA, &buf, 8, false));
	assert_int_equal(buf, 0xffffffffffffff80ull);
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, IDX, &buf, 4, false));
	assert_int_equal(buf & 0xffffffff, 0xffff80ff);
	/* Every register, every value. */
	for (unsigned idx = 0; idx < 0x80; idx++)
		for (unsigned v = 0; v < 0x100; v += 7)
			wr(f, (uint8_t)idx, (uint8_t)v);
	/* Still a clock: D is VRT, the state is consistent and restorable. */
	assert_int_equal(rd(f, DVM_RTC_REG_D), DVM_RTC_D_VRT);
	st = get_state(f);
	assert_true(st.index < 0x80);
	assert_int_equal(st.flags & ~0x70, 0);
	assert_int_equal(set_state(f, &st), 0);
	wr(f, DVM_RTC_REG_A, 0x26);
	wr(f, DVM_RTC_REG_B, DVM_RTC_B_24H);
	assert_true(rd(f, DVM_RTC_SECONDS) <= 0x59);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_firmware_bytes_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_firmware_bytes_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_firmware_bytes_small, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_12h, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_time_continues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uip_and_divider, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reg_c_and_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_irq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_periodic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alarm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_ports, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
