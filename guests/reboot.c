// SPDX-License-Identifier: MIT
/* Resets the machine through the i8042 controller. */
#include "common/guest.h"

void guest_main(u32 magic, const struct multiboot_info *info)
{
	(void)magic;
	(void)info;
	serial_puts("rebooting\n");
	i8042_reset();
	halt_forever();
}
