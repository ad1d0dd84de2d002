/*
 * [server] compression = 1 against a real tacwsd: a client that offers
 * permessage-deflate gets it (the answer names it, frames carry RSV1 and
 * inflate with zlib to the envelopes, change after change, each on its own:
 * the server compresses every message once, with no context from earlier
 * ones); Chromium's and Firefox's offers both work, and a compressed message
 * from the client is read; a client that offers no extension, one that asks
 * for a smaller window, an old WebKit's x-webkit-deflate-frame or Safari
 * 15.0-15.3 (or a User-Agent too long to tell) gets plain frames (the offer
 * declined, or none). The answer always has server_no_context_takeover and
 * client_no_context_takeover, and client_max_window_bits=9 (or lower, as
 * offered) when offered. A few hundred compressed connections stay within a few
 * KB each, and sending compressed messages adds well under 1 KB each (lws's
 * inflater ends after each message).
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

/* The value of the answer's Sec-WebSocket-Extensions into out ("" when absent). */
static void answer_extensions(const char *answer, char *out, size_t cap)
{
	out[0] = '\0';
	const char *h = strcasestr(answer, "\r\nSec-WebSocket-Extensions:");
	if (!h)
		return;
	h += strlen("\r\nSec-WebSocket-Extensions:");
	while (*h == ' ')
		h++;
	const char *e = strstr(h, "\r\n");
	size_t n = e ? (size_t)(e - h) : strlen(h);
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), h);
	/* one Sec-WebSocket-Extensions line only */
	CU_ASSERT_PTR_NULL(strcasestr(h, "\r\nSec-WebSocket-Extensions:"));
}

/* The window the answer lets the client compress with: client_max_window_bits, or 15. */
static int answer_client_bits(const char *answer)
{
	char ext[256];
	answer_extensions(answer, ext, sizeof ext);
	const char *b = strstr(ext, "client_max_window_bits=");
	return b ? atoi(b + strlen("client_max_window_bits=")) : 15;
}

/* text compressed as a client must once the answer is in: its own stream (no
 * context takeover), the window answered, the sync tail left off. Returns the
 * length written to out, 0 on failure. */
static size_t client_deflate(const char *text, int bits, unsigned char *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (unsigned char *)text;
	z.avail_in = (uInt)strlen(text);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_SYNC_FLUSH);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	return rc == Z_OK && !z.avail_in && n > 4 ? n - 4 : 0; /* without 00 00 ff ff */
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
 * whether the 101 names permessage-deflate (a declined offer is not answered). */
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
	/* our shared frames use a 32 KB window: the offer is declined */
	check_offer_plain("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n",
			  false);
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
			  false);
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
	check_offer_plain(offer, false);
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
	CU_ASSERT_EQUAL(answer_client_bits(answer), 9);
	unsigned char z_out[256];
	size_t zlen = client_deflate(ping, answer_client_bits(answer), z_out, sizeof z_out);
	CU_ASSERT_FATAL(zlen > 0);
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

/* The answer to offer (a whole header line, or NULL for none) is want ("" for none). */
static void check_answer(const char *offer, const char *want)
{
	char answer[2048], ext[256];
	int fd = upgrade(offer, answer, sizeof answer);
	CU_ASSERT_FATAL(fd >= 0);
	answer_extensions(answer, ext, sizeof ext);
	CU_ASSERT_STRING_EQUAL(ext, want);
	if (strcmp(ext, want))
		printf("\n  offer %s: answered \"%s\"\n", offer ? offer : "(none)", ext);
	close(fd);
}

#define NO_TAKEOVER "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

/* What the 101 answers: no context takeover either way (allowed whether offered
 * or not, RFC 7692 7.1.1), so one payload per message suits every client and the
 * server's inflater can end after each message; client_max_window_bits only
 * when offered, never above the offered value (7.1.2.2). */
static void test_answers(void)
{
	check_answer(CHROMIUM_OFFER, NO_TAKEOVER "; client_max_window_bits=9");
	check_answer(FIREFOX_OFFER, NO_TAKEOVER);
	check_answer("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n",
		     NO_TAKEOVER "; client_max_window_bits=9");
	check_answer("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n",
		     NO_TAKEOVER "; client_max_window_bits=8");
	check_answer("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
		     "client_no_context_takeover\r\n",
		     NO_TAKEOVER);
	check_answer("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=15; "
		     "client_max_window_bits\r\n",
		     NO_TAKEOVER "; client_max_window_bits=9");
	/* the first offer is the one answered */
	check_answer("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12, "
		     "permessage-deflate\r\n",
		     NO_TAKEOVER "; client_max_window_bits=9");
	check_answer(NULL, "");
	check_answer("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n", "");
	/* declined: not answered at all */
	check_answer("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n", "");
	check_answer("Sec-WebSocket-Extensions: permessage-deflate; x_unknown\r\n", "");
}

#define SENDERS 300
#define SENT_EACH 3

/* What sending compressed messages may add per connection: tacws's receive
 * buffer keeps the longest message (1 KB here) and lws keeps a buffer for
 * inflated bytes (512 bytes and headroom), +2.3 KB measured; lws's inflater
 * (7 KB of zlib state and its window) ends after each message. Kept, as before
 * tacws answered client_no_context_takeover, it measured +11.8 KB per
 * connection in this test. AddressSanitizer keeps freed memory in quarantine
 * (every inflater of every message: +90 KB each measured), so a sanitizer build
 * can only check a loose bound. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define SEND_BOUND_PER_CONN (192 * 1024)
#endif
#endif
#if !defined(SEND_BOUND_PER_CONN) && defined(__SANITIZE_ADDRESS__) /* gcc */
#define SEND_BOUND_PER_CONN (192 * 1024)
#endif
#ifndef SEND_BOUND_PER_CONN
#define SEND_BOUND_PER_CONN 4096
#endif

/* The reply to a ping carrying stamp, compressed or not. */
static bool read_pong(int fd, const char *stamp)
{
	unsigned char first, *payload = NULL;
	size_t len = 0;
	if (edge_ws_frame(fd, 5000, &first, &payload, &len))
		return false;
	char *text = (char *)payload;
	if (first == 0xc1) {
		z_stream in;
		memset(&in, 0, sizeof in);
		text = inflateInit2(&in, -15) == Z_OK ? inflate_message(&in, payload, len) : NULL;
		inflateEnd(&in);
		free(payload);
	}
	bool ok = text && strstr(text, "\"type\":\"pong\"") && strstr(text, stamp);
	free(text);
	return ok;
}

/* SENDERS compressed connections each send SENT_EACH compressed pings (with the
 * window answered, each on its own stream) and read the pongs: the server's
 * RSS grows by less than SEND_BOUND_PER_CONN each from before they sent. */
static void test_memory_bounded_when_clients_send(void)
{
	static int fds[SENDERS];
	static int bits[SENDERS];
	int open_n = 0;
	for (; open_n < SENDERS; open_n++) {
		char answer[1024];
		fds[open_n] = upgrade(open_n % 2 ? CHROMIUM_OFFER : FIREFOX_OFFER, answer, sizeof answer);
		if (fds[open_n] < 0)
			break;
		bits[open_n] = answer_client_bits(answer);
		char *text = read_compressed_alone(fds[open_n]);
		if (!text)
			break;
		free(text);
	}
	CU_ASSERT_EQUAL_FATAL(open_n, SENDERS);
	long before = server_rss_kb();
	CU_ASSERT_FATAL(before > 0);
	int pongs = 0;
	for (int round = 0; round < SENT_EACH; round++) {
		for (int i = 0; i < SENDERS; i++) {
			/* a ping of about 1 KB that compresses well, as a client's messages do */
			char ping[1400], stamp[64];
			snprintf(stamp, sizeof stamp, "t-%d-%d", i, round);
			int n = snprintf(ping, sizeof ping, "{\"type\":\"ping\",\"timestamp\":\"%s", stamp);
			for (int k = 0; k < 40; k++)
				n += snprintf(ping + n, sizeof ping - (size_t)n, "-status-running-%02d", k);
			snprintf(ping + n, sizeof ping - (size_t)n, "\"}");
			unsigned char z[1400];
			size_t zlen = client_deflate(ping, bits[i], z, sizeof z);
			CU_ASSERT_FATAL(zlen > 0 && zlen < strlen(ping));
			CU_ASSERT_EQUAL_FATAL(edge_ws_send_frame(fds[i], 0xc1, z, zlen, true), 0);
		}
		for (int i = 0; i < SENDERS; i++) {
			char stamp[64];
			snprintf(stamp, sizeof stamp, "t-%d-%d-status", i, round);
			pongs += read_pong(fds[i], stamp);
		}
	}
	CU_ASSERT_EQUAL(pongs, SENDERS * SENT_EACH);
	long after = server_rss_kb();
	long per_conn = (after - before) * 1024 / SENDERS;
	printf("\n  %d connections sent %d compressed pings each: VmRSS %ld -> %ld KB, %+ld bytes "
	       "each\n",
	       SENDERS, SENT_EACH, before, after, per_conn);
	CU_ASSERT(per_conn < SEND_BOUND_PER_CONN);
	for (int i = 0; i < SENDERS; i++)
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
	    {"the answer to each offer", test_answers},
	    {"clients that send compressed messages: memory stays bounded",
	     test_memory_bounded_when_clients_send},
	    {NULL, NULL},
	};
	return tacws_test_run("compression", setup, teardown, cases);
}
