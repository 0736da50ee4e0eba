// SPDX-License-Identifier: MIT
/*
 * The control socket's protocol, over a real socket, on a VM without
 * /dev/kvm (emulated devices only): every command, every error reply, the
 * line bound, several clients, a client that never reads, the socket's mode.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ctl_util.h"
#include "dvm/devices/serial_8250.h"

static int setup(void **state)
{
	struct ctl_fx *f = ctl_fx_new();
	assert_non_null(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	ctl_fx_free(*state);
	return 0;
}

static json_object *recv_json(int fd)
{
	char *line = ctl_recv_line(fd);
	assert_non_null(line);
	json_object *o = json_tokener_parse(line);
	if (!o)
		fail_msg("not JSON: %s", line);
	free(line);
	return o;
}

static bool is_event(json_object *o)
{
	return json_object_object_get_ex(o, "event", NULL);
}

/* The reply; events that come first (progress, device errors) are skipped. */
static json_object *call(int fd, const char *req)
{
	assert_int_equal(ctl_send_all(fd, req, strlen(req)), 0);
	assert_int_equal(ctl_send_all(fd, "\n", 1), 0);
	for (;;) {
		json_object *o = recv_json(fd);
		if (!is_event(o))
			return o;
		json_object_put(o);
	}
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no '%s' in %s", key, json_object_to_json_string(o));
	return v;
}

/* The result of an ok reply (owned by rep). */
static json_object *ok(json_object *rep)
{
	json_object *okv = get(rep, "ok");
	if (!json_object_get_boolean(okv))
		fail_msg("error reply: %s", json_object_to_json_string(rep));
	return get(rep, "result");
}

static void expect_err(json_object *rep, const char *name, int code)
{
	json_object *e;
	assert_false(json_object_get_boolean(get(rep, "ok")));
	e = get(rep, "error");
	if (strcmp(json_object_get_string(get(e, "errno")), name))
		fail_msg("expected %s: %s", name, json_object_to_json_string(rep));
	assert_int_equal(json_object_get_int(get(e, "code")), code);
	assert_true(strlen(json_object_get_string(get(e, "message"))) > 0);
	json_object_put(rep);
}

static void call_err(int fd, const char *req, const char *name, int code)
{
	expect_err(call(fd, req), name, code);
}

/* create-device → handle. */
static int create(int fd, const char *args)
{
	char req[512];
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"create-device\",\"args\":%s}", args);
	json_object *rep = call(fd, req);
	int h = json_object_get_int(get(ok(rep), "handle"));
	json_object_put(rep);
	return h;
}

static int64_t get_uint(int fd, int h, const char *name)
{
	char req[256];
	snprintf(req, sizeof(req),
		 "{\"id\":2,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"%s\"}}", h,
		 name);
	json_object *rep = call(fd, req);
	int64_t v = json_object_get_int64(get(ok(rep), "value"));
	json_object_put(rep);
	return v;
}

static bool list_has(int fd, int h)
{
	json_object *rep = call(fd, "{\"id\":3,\"cmd\":\"list-devices\"}");
	json_object *devs = get(ok(rep), "devices");
	bool found = false;
	for (size_t i = 0; i < json_object_array_length(devs); i++)
		if (json_object_get_int(get(json_object_array_get_idx(devs, i), "handle")) == h)
			found = true;
	json_object_put(rep);
	return found;
}

static void test_socket_mode(void **state)
{
	struct ctl_fx *f = *state;
	struct stat st;
	struct dvm_ctl_server *s2;
	char other[160];

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* A live socket is not taken over. */
	assert_int_equal(dvm_ctl_server_start(f->vm, f->path, &s2), -EADDRINUSE);
	/* Nor a file that is not a socket. */
	snprintf(other, sizeof(other), "%s/file", f->dir);
	int fd = open(other, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(dvm_ctl_server_start(f->vm, other, &s2), -EEXIST);
	unlink(other);
	/* A stale socket (nobody listening) is replaced. */
	snprintf(other, sizeof(other), "%s/stale", f->dir);
	int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(other) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, other, strlen(other) + 1);
	assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(sfd);
	assert_int_equal(dvm_ctl_server_start(f->vm, other, &s2), 0);
	int c = ctl_connect(other);
	assert_true(c >= 0);
	json_object *rep = call(c, "{\"id\":1,\"cmd\":\"query-status\"}");
	ok(rep);
	json_object_put(rep);
	close(c);
	dvm_ctl_server_stop(s2);
	/* Removed at stop. */
	assert_int_equal(stat(other, &st), -1);
	/* Too long for sun_path. */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	longp[0] = '/';
	assert_int_equal(dvm_ctl_server_start(f->vm, longp, &s2), -ENAMETOOLONG);
}

static void test_query_status_pause_resume_quit(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	json_object *rep, *r;

	rep = call(c, "{\"id\":\"s\",\"cmd\":\"query-status\"}");
	assert_string_equal(json_object_get_string(get(rep, "id")), "s");
	r = ok(rep);
	assert_string_equal(json_object_get_string(get(r, "state")), "configuring");
	assert_int_equal(json_object_get_int(get(r, "vcpus")), 0);
	json_object_put(rep);
	/* Not running yet: pause and resume are EINVAL. */
	call_err(c, "{\"id\":1,\"cmd\":\"pause\"}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":1,\"cmd\":\"resume\"}", "EINVAL", -EINVAL);

	assert_int_equal(dvm_vm_start(f->vm), 0);
	rep = call(c, "{\"id\":2,\"cmd\":\"pause\"}");
	assert_string_equal(json_object_get_string(get(ok(rep), "state")), "paused");
	json_object_put(rep);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_PAUSED);
	/* Pauses nest. */
	rep = call(c, "{\"id\":3,\"cmd\":\"pause\"}");
	ok(rep);
	json_object_put(rep);
	rep = call(c, "{\"id\":4,\"cmd\":\"resume\"}");
	assert_string_equal(json_object_get_string(get(ok(rep), "state")), "paused");
	json_object_put(rep);
	rep = call(c, "{\"id\":5,\"cmd\":\"resume\"}");
	assert_string_equal(json_object_get_string(get(ok(rep), "state")), "running");
	json_object_put(rep);
	call_err(c, "{\"id\":6,\"cmd\":\"resume\"}", "EINVAL", -EINVAL);

	/* snapshot needs a directory; migrate a uri, and a destination that is
	 * there (the refusal comes from the server's worker thread). */
	call_err(c, "{\"id\":7,\"cmd\":\"snapshot\",\"args\":{}}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":7,\"cmd\":\"snapshot\",\"args\":{\"dir\":\"/nonexistent/x/y\"}}",
		 "ENOENT", -ENOENT);
	call_err(c, "{\"id\":7,\"cmd\":\"migrate\"}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":7,\"cmd\":\"migrate\",\"args\":{\"uri\":\"ftp:x\"}}", "EINVAL",
		 -EINVAL);
	call_err(c, "{\"id\":7,\"cmd\":\"migrate\",\"args\":{\"uri\":\"unix:/nonexistent/x\"}}",
		 "ENOENT", -ENOENT);
	rep = call(c, "{\"id\":7,\"cmd\":\"query-status\"}"); /* still running */
	assert_string_equal(json_object_get_string(get(ok(rep), "state")), "running");
	json_object_put(rep);

	/* quit stops the VM; every client gets guest-exit. */
	int c2 = ctl_connect(f->path);
	rep = call(c2, "{\"id\":8,\"cmd\":\"query-status\"}"); /* c2 is accepted */
	json_object_put(rep);
	rep = call(c, "{\"id\":9,\"cmd\":\"quit\"}");
	ok(rep);
	json_object_put(rep);
	enum dvm_stop_reason reason;
	const char *msg;
	assert_int_equal(dvm_vm_wait(f->vm, &reason, &msg), 0);
	assert_int_equal(reason, DVM_STOP_QUIT);
	assert_string_equal(msg, "quit through the control socket");
	dvm_ctl_server_vm_stopped(f->srv);
	for (int i = 0; i < 2; i++) {
		json_object *ev = recv_json(i ? c2 : c);
		assert_string_equal(json_object_get_string(get(ev, "event")), "guest-exit");
		json_object *d = get(ev, "data");
		assert_int_equal(json_object_get_int(get(d, "status")), 0);
		assert_string_equal(json_object_get_string(get(d, "reason")), "quit");
		assert_string_equal(json_object_get_string(get(d, "message")),
				    "quit through the control socket");
		json_object_put(ev);
	}
	rep = call(c, "{\"id\":10,\"cmd\":\"query-status\"}");
	r = ok(rep);
	assert_string_equal(json_object_get_string(get(r, "state")), "stopped");
	assert_string_equal(json_object_get_string(get(r, "reason")), "quit");
	assert_int_equal(json_object_get_int(get(r, "status")), 0);
	json_object_put(rep);
	close(c);
	close(c2);
}

static void test_types_describe(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	json_object *rep, *r, *arr;
	bool seen_serial = false, seen_vcpu = false;

	rep = call(c, "{\"id\":1,\"cmd\":\"types\"}");
	arr = get(ok(rep), "types");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		const char *n = json_object_get_string(get(t, "name"));
		if (!strcmp(n, "serial-8250")) {
			seen_serial = true;
			assert_int_equal(json_object_get_int(get(t, "type")),
					 DVM_DEV_TYPE_SERIAL_8250);
			assert_true(json_object_get_boolean(get(t, "available")));
		}
		if (!strcmp(n, "vcpu")) {
			seen_vcpu = true;
			/* No /dev/kvm in this VM. */
			assert_false(json_object_get_boolean(get(t, "available")));
		}
	}
	assert_true(seen_serial && seen_vcpu);
	json_object_put(rep);

	/* By name and by number, the same schema. */
	rep = call(c, "{\"id\":2,\"cmd\":\"describe\",\"args\":{\"type\":\"serial-8250\"}}");
	r = ok(rep);
	assert_int_equal(json_object_get_int(get(r, "type")), DVM_DEV_TYPE_SERIAL_8250);
	arr = get(r, "attrs");
	assert_int_equal(json_object_array_length(arr), 4);
	json_object *base = json_object_array_get_idx(arr, 0);
	assert_string_equal(json_object_get_string(get(base, "name")), "base");
	assert_string_equal(json_object_get_string(get(base, "kind")), "config");
	assert_int_equal(json_object_get_int(get(base, "size")), 2);
	assert_string_equal(json_object_get_string(get(base, "format")), "uint");
	assert_int_equal(json_object_get_int(get(base, "default")), 0x3f8);
	json_object *acc = get(base, "access");
	assert_int_equal(json_object_array_length(acc), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(acc, 2)),
			    "before-start");
	json_object *regs = json_object_array_get_idx(arr, 3);
	assert_string_equal(json_object_get_string(get(regs, "kind")), "state");
	assert_string_equal(json_object_get_string(get(regs, "format")), "blob");
	json_object_put(rep);
	/* Every access flag has its name: fw-cfg's add-file holds a host pointer. */
	rep = call(c, "{\"id\":3,\"cmd\":\"describe\",\"args\":{\"type\":\"fw-cfg\"}}");
	arr = get(ok(rep), "attrs");
	bool host_ref = false;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *a = json_object_array_get_idx(arr, i);
		if (strcmp(json_object_get_string(get(a, "name")), "add-file"))
			continue;
		acc = get(a, "access");
		for (size_t k = 0; k < json_object_array_length(acc); k++)
			host_ref |= !strcmp(
			    json_object_get_string(json_object_array_get_idx(acc, k)), "host-ref");
	}
	assert_true(host_ref);
	json_object_put(rep);
	rep = call(c, "{\"id\":3,\"cmd\":\"describe\",\"args\":{\"type\":260}}");
	assert_string_equal(json_object_get_string(get(ok(rep), "name")), "serial-8250");
	json_object_put(rep);

	call_err(c, "{\"id\":4,\"cmd\":\"describe\",\"args\":{\"type\":\"nope\"}}", "ENODEV",
		 -ENODEV);
	call_err(c, "{\"id\":4,\"cmd\":\"describe\",\"args\":{\"type\":9999}}", "ENODEV", -ENODEV);
	call_err(c, "{\"id\":4,\"cmd\":\"describe\",\"args\":{\"type\":[1]}}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":4,\"cmd\":\"describe\"}", "EINVAL", -EINVAL);
	close(c);
}

static void test_create_close_list(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	json_object *rep;
	char req[256];

	int h = create(c, "{\"type\":\"serial-8250\",\"config\":{\"base\":\"0x2f8\",\"irq\":3,"
			  "\"console\":false}}");
	assert_true(h >= 0);
	assert_true(list_has(c, h));
	assert_int_equal(get_uint(c, h, "base"), 0x2f8);
	assert_int_equal(get_uint(c, h, "irq"), 3);
	/* The same device through the in-process API. */
	uint16_t base = 0;
	assert_int_equal(dvm_device_get(f->vm, h, DVM_SERIAL_8250_GRP_CONFIG,
					DVM_SERIAL_8250_CONFIG_BASE, &base),
			 0);
	assert_int_equal(base, 0x2f8);

	/* TEST: ok, nothing created. */
	rep = call(c, "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"i8042\",\"test\":"
		      "true}}");
	assert_false(json_object_object_get_ex(ok(rep), "handle", NULL));
	json_object_put(rep);
	assert_int_equal(dvm_vm_nr_devices(f->vm, DVM_DEV_TYPE_I8042), 0);
	/* TEST of a type this VM can't have. */
	call_err(c,
		 "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"vcpu\",\"test\":true}}",
		 "ENODEV", -ENODEV);
	call_err(c, "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"nope\"}}", "ENODEV",
		 -ENODEV);
	call_err(c, "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"i8042\",\"test\":1}}",
		 "EINVAL", -EINVAL);
	call_err(c,
		 "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"i8042\",\"config\":"
		 "[1]}}",
		 "EINVAL", -EINVAL);

	/* A bad config attribute: an error naming it, and no device left. */
	rep = call(c, "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"debug-exit\","
		      "\"config\":{\"bogus\":1}}}");
	assert_non_null(strstr(json_object_get_string(get(get(rep, "error"), "message")), "bogus"));
	expect_err(rep, "ENXIO", -ENXIO);
	rep = call(c, "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"debug-exit\","
		      "\"config\":{\"iosize\":3}}}");
	assert_non_null(
	    strstr(json_object_get_string(get(get(rep, "error"), "message")), "iosize"));
	expect_err(rep, "EINVAL", -EINVAL);
	rep = call(c, "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"debug-exit\","
		      "\"config\":{\"iobase\":\"x\"}}}");
	assert_non_null(
	    strstr(json_object_get_string(get(get(rep, "error"), "message")), "iobase"));
	expect_err(rep, "EINVAL", -EINVAL);
	rep = call(c, "{\"id\":1,\"cmd\":\"create-device\",\"args\":{\"type\":\"debug-exit\","
		      "\"config\":{\"iobase\":70000}}}");
	expect_err(rep, "EINVAL", -EINVAL);
	/* The failed ones were closed again: only h is open. */
	rep = call(c, "{\"id\":3,\"cmd\":\"list-devices\"}");
	assert_int_equal(json_object_array_length(get(ok(rep), "devices")), 1);
	json_object_put(rep);

	/* close, then EBADF for everything on it. */
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"close-device\",\"args\":{\"handle\":%d}}",
		 h);
	rep = call(c, req);
	ok(rep);
	json_object_put(rep);
	assert_false(list_has(c, h));
	call_err(c, req, "EBADF", -EBADF);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"base\"}}", h);
	call_err(c, req, "EBADF", -EBADF);
	call_err(c, "{\"id\":1,\"cmd\":\"close-device\",\"args\":{\"handle\":-1}}", "EBADF",
		 -EBADF);
	call_err(c, "{\"id\":1,\"cmd\":\"close-device\",\"args\":{\"handle\":99999999999}}",
		 "EBADF", -EBADF);
	call_err(c, "{\"id\":1,\"cmd\":\"close-device\",\"args\":{\"handle\":\"0\"}}", "EINVAL",
		 -EINVAL);
	call_err(c, "{\"id\":1,\"cmd\":\"close-device\"}", "EINVAL", -EINVAL);
	close(c);
}

static void test_attrs(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	json_object *rep, *r;
	char req[512];

	int h = create(c, "{\"type\":\"serial-8250\",\"config\":{\"console\":\"off\"}}");
	int fw = create(c, "{\"type\":\"fw-cfg\"}");

	/* Rows whose value is a pointer into dvm's own memory never come over the socket. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"add-file\","
		 "\"raw\":true,\"value\":\"00\"}}",
		 fw);
	call_err(c, req, "EPERM", -EPERM);

	/* By numbers, and a "0x" string for a uint. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"group\":0,\"attr\":1,"
		 "\"value\":\"0xb\"}}",
		 h);
	rep = call(c, req);
	ok(rep);
	json_object_put(rep);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"group\":0,\"attr\":1}}",
		 h);
	rep = call(c, req);
	r = ok(rep);
	assert_int_equal(json_object_get_int(get(r, "value")), 11);
	assert_int_equal(json_object_get_int(get(r, "size")), 4);
	assert_string_equal(json_object_get_string(get(r, "format")), "uint");
	assert_string_equal(json_object_get_string(get(r, "name")), "irq");
	json_object_put(rep);
	/* raw: the same bytes as hex. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"irq\",\"raw\":"
		 "true}}",
		 h);
	rep = call(c, req);
	assert_string_equal(json_object_get_string(get(ok(rep), "value")), "0b000000");
	json_object_put(rep);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"irq\",\"raw\":"
		 "true,\"value\":\"05000000\"}}",
		 h);
	rep = call(c, req);
	ok(rep);
	json_object_put(rep);
	assert_int_equal(get_uint(c, h, "irq"), 5);
	/* bool */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"console\"}}",
		 h);
	rep = call(c, req);
	assert_true(json_object_is_type(get(ok(rep), "value"), json_type_boolean));
	assert_false(json_object_get_boolean(get(ok(rep), "value")));
	json_object_put(rep);

	/* A blob round trip: the register file. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"regs\"}}", h);
	rep = call(c, req);
	r = ok(rep);
	assert_int_equal(json_object_get_int(get(r, "size")), sizeof(struct dvm_serial_8250_regs));
	char hex[2 * sizeof(struct dvm_serial_8250_regs) + 1];
	snprintf(hex, sizeof(hex), "%s", json_object_get_string(get(r, "value")));
	assert_int_equal(strlen(hex), 2 * sizeof(struct dvm_serial_8250_regs));
	json_object_put(rep);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"regs\","
		 "\"value\":\"%s\"}}",
		 h, hex);
	rep = call(c, req);
	ok(rep);
	json_object_put(rep);
	/* Wrong length, not hex, not a string. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"regs\","
		 "\"value\":\"00\"}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	hex[0] = 'z';
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"regs\","
		 "\"value\":\"%s\"}}",
		 h, hex);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"regs\","
		 "\"value\":5}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	/* Wrong value types for uint and bool; out of range; no value. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"base\","
		 "\"value\":true}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"base\","
		 "\"value\":65536}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"base\","
		 "\"value\":-1}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"console\","
		 "\"value\":\"maybe\"}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"base\"}}", h);
	call_err(c, req, "EINVAL", -EINVAL);
	/* name and numbers together; neither; index with numbers; bad group. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"base\","
		 "\"group\":0,\"attr\":0}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d}}", h);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"group\":0,\"attr\":0,"
		 "\"index\":1}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"group\":\"x\","
		 "\"attr\":0}}",
		 h);
	call_err(c, req, "EINVAL", -EINVAL);

	/* Unknown attributes: ENXIO by name, index or numbers; has says false. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"nope\"}}", h);
	call_err(c, req, "ENXIO", -ENXIO);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"base\","
		 "\"index\":1}}",
		 h);
	call_err(c, req, "ENXIO", -ENXIO);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"group\":7,\"attr\":0}}",
		 h);
	call_err(c, req, "ENXIO", -ENXIO);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"group\":0,\"attr\":99,"
		 "\"value\":1}}",
		 h);
	call_err(c, req, "ENXIO", -ENXIO);
	const char *has_cases[][2] = {
	    {"\"name\":\"regs\"", "true"},
	    {"\"group\":1,\"attr\":0", "true"},
	    {"\"name\":\"nope\"", "false"},
	    {"\"group\":7,\"attr\":0", "false"},
	    {"\"name\":\"base\",\"index\":3", "false"},
	};
	for (size_t i = 0; i < sizeof(has_cases) / sizeof(has_cases[0]); i++) {
		snprintf(req, sizeof(req),
			 "{\"id\":1,\"cmd\":\"has-attr\",\"args\":{\"handle\":%d,%s}}", h,
			 has_cases[i][0]);
		rep = call(c, req);
		assert_int_equal(json_object_get_boolean(get(ok(rep), "has")),
				 !strcmp(has_cases[i][1], "true"));
		json_object_put(rep);
	}
	call_err(c, "{\"id\":1,\"cmd\":\"has-attr\",\"args\":{\"handle\":4000,\"name\":\"regs\"}}",
		 "EBADF", -EBADF);

	/* EPERM: reading a write-only command. */
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"get-attr\",\"args\":{\"handle\":%d,\"name\":\"add-file\"}}",
		 fw);
	call_err(c, req, "EPERM", -EPERM);

	/* EBUSY: a before-start config once the VM runs. */
	assert_int_equal(dvm_vm_start(f->vm), 0);
	snprintf(req, sizeof(req),
		 "{\"id\":1,\"cmd\":\"set-attr\",\"args\":{\"handle\":%d,\"name\":\"base\","
		 "\"value\":760}}",
		 h);
	call_err(c, req, "EBUSY", -EBUSY);
	/* Reading it is fine. */
	assert_int_equal(get_uint(c, h, "base"), 0x3f8);
	close(c);
}

static void test_bad_requests(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	json_object *rep;

	call_err(c, "this is not json", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":1,\"cmd\":", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":1,\"cmd\":\"types\"} trailing", "EINVAL", -EINVAL);
	call_err(c, "[1,2,3]", "EINVAL", -EINVAL);
	call_err(c, "42", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":1}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":1,\"cmd\":5}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":1,\"cmd\":\"types\",\"args\":[]}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":{\"a\":1},\"cmd\":\"types\"}", "EINVAL", -EINVAL);
	call_err(c, "{\"id\":1,\"cmd\":\"frobnicate\"}", "ENOSYS", -ENOSYS);
	/* Deep nesting is refused by the parser, not the stack. */
	char deep[400];
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	call_err(c, deep, "EINVAL", -EINVAL);
	/* The id is echoed as given, whatever scalar it is. */
	rep = call(c, "{\"id\":12.5,\"cmd\":\"query-status\"}");
	assert_true(json_object_get_double(get(rep, "id")) == 12.5);
	json_object_put(rep);
	rep = call(c, "{\"id\":null,\"cmd\":\"query-status\"}");
	assert_true(json_object_is_type(get(rep, "id"), json_type_null));
	json_object_put(rep);
	/* Blank lines are skipped; CRLF is fine. */
	assert_int_equal(ctl_send_all(c, "\n  \n", 4), 0);
	rep = call(c, "{\"id\":\"crlf\",\"cmd\":\"query-status\"}\r");
	assert_string_equal(json_object_get_string(get(rep, "id")), "crlf");
	json_object_put(rep);

	/* A line over the bound: E2BIG once, the rest discarded, and the
	 * connection still serves. */
	size_t n = DVM_CTL_MAX_LINE + 4096;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{\"id\":1,\"cmd\":\"types\",\"pad\":\"", 30);
	memset(big + 30, 'x', n - 40);
	assert_int_equal(ctl_send_all(c, big, n), 0);
	rep = recv_json(c);
	expect_err(rep, "E2BIG", -E2BIG);
	assert_int_equal(ctl_send_all(c, big, n), 0); /* more of the same line */
	/* Its end: no reply for what follows the discarded part on that line. */
	const char *end = "\"} {\"id\":2,\"cmd\":\"query-status\"}\n";
	assert_int_equal(ctl_send_all(c, end, strlen(end)), 0);
	rep = call(c, "{\"id\":3,\"cmd\":\"query-status\"}");
	assert_int_equal(json_object_get_int(get(rep, "id")), 3);
	ok(rep);
	json_object_put(rep);
	/* Just under the bound is a request like any other. */
	size_t m = DVM_CTL_MAX_LINE;
	memset(big, ' ', m);
	memcpy(big, "{\"id\":4,\"cmd\":\"query-status\"}", 30);
	rep = call(c, (big[m] = '\0', big));
	assert_int_equal(json_object_get_int(get(rep, "id")), 4);
	ok(rep);
	json_object_put(rep);
	free(big);
	close(c);
}

static void test_several_clients(void **state)
{
	struct ctl_fx *f = *state;
	enum { N = 8 };
	int c[N];
	json_object *rep;
	char req[128];

	for (int i = 0; i < N; i++) {
		c[i] = ctl_connect(f->path);
		assert_true(c[i] >= 0);
	}
	/* Interleaved: every request sent before any reply is read. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(req, sizeof(req), "{\"id\":%d,\"cmd\":\"query-status\"}\n",
				 round * 100 + i);
			assert_int_equal(ctl_send_all(c[i], req, strlen(req)), 0);
		}
		for (int i = N - 1; i >= 0; i--) {
			rep = recv_json(c[i]);
			assert_int_equal(json_object_get_int(get(rep, "id")), round * 100 + i);
			json_object_put(rep);
		}
	}
	/* A device made by one client is seen and closed by another. */
	int h = create(c[0], "{\"type\":\"i8042\"}");
	assert_true(list_has(c[5], h));
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"close-device\",\"args\":{\"handle\":%d}}",
		 h);
	rep = call(c[3], req);
	ok(rep);
	json_object_put(rep);
	call_err(c[0], req, "EBADF", -EBADF);
	/* Clients that go away mid-line or at once leave the others alone. */
	assert_int_equal(ctl_send_all(c[1], "{\"id\":1,\"cm", 11), 0);
	close(c[1]);
	close(c[2]);
	rep = call(c[7], "{\"id\":1,\"cmd\":\"query-status\"}");
	ok(rep);
	json_object_put(rep);
	for (int i = 0; i < N; i++)
		if (i != 1 && i != 2)
			close(c[i]);
}

static void test_stuck_client(void **state)
{
	struct ctl_fx *f = *state;
	int stuck = ctl_connect(f->path), good = ctl_connect(f->path);
	const char *req = "{\"id\":1,\"cmd\":\"describe\",\"args\":{\"type\":\"fw-cfg\"}}\n";
	enum { NREQ = 20000 };
	size_t len = strlen(req), total = NREQ * len, sent = 0, checks = 0;
	char *all = malloc(total);
	json_object *rep;
	bool dropped = false;

	assert_non_null(all);
	for (size_t i = 0; i < NREQ; i++)
		memcpy(all + i * len, req, len);
	/* The stuck client asks for far more than DVM_CTL_MAX_OUTPUT and never
	 * reads; between its writes another client is served all along. */
	fcntl(stuck, F_SETFL, O_NONBLOCK);
	while (sent < total) {
		ssize_t w = send(stuck, all + sent, total - sent, MSG_NOSIGNAL);
		if (w > 0) {
			sent += (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = stuck, .events = POLLOUT};
			poll(&p, 1, 100);
		} else {
			dropped = true;
			break;
		}
		if (checks++ % 16 == 0) {
			rep = call(good, "{\"id\":\"g\",\"cmd\":\"query-status\"}");
			ok(rep);
			json_object_put(rep);
		}
	}
	free(all);
	/* Reading drains what the server had sent before dropping it, then EOF. */
	fcntl(stuck, F_SETFL, 0);
	size_t got = 0;
	char buf[65536];
	for (;;) {
		struct pollfd p = {.fd = stuck, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 10000), 1);
		ssize_t n = recv(stuck, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* Far less came back than was asked for (each reply is > 1 KiB). */
	assert_true(got < (size_t)NREQ * 1024 / 2);
	assert_true(got > 0);
	(void)dropped;
	rep = call(good, "{\"id\":\"after\",\"cmd\":\"query-status\"}");
	ok(rep);
	json_object_put(rep);
	close(stuck);
	close(good);
}

/* The request handler alone, without a socket. */
/* An operator's resume undoes only an operator's pause: never the one a
 * snapshot, a migration or a sleeping guest holds. */
static void test_operator_pauses(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	json_object *rep, *r;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	assert_int_equal(dvm_vm_pause(f->vm), 0); /* as a snapshot would */
	call_err(c, "{\"id\":1,\"cmd\":\"resume\"}", "EBUSY", -EBUSY);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_PAUSED);
	rep = call(c, "{\"id\":2,\"cmd\":\"query-status\"}");
	r = ok(rep);
	assert_string_equal(json_object_get_string(get(r, "state")), "paused");
	assert_int_equal(json_object_get_int(get(r, "pauses")), 1);
	assert_int_equal(json_object_get_int(get(r, "operator-pauses")), 0);
	json_object_put(rep);
	rep = call(c, "{\"id\":3,\"cmd\":\"pause\"}");
	ok(rep);
	json_object_put(rep);
	rep = call(c, "{\"id\":4,\"cmd\":\"query-status\"}");
	r = ok(rep);
	assert_int_equal(json_object_get_int(get(r, "pauses")), 2);
	assert_int_equal(json_object_get_int(get(r, "operator-pauses")), 1);
	json_object_put(rep);
	rep = call(c, "{\"id\":5,\"cmd\":\"resume\"}");
	assert_string_equal(json_object_get_string(get(ok(rep), "state")), "paused");
	json_object_put(rep);
	call_err(c, "{\"id\":6,\"cmd\":\"resume\"}", "EBUSY", -EBUSY);
	/* The holder hands its pause over (a migration with an unknown outcome). */
	assert_int_equal(dvm_vm_pause_to_operator(f->vm), 0);
	assert_int_equal(dvm_vm_pause_to_operator(f->vm), -EINVAL); /* none left to hand */
	rep = call(c, "{\"id\":7,\"cmd\":\"resume\"}");
	assert_string_equal(json_object_get_string(get(ok(rep), "state")), "running");
	json_object_put(rep);
	call_err(c, "{\"id\":8,\"cmd\":\"resume\"}", "EINVAL", -EINVAL);
	assert_int_equal(dvm_vm_resume(f->vm), -EINVAL);
	close(c);
}

static json_object *recv_event(int fd, const char *name)
{
	json_object *o = recv_json(fd);
	if (!is_event(o) || strcmp(json_object_get_string(get(o, "event")), name))
		fail_msg("expected a %s event: %s", name, json_object_to_json_string(o));
	return o;
}

/* A device's fault reaches every client as a device-error event, once per
 * run of failures, and list-devices counts it. */
static void test_device_error_event(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path), c2 = ctl_connect(f->path);
	int pipefd[2];
	json_object *rep;

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(pipefd), 0);
	close(pipefd[0]); /* nobody reads the console */
	dvm_vm_set_console(f->vm, -1, pipefd[1]);
	int h = create(c, "{\"type\":\"serial-8250\"}");
	rep = call(c2, "{\"id\":1,\"cmd\":\"query-status\"}"); /* c2 is accepted */
	json_object_put(rep);
	assert_int_equal(dvm_vm_start(f->vm), 0);
	for (int i = 0; i < 3; i++) {
		uint8_t b = 'x';
		assert_true(dvm_bus_access(f->vm, DVM_BUS_PIO, 0x3f8, &b, 1, true));
	}
	for (int i = 0; i < 2; i++) {
		json_object *ev = recv_event(i ? c2 : c, "device-error");
		json_object *d = get(ev, "data");
		assert_string_equal(json_object_get_string(get(d, "type")), "serial-8250");
		assert_int_equal(json_object_get_int(get(d, "instance")), 0);
		assert_int_equal(json_object_get_int(get(d, "handle")), h);
		assert_string_equal(json_object_get_string(get(d, "errno")), "EPIPE");
		assert_non_null(strstr(json_object_get_string(get(d, "message")), "console"));
		json_object_put(ev);
	}
	/* One event for the run of three failures: the next line is the reply. */
	rep = call(c, "{\"id\":2,\"cmd\":\"list-devices\"}");
	json_object *devs = get(ok(rep), "devices");
	assert_int_equal(json_object_array_length(devs), 1);
	assert_int_equal(json_object_get_int(get(json_object_array_get_idx(devs, 0), "errors")), 1);
	json_object_put(rep);
	close(pipefd[1]);
	close(c);
	close(c2);
}

/* snapshot runs on the worker: its progress reaches clients as events
 * before the reply, and other clients are served meanwhile. */
static void test_snapshot_progress_events(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	char req[256], dir[160];
	const char *want[] = {"state", "memory", "sync", "done"};
	size_t next = 0;
	int64_t last_done = -1;

	assert_int_equal(dvm_vm_start(f->vm), 0);
	snprintf(dir, sizeof(dir), "%s/snap", f->dir);
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"snapshot\",\"args\":{\"dir\":\"%s\"}}",
		 dir);
	assert_int_equal(ctl_send_all(c, req, strlen(req)), 0);
	assert_int_equal(ctl_send_all(c, "\n", 1), 0);
	for (;;) {
		json_object *o = recv_json(c);
		if (!is_event(o)) {
			assert_non_null(strstr(json_object_get_string(get(ok(o), "dir")), "/snap"));
			json_object_put(o);
			break;
		}
		assert_string_equal(json_object_get_string(get(o, "event")), "snapshot");
		json_object *d = get(o, "data");
		const char *phase = json_object_get_string(get(d, "phase"));
		assert_string_equal(json_object_get_string(get(d, "dir")), dir);
		/* Phases in order, each at least once; memory's count never goes back. */
		while (next < 4 && strcmp(phase, want[next]))
			next++;
		if (next == 4)
			fail_msg("phase %s out of order", phase);
		if (!strcmp(phase, "memory")) {
			int64_t done = json_object_get_int64(get(d, "done"));
			assert_true(done >= last_done);
			assert_true(done <= json_object_get_int64(get(d, "total")));
			last_done = done;
		}
		json_object_put(o);
	}
	assert_int_equal(next, 3); /* "done" was the last one seen */
	assert_int_equal(last_done, 1 << 20);
	assert_int_equal(dvm_vm_state(f->vm), DVM_VM_RUNNING);
	char path[200];
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/memory", dir);
	unlink(path);
	rmdir(dir);
	close(c);
}

/* Events posted faster than the server sends them: each one reaches the
 * client or is counted in an events-dropped event; none vanishes. */
static void test_event_flood(void **state)
{
	struct ctl_fx *f = *state;
	int c = ctl_connect(f->path);
	enum { N = 5000 };
	json_object *rep = call(c, "{\"id\":1,\"cmd\":\"query-status\"}"); /* accepted */
	json_object_put(rep);
	for (int i = 0; i < N; i++) {
		struct dvm_event ev = {.kind = DVM_EVENT_SNAPSHOT,
				       .message = "flood",
				       .phase = "memory",
				       .target = "/flood",
				       .done = (uint64_t)i,
				       .total = N};
		dvm_vm_post_event(f->vm, &ev);
	}
	int64_t seen = 0, dropped = 0, last = -1;
	while (seen + dropped < N) {
		json_object *o = recv_json(c);
		const char *name = json_object_get_string(get(o, "event"));
		json_object *d = get(o, "data");
		if (!strcmp(name, "events-dropped")) {
			assert_true(json_object_get_int64(get(d, "count")) > 0);
			dropped += json_object_get_int64(get(d, "count"));
		} else {
			assert_string_equal(name, "snapshot");
			int64_t done = json_object_get_int64(get(d, "done"));
			assert_true(done > last); /* in order */
			last = done;
			seen++;
		}
		json_object_put(o);
	}
	assert_int_equal(seen + dropped, N);
	/* Nothing more was sent: the next line is the reply. */
	const char *req = "{\"id\":2,\"cmd\":\"query-status\"}\n";
	assert_int_equal(ctl_send_all(c, req, strlen(req)), 0);
	rep = recv_json(c);
	assert_false(is_event(rep));
	assert_int_equal(json_object_get_int(get(rep, "id")), 2);
	json_object_put(rep);
	print_message("%d events: %lld sent, %lld counted as dropped\n", N, (long long)seen,
		      (long long)dropped);
	close(c);
}

static void test_handle_request_direct(void **state)
{
	struct ctl_fx *f = *state;
	char *out = dvm_ctl_handle_request(f->vm, "{\"id\":7,\"cmd\":\"query-status\"}\n", 30);
	assert_non_null(out);
	assert_non_null(strstr(out, "\"id\":7"));
	assert_null(strchr(out, '\n'));
	free(out);
	/* Embedded NUL: malformed, not truncated to something valid. */
	out = dvm_ctl_handle_request(f->vm, "{\"id\":7,\"cmd\":\"types\"}\0xx", 25);
	assert_non_null(strstr(out, "EINVAL"));
	free(out);
	out = dvm_ctl_handle_request(f->vm, "", 0);
	assert_non_null(strstr(out, "EINVAL"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_status_pause_resume_quit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_types_describe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_close_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attrs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_several_clients, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stuck_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handle_request_direct, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_operator_pauses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_error_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_progress_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_flood, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
