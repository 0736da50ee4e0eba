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
 * The handover (version 2), one line each way after END, so that the guest
 * never runs in two places at once:
 *
 *   destination: checks every header and CRC, every page offset, and the
 *     state (as dvm restore does) and builds the VM, NOT started; then
 *     answers "ready", or "error ENAME message" and starts nothing.  A
 *     truncated or foreign stream starts nothing.
 *   source: on anything but "ready" (an error line, EOF, a timeout, its own
 *     VM stopped) it resumes: the destination never ran.  On "ready" it
 *     sends "go"; if that send fails the destination cannot have read it,
 *     and the source resumes.
 *   destination: waits at most DVM_MIGRATE_GO_TIMEOUT_MS for exactly "go".
 *     On EOF, a timeout or any other bytes it does NOT start the guest
 *     (dvm run --incoming exits 2).  On "go" it starts the VM and answers
 *     "running", or "error ..." if starting failed (it then stops).
 *   source, committed once "go" is sent: "running" -> it stops as
 *     migrated; "error ..." -> the destination did not start, it resumes;
 *     EOF, a timeout or anything else -> the outcome is unknown and it
 *     stays PAUSED (-EINPROGRESS): an operator resumes it (dvm ctl PATH
 *     resume) only after making sure the destination is not running.
 *
 * A version-1 peer is refused by the header check on either side (the
 * destination answers "error EINVAL migration stream version 1, ..."), and
 * a source refused before "go" resumes.  The stream is neither
 * authenticated nor encrypted: use it on loopback or a trusted link (the
 * listener refuses a non-loopback TCP address).
 */
#ifndef DVM_MIGRATE_H
#define DVM_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "dvm/snapshot.h"
#include "dvm/vm.h"

#define DVM_MIGRATE_MAGIC "DVMMIGR\n"
#define DVM_MIGRATE_VERSION 2
#define DVM_MIG_HEADER_SIZE 32
#define DVM_MIG_REC_SIZE 24
#define DVM_MIG_PAGES 1
#define DVM_MIG_STATE 2
#define DVM_MIG_END 3
#define DVM_MIG_ZERO_PAGE 0x1ull
#define DVM_MIG_MAX_PAGES_LEN (256u * (8 + 4096))
/* How long a destination that answered "ready" waits for "go". */
#define DVM_MIGRATE_GO_TIMEOUT_MS 30000u

struct dvm_migrate_stats;

struct dvm_migrate_opts {
	unsigned max_rounds;	  /* pre-copy rounds after the first full pass (0: 10) */
	uint64_t dirty_threshold; /* stop and copy below this many dirty pages (0: 256) */
	unsigned ack_timeout_ms;  /* for "ready", then for "running" (0: 30 s each) */
	unsigned io_timeout_ms;	  /* per send (0: 10 s) */
	/*
	 * Called on the migrating thread, never after dvm_migrate_send returns
	 * (NULL: none): "precopy" after each pre-copy round (st->dirty: the
	 * pages the guest dirtied during it), "stop-and-copy" once paused
	 * (st->dirty: the pages to send paused; every page without dirty
	 * logging), "handover" once END is sent and the source waits for
	 * "ready".
	 */
	void (*progress)(void *arg, const char *phase, const struct dvm_migrate_stats *st);
	void *progress_arg;
};

struct dvm_migrate_stats {
	double total_ms;     /* connect to acknowledgement */
	double downtime_ms;  /* pause to the destination's "running" */
	uint64_t pages;	     /* page records sent (zero pages included) */
	uint64_t bytes;	     /* stream bytes */
	unsigned rounds;     /* pre-copy passes, the first full one included */
	uint64_t last_dirty; /* pages sent while paused */
	int dirty_log;	     /* 1 pre-copy used dirty logging; 0 everything sent paused */
	uint64_t dirty;	     /* pages found dirty by the last round (see progress) */
};

/*
 * Send the running (or paused) VM to uri ("unix:PATH" or "tcp:HOST:PORT").
 * On success the source is stopped (DVM_STOP_MIGRATED, status 0, "migrated
 * to URI") only after the destination answered "running".  Otherwise
 * -errno with err saying why, and:
 *   -EINPROGRESS: the destination was told "go" but did not confirm (it
 *     closed, timed out or answered nonsense): it may be running.  The VM
 *     here stays paused (one pause, undone by dvm_vm_resume, i.e. dvm ctl
 *     PATH resume) and is never resumed by this function.
 *   any other error: the destination never started the guest; the VM runs
 *     on as before (resumed).
 * Not on a vCPU thread.
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
 * dvm_vm_create), NOT started.  Nothing is created unless the stream is
 * complete and sound.  0 or -errno (-EINVAL: a bad stream; -EIO or
 * -ETIMEDOUT: it broke off) with err saying why.  Then: dvm_migrate_ready(),
 * and only if it returns 0, dvm_vm_start() and dvm_migrate_answer().
 */
int dvm_migrate_receive(int fd, uint32_t vm_flags, struct dvm_restored *out, char *err,
			size_t errlen);
/*
 * Answer "ready" and wait at most timeout_ms for exactly "go".  0: start
 * the VM now.  Otherwise the guest must not start: -ETIMEDOUT, -ECONNRESET
 * (the source closed), -EPROTO (other bytes), or the send's error, with err
 * saying why.
 */
int dvm_migrate_ready(int fd, unsigned timeout_ms, char *err, size_t errlen);
/* "running" (ret 0; only after "go") or "error ENAME msg" (ret < 0; instead
 * of "ready", or after "go" when starting failed).  0 or -EPIPE. */
int dvm_migrate_answer(int fd, int ret, const char *msg);

#endif
