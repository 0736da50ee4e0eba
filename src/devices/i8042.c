// SPDX-License-Identifier: MIT
/*
 * i8042: the PC/AT keyboard controller, enough for firmware and guests to
 * probe it, switch A20 and reset the machine.  Written from the 8042/AT
 * keyboard controller documentation.
 *
 * Ports 0x60 (data) and 0x64 (status on read, command on write).  Port 0x61
 * (system control port B) is not claimed: it belongs with the PIT's speaker
 * gate and KVM's in-kernel PIT may claim it.
 *
 * There is no keyboard input.  A keyboard sits behind the controller only to
 * answer commands written to port 0x60 (ACK, reset BAT 0xAA, ID, echo), so a
 * guest's probe finds a keyboard; there is no mouse (bytes sent to the aux
 * device get no answer).  Every byte put in the output buffer raises IRQ1
 * (IRQ12 for aux bytes) when the command byte enables it, as on a PC.
 *
 * A reset request (0xFE, any pulse 0xF0-0xFF with bit 0 clear, or an output
 * port write with bit 0 clear) ends the VM with DVM_STOP_RESET.  A20 is
 * recorded in the output port but not applied: KVM guests always see A20 on.
 *
 * Lifetime: one per VM (DVM_OPS_SINGLETON) and part of the machine, so it has
 * no release op: after its handle is closed it stays, and a second create
 * still answers EEXIST.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dvm/device.h"
#include "dvm/devices/i8042.h"
#include "dvm/vm.h"

#define STAT_OBF 0x01	   /* output buffer full */
#define STAT_IBF 0x02	   /* input buffer full: never, commands complete at once */
#define STAT_SYS 0x04	   /* system flag: self-test passed */
#define STAT_CMD 0x08	   /* last write was to the command port */
#define STAT_UNLOCKED 0x10 /* keyboard not inhibited */
#define STAT_AUXB 0x20	   /* output buffer holds aux data */
#define STAT_STORED (STAT_SYS | STAT_CMD | STAT_UNLOCKED)

#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS 0x04
#define CB_KBD_DISABLE 0x10
#define CB_AUX_DISABLE 0x20
#define CB_XLATE 0x40

#define OUT_RESET 0x01 /* 0: hold the CPU in reset */
#define OUT_A20 0x02
#define OUT_OBF 0x10
#define OUT_AUXB 0x20

/* Controller commands. */
#define CMD_READ_CB 0x20
#define CMD_WRITE_CB 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_WRITE_AUX_OUT 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_A20_OFF 0xdd
#define CMD_A20_ON 0xdf
#define CMD_PULSE_FIRST 0xf0

/* Keyboard commands and answers. */
#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa
#define KBD_ECHO 0xee
#define KBD_IDENTIFY 0xf2
#define KBD_RESET 0xff

struct i8042 {
	pthread_mutex_t lock;
	struct dvm_vm *vm;
	uint8_t cmd_byte, status, outport, pending, last_out;
	uint8_t out[DVM_I8042_OUTQ_SIZE];
	uint8_t out_aux; /* bit i: out[i] is aux data */
	unsigned out_count;
	bool started;
	bool registered;
	int kbd_level, aux_level;
};

static const struct dvm_attr_desc i8042_attrs[] = {
    {
	.group = DVM_I8042_GRP_STATE,
	.attr = DVM_I8042_STATE_REGS,
	.name = "regs",
	.size = sizeof(struct dvm_i8042_regs),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "command byte, status, output port, pending command, output queue "
		"(struct dvm_i8042_regs)",
    },
};

static bool pending_is_valid(uint8_t cmd)
{
	switch (cmd) {
	case 0:
	case CMD_WRITE_CB:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		return true;
	}
	return false;
}

static uint8_t compute_status(const struct i8042 *k)
{
	uint8_t st = k->status & STAT_STORED;

	if (k->out_count) {
		st |= STAT_OBF;
		if (k->out_aux & 1)
			st |= STAT_AUXB;
	}
	return st;
}

static void update_irq(struct i8042 *k)
{
	int kbd = 0, aux = 0;

	if (!k->started)
		return;
	if (k->out_count) {
		if (k->out_aux & 1)
			aux = !!(k->cmd_byte & CB_AUX_INT);
		else
			kbd = !!(k->cmd_byte & CB_KBD_INT);
	}
	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		dvm_irq_set_line_from(k->vm, DVM_I8042_KBD_IRQ, k, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		dvm_irq_set_line_from(k->vm, DVM_I8042_AUX_IRQ, k, aux);
	}
}

static void out_push(struct i8042 *k, uint8_t b, bool aux)
{
	if (k->out_count >= DVM_I8042_OUTQ_SIZE)
		return; /* nobody reads: drop, the guest will time out */
	k->out[k->out_count] = b;
	if (aux)
		k->out_aux |= 1u << k->out_count;
	else
		k->out_aux &= ~(1u << k->out_count);
	k->out_count++;
}

static uint8_t out_pop(struct i8042 *k)
{
	if (k->out_count) {
		k->last_out = k->out[0];
		memmove(k->out, k->out + 1, DVM_I8042_OUTQ_SIZE - 1);
		k->out_aux >>= 1;
		k->out_count--;
	}
	return k->last_out;
}

/* The keyboard behind the controller: answers commands, sends no keys. */
static void kbd_write(struct i8042 *k, uint8_t b)
{
	switch (b) {
	case KBD_ECHO:
		out_push(k, KBD_ECHO, false);
		break;
	case KBD_IDENTIFY:
		out_push(k, KBD_ACK, false);
		out_push(k, 0xab, false); /* MF2 keyboard */
		out_push(k, (k->cmd_byte & CB_XLATE) ? 0x41 : 0x83, false);
		break;
	case KBD_RESET:
		out_push(k, KBD_ACK, false);
		out_push(k, KBD_BAT_OK, false);
		break;
	default:
		/* Every other command and parameter byte (LEDs, rate, scan set) is ACKed. */
		out_push(k, KBD_ACK, false);
	}
}

static void write_outport(struct i8042 *k, uint8_t v, bool *reset)
{
	k->outport = v & ~(OUT_OBF | OUT_AUXB);
	if (!(v & OUT_RESET))
		*reset = true;
}

static void data_write(struct i8042 *k, uint8_t v, bool *reset)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case CMD_WRITE_CB:
		k->cmd_byte = v;
		/* The system flag in the status follows the command byte. */
		k->status = (k->status & ~STAT_SYS) | (v & CB_SYS ? STAT_SYS : 0);
		break;
	case CMD_WRITE_OUTPORT:
		write_outport(k, v, reset);
		break;
	case CMD_WRITE_KBD_OUT:
		out_push(k, v, false);
		break;
	case CMD_WRITE_AUX_OUT:
		out_push(k, v, true);
		break;
	case CMD_WRITE_AUX:
		break; /* no mouse: nothing answers */
	default:
		kbd_write(k, v);
	}
}

static void command_write(struct i8042 *k, uint8_t cmd, bool *reset)
{
	uint8_t op;

	k->pending = 0;
	switch (cmd) {
	case CMD_READ_CB:
		out_push(k, k->cmd_byte, false);
		break;
	case CMD_WRITE_CB:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		k->pending = cmd;
		break;
	case CMD_AUX_DISABLE:
		k->cmd_byte |= CB_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		k->cmd_byte &= ~CB_AUX_DISABLE;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		out_push(k, 0x00, false); /* interface OK */
		break;
	case CMD_SELF_TEST:
		k->status |= STAT_SYS;
		out_push(k, 0x55, false);
		break;
	case CMD_KBD_DISABLE:
		k->cmd_byte |= CB_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		k->cmd_byte &= ~CB_KBD_DISABLE;
		break;
	case CMD_READ_OUTPORT:
		op = k->outport & ~(OUT_OBF | OUT_AUXB);
		if (k->out_count)
			op |= (k->out_aux & 1) ? OUT_AUXB : OUT_OBF;
		out_push(k, op, false);
		break;
	case CMD_A20_OFF:
		k->outport &= ~OUT_A20;
		break;
	case CMD_A20_ON:
		k->outport |= OUT_A20;
		break;
	default:
		/* 0xF0-0xFF pulse the output port bits whose mask bit is 0; bit 0 is reset. */
		if (cmd >= CMD_PULSE_FIRST && !(cmd & OUT_RESET))
			*reset = true;
		/* Other commands are not implemented and ignored. */
	}
}

static void request_reset(struct i8042 *k)
{
	dvm_vm_request_stop(k->vm, DVM_STOP_RESET, DVM_STATUS_OK,
			    "guest requested a reset through the i8042");
}

/* Only the first byte of a wider access reaches the register; the rest float. */
static void i8042_io_read(void *opaque, uint64_t offset, void *data, unsigned len, bool cmd_port)
{
	struct i8042 *k = opaque;
	uint8_t *p = data;

	memset(p, 0xff, len);
	if (offset != 0)
		return;
	pthread_mutex_lock(&k->lock);
	p[0] = cmd_port ? compute_status(k) : out_pop(k);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_io_write(void *opaque, uint64_t offset, const void *data, unsigned len,
			   bool cmd_port)
{
	struct i8042 *k = opaque;
	const uint8_t *p = data;
	bool reset = false;

	(void)len;
	if (offset != 0)
		return;
	pthread_mutex_lock(&k->lock);
	if (cmd_port) {
		k->status |= STAT_CMD;
		command_write(k, p[0], &reset);
	} else {
		k->status &= ~STAT_CMD;
		data_write(k, p[0], &reset);
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	/* Outside the device lock: stopping kicks vCPUs. */
	if (reset)
		request_reset(k);
}

static void data_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	i8042_io_read(opaque, offset, data, len, false);
}

static void data_write_io(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	i8042_io_write(opaque, offset, data, len, false);
}

static void cmd_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	i8042_io_read(opaque, offset, data, len, true);
}

static void cmd_write_io(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	i8042_io_write(opaque, offset, data, len, true);
}

static const struct dvm_io_ops data_ops = {.read = data_read, .write = data_write_io};
static const struct dvm_io_ops cmd_ops = {.read = cmd_read, .write = cmd_write_io};

static int i8042_create(struct dvm_device *dev)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	k->vm = dev->vm;
	/* As firmware leaves it: keyboard interrupt on, self-test passed, translation. */
	k->cmd_byte = CB_KBD_INT | CB_SYS | CB_XLATE;
	k->status = STAT_SYS | STAT_UNLOCKED;
	k->outport = OUT_RESET | OUT_A20;
	dev->private = k;
	return 0;
}

static int i8042_start(struct dvm_device *dev)
{
	struct i8042 *k = dev->private;
	int ret;

	if (k->registered)
		return 0;
	ret = dvm_bus_register(k->vm, DVM_BUS_PIO, DVM_I8042_DATA_PORT, 1, &data_ops, k);
	if (ret)
		return ret;
	ret = dvm_bus_register(k->vm, DVM_BUS_PIO, DVM_I8042_CMD_PORT, 1, &cmd_ops, k);
	if (ret) {
		dvm_bus_unregister(k->vm, DVM_BUS_PIO, DVM_I8042_DATA_PORT, k);
		return ret;
	}
	k->registered = true;
	pthread_mutex_lock(&k->lock);
	k->started = true;
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void i8042_destroy(struct dvm_device *dev)
{
	struct i8042 *k = dev->private;

	if (!k)
		return;
	if (k->registered) {
		dvm_bus_unregister(k->vm, DVM_BUS_PIO, DVM_I8042_DATA_PORT, k);
		dvm_bus_unregister(k->vm, DVM_BUS_PIO, DVM_I8042_CMD_PORT, k);
	}
	pthread_mutex_destroy(&k->lock);
	free(k);
	dev->private = NULL;
}

static int i8042_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct i8042 *k = dev->private;
	struct dvm_i8042_regs r;

	if (attr->group != DVM_I8042_GRP_STATE || attr->attr != DVM_I8042_STATE_REGS)
		return -ENXIO;
	memcpy(&r, (void *)(uintptr_t)attr->addr, sizeof(r));
	if (r.out_count > DVM_I8042_OUTQ_SIZE || !pending_is_valid(r.pending) || r.reserved)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->cmd_byte = r.cmd_byte;
	k->status = r.status & STAT_STORED;
	k->outport = r.outport & ~(OUT_OBF | OUT_AUXB);
	k->pending = r.pending;
	k->last_out = r.last_out;
	k->out_count = r.out_count;
	k->out_aux = r.out_count < 8 ? r.out_aux & ((1u << r.out_count) - 1) : r.out_aux;
	memcpy(k->out, r.out, sizeof(k->out));
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static int i8042_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct i8042 *k = dev->private;
	struct dvm_i8042_regs r;

	if (attr->group != DVM_I8042_GRP_STATE || attr->attr != DVM_I8042_STATE_REGS)
		return -ENXIO;
	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&k->lock);
	r.cmd_byte = k->cmd_byte;
	r.status = compute_status(k);
	r.outport = k->outport;
	r.pending = k->pending;
	r.out_count = k->out_count;
	r.out_aux = k->out_aux;
	r.last_out = k->last_out;
	memcpy(r.out, k->out, sizeof(r.out));
	pthread_mutex_unlock(&k->lock);
	memcpy((void *)(uintptr_t)attr->addr, &r, sizeof(r));
	return 0;
}

const struct dvm_device_ops dvm_i8042_ops = {
    .name = "i8042",
    .type = DVM_DEV_TYPE_I8042,
    .flags = DVM_OPS_SINGLETON,
    .summary = "PC keyboard controller on ports 0x60/0x64: self-test, A20, reset",
    .attrs = i8042_attrs,
    .nr_attrs = sizeof(i8042_attrs) / sizeof(i8042_attrs[0]),
    .create = i8042_create,
    .destroy = i8042_destroy,
    .set_attr = i8042_set_attr,
    .get_attr = i8042_get_attr,
    .start = i8042_start,
};
