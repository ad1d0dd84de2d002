/* tacws_wsclient and the ws fixture against a real tacwsd. */
#include "http_fixture.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENTS 200

static tacws_server_fixture *open_srv, *auth_srv;

static int start(tacws_server_fixture *s, const char *auth)
{
	char ini[2048];
	if (tacws_test_write_file(tacws_server_fixture_dir(s), "alpha.json", "{\"n\": 1}"))
		return -1;
	snprintf(ini, sizeof(ini),
	         "%s\n[feed.alpha]\nplugin = testfeed\ninterval_ms = 100\n"
	         "file = %s/alpha.json\n",
	         auth, tacws_server_fixture_dir(s));
	tacws_server_config cfg = {
	    .server_keys = "max_inbound_bytes = 512\nmax_connections = 1000\n",
	    .ini = ini,
	    .plugin_dir = TEST_PLUGIN_DIR,
	    .log_level = "info",
	};
	return tacws_server_fixture_start(s, &cfg);
}

static int suite_init(void)
{
	if (tacws_server_fixture_new(&open_srv) || tacws_server_fixture_new(&auth_srv))
		return -1;
	if (start(open_srv, "") ||
	    start(auth_srv, "[auth]\nws_token = t0ken\nallowed_origins = http://good.example\n"))
		return -1;
	return 0;
}

static int suite_cleanup(void)
{
	tacws_server_fixture_free(open_srv);
	tacws_server_fixture_free(auth_srv);
	return 0;
}

static void test_parse_url(void)
{
	char *host, *path;
	int port;
	CU_ASSERT_EQUAL(tacws_wsclient_parse_url("ws://127.0.0.1:8003/api/v1/ws/queue?token=a",
	                                         &host, &port, &path),
	                0);
	CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
	CU_ASSERT_EQUAL(port, 8003);
	CU_ASSERT_STRING_EQUAL(path, "/api/v1/ws/queue?token=a");
	free(host);
	free(path);
	CU_ASSERT_EQUAL(tacws_wsclient_parse_url("ws://localhost", &host, &port, &path), 0);
	CU_ASSERT_STRING_EQUAL(host, "localhost");
	CU_ASSERT_EQUAL(port, 80);
	CU_ASSERT_STRING_EQUAL(path, "/");
	free(host);
	free(path);
	CU_ASSERT_EQUAL(tacws_wsclient_parse_url("ws://h?x=1", &host, &port, &path), 0);
	CU_ASSERT_STRING_EQUAL(path, "/?x=1");
	free(host);
	free(path);
	const char *bad[] = {"http://h/",     "wss://h/",    "ws://", "ws://h:0/",
	                     "ws://h:70000/", "ws://h:12x/", NULL};
	for (const char **b = bad; *b; b++)
		CU_ASSERT_EQUAL(tacws_wsclient_parse_url(*b, &host, &port, &path), -EINVAL);
}

static void test_snapshot_ping_and_client_close(void)
{
	tacws_wsclient *c;
	json_object *msg;
	int status;
	int port = tacws_server_fixture_port(open_srv);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, NULL, "alpha", NULL, NULL, 5000, &c, &status),
	                      0);
	CU_ASSERT_EQUAL(status, 101);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(c), TACWS_WSCLIENT_OPEN);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 5000, &msg), 0);
	CU_ASSERT(tacws_ws_seq(msg) >= 1);
	json_object_put(msg);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 1234567, 5000), 0);
	/* client_ready is accepted and ignored: no answer. */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"client_ready\"}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 300, NULL), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close(c, 1000, 5000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(c), TACWS_WSCLIENT_CLOSED);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(c), 1000);
	char *text;
	CU_ASSERT_EQUAL(tacws_wsclient_recv(c, 100, &text, NULL), -ENOTCONN);
	CU_ASSERT_EQUAL(tacws_wsclient_send(c, "x", 1, 0), -ENOTCONN);
	tacws_wsclient_free(c);
}

static void test_oversized_frame_closes_1009(void)
{
	tacws_wsclient *c;
	int port = tacws_server_fixture_port(open_srv);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, NULL, "alpha", NULL, NULL, 5000, &c, NULL), 0);
	char big[2000];
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(tacws_wsclient_send(c, big, sizeof(big), 0), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(c, 5000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(c), 1009);
	/* The snapshot sent on open is still there to read. */
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 0, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 0, NULL), -ENOTCONN);
	tacws_wsclient_free(c);
}

static void test_many_clients_in_one_group(void)
{
	tacws_wsgroup *g;
	tacws_wsclient *c[CLIENTS];
	int port = tacws_server_fixture_port(open_srv);
	CU_ASSERT_EQUAL_FATAL(tacws_wsgroup_new(&g), 0);
	for (int i = 0; i < CLIENTS; i++)
		CU_ASSERT_EQUAL_FATAL(tacws_ws_start(port, g, "alpha", NULL, NULL, &c[i]), 0);
	int open = 0, got = 0;
	long long seq0 = -1;
	for (int i = 0; i < CLIENTS; i++)
		open += tacws_wsclient_wait_open(c[i], 10000) == 0;
	CU_ASSERT_EQUAL(open, CLIENTS);
	for (int i = 0; i < CLIENTS; i++) {
		json_object *msg;
		if (tacws_ws_expect(c[i], "test_update", 10000, &msg))
			continue;
		got++;
		if (tacws_ws_seq(msg) > seq0)
			seq0 = tacws_ws_seq(msg);
		json_object_put(msg);
	}
	CU_ASSERT_EQUAL(got, CLIENTS);

	/* One change of the source reaches every client once, with a newer seq. */
	CU_ASSERT_EQUAL(
	    tacws_test_write_file(tacws_server_fixture_dir(open_srv), "alpha.json", "{\"n\": 2}"),
	    0);
	got = 0;
	for (int i = 0; i < CLIENTS; i++) {
		json_object *msg, *n;
		if (tacws_ws_wait_type(c[i], "test_update", 10000, &msg))
			continue;
		/* A client may first see the cached snapshot; skip to n = 2. */
		while (!(json_object_object_get_ex(tacws_ws_data(msg), "n", &n) &&
		         json_object_get_int(n) == 2)) {
			json_object_put(msg);
			if (tacws_ws_wait_type(c[i], "test_update", 10000, &msg)) {
				msg = NULL;
				break;
			}
		}
		if (msg && tacws_ws_seq(msg) > seq0 - 1)
			got++;
		json_object_put(msg);
	}
	CU_ASSERT_EQUAL(got, CLIENTS);
	for (int i = 0; i < CLIENTS / 2; i++)
		tacws_wsclient_free(c[i]);
	tacws_wsgroup_service(g, 100);
	/* The rest are freed with the group. */
	tacws_wsgroup_free(g);
}

static void test_refusals_carry_the_http_status(void)
{
	tacws_wsclient *c = NULL;
	int status;
	int port = tacws_server_fixture_port(auth_srv);

	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", NULL, NULL, 5000, &c, &status),
	                -EPROTO);
	CU_ASSERT_EQUAL(status, 401);
	CU_ASSERT_PTR_NULL(c);

	tacws_wsclient_opts bearer = {.bearer_token = "t0ken"};
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", NULL, &bearer, 5000, &c, &status), 0);
	CU_ASSERT_EQUAL(status, 101);
	tacws_wsclient_free(c);

	CU_ASSERT_EQUAL(
	    tacws_ws_connect(port, NULL, "alpha", "token=t0ken", NULL, 5000, &c, &status), 0);
	tacws_wsclient_free(c);

	const char *const hdrs[] = {"Authorization: Bearer wrong", NULL};
	tacws_wsclient_opts wrong = {.headers = hdrs};
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", NULL, &wrong, 5000, &c, &status),
	                -EPROTO);
	CU_ASSERT_EQUAL(status, 401);

	tacws_wsclient_opts evil = {.bearer_token = "t0ken", .origin = "http://evil.example"};
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", NULL, &evil, 5000, &c, &status),
	                -EPROTO);
	CU_ASSERT_EQUAL(status, 403);
	tacws_wsclient_opts good = {.bearer_token = "t0ken", .origin = "http://good.example"};
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", NULL, &good, 5000, &c, &status), 0);
	tacws_wsclient_free(c);

	port = tacws_server_fixture_port(open_srv);
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "no-such-feed", NULL, NULL, 5000, &c, &status),
	                -EPROTO);
	CU_ASSERT_EQUAL(status, 404);
}

static void test_server_stop_closes_1001(void)
{
	tacws_wsgroup *g;
	tacws_wsclient *a, *b;
	int port = tacws_server_fixture_port(open_srv);
	CU_ASSERT_EQUAL_FATAL(tacws_wsgroup_new(&g), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, g, "alpha", NULL, NULL, 5000, &a, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, g, "alpha", NULL, NULL, 5000, &b, NULL), 0);
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(open_srv, 0), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(a, 5000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(b, 5000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(a), 1001);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(b), 1001);
	tacws_wsgroup_free(g);

	tacws_wsclient *c = NULL;
	int status = -1;
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", NULL, NULL, 5000, &c, &status),
	                -ECONNREFUSED);
	CU_ASSERT_EQUAL(status, 0);

	/* Same port again, and the fixture's log caught the server's lines. */
	CU_ASSERT_EQUAL_FATAL(tacws_server_fixture_restart(open_srv), 0);
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, "alpha", NULL, NULL, 5000, &c, &status), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 5000, NULL), 0);
	tacws_wsclient_free(c);
	char *log = tacws_server_fixture_log(open_srv);
	CU_ASSERT_PTR_NOT_NULL(log);
	CU_ASSERT(log && strlen(log) > 0);
	free(log);
}

static void test_http_helpers(void)
{
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(auth_srv, "/healthz", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	json_object *o = json_tokener_parse(r.body);
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(r.headers, "content-type: application/json"));
	tacws_http_reply_clear(&r);
	/* POST with headers and a body, against the test HTTP server. */
	tacws_http_fixture *h;
	CU_ASSERT_EQUAL_FATAL(tacws_http_fixture_start(&h), 0);
	CU_ASSERT_EQUAL(tacws_http_fixture_set(h, "/hook", 202, "text/plain", "taken", 0), 0);
	const char *const hdrs[] = {"Content-Type: application/json", "X-Test: 1", NULL};
	CU_ASSERT_EQUAL(
	    tacws_http_request(tacws_http_fixture_port(h), "POST", "/hook", hdrs, "{\"a\":1}", &r),
	    0);
	CU_ASSERT_EQUAL(r.status, 202);
	CU_ASSERT(r.body && !strcmp(r.body, "taken"));
	CU_ASSERT_EQUAL(r.body_len, 5);
	CU_ASSERT_EQUAL(tacws_http_fixture_requests(h, "/hook"), 1);
	tacws_http_reply_clear(&r);
	tacws_http_fixture_free(h);
	CU_ASSERT_EQUAL(tacws_http_request(1, "GET", "/", NULL, NULL, &r), -EIO);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"parse_url", test_parse_url},
	    {"snapshot, ping and client close", test_snapshot_ping_and_client_close},
	    {"oversized frame closes 1009", test_oversized_frame_closes_1009},
	    {"200 clients in one group", test_many_clients_in_one_group},
	    {"refusals carry the HTTP status", test_refusals_carry_the_http_status},
	    {"server stop closes 1001; restart", test_server_stop_closes_1001},
	    {"HTTP helpers", test_http_helpers},
	    {NULL, NULL},
	};
	return tacws_test_run("wsclient", suite_init, suite_cleanup, cases);
}
