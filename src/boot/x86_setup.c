// SPDX-License-Identifier: MIT
/* Shared loader helpers: errors, bounds, memory map, x86 entry state. */
#include "boot/x86_setup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int boot_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int boot_check_mem(const struct dvm_guest_mem *mem, const void *image, char *err, size_t errlen)
{
	if (!mem || !mem->host)
		return boot_fail(err, errlen, -EINVAL, "no guest memory to load into");
	if (!image)
		return boot_fail(err, errlen, -EINVAL, "no image");
	if (mem->size < BOOT_MIN_RAM)
		return boot_fail(err, errlen, -ENOMEM,
				 "guest RAM too small: %llu bytes, loaders need at least 1 MiB",
				 (unsigned long long)mem->size);
	return 0;
}

uint64_t boot_ram_top(const struct dvm_guest_mem *mem)
{
	return mem->size < BOOT_RAM_CAP ? mem->size : BOOT_RAM_CAP;
}

bool boot_range_in_ram(const struct dvm_guest_mem *mem, uint64_t addr, uint64_t len)
{
	uint64_t top = boot_ram_top(mem);

	return addr <= top && len <= top - addr;
}

bool boot_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	if (!alen || !blen)
		return false;
	return a < b + blen && b < a + alen;
}

/* The boot area, and the BIOS area where the machine writes ACPI and MP tables. */
bool boot_range_hits_boot_area(uint64_t addr, uint64_t len)
{
	return boot_ranges_overlap(addr, len, BOOT_AREA_START, BOOT_AREA_END - BOOT_AREA_START) ||
	       boot_ranges_overlap(addr, len, BOOT_BIOS_START, BOOT_HIGH_START - BOOT_BIOS_START);
}

uint16_t boot_rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint32_t boot_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t boot_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

void boot_wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

void boot_wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

void boot_wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

unsigned boot_build_e820(const struct dvm_guest_mem *mem, struct boot_e820 *map)
{
	uint64_t top = boot_ram_top(mem);
	uint64_t low_end = top < BOOT_EBDA_START ? top : BOOT_EBDA_START;
	unsigned n = 0;

	map[n++] = (struct boot_e820){0, low_end, E820_RAM};
	map[n++] =
	    (struct boot_e820){BOOT_EBDA_START, BOOT_VGA_START - BOOT_EBDA_START, E820_RESERVED};
	map[n++] =
	    (struct boot_e820){BOOT_BIOS_START, BOOT_HIGH_START - BOOT_BIOS_START, E820_RESERVED};
	if (top > BOOT_HIGH_START)
		map[n++] = (struct boot_e820){BOOT_HIGH_START, top - BOOT_HIGH_START, E820_RAM};
	return n;
}

/* GDT descriptors: flat 4 GiB, present, DPL 0, accessed. */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull

/* Page-table entry bits. */
#define PTE_PRESENT 0x1ull
#define PTE_WRITE 0x2ull
#define PTE_LARGE 0x80ull

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

static void flat_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type, bool long_code)
{
	*seg = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = long_code ? 0 : 1, /* L=1 requires D=0 */
	    .s = 1,
	    .l = long_code ? 1 : 0,
	    .g = 1,
	};
}

static void write_identity_page_tables(struct dvm_guest_mem *mem)
{
	uint8_t *pml4 = mem->host + BOOT_PML4_ADDR;
	uint8_t *pdpt = mem->host + BOOT_PDPT_ADDR;
	uint8_t *pd = mem->host + BOOT_PD_ADDR;

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	boot_wr64(pml4, BOOT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE);
	for (unsigned gib = 0; gib < 4; gib++)
		boot_wr64(pdpt + 8 * gib,
			  (BOOT_PD_ADDR + 0x1000ull * gib) | PTE_PRESENT | PTE_WRITE);
	/* 4 directories of 512 entries, each mapping 2 MiB: 0..4 GiB. */
	for (uint64_t i = 0; i < 4 * 512; i++)
		boot_wr64(pd + 8 * i, (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE);
}

void boot_setup_cpu(struct dvm_guest_mem *mem, enum boot_cpu_mode mode, struct dvm_boot_state *out)
{
	bool long_mode = mode == BOOT_MODE_LONG64;
	uint8_t *gdt = mem->host + BOOT_GDT_ADDR;
	struct kvm_sregs *s = &out->sregs;

	/* Entry 2 (0x10) is the entry code segment, as Linux's boot protocol wants. */
	memset(gdt, 0, 0x1000);
	boot_wr64(gdt + BOOT_SEL_CODE, long_mode ? GDT_CODE64 : GDT_CODE32);
	boot_wr64(gdt + BOOT_SEL_DATA, GDT_DATA);
	boot_wr64(gdt + 0x20, long_mode ? GDT_CODE32 : GDT_CODE64);

	flat_segment(&s->cs, BOOT_SEL_CODE, 0xb, long_mode);
	flat_segment(&s->ds, BOOT_SEL_DATA, 0x3, false);
	s->es = s->fs = s->gs = s->ss = s->ds;

	/* KVM checks TR and LDTR too: a busy TSS and an (empty) LDT. */
	s->tr = (struct kvm_segment){.limit = 0xffff, .type = 0xb, .present = 1};
	s->ldt = (struct kvm_segment){.limit = 0xffff, .type = 0x2, .present = 1};

	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = 5 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;

	s->cr0 = CR0_PE | CR0_ET;
	s->cr4 = 0;
	s->efer = 0;
	if (long_mode) {
		write_identity_page_tables(mem);
		s->cr3 = BOOT_PML4_ADDR;
		s->cr4 |= CR4_PAE;
		s->cr0 |= CR0_PG;
		s->efer |= EFER_LME | EFER_LMA;
	}
	/* The LAPIC at its default address, enabled, this CPU the BSP: KVM_SET_SREGS
	 * applies apic_base, and 0 would disable the LAPIC. */
	s->apic_base = 0xfee00000ull | 0x800 | 0x100;
	out->regs.rflags = 0x2;
	out->regs.rsp = BOOT_STACK_TOP;
}

int boot_check_segment(const struct dvm_guest_mem *mem, size_t image_len,
		       const struct boot_segment *seg, unsigned index, bool gdt_only, char *err,
		       size_t errlen)
{
	if (seg->filesz > seg->memsz)
		return boot_fail(err, errlen, -ENOEXEC,
				 "segment %u: file size 0x%llx exceeds memory size 0x%llx", index,
				 (unsigned long long)seg->filesz, (unsigned long long)seg->memsz);
	if (seg->offset > image_len || seg->filesz > image_len - seg->offset)
		return boot_fail(
		    err, errlen, -ENOEXEC,
		    "segment %u: file range 0x%llx+0x%llx is beyond the %zu-byte image", index,
		    (unsigned long long)seg->offset, (unsigned long long)seg->filesz, image_len);
	if (seg->paddr + seg->memsz < seg->paddr)
		return boot_fail(err, errlen, -ENOEXEC,
				 "segment %u: address 0x%llx+0x%llx overflows", index,
				 (unsigned long long)seg->paddr, (unsigned long long)seg->memsz);
	if (!boot_range_in_ram(mem, seg->paddr, seg->memsz))
		return boot_fail(err, errlen, -ENOMEM,
				 "segment %u: 0x%llx-0x%llx is beyond guest RAM (0x%llx bytes)",
				 index, (unsigned long long)seg->paddr,
				 (unsigned long long)(seg->paddr + seg->memsz),
				 (unsigned long long)boot_ram_top(mem));
	if (gdt_only ? boot_ranges_overlap(seg->paddr, seg->memsz, BOOT_GDT_ADDR, 0x1000) ||
			   boot_ranges_overlap(seg->paddr, seg->memsz, BOOT_BIOS_START,
					       BOOT_HIGH_START - BOOT_BIOS_START)
		     : boot_range_hits_boot_area(seg->paddr, seg->memsz))
		return boot_fail(err, errlen, -EINVAL,
				 "segment %u: 0x%llx-0x%llx overlaps memory dvm reserves (%s)",
				 index, (unsigned long long)seg->paddr,
				 (unsigned long long)(seg->paddr + seg->memsz),
				 gdt_only ? BOOT_RESERVED_MULTIBOOT_TEXT : BOOT_RESERVED_TEXT);
	return 0;
}

void boot_copy_segment(struct dvm_guest_mem *mem, const uint8_t *image,
		       const struct boot_segment *seg)
{
	memcpy(mem->host + seg->paddr, image + seg->offset, seg->filesz);
	memset(mem->host + seg->paddr + seg->filesz, 0, seg->memsz - seg->filesz);
}

bool boot_entry_to_phys(const struct boot_segment *segs, unsigned nr, uint64_t entry,
			uint64_t *phys)
{
	/* A virtual entry inside a segment maps to its load address (higher-half
	 * kernels link virtually but load physically). */
	for (unsigned i = 0; i < nr; i++) {
		if (entry >= segs[i].vaddr && entry - segs[i].vaddr < segs[i].memsz) {
			*phys = segs[i].paddr + (entry - segs[i].vaddr);
			return true;
		}
	}
	for (unsigned i = 0; i < nr; i++) {
		if (entry >= segs[i].paddr && entry - segs[i].paddr < segs[i].memsz) {
			*phys = entry;
			return true;
		}
	}
	return false;
}
