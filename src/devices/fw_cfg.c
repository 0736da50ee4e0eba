// SPDX-License-Identifier: MIT
/*
 * fw-cfg: QEMU's firmware configuration device, the traditional port I/O
 * interface (no DMA), written from the interface's documented layout and
 * from what QEMU 7.2 was seen to answer on ports 0x510/0x511.
 *
 * Like QEMU's combined I/O region, both ports behave alike: a 16-bit write
 * at the base selects an item and rewinds it, an 8-bit read at either port
 * returns the next byte of the selected item (0 once past its end or for a
 * selector with nothing behind it), and byte writes are ignored (QEMU
 * dropped write support).  Wider reads at the base consume nothing and read
 * 0; a wide read at base + 1 gets the next data byte in its low byte and
 * 0xff above (QEMU splits it at the device's end; the next ports are
 * empty).  Wider writes are ignored.  The write-channel bit (0x4000) of a
 * selector is ignored, as in QEMU; arch-local selectors (0x8000) have
 * nothing behind them.  The cursor starts at SIGNATURE, as after QEMU's
 * reset.
 *
 * Files are kept sorted by name, so their selectors (0x20 up) follow name
 * order as in QEMU's current machine types.  Boot items and files are
 * configuration, given before start; the cursor is the only state.
 *
 * Locking: one mutex guards the cursor, the items and the files.  The
 * DVM_FIELD() config rows are written by the core with atomic stores and
 * read here with atomic loads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dvm/device.h"
#include "dvm/devices/fw_cfg.h"
#include "dvm/vm.h"

#define NR_PORTS 2
#define ID_TRADITIONAL 1u /* FW_CFG_ID bit 0: the port interface; bit 1 (DMA) clear */

struct blob {
	uint8_t *data;
	uint32_t len;
};

struct file {
	char name[DVM_FW_CFG_NAME_SIZE];
	struct blob b;
};

struct fw_cfg {
	pthread_mutex_t lock;
	struct dvm_vm *vm;

	/* Configuration (DVM_FIELD rows). */
	uint16_t base;
	uint16_t nb_cpus;
	uint16_t max_cpus;
	uint64_t ram_size;

	/* Boot items by selector (only the settable ones are ever non-empty). */
	struct blob items[DVM_FW_CFG_FILE_FIRST];
	struct file files[DVM_FW_CFG_MAX_FILES]; /* sorted by name */
	unsigned nr_files;
	uint8_t *dir; /* FILE_DIR, rebuilt on each add */
	uint32_t dir_len;
	uint64_t total; /* bytes in items and files */

	/* State. */
	uint16_t selector;
	uint32_t offset;

	bool registered;
	uint16_t reg_base;
};

static const struct dvm_attr_desc fw_cfg_attrs[] = {
    {
	.group = DVM_FW_CFG_GRP_CONFIG,
	.attr = DVM_FW_CFG_CONFIG_BASE,
	.name = "base",
	DVM_FIELD(struct fw_cfg, base),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.def = DVM_FW_CFG_DEFAULT_BASE,
	.help = "selector port; the data port is base + 1",
    },
    {
	.group = DVM_FW_CFG_GRP_CONFIG,
	.attr = DVM_FW_CFG_CONFIG_NB_CPUS,
	.name = "nb-cpus",
	DVM_FIELD(struct fw_cfg, nb_cpus),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 1,
	.max = 0xffff,
	.def = 1,
	.help = "NB_CPUS item: CPUs at boot",
    },
    {
	.group = DVM_FW_CFG_GRP_CONFIG,
	.attr = DVM_FW_CFG_CONFIG_MAX_CPUS,
	.name = "max-cpus",
	DVM_FIELD(struct fw_cfg, max_cpus),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.min = 0,
	.max = 0xffff,
	.def = 0,
	.help = "MAX_CPUS item; 0: the same as nb-cpus (never below it)",
    },
    {
	.group = DVM_FW_CFG_GRP_CONFIG,
	.attr = DVM_FW_CFG_CONFIG_RAM_SIZE,
	.name = "ram-size",
	DVM_FIELD(struct fw_cfg, ram_size),
	.kind = DVM_ATTR_CONFIG,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_UINT,
	.def = 0,
	.help = "RAM_SIZE item in bytes (default: the VM's RAM size)",
    },
    /* Before the cursor: a restore sets rows in this order. */
    {
	.group = DVM_FW_CFG_GRP_CONTENT,
	.attr = 0,
	.count = DVM_FW_CFG_NR_KEYS,
	.name = "blob-meta",
	.size = sizeof(struct dvm_fw_cfg_blob_meta),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_BLOB,
	.help = "a boot item or file: name and size (attr = selector)",
    },
    {
	.group = DVM_FW_CFG_GRP_CONTENT_DATA,
	.attr = 0,
	.count = (uint64_t)DVM_FW_CFG_NR_KEYS << 16,
	.name = "blob-data",
	.size = DVM_FW_CFG_CHUNK,
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW | DVM_ATTR_BEFORE_START,
	.format = DVM_FMT_BLOB,
	.help = "4 KiB of a boot item or file (attr = selector << 16 | chunk)",
    },
    {
	.group = DVM_FW_CFG_GRP_STATE,
	.attr = DVM_FW_CFG_STATE_CURSOR,
	.name = "cursor",
	.size = sizeof(struct dvm_fw_cfg_state),
	.kind = DVM_ATTR_STATE,
	.access = DVM_ATTR_RW,
	.format = DVM_FMT_BLOB,
	.help = "selected item and read offset (struct dvm_fw_cfg_state)",
    },
    {
	.group = DVM_FW_CFG_GRP_COMMAND,
	.attr = DVM_FW_CFG_CMD_ADD_FILE,
	.name = "add-file",
	.size = sizeof(struct dvm_fw_cfg_file),
	.kind = DVM_ATTR_COMMAND,
	.access = DVM_ATTR_W | DVM_ATTR_BEFORE_START | DVM_ATTR_HOST_REF,
	.format = DVM_FMT_BLOB,
	.help = "add a named file, copying its bytes (struct dvm_fw_cfg_file)",
    },
    {
	.group = DVM_FW_CFG_GRP_COMMAND,
	.attr = DVM_FW_CFG_CMD_SET_ITEM,
	.name = "set-item",
	.size = sizeof(struct dvm_fw_cfg_item),
	.kind = DVM_ATTR_COMMAND,
	.access = DVM_ATTR_W | DVM_ATTR_BEFORE_START | DVM_ATTR_HOST_REF,
	.format = DVM_FMT_BLOB,
	.help = "set a kernel/initrd/cmdline/setup item by selector (struct dvm_fw_cfg_item)",
    },
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/*
 * The bytes behind a selector.  Built-in items are made from the config
 * into scratch (16 bytes), so a config change before start is seen at once.
 */
static struct blob item_view(struct fw_cfg *f, uint16_t key, uint8_t *scratch)
{
	uint16_t nb, max;

	if (key & DVM_FW_CFG_ARCH_LOCAL)
		return (struct blob){0};
	key &= (uint16_t)~DVM_FW_CFG_WRITE_CHANNEL;
	switch (key) {
	case DVM_FW_CFG_SIGNATURE:
		memcpy(scratch, "QEMU", 4);
		return (struct blob){scratch, 4};
	case DVM_FW_CFG_ID:
		put_le(scratch, ID_TRADITIONAL, 4);
		return (struct blob){scratch, 4};
	case DVM_FW_CFG_UUID:
		memset(scratch, 0, 16);
		return (struct blob){scratch, 16};
	case DVM_FW_CFG_RAM_SIZE:
		put_le(scratch, __atomic_load_n(&f->ram_size, __ATOMIC_RELAXED), 8);
		return (struct blob){scratch, 8};
	case DVM_FW_CFG_NOGRAPHIC:
		put_le(scratch, 1, 2); /* no display: serial console only */
		return (struct blob){scratch, 2};
	case DVM_FW_CFG_NB_CPUS:
		put_le(scratch, __atomic_load_n(&f->nb_cpus, __ATOMIC_RELAXED), 2);
		return (struct blob){scratch, 2};
	case DVM_FW_CFG_BOOT_MENU:
		put_le(scratch, 0, 2);
		return (struct blob){scratch, 2};
	case DVM_FW_CFG_MAX_CPUS:
		nb = __atomic_load_n(&f->nb_cpus, __ATOMIC_RELAXED);
		max = __atomic_load_n(&f->max_cpus, __ATOMIC_RELAXED);
		put_le(scratch, max ? max : nb, 2);
		return (struct blob){scratch, 2};
	case DVM_FW_CFG_FILE_DIR:
		return (struct blob){f->dir, f->dir_len};
	}
	if (key < DVM_FW_CFG_FILE_FIRST)
		return f->items[key];
	if (key - DVM_FW_CFG_FILE_FIRST < (int)f->nr_files)
		return f->files[key - DVM_FW_CFG_FILE_FIRST].b;
	return (struct blob){0};
}

/* Under the lock. */
static uint8_t next_byte(struct fw_cfg *f)
{
	uint8_t scratch[16];
	struct blob b = item_view(f, f->selector, scratch);

	if (f->offset >= b.len)
		return 0; /* past the end, or nothing selected: 0, offset stays */
	return b.data[f->offset++];
}

static void fw_cfg_io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct fw_cfg *f = opaque;
	uint8_t *p = data;

	memset(p, 0, len);
	pthread_mutex_lock(&f->lock);
	if (len == 1) {
		p[0] = next_byte(f);
	} else if (offset == 1) {
		/* Byte 0 is the data port; the ports after the device float high. */
		p[0] = next_byte(f);
		memset(p + 1, 0xff, len - 1);
	}
	pthread_mutex_unlock(&f->lock);
}

static void fw_cfg_io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct fw_cfg *f = opaque;
	const uint8_t *p = data;

	/* Only a 16-bit write that covers both ports selects. */
	if (len != 2 || offset != 0)
		return;
	pthread_mutex_lock(&f->lock);
	f->selector = (uint16_t)(p[0] | p[1] << 8);
	f->offset = 0;
	pthread_mutex_unlock(&f->lock);
}

static const struct dvm_io_ops fw_cfg_io_ops = {
    .read = fw_cfg_io_read,
    .write = fw_cfg_io_write,
};

/*
 * Copy from a host address the caller handed over inside a struct, without
 * trusting it: process_vm_readv on ourselves answers EFAULT for an unmapped
 * range instead of faulting (the kernel's copy_from_user, in user space).
 */
static int copy_from_host(void *dst, uint64_t src, size_t len)
{
	struct iovec local = {.iov_base = dst, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)src, .iov_len = len};
	ssize_t n;

	if (!len)
		return 0;
	if (src < 4096 || src + len < src || src + len > 0x0000800000000000ull)
		return -EFAULT;
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* A sandbox without the call: trust the pointer, as for the struct itself. */
		memcpy(dst, (const void *)(uintptr_t)src, len);
		return 0;
	}
	return -EFAULT;
}

static int blob_from_host(struct blob *b, uint64_t src, uint32_t len)
{
	int ret;

	b->data = NULL;
	b->len = 0;
	if (!len)
		return 0;
	b->data = malloc(len);
	if (!b->data)
		return -ENOMEM;
	ret = copy_from_host(b->data, src, len);
	if (ret) {
		free(b->data);
		b->data = NULL;
		return ret;
	}
	b->len = len;
	return 0;
}

/* Under the lock: FILE_DIR for the current file list. */
static int rebuild_dir(struct fw_cfg *f)
{
	uint32_t len = 4 + f->nr_files * (uint32_t)sizeof(struct dvm_fw_cfg_dir_entry);
	uint8_t *dir = calloc(1, len);

	if (!dir)
		return -ENOMEM;
	put_be(dir, f->nr_files, 4);
	for (unsigned i = 0; i < f->nr_files; i++) {
		uint8_t *e = dir + 4 + i * sizeof(struct dvm_fw_cfg_dir_entry);
		put_be(e, f->files[i].b.len, 4);
		put_be(e + 4, DVM_FW_CFG_FILE_FIRST + i, 2);
		memcpy(e + 8, f->files[i].name, DVM_FW_CFG_NAME_SIZE);
	}
	free(f->dir);
	f->dir = dir;
	f->dir_len = len;
	return 0;
}

static int add_file(struct fw_cfg *f, const struct dvm_fw_cfg_file *req)
{
	struct file nf = {0};
	unsigned pos;
	int ret;

	if (req->reserved || !req->name[0] || !memchr(req->name, 0, sizeof(req->name)))
		return -EINVAL;
	if (req->size > DVM_FW_CFG_MAX_BLOB)
		return -E2BIG;
	strcpy(nf.name, req->name); /* NUL within the array, checked above; rest stays 0 */

	pthread_mutex_lock(&f->lock);
	for (pos = 0; pos < f->nr_files; pos++) {
		int c = strcmp(nf.name, f->files[pos].name);
		if (c == 0) {
			ret = -EEXIST;
			goto out;
		}
		if (c < 0)
			break;
	}
	if (f->nr_files == DVM_FW_CFG_MAX_FILES || f->total + req->size > DVM_FW_CFG_MAX_TOTAL) {
		ret = -E2BIG;
		goto out;
	}
	ret = blob_from_host(&nf.b, req->data, req->size);
	if (ret)
		goto out;
	/* Selectors follow name order, so the ones after pos move up by one.
	 * Files are only added before start, when no guest holds a selector. */
	memmove(&f->files[pos + 1], &f->files[pos], (f->nr_files - pos) * sizeof(f->files[0]));
	f->files[pos] = nf;
	f->nr_files++;
	ret = rebuild_dir(f);
	if (ret) {
		memmove(&f->files[pos], &f->files[pos + 1],
			(f->nr_files - pos - 1) * sizeof(f->files[0]));
		f->nr_files--;
		free(nf.b.data);
		goto out;
	}
	f->total += nf.b.len;
out:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* Which boot items can be set, and whether they are QEMU's u32 values. */
static int item_kind(uint16_t selector)
{
	switch (selector) {
	case DVM_FW_CFG_KERNEL_ADDR:
	case DVM_FW_CFG_KERNEL_SIZE:
	case DVM_FW_CFG_KERNEL_CMDLINE:
	case DVM_FW_CFG_INITRD_ADDR:
	case DVM_FW_CFG_INITRD_SIZE:
	case DVM_FW_CFG_KERNEL_ENTRY:
	case DVM_FW_CFG_CMDLINE_ADDR:
	case DVM_FW_CFG_CMDLINE_SIZE:
	case DVM_FW_CFG_SETUP_ADDR:
	case DVM_FW_CFG_SETUP_SIZE:
		return 4;
	case DVM_FW_CFG_KERNEL_DATA:
	case DVM_FW_CFG_INITRD_DATA:
	case DVM_FW_CFG_CMDLINE_DATA:
	case DVM_FW_CFG_SETUP_DATA:
		return 1;
	}
	return 0;
}

static int set_item(struct fw_cfg *f, const struct dvm_fw_cfg_item *req)
{
	int kind = item_kind(req->selector);
	struct blob nb;
	int ret;

	if (req->reserved[0] || req->reserved[1] || req->reserved[2] || req->reserved2 || !kind)
		return -EINVAL;
	if (kind == 4 && req->size && req->size != 4)
		return -EINVAL;
	if (req->size > DVM_FW_CFG_MAX_BLOB)
		return -E2BIG;

	pthread_mutex_lock(&f->lock);
	struct blob *old = &f->items[req->selector];
	if (f->total - old->len + req->size > DVM_FW_CFG_MAX_TOTAL) {
		ret = -E2BIG;
		goto out;
	}
	ret = blob_from_host(&nb, req->data, req->size);
	if (ret)
		goto out;
	f->total = f->total - old->len + nb.len;
	free(old->data);
	*old = nb;
out:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static int state_restore(struct fw_cfg *f, const struct dvm_fw_cfg_state *s)
{
	uint8_t scratch[16];
	int ret = 0;

	if (s->version != DVM_FW_CFG_STATE_VERSION || s->reserved || s->reserved2)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	if (s->offset > item_view(f, s->selector, scratch).len) {
		ret = -EINVAL;
	} else {
		f->selector = s->selector;
		f->offset = s->offset;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* Under the lock: the blob behind a content key, or NULL. */
static struct blob *content_blob(struct fw_cfg *f, uint64_t key, const char **name)
{
	*name = "";
	if (key < DVM_FW_CFG_FILE_FIRST)
		return item_kind((uint16_t)key) && f->items[key].len ? &f->items[key] : NULL;
	if (key - DVM_FW_CFG_FILE_FIRST < f->nr_files) {
		struct file *fl = &f->files[key - DVM_FW_CFG_FILE_FIRST];
		*name = fl->name;
		return &fl->b;
	}
	return NULL;
}

static int content_get(struct fw_cfg *f, const struct kvm_device_attr *attr)
{
	void *addr = (void *)(uintptr_t)attr->addr;
	uint64_t key = attr->group == DVM_FW_CFG_GRP_CONTENT ? attr->attr : attr->attr >> 16;
	uint64_t chunk = attr->attr & 0xffff;
	const char *name;
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	struct blob *b = content_blob(f, key, &name);
	if (!b) {
		ret = -ENXIO; /* no such blob or chunk: the row has no attribute there */
	} else if (attr->group == DVM_FW_CFG_GRP_CONTENT) {
		struct dvm_fw_cfg_blob_meta m = {.size = b->len};
		strncpy(m.name, name, sizeof(m.name) - 1);
		memcpy(addr, &m, sizeof(m));
	} else if (chunk * DVM_FW_CFG_CHUNK >= b->len && !(chunk == 0 && b->len == 0)) {
		ret = -ENXIO; /* no such blob or chunk: the row has no attribute there */
	} else {
		uint8_t buf[DVM_FW_CFG_CHUNK] = {0};
		uint64_t off = chunk * DVM_FW_CFG_CHUNK;
		uint64_t n = b->len - off < DVM_FW_CFG_CHUNK ? b->len - off : DVM_FW_CFG_CHUNK;
		memcpy(buf, b->data + off, n);
		memcpy(addr, buf, sizeof(buf));
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* Restore: metadata makes a zeroed blob, data fills it (before start). */
static int content_set(struct fw_cfg *f, const struct kvm_device_attr *attr)
{
	const void *addr = (const void *)(uintptr_t)attr->addr;
	int ret;

	if (attr->group == DVM_FW_CFG_GRP_CONTENT) {
		struct dvm_fw_cfg_blob_meta m;
		memcpy(&m, addr, sizeof(m));
		if (m.reserved || !memchr(m.name, 0, sizeof(m.name)))
			return -EINVAL;
		if (m.size > DVM_FW_CFG_MAX_BLOB)
			return -E2BIG; /* before allocating what the caller asked for */
		uint8_t *zeros = calloc(1, m.size ? m.size : 1);
		if (!zeros)
			return -ENOMEM;
		if (attr->attr < DVM_FW_CFG_FILE_FIRST) {
			struct dvm_fw_cfg_item it = {.selector = (uint16_t)attr->attr,
						     .data = (uintptr_t)zeros,
						     .size = m.size};
			ret = m.name[0] ? -EINVAL : set_item(f, &it);
		} else {
			struct dvm_fw_cfg_file fl = {.data = (uintptr_t)zeros, .size = m.size};
			memcpy(fl.name, m.name, sizeof(fl.name));
			pthread_mutex_lock(&f->lock);
			/* Files come back in slot order, so each is the next one. */
			ret = attr->attr - DVM_FW_CFG_FILE_FIRST == f->nr_files ? 0 : -EINVAL;
			pthread_mutex_unlock(&f->lock);
			if (!ret)
				ret = add_file(f, &fl);
		}
		free(zeros);
		return ret;
	}
	uint64_t key = attr->attr >> 16, chunk = attr->attr & 0xffff;
	const char *name;
	pthread_mutex_lock(&f->lock);
	struct blob *b = content_blob(f, key, &name);
	uint64_t off = chunk * DVM_FW_CFG_CHUNK;
	if (!b || (off >= b->len && b->len)) {
		ret = -EINVAL;
	} else {
		uint64_t n = b->len - off < DVM_FW_CFG_CHUNK ? b->len - off : DVM_FW_CFG_CHUNK;
		if (n)
			memcpy(b->data + off, addr, n);
		ret = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* The content keys and chunks that exist, for a snapshot. */
static int fw_cfg_enumerate(struct dvm_device *dev, const struct dvm_attr_desc *d, uint64_t *attrs,
			    size_t max)
{
	struct fw_cfg *f = dev->private;
	size_t n = 0;
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	for (uint64_t key = 0; key < DVM_FW_CFG_NR_KEYS && !ret; key++) {
		const char *name;
		struct blob *b = content_blob(f, key, &name);
		if (!b)
			continue;
		uint64_t chunks = d->group == DVM_FW_CFG_GRP_CONTENT
				      ? 1
				      : (b->len + DVM_FW_CFG_CHUNK - 1) / DVM_FW_CFG_CHUNK;
		for (uint64_t c = 0; c < chunks; c++) {
			if (n == max) {
				ret = -E2BIG;
				break;
			}
			attrs[n++] = d->group == DVM_FW_CFG_GRP_CONTENT ? key : key << 16 | c;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return ret ? ret : (int)n;
}

static int fw_cfg_set_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct fw_cfg *f = dev->private;
	const void *addr = (const void *)(uintptr_t)attr->addr;

	if (attr->group == DVM_FW_CFG_GRP_STATE && attr->attr == DVM_FW_CFG_STATE_CURSOR) {
		struct dvm_fw_cfg_state s;
		memcpy(&s, addr, sizeof(s));
		return state_restore(f, &s);
	}
	if (attr->group == DVM_FW_CFG_GRP_CONTENT || attr->group == DVM_FW_CFG_GRP_CONTENT_DATA)
		return content_set(f, attr);
	if (attr->group == DVM_FW_CFG_GRP_COMMAND && attr->attr == DVM_FW_CFG_CMD_ADD_FILE) {
		struct dvm_fw_cfg_file req;
		memcpy(&req, addr, sizeof(req));
		return add_file(f, &req);
	}
	if (attr->group == DVM_FW_CFG_GRP_COMMAND && attr->attr == DVM_FW_CFG_CMD_SET_ITEM) {
		struct dvm_fw_cfg_item req;
		memcpy(&req, addr, sizeof(req));
		return set_item(f, &req);
	}
	return -ENXIO;
}

static int fw_cfg_get_attr(struct dvm_device *dev, const struct kvm_device_attr *attr)
{
	struct fw_cfg *f = dev->private;
	struct dvm_fw_cfg_state s = {.version = DVM_FW_CFG_STATE_VERSION};

	if (attr->group == DVM_FW_CFG_GRP_CONTENT || attr->group == DVM_FW_CFG_GRP_CONTENT_DATA)
		return content_get(f, attr);
	if (attr->group != DVM_FW_CFG_GRP_STATE || attr->attr != DVM_FW_CFG_STATE_CURSOR)
		return -ENXIO;
	pthread_mutex_lock(&f->lock);
	s.selector = f->selector;
	s.offset = f->offset;
	pthread_mutex_unlock(&f->lock);
	memcpy((void *)(uintptr_t)attr->addr, &s, sizeof(s));
	return 0;
}

/* Both ports inside the port space (E2BIG, as debug-exit); MAX_CPUS, when
 * given, not below NB_CPUS (QEMU's -smp rule). */
static int fw_cfg_check_attr(struct dvm_device *dev, const struct dvm_attr_desc *d, uint64_t value)
{
	struct fw_cfg *f = dev->private;
	uint64_t nb = d->attr == DVM_FW_CFG_CONFIG_NB_CPUS ? value : f->nb_cpus;
	uint64_t max = d->attr == DVM_FW_CFG_CONFIG_MAX_CPUS ? value : f->max_cpus;

	if (d->attr == DVM_FW_CFG_CONFIG_BASE && value + NR_PORTS > 0x10000)
		return -E2BIG;
	if (max && max < nb)
		return -EINVAL;
	return 0;
}

static int fw_cfg_create(struct dvm_device *dev)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->dir = calloc(1, 4); /* count 0 */
	if (!f->dir) {
		free(f);
		return -ENOMEM;
	}
	f->dir_len = 4;
	pthread_mutex_init(&f->lock, NULL);
	f->vm = dev->vm;
	f->base = DVM_FW_CFG_DEFAULT_BASE;
	f->nb_cpus = 1;
	f->ram_size = dvm_vm_mem_size(dev->vm);
	f->selector = DVM_FW_CFG_SIGNATURE;
	dev->private = f;
	return 0;
}

static int fw_cfg_start(struct dvm_device *dev)
{
	struct fw_cfg *f = dev->private;
	uint16_t base = __atomic_load_n(&f->base, __ATOMIC_RELAXED);
	int ret;

	if (f->registered)
		return 0;
	ret = dvm_bus_register(f->vm, DVM_BUS_PIO, base, NR_PORTS, &fw_cfg_io_ops, f);
	if (ret)
		return ret;
	f->registered = true;
	f->reg_base = base;
	return 0;
}

static void fw_cfg_destroy(struct dvm_device *dev)
{
	struct fw_cfg *f = dev->private;

	if (!f)
		return;
	if (f->registered)
		dvm_bus_unregister(f->vm, DVM_BUS_PIO, f->reg_base, f);
	for (unsigned i = 0; i < DVM_FW_CFG_FILE_FIRST; i++)
		free(f->items[i].data);
	for (unsigned i = 0; i < f->nr_files; i++)
		free(f->files[i].b.data);
	free(f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
	dev->private = NULL;
}

const struct dvm_device_ops dvm_fw_cfg_ops = {
    .name = "fw-cfg",
    .type = DVM_DEV_TYPE_FW_CFG,
    .flags = DVM_OPS_SINGLETON,
    .summary = "QEMU fw_cfg on ports 0x510/0x511: CPU and RAM counts, boot items, named files",
    .attrs = fw_cfg_attrs,
    .nr_attrs = sizeof(fw_cfg_attrs) / sizeof(fw_cfg_attrs[0]),
    .create = fw_cfg_create,
    .destroy = fw_cfg_destroy,
    .set_attr = fw_cfg_set_attr,
    .get_attr = fw_cfg_get_attr,
    .start = fw_cfg_start,
    .check_attr = fw_cfg_check_attr,
    .enumerate = fw_cfg_enumerate,
};
