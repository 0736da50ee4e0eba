/* SPDX-License-Identifier: MIT */
/*
 * Live migration: the snapshot's device state and guest memory sent over a
 * stream socket while the guest runs (pre-copy over KVM dirty-page logging),
 * then stop-and-copy of the last dirty pages and the device state.
 *
 * The stream, all little-endian:
 *
 *   header, 32 bytes
 *     0  "DVMMIGR\n"
 *     8  u32 version (DVM_MIGRATE_VERSION)
 *    12  u32 header size (32)
 *    16  u64 guest RAM size (bytes, whole pages)
 *    24  u32 flags (0)
 *    28  u32 CRC-32 of bytes 0..27
 *   then records, each a 24-byte header and a payload
 *     0  u32 type (DVM_MIG_PAGES, DVM_MIG_STATE, DVM_MIG_END)
 *     4  u32 payload length
 *     8  u64 argument (PAGES: the round; END: the pages sent in all)
 *    16  u32 CRC-32 of the payload
 *    20  u32 CRC-32 of bytes 0..19
 *   PAGES: entries of u64 RAM offset (page-aligned; bit 0 set: the page is
 *          zero and no bytes follow) and otherwise 4096 bytes.  RAM offset
 *          is the order of dvm_vm_dirty_log_get(): GPA below 3 GiB, then
 *          from 4 GiB.  At most DVM_MIG_MAX_PAGES_LEN bytes.
 *   STATE: a snapshot's `state` file (include/dvm/snapshot.h), exactly once.
 *   END:   empty; the last record.
 *
 * The destination answers with one line: "running" once the VM has started
 * there, or "error ENAME message".  It checks every header and CRC, every
 * page offset, and the state (as dvm restore does) before it creates
 * anything; a truncated or foreign stream starts nothing.  The stream is
 * neither authenticated nor encrypted: use it on loopback or a trusted
 * link (the listener refuses a non-loopback TCP address).
 */
#ifndef DVM_MIGRATE_H
#define DVM_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "dvm/snapshot.h"
#include "dvm/vm.h"

#define DVM_MIGRATE_MAGIC "DVMMIGR\n"
#define DVM_MIGRATE_VERSION 1
#define DVM_MIG_HEADER_SIZE 32
#define DVM_MIG_REC_SIZE 24
#define DVM_MIG_PAGES 1
#define DVM_MIG_STATE 2
#define DVM_MIG_END 3
#define DVM_MIG_ZERO_PAGE 0x1ull
#define DVM_MIG_MAX_PAGES_LEN (256u * (8 + 4096))

struct dvm_migrate_opts {
	unsigned max_rounds;	  /* pre-copy rounds after the first full pass (0: 10) */
	uint64_t dirty_threshold; /* stop and copy below this many dirty pages (0: 256) */
	unsigned ack_timeout_ms;  /* for the destination's "running" (0: 30 s) */
	unsigned io_timeout_ms;	  /* per send (0: 10 s) */
};

struct dvm_migrate_stats {
	double total_ms;     /* connect to acknowledgement */
	double downtime_ms;  /* pause to the destination's "running" */
	uint64_t pages;	     /* page records sent (zero pages included) */
	uint64_t bytes;	     /* stream bytes */
	unsigned rounds;     /* pre-copy passes, the first full one included */
	uint64_t last_dirty; /* pages sent while paused */
	int dirty_log;	     /* 1 pre-copy used dirty logging; 0 everything sent paused */
};

/*
 * Send the running (or paused) VM to uri ("unix:PATH" or "tcp:HOST:PORT").
 * On success the source is stopped (DVM_STOP_MIGRATED, status 0, "migrated
 * to URI") only after the destination answered "running".  On any failure
 * the VM runs on as before (resumed) and -errno is returned with err saying
 * why.  Not on a vCPU thread.
 */
int dvm_migrate_send(struct dvm_vm *vm, const char *uri, const struct dvm_migrate_opts *opts,
		     struct dvm_migrate_stats *stats, char *err, size_t errlen);

/* Listen on uri (a unix socket is made 0600; an unanswered stale one is
 * replaced); the fd for dvm_migrate_accept().  TCP: loopback only. */
int dvm_migrate_listen(const char *uri, int *fd, char *err, size_t errlen);
/* Accept one connection and close the listener (a unix socket file is removed). */
int dvm_migrate_accept(int listen_fd, const char *uri, int *conn, char *err, size_t errlen);

/*
 * Read a whole stream from fd and build the VM from it (vm_flags as for
 * dvm_vm_create), ready for dvm_vm_start().  Nothing is created unless the
 * stream is complete and sound.  0 or -errno (-EINVAL: a bad stream; -EIO or
 * -ETIMEDOUT: it broke off) with err saying why.
 */
int dvm_migrate_receive(int fd, uint32_t vm_flags, struct dvm_restored *out, char *err,
			size_t errlen);
/* The answer to the source: "running" (ret 0) or "error ..." (ret < 0). */
int dvm_migrate_answer(int fd, int ret, const char *msg);

#endif
