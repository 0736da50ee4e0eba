// SPDX-License-Identifier: MIT
/*
 * Brings up the application processors with INIT/SIPI, as firmware and
 * kvm-unit-tests do, and counts them.  The real-mode trampoline is copied to
 * page 0 (SIPI vector 0), which the loader must have left alone.  Each AP
 * checks that its LAPIC ID matches what CPUID leaves 1 and 0xB say, and that
 * leaf 0xB's core level counts every CPU; then it parks with interrupts off.
 *
 * cmdline: cpus=N (required).  Exit code 0x30 when all N CPUs came up with
 * consistent IDs.
 */
#include "common/guest.h"

#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_INIT 0x500u
#define ICR_STARTUP 0x600u
#define ICR_ASSERT 0x4000u
#define ICR_BUSY 0x1000u
#define MAX_CPUS 32

volatile u32 cpus_online = 1;
volatile u32 id_errors;
volatile u32 seen_ids; /* bit per APIC ID */
volatile u32 expected_cpus;
u8 ap_stacks[MAX_CPUS][1024] __attribute__((aligned(16)));
volatile u32 next_stack;

/*
 * The trampoline, assembled here and copied to GPA 0.  SIPI vector 0 starts
 * the AP in real mode at 0000:0000.  It loads the guest's own GDT (via a
 * descriptor copy inside the trampoline, reachable with DS = 0) and jumps to
 * 32-bit ap_entry32.
 */
extern const char tramp_start[], tramp_gdt_desc[], tramp_end[];
void ap_entry32(void);
__asm__(".section .rodata\n"
	".code16\n"
	"tramp_start:\n"
	"	cli\n"
	"	xor %ax, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl tramp_gdt_desc - tramp_start\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmpl $0x08, $ap_entry32\n"
	"tramp_gdt_desc:\n"
	"	.word 0\n"
	"	.long 0\n"
	"tramp_end:\n"
	".code32\n"
	".text\n"
	"ap_entry32:\n"
	"	mov $0x10, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %ss\n"
	"	mov $1024, %eax\n"
	"	lock xaddl %eax, next_stack\n"
	"	lea ap_stacks+1024(%eax), %esp\n"
	"	call ap_main\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n");

static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

/* This CPU's LAPIC ID agrees with CPUID; returns the ID. */
static u32 check_ids(void)
{
	u32 a, b, c, d;
	u32 lapic_id = lapic_read(LAPIC_ID) >> 24;

	cpuid(1, 0, &a, &b, &c, &d);
	if ((b >> 24) != lapic_id)
		__atomic_fetch_add(&id_errors, 1, __ATOMIC_SEQ_CST);
	cpuid(0xb, 0, &a, &b, &c, &d);
	if (d != lapic_id)
		__atomic_fetch_add(&id_errors, 1, __ATOMIC_SEQ_CST);
	cpuid(0xb, 1, &a, &b, &c, &d); /* the core level spans the package */
	if ((b & 0xffff) != expected_cpus || ((c >> 8) & 0xff) != 2)
		__atomic_fetch_add(&id_errors, 1, __ATOMIC_SEQ_CST);
	if (lapic_id < 32)
		__atomic_fetch_or(&seen_ids, 1u << lapic_id, __ATOMIC_SEQ_CST);
	return lapic_id;
}

void ap_main(void);
void ap_main(void)
{
	check_ids();
	__atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
}

static void icr_send(u32 low)
{
	lapic_write(ICR_HIGH, 0);
	lapic_write(ICR_LOW, low);
	while (lapic_read(ICR_LOW) & ICR_BUSY)
		;
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	u32 n = 0, spins;

	(void)magic;
	if (!(info->flags & MB_INFO_CMDLINE) ||
	    !cmdline_find_uint((const char *)(uptr)info->cmdline, "cpus=", &n) || n < 1 ||
	    n > MAX_CPUS) {
		serial_puts("smp: need cpus=N (1..32) on the command line\n");
		debug_exit(1);
	}
	expected_cpus = n;

	/* Page 0 becomes the trampoline; the GDT descriptor inside it is ours. */
	u8 *page0 = (u8 *)0;
	u32 len = (u32)(tramp_end - tramp_start);
	for (u32 i = 0; i < len; i++)
		page0[i] = (u8)tramp_start[i];
	__asm__ volatile("sgdt %0" : "=m"(*(u8(*)[6])(page0 + (tramp_gdt_desc - tramp_start))));

	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
	u32 bsp_id = check_ids();
	serial_puts("smp: bsp apic id ");
	serial_put_uint(bsp_id);
	serial_puts("\n");

	icr_send(ICR_ALL_BUT_SELF | ICR_INIT | ICR_ASSERT);
	icr_send(ICR_ALL_BUT_SELF | ICR_STARTUP | 0); /* vector 0: start at GPA 0 */

	/* Bounded wait: each spin is a few emulated instructions. */
	for (spins = 0; cpus_online < n && spins < 2000000; spins++)
		__asm__ volatile("pause");

	serial_puts("smp: ");
	serial_put_uint(cpus_online);
	serial_puts(" of ");
	serial_put_uint(n);
	serial_puts(" cpus online (waited ");
	serial_put_uint(spins);
	serial_puts(" spins)\n");
	if (cpus_online != n) {
		serial_puts("smp: FAIL: not every CPU came up\n");
		debug_exit(2);
	}
	u32 want = n == 32 ? ~0u : (1u << n) - 1;
	if (id_errors || seen_ids != want) {
		serial_puts("smp: FAIL: APIC IDs and CPUID disagree (errors ");
		serial_put_uint(id_errors);
		serial_puts(")\n");
		debug_exit(3);
	}
	serial_puts("smp: apic ids 0..");
	serial_put_uint(n - 1);
	serial_puts(" match cpuid leaves 1 and 0xb\n");
	debug_exit(0x30);
	halt_forever();
}
