/* SPDX-License-Identifier: MIT */
/*
 * Cost of one in-process KVM_{GET,SET,HAS}_DEVICE_ATTR on an emulated device
 * through dvm's API, beside the kernel's KVM_HAS_DEVICE_ATTR on a
 * KVM_DEV_TYPE_VFIO device (a raw ioctl on a device fd).
 *
 * dvm side: a VM without KVM (DVM_VM_NO_KVM, 16 MiB), the builtin device
 * types, one serial-8250.  The attribute is not hard-coded: the first
 * readable and writable CONFIG row of the type's schema (ops->attrs) that
 * is a plain integer and not write-once.  SET writes back the value GET
 * read, so every call succeeds and the device state never changes.
 *
 * Each figure is the median over BATCHES batches of ITERS calls, in ns per
 * call (CLOCK_MONOTONIC).  Every call's return value is checked, so a
 * failing call cannot pass for a fast one.
 *
 * Usage: bench_attr [ITERS [BATCHES]]   (defaults 1000000, 9)
 * Prints key=value lines; "n/a" where a side could not be measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "dvm/device.h"
#include "dvm/vm.h"

#define MAX_BATCHES 64

/* Older uapi headers call the group by its first name. */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE KVM_DEV_VFIO_GROUP
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ns per dvm_device_ioctl(cmd); negative when a call failed. */
static double time_dvm(struct dvm_vm *vm, int handle, unsigned long cmd,
		       struct kvm_device_attr *attr, long iters, int batches)
{
	double per[MAX_BATCHES];
	for (int b = 0; b < batches; b++) {
		long bad = 0;
		uint64_t t0 = now_ns();
		for (long i = 0; i < iters; i++)
			bad |= dvm_device_ioctl(vm, handle, cmd, attr);
		uint64_t t = now_ns() - t0;
		if (bad) {
			fprintf(stderr, "bench_attr: dvm_device_ioctl(%#lx) failed: %s\n", cmd,
				strerror((int)-dvm_device_ioctl(vm, handle, cmd, attr)));
			return -1;
		}
		per[b] = (double)t / (double)iters;
	}
	return median(per, batches);
}

/* ns per ioctl(fd, cmd) on a kernel device fd; negative when a call failed. */
static double time_kernel(int fd, unsigned long cmd, struct kvm_device_attr *attr, long iters,
			  int batches)
{
	double per[MAX_BATCHES];
	for (int b = 0; b < batches; b++) {
		int bad = 0;
		uint64_t t0 = now_ns();
		for (long i = 0; i < iters; i++)
			bad |= ioctl(fd, cmd, attr) != 0;
		uint64_t t = now_ns() - t0;
		if (bad) {
			fprintf(stderr, "bench_attr: kernel ioctl(%#lx) failed: %s\n", cmd,
				strerror(errno));
			return -1;
		}
		per[b] = (double)t / (double)iters;
	}
	return median(per, batches);
}

static void print_ns(const char *key, double ns)
{
	if (ns < 0)
		printf("%s=n/a\n", key);
	else
		printf("%s=%.1f\n", key, ns);
}

static const struct dvm_attr_desc *pick_attr(const struct dvm_device_ops *ops)
{
	for (size_t i = 0; i < ops->nr_attrs; i++) {
		const struct dvm_attr_desc *d = &ops->attrs[i];
		if (d->kind == DVM_ATTR_CONFIG && (d->access & DVM_ATTR_RW) == DVM_ATTR_RW &&
		    !(d->access & DVM_ATTR_ONCE) && d->format == DVM_FMT_UINT && d->size <= 8)
			return d;
	}
	return NULL;
}

/* The in-process side.  Returns 0, or -1 when it could not run. */
static int bench_dvm(long iters, int batches)
{
	struct dvm_vm_config cfg = {.mem_size = 16 << 20, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	int rc = dvm_vm_create(&cfg, &vm);
	if (rc < 0) {
		fprintf(stderr, "bench_attr: dvm_vm_create: %s\n", strerror(-rc));
		return -1;
	}
	dvm_register_builtin_devices();
	const struct dvm_device_ops *ops = dvm_device_ops_by_type(DVM_DEV_TYPE_SERIAL_8250);
	const struct dvm_attr_desc *d = ops ? pick_attr(ops) : NULL;
	if (!d) {
		fprintf(stderr, "bench_attr: serial-8250 %s\n",
			ops ? "has no read-write integer CONFIG attribute" : "is not registered");
		dvm_vm_put(vm);
		return -1;
	}
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_SERIAL_8250};
	rc = dvm_create_device(vm, &cd);
	if (rc < 0) {
		fprintf(stderr, "bench_attr: create serial-8250: %s\n", strerror(-rc));
		dvm_vm_put(vm);
		return -1;
	}
	uint64_t val = 0;
	struct kvm_device_attr attr = {
	    .group = d->group,
	    .attr = d->attr,
	    .addr = (uintptr_t)&val,
	};
	/* The value SET writes back is the one GET read. */
	rc = (int)dvm_device_ioctl(vm, cd.fd, KVM_GET_DEVICE_ATTR, &attr);
	if (rc < 0) {
		fprintf(stderr, "bench_attr: get %s: %s\n", d->name, strerror(-rc));
		dvm_vm_put(vm);
		return -1;
	}
	printf("dvm_attr=serial-8250/%s group=%" PRIu32 " attr=%" PRIu64 " size=%" PRIu32
	       " value=%#" PRIx64 "\n",
	       d->name, d->group, d->attr, d->size, val);
	/* Warm up: caches, branch predictors, CPU frequency. */
	time_dvm(vm, cd.fd, KVM_GET_DEVICE_ATTR, &attr, iters, 1);
	print_ns("dvm_get_ns", time_dvm(vm, cd.fd, KVM_GET_DEVICE_ATTR, &attr, iters, batches));
	print_ns("dvm_set_ns", time_dvm(vm, cd.fd, KVM_SET_DEVICE_ATTR, &attr, iters, batches));
	print_ns("dvm_has_ns", time_dvm(vm, cd.fd, KVM_HAS_DEVICE_ATTR, &attr, iters, batches));
	dvm_device_close(vm, cd.fd);
	dvm_vm_put(vm);
	return 0;
}

/* dvm forwarding HAS to the kernel's VFIO device (a VM with KVM). */
static void bench_dvm_passthrough(long iters, int batches)
{
	struct dvm_vm_config cfg = {.mem_size = 16 << 20};
	struct dvm_vm *vm;
	double ns = -1;
	if (dvm_vm_create(&cfg, &vm) < 0) {
		print_ns("dvm_vfio_has_ns", ns);
		return;
	}
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_KVM_VFIO};
	if (dvm_create_device(vm, &cd) == 0) {
		struct kvm_device_attr attr = {.group = KVM_DEV_VFIO_FILE, .attr = 1};
		ns = time_dvm(vm, cd.fd, KVM_HAS_DEVICE_ATTR, &attr, iters, batches);
		dvm_device_close(vm, cd.fd);
	}
	dvm_vm_put(vm);
	print_ns("dvm_vfio_has_ns", ns);
}

/* The kernel's side: raw ioctls, no dvm code. */
static void bench_kernel(long iters, int batches)
{
	double has = -1;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
	struct kvm_create_device cd = {.type = KVM_DEV_TYPE_VFIO};
	if (vm < 0) {
		fprintf(stderr, "bench_attr: no KVM VM (%s): kernel side skipped\n",
			strerror(errno));
	} else if (ioctl(vm, KVM_CREATE_DEVICE, &cd) < 0) {
		fprintf(stderr, "bench_attr: KVM_CREATE_DEVICE(VFIO): %s: kernel side skipped\n",
			strerror(errno));
	} else {
		struct kvm_device_attr attr = {.group = KVM_DEV_VFIO_FILE, .attr = 1};
		time_kernel(cd.fd, KVM_HAS_DEVICE_ATTR, &attr, iters / 4 + 1, 1);
		has = time_kernel(cd.fd, KVM_HAS_DEVICE_ATTR, &attr, iters, batches);
		close(cd.fd);
	}
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	print_ns("kernel_has_ns", has);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 0) : 1000000;
	int batches = argc > 2 ? atoi(argv[2]) : 9;
	if (iters < 1 || batches < 1 || batches > MAX_BATCHES) {
		fprintf(stderr, "usage: bench_attr [ITERS [BATCHES<=%d]]\n", MAX_BATCHES);
		return 2;
	}
	printf("iters=%ld batches=%d\n", iters, batches);
	if (bench_dvm(iters, batches) < 0) {
		print_ns("dvm_get_ns", -1);
		print_ns("dvm_set_ns", -1);
		print_ns("dvm_has_ns", -1);
	}
	bench_dvm_passthrough(iters, batches);
	bench_kernel(iters, batches);
	return 0;
}
