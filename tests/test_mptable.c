// SPDX-License-Identifier: MIT
/* Unit tests of the MP table builder (src/boot/mptable.c) on a plain buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dvm/boot.h"

#define MEM_SIZE (1u << 20)
#define MAX_CPUS 194 /* (4096 - 16 - 196) / 20 */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* Walk and check the whole table for nr_cpus and ioapic_id. */
static void check_mptable(const uint8_t *m, unsigned nr_cpus, uint8_t ioapic_id)
{
	const uint8_t *fp = m + DVM_MPTABLE_ADDR, *t, *e, *end;
	unsigned procs = 0, buses = 0, ioapics = 0, ioints = 0, lints = 0, entries = 0;
	uint8_t last_type = 0;
	uint32_t seen_irqs = 0;

	/* Floating pointer. */
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1); /* 16 bytes */
	assert_int_equal(fp[9], 4); /* spec 1.4 */
	assert_int_equal(sum(fp, 16), 0);
	assert_int_equal(fp[11], 0);	    /* a configuration table, not a default config */
	assert_int_equal(fp[12] & 0x80, 0); /* no IMCR */
	assert_int_equal(rd32(fp + 4), DVM_MPTABLE_ADDR + 16);

	/* Configuration table header. */
	t = m + rd32(fp + 4);
	assert_memory_equal(t, "PCMP", 4);
	assert_int_equal(t[6], 4);
	assert_true(rd32(fp + 4) + rd16(t + 4) <= DVM_MPTABLE_END);
	assert_int_equal(sum(t, rd16(t + 4)), 0);
	assert_int_equal(rd32(t + 36), 0xfee00000);
	assert_int_equal(rd16(t + 40), 0); /* no extended table */

	e = t + 44;
	end = t + rd16(t + 4);
	while (e < end) {
		unsigned len = e[0] == 0 ? 20 : 8;
		assert_true(e[0] <= 4);
		assert_true(e[0] >= last_type); /* sorted by type */
		assert_true(e + len <= end);
		last_type = e[0];
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], procs);		    /* APIC ID = index */
			assert_int_equal(e[2], 0x14);		    /* version */
			assert_int_equal(e[3] & 1, 1);		    /* enabled */
			assert_int_equal(!!(e[3] & 2), procs == 0); /* BSP: CPU 0 only */
			assert_int_not_equal(rd32(e + 4), 0);	    /* a signature */
			assert_true(rd32(e + 8) & (1u << 9));	    /* features: APIC */
			procs++;
			break;
		case 1:
			assert_int_equal(e[1], 0);
			assert_memory_equal(e + 2, "ISA   ", 6);
			buses++;
			break;
		case 2:
			assert_int_equal(e[1], ioapic_id);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(rd32(e + 4), 0xfec00000);
			ioapics++;
			break;
		case 3:
			assert_int_equal(e[1], 0); /* INT */
			assert_int_equal(e[4], 0); /* ISA bus */
			assert_true(e[5] < 16 && e[5] != 2);
			assert_false(seen_irqs & (1u << e[5]));
			seen_irqs |= 1u << e[5];
			assert_int_equal(e[6], ioapic_id);
			assert_int_equal(e[7], e[5] == 0 ? 2 : e[5]);
			ioints++;
			break;
		case 4:
			assert_int_equal(e[6], 0xff); /* all local APICs */
			if (e[7] == 0)
				assert_int_equal(e[1], 3); /* ExtINT on LINT0 */
			else {
				assert_int_equal(e[7], 1);
				assert_int_equal(e[1], 1); /* NMI on LINT1 */
			}
			lints++;
			break;
		}
		e += len;
		entries++;
	}
	assert_ptr_equal(e, end);
	assert_int_equal(rd16(t + 34), entries);
	assert_int_equal(procs, nr_cpus);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ioints, 15);
	assert_int_equal(seen_irqs, 0xfffb);
	assert_int_equal(lints, 2);
}

static void test_cpu_counts(void **state)
{
	static const unsigned counts[] = {1, 2, 4, 100, MAX_CPUS};
	struct dvm_guest_mem mem = {calloc(1, MEM_SIZE), MEM_SIZE};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		memset(mem.host, 0xa5, MEM_SIZE); /* stale bytes must not survive */
		assert_int_equal(dvm_mptable_build(&mem, counts[i], 0, err, sizeof(err)), 0);
		check_mptable(mem.host, counts[i], 0);
		assert_int_equal(mem.host[DVM_MPTABLE_END - 1], 0);
		assert_int_equal(mem.host[DVM_MPTABLE_ADDR - 1], 0xa5); /* outside: untouched */
		assert_int_equal(mem.host[DVM_MPTABLE_END], 0xa5);
	}
	free(mem.host);
}

static void test_ioapic_id(void **state)
{
	struct dvm_guest_mem mem = {calloc(1, MEM_SIZE), MEM_SIZE};

	(void)state;
	assert_int_equal(dvm_mptable_build(&mem, 3, 7, NULL, 0), 0);
	check_mptable(mem.host, 3, 7);
	free(mem.host);
}

static void test_errors(void **state)
{
	struct dvm_guest_mem mem = {calloc(1, MEM_SIZE), MEM_SIZE};
	struct dvm_guest_mem small = {mem.host, DVM_MPTABLE_END - 1};
	struct dvm_guest_mem none = {NULL, MEM_SIZE};
	char err[128] = "";

	(void)state;
	assert_int_equal(dvm_mptable_build(&mem, MAX_CPUS + 1, 0, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "195 CPUs"));
	assert_non_null(strstr(err, "at most 194"));
	assert_int_equal(dvm_mptable_build(&mem, 1024, 0, err, sizeof(err)), -E2BIG);
	assert_int_equal(dvm_mptable_build(&mem, 0, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_mptable_build(&small, 1, 0, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "0xf1000"));
	assert_int_equal(dvm_mptable_build(&none, 1, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_mptable_build(NULL, 1, 0, NULL, 0), -EINVAL);
	for (size_t i = 0; i < MEM_SIZE; i++)
		if (mem.host[i])
			fail_msg("byte %#zx written by a refused call", i);
	free(mem.host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu_counts),
	    cmocka_unit_test(test_ioapic_id),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
