#include "dbfix.h"
#include "fake_host.h"
#include "proc.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static dbfix fix;
static const char *root;
static pid_t child = -1;

static int setup(void)
{
	if (dbfix_open(&fix))
		return 1;
	root = fix.base;
	return 0;
}

static int teardown(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	dbfix_close(&fix);
	return 0;
}

static void load(int with_db)
{
	fake_host_config_set("sources", "repo_root", root);
	if (with_db)
		fake_host_config_set("sources", "database", fix.url);
	fake_host_config_set("feed.adw-monitor", "enabled", "true");
	CU_ASSERT_EQUAL_FATAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake_host_feed("adw-monitor"));
}

static void put(const char *id, const char *file, const char *json)
{
	char rel[256];
	snprintf(rel, sizeof rel, "agents/%s/%s", id, file);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(root, rel, json), 0);
}

static json_object *poll_monitor(void)
{
	json_object *data = NULL;
	char err[256];
	CU_ASSERT_EQUAL(fake_host_snapshot("adw-monitor", NULL, &data, err, sizeof err), 0);
	return data;
}

static json_object *workflow(json_object *data, const char *id)
{
	json_object *list = json_object_object_get(data, "workflows");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *w = json_object_array_get_idx(list, i);
		if (!strcmp(json_object_get_string(json_object_object_get(w, "adw_id")), id))
			return w;
	}
	return NULL;
}

static const char *field(json_object *data, const char *id, const char *key)
{
	json_object *w = workflow(data, id);
	if (!w)
		return "(no such workflow)";
	json_object *v;
	if (!json_object_object_get_ex(w, key, &v))
		return "(no such key)";
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* The adw_ids in payload order, joined by spaces, into buf. */
static const char *order(json_object *data, char *buf, size_t len)
{
	json_object *list = json_object_object_get(data, "workflows");
	buf[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *w = json_object_array_get_idx(list, i);
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", n ? " " : "",
		         json_object_get_string(json_object_object_get(w, "adw_id")));
	}
	return buf;
}

/* A real process whose command line holds marker, found by /proc like the plugin does. */
static pid_t spawn_with(const char *marker)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char arg0[256];
		snprintf(arg0, sizeof arg0, "adw-worker-%s", marker);
		execlp("sleep", arg0, "30", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 200; i++) {
		int found = 0;
		if (tacws_proc_find(marker, &found, NULL) == 0 && found)
			return pid;
		usleep(10 * 1000);
	}
	return pid;
}

static void stop_child(void)
{
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	child = -1;
}

/* Removes the fixtures of a test, but not db/ (the fixture keeps it open). */
static void clean(void)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/agents", root);
	tacws_test_rmtree(path);
	snprintf(path, sizeof path, "%s/trees", root);
	tacws_test_rmtree(path);
}

/* name made unique to this process, in one of a few rotating buffers. */
static const char *uid(const char *name)
{
	static char pool[16][64];
	static int next;
	char *buf = pool[next++ % 16];
	snprintf(buf, sizeof pool[0], "%s-%d", name, (int)getpid());
	return buf;
}

static const char *trees(const char *id)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "trees/%s", id);
	return buf;
}

static void test_registration(void)
{
	load(0);
	const tacws_feed_desc *f = fake_host_feed("adw-monitor");
	CU_ASSERT_STRING_EQUAL(f->endpoint, "adw-monitor");
	CU_ASSERT_STRING_EQUAL(f->message_type, "adw_monitor_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 2000);
	char *s = fake_host_snapshot_string("adw-monitor", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "{\"summary\":{\"total\":0,\"running\":0,\"completed\":0,"
	                                 "\"failed\":0,\"paused\":0,\"queued\":0},\"workflows\":[],"
	                                 "\"last_updated\":\""));
	free(s);
	fake_host_unload();
}

static void test_full_entry(void)
{
	put("full0001", "adw_state.json",
	    "{\n  \"adw_id\": \"full0001\",\n  \"issue_number\": \"42\",\n"
	    "  \"issue_class\": \"/feature\",\n  \"nl_input\": \"Add a dark mode\",\n"
	    "  \"workflow_template\": \"adw_sdlc_iso\",\n"
	    "  \"start_time\": \"2026-11-26T10:00:00Z\",\n"
	    "  \"end_time\": \"2026-11-26T10:30:15.600Z\",\n  \"status\": \"completed\",\n"
	    "  \"github_url\": \"https://github.com/o/r/issues/42\",\n"
	    "  \"worktree_path\": \"/repo/trees/full0001\",\n"
	    "  \"estimated_cost_total\": 1.5,\n"
	    "  \"estimated_cost_breakdown\": {\"plan\": 0.1, \"build\": 0.2},\n"
	    "  \"error_count\": 2,\n  \"last_error\": \"lint failed\"\n}\n");
	put("full0001", "completed_phases.json",
	    "{\"completed\":[\"Plan\",\"VALIDATE\",\"build\"],\"current\":null}");
	load(0);
	char *s = fake_host_snapshot_string("adw-monitor", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    s, "{\"summary\":{\"total\":1,\"running\":0,\"completed\":1,\"failed\":0,\"paused\":0,"
	       "\"queued\":0},\"workflows\":[{\"adw_id\":\"full0001\",\"issue_number\":42,"
	       "\"pr_number\":null,\"issue_class\":\"\\/feature\",\"title\":\"Add a dark mode\","
	       "\"status\":\"completed\",\"current_phase\":null,\"phase_progress\":33.3,"
	       "\"workflow_template\":\"adw_sdlc_iso\",\"start_time\":\"2026-11-26T10:00:00Z\","
	       "\"end_time\":\"2026-11-26T10:30:15.600Z\",\"duration_seconds\":1816,"
	       "\"github_url\":\"https:\\/\\/github.com\\/o\\/r\\/issues\\/42\","
	       "\"worktree_path\":\"\\/repo\\/trees\\/full0001\",\"current_cost\":0.3,"
	       "\"estimated_cost_total\":1.5,\"error_count\":2,\"last_error\":\"lint failed\","
	       "\"is_process_active\":false,\"phases_completed\":[\"plan\",\"validate\",\"build\"],"
	       "\"total_phases\":9}],"
	       "\"last_updated\":\""));
	free(s);
	fake_host_unload();
	clean();
}

static void test_status_and_sort(void)
{
	/* Each run's expected status is in its name; the names carry our pid so
	 * that another instance of this test, running at the same time, never
	 * sees our child process. */
	put(uid("completed1"), "adw_state.json",
	    "{\"status\":\"completed\",\"start_time\":\"2026-11-26T08:00:00Z\"}");
	put(uid("failed1"), "adw_state.json",
	    "{\"status\":\"failed\",\"start_time\":\"2026-11-26T07:00:00Z\"}");
	put(uid("running1"), "adw_state.json", "{\"start_time\":\"2026-11-26T06:00:00Z\"}");
	put(uid("paused1"), "adw_state.json", "{\"start_time\":\"2026-11-26T05:00:00Z\"}");
	put(uid("queued1"), "adw_state.json",
	    "{\"status\":\"running\",\"start_time\":\"2026-11-26T04:00:00Z\"}");
	put(uid("queued2"), "adw_state.json", "{\"start_time\":\"2026-11-26T09:00:00+02:00\"}");
	put(uid("queued3"), "adw_state.json", "{}");
	put(uid("paused2"), "adw_state.json", "{\"start_time\":\"2026-11-26T05:30:00Z\"}");
	/* The file's final status beats a live process. */
	put(uid("completed2"), "adw_state.json",
	    "{\"status\":\"completed\",\"start_time\":\"2026-11-26T09:00:00Z\"}");
	put(uid("broken1"), "adw_state.json", "{\"status\": \"comp");
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, trees(uid("paused1"))), 0);
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, trees(uid("paused2"))), 0);
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, trees(uid("running1"))), 0);
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, trees(uid("completed2"))), 0);
	char marker[160];
	snprintf(marker, sizeof marker, "%s %s", uid("running1"), uid("completed2"));
	child = spawn_with(marker);
	CU_ASSERT_TRUE_FATAL(child > 0);
	load(0);
	json_object *data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	char buf[512];
	char want[512];
	snprintf(want, sizeof want, "%s %s %s %s %s %s %s %s %s", uid("running1"), uid("paused2"),
	         uid("paused1"), uid("failed1"), uid("completed2"), uid("completed1"),
	         uid("queued2"), uid("queued1"), uid("queued3"));
	CU_ASSERT_STRING_EQUAL(order(data, buf, sizeof buf), want);
	CU_ASSERT_STRING_EQUAL(field(data, uid("running1"), "status"), "\"running\"");
	CU_ASSERT_STRING_EQUAL(field(data, uid("running1"), "is_process_active"), "true");
	CU_ASSERT_STRING_EQUAL(field(data, uid("completed2"), "status"), "\"completed\"");
	CU_ASSERT_STRING_EQUAL(field(data, uid("completed2"), "is_process_active"), "true");
	CU_ASSERT_STRING_EQUAL(field(data, uid("paused1"), "is_process_active"), "false");
	CU_ASSERT_STRING_EQUAL(field(data, uid("queued1"), "status"), "\"queued\"");
	CU_ASSERT_STRING_EQUAL(
	    json_object_to_json_string_ext(json_object_object_get(data, "summary"),
	                                   JSON_C_TO_STRING_PLAIN),
	    "{\"total\":9,\"running\":1,\"completed\":2,\"failed\":1,\"paused\":2,\"queued\":3}");
	json_object_put(data);

	/* The process exits: running1 has a worktree, so it is paused now. */
	stop_child();
	data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, uid("running1"), "status"), "\"paused\"");
	CU_ASSERT_STRING_EQUAL(field(data, uid("running1"), "is_process_active"), "false");
	CU_ASSERT_STRING_EQUAL(field(data, uid("completed2"), "is_process_active"), "false");
	json_object_put(data);
	fake_host_unload();
	clean();
}

static void test_progress_and_fields(void)
{
	put("p0", "adw_state.json", "{}");
	put("p2", "adw_state.json", "{\"estimated_cost_breakdown\":{\"plan\":0.1,\"x\":\"y\"}}");
	put("p2", "completed_phases.json",
	    "{\"completed\":[\"Plan\",\"Build\",\"Unknown\"],\"current\":\"Test\","
	    "\"last_updated\":\"2026-11-26T10:00:00Z\"}");
	put("p9", "adw_state.json", "{\"issue_number\":\"abc\",\"error_count\":\"3\"}");
	put("p9", "completed_phases.json",
	    "{\"completed\":[\"plan\",\"validate\",\"build\",\"lint\",\"test\",\"review\","
	    "\"document\",\"ship\",\"cleanup\",\"plan\"],\"current\":\"Cleanup\"}");
	put("pcur", "adw_state.json", "{\"issue_number\":7}");
	put("pcur", "completed_phases.json", "{\"completed\":[],\"current\":\"plan\"}");
	put("pbad", "adw_state.json", "{}");
	put("pbad", "completed_phases.json", "{\"completed\":[\"Pl");

	/* 150 characters, two bytes each: the title keeps 100 characters, 200 bytes. */
	char nl[1024] = "{\"nl_input\":\"";
	for (int i = 0; i < 150; i++)
		strcat(nl, "\xc3\xa9");
	strcat(nl, "\"}");
	put("title1", "adw_state.json", nl);
	load(0);
	json_object *data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "phase_progress"), "0.0");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "phases_completed"), "[]");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "current_phase"), "null");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "current_cost"), "null");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "title"), "\"\"");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "issue_class"), "\"\"");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "workflow_template"), "\"\"");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "pr_number"), "null");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "duration_seconds"), "null");
	CU_ASSERT_STRING_EQUAL(field(data, "p0", "error_count"), "0");
	/* 3/9 done (TAC counts every completed name) and one in progress: 33.3 + 5.6 */
	CU_ASSERT_STRING_EQUAL(field(data, "p2", "phase_progress"), "38.9");
	CU_ASSERT_STRING_EQUAL(field(data, "p2", "phases_completed"),
	                       "[\"plan\",\"build\",\"unknown\"]");
	CU_ASSERT_STRING_EQUAL(field(data, "p2", "current_phase"), "\"test\"");
	CU_ASSERT_STRING_EQUAL(field(data, "p2", "current_cost"), "0.1");
	/* The current phase is already completed: no half phase on top. */
	CU_ASSERT_STRING_EQUAL(field(data, "p9", "phase_progress"), "100.0");
	CU_ASSERT_STRING_EQUAL(field(data, "p9", "phases_completed"),
	                       "[\"plan\",\"validate\",\"build\",\"lint\",\"test\",\"review\","
	                       "\"document\",\"ship\",\"cleanup\"]");
	CU_ASSERT_STRING_EQUAL(field(data, "p9", "current_phase"), "null");
	CU_ASSERT_STRING_EQUAL(field(data, "p9", "issue_number"), "null");
	CU_ASSERT_STRING_EQUAL(field(data, "p9", "error_count"), "0");
	CU_ASSERT_STRING_EQUAL(field(data, "pcur", "phase_progress"), "5.6");
	CU_ASSERT_STRING_EQUAL(field(data, "pcur", "issue_number"), "7");
	CU_ASSERT_STRING_EQUAL(field(data, "pbad", "phase_progress"), "0.0");
	json_object *title = json_object_object_get(workflow(data, "title1"), "title");
	CU_ASSERT_EQUAL(json_object_get_string_len(title), 200);
	CU_ASSERT_EQUAL(memcmp(json_object_get_string(title), "\xc3\xa9\xc3\xa9", 4), 0);
	json_object_put(data);
	fake_host_unload();
	clean();
}

static void test_duration_does_not_tick(void)
{
	put("open0001", "adw_state.json", "{\"start_time\":\"2026-11-26T10:00:00Z\"}");
	load(0);
	json_object *data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "open0001", "duration_seconds"), "null");
	char *first = strdup(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	json_object_put(data);

	/* Unchanged content: the same bytes, last_updated included. */
	usleep(20 * 1000);
	char *second = fake_host_snapshot_string("adw-monitor", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(second);
	CU_ASSERT_STRING_EQUAL(first, second);

	/* A change moves last_updated. */
	put("open0001", "adw_state.json",
	    "{\"start_time\":\"2026-11-26T10:00:00Z\",\"end_time\":\"2026-11-26T10:01:00Z\"}");
	data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "open0001", "duration_seconds"), "60");
	json_object *before = json_tokener_parse(first);
	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	CU_ASSERT_STRING_NOT_EQUAL(
	    json_object_get_string(json_object_object_get(before, "last_updated")),
	    json_object_get_string(json_object_object_get(data, "last_updated")));
	json_object_put(before);
	json_object_put(data);
	free(first);
	free(second);
	fake_host_unload();
	clean();
}

static void test_task_logs(void)
{
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	CU_ASSERT_EQUAL_FATAL(
	    dbfix_exec(&fix,
	               "INSERT INTO task_logs (id, adw_id, phase_name, phase_status, cost_usd, "
	               "created_at) VALUES "
	               "(1, 'db000001', 'plan', 'started', NULL, '2026-11-26T10:00:00Z'),"
	               "(2, 'db000001', 'plan', 'completed', 0.5, '2026-11-26T10:01:00Z'),"
	               "(3, 'db000001', 'validate', 'started', NULL, '2026-11-26T10:02:00Z'),"
	               "(4, 'db000001', 'validate', 'skipped', 0.125, '2026-11-26T10:03:00Z'),"
	               "(5, 'db000001', 'Build', 'completed', 0.25, '2026-11-26T10:04:00Z'),"
	               "(6, 'db000001', 'lint', 'started', 0.1, '2026-11-26T10:05:00Z'),"
	               "(7, 'other001', 'plan', 'completed', 9, '2026-11-26T10:05:00Z')"),
	    0);
	/* The table wins over the file for db000001; nodb0001 has no rows: file. */
	put("db000001", "adw_state.json", "{\"estimated_cost_breakdown\":{\"plan\":7}}");
	put("db000001", "completed_phases.json",
	    "{\"completed\":[\"Plan\",\"Validate\",\"Build\","
	    "\"Lint\",\"Test\"],\"current\":\"Review\"}");
	put("nodb0001", "adw_state.json", "{\"estimated_cost_breakdown\":{\"plan\":0.2}}");
	put("nodb0001", "completed_phases.json",
	    "{\"completed\":[\"Plan\"],\"current\":\"Build\"}");
	load(1);
	json_object *data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "phases_completed"), "[\"plan\",\"build\"]");
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "current_phase"), "\"lint\"");
	/* 2/9 + 1/18 */
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "phase_progress"), "27.8");
	/* Like TAC, only completed and failed rows cost. */
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "current_cost"), "0.75");
	CU_ASSERT_STRING_EQUAL(field(data, "nodb0001", "phases_completed"), "[\"plan\"]");
	CU_ASSERT_STRING_EQUAL(field(data, "nodb0001", "current_phase"), "\"build\"");
	CU_ASSERT_STRING_EQUAL(field(data, "nodb0001", "current_cost"), "0.2");
	json_object_put(data);

	/* New rows show up at the next poll. */
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "INSERT INTO task_logs (id, adw_id, phase_name, "
	                                 "phase_status, cost_usd, created_at) VALUES "
	                                 "(8, 'db000001', 'lint', 'completed', 0, "
	                                 "'2026-11-26T10:06:00Z')"),
	                0);
	data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "phases_completed"),
	                       "[\"plan\",\"build\",\"lint\"]");
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "current_phase"), "null");
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "phase_progress"), "33.3");
	json_object_put(data);
	fake_host_unload();

	/* An unreachable database falls back to the files. */
	fake_host_config_set("sources", "database", "sqlite:no/such/file.db");
	load(0);
	data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "phases_completed"),
	                       "[\"plan\",\"validate\",\"build\",\"lint\",\"test\"]");
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "current_phase"), "\"review\"");
	CU_ASSERT_STRING_EQUAL(field(data, "db000001", "current_cost"), "7.0");
	json_object_put(data);
	fake_host_unload();
	clean();
}

static void test_inotify_latency(void)
{
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents"), 0);
	load(0);
	long long t0 = tacws_test_now_ms();
	put("watch001", "adw_state.json", "{}");
	CU_ASSERT_TRUE(fake_host_wait_polls("adw-monitor", 1, 1000) >= 1);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 1000);

	/* A worktree appearing changes the status too. */
	int before = fake_host_poll_count("adw-monitor");
	t0 = tacws_test_now_ms();
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "trees/watch001"), 0);
	CU_ASSERT_TRUE(fake_host_wait_polls("adw-monitor", before + 1, 1000) > before);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 1000);

	before = fake_host_poll_count("adw-monitor");
	t0 = tacws_test_now_ms();
	put("watch001", "completed_phases.json", "{\"completed\":[\"Plan\"]}");
	CU_ASSERT_TRUE(fake_host_wait_polls("adw-monitor", before + 1, 1000) > before);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 1000);
	fake_host_unload();
}

static void test_tac_fallbacks(void)
{
	/* TAC's alternative keys, string costs, a recorded duration and error.log. */
	put("alt00001", "adw_state.json",
	    "{\"classification\":\"/bug\",\"workflow\":\"adw_plan_iso\","
	    "\"estimated_cost\":\"2.5\",\"current_cost\":0.4,\"duration_seconds\":12.5}");
	put("alt00001", "error.log", "\n  Traceback: boom\n\n");
	/* Paused without a recorded phase: at its next phase, as TAC infers. */
	put("next0001", "adw_state.json", "{\"last_error\":\"kept\",\"error_count\":0}");
	put("next0001", "completed_phases.json", "{\"completed\":[\"plan\"]}");
	put("next0001", "error.log", "ignored: last_error is set");
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, trees("next0001")), 0);
	load(0);
	json_object *data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "alt00001", "issue_class"), "\"\\/bug\"");
	CU_ASSERT_STRING_EQUAL(field(data, "alt00001", "workflow_template"), "\"adw_plan_iso\"");
	CU_ASSERT_STRING_EQUAL(field(data, "alt00001", "estimated_cost_total"), "2.5");
	CU_ASSERT_STRING_EQUAL(field(data, "alt00001", "current_cost"), "0.4");
	CU_ASSERT_STRING_EQUAL(field(data, "alt00001", "duration_seconds"), "12.5");
	CU_ASSERT_STRING_EQUAL(field(data, "alt00001", "last_error"), "\"Traceback: boom\"");
	CU_ASSERT_STRING_EQUAL(field(data, "alt00001", "error_count"), "1");
	CU_ASSERT_STRING_EQUAL(field(data, "next0001", "status"), "\"paused\"");
	CU_ASSERT_STRING_EQUAL(field(data, "next0001", "current_phase"), "\"validate\"");
	CU_ASSERT_STRING_EQUAL(field(data, "next0001", "phase_progress"), "16.7");
	CU_ASSERT_STRING_EQUAL(field(data, "next0001", "last_error"), "\"kept\"");
	CU_ASSERT_STRING_EQUAL(field(data, "next0001", "error_count"), "0");
	json_object_put(data);
	fake_host_unload();
	clean();
}

/* An older task_logs without phase_number, cost_usd or created_at still
 * counts; one without adw_id is no error either: the files are used. */
static void test_task_logs_missing_columns(void)
{
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE task_logs"), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "CREATE TABLE task_logs (adw_id TEXT, "
	                                       "phase_name TEXT, phase_status TEXT)"),
	                      0);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "INSERT INTO task_logs VALUES "
	                                       "('old00001', 'plan', 'completed'),"
	                                       "('old00001', 'build', 'started')"),
	                      0);
	put("old00001", "adw_state.json", "{}");
	put("old00001", "completed_phases.json", "{\"completed\":[\"x\",\"y\",\"z\"]}");
	load(1);
	json_object *data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "old00001", "phases_completed"), "[\"plan\"]");
	CU_ASSERT_STRING_EQUAL(field(data, "old00001", "current_phase"), "\"build\"");
	CU_ASSERT_STRING_EQUAL(field(data, "old00001", "current_cost"), "null");
	json_object_put(data);
	fake_host_unload();

	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE task_logs"), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "CREATE TABLE task_logs (id INTEGER)"), 0);
	load(1);
	data = poll_monitor();
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(field(data, "old00001", "phases_completed"),
	                       "[\"x\",\"y\",\"z\"]");
	json_object_put(data);
	fake_host_unload();
	clean();
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"registration and empty tree", test_registration},
	    {"one entry, every field", test_full_entry},
	    {"status derivation and sort order", test_status_and_sort},
	    {"progress arithmetic and fields", test_progress_and_fields},
	    {"duration and last_updated do not tick", test_duration_does_not_tick},
	    {"phases and costs from task_logs", test_task_logs},
	    {"inotify latency", test_inotify_latency},
	    {"TAC's fallback keys and error.log", test_tac_fallbacks},
	    {"task_logs with missing columns", test_task_logs_missing_columns},
	    {NULL, NULL},
	};
	return tacws_test_run("adw_monitor", setup, teardown, cases);
}
