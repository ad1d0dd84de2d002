/* The planned_features plugin through the fake host, on SQLite and on PostgreSQL
 * (TACWS_TEST_DB=pg). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbfix.h"
#include "fake_host.h"
#include "testutil.h"

#define FEED "planned-features"

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

static json_object *snapshot(void)
{
	return dbfix_snapshot(FEED);
}

static const char *text(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
	                                               JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void expect(json_object *got, const char *want)
{
	if (strcmp(text(got), want))
		fprintf(stderr, "\n got: %s\nwant: %s\n", text(got), want);
	CU_ASSERT_STRING_EQUAL(text(got), want);
}

static void test_feed(void)
{
	load(NULL);
	const tacws_feed_desc *f = fake_host_feed(FEED);
	CU_ASSERT_STRING_EQUAL(f->message_type, "planned_features_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 5000);
	CU_ASSERT_STRING_EQUAL(f->config_keys[0], "listen_channel");
	fake_host_unload();
}

static const char *const insert =
    "INSERT INTO planned_features (id, item_type, title, status, priority, estimated_hours, "
    "actual_hours, tags, generated_plan, created_at) VALUES ";

/* TAC's order: in_progress, planned, completed, cancelled; then high, medium, low, none;
 * then newest first. Stats over the whole table, as get_statistics computes them. */
static void test_payload(void)
{
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DELETE FROM planned_features"), 0);
	CU_ASSERT_EQUAL_FATAL(
	    dbfix_execf(&fix,
	                "%s (1, 'feature', 'Old high', 'planned', 'high', 2.5, NULL, "
	                "'[\"ui\"]', NULL, '2026-01-01 10:00:00');"
	                "%s (2, 'bug', 'Low', 'planned', 'low', NULL, NULL, NULL, NULL, "
	                "'2026-03-01 10:00:00');"
	                "%s (3, 'session', 'Doing', 'in_progress', NULL, 4, 1.5, 'bad json', "
	                "'{\"phases\":[]}', '2026-02-01 10:00:00');"
	                "%s (4, 'feature', 'New high', 'planned', 'high', 1, NULL, '[]', "
	                "'[1]', '2026-02-01 10:00:00');"
	                "%s (5, 'enhancement', 'Done', 'completed', 'medium', NULL, 3, NULL, "
	                "NULL, NULL);"
	                "%s (6, 'feature', 'Dropped', 'cancelled', 'high', NULL, NULL, NULL, "
	                "NULL, '2026-04-01 10:00:00');",
	                insert, insert, insert, insert, insert, insert),
	    0);
	load(NULL);
	json_object *data = snapshot();
	json_object *features = json_object_object_get(data, "features");
	static const int order[] = {3, 4, 1, 2, 5, 6};
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(features), 6);
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(
		                    json_object_array_get_idx(features, i), "id")),
		                order[i]);
	/* Every field of TAC's PlannedFeature; tags and generated_plan parsed, bad ones at
	 * the backend's fallback ([] and null). */
	expect(json_object_array_get_idx(features, 0),
	       "{\"id\":3,\"item_type\":\"session\",\"title\":\"Doing\",\"description\":null,"
	       "\"status\":\"in_progress\",\"priority\":null,\"estimated_hours\":4.0,"
	       "\"actual_hours\":1.5,\"session_number\":null,\"github_issue_number\":null,"
	       "\"parent_id\":null,\"tags\":[],\"completion_notes\":null,"
	       "\"generated_plan\":{\"phases\":[]},\"workflow_type\":\"adw_sdlc_complete_iso\","
	       "\"created_at\":\"2026-02-01 10:00:00\",\"updated_at\":null,\"started_at\":null,"
	       "\"completed_at\":null}");
	json_object *second = json_object_array_get_idx(features, 1);
	expect(json_object_object_get(second, "generated_plan"), "null");
	expect(json_object_object_get(json_object_array_get_idx(features, 2), "tags"), "[\"ui\"]");
	/* 1 of 6 completed: 16.666..%; hours summed where set. */
	expect(json_object_object_get(data, "stats"),
	       "{\"by_status\":{\"cancelled\":1,\"completed\":1,\"in_progress\":1,\"planned\":3},"
	       "\"by_priority\":{\"high\":3,\"low\":1,\"medium\":1},"
	       "\"by_type\":{\"bug\":1,\"enhancement\":1,\"feature\":3,\"session\":1},"
	       "\"total_estimated_hours\":7.5,\"total_actual_hours\":4.5,"
	       "\"completion_rate\":16.666666666666668}");
	json_object_put(data);
	fake_host_unload();
}

static void test_empty(void)
{
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DELETE FROM planned_features"), 0);
	load(NULL);
	json_object *data = snapshot();
	expect(data,
	       "{\"features\":[],\"stats\":{\"by_status\":{},\"by_priority\":{},\"by_type\":{},"
	       "\"total_estimated_hours\":0.0,\"total_actual_hours\":0.0,"
	       "\"completion_rate\":0.0}}");
	json_object_put(data);
	fake_host_unload();
}

/* The newest 200 by created_at, then sorted: an old in-progress one beyond them is not sent. */
static void test_newest_200(void)
{
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DELETE FROM planned_features"), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_execf(&fix,
	                                  "%s (1000, 'feature', 'Old', 'in_progress', NULL, NULL, "
	                                  "NULL, NULL, NULL, '2020-01-01 00:00:00')",
	                                  insert),
	                      0);
	for (int i = 1; i <= 200; i++)
		CU_ASSERT_EQUAL_FATAL(dbfix_execf(&fix,
		                                  "%s (%d, 'feature', 't', 'planned', NULL, NULL, "
		                                  "NULL, NULL, NULL, '2026-01-01 00:%02d:%02d')",
		                                  insert, i, i / 60, i % 60),
		                      0);
	load(NULL);
	json_object *data = snapshot();
	json_object *features = json_object_object_get(data, "features");
	CU_ASSERT_EQUAL(json_object_array_length(features), 200);
	CU_ASSERT_EQUAL(json_object_get_int(
	                    json_object_object_get(json_object_array_get_idx(features, 0), "id")),
	                200);
	expect(json_object_object_get(json_object_object_get(data, "stats"), "by_status"),
	       "{\"in_progress\":1,\"planned\":200}");
	json_object_put(data);
	fake_host_unload();
}

static void test_missing_table(void)
{
	load(NULL);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE planned_features"), 0);
	json_object *data = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(fake_host_snapshot(FEED, NULL, &data, err, sizeof err), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "planned_features: no such table");
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	json_object_put(snapshot());
	fake_host_unload();
}

static void test_listen(void)
{
	if (!fix.pg)
		return;
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "postgres-notify.sql"), 0);
	load("tacws_planned_features");
	char sql[512];
	snprintf(sql, sizeof sql,
	         "%s (900, 'bug', 'n', 'planned', NULL, NULL, NULL, NULL, NULL, NULL)", insert);
	dbfix_check_notify(&fix, FEED, sql);
	fake_host_unload();
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"feed", test_feed},
	    {"payload", test_payload},
	    {"empty", test_empty},
	    {"newest 200", test_newest_200},
	    {"missing table", test_missing_table},
	    {"listen", test_listen},
	    {NULL, NULL},
	};
	return tacws_test_run(getenv("TACWS_TEST_DB") ? "planned_features (pg)"
	                                              : "planned_features (sqlite)",
	                      suite_init, suite_cleanup, cases);
}
