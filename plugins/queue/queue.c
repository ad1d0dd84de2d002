/*
 * queue: the phase queue of TAC WebBuilder, from its database.
 *
 * Feed "queue" (queue_update):
 *   {"phases": [first 100 rows of phase_queue by feature_id, phase_number],
 *    "total": rows in phase_queue, "paused": queue_config queue_paused = 'true'}
 *
 * Config: [sources] database and repo_root; [feed.queue] listen_channel (optional):
 * with PostgreSQL, LISTEN on that channel and poll at each NOTIFY
 * (conf/sql/postgres-notify.sql installs the triggers).
 */
#include <tacws/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db.h"

#define ENDPOINT "queue"

static tacws_db_feed feed;

static const char *const phase_sql =
    "SELECT queue_id, feature_id, phase_number, issue_number, status, current_phase, "
    "depends_on_phases, phase_data, created_at, updated_at, error_message, adw_id, "
    "pr_number, priority, queue_position, ready_timestamp, started_timestamp "
    "FROM phase_queue ORDER BY feature_id, phase_number, queue_id LIMIT 100";

/* JSON held as text, or already parsed (a jsonb column); want is the type it must have. */
static void fix_json_column(json_object *row, const char *key, json_type want)
{
	json_object *v = json_object_object_get(row, key);
	json_object *parsed = NULL;
	if (json_object_is_type(v, json_type_string))
		parsed = json_tokener_parse(json_object_get_string(v));
	else if (v)
		parsed = json_object_get(v);
	if (!json_object_is_type(parsed, want)) {
		json_object_put(parsed);
		parsed =
		    want == json_type_array ? json_object_new_array() : json_object_new_object();
	}
	json_object_object_add(row, key, parsed);
}

static int queue_snapshot(void *arg, const char *param, json_object **data, char *err,
                          size_t errlen)
{
	(void)arg;
	(void)param;
	json_object *phases = NULL, *count = NULL, *config = NULL;
	tacws_db *db;
	int rc = tacws_db_feed_open(&feed, &db, err, errlen);
	if (rc < 0)
		return rc;
	rc = tacws_db_query(db, phase_sql, NULL, 0, &phases, err, errlen);
	if (rc < 0)
		return rc;
	rc = tacws_db_query(db, "SELECT count(*) AS n FROM phase_queue", NULL, 0, &count, err,
	                    errlen);
	if (rc < 0)
		goto out;
	rc = tacws_db_query(
	    db, "SELECT config_value FROM queue_config WHERE config_key = 'queue_paused'", NULL, 0,
	    &config, err, errlen);
	if (rc < 0)
		goto out;

	for (size_t i = 0; i < json_object_array_length(phases); i++) {
		json_object *row = json_object_array_get_idx(phases, i);
		fix_json_column(row, "depends_on_phases", json_type_array);
		fix_json_column(row, "phase_data", json_type_object);
	}
	json_object *n = json_object_object_get(json_object_array_get_idx(count, 0), "n");
	const char *paused = json_object_get_string(
	    json_object_object_get(json_object_array_get_idx(config, 0), "config_value"));
	*data = json_object_new_object();
	json_object_object_add(*data, "phases", json_object_get(phases));
	json_object_object_add(*data, "total", json_object_new_int64(json_object_get_int64(n)));
	json_object_object_add(*data, "paused",
	                       json_object_new_boolean(paused && (!strcasecmp(paused, "true") ||
	                                                          !strcmp(paused, "1"))));
out:
	json_object_put(phases);
	json_object_put(count);
	json_object_put(config);
	return rc;
}

static int queue_init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = ENDPOINT,
	    .message_type = "queue_update",
	    .snapshot = queue_snapshot,
	    .default_interval_ms = 2000,
	    .config_keys = tacws_db_feed_keys,
	};
	int rc = tacws_db_feed_start(&feed, host, ctx, &desc);
	return rc == -ENOENT ? 0 : rc;
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
