// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over the attribute API of every registered device type,
 * mixed with guest port accesses.
 *
 * Each input is a small program: it picks a type, creates devices of it,
 * then runs SET/GET/HAS with fuzzed group/attr/flags/value bytes, guest
 * port reads and writes, a VM start, more creates and closes.  Oracles
 * besides the sanitizers: every call answers 0 or one of the kernel's
 * errnos, and HAS and GET agree with the schema (ENXIO exactly for what
 * the schema does not list).
 *
 * Each input gets a fresh VM without /dev/kvm (cheap: no KVM, lazy memory).
 * One VM for the whole run would not do: serial-8250 and i8042 have no
 * release op, so they stay on a VM until its teardown (the VM would grow with
 * every input and i8042 would answer EEXIST after the first), and the start
 * op runs only once per VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dvm/device.h"
#include "dvm/vm.h"

#include "fuzz_input.h"

#define VALBUF_SIZE (64 * 1024)
#define MAX_TYPES 64
#define MAX_HANDLES 6

static const struct dvm_device_ops *types[MAX_TYPES];
static size_t nr_types;
static uint8_t *valbuf;
static int devnull = -1;

static void collect(const struct dvm_device_ops *ops, void *opaque)
{
	(void)opaque;
	if (nr_types < MAX_TYPES)
		types[nr_types++] = ops;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dvm_register_builtin_devices();
	dvm_for_each_device_ops(collect, NULL);
	valbuf = malloc(VALBUF_SIZE);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!nr_types || !valbuf || devnull < 0)
		abort();
	return 0;
}

static void check_errno(long ret)
{
	switch (ret) {
	case 0:
	case -ENXIO:
	case -EPERM:
	case -EBUSY:
	case -EEXIST:
	case -EINVAL:
	case -EFAULT:
	case -E2BIG:
	case -ENODEV:
	case -ENOMEM:
	case -ENOTTY:
	case -EBADF:
	case -EIO:
		return;
	}
	fprintf(stderr, "fuzz_attr: unexpected return %ld\n", ret);
	abort();
}

/* Ports where the emulated devices live, so accesses often hit something. */
static const uint16_t ports[] = {0x3f8, 0x2f8, 0x3e8, 0x2e8, 0x60, 0x64, 0xf4, 0x501,  0x70,
				 0x510, 0x600, 0xcf8, 0xcfc, 0xe0, 0xe4, 0xe8, 0x2000, 0x2010};

/*
 * Where the value goes: a schema row's value sits at the very end of the
 * 64 KiB buffer, so a device touching more than `size` bytes is caught by
 * ASan; anything else starts at the front.
 */
static void *value_ptr(const struct dvm_attr_desc *d)
{
	if (d && d->size && d->size <= VALBUF_SIZE)
		return valbuf + VALBUF_SIZE - d->size;
	return valbuf;
}

static void attr_op(struct dvm_vm *vm, int handle, const struct dvm_device_ops *ops,
		    struct input *in, uint8_t op)
{
	struct kvm_device_attr a = {0};
	const struct dvm_attr_desc *d;
	static const unsigned long cmds[] = {KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR,
					     KVM_HAS_DEVICE_ATTR};
	unsigned long cmd = cmds[op % 3];
	uint8_t how = take8(in);
	long ret;

	if ((how & 3) != 0 && ops->nr_attrs) {
		/* Mostly a schema row, sometimes one attr past a range's end. */
		const struct dvm_attr_desc *row = &ops->attrs[take8(in) % ops->nr_attrs];
		uint64_t count = row->count ? row->count : 1;
		a.group = row->group;
		a.attr = row->attr + take(in, 1) % (count + ((how & 4) ? 1 : 0));
	} else {
		a.group = (uint32_t)take(in, (how & 8) ? 4 : 1);
		a.attr = take(in, (how & 16) ? 8 : 1);
	}
	a.flags = (how & 32) ? (uint32_t)take(in, 4) : 0;
	d = dvm_attr_lookup(ops, a.group, a.attr);
	void *val = value_ptr(d);

	/* Value bytes: from the input, or a guessed width, or all of the row. */
	size_t n = take8(in);
	if (d && (how & 64))
		n = d->size;
	if (n > VALBUF_SIZE - (size_t)((uint8_t *)val - valbuf))
		n = VALBUF_SIZE - (size_t)((uint8_t *)val - valbuf);
	memset(val, 0, n);
	for (size_t i = 0; i < n && in->left; i++)
		((uint8_t *)val)[i] = take8(in);
	a.addr = (uint64_t)(uintptr_t)val;
	if ((how & 0xc0) == 0xc0 && (take8(in) & 1))
		a.addr = (take8(in) & 1) ? 0 : 16; /* bad pointers: EFAULT */

	ret = dvm_device_ioctl(vm, handle, cmd, &a);
	check_errno(ret);
	if (ops->flags & DVM_OPS_PASSTHROUGH)
		return;
	/* The schema decides existence, whatever the state or pointer. */
	if (cmd == KVM_HAS_DEVICE_ATTR && (ret == 0) != (d != NULL)) {
		fprintf(stderr, "fuzz_attr: %s HAS %u/%llu = %ld, schema says %s\n", ops->name,
			a.group, (unsigned long long)a.attr, ret, d ? "present" : "absent");
		abort();
	}
	if (!d && ret != -ENXIO) {
		fprintf(stderr, "fuzz_attr: %s attr %u/%llu not in the schema answered %ld\n",
			ops->name, a.group, (unsigned long long)a.attr, ret);
		abort();
	}
}

static void bus_op(struct dvm_vm *vm, struct input *in)
{
	static const unsigned lens[] = {1, 2, 4, 8};
	uint8_t how = take8(in);
	uint64_t port;
	uint64_t data = take(in, 8);

	if (how & 0x10) {
		/* MMIO: pc-testdev's window and odd sizes (KVM's page-split exits). */
		uint64_t addr = 0xff000000ull + take(in, 3) % 0x10010;
		dvm_bus_access(vm, DVM_BUS_MMIO, addr, &data, 1 + take8(in) % 8, how & 8);
		return;
	}
	if (how & 1)
		port = ports[take8(in) % (sizeof(ports) / sizeof(ports[0]))] + take8(in) % 10;
	else
		port = take(in, 2);
	dvm_bus_access(vm, DVM_BUS_PIO, port, &data, lens[(how >> 1) & 3], how & 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct input in = {data, size};
	int handles[MAX_HANDLES];
	const struct dvm_device_ops *hops[MAX_HANDLES];
	int nr = 0;
	struct dvm_vm *vm;
	const struct dvm_device_ops *ops;

	if (dvm_vm_create(&cfg, &vm))
		abort();
	/* Never read the fuzzer's stdin; UART output goes nowhere. */
	dvm_vm_set_console(vm, -1, devnull);

	ops = types[take8(&in) % nr_types];
	for (unsigned steps = 0; in.left && steps < 256; steps++) {
		uint8_t op = take8(&in);
		struct kvm_create_device cd = {0};
		int slot;
		long ret;

		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			if (nr)
				slot = take8(&in) % nr,
				attr_op(vm, handles[slot], hops[slot], &in, op / 8);
			break;
		case 3:
		case 4:
			bus_op(vm, &in);
			break;
		case 5: /* create: the chosen type mostly, any type sometimes */
			cd.type = (op & 0x80) ? types[take8(&in) % nr_types]->type : ops->type;
			cd.flags = (op & 0x40) ? KVM_CREATE_DEVICE_TEST : 0;
			ret = dvm_create_device(vm, &cd);
			check_errno(ret);
			if (!ret && !cd.flags && nr < MAX_HANDLES) {
				handles[nr] = (int)cd.fd;
				hops[nr++] = dvm_device_ops_by_type(cd.type);
			} else if (!ret && !cd.flags) {
				dvm_device_close(vm, (int)cd.fd);
			}
			break;
		case 6: /* close a handle */
			if (nr) {
				slot = take8(&in) % nr;
				if (dvm_device_close(vm, handles[slot]))
					abort();
				handles[slot] = handles[--nr];
				hops[slot] = hops[nr];
			}
			break;
		case 7:
			if (dvm_vm_state(vm) == DVM_VM_CONFIGURING)
				dvm_vm_start(vm); /* may fail: two UARTs on one base */
			break;
		}
	}
	while (nr)
		dvm_device_close(vm, handles[--nr]);
	dvm_vm_put(vm);
	return 0;
}
