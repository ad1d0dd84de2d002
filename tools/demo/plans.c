/*
 * The planned_features table (TAC's backlog panel): sessions with their
 * features, bugs and enhancements, moving planned -> in_progress -> completed
 * now and then, and a new item filed when the backlog runs low.
 */
#include "demo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLANS 40 /* rows kept; the oldest finished ones are deleted */

static const struct item {
	const char *type, *title, *description, *priority, *tags;
	double hours;
} backlog[] = {
    {"feature", "Dark mode for the dashboard", "A header toggle that remembers the choice per user.",
     "medium", "[\"frontend\",\"ui\"]", 4},
    {"bug", "Queue panel keeps stale phases", "Cancelled workflows stay in the queue panel until reload.",
     "high", "[\"queue\",\"frontend\"]", 2},
    {"feature", "Workflow history CSV export", "Export history with cost and duration columns.",
     "low", "[\"history\",\"export\"]", 3},
    {"enhancement", "Per-phase cost breakdown", "Show what each phase cost in the ADW monitor card.",
     "medium", "[\"costs\",\"adw-monitor\"]", 5},
    {"bug", "Duplicate workflows from webhook retries", "GitHub retries start a second run for one issue.",
     "high", "[\"webhook\",\"adw\"]", 3},
    {"feature", "Natural-language SQL explorer", "A query box with a schema preview.", "medium",
     "[\"sql\",\"nl\"]", 8},
    {"enhancement", "Pause and resume the queue from the UI", "Buttons on the queue panel.",
     "medium", "[\"queue\"]", 2.5},
    {"bug", "Orphaned ports after a failed ship", "Cleanup leaves worktree ports reserved.", "high",
     "[\"worktrees\",\"ports\"]", 1.5},
    {"feature", "Model selector on the request form", "Choose the base or heavy model set.", "low",
     "[\"request-form\"]", 2},
    {"enhancement", "Real-time push for every panel", "Replace polling with WebSocket feeds.",
     "high", "[\"websocket\",\"performance\"]", 12},
    {"bug", "Tunnel shown down while reconnecting", "The health panel flaps during reconnects.",
     "low", "[\"health\"]", 1},
    {"enhancement", "Quality panel trends", "Show coverage and lint counts over time.", "low",
     "[\"qc\",\"metrics\"]", 6},
};
#define NBACKLOG ((int)(sizeof backlog / sizeof *backlog))

struct plan {
	int id;
	int status; /* 0 planned, 1 in_progress, 2 completed, 3 cancelled */
	double hours;
};

struct demo_plans {
	demo_store *st;
	demo_rng *rng;
	struct plan rows[MAX_PLANS];
	int n, next_item, next_id, session;
};

static const char *const status_names[] = {"planned", "in_progress", "completed", "cancelled"};

/* A PlanSummary, as TAC's planner stores it in generated_plan. */
static char *plan_summary(int feature_id, const struct item *it)
{
	json_object *o = json_object_new_object(), *phases = json_object_new_array();
	int total = it->hours > 4 ? 3 : 2;
	demo_jadd(o, "feature_id", json_object_new_int(feature_id));
	demo_jadd(o, "feature_title", demo_jstr(it->title));
	demo_jadd(o, "total_phases", json_object_new_int(total));
	demo_jadd(o, "total_estimated_hours", demo_jnum(1, it->hours));
	for (int k = 1; k <= total; k++) {
		json_object *ph = json_object_new_object(), *files = json_object_new_array(),
		            *deps = json_object_new_array();
		char title[160], file[64], prompt[256];
		snprintf(title, sizeof title, "%s: part %d", it->title, k);
		snprintf(file, sizeof file, "FEATURE_%d_PHASE_%d.md", feature_id, k);
		snprintf(prompt, sizeof prompt, "# %s\n\n%s\n", title, it->description);
		json_object_array_add(files, demo_jstr(k == 1 ? "app/server/routes/queue_routes.py"
		                                              : "app/client/src/components/QueuePanel.tsx"));
		if (k > 1) {
			json_object *dep = json_object_new_array();
			json_object_array_add(dep, json_object_new_int(feature_id));
			json_object_array_add(dep, json_object_new_int(k - 1));
			json_object_array_add(deps, dep);
		}
		demo_jadd(ph, "phase_number", json_object_new_int(k));
		demo_jadd(ph, "total_phases", json_object_new_int(total));
		demo_jadd(ph, "title", demo_jstr(title));
		demo_jadd(ph, "description", demo_jstr(it->description));
		demo_jadd(ph, "estimated_hours", demo_jnum(1, it->hours / total));
		demo_jadd(ph, "files_to_modify", files);
		demo_jadd(ph, "depends_on", deps);
		demo_jadd(ph, "prompt_filename", demo_jstr(file));
		demo_jadd(ph, "markdown_prompt", demo_jstr(prompt));
		json_object_array_add(phases, ph);
	}
	demo_jadd(o, "phases", phases);
	char *text = strdup(demo_json_text(o));
	json_object_put(o);
	return text;
}

static void file_session(demo_plans *p, double now)
{
	char title[64], made[32], desc[128];
	demo_iso8601(now, made, sizeof made);
	p->session++;
	snprintf(title, sizeof title, "Session %d", p->session);
	snprintf(desc, sizeof desc, "Work session %d: the items filed under it.", p->session);
	demo_store_exec(p->st,
	                "INSERT INTO planned_features (id, item_type, title, description, status, "
	                "priority, estimated_hours, session_number, tags, created_at, updated_at) "
	                "VALUES ($1, 'session', $2, $3, 'planned', 'medium', 0, $4, '[\"session\"]', "
	                "$5, $5)",
	                "issis", p->next_id, title, desc, p->session, made);
	p->rows[p->n++] = (struct plan){.id = p->next_id++};
}

static void file_item(demo_plans *p, double now)
{
	if (p->n >= MAX_PLANS) {
		/* the oldest finished row goes, keeping the table bounded */
		int k = 0;
		while (k < p->n && p->rows[k].status < 2)
			k++;
		if (k == p->n)
			return;
		demo_store_exec(p->st, "DELETE FROM planned_features WHERE id = $1", "i",
		                p->rows[k].id);
		memmove(&p->rows[k], &p->rows[k + 1], (size_t)(p->n - k - 1) * sizeof *p->rows);
		p->n--;
	}
	const struct item *it = &backlog[p->next_item++ % NBACKLOG];
	char made[32];
	demo_iso8601(now, made, sizeof made);
	char *plan = demo_chance(p->rng, 0.5) ? plan_summary(p->next_id, it) : NULL;
	demo_store_exec(
	    p->st,
	    "INSERT INTO planned_features (id, item_type, title, description, status, priority, "
	    "estimated_hours, session_number, parent_id, tags, created_at, updated_at, "
	    "generated_plan) VALUES ($1, $2, $3, $4, 'planned', $5, $6, $7, $8, $9, $10, $10, $11)",
	    "issssdiisss", p->next_id, it->type, it->title, it->description, it->priority, it->hours,
	    p->session, p->rows[0].id, it->tags, made, plan);
	free(plan);
	p->rows[p->n++] = (struct plan){.id = p->next_id++, .hours = it->hours};
}

/* The oldest row in status from, or NULL (sessions are rows[0]). */
static struct plan *oldest(demo_plans *p, int from)
{
	for (int k = 1; k < p->n; k++)
		if (p->rows[k].status == from)
			return &p->rows[k];
	return NULL;
}

static void start(demo_plans *p, struct plan *r, double now, int issue)
{
	char t[32];
	demo_iso8601(now, t, sizeof t);
	r->status = 1;
	demo_store_exec(p->st,
	                "UPDATE planned_features SET status = 'in_progress', started_at = $1, "
	                "github_issue_number = $2 WHERE id = $3",
	                "sji", t, issue, r->id);
}

static void finish(demo_plans *p, struct plan *r, double now)
{
	char t[32], notes[128];
	demo_iso8601(now, t, sizeof t);
	int cancelled = demo_chance(p->rng, 0.1);
	double actual = round(r->hours * demo_uniform(p->rng, 0.6, 1.6) * 4) / 4;
	snprintf(notes, sizeof notes, cancelled ? "Superseded by a broader item"
	                                        : "Shipped; %.2f h against %.2f h estimated",
	         actual, r->hours);
	r->status = cancelled ? 3 : 2;
	demo_store_exec(p->st,
	                "UPDATE planned_features SET status = $1, completed_at = $2, "
	                "actual_hours = $3, completion_notes = $4 WHERE id = $5",
	                "ssdsi", status_names[r->status], t, cancelled ? 0.0 : actual, notes, r->id);
}

int demo_plans_create(demo_store *st, demo_rng *rng, double now, demo_plans **out)
{
	demo_plans *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->st = st;
	p->rng = rng;
	p->next_id = 1;
	file_session(p, now - 3 * 86400);
	start(p, &p->rows[0], now - 3 * 86400, 0);
	for (int k = 0; k < NBACKLOG - 2; k++)
		file_item(p, now - 3 * 86400 + k * 3600);
	/* a past: some done, some under way */
	for (int k = 0; k < 5; k++) {
		start(p, oldest(p, 0), now - 2 * 86400 + k * 7200, 100 + k);
		finish(p, oldest(p, 1), now - 86400 + k * 7200);
	}
	start(p, oldest(p, 0), now - 1800, 120);
	start(p, oldest(p, 0), now - 600, 121);
	*out = p;
	return 0;
}

void demo_plans_step(demo_plans *p, double now, int issue)
{
	int r = demo_range(p->rng, 0, 2);
	struct plan *planned = oldest(p, 0), *busy = oldest(p, 1);
	if (r == 0 && busy)
		finish(p, busy, now);
	else if (r == 1 && planned)
		start(p, planned, now, issue);
	else
		file_item(p, now);
}

void demo_plans_free(demo_plans *p)
{
	free(p);
}
