/* SPDX-License-Identifier: MIT */
/*
 * The control-socket protocol without the socket: every input line goes to
 * dvm_ctl_handle_request() on a VM (no KVM) with a few devices, as a client's
 * would.  Oracle: every line gets a reply that is a JSON object with a
 * boolean "ok" (or an E2BIG one past the line bound), and no crash or leak.
 * `snapshot` and `migrate` are skipped: they write files and open sockets.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "dvm/ctl.h"
#include "dvm/device.h"
#include "dvm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool touches_the_host(const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *req = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL, *cmd;
	bool yes = false;

	if (req && json_object_is_type(req, json_type_object) &&
	    json_object_object_get_ex(req, "cmd", &cmd) &&
	    json_object_is_type(cmd, json_type_string)) {
		const char *c = json_object_get_string(cmd);
		yes = !strcmp(c, "snapshot") || !strcmp(c, "migrate");
	}
	json_object_put(req);
	if (tok)
		json_tokener_free(tok);
	return yes;
}

static void check_reply(char *reply)
{
	if (!reply)
		abort();
	json_object *o = json_tokener_parse(reply), *ok;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &ok) || !json_object_is_type(ok, json_type_boolean))
		abort();
	json_object_put(o);
	free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = {DVM_DEV_TYPE_SERIAL_8250, DVM_DEV_TYPE_FW_CFG,
					 DVM_DEV_TYPE_CMOS_RTC, DVM_DEV_TYPE_PC_TESTDEV};
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;

	dvm_register_builtin_devices();
	if (dvm_vm_create(&cfg, &vm))
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct kvm_create_device cd = {.type = types[i]};
		dvm_create_device(vm, &cd);
	}
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		if (len > DVM_CTL_MAX_LINE)
			check_reply(dvm_ctl_reply_too_long());
		else if (!touches_the_host(p, len))
			check_reply(dvm_ctl_handle_request(vm, p, len));
		p += len + 1;
	}
	dvm_vm_shutdown(vm);
	return 0;
}
