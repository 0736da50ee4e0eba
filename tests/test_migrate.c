/* SPDX-License-Identifier: MIT */
/*
 * The migration stream reader (dvm_migrate_receive) without /dev/kvm: a
 * sound stream builds the VM with its pages and device state; every kind of
 * bad input (foreign, corrupted, truncated at any byte, pages outside RAM,
 * a missing or doubled state, a page count that doesn't add up) is refused
 * with -EINVAL and no VM.  Also the dirty-log API's answers without KVM,
 * and that a migration to nowhere leaves the VM as it was.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/serial_8250.h"
#include "dvm/migrate.h"
#include "dvm/snapshot.h"
#include "dvm/vm.h"

#define MEM (1u << 20)

struct stream {
	uint8_t *p;
	size_t len;
};

static void put(struct stream *s, const void *p, size_t n)
{
	s->p = realloc(s->p, s->len + n);
	assert_non_null(s->p);
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

static uint32_t crc(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0, Z_NULL, 0), p, (uInt)n);
}

static void header(struct stream *s, uint64_t mem)
{
	uint8_t h[DVM_MIG_HEADER_SIZE] = {0};
	uint32_t v = DVM_MIGRATE_VERSION, hs = DVM_MIG_HEADER_SIZE;
	memcpy(h, DVM_MIGRATE_MAGIC, 8);
	memcpy(h + 8, &v, 4);
	memcpy(h + 12, &hs, 4);
	memcpy(h + 16, &mem, 8);
	uint32_t c = crc(h, 28);
	memcpy(h + 28, &c, 4);
	put(s, h, sizeof(h));
}

static void record(struct stream *s, uint32_t type, uint64_t arg, const void *p, uint32_t len)
{
	uint8_t r[DVM_MIG_REC_SIZE];
	memcpy(r, &type, 4);
	memcpy(r + 4, &len, 4);
	memcpy(r + 8, &arg, 8);
	uint32_t c = crc(p, len);
	memcpy(r + 16, &c, 4);
	c = crc(r, 20);
	memcpy(r + 20, &c, 4);
	put(s, r, sizeof(r));
	if (len)
		put(s, p, len);
}

/* Two pages: 0x2000 with a pattern, 0x3000 as a zero entry. */
static void pages(struct stream *s, uint64_t off)
{
	uint8_t e[8 + 4096 + 8];
	memcpy(e, &off, 8);
	for (int i = 0; i < 4096; i++)
		e[8 + i] = (uint8_t)(i * 7 + 1);
	uint64_t z = 0x3000 | DVM_MIG_ZERO_PAGE;
	memcpy(e + 8 + 4096, &z, 8);
	record(s, DVM_MIG_PAGES, 0, e, sizeof(e));
}

/* A VM's state bytes: serial and debug-exit, mem bytes of RAM. */
static void state_of(uint64_t mem, uint8_t **state, size_t *len)
{
	struct dvm_vm_config cfg = {.mem_size = mem, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	char err[256];
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_SERIAL_8250};
	assert_int_equal(dvm_create_device(vm, &cd), 0);
	cd = (struct kvm_create_device){.type = DVM_DEV_TYPE_DEBUG_EXIT};
	assert_int_equal(dvm_create_device(vm, &cd), 0);
	/* The UART's scratch register: a state to find again. */
	struct dvm_serial_8250_regs regs;
	assert_int_equal(dvm_device_attr_by_type(vm, DVM_DEV_TYPE_SERIAL_8250, 0,
						 KVM_GET_DEVICE_ATTR, DVM_SERIAL_8250_GRP_STATE,
						 DVM_SERIAL_8250_STATE_REGS, &regs),
			 0);
	regs.scr = 0x5a;
	assert_int_equal(dvm_device_set_by_type(vm, DVM_DEV_TYPE_SERIAL_8250, 0,
						DVM_SERIAL_8250_GRP_STATE,
						DVM_SERIAL_8250_STATE_REGS, &regs),
			 0);
	assert_int_equal(dvm_snapshot_state(vm, state, len, err, sizeof(err)), 0);
	dvm_vm_shutdown(vm);
}

static void good_stream(struct stream *s)
{
	uint8_t *state;
	size_t len;
	memset(s, 0, sizeof(*s));
	header(s, MEM);
	pages(s, 0x2000);
	state_of(MEM, &state, &len);
	record(s, DVM_MIG_STATE, 0, state, (uint32_t)len);
	free(state);
	record(s, DVM_MIG_END, 2, NULL, 0);
}

/* Feed bytes through a pipe-like fd (a memfd read from the start). */
static int feed(const struct stream *s, size_t len, struct dvm_restored *out, char *err,
		size_t errlen)
{
	int fd = memfd_create("stream", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s->p, len), (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	int ret = dvm_migrate_receive(fd, DVM_VM_NO_KVM, out, err, errlen);
	close(fd);
	return ret;
}

static void refused(const struct stream *s, size_t len, const char *want)
{
	struct dvm_restored r;
	char err[256] = "";
	int ret = feed(s, len, &r, err, sizeof(err));
	if (ret != -EINVAL || !strstr(err, want))
		fail_msg("len %zu: ret %d, err '%s', wanted '%s'", len, ret, err, want);
	assert_null(r.vm);
}

static void test_good(void **st)
{
	(void)st;
	struct stream s;
	struct dvm_restored r;
	char err[256] = "";
	good_stream(&s);
	assert_int_equal(feed(&s, s.len, &r, err, sizeof(err)), 0);
	assert_non_null(r.vm);
	assert_int_equal(r.nr, 2);
	assert_int_equal(r.types[0], DVM_DEV_TYPE_SERIAL_8250);
	assert_int_equal(dvm_vm_mem_size(r.vm), MEM);
	const uint8_t *m = dvm_vm_gpa_to_hva(r.vm, 0x2000, 4096);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(m[i], (uint8_t)(i * 7 + 1));
	m = dvm_vm_gpa_to_hva(r.vm, 0x3000, 4096);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(m[i], 0);
	struct dvm_serial_8250_regs regs;
	assert_int_equal(dvm_device_get(r.vm, r.handles[0], DVM_SERIAL_8250_GRP_STATE,
					DVM_SERIAL_8250_STATE_REGS, &regs),
			 0);
	assert_int_equal(regs.scr, 0x5a);
	dvm_restored_free(&r);
	dvm_vm_shutdown(r.vm);
	free(s.p);
}

/* Cut anywhere before the end: refused, never a VM. */
static void test_truncated(void **st)
{
	(void)st;
	struct stream s;
	good_stream(&s);
	for (size_t cut = 0; cut < s.len; cut += cut < 64 ? 1 : 97)
		refused(&s, cut, "truncated");
	refused(&s, s.len - 1, "truncated");
	free(s.p);
}

static void flip(struct stream *s, size_t at, const char *want)
{
	s->p[at] ^= 0x40;
	refused(s, s->len, want);
	s->p[at] ^= 0x40;
}

static void test_corrupt(void **st)
{
	(void)st;
	struct stream s;
	good_stream(&s);
	flip(&s, 0, "not a dvm migration stream");
	flip(&s, 9, "stream header checksum");
	flip(&s, 32, "record header checksum");		     /* the pages record's type */
	flip(&s, 32 + 24 + 100, "record checksum mismatch"); /* a page byte */
	size_t state_at = 32 + 24 + 8 + 4096 + 8;
	flip(&s, state_at + 4, "record header checksum");
	flip(&s, state_at + 24 + 10, "record checksum mismatch"); /* the state's magic */
	uint8_t http[32] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	refused(&(struct stream){.p = http, .len = sizeof(http)}, sizeof(http),
		"not a dvm migration stream");
	free(s.p);
}

static void test_bad_records(void **st)
{
	(void)st;
	uint8_t *state;
	size_t len;
	struct stream s = {0};
	state_of(MEM, &state, &len);

	/* Version, memory size. */
	header(&s, MEM);
	uint32_t v = 1;
	memcpy(s.p + 8, &v, 4);
	uint32_t c = crc(s.p, 28);
	memcpy(s.p + 28, &c, 4);
	refused(&s, s.len, "version 1, this dvm reads version 2 only");
	s.len = 0;
	header(&s, 12345);
	refused(&s, s.len, "bad memory size");
	s.len = 0;
	header(&s, 0);
	refused(&s, s.len, "bad memory size");

	/* Pages outside RAM, unaligned. */
	s.len = 0;
	header(&s, MEM);
	pages(&s, MEM);
	refused(&s, s.len, "outside guest RAM");
	s.len = 0;
	header(&s, MEM);
	pages(&s, 0x2100);
	refused(&s, s.len, "outside guest RAM");
	/* A page entry cut short inside a sound record. */
	s.len = 0;
	header(&s, MEM);
	uint8_t half[8 + 100] = {0};
	record(&s, DVM_MIG_PAGES, 0, half, sizeof(half));
	refused(&s, s.len, "cut short");

	/* Unknown type; END without state; two states; a wrong page count. */
	s.len = 0;
	header(&s, MEM);
	record(&s, 9, 0, NULL, 0);
	refused(&s, s.len, "unknown record type 9");
	s.len = 0;
	header(&s, MEM);
	record(&s, DVM_MIG_END, 0, NULL, 0);
	refused(&s, s.len, "no device state");
	s.len = 0;
	header(&s, MEM);
	record(&s, DVM_MIG_STATE, 0, state, (uint32_t)len);
	record(&s, DVM_MIG_STATE, 0, state, (uint32_t)len);
	refused(&s, s.len, "a second state record");
	s.len = 0;
	header(&s, MEM);
	pages(&s, 0x2000);
	record(&s, DVM_MIG_STATE, 0, state, (uint32_t)len);
	record(&s, DVM_MIG_END, 5, NULL, 0);
	refused(&s, s.len, "the source sent 5 pages, 2 arrived");
	/* A pages record claiming more than the bound. */
	s.len = 0;
	header(&s, MEM);
	uint8_t r[DVM_MIG_REC_SIZE] = {0};
	uint32_t t = DVM_MIG_PAGES, l = DVM_MIG_MAX_PAGES_LEN + 1;
	memcpy(r, &t, 4);
	memcpy(r + 4, &l, 4);
	c = crc(r, 20);
	memcpy(r + 20, &c, 4);
	put(&s, r, sizeof(r));
	refused(&s, s.len, "a pages record of");

	/* A state whose memory size isn't the stream's. */
	uint8_t *other;
	size_t olen;
	state_of(2 * MEM, &other, &olen);
	s.len = 0;
	header(&s, MEM);
	record(&s, DVM_MIG_STATE, 0, other, (uint32_t)olen);
	record(&s, DVM_MIG_END, 0, NULL, 0);
	refused(&s, s.len, "wrong size");
	/* A state that is not one (its own CRCs fail), inside a sound record. */
	state[20] ^= 1;
	s.len = 0;
	header(&s, MEM);
	record(&s, DVM_MIG_STATE, 0, state, (uint32_t)len);
	record(&s, DVM_MIG_END, 0, NULL, 0);
	refused(&s, s.len, "header checksum mismatch");
	free(other);
	free(state);
	free(s.p);
}

/* Without KVM: no dirty log; a migration to nowhere changes nothing. */
static void test_no_kvm_send(void **st)
{
	(void)st;
	struct dvm_vm_config cfg = {.mem_size = MEM, .flags = DVM_VM_NO_KVM};
	struct dvm_vm *vm;
	struct dvm_migrate_stats stats;
	char err[256] = "";
	uint64_t bm[4];
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	assert_int_equal(dvm_vm_dirty_log_start(vm), -EOPNOTSUPP);
	assert_int_equal(dvm_vm_dirty_log_get(vm, bm), -EOPNOTSUPP);
	assert_int_equal(dvm_vm_dirty_bitmap_words(vm), MEM / 4096 / 64);
	assert_ptr_equal(dvm_vm_ram_hva(vm, MEM), NULL);
	/* Not started: nothing to migrate. */
	assert_int_equal(
	    dvm_migrate_send(vm, "unix:/nonexistent/x", NULL, &stats, err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_vm_start(vm), 0);
	assert_int_equal(
	    dvm_migrate_send(vm, "unix:/nonexistent/x", NULL, &stats, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "connecting"));
	assert_int_equal(dvm_migrate_send(vm, "tcp:nohost", NULL, &stats, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(dvm_migrate_send(vm, "ftp://x", NULL, &stats, err, sizeof(err)), -EINVAL);
	assert_int_equal(dvm_vm_state(vm), DVM_VM_RUNNING);
	/* Listening: non-loopback TCP is refused; a file in the way too. */
	int fd;
	assert_int_equal(dvm_migrate_listen("tcp:8.8.8.8:4444", &fd, err, sizeof(err)), -EPERM);
	assert_int_equal(dvm_migrate_listen("unix:/dev/null", &fd, err, sizeof(err)), -EEXIST);
	dvm_vm_request_stop(vm, DVM_STOP_QUIT, 0, "done");
	dvm_vm_wait(vm, NULL, NULL);
	dvm_vm_shutdown(vm);
}

int main(void)
{
	dvm_register_builtin_devices();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),	cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_corrupt),	cmocka_unit_test(test_bad_records),
	    cmocka_unit_test(test_no_kvm_send),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
