/*
 * The listening sockets, owned by tacws rather than lws, and the deadline of
 * each connection's handshake.
 *
 * Why not lws's own listener (lws 4.1):
 * - One socket has one accept queue, capped by net.core.somaxconn (4096 here).
 *   When thousands of clients reconnect at once, the SYNs beyond it are dropped
 *   and each of those clients waits a one-second retransmit, then three, then
 *   seven. Several SO_REUSEPORT sockets on the same address each bring a queue.
 * - lws gives every accepted socket a handshake timeout in its one sorted timer
 *   list; each insert walks every pending handshake, so accepting n at once
 *   costs O(n^2). tacws clears that timeout and keeps the deadline in a FIFO
 *   instead: all deadlines are now + handshake_timeout_s, so appending keeps it
 *   sorted, and one loop timer, armed only while handshakes are pending,
 *   closes the late ones.
 * About MAX_PENDING handshakes are in progress at once; the others wait in the
 * kernel's queues until some are done, or PAUSE_MS at most: peers that hold
 * their handshake open (slowloris) only slow accepting down, they cannot stop it.
 * Accepted sockets are handed to lws (lws_adopt_socket_vhost), which does the
 * HTTP and WebSocket work as before.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "listen.h"

#include "log.h"
#include "server.h"

#define MAX_LISTENERS 16
/* Handshakes in progress at most; the rest wait in the kernel's accept queues.
 * lws 4.1 keeps each one's header buffer in a list it walks to free one, so a
 * burst accepted whole costs O(n^2) (64 % of the CPU of a 19,000 storm). */
#define MAX_PENDING 256
#define PAUSE_MS 50

struct listener {
	uv_poll_t poll;
	uv_timer_t retry; /* polling resumes after the process ran out of descriptors */
	int fd;
	bool open;
	tacws_server *srv;
};

struct tacws_listeners {
	struct listener l[MAX_LISTENERS];
	int n;
	lws_dll2_owner_t pending; /* struct handshake, oldest first */
	uv_timer_t deadline;
	lws_usec_t last_warn;
	bool paused;	 /* limit reached: the listeners are not polled */
	unsigned limit;	 /* pause at this many pending; MAX_PENDING more after each PAUSE_MS */
	uv_timer_t resume;
};

/* tacws peeks at the request line before lws reads the socket: lws
 * normalises the path it parses ("/ws/x/%2E%2E" becomes "/ws/"), and routes
 * must be decided on what the client asked for. A line longer than HEAD_MAX
 * is left to lws (which refuses it). */
#define HEAD_MAX 2048

/* A connection whose request headers are not all in yet. Before adoption
 * (wsi NULL) tacws waits, through poll, for its request line. */
struct handshake {
	lws_dll2_t link;
	struct lws *wsi;
	lws_usec_t deadline;
	tacws_server *srv;
	int fd;
	uv_poll_t *poll; /* until adopted; freed by its close callback */
	char *target;	 /* the request line's target, as sent */
	bool adopting, dropped; /* lws dropped it during its adoption */
	bool lowat_raised;	/* SO_RCVLOWAT was raised while the line came in */
};

static void on_deadline(uv_timer_t *t);

static void deadline_schedule(struct tacws_listeners *ls)
{
	if (!ls->pending.head) {
		uv_timer_stop(&ls->deadline);
		return;
	}
	struct handshake *h = lws_container_of(ls->pending.head, struct handshake, link);
	lws_usec_t wait = h->deadline - lws_now_usecs();
	uint64_t ms = wait > 0 ? (uint64_t)(wait + 999) / 1000 : 0;
	uv_timer_start(&ls->deadline, on_deadline, ms, 0);
}

static void free_poll(uv_handle_t *p)
{
	free(p);
}

/* Stops waiting for the request line (adopted, or dropped). libuv watches an
 * fd through one handle: ours goes before lws's comes. */
static void head_done(struct handshake *h)
{
	if (h->poll)
		uv_close((uv_handle_t *)h->poll, free_poll);
	h->poll = NULL;
}

static void handshake_forget(struct handshake *h)
{
	if (h->wsi)
		lws_set_opaque_user_data(h->wsi, NULL);
	if (h->fd >= 0)
		close(h->fd); /* never handed to lws */
	head_done(h);
	lws_dll2_remove(&h->link);
	free(h->target);
	free(h);
}

static void on_deadline(uv_timer_t *t)
{
	struct tacws_listeners *ls = t->data;
	lws_usec_t now = lws_now_usecs();
	while (ls->pending.head) {
		struct handshake *h = lws_container_of(ls->pending.head, struct handshake, link);
		if (h->deadline > now)
			break;
		/* lws closes it on its next pass; CLOSED_HTTP counts it as incomplete */
		if (h->wsi)
			lws_set_timeout(h->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		else
			h->srv->metrics.handshakes_incomplete++;
		handshake_forget(h);
	}
	deadline_schedule(ls);
}

static void on_readable(uv_poll_t *p, int status, int events);
static void pending_drop(struct handshake *h);

static void on_resume(uv_timer_t *t);

static void set_paused(struct tacws_listeners *ls, bool paused)
{
	ls->paused = paused;
	if (paused)
		uv_timer_start(&ls->resume, on_resume, PAUSE_MS, 0);
	else
		uv_timer_stop(&ls->resume);
	for (int i = 0; i < ls->n; i++) {
		if (!ls->l[i].open)
			continue;
		if (paused)
			uv_poll_stop(&ls->l[i].poll);
		else
			uv_poll_start(&ls->l[i].poll, UV_READABLE, on_readable);
	}
}

/* The pending handshakes did not finish in PAUSE_MS: take another batch. */
static void on_resume(uv_timer_t *t)
{
	struct tacws_listeners *ls = t->data;
	ls->limit = ls->pending.count + MAX_PENDING;
	set_paused(ls, false);
}

void tacws_handshake_done(tacws_server *srv, struct lws *wsi)
{
	struct handshake *h = lws_get_opaque_user_data(wsi);
	if (h && h->adopting)
		h->dropped = true; /* hand_to_lws drops it */
	else if (h && srv && srv->listeners)
		pending_drop(h);
}

/* Drops h from the pending handshakes, and accepts more if that was the limit. */
static void pending_drop(struct handshake *h)
{
	tacws_server *srv = h->srv;
	struct tacws_listeners *ls = srv->listeners;
	bool was_head = ls->pending.head == &h->link;
	handshake_forget(h);
	if (was_head)
		deadline_schedule(ls);
	if (ls->pending.count <= MAX_PENDING / 2)
		ls->limit = MAX_PENDING;
	if (ls->paused && ls->pending.count + MAX_PENDING / 2 <= ls->limit && !srv->stopping)
		set_paused(ls, false);
}

/* The target of a request line ("GET /x?y HTTP/1.1"), or NULL. */
static char *line_target(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	if (!sp)
		return NULL;
	const char *start = sp + 1, *end = memchr(start, ' ', len - (size_t)(start - line));
	return end ? strndup(start, (size_t)(end - start)) : NULL;
}

/* The request line is in (or HEAD_MAX bytes without one): lws takes over. */
static void hand_to_lws(struct handshake *h)
{
	head_done(h);
	lws_adopt_desc_t info = {.vh = h->srv->vhost,
				 .type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL,
				 .fd.sockfd = h->fd,
				 .opaque = h};
	h->adopting = true;
	struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&info); /* closes fd when it fails */
	h->adopting = false;
	h->fd = -1;
	if (!wsi || h->dropped) {
		pending_drop(h);
		return;
	}
	/* lws's timeout for this handshake is replaced by the FIFO entry (see top) */
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	h->wsi = wsi;
}

/* Peeks at what h's peer has sent. Its request line in (or HEAD_MAX bytes
 * without one): handed to lws; the peer gone: dropped. false: wait for more. */
static bool head_peek(struct handshake *h)
{
	char head[HEAD_MAX];
	ssize_t n = recv(h->fd, head, sizeof head, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) { /* gone before its request line */
		h->srv->metrics.handshakes_incomplete++;
		pending_drop(h);
		return true;
	}
	const char *eol = memchr(head, '\n', (size_t)n);
	if (!eol && n < HEAD_MAX) {
		/* readable again only when more comes: no spinning on a slow peer */
		int lowat = (int)n + 1;
		setsockopt(h->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
		h->lowat_raised = true;
		return false;
	}
	if (h->lowat_raised) {
		int lowat = 1;
		setsockopt(h->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
	}
	if (eol)
		h->target = line_target(head, (size_t)(eol - head));
	hand_to_lws(h);
	return true;
}

static void on_head_readable(uv_poll_t *p, int status, int events)
{
	struct handshake *h = p->data;
	(void)events;
	if (status < 0) {
		h->srv->metrics.handshakes_incomplete++;
		pending_drop(h);
		return;
	}
	head_peek(h);
}

static void adopt(struct listener *l, int fd)
{
	tacws_server *srv = l->srv;
	struct tacws_listeners *ls = srv->listeners;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* frames are whole */
	struct handshake *h = calloc(1, sizeof *h);
	if (!h) {
		close(fd);
		return;
	}
	h->srv = srv;
	h->fd = fd;
	h->deadline = lws_now_usecs() + srv->cfg->handshake_timeout_s * LWS_US_PER_SEC;
	bool was_empty = !ls->pending.head;
	lws_dll2_add_tail(&h->link, &ls->pending);
	if (was_empty)
		deadline_schedule(ls);
	/* In a storm the request line is often in by the accept: then no poll at all */
	if (head_peek(h))
		return;
	uv_poll_t *poll = malloc(sizeof *poll);
	if (!poll || uv_poll_init(srv->loop, poll, fd)) {
		free(poll);
		pending_drop(h); /* closes fd */
		return;
	}
	h->poll = poll;
	poll->data = h;
	uv_poll_start(poll, UV_READABLE, on_head_readable);
}

const char *tacws_request_target(struct lws *wsi)
{
	struct handshake *h = lws_get_opaque_user_data(wsi);
	return h ? h->target : NULL;
}

static void on_retry(uv_timer_t *t)
{
	struct listener *l = t->data;
	if (l->open && !l->srv->listeners->paused)
		uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct listener *l = p->data;
	(void)events;
	if (status < 0)
		return;
	for (;;) {
		if (l->srv->listeners->pending.count >= l->srv->listeners->limit) {
			set_paused(l->srv->listeners, true);
			return;
		}
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			adopt(l, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* the queue stays readable: pause instead of spinning on it */
			struct tacws_listeners *ls = l->srv->listeners;
			lws_usec_t now = lws_now_usecs();
			if (now - ls->last_warn > 10 * LWS_US_PER_SEC) {
				ls->last_warn = now;
				tacws_log_warn("server", "cannot accept connections: %s",
					       strerror(errno));
			}
			uv_poll_stop(&l->poll);
			uv_timer_start(&l->retry, on_retry, 100, 0);
		}
		return; /* EAGAIN: all taken */
	}
}

/* How many sockets: enough queues for as many connections as the process can
 * hold to arrive at once, one when the fd limit fits one queue. */
static int listener_count(void)
{
	long somaxconn = 4096;
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
	if (f) {
		if (fscanf(f, "%ld", &somaxconn) != 1 || somaxconn < 128)
			somaxconn = 128;
		fclose(f);
	}
	struct rlimit rl;
	long fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
			   ? (long)rl.rlim_cur
			   : 65536;
	long n = (fds + somaxconn - 1) / somaxconn;
	return n < 1 ? 1 : n > MAX_LISTENERS ? MAX_LISTENERS : (int)n;
}

/* A socket bound to ai's address and port; listening and sharing the port with
 * tacwsd's other sockets (SO_REUSEPORT) when share is set. */
static int open_socket(const struct addrinfo *ai, uint16_t port, bool share)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (share)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (ai->ai_family == AF_INET6) /* "::" takes IPv4 too, as lws did */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	struct sockaddr_storage sa;
	memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
	if (ai->ai_family == AF_INET6)
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&sa)->sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, ai->ai_addrlen) ||
	    (share && listen(fd, 65535) /* the kernel caps it at somaxconn */)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		return 0;
	return ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
					      : ((struct sockaddr_in *)&sa)->sin_port);
}

int tacws_listen_start(tacws_server *srv)
{
	tacws_config *cfg = srv->cfg;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE}, *ai = NULL;
	int rc = getaddrinfo(cfg->listen, NULL, &hints, &ai);
	if (rc) {
		tacws_log_error("server", "cannot listen on %s: %s", cfg->listen, gai_strerror(rc));
		return -EINVAL;
	}
	struct tacws_listeners *ls = calloc(1, sizeof *ls);
	if (!ls) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	srv->listeners = ls;
	uv_timer_init(srv->loop, &ls->deadline);
	ls->deadline.data = ls;
	uv_timer_init(srv->loop, &ls->resume);
	ls->resume.data = ls;
	ls->limit = MAX_PENDING;
	int want = listener_count();
	uint16_t port = (uint16_t)cfg->port;
	/* Another process of this user listening with SO_REUSEPORT (a second tacwsd)
	 * would let ours join its port and split the clients: check the port is free
	 * with a socket that does not share. */
	int probe = port ? open_socket(ai, port, false) : 0;
	if (probe < 0) {
		tacws_log_error("server", "cannot listen on %s:%ld: %s", cfg->listen, cfg->port,
				strerror(errno));
		freeaddrinfo(ai);
		return -EADDRINUSE;
	}
	if (port)
		close(probe);
	for (int i = 0; i < want; i++) {
		int fd = open_socket(ai, port, true);
		if (fd < 0) {
			if (i)
				break; /* fewer queues, still serving */
			tacws_log_error("server", "cannot listen on %s:%ld: %s", cfg->listen, cfg->port,
					strerror(errno));
			freeaddrinfo(ai);
			return -EADDRINUSE;
		}
		if (!port)
			port = bound_port(fd); /* the others join the port the first was given */
		struct listener *l = &ls->l[ls->n++];
		l->fd = fd;
		l->srv = srv;
		uv_poll_init(srv->loop, &l->poll, fd);
		uv_timer_init(srv->loop, &l->retry);
		l->poll.data = l->retry.data = l;
		l->open = true;
		uv_poll_start(&l->poll, UV_READABLE, on_readable);
	}
	freeaddrinfo(ai);
	srv->port = port;
	tacws_log_debug("server", "%d listening sockets (SO_REUSEPORT)", ls->n);
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	(void)h; /* the handles live in srv->listeners, freed after the loop has closed them */
}

unsigned tacws_handshakes_pending(const tacws_server *srv)
{
	return srv->listeners ? srv->listeners->pending.count : 0;
}

void tacws_listen_stop(tacws_server *srv)
{
	struct tacws_listeners *ls = srv->listeners;
	if (!ls)
		return;
	for (int i = 0; i < ls->n; i++) {
		struct listener *l = &ls->l[i];
		if (!l->open)
			continue;
		l->open = false;
		uv_close((uv_handle_t *)&l->poll, on_closed);
		uv_close((uv_handle_t *)&l->retry, on_closed);
		close(l->fd);
	}
	/* sockets whose request line never came are not lws's: close them here,
	 * or their poll handles would keep the loop running */
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&ls->pending)) {
		struct handshake *h = lws_container_of(d, struct handshake, link);
		if (!h->wsi)
			handshake_forget(h);
	}
	lws_end_foreach_dll_safe(d, d1);
	deadline_schedule(ls);
}

void tacws_listen_free(tacws_server *srv)
{
	struct tacws_listeners *ls = srv->listeners;
	if (!ls)
		return;
	/* lws is gone and dropped each entry as it closed its connection; any left
	 * here belong to no wsi */
	while (ls->pending.head) {
		struct handshake *h = lws_container_of(ls->pending.head, struct handshake, link);
		h->wsi = NULL;
		handshake_forget(h);
	}
	uv_close((uv_handle_t *)&ls->deadline, on_closed);
	uv_close((uv_handle_t *)&ls->resume, on_closed);
}

void tacws_listen_release(tacws_server *srv)
{
	free(srv->listeners);
	srv->listeners = NULL;
}
