/*
 * tacws-demo internals: a simulated TAC WebBuilder. The world (world.c) keeps
 * workflows and the phase queue in memory and mirrors them to
 * <repo_root>/agents/, the SQLite database (store.c) and the HTTP services
 * (http.c) that the tacws feeds read.
 *
 * Conventions: functions return 0 or a negative errno and log their reason
 * with demo_log. Threads: everything runs on the main thread except the HTTP
 * server, which only reads what demo_http_set_* handed it, under its lock.
 */
#ifndef TACWS_DEMO_H
#define TACWS_DEMO_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct demo_opts {
	const char *repo_root;
	const char *database; /* SQLite file; default <repo_root>/db/database.db */
	const char *schema;   /* conf/sql/schema.sql */
	int http_port;        /* 0: an ephemeral port */
	uint64_t seed;
	int tick_ms;
	int duration_s;      /* 0: until SIGTERM/SIGINT */
	int health_period_s; /* /health is up this long, then down a third of it */
	int once;            /* create the fixtures and exit */
	int spawn_processes; /* one child per running workflow, its adw_id in argv */
	int quiet;
} demo_opts;

void demo_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Deterministic xorshift64* generator, so --seed replays the same story. */
typedef struct demo_rng {
	uint64_t s;
} demo_rng;

void demo_rng_seed(demo_rng *r, uint64_t seed);
uint32_t demo_rand(demo_rng *r);
/* An integer in [lo, hi]. */
int demo_range(demo_rng *r, int lo, int hi);
double demo_uniform(demo_rng *r, double lo, double hi);
/* 1 with probability p. */
int demo_chance(demo_rng *r, double p);

/* t (seconds since the epoch, UTC) as "2026-11-26T10:31:00Z"; buf >= 21 bytes. */
void demo_iso8601(double t, char *buf, size_t len);
double demo_now(void);
/* t as Python's datetime.isoformat() writes it, "2026-11-26T10:31:00.512000"
 * (UTC, no zone), the way TAC's services stamp their JSON; buf >= 27 bytes. */
void demo_pytime(double t, char *buf, size_t len);

/* json-c shorthands. demo_jstr(NULL) and demo_jadd of NULL give JSON null. */
void demo_jadd(json_object *o, const char *key, json_object *v);
json_object *demo_jstr(const char *s);
json_object *demo_jtime(double t); /* demo_iso8601 text */
/* A number printed with exactly that many decimals (not 0.12340000000000001). */
json_object *demo_jnum(int decimals, double v);
double demo_round4(double v);
/* Compact text of o, valid until o changes or is freed. */
const char *demo_json_text(json_object *o);
/* o written with indent 2 through demo_write_atomic. */
int demo_write_json(const char *path, json_object *o);

/* File helpers; paths are absolute or relative to the working directory. */
int demo_mkdirs(const char *path);
int demo_rmtree(const char *path);
/* Writes len bytes to path through path.tmp + rename, so readers never see
 * a partial file. */
int demo_write_atomic(const char *path, const char *text, size_t len);
/* Writes only the first len bytes, in place: a deliberately torn file. */
int demo_write_partial(const char *path, const char *text, size_t len);
int demo_append(const char *path, const char *line);

/* The SQLite database, created from the schema file. */
typedef struct demo_store demo_store;

/* Creates path (replacing a database an earlier tacws-demo made; a file
 * the demo did not make is refused with -EEXIST) and runs schema_path. */
int demo_store_open(const char *path, const char *schema_path, demo_store **out);
void demo_store_close(demo_store *st);
int demo_store_begin(demo_store *st);
int demo_store_commit(demo_store *st);

/* Runs sql, whose parameters are written $1, $2, ..., with their values
 * given by a format string, one character each:
 * 'i' int, 'j' int bound as NULL when <= 0, 'I' long long, 'd' double,
 * 's' string (NULL binds NULL), 'n' NULL (takes no argument).
 * Returns 0 or -EIO. */
int demo_store_exec(demo_store *st, const char *sql, const char *fmt, ...);

/* The small HTTP server on 127.0.0.1 (openapi.json, webhook-status, health). */
typedef struct demo_http demo_http;

/* Binds 127.0.0.1:port (0 = ephemeral) and starts its thread; *port_out
 * gets the bound port. The documents start empty ("{}"). */
int demo_http_start(int port, int health_period_s, demo_http **out, int *port_out);
/* Stops the thread and frees everything. NULL is fine. */
void demo_http_stop(demo_http *h);
/* Replace the served documents; json is copied. */
void demo_http_set_openapi(demo_http *h, const char *json);
void demo_http_set_webhook_status(demo_http *h, const char *json);
/* Whether the simulated Cloudflare tunnel is up: its public /health follows it. */
void demo_http_set_tunnel_up(demo_http *h, int up);

/* The planned_features backlog (plans.c), in the store's open transaction. */
typedef struct demo_plans demo_plans;

/* Files a session and a backlog in every status, dated before now. */
int demo_plans_create(demo_store *st, demo_rng *rng, double now, demo_plans **out);
/* One change: an item started (as GitHub issue `issue`), finished, or filed. */
void demo_plans_step(demo_plans *p, double now, int issue);
void demo_plans_free(demo_plans *p);

/* <repo_root>/QC_METRICS_ENHANCED.json (quality.c), written atomically. */
typedef struct demo_quality demo_quality;

int demo_quality_create(const char *repo_root, demo_rng *rng, double now, demo_quality **out);
/* The metrics drift a little and the file is written again. */
int demo_quality_step(demo_quality *q, double now);
void demo_quality_free(demo_quality *q);

/* The simulated world. */
typedef struct demo_world demo_world;

/* Prepares repo_root (refusing a folder with an agents/ the demo did not
 * make), creates the database and a varied first state: workflows in every
 * status, a phase queue, a history. http (may be NULL) gets its documents.
 * opts must outlive the world. */
int demo_world_create(const demo_opts *opts, demo_http *http, demo_world **out);
/* One step of the story: workflows advance, the queue moves, webhooks
 * arrive, files and rows are written. */
int demo_world_tick(demo_world *w);
/* Stops the child processes (by PID) and frees the world; files stay. */
void demo_world_free(demo_world *w);

#endif
