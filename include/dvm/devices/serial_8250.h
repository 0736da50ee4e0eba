/* SPDX-License-Identifier: MIT */
/* serial-8250: a 16550A-compatible UART.  Public attribute numbers and state. */
#ifndef DVM_DEVICES_SERIAL_8250_H
#define DVM_DEVICES_SERIAL_8250_H

#include <stdint.h>

#define DVM_SERIAL_8250_GRP_CONFIG 0
#define DVM_SERIAL_8250_CONFIG_BASE 0	 /* u16 I/O port base, 8 ports; default by instance */
#define DVM_SERIAL_8250_CONFIG_IRQ 1	 /* u32 GSI, 0..23; default by instance */
#define DVM_SERIAL_8250_CONFIG_CONSOLE 2 /* bool: wired to the VM console in/out fds */

#define DVM_SERIAL_8250_GRP_STATE 1
#define DVM_SERIAL_8250_STATE_REGS 0 /* struct dvm_serial_8250_regs */

/* Defaults of instance 0, 1, 2, 3 (COM1..COM4); later instances repeat COM1's. */
#define DVM_SERIAL_8250_DEFAULT_BASE 0x3f8
#define DVM_SERIAL_8250_DEFAULT_IRQ 4

#define DVM_SERIAL_8250_FIFO_SIZE 16

/*
 * The whole register file, enough to save and restore the UART exactly.
 * IIR is derived from the rest (it is reported on get and ignored on set);
 * LSR THRE/TEMT are always set (the transmitter empties at once) and DR
 * follows rx_count.  Setting checks rx_count <= 16 and reserved == 0
 * (EINVAL otherwise); reserved register bits are masked.
 */
struct dvm_serial_8250_regs {
	uint8_t rbr; /* last byte read from RBR */
	uint8_t thr; /* last byte written to THR */
	uint8_t ier; /* bits 0-3 */
	uint8_t iir; /* as a read would return it now (informational) */
	uint8_t fcr; /* bits 0, 3, 6-7 (1-2 self-clear) */
	uint8_t lcr;
	uint8_t mcr; /* bits 0-4 */
	uint8_t lsr; /* OE/PE/FE/BI latched error bits, plus derived DR/THRE/TEMT */
	uint8_t msr; /* line states (bits 4-7) and delta bits (0-3) */
	uint8_t scr;
	uint8_t dll, dlm;     /* divisor latch */
	uint8_t thri_pending; /* THR-empty interrupt latched (0/1) */
	uint8_t rx_count;     /* bytes in rx_fifo, 0..16 */
	uint8_t reserved[2];
	uint8_t rx_fifo[DVM_SERIAL_8250_FIFO_SIZE]; /* oldest first */
};
_Static_assert(sizeof(struct dvm_serial_8250_regs) == 32, "stable blob size");

#endif
