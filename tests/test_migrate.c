/* SPDX-License-Identifier: MIT */
/*
 * The migration stream reader (dvm_migrate_receive) without /dev/kvm: a
 * sound stream builds the VM with its pages and device state; every kind of
 * bad input (foreign, corrupted, truncated at any byte, pages outside RAM,
 * a missing or doubled state, a page count that doesn't add up) is refused
 * with -EINVAL and no VM.  Also the dirty-log API's answers without KVM,
 * and that a migration to nowhere leaves the VM as it was.
 *
 * The handover (version 2) against fake peers on a unix socket, without
 * KVM: a fake destination (the real stream reader, then scripted answers)
 * shows the source resumes whenever the destination cannot have started,
 * stays paused (-EINPROGRESS, one pause) when the go-ahead went out
 * unconfirmed, and stops as migrated on "running"; a fake source shows
 * the destination's dvm_migrate_ready() says go only on exactly "go".
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
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

/* ---- the handover against fake peers ---- */

enum script {
	CLOSE_BEFORE_READY, /* reads the stream, closes */
	ERROR_BEFORE_READY, /* "error EIO ..." instead of ready */
	JUNK_BEFORE_READY,  /* "hello" instead of ready */
	SILENT,		    /* never answers (the source times out) */
	READY_CLOSE,	    /* ready, closes before the go arrives */
	GO_CLOSE,	    /* ready, reads go, closes without running */
	GO_ERROR,	    /* ready, go, "error EIO x" */
	GO_JUNK,	    /* ready, go, "runnin" */
	GO_SILENT,	    /* ready, go, then nothing (the source times out) */
	GO_RUNNING,	    /* the real thing: ready, go, start, running */
	EARLY_ERROR,	    /* reads the header, answers "error", closes mid-stream */
};

struct fake_dst {
	enum script script;
	char path[108];
	int lfd;
	int done[2];	   /* a pipe: written once the fake closed (READY_CLOSE) */
	int got_go;	   /* dvm_migrate_ready's return */
	int received;	   /* dvm_migrate_receive's return */
	struct dvm_vm *vm; /* GO_RUNNING: the VM it built and started */
};

static void say(int fd, const char *line)
{
	assert_int_equal(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
}

static void *fake_dst_main(void *arg)
{
	struct fake_dst *f = arg;
	struct dvm_restored r;
	char err[256] = "";
	int fd;
	f->got_go = 1;
	if (dvm_migrate_accept(f->lfd, f->path, &fd, err, sizeof(err)))
		return NULL;
	if (f->script == EARLY_ERROR) {
		uint8_t h[DVM_MIG_HEADER_SIZE];
		assert_int_equal(recv(fd, h, sizeof(h), MSG_WAITALL), (ssize_t)sizeof(h));
		dvm_migrate_answer(fd, -EINVAL, "no thanks");
		f->received = 1;
		goto out;
	}
	f->received = dvm_migrate_receive(fd, DVM_VM_NO_KVM, &r, err, sizeof(err));
	if (f->received) {
		fprintf(stderr, "fake destination: %s\n", err);
		goto out;
	}
	switch (f->script) {
	case ERROR_BEFORE_READY:
		dvm_migrate_answer(fd, -EIO, "x");
		break;
	case JUNK_BEFORE_READY:
		say(fd, "hello\n");
		break;
	case SILENT:
	case GO_SILENT:
		if (f->script == GO_SILENT)
			f->got_go = dvm_migrate_ready(fd, 5000, err, sizeof(err));
		/* Until the source gives up and closes. */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, 10000);
		break;
	case READY_CLOSE:
		say(fd, "ready\n");
		break;
	case GO_CLOSE:
	case GO_ERROR:
	case GO_JUNK:
	case GO_RUNNING:
		f->got_go = dvm_migrate_ready(fd, 5000, err, sizeof(err));
		if (f->got_go)
			break;
		if (f->script == GO_ERROR)
			say(fd, "error EIO x\n");
		else if (f->script == GO_JUNK)
			say(fd, "runnin\n");
		else if (f->script == GO_RUNNING)
			dvm_migrate_answer(fd, dvm_vm_start(r.vm), "start");
		break;
	default:
		break;
	}
out:
	close(fd);
	if (f->received == 0) {
		dvm_restored_free(&r);
		if (f->script == GO_RUNNING && !f->got_go)
			f->vm = r.vm;
		else
			dvm_vm_shutdown(r.vm);
	}
	assert_int_equal(write(f->done[1], "x", 1), 1);
	return NULL;
}

struct phases {
	char seen[8][16];
	uint64_t dirty[8];
	unsigned n;
	struct fake_dst *wait_for; /* "handover" waits until this fake closed */
};

static void on_progress(void *arg, const char *phase, const struct dvm_migrate_stats *st)
{
	struct phases *ph = arg;
	if (ph->n < 8) {
		snprintf(ph->seen[ph->n], sizeof(ph->seen[0]), "%s", phase);
		ph->dirty[ph->n] = st->dirty;
	}
	ph->n++;
	if (ph->wait_for && !strcmp(phase, "handover")) {
		char c;
		assert_int_equal(read(ph->wait_for->done[0], &c, 1), 1);
		assert_int_equal(write(ph->wait_for->done[1], "x", 1), 1); /* for the join */
	}
}

/* A started VM (without KVM unless flags say 0): serial and debug-exit. */
static struct dvm_vm *vm_with(uint32_t flags)
{
	struct dvm_vm_config cfg = {.mem_size = MEM, .flags = flags};
	struct dvm_vm *vm;
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_SERIAL_8250};
	assert_int_equal(dvm_create_device(vm, &cd), 0);
	cd = (struct kvm_create_device){.type = DVM_DEV_TYPE_DEBUG_EXIT};
	assert_int_equal(dvm_create_device(vm, &cd), 0);
	assert_int_equal(dvm_vm_start(vm), 0);
	return vm;
}

static struct dvm_vm *running_vm(void)
{
	return vm_with(DVM_VM_NO_KVM);
}

static void end_vm(struct dvm_vm *vm)
{
	dvm_vm_request_stop(vm, DVM_STOP_QUIT, 0, "done");
	dvm_vm_wait(vm, NULL, NULL);
	dvm_vm_shutdown(vm);
}

/* Migrate a fresh VM to a fake destination running script; the VM is
 * returned for the caller to inspect and end. */
static int handover(enum script script, unsigned ack_ms, struct fake_dst *f, struct phases *ph,
		    struct dvm_vm **vm_out, char *err, size_t errlen)
{
	char uri[120], tmpl[] = "/tmp/dvm-mig-XXXXXX";
	struct dvm_migrate_stats stats;
	pthread_t t;

	memset(f, 0, sizeof(*f));
	memset(ph, 0, sizeof(*ph));
	f->script = script;
	assert_non_null(mkdtemp(tmpl));
	snprintf(f->path, sizeof(f->path), "%s/in", tmpl);
	snprintf(uri, sizeof(uri), "unix:%s", f->path);
	assert_int_equal(dvm_migrate_listen(uri, &f->lfd, err, errlen), 0);
	assert_int_equal(pipe(f->done), 0);
	assert_int_equal(pthread_create(&t, NULL, fake_dst_main, f), 0);
	if (script == READY_CLOSE)
		ph->wait_for = f;
	struct dvm_migrate_opts o = {
	    .ack_timeout_ms = ack_ms, .progress = on_progress, .progress_arg = ph};
	*vm_out = running_vm();
	if (script == EARLY_ERROR) {
		/* Pages that are not zero: more than the socket holds. */
		uint8_t *m = dvm_vm_gpa_to_hva(*vm_out, 0, MEM);
		assert_non_null(m);
		memset(m, 0xa5, MEM);
	}
	int ret = dvm_migrate_send(*vm_out, uri, &o, &stats, err, errlen);
	unsigned after = ph->n;
	pthread_join(t, NULL);
	assert_int_equal(ph->n, after); /* never called after the return */
	close(f->done[0]);
	close(f->done[1]);
	rmdir(tmpl);
	assert_int_equal(f->received, script == EARLY_ERROR);
	return ret;
}

/* Every failure before the go-ahead: the source runs on, unpaused. */
static void test_resumes_before_go(void **st)
{
	(void)st;
	static const struct {
		enum script script;
		unsigned ack_ms;
		int ret;
		const char *want;
	} cases[] = {
	    {CLOSE_BEFORE_READY, 2000, -ECONNABORTED, "closed the connection without starting"},
	    {ERROR_BEFORE_READY, 2000, -EREMOTEIO, "the destination refused: EIO x"},
	    {JUNK_BEFORE_READY, 2000, -EBADMSG, "unexpected answer from the destination: hello"},
	    {SILENT, 300, -ETIMEDOUT, "not ready: no answer in 300 ms"},
	    {READY_CLOSE, 2000, -EPIPE, "sending the go-ahead"},
	    {EARLY_ERROR, 2000, -EPIPE,
	     "sending: Broken pipe; the destination said: EINVAL no thanks"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_dst f;
		struct phases ph;
		struct dvm_vm *vm;
		char err[300] = "";
		int ret =
		    handover(cases[i].script, cases[i].ack_ms, &f, &ph, &vm, err, sizeof(err));
		if (ret != cases[i].ret || !strstr(err, cases[i].want))
			fail_msg("case %zu: ret %d err '%s', wanted %d '%s'", i, ret, err,
				 cases[i].ret, cases[i].want);
		assert_int_equal(dvm_vm_state(vm), DVM_VM_RUNNING);
		assert_int_equal(dvm_vm_resume(vm), -EINVAL); /* no pause left behind */
		end_vm(vm);
	}
}

/* "error" after go: the destination did not start; the source resumes. */
static void test_error_after_go(void **st)
{
	(void)st;
	struct fake_dst f;
	struct phases ph;
	struct dvm_vm *vm;
	char err[300] = "";
	assert_int_equal(handover(GO_ERROR, 2000, &f, &ph, &vm, err, sizeof(err)), -EREMOTEIO);
	assert_int_equal(f.got_go, 0);
	assert_non_null(strstr(err, "the destination failed to start: EIO x"));
	assert_int_equal(dvm_vm_state(vm), DVM_VM_RUNNING);
	assert_int_equal(dvm_vm_resume(vm), -EINVAL);
	end_vm(vm);
}

/* Go sent, no confirmation: paused, by exactly one pause. */
static void test_unknown_after_go(void **st)
{
	(void)st;
	static const struct {
		enum script script;
		unsigned ack_ms;
		const char *why;
	} cases[] = {
	    {GO_CLOSE, 2000, "(it closed the connection)"},
	    {GO_JUNK, 2000, "(it answered 'runnin')"},
	    {GO_SILENT, 300, "(no answer in 300 ms)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_dst f;
		struct phases ph;
		struct dvm_vm *vm;
		char err[300] = "";
		int ret =
		    handover(cases[i].script, cases[i].ack_ms, &f, &ph, &vm, err, sizeof(err));
		if (ret != -EINPROGRESS || !strstr(err, cases[i].why) ||
		    !strstr(err, "did not confirm") || !strstr(err, "stays paused"))
			fail_msg("case %zu: ret %d err '%s'", i, ret, err);
		assert_int_equal(f.got_go, 0);
		assert_int_equal(dvm_vm_state(vm), DVM_VM_PAUSED);
		/* The pause is the operator's now: what dvm ctl resume undoes. */
		unsigned by_operator, all;
		dvm_vm_pauses(vm, &by_operator, &all);
		assert_int_equal(by_operator, 1);
		assert_int_equal(all, 1);
		assert_int_equal(dvm_vm_resume_operator(vm), 0);
		assert_int_equal(dvm_vm_state(vm), DVM_VM_RUNNING);
		assert_int_equal(dvm_vm_resume_operator(vm), -EINVAL);
		end_vm(vm);
	}
}

/* The whole handover with the real destination calls: the source stops as
 * migrated, the destination's VM runs with the state sent; progress came
 * in order (no dirty log without KVM: everything is sent paused). */
static void test_round_trip(void **st)
{
	(void)st;
	struct fake_dst f;
	struct phases ph;
	struct dvm_vm *vm;
	char err[300] = "";
	enum dvm_stop_reason reason;
	const char *msg;
	assert_int_equal(handover(GO_RUNNING, 2000, &f, &ph, &vm, err, sizeof(err)), 0);
	assert_int_equal(f.got_go, 0);
	assert_int_equal(dvm_vm_state(vm), DVM_VM_STOPPED);
	assert_int_equal(dvm_vm_wait(vm, &reason, &msg), 0);
	assert_int_equal(reason, DVM_STOP_MIGRATED);
	assert_non_null(strstr(msg, "migrated to unix:"));
	dvm_vm_shutdown(vm);
	assert_non_null(f.vm);
	assert_int_equal(dvm_vm_state(f.vm), DVM_VM_RUNNING);
	end_vm(f.vm);
	assert_int_equal(ph.n, 2);
	assert_string_equal(ph.seen[0], "stop-and-copy");
	assert_int_equal(ph.dirty[0], MEM / 4096);
	assert_string_equal(ph.seen[1], "handover");
}

/* With KVM: one pre-copy round reported before the stop and copy. */
static void test_progress_kvm(void **st)
{
	(void)st;
	struct dvm_vm_config cfg = {.mem_size = MEM};
	struct dvm_vm *vm;
	if (dvm_vm_create(&cfg, &vm)) {
		skip();
		return;
	}
	dvm_vm_shutdown(vm);
	/* The fake destination builds a no-KVM VM from it; fine. */
	struct fake_dst f;
	struct phases ph;
	char err[300] = "", uri[120], tmpl[] = "/tmp/dvm-mig-XXXXXX";
	struct dvm_migrate_stats stats;
	pthread_t t;
	memset(&f, 0, sizeof(f));
	memset(&ph, 0, sizeof(ph));
	f.script = GO_RUNNING;
	assert_non_null(mkdtemp(tmpl));
	snprintf(f.path, sizeof(f.path), "%s/in", tmpl);
	snprintf(uri, sizeof(uri), "unix:%s", f.path);
	assert_int_equal(dvm_migrate_listen(uri, &f.lfd, err, sizeof(err)), 0);
	assert_int_equal(pipe(f.done), 0);
	assert_int_equal(pthread_create(&t, NULL, fake_dst_main, &f), 0);
	vm = vm_with(0);
	struct dvm_migrate_opts o = {.progress = on_progress, .progress_arg = &ph};
	int ret = dvm_migrate_send(vm, uri, &o, &stats, err, sizeof(err));
	pthread_join(t, NULL);
	close(f.done[0]);
	close(f.done[1]);
	rmdir(tmpl);
	if (ret)
		fail_msg("ret %d: %s", ret, err);
	assert_int_equal(stats.dirty_log, 1);
	assert_int_equal(ph.n, 3);
	assert_string_equal(ph.seen[0], "precopy");
	assert_int_equal(ph.dirty[0], 0); /* no vCPU wrote anything */
	assert_string_equal(ph.seen[1], "stop-and-copy");
	assert_string_equal(ph.seen[2], "handover");
	dvm_vm_wait(vm, NULL, NULL);
	dvm_vm_shutdown(vm);
	if (f.vm)
		end_vm(f.vm);
}

/* The destination's side: "ready", then go only on exactly "go\n". */
static int ready_with(const char *from_source, size_t n, bool close_after, unsigned ms, char *err,
		      size_t errlen, char *rest)
{
	int sv[2];
	char got[8] = "";
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (n)
		assert_int_equal(write(sv[1], from_source, n), (ssize_t)n);
	if (close_after)
		shutdown(sv[1], SHUT_WR);
	int ret = dvm_migrate_ready(sv[0], ms, err, errlen);
	assert_int_equal(read(sv[1], got, 6), 6);
	assert_memory_equal(got, "ready\n", 6);
	if (rest) {
		ssize_t r = recv(sv[0], rest, 15, MSG_DONTWAIT);
		rest[r > 0 ? r : 0] = '\0';
	}
	close(sv[0]);
	close(sv[1]);
	return ret;
}

static void test_destination_waits_for_go(void **st)
{
	(void)st;
	char err[256], rest[16];
	assert_int_equal(ready_with("go\n", 3, false, 1000, err, sizeof(err), rest), 0);
	assert_string_equal(rest, "");
	/* Nothing read past the go-ahead. */
	assert_int_equal(ready_with("go\nXYZ", 6, false, 1000, err, sizeof(err), rest), 0);
	assert_string_equal(rest, "XYZ");
	assert_int_equal(ready_with("", 0, true, 1000, err, sizeof(err), NULL), -ECONNRESET);
	assert_non_null(strstr(err, "closed the connection"));
	assert_int_equal(ready_with("go", 2, true, 1000, err, sizeof(err), NULL), -ECONNRESET);
	assert_int_equal(ready_with("go", 2, false, 200, err, sizeof(err), NULL), -ETIMEDOUT);
	assert_non_null(strstr(err, "no go-ahead in 200 ms"));
	assert_int_equal(ready_with("", 0, false, 200, err, sizeof(err), NULL), -ETIMEDOUT);
	static const char *const junk[] = {"GO\n", "go \n",	"go\r\n", "g\n",
					   "\n",   "running\n", "gogo\n", "go go go go go go go\n"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int ret = ready_with(junk[i], strlen(junk[i]), false, 1000, err, sizeof(err), NULL);
		if (ret != -EPROTO || !strstr(err, "instead of the go-ahead"))
			fail_msg("'%s': ret %d err '%s'", junk[i], ret, err);
	}
	assert_int_equal(ready_with("\0go\n", 4, false, 1000, err, sizeof(err), NULL), -EPROTO);
	assert_non_null(strstr(err, "'?go?'"));
	/* A source gone before "ready": the send fails. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(dvm_migrate_ready(sv[0], 1000, err, sizeof(err)), -EPIPE);
	close(sv[0]);
	/* An answer with a newline in its message stays one line. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(dvm_migrate_answer(sv[0], -EIO, "two\nlines"), 0);
	char line[64] = "";
	assert_true(read(sv[1], line, sizeof(line) - 1) > 0);
	assert_string_equal(line, "error EIO two lines\n");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	dvm_register_builtin_devices();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_corrupt),
	    cmocka_unit_test(test_bad_records),
	    cmocka_unit_test(test_no_kvm_send),
	    cmocka_unit_test(test_resumes_before_go),
	    cmocka_unit_test(test_error_after_go),
	    cmocka_unit_test(test_unknown_after_go),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_progress_kvm),
	    cmocka_unit_test(test_destination_waits_for_go),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
