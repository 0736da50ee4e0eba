// SPDX-License-Identifier: MIT
/*
 * acpi: the ACPI fixed-hardware registers of an ICH9 at pm-base (0x600), and
 * the ACPI tables that describe them (src/boot/acpi_tables.c), written into
 * guest memory when the VM starts.
 *
 *   +0 PM1_STS  16-bit, write 1 to clear
 *   +2 PM1_EN   16-bit
 *   +4 PM1_CNT  16-bit: SCI_EN (set from reset: the FADT has SMI_CMD 0, so
 *               ACPI is always enabled), BM_RLD, SLP_TYP; SLP_EN and GBL_RLS
 *               are write-only and read 0.  +6..+7 read 0 (ICH9's PM1_CNT
 *               is 32 bits wide with the upper half reserved).
 *   +8 PM_TMR   32-bit read-only: a 24-bit count at 3.579545 MHz from
 *               CLOCK_MONOTONIC (bits 24-31 read 0: TMR_VAL_EXT is clear).
 *
 * Setting SLP_EN with SLP_TYP = the DSDT's \_S5 value powers the machine off
 * (dvm exits 0).  \_S3 suspends to RAM: the vCPUs stop at once (the writing
 * one before its next instruction), memory and devices keep their state, and
 * the RTC alarm (IRQ 8 with PM1_EN.RTC_EN set) wakes the machine as firmware
 * would: WAK_STS and RTC_STS set, every vCPU INITed, the boot CPU entering the
 * FACS waking vector in real mode (no vector: treated as a reset, dvm exits
 * 0).  Other sleep types are refused (ignored, one warning).
 * Accesses may be of any width at any offset: each byte goes to its
 * register, reads past the block see all-ones, writes there are dropped.
 *
 * Only a wake from S3 sets PM1_STS bits: the timer overflow (TMR_STS) is
 * not tracked and there is no power button.  The SCI line is
 * driven anyway from (SCI_EN && PM1_STS & PM1_EN), so a restored pending
 * event is delivered as it would be.
 *
 * Lifetime: part of the machine, no release op.  One mutex guards the
 * registers; dvm_irq_set_line() is called under it (ordered like the state).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/acpi_tables.h"
#include "dvm/device.h"
#include "dvm/devices/acpi_pm.h"
#include "dvm/devices/vcpu.h"
#include "dvm/vm.h"

/* PM1_STS bits that can raise the SCI, each with its enable at the same position. */
#define SCI_EVENTS                                                                                 \
	(DVM_ACPI_PM1_STS_TMR | DVM_ACPI_PM1_STS_GBL | DVM_ACPI_PM1_STS_PWRBTN |                   \
	 DVM_ACPI_PM1_STS_RTC)

/* Low RAM the loaders see; the tables live in its first MiB. */
#define LOW_RAM_LIMIT 0xc0000000ull

struct acpi_pm {
	pthread_mutex_t lock;
	struct dvm_vm *vm;
	struct dvm_device *dev; /* for dvm_device_report() */

	/* Configuration (DVM_FIELD rows). */
	uint16_t pm_base;
	uint16_t cpus;
	uint8_t ioapic_id;
	uint8_t sci_irq;
	uint8_t tables;

	/* Registers. */
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint32_t tmr_offset; /* added to the clock's tick count, mod 2^24 */

	/* Runtime. */
	bool started, registered;
	bool restored; /* state set before start: a restore, whose memory has the tables */
	uint16_t reg_base;
	int sci_level;
	bool warned_sleep;

	/* S3: a vCPU's write asks, the sleeper thread waits for the wake event. */
	pthread_t sleeper;
	bool sleeper_running, sleep_requested, quit;
	pthread_cond_t cond;
};

static const struct dvm_attr_desc acpi_attrs[] = {
    {
	.group = DVM_ACPI_PM_GRP_CONFIG,
	.attr = DVM_ACPI_PM_CONFIG_PM_BASE,
	.name = "pm-base",
	DVM_FIELD(struct acpi_pm, pm_base),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 1,
	.max = 0x10000 - DVM_ACPI_PM_LEN,
	.def = DVM_ACPI_PM_DEFAULT_BASE,
	.help = "I/O base of PM1_EVT (+0), PM1_CNT (+4) and PM_TMR (+8)",
    },
    {
	.group = DVM_ACPI_PM_GRP_CONFIG,
	.attr = DVM_ACPI_PM_CONFIG_CPUS,
	.name = "cpus",
	DVM_FIELD(struct acpi_pm, cpus),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 1,
	.max = DVM_ACPI_MAX_CPUS,
	.def = 1,
	.help = "CPUs the MADT lists (APIC IDs 0..cpus-1)",
    },
    {
	.group = DVM_ACPI_PM_GRP_CONFIG,
	.attr = DVM_ACPI_PM_CONFIG_IOAPIC_ID,
	.name = "ioapic-id",
	DVM_FIELD(struct acpi_pm, ioapic_id),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 0,
	.max = 15,
	.def = 0,
	.help = "the MADT's I/O APIC ID (KVM's I/O APIC resets to 0)",
    },
    {
	.group = DVM_ACPI_PM_GRP_CONFIG,
	.attr = DVM_ACPI_PM_CONFIG_SCI_IRQ,
	.name = "sci-irq",
	DVM_FIELD(struct acpi_pm, sci_irq),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 1,
	.max = 15,
	.def = DVM_ACPI_PM_DEFAULT_SCI_IRQ,
	.help = "ISA IRQ (= GSI) of the SCI, level/active high; not 2",
    },
    {
	.group = DVM_ACPI_PM_GRP_CONFIG,
	.attr = DVM_ACPI_PM_CONFIG_TABLES,
	.name = "tables",
	DVM_FIELD(struct acpi_pm, tables),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_BOOL,
	.def = 1,
	.help = "write the ACPI tables (RSDP at 0xe0000) into guest RAM at start",
    },
    {
	.group = DVM_ACPI_PM_GRP_STATE,
	.attr = DVM_ACPI_PM_STATE_REGS,
	.name = "regs",
	.size = sizeof(struct dvm_acpi_pm_regs),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "PM1 status/enable/control and the timer's count (struct dvm_acpi_pm_regs)",
    },
};

/*
 * Ticks of the 3.579545 MHz clock since CLOCK_MONOTONIC's origin, as a
 * floor of an exact product: never goes back, and the 24-bit counter made
 * from it wraps only at 2^24.  128 bits because ns * 3579545 overflows 64
 * bits after 85 minutes of host uptime.
 */
static uint64_t pm_ticks(void)
{
	struct timespec ts;
	unsigned __int128 ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (unsigned __int128)ts.tv_sec * 1000000000u + (unsigned long)ts.tv_nsec;
	return (uint64_t)(ns * DVM_ACPI_PM_TMR_HZ / 1000000000u);
}

static uint32_t tmr_read(const struct acpi_pm *a)
{
	return (uint32_t)(pm_ticks() + a->tmr_offset) & DVM_ACPI_PM_TMR_MASK;
}

/* Under the lock. */
static void update_sci(struct acpi_pm *a)
{
	int level;

	if (!a->started)
		return;
	level = (a->pm1_cnt & DVM_ACPI_PM1_CNT_SCI_EN) && (a->pm1_sts & a->pm1_en & SCI_EVENTS);
	if (level != a->sci_level) {
		a->sci_level = level;
		dvm_irq_set_line_from(a->vm, a->sci_irq, a, level);
	}
}

/* One register's value as a 32-bit read at its start would see it. */
static uint32_t reg_value(const struct acpi_pm *a, unsigned reg)
{
	switch (reg) {
	case DVM_ACPI_PM1_STS:
		return a->pm1_sts | (uint32_t)a->pm1_en << 16;
	case DVM_ACPI_PM1_CNT:
		return a->pm1_cnt;
	case DVM_ACPI_PM_TMR:
		return tmr_read(a);
	}
	return 0xffffffff;
}

/*
 * The block is three dwords (PM1_STS|PM1_EN, PM1_CNT, PM_TMR).  An access
 * touches one or more of them; `mask` selects the bytes of each it covers,
 * which is how a byte write to PM1_CNT's high half carries SLP_TYP and
 * SLP_EN on its own.
 */
static void pm_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct acpi_pm *a = opaque;
	uint8_t *p = data;
	uint32_t dw[3];

	pthread_mutex_lock(&a->lock);
	for (unsigned r = 0; r < 3; r++)
		dw[r] = offset < (r + 1) * 4 && offset + len > r * 4 ? reg_value(a, r * 4) : 0;
	pthread_mutex_unlock(&a->lock);
	for (unsigned i = 0; i < len; i++) {
		uint64_t o = offset + i;
		p[i] = o < DVM_ACPI_PM_LEN ? (uint8_t)(dw[o / 4] >> (8 * (o % 4))) : 0xff;
	}
}

enum sleep_request { SLEEP_NONE, SLEEP_S3, SLEEP_S5, SLEEP_REFUSED };

static enum sleep_request write_cnt(struct acpi_pm *a, uint32_t val, uint32_t mask)
{
	uint16_t v = (uint16_t)((a->pm1_cnt & ~mask) | (val & mask));
	unsigned typ;

	a->pm1_cnt = v & DVM_ACPI_PM1_CNT_MASK;
	if (!(val & mask & DVM_ACPI_PM1_CNT_SLP_EN))
		return SLEEP_NONE;
	typ = (v & DVM_ACPI_PM1_CNT_SLP_TYP) >> DVM_ACPI_PM1_CNT_SLP_TYP_SHIFT;
	if (typ == DVM_ACPI_S5_SLP_TYP)
		return SLEEP_S5;
	if (typ == DVM_ACPI_S3_SLP_TYP)
		return SLEEP_S3;
	if (a->warned_sleep)
		return SLEEP_NONE;
	a->warned_sleep = true;
	return SLEEP_REFUSED;
}

static void pm_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct acpi_pm *a = opaque;
	const uint8_t *p = data;
	uint32_t val[3] = {0}, mask[3] = {0};
	enum sleep_request sleep = SLEEP_NONE;
	unsigned typ;

	for (unsigned i = 0; i < len; i++) {
		uint64_t o = offset + i;
		if (o >= DVM_ACPI_PM_LEN)
			break;
		val[o / 4] |= (uint32_t)p[i] << (8 * (o % 4));
		mask[o / 4] |= 0xffu << (8 * (o % 4));
	}
	pthread_mutex_lock(&a->lock);
	if (mask[0]) {
		a->pm1_sts &= ~(uint16_t)(val[0] & mask[0]); /* write 1 to clear */
		a->pm1_en = (uint16_t)(((a->pm1_en & ~(mask[0] >> 16)) | (val[0] >> 16)) &
				       DVM_ACPI_PM1_EN_MASK);
	}
	if (mask[1])
		sleep = write_cnt(a, val[1], mask[1] & 0xffff);
	if (sleep == SLEEP_S3 && a->sleeper_running && !a->sleep_requested) {
		/* This vCPU parks as soon as its exit is handled; the others are kicked. */
		if (dvm_vm_request_pause(a->vm) == 0) {
			a->sleep_requested = true;
			pthread_cond_signal(&a->cond);
		}
	}
	/* PM_TMR is read-only. */
	update_sci(a);
	typ = (a->pm1_cnt & DVM_ACPI_PM1_CNT_SLP_TYP) >> DVM_ACPI_PM1_CNT_SLP_TYP_SHIFT;
	pthread_mutex_unlock(&a->lock);

	if (sleep == SLEEP_S5)
		dvm_vm_request_stop(a->vm, DVM_STOP_POWEROFF, DVM_STATUS_OK,
				    "guest powered off (ACPI S5)");
	else if (sleep == SLEEP_REFUSED)
		dvm_device_report(a->dev, -EOPNOTSUPP,
				  "guest asked for sleep type %u; only S3 (%u) and S5 (%u) are "
				  "supported, ignored",
				  typ, DVM_ACPI_S3_SLP_TYP, DVM_ACPI_S5_SLP_TYP);
}

static const struct dvm_io_ops pm_io_ops = {
    .read = pm_read,
    .write = pm_write,
};

/* Under the lock. */
static bool wake_event(struct acpi_pm *a)
{
	return (a->pm1_en & DVM_ACPI_PM1_EN_RTC) && dvm_irq_get_line(a->vm, DVM_ACPI_RTC_IRQ) > 0;
}

/* As firmware does on resume: INIT every CPU, the boot CPU runs the OS's
 * waking vector in real mode, the others wait for the OS's SIPI. */
static int wake_cpus(struct acpi_pm *a)
{
	uint32_t *facs = dvm_vm_gpa_to_hva(a->vm, DVM_ACPI_FACS_ADDR, 64);
	struct dvm_vcpu_reset r = {.mode = DVM_VCPU_RESET_REAL_MODE};
	int ret;

	if (facs)
		memcpy(&r.entry, (uint8_t *)facs + DVM_ACPI_FACS_WAKING_VECTOR, sizeof(r.entry));
	if (!a->tables || !r.entry || r.entry >= 0x100000) {
		dvm_vm_request_stop(a->vm, DVM_STOP_RESET, DVM_STATUS_OK,
				    "guest woke from S3 without a usable waking vector (reset)");
		return 0;
	}
	for (unsigned i = 0;; i++) {
		ret = dvm_device_set_by_type(a->vm, DVM_DEV_TYPE_VCPU, i, DVM_VCPU_GRP_CONTROL,
					     DVM_VCPU_CONTROL_RESET, &r);
		if (ret == -ENODEV)
			return 0; /* past the last vCPU (or none: a unit test) */
		if (ret)
			return ret;
		r.mode = DVM_VCPU_RESET_WAIT_SIPI;
	}
}

static void *sleeper_main(void *arg)
{
	struct acpi_pm *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->quit && !a->sleep_requested)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->quit)
			break;
		pthread_mutex_unlock(&a->lock);
		/* The write's own pause didn't wait; this one waits for every vCPU. */
		bool paused = dvm_vm_pause(a->vm) == 0;
		pthread_mutex_lock(&a->lock);
		while (!a->quit && dvm_vm_state(a->vm) == DVM_VM_PAUSED && !wake_event(a)) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 10 * 1000000;
			until.tv_sec += until.tv_nsec / 1000000000;
			until.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&a->cond, &a->lock, &until);
		}
		a->sleep_requested = false;
		if (a->quit || dvm_vm_state(a->vm) != DVM_VM_PAUSED)
			continue; /* stopped while asleep: nothing to resume */
		a->pm1_sts |= DVM_ACPI_PM1_STS_WAK | DVM_ACPI_PM1_STS_RTC;
		pthread_mutex_unlock(&a->lock);
		int ret = wake_cpus(a);
		if (ret) {
			char msg[96];
			snprintf(msg, sizeof(msg), "acpi: resetting the vCPUs on wake failed: %s",
				 strerror(-ret));
			dvm_vm_request_stop(a->vm, DVM_STOP_HOST_ERROR, DVM_STATUS_HOST_ERROR, msg);
		}
		if (paused)
			dvm_vm_resume(a->vm);
		dvm_vm_resume(a->vm); /* the write's */
		pthread_mutex_lock(&a->lock);
		update_sci(a);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static int acpi_create(struct dvm_device *dev)
{
	struct acpi_pm *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->vm = dev->vm;
	a->dev = dev;
	a->pm_base = DVM_ACPI_PM_DEFAULT_BASE;
	a->cpus = 1;
	a->ioapic_id = 0;
	a->sci_irq = DVM_ACPI_PM_DEFAULT_SCI_IRQ;
	a->tables = 1;
	a->pm1_cnt = DVM_ACPI_PM1_CNT_SCI_EN;
	dev->private = a;
	return 0;
}

static int write_tables(struct acpi_pm *a)
{
	uint64_t size = dvm_vm_mem_size(a->vm);
	struct dvm_acpi_tables_config cfg = {
	    .pm_base = a->pm_base,
	    .nr_cpus = a->cpus,
	    .ioapic_id = a->ioapic_id,
	    .sci_irq = a->sci_irq,
	};
	struct dvm_guest_mem mem;
	char err[128] = "";
	int ret;

	if (size > LOW_RAM_LIMIT)
		size = LOW_RAM_LIMIT;
	mem.host = dvm_vm_gpa_to_hva(a->vm, 0, size);
	mem.size = mem.host ? size : 0;
	ret = dvm_acpi_build_tables(&mem, &cfg, err, sizeof(err));
	if (ret)
		dvm_device_report(a->dev, ret, "writing the ACPI tables: %s", err);
	return ret;
}

static int acpi_start(struct dvm_device *dev)
{
	struct acpi_pm *a = dev->private;
	int ret;

	if (a->started)
		return 0;
	if (a->tables && !a->restored) {
		ret = write_tables(a);
		if (ret)
			return ret;
	}
	ret = -pthread_create(&a->sleeper, NULL, sleeper_main, a);
	if (ret)
		return ret;
	a->sleeper_running = true;
	ret = dvm_bus_register(a->vm, DVM_BUS_PIO, a->pm_base, DVM_ACPI_PM_LEN, &pm_io_ops, a);
	if (ret)
		return ret;
	pthread_mutex_lock(&a->lock);
	a->registered = true;
	a->reg_base = a->pm_base;
	a->started = true;
	update_sci(a); /* state may have been restored before start */
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static void acpi_destroy(struct dvm_device *dev)
{
	struct acpi_pm *a = dev->private;

	if (!a)
		return;
	if (a->registered)
		dvm_bus_unregister(a->vm, DVM_BUS_PIO, a->reg_base, a);
	if (a->sleeper_running) {
		pthread_mutex_lock(&a->lock);
		a->quit = true;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->sleeper, NULL);
	}
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
	dev->private = NULL;
}

static int acpi_check_attr(struct dvm_device *dev, const struct dvm_attr_desc *d, uint64_t value)
{
	(void)dev;
	/* ISA IRQ 2 has no pin of its own: IRQ0 is routed to GSI 2. */
	if (d->attr == DVM_ACPI_PM_CONFIG_SCI_IRQ && value == 2)
		return -EINVAL;
	return 0;
}

static int acpi_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct acpi_pm *a = dev->private;
	struct dvm_acpi_pm_regs r;

	if (attr->group != DVM_ACPI_PM_GRP_STATE || attr->attr != DVM_ACPI_PM_STATE_REGS)
		return -ENXIO;
	memcpy(&r, (const void *)(uintptr_t)attr->addr, sizeof(r));
	if ((r.pm1_sts & ~DVM_ACPI_PM1_STS_MASK) || (r.pm1_en & ~DVM_ACPI_PM1_EN_MASK) ||
	    (r.pm1_cnt & ~DVM_ACPI_PM1_CNT_MASK) || r.tmr > DVM_ACPI_PM_TMR_MASK || r.reserved0 ||
	    r.reserved1)
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	a->pm1_sts = r.pm1_sts;
	a->pm1_en = r.pm1_en;
	a->pm1_cnt = r.pm1_cnt;
	a->tmr_offset = (uint32_t)(r.tmr - pm_ticks()) & DVM_ACPI_PM_TMR_MASK;
	if (!a->started)
		a->restored = true;
	update_sci(a);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static int acpi_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct acpi_pm *a = dev->private;
	struct dvm_acpi_pm_regs r;

	if (attr->group != DVM_ACPI_PM_GRP_STATE || attr->attr != DVM_ACPI_PM_STATE_REGS)
		return -ENXIO;
	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&a->lock);
	r.pm1_sts = a->pm1_sts;
	r.pm1_en = a->pm1_en;
	r.pm1_cnt = a->pm1_cnt;
	r.tmr = tmr_read(a);
	pthread_mutex_unlock(&a->lock);
	memcpy((void *)(uintptr_t)attr->addr, &r, sizeof(r));
	return 0;
}

const struct dvm_device_ops dvm_acpi_pm_ops = {
    .name = "acpi",
    .type = DVM_DEV_TYPE_ACPI_PM,
    .flags = DVM_OPS_SINGLETON,
    .summary =
	"ACPI PM registers (ICH9 layout, PM timer, S3 sleep, S5 power-off) and the ACPI tables",
    .attrs = acpi_attrs,
    .nr_attrs = sizeof(acpi_attrs) / sizeof(acpi_attrs[0]),
    .create = acpi_create,
    .destroy = acpi_destroy,
    .set_attr = acpi_set_attr,
    .get_attr = acpi_get_attr,
    .start = acpi_start,
    .check_attr = acpi_check_attr,
};
