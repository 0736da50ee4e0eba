// SPDX-License-Identifier: MIT
/* Flat binaries: raw bytes at a chosen address, entered there in 32-bit
 * protected mode with flat segments and ESP = 0x80000 (the boot stack). */
#include <errno.h>
#include <string.h>

#include "boot/x86_setup.h"

int dvm_load_flat(struct dvm_guest_mem *mem, const void *image, size_t len,
		  const struct dvm_boot_params *p, struct dvm_boot_state *out, char *err,
		  size_t errlen)
{
	uint64_t addr = p ? p->flat_load_addr : 0;
	int rc = boot_check_mem(mem, image, err, errlen);

	if (rc)
		return rc;
	if (len == 0)
		return boot_fail(err, errlen, -ENOEXEC, "flat image is empty");
	if (addr > 0xffffffffull || !boot_range_in_ram(mem, addr, len))
		return boot_fail(
		    err, errlen, -ENOMEM,
		    "flat image (%zu bytes at 0x%llx) does not fit in guest RAM (0x%llx bytes)",
		    len, (unsigned long long)addr, (unsigned long long)boot_ram_top(mem));
	if (boot_range_hits_boot_area(addr, len))
		return boot_fail(err, errlen, -EINVAL,
				 "flat image at 0x%llx-0x%llx overlaps memory dvm reserves (%s)",
				 (unsigned long long)addr, (unsigned long long)(addr + len),
				 BOOT_RESERVED_TEXT);
	memcpy(mem->host + addr, image, len);
	memset(out, 0, sizeof(*out));
	boot_setup_cpu(mem, BOOT_MODE_PROTECTED32, out);
	out->regs.rip = addr;
	return 0;
}
