/* SPDX-License-Identifier: MIT */
/*
 * debug-exit: QEMU's isa-debug-exit.  A guest write of V ends dvm with
 * status (V << 1) | 1 (the OS reports its low 8 bits as the exit code).
 */
#ifndef DVM_DEVICES_DEBUG_EXIT_H
#define DVM_DEVICES_DEBUG_EXIT_H

#define DVM_DEBUG_EXIT_GRP_CONFIG 0
#define DVM_DEBUG_EXIT_CONFIG_IOBASE 0 /* u16, default 0xf4 */
#define DVM_DEBUG_EXIT_CONFIG_IOSIZE 1 /* u8, 1, 2 or 4; default 4 */

#define DVM_DEBUG_EXIT_DEFAULT_IOBASE 0xf4
#define DVM_DEBUG_EXIT_DEFAULT_IOSIZE 4

#endif
