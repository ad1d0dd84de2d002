/*
 * The agents/ tree of TAC WebBuilder, shared by the workflows, adw_state and
 * adw_monitor plugins: <repo_root>/agents/<adw_id>/ holds one workflow run
 * (adw_state.json, completed_phases.json, adw_<phase>_iso/ markers, ...),
 * and <repo_root>/trees/<adw_id>/ is its worktree.
 *
 * Every function returns 0 or a negative errno unless it says otherwise,
 * and may be called from any thread. Paths are never built from an adw_id
 * that fails tacws_adw_id_valid.
 */
#ifndef TACWS_AGENTS_H
#define TACWS_AGENTS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <tacws/plugin.h>

#include "sources.h"

#define TACWS_ADW_ID_MAX 64
#define TACWS_AGENTS_STATE_FILE "adw_state.json"

/* 1 when id matches [A-Za-z0-9_-]{1,64} (so it can be a path segment), else 0. */
int tacws_adw_id_valid(const char *id);

/* [sources] repo_root from the host, or "." when absent. The string is the host's. */
const char *tacws_agents_repo_root(const tacws_host_api *host, tacws_plugin_ctx *ctx);

/* Writes "<repo_root>/<top>/<adw_id>" (and "/<rel>" when rel is not NULL)
 * into buf; top is "agents" or "trees". Returns 0, -EINVAL for an invalid
 * adw_id, or -ENAMETOOLONG. */
int tacws_agents_path(char *buf, size_t len, const char *repo_root, const char *top,
                      const char *adw_id, const char *rel);

/* 1 when <repo_root>/<top>/<adw_id>[/<rel>] is a directory, else 0 (also for
 * an invalid adw_id). */
int tacws_agents_is_dir(const char *repo_root, const char *top, const char *adw_id,
                        const char *rel);

/* Parses agents/<adw_id>/<rel> into *out (caller puts it). Returns 0,
 * -EINVAL for an invalid adw_id (nothing is touched), -ENOENT when the file
 * or folder is missing, -EBADMSG when it is not valid JSON (half-written),
 * or another -errno; err gets a one-line reason. */
int tacws_agents_read_json(const char *repo_root, const char *adw_id, const char *rel,
                           json_object **out, char *err, size_t errlen);

/* state's issue_number as an integer: a JSON integer, or a string of 1-18
 * decimal digits ("42"). Returns 0, or -EINVAL when missing or not an integer
 * ("abc", "4.2", null). */
int tacws_agents_issue_number(json_object *state, int64_t *out);

/* One agents/<adw_id>/ folder that has a state file. */
typedef struct tacws_agents_run {
	char adw_id[TACWS_ADW_ID_MAX + 1];
	json_object *state; /* the parsed state object; NULL when it could not be read */
	int err;            /* 0, or why state is NULL (-EBADMSG: malformed or half-written) */
	char reason[256];   /* one line when err != 0 */
} tacws_agents_run;

typedef struct tacws_agents_runs {
	tacws_agents_run *v; /* sorted by adw_id, so the order never depends on readdir */
	size_t n;
} tacws_agents_runs;

/* Reads every agents/<adw_id>/adw_state.json under repo_root into *out.
 * Folders with an invalid name or without a state file are left out; a state
 * file that does not parse to a JSON object is kept with state NULL and err
 * set, so one broken file never hides the others. A missing agents/ folder
 * gives an empty list. Returns 0, -ENOMEM, or -errno when agents/ exists but
 * cannot be read. Free *out with tacws_agents_runs_free, also on error. */
int tacws_agents_load(const char *repo_root, tacws_agents_runs *out);
void tacws_agents_runs_free(tacws_agents_runs *runs);

/*
 * Logs runs skipped by tacws_agents_load without flooding: at WARN the first
 * time a run is seen broken, at DEBUG while it stays broken, and again at WARN
 * once it was readable in between. Thread-safe; one per feed, owned by the
 * plugin.
 */
typedef struct tacws_agents_skiplog tacws_agents_skiplog;
int tacws_agents_skiplog_new(tacws_agents_skiplog **out);
void tacws_agents_skiplog_free(tacws_agents_skiplog *log);
void tacws_agents_skiplog_report(tacws_agents_skiplog *log, const tacws_agents_runs *runs,
                                 const tacws_host_api *host, tacws_plugin_ctx *ctx);

/*
 * A watcher: one thread with inotify on <repo_root>/agents and on each
 * <adw_id> folder in it (folders that appear later are added as they come).
 * It calls fn(arg, adw_id) on its own thread after something changed in that
 * run's folder, or fn(arg, NULL) when anything may have changed (agents/
 * appeared or vanished, the kernel queue overflowed).
 *
 * Events are coalesced: fn runs at most once per TACWS_AGENTS_COALESCE_MS for
 * a given adw_id, and no later than TACWS_AGENTS_COALESCE_MS after the first
 * event. A missing agents/ folder is not an error: it is picked up as soon
 * as it is created (a watch on repo_root), and looked for again every
 * TACWS_AGENTS_RETRY_MS when even repo_root is missing or unwatchable; fn(arg,
 * NULL) runs when it appears. With TACWS_AGENTS_WATCH_TREES, <repo_root>/
 * trees is watched too, and a worktree created or removed reports its adw_id.
 *
 * fn must be quick (queue work, e.g. host->poll_now) and must not call
 * tacws_agents_watch_stop.
 */
#define TACWS_AGENTS_COALESCE_MS 100
#define TACWS_AGENTS_RETRY_MS 2000
#define TACWS_AGENTS_WATCH_TREES 0x1u

typedef void (*tacws_agents_watch_fn)(void *arg, const char *adw_id);
typedef struct tacws_agents_watcher tacws_agents_watcher;

/* Starts the watcher thread; repo_root is copied. Returns 0, -ENOMEM, or
 * -errno from inotify, eventfd or pthread_create (then *out is NULL). */
int tacws_agents_watch_start(const char *repo_root, unsigned flags, tacws_agents_watch_fn fn,
                             void *arg, tacws_agents_watcher **out);

/* Stops and joins the thread and frees w; fn is not called after it returns.
 * NULL is fine. Call from any thread but the watcher's. */
void tacws_agents_watch_stop(tacws_agents_watcher *w);


/*
 * A feed over agents/: registers desc and starts a watcher that polls the
 * feed when files change (for a feed with a parameter, the changed run's
 * topic), plus a skiplog for reporting broken runs. A watcher that cannot
 * start is logged and the feed falls back to its interval.
 */
typedef struct tacws_agents_feed {
	const tacws_host_api *host;
	tacws_plugin_ctx *ctx;
	char base[65];	/* the feed's endpoint without its parameter */
	int per_run;	/* the endpoint has an {adw_id} parameter */
	tacws_agents_watcher *watcher;
	tacws_agents_skiplog *skiplog;
} tacws_agents_feed;

/* Returns 0 (also when the feed is not enabled: then nothing runs) or a
 * negative errno. watch_flags as for tacws_agents_watch_start. */
int tacws_agents_feed_start(tacws_agents_feed *f, const tacws_host_api *host,
                            tacws_plugin_ctx *ctx, const tacws_feed_desc *desc,
                            unsigned watch_flags);

/* Loads the runs (tacws_agents_load) and reports broken ones once through
 * the skiplog. On error err says why and runs is empty. Snapshot thread. */
int tacws_agents_feed_load(tacws_agents_feed *f, tacws_agents_runs *runs, char *err,
                           size_t errlen);

/* Stops the watcher (joined) and frees the skiplog. */
void tacws_agents_feed_stop(tacws_agents_feed *f);

#endif
