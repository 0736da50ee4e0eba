/* SPDX-License-Identifier: MIT */
/*
 * CPUID tables: named feature bits (the names of Linux's /proc/cpuinfo and
 * QEMU's -cpu, with '-' for '_'), feature edits checked against what the host
 * can give, and the per-CPU topology leaves.
 */
#ifndef DVM_CPUID_H
#define DVM_CPUID_H

#include <stddef.h>
#include <stdint.h>

#include "dvm/devices/vcpu.h"

enum dvm_cpuid_reg { DVM_CPUID_EAX, DVM_CPUID_EBX, DVM_CPUID_ECX, DVM_CPUID_EDX };

struct dvm_cpu_feature {
	const char *name;
	uint32_t function;
	uint32_t index;
	uint8_t reg; /* enum dvm_cpuid_reg */
	uint8_t bit;
};

extern const struct dvm_cpu_feature dvm_cpu_features[];
extern const size_t dvm_nr_cpu_features;

struct dvm_vm;
/* What this host's KVM offers (KVM_GET_SUPPORTED_CPUID, plus the TSC-deadline
 * timer KVM reports as a capability): the default table and the limit. */
int dvm_cpuid_supported(struct dvm_vm *vm, struct dvm_cpuid *out);

const struct dvm_cpu_feature *dvm_cpu_feature_by_name(const char *name);
/* The entry for (function, index), or NULL. */
struct kvm_cpuid_entry2 *dvm_cpuid_entry(struct dvm_cpuid *c, uint32_t function, uint32_t index);
int dvm_cpuid_has(const struct dvm_cpuid *c, const struct dvm_cpu_feature *f);

/*
 * Applies a feature list such as "host,-x2apic,+tsc-deadline" or
 * "x2apic=off,pcid=on" to `c`.  A leading model may be "host" or "max"
 * (both: everything the host offers, which is where `c` starts).  Of QEMU's
 * other -cpu properties, vendor=XXXXXXXXXXXX sets leaf 0's vendor string and
 * host-phys-bits and migratable=no are accepted as what dvm always does.  Adding a
 * feature `supported` lacks is refused.  0, -EINVAL (unknown name or bad
 * syntax) or -EOPNOTSUPP (the host can't give it); `err` says which.
 */
int dvm_cpuid_edit(struct dvm_cpuid *c, const struct dvm_cpuid *supported, const char *spec,
		   char *err, size_t errlen);

/* Writes the enabled named features, comma-separated, into buf. */
void dvm_cpuid_describe(const struct dvm_cpuid *c, char *buf, size_t len);

/*
 * One package of nr_cpus cores, one thread each: the APIC ID in leaves 1,
 * 0xB and 0x1F, the logical count and HTT in leaf 1, cores per package in
 * leaf 4 and 0x80000008, and the SMT/core levels of leaves 0xB and 0x1F.
 */
void dvm_cpuid_set_topology(struct dvm_cpuid *c, uint32_t apic_id, uint32_t nr_cpus);

#endif
