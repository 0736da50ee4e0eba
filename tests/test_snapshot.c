/* SPDX-License-Identifier: MIT */
/*
 * Snapshot and restore through the library: every device type round-trips
 * (each saved attribute reads back the same in the restored VM), or refuses
 * by name (kvm-vfio); a failed save leaves no snapshot; bad snapshots are
 * refused before a VM is made.  Uses KVM where it is there, and the
 * emulated types alone where it isn't.  The memory file's format (v2: the
 * CRC over non-zero pages; v1 still read) and save progress, without KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

/* ---- the memory file's format, without KVM ---- */

#define PAGE 4096
#define SMALL_MEM (4u << 20)
#define DATA_A 0x10000ull  /* a whole page of pattern */
#define DATA_B 0x200000ull /* a few bytes */
#define HOLE 0x300000ull   /* never written */

static char path_buf[160];

static const char *snap_file(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, name);
	return path_buf;
}

/* A 4 MiB VM with a UART and two data pages, saved to dir. */
static struct dvm_vm *save_small(void)
{
	struct dvm_vm_config cfg = {.mem_size = SMALL_MEM, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	char err[256] = "";

	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	assert_true(create(vm, DVM_DEV_TYPE_SERIAL_8250) >= 0);
	uint8_t *a = dvm_vm_gpa_to_hva(vm, DATA_A, PAGE);
	for (int i = 0; i < PAGE; i++)
		a[i] = (uint8_t)(i * 13 + 1);
	memcpy(dvm_vm_gpa_to_hva(vm, DATA_B + 100, 6), "memory", 6);
	remove_snapshot();
	int ret = dvm_snapshot_save(vm, dir, err, sizeof(err));
	if (ret)
		printf("save: %s\n", err);
	assert_int_equal(ret, 0);
	return vm;
}

/* dvm_snapshot_restore()'s result; the VM, if any, is checked against
 * `vm` (when given) and shut down. */
static int try_restore(struct dvm_vm *vm, unsigned flags, char *err, size_t errlen)
{
	struct dvm_restored r;
	err[0] = '\0';
	int ret = dvm_snapshot_restore(dir, DVM_VM_NO_KVM, flags, &r, err, errlen);
	if (ret)
		return ret;
	if (vm)
		assert_memory_equal(dvm_vm_gpa_to_hva(r.vm, 0, SMALL_MEM),
				    dvm_vm_gpa_to_hva(vm, 0, SMALL_MEM), SMALL_MEM);
	dvm_restored_free(&r);
	dvm_vm_shutdown(r.vm);
	return 0;
}

static void expect_refused(const char *why)
{
	char err[256];
	int ret = try_restore(NULL, 0, err, sizeof(err));
	if (ret != -EINVAL || !strstr(err, why))
		printf("%d: %s\n", ret, err);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, why));
	/* The state is sound: only the memory check refuses it. */
	assert_int_equal(try_restore(NULL, DVM_RESTORE_NO_VERIFY, err, sizeof(err)), 0);
}

static void patch_memory(uint64_t off, const void *p, size_t len)
{
	int fd = open(snap_file("memory"), O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void read_header(uint8_t *hdr)
{
	int fd = open(snap_file("state"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, hdr, 64, 0), 64);
	close(fd);
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Sets the header's version and memory CRC, and reseals it. */
static void write_header(uint32_t version, uint32_t mem_crc)
{
	uint8_t hdr[64];
	read_header(hdr);
	memcpy(hdr + 8, &version, 4);
	memcpy(hdr + 36, &mem_crc, 4);
	uint32_t sum = (uint32_t)crc32(crc32(0, Z_NULL, 0), hdr, 60);
	memcpy(hdr + 60, &sum, 4);
	int fd = open(snap_file("state"), O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, hdr, 64, 0), 64);
	close(fd);
}

/* The v2 sum as the header documents it, from guest RAM. */
static uint32_t v2_sum(struct dvm_vm *vm)
{
	static const uint8_t zero[PAGE];
	const uint8_t *m = dvm_vm_gpa_to_hva(vm, 0, SMALL_MEM);
	uLong sum = crc32(0, Z_NULL, 0);
	for (uint64_t off = 0; off < SMALL_MEM; off += PAGE) {
		if (!memcmp(m + off, zero, PAGE))
			continue;
		uint8_t le[8];
		memcpy(le, &off, 8);
		sum = crc32(sum, le, 8);
		sum = crc32(sum, m + off, PAGE);
	}
	return (uint32_t)sum;
}

/* The v1 sum: the whole memory file. */
static uint32_t v1_sum(void)
{
	static uint8_t buf[SMALL_MEM];
	int fd = open(snap_file("memory"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, SMALL_MEM, 0), SMALL_MEM);
	close(fd);
	return (uint32_t)crc32(crc32(0, Z_NULL, 0), buf, SMALL_MEM);
}

static off_t file_blocks(const char *name)
{
	struct stat st;
	assert_int_equal(stat(snap_file(name), &st), 0);
	assert_int_equal(st.st_size, SMALL_MEM);
	return st.st_blocks;
}

static void v2_round_trip(void **state)
{
	(void)state;
	struct dvm_vm *vm = save_small();
	char err[256];
	uint8_t hdr[64];

	read_header(hdr);
	assert_int_equal(le32(hdr + 8), 2);
	assert_int_equal(le32(hdr + 36), v2_sum(vm)); /* exactly the documented sum */
	/* Zero pages stay holes: two data pages, not 4 MiB, on disk. */
	assert_true(file_blocks("memory") * 512 <= 64 * 1024);
	int fd = open(snap_file("memory"), O_RDONLY | O_CLOEXEC);
	assert_int_equal(lseek(fd, 0, SEEK_DATA), DATA_A);
	close(fd);
	assert_int_equal(try_restore(vm, 0, err, sizeof(err)), 0);

	/* A file system that keeps no holes: every hole written as zeros
	 * gives the same sum. */
	static const uint8_t zero[PAGE];
	fd = open(snap_file("memory"), O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	for (uint64_t off = 0; off < SMALL_MEM; off += PAGE)
		if (off != DATA_A && off != DATA_B)
			assert_int_equal(pwrite(fd, zero, PAGE, (off_t)off), PAGE);
	assert_int_equal(fsync(fd), 0);
	close(fd);
	assert_true(file_blocks("memory") * 512 >= SMALL_MEM);
	assert_int_equal(try_restore(vm, 0, err, sizeof(err)), 0);
	/* And there, too, a changed zero page is caught. */
	patch_memory(HOLE + 8, "x", 1);
	expect_refused("memory: checksum mismatch");
	dvm_vm_shutdown(vm);
	remove_snapshot();
}

static void v2_corrupted_memory_refused(void **state)
{
	(void)state;
	static const uint8_t zero[PAGE];
	struct dvm_vm *vm = save_small();
	char err[256];
	uint8_t b;

	/* One byte flipped in a data page. */
	assert_int_equal(try_restore(vm, 0, err, sizeof(err)), 0);
	b = *(uint8_t *)dvm_vm_gpa_to_hva(vm, DATA_A + 777, 1) ^ 0x01;
	patch_memory(DATA_A + 777, &b, 1);
	expect_refused("checksum");

	/* A whole data page zeroed: written as zeros... */
	vm = (dvm_vm_shutdown(vm), save_small());
	patch_memory(DATA_B, zero, PAGE);
	expect_refused("checksum");
	/* ...or punched out. */
	vm = (dvm_vm_shutdown(vm), save_small());
	int fd = open(snap_file("memory"), O_RDWR | O_CLOEXEC);
	assert_int_equal(
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)DATA_A, PAGE), 0);
	close(fd);
	expect_refused("checksum");

	/* Non-zero bytes in a hole: a page of its own, the first page, and
	 * the file's last byte. */
	vm = (dvm_vm_shutdown(vm), save_small());
	patch_memory(HOLE + 4000, "\x5a", 1);
	expect_refused("checksum");
	vm = (dvm_vm_shutdown(vm), save_small());
	patch_memory(0, "\x01", 1);
	expect_refused("checksum");
	vm = (dvm_vm_shutdown(vm), save_small());
	patch_memory(SMALL_MEM - 1, "\x80", 1);
	expect_refused("checksum");

	/* The page's offset is in the sum: two data pages swapped. */
	vm = (dvm_vm_shutdown(vm), save_small());
	memcpy(dvm_vm_gpa_to_hva(vm, DATA_B, PAGE), dvm_vm_gpa_to_hva(vm, DATA_A, PAGE), PAGE);
	remove_snapshot();
	assert_int_equal(dvm_snapshot_save(vm, dir, err, sizeof(err)), 0);
	patch_memory(DATA_A, zero, PAGE);
	patch_memory(DATA_A + 3 * PAGE, dvm_vm_gpa_to_hva(vm, DATA_A, PAGE), PAGE);
	expect_refused("checksum");
	dvm_vm_shutdown(vm);
	remove_snapshot();
}

static void v1_still_restores(void **state)
{
	(void)state;
	struct dvm_vm *vm = save_small();
	char err[256];

	/* A version-1 snapshot, as dvm wrote them: the whole file's CRC. */
	write_header(1, v1_sum());
	assert_int_equal(try_restore(vm, 0, err, sizeof(err)), 0);
	/* Its check is the whole-file one: a hole written is caught... */
	patch_memory(HOLE, "\x01", 1);
	write_header(1, v1_sum() ^ 1);
	expect_refused("memory: checksum mismatch");
	/* ...and a v2 sum under version 1 is not accepted as one. */
	patch_memory(HOLE, "\x00", 1);
	write_header(1, v2_sum(vm));
	expect_refused("memory: checksum mismatch");
	/* Nor a v1 sum under version 2. */
	write_header(2, v1_sum());
	expect_refused("memory: checksum mismatch");
	write_header(2, v2_sum(vm));
	assert_int_equal(try_restore(vm, 0, err, sizeof(err)), 0);
	/* Other versions are refused by name, before the memory. */
	for (uint32_t v = 0; v < 5; v += 3) { /* 0 and 3 */
		write_header(v, v2_sum(vm));
		assert_int_equal(try_restore(NULL, DVM_RESTORE_NO_VERIFY, err, sizeof(err)),
				 -EINVAL);
		char want[64];
		snprintf(want, sizeof(want), "snapshot version %u, this dvm reads", v);
		assert_non_null(strstr(err, want));
	}
	dvm_vm_shutdown(vm);
	remove_snapshot();
}

struct event {
	char phase[8];
	uint64_t done, total;
};

struct events {
	struct event ev[64];
	unsigned n;
};

static void record(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	struct events *e = arg;
	assert_true(e->n < 64);
	snprintf(e->ev[e->n].phase, sizeof(e->ev[e->n].phase), "%s", phase);
	e->ev[e->n].done = done;
	e->ev[e->n].total = total;
	e->n++;
}

static void save_progress(void **state)
{
	(void)state;
	const uint64_t mem = 160u << 20; /* 2.5 steps of 64 MiB */
	struct dvm_vm_config cfg = {.mem_size = mem, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	static struct events e;
	struct dvm_snapshot_progress p = {.fn = record, .arg = &e};
	char err[256] = "";

	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	assert_true(create(vm, DVM_DEV_TYPE_SERIAL_8250) >= 0);
	/* Data on both sides of the 64 MiB marks, and at the very end. */
	for (uint64_t off = 0; off < mem; off += 8u << 20)
		memset(dvm_vm_gpa_to_hva(vm, off + (8u << 20) - 3 * PAGE, 3 * PAGE), 0xa5,
		       3 * PAGE);
	remove_snapshot();
	memset(&e, 0, sizeof(e));
	assert_int_equal(dvm_snapshot_save_progress(vm, dir, &p, err, sizeof(err)), 0);

	unsigned i = 0;
	assert_true(e.n >= 6);
	struct stat st;
	assert_int_equal(stat(snap_file("state"), &st), 0);
	assert_string_equal(e.ev[i].phase, "state");
	assert_int_equal(e.ev[i].done, 0);
	assert_int_equal(e.ev[i].total, st.st_size);
	i++;
	assert_string_equal(e.ev[i].phase, "memory");
	assert_int_equal(e.ev[i].done, 0);
	uint64_t last = 0;
	unsigned nmem = 0;
	for (; i < e.n && !strcmp(e.ev[i].phase, "memory"); i++, nmem++) {
		assert_int_equal(e.ev[i].total, mem);
		assert_true(e.ev[i].done >= last);
		assert_true(nmem == 0 || e.ev[i].done > last);
		last = e.ev[i].done;
	}
	assert_int_equal(last, mem);
	assert_int_equal(nmem, 4); /* 0, about 64 and 128 MiB, the end */
	assert_true(e.ev[2].done >= 64u << 20 && e.ev[2].done < 65u << 20);
	assert_true(e.ev[3].done >= 128u << 20 && e.ev[3].done < 129u << 20);
	assert_int_equal(e.n, i + 2);
	assert_string_equal(e.ev[i].phase, "sync");
	assert_string_equal(e.ev[i + 1].phase, "done");
	assert_int_equal(e.ev[i + 1].done, mem);
	assert_int_equal(e.ev[i + 1].total, mem);

	/* The snapshot it made is whole. */
	struct dvm_restored r;
	assert_int_equal(dvm_snapshot_restore(dir, DVM_VM_NO_KVM, 0, &r, err, sizeof(err)), 0);
	assert_memory_equal(dvm_vm_gpa_to_hva(r.vm, 0, mem), dvm_vm_gpa_to_hva(vm, 0, mem), mem);
	dvm_restored_free(&r);
	dvm_vm_shutdown(r.vm);

	/* A save that fails early reports nothing; NULL progress is fine. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    dvm_snapshot_save_progress(vm, "/nonexistent/dir/snap", &p, err, sizeof(err)), -ENOENT);
	assert_int_equal(e.n, 1); /* "state" only: it failed at mkdir */
	assert_int_equal(dvm_vm_start(vm), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(dvm_snapshot_save_progress(vm, dir, &p, err, sizeof(err)), -EBUSY);
	assert_int_equal(e.n, 0);
	assert_int_equal(dvm_vm_pause(vm), 0);
	assert_int_equal(dvm_snapshot_save_progress(vm, dir, NULL, err, sizeof(err)), 0);
	dvm_vm_shutdown(vm);
	remove_snapshot();
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
	    cmocka_unit_test(every_type_round_trips), cmocka_unit_test(running_vm_and_vfio_refused),
	    cmocka_unit_test(v2_round_trip),	      cmocka_unit_test(v2_corrupted_memory_refused),
	    cmocka_unit_test(v1_still_restores),      cmocka_unit_test(save_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
