// SPDX-License-Identifier: MIT
/*
 * Unit tests of pc-testdev and dvm_vm_drop_guest_page().  Without an
 * argument: a VM without /dev/kvm (latch and alias at every width and
 * offset, string I/O as repeated accesses, the page-drop port, interrupt
 * lines, the memory window, state round trip and rejection, guest nonsense).
 * With --kvm: the page drop on a KVM VM whose memory slot maps the page, and
 * a vCPU that reads the page back afterwards; exits 77 without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "dvm/devices/pc_testdev.h"
#include "dvm/devices/vcpu.h"
#include "dvm/vm.h"

#define LATCH DVM_PC_TESTDEV_PORT_LATCH
#define FLUSH DVM_PC_TESTDEV_PORT_FLUSH
#define ALIAS DVM_PC_TESTDEV_PORT_ALIAS
#define IRQ DVM_PC_TESTDEV_PORT_IRQ
#define IOMEM DVM_PC_TESTDEV_IOMEM_BASE
#define IOMEM_SIZE DVM_PC_TESTDEV_IOMEM_SIZE

struct fx {
	struct dvm_vm *vm;
	int h;
};

static struct fx *fx_new(uint64_t mem_size, uint32_t flags, bool start)
{
	struct dvm_vm_config cfg = {.mem_size = mem_size, .flags = flags};
	struct fx *f = calloc(1, sizeof(*f));
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_PC_TESTDEV};

	dvm_register_builtin_devices();
	assert_int_equal(dvm_vm_create(&cfg, &f->vm), 0);
	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	f->h = (int)cd.fd;
	if (start)
		assert_int_equal(dvm_vm_start(f->vm), 0);
	return f;
}

static int setup(void **state)
{
	*state = fx_new(1 << 20, DVM_VM_NO_KVM, false);
	return 0;
}

static int setup_started(void **state)
{
	*state = fx_new(1 << 20, DVM_VM_NO_KVM, true);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dvm_vm_shutdown(f->vm);
	free(f);
	return 0;
}

static uint64_t bus_io(struct dvm_vm *vm, enum dvm_bus_space space, uint64_t a, unsigned len,
		       bool write, uint64_t v, bool *claimed)
{
	uint64_t data = write ? v : 0x5a5a5a5a5a5a5a5aull;
	bool c = dvm_bus_access(vm, space, a, &data, len, write);

	if (claimed)
		*claimed = c;
	if (!write && len < 8)
		data &= (1ull << (8 * len)) - 1;
	return write ? 0 : data;
}

static uint64_t in(struct dvm_vm *vm, uint16_t port, unsigned len)
{
	bool claimed;
	uint64_t v = bus_io(vm, DVM_BUS_PIO, port, len, false, 0, &claimed);

	assert_true(claimed);
	return v;
}

static void out(struct dvm_vm *vm, uint16_t port, unsigned len, uint64_t v)
{
	bool claimed;

	bus_io(vm, DVM_BUS_PIO, port, len, true, v, &claimed);
	assert_true(claimed);
}

static uint64_t mread(struct dvm_vm *vm, uint64_t off, unsigned len)
{
	bool claimed;
	uint64_t v = bus_io(vm, DVM_BUS_MMIO, IOMEM + off, len, false, 0, &claimed);

	assert_true(claimed);
	return v;
}

static void mwrite(struct dvm_vm *vm, uint64_t off, unsigned len, uint64_t v)
{
	bool claimed;

	bus_io(vm, DVM_BUS_MMIO, IOMEM + off, len, true, v, &claimed);
	assert_true(claimed);
}

static struct dvm_pc_testdev_state get_regs(struct fx *f)
{
	struct dvm_pc_testdev_state s;

	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, DVM_PC_TESTDEV_STATE_REGS, &s),
	    0);
	return s;
}

static int set_regs(struct fx *f, const struct dvm_pc_testdev_state *s)
{
	return dvm_device_set(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, DVM_PC_TESTDEV_STATE_REGS, s);
}

/* ---- no KVM ---- */

static void schema_and_singleton(void **state)
{
	struct fx *f = *state;
	const struct dvm_device_ops *ops = dvm_device_ops_by_type(DVM_DEV_TYPE_PC_TESTDEV);
	const struct dvm_attr_desc *d;
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_PC_TESTDEV};
	bool claimed = true;
	uint32_t v;

	assert_non_null(ops);
	assert_ptr_equal(dvm_device_ops_by_name("pc-testdev"), ops);
	d = dvm_attr_by_name(ops, "regs");
	assert_non_null(d);
	assert_int_equal(d->kind, DVM_ATTR_STATE);
	assert_int_equal(d->size, sizeof(struct dvm_pc_testdev_state));
	d = dvm_attr_by_name(ops, "iomem");
	assert_non_null(d);
	assert_int_equal(d->kind, DVM_ATTR_STATE);
	assert_int_equal(d->size, IOMEM_SIZE);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, 0), 0);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, 1), 0);
	assert_int_equal(dvm_device_has(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, 2), -ENXIO);
	assert_int_equal(dvm_device_has(f->vm, f->h, 0, 0), -ENXIO);
	assert_int_equal(dvm_device_get(f->vm, f->h, 0, 0, &v), -ENXIO);
	assert_int_equal(dvm_create_device(f->vm, &cd), -EEXIST);
	/* Nothing on the buses before start. */
	bus_io(f->vm, DVM_BUS_PIO, LATCH, 1, false, 0, &claimed);
	assert_false(claimed);
	bus_io(f->vm, DVM_BUS_MMIO, IOMEM, 4, false, 0, &claimed);
	assert_false(claimed);
}

static void latch_widths_and_offsets(void **state)
{
	struct fx *f = *state;

	out(f->vm, LATCH, 4, 0x12345678);
	assert_int_equal(in(f->vm, LATCH, 4), 0x12345678);
	for (unsigned o = 0; o < 4; o++)
		assert_int_equal(in(f->vm, LATCH + o, 1), (0x12345678u >> (8 * o)) & 0xff);
	assert_int_equal(in(f->vm, LATCH, 2), 0x5678);
	assert_int_equal(in(f->vm, LATCH + 1, 2), 0x3456);
	assert_int_equal(in(f->vm, LATCH + 2, 2), 0x1234);
	out(f->vm, LATCH + 2, 1, 0xab);
	assert_int_equal(in(f->vm, LATCH, 4), 0x12ab5678);
	out(f->vm, LATCH + 1, 2, 0xcdef);
	assert_int_equal(in(f->vm, LATCH, 4), 0x12cdef78);
	/* Past 0xe3: those bytes go nowhere and read all-ones. */
	out(f->vm, LATCH + 2, 4, 0x44332211);
	assert_int_equal(in(f->vm, LATCH, 4), 0x2211ef78);
	assert_int_equal(in(f->vm, LATCH + 3, 2), 0xff22);
	assert_int_equal(in(f->vm, LATCH + 1, 4), 0xff2211ef);
	assert_int_equal(in(f->vm, LATCH, 8), 0xffffffff2211ef78ull);
	assert_int_equal(get_regs(f).latch, 0x2211ef78);

	/* The alias is the same latch. */
	out(f->vm, ALIAS, 4, 0x89abcdef);
	assert_int_equal(in(f->vm, LATCH, 4), 0x89abcdef);
	out(f->vm, ALIAS + 2, 1, 0x11);
	assert_int_equal(in(f->vm, LATCH, 4), 0x8911cdef);
	assert_int_equal(in(f->vm, ALIAS + 1, 2), 0x11cd);
	assert_int_equal(in(f->vm, ALIAS + 3, 1), 0x89);
	out(f->vm, LATCH, 2, 0x0000);
	assert_int_equal(in(f->vm, ALIAS, 4), 0x89110000);
	out(f->vm, ALIAS + 3, 2, 0x7766);
	assert_int_equal(in(f->vm, ALIAS, 4), 0x66110000);
}

static void string_io_is_repeated_access(void **state)
{
	struct fx *f = *state;
	static const char s[] = "abcdefghijklmnop";

	/* rep outsb: one access per element; the last one stays. */
	for (unsigned i = 0; i < 16; i++)
		out(f->vm, LATCH, 1, (uint8_t)s[i]);
	assert_int_equal(in(f->vm, LATCH, 1), 'p');
	for (unsigned i = 16; i-- > 0;)
		out(f->vm, LATCH, 1, (uint8_t)s[i]);
	assert_int_equal(in(f->vm, LATCH, 1), 'a');
	/* rep outsw, as amd_sev.c does; then rep insb reads the same byte. */
	for (unsigned i = 0; i < 16; i += 2)
		out(f->vm, LATCH, 2, (uint8_t)s[i] | (uint8_t)s[i + 1] << 8);
	assert_int_equal(in(f->vm, LATCH, 2), 'o' | 'p' << 8);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(in(f->vm, LATCH, 1), 'o');
}

/* The lines of /proc/self/maps that overlap [p, p+len), and whether any is
 * executable or not read-write. */
static unsigned maps_over(const void *p, size_t len, bool *odd_perms)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned n = 0;
	uintptr_t a = (uintptr_t)p;

	assert_non_null(fp);
	*odd_perms = false;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (hi <= a || lo >= a + len)
			continue;
		n++;
		if (strncmp(perms, "rw-", 3) != 0)
			*odd_perms = true;
	}
	fclose(fp);
	return n;
}

/* Whether the page at p is mapped writable, per /proc/self/maps. */
static bool page_writable(const void *p)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	bool w = false;
	uintptr_t a = (uintptr_t)p;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && lo <= a && a < hi)
			w = perms[1] == 'w';
	}
	fclose(fp);
	return w;
}

/*
 * Whether a guest write to the page-drop port dropped the page at gpa.  A
 * drop can't be seen from outside KVM except through the protection change
 * it makes, so the test makes the page read-only first: a drop leaves it
 * read-write again.
 */
static bool flush_drops(struct fx *f, uint16_t port, unsigned len, uint64_t v, uint64_t gpa)
{
	void *pg = dvm_vm_gpa_to_hva(f->vm, gpa & ~4095ull, 4096);
	bool dropped;

	assert_non_null(pg);
	assert_int_equal(mprotect(pg, 4096, PROT_READ), 0);
	assert_false(page_writable(pg));
	out(f->vm, port, len, v);
	dropped = page_writable(pg);
	assert_int_equal(mprotect(pg, 4096, PROT_READ | PROT_WRITE), 0);
	return dropped;
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 131 + 7);
}

/* What a drop must leave: contents, a read-write mapping, one VMA. */
static void check_drop_leaves_memory(struct fx *f, uint64_t gpa)
{
	uint64_t size = dvm_vm_mem_size(f->vm);
	uint8_t *all = dvm_vm_gpa_to_hva(f->vm, 0, size < 0xc0000000ull ? size : 0xc0000000ull);
	uint8_t *pg = dvm_vm_gpa_to_hva(f->vm, gpa & ~4095ull, 4096);
	bool odd;

	assert_non_null(all);
	assert_non_null(pg);
	for (unsigned i = 0; i < 4096; i++)
		pg[i] = pattern(i + gpa);
	assert_int_equal(dvm_vm_drop_guest_page(f->vm, gpa), 0);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(pg[i], pattern(i + gpa));
	pg[0] ^= 0xff; /* still writable */
	pg[0] ^= 0xff;
	assert_int_equal(maps_over(all, size, &odd), 1);
	assert_false(odd);
}

static void drop_guest_page_core(void **state)
{
	(void)state;
	/* Above 3 GiB RAM continues at 4 GiB: both halves, lazily backed. */
	struct fx *f = fx_new(0xc0000000ull + (1 << 20), DVM_VM_NO_KVM, true);

	check_drop_leaves_memory(f, 0);
	check_drop_leaves_memory(f, 0x12345);
	check_drop_leaves_memory(f, 0xbffff000);
	check_drop_leaves_memory(f, 0x100000000ull);
	check_drop_leaves_memory(f, 0x1000fffffull);
	/* Not RAM: the hole, the PCI window, past the end. */
	assert_int_equal(dvm_vm_drop_guest_page(f->vm, 0xc0000000ull), -EFAULT);
	assert_int_equal(dvm_vm_drop_guest_page(f->vm, 0xff000000ull), -EFAULT);
	assert_int_equal(dvm_vm_drop_guest_page(f->vm, 0x100100000ull), -EFAULT);
	assert_int_equal(dvm_vm_drop_guest_page(f->vm, ~0ull), -EFAULT);
	teardown((void **)&f);
}

static void flush_port(void **state)
{
	struct fx *f = *state;
	uint8_t *pg = dvm_vm_gpa_to_hva(f->vm, 0x5000, 4096);
	bool odd;

	for (unsigned i = 0; i < 4096; i++)
		pg[i] = pattern(i);
	/* A dword at 0xe4 drops the page holding the address. */
	assert_true(flush_drops(f, FLUSH, 4, 0x5000, 0x5000));
	assert_true(flush_drops(f, FLUSH, 4, 0x5fff, 0x5000));
	assert_true(flush_drops(f, FLUSH, 4, 0x0, 0x0));
	assert_false(flush_drops(f, FLUSH, 4, 0x6000, 0x5000));
	/* Other widths and offsets: ignored. */
	assert_false(flush_drops(f, FLUSH, 1, 0x00, 0x0));
	assert_false(flush_drops(f, FLUSH, 2, 0x5000, 0x5000));
	assert_false(flush_drops(f, FLUSH, 8, 0x5000, 0x5000));
	assert_false(flush_drops(f, FLUSH + 1, 4, 0x5000, 0x5000));
	assert_false(flush_drops(f, FLUSH + 2, 2, 0x5000, 0x5000));
	/* Only the low 32 bits are an address; not RAM: ignored. */
	out(f->vm, FLUSH, 4, 0xff000000);
	out(f->vm, FLUSH, 4, 0xffffffff);
	out(f->vm, FLUSH, 4, 1 << 20);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(pg[i], pattern(i));
	assert_int_equal(maps_over(dvm_vm_gpa_to_hva(f->vm, 0, 1 << 20), 1 << 20, &odd), 1);
	assert_false(odd);
	/* Reads: nothing there. */
	for (unsigned o = 0; o < 4; o++)
		assert_int_equal(in(f->vm, FLUSH + o, 4), 0xffffffffu);
	/* The latch is untouched. */
	out(f->vm, LATCH, 4, 0xdeadbeef);
	out(f->vm, FLUSH, 4, 0x5000);
	assert_int_equal(in(f->vm, LATCH, 4), 0xdeadbeef);
}

static void irq_lines(void **state)
{
	struct fx *f = *state;
	bool claimed;

	for (unsigned n = 0; n < DVM_PC_TESTDEV_NR_IRQS; n++) {
		assert_int_equal(dvm_irq_get_line(f->vm, n), 0);
		out(f->vm, IRQ + n, 1, 1);
		assert_int_equal(dvm_irq_get_line(f->vm, n), 1);
		assert_int_equal(get_regs(f).irq_lines, 1u << n);
		out(f->vm, IRQ + n, 1, 0);
		assert_int_equal(dvm_irq_get_line(f->vm, n), 0);
		assert_int_equal(get_regs(f).irq_lines, 0);
	}
	/* The truth of the whole value written, at any width. */
	out(f->vm, IRQ + 9, 1, 0x80);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 1);
	out(f->vm, IRQ + 9, 2, 0x0000);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 0);
	out(f->vm, IRQ + 9, 2, 0x0100);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 1);
	out(f->vm, IRQ + 9, 4, 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 0);
	out(f->vm, IRQ + 9, 8, 1ull << 63);
	assert_int_equal(dvm_irq_get_line(f->vm, 9), 1);
	assert_int_equal(dvm_irq_get_line(f->vm, 10), 0); /* only line 9 */
	out(f->vm, IRQ + 9, 4, 0);
	/* Raising twice, lowering once: low (a level, not a count). */
	out(f->vm, IRQ + 3, 1, 1);
	out(f->vm, IRQ + 3, 1, 1);
	out(f->vm, IRQ + 3, 1, 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 3), 0);
	/* Reads are nothing; 0x2018 is not the device's. */
	assert_int_equal(in(f->vm, IRQ, 1), 0xff);
	assert_int_equal(in(f->vm, IRQ + 23, 4), 0xffffffffu);
	bus_io(f->vm, DVM_BUS_PIO, IRQ + 24, 1, true, 1, &claimed);
	assert_false(claimed);
	bus_io(f->vm, DVM_BUS_PIO, IRQ - 1, 1, true, 1, &claimed);
	assert_false(claimed);
}

static void iomem_widths(void **state)
{
	struct fx *f = *state;
	static const unsigned lens[] = {1, 2, 4, 8};
	static const uint64_t offs[] = {0, 1, 3, 7, 0x100, 0x7ff9, IOMEM_SIZE - 8};
	bool claimed;

	/* Zero at reset. */
	assert_int_equal(mread(f->vm, 0, 8), 0);
	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
		for (unsigned l = 0; l < 4; l++) {
			uint64_t v = 0x8877665544332211ull ^ (offs[o] * 0x0101010101010101ull);
			uint64_t mask = lens[l] == 8 ? ~0ull : (1ull << (8 * lens[l])) - 1;
			mwrite(f->vm, offs[o], 8, 0);
			mwrite(f->vm, offs[o], lens[l], v);
			assert_true(mread(f->vm, offs[o], lens[l]) == (v & mask));
			/* Little-endian: byte i of the value at offset + i. */
			for (unsigned i = 0; i < 8; i++)
				assert_int_equal(mread(f->vm, offs[o] + i, 1),
						 i < lens[l] ? (v >> (8 * i)) & 0xff : 0);
		}
	mwrite(f->vm, 0x10, 4, 0x11223344);
	assert_int_equal(mread(f->vm, 0x11, 2), 0x2233);
	assert_int_equal(mread(f->vm, 0x12, 1), 0x22);
	/* Running past the end: only the window's bytes are kept. */
	mwrite(f->vm, IOMEM_SIZE - 8, 8, 0);
	mwrite(f->vm, IOMEM_SIZE - 4, 8, 0x8877665544332211ull);
	assert_int_equal(mread(f->vm, IOMEM_SIZE - 4, 4), 0x44332211);
	assert_true(mread(f->vm, IOMEM_SIZE - 4, 8) == 0xffffffff44332211ull);
	assert_int_equal(mread(f->vm, IOMEM_SIZE - 1, 2), 0xff44);
	/* Around the window: nobody. */
	bus_io(f->vm, DVM_BUS_MMIO, IOMEM + IOMEM_SIZE, 4, false, 0, &claimed);
	assert_false(claimed);
	bus_io(f->vm, DVM_BUS_MMIO, IOMEM - 1, 1, false, 0, &claimed);
	assert_false(claimed);
}

static void state_round_trip(void **state)
{
	struct fx *f = *state;
	struct dvm_pc_testdev_state s, t;
	uint8_t *mem = malloc(IOMEM_SIZE), *back = malloc(IOMEM_SIZE);

	out(f->vm, LATCH, 4, 0xa5a55a5a);
	out(f->vm, IRQ + 3, 1, 1);
	out(f->vm, IRQ + 17, 1, 1);
	for (unsigned i = 0; i < IOMEM_SIZE; i += 8)
		mwrite(f->vm, i, 8, i * 0x0001000100010001ull);
	s = get_regs(f);
	assert_int_equal(s.latch, 0xa5a55a5a);
	assert_int_equal(s.irq_lines, 1u << 3 | 1u << 17);
	assert_int_equal(s.reserved[0] | s.reserved[1], 0);
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, DVM_PC_TESTDEV_STATE_IOMEM, mem),
	    0);
	assert_true(mem[8] == 8 && mem[IOMEM_SIZE - 8] == (uint8_t)(IOMEM_SIZE - 8));

	/* The guest changes everything; the saved state brings it back. */
	out(f->vm, LATCH, 4, 0);
	out(f->vm, IRQ + 3, 1, 0);
	out(f->vm, IRQ + 5, 1, 1);
	for (unsigned i = 0; i < IOMEM_SIZE; i += 8)
		mwrite(f->vm, i, 8, ~0ull);
	assert_int_equal(set_regs(f, &s), 0);
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, DVM_PC_TESTDEV_STATE_IOMEM, mem),
	    0);
	t = get_regs(f);
	assert_memory_equal(&s, &t, sizeof(s));
	assert_int_equal(in(f->vm, LATCH, 4), 0xa5a55a5a);
	/* The lines follow the restored state. */
	assert_int_equal(dvm_irq_get_line(f->vm, 3), 1);
	assert_int_equal(dvm_irq_get_line(f->vm, 5), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 17), 1);
	for (unsigned i = 0; i < IOMEM_SIZE; i += 8)
		assert_true(mread(f->vm, i, 8) == i * 0x0001000100010001ull);
	assert_int_equal(
	    dvm_device_get(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, DVM_PC_TESTDEV_STATE_IOMEM, back),
	    0);
	assert_memory_equal(mem, back, IOMEM_SIZE);
	free(mem);
	free(back);
}

static void state_before_start(void **state)
{
	struct fx *f = *state; /* not started */
	struct dvm_pc_testdev_state s = {.latch = 0x01020304, .irq_lines = 1u << 7 | 1u << 23};
	uint8_t *mem = calloc(1, IOMEM_SIZE);

	mem[0x1234] = 0x42;
	assert_int_equal(set_regs(f, &s), 0);
	assert_int_equal(
	    dvm_device_set(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE, DVM_PC_TESTDEV_STATE_IOMEM, mem),
	    0);
	/* The lines are driven once the machine starts. */
	assert_int_equal(dvm_irq_get_line(f->vm, 7), 0);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(dvm_irq_get_line(f->vm, 7), 1);
	assert_int_equal(dvm_irq_get_line(f->vm, 23), 1);
	assert_int_equal(in(f->vm, LATCH, 4), 0x01020304);
	assert_int_equal(mread(f->vm, 0x1234, 1), 0x42);
	free(mem);
}

static void state_rejection(void **state)
{
	struct fx *f = *state;
	struct dvm_pc_testdev_state good, bad, now;

	out(f->vm, LATCH, 4, 0x11111111);
	out(f->vm, IRQ + 2, 1, 1);
	good = get_regs(f);
	static const struct {
		uint32_t lines, r0, r1;
	} cases[] = {{1u << 24, 0, 0}, {1u << 31, 0, 0}, {0, 1, 0}, {0, 0, 0x100}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = good;
		bad.latch = 0x22222222;
		bad.irq_lines |= cases[i].lines;
		bad.reserved[0] = cases[i].r0;
		bad.reserved[1] = cases[i].r1;
		assert_int_equal(set_regs(f, &bad), -EINVAL);
		now = get_regs(f);
		assert_memory_equal(&now, &good, sizeof(now));
		assert_int_equal(dvm_irq_get_line(f->vm, 2), 1);
	}
	/* All 24 lines is legal. */
	bad = (struct dvm_pc_testdev_state){.latch = ~0u, .irq_lines = 0xffffff};
	assert_int_equal(set_regs(f, &bad), 0);
	for (unsigned n = 0; n < DVM_PC_TESTDEV_NR_IRQS; n++)
		assert_int_equal(dvm_irq_get_line(f->vm, n), 1);
	assert_int_equal(dvm_device_set(f->vm, f->h, DVM_PC_TESTDEV_GRP_STATE,
					DVM_PC_TESTDEV_STATE_IOMEM, (void *)16),
			 -EFAULT);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void guest_garbage(void **state)
{
	struct fx *f = *state;
	static const unsigned lens[] = {1, 2, 4, 8};
	uint8_t *ram = dvm_vm_gpa_to_hva(f->vm, 0, 1 << 20);

	memset(ram, 0x3c, 1 << 20);
	/* Every port of the device and around it, every width, both ways.
	 * Writes to 0xe4 here are any values: RAM pages get dropped, the rest
	 * ignored. */
	for (unsigned round = 0; round < 8; round++) {
		for (uint16_t p = 0xd8; p < 0xf4; p++)
			for (unsigned l = 0; l < 4; l++) {
				uint64_t v = rnd();
				if (p == FLUSH && (round & 1))
					v &= 0xfffff; /* in RAM */
				bus_io(f->vm, DVM_BUS_PIO, p, lens[l], true, v, NULL);
				bus_io(f->vm, DVM_BUS_PIO, p, lens[l], false, 0, NULL);
			}
		for (uint16_t p = 0x1ff0; p < 0x2020; p++)
			for (unsigned l = 0; l < 4; l++) {
				bus_io(f->vm, DVM_BUS_PIO, p, lens[l], true, rnd() & 3, NULL);
				bus_io(f->vm, DVM_BUS_PIO, p, lens[l], false, 0, NULL);
			}
	}
	/* The memory window, any offset, width and value, and its edges. */
	for (unsigned i = 0; i < 50000; i++) {
		uint64_t a = IOMEM - 16 + rnd() % (IOMEM_SIZE + 32);
		bus_io(f->vm, DVM_BUS_MMIO, a, lens[rnd() & 3], rnd() & 1, rnd(), NULL);
	}
	/* Invariants: RAM intact, the lines match the state, the state is legal. */
	for (unsigned i = 0; i < 1 << 20; i++)
		if (ram[i] != 0x3c)
			fail_msg("RAM byte %#x changed", i);
	struct dvm_pc_testdev_state s = get_regs(f);
	assert_int_equal(s.irq_lines >> DVM_PC_TESTDEV_NR_IRQS, 0);
	for (unsigned n = 0; n < DVM_PC_TESTDEV_NR_IRQS; n++)
		assert_int_equal(dvm_irq_get_line(f->vm, n), (s.irq_lines >> n) & 1);
	assert_int_equal(set_regs(f, &s), 0);
}

/* ---- KVM ---- */

/*
 * A drop on a KVM VM whose slot maps the page, then a vCPU that reads it:
 * real-mode code at 0x1000 loads the byte at 0x3000 and writes it to
 * debug-exit, so the VM's status is (byte << 1) | 1.
 */
static void drop_on_kvm_vm(void **state)
{
	(void)state;
	struct fx *f = fx_new(2 << 20, 0, false);
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_PIC};
	static const uint8_t code[] = {
	    0xa0, 0x00, 0x30, /* mov al, [0x3000] */
	    0xe6, 0xf4,	      /* out 0xf4, al */
	    0xeb, 0xfe,	      /* jmp $ */
	};
	uint8_t *pg = dvm_vm_gpa_to_hva(f->vm, 0x3000, 4096);
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = 0x1000, .rflags = 2};
	bool odd;

	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	cd.type = DVM_DEV_TYPE_DEBUG_EXIT;
	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	cd.type = DVM_DEV_TYPE_VCPU;
	assert_int_equal(dvm_create_device(f->vm, &cd), 0);
	int vcpu = (int)cd.fd;
	memcpy(dvm_vm_gpa_to_hva(f->vm, 0x1000, sizeof(code)), code, sizeof(code));
	assert_int_equal(dvm_device_get(f->vm, vcpu, DVM_VCPU_GRP_SREGS, 0, &s), 0);
	s.cs.base = 0;
	s.cs.selector = 0;
	s.ds.base = 0;
	s.ds.selector = 0;
	assert_int_equal(dvm_device_set(f->vm, vcpu, DVM_VCPU_GRP_SREGS, 0, &s), 0);
	assert_int_equal(dvm_device_set(f->vm, vcpu, DVM_VCPU_GRP_REGS, 0, &r), 0);

	for (unsigned i = 0; i < 4096; i++)
		pg[i] = pattern(i);
	pg[0] = 0x2a;
	/* Straight through the core, and through the device's port. */
	check_drop_leaves_memory(f, 0x1000);
	memcpy(dvm_vm_gpa_to_hva(f->vm, 0x1000, sizeof(code)), code, sizeof(code));
	assert_int_equal(dvm_vm_drop_guest_page(f->vm, 0x3000), 0);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	out(f->vm, FLUSH, 4, 0x3000);
	out(f->vm, FLUSH, 4, 0x1000);
	assert_int_equal(pg[0], 0x2a);
	assert_int_equal(dvm_vm_wait(f->vm, NULL, NULL), 0x2a << 1 | 1);
	for (unsigned i = 1; i < 4096; i++)
		assert_int_equal(pg[i], pattern(i));
	assert_int_equal(maps_over(dvm_vm_gpa_to_hva(f->vm, 0, 2 << 20), 2 << 20, &odd), 1);
	assert_false(odd);
	teardown((void **)&f);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--kvm") == 0) {
		int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			printf("SKIP: /dev/kvm not available (%s)\n", strerror(errno));
			return 77;
		}
		close(fd);
		const struct CMUnitTest kvm_tests[] = {
		    cmocka_unit_test(drop_on_kvm_vm),
		};
		return cmocka_run_group_tests(kvm_tests, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(schema_and_singleton, setup, teardown),
	    cmocka_unit_test_setup_teardown(latch_widths_and_offsets, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(string_io_is_repeated_access, setup_started, teardown),
	    cmocka_unit_test(drop_guest_page_core),
	    cmocka_unit_test_setup_teardown(flush_port, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(irq_lines, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(iomem_widths, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(state_round_trip, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(state_before_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(state_rejection, setup_started, teardown),
	    cmocka_unit_test_setup_teardown(guest_garbage, setup_started, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
