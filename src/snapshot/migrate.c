// SPDX-License-Identifier: MIT
/* Live migration over a stream socket: see include/dvm/migrate.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dvm/migrate.h"
#include "snapshot/wire.h"

#define PAGE 4096u
#define ENTRY (8 + PAGE)
#define BATCH (DVM_MIG_MAX_PAGES_LEN / ENTRY)

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- addresses ---- */

struct addr {
	struct sockaddr_storage sa;
	socklen_t len;
	int family;
};

static int parse_uri(const char *uri, struct addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (!strncmp(uri, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&a->sa;
		const char *path = uri + 5;
		if (!*path || strlen(path) >= sizeof(un->sun_path))
			return fail(err, errlen, -EINVAL, "%s: a socket path of 1 to %zu bytes",
				    uri, sizeof(un->sun_path) - 1);
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		a->len = sizeof(*un);
		a->family = AF_UNIX;
		return 0;
	}
	if (!strncmp(uri, "tcp:", 4)) {
		char host[256];
		const char *hp = uri + 4, *colon = strrchr(hp, ':');
		if (!colon || colon == hp || (size_t)(colon - hp) >= sizeof(host) || !colon[1])
			return fail(err, errlen, -EINVAL, "%s: expected tcp:HOST:PORT", uri);
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = '\0';
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
		int r = getaddrinfo(host, colon + 1, &hints, &res);
		if (r)
			return fail(err, errlen, -EINVAL, "%s: %s", uri, gai_strerror(r));
		memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
		a->len = res->ai_addrlen;
		a->family = res->ai_family;
		freeaddrinfo(res);
		return 0;
	}
	return fail(err, errlen, -EINVAL, "%s: expected unix:PATH or tcp:HOST:PORT", uri);
}

static bool is_loopback(const struct addr *a)
{
	if (a->family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&a->sa)->sin_addr.s_addr) >> 24) == 127;
	if (a->family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&a->sa)->sin6_addr);
	return false;
}

static void set_timeouts(int fd, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* ---- sending ---- */

struct sender {
	struct dvm_vm *vm;
	int fd;
	uint8_t *buf; /* a PAGES payload being filled */
	size_t len;
	unsigned nr;
	uint64_t round;
	struct dvm_migrate_stats *st;
	char *err;
	size_t errlen;
	char in[512]; /* the destination's answers, read ahead */
	size_t in_len;
};

static int send_all(struct sender *s, const void *p, size_t n)
{
	const uint8_t *q = p;
	while (n) {
		ssize_t w = send(s->fd, q, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			if (e == EAGAIN || e == EWOULDBLOCK)
				e = ETIMEDOUT;
			/* dvm ctl takes ECONNRESET for its own socket's failure. */
			return fail(s->err, s->errlen, e == ECONNRESET ? -ECONNABORTED : -e,
				    "sending: %s", strerror(e));
		}
		q += w;
		n -= (size_t)w;
		s->st->bytes += (uint64_t)w;
	}
	return 0;
}

static int send_record(struct sender *s, uint32_t type, uint64_t arg, const void *payload,
		       size_t len)
{
	uint8_t h[DVM_MIG_REC_SIZE];
	put32(h, type);
	put32(h + 4, (uint32_t)len);
	put64(h + 8, arg);
	put32(h + 16, crc(payload, len));
	put32(h + 20, crc(h, 20));
	int ret = send_all(s, h, sizeof(h));
	return ret || !len ? ret : send_all(s, payload, len);
}

static int flush_pages(struct sender *s)
{
	if (!s->nr)
		return 0;
	/* A VM that stopped meanwhile (the guest exited) is not worth going on with. */
	if (dvm_vm_state(s->vm) == DVM_VM_STOPPED)
		return fail(s->err, s->errlen, -ECANCELED, "the VM stopped during the migration");
	int ret = send_record(s, DVM_MIG_PAGES, s->round, s->buf, s->len);
	s->len = 0;
	s->nr = 0;
	return ret;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];
	return memcmp(p, zero, PAGE) == 0;
}

/* The page is copied first: the guest may be writing it, and the CRC must
 * cover the bytes sent.  A later write is in the dirty log. */
static int add_page(struct sender *s, uint64_t off, bool skip_zero)
{
	const uint8_t *p = dvm_vm_ram_hva(s->vm, off);
	uint8_t *e = s->buf + s->len;
	memcpy(e + 8, p, PAGE);
	bool zero = page_is_zero(e + 8);
	if (zero && skip_zero)
		return 0;
	put64(e, off | (zero ? DVM_MIG_ZERO_PAGE : 0));
	s->len += zero ? 8 : ENTRY;
	s->nr++;
	s->st->pages++;
	return s->nr == BATCH ? flush_pages(s) : 0;
}

static int send_all_pages(struct sender *s)
{
	uint64_t size = dvm_vm_mem_size(s->vm);
	for (uint64_t off = 0; off < size; off += PAGE) {
		int ret = add_page(s, off, true); /* the destination starts zeroed */
		if (ret)
			return ret;
	}
	return flush_pages(s);
}

static uint64_t count_bits(const uint64_t *bm, size_t words)
{
	uint64_t n = 0;
	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(bm[i]);
	return n;
}

static int send_dirty(struct sender *s, const uint64_t *bm, size_t words)
{
	for (size_t i = 0; i < words; i++) {
		uint64_t w = bm[i];
		while (w) {
			unsigned b = (unsigned)__builtin_ctzll(w);
			w &= w - 1;
			int ret = add_page(s, ((uint64_t)i * 64 + b) * PAGE, false);
			if (ret)
				return ret;
		}
	}
	return flush_pages(s);
}

/*
 * One line from the destination into line (without the newline), waiting
 * in slices so that a VM stopped meanwhile (a signal, quit) is noticed.
 * 0, -ETIMEDOUT, -ECONNRESET (closed), -EPROTO (no line), -ECANCELED; err
 * is left to the caller, which knows what the failure means.
 */
static int read_line(struct sender *s, unsigned timeout_ms, char *line, size_t size)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *nl = memchr(s->in, '\n', s->in_len);
		if (nl) {
			size_t n = (size_t)(nl - s->in);
			if (n >= size)
				return -EPROTO;
			memcpy(line, s->in, n);
			line[n] = '\0';
			s->in_len -= n + 1;
			memmove(s->in, nl + 1, s->in_len);
			return 0;
		}
		if (s->in_len == sizeof(s->in))
			return -EPROTO;
		if (ms_since(&t0) > timeout_ms)
			return -ETIMEDOUT;
		if (dvm_vm_state(s->vm) == DVM_VM_STOPPED)
			return -ECANCELED;
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t got = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			return -ECONNRESET;
		s->in_len += (size_t)got;
	}
}

static const char *line_error(int ret, unsigned timeout_ms, char *buf, size_t size)
{
	if (ret == -ETIMEDOUT)
		snprintf(buf, size, "no answer in %u ms", timeout_ms);
	else if (ret == -ECONNRESET)
		snprintf(buf, size, "it closed the connection");
	else if (ret == -ECANCELED)
		snprintf(buf, size, "the VM here stopped meanwhile");
	else
		snprintf(buf, size, "its answer is not a line");
	return buf;
}

/* Before "go": anything but "ready" means the destination will not run. */
static int wait_ready(struct sender *s, unsigned timeout_ms)
{
	char line[512], why[64];
	int ret = read_line(s, timeout_ms, line, sizeof(line));

	/* Not ECONNRESET or EPROTO: dvm ctl takes those for its own socket's. */
	if (ret == -ECONNRESET)
		return fail(s->err, s->errlen, -ECONNABORTED,
			    "the destination closed the connection without starting");
	if (ret == -EPROTO)
		ret = -EBADMSG;
	if (ret)
		return fail(s->err, s->errlen, ret, "the destination is not ready: %s",
			    line_error(ret, timeout_ms, why, sizeof(why)));
	if (!strcmp(line, "ready"))
		return 0;
	if (!strncmp(line, "error ", 6))
		return fail(s->err, s->errlen, -EREMOTEIO, "the destination refused: %s", line + 6);
	return fail(s->err, s->errlen, -EBADMSG, "unexpected answer from the destination: %.100s",
		    line);
}

/* After "go": "running", "error ..." (it did not start), or unknown. */
static int wait_running(struct sender *s, unsigned timeout_ms)
{
	char line[512], why[64];
	int ret = read_line(s, timeout_ms, line, sizeof(line));

	if (!ret && !strcmp(line, "running"))
		return 0;
	if (!ret && !strncmp(line, "error ", 6))
		return fail(s->err, s->errlen, -EREMOTEIO, "the destination failed to start: %s",
			    line + 6);
	if (!ret)
		snprintf(why, sizeof(why), "it answered '%.20s'", line);
	else
		line_error(ret, timeout_ms, why, sizeof(why));
	return fail(s->err, s->errlen, -EINPROGRESS,
		    "the destination got the go-ahead but did not confirm (%s); the VM stays "
		    "paused here: resume it only if the destination is not running",
		    why);
}

/* A send failed before "go": a destination that refused the stream (a
 * version-1 dvm, say) closes after its "error" line; show that line. */
static void peer_said(struct sender *s)
{
	char line[256];
	size_t at = strlen(s->err);
	ssize_t n = recv(s->fd, line, sizeof(line) - 1, MSG_DONTWAIT);

	if (n <= 6 || memcmp(line, "error ", 6))
		return;
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (at < s->errlen)
		snprintf(s->err + at, s->errlen - at, "; the destination said: %s", line + 6);
}

static void progress(const struct dvm_migrate_opts *o, const char *phase,
		     const struct dvm_migrate_stats *st)
{
	if (o->progress)
		o->progress(o->progress_arg, phase, st);
}

int dvm_migrate_send(struct dvm_vm *vm, const char *uri, const struct dvm_migrate_opts *opts,
		     struct dvm_migrate_stats *stats, char *err, size_t errlen)
{
	struct dvm_migrate_opts o = opts ? *opts : (struct dvm_migrate_opts){0};
	struct sender s = {.vm = vm, .fd = -1, .st = stats, .err = err, .errlen = errlen};
	struct timespec t0, tp;
	struct addr a;
	uint64_t *bm = NULL;
	size_t words = dvm_vm_dirty_bitmap_words(vm);
	uint8_t *state = NULL;
	size_t state_len = 0;
	bool logging = false, paused = false, committed = false;
	int ret;

	memset(stats, 0, sizeof(*stats));
	if (!o.max_rounds)
		o.max_rounds = 10;
	if (!o.dirty_threshold)
		o.dirty_threshold = 256;
	if (!o.ack_timeout_ms)
		o.ack_timeout_ms = 30000;
	if (!o.io_timeout_ms)
		o.io_timeout_ms = 10000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = parse_uri(uri, &a, err, errlen);
	if (ret)
		return ret;
	enum dvm_vm_state vst = dvm_vm_state(vm);
	if (vst != DVM_VM_RUNNING && vst != DVM_VM_PAUSED)
		return fail(err, errlen, -EINVAL, "the VM is not running");
	s.buf = malloc(DVM_MIG_MAX_PAGES_LEN);
	bm = calloc(words ? words : 1, 8);
	if (!s.buf || !bm) {
		ret = -ENOMEM;
		goto out;
	}
	s.fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s.fd < 0) {
		ret = fail(err, errlen, -errno, "socket: %s", strerror(errno));
		goto out;
	}
	set_timeouts(s.fd, o.io_timeout_ms);
	if (connect(s.fd, (struct sockaddr *)&a.sa, a.len)) {
		/* SO_SNDTIMEO ends a blocking connect with EINPROGRESS, which
		 * means something else here. */
		int e = errno == EINPROGRESS ? ETIMEDOUT : errno;
		ret = fail(err, errlen, -e, "connecting to %s: %s", uri, strerror(e));
		goto out;
	}
	uint8_t h[DVM_MIG_HEADER_SIZE] = {0};
	memcpy(h, DVM_MIGRATE_MAGIC, 8);
	put32(h + 8, DVM_MIGRATE_VERSION);
	put32(h + 12, DVM_MIG_HEADER_SIZE);
	put64(h + 16, dvm_vm_mem_size(vm));
	put32(h + 28, crc(h, 28));
	ret = send_all(&s, h, sizeof(h));
	if (ret)
		goto out;

	/* Pre-copy: everything, then what the guest dirtied meanwhile, while
	 * it runs.  Without dirty logging (no KVM) all is sent paused. */
	ret = dvm_vm_dirty_log_start(vm);
	if (ret == 0) {
		logging = true;
		stats->dirty_log = 1;
		ret = send_all_pages(&s);
		stats->rounds = 1;
		while (!ret) {
			ret = dvm_vm_dirty_log_get(vm, bm);
			if (ret) {
				fail(err, errlen, ret, "reading the dirty log: %s", strerror(-ret));
				break;
			}
			stats->dirty = count_bits(bm, words);
			progress(&o, "precopy", stats);
			if (stats->dirty < o.dirty_threshold || stats->rounds > o.max_rounds)
				break; /* bm is sent with the last ones */
			s.round = stats->rounds++;
			ret = send_dirty(&s, bm, words);
		}
		if (ret)
			goto out;
	} else if (ret != -EOPNOTSUPP) {
		fail(err, errlen, ret, "dirty-page logging: %s", strerror(-ret));
		goto out;
	}

	/* Stop and copy. */
	clock_gettime(CLOCK_MONOTONIC, &tp);
	ret = dvm_vm_pause(vm);
	if (ret) {
		fail(err, errlen, ret, "the VM stopped during the migration");
		goto out;
	}
	paused = true;
	s.round = stats->rounds;
	if (logging) {
		uint64_t *more = calloc(words ? words : 1, 8);
		if (!more) {
			ret = -ENOMEM;
			goto out;
		}
		ret = dvm_vm_dirty_log_get(vm, more);
		for (size_t i = 0; i < words; i++)
			bm[i] |= more[i];
		free(more);
		if (ret) {
			fail(err, errlen, ret, "reading the dirty log: %s", strerror(-ret));
			goto out;
		}
		stats->last_dirty = stats->dirty = count_bits(bm, words);
		progress(&o, "stop-and-copy", stats);
		ret = send_dirty(&s, bm, words);
	} else {
		uint64_t before = stats->pages;
		stats->rounds = 1;
		stats->dirty = dvm_vm_mem_size(vm) / PAGE;
		progress(&o, "stop-and-copy", stats);
		ret = send_all_pages(&s);
		stats->last_dirty = stats->pages - before;
	}
	if (ret)
		goto out;
	ret = dvm_snapshot_state(vm, &state, &state_len, err, errlen);
	if (ret)
		goto out;
	ret = send_record(&s, DVM_MIG_STATE, 0, state, state_len);
	if (!ret)
		ret = send_record(&s, DVM_MIG_END, stats->pages, NULL, 0);
	if (ret)
		goto out;
	progress(&o, "handover", stats);
	ret = wait_ready(&s, o.ack_timeout_ms);
	if (ret)
		goto out;
	/* From here the destination may run: this copy resumes only on its
	 * word that it did not start. */
	ret = send_all(&s, "go\n", 3);
	if (ret) {
		fail(err, errlen, ret,
		     "sending the go-ahead: %s (the destination cannot have "
		     "started)",
		     strerror(-ret));
		goto out;
	}
	committed = true;
	ret = wait_running(&s, o.ack_timeout_ms);
	if (ret)
		goto out;
	stats->downtime_ms = ms_since(&tp);
	stats->total_ms = ms_since(&t0);
	/* It runs there now: this copy must never run again. */
	char msg[300];
	snprintf(msg, sizeof(msg), "migrated to %s", uri);
	dvm_vm_request_stop(vm, DVM_STOP_MIGRATED, DVM_STATUS_OK, msg);
out:
	if (logging)
		dvm_vm_dirty_log_stop(vm);
	/* After the stop this only balances the pause.  An unknown outcome
	 * hands it to the operator: only an operator's resume undoes it. */
	if (!committed && ret == -EINPROGRESS)
		ret = -EIO; /* reserved for the unknown outcome */
	if (!committed && s.fd >= 0 && (ret == -EPIPE || ret == -ECONNABORTED) && err && errlen)
		peer_said(&s);
	if (paused && committed && ret == -EINPROGRESS)
		dvm_vm_pause_to_operator(vm);
	else if (paused)
		dvm_vm_resume(vm);
	if (s.fd >= 0)
		close(s.fd);
	free(state);
	free(s.buf);
	free(bm);
	return ret;
}

/* ---- receiving ---- */

int dvm_migrate_listen(const char *uri, int *fd_out, char *err, size_t errlen)
{
	struct addr a;
	struct stat st;
	int fd, ret = parse_uri(uri, &a, err, errlen), one = 1;

	if (ret)
		return ret;
	if (a.family != AF_UNIX && !is_loopback(&a))
		return fail(err, errlen, -EPERM,
			    "%s: not a loopback address (the stream is neither authenticated "
			    "nor encrypted)",
			    uri);
	if (a.family == AF_UNIX) {
		const char *path = ((struct sockaddr_un *)&a.sa)->sun_path;
		if (lstat(path, &st) == 0) {
			/* Replace only a socket nobody answers on. */
			if (!S_ISSOCK(st.st_mode))
				return fail(err, errlen, -EEXIST, "%s exists", path);
			int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			bool live =
			    probe >= 0 && connect(probe, (struct sockaddr *)&a.sa, a.len) == 0;
			if (probe >= 0)
				close(probe);
			if (live)
				return fail(err, errlen, -EADDRINUSE, "%s: someone listens there",
					    path);
			unlink(path);
		}
	}
	fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, errlen, -errno, "socket: %s", strerror(errno));
	if (a.family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	else
		fchmod(fd, 0600);
	if (bind(fd, (struct sockaddr *)&a.sa, a.len) || listen(fd, 1)) {
		ret = fail(err, errlen, -errno, "%s: %s", uri, strerror(errno));
		close(fd);
		return ret;
	}
	if (a.family == AF_UNIX)
		chmod(((struct sockaddr_un *)&a.sa)->sun_path, 0600);
	*fd_out = fd;
	return 0;
}

int dvm_migrate_accept(int listen_fd, const char *uri, int *conn, char *err, size_t errlen)
{
	int fd;
	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	int e = errno;
	close(listen_fd);
	if (!strncmp(uri, "unix:", 5))
		unlink(uri + 5);
	if (fd < 0)
		return fail(err, errlen, -e, "accept: %s", strerror(e));
	/* A source that stalls mid-stream doesn't hold us forever. */
	set_timeouts(fd, 60000);
	*conn = fd;
	return 0;
}

/* 0, or -EIO for a stream that ends early (n bytes short), -ETIMEDOUT. */
static int read_full(int fd, void *p, size_t n)
{
	uint8_t *q = p;
	while (n) {
		ssize_t r = read(fd, q, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		q += r;
		n -= (size_t)r;
	}
	return 0;
}

static int short_read(int ret, char *err, size_t errlen, const char *what)
{
	if (ret == -EIO)
		return fail(err, errlen, -EINVAL, "the stream ends early (%s): truncated", what);
	return fail(err, errlen, ret, "reading the stream (%s): %s", what, strerror(-ret));
}

/* Pages go into the memfd's mapping only once their record's CRC is right. */
static int apply_pages(const uint8_t *p, size_t len, uint8_t *mem, uint64_t mem_size, char *err,
		       size_t errlen)
{
	size_t at = 0;
	while (at < len) {
		if (len - at < 8)
			return fail(err, errlen, -EINVAL, "a page entry is cut short");
		uint64_t off = get64(p + at);
		bool zero = off & DVM_MIG_ZERO_PAGE;
		off &= ~DVM_MIG_ZERO_PAGE;
		at += 8;
		if ((off & (PAGE - 1)) || off >= mem_size)
			return fail(err, errlen, -EINVAL, "page offset %#llx outside guest RAM",
				    (unsigned long long)off);
		if (zero) {
			memset(mem + off, 0, PAGE);
			continue;
		}
		if (len - at < PAGE)
			return fail(err, errlen, -EINVAL, "a page is cut short");
		memcpy(mem + off, p + at, PAGE);
		at += PAGE;
	}
	return 0;
}

int dvm_migrate_receive(int fd, uint32_t vm_flags, struct dvm_restored *out, char *err,
			size_t errlen)
{
	uint8_t h[DVM_MIG_HEADER_SIZE];
	uint8_t *payload = NULL, *state = NULL, *mem = MAP_FAILED;
	size_t state_len = 0;
	int mem_fd = -1, ret;
	uint64_t pages = 0;

	memset(out, 0, sizeof(*out));
	ret = read_full(fd, h, sizeof(h));
	if (ret)
		return short_read(ret, err, errlen, "header");
	if (memcmp(h, DVM_MIGRATE_MAGIC, 8))
		return fail(err, errlen, -EINVAL, "not a dvm migration stream");
	if (get32(h + 28) != crc(h, 28))
		return fail(err, errlen, -EINVAL, "stream header checksum mismatch");
	if (get32(h + 8) != DVM_MIGRATE_VERSION || get32(h + 12) != DVM_MIG_HEADER_SIZE)
		return fail(err, errlen, -EINVAL,
			    "migration stream version %u, this dvm reads version %u only (the "
			    "source and the destination need the same one)",
			    get32(h + 8), DVM_MIGRATE_VERSION);
	uint64_t mem_size = get64(h + 16);
	if (!mem_size || (mem_size & (PAGE - 1)) || mem_size > (1ull << 40) || get32(h + 24))
		return fail(err, errlen, -EINVAL, "stream header: bad memory size or flags");

	mem_fd = memfd_create("dvm-incoming", MFD_CLOEXEC);
	if (mem_fd < 0)
		return fail(err, errlen, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(mem_fd, (off_t)mem_size)) {
		ret = fail(err, errlen, -errno, "guest memory: %s", strerror(errno));
		goto out;
	}
	mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mem_fd, 0);
	payload = malloc(DVM_MIG_MAX_PAGES_LEN);
	if (mem == MAP_FAILED || !payload) {
		ret = fail(err, errlen, -ENOMEM, "guest memory: %s", strerror(ENOMEM));
		goto out;
	}
	for (;;) {
		uint8_t r[DVM_MIG_REC_SIZE];
		ret = read_full(fd, r, sizeof(r));
		if (ret) {
			ret = short_read(ret, err, errlen, "record");
			goto out;
		}
		if (get32(r + 20) != crc(r, 20)) {
			ret = fail(err, errlen, -EINVAL, "record header checksum mismatch");
			goto out;
		}
		uint32_t type = get32(r), len = get32(r + 4);
		uint8_t *dst = payload;
		if (type == DVM_MIG_PAGES) {
			if (len > DVM_MIG_MAX_PAGES_LEN) {
				ret = fail(err, errlen, -EINVAL, "a pages record of %u bytes", len);
				goto out;
			}
		} else if (type == DVM_MIG_STATE) {
			if (state || len > DVM_SNAPSHOT_MAX_STATE + 64u) {
				ret = fail(err, errlen, -EINVAL,
					   state ? "a second state record"
						 : "a state record too large");
				goto out;
			}
			dst = state = malloc(len ? len : 1);
			state_len = len;
			if (!state) {
				ret = -ENOMEM;
				goto out;
			}
		} else if (type == DVM_MIG_END) {
			if (len) {
				ret = fail(err, errlen, -EINVAL, "an end record with a payload");
				goto out;
			}
			if (get64(r + 8) != pages) {
				ret = fail(err, errlen, -EINVAL,
					   "the source sent %llu pages, %llu arrived",
					   (unsigned long long)get64(r + 8),
					   (unsigned long long)pages);
				goto out;
			}
			break;
		} else {
			ret = fail(err, errlen, -EINVAL, "unknown record type %u", type);
			goto out;
		}
		ret = read_full(fd, dst, len);
		if (ret) {
			ret = short_read(ret, err, errlen, "payload");
			goto out;
		}
		if (get32(r + 16) != crc(dst, len)) {
			ret =
			    fail(err, errlen, -EINVAL, "record checksum mismatch (type %u)", type);
			goto out;
		}
		if (type == DVM_MIG_PAGES) {
			ret = apply_pages(dst, len, mem, mem_size, err, errlen);
			if (ret)
				goto out;
			for (size_t at = 0; at < len; pages++)
				at += (get64(dst + at) & DVM_MIG_ZERO_PAGE) ? 8 : 8 + PAGE;
		}
	}
	if (!state) {
		ret = fail(err, errlen, -EINVAL, "the stream has no device state");
		goto out;
	}
	munmap(mem, mem_size);
	mem = MAP_FAILED;
	/* Pages are CRC-checked per record; the state's memory CRC is not kept. */
	ret = dvm_snapshot_restore_state(state, state_len, mem_fd, vm_flags, DVM_RESTORE_NO_VERIFY,
					 out, err, errlen);
	if (!ret && dvm_vm_mem_size(out->vm) != mem_size) {
		dvm_vm_shutdown(out->vm);
		dvm_restored_free(out);
		out->vm = NULL;
		ret = fail(err, errlen, -EINVAL, "the state's memory size is not the stream's");
	}
out:
	if (mem != MAP_FAILED)
		munmap(mem, mem_size);
	if (mem_fd >= 0)
		close(mem_fd); /* the VM's mapping keeps it */
	free(payload);
	free(state);
	return ret;
}

static int send_line(int fd, const char *line, size_t n)
{
	for (size_t at = 0; at < n;) {
		ssize_t w = send(fd, line + at, n - at, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 && errno != EAGAIN ? -errno : -EPIPE;
		at += (size_t)w;
	}
	return 0;
}

int dvm_migrate_ready(int fd, unsigned timeout_ms, char *err, size_t errlen)
{
	char line[16];
	size_t n = 0;
	struct timespec t0;
	int ret = send_line(fd, "ready\n", 6);

	if (ret)
		return fail(err, errlen, ret, "answering ready: %s", strerror(-ret));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A byte at a time: exactly "go\n", nothing read past it. */
	while (n < sizeof(line)) {
		double left = timeout_ms - ms_since(&t0);
		if (left <= 0)
			return fail(err, errlen, -ETIMEDOUT, "no go-ahead in %u ms", timeout_ms);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left + 1);
		if (r < 0 && errno != EINTR)
			return fail(err, errlen, -errno, "waiting for the go-ahead: %s",
				    strerror(errno));
		if (r <= 0)
			continue;
		ssize_t got = recv(fd, line + n, 1, 0);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return fail(err, errlen, -errno, "waiting for the go-ahead: %s",
				    strerror(errno));
		if (got == 0)
			return fail(err, errlen, -ECONNRESET,
				    "it closed the connection instead of the go-ahead");
		if (line[n++] == '\n')
			break;
	}
	if (n == 3 && !memcmp(line, "go\n", 3))
		return 0;
	/* Show what came, printable. */
	char shown[sizeof(line) + 1];
	for (size_t i = 0; i < n; i++)
		shown[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	shown[n] = '\0';
	return fail(err, errlen, -EPROTO, "'%s' instead of the go-ahead", shown);
}

int dvm_migrate_answer(int fd, int ret, const char *msg)
{
	char line[400];
	int n;
	if (ret == 0)
		n = snprintf(line, sizeof(line), "running\n");
	else
		n = snprintf(line, sizeof(line), "error %s %s\n",
			     strerrorname_np(-ret) ? strerrorname_np(-ret) : "EIO",
			     msg ? msg : strerror(-ret));
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	for (int i = 0; i < n - 1; i++) /* one line, whatever msg holds */
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n - 1] = '\n';
	return send_line(fd, line, (size_t)n) ? -EPIPE : 0;
}
