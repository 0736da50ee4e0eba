// SPDX-License-Identifier: MIT
/* Reports the multiboot modules it was given and where its info struct is. */
#include "common/guest.h"

#define MAX_LINE 200

void guest_main(u32 magic, const struct multiboot_info *info)
{
	u32 count = 0;

	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		serial_puts("bad multiboot magic\n");
		debug_exit(1);
		halt_forever();
	}
	if (info->flags & MB_INFO_MODS)
		count = info->mods_count;
	serial_puts("modules: ");
	serial_put_uint(count);
	serial_putc('\n');
	if (count) {
		const struct multiboot_module *mod =
		    (const struct multiboot_module *)(uptr)info->mods_addr;
		const char *data = (const char *)(uptr)mod->mod_start;
		u32 len = mod->mod_end - mod->mod_start;

		serial_puts("module0: ");
		serial_puts(mod->string ? (const char *)(uptr)mod->string : "");
		serial_putc('\n');
		serial_puts("data: ");
		for (u32 i = 0; i < len && i < MAX_LINE && data[i] != '\n'; i++)
			serial_putc(data[i]);
		serial_putc('\n');
	}
	/* Guests reuse page 0 (AP trampolines), so boot info must not live there. */
	serial_puts((uptr)info < 0x1000 ? "info: in page 0\n" : "info: ok\n");
	debug_exit(0);
	halt_forever();
}
