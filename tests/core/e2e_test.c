/*
 * The real tacwsd over loopback, with the testfeed plugin: what a subscriber
 * sees, what the scheduler does, and the HTTP status endpoints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#define PUBLISH_TOKEN "e2e-publish-token"

static tacws_server_fixture *fx;
static int port;
static char alpha_file[1024], beta_file[1024], slow_file[1024];

/* atomic: a poll never sees half a file */
static void write_json(const char *path, const char *text)
{
	CU_ASSERT_EQUAL(tacws_test_replace_file(path, text), 0);
}

static tacws_wsclient *open_feed(const char *feed)
{
	tacws_wsclient *c = NULL;
	int status = 0;
	int rc = tacws_ws_connect(port, NULL, feed, NULL, NULL, TACWS_WS_TIMEOUT_MS, &c, &status);
	CU_ASSERT_EQUAL(rc, 0);
	return rc ? NULL : c;
}

static void test_initial_snapshot_and_change(void)
{
	write_json(alpha_file, "{\"v\":1}");
	tacws_wsclient *c = open_feed("alpha");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	long long seq = tacws_ws_seq(m);
	CU_ASSERT(seq >= 1);
	CU_ASSERT_PTR_NOT_NULL(tacws_ws_timestamp(m));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(tacws_ws_data(m),
							      JSON_C_TO_STRING_PLAIN),
			       "{\"v\":1}");
	json_object_put(m);

	/* unchanged: nothing, though the feed is polled every 200 ms */
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 700, NULL), 0);

	/* one change: exactly one message, seq + 1 */
	write_json(alpha_file, "{\"v\":2}");
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(tacws_ws_data(m),
							      JSON_C_TO_STRING_PLAIN),
			       "{\"v\":2}");
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 700, NULL), 0);
	tacws_wsclient_free(c);
}

static void test_no_delivery_across_feeds(void)
{
	write_json(beta_file, "{\"b\":1}");
	tacws_wsclient *a = open_feed("alpha");
	tacws_wsclient *b = open_feed("beta");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(tacws_ws_expect(a, "test_update", 3000, NULL), 0);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(b, "test_update", 3000, &m), 0);
	long long seq = tacws_ws_seq(m);
	json_object_put(m);
	write_json(beta_file, "{\"b\":2}");
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(b, "test_update", 3000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
	json_object_put(m);
	/* alpha's subscriber hears nothing of beta's change */
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(a, 600, NULL), 0);
	tacws_wsclient_free(a);
	tacws_wsclient_free(b);
}

/* 200 clients of a topic nobody watched before: one poll serves them all. */
static void test_200_clients_one_poll(void)
{
	enum { N = 200 };
	tacws_wsgroup *g;
	CU_ASSERT_EQUAL_FATAL(tacws_wsgroup_new(&g), 0);
	long long polls_before = tacws_server_metric(fx, "tacws_polls_total{feed=\"slow\"}");
	CU_ASSERT_EQUAL(polls_before, 0); /* no subscriber yet: never polled */
	tacws_wsclient *c[N];
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(tacws_ws_start(port, g, "slow", NULL, NULL, &c[i]), 0);
	int got = 0;
	for (int i = 0; i < N; i++) {
		json_object *m;
		if (!tacws_ws_expect(c[i], "test_update", 10000, &m)) {
			got += tacws_ws_seq(m) == 1;
			json_object_put(m);
		}
	}
	CU_ASSERT_EQUAL(got, N);
	/* the slow feed takes 300 ms a poll with a 5 s interval: the first poll served all */
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_polls_total{feed=\"slow\"}"), 1);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_changes_total{feed=\"slow\"}"), 1);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_feed_subscribers{feed=\"slow\"}"), N);
	for (int i = 0; i < N; i++)
		tacws_wsclient_free(c[i]);
	tacws_wsgroup_free(g);
}

static void test_refused_upgrades(void)
{
	static const struct {
		const char *feed;
		int status;
	} cases[] = {
		{"nope", 404},	      {"alpha/extra", 404}, {"item", 400},
		{"item/a.b", 400},    {"item/a%20b", 400},	    {"item/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 400},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tacws_wsclient *c = NULL;
		int status = 0;
		int rc = tacws_ws_connect(port, NULL, cases[i].feed, NULL, NULL, 3000, &c, &status);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		if (status != cases[i].status)
			fprintf(stderr, "%s: got HTTP %d, want %d\n", cases[i].feed, status,
				cases[i].status);
		CU_ASSERT_EQUAL(status, cases[i].status);
		tacws_wsclient_free(c);
	}
	/* a good parameter is served, with the parameter in the envelope */
	tacws_wsclient *c = open_feed("item/77c90e61");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	json_object *m;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "item_update", 3000, &m), 0);
	json_object *id;
	CU_ASSERT_TRUE(json_object_object_get_ex(m, "id", &id));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(id), "77c90e61");
	json_object_put(m);
	tacws_wsclient_free(c);
}

static void test_ping_and_client_messages(void)
{
	tacws_wsclient *c = open_feed("alpha");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 3000, NULL), 0);
	long long ignored = tacws_server_metric(fx, "tacws_client_messages_ignored_total");
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"client_ready\"}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "not json at all"), 0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"dance\"}"), 0);
	CU_ASSERT_EQUAL(tacws_ws_ping(c, 1732615860512LL, 3000), 0);
	/* client_ready is accepted silently; the other two are ignored and counted */
	CU_ASSERT_EQUAL(tacws_server_metric(fx, "tacws_client_messages_ignored_total"), ignored + 2);
	CU_ASSERT_EQUAL(tacws_wsclient_get_state(c), TACWS_WSCLIENT_OPEN);
	tacws_wsclient_free(c);
}

static void test_oversized_frame(void)
{
	tacws_wsclient *c = open_feed("alpha");
	tacws_wsclient *other = open_feed("alpha");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	char *big = malloc(5000);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	CU_ASSERT_EQUAL(tacws_wsclient_send(c, big, 4999, 0), 0);
	free(big);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(c, 3000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(c), 1009);
	/* everyone else is still served */
	CU_ASSERT_EQUAL(tacws_ws_ping(other, 7, 3000), 0);
	CU_ASSERT(tacws_server_metric(fx, "tacws_oversized_closes_total") >= 1);
	tacws_wsclient_free(c);
	tacws_wsclient_free(other);
}

/* A failing snapshot backs off, shows its error, and recovers by itself. */
static void test_failure_backoff_and_recovery(void)
{
	const char *errors = "tacws_poll_errors_total{feed=\"beta\"}";
	const char *polls = "tacws_polls_total{feed=\"beta\"}";
	unlink(beta_file);
	long long errors_before = tacws_server_metric(fx, errors);
	tacws_wsclient *c = open_feed("beta");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	json_object *m;
	/* the cached snapshot of the earlier test comes at once */
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	long long seq = tacws_ws_seq(m);
	json_object_put(m);
	/* the stale cache is polled at once and fails; with a 200 ms interval, the next try
	 * still waits 2 s (twice the 1 s floor) */
	long long first = tacws_server_wait_metric_at_least(fx, errors, errors_before + 1, 3000);
	CU_ASSERT_EQUAL_FATAL(first, errors_before + 1);
	long long first_at = tacws_test_now_ms();
	CU_ASSERT_EQUAL_FATAL(tacws_server_wait_metric_at_least(fx, errors, first + 1, 5000),
	                      first + 1);
	long long gap = tacws_test_now_ms() - first_at;
	if (gap < 1500 || gap > 3500)
		fprintf(stderr, "between the first two failures: %lld ms\n", gap);
	CU_ASSERT(gap >= 1500 && gap <= 3500);
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx, "/api/v1/feeds", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cannot read"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"failing\":true"));
	tacws_http_reply_clear(&r);
	write_json(beta_file, "{\"b\":3}");
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 6000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
	json_object_put(m);
	/* healthy again: five more polls come at the 200 ms interval, without errors */
	long long errors_after = tacws_server_metric(fx, errors);
	long long polls_before = tacws_server_metric(fx, polls);
	long long start = tacws_test_now_ms();
	CU_ASSERT(tacws_server_wait_metric_at_least(fx, polls, polls_before + 5, 3000) >=
	          polls_before + 5);
	long long took = tacws_test_now_ms() - start;
	if (took < 700 || took > 2000)
		fprintf(stderr, "five polls took %lld ms\n", took);
	CU_ASSERT(took >= 700 && took <= 2000);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, errors), errors_after);
	tacws_wsclient_free(c);
}

static void refresh_lagging(void)
{
	static const char *const auth[] = {"Authorization: Bearer " PUBLISH_TOKEN, NULL};
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(
	    tacws_server_http_post(fx, "/api/v1/feeds/lagging/refresh", auth, "", &r), 0);
	CU_ASSERT_EQUAL(r.status, 202);
	tacws_http_reply_clear(&r);
}

/* "lagging" takes 300 ms a snapshot and has a 50 ms interval, and nobody watched it before.
 * Subscribers joining during its first poll, refreshes, and a resubscription while a poll
 * runs must never start a second poll of the topic: the plugin fails one that overlaps
 * with -EDEADLK, which /metrics counts. Once nobody watches it, its polls stop. */
static void test_no_overlap_and_no_idle_polls(void)
{
	const char *polls = "tacws_polls_total{feed=\"lagging\"}";
	const char *errors = "tacws_poll_errors_total{feed=\"lagging\"}";
	const char *subscribers = "tacws_feed_subscribers{feed=\"lagging\"}";
	CU_ASSERT_EQUAL_FATAL(tacws_server_metric(fx, polls), 0); /* cold: never polled */
	enum { N = 3 };
	tacws_wsclient *c[N];
	for (int i = 0; i < N; i++) {
		c[i] = open_feed("lagging");
		CU_ASSERT_PTR_NOT_NULL_FATAL(c[i]);
		refresh_lagging();
	}
	for (int i = 0; i < N; i++) {
		json_object *m;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c[i], "test_update", 5000, &m), 0);
		CU_ASSERT_EQUAL(tacws_ws_seq(m), 1);
		json_object_put(m);
	}
	/* Refreshes and a last subscriber leaving and coming back, while polls follow
	 * each other back to back, until a dozen have run. */
	long long deadline = tacws_test_now_ms() + 20000;
	for (int round = 0; tacws_server_metric(fx, polls) < 12; round++) {
		CU_ASSERT_FATAL(tacws_test_now_ms() < deadline);
		refresh_lagging();
		if (round % 4 == 0) {
			for (int i = 0; i < N; i++)
				tacws_wsclient_free(c[i]);
			long long left = tacws_server_wait_metric_equal(fx, subscribers, 0, 5000);
			CU_ASSERT_EQUAL(left, 0);
			for (int i = 0; i < N; i++)
				CU_ASSERT_PTR_NOT_NULL_FATAL(c[i] = open_feed("lagging"));
		}
		usleep(20 * 1000); /* pacing only: the loop's condition is the wait */
	}
	CU_ASSERT_EQUAL(tacws_server_metric(fx, errors), 0);
	for (int i = 0; i < N; i++)
		tacws_wsclient_free(c[i]);

	/* nobody subscribes now: the poll under way may finish, no other starts. An absence has
	 * no event of its own, so alpha's polls (every 200 ms while watched) are the clock: in
	 * five of them lagging would poll three times or more. */
	CU_ASSERT_EQUAL_FATAL(tacws_server_wait_metric_equal(fx, subscribers, 0, 5000), 0);
	long long idle_from = tacws_server_metric(fx, polls);
	tacws_wsclient *clock = open_feed("alpha");
	CU_ASSERT_PTR_NOT_NULL_FATAL(clock);
	const char *alpha_polls = "tacws_polls_total{feed=\"alpha\"}";
	long long ticks = tacws_server_metric(fx, alpha_polls) + 5;
	CU_ASSERT_EQUAL(tacws_server_wait_metric_at_least(fx, alpha_polls, ticks, 5000), ticks);
	tacws_wsclient_free(clock);
	CU_ASSERT(tacws_server_metric(fx, polls) <= idle_from + 1);
	CU_ASSERT_EQUAL(tacws_server_metric(fx, errors), 0);
}

static void test_http_endpoints(void)
{
	tacws_http_reply r;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx, "/healthz", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"ok\""));
	tacws_http_reply_clear(&r);

	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx, "/api/v1/feeds", &r), 0);
	json_object *o = json_tokener_parse(r.body);
	json_object *feeds;
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, "feeds", &feeds));
	CU_ASSERT_EQUAL(json_object_array_length(feeds), 5); /* alpha, beta, item, slow, lagging */
	json_object *first = json_object_array_get_idx(feeds, 0), *v;
	static const char *const keys[] = {"endpoint", "type",	      "interval_ms", "subscribers",
					   "seq",      "last_change", "last_error"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(first, keys[i], &v));
	json_object_put(o);
	tacws_http_reply_clear(&r);

	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx, "/metrics", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "# TYPE tacws_poll_duration_seconds histogram"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "tacws_poll_duration_seconds_bucket{feed=\"alpha\",le=\"+Inf\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "tacws_dropped_clients_total"));
	tacws_http_reply_clear(&r);

	/* the dashboard folder is served, and nothing outside it */
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx, "/", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "test dashboard"));
	tacws_http_reply_clear(&r);
	static const char *const evil[] = {"/../tacws.ini", "/%2e%2e/tacws.ini", "/..%2ftacws.ini",
					   "/nothing-here.html", "/api/v1/nope"};
	for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
		CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx, evil[i], &r), 0);
		CU_ASSERT(r.status == 404 || r.status == 403 || r.status == 400);
		CU_ASSERT_PTR_NULL(strstr(r.body, "[feed.alpha]"));
		tacws_http_reply_clear(&r);
	}
}

/* A TCP connection to tacwsd that sends nothing (as browsers open spares). */
static int raw_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_sigterm_closes_with_1001(void)
{
	tacws_wsclient *c = open_feed("alpha");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 3000, NULL), 0);
	/* connections whose request never came are closed too, without fault */
	int idle[2] = {raw_connect(), raw_connect()};
	CU_ASSERT(idle[0] >= 0 && idle[1] >= 0);
	CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx, "tacws_handshakes_pending", 2, 2000), 2);
	long long start = tacws_test_now_ms();
	/* stop() services nothing, so the client reads its close frame afterwards */
	CU_ASSERT_EQUAL(tacws_server_fixture_stop(fx, 5000), 0);
	CU_ASSERT(tacws_test_now_ms() - start < 5000);
	CU_ASSERT_EQUAL(tacws_wsclient_wait_closed(c, 3000), 0);
	CU_ASSERT_EQUAL(tacws_wsclient_close_code(c), 1001);
	tacws_wsclient_free(c);
	for (int i = 0; i < 2; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	char *log = tacws_server_fixture_log(fx);
	CU_ASSERT_PTR_NOT_NULL(log);
	CU_ASSERT_PTR_NULL(strstr(log ? log : "", "ERROR: AddressSanitizer"));
	CU_ASSERT_PTR_NULL(strstr(log ? log : "", "LeakSanitizer"));
	free(log);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	const char *dir = tacws_server_fixture_dir(fx);
	snprintf(alpha_file, sizeof alpha_file, "%s/alpha.json", dir);
	snprintf(beta_file, sizeof beta_file, "%s/beta.json", dir);
	snprintf(slow_file, sizeof slow_file, "%s/slow.json", dir);
	FILE *f = fopen(slow_file, "w");
	if (!f)
		return 1;
	fputs("{\"slow\":true}", f);
	fclose(f);
	if (tacws_test_write_file(dir, "web/index.html", "<title>test dashboard</title>"))
		return 1;
	char ini[8192];
	snprintf(ini, sizeof ini,
	         "[feed.alpha]\nplugin = testfeed\nfile = %s\n"
	         "[feed.beta]\nplugin = testfeed\nfile = %s\n"
	         "[feed.item]\nplugin = testfeed\nfile = %s\n"
	         "[feed.slow]\nplugin = testfeed\nfile = %s\ndelay_ms = 300\ninterval_ms = 5000\n"
	         "[feed.lagging]\nplugin = testfeed\nfile = %s\ndelay_ms = 300\ninterval_ms = 50\n"
	         "[auth]\npublish_token = " PUBLISH_TOKEN "\n",
	         alpha_file, beta_file, alpha_file, slow_file, slow_file);
	char server_keys[4200];
	snprintf(server_keys, sizeof server_keys, "web_dir = %s/web\nmax_inbound_bytes = 4096\n",
		 dir);
	if (tacws_test_write_file(dir, "alpha.json", "{\"v\":0}") ||
	    tacws_test_write_file(dir, "beta.json", "{\"b\":0}"))
		return 1;
	return (port = tacws_server_fixture_start_ini(fx, TEST_PLUGIN_DIR, server_keys, ini)) < 0;
}

static int teardown(void)
{
	tacws_server_fixture_free(fx);
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
		{"initial snapshot, one message per change", test_initial_snapshot_and_change},
		{"no delivery across feeds", test_no_delivery_across_feeds},
		{"200 clients from one poll", test_200_clients_one_poll},
		{"404 and bad parameters refused", test_refused_upgrades},
		{"ping/pong and other client messages", test_ping_and_client_messages},
		{"oversized frame closes with 1009", test_oversized_frame},
		{"failing snapshot backs off and recovers", test_failure_backoff_and_recovery},
		{"no overlap, no polls without subscribers", test_no_overlap_and_no_idle_polls},
		{"status endpoints and static files", test_http_endpoints},
		{"SIGTERM closes clients with 1001", test_sigterm_closes_with_1001},
		{NULL, NULL},
	};
	return tacws_test_run("tacwsd end to end", setup, teardown, cases);
}
