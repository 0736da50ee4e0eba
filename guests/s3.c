// SPDX-License-Identifier: MIT
/*
 * Suspend to RAM and back: copies a real-mode resume stub to 0x1000, puts
 * it in the FACS waking vector, arms the RTC alarm (every second) with
 * PM1_EN.RTC_EN, and writes SLP_TYP=S3|SLP_EN.  dvm pauses the machine, the
 * alarm wakes it, and the boot CPU enters the stub in real mode; the stub
 * reports through debug-exit.  If the CPU ran on past the sleep request it
 * would mark memory, and the stub tells that apart.
 *
 * Exit codes: 0x53 woke into the stub cleanly; 0x54 woke, but the CPU had
 * run on after the sleep request; 0x55 still running after S3; 0x56 no FACS.
 */
#include "common/guest.h"

#define PM1_EVT 0x600
#define PM1_CNT 0x604
#define RTC_EN 0x400
#define SLP_EN 0x2000
#define S3_TYP (1u << 10)
#define RESUME_AT 0x1000u
#define MARK_AT 0x2000u /* the stub reports what it finds here */

extern const char resume_start[], resume_end[];
__asm__(".section .rodata\n"
	".code16\n"
	"resume_start:\n"
	"	xor %ax, %ax\n"
	"	mov %ax, %ds\n"
	"	mov $0x53, %al\n"
	"	cmpb $0, 0x2000\n"
	"	je 1f\n"
	"	mov $0x54, %al\n"
	"1:	out %al, $0xf4\n"
	"2:	hlt\n"
	"	jmp 2b\n"
	"resume_end:\n"
	".code32\n"
	".text\n");

static u8 rtc_read(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void rtc_write(u8 reg, u8 value)
{
	outb(0x70, reg);
	outb(0x71, value);
}

static int sig_is(const u8 *p, const char *sig)
{
	for (int i = 0; i < 4; i++)
		if (p[i] != (u8)sig[i])
			return 0;
	return 1;
}

/* The FACS through RSDP -> RSDT -> FADT. */
static u8 *find_facs(void)
{
	for (u32 a = 0xe0000; a < 0x100000; a += 16) {
		const u8 *p = (const u8 *)(uptr)a;
		if (!sig_is(p, "RSD ") || !sig_is(p + 4, "PTR "))
			continue;
		const u8 *rsdt = (const u8 *)(uptr) * (const u32 *)(p + 16);
		u32 n = (*(const u32 *)(rsdt + 4) - 36) / 4;
		for (u32 i = 0; i < n; i++) {
			const u8 *t = (const u8 *)(uptr) * (const u32 *)(rsdt + 36 + 4 * i);
			if (sig_is(t, "FACP"))
				return (u8 *)(uptr) * (const u32 *)(t + 36);
		}
	}
	return 0;
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	u8 *facs = find_facs();
	if (!facs || !sig_is(facs, "FACS")) {
		serial_puts("s3: FAIL no FACS\n");
		debug_exit(0x56);
	}
	u8 *dst = (u8 *)(uptr)RESUME_AT;
	for (const char *s = resume_start; s < resume_end; s++)
		*dst++ = (u8)*s;
	*(volatile u32 *)(facs + 12) = RESUME_AT; /* firmware waking vector */
	*(volatile u8 *)(uptr)MARK_AT = 0;

	/* Alarm every second ("don't care" everywhere), enabled, C cleared. */
	rtc_write(1, 0xc0);
	rtc_write(3, 0xc0);
	rtc_write(5, 0xc0);
	rtc_read(0x0c);
	rtc_write(0x0b, rtc_read(0x0b) | 0x20);
	outw(PM1_EVT + 2, RTC_EN);
	serial_puts("s3: suspending to RAM\n");
	outw(PM1_CNT, S3_TYP | SLP_EN);
	/* Only reached if the CPU kept running after the request. */
	*(volatile u8 *)(uptr)MARK_AT = 1;
	for (volatile u32 i = 0; i < 2000000; i++)
		;
	serial_puts("s3: FAIL still running after S3\n");
	debug_exit(0x55);
	halt_forever();
}
