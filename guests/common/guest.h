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

static inline void outw(u16 port, u16 value)
{
	__asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline u16 inw(u16 port)
{
	u16 value;

	__asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline void outl(u16 port, u32 value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline u32 inl(u16 port)
{
	u32 value;

	__asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline void mmio_write32(u32 addr, u32 value)
{
	*(volatile u32 *)(uptr)addr = value;
}

static inline u32 mmio_read32(u32 addr)
{
	return *(volatile u32 *)(uptr)addr;
}

/* The local APIC, at its reset address. */
#define LAPIC_BASE 0xfee00000u
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_DIVIDE 0x3e0
#define LAPIC_SVR_ENABLE 0x100
#define LVT_MASKED 0x10000
#define LVT_EXTINT 0x700
#define LVT_TIMER_PERIODIC 0x20000

static inline void lapic_write(u32 reg, u32 value)
{
	mmio_write32(LAPIC_BASE + reg, value);
}

static inline u32 lapic_read(u32 reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

/* 32-bit guests' IDT: interrupt gates on start32.S's code segment.  The
 * handlers must return with "ret $8", not iret (see timer.c). */
void idt_set_gate(unsigned vector, void (*handler)(void));
void idt_load(void);

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

/* Firmware tables (ACPI, MP): the byte sum (0 when the checksum is right),
 * and whether p starts with the n bytes of s. */
u8 bytes_sum(const u8 *p, u32 len);
int bytes_same(const u8 *p, const char *s, u32 n);

/* The two 8259s, cascaded on IRQ 2, edge-triggered, 8086 mode. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI 0x20
/* ICW1-4 with the vector bases (multiples of 8), then the masks (OCW1). */
void pic_init(u8 master_base, u8 slave_base, u8 master_mask, u8 slave_mask);

/* Prints value in hex with exactly `digits` digits (1-8), no prefix. */
void serial_put_hex(u32 value, int digits);

#endif
