/* SPDX-License-Identifier: MIT */
/*
 * Create/close races against a running machine, for the sanitizer builds
 * (./test.sh --tsan runs it): one thread plays the vCPU, hammering ports on
 * the bus; others create and close devices (debug-exit at moving ports, a
 * second UART), read and write attributes, and pause and resume, all at
 * once for a while.  The oracle is the sanitizers' and that every call gives
 * an answer from the API's table, never anything else.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/debug_exit.h"
#include "dvm/devices/serial_8250.h"
#include "dvm/vm.h"

static struct dvm_vm *vm;
static int stop; /* atomic */
static int uart;
static const char *bad_what; /* the first unexpected answer, seen by main after the joins */
static int bad_ret;

/* cmocka's asserts only work on the main thread: record, check there. */
static void expect(bool ok, const char *what, int ret)
{
	if (!ok && !__atomic_exchange_n(&bad_what, what, __ATOMIC_SEQ_CST))
		bad_ret = ret;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *vcpu_like(void *arg)
{
	(void)arg;
	unsigned x = 1;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		x = x * 1103515245u + 12345u;
		uint32_t v = 0;
		uint16_t port = (uint16_t)(0x100 + (x >> 8) % 0x100);
		/* Reads only near debug-exit (a write would end the VM); the UART's scratch. */
		dvm_bus_access(vm, DVM_BUS_PIO, port, &v, 1 + (x >> 20) % 4, false);
		uint8_t b = (uint8_t)x;
		dvm_bus_access(vm, DVM_BUS_PIO, 0x3ff, &b, 1, true);
	}
	return NULL;
}

static void *creator(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		x = x * 1103515245u + 12345u;
		struct kvm_create_device cd = {.type = DVM_DEV_TYPE_DEBUG_EXIT};
		int ret = dvm_create_device(vm, &cd);
		/* Made after start, it starts at once at its default port, which
		 * the other creator's may hold: EEXIST is the bus's answer. */
		expect(ret == 0 || ret == -EEXIST, "create debug-exit", ret);
		if (ret)
			continue;
		uint16_t base = (uint16_t)(0x100 + (x >> 8) % 0xf0);
		ret = dvm_device_set(vm, (int)cd.fd, DVM_DEBUG_EXIT_GRP_CONFIG,
				     DVM_DEBUG_EXIT_CONFIG_IOBASE, &base);
		/* After start, configuration is refused: EBUSY is the only answer. */
		expect(ret == 0 || ret == -EBUSY, "set debug-exit iobase", ret);
		ret = dvm_device_close(vm, (int)cd.fd);
		expect(ret == 0, "close debug-exit", ret);
	}
	return NULL;
}

static void *attr_user(void *arg)
{
	(void)arg;
	struct dvm_serial_8250_regs regs;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int ret = dvm_device_get(vm, uart, DVM_SERIAL_8250_GRP_STATE,
					 DVM_SERIAL_8250_STATE_REGS, &regs);
		expect(ret == 0, "get uart regs", ret);
		ret = dvm_device_set(vm, uart, DVM_SERIAL_8250_GRP_STATE,
				     DVM_SERIAL_8250_STATE_REGS, &regs);
		expect(ret == 0 || ret == -EINVAL, "set uart regs", ret);
		/* Handles that come and go: any answer from the table. */
		ret = dvm_device_has(vm, 5, DVM_DEBUG_EXIT_GRP_CONFIG, 0);
		expect(ret == 0 || ret == -EBADF || ret == -ENXIO, "has on a moving handle", ret);
	}
	return NULL;
}

static void *pauser(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int ret = dvm_vm_pause(vm);
		expect(ret == 0, "pause", ret);
		ret = dvm_vm_resume(vm);
		expect(ret == 0, "resume", ret);
	}
	return NULL;
}

static void test_create_close_against_running(void **state)
{
	(void)state;
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_SERIAL_8250};
	uint8_t off = 0;
	pthread_t t[5];

	dvm_register_builtin_devices();
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	assert_int_equal(dvm_create_device(vm, &cd), 0);
	uart = (int)cd.fd;
	assert_int_equal(dvm_device_set(vm, uart, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_CONSOLE, &off),
			 0);
	assert_int_equal(dvm_vm_start(vm), 0);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&t[0], NULL, vcpu_like, NULL);
	pthread_create(&t[1], NULL, creator, (void *)1);
	pthread_create(&t[2], NULL, creator, (void *)2);
	pthread_create(&t[3], NULL, attr_user, NULL);
	pthread_create(&t[4], NULL, pauser, NULL);
	double until = now() + 1.0;
	while (now() < until)
		;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	if (bad_what)
		print_error("%s: unexpected %d (%s)\n", bad_what, bad_ret, strerror(-bad_ret));
	assert_null(bad_what);
	assert_int_not_equal(dvm_vm_state(vm), DVM_VM_STOPPED);
	dvm_vm_shutdown(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_close_against_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
