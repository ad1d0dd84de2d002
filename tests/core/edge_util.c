#include "edge_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

int edge_connect(const char *src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (src) {
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof a)) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1; /* requests go out in one piece anyway; no Nagle wait on the answers */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads into buf (NUL-terminated) until the header block is complete. */
static int read_headers(int fd, char *buf, size_t cap, size_t *got, int timeout_ms)
{
	long long end = tacws_test_now_ms() + timeout_ms;
	*got = 0;
	buf[0] = '\0';
	while (!strstr(buf, "\r\n\r\n")) {
		int left = (int)(end - tacws_test_now_ms());
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, left) != 1)
			return -ETIMEDOUT;
		if (*got + 1 >= cap)
			return -E2BIG;
		ssize_t n = read(fd, buf + *got, cap - *got - 1);
		if (n <= 0)
			return -ECONNRESET;
		*got += (size_t)n;
		buf[*got] = '\0';
	}
	return 0;
}

int edge_raw(int fd, const char *request, size_t len, int timeout_ms)
{
	int rc = write_all(fd, request, len);
	if (rc)
		return rc;
	char buf[4096];
	size_t got;
	if ((rc = read_headers(fd, buf, sizeof buf, &got, timeout_ms)))
		return rc;
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	return status;
}

int edge_ws_upgrade(int fd, const char *path, const char *extra_headers, int timeout_ms)
{
	char req[2048];
	snprintf(req, sizeof req,
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	         "Sec-WebSocket-Version: 13\r\n%s\r\n",
	         path, extra_headers ? extra_headers : "");
	return edge_raw(fd, req, strlen(req), timeout_ms);
}

int edge_http(int fd, const char *method, const char *path, const char *extra_headers,
              const char *body, size_t body_len, int timeout_ms, char **out_body)
{
	char head[2048];
	int hlen = snprintf(head, sizeof head,
	                    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n%s\r\n",
	                    method, path, body_len, extra_headers ? extra_headers : "");
	char *req = malloc((size_t)hlen + body_len);
	if (!req)
		return -ENOMEM;
	memcpy(req, head, (size_t)hlen);
	if (body_len)
		memcpy(req + hlen, body, body_len);
	int rc = write_all(fd, req, (size_t)hlen + body_len);
	free(req);
	if (rc)
		return rc;
	char buf[8192];
	size_t got;
	if ((rc = read_headers(fd, buf, sizeof buf, &got, timeout_ms)))
		return rc;
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	const char *cl = strcasestr(buf, "\r\ncontent-length:");
	size_t hdr_len = (size_t)(strstr(buf, "\r\n\r\n") + 4 - buf);
	size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
	if (want > sizeof buf - 1 - hdr_len)
		return -E2BIG;
	long long end = tacws_test_now_ms() + timeout_ms;
	while (got < hdr_len + want) {
		int left = (int)(end - tacws_test_now_ms());
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, left) != 1)
			return -ETIMEDOUT;
		ssize_t n = read(fd, buf + got, hdr_len + want - got);
		if (n <= 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	buf[hdr_len + want] = '\0';
	if (out_body)
		*out_body = strdup(buf + hdr_len);
	return status;
}

void edge_github_signature(const char *secret, const char *body, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, md, &n);
	strcpy(out, "sha256=");
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}
