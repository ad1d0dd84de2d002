/*
 * [server] compression = 1 against a real tacwsd: a client that offers
 * permessage-deflate gets it (the answer names it, frames carry RSV1 and
 * inflate with zlib to the envelopes, change after change); a client that does
 * not offer it gets plain frames from the same server.
 */
/* memmem, strcasestr: _GNU_SOURCE comes from the build */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"

static tacws_server_fixture *fx;
static int port;

/* A socket past the upgrade: its answer's headers and the bytes read after them. */
struct peer {
	int fd;
	char headers[2048];
	unsigned char buf[65536];
	size_t len;
};

static int read_more(struct peer *p, int timeout_ms)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	if (p->len == sizeof p->buf || poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	ssize_t n = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
	if (n <= 0)
		return -1;
	p->len += (size_t)n;
	return 0;
}

static int upgrade(struct peer *p, const char *extensions)
{
	memset(p, 0, sizeof *p);
	p->fd = edge_connect(NULL, port);
	if (p->fd < 0)
		return -1;
	char req[1024];
	int n = snprintf(req, sizeof req,
			 "GET /api/v1/ws/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\n%s\r\n",
			 extensions ? extensions : "");
	if (write(p->fd, req, (size_t)n) != n)
		return -1;
	char *end;
	while (!(end = memmem(p->buf, p->len, "\r\n\r\n", 4)))
		if (read_more(p, 3000))
			return -1;
	size_t hlen = (size_t)(end + 4 - (char *)p->buf);
	snprintf(p->headers, sizeof p->headers, "%.*s", (int)hlen, (char *)p->buf);
	memmove(p->buf, p->buf + hlen, p->len - hlen);
	p->len -= hlen;
	return strncmp(p->headers, "HTTP/1.1 101", 12) ? -1 : 0;
}

/* The next server frame: its first byte (FIN, RSV1, opcode) and payload. */
static int next_frame(struct peer *p, unsigned char *first, unsigned char **payload, size_t *plen)
{
	for (;;) {
		if (p->len >= 2) {
			size_t h = 2, n = p->buf[1] & 0x7f;
			if (n == 126 && p->len >= 4) {
				n = (size_t)p->buf[2] << 8 | p->buf[3];
				h = 4;
			}
			if (n != 127 && (n < 126 || h == 4) && p->len >= h + n) {
				*first = p->buf[0];
				*payload = malloc(n + 1);
				memcpy(*payload, p->buf + h, n);
				*plen = n;
				memmove(p->buf, p->buf + h + n, p->len - h - n);
				p->len -= h + n;
				return 0;
			}
		}
		if (read_more(p, 5000))
			return -1;
	}
}

/* Inflates one permessage-deflate message (RFC 7692: the stream's sync tail is
 * left off by the sender) with z, which keeps the window between messages. */
static char *inflate_message(z_stream *z, const unsigned char *in, size_t len)
{
	static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
	size_t cap = 1 << 20, got = 0;
	char *out = malloc(cap + 1);
	const unsigned char *parts[2] = {in, tail};
	size_t lens[2] = {len, 4};
	for (int i = 0; i < 2; i++) {
		z->next_in = (unsigned char *)parts[i];
		z->avail_in = (uInt)lens[i];
		while (z->avail_in) {
			z->next_out = (unsigned char *)out + got;
			z->avail_out = (uInt)(cap - got);
			int rc = inflate(z, Z_SYNC_FLUSH);
			got = cap - z->avail_out;
			if (rc != Z_OK && rc != Z_BUF_ERROR) {
				free(out);
				return NULL;
			}
			if (rc == Z_BUF_ERROR)
				break;
		}
	}
	out[got] = '\0';
	return out;
}

/* A snapshot that compresses well: the same record many times. */
static int write_snapshot(int v)
{
	char text[8192];
	size_t n = (size_t)snprintf(text, sizeof text, "{\"v\":%d,\"rows\":[", v);
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s{\"status\":\"running\",\"i\":%d}",
				      i ? "," : "", i);
	snprintf(text + n, sizeof text - n, "]}");
	return tacws_test_write_file(tacws_server_fixture_dir(fx), "alpha.json", text);
}

static void test_offered_and_used(void)
{
	struct peer *p = calloc(1, sizeof *p);
	CU_ASSERT_EQUAL_FATAL(upgrade(p, "Sec-WebSocket-Extensions: permessage-deflate\r\n"), 0);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(p->headers, "Sec-WebSocket-Extensions: permessage-deflate"));
	z_stream z;
	memset(&z, 0, sizeof z);
	CU_ASSERT_EQUAL_FATAL(inflateInit2(&z, -15), Z_OK);
	for (int round = 0; round < 2; round++) {
		if (round) /* a change: the next message, compressed as well */
			CU_ASSERT_EQUAL_FATAL(write_snapshot(2), 0);
		unsigned char first, *payload = NULL;
		size_t len = 0;
		CU_ASSERT_EQUAL_FATAL(next_frame(p, &first, &payload, &len), 0);
		CU_ASSERT_EQUAL(first, 0xc1); /* FIN, RSV1 (compressed), text */
		char *text = inflate_message(&z, payload, len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"type\":\"test_update\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, round ? "\"seq\":2" : "\"seq\":1"));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, round ? "{\"v\":2," : "{\"v\":1,"));
		CU_ASSERT(len * 4 < strlen(text)); /* repeated records shrink well */
		free(text);
		free(payload);
	}
	inflateEnd(&z);
	close(p->fd);
	free(p);
}

static void test_not_offered_plain(void)
{
	struct peer *p = calloc(1, sizeof *p);
	CU_ASSERT_EQUAL_FATAL(upgrade(p, NULL), 0);
	CU_ASSERT_PTR_NULL(strcasestr(p->headers, "permessage-deflate"));
	unsigned char first, *payload = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(next_frame(p, &first, &payload, &len), 0);
	CU_ASSERT_EQUAL(first, 0x81); /* FIN, text, no RSV1 */
	payload[len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr((char *)payload, "\"type\":\"test_update\""));
	free(payload);
	close(p->fd);
	free(p);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx) || write_snapshot(1))
		return 1;
	char ini[1024];
	snprintf(ini, sizeof ini, "[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\n"
		 "interval_ms = 100\n", tacws_server_fixture_dir(fx));
	tacws_server_config cfg = {
	    .server_keys = "compression = 1\n",
	    .ini = ini,
	    .plugin_dir = TEST_PLUGIN_DIR,
	    .log_level = "info",
	};
	if (tacws_server_fixture_start(fx, &cfg))
		return 1;
	port = tacws_server_fixture_port(fx);
	return 0;
}

static int teardown(void)
{
	return tacws_server_fixture_finish(fx);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"offered permessage-deflate: used, message after message", test_offered_and_used},
	    {"not offered: plain frames", test_not_offered_plain},
	    {NULL, NULL},
	};
	return tacws_test_run("compression", setup, teardown, cases);
}
