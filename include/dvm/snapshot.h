/* SPDX-License-Identifier: MIT */
/*
 * Snapshot and restore, derived from the device schema with no per-device
 * save code: a snapshot is the VM's device list (type and instance, in
 * creation order) with the value of every readable and writable CONFIG and
 * STATE attribute, plus guest memory.  Restore creates the devices by type,
 * sets every CONFIG attribute, then every STATE attribute, in the saved
 * order, and maps guest memory copy-on-write from the snapshot.
 *
 * A snapshot is a directory with two files:
 *   state   a 64-byte header (magic, version, sizes, CRC-32s) and the device
 *           records; all little-endian
 *   memory  guest RAM, GPA order (0..3 GiB, then from 4 GiB); zero pages are
 *           holes
 * It is written to DIR.partial-PID-N and renamed to DIR only when complete and
 * synced, so an interrupted snapshot never looks like one.
 *
 * The header: magic[8] "DVMSNAP\n", u32 version, u32 header size (64),
 * u64 memory bytes, u32 devices, u32 body bytes, u32 body CRC, u32 memory
 * CRC, zeros, and at 60 the CRC of bytes 0..59.  All CRCs are zlib's CRC-32.
 * The versions differ only in the memory CRC:
 *   1  CRC-32 of the whole memory file, holes read as zeros (restore reads
 *      every byte of it)
 *   2  CRC-32 chained over the NON-ZERO 4 KiB pages in file order, each
 *      contributing its file offset (u64 LE) and then its 4096 bytes; zero
 *      pages contribute nothing, whether holes or written zeros.  Saving
 *      sums only the pages it writes; restore reads only the file's data
 *      extents (SEEK_DATA/SEEK_HOLE; the whole file where the file system
 *      can't say), so verifying costs what the guest touched.  A changed
 *      byte, a data page zeroed and a hole written all fail it.
 * dvm writes version 2 and restores both; any other version is refused.
 */
#ifndef DVM_SNAPSHOT_H
#define DVM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "dvm/vm.h"

#define DVM_SNAPSHOT_MAGIC "DVMSNAP\n"
#define DVM_SNAPSHOT_VERSION 2
#define DVM_SNAPSHOT_MAX_STATE (64u << 20) /* the state file, at most */

/*
 * Saves the VM into `dir` (created; an older snapshot there is replaced).
 * The vCPUs must not be running (pause first).  0 or -errno; `err` names
 * what failed, e.g. a device that can't be saved (kernel-backed kvm-vfio).
 */
int dvm_snapshot_save(struct dvm_vm *vm, const char *dir, char *err, size_t errlen);

/*
 * Progress of a save, for the control socket's events.  fn is called on the
 * saving thread, never after dvm_snapshot_save_progress() returns, with these
 * phases in this order:
 *   "state"   once: done 0, total the state file's bytes
 *   "memory"  done/total in bytes of guest RAM: done 0 at the start, about
 *             every 64 MiB, and done == total at the end
 *   "sync"    once, before the files are synced: done = total = RAM bytes
 *   "done"    once, after the snapshot has its name: done = total = RAM bytes
 * A save that fails stops calling it where it failed ("done" never comes).
 */
struct dvm_snapshot_progress {
	void (*fn)(void *arg, const char *phase, uint64_t done, uint64_t total);
	void *arg;
};

/* dvm_snapshot_save() with progress (NULL: none). */
int dvm_snapshot_save_progress(struct dvm_vm *vm, const char *dir,
			       const struct dvm_snapshot_progress *progress, char *err,
			       size_t errlen);

/* dvm_snapshot_restore() flags. */
#define DVM_RESTORE_NO_VERIFY                                                                      \
	0x1u /* skip the memory CRC (faster; header and state still checked) */

struct dvm_restored {
	struct dvm_vm *vm;
	unsigned nr;	 /* devices */
	int *handles;	 /* their handles, in creation order */
	uint32_t *types; /* and types */
};

/*
 * Checks the whole snapshot (header, CRCs, every record against the schema,
 * the memory file's size and CRC) before anything is created, then builds
 * the VM with vm_flags (DVM_VM_NO_KVM for tests) and restores it, ready for
 * dvm_vm_start().  0 or -errno with `err` saying why.
 */
int dvm_snapshot_restore(const char *dir, uint32_t vm_flags, unsigned flags,
			 struct dvm_restored *out, char *err, size_t errlen);
/*
 * The same from memory, for live migration: `state` is a state file's bytes
 * (header and device records, as dvm_snapshot_state() makes them) and
 * mem_fd a regular file (or memfd) of exactly the header's memory size,
 * mapped copy-on-write.  Checked whole before anything is created.
 */
int dvm_snapshot_restore_state(const uint8_t *state, size_t len, int mem_fd, uint32_t vm_flags,
			       unsigned flags, struct dvm_restored *out, char *err, size_t errlen);
/*
 * The state file's bytes for a paused VM, in a malloc'd buffer: what
 * dvm_snapshot_save() writes to DIR/state, except that the memory CRC is 0
 * (the memory travels separately; restore it with DVM_RESTORE_NO_VERIFY).
 */
int dvm_snapshot_state(struct dvm_vm *vm, uint8_t **state, size_t *len, char *err, size_t errlen);

/* Frees the handle list (not the VM). */
void dvm_restored_free(struct dvm_restored *r);

#endif
