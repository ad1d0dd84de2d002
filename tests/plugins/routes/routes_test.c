#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "http_fixture.h"
#include "testutil.h"

static tacws_http_fixture *backend;

static const char *openapi =
    "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"TAC\",\"version\":\"1\"},\"paths\":{"
    "\"/api/workflows\":{"
    "\"get\":{\"operationId\":\"list_workflows\",\"summary\":\"List workflows\","
    "\"description\":\"All runs\",\"tags\":[\"workflows\"]},"
    "\"options\":{\"operationId\":\"cors\"},"
    "\"post\":{\"operationId\":\"create_workflow\",\"summary\":\"Create\","
    "\"tags\":[\"workflows\",\"write\"]}},"
    "\"/api/health\":{\"get\":{\"operationId\":\"health\",\"summary\":\"Health\"}},"
    "\"/docs\":{\"get\":{\"operationId\":\"docs\"}},"
    "\"/docs/oauth2-redirect\":{\"get\":{}},"
    "\"/redoc\":{\"get\":{}},"
    "\"/openapi.json\":{\"get\":{}},"
    "\"/api/items/{id}\":{\"parameters\":[{\"name\":\"id\",\"in\":\"path\"}],"
    "\"summary\":\"Item\",\"head\":{\"operationId\":\"head_item\"},"
    "\"delete\":{\"operationId\":\"delete_item\"},\"patch\":{\"operationId\":\"patch_item\"},"
    "\"put\":{\"operationId\":\"put_item\"},\"get\":{\"operationId\":\"get_item\"},"
    "\"options\":{}}}}";

static const char *expected =
    "[{\"path\":\"/api/health\",\"method\":\"GET\",\"name\":\"health\",\"summary\":\"Health\","
    "\"description\":\"\",\"tags\":[]},"
    "{\"path\":\"/api/items/{id}\",\"method\":\"GET\",\"name\":\"get_item\",\"summary\":\"\","
    "\"description\":\"\",\"tags\":[]},"
    "{\"path\":\"/api/items/{id}\",\"method\":\"PUT\",\"name\":\"put_item\",\"summary\":\"\","
    "\"description\":\"\",\"tags\":[]},"
    "{\"path\":\"/api/items/{id}\",\"method\":\"PATCH\",\"name\":\"patch_item\",\"summary\":\"\","
    "\"description\":\"\",\"tags\":[]},"
    "{\"path\":\"/api/items/{id}\",\"method\":\"DELETE\",\"name\":\"delete_item\","
    "\"summary\":\"\",\"description\":\"\",\"tags\":[]},"
    "{\"path\":\"/api/items/{id}\",\"method\":\"HEAD\",\"name\":\"head_item\",\"summary\":\"\","
    "\"description\":\"\",\"tags\":[]},"
    "{\"path\":\"/api/workflows\",\"method\":\"GET\",\"name\":\"list_workflows\","
    "\"summary\":\"List workflows\",\"description\":\"All runs\",\"tags\":[\"workflows\"]},"
    "{\"path\":\"/api/workflows\",\"method\":\"POST\",\"name\":\"create_workflow\","
    "\"summary\":\"Create\",\"description\":\"\",\"tags\":[\"workflows\",\"write\"]}]";

/* Loads the plugin against the fixture; backend_url NULL means the fixture's. */
static int load(const char *backend_url, const char *timeout_ms)
{
	char url[128];
	fake_host_config_set("sources", "backend_url",
	                     backend_url ? backend_url
	                                 : tacws_http_fixture_url(backend, "", url, sizeof url));
	fake_host_config_set("feed.routes", "enabled", "true");
	if (timeout_ms)
		fake_host_config_set("feed.routes", "timeout_ms", timeout_ms);
	return fake_host_load(PLUGIN_PATH);
}

/* Runs the snapshot; returns its result, the payload in *out (or NULL). */
static int snap(char **out, char *err, size_t errlen)
{
	json_object *data = NULL;
	int rc = fake_host_snapshot("routes", NULL, &data, err, errlen);
	*out = data ? strdup(json_object_to_json_string_ext(
	                  data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
	            : NULL;
	json_object_put(data);
	return rc;
}

static void test_registers_feed(void)
{
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	const tacws_feed_desc *f = fake_host_feed("routes");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(f->endpoint, "routes");
	CU_ASSERT_STRING_EQUAL(f->message_type, "routes_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 10000);
	fake_host_unload();
}

static void test_not_enabled_is_skipped(void)
{
	fake_host_config_set("sources", "backend_url", "http://127.0.0.1:1");
	CU_ASSERT_EQUAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_EQUAL(fake_host_feed_count(), 0);
	fake_host_unload();
}

static void test_bad_timeout_refused(void)
{
	CU_ASSERT_EQUAL(load(NULL, "soon"), -EINVAL);
	fake_host_unload();
}

static void test_exact_payload(void)
{
	CU_ASSERT_EQUAL_FATAL(
	    tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, openapi, 0), 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, expected);
	if (strcmp(s, expected))
		fprintf(stderr, "got      %s\nexpected %s\n", s, expected);
	free(s);
	fake_host_unload();
}

static void test_trailing_slash_in_backend_url(void)
{
	char url[128], with_slash[160];
	tacws_http_fixture_url(backend, "", url, sizeof url);
	snprintf(with_slash, sizeof with_slash, "%s//", url);
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, openapi, 0);
	CU_ASSERT_EQUAL_FATAL(load(with_slash, NULL), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(s);
	if (s)
		CU_ASSERT_STRING_EQUAL(s, expected);
	free(s);
	fake_host_unload();
}

static void test_same_payload_twice(void)
{
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, openapi, 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	char err[256], *a, *b;
	CU_ASSERT_EQUAL(snap(&a, err, sizeof err), 0);
	CU_ASSERT_EQUAL(snap(&b, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(a, b);
	free(a);
	free(b);
	fake_host_unload();
}

/* FastAPI's operationIds carry the path and method after the handler's name;
 * TAC shows the handler's name. Other forms are kept whole. */
static void test_fastapi_names(void)
{
	tacws_http_fixture_set(
	    backend, "/openapi.json", 200, NULL,
	    "{\"paths\":{\"/api/v1/system-status\":{\"get\":{\"operationId\":"
	    "\"get_system_status_api_v1_system_status_get\"}},\"/api/items/{id}\":{\"put\":"
	    "{\"operationId\":\"save_item_api_items__id__put\"},\"post\":{\"operationId\":"
	    "\"save_item_api_items__id__put\"},\"get\":{\"operationId\":\"_api_items__id__get\"},"
	    "\"delete\":{\"operationId\":\"items_delete\"}}}}",
	    0);
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(
	    s, "[{\"path\":\"/api/items/{id}\",\"method\":\"GET\",\"name\":\"_api_items__id__get\","
	       "\"summary\":\"\",\"description\":\"\",\"tags\":[]},"
	       "{\"path\":\"/api/items/{id}\",\"method\":\"POST\",\"name\":\"save_item\","
	       "\"summary\":\"\",\"description\":\"\",\"tags\":[]},"
	       "{\"path\":\"/api/items/{id}\",\"method\":\"PUT\",\"name\":\"save_item\","
	       "\"summary\":\"\",\"description\":\"\",\"tags\":[]},"
	       "{\"path\":\"/api/items/{id}\",\"method\":\"DELETE\",\"name\":\"items_delete\","
	       "\"summary\":\"\",\"description\":\"\",\"tags\":[]},"
	       "{\"path\":\"/api/v1/system-status\",\"method\":\"GET\",\"name\":"
	       "\"get_system_status\",\"summary\":\"\",\"description\":\"\",\"tags\":[]}]");
	free(s);
	fake_host_unload();
}

static void test_empty_paths(void)
{
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, "{\"paths\":{}}", 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "[]");
	free(s);
	fake_host_unload();
}

static void expect_failure(int want_rc, const char *want_reason)
{
	char err[256], *s;
	int rc = snap(&s, err, sizeof err);
	CU_ASSERT_EQUAL(rc, want_rc);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want_reason));
	if (rc != want_rc || !strstr(err, want_reason))
		fprintf(stderr, "rc %d err \"%s\"\n", rc, err);
	free(s);
}

static void test_backend_down(void)
{
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_http_fixture_stop(backend), 0);
	expect_failure(-ECONNREFUSED, "connection refused");
	CU_ASSERT_EQUAL_FATAL(tacws_http_fixture_restart(backend), 0);
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, openapi, 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(s);
	free(s);
	fake_host_unload();
}

static void test_backend_500(void)
{
	tacws_http_fixture_set(backend, "/openapi.json", 500, "text/plain", "boom", 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	expect_failure(-EPROTO, "HTTP 500");
	fake_host_unload();
}

static void test_backend_hangs(void)
{
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, openapi, 5000);
	CU_ASSERT_EQUAL_FATAL(load(NULL, "500"), 0);
	long long t0 = tacws_test_now_ms();
	expect_failure(-ETIMEDOUT, "no answer within 500 ms");
	long long took = tacws_test_now_ms() - t0;
	CU_ASSERT(took >= 450 && took < 1500);
	fake_host_unload();
}

static void test_bad_json(void)
{
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, "{\"paths\":{", 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	expect_failure(-EBADMSG, "not valid JSON");
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, "{\"paths\":{}} trailing", 0);
	expect_failure(-EBADMSG, "not valid JSON");
	tacws_http_fixture_set(backend, "/openapi.json", 200, NULL, "[1,2]", 0);
	expect_failure(-EBADMSG, "no \"paths\" object");
	fake_host_unload();
}

static void test_redirects(void)
{
	char target[160];
	tacws_http_fixture_set(backend, "/v2/openapi.json", 200, NULL, openapi, 0);
	tacws_http_fixture_set_redirect(backend, "/openapi.json", 302, "/v2/openapi.json");
	CU_ASSERT_EQUAL_FATAL(load(NULL, NULL), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(s);
	if (s)
		CU_ASSERT_STRING_EQUAL(s, expected);
	free(s);

	/* Same port, other host name: refused, nothing fetched from there. */
	snprintf(target, sizeof target, "http://localhost:%d/v2/openapi.json",
	         tacws_http_fixture_port(backend));
	tacws_http_fixture_set_redirect(backend, "/openapi.json", 302, target);
	int before = tacws_http_fixture_requests(backend, "/v2/openapi.json");
	expect_failure(-ELOOP, "redirect to another host refused");
	CU_ASSERT_EQUAL(tacws_http_fixture_requests(backend, "/v2/openapi.json"), before);

	tacws_http_fixture_set_redirect(backend, "/openapi.json", 302, "/openapi.json");
	expect_failure(-ELOOP, "too many redirects");
	fake_host_unload();
}

static void test_only_http_urls(void)
{
	CU_ASSERT_EQUAL_FATAL(load("file:///etc", NULL), 0);
	expect_failure(-EINVAL, "only http:// and https://");
	fake_host_unload();
}

static int suite_init(void)
{
	return tacws_http_fixture_start(&backend) ? -1 : 0;
}

static int suite_cleanup(void)
{
	tacws_http_fixture_free(backend);
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"registers the routes feed", test_registers_feed},
	    {"not enabled: loads without a feed", test_not_enabled_is_skipped},
	    {"bad timeout_ms refused", test_bad_timeout_refused},
	    {"exact payload, OPTIONS and docs paths skipped", test_exact_payload},
	    {"trailing slash in backend_url", test_trailing_slash_in_backend_url},
	    {"same document, byte-identical payload", test_same_payload_twice},
	    {"empty paths", test_empty_paths},
	    {"FastAPI operationIds give TAC's handler names", test_fastapi_names},
	    {"backend down, then back", test_backend_down},
	    {"backend answers 500", test_backend_500},
	    {"backend hangs beyond timeout", test_backend_hangs},
	    {"bad JSON", test_bad_json},
	    {"redirects: same host followed, others refused", test_redirects},
	    {"only http and https", test_only_http_urls},
	    {NULL, NULL},
	};
	return tacws_test_run("routes", suite_init, suite_cleanup, cases);
}
