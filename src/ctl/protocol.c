/* SPDX-License-Identifier: MIT */
/*
 * The control protocol: one JSON request in, one JSON reply out, every
 * command going through the public device API (include/dvm/device.h) so the
 * socket sees exactly the errno rules a caller in-process sees.  Values are
 * typed from the schema; "raw": true makes any value hex bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "dvm/ctl.h"
#include "dvm/device.h"
#include "dvm/migrate.h"
#include "dvm/snapshot.h"
#include "dvm/vm.h"

struct req {
	struct dvm_vm *vm;
	const struct dvm_ctl_async *async; /* may be NULL: long commands run inline */
	json_object *id;
	bool deferred;	     /* the reply comes later from a worker */
	json_object *args;   /* never NULL: an empty object when absent */
	json_object *result; /* the command's result object */
	int err;	     /* positive errno once failed */
	char msg[512];
};

static int fail(struct req *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct req *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (err < 0)
		err = -err;
	r->err = err ? err : EIO;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return -r->err;
}

static const char *err_name(int err)
{
	const char *n = strerrorname_np(err < 0 ? -err : err);
	return n ? n : "EIO";
}

const char *dvm_stop_reason_name(enum dvm_stop_reason reason)
{
	switch (reason) {
	case DVM_STOP_NONE:
		return "none";
	case DVM_STOP_POWEROFF:
		return "poweroff";
	case DVM_STOP_RESET:
		return "reset";
	case DVM_STOP_DEBUG_EXIT:
		return "debug-exit";
	case DVM_STOP_GUEST_CRASH:
		return "guest-crash";
	case DVM_STOP_HOST_ERROR:
		return "host-error";
	case DVM_STOP_SIGNAL:
		return "signal";
	case DVM_STOP_GUEST_HALTED:
		return "guest-halted";
	case DVM_STOP_QUIT:
		return "quit";
	case DVM_STOP_MIGRATED:
		return "migrated";
	}
	return "unknown";
}

static const char *state_name(enum dvm_vm_state st)
{
	switch (st) {
	case DVM_VM_CONFIGURING:
		return "configuring";
	case DVM_VM_RUNNING:
		return "running";
	case DVM_VM_PAUSED:
		return "paused";
	case DVM_VM_STOPPED:
		return "stopped";
	}
	return "unknown";
}

/* ---- arguments ---- */

/* A non-negative integer: a JSON integer, or a string strtoull reads whole
 * ("0x3f8").  0 absent (*present false), -EINVAL (failed) otherwise. */
static int get_u64(struct req *r, json_object *o, const char *what, uint64_t *out)
{
	if (json_object_is_type(o, json_type_int)) {
		if (json_object_get_int64(o) < 0)
			return fail(r, EINVAL, "%s: expected a non-negative integer", what);
		*out = json_object_get_uint64(o);
		return 0;
	}
	if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o);
		char *end;
		if (*s && *s != '-' && *s != ' ' && *s != '+') {
			errno = 0;
			unsigned long long v = strtoull(s, &end, 0);
			if (!errno && !*end) {
				*out = v;
				return 0;
			}
		}
		return fail(r, EINVAL, "%s: '%s' is not a number", what, s);
	}
	return fail(r, EINVAL, "%s: expected an integer", what);
}

static int arg_u64(struct req *r, const char *key, bool required, uint64_t *out, bool *present)
{
	json_object *o;

	if (present)
		*present = false;
	if (!json_object_object_get_ex(r->args, key, &o) ||
	    json_object_is_type(o, json_type_null)) {
		if (required)
			return fail(r, EINVAL, "argument '%s' is required", key);
		return 0;
	}
	if (present)
		*present = true;
	return get_u64(r, o, key, out);
}

static int arg_bool(struct req *r, const char *key, bool *out)
{
	json_object *o;

	*out = false;
	if (!json_object_object_get_ex(r->args, key, &o) || json_object_is_type(o, json_type_null))
		return 0;
	if (!json_object_is_type(o, json_type_boolean))
		return fail(r, EINVAL, "argument '%s': expected true or false", key);
	*out = json_object_get_boolean(o);
	return 0;
}

/* A handle: a JSON integer (strings are not handles). */
static int arg_handle(struct req *r, int *handle)
{
	json_object *o;

	if (!json_object_object_get_ex(r->args, "handle", &o))
		return fail(r, EINVAL, "argument 'handle' is required");
	if (!json_object_is_type(o, json_type_int))
		return fail(r, EINVAL, "handle: expected an integer");
	int64_t h = json_object_get_int64(o);
	if (h < INT32_MIN || h > INT32_MAX)
		return fail(r, EBADF, "handle %" PRId64 " is not open", h);
	*handle = (int)h;
	return 0;
}

static int handle_ops(struct req *r, int handle, const struct dvm_device_ops **ops)
{
	*ops = dvm_device_ops_of_handle(r->vm, handle);
	if (!*ops)
		return fail(r, EBADF, "handle %d is not open", handle);
	return 0;
}

/* "type": a name ("serial-8250") or a number (0x104). */
static int arg_type(struct req *r, const struct dvm_device_ops **ops)
{
	json_object *o;

	if (!json_object_object_get_ex(r->args, "type", &o))
		return fail(r, EINVAL, "argument 'type' is required");
	if (json_object_is_type(o, json_type_string)) {
		*ops = dvm_device_ops_by_name(json_object_get_string(o));
		if (!*ops)
			return fail(r, ENODEV, "unknown device type '%s'",
				    json_object_get_string(o));
		return 0;
	}
	if (json_object_is_type(o, json_type_int)) {
		int64_t t = json_object_get_int64(o);
		*ops = t >= 0 && t <= UINT32_MAX ? dvm_device_ops_by_type((uint32_t)t) : NULL;
		if (!*ops)
			return fail(r, ENODEV, "unknown device type %" PRId64, t);
		return 0;
	}
	return fail(r, EINVAL, "type: expected a name or a number");
}

/*
 * The attribute an argument set names: "name" (+ "index" for a row of
 * several attributes), or "group" and "attr" numbers.  *d is the schema row
 * (NULL when the numbers match none).
 */
static int arg_attr(struct req *r, const struct dvm_device_ops *ops, uint32_t *group,
		    uint64_t *attr, const struct dvm_attr_desc **d)
{
	json_object *name;
	uint64_t g = 0, a = 0, index = 0;
	bool has_g, has_a, has_index;

	if (arg_u64(r, "group", false, &g, &has_g) || arg_u64(r, "attr", false, &a, &has_a) ||
	    arg_u64(r, "index", false, &index, &has_index))
		return -r->err;
	if (json_object_object_get_ex(r->args, "name", &name)) {
		if (!json_object_is_type(name, json_type_string))
			return fail(r, EINVAL, "name: expected a string");
		if (has_g || has_a)
			return fail(r, EINVAL, "give either name or group and attr, not both");
		const char *n = json_object_get_string(name);
		*d = dvm_attr_by_name(ops, n);
		if (!*d)
			return fail(r, ENXIO, "%s has no attribute '%s'", ops->name, n);
		uint64_t count = (*d)->count ? (*d)->count : 1;
		if (index >= count)
			return fail(r, ENXIO,
				    "%s: index %" PRIu64 " is past the row's %" PRIu64
				    " attributes",
				    n, index, count);
		*group = (*d)->group;
		*attr = (*d)->attr + index;
		return 0;
	}
	if (!has_g || !has_a)
		return fail(r, EINVAL, "give name, or group and attr");
	if (has_index)
		return fail(r, EINVAL, "index goes with name, not with group and attr");
	if (g > UINT32_MAX)
		return fail(r, EINVAL, "group: %" PRIu64 " does not fit in 32 bits", g);
	*group = (uint32_t)g;
	*attr = a;
	*d = dvm_attr_lookup(ops, *group, *attr);
	return 0;
}

/* ---- values ---- */

static const char hexdigits[] = "0123456789abcdef";

static json_object *hex_string(const uint8_t *buf, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_object *o;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = hexdigits[buf[i] >> 4];
		s[2 * i + 1] = hexdigits[buf[i] & 15];
	}
	s[2 * n] = '\0';
	o = json_object_new_string_len(s, (int)(2 * n));
	free(s);
	return o;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static json_object *encode_value(const struct dvm_attr_desc *d, const uint8_t *buf, bool raw)
{
	if (raw)
		return hex_string(buf, d->size);
	switch (d->format) {
	case DVM_FMT_UINT:
		if (d->size <= 8) {
			uint64_t v = 0;
			memcpy(&v, buf, d->size); /* little-endian host */
			return json_object_new_uint64(v);
		}
		break;
	case DVM_FMT_BOOL:
		return json_object_new_boolean(d->size && buf[0]);
	case DVM_FMT_STRING:
		return json_object_new_string_len((const char *)buf,
						  (int)strnlen((const char *)buf, d->size));
	}
	return hex_string(buf, d->size);
}

/* Fill buf (d->size bytes, zeroed) from a JSON value. */
static int decode_value(struct req *r, const struct dvm_attr_desc *d, json_object *v, bool raw,
			uint8_t *buf)
{
	const char *what = d->name;

	if (!v || json_object_is_type(v, json_type_null)) {
		if (d->size == 0)
			return 0;
		return fail(r, EINVAL, "%s: a value is required", what);
	}
	if (raw || d->format == DVM_FMT_BLOB || (d->format == DVM_FMT_UINT && d->size > 8)) {
		if (!json_object_is_type(v, json_type_string))
			return fail(r, EINVAL, "%s: expected a hex string of %u bytes", what,
				    d->size);
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);
		if (n != 2 * (size_t)d->size)
			return fail(r, EINVAL,
				    "%s: expected %u bytes as hex (%u digits), got %zu digits",
				    what, d->size, 2 * d->size, n);
		for (size_t i = 0; i < d->size; i++) {
			int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return fail(r, EINVAL, "%s: not a hex string", what);
			buf[i] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	switch (d->format) {
	case DVM_FMT_UINT: {
		uint64_t x;
		if (get_u64(r, v, what, &x))
			return -r->err;
		if (d->size < 8 && x >> (d->size * 8))
			return fail(r, EINVAL, "%s: %#" PRIx64 " does not fit in %u bytes", what, x,
				    d->size);
		memcpy(buf, &x, d->size);
		return 0;
	}
	case DVM_FMT_BOOL:
		if (json_object_is_type(v, json_type_boolean)) {
			buf[0] = json_object_get_boolean(v);
			return 0;
		}
		if (json_object_is_type(v, json_type_string)) {
			const char *s = json_object_get_string(v);
			if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1") ||
			    !strcmp(s, "yes")) {
				buf[0] = 1;
				return 0;
			}
			if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0") ||
			    !strcmp(s, "no"))
				return 0;
		}
		return fail(r, EINVAL, "%s: expected true or false", what);
	case DVM_FMT_STRING: {
		if (!json_object_is_type(v, json_type_string))
			return fail(r, EINVAL, "%s: expected a string", what);
		size_t n = (size_t)json_object_get_string_len(v);
		if (n >= d->size || memchr(json_object_get_string(v), 0, n))
			return fail(r, EINVAL, "%s: expected a string of at most %u bytes", what,
				    d->size ? d->size - 1 : 0);
		memcpy(buf, json_object_get_string(v), n);
		return 0;
	}
	}
	return fail(r, EINVAL, "%s: unknown format", what);
}

static uint8_t *value_buf(struct req *r, const struct dvm_attr_desc *d)
{
	uint8_t *buf = calloc(1, d->size ? d->size : 1);
	if (!buf)
		fail(r, ENOMEM, "out of memory");
	return buf;
}

/* ---- commands ---- */

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static int cmd_query_status(struct req *r)
{
	enum dvm_vm_state st = dvm_vm_state(r->vm);
	enum dvm_stop_reason reason;
	int status;
	char msg[256];

	add(r->result, "state", json_object_new_string(state_name(st)));
	add(r->result, "vcpus",
	    json_object_new_int((int)dvm_vm_nr_devices(r->vm, DVM_DEV_TYPE_VCPU)));
	if (st == DVM_VM_PAUSED) {
		unsigned by_operator, all;
		dvm_vm_pauses(r->vm, &by_operator, &all);
		/* Who holds the VM: an operator's resume undoes only its own pauses. */
		add(r->result, "operator-pauses", json_object_new_int((int)by_operator));
		add(r->result, "pauses", json_object_new_int((int)all));
	}
	if (dvm_vm_stop_info(r->vm, &reason, &status, msg, sizeof(msg))) {
		add(r->result, "state", json_object_new_string("stopped"));
		add(r->result, "status", json_object_new_int(status & 0xff));
		add(r->result, "reason", json_object_new_string(dvm_stop_reason_name(reason)));
		add(r->result, "message", json_object_new_string(msg));
	}
	return 0;
}

static void list_one(int handle, const struct dvm_device *dev, void *opaque)
{
	json_object *o = json_object_new_object();

	add(o, "handle", json_object_new_int(handle));
	add(o, "type", json_object_new_string(dev->ops->name));
	add(o, "type_number", json_object_new_int64(dev->ops->type));
	add(o, "instance", json_object_new_int64(dev->instance));
	add(o, "errors", json_object_new_int64(dvm_device_errors(dev)));
	json_object_array_add(opaque, o);
}

static int cmd_list_devices(struct req *r)
{
	json_object *arr = json_object_new_array();

	dvm_vm_for_each_handle(r->vm, list_one, arr);
	add(r->result, "devices", arr);
	return 0;
}

static json_object *access_strings(uint32_t access)
{
	json_object *arr = json_object_new_array();

	for (uint32_t bit = 1; bit; bit <<= 1)
		if ((access & bit) && dvm_attr_access_flag_name(bit))
			json_object_array_add(
			    arr, json_object_new_string(dvm_attr_access_flag_name(bit)));
	return arr;
}

static int cmd_describe(struct req *r)
{
	const struct dvm_device_ops *ops;
	json_object *rows;

	if (arg_type(r, &ops))
		return -r->err;
	add(r->result, "name", json_object_new_string(ops->name));
	add(r->result, "type", json_object_new_int64(ops->type));
	add(r->result, "summary", json_object_new_string(ops->summary ? ops->summary : ""));
	add(r->result, "kernel", json_object_new_boolean(!!(ops->flags & DVM_OPS_PASSTHROUGH)));
	rows = json_object_new_array();
	for (size_t i = 0; i < ops->nr_attrs; i++) {
		const struct dvm_attr_desc *d = &ops->attrs[i];
		json_object *o = json_object_new_object();
		add(o, "group", json_object_new_int64(d->group));
		add(o, "attr", json_object_new_uint64(d->attr));
		add(o, "count", json_object_new_uint64(d->count ? d->count : 1));
		add(o, "name", json_object_new_string(d->name));
		add(o, "kind", json_object_new_string(dvm_attr_kind_name(d->kind)));
		add(o, "access", access_strings(d->access));
		add(o, "size", json_object_new_int64(d->size));
		add(o, "format", json_object_new_string(dvm_attr_format_name(d->format)));
		add(o, "min", json_object_new_uint64(d->min));
		add(o, "max", json_object_new_uint64(d->max));
		add(o, "default", json_object_new_uint64(d->def));
		add(o, "help", json_object_new_string(d->help ? d->help : ""));
		json_object_array_add(rows, o);
	}
	add(r->result, "attrs", rows);
	return 0;
}

struct types_ctx {
	struct dvm_vm *vm;
	json_object *arr;
};

static void type_one(const struct dvm_device_ops *ops, void *opaque)
{
	struct types_ctx *c = opaque;
	struct kvm_create_device cd = {.type = ops->type, .flags = KVM_CREATE_DEVICE_TEST};
	json_object *o = json_object_new_object();

	add(o, "name", json_object_new_string(ops->name));
	add(o, "type", json_object_new_int64(ops->type));
	add(o, "summary", json_object_new_string(ops->summary ? ops->summary : ""));
	add(o, "backing",
	    json_object_new_string((ops->flags & DVM_OPS_PASSTHROUGH) ? "kernel"
				   : (ops->flags & DVM_OPS_NEEDS_KVM) ? "kvm-ioctl"
								      : "dvm"));
	add(o, "available", json_object_new_boolean(dvm_create_device(c->vm, &cd) == 0));
	json_object_array_add(c->arr, o);
}

static int cmd_types(struct req *r)
{
	struct types_ctx c = {.vm = r->vm, .arr = json_object_new_array()};

	dvm_for_each_device_ops(type_one, &c);
	add(r->result, "types", c.arr);
	return 0;
}

/* Why EBUSY, from the schema: the part a user can act on. */
static const char *busy_hint(const struct dvm_attr_desc *d, int ret)
{
	if (ret != -EBUSY)
		return "";
	if (d->access & DVM_ATTR_WHILE_PAUSED)
		return " (only while the VM is paused: pause first)";
	if (d->access & DVM_ATTR_BEFORE_START)
		return " (only before the VM starts)";
	return "";
}

static int cmd_create_device(struct req *r)
{
	const struct dvm_device_ops *ops;
	struct kvm_create_device cd = {0};
	json_object *config = NULL;
	bool test;
	int ret;

	if (arg_type(r, &ops) || arg_bool(r, "test", &test))
		return -r->err;
	if (json_object_object_get_ex(r->args, "config", &config) &&
	    !json_object_is_type(config, json_type_null) &&
	    !json_object_is_type(config, json_type_object))
		return fail(r, EINVAL, "config: expected an object of name: value");
	cd.type = ops->type;
	cd.flags = test ? KVM_CREATE_DEVICE_TEST : 0;
	ret = dvm_create_device(r->vm, &cd);
	if (ret)
		return fail(r, ret, "cannot create %s: %s", ops->name, strerror(-ret));
	if (test)
		return 0;
	int handle = (int)cd.fd;
	if (config && json_object_is_type(config, json_type_object)) {
		json_object_object_foreach(config, key, val)
		{
			const struct dvm_attr_desc *d = dvm_attr_by_name(ops, key);
			uint8_t *buf;
			if (!d) {
				ret = fail(r, ENXIO, "config %s: %s has no attribute '%s'", key,
					   ops->name, key);
				break;
			}
			if (d->access & DVM_ATTR_HOST_REF) {
				ret = fail(r, EPERM,
					   "config %s: takes a pointer or fd of dvm's own process: "
					   "not over the socket",
					   key);
				break;
			}
			if (d->count > 1) {
				ret = fail(r, EINVAL,
					   "config %s: a row of %" PRIu64
					   " attributes; use set-attr with an index",
					   key, d->count);
				break;
			}
			buf = value_buf(r, d);
			if (!buf) {
				ret = -ENOMEM;
				break;
			}
			ret = decode_value(r, d, val, false, buf);
			if (!ret) {
				ret = dvm_device_set(r->vm, handle, d->group, d->attr, buf);
				if (ret)
					fail(r, ret, "config %s: %s%s", key, strerror(-ret),
					     busy_hint(d, ret));
			} else {
				/* Say which attribute, keeping decode_value's reason. */
				char why[sizeof(r->msg)];
				snprintf(why, sizeof(why), "%s", r->msg);
				fail(r, ret, "config %s", why);
			}
			free(buf);
			if (ret)
				break;
		}
	}
	if (ret) {
		dvm_device_close(r->vm, handle);
		return -r->err;
	}
	add(r->result, "handle", json_object_new_int(handle));
	return 0;
}

static int cmd_close_device(struct req *r)
{
	int handle, ret;

	if (arg_handle(r, &handle))
		return -r->err;
	ret = dvm_device_close(r->vm, handle);
	if (ret)
		return fail(r, ret, "close handle %d: %s", handle, strerror(-ret));
	return 0;
}

static void describe_attr(char *buf, size_t len, const struct dvm_attr_desc *d, uint32_t group,
			  uint64_t attr)
{
	if (d && d->count > 1)
		snprintf(buf, len, "%s[%" PRIu64 "]", d->name, attr - d->attr);
	else if (d)
		snprintf(buf, len, "%s", d->name);
	else
		snprintf(buf, len, "%u:%#" PRIx64, group, attr);
}

static int cmd_attr(struct req *r, unsigned long ioctl)
{
	const struct dvm_device_ops *ops;
	const struct dvm_attr_desc *d = NULL;
	uint32_t group = 0;
	uint64_t attr = 0;
	int handle, ret;
	char what[96];
	bool raw;

	if (arg_handle(r, &handle) || handle_ops(r, handle, &ops))
		return -r->err;
	ret = arg_attr(r, ops, &group, &attr, &d);
	if (ioctl == KVM_HAS_DEVICE_ATTR) {
		if (ret == -ENXIO) {
			add(r->result, "has", json_object_new_boolean(false));
			r->err = 0;
			return 0;
		}
		if (ret)
			return ret;
		ret = dvm_device_has(r->vm, handle, group, attr);
		if (ret && ret != -ENXIO)
			return fail(r, ret, "has-attr: %s", strerror(-ret));
		add(r->result, "has", json_object_new_boolean(ret == 0));
		return 0;
	}
	if (ret || arg_bool(r, "raw", &raw))
		return -r->err;
	describe_attr(what, sizeof(what), d, group, attr);
	if (!d) {
		/* The API's own answer when it has one (EPERM...), else: no
		 * schema row, so no size to move bytes with. */
		ret = dvm_device_has(r->vm, handle, group, attr);
		return fail(r, ret ? ret : -ENXIO, "%s has no attribute %s", ops->name, what);
	}
	if (ioctl == KVM_SET_DEVICE_ATTR && (d->access & DVM_ATTR_HOST_REF))
		return fail(r, EPERM,
			    "%s %s takes a pointer or fd of dvm's own process: not over the socket",
			    ops->name, what);
	uint8_t *buf = value_buf(r, d);
	if (!buf)
		return -r->err;
	if (ioctl == KVM_SET_DEVICE_ATTR) {
		json_object *v = NULL;
		json_object_object_get_ex(r->args, "value", &v);
		ret = decode_value(r, d, v, raw, buf);
		if (!ret) {
			ret = dvm_device_set(r->vm, handle, group, attr, buf);
			if (ret)
				fail(r, ret, "set %s: %s%s", what, strerror(-ret),
				     busy_hint(d, ret));
		}
	} else {
		ret = dvm_device_get(r->vm, handle, group, attr, buf);
		if (ret) {
			fail(r, ret, "get %s: %s%s", what, strerror(-ret), busy_hint(d, ret));
		} else {
			add(r->result, "value", encode_value(d, buf, raw));
			add(r->result, "size", json_object_new_int64(d->size));
			add(r->result, "format",
			    json_object_new_string(raw ? "blob" : dvm_attr_format_name(d->format)));
			add(r->result, "name", json_object_new_string(d->name));
			add(r->result, "group", json_object_new_int64(group));
			add(r->result, "attr", json_object_new_uint64(attr));
		}
	}
	free(buf);
	return ret ? -r->err : 0;
}

static int cmd_set_attr(struct req *r)
{
	return cmd_attr(r, KVM_SET_DEVICE_ATTR);
}

static int cmd_get_attr(struct req *r)
{
	return cmd_attr(r, KVM_GET_DEVICE_ATTR);
}

static int cmd_has_attr(struct req *r)
{
	return cmd_attr(r, KVM_HAS_DEVICE_ATTR);
}

static int cmd_pause(struct req *r)
{
	int ret = dvm_vm_pause_operator(r->vm);
	if (ret)
		return fail(r, ret, "pause: the VM is %s", state_name(dvm_vm_state(r->vm)));
	add(r->result, "state", json_object_new_string(state_name(dvm_vm_state(r->vm))));
	return 0;
}

static int cmd_resume(struct req *r)
{
	int ret = dvm_vm_resume_operator(r->vm);
	if (ret == -EBUSY)
		return fail(r, ret,
			    "resume: the VM is paused by dvm itself (a snapshot or migration under "
			    "way, or the guest sleeps in S3), not by an operator");
	if (ret)
		return fail(r, ret, "resume: the VM is %s, not paused",
			    state_name(dvm_vm_state(r->vm)));
	add(r->result, "state", json_object_new_string(state_name(dvm_vm_state(r->vm))));
	return 0;
}

static int cmd_quit(struct req *r)
{
	dvm_vm_request_stop(r->vm, DVM_STOP_QUIT, DVM_STATUS_OK, "quit through the control socket");
	return 0;
}

static char *reply(json_object *id, struct req *r);

/* A long command (snapshot, migrate) for a worker thread: its own copy of
 * the request's id and argument, since the request is freed meanwhile. */
struct job {
	struct dvm_vm *vm;
	char *target; /* the snapshot's directory, the migration's URI */
	json_object *id;
	void (*run)(struct req *r, const char *target);
};

static void job_free(struct job *j)
{
	json_object_put(j->id);
	free(j->target);
	free(j);
}

static void job_main(void *arg, char **line)
{
	struct job *j = arg;
	struct req r = {.vm = j->vm, .result = json_object_new_object()};

	j->run(&r, j->target);
	*line = reply(j->id, &r);
	json_object_put(r.result);
	job_free(j);
}

/* Run on the server's worker when it offers one (other clients are served
 * meanwhile and progress events reach them), else inline. */
static int run_long(struct req *r, const char *what, const char *target,
		    void (*run)(struct req *r, const char *target))
{
	if (!r->async) {
		run(r, target);
		return -r->err;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (!j || !(j->target = strdup(target)) ||
	    (r->id && json_object_deep_copy(r->id, &j->id, NULL))) {
		if (j)
			free(j->target);
		free(j);
		return fail(r, ENOMEM, "out of memory");
	}
	j->vm = r->vm;
	j->run = run;
	int ret = r->async->run(r->async->opaque, job_main, j);
	if (ret) {
		job_free(j);
		return fail(r, ret, "%s: %s", what,
			    ret == -EBUSY ? "a snapshot or migration is already under way"
					  : strerror(-ret));
	}
	r->deferred = true;
	return 0;
}

/* Pause, save, resume: the guest doesn't notice. */
static void snapshot_run(struct req *r, const char *dir)
{
	char err[256] = "";
	struct timespec t0, t1;
	struct dvm_event_target t = {.vm = r->vm, .target = dir};
	struct dvm_snapshot_progress progress = {.fn = dvm_event_snapshot_progress, .arg = &t};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = dvm_vm_pause(r->vm);
	if (ret) {
		fail(r, ret, "snapshot: the VM is %s", state_name(dvm_vm_state(r->vm)));
		return;
	}
	ret = dvm_snapshot_save_progress(r->vm, dir, &progress, err, sizeof(err));
	dvm_vm_resume(r->vm);
	if (ret) {
		fail(r, ret, "snapshot: %s", err);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	add(r->result, "dir", json_object_new_string(dir));
	add(r->result, "ms",
	    json_object_new_double((t1.tv_sec - t0.tv_sec) * 1e3 +
				   (t1.tv_nsec - t0.tv_nsec) / 1e6));
}

static int cmd_snapshot(struct req *r)
{
	json_object *o;

	if (!json_object_object_get_ex(r->args, "dir", &o) ||
	    !json_object_is_type(o, json_type_string))
		return fail(r, EINVAL, "argument 'dir' (a string) is required");
	enum dvm_vm_state st = dvm_vm_state(r->vm);
	if (st != DVM_VM_RUNNING && st != DVM_VM_PAUSED)
		return fail(r, EINVAL, "snapshot: the VM is %s", state_name(st));
	return run_long(r, "snapshot", json_object_get_string(o), snapshot_run);
}

static void migrate_progress(void *arg, const char *phase, const struct dvm_migrate_stats *st)
{
	const struct dvm_event_target *t = arg;
	char msg[200];

	snprintf(msg, sizeof(msg), "migration to %s: %s, round %u, %llu pages (%llu bytes) sent",
		 t->target, phase, st->rounds, (unsigned long long)st->pages,
		 (unsigned long long)st->bytes);
	struct dvm_event ev = {.kind = DVM_EVENT_MIGRATION,
			       .message = msg,
			       .phase = phase,
			       .target = t->target,
			       .done = st->pages,
			       .round = st->rounds,
			       .dirty = st->dirty};
	dvm_vm_post_event(t->vm, &ev);
}

static void migrate_run(struct req *r, const char *uri)
{
	struct dvm_migrate_stats st;
	struct dvm_event_target t = {.vm = r->vm, .target = uri};
	struct dvm_migrate_opts opts = {.progress = migrate_progress, .progress_arg = &t};
	char err[400] = "";
	int ret = dvm_migrate_send(r->vm, uri, &opts, &st, err, sizeof(err));

	if (ret) {
		/* EINPROGRESS: the message says the VM stays paused here. */
		fail(r, ret, "migrate: %s%s", err,
		     ret == -EINPROGRESS ? "" : " (the VM runs on here)");
		return;
	}
	add(r->result, "uri", json_object_new_string(uri));
	add(r->result, "total-ms", json_object_new_double(st.total_ms));
	add(r->result, "downtime-ms", json_object_new_double(st.downtime_ms));
	add(r->result, "pages", json_object_new_int64((int64_t)st.pages));
	add(r->result, "last-pages", json_object_new_int64((int64_t)st.last_dirty));
	add(r->result, "bytes", json_object_new_int64((int64_t)st.bytes));
	add(r->result, "rounds", json_object_new_int((int)st.rounds));
	add(r->result, "dirty-log", json_object_new_boolean(st.dirty_log));
}

/* Pre-copy while the guest runs, stop and copy, and stop here once the
 * destination runs. */
static int cmd_migrate(struct req *r)
{
	json_object *o;

	if (!json_object_object_get_ex(r->args, "uri", &o) ||
	    !json_object_is_type(o, json_type_string))
		return fail(r, EINVAL, "argument 'uri' (unix:PATH or tcp:HOST:PORT) is required");
	const char *uri = json_object_get_string(o);
	if (strncmp(uri, "unix:", 5) && strncmp(uri, "tcp:", 4))
		return fail(r, EINVAL, "uri %s: expected unix:PATH or tcp:HOST:PORT", uri);
	enum dvm_vm_state st = dvm_vm_state(r->vm);
	if (st != DVM_VM_RUNNING && st != DVM_VM_PAUSED)
		return fail(r, EINVAL, "migrate: the VM is %s", state_name(st));
	return run_long(r, "migrate", uri, migrate_run);
}

static const struct {
	const char *name;
	int (*fn)(struct req *r);
} commands[] = {
    {"query-status", cmd_query_status},
    {"list-devices", cmd_list_devices},
    {"describe", cmd_describe},
    {"types", cmd_types},
    {"create-device", cmd_create_device},
    {"close-device", cmd_close_device},
    {"set-attr", cmd_set_attr},
    {"get-attr", cmd_get_attr},
    {"has-attr", cmd_has_attr},
    {"pause", cmd_pause},
    {"resume", cmd_resume},
    {"quit", cmd_quit},
    {"snapshot", cmd_snapshot},
    {"migrate", cmd_migrate},
};

/* ---- framing ---- */

static char *to_line(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	char *line = s ? strdup(s) : NULL;
	json_object_put(o);
	return line;
}

static char *reply(json_object *id, struct req *r)
{
	json_object *o = json_object_new_object();

	add(o, "id", id ? json_object_get(id) : NULL);
	add(o, "ok", json_object_new_boolean(r->err == 0));
	if (r->err == 0) {
		add(o, "result", r->result ? json_object_get(r->result) : json_object_new_object());
	} else {
		json_object *e = json_object_new_object();
		add(e, "errno", json_object_new_string(err_name(r->err)));
		add(e, "code", json_object_new_int(-r->err));
		add(e, "message", json_object_new_string(r->msg[0] ? r->msg : strerror(r->err)));
		add(o, "error", e);
	}
	return to_line(o);
}

char *dvm_ctl_handle_request(struct dvm_vm *vm, const char *line, size_t len)
{
	bool deferred;
	return dvm_ctl_handle_request_async(vm, line, len, NULL, &deferred);
}

char *dvm_ctl_handle_request_async(struct dvm_vm *vm, const char *line, size_t len,
				   const struct dvm_ctl_async *async, bool *deferred)
{
	struct req r = {.vm = vm, .async = async};
	json_tokener *tok;
	json_object *req = NULL, *id = NULL, *cmd, *empty = NULL;
	char *out;

	*deferred = false;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > DVM_CTL_MAX_LINE)
		return dvm_ctl_reply_too_long();
	tok = json_tokener_new_ex(32);
	if (!tok)
		return NULL;
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (!req) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		fail(&r, EINVAL, "malformed JSON: %s",
		     e == json_tokener_continue ? "unexpected end of line"
						: json_tokener_error_desc(e));
	} else {
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
			if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
				fail(&r, EINVAL, "malformed JSON: garbage after the object");
				break;
			}
		}
	}
	json_tokener_free(tok);
	if (r.err)
		goto out;
	if (!json_object_is_type(req, json_type_object)) {
		fail(&r, EINVAL, "a request is a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(req, "id", &id) &&
	    (json_object_is_type(id, json_type_object) ||
	     json_object_is_type(id, json_type_array))) {
		id = NULL;
		fail(&r, EINVAL, "id: expected a scalar");
		goto out;
	}
	if (!json_object_object_get_ex(req, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		fail(&r, EINVAL, "cmd: a command name is required");
		goto out;
	}
	if (!json_object_object_get_ex(req, "args", &r.args) ||
	    json_object_is_type(r.args, json_type_null)) {
		r.args = empty = json_object_new_object();
	} else if (!json_object_is_type(r.args, json_type_object)) {
		fail(&r, EINVAL, "args: expected an object");
		goto out;
	}
	const char *name = json_object_get_string(cmd);
	size_t i;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fail(&r, ENOSYS, "unknown command '%s'", name);
		goto out;
	}
	r.result = json_object_new_object();
	r.id = id;
	commands[i].fn(&r);
out:
	*deferred = r.deferred;
	out = r.deferred ? NULL : reply(id, &r);
	json_object_put(r.result);
	json_object_put(empty);
	json_object_put(req);
	return out;
}

char *dvm_ctl_reply_too_long(void)
{
	struct req r = {0};

	fail(&r, E2BIG, "request line longer than %u bytes; discarded", DVM_CTL_MAX_LINE);
	return reply(NULL, &r);
}

char *dvm_ctl_event_guest_exit(struct dvm_vm *vm)
{
	json_object *o = json_object_new_object(), *data = json_object_new_object();
	enum dvm_stop_reason reason;
	int status = 0;
	char msg[256];

	dvm_vm_stop_info(vm, &reason, &status, msg, sizeof(msg));
	add(data, "status", json_object_new_int(status & 0xff));
	add(data, "reason", json_object_new_string(dvm_stop_reason_name(reason)));
	add(data, "message", json_object_new_string(msg));
	add(o, "event", json_object_new_string("guest-exit"));
	add(o, "data", data);
	return to_line(o);
}

char *dvm_ctl_event_line(const struct dvm_event *ev)
{
	json_object *o = json_object_new_object(), *data = json_object_new_object();
	const char *name = "device-error";

	switch (ev->kind) {
	case DVM_EVENT_DEVICE_ERROR: {
		const struct dvm_device_ops *ops = dvm_device_ops_by_type(ev->dev_type);
		add(data, "type", json_object_new_string(ops ? ops->name : "unknown"));
		add(data, "instance", json_object_new_int64(ev->instance));
		add(data, "handle", ev->handle >= 0 ? json_object_new_int(ev->handle) : NULL);
		add(data, "errno", ev->err ? json_object_new_string(err_name(ev->err)) : NULL);
		break;
	}
	case DVM_EVENT_SNAPSHOT:
		name = "snapshot";
		add(data, "dir", json_object_new_string(ev->target ? ev->target : ""));
		add(data, "phase", json_object_new_string(ev->phase ? ev->phase : ""));
		add(data, "done", json_object_new_int64((int64_t)ev->done));
		add(data, "total", json_object_new_int64((int64_t)ev->total));
		break;
	case DVM_EVENT_MIGRATION:
		name = "migration";
		add(data, "uri", json_object_new_string(ev->target ? ev->target : ""));
		add(data, "phase", json_object_new_string(ev->phase ? ev->phase : ""));
		add(data, "round", json_object_new_int((int)ev->round));
		add(data, "pages", json_object_new_int64((int64_t)ev->done));
		add(data, "dirty", json_object_new_int64((int64_t)ev->dirty));
		break;
	}
	add(data, "message", json_object_new_string(ev->message ? ev->message : ""));
	add(o, "event", json_object_new_string(name));
	add(o, "data", data);
	return to_line(o);
}
