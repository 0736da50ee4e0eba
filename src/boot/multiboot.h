/* SPDX-License-Identifier: MIT */
/* Multiboot v1 header search, shared by the loader and image detection. */
#ifndef DVM_BOOT_MULTIBOOT_H
#define DVM_BOOT_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH_LEN 8192

/* 0 and the offset of the first valid header (magic + checksum, 4-aligned,
 * in the first 8192 bytes), or -ENOENT; bad_checksum tells a near miss. */
int boot_multiboot_find_header(const uint8_t *image, size_t len, size_t *offset,
			       bool *bad_checksum);

#endif
