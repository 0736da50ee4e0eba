// SPDX-License-Identifier: MIT
/*
 * The bundled default guest: greets on COM1, echoes its command line, then
 * ends through isa-debug-exit when the command line says exit=N, otherwise
 * through an i8042 reset.
 */
#include "common/guest.h"

void guest_main(u32 magic, const struct multiboot_info *info)
{
	const char *cmdline = "";
	u32 code;

	serial_enable_fifo();
	serial_puts("Hello from the dvm guest!\n");
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (info->flags & MB_INFO_CMDLINE) && info->cmdline)
		cmdline = (const char *)(uptr)info->cmdline;
	serial_puts("cmdline: ");
	serial_puts(cmdline);
	serial_putc('\n');
	if (cmdline_find_uint(cmdline, "exit=", &code))
		debug_exit((u8)code);
	i8042_reset();
	halt_forever();
}
