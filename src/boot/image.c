// SPDX-License-Identifier: MIT
/* Image format detection and dispatch to the loaders. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/linux.h"
#include "boot/multiboot.h"
#include "boot/x86_setup.h"

enum dvm_image_format dvm_image_detect(const void *image, size_t len)
{
	const uint8_t *img = image;
	size_t hdr_off;
	bool bad_checksum;

	if (!img)
		return DVM_IMAGE_UNKNOWN;
	/* A multiboot header wins over the ELF class, as in QEMU. */
	if (boot_multiboot_find_header(img, len, &hdr_off, &bad_checksum) == 0)
		return DVM_IMAGE_MULTIBOOT;
	if (len >= EI_NIDENT && memcmp(img, ELFMAG, SELFMAG) == 0 && img[EI_CLASS] == ELFCLASS64)
		return DVM_IMAGE_ELF64;
	if (len >= LINUX_HDR_MAGIC + 4 && boot_rd32(img + LINUX_HDR_MAGIC) == LINUX_HDRS_MAGIC)
		return DVM_IMAGE_BZIMAGE;
	return DVM_IMAGE_UNKNOWN;
}

const char *dvm_image_format_name(enum dvm_image_format fmt)
{
	switch (fmt) {
	case DVM_IMAGE_ELF64:
		return "elf64";
	case DVM_IMAGE_MULTIBOOT:
		return "multiboot";
	case DVM_IMAGE_BZIMAGE:
		return "bzimage";
	case DVM_IMAGE_FLAT:
		return "flat";
	case DVM_IMAGE_UNKNOWN:
		break;
	}
	return "unknown";
}

int dvm_load_image(struct dvm_guest_mem *mem, const void *image, size_t len,
		   const struct dvm_boot_params *p, struct dvm_boot_state *out,
		   enum dvm_image_format force, char *err, size_t errlen)
{
	enum dvm_image_format fmt =
	    force != DVM_IMAGE_UNKNOWN ? force : dvm_image_detect(image, len);

	switch (fmt) {
	case DVM_IMAGE_ELF64:
		return dvm_load_elf64(mem, image, len, p, out, err, errlen);
	case DVM_IMAGE_MULTIBOOT:
		return dvm_load_multiboot(mem, image, len, p, out, err, errlen);
	case DVM_IMAGE_BZIMAGE:
		return dvm_load_bzimage(mem, image, len, p, out, err, errlen);
	case DVM_IMAGE_FLAT:
		return dvm_load_flat(mem, image, len, p, out, err, errlen);
	case DVM_IMAGE_UNKNOWN:
		break;
	}
	if (force != DVM_IMAGE_UNKNOWN)
		return boot_fail(err, errlen, -EINVAL, "unknown image format %d", (int)force);
	return boot_fail(err, errlen, -ENOEXEC,
			 "unrecognised image format (not multiboot, ELF64 or bzImage; raw binaries "
			 "need the flat format)");
}
