/*
 * One SQL interface over SQLite and PostgreSQL, so the same plugin and the
 * same SQL run on both. Placeholders are written $1, $2, ... (both engines
 * accept them). Every function returns 0 or a negative errno and, on error,
 * writes a one-line reason into err.
 *
 * A tacws_db handle is used by one thread at a time.
 */
#ifndef TACWS_DB_H
#define TACWS_DB_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct tacws_db tacws_db;

/* url: "sqlite:PATH", a plain PATH (SQLite, relative to base_dir when not
 * absolute; base_dir may be NULL), or a libpq URL / conninfo
 * ("postgresql://user@host/db", "host=... dbname=..."). SQLite files are
 * opened read-only and never created. */
int tacws_db_open(const char *url, const char *base_dir, tacws_db **out, char *err,
		  size_t errlen);
void tacws_db_close(tacws_db *db);

/* Runs sql with nparams text parameters and returns its rows as a new JSON
 * array of objects keyed by column name (*rows, caller puts it). Integers,
 * reals, booleans and NULL keep their types on both engines; json/jsonb
 * columns of PostgreSQL are parsed. */
int tacws_db_query(tacws_db *db, const char *sql, const char *const *params, int nparams,
		   json_object **rows, char *err, size_t errlen);

/* 1 when the table exists, 0 when not, or a negative errno. */
int tacws_db_table_exists(tacws_db *db, const char *table, char *err, size_t errlen);

/* Number of user tables in *count. */
int tacws_db_count_tables(tacws_db *db, long *count, char *err, size_t errlen);

#endif
