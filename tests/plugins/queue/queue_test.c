/* The queue plugin through the fake host, on SQLite and on PostgreSQL (TACWS_TEST_DB=pg). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbfix.h"
#include "fake_host.h"
#include "testutil.h"

static dbfix fix;

static int suite_init(void)
{
	return dbfix_open(&fix) || dbfix_exec_conf(&fix, "schema.sql") ? -1 : 0;
}

static int suite_cleanup(void)
{
	dbfix_close(&fix);
	return 0;
}

static void load(const char *channel)
{
	dbfix_load_plugin(&fix, PLUGIN_PATH, "queue", channel);
}

static void reset(void)
{
	CU_ASSERT_EQUAL_FATAL(
	    dbfix_exec(&fix, "DELETE FROM phase_queue; DELETE FROM queue_config;"), 0);
}

static void test_feed(void)
{
	load(NULL);
	const tacws_feed_desc *f = fake_host_feed("queue");
	CU_ASSERT_STRING_EQUAL(f->endpoint, "queue");
	CU_ASSERT_STRING_EQUAL(f->message_type, "queue_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 2000);
	CU_ASSERT_STRING_EQUAL(f->config_keys[0], "listen_channel");
	fake_host_unload();
}

static void test_payload(void)
{
	reset();
	CU_ASSERT_EQUAL_FATAL(
	    dbfix_exec(&fix,
	               "INSERT INTO phase_queue VALUES ('q-b', 7, 2, 102, 'queued', 'build', "
	               "'[1]', '{\"title\":\"Build\",\"n\":2}', '2026-11-26T10:00:00Z', "
	               "'2026-11-26T10:05:00Z', NULL, NULL, NULL, 50, 2, NULL, NULL);"
	               "INSERT INTO phase_queue VALUES ('q-a', 7, 1, 101, 'running', 'plan', "
	               "'[]', '{}', '2026-11-26T09:00:00Z', '2026-11-26T09:30:00Z', NULL, "
	               "'77c90e61', 12, 10, 1, '2026-11-26T09:10:00Z', "
	               "'2026-11-26T09:20:00Z');"
	               "INSERT INTO phase_queue VALUES ('q-c', 3, 1, NULL, 'failed', NULL, NULL, "
	               "NULL, '2026-11-25T08:00:00Z', '2026-11-25T08:00:00Z', 'boom', NULL, "
	               "NULL, 50, NULL, NULL, NULL);"
	               "INSERT INTO queue_config VALUES ('queue_paused', 'false', "
	               "'2026-11-26T00:00:00Z');"),
	    0);
	load(NULL);
	char *s = fake_host_snapshot_string("queue", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(
	    s, "{\"phases\":["
	       "{\"queue_id\":\"q-c\",\"feature_id\":3,\"phase_number\":1,\"issue_number\":null,"
	       "\"status\":\"failed\",\"current_phase\":null,\"depends_on_phases\":[],"
	       "\"phase_data\":{},\"created_at\":\"2026-11-25T08:00:00Z\","
	       "\"updated_at\":\"2026-11-25T08:00:00Z\",\"error_message\":\"boom\","
	       "\"adw_id\":null,\"pr_number\":null,\"priority\":50,\"queue_position\":null,"
	       "\"ready_timestamp\":null,\"started_timestamp\":null},"
	       "{\"queue_id\":\"q-a\",\"feature_id\":7,\"phase_number\":1,\"issue_number\":101,"
	       "\"status\":\"running\",\"current_phase\":\"plan\",\"depends_on_phases\":[],"
	       "\"phase_data\":{},\"created_at\":\"2026-11-26T09:00:00Z\","
	       "\"updated_at\":\"2026-11-26T09:30:00Z\",\"error_message\":null,"
	       "\"adw_id\":\"77c90e61\",\"pr_number\":12,\"priority\":10,\"queue_position\":1,"
	       "\"ready_timestamp\":\"2026-11-26T09:10:00Z\","
	       "\"started_timestamp\":\"2026-11-26T09:20:00Z\"},"
	       "{\"queue_id\":\"q-b\",\"feature_id\":7,\"phase_number\":2,\"issue_number\":102,"
	       "\"status\":\"queued\",\"current_phase\":\"build\",\"depends_on_phases\":[1],"
	       "\"phase_data\":{\"title\":\"Build\",\"n\":2},"
	       "\"created_at\":\"2026-11-26T10:00:00Z\",\"updated_at\":\"2026-11-26T10:05:00Z\","
	       "\"error_message\":null,\"adw_id\":null,\"pr_number\":null,\"priority\":50,"
	       "\"queue_position\":2,\"ready_timestamp\":null,\"started_timestamp\":null}],"
	       "\"total\":3,\"paused\":false}");
	/* Unchanged data, identical bytes. */
	char *again = fake_host_snapshot_string("queue", NULL);
	CU_ASSERT_STRING_EQUAL(s, again);
	free(again);
	free(s);
	fake_host_unload();
}

static json_object *snapshot(void)
{
	return dbfix_snapshot("queue");
}

static void test_limit_total(void)
{
	reset();
	/* Inserted newest feature first, so the order comes from ORDER BY. */
	for (int feature = 12; feature >= 1; feature--)
		for (int phase = 10; phase >= 1; phase--)
			CU_ASSERT_EQUAL_FATAL(
			    dbfix_execf(&fix,
			                "INSERT INTO phase_queue (queue_id, feature_id, "
			                "phase_number, status, created_at, updated_at) VALUES "
			                "('f%02d-p%02d', %d, %d, 'queued', 't', 't')",
			                feature, phase, feature, phase),
			    0);
	load(NULL);
	json_object *data = snapshot();
	json_object *phases = json_object_object_get(data, "phases");
	CU_ASSERT_EQUAL(json_object_array_length(phases), 100);
	/* TAC's backend: the number of phases sent, not of the table's rows. */
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(data, "total")), 100);
	for (size_t i = 0; i < json_object_array_length(phases); i++) {
		char want[48];
		snprintf(want, sizeof want, "f%02zu-p%02zu", i / 10 + 1, i % 10 + 1);
		json_object *row = json_object_array_get_idx(phases, i);
		CU_ASSERT_STRING_EQUAL(
		    json_object_get_string(json_object_object_get(row, "queue_id")), want);
	}
	json_object_put(data);
	fake_host_unload();
}

static int paused(void)
{
	json_object *data = snapshot();
	json_object *p = json_object_object_get(data, "paused");
	int v = json_object_is_type(p, json_type_boolean) ? json_object_get_boolean(p) : -1;
	json_object_put(data);
	return v;
}

static void test_paused(void)
{
	reset();
	load(NULL);
	CU_ASSERT_EQUAL(paused(), 0);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "INSERT INTO queue_config VALUES ('queue_paused', "
	                                 "'true', 't')"),
	                0);
	CU_ASSERT_EQUAL(paused(), 1);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "UPDATE queue_config SET config_value = 'false'"), 0);
	CU_ASSERT_EQUAL(paused(), 0);
	/* Exactly 'true', as TAC's backend compares it. */
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "UPDATE queue_config SET config_value = 'TRUE'"), 0);
	CU_ASSERT_EQUAL(paused(), 0);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "UPDATE queue_config SET config_value = 'true'"), 0);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "INSERT INTO queue_config VALUES ('other', 'false', 't')"),
	                0);
	CU_ASSERT_EQUAL(paused(), 1);
	fake_host_unload();
}

static void test_json_columns(void)
{
	static const struct {
		const char *depends, *data, *want_depends, *want_data;
	} cases[] = {
	    {"'[1,2]'", "'{\"a\":{\"b\":[1]}}'", "[1,2]", "{\"a\":{\"b\":[1]}}"},
	    {"NULL", "NULL", "[]", "{}"},
	    {"'not json'", "'{broken'", "[]", "{}"},
	    {"'{\"a\":1}'", "'[1]'", "[]", "{}"},
	    {"''", "'\"text\"'", "[]", "{}"},
	    {"' [ 3 ] '", "' {} '", "[3]", "{}"},
	};
	reset();
	load(NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CU_ASSERT_EQUAL_FATAL(
		    dbfix_execf(&fix,
		                "DELETE FROM phase_queue; INSERT INTO phase_queue (queue_id, "
		                "feature_id, phase_number, status, depends_on_phases, "
		                "phase_data, created_at, updated_at) VALUES ('q', 1, 1, "
		                "'queued', %s, %s, 't', 't')",
		                cases[i].depends, cases[i].data),
		    0);
		json_object *data = snapshot();
		json_object *row =
		    json_object_array_get_idx(json_object_object_get(data, "phases"), 0);
		CU_ASSERT_STRING_EQUAL(
		    json_object_to_json_string_ext(json_object_object_get(row, "depends_on_phases"),
		                                   JSON_C_TO_STRING_PLAIN),
		    cases[i].want_depends);
		CU_ASSERT_STRING_EQUAL(
		    json_object_to_json_string_ext(json_object_object_get(row, "phase_data"),
		                                   JSON_C_TO_STRING_PLAIN),
		    cases[i].want_data);
		json_object_put(data);
	}
	fake_host_unload();
}

/* TAC's migrations 007 + 011 made phase_queue with parent_issue and depends_on_phase:
 * the model's fields the table lacks get its defaults, the others are kept, and the
 * order is by parent_issue. A column added while running shows at the next poll. */
static void test_old_table(void)
{
	load(NULL);
	CU_ASSERT_EQUAL_FATAL(
	    dbfix_exec(&fix,
	               "DROP TABLE phase_queue; CREATE TABLE phase_queue (queue_id TEXT PRIMARY "
	               "KEY, parent_issue INTEGER NOT NULL, phase_number INTEGER NOT NULL, "
	               "issue_number INTEGER, status TEXT DEFAULT 'queued', depends_on_phase "
	               "INTEGER, phase_data TEXT, created_at TEXT, updated_at TEXT, "
	               "error_message TEXT, priority INTEGER DEFAULT 50, queue_position INTEGER);"
	               "INSERT INTO phase_queue VALUES ('b', 9, 1, NULL, 'ready', NULL, "
	               "'{\"title\":\"B\"}', 'c', 'u', NULL, 40, 2);"
	               "INSERT INTO phase_queue VALUES ('a', 3, 2, 7, 'queued', 1, NULL, 'c', "
	               "'u', NULL, 50, 1);"),
	    0);
	char *s = fake_host_snapshot_string("queue", NULL);
	CU_ASSERT_STRING_EQUAL(
	    s, "{\"phases\":["
	       "{\"queue_id\":\"a\",\"feature_id\":null,\"phase_number\":2,\"issue_number\":7,"
	       "\"status\":\"queued\",\"current_phase\":\"init\",\"depends_on_phases\":[],"
	       "\"phase_data\":{},\"created_at\":\"c\",\"updated_at\":\"u\","
	       "\"error_message\":null,\"adw_id\":null,\"pr_number\":null,\"priority\":50,"
	       "\"queue_position\":1,\"ready_timestamp\":null,\"started_timestamp\":null,"
	       "\"parent_issue\":3,\"depends_on_phase\":1},"
	       "{\"queue_id\":\"b\",\"feature_id\":null,\"phase_number\":1,\"issue_number\":null,"
	       "\"status\":\"ready\",\"current_phase\":\"init\",\"depends_on_phases\":[],"
	       "\"phase_data\":{\"title\":\"B\"},\"created_at\":\"c\",\"updated_at\":\"u\","
	       "\"error_message\":null,\"adw_id\":null,\"pr_number\":null,\"priority\":40,"
	       "\"queue_position\":2,\"ready_timestamp\":null,\"started_timestamp\":null,"
	       "\"parent_issue\":9,\"depends_on_phase\":null}],"
	       "\"total\":2,\"paused\":false}");
	free(s);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "ALTER TABLE phase_queue ADD COLUMN adw_id TEXT;"
	                                       "UPDATE phase_queue SET adw_id = 'x1'"),
	                      0);
	json_object *data = snapshot();
	json_object *row = json_object_array_get_idx(json_object_object_get(data, "phases"), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(row, "adw_id")), "x1");
	json_object_put(data);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE phase_queue"), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	fake_host_unload();
}

static int snapshot_error(char *err, size_t errlen)
{
	json_object *data = NULL;
	err[0] = 0;
	int rc = fake_host_snapshot("queue", NULL, &data, err, errlen);
	CU_ASSERT_PTR_NULL(data);
	json_object_put(data);
	return rc;
}

static void test_wrong_schema(void)
{
	char err[256];
	reset();
	load(NULL);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE phase_queue"), 0);
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "phase_queue: no such table");
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "DROP TABLE queue_config"), 0);
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "queue_config: no such table");
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	json_object_put(snapshot());
	fake_host_unload();
}

static void test_missing_file(void)
{
	if (fix.pg)
		return;
	char err[512], path[4096], moved[4096];
	reset();
	snprintf(path, sizeof path, "%s/db/database.db", fix.dir);
	snprintf(moved, sizeof moved, "%s/db/moved.db", fix.dir);
	CU_ASSERT_EQUAL_FATAL(rename(path, moved), 0);
	load(NULL);
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "db/database.db: No such file or directory"));
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL_FATAL(rename(moved, path), 0);
	json_object_put(snapshot());
	fake_host_unload();
}

static void test_locked(void)
{
	if (fix.pg)
		return;
	char err[256];
	reset();
	load(NULL);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "BEGIN EXCLUSIVE"), 0);
	long long t0 = tacws_test_now_ms();
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -EBUSY);
	CU_ASSERT(tacws_test_now_ms() - t0 < 3000);
	CU_ASSERT_STRING_EQUAL(err, "database is locked");
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "COMMIT"), 0);
	json_object_put(snapshot());
	fake_host_unload();
}

static void test_pg_restart(void)
{
	if (!fix.pg)
		return;
	char err[256];
	reset();
	load(NULL);
	json_object_put(snapshot());
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_stop(&fix), 0);
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ECONNREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "postgresql: "));
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ECONNREFUSED);
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_start(&fix), 0);
	json_object *data = snapshot();
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(data, "total")), 0);
	json_object_put(data);
	fake_host_unload();
}

static void test_pg_down_at_start(void)
{
	if (!fix.pg)
		return;
	char err[256];
	reset();
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_stop(&fix), 0);
	load(NULL);
	CU_ASSERT_EQUAL(snapshot_error(err, sizeof err), -ECONNREFUSED);
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_start(&fix), 0);
	json_object_put(snapshot());
	fake_host_unload();
}

/* The threads of this process, from /proc/self/status; -1 when unreadable. */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static void test_listen(void)
{
	reset();
	if (!fix.pg) {
		/* Ignored (with a warning) on SQLite: no listening thread, so no polls. */
		int threads = thread_count();
		load("tacws_queue");
		CU_ASSERT_EQUAL(thread_count(), threads);
		CU_ASSERT_EQUAL(fake_host_poll_count("queue"), 0);
		fake_host_unload();
		return;
	}
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "postgres-notify.sql"), 0);
	load("tacws_queue");
	/* One poll once listening: changes may have been missed before. */
	CU_ASSERT_EQUAL_FATAL(fake_host_wait_polls("queue", 1, 5000), 1);

	static const char *const changes[] = {
	    ("INSERT INTO phase_queue (queue_id, feature_id, phase_number, status, created_at, "
	     "updated_at) VALUES ('n1', 1, 1, 'queued', 't', 't')"), /* one element, two lines */
	    "UPDATE phase_queue SET status = 'ready'",
	    "INSERT INTO queue_config VALUES ('queue_paused', 'true', 't')",
	    "DELETE FROM phase_queue",
	};
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(dbfix_exec(&fix, changes[i]), 0);
		long long t0 = tacws_test_now_ms(); /* committed: the NOTIFY is out */
		CU_ASSERT_EQUAL(fake_host_wait_polls("queue", i + 2, 1000), i + 2);
		CU_ASSERT(tacws_test_now_ms() - t0 < 1000);
	}

	/* After a restart the listener is back by itself, and polls once. */
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_stop(&fix), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_start(&fix), 0);
	CU_ASSERT_EQUAL(fake_host_wait_polls("queue", 6, 15000), 6);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "UPDATE queue_config SET config_value = 'false'"), 0);
	CU_ASSERT_EQUAL(fake_host_wait_polls("queue", 7, 1000), 7);

	long long t0 = tacws_test_now_ms();
	fake_host_unload();
	CU_ASSERT(tacws_test_now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "DROP TRIGGER tacws_notify ON phase_queue; "
	                                 "DROP TRIGGER tacws_notify ON queue_config;"),
	                0);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"feed", test_feed},
	    {"payload", test_payload},
	    {"limit and total", test_limit_total},
	    {"paused", test_paused},
	    {"json columns", test_json_columns},
	    {"old table", test_old_table},
	    {"wrong schema", test_wrong_schema},
	    {"missing file", test_missing_file},
	    {"locked", test_locked},
	    {"pg restart", test_pg_restart},
	    {"pg down at start", test_pg_down_at_start},
	    {"listen", test_listen},
	    {NULL, NULL},
	};
	return tacws_test_run(getenv("TACWS_TEST_DB") ? "queue (pg)" : "queue (sqlite)", suite_init,
	                      suite_cleanup, cases);
}
