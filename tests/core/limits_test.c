/*
 * Auth and limits of the WebSocket edge against a real tacwsd: ws_token,
 * allowed_origins, invalid UTF-8, malformed JSON, a flood of client
 * messages, connections per client address (several 127.0.0.x sources),
 * max_connections, and a half-open handshake held while others are served.
 * Every refusal must leave the other clients served.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#define TOKEN "ws-t0ken"
#define Q "token=" TOKEN

static tacws_server_fixture *fx;
static int port;

static tacws_wsclient *open_ok(const char *query, const tacws_wsclient_opts *extra)
{
	tacws_wsclient *c = NULL;
	int status = 0;
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", query, extra, 3000, &c, &status), 0);
	CU_ASSERT_EQUAL(status, 101);
	if (c)
		CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 3000, NULL), 0);
	return c;
}

static int refused(const char *query, const tacws_wsclient_opts *extra)
{
	tacws_wsclient *c = NULL;
	int status = 0;
	int rc = tacws_ws_connect(port, NULL, "alpha", query, extra, 3000, &c, &status);
	tacws_wsclient_free(c);
	return rc ? status : 101;
}

#define PENDING "tacws_handshakes_pending"

/* Waits until tacwsd counts n open connections (closes finish in the background). */
static int wait_connections(long long n)
{
	return tacws_server_wait_metric_equal(fx, "tacws_connections", n, 5000) == n ? 0 : -1;
}

static void test_token(void)
{
	long long before = tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"ws_token\"}");
	CU_ASSERT_EQUAL(refused(NULL, NULL), 401);
	CU_ASSERT_EQUAL(refused("token=ws-t0kem", NULL), 401);
	CU_ASSERT_EQUAL(refused("token=", NULL), 401);
	CU_ASSERT_EQUAL(refused("token=" TOKEN "x", NULL), 401);
	tacws_wsclient_opts wrong = {.bearer_token = "nope"};
	CU_ASSERT_EQUAL(refused(NULL, &wrong), 401);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"ws_token\"}"),
	                before + 5);
	tacws_wsclient *q = open_ok(Q, NULL);
	tacws_wsclient_opts right = {.bearer_token = TOKEN};
	tacws_wsclient *b = open_ok(NULL, &right);
	CU_ASSERT_PTR_NOT_NULL(q);
	CU_ASSERT_PTR_NOT_NULL(b);
	tacws_wsclient_free(q);
	tacws_wsclient_free(b);
}

static void test_origin(void)
{
	long long before = tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"origin\"}");
	tacws_wsclient_opts evil = {.origin = "http://evil.example"};
	tacws_wsclient_opts lookalike = {.origin = "http://good.example.evil.example"};
	tacws_wsclient_opts good = {.origin = "http://good.example"};
	CU_ASSERT_EQUAL(refused(Q, &evil), 403);
	CU_ASSERT_EQUAL(refused(Q, &lookalike), 403);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"origin\"}"),
	                before + 2);
	tacws_wsclient *c = open_ok(Q, &good);
	CU_ASSERT_PTR_NOT_NULL(c);
	tacws_wsclient_free(c);
	/* no Origin: not a browser, only the token counts */
	c = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL(c);
	tacws_wsclient_free(c);
}

static void test_invalid_utf8(void)
{
	tacws_wsclient *bad = open_ok(Q, NULL);
	tacws_wsclient *other = open_ok(Q, NULL);
	CU_ASSERT_FATAL(bad && other);
	long long before = tacws_server_metric(fx, "tacws_bad_input_total{kind=\"utf8\"}");
	static const char text[] = "{\"type\":\"ping\",\"timestamp\":\"\xc3\x28\"}";
	CU_ASSERT_EQUAL(tacws_wsclient_send(bad, text, sizeof text - 1, 0), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(bad, 3000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(bad), 1007);
	CU_ASSERT_EQUAL(tacws_ws_ping(other, 1, 3000), 0);
	/* an encoded surrogate (ED A0 80) is not UTF-8 either */
	tacws_wsclient *sur = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sur);
	static const char surrogate[] = "{\"type\":\"x\",\"s\":\"\xed\xa0\x80\"}";
	CU_ASSERT_EQUAL(tacws_wsclient_send(sur, surrogate, sizeof surrogate - 1, 0), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(sur, 3000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(sur), 1007);
	tacws_wsclient_free(sur);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_bad_input_total{kind=\"utf8\"}"), before + 2);
	/* valid multi-byte text is fine */
	CU_ASSERT_EQUAL(
	    tacws_ws_send_text(
	        other, "{\"type\":\"client_ready\",\"n\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}"),
	    0);
	CU_ASSERT_EQUAL(tacws_ws_ping(other, 9, 3000), 0);
	tacws_wsclient_free(bad);
	tacws_wsclient_free(other);
}

static void test_malformed_json(void)
{
	tacws_wsclient *c = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	long long before = tacws_server_metric(fx, "tacws_bad_input_total{kind=\"client_message\"}");
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"ping\""), 0);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "error", 3000, &m), 0);
	json_object *msg;
	CU_ASSERT_TRUE(json_object_object_get_ex(m, "message", &msg));
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "[\"type\",\"ping\"]"), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "error", 3000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"ping\"} {}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "error", 3000, NULL), 0);
	/* deeper than the parser allows */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"x\",\"a\":[[[[[[[[[[1]]]]]]]]]]}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "error", 3000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_bad_input_total{kind=\"client_message\"}"),
	                before + 4);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 2, 3000), 0); /* still open and served */
	tacws_wsclient_free(c);
}

static void test_message_flood(void)
{
	/* client_messages_per_s = 5: a steady client within it stays */
	tacws_wsclient *steady = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(steady);
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(tacws_ws_ping(steady, 100 + i, 3000), 0);
		usleep(250 * 1000); /* pacing: four messages a second, under the five allowed */
	}
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(steady), TACWS_WSCLIENT_OPEN);

	long long before =
	    tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"client_messages_per_s\"}");
	tacws_wsclient *flood = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(flood);
	for (int i = 0; i < 50; i++)
		tacws_ws_send_text(flood, "{\"type\":\"client_ready\"}");
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(flood, 3000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(flood), 1008);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"client_messages_per_s\"}"),
	                before + 1);
	CU_ASSERT_EQUAL(tacws_ws_ping(steady, 3, 3000), 0);
	tacws_wsclient_free(flood);
	tacws_wsclient_free(steady);
}

static void test_connections_per_address(void)
{
	/* max_connections_per_ip = 2 */
	CU_ASSERT_EQUAL(wait_connections(0), 0);
	long long before =
	    tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_connections_per_ip\"}");
	int fd[4];
	const char *src[4] = {"127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3"};
	int want[4] = {101, 101, 429, 101};
	for (int i = 0; i < 4; i++) {
		fd[i] = edge_connect(src[i], port);
		CU_ASSERT_FATAL(fd[i] >= 0);
		CU_ASSERT_EQUAL(edge_ws_upgrade(fd[i], "/api/v1/ws/alpha?" Q, NULL, 3000, NULL, 0),
		                want[i]);
	}
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_connections_per_ip\"}"),
	                before + 1);
	/* 127.0.0.1 is another address: served */
	tacws_wsclient *c = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL(c);
	tacws_wsclient_free(c);
	/* one of 127.0.0.2's sockets goes: it may open another */
	close(fd[0]);
	close(fd[2]);
	CU_ASSERT_EQUAL(wait_connections(2), 0);
	fd[0] = edge_connect("127.0.0.2", port);
	CU_ASSERT_FATAL(fd[0] >= 0);
	CU_ASSERT_EQUAL(edge_ws_upgrade(fd[0], "/api/v1/ws/alpha?" Q, NULL, 3000, NULL, 0), 101);
	close(fd[0]);
	close(fd[1]);
	close(fd[3]);
	CU_ASSERT_EQUAL(wait_connections(0), 0);
}

static void test_max_connections(void)
{
	/* max_connections = 6, from three addresses (two each, the per-address limit) */
	CU_ASSERT_EQUAL(wait_connections(0), 0);
	long long before = tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_connections\"}");
	int fd[7];
	for (int i = 0; i < 7; i++) {
		char src[16];
		snprintf(src, sizeof src, "127.0.0.%d", 4 + i / 2);
		fd[i] = edge_connect(src, port);
		CU_ASSERT_FATAL(fd[i] >= 0);
		CU_ASSERT_EQUAL(edge_ws_upgrade(fd[i], "/api/v1/ws/alpha?" Q, NULL, 3000, NULL, 0),
		                i < 6 ? 101 : 503);
	}
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_connections\"}"),
	                before + 1);
	for (int i = 0; i < 7; i++)
		close(fd[i]);
	CU_ASSERT_EQUAL(wait_connections(0), 0);
	tacws_wsclient *c = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL(c);
	tacws_wsclient_free(c);
}

static void test_half_open_handshake(void)
{
	/* handshake_timeout_s = 2: held-open handshakes are dropped, others served meanwhile */
	long long before = tacws_server_metric(fx, "tacws_handshakes_incomplete_total");
	int fd[5];
	for (int i = 0; i < 5; i++) {
		fd[i] = edge_connect("127.0.0.9", port);
		CU_ASSERT_FATAL(fd[i] >= 0);
		const char *partial = "GET /api/v1/ws/alpha?" Q " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
		CU_ASSERT_EQUAL(write(fd[i], partial, strlen(partial)), (ssize_t)strlen(partial));
	}
	long long start = tacws_test_now_ms();
	/* the five wait on their deadline (the /metrics request itself is in by now) */
	CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx, PENDING, 5, 1000), 5);
	tacws_wsclient *c = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 4, 3000), 0);
	int dropped = 0;
	for (int i = 0; i < 5; i++) {
		char buf[512];
		struct pollfd p = {.fd = fd[i], .events = POLLIN};
		int left = (int)(start + 8000 - tacws_test_now_ms());
		if (left > 0 && poll(&p, 1, left) == 1 && read(fd[i], buf, sizeof buf) <= 0)
			dropped++;
		close(fd[i]);
	}
	CU_ASSERT_EQUAL(dropped, 5);
	CU_ASSERT(tacws_server_metric(fx, "tacws_handshakes_incomplete_total") >= before + 5);
	CU_ASSERT(tacws_test_now_ms() - start >= 1500);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 5, 3000), 0);
	tacws_wsclient_free(c);
	/* a peer that leaves before its headers are in takes its deadline with it */
	for (int i = 0; i < 5; i++) {
		fd[i] = edge_connect("127.0.0.9", port);
		CU_ASSERT_FATAL(fd[i] >= 0);
	}
	CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx, PENDING, 5, 1000), 5);
	for (int i = 0; i < 5; i++)
		close(fd[i]);
	CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx, PENDING, 0, 1000), 0);
}

/* More half-open connections than the 256 handshakes tacwsd runs at once: they
 * slow accepting down by 50 ms at a time but cannot stop it, and accepting goes on
 * at once when they leave. */
static void test_handshakes_at_once(void)
{
	enum { N = 300 };
	int fd[N];
	long long before = tacws_server_metric(fx, "tacws_handshakes_incomplete_total");
	for (int i = 0; i < N; i++) {
		fd[i] = edge_connect("127.0.0.10", port);
		CU_ASSERT_FATAL(fd[i] >= 0);
	}
	/* all of them in tacwsd's hands, holding their slots */
	CU_ASSERT_EQUAL(tacws_server_wait_metric_at_least(fx, PENDING, N, 5000), N);
	long long start = tacws_test_now_ms();
	tacws_wsclient *c = open_ok(Q, NULL); /* not after handshake_timeout_s (2 s) */
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT(tacws_test_now_ms() - start < 1500);
	tacws_wsclient_free(c);
	for (int i = 0; i < N; i++)
		close(fd[i]);
	start = tacws_test_now_ms();
	c = open_ok(Q, NULL);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT(tacws_test_now_ms() - start < 1500);
	tacws_wsclient_free(c);
	CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx, PENDING, 0, 2000), 0);
	CU_ASSERT(tacws_server_metric(fx, "tacws_handshakes_incomplete_total") >= before + N);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	const char *dir = tacws_server_fixture_dir(fx);
	if (tacws_test_write_file(dir, "alpha.json", "{\"v\":1}"))
		return 1;
	char ini[2048];
	snprintf(ini, sizeof ini,
	         "[auth]\nws_token = %s\nallowed_origins = http://good.example, "
	         "http://other.example\n"
	         "[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\n",
	         TOKEN, dir);
	tacws_server_config cfg = {
	    .server_keys = "max_connections = 6\nmax_connections_per_ip = 2\n"
	                   "client_messages_per_s = 5\nhandshake_timeout_s = 2\n",
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
	    {"a missing or wrong ws_token gets 401", test_token},
	    {"an Origin outside allowed_origins gets 403", test_origin},
	    {"invalid UTF-8 closes with 1007", test_invalid_utf8},
	    {"malformed JSON gets an error and is counted", test_malformed_json},
	    {"a flood of client messages closes with 1008", test_message_flood},
	    {"max_connections_per_ip, from several addresses", test_connections_per_address},
	    {"max_connections", test_max_connections},
	    {"half-open handshakes are dropped, others served", test_half_open_handshake},
	    {"300 half-open handshakes slow accepting, do not stop it", test_handshakes_at_once},
	    {NULL, NULL},
	};
	return tacws_test_run("limits", setup, teardown, cases);
}
