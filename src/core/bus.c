/* SPDX-License-Identifier: MIT */
/* Port-I/O, MMIO and PCI config address spaces: sorted, non-overlapping ranges. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm_internal.h"

int dvm_bus_register(struct dvm_vm *vm, enum dvm_bus_space space, uint64_t base, uint64_t len,
		     const struct dvm_io_ops *ops, void *opaque)
{
	struct dvm_bus *bus;
	unsigned pos;
	int ret = 0;

	if ((unsigned)space >= DVM_BUS_NR || !ops || len == 0 || base + len < base)
		return -EINVAL;
	if (space == DVM_BUS_PIO && base + len > 0x10000)
		return -EINVAL;
	if (space == DVM_BUS_PCI_CFG && base + len > DVM_PCI_CFG_LIMIT)
		return -EINVAL;
	bus = &vm->bus[space];
	pthread_rwlock_wrlock(&bus->lock);
	for (pos = 0; pos < bus->nr && bus->ranges[pos].base < base; pos++)
		;
	if ((pos > 0 && bus->ranges[pos - 1].base + bus->ranges[pos - 1].len > base) ||
	    (pos < bus->nr && base + len > bus->ranges[pos].base)) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct dvm_bus_range *n = realloc(bus->ranges, cap * sizeof(*n));
		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->nr - pos) * sizeof(*bus->ranges));
	bus->ranges[pos] = (struct dvm_bus_range){base, len, ops, opaque};
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int dvm_bus_unregister(struct dvm_vm *vm, enum dvm_bus_space space, uint64_t base, void *opaque)
{
	struct dvm_bus *bus;
	int ret = -ENOENT;

	if ((unsigned)space >= DVM_BUS_NR)
		return -EINVAL;
	bus = &vm->bus[space];
	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned i = 0; i < bus->nr; i++) {
		if (bus->ranges[i].base == base && bus->ranges[i].opaque == opaque) {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->nr - i - 1) * sizeof(*bus->ranges));
			bus->nr--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

static const struct dvm_bus_range *find_range(const struct dvm_bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct dvm_bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool dvm_bus_access(struct dvm_vm *vm, enum dvm_bus_space space, uint64_t addr, void *data,
		    unsigned len, bool is_write)
{
	const struct dvm_bus_range *r;
	bool claimed = false, split;

	if ((unsigned)space >= DVM_BUS_NR || len == 0 || len > 8)
		return false;
	pthread_rwlock_rdlock(&vm->bus[space].lock);
	r = find_range(&vm->bus[space], addr);
	/* An odd size (an MMIO access KVM split at a page boundary) goes byte by
	 * byte, and so does an MMIO access that runs past its range's end or
	 * into a range from outside one: memory-mapped handlers only ever see 1,
	 * 2, 4 or 8 bytes inside their own range.  Port I/O is decoded at the
	 * port addressed, as on the bus: a dword at 0xcf8 is one access to the
	 * device there, however few ports it claims. */
	split = len != 1 && len != 2 && len != 4 && len != 8;
	if (space == DVM_BUS_MMIO) {
		split |= r && addr - r->base + len > r->len;
		for (unsigned i = 1; !r && !split && i < len; i++)
			split = find_range(&vm->bus[space], addr + i) != NULL;
	}
	if (split) {
		pthread_rwlock_unlock(&vm->bus[space].lock);
		for (unsigned i = 0; i < len; i++)
			claimed |=
			    dvm_bus_access(vm, space, addr + i, (uint8_t *)data + i, 1, is_write);
		return claimed;
	}
	if (r) {
		claimed = true;
		if (is_write) {
			if (r->ops->write)
				r->ops->write(r->opaque, addr - r->base, data, len);
		} else if (r->ops->read) {
			r->ops->read(r->opaque, addr - r->base, data, len);
		} else {
			memset(data, 0xff, len);
		}
	}
	pthread_rwlock_unlock(&vm->bus[space].lock);
	if (!claimed && !is_write)
		memset(data, 0xff, len); /* nothing there: the bus floats high */
	return claimed;
}
