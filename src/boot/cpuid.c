// SPDX-License-Identifier: MIT
/* Named CPUID feature bits, checked edits, and topology leaves. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dvm/cpuid.h"
#include "dvm/vm.h"

#define A DVM_CPUID_EAX
#define B DVM_CPUID_EBX
#define C DVM_CPUID_ECX
#define D DVM_CPUID_EDX

/* Bit positions are from the Intel SDM and AMD APM CPUID tables. */
const struct dvm_cpu_feature dvm_cpu_features[] = {
    /* leaf 1, EDX */
    {"fpu", 1, 0, D, 0},
    {"vme", 1, 0, D, 1},
    {"de", 1, 0, D, 2},
    {"pse", 1, 0, D, 3},
    {"tsc", 1, 0, D, 4},
    {"msr", 1, 0, D, 5},
    {"pae", 1, 0, D, 6},
    {"mce", 1, 0, D, 7},
    {"cx8", 1, 0, D, 8},
    {"apic", 1, 0, D, 9},
    {"sep", 1, 0, D, 11},
    {"mtrr", 1, 0, D, 12},
    {"pge", 1, 0, D, 13},
    {"mca", 1, 0, D, 14},
    {"cmov", 1, 0, D, 15},
    {"pat", 1, 0, D, 16},
    {"pse36", 1, 0, D, 17},
    {"clflush", 1, 0, D, 19},
    {"ds", 1, 0, D, 21},
    {"acpi", 1, 0, D, 22},
    {"mmx", 1, 0, D, 23},
    {"fxsr", 1, 0, D, 24},
    {"sse", 1, 0, D, 25},
    {"sse2", 1, 0, D, 26},
    {"ss", 1, 0, D, 27},
    {"ht", 1, 0, D, 28},
    {"tm", 1, 0, D, 29},
    {"pbe", 1, 0, D, 31},
    /* leaf 1, ECX */
    {"pni", 1, 0, C, 0},
    {"pclmulqdq", 1, 0, C, 1},
    {"dtes64", 1, 0, C, 2},
    {"monitor", 1, 0, C, 3},
    {"ds-cpl", 1, 0, C, 4},
    {"vmx", 1, 0, C, 5},
    {"smx", 1, 0, C, 6},
    {"est", 1, 0, C, 7},
    {"tm2", 1, 0, C, 8},
    {"ssse3", 1, 0, C, 9},
    {"cid", 1, 0, C, 10},
    {"fma", 1, 0, C, 12},
    {"cx16", 1, 0, C, 13},
    {"xtpr", 1, 0, C, 14},
    {"pdcm", 1, 0, C, 15},
    {"pcid", 1, 0, C, 17},
    {"dca", 1, 0, C, 18},
    {"sse4.1", 1, 0, C, 19},
    {"sse4.2", 1, 0, C, 20},
    {"x2apic", 1, 0, C, 21},
    {"movbe", 1, 0, C, 22},
    {"popcnt", 1, 0, C, 23},
    {"tsc-deadline", 1, 0, C, 24},
    {"aes", 1, 0, C, 25},
    {"xsave", 1, 0, C, 26},
    {"avx", 1, 0, C, 28},
    {"f16c", 1, 0, C, 29},
    {"rdrand", 1, 0, C, 30},
    {"hypervisor", 1, 0, C, 31},
    /* leaf 6, EAX */
    {"arat", 6, 0, A, 2},
    /* leaf 7.0, EBX */
    {"fsgsbase", 7, 0, B, 0},
    {"tsc-adjust", 7, 0, B, 1},
    {"sgx", 7, 0, B, 2},
    {"bmi1", 7, 0, B, 3},
    {"hle", 7, 0, B, 4},
    {"avx2", 7, 0, B, 5},
    {"smep", 7, 0, B, 7},
    {"bmi2", 7, 0, B, 8},
    {"erms", 7, 0, B, 9},
    {"invpcid", 7, 0, B, 10},
    {"rtm", 7, 0, B, 11},
    {"mpx", 7, 0, B, 14},
    {"avx512f", 7, 0, B, 16},
    {"avx512dq", 7, 0, B, 17},
    {"rdseed", 7, 0, B, 18},
    {"adx", 7, 0, B, 19},
    {"smap", 7, 0, B, 20},
    {"avx512ifma", 7, 0, B, 21},
    {"clflushopt", 7, 0, B, 23},
    {"clwb", 7, 0, B, 24},
    {"avx512pf", 7, 0, B, 26},
    {"avx512er", 7, 0, B, 27},
    {"avx512cd", 7, 0, B, 28},
    {"sha-ni", 7, 0, B, 29},
    {"avx512bw", 7, 0, B, 30},
    {"avx512vl", 7, 0, B, 31},
    /* leaf 7.0, ECX */
    {"avx512vbmi", 7, 0, C, 1},
    {"umip", 7, 0, C, 2},
    {"pku", 7, 0, C, 3},
    {"ospke", 7, 0, C, 4},
    {"waitpkg", 7, 0, C, 5},
    {"avx512vbmi2", 7, 0, C, 6},
    {"gfni", 7, 0, C, 8},
    {"vaes", 7, 0, C, 9},
    {"vpclmulqdq", 7, 0, C, 10},
    {"avx512vnni", 7, 0, C, 11},
    {"avx512bitalg", 7, 0, C, 12},
    {"avx512-vpopcntdq", 7, 0, C, 14},
    {"la57", 7, 0, C, 16},
    {"rdpid", 7, 0, C, 22},
    {"cldemote", 7, 0, C, 25},
    {"movdiri", 7, 0, C, 27},
    {"movdir64b", 7, 0, C, 28},
    {"pks", 7, 0, C, 31},
    /* leaf 7.0, EDX */
    {"fsrm", 7, 0, D, 4},
    {"md-clear", 7, 0, D, 10},
    {"serialize", 7, 0, D, 14},
    {"tsx-ldtrk", 7, 0, D, 16},
    {"arch-lbr", 7, 0, D, 19},
    {"ibt", 7, 0, D, 20},
    {"avx512-fp16", 7, 0, D, 23},
    {"spec-ctrl", 7, 0, D, 26},
    {"stibp", 7, 0, D, 27},
    {"arch-capabilities", 7, 0, D, 29},
    {"ssbd", 7, 0, D, 31},
    /* leaf 0xd.1, EAX */
    {"xsaveopt", 0xd, 1, A, 0},
    {"xsavec", 0xd, 1, A, 1},
    {"xgetbv1", 0xd, 1, A, 2},
    {"xsaves", 0xd, 1, A, 3},
    /* leaf 0x80000001, ECX */
    {"lahf-lm", 0x80000001, 0, C, 0},
    {"cmp-legacy", 0x80000001, 0, C, 1},
    {"svm", 0x80000001, 0, C, 2},
    {"extapic", 0x80000001, 0, C, 3},
    {"cr8legacy", 0x80000001, 0, C, 4},
    {"abm", 0x80000001, 0, C, 5},
    {"sse4a", 0x80000001, 0, C, 6},
    {"misalignsse", 0x80000001, 0, C, 7},
    {"3dnowprefetch", 0x80000001, 0, C, 8},
    {"osvw", 0x80000001, 0, C, 9},
    {"xop", 0x80000001, 0, C, 11},
    {"fma4", 0x80000001, 0, C, 16},
    {"tbm", 0x80000001, 0, C, 21},
    {"topoext", 0x80000001, 0, C, 22},
    /* leaf 0x80000001, EDX */
    {"syscall", 0x80000001, 0, D, 11},
    {"nx", 0x80000001, 0, D, 20},
    {"mmxext", 0x80000001, 0, D, 22},
    {"fxsr-opt", 0x80000001, 0, D, 25},
    {"pdpe1gb", 0x80000001, 0, D, 26},
    {"rdtscp", 0x80000001, 0, D, 27},
    {"lm", 0x80000001, 0, D, 29},
    /* leaf 0x80000007, EDX */
    {"invtsc", 0x80000007, 0, D, 8},
};
const size_t dvm_nr_cpu_features = sizeof(dvm_cpu_features) / sizeof(dvm_cpu_features[0]);

/* QEMU's and Linux's other spellings of the same bits. */
static const struct {
	const char *alias, *name;
} feature_aliases[] = {
    {"sse3", "pni"},
    {"sse4_1", "sse4.1"},
    {"sse4_2", "sse4.2"},
    {"lahf_lm", "lahf-lm"},
    {"tsc_deadline", "tsc-deadline"},
    {"tsc_adjust", "tsc-adjust"},
};

int dvm_cpuid_supported(struct dvm_vm *vm, struct dvm_cpuid *out)
{
	size_t sz =
	    sizeof(struct kvm_cpuid2) + DVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	c->nent = DVM_CPUID_MAX_ENTRIES;
	if (ioctl(dvm_vm_kvm_fd(vm), KVM_GET_SUPPORTED_CPUID, c) < 0) {
		ret = -errno;
	} else {
		memset(out, 0, sizeof(*out));
		out->nent = c->nent;
		memcpy(out->entries, c->entries, c->nent * sizeof(c->entries[0]));
		/* KVM emulates the TSC-deadline timer in its LAPIC but reports it as
		 * a capability, not in the supported table. */
		struct kvm_cpuid_entry2 *leaf1 = dvm_cpuid_entry(out, 1, 0);
		if (leaf1 && dvm_vm_check_extension(vm, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
			leaf1->ecx |= 1u << 24;
	}
	free(c);
	return ret;
}

const struct dvm_cpu_feature *dvm_cpu_feature_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(feature_aliases) / sizeof(feature_aliases[0]); i++)
		if (!strcmp(name, feature_aliases[i].alias))
			name = feature_aliases[i].name;
	for (size_t i = 0; i < dvm_nr_cpu_features; i++)
		if (!strcmp(name, dvm_cpu_features[i].name))
			return &dvm_cpu_features[i];
	return NULL;
}

struct kvm_cpuid_entry2 *dvm_cpuid_entry(struct dvm_cpuid *c, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent && i < DVM_CPUID_MAX_ENTRIES; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function == function && (!indexed || e->index == index))
			return e;
	}
	return NULL;
}

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, uint8_t reg)
{
	switch (reg) {
	case DVM_CPUID_EAX:
		return &e->eax;
	case DVM_CPUID_EBX:
		return &e->ebx;
	case DVM_CPUID_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

int dvm_cpuid_has(const struct dvm_cpuid *c, const struct dvm_cpu_feature *f)
{
	struct kvm_cpuid_entry2 *e = dvm_cpuid_entry((struct dvm_cpuid *)c, f->function, f->index);
	return e && (*entry_reg(e, f->reg) >> f->bit & 1);
}

/* QEMU's -cpu properties that aren't feature bits.  1: handled (or an error
 * set in *ret), 0: not one of them. */
static int edit_property(struct dvm_cpuid *c, const char *tok, int *ret, char *err, size_t errlen)
{
	*ret = 0;
	/* dvm always gives the host's physical address width, and never migrates
	 * a CPU model: these ask for what dvm does anyway. */
	if (!strcmp(tok, "host-phys-bits") || !strcmp(tok, "host-phys-bits=on") ||
	    !strcmp(tok, "migratable=no") || !strcmp(tok, "migratable=off"))
		return 1;
	if (!strncmp(tok, "vendor=", 7)) {
		const char *v = tok + 7;
		struct kvm_cpuid_entry2 *e = dvm_cpuid_entry(c, 0, 0);
		if (strlen(v) != 12) {
			snprintf(err, errlen,
				 "cpu vendor '%s': expected 12 characters, e.g. "
				 "GenuineIntel",
				 v);
			*ret = -EINVAL;
		} else if (e) {
			memcpy(&e->ebx, v, 4);
			memcpy(&e->edx, v + 4, 4);
			memcpy(&e->ecx, v + 8, 4);
		}
		return 1;
	}
	return 0;
}

/* One token: "+name", "-name", "name", "name=on|off", or a property. */
static int edit_one(struct dvm_cpuid *c, const struct dvm_cpuid *supported, char *tok, char *err,
		    size_t errlen)
{
	bool on = true;
	char *eq = strchr(tok, '=');
	int ret;

	if (edit_property(c, tok, &ret, err, errlen))
		return ret;

	if (eq) {
		*eq = '\0';
		if (!strcmp(eq + 1, "on") || !strcmp(eq + 1, "true"))
			on = true;
		else if (!strcmp(eq + 1, "off") || !strcmp(eq + 1, "false"))
			on = false;
		else {
			snprintf(err, errlen, "cpu feature '%s': expected =on or =off, not '%s'",
				 tok, eq + 1);
			return -EINVAL;
		}
	} else if (*tok == '+' || *tok == '-') {
		on = *tok == '+';
		tok++;
	}
	const struct dvm_cpu_feature *f = dvm_cpu_feature_by_name(tok);
	if (!f) {
		snprintf(err, errlen, "unknown cpu feature '%s' (`dvm run --cpu help` lists them)",
			 tok);
		return -EINVAL;
	}
	struct kvm_cpuid_entry2 *e = dvm_cpuid_entry(c, f->function, f->index);
	if (on && !dvm_cpuid_has(supported, f)) {
		snprintf(err, errlen,
			 "cpu feature '%s' is not available on this host (KVM does not offer it)",
			 f->name);
		return -EOPNOTSUPP;
	}
	if (!e) /* off, and the leaf isn't there at all: already off */
		return 0;
	if (on)
		*entry_reg(e, f->reg) |= 1u << f->bit;
	else
		*entry_reg(e, f->reg) &= ~(1u << f->bit);
	return 0;
}

int dvm_cpuid_edit(struct dvm_cpuid *c, const struct dvm_cpuid *supported, const char *spec,
		   char *err, size_t errlen)
{
	char buf[1024];
	char *save = NULL;
	bool first = true;
	int ret = 0;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "cpu feature list too long");
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (char *tok = strtok_r(buf, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		if (first && (!strcmp(tok, "host") || !strcmp(tok, "max")))
			continue; /* the table already starts as everything the host offers */
		ret = edit_one(c, supported, tok, err, errlen);
	}
	return ret;
}

void dvm_cpuid_describe(const struct dvm_cpuid *c, char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < dvm_nr_cpu_features && len; i++) {
		if (!dvm_cpuid_has(c, &dvm_cpu_features[i]))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
				 dvm_cpu_features[i].name);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* whole names only */
			break;
		}
		used += (size_t)n;
	}
}

static struct kvm_cpuid_entry2 *entry_add(struct dvm_cpuid *c, uint32_t function, uint32_t index)
{
	struct kvm_cpuid_entry2 *e = dvm_cpuid_entry(c, function, index);

	if (e && (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index == index)
		return e;
	if (c->nent >= DVM_CPUID_MAX_ENTRIES)
		return NULL;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

/* Leaves 0xB and 0x1F: an SMT level of one thread, a core level of nr_cpus. */
static void set_extended_topology(struct dvm_cpuid *c, uint32_t leaf, uint32_t apic_id,
				  uint32_t nr_cpus)
{
	uint32_t shift = 0;

	while ((1u << shift) < nr_cpus)
		shift++;
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = entry_add(c, leaf, sub);
		if (!e)
			return;
		e->edx = apic_id;
		if (sub == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 0 | (1u << 8); /* SMT */
		} else if (sub == 1) {
			e->eax = shift;
			e->ebx = nr_cpus;
			e->ecx = 1 | (2u << 8); /* core */
		} else {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = sub; /* type 0: no more levels */
		}
	}
}

void dvm_cpuid_set_topology(struct dvm_cpuid *c, uint32_t apic_id, uint32_t nr_cpus)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t max_basic = 0;

	if (nr_cpus == 0)
		nr_cpus = 1;
	if ((e = dvm_cpuid_entry(c, 0, 0)))
		max_basic = e->eax;
	if ((e = dvm_cpuid_entry(c, 1, 0))) {
		uint32_t logical = nr_cpus > 255 ? 255 : nr_cpus;
		e->ebx = (e->ebx & 0x0000ffffu) | (logical << 16) | ((apic_id & 0xff) << 24);
		if (nr_cpus > 1)
			e->edx |= 1u << 28; /* HTT: the logical count is valid */
		else
			e->edx &= ~(1u << 28);
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function != 4 || (e->eax & 0x1f) == 0)
			continue;
		uint32_t cores = nr_cpus > 64 ? 64 : nr_cpus;
		uint32_t level = (e->eax >> 5) & 7;
		uint32_t sharing = level >= 3 ? cores - 1 : 0; /* L3 spans the package */
		e->eax = (e->eax & 0x00003fffu) | (sharing << 14) | ((cores - 1) << 26);
	}
	if (max_basic >= 0xb)
		set_extended_topology(c, 0xb, apic_id, nr_cpus);
	if (max_basic >= 0x1f)
		set_extended_topology(c, 0x1f, apic_id, nr_cpus);
	if ((e = dvm_cpuid_entry(c, 0x80000008, 0)))
		e->ecx = (e->ecx & ~0xffu) | ((nr_cpus - 1) & 0xff);
}
