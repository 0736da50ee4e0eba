// SPDX-License-Identifier: MIT
/* Snapshot and restore from the schema: see include/dvm/snapshot.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dvm/device.h"
#include "dvm/snapshot.h"
#include "snapshot/wire.h"

#define HEADER_SIZE 64
#define DEVICE_REC_SIZE 44 /* type, instance, name[32], nr_attrs */
#define ATTR_REC_SIZE 20   /* group, kind, attr (u64), size; then the bytes */
#define NAME_SIZE 32
#define MAX_DEVICES 1024
#define MAX_ROW_ATTRS 32768 /* a multi-attribute row (MSRs, fw-cfg's 4 KiB chunks) */
#define LOW_RAM_LIMIT 0xc0000000ull
#define HIGH_RAM_BASE 0x100000000ull
#define PAGE 4096

/* A growing byte buffer for the state file's body. */
struct buf {
	uint8_t *data;
	size_t len, cap;
};

static uint8_t *buf_take(struct buf *b, size_t n)
{
	if (b->len + n > DVM_SNAPSHOT_MAX_STATE)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return NULL;
		b->data = d;
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

/* What a snapshot keeps of a row: what can be read now and written back. */
static bool row_saved(const struct dvm_attr_desc *d)
{
	return (d->kind == DVM_ATTR_CONFIG || d->kind == DVM_ATTR_STATE) &&
	       (d->access & DVM_ATTR_RW) == DVM_ATTR_RW && !(d->access & DVM_ATTR_DERIVED);
}

static int save_attr(struct dvm_vm *vm, const struct dvm_device_id *id,
		     const struct dvm_attr_desc *d, uint64_t attr, struct buf *b, uint32_t *count,
		     char *err, size_t errlen)
{
	int ret = dvm_device_attr_by_type(vm, id->type, id->instance, KVM_HAS_DEVICE_ATTR, d->group,
					  attr, NULL);
	if (ret == -ENXIO)
		return 0; /* not on this host or in this configuration (xcrs, lapic) */
	if (ret)
		return fail(err, errlen, ret, "%s #%u: %s: %s", id->ops->name, id->instance,
			    d->name, strerror(-ret));
	uint8_t *rec = buf_take(b, ATTR_REC_SIZE + d->size);
	if (!rec)
		return fail(err, errlen, -E2BIG, "the device state exceeds %u MiB",
			    DVM_SNAPSHOT_MAX_STATE >> 20);
	put32(rec, d->group);
	put32(rec + 4, d->kind);
	put64(rec + 8, attr);
	put32(rec + 16, d->size);
	memset(rec + ATTR_REC_SIZE, 0, d->size);
	ret = dvm_device_attr_by_type(vm, id->type, id->instance, KVM_GET_DEVICE_ATTR, d->group,
				      attr, rec + ATTR_REC_SIZE);
	if (ret)
		return fail(err, errlen, ret, "%s #%u: reading %s (attr %#llx): %s", id->ops->name,
			    id->instance, d->name, (unsigned long long)attr, strerror(-ret));
	(*count)++;
	return 0;
}

static int save_device(struct dvm_vm *vm, const struct dvm_device_id *id, struct buf *b, char *err,
		       size_t errlen)
{
	const struct dvm_device_ops *ops = id->ops;
	uint32_t count = 0;
	size_t at;
	int ret = 0;

	if (ops->flags & DVM_OPS_PASSTHROUGH)
		return fail(err, errlen, -EOPNOTSUPP,
			    "%s #%u can't be saved: it is kernel-backed and its state stays in the "
			    "kernel",
			    ops->name, id->instance);
	uint8_t *rec = buf_take(b, DEVICE_REC_SIZE);
	if (!rec)
		return fail(err, errlen, -E2BIG, "the device state is too large");
	at = (size_t)(rec - b->data);
	put32(rec, id->type);
	put32(rec + 4, id->instance);
	memset(rec + 8, 0, NAME_SIZE);
	strncpy((char *)rec + 8, ops->name, NAME_SIZE - 1);

	for (size_t i = 0; i < ops->nr_attrs && !ret; i++) {
		const struct dvm_attr_desc *d = &ops->attrs[i];
		uint64_t n = d->count ? d->count : 1;
		if (!row_saved(d))
			continue;
		if (n == 1) {
			ret = save_attr(vm, id, d, d->attr, b, &count, err, errlen);
			continue;
		}
		uint64_t *attrs = calloc(MAX_ROW_ATTRS, sizeof(*attrs));
		if (!attrs)
			return -ENOMEM;
		int k = dvm_device_enumerate_by_type(vm, id->type, id->instance, d, attrs,
						     MAX_ROW_ATTRS);
		if (k < 0)
			ret = fail(err, errlen, k, "%s #%u can't be saved: row %s can't be listed",
				   ops->name, id->instance, d->name);
		for (int j = 0; j < k && !ret; j++)
			ret = save_attr(vm, id, d, attrs[j], b, &count, err, errlen);
		free(attrs);
	}
	if (!ret)
		put32(b->data + at + 40, count);
	return ret;
}

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *q = p;
	while (len) {
		ssize_t n = write(fd, q, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		q += n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t at)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		at += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];
	uint64_t first;
	/* Most non-zero pages differ in their first word: no call for those. */
	memcpy(&first, p, sizeof(first));
	return !first && memcmp(p, zero, PAGE) == 0;
}

/* The v2 memory checksum's step for one non-zero page: its file offset
 * (u64 LE), then its bytes. */
static uLong crc_page(uLong sum, uint64_t off, const uint8_t *page)
{
	uint8_t le[8];
	put64(le, off);
	sum = crc32(sum, le, sizeof(le));
	return crc32(sum, page, PAGE);
}

static void report(const struct dvm_snapshot_progress *p, const char *phase, uint64_t done,
		   uint64_t total)
{
	if (p && p->fn)
		p->fn(p->arg, phase, done, total);
}

#define PROGRESS_STEP (64ull << 20) /* "memory" progress, about this often */
#define WRITE_RUN (1u << 20)	    /* non-zero pages written together, at most */

/*
 * Guest RAM in GPA order; zero pages become holes, runs of non-zero pages
 * go out in one write.  Returns the v2 checksum, over the written pages only.
 */
static int save_memory(struct dvm_vm *vm, int fd, const struct dvm_snapshot_progress *progress,
		       uint32_t *crc_out)
{
	uint64_t size = dvm_vm_mem_size(vm);
	uint64_t low = size < LOW_RAM_LIMIT ? size : LOW_RAM_LIMIT;
	uLong sum = crc32(0, Z_NULL, 0);
	uint64_t off = 0, next_report = PROGRESS_STEP;
	int ret;

	report(progress, "memory", 0, size);
	for (int part = 0; part < 2; part++) {
		uint64_t len = part ? size - low : low;
		const uint8_t *m =
		    len ? dvm_vm_gpa_to_hva(vm, part ? HIGH_RAM_BASE : 0, len) : NULL;
		if (len && !m)
			return -EFAULT;
		for (uint64_t i = 0; i < len;) {
			uint64_t run = 0;
			while (i + run < len && run < WRITE_RUN && !page_is_zero(m + i + run)) {
				sum = crc_page(sum, off + run, m + i + run);
				run += PAGE;
			}
			if (run) {
				ret = pwrite_all(fd, m + i, (size_t)run, off);
				if (ret)
					return ret;
			} else {
				run = PAGE;
			}
			i += run;
			off += run;
			if (off >= next_report && off < size) {
				report(progress, "memory", off, size);
				next_report = (off / PROGRESS_STEP + 1) * PROGRESS_STEP;
			}
		}
	}
	if (ftruncate(fd, (off_t)size))
		return -errno;
	report(progress, "memory", size, size);
	*crc_out = (uint32_t)sum;
	return 0;
}

static void sync_parent(const char *dir)
{
	char parent[PATH_MAX + 32];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* best effort: the snapshot is complete either way */
		close(fd);
	}
}

static void remove_tree(const char *dir)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/memory", dir);
	unlink(path);
	rmdir(dir);
}

static int write_file(const char *dir, const char *name, int *fd_out)
{
	char path[PATH_MAX + 16];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	*fd_out = fd;
	return 0;
}

/* Every device's records, in creation order; *nr the number of devices. */
static int collect_body(struct dvm_vm *vm, struct buf *body, uint32_t *nr_out, char *err,
			size_t errlen)
{
	struct dvm_device_id *ids = calloc(MAX_DEVICES, sizeof(*ids));
	int nr, ret = 0;

	if (!ids)
		return -ENOMEM;
	if (dvm_vm_state(vm) == DVM_VM_RUNNING) {
		free(ids);
		return fail(err, errlen, -EBUSY, "the vCPUs are running: pause first");
	}
	nr = dvm_vm_list_devices(vm, ids, MAX_DEVICES);
	if (nr < 0) {
		free(ids);
		return fail(err, errlen, nr, "more than %d devices", MAX_DEVICES);
	}
	for (int i = 0; i < nr && !ret; i++)
		ret = save_device(vm, &ids[i], body, err, errlen);
	free(ids);
	*nr_out = (uint32_t)nr;
	return ret;
}

static void fill_header(uint8_t *hdr, uint64_t mem_size, uint32_t nr, const struct buf *body,
			uint32_t mem_crc)
{
	memset(hdr, 0, HEADER_SIZE);
	memcpy(hdr, DVM_SNAPSHOT_MAGIC, 8);
	put32(hdr + 8, DVM_SNAPSHOT_VERSION);
	put32(hdr + 12, HEADER_SIZE);
	put64(hdr + 16, mem_size);
	put32(hdr + 24, nr);
	put32(hdr + 28, (uint32_t)body->len);
	put32(hdr + 32, crc(body->data, body->len));
	put32(hdr + 36, mem_crc);
	put32(hdr + 60, crc(hdr, 60));
}

int dvm_snapshot_state(struct dvm_vm *vm, uint8_t **state, size_t *len, char *err, size_t errlen)
{
	struct buf b = {0};
	uint32_t nr = 0;
	int ret;

	*state = NULL;
	*len = 0;
	/* Room for the header first; the body follows it in the same buffer. */
	if (!buf_take(&b, HEADER_SIZE))
		return -ENOMEM;
	ret = collect_body(vm, &b, &nr, err, errlen);
	if (ret) {
		free(b.data);
		return ret;
	}
	struct buf body = {.data = b.data + HEADER_SIZE, .len = b.len - HEADER_SIZE};
	fill_header(b.data, dvm_vm_mem_size(vm), nr, &body, 0);
	*state = b.data;
	*len = b.len;
	return 0;
}

int dvm_snapshot_save(struct dvm_vm *vm, const char *dir, char *err, size_t errlen)
{
	return dvm_snapshot_save_progress(vm, dir, NULL, err, errlen);
}

int dvm_snapshot_save_progress(struct dvm_vm *vm, const char *dir,
			       const struct dvm_snapshot_progress *progress, char *err,
			       size_t errlen)
{
	struct buf body = {0};
	char tmp[PATH_MAX + 32], old[PATH_MAX + 32];
	int ret, mem_fd = -1, state_fd = -1;
	uint32_t mem_crc = 0, nr = 0;
	uint64_t mem_size = dvm_vm_mem_size(vm);

	if (strlen(dir) >= PATH_MAX)
		return fail(err, errlen, -ENAMETOOLONG, "snapshot path too long");
	ret = collect_body(vm, &body, &nr, err, errlen);
	if (ret)
		goto out;
	report(progress, "state", 0, HEADER_SIZE + body.len);

	/* Two saves at once in one process (SIGUSR2 and the socket) get names
	 * of their own. */
	static unsigned saves;
	unsigned seq = __atomic_add_fetch(&saves, 1, __ATOMIC_RELAXED);
	if (snprintf(tmp, sizeof(tmp), "%s.partial-%d-%u", dir, (int)getpid(), seq) >=
		(int)sizeof(tmp) ||
	    snprintf(old, sizeof(old), "%s.old-%d-%u", dir, (int)getpid(), seq) >=
		(int)sizeof(old)) {
		ret = fail(err, errlen, -ENAMETOOLONG, "snapshot path too long");
		goto out;
	}
	remove_tree(tmp);
	if (mkdir(tmp, 0700)) {
		ret = fail(err, errlen, -errno, "creating %s: %s", tmp, strerror(errno));
		goto out;
	}
	ret = write_file(tmp, "memory", &mem_fd);
	if (!ret)
		ret = save_memory(vm, mem_fd, progress, &mem_crc);
	if (ret) {
		fail(err, errlen, ret, "writing guest memory: %s", strerror(-ret));
		goto out_tmp;
	}

	uint8_t hdr[HEADER_SIZE];
	fill_header(hdr, mem_size, nr, &body, mem_crc);
	ret = write_file(tmp, "state", &state_fd);
	if (!ret)
		ret = write_all(state_fd, hdr, sizeof(hdr));
	if (!ret && body.len)
		ret = write_all(state_fd, body.data, body.len);
	if (ret) {
		fail(err, errlen, ret, "writing the device state: %s", strerror(-ret));
		goto out_tmp;
	}
	/* Both files on disk before the name says the snapshot is there. */
	report(progress, "sync", mem_size, mem_size);
	if (fsync(mem_fd) || fsync(state_fd)) {
		ret = fail(err, errlen, -errno, "syncing the snapshot: %s", strerror(errno));
		goto out_tmp;
	}
	/* Only a complete snapshot gets the name; an older one is replaced. */
	bool had_old = rename(dir, old) == 0;
	if (rename(tmp, dir)) {
		ret = fail(err, errlen, -errno, "renaming %s to %s: %s", tmp, dir, strerror(errno));
		if (had_old)
			rename(old, dir);
		goto out_tmp;
	}
	if (had_old)
		remove_tree(old);
	sync_parent(dir); /* the rename itself survives a crash */
	report(progress, "done", mem_size, mem_size);
	goto out;
out_tmp:
	remove_tree(tmp);
out:
	if (mem_fd >= 0)
		close(mem_fd);
	if (state_fd >= 0)
		close(state_fd);
	free(body.data);
	return ret;
}

/* ---- restore ---- */

struct parsed_attr {
	const struct dvm_attr_desc *desc;
	uint64_t attr;
	const uint8_t *data;
};

struct parsed_device {
	const struct dvm_device_ops *ops;
	uint32_t instance;
	uint32_t nr_attrs;
	struct parsed_attr *attrs;
};

static uint8_t *read_state(const char *dir, size_t *len, char *err, size_t errlen, int *ret)
{
	char path[PATH_MAX + 16];
	struct stat st;
	uint8_t *data = NULL;
	size_t done = 0;

	snprintf(path, sizeof(path), "%s/state", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*ret = fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < HEADER_SIZE ||
	    (uint64_t)st.st_size > HEADER_SIZE + (uint64_t)DVM_SNAPSHOT_MAX_STATE) {
		*ret = fail(err, errlen, -EINVAL, "%s: not a dvm snapshot (size)", path);
		close(fd);
		return NULL;
	}
	data = malloc((size_t)st.st_size);
	while (data && done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	if (!data || done != (size_t)st.st_size) {
		free(data);
		*ret = fail(err, errlen, data ? -EIO : -ENOMEM, "%s: cannot read it", path);
		return NULL;
	}
	*len = done;
	return data;
}

/* Every record checked against the registered schemas before anything is made. */
static int parse_body(const uint8_t *p, size_t len, uint32_t nr, struct parsed_device *devs,
		      char *err, size_t errlen)
{
	size_t at = 0;

	for (uint32_t i = 0; i < nr; i++) {
		struct parsed_device *pd = &devs[i];
		char name[NAME_SIZE];
		if (len - at < DEVICE_REC_SIZE)
			return fail(err, errlen, -EINVAL, "device %u: truncated record", i);
		uint32_t type = get32(p + at);
		pd->instance = get32(p + at + 4);
		memcpy(name, p + at + 8, NAME_SIZE);
		name[NAME_SIZE - 1] = '\0';
		pd->nr_attrs = get32(p + at + 40);
		at += DEVICE_REC_SIZE;
		pd->ops = dvm_device_ops_by_type(type);
		if (!pd->ops || strcmp(pd->ops->name, name))
			return fail(err, errlen, -EINVAL,
				    "device %u: type %#x '%s' is not a type this dvm has", i, type,
				    name);
		if (pd->nr_attrs > len / ATTR_REC_SIZE)
			return fail(err, errlen, -EINVAL, "device %u (%s): bad attribute count", i,
				    name);
		pd->attrs = calloc(pd->nr_attrs ? pd->nr_attrs : 1, sizeof(*pd->attrs));
		if (!pd->attrs)
			return -ENOMEM;
		for (uint32_t j = 0; j < pd->nr_attrs; j++) {
			if (len - at < ATTR_REC_SIZE)
				return fail(err, errlen, -EINVAL, "%s #%u: truncated attribute %u",
					    name, pd->instance, j);
			uint32_t group = get32(p + at), kind = get32(p + at + 4);
			uint64_t attr = get64(p + at + 8);
			uint32_t size = get32(p + at + 16);
			at += ATTR_REC_SIZE;
			const struct dvm_attr_desc *d = dvm_attr_lookup(pd->ops, group, attr);
			if (!d || d->kind != kind || d->size != size || !row_saved(d))
				return fail(
				    err, errlen, -EINVAL,
				    "%s #%u: attribute %u/%#llx does not match the %s schema", name,
				    pd->instance, group, (unsigned long long)attr, name);
			if (len - at < size)
				return fail(err, errlen, -EINVAL, "%s #%u: %s: truncated value",
					    name, pd->instance, d->name);
			pd->attrs[j] =
			    (struct parsed_attr){.desc = d, .attr = attr, .data = p + at};
			at += size;
		}
	}
	if (at != len)
		return fail(err, errlen, -EINVAL, "%zu bytes after the last device", len - at);
	return 0;
}

#define VERIFY_CHUNK (4u << 20)

static int pread_all(int fd, uint8_t *p, size_t len, uint64_t at)
{
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO; /* an error, or the file shrank under us */
		p += n;
		at += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Version 1: CRC-32 of the whole file, holes read as zeros. */
static int verify_memory_v1(int fd, uint64_t size, uint32_t want, char *err, size_t errlen)
{
	uint8_t *chunk = malloc(VERIFY_CHUNK);
	uLong sum = crc32(0, Z_NULL, 0);

	if (!chunk)
		return -ENOMEM;
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < VERIFY_CHUNK ? (size_t)(size - done) : VERIFY_CHUNK;
		if (pread_all(fd, chunk, n, done)) {
			free(chunk);
			return fail(err, errlen, -EIO, "memory: short read at %#llx",
				    (unsigned long long)done);
		}
		sum = crc32(sum, chunk, (uInt)n);
		done += n;
	}
	free(chunk);
	if ((uint32_t)sum != want)
		return fail(err, errlen, -EINVAL, "memory: checksum mismatch (corrupted snapshot)");
	return 0;
}

/*
 * Version 2: the checksum over the non-zero pages (crc_page), read from the
 * file's data extents only; a page read as zero counts as a hole, so a file
 * system that keeps no holes gives the same sum.  Without SEEK_DATA, the
 * whole file is read.
 */
static int verify_memory_v2(int fd, uint64_t size, uint32_t want, char *err, size_t errlen)
{
	uint8_t *chunk = malloc(VERIFY_CHUNK);
	uLong sum = crc32(0, Z_NULL, 0);
	uint64_t pos = 0; /* page-aligned; everything below it is summed */
	bool seek = true;

	if (!chunk)
		return -ENOMEM;
	while (pos < size) {
		uint64_t start = pos, end = size;
		if (seek) {
			off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
			if (d < 0 && errno == ENXIO)
				break; /* holes to the end */
			if (d < 0) {
				seek = false; /* not supported here: read the rest */
			} else {
				off_t h = lseek(fd, d, SEEK_HOLE);
				start = (uint64_t)d & ~(uint64_t)(PAGE - 1);
				if (start < pos)
					start = pos;
				end =
				    h < 0 ? size : ((uint64_t)h + PAGE - 1) & ~(uint64_t)(PAGE - 1);
				if (start >= size)
					break;
				if (end > size)
					end = size;
				if (end <= start)
					end = start + PAGE; /* always make progress */
			}
		}
		while (start < end) {
			size_t n =
			    end - start < VERIFY_CHUNK ? (size_t)(end - start) : VERIFY_CHUNK;
			if (pread_all(fd, chunk, n, start)) {
				free(chunk);
				return fail(err, errlen, -EIO, "memory: short read at %#llx",
					    (unsigned long long)start);
			}
			for (size_t k = 0; k < n; k += PAGE)
				if (!page_is_zero(chunk + k))
					sum = crc_page(sum, start + k, chunk + k);
			start += n;
		}
		pos = end;
	}
	free(chunk);
	if ((uint32_t)sum != want)
		return fail(err, errlen, -EINVAL, "memory: checksum mismatch (corrupted snapshot)");
	return 0;
}

static int set_phase(struct dvm_restored *r, struct parsed_device *devs, uint32_t nr, uint32_t kind,
		     char *err, size_t errlen)
{
	for (uint32_t i = 0; i < nr; i++)
		for (uint32_t j = 0; j < devs[i].nr_attrs; j++) {
			const struct parsed_attr *a = &devs[i].attrs[j];
			if (a->desc->kind != kind)
				continue;
			int ret =
			    dvm_device_set(r->vm, r->handles[i], a->desc->group, a->attr, a->data);
			if (ret)
				return fail(err, errlen, ret,
					    "%s #%u: restoring %s (attr %#llx): %s",
					    devs[i].ops->name, devs[i].instance, a->desc->name,
					    (unsigned long long)a->attr, strerror(-ret));
		}
	return 0;
}

/* The state (header and body) from memory, checked whole; label names it
 * in errors ("DIR/state", "the migration stream"). */
static int restore_state(const uint8_t *state, size_t len, const char *label, int mem_fd,
			 uint32_t vm_flags, unsigned flags, struct dvm_restored *out, char *err,
			 size_t errlen)
{
	struct parsed_device *devs = NULL;
	uint32_t nr = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (len < HEADER_SIZE || len > HEADER_SIZE + (size_t)DVM_SNAPSHOT_MAX_STATE)
		return fail(err, errlen, -EINVAL, "%s: not a dvm snapshot (size)", label);
	if (memcmp(state, DVM_SNAPSHOT_MAGIC, 8))
		return fail(err, errlen, -EINVAL, "%s: not a dvm snapshot", label);
	if (get32(state + 60) != crc(state, 60))
		return fail(err, errlen, -EINVAL, "%s: header checksum mismatch", label);
	uint32_t version = get32(state + 8);
	if ((version != 1 && version != DVM_SNAPSHOT_VERSION) || get32(state + 12) != HEADER_SIZE)
		return fail(err, errlen, -EINVAL,
			    "%s: snapshot version %u, this dvm reads versions 1 to %u", label,
			    version, DVM_SNAPSHOT_VERSION);
	uint64_t mem_size = get64(state + 16);
	nr = get32(state + 24);
	if (get32(state + 28) != len - HEADER_SIZE || nr == 0 || nr > MAX_DEVICES ||
	    mem_size == 0 || (mem_size & (PAGE - 1)))
		return fail(err, errlen, -EINVAL, "%s: truncated or inconsistent header", label);
	if (get32(state + 32) != crc(state + HEADER_SIZE, len - HEADER_SIZE))
		return fail(err, errlen, -EINVAL, "%s: checksum mismatch (corrupted snapshot)",
			    label);
	devs = calloc(nr, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	ret = parse_body(state + HEADER_SIZE, len - HEADER_SIZE, nr, devs, err, errlen);
	if (ret)
		goto out;

	struct stat st;
	if (mem_fd < 0 || fstat(mem_fd, &st) || (uint64_t)st.st_size != mem_size) {
		ret = fail(err, errlen, -EINVAL,
			   "%s: guest memory missing or of the wrong size (want %llu bytes)", label,
			   (unsigned long long)mem_size);
		goto out;
	}
	if (!(flags & DVM_RESTORE_NO_VERIFY)) {
		ret = (version == 1 ? verify_memory_v1 : verify_memory_v2)(
		    mem_fd, mem_size, get32(state + 36), err, errlen);
		if (ret)
			goto out;
	}

	struct dvm_vm_config cfg = {
	    .mem_size = mem_size, .flags = vm_flags | DVM_VM_MEM_FILE, .mem_fd = mem_fd};
	ret = dvm_vm_create(&cfg, &out->vm);
	if (ret) {
		fail(err, errlen, ret, "cannot create the VM: %s", strerror(-ret));
		goto out;
	}
	out->handles = calloc(nr, sizeof(int));
	out->types = calloc(nr, sizeof(uint32_t));
	if (!out->handles || !out->types) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < nr; i++) {
		struct kvm_create_device cd = {.type = devs[i].ops->type};
		ret = dvm_create_device(out->vm, &cd);
		if (ret) {
			fail(err, errlen, ret, "creating %s #%u: %s", devs[i].ops->name,
			     devs[i].instance, strerror(-ret));
			goto out;
		}
		out->handles[i] = (int)cd.fd;
		out->types[i] = devs[i].ops->type;
		out->nr = i + 1;
		struct dvm_device *dev = dvm_device_from_handle(out->vm, (int)cd.fd);
		if (!dev || dev->instance != devs[i].instance) {
			ret = fail(err, errlen, -EINVAL,
				   "%s: instances out of order in the snapshot", devs[i].ops->name);
			goto out;
		}
	}
	ret = set_phase(out, devs, nr, DVM_ATTR_CONFIG, err, errlen);
	if (!ret)
		ret = set_phase(out, devs, nr, DVM_ATTR_STATE, err, errlen);
out:
	if (ret && out->vm) {
		dvm_vm_shutdown(out->vm);
		dvm_restored_free(out);
		out->vm = NULL;
	}
	for (uint32_t i = 0; devs && i < nr; i++)
		free(devs[i].attrs);
	free(devs);
	return ret;
}

int dvm_snapshot_restore_state(const uint8_t *state, size_t len, int mem_fd, uint32_t vm_flags,
			       unsigned flags, struct dvm_restored *out, char *err, size_t errlen)
{
	return restore_state(state, len, "state", mem_fd, vm_flags, flags, out, err, errlen);
}

int dvm_snapshot_restore(const char *dir, uint32_t vm_flags, unsigned flags,
			 struct dvm_restored *out, char *err, size_t errlen)
{
	uint8_t *state;
	size_t len = 0;
	int ret = 0, mem_fd = -1;
	char path[PATH_MAX + 16], label[PATH_MAX + 16];

	memset(out, 0, sizeof(*out));
	if (strlen(dir) >= PATH_MAX)
		return fail(err, errlen, -ENAMETOOLONG, "snapshot path too long");
	state = read_state(dir, &len, err, errlen, &ret);
	if (!state)
		return ret;
	snprintf(path, sizeof(path), "%s/memory", dir);
	snprintf(label, sizeof(label), "%s/state", dir);
	/* A missing memory file is reported after the state is found sound. */
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	ret = restore_state(state, len, label, mem_fd, vm_flags, flags, out, err, errlen);
	if (mem_fd >= 0)
		close(mem_fd); /* the mapping keeps the file */
	free(state);
	return ret;
}

void dvm_restored_free(struct dvm_restored *r)
{
	free(r->handles);
	free(r->types);
	r->handles = NULL;
	r->types = NULL;
	r->nr = 0;
}
