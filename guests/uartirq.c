// SPDX-License-Identifier: MIT
/*
 * Proves that the serial-8250 UART's interrupt (COM1, IRQ 4) reaches the
 * guest through the in-kernel irqchip: first a THR-empty interrupt, then a
 * line of console input received by interrupt.  Ends with debug-exit code
 * 0x31 after "uart: got <line>"; halts if no input ever arrives.
 *
 * The line is routed through the legacy 8259 PIC by default (KVM drives
 * GSI 4 to both the PIC and the IOAPIC); with "ioapic=1" on the command line
 * it goes through IOAPIC pin 4 instead, with the PIC fully masked.
 */
#include "common/guest.h"

#define COM1 0x3f8
#define UART_RBR (COM1 + 0)
#define UART_IER (COM1 + 1)
#define UART_IIR (COM1 + 2)
#define UART_MCR (COM1 + 4)
#define UART_LSR (COM1 + 5)
#define UART_MSR (COM1 + 6)
#define UART_IRQ 4
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_ID_MASK 0x0e
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT2 0x08 /* gates the IRQ output on real boards */
#define LSR_DR 0x01

#define PIC1_VECTOR_BASE 0x20
#define PIC2_VECTOR_BASE 0x28

#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define REDIR_LEVEL 0x8000 /* the UART holds its line while a cause is pending */
#define REDIR_MASKED 0x10000

#define UART_VECTOR_PIC (PIC1_VECTOR_BASE + UART_IRQ)
#define UART_VECTOR_IOAPIC 0x30
#define SPURIOUS_VECTOR 0xff
#define PIC_SPURIOUS_VECTOR (PIC1_VECTOR_BASE + 7)

#define LINE_MAX 16

static int use_ioapic;
/* Interrupts taken, causes served by type, and interrupts with none pending. */
static volatile u32 irqs, thre_irqs, rx_irqs, empty_irqs;
static volatile u32 rx_len;
static volatile int rx_done;
static char rx_buf[LINE_MAX + 1];

static void ioapic_write(u32 reg, u32 value)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, value);
}

static void rx_drain(void)
{
	while (inb(UART_LSR) & LSR_DR) {
		char c = (char)inb(UART_RBR);

		if (rx_done)
			continue; /* the line is complete; drop the rest */
		if (c == '\n') {
			rx_done = 1;
			continue;
		}
		rx_buf[rx_len++] = c;
		if (rx_len == LINE_MAX)
			rx_done = 1;
	}
}

/*
 * Called from uart_isr with IF=0.  Serves every cause IIR reports until it
 * says none is left, so the UART drops its line before the EOI.
 */
void uart_irq(void)
{
	u8 iir;
	int served = 0;

	irqs++;
	while (!((iir = inb(UART_IIR)) & IIR_NO_INT)) {
		served = 1;
		switch (iir & IIR_ID_MASK) {
		case IIR_THRI:
			thre_irqs++; /* the IIR read acknowledged it */
			break;
		case IIR_RDI:
		case IIR_TIMEOUT:
			rx_irqs++;
			rx_drain();
			break;
		case IIR_RLSI:
			(void)inb(UART_LSR);
			break;
		case IIR_MSI:
			(void)inb(UART_MSR);
			break;
		}
	}
	/*
	 * Nothing pending is harmless: the PIC latches a new edge when dvm's
	 * reader refills RBR mid-drain, and on PVM the IOAPIC route can deliver
	 * a vector once more after its EOI (inside the handler the LAPIC still
	 * shows it in IRR, not ISR).
	 */
	if (!served)
		empty_irqs++;
	if (use_ioapic)
		lapic_write(LAPIC_EOI, 0);
	else
		outb(PIC1_CMD, PIC_EOI);
}

/*
 * The entry stubs save the registers the interrupted "sti; hlt" code expects
 * kept and return with "ret $8" (pop EIP, drop CS and EFLAGS) instead of
 * iret, which PVM's emulator lacks in protected mode.  That is sound because
 * interrupts are only enabled in the "sti; hlt" window: the interrupted code
 * runs with IF=0 and the same CS, and the cli after hlt ends the window.
 */
void uart_isr(void);
void spurious_isr(void);
__asm__(".text\n"
	"uart_isr:\n"
	"	pushal\n"
	"	cld\n"
	"	call uart_irq\n"
	"	popal\n"
	"	ret $8\n"
	"spurious_isr:\n" /* neither the LAPIC nor a PIC spurious takes an EOI */
	"	ret $8\n");

static void irq_route_init(void)
{
	u32 apic_id = lapic_read(LAPIC_ID) >> 24;

	/* Software-enable the LAPIC; it must also accept the PIC's ExtINT. */
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	if (use_ioapic) {
		/* Vectors still initialised so a stray PIC vector cannot alias an exception. */
		pic_init(PIC1_VECTOR_BASE, PIC2_VECTOR_BASE, 0xff, 0xff);
		lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
		ioapic_write(IOAPIC_REDTBL(UART_IRQ) + 1, apic_id << 24);
		/* Fixed delivery, physical destination, active high, level. */
		ioapic_write(IOAPIC_REDTBL(UART_IRQ), REDIR_LEVEL | UART_VECTOR_IOAPIC);
	} else {
		pic_init(PIC1_VECTOR_BASE, PIC2_VECTOR_BASE, (u8) ~(1u << UART_IRQ), 0xff);
		lapic_write(LAPIC_LVT_LINT0, LVT_EXTINT);
	}
}

/* One interrupt window: sti's shadow makes hlt start before any delivery. */
static void wait_for_irq(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

void guest_main(u32 magic, const struct multiboot_info *info)
{
	const char *cmdline = "";
	u32 flag = 0;

	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (info->flags & MB_INFO_CMDLINE) && info->cmdline)
		cmdline = (const char *)(uptr)info->cmdline;
	use_ioapic = cmdline_find_uint(cmdline, "ioapic=", &flag) && flag;
	serial_puts(use_ioapic ? "uart: route ioapic\n" : "uart: route pic\n");

	idt_set_gate(UART_VECTOR_PIC, uart_isr);
	idt_set_gate(UART_VECTOR_IOAPIC, uart_isr);
	idt_set_gate(PIC_SPURIOUS_VECTOR, spurious_isr);
	idt_set_gate(SPURIOUS_VECTOR, spurious_isr);
	idt_load();
	irq_route_init();

	/* 1: THR is empty, so enabling THRI raises the interrupt at once. */
	outb(UART_IER, IER_THRI);
	while (thre_irqs < 1)
		wait_for_irq();
	/* Off before printing: every polled THR write would re-arm it. */
	outb(UART_IER, 0);
	serial_puts("uart: thre irq ok\n");

	/*
	 * 2: receive by interrupt.  The FIFO stays off (16450 mode): enabling
	 * it empties the receiver, which may already hold console input.
	 */
	outb(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	outb(UART_IER, IER_RDI);
	while (!rx_done)
		wait_for_irq();
	outb(UART_IER, 0);
	rx_buf[rx_len] = '\0';

	serial_puts("uart: got ");
	serial_puts(rx_buf);
	serial_puts("\nuart: irqs ");
	serial_put_uint(irqs);
	serial_puts(" thre ");
	serial_put_uint(thre_irqs);
	serial_puts(" rx ");
	serial_put_uint(rx_irqs);
	serial_puts(" empty ");
	serial_put_uint(empty_irqs);
	serial_putc('\n');
	debug_exit(0x31);
	halt_forever();
}
