/*
 * workflows: one entry per agents/<adw_id>/adw_state.json with an integer
 * issue number, and the last phase whose adw_<phase>_iso/ folder exists.
 *
 *   data: [{"adw_id","issue_number","phase","github_url"}], sorted by adw_id
 *
 * github_url is always a string, as TAC's Workflow model has it:
 * https://github.com/<github_repo>/issues/<n> when [feed.workflows]
 * github_repo is set (TAC builds it so from GITHUB_REPO), else the state
 * file's github_url, else "".
 *
 * Config: [sources] repo_root; [feed.workflows] github_repo (owner/name,
 * optional), interval_ms (default 2000, only a fallback: an inotify watcher
 * on agents/ polls on change).
 */
#include <tacws/plugin.h>

#include "agents.h"
#include "github.h"
#include "jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;
static tacws_agents_feed feed;
static const char *github_repo; /* the host's string, or NULL */

static const char *const phases[] = {"plan", "build", "test", "review", "document", "ship"};

static const char *last_phase(const char *root, const char *adw_id)
{
	const char *phase = phases[0];
	for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
		char marker[32];
		snprintf(marker, sizeof marker, "adw_%s_iso", phases[i]);
		if (tacws_agents_is_dir(root, "agents", adw_id, marker))
			phase = phases[i];
	}
	return phase;
}

static json_object *github_url(json_object *state, int64_t issue)
{
	if (github_repo && *github_repo) {
		char url[512];
		snprintf(url, sizeof url, "https://github.com/%s/issues/%lld", github_repo,
		         (long long)issue);
		return json_object_new_string(url);
	}
	const char *own = tacws_json_get_string(state, "github_url");
	return json_object_new_string(own ? own : "");
}

static int snapshot(void *arg, const char *param, json_object **data, char *err, size_t errlen)
{
	(void)arg;
	(void)param;
	const char *root = tacws_agents_repo_root(host, ctx);
	tacws_agents_runs runs;
	int rc = tacws_agents_feed_load(&feed, &runs, err, errlen);
	if (rc)
		return rc;
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < runs.n; i++) {
		const tacws_agents_run *run = &runs.v[i];
		int64_t issue;
		if (!run->state || tacws_agents_issue_number(run->state, &issue))
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "adw_id", json_object_new_string(run->adw_id));
		json_object_object_add(o, "issue_number", json_object_new_int64(issue));
		json_object_object_add(o, "phase",
		                       json_object_new_string(last_phase(root, run->adw_id)));
		json_object_object_add(o, "github_url", github_url(run->state, issue));
		json_object_array_add(list, o);
	}
	tacws_agents_runs_free(&runs);
	*data = list;
	return 0;
}

static int workflows_init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	github_repo = host->config_get(ctx, "feed.workflows", "github_repo");
	static const char *const config_keys[] = {"github_repo", NULL};
	const tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = "workflows",
	    .message_type = "workflows_update",
	    .snapshot = snapshot,
	    .default_interval_ms = 2000,
	    .config_keys = config_keys,
	    .webhook_data = tacws_github_event_data, /* [webhook.github] publish = workflows */
	};
	return tacws_agents_feed_start(&feed, host, ctx, &desc, 0);
}

static void workflows_fini(void)
{
	tacws_agents_feed_stop(&feed);
	github_repo = NULL;
	host = NULL;
	ctx = NULL;
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,    .name = "workflows",    .version = "1.0",
    .init = workflows_init, .fini = workflows_fini,
    TACWS_SOURCES_CONFIG,
};
