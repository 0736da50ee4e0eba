/* SPDX-License-Identifier: MIT */
/*
 * The control socket's server: one thread, poll(), non-blocking sockets and
 * per-client input and output buffers, so that a slow or stuck client can
 * neither stall the others nor the vCPUs.  A client whose queued output
 * passes DVM_CTL_MAX_OUTPUT is dropped rather than waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dvm/ctl.h"

#define READ_CHUNK (64u * 1024)
#define FLUSH_MS 250	       /* how long stop waits for queued output to drain */
#define MAX_QUEUED_EVENTS 1024 /* posted, not yet broadcast; more are counted as dropped */
/* After a request, how long the thread looks for the next one without
 * sleeping: a client in a loop sends it within microseconds, and waking a
 * thread whose CPU went idle costs tens of them on a virtualized host (the
 * trade KVM's halt polling makes).  At most this much CPU per request. */
#define REQUEST_SPIN_NS 100000

struct queued_event {
	char *line;
	struct queued_event *next;
};

struct client {
	int fd;
	uint64_t serial; /* who a worker's late reply is for */
	bool dead;
	bool discarding; /* inside a line that was too long: drop up to its newline */
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap; /* pending bytes are out[out_off, out_len) */
};

struct dvm_ctl_server {
	struct dvm_vm *vm;
	char *path;
	dev_t sock_dev;
	ino_t sock_ino;
	int listen_fd;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop, vm_stopped; /* requests to the thread (lock) */
	struct client *clients[DVM_CTL_MAX_CLIENTS];
	unsigned nr_clients;
	uint64_t next_serial;
	struct client *handling; /* the client whose line is being handled */
	uint64_t spin_until;	 /* CLOCK_MONOTONIC ns: poll without sleeping until */
	/* One worker for a long command (migrate); lock guards the fields. */
	bool worker_busy;	/* started and not yet joined */
	char *worker_reply;	/* set when it finished */
	uint64_t worker_client; /* serial of the client that asked */
	pthread_t worker;
	void (*worker_fn)(void *arg, char **reply);
	void *worker_arg;
	/* Events posted by other threads (lock), broadcast by the server's. */
	struct queued_event *events, **events_tail;
	unsigned nr_events;
	unsigned long events_dropped;
	char *buf; /* READ_CHUNK bytes */
};

static void client_free(struct client *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Write what can be written now; never blocks. */
static void client_flush(struct client *c)
{
	while (!c->dead && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			break;
		}
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

/* Queue one line (a newline is added); drops the client past the bound. */
static void client_send(struct client *c, const char *line)
{
	size_t len;

	if (c->dead)
		return;
	if (!line) {
		c->dead = true; /* out of memory: the client would miss a reply */
		return;
	}
	len = strlen(line);
	if (c->out_len - c->out_off + len + 1 > DVM_CTL_MAX_OUTPUT) {
		c->dead = true;
		return;
	}
	if (c->out_off && c->out_len + len + 1 > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len + 1)
			cap *= 2;
		char *n = realloc(c->out, cap);
		if (!n) {
			c->dead = true;
			return;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	client_flush(c);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static void poke(struct dvm_ctl_server *s);
static void broadcast(struct dvm_ctl_server *s, const char *line);

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg)
{
	struct dvm_ctl_server *s = arg;
	char *reply = NULL;

	s->worker_fn(s->worker_arg, &reply);
	pthread_mutex_lock(&s->lock);
	s->worker_reply = reply ? reply : strdup("");
	pthread_mutex_unlock(&s->lock);
	poke(s);
	return NULL;
}

static int worker_run(void *opaque, void (*fn)(void *arg, char **reply), void *arg)
{
	struct dvm_ctl_server *s = opaque;
	sigset_t all, old;
	int ret;

	pthread_mutex_lock(&s->lock);
	if (s->worker_busy) {
		pthread_mutex_unlock(&s->lock);
		return -EBUSY;
	}
	s->worker_fn = fn;
	s->worker_arg = arg;
	s->worker_client = s->handling->serial;
	s->worker_reply = NULL;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&s->worker, NULL, worker_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->worker_busy = ret == 0;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* The worker's reply, once it is done, to the client that asked (if it is
 * still there); then the worker is joined. */
static void worker_collect(struct dvm_ctl_server *s)
{
	pthread_mutex_lock(&s->lock);
	char *reply = s->worker_busy ? s->worker_reply : NULL;
	uint64_t who = s->worker_client;
	pthread_mutex_unlock(&s->lock);
	if (!reply)
		return;
	pthread_join(s->worker, NULL);
	pthread_mutex_lock(&s->lock);
	s->worker_busy = false;
	s->worker_reply = NULL;
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->nr_clients; i++)
		if (s->clients[i]->serial == who && *reply)
			client_send(s->clients[i], reply);
	free(reply);
}

static void handle_line(struct dvm_ctl_server *s, struct client *c, const char *line, size_t n)
{
	struct dvm_ctl_async async = {.run = worker_run, .opaque = s};
	bool deferred;
	char *reply;

	if (blank(line, n))
		return;
	s->handling = c;
	reply = dvm_ctl_handle_request_async(s->vm, line, n, &async, &deferred);
	s->handling = NULL;
	if (deferred)
		return;
	client_send(c, reply);
	free(reply);
	s->spin_until = now_ns() + REQUEST_SPIN_NS;
}

static void too_long(struct client *c)
{
	char *reply = dvm_ctl_reply_too_long();
	client_send(c, reply);
	free(reply);
}

static bool in_append(struct client *c, const char *p, size_t n)
{
	if (c->in_len + n > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : 4096;
		while (cap < c->in_len + n)
			cap *= 2;
		char *b = realloc(c->in, cap);
		if (!b)
			return false;
		c->in = b;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, p, n);
	c->in_len += n;
	return true;
}

/* Split what arrived into lines; a line's bytes never exceed the bound in memory. */
static void client_input(struct dvm_ctl_server *s, struct client *c, const char *p, size_t n)
{
	while (n && !c->dead) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;

		if (c->discarding) {
			if (nl)
				c->discarding = false;
		} else if (c->in_len + seg > DVM_CTL_MAX_LINE) {
			too_long(c);
			c->in_len = 0;
			c->discarding = !nl;
		} else if (nl && c->in_len == 0) {
			handle_line(s, c, p, seg); /* the common case: no copy */
		} else if (!in_append(c, p, seg)) {
			c->dead = true;
		} else if (nl) {
			handle_line(s, c, c->in, c->in_len);
			c->in_len = 0;
		}
		if (!nl)
			break;
		p = nl + 1;
		n -= seg + 1;
	}
	/* A huge buffer from one long line is not kept around. */
	if (c->in_len == 0 && c->in_cap > 65536) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static void client_read(struct dvm_ctl_server *s, struct client *c)
{
	ssize_t n = recv(c->fd, s->buf, READ_CHUNK, MSG_DONTWAIT);

	if (n > 0)
		client_input(s, c, s->buf, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		c->dead = true;
}

static void accept_clients(struct dvm_ctl_server *s)
{
	while (s->nr_clients < DVM_CTL_MAX_CLIENTS) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->serial = ++s->next_serial;
		s->clients[s->nr_clients++] = c;
	}
}

static void reap_dead(struct dvm_ctl_server *s)
{
	for (unsigned i = 0; i < s->nr_clients;) {
		if (s->clients[i]->dead) {
			client_free(s->clients[i]);
			s->clients[i] = s->clients[--s->nr_clients];
		} else {
			i++;
		}
	}
}

static void broadcast(struct dvm_ctl_server *s, const char *line)
{
	for (unsigned i = 0; i < s->nr_clients; i++)
		client_send(s->clients[i], line);
}

static void poke(struct dvm_ctl_server *s);

/* The VM's event watcher: runs on the posting thread (a vCPU, a device, the
 * worker), so it only formats and queues; the server thread sends. */
static void event_sink(void *opaque, const struct dvm_event *ev)
{
	struct dvm_ctl_server *s = opaque;
	char *line = dvm_ctl_event_line(ev);
	struct queued_event *q = line ? malloc(sizeof(*q)) : NULL;

	pthread_mutex_lock(&s->lock);
	if (!q || s->nr_events >= MAX_QUEUED_EVENTS) {
		s->events_dropped++;
		free(line);
		free(q);
	} else {
		q->line = line;
		q->next = NULL;
		*s->events_tail = q;
		s->events_tail = &q->next;
		s->nr_events++;
	}
	pthread_mutex_unlock(&s->lock);
	poke(s);
}

static void send_events(struct dvm_ctl_server *s)
{
	pthread_mutex_lock(&s->lock);
	struct queued_event *q = s->events;
	unsigned long dropped = s->events_dropped;
	s->events = NULL;
	s->events_tail = &s->events;
	s->nr_events = 0;
	s->events_dropped = 0;
	pthread_mutex_unlock(&s->lock);
	while (q) {
		struct queued_event *next = q->next;
		broadcast(s, q->line);
		free(q->line);
		free(q);
		q = next;
	}
	if (dropped) {
		char line[128];
		snprintf(line, sizeof(line),
			 "{\"event\":\"events-dropped\",\"data\":{\"count\":%lu}}", dropped);
		broadcast(s, line);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* At stop: give queued replies and events a short while to leave. */
static void flush_all(struct dvm_ctl_server *s)
{
	uint64_t deadline = now_ms() + FLUSH_MS;
	struct pollfd pfd[DVM_CTL_MAX_CLIENTS];

	for (;;) {
		unsigned n = 0;
		reap_dead(s);
		for (unsigned i = 0; i < s->nr_clients; i++)
			if (s->clients[i]->out_len > s->clients[i]->out_off)
				pfd[n++] =
				    (struct pollfd){.fd = s->clients[i]->fd, .events = POLLOUT};
		uint64_t now = now_ms();
		if (!n || now >= deadline)
			return;
		if (poll(pfd, n, (int)(deadline - now)) <= 0)
			return;
		for (unsigned i = 0; i < s->nr_clients; i++)
			client_flush(s->clients[i]);
	}
}

static void *server_main(void *arg)
{
	struct dvm_ctl_server *s = arg;
	struct pollfd pfd[DVM_CTL_MAX_CLIENTS + 2];

	for (;;) {
		unsigned n = 0;
		pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		/* At the client limit the listener waits in the backlog. */
		pfd[n++] = (struct pollfd){
		    .fd = s->listen_fd, .events = s->nr_clients < DVM_CTL_MAX_CLIENTS ? POLLIN : 0};
		for (unsigned i = 0; i < s->nr_clients; i++) {
			struct client *c = s->clients[i];
			pfd[n++] = (struct pollfd){
			    .fd = c->fd,
			    .events = POLLIN | (c->out_len > c->out_off ? POLLOUT : 0)};
		}
		bool spinning = s->spin_until && now_ns() < s->spin_until;
		int ready = poll(pfd, n, spinning ? 0 : -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ready == 0)
			continue;
		if (!spinning)
			s->spin_until = 0;
		/* Clients first: pfd[2 + i] matches clients[i] only until accept or reap. */
		for (unsigned i = 0; i < s->nr_clients; i++) {
			struct client *c = s->clients[i];
			short re = pfd[2 + i].revents;
			if (re & POLLOUT)
				client_flush(c);
			if (re & (POLLIN | POLLHUP | POLLERR))
				client_read(s, c);
		}
		reap_dead(s);
		if (pfd[1].revents & POLLIN)
			accept_clients(s);
		if (pfd[0].revents & POLLIN) {
			char b[64];
			bool stop, stopped;
			while (read(s->wake[0], b, sizeof(b)) > 0)
				;
			pthread_mutex_lock(&s->lock);
			stop = s->stop;
			stopped = s->vm_stopped;
			s->vm_stopped = false;
			pthread_mutex_unlock(&s->lock);
			send_events(s);	   /* a worker's progress before its reply */
			worker_collect(s); /* a late reply before the guest-exit event */
			if (stopped) {
				char *ev = dvm_ctl_event_guest_exit(s->vm);
				if (ev)
					broadcast(s, ev);
				free(ev);
				reap_dead(s);
			}
			if (stop)
				break;
		}
	}
	flush_all(s);
	return NULL;
}

static int bind_socket(struct dvm_ctl_server *s, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (!*path)
		return -EINVAL;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		/* Replace only a socket nobody answers on (a dvm that died). */
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? -EADDRINUSE
		      : errno == ECONNREFUSED				   ? 0
									   : -errno;
		close(fd);
		if (ret)
			return ret;
		if (unlink(path) && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Linux takes the new socket file's mode from the socket inode (less
	 * the umask), so it is 0600 from the moment it appears. */
	if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (chmod(path, 0600) || stat(path, &st) || listen(fd, 16)) {
		ret = -errno;
		unlink(path);
		close(fd);
		return ret;
	}
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	s->listen_fd = fd;
	return 0;
}

int dvm_ctl_server_start(struct dvm_vm *vm, const char *path, struct dvm_ctl_server **out)
{
	struct dvm_ctl_server *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int ret;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->listen_fd = s->wake[0] = s->wake[1] = -1;
	s->events_tail = &s->events;
	s->path = strdup(path);
	s->buf = malloc(READ_CHUNK);
	if (!s->path || !s->buf) {
		ret = -ENOMEM;
		goto err;
	}
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK)) {
		ret = -errno;
		goto err;
	}
	ret = bind_socket(s, path);
	if (ret)
		goto err;
	pthread_mutex_init(&s->lock, NULL);
	ret = dvm_vm_add_event_sink(vm, event_sink, s);
	if (ret) {
		unlink(path);
		pthread_mutex_destroy(&s->lock);
		goto err;
	}
	/* Signals are for dvm's signal thread and the vCPUs, never for this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&s->thread, NULL, server_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		dvm_vm_remove_event_sink(vm, event_sink, s);
		unlink(path);
		pthread_mutex_destroy(&s->lock);
		goto err;
	}
	*out = s;
	return 0;
err:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	free(s->buf);
	free(s->path);
	free(s);
	return ret;
}

static void poke(struct dvm_ctl_server *s)
{
	char b = 1;
	if (write(s->wake[1], &b, 1) < 0) {
		/* The pipe is full: the thread has a wake-up pending anyway. */
	}
}

void dvm_ctl_server_vm_stopped(struct dvm_ctl_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->vm_stopped = true;
	pthread_mutex_unlock(&s->lock);
	poke(s);
}

void dvm_ctl_server_stop(struct dvm_ctl_server *s)
{
	struct stat st;

	if (!s)
		return;
	/* A worker (a migration) ends soon once the VM has stopped; its reply
	 * is delivered before the thread goes. */
	pthread_mutex_lock(&s->lock);
	bool busy = s->worker_busy;
	pthread_mutex_unlock(&s->lock);
	if (busy) {
		for (;;) {
			pthread_mutex_lock(&s->lock);
			bool done = !s->worker_busy || s->worker_reply;
			pthread_mutex_unlock(&s->lock);
			if (done)
				break;
			usleep(10000);
		}
	}
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	poke(s);
	pthread_join(s->thread, NULL);
	pthread_mutex_lock(&s->lock);
	if (s->worker_busy) {
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->worker, NULL);
		free(s->worker_reply);
	} else {
		pthread_mutex_unlock(&s->lock);
	}
	dvm_vm_remove_event_sink(s->vm, event_sink, s); /* no post is in flight after this */
	for (struct queued_event *q = s->events, *next; q; q = next) {
		next = q->next;
		free(q->line);
		free(q);
	}
	for (unsigned i = 0; i < s->nr_clients; i++)
		client_free(s->clients[i]);
	close(s->listen_fd);
	/* Only our own socket: someone may have replaced it since. */
	if (stat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
		unlink(s->path);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	free(s->buf);
	free(s->path);
	free(s);
}
