/*
 * planned_features: TAC WebBuilder's planned features and sessions, from the
 * planned_features table (migration 017; 021 adds workflow_type).
 *
 * Feed "planned-features" (planned_features_update), as TAC's backend sends it:
 *   {"features": [the newest 200 rows by created_at, then ordered as the backend
 *                 orders them: in_progress, planned, completed, cancelled; high,
 *                 medium, low; newest first],
 *    "stats": {by_status, by_priority, by_type, total_estimated_hours,
 *              total_actual_hours, completion_rate}}
 * Each feature has every field of the backend's PlannedFeature (a missing
 * workflow_type is "adw_sdlc_complete_iso", as the model's default), tags
 * and generated_plan parsed, then the table's other columns as they are.
 *
 * Config: [sources] database and repo_root; [feed.planned-features]
 * listen_channel (optional, PostgreSQL): poll at each NOTIFY on that channel
 * (conf/sql/postgres-notify.sql installs the trigger).
 */
#include <tacws/plugin.h>

#include <stdio.h>

#include "db.h"
#include "dbrow.h"

static tacws_db_feed feed;

static const tacws_db_field feature_model[] = {
    {.name = "id", .type = TACWS_FIELD_INT},
    {.name = "item_type", .type = TACWS_FIELD_TEXT},
    {.name = "title", .type = TACWS_FIELD_TEXT},
    {.name = "description", .type = TACWS_FIELD_TEXT},
    {.name = "status", .type = TACWS_FIELD_TEXT},
    {.name = "priority", .type = TACWS_FIELD_TEXT},
    {.name = "estimated_hours", .type = TACWS_FIELD_FLOAT},
    {.name = "actual_hours", .type = TACWS_FIELD_FLOAT},
    {.name = "session_number", .type = TACWS_FIELD_INT},
    {.name = "github_issue_number", .type = TACWS_FIELD_INT},
    {.name = "parent_id", .type = TACWS_FIELD_INT},
    {.name = "tags", .type = TACWS_FIELD_ARRAY, .fallback = "[]", .not_null = true},
    {.name = "completion_notes", .type = TACWS_FIELD_TEXT},
    {.name = "generated_plan", .type = TACWS_FIELD_OBJECT},
    {.name = "workflow_type", .type = TACWS_FIELD_TEXT, .fallback = "\"adw_sdlc_complete_iso\""},
    {.name = "created_at", .type = TACWS_FIELD_TEXT},
    {.name = "updated_at", .type = TACWS_FIELD_TEXT},
    {.name = "started_at", .type = TACWS_FIELD_TEXT},
    {.name = "completed_at", .type = TACWS_FIELD_TEXT},
    {.name = NULL},
};

/* The backend takes the newest 200, then sorts them; NULL dates last, as its sort does. */
static const char *const features_sql =
    "SELECT * FROM (SELECT * FROM planned_features ORDER BY created_at DESC LIMIT 200) f "
    "ORDER BY CASE status WHEN 'in_progress' THEN 1 WHEN 'planned' THEN 2 "
    "WHEN 'completed' THEN 3 WHEN 'cancelled' THEN 4 ELSE 5 END, "
    "CASE priority WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, "
    "created_at IS NULL, created_at DESC, id DESC";

static const char *const totals_sql =
    "SELECT sum(estimated_hours) AS estimated, sum(actual_hours) AS actual, "
    "sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) * 100.0 / "
    "NULLIF(sum(CASE WHEN status IN ('completed', 'cancelled', 'in_progress', 'planned') "
    "THEN 1 ELSE 0 END), 0) AS completion_rate "
    "FROM planned_features";

static const char *const groups_sql =
    "SELECT 'by_status' AS dim, status AS k, count(*) AS n FROM planned_features "
    "GROUP BY status "
    "UNION ALL SELECT 'by_priority', priority, count(*) FROM planned_features "
    "WHERE priority IS NOT NULL GROUP BY priority "
    "UNION ALL SELECT 'by_type', item_type, count(*) FROM planned_features GROUP BY item_type";

static json_object *stats(json_object *totals, json_object *groups)
{
	json_object *t = json_object_array_get_idx(totals, 0);
	json_object *s = json_object_new_object();
	static const char *const dims[] = {"by_status", "by_priority", "by_type"};
	for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
		json_object_object_add(s, dims[i], json_object_new_object());
	tacws_db_group_counts(groups, s);
	/* NULL sums (no rows) are 0.0, as the backend's "x if x else 0.0". */
	static const char *const sums[][2] = {{"total_estimated_hours", "estimated"},
	                                      {"total_actual_hours", "actual"},
	                                      {"completion_rate", "completion_rate"}};
	for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++)
		json_object_object_add(s, sums[i][0],
		                       tacws_db_new_double(json_object_get_double(
		                           json_object_object_get(t, sums[i][1]))));
	return s;
}

static int snapshot(void *arg, const char *param, json_object **data, char *err, size_t errlen)
{
	(void)arg;
	(void)param;
	json_object *rows = NULL, *totals = NULL, *groups = NULL;
	tacws_db *db;
	int rc = tacws_db_feed_open(&feed, &db, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = tacws_db_query(db, features_sql, NULL, 0, &rows, err, errlen)) < 0 ||
	    (rc = tacws_db_query(db, totals_sql, NULL, 0, &totals, err, errlen)) < 0 ||
	    (rc = tacws_db_query(db, groups_sql, NULL, 0, &groups, err, errlen)) < 0)
		goto out;
	tacws_db_rows_shape(rows, feature_model);
	*data = json_object_new_object();
	json_object_object_add(*data, "features", json_object_get(rows));
	json_object_object_add(*data, "stats", stats(totals, groups));
out:
	json_object_put(rows);
	json_object_put(totals);
	json_object_put(groups);
	return rc;
}

static int init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	return tacws_db_feed_init(&feed, host, ctx, "planned-features", "planned_features_update",
	                          snapshot, 5000);
}

static void fini(void)
{
	tacws_db_feed_stop(&feed);
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER, .name = "planned_features", .version = "1.0.0", .init = init, .fini = fini,
    TACWS_SOURCES_CONFIG,
};
