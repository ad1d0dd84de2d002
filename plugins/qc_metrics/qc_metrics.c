/*
 * qc_metrics: the metrics document TAC WebBuilder's QC tooling writes
 * (QC_METRICS_ENHANCED.json at its repository root), served as it is:
 *
 *   data: {"coverage":{...},"naming":{...},"file_structure":{...},
 *          "linting":{...},"overall_score","last_updated",...}
 *
 *     [feed.qc-metrics]
 *     plugin = qc_metrics
 *     path = QC_METRICS_ENHANCED.json   ; relative paths: against [sources] repo_root
 *     interval_ms = 60000               ; only a fallback: an inotify watch polls on change
 *
 * tacws runs no coverage or linter itself. A missing, half-written or
 * non-object file fails the poll with the reason (shown in /api/v1/feeds) and
 * no payload, so subscribers keep the last good document.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <tacws/plugin.h>

#include "filewatch.h"
#include "jsonutil.h"
#include "sources.h"

#define DEFAULT_PATH "QC_METRICS_ENHANCED.json"

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;
static char path[PATH_MAX];
static tacws_filewatch *watch;

/* Runs on a worker thread. */
static int snapshot(void *arg, const char *param, json_object **data, char *err, size_t errlen)
{
	(void)arg;
	(void)param;
	int rc = tacws_json_read_file(path, data, err, errlen);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "%s: no such file (TAC's QC tooling writes it)", path);
	} else if (rc == -EINVAL) {
		rc = -EBADMSG; /* half-written, or not JSON: err says which */
	} else if (!rc && !json_object_is_type(*data, json_type_object)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		rc = -EBADMSG;
	}
	if (rc) {
		json_object_put(*data);
		*data = NULL;
	}
	return rc;
}

/* Runs on the watcher's thread. */
static void file_changed(void *arg)
{
	(void)arg;
	host->poll_now(ctx, "qc-metrics", NULL);
}

static const char *const config_keys[] = {"path", NULL};

static int init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	const char *file = host->config_get(ctx, "feed.qc-metrics", "path");
	const char *root = tacws_source_get(host, ctx, "repo_root");
	if (!file || !*file)
		file = DEFAULT_PATH;
	int n = file[0] == '/' ? snprintf(path, sizeof path, "%s", file)
	                       : snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", file);
	if (n < 0 || (size_t)n >= sizeof path) {
		host->log(ctx, TACWS_LOG_ERROR, "[feed.qc-metrics] path is too long");
		return -ENAMETOOLONG;
	}
	tacws_feed_desc feed = {
	    .size = sizeof feed,
	    .endpoint = "qc-metrics",
	    .message_type = "qc_metrics_update",
	    .snapshot = snapshot,
	    .default_interval_ms = 60000,
	    .config_keys = config_keys,
	};
	int rc = host->feed_register(ctx, &feed);
	if (rc)
		return rc == -ENOENT ? 0 : rc; /* -ENOENT: not enabled */
	rc = tacws_filewatch_start(path, file_changed, NULL, &watch);
	if (rc)
		host->log(ctx, TACWS_LOG_WARN, "no watch on %s (%s): polling only", path,
		          strerror(-rc));
	host->log(ctx, TACWS_LOG_INFO, "serving %s", path);
	return 0;
}

static void fini(void)
{
	tacws_filewatch_stop(watch);
	watch = NULL;
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER, .name = "qc_metrics", .version = "1.0", .init = init, .fini = fini,
    TACWS_SOURCES_CONFIG,
};
