/*
 * adw-monitor: every run under agents/, with its status, phase progress and
 * cost, in the shape of TAC's AdwMonitorResponse:
 *
 *   data: {"summary":{"total","running","completed","failed","paused","queued"},
 *          "workflows":[{... "phases_completed":["plan","build"], ...}],
 *          "last_updated"}   (the time the rest last changed)
 *
 * Status: the state file's "status" when completed or failed; else running
 * when a live process's command line contains the adw_id; else paused when
 * trees/<adw_id> exists; else queued. Completed phases and cost come from the
 * task_logs table when [sources] database has rows for the run (whatever
 * columns it has), else from completed_phases.json and the state file.
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

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define N_PHASES 9
#define TITLE_CHARS 100

/* TAC's nine phases, with its names; task_logs and completed_phases.json may
 * name them otherwise ("Document"): those names are passed on, lower-cased. */
static const char *const phase_names[N_PHASES] = {
    "plan", "validate", "build", "lint", "test", "review", "doc", "ship", "cleanup",
};

/* In sort order. */
enum status { ST_RUNNING, ST_PAUSED, ST_FAILED, ST_COMPLETED, ST_QUEUED, ST_COUNT };
static const char *const status_names[ST_COUNT] = {"running", "paused", "failed", "completed",
                                                   "queued"};

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;
static tacws_agents_feed feed;
static tacws_change_stamp stamp = TACWS_CHANGE_STAMP_INIT;

/* Kept across polls; the lock is for form's sake, polls of one topic never overlap. */
static struct {
	pthread_mutex_t lock;
	tacws_db *db;
	int db_failing; /* to log a database outage once, not at every poll */
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define MAX_PHASES 32
#define PHASE_CHARS 32

struct progress {
	char done[MAX_PHASES][PHASE_CHARS]; /* completed phase names, lower case, first seen first */
	int n_done;
	char current[PHASE_CHARS]; /* the phase in progress, "" when none */
	double cost;		   /* USD */
	int has_cost;
};

static void lower_copy(char *dst, const char *src)
{
	size_t i = 0;
	for (; i < PHASE_CHARS - 1 && src[i]; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static int is_done(const struct progress *p, const char *lower)
{
	for (int i = 0; i < p->n_done; i++)
		if (!strcmp(p->done[i], lower))
			return 1;
	return 0;
}

static void add_done(struct progress *p, const char *name)
{
	char lower[PHASE_CHARS];
	lower_copy(lower, name);
	if (*lower && !is_done(p, lower) && p->n_done < MAX_PHASES)
		memcpy(p->done[p->n_done++], lower, PHASE_CHARS);
}

static double number_or(json_object *v, double fallback)
{
	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)
	           ? json_object_get_double(v)
	           : fallback;
}

/* TAC's order for task_logs rows: phase_number, then created_at (then id);
 * sorted here so a table without one of these columns still works. */
static int cmp_log(const void *pa, const void *pb)
{
	json_object *a = *(json_object *const *)pa, *b = *(json_object *const *)pb;
	double na = number_or(json_object_object_get(a, "phase_number"), 0);
	double nb = number_or(json_object_object_get(b, "phase_number"), 0);
	if (na != nb)
		return na < nb ? -1 : 1;
	const char *ca = tacws_json_get_string(a, "created_at");
	const char *cb = tacws_json_get_string(b, "created_at");
	int c = strcmp(ca ? ca : "", cb ? cb : "");
	if (c)
		return c;
	double ia = number_or(json_object_object_get(a, "id"), 0);
	double ib = number_or(json_object_object_get(b, "id"), 0);
	return ia < ib ? -1 : ia > ib;
}

/* 1 with p filled when task_logs has rows for the run, 0 when none, or -errno
 * (a table without the columns used here is such an error: files are used). */
static int progress_from_db(const char *adw_id, struct progress *p, char *err, size_t errlen)
{
	/* Whole rows: which columns exist depends on the migration level. */
	static const char sql[] = "SELECT * FROM task_logs WHERE adw_id = $1";
	json_object *rows;
	const char *params[] = {adw_id};
	int rc = tacws_db_query(st.db, sql, params, 1, &rows, err, errlen);
	if (rc)
		return rc;
	json_object_array_sort(rows, cmp_log);
	size_t n = json_object_array_length(rows);
	/* The phase in progress: started, and not (yet) completed or failed later. */
	char last_status[MAX_PHASES][PHASE_CHARS], names[MAX_PHASES][PHASE_CHARS];
	int n_names = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		const char *name = tacws_json_get_string(row, "phase_name");
		const char *status = tacws_json_get_string(row, "phase_status");
		if (!name || !status)
			continue;
		if (!strcmp(status, "completed") || !strcmp(status, "failed")) {
			p->cost += number_or(json_object_object_get(row, "cost_usd"), 0);
			p->has_cost = 1;
		}
		if (!strcmp(status, "completed"))
			add_done(p, name);
		char lower[PHASE_CHARS];
		lower_copy(lower, name);
		int k = 0;
		while (k < n_names && strcmp(names[k], lower))
			k++;
		if (k == n_names && n_names < MAX_PHASES)
			memcpy(names[n_names++], lower, PHASE_CHARS);
		if (k < n_names)
			lower_copy(last_status[k], status);
		if (!strcmp(status, "started") && !is_done(p, lower))
			memcpy(p->current, lower, PHASE_CHARS);
	}
	for (int k = 0; k < n_names; k++)
		if (!strcmp(names[k], p->current) && strcmp(last_status[k], "started"))
			p->current[0] = '\0';
	json_object_put(rows);
	return n > 0;
}

/* Without task_logs rows: completed_phases.json, and the cost the state
 * file reports (current_cost, else the sum of estimated_cost_breakdown). */
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
				if (json_object_is_type(v, json_type_string))
					add_done(p, json_object_get_string(v));
			}
		const char *current = tacws_json_get_string(cp, "current");
		if (current) {
			lower_copy(p->current, current);
			if (is_done(p, p->current))
				p->current[0] = '\0';
		}
		json_object_put(cp);
	}
	if (json_object_object_get_ex(state, "current_cost", &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
		p->cost = json_object_get_double(v);
		p->has_cost = 1;
	} else if (json_object_object_get_ex(state, "estimated_cost_breakdown", &list) &&
	           json_object_is_type(list, json_type_object)) {
		json_object_object_foreach(list, key, cost)
		{
			(void)key;
			p->cost += number_or(cost, 0);
			p->has_cost = 1;
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

/* The first of keys that is a string in state, else "" (TAC's default). */
static json_object *string_or_empty(json_object *state, const char *key, const char *alt)
{
	const char *s = tacws_json_get_string(state, key);
	if (!s && alt)
		s = tacws_json_get_string(state, alt);
	return json_object_new_string(s ? s : "");
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
		return json_object_new_string("");
	size_t i = 0;
	for (int chars = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == TITLE_CHARS)
			break;
	}
	return json_object_new_string_len(s, (int)i);
}

/* A number, or a string holding one ("1.25"), as TAC's float() accepts. */
static json_object *number_field(json_object *state, const char *key, const char *alt)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(state, key, &v) || json_object_is_type(v, json_type_null))
		if (!alt || !json_object_object_get_ex(state, alt, &v))
			return NULL;
	double d;
	if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
		d = json_object_get_double(v);
	} else if (json_object_is_type(v, json_type_string)) {
		char *end;
		const char *text = json_object_get_string(v);
		d = strtod(text, &end);
		if (end == text || *end)
			return NULL;
	} else {
		return NULL;
	}
	return tacws_json_new_double_rounded(d, 4);
}

/* The state file's duration_seconds when it has one (TAC sends that), else
 * the seconds from start_time to end_time; null while the run has no end,
 * so the value does not tick from poll to poll. */
static json_object *duration_field(json_object *state)
{
	json_object *v;
	if (json_object_object_get_ex(state, "duration_seconds", &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return json_object_get(v);
	double start, end;
	if (tacws_parse_time(tacws_json_get_string(state, "start_time"), &start) ||
	    tacws_parse_time(tacws_json_get_string(state, "end_time"), &end) || end < start)
		return NULL;
	return json_object_new_int64((int64_t)(end - start + 0.5));
}

/* error_count and last_error from the state file; without a last_error, the
 * run's error.log (its first ERROR_LOG_MAX bytes, trimmed) counts as one. */
#define ERROR_LOG_MAX 4096
static void add_errors(json_object *o, const char *root, const char *adw_id, json_object *state)
{
	json_object *v;
	int64_t count = json_object_object_get_ex(state, "error_count", &v) &&
	                        json_object_is_type(v, json_type_int)
	                    ? json_object_get_int64(v)
	                    : 0;
	const char *last = tacws_json_get_string(state, "last_error");
	char text[ERROR_LOG_MAX + 1] = "", path[PATH_MAX];
	if (!last && !tacws_agents_path(path, sizeof path, root, "agents", adw_id, "error.log")) {
		FILE *f = fopen(path, "rb");
		if (f) {
			size_t n = fread(text, 1, ERROR_LOG_MAX, f);
			fclose(f);
			while (n && isspace((unsigned char)text[n - 1]))
				n--;
			text[n] = '\0';
			size_t lead = strspn(text, " \t\r\n");
			if (text[lead]) {
				last = text + lead;
				if (count < 1)
					count = 1;
			}
		}
	}
	json_object_object_add(o, "error_count", json_object_new_int64(count));
	json_object_object_add(o, "last_error", tacws_json_string_or_null(last));
}

struct entry {
	json_object *obj;
	enum status status;
	int has_start;
	double start, progress;
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
	if (a->progress != b->progress)
		return a->progress > b->progress ? -1 : 1;
	return strcmp(a->adw_id, b->adw_id);
}

static enum status run_status(const char *root, const tacws_agents_run *run, int active)
{
	const char *file_status = tacws_json_get_string(run->state, "status");
	if (file_status && !strcasecmp(file_status, "completed"))
		return ST_COMPLETED;
	if (file_status && !strcasecmp(file_status, "failed"))
		return ST_FAILED;
	if (active)
		return ST_RUNNING;
	if (tacws_agents_is_dir(root, "trees", run->adw_id, NULL))
		return ST_PAUSED;
	return ST_QUEUED;
}

static void load_progress(const char *root, const tacws_agents_run *run, int use_db,
                          enum status status, struct progress *p)
{
	int from_db = 0;
	if (use_db) {
		char err[256];
		from_db = progress_from_db(run->adw_id, p, err, sizeof err);
		if (from_db < 0) {
			host->log(ctx, TACWS_LOG_DEBUG, "task_logs for %s: %s", run->adw_id, err);
			memset(p, 0, sizeof *p);
		}
	}
	if (from_db <= 0)
		progress_from_files(root, run->adw_id, run->state, p);
	const char *current = tacws_json_get_string(run->state, "current_phase");
	if (!*p->current && current)
		lower_copy(p->current, current);
	/* A running or paused run without a phase in progress is at its next phase. */
	for (int i = 0; !*p->current && (status == ST_RUNNING || status == ST_PAUSED) && i < N_PHASES;
	     i++)
		if (!is_done(p, phase_names[i]))
			lower_copy(p->current, phase_names[i]);
}

static void build_entry(const char *root, const tacws_agents_run *run, const tacws_proc_list *procs,
                        int use_db, struct entry *e)
{
	json_object *state = run->state;
	int active = procs && tacws_proc_list_find(procs, run->adw_id, NULL) == 1;
	e->status = run_status(root, run, active);
	struct progress p;
	memset(&p, 0, sizeof p);
	load_progress(root, run, use_db, e->status, &p);
	double progress = p.n_done * 100.0 / N_PHASES;
	if (*p.current && !is_done(&p, p.current))
		progress += 100.0 / (2 * N_PHASES);
	if (progress > 100)
		progress = 100;

	int64_t issue;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "adw_id", json_object_new_string(run->adw_id));
	json_object_object_add(
	    o, "issue_number",
	    tacws_agents_issue_number(state, &issue) ? NULL : json_object_new_int64(issue));
	json_object_object_add(o, "pr_number", NULL); /* TAC does not look PRs up either */
	json_object_object_add(o, "issue_class",
	                       string_or_empty(state, "issue_class", "classification"));
	json_object_object_add(o, "title", title_field(state));
	json_object_object_add(o, "status", json_object_new_string(status_names[e->status]));
	json_object_object_add(o, "current_phase",
	                       *p.current ? json_object_new_string(p.current) : NULL);
	json_object_object_add(o, "phase_progress", tacws_json_new_double_rounded(progress, 1));
	json_object_object_add(o, "workflow_template",
	                       string_or_empty(state, "workflow_template", "workflow"));
	json_object_object_add(o, "start_time", string_field(state, "start_time"));
	json_object_object_add(o, "end_time", string_field(state, "end_time"));
	json_object_object_add(o, "duration_seconds", duration_field(state));
	json_object_object_add(o, "github_url", string_field(state, "github_url"));
	json_object_object_add(o, "worktree_path", string_field(state, "worktree_path"));
	/* Like TAC: no cost recorded yet is null, not 0. */
	json_object_object_add(o, "current_cost",
	                       p.has_cost && p.cost > 0 ? tacws_json_new_double_rounded(p.cost, 4)
	                                                : NULL);
	json_object_object_add(o, "estimated_cost_total",
	                       number_field(state, "estimated_cost_total", "estimated_cost"));
	add_errors(o, root, run->adw_id, state);
	json_object_object_add(o, "is_process_active", json_object_new_boolean(active));
	json_object *done = json_object_new_array_ext(p.n_done);
	for (int i = 0; i < p.n_done; i++)
		json_object_array_add(done, json_object_new_string(p.done[i]));
	json_object_object_add(o, "phases_completed", done);
	json_object_object_add(o, "total_phases", json_object_new_int(N_PHASES));

	e->obj = o;
	e->adw_id = run->adw_id;
	e->progress = progress;
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
	char updated[48];
	tacws_change_stamp_get(&stamp, body, updated, sizeof updated);
	json_object_object_add(body, "last_updated", json_object_new_string(updated));
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
	tacws_change_stamp_reset(&stamp);
	st.db = NULL;
	st.db_failing = 0;
	host = NULL;
	ctx = NULL;
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,      .name = "adw_monitor",    .version = "1.0",
    .init = adw_monitor_init, .fini = adw_monitor_fini,
    TACWS_SOURCES_CONFIG,
};
