// SPDX-License-Identifier: MIT
/*
 * cmos-rtc: the MC146818 real-time clock with its 128 bytes of CMOS, at
 * ports 0x70 (index; bit 7 masks NMI) and 0x71 (data), written from the
 * data sheet.
 *
 * The clock.  The guest's time is the host's CLOCK_REALTIME (UTC, as QEMU's
 * default) plus an offset the guest sets by writing the time registers.
 * While it runs, the time registers are computed at each read in the mode
 * register B asks for (BCD or binary, 12 or 24 hour).  While it is stopped
 * (B.SET, or a divider in register A that doesn't run) the registers are
 * plain bytes holding the time; when it runs again the offset is set from
 * them, keeping the divider's sub-second phase after SET (as the chip's
 * divider runs through SET) and starting half a second before the first
 * update after a divider reset (data sheet).  The update cycle is instant
 * here; UIP reads 1 in the 244 us before each update, so guests that wait
 * for UIP to go 1 then 0 see it.  The day of week is derived from the date.
 * DSE (daylight saving) is kept but not applied, as in QEMU.
 *
 * Interrupts.  PF, AF and UF in register C are set as the events happen,
 * whether enabled or not: at each periodic tick (rate select in A, phase
 * locked to the clock's seconds), at each update (once a second, not while
 * stopped), and at each update whose time matches the alarm registers (a
 * byte with both top bits set matches anything).  Events are found lazily:
 * every access first accounts for what happened since the last one.
 * IRQF = (PF & PIE) | (AF & AIE) | (UF & UIE) and the IRQ line follows it,
 * so it rises when IRQF becomes 1 and falls when a read of C clears the
 * flags.  A host thread raises the line on time; it is created the first
 * time an interrupt is enabled and sleeps on a condition variable with no
 * timeout while none is enabled, so it never spins.
 *
 * Periodic rate: the thread arms no timer while IRQF is 1.  A guest thus
 * gets at most one interrupt per read of C, however fast the rate, and one
 * that never reads C costs no host CPU.  Ticks that pass meanwhile set the
 * one PF bit as on the chip (no catch-up).  At 8192 Hz (rate 3, the
 * fastest) a guest that acknowledges every tick costs the host a wakeup
 * every 122 us, the price of the rate it asked for.
 *
 * CMOS memory: the bytes QEMU's PC puts there for firmware (memory sizes,
 * CPU count) are written at start from the configuration, unless a state
 * was restored before start; the guest can read and write every byte.
 *
 * Lifetime: part of the machine, one per VM, no release op.
 *
 * Locking: one mutex guards everything; dvm_irq_set_line() is called under
 * it so line changes are ordered like state changes.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dvm/device.h"
#include "dvm/devices/cmos_rtc.h"
#include "dvm/vm.h"

#define NR_PORTS 2
#define NSEC_PER_SEC 1000000000ll
#define SECS_PER_DAY 86400
#define DIVIDER_HZ 32768
#define UIP_NS 244000 /* UIP goes to 1 this long before an update */
#define RESET_RELEASE_NS (NSEC_PER_SEC / 2)
#define MAX_OFFSET_SEC (1ll << 40) /* beyond any time the registers can hold */
#define MAX_WAIT_NS NSEC_PER_SEC   /* re-check at least this often (host clock steps) */
#define MIN_WAIT_NS 1000
#define FLAGS_MASK (DVM_RTC_C_PF | DVM_RTC_C_AF | DVM_RTC_C_UF)
#define DEFAULT_REG_A 0x26 /* 32.768 kHz divider, 1024 Hz periodic rate */
#define DEFAULT_REG_B DVM_RTC_B_24H
#define LOW_RAM_LIMIT 0xc0000000ull

/* A point on a clock: seconds since 1970 and 0..1e9-1 nanoseconds. */
struct gtime {
	int64_t sec;
	int64_t nsec;
};

struct rtc {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC: the thread re-plans */
	struct dvm_vm *vm;

	/* Configuration. */
	uint16_t base;
	uint32_t irq;
	uint64_t mem_below_4g, mem_above_4g;
	uint16_t cpus;

	/* Registers. */
	uint8_t cmos[DVM_CMOS_RTC_SIZE];
	uint8_t index;
	uint8_t nmi_disabled;
	uint8_t flags;	   /* PF | AF | UF */
	struct gtime off;  /* guest clock = host realtime + off */
	struct gtime last; /* guest time up to which events are accounted for */

	/* Runtime. */
	bool started, registered, state_loaded;
	int irq_level;
	bool thread_running, stopping;
	pthread_t thread;
};

static const struct dvm_attr_desc rtc_attrs[] = {
    {
	.group = DVM_CMOS_RTC_GRP_CONFIG,
	.attr = DVM_CMOS_RTC_CONFIG_BASE,
	.name = "base",
	DVM_FIELD(struct rtc, base),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 0,
	.max = 0x10000 - NR_PORTS,
	.def = DVM_CMOS_RTC_DEFAULT_BASE,
	.help = "I/O port of the index register; data is at base + 1",
    },
    {
	.group = DVM_CMOS_RTC_GRP_CONFIG,
	.attr = DVM_CMOS_RTC_CONFIG_IRQ,
	.name = "irq",
	DVM_FIELD(struct rtc, irq),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 0,
	.max = 23,
	.def = DVM_CMOS_RTC_DEFAULT_IRQ,
	.help = "interrupt line (GSI); high while register C's IRQF is 1",
    },
    {
	.group = DVM_CMOS_RTC_GRP_CONFIG,
	.attr = DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G,
	.name = "mem-below-4g",
	DVM_FIELD(struct rtc, mem_below_4g),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 0,
	.max = 1ull << 32,
	.help = "bytes of RAM below 4 GiB, for CMOS 0x15-0x18, 0x30-0x31, 0x34-0x35 "
		"(default: the VM's, up to 3 GiB)",
    },
    {
	.group = DVM_CMOS_RTC_GRP_CONFIG,
	.attr = DVM_CMOS_RTC_CONFIG_MEM_ABOVE_4G,
	.name = "mem-above-4g",
	DVM_FIELD(struct rtc, mem_above_4g),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.help = "bytes of RAM from 4 GiB, for CMOS 0x5b-0x5d (default: the VM's)",
    },
    {
	.group = DVM_CMOS_RTC_GRP_CONFIG,
	.attr = DVM_CMOS_RTC_CONFIG_CPUS,
	.name = "cpus",
	DVM_FIELD(struct rtc, cpus),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 1,
	.max = 1024,
	.def = 1,
	.help = "number of CPUs, for CMOS 0x5f (CPUs - 1)",
    },
    {
	.group = DVM_CMOS_RTC_GRP_STATE,
	.attr = DVM_CMOS_RTC_STATE_REGS,
	.name = "regs",
	.size = sizeof(struct dvm_cmos_rtc_state),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "CMOS bytes, index, NMI mask, pending flags, clock offset "
		"(struct dvm_cmos_rtc_state)",
    },
};

/* ---- arithmetic ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static struct gtime gt_norm(int64_t sec, int64_t nsec)
{
	struct gtime t = {sec + floor_div(nsec, NSEC_PER_SEC), floor_mod(nsec, NSEC_PER_SEC)};

	return t;
}

static int gt_cmp(struct gtime a, struct gtime b)
{
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	return a.nsec < b.nsec ? -1 : a.nsec > b.nsec;
}

static struct gtime host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return gt_norm(ts.tv_sec, ts.tv_nsec);
}

static struct gtime guest_at(const struct rtc *s, struct gtime host)
{
	return gt_norm(host.sec + s->off.sec, host.nsec + s->off.nsec);
}

/* Days since 1970-01-01 of the first of month m (1..12) of year y (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m)
{
	int64_t era, yoe, doy;

	if (m <= 2)
		y--;
	era = floor_div(y, 400);
	yoe = y - era * 400;			       /* 0..399, years starting in March */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5; /* day of that March-based year */
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

struct civil {
	int64_t year;
	int mon, mday, hour, min, sec, wday; /* wday 0 = Sunday */
};

static void civil_from_time(int64_t t, struct civil *c)
{
	int64_t days = floor_div(t, SECS_PER_DAY), tod = floor_mod(t, SECS_PER_DAY);
	int64_t z = days + 719468, era = floor_div(z, 146097), doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	c->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->mon <= 2);
	c->hour = (int)(tod / 3600);
	c->min = (int)(tod / 60 % 60);
	c->sec = (int)(tod % 60);
	c->wday = (int)floor_mod(days + 4, 7); /* 1970-01-01 was a Thursday */
}

/* Any field values (the guest writes garbage too): out-of-range ones carry over. */
static int64_t time_from_fields(int64_t year, int64_t mon, int64_t mday, int64_t hour, int64_t min,
				int64_t sec)
{
	int64_t m0 = mon - 1;

	year += floor_div(m0, 12);
	m0 = floor_mod(m0, 12);
	return (days_from_civil(year, m0 + 1) + mday - 1) * SECS_PER_DAY + hour * 3600 + min * 60 +
	       sec;
}

/* ---- register encodings ---- */

static bool binary_mode(const struct rtc *s)
{
	return s->cmos[DVM_RTC_REG_B] & DVM_RTC_B_DM_BINARY;
}

static bool hour24_mode(const struct rtc *s)
{
	return s->cmos[DVM_RTC_REG_B] & DVM_RTC_B_24H;
}

static uint8_t enc(const struct rtc *s, int64_t v)
{
	if (binary_mode(s))
		return (uint8_t)floor_mod(v, 256);
	v = floor_mod(v, 100);
	return (uint8_t)(v / 10 << 4 | v % 10);
}

/* Lenient: nibbles above 9 still count (a guest's garbage is carried, not refused). */
static int dec(const struct rtc *s, uint8_t b)
{
	return binary_mode(s) ? b : (b >> 4) * 10 + (b & 15);
}

/* Exact: -1 for a byte that is no number in this mode. */
static int dec_exact(const struct rtc *s, uint8_t b)
{
	if (binary_mode(s))
		return b;
	if ((b >> 4) > 9 || (b & 15) > 9)
		return -1;
	return (b >> 4) * 10 + (b & 15);
}

static uint8_t enc_hour(const struct rtc *s, int hour)
{
	int h12 = hour % 12;

	if (hour24_mode(s))
		return enc(s, hour);
	/* 12-hour: 12 AM is midnight, 12 PM noon; bit 7 is PM. */
	return enc(s, h12 ? h12 : 12) | (hour >= 12 ? 0x80 : 0);
}

static int dec_hour(const struct rtc *s, uint8_t b)
{
	if (hour24_mode(s))
		return dec(s, b);
	return dec(s, b & 0x7f) % 12 + (b & 0x80 ? 12 : 0);
}

static bool is_time_reg(unsigned idx)
{
	switch (idx) {
	case DVM_RTC_SECONDS:
	case DVM_RTC_MINUTES:
	case DVM_RTC_HOURS:
	case DVM_RTC_DAY_OF_WEEK:
	case DVM_RTC_DAY_OF_MONTH:
	case DVM_RTC_MONTH:
	case DVM_RTC_YEAR:
	case DVM_RTC_CENTURY:
		return true;
	}
	return false;
}

/* The register idx (a time register) for guest time t, in the current mode. */
static uint8_t time_reg(const struct rtc *s, unsigned idx, int64_t t)
{
	struct civil c;

	civil_from_time(t, &c);
	switch (idx) {
	case DVM_RTC_SECONDS:
		return enc(s, c.sec);
	case DVM_RTC_MINUTES:
		return enc(s, c.min);
	case DVM_RTC_HOURS:
		return enc_hour(s, c.hour);
	case DVM_RTC_DAY_OF_WEEK:
		return enc(s, c.wday + 1);
	case DVM_RTC_DAY_OF_MONTH:
		return enc(s, c.mday);
	case DVM_RTC_MONTH:
		return enc(s, c.mon);
	case DVM_RTC_YEAR:
		return enc(s, floor_mod(c.year, 100));
	case DVM_RTC_CENTURY:
		return enc(s, floor_div(c.year, 100));
	}
	return 0xff;
}

static void latch_time(struct rtc *s, int64_t t)
{
	static const uint8_t regs[] = {
	    DVM_RTC_SECONDS,	  DVM_RTC_MINUTES, DVM_RTC_HOURS, DVM_RTC_DAY_OF_WEEK,
	    DVM_RTC_DAY_OF_MONTH, DVM_RTC_MONTH,   DVM_RTC_YEAR,  DVM_RTC_CENTURY,
	};

	for (size_t i = 0; i < sizeof(regs); i++)
		s->cmos[regs[i]] = time_reg(s, regs[i], t);
}

static int64_t time_from_regs(const struct rtc *s)
{
	const uint8_t *r = s->cmos;

	return time_from_fields((int64_t)dec(s, r[DVM_RTC_CENTURY]) * 100 + dec(s, r[DVM_RTC_YEAR]),
				dec(s, r[DVM_RTC_MONTH]), dec(s, r[DVM_RTC_DAY_OF_MONTH]),
				dec_hour(s, r[DVM_RTC_HOURS]), dec(s, r[DVM_RTC_MINUTES]),
				dec(s, r[DVM_RTC_SECONDS]));
}

/* ---- clock state ---- */

static bool divider_runs(const struct rtc *s)
{
	/* 000, 001 and 010 count; 011-101 are test modes and 11x holds the divider in reset. */
	return (s->cmos[DVM_RTC_REG_A] & DVM_RTC_A_DV_MASK) <= 0x20;
}

/* Updates stopped: the time registers hold the time. */
static bool clock_stopped(const struct rtc *s)
{
	return (s->cmos[DVM_RTC_REG_B] & DVM_RTC_B_SET) || !divider_runs(s);
}

/* Periodic interval in divider cycles, 0 for none. */
static int64_t period_cycles(const struct rtc *s)
{
	unsigned rate = s->cmos[DVM_RTC_REG_A] & DVM_RTC_A_RATE_MASK;

	if (!rate || !divider_runs(s))
		return 0;
	if (rate <= 2)
		return rate == 1 ? 128 : 256; /* 256 Hz and 128 Hz, as on the chip */
	return 1ll << (rate - 1);
}

static int64_t cycles_at(struct gtime t)
{
	return t.sec * DIVIDER_HZ + t.nsec * DIVIDER_HZ / NSEC_PER_SEC;
}

/* Alarm byte: the value to match, -2 for any, -1 for one that never matches. */
#define ALARM_ANY (-2)
static int alarm_value(const struct rtc *s, uint8_t b, int max, bool hour)
{
	int v;

	if ((b & DVM_RTC_ALARM_DONT_CARE) == DVM_RTC_ALARM_DONT_CARE)
		return ALARM_ANY;
	if (hour && !hour24_mode(s)) {
		v = dec_exact(s, b & 0x7f);
		if (v < 1 || v > 12)
			return -1;
		return v % 12 + (b & 0x80 ? 12 : 0);
	}
	v = dec_exact(s, b);
	return v > max ? -1 : v;
}

/* The first second after `after` whose time of day the alarm matches; INT64_MAX if none. */
static int64_t alarm_next(const struct rtc *s, int64_t after)
{
	int as = alarm_value(s, s->cmos[DVM_RTC_SECONDS_ALARM], 59, false);
	int am = alarm_value(s, s->cmos[DVM_RTC_MINUTES_ALARM], 59, false);
	int ah = alarm_value(s, s->cmos[DVM_RTC_HOURS_ALARM], 23, true);
	int64_t t = after + 1, day = floor_div(t, SECS_PER_DAY);
	int tod = (int)floor_mod(t, SECS_PER_DAY), h0 = tod / 3600;

	if (as == -1 || am == -1 || ah == -1)
		return INT64_MAX;
	/* Any valid alarm matches within a day: scan this hour and the next 24. */
	for (int i = 0; i <= 24; i++) {
		int hh = (h0 + i) % 24;
		int m_lo = i == 0 ? tod / 60 % 60 : 0;

		if (ah >= 0 && hh != ah)
			continue;
		for (int mm = m_lo; mm < 60; mm++) {
			int s_lo = (i == 0 && mm == m_lo) ? tod % 60 : 0, ss = s_lo;

			if (am >= 0 && mm != am)
				continue;
			if (as >= 0) {
				if (as < s_lo)
					continue;
				ss = as;
			}
			return (day + (h0 + i) / 24) * SECS_PER_DAY + hh * 3600 + mm * 60 + ss;
		}
	}
	return INT64_MAX;
}

static bool irqf(const struct rtc *s)
{
	/* Flag bits and their enables line up: PF/PIE 6, AF/AIE 5, UF/UIE 4. */
	return s->flags & s->cmos[DVM_RTC_REG_B] & FLAGS_MASK;
}

static void update_irq(struct rtc *s)
{
	int level;

	if (!s->started)
		return;
	level = irqf(s);
	if (level != s->irq_level) {
		s->irq_level = level;
		dvm_irq_set_line_from(s->vm, s->irq, s, level);
	}
}

/* Account for the events in (last, now] and drive the line. */
static void advance(struct rtc *s, struct gtime now)
{
	int64_t p = period_cycles(s);

	if (gt_cmp(now, s->last) > 0) {
		if (p && floor_div(cycles_at(now), p) != floor_div(cycles_at(s->last), p))
			s->flags |= DVM_RTC_C_PF;
		if (!clock_stopped(s) && now.sec != s->last.sec) {
			s->flags |= DVM_RTC_C_UF;
			if (alarm_next(s, s->last.sec) <= now.sec)
				s->flags |= DVM_RTC_C_AF;
		}
	}
	/* A host clock stepped back: nothing happened, count from here. */
	s->last = now;
	update_irq(s);
}

/* Start the clock at the registers' time plus frac ns, as of host time `host`. */
static void clock_from_regs(struct rtc *s, struct gtime host, int64_t frac)
{
	s->off = gt_norm(time_from_regs(s) - host.sec, frac - host.nsec);
	s->last = guest_at(s, host);
}

/* After A or B changed: latch the time when the clock stops, restart it from the registers. */
static void clock_regime(struct rtc *s, struct gtime host, bool was_stopped, bool div_was_running)
{
	struct gtime now = guest_at(s, host);
	bool stopped = clock_stopped(s);

	if (!was_stopped && stopped)
		latch_time(s, now.sec);
	else if (was_stopped && !stopped)
		clock_from_regs(s, host, div_was_running ? now.nsec : RESET_RELEASE_NS);
}

static bool irqs_enabled(const struct rtc *s)
{
	return s->cmos[DVM_RTC_REG_B] & (DVM_RTC_B_PIE | DVM_RTC_B_AIE | DVM_RTC_B_UIE);
}

/* ns until the next event that would raise the line, or -1 for none. */
static int64_t next_wait(const struct rtc *s, struct gtime now)
{
	uint8_t b = s->cmos[DVM_RTC_REG_B];
	int64_t p = period_cycles(s), best = -1, d;

	if (irqf(s))
		return -1; /* the line is up: nothing to do until C is read */
	if ((b & DVM_RTC_B_PIE) && p) {
		int64_t next = (floor_div(cycles_at(now), p) + 1) * p;
		int64_t frac = floor_mod(next, DIVIDER_HZ);

		d = (floor_div(next, DIVIDER_HZ) - now.sec) * NSEC_PER_SEC +
		    (frac * NSEC_PER_SEC + DIVIDER_HZ - 1) / DIVIDER_HZ - now.nsec;
		best = d;
	}
	if (!clock_stopped(s) && (b & (DVM_RTC_B_UIE | DVM_RTC_B_AIE))) {
		d = NSEC_PER_SEC - now.nsec; /* the next update */
		if (!(b & DVM_RTC_B_UIE)) {
			int64_t t = alarm_next(s, now.sec);

			if (t == INT64_MAX)
				d = -1;
			else if (t - now.sec <= MAX_WAIT_NS / NSEC_PER_SEC + 1)
				d = (t - now.sec) * NSEC_PER_SEC - now.nsec;
			else
				d = MAX_WAIT_NS;
		}
		if (d >= 0 && (best < 0 || d < best))
			best = d;
	}
	if (best < 0)
		return -1;
	if (best > MAX_WAIT_NS)
		best = MAX_WAIT_NS;
	return best < MIN_WAIT_NS ? MIN_WAIT_NS : best;
}

static void *rtc_thread(void *arg)
{
	struct rtc *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct gtime now = guest_at(s, host_now());
		int64_t wait;

		advance(s, now);
		wait = next_wait(s, now);
		if (wait < 0) {
			pthread_cond_wait(&s->wake, &s->lock);
		} else {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			struct gtime until = gt_norm(ts.tv_sec, ts.tv_nsec + wait);
			ts.tv_sec = until.sec;
			ts.tv_nsec = until.nsec;
			pthread_cond_timedwait(&s->wake, &s->lock, &ts);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Under the lock: wake the thread to re-plan, creating it when first needed. */
static void kick_thread(struct rtc *s)
{
	sigset_t all, old;

	if (s->thread_running) {
		pthread_cond_signal(&s->wake);
		return;
	}
	if (!s->started || s->stopping || !irqs_enabled(s))
		return;
	/* The thread takes no signals (it may be created on a vCPU thread). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&s->thread, NULL, rtc_thread, s) == 0)
		s->thread_running = true;
	/* On failure the flags are still found at each access; only the line is late. */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- guest access ---- */

static uint8_t data_read(struct rtc *s, unsigned idx)
{
	struct gtime now = guest_at(s, host_now());
	uint8_t v;

	advance(s, now);
	if (is_time_reg(idx))
		return clock_stopped(s) ? s->cmos[idx] : time_reg(s, idx, now.sec);
	switch (idx) {
	case DVM_RTC_REG_A:
		v = s->cmos[idx];
		if (!clock_stopped(s) && now.nsec >= NSEC_PER_SEC - UIP_NS)
			v |= DVM_RTC_A_UIP;
		return v;
	case DVM_RTC_REG_C:
		v = s->flags | (irqf(s) ? DVM_RTC_C_IRQF : 0);
		s->flags = 0;
		update_irq(s);
		kick_thread(s);
		return v;
	case DVM_RTC_REG_D:
		return DVM_RTC_D_VRT; /* the battery is always good */
	}
	return s->cmos[idx];
}

static void data_write(struct rtc *s, unsigned idx, uint8_t v)
{
	struct gtime host = host_now(), now = guest_at(s, host);
	bool was_stopped = clock_stopped(s), div_was_running = divider_runs(s);

	advance(s, now);
	if (is_time_reg(idx)) {
		if (!was_stopped) {
			/* Running: the other fields keep counting from now; phase kept. */
			latch_time(s, now.sec);
			s->cmos[idx] = v;
			clock_from_regs(s, host, now.nsec);
		} else {
			s->cmos[idx] = v;
		}
	} else {
		switch (idx) {
		case DVM_RTC_REG_A:
			s->cmos[idx] = v & ~DVM_RTC_A_UIP;
			clock_regime(s, host, was_stopped, div_was_running);
			break;
		case DVM_RTC_REG_B:
			if (v & DVM_RTC_B_SET)
				v &= ~DVM_RTC_B_UIE; /* the data sheet: SET clears UIE */
			s->cmos[idx] = v;
			clock_regime(s, host, was_stopped, div_was_running);
			break;
		case DVM_RTC_REG_C:
		case DVM_RTC_REG_D:
			break; /* read-only */
		default:
			s->cmos[idx] = v;
		}
	}
	update_irq(s);
	kick_thread(s);
}

/* x86 splits a wide port access into byte cycles at consecutive ports. */
static void rtc_io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct rtc *s = opaque;
	uint8_t *p = data;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < len; i++)
		/* The index register is write-only; it reads 0xff as on QEMU. */
		p[i] = offset + i == 1 ? data_read(s, s->index) : 0xff;
	pthread_mutex_unlock(&s->lock);
}

static void rtc_io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct rtc *s = opaque;
	const uint8_t *p = data;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < len; i++) {
		if (offset + i == 0) {
			s->index = p[i] & 0x7f;
			s->nmi_disabled = p[i] >> 7;
		} else if (offset + i == 1) {
			data_write(s, s->index, p[i]);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static const struct dvm_io_ops rtc_io_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
};

/* ---- firmware bytes ---- */

static void put16(struct rtc *s, unsigned idx, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	s->cmos[idx] = (uint8_t)v;
	s->cmos[idx + 1] = (uint8_t)(v >> 8);
}

/* Where QEMU's PC tells firmware its memory and CPU count. */
static void fill_firmware_bytes(struct rtc *s)
{
	uint64_t below = s->mem_below_4g, above = s->mem_above_4g >> 16;

	put16(s, 0x15, below / 1024 < 640 ? below / 1024 : 640);	    /* base memory, KiB */
	put16(s, 0x17, below > (1 << 20) ? (below - (1 << 20)) / 1024 : 0); /* from 1 MiB, KiB */
	put16(s, 0x30, below > (1 << 20) ? (below - (1 << 20)) / 1024 : 0);
	put16(s, 0x34, below > (16 << 20) ? (below - (16 << 20)) >> 16 : 0); /* from 16 MiB */
	if (above > 0xffffff)
		above = 0xffffff;
	s->cmos[0x5b] = (uint8_t)above; /* from 4 GiB, 64 KiB units */
	s->cmos[0x5c] = (uint8_t)(above >> 8);
	s->cmos[0x5d] = (uint8_t)(above >> 16);
	s->cmos[0x5f] = (uint8_t)(s->cpus ? s->cpus - 1 : 0);
}

/* ---- lifetime ---- */

static int rtc_create(struct dvm_device *dev)
{
	struct rtc *s = calloc(1, sizeof(*s));
	uint64_t mem = dvm_vm_mem_size(dev->vm);
	pthread_condattr_t ca;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	s->vm = dev->vm;
	s->base = DVM_CMOS_RTC_DEFAULT_BASE;
	s->irq = DVM_CMOS_RTC_DEFAULT_IRQ;
	s->mem_below_4g = mem < LOW_RAM_LIMIT ? mem : LOW_RAM_LIMIT;
	s->mem_above_4g = mem - s->mem_below_4g;
	s->cpus = 1;
	s->cmos[DVM_RTC_REG_A] = DEFAULT_REG_A;
	s->cmos[DVM_RTC_REG_B] = DEFAULT_REG_B;
	s->cmos[DVM_RTC_REG_D] = DVM_RTC_D_VRT;
	s->last = guest_at(s, host_now());
	fill_firmware_bytes(s);
	dev->private = s;
	return 0;
}

static int rtc_start(struct dvm_device *dev)
{
	struct rtc *s = dev->private;
	int ret;

	if (s->registered)
		return 0;
	ret = dvm_bus_register(s->vm, DVM_BUS_PIO, s->base, NR_PORTS, &rtc_io_ops, s);
	if (ret)
		return ret;
	s->registered = true;
	pthread_mutex_lock(&s->lock);
	if (!s->state_loaded)
		fill_firmware_bytes(s);
	s->started = true;
	advance(s, guest_at(s, host_now())); /* raises the line for a restored IRQF */
	kick_thread(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void rtc_destroy(struct dvm_device *dev)
{
	struct rtc *s = dev->private;

	if (!s)
		return;
	/* After unregister no vCPU is in a handler, so nothing can restart the thread. */
	if (s->registered)
		dvm_bus_unregister(s->vm, DVM_BUS_PIO, s->base, s);
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->thread_running)
		pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
	dev->private = NULL;
}

/* ---- state ---- */

static void state_save(struct rtc *s, struct dvm_cmos_rtc_state *st)
{
	struct gtime now = guest_at(s, host_now());

	advance(s, now);
	memset(st, 0, sizeof(*st));
	memcpy(st->cmos, s->cmos, sizeof(st->cmos));
	if (!clock_stopped(s))
		for (unsigned i = 0; i < DVM_CMOS_RTC_SIZE; i++)
			if (is_time_reg(i))
				st->cmos[i] = time_reg(s, i, now.sec);
	st->cmos[DVM_RTC_REG_C] = s->flags | (irqf(s) ? DVM_RTC_C_IRQF : 0);
	st->cmos[DVM_RTC_REG_D] = DVM_RTC_D_VRT;
	st->index = s->index;
	st->nmi_disabled = s->nmi_disabled;
	st->flags = s->flags;
	st->offset_sec = s->off.sec;
	st->offset_nsec = (uint32_t)s->off.nsec;
}

static int state_restore(struct rtc *s, const struct dvm_cmos_rtc_state *st)
{
	static const uint8_t zero[sizeof(st->reserved)];

	if (st->index > 0x7f || st->nmi_disabled > 1 || (st->flags & ~FLAGS_MASK) ||
	    (st->cmos[DVM_RTC_REG_A] & DVM_RTC_A_UIP) || st->offset_nsec >= NSEC_PER_SEC ||
	    st->offset_sec > MAX_OFFSET_SEC || st->offset_sec < -MAX_OFFSET_SEC ||
	    memcmp(st->reserved, zero, sizeof(zero)) || st->reserved2)
		return -EINVAL;
	memcpy(s->cmos, st->cmos, sizeof(s->cmos));
	s->cmos[DVM_RTC_REG_C] = 0;
	s->cmos[DVM_RTC_REG_D] = DVM_RTC_D_VRT;
	s->index = st->index;
	s->nmi_disabled = st->nmi_disabled;
	s->flags = st->flags;
	s->off.sec = st->offset_sec;
	s->off.nsec = st->offset_nsec;
	s->last = guest_at(s, host_now());
	s->state_loaded = true;
	update_irq(s);
	kick_thread(s);
	return 0;
}

/* Configuration rows are DVM_FIELD()s the core serves; only the state is ours. */
static int rtc_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct rtc *s = dev->private;
	struct dvm_cmos_rtc_state st;
	int ret;

	if (attr->group != DVM_CMOS_RTC_GRP_STATE || attr->attr != DVM_CMOS_RTC_STATE_REGS)
		return -ENXIO;
	memcpy(&st, (void *)(uintptr_t)attr->addr, sizeof(st));
	pthread_mutex_lock(&s->lock);
	ret = state_restore(s, &st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int rtc_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct rtc *s = dev->private;
	struct dvm_cmos_rtc_state st;

	if (attr->group != DVM_CMOS_RTC_GRP_STATE || attr->attr != DVM_CMOS_RTC_STATE_REGS)
		return -ENXIO;
	pthread_mutex_lock(&s->lock);
	state_save(s, &st);
	pthread_mutex_unlock(&s->lock);
	memcpy((void *)(uintptr_t)attr->addr, &st, sizeof(st));
	return 0;
}

const struct dvm_device_ops dvm_cmos_rtc_ops = {
    .name = "cmos-rtc",
    .type = DVM_DEV_TYPE_CMOS_RTC,
    .flags = DVM_OPS_SINGLETON,
    .summary = "MC146818 real-time clock and 128 bytes of CMOS at ports 0x70-0x71",
    .attrs = rtc_attrs,
    .nr_attrs = sizeof(rtc_attrs) / sizeof(rtc_attrs[0]),
    .create = rtc_create,
    .destroy = rtc_destroy,
    .set_attr = rtc_set_attr,
    .get_attr = rtc_get_attr,
    .start = rtc_start,
};
