/* The history plugin through the fake host, on SQLite and on PostgreSQL (TACWS_TEST_DB=pg). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dbfix.h"
#include "fake_host.h"
#include "testutil.h"

#define FEED "workflow-history"

static dbfix fix;

static int suite_init(void)
{
	return dbfix_open(&fix) || dbfix_exec_conf(&fix, "schema.sql") ? -1 : 0;
}

static int suite_cleanup(void)
{
	dbfix_close(&fix);
	return 0;
}

static void load(const char *channel)
{
	dbfix_load_plugin(&fix, PLUGIN_PATH, FEED, channel);
}

static void reset(void)
{
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DELETE FROM workflow_history"), 0);
}

static json_object *snapshot(void)
{
	return dbfix_snapshot(FEED);
}

static int snapshot_error(char *err, size_t errlen)
{
	json_object *data = NULL;
	err[0] = 0;
	int rc = fake_host_snapshot(FEED, NULL, &data, err, errlen);
	CU_ASSERT_PTR_NULL(data);
	json_object_put(data);
	return rc;
}

/* Compares the exact serialization (written without "\/" escapes for
 * readability) and shows the payload when it differs. */
static void expect_json(const char *got, const char *want)
{
	json_object *obj = json_tokener_parse(got);
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
	                                                           JSON_C_TO_STRING_NOSLASHESCAPE);
	if (strcmp(text, want))
		fprintf(stderr, "\n got: %s\nwant: %s\n", text, want);
	CU_ASSERT_STRING_EQUAL(text, want);
	json_object_put(obj);
}

static void test_feed(void)
{
	load(NULL);
	const tacws_feed_desc *f = fake_host_feed(FEED);
	CU_ASSERT_STRING_EQUAL(f->endpoint, "workflow-history");
	CU_ASSERT_STRING_EQUAL(f->message_type, "workflow_history_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 5000);
	CU_ASSERT_STRING_EQUAL(f->config_keys[0], "listen_channel");
	fake_host_unload();
}

static const char *const columns =
    "INSERT INTO workflow_history (id, adw_id, issue_number, issue_class, nl_input, "
    "github_url, branch_name, worktree_path, workflow_template, model_used, status, "
    "start_time, end_time, duration_seconds, error_message, phase_count, current_phase, "
    "estimated_cost_total, actual_cost_total, created_at, updated_at) VALUES ";

static void test_payload(void)
{
	reset();
	CU_ASSERT_EQUAL_FATAL(
	    dbfix_execf(
	        &fix,
	        "%s (1, 'a1', 11, '/feature', 'Add login', "
	        "'https://github.com/o/r/issues/11', 'feat-11', '/r/trees/a1', "
	        "'adw_sdlc_iso', 'sonnet', 'completed', '2026-11-20T10:00:00Z', "
	        "'2026-11-20T10:01:40Z', 100, NULL, 9, 'cleanup', 1, 1.25, "
	        "'2020-11-20T10:00:00Z', '2026-11-20T10:01:40Z');"
	        "%s (2, 'a2', 12, '/bug', 'Fix it', NULL, NULL, NULL, 'adw_plan_build_iso', "
	        "'opus', 'failed', NULL, NULL, 50, 'tests failed', 3, 'test', NULL, 0.5, "
	        "'2020-11-21T10:00:00Z', '2026-11-21T10:00:00Z');"
	        "%s (3, 'a3', NULL, NULL, NULL, NULL, NULL, NULL, 'adw_sdlc_iso', NULL, "
	        "'running', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
	        "'2020-11-22T10:00:00Z', '2026-11-22T10:00:00Z');"
	        "%s (4, 'a4', 14, '/chore', 'Tidy', NULL, NULL, NULL, 'adw_sdlc_iso', "
	        "'sonnet', 'completed', NULL, NULL, 200, NULL, 9, 'cleanup', 2.5, 2.1, "
	        "'2020-11-22T10:00:00Z', '2026-11-22T11:00:00Z');",
	        columns, columns, columns, columns),
	    0);
	load(NULL);
	char *s = fake_host_snapshot_string(FEED, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	json_object *data = json_tokener_parse(s);
	json_object *rows = json_object_object_get(data, "workflows");
	/* Newest first; a3 and a4 share created_at, the larger id comes first. */
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rows), 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(
		                    json_object_array_get_idx(rows, i), "id")),
		                4 - i);
	/* Every field of TAC's WorkflowHistoryItem, in its order: the model's defaults
	 * for the columns this table lacks (NULL costs are 0.0, as the model wants). */
	expect_json(
	    json_object_to_json_string_ext(json_object_array_get_idx(rows, 3),
	                                   JSON_C_TO_STRING_PLAIN),
	    "{\"id\":1,\"adw_id\":\"a1\",\"issue_number\":11,\"nl_input\":\"Add login\","
	    "\"github_url\":\"https://github.com/o/r/issues/11\","
	    "\"workflow_template\":\"adw_sdlc_iso\",\"model_used\":\"sonnet\","
	    "\"status\":\"completed\",\"branch_name\":\"feat-11\",\"plan_file\":null,"
	    "\"issue_class\":\"/feature\",\"start_time\":\"2026-11-20T10:00:00Z\","
	    "\"end_time\":\"2026-11-20T10:01:40Z\",\"duration_seconds\":100,"
	    "\"created_at\":\"2020-11-20T10:00:00Z\",\"updated_at\":\"2026-11-20T10:01:40Z\","
	    "\"error_message\":null,\"phase_count\":9,\"current_phase\":\"cleanup\","
	    "\"success_rate\":null,\"retry_count\":0,\"steps_completed\":0,\"steps_total\":0,"
	    "\"worktree_path\":\"/r/trees/a1\",\"backend_port\":null,\"frontend_port\":null,"
	    "\"concurrent_workflows\":0,\"worktree_reused\":false,\"input_tokens\":0,"
	    "\"output_tokens\":0,\"cached_tokens\":0,\"cache_hit_tokens\":0,"
	    "\"cache_miss_tokens\":0,\"total_tokens\":0,\"cache_efficiency_percent\":0.0,"
	    "\"estimated_cost_total\":1.0,\"actual_cost_total\":1.25,"
	    "\"estimated_cost_per_step\":0.0,\"actual_cost_per_step\":0.0,"
	    "\"cost_per_token\":0.0,\"structured_input\":null,\"cost_breakdown\":null,"
	    "\"token_breakdown\":null,\"phase_durations\":null,\"idle_time_seconds\":null,"
	    "\"bottleneck_phase\":null,\"error_category\":null,\"retry_reasons\":null,"
	    "\"error_phase_distribution\":null,\"recovery_time_seconds\":null,"
	    "\"complexity_estimated\":null,\"complexity_actual\":null,\"hour_of_day\":-1,"
	    "\"day_of_week\":-1,\"nl_input_clarity_score\":0.0,\"cost_efficiency_score\":0.0,"
	    "\"performance_score\":0.0,\"quality_score\":0.0,\"scoring_version\":\"1.0\","
	    "\"anomaly_flags\":[],\"optimization_recommendations\":[]}");
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_object_get(
	                           json_object_array_get_idx(rows, 1), "actual_cost_total")),
	                       0.0, 0);
	/* As TAC's get_history_analytics: durations of completed runs only, costs above 0,
	 * NULL models and templates left out; the 2020 rows are outside both trend windows. */
	expect_json(json_object_to_json_string_ext(json_object_object_get(data, "analytics"),
	                                           JSON_C_TO_STRING_PLAIN),
	            "{\"total_workflows\":4,\"completed_workflows\":2,\"failed_workflows\":1,"
	            "\"avg_duration_seconds\":150.0,\"success_rate_percent\":50.0,"
	            "\"workflows_by_model\":{\"opus\":1,\"sonnet\":2},"
	            "\"workflows_by_template\":{\"adw_plan_build_iso\":1,\"adw_sdlc_iso\":3},"
	            "\"workflows_by_status\":{\"completed\":2,\"failed\":1,\"running\":1},"
	            "\"avg_cost\":1.2833333333333334,\"total_cost\":3.85,"
	            "\"avg_cost_per_completion\":1.2833333333333334,\"cost_trend_7day\":0.0,"
	            "\"cost_trend_30day\":0.0,\"avg_tokens\":0.0,\"avg_cache_efficiency\":0.0}");
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(data, "total_count")), 4);
	json_object_put(data);
	char *again = fake_host_snapshot_string(FEED, NULL);
	CU_ASSERT_STRING_EQUAL(s, again);
	free(again);
	free(s);
	fake_host_unload();
}

static void test_empty(void)
{
	reset();
	load(NULL);
	char *s = fake_host_snapshot_string(FEED, NULL);
	CU_ASSERT_STRING_EQUAL(
	    s, "{\"workflows\":[],\"total_count\":0,\"analytics\":{\"total_workflows\":0,"
	       "\"completed_workflows\":0,\"failed_workflows\":0,\"avg_duration_seconds\":0.0,"
	       "\"success_rate_percent\":0.0,\"workflows_by_model\":{},"
	       "\"workflows_by_template\":{},\"workflows_by_status\":{},\"avg_cost\":0.0,"
	       "\"total_cost\":0.0,\"avg_cost_per_completion\":0.0,\"cost_trend_7day\":0.0,"
	       "\"cost_trend_30day\":0.0,\"avg_tokens\":0.0,\"avg_cache_efficiency\":0.0}}");
	free(s);
	fake_host_unload();
}

static double get_double(json_object *obj, const char *key)
{
	return json_object_get_double(json_object_object_get(obj, key));
}

static void test_newest_50(void)
{
	reset();
	/* 60 runs, two per day: ids 1..60, every third one failed. */
	for (int id = 1; id <= 60; id++)
		CU_ASSERT_EQUAL_FATAL(
		    dbfix_execf(&fix,
		                "%s (%d, 'w%02d', %d, NULL, NULL, NULL, NULL, NULL, 't%d', "
		                "'m%d', '%s', NULL, NULL, %d, NULL, 9, NULL, NULL, %d.%02d, "
		                "'2026-10-%02dT12:00:00Z', 'u')",
		                columns, id, id, id, id % 2, id % 3,
		                id % 3 ? "completed" : "failed", id * 10, id / 10, id % 10,
		                (id + 1) / 2),
		    0);
	load(NULL);
	json_object *data = snapshot();
	json_object *rows = json_object_object_get(data, "workflows");
	CU_ASSERT_EQUAL(json_object_array_length(rows), 50);
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(data, "total_count")), 60);
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(
		                    json_object_array_get_idx(rows, i), "id")),
		                60 - (int)i);

	json_object *a = json_object_object_get(data, "analytics");
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(a, "total_workflows")), 60);
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(a, "completed_workflows")), 40);
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(a, "failed_workflows")), 20);
	/* completed runs only: ids not divisible by 3, durations id * 10, mean 300; 40/60 */
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "avg_duration_seconds"), 300.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "success_rate_percent"), 40.0 / 60 * 100, 1e-12);
	/* costs id/10 + (id%10)/100: sum = 0.1 * 1830 ... computed the same way here */
	double sum = 0;
	for (int id = 1; id <= 60; id++)
		sum += id / 10 + (id % 10) / 100.0;
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "total_cost"), sum, 1e-4);
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "avg_cost"), sum / 60, 1e-4);
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(json_object_object_get(a, "workflows_by_model"),
	                                   JSON_C_TO_STRING_PLAIN),
	    "{\"m0\":20,\"m1\":20,\"m2\":20}");
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(json_object_object_get(a, "workflows_by_template"),
	                                   JSON_C_TO_STRING_PLAIN),
	    "{\"t0\":30,\"t1\":30}");
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(json_object_object_get(a, "workflows_by_status"),
	                                   JSON_C_TO_STRING_PLAIN),
	    "{\"completed\":40,\"failed\":20}");
	json_object_put(data);
	fake_host_unload();
}

/* The cost trends compare the last 7 (30) days with the 7 (30) before, over finished
 * runs with a cost, as TAC computes them; dates relative to now keep this stable. */
static void test_trends(void)
{
	reset();
	static const struct {
		int days_ago;
		const char *status;
		double cost;
	} runs[] = {
	    {1, "completed", 3.0},  {2, "failed", 1.0},     {3, "running", 50.0},
	    {10, "completed", 1.0}, {20, "completed", 4.0}, {40, "failed", 2.0},
	};
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		/* Both engines read this text; PostgreSQL's cast and SQLite's text compare agree.
		 */
		time_t t = time(NULL) - runs[i].days_ago * 86400L;
		char when[32];
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
		CU_ASSERT_EQUAL_FATAL(
		    dbfix_execf(
		        &fix,
		        "INSERT INTO workflow_history (id, adw_id, status, actual_cost_total, "
		        "created_at, updated_at) VALUES (%zu, 'r%zu', '%s', %g, '%s', 'u')",
		        i + 1, i, runs[i].status, runs[i].cost, when),
		    0);
	}
	if (fix.pg) /* NOW() is compared in the session's time zone, as TAC's backend does */
		CU_ASSERT_EQUAL_FATAL(
		    dbfix_exec(&fix, "ALTER DATABASE tacws_test SET TIME ZONE 'UTC'"), 0);
	load(NULL);
	json_object *data = snapshot();
	json_object *a = json_object_object_get(data, "analytics");
	/* last 7 days: 3, 1 (the running 50 does not count); the 7 before: 1 */
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "cost_trend_7day"), (2.0 - 1.0) / 1.0 * 100, 1e-9);
	/* last 30 days: 3, 1, 1, 4 (mean 2.25); the 30 before: 2 */
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "cost_trend_30day"), (2.25 - 2.0) / 2.0 * 100, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "avg_cost_per_completion"), 11.0 / 5, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(get_double(a, "avg_cost"), 61.0 / 6, 1e-9);
	json_object_put(data);
	fake_host_unload();
}

static void test_wrong_schema(void)
{
	char err[256];
	reset();
	load(NULL);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE workflow_history"), 0);
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "workflow_history: no such table");
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	json_object_put(snapshot());
	/* A table with almost nothing: still served, every missing field at its default. */
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE workflow_history; CREATE TABLE "
	                                       "workflow_history (id INTEGER, adw_id TEXT, "
	                                       "created_at TEXT); INSERT INTO workflow_history "
	                                       "VALUES (1, 'x', 'c')"),
	                      0);
	json_object *data = snapshot();
	json_object *row = json_object_array_get_idx(json_object_object_get(data, "workflows"), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(row, "adw_id")), "x");
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(row, "hour_of_day")), -1);
	CU_ASSERT(json_object_is_type(json_object_object_get(row, "status"), json_type_null));
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(json_object_object_get(data, "analytics"),
	                                   JSON_C_TO_STRING_PLAIN),
	    "{\"total_workflows\":1,\"completed_workflows\":0,\"failed_workflows\":0,"
	    "\"avg_duration_seconds\":0.0,\"success_rate_percent\":0.0,\"workflows_by_model\":{},"
	    "\"workflows_by_template\":{},\"workflows_by_status\":{\"null\":1},\"avg_cost\":0.0,"
	    "\"total_cost\":0.0,\"avg_cost_per_completion\":0.0,\"cost_trend_7day\":0.0,"
	    "\"cost_trend_30day\":0.0,\"avg_tokens\":0.0,\"avg_cache_efficiency\":0.0}");
	json_object_put(data);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE workflow_history"), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	json_object_put(snapshot());
	fake_host_unload();
}

static void test_missing_or_down(void)
{
	char err[512], path[4096], moved[4096];
	reset();
	if (fix.pg) {
		load(NULL);
		json_object_put(snapshot());
		CU_ASSERT_EQUAL_FATAL(dbfix_pg_stop(&fix), 0);
		CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ECONNREFUSED);
		CU_ASSERT_EQUAL_FATAL(dbfix_pg_start(&fix), 0);
	} else {
		snprintf(path, sizeof path, "%s/db/database.db", fix.dir);
		snprintf(moved, sizeof moved, "%s/db/moved.db", fix.dir);
		CU_ASSERT_EQUAL_FATAL(rename(path, moved), 0);
		load(NULL);
		CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ENOENT);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file or directory"));
		CU_ASSERT_EQUAL_FATAL(rename(moved, path), 0);
		/* Locked by a writer: a clear error after the busy timeout, then fine. */
		CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "BEGIN EXCLUSIVE"), 0);
		CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -EBUSY);
		CU_ASSERT_STRING_EQUAL(err, "database is locked");
		CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "COMMIT"), 0);
	}
	json_object_put(snapshot());
	fake_host_unload();
}

static void test_listen(void)
{
	reset();
	if (!fix.pg)
		return;
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "postgres-notify.sql"), 0);
	load("tacws_history");
	char sql[512];
	snprintf(sql, sizeof sql,
	         "%s (1, 'n1', 1, NULL, NULL, NULL, NULL, NULL, 't', 'm', 'running', NULL, NULL, "
	         "NULL, NULL, NULL, NULL, NULL, NULL, 'c', 'u')",
	         columns);
	dbfix_check_notify(&fix, FEED, sql);
	fake_host_unload();
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"feed", test_feed},
	    {"payload", test_payload},
	    {"empty", test_empty},
	    {"newest 50", test_newest_50},
	    {"trends", test_trends},
	    {"wrong schema", test_wrong_schema},
	    {"missing or down", test_missing_or_down},
	    {"listen", test_listen},
	    {NULL, NULL},
	};
	return tacws_test_run(getenv("TACWS_TEST_DB") ? "history (pg)" : "history (sqlite)",
	                      suite_init, suite_cleanup, cases);
}
