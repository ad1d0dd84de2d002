/*
 * POST /api/v1/webhooks/github against a real tacwsd with the real workflows
 * and adw_monitor plugins on a temp repo: signature (HMAC-SHA256 of the raw
 * body, computed here with OpenSSL), JSON and form bodies, the
 * workflow_update event and the refresh of both feeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#define SECRET "hook-s3cret"

static tacws_server_fixture *fx;
static int port;

static const char *comment_body =
    "{\"action\":\"created\",\"issue\":{\"number\":42,\"title\":\"Add a dashboard\","
    "\"body\":\"Plan first.\"},\"comment\":{\"body\":\"Please run adw_plan_build_iso on "
    "this.\"},\"repository\":{\"full_name\":\"acme/webbuilder\"},\"sender\":{\"login\":"
    "\"octocat\"}}";

/* POSTs body with the given event and signature header (NULL: none). */
static long deliver(const char *event, const char *signature, const char *content_type,
                    const char *body, char **reply)
{
	char h_event[128], h_sig[128], h_type[128];
	const char *headers[4];
	int n = 0;
	if (event) {
		snprintf(h_event, sizeof h_event, "X-GitHub-Event: %s", event);
		headers[n++] = h_event;
	}
	if (signature) {
		snprintf(h_sig, sizeof h_sig, "X-Hub-Signature-256: %s", signature);
		headers[n++] = h_sig;
	}
	snprintf(h_type, sizeof h_type, "Content-Type: %s", content_type);
	headers[n++] = h_type;
	headers[n] = NULL;
	tacws_http_reply r;
	if (reply)
		*reply = NULL;
	if (tacws_server_http_post(fx, "/api/v1/webhooks/github", headers, body, &r))
		return -1;
	long status = r.status;
	if (reply)
		*reply = r.body ? strdup(r.body) : NULL;
	tacws_http_reply_clear(&r);
	return status;
}

static long deliver_signed(const char *event, const char *content_type, const char *body,
                           char **reply)
{
	char sig[80];
	edge_github_signature(SECRET, body, strlen(body), sig);
	return deliver(event, sig, content_type, body, reply);
}

static tacws_wsclient *open_feed(const char *feed, const char *type)
{
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL(tacws_ws_connect(port, NULL, feed, NULL, NULL, 3000, &c, NULL), 0);
	if (c)
		CU_ASSERT_EQUAL(tacws_ws_expect(c, type, 5000, NULL), 0);
	return c;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : "(missing)";
}

/* Waits until the feed's poll count passes before. */
static long long wait_polls(const char *feed, long long before, int timeout_ms)
{
	char sample[128];
	snprintf(sample, sizeof sample, "tacws_polls_total{feed=\"%s\"}", feed);
	return tacws_server_wait_metric_at_least(fx, sample, before + 1, timeout_ms);
}

static void test_issue_comment(void)
{
	tacws_wsclient *wf = open_feed("workflows", "workflows_update");
	tacws_wsclient *mon = open_feed("adw-monitor", "adw_monitor_update");
	CU_ASSERT_FATAL(wf && mon);
	/* their first snapshots are in, so their first polls are counted */
	long long wf_polls = tacws_server_metric(fx, "tacws_polls_total{feed=\"workflows\"}");
	long long mon_polls = tacws_server_metric(fx, "tacws_polls_total{feed=\"adw-monitor\"}");
	char *reply;
	CU_ASSERT_EQUAL(deliver_signed("issue_comment", "application/json", comment_body, &reply),
	                202);
	CU_ASSERT_STRING_EQUAL(reply ? reply : "(none)", "{\"subscribers\":1}");
	free(reply);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_wait_type(wf, "workflow_update", 3000, &m), 0);
	json_object *d = tacws_ws_data(m);
	CU_ASSERT_STRING_EQUAL(str(d, "event"), "issue_comment");
	CU_ASSERT_STRING_EQUAL(str(d, "action"), "created");
	CU_ASSERT_STRING_EQUAL(str(d, "repository"), "acme/webbuilder");
	CU_ASSERT_STRING_EQUAL(str(d, "sender"), "octocat");
	CU_ASSERT_STRING_EQUAL(str(d, "adw_workflow"), "adw_plan_build_iso");
	json_object *num;
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "issue_number", &num));
	CU_ASSERT_EQUAL(json_object_get_int(num), 42);
	json_object_put(m);
	/* both feeds are polled now, though their interval is a minute */
	CU_ASSERT(wait_polls("workflows", wf_polls, 3000) > wf_polls);
	CU_ASSERT(wait_polls("adw-monitor", mon_polls, 3000) > mon_polls);
	/* the monitor's subscribers get no workflow_update: it is the workflows feed's event */
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(mon, 300, NULL), 0);
	tacws_wsclient_free(wf);
	tacws_wsclient_free(mon);
}

static char *form_encode(const char *json)
{
	char *out = malloc(strlen("payload=") + 3 * strlen(json) + 1);
	char *p = out + sprintf(out, "payload=");
	for (const char *s = json; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9'))
			*p++ = *s;
		else if (*s == ' ')
			*p++ = '+';
		else
			p += sprintf(p, "%%%02X", (unsigned char)*s);
	}
	*p = '\0';
	return out;
}

static void test_form_encoded_issue(void)
{
	tacws_wsclient *wf = open_feed("workflows", "workflows_update");
	CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
	char *form =
	    form_encode("{\"action\":\"opened\",\"issue\":{\"number\":7,\"body\":"
	                "\"Build it with adw_sdlc_iso, thanks\"},\"repository\":"
	                "{\"full_name\":\"acme/webbuilder\"},\"sender\":{\"login\":\"me\"}}");
	CU_ASSERT_EQUAL(deliver_signed("issues", "application/x-www-form-urlencoded", form, NULL),
	                202);
	free(form);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_wait_type(wf, "workflow_update", 3000, &m), 0);
	json_object *d = tacws_ws_data(m);
	CU_ASSERT_STRING_EQUAL(str(d, "event"), "issues");
	CU_ASSERT_STRING_EQUAL(str(d, "action"), "opened");
	CU_ASSERT_STRING_EQUAL(str(d, "adw_workflow"), "adw_sdlc_iso");
	json_object *num;
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "issue_number", &num));
	CU_ASSERT_EQUAL(json_object_get_int(num), 7);
	json_object_put(m);

	/* another event, no issue, no workflow name: nulls */
	CU_ASSERT_EQUAL(
	    deliver_signed("push", "application/json", "{\"ref\":\"refs/heads/main\"}", NULL), 202);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_wait_type(wf, "workflow_update", 3000, &m), 0);
	d = tacws_ws_data(m);
	CU_ASSERT_STRING_EQUAL(str(d, "event"), "push");
	json_object *v;
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "adw_workflow", &v) && v == NULL);
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "issue_number", &v) && v == NULL);
	json_object_put(m);
	tacws_wsclient_free(wf);
}

static void test_bad_signatures(void)
{
	tacws_wsclient *wf = open_feed("workflows", "workflows_update");
	CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
	long long before =
	    tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"webhook_signature\"}");
	char sig[80];
	/* the right algorithm with the wrong secret */
	edge_github_signature("not-the-secret", comment_body, strlen(comment_body), sig);
	CU_ASSERT_EQUAL(deliver("issue_comment", sig, "application/json", comment_body, NULL), 401);
	/* a good signature replayed on a changed body */
	edge_github_signature(SECRET, comment_body, strlen(comment_body), sig);
	char *changed = strdup(comment_body);
	changed[strlen(changed) - 3] = 'X'; /* "octocat" -> "octocXt" */
	CU_ASSERT_EQUAL(deliver("issue_comment", sig, "application/json", changed, NULL), 401);
	free(changed);
	/* no header, an old sha1 header, a truncated one, upper-case junk */
	CU_ASSERT_EQUAL(deliver("issue_comment", NULL, "application/json", comment_body, NULL),
	                401);
	CU_ASSERT_EQUAL(deliver("issue_comment", "sha1=0123456789abcdef0123456789abcdef01234567",
	                        "application/json", comment_body, NULL),
	                401);
	sig[40] = '\0';
	CU_ASSERT_EQUAL(deliver("issue_comment", sig, "application/json", comment_body, NULL), 401);
	CU_ASSERT_EQUAL(
	    deliver("issue_comment",
	            "sha256=ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
	            "application/json", comment_body, NULL),
	    401);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_auth_failures_total{reason=\"webhook_signature\"}"),
	                before + 6);
	/* nothing reached the subscribers */
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(wf, 400, NULL), 0);
	/* and the right one still works */
	CU_ASSERT_EQUAL(deliver_signed("issue_comment", "application/json", comment_body, NULL),
	                202);
	CU_ASSERT_EQUAL(tacws_ws_wait_type(wf, "workflow_update", 3000, NULL), 0);
	tacws_wsclient_free(wf);
}

static void test_ping_and_bad_bodies(void)
{
	tacws_wsclient *wf = open_feed("workflows", "workflows_update");
	CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
	CU_ASSERT_EQUAL(deliver_signed("ping", "application/json",
	                               "{\"zen\":\"Design for failure.\",\"hook_id\":1}", NULL),
	                200);
	long long bad = tacws_server_metric(fx, "tacws_bad_input_total{kind=\"webhook_body\"}");
	CU_ASSERT_EQUAL(deliver_signed("issues", "application/json", "{\"action\":", NULL), 400);
	CU_ASSERT_EQUAL(deliver_signed("issues", "application/json", "[1,2,3]", NULL), 400);
	CU_ASSERT_EQUAL(deliver_signed("issues", "application/json", "{\"a\":\"\xc3\x28\"}", NULL),
	                400); /* invalid UTF-8 */
	CU_ASSERT_EQUAL(deliver_signed("issues", "application/x-www-form-urlencoded",
	                               "other=1&payloadx=2", NULL),
	                400);
	CU_ASSERT_EQUAL(
	    deliver_signed("issues", "application/x-www-form-urlencoded", "payload=%7B%ZZ", NULL),
	    400);
	CU_ASSERT_EQUAL(deliver_signed(NULL, "application/json", "{}", NULL), 400);
	CU_ASSERT_EQUAL(deliver_signed("Issues; rm -rf", "application/json", "{}", NULL), 400);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_bad_input_total{kind=\"webhook_body\"}"), bad + 7);
	/* oversized: max_body_bytes = 2048 */
	char *big = malloc(3001);
	memset(big, ' ', 3000);
	big[0] = '{';
	big[2999] = '}';
	big[3000] = '\0';
	CU_ASSERT_EQUAL(deliver_signed("issues", "application/json", big, NULL), 413);
	free(big);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(wf, 400, NULL), 0);
	tacws_wsclient_free(wf);
}

/* [webhook.ci]: another path, a token header, the payload passed through. */
static void test_second_source(void)
{
	tacws_wsclient *wf = open_feed("workflows", "workflows_update");
	tacws_wsclient *mon = open_feed("adw-monitor", "adw_monitor_update");
	CU_ASSERT_FATAL(wf && mon);
	long long mon_polls = tacws_server_metric(fx, "tacws_polls_total{feed=\"adw-monitor\"}");
	const char *body = "{\"pipeline\":{\"id\":7,\"status\":\"failed\"}}";
	const char *wrong[] = {"X-CI-Token: guess", "Content-Type: application/json", NULL};
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_post(fx, "/api/v1/hooks/ci", wrong, body, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_PTR_NOT_NULL(r.body ? strstr(r.body, "X-CI-Token") : NULL);
	tacws_http_reply_clear(&r);
	/* GitHub's signature does not open the CI's door */
	char sig[80], h_sig[128];
	edge_github_signature("ci-t0ken", body, strlen(body), sig);
	snprintf(h_sig, sizeof h_sig, "X-Hub-Signature-256: %s", sig);
	const char *github[] = {h_sig, "Content-Type: application/json", NULL};
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_post(fx, "/api/v1/hooks/ci", github, body, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	tacws_http_reply_clear(&r);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(wf, 300, NULL), 0);

	const char *good[] = {"X-CI-Token: ci-t0ken", "Content-Type: application/json", NULL};
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_post(fx, "/api/v1/hooks/ci", good, body, &r), 0);
	CU_ASSERT_EQUAL(r.status, 202);
	CU_ASSERT_STRING_EQUAL(r.body ? r.body : "(none)", "{\"subscribers\":1}");
	tacws_http_reply_clear(&r);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_wait_type(wf, "ci_event", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(tacws_ws_data(m), JSON_C_TO_STRING_PLAIN),
	                       body);
	json_object_put(m);
	CU_ASSERT(wait_polls("adw-monitor", mon_polls, 3000) > mon_polls);
	tacws_wsclient_free(wf);
	tacws_wsclient_free(mon);
}

static const char *repo_ini(const char *dir, const char *secret, char *buf, size_t len)
{
	snprintf(buf, len,
	         "[auth]\ngithub_webhook_secret = %s\n" /* the secret of [webhook.github] */
	         "[webhook.github]\nevent_header = X-GitHub-Event\nignore_events = ping\n"
	         "publish = workflows\nmessage_type = workflow_update\n"
	         "refresh = workflows adw-monitor\n"
	         /* a second source: a CI system with a plain token, its payload as is */
	         "[webhook.ci]\npath = /hooks/ci\nsignature = token\n"
	         "signature_header = X-CI-Token\nsecret = ci-t0ken\ndata = payload\n"
	         "publish = workflows\nmessage_type = ci_event\nrefresh = adw-monitor\n"
	         "[sources]\nrepo_root = %s/repo\n"
	         "[feed.workflows]\nplugin = workflows\ninterval_ms = 60000\n"
	         "[feed.adw-monitor]\nplugin = adw_monitor\ninterval_ms = 60000\n",
	         secret, dir);
	return buf;
}

static void test_disabled_without_secret(void)
{
	tacws_server_fixture *off;
	CU_ASSERT_EQUAL_FATAL(tacws_server_fixture_new(&off), 0);
	char ini[2048];
	tacws_server_config cfg = {
	    .ini = repo_ini(tacws_server_fixture_dir(fx), "", ini, sizeof ini),
	    .log_level = "info",
	};
	CU_ASSERT_EQUAL_FATAL(tacws_server_fixture_start(off, &cfg), 0);
	char sig[80];
	edge_github_signature("", comment_body, strlen(comment_body), sig);
	char h_sig[128];
	snprintf(h_sig, sizeof h_sig, "X-Hub-Signature-256: %s", sig);
	const char *headers[] = {"X-GitHub-Event: issue_comment", h_sig, NULL};
	tacws_http_reply r;
	CU_ASSERT_EQUAL(
	    tacws_server_http_post(off, "/api/v1/webhooks/github", headers, comment_body, &r), 0);
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
	if (tacws_test_write_file(dir, "repo/agents/a1b2c3d4/adw_state.json",
	                          "{\"adw_id\":\"a1b2c3d4\",\"issue_number\":\"42\","
	                          "\"nl_input\":\"Add a dashboard\",\"github_url\":\"\"}"))
		return 1;
	char ini[2048];
	tacws_server_config cfg = {
	    .server_keys = "max_body_bytes = 2048\n",
	    .ini = repo_ini(dir, SECRET, ini, sizeof ini),
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
	    {"a signed issue_comment pushes workflow_update and refreshes", test_issue_comment},
	    {"form-encoded deliveries and other events", test_form_encoded_issue},
	    {"bad, missing and replayed signatures get 401", test_bad_signatures},
	    {"ping, malformed and oversized bodies", test_ping_and_bad_bodies},
	    {"no secret: the endpoint is disabled", test_disabled_without_secret},
	    {"a second source: token header, payload passed through", test_second_source},
	    {NULL, NULL},
	};
	return tacws_test_run("webhook", setup, teardown, cases);
}
