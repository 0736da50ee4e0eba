// SPDX-License-Identifier: MIT
/* An ELF64 guest entered directly in long mode by dvm's ELF64 loader. */
#include "common/guest.h"

void guest_main(void)
{
	serial_puts("hello from long mode\n");
	debug_exit(5);
	halt_forever();
}
