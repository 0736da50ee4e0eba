/* SPDX-License-Identifier: MIT */
/*
 * Offsets in the Linux zero page (struct boot_params) and its embedded
 * setup header, from the x86 boot protocol documentation.  The setup
 * header sits at the same offsets in the bzImage file and the zero page.
 */
#ifndef DVM_BOOT_LINUX_H
#define DVM_BOOT_LINUX_H

#define LINUX_ZERO_PAGE_SIZE 0x1000

/* boot_params fields outside the setup header */
#define LINUX_BP_EXT_RAMDISK_IMAGE 0x0c0
#define LINUX_BP_EXT_RAMDISK_SIZE 0x0c4
#define LINUX_BP_EXT_CMD_LINE_PTR 0x0c8
#define LINUX_BP_E820_ENTRIES 0x1e8
#define LINUX_BP_E820_TABLE 0x2d0
#define LINUX_E820_ENTRY_SIZE 20 /* addr u64, size u64, type u32 */
#define LINUX_E820_MAX_ENTRIES 128

/* setup header */
#define LINUX_HDR_START 0x1f1
#define LINUX_HDR_SETUP_SECTS 0x1f1
#define LINUX_HDR_BOOT_FLAG 0x1fe
#define LINUX_HDR_MAGIC 0x202
#define LINUX_HDRS_MAGIC 0x53726448u /* "HdrS" */
#define LINUX_HDR_VERSION 0x206
#define LINUX_HDR_TYPE_OF_LOADER 0x210
#define LINUX_HDR_LOADFLAGS 0x211
#define LINUX_HDR_CODE32_START 0x214
#define LINUX_HDR_RAMDISK_IMAGE 0x218
#define LINUX_HDR_RAMDISK_SIZE 0x21c
#define LINUX_HDR_CMD_LINE_PTR 0x228
#define LINUX_HDR_INITRD_ADDR_MAX 0x22c
#define LINUX_HDR_KERNEL_ALIGNMENT 0x230
#define LINUX_HDR_RELOCATABLE 0x234
#define LINUX_HDR_XLOADFLAGS 0x236
#define LINUX_HDR_CMDLINE_SIZE 0x238
#define LINUX_HDR_PREF_ADDRESS 0x258
#define LINUX_HDR_INIT_SIZE 0x260
/* A 2.12+ header reaches at least past init_size. */
#define LINUX_SETUP_HEADER_MIN_END 0x264

#endif
