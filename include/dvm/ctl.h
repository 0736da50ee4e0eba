/* SPDX-License-Identifier: MIT */
/*
 * The control socket: the device-control API over an AF_UNIX stream socket,
 * one JSON object per line.
 *
 *   request  {"id": ID, "cmd": "NAME", "args": {...}}
 *   reply    {"id": ID, "ok": true, "result": {...}}
 *            {"id": ID, "ok": false, "error": {"errno": "ENXIO", "code": -6, "message": "..."}}
 *   event    {"event": "guest-exit", "data": {"status": N, "reason": "...", "message": "..."}}
 *            and device-error, snapshot and migration (dvm_ctl_event_line)
 *
 * ID is any JSON scalar and is echoed back.  A line is at most
 * DVM_CTL_MAX_LINE bytes; a longer one gets an E2BIG reply (id null) and the
 * rest of it is discarded.  Bad input always gets an error reply; the
 * connection stays up.
 */
#ifndef DVM_CTL_H
#define DVM_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "dvm/vm.h"

#define DVM_CTL_MAX_LINE (1u << 20)   /* bytes per request line, without the newline */
#define DVM_CTL_MAX_OUTPUT (4u << 20) /* queued reply bytes per client before it is dropped */
#define DVM_CTL_MAX_CLIENTS 64

struct dvm_ctl_server;

/*
 * Serve the control socket at `path` for `vm` on a thread of its own.  The
 * socket is created with mode 0600.  An existing socket nobody listens on
 * (connect() says ECONNREFUSED) is replaced; anything else at `path` is
 * -EEXIST (a live socket: -EADDRINUSE).  -ENAMETOOLONG past sun_path.
 */
int dvm_ctl_server_start(struct dvm_vm *vm, const char *path, struct dvm_ctl_server **out);
/* The VM has stopped: send every client the guest-exit event. */
void dvm_ctl_server_vm_stopped(struct dvm_ctl_server *s);
/* Flush what is queued (for a short bounded time), drop every client,
 * remove the socket and free the server.  NULL is fine. */
void dvm_ctl_server_stop(struct dvm_ctl_server *s);

/*
 * The protocol without the socket: one request line (no newline needed) in,
 * one reply line out (malloc'd, NUL-terminated, no newline).  NULL only
 * when out of memory.
 */
char *dvm_ctl_handle_request(struct dvm_vm *vm, const char *line, size_t len);
/*
 * The same where a long command (migrate) may run on a worker thread: run()
 * starts fn(arg, &reply) on a thread the caller owns and later delivers the
 * reply line (malloc'd) to the requester; -EBUSY while one runs.  When run()
 * took the command, NULL is returned and *deferred is true.
 */
struct dvm_ctl_async {
	int (*run)(void *opaque, void (*fn)(void *arg, char **reply), void *arg);
	void *opaque;
};
char *dvm_ctl_handle_request_async(struct dvm_vm *vm, const char *line, size_t len,
				   const struct dvm_ctl_async *async, bool *deferred);
/* The error reply for a line longer than DVM_CTL_MAX_LINE. */
char *dvm_ctl_reply_too_long(void);
/* The guest-exit event for a stopped VM (malloc'd line without newline). */
char *dvm_ctl_event_guest_exit(struct dvm_vm *vm);
/* An event's line (malloc'd, without newline; NULL out of memory):
 *   {"event": "device-error", "data": {"type", "instance", "handle", "errno", "message"}}
 *   {"event": "snapshot", "data": {"dir", "phase", "done", "total", "message"}}
 *   {"event": "migration", "data": {"uri", "phase", "round", "pages", "dirty", "message"}}
 * handle and errno may be null. */
char *dvm_ctl_event_line(const struct dvm_event *ev);
/* "debug-exit" for DVM_STOP_DEBUG_EXIT, ... */
const char *dvm_stop_reason_name(enum dvm_stop_reason reason);

#endif
