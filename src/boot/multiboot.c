// SPDX-License-Identifier: MIT
/*
 * Multiboot (version 1) loader: ELF32 images and the a.out kludge, entered
 * in 32-bit protected mode with EAX = 0x2BADB002 and EBX = the info struct.
 * Field layouts follow the Multiboot Specification 0.6.96.
 */
#include <errno.h>
#include <string.h>

#include "boot/multiboot.h"
#include "boot/x86_setup.h"

/* Header flags we honour; bits 0-15 are requirements we must meet. */
#define MB_HDR_PAGE_ALIGN 0x1u
#define MB_HDR_MEMORY_INFO 0x2u
#define MB_HDR_VIDEO_MODE 0x4u
#define MB_HDR_AOUT_KLUDGE 0x10000u
#define MB_HDR_REQUIRED_MASK 0xffffu

/* Info struct flags. */
#define MB_INFO_MEMORY 0x1u
#define MB_INFO_CMDLINE 0x4u
#define MB_INFO_MODS 0x8u
#define MB_INFO_MMAP 0x40u
#define MB_INFO_LOADER_NAME 0x200u

/* Info struct offsets. */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_LOADER_NAME 64
#define MBI_SIZE 128 /* room for every v1 field, zeroed */

#define MB_MODULE_SIZE 16     /* mod_start, mod_end, string, reserved */
#define MB_MMAP_ENTRY_SIZE 24 /* size field + 20 bytes */

int boot_multiboot_find_header(const uint8_t *image, size_t len, size_t *offset, bool *bad_checksum)
{
	size_t limit = len < MULTIBOOT_SEARCH_LEN ? len : MULTIBOOT_SEARCH_LEN;

	*bad_checksum = false;
	for (size_t off = 0; off + 12 <= limit; off += 4) {
		if (boot_rd32(image + off) != MULTIBOOT_HEADER_MAGIC)
			continue;
		if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + boot_rd32(image + off + 4) +
			       boot_rd32(image + off + 8)) != 0) {
			*bad_checksum = true;
			continue;
		}
		*offset = off;
		return 0;
	}
	return -ENOENT;
}

/* a.out kludge: the header's own addresses say what to load where. */
static int aout_segment(const uint8_t *image, size_t len, size_t hdr_off, struct boot_segment *seg,
			uint64_t *entry, char *err, size_t errlen)
{
	uint32_t header_addr, load_addr, load_end, bss_end;
	uint64_t load_offset, filesz;

	if (hdr_off + 32 > len)
		return boot_fail(err, errlen, -ENOEXEC,
				 "multiboot header at 0x%zx is truncated (a.out fields missing)",
				 hdr_off);
	header_addr = boot_rd32(image + hdr_off + 12);
	load_addr = boot_rd32(image + hdr_off + 16);
	load_end = boot_rd32(image + hdr_off + 20);
	bss_end = boot_rd32(image + hdr_off + 24);
	*entry = boot_rd32(image + hdr_off + 28);

	if (header_addr < load_addr || header_addr - load_addr > hdr_off)
		return boot_fail(err, errlen, -ENOEXEC,
				 "multiboot header_addr 0x%x is inconsistent with load_addr 0x%x",
				 header_addr, load_addr);
	load_offset = hdr_off - (header_addr - load_addr);
	if (load_end == 0) {
		filesz = len - load_offset;
	} else {
		if (load_end < load_addr)
			return boot_fail(err, errlen, -ENOEXEC,
					 "multiboot load_end_addr 0x%x is below load_addr 0x%x",
					 load_end, load_addr);
		filesz = load_end - load_addr;
	}
	if (filesz > len - load_offset)
		return boot_fail(err, errlen, -ENOEXEC,
				 "multiboot load range (0x%llx bytes at file offset 0x%llx) is "
				 "beyond the %zu-byte image",
				 (unsigned long long)filesz, (unsigned long long)load_offset, len);
	if (bss_end != 0 && bss_end < load_addr + filesz)
		return boot_fail(err, errlen, -ENOEXEC,
				 "multiboot bss_end_addr 0x%x is below the loaded end 0x%llx",
				 bss_end, (unsigned long long)(load_addr + filesz));
	*seg = (struct boot_segment){
	    .offset = load_offset,
	    .filesz = filesz,
	    .paddr = load_addr,
	    .vaddr = load_addr,
	    .memsz = bss_end ? bss_end - (uint64_t)load_addr : filesz,
	};
	if (seg->memsz == 0)
		return boot_fail(err, errlen, -ENOEXEC, "multiboot a.out image loads nothing");
	return 0;
}

/* Bump allocator over the info area; every piece is checked to fit. */
struct info_area {
	uint8_t *host; /* guest memory */
	uint64_t next; /* GPA */
	uint64_t start, end;
};

static int info_alloc(struct info_area *a, uint64_t size, uint64_t align, uint64_t *gpa, char *err,
		      size_t errlen)
{
	uint64_t at = (a->next + align - 1) & ~(align - 1);

	if (size > a->end || at > a->end - size)
		return boot_fail(err, errlen, -E2BIG,
				 "multiboot info (command line, module names) does not fit in the "
				 "boot info area 0x%llx-0x%llx",
				 (unsigned long long)a->start, (unsigned long long)a->end);
	a->next = at + size;
	memset(a->host + at, 0, size);
	*gpa = at;
	return 0;
}

static int info_strdup(struct info_area *a, const char *first, const char *second, uint64_t *gpa,
		       char *err, size_t errlen)
{
	size_t l1 = first ? strlen(first) : 0;
	size_t l2 = second ? strlen(second) : 0;
	bool both = first && second;
	uint64_t size = (uint64_t)l1 + l2 + (both ? 1 : 0) + 1;
	int rc = info_alloc(a, size, 1, gpa, err, errlen);
	uint8_t *dst = a->host + *gpa;

	if (rc)
		return rc;
	memcpy(dst, first ? first : "", l1);
	if (both)
		dst[l1++] = ' ';
	memcpy(dst + l1, second ? second : "", l2);
	dst[l1 + l2] = 0;
	return 0;
}

/*
 * Where the info goes: the boot info area, or, for an image that loads over
 * it (kvm-unit-tests' realmode test loads at 0x8000), the same amount of
 * room right after the image, below the EBDA or in high memory, as QEMU
 * puts it after the kernel.
 */
static int info_area_place(const struct dvm_guest_mem *mem, const struct boot_segment *segs,
			   unsigned nr, uint64_t kernel_end, struct info_area *a, char *err,
			   size_t errlen)
{
	uint64_t size = BOOT_INFO_END - BOOT_INFO_START;
	bool covered = false;

	for (unsigned i = 0; i < nr; i++)
		covered |= boot_ranges_overlap(segs[i].paddr, segs[i].memsz, BOOT_INFO_START,
					       BOOT_STACK_TOP - BOOT_INFO_START);
	a->host = mem->host;
	a->start = BOOT_INFO_START;
	a->end = BOOT_INFO_END;
	if (covered) {
		uint64_t at = (kernel_end + 0xfff) & ~0xfffull;
		uint64_t limit = at < BOOT_EBDA_START ? BOOT_EBDA_START : boot_ram_top(mem);
		if (at >= BOOT_EBDA_START && at < BOOT_HIGH_START)
			at = BOOT_HIGH_START, limit = boot_ram_top(mem);
		if (limit - at < 0x1000 || at >= limit)
			return boot_fail(err, errlen, -ENOMEM,
					 "no room for the multiboot info after the image (ends "
					 "0x%llx)",
					 (unsigned long long)kernel_end);
		a->start = at;
		a->end = limit - at < size ? limit : at + size;
	}
	a->next = a->start;
	return 0;
}

static int write_info(struct dvm_guest_mem *mem, const struct dvm_boot_params *p,
		      const struct boot_segment *segs, unsigned nr, uint64_t kernel_end,
		      uint64_t *info_gpa, char *err, size_t errlen)
{
	struct info_area a;
	int place_rc = info_area_place(mem, segs, nr, kernel_end, &a, err, errlen);
	if (place_rc)
		return place_rc;
	struct boot_e820 map[BOOT_E820_MAX];
	unsigned nr_map = boot_build_e820(mem, map);
	uint64_t info, mmap, mods = 0, str, mod_next;
	uint64_t top = boot_ram_top(mem);
	uint8_t *mbi;
	int rc;

	rc = info_alloc(&a, MBI_SIZE, 8, &info, err, errlen);
	if (rc)
		return rc;
	mbi = mem->host + info;
	boot_wr32(mbi + MBI_MEM_LOWER, 640);
	boot_wr32(mbi + MBI_MEM_UPPER, (uint32_t)((top - BOOT_HIGH_START) / 1024));

	rc = info_alloc(&a, (uint64_t)nr_map * MB_MMAP_ENTRY_SIZE, 8, &mmap, err, errlen);
	if (rc)
		return rc;
	for (unsigned i = 0; i < nr_map; i++) {
		uint8_t *e = mem->host + mmap + i * MB_MMAP_ENTRY_SIZE;

		boot_wr32(e, MB_MMAP_ENTRY_SIZE - 4);
		boot_wr64(e + 4, map[i].addr);
		boot_wr64(e + 12, map[i].size);
		boot_wr32(e + 20, map[i].type);
	}
	boot_wr32(mbi + MBI_MMAP_LENGTH, nr_map * MB_MMAP_ENTRY_SIZE);
	boot_wr32(mbi + MBI_MMAP_ADDR, (uint32_t)mmap);

	/* The command line's first word is the image, as QEMU passes it. */
	rc = info_strdup(&a, p->image_path, p->cmdline, &str, err, errlen);
	if (rc)
		return rc;
	boot_wr32(mbi + MBI_CMDLINE, (uint32_t)str);
	rc = info_strdup(&a, "dvm", NULL, &str, err, errlen);
	if (rc)
		return rc;
	boot_wr32(mbi + MBI_LOADER_NAME, (uint32_t)str);

	if (p->nr_modules && !p->modules)
		return boot_fail(err, errlen, -EINVAL, "%u modules given without a module list",
				 p->nr_modules);
	if (p->nr_modules) {
		rc =
		    info_alloc(&a, (uint64_t)p->nr_modules * MB_MODULE_SIZE, 8, &mods, err, errlen);
		if (rc)
			return rc;
	}
	/* Module contents go page-aligned after the kernel. */
	mod_next = kernel_end > BOOT_AREA_END ? kernel_end : BOOT_AREA_END;
	if (mod_next < a.end)
		mod_next = a.end; /* the info moved after the image */
	for (unsigned i = 0; i < p->nr_modules; i++) {
		const struct dvm_boot_module *m = &p->modules[i];
		uint8_t *desc = mem->host + mods + (uint64_t)i * MB_MODULE_SIZE;
		uint64_t start = (mod_next + 0xfff) & ~0xfffull;

		/* Keep modules out of the legacy hole below 1 MiB. */
		if (start < BOOT_HIGH_START && (start + m->len > BOOT_EBDA_START || m->len > top))
			start = BOOT_HIGH_START;

		if (m->len && !m->data)
			return boot_fail(err, errlen, -EINVAL, "module %u has no data", i);
		if (start > top || m->len > top - start)
			return boot_fail(
			    err, errlen, -ENOMEM,
			    "module %u (%s, %zu bytes) does not fit in guest RAM above 0x%llx", i,
			    m->name ? m->name : "", m->len, (unsigned long long)start);
		rc = info_strdup(&a, m->name ? m->name : "", NULL, &str, err, errlen);
		if (rc)
			return rc;
		if (m->len)
			memcpy(mem->host + start, m->data, m->len);
		boot_wr32(desc, (uint32_t)start);
		boot_wr32(desc + 4, (uint32_t)(start + m->len));
		boot_wr32(desc + 8, (uint32_t)str);
		boot_wr32(desc + 12, 0);
		mod_next = start + m->len;
	}
	boot_wr32(mbi + MBI_MODS_COUNT, p->nr_modules);
	boot_wr32(mbi + MBI_MODS_ADDR, (uint32_t)mods);
	boot_wr32(mbi + MBI_FLAGS, MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
				       MB_INFO_LOADER_NAME);
	*info_gpa = info;
	return 0;
}

int dvm_load_multiboot(struct dvm_guest_mem *mem, const void *image, size_t len,
		       const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		       size_t errlen)
{
	static const struct dvm_boot_params no_params;
	struct boot_segment segs[BOOT_MAX_SEGMENTS];
	uint64_t entry = 0, phys_entry = 0, kernel_end = 0, info_gpa = 0;
	size_t hdr_off;
	bool bad_checksum;
	uint32_t flags;
	unsigned nr = 0;
	int rc;

	if (!p)
		p = &no_params;
	rc = boot_check_mem(mem, image, err, errlen);
	if (rc)
		return rc;
	if (boot_multiboot_find_header(image, len, &hdr_off, &bad_checksum))
		return boot_fail(err, errlen, -ENOEXEC,
				 bad_checksum ? "multiboot header has a bad checksum"
					      : "no multiboot header in the first 8192 bytes");
	flags = boot_rd32((const uint8_t *)image + hdr_off + 4);
	if (flags & MB_HDR_REQUIRED_MASK &
	    ~(MB_HDR_PAGE_ALIGN | MB_HDR_MEMORY_INFO | MB_HDR_VIDEO_MODE))
		return boot_fail(err, errlen, -ENOEXEC,
				 "multiboot header requires unsupported features (flags 0x%x)",
				 flags);

	if (flags & MB_HDR_AOUT_KLUDGE) {
		nr = 1;
		rc = aout_segment(image, len, hdr_off, &segs[0], &entry, err, errlen);
	} else {
		rc = boot_elf_segments(image, len, false, segs, &nr, &entry, err, errlen);
	}
	if (rc)
		return rc;
	rc = boot_elf_load(mem, image, len, segs, nr, entry, true, &phys_entry, &kernel_end, err,
			   errlen);
	if (rc)
		return rc;
	rc = write_info(mem, p, segs, nr, kernel_end, &info_gpa, err, errlen);
	if (rc)
		return rc;

	memset(out, 0, sizeof(*out));
	boot_setup_cpu(mem, BOOT_MODE_PROTECTED32, out);
	out->regs.rip = phys_entry;
	out->regs.rax = MULTIBOOT_BOOTLOADER_MAGIC;
	out->regs.rbx = info_gpa;
	return 0;
}
