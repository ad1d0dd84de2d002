#include "demo.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKFLOWS 12 /* folders kept in agents/ */
#define MAX_ACTIVE 6     /* queued, running or paused at once */
#define NPHASES 9
#define MAX_FEATURES 3
#define MAX_FEATURE_PHASES 4
#define HISTORY_KEEP 400
#define TASK_LOGS_KEEP 3000
#define MARKER ".tacws-demo"
#define REPO_URL "https://github.com/tac-demo/tac-webbuilder"

enum wf_status { WF_QUEUED, WF_RUNNING, WF_PAUSED, WF_COMPLETED, WF_FAILED };
enum q_status { Q_QUEUED, Q_READY, Q_RUNNING, Q_COMPLETED, Q_BLOCKED, Q_FAILED };

static const char *const phase_names[NPHASES] = {"plan",   "validate", "build", "lint",   "test",
                                                 "review", "document", "ship",  "cleanup"};
static const char *const phase_titles[NPHASES] = {"Plan",   "Validate", "Build", "Lint",   "Test",
                                                  "Review", "Document", "Ship",  "Cleanup"};
static const char *const phase_agents[NPHASES] = {
    "sdlc_planner", "plan_validator", "sdlc_implementor", "linter", "tester",
    "reviewer",     "documenter",     "shipper",          "cleanup"};
/* Phases that have an adw_<phase>_iso/ marker folder. */
static const int phase_has_marker[NPHASES] = {1, 0, 1, 0, 1, 1, 1, 1, 0};
static const char *const q_names[] = {"queued",    "ready",   "running",
                                      "completed", "blocked", "failed"};

static const char *const templates[] = {"adw_sdlc_iso", "adw_sdlc_zte_iso",
                                        "adw_plan_build_test_iso", "adw_sdlc_complete_iso"};
static const char *const models[] = {"claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"};
static const double model_price[] = {1.0, 3.0, 0.3};

static const struct {
	const char *cls;
	const char *text;
	const char *slug;
} requests[] = {
    {"/feature", "Add a dark mode toggle to the dashboard header and remember the choice",
     "dark-mode-toggle"},
    {"/bug", "Queue panel shows stale phases after a workflow is cancelled", "stale-queue-phases"},
    {"/feature", "Export workflow history as CSV with cost and duration columns",
     "history-csv-export"},
    {"/chore", "Upgrade FastAPI and pin uvicorn to the tested version", "upgrade-fastapi"},
    {"/patch", "Fix the off-by-one in the phase progress bar", "progress-off-by-one"},
    {"/feature", "Show per-phase cost breakdown in the ADW monitor card", "phase-cost-breakdown"},
    {"/bug", "Webhook retries create duplicate workflows for the same issue",
     "duplicate-webhook-workflows"},
    {"/feature", "Natural-language query box for the SQL explorer with a schema preview",
     "nl-sql-explorer"},
    {"/chore", "Remove the legacy polling endpoints from the frontend", "remove-polling"},
    {"/bug", "Worktree cleanup leaves orphaned ports reserved after a failed ship",
     "orphaned-ports"},
    {"/feature", "Let users pause and resume the phase queue from the dashboard",
     "queue-pause-resume"},
    {"/patch", "Escape markdown in issue titles shown in the routes view", "escape-titles"},
    {"/feature", "Add a model selector (base or heavy) to the request form", "model-selector"},
    {"/bug", "Health panel reports the tunnel as down while it reconnects", "tunnel-health"},
};
#define NREQUESTS ((int)(sizeof requests / sizeof *requests))

static const char *const failures[] = {
    "Tests failed: 3 of 128 in test_queue_repository.py",
    "Review found blocking issues: missing migration for new column",
    "Build failed: TypeScript error TS2345 in WorkflowCard.tsx",
    "Claude Code exited with status 1: context window exceeded",
    "git push rejected: branch protection requires a linear history",
};
static const char *const warnings[] = {
    "Lint reported 4 fixable issues; applied ruff --fix",
    "Test flake in test_websocket_reconnect, passed on retry",
    "Rate limited by the GitHub API, retried after 20 s",
};

struct wf {
	int used;
	char id[9];
	char issue[24];
	int issue_int; /* -1 when issue is not an integer */
	int req, tmpl, model, heavy;
	double start, end;
	int phase; /* the phase in progress (or where it stopped); -1 before start */
	int done;  /* phases completed */
	enum wf_status status;
	int error_count;
	char last_error[160];
	double est[NPHASES], cost[NPHASES], phase_start;
	int next_tick;
	pid_t pid;
	int feature, fphase; /* queue row it runs, or -1 */
	int backend_port, frontend_port;
	int pinned; /* never pruned */
	int dirty;
	int torn_until; /* tick at which a deliberately torn state file is repaired */
};

struct qrow {
	char queue_id[40];
	enum q_status status;
	int issue; /* 0 until the GitHub issue exists */
	char adw_id[9];
	int pr;
	double ready, started;
	char error[160];
	int dirty;
};

struct feature {
	int used;
	int feature_id;
	int req;
	int nphases;
	struct qrow rows[MAX_FEATURE_PHASES];
	int finished_tick; /* 0 while it still has work */
};

struct demo_world {
	const demo_opts *opts;
	demo_store *st; /* owned */
	demo_http *http;
	demo_rng rng;
	char root[PATH_MAX / 2]; /* short enough that every path built on it fits */
	int tick;
	double now; /* the story's clock: the past while building the first state */
	int live;   /* 0 while building the first state (no processes, no torn files) */
	struct wf wf[MAX_WORKFLOWS];
	struct feature feat[MAX_FEATURES];
	int next_issue, next_feature, next_queue;
	int paused, pause_toggle_tick;
	long long wh_total, wh_ok, wh_failed;
	json_object *wh_failures; /* newest first, at most 5 */
	json_object *wh_last;     /* last successful webhook, or NULL */
	double trigger_started;
	long long wh_uptime_shown;
	int extra_route;
};

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *jtime(double t)
{
	char buf[32];
	demo_iso8601(t, buf, sizeof buf);
	return json_object_new_string(buf);
}

/* Money with four decimals, printed as such (not 0.12340000000000001). */
static json_object *jmoney(double usd)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%.4f", usd);
	return json_object_new_double_s(atof(buf), buf);
}

static double round4(double v)
{
	return round(v * 10000.0) / 10000.0;
}

static int write_json(const char *path, json_object *o)
{
	const char *text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	return demo_write_atomic(path, text, strlen(text));
}

static void wf_path(const demo_world *w, const struct wf *f, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/agents/%s%s%s", w->root, f->id, rel ? "/" : "", rel ? rel : "");
}

static void tree_path(const demo_world *w, const struct wf *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s/trees/%s", w->root, f->id);
}

static double est_total(const struct wf *f)
{
	double t = 0;
	for (int p = 0; p < NPHASES; p++)
		t += f->est[p];
	return t;
}

static double cost_total(const struct wf *f)
{
	double t = 0;
	for (int p = 0; p < NPHASES; p++)
		t += f->cost[p];
	return t;
}

static json_object *state_json(const demo_world *w, const struct wf *f)
{
	char buf[PATH_MAX];
	json_object *o = json_object_new_object();
	const char *cls = requests[f->req].cls;
	add(o, "adw_id", jstr(f->id));
	add(o, "issue_number", jstr(f->issue));
	snprintf(buf, sizeof buf, "%s-issue-%s-adw-%s-%s", cls + 1, f->issue, f->id,
	         requests[f->req].slug);
	add(o, "branch_name", jstr(buf));
	snprintf(buf, sizeof buf, "specs/issue-%s-adw-%s-sdlc_planner-%s.md", f->issue, f->id,
	         requests[f->req].slug);
	add(o, "plan_file", f->done > 0 ? jstr(buf) : NULL);
	add(o, "issue_class", jstr(cls));
	tree_path(w, f, buf, sizeof buf);
	add(o, "worktree_path", jstr(buf));
	add(o, "backend_port", json_object_new_int(f->backend_port));
	add(o, "frontend_port", json_object_new_int(f->frontend_port));
	add(o, "model_set", jstr(f->heavy ? "heavy" : "base"));
	json_object *adws = json_object_new_array();
	json_object_array_add(adws, jstr(templates[f->tmpl]));
	for (int p = 0; p <= f->phase && p < NPHASES; p++) {
		if (!phase_has_marker[p])
			continue;
		snprintf(buf, sizeof buf, "adw_%s_iso", phase_names[p]);
		json_object_array_add(adws, jstr(buf));
	}
	add(o, "all_adws", adws);
	add(o, "estimated_cost_total", jmoney(est_total(f)));
	json_object *bd = json_object_new_object();
	for (int p = 0; p < NPHASES; p++)
		add(bd, phase_names[p], jmoney(f->est[p]));
	add(o, "estimated_cost_breakdown", bd);
	add(o, "workflow_template", jstr(templates[f->tmpl]));
	add(o, "model_used", jstr(models[f->model]));
	add(o, "start_time", jtime(f->start));
	add(o, "nl_input", jstr(requests[f->req].text));
	if (f->issue_int > 0)
		snprintf(buf, sizeof buf, REPO_URL "/issues/%d", f->issue_int);
	else
		snprintf(buf, sizeof buf, REPO_URL);
	add(o, "github_url", jstr(buf));
	if (f->status == WF_COMPLETED || f->status == WF_FAILED) {
		add(o, "end_time", jtime(f->end));
		add(o, "status", jstr(f->status == WF_COMPLETED ? "completed" : "failed"));
	}
	if (f->error_count) {
		add(o, "error_count", json_object_new_int(f->error_count));
		add(o, "last_error", jstr(f->last_error));
	}
	return o;
}

static json_object *completed_json(const demo_world *w, const struct wf *f)
{
	json_object *o = json_object_new_object();
	json_object *done = json_object_new_array();
	for (int p = 0; p < f->done; p++)
		json_object_array_add(done, jstr(phase_titles[p]));
	add(o, "completed", done);
	int current = f->status == WF_RUNNING || f->status == WF_PAUSED;
	add(o, "current", current ? jstr(phase_titles[f->phase]) : NULL);
	add(o, "last_updated", jtime(w->now));
	return o;
}

static int write_state(demo_world *w, struct wf *f)
{
	char path[PATH_MAX];
	json_object *state = state_json(w, f), *done = completed_json(w, f);
	wf_path(w, f, "adw_state.json", path, sizeof path);
	int rc = write_json(path, state);
	wf_path(w, f, "completed_phases.json", path, sizeof path);
	if (!rc)
		rc = write_json(path, done);
	json_object_put(state);
	json_object_put(done);
	if (rc)
		demo_log("cannot write %s: %s", path, strerror(-rc));
	f->dirty = 0;
	return rc;
}

static void log_error(demo_world *w, struct wf *f, const char *level, const char *msg)
{
	char path[PATH_MAX], line[512], stamp[32];
	demo_iso8601(w->now, stamp, sizeof stamp);
	snprintf(line, sizeof line, "%s - %s - [%s] %s\n", stamp, level,
	         f->phase >= 0 ? phase_names[f->phase] : "start", msg);
	wf_path(w, f, "error.log", path, sizeof path);
	demo_append(path, line);
}

static void proc_start(demo_world *w, struct wf *f)
{
	if (!w->live || !w->opts->spawn_processes || f->pid > 0)
		return;
	char argv0[128];
	snprintf(argv0, sizeof argv0, "uv run adws/%s.py %s %s", templates[f->tmpl], f->issue,
	         f->id);
	pid_t parent = getpid();
	/* Until exec, the child would run our SIGTERM handler and survive a
	 * proc_stop: keep signals blocked until it has the default handlers. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* The process monitor finds a run by its adw_id in a command line. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		char *const argv[] = {argv0, "86400", NULL};
		execvp("sleep", argv);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		demo_log("fork: %s", strerror(errno));
	else
		f->pid = pid;
}

static void proc_stop(struct wf *f)
{
	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
}

static void proc_reap(demo_world *w)
{
	for (int i = 0; i < MAX_WORKFLOWS; i++) {
		struct wf *f = &w->wf[i];
		if (f->used && f->pid > 0 && waitpid(f->pid, NULL, WNOHANG) == f->pid)
			f->pid = 0;
	}
}

static void qrow_save(demo_world *w, struct feature *ft, int i)
{
	struct qrow *r = &ft->rows[i];
	char now[32], ready[32], started[32];
	demo_iso8601(w->now, now, sizeof now);
	demo_iso8601(r->ready, ready, sizeof ready);
	demo_iso8601(r->started, started, sizeof started);
	const char *phase = NULL;
	for (int k = 0; r->status == Q_RUNNING && k < MAX_WORKFLOWS; k++)
		if (w->wf[k].used && !strcmp(w->wf[k].id, r->adw_id) && w->wf[k].phase >= 0)
			phase = phase_names[w->wf[k].phase];
	demo_store_exec(
	    w->st,
	    "UPDATE phase_queue SET status = $1, issue_number = $2, current_phase = $3, "
	    "updated_at = $4, error_message = $5, adw_id = $6, pr_number = $7, "
	    "ready_timestamp = $8, started_timestamp = $9 WHERE queue_id = $10",
	    "sjssssjsss", q_names[r->status], r->issue, phase, now, r->error[0] ? r->error : NULL,
	    r->adw_id[0] ? r->adw_id : NULL, r->pr, r->ready > 0 ? ready : NULL,
	    r->started > 0 ? started : NULL, r->queue_id);
	r->dirty = 0;
}

static void feature_create(demo_world *w, struct feature *ft)
{
	memset(ft, 0, sizeof *ft);
	ft->used = 1;
	ft->feature_id = w->next_feature++;
	ft->req = demo_range(&w->rng, 0, NREQUESTS - 1);
	ft->nphases = demo_range(&w->rng, 2, MAX_FEATURE_PHASES);
	char now[32];
	demo_iso8601(w->now, now, sizeof now);
	for (int i = 0; i < ft->nphases; i++) {
		struct qrow *r = &ft->rows[i];
		snprintf(r->queue_id, sizeof r->queue_id, "q-%d-%d-%04x", ft->feature_id, i + 1,
		         demo_rand(&w->rng) & 0xffff);
		json_object *deps = json_object_new_array();
		if (i > 0)
			json_object_array_add(deps, json_object_new_int(i));
		json_object *data = json_object_new_object();
		char title[160];
		snprintf(title, sizeof title, "Phase %d of %d: %.100s", i + 1, ft->nphases,
		         requests[ft->req].text);
		add(data, "title", jstr(title));
		add(data, "content", jstr(requests[ft->req].text));
		add(data, "parent_issue", json_object_new_int(ft->feature_id));
		add(data, "external_docs", json_object_new_array());
		demo_store_exec(
		    w->st,
		    "INSERT INTO phase_queue (queue_id, feature_id, phase_number, status, "
		    "depends_on_phases, phase_data, created_at, updated_at, priority, "
		    "queue_position) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6, $7, $8)",
		    "siisssii", r->queue_id, ft->feature_id, i + 1,
		    json_object_to_json_string_ext(deps, JSON_C_TO_STRING_PLAIN),
		    json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN), now,
		    demo_range(&w->rng, 1, 4) * 25, w->next_queue++);
		json_object_put(deps);
		json_object_put(data);
	}
}

static void feature_drop(demo_world *w, struct feature *ft)
{
	demo_store_exec(w->st, "DELETE FROM phase_queue WHERE feature_id = $1", "i",
	                ft->feature_id);
	ft->used = 0;
}

static struct qrow *row_of(demo_world *w, const struct wf *f)
{
	if (f->feature < 0 || !w->feat[f->feature].used)
		return NULL;
	struct qrow *r = &w->feat[f->feature].rows[f->fphase];
	return strcmp(r->adw_id, f->id) ? NULL : r;
}

static void queue_set_paused(demo_world *w, int paused)
{
	char now[32];
	demo_iso8601(w->now, now, sizeof now);
	w->paused = paused;
	demo_store_exec(
	    w->st,
	    "INSERT OR REPLACE INTO queue_config (config_key, config_value, updated_at) "
	    "VALUES ('queue_paused', $1, $2)",
	    "ss", paused ? "true" : "false", now);
}

static int active_count(const demo_world *w)
{
	int n = 0;
	for (int i = 0; i < MAX_WORKFLOWS; i++)
		if (w->wf[i].used && w->wf[i].status <= WF_PAUSED)
			n++;
	return n;
}

static void wf_remove(demo_world *w, struct wf *f)
{
	char path[PATH_MAX];
	proc_stop(f);
	wf_path(w, f, NULL, path, sizeof path);
	demo_rmtree(path);
	tree_path(w, f, path, sizeof path);
	demo_rmtree(path);
	f->used = 0;
}

/* A free slot, pruning the oldest finished workflow when agents/ is full. */
static struct wf *wf_slot(demo_world *w)
{
	struct wf *oldest = NULL;
	for (int i = 0; i < MAX_WORKFLOWS; i++) {
		struct wf *f = &w->wf[i];
		if (!f->used)
			return f;
		if (f->status >= WF_COMPLETED && !f->pinned && (!oldest || f->end < oldest->end))
			oldest = f;
	}
	if (oldest)
		wf_remove(w, oldest);
	return oldest;
}

static void history_insert(demo_world *w, const struct wf *f)
{
	char now[32], start[32], tree[PATH_MAX], branch[256], url[128];
	demo_iso8601(w->now, now, sizeof now);
	demo_iso8601(f->start, start, sizeof start);
	tree_path(w, f, tree, sizeof tree);
	snprintf(branch, sizeof branch, "%s-issue-%s-adw-%s-%s", requests[f->req].cls + 1, f->issue,
	         f->id, requests[f->req].slug);
	snprintf(url, sizeof url, REPO_URL "/issues/%d", f->issue_int);
	demo_store_exec(w->st,
	                "INSERT INTO workflow_history (adw_id, issue_class, nl_input, github_url, "
	                "branch_name, worktree_path, workflow_template, model_used, status, "
	                "start_time, phase_count, estimated_cost_total, actual_cost_total, "
	                "created_at, updated_at, issue_number) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	                "$8, 'pending', $9, $10, $11, 0, $12, $12, $13)",
	                "sssssssssidsj", f->id, requests[f->req].cls, requests[f->req].text,
	                f->issue_int > 0 ? url : NULL, branch, tree, templates[f->tmpl],
	                models[f->model], start, NPHASES, round4(est_total(f)), now, f->issue_int);
}

static void history_update(demo_world *w, const struct wf *f)
{
	static const char *const st[] = {"pending", "running", "running", "completed", "failed"};
	char now[32], end[32], start[32];
	demo_iso8601(w->now, now, sizeof now);
	demo_iso8601(f->end, end, sizeof end);
	demo_iso8601(f->start, start, sizeof start);
	int finished = f->status >= WF_COMPLETED;
	demo_store_exec(
	    w->st,
	    "UPDATE workflow_history SET status = $1, current_phase = $2, "
	    "actual_cost_total = $3, error_message = $4, updated_at = $5, end_time = $6, "
	    "start_time = $8 WHERE adw_id = $7",
	    "ssdsssss", st[f->status], f->phase >= 0 ? phase_names[f->phase] : NULL,
	    round4(cost_total(f)), f->status == WF_FAILED ? f->last_error : NULL, now,
	    finished ? end : NULL, f->id, start);
	if (finished)
		demo_store_exec(
		    w->st, "UPDATE workflow_history SET duration_seconds = $1 WHERE adw_id = $2",
		    "ds", round(f->end - f->start), f->id);
}

static struct wf *wf_create(demo_world *w, int feature, int fphase, int issue)
{
	struct wf *f = wf_slot(w);
	if (!f)
		return NULL;
	int slot = (int)(f - w->wf);
	memset(f, 0, sizeof *f);
	f->used = 1;
	for (int unique = 0; !unique;) {
		snprintf(f->id, sizeof f->id, "%08x", demo_rand(&w->rng));
		unique = 1;
		for (int i = 0; i < MAX_WORKFLOWS; i++)
			if (&w->wf[i] != f && w->wf[i].used && !strcmp(w->wf[i].id, f->id))
				unique = 0;
	}
	f->issue_int = issue > 0 ? issue : issue < 0 ? -1 : w->next_issue++;
	if (f->issue_int > 0)
		snprintf(f->issue, sizeof f->issue, "%d", f->issue_int);
	else /* started from the request form, before any GitHub issue existed */
		snprintf(f->issue, sizeof f->issue, "ui-request-%d", -issue);
	f->req = feature >= 0 ? w->feat[feature].req : demo_range(&w->rng, 0, NREQUESTS - 1);
	f->tmpl = demo_range(&w->rng, 0, 3);
	f->model = demo_range(&w->rng, 0, 2);
	f->heavy = f->model == 1;
	f->phase = -1;
	f->status = WF_QUEUED;
	f->feature = feature;
	f->fphase = fphase;
	f->backend_port = 9100 + slot;
	f->frontend_port = 9200 + slot;
	f->start = w->now;
	for (int p = 0; p < NPHASES; p++)
		f->est[p] = round4(demo_uniform(&w->rng, 0.04, 0.45) * model_price[f->model]);
	f->next_tick = w->tick + demo_range(&w->rng, 2, 6);
	f->dirty = 1;
	char path[PATH_MAX];
	wf_path(w, f, NULL, path, sizeof path);
	demo_mkdirs(path);
	wf_path(w, f, "error.log", path, sizeof path);
	demo_write_atomic(path, "", 0);
	history_insert(w, f);
	return f;
}

static void phase_begin(demo_world *w, struct wf *f)
{
	char path[PATH_MAX], rel[64], now[32];
	int p = f->phase;
	if (phase_has_marker[p]) {
		snprintf(rel, sizeof rel, "adw_%s_iso", phase_names[p]);
		wf_path(w, f, rel, path, sizeof path);
		demo_mkdirs(path);
	}
	f->phase_start = w->now;
	demo_iso8601(w->now, now, sizeof now);
	snprintf(rel, sizeof rel, "Starting %s phase", phase_names[p]);
	demo_store_exec(
	    w->st,
	    "INSERT INTO task_logs (adw_id, issue_number, workflow_template, phase_name, "
	    "phase_number, phase_status, log_message, started_at, created_at) "
	    "VALUES ($1, $2, $3, $4, $5, 'started', $6, $7, $7)",
	    "sjssiss", f->id, f->issue_int, templates[f->tmpl], phase_names[p], p + 1, rel, now);
}

static void phase_end(demo_world *w, struct wf *f, const char *status, const char *error)
{
	char now[32], msg[96], path[PATH_MAX], rel[64], line[256];
	int p = f->phase;
	double secs = round(w->now - f->phase_start);
	f->cost[p] = round4(f->est[p] * demo_uniform(&w->rng, 0.6, 1.4) *
	                    (error ? demo_uniform(&w->rng, 0.2, 0.8) : 1.0));
	int tokens = (int)(f->cost[p] / model_price[f->model] * 180000);
	demo_iso8601(w->now, now, sizeof now);
	snprintf(msg, sizeof msg, "%s phase %s", phase_titles[p], status);
	demo_store_exec(
	    w->st,
	    "UPDATE task_logs SET phase_status = $1, log_message = $2, error_message = $3, "
	    "completed_at = $4, duration_seconds = $5, tokens_used = $6, cost_usd = $7 "
	    "WHERE adw_id = $8 AND phase_name = $9 AND phase_status = 'started'",
	    "ssssdidss", status, msg, error, now, secs, tokens, f->cost[p], f->id, phase_names[p]);
	snprintf(rel, sizeof rel, "%s", phase_agents[p]);
	wf_path(w, f, rel, path, sizeof path);
	demo_mkdirs(path);
	snprintf(rel, sizeof rel, "%s/raw_output.jsonl", phase_agents[p]);
	wf_path(w, f, rel, path, sizeof path);
	snprintf(line, sizeof line,
	         "{\"type\":\"result\",\"subtype\":\"%s\",\"is_error\":%s,\"duration_ms\":%.0f,"
	         "\"total_cost_usd\":%.4f,\"session_id\":\"%s-%s\"}\n",
	         error ? "error_during_execution" : "success", error ? "true" : "false",
	         secs * 1000, f->cost[p], f->id, phase_names[p]);
	demo_append(path, line);
}

static void wf_finish(demo_world *w, struct wf *f, enum wf_status status)
{
	char path[PATH_MAX];
	f->status = status;
	f->end = w->now;
	proc_stop(f);
	tree_path(w, f, path, sizeof path);
	demo_rmtree(path);
	history_update(w, f);
	struct qrow *r = row_of(w, f);
	if (r) {
		struct feature *ft = &w->feat[f->feature];
		r->status = status == WF_COMPLETED ? Q_COMPLETED : Q_FAILED;
		if (status == WF_COMPLETED)
			r->pr = 400 + demo_range(&w->rng, 0, 599);
		else
			snprintf(r->error, sizeof r->error, "%s", f->last_error);
		r->dirty = 1;
		if (status == WF_FAILED) {
			for (int i = f->fphase + 1; i < ft->nphases; i++) {
				ft->rows[i].status = Q_BLOCKED;
				snprintf(ft->rows[i].error, sizeof ft->rows[i].error,
				         "Blocked: phase %d failed", f->fphase + 1);
				ft->rows[i].dirty = 1;
			}
		}
	}
}

static void wf_begin(demo_world *w, struct wf *f)
{
	char path[PATH_MAX];
	f->status = WF_RUNNING;
	f->phase = 0;
	f->start = w->now;
	tree_path(w, f, path, sizeof path);
	demo_mkdirs(path);
	phase_begin(w, f);
	proc_start(w, f);
	history_update(w, f);
	f->dirty = 1;
}

static void wf_advance(demo_world *w, struct wf *f)
{
	phase_end(w, f, "completed", NULL);
	f->done = f->phase + 1;
	if (f->done == NPHASES) {
		wf_finish(w, f, WF_COMPLETED);
	} else {
		f->phase++;
		phase_begin(w, f);
		history_update(w, f);
	}
	struct qrow *r = row_of(w, f);
	if (r)
		r->dirty = 1;
	f->dirty = 1;
}

static void wf_fail(demo_world *w, struct wf *f)
{
	const char *why =
	    failures[demo_range(&w->rng, 0, (int)(sizeof failures / sizeof *failures) - 1)];
	f->error_count++;
	snprintf(f->last_error, sizeof f->last_error, "%s", why);
	log_error(w, f, "ERROR", why);
	phase_end(w, f, "failed", why);
	wf_finish(w, f, WF_FAILED);
	f->dirty = 1;
}

static void wf_pause(demo_world *w, struct wf *f)
{
	f->status = WF_PAUSED;
	proc_stop(f);
	log_error(w, f, "WARNING", "Paused: waiting for a free worktree port");
	f->dirty = 1;
}

static void wf_resume(demo_world *w, struct wf *f)
{
	f->status = WF_RUNNING;
	proc_start(w, f);
	f->dirty = 1;
}

static void wf_warn(demo_world *w, struct wf *f)
{
	const char *why =
	    warnings[demo_range(&w->rng, 0, (int)(sizeof warnings / sizeof *warnings) - 1)];
	f->error_count++;
	snprintf(f->last_error, sizeof f->last_error, "%s", why);
	log_error(w, f, "WARNING", why);
	f->dirty = 1;
}

static void wf_step(demo_world *w, struct wf *f)
{
	switch (f->status) {
	case WF_QUEUED:
		wf_begin(w, f);
		f->next_tick = w->tick + demo_range(&w->rng, 2, 5);
		break;
	case WF_RUNNING:
		if (demo_chance(&w->rng, 0.025)) {
			wf_fail(w, f);
		} else if (demo_chance(&w->rng, 0.04)) {
			wf_pause(w, f);
			f->next_tick = w->tick + demo_range(&w->rng, 6, 14);
		} else {
			if (demo_chance(&w->rng, 0.06))
				wf_warn(w, f);
			wf_advance(w, f);
			f->next_tick = w->tick + demo_range(&w->rng, 2, 5);
		}
		break;
	case WF_PAUSED:
		wf_resume(w, f);
		f->next_tick = w->tick + demo_range(&w->rng, 2, 5);
		break;
	default:
		break;
	}
}

static void webhook_publish(demo_world *w)
{
	long long up = (long long)(w->now - w->trigger_started);
	/* Whole minutes, so a poll sees a change only when something happened. */
	up -= up % 60;
	w->wh_uptime_shown = up;
	char human[48];
	snprintf(human, sizeof human, "%lldh %lldm", up / 3600, up / 60 % 60);
	json_object *o = json_object_new_object();
	double rate = w->wh_total ? 100.0 * (double)w->wh_ok / (double)w->wh_total : 100.0;
	add(o, "status", jstr(rate >= 80 ? "healthy" : "degraded"));
	json_object *uptime = json_object_new_object();
	add(uptime, "seconds", json_object_new_int64(up));
	add(uptime, "human", jstr(human));
	add(o, "uptime", uptime);
	json_object *stats = json_object_new_object();
	add(stats, "total_received", json_object_new_int64(w->wh_total));
	add(stats, "successful", json_object_new_int64(w->wh_ok));
	add(stats, "failed", json_object_new_int64(w->wh_failed));
	char buf[16];
	snprintf(buf, sizeof buf, "%.1f", rate);
	add(stats, "success_rate", json_object_new_double_s(atof(buf), buf));
	add(o, "stats", stats);
	add(o, "recent_failures", json_object_get(w->wh_failures));
	add(o, "last_successful", json_object_get(w->wh_last));
	demo_http_set_webhook_status(
	    w->http, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void webhook_arrive(demo_world *w, const struct wf *f)
{
	w->wh_total++;
	if (f) {
		w->wh_ok++;
		json_object_put(w->wh_last);
		w->wh_last = json_object_new_object();
		add(w->wh_last, "timestamp", jtime(w->now));
		add(w->wh_last, "issue_number", json_object_new_int(f->issue_int));
		add(w->wh_last, "adw_id", jstr(f->id));
		add(w->wh_last, "workflow", jstr(templates[f->tmpl]));
	} else {
		static const char *const why[] = {"Invalid signature",
		                                  "Issue comment without an adw trigger keyword",
		                                  "Rate limited: too many workflows for one issue"};
		w->wh_failed++;
		json_object *e = json_object_new_object();
		add(e, "timestamp", jtime(w->now));
		add(e, "issue_number",
		    json_object_new_int(w->next_issue + demo_range(&w->rng, 0, 3)));
		add(e, "event", jstr(demo_chance(&w->rng, 0.5) ? "issues" : "issue_comment"));
		add(e, "error", jstr(why[demo_range(&w->rng, 0, 2)]));
		json_object *list = json_object_new_array();
		json_object_array_add(list, e);
		for (size_t i = 0; i < json_object_array_length(w->wh_failures) && i < 4; i++)
			json_object_array_add(
			    list, json_object_get(json_object_array_get_idx(w->wh_failures, i)));
		json_object_put(w->wh_failures);
		w->wh_failures = list;
	}
	webhook_publish(w);
}

static const struct route {
	const char *path, *method, *op, *summary, *tag;
} routes[] = {
    {"/api/v1/health", "get", "health_check", "Health check", "system"},
    {"/api/v1/workflows", "get", "list_workflows", "List active workflows", "workflows"},
    {"/api/v1/workflows/{adw_id}", "get", "get_workflow", "Get one workflow's state", "workflows"},
    {"/api/v1/workflow-history", "get", "get_workflow_history", "Workflow history and analytics",
     "workflows"},
    {"/api/v1/adw-monitor", "get", "get_adw_monitor", "ADW monitor summary", "workflows"},
    {"/api/v1/queue", "get", "list_queue", "List the phase queue", "queue"},
    {"/api/v1/queue", "options", "queue_options", "CORS preflight", "queue"},
    {"/api/v1/queue/pause", "post", "pause_queue", "Pause the phase queue", "queue"},
    {"/api/v1/queue/resume", "post", "resume_queue", "Resume the phase queue", "queue"},
    {"/api/v1/queue/{queue_id}", "delete", "remove_from_queue", "Remove a queued phase", "queue"},
    {"/api/v1/request", "post", "submit_request", "Submit a natural-language request", "requests"},
    {"/api/v1/request", "options", "request_options", "CORS preflight", "requests"},
    {"/api/v1/preview/{request_id}", "get", "get_preview", "Preview the generated issue",
     "requests"},
    {"/api/v1/confirm/{request_id}", "post", "confirm_request", "Create the GitHub issue",
     "requests"},
    {"/api/v1/routes", "get", "list_routes", "List backend routes", "system"},
    {"/api/v1/system-status", "get", "get_system_status", "Service health overview", "system"},
    {"/api/v1/services/webhook/restart", "post", "restart_webhook_service",
     "Restart the webhook trigger service", "system"},
    {"/api/v1/cost-estimate/{adw_id}", "get", "get_cost_estimate", "Estimated cost of a workflow",
     "workflows"},
    {"/docs", "get", "swagger_ui_html", "Swagger UI", NULL},
    {"/redoc", "get", "redoc_html", "ReDoc", NULL},
    {"/openapi.json", "get", "openapi", "OpenAPI document", NULL},
    /* Comes and goes, so the routes feed has something to push. */
    {"/api/v1/workflows/{adw_id}/cancel", "post", "cancel_workflow", "Cancel a running workflow",
     "workflows"},
};
#define NROUTES ((int)(sizeof routes / sizeof *routes))

static void openapi_publish(demo_world *w)
{
	json_object *doc = json_object_new_object();
	add(doc, "openapi", jstr("3.1.0"));
	json_object *info = json_object_new_object();
	add(info, "title", jstr("TAC WebBuilder API"));
	add(info, "version", jstr("1.4.0"));
	add(doc, "info", info);
	json_object *paths = json_object_new_object();
	for (int i = 0; i < NROUTES - (w->extra_route ? 0 : 1); i++) {
		const struct route *r = &routes[i];
		json_object *item = NULL;
		if (!json_object_object_get_ex(paths, r->path, &item)) {
			item = json_object_new_object();
			add(paths, r->path, item);
		}
		json_object *op = json_object_new_object();
		char op_id[128], desc[160];
		snprintf(op_id, sizeof op_id, "%s_%s", r->op, r->method);
		snprintf(desc, sizeof desc, "%s.", r->summary);
		add(op, "tags", json_object_new_array());
		if (r->tag)
			json_object_array_add(json_object_object_get(op, "tags"), jstr(r->tag));
		add(op, "summary", jstr(r->summary));
		add(op, "description", jstr(desc));
		add(op, "operationId", jstr(op_id));
		json_object *resp = json_object_new_object(), *ok = json_object_new_object();
		add(ok, "description", jstr("Successful Response"));
		add(resp, "200", ok);
		add(op, "responses", resp);
		add(item, r->method, op);
	}
	add(doc, "paths", paths);
	demo_http_set_openapi(w->http,
	                      json_object_to_json_string_ext(
	                          doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

static void queue_step(demo_world *w)
{
	for (int i = 0; i < MAX_FEATURES; i++) {
		struct feature *ft = &w->feat[i];
		if (!ft->used) {
			if (demo_chance(&w->rng, w->live ? 0.15 : 1.0))
				feature_create(w, ft);
			continue;
		}
		if (ft->finished_tick) {
			if (w->tick - ft->finished_tick > 15)
				feature_drop(w, ft);
			continue;
		}
		int k = 0;
		while (k < ft->nphases && ft->rows[k].status == Q_COMPLETED)
			k++;
		if (k == ft->nphases || ft->rows[k].status == Q_FAILED) {
			ft->finished_tick = w->tick;
			continue;
		}
		struct qrow *r = &ft->rows[k];
		if (r->status == Q_QUEUED) {
			r->status = Q_READY;
			r->issue = w->next_issue++;
			r->ready = w->now;
			r->dirty = 1;
		} else if (r->status == Q_READY && !w->paused && demo_chance(&w->rng, 0.5) &&
		           active_count(w) < MAX_ACTIVE + 2) {
			struct wf *f = wf_create(w, i, k, r->issue);
			if (!f)
				continue;
			wf_begin(w, f);
			f->next_tick = w->tick + demo_range(&w->rng, 2, 5);
			r->status = Q_RUNNING;
			snprintf(r->adw_id, sizeof r->adw_id, "%s", f->id);
			r->started = w->now;
			r->dirty = 1;
		}
	}
}

static void flush(demo_world *w)
{
	for (int i = 0; i < MAX_WORKFLOWS; i++) {
		struct wf *f = &w->wf[i];
		if (f->used && f->torn_until && w->tick >= f->torn_until) {
			f->torn_until = 0;
			f->dirty = 1;
		}
		if (f->used && f->dirty && !f->torn_until)
			write_state(w, f);
	}
	for (int i = 0; i < MAX_FEATURES; i++)
		for (int k = 0; w->feat[i].used && k < w->feat[i].nphases; k++)
			if (w->feat[i].rows[k].dirty)
				qrow_save(w, &w->feat[i], k);
}

/* Leaves one state file half-written for about three seconds. */
static void tear_one(demo_world *w)
{
	struct wf *f = &w->wf[demo_range(&w->rng, 0, MAX_WORKFLOWS - 1)];
	if (!f->used || f->torn_until)
		return;
	char path[PATH_MAX];
	json_object *state = state_json(w, f);
	const char *text = json_object_to_json_string_ext(state, JSON_C_TO_STRING_PRETTY |
	                                                             JSON_C_TO_STRING_SPACED);
	wf_path(w, f, "adw_state.json", path, sizeof path);
	demo_write_partial(path, text, strlen(text) / 2);
	json_object_put(state);
	int ticks = 3000 / (w->opts->tick_ms > 0 ? w->opts->tick_ms : 1000);
	f->torn_until = w->tick + (ticks > 0 ? ticks : 1);
	if (!w->opts->quiet)
		demo_log("left %s half-written on purpose", path);
}

static void prune_rows(demo_world *w)
{
	demo_store_exec(w->st,
	                "DELETE FROM workflow_history WHERE id NOT IN (SELECT id FROM "
	                "workflow_history ORDER BY created_at DESC, id DESC LIMIT $1)",
	                "i", HISTORY_KEEP);
	demo_store_exec(w->st,
	                "DELETE FROM task_logs WHERE id <= (SELECT max(id) FROM task_logs) - $1",
	                "i", TASK_LOGS_KEEP);
}

static void step(demo_world *w)
{
	w->tick++;
	proc_reap(w);
	if (w->tick >= w->pause_toggle_tick) {
		queue_set_paused(w, !w->paused);
		w->pause_toggle_tick = w->tick + (w->paused ? demo_range(&w->rng, 8, 16)
		                                            : demo_range(&w->rng, 40, 90));
	}
	queue_step(w);
	for (int i = 0; i < MAX_WORKFLOWS; i++)
		if (w->wf[i].used && w->wf[i].next_tick <= w->tick)
			wf_step(w, &w->wf[i]);
	if (active_count(w) < MAX_ACTIVE - 2 ||
	    (active_count(w) < MAX_ACTIVE && demo_chance(&w->rng, 0.15))) {
		struct wf *f = wf_create(w, -1, 0, 0);
		if (f)
			webhook_arrive(w, f);
	}
	if (demo_chance(&w->rng, 0.012))
		webhook_arrive(w, NULL);
	if ((long long)(w->now - w->trigger_started) / 60 != w->wh_uptime_shown / 60)
		webhook_publish(w);
	if (demo_chance(&w->rng, 0.02)) {
		w->extra_route = !w->extra_route;
		openapi_publish(w);
	}
	if (w->live && demo_chance(&w->rng, 0.015))
		tear_one(w);
	if (w->tick % 50 == 0)
		prune_rows(w);
	flush(w);
}

/* Finished runs from the past week, so the history feed has analytics. */
static void seed_history(demo_world *w)
{
	for (int i = 0; i < 36; i++) {
		double start =
		    w->now - 7 * 86400 + i * (6.5 * 86400 / 36) + demo_uniform(&w->rng, 0, 3600);
		double dur = demo_uniform(&w->rng, 240, 2400);
		int req = demo_range(&w->rng, 0, NREQUESTS - 1), model = demo_range(&w->rng, 0, 2);
		int failed = demo_chance(&w->rng, 0.2);
		int issue = 40 + i * 3;
		double est = demo_uniform(&w->rng, 0.8, 3.5) * model_price[model];
		double cost = est * demo_uniform(&w->rng, failed ? 0.2 : 0.7, failed ? 0.7 : 1.3);
		char id[9], s[32], e[32], url[128];
		snprintf(id, sizeof id, "%08x", demo_rand(&w->rng));
		demo_iso8601(start, s, sizeof s);
		demo_iso8601(start + dur, e, sizeof e);
		snprintf(url, sizeof url, REPO_URL "/issues/%d", issue);
		demo_store_exec(
		    w->st,
		    "INSERT INTO workflow_history (adw_id, issue_number, issue_class, nl_input, "
		    "github_url, workflow_template, model_used, status, start_time, end_time, "
		    "duration_seconds, error_message, phase_count, current_phase, "
		    "estimated_cost_total, actual_cost_total, created_at, updated_at) VALUES ($1, "
		    "$2, "
		    "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $9, $10)",
		    "sissssssssdsisdd", id, issue, requests[req].cls, requests[req].text, url,
		    templates[demo_range(&w->rng, 0, 3)], models[model],
		    failed ? "failed" : "completed", s, e, round(dur),
		    failed ? failures[demo_range(&w->rng, 0, 4)] : NULL, NPHASES,
		    failed ? phase_names[demo_range(&w->rng, 2, 5)] : "cleanup", round4(est),
		    round4(cost));
	}
}

static int has_status(const demo_world *w, enum wf_status st)
{
	for (int i = 0; i < MAX_WORKFLOWS; i++)
		if (w->wf[i].used && w->wf[i].status == st)
			return 1;
	return 0;
}

/* Runs one made-up workflow to the wanted status, a few story seconds per
 * step, when the random warm-up did not leave one in that status. */
static void ensure_status(demo_world *w, enum wf_status want, int phases)
{
	if (has_status(w, want) || active_count(w) >= MAX_ACTIVE + 2)
		return;
	struct wf *f = wf_create(w, -1, 0, 0);
	if (!f || want == WF_QUEUED)
		return;
	w->now += 8;
	wf_begin(w, f);
	for (int p = 0; p < phases; p++) {
		w->now += 8;
		wf_advance(w, f);
	}
	w->now += 8;
	if (want == WF_FAILED)
		wf_fail(w, f);
	else if (want == WF_PAUSED)
		wf_pause(w, f);
	f->next_tick = w->tick + demo_range(&w->rng, 3, 8);
}

static int prepare_root(demo_world *w)
{
	char path[PATH_MAX];
	int rc = demo_mkdirs(w->opts->repo_root);
	if (rc || !realpath(w->opts->repo_root, path)) {
		demo_log("cannot use %s as repo root: %s", w->opts->repo_root,
		         strerror(rc ? -rc : errno));
		return rc ? rc : -errno;
	}
	if (strlen(path) >= sizeof w->root) {
		demo_log("repo root path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(w->root, path);
	snprintf(path, sizeof path, "%s/" MARKER, w->root);
	int ours = access(path, F_OK) == 0;
	snprintf(path, sizeof path, "%s/agents", w->root);
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		int empty = 1;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				empty = 0;
		closedir(d);
		if (!empty && !ours) {
			demo_log("%s holds workflows tacws-demo did not make; use an empty folder",
			         path);
			return -EEXIST;
		}
	}
	demo_rmtree(path);
	snprintf(path, sizeof path, "%s/trees", w->root);
	demo_rmtree(path);
	static const char *const dirs[] = {"agents", "trees", "db"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(path, sizeof path, "%s/%s", w->root, dirs[i]);
		if ((rc = demo_mkdirs(path)))
			return rc;
	}
	snprintf(path, sizeof path, "%s/" MARKER, w->root);
	const char *note = "Made by tacws-demo; it clears agents/ and trees/ here at each start.\n";
	return demo_write_atomic(path, note, strlen(note));
}

int demo_world_create(const demo_opts *opts, demo_http *http, demo_world **out)
{
	demo_world *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->opts = opts;
	w->http = http;
	demo_rng_seed(&w->rng, opts->seed);
	int rc = prepare_root(w);
	if (rc)
		goto fail;
	char db[PATH_MAX];
	if (opts->database)
		snprintf(db, sizeof db, "%s", opts->database);
	else
		snprintf(db, sizeof db, "%s/db/database.db", w->root);
	char *slash = strrchr(db, '/');
	if (slash && slash != db) {
		*slash = '\0';
		demo_mkdirs(db);
		*slash = '/';
	}
	if ((rc = demo_store_open(db, opts->schema, &w->st)))
		goto fail;
	if ((rc = demo_store_begin(w->st)))
		goto fail;

	/* Build the first state by living through the last hour quickly. */
	double real = demo_now();
	w->now = real - 3300;
	w->next_issue = 150;
	w->next_feature = 120;
	w->next_queue = 1;
	w->trigger_started = real - 3 * 3600 - demo_range(&w->rng, 0, 3600);
	w->wh_failures = json_object_new_array();
	w->pause_toggle_tick = demo_range(&w->rng, 30, 60);
	queue_set_paused(w, 0);
	seed_history(w);
	struct wf *adhoc = wf_create(w, -1, 0, -7);
	if (adhoc) {
		adhoc->pinned = 1;
		wf_begin(w, adhoc);
		for (int p = 0; p < NPHASES; p++) {
			w->now += 20;
			wf_advance(w, adhoc);
		}
	}
	for (int i = 0; i < 150; i++) {
		w->now += 20;
		step(w);
	}
	ensure_status(w, WF_COMPLETED, NPHASES);
	ensure_status(w, WF_FAILED, 3);
	ensure_status(w, WF_PAUSED, 5);
	ensure_status(w, WF_RUNNING, 2);
	ensure_status(w, WF_QUEUED, 0);

	w->live = 1;
	w->now = demo_now();
	for (int i = 0; i < MAX_WORKFLOWS; i++)
		if (w->wf[i].used && w->wf[i].status == WF_RUNNING)
			proc_start(w, &w->wf[i]);
	flush(w);
	webhook_publish(w);
	openapi_publish(w);
	if ((rc = demo_store_commit(w->st)))
		goto fail;
	*out = w;
	return 0;
fail:
	demo_world_free(w);
	return rc;
}

int demo_world_tick(demo_world *w)
{
	w->now = demo_now();
	int rc = demo_store_begin(w->st);
	if (rc)
		return rc;
	step(w);
	return demo_store_commit(w->st);
}

void demo_world_free(demo_world *w)
{
	if (!w)
		return;
	for (int i = 0; i < MAX_WORKFLOWS; i++) {
		proc_stop(&w->wf[i]);
		/* a torn file is a moment's show, never what the demo leaves behind */
		if (w->wf[i].used && w->wf[i].torn_until)
			write_state(w, &w->wf[i]);
	}
	json_object_put(w->wh_failures);
	json_object_put(w->wh_last);
	demo_store_close(w->st);
	free(w);
}
