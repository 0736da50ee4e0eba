/* SPDX-License-Identifier: MIT */
/*
 * Snapshot and restore through the library: every device type round-trips
 * (each saved attribute reads back the same in the restored VM), or refuses
 * by name (kvm-vfio); a failed save leaves no snapshot; bad snapshots are
 * refused before a VM is made.  Uses KVM where it is there, and the
 * emulated types alone where it isn't.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/fw_cfg.h"
#include "dvm/devices/vcpu.h"
#include "dvm/snapshot.h"
#include "dvm/vm.h"

static bool have_kvm;
static char dir[64];

static uint32_t vm_flags(void)
{
	return have_kvm ? 0 : DVM_VM_NO_KVM;
}

static int create(struct dvm_vm *vm, uint32_t type)
{
	struct kvm_create_device cd = {.type = type};
	int ret = dvm_create_device(vm, &cd);
	return ret ? ret : (int)cd.fd;
}

static void out8(struct dvm_vm *vm, uint16_t port, uint8_t v)
{
	dvm_bus_access(vm, DVM_BUS_PIO, port, &v, 1, true);
}

static uint8_t in8(struct dvm_vm *vm, uint16_t port)
{
	uint8_t v = 0;
	dvm_bus_access(vm, DVM_BUS_PIO, port, &v, 1, false);
	return v;
}

/* Rows whose value moves with the host clock between save and compare. */
static bool moves_with_time(const struct dvm_device_ops *ops, const struct dvm_attr_desc *d,
			    uint64_t attr)
{
	return (!strcmp(ops->name, "acpi") && d->kind == DVM_ATTR_STATE) ||
	       (!strcmp(ops->name, "cmos-rtc") && d->kind == DVM_ATTR_STATE) ||
	       (!strcmp(ops->name, "vcpu") && !strcmp(d->name, "msr") && attr == 0x10) || /* TSC */
	       (!strcmp(ops->name, "pit") && d->kind == DVM_ATTR_STATE); /* count load time */
}

/* Every saved row of every device reads the same in both VMs. */
static void compare(struct dvm_vm *a, struct dvm_vm *b)
{
	struct dvm_device_id ia[64], ib[64];
	int na = dvm_vm_list_devices(a, ia, 64), nb = dvm_vm_list_devices(b, ib, 64);
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++) {
		const struct dvm_device_ops *ops = ia[i].ops;
		assert_int_equal(ia[i].type, ib[i].type);
		for (size_t r = 0; r < ops->nr_attrs; r++) {
			const struct dvm_attr_desc *d = &ops->attrs[r];
			if ((d->access & DVM_ATTR_RW) != DVM_ATTR_RW ||
			    (d->access & DVM_ATTR_DERIVED) || d->kind == DVM_ATTR_COMMAND ||
			    (d->count && d->count > 1))
				continue;
			if (moves_with_time(ops, d, d->attr))
				continue;
			uint8_t *va = calloc(1, d->size), *vb = calloc(1, d->size);
			int ra =
			    dvm_device_attr_by_type(a, ia[i].type, ia[i].instance,
						    KVM_GET_DEVICE_ATTR, d->group, d->attr, va);
			int rb =
			    dvm_device_attr_by_type(b, ib[i].type, ib[i].instance,
						    KVM_GET_DEVICE_ATTR, d->group, d->attr, vb);
			assert_int_equal(ra, rb);
			if (ra == 0 && memcmp(va, vb, d->size)) {
				printf("differs: %s #%u %s\n", ops->name, ia[i].instance, d->name);
				fail();
			}
			free(va);
			free(vb);
		}
	}
}

static void remove_snapshot(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/state", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/memory", dir);
	unlink(p);
	rmdir(dir);
}

static void every_type_round_trips(void **state)
{
	(void)state;
	struct dvm_vm_config cfg = {.mem_size = 4 << 20, .flags = vm_flags()};
	struct dvm_vm *vm;
	char err[256] = "";
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	/* The machine's order: the irqchip first, the vCPUs last. */
	static const uint32_t kvm_types[] = {DVM_DEV_TYPE_PIC, DVM_DEV_TYPE_IOAPIC,
					     DVM_DEV_TYPE_PIT};
	static const uint32_t types[] = {
	    DVM_DEV_TYPE_SERIAL_8250, DVM_DEV_TYPE_I8042,    DVM_DEV_TYPE_DEBUG_EXIT,
	    DVM_DEV_TYPE_ACPI_PM,     DVM_DEV_TYPE_CMOS_RTC, DVM_DEV_TYPE_PCI_HOST,
	    DVM_DEV_TYPE_PC_TESTDEV,  DVM_DEV_TYPE_FW_CFG,
	};
	for (size_t i = 0; have_kvm && i < 3; i++)
		assert_true(create(vm, kvm_types[i]) >= 0);
	int fw = -1;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int h = create(vm, types[i]);
		assert_true(h >= 0);
		if (types[i] == DVM_DEV_TYPE_FW_CFG)
			fw = h;
	}
	/* fw-cfg contents: two files (one over a 4 KiB chunk) and a boot item. */
	static uint8_t big[5000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	struct dvm_fw_cfg_file f1 = {.name = "opt/b", .data = (uintptr_t)big, .size = sizeof(big)};
	struct dvm_fw_cfg_file f2 = {.name = "opt/a", .data = (uintptr_t) "hi", .size = 2};
	struct dvm_fw_cfg_item cmd = {
	    .selector = DVM_FW_CFG_CMDLINE_DATA, .data = (uintptr_t) "x=1", .size = 4};
	assert_int_equal(
	    dvm_device_set(vm, fw, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, &f1), 0);
	assert_int_equal(
	    dvm_device_set(vm, fw, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, &f2), 0);
	assert_int_equal(
	    dvm_device_set(vm, fw, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM, &cmd), 0);
	if (have_kvm) {
		/* Both vCPUs parked on a hlt in real mode while they run. */
		struct dvm_vcpu_reset park = {.mode = DVM_VCPU_RESET_REAL_MODE, .entry = 0x1000};
		*(uint8_t *)dvm_vm_gpa_to_hva(vm, 0x1000, 1) = 0xf4; /* hlt */
		for (int i = 0; i < 2; i++) {
			int h = create(vm, DVM_DEV_TYPE_VCPU);
			assert_true(h >= 0);
			assert_int_equal(dvm_device_set(vm, h, DVM_VCPU_GRP_CONTROL,
							DVM_VCPU_CONTROL_RESET, &park),
					 0);
		}
	}
	assert_int_equal(dvm_vm_start(vm), 0);
	/* Some state a guest would leave: UART scratch, a CMOS byte, the
	 * pc-testdev latch and memory, the PCI address latch, guest RAM. */
	assert_int_equal(dvm_vm_pause(vm), 0);
	out8(vm, 0x3ff, 0x5a);
	out8(vm, 0x70, 0x40);
	out8(vm, 0x71, 0xa5);
	uint32_t latch = 0xdeadbeef, pci = 0x80000010, iomem = 0x12345678;
	dvm_bus_access(vm, DVM_BUS_PIO, 0xe0, &latch, 4, true);
	dvm_bus_access(vm, DVM_BUS_PIO, 0xcf8, &pci, 4, true);
	dvm_bus_access(vm, DVM_BUS_MMIO, 0xff000100, &iomem, 4, true);
	memcpy(dvm_vm_gpa_to_hva(vm, 0x200000, 6), "memory", 6);

	remove_snapshot();
	int ret = dvm_snapshot_save(vm, dir, err, sizeof(err));
	if (ret)
		printf("save: %s\n", err);
	assert_int_equal(ret, 0);

	struct dvm_restored r;
	ret = dvm_snapshot_restore(dir, vm_flags(), 0, &r, err, sizeof(err));
	if (ret)
		printf("restore: %s\n", err);
	assert_int_equal(ret, 0);
	/* Before the restored vCPUs run (they may reach their hlt first). */
	compare(vm, r.vm);
	assert_int_equal(dvm_vm_start(r.vm), 0);
	assert_int_equal(dvm_vm_pause(r.vm), 0);
	/* And as the guest sees it. */
	assert_int_equal(in8(r.vm, 0x3ff), 0x5a);
	out8(r.vm, 0x70, 0x40);
	assert_int_equal(in8(r.vm, 0x71), 0xa5);
	uint32_t v = 0;
	dvm_bus_access(r.vm, DVM_BUS_PIO, 0xe0, &v, 4, false);
	assert_int_equal(v, latch);
	dvm_bus_access(r.vm, DVM_BUS_MMIO, 0xff000100, &v, 4, false);
	assert_int_equal(v, iomem);
	assert_memory_equal(dvm_vm_gpa_to_hva(r.vm, 0x200000, 6), "memory", 6);
	/* fw-cfg's files and items, as the guest reads them: opt/a is 0x20, opt/b 0x21. */
	uint16_t sel = DVM_FW_CFG_FILE_FIRST + 1;
	dvm_bus_access(r.vm, DVM_BUS_PIO, 0x510, &sel, 2, true);
	for (size_t i = 0; i < sizeof(big); i++)
		assert_int_equal(in8(r.vm, 0x511), big[i]);
	assert_int_equal(in8(r.vm, 0x511), 0); /* past the end */
	sel = DVM_FW_CFG_CMDLINE_DATA;
	dvm_bus_access(r.vm, DVM_BUS_PIO, 0x510, &sel, 2, true);
	assert_int_equal(in8(r.vm, 0x511), 'x');
	sel = DVM_FW_CFG_FILE_DIR;
	dvm_bus_access(r.vm, DVM_BUS_PIO, 0x510, &sel, 2, true);
	uint8_t dirhdr[4];
	for (int i = 0; i < 4; i++)
		dirhdr[i] = in8(r.vm, 0x511);
	assert_int_equal(dirhdr[3], 2); /* two files, big-endian count */
	/* Copy-on-write: the restored guest's writes don't reach the snapshot. */
	memcpy(dvm_vm_gpa_to_hva(r.vm, 0x200000, 6), "MEMORY", 6);
	dvm_restored_free(&r);
	dvm_vm_shutdown(r.vm);
	ret = dvm_snapshot_restore(dir, vm_flags(), 0, &r, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_memory_equal(dvm_vm_gpa_to_hva(r.vm, 0x200000, 6), "memory", 6);
	dvm_restored_free(&r);
	dvm_vm_shutdown(r.vm);
	dvm_vm_shutdown(vm);
	remove_snapshot();
}

static void running_vm_and_vfio_refused(void **state)
{
	(void)state;
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = vm_flags()};
	struct dvm_vm *vm;
	char err[256] = "";
	struct stat st;

	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	assert_true(create(vm, DVM_DEV_TYPE_SERIAL_8250) >= 0);
	assert_int_equal(dvm_vm_start(vm), 0);
	remove_snapshot();
	assert_int_equal(dvm_snapshot_save(vm, dir, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "pause first"));
	if (have_kvm) {
		assert_int_equal(dvm_vm_pause(vm), 0);
		assert_true(create(vm, DVM_DEV_TYPE_KVM_VFIO) >= 0);
		assert_int_equal(dvm_snapshot_save(vm, dir, err, sizeof(err)), -EOPNOTSUPP);
		assert_non_null(strstr(err, "kvm-vfio #0 can't be saved"));
	}
	assert_int_not_equal(stat(dir, &st), 0); /* nothing that looks like a snapshot */
	dvm_vm_shutdown(vm);
}

int main(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	have_kvm = fd >= 0;
	if (fd >= 0)
		close(fd);
	else
		printf("no /dev/kvm: the emulated types only\n");
	snprintf(dir, sizeof(dir), "/tmp/dvm-test-snapshot-%d", (int)getpid());
	dvm_register_builtin_devices();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_type_round_trips),
	    cmocka_unit_test(running_vm_and_vfio_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
