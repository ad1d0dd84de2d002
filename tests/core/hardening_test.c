/*
 * Issue 13, black box: each finding of the attack on a running tacwsd, as one
 * case asserting the behaviour the issue asks for (each failed before its
 * fix); "hardening_test F5" runs only the cases of one finding.
 *
 * Cases share one server (base_setup) unless they need a key of their own;
 * those start their own tacwsd, so a key the server does not know yet fails
 * only that case ("unknown key" in the log copied to stderr).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

/*
 * New configuration keys the fixes add: named once, here; each limit's
 * tacws_limit_hits_total{limit=...} label is its key.
 * - [server] max_topics: live topics each feed may hold (one value for every
 *   feed); a subscription to a new topic over it gets {"type":"error",
 *   "feed":<topic>,"message":<holding TOPIC_CAP_WORDS>}, its own socket 4xx/5xx.
 * - [server] topic_creations_per_s: new topics one connection may create per
 *   second (a token bucket of one second, like client_messages_per_s).
 * - [server] http_request_timeout_s: one deadline for a request's headers
 *   and body together.
 * - [auth] status_token: when set, /metrics and /api/v1/feeds need
 *   "Authorization: Bearer <status_token>" (ws_token does not open them);
 *   empty, they stay open as today. /healthz stays open (liveness probes).
 */
#define KEY_MAX_TOPICS "max_topics"
#define KEY_TOPIC_RATE "topic_creations_per_s"
#define KEY_HTTP_DEADLINE "http_request_timeout_s"
#define KEY_STATUS_TOKEN "status_token"
/* The words a refused topic's error message must hold. */
#define TOPIC_CAP_WORDS "topics"

#define WS_TOKEN "ws-t0ken"
#define Q "token=" WS_TOKEN
#define PUBLISH_TOKEN "pub-t0ken"
#define GOOD_ORIGIN "http://good.example"

static tacws_server_fixture *base; /* the shared server */
static int port;                   /* its port */

/* What the server did, on stderr: the "before" of each finding. */
static void observed(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\n    observed: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Starts a tacwsd of its own for one case: testfeed's alpha and item/{id}. */
static tacws_server_fixture *start_own(const char *server_keys, const char *auth)
{
	tacws_server_fixture *fx = NULL;
	if (tacws_server_fixture_new(&fx))
		return NULL;
	const char *dir = tacws_server_fixture_dir(fx);
	char ini[2048];
	snprintf(ini, sizeof ini,
	         "[auth]\n%s\n[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\n"
	         "[feed.item]\nplugin = testfeed\nfile = %s/alpha.json\n",
	         auth ? auth : "", dir, dir);
	tacws_server_config cfg = {.server_keys = server_keys,
	                           .ini = ini,
	                           .plugin_dir = TEST_PLUGIN_DIR,
	                           .log_level = "info"};
	if (tacws_test_write_file(dir, "alpha.json", "{\"v\":1}") ||
	    tacws_server_fixture_start(fx, &cfg)) {
		observed("tacwsd did not start with [server] %s [auth] %s (see its log above)",
		         server_keys ? server_keys : "", auth ? auth : "");
		tacws_server_fixture_free(fx);
		return NULL;
	}
	return fx;
}

/* One WebSocket upgrade on a fresh socket: the HTTP status, or -errno. */
static int upgrade_status(int on_port, const char *path, const char *extra)
{
	int fd = edge_connect(NULL, on_port);
	if (fd < 0)
		return fd;
	int st = edge_ws_upgrade(fd, path, extra, 3000, NULL, 0);
	close(fd);
	return st;
}

/* A raw socket upgraded on path of the base server, its first snapshot read; or -1. */
static int raw_ws(const char *path)
{
	int fd = edge_connect(NULL, port);
	if (fd < 0)
		return -1;
	unsigned char first, *body = NULL;
	size_t n;
	if (edge_ws_upgrade(fd, path, NULL, 3000, NULL, 0) != 101 ||
	    edge_ws_frame(fd, 3000, &first, &body, &n)) {
		close(fd);
		return -1;
	}
	free(body);
	return fd;
}

/* The status of the first answer on a new connection after sending request,
 * and whether the server then closed the connection with nothing more. */
static int request_once(int on_port, const char *request, size_t len, int timeout_ms, int *answers,
                        bool *closed)
{
	int fd = edge_connect(NULL, on_port);
	if (fd < 0)
		return fd;
	if (write(fd, request, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	static char buf[65536];
	edge_read_until_close(fd, timeout_ms, buf, sizeof buf, closed);
	close(fd);
	*answers = count(buf, "HTTP/1.1 ");
	int status = 0;
	return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : -ETIMEDOUT;
}

static tacws_wsclient *mux_open(int on_port, const char *query)
{
	tacws_wsclient *c = NULL;
	int status = 0;
	CU_ASSERT_EQUAL(tacws_ws_connect(on_port, NULL, NULL, query, NULL, 3000, &c, &status), 0);
	return c;
}

/* Collects messages up to the pong of ts: how many of each type came. An error
 * answers the message that caused it, so it comes before the pong; a snapshot
 * comes from a poll and may come after it. */
static void until_pong(tacws_wsclient *c, long long ts, int *updates, int *errors,
                       json_object **last_error)
{
	char ping[64];
	snprintf(ping, sizeof ping, "{\"type\":\"ping\",\"timestamp\":%lld}", ts);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_send_text(c, ping), 0);
	*updates = *errors = 0;
	for (;;) {
		json_object *m = NULL;
		if (tacws_ws_next(c, 5000, &m)) {
			CU_FAIL("no pong");
			return;
		}
		const char *type = tacws_ws_type(m);
		json_object *t;
		if (type && !strcmp(type, "pong") &&
		    json_object_object_get_ex(m, "timestamp", &t) &&
		    json_object_get_int64(t) == ts) {
			json_object_put(m);
			return;
		}
		if (type && !strcmp(type, "error")) {
			(*errors)++;
			if (last_error) {
				json_object_put(*last_error);
				*last_error = json_object_get(m);
			}
		} else if (type && strstr(type, "_update")) {
			(*updates)++;
		}
		json_object_put(m);
	}
}

static const char *field(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* --- F1: topics --- */

/* The feed's live topics, as /api/v1/feeds counts them; -1 when not found. */
static long feed_topics(int on_port, const char *feed)
{
	char *body = NULL;
	long n = -1;
	if (tacws_http_get_text(on_port, "/api/v1/feeds", &body) == 200) {
		json_object *all = json_tokener_parse(body), *feeds, *v;
		size_t count = all && json_object_object_get_ex(all, "feeds", &feeds)
		                   ? json_object_array_length(feeds)
		                   : 0;
		for (size_t i = 0; i < count; i++) {
			json_object *f = json_object_array_get_idx(feeds, i);
			if (!strcmp(field(f, "endpoint"), feed) &&
			    json_object_object_get_ex(f, "topics", &v))
				n = (long)json_object_get_int64(v);
		}
		json_object_put(all);
	}
	free(body);
	return n;
}

static void test_topic_cap(void)
{
	tacws_server_fixture *fx = start_own(KEY_MAX_TOPICS " = 5\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx);
	int p = tacws_server_fixture_port(fx);
	char sample[128];
	snprintf(sample, sizeof sample, "tacws_limit_hits_total{limit=\"%s\"}", KEY_MAX_TOPICS);
	long long before = tacws_server_metric(fx, sample);
	tacws_wsclient *c = mux_open(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"item/t0\","
	                                      "\"item/t1\",\"item/t2\",\"item/t3\",\"item/t4\"]}"),
	                0);
	for (int i = 0; i < 5; i++) /* snapshots come from polls: after any pong */
		CU_ASSERT_EQUAL(tacws_ws_expect(c, "item_update", 3000, NULL), 0);
	int updates, errors;
	json_object *err = NULL;
	/* the sixth topic of the feed is refused, and the client is told */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"item/t5\"]}"),
	                0);
	until_pong(c, 2, &updates, &errors, &err);
	updates += tacws_ws_expect_silence(c, 500, NULL) != 0; /* nor a snapshot later */
	observed("6th topic with %s = 5: %d update(s), %d error(s) %s; %s = %lld (was %lld)",
	         KEY_MAX_TOPICS, updates, errors, err ? json_object_to_json_string(err) : "",
	         sample, tacws_server_metric(fx, sample), before);
	CU_ASSERT_EQUAL(updates, 0);
	CU_ASSERT_EQUAL(errors, 1);
	CU_ASSERT_EQUAL(feed_topics(p, "item/{id}"), 5);
	CU_ASSERT_STRING_EQUAL(field(err, "feed"), "item/t5");
	CU_ASSERT_PTR_NOT_NULL(strstr(field(err, "message"), TOPIC_CAP_WORDS));
	json_object_put(err);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, sample), (before < 0 ? 0 : before) + 1);
	/* its own socket too; a topic that exists is still served */
	int st = upgrade_status(p, "/api/v1/ws/item/t6", NULL);
	CU_ASSERT(st >= 400 && st < 600);
	CU_ASSERT_EQUAL(upgrade_status(p, "/api/v1/ws/item/t0", NULL), 101);
	tacws_wsclient_free(c);
	CU_ASSERT_EQUAL(tacws_server_fixture_finish(fx), 0);
}

/* The attack: subscribe a new random id, unsubscribe, repeat. */
static void test_topic_creation_rate(void)
{
	tacws_server_fixture *fx =
	    start_own(KEY_TOPIC_RATE " = 5\nclient_messages_per_s = 1000\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx);
	int p = tacws_server_fixture_port(fx);
	char sample[128];
	snprintf(sample, sizeof sample, "tacws_limit_hits_total{limit=\"%s\"}", KEY_TOPIC_RATE);
	tacws_wsclient *c = mux_open(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (int i = 0; i < 30; i++) {
		char msg[128];
		snprintf(msg, sizeof msg, "{\"type\":\"subscribe\",\"feeds\":[\"item/churn%d\"]}",
		         i);
		CU_ASSERT_EQUAL(tacws_ws_send_text(c, msg), 0);
		snprintf(msg, sizeof msg, "{\"type\":\"unsubscribe\",\"feeds\":[\"item/churn%d\"]}",
		         i);
		CU_ASSERT_EQUAL(tacws_ws_send_text(c, msg), 0);
	}
	int updates, errors;
	until_pong(c, 1, &updates, &errors, NULL);
	long long hits = tacws_server_metric(fx, sample);
	long topics = feed_topics(p, "item/{id}"); /* unsubscribed topics stay topic_idle_s */
	observed("30 new topics at once with %s = 5: %ld created, %d error(s); %s = %lld",
	         KEY_TOPIC_RATE, topics, errors, sample, hits);
	CU_ASSERT(topics >= 1 && topics <= 7); /* one second's burst, and a little refill */
	CU_ASSERT(errors >= 1);
	CU_ASSERT(hits >= 1);
	/* a second later it may create again (the limit is a rate, not a ban) */
	usleep(1100 * 1000);
	CU_ASSERT_EQUAL(
	    tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"item/later\"]}"), 0);
	until_pong(c, 2, &updates, &errors, NULL);
	CU_ASSERT_EQUAL(errors, 0);
	CU_ASSERT(updates == 1 || tacws_ws_expect(c, "item_update", 3000, NULL) == 0);
	tacws_wsclient_free(c);
	CU_ASSERT_EQUAL(tacws_server_fixture_finish(fx), 0);
}

/* --- F2: headers that do not fit a buffer are refused, never ignored --- */

static void test_long_origin(void)
{
	char origin[300] = "http://";
	memset(origin + 7, 'a', 249);
	strcpy(origin + 256, ".test"); /* 261 bytes, a valid origin */
	char hdr[400];
	snprintf(hdr, sizeof hdr, "Origin: %s\r\n", origin);
	int st = upgrade_status(port, "/api/v1/ws/alpha?" Q, hdr);
	observed("a %zu-byte Origin with allowed_origins set: %d", strlen(origin), st);
	CU_ASSERT(st == 400 || st == 403 || st == 431);
	/* the check itself works on short ones */
	CU_ASSERT_EQUAL(
	    upgrade_status(port, "/api/v1/ws/alpha?" Q, "Origin: http://evil.example\r\n"), 403);
	CU_ASSERT_EQUAL(upgrade_status(port, "/api/v1/ws/alpha?" Q, "Origin: " GOOD_ORIGIN "\r\n"),
	                101);
}

/* An Authorization that cannot be read whole must not fall back to ?token=. */
static void test_long_authorization(void)
{
	char hdr[800] = "Authorization: Bearer ";
	size_t n = strlen(hdr);
	memset(hdr + n, 'x', 600);
	strcpy(hdr + n + 600, "\r\n");
	int st = upgrade_status(port, "/api/v1/ws/alpha?" Q, hdr);
	observed("a 622-byte Authorization beside a right ?token=: %d", st);
	CU_ASSERT(st == 400 || st == 401 || st == 431);
	CU_ASSERT_EQUAL(upgrade_status(port, "/api/v1/ws/alpha?" Q, NULL), 101);
}

static void test_long_host(void)
{
	char host[400];
	memset(host, 'h', 300);
	strcpy(host + 300, ".example");
	char req[1024];
	int len =
	    snprintf(req, sizeof req,
	             "GET /api/v1/ws/alpha?" Q " HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	             "Sec-WebSocket-Version: 13\r\n\r\n",
	             host);
	int answers;
	bool closed;
	int st = request_once(port, req, (size_t)len, 2000, &answers, &closed);
	observed("a %zu-byte Host on an upgrade: %d", strlen(host), st);
	CU_ASSERT(st == 400 || st == 431);
}

/* --- F3: a POST is answered on its headers when they decide it --- */

/* Sends a POST's headers (and no body) and waits 2 s for the answer. */
static int post_headers_only(const char *path, const char *extra, const char *content_length,
                             bool *closed)
{
	char req[1024];
	int len =
	    snprintf(req, sizeof req,
	             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	             "Content-Length: %s\r\n%s\r\n",
	             path, content_length, extra ? extra : "");
	int answers;
	return request_once(port, req, (size_t)len, 2000, &answers, closed);
}

static void test_wrong_token_before_body(void)
{
	bool closed;
	int st = post_headers_only("/api/v1/publish", "Authorization: Bearer wrong\r\n", "1000",
	                           &closed);
	observed("publish with a wrong token, 1000-byte body not sent: %d%s", st,
	         closed ? ", closed" : "");
	CU_ASSERT_EQUAL(st, 401);
	CU_ASSERT(closed);
	st = post_headers_only("/api/v1/publish", NULL, "1000", &closed);
	observed("publish with no token, body not sent: %d", st);
	CU_ASSERT_EQUAL(st, 401);
}

static void test_webhook_disabled_before_body(void)
{
	bool closed;
	int st = post_headers_only("/api/v1/webhooks/github", "X-GitHub-Event: push\r\n", "1000",
	                           &closed);
	observed("webhook disabled, 1000-byte body not sent: %d%s", st, closed ? ", closed" : "");
	/* 403 where the endpoint exists without a secret; 404 where webhooks are
	 * configured sections and none is */
	CU_ASSERT(st == 403 || st == 404);
	CU_ASSERT(closed);
}

static void test_body_over_limit_at_once(void)
{
	bool closed;
	int st = post_headers_only("/api/v1/publish", "Authorization: Bearer " PUBLISH_TOKEN "\r\n",
	                           "100000", &closed);
	observed("Content-Length 100000 over max_body_bytes 4096: %d%s", st,
	         closed ? ", closed" : "");
	CU_ASSERT_EQUAL(st, 413);
	CU_ASSERT(closed);
}

/* 1 byte a second: each byte used to restart lws's timeout. */
static void test_request_deadline(void)
{
	tacws_server_fixture *fx = start_own(KEY_HTTP_DEADLINE " = 2\nhandshake_timeout_s = 10\n",
	                                     "publish_token = " PUBLISH_TOKEN "\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx);
	int fd = edge_connect(NULL, tacws_server_fixture_port(fx));
	CU_ASSERT_FATAL(fd >= 0);
	const char *head = "POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                   "Authorization: Bearer " PUBLISH_TOKEN "\r\nContent-Length: 100\r\n\r\n";
	long long start = tacws_test_now_ms();
	CU_ASSERT_EQUAL(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	bool cut = false;
	while (!cut && tacws_test_now_ms() - start < 8000) {
		if (write(fd, "{", 1) != 1)
			break; /* reset: cut */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) == 1) {
			char buf[512];
			ssize_t n = read(fd, buf, sizeof buf);
			cut = n <= 0 || !strncmp(buf, "HTTP/1.1 408", 12);
			if (n > 0 && !cut)
				break; /* some other answer */
		}
	}
	long long took = tacws_test_now_ms() - start;
	observed("a POST body at 1 byte/s with %s = 2: %s after %lld ms", KEY_HTTP_DEADLINE,
	         cut ? "cut" : "still open", took);
	CU_ASSERT(cut);
	CU_ASSERT(took >= 1500 && took <= 4500);
	close(fd);
	CU_ASSERT_EQUAL(tacws_server_fixture_finish(fx), 0);
}

/* Requests still in their body count toward max_connections. */
static void test_http_connections_counted(void)
{
	tacws_server_fixture *fx = start_own("max_connections = 4\nhandshake_timeout_s = 10\n",
	                                     "publish_token = " PUBLISH_TOKEN "\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx);
	int p = tacws_server_fixture_port(fx);
	long long before =
	    tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_connections\"}");
	enum { N = 7 };
	int fd[N], refused = 0;
	const char *head =
	    "POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer " PUBLISH_TOKEN "\r\nContent-Length: 100\r\n\r\n{";
	for (int i = 0; i < N; i++) {
		fd[i] = edge_connect(NULL, p);
		CU_ASSERT_FATAL(fd[i] >= 0);
		CU_ASSERT_EQUAL(write(fd[i], head, strlen(head)), (ssize_t)strlen(head));
	}
	for (int i = 0; i < N; i++) {
		struct pollfd pf = {.fd = fd[i], .events = POLLIN};
		char buf[256] = "";
		if (poll(&pf, 1, i < 4 ? 200 : 2000) == 1 && read(fd[i], buf, sizeof buf - 1) > 0 &&
		    (!strncmp(buf, "HTTP/1.1 503", 12) || !strncmp(buf, "HTTP/1.1 429", 12)))
			refused++;
	}
	for (int i = 0; i < N; i++)
		close(fd[i]);
	usleep(100 * 1000); /* let the closes in before /metrics needs a connection */
	long long after =
	    tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_connections\"}");
	observed(
	    "%d POSTs held in their body with max_connections = 4: %d refused; limit hits %lld "
	    "(was %lld)",
	    N, refused, after, before);
	CU_ASSERT_EQUAL(refused, N - 4);
	CU_ASSERT(after >= before + N - 4);
	CU_ASSERT_EQUAL(tacws_server_fixture_finish(fx), 0);
}

/* --- F4: request framing --- */

/* The request (with a second one smuggled after its body) gets 400, and the
 * connection is closed: nothing after it is read as a request. */
static void expect_400_and_close(const char *what, const char *req, size_t len)
{
	int answers;
	bool closed;
	int st = request_once(port, req, len, 2000, &answers, &closed);
	observed("%s: %d, %d answer(s)%s", what, st, answers, closed ? ", closed" : ", kept open");
	CU_ASSERT_EQUAL(st, 400);
	CU_ASSERT_EQUAL(answers, 1);
	CU_ASSERT(closed);
}

static void test_content_length_and_chunked(void)
{
	static const char req[] = "POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                          "Authorization: Bearer " PUBLISH_TOKEN "\r\n"
	                          "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	                          "0\r\n\r\n"
	                          "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	expect_400_and_close("Content-Length with Transfer-Encoding: chunked", req, sizeof req - 1);
}

static void test_content_length_too_long(void)
{
	/* 5, written in 40 digits: more than tacws's buffer for the header */
	static const char req[] = "POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                          "Authorization: Bearer " PUBLISH_TOKEN "\r\n"
	                          "Content-Length: 0000000000000000000000000000000000000005\r\n\r\n"
	                          "hello"
	                          "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	expect_400_and_close("a 40-digit Content-Length", req, sizeof req - 1);
}

/* --- F5: client frames --- */

#define UNMASKED_METRIC "tacws_bad_input_total{kind=\"unmasked_frame\"}"
#define RATE_METRIC "tacws_limit_hits_total{limit=\"client_messages_per_s\"}"
#define EARLY_METRIC "tacws_bad_input_total{kind=\"data_before_upgrade\"}"

static void test_unmasked_frame(void)
{
	long long before = tacws_server_metric(base, UNMASKED_METRIC);
	int fd = raw_ws("/api/v1/ws/alpha?" Q);
	CU_ASSERT_FATAL(fd >= 0);
	static const char ping[] = "{\"type\":\"ping\",\"timestamp\":1}";
	CU_ASSERT_EQUAL(edge_ws_send_frame(fd, 0x81, ping, sizeof ping - 1, false), 0);
	int skipped;
	int code = edge_ws_close_frame(fd, 2000, NULL, 0, &skipped);
	observed("an unmasked text frame: close code %d, %d frame(s) before", code, skipped);
	CU_ASSERT_EQUAL(code, 1002);
	close(fd);
	CU_ASSERT_EQUAL(tacws_server_metric(base, UNMASKED_METRIC), before + 1);
}

static void test_binary_over_limit(void)
{
	static char big[10000];
	memset(big, 'b', sizeof big);
	int fd = raw_ws("/api/v1/ws/alpha?" Q);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(edge_ws_send_frame(fd, 0x82, big, sizeof big, true), 0);
	int code = edge_ws_close_frame(fd, 2000, NULL, 0, NULL);
	observed("a 10000-byte binary message, max_inbound_bytes 4096: close code %d", code);
	CU_ASSERT_EQUAL(code, 1009);
	close(fd);
	/* in three fragments of 2000: summed */
	fd = raw_ws("/api/v1/ws/alpha?" Q);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(edge_ws_send_frame(fd, 0x02, big, 2000, true), 0);
	CU_ASSERT_EQUAL(edge_ws_send_frame(fd, 0x00, big, 2000, true), 0);
	CU_ASSERT_EQUAL(edge_ws_send_frame(fd, 0x80, big, 2000, true), 0);
	code = edge_ws_close_frame(fd, 2000, NULL, 0, NULL);
	observed("a 6000-byte binary message in 3 fragments: close code %d", code);
	CU_ASSERT_EQUAL(code, 1009);
	close(fd);
}

static void test_control_frames_counted(void)
{
	/* client_messages_per_s = 5 */
	long long before = tacws_server_metric(base, RATE_METRIC);
	int fd = raw_ws("/api/v1/ws/alpha?" Q);
	CU_ASSERT_FATAL(fd >= 0);
	/* the server may close before all 30 are sent */
	for (int i = 0; i < 30 && !edge_ws_send_frame(fd, 0x89, "p", 1, true); i++)
		;
	int pongs;
	int code = edge_ws_close_frame(fd, 2000, NULL, 0, &pongs);
	observed("30 pings at once, client_messages_per_s 5: close code %d after %d pong(s)", code,
	         pongs);
	CU_ASSERT_EQUAL(code, 1008);
	close(fd);
	CU_ASSERT_EQUAL(tacws_server_metric(base, RATE_METRIC), before + 1);
}

static void test_fragments_counted(void)
{
	static const char msg[] = "{\"type\":\"client_ready\",\"n\":\"0123456789\"}";
	size_t n = sizeof msg - 1;
	int fd = raw_ws("/api/v1/ws/alpha?" Q);
	CU_ASSERT_FATAL(fd >= 0);
	for (size_t i = 0; i < n; i++) {
		unsigned char first = (i == 0 ? 0x01 : 0x00) | (i == n - 1 ? 0x80 : 0);
		CU_ASSERT_EQUAL(edge_ws_send_frame(fd, first, msg + i, 1, true), 0);
	}
	int code = edge_ws_close_frame(fd, 2000, NULL, 0, NULL);
	observed("one message in %zu fragments, client_messages_per_s 5: close code %d", n, code);
	CU_ASSERT_EQUAL(code, 1008);
	close(fd);
}

static void test_frames_before_101(void)
{
	/* frames sent behind the upgrade request, before its answer (RFC 6455 4.1
	 * forbids it): lws would read them with the request, past the frame checks */
	char req[1024];
	int n = snprintf(req, sizeof req,
			 "GET /api/v1/ws/alpha?" Q " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\n\r\n");
	static const unsigned char unmasked_ping[] = {0x89, 0x01, 'p'};
	memcpy(req + n, unmasked_ping, sizeof unmasked_ping);
	long long before = tacws_server_metric(base, EARLY_METRIC);
	int fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	int status = edge_raw(fd, req, (size_t)n + sizeof unmasked_ping, 3000);
	observed("an unmasked ping sent behind the upgrade request: HTTP %d", status);
	CU_ASSERT_EQUAL(status, 400);
	close(fd);
	CU_ASSERT_EQUAL(tacws_server_metric(base, EARLY_METRIC), before + 1);
	/* the same request alone still upgrades */
	fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(edge_raw(fd, req, (size_t)n, 3000), 101);
	close(fd);
}

/* --- F6: route on what the client asked for --- */

static void test_path_confusion(void)
{
	static const char *const paths[] = {
	    "/api/v1/ws/item/%2E%2E", "/api/v1/ws/item/%2e%2e", "/api/v1/ws/./alpha",
	    "/api/v1/ws/alpha/../",   "/api/v1/ws/item/..",     "/api/v1/ws/alpha/.",
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s?" Q, paths[i]);
		int st = upgrade_status(port, path, NULL);
		observed("upgrade on %s: %d", paths[i], st);
		CU_ASSERT(st == 400 || st == 404);
	}
	CU_ASSERT_EQUAL(upgrade_status(port, "/api/v1/ws/alpha?" Q, NULL), 101);
	CU_ASSERT_EQUAL(upgrade_status(port, "/api/v1/ws/item/x1?" Q, NULL), 101);
}

/* --- F7: status surfaces --- */

static long get_status(int on_port, const char *path, const char *bearer)
{
	char auth[128];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer ? bearer : "");
	const char *const headers[] = {auth, NULL};
	tacws_http_reply r;
	if (tacws_http_request(on_port, "GET", path, bearer ? headers : NULL, NULL, &r))
		return 0;
	long st = r.status;
	tacws_http_reply_clear(&r);
	return st;
}

static void test_status_token(void)
{
	long st = get_status(port, "/metrics", NULL);
	observed("/metrics with no token, ws_token set, no %s: %ld (stays open: its own token)",
	         KEY_STATUS_TOKEN, st);
	tacws_server_fixture *fx =
	    start_own(NULL, KEY_STATUS_TOKEN " = st4tus\nws_token = " WS_TOKEN "\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx);
	int p = tacws_server_fixture_port(fx);
	static const char *const paths[] = {"/metrics", "/api/v1/feeds"};
	for (int i = 0; i < 2; i++) {
		long none = get_status(p, paths[i], NULL), ws = get_status(p, paths[i], WS_TOKEN),
		     right = get_status(p, paths[i], "st4tus");
		observed("%s: %ld without a token, %ld with ws_token, %ld with %s", paths[i], none,
		         ws, right, KEY_STATUS_TOKEN);
		CU_ASSERT_EQUAL(none, 401);
		CU_ASSERT_EQUAL(ws, 401);
		CU_ASSERT_EQUAL(right, 200);
	}
	CU_ASSERT_EQUAL(get_status(p, "/healthz", NULL), 200); /* liveness stays open */
	CU_ASSERT_EQUAL(tacws_server_fixture_finish(fx), 0);
}

/* Appends what /api/v1/feeds and /metrics answer, and the messages c received
 * meanwhile, to buf (cap bytes, NUL-terminated). */
static void read_status_surfaces(int on_port, tacws_wsclient *c, char *buf, size_t cap)
{
	size_t len = strlen(buf);
	const char *const paths[] = {"/api/v1/feeds", "/metrics"};
	for (int i = 0; i < 2 && len < cap; i++) {
		char *body = NULL;
		tacws_http_get_text(on_port, paths[i], &body);
		len += (size_t)snprintf(buf + len, cap - len, "%s\n", body ? body : "");
		free(body);
	}
	json_object *m;
	while (len < cap && !tacws_ws_next(c, 300, &m)) {
		len +=
		    (size_t)snprintf(buf + len, cap - len, "%s\n", json_object_to_json_string(m));
		json_object_put(m);
	}
}

static void test_redaction(void)
{
	tacws_server_fixture *fx = NULL;
	CU_ASSERT_FATAL(tacws_server_fixture_new(&fx) == 0);
	const char *dir = tacws_server_fixture_dir(fx);
	char ini[2048];
	snprintf(
	    ini, sizeof ini,
	    "[sources]\ndatabase = sqlite:%s/priv4te-dir/database.db\n"
	    "webhook_status_url = http://user:s3cretpw@127.0.0.1:1/webhook-status?token=tok3nabc\n"
	    "[feed.queue]\nplugin = queue\n"
	    "[feed.webhook-status]\nplugin = webhook_status\ntimeout_ms = 500\n"
	    "[feed.system-status]\nplugin = system_status\n"
	    "[check.svc]\ntype = http\nname = Svc\n"
	    "url = http://user:s3cretpw@127.0.0.1:1/x?token=tok3nabc\ntimeout_ms = 500\n",
	    dir);
	tacws_server_config cfg = {.ini = ini, .log_level = "info"};
	CU_ASSERT_FATAL(tacws_server_fixture_start(fx, &cfg) == 0);
	int p = tacws_server_fixture_port(fx);
	tacws_wsclient *c = mux_open(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"queue\","
	                                      "\"webhook-status\",\"system-status\"]}"),
	                0);
	/* until queue's and webhook-status's polls have failed (system-status does not fail:
	 * it reports the check's error as data) */
	size_t cap = 1 << 20;
	char *all = calloc(1, cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(all);
	for (long long end = tacws_test_now_ms() + 5000; tacws_test_now_ms() < end;) {
		read_status_surfaces(p, c, all, cap);
		if (count(all, "\"last_error\":\"") >= 2 && count(all, "system_status_update"))
			break;
	}
	observed("what clients read holds s3cretpw %d, tok3nabc %d, priv4te-dir %d time(s)",
	         count(all, "s3cretpw"), count(all, "tok3nabc"), count(all, "priv4te-dir"));
	CU_ASSERT_PTR_NULL(strstr(all, "s3cretpw"));
	CU_ASSERT_PTR_NULL(strstr(all, "tok3nabc"));
	CU_ASSERT_PTR_NULL(strstr(all, "priv4te-dir"));
	CU_ASSERT_PTR_NULL(strstr(all, dir));
	/* the errors are still there, with the host they concern */
	CU_ASSERT(count(all, "\"last_error\":\"") >= 2);
	CU_ASSERT(count(all, "127.0.0.1:1") >= 2);
	/* and whole in the log, for the operator */
	char *log = tacws_server_fixture_log(fx);
	CU_ASSERT(log && strstr(log, "priv4te-dir"));
	free(log);
	free(all);
	tacws_wsclient_free(c);
	CU_ASSERT_EQUAL(tacws_server_fixture_finish(fx), 0);
}

/* --- F8: one error per client message --- */

static void test_one_error_per_message(void)
{
	tacws_wsclient *c = mux_open(port, Q);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	char msg[2048] = "{\"type\":\"subscribe\",\"feeds\":[";
	for (int i = 0; i < 100; i++) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, "%s\"nosuch%d\"", i ? "," : "", i);
	}
	strcat(msg, "]}");
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, msg), 0);
	int updates, errors;
	until_pong(c, 1, &updates, &errors, NULL);
	observed("one subscribe of 100 bad names: %d error message(s)", errors);
	CU_ASSERT_EQUAL(errors, 1);
	/* good and bad together: the good one is served, one error for the rest */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"nosuch1\","
	                                      "\"alpha\",\"nosuch2\"]}"),
	                0);
	until_pong(c, 2, &updates, &errors, NULL);
	CU_ASSERT_EQUAL(errors, 1);
	CU_ASSERT(updates == 1 || tacws_ws_expect(c, "test_update", 3000, NULL) == 0);
	tacws_wsclient_free(c);
}

static int base_setup(void)
{
	base = start_own("client_messages_per_s = 5\nmax_body_bytes = 4096\n",
	                 "ws_token = " WS_TOKEN "\nallowed_origins = " GOOD_ORIGIN "\n"
	                 "publish_token = " PUBLISH_TOKEN "\n");
	if (!base)
		return 1;
	port = tacws_server_fixture_port(base);
	return 0;
}

static int base_teardown(void)
{
	return tacws_server_fixture_finish(base);
}

int main(int argc, char **argv)
{
	static const tacws_test_case all[] = {
	    {"F3 Content-Length over max_body_bytes: 413 at once", test_body_over_limit_at_once},
	    {"F2 a 261-byte Origin is refused", test_long_origin},
	    {"F2 an over-long Authorization is refused, not ignored", test_long_authorization},
	    {"F2 an over-long Host is refused", test_long_host},
	    {"F4 Content-Length with chunked: 400 and close", test_content_length_and_chunked},
	    {"F4 a Content-Length too long to read: 400 and close", test_content_length_too_long},
	    {"F8 one error per client message", test_one_error_per_message},
	    {"F5 a binary message over max_inbound_bytes: 1009", test_binary_over_limit},
	    {"F5 fragments count toward client_messages_per_s", test_fragments_counted},
	    {"F5 an unmasked client frame: 1002", test_unmasked_frame},
	    {"F5 pings count toward client_messages_per_s", test_control_frames_counted},
	    {"F5 frames sent before the 101: 400", test_frames_before_101},
	    {"F3 a wrong publish token: 401 before the body", test_wrong_token_before_body},
	    {"F3 webhook disabled: 403/404 before the body", test_webhook_disabled_before_body},
	    {"F3 a slow POST is cut by the request deadline", test_request_deadline},
	    {"F3 HTTP connections count toward max_connections", test_http_connections_counted},
	    {"F7 status_token guards /metrics and /api/v1/feeds", test_status_token},
	    {"F6 dot segments and encoded dots are not routed", test_path_confusion},
	    {"F1 max_topics: the topic over the cap gets an error, counted", test_topic_cap},
	    {"F1 topic_creations_per_s: subscribe/unsubscribe churn is limited",
	     test_topic_creation_rate},
	    {"F7 no credentials, queries or local paths leave the process", test_redaction},
	    {NULL, NULL},
	};
	/* "hardening_test F5": only the cases of one finding */
	const char *only = argc > 1 ? argv[1] : "";
	tacws_test_case cases[sizeof all / sizeof all[0]];
	size_t n = 0;
	for (const tacws_test_case *c = all; c->name; c++)
		if (!strncmp(c->name, only, strlen(only)))
			cases[n++] = *c;
	cases[n] = (tacws_test_case){NULL, NULL};
	return tacws_test_run("hardening", base_setup, base_teardown, cases);
}
