#include "edge_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

int edge_connect(const char *src, int port)
{
	return edge_connect_rcvbuf(src, port, 0);
}

int edge_connect_rcvbuf(const char *src, int port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	/* before connect: the window offered in the handshake follows it */
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
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

/* MSG_NOSIGNAL: a server that closes first (as limits make it) is an error
 * to report, not a SIGPIPE that ends the test. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly n bytes by the deadline (tacws_test_now_ms() time). */
static int read_exact(int fd, void *p, size_t n, long long end)
{
	for (size_t got = 0; got < n;) {
		int left = (int)(end - tacws_test_now_ms());
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, left) != 1)
			return -ETIMEDOUT;
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

/* Reads into buf (NUL-terminated) until the header block is complete; exact: not
 * a byte past it, so what follows (WebSocket frames) stays in the socket. */
static int read_headers(int fd, char *buf, size_t cap, size_t *got, int timeout_ms, bool exact)
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
		ssize_t n = read(fd, buf + *got, exact ? 1 : cap - *got - 1);
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
	if ((rc = read_headers(fd, buf, sizeof buf, &got, timeout_ms, false)))
		return rc;
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	return status;
}

int edge_ws_upgrade(int fd, const char *path, const char *extra_headers, int timeout_ms,
                    char *answer, size_t cap)
{
	char req[2048], buf[4096];
	snprintf(req, sizeof req,
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	         "Sec-WebSocket-Version: 13\r\n%s\r\n",
	         path, extra_headers ? extra_headers : "");
	size_t got;
	int rc = write_all(fd, req, strlen(req));
	if (rc || (rc = read_headers(fd, buf, sizeof buf, &got, timeout_ms, true)))
		return rc;
	if (answer)
		snprintf(answer, cap, "%s", buf);
	int status = 0;
	return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : -EPROTO;
}

int edge_ws_frame(int fd, int timeout_ms, unsigned char *first, unsigned char **payload,
                  size_t *len)
{
	long long end = tacws_test_now_ms() + timeout_ms;
	unsigned char h[2], ext[8];
	int rc = read_exact(fd, h, 2, end);
	if (rc)
		return rc;
	uint64_t n = h[1] & 0x7f;
	if (n == 126 || n == 127) {
		size_t k = n == 126 ? 2 : 8;
		if ((rc = read_exact(fd, ext, k, end)))
			return rc;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | ext[i];
	}
	if (n > (64u << 20))
		return -E2BIG;
	unsigned char *body = malloc(n + 1);
	if (!body)
		return -ENOMEM;
	if ((rc = read_exact(fd, body, n, end))) {
		free(body);
		return rc;
	}
	body[n] = '\0';
	*first = h[0];
	*payload = body;
	*len = n;
	return 0;
}

int edge_ws_send_frame(int fd, unsigned char first, const void *payload, size_t len, bool masked)
{
	static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
	unsigned char head[14];
	size_t h = 0;
	head[h++] = first;
	unsigned char mask_bit = masked ? 0x80 : 0;
	if (len < 126) {
		head[h++] = mask_bit | (unsigned char)len;
	} else if (len <= 0xffff) {
		head[h++] = mask_bit | 126;
		head[h++] = (unsigned char)(len >> 8);
		head[h++] = (unsigned char)len;
	} else {
		head[h++] = mask_bit | 127;
		for (int i = 7; i >= 0; i--)
			head[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	if (masked) {
		memcpy(head + h, key, 4);
		h += 4;
	}
	unsigned char *frame = malloc(h + len);
	if (!frame)
		return -ENOMEM;
	memcpy(frame, head, h);
	for (size_t i = 0; i < len; i++)
		frame[h + i] = ((const unsigned char *)payload)[i] ^ (masked ? key[i % 4] : 0);
	int rc = write_all(fd, (const char *)frame, h + len);
	free(frame);
	return rc;
}

int edge_ws_close_frame(int fd, int timeout_ms, char *reason, size_t len, int *skipped)
{
	long long end = tacws_test_now_ms() + timeout_ms;
	if (skipped)
		*skipped = 0;
	for (;;) {
		unsigned char first, *body;
		size_t n;
		int left = (int)(end - tacws_test_now_ms());
		int rc = left > 0 ? edge_ws_frame(fd, left, &first, &body, &n) : -ETIMEDOUT;
		if (rc)
			return rc;
		if ((first & 0x0f) == 8) {
			int code = n >= 2 ? body[0] << 8 | body[1] : 1005;
			if (len)
				snprintf(reason, len, "%.*s", n >= 2 ? (int)n - 2 : 0,
				         (char *)body + 2);
			free(body);
			return code;
		}
		free(body);
		if (skipped)
			(*skipped)++;
	}
}

size_t edge_read_until_close(int fd, int timeout_ms, char *buf, size_t cap, bool *closed)
{
	long long end = tacws_test_now_ms() + timeout_ms;
	size_t got = 0;
	*closed = false;
	for (;;) {
		int left = (int)(end - tacws_test_now_ms());
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, left) != 1)
			break;
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n <= 0) {
			*closed = true;
			break;
		}
		size_t keep = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;
		memcpy(buf + got, chunk, keep);
		got += keep;
	}
	buf[got] = '\0';
	return got;
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
	if ((rc = read_headers(fd, buf, sizeof buf, &got, timeout_ms, false)))
		return rc;
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	const char *cl = strcasestr(buf, "\r\ncontent-length:");
	size_t hdr_len = (size_t)(strstr(buf, "\r\n\r\n") + 4 - buf);
	size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
	if (want > sizeof buf - 1 - hdr_len)
		return -E2BIG;
	if (got < hdr_len + want &&
	    (rc = read_exact(fd, buf + got, hdr_len + want - got, tacws_test_now_ms() + timeout_ms)))
		return rc;
	buf[hdr_len + want] = '\0';
	if (out_body)
		*out_body = strdup(buf + hdr_len);
	return status;
}

int edge_install_file(const char *from, const char *dir, const char *name)
{
	char tmp[1400], to[1400], buf[65536];
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	snprintf(to, sizeof to, "%s/%s", dir, name);
	int in = open(from, O_RDONLY), out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n = 0;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in < 0 || out < 0 || n < 0 || rename(tmp, to) ? -1 : 0;
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

int edge_start_alpha(tacws_server_fixture **fx, const char *ini_extra, int *port)
{
	int rc = tacws_server_fixture_new(fx);
	if (rc)
		return rc;
	const char *dir = tacws_server_fixture_dir(*fx);
	char ini[4096];
	if ((rc = tacws_test_write_file(dir, "alpha.json", "{\"v\":1}")))
		return rc;
	snprintf(ini, sizeof ini, "%s[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\n",
	         ini_extra, dir);
	tacws_server_config cfg = {.ini = ini, .plugin_dir = TEST_PLUGIN_DIR, .log_level = "info"};
	if ((rc = tacws_server_fixture_start(*fx, &cfg)))
		return rc;
	*port = tacws_server_fixture_port(*fx);
	return 0;
}

char *edge_filler_json(size_t bytes)
{
	char *filler = malloc(bytes + 16);
	if (!filler)
		return NULL;
	strcpy(filler, "{\"fill\":\"");
	memset(filler + 9, 'x', bytes);
	strcpy(filler + 9 + bytes, "\"}");
	return filler;
}
