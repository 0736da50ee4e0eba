/* SPDX-License-Identifier: MIT */
/* cmos-rtc: the MC146818 real-time clock and CMOS memory.  Attribute numbers and state. */
#ifndef DVM_DEVICES_CMOS_RTC_H
#define DVM_DEVICES_CMOS_RTC_H

#include <stdint.h>

#define DVM_CMOS_RTC_GRP_CONFIG 0
#define DVM_CMOS_RTC_CONFIG_BASE 0	   /* u16 I/O port base (index; data at base + 1) */
#define DVM_CMOS_RTC_CONFIG_IRQ 1	   /* u32 GSI, 0..23 */
#define DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G 2 /* u64 bytes of RAM below 4 GiB */
#define DVM_CMOS_RTC_CONFIG_MEM_ABOVE_4G 3 /* u64 bytes of RAM at and above 4 GiB */
#define DVM_CMOS_RTC_CONFIG_CPUS 4	   /* u16 number of CPUs, 1..1024 */

#define DVM_CMOS_RTC_GRP_STATE 1
#define DVM_CMOS_RTC_STATE_REGS 0 /* struct dvm_cmos_rtc_state */

#define DVM_CMOS_RTC_DEFAULT_BASE 0x70
#define DVM_CMOS_RTC_DEFAULT_IRQ 8

#define DVM_CMOS_RTC_SIZE 128

/* Register indexes. */
#define DVM_RTC_SECONDS 0x00
#define DVM_RTC_SECONDS_ALARM 0x01
#define DVM_RTC_MINUTES 0x02
#define DVM_RTC_MINUTES_ALARM 0x03
#define DVM_RTC_HOURS 0x04
#define DVM_RTC_HOURS_ALARM 0x05
#define DVM_RTC_DAY_OF_WEEK 0x06
#define DVM_RTC_DAY_OF_MONTH 0x07
#define DVM_RTC_MONTH 0x08
#define DVM_RTC_YEAR 0x09
#define DVM_RTC_REG_A 0x0a
#define DVM_RTC_REG_B 0x0b
#define DVM_RTC_REG_C 0x0c
#define DVM_RTC_REG_D 0x0d
#define DVM_RTC_CENTURY 0x32

#define DVM_RTC_A_UIP 0x80	 /* update in progress (read-only) */
#define DVM_RTC_A_DV_MASK 0x70	 /* divider: 0x20 is the 32.768 kHz time base */
#define DVM_RTC_A_RATE_MASK 0x0f /* periodic rate select */
#define DVM_RTC_B_SET 0x80
#define DVM_RTC_B_PIE 0x40
#define DVM_RTC_B_AIE 0x20
#define DVM_RTC_B_UIE 0x10
#define DVM_RTC_B_SQWE 0x08
#define DVM_RTC_B_DM_BINARY 0x04
#define DVM_RTC_B_24H 0x02
#define DVM_RTC_B_DSE 0x01
#define DVM_RTC_C_IRQF 0x80
#define DVM_RTC_C_PF 0x40
#define DVM_RTC_C_AF 0x20
#define DVM_RTC_C_UF 0x10
#define DVM_RTC_D_VRT 0x80
#define DVM_RTC_ALARM_DONT_CARE 0xc0 /* an alarm byte with both top bits set matches any value */

/*
 * The whole device, enough to save and restore it exactly.
 *
 * Get: cmos[] as the guest would read it now (time registers from the
 * clock, A without UIP, C = flags plus IRQF, D = VRT); the offset is the
 * guest clock minus the host's CLOCK_REALTIME.  While the clock is stopped
 * (B.SET, or a divider that doesn't run) the time registers hold the time
 * and only the sub-second part of the offset matters (the divider's phase).
 *
 * Set checks (EINVAL otherwise): index <= 0x7f, nmi_disabled <= 1, flags
 * only PF/AF/UF, cmos[A] without UIP, offset_nsec < 1e9, |offset_sec| <=
 * 2^40, reserved bytes 0.  cmos[C] and cmos[D] are ignored (flags are in
 * `flags`; D always reads VRT).  A running clock takes its time from the
 * offset, not from the time bytes.
 */
struct dvm_cmos_rtc_state {
	uint8_t cmos[DVM_CMOS_RTC_SIZE];
	uint8_t index;	      /* selected register, 0..0x7f */
	uint8_t nmi_disabled; /* bit 7 of the last index write (0/1) */
	uint8_t flags;	      /* pending PF | AF | UF (register C bits 4-6) */
	uint8_t reserved[5];
	int64_t offset_sec;   /* guest clock = host realtime + offset_sec + offset_nsec */
	uint32_t offset_nsec; /* 0..999999999 */
	uint32_t reserved2;
};
_Static_assert(sizeof(struct dvm_cmos_rtc_state) == 152, "stable blob size");

#endif
