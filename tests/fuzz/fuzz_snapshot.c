/* SPDX-License-Identifier: MIT */
/*
 * The snapshot reader on arbitrary state files.  The input is the state
 * file; when its first byte is odd the harness fixes up the two CRC-32s
 * (and the body length) first, so the fuzzer gets past the checksums into
 * the record parser and the restore itself.  Guest memory is a zero file of
 * the size the header asks for, if that is small.  Oracle: no crash, no
 * leak; a restore that succeeds gives a VM that can be shut down.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dvm/device.h"
#include "dvm/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void write_file(const char *name, const void *p, size_t len, uint64_t truncate_to)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (len && write(fd, p, len) != (ssize_t)len)
		abort();
	if (truncate_to && ftruncate(fd, (off_t)truncate_to))
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once) {
		once = 1;
		dvm_register_builtin_devices();
		snprintf(dir, sizeof(dir), "/tmp/dvm-fuzz-snapshot-%d", (int)getpid());
		mkdir(dir, 0700);
	}
	if (size < 1)
		return 0;
	uint8_t *state = malloc(size);
	memcpy(state, data + 1, size - 1);
	size_t len = size - 1;
	uint64_t mem_size = 0;
	if (len >= 64) {
		memcpy(&mem_size, state + 16, 8);
		if (data[0] & 1) {
			uint32_t body = (uint32_t)(len - 64);
			memcpy(state + 28, &body, 4);
			uint32_t crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), state + 64, body);
			memcpy(state + 32, &crc, 4);
			crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), state, 60);
			memcpy(state + 60, &crc, 4);
		}
	}
	write_file("state", state, len, 0);
	/* A sparse zero file: cheap whatever its size, up to 64 MiB. */
	write_file("memory", NULL, 0, mem_size <= (64u << 20) ? mem_size : 4096);
	free(state);

	struct dvm_restored r;
	char err[256];
	if (dvm_snapshot_restore(dir, DVM_VM_NO_KVM, DVM_RESTORE_NO_VERIFY, &r, err, sizeof(err)) ==
	    0) {
		dvm_restored_free(&r);
		dvm_vm_shutdown(r.vm);
	}
	return 0;
}
