/*
 * One SQL interface over SQLite and PostgreSQL, so the same plugin and the
 * same SQL run on both. Placeholders are written $1, $2, ... (both engines
 * accept them). Every function returns 0 or a negative errno and, on error,
 * writes a one-line reason into err.
 *
 * Errors: -ENOENT missing SQLite file or missing table, -EBUSY database
 * locked, -ECONNREFUSED PostgreSQL unreachable or connection lost,
 * -ETIMEDOUT statement timeout, -EINVAL bad URL or SQL, -EIO anything else.
 *
 * A tacws_db handle is used by one thread at a time. A PostgreSQL handle
 * survives a server restart: a query on a broken connection reconnects first
 * (and fails, for that call only, while the server is away); a query that
 * finds the connection broken is run once more on a new one, so keep
 * statements that are not safe to repeat out of tacws_db_query. A SQLite
 * handle follows its path: a file replaced under it is reopened, a removed
 * one is -ENOENT until it is back.
 */
#ifndef TACWS_DB_H
#define TACWS_DB_H

#include <json-c/json.h>
#include <tacws/plugin.h>
#include <stddef.h>

#include "sources.h"

typedef struct tacws_db tacws_db;

/* url: "sqlite:PATH", a plain PATH (SQLite, relative to base_dir when not
 * absolute; base_dir may be NULL), or a libpq URL / conninfo
 * ("postgresql://user@host/db", "host=... dbname=..."). SQLite files are
 * opened read-only with a 1000 ms busy timeout and never created.
 * PostgreSQL gets connect_timeout=5 unless the URL sets one. */
int tacws_db_open(const char *url, const char *base_dir, tacws_db **out, char *err, size_t errlen);
void tacws_db_close(tacws_db *db);

/* Opens *db when it is NULL, so a plugin can open lazily and retry at each
 * poll while the database is missing or down. No-op when *db is open. */
int tacws_db_ensure(tacws_db **db, const char *url, const char *base_dir, char *err, size_t errlen);

/* 1 when url names a PostgreSQL database, 0 when SQLite. */
int tacws_db_url_is_postgres(const char *url);

/* "sqlite" or "postgresql". */
const char *tacws_db_engine(const tacws_db *db);

/* Runs sql with nparams text parameters and returns its rows as a new JSON
 * array of objects keyed by column name (*rows, caller puts it). Integers,
 * reals, booleans and NULL keep their types on both engines; json/jsonb
 * columns of PostgreSQL (and columns declared JSON on SQLite) are parsed;
 * PostgreSQL timestamps are written as TAC's backend writes them (Python's
 * isoformat: "2026-11-26T10:00:00", "...T10:00:00.500000+00:00"), SQLite's
 * text as stored; anything else is a string. Reals are written with the
 * shortest text that reads back the same (see tacws_db_new_double). */
int tacws_db_query(tacws_db *db, const char *sql, const char *const *params, int nparams,
                   json_object **rows, char *err, size_t errlen);

/* 1 when the table (or view) exists, 0 when not, or a negative errno. */
int tacws_db_table_exists(tacws_db *db, const char *table, char *err, size_t errlen);

/* The columns table has now, in table order, as a new JSON array of names
 * (*columns, caller puts). A table that does not exist is -ENOENT ("<table>:
 * no such table"). Read at each snapshot, a feed follows migrations applied
 * while it runs and the schema of whatever database it reconnected to. */
int tacws_db_columns(tacws_db *db, const char *table, json_object **columns, char *err,
                     size_t errlen);

/* 1 when name is in an array made by tacws_db_columns, else 0. */
int tacws_db_has_column(json_object *columns, const char *name);

/* Writes into buf "(SELECT c1, CAST(NULL AS REAL) AS c2, ... FROM table) AS
 * table": the columns of needed (NULL-terminated "name TYPE" strings, a plain
 * identifier and an SQL type both engines know: TEXT, REAL, INTEGER), each a
 * NULL of its type where columns (from tacws_db_columns) lacks it. Put in a
 * FROM clause, it lets one statement read tables of every migration level.
 * Returns 0, or -ENOSPC. */
int tacws_db_table_with(json_object *columns, const char *table, const char *const *needed,
                        char *buf, size_t len);

/* Number of user tables in *count. */
int tacws_db_count_tables(tacws_db *db, long *count, char *err, size_t errlen);

/* A JSON number written with the shortest text that reads back as d
 * ("0.1", not "0.10000000000000001"), or JSON null when d is not finite. */
json_object *tacws_db_new_double(double d);

/*
 * LISTEN/NOTIFY (PostgreSQL only). A listener is a thread with its own
 * connection that LISTENs on one channel. It connects in the background,
 * reconnects with backoff (0.2 s doubling to 10 s) when the server goes away,
 * and reports through fn, called on the listener's thread:
 *   TACWS_DB_NOTIFY     a notification arrived; text is its payload
 *   TACWS_DB_LISTENING  listening (again); changes may have been missed, text NULL
 *   TACWS_DB_LOST       the first failure of an outage; text is the reason
 */
typedef enum tacws_db_event {
	TACWS_DB_NOTIFY = 0,
	TACWS_DB_LISTENING = 1,
	TACWS_DB_LOST = 2,
} tacws_db_event;

typedef void (*tacws_db_listen_fn)(void *arg, tacws_db_event event, const char *text);

typedef struct tacws_db_listener tacws_db_listener;

/* Starts listening on channel (any name; it is quoted). Returns 0, or
 * -EINVAL when url is not PostgreSQL, -ENOMEM, or -errno from the thread. */
int tacws_db_listen_start(const char *url, const char *channel, tacws_db_listen_fn fn, void *arg,
                          tacws_db_listener **out, char *err, size_t errlen);

/* Wakes the thread, waits for it (fn is not called after this returns),
 * closes its connection and frees l. NULL is a no-op. */
void tacws_db_listen_stop(tacws_db_listener *l);

/*
 * A feed whose snapshot reads the database, the way the queue and history
 * plugins do: it reads [sources] database and repo_root, registers the feed,
 * opens the database lazily at each poll until it works, and, when the feed's
 * section sets listen_channel on PostgreSQL, polls the feed at each NOTIFY.
 * One tacws_db_feed per feed; its snapshot runs on one worker at a time.
 */
typedef struct tacws_db_feed {
	const tacws_host_api *host;
	tacws_plugin_ctx *ctx;
	const char *endpoint; /* the feed's base, as registered */
	const char *url, *repo_root;
	tacws_db *db;
	tacws_db_listener *listener;
} tacws_db_feed;

/* The config keys such a feed accepts; pass as tacws_feed_desc.config_keys. */
extern const char *const tacws_db_feed_keys[];

/* Registers desc (its endpoint has no parameter) and starts the listener if
 * configured. Returns host->feed_register's result (-ENOENT: not enabled). */
int tacws_db_feed_start(tacws_db_feed *f, const tacws_host_api *host, tacws_plugin_ctx *ctx,
                        const tacws_feed_desc *desc);

/* The usual case in one call: registers endpoint (message_type, snapshot,
 * default interval_ms, tacws_db_feed_keys) with tacws_db_feed_start. Returns
 * 0 also when the feed is not enabled, or host->feed_register's error. */
int tacws_db_feed_init(tacws_db_feed *f, const tacws_host_api *host, tacws_plugin_ctx *ctx,
                       const char *endpoint, const char *message_type, tacws_snapshot_fn snapshot,
                       int interval_ms);

/* The feed's open database in *db, opening it if needed (snapshot thread). */
int tacws_db_feed_open(tacws_db_feed *f, tacws_db **db, char *err, size_t errlen);

/* Stops the listener and closes the database. */
void tacws_db_feed_stop(tacws_db_feed *f);

#endif
