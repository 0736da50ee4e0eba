/* SPDX-License-Identifier: MIT */
/*
 * The CPUID library (named features, checked edits, topology leaves) on
 * hand-made tables, and the vcpu's "features" and "topology-cpus"
 * attributes on a real vCPU where /dev/kvm is there.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dvm/cpuid.h"
#include "dvm/device.h"
#include "dvm/devices/vcpu.h"
#include "dvm/vm.h"

static bool have_kvm;

static void add(struct dvm_cpuid *c, uint32_t fn, uint32_t idx, bool indexed, uint32_t a,
		uint32_t b, uint32_t cx, uint32_t d)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	e->eax = a;
	e->ebx = b;
	e->ecx = cx;
	e->edx = d;
}

/* A small host: leaf 1 with sse2 and x2apic, leaf 0xb, 4 caches, 0x80000008. */
static void make_host(struct dvm_cpuid *c)
{
	memset(c, 0, sizeof(*c));
	add(c, 0, 0, false, 0xd, 0, 0, 0);
	add(c, 1, 0, false, 0x806f0, 0x00010800, (1u << 21) | (1u << 31), (1u << 26) | 1);
	add(c, 4, 0, true, 0x121, 0, 0, 0);
	add(c, 4, 1, true, 0x163, 0, 0, 0); /* an L3 */
	add(c, 4, 2, true, 0, 0, 0, 0);
	add(c, 7, 0, true, 0, 1u << 7, 0, 0); /* smep */
	add(c, 0xb, 0, true, 0, 0, 0, 0);
	add(c, 0x80000000, 0, false, 0x80000008, 0, 0, 0);
	add(c, 0x80000008, 0, false, 0x3030, 0, 0, 0);
}

static const struct dvm_cpu_feature *feat(const char *name)
{
	const struct dvm_cpu_feature *f = dvm_cpu_feature_by_name(name);
	assert_non_null(f);
	return f;
}

static void names_and_aliases(void **state)
{
	(void)state;
	assert_int_equal(feat("x2apic")->bit, 21);
	assert_int_equal(feat("tsc-deadline")->bit, 24);
	assert_ptr_equal(feat("sse3"), feat("pni"));
	assert_ptr_equal(feat("tsc_deadline"), feat("tsc-deadline"));
	assert_null(dvm_cpu_feature_by_name("no-such"));
	/* Every name is unique, so a lookup can't land on the wrong bit. */
	for (size_t i = 0; i < dvm_nr_cpu_features; i++)
		assert_ptr_equal(dvm_cpu_feature_by_name(dvm_cpu_features[i].name),
				 &dvm_cpu_features[i]);
}

static void edits_are_checked_against_the_host(void **state)
{
	(void)state;
	struct dvm_cpuid host, c;
	char err[200];
	make_host(&host);
	c = host;
	assert_int_equal(dvm_cpuid_edit(&c, &host, "host,-x2apic,hypervisor=off", err, sizeof(err)),
			 0);
	assert_false(dvm_cpuid_has(&c, feat("x2apic")));
	assert_false(dvm_cpuid_has(&c, feat("hypervisor")));
	assert_true(dvm_cpuid_has(&c, feat("sse2")));
	assert_int_equal(dvm_cpuid_edit(&c, &host, "+x2apic", err, sizeof(err)), 0);
	assert_true(dvm_cpuid_has(&c, feat("x2apic")));

	/* The host lacks it: refused with the reason, the table unchanged. */
	struct dvm_cpuid before = c;
	assert_int_equal(dvm_cpuid_edit(&c, &host, "+avx", err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "'avx' is not available"));
	assert_memory_equal(&c, &before, sizeof(c));
	/* A leaf the host doesn't have at all: adding fails, removing is a no-op. */
	assert_int_equal(dvm_cpuid_edit(&c, &host, "+xsaveopt", err, sizeof(err)), -EOPNOTSUPP);
	assert_int_equal(dvm_cpuid_edit(&c, &host, "-xsaveopt", err, sizeof(err)), 0);

	assert_int_equal(dvm_cpuid_edit(&c, &host, "+bogus", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown cpu feature 'bogus'"));
	assert_int_equal(dvm_cpuid_edit(&c, &host, "x2apic=maybe", err, sizeof(err)), -EINVAL);
	/* A model name is only understood first. */
	assert_int_equal(dvm_cpuid_edit(&c, &host, "-x2apic,host", err, sizeof(err)), -EINVAL);
	char longspec[2000];
	memset(longspec, 'a', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	assert_int_equal(dvm_cpuid_edit(&c, &host, longspec, err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_cpuid_edit(&c, &host, "", err, sizeof(err)), 0);

	/* QEMU's properties. */
	assert_int_equal(
	    dvm_cpuid_edit(&c, &host, "max,host-phys-bits,migratable=no", err, sizeof(err)), 0);
	assert_int_equal(dvm_cpuid_edit(&c, &host, "vendor=AuthenticAMD", err, sizeof(err)), 0);
	struct kvm_cpuid_entry2 *leaf0 = dvm_cpuid_entry(&c, 0, 0);
	assert_memory_equal(&leaf0->ebx, "Auth", 4);
	assert_memory_equal(&leaf0->edx, "enti", 4);
	assert_memory_equal(&leaf0->ecx, "cAMD", 4);
	assert_int_equal(dvm_cpuid_edit(&c, &host, "vendor=Intel", err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_cpuid_edit(&c, &host, "phys-bits=36", err, sizeof(err)), -EINVAL);
}

static void describe_lists_enabled_names(void **state)
{
	(void)state;
	struct dvm_cpuid host;
	char buf[256], tiny[8];
	make_host(&host);
	dvm_cpuid_describe(&host, buf, sizeof(buf));
	assert_string_equal(buf, "fpu,sse2,x2apic,hypervisor,smep");
	dvm_cpuid_describe(&host, tiny, sizeof(tiny)); /* whole names only */
	assert_string_equal(tiny, "fpu");
}

static void topology_leaves(void **state)
{
	(void)state;
	struct dvm_cpuid c;
	make_host(&c);
	dvm_cpuid_set_topology(&c, 3, 4);
	struct kvm_cpuid_entry2 *e = dvm_cpuid_entry(&c, 1, 0);
	assert_int_equal(e->ebx >> 24, 3);
	assert_int_equal((e->ebx >> 16) & 0xff, 4);
	assert_true(e->edx & (1u << 28));	   /* HTT */
	assert_int_equal(e->ebx & 0xffff, 0x0800); /* CLFLUSH size kept */
	e = dvm_cpuid_entry(&c, 0xb, 0);
	assert_int_equal(e->edx, 3);
	assert_int_equal(e->ebx, 1);
	assert_int_equal((e->ecx >> 8) & 0xff, 1); /* SMT */
	e = dvm_cpuid_entry(&c, 0xb, 1);
	assert_non_null(e);
	assert_int_equal(e->eax, 2); /* shift: 4 CPUs need 2 bits */
	assert_int_equal(e->ebx, 4);
	assert_int_equal((e->ecx >> 8) & 0xff, 2); /* core */
	assert_int_equal(e->edx, 3);
	e = dvm_cpuid_entry(&c, 0xb, 2);
	assert_int_equal((e->ecx >> 8) & 0xff, 0); /* end of levels */
	assert_int_equal(dvm_cpuid_entry(&c, 4, 0)->eax >> 26, 3);
	assert_int_equal((dvm_cpuid_entry(&c, 4, 0)->eax >> 14) & 0xfff, 0); /* L1: own */
	assert_int_equal((dvm_cpuid_entry(&c, 4, 1)->eax >> 14) & 0xfff, 3); /* L3: shared */
	assert_int_equal(dvm_cpuid_entry(&c, 0x80000008, 0)->ecx & 0xff, 3);

	/* Again with one CPU: no stale HTT, no extra entries. */
	uint32_t nent = c.nent;
	dvm_cpuid_set_topology(&c, 0, 1);
	assert_int_equal(c.nent, nent);
	assert_false(dvm_cpuid_entry(&c, 1, 0)->edx & (1u << 28));
	assert_int_equal(dvm_cpuid_entry(&c, 0xb, 1)->ebx, 1);

	/* A full table: topology leaves that don't fit are left out, no overrun. */
	struct dvm_cpuid full;
	make_host(&full);
	while (full.nent < DVM_CPUID_MAX_ENTRIES)
		add(&full, 0x40000100 + full.nent, 0, false, 0, 0, 0, 0);
	dvm_cpuid_set_topology(&full, 1, 2);
	assert_int_equal(full.nent, DVM_CPUID_MAX_ENTRIES);
	assert_int_equal(dvm_cpuid_entry(&full, 0xb, 0)->edx, 1);
}

static void vcpu_attributes(void **state)
{
	(void)state;
	if (!have_kvm)
		skip();
	struct dvm_vm_config cfg = {.mem_size = 2 << 20};
	struct dvm_vm *vm;
	dvm_register_builtin_devices();
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_VCPU};
	assert_int_equal(dvm_create_device(vm, &cd), 0);
	int v = (int)cd.fd;
	char spec[DVM_VCPU_FEATURES_LEN] = "-x2apic";
	struct dvm_cpuid c;

	assert_int_equal(dvm_device_set(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_FEATURES, spec),
			 0);
	assert_int_equal(dvm_device_get(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_CPUID, &c), 0);
	assert_false(dvm_cpuid_has(&c, feat("x2apic")));
	assert_int_equal(dvm_device_get(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_FEATURES, spec),
			 0);
	assert_null(strstr(spec, "x2apic"));
	assert_non_null(strstr(spec, "fpu"));
	/* KVM never offers the thermal monitor. */
	strcpy(spec, "+tm");
	assert_int_equal(dvm_device_set(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_FEATURES, spec),
			 -EOPNOTSUPP);
	strcpy(spec, "+nonsense");
	assert_int_equal(dvm_device_set(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_FEATURES, spec),
			 -EINVAL);
	memset(spec, 'x', sizeof(spec)); /* no terminator */
	assert_int_equal(dvm_device_set(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_FEATURES, spec),
			 -EINVAL);

	uint32_t n = 8;
	assert_int_equal(
	    dvm_device_set(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_TOPOLOGY_CPUS, &n), 0);
	assert_int_equal(dvm_device_get(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_CPUID, &c), 0);
	assert_int_equal((dvm_cpuid_entry(&c, 1, 0)->ebx >> 16) & 0xff, 8);
	n = 5000;
	assert_int_equal(
	    dvm_device_set(vm, v, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_TOPOLOGY_CPUS, &n), -EINVAL);
	dvm_vm_shutdown(vm);
}

int main(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	have_kvm = fd >= 0;
	if (fd < 0)
		printf("SKIP (vcpu_attributes only): /dev/kvm not available (%s)\n",
		       strerror(errno));
	else
		close(fd);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_and_aliases),
	    cmocka_unit_test(edits_are_checked_against_the_host),
	    cmocka_unit_test(describe_lists_enabled_names),
	    cmocka_unit_test(topology_leaves),
	    cmocka_unit_test(vcpu_attributes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
