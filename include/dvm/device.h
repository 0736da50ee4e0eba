/* SPDX-License-Identifier: MIT */
/*
 * dvm's device-control API: the kernel's KVM_CREATE_DEVICE /
 * KVM_{SET,GET,HAS}_DEVICE_ATTR taken out of the kernel.  The structs are the
 * kernel's own (struct kvm_create_device, struct kvm_device_attr) and every
 * call returns 0 or a negative errno following the kernel's errno table.
 */
#ifndef DVM_DEVICE_H
#define DVM_DEVICE_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct dvm_vm;
struct dvm_device;

/*
 * Device types.  Kernel-backed types keep KVM's numbers (enum
 * kvm_device_type); dvm's own types start at 0x100 so they never collide
 * with a type a future kernel might add.
 */
enum dvm_device_type {
	DVM_DEV_TYPE_KVM_VFIO = KVM_DEV_TYPE_VFIO, /* 4, forwarded to the kernel */
	DVM_DEV_TYPE_OWN_BASE = 0x100,
	DVM_DEV_TYPE_VCPU = DVM_DEV_TYPE_OWN_BASE,
	DVM_DEV_TYPE_PIC,
	DVM_DEV_TYPE_IOAPIC,
	DVM_DEV_TYPE_PIT,
	DVM_DEV_TYPE_SERIAL_8250,
	DVM_DEV_TYPE_I8042,
	DVM_DEV_TYPE_DEBUG_EXIT,
	DVM_DEV_TYPE_FW_CFG,
	DVM_DEV_TYPE_CMOS_RTC,
	DVM_DEV_TYPE_PCI_HOST,
	DVM_DEV_TYPE_PC_TESTDEV,
	DVM_DEV_TYPE_ACPI_PM,
	DVM_DEV_TYPE_MAX = 0x200, /* size of the registry; types are < this */
};

/* What an attribute is (one of). */
enum dvm_attr_kind {
	DVM_ATTR_CONFIG = 1,  /* set before start: base address, irq, ... */
	DVM_ATTR_STATE = 2,   /* device state; a snapshot saves and restores it */
	DVM_ATTR_COMMAND = 3, /* an operation: writing it does something */
};

/* Access bits. */
#define DVM_ATTR_R 0x1u
#define DVM_ATTR_W 0x2u
#define DVM_ATTR_RW (DVM_ATTR_R | DVM_ATTR_W)
#define DVM_ATTR_BEFORE_START 0x4u  /* writes answer EBUSY once vCPUs have run */
#define DVM_ATTR_ONCE 0x8u	    /* a second write answers EEXIST */
#define DVM_ATTR_WHILE_PAUSED 0x10u /* reads and writes answer EBUSY while vCPUs run */
#define DVM_ATTR_DERIVED 0x20u	    /* a view of other attributes: snapshots skip it */
#define DVM_ATTR_HOST_REF 0x40u	    /* the value holds a host pointer or fd: in process only */

/* How the bytes behind addr are to be read by people and parsers. */
enum dvm_attr_format {
	DVM_FMT_UINT = 0, /* little-endian unsigned integer of `size` bytes */
	DVM_FMT_BOOL,	  /* one byte, 0 or 1 */
	DVM_FMT_BLOB,	  /* opaque bytes (a kernel struct, a register file) */
	DVM_FMT_STRING,	  /* NUL-terminated, at most `size` bytes with the NUL */
};

/*
 * One row of a device type's static schema.  The core derives from it,
 * with no per-device code: HAS_DEVICE_ATTR, the ENXIO/EPERM/EBUSY/EEXIST/EINVAL
 * checks, `dvm describe`, `--device TYPE,name=value` parsing, and the list
 * of STATE attributes that a snapshot saves.
 */
struct dvm_attr_desc {
	uint32_t group;
	uint64_t attr;	   /* first attribute of the row */
	uint64_t count;	   /* number of attributes (attr .. attr+count-1); 0 means 1 */
	const char *name;  /* "base", "irq", "regs", "lapic" */
	uint32_t size;	   /* bytes behind addr */
	uint32_t kind;	   /* enum dvm_attr_kind */
	uint32_t access;   /* DVM_ATTR_* bits */
	uint32_t format;   /* enum dvm_attr_format */
	uint64_t min, max; /* DVM_FMT_UINT: values outside answer EINVAL (max 0: no limit) */
	uint64_t def;	   /* DVM_FMT_UINT config: the default, for describe */
	const char *help;  /* one line for describe */
	/* DVM_FIELD(): an integer kept in the device's private struct, which the
	 * core reads and writes itself (after ops->check_attr); 0: none. */
	size_t field;
};

/* For a schema row: the core stores the attribute in dev->private->member.
 * Sets .field and .size together, so they can't disagree. */
#define DVM_FIELD(type, member)                                                                    \
	.field = offsetof(type, member) + 1, .size = sizeof(((type *)0)->member)

/* dvm_device_ops.flags */
#define DVM_OPS_SINGLETON 0x1u	 /* one per VM: a second create answers EEXIST */
#define DVM_OPS_PASSTHROUGH 0x2u /* kernel-backed: SET/GET/HAS go to the kernel unchecked */
#define DVM_OPS_NEEDS_KVM 0x4u	 /* absent (ENODEV) on a VM without /dev/kvm */

struct dvm_device_ops {
	const char *name;    /* "serial-8250", "ioapic", "vcpu" ... */
	uint32_t type;	     /* enum dvm_device_type */
	uint32_t flags;	     /* DVM_OPS_* */
	const char *summary; /* one line for `dvm types` */
	const struct dvm_attr_desc *attrs;
	size_t nr_attrs;
	/* Whether this host can have the type at all (TEST flag, `dvm types`):
	 * 0 or -ENODEV.  NULL: always. */
	int (*probe)(struct dvm_vm *vm);
	int (*create)(struct dvm_device *dev);	 /* under the VM lock; keep it light */
	void (*init)(struct dvm_device *dev);	 /* after create, outside the lock */
	void (*destroy)(struct dvm_device *dev); /* at VM teardown; frees private */
	void (*release)(struct dvm_device *dev); /* instead of destroy: on handle close */
	int (*set_attr)(struct dvm_device *dev, const struct kvm_device_attr *attr);
	int (*get_attr)(struct dvm_device *dev, const struct kvm_device_attr *attr);
	/* NULL: derived from attrs.  Passthrough types forward it. */
	int (*has_attr)(struct dvm_device *dev, const struct kvm_device_attr *attr);
	long (*ioctl)(struct dvm_device *dev, unsigned int cmd, void *arg);
	/* Called when the VM starts running (all devices configured). */
	int (*start)(struct dvm_device *dev);
	/* Rules for a DVM_FIELD() write that min/max can't say (a set of
	 * allowed values, a range that depends on another field): 0 or -errno.
	 * NULL: the schema's checks are enough. */
	int (*check_attr)(struct dvm_device *dev, const struct dvm_attr_desc *d, uint64_t value);
	/* For rows with count > 1: the attribute numbers that exist (so a
	 * snapshot can save them); the count, or -E2BIG past max. */
	int (*enumerate)(struct dvm_device *dev, const struct dvm_attr_desc *d, uint64_t *attrs,
			 size_t max);
};

struct dvm_device {
	const struct dvm_device_ops *ops;
	struct dvm_vm *vm;
	void *private;
	int handle;		 /* -1 once the handle is closed */
	unsigned instance;	 /* 0, 1, ... among devices of this type in this VM */
	uint64_t attrs_written;	 /* bit i: schema row i has been written (ONCE) */
	unsigned errors;	 /* dvm_device_report() calls (atomic) */
	struct dvm_device *next; /* the VM's device list, in creation order */
};

/*
 * A device tells of a fault that does not stop the VM (its console output
 * failed, the guest asked for something unsupported): counted in
 * dvm_device_errors(), printed on stderr (the first few per device), and
 * posted as a device-error event (include/dvm/vm.h).  err is -errno or 0.
 * Any thread; never blocks on the guest.
 */
void dvm_device_report(struct dvm_device *dev, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned dvm_device_errors(const struct dvm_device *dev);

/* Registry. */
int dvm_register_device_ops(const struct dvm_device_ops *ops); /* -EEXIST, -ENOSPC */
const struct dvm_device_ops *dvm_device_ops_by_type(uint32_t type);
const struct dvm_device_ops *dvm_device_ops_by_name(const char *name);
/* Calls fn for each registered type, in type order. */
void dvm_for_each_device_ops(void (*fn)(const struct dvm_device_ops *, void *), void *opaque);
void dvm_register_builtin_devices(void); /* idempotent */

/* The API.  All return 0 or -errno. */
int dvm_create_device(struct dvm_vm *vm, struct kvm_create_device *cd);
/* KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR or a device ioctl. */
long dvm_device_ioctl(struct dvm_vm *vm, int handle, unsigned long cmd, void *arg);
int dvm_device_close(struct dvm_vm *vm, int handle);
/* kvm_device_from_filp(): the device behind a handle, or NULL. */
struct dvm_device *dvm_device_from_handle(struct dvm_vm *vm, int handle);
/* The type behind a handle, read under the handle lock (ops are static, so
 * the pointer stays good after a concurrent close): NULL for a bad handle. */
const struct dvm_device_ops *dvm_device_ops_of_handle(struct dvm_vm *vm, int handle);
/* Calls fn for each open handle in handle order, under the handle table's
 * read lock: fn must not create or close devices. */
void dvm_vm_for_each_handle(struct dvm_vm *vm,
			    void (*fn)(int handle, const struct dvm_device *dev, void *opaque),
			    void *opaque);

/* Conveniences over dvm_device_ioctl. */
int dvm_device_set(struct dvm_vm *vm, int handle, uint32_t group, uint64_t attr, const void *val);
int dvm_device_get(struct dvm_vm *vm, int handle, uint32_t group, uint64_t attr, void *val);
int dvm_device_has(struct dvm_vm *vm, int handle, uint32_t group, uint64_t attr);
/* SET on the `instance`th live device of a type, with the same checks as
 * through a handle: how a device reaches another it holds no handle to
 * (the ACPI device resetting the vCPUs on wake).  -ENODEV when none. */
int dvm_device_set_by_type(struct dvm_vm *vm, uint32_t type, unsigned instance, uint32_t group,
			   uint64_t attr, const void *val);
/* The same for KVM_SET/GET/HAS_DEVICE_ATTR (snapshot and restore). */
int dvm_device_attr_by_type(struct dvm_vm *vm, uint32_t type, unsigned instance, unsigned long cmd,
			    uint32_t group, uint64_t attr, void *val);
/* The attribute numbers that exist in a multi-attribute row (the vCPU's
 * MSRs): count, -E2BIG, or -EOPNOTSUPP for a type that can't list them. */
int dvm_device_enumerate_by_type(struct dvm_vm *vm, uint32_t type, unsigned instance,
				 const struct dvm_attr_desc *d, uint64_t *attrs, size_t max);

/* The VM's devices in creation order. */
struct dvm_device_id {
	uint32_t type;
	unsigned instance;
	const struct dvm_device_ops *ops;
};
/* Count written, or -E2BIG when there are more than max. */
int dvm_vm_list_devices(struct dvm_vm *vm, struct dvm_device_id *ids, size_t max);

/* Schema helpers. */
const struct dvm_attr_desc *dvm_attr_lookup(const struct dvm_device_ops *ops, uint32_t group,
					    uint64_t attr);
const struct dvm_attr_desc *dvm_attr_by_name(const struct dvm_device_ops *ops, const char *name);
const char *dvm_attr_kind_name(uint32_t kind);
const char *dvm_attr_format_name(uint32_t format); /* "uint", "bool", "string", "blob" */
/* "read", "write", "before-start", ...: one DVM_ATTR_* access bit's name,
 * NULL for a bit that has none. */
const char *dvm_attr_access_flag_name(uint32_t bit);

#endif
