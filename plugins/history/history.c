/*
 * history: finished and running ADW workflows, from the workflow_history table.
 *
 * Feed "workflow-history" (workflow_history_update):
 *   {"workflows": [newest 50 rows by created_at, then id],
 *    "total_count": rows in the table,
 *    "analytics": {total_workflows, completed_workflows, failed_workflows,
 *                  avg_duration_seconds (mean of non-NULL durations, 2 decimals),
 *                  success_rate_percent (completed / total * 100, 2 decimals),
 *                  workflows_by_model, workflows_by_template, workflows_by_status
 *                  ({value: count}, keys sorted, NULL counted as "unknown"),
 *                  avg_cost, total_cost (over actual_cost_total, 4 decimals)}}
 * Every value comes from the data, so unchanged data gives identical bytes.
 *
 * Config: [sources] database and repo_root; [feed.workflow-history]
 * listen_channel (optional, PostgreSQL): poll at each NOTIFY on that channel.
 */
#include <tacws/plugin.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

#define ENDPOINT "workflow-history"

static tacws_db_feed feed;

static const char *const rows_sql =
    "SELECT id, adw_id, issue_number, issue_class, nl_input, github_url, branch_name, "
    "worktree_path, workflow_template, model_used, status, start_time, end_time, "
    "duration_seconds, error_message, phase_count, current_phase, estimated_cost_total, "
    "actual_cost_total, created_at, updated_at "
    "FROM workflow_history ORDER BY created_at DESC, id DESC LIMIT 50";

static const char *const totals_sql =
    "SELECT count(*) AS n, "
    "sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed, "
    "sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed, "
    "count(duration_seconds) AS n_duration, sum(duration_seconds) AS sum_duration, "
    "count(actual_cost_total) AS n_cost, sum(actual_cost_total) AS sum_cost "
    "FROM workflow_history";

static const char *const groups_sql =
    "SELECT 'workflows_by_model' AS dim, model_used AS k, count(*) AS n "
    "FROM workflow_history GROUP BY model_used "
    "UNION ALL SELECT 'workflows_by_template', workflow_template, count(*) "
    "FROM workflow_history GROUP BY workflow_template "
    "UNION ALL SELECT 'workflows_by_status', status, count(*) "
    "FROM workflow_history GROUP BY status";

static double num(json_object *row, const char *key)
{
	return json_object_get_double(json_object_object_get(row, key));
}

static double round_to(double v, double scale)
{
	return round(v * scale) / scale;
}

/* Sorted here, not in SQL: the engines collate text differently. */
static int by_key(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;
	int c = strcmp(json_object_get_string(json_object_object_get(*x, "dim")),
	               json_object_get_string(json_object_object_get(*y, "dim")));
	if (c)
		return c;
	const char *kx = json_object_get_string(json_object_object_get(*x, "k"));
	const char *ky = json_object_get_string(json_object_object_get(*y, "k"));
	return strcmp(kx ? kx : "unknown", ky ? ky : "unknown");
}

static json_object *analytics(json_object *totals, json_object *groups)
{
	json_object *t = json_object_array_get_idx(totals, 0);
	double n = num(t, "n"), completed = num(t, "completed"), failed = num(t, "failed");
	double n_duration = num(t, "n_duration"), n_cost = num(t, "n_cost");
	double sum_cost = num(t, "sum_cost");

	json_object *a = json_object_new_object();
	json_object_object_add(a, "total_workflows", json_object_new_int64((int64_t)n));
	json_object_object_add(a, "completed_workflows", json_object_new_int64((int64_t)completed));
	json_object_object_add(a, "failed_workflows", json_object_new_int64((int64_t)failed));
	json_object_object_add(
	    a, "avg_duration_seconds",
	    tacws_db_new_double(n_duration > 0 ? round_to(num(t, "sum_duration") / n_duration, 100)
	                                       : 0));
	json_object_object_add(a, "success_rate_percent",
	                       tacws_db_new_double(n > 0 ? round_to(completed / n * 100, 100) : 0));

	static const char *const dims[] = {"workflows_by_model", "workflows_by_template",
	                                   "workflows_by_status"};
	for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
		json_object_object_add(a, dims[i], json_object_new_object());
	json_object_array_sort(groups, by_key);
	for (size_t i = 0; i < json_object_array_length(groups); i++) {
		json_object *g = json_object_array_get_idx(groups, i);
		const char *k = json_object_get_string(json_object_object_get(g, "k"));
		json_object *dim = json_object_object_get(
		    a, json_object_get_string(json_object_object_get(g, "dim")));
		json_object_object_add(dim, k ? k : "unknown",
		                       json_object_new_int64((int64_t)num(g, "n")));
	}

	json_object_object_add(
	    a, "avg_cost", tacws_db_new_double(n_cost > 0 ? round_to(sum_cost / n_cost, 1e4) : 0));
	json_object_object_add(a, "total_cost", tacws_db_new_double(round_to(sum_cost, 1e4)));
	return a;
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
	if ((rc = tacws_db_query(db, rows_sql, NULL, 0, &rows, err, errlen)) < 0 ||
	    (rc = tacws_db_query(db, totals_sql, NULL, 0, &totals, err, errlen)) < 0 ||
	    (rc = tacws_db_query(db, groups_sql, NULL, 0, &groups, err, errlen)) < 0)
		goto out;

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
	tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = ENDPOINT,
	    .message_type = "workflow_history_update",
	    .snapshot = history_snapshot,
	    .default_interval_ms = 5000,
	    .config_keys = tacws_db_feed_keys,
	};
	int rc = tacws_db_feed_start(&feed, host, ctx, &desc);
	return rc == -ENOENT ? 0 : rc;
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
