// SPDX-License-Identifier: MIT
/*
 * serial-8250: a 16550A-compatible UART, written from the 16550A data sheet.
 *
 * Transmit is immediate: a THR write goes straight to the console out fd, so
 * THRE and TEMT always read 1 and the THR-empty interrupt re-arms right after
 * each write (as it would once the shift register took the byte).  Receive
 * comes from a reader thread on the console in fd.  The character-timeout
 * interrupt is reported at once when the FIFO holds fewer bytes than the
 * trigger level (there is no time base to wait four character times on).
 * The interrupt output is not gated by MCR OUT2 (like QEMU), so a guest that
 * never sets OUT2 still gets interrupts.
 *
 * Lifetime: the UART is part of the machine, so it has no release op: it
 * stays until the VM is destroyed even after its handle is closed.
 *
 * Locking: one mutex per UART guards all registers; vCPU I/O handlers,
 * attribute calls and the reader thread take it.  dvm_irq_set_line() is
 * called under it so that line changes are ordered like state changes; the
 * bus is (un)registered without it.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dvm/device.h"
#include "dvm/devices/serial_8250.h"
#include "dvm/vm.h"

#define NR_PORTS 8

/* Register offsets. */
enum {
	REG_DATA = 0,
	REG_IER = 1,
	REG_IIR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7
};

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IER_MASK 0x0f

#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_KEEP 0xc9 /* enable, DMA mode, trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
/* Lines seen when not in loopback: a host that is always there. */
#define MSR_HOST_LINES (MSR_CTS | MSR_DSR | MSR_DCD)

/* How long a THR write may wait for a full console out fd before the byte is dropped. */
#define TX_WAIT_MS 1000
#define TX_WAIT_TEXT "1 s" /* TX_WAIT_MS, for messages */

struct serial {
	pthread_mutex_t lock;
	pthread_cond_t space; /* signalled when external input may fit again, or on stop */
	struct dvm_vm *vm;
	struct dvm_device *dev; /* for dvm_device_report() */

	/* Configuration. */
	uint16_t base;
	uint32_t irq;
	uint8_t console;

	/* Registers (see struct dvm_serial_8250_regs). */
	uint8_t rbr, thr, ier, fcr, lcr, mcr, lsr_err, msr, scr, dll, dlm;
	bool thri_pending;
	uint8_t rx_fifo[DVM_SERIAL_8250_FIFO_SIZE];
	unsigned rx_head, rx_count;

	/* Runtime. */
	bool started;
	bool registered;
	int irq_level;
	int in_fd, out_fd;
	bool tx_stalled; /* out fd was full: do not wait again until it drains */
	uint64_t tx_dropped;
	bool tx_failing; /* reported; the next byte that goes through clears it */
	bool thread_running;
	bool stopping;
	int wake_fd;
	pthread_t thread;
};

static const struct dvm_attr_desc serial_attrs[] = {
    {
	.group = DVM_SERIAL_8250_GRP_CONFIG,
	.attr = DVM_SERIAL_8250_CONFIG_BASE,
	.name = "base",
	DVM_FIELD(struct serial, base),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 0,
	.max = 0x10000 - NR_PORTS,
	.def = DVM_SERIAL_8250_DEFAULT_BASE,
	.help = "I/O port base of the 8 registers (instances 0-3: 0x3f8, 0x2f8, 0x3e8, "
		"0x2e8)",
    },
    {
	.group = DVM_SERIAL_8250_GRP_CONFIG,
	.attr = DVM_SERIAL_8250_CONFIG_IRQ,
	.name = "irq",
	DVM_FIELD(struct serial, irq),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 0,
	.max = 23,
	.def = DVM_SERIAL_8250_DEFAULT_IRQ,
	.help = "interrupt line (GSI), level-triggered (instances 0-3: 4, 3, 4, 3)",
    },
    {
	.group = DVM_SERIAL_8250_GRP_CONFIG,
	.attr = DVM_SERIAL_8250_CONFIG_CONSOLE,
	.name = "console",
	DVM_FIELD(struct serial, console),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_BOOL,
	.def = 1,
	.help = "connected to the VM console in/out fds (default: first instance only)",
    },
    {
	.group = DVM_SERIAL_8250_GRP_STATE,
	.attr = DVM_SERIAL_8250_STATE_REGS,
	.name = "regs",
	.size = sizeof(struct dvm_serial_8250_regs),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "register file and rx FIFO (struct dvm_serial_8250_regs)",
    },
};

static const uint16_t default_base[4] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
static const uint8_t default_irq[4] = {4, 3, 4, 3};

static bool fifo_enabled(const struct serial *s)
{
	return s->fcr & FCR_ENABLE;
}

/* Bytes the receiver can hold: the FIFO, or the single RBR in 16450 mode. */
static unsigned rx_capacity(const struct serial *s)
{
	return fifo_enabled(s) ? DVM_SERIAL_8250_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct serial *s)
{
	static const unsigned levels[4] = {1, 4, 8, 14};

	return fifo_enabled(s) ? levels[s->fcr >> 6] : 1;
}

static uint8_t compute_iir(const struct serial *s)
{
	uint8_t fifo = fifo_enabled(s) ? IIR_FIFO_ON : 0;

	if ((s->ier & IER_RLSI) && (s->lsr_err & LSR_ERRORS))
		return fifo | IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | (s->rx_count >= rx_trigger(s) ? IIR_RDI : IIR_TIMEOUT);
	if ((s->ier & IER_THRI) && s->thri_pending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

static uint8_t compute_lsr(const struct serial *s)
{
	return s->lsr_err | LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
}

/* Drive the line to match the state; only when the level changes. */
static void update_irq(struct serial *s)
{
	int level;

	if (!s->started)
		return;
	level = !(compute_iir(s) & IIR_NONE);
	if (level != s->irq_level) {
		s->irq_level = level;
		dvm_irq_set_line_from(s->vm, s->irq, s, level);
	}
}

/* External input can only enter outside loopback (the 16550 disconnects SIN). */
static unsigned rx_space_external(const struct serial *s)
{
	if (s->mcr & MCR_LOOP)
		return 0;
	return s->rx_count < rx_capacity(s) ? rx_capacity(s) - s->rx_count : 0;
}

static void rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	pthread_cond_broadcast(&s->space);
}

static void rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count >= rx_capacity(s)) {
		/* Overrun: the byte in the shift register is lost. */
		s->lsr_err |= LSR_OE;
		return;
	}
	s->rx_fifo[(s->rx_head + s->rx_count) % DVM_SERIAL_8250_FIFO_SIZE] = b;
	s->rx_count++;
}

static uint8_t rx_pop(struct serial *s)
{
	if (s->rx_count) {
		s->rbr = s->rx_fifo[s->rx_head];
		s->rx_head = (s->rx_head + 1) % DVM_SERIAL_8250_FIFO_SIZE;
		s->rx_count--;
		pthread_cond_broadcast(&s->space);
	}
	return s->rbr;
}

/* Modem lines as the MCR and loopback mode make them. */
static uint8_t modem_lines(const struct serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_HOST_LINES;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void update_msr(struct serial *s)
{
	uint8_t old = s->msr & ~MSR_DELTAS, now = modem_lines(s);
	uint8_t changed = old ^ now, deltas = s->msr & MSR_DELTAS;

	if (changed & MSR_CTS)
		deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		deltas |= MSR_DDSR;
	if (changed & MSR_DCD)
		deltas |= MSR_DDCD;
	if ((old & MSR_RI) && !(now & MSR_RI))
		deltas |= MSR_TERI; /* trailing edge only */
	s->msr = now | deltas;
}

/* A byte the console did not take: counted, and reported once per run of
 * failures so the operator hears of it without a flood. */
static void tx_failed(struct serial *s, const char *why, int err)
{
	s->tx_dropped++;
	if (!s->tx_failing)
		dvm_device_report(s->dev, err, "%s; guest output is dropped until it recovers",
				  why);
	s->tx_failing = true;
}

/* Write one byte to the console; bounded wait so a stuck reader cannot hang the vCPU. */
static void tx_byte(struct serial *s, uint8_t b)
{
	struct pollfd p = {.fd = s->out_fd, .events = POLLOUT};
	int r;

	if (s->out_fd < 0)
		return;
	for (;;) {
		do
			r = poll(&p, 1, s->tx_stalled ? 0 : TX_WAIT_MS);
		while (r < 0 && errno == EINTR);
		if (r <= 0 || (p.revents & (POLLERR | POLLNVAL))) {
			s->tx_stalled = r == 0;
			/* POLLERR on a pipe: the reader is gone (what write says as EPIPE). */
			tx_failed(s,
				  r == 0 ? "console output stalled for " TX_WAIT_TEXT
					 : "console output closed",
				  r < 0			   ? -errno
				  : r == 0		   ? -ETIMEDOUT
				  : (p.revents & POLLNVAL) ? -EBADF
							   : -EPIPE);
			return;
		}
		s->tx_stalled = false;
		ssize_t n = write(s->out_fd, &b, 1);
		if (n == 1) {
			s->tx_failing = false;
			return;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		/* EPIPE, EIO...: nobody is listening */
		tx_failed(s, "console output failed", n < 0 ? -errno : -EIO);
		return;
	}
}

static void write_thr(struct serial *s, uint8_t b)
{
	s->thr = b;
	s->thri_pending = false;
	if (s->mcr & MCR_LOOP)
		rx_push(s, b);
	else
		tx_byte(s, b);
	/* The byte left THR at once: THR is empty again. */
	if (s->ier & IER_THRI)
		s->thri_pending = true;
}

static void write_fcr(struct serial *s, uint8_t v)
{
	bool was = fifo_enabled(s);

	/* With FCR0 clear the other bits are not written (16550A). */
	if (!(v & FCR_ENABLE)) {
		s->fcr = 0;
		if (was)
			rx_clear(s);
		return;
	}
	if (!was || (v & FCR_CLEAR_RX))
		rx_clear(s); /* toggling FIFO mode also empties the FIFOs */
	s->fcr = v & FCR_KEEP;
	pthread_cond_broadcast(&s->space);
}

static uint8_t reg_read(struct serial *s, unsigned off)
{
	uint8_t v;

	switch (off) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return rx_pop(s);
	case REG_IER:
		if (s->lcr & LCR_DLAB)
			return s->dlm;
		return s->ier;
	case REG_IIR:
		v = compute_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt it reports. */
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		return v;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = compute_lsr(s);
		s->lsr_err = 0; /* error bits clear on read, with the line-status interrupt */
		return v;
	case REG_MSR:
		v = s->msr;
		s->msr &= ~MSR_DELTAS;
		return v;
	case REG_SCR:
		return s->scr;
	}
	return 0xff;
}

static void reg_write(struct serial *s, unsigned off, uint8_t v)
{
	uint8_t old;

	switch (off) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			write_thr(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		old = s->ier;
		s->ier = v & IER_MASK;
		/* Enabling THRI while THR is empty (always, here) raises it. */
		if ((s->ier & IER_THRI) && !(old & IER_THRI))
			s->thri_pending = true;
		else if (!(s->ier & IER_THRI))
			s->thri_pending = false;
		break;
	case REG_IIR:
		write_fcr(s, v);
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & MCR_MASK;
		update_msr(s);
		pthread_cond_broadcast(&s->space); /* loopback changes who may feed rx */
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* factory test registers: writes ignored */
	case REG_SCR:
		s->scr = v;
		break;
	}
}

/* x86 splits a wide port access into byte cycles at consecutive ports. */
static void serial_io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t *p = data;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < len; i++)
		p[i] = offset + i < NR_PORTS ? reg_read(s, offset + i) : 0xff;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct serial *s = opaque;
	const uint8_t *p = data;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < len; i++)
		if (offset + i < NR_PORTS)
			reg_write(s, offset + i, p[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct dvm_io_ops serial_io_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
};

static void *rx_thread(void *arg)
{
	struct serial *s = arg;
	struct pollfd pfd[2] = {
	    {.fd = s->in_fd, .events = POLLIN},
	    {.fd = s->wake_fd, .events = POLLIN},
	};
	uint8_t buf[64];
	size_t len = 0, pos = 0;

	for (;;) {
		if (pos == len) {
			if (poll(pfd, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (pfd[1].revents)
				break;
			if (pfd[0].revents & POLLNVAL)
				break;
			if (!pfd[0].revents)
				continue;
			ssize_t n = read(s->in_fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
				continue;
			if (n <= 0)
				break; /* EOF or error: no more input */
			len = n;
			pos = 0;
		}
		/* Hold the bytes until the guest makes room: no input is lost. */
		pthread_mutex_lock(&s->lock);
		while (!s->stopping && !rx_space_external(s))
			pthread_cond_wait(&s->space, &s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		while (pos < len && rx_space_external(s))
			rx_push(s, buf[pos++]);
		update_irq(s);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static void serial_reset_regs(struct serial *s)
{
	s->rbr = s->thr = s->ier = s->fcr = s->lcr = s->mcr = s->lsr_err = s->scr = 0;
	s->dll = 0x0c; /* 9600 baud */
	s->dlm = 0;
	s->msr = 0;
	update_msr(s);
	s->msr &= ~MSR_DELTAS;
	s->thri_pending = false;
	s->rx_head = s->rx_count = 0;
}

static int serial_create(struct dvm_device *dev)
{
	struct serial *s = calloc(1, sizeof(*s));
	unsigned i = dev->instance;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->space, NULL);
	s->vm = dev->vm;
	s->dev = dev;
	s->base = i < 4 ? default_base[i] : DVM_SERIAL_8250_DEFAULT_BASE;
	s->irq = i < 4 ? default_irq[i] : DVM_SERIAL_8250_DEFAULT_IRQ;
	s->console = i == 0;
	s->in_fd = s->out_fd = -1;
	s->wake_fd = -1;
	serial_reset_regs(s);
	dev->private = s;
	return 0;
}

static int serial_start(struct dvm_device *dev)
{
	struct serial *s = dev->private;
	int ret;

	pthread_mutex_lock(&s->lock);
	if (s->started) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (s->console) {
		s->in_fd = dvm_vm_console_in(s->vm);
		s->out_fd = dvm_vm_console_out(s->vm);
	}
	pthread_mutex_unlock(&s->lock);

	ret = dvm_bus_register(s->vm, DVM_BUS_PIO, s->base, NR_PORTS, &serial_io_ops, s);
	if (ret)
		return ret;
	s->registered = true;

	if (s->in_fd >= 0) {
		s->wake_fd = eventfd(0, EFD_CLOEXEC);
		if (s->wake_fd < 0) {
			ret = -errno;
			goto fail;
		}
		ret = -pthread_create(&s->thread, NULL, rx_thread, s);
		if (ret) {
			close(s->wake_fd);
			s->wake_fd = -1;
			goto fail;
		}
		s->thread_running = true;
	}

	pthread_mutex_lock(&s->lock);
	s->started = true;
	update_irq(s); /* state may have been restored before start */
	pthread_mutex_unlock(&s->lock);
	return 0;

fail:
	dvm_bus_unregister(s->vm, DVM_BUS_PIO, s->base, s);
	s->registered = false;
	return ret;
}

static void serial_destroy(struct dvm_device *dev)
{
	struct serial *s = dev->private;
	uint64_t one = 1;

	if (!s)
		return;
	if (s->thread_running) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_broadcast(&s->space);
		pthread_mutex_unlock(&s->lock);
		while (write(s->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(s->thread, NULL);
	}
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->registered)
		dvm_bus_unregister(s->vm, DVM_BUS_PIO, s->base, s);
	pthread_cond_destroy(&s->space);
	pthread_mutex_destroy(&s->lock);
	free(s);
	dev->private = NULL;
}

static void regs_save(struct serial *s, struct dvm_serial_8250_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rbr = s->rbr;
	r->thr = s->thr;
	r->ier = s->ier;
	r->iir = compute_iir(s);
	r->fcr = s->fcr;
	r->lcr = s->lcr;
	r->mcr = s->mcr;
	r->lsr = compute_lsr(s);
	r->msr = s->msr;
	r->scr = s->scr;
	r->dll = s->dll;
	r->dlm = s->dlm;
	r->thri_pending = s->thri_pending;
	r->rx_count = s->rx_count;
	for (unsigned i = 0; i < s->rx_count; i++)
		r->rx_fifo[i] = s->rx_fifo[(s->rx_head + i) % DVM_SERIAL_8250_FIFO_SIZE];
}

static int regs_restore(struct serial *s, const struct dvm_serial_8250_regs *r)
{
	if (r->rx_count > DVM_SERIAL_8250_FIFO_SIZE || r->reserved[0] || r->reserved[1] ||
	    r->thri_pending > 1)
		return -EINVAL;
	s->rbr = r->rbr;
	s->thr = r->thr;
	s->ier = r->ier & IER_MASK;
	s->fcr = (r->fcr & FCR_ENABLE) ? r->fcr & FCR_KEEP : 0;
	s->lcr = r->lcr;
	s->mcr = r->mcr & MCR_MASK;
	s->lsr_err = r->lsr & LSR_ERRORS;
	s->msr = r->msr;
	s->scr = r->scr;
	s->dll = r->dll;
	s->dlm = r->dlm;
	s->thri_pending = r->thri_pending;
	s->rx_head = 0;
	s->rx_count = r->rx_count;
	memcpy(s->rx_fifo, r->rx_fifo, sizeof(s->rx_fifo));
	pthread_cond_broadcast(&s->space);
	update_irq(s);
	return 0;
}

/* Configuration rows are DVM_FIELD()s the core serves; only the state is ours. */
static int serial_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct serial *s = dev->private;
	struct dvm_serial_8250_regs regs;
	int ret;

	if (attr->group != DVM_SERIAL_8250_GRP_STATE || attr->attr != DVM_SERIAL_8250_STATE_REGS)
		return -ENXIO;
	memcpy(&regs, (void *)(uintptr_t)attr->addr, sizeof(regs));
	pthread_mutex_lock(&s->lock);
	ret = regs_restore(s, &regs);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int serial_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct serial *s = dev->private;
	struct dvm_serial_8250_regs regs;

	if (attr->group != DVM_SERIAL_8250_GRP_STATE || attr->attr != DVM_SERIAL_8250_STATE_REGS)
		return -ENXIO;
	pthread_mutex_lock(&s->lock);
	regs_save(s, &regs);
	pthread_mutex_unlock(&s->lock);
	memcpy((void *)(uintptr_t)attr->addr, &regs, sizeof(regs));
	return 0;
}

const struct dvm_device_ops dvm_serial_8250_ops = {
    .name = "serial-8250",
    .type = DVM_DEV_TYPE_SERIAL_8250,
    .summary = "16550A UART on 8 I/O ports, wired to the console",
    .attrs = serial_attrs,
    .nr_attrs = sizeof(serial_attrs) / sizeof(serial_attrs[0]),
    .create = serial_create,
    .destroy = serial_destroy,
    .set_attr = serial_set_attr,
    .get_attr = serial_get_attr,
    .start = serial_start,
};
