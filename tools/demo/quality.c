/*
 * <repo_root>/QC_METRICS_ENHANCED.json, the document TAC's QC tooling writes:
 * coverage, naming, file structure, linting and an overall score (the keys
 * TAC's QCMetrics type reads), plus the audit's extras. Written atomically;
 * the numbers drift as if a commit landed now and then.
 */
#include "demo.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct demo_quality {
	char path[PATH_MAX];
	demo_rng *rng;
	double backend_cov, frontend_cov, adws_cov;
	int tests, backend_err, backend_warn, frontend_err, frontend_warn, adws_err, adws_warn;
	int long_file_lines;
};

static json_object *file_lines(const char *file, int lines)
{
	json_object *o = json_object_new_object();
	demo_jadd(o, "file", demo_jstr(file));
	demo_jadd(o, "lines", json_object_new_int(lines));
	return o;
}

static json_object *issue(int rank, const char *severity, const char *domain, const char *text,
                          const char *file, const char *fix)
{
	json_object *o = json_object_new_object();
	demo_jadd(o, "rank", json_object_new_int(rank));
	demo_jadd(o, "severity", demo_jstr(severity));
	demo_jadd(o, "domain", demo_jstr(domain));
	demo_jadd(o, "issue", demo_jstr(text));
	demo_jadd(o, "file", demo_jstr(file));
	demo_jadd(o, "impact", demo_jstr("Harder to change safely"));
	demo_jadd(o, "effort", demo_jstr("Medium (2-3 hours)"));
	demo_jadd(o, "recommendation", demo_jstr(fix));
	return o;
}

static json_object *strings(const char *const *list)
{
	json_object *a = json_object_new_array();
	for (; *list; list++)
		json_object_array_add(a, demo_jstr(*list));
	return a;
}

static int write_document(const demo_quality *q, double now)
{
	json_object *o = json_object_new_object(), *c = json_object_new_object();
	double overall = (q->backend_cov * 2 + q->frontend_cov + q->adws_cov) / 4;
	demo_jadd(c, "overall_coverage", demo_jnum(1, overall));
	demo_jadd(c, "backend_coverage", demo_jnum(1, q->backend_cov));
	demo_jadd(c, "frontend_coverage", demo_jnum(1, q->frontend_cov));
	demo_jadd(c, "adws_coverage", demo_jnum(1, q->adws_cov));
	demo_jadd(c, "total_tests", json_object_new_int(q->tests));
	demo_jadd(o, "coverage", c);

	json_object *n = json_object_new_object(), *violations = json_object_new_array();
	json_object *v = json_object_new_object();
	demo_jadd(v, "file", demo_jstr("app/client/src/utils/Format_helpers.ts"));
	demo_jadd(v, "issue", demo_jstr("TypeScript utility should use camelCase"));
	demo_jadd(v, "severity", demo_jstr("warning"));
	json_object_array_add(violations, v);
	demo_jadd(n, "total_files_checked", json_object_new_int(612));
	demo_jadd(n, "compliant_files", json_object_new_int(611));
	demo_jadd(n, "violations", violations);
	demo_jadd(n, "compliance_rate", demo_jnum(1, 611 * 100.0 / 612));
	demo_jadd(o, "naming", n);

	json_object *fs = json_object_new_object(), *big = json_object_new_array(),
	            *longf = json_object_new_array(), *b = json_object_new_object();
	demo_jadd(b, "file", demo_jstr("app/server/db/backup.db"));
	demo_jadd(b, "size_kb", demo_jnum(1, 812.4));
	json_object_array_add(big, b);
	json_object_array_add(longf, file_lines("app/client/src/components/AdwMonitorCard.tsx",
	                                        q->long_file_lines));
	json_object_array_add(longf, file_lines("app/server/routes/queue_routes.py", 1043));
	demo_jadd(fs, "total_files", json_object_new_int(1184));
	demo_jadd(fs, "oversized_files", big);
	demo_jadd(fs, "long_files", longf);
	demo_jadd(fs, "avg_file_size_kb", demo_jnum(1, 7.9));
	demo_jadd(o, "file_structure", fs);

	json_object *l = json_object_new_object();
	int be = q->backend_err + q->backend_warn, fe = q->frontend_err + q->frontend_warn,
	    ad = q->adws_err + q->adws_warn;
	demo_jadd(l, "backend_issues", json_object_new_int(be));
	demo_jadd(l, "frontend_issues", json_object_new_int(fe));
	demo_jadd(l, "adws_issues", json_object_new_int(ad));
	demo_jadd(l, "backend_errors", json_object_new_int(q->backend_err));
	demo_jadd(l, "backend_warnings", json_object_new_int(q->backend_warn));
	demo_jadd(l, "frontend_errors", json_object_new_int(q->frontend_err));
	demo_jadd(l, "frontend_warnings", json_object_new_int(q->frontend_warn));
	demo_jadd(l, "adws_errors", json_object_new_int(q->adws_err));
	demo_jadd(l, "adws_warnings", json_object_new_int(q->adws_warn));
	demo_jadd(l, "total_issues", json_object_new_int(be + fe + ad));
	demo_jadd(o, "linting", l);

	int lint_score = 100 - (q->backend_err + q->frontend_err + q->adws_err) / 8;
	int score = (int)lround(overall * 0.4 + 95 * 0.2 + 90 * 0.1 + fmax(lint_score, 0) * 0.3);
	demo_jadd(o, "overall_score", json_object_new_int(score));
	char stamp[32];
	demo_pytime(now, stamp, sizeof stamp);
	demo_jadd(o, "last_updated", demo_jstr(stamp));

	json_object *meta = json_object_new_object();
	int errors = q->backend_err + q->frontend_err + q->adws_err;
	demo_jadd(meta, "total_issues", json_object_new_int(be + fe + ad + 3));
	demo_jadd(meta, "critical_issues", json_object_new_int(errors / 4));
	demo_jadd(meta, "high_issues", json_object_new_int(errors - errors / 4));
	demo_jadd(meta, "medium_issues", json_object_new_int((be + fe + ad - errors) / 2));
	demo_jadd(meta, "low_issues", json_object_new_int(be + fe + ad - errors - (be + fe + ad - errors) / 2 + 3));
	demo_jadd(meta, "project_health",
	          demo_jstr(score >= 75 ? "GOOD - Solid foundations, a few hot spots"
	                                : "MODERATE - Strong foundations with technical debt to pay down"));
	demo_jadd(o, "audit_metadata", meta);
	json_object *crit = json_object_new_array();
	json_object_array_add(crit, issue(1, "critical", "Frontend", "Low frontend test coverage",
	                                  "app/client/src/", "Test the panels that read the feeds"));
	json_object_array_add(crit, issue(2, "high", "ADW", "Lint violations in adws/", "adws/",
	                                  "Run ruff check --fix, then fix the rest by hand"));
	demo_jadd(o, "critical_issues", crit);
	static const char *const strengths[] = {"Typed API models throughout the backend",
	                                        "Isolated worktrees per workflow", NULL};
	static const char *const weaknesses[] = {"Frontend coverage below backend coverage",
	                                         "Several components above 900 lines", NULL};
	demo_jadd(o, "strengths", strings(strengths));
	demo_jadd(o, "weaknesses", strings(weaknesses));
	json_object *phases = json_object_new_object(), *p1 = json_object_new_object();
	static const char *const tasks[] = {"Fix the lint errors in the backend",
	                                    "Add tests for the queue routes", NULL};
	demo_jadd(p1, "duration", demo_jstr("1 week"));
	demo_jadd(p1, "priority", demo_jstr("P0 - Critical"));
	demo_jadd(p1, "tasks", strings(tasks));
	demo_jadd(phases, "phase_1_immediate", p1);
	demo_jadd(o, "remediation_phases", phases);

	int rc = demo_write_json(q->path, o);
	json_object_put(o);
	if (rc)
		demo_log("cannot write %s: %s", q->path, strerror(-rc));
	return rc;
}

int demo_quality_create(const char *repo_root, demo_rng *rng, double now, demo_quality **out)
{
	demo_quality *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	snprintf(q->path, sizeof q->path, "%s/QC_METRICS_ENHANCED.json", repo_root);
	q->rng = rng;
	q->backend_cov = 61.3, q->frontend_cov = 18.2, q->adws_cov = 33.5;
	q->tests = 1042;
	q->backend_err = 6, q->backend_warn = 98, q->frontend_err = 41, q->frontend_warn = 122;
	q->adws_err = 310, q->adws_warn = 1104;
	q->long_file_lines = 914;
	int rc = write_document(q, now);
	if (rc) {
		free(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* A commit landed: tests added, lint fixed (or not), coverage moved. */
int demo_quality_step(demo_quality *q, double now)
{
	q->tests += demo_range(q->rng, 0, 6);
	q->backend_cov = fmin(95, q->backend_cov + demo_uniform(q->rng, -0.4, 0.9));
	q->frontend_cov = fmin(90, q->frontend_cov + demo_uniform(q->rng, -0.3, 1.2));
	q->adws_cov = fmin(90, q->adws_cov + demo_uniform(q->rng, -0.3, 0.7));
	q->frontend_err = abs(q->frontend_err + demo_range(q->rng, -4, 2));
	q->frontend_warn = abs(q->frontend_warn + demo_range(q->rng, -6, 3));
	q->adws_err = abs(q->adws_err + demo_range(q->rng, -12, 4));
	q->adws_warn = abs(q->adws_warn + demo_range(q->rng, -20, 8));
	q->backend_warn = abs(q->backend_warn + demo_range(q->rng, -3, 2));
	q->long_file_lines += demo_range(q->rng, -12, 8);
	return write_document(q, now);
}

void demo_quality_free(demo_quality *q)
{
	free(q);
}
