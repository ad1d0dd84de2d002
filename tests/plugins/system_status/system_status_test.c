#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_host.h"
#include "http_fixture.h"
#include "testutil.h"

static tacws_http_fixture *web;    /* answers the http checks */
static tacws_http_fixture *closed; /* stopped: its port refuses connections */
static char *tmp;
static char db_path[512];
static pid_t sleeper;
/* The sleeper's command line ("sleep 37.<pid>"), unique to this test run. */
static char sleeper_pattern[64];

static char *url_of(tacws_http_fixture *f, const char *path)
{
	static char buf[4][128];
	static int next;
	char *b = buf[next++ % 4];
	return tacws_http_fixture_url(f, path, b, sizeof buf[0]);
}

static void set_check(const char *key, const char *name, const char *value)
{
	char section[64];
	snprintf(section, sizeof section, "check.%s", key);
	fake_host_config_set(section, name, value);
}

static int load(void)
{
	fake_host_config_set("feed.system-status", "enabled", "true");
	return fake_host_load(PLUGIN_PATH);
}

static int snap(char **out, char *err, size_t errlen)
{
	json_object *data = NULL;
	int rc = fake_host_snapshot("system-status", NULL, &data, err, errlen);
	*out = data ? strdup(json_object_to_json_string_ext(
	                  data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
	            : NULL;
	json_object_put(data);
	return rc;
}

/* Snapshot parsed back, for tests that look at single fields. */
static json_object *snap_json(void)
{
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	json_object *j = s ? json_tokener_parse(s) : NULL;
	free(s);
	return j;
}

/* j's value at a path of keys, as text; NULL when missing or JSON null. */
static const char *field_at(json_object *j, const char *const *path)
{
	json_object *v = j;
	for (int i = 0; path[i]; i++)
		if (!json_object_object_get_ex(v, path[i], &v))
			return NULL;
	return v ? json_object_get_string(v) : NULL;
}
#define field(j, ...) field_at(j, (const char *const[]){__VA_ARGS__, NULL})

static void test_registers_feed(void)
{
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	const tacws_feed_desc *f = fake_host_feed("system-status");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(f->endpoint, "system-status");
	CU_ASSERT_STRING_EQUAL(f->message_type, "system_status_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 5000);
	fake_host_unload();
}

static void test_no_checks(void)
{
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	char err[256], *s;
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* As TAC: nothing unhealthy is healthy overall. */
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "{\"overall_status\":\"healthy\",\"services\":{},\"summary\":"
	                                 "{\"healthy_services\":0,\"total_services\":0,"
	                                 "\"health_percentage\":0.0},\"timestamp\":\""));
	free(s);
	fake_host_unload();
}

static void expect_refused(const char *key, const char *name, const char *value)
{
	set_check("bad", "type", "tcp");
	set_check("bad", "host", "127.0.0.1");
	set_check("bad", "port", "5432");
	set_check("bad", key, value);
	if (name)
		set_check("bad", name, "x");
	CU_ASSERT_EQUAL(load(), -EINVAL);
	fake_host_unload();
}

static void test_bad_config_refused(void)
{
	expect_refused("type", NULL, "ftp");
	expect_refused("port", NULL, "70000");
	expect_refused("port", NULL, "54x");
	expect_refused("timeout_ms", NULL, "-1");
	expect_refused("host", NULL, "");
	expect_refused("type", "colour", "tcp");
	expect_refused("type", NULL, "http");    /* no url */
	expect_refused("type", NULL, "process"); /* no pattern */
}

static void configure_all_healthy(void)
{
	tacws_http_fixture_set(web, "/health", 200, NULL,
	                       "{\"status\":\"ok\",\"uptime_seconds\":11520}", 0);
	char port[16], dburl[600];
	snprintf(port, sizeof port, "%d", tacws_http_fixture_port(web));
	snprintf(dburl, sizeof dburl, "sqlite:%s", db_path);
	set_check("web", "type", "http");
	set_check("web", "name", "Frontend");
	set_check("web", "url", url_of(web, "/health"));
	set_check("pg", "type", "tcp");
	set_check("pg", "host", "127.0.0.1");
	set_check("pg", "port", port);
	set_check("tunnel", "type", "process");
	set_check("tunnel", "name", "Tunnel");
	set_check("tunnel", "pattern", sleeper_pattern);
	set_check("db", "type", "database");
	set_check("db", "name", "Database");
	fake_host_config_set("sources", "database", dburl);
}

static void test_all_healthy_exact_payload(void)
{
	configure_all_healthy();
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	char err[256], *s, want[2048];
	int port = tacws_http_fixture_port(web);
	snprintf(want, sizeof want,
	         "{\"overall_status\":\"healthy\",\"services\":{"
	         "\"web\":{\"name\":\"Frontend\",\"status\":\"healthy\",\"uptime_seconds\":11520,"
	         "\"uptime_human\":\"3h 12m\",\"message\":\"HTTP 200\",\"details\":{\"url\":"
	         "\"http://127.0.0.1:%d/health\",\"status_code\":200}},"
	         "\"pg\":{\"name\":\"pg\",\"status\":\"healthy\",\"uptime_seconds\":null,"
	         "\"uptime_human\":null,\"message\":\"connection opened\",\"details\":{\"host\":"
	         "\"127.0.0.1\",\"port\":%d}},"
	         "\"tunnel\":{\"name\":\"Tunnel\",\"status\":\"healthy\",\"uptime_seconds\":null,"
	         "\"uptime_human\":null,\"message\":\"process running\",\"details\":{\"pattern\":"
	         "\"%s\",\"pid\":%d}},"
	         "\"db\":{\"name\":\"Database\",\"status\":\"healthy\",\"uptime_seconds\":null,"
	         "\"uptime_human\":null,\"message\":\"connected\",\"details\":{\"engine\":"
	         "\"sqlite\",\"tables\":2}}},"
	         "\"summary\":{\"healthy_services\":4,\"total_services\":4,"
	         "\"health_percentage\":100.0},\"timestamp\":\"",
	         port, port, sleeper_pattern, (int)sleeper);
	CU_ASSERT_EQUAL(snap(&s, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(strncmp(s, want, strlen(want)), 0);
	if (strncmp(s, want, strlen(want)))
		fprintf(stderr, "got      %s\nexpected %s\n", s, want);
	free(s);
	fake_host_unload();
}

static void test_unchanged_state_identical_payloads(void)
{
	configure_all_healthy();
	set_check("down", "type", "http");
	set_check("down", "url", url_of(closed, "/"));
	set_check("gone", "type", "process");
	set_check("gone", "pattern", "no-such-process-tacws-4f1e");
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	char err[256], *a, *b;
	CU_ASSERT_EQUAL(snap(&a, err, sizeof err), 0);
	usleep(1100 * 1000); /* a second later: nothing time-based may differ */
	CU_ASSERT_EQUAL(snap(&b, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(a, b);
	free(a);
	free(b);
	fake_host_unload();
}

static void test_all_failing(void)
{
	tacws_http_fixture_set(web, "/broken", 503, "text/plain", "down", 0);
	char port[16], dburl[600];
	snprintf(port, sizeof port, "%d", tacws_http_fixture_port(closed));
	snprintf(dburl, sizeof dburl, "sqlite:%s/missing.db", tmp);
	set_check("web", "type", "http");
	set_check("web", "url", url_of(web, "/broken"));
	set_check("api", "type", "http");
	set_check("api", "url", url_of(closed, "/health"));
	set_check("pg", "type", "tcp");
	set_check("pg", "host", "127.0.0.1");
	set_check("pg", "port", port);
	set_check("tunnel", "type", "process");
	set_check("tunnel", "pattern", "no-such-process-tacws-4f1e");
	set_check("db", "type", "database");
	set_check("db", "database", dburl);
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	json_object *j = snap_json();
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(field(j, "overall_status", NULL, NULL), "error");
	const char *keys[] = {"web", "api", "pg", "tunnel", "db"};
	for (int i = 0; i < 5; i++) {
		const char *st = field(j, "services", keys[i], "status");
		CU_ASSERT_PTR_NOT_NULL(st);
		if (st)
			CU_ASSERT_STRING_EQUAL(st, "error");
		if (!st || strcmp(st, "error"))
			fprintf(stderr, "%s: %s\n", keys[i], json_object_to_json_string(j));
	}
	CU_ASSERT_STRING_EQUAL(field(j, "services", "web", "message"), "HTTP 503");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(field(j, "services", "api", "message"), "connection refused"));
	CU_ASSERT_STRING_EQUAL(field(j, "services", "pg", "message"), "Connection refused");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "tunnel", "message"),
	                       "no live process matches");
	CU_ASSERT_PTR_NOT_NULL(strstr(field(j, "services", "db", "message"), "missing.db"));
	CU_ASSERT_STRING_EQUAL(field(j, "summary", "healthy_services", NULL), "0");
	CU_ASSERT_STRING_EQUAL(field(j, "summary", "total_services", NULL), "5");
	CU_ASSERT_STRING_EQUAL(field(j, "summary", "health_percentage", NULL), "0.0");
	json_object_put(j);
	fake_host_unload();
}

static void test_overall_is_worst(void)
{
	tacws_http_fixture_set(web, "/ok", 200, "text/html", "<html></html>", 0);
	tacws_http_fixture_set(web, "/slow", 200, NULL, "{\"status\":\"degraded\"}", 0);
	tacws_http_fixture_set(web, "/bad", 500, NULL, "{}", 0);
	set_check("a", "type", "http");
	set_check("a", "url", url_of(web, "/ok"));
	set_check("b", "type", "http");
	set_check("b", "url", url_of(web, "/slow"));
	set_check("c", "type", "http");
	set_check("c", "url", url_of(web, "/ok"));
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	json_object *j = snap_json();
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(field(j, "overall_status", NULL, NULL), "degraded");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "a", "status"), "healthy");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "b", "status"), "degraded");
	CU_ASSERT_STRING_EQUAL(field(j, "summary", "health_percentage", NULL), "66.7");
	json_object_put(j);

	/* One check turns bad: overall follows. */
	tacws_http_fixture_set(web, "/ok", 500, NULL, "{}", 0);
	j = snap_json();
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(field(j, "overall_status", NULL, NULL), "error");
	CU_ASSERT_STRING_EQUAL(field(j, "summary", "healthy_services", NULL), "0");
	json_object_put(j);
	fake_host_unload();
}

static void test_checks_run_in_parallel(void)
{
	tacws_http_fixture_set(web, "/hang", 200, NULL, "{}", 4000);
	const char *keys[] = {"one", "two", "three"};
	for (int i = 0; i < 3; i++) {
		set_check(keys[i], "type", "http");
		set_check(keys[i], "url", url_of(web, "/hang"));
		set_check(keys[i], "timeout_ms", "1000");
	}
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	long long t0 = tacws_test_now_ms();
	json_object *j = snap_json();
	long long took = tacws_test_now_ms() - t0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(took >= 900 && took < 2000);
	if (took >= 2000)
		fprintf(stderr, "three 1 s checks took %lld ms\n", took);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_STRING_EQUAL(field(j, "services", keys[i], "status"), "error");
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(field(j, "services", keys[i], "message"), "no answer within 1000 ms"));
	}
	CU_ASSERT_STRING_EQUAL(field(j, "overall_status", NULL, NULL), "error");
	json_object_put(j);
	fake_host_unload();
}

static void test_process_check_follows_process(void)
{
	pid_t child = fork();
	if (child == 0) {
		execlp("sleep", "sleep", "41.5", (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_FATAL(child > 0);
	CU_ASSERT_EQUAL_FATAL(tacws_test_wait_cmdline(child, "sleep 41.5", 5000), 0);
	set_check("p", "type", "process");
	set_check("p", "pattern", "sleep 41.5");
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	json_object *j = snap_json();
	CU_ASSERT_STRING_EQUAL(field(j, "services", "p", "status"), "healthy");
	json_object_put(j);
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	j = snap_json();
	CU_ASSERT_STRING_EQUAL(field(j, "services", "p", "status"), "error");
	json_object_put(j);
	fake_host_unload();
}

static void test_uptime_human(void)
{
	static const struct {
		const char *body, *seconds, *human;
	} cases[] = {
	    {"{\"uptime_seconds\":42}", "42", "0m"},
	    {"{\"uptime_seconds\":125}", "125", "2m"},
	    {"{\"uptime_seconds\":97200}", "97200", "1d 3h 0m"},
	    {"{\"uptime_seconds\":90.10}", "90.10", "1m"},
	    /* TAC's trigger service: its own text is kept. */
	    {"{\"uptime\":{\"seconds\":7260,\"hours\":2.02,\"human\":\"2h 1m\"}}", "7260", "2h 1m"},
	    {"{\"uptime\":{\"seconds\":3600}}", "3600", "1h 0m"},
	    {"{\"uptime_seconds\":\"soon\"}", NULL, NULL},
	    {"not json", NULL, NULL},
	};
	set_check("u", "type", "http");
	set_check("u", "url", url_of(web, "/uptime"));
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		tacws_http_fixture_set(web, "/uptime", 200, NULL, cases[i].body, 0);
		json_object *j = snap_json();
		const char *sec = field(j, "services", "u", "uptime_seconds");
		const char *human = field(j, "services", "u", "uptime_human");
		if (cases[i].seconds) {
			CU_ASSERT_STRING_EQUAL(sec, cases[i].seconds);
			CU_ASSERT_STRING_EQUAL(human, cases[i].human);
		} else {
			CU_ASSERT_PTR_NULL(sec);
			CU_ASSERT_PTR_NULL(human);
		}
		CU_ASSERT_STRING_EQUAL(field(j, "services", "u", "status"), "healthy");
		json_object_put(j);
	}
	fake_host_unload();
}

/* TAC's trigger service answers /webhook-status: its status, uptime and counts
 * make the webhook card as TAC's own health check does. */
static void test_webhook_service_check(void)
{
	tacws_http_fixture_set(web, "/webhook-status", 200, NULL,
	                       "{\"status\":\"degraded\",\"uptime\":{\"seconds\":60,\"hours\":0.02,"
	                       "\"human\":\"0h 1m\"},\"stats\":{\"total_received\":10,"
	                       "\"successful\":7,\"failed\":3,\"success_rate\":\"70.0%\"}}",
	                       0);
	set_check("webhook", "type", "http");
	set_check("webhook", "name", "Webhook Service");
	set_check("webhook", "url", url_of(web, "/webhook-status"));
	/* No name of its own: TAC's name for its key. */
	set_check("github_webhook", "type", "http");
	set_check("github_webhook", "url", url_of(web, "/webhook-status"));
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	json_object *j = snap_json();
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(field(j, "services", "webhook", "status"), "degraded");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "webhook", "uptime_human"), "0h 1m");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "webhook", "details", "webhooks_processed"),
	                       "7/10");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "webhook", "details", "failed"), "3");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "github_webhook", "name"), "GitHub Webhook");
	CU_ASSERT_STRING_EQUAL(field(j, "overall_status", NULL, NULL), "degraded");
	json_object_put(j);
	fake_host_unload();
}

static void test_body_too_big(void)
{
	char *big = malloc(100001);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	tacws_http_fixture_set(web, "/big", 200, "text/plain", big, 0);
	free(big);
	set_check("big", "type", "http");
	set_check("big", "url", url_of(web, "/big"));
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	json_object *j = snap_json();
	CU_ASSERT_STRING_EQUAL(field(j, "services", "big", "status"), "error");
	CU_ASSERT_PTR_NOT_NULL(strstr(field(j, "services", "big", "message"), "larger than"));
	json_object_put(j);
	fake_host_unload();
}

/* A "database" that accepts and never answers: libpq waits longer than the
 * check may, so the poll ends at its own deadline and unload still waits for
 * the thread. */
static void test_check_overrunning_its_timeout(void)
{
	char url[128];
	snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%d/x?sslmode=disable",
	         tacws_http_fixture_port(web));
	set_check("stuck", "type", "database");
	set_check("stuck", "database", url);
	set_check("stuck", "timeout_ms", "300");
	set_check("fast", "type", "process");
	set_check("fast", "pattern", sleeper_pattern);
	set_check("fast", "timeout_ms", "300");
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	long long t0 = tacws_test_now_ms();
	json_object *j = snap_json();
	long long took = tacws_test_now_ms() - t0;
	CU_ASSERT(took >= 700 && took < 1400);
	if (took < 700 || took >= 1400)
		fprintf(stderr, "took %lld ms ", took);
	CU_ASSERT_STRING_EQUAL(field(j, "services", "stuck", "status"), "error");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "stuck", "message"), "no answer within 300 ms");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "fast", "status"), "healthy");
	json_object_put(j);

	/* The stuck check has not returned (libpq waits 2 s at least): the next
	 * poll does not start it again nor wait for it, and the others still run. */
	t0 = tacws_test_now_ms();
	j = snap_json();
	took = tacws_test_now_ms() - t0;
	CU_ASSERT(took < 700);
	if (took >= 700)
		fprintf(stderr, "second poll took %lld ms ", took);
	CU_ASSERT_STRING_EQUAL(field(j, "services", "stuck", "status"), "error");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "stuck", "message"),
	                       "no answer within 300 ms (still running)");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "fast", "status"), "healthy");
	json_object_put(j);
	fake_host_unload();
}

/* Runs only as system_status_test_pg, against the shared test cluster. */
static void test_postgres_database_check(void)
{
	const char *pg = getenv("TACWS_TEST_PG_URL");
	if (!pg) {
		fprintf(stderr,
		        "(no TACWS_TEST_PG_URL: PostgreSQL covered by system_status_test_pg) ");
		return;
	}
	char refused[128];
	snprintf(refused, sizeof refused, "postgresql://postgres@127.0.0.1:%d/tacws_test",
	         tacws_http_fixture_port(closed));
	set_check("pg", "type", "database");
	set_check("pg", "database", pg);
	set_check("gone", "type", "database");
	set_check("gone", "database", refused);
	set_check("gone", "timeout_ms", "1000");
	CU_ASSERT_EQUAL_FATAL(load(), 0);
	json_object *j = snap_json();
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(field(j, "services", "pg", "status"), "healthy");
	CU_ASSERT_STRING_EQUAL(field(j, "services", "pg", "details", "engine"), "postgresql");
	CU_ASSERT_PTR_NOT_NULL(field(j, "services", "pg", "details", "tables"));
	CU_ASSERT_STRING_EQUAL(field(j, "services", "gone", "status"), "error");
	CU_ASSERT_STRING_EQUAL(field(j, "overall_status", NULL, NULL), "error");
	fprintf(stderr, "%s ", json_object_to_json_string(j));
	json_object_put(j);
	fake_host_unload();
}

static int make_sqlite(const char *path)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	int rc = sqlite3_exec(db,
	                      "CREATE TABLE phase_queue(id INTEGER); "
	                      "CREATE TABLE workflow_history(id INTEGER);",
	                      NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int suite_init(void)
{
	tmp = tacws_test_mkdtemp();
	if (!tmp)
		return -1;
	snprintf(db_path, sizeof db_path, "%s/database.db", tmp);
	if (make_sqlite(db_path) || tacws_http_fixture_start(&web) ||
	    tacws_http_fixture_start(&closed) || tacws_http_fixture_stop(closed))
		return -1;
	snprintf(sleeper_pattern, sizeof sleeper_pattern, "sleep 37.%d", (int)getpid());
	sleeper = fork();
	if (sleeper == 0) {
		execlp("sleep", "sleep", sleeper_pattern + 6, (char *)NULL);
		_exit(127);
	}
	return sleeper > 0 && !tacws_test_wait_cmdline(sleeper, sleeper_pattern, 5000) ? 0 : -1;
}

static int suite_cleanup(void)
{
	if (sleeper > 0) {
		kill(sleeper, SIGTERM);
		waitpid(sleeper, NULL, 0);
	}
	tacws_http_fixture_free(web);
	tacws_http_fixture_free(closed);
	tacws_test_rmtree(tmp);
	free(tmp);
	return 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"registers the system-status feed", test_registers_feed},
	    {"no checks: healthy, no services", test_no_checks},
	    {"bad check configuration refused", test_bad_config_refused},
	    {"four check types healthy, exact payload", test_all_healthy_exact_payload},
	    {"unchanged state, byte-identical payloads", test_unchanged_state_identical_payloads},
	    {"four check types failing", test_all_failing},
	    {"overall is the worst status", test_overall_is_worst},
	    {"checks run in parallel within their timeouts", test_checks_run_in_parallel},
	    {"process check follows the process", test_process_check_follows_process},
	    {"uptime passed through and made human", test_uptime_human},
	    {"database check on PostgreSQL", test_postgres_database_check},
	    {"http body larger than the cap", test_body_too_big},
	    {"TAC's webhook service as a check", test_webhook_service_check},
	    {"a check overrunning its timeout", test_check_overrunning_its_timeout},
	    {NULL, NULL},
	};
	return tacws_test_run("system_status", suite_init, suite_cleanup, cases);
}
