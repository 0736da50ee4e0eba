// SPDX-License-Identifier: MIT
/*
 * Exercises the MC146818 RTC at ports 0x70/0x71: the time read in BCD and
 * binary, 24- and 12-hour modes (all must agree and be sane); the time set
 * with B.SET and read back, counting on from it across a leap-day midnight;
 * periodic, update-ended and alarm interrupts on IRQ 8 through the cascaded
 * 8259s; and the CMOS bytes firmware reads for the memory size and CPU
 * count, against "mem=MiB cpus=N" on the command line.
 *
 * One line per check; ends with debug-exit 0x52 when all pass, 1 on the
 * first failure.  An interrupt that never comes leaves the guest halted (the
 * test's timeout catches it).
 */
#include "common/guest.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define NMI_DISABLE 0x80

#define SECONDS 0x00
#define SECONDS_ALARM 0x01
#define MINUTES 0x02
#define MINUTES_ALARM 0x03
#define HOURS 0x04
#define HOURS_ALARM 0x05
#define DAY_OF_WEEK 0x06
#define DAY_OF_MONTH 0x07
#define MONTH 0x08
#define YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define CENTURY 0x32

#define A_UIP 0x80
#define A_DV_MASK 0x70
#define A_DV_32K 0x20
#define A_RATE_1024HZ 0x06
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define ALARM_ANY 0xc0

#define PIC1_VECTOR_BASE 0x20
#define PIC2_VECTOR_BASE 0x28
#define RTC_VECTOR (PIC2_VECTOR_BASE + 0) /* IRQ 8: slave pin 0 */
#define SPURIOUS_VECTOR 0xff

#define PERIODIC_IRQS 16
#define MAX_POLLS 100000

static volatile u32 irqs, pf_irqs, af_irqs, uf_irqs;
static volatile u8 last_c;

static u8 cmos_read(u8 idx)
{
	outb(CMOS_INDEX, idx);
	return inb(CMOS_DATA);
}

static void cmos_write(u8 idx, u8 v)
{
	outb(CMOS_INDEX, idx);
	outb(CMOS_DATA, v);
}

static void fail(const char *what)
{
	serial_puts("rtc: FAIL ");
	serial_puts(what);
	serial_putc('\n');
	debug_exit(1);
	halt_forever();
}

static void check(int ok, const char *what)
{
	if (!ok)
		fail(what);
}

static void put2(u32 v)
{
	serial_putc((char)('0' + v / 10 % 10));
	serial_putc((char)('0' + v % 10));
}

/* Called from rtc_isr with IF=0: reading C acknowledges and lowers IRQ 8. */
void rtc_irq(void)
{
	u8 c = cmos_read(REG_C);

	irqs++;
	last_c = c;
	if (c & C_PF)
		pf_irqs++;
	if (c & C_AF)
		af_irqs++;
	if (c & C_UF)
		uf_irqs++;
	outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

/* "ret $8" instead of iret (PVM has no protected-mode iret; see timer.c):
 * sound because interrupts are only enabled in the "sti; hlt" window. */
void rtc_isr(void);
void spurious_isr(void);
void slave_spurious_isr(void);
__asm__(".text\n"
	"rtc_isr:\n"
	"	pushal\n"
	"	cld\n"
	"	call rtc_irq\n"
	"	popal\n"
	"	ret $8\n"
	"slave_spurious_isr:\n" /* the master saw a real IRQ 2: it wants its EOI */
	"	pushl %eax\n"
	"	movb $0x20, %al\n"
	"	outb %al, $0x20\n"
	"	popl %eax\n"
	"	ret $8\n"
	"spurious_isr:\n"
	"	ret $8\n");

static void interrupts_init(void)
{
	/* Only the cascade on the master, only IRQ 8 on the slave. */
	pic_init(PIC1_VECTOR_BASE, PIC2_VECTOR_BASE, (u8) ~(1u << 2), (u8) ~(1u << 0));
	/* The LAPIC must pass the PIC's ExtINT on. */
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_write(LAPIC_LVT_LINT0, LVT_EXTINT);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
}

/* One interrupt window: sti's shadow makes hlt start before any delivery. */
static void wait_for_irq(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

struct rtc_time {
	u32 year, mon, mday, hour, min, sec, wday;
};

static int bcd_ok(u8 b)
{
	return (b >> 4) <= 9 && (b & 15) <= 9;
}

/* Reads the time registers in the current mode: twice, until two reads agree. */
static void read_raw(u8 r[8])
{
	static const u8 idx[8] = {SECONDS,	MINUTES, HOURS, DAY_OF_WEEK,
				  DAY_OF_MONTH, MONTH,	 YEAR,	CENTURY};
	u8 again[8];

	for (int tries = 0; tries < 10; tries++) {
		int same = 1;

		for (int i = 0; i < MAX_POLLS && (cmos_read(REG_A) & A_UIP); i++)
			;
		for (int i = 0; i < 8; i++)
			r[i] = cmos_read(idx[i]);
		for (int i = 0; i < 8; i++) {
			again[i] = cmos_read(idx[i]);
			same &= again[i] == r[i];
		}
		if (same)
			return;
	}
	fail("time registers never stable");
}

/* Decodes r[] per register B; checks each field's encoding and range. */
static void decode(const u8 r[8], u8 b, struct rtc_time *t, const char *mode)
{
	int binary = b & B_BINARY, h24 = b & B_24H;
	u32 v[8];
	u8 hour = r[2];

	if (!h24) {
		if (hour & 0x80)
			v[2] = 12;
		else
			v[2] = 0;
		hour &= 0x7f;
	}
	for (int i = 0; i < 8; i++) {
		u8 x = i == 2 ? hour : r[i];

		if (!binary && !bcd_ok(x)) {
			serial_puts("rtc: bad BCD in ");
			fail(mode);
		}
		u32 n = binary ? x : (u32)(x >> 4) * 10 + (x & 15);
		if (i == 2 && !h24) {
			if (n < 1 || n > 12)
				fail("12-hour value out of 1..12");
			v[2] += n % 12;
		} else {
			v[i] = n;
		}
	}
	t->sec = v[0];
	t->min = v[1];
	t->hour = v[2];
	t->wday = v[3];
	t->mday = v[4];
	t->mon = v[5];
	t->year = v[7] * 100 + v[6];
	check(t->sec < 60 && t->min < 60 && t->hour < 24, "time of day out of range");
	check(t->wday >= 1 && t->wday <= 7, "day of week out of range");
	check(t->mon >= 1 && t->mon <= 12 && t->mday >= 1 && t->mday <= 31, "date out of range");
}

static int leap(u32 y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 2000-01-01 (a Saturday). */
static u32 days_since_2000(const struct rtc_time *t)
{
	static const u16 before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	u32 d = 0;

	for (u32 y = 2000; y < t->year; y++)
		d += leap(y) ? 366 : 365;
	d += before[t->mon - 1] + (t->mon > 2 && leap(t->year)) + t->mday - 1;
	return d;
}

static u32 seconds_since_2000(const struct rtc_time *t)
{
	return days_since_2000(t) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

static void read_time(u8 b, struct rtc_time *t, const char *mode)
{
	static const u8 mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	u8 r[8];

	cmos_write(REG_B, b);
	read_raw(r);
	decode(r, b, t, mode);
	check(t->year >= 2024 && t->year <= 2199, "year before 2024 or after 2199");
	check(t->mday <= mdays[t->mon - 1] + (u32)(t->mon == 2 && leap(t->year)),
	      "day past the end of the month");
	/* 2000-01-01 was a Saturday: register value 7 (Sunday is 1). */
	check(t->wday == (days_since_2000(t) + 6) % 7 + 1, "day of week does not match the date");
}

static void check_modes(void)
{
	static const u8 modes[4] = {B_24H, B_24H | B_BINARY, B_BINARY, 0};
	static const char *const names[4] = {"bcd 24h", "binary 24h", "binary 12h", "bcd 12h"};
	struct rtc_time t[4];
	u32 s0;

	for (int i = 0; i < 4; i++)
		read_time(modes[i], &t[i], names[i]);
	s0 = seconds_since_2000(&t[0]);
	for (int i = 1; i < 4; i++) {
		u32 si = seconds_since_2000(&t[i]);

		/* Read one after the other: at most a few seconds apart under emulation. */
		if (si < s0 || si - s0 > 3) {
			serial_puts("rtc: mode ");
			fail(names[i]);
		}
	}
	serial_puts("rtc: time ");
	serial_put_uint(t[0].year);
	serial_putc('-');
	put2(t[0].mon);
	serial_putc('-');
	put2(t[0].mday);
	serial_putc(' ');
	put2(t[0].hour);
	serial_putc(':');
	put2(t[0].min);
	serial_putc(':');
	put2(t[0].sec);
	serial_puts(" sane\n");
	serial_puts("rtc: bcd/binary/12h/24h agree\n");
}

static void check_periodic(void)
{
	u32 n;

	cmos_write(REG_A, A_DV_32K | A_RATE_1024HZ);
	(void)cmos_read(REG_C);
	irqs = pf_irqs = 0;
	cmos_write(REG_B, B_24H | B_PIE);
	while (pf_irqs < PERIODIC_IRQS)
		wait_for_irq();
	cmos_write(REG_B, B_24H);
	n = pf_irqs;
	check(irqs == n, "an interrupt without PF");
	check(last_c & C_IRQF, "IRQF clear in a periodic interrupt");
	serial_puts("rtc: periodic ");
	serial_put_uint(n);
	serial_puts(" irqs\n");
}

/* 2024-02-29 23:59:58 (a Thursday), BCD 24-hour, set under SET. */
static void check_set_and_interrupts(void)
{
	static const u8 set_idx[8] = {SECONDS,	    MINUTES, HOURS, DAY_OF_WEEK,
				      DAY_OF_MONTH, MONTH,   YEAR,  CENTURY};
	static const u8 set_val[8] = {0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20};
	u8 r[8];

	cmos_write(REG_B, B_SET | B_24H);
	for (int i = 0; i < 8; i++)
		cmos_write(set_idx[i], set_val[i]);
	for (int i = 0; i < 8; i++)
		check(cmos_read(set_idx[i]) == set_val[i], "time read back under SET");
	check(!(cmos_read(REG_A) & A_UIP), "UIP set while SET");
	serial_puts("rtc: set and read back under SET\n");

	/* Running again: the next update interrupt shows 23:59:59 (or later). */
	(void)cmos_read(REG_C);
	irqs = uf_irqs = 0;
	cmos_write(REG_B, B_24H | B_UIE);
	while (!uf_irqs)
		wait_for_irq();
	cmos_write(REG_B, B_24H);
	read_raw(r);
	check(r[6] == 0x24 && r[7] == 0x20, "year changed after setting the time");
	check((r[5] == 0x02 && r[4] == 0x29 && r[2] == 0x23 && r[1] == 0x59 && r[0] >= 0x59) ||
		  (r[5] == 0x03 && r[4] == 0x01 && r[2] == 0x00),
	      "clock did not continue from the time set");
	serial_puts("rtc: update-ended irq, clock continues from the time set\n");

	/* Alarm at hh:00:01 for any hour: the first second of 2024-03-01. */
	cmos_write(SECONDS_ALARM, 0x01);
	cmos_write(MINUTES_ALARM, 0x00);
	cmos_write(HOURS_ALARM, ALARM_ANY);
	(void)cmos_read(REG_C);
	irqs = af_irqs = 0;
	cmos_write(REG_B, B_24H | B_AIE);
	while (!af_irqs)
		wait_for_irq();
	cmos_write(REG_B, B_24H);
	read_raw(r);
	check(r[7] == 0x20 && r[6] == 0x24 && r[5] == 0x03 && r[4] == 0x01 && r[3] == 0x06,
	      "no rollover from 2024-02-29 to Friday 2024-03-01");
	check(r[2] == 0x00 && r[1] == 0x00 && r[0] >= 0x01 && r[0] <= 0x03,
	      "alarm interrupt not at 00:00:01");
	serial_puts("rtc: alarm irq at 00:00:01, leap day rolled over\n");
	/* 12-hour mode: midnight is 12 AM. */
	cmos_write(REG_B, 0);
	check(cmos_read(HOURS) == 0x12, "midnight is not 12 AM");
	/* An hour written in 12-hour mode: 12 PM is noon. */
	cmos_write(REG_B, B_SET);
	cmos_write(HOURS, 0x92);
	cmos_write(REG_B, 0);
	cmos_write(REG_B, B_24H);
	check(cmos_read(HOURS) == 0x12, "12 PM written is not noon");
	serial_puts("rtc: 12 AM and 12 PM ok\n");
}

static u32 get16(u8 idx)
{
	return cmos_read(idx) | (u32)cmos_read(idx + 1) << 8;
}

static void check_memory(const char *cmdline)
{
	u32 mem = 0, cpus = 1, below, above, v;

	if (!cmdline_find_uint(cmdline, "mem=", &mem))
		fail("no mem= on the command line");
	cmdline_find_uint(cmdline, "cpus=", &cpus);
	below = mem < 3072 ? mem : 3072; /* MiB */
	above = mem - below;
	check(get16(0x15) == 640, "base memory (0x15) is not 640 KiB");
	v = (below - 1) * 1024;
	v = v > 0xffff ? 0xffff : v;
	check(get16(0x17) == v && get16(0x30) == v, "extended memory (0x17, 0x30)");
	v = below > 16 ? (below - 16) * 16 : 0;
	v = v > 0xffff ? 0xffff : v;
	check(get16(0x34) == v, "memory above 16 MiB (0x34)");
	v = above * 16;
	check((get16(0x5b) | (u32)cmos_read(0x5d) << 16) == v, "memory above 4 GiB (0x5b)");
	check(cmos_read(0x5f) == cpus - 1, "CPU count (0x5f)");
	serial_puts("rtc: cmos memory ");
	serial_put_uint(mem);
	serial_puts(" MiB, ");
	serial_put_uint(cpus);
	serial_puts(" cpus ok\n");
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	const char *cmdline = "";

	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (info->flags & MB_INFO_CMDLINE) && info->cmdline)
		cmdline = (const char *)(uptr)info->cmdline;
	serial_puts("rtc: start\n");
	idt_set_gate(RTC_VECTOR, rtc_isr);
	idt_set_gate(PIC1_VECTOR_BASE + 7, spurious_isr);
	idt_set_gate(PIC2_VECTOR_BASE + 7, slave_spurious_isr);
	idt_set_gate(SPURIOUS_VECTOR, spurious_isr);
	idt_load();
	interrupts_init();

	check((cmos_read(REG_A) & A_DV_MASK) == A_DV_32K, "divider not running at 32.768 kHz");
	check(cmos_read(REG_D) == D_VRT, "register D is not VRT");
	/* NMI-mask bit in the index: the data still comes from the low 7 bits. */
	outb(CMOS_INDEX, NMI_DISABLE | REG_D);
	check(inb(CMOS_DATA) == D_VRT, "index with the NMI bit");
	cmos_write(0x40, 0xa5);
	check(cmos_read(0x40) == 0xa5, "CMOS byte 0x40 not writable");
	serial_puts("rtc: registers ok\n");

	check_memory(cmdline);
	check_modes();
	check_periodic();
	check_set_and_interrupts();
	serial_puts("rtc: all ok\n");
	debug_exit(0x52);
	halt_forever();
}
