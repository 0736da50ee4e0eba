/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite for the device-control API: every row of the errno table
 * and every lifetime rule of shared/kvm-device-api.md, written once and run
 * against three back ends:
 *   kernel       the kernel's own KVM_DEV_TYPE_VFIO through raw ioctls;
 *   dvm-kernel   the same kernel device reached through dvm (kvm-vfio);
 *   dvm-emulated dvm's emulated devices on a VM without /dev/kvm.
 * The shared checks must give the same answers everywhere.  Checks that only
 * dvm can answer (destroy-only singletons, schema rows, teardown) follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/debug_exit.h"
#include "dvm/vm.h"

struct backend {
	const char *name;
	/* 0, or -1 when this host can't have it (the tests then skip). */
	int (*setup)(struct backend *b);
	void (*teardown)(struct backend *b);
	long (*create)(struct backend *b, struct kvm_create_device *cd);
	long (*ioctl)(struct backend *b, int fd, unsigned long cmd, void *arg);
	int (*close)(struct backend *b, int fd);
	void (*drop_vm)(struct backend *b); /* give up the creator's VM reference */
	/* A one-per-VM type with release and without get_attr, and its answer to a
	 * second create (the table: VFIO says EBUSY, others EEXIST). */
	uint32_t type;
	int second_create_errno;
	uint32_t known_group;
	uint64_t known_attr;
	/* state */
	int kvm_fd, vm_fd;
	struct dvm_vm *vm;
	unsigned checks;
	bool ready;
	const char *skip_reason;
};

/* One assertion on an errno answer, counted per back end. */
#define CHECK_RET(b, expr, expected)                                                               \
	do {                                                                                       \
		long got_ = (expr);                                                                \
		(b)->checks++;                                                                     \
		if (got_ != (long)(expected))                                                      \
			fail_msg("%s: %s gave %ld (%s), expected %ld (%s)", (b)->name, #expr,      \
				 got_, strerror((int)-got_), (long)(expected),                     \
				 strerror((int)-(long)(expected)));                                \
	} while (0)

/* ---- kernel back end: raw ioctls ---- */

static long raw(long r)
{
	return r < 0 ? -errno : r;
}

static int kernel_setup(struct backend *b)
{
	b->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b->kvm_fd < 0) {
		b->skip_reason = "/dev/kvm not available";
		return -1;
	}
	b->vm_fd = ioctl(b->kvm_fd, KVM_CREATE_VM, 0);
	if (b->vm_fd < 0) {
		b->skip_reason = "KVM_CREATE_VM failed";
		close(b->kvm_fd);
		return -1;
	}
	struct kvm_create_device cd = {.type = KVM_DEV_TYPE_VFIO, .flags = KVM_CREATE_DEVICE_TEST};
	if (ioctl(b->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
		b->skip_reason = "this kernel has no KVM_DEV_TYPE_VFIO";
		close(b->vm_fd);
		close(b->kvm_fd);
		return -1;
	}
	return 0;
}

static void kernel_teardown(struct backend *b)
{
	if (b->vm_fd >= 0)
		close(b->vm_fd);
	close(b->kvm_fd);
}

static long kernel_create(struct backend *b, struct kvm_create_device *cd)
{
	return raw(ioctl(b->vm_fd, KVM_CREATE_DEVICE, cd));
}

static long kernel_ioctl(struct backend *b, int fd, unsigned long cmd, void *arg)
{
	(void)b;
	return raw(ioctl(fd, cmd, arg));
}

static int kernel_close(struct backend *b, int fd)
{
	(void)b;
	return (int)raw(close(fd));
}

static void kernel_drop_vm(struct backend *b)
{
	close(b->vm_fd);
	b->vm_fd = -1;
}

/* ---- dvm back ends ---- */

static long dvm_create(struct backend *b, struct kvm_create_device *cd)
{
	return dvm_create_device(b->vm, cd);
}

static long dvm_ioctl(struct backend *b, int fd, unsigned long cmd, void *arg)
{
	return dvm_device_ioctl(b->vm, fd, cmd, arg);
}

static int dvm_close(struct backend *b, int fd)
{
	return dvm_device_close(b->vm, fd);
}

static void dvm_drop_vm(struct backend *b)
{
	/* The handles still hold the VM: it must survive until the last closes. */
	dvm_vm_put(b->vm);
}

static void dvm_teardown(struct backend *b)
{
	(void)b; /* the VM went with drop_vm and the last handle */
}

static int dvm_kernel_setup(struct backend *b)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20};
	dvm_register_builtin_devices();
	if (dvm_vm_create(&cfg, &b->vm)) {
		b->skip_reason = "/dev/kvm not available";
		return -1;
	}
	struct kvm_create_device cd = {.type = KVM_DEV_TYPE_VFIO, .flags = KVM_CREATE_DEVICE_TEST};
	if (dvm_create_device(b->vm, &cd)) {
		b->skip_reason = "this kernel has no KVM_DEV_TYPE_VFIO";
		dvm_vm_put(b->vm);
		return -1;
	}
	return 0;
}

/*
 * The emulated back end's type for the shared checks: a one-per-VM device
 * with release and no get_attr, like the kernel's VFIO device but answering
 * EEXIST (the table's answer for every one-per-VM type but VFIO).  It also
 * carries one schema row of each access kind for the dvm-only checks.
 */
#define FIXTURE_TYPE 0x1f0
#define FIXTURE_GRP_CONFIG 0
#define FIXTURE_GRP_CMD 1
static int fixture_creates, fixture_releases, fixture_destroys, fixture_fail_create;
static uint64_t fixture_base;

static const struct dvm_attr_desc fixture_attrs[] = {
    {.group = FIXTURE_GRP_CONFIG,
     .attr = 0,
     .name = "base",
     .size = 8,
     .kind = DVM_ATTR_CONFIG,
     .access = DVM_ATTR_W | DVM_ATTR_ONCE | DVM_ATTR_BEFORE_START,
     .format = DVM_FMT_UINT,
     .min = 0x1000,
     .max = 0xfffff000},
    {.group = FIXTURE_GRP_CONFIG,
     .attr = 1,
     .name = "ro",
     .size = 4,
     .kind = DVM_ATTR_CONFIG,
     .access = DVM_ATTR_R,
     .format = DVM_FMT_UINT},
    {.group = FIXTURE_GRP_CMD,
     .attr = 0,
     .name = "go",
     .size = 4,
     .kind = DVM_ATTR_COMMAND,
     .access = DVM_ATTR_W,
     .format = DVM_FMT_UINT},
    {.group = FIXTURE_GRP_CMD,
     .attr = 1,
     .name = "init",
     .size = 4,
     .kind = DVM_ATTR_COMMAND,
     .access = DVM_ATTR_W,
     .format = DVM_FMT_UINT},
};

static int fixture_create(struct dvm_device *dev)
{
	(void)dev;
	if (fixture_fail_create)
		return -ENOMEM;
	fixture_creates++;
	return 0;
}

static void fixture_release(struct dvm_device *dev)
{
	(void)dev;
	fixture_releases++;
}

static void fixture_destroy(struct dvm_device *dev)
{
	(void)dev;
	fixture_destroys++;
}

static int fixture_set(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	(void)dev;
	if (attr->group == FIXTURE_GRP_CONFIG && attr->attr == 0)
		memcpy(&fixture_base, (void *)(uintptr_t)attr->addr, 8);
	/* A command that needs its configuration first (the VGIC's CTRL_INIT). */
	if (attr->group == FIXTURE_GRP_CMD && attr->attr == 1 && !fixture_base)
		return -ENXIO;
	return 0;
}

static const struct dvm_device_ops fixture_ops = {
    .name = "conformance-fixture",
    .type = FIXTURE_TYPE,
    .flags = DVM_OPS_SINGLETON,
    .attrs = fixture_attrs,
    .nr_attrs = sizeof(fixture_attrs) / sizeof(fixture_attrs[0]),
    .create = fixture_create,
    .release = fixture_release,
    .set_attr = fixture_set,
};

/* Destroy-only: stays on the VM's list after its handle closes. */
static const struct dvm_device_ops fixture_destroy_only_ops = {
    .name = "conformance-destroy-only",
    .type = FIXTURE_TYPE + 1,
    .flags = DVM_OPS_SINGLETON,
    .attrs = fixture_attrs,
    .nr_attrs = 1,
    .create = fixture_create,
    .destroy = fixture_destroy,
    .set_attr = fixture_set,
};

static int dvm_emulated_setup(struct backend *b)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	dvm_register_builtin_devices();
	dvm_register_device_ops(&fixture_ops);
	dvm_register_device_ops(&fixture_destroy_only_ops);
	return dvm_vm_create(&cfg, &b->vm) ? -1 : 0;
}

static struct backend backends[] = {
    {.name = "kernel",
     .setup = kernel_setup,
     .teardown = kernel_teardown,
     .create = kernel_create,
     .ioctl = kernel_ioctl,
     .close = kernel_close,
     .drop_vm = kernel_drop_vm,
     .type = KVM_DEV_TYPE_VFIO,
     .second_create_errno = EBUSY,
     .known_group = KVM_DEV_VFIO_GROUP,
     .known_attr = KVM_DEV_VFIO_GROUP_ADD},
    {.name = "dvm-kernel",
     .setup = dvm_kernel_setup,
     .teardown = dvm_teardown,
     .create = dvm_create,
     .ioctl = dvm_ioctl,
     .close = dvm_close,
     .drop_vm = dvm_drop_vm,
     .type = KVM_DEV_TYPE_VFIO,
     .second_create_errno = EBUSY,
     .known_group = KVM_DEV_VFIO_GROUP,
     .known_attr = KVM_DEV_VFIO_GROUP_ADD},
    {.name = "dvm-emulated",
     .setup = dvm_emulated_setup,
     .teardown = dvm_teardown,
     .create = dvm_create,
     .ioctl = dvm_ioctl,
     .close = dvm_close,
     .drop_vm = dvm_drop_vm,
     .type = FIXTURE_TYPE,
     .second_create_errno = EEXIST,
     .known_group = FIXTURE_GRP_CMD,
     .known_attr = 0},
};

/* Set the back end up on first use; skip with the reason when the host can't. */
static void need(struct backend *b)
{
	if (!b->ready && !b->skip_reason) {
		b->vm_fd = -1;
		b->kvm_fd = -1;
		if (b->setup(b) && !b->skip_reason)
			b->skip_reason = "setup failed";
		b->ready = !b->skip_reason;
	}
	if (b->skip_reason) {
		printf("SKIP: %s back end: %s\n", b->name, b->skip_reason);
		skip();
	}
}

static int create_ok(struct backend *b, uint32_t type)
{
	struct kvm_create_device cd = {.type = type};
	CHECK_RET(b, b->create(b, &cd), 0);
	return (int)cd.fd;
}

static long attr_call(struct backend *b, int fd, unsigned long cmd, uint32_t group, uint64_t attr,
		      uint64_t addr, uint32_t flags)
{
	struct kvm_device_attr a = {.flags = flags, .group = group, .attr = attr, .addr = addr};
	return b->ioctl(b, fd, cmd, &a);
}

/* ---- shared checks ---- */

static void bad_types_are_enodev(void **state)
{
	struct backend *b = *state;
	static const uint32_t bad[] = {0, 1, 2, 3, 5, 0xffff, 0x7fffffff, 0xffffffff};
	need(b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (uint32_t flags = 0; flags <= KVM_CREATE_DEVICE_TEST; flags++) {
			struct kvm_create_device cd = {.type = bad[i], .flags = flags, .fd = 77};
			CHECK_RET(b, b->create(b, &cd), -ENODEV);
			assert_int_equal(cd.fd, 77);
		}
	}
}

static void test_flag_creates_nothing(void **state)
{
	struct backend *b = *state;
	need(b);
	struct kvm_create_device cd = {
	    .type = b->type, .flags = KVM_CREATE_DEVICE_TEST, .fd = 0xdeadbeef};
	CHECK_RET(b, b->create(b, &cd), 0);
	CHECK_RET(b, cd.fd, 0xdeadbeef); /* fd untouched */
	/* Nothing was made: a one-per-VM device can still be created, once. */
	int fd = create_ok(b, b->type);
	CHECK_RET(b, b->create(b, &cd), 0); /* TEST still says yes */
	struct kvm_create_device again = {.type = b->type};
	CHECK_RET(b, b->create(b, &again), -b->second_create_errno);
	CHECK_RET(b, b->close(b, fd), 0);
}

static void create_returns_zero_and_fills_fd(void **state)
{
	struct backend *b = *state;
	need(b);
	struct kvm_create_device cd = {.type = b->type, .fd = 0xdeadbeef};
	CHECK_RET(b, b->create(b, &cd), 0); /* 0, never the handle itself */
	assert_int_not_equal(cd.fd, 0xdeadbeef);
	CHECK_RET(
	    b, attr_call(b, (int)cd.fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 0, 0),
	    0);
	CHECK_RET(b, b->close(b, (int)cd.fd), 0);
}

static void unknown_create_flags_ignored(void **state)
{
	struct backend *b = *state;
	need(b);
	struct kvm_create_device cd = {.type = b->type, .flags = 0x80000002};
	CHECK_RET(b, b->create(b, &cd), 0);
	CHECK_RET(b, b->close(b, (int)cd.fd), 0);
}

static void has_attr_rows(void **state)
{
	struct backend *b = *state;
	need(b);
	int fd = create_ok(b, b->type);
	/* Known: 0, whatever addr points to, and attr.flags is not checked. */
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 0, 0), 0);
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 1, 0), 0);
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 0, 0xff),
		  0);
	/* Unknown group, unknown attribute of a known group: ENXIO. */
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, 0x7777, 0, 0, 0), -ENXIO);
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, 0x7777, 0, 0), -ENXIO);
	CHECK_RET(b, b->close(b, fd), 0);
}

static void set_unknown_is_enxio(void **state)
{
	struct backend *b = *state;
	uint32_t value = 0;
	need(b);
	int fd = create_ok(b, b->type);
	CHECK_RET(b, attr_call(b, fd, KVM_SET_DEVICE_ATTR, 0x7777, 0, (uintptr_t)&value, 0),
		  -ENXIO);
	CHECK_RET(
	    b, attr_call(b, fd, KVM_SET_DEVICE_ATTR, b->known_group, 0x7777, (uintptr_t)&value, 0),
	    -ENXIO);
	CHECK_RET(b, b->close(b, fd), 0);
}

static void missing_op_is_eperm_before_efault(void **state)
{
	struct backend *b = *state;
	uint64_t value = 0;
	need(b);
	int fd = create_ok(b, b->type);
	CHECK_RET(b,
		  attr_call(b, fd, KVM_GET_DEVICE_ATTR, b->known_group, b->known_attr,
			    (uintptr_t)&value, 0),
		  -EPERM);
	/* The op is missing, so even a bad struct pointer answers EPERM. */
	CHECK_RET(b, b->ioctl(b, fd, KVM_GET_DEVICE_ATTR, NULL), -EPERM);
	CHECK_RET(b, b->ioctl(b, fd, KVM_GET_DEVICE_ATTR, (void *)8), -EPERM);
	CHECK_RET(b, b->close(b, fd), 0);
}

static void bad_struct_pointer_is_efault(void **state)
{
	struct backend *b = *state;
	static void *const bad[] = {NULL, (void *)8, (void *)0xffff800000000000ull,
				    (void *)0x8000000000000000ull};
	need(b);
	int fd = create_ok(b, b->type);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_RET(b, b->ioctl(b, fd, KVM_SET_DEVICE_ATTR, bad[i]), -EFAULT);
		CHECK_RET(b, b->ioctl(b, fd, KVM_HAS_DEVICE_ATTR, bad[i]), -EFAULT);
	}
	CHECK_RET(b, b->close(b, fd), 0);
}

static void unknown_ioctl_is_enotty(void **state)
{
	struct backend *b = *state;
	need(b);
	int fd = create_ok(b, b->type);
	CHECK_RET(b, b->ioctl(b, fd, _IO(KVMIO, 0xef), NULL), -ENOTTY);
	CHECK_RET(b, b->ioctl(b, fd, 0x1234, NULL), -ENOTTY);
	CHECK_RET(b, b->close(b, fd), 0);
}

static void other_process_gets_eio(void **state)
{
	struct backend *b = *state;
	need(b);
	int fd = create_ok(b, b->type);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long r = attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 0, 0);
		_exit(r == -EIO ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	CHECK_RET(b, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? -EIO : 0, -EIO);
	/* The owner still may. */
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 0, 0), 0);
	CHECK_RET(b, b->close(b, fd), 0);
}

static void released_device_can_be_created_again(void **state)
{
	struct backend *b = *state;
	need(b);
	for (int i = 0; i < 3; i++) {
		int fd = create_ok(b, b->type);
		CHECK_RET(b, b->close(b, fd), 0);
	}
}

static void closed_handle_is_ebadf(void **state)
{
	struct backend *b = *state;
	need(b);
	int fd = create_ok(b, b->type);
	CHECK_RET(b, b->close(b, fd), 0);
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 0, 0),
		  -EBADF);
	CHECK_RET(b, b->close(b, fd), -EBADF);
}

/* Last in each group: the VM goes away with it. */
static void handle_keeps_vm_alive(void **state)
{
	struct backend *b = *state;
	need(b);
	int fd = create_ok(b, b->type);
	b->drop_vm(b);
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, b->known_group, b->known_attr, 0, 0), 0);
	CHECK_RET(b, attr_call(b, fd, KVM_HAS_DEVICE_ATTR, 0x7777, 0, 0, 0), -ENXIO);
	CHECK_RET(b, b->close(b, fd), 0); /* the last reference: the VM is torn down */
}

/* ---- dvm-only checks (the kernel has no x86 type to ask) ---- */

static struct dvm_vm *emulated_vm(void)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	dvm_register_builtin_devices();
	dvm_register_device_ops(&fixture_ops);
	dvm_register_device_ops(&fixture_destroy_only_ops);
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	return vm;
}

static int dvm_create_type(struct dvm_vm *vm, uint32_t type)
{
	struct kvm_create_device cd = {.type = type};
	assert_int_equal(dvm_create_device(vm, &cd), 0);
	return (int)cd.fd;
}

static struct backend dvm_only = {.name = "dvm-only"};

static void destroy_only_singleton_stays(void **state)
{
	(void)state;
	struct dvm_vm *vm = emulated_vm();
	struct backend *b = &dvm_only;
	fixture_destroys = 0;
	int fd = dvm_create_type(vm, FIXTURE_TYPE + 1);
	struct kvm_create_device cd = {.type = FIXTURE_TYPE + 1};
	CHECK_RET(b, dvm_create_device(vm, &cd), -EEXIST);
	CHECK_RET(b, dvm_device_close(vm, fd), 0);
	CHECK_RET(b, fixture_destroys, 0);
	CHECK_RET(b, dvm_create_device(vm, &cd), -EEXIST); /* still there */
	/* The real thing: the i8042 is wired into the machine and stays. */
	fd = dvm_create_type(vm, DVM_DEV_TYPE_I8042);
	CHECK_RET(b, dvm_device_close(vm, fd), 0);
	cd.type = DVM_DEV_TYPE_I8042;
	CHECK_RET(b, dvm_create_device(vm, &cd), -EEXIST);
	dvm_vm_put(vm); /* teardown destroys what is left */
	CHECK_RET(b, fixture_destroys, 1);
}

static void teardown_destroys_remaining(void **state)
{
	(void)state;
	struct backend *b = &dvm_only;
	struct dvm_vm *vm = emulated_vm();
	fixture_destroys = fixture_releases = 0;
	int fd = dvm_create_type(vm, FIXTURE_TYPE + 1);
	(void)dvm_create_type(vm, FIXTURE_TYPE);
	CHECK_RET(b, dvm_device_close(vm, fd), 0);
	/* Handles open: the creator's put does not tear down yet. */
	dvm_vm_put(vm);
	CHECK_RET(b, fixture_destroys + fixture_releases, 0);
	/* The fixture's handle is the last reference. */
	CHECK_RET(b, dvm_device_close(vm, 1), 0);
	CHECK_RET(b, fixture_releases, 1);
	CHECK_RET(b, fixture_destroys, 1);
}

static void create_failure_leaves_nothing(void **state)
{
	(void)state;
	struct backend *b = &dvm_only;
	struct dvm_vm *vm = emulated_vm();
	struct kvm_create_device cd = {.type = FIXTURE_TYPE, .fd = 99};
	fixture_fail_create = 1;
	CHECK_RET(b, dvm_create_device(vm, &cd), -ENOMEM);
	CHECK_RET(b, cd.fd, 99);
	fixture_fail_create = 0;
	/* Nothing was linked: the one-per-VM device can be created. */
	CHECK_RET(b, dvm_create_device(vm, &cd), 0);
	dvm_device_close(vm, (int)cd.fd);
	dvm_vm_put(vm);
}

static void handle_to_device(void **state)
{
	(void)state;
	struct backend *b = &dvm_only;
	struct dvm_vm *vm = emulated_vm();
	int fd = dvm_create_type(vm, DVM_DEV_TYPE_DEBUG_EXIT);
	struct dvm_device *dev = dvm_device_from_handle(vm, fd);
	assert_non_null(dev);
	CHECK_RET(b, dev->ops->type, DVM_DEV_TYPE_DEBUG_EXIT);
	CHECK_RET(b, dev->handle, fd);
	CHECK_RET(b, dvm_device_close(vm, fd), 0);
	assert_null(dvm_device_from_handle(vm, fd));
	assert_null(dvm_device_from_handle(vm, -1));
	assert_null(dvm_device_from_handle(vm, 1 << 20));
	dvm_vm_put(vm);
}

static void schema_rows(void **state)
{
	(void)state;
	struct backend *b = &dvm_only;
	struct dvm_vm *vm = emulated_vm();
	int fd = dvm_create_type(vm, FIXTURE_TYPE);
	uint64_t v = 0x2000;
	uint32_t small = 0;
	/* Write-only read, read-only write: EPERM. */
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CONFIG, 1, &small), -EPERM);
	CHECK_RET(b, dvm_device_has(vm, fd, FIXTURE_GRP_CMD, 0), 0);
	/* Out of range: EINVAL; a bad value pointer: EFAULT. */
	v = 0x10;
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CONFIG, 0, &v), -EINVAL);
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CONFIG, 0, NULL), -EFAULT);
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CONFIG, 0, (void *)0xffff900000000000ull),
		  -EFAULT);
	/* A command before the configuration it needs: ENXIO. */
	fixture_base = 0;
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CMD, 1, &small), -ENXIO);
	/* A configuration attribute set twice: EEXIST, and the first value stays. */
	v = 0x2000;
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CONFIG, 0, &v), 0);
	v = 0x3000;
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CONFIG, 0, &v), -EEXIST);
	CHECK_RET(b, fixture_base, 0x2000);
	CHECK_RET(b, dvm_device_set(vm, fd, FIXTURE_GRP_CMD, 1, &small), 0);
	/* Beyond the address space: E2BIG (a debug-exit port range past 0xffff). */
	int dbg = dvm_create_type(vm, DVM_DEV_TYPE_DEBUG_EXIT);
	uint16_t iobase = 0xfffe;
	CHECK_RET(b,
		  dvm_device_set(vm, dbg, DVM_DEBUG_EXIT_GRP_CONFIG, DVM_DEBUG_EXIT_CONFIG_IOBASE,
				 &iobase),
		  -E2BIG);
	iobase = 0xfffc;
	CHECK_RET(b,
		  dvm_device_set(vm, dbg, DVM_DEBUG_EXIT_GRP_CONFIG, DVM_DEBUG_EXIT_CONFIG_IOBASE,
				 &iobase),
		  0);
	uint8_t iosize = 3;
	CHECK_RET(b,
		  dvm_device_set(vm, dbg, DVM_DEBUG_EXIT_GRP_CONFIG, DVM_DEBUG_EXIT_CONFIG_IOSIZE,
				 &iosize),
		  -EINVAL);
	dvm_device_close(vm, dbg);
	/* After start, BEFORE_START attributes answer EBUSY (serial's base). */
	int uart = dvm_create_type(vm, DVM_DEV_TYPE_SERIAL_8250);
	const struct dvm_attr_desc *base =
	    dvm_attr_by_name(dvm_device_ops_by_type(DVM_DEV_TYPE_SERIAL_8250), "base");
	assert_non_null(base);
	uint16_t port = 0x2f8;
	dvm_vm_set_console(vm, -1, -1);
	CHECK_RET(b, dvm_device_set(vm, uart, base->group, base->attr, &port), 0);
	assert_int_equal(dvm_vm_start(vm), 0);
	CHECK_RET(b, dvm_device_set(vm, uart, base->group, base->attr, &port), -EBUSY);
	/* HAS still answers whatever the state. */
	CHECK_RET(b, dvm_device_has(vm, uart, base->group, base->attr), 0);
	dvm_vm_request_stop(vm, DVM_STOP_POWEROFF, 0, "test");
	dvm_vm_wait(vm, NULL, NULL);
	dvm_device_close(vm, fd);
	dvm_device_close(vm, uart);
	dvm_vm_put(vm);
}

static void registry_rows(void **state)
{
	(void)state;
	struct backend *b = &dvm_only;
	static const struct dvm_device_ops clash = {
	    .name = "clash", .type = DVM_DEV_TYPE_SERIAL_8250, .create = fixture_create};
	static const struct dvm_device_ops too_big = {
	    .name = "too-big", .type = DVM_DEV_TYPE_MAX, .create = fixture_create};
	dvm_register_builtin_devices();
	CHECK_RET(b, dvm_register_device_ops(&clash), -EEXIST);
	CHECK_RET(b, dvm_register_device_ops(&too_big), -ENOSPC);
	/* A KVM-only type on a VM without KVM: not registered for it. */
	struct dvm_vm *vm = emulated_vm();
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_VCPU, .flags = KVM_CREATE_DEVICE_TEST};
	CHECK_RET(b, dvm_create_device(vm, &cd), -ENODEV);
	cd.type = DVM_DEV_TYPE_SERIAL_8250;
	CHECK_RET(b, dvm_create_device(vm, &cd), 0);
	dvm_vm_put(vm);
}

static void print_counts(void)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		printf("conformance: %-12s %3u checks%s%s\n", backends[i].name, backends[i].checks,
		       backends[i].skip_reason ? ", skipped: " : "",
		       backends[i].skip_reason ? backends[i].skip_reason : "");
	printf("conformance: %-12s %3u checks\n", dvm_only.name, dvm_only.checks);
}

#define SHARED_TESTS(b)                                                                            \
	{                                                                                          \
		cmocka_unit_test_prestate(bad_types_are_enodev, b),                                \
		    cmocka_unit_test_prestate(test_flag_creates_nothing, b),                       \
		    cmocka_unit_test_prestate(create_returns_zero_and_fills_fd, b),                \
		    cmocka_unit_test_prestate(unknown_create_flags_ignored, b),                    \
		    cmocka_unit_test_prestate(has_attr_rows, b),                                   \
		    cmocka_unit_test_prestate(set_unknown_is_enxio, b),                            \
		    cmocka_unit_test_prestate(missing_op_is_eperm_before_efault, b),               \
		    cmocka_unit_test_prestate(bad_struct_pointer_is_efault, b),                    \
		    cmocka_unit_test_prestate(unknown_ioctl_is_enotty, b),                         \
		    cmocka_unit_test_prestate(other_process_gets_eio, b),                          \
		    cmocka_unit_test_prestate(released_device_can_be_created_again, b),            \
		    cmocka_unit_test_prestate(closed_handle_is_ebadf, b),                          \
		    cmocka_unit_test_prestate(handle_keeps_vm_alive, b),                           \
	}

int main(void)
{
	int failed = 0;
	const struct CMUnitTest kernel[] = SHARED_TESTS(&backends[0]);
	const struct CMUnitTest dvm_kernel[] = SHARED_TESTS(&backends[1]);
	const struct CMUnitTest dvm_emulated[] = SHARED_TESTS(&backends[2]);
	const struct CMUnitTest dvm_only_tests[] = {
	    cmocka_unit_test(destroy_only_singleton_stays),
	    cmocka_unit_test(teardown_destroys_remaining),
	    cmocka_unit_test(create_failure_leaves_nothing),
	    cmocka_unit_test(handle_to_device),
	    cmocka_unit_test(schema_rows),
	    cmocka_unit_test(registry_rows),
	};

	failed += _cmocka_run_group_tests("conformance/kernel", kernel,
					  sizeof(kernel) / sizeof(kernel[0]), NULL, NULL);
	failed += _cmocka_run_group_tests("conformance/dvm-kernel", dvm_kernel,
					  sizeof(dvm_kernel) / sizeof(dvm_kernel[0]), NULL, NULL);
	failed +=
	    _cmocka_run_group_tests("conformance/dvm-emulated", dvm_emulated,
				    sizeof(dvm_emulated) / sizeof(dvm_emulated[0]), NULL, NULL);
	failed += cmocka_run_group_tests_name("conformance/dvm-only", dvm_only_tests, NULL, NULL);
	print_counts();
	if (backends[0].checks != backends[1].checks || backends[1].checks != backends[2].checks)
		printf("conformance: note: back ends ran different numbers of checks\n");
	return failed ? 1 : 0;
}
