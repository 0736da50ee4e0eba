/* SPDX-License-Identifier: MIT */
/*
 * fw-cfg: QEMU's firmware configuration device, traditional (port I/O)
 * interface only.  A 16-bit write to the selector port (base, 0x510) picks
 * an item and rewinds it; 8-bit reads of the data port (base + 1) return
 * its bytes, then 0 past the end.  There is no DMA interface (ID reads 1).
 *
 * Items the device makes itself from its configuration: SIGNATURE, ID,
 * UUID, RAM_SIZE, NOGRAPHIC, NB_CPUS, BOOT_MENU, MAX_CPUS and FILE_DIR.
 * The boot items (kernel, initrd, command line, setup) are set by selector
 * with DVM_FW_CFG_CMD_SET_ITEM; named files with DVM_FW_CFG_CMD_ADD_FILE.
 */
#ifndef DVM_DEVICES_FW_CFG_H
#define DVM_DEVICES_FW_CFG_H

#include <stdint.h>

#define DVM_FW_CFG_GRP_CONFIG 0
#define DVM_FW_CFG_CONFIG_BASE 0     /* u16 selector port; data is base + 1; default 0x510 */
#define DVM_FW_CFG_CONFIG_NB_CPUS 1  /* u16, 1..65535: the NB_CPUS item; default 1 */
#define DVM_FW_CFG_CONFIG_MAX_CPUS 2 /* u16: the MAX_CPUS item; 0 (default): nb-cpus */
#define DVM_FW_CFG_CONFIG_RAM_SIZE 3 /* u64 bytes: the RAM_SIZE item; default: the VM's RAM */

#define DVM_FW_CFG_GRP_STATE 1
#define DVM_FW_CFG_STATE_CURSOR 0 /* struct dvm_fw_cfg_state */

/*
 * The contents (boot items and files), as STATE so snapshots and migration
 * carry them; restored before start, before the cursor.  A blob's key is
 * its selector: a boot item (< 0x20) or a file slot (0x20 + i, files in name
 * order).  "blob-meta" (attr = key) gives the file name (empty for an item)
 * and the size; setting it creates the blob, zero-filled.  "blob-data"
 * (attr = key << 16 | chunk) is the chunk'th 4 KiB of it, zero-padded.
 */
#define DVM_FW_CFG_GRP_CONTENT 3
#define DVM_FW_CFG_CONTENT_META 0
#define DVM_FW_CFG_CONTENT_DATA 0
#define DVM_FW_CFG_GRP_CONTENT_DATA 4
#define DVM_FW_CFG_CHUNK 4096
#define DVM_FW_CFG_NR_KEYS 0x60 /* items 0..0x1f, files 0x20..0x5f */

struct dvm_fw_cfg_blob_meta {
	char name[56]; /* DVM_FW_CFG_NAME_SIZE; "" for a boot item */
	uint32_t size;
	uint32_t reserved; /* 0 */
};
_Static_assert(sizeof(struct dvm_fw_cfg_blob_meta) == 64, "stable blob size");

#define DVM_FW_CFG_GRP_COMMAND 2
#define DVM_FW_CFG_CMD_ADD_FILE 0 /* struct dvm_fw_cfg_file, before start */
#define DVM_FW_CFG_CMD_SET_ITEM 1 /* struct dvm_fw_cfg_item, before start */

#define DVM_FW_CFG_DEFAULT_BASE 0x510

/* Selectors (QEMU's numbering). */
#define DVM_FW_CFG_SIGNATURE 0x00 /* "QEMU" */
#define DVM_FW_CFG_ID 0x01	  /* u32 LE: 1, the traditional interface only */
#define DVM_FW_CFG_UUID 0x02	  /* 16 zero bytes */
#define DVM_FW_CFG_RAM_SIZE 0x03  /* u64 LE */
#define DVM_FW_CFG_NOGRAPHIC 0x04 /* u16 LE: 1 */
#define DVM_FW_CFG_NB_CPUS 0x05	  /* u16 LE */
#define DVM_FW_CFG_KERNEL_ADDR 0x07
#define DVM_FW_CFG_KERNEL_SIZE 0x08
#define DVM_FW_CFG_KERNEL_CMDLINE 0x09
#define DVM_FW_CFG_INITRD_ADDR 0x0a
#define DVM_FW_CFG_INITRD_SIZE 0x0b
#define DVM_FW_CFG_BOOT_MENU 0x0e /* u16 LE: 0 */
#define DVM_FW_CFG_MAX_CPUS 0x0f  /* u16 LE */
#define DVM_FW_CFG_KERNEL_ENTRY 0x10
#define DVM_FW_CFG_KERNEL_DATA 0x11
#define DVM_FW_CFG_INITRD_DATA 0x12
#define DVM_FW_CFG_CMDLINE_ADDR 0x13
#define DVM_FW_CFG_CMDLINE_SIZE 0x14
#define DVM_FW_CFG_CMDLINE_DATA 0x15
#define DVM_FW_CFG_SETUP_ADDR 0x16
#define DVM_FW_CFG_SETUP_SIZE 0x17
#define DVM_FW_CFG_SETUP_DATA 0x18
#define DVM_FW_CFG_FILE_DIR 0x19	/* BE u32 count, then count x struct dvm_fw_cfg_dir_entry */
#define DVM_FW_CFG_FILE_FIRST 0x20	/* files, sorted by name, from here */
#define DVM_FW_CFG_WRITE_CHANNEL 0x4000 /* ignored on select, as QEMU does */
#define DVM_FW_CFG_ARCH_LOCAL 0x8000	/* arch items: none here, they read 0 */

#define DVM_FW_CFG_NAME_SIZE 56		 /* with the NUL */
#define DVM_FW_CFG_MAX_FILES 64		 /* selectors 0x20..0x5f */
#define DVM_FW_CFG_MAX_BLOB (16u << 20)	 /* bytes per file or item */
#define DVM_FW_CFG_MAX_TOTAL (64u << 20) /* bytes over all files and items */

/* One FILE_DIR entry as the guest reads it (size and select big-endian). */
struct dvm_fw_cfg_dir_entry {
	uint32_t size_be;
	uint16_t select_be;
	uint16_t reserved;
	char name[DVM_FW_CFG_NAME_SIZE];
};
_Static_assert(sizeof(struct dvm_fw_cfg_dir_entry) == 64, "QEMU's FWCfgFile");

/*
 * DVM_FW_CFG_CMD_ADD_FILE: copies `size` bytes from the host pointer `data`
 * into a new file.  EINVAL: empty name, no NUL in name[], reserved != 0;
 * EEXIST: the name is taken; E2BIG: size > 16 MiB, 64 files already, or
 * 64 MiB over all blobs; EFAULT: data unreadable.  size 0 is an empty file.
 */
struct dvm_fw_cfg_file {
	char name[DVM_FW_CFG_NAME_SIZE];
	uint64_t data; /* host address of the bytes */
	uint32_t size;
	uint32_t reserved; /* 0 */
};
_Static_assert(sizeof(struct dvm_fw_cfg_file) == 72, "stable blob size");

/*
 * DVM_FW_CFG_CMD_SET_ITEM: sets (or replaces) one boot item.  Selectors:
 * KERNEL_ADDR, KERNEL_SIZE, KERNEL_CMDLINE, INITRD_ADDR, INITRD_SIZE,
 * KERNEL_ENTRY, CMDLINE_ADDR, CMDLINE_SIZE, SETUP_ADDR, SETUP_SIZE take
 * size 4 (a u32 LE, as QEMU); KERNEL_DATA, INITRD_DATA, CMDLINE_DATA,
 * SETUP_DATA any size up to 16 MiB.  size 0 removes the item.  EINVAL:
 * another selector, a wrong size, reserved != 0; E2BIG, EFAULT as above.
 */
struct dvm_fw_cfg_item {
	uint16_t selector;
	uint16_t reserved[3]; /* 0 */
	uint64_t data;	      /* host address of the bytes */
	uint32_t size;
	uint32_t reserved2; /* 0 */
};
_Static_assert(sizeof(struct dvm_fw_cfg_item) == 24, "stable blob size");

/*
 * The guest-visible cursor.  selector is the last value written (any u16);
 * offset is how many bytes of that item were read, never more than its
 * size.  SET answers EINVAL for another version, reserved != 0 or an offset
 * past the item's end, so files and items must be restored first.
 */
#define DVM_FW_CFG_STATE_VERSION 1
struct dvm_fw_cfg_state {
	uint32_t version; /* DVM_FW_CFG_STATE_VERSION */
	uint16_t selector;
	uint16_t reserved; /* 0 */
	uint32_t offset;
	uint32_t reserved2; /* 0 */
};
_Static_assert(sizeof(struct dvm_fw_cfg_state) == 16, "stable blob size");

#endif
