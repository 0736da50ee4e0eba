/* SPDX-License-Identifier: MIT */
/*
 * libdvm-client: dvm's control socket (`dvm run --api-sock PATH`) from C,
 * with the kernel device API's shape.  create_device takes a
 * struct kvm_create_device and fills ->fd with the device's handle;
 * set/get/has take a struct kvm_device_attr whose addr points into the
 * caller's memory, the number of bytes behind it being the schema's size
 * for that attribute (the client fetches `describe` once per type and keeps
 * it).  Every call returns 0 or a negative errno: the errno the VM's device
 * API answered, mapped back from its name, or a transport error
 * (-ECONNRESET: dvm went away; -EPROTO: a reply that makes no sense).
 *
 * A client is one connection and is not thread-safe: use one per thread, or
 * a lock.  Calls block until their reply arrives.
 *
 * Events (guest-exit, ...) that arrive while a call waits for its reply are
 * queued, up to DVM_CLIENT_MAX_EVENTS; past that the oldest are dropped and
 * counted (dvm_client_events_dropped).
 *
 * Handles are the VM's: another client may close one and a new device may
 * take its number.  The client remembers which type each handle has (from
 * create_device or list-devices) to find sizes; it forgets a handle it
 * closes itself or that the server calls EBADF.  A GET whose reply does not
 * have the expected size fails with -EPROTO and leaves the caller's memory
 * untouched.
 */
#ifndef DVM_CLIENT_H
#define DVM_CLIENT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DVM_CLIENT_MAX_EVENTS 64
#define DVM_CLIENT_MAX_REPLY (64u << 20) /* bytes in one reply line */

struct dvm_client;

int dvm_client_connect(const char *path, struct dvm_client **out);
void dvm_client_close(struct dvm_client *c);

/* KVM_CREATE_DEVICE: cd->type; KVM_CREATE_DEVICE_TEST in cd->flags only asks
 * whether the type can be created (cd->fd untouched). */
int dvm_client_create_device(struct dvm_client *c, struct kvm_create_device *cd);
int dvm_client_close_device(struct dvm_client *c, int handle);
/* KVM_{SET,GET,HAS}_DEVICE_ATTR on a handle. */
int dvm_client_set_attr(struct dvm_client *c, int handle, const struct kvm_device_attr *attr);
int dvm_client_get_attr(struct dvm_client *c, int handle, const struct kvm_device_attr *attr);
int dvm_client_has_attr(struct dvm_client *c, int handle, const struct kvm_device_attr *attr);

int dvm_client_pause(struct dvm_client *c);
int dvm_client_resume(struct dvm_client *c);
int dvm_client_quit(struct dvm_client *c);

/*
 * Any command: args_json is a JSON object's text (NULL: no arguments).  On
 * success *result_json (may be NULL if not wanted) receives the result
 * object's text, malloc'd.  On an error reply, the negative errno, and
 * dvm_client_last_error() says the server's message.
 */
int dvm_client_call(struct dvm_client *c, const char *cmd, const char *args_json,
		    char **result_json);
/* The message of the last error (server's or the client's own); "" if none. */
const char *dvm_client_last_error(const struct dvm_client *c);
/* Whether the last error was the server's answer (the VM said no) rather
 * than the client's own (the connection, a bad reply). */
bool dvm_client_error_is_remote(const struct dvm_client *c);

/* The oldest queued event's text (malloc'd) into *event_json; -EAGAIN when
 * none is queued.  wait_ms > 0 waits that long for one to arrive; < 0 forever. */
int dvm_client_next_event(struct dvm_client *c, char **event_json, int wait_ms);
unsigned long dvm_client_events_dropped(const struct dvm_client *c);

/* "ENXIO" -> ENXIO (positive), 0 when unknown. */
int dvm_client_errno_from_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif
