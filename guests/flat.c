// SPDX-License-Identifier: MIT
/* A flat binary for load address 0x100000, entered in 32-bit protected mode. */
#include "common/guest.h"

void guest_main(void)
{
	serial_puts("hello from a flat binary\n");
	debug_exit(7);
	halt_forever();
}
