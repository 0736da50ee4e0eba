// SPDX-License-Identifier: MIT
/*
 * Loader unit tests: images synthesised here (ELF64, multiboot ELF32 and
 * a.out kludge, bzImage headers, flat) are loaded into calloc'ed guest
 * memory and the entry state and boot structures checked field by field;
 * malformed images must fail with the expected errno and a message.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "dvm/boot.h"

#define MiB (1024ull * 1024)
#define TEST_RAM (16 * MiB)

static struct dvm_guest_mem mem;
static struct dvm_boot_state st;
static char err[256];
static uint8_t img[64 * 1024];

static int setup(void **state)
{
	(void)state;
	mem.size = TEST_RAM;
	mem.host = malloc(TEST_RAM);
	if (!mem.host)
		return -1;
	/* Garbage, so zeroing (bss, boot structures) is observable. */
	memset(mem.host, 0xaa, TEST_RAM);
	memset(img, 0, sizeof(img));
	memset(&st, 0x55, sizeof(st));
	err[0] = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(mem.host);
	mem.host = NULL;
	return 0;
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem.host + gpa, 4);
	return v;
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem.host + gpa, 8);
	return v;
}

static void wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

#define assert_fails(call, want)                                                                   \
	do {                                                                                       \
		err[0] = 0;                                                                        \
		assert_int_equal((call), (want));                                                  \
		assert_true(strlen(err) > 0);                                                      \
		assert_null(strchr(err, '\n'));                                                    \
	} while (0)

/* ---- image builders ---- */

struct seg {
	uint64_t offset, filesz, paddr, vaddr, memsz;
	uint32_t type;
};

/* ELF64 header + program headers at 64; returns the size used by headers. */
static size_t build_elf64(uint64_t entry, const struct seg *segs, unsigned n)
{
	Elf64_Ehdr eh = {0};

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)n;
	memcpy(img, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr ph = {
		    .p_type = segs[i].type ? segs[i].type : PT_LOAD,
		    .p_flags = PF_R | PF_X,
		    .p_offset = segs[i].offset,
		    .p_vaddr = segs[i].vaddr ? segs[i].vaddr : segs[i].paddr,
		    .p_paddr = segs[i].paddr,
		    .p_filesz = segs[i].filesz,
		    .p_memsz = segs[i].memsz,
		    .p_align = 0x1000,
		};
		memcpy(img + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	return sizeof(eh) + n * sizeof(Elf64_Phdr);
}

static size_t build_elf32(uint64_t entry, const struct seg *segs, unsigned n)
{
	Elf32_Ehdr eh = {0};

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_entry = (uint32_t)entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	eh.e_phnum = (uint16_t)n;
	memcpy(img, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf32_Phdr ph = {
		    .p_type = segs[i].type ? segs[i].type : PT_LOAD,
		    .p_flags = PF_R | PF_X,
		    .p_offset = (uint32_t)segs[i].offset,
		    .p_vaddr = (uint32_t)(segs[i].vaddr ? segs[i].vaddr : segs[i].paddr),
		    .p_paddr = (uint32_t)segs[i].paddr,
		    .p_filesz = (uint32_t)segs[i].filesz,
		    .p_memsz = (uint32_t)segs[i].memsz,
		    .p_align = 0x1000,
		};
		memcpy(img + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	return sizeof(eh) + n * sizeof(Elf32_Phdr);
}

static void put_mb_header(size_t off, uint32_t flags)
{
	wr32(img + off, 0x1BADB002);
	wr32(img + off + 4, flags);
	wr32(img + off + 8, (uint32_t) - (0x1BADB002u + flags));
}

static void fill_pattern(size_t off, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		img[off + i] = (uint8_t)(seed + i * 7);
}

static bool guest_has_pattern(uint64_t gpa, size_t off, size_t len)
{
	return memcmp(mem.host + gpa, img + off, len) == 0;
}

static bool guest_is_zero(uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (mem.host[gpa + i])
			return false;
	return true;
}

static void assert_flat_segment(const struct kvm_segment *s, uint16_t sel, uint8_t type, int db,
				int l)
{
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffff);
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->db, db);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->l, l);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->unusable, 0);
}

static void assert_data_segments(const struct kvm_sregs *s)
{
	const struct kvm_segment *segs[] = {&s->ds, &s->es, &s->fs, &s->gs, &s->ss};

	for (unsigned i = 0; i < 5; i++)
		assert_flat_segment(segs[i], 0x18, 0x3, 1, 0);
	assert_int_equal(s->tr.present, 1);
	assert_int_equal(s->tr.type, 0xb);
	assert_int_equal(s->tr.s, 0);
	assert_int_equal(s->ldt.type, 0x2);
	assert_int_equal(s->gdt.base, 0x1000);
	assert_int_equal(s->gdt.limit, 5 * 8 - 1);
}

static void assert_long_mode_entry(void)
{
	const struct kvm_sregs *s = &st.sregs;

	assert_flat_segment(&s->cs, 0x10, 0xb, 0, 1);
	assert_data_segments(s);
	assert_int_equal(s->cr0 & 0x80000001, 0x80000001);
	assert_int_equal(s->cr4 & 0x20, 0x20);
	assert_int_equal(s->efer & 0x500, 0x500);
	assert_int_equal(s->cr3, 0x2000);
	assert_int_equal(s->apic_base & ~0xfffull, 0xfee00000);
	assert_int_equal(st.regs.rflags, 2);
	assert_int_equal(st.regs.rsp, 0x80000);
	/* GDT: 0x10 64-bit code, 0x18 flat data. */
	assert_int_equal(rd64(0x1000), 0);
	assert_int_equal(rd64(0x1010), 0x00af9b000000ffffull);
	assert_int_equal(rd64(0x1018), 0x00cf93000000ffffull);
	/* Identity map of 4 GiB with 2 MiB pages. */
	assert_int_equal(rd64(0x2000), 0x3000 | 3);
	assert_int_equal(rd64(0x2008), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(rd64(0x3000 + 8 * i), (0x4000 + 0x1000 * i) | 3);
	assert_int_equal(rd64(0x3020), 0);
	assert_int_equal(rd64(0x4000), 0x83);
	assert_int_equal(rd64(0x4008), 0x200000 | 0x83);
	assert_int_equal(rd64(0x4000 + 8 * 2047), 0xffe00000ull | 0x83);
}

static void assert_protected_mode_entry(void)
{
	const struct kvm_sregs *s = &st.sregs;

	assert_flat_segment(&s->cs, 0x10, 0xb, 1, 0);
	assert_data_segments(s);
	assert_int_equal(s->cr0 & 0x80000001, 1);
	assert_int_equal(s->cr4, 0);
	assert_int_equal(s->efer, 0);
	assert_int_equal(st.regs.rflags, 2);
	assert_int_equal(rd64(0x1010), 0x00cf9b000000ffffull);
	assert_int_equal(rd64(0x1018), 0x00cf93000000ffffull);
}

/* ---- ELF64 ---- */

static const struct dvm_boot_params no_params;

static size_t valid_elf64(void)
{
	struct seg segs[] = {
	    {.offset = 0x1000, .filesz = 0x300, .paddr = 0x100000, .memsz = 0x300},
	    {.offset = 0x2000, .filesz = 0x100, .paddr = 0x200000, .memsz = 0x2000},
	};

	build_elf64(0x100010, segs, 2);
	fill_pattern(0x1000, 0x300, 1);
	fill_pattern(0x2000, 0x100, 2);
	return 0x2100;
}

static void test_elf64_valid(void **state)
{
	size_t len = valid_elf64();

	(void)state;
	assert_int_equal(dvm_load_elf64(&mem, img, len, &no_params, &st, err, sizeof(err)), 0);
	assert_int_equal(st.regs.rip, 0x100010);
	assert_long_mode_entry();
	assert_true(guest_has_pattern(0x100000, 0x1000, 0x300));
	assert_true(guest_has_pattern(0x200000, 0x2000, 0x100));
	assert_true(guest_is_zero(0x200100, 0x2000 - 0x100));
	assert_int_equal(mem.host[0x202000], 0xaa); /* nothing past memsz */
	assert_int_equal(dvm_image_detect(img, len), DVM_IMAGE_ELF64);
	/* Through the dispatcher too. */
	assert_int_equal(
	    dvm_load_image(&mem, img, len, NULL, &st, DVM_IMAGE_UNKNOWN, err, sizeof(err)), 0);
	assert_int_equal(st.regs.rip, 0x100010);
}

static void test_elf64_virtual_entry(void **state)
{
	/* Higher-half link address, loaded physically: entry is translated. */
	struct seg segs[] = {{.offset = 0x1000,
			      .filesz = 0x100,
			      .paddr = 0x100000,
			      .vaddr = 0xffffffff80100000ull,
			      .memsz = 0x100}};

	(void)state;
	build_elf64(0xffffffff80100040ull, segs, 1);
	assert_int_equal(dvm_load_elf64(&mem, img, 0x1100, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(st.regs.rip, 0x100040);
}

static void test_elf64_malformed(void **state)
{
	size_t len;
	struct seg one[] = {{.offset = 0x1000, .filesz = 0x100, .paddr = 0x100000, .memsz = 0x100}};
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));

	(void)state;
#define LOAD64(l) dvm_load_elf64(&mem, img, (l), &no_params, &st, err, sizeof(err))
	len = valid_elf64();
	assert_fails(LOAD64(40), -ENOEXEC); /* truncated header */
	assert_fails(LOAD64(3), -ENOEXEC);
	img[0] = 0x7e;
	assert_fails(LOAD64(len), -ENOEXEC); /* bad magic */
	assert_int_equal(dvm_image_detect(img, len), DVM_IMAGE_UNKNOWN);

	len = valid_elf64();
	img[EI_CLASS] = ELFCLASS32;
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	eh->e_machine = EM_386;
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	eh->e_type = ET_DYN;
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	eh->e_phentsize = 32;
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	eh->e_phnum = 0;
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	eh->e_phoff = len - 10; /* table runs off the file */
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	eh->e_phoff = UINT64_MAX - 8; /* offset + size overflows */
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	eh->e_phnum = 0xfff0; /* table far beyond the file */
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	ph[0].p_type = PT_NOTE;
	ph[1].p_type = PT_DYNAMIC;
	assert_fails(LOAD64(len), -ENOEXEC); /* no PT_LOAD */

	len = valid_elf64();
	ph[0].p_filesz = 0x400; /* > memsz */
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	ph[1].p_offset = len - 0x10; /* data beyond file */
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	ph[1].p_offset = UINT64_MAX - 0x10; /* offset + filesz overflows */
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	ph[1].p_paddr = UINT64_MAX - 0x100; /* address + memsz overflows */
	assert_fails(LOAD64(len), -ENOEXEC);

	len = valid_elf64();
	ph[1].p_paddr = TEST_RAM - 0x1000; /* beyond RAM */
	assert_fails(LOAD64(len), -ENOMEM);

	len = valid_elf64();
	ph[1].p_memsz = 0x40000000; /* bss beyond RAM */
	assert_fails(LOAD64(len), -ENOMEM);

	len = valid_elf64();
	ph[0].p_paddr = ph[0].p_vaddr = 0x7ff00; /* overlaps the boot area */
	assert_fails(LOAD64(len), -EINVAL);
	len = valid_elf64();
	ph[0].p_paddr = ph[0].p_vaddr = 0xe00; /* page 0 into the GDT */
	assert_fails(LOAD64(len), -EINVAL);

	len = valid_elf64();
	eh->e_entry = 0x300000; /* entry outside every segment */
	assert_fails(LOAD64(len), -ENOEXEC);

	/* Too many PT_LOAD segments. */
	{
		struct seg many[65];

		for (unsigned i = 0; i < 65; i++)
			many[i] = one[0];
		build_elf64(0x100000, many, 65);
		assert_fails(LOAD64(0x1100), -E2BIG);
	}

	/* Nothing was written on failure: guest memory untouched. */
	assert_int_equal(mem.host[0x100000], 0xaa);
	assert_int_equal(mem.host[0x1010], 0xaa);

	/* Too little RAM for the boot area. */
	len = valid_elf64();
	mem.size = 512 * 1024;
	assert_fails(LOAD64(len), -ENOMEM);
	mem.size = TEST_RAM;
	assert_fails(dvm_load_elf64(NULL, img, len, NULL, &st, err, sizeof(err)), -EINVAL);
	/* A NULL err buffer is allowed. */
	assert_int_equal(dvm_load_elf64(&mem, img, 40, NULL, &st, NULL, 0), -ENOEXEC);
#undef LOAD64
}

/* ---- multiboot ---- */

#define MB_HDR_OFF 0x1000 /* within the first segment's file bytes */

/* A multiboot ELF32: text at 1 MiB (header inside it), bss up to 0x105000. */
static size_t valid_mb_elf(void)
{
	struct seg segs[] = {
	    {.offset = 0x1000, .filesz = 0x800, .paddr = 0x100000, .memsz = 0x800},
	    {.offset = 0x1800, .filesz = 0x100, .paddr = 0x101000, .memsz = 0x4000},
	};

	build_elf32(0x10000c, segs, 2);
	fill_pattern(0x1000, 0x900, 3);
	put_mb_header(MB_HDR_OFF, 0x3);
	return 0x1900;
}

static const char *gstr(uint32_t gpa)
{
	return (const char *)mem.host + gpa;
}

static void test_multiboot_elf_valid(void **state)
{
	static const char mod0[] = "first line\nsecond\n";
	static uint8_t mod1[5000];
	struct dvm_boot_module mods[] = {
	    {.name = "mod0.txt arg", .data = mod0, .len = sizeof(mod0) - 1},
	    {.name = "mod1.bin", .data = mod1, .len = sizeof(mod1)},
	};
	struct dvm_boot_params p = {
	    .image_path = "/path/kernel.elf",
	    .cmdline = "console=ttyS0 exit=3",
	    .modules = mods,
	    .nr_modules = 2,
	};
	size_t len = valid_mb_elf();
	uint32_t info, mmap, mods_addr;

	(void)state;
	memset(mod1, 0x5a, sizeof(mod1));
	assert_int_equal(dvm_image_detect(img, len), DVM_IMAGE_MULTIBOOT);
	assert_int_equal(dvm_load_multiboot(&mem, img, len, &p, &st, err, sizeof(err)), 0);
	assert_protected_mode_entry();
	assert_int_equal(st.regs.rip, 0x10000c);
	assert_int_equal(st.regs.rax, 0x2BADB002);
	assert_int_equal(st.regs.rsp, 0x80000);
	info = (uint32_t)st.regs.rbx;
	assert_int_equal(info, 0x9000);
	assert_true(info >= 0x1000); /* never page 0 */
	assert_true(guest_has_pattern(0x100000, 0x1000, 0x800));
	assert_true(guest_has_pattern(0x101000, 0x1800, 0x100));
	assert_true(guest_is_zero(0x101100, 0x4000 - 0x100));

	/* flags: MEM, CMDLINE, MODS, MMAP, BOOT_LOADER_NAME */
	assert_int_equal(rd32(info), 0x1 | 0x4 | 0x8 | 0x40 | 0x200);
	assert_int_equal(rd32(info + 4), 640);
	assert_int_equal(rd32(info + 8), (TEST_RAM - MiB) / 1024);
	assert_string_equal(gstr(rd32(info + 16)), "/path/kernel.elf console=ttyS0 exit=3");
	assert_string_equal(gstr(rd32(info + 64)), "dvm");
	assert_true(rd32(info + 16) >= 0x9000 && rd32(info + 16) < 0x70000);

	/* Memory map: low RAM, EBDA, BIOS, RAM above 1 MiB. */
	assert_int_equal(rd32(info + 44), 4 * 24);
	mmap = rd32(info + 48);
	assert_true(mmap >= 0x9000);
	{
		static const uint64_t want[4][3] = {{0, 0x9fc00, 1},
						    {0x9fc00, 0x400, 2},
						    {0xe0000, 0x20000, 2},
						    {0x100000, TEST_RAM - 0x100000, 1}};

		for (unsigned i = 0; i < 4; i++) {
			uint32_t e = mmap + 24 * i;

			assert_int_equal(rd32(e), 20);
			assert_int_equal(rd64(e + 4), want[i][0]);
			assert_int_equal(rd64(e + 12), want[i][1]);
			assert_int_equal(rd32(e + 20), want[i][2]);
		}
	}

	/* Modules: page aligned after the kernel's end (0x105000), in order. */
	assert_int_equal(rd32(info + 20), 2);
	mods_addr = rd32(info + 24);
	assert_true(mods_addr >= 0x9000 && mods_addr < 0x70000);
	assert_int_equal(rd32(mods_addr), 0x105000);
	assert_int_equal(rd32(mods_addr + 4), 0x105000 + sizeof(mod0) - 1);
	assert_string_equal(gstr(rd32(mods_addr + 8)), "mod0.txt arg");
	assert_memory_equal(mem.host + 0x105000, mod0, sizeof(mod0) - 1);
	assert_int_equal(rd32(mods_addr + 16), 0x106000);
	assert_int_equal(rd32(mods_addr + 20), 0x106000 + sizeof(mod1));
	assert_string_equal(gstr(rd32(mods_addr + 24)), "mod1.bin");
	assert_memory_equal(mem.host + 0x106000, mod1, sizeof(mod1));
}

static void test_multiboot_no_cmdline(void **state)
{
	struct dvm_boot_params p = {.image_path = "hello.elf"};
	size_t len = valid_mb_elf();
	uint32_t info;

	(void)state;
	assert_int_equal(
	    dvm_load_image(&mem, img, len, &p, &st, DVM_IMAGE_UNKNOWN, err, sizeof(err)), 0);
	info = (uint32_t)st.regs.rbx;
	assert_string_equal(gstr(rd32(info + 16)), "hello.elf");
	assert_int_equal(rd32(info + 20), 0);
}

static void test_multiboot_ram_cap(void **state)
{
	/* 4 GiB of address space, only the pages touched get backed. */
	struct dvm_guest_mem big = {.size = 4096 * MiB};
	struct dvm_guest_mem saved = mem;
	size_t len = valid_mb_elf();
	uint32_t info, map;

	(void)state;
	big.host = mmap(NULL, big.size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big.host == MAP_FAILED)
		skip();
	mem = big;
	assert_int_equal(dvm_load_multiboot(&mem, img, len, NULL, &st, err, sizeof(err)), 0);
	info = (uint32_t)st.regs.rbx;
	assert_int_equal(rd32(info + 8), (3072 * MiB - MiB) / 1024);
	map = rd32(info + 48);
	assert_int_equal(rd64(map + 3 * 24 + 4), 0x100000);
	assert_int_equal(rd64(map + 3 * 24 + 12), 3072 * MiB - MiB);
	munmap(big.host, big.size);
	mem = saved;
}

/* a.out kludge: header at file offset 0x40 describing load at 0x200000. */
static size_t valid_aout(void)
{
	const size_t hdr = 0x40;

	fill_pattern(0, 0x1000, 9);
	put_mb_header(hdr, 0x10003);
	wr32(img + hdr + 12, 0x200040); /* header_addr */
	wr32(img + hdr + 16, 0x200000); /* load_addr */
	wr32(img + hdr + 20, 0x200800); /* load_end_addr */
	wr32(img + hdr + 24, 0x203000); /* bss_end_addr */
	wr32(img + hdr + 28, 0x200100); /* entry_addr */
	return 0x1000;
}

static void test_multiboot_aout_valid(void **state)
{
	size_t len = valid_aout();

	(void)state;
	assert_int_equal(dvm_image_detect(img, len), DVM_IMAGE_MULTIBOOT);
	assert_int_equal(dvm_load_multiboot(&mem, img, len, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(st.regs.rip, 0x200100);
	assert_int_equal(st.regs.rax, 0x2BADB002);
	assert_true(guest_has_pattern(0x200000, 0, 0x800));
	assert_true(guest_is_zero(0x200800, 0x2800));
	assert_int_equal(mem.host[0x203000], 0xaa);
	assert_protected_mode_entry();

	/* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss. */
	valid_aout();
	wr32(img + 0x40 + 20, 0);
	wr32(img + 0x40 + 24, 0);
	assert_int_equal(dvm_load_multiboot(&mem, img, len, NULL, &st, err, sizeof(err)), 0);
	assert_true(guest_has_pattern(0x200000, 0, 0x1000));
}

static void test_multiboot_malformed(void **state)
{
	size_t len;
	struct dvm_boot_module mod = {.name = "big", .data = img, .len = TEST_RAM};
	struct dvm_boot_params p = {.modules = &mod, .nr_modules = 1};
	Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(Elf32_Ehdr));

	(void)state;
#define LOADMB(l, prm) dvm_load_multiboot(&mem, img, (l), (prm), &st, err, sizeof(err))
	len = valid_mb_elf();
	wr32(img + MB_HDR_OFF + 8, 0x12345678);
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	assert_non_null(strstr(err, "checksum"));
	assert_int_not_equal(dvm_image_detect(img, len), DVM_IMAGE_MULTIBOOT);

	len = valid_mb_elf();
	wr32(img + MB_HDR_OFF, 0); /* no header at all */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);

	/* A header past the first 8192 bytes does not count. */
	len = valid_mb_elf();
	wr32(img + MB_HDR_OFF, 0);
	put_mb_header(8192, 0x3);
	assert_fails(LOADMB(0x3000, NULL), -ENOEXEC);
	/* Nor does a misaligned one. */
	len = valid_mb_elf();
	wr32(img + MB_HDR_OFF, 0);
	put_mb_header(0x1002, 0x3);
	assert_fails(LOADMB(len, NULL), -ENOEXEC);

	len = valid_mb_elf();
	put_mb_header(MB_HDR_OFF, 0x3 | 0x8); /* requirement bit we cannot meet */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);

	/* ELF64 with a multiboot header (no a.out kludge) is refused. */
	{
		struct seg s[] = {
		    {.offset = 0x1000, .filesz = 0x800, .paddr = 0x100000, .memsz = 0x800}};

		build_elf64(0x100000, s, 1);
		put_mb_header(MB_HDR_OFF, 0x3);
		assert_int_equal(dvm_image_detect(img, 0x1800), DVM_IMAGE_MULTIBOOT);
		assert_fails(LOADMB(0x1800, NULL), -ENOEXEC);
	}

	len = valid_mb_elf();
	ph[1].p_filesz = 0x5000; /* > memsz */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	len = valid_mb_elf();
	ph[1].p_offset = 0xfffffff0; /* beyond the file */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	len = valid_mb_elf();
	ph[1].p_paddr = ph[1].p_vaddr = 0xfffff000; /* beyond RAM */
	assert_fails(LOADMB(len, NULL), -ENOMEM);
	len = valid_mb_elf();
	ph[1].p_paddr = ph[1].p_vaddr = 0x1000; /* over the GDT */
	assert_fails(LOADMB(len, NULL), -EINVAL);
	len = valid_mb_elf();
	ph[1].p_paddr = ph[1].p_vaddr = 0xef000; /* over the firmware tables */
	assert_fails(LOADMB(len, NULL), -EINVAL);
	/* Over the info area is allowed, as under QEMU: the info moves after the image. */
	len = valid_mb_elf();
	ph[1].p_paddr = ph[1].p_vaddr = 0x9000;
	assert_int_equal(LOADMB(len, NULL), 0);
	assert_true(st.regs.rbx >= 0x100800);
	/* All in low memory (kvm-unit-tests' realmode.flat loads at 0x8000):
	 * the info goes after the image, below the EBDA. */
	{
		struct seg low[] = {
		    {.offset = 0x1000, .filesz = 0x800, .paddr = 0x8000, .memsz = 0x800},
		    {.offset = 0x1800, .filesz = 0x100, .paddr = 0xb000, .memsz = 0x2a30},
		};
		build_elf32(0x800c, low, 2);
		put_mb_header(MB_HDR_OFF, 0x3);
		struct dvm_boot_params prm = {.image_path = "low.flat", .cmdline = "x"};
		assert_int_equal(LOADMB(0x1900, &prm), 0);
		assert_true(st.regs.rbx >= 0xe000 && st.regs.rbx < 0x9fc00);
		assert_int_equal(st.regs.rip, 0x800c);
		assert_string_equal(gstr(rd32(st.regs.rbx + 16)), "low.flat x");
	}

	/* a.out kludge inconsistencies. */
	len = valid_aout();
	assert_fails(LOADMB(0x50, NULL), -ENOEXEC); /* header fields truncated */
	len = valid_aout();
	wr32(img + 0x40 + 12, 0x1fff00); /* header_addr below load_addr */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	len = valid_aout();
	wr32(img + 0x40 + 12, 0x300000); /* load would start before the file */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	len = valid_aout();
	wr32(img + 0x40 + 20, 0x1ff000); /* load_end below load_addr */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	len = valid_aout();
	wr32(img + 0x40 + 20, 0x280000); /* load range beyond the file */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	len = valid_aout();
	wr32(img + 0x40 + 24, 0x200400); /* bss_end below load_end */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);
	len = valid_aout();
	wr32(img + 0x40 + 16, 0x40);
	wr32(img + 0x40 + 12, 0x80);
	wr32(img + 0x40 + 20, 0);
	wr32(img + 0x40 + 24, 0);
	wr32(img + 0x40 + 28, 0x40);
	assert_fails(LOADMB(len, NULL), -EINVAL); /* loads into the GDT page */
	len = valid_aout();
	wr32(img + 0x40 + 24, 0xfffff000); /* bss beyond RAM */
	assert_fails(LOADMB(len, NULL), -ENOMEM);
	len = valid_aout();
	wr32(img + 0x40 + 28, 0x300000); /* entry outside the image */
	assert_fails(LOADMB(len, NULL), -ENOEXEC);

	/* Module bigger than the RAM left. */
	len = valid_mb_elf();
	assert_fails(LOADMB(len, &p), -ENOMEM);
	mod.len = TEST_RAM - 0x105000 + 1;
	assert_fails(LOADMB(len, &p), -ENOMEM);
	{
		/* Exactly fits: up to the last byte of RAM. */
		void *data = calloc(1, TEST_RAM - 0x105000);

		assert_non_null(data);
		mod.data = data;
		mod.len = TEST_RAM - 0x105000;
		assert_int_equal(LOADMB(len, &p), 0);
		free(data);
	}

	/* Module count without a list. */
	p.modules = NULL;
	assert_fails(LOADMB(len, &p), -EINVAL);

	/* Command line larger than the info area. */
	{
		size_t big = 0x70000;
		char *cmd = malloc(big);
		struct dvm_boot_params pc = {.image_path = "k", .cmdline = cmd};

		assert_non_null(cmd);
		memset(cmd, 'x', big - 1);
		cmd[big - 1] = 0;
		assert_fails(LOADMB(len, &pc), -E2BIG);
		free(cmd);
	}
#undef LOADMB
}

/* ---- bzImage ---- */

#define BZ_SETUP_SECTS 4
#define BZ_SETUP_SIZE ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_KERNEL_SIZE 0x2000

static size_t valid_bzimage(void)
{
	img[0x1f1] = BZ_SETUP_SECTS;
	wr16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	wr16(img + 0x206, 0x020f);
	img[0x211] = 0x01;	       /* LOADED_HIGH */
	wr32(img + 0x214, 0x100000);   /* code32_start */
	wr32(img + 0x22c, 0x37ffffff); /* initrd_addr_max */
	wr32(img + 0x230, 0x200000);   /* kernel_alignment */
	img[0x234] = 0;		       /* not relocatable */
	wr16(img + 0x236, 0x1);	       /* XLF_KERNEL_64 */
	wr32(img + 0x238, 255);	       /* cmdline_size */
	wr64(img + 0x258, 0x1000000);  /* pref_address */
	wr32(img + 0x260, 0x10000);    /* init_size */
	fill_pattern(BZ_SETUP_SIZE, BZ_KERNEL_SIZE, 4);
	return BZ_SETUP_SIZE + BZ_KERNEL_SIZE;
}

static void test_bzimage_valid(void **state)
{
	static uint8_t initrd[5000];
	struct dvm_boot_params p = {
	    .cmdline = "console=ttyS0 root=/dev/vda",
	    .initrd = initrd,
	    .initrd_len = sizeof(initrd),
	};
	size_t len = valid_bzimage();
	const uint64_t zp = 0x8000;
	uint64_t initrd_addr;

	(void)state;
	memset(initrd, 0x77, sizeof(initrd));
	assert_int_equal(dvm_image_detect(img, len), DVM_IMAGE_BZIMAGE);
	assert_int_equal(dvm_load_bzimage(&mem, img, len, &p, &st, err, sizeof(err)), 0);
	assert_long_mode_entry();
	assert_int_equal(st.regs.rip, 0x100200);
	assert_int_equal(st.regs.rsi, zp);
	assert_true(guest_has_pattern(0x100000, BZ_SETUP_SIZE, BZ_KERNEL_SIZE));

	/* Zero page: setup header copied, loader fields filled. */
	assert_true(guest_is_zero(zp, 0x1e8));
	assert_memory_equal(mem.host + zp + 0x202, "HdrS", 4);
	assert_int_equal(rd32(zp + 0x206) & 0xffff, 0x020f);
	assert_int_equal(mem.host[zp + 0x210], 0xff); /* type_of_loader */
	assert_int_equal(rd32(zp + 0x228), 0x9000);   /* cmd_line_ptr */
	assert_int_equal(rd32(zp + 0xc8), 0);	      /* ext_cmd_line_ptr */
	assert_string_equal(gstr(0x9000), "console=ttyS0 root=/dev/vda");
	assert_int_equal(rd32(zp + 0x260), 0x10000); /* init_size kept */
	assert_true(guest_is_zero(zp + 0x26c, 0x2d0 - 0x26c));

	/* Initrd: top of RAM (below initrd_addr_max), page aligned. */
	initrd_addr = (TEST_RAM - sizeof(initrd)) & ~0xfffull;
	assert_int_equal(rd32(zp + 0x218), initrd_addr);
	assert_int_equal(rd32(zp + 0x21c), sizeof(initrd));
	assert_int_equal(rd32(zp + 0xc0), 0);
	assert_memory_equal(mem.host + initrd_addr, initrd, sizeof(initrd));

	/* e820 */
	assert_int_equal(mem.host[zp + 0x1e8], 4);
	{
		static const uint64_t want[4][3] = {{0, 0x9fc00, 1},
						    {0x9fc00, 0x400, 2},
						    {0xe0000, 0x20000, 2},
						    {0x100000, TEST_RAM - 0x100000, 1}};

		for (unsigned i = 0; i < 4; i++) {
			uint64_t e = zp + 0x2d0 + 20 * i;

			assert_int_equal(rd64(e), want[i][0]);
			assert_int_equal(rd64(e + 8), want[i][1]);
			assert_int_equal(rd32(e + 16), want[i][2]);
		}
		assert_true(guest_is_zero(zp + 0x2d0 + 80, 20));
	}
}

static void test_bzimage_placement(void **state)
{
	size_t len = valid_bzimage();
	static uint8_t initrd[100];
	struct dvm_boot_params p = {.initrd = initrd, .initrd_len = sizeof(initrd)};

	(void)state;
	/* Relocatable with a preferred address that fits. */
	img[0x234] = 1;
	wr64(img + 0x258, 0x400000);
	assert_int_equal(dvm_load_bzimage(&mem, img, len, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(st.regs.rip, 0x400200);
	assert_true(guest_has_pattern(0x400000, BZ_SETUP_SIZE, BZ_KERNEL_SIZE));
	/* One that does not fit: back to 1 MiB. */
	wr64(img + 0x258, TEST_RAM);
	assert_int_equal(dvm_load_bzimage(&mem, img, len, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(st.regs.rip, 0x100200);
	/* No cmdline: an empty string. */
	assert_int_equal(mem.host[0x9000], 0);

	/* initrd_addr_max below RAM top caps the initrd. */
	len = valid_bzimage();
	wr32(img + 0x22c, 0x7fffff);
	assert_int_equal(dvm_load_bzimage(&mem, img, len, &p, &st, err, sizeof(err)), 0);
	assert_int_equal(rd32(0x8000 + 0x218), 0x7ff000);
	/* setup_sects 0 means 4. */
	len = valid_bzimage();
	img[0x1f1] = 0;
	assert_int_equal(dvm_load_bzimage(&mem, img, len, NULL, &st, err, sizeof(err)), 0);
	assert_true(guest_has_pattern(0x100000, BZ_SETUP_SIZE, BZ_KERNEL_SIZE));
}

static void test_bzimage_malformed(void **state)
{
	size_t len;
	static uint8_t initrd[0x2000];
	struct dvm_boot_params p = {.initrd = initrd};
	char cmd[300];

	(void)state;
#define LOADBZ(l, prm) dvm_load_bzimage(&mem, img, (l), (prm), &st, err, sizeof(err))
	len = valid_bzimage();
	assert_fails(LOADBZ(0x260, NULL), -ENOEXEC); /* truncated header */
	/* A kernel part too short to hold the 64-bit entry at +0x200 (fuzz_loader). */
	len = valid_bzimage();
	assert_fails(LOADBZ((BZ_SETUP_SECTS + 1) * 512 + 0x200, NULL), -ENOEXEC);
	assert_non_null(strstr(err, "64-bit entry"));
	len = valid_bzimage();
	img[0x202] = 'X';
	assert_fails(LOADBZ(len, NULL), -ENOEXEC);
	assert_int_equal(dvm_image_detect(img, len), DVM_IMAGE_UNKNOWN);
	len = valid_bzimage();
	wr16(img + 0x206, 0x020b); /* 2.11: no 64-bit entry */
	assert_fails(LOADBZ(len, NULL), -ENOEXEC);
	len = valid_bzimage();
	wr16(img + 0x236, 0);
	assert_fails(LOADBZ(len, NULL), -ENOEXEC);
	len = valid_bzimage();
	img[0x211] = 0; /* zImage */
	assert_fails(LOADBZ(len, NULL), -ENOEXEC);
	len = valid_bzimage();
	img[0x1f1] = 200; /* setup bigger than the file */
	assert_fails(LOADBZ(len, NULL), -ENOEXEC);
	len = valid_bzimage();
	wr32(img + 0x260, 0xf0000000); /* init_size beyond RAM */
	assert_fails(LOADBZ(len, NULL), -ENOMEM);

	/* Command line longer than cmdline_size. */
	len = valid_bzimage();
	memset(cmd, 'c', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = 0;
	p.cmdline = cmd;
	assert_fails(LOADBZ(len, &p), -E2BIG);
	cmd[255] = 0; /* exactly cmdline_size */
	assert_int_equal(LOADBZ(len, &p), 0);
	p.cmdline = NULL;

	/* initrd that cannot fit above the kernel. */
	p.initrd_len = sizeof(initrd);
	wr32(img + 0x22c, 0x110000);
	assert_fails(LOADBZ(len, &p), -ENOMEM);
	len = valid_bzimage();
	p.initrd_len = TEST_RAM;
	assert_fails(LOADBZ(len, &p), -ENOMEM);
	p.initrd = NULL;
	p.initrd_len = 10;
	assert_fails(LOADBZ(len, &p), -EINVAL);
#undef LOADBZ
}

/* ---- flat ---- */

static void test_flat(void **state)
{
	struct dvm_boot_params p = {.flat_load_addr = 0x100000};

	(void)state;
	fill_pattern(0, 0x300, 5);
	assert_int_equal(dvm_image_detect(img, 0x300), DVM_IMAGE_UNKNOWN);
	assert_int_equal(
	    dvm_load_image(&mem, img, 0x300, &p, &st, DVM_IMAGE_FLAT, err, sizeof(err)), 0);
	assert_int_equal(st.regs.rip, 0x100000);
	assert_int_equal(st.regs.rsp, 0x80000);
	assert_protected_mode_entry();
	assert_true(guest_has_pattern(0x100000, 0, 0x300));

#define LOADFLAT(l) dvm_load_flat(&mem, img, (l), &p, &st, err, sizeof(err))
	assert_fails(LOADFLAT(0), -ENOEXEC);
	p.flat_load_addr = TEST_RAM - 0x100;
	assert_fails(LOADFLAT(0x300), -ENOMEM);
	p.flat_load_addr = UINT64_MAX - 0x10;
	assert_fails(LOADFLAT(0x300), -ENOMEM);
	p.flat_load_addr = 0x7ff00;
	assert_fails(LOADFLAT(0x300), -EINVAL);
	p.flat_load_addr = 0;
	assert_fails(LOADFLAT(0x1001), -EINVAL);
	assert_int_equal(LOADFLAT(0x1000), 0); /* page 0 only is fine */
#undef LOADFLAT
}

/* ---- detection and dispatch ---- */

static void test_detect_and_dispatch(void **state)
{
	(void)state;
	assert_int_equal(dvm_image_detect(NULL, 0), DVM_IMAGE_UNKNOWN);
	assert_int_equal(dvm_image_detect(img, 0), DVM_IMAGE_UNKNOWN);
	assert_int_equal(dvm_image_detect(img, sizeof(img)), DVM_IMAGE_UNKNOWN);
	assert_fails(
	    dvm_load_image(&mem, img, sizeof(img), NULL, &st, DVM_IMAGE_UNKNOWN, err, sizeof(err)),
	    -ENOEXEC);
	assert_fails(dvm_load_image(&mem, img, sizeof(img), NULL, &st, (enum dvm_image_format)42,
				    err, sizeof(err)),
		     -EINVAL);
	/* Forcing a format overrides detection. */
	valid_mb_elf();
	assert_fails(
	    dvm_load_image(&mem, img, 0x1900, NULL, &st, DVM_IMAGE_ELF64, err, sizeof(err)),
	    -ENOEXEC);
	assert_string_equal(dvm_image_format_name(DVM_IMAGE_ELF64), "elf64");
	assert_string_equal(dvm_image_format_name(DVM_IMAGE_MULTIBOOT), "multiboot");
	assert_string_equal(dvm_image_format_name(DVM_IMAGE_BZIMAGE), "bzimage");
	assert_string_equal(dvm_image_format_name(DVM_IMAGE_FLAT), "flat");
	assert_string_equal(dvm_image_format_name(DVM_IMAGE_UNKNOWN), "unknown");
	/* A truncated error buffer still gets a terminated message. */
	{
		char small[8];

		assert_int_equal(dvm_load_elf64(&mem, img, 3, NULL, &st, small, sizeof(small)),
				 -ENOEXEC);
		assert_int_equal(strlen(small), sizeof(small) - 1);
	}
}

/* ---- the bundled guests ---- */

static void *read_file(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	void *buf;
	long size;

	snprintf(path, sizeof(path), "%s/%s", DVM_TEST_GUEST_DIR, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(size);
	if (buf && fread(buf, 1, size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)size;
	return buf;
}

static void test_built_guests(void **state)
{
	static const struct {
		const char *name;
		enum dvm_image_format fmt;
	} guests[] = {
	    {"hello.elf", DVM_IMAGE_MULTIBOOT},	 {"timer.elf", DVM_IMAGE_MULTIBOOT},
	    {"reboot.elf", DVM_IMAGE_MULTIBOOT}, {"mbmods.elf", DVM_IMAGE_MULTIBOOT},
	    {"long64.elf", DVM_IMAGE_ELF64},	 {"flat.bin", DVM_IMAGE_UNKNOWN},
	};
	struct dvm_boot_params p = {.image_path = "guest", .flat_load_addr = 0x100000};

	(void)state;
	for (unsigned i = 0; i < sizeof(guests) / sizeof(guests[0]); i++) {
		size_t len = 0;
		void *image = read_file(guests[i].name, &len);
		enum dvm_image_format force =
		    guests[i].fmt == DVM_IMAGE_UNKNOWN ? DVM_IMAGE_FLAT : DVM_IMAGE_UNKNOWN;

		if (!image)
			fail_msg("cannot read guest %s from %s", guests[i].name,
				 DVM_TEST_GUEST_DIR);
		assert_int_equal(dvm_image_detect(image, len), guests[i].fmt);
		err[0] = 0;
		if (dvm_load_image(&mem, image, len, &p, &st, force, err, sizeof(err)))
			fail_msg("%s: %s", guests[i].name, err);
		assert_true(st.regs.rip >= 0x100000 && st.regs.rip < 0x110000);
		free(image);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_elf64_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_elf64_virtual_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_elf64_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiboot_elf_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiboot_no_cmdline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiboot_ram_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiboot_aout_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiboot_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bzimage_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bzimage_placement, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bzimage_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detect_and_dispatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_built_guests, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
