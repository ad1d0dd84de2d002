#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

/* PostgreSQL type OIDs (catalog/pg_type_d.h is server-side only). */
enum {
	OID_BOOL = 16,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_OID = 26,
	OID_JSON = 114,
	OID_DATE = 1082,
	OID_TIMESTAMP = 1114,
	OID_TIMESTAMPTZ = 1184,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_NUMERIC = 1700,
	OID_JSONB = 3802,
};

#define SQLITE_BUSY_MS 1000
#define PG_STATEMENT_TIMEOUT "SET statement_timeout = 30000"

struct tacws_db {
	sqlite3 *lite;
	PGconn *pg;
	char *path; /* SQLite: the file, to notice when it is replaced */
	dev_t dev;
	ino_t ino;
};

int tacws_db_url_is_postgres(const char *url)
{
	if (!strncmp(url, "sqlite:", 7))
		return 0;
	return !strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11) ||
	       strchr(url, '=') != NULL;
}

const char *tacws_db_engine(const tacws_db *db)
{
	return db->pg ? "postgresql" : "sqlite";
}

json_object *tacws_db_new_double(double d)
{
	if (!isfinite(d))
		return NULL;
	char buf[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* Keep it a JSON real: "3" would read back as an integer. */
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	return json_object_new_double_s(d, buf);
}

static int open_sqlite(const char *url, const char *base_dir, tacws_db *db, char *err,
                       size_t errlen)
{
	const char *path = url;
	if (!strncmp(path, "sqlite:", 7)) {
		path += 7;
		if (!strncmp(path, "//", 2))
			path += 2;
	}
	if (!*path) {
		snprintf(err, errlen, "empty SQLite path in \"%s\"", url);
		return -EINVAL;
	}
	char full[PATH_MAX];
	if (path[0] != '/' && base_dir && *base_dir)
		snprintf(full, sizeof full, "%s/%s", base_dir, path);
	else
		snprintf(full, sizeof full, "%s", path);

	/* Checked first: SQLite's own "unable to open database file" says nothing useful. */
	struct stat st;
	if (stat(full, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", full, strerror(e));
		return -e;
	}
	int rc = sqlite3_open_v2(full, &db->lite, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK && !(db->path = strdup(full)))
		rc = SQLITE_NOMEM;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", full,
		         db->lite ? sqlite3_errmsg(db->lite) : sqlite3_errstr(rc));
		sqlite3_close(db->lite);
		db->lite = NULL;
		return -EIO;
	}
	sqlite3_busy_timeout(db->lite, SQLITE_BUSY_MS);
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	return 0;
}

/* A file deleted or replaced under an open handle would be read forever: follow the path. */
static int lite_follow(tacws_db *db, char *err, size_t errlen)
{
	struct stat st;
	if (stat(db->path, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", db->path, strerror(e));
		return -e;
	}
	if (db->lite && st.st_dev == db->dev && st.st_ino == db->ino)
		return 0;
	sqlite3_close(db->lite);
	db->lite = NULL;
	char *path = db->path;
	db->path = NULL;
	int rc = open_sqlite(path, NULL, db, err, errlen);
	if (rc < 0)
		db->path = path; /* kept to retry at the next query */
	else
		free(path);
	return rc;
}

static int pg_connect(const char *url, PGconn **out, char *err, size_t errlen)
{
	/* Defaults first: the URL's own settings, expanded from dbname, override them. */
	const char *keys[] = {"connect_timeout",
	                      "fallback_application_name",
	                      "keepalives_idle",
	                      "keepalives_interval",
	                      "keepalives_count",
	                      "dbname",
	                      NULL};
	const char *vals[] = {"5", "tacws", "10", "5", "3", url, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "postgresql: %.*s", (int)strcspn(PQerrorMessage(c), "\n"),
		         PQerrorMessage(c));
		PQfinish(c);
		return -ECONNREFUSED;
	}
	PQclear(PQexec(c, PG_STATEMENT_TIMEOUT));
	*out = c;
	return 0;
}

int tacws_db_open(const char *url, const char *base_dir, tacws_db **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!url || !*url) {
		snprintf(err, errlen, "no database configured");
		return -EINVAL;
	}
	tacws_db *db = calloc(1, sizeof *db);
	if (!db) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = tacws_db_url_is_postgres(url) ? pg_connect(url, &db->pg, err, errlen)
	                                       : open_sqlite(url, base_dir, db, err, errlen);
	if (rc < 0) {
		free(db);
		return rc;
	}
	*out = db;
	return 0;
}

int tacws_db_ensure(tacws_db **db, const char *url, const char *base_dir, char *err, size_t errlen)
{
	if (*db)
		return 0;
	return tacws_db_open(url, base_dir, db, err, errlen);
}

void tacws_db_close(tacws_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->lite);
	PQfinish(db->pg);
	free(db->path);
	free(db);
}

static json_object *parse_json_text(const char *text)
{
	json_object *v = json_tokener_parse(text);
	/* Not JSON after all: keep the text rather than lose it. */
	return v ? v : json_object_new_string(text);
}

static json_object *lite_value(sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_INTEGER: {
		const char *decl = sqlite3_column_decltype(st, col);
		if (decl && strcasestr(decl, "BOOL"))
			return json_object_new_boolean(sqlite3_column_int64(st, col) != 0);
		return json_object_new_int64(sqlite3_column_int64(st, col));
	}
	case SQLITE_FLOAT:
		return tacws_db_new_double(sqlite3_column_double(st, col));
	default: {
		const char *text = (const char *)sqlite3_column_text(st, col);
		const char *decl = sqlite3_column_decltype(st, col);
		if (!text)
			return NULL;
		if (decl && (!strcasecmp(decl, "JSON") || !strcasecmp(decl, "JSONB")))
			return parse_json_text(text);
		return json_object_new_string(text);
	}
	}
}

static int lite_error(sqlite3 *lite, int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", sqlite3_errmsg(lite));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_ERROR: {
		const char *msg = sqlite3_errmsg(lite);
		if (strncmp(msg, "no such table: ", 15))
			return -EINVAL;
		snprintf(err, errlen, "%s: no such table", msg + 15);
		return -ENOENT;
	}
	default:
		return -EIO;
	}
}

static int lite_query(sqlite3 *lite, const char *sql, const char *const *params, int nparams,
                      json_object **rows, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(lite, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return lite_error(lite, rc, err, errlen);
	/* "$2" may come before "$1" in the text: bind by name, not by position. */
	for (int i = 0; i < nparams; i++) {
		char name[16];
		snprintf(name, sizeof name, "$%d", i + 1);
		int idx = sqlite3_bind_parameter_index(st, name);
		if (idx > 0)
			sqlite3_bind_text(st, idx, params[i], -1, SQLITE_STATIC);
	}
	json_object *arr = json_object_new_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* Counted after the step: a schema changed by another connection since the
		 * prepare (SELECT * after a migration) re-prepares the statement there. */
		int ncol = sqlite3_column_count(st);
		json_object *row = json_object_new_object();
		for (int c = 0; c < ncol; c++)
			json_object_object_add(row, sqlite3_column_name(st, c), lite_value(st, c));
		json_object_array_add(arr, row);
	}
	if (rc != SQLITE_DONE) {
		rc = lite_error(lite, rc, err, errlen);
		sqlite3_finalize(st);
		json_object_put(arr);
		return rc;
	}
	sqlite3_finalize(st);
	*rows = arr;
	return 0;
}

/* PostgreSQL's "2026-11-26 10:00:00.5+00" as TAC's backend sends it (Python's
 * isoformat): "2026-11-26T10:00:00.500000+00:00". Anything else (infinity, BC
 * dates, other DateStyles) is kept as PostgreSQL wrote it. */
static json_object *pg_timestamp(const char *text)
{
	size_t len = strlen(text);
	if (len < 19 || len > 40 || text[10] != ' ' || text[13] != ':' || text[16] != ':')
		return json_object_new_string(text);
	char out[64];
	size_t n = 0;
	memcpy(out, text, 19);
	out[10] = 'T';
	n = 19;
	const char *p = text + 19;
	if (*p == '.') {
		size_t digits = strspn(p + 1, "0123456789");
		if (digits == 0 || digits > 6)
			return json_object_new_string(text);
		out[n++] = '.';
		memcpy(out + n, p + 1, digits);
		n += digits;
		for (; digits < 6; digits++)
			out[n++] = '0';
		p += 1 + strspn(p + 1, "0123456789");
	}
	if (*p == '+' || *p == '-') {
		/* "+05" or "+05:30" (or "+05:30:15", rare and left alone). */
		size_t zl = strlen(p);
		if (zl == 3) {
			memcpy(out + n, p, 3);
			memcpy(out + n + 3, ":00", 3);
			n += 6;
		} else if (zl == 6) {
			memcpy(out + n, p, 6);
			n += 6;
		} else {
			return json_object_new_string(text);
		}
	} else if (*p) {
		return json_object_new_string(text);
	}
	return json_object_new_string_len(out, (int)n);
}

static json_object *pg_value(const PGresult *res, int r, int c)
{
	if (PQgetisnull(res, r, c))
		return NULL;
	const char *text = PQgetvalue(res, r, c);
	switch (PQftype(res, c)) {
	case OID_BOOL:
		return json_object_new_boolean(text[0] == 't');
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID:
		return json_object_new_int64(strtoll(text, NULL, 10));
	case OID_NUMERIC:
		/* sum(bigint) is numeric: a whole value stays an integer, as on SQLite. */
		if (!strpbrk(text, ".eEN")) {
			errno = 0;
			long long v = strtoll(text, NULL, 10);
			if (!errno)
				return json_object_new_int64(v);
		}
		return tacws_db_new_double(strtod(text, NULL));
	case OID_FLOAT4:
	case OID_FLOAT8:
		return tacws_db_new_double(strtod(text, NULL));
	case OID_JSON:
	case OID_JSONB:
		return parse_json_text(text);
	case OID_TIMESTAMP:
	case OID_TIMESTAMPTZ:
		return pg_timestamp(text);
	default:
		return json_object_new_string(text);
	}
}

static int pg_error(const PGresult *res, PGconn *pg, char *err, size_t errlen)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (!msg || !*msg)
		msg = PQerrorMessage(pg);
	if (!strncmp(msg, "ERROR:  ", 8))
		msg += 8;
	snprintf(err, errlen, "postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
	if (PQstatus(pg) != CONNECTION_OK)
		return -ECONNREFUSED;
	if (!state)
		return -EIO;
	if (!strcmp(state, "42P01")) {
		/* Worded like SQLite's, so plugins report it the same on both. */
		const char *q = strchr(msg, '"');
		if (q)
			snprintf(err, errlen, "%.*s: no such table", (int)strcspn(q + 1, "\""),
			         q + 1);
		return -ENOENT;
	}
	if (!strcmp(state, "57014"))
		return -ETIMEDOUT;
	if (!strcmp(state, "55P03") || !strcmp(state, "40P01"))
		return -EBUSY;
	if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3))
		return -ECONNREFUSED;
	if (!strncmp(state, "42", 2) || !strncmp(state, "22", 2))
		return -EINVAL;
	return -EIO;
}

static int pg_query(PGconn *pg, const char *sql, const char *const *params, int nparams,
                    json_object **rows, char *err, size_t errlen)
{
	if (PQstatus(pg) != CONNECTION_OK) {
		PQreset(pg);
		if (PQstatus(pg) != CONNECTION_OK) {
			snprintf(err, errlen, "postgresql: %.*s",
			         (int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
			return -ECONNREFUSED;
		}
		PQclear(PQexec(pg, PG_STATEMENT_TIMEOUT));
	}
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType status = PQresultStatus(res);
	if (status == PGRES_FATAL_ERROR && PQstatus(pg) == CONNECTION_BAD) {
		/* A server restarted since our last query: once more on a new connection. */
		PQreset(pg);
		if (PQstatus(pg) == CONNECTION_OK) {
			PQclear(res);
			PQclear(PQexec(pg, PG_STATEMENT_TIMEOUT));
			res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
			status = PQresultStatus(res);
		}
	}
	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
		int rc = pg_error(res, pg, err, errlen);
		PQclear(res);
		return rc;
	}
	json_object *arr = json_object_new_array();
	int nrow = PQntuples(res), ncol = PQnfields(res);
	for (int r = 0; r < nrow; r++) {
		json_object *row = json_object_new_object();
		for (int c = 0; c < ncol; c++)
			json_object_object_add(row, PQfname(res, c), pg_value(res, r, c));
		json_object_array_add(arr, row);
	}
	PQclear(res);
	*rows = arr;
	return 0;
}

int tacws_db_query(tacws_db *db, const char *sql, const char *const *params, int nparams,
                   json_object **rows, char *err, size_t errlen)
{
	*rows = NULL;
	if (db->pg)
		return pg_query(db->pg, sql, params, nparams, rows, err, errlen);
	int rc = lite_follow(db, err, errlen);
	if (rc < 0)
		return rc;
	return lite_query(db->lite, sql, params, nparams, rows, err, errlen);
}

static int query_long(tacws_db *db, const char *sql, const char *param, long *out, char *err,
                      size_t errlen)
{
	json_object *rows;
	const char *params[] = {param};
	int rc = tacws_db_query(db, sql, params, param ? 1 : 0, &rows, err, errlen);
	if (rc < 0)
		return rc;
	json_object *row = json_object_array_get_idx(rows, 0);
	*out = row ? (long)json_object_get_int64(json_object_object_get(row, "n")) : 0;
	json_object_put(rows);
	return 0;
}

int tacws_db_table_exists(tacws_db *db, const char *table, char *err, size_t errlen)
{
	const char *sql =
	    db->pg ? "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $1 "
	             "AND table_schema = ANY (current_schemas(false))"
	           : "SELECT count(*) AS n FROM sqlite_master WHERE type IN ('table', 'view') "
	             "AND name = $1";
	long n;
	int rc = query_long(db, sql, table, &n, err, errlen);
	return rc < 0 ? rc : n > 0;
}

int tacws_db_columns(tacws_db *db, const char *table, json_object **columns, char *err,
                     size_t errlen)
{
	const char *sql = db->pg
	                      ? "SELECT column_name AS name FROM information_schema.columns WHERE "
	                        "table_name = $1 AND table_schema = ANY (current_schemas(false)) "
	                        "ORDER BY ordinal_position"
	                      : "SELECT name FROM pragma_table_info($1)";
	json_object *rows;
	const char *params[] = {table};
	*columns = NULL;
	int rc = tacws_db_query(db, sql, params, 1, &rows, err, errlen);
	if (rc < 0)
		return rc;
	if (json_object_array_length(rows) == 0) {
		json_object_put(rows);
		snprintf(err, errlen, "%s: no such table", table);
		return -ENOENT;
	}
	json_object *names = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		json_object_array_add(names, json_object_get(json_object_object_get(
		                                 json_object_array_get_idx(rows, i), "name")));
	json_object_put(rows);
	*columns = names;
	return 0;
}

int tacws_db_has_column(json_object *columns, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(columns); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(columns, i)), name))
			return 1;
	return 0;
}

int tacws_db_table_with(json_object *columns, const char *table, const char *const *needed,
                        char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "(SELECT ");
	for (size_t i = 0; needed[i] && n < len; i++) {
		int name_len = (int)strcspn(needed[i], " ");
		char name[128];
		snprintf(name, sizeof name, "%.*s", name_len, needed[i]);
		const char *sep = i ? ", " : "";
		if (tacws_db_has_column(columns, name))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, name);
		else
			n += (size_t)snprintf(buf + n, len - n, "%sCAST(NULL AS %s) AS %s", sep,
			                      needed[i] + name_len + (needed[i][name_len] == ' '),
			                      name);
	}
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " FROM %s) AS %s", table, table);
	return n < len ? 0 : -ENOSPC;
}

int tacws_db_count_tables(tacws_db *db, long *count, char *err, size_t errlen)
{
	const char *sql =
	    db->pg ? "SELECT count(*) AS n FROM information_schema.tables WHERE "
	             "table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', "
	             "'information_schema')"
	           : "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name "
	             "NOT LIKE 'sqlite_%'";
	return query_long(db, sql, NULL, count, err, errlen);
}

struct tacws_db_listener {
	char *url, *channel;
	tacws_db_listen_fn fn;
	void *arg;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
};

static bool listener_stopping(tacws_db_listener *l)
{
	pthread_mutex_lock(&l->lock);
	bool stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

/* Waits for fd (or only the wake pipe when fd < 0). Returns 1 when fd is ready,
 * 0 on timeout, -1 when asked to stop. */
static int listener_wait(tacws_db_listener *l, int fd, short events, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = fd, .events = events}};
	for (;;) {
		int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (listener_stopping(l))
			return -1;
		if (n <= 0)
			return 0;
		return p[1].revents ? 1 : 0;
	}
}

/* Connects without blocking, so that stop is never held up by a dead server. */
static PGconn *listener_connect(tacws_db_listener *l, char *err, size_t errlen)
{
	const char *keys[] = {"connect_timeout",
	                      "fallback_application_name",
	                      "keepalives_idle",
	                      "keepalives_interval",
	                      "keepalives_count",
	                      "dbname",
	                      NULL};
	const char *vals[] = {"5", "tacws-listen", "10", "5", "3", l->url, NULL};
	PGconn *c = PQconnectStartParams(keys, vals, 1);
	if (!c || PQstatus(c) == CONNECTION_BAD)
		goto fail;
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	while (ps != PGRES_POLLING_OK) {
		if (ps == PGRES_POLLING_FAILED)
			goto fail;
		int w = listener_wait(l, PQsocket(c),
		                      ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, 10000);
		if (w < 0) {
			PQfinish(c);
			return NULL;
		}
		if (w == 0) {
			snprintf(err, errlen, "postgresql: connection timed out");
			PQfinish(c);
			return NULL;
		}
		ps = PQconnectPoll(c);
	}
	char *chan = PQescapeIdentifier(c, l->channel, strlen(l->channel));
	char sql[256];
	snprintf(sql, sizeof sql, "LISTEN %s", chan ? chan : "\"\"");
	PQfreemem(chan);
	PGresult *res = PQexec(c, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (ok)
		return c;
fail:
	if (c)
		snprintf(err, errlen, "postgresql: %.*s", (int)strcspn(PQerrorMessage(c), "\n"),
		         PQerrorMessage(c));
	else
		snprintf(err, errlen, "out of memory");
	PQfinish(c);
	return NULL;
}

static void *listener_main(void *arg)
{
	tacws_db_listener *l = arg;
	int backoff_ms = 200;
	bool reported = false;
	while (!listener_stopping(l)) {
		char err[256] = "";
		PGconn *c = listener_connect(l, err, sizeof err);
		if (c) {
			backoff_ms = 200;
			reported = false;
			l->fn(l->arg, TACWS_DB_LISTENING, NULL);
			for (;;) {
				int w = listener_wait(l, PQsocket(c), POLLIN, -1);
				if (w < 0)
					break;
				if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
					snprintf(err, sizeof err, "postgresql: %.*s",
					         (int)strcspn(PQerrorMessage(c), "\n"),
					         PQerrorMessage(c));
					if (!err[12])
						snprintf(err, sizeof err,
						         "postgresql: connection lost");
					break;
				}
				PGnotify *n;
				while ((n = PQnotifies(c))) {
					l->fn(l->arg, TACWS_DB_NOTIFY, n->extra);
					PQfreemem(n);
				}
			}
			PQfinish(c);
		}
		if (listener_stopping(l))
			break;
		if (!reported) {
			l->fn(l->arg, TACWS_DB_LOST,
			      err[0] ? err : "postgresql: connection failed");
			reported = true;
		}
		if (listener_wait(l, -1, 0, backoff_ms) < 0)
			break;
		backoff_ms = backoff_ms * 2 > 10000 ? 10000 : backoff_ms * 2;
	}
	return NULL;
}

int tacws_db_listen_start(const char *url, const char *channel, tacws_db_listen_fn fn, void *arg,
                          tacws_db_listener **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!url || !tacws_db_url_is_postgres(url) || !channel || !*channel || !fn) {
		snprintf(err, errlen, "LISTEN needs a PostgreSQL database and a channel");
		return -EINVAL;
	}
	tacws_db_listener *l = calloc(1, sizeof *l);
	if (!l || !(l->url = strdup(url)) || !(l->channel = strdup(channel))) {
		if (l)
			free(l->url);
		free(l);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->fn = fn;
	l->arg = arg;
	pthread_mutex_init(&l->lock, NULL);
	int rc = pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) < 0 ? errno : 0;
	if (!rc) {
		rc = pthread_create(&l->thread, NULL, listener_main, l);
		if (rc) {
			close(l->wake[0]);
			close(l->wake[1]);
		}
	}
	if (rc) {
		snprintf(err, errlen, "listener: %s", strerror(rc));
		pthread_mutex_destroy(&l->lock);
		free(l->url);
		free(l->channel);
		free(l);
		return -rc;
	}
	*out = l;
	return 0;
}

void tacws_db_listen_stop(tacws_db_listener *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_mutex_unlock(&l->lock);
	ssize_t n = write(l->wake[1], "x", 1);
	(void)n;
	pthread_join(l->thread, NULL);
	close(l->wake[0]);
	close(l->wake[1]);
	pthread_mutex_destroy(&l->lock);
	free(l->url);
	free(l->channel);
	free(l);
}
