#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "http_fixture.h"
#include "testutil.h"

static tacws_http_fixture *service;

/* What TAC's trigger service answers (adws/adw_triggers/trigger_webhook.py). */
static const char *status_body =
    "{\"status\":\"healthy\",\"uptime\":{\"seconds\":3720,\"hours\":1.03,\"human\":\"1h 2m\"},"
    "\"stats\":{\"total_received\":12,\"successful\":11,\"failed\":1,\"success_rate\":\"91.7%\"},"
    "\"recent_failures\":[{\"issue\":42,\"timestamp\":\"2026-11-26T01:00:00\","
    "\"error\":\"bad signature\"}],"
    "\"last_successful\":{\"issue\":43,\"adw_id\":\"77c90e61\",\"workflow\":\"adw_sdlc_iso\","
    "\"timestamp\":\"2026-11-26T01:10:00\"}}";

static int load(const char *timeout_ms)
{
	char url[128];
	fake_host_config_set("sources", "webhook_status_url",
	                     tacws_http_fixture_url(service, "/webhook-status", url, sizeof url));
	fake_host_config_set("feed.webhook-status", "enabled", "true");
	if (timeout_ms)
		fake_host_config_set("feed.webhook-status", "timeout_ms", timeout_ms);
	return fake_host_load(PLUGIN_PATH);
}

static int snap(char **out, char *err, size_t errlen)
{
	json_object *data = NULL;
	int rc = fake_host_snapshot("webhook-status", NULL, &data, err, errlen);
	*out = data ? strdup(json_object_to_json_string_ext(
	                  data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
	            : NULL;
	json_object_put(data);
	return rc;
}

/* The snapshot fails with want_rc and still carries {"status":"error","message":err}. */
static void expect_error_payload(int want_rc, const char *want_reason)
{
	char err[256], *s, want[512];
	int rc = snap(&s, err, sizeof err);
	CU_ASSERT_EQUAL(rc, want_rc);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want_reason));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	snprintf(want, sizeof want, "{\"status\":\"error\",\"message\":\"%s\"}", err);
	CU_ASSERT_STRING_EQUAL(s, want);
	if (rc != want_rc || strcmp(s, want))
		fprintf(stderr, "rc %d payload %s\n", rc, s);
	free(s);
}

static void test_registers_feed(void)
{
	CU_ASSERT_EQUAL_FATAL(load(NULL), 0);
	const tacws_feed_desc *f = fake_host_feed("webhook-status");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(f->endpoint, "webhook-status");
	CU_ASSERT_STRING_EQUAL(f->message_type, "webhook_status_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 5000);
	fake_host_unload();
}

static void test_not_enabled_is_skipped(void)
{
	CU_ASSERT_EQUAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_EQUAL(fake_host_feed_count(), 0);
	fake_host_unload();
}

static void test_pass_through(void)
{
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, status_body, 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, status_body);
	free(s);
	CU_ASSERT_EQUAL(tacws_http_fixture_requests(service, "/webhook-status"), 1);
	fake_host_unload();
}

/* A service naming the issue "issue_number" and sending a numeric rate: TAC's
 * panel reads "issue" and prints the rate as it comes, so both are added in
 * TAC's form; the rest stays as it came. */
static void test_other_names_get_tac_keys(void)
{
	tacws_http_fixture_set(
	    service, "/webhook-status", 200, NULL,
	    "{\"status\":\"degraded\",\"stats\":{\"total_received\":3,\"successful\":2,"
	    "\"failed\":1,\"success_rate\":66.66},\"recent_failures\":[{\"issue_number\":7,"
	    "\"timestamp\":\"t\",\"error\":\"e\"},\"odd\"],\"last_successful\":{\"issue_number\":8,"
	    "\"adw_id\":\"a\",\"workflow\":\"w\",\"timestamp\":\"t\"}}",
	    0);
	CU_ASSERT_EQUAL_FATAL(load(NULL), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(
	    s, "{\"status\":\"degraded\",\"stats\":{\"total_received\":3,\"successful\":2,"
	       "\"failed\":1,\"success_rate\":\"66.7%\"},\"recent_failures\":[{\"issue_number\":7,"
	       "\"timestamp\":\"t\",\"error\":\"e\",\"issue\":7},\"odd\"],\"last_successful\":"
	       "{\"issue_number\":8,\"adw_id\":\"a\",\"workflow\":\"w\",\"timestamp\":\"t\","
	       "\"issue\":8}}");
	free(s);
	fake_host_unload();
}

static void test_refused(void)
{
	CU_ASSERT_EQUAL_FATAL(load(NULL), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_http_fixture_stop(service), 0);
	expect_error_payload(-ECONNREFUSED, "connection refused");
	CU_ASSERT_EQUAL_FATAL(tacws_http_fixture_restart(service), 0);
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, status_body, 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(s);
	if (s)
		CU_ASSERT_STRING_EQUAL(s, status_body);
	free(s);
	fake_host_unload();
}

static void test_500(void)
{
	tacws_http_fixture_set(service, "/webhook-status", 500, "text/plain", "oops", 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL), 0);
	expect_error_payload(-EPROTO, "HTTP 500");
	fake_host_unload();
}

static void test_hang(void)
{
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, status_body, 5000);
	CU_ASSERT_EQUAL_FATAL(load("400"), 0);
	long long t0 = tacws_test_now_ms();
	expect_error_payload(-ETIMEDOUT, "no answer within 400 ms");
	long long took = tacws_test_now_ms() - t0;
	CU_ASSERT(took >= 350 && took < 1400);
	fake_host_unload();
}

static void test_bad_json(void)
{
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, "{\"status\":", 0);
	CU_ASSERT_EQUAL_FATAL(load(NULL), 0);
	expect_error_payload(-EBADMSG, "not valid JSON");
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, "[\"healthy\"]", 0);
	expect_error_payload(-EBADMSG, "not a JSON object");
	fake_host_unload();
}

static void test_same_error_same_payload(void)
{
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, status_body, 3000);
	CU_ASSERT_EQUAL_FATAL(load("200"), 0);
	char err[256], *a, *b;
	CU_ASSERT_EQUAL(snap(&a, err, sizeof err), -ETIMEDOUT);
	CU_ASSERT_EQUAL(snap(&b, err, sizeof err), -ETIMEDOUT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(a, b);
	free(a);
	free(b);
	fake_host_unload();
}

static int suite_init(void)
{
	return tacws_http_fixture_start(&service) ? -1 : 0;
}

static int suite_cleanup(void)
{
	tacws_http_fixture_free(service);
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"registers the webhook-status feed", test_registers_feed},
	    {"not enabled: loads without a feed", test_not_enabled_is_skipped},
	    {"service JSON passed through", test_pass_through},
	    {"other names get TAC's keys", test_other_names_get_tac_keys},
	    {"service down: error payload, then back", test_refused},
	    {"service answers 500", test_500},
	    {"service hangs beyond timeout", test_hang},
	    {"bad JSON and non-object JSON", test_bad_json},
	    {"same failure, byte-identical payload", test_same_error_same_payload},
	    {NULL, NULL},
	};
	return tacws_test_run("webhook_status", suite_init, suite_cleanup, cases);
}
