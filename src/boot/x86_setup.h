/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the loaders: the fixed low-memory boot area, error
 * reporting, bounds checks, the e820-style memory map and the x86 entry
 * state (GDT, identity page tables, segment registers).
 *
 * Guest physical layout used by every loader (the "boot area"):
 *   0x00000-0x00fff  left alone (guests reuse page 0, e.g. as AP trampoline)
 *   0x01000-0x01fff  GDT (null, null, 0x10 code, 0x18 data, 0x20 other code)
 *   0x02000-0x02fff  PML4                      (ELF64 and bzImage only)
 *   0x03000-0x03fff  PDPT
 *   0x04000-0x07fff  4 page directories: identity map of 0-4 GiB, 2 MiB pages
 *   0x08000-0x08fff  Linux boot_params (zero page)
 *   0x09000-0x6ffff  multiboot info, memory map, module list and strings;
 *                    the Linux command line
 *   0x70000-0x7ffff  boot stack: RSP/ESP = 0x80000 on entry
 * No image may load anything into [0x1000, 0x80000) or the BIOS area
 * [0xe0000, 0x100000) (ACPI and MP tables); loaders refuse it.  Multiboot
 * images are the exception, as under QEMU: they may use all of low memory
 * but the GDT page, and when they cover the info area the info goes
 * right after the image instead.
 */
#ifndef DVM_BOOT_X86_SETUP_H
#define DVM_BOOT_X86_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dvm/boot.h"

#define BOOT_AREA_START 0x1000ull
#define BOOT_AREA_END 0x80000ull
#define BOOT_GDT_ADDR 0x1000ull
#define BOOT_PML4_ADDR 0x2000ull
#define BOOT_PDPT_ADDR 0x3000ull
#define BOOT_PD_ADDR 0x4000ull
#define BOOT_ZERO_PAGE_ADDR 0x8000ull
#define BOOT_INFO_START 0x9000ull
#define BOOT_INFO_END 0x70000ull
#define BOOT_STACK_TOP 0x80000ull

#define BOOT_SEL_CODE 0x10
#define BOOT_SEL_DATA 0x18

/* Loaders need the boot area and a little room above it. */
#define BOOT_MIN_RAM 0x100000ull
/* RAM above 3 GiB belongs above the PCI hole; loaders only use what is below. */
#define BOOT_RAM_CAP 0xc0000000ull

/* Legacy PC holes reported in the memory map. */
#define BOOT_EBDA_START 0x9fc00ull
#define BOOT_VGA_START 0xa0000ull
#define BOOT_BIOS_START 0xe0000ull
#define BOOT_HIGH_START 0x100000ull
/* What boot_range_hits_boot_area() refuses, for messages. */
#define BOOT_RESERVED_TEXT "boot area 0x1000-0x80000, firmware tables 0xe0000-0x100000"
/* Multiboot images keep only the GDT page out: the info goes where they aren't. */
#define BOOT_RESERVED_MULTIBOOT_TEXT "GDT 0x1000-0x2000, firmware tables 0xe0000-0x100000"

#define E820_RAM 1
#define E820_RESERVED 2

struct boot_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};
#define BOOT_E820_MAX 4

/* Formats a message into err (if any) and returns rc (a negative errno). */
int boot_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Common argument checks: memory view present and big enough. */
int boot_check_mem(const struct dvm_guest_mem *mem, const void *image, char *err, size_t errlen);

/* Top of usable RAM (capped at 3 GiB). */
uint64_t boot_ram_top(const struct dvm_guest_mem *mem);

/* True when [addr, addr+len) lies in RAM below the cap, without overflow. */
bool boot_range_in_ram(const struct dvm_guest_mem *mem, uint64_t addr, uint64_t len);
/* True when [a, a+alen) and [b, b+blen) overlap (both non-empty, no overflow assumed). */
bool boot_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);
/* True when [addr, addr+len) touches the loader's boot area. */
bool boot_range_hits_boot_area(uint64_t addr, uint64_t len);

/* Unaligned little-endian reads/writes (x86 host, so plain memcpy). */
uint16_t boot_rd16(const uint8_t *p);
uint32_t boot_rd32(const uint8_t *p);
uint64_t boot_rd64(const uint8_t *p);
void boot_wr16(uint8_t *p, uint16_t v);
void boot_wr32(uint8_t *p, uint32_t v);
void boot_wr64(uint8_t *p, uint64_t v);

/* The PC memory map for this much RAM; returns the number of entries. */
unsigned boot_build_e820(const struct dvm_guest_mem *mem, struct boot_e820 *map);

/* One loadable piece of an image (ELF program header or a.out kludge). */
struct boot_segment {
	uint64_t offset; /* in the image */
	uint64_t filesz;
	uint64_t paddr; /* where it is loaded */
	uint64_t vaddr; /* where it is linked */
	uint64_t memsz;
};
/* Checks sizes, file range, overflow, RAM and boot-area overlap. */
int boot_check_segment(const struct dvm_guest_mem *mem, size_t image_len,
		       const struct boot_segment *seg, unsigned index, bool gdt_only, char *err,
		       size_t errlen);
/* Copies a checked segment and zeroes its bss. */
void boot_copy_segment(struct dvm_guest_mem *mem, const uint8_t *image,
		       const struct boot_segment *seg);
/* The load address of an entry point that lies in one of the segments. */
bool boot_entry_to_phys(const struct boot_segment *segs, unsigned nr, uint64_t entry,
			uint64_t *phys);

/* Most PT_LOAD segments a loader accepts. */
#define BOOT_MAX_SEGMENTS 64
/*
 * Parses an ELF executable's header and program headers (ELF64/x86-64 or
 * ELF32/i386), collecting the non-empty PT_LOAD segments (unchecked against
 * RAM) and the entry point.  0 or -ENOEXEC/-E2BIG with a message.
 */
int boot_elf_segments(const uint8_t *image, size_t len, bool is64, struct boot_segment *segs,
		      unsigned *nr, uint64_t *entry, char *err, size_t errlen);
/* Checks every segment, resolves the entry to a load address, then copies.
 * gdt_only: only the GDT page and the BIOS area are out of bounds (multiboot). */
int boot_elf_load(struct dvm_guest_mem *mem, const uint8_t *image, size_t len,
		  const struct boot_segment *segs, unsigned nr, uint64_t entry, bool gdt_only,
		  uint64_t *phys_entry, uint64_t *image_end, char *err, size_t errlen);

enum boot_cpu_mode { BOOT_MODE_PROTECTED32, BOOT_MODE_LONG64 };
/*
 * Writes the GDT (and for long mode the identity page tables) into guest
 * memory and fills the segment/control registers, RFLAGS=2, RSP=stack top.
 * The caller sets RIP and argument registers.
 */
void boot_setup_cpu(struct dvm_guest_mem *mem, enum boot_cpu_mode mode, struct dvm_boot_state *out);

#endif
