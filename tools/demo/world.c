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
#include <time.h>
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
	double est[NPHASES], cost[NPHASES], dur[NPHASES], phase_start;
	int concurrent, reused; /* workflows active when it started; worktree reused */
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
	demo_plans *plans;
	demo_quality *quality;
	pid_t tunnel_pid;
	int tunnel_up, tunnel_toggle_tick;
};

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
	demo_jadd(o, "adw_id", demo_jstr(f->id));
	demo_jadd(o, "issue_number", demo_jstr(f->issue));
	snprintf(buf, sizeof buf, "%s-issue-%s-adw-%s-%s", cls + 1, f->issue, f->id,
	         requests[f->req].slug);
	demo_jadd(o, "branch_name", demo_jstr(buf));
	snprintf(buf, sizeof buf, "specs/issue-%s-adw-%s-sdlc_planner-%s.md", f->issue, f->id,
	         requests[f->req].slug);
	demo_jadd(o, "plan_file", f->done > 0 ? demo_jstr(buf) : NULL);
	demo_jadd(o, "issue_class", demo_jstr(cls));
	tree_path(w, f, buf, sizeof buf);
	demo_jadd(o, "worktree_path", demo_jstr(buf));
	demo_jadd(o, "backend_port", json_object_new_int(f->backend_port));
	demo_jadd(o, "frontend_port", json_object_new_int(f->frontend_port));
	demo_jadd(o, "model_set", demo_jstr(f->heavy ? "heavy" : "base"));
	json_object *adws = json_object_new_array();
	json_object_array_add(adws, demo_jstr(templates[f->tmpl]));
	for (int p = 0; p <= f->phase && p < NPHASES; p++) {
		if (!phase_has_marker[p])
			continue;
		snprintf(buf, sizeof buf, "adw_%s_iso", phase_names[p]);
		json_object_array_add(adws, demo_jstr(buf));
	}
	demo_jadd(o, "all_adws", adws);
	demo_jadd(o, "estimated_cost_total", demo_jnum(4, est_total(f)));
	json_object *bd = json_object_new_object();
	for (int p = 0; p < NPHASES; p++)
		demo_jadd(bd, phase_names[p], demo_jnum(4, f->est[p]));
	demo_jadd(o, "estimated_cost_breakdown", bd);
	demo_jadd(o, "workflow_template", demo_jstr(templates[f->tmpl]));
	demo_jadd(o, "model_used", demo_jstr(models[f->model]));
	demo_jadd(o, "start_time", demo_jtime(f->start));
	demo_jadd(o, "nl_input", demo_jstr(requests[f->req].text));
	if (f->issue_int > 0)
		snprintf(buf, sizeof buf, REPO_URL "/issues/%d", f->issue_int);
	else
		snprintf(buf, sizeof buf, REPO_URL);
	demo_jadd(o, "github_url", demo_jstr(buf));
	if (f->status == WF_COMPLETED || f->status == WF_FAILED) {
		demo_jadd(o, "end_time", demo_jtime(f->end));
		demo_jadd(o, "status", demo_jstr(f->status == WF_COMPLETED ? "completed" : "failed"));
	}
	if (f->error_count) {
		demo_jadd(o, "error_count", json_object_new_int(f->error_count));
		demo_jadd(o, "last_error", demo_jstr(f->last_error));
	}
	return o;
}

static json_object *completed_json(const demo_world *w, const struct wf *f)
{
	json_object *o = json_object_new_object();
	json_object *done = json_object_new_array();
	for (int p = 0; p < f->done; p++)
		json_object_array_add(done, demo_jstr(phase_titles[p]));
	demo_jadd(o, "completed", done);
	int current = f->status == WF_RUNNING || f->status == WF_PAUSED;
	demo_jadd(o, "current", current ? demo_jstr(phase_titles[f->phase]) : NULL);
	demo_jadd(o, "last_updated", demo_jtime(w->now));
	return o;
}

static int write_state(demo_world *w, struct wf *f)
{
	char path[PATH_MAX];
	json_object *state = state_json(w, f), *done = completed_json(w, f);
	wf_path(w, f, "adw_state.json", path, sizeof path);
	int rc = demo_write_json(path, state);
	wf_path(w, f, "completed_phases.json", path, sizeof path);
	if (!rc)
		rc = demo_write_json(path, done);
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

/* A child `sleep` whose command line reads argv0, so process checks find it;
 * 0 when none could be started. */
static pid_t spawn_sleeper(const char *argv0)
{
	pid_t parent = getpid();
	/* Until exec, the child would run our SIGTERM handler and survive a
	 * stop_child: keep signals blocked until it has the default handlers. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		char *const argv[] = {(char *)argv0, "86400", NULL};
		execvp("sleep", argv);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		demo_log("fork: %s", strerror(errno));
	return pid > 0 ? pid : 0;
}

static void stop_child(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static void proc_start(demo_world *w, struct wf *f)
{
	if (!w->live || !w->opts->spawn_processes || f->pid > 0)
		return;
	/* The process monitor finds a run by its adw_id in a command line. */
	char argv0[128];
	snprintf(argv0, sizeof argv0, "uv run adws/%s.py %s %s", templates[f->tmpl], f->issue,
	         f->id);
	f->pid = spawn_sleeper(argv0);
}

static void proc_stop(struct wf *f)
{
	stop_child(&f->pid);
}

/* The Cloudflare tunnel's stand-in: up most of the time, down now and then,
 * with its public /health following it. */
static void tunnel_step(demo_world *w)
{
	if (!w->live || w->tick < w->tunnel_toggle_tick)
		return;
	int up = !w->tunnel_up;
	if (up && w->opts->spawn_processes)
		w->tunnel_pid = spawn_sleeper("cloudflared tunnel run tac-demo");
	else
		stop_child(&w->tunnel_pid);
	w->tunnel_up = up;
	demo_http_set_tunnel_up(w->http, up);
	w->tunnel_toggle_tick = w->tick + (up ? demo_range(&w->rng, 90, 180)
	                                      : demo_range(&w->rng, 10, 20));
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
	    "UPDATE phase_queue SET status = $1, issue_number = $2, "
	    "current_phase = COALESCE($3, current_phase), "
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
		demo_jadd(data, "title", demo_jstr(title));
		demo_jadd(data, "content", demo_jstr(requests[ft->req].text));
		demo_jadd(data, "externalDocs", json_object_new_array());
		demo_jadd(data, "total_phases", json_object_new_int(ft->nphases));
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

/* Tokens a phase used, from its cost: 30 % input, 10 % output, 60 % cache. */
static long long phase_tokens(const struct wf *f, int p)
{
	return (long long)(f->cost[p] / model_price[f->model] * 180000);
}

static double clamp100(double v)
{
	return v < 0 ? 0 : v > 100 ? 100 : round(v * 10) / 10;
}

/* The JSON-text columns of a workflow_history row, as TAC's sync writes them. */
struct hist_json {
	json_object *structured_input, *cost_breakdown, *token_breakdown, *phase_durations,
	    *anomaly_flags, *recommendations, *retry_reasons, *error_phases;
};

static void hist_json_build(const struct wf *f, long long tok[6], struct hist_json *j)
{
	double est = est_total(f), cost = cost_total(f);
	long long total = tok[5];
	j->structured_input = json_object_new_object();
	if (f->issue_int > 0)
		demo_jadd(j->structured_input, "issue_number", json_object_new_int(f->issue_int));
	demo_jadd(j->structured_input, "classification", demo_jstr(requests[f->req].cls));
	demo_jadd(j->structured_input, "workflow", demo_jstr(templates[f->tmpl]));
	demo_jadd(j->structured_input, "model", demo_jstr(f->heavy ? "heavy" : "base"));
	demo_jadd(j->structured_input, "classification_reasoning",
	          demo_jstr("Classified from the issue's title and labels"));
	demo_jadd(j->structured_input, "model_selection_reasoning",
	          demo_jstr(f->heavy ? "Touches several modules: heavy model set"
	                             : "Contained change: base model set"));
	j->cost_breakdown = json_object_new_object();
	demo_jadd(j->cost_breakdown, "estimated_total", demo_jnum(4, est));
	demo_jadd(j->cost_breakdown, "actual_total", demo_jnum(4, cost));
	demo_jadd(j->cost_breakdown, "estimated_per_step", demo_jnum(4, est / NPHASES));
	demo_jadd(j->cost_breakdown, "actual_per_step",
	          demo_jnum(4, f->done ? cost / f->done : 0));
	demo_jadd(j->cost_breakdown, "cost_per_token", demo_jnum(8, total ? cost / total : 0));
	json_object *by_phase = json_object_new_object();
	j->phase_durations = json_object_new_object();
	j->error_phases = json_object_new_object();
	for (int p = 0; p < NPHASES && p <= f->phase; p++) {
		if (p < f->done || f->status == WF_FAILED) {
			demo_jadd(by_phase, phase_names[p], demo_jnum(4, f->cost[p]));
			demo_jadd(j->phase_durations, phase_names[p], json_object_new_int((int)f->dur[p]));
		}
	}
	demo_jadd(j->cost_breakdown, "by_phase", by_phase);
	static const char *const tok_keys[] = {"input_tokens",     "output_tokens",
	                                       "cached_tokens",    "cache_hit_tokens",
	                                       "cache_miss_tokens", "total_tokens"};
	j->token_breakdown = json_object_new_object();
	for (int k = 0; k < 6; k++)
		demo_jadd(j->token_breakdown, tok_keys[k], json_object_new_int64(tok[k]));
	j->anomaly_flags = json_object_new_array();
	j->recommendations = json_object_new_array();
	j->retry_reasons = json_object_new_array();
	if (cost > est * 1.25)
		json_object_array_add(j->anomaly_flags, demo_jstr("Cost 25% over estimate"));
	if (f->status == WF_FAILED) {
		json_object_array_add(j->anomaly_flags, demo_jstr("Workflow failed"));
		json_object_object_add(j->error_phases, phase_names[f->phase], json_object_new_int(1));
		json_object_array_add(j->recommendations,
		                      demo_jstr("Run the failing phase alone before retrying"));
	}
	if (f->error_count) {
		json_object_array_add(j->retry_reasons, demo_jstr(f->last_error));
		json_object_array_add(j->recommendations,
		                      demo_jstr("Check the error log for recurring warnings"));
	}
	if (!f->heavy && cost > 2.0)
		json_object_array_add(j->recommendations, demo_jstr("Consider the heavy model set"));
}

static void hist_json_free(struct hist_json *j)
{
	json_object *all[] = {j->structured_input, j->cost_breakdown,  j->token_breakdown,
	                      j->phase_durations,  j->anomaly_flags,   j->recommendations,
	                      j->retry_reasons,    j->error_phases};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		json_object_put(all[i]);
}

/* Writes the whole workflow_history row of f (every column of TAC's SQLite
 * table), inserting it the first time with created_at = created. */
static void history_save(demo_world *w, const struct wf *f, double created)
{
	static const char *const st[] = {"pending", "running", "running", "completed", "failed"};
	static const char *const categories[] = {"test_failure", "review_blocker", "build_error",
	                                         "context_limit", "git_error"};
	static const char *const complexity[] = {"low", "medium", "high"};
	char now[32], made[32], start[32], end[32], tree[PATH_MAX], url[128];
	demo_iso8601(w->now, now, sizeof now);
	demo_iso8601(created, made, sizeof made);
	demo_iso8601(f->start, start, sizeof start);
	demo_iso8601(f->end, end, sizeof end);
	tree_path(w, f, tree, sizeof tree);
	snprintf(url, sizeof url, REPO_URL "/issues/%d", f->issue_int);
	int finished = f->status >= WF_COMPLETED, failed = f->status == WF_FAILED;
	long long tok[6] = {0};
	double busy = 0, slowest = -1;
	int bottleneck = -1;
	for (int p = 0; p < NPHASES; p++) {
		tok[5] += phase_tokens(f, p);
		busy += f->dur[p];
		if (f->dur[p] > slowest)
			slowest = f->dur[p], bottleneck = p;
	}
	tok[0] = tok[5] * 3 / 10, tok[1] = tok[5] / 10, tok[2] = tok[5] - tok[0] - tok[1];
	tok[3] = tok[2] * 9 / 10, tok[4] = tok[2] - tok[3];
	double est = est_total(f), cost = cost_total(f);
	double wall = finished ? f->end - f->start : 0;
	time_t t0 = (time_t)f->start;
	struct tm tm;
	gmtime_r(&t0, &tm);
	struct hist_json j;
	hist_json_build(f, tok, &j);
	int scored = finished;
	double clarity = clamp100(45 + (double)(strlen(requests[f->req].text) % 50));
	double efficiency = clamp100(100 - fabs(cost - est) / (est > 0 ? est : 1) * 100);
	double performance = clamp100(100 - wall / 60);
	double quality = clamp100(100 - f->error_count * 15 - (failed ? 40 : 0));
	int cplx_est = (int)(f->req % 3), cplx_act = finished ? (cplx_est + (failed ? 1 : 0)) % 3 : -1;
	demo_store_exec(
	    w->st,
	    "INSERT INTO workflow_history (adw_id, issue_number, nl_input, github_url, "
	    "gh_issue_state, workflow_template, model_used, status, start_time, end_time, "
	    "duration_seconds, error_message, phase_count, current_phase, success_rate, "
	    "retry_count, worktree_path, backend_port, frontend_port, concurrent_workflows, "
	    "input_tokens, output_tokens, cached_tokens, cache_hit_tokens, cache_miss_tokens, "
	    "total_tokens, cache_efficiency_percent, estimated_cost_total, actual_cost_total, "
	    "estimated_cost_per_step, actual_cost_per_step, cost_per_token, structured_input, "
	    "cost_breakdown, token_breakdown, worktree_reused, steps_completed, steps_total, "
	    "hour_of_day, day_of_week, nl_input_clarity_score, cost_efficiency_score, "
	    "performance_score, quality_score, scoring_version, anomaly_flags, "
	    "optimization_recommendations, created_at, updated_at, phase_durations, "
	    "idle_time_seconds, bottleneck_phase, error_category, retry_reasons, "
	    "error_phase_distribution, recovery_time_seconds, complexity_estimated, "
	    "complexity_actual) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
	    "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, "
	    "$31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, '1.0', $45, "
	    "$46, $47, $48, $49, $50, $51, $52, $53, $54, $55, $56, $57) "
	    "ON CONFLICT (adw_id) DO UPDATE SET issue_number = excluded.issue_number, "
	    "gh_issue_state = excluded.gh_issue_state, status = excluded.status, "
	    "start_time = excluded.start_time, end_time = excluded.end_time, "
	    "duration_seconds = excluded.duration_seconds, error_message = "
	    "excluded.error_message, current_phase = excluded.current_phase, success_rate = "
	    "excluded.success_rate, retry_count = excluded.retry_count, input_tokens = "
	    "excluded.input_tokens, output_tokens = excluded.output_tokens, cached_tokens = "
	    "excluded.cached_tokens, cache_hit_tokens = excluded.cache_hit_tokens, "
	    "cache_miss_tokens = excluded.cache_miss_tokens, total_tokens = "
	    "excluded.total_tokens, cache_efficiency_percent = excluded.cache_efficiency_percent, "
	    "actual_cost_total = excluded.actual_cost_total, actual_cost_per_step = "
	    "excluded.actual_cost_per_step, cost_per_token = excluded.cost_per_token, "
	    "cost_breakdown = excluded.cost_breakdown, token_breakdown = excluded.token_breakdown, "
	    "steps_completed = excluded.steps_completed, cost_efficiency_score = "
	    "excluded.cost_efficiency_score, performance_score = excluded.performance_score, "
	    "quality_score = excluded.quality_score, anomaly_flags = excluded.anomaly_flags, "
	    "optimization_recommendations = excluded.optimization_recommendations, updated_at = "
	    "excluded.updated_at, phase_durations = excluded.phase_durations, idle_time_seconds = "
	    "excluded.idle_time_seconds, bottleneck_phase = excluded.bottleneck_phase, "
	    "error_category = excluded.error_category, retry_reasons = excluded.retry_reasons, "
	    "error_phase_distribution = excluded.error_phase_distribution, "
	    "recovery_time_seconds = excluded.recovery_time_seconds, complexity_actual = "
	    "excluded.complexity_actual",
	    "sjssssssssnsnsnisiiiIIIIIIddddddsssiiiiiddddsssssissssnss", f->id, f->issue_int,
	    requests[f->req].text, f->issue_int > 0 ? url : NULL,
	    f->issue_int > 0 ? (f->status == WF_COMPLETED ? "closed" : "open") : NULL,
	    templates[f->tmpl], models[f->model], st[f->status], f->phase >= 0 ? start : NULL,
	    finished ? end : NULL, failed ? f->last_error : NULL,
	    f->phase >= 0 ? phase_names[f->phase] : NULL, f->error_count, tree, f->backend_port,
	    f->frontend_port, f->concurrent, tok[0], tok[1], tok[2], tok[3], tok[4], tok[5],
	    tok[5] ? round(1000.0 * (double)tok[3] / (double)tok[5]) / 10 : 0.0, demo_round4(est),
	    demo_round4(cost), demo_round4(est / NPHASES), demo_round4(f->done ? cost / f->done : 0),
	    tok[5] ? cost / tok[5] : 0.0, demo_json_text(j.structured_input),
	    demo_json_text(j.cost_breakdown), demo_json_text(j.token_breakdown), f->reused,
	    f->done, NPHASES, tm.tm_hour, (tm.tm_wday + 6) % 7, clarity,
	    scored ? efficiency : 0.0, scored ? performance : 0.0, scored ? quality : 0.0,
	    demo_json_text(j.anomaly_flags), demo_json_text(j.recommendations), made, now,
	    demo_json_text(j.phase_durations), finished ? (int)fmax(0, wall - busy) : 0,
	    bottleneck >= 0 && slowest > 0 ? phase_names[bottleneck] : NULL,
	    failed ? categories[f->req % 5] : NULL, demo_json_text(j.retry_reasons),
	    demo_json_text(j.error_phases), complexity[cplx_est],
	    cplx_act >= 0 ? complexity[cplx_act] : NULL);
	hist_json_free(&j);
	/* Values that are NULL until the run ends (the format has no "nullable double"). */
	if (finished)
		demo_store_exec(w->st,
		                "UPDATE workflow_history SET duration_seconds = $1, success_rate = "
		                "$2, phase_count = $3, recovery_time_seconds = $4 WHERE adw_id = $5",
		                "idiis", (int)round(wall), f->status == WF_COMPLETED ? 100.0 : 0.0,
		                NPHASES, failed ? (int)round(wall / 4) : 0, f->id);
	else
		demo_store_exec(w->st, "UPDATE workflow_history SET phase_count = $1 WHERE adw_id = $2",
		                "is", NPHASES, f->id);
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
	f->concurrent = active_count(w);
	f->reused = demo_chance(&w->rng, 0.3);
	for (int p = 0; p < NPHASES; p++)
		f->est[p] = demo_round4(demo_uniform(&w->rng, 0.04, 0.45) * model_price[f->model]);
	f->next_tick = w->tick + demo_range(&w->rng, 2, 6);
	f->dirty = 1;
	char path[PATH_MAX];
	wf_path(w, f, NULL, path, sizeof path);
	demo_mkdirs(path);
	wf_path(w, f, "error.log", path, sizeof path);
	demo_write_atomic(path, "", 0);
	history_save(w, f, w->now);
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
	    "sississ", f->id, f->issue_int > 0 ? f->issue_int : 0, templates[f->tmpl],
	    phase_titles[p], p + 1, rel, now);
}

static void phase_end(demo_world *w, struct wf *f, const char *status, const char *error)
{
	char now[32], msg[96], path[PATH_MAX], rel[64], line[256];
	int p = f->phase;
	double secs = round(w->now - f->phase_start);
	f->dur[p] = secs;
	f->cost[p] = demo_round4(f->est[p] * demo_uniform(&w->rng, 0.6, 1.4) *
	                    (error ? demo_uniform(&w->rng, 0.2, 0.8) : 1.0));
	int tokens = (int)(f->cost[p] / model_price[f->model] * 180000);
	demo_iso8601(w->now, now, sizeof now);
	snprintf(msg, sizeof msg, "%s phase %s", phase_titles[p], status);
	demo_store_exec(
	    w->st,
	    "UPDATE task_logs SET phase_status = $1, log_message = $2, error_message = $3, "
	    "completed_at = $4, duration_seconds = $5, tokens_used = $6, cost_usd = $7 "
	    "WHERE adw_id = $8 AND phase_name = $9 AND phase_status = 'started'",
	    "ssssdidss", status, msg, error, now, secs, tokens, f->cost[p], f->id, phase_titles[p]);
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
	history_save(w, f, w->now);
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
	history_save(w, f, w->now);
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
		history_save(w, f, w->now);
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

/* The trigger service's GET /webhook-status, in its exact shape. */
static void webhook_publish(demo_world *w)
{
	long long up = (long long)(w->now - w->trigger_started);
	/* Whole minutes, so a poll sees a change only when something happened. */
	up -= up % 60;
	w->wh_uptime_shown = up;
	char human[48], rate_text[16];
	snprintf(human, sizeof human, "%lldh %lldm", up / 3600, up / 60 % 60);
	json_object *o = json_object_new_object();
	long long processed = w->wh_ok + w->wh_failed;
	double rate = processed ? 100.0 * (double)w->wh_ok / (double)processed : 0;
	demo_jadd(o, "status", demo_jstr(w->wh_failed == 0 || rate > 80 ? "healthy" : "degraded"));
	json_object *uptime = json_object_new_object();
	demo_jadd(uptime, "seconds", json_object_new_int64(up));
	demo_jadd(uptime, "hours", demo_jnum(2, (double)up / 3600));
	demo_jadd(uptime, "human", demo_jstr(human));
	demo_jadd(o, "uptime", uptime);
	json_object *stats = json_object_new_object();
	demo_jadd(stats, "total_received", json_object_new_int64(w->wh_total));
	demo_jadd(stats, "successful", json_object_new_int64(w->wh_ok));
	demo_jadd(stats, "failed", json_object_new_int64(w->wh_failed));
	snprintf(rate_text, sizeof rate_text, "%.1f%%", rate);
	demo_jadd(stats, "success_rate", demo_jstr(rate_text));
	demo_jadd(o, "stats", stats);
	demo_jadd(o, "recent_failures", json_object_get(w->wh_failures));
	demo_jadd(o, "last_successful", json_object_get(w->wh_last));
	demo_http_set_webhook_status(w->http, demo_json_text(o));
	json_object_put(o);
}

/* A webhook that started f, or (f NULL) one whose processing failed. */
static void webhook_arrive(demo_world *w, const struct wf *f)
{
	char stamp[32];
	demo_pytime(w->now, stamp, sizeof stamp);
	w->wh_total++;
	if (f) {
		w->wh_ok++;
		json_object_put(w->wh_last);
		w->wh_last = json_object_new_object();
		demo_jadd(w->wh_last, "issue", json_object_new_int(f->issue_int));
		demo_jadd(w->wh_last, "adw_id", demo_jstr(f->id));
		demo_jadd(w->wh_last, "workflow", demo_jstr(templates[f->tmpl]));
		demo_jadd(w->wh_last, "timestamp", demo_jstr(stamp));
	} else {
		static const char *const why[] = {
		    "Failed to fetch issue: gh: HTTP 502 Bad Gateway",
		    "No worktree ports available: all 15 slots in use",
		    "Workflow adw_sdlc_iso exited with status 1 before planning"};
		w->wh_failed++;
		json_object *e = json_object_new_object();
		demo_jadd(e, "issue", json_object_new_int(w->next_issue + demo_range(&w->rng, 0, 3)));
		demo_jadd(e, "timestamp", demo_jstr(stamp));
		demo_jadd(e, "error", demo_jstr(why[demo_range(&w->rng, 0, 2)]));
		/* oldest first, the last five, as the trigger service answers */
		json_object_array_add(w->wh_failures, e);
		if (json_object_array_length(w->wh_failures) > 5)
			json_object_array_del_idx(w->wh_failures, 0, 1);
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
	demo_jadd(doc, "openapi", demo_jstr("3.1.0"));
	json_object *info = json_object_new_object();
	demo_jadd(info, "title", demo_jstr("TAC WebBuilder API"));
	demo_jadd(info, "version", demo_jstr("1.4.0"));
	demo_jadd(doc, "info", info);
	json_object *paths = json_object_new_object();
	for (int i = 0; i < NROUTES - (w->extra_route ? 0 : 1); i++) {
		const struct route *r = &routes[i];
		json_object *item = NULL;
		if (!json_object_object_get_ex(paths, r->path, &item)) {
			item = json_object_new_object();
			demo_jadd(paths, r->path, item);
		}
		json_object *op = json_object_new_object();
		char op_id[128], desc[160];
		snprintf(op_id, sizeof op_id, "%s_%s", r->op, r->method);
		snprintf(desc, sizeof desc, "%s.", r->summary);
		demo_jadd(op, "tags", json_object_new_array());
		if (r->tag)
			json_object_array_add(json_object_object_get(op, "tags"), demo_jstr(r->tag));
		demo_jadd(op, "summary", demo_jstr(r->summary));
		demo_jadd(op, "description", demo_jstr(desc));
		demo_jadd(op, "operationId", demo_jstr(op_id));
		json_object *resp = json_object_new_object(), *ok = json_object_new_object();
		demo_jadd(ok, "description", demo_jstr("Successful Response"));
		demo_jadd(resp, "200", ok);
		demo_jadd(op, "responses", resp);
		demo_jadd(item, r->method, op);
	}
	demo_jadd(doc, "paths", paths);
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
	/* the backlog moves every 20 ticks, a "commit" lands every 40 */
	if (w->tick % 20 == 0)
		demo_plans_step(w->plans, w->now, w->next_issue++);
	if (w->live && w->tick % 40 == 0)
		demo_quality_step(w->quality, w->now);
	tunnel_step(w);
	if (w->tick % 50 == 0)
		prune_rows(w);
	flush(w);
}

/* Finished runs from the past week, so the history feed has analytics. */
static void seed_history(demo_world *w)
{
	for (int i = 0; i < 36; i++) {
		struct wf f = {.used = 1, .feature = -1};
		f.start = w->now - 7 * 86400 + i * (6.5 * 86400 / 36) + demo_uniform(&w->rng, 0, 3600);
		f.req = demo_range(&w->rng, 0, NREQUESTS - 1);
		f.model = demo_range(&w->rng, 0, 2);
		f.heavy = f.model == 1;
		f.tmpl = demo_range(&w->rng, 0, 3);
		f.issue_int = 40 + i * 3;
		snprintf(f.issue, sizeof f.issue, "%d", f.issue_int);
		snprintf(f.id, sizeof f.id, "%08x", demo_rand(&w->rng));
		f.backend_port = 9100 + i % MAX_WORKFLOWS;
		f.frontend_port = 9200 + i % MAX_WORKFLOWS;
		f.concurrent = demo_range(&w->rng, 0, 4);
		f.reused = demo_chance(&w->rng, 0.3);
		int failed = demo_chance(&w->rng, 0.2);
		f.status = failed ? WF_FAILED : WF_COMPLETED;
		f.done = failed ? demo_range(&w->rng, 2, 5) : NPHASES;
		f.phase = failed ? f.done : NPHASES - 1;
		double t = f.start;
		for (int p = 0; p < NPHASES; p++) {
			f.est[p] = demo_round4(demo_uniform(&w->rng, 0.04, 0.45) * model_price[f.model]);
			if (p > f.phase)
				continue;
			f.dur[p] = round(demo_uniform(&w->rng, 30, 300));
			f.cost[p] = demo_round4(f.est[p] * demo_uniform(&w->rng, failed ? 0.2 : 0.7,
			                                                failed ? 0.8 : 1.3));
			t += f.dur[p] + demo_uniform(&w->rng, 2, 20);
		}
		f.end = t;
		if (failed) {
			f.error_count = 1;
			snprintf(f.last_error, sizeof f.last_error, "%s",
			         failures[demo_range(&w->rng, 0, 4)]);
		}
		history_save(w, &f, f.start);
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

/* The first state shows a failed queue phase (and the ones it blocks) when
 * the warm-up did not produce one: a running queue workflow fails. */
static void ensure_queue_failure(demo_world *w)
{
	struct wf *victim = NULL;
	for (int i = 0; i < MAX_FEATURES; i++)
		for (int k = 0; w->feat[i].used && k < w->feat[i].nphases; k++)
			if (w->feat[i].rows[k].status == Q_FAILED)
				return;
	for (int i = 0; i < MAX_WORKFLOWS && !victim; i++)
		if (w->wf[i].used && w->wf[i].status == WF_RUNNING && row_of(w, &w->wf[i]))
			victim = &w->wf[i];
	if (victim) {
		w->now += 8;
		wf_fail(w, victim);
	}
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
	if ((rc = demo_plans_create(w->st, &w->rng, w->now, &w->plans)))
		goto fail;
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
	ensure_queue_failure(w);

	w->live = 1;
	w->now = demo_now();
	for (int i = 0; i < MAX_WORKFLOWS; i++)
		if (w->wf[i].used && w->wf[i].status == WF_RUNNING)
			proc_start(w, &w->wf[i]);
	tunnel_step(w);
	flush(w);
	webhook_publish(w);
	openapi_publish(w);
	if ((rc = demo_quality_create(w->root, &w->rng, w->now, &w->quality)))
		goto fail;
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
	stop_child(&w->tunnel_pid);
	demo_plans_free(w->plans);
	demo_quality_free(w->quality);
	json_object_put(w->wh_failures);
	json_object_put(w->wh_last);
	demo_store_close(w->st);
	free(w);
}
