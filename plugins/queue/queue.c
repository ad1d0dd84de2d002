/*
 * queue: the phase queue of TAC WebBuilder, from its database.
 *
 * Feed "queue" (queue_update), as TAC's backend sends it (PhaseQueueItem.to_dict):
 *   {"phases": [the first 100 rows of phase_queue by feature_id, phase_number],
 *    "total": the number of phases sent, "paused": queue_config queue_paused is 'true'}
 * Each phase has the model's 17 fields (a column the table lacks gets the
 * model's default), then the table's other columns as they are.
 *
 * Config: [sources] database and repo_root; [feed.queue] listen_channel (optional):
 * with PostgreSQL, LISTEN on that channel and poll at each NOTIFY
 * (conf/sql/postgres-notify.sql installs the triggers).
 */
#include <tacws/plugin.h>

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "dbrow.h"

#define ENDPOINT "queue"

static tacws_db_feed feed;

static const tacws_db_field phase_model[] = {
    {.name = "queue_id", .type = TACWS_FIELD_TEXT},
    {.name = "feature_id", .type = TACWS_FIELD_INT},
    {.name = "phase_number", .type = TACWS_FIELD_INT},
    {.name = "issue_number", .type = TACWS_FIELD_INT},
    {.name = "status", .type = TACWS_FIELD_TEXT, .fallback = "\"queued\""},
    {.name = "current_phase", .type = TACWS_FIELD_TEXT, .fallback = "\"init\""},
    {.name = "depends_on_phases", .type = TACWS_FIELD_ARRAY, .fallback = "[]", .not_null = true},
    {"phase_data", TACWS_FIELD_OBJECT, "{}", .not_null = true},
    {.name = "created_at", .type = TACWS_FIELD_TEXT},
    {.name = "updated_at", .type = TACWS_FIELD_TEXT},
    {.name = "error_message", .type = TACWS_FIELD_TEXT},
    {.name = "adw_id", .type = TACWS_FIELD_TEXT},
    {.name = "pr_number", .type = TACWS_FIELD_INT},
    {.name = "priority", .type = TACWS_FIELD_INT, .fallback = "50"},
    {.name = "queue_position", .type = TACWS_FIELD_INT},
    {.name = "ready_timestamp", .type = TACWS_FIELD_TEXT},
    {.name = "started_timestamp", .type = TACWS_FIELD_TEXT},
    {.name = NULL},
};

/* TAC orders by feature_id; tables from migration 007 call it parent_issue. */
static int phase_query(tacws_db *db, json_object **phases, char *err, size_t errlen)
{
	json_object *cols;
	int rc = tacws_db_columns(db, "phase_queue", &cols, err, errlen);
	if (rc < 0)
		return rc;
	const char *group = tacws_db_has_column(cols, "feature_id")     ? "feature_id, "
	                    : tacws_db_has_column(cols, "parent_issue") ? "parent_issue, "
	                                                                : "";
	json_object_put(cols);
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT * FROM phase_queue ORDER BY %sphase_number, queue_id LIMIT 100", group);
	rc = tacws_db_query(db, sql, NULL, 0, phases, err, errlen);
	if (rc == 0)
		tacws_db_rows_shape(*phases, phase_model);
	return rc;
}

static int queue_snapshot(void *arg, const char *param, json_object **data, char *err,
                          size_t errlen)
{
	(void)arg;
	(void)param;
	json_object *phases = NULL, *config = NULL;
	tacws_db *db;
	int rc = tacws_db_feed_open(&feed, &db, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = phase_query(db, &phases, err, errlen)) < 0)
		return rc;
	rc = tacws_db_query(
	    db, "SELECT config_value FROM queue_config WHERE config_key = 'queue_paused'", NULL, 0,
	    &config, err, errlen);
	if (rc < 0)
		goto out;

	const char *paused = json_object_get_string(
	    json_object_object_get(json_object_array_get_idx(config, 0), "config_value"));
	*data = json_object_new_object();
	json_object_object_add(*data, "phases", json_object_get(phases));
	json_object_object_add(*data, "total",
	                       json_object_new_int64((int64_t)json_object_array_length(phases)));
	json_object_object_add(*data, "paused",
	                       json_object_new_boolean(paused && !strcmp(paused, "true")));
out:
	json_object_put(phases);
	json_object_put(config);
	return rc;
}

static int queue_init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	return tacws_db_feed_init(&feed, host, ctx, ENDPOINT, "queue_update", queue_snapshot, 2000);
}

static void queue_fini(void)
{
	tacws_db_feed_stop(&feed);
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER, .name = "queue",    .version = "1.0.0",
    .init = queue_init,  .fini = queue_fini,
    TACWS_SOURCES_CONFIG,
};
