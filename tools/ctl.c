/* SPDX-License-Identifier: MIT */
/*
 * `dvm ctl PATH COMMAND [ARGS]`: the control socket for people and scripts,
 * on top of libdvm-client.  Tables by default, the raw result with --json.
 * Exit status: 0 done, 1 the VM answered with an error, 2 bad usage or no
 * connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dvm/client.h"

#define EXIT_REPLY 1
#define EXIT_USAGE 2

int dvm_ctl_main(int argc, char **argv);

static void ctl_usage(FILE *f)
{
	fprintf(f,
		"usage: dvm ctl [--json] PATH COMMAND [ARGS]\n"
		"\n"
		"Talk to a running `dvm run --api-sock PATH`.\n"
		"\n"
		"commands:\n"
		"  status                      state, vCPUs, and why it stopped\n"
		"  types                       device types and whether this host has them\n"
		"  describe TYPE               a type's attribute schema\n"
		"  devices                     open device handles\n"
		"  get HANDLE ATTR [--raw]     read an attribute\n"
		"  set HANDLE ATTR VALUE [--raw]  write one (uint: 0x3f8 or 1016; bool:\n"
		"                              on/off; blob: hex bytes)\n"
		"  has HANDLE ATTR             does the device have it (prints yes/no)\n"
		"  create TYPE [NAME=VALUE...] create a device, configured; prints its handle\n"
		"  close HANDLE                close a device handle\n"
		"  pause | resume | quit       stop the vCPUs, run them again, end the VM\n"
		"  snapshot DIR                save the VM to DIR while it runs on (dvm restore)\n"
		"  migrate URI                 live-migrate to a `dvm run --incoming URI`\n"
		"                              (unix:PATH or tcp:HOST:PORT); this VM stops once\n"
		"                              the destination runs, or runs on if it fails\n"
		"  events [--count N] [--timeout SECONDS]\n"
		"                              print events as they come (device errors, snapshot\n"
		"                              and migration progress, guest exit) until N came,\n"
		"                              SECONDS passed with none, or the VM stopped\n"
		"  call CMD [ARGS-JSON]        any protocol command, e.g.\n"
		"                              call get-attr '{\"handle\":3,\"name\":\"regs\"}'\n"
		"\n"
		"ATTR is a schema name (regs), NAME[INDEX] for a row of several (msrs[16]),\n"
		"or GROUP:ATTR numbers (1:0).  State attributes of vCPUs and the in-kernel\n"
		"irqchip can only be read while the VM is paused.\n"
		"\n"
		"  --json   print the result as JSON, as the socket gave it\n"
		"\n"
		"Exit status: 0 done; 1 the VM answered with an error (its errno name and\n"
		"message on stderr); 2 bad usage or the socket could not be reached.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("dvm ctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see dvm ctl --help)\n", stderr);
	return EXIT_USAGE;
}

static bool parse_int(const char *s, long long *out)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 0);
	return !errno && !*end;
}

/* ATTR: NAME, NAME[INDEX] or GROUP:ATTR, into args. */
static bool attr_spec(json_object *args, const char *spec)
{
	const char *colon = strchr(spec, ':');
	const char *br = strchr(spec, '[');
	long long g, a;

	if (colon) {
		char gs[32];
		size_t n = (size_t)(colon - spec);
		if (n >= sizeof(gs))
			return false;
		memcpy(gs, spec, n);
		gs[n] = '\0';
		if (!parse_int(gs, &g) || g < 0)
			return false;
		char *end;
		errno = 0;
		unsigned long long av = strtoull(colon + 1, &end, 0);
		if (errno || !colon[1] || *end || colon[1] == '-')
			return false;
		(void)a;
		json_object_object_add(args, "group", json_object_new_int64(g));
		json_object_object_add(args, "attr", json_object_new_uint64(av));
		return true;
	}
	if (br) {
		size_t n = (size_t)(br - spec);
		size_t len = strlen(spec);
		char idx[32];
		if (!n || spec[len - 1] != ']' || len - n - 2 >= sizeof(idx))
			return false;
		memcpy(idx, br + 1, len - n - 2);
		idx[len - n - 2] = '\0';
		if (!parse_int(idx, &a) || a < 0)
			return false;
		json_object_object_add(args, "name", json_object_new_string_len(spec, (int)n));
		json_object_object_add(args, "index", json_object_new_int64(a));
		return true;
	}
	if (!*spec)
		return false;
	json_object_object_add(args, "name", json_object_new_string(spec));
	return true;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static uint64_t unum(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

static void print_status(json_object *r)
{
	printf("state: %s\nvcpus: %" PRId64 "\n", str(r, "state"), num(r, "vcpus"));
	if (member(r, "reason"))
		printf("stopped: %s, status %" PRId64 ": %s\n", str(r, "reason"), num(r, "status"),
		       str(r, "message"));
}

static void print_types(json_object *r)
{
	json_object *arr = member(r, "types");
	printf("%-14s %-7s %-10s %-4s %s\n", "TYPE", "NUMBER", "BACKING", "HOST", "SUMMARY");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		printf("%-14s %#-7" PRIx64 " %-10s %-4s %s\n", str(t, "name"), num(t, "type"),
		       str(t, "backing"),
		       json_object_get_boolean(member(t, "available")) ? "yes" : "no",
		       str(t, "summary"));
	}
}

static void print_describe(json_object *r)
{
	json_object *arr = member(r, "attrs");
	printf("%s (type %#" PRIx64 "%s): %s\n\n", str(r, "name"), num(r, "type"),
	       json_object_get_boolean(member(r, "kernel")) ? ", kernel-backed" : "",
	       str(r, "summary"));
	printf("%-5s %-12s %-13s %-8s %-24s %-6s %-6s %s\n", "GROUP", "ATTR", "NAME", "KIND",
	       "ACCESS", "SIZE", "FORMAT", "DESCRIPTION");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i), *acc = member(d, "access");
		char attr[48], access[64] = "";
		if (unum(d, "count") > 1)
			snprintf(attr, sizeof(attr), "%#" PRIx64 "+%#" PRIx64, unum(d, "attr"),
				 unum(d, "count"));
		else
			snprintf(attr, sizeof(attr), "%" PRIu64, unum(d, "attr"));
		for (size_t j = 0; acc && j < json_object_array_length(acc); j++) {
			const char *a = json_object_get_string(json_object_array_get_idx(acc, j));
			size_t l = strlen(access);
			snprintf(access + l, sizeof(access) - l, "%s%s", l ? "," : "",
				 !strcmp(a, "read")    ? "r"
				 : !strcmp(a, "write") ? "w"
						       : a);
		}
		printf("%-5" PRId64 " %-12s %-13s %-8s %-24s %-6" PRId64 " %-6s %s\n",
		       num(d, "group"), attr, str(d, "name"), str(d, "kind"), access,
		       num(d, "size"), str(d, "format"), str(d, "help"));
	}
}

static void print_devices(json_object *r)
{
	json_object *arr = member(r, "devices");
	printf("%-6s %-14s %-7s %-8s %s\n", "HANDLE", "TYPE", "NUMBER", "INSTANCE", "ERRORS");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		printf("%-6" PRId64 " %-14s %#-7" PRIx64 " %-8" PRId64 " %" PRId64 "\n",
		       num(d, "handle"), str(d, "type"), num(d, "type_number"), num(d, "instance"),
		       num(d, "errors"));
	}
}

/* A blob as offset: 16 hex bytes a line. */
static void print_hex(const char *hex)
{
	size_t n = strlen(hex) / 2;
	for (size_t off = 0; off < n; off += 16) {
		printf("%04zx:", off);
		for (size_t i = off; i < n && i < off + 16; i++)
			printf(" %.2s", hex + 2 * i);
		putchar('\n');
	}
}

static void print_value(json_object *r)
{
	const char *fmt = str(r, "format");
	json_object *v = member(r, "value");

	if (!strcmp(fmt, "uint") && json_object_is_type(v, json_type_int))
		printf("%#" PRIx64 " (%" PRIu64 ")\n", json_object_get_uint64(v),
		       json_object_get_uint64(v));
	else if (!strcmp(fmt, "bool"))
		printf("%s\n", json_object_get_boolean(v) ? "on" : "off");
	else if (!strcmp(fmt, "string"))
		printf("%s\n", json_object_get_string(v));
	else
		print_hex(json_object_get_string(v));
}

static void print_json(const char *result)
{
	json_object *o = json_tokener_parse(result);
	printf("%s\n", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE)
			 : result);
	json_object_put(o);
}

static void print_event(json_object *ev)
{
	const char *name = str(ev, "event");
	json_object *d = member(ev, "data");

	if (!strcmp(name, "device-error")) {
		json_object *h = member(d, "handle"), *e = member(d, "errno");
		printf("device-error %s #%" PRId64, str(d, "type"), num(d, "instance"));
		if (h)
			printf(" (handle %d)", json_object_get_int(h));
		printf(": %s", str(d, "message"));
		if (e)
			printf(" [%s]", json_object_get_string(e));
		printf("\n");
	} else if (!strcmp(name, "guest-exit")) {
		printf("guest-exit: status %" PRId64 " (%s) %s\n", num(d, "status"),
		       str(d, "reason"), str(d, "message"));
	} else if (!strcmp(name, "snapshot")) {
		printf("snapshot %s: %s %" PRId64 "/%" PRId64 " bytes\n", str(d, "dir"),
		       str(d, "phase"), num(d, "done"), num(d, "total"));
	} else if (!strcmp(name, "migration")) {
		printf("migration %s: %s, round %" PRId64 ", %" PRId64 " pages sent, %" PRId64
		       " dirty\n",
		       str(d, "uri"), str(d, "phase"), num(d, "round"), num(d, "pages"),
		       num(d, "dirty"));
	} else {
		printf("%s %s\n", name, json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
	}
}

/* `events`: one line per event.  0 after --count events or the guest's exit;
 * 1 when --timeout passes with none or the socket closes first. */
static int watch_events(const char *path, bool json, long long count, long long timeout)
{
	struct dvm_client *c;
	int ret = dvm_client_connect(path, &c), status = EXIT_REPLY;

	if (ret) {
		fprintf(stderr, "dvm ctl: cannot connect to %s: %s\n", path, strerror(-ret));
		return EXIT_USAGE;
	}
	/* A reply proves the server has taken us on: no later event is missed. */
	ret = dvm_client_call(c, "query-status", "{}", NULL);
	if (ret)
		fprintf(stderr, "dvm ctl: events: %s\n", dvm_client_last_error(c));
	else
		fprintf(stderr, "dvm ctl: watching %s for events\n", path);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long long n = 0; ret == 0; n++) {
		char *line = NULL;
		ret = dvm_client_next_event(c, &line, timeout < 0 ? -1 : (int)(timeout * 1000));
		if (ret == -EAGAIN) {
			fprintf(stderr, "dvm ctl: events: none in %lld s\n", timeout);
			break;
		}
		if (ret) {
			fprintf(stderr, "dvm ctl: events: %s\n", dvm_client_last_error(c));
			break;
		}
		json_object *ev = json_tokener_parse(line);
		if (json)
			printf("%s\n", line);
		else if (ev)
			print_event(ev);
		bool exited = ev && !strcmp(str(ev, "event"), "guest-exit");
		json_object_put(ev);
		free(line);
		if (exited || (count > 0 && n + 1 == count)) {
			status = 0;
			break;
		}
	}
	dvm_client_close(c);
	return status;
}

int dvm_ctl_main(int argc, char **argv)
{
	bool json = false, raw = false;
	int i = 1;
	json_object *args = json_object_new_object();
	const char *cmd = NULL, *path, *verb;
	void (*print)(json_object *) = NULL;
	int ret, status = 0;

	/* Options anywhere: dvm ctl --json S status, dvm ctl S get 3 regs --raw. */
	int nargs = 0;
	char *rest[64];
	const char *pos[2] = {NULL, NULL};
	int npos = 0;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			ctl_usage(stdout);
			json_object_put(args);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--raw")) {
			raw = true;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else if (nargs < 64) {
			rest[nargs++] = argv[i];
		} else {
			json_object_put(args);
			return usage_error("%s: too many arguments", pos[1]);
		}
	}
	if (npos < 2) {
		json_object_put(args);
		ctl_usage(stderr);
		return EXIT_USAGE;
	}
	path = pos[0];
	verb = pos[1];

#define NEED(n, what)                                                                              \
	do {                                                                                       \
		if (nargs != (n)) {                                                                \
			json_object_put(args);                                                     \
			return usage_error("%s: expected " what, verb);                            \
		}                                                                                  \
	} while (0)

	long long h = 0;
	if (!strcmp(verb, "status")) {
		NEED(0, "no arguments");
		cmd = "query-status";
		print = print_status;
	} else if (!strcmp(verb, "types")) {
		NEED(0, "no arguments");
		cmd = "types";
		print = print_types;
	} else if (!strcmp(verb, "describe")) {
		NEED(1, "TYPE");
		long long t;
		json_object_object_add(args, "type",
				       parse_int(rest[0], &t) ? json_object_new_int64(t)
							      : json_object_new_string(rest[0]));
		cmd = "describe";
		print = print_describe;
	} else if (!strcmp(verb, "devices")) {
		NEED(0, "no arguments");
		cmd = "list-devices";
		print = print_devices;
	} else if (!strcmp(verb, "get") || !strcmp(verb, "has") || !strcmp(verb, "set")) {
		bool set = verb[0] == 's';
		if (set)
			NEED(3, "HANDLE ATTR VALUE");
		else
			NEED(2, "HANDLE ATTR");
		if (!parse_int(rest[0], &h) || h < 0 || h > INT32_MAX) {
			json_object_put(args);
			return usage_error("'%s' is not a handle", rest[0]);
		}
		json_object_object_add(args, "handle", json_object_new_int((int)h));
		if (!attr_spec(args, rest[1])) {
			json_object_put(args);
			return usage_error("'%s' is not NAME, NAME[INDEX] or GROUP:ATTR", rest[1]);
		}
		if (raw && verb[0] != 'h')
			json_object_object_add(args, "raw", json_object_new_boolean(1));
		if (set)
			json_object_object_add(args, "value", json_object_new_string(rest[2]));
		cmd = verb[0] == 'g' ? "get-attr" : set ? "set-attr" : "has-attr";
		print = verb[0] == 'g' ? print_value : NULL;
	} else if (!strcmp(verb, "create")) {
		if (nargs < 1) {
			json_object_put(args);
			return usage_error("%s: expected TYPE [NAME=VALUE...]", verb);
		}
		long long t;
		json_object_object_add(args, "type",
				       parse_int(rest[0], &t) ? json_object_new_int64(t)
							      : json_object_new_string(rest[0]));
		if (nargs > 1) {
			json_object *config = json_object_new_object();
			json_object_object_add(args, "config", config);
			for (int k = 1; k < nargs; k++) {
				char *eq = strchr(rest[k], '=');
				if (!eq || eq == rest[k]) {
					json_object_put(args);
					return usage_error("'%s' is not NAME=VALUE", rest[k]);
				}
				*eq = '\0';
				json_object_object_add(config, rest[k],
						       json_object_new_string(eq + 1));
			}
		}
		cmd = "create-device";
	} else if (!strcmp(verb, "close")) {
		NEED(1, "HANDLE");
		if (!parse_int(rest[0], &h) || h < 0 || h > INT32_MAX) {
			json_object_put(args);
			return usage_error("'%s' is not a handle", rest[0]);
		}
		json_object_object_add(args, "handle", json_object_new_int((int)h));
		cmd = "close-device";
	} else if (!strcmp(verb, "snapshot")) {
		NEED(1, "DIR");
		/* The server resolves paths from its own directory, not ours. */
		char abs[PATH_MAX + 1];
		if (rest[0][0] != '/') {
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd)) ||
			    snprintf(abs, sizeof(abs), "%s/%s", cwd, rest[0]) >= (int)sizeof(abs)) {
				json_object_put(args);
				return usage_error("snapshot: %s: path too long", rest[0]);
			}
		} else {
			snprintf(abs, sizeof(abs), "%s", rest[0]);
		}
		json_object_object_add(args, "dir", json_object_new_string(abs));
		cmd = "snapshot";
	} else if (!strcmp(verb, "migrate")) {
		NEED(1, "URI");
		json_object_object_add(args, "uri", json_object_new_string(rest[0]));
		cmd = "migrate";
	} else if (!strcmp(verb, "pause") || !strcmp(verb, "resume") || !strcmp(verb, "quit")) {
		NEED(0, "no arguments");
		cmd = verb;
	} else if (!strcmp(verb, "events")) {
		long long count = -1, timeout = -1;
		for (int k = 0; k < nargs; k += 2) { /* OPTION VALUE pairs */
			long long *dst = !strcmp(rest[k], "--count")	 ? &count
					 : !strcmp(rest[k], "--timeout") ? &timeout
									 : NULL;
			if (!dst) {
				json_object_put(args);
				return usage_error("events: unknown argument '%s'", rest[k]);
			}
			if (k + 1 == nargs || !parse_int(rest[k + 1], dst) || *dst < 1 ||
			    *dst > INT_MAX / 1000) {
				json_object_put(args);
				return usage_error("events: %s needs a positive number", rest[k]);
			}
		}
		json_object_put(args);
		return watch_events(path, json, count, timeout);
	} else if (!strcmp(verb, "call")) {
		if (nargs < 1 || nargs > 2) {
			json_object_put(args);
			return usage_error("%s: expected CMD [ARGS-JSON]", verb);
		}
		json_object_put(args);
		args = nargs == 2 ? json_tokener_parse(rest[1]) : json_object_new_object();
		if (!args || !json_object_is_type(args, json_type_object)) {
			json_object_put(args);
			return usage_error("call: '%s' is not a JSON object",
					   nargs == 2 ? rest[1] : "");
		}
		cmd = rest[0];
		json = true;
	} else {
		json_object_put(args);
		return usage_error("unknown command '%s'", verb);
	}
#undef NEED

	struct dvm_client *c;
	ret = dvm_client_connect(path, &c);
	if (ret) {
		json_object_put(args);
		fprintf(stderr, "dvm ctl: cannot connect to %s: %s (%s)\n", path, strerror(-ret),
			strerrorname_np(-ret) ? strerrorname_np(-ret) : "?");
		return EXIT_USAGE;
	}
	char *result = NULL;
	ret = dvm_client_call(c, cmd, json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN),
			      &result);
	json_object_put(args);
	if (ret && !dvm_client_error_is_remote(c)) {
		fprintf(stderr, "dvm ctl: %s: %s\n", verb, dvm_client_last_error(c));
		status = EXIT_USAGE;
	} else if (ret) {
		const char *name = strerrorname_np(-ret);
		fprintf(stderr, "dvm ctl: %s: %s: %s\n", verb, name ? name : "?",
			dvm_client_last_error(c)[0] ? dvm_client_last_error(c) : strerror(-ret));
		status = EXIT_REPLY;
	} else if (json) {
		print_json(result);
	} else {
		json_object *r = json_tokener_parse(result);
		if (print)
			print(r);
		else if (!strcmp(verb, "has"))
			printf("%s\n", json_object_get_boolean(member(r, "has")) ? "yes" : "no");
		else if (!strcmp(verb, "create"))
			printf("%" PRId64 "\n", num(r, "handle"));
		else if (!strcmp(verb, "snapshot"))
			printf("snapshot saved to %s (%.1f ms)\n",
			       json_object_get_string(member(r, "dir")),
			       json_object_get_double(member(r, "ms")));
		else if (!strcmp(verb, "migrate"))
			printf("migrated to %s: %.1f ms in all, downtime %.1f ms, %" PRId64
			       " pages in %" PRId64 " rounds (%" PRId64 " while paused)\n",
			       json_object_get_string(member(r, "uri")),
			       json_object_get_double(member(r, "total-ms")),
			       json_object_get_double(member(r, "downtime-ms")), num(r, "pages"),
			       num(r, "rounds"), num(r, "last-pages"));
		json_object_put(r);
	}
	free(result);
	dvm_client_close(c);
	return status;
}
