/*
 * adw-state/{adw_id}: the raw agents/<adw_id>/adw_state.json, parsed; {} when
 * the run has no state file. A half-written file fails the poll, so
 * subscribers keep the last good state until the writer is done.
 *
 * Config: [sources] repo_root; [feed.adw-state] interval_ms (default 2000,
 * only a fallback: an inotify watcher polls the changed run's topic).
 */
#include <tacws/plugin.h>

#include "agents.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;
static tacws_agents_feed feed;

static int snapshot(void *arg, const char *adw_id, json_object **data, char *err, size_t errlen)
{
	(void)arg;
	/* The core checked the pattern already; a path is built from it here. */
	if (!tacws_adw_id_valid(adw_id)) {
		snprintf(err, errlen, "invalid adw_id");
		return -EINVAL;
	}
	int rc = tacws_agents_read_json(tacws_agents_repo_root(host, ctx), adw_id,
	                                TACWS_AGENTS_STATE_FILE, data, err, errlen);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		*data = json_object_new_object();
		return 0;
	}
	return rc;
}

static int adw_state_init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	const tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = "adw-state/{adw_id}",
	    .message_type = "adw_state_update",
	    .snapshot = snapshot,
	    .default_interval_ms = 2000,
	    .param_pattern = "[A-Za-z0-9_-]{1,64}",
	};
	return tacws_agents_feed_start(&feed, host, ctx, &desc, 0);
}

static void adw_state_fini(void)
{
	tacws_agents_feed_stop(&feed);
	host = NULL;
	ctx = NULL;
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,    .name = "adw_state",    .version = "1.0",
    .init = adw_state_init, .fini = adw_state_fini,
    TACWS_SOURCES_CONFIG,
};
