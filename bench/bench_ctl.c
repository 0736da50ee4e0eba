// SPDX-License-Identifier: MIT
/*
 * GET_DEVICE_ATTR over the control socket: libdvm-client asking dvm's
 * server (in this process, its own thread, as under `dvm run --api-sock`)
 * for the UART's 32-byte register state, round trip by round trip.  The
 * floor beside it: the same line bytes echoed by a bare thread over an
 * AF_UNIX stream socket (what any socket protocol pays before JSON and the
 * device API).  Medians over batches; target: median at most 20 us.
 *
 * usage: bench_ctl [ITERS]   (default 20000)
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dvm/client.h"
#include "dvm/ctl.h"
#include "dvm/device.h"
#include "dvm/devices/serial_8250.h"
#include "dvm/vm.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* read(), or with spin, 100 us of non-blocking looks first: what dvm's
 * server and libdvm-client do, so that neither waits for an idle CPU to
 * wake (tens of microseconds on a virtualized host). */
static ssize_t read_maybe_spin(int fd, void *buf, size_t len, bool spin)
{
	double until = now_us() + 100;
	while (spin && now_us() < until) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return n;
	}
	return read(fd, buf, len);
}

struct echo {
	int fd;
	bool spin;
};

static void *echo_thread(void *arg)
{
	struct echo *e = arg;
	char buf[512];
	ssize_t n;
	while ((n = read_maybe_spin(e->fd, buf, sizeof(buf), e->spin)) > 0)
		if (write(e->fd, buf, (size_t)n) != n)
			break;
	return NULL;
}

/* Median microseconds of a request-sized line out and back over a bare
 * AF_UNIX socket pair, or -1. */
static double bare_round_trip(int nb, int batch, bool spin)
{
	double *us = calloc((size_t)nb, sizeof(double));
	int sv[2];
	if (!us || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	struct echo e = {.fd = sv[1], .spin = spin};
	pthread_t t;
	pthread_create(&t, NULL, echo_thread, &e);
	char line[160];
	memset(line, 'x', sizeof(line));
	for (int b = 0; b < nb; b++) {
		double t0 = now_us();
		for (int i = 0; i < batch; i++) {
			if (write(sv[0], line, sizeof(line)) != (ssize_t)sizeof(line))
				return -1;
			size_t got = 0;
			while (got < sizeof(line)) {
				ssize_t n =
				    read_maybe_spin(sv[0], line + got, sizeof(line) - got, spin);
				if (n <= 0)
					return -1;
				got += (size_t)n;
			}
		}
		us[b] = (now_us() - t0) / batch;
	}
	close(sv[0]);
	pthread_join(t, NULL);
	close(sv[1]);
	qsort(us, (size_t)nb, sizeof(double), cmp);
	double median = us[nb / 2];
	free(us);
	return median;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 20000;
	enum { BATCH = 200 };
	int nb = iters / BATCH;
	double *dvm_us = calloc((size_t)nb, sizeof(double));
	char path[108];

	dvm_register_builtin_devices();
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_SERIAL_8250};
	struct dvm_ctl_server *srv;
	struct dvm_client *c;
	if (dvm_vm_create(&cfg, &vm) || dvm_create_device(vm, &cd)) {
		fprintf(stderr, "bench_ctl: no VM\n");
		return 1;
	}
	snprintf(path, sizeof(path), "/tmp/dvm-bench-ctl-%d.sock", (int)getpid());
	if (dvm_ctl_server_start(vm, path, &srv) || dvm_client_connect(path, &c)) {
		fprintf(stderr, "bench_ctl: no server\n");
		return 1;
	}
	struct dvm_serial_8250_regs regs;
	struct kvm_device_attr a = {.group = DVM_SERIAL_8250_GRP_STATE,
				    .attr = DVM_SERIAL_8250_STATE_REGS,
				    .addr = (uintptr_t)&regs};
	for (int i = 0; i < 1000; i++) /* warm up (and fetch the schema once) */
		dvm_client_get_attr(c, (int)cd.fd, &a);
	for (int b = 0; b < nb; b++) {
		double t0 = now_us();
		for (int i = 0; i < BATCH; i++)
			if (dvm_client_get_attr(c, (int)cd.fd, &a)) {
				fprintf(stderr, "bench_ctl: get-attr failed\n");
				return 1;
			}
		dvm_us[b] = (now_us() - t0) / BATCH;
	}

	/* The floor, polling as dvm does, and sleeping at once. */
	double floor_spin = bare_round_trip(nb, BATCH, true);
	double floor_sleep = bare_round_trip(nb, BATCH, false);

	qsort(dvm_us, (size_t)nb, sizeof(double), cmp);
	printf("get-attr over the socket: median %.2f us (batches of %d; quartiles %.2f-%.2f)\n",
	       dvm_us[nb / 2], BATCH, dvm_us[nb / 4], dvm_us[3 * nb / 4]);
	printf("bare AF_UNIX round trip:  median %.2f us (%.1fx), both ends polling 100 us as dvm "
	       "does\n",
	       floor_spin, dvm_us[nb / 2] / floor_spin);
	printf(
	    "bare AF_UNIX round trip:  median %.2f us, both ends sleeping at once (an idle CPU's "
	    "wake-up)\n",
	    floor_sleep);
	printf("target: median <= 20 us: %s\n", dvm_us[nb / 2] <= 20 ? "PASS" : "MISS");
	dvm_client_close(c);
	dvm_ctl_server_stop(srv);
	dvm_vm_shutdown(vm);
	free(dvm_us);
	return 0;
}
