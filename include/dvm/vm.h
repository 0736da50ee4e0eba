/* SPDX-License-Identifier: MIT */
/* The VM: guest memory, the I/O buses, interrupt lines, and running. */
#ifndef DVM_VM_H
#define DVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dvm/device.h"

/* dvm_vm_config.flags */
#define DVM_VM_NO_KVM 0x1u   /* no /dev/kvm: emulated devices only (unit tests, fuzzing) */
#define DVM_VM_MEM_FILE 0x2u /* guest RAM is mem_fd's contents, mapped copy-on-write (restore) */

struct dvm_vm_config {
	uint64_t mem_size; /* bytes of guest RAM at GPA 0 (below the 3 GiB hole; more goes above 4
			      GiB) */
	uint32_t flags;
	int mem_fd; /* DVM_VM_MEM_FILE: at least mem_size bytes; pages load as the guest touches
		       them */
};

int dvm_vm_create(const struct dvm_vm_config *cfg, struct dvm_vm **out);
/* Drops the creator's reference.  The VM is torn down when the last
 * reference (creator or open device handle) is gone. */
void dvm_vm_put(struct dvm_vm *vm);
/* Close every open device handle, then drop the creator's reference: the VM
 * is torn down (what process exit does to a KVM VM). */
void dvm_vm_shutdown(struct dvm_vm *vm);

bool dvm_vm_has_kvm(const struct dvm_vm *vm);
int dvm_vm_kvm_fd(const struct dvm_vm *vm); /* /dev/kvm, -1 without */
int dvm_vm_fd(const struct dvm_vm *vm);	    /* the KVM VM fd, -1 without */
/* KVM_CHECK_EXTENSION on the VM (cached per call site is the caller's business). */
int dvm_vm_check_extension(const struct dvm_vm *vm, long cap);

/* Guest memory. */
uint64_t dvm_vm_mem_size(const struct dvm_vm *vm);
/* A host pointer to [gpa, gpa+len) when it lies wholly in guest RAM, else NULL. */
void *dvm_vm_gpa_to_hva(struct dvm_vm *vm, uint64_t gpa, uint64_t len);

/* The 4 KiB page of guest RAM holding gpa: make KVM forget its mapping so
 * the next guest access faults it in again (pc-testdev's port 0xe4).  The
 * contents stay and the page stays readable and writable throughout (it is
 * left read-write).  -EFAULT when the page is not guest RAM. */
int dvm_vm_drop_guest_page(struct dvm_vm *vm, uint64_t gpa);

/*
 * Dirty-page logging (live migration): KVM_MEM_LOG_DIRTY_PAGES on the RAM
 * slots.  The bitmap is in RAM order, one bit per 4 KiB page of
 * dvm_vm_mem_size(): bit i is the page at RAM offset i * 4096, i.e. GPA
 * i * 4096 below 3 GiB and 4 GiB + (i * 4096 - 3 GiB) above.  get returns
 * the pages the guest (and KVM on its behalf) wrote since the last get or
 * start, and clears the log; bitmap holds dvm_vm_dirty_bitmap_words()
 * 64-bit words.  Writes dvm itself makes to guest RAM are not logged (its
 * devices only write RAM before start: the ACPI and MP tables).  Without
 * KVM: -EOPNOTSUPP.  start while logging: -EBUSY; get/stop without: -EINVAL.
 */
int dvm_vm_dirty_log_start(struct dvm_vm *vm);
int dvm_vm_dirty_log_stop(struct dvm_vm *vm);
int dvm_vm_dirty_log_get(struct dvm_vm *vm, uint64_t *bitmap);
size_t dvm_vm_dirty_bitmap_words(const struct dvm_vm *vm);
/* RAM offset (the bitmap's order) to a host pointer, NULL past the end. */
void *dvm_vm_ram_hva(struct dvm_vm *vm, uint64_t offset);

/*
 * I/O buses.  Handlers are called on vCPU threads; `offset` is from `base`.
 *
 * DVM_BUS_PCI_CFG is PCI configuration space, laid out like PCIe ECAM: 4 KiB
 * per function at DVM_PCI_CFG_ADDR(bus, dev, fn), the register offset below
 * that.  A PCI function registers its 4 KiB there; the host bridge (config
 * mechanism #1 at 0xcf8/0xcfc) turns guest accesses into accesses on it, and
 * an absent function reads all-ones like any unclaimed address.  A handler
 * may itself call dvm_bus_access() on another space (each space has its own
 * lock), never on its own.
 */
enum dvm_bus_space { DVM_BUS_PIO = 0, DVM_BUS_MMIO = 1, DVM_BUS_PCI_CFG = 2, DVM_BUS_NR };
#define DVM_PCI_CFG_SIZE 0x1000u /* bytes of config space per function */
#define DVM_PCI_CFG_LIMIT (256u * 32 * 8 * DVM_PCI_CFG_SIZE) /* 256 buses */
#define DVM_PCI_CFG_ADDR(bus, dev, fn)                                                             \
	((((uint64_t)(bus)&0xff) << 20) | (((uint64_t)(dev)&0x1f) << 15) |                         \
	 (((uint64_t)(fn)&0x7) << 12))
struct dvm_io_ops {
	/* Fill data[0..len) for a read; len is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t offset, void *data, unsigned len);
	void (*write)(void *opaque, uint64_t offset, const void *data, unsigned len);
};
/* -EEXIST when the range overlaps another, -EINVAL for an empty/wrapping range
 * or one beyond the space (PIO: 64 KiB, PCI_CFG: DVM_PCI_CFG_LIMIT). */
int dvm_bus_register(struct dvm_vm *vm, enum dvm_bus_space space, uint64_t base, uint64_t len,
		     const struct dvm_io_ops *ops, void *opaque);
int dvm_bus_unregister(struct dvm_vm *vm, enum dvm_bus_space space, uint64_t base, void *opaque);
/* Dispatch one access; returns false when nothing claims the address
 * (reads then see all-ones). */
bool dvm_bus_access(struct dvm_vm *vm, enum dvm_bus_space space, uint64_t addr, void *data,
		    unsigned len, bool is_write);

/* Interrupt lines (GSIs).  With KVM they go to the in-kernel irqchip once it
 * exists; without, the level is only recorded (tests read it back). */
int dvm_irq_set_line(struct dvm_vm *vm, uint32_t gsi, int level);
/* The same for one of several devices sharing a line (any non-NULL token,
 * usually the device's private struct): the line is high while any source
 * holds it high, as a wired-OR level line.  -ENOSPC past 8 sources. */
int dvm_irq_set_line_from(struct dvm_vm *vm, uint32_t gsi, const void *source, int level);
int dvm_irq_get_line(struct dvm_vm *vm, uint32_t gsi); /* last level set, or -EINVAL */
/* The in-kernel irqchip (PIC x2 + IOAPIC, KVM_CREATE_IRQCHIP), made on first need. */
int dvm_irq_ensure_kernel_irqchip(struct dvm_vm *vm);
bool dvm_irq_has_kernel_irqchip(const struct dvm_vm *vm);

/* How many devices of a type the VM has now (vCPUs: fixed once started). */
unsigned dvm_vm_nr_devices(const struct dvm_vm *vm, uint32_t type);

/* Running. */
enum dvm_vm_state { DVM_VM_CONFIGURING = 0, DVM_VM_RUNNING, DVM_VM_PAUSED, DVM_VM_STOPPED };
enum dvm_vm_state dvm_vm_state(const struct dvm_vm *vm);
bool dvm_vm_started(const struct dvm_vm *vm); /* vCPUs have run at least once */

/*
 * Why a VM stopped, and the exit status dvm reports for it.  Statuses of
 * dvm's own are even, so they never collide with isa-debug-exit's odd
 * (V << 1) | 1.
 */
enum dvm_stop_reason {
	DVM_STOP_NONE = 0,
	DVM_STOP_POWEROFF,     /* status 0 */
	DVM_STOP_RESET,	       /* status 0: i8042 / triple fault reset with no reboot */
	DVM_STOP_DEBUG_EXIT,   /* status (V << 1) | 1 */
	DVM_STOP_GUEST_CRASH,  /* status 6: fatal KVM exit, registers dumped */
	DVM_STOP_HOST_ERROR,   /* status 4: dvm could not go on */
	DVM_STOP_SIGNAL,       /* status 128 + signal */
	DVM_STOP_GUEST_HALTED, /* status 8: every vCPU halted with interrupts off */
	DVM_STOP_QUIT,	       /* status 0: an operator asked (the control socket's quit) */
	DVM_STOP_MIGRATED,     /* status 0: the VM runs on elsewhere (live migration) */
};
#define DVM_STATUS_OK 0
#define DVM_STATUS_USAGE 2
#define DVM_STATUS_HOST_ERROR 4
#define DVM_STATUS_GUEST_CRASH 6
#define DVM_STATUS_GUEST_HALTED 8
#define DVM_STATUS_SIGNAL_BASE 128

/* Ask every vCPU to stop; the first request wins.  Safe from any thread and
 * from device I/O handlers. */
void dvm_vm_request_stop(struct dvm_vm *vm, enum dvm_stop_reason reason, int status,
			 const char *message);
/* Why and how the VM stopped, without waiting: false while it has not.
 * message (may be NULL) receives up to len bytes, NUL-terminated. */
bool dvm_vm_stop_info(struct dvm_vm *vm, enum dvm_stop_reason *reason, int *status, char *message,
		      size_t len);
/* Start one thread per vCPU device (in creation order; the first is the
 * boot CPU), calling each device's start op first. */
int dvm_vm_start(struct dvm_vm *vm);
/* Wait until the VM stops; returns the exit status, fills the reason. */
int dvm_vm_wait(struct dvm_vm *vm, enum dvm_stop_reason *reason, const char **message);
/* Pause/resume the vCPUs (state attributes are readable while paused).
 * Pauses nest: the vCPUs run again when every pause has been resumed, so a
 * sleeping guest stays asleep through a monitor's brief look.  pause waits
 * until every vCPU is out of KVM_RUN; request_pause doesn't wait, for
 * callers on a vCPU thread (a device handler): that vCPU stops as soon as
 * its exit is handled.  -EINVAL unless running or paused. */
int dvm_vm_pause(struct dvm_vm *vm);
int dvm_vm_request_pause(struct dvm_vm *vm);
int dvm_vm_resume(struct dvm_vm *vm); /* -EINVAL when not paused */
/*
 * An operator's pause (the control socket's pause and resume): the same
 * nesting, but resume_operator undoes only a pause an operator took, never
 * one a snapshot, a migration or a sleeping guest holds: -EBUSY then, and
 * -EINVAL when the VM is not paused at all.
 */
int dvm_vm_pause_operator(struct dvm_vm *vm);
int dvm_vm_resume_operator(struct dvm_vm *vm);
/* Hand a pause the caller holds to the operator: the VM stays paused until
 * an operator resumes it (a migration that cannot tell whether the
 * destination runs).  -EINVAL when not paused. */
int dvm_vm_pause_to_operator(struct dvm_vm *vm);
/* Pauses held now: by operators, and in all. */
void dvm_vm_pauses(struct dvm_vm *vm, unsigned *operator_pauses, unsigned *all);

/*
 * Events: what happens in the VM that a watcher (the control socket) should
 * hear of while it runs.  The poster fills only its kind's fields; strings
 * are valid only during the call.
 */
enum dvm_event_kind {
	DVM_EVENT_DEVICE_ERROR, /* dvm_device_report() */
	DVM_EVENT_SNAPSHOT,	/* a snapshot's progress */
	DVM_EVENT_MIGRATION,	/* an outgoing migration's progress */
};
struct dvm_event {
	enum dvm_event_kind kind;
	const char *message; /* for people; always set */
	/* DEVICE_ERROR */
	uint32_t dev_type;
	unsigned instance;
	int handle; /* -1 once closed */
	int err;    /* -errno, or 0 */
	/* SNAPSHOT, MIGRATION */
	const char *phase;
	const char *target;   /* the snapshot's directory, the migration's URI */
	uint64_t done, total; /* bytes (migration: pages sent so far; total 0) */
	unsigned round;	      /* MIGRATION: pre-copy rounds so far */
	uint64_t dirty;	      /* MIGRATION: pages dirty in the last round */
};
typedef void (*dvm_event_fn)(void *opaque, const struct dvm_event *ev);
#define DVM_MAX_EVENT_SINKS 8
/* Add a watcher (-ENOSPC past DVM_MAX_EVENT_SINKS).  fn runs on whichever
 * thread posts (a vCPU, a device's thread, a worker): it must be quick,
 * thread-safe and must not call back into the VM. */
int dvm_vm_add_event_sink(struct dvm_vm *vm, dvm_event_fn fn, void *opaque);
/* Once this returns, fn(opaque) is not running and won't be called again. */
void dvm_vm_remove_event_sink(struct dvm_vm *vm, dvm_event_fn fn, void *opaque);
/* Give ev to every watcher. */
void dvm_vm_post_event(struct dvm_vm *vm, const struct dvm_event *ev);
/* A snapshot's progress callback (struct dvm_snapshot_progress's fn) that
 * posts DVM_EVENT_SNAPSHOT events; arg is a struct dvm_event_target. */
struct dvm_event_target {
	struct dvm_vm *vm;
	const char *target;
};
void dvm_event_snapshot_progress(void *arg, const char *phase, uint64_t done, uint64_t total);

/* Console: where emulated UARTs write, and read from. Defaults: 1 and 0. */
void dvm_vm_set_console(struct dvm_vm *vm, int in_fd, int out_fd);
int dvm_vm_console_in(const struct dvm_vm *vm);
int dvm_vm_console_out(const struct dvm_vm *vm);

#endif
