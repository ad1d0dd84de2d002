/*
 * history: finished and running ADW workflows, from the workflow_history table.
 *
 * Feed "workflow-history" (workflow_history_update), as TAC's backend sends it
 * (WorkflowHistoryItem and WorkflowHistoryAnalytics):
 *   {"workflows": [the newest 50 rows by created_at (then id)],
 *    "total_count": rows in the table,
 *    "analytics": {total_workflows, completed_workflows, failed_workflows,
 *                  avg_duration_seconds, success_rate_percent, workflows_by_model,
 *                  workflows_by_template, workflows_by_status, avg_cost, total_cost,
 *                  avg_cost_per_completion, cost_trend_7day, cost_trend_30day,
 *                  avg_tokens, avg_cache_efficiency}}
 * Each workflow has every field of the backend's model (a column the table
 * lacks gets the model's default: SQLite tables have no issue_class or
 * branch_name), JSON text parsed, then the table's other columns as they are.
 * The analytics are computed as the backend computes them; the cost trends
 * compare windows ending now, so they change when a row leaves a window.
 *
 * Config: [sources] database and repo_root; [feed.workflow-history]
 * listen_channel (optional, PostgreSQL): poll at each NOTIFY on that channel.
 */
#include <tacws/plugin.h>

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "dbrow.h"

#define ENDPOINT "workflow-history"

static tacws_db_feed feed;

static const tacws_db_field cost_breakdown_model[] = {
    {.name = "estimated_total", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "actual_total", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "estimated_per_step", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "actual_per_step", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "cost_per_token", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "by_phase", .type = TACWS_FIELD_OBJECT},
    {.name = NULL},
};

static const tacws_db_field token_breakdown_model[] = {
    {.name = "input_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "output_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "cached_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "cache_hit_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "cache_miss_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "total_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = NULL},
};

/* WorkflowHistoryItem, in its order; "true" marks fields that are not optional. */
static const tacws_db_field workflow_model[] = {
    {.name = "id", .type = TACWS_FIELD_INT},
    {.name = "adw_id", .type = TACWS_FIELD_TEXT},
    {.name = "issue_number", .type = TACWS_FIELD_INT},
    {.name = "nl_input", .type = TACWS_FIELD_TEXT},
    {.name = "github_url", .type = TACWS_FIELD_TEXT},
    {.name = "workflow_template", .type = TACWS_FIELD_TEXT},
    {.name = "model_used", .type = TACWS_FIELD_TEXT},
    {.name = "status", .type = TACWS_FIELD_TEXT},
    {.name = "branch_name", .type = TACWS_FIELD_TEXT},
    {.name = "plan_file", .type = TACWS_FIELD_TEXT},
    {.name = "issue_class", .type = TACWS_FIELD_TEXT},
    {.name = "start_time", .type = TACWS_FIELD_TEXT},
    {.name = "end_time", .type = TACWS_FIELD_TEXT},
    {.name = "duration_seconds", .type = TACWS_FIELD_INT},
    {.name = "created_at", .type = TACWS_FIELD_TEXT},
    {.name = "updated_at", .type = TACWS_FIELD_TEXT},
    {.name = "error_message", .type = TACWS_FIELD_TEXT},
    {.name = "phase_count", .type = TACWS_FIELD_INT},
    {.name = "current_phase", .type = TACWS_FIELD_TEXT},
    {.name = "success_rate", .type = TACWS_FIELD_FLOAT},
    {.name = "retry_count", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "steps_completed", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "steps_total", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "worktree_path", .type = TACWS_FIELD_TEXT},
    {.name = "backend_port", .type = TACWS_FIELD_INT},
    {.name = "frontend_port", .type = TACWS_FIELD_INT},
    {.name = "concurrent_workflows", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "worktree_reused", .type = TACWS_FIELD_BOOL, .fallback = "false", .not_null = true},
    {.name = "input_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "output_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "cached_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "cache_hit_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "cache_miss_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "total_tokens", .type = TACWS_FIELD_INT, .fallback = "0", .not_null = true},
    {.name = "cache_efficiency_percent",
     .type = TACWS_FIELD_FLOAT,
     .fallback = "0.0",
     .not_null = true},
    {.name = "estimated_cost_total",
     .type = TACWS_FIELD_FLOAT,
     .fallback = "0.0",
     .not_null = true},
    {.name = "actual_cost_total", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "estimated_cost_per_step",
     .type = TACWS_FIELD_FLOAT,
     .fallback = "0.0",
     .not_null = true},
    {.name = "actual_cost_per_step",
     .type = TACWS_FIELD_FLOAT,
     .fallback = "0.0",
     .not_null = true},
    {.name = "cost_per_token", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "structured_input", .type = TACWS_FIELD_OBJECT},
    {.name = "cost_breakdown", .type = TACWS_FIELD_OBJECT, .model = cost_breakdown_model},
    {.name = "token_breakdown", .type = TACWS_FIELD_OBJECT, .model = token_breakdown_model},
    {.name = "phase_durations", .type = TACWS_FIELD_OBJECT},
    {.name = "idle_time_seconds", .type = TACWS_FIELD_INT},
    {.name = "bottleneck_phase", .type = TACWS_FIELD_TEXT},
    {.name = "error_category", .type = TACWS_FIELD_TEXT},
    {.name = "retry_reasons", .type = TACWS_FIELD_ARRAY},
    {.name = "error_phase_distribution", .type = TACWS_FIELD_OBJECT},
    {.name = "recovery_time_seconds", .type = TACWS_FIELD_INT},
    {.name = "complexity_estimated", .type = TACWS_FIELD_TEXT},
    {.name = "complexity_actual", .type = TACWS_FIELD_TEXT},
    {.name = "hour_of_day", .type = TACWS_FIELD_INT, .fallback = "-1", .not_null = true},
    {.name = "day_of_week", .type = TACWS_FIELD_INT, .fallback = "-1", .not_null = true},
    {.name = "nl_input_clarity_score",
     .type = TACWS_FIELD_FLOAT,
     .fallback = "0.0",
     .not_null = true},
    {.name = "cost_efficiency_score",
     .type = TACWS_FIELD_FLOAT,
     .fallback = "0.0",
     .not_null = true},
    {.name = "performance_score", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "quality_score", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "scoring_version", .type = TACWS_FIELD_TEXT, .fallback = "\"1.0\""},
    {.name = "anomaly_flags",
     .type = TACWS_FIELD_ARRAY,
     .fallback = "[]",
     .not_null = true,
     .bad_is_null = true},
    {.name = "optimization_recommendations",
     .type = TACWS_FIELD_ARRAY,
     .fallback = "[]",
     .not_null = true,
     .bad_is_null = true},
    /* JSON text in SQLite tables, not in the model: parsed when the column is there. */
    {.name = "similar_workflow_ids", .type = TACWS_FIELD_ARRAY, .omit_missing = true},
    {.name = NULL},
};

/* One row of numbers over the whole table. The trend windows are written per
 * engine, as the backend writes them. */
static const char *const totals_sql =
    "SELECT count(*) AS n, "
    "sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed, "
    "sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed, "
    "avg(CASE WHEN status = 'completed' THEN duration_seconds END) AS avg_duration, "
    "avg(CASE WHEN actual_cost_total > 0 THEN actual_cost_total END) AS avg_cost, "
    "sum(CASE WHEN actual_cost_total > 0 THEN actual_cost_total END) AS total_cost, "
    "avg(CASE WHEN %1$s THEN actual_cost_total END) AS avg_cost_per_completion, "
    "avg(CASE WHEN %1$s AND %6$s >= %2$s THEN actual_cost_total END) AS cost_7, "
    "avg(CASE WHEN %1$s AND %6$s >= %3$s AND %6$s < %2$s "
    "THEN actual_cost_total END) AS cost_7_before, "
    "avg(CASE WHEN %1$s AND %6$s >= %4$s THEN actual_cost_total END) AS cost_30, "
    "avg(CASE WHEN %1$s AND %6$s >= %5$s AND %6$s < %4$s "
    "THEN actual_cost_total END) AS cost_30_before, "
    "avg(CASE WHEN total_tokens > 0 THEN total_tokens END) AS avg_tokens, "
    "avg(CASE WHEN total_tokens > 0 THEN cache_efficiency_percent END) AS avg_cache "
    "FROM %7$s";

static const char *const finished_with_cost =
    "status IN ('completed', 'failed') AND actual_cost_total > 0";

static const char *const groups_sql =
    "SELECT 'workflows_by_model' AS dim, model_used AS k, count(*) AS n "
    "FROM %1$s WHERE model_used IS NOT NULL GROUP BY model_used "
    "UNION ALL SELECT 'workflows_by_template', workflow_template, count(*) "
    "FROM %1$s WHERE workflow_template IS NOT NULL GROUP BY workflow_template "
    "UNION ALL SELECT 'workflows_by_status', status, count(*) "
    "FROM %1$s GROUP BY status";

/* What the analytics read; a table without one of them counts it as NULL. */
static const char *const analytics_columns[] = {
    "status TEXT",     "duration_seconds REAL",  "actual_cost_total REAL",
    "created_at TEXT", "total_tokens INTEGER",   "cache_efficiency_percent REAL",
    "model_used TEXT", "workflow_template TEXT", NULL,
};

static json_object *field(json_object *row, const char *key)
{
	return json_object_object_get(row, key);
}

/* The backend's "x if x else 0.0": NULL (no rows) and 0 both give 0.0. */
static double num(json_object *row, const char *key)
{
	return json_object_get_double(field(row, key));
}

static double trend(double now, double before)
{
	return before > 0 ? (now - before) / before * 100 : 0;
}

static json_object *analytics(json_object *totals, json_object *groups)
{
	json_object *t = json_object_array_get_idx(totals, 0);
	double n = num(t, "n"), completed = num(t, "completed"), failed = num(t, "failed");
	json_object *a = json_object_new_object();
	json_object_object_add(a, "total_workflows", json_object_new_int64((int64_t)n));
	json_object_object_add(a, "completed_workflows", json_object_new_int64((int64_t)completed));
	json_object_object_add(a, "failed_workflows", json_object_new_int64((int64_t)failed));
	json_object_object_add(a, "avg_duration_seconds",
	                       tacws_db_new_double(num(t, "avg_duration")));
	json_object_object_add(a, "success_rate_percent",
	                       tacws_db_new_double(n > 0 ? completed / n * 100 : 0));

	static const char *const dims[] = {"workflows_by_model", "workflows_by_template",
	                                   "workflows_by_status"};
	for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
		json_object_object_add(a, dims[i], json_object_new_object());
	tacws_db_group_counts(groups, a);

	json_object_object_add(a, "avg_cost", tacws_db_new_double(num(t, "avg_cost")));
	json_object_object_add(a, "total_cost", tacws_db_new_double(num(t, "total_cost")));
	json_object_object_add(a, "avg_cost_per_completion",
	                       tacws_db_new_double(num(t, "avg_cost_per_completion")));
	json_object_object_add(
	    a, "cost_trend_7day",
	    tacws_db_new_double(trend(num(t, "cost_7"), num(t, "cost_7_before"))));
	json_object_object_add(
	    a, "cost_trend_30day",
	    tacws_db_new_double(trend(num(t, "cost_30"), num(t, "cost_30_before"))));
	json_object_object_add(a, "avg_tokens", tacws_db_new_double(num(t, "avg_tokens")));
	json_object_object_add(a, "avg_cache_efficiency", tacws_db_new_double(num(t, "avg_cache")));
	return a;
}

/* totals and groups over the whole table, as the backend's analytics read it. */
static int analytics_query(tacws_db *db, json_object **totals, json_object **groups, char *err,
                           size_t errlen)
{
	json_object *cols;
	int rc = tacws_db_columns(db, "workflow_history", &cols, err, errlen);
	if (rc < 0)
		return rc;
	char from[1024];
	rc = tacws_db_table_with(cols, "workflow_history", analytics_columns, from, sizeof from);
	json_object_put(cols);
	if (rc < 0) {
		snprintf(err, errlen, "analytics query too long");
		return rc;
	}
	bool pg = !strcmp(tacws_db_engine(db), "postgresql");
	/* Compared as text on both engines, as TAC does on SQLite: created_at is TEXT
	 * (schema.py) or TIMESTAMP (later PostgreSQL schemas), and a cast of text that is
	 * not a date would fail the whole feed. */
	const char *ago[4] = {
	    pg ? "to_char(NOW() - INTERVAL '7 days', 'YYYY-MM-DD HH24:MI:SS')"
	       : "datetime('now', '-7 days')",
	    pg ? "to_char(NOW() - INTERVAL '14 days', 'YYYY-MM-DD HH24:MI:SS')"
	       : "datetime('now', '-14 days')",
	    pg ? "to_char(NOW() - INTERVAL '30 days', 'YYYY-MM-DD HH24:MI:SS')"
	       : "datetime('now', '-30 days')",
	    pg ? "to_char(NOW() - INTERVAL '60 days', 'YYYY-MM-DD HH24:MI:SS')"
	       : "datetime('now', '-60 days')",
	};
	char sql[4096];
	snprintf(sql, sizeof sql, totals_sql, finished_with_cost, ago[0], ago[1], ago[2], ago[3],
	         pg ? "CAST(created_at AS TEXT)" : "created_at", from);
	if ((rc = tacws_db_query(db, sql, NULL, 0, totals, err, errlen)) < 0)
		return rc;
	snprintf(sql, sizeof sql, groups_sql, from);
	return tacws_db_query(db, sql, NULL, 0, groups, err, errlen);
}

static int history_snapshot(void *arg, const char *param, json_object **data, char *err,
                            size_t errlen)
{
	(void)arg;
	(void)param;
	json_object *rows = NULL, *totals = NULL, *groups = NULL;
	tacws_db *db;
	int rc = tacws_db_feed_open(&feed, &db, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = tacws_db_query(db,
	                         "SELECT * FROM workflow_history ORDER BY created_at DESC, id DESC "
	                         "LIMIT 50",
	                         NULL, 0, &rows, err, errlen)) < 0 ||
	    (rc = analytics_query(db, &totals, &groups, err, errlen)) < 0)
		goto out;

	tacws_db_rows_shape(rows, workflow_model);
	*data = json_object_new_object();
	json_object_object_add(*data, "workflows", json_object_get(rows));
	json_object_object_add(
	    *data, "total_count",
	    json_object_new_int64((int64_t)num(json_object_array_get_idx(totals, 0), "n")));
	json_object_object_add(*data, "analytics", analytics(totals, groups));
out:
	json_object_put(rows);
	json_object_put(totals);
	json_object_put(groups);
	return rc;
}

static int history_init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	return tacws_db_feed_init(&feed, host, ctx, ENDPOINT, "workflow_history_update",
	                          history_snapshot, 5000);
}

static void history_fini(void)
{
	tacws_db_feed_stop(&feed);
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,  .name = "history",    .version = "1.0.0",
    .init = history_init, .fini = history_fini,
    TACWS_SOURCES_CONFIG,
};
