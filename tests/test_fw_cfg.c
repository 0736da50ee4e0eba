// SPDX-License-Identifier: MIT
/*
 * Unit tests of fw-cfg on a VM without /dev/kvm: the schema, configuration
 * and command errors, every item as the guest reads it through the ports,
 * the file directory, the state round trip, and port garbage at every width.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/debug_exit.h"
#include "dvm/devices/fw_cfg.h"
#include "dvm/vm.h"

#define SEL 0x510
#define DATA 0x511
#define MEM_SIZE (32ull << 20)

struct fx {
	struct dvm_vm *vm;
	int h;
};

static struct dvm_vm *new_vm(void)
{
	struct dvm_vm_config cfg = {.mem_size = MEM_SIZE, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm = NULL;

	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	assert_non_null(vm);
	return vm;
}

static int create_fw_cfg(struct dvm_vm *vm)
{
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_FW_CFG};

	assert_int_equal(dvm_create_device(vm, &cd), 0);
	return (int)cd.fd;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	dvm_register_builtin_devices();
	f->vm = new_vm();
	f->h = create_fw_cfg(f->vm);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (dvm_vm_started(f->vm) && dvm_vm_state(f->vm) != DVM_VM_STOPPED)
		dvm_vm_request_stop(f->vm, DVM_STOP_POWEROFF, 0, "test");
	dvm_vm_shutdown(f->vm);
	free(f);
	return 0;
}

/* ---- guest side ---- */

static void outw16(struct dvm_vm *vm, uint16_t port, uint16_t v)
{
	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, port, &v, 2, true));
}

static uint8_t inb8(struct dvm_vm *vm, uint16_t port)
{
	uint8_t v = 0x5a;

	assert_true(dvm_bus_access(vm, DVM_BUS_PIO, port, &v, 1, false));
	return v;
}

static void read_item(struct dvm_vm *vm, uint16_t key, uint8_t *buf, size_t n)
{
	outw16(vm, SEL, key);
	for (size_t i = 0; i < n; i++)
		buf[i] = inb8(vm, DATA);
}

static uint64_t item_le(struct dvm_vm *vm, uint16_t key, unsigned n)
{
	uint8_t b[8];
	uint64_t v = 0;

	read_item(vm, key, b, n);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- host side ---- */

static int add_file(struct fx *f, const char *name, const void *data, uint32_t size)
{
	struct dvm_fw_cfg_file file = {.data = (uintptr_t)data, .size = size};

	memcpy(file.name, name, strnlen(name, sizeof(file.name) - 1)); /* rest stays 0 */
	return dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, &file);
}

static int set_item(struct fx *f, uint16_t selector, const void *data, uint32_t size)
{
	struct dvm_fw_cfg_item item = {.selector = selector, .data = (uintptr_t)data, .size = size};

	return dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM, &item);
}

static int set_cfg(struct fx *f, uint64_t attr, uint64_t v)
{
	return dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_CONFIG, attr, &v);
}

static struct dvm_fw_cfg_state get_state(struct fx *f)
{
	struct dvm_fw_cfg_state s;

	memset(&s, 0xee, sizeof(s));
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &s), 0);
	return s;
}

static void start(struct fx *f)
{
	assert_int_equal(dvm_vm_start(f->vm), 0);
}

/* ---- tests ---- */

static void test_schema(void **state)
{
	struct fx *f = *state;
	const struct dvm_device_ops *ops = dvm_device_ops_by_name("fw-cfg");
	static const struct {
		uint32_t group;
		uint64_t attr;
		const char *name;
		uint32_t size, kind;
	} rows[] = {
	    {DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_BASE, "base", 2, DVM_ATTR_CONFIG},
	    {DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_NB_CPUS, "nb-cpus", 2, DVM_ATTR_CONFIG},
	    {DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_MAX_CPUS, "max-cpus", 2, DVM_ATTR_CONFIG},
	    {DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_RAM_SIZE, "ram-size", 8, DVM_ATTR_CONFIG},
	    {DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, "cursor", 16, DVM_ATTR_STATE},
	    {DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, "add-file", 72, DVM_ATTR_COMMAND},
	    {DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM, "set-item", 24, DVM_ATTR_COMMAND},
	    {DVM_FW_CFG_GRP_CONTENT, 0, "blob-meta", 64, DVM_ATTR_STATE},
	    {DVM_FW_CFG_GRP_CONTENT_DATA, 0, "blob-data", DVM_FW_CFG_CHUNK, DVM_ATTR_STATE},
	};
	uint8_t buf[DVM_FW_CFG_CHUNK];

	assert_non_null(ops);
	assert_int_equal(ops->type, DVM_DEV_TYPE_FW_CFG);
	assert_int_equal(ops->nr_attrs, sizeof(rows) / sizeof(rows[0]));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct dvm_attr_desc *d = dvm_attr_lookup(ops, rows[i].group, rows[i].attr);
		assert_non_null(d);
		assert_string_equal(d->name, rows[i].name);
		assert_int_equal(d->size, rows[i].size);
		assert_int_equal(d->kind, rows[i].kind);
		assert_int_equal(dvm_device_has(f->vm, f->h, rows[i].group, rows[i].attr), 0);
	}
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_FW_CFG_GRP_CONFIG, 4), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_FW_CFG_GRP_STATE, 1), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, 2), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_FW_CFG_GRP_CONTENT, DVM_FW_CFG_NR_KEYS),
			 -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, 5, 0), -ENXIO);
	/* Commands are write-only; unknown attributes are ENXIO on SET and GET. */
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, buf),
	    -EPERM);
	assert_int_equal(dvm_device_get(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, 7, buf), -ENXIO);
	assert_int_equal(dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_STATE, 9, buf), -ENXIO);
	/* One per VM, as QEMU. */
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_FW_CFG};
	assert_int_equal(dvm_create_device(f->vm, &cd), -EEXIST);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint64_t v = 0;

	/* Defaults. */
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_BASE, &v), 0);
	assert_int_equal(v, 0x510);
	v = 0;
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_RAM_SIZE, &v), 0);
	assert_int_equal(v, MEM_SIZE);
	v = 0;
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_NB_CPUS, &v), 0);
	assert_int_equal(v, 1);

	/* nb-cpus 1..65535; max-cpus 0 or >= nb-cpus, checked in either order. */
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 0), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 4), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_MAX_CPUS, 3), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_MAX_CPUS, 8), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 9), -EINVAL);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 8), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_MAX_CPUS, 0), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 65535), 0);
	/* The port pair must fit below 0x10000. */
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_BASE, 0xffff), -E2BIG);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_BASE, 0xfffe), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_BASE, 0x510), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_RAM_SIZE, 1ull << 40), 0);
	/* A bad value pointer. */
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_BASE, NULL),
	    -EFAULT);

	/* Everything but the state is frozen once started. */
	start(f);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 2), -EBUSY);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_BASE, 0x600), -EBUSY);
	assert_int_equal(add_file(f, "opt/late", "x", 1), -EBUSY);
	assert_int_equal(set_item(f, DVM_FW_CFG_CMDLINE_DATA, "x", 1), -EBUSY);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_NB_CPUS, 2), 65535);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_MAX_CPUS, 2), 65535);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_RAM_SIZE, 8), 1ull << 40);
}

static void test_builtin_items(void **state)
{
	struct fx *f = *state;
	uint8_t b[32];

	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 3), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_RAM_SIZE, 0x123456789ull), 0);
	start(f);

	/* The cursor starts at SIGNATURE, as after QEMU's reset. */
	assert_int_equal(inb8(f->vm, DATA), 'Q');
	read_item(f->vm, DVM_FW_CFG_SIGNATURE, b, 8);
	assert_memory_equal(b, "QEMU\0\0\0\0", 8);
	read_item(f->vm, DVM_FW_CFG_ID, b, 6);
	assert_memory_equal(b, "\x01\0\0\0\0\0", 6);
	read_item(f->vm, DVM_FW_CFG_UUID, b, 20);
	assert_true(all_zero(b, 20));
	assert_int_equal(get_state(f).offset, 16); /* 16 bytes, then the end */
	read_item(f->vm, DVM_FW_CFG_RAM_SIZE, b, 10);
	assert_memory_equal(b, "\x89\x67\x45\x23\x01\0\0\0\0\0", 10);
	read_item(f->vm, DVM_FW_CFG_NOGRAPHIC, b, 3);
	assert_memory_equal(b, "\x01\0\0", 3);
	read_item(f->vm, DVM_FW_CFG_NB_CPUS, b, 3);
	assert_memory_equal(b, "\x03\0\0", 3);
	read_item(f->vm, DVM_FW_CFG_BOOT_MENU, b, 3);
	assert_true(all_zero(b, 3));
	assert_int_equal(get_state(f).offset, 2);
	/* max-cpus 0: MAX_CPUS is nb-cpus. */
	read_item(f->vm, DVM_FW_CFG_MAX_CPUS, b, 3);
	assert_memory_equal(b, "\x03\0\0", 3);
	/* No files: FILE_DIR is a zero count. */
	read_item(f->vm, DVM_FW_CFG_FILE_DIR, b, 8);
	assert_true(all_zero(b, 8));
	assert_int_equal(get_state(f).offset, 4);
	/* The boot items are empty until set: kvm-unit-tests reads 0x11 as 0. */
	for (uint16_t k = DVM_FW_CFG_KERNEL_ADDR; k <= DVM_FW_CFG_SETUP_DATA; k++) {
		if (k == DVM_FW_CFG_BOOT_MENU || k == DVM_FW_CFG_MAX_CPUS)
			continue;
		read_item(f->vm, k, b, 8);
		assert_true(all_zero(b, 8));
		assert_int_equal(get_state(f).offset, 0);
	}
}

static void test_max_cpus_explicit(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_NB_CPUS, 2), 0);
	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_MAX_CPUS, 0x1234), 0);
	start(f);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_NB_CPUS, 2), 2);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_MAX_CPUS, 2), 0x1234);
}

static void test_unknown_selectors(void **state)
{
	struct fx *f = *state;
	static const uint16_t keys[] = {0x06, 0x0c,   0x0d,   0x1a,   0x1f,   0x20,   0x21,  0x5f,
					0x60, 0x3fff, 0x8000, 0x8002, 0x8019, 0xc000, 0xffff};
	uint8_t b[16];

	assert_int_equal(add_file(f, "opt/only", "abc", 3), 0);
	start(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i] == 0x20)
			continue; /* the one file */
		read_item(f->vm, keys[i], b, sizeof(b));
		assert_true(all_zero(b, sizeof(b)));
		struct dvm_fw_cfg_state s = get_state(f);
		assert_int_equal(s.selector, keys[i]); /* kept as written */
		assert_int_equal(s.offset, 0);
	}
	/* The write-channel bit is ignored on select, as QEMU does. */
	read_item(f->vm, 0x4000 | DVM_FW_CFG_SIGNATURE, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	read_item(f->vm, 0x4000 | 0x20, b, 4);
	assert_memory_equal(b, "abc\0", 4);
	/* Arch-local items: none. */
	read_item(f->vm, 0x8000 | 0x20, b, 4);
	assert_true(all_zero(b, 4));
}

static void test_file_dir(void **state)
{
	struct fx *f = *state;
	static const char *names[] = {"opt/b", "opt/a/long/enough", "etc/x", "opt/c", "opt/a"};
	/* Sorted: etc/x, opt/a, opt/a/long/enough, opt/b, opt/c. */
	static const int order[] = {2, 4, 1, 0, 3};
	char data[5][32];
	uint8_t dir[4 + 5 * 64 + 8];
	uint8_t b[20];

	for (int i = 0; i < 5; i++) {
		snprintf(data[i], sizeof(data[i]), "data-%s", names[i]);
		uint32_t len = i == 4 ? 0 : (uint32_t)strlen(data[i]); /* opt/a is empty */
		assert_int_equal(add_file(f, names[i], data[i], len), 0);
	}
	/* The caller's buffers are copied: changing them later changes nothing. */
	memset(data[0], 'Z', sizeof(data[0]) - 1);
	start(f);

	read_item(f->vm, DVM_FW_CFG_FILE_DIR, dir, sizeof(dir));
	assert_int_equal(be32(dir), 5);
	for (int i = 0; i < 5; i++) {
		const uint8_t *e = dir + 4 + i * 64;
		const char *name = names[order[i]];
		uint32_t size = order[i] == 4 ? 0 : (uint32_t)strlen("data-") + strlen(name);
		char want[64];

		assert_int_equal(be32(e), size);
		assert_int_equal(e[4] << 8 | e[5], 0x20 + i);
		assert_int_equal(e[6] | e[7], 0); /* reserved */
		assert_string_equal((const char *)e + 8, name);
		assert_true(all_zero(e + 8 + strlen(name), 56 - strlen(name)));

		/* The file itself, then zeros past its end. */
		read_item(f->vm, 0x20 + i, b, sizeof(b));
		snprintf(want, sizeof(want), "data-%s", name);
		if (order[i] == 4)
			assert_true(all_zero(b, sizeof(b)));
		else
			assert_memory_equal(b, want, size < sizeof(b) ? size : sizeof(b));
		if (size < sizeof(b))
			assert_true(all_zero(b + size, sizeof(b) - size));
	}
	assert_true(all_zero(dir + 4 + 5 * 64, 8)); /* past the directory's end */
}

static void test_add_file_errors(void **state)
{
	struct fx *f = *state;
	struct dvm_fw_cfg_file file = {.data = (uintptr_t) "x", .size = 1};
	char name[64];
	uint8_t b[4];

	/* Names: empty, unterminated, and the longest that fits. */
	assert_int_equal(add_file(f, "", "x", 1), -EINVAL);
	memset(file.name, 'a', sizeof(file.name));
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, &file),
	    -EINVAL);
	file.name[55] = 0;
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, &file), 0);
	/* Reserved must be 0. */
	snprintf(file.name, sizeof(file.name), "opt/reserved");
	file.reserved = 1;
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, &file),
	    -EINVAL);
	/* Duplicates. */
	assert_int_equal(add_file(f, "opt/dup", "1", 1), 0);
	assert_int_equal(add_file(f, "opt/dup", "2", 1), -EEXIST);
	/* Too big for one file: refused before the data is looked at. */
	assert_int_equal(add_file(f, "opt/big", NULL, DVM_FW_CFG_MAX_BLOB + 1), -E2BIG);
	/* Bad data pointers: NULL, the first page, kernel half, unmapped, half-mapped. */
	assert_int_equal(add_file(f, "opt/bad", NULL, 1), -EFAULT);
	assert_int_equal(add_file(f, "opt/bad", (void *)16, 1), -EFAULT);
	assert_int_equal(add_file(f, "opt/bad", (void *)0xffff880000000000ull, 1), -EFAULT);
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map =
	    mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(munmap(map + page, page), 0);
	assert_int_equal(add_file(f, "opt/bad", map + page, 1), -EFAULT);
	assert_int_equal(add_file(f, "opt/bad", map + page - 1, 2), -EFAULT);
	assert_int_equal(add_file(f, "opt/bad", map + page - 1, 1), 0); /* the last mapped byte */
	munmap(map, page);
	/* A bad struct pointer. */
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, NULL),
	    -EFAULT);

	/* Three files so far; up to 64. */
	for (int i = 3; i < DVM_FW_CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "opt/n%02d", i);
		assert_int_equal(add_file(f, name, "", 0), 0);
	}
	assert_int_equal(add_file(f, "opt/one-too-many", "", 0), -E2BIG);
	start(f);
	read_item(f->vm, DVM_FW_CFG_FILE_DIR, b, 4);
	assert_int_equal(be32(b), DVM_FW_CFG_MAX_FILES);
	/* The last selector is 0x5f. */
	outw16(f->vm, SEL, 0x20 + DVM_FW_CFG_MAX_FILES - 1);
	assert_int_equal(get_state(f).selector, 0x5f);
}

static void test_total_cap(void **state)
{
	struct fx *f = *state;
	uint8_t *big = malloc(DVM_FW_CFG_MAX_BLOB);
	char name[16];

	assert_non_null(big);
	memset(big, 0xab, DVM_FW_CFG_MAX_BLOB);
	for (unsigned i = 0; i < DVM_FW_CFG_MAX_TOTAL / DVM_FW_CFG_MAX_BLOB; i++) {
		snprintf(name, sizeof(name), "opt/big%u", i);
		assert_int_equal(add_file(f, name, big, DVM_FW_CFG_MAX_BLOB), 0);
	}
	assert_int_equal(add_file(f, "opt/one-more", big, 1), -E2BIG);
	assert_int_equal(set_item(f, DVM_FW_CFG_CMDLINE_DATA, big, 1), -E2BIG);
	assert_int_equal(add_file(f, "opt/empty", big, 0), 0); /* empty files still fit */
	free(big);
	start(f);
	outw16(f->vm, SEL, 0x20);
	assert_int_equal(inb8(f->vm, DATA), 0xab);
}

static void test_set_item(void **state)
{
	struct fx *f = *state;
	uint32_t addr = 0x100000, size4 = 0x1234;
	uint64_t eight = 0;
	struct dvm_fw_cfg_item item = {
	    .selector = DVM_FW_CFG_KERNEL_ADDR, .data = (uintptr_t)&addr, .size = 4};
	uint8_t b[16];

	/* Fixed items, FILE_DIR and files can't be set; nor can unknown selectors. */
	static const uint16_t bad[] = {0x00, 0x01, 0x03, 0x05, 0x06,   0x0c,  0x0e,
				       0x0f, 0x19, 0x1a, 0x20, 0x4011, 0x8011};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(set_item(f, bad[i], &addr, 4), -EINVAL);
	/* u32 items take exactly 4 bytes. */
	assert_int_equal(set_item(f, DVM_FW_CFG_KERNEL_ADDR, &eight, 8), -EINVAL);
	assert_int_equal(set_item(f, DVM_FW_CFG_CMDLINE_SIZE, &eight, 2), -EINVAL);
	/* Reserved fields. */
	item.reserved[1] = 1;
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM, &item),
	    -EINVAL);
	item.reserved[1] = 0;
	item.reserved2 = 1;
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM, &item),
	    -EINVAL);
	item.reserved2 = 0;
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM, &item), 0);
	/* Data items: size cap and bad pointers. */
	assert_int_equal(set_item(f, DVM_FW_CFG_INITRD_DATA, NULL, DVM_FW_CFG_MAX_BLOB + 1),
			 -E2BIG);
	assert_int_equal(set_item(f, DVM_FW_CFG_INITRD_DATA, (void *)8, 4), -EFAULT);
	/* Set, replace, remove. */
	assert_int_equal(set_item(f, DVM_FW_CFG_CMDLINE_DATA, "first", 6), 0);
	assert_int_equal(set_item(f, DVM_FW_CFG_CMDLINE_DATA, "console=ttyS0", 14), 0);
	assert_int_equal(set_item(f, DVM_FW_CFG_CMDLINE_SIZE, &size4, 4), 0);
	assert_int_equal(set_item(f, DVM_FW_CFG_KERNEL_DATA, "kernel", 6), 0);
	assert_int_equal(set_item(f, DVM_FW_CFG_KERNEL_DATA, NULL, 0), 0);
	assert_int_equal(set_item(f, DVM_FW_CFG_SETUP_DATA, "\x01\x02", 2), 0);
	start(f);

	assert_int_equal(item_le(f->vm, DVM_FW_CFG_KERNEL_ADDR, 8), 0x100000);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_CMDLINE_SIZE, 8), 0x1234);
	read_item(f->vm, DVM_FW_CFG_CMDLINE_DATA, b, 16);
	assert_memory_equal(b, "console=ttyS0\0\0\0", 16);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_KERNEL_DATA, 8), 0); /* removed */
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_SETUP_DATA, 4), 0x0201);
	assert_int_equal(item_le(f->vm, DVM_FW_CFG_INITRD_DATA, 8), 0); /* never set */
}

static void test_widths(void **state)
{
	struct fx *f = *state;
	uint64_t v;
	uint8_t b;

	start(f);
	outw16(f->vm, SEL, DVM_FW_CFG_SIGNATURE);
	/* A byte read at either port is the next data byte (QEMU's combined ports). */
	assert_int_equal(inb8(f->vm, SEL), 'Q');
	assert_int_equal(inb8(f->vm, DATA), 'E');
	/* Wide reads at the base: 0, nothing consumed. */
	for (unsigned len = 2; len <= 8; len *= 2) {
		v = 0x5555555555555555ull;
		assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, SEL, &v, len, false));
		assert_int_equal(v & ((len == 8 ? 0 : 1ull << (8 * len)) - 1), 0);
	}
	/* A wide read at the data port: one data byte, the ports above float. */
	v = 0;
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, DATA, &v, 2, false));
	assert_int_equal(v, 0xff00 | 'M');
	/* Byte writes, wider writes and a 16-bit write at the data port don't select. */
	b = DVM_FW_CFG_ID;
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, SEL, &b, 1, true));
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, DATA, &b, 1, true));
	v = DVM_FW_CFG_ID;
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, DATA, &v, 2, true));
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, SEL, &v, 4, true));
	assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, SEL, &v, 8, true));
	assert_int_equal(inb8(f->vm, DATA), 'U');
	assert_int_equal(inb8(f->vm, DATA), 0);
	/* A 16-bit write at the base selects and rewinds, even the same item. */
	outw16(f->vm, SEL, DVM_FW_CFG_SIGNATURE);
	assert_int_equal(inb8(f->vm, DATA), 'Q');
	/* 0x512 up is not ours (no DMA port at 0x514). */
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x512, &b, 1, false));
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x514, &v, 4, true));
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x50f, &b, 1, false));
}

static void test_base(void **state)
{
	struct fx *f = *state;
	uint8_t b;

	assert_int_equal(set_cfg(f, DVM_FW_CFG_CONFIG_BASE, 0x600), 0);
	start(f);
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, SEL, &b, 1, false));
	assert_false(dvm_bus_access(f->vm, DVM_BUS_PIO, DATA, &b, 1, false));
	outw16(f->vm, 0x600, DVM_FW_CFG_ID);
	assert_int_equal(inb8(f->vm, 0x601), 1);
}

static void test_port_conflict(void **state)
{
	struct fx *f = *state;
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_DEBUG_EXIT};
	uint16_t iobase = 0x511;

	/* Another device on the data port: the machine does not start. */
	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	assert_int_equal(dvm_device_set(f->vm, (int)cd.fd, DVM_DEBUG_EXIT_GRP_CONFIG,
					DVM_DEBUG_EXIT_CONFIG_IOBASE, &iobase),
			 0);
	assert_int_equal(dvm_vm_start(f->vm), -EEXIST);
	assert_int_equal(dvm_vm_wait(f->vm, NULL, NULL), DVM_STATUS_HOST_ERROR);
}

static void test_state(void **state)
{
	struct fx *f = *state;
	struct dvm_fw_cfg_state s, bad;
	struct dvm_vm *vm2;
	struct fx g;

	assert_int_equal(add_file(f, "opt/dvm/greeting", "hello-fw-cfg", 12), 0);
	start(f);
	s = get_state(f);
	assert_int_equal(s.version, DVM_FW_CFG_STATE_VERSION);
	assert_int_equal(s.selector, DVM_FW_CFG_SIGNATURE);
	assert_int_equal(s.offset, 0);
	assert_int_equal(s.reserved | s.reserved2, 0);
	outw16(f->vm, SEL, 0x20);
	assert_int_equal(inb8(f->vm, DATA), 'h');
	assert_int_equal(inb8(f->vm, DATA), 'e');
	s = get_state(f);
	assert_int_equal(s.selector, 0x20);
	assert_int_equal(s.offset, 2);

	/* A fresh machine with the same file takes the cursor and goes on. */
	vm2 = new_vm();
	g.vm = vm2;
	g.h = create_fw_cfg(vm2);
	assert_int_equal(add_file(&g, "opt/dvm/greeting", "hello-fw-cfg", 12), 0);
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &s), 0);
	assert_int_equal(dvm_vm_start(vm2), 0);
	assert_int_equal(inb8(vm2, DATA), 'l');
	assert_int_equal(get_state(&g).offset, 3);

	/* Nonsense is refused and changes nothing. */
	struct dvm_fw_cfg_state before = get_state(&g);
	bad = s;
	bad.version = 0;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), -EINVAL);
	bad.version = 2;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), -EINVAL);
	bad = s;
	bad.reserved = 1;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), -EINVAL);
	bad = s;
	bad.reserved2 = 0x80000000u;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), -EINVAL);
	bad = s;
	bad.offset = 13; /* the file has 12 bytes */
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), -EINVAL);
	bad.offset = 0xffffffffu;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), -EINVAL);
	bad.selector = 0x21; /* no such file: only offset 0 */
	bad.offset = 1;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), -EINVAL);
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, NULL), -EFAULT);
	struct dvm_fw_cfg_state after = get_state(&g);
	assert_memory_equal(&before, &after, sizeof(before));
	/* The end of an item and an empty selector at 0 are fine. */
	bad.selector = 0x20;
	bad.offset = 12;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), 0);
	assert_int_equal(inb8(vm2, DATA), 0);
	bad.selector = 0xffff;
	bad.offset = 0;
	assert_int_equal(
	    dvm_device_set(vm2, g.h, DVM_FW_CFG_GRP_STATE, DVM_FW_CFG_STATE_CURSOR, &bad), 0);
	assert_int_equal(inb8(vm2, DATA), 0);
	dvm_vm_request_stop(vm2, DVM_STOP_POWEROFF, 0, "test");
	dvm_vm_shutdown(vm2);
}

/* xorshift: the same garbage on every run. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_port_garbage(void **state)
{
	struct fx *f = *state;
	uint64_t seed = 0x9e3779b97f4a7c15ull, v;
	static const unsigned widths[] = {1, 2, 4, 8};
	uint8_t b[4];

	assert_int_equal(add_file(f, "opt/a", "0123456789", 10), 0);
	assert_int_equal(set_item(f, DVM_FW_CFG_CMDLINE_DATA, "cmd", 4), 0);
	start(f);
	for (int i = 0; i < 20000; i++) {
		uint64_t r = rnd(&seed);
		uint16_t port = (uint16_t)(0x50e + r % 8); /* around and on the device */
		unsigned len = widths[(r >> 8) % 4];
		bool write = (r >> 12) & 1;

		v = rnd(&seed);
		if ((r >> 13) % 4 == 0)
			v &= 0x3f; /* often a real selector */
		dvm_bus_access(f->vm, DVM_BUS_PIO, port, &v, len, write);
		/* The cursor never runs past its item. */
		struct dvm_fw_cfg_state s = get_state(f);
		uint16_t key = s.selector & 0x3fff;
		uint32_t max = s.selector & 0x8000		? 0
			       : key == DVM_FW_CFG_SIGNATURE	? 4
			       : key == DVM_FW_CFG_UUID		? 16
			       : key == DVM_FW_CFG_RAM_SIZE	? 8
			       : key == DVM_FW_CFG_ID		? 4
			       : key == DVM_FW_CFG_FILE_DIR	? 68
			       : key == 0x20			? 10
			       : key == DVM_FW_CFG_CMDLINE_DATA ? 4
								: 2;
		assert_true(s.offset <= max);
	}
	/* And the device still answers. */
	read_item(f->vm, DVM_FW_CFG_SIGNATURE, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	read_item(f->vm, 0x20, b, 4);
	assert_memory_equal(b, "0123", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_builtin_items, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_cpus_explicit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_selectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_file_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_total_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_item, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_widths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_base, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_garbage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
