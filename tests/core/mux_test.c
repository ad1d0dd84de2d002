/*
 * The multiplexed socket /api/v1/ws against a real tacwsd: subscribe and
 * unsubscribe, a snapshot per subscription, messages that say which topic
 * they belong to, bad topic names, max_subscriptions, and published events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

static tacws_server_fixture *fx;
static int port;
static char alpha_file[1024], item_file[1024];

/* atomic: a poll never sees half a file */
static void write_json(const char *path, const char *text)
{
	CU_ASSERT_EQUAL(tacws_test_replace_file(path, text), 0);
}

static tacws_wsclient *open_mux(void)
{
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	return c;
}

static const char *id_of(json_object *m)
{
	json_object *v;
	return json_object_object_get_ex(m, "id", &v) ? json_object_get_string(v) : NULL;
}

/* Reads n messages and sorts them into alpha snapshots and item messages by id. */
static void collect(tacws_wsclient *c, int n, int *alpha, int *item_a, int *item_b)
{
	for (int i = 0; i < n; i++) {
		json_object *m;
		if (tacws_ws_next(c, 3000, &m))
			break;
		const char *type = tacws_ws_type(m), *id = id_of(m);
		if (type && !strcmp(type, "test_update") && !id)
			(*alpha)++;
		else if (type && !strcmp(type, "item_update") && id && !strcmp(id, "a1"))
			(*item_a)++;
		else if (type && !strcmp(type, "item_update") && id && !strcmp(id, "b2"))
			(*item_b)++;
		else
			fprintf(stderr, "unexpected: %s\n", json_object_to_json_string(m));
		json_object_put(m);
	}
}

static void test_subscribe_and_unsubscribe(void)
{
	write_json(alpha_file, "{\"v\":1}");
	write_json(item_file, "{\"i\":1}");
	tacws_wsclient *c = open_mux();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* nothing until it subscribes */
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 300, NULL), 0);
	CU_ASSERT_EQUAL(
	    tacws_ws_send_text(
	        c, "{\"type\":\"subscribe\",\"feeds\":[\"alpha\",\"item/a1\",\"item/b2\"]}"),
	    0);
	int alpha = 0, a = 0, b = 0;
	collect(c, 3, &alpha, &a, &b);
	CU_ASSERT(alpha == 1 && a == 1 && b == 1);
	/* subscribing again to the same topic sends nothing twice */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"alpha\"]}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0);

	/* a change of the item file reaches both item topics, each tagged with its id */
	write_json(item_file, "{\"i\":2}");
	alpha = a = b = 0;
	collect(c, 2, &alpha, &a, &b);
	CU_ASSERT(alpha == 0 && a == 1 && b == 1);

	/* unsubscribed from alpha and item/b2: only item/a1 is heard of */
	CU_ASSERT_EQUAL(
	    tacws_ws_send_text(c, "{\"type\":\"unsubscribe\",\"feeds\":[\"alpha\",\"item/b2\"]}"),
	    0);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 5, 3000), 0); /* the unsubscribe was handled */
	write_json(alpha_file, "{\"v\":2}");
	write_json(item_file, "{\"i\":3}");
	alpha = a = b = 0;
	collect(c, 1, &alpha, &a, &b);
	CU_ASSERT(alpha == 0 && a == 1 && b == 0);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 600, NULL), 0);
	tacws_wsclient_free(c);
}

static void test_bad_topics(void)
{
	tacws_wsclient *c = open_mux();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	long long bad = tacws_server_metric(fx, "tacws_bad_input_total{kind=\"topic\"}");
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"nope\","
	                                      "\"item/../etc\",\"item/a b\",\"item\",\"ALPHA\","
	                                      "\"alpha/extra\",5,null]}"),
	                0);
	/* one error for the whole message (issue 13, F8), each name counted */
	int errors = 0;
	json_object *m;
	while (tacws_ws_next(c, 1000, &m) == 0) {
		const char *type = tacws_ws_type(m);
		json_object *msg;
		if (type && !strcmp(type, "error") && json_object_object_get_ex(m, "message", &msg) &&
		    strstr(json_object_get_string(msg), "7 more"))
			errors++;
		else
			fprintf(stderr, "unexpected: %s\n", json_object_to_json_string(m));
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(errors, 1);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_bad_input_total{kind=\"topic\"}"), bad + 8);
	/* not an array, or on a single-feed socket: refused, the socket stays */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":\"alpha\"}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 6, 3000), 0);
	tacws_wsclient *single = NULL;
	CU_ASSERT_EQUAL_FATAL(
	    tacws_ws_connect(port, NULL, "alpha", NULL, NULL, 3000, &single, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(single, "test_update", 3000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(single, "{\"type\":\"subscribe\",\"feeds\":[\"beta\"]}"),
	                0);
	/* (a fresher snapshot may come first: the cache predates the last change) */
	CU_ASSERT_EQUAL(tacws_ws_wait_type(single, "error", 3000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_ping(single, 7, 3000), 0);
	tacws_wsclient_free(single);
	tacws_wsclient_free(c);
}

static void test_subscription_objects(void)
{
	tacws_wsclient *c = open_mux();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":["
	                                      "{\"topic\":\"item/a1\",\"delta\":\"json-patch\"},"
	                                      "{\"topic\":\"alpha\",\"since\":1,\"epoch\":\"x\"},"
	                                      "{\"topic\":\"item/b2\",\"delta\":\"fossil\"},"
	                                      "{\"topic\":\"beta\",\"since\":-1,\"epoch\":\"x\"},"
	                                      "{\"topic\":\"beta\",\"color\":1},"
	                                      "{\"feed\":\"beta\"}]}"),
	                0);
	int snapshots = 0, errors = 0, resumed = 0;
	json_object *m;
	json_object *msg;
	while (snapshots + errors + resumed < 4 && tacws_ws_next(c, 3000, &m) == 0) {
		const char *type = tacws_ws_type(m);
		/* the four bad subscriptions: one error for the message (issue 13, F8) */
		if (type && !strcmp(type, "error") && json_object_object_get_ex(m, "message", &msg) &&
		    strstr(json_object_get_string(msg), "and 3 more"))
			errors++;
		else if (type && !strcmp(type, "resumed")) /* epoch "x" is not alpha's */
			resumed++;
		else if (type && (!strcmp(type, "item_update") || !strcmp(type, "test_update")))
			snapshots++;
		else
			fprintf(stderr, "unexpected: %s\n", json_object_to_json_string(m));
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(snapshots, 2);
	CU_ASSERT_EQUAL(errors, 1);
	CU_ASSERT_EQUAL(resumed, 1);
	/* an object unsubscribes as a name does */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"unsubscribe\",\"feeds\":["
	                                      "{\"topic\":\"item/a1\"},\"alpha\"]}"),
	                0);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 8, 3000), 0);
	write_json(item_file, "{\"i\":40}");
	write_json(alpha_file, "{\"v\":40}");
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 600, NULL), 0);
	tacws_wsclient_free(c);

	/* per-feed sockets: the query is checked before the upgrade */
	static const char *const bad[] = {"delta=fossil",          "since=4",
	                                  "epoch=x",               "since=-1&epoch=x",
	                                  "since=4&epoch=a%20b",   "offset=3",
	                                  "since=4&offset=3",      "since=4&epoch=x&offset=-1",
	                                  "since=4&epoch=x&offset=x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		tacws_wsclient *s = NULL;
		int status = 0;
		CU_ASSERT_NOT_EQUAL(tacws_ws_connect(port, NULL, "alpha", bad[i], NULL, 3000, &s, &status),
		                    0);
		CU_ASSERT_EQUAL(status, 400);
		tacws_wsclient_free(s);
	}
	tacws_wsclient *s = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, NULL, "alpha", "delta=json-patch&since=4&epoch=x",
	                                       NULL, 3000, &s, NULL),
	                      0);
	CU_ASSERT_EQUAL(tacws_ws_expect(s, "resumed", 3000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect(s, "test_update", 3000, NULL), 0);
	tacws_wsclient_free(s);
}

static void test_max_subscriptions(void)
{
	/* max_subscriptions = 3 */
	tacws_wsclient *c = open_mux();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	long long hits = tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_subscriptions\"}");
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"item/s1\","
	                                      "\"item/s2\",\"item/s3\",\"item/s4\",\"item/s5\"]}"),
	                0);
	int snapshots = 0, refused = 0;
	json_object *m;
	for (int i = 0; i < 4 && tacws_ws_next(c, 3000, &m) == 0; i++) {
		const char *type = tacws_ws_type(m);
		json_object *msg;
		snapshots += type && !strcmp(type, "item_update");
		refused += type && !strcmp(type, "error") &&
		           json_object_object_get_ex(m, "message", &msg) &&
		           strstr(json_object_get_string(msg), "too many");
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(snapshots, 3);
	CU_ASSERT_EQUAL(refused, 1); /* one error for the message, both names counted */
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_limit_hits_total{limit=\"max_subscriptions\"}"),
	                hits + 2);
	/* room again after an unsubscribe */
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"unsubscribe\",\"feeds\":[\"item/s1\"]}"),
	                0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"item/s5\"]}"),
	                0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "item_update", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(id_of(m) ? id_of(m) : "(none)", "s5");
	json_object_put(m);
	tacws_wsclient_free(c);
}

static void test_published_events(void)
{
	tacws_wsclient *c = open_mux();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(
	    tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"beta\",\"item/p1\"]}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_wait_type(c, "item_update", 3000, NULL), 0);
	static const char *const headers[] = {"Authorization: Bearer mux-pub", NULL};
	tacws_http_reply r;
	CU_ASSERT_EQUAL(tacws_server_http_post(fx, "/api/v1/publish", headers,
	                                       "{\"feed\":\"item\",\"param\":\"p1\",\"type\":"
	                                       "\"nudge\",\"data\":{\"k\":1}}",
	                                       &r),
	                0);
	CU_ASSERT_EQUAL(r.status, 202);
	tacws_http_reply_clear(&r);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_wait_type(c, "nudge", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(id_of(m) ? id_of(m) : "(none)", "p1");
	json_object_put(m);
	tacws_wsclient_free(c);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	const char *dir = tacws_server_fixture_dir(fx);
	snprintf(alpha_file, sizeof alpha_file, "%s/alpha.json", dir);
	snprintf(item_file, sizeof item_file, "%s/item.json", dir);
	if (tacws_test_write_file(dir, "alpha.json", "{\"v\":1}") ||
	    tacws_test_write_file(dir, "item.json", "{\"i\":1}"))
		return 1;
	char ini[4096];
	snprintf(ini, sizeof ini,
	         "[auth]\npublish_token = mux-pub\n"
	         "[feed.alpha]\nplugin = testfeed\nfile = %s\ninterval_ms = 100\n"
	         "[feed.beta]\nplugin = testfeed\nfile = %s\ninterval_ms = 100\n"
	         "[feed.item]\nplugin = testfeed\nfile = %s\ninterval_ms = 100\n",
	         alpha_file, alpha_file, item_file);
	tacws_server_config cfg = {
	    .server_keys = "max_subscriptions = 3\n",
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
	    {"subscribe, unsubscribe, messages tagged by topic", test_subscribe_and_unsubscribe},
	    {"bad topic names get an error and are counted", test_bad_topics},
	    {"subscriptions as objects; per-feed socket options", test_subscription_objects},
	    {"max_subscriptions per socket", test_max_subscriptions},
	    {"published events reach the multiplexed socket", test_published_events},
	    {NULL, NULL},
	};
	return tacws_test_run("mux", setup, teardown, cases);
}
