/* SPDX-License-Identifier: MIT */
/* The `vcpu` device type: one KVM vCPU; its state groups are KVM's vCPU ioctls. */
#ifndef DVM_DEVICES_VCPU_H
#define DVM_DEVICES_VCPU_H

#include <linux/kvm.h>
#include <stdint.h>

enum dvm_vcpu_group {
	DVM_VCPU_GRP_CONFIG = 0,     /* "id" (RO), "cpuid", "features", "topology-cpus" */
	DVM_VCPU_GRP_REGS = 1,	     /* struct kvm_regs */
	DVM_VCPU_GRP_SREGS = 2,	     /* struct kvm_sregs */
	DVM_VCPU_GRP_FPU = 3,	     /* struct kvm_fpu */
	DVM_VCPU_GRP_MSRS = 4,	     /* attr = MSR index, u64 value */
	DVM_VCPU_GRP_LAPIC = 5,	     /* struct kvm_lapic_state (KVM_GET/SET_LAPIC) */
	DVM_VCPU_GRP_EVENTS = 6,     /* struct kvm_vcpu_events */
	DVM_VCPU_GRP_MP_STATE = 7,   /* struct kvm_mp_state */
	DVM_VCPU_GRP_XCRS = 8,	     /* struct kvm_xcrs, where KVM has KVM_CAP_XCRS */
	DVM_VCPU_GRP_XSAVE = 9,	     /* struct kvm_xsave, where KVM has KVM_CAP_XSAVE */
	DVM_VCPU_GRP_DEBUGREGS = 10, /* struct kvm_debugregs */
	DVM_VCPU_GRP_CONTROL = 11,   /* commands: attr 0 "reset" (struct dvm_vcpu_reset) */
};
#define DVM_VCPU_CONTROL_RESET 0

/* The "reset" command, while paused: the CPU's INIT state, then either
 * waiting for a SIPI (an AP) or running real-mode code at `entry` (CS =
 * entry >> 4, IP = entry & 0xf: how firmware enters an ACPI waking vector). */
enum dvm_vcpu_reset_mode { DVM_VCPU_RESET_WAIT_SIPI = 0, DVM_VCPU_RESET_REAL_MODE = 1 };
struct dvm_vcpu_reset {
	uint32_t mode;	/* enum dvm_vcpu_reset_mode */
	uint32_t entry; /* REAL_MODE: physical address below 1 MiB */
};
#define DVM_VCPU_CONFIG_ID 0
#define DVM_VCPU_CONFIG_CPUID 1
#define DVM_VCPU_CONFIG_FEATURES 2	/* string: "-x2apic,+tsc-deadline" */
#define DVM_VCPU_CONFIG_TOPOLOGY_CPUS 3 /* u32: CPUs in the package; 0 = all vCPUs */
#define DVM_VCPU_FEATURES_LEN 2048

#define DVM_CPUID_MAX_ENTRIES 80
/* The "cpuid" attribute: KVM_SET_CPUID2's table with room fixed in the schema. */
struct dvm_cpuid {
	uint32_t nent;
	uint32_t padding;
	struct kvm_cpuid_entry2 entries[DVM_CPUID_MAX_ENTRIES];
};

#endif
