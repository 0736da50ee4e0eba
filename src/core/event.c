/* SPDX-License-Identifier: MIT */
/*
 * Events for a watcher (the control socket), and the device-error report
 * that feeds them.  Posting holds event_lock across the watcher's call so
 * that removing the watcher waits for a call in flight.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vm_internal.h"

/* Per device, this many reports go to stderr; later ones only count and
 * go to the watcher, so a guest hammering a fault can't flood the log. */
#define REPORTS_LOGGED 5

int dvm_vm_add_event_sink(struct dvm_vm *vm, dvm_event_fn fn, void *opaque)
{
	int ret = -ENOSPC;

	if (!fn)
		return -EINVAL;
	pthread_mutex_lock(&vm->event_lock);
	for (unsigned i = 0; i < DVM_MAX_EVENT_SINKS; i++) {
		if (!vm->event_sinks[i].fn) {
			vm->event_sinks[i].fn = fn;
			vm->event_sinks[i].opaque = opaque;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&vm->event_lock);
	return ret;
}

void dvm_vm_remove_event_sink(struct dvm_vm *vm, dvm_event_fn fn, void *opaque)
{
	pthread_mutex_lock(&vm->event_lock);
	for (unsigned i = 0; i < DVM_MAX_EVENT_SINKS; i++) {
		if (vm->event_sinks[i].fn == fn && vm->event_sinks[i].opaque == opaque) {
			vm->event_sinks[i].fn = NULL;
			vm->event_sinks[i].opaque = NULL;
		}
	}
	pthread_mutex_unlock(&vm->event_lock);
}

void dvm_vm_post_event(struct dvm_vm *vm, const struct dvm_event *ev)
{
	pthread_mutex_lock(&vm->event_lock);
	for (unsigned i = 0; i < DVM_MAX_EVENT_SINKS; i++)
		if (vm->event_sinks[i].fn)
			vm->event_sinks[i].fn(vm->event_sinks[i].opaque, ev);
	pthread_mutex_unlock(&vm->event_lock);
}

void dvm_event_snapshot_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	const struct dvm_event_target *t = arg;
	char msg[160];

	snprintf(msg, sizeof(msg), "snapshot %s: %s %llu of %llu bytes", t->target, phase,
		 (unsigned long long)done, (unsigned long long)total);
	struct dvm_event ev = {.kind = DVM_EVENT_SNAPSHOT,
			       .message = msg,
			       .phase = phase,
			       .target = t->target,
			       .done = done,
			       .total = total};
	dvm_vm_post_event(t->vm, &ev);
}

void dvm_device_report(struct dvm_device *dev, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unsigned n = __atomic_add_fetch(&dev->errors, 1, __ATOMIC_RELAXED);
	if (n <= REPORTS_LOGGED)
		fprintf(stderr, "dvm: %s #%u: %s%s%s%s\n", dev->ops->name, dev->instance, msg,
			err ? " (" : "", err ? strerror(-err) : "", err ? ")" : "");
	if (n == REPORTS_LOGGED)
		fprintf(stderr, "dvm: %s #%u: further errors are counted, not printed\n",
			dev->ops->name, dev->instance);
	struct dvm_event ev = {
	    .kind = DVM_EVENT_DEVICE_ERROR,
	    .message = msg,
	    .dev_type = dev->ops->type,
	    .instance = dev->instance,
	    .handle = __atomic_load_n(&dev->handle, __ATOMIC_RELAXED),
	    .err = err,
	};
	dvm_vm_post_event(dev->vm, &ev);
}

unsigned dvm_device_errors(const struct dvm_device *dev)
{
	return __atomic_load_n(&dev->errors, __ATOMIC_RELAXED);
}
