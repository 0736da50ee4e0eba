/* SPDX-License-Identifier: MIT */
/*
 * `vcpu`: one KVM vCPU as a device.  Its state groups are what KVM's vCPU
 * ioctls carry (KVM_GET_LAPIC becomes the LAPIC group); its `start` op runs
 * the vCPU on a thread of its own and dispatches I/O exits to the buses.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dvm/cpuid.h"
#include "dvm/device.h"
#include "dvm/devices/vcpu.h"
#include "dvm/runner.h"
#include "dvm/vm.h"

struct vcpu {
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint32_t id;
	struct dvm_cpuid cpuid;
	struct dvm_cpuid supported; /* what the host offers: the limit for "features" */
	uint32_t topology_cpus;	    /* 0: every vCPU of the VM, counted at start */
	bool cpuid_explicit;	    /* the "cpuid" table was written whole: leave it be */
	uint32_t *msr_list;
	uint32_t nr_msrs;
};

#define MSR_KVM_ASYNC_PF_INT 0x4b564d06u

#define STATE_RW (DVM_ATTR_RW | DVM_ATTR_WHILE_PAUSED)

static const struct dvm_attr_desc vcpu_attrs[] = {
    {.group = DVM_VCPU_GRP_CONFIG,
     .attr = DVM_VCPU_CONFIG_ID,
     .name = "id",
     .size = 4,
     .kind = DVM_ATTR_CONFIG,
     .access = DVM_ATTR_R,
     .format = DVM_FMT_UINT,
     .help = "vCPU index (KVM vcpu id, also the APIC ID); given in creation order"},
    {.group = DVM_VCPU_GRP_CONFIG,
     .attr = DVM_VCPU_CONFIG_CPUID,
     .name = "cpuid",
     .size = sizeof(struct dvm_cpuid),
     .kind = DVM_ATTR_CONFIG,
     .access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
     .format = DVM_FMT_BLOB,
     .help = "CPUID table (struct dvm_cpuid); defaults to KVM_GET_SUPPORTED_CPUID"},
    {.group = DVM_VCPU_GRP_CONFIG,
     .attr = DVM_VCPU_CONFIG_FEATURES,
     .name = "features",
     .size = DVM_VCPU_FEATURES_LEN,
     .kind = DVM_ATTR_CONFIG,
     .access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START | DVM_ATTR_DERIVED,
     .format = DVM_FMT_STRING,
     .help = "named CPUID features: write \"-x2apic,+tsc-deadline\" to edit (EOPNOTSUPP for "
	     "what the host lacks), read the enabled ones"},
    {.group = DVM_VCPU_GRP_CONFIG,
     .attr = DVM_VCPU_CONFIG_TOPOLOGY_CPUS,
     .name = "topology-cpus",
     .size = 4,
     .kind = DVM_ATTR_CONFIG,
     .access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START | DVM_ATTR_DERIVED,
     .format = DVM_FMT_UINT,
     .max = 1024,
     .help = "CPUs in the package that CPUID leaves 1, 4, 0xB and 0x1F describe; 0: all vCPUs"},
    {.group = DVM_VCPU_GRP_REGS,
     .name = "regs",
     .size = sizeof(struct kvm_regs),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "general registers, RIP, RFLAGS (struct kvm_regs)"},
    {.group = DVM_VCPU_GRP_SREGS,
     .name = "sregs",
     .size = sizeof(struct kvm_sregs),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "segments, control registers, EFER, APIC base (struct kvm_sregs)"},
    {.group = DVM_VCPU_GRP_FPU,
     .name = "fpu",
     .size = sizeof(struct kvm_fpu),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "x87/SSE state (struct kvm_fpu)"},
    {.group = DVM_VCPU_GRP_MSRS,
     .attr = 0,
     .count = 1ull << 32,
     .name = "msr",
     .size = 8,
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_UINT,
     .help = "model-specific register; attr = MSR index"},
    {.group = DVM_VCPU_GRP_LAPIC,
     .name = "lapic",
     .size = sizeof(struct kvm_lapic_state),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "local APIC registers (struct kvm_lapic_state, was KVM_GET/SET_LAPIC)"},
    {.group = DVM_VCPU_GRP_EVENTS,
     .name = "events",
     .size = sizeof(struct kvm_vcpu_events),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "pending exceptions, interrupts, NMI, SMI (struct kvm_vcpu_events)"},
    {.group = DVM_VCPU_GRP_MP_STATE,
     .name = "mp-state",
     .size = sizeof(struct kvm_mp_state),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_UINT,
     .help = "runnable / uninitialized (INIT) / halted (struct kvm_mp_state)"},
    {.group = DVM_VCPU_GRP_XCRS,
     .name = "xcrs",
     .size = sizeof(struct kvm_xcrs),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "extended control registers (struct kvm_xcrs), where KVM has them"},
    {.group = DVM_VCPU_GRP_XSAVE,
     .name = "xsave",
     .size = sizeof(struct kvm_xsave),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "XSAVE area (struct kvm_xsave), where KVM has it"},
    {.group = DVM_VCPU_GRP_CONTROL,
     .attr = DVM_VCPU_CONTROL_RESET,
     .name = "reset",
     .size = sizeof(struct dvm_vcpu_reset),
     .kind = DVM_ATTR_COMMAND,
     .access = DVM_ATTR_W | DVM_ATTR_WHILE_PAUSED,
     .format = DVM_FMT_BLOB,
     .help = "INIT the CPU, then wait for SIPI or enter real mode at an address "
	     "(struct dvm_vcpu_reset)"},
    {.group = DVM_VCPU_GRP_DEBUGREGS,
     .name = "debugregs",
     .size = sizeof(struct kvm_debugregs),
     .kind = DVM_ATTR_STATE,
     .access = STATE_RW,
     .format = DVM_FMT_BLOB,
     .help = "debug registers DR0-3, DR6, DR7 (struct kvm_debugregs)"},
};

static int vcpu_probe(struct dvm_vm *vm)
{
	return dvm_vm_has_kvm(vm) ? 0 : -ENODEV;
}

static int apply_cpuid(struct vcpu *v, const struct dvm_cpuid *c)
{
	size_t sz = sizeof(struct kvm_cpuid2) + c->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *k = calloc(1, sz);
	int ret = 0;

	if (!k)
		return -ENOMEM;
	k->nent = c->nent;
	memcpy(k->entries, c->entries, c->nent * sizeof(c->entries[0]));
	if (ioctl(v->fd, KVM_SET_CPUID2, k) < 0)
		ret = -errno;
	free(k);
	return ret;
}

static int load_msr_list(struct dvm_vm *vm, struct vcpu *v)
{
	struct kvm_msr_list probe = {.nmsrs = 0}, *list;

	if (ioctl(dvm_vm_kvm_fd(vm), KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(dvm_vm_kvm_fd(vm), KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return -errno;
	}
	v->nr_msrs = list->nmsrs;
	v->msr_list = malloc(list->nmsrs * sizeof(uint32_t) + 1);
	if (v->msr_list)
		memcpy(v->msr_list, list->indices, list->nmsrs * sizeof(uint32_t));
	free(list);
	return v->msr_list ? 0 : -ENOMEM;
}

static void vcpu_free(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v->msr_list);
	free(v);
}

static int vcpu_create(struct dvm_device *dev)
{
	struct dvm_vm *vm = dev->vm;
	struct vcpu *v;
	int ret, mmap_size;

	if (dvm_vm_started(vm))
		return -EBUSY;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->id = dev->instance;
	v->fd = ioctl(dvm_vm_fd(vm), KVM_CREATE_VCPU, (unsigned long)v->id);
	if (v->fd < 0) {
		ret = errno == EINVAL ? -ENOSPC : -errno; /* beyond KVM's vCPU limit */
		goto fail;
	}
	mmap_size = ioctl(dvm_vm_kvm_fd(vm), KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run)) {
		ret = -EINVAL;
		goto fail;
	}
	v->run_size = (size_t)mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = -errno;
		goto fail;
	}
	ret = dvm_cpuid_supported(vm, &v->supported);
	if (ret)
		goto fail;
	v->cpuid = v->supported;
	/* Until start counts the vCPUs, each one is a package of its own. */
	dvm_cpuid_set_topology(&v->cpuid, v->id, 1);
	ret = apply_cpuid(v, &v->cpuid);
	if (ret)
		goto fail;
	ret = load_msr_list(vm, v);
	if (ret)
		goto fail;
	dev->private = v;
	return 0;
fail:
	vcpu_free(v);
	return ret;
}

static void vcpu_destroy(struct dvm_device *dev)
{
	/* The VM has joined every runner thread before devices are destroyed. */
	vcpu_free(dev->private);
}

static bool has_msr(const struct vcpu *v, uint64_t index)
{
	for (uint32_t i = 0; i < v->nr_msrs; i++)
		if (v->msr_list[i] == index)
			return true;
	return false;
}

static int vcpu_has_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct vcpu *v = dev->private;

	if (!dvm_attr_lookup(dev->ops, attr->group, attr->attr))
		return -ENXIO;
	switch (attr->group) {
	case DVM_VCPU_GRP_MSRS:
		/* KVM lists MSR_KVM_ASYNC_PF_INT but refuses writes to it without an
		 * in-kernel LAPIC: it could be saved and never restored. */
		if (attr->attr == MSR_KVM_ASYNC_PF_INT && !dvm_irq_has_kernel_irqchip(dev->vm))
			return -ENXIO;
		return has_msr(v, attr->attr) ? 0 : -ENXIO;
	case DVM_VCPU_GRP_LAPIC:
		return dvm_irq_has_kernel_irqchip(dev->vm) ? 0 : -ENXIO;
	case DVM_VCPU_GRP_XCRS:
		return dvm_vm_check_extension(dev->vm, KVM_CAP_XCRS) ? 0 : -ENXIO;
	case DVM_VCPU_GRP_XSAVE:
		return dvm_vm_check_extension(dev->vm, KVM_CAP_XSAVE) ? 0 : -ENXIO;
	}
	return 0;
}

static int kvm_call(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

/* The core has asked vcpu_has_attr first: the index is one KVM lists.
 * `value` is the caller's memory, of any alignment. */
static int msr_access(struct vcpu *v, uint64_t index, void *value, bool write)
{
	/* struct kvm_msrs ends in a flexible array: room for one entry after it. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;
	struct kvm_msr_entry *entry = (struct kvm_msr_entry *)(m.bytes + sizeof(struct kvm_msrs));
	int n;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	entry->index = (uint32_t)index;
	if (write)
		memcpy(&entry->data, value, sizeof(entry->data));
	n = ioctl(v->fd, write ? KVM_SET_MSRS : KVM_GET_MSRS, &m);
	if (n < 0)
		return -errno;
	if (n != 1)
		return -EINVAL; /* KVM refused this value or register */
	if (!write)
		memcpy(value, &entry->data, sizeof(entry->data));
	return 0;
}

static int group_ioctl(const struct kvm_device_attr *attr, bool write, unsigned long *req)
{
	static const unsigned long get[] = {
	    [DVM_VCPU_GRP_REGS] = KVM_GET_REGS,
	    [DVM_VCPU_GRP_SREGS] = KVM_GET_SREGS,
	    [DVM_VCPU_GRP_FPU] = KVM_GET_FPU,
	    [DVM_VCPU_GRP_LAPIC] = KVM_GET_LAPIC,
	    [DVM_VCPU_GRP_EVENTS] = KVM_GET_VCPU_EVENTS,
	    [DVM_VCPU_GRP_MP_STATE] = KVM_GET_MP_STATE,
	    [DVM_VCPU_GRP_XCRS] = KVM_GET_XCRS,
	    [DVM_VCPU_GRP_XSAVE] = KVM_GET_XSAVE,
	    [DVM_VCPU_GRP_DEBUGREGS] = KVM_GET_DEBUGREGS,
	};
	static const unsigned long set[] = {
	    [DVM_VCPU_GRP_REGS] = KVM_SET_REGS,
	    [DVM_VCPU_GRP_SREGS] = KVM_SET_SREGS,
	    [DVM_VCPU_GRP_FPU] = KVM_SET_FPU,
	    [DVM_VCPU_GRP_LAPIC] = KVM_SET_LAPIC,
	    [DVM_VCPU_GRP_EVENTS] = KVM_SET_VCPU_EVENTS,
	    [DVM_VCPU_GRP_MP_STATE] = KVM_SET_MP_STATE,
	    [DVM_VCPU_GRP_XCRS] = KVM_SET_XCRS,
	    [DVM_VCPU_GRP_XSAVE] = KVM_SET_XSAVE,
	    [DVM_VCPU_GRP_DEBUGREGS] = KVM_SET_DEBUGREGS,
	};
	if (attr->group >= sizeof(get) / sizeof(get[0]) || !get[attr->group])
		return -ENXIO;
	*req = write ? set[attr->group] : get[attr->group];
	return 0;
}

/* Applies an edited copy of the table; the vCPU keeps the old one on failure. */
static int replace_cpuid(struct vcpu *v, const struct dvm_cpuid *c)
{
	int ret = apply_cpuid(v, c);
	if (ret == 0)
		v->cpuid = *c;
	return ret;
}

static int config_attr(struct vcpu *v, uint64_t which, void *addr, bool write)
{
	struct dvm_cpuid c;
	char spec[DVM_VCPU_FEATURES_LEN], err[160];
	uint32_t n;
	int ret;

	switch (which) {
	case DVM_VCPU_CONFIG_ID:
		memcpy(addr, &v->id, sizeof(v->id));
		return 0;
	case DVM_VCPU_CONFIG_CPUID:
		if (!write) {
			memcpy(addr, &v->cpuid, sizeof(v->cpuid));
			return 0;
		}
		memcpy(&c, addr, sizeof(c));
		if (c.nent == 0 || c.nent > DVM_CPUID_MAX_ENTRIES)
			return -EINVAL;
		v->cpuid_explicit = true;
		return replace_cpuid(v, &c);
	case DVM_VCPU_CONFIG_FEATURES:
		if (!write) {
			dvm_cpuid_describe(&v->cpuid, spec, sizeof(spec));
			memcpy(addr, spec, sizeof(spec));
			return 0;
		}
		memcpy(spec, addr, sizeof(spec));
		if (!memchr(spec, '\0', sizeof(spec)))
			return -EINVAL;
		c = v->cpuid;
		ret = dvm_cpuid_edit(&c, &v->supported, spec, err, sizeof(err));
		return ret ? ret : replace_cpuid(v, &c);
	case DVM_VCPU_CONFIG_TOPOLOGY_CPUS:
		if (!write) {
			memcpy(addr, &v->topology_cpus, sizeof(v->topology_cpus));
			return 0;
		}
		memcpy(&n, addr, sizeof(n));
		if (n == 0) { /* counted at start (a restore writes this after the table) */
			v->topology_cpus = 0;
			return 0;
		}
		c = v->cpuid;
		dvm_cpuid_set_topology(&c, v->id, n);
		ret = replace_cpuid(v, &c);
		if (ret == 0)
			v->topology_cpus = n;
		return ret;
	}
	return -ENXIO;
}

static void real_mode_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type)
{
	memset(seg, 0, sizeof(*seg));
	seg->selector = selector;
	seg->base = (uint64_t)selector << 4;
	seg->limit = 0xffff;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
}

/* The register state after INIT (SDM vol. 3, "IA-32 Processor States
 * Following Power-up, Reset, or INIT"), entered at `entry` in real mode. */
static int reset_vcpu(struct vcpu *v, const struct dvm_vcpu_reset *r)
{
	struct kvm_sregs s;
	struct kvm_regs regs = {.rflags = 0x2};
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	int ret;

	if (r->mode > DVM_VCPU_RESET_REAL_MODE ||
	    (r->mode == DVM_VCPU_RESET_REAL_MODE && r->entry >= 0x100000))
		return -EINVAL;
	ret = kvm_call(v->fd, KVM_GET_SREGS, &s);
	if (ret)
		return ret;
	uint16_t cs = r->mode == DVM_VCPU_RESET_REAL_MODE ? (uint16_t)(r->entry >> 4) : 0xf000;
	real_mode_segment(&s.cs, cs, 0xb);
	if (r->mode == DVM_VCPU_RESET_WAIT_SIPI)
		s.cs.base = 0xffff0000; /* the reset vector's alias; SIPI replaces it */
	real_mode_segment(&s.ds, 0, 3);
	s.es = s.fs = s.gs = s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.limit = 0xffff;
	s.tr.type = 0xb;
	s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.limit = 0xffff;
	s.ldt.type = 2;
	s.ldt.present = 1;
	s.gdt.base = s.idt.base = 0;
	s.gdt.limit = s.idt.limit = 0xffff;
	s.cr0 = 0x60000010; /* CD, NW, ET */
	s.cr2 = s.cr3 = s.cr4 = 0;
	s.efer = 0;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	ret = kvm_call(v->fd, KVM_SET_SREGS, &s);
	if (ret)
		return ret;
	regs.rip = r->mode == DVM_VCPU_RESET_REAL_MODE ? (r->entry & 0xf) : 0xfff0;
	ret = kvm_call(v->fd, KVM_SET_REGS, &regs);
	if (ret)
		return ret;
	/* Nothing pending survives INIT. */
	memset(&events, 0, sizeof(events));
	ret = kvm_call(v->fd, KVM_SET_VCPU_EVENTS, &events);
	if (ret)
		return ret;
	mp.mp_state = r->mode == DVM_VCPU_RESET_REAL_MODE ? KVM_MP_STATE_RUNNABLE
							  : KVM_MP_STATE_UNINITIALIZED;
	return kvm_call(v->fd, KVM_SET_MP_STATE, &mp);
}

static int vcpu_attr(struct dvm_device *dev, const struct kvm_device_attr *attr, bool write)
{
	struct vcpu *v = dev->private;
	void *addr = (void *)(uintptr_t)attr->addr;
	unsigned long req;
	int ret;

	if (attr->group == DVM_VCPU_GRP_CONFIG)
		return config_attr(v, attr->attr, addr, write);
	if (attr->group == DVM_VCPU_GRP_CONTROL) {
		struct dvm_vcpu_reset r;
		memcpy(&r, addr, sizeof(r));
		return reset_vcpu(v, &r);
	}
	if (attr->group == DVM_VCPU_GRP_MSRS)
		return msr_access(v, attr->attr, addr, write);
	ret = group_ioctl(attr, write, &req);
	if (ret)
		return ret;
	return kvm_call(v->fd, req, addr);
}

static int vcpu_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return vcpu_attr(dev, attr, true);
}

static int vcpu_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	return vcpu_attr(dev, attr, false);
}

/* ---- running ---- */

static void dump_registers(const struct vcpu *v, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	fprintf(stderr, "dvm: vCPU %u: %s\n", v->id, why);
	if (ioctl(v->fd, KVM_GET_REGS, &r) == 0) {
		fprintf(stderr,
			"  rip %016llx rflags %016llx rsp %016llx rbp %016llx\n"
			"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
			"  rsi %016llx rdi %016llx r8  %016llx r9  %016llx\n"
			"  r10 %016llx r11 %016llx r12 %016llx r13 %016llx\n"
			"  r14 %016llx r15 %016llx\n",
			r.rip, r.rflags, r.rsp, r.rbp, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
			r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15);
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0) {
		fprintf(stderr,
			"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n"
			"  cs %04x base %llx limit %x l %u db %u  ss %04x  ds %04x\n"
			"  gdt %llx/%x idt %llx/%x\n",
			s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base, s.cs.limit,
			s.cs.l, s.cs.db, s.ss.selector, s.ds.selector, s.gdt.base, s.gdt.limit,
			s.idt.base, s.idt.limit);
	}
}

static void guest_crash(struct dvm_device *dev, const char *why)
{
	struct vcpu *v = dev->private;
	char msg[160];

	dump_registers(v, why);
	snprintf(msg, sizeof(msg), "vCPU %u: %s", v->id, why);
	dvm_vm_request_stop(dev->vm, DVM_STOP_GUEST_CRASH, DVM_STATUS_GUEST_CRASH, msg);
}

static bool handle_io(struct dvm_device *dev)
{
	struct vcpu *v = dev->private;
	struct kvm_run *run = v->run;
	uint64_t span = (uint64_t)run->io.size * run->io.count;

	if ((run->io.size != 1 && run->io.size != 2 && run->io.size != 4) ||
	    run->io.data_offset > v->run_size || span > v->run_size - run->io.data_offset) {
		guest_crash(dev, "malformed port I/O exit");
		return false;
	}
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		dvm_bus_access(dev->vm, DVM_BUS_PIO, run->io.port, data, run->io.size,
			       run->io.direction == KVM_EXIT_IO_OUT);
	return true;
}

static bool handle_exit(struct dvm_device *dev)
{
	struct vcpu *v = dev->private;
	struct kvm_run *run = v->run;
	char why[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(dev);
	case KVM_EXIT_MMIO:
		if (run->mmio.len == 0 || run->mmio.len > 8) {
			guest_crash(dev, "malformed MMIO exit");
			return false;
		}
		dvm_bus_access(dev->vm, DVM_BUS_MMIO, run->mmio.phys_addr, run->mmio.data,
			       run->mmio.len, run->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC: nothing can ever wake it. */
		dvm_vm_request_stop(dev->vm, DVM_STOP_POWEROFF, DVM_STATUS_OK,
				    "guest halted with no interrupt controller");
		return false;
	case KVM_EXIT_SHUTDOWN:
		guest_crash(dev, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			dvm_vm_request_stop(dev->vm, DVM_STOP_RESET, DVM_STATUS_OK,
					    "guest requested a reset");
		else
			dvm_vm_request_stop(dev->vm, DVM_STOP_POWEROFF, DVM_STATUS_OK,
					    "guest powered off");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "KVM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		guest_crash(dev, why);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM internal error (suberror %u)",
			 run->internal.suberror);
		guest_crash(dev, why);
		return false;
	default:
		snprintf(why, sizeof(why), "unhandled KVM exit reason %u", run->exit_reason);
		guest_crash(dev, why);
		return false;
	}
}

static void vcpu_thread(struct dvm_runner *runner, void *arg)
{
	struct dvm_device *dev = arg;
	struct vcpu *v = dev->private;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	while (dvm_runner_wait_runnable(dev->vm, runner)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char msg[96];
			snprintf(msg, sizeof(msg), "vCPU %u: KVM_RUN failed: %s", v->id,
				 strerror(errno));
			dump_registers(v, msg);
			dvm_vm_request_stop(dev->vm, DVM_STOP_HOST_ERROR, DVM_STATUS_HOST_ERROR,
					    msg);
			break;
		}
		uint32_t reason = v->run->exit_reason;
		if (!handle_exit(dev))
			break;
		/* Kicked (a pause, a snapshot) after an I/O exit: the instruction
		 * is only finished by the next KVM_RUN, so run it with
		 * immediate_exit set, as KVM's API asks before state is read;
		 * otherwise a restore would do the port access again.  A string
		 * instruction may exit again for its next chunk. */
		bool ok = true;
		while (ok && (reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO) &&
		       __atomic_load_n(&v->run->immediate_exit, __ATOMIC_ACQUIRE) &&
		       ioctl(v->fd, KVM_RUN, 0) == 0) {
			reason = v->run->exit_reason;
			ok = handle_exit(dev);
		}
		if (!ok)
			break;
	}
	dvm_runner_exit(dev->vm, runner);
}

static int vcpu_start(struct dvm_device *dev)
{
	struct vcpu *v = dev->private;

	/* Now the number of vCPUs is known; the first KVM_RUN is still to come. */
	if (!v->topology_cpus && !v->cpuid_explicit) {
		struct dvm_cpuid c = v->cpuid;
		dvm_cpuid_set_topology(&c, v->id, dvm_vm_nr_devices(dev->vm, DVM_DEV_TYPE_VCPU));
		int ret = replace_cpuid(v, &c);
		if (ret)
			return ret;
	}
	return dvm_runner_start(dev->vm, v->run, vcpu_thread, dev);
}

/* The MSRs a snapshot saves: KVM's list, less what has_attr hides. */
static int vcpu_enumerate(struct dvm_device *dev, const struct dvm_attr_desc *d, uint64_t *attrs,
			  size_t max)
{
	struct vcpu *v = dev->private;
	size_t n = 0;

	if (d->group != DVM_VCPU_GRP_MSRS)
		return -EOPNOTSUPP;
	for (uint32_t i = 0; i < v->nr_msrs; i++) {
		struct kvm_device_attr a = {.group = DVM_VCPU_GRP_MSRS, .attr = v->msr_list[i]};
		if (vcpu_has_attr(dev, &a))
			continue;
		if (n == max)
			return -E2BIG;
		attrs[n++] = v->msr_list[i];
	}
	return (int)n;
}

const struct dvm_device_ops dvm_vcpu_ops = {
    .name = "vcpu",
    .type = DVM_DEV_TYPE_VCPU,
    .flags = DVM_OPS_NEEDS_KVM,
    .summary = "a KVM vCPU; state groups REGS, SREGS, FPU, MSRS, LAPIC, EVENTS, MP_STATE, ...",
    .attrs = vcpu_attrs,
    .nr_attrs = sizeof(vcpu_attrs) / sizeof(vcpu_attrs[0]),
    .probe = vcpu_probe,
    .create = vcpu_create,
    .destroy = vcpu_destroy,
    .set_attr = vcpu_set_attr,
    .get_attr = vcpu_get_attr,
    .has_attr = vcpu_has_attr,
    .start = vcpu_start,
    .enumerate = vcpu_enumerate,
};
