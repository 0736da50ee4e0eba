/* SPDX-License-Identifier: MIT */
/* The VM's insides, shared by src/core only. */
#ifndef DVM_VM_INTERNAL_H
#define DVM_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dvm/device.h"
#include "dvm/vm.h"

#define DVM_MAX_HANDLES 4096
#define DVM_NR_GSIS 24
#define DVM_IRQ_MAX_SOURCES 8
/* Guest RAM below this GPA; the rest is mapped at 4 GiB (the PCI hole). */
#define DVM_LOW_RAM_LIMIT 0xc0000000ull
#define DVM_HIGH_RAM_BASE 0x100000000ull

struct dvm_bus_range {
	uint64_t base, len;
	const struct dvm_io_ops *ops;
	void *opaque;
};

struct dvm_bus {
	/* One lock per space: a PIO handler (the PCI host bridge) may dispatch
	 * on PCI_CFG without taking a lock it already holds. */
	pthread_rwlock_t lock;
	struct dvm_bus_range *ranges; /* sorted by base, never overlapping */
	unsigned nr, cap;
};

struct dvm_runner; /* a vCPU thread, see runner.h */

struct dvm_vm {
	int kvm_fd, vm_fd;
	uint32_t flags;
	uint8_t *mem;
	uint64_t mem_size;

	/* Device list and create/close: the "VM lock" of the kernel. */
	pthread_mutex_t lock;
	struct dvm_device *devices, **devices_tail;
	unsigned nr_devices_of_type[DVM_DEV_TYPE_MAX];

	/* Handle table: read-locked by every device ioctl, write-locked by close. */
	pthread_rwlock_t handles_lock;
	struct dvm_device *handles[DVM_MAX_HANDLES];

	atomic_int refs; /* the creator's, plus one per open handle */

	struct dvm_bus bus[DVM_BUS_NR];

	bool kernel_irqchip;
	int irq_levels[DVM_NR_GSIS]; /* the wire: any source asserting */
	/* Who asserts each line: devices sharing a GSI wire-OR (irq_lock). */
	pthread_mutex_t irq_lock;
	const void *irq_sources[DVM_NR_GSIS][DVM_IRQ_MAX_SOURCES];

	/* Run state; `state_lock` also guards runners and the stop record. */
	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	atomic_int state; /* enum dvm_vm_state */
	bool started;
	struct dvm_runner **runners;
	unsigned nr_runners, cap_runners, nr_parked, nr_exited;
	unsigned pause_depth;	  /* pauses not yet resumed; vCPUs run at 0 */
	unsigned operator_pauses; /* of those, the operator's (resume_operator) */
	enum dvm_stop_reason stop_reason;
	int stop_status;
	char stop_message[256];

	int console_in, console_out;

	/* Event watchers; event_lock is held while they run. */
	pthread_mutex_t event_lock;
	struct {
		dvm_event_fn fn;
		void *opaque;
	} event_sinks[DVM_MAX_EVENT_SINKS];

	bool dirty_logging; /* KVM_MEM_LOG_DIRTY_PAGES on the RAM slots (state_lock) */
};

/* A thread that runs guest code (a vCPU); registered with the VM so that
 * pause and stop can kick it out of KVM_RUN. */
struct dvm_runner {
	pthread_t thread;
	struct kvm_run *run; /* for immediate_exit */
	void (*fn)(struct dvm_runner *r, void *arg);
	void *arg;
};

#define DVM_KICK_SIGNAL SIGUSR1

#endif
