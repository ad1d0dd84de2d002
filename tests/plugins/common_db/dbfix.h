/*
 * A writable test database for the engine named by $TACWS_TEST_DB: "sqlite"
 * (default: a file db/database.db in a fresh temporary folder) or "pg" (the
 * cluster at $TACWS_TEST_PG_URL, its public schema emptied). The same test
 * then runs unchanged on both. Single-threaded; for tests only.
 */
#ifndef TACWS_DBFIX_H
#define TACWS_DBFIX_H

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

#endif
