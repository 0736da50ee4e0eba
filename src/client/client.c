/* SPDX-License-Identifier: MIT */
/* libdvm-client: the control socket with the kernel device API's shape. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dvm/client.h"

struct row {
	uint32_t group;
	uint64_t attr, count;
	uint32_t size;
};

struct type_schema {
	uint32_t type;
	struct row *rows;
	size_t nr;
};

struct handle_type {
	int handle;
	uint32_t type;
};

struct dvm_client {
	int fd;
	int64_t next_id;
	char *rbuf;
	size_t rlen, rcap;
	char *events[DVM_CLIENT_MAX_EVENTS];
	unsigned ev_head, ev_count;
	unsigned long ev_dropped;
	struct type_schema *types;
	size_t nr_types;
	struct handle_type *handles;
	size_t nr_handles;
	char error[512];
	bool error_remote; /* the last error was the server's reply */
};

static int set_error(struct dvm_client *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_error(struct dvm_client *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	c->error_remote = false;
	return err;
}

int dvm_client_errno_from_name(const char *name)
{
	if (!name)
		return 0;
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (n && !strcmp(n, name))
			return e;
	}
	return 0;
}

int dvm_client_connect(const char *path, struct dvm_client **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct dvm_client *c;
	int ret;

	if (!path || !out)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->next_id = 1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

static void forget_types(struct dvm_client *c)
{
	for (size_t i = 0; i < c->nr_types; i++)
		free(c->types[i].rows);
	free(c->types);
	c->types = NULL;
	c->nr_types = 0;
}

void dvm_client_close(struct dvm_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->rbuf);
	for (unsigned i = 0; i < c->ev_count; i++)
		free(c->events[(c->ev_head + i) % DVM_CLIENT_MAX_EVENTS]);
	forget_types(c);
	free(c->handles);
	free(c);
}

/* ---- lines ---- */

static int send_all(struct dvm_client *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return set_error(c, -ECONNRESET, "dvm closed the control socket");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* How long a caller waiting for a reply looks again without sleeping:
 * dvm answers a get-attr in well under this, while waking a thread whose
 * CPU went idle costs tens of microseconds on a virtualized host (the same
 * trade as KVM's halt polling). */
#define REPLY_SPIN_NS 100000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The next line (NUL-terminated in place, valid until the next call) into
 * *line; -EAGAIN when wait_ms passes first (wait_ms < 0: forever).  spin:
 * look without sleeping for REPLY_SPIN_NS first. */
static int read_line(struct dvm_client *c, char **line, size_t *consumed, int wait_ms, bool spin)
{
	uint64_t spin_until = spin ? now_ns() + REPLY_SPIN_NS : 0;

	for (;;) {
		char *nl = c->rlen ? memchr(c->rbuf, '\n', c->rlen) : NULL;
		if (nl) {
			*nl = '\0';
			*line = c->rbuf;
			*consumed = (size_t)(nl - c->rbuf) + 1;
			return 0;
		}
		if (c->rlen >= DVM_CLIENT_MAX_REPLY)
			return set_error(c, -EPROTO, "a reply longer than %u bytes",
					 DVM_CLIENT_MAX_REPLY);
		if (c->rcap - c->rlen < 65536) {
			size_t cap = c->rcap ? c->rcap * 2 : 65536 * 2;
			char *b = realloc(c->rbuf, cap);
			if (!b)
				return set_error(c, -ENOMEM, "out of memory");
			c->rbuf = b;
			c->rcap = cap;
		}
		if (spin_until) {
			ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
			if (n > 0) {
				c->rlen += (size_t)n;
				continue;
			}
			if (n == 0)
				return set_error(c, -ECONNRESET, "dvm closed the control socket");
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return set_error(c, -errno, "recv: %s", strerror(errno));
			if (now_ns() < spin_until)
				continue;
			spin_until = 0; /* nothing yet: sleep until it comes */
		}
		if (wait_ms >= 0) {
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			int r = poll(&p, 1, wait_ms);
			if (r == 0)
				return -EAGAIN;
			if (r < 0 && errno != EINTR)
				return set_error(c, -errno, "poll: %s", strerror(errno));
			if (r < 0)
				continue;
		}
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return set_error(c, -ECONNRESET, "dvm closed the control socket");
		c->rlen += (size_t)n;
	}
}

static void consume(struct dvm_client *c, size_t n)
{
	memmove(c->rbuf, c->rbuf + n, c->rlen - n);
	c->rlen -= n;
}

static void queue_event(struct dvm_client *c, const char *line)
{
	char *copy = strdup(line);
	if (!copy) {
		c->ev_dropped++;
		return;
	}
	if (c->ev_count == DVM_CLIENT_MAX_EVENTS) {
		free(c->events[c->ev_head]);
		c->ev_head = (c->ev_head + 1) % DVM_CLIENT_MAX_EVENTS;
		c->ev_count--;
		c->ev_dropped++;
	}
	c->events[(c->ev_head + c->ev_count++) % DVM_CLIENT_MAX_EVENTS] = copy;
}

/* ---- requests ---- */

/* Send one request (args consumed) and wait for its reply: 0 and *result
 * (a reference the caller puts), or -errno with c->error set. */
static int rpc(struct dvm_client *c, const char *cmd, json_object *args, json_object **result)
{
	json_object *req = json_object_new_object();
	int64_t id = c->next_id++;
	const char *text;
	int ret;

	if (result)
		*result = NULL;
	c->error[0] = '\0';
	json_object_object_add(req, "id", json_object_new_int64(id));
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "args", args);
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	/* One send with the newline: two would wake the server twice. */
	size_t len = text ? strlen(text) : 0;
	char *line = text ? malloc(len + 1) : NULL;
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		ret = send_all(c, line, len + 1);
		free(line);
	} else {
		ret = set_error(c, -ENOMEM, "out of memory");
	}
	json_object_put(req);
	if (ret)
		return ret;
	for (;;) {
		char *line;
		size_t used;
		json_object *rep, *v, *err;
		ret = read_line(c, &line, &used, -1, true);
		if (ret)
			return ret;
		rep = json_tokener_parse(line);
		if (!rep || !json_object_is_type(rep, json_type_object)) {
			json_object_put(rep);
			consume(c, used);
			return set_error(c, -EPROTO, "a reply that is not a JSON object");
		}
		if (json_object_object_get_ex(rep, "event", NULL)) {
			queue_event(c, line);
			json_object_put(rep);
			consume(c, used);
			continue;
		}
		consume(c, used);
		if (!json_object_object_get_ex(rep, "id", &v) ||
		    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != id) {
			json_object_put(rep); /* a reply to nothing we wait for */
			continue;
		}
		if (json_object_object_get_ex(rep, "ok", &v) && json_object_get_boolean(v)) {
			if (result && json_object_object_get_ex(rep, "result", &v))
				*result = json_object_get(v);
			else if (result)
				*result = json_object_new_object();
			json_object_put(rep);
			return 0;
		}
		ret = -EPROTO;
		if (json_object_object_get_ex(rep, "error", &err)) {
			json_object *name, *code, *msg;
			int e = 0;
			if (json_object_object_get_ex(err, "errno", &name))
				e = dvm_client_errno_from_name(json_object_get_string(name));
			if (!e && json_object_object_get_ex(err, "code", &code))
				e = -json_object_get_int(code);
			if (e > 0)
				ret = -e;
			if (json_object_object_get_ex(err, "message", &msg))
				set_error(c, ret, "%s", json_object_get_string(msg));
			else
				c->error[0] = '\0';
		}
		c->error_remote = true;
		json_object_put(rep);
		return ret;
	}
}

int dvm_client_call(struct dvm_client *c, const char *cmd, const char *args_json,
		    char **result_json)
{
	json_object *args = NULL, *result;
	int ret;

	if (!c || !cmd)
		return -EINVAL;
	if (result_json)
		*result_json = NULL;
	if (args_json) {
		args = json_tokener_parse(args_json);
		if (!args || !json_object_is_type(args, json_type_object)) {
			json_object_put(args);
			return set_error(c, -EINVAL, "arguments are not a JSON object");
		}
	}
	ret = rpc(c, cmd, args, &result);
	if (ret)
		return ret;
	if (result_json) {
		const char *t = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN);
		*result_json = t ? strdup(t) : NULL;
		if (!*result_json)
			ret = set_error(c, -ENOMEM, "out of memory");
	}
	json_object_put(result);
	return ret;
}

const char *dvm_client_last_error(const struct dvm_client *c)
{
	return c ? c->error : "";
}

bool dvm_client_error_is_remote(const struct dvm_client *c)
{
	return c && c->error_remote;
}

int dvm_client_next_event(struct dvm_client *c, char **event_json, int wait_ms)
{
	while (!c->ev_count) {
		char *line;
		size_t used;
		int ret;
		if (wait_ms == 0)
			return -EAGAIN;
		ret = read_line(c, &line, &used, wait_ms, false);
		if (ret)
			return ret;
		json_object *o = json_tokener_parse(line);
		if (o && json_object_object_get_ex(o, "event", NULL))
			queue_event(c, line);
		json_object_put(o);
		consume(c, used);
	}
	*event_json = c->events[c->ev_head];
	c->ev_head = (c->ev_head + 1) % DVM_CLIENT_MAX_EVENTS;
	c->ev_count--;
	return 0;
}

unsigned long dvm_client_events_dropped(const struct dvm_client *c)
{
	return c->ev_dropped;
}

/* ---- the device API ---- */

static void remember_handle(struct dvm_client *c, int handle, uint32_t type)
{
	for (size_t i = 0; i < c->nr_handles; i++) {
		if (c->handles[i].handle == handle) {
			c->handles[i].type = type;
			return;
		}
	}
	struct handle_type *n = realloc(c->handles, (c->nr_handles + 1) * sizeof(*n));
	if (!n)
		return; /* only a cache */
	c->handles = n;
	c->handles[c->nr_handles++] = (struct handle_type){handle, type};
}

static void forget_handle(struct dvm_client *c, int handle)
{
	for (size_t i = 0; i < c->nr_handles; i++) {
		if (c->handles[i].handle == handle) {
			c->handles[i] = c->handles[--c->nr_handles];
			return;
		}
	}
}

static int handle_type(struct dvm_client *c, int handle, uint32_t *type)
{
	json_object *res, *devs;
	int ret;

	for (size_t i = 0; i < c->nr_handles; i++) {
		if (c->handles[i].handle == handle) {
			*type = c->handles[i].type;
			return 0;
		}
	}
	ret = rpc(c, "list-devices", NULL, &res);
	if (ret)
		return ret;
	c->nr_handles = 0;
	if (json_object_object_get_ex(res, "devices", &devs)) {
		for (size_t i = 0; i < json_object_array_length(devs); i++) {
			json_object *d = json_object_array_get_idx(devs, i), *h, *t;
			if (json_object_object_get_ex(d, "handle", &h) &&
			    json_object_object_get_ex(d, "type_number", &t))
				remember_handle(c, json_object_get_int(h),
						(uint32_t)json_object_get_int64(t));
		}
	}
	json_object_put(res);
	for (size_t i = 0; i < c->nr_handles; i++) {
		if (c->handles[i].handle == handle) {
			*type = c->handles[i].type;
			return 0;
		}
	}
	return set_error(c, -EBADF, "handle %d is not open", handle);
}

static int type_schema(struct dvm_client *c, uint32_t type, const struct type_schema **out)
{
	json_object *args, *res, *attrs;
	struct type_schema *ts, *n;
	int ret;

	for (size_t i = 0; i < c->nr_types; i++) {
		if (c->types[i].type == type) {
			*out = &c->types[i];
			return 0;
		}
	}
	args = json_object_new_object();
	json_object_object_add(args, "type", json_object_new_int64(type));
	ret = rpc(c, "describe", args, &res);
	if (ret)
		return ret;
	n = realloc(c->types, (c->nr_types + 1) * sizeof(*n));
	if (!n) {
		json_object_put(res);
		return set_error(c, -ENOMEM, "out of memory");
	}
	c->types = n;
	ts = &c->types[c->nr_types];
	*ts = (struct type_schema){.type = type};
	if (json_object_object_get_ex(res, "attrs", &attrs)) {
		size_t nr = json_object_array_length(attrs);
		ts->rows = calloc(nr ? nr : 1, sizeof(*ts->rows));
		if (!ts->rows) {
			json_object_put(res);
			return set_error(c, -ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < nr; i++) {
			json_object *r = json_object_array_get_idx(attrs, i), *v;
			struct row *row = &ts->rows[ts->nr++];
			if (json_object_object_get_ex(r, "group", &v))
				row->group = (uint32_t)json_object_get_int64(v);
			if (json_object_object_get_ex(r, "attr", &v))
				row->attr = json_object_get_uint64(v);
			row->count = 1;
			if (json_object_object_get_ex(r, "count", &v))
				row->count = json_object_get_uint64(v);
			if (json_object_object_get_ex(r, "size", &v))
				row->size = (uint32_t)json_object_get_int64(v);
		}
	}
	json_object_put(res);
	c->nr_types++;
	*out = ts;
	return 0;
}

/* The schema's size for (handle, group, attr): -EBADF, -ENXIO. */
static int attr_size(struct dvm_client *c, int handle, const struct kvm_device_attr *a,
		     uint32_t *size)
{
	const struct type_schema *ts = NULL;
	uint32_t type = 0;
	int ret = handle_type(c, handle, &type);

	if (!ret)
		ret = type_schema(c, type, &ts);
	if (ret)
		return ret;
	for (size_t i = 0; i < ts->nr; i++) {
		const struct row *r = &ts->rows[i];
		if (r->group == a->group && a->attr >= r->attr && a->attr - r->attr < r->count) {
			*size = r->size;
			return 0;
		}
	}
	return set_error(c, -ENXIO, "no attribute %u:%llu", a->group, (unsigned long long)a->attr);
}

static json_object *attr_args(int handle, const struct kvm_device_attr *a)
{
	json_object *args = json_object_new_object();
	json_object_object_add(args, "handle", json_object_new_int(handle));
	json_object_object_add(args, "group", json_object_new_int64(a->group));
	json_object_object_add(args, "attr", json_object_new_uint64(a->attr));
	return args;
}

static int after(struct dvm_client *c, int handle, int ret)
{
	if (ret == -EBADF)
		forget_handle(c, handle);
	return ret;
}

int dvm_client_create_device(struct dvm_client *c, struct kvm_create_device *cd)
{
	json_object *args, *res, *h;
	int ret;

	if (!c || !cd)
		return -EFAULT;
	args = json_object_new_object();
	json_object_object_add(args, "type", json_object_new_int64(cd->type));
	if (cd->flags & KVM_CREATE_DEVICE_TEST)
		json_object_object_add(args, "test", json_object_new_boolean(1));
	ret = rpc(c, "create-device", args, &res);
	if (ret)
		return ret;
	if (!(cd->flags & KVM_CREATE_DEVICE_TEST)) {
		if (!json_object_object_get_ex(res, "handle", &h) ||
		    !json_object_is_type(h, json_type_int)) {
			json_object_put(res);
			return set_error(c, -EPROTO, "create-device: no handle in the reply");
		}
		cd->fd = (uint32_t)json_object_get_int(h);
		remember_handle(c, (int)cd->fd, cd->type);
	}
	json_object_put(res);
	return 0;
}

int dvm_client_close_device(struct dvm_client *c, int handle)
{
	json_object *args = json_object_new_object();
	int ret;

	json_object_object_add(args, "handle", json_object_new_int(handle));
	ret = rpc(c, "close-device", args, NULL);
	forget_handle(c, handle);
	return ret;
}

static const char hexdigits[] = "0123456789abcdef";

int dvm_client_set_attr(struct dvm_client *c, int handle, const struct kvm_device_attr *attr)
{
	const uint8_t *p;
	uint32_t size;
	json_object *args;
	char *hex;
	int ret;

	if (!c || !attr)
		return -EFAULT;
	ret = attr_size(c, handle, attr, &size);
	if (ret)
		return after(c, handle, ret);
	p = (const uint8_t *)(uintptr_t)attr->addr;
	if (!p && size)
		return set_error(c, -EFAULT, "addr is NULL");
	hex = malloc(2 * (size_t)size + 1);
	if (!hex)
		return set_error(c, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < size; i++) {
		hex[2 * i] = hexdigits[p[i] >> 4];
		hex[2 * i + 1] = hexdigits[p[i] & 15];
	}
	hex[2 * size] = '\0';
	args = attr_args(handle, attr);
	json_object_object_add(args, "raw", json_object_new_boolean(1));
	json_object_object_add(args, "value", json_object_new_string(hex));
	free(hex);
	return after(c, handle, rpc(c, "set-attr", args, NULL));
}

static int unhex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int dvm_client_get_attr(struct dvm_client *c, int handle, const struct kvm_device_attr *attr)
{
	json_object *args, *res, *v;
	uint32_t size;
	uint8_t *p;
	int ret;

	if (!c || !attr)
		return -EFAULT;
	ret = attr_size(c, handle, attr, &size);
	if (ret)
		return after(c, handle, ret);
	p = (uint8_t *)(uintptr_t)attr->addr;
	if (!p && size)
		return set_error(c, -EFAULT, "addr is NULL");
	args = attr_args(handle, attr);
	json_object_object_add(args, "raw", json_object_new_boolean(1));
	ret = rpc(c, "get-attr", args, &res);
	if (ret)
		return after(c, handle, ret);
	ret = -EPROTO;
	if (json_object_object_get_ex(res, "value", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) == 2 * (size_t)size) {
		const char *s = json_object_get_string(v);
		ret = 0;
		for (uint32_t i = 0; i < size && !ret; i++)
			if (unhex(s[2 * i]) < 0 || unhex(s[2 * i + 1]) < 0)
				ret = -EPROTO;
		/* Only a reply of exactly the right size reaches the caller's memory. */
		for (uint32_t i = 0; i < size && !ret; i++)
			p[i] = (uint8_t)(unhex(s[2 * i]) << 4 | unhex(s[2 * i + 1]));
	}
	if (ret) {
		/* Perhaps the handle now names another device: look again next time. */
		forget_handle(c, handle);
		set_error(c, ret, "get-attr: the reply's value is not %u bytes", size);
	}
	json_object_put(res);
	return ret;
}

int dvm_client_has_attr(struct dvm_client *c, int handle, const struct kvm_device_attr *attr)
{
	json_object *res, *v;
	int ret;

	if (!c || !attr)
		return -EFAULT;
	ret = rpc(c, "has-attr", attr_args(handle, attr), &res);
	if (ret)
		return after(c, handle, ret);
	ret = json_object_object_get_ex(res, "has", &v) && json_object_get_boolean(v) ? 0 : -ENXIO;
	json_object_put(res);
	return ret;
}

int dvm_client_pause(struct dvm_client *c)
{
	return c ? rpc(c, "pause", NULL, NULL) : -EINVAL;
}

int dvm_client_resume(struct dvm_client *c)
{
	return c ? rpc(c, "resume", NULL, NULL) : -EINVAL;
}

int dvm_client_quit(struct dvm_client *c)
{
	return c ? rpc(c, "quit", NULL, NULL) : -EINVAL;
}
