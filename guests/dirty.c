// SPDX-License-Identifier: MIT
/*
 * Dirties guest memory as fast as it can, for live-migration tests and the
 * downtime benchmark: pass p writes p into the first word of each of
 * `pages=N` pages (default 2048) from 4 MiB, after checking every page
 * still holds p - 1.  A page a migration lost or sent stale shows as
 * "dirty: MISMATCH" and exit 0x13 (status 39).  Prints "pass P" every 64
 * passes and ends after `passes=M` (default 2048) with 0x2c (status 89).
 */
#include "common/guest.h"

#define BASE 0x400000u

void guest_main(u32 magic, const struct multiboot_info *info)
{
	u32 pages = 2048, passes = 2048;
	const char *cmdline =
	    (info->flags & MB_INFO_CMDLINE) ? (const char *)(uptr)info->cmdline : "";

	(void)magic;
	cmdline_find_uint(cmdline, "pages=", &pages);
	cmdline_find_uint(cmdline, "passes=", &passes);
	if (pages > 16384)
		pages = 16384;
	serial_puts("dirty: start\n");
	for (u32 p = 1; p <= passes; p++) {
		for (u32 i = 0; i < pages; i++) {
			volatile u32 *w = (volatile u32 *)(uptr)(BASE + i * 4096u);
			if (*w != p - 1) {
				serial_puts("dirty: MISMATCH at page ");
				serial_put_uint(i);
				serial_puts(" pass ");
				serial_put_uint(p);
				serial_puts("\n");
				debug_exit(0x13);
			}
			*w = p;
		}
		if (p % 64 == 0) {
			serial_puts("pass ");
			serial_put_uint(p);
			serial_puts("\n");
		}
	}
	debug_exit(0x2c);
	halt_forever();
}
