/* SPDX-License-Identifier: MIT */
/* i8042: the PC keyboard controller (ports 0x60, 0x64).  One per VM. */
#ifndef DVM_DEVICES_I8042_H
#define DVM_DEVICES_I8042_H

#include <stdint.h>

#define DVM_I8042_DATA_PORT 0x60
#define DVM_I8042_CMD_PORT 0x64 /* read: status; write: command */
#define DVM_I8042_KBD_IRQ 1
#define DVM_I8042_AUX_IRQ 12

#define DVM_I8042_GRP_STATE 1
#define DVM_I8042_STATE_REGS 0 /* struct dvm_i8042_regs */

#define DVM_I8042_OUTQ_SIZE 8

/*
 * Controller state.  OBF and AUXB in `status` are derived from the output
 * queue (reported on get, ignored on set).  Setting checks out_count <= 8,
 * that `pending` is a command taking a data byte (or 0) and reserved == 0.
 */
struct dvm_i8042_regs {
	uint8_t cmd_byte;  /* controller configuration byte (0x20/0x60) */
	uint8_t status;	   /* status register as port 0x64 reads now */
	uint8_t outport;   /* output port (0xD0/0xD1): bit 0 reset line, bit 1 A20 */
	uint8_t pending;   /* controller command waiting for its data byte, or 0 */
	uint8_t out_count; /* bytes waiting in out[] */
	uint8_t out_aux;   /* bit i: out[i] came from the aux (mouse) side */
	uint8_t last_out;  /* last byte read from port 0x60 (returned when empty) */
	uint8_t reserved;
	uint8_t out[DVM_I8042_OUTQ_SIZE]; /* output buffer queue, oldest first */
};
_Static_assert(sizeof(struct dvm_i8042_regs) == 16, "stable blob size");

#endif
