/* tacws_db on a real SQLite file and a real PostgreSQL server (TACWS_TEST_DB=pg). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "dbrow.h"
#include "dbfix.h"
#include "testutil.h"

static dbfix fix;
static char err[512];

static int suite_init(void)
{
	return dbfix_open(&fix) ? -1 : 0;
}

static int suite_cleanup(void)
{
	dbfix_close(&fix);
	return 0;
}

static tacws_db *open_db(void)
{
	tacws_db *db = NULL;
	int rc = tacws_db_open(fix.url, fix.base, &db, err, sizeof err);
	if (rc)
		fprintf(stderr, "open: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return db;
}

/* Serialized result of sql, or NULL on error (rc in *rc); caller frees. */
static char *query_str(tacws_db *db, const char *sql, const char *const *params, int n, int *rc)
{
	json_object *rows = NULL;
	*rc = tacws_db_query(db, sql, params, n, &rows, err, sizeof err);
	if (*rc)
		return NULL;
	char *s = strdup(json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN));
	json_object_put(rows);
	return s;
}

static void test_url_kind(void)
{
	CU_ASSERT_TRUE(tacws_db_url_is_postgres("postgresql://u@h/db"));
	CU_ASSERT_TRUE(tacws_db_url_is_postgres("postgres://h/db"));
	CU_ASSERT_TRUE(tacws_db_url_is_postgres("host=127.0.0.1 dbname=x"));
	CU_ASSERT_FALSE(tacws_db_url_is_postgres("sqlite:db/database.db"));
	CU_ASSERT_FALSE(tacws_db_url_is_postgres("sqlite:/tmp/a=b.db"));
	CU_ASSERT_FALSE(tacws_db_url_is_postgres("/var/lib/tac/database.db"));
}

static void test_types(void)
{
	CU_ASSERT_EQUAL_FATAL(
	    dbfix_exec(&fix, "CREATE TABLE t (id BIGINT, r DOUBLE PRECISION, s TEXT, "
	                     "b BOOLEAN, n TEXT);"
	                     "INSERT INTO t VALUES (1, 0.1, 'a', TRUE, NULL);"
	                     "INSERT INTO t VALUES (2, 3, 'é\"', FALSE, 'x');"
	                     "INSERT INTO t VALUES (9007199254740993, 1e300, '', NULL, NULL);"),
	    0);
	tacws_db *db = open_db();
	int rc;
	char *s = query_str(db, "SELECT id, r, s, b, n FROM t ORDER BY id", NULL, 0, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[{\"id\":1,\"r\":0.1,\"s\":\"a\",\"b\":true,\"n\":null},"
	                          "{\"id\":2,\"r\":3.0,\"s\":\"é\\\"\",\"b\":false,\"n\":\"x\"},"
	                          "{\"id\":9007199254740993,\"r\":1e+300,\"s\":\"\",\"b\":null,"
	                          "\"n\":null}]");
	free(s);

	/* Bound by number, whatever order they appear in. */
	const char *params[] = {"one", "2"};
	s = query_str(db, "SELECT s FROM t WHERE s = $2 OR n = $1 OR s = 'a' ORDER BY s", params, 2,
	              &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[{\"s\":\"a\"}]");
	free(s);
	s = query_str(db, "SELECT count(*) AS n, sum(id) AS total FROM t WHERE id < $1", params + 1,
	              1, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[{\"n\":1,\"total\":1}]");
	free(s);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "DROP TABLE t"), 0);
	tacws_db_close(db);
}

static void test_pg_types(void)
{
	if (!fix.pg)
		return;
	tacws_db *db = open_db();
	int rc;
	char *s =
	    query_str(db,
	              "SELECT 1::int2 AS a, 2::int8 AS b, 1.25::numeric AS c, 7::numeric AS c2, "
	              "0.5::float4 AS d, '{\"k\":[1,null]}'::jsonb AS e, '[1]'::json AS f, "
	              "'2026-11-26 10:31:00'::timestamp AS g, 'x'::varchar AS h",
	              NULL, 0, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(
	    s, "[{\"a\":1,\"b\":2,\"c\":1.25,\"c2\":7,\"d\":0.5,\"e\":{\"k\":[1,null]},"
	       "\"f\":[1],\"g\":\"2026-11-26T10:31:00\",\"h\":\"x\"}]");
	free(s);
	/* Timestamps as TAC's backend writes them (Python's isoformat). */
	free(query_str(db, "SET TIME ZONE 'Asia/Kolkata'", NULL, 0, &rc));
	s = query_str(db,
	              "SELECT "
	              "'2026-11-26 10:31:00.5'::timestamp AS a, "
	              "'2026-11-26 10:31:00.123456'::timestamp AS b, "
	              "'2026-11-26 10:31:00+00'::timestamptz AS c, "
	              "'2026-11-26 10:31:00.25+00'::timestamptz AS d, "
	              "'infinity'::timestamp AS e, NULL::timestamp AS f",
	              NULL, 0, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[{\"a\":\"2026-11-26T10:31:00.500000\","
	                          "\"b\":\"2026-11-26T10:31:00.123456\","
	                          "\"c\":\"2026-11-26T16:01:00+05:30\","
	                          "\"d\":\"2026-11-26T16:01:00.250000+05:30\","
	                          "\"e\":\"infinity\",\"f\":null}]");
	free(s);
	free(query_str(db, "SET TIME ZONE 'UTC'", NULL, 0, &rc));
	s = query_str(db, "SELECT '2026-11-26 10:31:00-03'::timestamptz AS a", NULL, 0, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[{\"a\":\"2026-11-26T13:31:00+00:00\"}]");
	free(s);
	CU_ASSERT_STRING_EQUAL(tacws_db_engine(db), "postgresql");
	tacws_db_close(db);
}

static void test_missing_table(void)
{
	tacws_db *db = open_db();
	int rc;
	char *s = query_str(db, "SELECT * FROM nope", NULL, 0, &rc);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "nope: no such table");
	s = query_str(db, "SELEKT 1", NULL, 0, &rc);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "syntax error"));
	tacws_db_close(db);
}

static void test_tables(void)
{
	CU_ASSERT_EQUAL_FATAL(dbfix_exec_conf(&fix, "schema.sql"), 0);
	tacws_db *db = open_db();
	CU_ASSERT_EQUAL(tacws_db_table_exists(db, "phase_queue", err, sizeof err), 1);
	CU_ASSERT_EQUAL(tacws_db_table_exists(db, "task_logs", err, sizeof err), 1);
	CU_ASSERT_EQUAL(tacws_db_table_exists(db, "nope", err, sizeof err), 0);
	long n = -1;
	CU_ASSERT_EQUAL(tacws_db_count_tables(db, &n, err, sizeof err), 0);
	CU_ASSERT_EQUAL(n, 5);
	tacws_db_close(db);
}

static char *columns_str(tacws_db *db, const char *table, int *rc)
{
	json_object *cols = NULL;
	*rc = tacws_db_columns(db, table, &cols, err, sizeof err);
	char *s =
	    cols ? strdup(json_object_to_json_string_ext(cols, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(cols);
	return s;
}

/* What the table has now: a column added while the handle is open is seen at once. */
static void test_columns(void)
{
	tacws_db *db = open_db();
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "CREATE TABLE cols (b INTEGER, a TEXT)"), 0);
	int rc;
	char *s = columns_str(db, "cols", &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[\"b\",\"a\"]");
	free(s);
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "INSERT INTO cols VALUES (1, 'x')"), 0);
	free(query_str(db, "SELECT * FROM cols", NULL, 0, &rc));
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "ALTER TABLE cols ADD COLUMN c TEXT"), 0);
	/* SELECT * on a handle that read the table before the change sees the new column. */
	s = query_str(db, "SELECT * FROM cols", NULL, 0, &rc);
	CU_ASSERT_STRING_EQUAL(s, "[{\"b\":1,\"a\":\"x\",\"c\":null}]");
	free(s);
	s = columns_str(db, "cols", &rc);
	CU_ASSERT_STRING_EQUAL(s, "[\"b\",\"a\",\"c\"]");
	json_object *cols = NULL;
	CU_ASSERT_EQUAL(tacws_db_columns(db, "cols", &cols, err, sizeof err), 0);
	CU_ASSERT_EQUAL(tacws_db_has_column(cols, "c"), 1);
	CU_ASSERT_EQUAL(tacws_db_has_column(cols, "C2"), 0);
	json_object_put(cols);
	free(s);
	CU_ASSERT_PTR_NULL(columns_str(db, "nope", &rc));
	CU_ASSERT_EQUAL(rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "nope: no such table");
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "DROP TABLE cols"), 0);
	tacws_db_close(db);
}

static const tacws_db_field inner_model[] = {
    {.name = "x", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = NULL},
};

static const tacws_db_field shape_model[] = {
    {.name = "i", .type = TACWS_FIELD_INT},
    {.name = "f", .type = TACWS_FIELD_FLOAT, .fallback = "0.0", .not_null = true},
    {.name = "b", .type = TACWS_FIELD_BOOL, .fallback = "false", .not_null = true},
    {.name = "t", .type = TACWS_FIELD_TEXT, .fallback = "\"init\""},
    {.name = "o", .type = TACWS_FIELD_OBJECT, .model = inner_model},
    {.name = "a", .type = TACWS_FIELD_ARRAY, .fallback = "[]", .not_null = true},
    {.name = "gone", .type = TACWS_FIELD_ARRAY, .omit_missing = true},
    {.name = "flags",
     .type = TACWS_FIELD_ARRAY,
     .fallback = "[]",
     .not_null = true,
     .bad_is_null = true},
    {.name = NULL},
};

static char *shape_str(const char *row_json)
{
	json_object *row = json_tokener_parse(row_json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(row);
	json_object *out = tacws_db_row_shape(row, shape_model, true);
	char *s = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	json_object_put(row);
	return s;
}

/* Rows as the backend's model shapes them: types, defaults, parsed JSON, other columns kept. */
static void test_row_shape(void)
{
	static const struct {
		const char *row, *want;
	} cases[] = {
	    /* Every column missing: the model's defaults, nothing for an omitted field. */
	    {"{}",
	     "{\"i\":null,\"f\":0.0,\"b\":false,\"t\":\"init\",\"o\":null,\"a\":[],\"flags\":[]}"},
	    /* NULL values: null, unless the field is not optional. */
	    {"{\"i\":null,\"f\":null,\"b\":null,\"t\":null,\"o\":null,\"a\":null,"
	     "\"gone\":null}",
	     "{\"i\":null,\"f\":0.0,\"b\":false,\"t\":null,\"o\":null,\"a\":[],\"gone\":null,"
	     "\"flags\":[]}"},
	    /* SQLite's storage: 0/1 booleans, whole reals, JSON as text; extra columns last. */
	    {"{\"z\":\"extra\",\"i\":3.0,\"f\":2,\"b\":1,\"t\":\"x\",\"o\":\"{\\\"x\\\":1,"
	     "\\\"drop\\\":2}\",\"a\":\"[1,\\\"a\\\"]\",\"gone\":\"[2]\"}",
	     "{\"i\":3,\"f\":2.0,\"b\":true,\"t\":\"x\",\"o\":{\"x\":1.0},\"a\":[1,\"a\"],"
	     "\"gone\":[2],\"flags\":[],\"z\":\"extra\"}"},
	    /* Values that are not of the type: the fallback. */
	    {"{\"i\":2.5,\"f\":\"abc\",\"b\":\"maybe\",\"t\":7,\"o\":\"{bad\",\"a\":\"{}\"}",
	     "{\"i\":null,\"f\":0.0,\"b\":false,\"t\":\"init\",\"o\":null,\"a\":[],\"flags\":[]}"},
	    /* Numeric text, PostgreSQL's parsed json, an object with a key missing. */
	    {"{\"i\":\"12\",\"f\":\"1.5\",\"b\":\"true\",\"o\":{},\"a\":[]}",
	     "{\"i\":12,\"f\":1.5,\"b\":true,\"t\":\"init\",\"o\":{\"x\":0.0},\"a\":[],\"flags\":[]"
	     "}"},
	    /* Flagged bad_is_null: text that is not JSON is null, an empty one the fallback. */
	    {"{\"a\":\"\",\"flags\":\"not json\"}", "{\"i\":null,\"f\":0.0,\"b\":false,\"t\":"
	                                            "\"init\",\"o\":null,\"a\":[],\"flags\":null}"},
	    {"{\"flags\":\"\"}",
	     "{\"i\":null,\"f\":0.0,\"b\":false,\"t\":\"init\",\"o\":null,\"a\":[],\"flags\":[]}"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = shape_str(cases[i].row);
		CU_ASSERT_STRING_EQUAL(s, cases[i].want);
		if (strcmp(s, cases[i].want))
			fprintf(stderr, "case %zu: %s\n", i, s);
		free(s);
	}
}

static void test_group_counts(void)
{
	json_object *rows = json_tokener_parse(
	    "[{\"dim\":\"s\",\"k\":\"b\",\"n\":2},{\"dim\":\"s\",\"k\":null,\"n\":1},"
	    "{\"dim\":\"p\",\"k\":\"x\",\"n\":3},{\"dim\":\"s\",\"k\":\"a\",\"n\":4}]");
	json_object *into = json_tokener_parse("{\"q\":{}}");
	tacws_db_group_counts(rows, into);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(into, JSON_C_TO_STRING_PLAIN),
	                       "{\"q\":{},\"p\":{\"x\":3},\"s\":{\"a\":4,\"b\":2,\"null\":1}}");
	json_object_put(rows);
	json_object_put(into);
}

static void test_sqlite_paths(void)
{
	if (fix.pg)
		return;
	tacws_db *db = NULL;
	char path[4096];
	snprintf(path, sizeof path, "sqlite://%s/db/database.db", fix.dir);
	CU_ASSERT_EQUAL(tacws_db_open(path, "/nonexistent", &db, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(tacws_db_engine(db), "sqlite");
	tacws_db_close(db);
	CU_ASSERT_EQUAL(tacws_db_open("db/database.db", fix.dir, &db, err, sizeof err), 0);
	tacws_db_close(db);

	/* Read-only: never written, never created. */
	CU_ASSERT_EQUAL(tacws_db_open("sqlite:db/missing.db", fix.dir, &db, err, sizeof err),
	                -ENOENT);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "db/missing.db: No such file or directory"));
	snprintf(path, sizeof path, "%s/db/missing.db", fix.dir);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	db = open_db();
	int rc;
	char *s = query_str(db, "CREATE TABLE w (x INTEGER)", NULL, 0, &rc);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_NOT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "readonly"));
	tacws_db_close(db);
}

static void test_sqlite_replaced(void)
{
	if (fix.pg)
		return;
	char path[4096], other[4096];
	snprintf(path, sizeof path, "%s/db/r.db", fix.dir);
	snprintf(other, sizeof other, "%s/db/r2.db", fix.dir);
	sqlite3 *w;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &w), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(w, "CREATE TABLE v (x INTEGER); INSERT INTO v VALUES (1)",
	                             NULL, NULL, NULL),
	                SQLITE_OK);
	sqlite3_close(w);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(other, &w), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(w, "CREATE TABLE v (x INTEGER); INSERT INTO v VALUES (2)",
	                             NULL, NULL, NULL),
	                SQLITE_OK);
	sqlite3_close(w);

	tacws_db *db = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_db_open("sqlite:db/r.db", fix.dir, &db, err, sizeof err), 0);
	int rc;
	char *s = query_str(db, "SELECT x FROM v", NULL, 0, &rc);
	CU_ASSERT_STRING_EQUAL(s, "[{\"x\":1}]");
	free(s);
	/* Replaced by a new file (a reset demo database): the new one is read. */
	CU_ASSERT_EQUAL(rename(other, path), 0);
	s = query_str(db, "SELECT x FROM v", NULL, 0, &rc);
	CU_ASSERT_STRING_EQUAL(s, "[{\"x\":2}]");
	free(s);
	/* Removed: a clear error, and back when it is back. */
	CU_ASSERT_EQUAL(rename(path, other), 0);
	s = query_str(db, "SELECT x FROM v", NULL, 0, &rc);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(rc, -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "r.db: No such file or directory"));
	CU_ASSERT_EQUAL(rename(other, path), 0);
	s = query_str(db, "SELECT x FROM v", NULL, 0, &rc);
	CU_ASSERT_STRING_EQUAL(s, "[{\"x\":2}]");
	free(s);
	tacws_db_close(db);
}

static void test_sqlite_locked(void)
{
	if (fix.pg)
		return;
	CU_ASSERT_EQUAL_FATAL(dbfix_exec(&fix, "CREATE TABLE l (x INTEGER); BEGIN EXCLUSIVE;"), 0);
	tacws_db *db = open_db();
	int rc;
	long long t0 = tacws_test_now_ms();
	char *s = query_str(db, "SELECT count(*) AS n FROM l", NULL, 0, &rc);
	long long took = tacws_test_now_ms() - t0;
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(rc, -EBUSY);
	CU_ASSERT_STRING_EQUAL(err, "database is locked");
	CU_ASSERT(took >= 900 && took < 3000);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "COMMIT"), 0);
	s = query_str(db, "SELECT count(*) AS n FROM l", NULL, 0, &rc);
	CU_ASSERT_STRING_EQUAL(s, "[{\"n\":0}]");
	free(s);
	tacws_db_close(db);
}

static void test_pg_unreachable(void)
{
	if (!fix.pg)
		return;
	tacws_db *db = NULL;
	long long t0 = tacws_test_now_ms();
	/* Port 1 on loopback: refused at once. */
	CU_ASSERT_EQUAL(
	    tacws_db_open("postgresql://postgres@127.0.0.1:1/x", NULL, &db, err, sizeof err),
	    -ECONNREFUSED);
	CU_ASSERT(tacws_test_now_ms() - t0 < 5000);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "postgresql: "));
}

struct events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int notify, listening, lost;
	char payload[128];
};
static struct events ev = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, ""};

static void on_event(void *arg, tacws_db_event e, const char *text)
{
	struct events *x = arg;
	pthread_mutex_lock(&x->lock);
	if (e == TACWS_DB_NOTIFY) {
		x->notify++;
		snprintf(x->payload, sizeof x->payload, "%s", text);
	} else if (e == TACWS_DB_LISTENING) {
		x->listening++;
	} else {
		x->lost++;
	}
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

/* Waits until *counter >= want; returns the count seen. */
static int wait_count(int *counter, int want, int timeout_ms)
{
	long long end = tacws_test_now_ms() + timeout_ms;
	pthread_mutex_lock(&ev.lock);
	while (*counter < want && tacws_test_now_ms() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ev.cond, &ev.lock, &ts);
	}
	int n = *counter;
	pthread_mutex_unlock(&ev.lock);
	return n;
}

static void test_listen(void)
{
	tacws_db_listener *l = NULL;
	if (!fix.pg) {
		CU_ASSERT_EQUAL(
		    tacws_db_listen_start(fix.url, "c", on_event, &ev, &l, err, sizeof err),
		    -EINVAL);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(
	    tacws_db_listen_start(fix.url, "Tacws Test", on_event, &ev, &l, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(wait_count(&ev.listening, 1, 5000), 1);

	CU_ASSERT_EQUAL(dbfix_exec(&fix, "NOTIFY \"Tacws Test\", 'hello'"), 0);
	long long t0 = tacws_test_now_ms();
	CU_ASSERT_EQUAL(wait_count(&ev.notify, 1, 1000), 1);
	CU_ASSERT(tacws_test_now_ms() - t0 < 1000);
	CU_ASSERT_STRING_EQUAL(ev.payload, "hello");

	/* The server goes away: reported once, then back to listening by itself. */
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_stop(&fix), 0);
	CU_ASSERT_EQUAL(wait_count(&ev.lost, 1, 5000), 1);
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_start(&fix), 0);
	CU_ASSERT_EQUAL(wait_count(&ev.listening, 2, 15000), 2);
	CU_ASSERT_EQUAL(ev.lost, 1);
	CU_ASSERT_EQUAL(dbfix_exec(&fix, "SELECT pg_notify('Tacws Test', 'again')"), 0);
	CU_ASSERT_EQUAL(wait_count(&ev.notify, 2, 1000), 2);
	CU_ASSERT_STRING_EQUAL(ev.payload, "again");

	t0 = tacws_test_now_ms();
	tacws_db_listen_stop(l);
	CU_ASSERT(tacws_test_now_ms() - t0 < 1000);
}

static void test_pg_restart(void)
{
	if (!fix.pg)
		return;
	tacws_db *db = open_db();
	int rc;
	char *s = query_str(db, "SELECT 1 AS x", NULL, 0, &rc);
	CU_ASSERT_STRING_EQUAL(s, "[{\"x\":1}]");
	free(s);
	/* Restarted between two queries: the next one reconnects and succeeds. */
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_stop(&fix), 0);
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_start(&fix), 0);
	s = query_str(db, "SELECT 2 AS x", NULL, 0, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[{\"x\":2}]");
	free(s);
	/* Away during a query: that query fails, and the one after it works again. */
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_stop(&fix), 0);
	s = query_str(db, "SELECT 1 AS x", NULL, 0, &rc);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(rc, -ECONNREFUSED);
	s = query_str(db, "SELECT 1 AS x", NULL, 0, &rc);
	CU_ASSERT_EQUAL(rc, -ECONNREFUSED);
	CU_ASSERT_EQUAL_FATAL(dbfix_pg_start(&fix), 0);
	s = query_str(db, "SELECT 1 AS x", NULL, 0, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(s, "[{\"x\":1}]");
	free(s);
	tacws_db_close(db);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"url kind", test_url_kind},
	    {"types", test_types},
	    {"pg types", test_pg_types},
	    {"missing table", test_missing_table},
	    {"tables", test_tables},
	    {"columns", test_columns},
	    {"row shape", test_row_shape},
	    {"group counts", test_group_counts},
	    {"sqlite paths", test_sqlite_paths},
	    {"sqlite replaced", test_sqlite_replaced},
	    {"sqlite locked", test_sqlite_locked},
	    {"pg unreachable", test_pg_unreachable},
	    {"listen", test_listen},
	    {"pg restart", test_pg_restart},
	    {NULL, NULL},
	};
	return tacws_test_run("common_db", suite_init, suite_cleanup, cases);
}
