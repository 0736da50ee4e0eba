// SPDX-License-Identifier: MIT
/*
 * Unit tests of the emulated ISA devices (serial-8250, i8042, debug-exit),
 * driven through the attribute API and guest port accesses on a VM without
 * /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/debug_exit.h"
#include "dvm/devices/i8042.h"
#include "dvm/devices/serial_8250.h"
#include "dvm/vm.h"

#define COM1 0x3f8
#define MAX_HANDLES 8

struct fx {
	struct dvm_vm *vm;
	int in[2], out[2]; /* console pipes: test writes in[1], reads out[0] */
	int handles[MAX_HANDLES];
	int nr_handles;
};

static struct dvm_vm *new_vm(void)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm = NULL;

	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	assert_non_null(vm);
	return vm;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	dvm_register_builtin_devices();
	f->vm = new_vm();
	assert_int_equal(pipe2(f->in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(f->out, O_CLOEXEC), 0);
	/* Reads of the output must never hang a test. */
	fcntl(f->out[0], F_SETFL, O_NONBLOCK);
	dvm_vm_set_console(f->vm, -1, f->out[1]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < f->nr_handles; i++)
		if (f->handles[i] >= 0)
			dvm_device_close(f->vm, f->handles[i]);
	dvm_vm_put(f->vm); /* joins the serial reader thread */
	for (int i = 0; i < 2; i++) {
		close(f->in[i]);
		close(f->out[i]);
	}
	free(f);
	return 0;
}

static int create(struct fx *f, uint32_t type)
{
	struct kvm_create_device cd = {.type = type};

	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	assert_true(f->nr_handles < MAX_HANDLES);
	f->handles[f->nr_handles++] = (int)cd.fd;
	return (int)cd.fd;
}

static void forget_handle(struct fx *f, int h)
{
	for (int i = 0; i < f->nr_handles; i++)
		if (f->handles[i] == h)
			f->handles[i] = -1;
}

static uint8_t in8(struct dvm_vm *vm, uint16_t port)
{
	uint8_t v = 0;

	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, port, &v, 1, false));
	return v;
}

static void out8(struct dvm_vm *vm, uint16_t port, uint8_t v)
{
	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, port, &v, 1, true));
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait (bounded, 3 s) until the LSR at base shows DR. */
static bool wait_dr(struct dvm_vm *vm, uint16_t base)
{
	for (int i = 0; i < 3000; i++) {
		if (in8(vm, base + 5) & 0x01)
			return true;
		sleep_ms(1);
	}
	return false;
}

static size_t read_out(struct fx *f, char *buf, size_t len)
{
	ssize_t n = read(f->out[0], buf, len);

	return n < 0 ? 0 : (size_t)n;
}

static struct dvm_serial_8250_regs serial_regs(struct fx *f, int h)
{
	struct dvm_serial_8250_regs r;

	assert_int_equal(
	    dvm_device_get(f->vm, h, DVM_SERIAL_8250_GRP_STATE, DVM_SERIAL_8250_STATE_REGS, &r), 0);
	return r;
}

/* ---- serial-8250 ---- */

static void test_serial_output(void **state)
{
	struct fx *f = *state;
	char buf[16];

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, COM1, 'h');
	out8(f->vm, COM1, 'i');
	assert_int_equal(read_out(f, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	/* With DLAB set, offset 0 is the divisor latch: nothing is sent. */
	out8(f->vm, COM1 + 3, 0x80);
	out8(f->vm, COM1, 0x01);
	assert_int_equal(read_out(f, buf, sizeof(buf)), 0);
}

/* A console nobody drains must not hang the vCPU: bytes are dropped after a bounded wait. */
static void test_serial_output_full_pipe(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1;
	char junk[4096];
	int fl = fcntl(f->out[1], F_GETFL);

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	memset(junk, 'j', sizeof(junk));
	fcntl(f->out[1], F_SETFL, fl | O_NONBLOCK);
	while (write(f->out[1], junk, sizeof(junk)) > 0)
		;
	while (write(f->out[1], junk, 1) > 0)
		;
	fcntl(f->out[1], F_SETFL, fl); /* blocking again, as a console would be */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20; i++)
		out8(f->vm, COM1, 'x');
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(in8(f->vm, COM1 + 5), 0x60);
	/* Once drained, output flows again. */
	while (read_out(f, junk, sizeof(junk)) > 0)
		;
	out8(f->vm, COM1, 'y');
	assert_int_equal(read_out(f, junk, sizeof(junk)), 1);
	assert_int_equal(junk[0], 'y');
}

static void test_serial_lsr(void **state)
{
	struct fx *f = *state;

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(in8(f->vm, COM1 + 5), 0x60); /* THRE | TEMT, no DR */
	out8(f->vm, COM1 + 4, 0x10);		      /* loopback */
	out8(f->vm, COM1, 'x');
	assert_int_equal(in8(f->vm, COM1 + 5), 0x61);
	assert_int_equal(in8(f->vm, COM1), 'x');
	assert_int_equal(in8(f->vm, COM1 + 5), 0x60);
	/* Overrun in 16450 mode: a second byte while RBR is full. */
	out8(f->vm, COM1 + 1, 0x04); /* line status interrupt */
	out8(f->vm, COM1, 'a');
	out8(f->vm, COM1, 'b');
	assert_int_equal(in8(f->vm, COM1 + 2), 0x06);
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 1);
	assert_int_equal(in8(f->vm, COM1 + 5), 0x63); /* DR | OE */
	assert_int_equal(in8(f->vm, COM1 + 5), 0x61); /* OE cleared by the read */
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	assert_int_equal(in8(f->vm, COM1), 'a');
}

static void test_serial_thre_irq(void **state)
{
	struct fx *f = *state;
	char buf[4];

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	assert_int_equal(in8(f->vm, COM1 + 2), 0x01);
	out8(f->vm, COM1 + 1, 0x02); /* enable THRI: THR is empty, so it fires */
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 1);
	assert_int_equal(in8(f->vm, COM1 + 2), 0x02); /* the read acknowledges it */
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	assert_int_equal(in8(f->vm, COM1 + 2), 0x01);
	out8(f->vm, COM1, 'q'); /* THR empties again at once: raised again */
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 1);
	assert_int_equal(read_out(f, buf, sizeof(buf)), 1);
	out8(f->vm, COM1 + 1, 0x00);
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	assert_int_equal(in8(f->vm, COM1 + 2), 0x01);
	/* FIFO mode shows in IIR bits 6-7. */
	out8(f->vm, COM1 + 2, 0x01);
	out8(f->vm, COM1 + 1, 0x02);
	assert_int_equal(in8(f->vm, COM1 + 2), 0xc2);
	assert_int_equal(in8(f->vm, COM1 + 2), 0xc1);
}

static void test_serial_rx_console(void **state)
{
	struct fx *f = *state;

	dvm_vm_set_console(f->vm, f->in[0], f->out[1]);
	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, COM1 + 1, 0x01); /* rx data interrupt */
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	assert_int_equal(write(f->in[1], "ab", 2), 2);
	assert_true(wait_dr(f->vm, COM1));
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 1);
	assert_int_equal(in8(f->vm, COM1 + 2), 0x04);
	assert_int_equal(in8(f->vm, COM1), 'a');
	/* 16450 mode holds one byte: 'b' waited in the reader and comes next. */
	assert_true(wait_dr(f->vm, COM1));
	assert_int_equal(in8(f->vm, COM1), 'b');
	assert_int_equal(in8(f->vm, COM1 + 5) & 0x01, 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
}

static void test_serial_rx_fifo(void **state)
{
	struct fx *f = *state;
	const char msg[] = "0123456789abcdefghij"; /* 20 bytes: more than the FIFO */
	int h;

	dvm_vm_set_console(f->vm, f->in[0], f->out[1]);
	h = create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, COM1 + 2, 0xc1); /* FIFO on, trigger level 14 */
	out8(f->vm, COM1 + 1, 0x01);
	assert_int_equal(write(f->in[1], msg, 20), 20);
	for (int i = 0; i < 3000 && serial_regs(f, h).rx_count < 16; i++)
		sleep_ms(1);
	assert_int_equal(serial_regs(f, h).rx_count, 16);
	assert_int_equal(in8(f->vm, COM1 + 2), 0xc4); /* at or above the trigger level */
	for (int i = 0; i < 16; i++)
		assert_int_equal(in8(f->vm, COM1), msg[i]);
	/* Nothing was lost: the rest arrives, below the trigger level (timeout id). */
	for (int i = 0; i < 3000 && serial_regs(f, h).rx_count < 4; i++)
		sleep_ms(1);
	assert_int_equal(serial_regs(f, h).rx_count, 4);
	assert_int_equal(in8(f->vm, COM1 + 2), 0xcc);
	for (int i = 16; i < 20; i++)
		assert_int_equal(in8(f->vm, COM1), msg[i]);
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	/* FCR bit 1 empties the rx FIFO. */
	assert_int_equal(write(f->in[1], "z", 1), 1);
	assert_true(wait_dr(f->vm, COM1));
	out8(f->vm, COM1 + 2, 0xc3);
	assert_int_equal(in8(f->vm, COM1 + 5) & 0x01, 0);
}

static void test_serial_dlab(void **state)
{
	struct fx *f = *state;
	char c;

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, COM1 + 3, 0x83);
	out8(f->vm, COM1 + 0, 0x01);
	out8(f->vm, COM1 + 1, 0x02);
	assert_int_equal(in8(f->vm, COM1 + 0), 0x01);
	assert_int_equal(in8(f->vm, COM1 + 1), 0x02);
	out8(f->vm, COM1 + 3, 0x03);
	assert_int_equal(in8(f->vm, COM1 + 3), 0x03);
	assert_int_equal(in8(f->vm, COM1 + 1), 0x00); /* IER untouched by the DLM write */
	out8(f->vm, COM1, 'Z');
	assert_int_equal(read_out(f, &c, 1), 1);
	assert_int_equal(c, 'Z');
	out8(f->vm, COM1 + 3, 0x83);
	assert_int_equal(in8(f->vm, COM1 + 0), 0x01); /* THR write left DLL alone */
	assert_int_equal(in8(f->vm, COM1 + 1), 0x02);
}

static void test_serial_loopback_msr(void **state)
{
	struct fx *f = *state;
	char buf[4];

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(in8(f->vm, COM1 + 6), 0xb0); /* CTS, DSR, DCD from the host */
	out8(f->vm, COM1 + 4, 0x1f);		      /* loopback, all lines on */
	assert_int_equal(in8(f->vm, COM1 + 4), 0x1f);
	out8(f->vm, COM1, 'L');
	assert_int_equal(read_out(f, buf, sizeof(buf)), 0); /* not sent out */
	assert_int_equal(in8(f->vm, COM1), 'L');
	assert_int_equal(in8(f->vm, COM1 + 6), 0xf0); /* RTS->CTS DTR->DSR OUT1->RI OUT2->DCD */
	out8(f->vm, COM1 + 1, 0x08);		      /* modem status interrupt */
	out8(f->vm, COM1 + 4, 0x10);		      /* all lines off */
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 1);
	assert_int_equal(in8(f->vm, COM1 + 2), 0x00);
	assert_int_equal(in8(f->vm, COM1 + 6), 0x0f); /* DCTS DDSR TERI DDCD */
	assert_int_equal(in8(f->vm, COM1 + 6), 0x00); /* deltas clear on read */
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	out8(f->vm, COM1 + 4, 0x02); /* RTS only: CTS follows */
	assert_int_equal(in8(f->vm, COM1 + 6) & 0xf0, 0xb0);
	out8(f->vm, COM1 + 4, 0x12);
	assert_int_equal(in8(f->vm, COM1 + 6) & 0xf0, 0x10);
	out8(f->vm, COM1 + 4, 0x00); /* out of loopback: output flows again */
	out8(f->vm, COM1, 'M');
	assert_int_equal(read_out(f, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'M');
}

static void test_serial_scratch(void **state)
{
	struct fx *f = *state;

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, COM1 + 7, 0xa5);
	assert_int_equal(in8(f->vm, COM1 + 7), 0xa5);
	out8(f->vm, COM1 + 7, 0x5a);
	assert_int_equal(in8(f->vm, COM1 + 7), 0x5a);
}

static void test_serial_fifo_overrun(void **state)
{
	struct fx *f = *state;
	int h;

	h = create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, COM1 + 2, 0x07);
	out8(f->vm, COM1 + 4, 0x10);
	for (int i = 0; i < 17; i++)
		out8(f->vm, COM1, (uint8_t)i);
	assert_int_equal(serial_regs(f, h).rx_count, 16);
	assert_int_equal(in8(f->vm, COM1 + 5), 0x63);
	assert_int_equal(in8(f->vm, COM1), 0);
	assert_int_equal(in8(f->vm, COM1), 1);
	out8(f->vm, COM1 + 2, 0x03); /* clear rx */
	assert_int_equal(in8(f->vm, COM1 + 5), 0x60);
	out8(f->vm, COM1, 'a');
	out8(f->vm, COM1 + 2, 0x00); /* FIFO off also empties it */
	assert_int_equal(in8(f->vm, COM1 + 5), 0x60);
	assert_int_equal(in8(f->vm, COM1 + 2), 0x01);
}

static void test_serial_state_roundtrip(void **state)
{
	struct fx *f = *state;
	struct dvm_serial_8250_regs a, b;
	struct fx g = {0};
	int h, h2;

	h = create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, COM1 + 3, 0x83);
	out8(f->vm, COM1 + 0, 0x30);
	out8(f->vm, COM1 + 1, 0x01);
	out8(f->vm, COM1 + 3, 0x1b);
	out8(f->vm, COM1 + 7, 0x77);
	out8(f->vm, COM1 + 2, 0x81);
	out8(f->vm, COM1 + 4, 0x1b);
	out8(f->vm, COM1, 'x');
	out8(f->vm, COM1, 'y');
	out8(f->vm, COM1, 'z');
	out8(f->vm, COM1 + 1, 0x0d); /* RDI | RLSI | MSI */
	a = serial_regs(f, h);
	assert_int_equal(a.rx_count, 3);

	/* A fresh device in a fresh VM, restored before start. */
	g.vm = new_vm();
	dvm_vm_set_console(g.vm, -1, -1);
	h2 = create(&g, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(
	    dvm_device_set(g.vm, h2, DVM_SERIAL_8250_GRP_STATE, DVM_SERIAL_8250_STATE_REGS, &a), 0);
	assert_int_equal(dvm_vm_start(g.vm), 0);
	b = serial_regs(&g, h2);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(dvm_irq_get_line(g.vm, 4), dvm_irq_get_line(f->vm, 4));
	assert_int_equal(dvm_irq_get_line(g.vm, 4), 1);
	static const uint16_t offs[] = {1, 2, 3, 4, 5, 6, 7};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		assert_int_equal(in8(g.vm, COM1 + offs[i]), in8(f->vm, COM1 + offs[i]));
	for (int i = 0; i < 3; i++)
		assert_int_equal(in8(g.vm, COM1), in8(f->vm, COM1));
	out8(g.vm, COM1 + 3, 0x9b);
	assert_int_equal(in8(g.vm, COM1), 0x30);
	assert_int_equal(in8(g.vm, COM1 + 1), 0x01);

	/* Invalid blobs are refused. */
	a.rx_count = 17;
	assert_int_equal(
	    dvm_device_set(g.vm, h2, DVM_SERIAL_8250_GRP_STATE, DVM_SERIAL_8250_STATE_REGS, &a),
	    -EINVAL);
	dvm_device_close(g.vm, h2);
	dvm_vm_put(g.vm);
}

static void test_serial_config(void **state)
{
	struct fx *f = *state;
	uint16_t base = 0x2f8, got16 = 0;
	uint32_t irq = 3, bad = 24;
	int h, h2;
	uint8_t v;

	h = create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_device_get(f->vm, h, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_BASE, &got16),
			 0);
	assert_int_equal(got16, 0x3f8);
	assert_int_equal(dvm_device_set(f->vm, h, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_BASE, &base),
			 0);
	assert_int_equal(
	    dvm_device_set(f->vm, h, DVM_SERIAL_8250_GRP_CONFIG, DVM_SERIAL_8250_CONFIG_IRQ, &irq),
	    0);
	assert_int_equal(
	    dvm_device_set(f->vm, h, DVM_SERIAL_8250_GRP_CONFIG, DVM_SERIAL_8250_CONFIG_IRQ, &bad),
	    -EINVAL);
	/* A second UART defaults to COM2 and is not on the console. */
	h2 = create(f, DVM_DEV_TYPE_SERIAL_8250);
	base = 0x3e8;
	assert_int_equal(dvm_device_get(f->vm, h2, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_BASE, &got16),
			 0);
	assert_int_equal(got16, 0x2f8);
	assert_int_equal(dvm_device_get(f->vm, h2, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_CONSOLE, &v),
			 0);
	assert_int_equal(v, 0);
	assert_int_equal(dvm_device_set(f->vm, h2, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_BASE, &base),
			 0);
	assert_int_equal(dvm_vm_start(f->vm), 0);

	v = 0;
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, COM1 + 7, &v, 1, false));
	out8(f->vm, 0x2f8 + 7, 0x42);
	assert_int_equal(in8(f->vm, 0x2f8 + 7), 0x42);
	assert_int_equal(in8(f->vm, 0x3e8 + 7), 0x00);
	out8(f->vm, 0x2f8 + 1, 0x02);
	assert_int_equal(dvm_irq_get_line(f->vm, 3), 1);
	assert_int_equal(dvm_irq_get_line(f->vm, 4), 0);
	base = 0x3f8;
	assert_int_equal(dvm_device_set(f->vm, h, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_BASE, &base),
			 -EBUSY);
}

static void test_serial_wide_access(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];
	uint32_t v = 0x00aa0000; /* SCR at offset 2 of a 4-byte write at base+5 */

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	/* A wide access is byte cycles at consecutive ports; past the end reads 0xff. */
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, COM1 + 5, &v, 4, true));
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, COM1 + 5, buf, 4, false));
	assert_int_equal(buf[0], 0x60);
	assert_int_equal(buf[1], 0xb0);
	assert_int_equal(buf[2], 0xaa);
	assert_int_equal(buf[3], 0xff);
	for (unsigned off = 0; off < 8; off++)
		for (unsigned len = 1; len <= 8; len *= 2) {
			uint64_t w = 0x0102030405060708ull;
			assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, COM1 + off, &w, len, true));
			assert_true(
			    dvm_bus_access(f->vm, DVM_BUS_PIO, COM1 + off, buf, len, false));
		}
}

/* ---- i8042 ---- */

static uint8_t kbc_cmd(struct dvm_vm *vm, uint8_t cmd)
{
	out8(vm, DVM_I8042_CMD_PORT, cmd);
	assert_true(in8(vm, DVM_I8042_CMD_PORT) & 0x01);
	return in8(vm, DVM_I8042_DATA_PORT);
}

static void test_i8042_commands(void **state)
{
	struct fx *f = *state;
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_I8042};
	int h;

	h = create(f, DVM_DEV_TYPE_I8042);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(in8(f->vm, 0x64) & 0x01, 0);
	out8(f->vm, 0x64, 0xaa);
	assert_int_equal(in8(f->vm, 0x64) & 0x0d, 0x0d); /* OBF, SYS, last write a command */
	assert_int_equal(dvm_irq_get_line(f->vm, 1), 1);
	assert_int_equal(in8(f->vm, 0x60), 0x55);
	assert_int_equal(in8(f->vm, 0x64) & 0x01, 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 1), 0);
	assert_int_equal(in8(f->vm, 0x60), 0x55); /* empty: the last byte again */
	assert_int_equal(kbc_cmd(f->vm, 0xab), 0x00);
	assert_int_equal(kbc_cmd(f->vm, 0x20), 0x45);
	out8(f->vm, 0x64, 0x60);
	out8(f->vm, 0x60, 0x44);
	assert_int_equal(kbc_cmd(f->vm, 0x20), 0x44);
	out8(f->vm, 0x64, 0xad);
	assert_int_equal(kbc_cmd(f->vm, 0x20), 0x54);
	out8(f->vm, 0x64, 0xae);
	assert_int_equal(kbc_cmd(f->vm, 0x20), 0x44);
	/* No irq with the keyboard interrupt disabled in the command byte. */
	out8(f->vm, 0x64, 0xaa);
	assert_int_equal(dvm_irq_get_line(f->vm, 1), 0);
	assert_int_equal(in8(f->vm, 0x60), 0x55);
	/* Output port: reset line high, A20 on; 0xDD turns A20 off. */
	assert_int_equal(kbc_cmd(f->vm, 0xd0) & 0x03, 0x03);
	out8(f->vm, 0x64, 0xdd);
	assert_int_equal(kbc_cmd(f->vm, 0xd0) & 0x03, 0x01);
	out8(f->vm, 0x64, 0xd1);
	out8(f->vm, 0x60, 0x03);
	assert_int_equal(kbc_cmd(f->vm, 0xd0) & 0x03, 0x03);
	/* The keyboard answers a reset with ACK and BAT OK. */
	out8(f->vm, 0x60, 0xff);
	assert_int_equal(in8(f->vm, 0x64) & 0x09, 0x01);
	assert_int_equal(in8(f->vm, 0x60), 0xfa);
	assert_int_equal(in8(f->vm, 0x60), 0xaa);
	/* Pulse without bit 0 and a harmless output port write: no reset. */
	out8(f->vm, 0x64, 0xff);
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
	/* Port 0x61 is left to the PIT. */
	uint8_t v;
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x61, &v, 1, false));

	/* One per VM, still after its handle is closed. */
	assert_int_equal(dvm_create_device(f->vm, &cd), -EEXIST);
	assert_int_equal(dvm_device_close(f->vm, h), 0);
	forget_handle(f, h);
	assert_int_equal(dvm_create_device(f->vm, &cd), -EEXIST);
	assert_int_equal(in8(f->vm, 0x64) & 0x04, 0x04); /* still answering */
}

static void test_i8042_reset_pulse(void **state)
{
	struct fx *f = *state;
	enum dvm_stop_reason reason = DVM_STOP_NONE;
	const char *msg = NULL;

	create(f, DVM_DEV_TYPE_I8042);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, 0x64, 0xfe);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED); /* fail, never hang */
	assert_int_equal(dvm_vm_wait(f->vm, &reason, &msg), 0);
	assert_int_equal(reason, DVM_STOP_RESET);
	assert_non_null(strstr(msg, "i8042"));
}

static void test_i8042_reset_outport(void **state)
{
	struct fx *f = *state;
	enum dvm_stop_reason reason = DVM_STOP_NONE;

	create(f, DVM_DEV_TYPE_I8042);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, 0x64, 0xd1);
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
	out8(f->vm, 0x60, 0x02);			       /* bit 0 clear: reset */
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED); /* fail, never hang */
	assert_int_equal(dvm_vm_wait(f->vm, &reason, NULL), 0);
	assert_int_equal(reason, DVM_STOP_RESET);
}

static void test_i8042_state(void **state)
{
	struct fx *f = *state;
	struct dvm_i8042_regs r, r2;
	struct fx g = {0};
	int h, h2;

	h = create(f, DVM_DEV_TYPE_I8042);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out8(f->vm, 0x60, 0xf2); /* identify: ACK, 0xab, 0x41 queued */
	out8(f->vm, 0x64, 0x60); /* command byte write pending */
	assert_int_equal(dvm_device_get(f->vm, h, DVM_I8042_GRP_STATE, DVM_I8042_STATE_REGS, &r),
			 0);
	assert_int_equal(r.out_count, 3);
	assert_int_equal(r.pending, 0x60);

	g.vm = new_vm();
	h2 = create(&g, DVM_DEV_TYPE_I8042);
	assert_int_equal(dvm_device_set(g.vm, h2, DVM_I8042_GRP_STATE, DVM_I8042_STATE_REGS, &r),
			 0);
	assert_int_equal(dvm_vm_start(g.vm), 0);
	assert_int_equal(dvm_device_get(g.vm, h2, DVM_I8042_GRP_STATE, DVM_I8042_STATE_REGS, &r2),
			 0);
	assert_memory_equal(&r, &r2, sizeof(r));
	assert_int_equal(dvm_irq_get_line(g.vm, 1), 1);
	assert_int_equal(in8(g.vm, 0x64), in8(f->vm, 0x64));
	for (int i = 0; i < 3; i++)
		assert_int_equal(in8(g.vm, 0x60), in8(f->vm, 0x60));
	out8(g.vm, 0x60, 0x05); /* the restored pending 0x60 takes it */
	assert_int_equal(kbc_cmd(g.vm, 0x20), 0x05);

	r.pending = 0x42;
	assert_int_equal(dvm_device_set(g.vm, h2, DVM_I8042_GRP_STATE, DVM_I8042_STATE_REGS, &r),
			 -EINVAL);
	r.pending = 0;
	r.out_count = 9;
	assert_int_equal(dvm_device_set(g.vm, h2, DVM_I8042_GRP_STATE, DVM_I8042_STATE_REGS, &r),
			 -EINVAL);
	dvm_device_close(g.vm, h2);
	dvm_vm_put(g.vm);
}

/* ---- debug-exit ---- */

static void test_debug_exit_dword(void **state)
{
	struct fx *f = *state;
	enum dvm_stop_reason reason = DVM_STOP_NONE;
	const char *msg = NULL;
	uint32_t v = 0xffffffff;

	create(f, DVM_DEV_TYPE_DEBUG_EXIT);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, 0xf4, &v, 4, false));
	assert_int_equal(v, 0); /* reads are 0 */
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
	v = 0x10;
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, 0xf4, &v, 4, true));
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED); /* fail, never hang */
	assert_int_equal(dvm_vm_wait(f->vm, &reason, &msg), 0x21);
	assert_int_equal(reason, DVM_STOP_DEBUG_EXIT);
	assert_non_null(strstr(msg, "0x10"));
}

static void test_debug_exit_config(void **state)
{
	struct fx *f = *state;
	enum dvm_stop_reason reason = DVM_STOP_NONE;
	uint16_t base = 0x501;
	uint8_t size, v;
	int h, h2;

	h = create(f, DVM_DEV_TYPE_DEBUG_EXIT);
	assert_int_equal(dvm_device_get(f->vm, h, DVM_DEBUG_EXIT_GRP_CONFIG,
					DVM_DEBUG_EXIT_CONFIG_IOSIZE, &size),
			 0);
	assert_int_equal(size, 4);
	for (uint8_t bad = 0; bad < 10; bad++) {
		int want = (bad == 1 || bad == 2 || bad == 4) ? 0 : -EINVAL;
		assert_int_equal(dvm_device_set(f->vm, h, DVM_DEBUG_EXIT_GRP_CONFIG,
						DVM_DEBUG_EXIT_CONFIG_IOSIZE, &bad),
				 want);
	}
	size = 2;
	assert_int_equal(dvm_device_set(f->vm, h, DVM_DEBUG_EXIT_GRP_CONFIG,
					DVM_DEBUG_EXIT_CONFIG_IOSIZE, &size),
			 0);
	assert_int_equal(dvm_device_set(f->vm, h, DVM_DEBUG_EXIT_GRP_CONFIG,
					DVM_DEBUG_EXIT_CONFIG_IOBASE, &base),
			 0);
	/* A second instance at the default port. */
	h2 = create(f, DVM_DEV_TYPE_DEBUG_EXIT);
	(void)h2;
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x503, &v, 1, false));
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, 0xf7, &v, 1, false));
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
	out8(f->vm, 0x502, 0x31);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED); /* fail, never hang */
	assert_int_equal(dvm_vm_wait(f->vm, &reason, NULL), 0x63);
	assert_int_equal(reason, DVM_STOP_DEBUG_EXIT);
}

static void test_debug_exit_release(void **state)
{
	struct fx *f = *state;
	uint16_t base = 0x600;
	uint8_t v;
	int h, h2;

	h = create(f, DVM_DEV_TYPE_DEBUG_EXIT);
	assert_int_equal(dvm_device_set(f->vm, h, DVM_DEBUG_EXIT_GRP_CONFIG,
					DVM_DEBUG_EXIT_CONFIG_IOBASE, &base),
			 0);
	assert_int_equal(dvm_device_close(f->vm, h), 0);
	forget_handle(f, h);
	h2 = create(f, DVM_DEV_TYPE_DEBUG_EXIT); /* released: can be made again */
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x600, &v, 1, false));
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, 0xf4, &v, 1, false));
	/* Closing a started one frees its ports. */
	assert_int_equal(dvm_device_close(f->vm, h2), 0);
	forget_handle(f, h2);
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0xf4, &v, 1, true));
	assert_int_not_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED);
}

/* ---- all of them ---- */

static void test_any_width_any_offset(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint16_t base, len;
	} ranges[] = {{COM1, 8}, {0x60, 1}, {0x64, 1}, {0xf4, 4}};
	uint64_t v;

	create(f, DVM_DEV_TYPE_SERIAL_8250);
	create(f, DVM_DEV_TYPE_I8042);
	create(f, DVM_DEV_TYPE_DEBUG_EXIT);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
		for (unsigned off = 0; off < ranges[r].len; off++)
			for (unsigned len = 1; len <= 8; len *= 2) {
				v = 0x55aa55aa55aa55aaull;
				assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, ranges[r].base + off,
							   &v, len, false));
				if (ranges[r].base == 0x60 || ranges[r].base == 0x64) {
					/* Only the addressed byte is the register. */
					uint8_t *b = (uint8_t *)&v;
					for (unsigned i = 1; i < len; i++)
						assert_int_equal(b[i], 0xff);
				}
				v = 0x0123456789abcdefull;
				assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, ranges[r].base + off,
							   &v, len, true));
			}
	/* The debug-exit writes stopped the VM with an odd status. */
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_STOPPED); /* fail, never hang */
	assert_int_equal(dvm_vm_wait(f->vm, NULL, NULL) & 1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_serial_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_output_full_pipe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_lsr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_thre_irq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_rx_console, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_rx_fifo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_dlab, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_loopback_msr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_scratch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_fifo_overrun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_state_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_wide_access, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_i8042_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_i8042_reset_pulse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_i8042_reset_outport, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_i8042_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_debug_exit_dword, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_debug_exit_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_debug_exit_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_any_width_any_offset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
