// SPDX-License-Identifier: MIT
/*
 * libdvm-client against a control-socket server on a VM without /dev/kvm:
 * the kernel API's shape (kvm_create_device, kvm_device_attr pointing into
 * local memory), errno mapping, the generic call, and events.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_util.h"
#include "dvm/client.h"
#include "dvm/devices/debug_exit.h"
#include "dvm/devices/serial_8250.h"

struct cfx {
	struct ctl_fx *f;
	struct dvm_client *c;
};

static int setup(void **state)
{
	struct cfx *x = calloc(1, sizeof(*x));
	x->f = ctl_fx_new();
	assert_non_null(x->f);
	assert_int_equal(dvm_client_connect(x->f->path, &x->c), 0);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct cfx *x = *state;
	dvm_client_close(x->c);
	ctl_fx_free(x->f);
	free(x);
	return 0;
}

static struct kvm_device_attr A(uint32_t group, uint64_t attr, void *p) {
	return (struct kvm_device_attr){.group = group, .attr = attr, .addr = (uintptr_t)p};
}

static void
test_create_set_get_has_close(void **state)
{
	struct cfx *x = *state;
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_SERIAL_8250, .fd = 12345};
	struct kvm_device_attr a;

	/* TEST: ok, fd untouched, nothing created. */
	cd.flags = KVM_CREATE_DEVICE_TEST;
	assert_int_equal(dvm_client_create_device(x->c, &cd), 0);
	assert_int_equal(cd.fd, 12345);
	assert_int_equal(dvm_vm_nr_devices(x->f->vm, DVM_DEV_TYPE_SERIAL_8250), 0);
	cd.flags = 0;
	assert_int_equal(dvm_client_create_device(x->c, &cd), 0);
	int h = (int)cd.fd;
	assert_int_equal(dvm_vm_nr_devices(x->f->vm, DVM_DEV_TYPE_SERIAL_8250), 1);

	/* A uint of 2 bytes: exactly 2 bytes move, the guard bytes stay. */
	uint8_t buf[8];
	memset(buf, 0xee, sizeof(buf));
	a = A(DVM_SERIAL_8250_GRP_CONFIG, DVM_SERIAL_8250_CONFIG_BASE, buf);
	assert_int_equal(dvm_client_get_attr(x->c, h, &a), 0);
	assert_int_equal(buf[0] | buf[1] << 8, 0x3f8);
	assert_int_equal(buf[2], 0xee);
	uint16_t base = 0x2f8;
	a.addr = (uintptr_t)&base;
	assert_int_equal(dvm_client_set_attr(x->c, h, &a), 0);
	uint16_t check = 0;
	assert_int_equal(dvm_device_get(x->f->vm, h, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_BASE, &check),
			 0);
	assert_int_equal(check, 0x2f8);
	/* The schema's checks, as errno: console is a bool (0/1). */
	uint8_t two = 2;
	a = A(DVM_SERIAL_8250_GRP_CONFIG, DVM_SERIAL_8250_CONFIG_CONSOLE, &two);
	assert_int_equal(dvm_client_set_attr(x->c, h, &a), -EINVAL);
	assert_true(strlen(dvm_client_last_error(x->c)) > 0);

	/* The register file as a struct in local memory, round trip. */
	struct dvm_serial_8250_regs regs, regs2;
	memset(&regs, 0, sizeof(regs));
	a = A(DVM_SERIAL_8250_GRP_STATE, DVM_SERIAL_8250_STATE_REGS, &regs);
	assert_int_equal(dvm_client_get_attr(x->c, h, &a), 0);
	assert_int_equal(dvm_device_get(x->f->vm, h, DVM_SERIAL_8250_GRP_STATE,
					DVM_SERIAL_8250_STATE_REGS, &regs2),
			 0);
	assert_memory_equal(&regs, &regs2, sizeof(regs));
	assert_int_equal(dvm_client_set_attr(x->c, h, &a), 0);

	/* HAS: 0 or -ENXIO, addr ignored. */
	a = A(DVM_SERIAL_8250_GRP_STATE, DVM_SERIAL_8250_STATE_REGS, NULL);
	assert_int_equal(dvm_client_has_attr(x->c, h, &a), 0);
	a = A(77, 0, NULL);
	assert_int_equal(dvm_client_has_attr(x->c, h, &a), -ENXIO);
	/* Unknown attribute, NULL addr. */
	assert_int_equal(dvm_client_get_attr(x->c, h, &a), -ENXIO);
	a = A(DVM_SERIAL_8250_GRP_STATE, DVM_SERIAL_8250_STATE_REGS, NULL);
	assert_int_equal(dvm_client_get_attr(x->c, h, &a), -EFAULT);

	/* close; then EBADF everywhere. */
	assert_int_equal(dvm_client_close_device(x->c, h), 0);
	assert_int_equal(dvm_client_close_device(x->c, h), -EBADF);
	a = A(DVM_SERIAL_8250_GRP_CONFIG, DVM_SERIAL_8250_CONFIG_BASE, &base);
	assert_int_equal(dvm_client_get_attr(x->c, h, &a), -EBADF);
	assert_int_equal(dvm_client_set_attr(x->c, h, &a), -EBADF);
	assert_int_equal(dvm_client_has_attr(x->c, h, &a), -EBADF);
	assert_int_equal(dvm_client_get_attr(x->c, 4095, &a), -EBADF);
	/* Unknown types. */
	cd = (struct kvm_create_device){.type = 0x1ff};
	assert_int_equal(dvm_client_create_device(x->c, &cd), -ENODEV);
	cd = (struct kvm_create_device){.type = DVM_DEV_TYPE_VCPU, .flags = KVM_CREATE_DEVICE_TEST};
	assert_int_equal(dvm_client_create_device(x->c, &cd), -ENODEV);
}

/* A device created in-process (not by this client) is found by handle. */
static void test_foreign_handle_and_busy(void **state)
{
	struct cfx *x = *state;
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_DEBUG_EXIT};
	assert_int_equal(dvm_create_device(x->f->vm, &cd), 0);
	uint16_t iobase = 0;
	struct kvm_device_attr a =
	    A(DVM_DEBUG_EXIT_GRP_CONFIG, DVM_DEBUG_EXIT_CONFIG_IOBASE, &iobase);
	assert_int_equal(dvm_client_get_attr(x->c, (int)cd.fd, &a), 0);
	assert_int_equal(iobase, 0xf4);
	/* EBUSY after start, through the client. */
	assert_int_equal(dvm_vm_start(x->f->vm), 0);
	iobase = 0x500;
	assert_int_equal(dvm_client_set_attr(x->c, (int)cd.fd, &a), -EBUSY);
	/* pause/resume, with nesting and EINVAL. */
	assert_int_equal(dvm_client_resume(x->c), -EINVAL);
	assert_int_equal(dvm_client_pause(x->c), 0);
	assert_int_equal(dvm_vm_state(x->f->vm), DVM_VM_PAUSED);
	assert_int_equal(dvm_client_resume(x->c), 0);
	assert_int_equal(dvm_vm_state(x->f->vm), DVM_VM_RUNNING);
}

static void test_call_errno_events(void **state)
{
	struct cfx *x = *state;
	char *res = NULL, *ev = NULL;

	assert_int_equal(dvm_client_call(x->c, "query-status", NULL, &res), 0);
	assert_non_null(strstr(res, "\"state\":\"configuring\""));
	free(res);
	assert_int_equal(dvm_client_call(x->c, "describe", "{\"type\":\"i8042\"}", &res), 0);
	assert_non_null(strstr(res, "\"regs\""));
	free(res);
	assert_int_equal(dvm_client_call(x->c, "nope", NULL, &res), -ENOSYS);
	assert_null(res);
	assert_non_null(strstr(dvm_client_last_error(x->c), "nope"));
	assert_true(dvm_client_error_is_remote(x->c)); /* the server said so */
	assert_int_equal(dvm_client_call(x->c, "describe", "{\"type\":\"zz\"}", NULL), -ENODEV);
	assert_int_equal(dvm_client_call(x->c, "describe", "[1]", NULL), -EINVAL);
	assert_false(dvm_client_error_is_remote(x->c)); /* refused before sending */
	assert_int_equal(dvm_client_call(x->c, "close-device", "{\"handle\":9}", NULL), -EBADF);
	assert_int_equal(dvm_client_call(x->c, "migrate", "{}", NULL), -EINVAL);
	/* Names back to numbers. */
	assert_int_equal(dvm_client_errno_from_name("ENXIO"), ENXIO);
	assert_int_equal(dvm_client_errno_from_name("E2BIG"), E2BIG);
	assert_int_equal(dvm_client_errno_from_name("EWHATEVER"), 0);

	/* quit: the reply, then the guest-exit event, queued while a call waits. */
	assert_int_equal(dvm_client_next_event(x->c, &ev, 0), -EAGAIN);
	assert_int_equal(dvm_vm_start(x->f->vm), 0);
	assert_int_equal(dvm_client_quit(x->c), 0);
	assert_int_equal(dvm_vm_wait(x->f->vm, NULL, NULL), 0);
	dvm_ctl_server_vm_stopped(x->f->srv);
	assert_int_equal(dvm_client_call(x->c, "query-status", NULL, &res), 0);
	assert_non_null(strstr(res, "\"reason\":\"quit\""));
	free(res);
	/* The event may have come before or after that reply. */
	assert_int_equal(dvm_client_next_event(x->c, &ev, 10000), 0);
	assert_non_null(strstr(ev, "\"guest-exit\""));
	free(ev);
	assert_int_equal(dvm_client_events_dropped(x->c), 0);

	/* The server going away is ECONNRESET, not a hang. */
	dvm_ctl_server_stop(x->f->srv);
	x->f->srv = NULL;
	assert_int_equal(dvm_client_pause(x->c), -ECONNRESET);
}

static void test_connect_errors(void **state)
{
	struct cfx *x = *state;
	struct dvm_client *c;
	char p[160];
	snprintf(p, sizeof(p), "%s/nothing", x->f->dir);
	assert_int_equal(dvm_client_connect(p, &c), -ENOENT);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(dvm_client_connect(longp, &c), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_set_get_has_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_handle_and_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_call_errno_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connect_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
