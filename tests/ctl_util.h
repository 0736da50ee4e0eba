/* SPDX-License-Identifier: MIT */
/* Shared by the control-socket tests: a server on a VM without /dev/kvm,
 * in a private temporary directory. */
#ifndef DVM_TESTS_CTL_UTIL_H
#define DVM_TESTS_CTL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dvm/ctl.h"
#include "dvm/device.h"
#include "dvm/vm.h"

struct ctl_fx {
	struct dvm_vm *vm;
	struct dvm_ctl_server *srv;
	char dir[64];
	char path[128];
};

static inline struct ctl_fx *ctl_fx_new(void)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20, .flags = DVM_VM_NO_KVM};
	struct ctl_fx *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	dvm_register_builtin_devices();
	snprintf(f->dir, sizeof(f->dir), "/tmp/dvm-ctl-test.XXXXXX");
	if (!mkdtemp(f->dir) || dvm_vm_create(&cfg, &f->vm)) {
		free(f);
		return NULL;
	}
	dvm_vm_set_console(f->vm, -1, -1);
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	if (dvm_ctl_server_start(f->vm, f->path, &f->srv)) {
		dvm_vm_shutdown(f->vm);
		free(f);
		return NULL;
	}
	return f;
}

static inline void ctl_fx_free(struct ctl_fx *f)
{
	dvm_ctl_server_stop(f->srv);
	dvm_vm_shutdown(f->vm);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
}

/* A raw connection (blocking), -1 on failure. */
static inline int ctl_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int ctl_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line (malloc'd, without the newline), or NULL on EOF/error or after
 * 10 s without a byte: a test never hangs. */
static inline char *ctl_recv_line(int fd)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);

	while (buf) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char ch;
		if (poll(&p, 1, 10000) <= 0 || recv(fd, &ch, 1, 0) != 1) {
			free(buf);
			return NULL;
		}
		if (ch == '\n') {
			buf[len] = '\0';
			return buf;
		}
		if (len + 2 > cap) {
			char *n = realloc(buf, cap *= 2);
			if (!n)
				free(buf);
			buf = n;
			if (!buf)
				return NULL;
		}
		buf[len++] = ch;
	}
	return NULL;
}

#endif
