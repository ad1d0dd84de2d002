#include "demo.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PRAGMA application_id of databases made by tacws-demo ("tacw"), so a rerun
 * replaces its own database and never someone else's. */
#define DEMO_APPLICATION_ID 0x74616377

struct demo_store {
	sqlite3 *db;
};

static int made_by_demo(const char *path)
{
	struct stat sb;
	if (stat(path, &sb))
		return errno == ENOENT ? 1 : 0;
	if (sb.st_size == 0)
		return 1;
	sqlite3 *db = NULL;
	int ours = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			ours = sqlite3_column_int(st, 0) == DEMO_APPLICATION_ID;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return ours;
}

static int remove_database(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char buf[PATH_MAX];
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		snprintf(buf, sizeof buf, "%s%s", path, suffixes[i]);
		if (unlink(buf) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 4096) {
			char *p = realloc(buf, cap + 65536);
			if (!p)
				break;
			buf = p;
			cap += 65536;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

int demo_store_open(const char *path, const char *schema_path, demo_store **out)
{
	if (!made_by_demo(path)) {
		demo_log("%s exists and was not made by tacws-demo; refusing to replace it", path);
		return -EEXIST;
	}
	int rc = remove_database(path);
	if (rc) {
		demo_log("cannot remove the old %s: %s", path, strerror(-rc));
		return rc;
	}
	char *schema = read_text(schema_path);
	if (!schema) {
		demo_log("cannot read the schema %s: %s", schema_path, strerror(errno));
		return -ENOENT;
	}
	demo_store *st = calloc(1, sizeof *st);
	if (!st) {
		free(schema);
		return -ENOMEM;
	}
	char *msg = NULL;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		demo_log("cannot create %s: %s", path, sqlite3_errmsg(st->db));
		rc = -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 2000);
	char pragmas[128];
	/* WAL lets the plugins read while the driver writes. */
	snprintf(pragmas, sizeof pragmas,
	         "PRAGMA application_id = %d; PRAGMA journal_mode = WAL; "
	         "PRAGMA synchronous = NORMAL;",
	         DEMO_APPLICATION_ID);
	if (sqlite3_exec(st->db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		demo_log("%s: %s", schema_path, msg ? msg : sqlite3_errmsg(st->db));
		rc = -EIO;
		goto fail;
	}
	free(schema);
	*out = st;
	return 0;
fail:
	sqlite3_free(msg);
	free(schema);
	sqlite3_close(st->db);
	free(st);
	return rc;
}

void demo_store_close(demo_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

static int run(demo_store *st, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		demo_log("%s: %s", sql, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int demo_store_begin(demo_store *st)
{
	return run(st, "BEGIN IMMEDIATE");
}

int demo_store_commit(demo_store *st)
{
	return run(st, "COMMIT");
}

int demo_store_exec(demo_store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		demo_log("%s: %s", sql, sqlite3_errmsg(st->db));
		return -EIO;
	}
	if (sqlite3_bind_parameter_count(stmt) != (int)strlen(fmt)) {
		demo_log("%s: %zu arguments for %d parameters", sql, strlen(fmt),
		         sqlite3_bind_parameter_count(stmt));
		sqlite3_finalize(stmt);
		return -EINVAL;
	}
	va_list ap;
	va_start(ap, fmt);
	int k = 1;
	for (const char *f = fmt; *f; f++, k++) {
		/* SQLite numbers "$N" parameters by first appearance, not by N. */
		char name[16];
		snprintf(name, sizeof name, "$%d", k);
		int i = sqlite3_bind_parameter_index(stmt, name);
		switch (*f) {
		case 'i':
			sqlite3_bind_int(stmt, i, va_arg(ap, int));
			break;
		case 'j': {
			int v = va_arg(ap, int);
			if (v > 0)
				sqlite3_bind_int(stmt, i, v);
			break;
		}
		case 'I':
			sqlite3_bind_int64(stmt, i, va_arg(ap, long long));
			break;
		case 'd':
			sqlite3_bind_double(stmt, i, va_arg(ap, double));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
			break;
		}
		default:
			break;
		}
	}
	va_end(ap);
	int rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		demo_log("%s: %s", sql, sqlite3_errmsg(st->db));
		sqlite3_finalize(stmt);
		return -EIO;
	}
	sqlite3_finalize(stmt);
	return 0;
}
