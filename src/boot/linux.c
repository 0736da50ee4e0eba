// SPDX-License-Identifier: MIT
/*
 * Linux bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst):
 * the protected-mode kernel is loaded at 1 MiB (or its preferred address),
 * entered at load address + 0x200 in long mode with identity page tables
 * and RSI pointing at a zero page (struct boot_params) that dvm fills.
 */
#include <errno.h>
#include <string.h>

#include "boot/linux.h"
#include "boot/x86_setup.h"

/* Minimum protocol version with the 64-bit entry point and xloadflags. */
#define LINUX_MIN_VERSION 0x020c
#define XLF_KERNEL_64 0x1
#define LOADFLAG_LOADED_HIGH 0x1
#define LINUX_ENTRY64_OFFSET 0x200
#define LINUX_DEFAULT_LOAD 0x100000ull
#define LINUX_LOADER_TYPE_UNDEFINED 0xff

int dvm_load_bzimage(struct dvm_guest_mem *mem, const void *image, size_t len,
		     const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		     size_t errlen)
{
	static const struct dvm_boot_params no_params;
	const uint8_t *img = image;
	uint64_t top, setup_size, kernel_size, load_addr, reserve, cmdline_max, cmdline_len;
	uint64_t initrd_addr = 0, initrd_top;
	uint32_t initrd_max, init_size, cmdline_size;
	unsigned setup_sects, header_end, version, xloadflags;
	struct boot_e820 map[BOOT_E820_MAX];
	unsigned nr_map;
	uint8_t *zp;
	int rc;

	if (!p)
		p = &no_params;
	rc = boot_check_mem(mem, image, err, errlen);
	if (rc)
		return rc;
	top = boot_ram_top(mem);
	if (len < LINUX_SETUP_HEADER_MIN_END)
		return boot_fail(err, errlen, -ENOEXEC,
				 "bzImage truncated: %zu bytes, the setup header needs %u", len,
				 LINUX_SETUP_HEADER_MIN_END);
	if (boot_rd32(img + LINUX_HDR_MAGIC) != LINUX_HDRS_MAGIC)
		return boot_fail(err, errlen, -ENOEXEC,
				 "no \"HdrS\" magic at 0x202: not a bzImage");
	version = boot_rd16(img + LINUX_HDR_VERSION);
	if (version < LINUX_MIN_VERSION)
		return boot_fail(err, errlen, -ENOEXEC,
				 "boot protocol %u.%02u is too old: the 64-bit entry needs 2.12",
				 version >> 8, version & 0xff);
	xloadflags = boot_rd16(img + LINUX_HDR_XLOADFLAGS);
	if (!(xloadflags & XLF_KERNEL_64))
		return boot_fail(err, errlen, -ENOEXEC,
				 "kernel has no 64-bit entry point (XLF_KERNEL_64 clear)");
	if (!(img[LINUX_HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
		return boot_fail(err, errlen, -ENOEXEC,
				 "zImage (loaded low) kernels are not supported, need a bzImage");

	/* The header ends where the jump at 0x200 lands. */
	header_end = 0x202 + img[0x201];
	if (header_end < LINUX_SETUP_HEADER_MIN_END)
		header_end = LINUX_SETUP_HEADER_MIN_END;
	if (header_end > LINUX_ZERO_PAGE_SIZE || header_end > len)
		return boot_fail(err, errlen, -ENOEXEC, "setup header end 0x%x is out of range",
				 header_end);

	setup_sects = img[LINUX_HDR_SETUP_SECTS];
	if (setup_sects == 0)
		setup_sects = 4;
	setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= len)
		return boot_fail(err, errlen, -ENOEXEC,
				 "bzImage truncated: setup is %llu bytes, file is %zu",
				 (unsigned long long)setup_size, len);
	kernel_size = len - setup_size;
	if (kernel_size <= LINUX_ENTRY64_OFFSET)
		return boot_fail(
		    err, errlen, -ENOEXEC,
		    "bzImage truncated: the 64-bit entry at +0x%x lies past the %llu-byte "
		    "kernel",
		    LINUX_ENTRY64_OFFSET, (unsigned long long)kernel_size);
	init_size = boot_rd32(img + LINUX_HDR_INIT_SIZE);
	/* The kernel decompresses in place: keep init_size bytes free. */
	reserve = init_size > kernel_size ? init_size : kernel_size;

	load_addr = LINUX_DEFAULT_LOAD;
	if (img[LINUX_HDR_RELOCATABLE]) {
		uint64_t pref = boot_rd64(img + LINUX_HDR_PREF_ADDRESS);

		if (pref >= BOOT_HIGH_START && boot_range_in_ram(mem, pref, reserve))
			load_addr = pref;
	}
	if (!boot_range_in_ram(mem, load_addr, reserve))
		return boot_fail(err, errlen, -ENOMEM,
				 "kernel needs 0x%llx bytes at 0x%llx, guest RAM is 0x%llx bytes",
				 (unsigned long long)reserve, (unsigned long long)load_addr,
				 (unsigned long long)top);

	/* Command line: bounded by the kernel's cmdline_size and the info area. */
	cmdline_size = boot_rd32(img + LINUX_HDR_CMDLINE_SIZE);
	cmdline_max = BOOT_INFO_END - BOOT_INFO_START - 1;
	if (cmdline_size < cmdline_max)
		cmdline_max = cmdline_size;
	cmdline_len = p->cmdline ? strlen(p->cmdline) : 0;
	if (cmdline_len > cmdline_max)
		return boot_fail(err, errlen, -E2BIG,
				 "command line is %llu bytes, the kernel accepts at most %llu",
				 (unsigned long long)cmdline_len, (unsigned long long)cmdline_max);

	/* Initrd: as high as the kernel allows, page aligned, above the kernel. */
	if (p->initrd_len) {
		if (!p->initrd)
			return boot_fail(err, errlen, -EINVAL, "initrd length given without data");
		initrd_max = boot_rd32(img + LINUX_HDR_INITRD_ADDR_MAX);
		initrd_top = (uint64_t)initrd_max + 1;
		if (initrd_top > top)
			initrd_top = top;
		if (p->initrd_len > initrd_top)
			return boot_fail(err, errlen, -ENOMEM,
					 "initrd (%zu bytes) does not fit below 0x%llx",
					 p->initrd_len, (unsigned long long)initrd_top);
		initrd_addr = (initrd_top - p->initrd_len) & ~0xfffull;
		if (initrd_addr < load_addr + reserve)
			return boot_fail(err, errlen, -ENOMEM,
					 "initrd (%zu bytes) does not fit between the kernel end "
					 "0x%llx and 0x%llx",
					 p->initrd_len, (unsigned long long)(load_addr + reserve),
					 (unsigned long long)initrd_top);
	}

	/* Everything checked: write guest memory. */
	zp = mem->host + BOOT_ZERO_PAGE_ADDR;
	memset(zp, 0, LINUX_ZERO_PAGE_SIZE);
	memcpy(zp + LINUX_HDR_START, img + LINUX_HDR_START, header_end - LINUX_HDR_START);
	zp[LINUX_HDR_TYPE_OF_LOADER] = LINUX_LOADER_TYPE_UNDEFINED;
	memcpy(mem->host + BOOT_INFO_START, p->cmdline ? p->cmdline : "", cmdline_len);
	mem->host[BOOT_INFO_START + cmdline_len] = 0;
	boot_wr32(zp + LINUX_HDR_CMD_LINE_PTR, (uint32_t)BOOT_INFO_START);
	boot_wr32(zp + LINUX_BP_EXT_CMD_LINE_PTR, 0);
	if (p->initrd_len) {
		memcpy(mem->host + initrd_addr, p->initrd, p->initrd_len);
		boot_wr32(zp + LINUX_HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
		boot_wr32(zp + LINUX_HDR_RAMDISK_SIZE, (uint32_t)p->initrd_len);
	} else {
		boot_wr32(zp + LINUX_HDR_RAMDISK_IMAGE, 0);
		boot_wr32(zp + LINUX_HDR_RAMDISK_SIZE, 0);
	}
	boot_wr32(zp + LINUX_HDR_CODE32_START, (uint32_t)load_addr);

	nr_map = boot_build_e820(mem, map);
	zp[LINUX_BP_E820_ENTRIES] = (uint8_t)nr_map;
	for (unsigned i = 0; i < nr_map; i++) {
		uint8_t *e = zp + LINUX_BP_E820_TABLE + i * LINUX_E820_ENTRY_SIZE;

		boot_wr64(e, map[i].addr);
		boot_wr64(e + 8, map[i].size);
		boot_wr32(e + 16, map[i].type);
	}

	memcpy(mem->host + load_addr, img + setup_size, kernel_size);

	memset(out, 0, sizeof(*out));
	boot_setup_cpu(mem, BOOT_MODE_LONG64, out);
	out->regs.rip = load_addr + LINUX_ENTRY64_OFFSET;
	out->regs.rsi = BOOT_ZERO_PAGE_ADDR;
	return 0;
}
