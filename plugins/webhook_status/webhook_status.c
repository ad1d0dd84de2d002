/*
 * webhook_status: the trigger service's GET /webhook-status, passed through.
 *
 * [sources] webhook_status_url   default http://127.0.0.1:8001/webhook-status
 * [feed.webhook-status] timeout_ms  how long one fetch may take (default 3000)
 *
 * TAC's trigger service answers {"status","uptime":{"seconds","hours","human"},
 * "stats":{"total_received","successful","failed","success_rate":"85.0%"},
 * "recent_failures":[{"issue","timestamp","error"}],"last_successful":
 * {"issue","adw_id","workflow","timestamp"}}; that is passed on as it is.
 * Services that name the issue "issue_number", or send success_rate as a
 * number, get TAC's names and text added, since TAC's WebhookStatusPanel reads
 * only "issue" (it showed "Issue #" without them) and prints success_rate as is.
 *
 * When the service cannot be read, subscribers get
 * {"status":"error","message":"<reason>"} and the core counts the error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tacws/plugin.h>

#include "http.h"
#include "sources.h"


static struct {
	char url[1024];
	long timeout_ms;
} feed;

/* An entry naming its issue "issue_number" gets TAC's "issue" too. */
static void add_issue_key(json_object *entry)
{
	json_object *number;
	if (json_object_is_type(entry, json_type_object) &&
	    !json_object_object_get_ex(entry, "issue", NULL) &&
	    json_object_object_get_ex(entry, "issue_number", &number))
		json_object_object_add(entry, "issue", json_object_get(number));
}

static void to_tac_shape(json_object *status)
{
	json_object *v;
	if (json_object_object_get_ex(status, "last_successful", &v))
		add_issue_key(v);
	if (json_object_object_get_ex(status, "recent_failures", &v) &&
	    json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			add_issue_key(json_object_array_get_idx(v, i));
	json_object *stats, *rate;
	if (json_object_object_get_ex(status, "stats", &stats) &&
	    json_object_object_get_ex(stats, "success_rate", &rate) &&
	    (json_object_is_type(rate, json_type_double) || json_object_is_type(rate, json_type_int))) {
		char text[32];
		snprintf(text, sizeof text, "%.1f%%", json_object_get_double(rate));
		json_object_object_add(stats, "success_rate", json_object_new_string(text));
	}
}

static int webhook_status_snapshot(void *arg, const char *param, json_object **data, char *err,
                                   size_t errlen)
{
	(void)arg;
	(void)param;
	json_object *status;
	int rc = tacws_http_get_json(feed.url, feed.timeout_ms, 0, &status, NULL, err, errlen);
	if (!rc && !json_object_is_type(status, json_type_object)) {
		snprintf(err, errlen, "%s: answer is not a JSON object", feed.url);
		json_object_put(status);
		rc = -EBADMSG;
	}
	if (rc) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "status", json_object_new_string("error"));
		json_object_object_add(e, "message", json_object_new_string(err));
		*data = e;
		return rc;
	}
	to_tac_shape(status);
	*data = status;
	return 0;
}

static int webhook_status_init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	const char *url = tacws_source_get(host, ctx, "webhook_status_url");
	if (snprintf(feed.url, sizeof feed.url, "%s", url) >= (int)sizeof feed.url) {
		host->log(ctx, TACWS_LOG_ERROR, "[sources] webhook_status_url is too long");
		return -EINVAL;
	}
	tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = "webhook-status",
	    .message_type = "webhook_status_update",
	    .snapshot = webhook_status_snapshot,
	    .default_interval_ms = 5000,
	    .config_keys = tacws_http_feed_keys,
	};
	return tacws_http_feed_start(host, ctx, &desc, 3000, &feed.timeout_ms);
}

static void webhook_status_fini(void)
{
	tacws_http_feed_stop();
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,         .name = "webhook_status",    .version = "1.0",
    .init = webhook_status_init, .fini = webhook_status_fini,
    TACWS_SOURCES_CONFIG,
};
