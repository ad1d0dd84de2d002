/* Contract tests for the file and HTTP feeds: each plugin, loaded through the
 * fake host on a fixture tree or a local HTTP service in TAC's shapes, must
 * send a payload its schema (schemas/<feed>.json, written from TAC's frontend
 * types and backend models) accepts, with entries present. */
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "http_fixture.h"
#include "schema_check.h"
#include "testutil.h"

static const char *root;
static tacws_http_fixture *service; /* TAC's backend, trigger service and frontend */
static tacws_http_fixture *gone;    /* stopped: nothing listens on its port */

static char *url_of(tacws_http_fixture *f, const char *path)
{
	static char buf[8][160];
	static int next;
	return tacws_http_fixture_url(f, path, buf[next++ % 8], sizeof buf[0]);
}

/* The payload of feed's snapshot, serialized; fails the test when there is none. */
static char *payload(const char *feed, const char *param)
{
	char *s = fake_host_snapshot_string(feed, param);
	CU_ASSERT_PTR_NOT_NULL(s);
	if (!s)
		fprintf(stderr, "%s: no payload\n", feed);
	return s;
}

static int conforms(const char *schema, const char *json)
{
	char path[512], err[512] = "";
	snprintf(path, sizeof path, "%s/%s.json", CONTRACT_SCHEMA_DIR, schema);
	int rc = schema_check_file(path, json, err, sizeof err);
	if (rc)
		fprintf(stderr, "%s: %s\n", schema, err);
	return rc == 0;
}

static void expect_conforms(const char *schema, const char *json)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_TRUE(conforms(schema, json));
}

/* json with one field replaced (path of object keys, then the new value as
 * JSON): the schema must refuse it, or it could not catch that mismatch. */
static void expect_refused_with(const char *schema, const char *json, const char *const *keys,
                                const char *value)
{
	json_object *doc = json_tokener_parse(json), *at = doc;
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	for (int i = 0; keys[i + 1]; i++) {
		json_object *next;
		if (json_object_is_type(at, json_type_array))
			next = json_object_array_get_idx(at, (size_t)atoi(keys[i]));
		else if (!json_object_object_get_ex(at, keys[i], &next))
			next = NULL;
		CU_ASSERT_PTR_NOT_NULL_FATAL(next);
		at = next;
	}
	const char *last = keys[0];
	for (int i = 0; keys[i]; i++)
		last = keys[i];
	if (value)
		json_object_object_add(at, last, json_tokener_parse(value));
	else
		json_object_object_del(at, last);
	char path[512], err[512] = "";
	snprintf(path, sizeof path, "%s/%s.json", CONTRACT_SCHEMA_DIR, schema);
	CU_ASSERT_EQUAL(schema_check_file(path, json_object_to_json_string(doc), err, sizeof err),
	                -1);
	json_object_put(doc);
}
#define refused(schema, json, value, ...)                                                         \
	expect_refused_with(schema, json, (const char *const[]){__VA_ARGS__, NULL}, value)

static void load(const char *plugin, const char *feed)
{
	char so[512], section[64];
	snprintf(so, sizeof so, "%s/%s.so", PLUGIN_DIR, plugin);
	snprintf(section, sizeof section, "feed.%s", feed);
	fake_host_config_set("sources", "repo_root", root);
	fake_host_config_set(section, "enabled", "true");
	CU_ASSERT_EQUAL_FATAL(fake_host_load(so), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake_host_feed(feed));
}

static void put(const char *rel, const char *text)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(root, rel, text), 0);
}

/* Two runs as TAC's ADW scripts leave them: one finished, one paused mid-way. */
static void write_agents(void)
{
	put("agents/77c90e61/adw_state.json",
	    "{\n  \"adw_id\": \"77c90e61\",\n  \"issue_number\": \"42\",\n"
	    "  \"branch_name\": \"feature-issue-42-adw-77c90e61-dark-mode\",\n"
	    "  \"plan_file\": \"specs/issue-42-adw-77c90e61-sdlc_planner-dark-mode.md\",\n"
	    "  \"issue_class\": \"/feature\",\n  \"worktree_path\": \"/repo/trees/77c90e61\",\n"
	    "  \"backend_port\": 9102,\n  \"frontend_port\": 9202,\n  \"model_set\": \"base\",\n"
	    "  \"all_adws\": [\"adw_plan_iso\", \"adw_build_iso\"],\n"
	    "  \"estimated_cost_total\": 1.25,\n"
	    "  \"estimated_cost_breakdown\": {\"plan\": 0.25, \"build\": 0.5},\n"
	    "  \"workflow_template\": \"adw_sdlc_iso\",\n  \"model_used\": \"sonnet\",\n"
	    "  \"start_time\": \"2026-11-26T10:00:00\",\n  \"end_time\": \"2026-11-26T10:42:00\",\n"
	    "  \"status\": \"completed\",\n  \"nl_input\": \"Add a dark mode toggle\",\n"
	    "  \"github_url\": \"https://github.com/acme/shop/issues/42\"\n}\n");
	put("agents/77c90e61/completed_phases.json",
	    "{\"completed\":[\"Plan\",\"Build\",\"Test\"],\"current\":null,"
	    "\"last_updated\":\"2026-11-26T10:42:00\"}");
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents/77c90e61/adw_plan_iso"), 0);
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents/77c90e61/adw_test_iso"), 0);
	put("agents/a1b2c3d4/adw_state.json",
	    "{\n  \"adw_id\": \"a1b2c3d4\",\n  \"issue_number\": \"43\",\n"
	    "  \"issue_class\": \"/bug\",\n  \"workflow_template\": \"adw_plan_build_iso\",\n"
	    "  \"start_time\": \"2026-11-26T11:00:00\",\n  \"nl_input\": \"Fix the login\"\n}\n");
	put("agents/a1b2c3d4/completed_phases.json", "{\"completed\":[\"Plan\"],\"current\":\"Build\"}");
	put("agents/a1b2c3d4/error.log", "build failed: missing module\n");
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "trees/a1b2c3d4"), 0);
}

/* A SQLite database at path, with sql run in it. */
static void make_database(const char *path, const char *sql)
{
	sqlite3 *db;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	char *err = NULL;
	CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK);
	if (err)
		fprintf(stderr, "sqlite: %s\n", err);
	sqlite3_free(err);
	sqlite3_close(db);
}

static void test_workflows(void)
{
	write_agents();
	load("workflows", "workflows");
	char *s = payload("workflows", NULL);
	expect_conforms("workflows", s);
	refused("workflows", s, "null", "0", "github_url");
	refused("workflows", s, "\"42\"", "0", "issue_number");
	free(s);
	fake_host_unload();
}

static void test_adw_state(void)
{
	write_agents();
	load("adw_state", "adw-state");
	char *s = payload("adw-state", "77c90e61");
	expect_conforms("adw-state", s);
	refused("adw-state", s, "\"9102\"", "backend_port");
	free(s);
	fake_host_unload();
}

static void test_adw_monitor(void)
{
	write_agents();
	load("adw_monitor", "adw-monitor");
	char *s = payload("adw-monitor", NULL);
	expect_conforms("adw-monitor", s);
	/* The shape TAC's cards crashed on: a count of phases. */
	refused("adw-monitor", s, "3", "workflows", "0", "phases_completed");
	refused("adw-monitor", s, "null", "workflows", "0", "workflow_template");
	refused("adw-monitor", s, NULL, "workflows", "0", "pr_number");
	free(s);
	fake_host_unload();

	/* With TAC's task_logs (its columns), phases and costs come from the table. */
	char db[512], url[600];
	snprintf(db, sizeof db, "%s/tasks.db", root);
	snprintf(url, sizeof url, "sqlite:%s", db);
	make_database(db,
	              "CREATE TABLE IF NOT EXISTS task_logs (id INTEGER PRIMARY KEY, adw_id TEXT, "
	              "issue_number INTEGER, workflow_template TEXT, phase_name TEXT, "
	              "phase_number INTEGER, phase_status TEXT, log_message TEXT, error_message TEXT, "
	              "started_at TEXT, completed_at TEXT, duration_seconds REAL, tokens_used "
	              "INTEGER, cost_usd REAL, tool_calls TEXT, captured_at TEXT, created_at TEXT);"
	              "DELETE FROM task_logs;"
	              "INSERT INTO task_logs (adw_id, phase_name, phase_number, phase_status, "
	              "cost_usd, created_at) VALUES "
	              "('a1b2c3d4', 'plan', 1, 'completed', 0.25, '2026-11-26T11:01:00'),"
	              "('a1b2c3d4', 'validate', 2, 'completed', 0.05, '2026-11-26T11:02:00'),"
	              "('a1b2c3d4', 'build', 3, 'started', NULL, '2026-11-26T11:03:00');");
	fake_host_config_set("sources", "database", url);
	load("adw_monitor", "adw-monitor");
	s = payload("adw-monitor", NULL);
	expect_conforms("adw-monitor", s);
	CU_ASSERT_TRUE(s && strstr(s, "\"current_phase\":\"build\",\"phase_progress\":27.8"));
	CU_ASSERT_TRUE(s && strstr(s, "\"current_cost\":0.3,"));
	CU_ASSERT_TRUE(s && strstr(s, "\"phases_completed\":[\"plan\",\"validate\"]"));
	free(s);
	fake_host_unload();
}

static const char *webhook_answer =
    "{\"status\":\"healthy\",\"uptime\":{\"seconds\":7260,\"hours\":2.02,\"human\":\"2h 1m\"},"
    "\"stats\":{\"total_received\":5,\"successful\":4,\"failed\":1,\"success_rate\":\"80.0%\"},"
    "\"recent_failures\":[{\"issue\":41,\"timestamp\":\"2026-11-26T09:00:00\","
    "\"error\":\"Invalid signature\"}],\"last_successful\":{\"issue\":42,\"adw_id\":"
    "\"77c90e61\",\"workflow\":\"adw_sdlc_iso\",\"timestamp\":\"2026-11-26T10:00:00\"}}";


static void check(const char *key, const char *type, const char *k2, const char *v2)
{
	char section[64];
	snprintf(section, sizeof section, "check.%s", key);
	fake_host_config_set(section, "type", type);
	fake_host_config_set(section, k2, v2);
	fake_host_config_set(section, "timeout_ms", "1000");
}

static void test_system_status(void)
{
	char db[512], dburl[600];
	snprintf(db, sizeof db, "%s/database.db", root);
	snprintf(dburl, sizeof dburl, "sqlite:%s", db);
	make_database(db, "CREATE TABLE IF NOT EXISTS phase_queue (id INTEGER)");
	tacws_http_fixture_set(service, "/api/v1/health", 200, NULL, "{\"status\":\"ok\"}", 0);
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, webhook_answer, 0);
	tacws_http_fixture_set(service, "/", 200, "text/html", "<html></html>", 0);
	check("backend_api", "http", "url", url_of(service, "/api/v1/health"));
	check("database", "database", "database", dburl);
	check("webhook", "http", "url", url_of(service, "/webhook-status"));
	check("frontend", "http", "url", url_of(service, "/"));
	check("cloudflare_tunnel", "process", "pattern", "cloudflared tunnel run --contract-test");
	check("github_webhook", "http", "url", url_of(gone, "/health"));
	load("system_status", "system-status");
	char *s = payload("system-status", NULL);
	expect_conforms("system-status", s);
	refused("system-status", s, NULL, "services", "cloudflare_tunnel");
	refused("system-status", s, "\"unknown\"", "overall_status");
	refused("system-status", s, "\"up\"", "services", "webhook", "status");
	free(s);
	fake_host_unload();
}

static void test_webhook_status(void)
{
	tacws_http_fixture_set(service, "/webhook-status", 200, NULL, webhook_answer, 0);
	fake_host_config_set("sources", "webhook_status_url", url_of(service, "/webhook-status"));
	load("webhook_status", "webhook-status");
	char *s = payload("webhook-status", NULL);
	expect_conforms("webhook-status", s);
	refused("webhook-status", s, NULL, "last_successful", "issue");
	refused("webhook-status", s, "80.0", "stats", "success_rate");
	free(s);
	fake_host_unload();

	/* Unreachable: the error shape TAC's panel copes with. */
	fake_host_config_set("sources", "webhook_status_url", url_of(gone, "/webhook-status"));
	load("webhook_status", "webhook-status");
	s = payload("webhook-status", NULL);
	expect_conforms("webhook-status", s);
	CU_ASSERT_TRUE(s && strstr(s, "\"status\":\"error\""));
	free(s);
	fake_host_unload();
}

static void test_qc_metrics(void)
{
	put("QC_METRICS_ENHANCED.json",
	    "{\n  \"coverage\": {\"overall_coverage\": 71.5, \"backend_coverage\": 78.2,\n"
	    "    \"frontend_coverage\": 60.1, \"adws_coverage\": 55.0, \"total_tests\": 1027},\n"
	    "  \"naming\": {\"total_files_checked\": 245, \"compliant_files\": 0, \"violations\": [\n"
	    "    {\"file\": \"app/server/X.py\", \"issue\": \"Python file should use snake_case\",\n"
	    "     \"severity\": \"warning\"}], \"compliance_rate\": 95},\n"
	    "  \"file_structure\": {\"total_files\": 245, \"oversized_files\": [],\n"
	    "    \"long_files\": [{\"file\": \"app/client/src/components/AdwMonitorCard.tsx\",\n"
	    "     \"lines\": 914}], \"avg_file_size_kb\": 0.0},\n"
	    "  \"linting\": {\"backend_issues\": 111, \"frontend_issues\": 196, \"backend_errors\": 3,\n"
	    "    \"backend_warnings\": 20, \"frontend_errors\": 4, \"frontend_warnings\": 31,\n"
	    "    \"total_issues\": 2052},\n"
	    "  \"overall_score\": 72.4,\n  \"last_updated\": \"2026-11-26T10:30:00.123456\",\n"
	    "  \"audit_metadata\": {\"total_issues\": 40, \"project_health\": \"fair\"},\n"
	    "  \"critical_issues\": [], \"strengths\": [\"tests\"], \"weaknesses\": [],\n"
	    "  \"remediation_phases\": []\n}\n");
	load("qc_metrics", "qc-metrics");
	char *s = payload("qc-metrics", NULL);
	expect_conforms("qc-metrics", s);
	refused("qc-metrics", s, NULL, "coverage", "total_tests");
	refused("qc-metrics", s, "\"72.4\"", "overall_score");
	free(s);
	fake_host_unload();
}

static void test_routes(void)
{
	tacws_http_fixture_set(
	    service, "/openapi.json", 200, NULL,
	    "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"tac\",\"version\":\"1\"},\"paths\":{"
	    "\"/api/v1/system-status\":{\"get\":{\"tags\":[\"System\"],\"summary\":\"Get System "
	    "Status\",\"operationId\":\"get_system_status_api_v1_system_status_get\"}},"
	    "\"/api/v1/queue/{queue_id}\":{\"delete\":{\"summary\":\"Remove\",\"operationId\":"
	    "\"remove_api_v1_queue__queue_id__delete\"}}}}",
	    0);
	fake_host_config_set("sources", "backend_url", url_of(service, ""));
	load("routes", "routes");
	char *s = payload("routes", NULL);
	expect_conforms("routes", s);
	refused("routes", s, "\"get\"", "0", "method");
	refused("routes", s, "null", "0", "name");
	free(s);
	fake_host_unload();
}

static int setup(void)
{
	if (tacws_test_tmpdir_init() || tacws_http_fixture_start(&service) ||
	    tacws_http_fixture_start(&gone) || tacws_http_fixture_stop(gone))
		return 1;
	root = tacws_test_dir;
	return 0;
}

static int teardown(void)
{
	tacws_http_fixture_free(service);
	tacws_http_fixture_free(gone);
	return tacws_test_tmpdir_cleanup();
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"workflows", test_workflows},
	    {"adw-state", test_adw_state},
	    {"adw-monitor", test_adw_monitor},
	    {"system-status", test_system_status},
	    {"webhook-status", test_webhook_status},
	    {"qc-metrics", test_qc_metrics},
	    {"routes", test_routes},
	    {NULL, NULL},
	};
	return tacws_test_run("file_feeds_contract", setup, teardown, cases);
}
