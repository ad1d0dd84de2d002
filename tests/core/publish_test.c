/*
 * POST /api/v1/publish and /api/v1/feeds/{feed}/refresh against a real
 * tacwsd: delivery to that feed's subscribers only, the publish token, body
 * validation and size, keep-alive, and an answer that does not wait for
 * slow subscribers.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#define TOKEN "pub-s3cret"
#define AUTH "Authorization: Bearer " TOKEN

static tacws_server_fixture *fx;
static int port;
static char alpha_file[1024];

static const char *const auth_headers[] = {AUTH, "Content-Type: application/json", NULL};

static long publish(const char *body, const char *const *headers, char **reply)
{
	tacws_http_reply r;
	if (reply)
		*reply = NULL;
	if (tacws_server_http_post(fx, "/api/v1/publish", headers, body, &r))
		return -1;
	long status = r.status;
	if (reply)
		*reply = r.body ? strdup(r.body) : NULL;
	tacws_http_reply_clear(&r);
	return status;
}

static tacws_wsclient *open_feed(const char *feed, const char *type)
{
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, feed, NULL, NULL, 3000, &c, NULL), 0);
	if (c)
		CU_ASSERT_EQUAL(tacws_ws_expect(c, type, 3000, NULL), 0); /* the snapshot */
	return c;
}

static void test_delivered_to_that_feed_only(void)
{
	tacws_wsclient *a = open_feed("alpha", "test_update");
	tacws_wsclient *b = open_feed("beta", "test_update");
	tacws_wsclient *x = open_feed("item/x1", "item_update");
	tacws_wsclient *y = open_feed("item/y2", "item_update");
	CU_ASSERT_FATAL(a && b && x && y);

	char *reply = NULL;
	CU_ASSERT_EQUAL(publish("{\"feed\":\"alpha\",\"type\":\"alert\",\"data\":{\"n\":1}}",
	                        auth_headers, &reply),
	                202);
	CU_ASSERT_STRING_EQUAL(reply ? reply : "(none)", "{\"subscribers\":1}");
	free(reply);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(a, "alert", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(tacws_ws_data(m), JSON_C_TO_STRING_PLAIN), "{\"n\":1}");
	CU_ASSERT(tacws_ws_seq(m) >= 1);
	CU_ASSERT_PTR_NOT_NULL(tacws_ws_timestamp(m));
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(b, 300, NULL), 0);

	/* one topic of a parameterised feed */
	CU_ASSERT_EQUAL(publish("{\"feed\":\"item\",\"param\":\"x1\",\"type\":\"poke\",\"data\":7}",
	                        auth_headers, &reply),
	                202);
	CU_ASSERT_STRING_EQUAL(reply ? reply : "(none)", "{\"subscribers\":1}");
	free(reply);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(x, "poke", 3000, &m), 0);
	json_object *id;
	CU_ASSERT_TRUE(json_object_object_get_ex(m, "id", &id));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(id), "x1");
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(y, 300, NULL), 0);

	/* without param: every topic of the feed, each with its own parameter */
	CU_ASSERT_EQUAL(
	    publish("{\"feed\":\"item\",\"type\":\"poke\",\"data\":null}", auth_headers, &reply),
	    202);
	CU_ASSERT_STRING_EQUAL(reply ? reply : "(none)", "{\"subscribers\":2}");
	free(reply);
	CU_ASSERT_EQUAL(tacws_ws_expect(x, "poke", 3000, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(y, "poke", 3000, &m), 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(m, "id", &id));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(id), "y2");
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(a, 300, NULL), 0);

	/* a feed nobody watches: accepted, zero subscribers */
	CU_ASSERT_EQUAL(
	    publish("{\"feed\":\"slow\",\"type\":\"x\",\"data\":1}", auth_headers, &reply), 202);
	CU_ASSERT_STRING_EQUAL(reply ? reply : "(none)", "{\"subscribers\":0}");
	free(reply);
	tacws_wsclient_free(a);
	tacws_wsclient_free(b);
	tacws_wsclient_free(x);
	tacws_wsclient_free(y);
}

static void test_token(void)
{
	tacws_wsclient *a = open_feed("alpha", "test_update");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	const char *body = "{\"feed\":\"alpha\",\"type\":\"alert\",\"data\":1}";
	long long before = tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"publish_token\"}");
	static const char *const none[] = {NULL};
	static const char *const wrong[] = {"Authorization: Bearer pub-s3cres", NULL};
	static const char *const longer[] = {"Authorization: Bearer " TOKEN "x", NULL};
	static const char *const basic[] = {"Authorization: Basic cHViLXMzY3JldA==", NULL};
	static const char *const in_query[] = {NULL};
	CU_ASSERT_EQUAL(publish(body, none, NULL), 401);
	CU_ASSERT_EQUAL(publish(body, wrong, NULL), 401);
	CU_ASSERT_EQUAL(publish(body, longer, NULL), 401);
	CU_ASSERT_EQUAL(publish(body, basic, NULL), 401);
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(
	    tacws_server_http_post(fx, "/api/v1/publish?token=" TOKEN, in_query, body, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401); /* the publish token travels as Bearer only */
	tacws_http_reply_clear(&r);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"publish_token\"}"),
	                before + 5);
	/* nothing got through */
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(a, 300, NULL), 0);
	CU_ASSERT_EQUAL(tacws_server_http_post(fx, "/api/v1/feeds/alpha/refresh", none, NULL, &r),
	                0);
	CU_ASSERT_EQUAL(r.status, 401);
	tacws_http_reply_clear(&r);
	tacws_wsclient_free(a);
}

static void test_bad_bodies(void)
{
	tacws_wsclient *a = open_feed("alpha", "test_update");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	static const struct {
		const char *body;
		long status;
	} cases[] = {
	    {"", 400},
	    {"not json", 400},
	    {"[1,2]", 400},
	    {"{\"feed\":\"alpha\",\"type\":\"x\",\"data\":1} trailing", 400},
	    {"{\"feed\":\"alpha\",\"type\":\"x\",\"data\":1}{}", 400},
	    {"{\"feed\":\"alpha\",\"type\":\"x\"}", 400},
	    {"{\"type\":\"x\",\"data\":1}", 400},
	    {"{\"feed\":\"alpha\",\"data\":1}", 400},
	    {"{\"feed\":\"Alpha\",\"type\":\"x\",\"data\":1}", 400},
	    {"{\"feed\":\"../x\",\"type\":\"x\",\"data\":1}", 400},
	    {"{\"feed\":\"alpha\",\"type\":\"a b\",\"data\":1}", 400},
	    {"{\"feed\":\"alpha\",\"type\":\"\",\"data\":1}", 400},
	    {"{\"feed\":\"alpha\",\"type\":7,\"data\":1}", 400},
	    {"{\"feed\":\"alpha\",\"type\":\"x\",\"data\":\"\xff\xfe\"}", 400}, /* bad UTF-8 */
	    {"{\"feed\":\"alpha\",\"type\":\"x\",\"data\":{\"a\":[1,2}}", 400},
	    {"{\"feed\":\"item\",\"param\":\"a/b\",\"type\":\"x\",\"data\":1}", 400},
	    {"{\"feed\":\"item\",\"param\":\"a.b\",\"type\":\"x\",\"data\":1}", 400},
	    {"{\"feed\":\"alpha\",\"param\":\"p\",\"type\":\"x\",\"data\":1}", 400},
	    {"{\"feed\":\"nope\",\"type\":\"x\",\"data\":1}", 404},
	};
	long long bad = tacws_server_metric(fx, "tacws_bad_input_total{kind=\"publish_body\"}");
	int n400 = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *reply = NULL;
		long status = publish(cases[i].body, auth_headers, &reply);
		if (status != cases[i].status)
			fprintf(stderr, "body %zu: %ld %s\n", i, status, reply ? reply : "");
		CU_ASSERT_EQUAL(status, cases[i].status);
		CU_ASSERT_PTR_NOT_NULL(reply && strstr(reply, "\"error\"") ? reply : NULL);
		free(reply);
		n400 += cases[i].status == 400;
	}
	/* the parser's refusals are counted (the others are refused after parsing) */
	CU_ASSERT(tacws_server_metric(fx, "tacws_bad_input_total{kind=\"publish_body\"}") >=
	          bad + n400 - 3);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(a, 300, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_ping(a, 11, 3000), 0);
	tacws_wsclient_free(a);
}

static void test_oversized_body(void)
{
	long long hits = tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_body_bytes\"}");
	/* max_body_bytes = 4096: a 4000-byte body passes, a 5000-byte one does not */
	char *body = malloc(6000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	const char *head = "{\"feed\":\"alpha\",\"type\":\"x\",\"data\":\"";
	strcpy(body, head);
	memset(body + strlen(head), 'a', 4000 - strlen(head) - 2);
	strcpy(body + 4000 - 2, "\"}");
	CU_ASSERT_EQUAL(publish(body, auth_headers, NULL), 202);
	memset(body + strlen(head), 'a', 5000 - strlen(head) - 2);
	strcpy(body + 5000 - 2, "\"}");
	char *reply = NULL;
	CU_ASSERT_EQUAL(publish(body, auth_headers, &reply), 413);
	CU_ASSERT_PTR_NOT_NULL(reply && strstr(reply, "max_body_bytes") ? reply : NULL);
	free(reply);
	/* a Content-Length that lies low does not let more in: raw socket */
	int fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(
	    edge_http(fd, "POST", "/api/v1/publish", AUTH "\r\n", body, 5000, 3000, NULL), 413);
	close(fd);
	free(body);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_body_bytes\"}"),
	                hits + 2);
	/* refused before its body is read: the connection closes, the body is never a request */
	fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	static const char smuggled[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	CU_ASSERT_EQUAL(
	    edge_http(fd, "POST", "/api/v1/nope", NULL, smuggled, sizeof smuggled - 1, 3000, NULL),
	    404);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char c;
	CU_ASSERT_EQUAL(poll(&pfd, 1, 3000), 1);
	CU_ASSERT_EQUAL(read(fd, &c, 1), 0);
	close(fd);
	/* a chunked body has no length to check up front: 411 */
	static const char chunked[] =
	    "POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n" AUTH
	    "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
	fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(edge_raw(fd, chunked, sizeof chunked - 1, 3000), 411);
	close(fd);
	tacws_http_reply r;
	CU_ASSERT_EQUAL(tacws_server_http_get(fx, "/healthz", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	tacws_http_reply_clear(&r);
}

/* Thousands of publishes on one keep-alive connection, as tacws-bench sends them. */
static void test_keep_alive(void)
{
	tacws_wsclient *a = open_feed("beta", "test_update");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	int fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	enum { N = 2000, BATCH = 100 };
	int ok = 0, got = 0;
	for (int i = 0; i < N; i++) {
		char body[128], *reply = NULL;
		int len = snprintf(body, sizeof body,
		                   "{\"feed\":\"beta\",\"type\":\"tick\",\"data\":%d}", i);
		int status = edge_http(fd, "POST", "/api/v1/publish", AUTH "\r\n", body,
		                       (size_t)len, 3000, &reply);
		bool good = status == 202 && reply && !strcmp(reply, "{\"subscribers\":1}");
		if (!good)
			fprintf(stderr, "publish %d: %d %s\n", i, status, reply ? reply : "");
		free(reply);
		if (!good)
			break;
		ok++;
		/* the subscriber reads as it goes, so every tick arrives, in order */
		for (int j = i + 1 - BATCH; (i + 1) % BATCH == 0 && j <= i; j++) {
			json_object *m;
			if (tacws_ws_expect(a, "tick", 3000, &m))
				break;
			got += json_object_get_int(tacws_ws_data(m)) == j;
			json_object_put(m);
		}
	}
	close(fd);
	CU_ASSERT_EQUAL(ok, N);
	CU_ASSERT_EQUAL(got, N);
	tacws_wsclient_free(a);
}

/* A subscriber that never reads does not slow the publisher down. */
static void test_answer_does_not_wait(void)
{
	int stuck = edge_connect(NULL, port);
	CU_ASSERT_FATAL(stuck >= 0);
	CU_ASSERT_EQUAL(edge_ws_upgrade(stuck, "/api/v1/ws/alpha", NULL, 3000, NULL, 0), 101);
	enum { SIZE = 3500 };
	char *body = malloc(SIZE + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	const char *head = "{\"feed\":\"alpha\",\"type\":\"big\",\"data\":\"";
	strcpy(body, head);
	memset(body + strlen(head), 'z', SIZE - strlen(head) - 2);
	strcpy(body + SIZE - 2, "\"}");
	int fd = edge_connect(NULL, port);
	CU_ASSERT_FATAL(fd >= 0);
	long long worst = 0;
	int accepted = 0;
	for (int i = 0; i < 300; i++) {
		long long t0 = tacws_test_now_ms();
		int status =
		    edge_http(fd, "POST", "/api/v1/publish", AUTH "\r\n", body, SIZE, 3000, NULL);
		long long ms = tacws_test_now_ms() - t0;
		if (ms > worst)
			worst = ms;
		accepted += status == 202;
	}
	close(fd);
	free(body);
	CU_ASSERT_EQUAL(accepted, 300);
	CU_ASSERT(worst < 1000);
	fprintf(stderr, "publish with a stuck subscriber: slowest answer %lld ms\n", worst);
	close(stuck);
}

static void test_refresh(void)
{
	/* alpha polls every 60 s: only a refresh brings the change now */
	FILE *f = fopen(alpha_file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"v\":1}", f);
	fclose(f);
	tacws_wsclient *a = open_feed("alpha", "test_update");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	f = fopen(alpha_file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"v\":2}", f);
	fclose(f);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(a, 500, NULL), 0);
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(
	    tacws_server_http_post(fx, "/api/v1/feeds/alpha/refresh", auth_headers, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 202);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"topics\":1"));
	tacws_http_reply_clear(&r);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(a, "test_update", 2000, &m), 0);
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(tacws_ws_data(m), JSON_C_TO_STRING_PLAIN), "{\"v\":2}");
	json_object_put(m);
	CU_ASSERT_EQUAL(
	    tacws_server_http_post(fx, "/api/v1/feeds/nope/refresh", auth_headers, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	tacws_http_reply_clear(&r);
	CU_ASSERT_EQUAL(
	    tacws_server_http_post(fx, "/api/v1/feeds/../refresh", auth_headers, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	tacws_http_reply_clear(&r);
	/* GET is not a way in */
	CU_ASSERT_EQUAL(tacws_server_http_get(fx, "/api/v1/feeds/alpha/refresh", &r), 0);
	CU_ASSERT(r.status == 404 || r.status == 405);
	tacws_http_reply_clear(&r);
	tacws_wsclient_free(a);
}

/* {"param": ...} refreshes one topic of a parameterised feed */
static void test_refresh_one_topic(void)
{
	tacws_wsclient *r1 = open_feed("item/r1", "item_update");
	tacws_wsclient *r2 = open_feed("item/r2", "item_update");
	CU_ASSERT_FATAL(r1 && r2);
	char path[1100];
	snprintf(path, sizeof path, "%s/beta.json", tacws_server_fixture_dir(fx));
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"b\":\"refreshed\"}", f);
	fclose(f);
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_post(fx, "/api/v1/feeds/item/refresh", auth_headers,
	                                             "{\"param\":\"r1\"}", &r),
	                      0);
	CU_ASSERT_EQUAL(r.status, 202);
	CU_ASSERT_PTR_NOT_NULL(r.body ? strstr(r.body, "\"topics\":1") : NULL);
	tacws_http_reply_clear(&r);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(r1, "item_update", 2000, &m), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(json_object_to_json_string(m), "refreshed"));
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(r2, 500, NULL), 0);
	static const struct {
		const char *path, *body;
	} bad[] = {
	    {"/api/v1/feeds/item/refresh", "{\"param\":\"a/b\"}"},
	    {"/api/v1/feeds/item/refresh", "{\"param\":\"a.b\"}"},
	    {"/api/v1/feeds/item/refresh", "[\"r1\"]"},
	    {"/api/v1/feeds/alpha/refresh", "{\"param\":\"r1\"}"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CU_ASSERT_EQUAL(
		    tacws_server_http_post(fx, bad[i].path, auth_headers, bad[i].body, &r), 0);
		CU_ASSERT_EQUAL(r.status, 400);
		tacws_http_reply_clear(&r);
	}
	tacws_wsclient_free(r1);
	tacws_wsclient_free(r2);
}

/* With no publish_token both endpoints are off: 403, whatever is sent. */
static void test_disabled_without_token(void)
{
	tacws_server_fixture *off;
	CU_ASSERT_EQUAL_FATAL(tacws_server_fixture_new(&off), 0);
	char ini[1200];
	snprintf(ini, sizeof ini, "[feed.alpha]\nplugin = testfeed\nfile = %s\n", alpha_file);
	tacws_server_config cfg = {.ini = ini, .plugin_dir = TEST_PLUGIN_DIR, .log_level = "info"};
	CU_ASSERT_EQUAL_FATAL(tacws_server_fixture_start(off, &cfg), 0);
	tacws_http_reply r;
	static const char *const empty_bearer[] = {"Authorization: Bearer ", NULL};
	CU_ASSERT_EQUAL(tacws_server_http_post(off, "/api/v1/publish", empty_bearer,
	                                       "{\"feed\":\"alpha\",\"type\":\"x\",\"data\":1}",
	                                       &r),
	                0);
	CU_ASSERT_EQUAL(r.status, 403);
	tacws_http_reply_clear(&r);
	CU_ASSERT_EQUAL(
	    tacws_server_http_post(off, "/api/v1/feeds/alpha/refresh", auth_headers, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 403);
	tacws_http_reply_clear(&r);
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(off, 5000), 0);
	tacws_server_fixture_free(off);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	const char *dir = tacws_server_fixture_dir(fx);
	snprintf(alpha_file, sizeof alpha_file, "%s/alpha.json", dir);
	if (tacws_test_write_file(dir, "alpha.json", "{\"v\":1}") ||
	    tacws_test_write_file(dir, "beta.json", "{\"b\":1}"))
		return 1;
	char ini[4096];
	snprintf(ini, sizeof ini,
	         "[auth]\npublish_token = %s\n"
	         "[feed.alpha]\nplugin = testfeed\nfile = %s/alpha.json\ninterval_ms = 60000\n"
	         "[feed.beta]\nplugin = testfeed\nfile = %s/beta.json\ninterval_ms = 60000\n"
	         "[feed.item]\nplugin = testfeed\nfile = %s/beta.json\ninterval_ms = 60000\n"
	         "[feed.slow]\nplugin = testfeed\nfile = %s/beta.json\n",
	         TOKEN, dir, dir, dir, dir);
	tacws_server_config cfg = {
	    .server_keys = "max_body_bytes = 4096\n",
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
	    {"a publish reaches that feed's subscribers only", test_delivered_to_that_feed_only},
	    {"a missing or wrong publish token is refused", test_token},
	    {"malformed bodies are refused with 400", test_bad_bodies},
	    {"a body over max_body_bytes gets 413", test_oversized_body},
	    {"thousands of publishes on one keep-alive connection", test_keep_alive},
	    {"the answer does not wait for a stuck subscriber", test_answer_does_not_wait},
	    {"refresh polls the feed now", test_refresh},
	    {"refresh with a param polls that topic only", test_refresh_one_topic},
	    {"no publish_token: publish and refresh are disabled", test_disabled_without_token},
	    {NULL, NULL},
	};
	return tacws_test_run("publish", setup, teardown, cases);
}
