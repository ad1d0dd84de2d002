/*
 * The parsers of outside input (core/input.c), case by case: what they
 * accept and what they refuse. The fuzz targets (tests/fuzz) cover the
 * rest of the input space for crashes and leaks.
 */
#include <errno.h>
#include <string.h>

#include "input.h"
#include "testutil.h"

#define S(lit) lit, sizeof lit - 1

static void test_utf8(void)
{
	CU_ASSERT_TRUE(tacws_utf8_valid(S("plain ascii")));
	CU_ASSERT_TRUE(tacws_utf8_valid(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
	CU_ASSERT_TRUE(tacws_utf8_valid(S("\xf4\x8f\xbf\xbf"))); /* U+10FFFF */
	CU_ASSERT_TRUE(tacws_utf8_valid(NULL, 0));
	CU_ASSERT_FALSE(tacws_utf8_valid(S("\xc0\x80")));             /* overlong NUL */
	CU_ASSERT_FALSE(tacws_utf8_valid(S("\xe0\x80\xaf")));         /* overlong '/' */
	CU_ASSERT_FALSE(tacws_utf8_valid(S("\xed\xa0\x80")));         /* surrogate */
	CU_ASSERT_FALSE(tacws_utf8_valid(S("\xf4\x90\x80\x80")));     /* above U+10FFFF */
	CU_ASSERT_FALSE(tacws_utf8_valid(S("\xf8\x88\x80\x80\x80"))); /* 5 bytes */
	CU_ASSERT_FALSE(tacws_utf8_valid(S("ab\xe2\x82")));           /* truncated */
	CU_ASSERT_FALSE(tacws_utf8_valid(S("\x80")));                 /* lone continuation */
	CU_ASSERT_FALSE(tacws_utf8_valid(S("\xc3\x28")));
}

static void test_json(void)
{
	json_object *o;
	CU_ASSERT_EQUAL(tacws_json_parse(S("{\"a\":1} \r\n\t"), 8, &o), 0);
	CU_ASSERT_TRUE(json_object_is_type(o, json_type_object));
	json_object_put(o);
	CU_ASSERT_EQUAL(tacws_json_parse(S("{\"a\":1} x"), 8, &o), -EINVAL);
	CU_ASSERT_EQUAL(tacws_json_parse(S("{\"a\":1}{}"), 8, &o), -EINVAL);
	CU_ASSERT_EQUAL(tacws_json_parse(S("{\"a\":1}\0"), 8, &o), -EINVAL);
	CU_ASSERT_EQUAL(tacws_json_parse(S("{\"a\":"), 8, &o), -EINVAL);
	CU_ASSERT_EQUAL(tacws_json_parse(S("{\"a\":\"\xff\"}"), 8, &o), -EINVAL);
	CU_ASSERT_EQUAL(tacws_json_parse(S("[[[[1]]]]"), 4, &o), -EINVAL);
	CU_ASSERT_EQUAL(tacws_json_parse(S("[[[1]]]"), 4, &o), 0);
	json_object_put(o);
	CU_ASSERT_PTR_NULL(o = NULL);
}

static void test_topic_names(void)
{
	tacws_topic_name t;
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("queue"), &t), 0);
	CU_ASSERT_STRING_EQUAL(t.base, "queue");
	CU_ASSERT_FALSE(t.has_param);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("adw-state/77c90e61"), &t), 0);
	CU_ASSERT_STRING_EQUAL(t.base, "adw-state");
	CU_ASSERT_STRING_EQUAL(t.param, "77c90e61");
	CU_ASSERT_TRUE(t.has_param);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("queue/"), &t), 0);
	CU_ASSERT_FALSE(t.has_param);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("Queue"), &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S(""), &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("/x"), &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("item/a/b"), &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("item/a b"), &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("item/a%2e"), &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("item/\xc3\xa9"), &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(S("item\0x"), &t), -EINVAL);
	char longer[300];
	memset(longer, 'a', sizeof longer);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(longer, 65, &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(longer, 64, &t), 0);
	memcpy(longer, "item/", 5);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(longer, 5 + 256, &t), 0);
	CU_ASSERT_EQUAL(tacws_topic_name_parse(longer, 5 + 257, &t), -EINVAL);
}

static void test_ws_paths(void)
{
	bool mux;
	tacws_topic_name t;
	CU_ASSERT_EQUAL(tacws_ws_path_parse("/api/v1", "/api/v1/ws", &mux, &t), 0);
	CU_ASSERT_TRUE(mux);
	CU_ASSERT_EQUAL(tacws_ws_path_parse("/api/v1", "/api/v1/ws/", &mux, &t), 0);
	CU_ASSERT_TRUE(mux);
	CU_ASSERT_EQUAL(tacws_ws_path_parse("/api/v1", "/api/v1/ws/adw-state/abc", &mux, &t), 0);
	CU_ASSERT_FALSE(mux);
	CU_ASSERT_STRING_EQUAL(t.param, "abc");
	CU_ASSERT_EQUAL(tacws_ws_path_parse("/api/v1", "/api/v1/wsx", &mux, &t), -ENOENT);
	CU_ASSERT_EQUAL(tacws_ws_path_parse("/api/v1", "/api/v2/ws", &mux, &t), -ENOENT);
	CU_ASSERT_EQUAL(tacws_ws_path_parse("/api/v1", "/api/v1/ws/QUEUE", &mux, &t), -ENOENT);
	CU_ASSERT_EQUAL(tacws_ws_path_parse("/api/v1", "/api/v1/ws/item/a?b", &mux, &t), -EINVAL);
	CU_ASSERT_EQUAL(tacws_ws_path_parse("", "/ws/queue", &mux, &t), 0);
}

static void test_client_messages(void)
{
	tacws_client_msg m;
	CU_ASSERT_EQUAL(tacws_client_msg_parse(S("{\"type\":\"ping\",\"timestamp\":5}"), &m), 0);
	CU_ASSERT_EQUAL(m.kind, TACWS_CLIENT_PING);
	CU_ASSERT_EQUAL(json_object_get_int(m.timestamp), 5);
	tacws_client_msg_clear(&m);
	CU_ASSERT_EQUAL(tacws_client_msg_parse(S("{\"type\":\"subscribe\",\"feeds\":[\"a\"]}"), &m),
	                0);
	CU_ASSERT_EQUAL(m.kind, TACWS_CLIENT_SUBSCRIBE);
	CU_ASSERT_EQUAL(json_object_array_length(m.feeds), 1);
	tacws_client_msg_clear(&m);
	CU_ASSERT_EQUAL(tacws_client_msg_parse(S("{\"type\":\"unsubscribe\",\"feeds\":{}}"), &m),
	                0);
	CU_ASSERT_EQUAL(m.kind, TACWS_CLIENT_UNKNOWN);
	tacws_client_msg_clear(&m);
	CU_ASSERT_EQUAL(tacws_client_msg_parse(S("{\"type\":\"client_ready\"}"), &m), 0);
	CU_ASSERT_EQUAL(m.kind, TACWS_CLIENT_READY);
	tacws_client_msg_clear(&m);
	CU_ASSERT_EQUAL(tacws_client_msg_parse(S("{\"type\":7}"), &m), -EINVAL);
	CU_ASSERT_EQUAL(m.kind, TACWS_CLIENT_INVALID);
	tacws_client_msg_clear(&m);
	CU_ASSERT_EQUAL(tacws_client_msg_parse(S("\"ping\""), &m), -EINVAL);
	tacws_client_msg_clear(&m);
}

/* A subscribe item parsed from JSON text; returns the parser's result. */
static int sub_item(const char *json, tacws_sub_request *r, json_object **keep)
{
	char err[128];
	*keep = json_tokener_parse(json);
	CU_ASSERT_FATAL(*keep || !strcmp(json, "null"));
	return tacws_sub_request_parse(*keep, r, err, sizeof err);
}

static void test_subscription_items(void)
{
	tacws_sub_request r;
	json_object *o;
	CU_ASSERT_EQUAL(sub_item("\"queue\"", &r, &o), 0);
	CU_ASSERT_EQUAL(r.topic_len, 5);
	CU_ASSERT_EQUAL(memcmp(r.topic, "queue", 5), 0);
	CU_ASSERT_EQUAL(r.opts.delta, TACWS_DELTA_NONE);
	CU_ASSERT_FALSE(r.opts.resume);
	json_object_put(o);
	CU_ASSERT_EQUAL(sub_item("{\"topic\":\"adw-state/77c90e61\",\"delta\":\"json-patch\","
	                         "\"since\":42,\"epoch\":\"k3J_9-x\"}",
	                         &r, &o),
	                0);
	CU_ASSERT_EQUAL(memcmp(r.topic, "adw-state/77c90e61", r.topic_len), 0);
	CU_ASSERT_EQUAL(r.opts.delta, TACWS_DELTA_JSON_PATCH);
	CU_ASSERT_TRUE(r.opts.resume);
	CU_ASSERT_EQUAL(r.opts.since, 42);
	CU_ASSERT_STRING_EQUAL(r.opts.epoch, "k3J_9-x");
	json_object_put(o);
	CU_ASSERT_EQUAL(sub_item("{\"topic\":\"queue\",\"since\":0,\"epoch\":\"e\"}", &r, &o), 0);
	CU_ASSERT_TRUE(r.opts.resume);
	json_object_put(o);
	CU_ASSERT_EQUAL(sub_item("{\"topic\":\"q\",\"since\":9007199254740991,\"epoch\":\"e\"}", &r, &o),
	                0);
	json_object_put(o);
	CU_ASSERT_EQUAL(sub_item("{\"topic\":\"q\",\"since\":3,\"epoch\":\"e\",\"offset\":7}", &r, &o), 0);
	CU_ASSERT_TRUE(r.opts.has_offset);
	CU_ASSERT_EQUAL(r.opts.offset, 7);
	json_object_put(o);
	static const char *const bad[] = {
	    "7",
	    "null",
	    "[\"queue\"]",
	    "{}",
	    "{\"topic\":7}",
	    "{\"topic\":\"q\",\"delta\":\"merge-patch\"}",
	    "{\"topic\":\"q\",\"delta\":true}",
	    "{\"topic\":\"q\",\"since\":4}",
	    "{\"topic\":\"q\",\"epoch\":\"e\"}",
	    "{\"topic\":\"q\",\"since\":-1,\"epoch\":\"e\"}",
	    "{\"topic\":\"q\",\"since\":1.5,\"epoch\":\"e\"}",
	    "{\"topic\":\"q\",\"since\":\"4\",\"epoch\":\"e\"}",
	    "{\"topic\":\"q\",\"since\":9007199254740992,\"epoch\":\"e\"}",
	    "{\"topic\":\"q\",\"since\":4,\"epoch\":\"\"}",
	    "{\"topic\":\"q\",\"since\":4,\"epoch\":\"a b\"}",
	    "{\"topic\":\"q\",\"since\":4,\"epoch\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	    "{\"topic\":\"q\",\"since\":4,\"epoch\":5}",
	    "{\"topic\":\"q\",\"extra\":1}",
	    "{\"topic\":\"q\",\"offset\":1}",
	    "{\"topic\":\"q\",\"since\":4,\"epoch\":\"e\",\"offset\":-1}",
	    "{\"topic\":\"q\",\"since\":4,\"epoch\":\"e\",\"offset\":\"1\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CU_ASSERT_EQUAL(sub_item(bad[i], &r, &o), -EINVAL);
		CU_ASSERT_PTR_NULL(r.topic);
		json_object_put(o);
	}
}

static void test_subscription_query(void)
{
	tacws_sub_options o;
	char err[128];
	CU_ASSERT_EQUAL(tacws_sub_options_from_query(NULL, NULL, NULL, NULL, &o, err, sizeof err), 0);
	CU_ASSERT_EQUAL(o.delta, TACWS_DELTA_NONE);
	CU_ASSERT_FALSE(o.resume);
	CU_ASSERT_FALSE(o.has_offset);
	CU_ASSERT_EQUAL(
	    tacws_sub_options_from_query("json-patch", "42", "abc", NULL, &o, err, sizeof err), 0);
	CU_ASSERT_EQUAL(o.delta, TACWS_DELTA_JSON_PATCH);
	CU_ASSERT_TRUE(o.resume);
	CU_ASSERT_EQUAL(o.since, 42);
	CU_ASSERT_STRING_EQUAL(o.epoch, "abc");
	CU_ASSERT_FALSE(o.has_offset);
	CU_ASSERT_EQUAL(tacws_sub_options_from_query(NULL, "0", "e", NULL, &o, err, sizeof err), 0);
	CU_ASSERT_EQUAL(tacws_sub_options_from_query(NULL, "9007199254740991", "e", NULL, &o, err,
	                                             sizeof err),
	                0);
	CU_ASSERT_EQUAL(tacws_sub_options_from_query(NULL, "7", "e", "17", &o, err, sizeof err), 0);
	CU_ASSERT_TRUE(o.resume);
	CU_ASSERT_TRUE(o.has_offset);
	CU_ASSERT_EQUAL(o.offset, 17);
	CU_ASSERT_EQUAL(tacws_sub_options_from_query(NULL, "7", "e", "0", &o, err, sizeof err), 0);
	CU_ASSERT_TRUE(o.has_offset);
	CU_ASSERT_EQUAL(o.offset, 0);
	CU_ASSERT_EQUAL(
	    tacws_sub_options_from_query(NULL, "7", "e", "9007199254740991", &o, err, sizeof err), 0);
	static const char *const bad[][4] = {
	    {"", NULL, NULL, NULL},      {"JSON-PATCH", NULL, NULL, NULL}, {NULL, "4", NULL, NULL},
	    {NULL, NULL, "e", NULL},     {NULL, "", "e", NULL},            {NULL, "-1", "e", NULL},
	    {NULL, "+4", "e", NULL},     {NULL, "04", "e", NULL},          {NULL, "4 ", "e", NULL},
	    {NULL, "0x4", "e", NULL},    {NULL, "9007199254740992", "e", NULL},
	    {NULL, "4", "", NULL},       {NULL, "4", "e%20", NULL},
	    {NULL, "99999999999999999999", "e", NULL},
	    /* offset: only with since and epoch, a decimal like since */
	    {NULL, NULL, NULL, "3"},     {NULL, "4", NULL, "3"},           {NULL, NULL, "e", "3"},
	    {NULL, "4", "e", ""},        {NULL, "4", "e", "-1"},           {NULL, "4", "e", "03"},
	    {NULL, "4", "e", "3x"},      {NULL, "4", "e", "9007199254740992"},
	    {NULL, "4", "e", "99999999999999999999"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(tacws_sub_options_from_query(bad[i][0], bad[i][1], bad[i][2], bad[i][3],
		                                             &o, err, sizeof err),
		                -EINVAL);
		CU_ASSERT_NOT_EQUAL(err[0], '\0'); /* the reason the upgrade's 400 gives */
	}
	CU_ASSERT_EQUAL(tacws_sub_options_from_query(NULL, NULL, NULL, "3", &o, err, sizeof err),
	                -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "offset needs since and epoch");
	CU_ASSERT_EQUAL(tacws_sub_options_from_query(NULL, "4", "e", "-3", &o, err, sizeof err),
	                -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "offset must be an event offset");
}

static void test_publish_bodies(void)
{
	tacws_publish_req r;
	char err[128];
	CU_ASSERT_EQUAL(tacws_publish_parse(S("{\"feed\":\"adw-state\",\"param\":\"77c90e61\","
	                                      "\"type\":\"adw_state_update\",\"data\":{\"x\":1}}"),
	                                    &r, err, sizeof err),
	                0);
	CU_ASSERT_STRING_EQUAL(r.feed, "adw-state");
	CU_ASSERT_STRING_EQUAL(r.param, "77c90e61");
	CU_ASSERT_TRUE(r.has_param);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(r.data, JSON_C_TO_STRING_PLAIN),
	                       "{\"x\":1}");
	json_object_put(r.data);
	CU_ASSERT_EQUAL(tacws_publish_parse(S("{\"feed\":\"q\",\"type\":\"t\",\"data\":null,"
	                                      "\"param\":null}"),
	                                    &r, err, sizeof err),
	                0);
	CU_ASSERT_PTR_NULL(r.data);
	CU_ASSERT_FALSE(r.has_param);
	CU_ASSERT_EQUAL(
	    tacws_publish_parse(S("{\"feed\":\"q\",\"type\":\"t\"}"), &r, err, sizeof err),
	    -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "data"));
	CU_ASSERT_EQUAL(tacws_publish_parse(S("{\"feed\":\"q\",\"type\":\"t t\",\"data\":1}"), &r,
	                                    err, sizeof err),
	                -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "type"));
	CU_ASSERT_EQUAL(tacws_publish_parse(S("{\"feed\":\"q\\u0000x\",\"type\":\"t\",\"data\":1}"),
	                                    &r, err, sizeof err),
	                -EINVAL);
	CU_ASSERT_EQUAL(tacws_publish_parse(S("{\"feed\":\"q\",\"type\":\"t\",\"data\":1,"
	                                      "\"param\":5}"),
	                                    &r, err, sizeof err),
	                -EINVAL);
}

static void test_refresh_bodies(void)
{
	char param[TACWS_PARAM_MAX + 1], err[128];
	bool has;
	CU_ASSERT_EQUAL(tacws_refresh_parse(S(""), param, &has, err, sizeof err), 0);
	CU_ASSERT_FALSE(has);
	CU_ASSERT_EQUAL(tacws_refresh_parse(S(" \r\n"), param, &has, err, sizeof err), 0);
	CU_ASSERT_FALSE(has);
	CU_ASSERT_EQUAL(tacws_refresh_parse(S("{}"), param, &has, err, sizeof err), 0);
	CU_ASSERT_FALSE(has);
	CU_ASSERT_EQUAL(
	    tacws_refresh_parse(S("{\"param\":\"77c90e61\"}"), param, &has, err, sizeof err), 0);
	CU_ASSERT_TRUE(has);
	CU_ASSERT_STRING_EQUAL(param, "77c90e61");
	CU_ASSERT_EQUAL(
	    tacws_refresh_parse(S("{\"param\":\"../x\"}"), param, &has, err, sizeof err), -EINVAL);
	CU_ASSERT_EQUAL(tacws_refresh_parse(S("\0"), param, &has, err, sizeof err), -EINVAL);
	CU_ASSERT_EQUAL(tacws_refresh_parse(S("x"), param, &has, err, sizeof err), -EINVAL);
}

static void test_webhook_signature(void)
{
	/* the example in GitHub's documentation on validating deliveries */
	const char *secret = "It's a Secret to Everybody", *body = "Hello, World!";
	const char *good =
	    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	const char *upper =
	    "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17";
	const char *flipped =
	    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18";
	CU_ASSERT_TRUE(tacws_hmac_sha256_ok(secret, "sha256=", good, body, strlen(body)));
	CU_ASSERT_TRUE(tacws_hmac_sha256_ok(secret, "sha256=", upper, body, strlen(body)));
	CU_ASSERT_FALSE(tacws_hmac_sha256_ok(secret, "sha256=", flipped, body, strlen(body)));
	CU_ASSERT_FALSE(tacws_hmac_sha256_ok(secret, "sha256=", good, "Hello, World?", 13));
	CU_ASSERT_FALSE(tacws_hmac_sha256_ok("other", "sha256=", good, body, strlen(body)));
	CU_ASSERT_FALSE(tacws_hmac_sha256_ok("", "sha256=", good, body, strlen(body)));
	CU_ASSERT_FALSE(tacws_hmac_sha256_ok(secret, "sha256=", good + 7, body, strlen(body)));
	CU_ASSERT_FALSE(tacws_hmac_sha256_ok(secret, "sha256=", "sha256=", body, strlen(body)));
	CU_ASSERT_FALSE(tacws_hmac_sha256_ok(secret, "sha256=", NULL, body, strlen(body)));
}

static void test_webhook_payloads(void)
{
	json_object *d;
	char err[128];
	const char *form = "x=1&payload=%7B%22action%22%3A%22opened%22%2C%22issue%22%3A%7B%22"
	                   "number%22%3A9%7D%7D&y=2";
	CU_ASSERT_EQUAL_FATAL(tacws_webhook_payload_parse("application/x-www-form-urlencoded",
	                                                  form, strlen(form), &d, err, sizeof err),
	                      0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
	                       "{\"action\":\"opened\",\"issue\":{\"number\":9}}");
	json_object_put(d);
	CU_ASSERT_EQUAL(tacws_webhook_payload_parse("application/x-www-form-urlencoded",
	                                            S("payload=%7"), &d, err, sizeof err),
	                -EINVAL);
	CU_ASSERT_EQUAL(tacws_webhook_payload_parse("application/json", S("[1]"), &d, err,
	                                            sizeof err),
	                -EINVAL);
	CU_ASSERT_EQUAL(tacws_webhook_payload_parse(NULL, S("{}"), &d, err, sizeof err), 0);
	json_object_put(d);
	CU_ASSERT_TRUE(tacws_webhook_event_ok("issue_comment"));
	CU_ASSERT_FALSE(tacws_webhook_event_ok("Issues"));
	CU_ASSERT_FALSE(tacws_webhook_event_ok(""));
	CU_ASSERT_FALSE(tacws_webhook_event_ok(NULL));
}

/* Issue 13, F6: the path a request is routed on is the one the client sent. */
static void test_targets_as_sent(void)
{
	CU_ASSERT(tacws_target_is_path("/api/v1/ws/alpha?token=x", "/api/v1/ws/alpha"));
	CU_ASSERT(tacws_target_is_path("/api/v1/ws/item/a%20b", "/api/v1/ws/item/a b"));
	CU_ASSERT(tacws_target_is_path("/", "/"));
	/* what lws makes of dot segments, encoded or not */
	CU_ASSERT_FALSE(tacws_target_is_path("/api/v1/ws/item/%2E%2E", "/api/v1/ws/"));
	CU_ASSERT_FALSE(tacws_target_is_path("/api/v1/ws/item/%2E%2E", "/api/v1/ws/item/.."));
	CU_ASSERT_FALSE(tacws_target_is_path("/api/v1/ws/./alpha", "/api/v1/ws/alpha"));
	CU_ASSERT_FALSE(tacws_target_is_path("/api/v1/ws/./alpha", "/api/v1/ws/./alpha"));
	CU_ASSERT_FALSE(tacws_target_is_path("/a/.", "/a/."));
	CU_ASSERT_FALSE(tacws_target_is_path("/a//b", "/a/b"));
	/* bad escapes, a NUL, a target that is not a path */
	CU_ASSERT_FALSE(tacws_target_is_path("/a%2", "/a"));
	CU_ASSERT_FALSE(tacws_target_is_path("/a%zz", "/a"));
	CU_ASSERT_FALSE(tacws_target_is_path("/a%00", "/a"));
	CU_ASSERT_FALSE(tacws_target_is_path("http://h/a", "/a"));
	CU_ASSERT_FALSE(tacws_target_is_path("", "/"));
}

static void redacts(const char *text, const char *want)
{
	char out[256];
	tacws_redact(text, out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, want);
}

/* Issue 13, F7: what leaves the process holds no credentials or local paths. */
static void test_redaction(void)
{
	redacts("GET http://user:s3cret@127.0.0.1:1/x?token=abc failed: refused",
		"GET http://127.0.0.1:1/x failed: refused");
	redacts("cannot open sqlite:/tmp/priv/database.db: no such file",
		"cannot open sqlite:.../database.db: no such file");
	redacts("'/home/u/tac/agents' is not a folder", "'.../agents' is not a folder");
	redacts("postgresql://tac:pw@db:5432/tac?sslmode=require", "postgresql://db:5432/tac");
	redacts("HTTP 404 for /x", "HTTP 404 for /x");
	redacts("no URL here", "no URL here");
	char small[8];
	tacws_redact("a long text that does not fit", small, sizeof small);
	CU_ASSERT_STRING_EQUAL(small, "a long ");
}

static void test_secret_equal(void)
{
	CU_ASSERT_TRUE(tacws_secret_equal("s3cret", "s3cret"));
	CU_ASSERT_FALSE(tacws_secret_equal("s3cret", "s3cre"));
	CU_ASSERT_FALSE(tacws_secret_equal("s3cret", "s3cres"));
	CU_ASSERT_FALSE(tacws_secret_equal("", "x"));
	CU_ASSERT_TRUE(tacws_secret_equal("", ""));
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"UTF-8", test_utf8},
	    {"JSON text", test_json},
	    {"topic names", test_topic_names},
	    {"WebSocket paths", test_ws_paths},
	    {"client messages", test_client_messages},
	    {"subscription items", test_subscription_items},
	    {"per-feed socket query", test_subscription_query},
	    {"publish bodies", test_publish_bodies},
	    {"refresh bodies", test_refresh_bodies},
	    {"webhook signature (GitHub's example)", test_webhook_signature},
	    {"webhook payloads", test_webhook_payloads},
	    {"secrets compared in constant time", test_secret_equal},
	    {"request targets as sent (F6)", test_targets_as_sent},
	    {"redaction of what leaves the process (F7)", test_redaction},
	    {NULL, NULL},
	};
	return tacws_test_run("input", NULL, NULL, cases);
}
