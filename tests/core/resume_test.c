/*
 * Resume by seq on one node, against a real tacwsd: a client that comes back
 * with the seq and epoch it holds gets "resumed" and no snapshot when nothing
 * changed, the current snapshot once when it did, and "recovered": false plus
 * the snapshot when the topic's history is not the one it knew (another epoch,
 * a seq the topic never had). Missed events are replayed after an offset given
 * in a subscription object or a per-feed socket's query. A keeper socket stays subscribed so the topic
 * keeps polling while the resuming client is away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#define CHANGES "tacws_changes_total{feed=\"alpha\"}"

static tacws_server_fixture *fx;
static int port;
static char alpha_file[1024];
static tacws_wsclient *keeper;

static const char *str_of(json_object *m, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(m, key, &v) ? json_object_get_string(v) : "";
}

/* Subscribes on a new multiplexed socket with feeds (a JSON array). */
static tacws_wsclient *subscribe(const char *feeds)
{
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	char msg[512];
	snprintf(msg, sizeof msg, "{\"type\":\"subscribe\",\"feeds\":%s}", feeds);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, msg), 0);
	return c;
}

/* The seq and epoch a first subscriber learns from its snapshot. */
static long long learn(char epoch[64])
{
	tacws_wsclient *c = subscribe("[\"alpha\"]");
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	long long seq = tacws_ws_seq(m);
	snprintf(epoch, 64, "%s", str_of(m, "epoch"));
	CU_ASSERT_EQUAL(strlen(epoch), 16);
	json_object_put(m);
	tacws_wsclient_free(c);
	return seq;
}

static tacws_wsclient *resume(long long since, const char *epoch)
{
	char feeds[256];
	snprintf(feeds, sizeof feeds, "[{\"topic\":\"alpha\",\"since\":%lld,\"epoch\":\"%s\"}]", since,
	         epoch);
	return subscribe(feeds);
}

static void test_unchanged_resumes(void)
{
	char epoch[64];
	long long seq = learn(epoch);
	tacws_wsclient *c = resume(seq, epoch);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "topic"), "alpha");
	CU_ASSERT_STRING_EQUAL(str_of(m, "epoch"), epoch);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "true");
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0); /* no snapshot */
	tacws_wsclient_free(c);
}

static void test_changed_sends_snapshot_once(void)
{
	char epoch[64];
	long long seq = learn(epoch);
	long long changes = tacws_server_metric(fx, CHANGES);
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, "{\"v\":\"changed\"}"), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_server_wait_metric_at_least(fx, CHANGES, changes + 1, 10000),
	                      changes + 1);
	tacws_wsclient *c = resume(seq, epoch);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0);
	tacws_wsclient_free(c);
}

/* Another epoch, or a seq this topic never reached: recovered false, then the snapshot. */
static void expect_not_recovered(long long since, const char *epoch, long long seq)
{
	tacws_wsclient *c = resume(since, epoch);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "false");
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0);
	tacws_wsclient_free(c);
}

static void test_unknown_history(void)
{
	char epoch[64];
	long long seq = learn(epoch);
	expect_not_recovered(seq, "another-epoch", seq);
	expect_not_recovered(seq + 5, epoch, seq);
}

static long long int_of(json_object *m, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(m, key, &v) ? json_object_get_int64(v) : -1;
}

static void publish(int n)
{
	static const char *const headers[] = {"Authorization: Bearer pub", NULL};
	char body[128];
	snprintf(body, sizeof body, "{\"feed\":\"alpha\",\"type\":\"alert\",\"data\":{\"n\":%d}}", n);
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_post(fx, "/api/v1/publish", headers, body, &r), 0);
	CU_ASSERT_EQUAL(r.status, 202);
	tacws_http_reply_clear(&r);
}

/* A client that saw the snapshot and event n=first: its seq, epoch and event offset. */
static long long learn_offset(int first, long long *seq, char epoch[64])
{
	tacws_wsclient *c = subscribe("[\"alpha\"]");
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	*seq = tacws_ws_seq(m);
	snprintf(epoch, 64, "%s", str_of(m, "epoch"));
	json_object_put(m);
	publish(first);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
	long long offset = int_of(m, "offset");
	CU_ASSERT_TRUE(offset > 0);
	json_object_put(m);
	tacws_wsclient_free(c);
	return offset;
}

static tacws_wsclient *resume_events(long long since, const char *epoch, long long offset)
{
	char feeds[256];
	snprintf(feeds, sizeof feeds,
	         "[{\"topic\":\"alpha\",\"since\":%lld,\"epoch\":\"%s\",\"offset\":%lld}]",
	         since, epoch, offset);
	return subscribe(feeds);
}

static void test_missed_events_replayed(void)
{
	char epoch[64];
	long long seq;
	long long offset = learn_offset(1, &seq, epoch);
	publish(2); /* while away */
	publish(3);
	tacws_wsclient *c = resume_events(seq, epoch, offset);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "true");
	json_object_put(m);
	for (int n = 2; n <= 3; n++) {
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
		CU_ASSERT_EQUAL(int_of(m, "offset"), offset + n - 1);
		CU_ASSERT_EQUAL(int_of(json_object_object_get(m, "data"), "n"), n);
		json_object_put(m);
	}
	publish(4); /* live, after the replay: once */
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
	CU_ASSERT_EQUAL(int_of(m, "offset"), offset + 3);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0);
	tacws_wsclient_free(c);
}

/* A per-feed socket resuming with ?since=&epoch=&offset=: the same replay. */
static void test_missed_events_replayed_per_feed(void)
{
	char epoch[64];
	long long seq;
	long long offset = learn_offset(1, &seq, epoch);
	publish(2); /* while away */
	publish(3);
	char query[160];
	snprintf(query, sizeof query, "since=%lld&epoch=%s&offset=%lld", seq, epoch, offset);
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, NULL, "alpha", query, NULL, 3000, &c, NULL), 0);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "true");
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq);
	json_object_put(m);
	for (int n = 2; n <= 3; n++) {
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
		CU_ASSERT_EQUAL(int_of(m, "offset"), offset + n - 1);
		CU_ASSERT_EQUAL(int_of(json_object_object_get(m, "data"), "n"), n);
		json_object_put(m);
	}
	publish(4); /* live, after the replay: once */
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
	CU_ASSERT_EQUAL(int_of(m, "offset"), offset + 3);
	CU_ASSERT_EQUAL(int_of(json_object_object_get(m, "data"), "n"), 4);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0);
	tacws_wsclient_free(c);

	/* an offset the topic has not reached yet: recovered false and the snapshot */
	snprintf(query, sizeof query, "since=%lld&epoch=%s&offset=%lld", seq, epoch, offset + 50);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port, NULL, "alpha", query, NULL, 3000, &c, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "false");
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 3000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0);
	tacws_wsclient_free(c);
}

/* history_max = 3: four events while away, the first trimmed. */
static void test_trimmed_events_not_recovered(void)
{
	char epoch[64];
	long long seq;
	long long offset = learn_offset(1, &seq, epoch);
	for (int n = 2; n <= 5; n++)
		publish(n);
	tacws_wsclient *c = resume_events(seq, epoch, offset);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "false");
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 3000, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 400, NULL), 0); /* no events: they are not all here */
	tacws_wsclient_free(c);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	snprintf(alpha_file, sizeof alpha_file, "%s/alpha.json", tacws_server_fixture_dir(fx));
	if (tacws_test_replace_file(alpha_file, "{\"v\":0}"))
		return 1;
	char ini[2048];
	snprintf(ini, sizeof ini,
	         "[auth]\npublish_token = pub\n[cluster]\nhistory_max = 3\n"
	         "[feed.alpha]\nplugin = testfeed\nfile = %s\ninterval_ms = 50\n",
	         alpha_file);
	if ((port = tacws_server_fixture_start_ini(fx, TEST_PLUGIN_DIR, NULL, ini)) < 0)
		return 1;
	keeper = NULL;
	if (tacws_ws_connect(port, NULL, "alpha", NULL, NULL, 3000, &keeper, NULL))
		return 1;
	return tacws_ws_expect(keeper, "test_update", 3000, NULL) != 0;
}

static int teardown(void)
{
	tacws_wsclient_free(keeper);
	return tacws_server_fixture_finish(fx);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"nothing changed: resumed, no snapshot", test_unchanged_resumes},
	    {"changed: the snapshot once", test_changed_sends_snapshot_once},
	    {"another epoch or an unknown seq: recovered false and the snapshot",
	     test_unknown_history},
	    {"missed events replayed in order, then live ones once", test_missed_events_replayed},
	    {"per-feed ?offset=: missed events replayed in order, then live ones once",
	     test_missed_events_replayed_per_feed},
	    {"events trimmed from the history: recovered false and the snapshot",
	     test_trimmed_events_not_recovered},
	    {NULL, NULL},
	};
	return tacws_test_run("resume", setup, teardown, cases);
}
