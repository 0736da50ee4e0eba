// SPDX-License-Identifier: MIT
/*
 * Reads QEMU's fw_cfg through its port interface (selector 0x510, data
 * 0x511) and checks it against the command line: cpus=N (NB_CPUS),
 * mem=MiB (RAM_SIZE), the file opt/dvm/greeting, whose contents it prints,
 * and CMDLINE_DATA, which must be the tail of its multiboot command line.
 * One "fwcfg: ..." line per check; ends with debug_exit(0x20) when all
 * pass, or debug_exit(2..9) naming the first failed check.
 *
 * qemu=1 on the command line expects QEMU's multiboot items instead of
 * dvm's: no CMDLINE items, and KERNEL_DATA (0x11) holding the image.
 */
#include "common/guest.h"

#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511

#define SIGNATURE 0x00
#define ID 0x01
#define RAM_SIZE 0x03
#define NB_CPUS 0x05
#define MAX_CPUS 0x0f
#define KERNEL_DATA 0x11 /* kvm-unit-tests' FW_CFG_MAX_RAM */
#define CMDLINE_SIZE 0x14
#define CMDLINE_DATA 0x15
#define FILE_DIR 0x19

#define GREETING "opt/dvm/greeting"
#define MAX_SHOWN 200

static void fw_select(u16 key)
{
	outw(FW_CFG_SEL, key);
}

/* n little-endian bytes from the selected item. */
static u64 fw_le(unsigned n)
{
	u64 v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (u64)inb(FW_CFG_DATA) << (8 * i);
	return v;
}

static u32 fw_be(unsigned n)
{
	u32 v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | inb(FW_CFG_DATA);
	return v;
}

static u64 item_le(u16 key, unsigned n)
{
	fw_select(key);
	return fw_le(n);
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static u32 str_len(const char *s)
{
	u32 n = 0;

	while (s[n])
		n++;
	return n;
}

static void fail(u8 code, const char *what)
{
	serial_puts("fwcfg: FAIL ");
	serial_puts(what);
	serial_putc('\n');
	debug_exit(code);
	halt_forever();
}

static void say_uint(const char *what, u32 v, const char *tail)
{
	serial_puts("fwcfg: ");
	serial_puts(what);
	serial_putc(' ');
	serial_put_uint(v);
	serial_puts(tail);
}

static void check_signature(void)
{
	char sig[5];

	fw_select(SIGNATURE);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(FW_CFG_DATA);
	sig[4] = 0;
	if (!str_eq(sig, "QEMU"))
		fail(2, "signature");
	/* Past the end of an item the data port reads 0. */
	if (fw_le(4) != 0)
		fail(2, "read past the end of SIGNATURE");
	serial_puts("fwcfg: signature QEMU\n");
}

static void check_id(void)
{
	u32 id = (u32)item_le(ID, 4);

	if (!(id & 1))
		fail(3, "ID lacks the traditional interface bit");
	say_uint("id", id, "\n");
}

static void check_cpus(const char *cmdline)
{
	u32 nb = (u32)item_le(NB_CPUS, 2), max = (u32)item_le(MAX_CPUS, 2), want;

	if (cmdline_find_uint(cmdline, "cpus=", &want) && want != nb)
		fail(4, "NB_CPUS differs from cpus=");
	if (max < nb)
		fail(4, "MAX_CPUS below NB_CPUS");
	say_uint("cpus", nb, " ok\n");
	say_uint("max-cpus", max, " ok\n");
}

static void check_ram(const char *cmdline)
{
	u64 ram = item_le(RAM_SIZE, 8);
	u32 want;

	if (cmdline_find_uint(cmdline, "mem=", &want) && ram != (u64)want << 20)
		fail(5, "RAM_SIZE differs from mem=");
	say_uint("ram", (u32)(ram >> 20), " MiB ok\n");
}

/* kvm-unit-tests reads 0x11 as a RAM limit; dvm leaves it empty. */
static void check_kernel_data(int qemu)
{
	u64 v = item_le(KERNEL_DATA, 8);

	if (qemu) {
		serial_puts("fwcfg: kernel-data skipped (qemu=1)\n");
		return;
	}
	if (v != 0)
		fail(6, "KERNEL_DATA (kvm-unit-tests' MAX_RAM) is not 0");
	serial_puts("fwcfg: kernel-data 0 ok\n");
}

static void check_unknown(void)
{
	static const u16 keys[] = {0x06, 0x1f, 0x3fff, 0x8000, 0xbfff, 0xffff};

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (item_le(keys[i], 8) != 0)
			fail(7, "an unknown selector reads nonzero");
	serial_puts("fwcfg: unknown selectors read 0\n");
}

static void check_greeting(void)
{
	u32 count, size = 0, found = 0;
	u16 select = 0;
	char name[57];

	fw_select(FILE_DIR);
	count = fw_be(4);
	say_uint("files", count, "\n");
	for (u32 i = 0; i < count && i < 256; i++) {
		u32 sz = fw_be(4);
		u16 sel = (u16)fw_be(2);

		fw_be(2); /* reserved */
		for (int j = 0; j < 56; j++)
			name[j] = (char)inb(FW_CFG_DATA);
		name[56] = 0;
		if (str_eq(name, GREETING)) {
			found = 1;
			size = sz;
			select = sel;
		}
	}
	if (!found)
		fail(8, GREETING " not in FILE_DIR");
	say_uint("greeting size", size, "\n");
	fw_select(select);
	serial_puts("fwcfg: greeting ");
	for (u32 i = 0; i < size && i < MAX_SHOWN; i++) {
		char c = (char)inb(FW_CFG_DATA);
		if (c == '\n')
			break;
		serial_putc(c);
	}
	serial_putc('\n');
}

static void check_cmdline(const char *cmdline, int qemu)
{
	u32 size = (u32)item_le(CMDLINE_SIZE, 4), len = str_len(cmdline), i;
	char buf[MAX_SHOWN + 1];

	if (qemu) {
		/* QEMU's multiboot loader sets no CMDLINE items. */
		if (size != 0)
			fail(9, "CMDLINE_SIZE set under qemu=1");
		serial_puts("fwcfg: cmdline absent (qemu=1)\n");
		return;
	}
	if (size == 0 || size > MAX_SHOWN)
		fail(9, "CMDLINE_SIZE");
	fw_select(CMDLINE_DATA);
	for (i = 0; i < size; i++)
		buf[i] = (char)inb(FW_CFG_DATA);
	buf[size] = 0;
	serial_puts("fwcfg: cmdline ");
	serial_puts(buf);
	serial_putc('\n');
	/* NUL-terminated, and the multiboot command line's tail after the image path. */
	if (buf[size - 1] != 0 || str_len(buf) != size - 1 || size - 1 > len ||
	    !str_eq(cmdline + len - (size - 1), buf) ||
	    (size - 1 < len && cmdline[len - size] != ' '))
		fail(9, "CMDLINE_DATA differs from the multiboot command line");
	serial_puts("fwcfg: cmdline ok\n");
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	const char *cmdline = "";
	u32 qemu = 0;

	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		fail(1, "multiboot magic");
	if ((info->flags & MB_INFO_CMDLINE) && info->cmdline)
		cmdline = (const char *)(uptr)info->cmdline;
	cmdline_find_uint(cmdline, "qemu=", &qemu);

	check_signature();
	check_id();
	check_cpus(cmdline);
	check_ram(cmdline);
	check_kernel_data(qemu);
	check_unknown();
	check_greeting();
	check_cmdline(cmdline, qemu);
	serial_puts("fwcfg: all ok\n");
	debug_exit(0x20);
	halt_forever();
}
