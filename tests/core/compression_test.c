/*
 * [server] compression = 1 against a real tacwsd: a client that offers
 * permessage-deflate gets it (the answer names it, frames carry RSV1 and
 * inflate with zlib to the envelopes, change after change); a client that does
 * not offer it gets plain frames from the same server.
 */
/* memmem, strcasestr: _GNU_SOURCE comes from the build */
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

/* A socket upgraded on /api/v1/ws/alpha with extra headers; answer gets the
 * answer's headers. Returns the socket or -1. */
static int upgrade(const char *extra_headers, char *answer, size_t cap)
{
	int fd = edge_connect(NULL, port);
	if (fd >= 0 && edge_ws_upgrade(fd, "/api/v1/ws/alpha", extra_headers, 3000, answer, cap) == 101)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
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
	char answer[2048];
	int fd = upgrade("Sec-WebSocket-Extensions: permessage-deflate\r\n", answer, sizeof answer);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(answer, "Sec-WebSocket-Extensions: permessage-deflate"));
	z_stream z;
	memset(&z, 0, sizeof z);
	CU_ASSERT_EQUAL_FATAL(inflateInit2(&z, -15), Z_OK);
	for (int round = 0; round < 2; round++) {
		if (round) /* a change: the next message, compressed as well */
			CU_ASSERT_EQUAL_FATAL(write_snapshot(2), 0);
		unsigned char first, *payload = NULL;
		size_t len = 0;
		CU_ASSERT_EQUAL_FATAL(edge_ws_frame(fd, 5000, &first, &payload, &len), 0);
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
	close(fd);
}

static void test_not_offered_plain(void)
{
	char answer[2048];
	int fd = upgrade(NULL, answer, sizeof answer);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_PTR_NULL(strcasestr(answer, "permessage-deflate"));
	unsigned char first, *payload = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(edge_ws_frame(fd, 5000, &first, &payload, &len), 0);
	CU_ASSERT_EQUAL(first, 0x81); /* FIN, text, no RSV1 */
	CU_ASSERT_PTR_NOT_NULL(strstr((char *)payload, "\"type\":\"test_update\""));
	free(payload);
	close(fd);
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
