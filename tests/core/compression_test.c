/*
 * [server] compression = 1 against a real tacwsd: a client that offers
 * permessage-deflate gets it (the answer names it, frames carry RSV1 and
 * inflate with zlib to the envelopes, change after change, each on its own:
 * the server compresses every message once, with no context from earlier
 * ones); Chromium's and Firefox's offers both work, and a compressed message
 * from the client is read; a client that offers no extension, one that asks
 * for a smaller window, an old WebKit's x-webkit-deflate-frame or Safari
 * 15.0-15.3 (or a User-Agent too long to tell) gets plain frames. A few hundred compressed connections stay within a few KB each.
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

/* Chromium's and Firefox's offers, as they send them. */
#define CHROMIUM_OFFER "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
#define FIREFOX_OFFER "Sec-WebSocket-Extensions: permessage-deflate\r\n"

/* Reads the next frame, which must be compressed, and inflates it with a fresh
 * inflater: the message must stand on its own. Returns the text or NULL. */
static char *read_compressed_alone(int fd)
{
	unsigned char first, *payload = NULL;
	size_t len = 0;
	if (edge_ws_frame(fd, 5000, &first, &payload, &len))
		return NULL;
	CU_ASSERT_EQUAL(first, 0xc1); /* FIN, RSV1 (compressed), text */
	z_stream z;
	memset(&z, 0, sizeof z);
	char *text = NULL;
	if (inflateInit2(&z, -15) == Z_OK) {
		text = inflate_message(&z, payload, len);
		inflateEnd(&z);
	}
	free(payload);
	return text;
}

/* Opens a socket with offer and checks two messages (the snapshot, then a
 * change), each decoded alone. */
static void check_offer_compressed(const char *offer, int next_version)
{
	char answer[2048];
	int fd = upgrade(offer, answer, sizeof answer);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(answer, "Sec-WebSocket-Extensions: permessage-deflate"));
	char *text = read_compressed_alone(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"type\":\"test_update\""));
	free(text);
	CU_ASSERT_EQUAL_FATAL(write_snapshot(next_version), 0);
	text = read_compressed_alone(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	char want[32];
	snprintf(want, sizeof want, "{\"v\":%d,", next_version);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
	free(text);
	close(fd);
}

static void test_chromium_offer(void)
{
	check_offer_compressed(CHROMIUM_OFFER, 3);
}

static void test_firefox_offer(void)
{
	check_offer_compressed(FIREFOX_OFFER, 4);
}

/* The first frame on a socket opened with offer is plain; answer_names tells
 * whether the 101 names permessage-deflate. */
static void check_offer_plain(const char *offer, bool answer_names)
{
	char answer[2048];
	int fd = upgrade(offer, answer, sizeof answer);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(strcasestr(answer, "permessage-deflate") != NULL, answer_names);
	unsigned char first, *payload = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(edge_ws_frame(fd, 5000, &first, &payload, &len), 0);
	CU_ASSERT_EQUAL(first, 0x81); /* FIN, text, no RSV1 */
	CU_ASSERT_PTR_NOT_NULL(strstr((char *)payload, "\"type\":\"test_update\""));
	free(payload);
	close(fd);
}

static void test_smaller_window_plain(void)
{
	/* our shared frames use a 32 KB window: this client gets uncompressed ones */
	check_offer_plain("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n",
			  true);
}

static void test_webkit_deflate_frame_plain(void)
{
	check_offer_plain("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n", false);
}

static void test_safari_15_2_plain(void)
{
	/* Safari 15.0-15.3 fails on compressed messages: it gets plain ones */
	check_offer_plain(FIREFOX_OFFER "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 12_2) "
			  "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.2 Safari/605.1.15\r\n",
			  true);
}

static void test_safari_long_user_agent_plain(void)
{
	/* a User-Agent longer than tacws reads cannot be told from Safari 15.2's: plain
	 * frames (it was taken as no User-Agent, so compressed) */
	char offer[2048];
	char pad[700];
	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	snprintf(offer, sizeof offer,
		 FIREFOX_OFFER "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 12_2; %s) "
			       "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.2 Safari/605.1.15\r\n",
		 pad);
	check_offer_plain(offer, true);
}

/* A client message compressed by the client (as browsers do once the extension
 * is on) is inflated and answered. */
static void test_client_compressed_message(void)
{
	char answer[2048];
	int fd = upgrade(CHROMIUM_OFFER, answer, sizeof answer);
	CU_ASSERT_FATAL(fd >= 0);
	char *text = read_compressed_alone(fd); /* the snapshot */
	free(text);
	static const char ping[] = "{\"type\":\"ping\",\"timestamp\":\"t-compressed-42\"}";
	unsigned char z_out[256];
	z_stream z;
	memset(&z, 0, sizeof z);
	CU_ASSERT_EQUAL_FATAL(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)ping;
	z.avail_in = sizeof ping - 1;
	z.next_out = z_out;
	z.avail_out = sizeof z_out;
	CU_ASSERT_EQUAL_FATAL(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	size_t zlen = sizeof z_out - z.avail_out - 4; /* without 00 00 ff ff */
	deflateEnd(&z);
	CU_ASSERT_EQUAL_FATAL(edge_ws_send_frame(fd, 0xc1, z_out, zlen, true), 0);
	unsigned char first, *payload = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(edge_ws_frame(fd, 5000, &first, &payload, &len), 0);
	char *pong = (char *)payload;
	if (first == 0xc1) { /* the pong may be compressed too */
		z_stream in;
		memset(&in, 0, sizeof in);
		CU_ASSERT_EQUAL_FATAL(inflateInit2(&in, -15), Z_OK);
		pong = inflate_message(&in, payload, len);
		inflateEnd(&in);
		free(payload);
	} else {
		CU_ASSERT_EQUAL(first, 0x81);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(pong);
	CU_ASSERT_PTR_NOT_NULL(strstr(pong, "\"type\":\"pong\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(pong, "t-compressed-42"));
	free(pong);
	close(fd);
}

/* tacwsd's resident memory, in KB (VmRSS), or -1. */
static long server_rss_kb(void)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tacws_server_fixture_pid(fx));
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

#define MANY 300

/* The bound per compressed connection: the whole connection's cost, a few KB
 * (a per-connection compressor alone would be 256 KB). AddressSanitizer's
 * redzones and quarantine make every allocation bigger in a sanitizer build. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define BOUND_PER_CONN (64 * 1024)
#endif
#endif
#if !defined(BOUND_PER_CONN) && defined(__SANITIZE_ADDRESS__) /* gcc */
#define BOUND_PER_CONN (64 * 1024)
#endif
#ifndef BOUND_PER_CONN
#define BOUND_PER_CONN (16 * 1024)
#endif

/* MANY compressed connections, each sent its snapshot and a change: the server
 * grows by a few KB each (a per-connection compressor would be 256 KB each). */
static void test_memory_per_connection_bounded(void)
{
	static int fds[MANY];
	long before = server_rss_kb();
	CU_ASSERT_FATAL(before > 0);
	int open_n = 0;
	for (; open_n < MANY; open_n++) {
		char answer[1024];
		fds[open_n] = upgrade(open_n % 2 ? CHROMIUM_OFFER : FIREFOX_OFFER, answer, sizeof answer);
		if (fds[open_n] < 0)
			break;
		char *text = read_compressed_alone(fds[open_n]);
		if (!text)
			break;
		free(text);
	}
	CU_ASSERT_EQUAL_FATAL(open_n, MANY);
	CU_ASSERT(tacws_server_metric(fx, "tacws_connections_compressed") >= MANY);
	CU_ASSERT_EQUAL_FATAL(write_snapshot(5), 0);
	for (int i = 0; i < MANY; i++) { /* every one gets the change, compressed */
		char *text = read_compressed_alone(fds[i]);
		CU_ASSERT(text && strstr(text, "{\"v\":5,") != NULL);
		free(text);
	}
	long after = server_rss_kb();
	long per_conn = (after - before) * 1024 / MANY;
	printf("\n  %d compressed connections: VmRSS %ld -> %ld KB, %ld bytes each\n", MANY, before,
	       after, per_conn);
	CU_ASSERT(per_conn < BOUND_PER_CONN);
	for (int i = 0; i < MANY; i++)
		close(fds[i]);
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
	check_offer_plain(NULL, false);
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
	    {"Chromium's offer: each message compressed on its own", test_chromium_offer},
	    {"Firefox's bare offer: each message compressed on its own", test_firefox_offer},
	    {"server_max_window_bits=10: plain frames", test_smaller_window_plain},
	    {"x-webkit-deflate-frame: plain frames", test_webkit_deflate_frame_plain},
	    {"Safari 15.2: plain frames", test_safari_15_2_plain},
	    {"a User-Agent too long to read: plain frames", test_safari_long_user_agent_plain},
	    {"a compressed client message is read", test_client_compressed_message},
	    {"memory per compressed connection stays bounded", test_memory_per_connection_bounded},
	    {NULL, NULL},
	};
	return tacws_test_run("compression", setup, teardown, cases);
}
