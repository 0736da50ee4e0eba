/* SPDX-License-Identifier: MIT */
/*
 * The I/O bus: dispatch by range, all-ones where nothing answers, and the
 * byte-wise split of odd-sized accesses and of accesses that cross a
 * range's end, so a handler never sees bytes outside its range; and
 * interrupt lines shared by several devices.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dvm/vm.h"

/* A range that records the accesses it gets and reads back its offset. */
struct recorder {
	uint64_t size;
	unsigned calls;
	uint64_t last_offset;
	unsigned last_len;
	uint8_t mem[16];
};

static void rec_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct recorder *r = opaque;
	assert_true(offset + len <= r->size); /* the guarantee under test */
	r->calls++;
	r->last_offset = offset;
	r->last_len = len;
	memcpy(data, r->mem + offset, len);
}

static void rec_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct recorder *r = opaque;
	assert_true(offset + len <= r->size);
	r->calls++;
	r->last_offset = offset;
	r->last_len = len;
	memcpy(r->mem + offset, data, len);
}

static const struct dvm_io_ops rec_ops = {.read = rec_read, .write = rec_write};

static struct dvm_vm *new_vm(void)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	return vm;
}

static void test_dispatch_and_float(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	struct recorder a = {.size = 4, .mem = {1, 2, 3, 4}};
	uint32_t v = 0;

	assert_int_equal(dvm_bus_register(vm, DVM_BUS_PIO, 0x100, 4, &rec_ops, &a), 0);
	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, 0x100, &v, 4, false));
	assert_int_equal(v, 0x04030201);
	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, 0x102, &v, 2, false));
	assert_int_equal(v & 0xffff, 0x0403);
	assert_int_equal(a.last_offset, 2);
	assert_false(dvm_bus_access(vm, DVM_BUS_PIO, 0x200, &v, 4, false));
	assert_int_equal(v, 0xffffffff);
	assert_false(dvm_bus_access(vm, DVM_BUS_PIO, 0x100, &v, 0, false));
	assert_false(dvm_bus_access(vm, DVM_BUS_PIO, 0x100, &v, 9, false));
	dvm_vm_shutdown(vm);
}

/* MMIO: a dword at the last byte of a range gives one byte to the range and
 * three that float high (read) or are dropped (write).  Port I/O is decoded
 * at the port addressed: the device there gets the whole access. */
static void test_cross_range_end(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	struct recorder a = {.size = 4, .mem = {1, 2, 3, 4}};
	uint32_t v = 0;

	assert_int_equal(dvm_bus_register(vm, DVM_BUS_MMIO, 0x100, 4, &rec_ops, &a), 0);
	assert_true(dvm_bus_access(vm, DVM_BUS_MMIO, 0x103, &v, 4, false));
	assert_int_equal(v, 0xffffff04);
	assert_int_equal(a.last_len, 1);
	v = 0xaabbccdd;
	assert_true(dvm_bus_access(vm, DVM_BUS_MMIO, 0x103, &v, 4, true));
	assert_int_equal(a.mem[3], 0xdd);
	/* Starting before a range and running into it. */
	assert_true(dvm_bus_access(vm, DVM_BUS_MMIO, 0xfe, &v, 4, false));
	assert_int_equal(v, 0x0201ffff);

	struct recorder port = {.size = 8};
	assert_int_equal(dvm_bus_register(vm, DVM_BUS_PIO, 0xcf8, 1, &rec_ops, &port), 0);
	v = 0x80000000;
	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, 0xcf8, &v, 4, true));
	assert_int_equal(port.last_len, 4);
	dvm_vm_shutdown(vm);
}

/* Two adjacent ranges each get their own bytes. */
static void test_cross_into_neighbour(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	struct recorder a = {.size = 4, .mem = {1, 2, 3, 4}}, b = {.size = 4, .mem = {5, 6, 7, 8}};
	uint64_t v = 0;

	assert_int_equal(dvm_bus_register(vm, DVM_BUS_MMIO, 0x1000, 4, &rec_ops, &a), 0);
	assert_int_equal(dvm_bus_register(vm, DVM_BUS_MMIO, 0x1004, 4, &rec_ops, &b), 0);
	assert_true(dvm_bus_access(vm, DVM_BUS_MMIO, 0x1002, &v, 4, false));
	assert_int_equal(v, 0x06050403);
	assert_true(dvm_bus_access(vm, DVM_BUS_MMIO, 0x1000, &v, 8, false));
	assert_int_equal(v, 0x0807060504030201ull);
	dvm_vm_shutdown(vm);
}

/* 3, 5, 6 and 7 bytes (KVM splits an MMIO access at a page boundary). */
static void test_odd_sizes(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	struct recorder a = {.size = 16};
	uint8_t in[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, out[8];

	assert_int_equal(dvm_bus_register(vm, DVM_BUS_MMIO, 0x2000, 16, &rec_ops, &a), 0);
	for (unsigned len = 3; len <= 7; len++) {
		if (len == 4)
			continue;
		memset(a.mem, 0, sizeof(a.mem));
		memset(out, 0, sizeof(out));
		unsigned calls = a.calls;
		assert_true(dvm_bus_access(vm, DVM_BUS_MMIO, 0x2005, in, len, true));
		assert_int_equal(a.calls - calls, len);
		assert_memory_equal(a.mem + 5, in, len);
		assert_int_equal(a.mem[5 + len], 0);
		assert_true(dvm_bus_access(vm, DVM_BUS_MMIO, 0x2005, out, len, false));
		assert_memory_equal(out, in, len);
		assert_int_equal(out[len], 0); /* nothing past the access */
	}
	dvm_vm_shutdown(vm);
}

/* Two devices on one line: it stays high until both let go. */
static void test_shared_irq_line(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	int a, b, sources[9];

	assert_int_equal(dvm_irq_get_line(vm, 4), 0);
	assert_int_equal(dvm_irq_set_line_from(vm, 4, &a, 1), 0);
	assert_int_equal(dvm_irq_set_line_from(vm, 4, &b, 1), 0);
	assert_int_equal(dvm_irq_set_line_from(vm, 4, &a, 0), 0);
	assert_int_equal(dvm_irq_get_line(vm, 4), 1);
	assert_int_equal(dvm_irq_set_line_from(vm, 4, &a, 0), 0); /* twice: no effect */
	assert_int_equal(dvm_irq_get_line(vm, 4), 1);
	assert_int_equal(dvm_irq_set_line_from(vm, 4, &b, 0), 0);
	assert_int_equal(dvm_irq_get_line(vm, 4), 0);
	/* The anonymous source is one more sharer. */
	assert_int_equal(dvm_irq_set_line(vm, 5, 1), 0);
	assert_int_equal(dvm_irq_set_line_from(vm, 5, &a, 1), 0);
	assert_int_equal(dvm_irq_set_line(vm, 5, 0), 0);
	assert_int_equal(dvm_irq_get_line(vm, 5), 1);
	/* Limits. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(dvm_irq_set_line_from(vm, 6, &sources[i], 1), 0);
	assert_int_equal(dvm_irq_set_line_from(vm, 6, &sources[8], 1), -ENOSPC);
	assert_int_equal(dvm_irq_set_line_from(vm, 6, &sources[8], 0), 0);
	assert_int_equal(dvm_irq_set_line_from(vm, 24, &a, 1), -EINVAL);
	assert_int_equal(dvm_irq_set_line_from(vm, 3, NULL, 1), -EINVAL);
	dvm_vm_shutdown(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dispatch_and_float),	 cmocka_unit_test(test_cross_range_end),
	    cmocka_unit_test(test_cross_into_neighbour), cmocka_unit_test(test_odd_sizes),
	    cmocka_unit_test(test_shared_irq_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
