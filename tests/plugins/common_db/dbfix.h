/*
 * A writable test database for the engine named by $TACWS_TEST_DB: "sqlite"
 * (default: a file db/database.db in a fresh temporary folder) or "pg" (the
 * cluster at $TACWS_TEST_PG_URL, its public schema emptied). The same test
 * then runs unchanged on both. Single-threaded; for tests only.
 */
#ifndef TACWS_DBFIX_H
#define TACWS_DBFIX_H

#include <json-c/json.h>
#include <stdbool.h>

typedef struct dbfix {
	bool pg;
	char *dir;        /* temporary folder (both engines), removed by dbfix_close */
	const char *url;  /* what a plugin's [sources] database gets */
	const char *base; /* what a plugin's [sources] repo_root gets */
	void *conn;       /* sqlite3 * or PGconn * */
} dbfix;

/* Opens the database empty. Returns 0, or -1 after printing why. */
int dbfix_open(dbfix *f);
void dbfix_close(dbfix *f);

/* Runs one or more SQL statements. Returns 0, or -1 after printing why. */
int dbfix_exec(dbfix *f, const char *sql);
int dbfix_execf(dbfix *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a file of conf/sql/ (e.g. "schema.sql"). */
int dbfix_exec_conf(dbfix *f, const char *name);

/* pg only: stops or starts the test cluster with tests/support/pg_cluster.sh.
 * The fixture's own connection reconnects at its next dbfix_exec. */
int dbfix_pg_stop(dbfix *f);
int dbfix_pg_start(dbfix *f);

/* Loads the plugin at so_path in the fake host with [sources] pointing at f and
 * [feed.<endpoint>] enabled, listening on channel when it is not NULL;
 * CUnit-fatal unless it loads and registers endpoint. */
void dbfix_load_plugin(dbfix *f, const char *so_path, const char *endpoint, const char *channel);

/* The loaded feed's snapshot, CUnit-asserted to succeed (the reason printed when
 * not); NULL on failure, else the caller puts it. */
json_object *dbfix_snapshot(const char *endpoint);

/* pg only, with the plugin loaded listening (conf/sql/postgres-notify.sql installed):
 * one poll once it listens; change_sql, committed, makes one more within a second;
 * a change to phase_queue (the queue's channel) makes none. */
void dbfix_check_notify(dbfix *f, const char *endpoint, const char *change_sql);

#endif
