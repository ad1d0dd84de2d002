/*
 * Contract of the database feeds: queue, workflow-history and planned-features,
 * each loaded through the fake host on TAC's database at each migration level
 * (tac_db.h), their payloads checked against schemas/<feed>.json. SQLite
 * levels by default; the PostgreSQL level with TACWS_TEST_DB=pg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbfix.h"
#include "fake_host.h"
#include "schema_check.h"
#include "tac_db.h"
#include "testutil.h"

static dbfix fix;
static tac_db_level level;

static int suite_init(void)
{
	return 0;
}

static int suite_cleanup(void)
{
	return 0;
}

static json_object *payload;

/* Loads plugin for endpoint on a fresh database at the current level, checks its
 * snapshot against the feed's schema and keeps it in payload for further checks. */
static void load_and_check_with(const char *plugin, const char *endpoint, int (*more)(dbfix *f))
{
	json_object_put(payload);
	payload = NULL;
	CU_ASSERT_EQUAL_FATAL(dbfix_open(&fix), 0);
	CU_ASSERT_EQUAL_FATAL(tac_db_create(&fix, level), 0);
	if (more)
		CU_ASSERT_EQUAL_FATAL(more(&fix), 0);
	char path[512];
	snprintf(path, sizeof path, "%s/%s.so", PLUGIN_DIR, plugin);
	dbfix_load_plugin(&fix, path, endpoint, NULL);
	payload = dbfix_snapshot(endpoint);
	fake_host_unload();
	dbfix_close(&fix);
	CU_ASSERT_PTR_NOT_NULL_FATAL(payload);

	char schema[512], err[512] = "";
	snprintf(schema, sizeof schema, "%s/%s.json", CONTRACT_SCHEMA_DIR, endpoint);
	int rc = schema_check_file(schema, json_object_to_json_string(payload), err, sizeof err);
	if (rc)
		fprintf(stderr, "\n%s on %s: %s\n", endpoint, tac_db_level_name(level), err);
	CU_ASSERT_EQUAL(rc, 0);
}

static void load_and_check(const char *plugin, const char *endpoint)
{
	load_and_check_with(plugin, endpoint, NULL);
}

/* The serialized value at a path of keys and indexes ("workflows", "0", "adw_id"). */
static const char *at(const char *const *path)
{
	json_object *v = payload;
	for (; *path; path++)
		v = json_object_is_type(v, json_type_array)
		        ? json_object_array_get_idx(v, (size_t)atoi(*path))
		        : json_object_object_get(v, *path);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE);
}

#define EXPECT_AT(want, ...)                                                                       \
	do {                                                                                       \
		const char *const path_[] = {__VA_ARGS__, NULL};                                   \
		const char *got_ = at(path_);                                                      \
		if (strcmp(got_, want))                                                            \
			fprintf(stderr, "\n%s: got %s, want %s\n", tac_db_level_name(level), got_, \
			        want);                                                             \
		CU_ASSERT_STRING_EQUAL(got_, want);                                                \
	} while (0)

static void test_queue(void)
{
	load_and_check("queue", "queue");
	EXPECT_AT("2", "total");
	EXPECT_AT("true", "paused");
	/* Ordered by parent_issue (these tables have no feature_id), then phase_number. */
	EXPECT_AT("\"q-1\"", "phases", "0", "queue_id");
	EXPECT_AT("null", "phases", "0", "feature_id");
	EXPECT_AT("41", "phases", "0", "parent_issue");
	EXPECT_AT("\"init\"", "phases", "0", "current_phase");
	EXPECT_AT("{}", "phases", "0", "phase_data");
	EXPECT_AT("[]", "phases", "1", "depends_on_phases");
	EXPECT_AT("1", "phases", "1", "depends_on_phase");
	EXPECT_AT("\"Build\"", "phases", "1", "phase_data", "title");
	if (level == TAC_DB_SQLITE_OLDEST) {
		/* Before 011 and 012: the model's defaults. */
		EXPECT_AT("50", "phases", "0", "priority");
		EXPECT_AT("null", "phases", "0", "adw_id");
		EXPECT_AT("null", "phases", "0", "ready_timestamp");
	} else {
		EXPECT_AT("20", "phases", "0", "priority");
		EXPECT_AT("\"a1b2c3d4\"", "phases", "0", "adw_id");
		EXPECT_AT(level == TAC_DB_PG_LATEST ? "\"2026-11-20T10:00:00\""
		                                    : "\"2026-11-20 10:00:00\"",
		          "phases", "0", "ready_timestamp");
	}
}

/* The table TAC's server makes itself: feature_id, depends_on_phases, current_phase. */
static void test_queue_runtime_table(void)
{
	load_and_check_with("queue", "queue", tac_db_runtime_queue);
	EXPECT_AT("\"f7-1\"", "phases", "0", "queue_id");
	EXPECT_AT("7", "phases", "0", "feature_id");
	EXPECT_AT("\"ship\"", "phases", "0", "current_phase");
	EXPECT_AT("9", "phases", "0", "pr_number");
	EXPECT_AT("[1]", "phases", "1", "depends_on_phases");
	EXPECT_AT("[\"a.md\"]", "phases", "1", "phase_data", "externalDocs");
	EXPECT_AT("\"blocked\"", "phases", "1", "status");
	EXPECT_AT("50", "phases", "1", "priority");
}

static void test_history(void)
{
	load_and_check("history", "workflow-history");
	EXPECT_AT("2", "total_count");
	EXPECT_AT("\"e5f6a7b8\"", "workflows", "0", "adw_id");
	EXPECT_AT("\"a1b2c3d4\"", "workflows", "1", "adw_id");
	EXPECT_AT("true", "workflows", "1", "worktree_reused");
	EXPECT_AT("false", "workflows", "0", "worktree_reused");
	EXPECT_AT("1.5", "workflows", "1", "actual_cost_total");
	EXPECT_AT("{\"classification\":\"feature\"}", "workflows", "1", "structured_input");
	EXPECT_AT("{\"estimated_total\":2.0,\"actual_total\":1.5,\"estimated_per_step\":0.0,"
	          "\"actual_per_step\":0.0,\"cost_per_token\":0.0,\"by_phase\":{\"plan\":0.5}}",
	          "workflows", "1", "cost_breakdown");
	EXPECT_AT("{\"input_tokens\":10000,\"output_tokens\":2000,\"cached_tokens\":0,"
	          "\"cache_hit_tokens\":0,\"cache_miss_tokens\":0,\"total_tokens\":0}",
	          "workflows", "1", "token_breakdown");
	EXPECT_AT("[\"slow build\"]", "workflows", "1", "anomaly_flags");
	EXPECT_AT("[]", "workflows", "0", "anomaly_flags");
	EXPECT_AT("2", "analytics", "total_workflows");
	EXPECT_AT("600.0", "analytics", "avg_duration_seconds");
	EXPECT_AT("{\"sonnet\":1}", "analytics", "workflows_by_model");
	EXPECT_AT("12000.0", "analytics", "avg_tokens");
	EXPECT_AT("40.5", "analytics", "avg_cache_efficiency");
	if (level == TAC_DB_PG_LATEST) {
		/* 020's columns, and timestamps as TAC's backend writes a datetime. */
		EXPECT_AT("\"/feature\"", "workflows", "1", "issue_class");
		EXPECT_AT("\"feat-41\"", "workflows", "1", "branch_name");
		EXPECT_AT("\"2026-11-20T10:00:00\"", "workflows", "1", "created_at");
		EXPECT_AT("\"2026-11-20T10:00:00.250000\"", "workflows", "1", "start_time");
		EXPECT_AT("null", "workflows", "0", "structured_input");
	} else {
		/* SQLite tables never had issue_class or branch_name: the model's null. */
		EXPECT_AT("null", "workflows", "1", "issue_class");
		EXPECT_AT("null", "workflows", "1", "branch_name");
		EXPECT_AT("\"2026-11-20 10:00:00\"", "workflows", "1", "created_at");
		/* Text that is not JSON: null, as the backend's parse failure gives. */
		EXPECT_AT("null", "workflows", "0", "structured_input");
	}
	if (level == TAC_DB_SQLITE_OLDEST) {
		EXPECT_AT("null", "workflows", "1", "retry_reasons");
		EXPECT_AT("null", "workflows", "1", "phase_durations");
	} else {
		EXPECT_AT("[\"flaky test\"]", "workflows", "1", "retry_reasons");
		EXPECT_AT("{\"plan\":60,\"build\":540}", "workflows", "1", "phase_durations");
	}
}

static void test_planned_features(void)
{
	load_and_check("planned_features", "planned-features");
	EXPECT_AT("\"Dark mode\"", "features", "0", "title");
	EXPECT_AT("[\"ui\"]", "features", "0", "tags");
	EXPECT_AT("3.5", "features", "0", "estimated_hours");
	EXPECT_AT("[]", "features", "1", "tags");
	EXPECT_AT("null", "features", "0", "generated_plan");
	/* 021's workflow_type, or the model's default before it. */
	EXPECT_AT(level == TAC_DB_PG_LATEST ? "\"adw_sdlc_from_build_iso\""
	                                    : "\"adw_sdlc_complete_iso\"",
	          "features", "0", "workflow_type");
	EXPECT_AT("\"adw_sdlc_complete_iso\"", "features", "1", "workflow_type");
	EXPECT_AT("{\"completed\":1,\"in_progress\":1}", "stats", "by_status");
	EXPECT_AT("{\"high\":1}", "stats", "by_priority");
	EXPECT_AT("50.0", "stats", "completion_rate");
	EXPECT_AT("3.5", "stats", "total_estimated_hours");
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"queue", test_queue},
	    {"queue, runtime table", test_queue_runtime_table},
	    {"workflow-history", test_history},
	    {"planned-features", test_planned_features},
	    {NULL, NULL},
	};
	if (getenv("TACWS_TEST_DB")) {
		level = TAC_DB_PG_LATEST;
		return tacws_test_run("db feeds (postgresql, every migration)", suite_init,
		                      suite_cleanup, cases);
	}
	level = TAC_DB_SQLITE_OLDEST;
	int rc =
	    tacws_test_run("db feeds (sqlite, oldest schema)", suite_init, suite_cleanup, cases);
	level = TAC_DB_SQLITE_LATEST;
	json_object_put(payload);
	payload = NULL;
	rc |=
	    tacws_test_run("db feeds (sqlite, every migration)", suite_init, suite_cleanup, cases);
	json_object_put(payload);
	return rc;
}
