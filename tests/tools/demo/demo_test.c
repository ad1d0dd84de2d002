/* tacws-demo end to end: the real binary writes real files, a real SQLite
 * database and serves real HTTP on 127.0.0.1. */
#include "server_fixture.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


/* Starts tacws-demo with argv (NULL-terminated, without the program), its
 * stdout on *out_fd when out_fd is not NULL. */
static pid_t spawn_demo(const char *const *args, int *out_fd)
{
	const char *argv[32] = {TACWS_DEMO_PATH};
	int n = 1;
	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	int fds[2] = {-1, -1};
	if (out_fd && pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		if (out_fd)
			dup2(fds[1], 1);
		execv(TACWS_DEMO_PATH, (char *const *)argv);
		_exit(127);
	}
	if (out_fd) {
		close(fds[1]);
		*out_fd = fds[0];
	}
	return pid;
}

/* Waits up to timeout_ms for pid; kills it (by its PID) when late. Returns
 * the exit status, or -1 when it had to be killed. */
static int wait_demo(pid_t pid, int timeout_ms)
{
	long long end = tacws_test_now_ms() + timeout_ms;
	int status;
	while (tacws_test_now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static int run_once(const char *root, const char *seed)
{
	const char *args[] = {"--once",          "--quiet", "--repo-root", root, "--schema",
	                      TACWS_DEMO_SCHEMA, "--seed",  seed,          NULL};
	pid_t pid = spawn_demo(args, NULL);
	return pid > 0 ? wait_demo(pid, 60000) : -1;
}

static char *path_of(const char *a, const char *b, const char *c)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
	return strdup(buf);
}

static int is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Names in root/agents, sorted, joined by spaces (caller frees). */
static char *agent_ids(const char *root)
{
	char *dir = path_of(root, "agents", NULL);
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, alphasort);
	free(dir);
	char *out = calloc(1, 16 * (n > 0 ? n : 1) + 1);
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.') {
			strcat(out, list[i]->d_name);
			strcat(out, " ");
		}
		free(list[i]);
	}
	free(list);
	return out;
}

static long long count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static sqlite3 *open_db(const char *root)
{
	char *path = path_of(root, "db", "database.db");
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		db = NULL;
	} else {
		sqlite3_busy_timeout(db, 3000);
	}
	free(path);
	return db;
}

static int has_key_type(json_object *o, const char *key, json_type type)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, type);
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

/* Checks one agents/<id>/ folder; counts what the caller wants to see. */
static void check_workflow(const char *root, const char *id, int *non_integer, int *finished,
                           int *markers)
{
	char *dir = path_of(root, "agents", id);
	char *state_path = path_of(dir, "adw_state.json", NULL);
	char *phases_path = path_of(dir, "completed_phases.json", NULL);
	char *log_path = path_of(dir, "error.log", NULL);
	char *tmp_path = path_of(dir, "adw_state.json.tmp", NULL);
	json_object *state = json_object_from_file(state_path);
	json_object *phases = json_object_from_file(phases_path);
	CU_ASSERT_PTR_NOT_NULL(state);
	CU_ASSERT_PTR_NOT_NULL(phases);
	CU_ASSERT(access(log_path, F_OK) == 0);
	CU_ASSERT(access(tmp_path, F_OK) != 0);
	regex_t hex;
	regcomp(&hex, "^[0-9a-f]{8}$", REG_EXTENDED | REG_NOSUB);
	if (state) {
		static const char *const strings[] = {
		    "adw_id",        "issue_number", "branch_name",       "issue_class",
		    "worktree_path", "model_set",    "workflow_template", "model_used",
		    "start_time",    "nl_input",     "github_url"};
		for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
			CU_ASSERT(has_key_type(state, strings[i], json_type_string));
		CU_ASSERT(json_object_object_get_ex(state, "plan_file", NULL));
		CU_ASSERT(has_key_type(state, "backend_port", json_type_int));
		CU_ASSERT(has_key_type(state, "frontend_port", json_type_int));
		CU_ASSERT(has_key_type(state, "all_adws", json_type_array));
		CU_ASSERT(has_key_type(state, "estimated_cost_total", json_type_double));
		CU_ASSERT(has_key_type(state, "estimated_cost_breakdown", json_type_object));
		const char *adw = str_of(state, "adw_id");
		CU_ASSERT(adw && !strcmp(adw, id) && regexec(&hex, adw, 0, NULL, 0) == 0);
		const char *cls = str_of(state, "issue_class");
		CU_ASSERT(cls && (!strcmp(cls, "/feature") || !strcmp(cls, "/bug") ||
		                  !strcmp(cls, "/chore") || !strcmp(cls, "/patch")));
		char want[PATH_MAX];
		snprintf(want, sizeof want, "/trees/%s", id);
		const char *tree = str_of(state, "worktree_path");
		CU_ASSERT(tree && strstr(tree, want) && tree[0] == '/');
		const char *issue = str_of(state, "issue_number");
		char *end = NULL;
		if (issue && (strtol(issue, &end, 10), *end != '\0'))
			(*non_integer)++;
		const char *status = str_of(state, "status");
		if (status) {
			CU_ASSERT(!strcmp(status, "completed") || !strcmp(status, "failed"));
			CU_ASSERT(has_key_type(state, "end_time", json_type_string));
			(*finished)++;
		}
		/* the text is indented by two spaces, like the original's json.dump */
		FILE *f = fopen(state_path, "r");
		char line[256] = "";
		CU_ASSERT(f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f));
		CU_ASSERT(strncmp(line, "  \"adw_id\"", 10) == 0);
		if (f)
			fclose(f);
	}
	if (phases) {
		CU_ASSERT(has_key_type(phases, "completed", json_type_array));
		CU_ASSERT(json_object_object_get_ex(phases, "current", NULL));
		CU_ASSERT(has_key_type(phases, "last_updated", json_type_string));
	}
	char *plan = path_of(dir, "adw_plan_iso", NULL);
	if (is_dir(plan))
		(*markers)++;
	free(plan);
	regfree(&hex);
	json_object_put(state);
	json_object_put(phases);
	free(dir);
	free(state_path);
	free(phases_path);
	free(log_path);
	free(tmp_path);
}

/* Every column of table holds a value in at least one row (no column left
 * unfilled), and the named JSON-text columns hold JSON of that type in every row. */
static void check_table_filled(sqlite3 *db, const char *table)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s')", table);
	sqlite3_stmt *st = NULL;
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	int columns = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(st, 0);
		snprintf(sql, sizeof sql, "SELECT count(\"%s\") FROM %s", col, table);
		long long filled = count_rows(db, sql);
		if (filled <= 0)
			fprintf(stderr, "%s.%s is never filled\n", table, col);
		CU_ASSERT(filled > 0);
		columns++;
	}
	sqlite3_finalize(st);
	CU_ASSERT(columns > 0);
}

static void check_json_column(sqlite3 *db, const char *table, const char *col, const char *type)
{
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM %s WHERE %s IS NOT NULL AND (NOT json_valid(%s) OR "
	         "json_type(%s) != '%s')",
	         table, col, col, col, type);
	long long bad = count_rows(db, sql);
	if (bad)
		fprintf(stderr, "%s.%s: %lld rows are not a JSON %s\n", table, col, bad, type);
	CU_ASSERT(bad == 0);
}

/* TAC's SQLite tables, as schema.py and the SQLite migrations make them. */
static void check_tac_schema(sqlite3 *db)
{
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM pragma_table_info('workflow_history')") == 59);
	/* only PostgreSQL migration 020 adds these */
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM pragma_table_info('workflow_history') "
	                         "WHERE name IN ('issue_class','branch_name','plan_file')") == 0);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM pragma_table_info('phase_queue') WHERE "
	                         "name IN ('feature_id','depends_on_phases','current_phase','adw_id',"
	                         "'pr_number','priority','queue_position','ready_timestamp',"
	                         "'started_timestamp')") == 9);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM pragma_table_info('planned_features')") == 18);
	static const char *const tables[] = {"workflow_history", "phase_queue", "queue_config",
	                                     "task_logs", "planned_features"};
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
		check_table_filled(db, tables[i]);
	static const char *const objects[] = {"structured_input", "cost_breakdown",
	                                      "token_breakdown", "phase_durations",
	                                      "error_phase_distribution"};
	static const char *const arrays[] = {"anomaly_flags", "optimization_recommendations",
	                                     "retry_reasons"};
	for (size_t i = 0; i < sizeof objects / sizeof *objects; i++)
		check_json_column(db, "workflow_history", objects[i], "object");
	for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
		check_json_column(db, "workflow_history", arrays[i], "array");
	check_json_column(db, "phase_queue", "phase_data", "object");
	check_json_column(db, "phase_queue", "depends_on_phases", "array");
	check_json_column(db, "planned_features", "tags", "array");
	check_json_column(db, "planned_features", "generated_plan", "object");
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM workflow_history WHERE status NOT IN "
	                         "('pending','running','completed','failed')") == 0);
	/* TAC's ADWs log phases by their titles */
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM task_logs WHERE phase_name NOT IN ('Plan',"
	                         "'Validate','Build','Lint','Test','Review','Document','Ship',"
	                         "'Cleanup')") == 0);
	CU_ASSERT(count_rows(db, "SELECT count(DISTINCT status) FROM planned_features") >= 3);
	CU_ASSERT(count_rows(db, "SELECT count(DISTINCT item_type) FROM planned_features") == 4);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM planned_features WHERE status = "
	                         "'completed' AND (completed_at IS NULL OR actual_hours IS NULL)") ==
	          0);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM planned_features WHERE generated_plan IS NOT "
	                         "NULL AND json_type(generated_plan, '$.phases') != 'array'") == 0);
}

/* QC_METRICS_ENHANCED.json has what TAC's QCMetrics type reads. */
static void check_qc_metrics(const char *root)
{
	char *path = path_of(root, "QC_METRICS_ENHANCED.json", NULL);
	json_object *qc = json_object_from_file(path), *part = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(qc);
	CU_ASSERT(json_object_object_get_ex(qc, "coverage", &part) &&
	          has_key_type(part, "overall_coverage", json_type_double) &&
	          has_key_type(part, "backend_coverage", json_type_double) &&
	          has_key_type(part, "frontend_coverage", json_type_double) &&
	          has_key_type(part, "adws_coverage", json_type_double) &&
	          has_key_type(part, "total_tests", json_type_int));
	CU_ASSERT(json_object_object_get_ex(qc, "naming", &part) &&
	          has_key_type(part, "total_files_checked", json_type_int) &&
	          has_key_type(part, "compliant_files", json_type_int) &&
	          has_key_type(part, "violations", json_type_array) &&
	          json_object_object_get_ex(part, "compliance_rate", NULL));
	CU_ASSERT(json_object_object_get_ex(qc, "file_structure", &part) &&
	          has_key_type(part, "total_files", json_type_int) &&
	          has_key_type(part, "oversized_files", json_type_array) &&
	          has_key_type(part, "long_files", json_type_array) &&
	          json_object_object_get_ex(part, "avg_file_size_kb", NULL));
	static const char *const lint[] = {"backend_issues",   "frontend_issues", "backend_errors",
	                                   "backend_warnings", "frontend_errors", "frontend_warnings",
	                                   "total_issues"};
	CU_ASSERT(json_object_object_get_ex(qc, "linting", &part));
	for (size_t i = 0; part && i < sizeof lint / sizeof *lint; i++)
		CU_ASSERT(has_key_type(part, lint[i], json_type_int));
	CU_ASSERT(has_key_type(qc, "overall_score", json_type_int));
	CU_ASSERT(has_key_type(qc, "last_updated", json_type_string));
	json_object_put(qc);
	char *tmp = path_of(root, "QC_METRICS_ENHANCED.json.tmp", NULL);
	CU_ASSERT(access(tmp, F_OK) != 0);
	free(tmp);
	free(path);
}

static void test_once_fixtures(void)
{
	char *root = path_of(tacws_test_dir, "once", NULL);
	CU_ASSERT_EQUAL_FATAL(run_once(root, "7"), 0);
	char *ids = agent_ids(root);
	int n = 0, non_integer = 0, finished = 0, markers = 0;
	for (char *save = NULL, *id = strtok_r(ids, " ", &save); id;
	     id = strtok_r(NULL, " ", &save)) {
		n++;
		check_workflow(root, id, &non_integer, &finished, &markers);
	}
	CU_ASSERT(n >= 5 && n <= 12);
	CU_ASSERT(non_integer >= 1);
	CU_ASSERT(finished >= 2);
	CU_ASSERT(markers >= 3);
	free(ids);

	sqlite3 *db = open_db(root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM phase_queue") > 0);
	CU_ASSERT(count_rows(db,
	                     "SELECT count(*) FROM phase_queue WHERE status NOT IN "
	                     "('queued','ready','running','completed','blocked','failed')") == 0);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM phase_queue WHERE json_valid(phase_data) "
	                         "AND json_type(depends_on_phases) = 'array'") ==
	          count_rows(db, "SELECT count(*) FROM phase_queue"));
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM queue_config WHERE config_key = "
	                         "'queue_paused' AND config_value IN ('true','false')") == 1);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM workflow_history") >= 30);
	CU_ASSERT(count_rows(db, "SELECT count(DISTINCT status) FROM workflow_history") >= 3);
	CU_ASSERT(count_rows(db, "SELECT count(DISTINCT model_used) FROM workflow_history") >= 2);
	/* the live runs' rows follow them (not just inserted as pending) */
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM workflow_history WHERE status = 'running' "
	                         "AND current_phase IS NOT NULL") >= 1);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM workflow_history WHERE status IN "
	                         "('completed','failed') AND (end_time IS NULL OR duration_seconds "
	                         "IS NULL)") == 0);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM task_logs WHERE phase_status = 'completed' "
	                         "AND cost_usd > 0") > 0);
	CU_ASSERT(count_rows(db, "SELECT count(*) FROM task_logs WHERE phase_status NOT IN "
	                         "('started','completed','failed','skipped')") == 0);
	/* every running queue phase names a workflow folder that exists */
	sqlite3_stmt *st = NULL;
	CU_ASSERT(sqlite3_prepare_v2(db, "SELECT adw_id FROM phase_queue WHERE status = 'running'",
	                             -1, &st, NULL) == SQLITE_OK);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char *dir = path_of(root, "agents", (const char *)sqlite3_column_text(st, 0));
		CU_ASSERT(is_dir(dir));
		free(dir);
	}
	sqlite3_finalize(st);
	check_tac_schema(db);
	sqlite3_close(db);
	check_qc_metrics(root);
	free(root);
}

static void test_seed_is_deterministic(void)
{
	char *a = path_of(tacws_test_dir, "seed-a", NULL), *b = path_of(tacws_test_dir, "seed-b", NULL);
	CU_ASSERT_EQUAL_FATAL(run_once(a, "42"), 0);
	CU_ASSERT_EQUAL_FATAL(run_once(b, "42"), 0);
	char *ids_a = agent_ids(a), *ids_b = agent_ids(b);
	CU_ASSERT_STRING_EQUAL(ids_a, ids_b);
	/* a rerun into the same folder replaces the demo's own files */
	CU_ASSERT_EQUAL_FATAL(run_once(b, "43"), 0);
	char *ids_c = agent_ids(b);
	CU_ASSERT_STRING_NOT_EQUAL(ids_a, ids_c);
	free(ids_a);
	free(ids_b);
	free(ids_c);
	free(a);
	free(b);
}

static void test_refuses_foreign_data(void)
{
	char *root = path_of(tacws_test_dir, "foreign", NULL);
	mkdir(root, 0755);
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/keepme/adw_state.json", "{}"), 0);
	CU_ASSERT_NOT_EQUAL(run_once(root, "1"), 0);
	char *kept = path_of(root, "agents/keepme", "adw_state.json");
	CU_ASSERT(access(kept, F_OK) == 0);
	free(kept);

	char *root2 = path_of(tacws_test_dir, "foreign-db", NULL);
	mkdir(root2, 0755);
	CU_ASSERT_EQUAL(tacws_test_write_file(root2, "db/database.db", "not a demo database"), 0);
	CU_ASSERT_NOT_EQUAL(run_once(root2, "1"), 0);
	char *db = path_of(root2, "db", "database.db");
	FILE *f = fopen(db, "r");
	char buf[64] = "";
	CU_ASSERT(f && fgets(buf, sizeof buf, f));
	CU_ASSERT_STRING_EQUAL(buf, "not a demo database");
	if (f)
		fclose(f);
	free(db);
	free(root);
	free(root2);
}

/* Reads the driver's ready line and returns its HTTP port, or -1. */
static int read_port(int fd, int timeout_ms)
{
	char buf[512];
	size_t len = 0;
	long long end = tacws_test_now_ms() + timeout_ms;
	while (len < sizeof buf - 1 && tacws_test_now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *at = strstr(buf, "127.0.0.1:");
		if (at && strchr(at, '\n'))
			return atoi(at + strlen("127.0.0.1:"));
	}
	return -1;
}

/* Everything a feed could see: the state files and a digest of the tables. */
static char *snapshot(const char *root)
{
	char *ids = agent_ids(root);
	size_t cap = 1 << 20, len = 0;
	char *out = calloc(1, cap);
	for (char *save = NULL, *id = strtok_r(ids, " ", &save); id;
	     id = strtok_r(NULL, " ", &save)) {
		char *path = path_of(root, "agents", id),
		     *file = path_of(path, "adw_state.json", NULL);
		FILE *f = fopen(file, "r");
		if (f) {
			len += fread(out + len, 1, cap / 2 - len, f);
			fclose(f);
		}
		free(path);
		free(file);
	}
	sqlite3 *db = open_db(root);
	if (db) {
		snprintf(
		    out + len, cap - len, "|%lld|%lld|%lld|%lld",
		    count_rows(db, "SELECT count(*) FROM task_logs"),
		    count_rows(db, "SELECT sum(length(status) * phase_number) FROM phase_queue"),
		    count_rows(db, "SELECT count(*) FROM workflow_history WHERE status = "
		                   "'completed'"),
		    count_rows(db, "SELECT count(*) FROM phase_queue"));
		sqlite3_close(db);
	}
	free(ids);
	return out;
}

/* Child processes of pid (the stand-ins for running ADW scripts). */
static int children_of(pid_t pid, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < max) {
		char path[300], buf[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof buf, f)) {
			char *rp = strrchr(buf, ')');
			int ppid = 0;
			if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == pid)
				out[n++] = atoi(e->d_name);
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static void test_live_driver(void)
{
	char *root = path_of(tacws_test_dir, "live", NULL);
	char seed[32];
	snprintf(seed, sizeof seed, "%d", (int)getpid());
	const char *args[] = {"--repo-root",     root,  "--schema",    TACWS_DEMO_SCHEMA,
	                      "--seed",          seed,  "--http-port", "0",
	                      "--tick-ms",       "100", "--duration",  "8",
	                      "--health-period", "1",   "--quiet",     NULL};
	int fd = -1;
	pid_t pid = spawn_demo(args, &fd);
	CU_ASSERT_FATAL(pid > 0);
	int port = read_port(fd, 30000);
	CU_ASSERT(port > 0);
	if (port <= 0) {
		wait_demo(pid, 0);
		close(fd);
		free(root);
		return;
	}
	/* Running workflows have stand-in processes carrying their adw_id; they
	 * come and go with the ticks, and a fresh one may not have exec'd yet. */
	pid_t kids[32];
	int nkids = 0, named = 0;
	for (long long end = tacws_test_now_ms() + 3000; !named && tacws_test_now_ms() < end;) {
		nkids = children_of(pid, kids, 32);
		for (int i = 0; i < nkids; i++) {
			char path[64], cmd[256] = "";
			snprintf(path, sizeof path, "/proc/%d/cmdline", (int)kids[i]);
			FILE *f = fopen(path, "r");
			if (f) {
				if (fread(cmd, 1, sizeof cmd - 1, f) == 0)
					cmd[0] = '\0';
				fclose(f);
			}
			named |= strstr(cmd, "adws/adw_") != NULL;
		}
		if (!named)
			usleep(50000);
	}
	CU_ASSERT(nkids >= 1);
	CU_ASSERT(named);

	char *body = NULL;
	CU_ASSERT_EQUAL(tacws_http_get_text(port, "/openapi.json", &body), 200);
	json_object *doc = body ? json_tokener_parse(body) : NULL, *paths = NULL;
	CU_ASSERT(doc && json_object_object_get_ex(doc, "paths", &paths));
	CU_ASSERT(paths && json_object_object_length(paths) >= 15);
	CU_ASSERT(paths && json_object_object_get_ex(paths, "/docs", NULL));
	json_object *req = NULL;
	CU_ASSERT(paths && json_object_object_get_ex(paths, "/api/v1/request", &req) &&
	          json_object_object_get_ex(req, "options", NULL) &&
	          json_object_object_get_ex(req, "post", NULL));
	json_object_put(doc);
	free(body);

	CU_ASSERT_EQUAL(tacws_http_get_text(port, "/webhook-status", &body), 200);
	json_object *wh = body ? json_tokener_parse(body) : NULL, *stats = NULL, *up = NULL;
	CU_ASSERT(wh && has_key_type(wh, "status", json_type_string));
	CU_ASSERT(wh && json_object_object_get_ex(wh, "uptime", &up) &&
	          has_key_type(up, "seconds", json_type_int) &&
	          has_key_type(up, "hours", json_type_double) &&
	          has_key_type(up, "human", json_type_string));
	CU_ASSERT(wh && json_object_object_get_ex(wh, "stats", &stats) &&
	          has_key_type(stats, "total_received", json_type_int) &&
	          has_key_type(stats, "successful", json_type_int) &&
	          has_key_type(stats, "failed", json_type_int));
	/* the trigger service answers the rate as text: "93.8%" */
	const char *rate = stats ? str_of(stats, "success_rate") : NULL;
	CU_ASSERT(rate && rate[0] && rate[strlen(rate) - 1] == '%');
	CU_ASSERT(wh && has_key_type(wh, "recent_failures", json_type_array));
	json_object *last = NULL;
	CU_ASSERT(wh && json_object_object_get_ex(wh, "last_successful", &last));
	if (last && !json_object_is_type(last, json_type_null)) {
		CU_ASSERT(has_key_type(last, "issue", json_type_int));
		CU_ASSERT(has_key_type(last, "adw_id", json_type_string));
		CU_ASSERT(has_key_type(last, "workflow", json_type_string));
		CU_ASSERT(has_key_type(last, "timestamp", json_type_string));
	}
	json_object_put(wh);
	free(body);

	CU_ASSERT_EQUAL(tacws_http_get_text(port, "/no-such-thing", &body), 404);
	free(body);
	/* the stand-ins TAC's health checks look at */
	CU_ASSERT_EQUAL(tacws_http_get_text(port, "/", &body), 200);
	free(body);
	long tunnel = tacws_http_get_text(port, "/tunnel/health", &body);
	CU_ASSERT(tunnel == 200 || tunnel == 502);
	free(body);

	/* with --health-period 1, /api/v1/health is up 1 s then down 1/3 s */
	int up_seen = 0, down_seen = 0;
	for (long long end = tacws_test_now_ms() + 5000; tacws_test_now_ms() < end;) {
		long s = tacws_http_get_text(port, "/api/v1/health", &body);
		free(body);
		up_seen |= s == 200;
		down_seen |= s == 503;
		if (up_seen && down_seen)
			break;
		usleep(50000);
	}
	CU_ASSERT(up_seen);
	CU_ASSERT(down_seen);

	/* the QC document is rewritten whole (never torn) every 40 ticks, and the
	 * backlog moves every 20 */
	char *qc_path = path_of(root, "QC_METRICS_ENHANCED.json", NULL);
	json_object *qc = json_object_from_file(qc_path);
	char *qc_before = strdup(qc ? str_of(qc, "last_updated") : "");
	json_object_put(qc);
	sqlite3 *db = open_db(root);
	long long plans_before = db ? count_rows(db, "SELECT sum(length(status) * id) + count(*) "
	                                            "FROM planned_features")
	                            : -1;
	int qc_changed = 0, plans_changed = 0;
	for (long long end = tacws_test_now_ms() + 6000;
	     !(qc_changed && plans_changed) && tacws_test_now_ms() < end;) {
		usleep(100000);
		qc = json_object_from_file(qc_path);
		CU_ASSERT_PTR_NOT_NULL(qc);
		const char *stamp = qc ? str_of(qc, "last_updated") : NULL;
		qc_changed |= stamp && strcmp(stamp, qc_before) != 0;
		json_object_put(qc);
		plans_changed |= db && count_rows(db, "SELECT sum(length(status) * id) + count(*) "
		                                      "FROM planned_features") != plans_before;
	}
	CU_ASSERT(qc_changed);
	CU_ASSERT(plans_changed);
	sqlite3_close(db);
	free(qc_before);
	free(qc_path);

	/* ticks every 100 ms: the files or tables change within a few */
	char *before = snapshot(root), *after = NULL;
	for (long long end = tacws_test_now_ms() + 4000; tacws_test_now_ms() < end;) {
		usleep(300000);
		free(after);
		after = snapshot(root);
		if (strcmp(before, after))
			break;
	}
	CU_ASSERT(after && strcmp(before, after) != 0);
	free(before);
	free(after);

	CU_ASSERT_EQUAL(wait_demo(pid, 20000), 0);
	close(fd);
	/* a deliberately torn state file is repaired before it leaves */
	char *ids = agent_ids(root);
	for (char *save = NULL, *id = strtok_r(ids, " ", &save); id;
	     id = strtok_r(NULL, " ", &save)) {
		char *dir = path_of(root, "agents", id),
		     *file = path_of(dir, "adw_state.json", NULL);
		json_object *state = json_object_from_file(file);
		CU_ASSERT_PTR_NOT_NULL(state);
		json_object_put(state);
		free(dir);
		free(file);
	}
	free(ids);
	/* it stopped its stand-in processes before leaving */
	for (int i = 0; i < nkids; i++)
		CU_ASSERT(kill(kids[i], 0) != 0 && errno == ESRCH);
	free(root);
}

static void test_sigterm_stops(void)
{
	char *root = path_of(tacws_test_dir, "sigterm", NULL);
	const char *args[] = {"--repo-root", root, "--schema", TACWS_DEMO_SCHEMA,
	                      "--http-port", "0",  "--quiet",  NULL};
	int fd = -1;
	pid_t pid = spawn_demo(args, &fd);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(read_port(fd, 30000) > 0);
	long long t0 = tacws_test_now_ms();
	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(wait_demo(pid, 10000), 0);
	CU_ASSERT(tacws_test_now_ms() - t0 < 5000);
	close(fd);
	free(root);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"--once writes valid state files and tables", test_once_fixtures},
	    {"the same seed tells the same story", test_seed_is_deterministic},
	    {"refuses folders and databases it did not make", test_refuses_foreign_data},
	    {"live: HTTP services answer and the data keeps changing", test_live_driver},
	    {"SIGTERM stops it promptly", test_sigterm_stops},
	    {NULL, NULL},
	};
	return tacws_test_run("tacws-demo", tacws_test_tmpdir_init, tacws_test_tmpdir_cleanup, cases);
}
