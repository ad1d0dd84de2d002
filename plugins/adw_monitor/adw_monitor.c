/*
 * adw-monitor: every run under agents/, with its status, phase progress and
 * cost, for the dashboard's monitor panel.
 *
 *   data: {"summary":{"total","running","completed","failed","paused","queued"},
 *          "workflows":[{...}], "last_updated"}
 *
 * Status: the state file's "status" when completed or failed; else running
 * when a live process's command line contains the adw_id; else paused when
 * trees/<adw_id> exists; else queued. Phases done and cost come from the
 * task_logs table when [sources] database has rows for the run, else from
 * completed_phases.json and estimated_cost_breakdown.
 *
 * Config: [sources] repo_root, database (optional; a relative SQLite path is
 * taken from repo_root); [feed.adw-monitor] interval_ms (default 2000). The
 * watcher on agents/ and trees/ polls at once on file changes; the interval
 * is what notices processes starting or exiting and new task_logs rows.
 */
#include <tacws/plugin.h>

#include "agents.h"
#include "db.h"
#include "jsonutil.h"
#include "proc.h"
#include "sources.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define N_PHASES 9
#define TITLE_CHARS 100

static const char *const phase_names[N_PHASES] = {
    "plan", "validate", "build", "lint", "test", "review", "document", "ship", "cleanup",
};

/* In sort order. */
enum status { ST_RUNNING, ST_PAUSED, ST_FAILED, ST_COMPLETED, ST_QUEUED, ST_COUNT };
static const char *const status_names[ST_COUNT] = {"running", "paused", "failed", "completed",
                                                   "queued"};

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;
static tacws_agents_feed feed;

/* Kept across polls; the lock is for form's sake, polls of one topic never overlap. */
static struct {
	pthread_mutex_t lock;
	char *last_body; /* summary and workflows of the last poll, serialized */
	char last_updated[32];
	tacws_db *db;
	int db_failing; /* to log a database outage once, not at every poll */
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct progress {
	unsigned done; /* bit i: phase_names[i] completed */
	int current;   /* index of the phase in progress, or -1 */
	double cost;   /* USD */
};

static int phase_index(const char *name)
{
	for (int i = 0; name && i < N_PHASES; i++)
		if (!strcasecmp(name, phase_names[i]))
			return i;
	return -1;
}

static int popcount(unsigned v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

/* 1 with p filled when task_logs has rows for the run, 0 when none, or -errno. */
static int progress_from_db(const char *adw_id, struct progress *p, char *err, size_t errlen)
{
	static const char sql[] = "SELECT phase_name, phase_status, cost_usd FROM task_logs "
	                          "WHERE adw_id = $1 ORDER BY created_at, id";
	json_object *rows;
	const char *params[] = {adw_id};
	int rc = tacws_db_query(st.db, sql, params, 1, &rows, err, errlen);
	if (rc)
		return rc;
	size_t n = json_object_array_length(rows);
	const char *last[N_PHASES] = {0};
	int started = -1;
	for (size_t i = 0; i < n; i++) {
		json_object *row = json_object_array_get_idx(rows, i), *cost;
		int idx = phase_index(tacws_json_get_string(row, "phase_name"));
		const char *status = tacws_json_get_string(row, "phase_status");
		if (json_object_object_get_ex(row, "cost_usd", &cost) &&
		    (json_object_is_type(cost, json_type_double) ||
		     json_object_is_type(cost, json_type_int)))
			p->cost += json_object_get_double(cost);
		if (idx < 0 || !status)
			continue;
		last[idx] = status;
		if (!strcmp(status, "completed"))
			p->done |= 1u << idx;
		else if (!strcmp(status, "started"))
			started = idx;
	}
	/* A phase is in progress while its last row says started. */
	if (started >= 0 && !(p->done & (1u << started)) && !strcmp(last[started], "started"))
		p->current = started;
	json_object_put(rows);
	return n > 0;
}

static void progress_from_files(const char *root, const char *adw_id, json_object *state,
                                struct progress *p)
{
	json_object *cp, *list, *v;
	char err[256];
	if (!tacws_agents_read_json(root, adw_id, "completed_phases.json", &cp, err, sizeof err)) {
		if (json_object_object_get_ex(cp, "completed", &list) &&
		    json_object_is_type(list, json_type_array))
			for (size_t i = 0; i < json_object_array_length(list); i++) {
				v = json_object_array_get_idx(list, i);
				int idx = json_object_is_type(v, json_type_string)
				              ? phase_index(json_object_get_string(v))
				              : -1;
				if (idx >= 0)
					p->done |= 1u << idx;
			}
		int idx = phase_index(tacws_json_get_string(cp, "current"));
		if (idx >= 0 && !(p->done & (1u << idx)))
			p->current = idx;
		json_object_put(cp);
	}
	if (json_object_object_get_ex(state, "estimated_cost_breakdown", &list) &&
	    json_object_is_type(list, json_type_object)) {
		json_object_object_foreach(list, key, cost)
		{
			(void)key;
			if (json_object_is_type(cost, json_type_double) ||
			    json_object_is_type(cost, json_type_int))
				p->cost += json_object_get_double(cost);
		}
	}
}

/* The database is optional: without it, or while it fails, files are used. */
static int db_usable(const char *root)
{
	const char *url = tacws_source_get(host, ctx, "database");
	char err[256];
	if (!url || !*url)
		return 0;
	int rc = tacws_db_ensure(&st.db, url, root, err, sizeof err);
	if (!rc) {
		rc = tacws_db_table_exists(st.db, "task_logs", err, sizeof err);
		if (rc >= 0) {
			st.db_failing = 0;
			return rc;
		}
		tacws_db_close(st.db);
		st.db = NULL;
	}
	host->log(ctx, st.db_failing ? TACWS_LOG_DEBUG : TACWS_LOG_WARN,
	          "database unavailable, using completed_phases.json: %s", err);
	st.db_failing = 1;
	return 0;
}

static json_object *string_field(json_object *state, const char *key)
{
	return tacws_json_string_or_null(tacws_json_get_string(state, key));
}

/* nl_input cut to TITLE_CHARS characters, never inside a UTF-8 sequence. */
static json_object *title_field(json_object *state)
{
	const char *s = tacws_json_get_string(state, "nl_input");
	if (!s)
		return NULL;
	size_t i = 0;
	for (int chars = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == TITLE_CHARS)
			break;
	}
	return json_object_new_string_len(s, (int)i);
}

static json_object *number_field(json_object *state, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(state, key, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return NULL;
	return tacws_json_new_double_rounded(json_object_get_double(v), 4);
}

/* Seconds from start_time to end_time; null while the run has no end, so
 * the value does not tick from poll to poll. */
static json_object *duration_field(json_object *state)
{
	double start, end;
	if (tacws_parse_time(tacws_json_get_string(state, "start_time"), &start) ||
	    tacws_parse_time(tacws_json_get_string(state, "end_time"), &end) || end < start)
		return NULL;
	return json_object_new_int64((int64_t)(end - start + 0.5));
}

struct entry {
	json_object *obj;
	enum status status;
	int has_start;
	double start;
	const char *adw_id;
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	if (a->status != b->status)
		return a->status < b->status ? -1 : 1;
	if (a->has_start != b->has_start)
		return a->has_start ? -1 : 1;
	if (a->has_start && a->start != b->start)
		return a->start > b->start ? -1 : 1;
	return strcmp(a->adw_id, b->adw_id);
}

static void build_entry(const char *root, const tacws_agents_run *run, const tacws_proc_list *procs,
                        int use_db, struct entry *e)
{
	json_object *state = run->state;
	const char *file_status = tacws_json_get_string(state, "status");
	int active = procs && tacws_proc_list_find(procs, run->adw_id, NULL) == 1;
	if (file_status && !strcasecmp(file_status, "completed"))
		e->status = ST_COMPLETED;
	else if (file_status && !strcasecmp(file_status, "failed"))
		e->status = ST_FAILED;
	else if (active)
		e->status = ST_RUNNING;
	else if (tacws_agents_is_dir(root, "trees", run->adw_id, NULL))
		e->status = ST_PAUSED;
	else
		e->status = ST_QUEUED;

	struct progress p = {.current = -1};
	int from_db = 0;
	if (use_db) {
		char err[256];
		from_db = progress_from_db(run->adw_id, &p, err, sizeof err);
		if (from_db < 0) {
			host->log(ctx, TACWS_LOG_WARN, "task_logs for %s: %s", run->adw_id, err);
			p = (struct progress){.current = -1};
		}
	}
	if (from_db <= 0)
		progress_from_files(root, run->adw_id, state, &p);
	int done = popcount(p.done);
	double progress = done * 100.0 / N_PHASES + (p.current >= 0 ? 100.0 / (2 * N_PHASES) : 0);
	if (progress > 100)
		progress = 100;

	int64_t issue;
	json_object *o = json_object_new_object(), *v;
	json_object_object_add(o, "adw_id", json_object_new_string(run->adw_id));
	json_object_object_add(
	    o, "issue_number",
	    tacws_agents_issue_number(state, &issue) ? NULL : json_object_new_int64(issue));
	json_object_object_add(o, "issue_class", string_field(state, "issue_class"));
	json_object_object_add(o, "title", title_field(state));
	json_object_object_add(o, "status", json_object_new_string(status_names[e->status]));
	json_object_object_add(o, "current_phase",
	                       p.current >= 0 ? json_object_new_string(phase_names[p.current])
	                                      : NULL);
	json_object_object_add(o, "phase_progress", tacws_json_new_double_rounded(progress, 1));
	json_object_object_add(o, "workflow_template", string_field(state, "workflow_template"));
	json_object_object_add(o, "start_time", string_field(state, "start_time"));
	json_object_object_add(o, "end_time", string_field(state, "end_time"));
	json_object_object_add(o, "duration_seconds", duration_field(state));
	json_object_object_add(o, "github_url", string_field(state, "github_url"));
	json_object_object_add(o, "worktree_path", string_field(state, "worktree_path"));
	json_object_object_add(o, "current_cost", tacws_json_new_double_rounded(p.cost, 4));
	json_object_object_add(o, "estimated_cost_total",
	                       number_field(state, "estimated_cost_total"));
	json_object_object_add(
	    o, "error_count",
	    json_object_new_int64(json_object_object_get_ex(state, "error_count", &v) &&
	                                  json_object_is_type(v, json_type_int)
	                              ? json_object_get_int64(v)
	                              : 0));
	json_object_object_add(o, "last_error", string_field(state, "last_error"));
	json_object_object_add(o, "is_process_active", json_object_new_boolean(active));
	json_object_object_add(o, "phases_completed", json_object_new_int(done));
	json_object_object_add(o, "total_phases", json_object_new_int(N_PHASES));

	e->obj = o;
	e->adw_id = run->adw_id;
	e->has_start = !tacws_parse_time(tacws_json_get_string(state, "start_time"), &e->start);
}

static json_object *build_body(const char *root, const tacws_agents_runs *runs)
{
	tacws_proc_list *procs = NULL;
	int rc = tacws_proc_list_read(&procs);
	if (rc)
		host->log(ctx, TACWS_LOG_WARN, "cannot list processes: %s", strerror(-rc));
	int use_db = db_usable(root);

	struct entry *v = calloc(runs->n ? runs->n : 1, sizeof *v);
	size_t n = 0;
	int counts[ST_COUNT] = {0};
	for (size_t i = 0; v && i < runs->n; i++) {
		if (!runs->v[i].state)
			continue;
		build_entry(root, &runs->v[i], procs, use_db, &v[n]);
		counts[v[n].status]++;
		n++;
	}
	tacws_proc_list_free(procs);
	if (!v)
		return NULL;
	qsort(v, n, sizeof *v, cmp_entry);

	json_object *summary = json_object_new_object();
	json_object_object_add(summary, "total", json_object_new_int((int)n));
	static const enum status order[] = {ST_RUNNING, ST_COMPLETED, ST_FAILED, ST_PAUSED,
	                                    ST_QUEUED};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		json_object_object_add(summary, status_names[order[i]],
		                       json_object_new_int(counts[order[i]]));
	json_object *list = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(list, v[i].obj);
	free(v);
	json_object *body = json_object_new_object();
	json_object_object_add(body, "summary", summary);
	json_object_object_add(body, "workflows", list);
	return body;
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

	pthread_mutex_lock(&st.lock);
	json_object *body = build_body(root, &runs);
	tacws_agents_runs_free(&runs);
	if (!body) {
		pthread_mutex_unlock(&st.lock);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* last_updated moves only when the content does, or every poll would broadcast. */
	const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	if (!st.last_body || strcmp(st.last_body, text)) {
		char *copy = strdup(text);
		if (copy) {
			free(st.last_body);
			st.last_body = copy;
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			tacws_iso8601(&now, st.last_updated, sizeof st.last_updated);
		}
	}
	json_object_object_add(body, "last_updated", json_object_new_string(st.last_updated));
	pthread_mutex_unlock(&st.lock);
	*data = body;
	return 0;
}

static int adw_monitor_init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	const tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = "adw-monitor",
	    .message_type = "adw_monitor_update",
	    .snapshot = snapshot,
	    .default_interval_ms = 2000,
	};
	return tacws_agents_feed_start(&feed, host, ctx, &desc, TACWS_AGENTS_WATCH_TREES);
}

static void adw_monitor_fini(void)
{
	tacws_agents_feed_stop(&feed);
	tacws_db_close(st.db);
	free(st.last_body);
	st.db = NULL;
	st.last_body = NULL;
	st.last_updated[0] = '\0';
	st.db_failing = 0;
	host = NULL;
	ctx = NULL;
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,      .name = "adw_monitor",    .version = "1.0",
    .init = adw_monitor_init, .fini = adw_monitor_fini,
    TACWS_SOURCES_CONFIG,
};
