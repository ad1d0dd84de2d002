#include "dbfix.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_host.h"
#include "testutil.h"

int dbfix_open(dbfix *f)
{
	memset(f, 0, sizeof *f);
	const char *engine = getenv("TACWS_TEST_DB");
	f->pg = engine && !strcmp(engine, "pg");
	f->dir = tacws_test_mkdtemp();
	if (!f->dir)
		return -1;
	if (f->pg) {
		/* No silent skip: without a server, the PostgreSQL tests fail. */
		f->url = getenv("TACWS_TEST_PG_URL");
		if (!f->url) {
			fprintf(stderr, "dbfix: TACWS_TEST_PG_URL is not set\n");
			return -1;
		}
		f->base = f->dir;
		PGconn *c = PQconnectdb(f->url);
		f->conn = c;
		if (PQstatus(c) != CONNECTION_OK) {
			fprintf(stderr, "dbfix: %s: %s", f->url, PQerrorMessage(c));
			return -1;
		}
		PQclear(PQexec(c, "SET client_min_messages = warning"));
		return dbfix_exec(f, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;");
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/db", f->dir);
	tacws_test_mkdirs(f->dir, "db");
	snprintf(path, sizeof path, "%s/db/database.db", f->dir);
	sqlite3 *lite = NULL;
	int rc = sqlite3_open(path, &lite);
	f->conn = lite;
	f->url = "sqlite:db/database.db";
	f->base = f->dir;
	if (rc != SQLITE_OK) {
		fprintf(stderr, "dbfix: %s: %s\n", path, sqlite3_errmsg(lite));
		return -1;
	}
	return 0;
}

void dbfix_close(dbfix *f)
{
	if (f->pg)
		PQfinish(f->conn);
	else
		sqlite3_close(f->conn);
	if (f->dir) {
		tacws_test_rmtree(f->dir);
		free(f->dir);
	}
	memset(f, 0, sizeof *f);
}

int dbfix_exec(dbfix *f, const char *sql)
{
	if (!f->pg) {
		char *err = NULL;
		if (sqlite3_exec(f->conn, sql, NULL, NULL, &err) != SQLITE_OK) {
			fprintf(stderr, "dbfix: %s\n  in: %.200s\n", err, sql);
			sqlite3_free(err);
			return -1;
		}
		return 0;
	}
	PGresult *res = PQexec(f->conn, sql);
	if (PQstatus(f->conn) != CONNECTION_OK) {
		/* The server was restarted under us: once more on a new connection. */
		PQclear(res);
		PQreset(f->conn);
		PQclear(PQexec(f->conn, "SET client_min_messages = warning"));
		res = PQexec(f->conn, sql);
	}
	ExecStatusType st = PQresultStatus(res);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
	if (rc)
		fprintf(stderr, "dbfix: %s  in: %.200s\n", PQerrorMessage(f->conn), sql);
	PQclear(res);
	return rc;
}

int dbfix_execf(dbfix *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = NULL;
	int n = vasprintf(&sql, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	int rc = dbfix_exec(f, sql);
	free(sql);
	return rc;
}

int dbfix_exec_conf(dbfix *f, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/conf/sql/%s", TACWS_SOURCE_DIR, name);
	FILE *in = fopen(path, "rb");
	if (!in) {
		perror(path);
		return -1;
	}
	char *sql = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&sql, &len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	int rc = dbfix_exec(f, sql);
	free(sql);
	return rc;
}

static int pg_ctl(const char *what)
{
	const char *script = getenv("TACWS_TEST_PG_SCRIPT"), *dir = getenv("TACWS_TEST_PG_DIR");
	const char *port = getenv("TACWS_TEST_PG_PORT");
	if (!script || !dir || !port) {
		fprintf(stderr, "dbfix: TACWS_TEST_PG_SCRIPT/DIR/PORT not set\n");
		return -1;
	}
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "sh '%s' %s '%s' %s >/dev/null", script, what, dir, port);
	return system(cmd) == 0 ? 0 : -1;
}

int dbfix_pg_stop(dbfix *f)
{
	return f->pg ? pg_ctl("stop") : -1;
}

int dbfix_pg_start(dbfix *f)
{
	return f->pg ? pg_ctl("start") : -1;
}

void dbfix_load_plugin(dbfix *f, const char *so_path, const char *endpoint, const char *channel)
{
	char section[128];
	snprintf(section, sizeof section, "feed.%s", endpoint);
	fake_host_config_set("sources", "repo_root", f->base);
	fake_host_config_set("sources", "database", f->url);
	fake_host_config_set(section, "enabled", "true");
	if (channel)
		fake_host_config_set(section, "listen_channel", channel);
	CU_ASSERT_EQUAL_FATAL(fake_host_load(so_path), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake_host_feed(endpoint));
}

json_object *dbfix_snapshot(const char *endpoint)
{
	json_object *data = NULL;
	char err[512] = "";
	int rc = fake_host_snapshot(endpoint, NULL, &data, err, sizeof err);
	if (rc)
		fprintf(stderr, "%s snapshot: %s\n", endpoint, err);
	CU_ASSERT_EQUAL(rc, 0);
	return data;
}

void dbfix_check_notify(dbfix *f, const char *endpoint, const char *change_sql)
{
	CU_ASSERT_EQUAL_FATAL(fake_host_wait_polls(endpoint, 1, 5000), 1);
	CU_ASSERT_EQUAL(dbfix_exec(f, change_sql), 0);
	long long t0 = tacws_test_now_ms(); /* committed: the NOTIFY is out */
	CU_ASSERT_EQUAL(fake_host_wait_polls(endpoint, 2, 1000), 2);
	CU_ASSERT(tacws_test_now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(dbfix_exec(f, "DELETE FROM phase_queue"), 0);
	usleep(300 * 1000); /* a window: a poll that does not come has no event to wait for */
	CU_ASSERT_EQUAL(fake_host_poll_count(endpoint), 2);
}
