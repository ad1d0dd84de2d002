#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Requests are small GETs; anything bigger or slower is dropped. */
#define DEMO_HTTP_MAX_REQUEST 8192
#define DEMO_HTTP_READ_TIMEOUT_MS 2000

struct demo_http {
	int listen_fd;
	int wake[2]; /* written by demo_http_stop to end poll() at once */
	pthread_t thread;
	pthread_mutex_t lock;
	char *openapi;
	char *webhook;
	long long started_ms;
	long long health_up_ms;
	int tunnel_up;
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int status, const char *reason, const char *body, int head_only)
{
	char head[256];
	size_t len = strlen(body);
	int n =
	    snprintf(head, sizeof head,
	             "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	             "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
	             status, reason, len);
	send_all(fd, head, (size_t)n);
	if (!head_only)
		send_all(fd, body, len);
}

/* Reads up to the end of the headers; returns the length, -2 when they do
 * not fit, or -1 on timeout or error. */
static int read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	long long deadline = mono_ms() + DEMO_HTTP_READ_TIMEOUT_MS;
	while (len + 1 < cap) {
		long long left = deadline - mono_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (int)len;
	}
	return -2;
}

static int health_up(demo_http *h)
{
	long long cycle = h->health_up_ms + h->health_up_ms / 3;
	return (mono_ms() - h->started_ms) % cycle < h->health_up_ms;
}

static void serve(demo_http *h, int fd)
{
	char req[DEMO_HTTP_MAX_REQUEST];
	int len = read_request(fd, req, sizeof req);
	if (len < 0) {
		if (len == -2)
			respond(fd, 431, "Request Header Fields Too Large", "{}", 0);
		return;
	}
	char method[8], path[256];
	if (sscanf(req, "%7s %255s", method, path) != 2) {
		respond(fd, 400, "Bad Request", "{\"detail\":\"bad request\"}", 0);
		return;
	}
	char *query = strchr(path, '?');
	if (query)
		*query = '\0';
	int head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		respond(fd, 405, "Method Not Allowed", "{\"detail\":\"Method Not Allowed\"}", 0);
		return;
	}
	if (!strcmp(path, "/")) { /* the frontend's stand-in */
		respond(fd, 200, "OK", "{\"app\":\"TAC WebBuilder frontend (tacws-demo stand-in)\"}",
		        head);
		return;
	}
	if (!strcmp(path, "/tunnel/health")) { /* the public webhook URL, through the tunnel */
		pthread_mutex_lock(&h->lock);
		int up = h->tunnel_up;
		pthread_mutex_unlock(&h->lock);
		if (up)
			respond(fd, 200, "OK", "{\"status\":\"healthy\"}", head);
		else
			respond(fd, 502, "Bad Gateway", "{\"error\":\"tunnel disconnected\"}", head);
		return;
	}
	if (!strcmp(path, "/health") || !strcmp(path, "/api/v1/health")) {
		if (health_up(h))
			respond(fd, 200, "OK",
			        "{\"status\":\"healthy\",\"service\":\"tac-backend\"}", head);
		else
			respond(fd, 503, "Service Unavailable",
			        "{\"status\":\"unavailable\",\"reason\":\"simulated outage\"}",
			        head);
		return;
	}
	pthread_mutex_lock(&h->lock);
	const char *doc = !strcmp(path, "/openapi.json")     ? h->openapi
	                  : !strcmp(path, "/webhook-status") ? h->webhook
	                                                     : NULL;
	char *copy = doc ? strdup(doc) : NULL;
	pthread_mutex_unlock(&h->lock);
	if (copy)
		respond(fd, 200, "OK", copy, head);
	else if (doc)
		respond(fd, 500, "Internal Server Error", "{}", head);
	else
		respond(fd, 404, "Not Found", "{\"detail\":\"Not Found\"}", head);
	free(copy);
}

static void *server_main(void *arg)
{
	demo_http *h = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = h->listen_fd, .events = POLLIN},
		                      {.fd = h->wake[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(h, fd);
		shutdown(fd, SHUT_WR);
		close(fd);
	}
	return NULL;
}

int demo_http_start(int port, int health_period_s, demo_http **out, int *port_out)
{
	demo_http *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->openapi = strdup("{}");
	h->webhook = strdup("{}");
	h->listen_fd = h->wake[0] = h->wake[1] = -1;
	h->started_ms = mono_ms();
	h->health_up_ms = (health_period_s > 0 ? health_period_s : 30) * 1000LL;
	pthread_mutex_init(&h->lock, NULL);
	int rc = -ENOMEM;
	if (!h->openapi || !h->webhook)
		goto fail;
	h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0 || pipe2(h->wake, O_CLOEXEC)) {
		rc = -errno;
		goto fail;
	}
	int one = 1;
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t salen = sizeof sa;
	if (bind(h->listen_fd, (struct sockaddr *)&sa, sizeof sa) || listen(h->listen_fd, 64) ||
	    getsockname(h->listen_fd, (struct sockaddr *)&sa, &salen)) {
		rc = -errno;
		demo_log("cannot listen on 127.0.0.1:%d: %s", port, strerror(-rc));
		goto fail;
	}
	rc = -pthread_create(&h->thread, NULL, server_main, h);
	if (rc)
		goto fail;
	*port_out = ntohs(sa.sin_port);
	*out = h;
	return 0;
fail:
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->wake[0] >= 0) {
		close(h->wake[0]);
		close(h->wake[1]);
	}
	pthread_mutex_destroy(&h->lock);
	free(h->openapi);
	free(h->webhook);
	free(h);
	return rc;
}

void demo_http_stop(demo_http *h)
{
	if (!h)
		return;
	if (write(h->wake[1], "x", 1) < 0)
		demo_log("cannot wake the HTTP thread: %s", strerror(errno));
	pthread_join(h->thread, NULL);
	close(h->listen_fd);
	close(h->wake[0]);
	close(h->wake[1]);
	pthread_mutex_destroy(&h->lock);
	free(h->openapi);
	free(h->webhook);
	free(h);
}

static void replace(demo_http *h, char **slot, const char *json)
{
	char *copy = strdup(json);
	if (!copy)
		return;
	pthread_mutex_lock(&h->lock);
	free(*slot);
	*slot = copy;
	pthread_mutex_unlock(&h->lock);
}

void demo_http_set_openapi(demo_http *h, const char *json)
{
	if (h)
		replace(h, &h->openapi, json);
}

void demo_http_set_tunnel_up(demo_http *h, int up)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->tunnel_up = up;
	pthread_mutex_unlock(&h->lock);
}

void demo_http_set_webhook_status(demo_http *h, const char *json)
{
	if (h)
		replace(h, &h->webhook, json);
}
