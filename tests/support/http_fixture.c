#include "http_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 16384
#define MAX_BODY (1024 * 1024)
#define READ_TIMEOUT_MS 5000

struct route {
	char *path, *content_type, *body, *location;
	int status, delay_ms, hits;
	struct route *next;
};

struct conn {
	tacws_http_fixture *f;
	pthread_t thread;
	int fd; /* -1 once the connection thread closed it */
	int done;
	struct conn *next;
};

struct tacws_http_fixture {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC: ends delays when stopping */
	int port;
	int listen_fd;
	int pipe_fd[2]; /* wakes the accept thread */
	int running, stopping;
	pthread_t acceptor;
	struct route *routes;
	struct conn *conns;
	int requests;
};

static struct route *find_route(tacws_http_fixture *f, const char *path)
{
	for (struct route *r = f->routes; r; r = r->next)
		if (!strcmp(r->path, path))
			return r;
	return NULL;
}

static void route_free(struct route *r)
{
	free(r->path);
	free(r->content_type);
	free(r->body);
	free(r->location);
	free(r);
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 307:
		return "Temporary Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One recv with a timeout; -1 on EOF, error or timeout. */
static ssize_t read_some(int fd, char *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int rc = poll(&p, 1, READ_TIMEOUT_MS);
	if (rc <= 0)
		return -1;
	ssize_t r = recv(fd, buf, cap, 0);
	return r > 0 ? r : -1;
}

/* Waits delay_ms unless the fixture stops first; returns 0 when it stopped. */
static int wait_delay(tacws_http_fixture *f, int delay_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += delay_ms / 1000;
	until.tv_nsec += (long)(delay_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->lock);
	while (!f->stopping && pthread_cond_timedwait(&f->wake, &f->lock, &until) != ETIMEDOUT)
		;
	int go_on = !f->stopping;
	pthread_mutex_unlock(&f->lock);
	return go_on;
}

static void serve(tacws_http_fixture *f, int fd)
{
	char head[MAX_HEAD + 1];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		if (len == MAX_HEAD)
			return;
		ssize_t r = read_some(fd, head + len, MAX_HEAD - len);
		if (r < 0)
			return;
		len += (size_t)r;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	char method[16], target[2048];
	if (sscanf(head, "%15s %2047s", method, target) != 2)
		return;
	target[strcspn(target, "?#")] = '\0';

	/* Read and drop a request body so the client sees a clean answer. */
	size_t body_have = len - (size_t)(end + 4 - head);
	const char *cl = strcasestr(head, "\r\ncontent-length:");
	if (cl && cl < end) {
		long want = strtol(cl + 17, NULL, 10);
		char sink[4096];
		while (want > 0 && want <= MAX_BODY && (long)body_have < want) {
			ssize_t r = read_some(fd, sink, sizeof sink);
			if (r < 0)
				return;
			body_have += (size_t)r;
		}
	}

	pthread_mutex_lock(&f->lock);
	f->requests++;
	struct route *r = find_route(f, target);
	int status = 404, delay_ms = 0;
	char *ctype = NULL, *body = NULL, *location = NULL;
	if (r) {
		r->hits++;
		status = r->status;
		delay_ms = r->delay_ms;
		ctype = strdup(r->content_type);
		body = strdup(r->body);
		location = r->location ? strdup(r->location) : NULL;
	} else {
		ctype = strdup("text/plain");
		body = strdup("not found\n");
	}
	pthread_mutex_unlock(&f->lock);

	if (ctype && body && (delay_ms <= 0 || wait_delay(f, delay_ms))) {
		char hdr[1024];
		size_t blen = strlen(body);
		int n =
		    snprintf(hdr, sizeof hdr,
		             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		             "%s%s%sConnection: close\r\n\r\n",
		             status, reason_of(status), ctype, blen, location ? "Location: " : "",
		             location ? location : "", location ? "\r\n" : "");
		if (n > 0 && (size_t)n < sizeof hdr && !send_all(fd, hdr, (size_t)n) &&
		    strcasecmp(method, "HEAD"))
			send_all(fd, body, blen);
	}
	free(ctype);
	free(body);
	free(location);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	tacws_http_fixture *f = c->f;
	serve(f, c->fd);
	pthread_mutex_lock(&f->lock);
	shutdown(c->fd, SHUT_WR);
	close(c->fd);
	c->fd = -1;
	c->done = 1;
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* Joins finished connection threads; with all set, waits for every one. */
static void reap(tacws_http_fixture *f, int all)
{
	pthread_mutex_lock(&f->lock);
	struct conn **pp = &f->conns;
	while (*pp) {
		struct conn *c = *pp;
		if (!c->done && !all) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		pthread_mutex_unlock(&f->lock);
		pthread_join(c->thread, NULL);
		free(c);
		pthread_mutex_lock(&f->lock);
		pp = &f->conns;
	}
	pthread_mutex_unlock(&f->lock);
}

static void *accept_main(void *arg)
{
	tacws_http_fixture *f = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = f->listen_fd, .events = POLLIN},
		                      {.fd = f->pipe_fd[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept(f->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		reap(f, 0);
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->f = f;
		c->fd = fd;
		pthread_mutex_lock(&f->lock);
		if (pthread_create(&c->thread, NULL, conn_main, c)) {
			pthread_mutex_unlock(&f->lock);
			close(fd);
			free(c);
			continue;
		}
		c->next = f->conns;
		f->conns = c;
		pthread_mutex_unlock(&f->lock);
	}
	return NULL;
}

static int listen_on(tacws_http_fixture *f, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if (pipe(f->pipe_fd)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	f->listen_fd = fd;
	f->port = ntohs(a.sin_port);
	f->stopping = 0;
	if (pthread_create(&f->acceptor, NULL, accept_main, f)) {
		close(fd);
		close(f->pipe_fd[0]);
		close(f->pipe_fd[1]);
		f->listen_fd = -1;
		return -EAGAIN;
	}
	f->running = 1;
	return 0;
}

int tacws_http_fixture_start(tacws_http_fixture **out)
{
	tacws_http_fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&f->wake, &attr);
	pthread_condattr_destroy(&attr);
	f->listen_fd = -1;
	int rc = listen_on(f, 0);
	if (rc) {
		pthread_cond_destroy(&f->wake);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int tacws_http_fixture_stop(tacws_http_fixture *f)
{
	if (!f->running)
		return 0;
	pthread_mutex_lock(&f->lock);
	f->stopping = 1;
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->lock);
	if (write(f->pipe_fd[1], "x", 1) < 0)
		return -errno;
	pthread_join(f->acceptor, NULL);
	close(f->listen_fd);
	close(f->pipe_fd[0]);
	close(f->pipe_fd[1]);
	f->listen_fd = -1;
	/* Unblock connection threads still reading; they close their own sockets. */
	pthread_mutex_lock(&f->lock);
	for (struct conn *c = f->conns; c; c = c->next)
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&f->lock);
	reap(f, 1);
	f->running = 0;
	return 0;
}

int tacws_http_fixture_restart(tacws_http_fixture *f)
{
	if (f->running)
		return -EALREADY;
	return listen_on(f, f->port);
}

void tacws_http_fixture_free(tacws_http_fixture *f)
{
	if (!f)
		return;
	tacws_http_fixture_stop(f);
	while (f->routes) {
		struct route *r = f->routes;
		f->routes = r->next;
		route_free(r);
	}
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int tacws_http_fixture_port(const tacws_http_fixture *f)
{
	return f->port;
}

char *tacws_http_fixture_url(const tacws_http_fixture *f, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%d%s", f->port, path ? path : "");
	return buf;
}

static int set_route(tacws_http_fixture *f, const char *path, int status, const char *content_type,
                     const char *body, int delay_ms, const char *location)
{
	struct route *n = calloc(1, sizeof *n);
	if (!n)
		return -ENOMEM;
	n->path = strdup(path);
	n->content_type = strdup(content_type ? content_type : "application/json");
	n->body = strdup(body ? body : "");
	n->location = location ? strdup(location) : NULL;
	if (!n->path || !n->content_type || !n->body || (location && !n->location)) {
		route_free(n);
		return -ENOMEM;
	}
	n->status = status;
	n->delay_ms = delay_ms;
	pthread_mutex_lock(&f->lock);
	struct route **pp = &f->routes;
	while (*pp && strcmp((*pp)->path, path))
		pp = &(*pp)->next;
	if (*pp) {
		struct route *old = *pp;
		n->hits = old->hits;
		n->next = old->next;
		route_free(old);
	}
	*pp = n;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int tacws_http_fixture_set(tacws_http_fixture *f, const char *path, int status,
                           const char *content_type, const char *body, int delay_ms)
{
	return set_route(f, path, status, content_type, body, delay_ms, NULL);
}

int tacws_http_fixture_set_redirect(tacws_http_fixture *f, const char *path, int status,
                                    const char *location)
{
	return set_route(f, path, status, "text/plain", "", 0, location);
}

int tacws_http_fixture_unset(tacws_http_fixture *f, const char *path)
{
	pthread_mutex_lock(&f->lock);
	struct route **pp = &f->routes;
	while (*pp && strcmp((*pp)->path, path))
		pp = &(*pp)->next;
	int rc = -ENOENT;
	if (*pp) {
		struct route *old = *pp;
		*pp = old->next;
		route_free(old);
		rc = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int tacws_http_fixture_requests(tacws_http_fixture *f, const char *path)
{
	pthread_mutex_lock(&f->lock);
	int n = f->requests;
	if (path) {
		struct route *r = find_route(f, path);
		n = r ? r->hits : 0;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}
