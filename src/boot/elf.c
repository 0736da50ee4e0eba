// SPDX-License-Identifier: MIT
/* ELF executables: header parsing shared with multiboot, and the ELF64 loader. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/x86_setup.h"

static int check_ident(const uint8_t *image, size_t len, bool is64, char *err, size_t errlen)
{
	size_t ehdr_size = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);

	if (len < EI_NIDENT || memcmp(image, ELFMAG, SELFMAG) != 0)
		return boot_fail(err, errlen, -ENOEXEC, "not an ELF file (bad magic)");
	if (image[EI_CLASS] != (is64 ? ELFCLASS64 : ELFCLASS32))
		return boot_fail(err, errlen, -ENOEXEC, "ELF class is not %s",
				 is64 ? "64-bit" : "32-bit");
	if (image[EI_DATA] != ELFDATA2LSB)
		return boot_fail(err, errlen, -ENOEXEC, "ELF file is not little-endian");
	if (len < ehdr_size)
		return boot_fail(err, errlen, -ENOEXEC, "ELF header truncated (%zu of %zu bytes)",
				 len, ehdr_size);
	return 0;
}

int boot_elf_segments(const uint8_t *image, size_t len, bool is64, struct boot_segment *segs,
		      unsigned *nr, uint64_t *entry, char *err, size_t errlen)
{
	uint64_t phoff, phentsize_want, table_size;
	unsigned type, machine, phentsize, phnum, want_machine = is64 ? EM_X86_64 : EM_386;
	int rc = check_ident(image, len, is64, err, errlen);

	if (rc)
		return rc;
	if (is64) {
		Elf64_Ehdr eh;

		memcpy(&eh, image, sizeof(eh));
		type = eh.e_type;
		machine = eh.e_machine;
		phoff = eh.e_phoff;
		phentsize = eh.e_phentsize;
		phnum = eh.e_phnum;
		*entry = eh.e_entry;
		phentsize_want = sizeof(Elf64_Phdr);
	} else {
		Elf32_Ehdr eh;

		memcpy(&eh, image, sizeof(eh));
		type = eh.e_type;
		machine = eh.e_machine;
		phoff = eh.e_phoff;
		phentsize = eh.e_phentsize;
		phnum = eh.e_phnum;
		*entry = eh.e_entry;
		phentsize_want = sizeof(Elf32_Phdr);
	}
	if (type != ET_EXEC)
		return boot_fail(err, errlen, -ENOEXEC, "ELF type %u is not ET_EXEC", type);
	if (machine != want_machine)
		return boot_fail(err, errlen, -ENOEXEC, "ELF machine %u is not %s", machine,
				 is64 ? "x86-64" : "i386");
	if (phentsize != phentsize_want)
		return boot_fail(err, errlen, -ENOEXEC, "ELF program header size %u, expected %u",
				 phentsize, (unsigned)phentsize_want);
	if (phnum == 0 || phnum == PN_XNUM)
		return boot_fail(err, errlen, -ENOEXEC, "ELF has no usable program headers (%u)",
				 phnum);
	table_size = (uint64_t)phnum * phentsize;
	if (phoff > len || table_size > len - phoff)
		return boot_fail(
		    err, errlen, -ENOEXEC,
		    "ELF program headers at 0x%llx (%u entries) are beyond the %zu-byte file",
		    (unsigned long long)phoff, phnum, len);

	*nr = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = image + phoff + (uint64_t)i * phentsize;
		struct boot_segment seg;
		uint32_t ptype;

		if (is64) {
			Elf64_Phdr p;

			memcpy(&p, ph, sizeof(p));
			ptype = p.p_type;
			seg = (struct boot_segment){p.p_offset, p.p_filesz, p.p_paddr, p.p_vaddr,
						    p.p_memsz};
		} else {
			Elf32_Phdr p;

			memcpy(&p, ph, sizeof(p));
			ptype = p.p_type;
			seg = (struct boot_segment){p.p_offset, p.p_filesz, p.p_paddr, p.p_vaddr,
						    p.p_memsz};
		}
		if (ptype != PT_LOAD || (seg.memsz == 0 && seg.filesz == 0))
			continue;
		if (*nr == BOOT_MAX_SEGMENTS)
			return boot_fail(err, errlen, -E2BIG,
					 "ELF has more than %u PT_LOAD segments",
					 BOOT_MAX_SEGMENTS);
		segs[(*nr)++] = seg;
	}
	if (*nr == 0)
		return boot_fail(err, errlen, -ENOEXEC, "ELF has no PT_LOAD segment");
	return 0;
}

int boot_elf_load(struct dvm_guest_mem *mem, const uint8_t *image, size_t len,
		  const struct boot_segment *segs, unsigned nr, uint64_t entry, bool gdt_only,
		  uint64_t *phys_entry, uint64_t *image_end, char *err, size_t errlen)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < nr; i++) {
		int rc = boot_check_segment(mem, len, &segs[i], i, gdt_only, err, errlen);

		if (rc)
			return rc;
		if (segs[i].paddr + segs[i].memsz > end)
			end = segs[i].paddr + segs[i].memsz;
	}
	if (!boot_entry_to_phys(segs, nr, entry, phys_entry))
		return boot_fail(err, errlen, -ENOEXEC,
				 "ELF entry point 0x%llx is outside every loaded segment",
				 (unsigned long long)entry);
	/* Only now that everything checked out does guest memory change. */
	for (unsigned i = 0; i < nr; i++)
		boot_copy_segment(mem, image, &segs[i]);
	*image_end = end;
	return 0;
}

int dvm_load_elf64(struct dvm_guest_mem *mem, const void *image, size_t len,
		   const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		   size_t errlen)
{
	struct boot_segment segs[BOOT_MAX_SEGMENTS];
	uint64_t entry = 0, phys_entry = 0, end = 0;
	unsigned nr = 0;
	int rc;

	(void)p;
	rc = boot_check_mem(mem, image, err, errlen);
	if (rc)
		return rc;
	rc = boot_elf_segments(image, len, true, segs, &nr, &entry, err, errlen);
	if (rc)
		return rc;
	rc = boot_elf_load(mem, image, len, segs, nr, entry, false, &phys_entry, &end, err, errlen);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	boot_setup_cpu(mem, BOOT_MODE_LONG64, out);
	out->regs.rip = phys_entry;
	return 0;
}
