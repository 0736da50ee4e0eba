// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over the attribute API of the KVM-backed types (vcpu,
 * pic, ioapic, pit, kvm-vfio) on a real KVM VM.  The vCPUs never run.
 *
 * Each input is a small program: creates of the five types in any order
 * (irqchip-after-vCPU EBUSY, second-singleton EEXIST, kvm-vfio's one-open
 * EBUSY; at most 12 creates, so KVM's vCPU limit is not reached), handle
 * closes, and SET/GET/HAS with fuzzed group, attr (MSR indices from KVM's
 * list or anywhere), flags, value bytes and pointers.  The value sits at the
 * very end of a 64 KiB buffer, sized by the schema row: in a heap buffer
 * ASan catches dvm touching more than `size` bytes; before a PROT_NONE page
 * the kernel's copy_{from,to}_user fails instead, so an EFAULT there means
 * the schema's size is smaller than what KVM copies.
 *
 * Oracles, besides the sanitizers: every answer is 0 or one of the kernel's
 * errnos (plus ENOENT, kvm-vfio's own for FILE_DEL); HAS answers 0 only for
 * schema rows (vcpu: MSRs in KVM's list, LAPIC with the irqchip, XCRS/XSAVE
 * with the capability); SET/GET outside the schema answer ENXIO (kvm-vfio
 * GET: EPERM, the kernel has no get_attr); a bad addr never answers 0 and,
 * for a permitted row of a dvm-checked type, answers EFAULT; a GET of an
 * attribute HAS reports answers 0 (MSRs excepted); a state GET returned can
 * be SET again, as a restore would; creates answer what KVM's rules say.
 *
 * One VM per input: an input's create order is its point, singletons
 * cannot be removed and vCPUs cannot be destroyed, so a reused VM would make
 * every input after the first a different program and no crash input
 * would replay alone.  Creating a VM is cheap (~1 ms with a vCPU) but the
 * kernel's destruction of a VM with an irqchip takes ~16 ms here (RCU grace
 * periods: waiting, not work).  So dvm_vm_shutdown runs in the input, as
 * usual, while a dup of the VM fd keeps the kernel's VM alive; reaper
 * threads close the dups, overlapping the kernel's teardowns (~3x the
 * exec/s).  All of dvm's own work and memory stays within the input.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dvm/device.h"
#include "dvm/devices/kvm_irqchip.h"
#include "dvm/devices/vcpu.h"
#include "dvm/vm.h"

#include "fuzz_input.h"

#define VALBUF_SIZE (64 * 1024)
#define MAX_HANDLES 16
#define MAX_CREATES 12
#define MAX_STEPS 128
#define MAX_MSRS 1024
#define NR_REAPERS 8
#define REAP_QUEUE 16

static const uint32_t kvm_types[] = {DVM_DEV_TYPE_VCPU, DVM_DEV_TYPE_PIC, DVM_DEV_TYPE_IOAPIC,
				     DVM_DEV_TYPE_PIT, DVM_DEV_TYPE_KVM_VFIO};
#define NR_KVM_TYPES (sizeof(kvm_types) / sizeof(kvm_types[0]))

static bool skip;
static uint8_t *heapbuf;  /* ASan-checked */
static uint8_t *guardbuf; /* followed by a PROT_NONE page */
static uint32_t msrs[MAX_MSRS];
static uint32_t nr_msrs;
static bool cap_xcrs, cap_xsave;

/* MSR indices worth trying besides KVM's list. */
static const uint64_t odd_msrs[] = {0x0,	0x10,	    0x1b,	0x3a,	    0x174,
				    0x6e0,	0x800,	    0x802,	0x830,	    0x8ff,
				    0x4b564d00, 0x40000000, 0xc0000080, 0xc0000100, 0xc0010000,
				    0xffffffff, 1ull << 32, ~0ull};

/* ---- reapers: the kernel's VM teardown, overlapped ---- */

static pthread_mutex_t reap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reap_cond = PTHREAD_COND_INITIALIZER;
static int reap_queue[REAP_QUEUE];
static unsigned reap_nr;

static void *reaper(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&reap_lock);
		while (!reap_nr)
			pthread_cond_wait(&reap_cond, &reap_lock);
		int fd = reap_queue[--reap_nr];
		pthread_cond_broadcast(&reap_cond);
		pthread_mutex_unlock(&reap_lock);
		close(fd); /* the last reference: KVM destroys the VM here */
	}
	return NULL;
}

/* dvm tears its VM down now; the kernel's VM, held by a dup of its fd, goes
 * on a reaper thread. */
static void shutdown_vm(struct dvm_vm *vm)
{
	int fd = fcntl(dvm_vm_fd(vm), F_DUPFD_CLOEXEC, 0);

	dvm_vm_shutdown(vm);
	if (fd < 0)
		return;
	pthread_mutex_lock(&reap_lock);
	while (reap_nr == REAP_QUEUE)
		pthread_cond_wait(&reap_cond, &reap_lock);
	reap_queue[reap_nr++] = fd;
	pthread_cond_broadcast(&reap_cond);
	pthread_mutex_unlock(&reap_lock);
}

/* ---- setup ---- */

static void load_host_facts(int kvm)
{
	/* struct kvm_msr_list ends in a flexible array: room after it. */
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + MAX_MSRS * sizeof(uint32_t));
	int vm;

	if (!list)
		abort();
	list->nmsrs = MAX_MSRS;
	if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list) == 0)
		nr_msrs = list->nmsrs;
	memcpy(msrs, list->indices, nr_msrs * sizeof(uint32_t));
	free(list);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		cap_xcrs = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
		cap_xsave = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
		close(vm);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	long page = sysconf(_SC_PAGESIZE);
	int kvm;

	(void)argc;
	(void)argv;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("SKIP: fuzz_kvm_attr: cannot open /dev/kvm: %s\n", strerror(errno));
		skip = true;
		return 0;
	}
	load_host_facts(kvm);
	close(kvm);
	dvm_register_builtin_devices();
	for (size_t i = 0; i < NR_KVM_TYPES; i++)
		if (!dvm_device_ops_by_type(kvm_types[i]))
			abort();
	heapbuf = malloc(VALBUF_SIZE);
	guardbuf = mmap(NULL, VALBUF_SIZE + page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!heapbuf || guardbuf == MAP_FAILED || mprotect(guardbuf + VALBUF_SIZE, page, PROT_NONE))
		abort();
	for (int i = 0; i < NR_REAPERS; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, reaper, NULL) || pthread_detach(t))
			abort();
	}
	return 0;
}

/* ---- oracles ---- */

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_kvm_attr: " __VA_ARGS__);                                    \
		abort();                                                                           \
	} while (0)

static bool errno_ok(long ret)
{
	switch (ret) {
	case 0:
	case -EPERM:
	case -EFAULT:
	case -ENXIO:
	case -EBUSY:
	case -EEXIST:
	case -EINVAL:
	case -E2BIG:
	case -ENOMEM:
	case -ENODEV:
	case -ENOTTY:
	case -EBADF:
	case -ENOSPC:
	case -EIO:
		return true;
	}
	return false;
}

static void check_errno(const char *what, long ret)
{
	if (!errno_ok(ret))
		FAIL("%s: unexpected return %ld\n", what, ret);
}

static bool known_msr(uint64_t index)
{
	for (uint32_t i = 0; i < nr_msrs; i++)
		if (msrs[i] == index)
			return true;
	return false;
}

/* What a VM built by this input has, to predict answers. */
struct model {
	struct dvm_vm *vm;
	int handles[MAX_HANDLES];
	const struct dvm_device_ops *hops[MAX_HANDLES];
	int nr;
	unsigned creates;
	unsigned of_type[NR_KVM_TYPES];
	bool irqchip;
};

static unsigned type_slot(uint32_t type)
{
	for (unsigned i = 0; i < NR_KVM_TYPES; i++)
		if (kvm_types[i] == type)
			return i;
	abort();
}

/* HAS as the schema and the host say it should be. */
static bool expect_has(const struct model *m, const struct dvm_device_ops *ops,
		       const struct kvm_device_attr *a)
{
	if (!dvm_attr_lookup(ops, a->group, a->attr))
		return false;
	if (ops->type != DVM_DEV_TYPE_VCPU)
		return true;
	switch (a->group) {
	case DVM_VCPU_GRP_MSRS:
		/* dvm hides MSR_KVM_ASYNC_PF_INT without an irqchip: KVM refuses
		 * to restore it there. */
		if (a->attr == 0x4b564d06 && !m->irqchip)
			return false;
		return known_msr(a->attr);
	case DVM_VCPU_GRP_LAPIC:
		return m->irqchip;
	case DVM_VCPU_GRP_XCRS:
		return cap_xcrs;
	case DVM_VCPU_GRP_XSAVE:
		return cap_xsave;
	}
	return true;
}

static const char *cmd_name(unsigned long cmd)
{
	return cmd == KVM_SET_DEVICE_ATTR ? "SET" : cmd == KVM_GET_DEVICE_ATTR ? "GET" : "HAS";
}

static long call(struct model *m, int handle, unsigned long cmd, struct kvm_device_attr *a)
{
	long ret = dvm_device_ioctl(m->vm, handle, cmd, a);
	struct dvm_device *dev = dvm_device_from_handle(m->vm, handle);

	/* The kernel's kvm-vfio answers ENOENT to FILE_DEL of a file never added;
	 * forwarded answers are the kernel's own. */
	if (ret == -ENOENT && dev && (dev->ops->flags & DVM_OPS_PASSTHROUGH) &&
	    cmd == KVM_SET_DEVICE_ATTR)
		return ret;
	if (!errno_ok(ret) && (uintptr_t)a >= 4096 && (uintptr_t)a < 0x0000800000000000ull)
		FAIL("%s %s %u/0x%llx flags 0x%x addr 0x%llx: unexpected return %ld\n",
		     dev ? dev->ops->name : "-", cmd_name(cmd), a->group,
		     (unsigned long long)a->attr, a->flags, (unsigned long long)a->addr, ret);
	check_errno("attr ioctl", ret);
	return ret;
}

/* ---- steps ---- */

static void pick_attr(struct input *in, const struct dvm_device_ops *ops, struct kvm_device_attr *a)
{
	uint8_t how = take8(in);

	if ((how & 3) == 0) {
		a->group = (uint32_t)take(in, (how & 4) ? 4 : 1);
		a->attr = take(in, (how & 8) ? 8 : 1);
	} else if (ops->type == DVM_DEV_TYPE_VCPU && (how & 3) == 1) {
		a->group = DVM_VCPU_GRP_MSRS;
		if ((how & 4) && nr_msrs)
			a->attr = msrs[take8(in) % nr_msrs];
		else if (how & 8)
			a->attr = odd_msrs[take8(in) % (sizeof(odd_msrs) / sizeof(odd_msrs[0]))];
		else
			a->attr = take(in, 4);
	} else {
		/* A schema row, sometimes one attr past its end. */
		const struct dvm_attr_desc *row = &ops->attrs[take8(in) % ops->nr_attrs];
		uint64_t count = row->count ? row->count : 1;
		a->group = row->group;
		a->attr = row->attr + take(in, 1) % (count + ((how & 4) ? 1 : 0));
	}
	a->flags = (how & 0x10) ? (uint32_t)take(in, 4) : 0;
}

/* The value at the end of the heap or guard buffer: `size` bytes there. */
static uint8_t *value_ptr(bool guard, size_t size)
{
	return (guard ? guardbuf : heapbuf) + VALBUF_SIZE - size;
}

static void attr_step(struct model *m, struct input *in, unsigned slot, uint8_t op)
{
	static const unsigned long cmds[] = {KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR,
					     KVM_HAS_DEVICE_ATTR};
	const struct dvm_device_ops *ops = m->hops[slot];
	int h = m->handles[slot];
	unsigned long cmd = cmds[op % 3];
	struct kvm_device_attr a = {0};
	const struct dvm_attr_desc *d;
	uint8_t how = take8(in);
	bool guard = how & 1, bad = false;
	size_t size;
	uint8_t *val;
	long ret;

	pick_attr(in, ops, &a);
	d = dvm_attr_lookup(ops, a.group, a.attr);
	/* Absent rows get a zero-sized value: any access at all is past the end. */
	size = d ? d->size : take8(in) % 16;
	val = value_ptr(guard, size);
	if ((how & 6) == 6)
		memset(val, 0xff, size);
	else
		memset(val, 0, size);
	for (size_t i = 0; i < size && in->left && !(how & 8); i++)
		val[i] = take8(in);
	a.addr = (uintptr_t)val;
	if ((how & 0x30) == 0x30) {
		static const uint64_t bad_ptrs[] = {
		    0, 8, 4095, 0x0000800000000000ull, 0xffff800000000000ull, ~0ull};
		a.addr = bad_ptrs[take8(in) % (sizeof(bad_ptrs) / sizeof(bad_ptrs[0]))];
		bad = true;
	}

	ret = call(m, h, cmd, &a);
	if (cmd == KVM_HAS_DEVICE_ATTR) {
		bool want = expect_has(m, ops, &a);
		if (ret == 0 && !d)
			FAIL("%s HAS %u/0x%llx = 0, not in the schema\n", ops->name, a.group,
			     (unsigned long long)a.attr);
		if ((ret == 0) != want && !(ops->flags & DVM_OPS_PASSTHROUGH))
			FAIL("%s HAS %u/0x%llx = %ld, expected %s\n", ops->name, a.group,
			     (unsigned long long)a.attr, ret, want ? "0" : "-ENXIO");
		return;
	}
	if (!d) {
		/* The kernel's kvm-vfio has no get_attr: EPERM before anything. */
		bool vfio_get = (ops->flags & DVM_OPS_PASSTHROUGH) && cmd == KVM_GET_DEVICE_ATTR;
		if (ret != -ENXIO && !(vfio_get && ret == -EPERM))
			FAIL("%s %s %u/0x%llx not in the schema answered %ld\n", ops->name,
			     cmd_name(cmd), a.group, (unsigned long long)a.attr, ret);
		return;
	}
	bool permitted = d->access & (cmd == KVM_SET_DEVICE_ATTR ? DVM_ATTR_W : DVM_ATTR_R);
	if (bad) {
		if (ret == 0)
			FAIL("%s %s %s with addr 0x%llx answered 0\n", ops->name, cmd_name(cmd),
			     d->name, (unsigned long long)a.addr);
		/* What the type narrows out of its schema answers ENXIO first. */
		bool narrowed = ops->has_attr && !expect_has(m, ops, &a);
		if (permitted && !(ops->flags & DVM_OPS_PASSTHROUGH) &&
		    ret != (narrowed ? -ENXIO : -EFAULT))
			FAIL("%s %s %s with addr 0x%llx answered %ld, not -EFAULT (or ENXIO)\n",
			     ops->name, cmd_name(cmd), d->name, (unsigned long long)a.addr, ret);
		return;
	}
	if (ret == -EFAULT && guard)
		FAIL("%s %s %s: EFAULT with %u good bytes before a guard page: the kernel "
		     "copies more than the schema size\n",
		     ops->name, cmd_name(cmd), d->name, d->size);
	if (cmd == KVM_GET_DEVICE_ATTR && permitted && ret != 0 && a.group != DVM_VCPU_GRP_MSRS) {
		struct kvm_device_attr has = a;
		if (call(m, h, KVM_HAS_DEVICE_ATTR, &has) == 0)
			FAIL("%s GET %s answered %ld though HAS answers 0\n", ops->name, d->name,
			     ret);
	}
	/* A state read back must be accepted again, as a restore would.  Not
	 * MSRs without the irqchip: KVM lists MSR_KVM_ASYNC_PF_INT (0x4b564d06)
	 * but refuses any write of it without an in-kernel LAPIC. */
	bool msr = ops->type == DVM_DEV_TYPE_VCPU && a.group == DVM_VCPU_GRP_MSRS;
	if (cmd == KVM_GET_DEVICE_ATTR && ret == 0 && (d->access & DVM_ATTR_W) &&
	    !(msr && !m->irqchip)) {
		ret = call(m, h, KVM_SET_DEVICE_ATTR, &a);
		if (ret)
			FAIL("%s SET %s %u/0x%llx of the bytes GET returned answered %ld\n",
			     ops->name, d->name, a.group, (unsigned long long)a.attr, ret);
	}
}

static void create_step(struct model *m, struct input *in, uint8_t op)
{
	struct kvm_create_device cd = {0};
	unsigned t = take8(in) % NR_KVM_TYPES;
	long want = 0, ret;

	cd.type = kvm_types[t];
	cd.flags = (op & 0x80) ? KVM_CREATE_DEVICE_TEST : 0;
	if (!cd.flags && m->creates >= MAX_CREATES)
		return;
	if (cd.flags)
		want = 0;
	else if (cd.type == DVM_DEV_TYPE_VCPU)
		want = 0;
	else if (cd.type == DVM_DEV_TYPE_KVM_VFIO)
		want = m->of_type[t] ? -EBUSY : 0; /* the kernel's: one open per VM */
	else if (m->of_type[t])
		want = -EEXIST;
	else if (!m->irqchip && m->of_type[type_slot(DVM_DEV_TYPE_VCPU)])
		want = -EBUSY; /* KVM_CREATE_IRQCHIP after KVM_CREATE_VCPU */
	ret = dvm_create_device(m->vm, &cd);
	check_errno("create", ret);
	if (ret != want)
		FAIL("create %s%s answered %ld, expected %ld\n",
		     dvm_device_ops_by_type(cd.type)->name, cd.flags ? " (TEST)" : "", ret, want);
	if (ret || cd.flags)
		return;
	m->creates++;
	m->of_type[t]++;
	if (cd.type != DVM_DEV_TYPE_VCPU && cd.type != DVM_DEV_TYPE_KVM_VFIO)
		m->irqchip = true;
	if (m->nr < MAX_HANDLES) {
		m->handles[m->nr] = (int)cd.fd;
		m->hops[m->nr++] = dvm_device_ops_by_type(cd.type);
	}
}

static void close_step(struct model *m, struct input *in)
{
	unsigned slot;

	if (!m->nr)
		return;
	slot = take8(in) % (unsigned)m->nr;
	if (dvm_device_close(m->vm, m->handles[slot]))
		FAIL("close of an open handle failed\n");
	/* kvm-vfio goes with its handle; the others stay until teardown. */
	if (m->hops[slot]->type == DVM_DEV_TYPE_KVM_VFIO)
		m->of_type[type_slot(DVM_DEV_TYPE_KVM_VFIO)]--;
	m->handles[slot] = m->handles[--m->nr];
	m->hops[slot] = m->hops[m->nr];
}

/* Bad handles, bad struct pointers, device ioctls. */
static void misc_step(struct model *m, struct input *in)
{
	static const unsigned long cmds[] = {KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR,
					     KVM_HAS_DEVICE_ATTR};
	uint8_t how = take8(in);
	struct kvm_device_attr a = {.group = 1, .addr = (uintptr_t)heapbuf};
	unsigned long cmd = cmds[how % 3];
	unsigned slot;
	long ret;

	switch ((how >> 2) & 3) {
	case 0: /* a handle nobody holds */
		ret = call(m, (how & 0x10) ? -1 : 4095, cmd, &a);
		if (ret != -EBADF)
			FAIL("unused handle answered %ld\n", ret);
		break;
	case 1: /* the struct itself unreadable */
		if (!m->nr)
			break;
		slot = take8(in) % (unsigned)m->nr;
		ret = call(m, m->handles[slot], cmd,
			   (how & 0x10) ? NULL : (void *)(uintptr_t)0xffff800000001000ull);
		/* The kernel's kvm-vfio has no get_attr: EPERM before the copy. */
		if (ret != -EFAULT && !(ret == -EPERM && cmd == KVM_GET_DEVICE_ATTR &&
					(m->hops[slot]->flags & DVM_OPS_PASSTHROUGH)))
			FAIL("%s %s: unreadable kvm_device_attr answered %ld\n",
			     m->hops[slot]->name, cmd_name(cmd), ret);
		break;
	default: /* some other ioctl on a handle */
		if (!m->nr)
			break;
		ret = dvm_device_ioctl(m->vm, m->handles[take8(in) % (unsigned)m->nr],
				       _IO(KVMIO, 0xe0 + (how >> 5)), heapbuf);
		check_errno("device ioctl", ret);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dvm_vm_config cfg = {.mem_size = 2 << 20};
	struct input in = {data, size};
	struct model m = {0};
	int ret;

	if (skip)
		return 0;
	ret = dvm_vm_create(&cfg, &m.vm);
	if (ret)
		FAIL("dvm_vm_create: %d\n", ret);
	for (unsigned steps = 0; in.left && steps < MAX_STEPS; steps++) {
		uint8_t op = take8(&in);

		switch (op & 7) {
		case 0:
		case 1:
		case 2:
		case 3:
			if (m.nr)
				attr_step(&m, &in, take8(&in) % (unsigned)m.nr, op >> 3);
			else
				create_step(&m, &in, op);
			break;
		case 4:
		case 5:
			create_step(&m, &in, op);
			break;
		case 6:
			close_step(&m, &in);
			break;
		case 7:
			misc_step(&m, &in);
			break;
		}
	}
	/* Handles left open are closed by the shutdown. */
	shutdown_vm(m.vm);
	return 0;
}
