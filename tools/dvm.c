/* SPDX-License-Identifier: MIT */
/* dvm: the command line.  run, types, describe. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dvm/boot.h"
#include "dvm/cpuid.h"
#include "dvm/ctl.h"
#include "dvm/device.h"
#include "dvm/devices/acpi_pm.h"
#include "dvm/devices/cmos_rtc.h"
#include "dvm/devices/fw_cfg.h"
#include "dvm/devices/vcpu.h"
#include "dvm/migrate.h"
#include "dvm/snapshot.h"
#include "dvm/vm.h"

#define DEFAULT_MEMORY (128ull << 20)
#define DEFAULT_HALT_TIMEOUT_MS 1000
#define MAX_DEVICE_ARGS 64
#define MAX_MODULES 16
#define MAX_FW_CFG_ARGS DVM_FW_CFG_MAX_FILES

int dvm_ctl_main(int argc, char **argv); /* tools/ctl.c */

/* "EEXIST" for -EEXIST: the name the kernel API documents. */
static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "E?";
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("dvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(DVM_STATUS_USAGE);
}

/* ---- value parsing ---- */

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "64M", "1G", "4096", "512K". */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse a value for one schema row into buf (d->size bytes). */
static int parse_attr_value(const struct dvm_attr_desc *d, const char *s, uint8_t *buf, char *why,
			    size_t whylen)
{
	memset(buf, 0, d->size);
	switch (d->format) {
	case DVM_FMT_UINT: {
		uint64_t v;
		if (parse_u64(s, &v)) {
			snprintf(why, whylen, "'%s' is not a number", s);
			return -EINVAL;
		}
		if (d->size < 8 && v >> (d->size * 8)) {
			snprintf(why, whylen, "%s does not fit in %u bytes", s, d->size);
			return -EINVAL;
		}
		memcpy(buf, &v, d->size < 8 ? d->size : 8);
		return 0;
	}
	case DVM_FMT_BOOL:
		if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
			buf[0] = 1;
		else if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0") ||
			 !strcmp(s, "no"))
			buf[0] = 0;
		else {
			snprintf(why, whylen, "'%s' is not on/off", s);
			return -EINVAL;
		}
		return 0;
	case DVM_FMT_STRING:
		if (strlen(s) >= d->size) {
			snprintf(why, whylen, "longer than %u bytes", d->size - 1);
			return -EINVAL;
		}
		memcpy(buf, s, strlen(s));
		return 0;
	default: {
		size_t n = strlen(s);
		if (n % 2 || n / 2 > d->size) {
			snprintf(why, whylen, "expected up to %u bytes as hex digits", d->size);
			return -EINVAL;
		}
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
			if (hi < 0 || lo < 0) {
				snprintf(why, whylen, "not hex: '%s'", s);
				return -EINVAL;
			}
			buf[i] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	}
}

/* ---- devices ---- */

static int create_device(struct dvm_vm *vm, const struct dvm_device_ops *ops, int *handle)
{
	struct kvm_create_device cd = {.type = ops->type};
	int ret = dvm_create_device(vm, &cd);
	if (ret) {
		fprintf(stderr, "dvm: cannot create %s: %s (%s)\n", ops->name, strerror(-ret),
			errno_name(-ret));
		return ret;
	}
	*handle = (int)cd.fd;
	return 0;
}

/* "--device TYPE,name=value,...": create and configure through the schema. */
static int apply_device_arg(struct dvm_vm *vm, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	const struct dvm_device_ops *ops;
	int handle, ret = 0;

	if (!copy)
		return -ENOMEM;
	tok = strtok_r(copy, ",", &save);
	ops = tok ? dvm_device_ops_by_name(tok) : NULL;
	if (!ops) {
		fprintf(stderr, "dvm: --device %s: unknown device type '%s' (see `dvm types`)\n",
			arg, tok ? tok : "");
		free(copy);
		return -ENODEV;
	}
	ret = create_device(vm, ops, &handle);
	while (!ret && (tok = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(tok, '=');
		const struct dvm_attr_desc *d;
		char why[128] = "";
		if (!eq) {
			fprintf(stderr, "dvm: --device %s: '%s' is not name=value\n", arg, tok);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		d = dvm_attr_by_name(ops, tok);
		if (!d || (d->count > 1)) {
			fprintf(
			    stderr,
			    "dvm: --device %s: %s has no attribute '%s' (see `dvm describe %s`)\n",
			    arg, ops->name, tok, ops->name);
			ret = -ENXIO;
			break;
		}
		uint8_t *buf = calloc(1, d->size ? d->size : 1);
		if (!buf) {
			ret = -ENOMEM;
			break;
		}
		ret = parse_attr_value(d, eq + 1, buf, why, sizeof(why));
		if (ret)
			fprintf(stderr, "dvm: --device %s: %s: %s\n", arg, d->name, why);
		else {
			ret = dvm_device_set(vm, handle, d->group, d->attr, buf);
			if (ret)
				fprintf(stderr, "dvm: --device %s: setting %s=%s: %s (%s)\n", arg,
					d->name, eq + 1, strerror(-ret), errno_name(-ret));
		}
		free(buf);
	}
	free(copy);
	return ret;
}

/* ---- run ---- */

/* The default PC, in creation order (the irqchip before anything using it). */
static const uint32_t default_machine[] = {
    DVM_DEV_TYPE_PIC,	   DVM_DEV_TYPE_IOAPIC,	    DVM_DEV_TYPE_PIT,	  DVM_DEV_TYPE_SERIAL_8250,
    DVM_DEV_TYPE_I8042,	   DVM_DEV_TYPE_DEBUG_EXIT, DVM_DEV_TYPE_ACPI_PM, DVM_DEV_TYPE_CMOS_RTC,
    DVM_DEV_TYPE_PCI_HOST, DVM_DEV_TYPE_PC_TESTDEV, DVM_DEV_TYPE_FW_CFG,
};
#define NR_DEFAULT_DEVICES (sizeof(default_machine) / sizeof(default_machine[0]))

/* One --fw-cfg: a named file from a host file or a string. */
struct fw_cfg_arg {
	const char *spec;
	char name[DVM_FW_CFG_NAME_SIZE];
	char *file;   /* file=PATH, or NULL */
	char *string; /* string=STR, or NULL */
};

struct run_options {
	uint64_t memory;
	unsigned cpus;
	const char *devices[MAX_DEVICE_ARGS];
	unsigned nr_devices;
	const char *cmdline;
	const char *modules[MAX_MODULES];
	unsigned nr_modules;
	enum dvm_image_format format;
	uint64_t load_addr;
	const char *guest;
	int verbose;
	bool sync_exit;
	const char *cpu;	  /* --cpu feature list, or NULL */
	uint64_t halt_timeout_ms; /* 0: never */
	uint32_t without;	  /* bit i: leave default_machine[i] out (--without) */
	const char *snapshot_dir; /* --snapshot-dir: where SIGUSR2 (and --snapshot-on-exit) save */
	bool snapshot_on_exit;
	struct fw_cfg_arg fw_cfg[MAX_FW_CFG_ARGS];
	unsigned nr_fw_cfg;
	const char *api_sock; /* --api-sock PATH, or NULL */
	const char *incoming; /* --incoming URI: the machine comes from a migration */
	int answer_fd;	      /* with incoming: where "running" goes once started */
};

/*
 * "--fw-cfg name=NAME,file=PATH" or "name=NAME,string=STR", QEMU's -fw_cfg
 * syntax (",," is a literal comma in a value).  Bad syntax is a usage error.
 */
static void parse_fw_cfg_arg(const char *spec, struct fw_cfg_arg *out)
{
	char *copy = strdup(spec), *p = copy, *name = NULL;

	if (!copy)
		die_usage("out of memory");
	memset(out, 0, sizeof(*out));
	out->spec = spec;
	while (*p) {
		char *key = p, *val, *dst;
		size_t klen = strcspn(p, "=,");
		if (p[klen] != '=')
			die_usage("--fw-cfg %s: '%.*s' is not key=value", spec, (int)klen, key);
		key[klen] = '\0';
		val = dst = p + klen + 1;
		for (p = val; *p; p++) {
			if (*p == ',' && p[1] != ',')
				break;
			*dst++ = *p;
			if (*p == ',')
				p++; /* ",," */
		}
		if (*p)
			p++;
		*dst = '\0';
		char **slot = !strcmp(key, "name")     ? &name
			      : !strcmp(key, "file")   ? &out->file
			      : !strcmp(key, "string") ? &out->string
						       : NULL;
		if (!slot)
			die_usage("--fw-cfg %s: unknown key '%s' (expected name, file or string)",
				  spec, key);
		if (*slot)
			die_usage("--fw-cfg %s: %s= given twice", spec, key);
		*slot = val;
	}
	if (!name || !*name)
		die_usage("--fw-cfg %s: name=NAME is required", spec);
	if (strlen(name) >= DVM_FW_CFG_NAME_SIZE)
		die_usage("--fw-cfg %s: name '%s' is longer than %d characters", spec, name,
			  DVM_FW_CFG_NAME_SIZE - 1);
	if (!!(out->file && *out->file) + !!(out->string && *out->string) != 1)
		die_usage("--fw-cfg %s: give exactly one of file=PATH or string=STR (non-empty)",
			  spec);
	if (strncmp(name, "opt/", 4))
		fprintf(stderr, "dvm: warning: --fw-cfg name '%s' should start with opt/\n", name);
	strcpy(out->name, name);
	out->file = out->file ? strdup(out->file) : NULL;
	out->string = out->string ? strdup(out->string) : NULL;
	free(copy);
	if (!out->file && !out->string)
		die_usage("out of memory");
}

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: dvm run [OPTIONS] [GUEST]\n"
		"\n"
		"Build the default PC (pic, ioapic, pit, serial-8250 on COM1, i8042,\n"
		"debug-exit, acpi with its tables, cmos-rtc, pci-host, pc-testdev, fw-cfg,\n"
		"an MP table, vCPUs) and boot GUEST: a multiboot v1 image, an ELF64 image\n"
		"(entered in long mode), a Linux bzImage, or a flat binary (--format flat).\n"
		"Without GUEST, boots the bundled hello guest.\n"
		"\n"
		"  -m, --memory SIZE      guest RAM, e.g. 64M, 1G (default 128M)\n"
		"  -c, --cpus N           number of vCPUs (default 1); the first boots the\n"
		"                         guest, the others wait for INIT/SIPI\n"
		"      --cpu FEATURES     edit CPUID: [host,]{+NAME|-NAME|NAME=on|off},...\n"
		"                         e.g. -x2apic,+tsc-deadline; `--cpu help` lists\n"
		"                         the names and what this host offers\n"
		"  -d, --device SPEC      add a device: TYPE,attr=value,... (see dvm types,\n"
		"                         dvm describe TYPE); repeatable\n"
		"      --cmdline STR      kernel command line (multiboot, bzImage)\n"
		"      --append STR       the same as --cmdline\n"
		"      --module FILE      multiboot module (repeatable; 'FILE args' passes args)\n"
		"      --fw-cfg name=NAME,file=PATH\n"
		"      --fw-cfg name=NAME,string=STR\n"
		"                         add a file to fw-cfg (QEMU's -fw_cfg): the bytes of\n"
		"                         PATH, or STR without a NUL; NAME up to 55 characters,\n"
		"                         by convention under opt/; ',,' is a literal comma;\n"
		"                         repeatable (at most 64 files of up to 16 MiB)\n"
		"      --format FMT       elf64, multiboot, bzimage or flat (default: detect)\n"
		"      --load-addr ADDR   where a flat binary is loaded and entered\n"
		"                         (32-bit protected mode; default 0x100000)\n"
		"      --without TYPES    leave these default devices out (comma-separated,\n"
		"                         e.g. pit; not pic or ioapic: KVM makes them as one)\n"
		"      --incoming URI     no GUEST: receive a live migration on unix:PATH or\n"
		"                         tcp:127.0.0.1:PORT (dvm ctl ... migrate); start it once\n"
		"                         the source hands over (status 2 if it never does)\n"
		"      --snapshot-dir DIR SIGUSR2 saves a snapshot of the running VM to DIR\n"
		"                         (it replaces an older one; see dvm restore)\n"
		"      --snapshot-on-exit also save it when a signal (SIGINT, SIGTERM,\n"
		"                         SIGHUP, SIGQUIT) stops the VM\n"
		"      --halt-timeout SEC end the VM (status 8) once every vCPU has been\n"
		"                         halted with interrupts off for SEC seconds\n"
		"                         (default 1; 0: wait forever)\n"
		"      --machine FILE     a JSON machine file: the options above by name\n"
		"                         (\"cpus\": 2, \"devices\": [{\"type\": ...}], "
		"\"guest\"...);\n"
		"                         options on the command line win\n"
		"      --api-sock PATH    serve the control socket at PATH (mode 0600) while\n"
		"                         the VM runs; see `dvm ctl --help`\n"
		"  -v, --verbose          say why the VM stopped\n"
		"      --sync-exit        exit only after the kernel has destroyed the VM\n"
		"                         (by default a reaper process holds it past dvm's\n"
		"                         exit, as the kernel's teardown can take 5-30 ms)\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 guest powered off or reset; (V<<1)|1 guest wrote V to\n"
		"debug-exit; 2 bad usage, file or image; 4 host error; 6 guest crashed\n"
		"(fatal KVM exit, registers on stderr); 8 guest halted for good with\n"
		"interrupts off (see --halt-timeout); 128+N stopped by signal N.\n");
}

static void *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t done = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (!S_ISREG(st.st_mode))
			errno = EINVAL;
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	while (buf && done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			buf = NULL;
			if (n == 0)
				errno = EIO;
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return buf;
}

static char *default_guest_path(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/guests/hello.elf", exe);
			if (access(path, R_OK) == 0)
				return path;
			snprintf(path, sizeof(path), "%s/../share/dvm/guests/hello.elf", exe);
			if (access(path, R_OK) == 0)
				return path;
		}
	}
#ifdef DVM_BUILD_GUEST_DIR
	snprintf(path, sizeof(path), "%s/hello.elf", DVM_BUILD_GUEST_DIR);
	return path;
#else
	return NULL;
#endif
}

/* Put the loader's entry state on the boot vCPU, keeping what KVM set up
 * (APIC base, interrupt bitmap). */
static int apply_boot_state(struct dvm_vm *vm, int vcpu, const struct dvm_boot_state *bs)
{
	struct kvm_sregs s;
	int ret = dvm_device_get(vm, vcpu, DVM_VCPU_GRP_SREGS, 0, &s);

	if (ret)
		return ret;
	s.cs = bs->sregs.cs;
	s.ds = bs->sregs.ds;
	s.es = bs->sregs.es;
	s.fs = bs->sregs.fs;
	s.gs = bs->sregs.gs;
	s.ss = bs->sregs.ss;
	s.tr = bs->sregs.tr;
	s.ldt = bs->sregs.ldt;
	s.gdt = bs->sregs.gdt;
	s.idt = bs->sregs.idt;
	s.cr0 = bs->sregs.cr0;
	s.cr2 = bs->sregs.cr2;
	s.cr3 = bs->sregs.cr3;
	s.cr4 = bs->sregs.cr4;
	s.efer = bs->sregs.efer;
	ret = dvm_device_set(vm, vcpu, DVM_VCPU_GRP_SREGS, 0, &s);
	if (ret)
		return ret;
	return dvm_device_set(vm, vcpu, DVM_VCPU_GRP_REGS, 0, &bs->regs);
}

/* The guest image and modules, read before any VM exists so that a bad
 * file is a usage error on any host. */
struct guest_files {
	const char *path;
	void *image;
	size_t len;
	struct dvm_boot_module mods[MAX_MODULES];
	void *module_data[MAX_MODULES];
	unsigned nr_modules;
	void *fw_cfg_data[MAX_FW_CFG_ARGS]; /* --fw-cfg bytes, as o->fw_cfg[] */
	size_t fw_cfg_len[MAX_FW_CFG_ARGS];
};

static void free_guest_files(struct guest_files *g)
{
	for (unsigned i = 0; i < g->nr_modules; i++)
		free(g->module_data[i]);
	for (unsigned i = 0; i < MAX_FW_CFG_ARGS; i++)
		free(g->fw_cfg_data[i]);
	free(g->image);
}

/* The --fw-cfg bytes: a string as given (no NUL, as QEMU), or a file's contents. */
static int read_fw_cfg_files(const struct run_options *o, struct guest_files *g)
{
	for (unsigned i = 0; i < o->nr_fw_cfg; i++) {
		const struct fw_cfg_arg *a = &o->fw_cfg[i];
		struct stat st;

		if (a->string) {
			g->fw_cfg_len[i] = strlen(a->string);
			g->fw_cfg_data[i] = strdup(a->string);
			if (!g->fw_cfg_data[i])
				return -ENOMEM;
			continue;
		}
		/* Checked first so that a device or a huge file is never read. */
		if (stat(a->file, &st) == 0 &&
		    (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > DVM_FW_CFG_MAX_BLOB)) {
			fprintf(stderr, "dvm: --fw-cfg %s: '%s' %s\n", a->spec, a->file,
				S_ISREG(st.st_mode) ? "is larger than 16 MiB"
						    : "is not a regular file");
			return -EINVAL;
		}
		g->fw_cfg_data[i] = read_file(a->file, &g->fw_cfg_len[i]);
		if (!g->fw_cfg_data[i]) {
			fprintf(stderr, "dvm: --fw-cfg %s: cannot read '%s': %s\n", a->spec,
				a->file, strerror(errno));
			return -EINVAL;
		}
	}
	return 0;
}

static int read_guest_files(const struct run_options *o, struct guest_files *g)
{
	memset(g, 0, sizeof(*g));
	g->path = o->guest ? o->guest : default_guest_path();
	if (!g->path)
		die_usage("no GUEST given and no bundled guest found");
	g->image = read_file(g->path, &g->len);
	if (!g->image) {
		fprintf(stderr, "dvm: cannot read guest '%s': %s\n", g->path, strerror(errno));
		return -EINVAL;
	}
	if (o->format == DVM_IMAGE_UNKNOWN &&
	    dvm_image_detect(g->image, g->len) == DVM_IMAGE_UNKNOWN) {
		fprintf(stderr,
			"dvm: cannot load '%s': not a multiboot, ELF64 or bzImage image "
			"(a raw binary needs --format flat)\n",
			g->path);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->nr_modules; i++) {
		/* "FILE args": the file is the first word, the guest sees the whole string. */
		char file[PATH_MAX];
		snprintf(file, sizeof(file), "%s", o->modules[i]);
		char *sp = strchr(file, ' ');
		if (sp)
			*sp = '\0';
		g->module_data[i] = read_file(file, &g->mods[i].len);
		if (!g->module_data[i]) {
			fprintf(stderr, "dvm: cannot read module '%s': %s\n", file,
				strerror(errno));
			return -EINVAL;
		}
		g->nr_modules = i + 1;
		g->mods[i].name = o->modules[i];
		g->mods[i].data = g->module_data[i];
	}
	return read_fw_cfg_files(o, g);
}

static int load_guest(struct dvm_vm *vm, const struct run_options *o, const struct guest_files *g,
		      int boot_vcpu)
{
	struct dvm_boot_state bs;
	char err[256] = "";
	struct dvm_boot_params p = {
	    .image_path = g->path,
	    .cmdline = o->cmdline,
	    .modules = g->mods,
	    .nr_modules = g->nr_modules,
	    .flat_load_addr = o->load_addr,
	};
	uint64_t low = dvm_vm_mem_size(vm) < 0xc0000000ull ? dvm_vm_mem_size(vm) : 0xc0000000ull;
	struct dvm_guest_mem mem = {.host = dvm_vm_gpa_to_hva(vm, 0, low), .size = low};
	int ret;

	memset(&bs, 0, sizeof(bs));
	ret = dvm_load_image(&mem, g->image, g->len, &p, &bs, o->format, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "dvm: cannot load '%s': %s\n", g->path,
			err[0] ? err : strerror(-ret));
		return ret;
	}
	ret = apply_boot_state(vm, boot_vcpu, &bs);
	if (ret) {
		fprintf(stderr, "dvm: setting the boot CPU's entry state: %s\n", strerror(-ret));
		return -EIO;
	}
	return 0;
}

/* The MADT lists --cpus CPUs. */
static int set_acpi_cpus(struct dvm_vm *vm, int handle, unsigned cpus)
{
	uint16_t n = cpus > UINT16_MAX ? UINT16_MAX : (uint16_t)cpus;
	int ret = dvm_device_set(vm, handle, DVM_ACPI_PM_GRP_CONFIG, DVM_ACPI_PM_CONFIG_CPUS, &n);

	if (ret)
		fprintf(stderr, "dvm: --cpus %u: the ACPI tables describe at most 255 CPUs: %s\n",
			cpus, strerror(-ret));
	return ret;
}

/* The MP table, for guests that look for it; the ACPI tables do not need it,
 * so a CPU count it cannot hold only costs a warning. */
static void build_mptable(struct dvm_vm *vm, unsigned cpus)
{
	uint64_t low = dvm_vm_mem_size(vm) < 0xc0000000ull ? dvm_vm_mem_size(vm) : 0xc0000000ull;
	struct dvm_guest_mem mem = {.host = dvm_vm_gpa_to_hva(vm, 0, low), .size = low};
	char err[128] = "";

	if (dvm_mptable_build(&mem, cpus, 0, err, sizeof(err)))
		fprintf(stderr, "dvm: warning: no MP table: %s\n", err);
}

static struct dvm_vm *signal_vm;
static pthread_mutex_t signal_vm_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *signal_snapshot_dir; /* --snapshot-dir */
static bool signal_snapshot_on_exit;

/* Pause, save, and resume (the guest doesn't notice) or, for a stop, stop
 * while still paused, so the guest runs no further than the snapshot. */
static int take_snapshot(struct dvm_vm *vm, const char *dir, int stop_status, const char *stop_msg)
{
	char err[256] = "";
	int ret = dvm_vm_pause(vm);
	bool paused = ret == 0;

	if (ret) {
		fprintf(stderr, "dvm: snapshot: the VM is not running\n");
	} else {
		/* Control-socket clients see its progress as they would their own. */
		struct dvm_event_target t = {.vm = vm, .target = dir};
		struct dvm_snapshot_progress progress = {.fn = dvm_event_snapshot_progress,
							 .arg = &t};
		ret = dvm_snapshot_save_progress(vm, dir, &progress, err, sizeof(err));
		if (ret)
			fprintf(stderr, "dvm: snapshot to %s failed: %s\n", dir, err);
		else
			fprintf(stderr, "dvm: snapshot saved to %s\n", dir);
	}
	if (stop_msg)
		dvm_vm_request_stop(vm, DVM_STOP_SIGNAL, stop_status, stop_msg);
	if (paused)
		dvm_vm_resume(vm); /* after a stop this only balances the pause */
	return ret;
}

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;
	while (sigwait(set, &sig) == 0) {
		char msg[64];
		pthread_mutex_lock(&signal_vm_lock);
		if (sig == SIGUSR2) {
			if (!signal_snapshot_dir)
				fprintf(stderr, "dvm: SIGUSR2 ignored: no --snapshot-dir given\n");
			else if (signal_vm)
				take_snapshot(signal_vm, signal_snapshot_dir, 0, NULL);
			pthread_mutex_unlock(&signal_vm_lock);
			continue;
		}
		snprintf(msg, sizeof(msg), "stopped by signal %d (%s)", sig, strsignal(sig));
		if (signal_vm) {
			/* The state the guest was in when told to stop, kept for a restore. */
			if (signal_snapshot_on_exit && signal_snapshot_dir)
				take_snapshot(signal_vm, signal_snapshot_dir,
					      DVM_STATUS_SIGNAL_BASE + sig, msg);
			else
				dvm_vm_request_stop(signal_vm, DVM_STOP_SIGNAL,
						    DVM_STATUS_SIGNAL_BASE + sig, msg);
		}
		pthread_mutex_unlock(&signal_vm_lock);
	}
	return NULL;
}

static int build_and_run(struct dvm_vm *vm, const struct run_options *o,
			 const struct guest_files *g, bool *ran);

/*
 * Destroying a VM with an in-kernel irqchip and PIT takes the kernel 5-30 ms
 * on some hosts (each in-kernel device leaves KVM's I/O bus through an RCU
 * grace period), and it happens in the exit path of the process holding the
 * last VM fd.  A small reaper that shares our fd table (CLONE_FILES) holds
 * the VM's fds past our exit and dies with us (PR_SET_PDEATHSIG), so that
 * teardown runs after dvm has returned its status instead of before.
 */
#define REAPER_STACK_SIZE (64 * 1024)

/* Runs on the reaper's own small stack but in dvm's address space and
 * thread pointer: raw system calls only, nothing instrumented. */
__attribute__((no_sanitize("address", "undefined"))) static int reaper_main(void *arg)
{
	pid_t parent = (pid_t)(intptr_t)arg;
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
	if (syscall(SYS_getppid) != parent) /* dvm already gone */
		return 0;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

static bool defer_kvm_teardown(void)
{
#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer can't follow a CLONE_VM child on a raw stack. */
	return false;
#endif
	void *stack = mmap(NULL, REAPER_STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return false; /* not needed for correctness: exit just takes longer */
	/* CLONE_VM: no page tables to copy; the reaper only sleeps. */
	if (clone(reaper_main, (char *)stack + REAPER_STACK_SIZE, CLONE_VM | CLONE_FILES,
		  (void *)(intptr_t)getpid()) < 0) {
		munmap(stack, REAPER_STACK_SIZE);
		return false;
	}
	return true;
}

/* ---- CPU features ---- */

/* `--cpu help`: every name dvm knows, and whether this host offers it. */
static int cpu_help(void)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20};
	struct dvm_cpuid supported;
	struct dvm_vm *vm = NULL;
	bool known = dvm_vm_create(&cfg, &vm) == 0 && dvm_cpuid_supported(vm, &supported) == 0;

	printf("CPU features for --cpu (+NAME adds, -NAME removes; the default is\n"
	       "everything this host's KVM offers)%s:\n",
	       known ? "" : " -- /dev/kvm unavailable, so what the host offers is unknown");
	for (size_t i = 0; i < dvm_nr_cpu_features; i++) {
		const struct dvm_cpu_feature *f = &dvm_cpu_features[i];
		printf("  %-20s leaf %#x.%u %s bit %2u%s\n", f->name, f->function, f->index,
		       (const char *[]){"eax", "ebx", "ecx", "edx"}[f->reg], f->bit,
		       !known			      ? ""
		       : dvm_cpuid_has(&supported, f) ? "  offered"
						      : "  -");
	}
	if (vm)
		dvm_vm_shutdown(vm);
	return 0;
}

/* --cpu on every vCPU; the check against the host comes first, for a clear message. */
static int apply_cpu_features(struct dvm_vm *vm, const char *spec, const int *vcpus, unsigned n)
{
	struct dvm_cpuid supported, trial;
	char err[200] = "";
	int ret = dvm_cpuid_supported(vm, &supported);

	if (ret) {
		fprintf(stderr, "dvm: --cpu: cannot read the host's CPUID: %s\n", strerror(-ret));
		return DVM_STATUS_HOST_ERROR;
	}
	trial = supported;
	if (dvm_cpuid_edit(&trial, &supported, spec, err, sizeof(err))) {
		fprintf(stderr, "dvm: --cpu %s: %s\n", spec, err);
		return DVM_STATUS_USAGE;
	}
	char buf[DVM_VCPU_FEATURES_LEN] = "";
	snprintf(buf, sizeof(buf), "%s", spec);
	for (unsigned i = 0; i < n; i++) {
		ret = dvm_device_set(vm, vcpus[i], DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_FEATURES,
				     buf);
		if (ret) {
			fprintf(stderr, "dvm: --cpu %s: vCPU %u: %s (%s)\n", spec, i,
				strerror(-ret), errno_name(-ret));
			return DVM_STATUS_USAGE;
		}
	}
	return 0;
}

/* ---- halt watchdog ---- */

/* --halt-timeout SEC, in ms; a positive timeout never rounds down to "never". */
static uint64_t parse_halt_timeout(const char *arg)
{
	char *end;
	errno = 0;
	double sec = strtod(arg, &end);
	if (errno || end == arg || *end || !(sec >= 0) || sec > 86400 * 365)
		die_usage("--halt-timeout %s: expected seconds (0 = never)", arg);
	uint64_t ms = (uint64_t)(sec * 1000);
	return sec > 0 && ms == 0 ? 1 : ms;
}

/*
 * A guest that halts with interrupts off on every CPU can never run again
 * (dvm sends no NMIs): end it with status 8 instead of hanging forever.
 * vCPUs halted in the kernel can't be asked, so the VM is paused for a
 * moment at each look; APs still waiting for INIT/SIPI count as stuck, since
 * only a running CPU could start them.
 */
struct halt_watch {
	struct dvm_vm *vm;
	const int *vcpus;
	unsigned nr_vcpus;
	uint64_t timeout_ms;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	pthread_t thread;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 1: every vCPU halted with IF=0 or waiting for SIPI, and one halted;
 * 0: not; -1: couldn't look. */
static int all_halted(struct halt_watch *w, unsigned *which, uint64_t *rip)
{
	bool any_halted = false;

	for (unsigned i = 0; i < w->nr_vcpus; i++) {
		struct kvm_mp_state mp;
		struct kvm_regs regs;
		if (dvm_device_get(w->vm, w->vcpus[i], DVM_VCPU_GRP_MP_STATE, 0, &mp) ||
		    dvm_device_get(w->vm, w->vcpus[i], DVM_VCPU_GRP_REGS, 0, &regs))
			return -1;
		if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
		    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			continue;
		if (mp.mp_state != KVM_MP_STATE_HALTED || (regs.rflags & 0x200))
			return 0;
		if (!any_halted) {
			*which = i;
			*rip = regs.rip;
		}
		any_halted = true;
	}
	return any_halted;
}

static void *halt_watch_main(void *arg)
{
	struct halt_watch *w = arg;
	uint64_t period = w->timeout_ms / 4, since = 0, rip = 0;
	unsigned which = 0;

	if (period < 10)
		period = 10;
	if (period > 250)
		period = 250;
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(period * 1000000);
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&w->cond, &w->lock, &until);
		if (w->done)
			break;
		pthread_mutex_unlock(&w->lock);
		int stuck = -1;
		if (dvm_vm_pause(w->vm) == 0) {
			stuck = all_halted(w, &which, &rip);
			dvm_vm_resume(w->vm);
		}
		pthread_mutex_lock(&w->lock);
		if (stuck <= 0) {
			since = 0;
			continue;
		}
		if (!since)
			since = now_ms();
		else if (now_ms() - since >= w->timeout_ms) {
			char msg[160];
			snprintf(msg, sizeof(msg),
				 "guest halted with interrupts off on every vCPU for %.3g s "
				 "(vCPU %u at rip %#llx)",
				 (double)w->timeout_ms / 1000, which, (unsigned long long)rip);
			dvm_vm_request_stop(w->vm, DVM_STOP_GUEST_HALTED, DVM_STATUS_GUEST_HALTED,
					    msg);
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static bool halt_watch_start(struct halt_watch *w)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->done = false;
	return pthread_create(&w->thread, NULL, halt_watch_main, w) == 0;
}

static void halt_watch_stop(struct halt_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
}

/* "--without pit,pc-testdev": names from the default machine, not the irqchip. */
static void parse_without(const char *arg, uint32_t *without)
{
	char *copy = strdup(arg), *save = NULL;

	if (!copy)
		die_usage("out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct dvm_device_ops *ops = dvm_device_ops_by_name(tok);
		size_t i = 0;
		while (ops && i < NR_DEFAULT_DEVICES && default_machine[i] != ops->type)
			i++;
		if (!ops || i == NR_DEFAULT_DEVICES)
			die_usage("--without %s: '%s' is not a device of the default machine "
				  "(see dvm run --help)",
				  arg, tok);
		if (ops->type == DVM_DEV_TYPE_PIC || ops->type == DVM_DEV_TYPE_IOAPIC)
			die_usage("--without %s: the pic and ioapic are KVM's in-kernel irqchip, "
				  "made together; they can't be left out",
				  arg);
		*without |= 1u << i;
	}
	free(copy);
}

/* ---- machine files ---- */

/*
 * A JSON machine file is the same list as the command line, written down:
 *   {"memory": "256M", "cpus": 2, "cpu": "-x2apic", "append": "...",
 *    "modules": ["env"], "devices": [{"type": "serial-8250", "base": "0x2f8"}],
 *    "without": ["pit"], "fw-cfg": [{"name": "opt/x", "string": "y"}],
 *    "api-sock": "/tmp/vm.sock", "snapshot-dir": "...", "snapshot-on-exit": true,
 *    "halt-timeout": 2, "format": "multiboot", "load-addr": "0x100000",
 *    "verbose": true, "guest": "build/guests/hello.elf"}
 * Each key becomes the option of the same name, ahead of the command line's
 * own (which therefore win), so both are checked by the same code.
 */
#define MAX_MACHINE_ARGS 512

static void machine_add(char **out, int *n, const char *a, const char *b)
{
	if (*n + 2 >= MAX_MACHINE_ARGS)
		die_usage("machine file: too many entries");
	out[(*n)++] = strdup(a);
	if (b)
		out[(*n)++] = strdup(b);
}

/* A scalar as option text: strings as they are, numbers and booleans printed. */
static const char *machine_scalar(const char *file, const char *key, json_object *v)
{
	if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double))
		return json_object_get_string(v);
	die_usage("machine file %s: \"%s\" must be a string or a number", file, key);
}

static char **machine_file_args(const char *file, int *argc_out, const char **guest)
{
	static char *args[MAX_MACHINE_ARGS];
	int n = 0;
	size_t len = 0;
	char *text = read_file(file, &len);
	enum json_tokener_error jerr = json_tokener_success;
	json_object *root = NULL;

	if (!text)
		die_usage("machine file %s: %s", file, strerror(errno));
	text = realloc(text, len + 1);
	if (!text)
		die_usage("out of memory");
	text[len] = '\0';
	if (strlen(text) != len)
		die_usage("machine file %s: not a text file", file);
	root = json_tokener_parse_verbose(text, &jerr);
	free(text);
	if (!root)
		die_usage("machine file %s: not valid JSON (%s)", file,
			  json_tokener_error_desc(jerr));
	if (!json_object_is_type(root, json_type_object))
		die_usage("machine file %s: expected a JSON object", file);
	json_object_object_foreach(root, key, val)
	{
		static const char *const plain[] = {
		    "memory", "cpus",	   "cpu",      "append",       "cmdline",
		    "format", "load-addr", "api-sock", "snapshot-dir", "halt-timeout",
		    "module", "device",	   "incoming"};
		char opt[64];
		bool done = false;
		snprintf(opt, sizeof(opt), "--%s", key);
		for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && !done; i++)
			if (!strcmp(key, plain[i])) {
				machine_add(args, &n, opt, machine_scalar(file, key, val));
				done = true;
			}
		if (done)
			continue;
		if (!strcmp(key, "guest")) {
			*guest = strdup(machine_scalar(file, key, val));
		} else if (!strcmp(key, "snapshot-on-exit") || !strcmp(key, "verbose") ||
			   !strcmp(key, "sync-exit")) {
			if (!json_object_is_type(val, json_type_boolean))
				die_usage("machine file %s: \"%s\" must be true or false", file,
					  key);
			if (json_object_get_boolean(val))
				machine_add(args, &n, opt, NULL);
		} else if (!strcmp(key, "modules") || !strcmp(key, "without") ||
			   !strcmp(key, "devices") || !strcmp(key, "fw-cfg")) {
			if (!json_object_is_type(val, json_type_array))
				die_usage("machine file %s: \"%s\" must be a list", file, key);
			const char *o = !strcmp(key, "modules")	  ? "--module"
					: !strcmp(key, "without") ? "--without"
					: !strcmp(key, "devices") ? "--device"
								  : "--fw-cfg";
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				json_object *e = json_object_array_get_idx(val, i);
				if (json_object_is_type(e, json_type_string)) {
					machine_add(args, &n, o, json_object_get_string(e));
					continue;
				}
				if (!json_object_is_type(e, json_type_object) ||
				    !strcmp(key, "modules") || !strcmp(key, "without"))
					die_usage("machine file %s: \"%s\"[%zu]: unexpected value",
						  file, key, i);
				/* {"type": T, "a": v, ...} -> "T,a=v,..."; fw-cfg:
				 * "name=..,file=.." */
				char spec[4096] = "";
				size_t len = 0;
				json_object *type = NULL;
				if (!strcmp(key, "devices")) {
					if (!json_object_object_get_ex(e, "type", &type) ||
					    !json_object_is_type(type, json_type_string))
						die_usage(
						    "machine file %s: devices[%zu] needs \"type\"",
						    file, i);
					len = (size_t)snprintf(spec, sizeof(spec), "%s",
							       json_object_get_string(type));
				}
				json_object_object_foreach(e, k2, v2)
				{
					if (!strcmp(k2, "type") && type)
						continue;
					const char *text =
					    json_object_is_type(v2, json_type_boolean)
						? (json_object_get_boolean(v2) ? "on" : "off")
						: machine_scalar(file, k2, v2);
					len +=
					    (size_t)snprintf(spec + len, sizeof(spec) - len,
							     "%s%s=%s", len ? "," : "", k2, text);
					if (len >= sizeof(spec))
						die_usage(
						    "machine file %s: \"%s\"[%zu] is too long",
						    file, key, i);
				}
				machine_add(args, &n, o, spec);
			}
		} else {
			die_usage("machine file %s: unknown key \"%s\"", file, key);
		}
	}
	json_object_put(root);
	*argc_out = n;
	return args;
}
static int run_incoming(struct run_options *o);

/* The options of a running machine that dvm run and dvm restore share
 * (the same letters in both option tables); false for any other. */
static bool running_option(int opt, const char *arg, struct run_options *o)
{
	switch (opt) {
	case 'A':
		o->api_sock = arg;
		return true;
	case 'P':
		o->snapshot_dir = arg;
		return true;
	case 'E':
		o->snapshot_on_exit = true;
		return true;
	case 'H':
		o->halt_timeout_ms = parse_halt_timeout(arg);
		return true;
	case 'S':
		o->sync_exit = true;
		return true;
	case 'v':
		o->verbose++;
		return true;
	}
	return false;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"memory", required_argument, NULL, 'm'},
	    {"cpus", required_argument, NULL, 'c'},
	    {"device", required_argument, NULL, 'd'},
	    {"cmdline", required_argument, NULL, 'C'},
	    {"append", required_argument, NULL, 'C'},
	    {"module", required_argument, NULL, 'M'},
	    {"format", required_argument, NULL, 'f'},
	    {"load-addr", required_argument, NULL, 'l'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"sync-exit", no_argument, NULL, 'S'},
	    {"cpu", required_argument, NULL, 'U'},
	    {"halt-timeout", required_argument, NULL, 'H'},
	    {"without", required_argument, NULL, 'W'},
	    {"snapshot-dir", required_argument, NULL, 'P'},
	    {"snapshot-on-exit", no_argument, NULL, 'E'},
	    {"help", no_argument, NULL, 'h'},
	    {"fw-cfg", required_argument, NULL, 'F'},
	    {"api-sock", required_argument, NULL, 'A'},
	    {"machine", required_argument, NULL, 'J'},
	    {"incoming", required_argument, NULL, 'I'},
	    {0},
	};
	struct run_options o = {.memory = DEFAULT_MEMORY,
				.cpus = 1,
				.load_addr = 0x100000,
				.halt_timeout_ms = DEFAULT_HALT_TIMEOUT_MS};
	int opt;
	uint64_t v;
	static const char *file_guest; /* static: the options point into these */
	static char **nargv;

	/* --machine FILE: its options first, then the command line's (which win). */
	for (int i = 1; i < argc; i++) {
		const char *file = NULL;
		if (!strcmp(argv[i], "--machine") && i + 1 < argc)
			file = argv[i + 1];
		else if (!strncmp(argv[i], "--machine=", 10))
			file = argv[i] + 10;
		else if (!strcmp(argv[i], "--machine"))
			die_usage("--machine needs a FILE");
		if (!file)
			continue;
		int nfile = 0, skip = strcmp(argv[i], "--machine") ? 1 : 2;
		char **fargs = machine_file_args(file, &nfile, &file_guest);
		nargv = calloc((size_t)(argc + nfile + 1), sizeof(char *));
		if (!nargv)
			die_usage("out of memory");
		int k = 0;
		nargv[k++] = argv[0];
		for (int j = 0; j < nfile; j++)
			nargv[k++] = fargs[j];
		for (int j = 1; j < argc; j++)
			if (j < i || j >= i + skip)
				nargv[k++] = argv[j];
		argv = nargv; /* lives as long as the options that point into it */
		argc = k;
		break;
	}

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+m:c:d:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (parse_size(optarg, &o.memory) || o.memory < (1u << 20) ||
			    (o.memory & 4095))
				die_usage(
				    "--memory %s: expected a size of at least 1M, in whole pages "
				    "(e.g. 64M, 1G)",
				    optarg);
			break;
		case 'c':
			/* xAPIC IDs, the MADT's processor entries and CPUID leaf 1 are 8-bit. */
			if (parse_u64(optarg, &v) || v < 1 || v > 255)
				die_usage("--cpus %s: expected a number from 1 to 255", optarg);
			o.cpus = (unsigned)v;
			break;
		case 'd':
			if (o.nr_devices == MAX_DEVICE_ARGS)
				die_usage("too many --device options (at most %d)",
					  MAX_DEVICE_ARGS);
			o.devices[o.nr_devices++] = optarg;
			break;
		case 'C':
			o.cmdline = optarg;
			break;
		case 'M':
			if (o.nr_modules == MAX_MODULES)
				die_usage("too many --module options (at most %d)", MAX_MODULES);
			o.modules[o.nr_modules++] = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "elf64"))
				o.format = DVM_IMAGE_ELF64;
			else if (!strcmp(optarg, "multiboot"))
				o.format = DVM_IMAGE_MULTIBOOT;
			else if (!strcmp(optarg, "bzimage"))
				o.format = DVM_IMAGE_BZIMAGE;
			else if (!strcmp(optarg, "flat"))
				o.format = DVM_IMAGE_FLAT;
			else
				die_usage("--format %s: expected elf64, multiboot, bzimage or flat",
					  optarg);
			break;
		case 'l':
			if (parse_u64(optarg, &o.load_addr))
				die_usage("--load-addr %s: expected an address", optarg);
			break;
		case 'F':
			if (o.nr_fw_cfg == MAX_FW_CFG_ARGS)
				die_usage("too many --fw-cfg options (at most %d)",
					  MAX_FW_CFG_ARGS);
			parse_fw_cfg_arg(optarg, &o.fw_cfg[o.nr_fw_cfg]);
			for (unsigned i = 0; i < o.nr_fw_cfg; i++)
				if (!strcmp(o.fw_cfg[i].name, o.fw_cfg[o.nr_fw_cfg].name))
					die_usage("--fw-cfg %s: duplicate fw_cfg file name '%s'",
						  optarg, o.fw_cfg[i].name);
			o.nr_fw_cfg++;
			break;
		case 'U':
			if (!strcmp(optarg, "help"))
				return cpu_help();
			o.cpu = optarg;
			break;
		case 'W':
			parse_without(optarg, &o.without);
			break;
		case 'J':
			die_usage("--machine may be given once");
		case 'I':
			o.incoming = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		default:
			if (!running_option(opt, optarg, &o)) {
				run_usage(stderr);
				return DVM_STATUS_USAGE;
			}
		}
	}
	if (o.snapshot_on_exit && !o.snapshot_dir)
		die_usage("--snapshot-on-exit needs --snapshot-dir DIR");
	if (optind < argc)
		o.guest = argv[optind++];
	else if (file_guest)
		o.guest = file_guest;
	if (optind < argc)
		die_usage("run: unexpected argument '%s' (one GUEST only; see dvm run --help)",
			  argv[optind]);
	if (o.incoming) {
		if (o.guest)
			die_usage("--incoming: no GUEST: the machine comes from the source");
		return run_incoming(&o);
	}

	struct guest_files guest;
	int ret = read_guest_files(&o, &guest);
	/* The bytes are in `guest` now; the parsed paths and strings are done with. */
	for (unsigned i = 0; i < o.nr_fw_cfg; i++) {
		free(o.fw_cfg[i].file);
		free(o.fw_cfg[i].string);
		o.fw_cfg[i].file = o.fw_cfg[i].string = NULL;
	}
	if (ret) {
		free_guest_files(&guest);
		return DVM_STATUS_USAGE;
	}
	bool deferred = !o.sync_exit && defer_kvm_teardown();
	struct dvm_vm_config cfg = {.mem_size = o.memory};
	struct dvm_vm *vm;
	ret = dvm_vm_create(&cfg, &vm);
	if (ret) {
		fprintf(stderr, "dvm: cannot create the VM: %s%s\n", strerror(-ret),
			ret == -ENOENT || ret == -EACCES ? " (is /dev/kvm there and usable?)" : "");
		free_guest_files(&guest);
		return DVM_STATUS_HOST_ERROR;
	}

	bool ran = false;
	ret = build_and_run(vm, &o, &guest, &ran);
	free_guest_files(&guest);
	fflush(stdout);
	if (ran && deferred)
		_exit(ret); /* the reaper's exit destroys the VM, after ours */
	dvm_vm_shutdown(vm);
	return ret;
}

/* The CMOS bytes firmware reads: RAM below 4 GiB (up to 3 GiB, as the VM maps it), above, CPUs. */
static int configure_cmos_rtc(struct dvm_vm *vm, int handle, const struct run_options *o)
{
	uint64_t mem = dvm_vm_mem_size(vm);
	uint64_t below = mem < 0xc0000000ull ? mem : 0xc0000000ull, above = mem - below;
	uint16_t cpus = (uint16_t)o->cpus;
	int ret = dvm_device_set(vm, handle, DVM_CMOS_RTC_GRP_CONFIG,
				 DVM_CMOS_RTC_CONFIG_MEM_BELOW_4G, &below);

	if (!ret)
		ret = dvm_device_set(vm, handle, DVM_CMOS_RTC_GRP_CONFIG,
				     DVM_CMOS_RTC_CONFIG_MEM_ABOVE_4G, &above);
	if (!ret)
		ret = dvm_device_set(vm, handle, DVM_CMOS_RTC_GRP_CONFIG, DVM_CMOS_RTC_CONFIG_CPUS,
				     &cpus);
	if (ret)
		fprintf(stderr, "dvm: configuring cmos-rtc: %s\n", strerror(-ret));
	return ret;
}

/*
 * fw-cfg as QEMU fills it: CPUs, RAM, the --fw-cfg files, and the command
 * line in CMDLINE_SIZE/CMDLINE_DATA (strlen + 1, with the NUL).  QEMU sets
 * those two only for a Linux boot; dvm sets them for every format, as no
 * guest reads them to mean anything else.  The kernel and initrd items are
 * left empty: QEMU fills them for its option ROM, which copies the image
 * (dvm loads it directly), and kvm-unit-tests reads KERNEL_DATA (0x11) as
 * a RAM limit where 0 means none.  Returns 0 or an exit status.
 */
static int configure_fw_cfg(struct dvm_vm *vm, int h, const struct run_options *o,
			    const struct guest_files *g)
{
	uint16_t cpus = (uint16_t)o->cpus;
	int ret;

	ret = dvm_device_set(vm, h, DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_NB_CPUS, &cpus);
	if (!ret)
		ret = dvm_device_set(vm, h, DVM_FW_CFG_GRP_CONFIG, DVM_FW_CFG_CONFIG_RAM_SIZE,
				     &o->memory);
	if (!ret && o->cmdline) {
		uint32_t size = (uint32_t)strlen(o->cmdline) + 1;
		struct dvm_fw_cfg_item item = {.selector = DVM_FW_CFG_CMDLINE_SIZE,
					       .data = (uintptr_t)&size,
					       .size = sizeof(size)};
		ret = dvm_device_set(vm, h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM, &item);
		item.selector = DVM_FW_CFG_CMDLINE_DATA;
		item.data = (uintptr_t)o->cmdline;
		item.size = size;
		if (!ret)
			ret = dvm_device_set(vm, h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_SET_ITEM,
					     &item);
	}
	if (ret) {
		fprintf(stderr, "dvm: configuring fw-cfg: %s (%s)\n", strerror(-ret),
			errno_name(-ret));
		return DVM_STATUS_HOST_ERROR;
	}
	for (unsigned i = 0; i < o->nr_fw_cfg; i++) {
		struct dvm_fw_cfg_file file = {.data = (uintptr_t)g->fw_cfg_data[i],
					       .size = (uint32_t)g->fw_cfg_len[i]};
		memcpy(file.name, o->fw_cfg[i].name, sizeof(file.name));
		ret = dvm_device_set(vm, h, DVM_FW_CFG_GRP_COMMAND, DVM_FW_CFG_CMD_ADD_FILE, &file);
		if (ret) {
			fprintf(stderr, "dvm: --fw-cfg %s: %s\n", o->fw_cfg[i].spec,
				ret == -EEXIST ? "duplicate fw_cfg file name"
				: ret == -E2BIG
				    ? "too large (at most 64 files, 16 MiB each, 64 MiB in all)"
				    : strerror(-ret));
			return DVM_STATUS_USAGE;
		}
	}
	return 0;
}

/* Starts the VM and waits for it: signals, the halt watchdog, the exit
 * message.  Takes vcpus (handles, the boot CPU first).  Returns the status. */
static int run_machine(struct dvm_vm *vm, const struct run_options *o, int *vcpus,
		       unsigned nr_vcpus, bool *ran)
{
	int ret;

	/* Signals end the VM cleanly; only the signal thread takes them. */
	static sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_lock(&signal_vm_lock);
	signal_vm = vm;
	signal_snapshot_dir = o->snapshot_dir;
	signal_snapshot_on_exit = o->snapshot_on_exit;
	pthread_mutex_unlock(&signal_vm_lock);
	pthread_t sig_thread;
	if (pthread_create(&sig_thread, NULL, signal_thread, &sigs) == 0)
		pthread_detach(sig_thread);

	/* The control socket serves before the vCPUs run, so a client can
	 * watch from the first instruction. */
	struct dvm_ctl_server *ctl = NULL;
	if (o->api_sock && (ret = dvm_ctl_server_start(vm, o->api_sock, &ctl))) {
		fprintf(stderr, "dvm: --api-sock %s: %s (%s)%s\n", o->api_sock, strerror(-ret),
			errno_name(-ret),
			ret == -EEXIST	     ? "; not replacing what is there"
			: ret == -EADDRINUSE ? "; another dvm is serving it"
					     : "");
		if (o->incoming)
			dvm_migrate_answer(o->answer_fd, ret,
					   "the destination's --api-sock failed");
		free(vcpus);
		pthread_mutex_lock(&signal_vm_lock);
		signal_vm = NULL;
		pthread_mutex_unlock(&signal_vm_lock);
		return DVM_STATUS_USAGE;
	}

	if (o->incoming) {
		/* Built and checked: "ready".  Only the source's "go" lets the
		 * guest start; without it the source resumes (or stays paused). */
		char err[256] = "";
		ret = dvm_migrate_ready(o->answer_fd, DVM_MIGRATE_GO_TIMEOUT_MS, err, sizeof(err));
		if (ret) {
			fprintf(stderr,
				"dvm: the source did not hand over: %s; the guest was not "
				"started\n",
				err);
			close(o->answer_fd);
			dvm_ctl_server_stop(ctl);
			free(vcpus);
			pthread_mutex_lock(&signal_vm_lock);
			signal_vm = NULL;
			pthread_mutex_unlock(&signal_vm_lock);
			return DVM_STATUS_USAGE;
		}
	}
	ret = dvm_vm_start(vm);
	*ran = true;
	if (o->incoming) {
		/* After "go" the source resumes only on "error"; without our
		 * "running" it stays paused, so this copy runs on. */
		if (dvm_migrate_answer(o->answer_fd, ret, "a device failed to start") && !ret)
			fprintf(stderr, "dvm: the migration source did not take 'running'; it "
					"stays paused there\n");
		close(o->answer_fd);
	}
	struct halt_watch watch = {
	    .vm = vm, .vcpus = vcpus, .nr_vcpus = nr_vcpus, .timeout_ms = o->halt_timeout_ms};
	bool watching = !ret && o->halt_timeout_ms && halt_watch_start(&watch);
	enum dvm_stop_reason reason;
	const char *message;
	int status = dvm_vm_wait(vm, &reason, &message);
	if (watching)
		halt_watch_stop(&watch);
	dvm_ctl_server_vm_stopped(ctl);
	dvm_ctl_server_stop(ctl);
	free(vcpus);
	pthread_mutex_lock(&signal_vm_lock);
	signal_vm = NULL; /* the VM is about to go */
	pthread_mutex_unlock(&signal_vm_lock);
	if (ret)
		status = DVM_STATUS_HOST_ERROR;
	if (o->verbose || reason == DVM_STOP_GUEST_CRASH || reason == DVM_STOP_HOST_ERROR ||
	    reason == DVM_STOP_SIGNAL || reason == DVM_STOP_GUEST_HALTED ||
	    reason == DVM_STOP_QUIT || reason == DVM_STOP_MIGRATED)
		fprintf(stderr, "dvm: %s (exit status %d)\n", message, status & 0xff);
	return status & 0xff;
}

/* The default PC, as a list of devices, then the guest; returns the exit status. */
static int build_and_run(struct dvm_vm *vm, const struct run_options *o,
			 const struct guest_files *g, bool *ran)
{
	/* The irqchip must exist before vCPUs. */
	int handle, boot_vcpu = -1, ret;
	for (size_t i = 0; i < NR_DEFAULT_DEVICES; i++) {
		if (o->without & (1u << i))
			continue;
		const uint32_t *machine = default_machine;
		const struct dvm_device_ops *ops = dvm_device_ops_by_type(machine[i]);
		if (!ops || create_device(vm, ops, &handle))
			return DVM_STATUS_HOST_ERROR;
		if (machine[i] == DVM_DEV_TYPE_ACPI_PM && set_acpi_cpus(vm, handle, o->cpus))
			return DVM_STATUS_USAGE;
		if (machine[i] == DVM_DEV_TYPE_CMOS_RTC && configure_cmos_rtc(vm, handle, o))
			return DVM_STATUS_HOST_ERROR;
		if (machine[i] == DVM_DEV_TYPE_FW_CFG && (ret = configure_fw_cfg(vm, handle, o, g)))
			return ret;
	}
	for (unsigned i = 0; i < o->nr_devices; i++)
		if (apply_device_arg(vm, o->devices[i]))
			return DVM_STATUS_USAGE;
	int *vcpus = calloc(o->cpus, sizeof(*vcpus));
	if (!vcpus)
		return DVM_STATUS_HOST_ERROR;
	for (unsigned i = 0; i < o->cpus; i++) {
		ret = create_device(vm, dvm_device_ops_by_type(DVM_DEV_TYPE_VCPU), &vcpus[i]);
		if (ret) {
			if (ret == -ENOSPC)
				fprintf(stderr,
					"dvm: --cpus %u: this host's KVM allows fewer vCPUs\n",
					o->cpus);
			free(vcpus);
			return ret == -ENOSPC ? DVM_STATUS_USAGE : DVM_STATUS_HOST_ERROR;
		}
	}
	boot_vcpu = vcpus[0];
	if (o->cpu && (ret = apply_cpu_features(vm, o->cpu, vcpus, o->cpus))) {
		free(vcpus);
		return ret;
	}
	ret = load_guest(vm, o, g, boot_vcpu);
	if (ret) {
		free(vcpus);
		return ret == -EIO ? DVM_STATUS_HOST_ERROR : DVM_STATUS_USAGE;
	}
	build_mptable(vm, o->cpus);

	return run_machine(vm, o, vcpus, o->cpus, ran);
}

/* Runs a VM made by restore or an incoming migration: its vCPUs are the
 * vcpu handles in creation order.  Frees r's lists; returns the status. */
static int run_restored(struct dvm_restored *r, const struct run_options *o, bool deferred)
{
	int *vcpus = calloc(r->nr ? r->nr : 1, sizeof(int));
	unsigned nr_vcpus = 0;
	struct dvm_vm *vm = r->vm;

	for (unsigned i = 0; vcpus && i < r->nr; i++)
		if (r->types[i] == DVM_DEV_TYPE_VCPU)
			vcpus[nr_vcpus++] = r->handles[i];
	dvm_restored_free(r);
	if (!vcpus) {
		dvm_vm_shutdown(vm);
		return DVM_STATUS_HOST_ERROR;
	}
	bool ran = false;
	int ret = run_machine(vm, o, vcpus, nr_vcpus, &ran);
	fflush(stdout);
	if (ran && deferred)
		_exit(ret); /* the reaper's exit destroys the VM, after ours */
	dvm_vm_shutdown(vm);
	return ret;
}

/* ---- restore ---- */

static void restore_usage(FILE *f)
{
	fprintf(f, "usage: dvm restore [OPTIONS] DIR\n"
		   "\n"
		   "Restore a snapshot (dvm run --snapshot-dir, SIGUSR2) and run it on: the\n"
		   "devices are made by type from the snapshot, their configuration and state\n"
		   "set from it, guest memory mapped copy-on-write from DIR/memory.  The\n"
		   "snapshot is checked whole (header, checksums, every attribute against the\n"
		   "schema, the memory file) before anything starts; a bad one is exit 2.\n"
		   "\n"
		   "      --no-verify        skip the memory checksum (faster restore of large\n"
		   "                         guests; the state is still checked)\n"
		   "      --api-sock PATH  --snapshot-dir D  --snapshot-on-exit\n"
		   "      --halt-timeout SEC  --sync-exit\n"
		   "  -v, --verbose          as for dvm run\n"
		   "  -h, --help             this text\n");
}

static int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"no-verify", no_argument, NULL, 'N'},
	    {"api-sock", required_argument, NULL, 'A'},
	    {"snapshot-dir", required_argument, NULL, 'P'},
	    {"snapshot-on-exit", no_argument, NULL, 'E'},
	    {"halt-timeout", required_argument, NULL, 'H'},
	    {"sync-exit", no_argument, NULL, 'S'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct run_options o = {.halt_timeout_ms = DEFAULT_HALT_TIMEOUT_MS};
	unsigned flags = 0;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'N':
			flags |= DVM_RESTORE_NO_VERIFY;
			break;
		case 'h':
			restore_usage(stdout);
			return 0;
		default:
			if (!running_option(opt, optarg, &o)) {
				restore_usage(stderr);
				return DVM_STATUS_USAGE;
			}
		}
	}
	if (optind != argc - 1) {
		restore_usage(stderr);
		return DVM_STATUS_USAGE;
	}
	if (o.snapshot_on_exit && !o.snapshot_dir)
		die_usage("--snapshot-on-exit needs --snapshot-dir DIR");

	struct dvm_restored r;
	char err[256] = "";
	bool deferred = !o.sync_exit && defer_kvm_teardown();
	int ret = dvm_snapshot_restore(argv[optind], 0, flags, &r, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "dvm: cannot restore %s: %s\n", argv[optind], err);
		return ret == -EINVAL || ret == -ENOENT || ret == -ENAMETOOLONG
			   ? DVM_STATUS_USAGE
			   : DVM_STATUS_HOST_ERROR;
	}
	return run_restored(&r, &o, deferred);
}

/* ---- incoming migration ---- */

/* dvm run --incoming URI: wait for one migration stream, build the machine
 * from it as dvm restore does, answer "ready", and start it only on the
 * source's "go" (include/dvm/migrate.h); exit 2 without it. */
static int run_incoming(struct run_options *o)
{
	char err[256] = "";
	int lfd, conn, ret;

	if (o->snapshot_on_exit && !o->snapshot_dir)
		die_usage("--snapshot-on-exit needs --snapshot-dir DIR");
	ret = dvm_migrate_listen(o->incoming, &lfd, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "dvm: --incoming %s\n", err);
		return DVM_STATUS_USAGE;
	}
	fprintf(stderr, "dvm: waiting for a migration on %s\n", o->incoming);
	ret = dvm_migrate_accept(lfd, o->incoming, &conn, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "dvm: --incoming %s: %s\n", o->incoming, err);
		return DVM_STATUS_HOST_ERROR;
	}
	bool deferred = !o->sync_exit && defer_kvm_teardown();
	struct dvm_restored r;
	ret = dvm_migrate_receive(conn, 0, &r, err, sizeof(err));
	if (ret) {
		dvm_migrate_answer(conn, ret, err);
		close(conn);
		fprintf(stderr, "dvm: incoming migration refused: %s\n", err);
		return ret == -EINVAL ? DVM_STATUS_USAGE : DVM_STATUS_HOST_ERROR;
	}
	o->answer_fd = conn; /* run_machine hands over: "ready", "go", "running" */
	return run_restored(&r, o, deferred);
}

/* ---- types, describe ---- */

static struct dvm_vm *probe_vm(bool *have_kvm)
{
	struct dvm_vm_config cfg = {.mem_size = 1 << 20};
	struct dvm_vm *vm;

	*have_kvm = dvm_vm_create(&cfg, &vm) == 0;
	if (*have_kvm)
		return vm;
	cfg.flags = DVM_VM_NO_KVM;
	return dvm_vm_create(&cfg, &vm) == 0 ? vm : NULL;
}

struct types_ctx {
	struct dvm_vm *vm;
};

static void print_type(const struct dvm_device_ops *ops, void *opaque)
{
	struct types_ctx *ctx = opaque;
	struct kvm_create_device cd = {.type = ops->type, .flags = KVM_CREATE_DEVICE_TEST};
	int ret = ctx->vm ? dvm_create_device(ctx->vm, &cd) : -ENODEV;
	const char *backing = (ops->flags & DVM_OPS_PASSTHROUGH) ? "kernel"
			      : (ops->flags & DVM_OPS_NEEDS_KVM) ? "kvm-ioctl"
								 : "dvm";

	printf("%-14s %#-7x %-10s %-4s %s\n", ops->name, ops->type, backing,
	       ret == 0 ? "yes" : "no", ops->summary ? ops->summary : "");
}

static int cmd_types(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: dvm types\n\n"
		       "List every device type: its name, type number, backing (kernel: the\n"
		       "kernel's KVM_CREATE_DEVICE, forwarded; kvm-ioctl: dvm over KVM's\n"
		       "one-purpose ioctls; dvm: emulated in dvm), whether this host supports it\n"
		       "(KVM_CREATE_DEVICE_TEST), and what it is.\n");
		return 0;
	}
	if (argc > 1)
		die_usage("types: unexpected argument '%s'", argv[1]);
	bool have_kvm;
	struct types_ctx ctx = {.vm = probe_vm(&have_kvm)};
	if (!have_kvm)
		fprintf(stderr,
			"dvm: /dev/kvm is not usable here; only emulated types probe as yes\n");
	printf("%-14s %-7s %-10s %-4s %s\n", "TYPE", "NUMBER", "BACKING", "HOST", "SUMMARY");
	dvm_for_each_device_ops(print_type, &ctx);
	if (ctx.vm)
		dvm_vm_shutdown(ctx.vm);
	return 0;
}

static int cmd_describe(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: dvm describe TYPE\n\n"
		       "Print a device type's attribute schema: group, attribute, name, kind\n"
		       "(config, state, command), access (r/w; 'before-start': writable only\n"
		       "before the vCPUs run; 'once': a second write is EEXIST; 'while-paused':\n"
		       "only while the vCPUs are paused; 'derived': a view of other attributes,\n"
		       "not saved in snapshots; 'host-ref': holds a host pointer or fd, not over\n"
		       "the control socket), size in bytes, format, default.\n"
		       "Config attributes can be given as `--device TYPE,name=value`.\n");
		return argc < 2 ? DVM_STATUS_USAGE : 0;
	}
	if (argc > 2)
		die_usage("describe: one TYPE only");
	const struct dvm_device_ops *ops = dvm_device_ops_by_name(argv[1]);
	if (!ops)
		die_usage("describe: unknown device type '%s' (see `dvm types`)", argv[1]);
	printf("%s (type %#x%s): %s\n\n", ops->name, ops->type,
	       (ops->flags & DVM_OPS_PASSTHROUGH) ? ", kernel-backed" : "",
	       ops->summary ? ops->summary : "");
	printf("%-5s %-12s %-13s %-8s %-24s %-6s %-6s %-8s %s\n", "GROUP", "ATTR", "NAME", "KIND",
	       "ACCESS", "SIZE", "FORMAT", "DEFAULT", "DESCRIPTION");
	for (size_t i = 0; i < ops->nr_attrs; i++) {
		const struct dvm_attr_desc *d = &ops->attrs[i];
		char attr[32], access[48], def[24] = "-";
		if (d->count > 1)
			snprintf(attr, sizeof(attr), "%#" PRIx64 "+%#" PRIx64, d->attr, d->count);
		else
			snprintf(attr, sizeof(attr), "%" PRIu64, d->attr);
		/* r/w, then the other flags by the names the socket's describe uses. */
		size_t at = (size_t)snprintf(access, sizeof(access), "%s%s",
					     (d->access & DVM_ATTR_R) ? "r" : "",
					     (d->access & DVM_ATTR_W) ? "w" : "");
		for (uint32_t bit = DVM_ATTR_W << 1; bit && at < sizeof(access); bit <<= 1)
			if ((d->access & bit) && dvm_attr_access_flag_name(bit))
				at += (size_t)snprintf(access + at, sizeof(access) - at, ",%s",
						       dvm_attr_access_flag_name(bit));
		if (d->kind == DVM_ATTR_CONFIG && d->format == DVM_FMT_UINT &&
		    d->access & DVM_ATTR_W)
			snprintf(def, sizeof(def), "%#" PRIx64, d->def);
		printf("%-5u %-12s %-13s %-8s %-24s %-6u %-6s %-8s %s\n", d->group, attr, d->name,
		       dvm_attr_kind_name(d->kind), access, d->size,
		       dvm_attr_format_name(d->format), def, d->help ? d->help : "");
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dvm COMMAND [ARGS]\n"
		   "\n"
		   "dvm is a virtual machine monitor built from one device-control API: every\n"
		   "part of the machine is a device created by type and driven through\n"
		   "attributes (the kernel's KVM_CREATE_DEVICE / KVM_*_DEVICE_ATTR).\n"
		   "\n"
		   "commands:\n"
		   "  run [GUEST]        boot a guest (no GUEST: the bundled hello guest)\n"
		   "  restore DIR        restore a snapshot and run it on\n"
		   "  types              list device types and whether this host has them\n"
		   "  describe TYPE      print a type's attribute schema\n"
		   "  ctl PATH COMMAND   talk to a running dvm's control socket (--api-sock)\n"
		   "\n"
		   "`dvm COMMAND --help` says more.\n");
}

/* A closed stdin/stdout/stderr would hand its number to /dev/kvm or a VM fd,
 * and the console would then read or write it: fill the gaps first. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) < 0)
			_exit(DVM_STATUS_HOST_ERROR);
}

int main(int argc, char **argv)
{
	ensure_std_fds();
	dvm_register_builtin_devices();
	if (argc < 2) {
		usage(stderr);
		return DVM_STATUS_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(argv[1], "types"))
		return cmd_types(argc - 1, argv + 1);
	if (!strcmp(argv[1], "describe"))
		return cmd_describe(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return dvm_ctl_main(argc - 1, argv + 1);
	fprintf(stderr, "dvm: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return DVM_STATUS_USAGE;
}
