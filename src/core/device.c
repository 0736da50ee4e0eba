/* SPDX-License-Identifier: MIT */
/*
 * KVM_CREATE_DEVICE and the device-handle ioctls, with the kernel's order of
 * operations and errno table (shared/kvm-device-api.md, sections 2 and 3).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/attr_check.h"
#include "core/vm_internal.h"
#include "dvm/device.h"

void dvm_vm_get_ref(struct dvm_vm *vm);
bool dvm_vm_foreign(const struct dvm_vm *vm);

static bool type_supported(struct dvm_vm *vm, const struct dvm_device_ops *ops)
{
	if ((ops->flags & DVM_OPS_NEEDS_KVM) && !dvm_vm_has_kvm(vm))
		return false;
	return !ops->probe || ops->probe(vm) == 0;
}

static void unlink_device(struct dvm_vm *vm, struct dvm_device *dev)
{
	struct dvm_device **pp;

	for (pp = &vm->devices; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			if (vm->devices_tail == &dev->next)
				vm->devices_tail = pp;
			break;
		}
	}
	vm->nr_devices_of_type[dev->ops->type]--;
}

static void release_or_destroy(struct dvm_device *dev)
{
	if (dev->ops->release)
		dev->ops->release(dev);
	else if (dev->ops->destroy)
		dev->ops->destroy(dev);
	free(dev);
}

static int publish_handle(struct dvm_vm *vm, struct dvm_device *dev)
{
	pthread_rwlock_wrlock(&vm->handles_lock);
	for (int h = 0; h < DVM_MAX_HANDLES; h++) {
		if (!vm->handles[h]) {
			vm->handles[h] = dev;
			__atomic_store_n(&dev->handle, h, __ATOMIC_RELAXED);
			pthread_rwlock_unlock(&vm->handles_lock);
			return h;
		}
	}
	pthread_rwlock_unlock(&vm->handles_lock);
	return -EMFILE;
}

int dvm_create_device(struct dvm_vm *vm, struct kvm_create_device *cd)
{
	const struct dvm_device_ops *ops;
	struct dvm_device *dev;
	int ret;

	if (!vm)
		return -EINVAL;
	if (dvm_vm_foreign(vm))
		return -EIO;
	if (dvm_user_ptr_bad(cd))
		return -EFAULT;
	ops = dvm_device_ops_by_type(cd->type);
	if (!ops || !type_supported(vm, ops))
		return -ENODEV;
	/* TEST: nothing allocated, create not called, fd untouched.  A
	 * kernel-backed type's probe asks the kernel the same question. */
	if (cd->flags & KVM_CREATE_DEVICE_TEST)
		return 0;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->ops = ops;
	dev->vm = vm;
	dev->handle = -1;

	pthread_mutex_lock(&vm->lock);
	if ((ops->flags & DVM_OPS_SINGLETON) && vm->nr_devices_of_type[ops->type]) {
		pthread_mutex_unlock(&vm->lock);
		free(dev);
		return -EEXIST;
	}
	dev->instance = vm->nr_devices_of_type[ops->type];
	ret = ops->create(dev);
	if (ret) {
		pthread_mutex_unlock(&vm->lock);
		free(dev); /* never linked, so nothing can see it (CVE-2016-10150) */
		return ret;
	}
	*vm->devices_tail = dev;
	vm->devices_tail = &dev->next;
	vm->nr_devices_of_type[ops->type]++;
	pthread_mutex_unlock(&vm->lock);

	if (ops->init)
		ops->init(dev);
	/* A device added to a running machine starts now, or not at all. */
	if (dvm_vm_started(vm) && ops->start) {
		ret = ops->start(dev);
		if (ret) {
			pthread_mutex_lock(&vm->lock);
			unlink_device(vm, dev);
			pthread_mutex_unlock(&vm->lock);
			release_or_destroy(dev);
			return ret;
		}
	}

	/* The VM reference is taken before the handle can be seen (CVE-2019-6974). */
	dvm_vm_get_ref(vm);
	ret = publish_handle(vm, dev);
	if (ret < 0) {
		pthread_mutex_lock(&vm->lock);
		unlink_device(vm, dev);
		pthread_mutex_unlock(&vm->lock);
		release_or_destroy(dev);
		dvm_vm_put(vm);
		return ret;
	}
	cd->fd = (uint32_t)ret;
	return 0;
}

static bool schema_has_fields(const struct dvm_device_ops *ops)
{
	for (size_t i = 0; i < ops->nr_attrs; i++)
		if (ops->attrs[i].field)
			return true;
	return false;
}

static long attr_ioctl(struct dvm_vm *vm, struct dvm_device *dev, unsigned long cmd,
		       struct kvm_device_attr *attr)
{
	const struct dvm_device_ops *ops = dev->ops;
	int (*op)(struct dvm_device *, const struct kvm_device_attr *);
	const struct dvm_attr_desc *d;
	bool is_write = cmd == KVM_SET_DEVICE_ATTR;
	int ret;

	op = cmd == KVM_SET_DEVICE_ATTR	  ? ops->set_attr
	     : cmd == KVM_GET_DEVICE_ATTR ? ops->get_attr
					  : ops->has_attr;
	/* A missing op is EPERM before the struct is looked at, as in the
	 * kernel, unless the core can serve the call from the schema. */
	if (!op && !(cmd == KVM_HAS_DEVICE_ATTR ? ops->attrs != NULL : schema_has_fields(ops)))
		return -EPERM;
	/* Kernel-backed: the kernel checks the pointer itself, in its own order. */
	if (ops->flags & DVM_OPS_PASSTHROUGH)
		return op(dev, attr);
	if (dvm_user_ptr_bad(attr))
		return -EFAULT;

	if (cmd == KVM_HAS_DEVICE_ATTR) {
		/* HAS answers whether the attribute exists, whatever the state; addr is ignored. */
		if (op)
			return op(dev, attr);
		return dvm_attr_lookup(ops, attr->group, attr->attr) ? 0 : -ENXIO;
	}
	d = dvm_attr_lookup(ops, attr->group, attr->attr);
	/* A type that narrows its schema (MSRs KVM lacks) says ENXIO first, as
	 * the kernel checks group and attr before it touches addr. */
	if (d && ops->has_attr) {
		ret = ops->has_attr(dev, attr);
		if (ret)
			return ret;
	}
	if (d && !op && !d->field)
		return -EPERM; /* a row the type can't serve this way; unknown rows are ENXIO below
				*/
	ret = dvm_attr_check(dev, d, is_write, (const void *)(uintptr_t)attr->addr,
			     dvm_vm_state(vm) == DVM_VM_RUNNING);
	if (ret)
		return ret;
	ret = d->field ? dvm_attr_field_access(dev, d, is_write, (void *)(uintptr_t)attr->addr)
		       : op(dev, attr);
	if (ret == 0 && is_write) {
		size_t row = (size_t)(d - ops->attrs);
		if (row < 64)
			__atomic_fetch_or(&dev->attrs_written, 1ull << row, __ATOMIC_RELAXED);
	}
	return ret;
}

long dvm_device_ioctl(struct dvm_vm *vm, int handle, unsigned long cmd, void *arg)
{
	struct dvm_device *dev;
	long ret;

	if (!vm || dvm_vm_foreign(vm))
		return -EIO;
	if (handle < 0 || handle >= DVM_MAX_HANDLES)
		return -EBADF;
	pthread_rwlock_rdlock(&vm->handles_lock);
	dev = vm->handles[handle];
	if (!dev) {
		ret = -EBADF;
	} else if (cmd == KVM_SET_DEVICE_ATTR || cmd == KVM_GET_DEVICE_ATTR ||
		   cmd == KVM_HAS_DEVICE_ATTR) {
		ret = attr_ioctl(vm, dev, cmd, arg);
	} else if (dev->ops->ioctl) {
		ret = dev->ops->ioctl(dev, (unsigned int)cmd, arg);
	} else {
		ret = -ENOTTY;
	}
	pthread_rwlock_unlock(&vm->handles_lock);
	return ret;
}

int dvm_device_close(struct dvm_vm *vm, int handle)
{
	struct dvm_device *dev;

	if (!vm || dvm_vm_foreign(vm))
		return -EIO;
	if (handle < 0 || handle >= DVM_MAX_HANDLES)
		return -EBADF;
	pthread_rwlock_wrlock(&vm->handles_lock);
	dev = vm->handles[handle];
	if (dev) {
		vm->handles[handle] = NULL;
		__atomic_store_n(&dev->handle, -1, __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&vm->handles_lock);
	if (!dev)
		return -EBADF;
	if (dev->ops->release) {
		/* A device with release goes now and can be created again. */
		pthread_mutex_lock(&vm->lock);
		unlink_device(vm, dev);
		pthread_mutex_unlock(&vm->lock);
		dev->ops->release(dev);
		free(dev);
	}
	/* Without release the device stays on the VM's list until teardown. */
	dvm_vm_put(vm);
	return 0;
}

struct dvm_device *dvm_device_from_handle(struct dvm_vm *vm, int handle)
{
	struct dvm_device *dev;

	if (!vm || handle < 0 || handle >= DVM_MAX_HANDLES)
		return NULL;
	pthread_rwlock_rdlock(&vm->handles_lock);
	dev = vm->handles[handle];
	pthread_rwlock_unlock(&vm->handles_lock);
	return dev;
}

const struct dvm_device_ops *dvm_device_ops_of_handle(struct dvm_vm *vm, int handle)
{
	const struct dvm_device_ops *ops = NULL;

	if (!vm || handle < 0 || handle >= DVM_MAX_HANDLES)
		return NULL;
	pthread_rwlock_rdlock(&vm->handles_lock);
	if (vm->handles[handle])
		ops = vm->handles[handle]->ops;
	pthread_rwlock_unlock(&vm->handles_lock);
	return ops;
}

void dvm_vm_for_each_handle(struct dvm_vm *vm,
			    void (*fn)(int handle, const struct dvm_device *dev, void *opaque),
			    void *opaque)
{
	pthread_rwlock_rdlock(&vm->handles_lock);
	for (int h = 0; h < DVM_MAX_HANDLES; h++)
		if (vm->handles[h])
			fn(h, vm->handles[h], opaque);
	pthread_rwlock_unlock(&vm->handles_lock);
}

static int attr_call(struct dvm_vm *vm, int handle, unsigned long cmd, uint32_t group,
		     uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uintptr_t)val};
	return (int)dvm_device_ioctl(vm, handle, cmd, &a);
}

int dvm_device_set(struct dvm_vm *vm, int handle, uint32_t group, uint64_t attr, const void *val)
{
	return attr_call(vm, handle, KVM_SET_DEVICE_ATTR, group, attr, val);
}

int dvm_device_get(struct dvm_vm *vm, int handle, uint32_t group, uint64_t attr, void *val)
{
	return attr_call(vm, handle, KVM_GET_DEVICE_ATTR, group, attr, val);
}

int dvm_device_has(struct dvm_vm *vm, int handle, uint32_t group, uint64_t attr)
{
	return attr_call(vm, handle, KVM_HAS_DEVICE_ATTR, group, attr, NULL);
}

/* Teardown: every device still on the list is destroyed (or released), in
 * reverse creation order so that users go before what they use. */
void dvm_devices_teardown(struct dvm_vm *vm)
{
	struct dvm_device *list = vm->devices, *rev = NULL;

	vm->devices = NULL;
	vm->devices_tail = &vm->devices;
	while (list) {
		struct dvm_device *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct dvm_device *next = rev->next;
		if (rev->ops->destroy)
			rev->ops->destroy(rev);
		else if (rev->ops->release)
			rev->ops->release(rev);
		free(rev);
		rev = next;
	}
}

void dvm_vm_shutdown(struct dvm_vm *vm)
{
	/* What process exit does to a KVM VM's fds: every handle closes, then
	 * the creator's reference goes; the last one tears the VM down. */
	for (int h = 0; h < DVM_MAX_HANDLES; h++) {
		bool open;
		pthread_rwlock_rdlock(&vm->handles_lock);
		open = vm->handles[h] != NULL;
		pthread_rwlock_unlock(&vm->handles_lock);
		if (open)
			dvm_device_close(vm, h);
	}
	dvm_vm_put(vm);
}

unsigned dvm_vm_nr_devices(const struct dvm_vm *vm, uint32_t type)
{
	if (type >= DVM_DEV_TYPE_MAX)
		return 0;
	return __atomic_load_n(&vm->nr_devices_of_type[type], __ATOMIC_RELAXED);
}

/* Under the VM lock. */
static struct dvm_device *find_by_type(struct dvm_vm *vm, uint32_t type, unsigned instance)
{
	struct dvm_device *dev;

	for (dev = vm->devices; dev; dev = dev->next)
		if (dev->ops->type == type && dev->instance == instance)
			break;
	return dev;
}

int dvm_device_attr_by_type(struct dvm_vm *vm, uint32_t type, unsigned instance, unsigned long cmd,
			    uint32_t group, uint64_t attr, void *val)
{
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uintptr_t)val};
	struct dvm_device *dev;
	long ret = -ENODEV;

	if (cmd != KVM_SET_DEVICE_ATTR && cmd != KVM_GET_DEVICE_ATTR && cmd != KVM_HAS_DEVICE_ATTR)
		return -ENOTTY;
	/* The VM lock keeps the device from going while its op runs. */
	pthread_mutex_lock(&vm->lock);
	dev = find_by_type(vm, type, instance);
	if (dev)
		ret = attr_ioctl(vm, dev, cmd, &a);
	pthread_mutex_unlock(&vm->lock);
	return (int)ret;
}

int dvm_device_set_by_type(struct dvm_vm *vm, uint32_t type, unsigned instance, uint32_t group,
			   uint64_t attr, const void *val)
{
	return dvm_device_attr_by_type(vm, type, instance, KVM_SET_DEVICE_ATTR, group, attr,
				       (void *)val);
}

int dvm_device_enumerate_by_type(struct dvm_vm *vm, uint32_t type, unsigned instance,
				 const struct dvm_attr_desc *d, uint64_t *attrs, size_t max)
{
	struct dvm_device *dev;
	int ret = -ENODEV;

	pthread_mutex_lock(&vm->lock);
	dev = find_by_type(vm, type, instance);
	if (dev)
		ret = dev->ops->enumerate ? dev->ops->enumerate(dev, d, attrs, max) : -EOPNOTSUPP;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int dvm_vm_list_devices(struct dvm_vm *vm, struct dvm_device_id *ids, size_t max)
{
	size_t n = 0;
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	for (struct dvm_device *dev = vm->devices; dev; dev = dev->next) {
		if (n == max) {
			ret = -E2BIG;
			break;
		}
		ids[n++] = (struct dvm_device_id){
		    .type = dev->ops->type, .instance = dev->instance, .ops = dev->ops};
	}
	pthread_mutex_unlock(&vm->lock);
	return ret ? ret : (int)n;
}
