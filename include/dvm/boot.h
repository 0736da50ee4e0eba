/* SPDX-License-Identifier: MIT */
/*
 * Loaders.  Each one checks the image, copies it into guest memory and fills
 * the boot CPU's entry state; it never trusts a length or an offset it read
 * from the image.  They work on a plain memory view so they can be unit
 * tested (and fuzzed) without a VM.
 */
/*
 * Guest memory the loaders keep for themselves: GPA [0x1000, 0x80000); an
 * image that loads there is refused.  GDT at 0x1000 (CS 0x10, data 0x18);
 * ELF64/bzImage page tables at 0x2000-0x7fff (0-4 GiB in 2 MiB pages); Linux
 * zero page at 0x8000; multiboot info, memory map, module list and cmdlines
 * from 0x9000; entry RSP/ESP 0x80000.  Page 0 is never used (guests reuse it
 * as an AP trampoline).  RAM above 3 GiB is not described to the guest.
 *
 * The BIOS area [0xe0000, 0x100000) is reserved in the memory map and holds
 * the firmware tables the machine builds: ACPI (RSDP first) in
 * [0xe0000, 0xf0000), the MP table in [0xf0000, 0xf1000).
 */
#ifndef DVM_BOOT_H
#define DVM_BOOT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct dvm_guest_mem {
	uint8_t *host; /* guest RAM at GPA 0 */
	uint64_t size; /* bytes */
};

/* The boot CPU's state on entry. */
struct dvm_boot_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

struct dvm_boot_module {
	const char *name; /* the string the guest sees (path and arguments) */
	const void *data;
	size_t len;
};

struct dvm_boot_params {
	const char *image_path; /* as QEMU passes it: the multiboot cmdline's first word */
	const char *cmdline;	/* may be NULL */
	const struct dvm_boot_module *modules;
	unsigned nr_modules;
	const void *initrd; /* Linux only; may be NULL */
	size_t initrd_len;
	uint64_t flat_load_addr; /* flat binaries: where to load and enter */
};

enum dvm_image_format {
	DVM_IMAGE_UNKNOWN = 0,
	DVM_IMAGE_ELF64,     /* entered in 64-bit long mode, identity-mapped page tables */
	DVM_IMAGE_MULTIBOOT, /* multiboot v1: 32-bit protected mode, EAX magic, EBX info */
	DVM_IMAGE_BZIMAGE,   /* Linux 64-bit boot protocol */
	DVM_IMAGE_FLAT,	     /* raw bytes at flat_load_addr, 32-bit protected mode */
};

/* Which loader an image needs (multiboot header wins over ELF64, as in QEMU). */
enum dvm_image_format dvm_image_detect(const void *image, size_t len);
const char *dvm_image_format_name(enum dvm_image_format fmt);

/* 0 or -errno; on error `err` (may be NULL) gets a one-line reason. */
int dvm_load_elf64(struct dvm_guest_mem *mem, const void *image, size_t len,
		   const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		   size_t errlen);
int dvm_load_multiboot(struct dvm_guest_mem *mem, const void *image, size_t len,
		       const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		       size_t errlen);
int dvm_load_bzimage(struct dvm_guest_mem *mem, const void *image, size_t len,
		     const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		     size_t errlen);
int dvm_load_flat(struct dvm_guest_mem *mem, const void *image, size_t len,
		  const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		  size_t errlen);
/* Detect and load. */
int dvm_load_image(struct dvm_guest_mem *mem, const void *image, size_t len,
		   const struct dvm_boot_params *p, struct dvm_boot_state *out,
		   enum dvm_image_format force, char *err, size_t errlen);

/* The MP table (Intel MultiProcessor Spec 1.4): floating pointer "_MP_" at
 * 0xf0000, configuration table right after it, all below 0xf1000.  CPUs get
 * APIC IDs 0..nr_cpus-1 (CPU 0 the BSP); one I/O APIC at 0xfec00000.  Zeroes
 * [0xf0000, 0xf1000) first.  0, -EINVAL (no CPU), -E2BIG (more CPUs than fit:
 * 194) or -ENOSPC (RAM ends below 0xf1000); `err` (may be NULL) says why. */
#define DVM_MPTABLE_ADDR 0xf0000u
#define DVM_MPTABLE_END 0xf1000u
int dvm_mptable_build(struct dvm_guest_mem *mem, unsigned nr_cpus, uint8_t ioapic_id, char *err,
		      size_t errlen);

#endif
