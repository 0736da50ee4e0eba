/* SPDX-License-Identifier: MIT */
/*
 * Shared by the freestanding test guests: port I/O, COM1 output, the
 * isa-debug-exit port, i8042 reset, command-line parsing and the multiboot
 * v1 info layout.  Only COM1 (0x3f8), 0xf4 and 0x64 are used, so the guests
 * also boot under QEMU.
 */
#ifndef DVM_GUEST_H
#define DVM_GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long uptr;

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MB_INFO_CMDLINE 0x4u
#define MB_INFO_MODS 0x8u

struct multiboot_info {
	u32 flags;
	u32 mem_lower;
	u32 mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count;
	u32 mods_addr;
	u32 syms[4];
	u32 mmap_length;
	u32 mmap_addr;
};

struct multiboot_module {
	u32 mod_start;
	u32 mod_end;
	u32 string;
	u32 reserved;
};

static inline void outb(u16 port, u8 value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 value;

	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

void serial_putc(char c);
void serial_puts(const char *s);
void serial_enable_fifo(void);
void serial_put_uint(u32 value);
/* Writes the byte to isa-debug-exit (port 0xf4); the VMM exits (v << 1) | 1. */
void debug_exit(u8 code);
/* Pulses the CPU reset line through the i8042 controller. */
void i8042_reset(void);
void halt_forever(void) __attribute__((noreturn));
/* Finds "key" (e.g. "exit=") at the start of a word and parses the decimal
 * number after it; 1 when found. */
int cmdline_find_uint(const char *cmdline, const char *key, u32 *value);

#endif
