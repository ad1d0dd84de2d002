/*
 * system_status: health checks from the configuration, in TAC's
 * SystemStatusResponse shape. The section name is TAC's service key:
 * backend_api, database, webhook, frontend, cloudflare_tunnel, github_webhook.
 *
 * One [check.<key>] section per check, in the order of the file:
 *   type = http | tcp | process | database
 *   name = Frontend              shown to users (default: the key)
 *   timeout_ms = 2000            bound of this check
 *   http:     url = http://127.0.0.1:5173/   healthy on 2xx; a JSON body's
 *             "uptime_seconds" (or TAC's "uptime": {"seconds","human"}) is
 *             passed on, its "status" "degraded" or "error"/"unhealthy"
 *             lowers the result, and TAC's webhook "stats" become details
 *   tcp:      host = 127.0.0.1, port = 5432  healthy when a connection opens
 *   process:  pattern = cloudflared tunnel run  healthy when a live process's
 *             command line contains it
 *   database: database = <URL>   default [sources] database; healthy when it
 *             connects and its tables can be counted
 *
 *   data: {"overall_status","timestamp","services":{key:{"name","status",
 *          "uptime_seconds","uptime_human","message","details"}},
 *          "summary":{"healthy_services","total_services","health_percentage"}}
 *
 * The checks of a poll run at once on a small pool made at init (one thread
 * per check, at most MAX_THREADS); the poll waits no longer than the largest
 * timeout plus a grace period, and a check still running then counts as an
 * error. Such a check is not started again until it has returned, so a hung
 * one holds one pool thread at most and never delays the others.
 *
 * "timestamp" is when the rest of the payload last changed, so an unchanged
 * system gives a byte-identical payload and subscribers get no message.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tacws/plugin.h>

#include "db.h"
#include "http.h"
#include "jsonutil.h"
#include "pool.h"
#include "proc.h"
#include "sources.h"

#define DEFAULT_TIMEOUT_MS 2000
#define GRACE_MS 500
#define HTTP_MAX_BYTES (64 * 1024)
#define MAX_THREADS 16

enum check_type { CHECK_HTTP, CHECK_TCP, CHECK_PROCESS, CHECK_DATABASE };

/* Best first. As in TAC, overall is error or degraded when one check is,
 * else healthy ("unknown" does not lower it). */
enum status { ST_HEALTHY, ST_UNKNOWN, ST_DEGRADED, ST_ERROR };
static const char *const status_names[] = {"healthy", "unknown", "degraded", "error"};

struct check {
	char *key; /* the part after "check." */
	char *type, *name, *url, *host, *port, *pattern, *database, *timeout;
	enum check_type kind;
	long timeout_ms;
};

struct result {
	enum status status;
	json_object *uptime; /* the number the service reported, or NULL */
	char uptime_human[64]; /* what the service reported as text, "" when nothing */
	char message[512];
	json_object *details;
};

/* One poll: shared by the snapshot and its jobs, freed by the last. */
struct run {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int pending, refs, abandoned;
	struct result *results;
	int *finished;
};

struct job {
	struct run *run;
	size_t index;
};

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;
static struct check *checks;
static size_t n_checks;
static const char *default_database, *repo_root;

static tacws_pool *pool;
static tacws_change_stamp stamp = TACWS_CHANGE_STAMP_INIT;
/* Checks whose job has not returned yet (from this poll or an earlier one). */
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *busy;

static void result_set(struct result *r, enum status st, const char *fmt, const char *text)
{
	r->status = st;
	snprintf(r->message, sizeof r->message, fmt, text);
}

/* TAC's trigger service counts webhooks: shown as TAC's health check does. */
static void add_webhook_stats(json_object *body, struct result *r)
{
	json_object *stats, *total, *ok, *failed;
	if (!json_object_object_get_ex(body, "stats", &stats) ||
	    !json_object_object_get_ex(stats, "total_received", &total) ||
	    !json_object_object_get_ex(stats, "successful", &ok))
		return;
	char processed[64];
	snprintf(processed, sizeof processed, "%lld/%lld", (long long)json_object_get_int64(ok),
	         (long long)json_object_get_int64(total));
	json_object_object_add(r->details, "webhooks_processed", json_object_new_string(processed));
	json_object_object_add(r->details, "failed",
	                       json_object_new_int64(json_object_object_get_ex(stats, "failed", &failed)
	                                                 ? json_object_get_int64(failed)
	                                                 : 0));
}

static void check_http(const struct check *c, struct result *r)
{
	tacws_http_response resp;
	char err[512];
	char *shown = tacws_http_url_shown(c->url); /* no credentials to subscribers */
	json_object_object_add(r->details, "url", json_object_new_string(shown ? shown : "(hidden)"));
	free(shown);
	int rc = tacws_http_get(c->url, c->timeout_ms, HTTP_MAX_BYTES, &resp, err, sizeof err);
	if (rc) {
		result_set(r, ST_ERROR, "%s", err);
		return;
	}
	json_object_object_add(r->details, "status_code", json_object_new_int64(resp.status));
	char code[32];
	snprintf(code, sizeof code, "HTTP %ld", resp.status);
	if (resp.status < 200 || resp.status > 299) {
		result_set(r, ST_ERROR, "%s", code);
		tacws_http_response_free(&resp);
		return;
	}
	result_set(r, ST_HEALTHY, "%s", code);
	json_object *body = json_tokener_parse(resp.body);
	json_object *v, *up;
	if (json_object_object_get_ex(body, "uptime", &up) &&
	    json_object_is_type(up, json_type_object)) {
		/* TAC's trigger service: "uptime": {"seconds","hours","human"} */
		const char *human = tacws_json_get_string(up, "human");
		if (human)
			snprintf(r->uptime_human, sizeof r->uptime_human, "%s", human);
		json_object_object_get_ex(up, "seconds", &v);
	} else {
		json_object_object_get_ex(body, "uptime_seconds", &v);
	}
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		r->uptime = json_object_get(v);
	add_webhook_stats(body, r);
	const char *reported = NULL;
	if (json_object_object_get_ex(body, "status", &v) &&
	    json_object_is_type(v, json_type_string))
		reported = json_object_get_string(v);
	if (reported && !strcmp(reported, "degraded"))
		result_set(r, ST_DEGRADED, "%s, service reports degraded", code);
	else if (reported && (!strcmp(reported, "error") || !strcmp(reported, "unhealthy")))
		result_set(r, ST_ERROR, "%s, service reports unhealthy", code);
	json_object_put(body);
	tacws_http_response_free(&resp);
}

/* Non-blocking connect to one address; 0, or a positive errno. */
static int try_connect(const struct addrinfo *ai, long long deadline)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return errno;
	int e = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		e = errno;
	} else {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		long long left = deadline - tacws_now_ms();
		int n = left > 0 ? poll(&p, 1, (int)left) : 0;
		socklen_t len = sizeof e;
		if (n == 0)
			e = ETIMEDOUT;
		else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len))
			e = errno;
	}
	close(fd);
	return e;
}

static void check_tcp(const struct check *c, struct result *r)
{
	json_object_object_add(r->details, "host", json_object_new_string(c->host));
	json_object_object_add(r->details, "port", json_object_new_int(atoi(c->port)));
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *list;
	int gai = getaddrinfo(c->host, c->port, &hints, &list);
	if (gai) {
		result_set(r, ST_ERROR, "cannot resolve %s", c->host);
		return;
	}
	long long deadline = tacws_now_ms() + c->timeout_ms;
	int e = ECONNREFUSED;
	for (struct addrinfo *ai = list; ai && e; ai = ai->ai_next)
		e = try_connect(ai, deadline);
	freeaddrinfo(list);
	if (!e)
		result_set(r, ST_HEALTHY, "%s", "connection opened");
	else if (e == ETIMEDOUT)
		result_set(r, ST_ERROR, "%s", "no connection within the timeout");
	else
		result_set(r, ST_ERROR, "%s", strerror(e));
}

static void check_process(const struct check *c, struct result *r)
{
	json_object_object_add(r->details, "pattern", json_object_new_string(c->pattern));
	int found = 0;
	pid_t pid = 0;
	int rc = tacws_proc_find(c->pattern, &found, &pid);
	if (rc)
		result_set(r, ST_UNKNOWN, "cannot list processes: %s", strerror(-rc));
	else if (!found)
		result_set(r, ST_ERROR, "%s", "no live process matches");
	else {
		json_object_object_add(r->details, "pid", json_object_new_int((int)pid));
		result_set(r, ST_HEALTHY, "%s", "process running");
	}
}

/* The database URL with a connect timeout close to the check's, when it has none. */
static char *with_connect_timeout(const char *url, long timeout_ms)
{
	long s = (timeout_ms + 999) / 1000;
	char *out = NULL;
	if (!tacws_db_url_is_postgres(url) || strstr(url, "connect_timeout"))
		return strdup(url);
	const char *sep = strstr(url, "://") ? (strchr(url, '?') ? "&" : "?") : " ";
	if (asprintf(&out, "%s%sconnect_timeout=%ld", url, sep, s < 2 ? 2 : s) < 0)
		return NULL;
	return out;
}

static void check_database(const struct check *c, struct result *r)
{
	char err[512];
	char *url = with_connect_timeout(c->database, c->timeout_ms);
	tacws_db *db = NULL;
	long count = 0;
	if (!url) {
		result_set(r, ST_UNKNOWN, "%s", "out of memory");
		return;
	}
	int rc = tacws_db_open(url, repo_root, &db, err, sizeof err);
	if (!rc)
		rc = tacws_db_count_tables(db, &count, err, sizeof err);
	if (rc) {
		result_set(r, ST_ERROR, "%s", err);
	} else {
		json_object_object_add(r->details, "engine",
		                       json_object_new_string(tacws_db_engine(db)));
		json_object_object_add(r->details, "tables", json_object_new_int64(count));
		result_set(r, ST_HEALTHY, "%s", "connected");
	}
	tacws_db_close(db);
	free(url);
}

static void run_release(struct run *run)
{
	pthread_mutex_lock(&run->lock);
	int last = --run->refs == 0;
	pthread_mutex_unlock(&run->lock);
	if (!last)
		return;
	for (size_t i = 0; i < n_checks; i++) {
		json_object_put(run->results[i].details);
		json_object_put(run->results[i].uptime);
	}
	pthread_cond_destroy(&run->changed);
	pthread_mutex_destroy(&run->lock);
	free(run->results);
	free(run->finished);
	free(run);
}

/* Runs on a pool thread. */
static void check_main(void *arg)
{
	struct job *job = arg;
	const struct check *check = &checks[job->index];
	struct result r = {.status = ST_UNKNOWN, .details = json_object_new_object()};
	switch (check->kind) {
	case CHECK_HTTP:
		check_http(check, &r);
		break;
	case CHECK_TCP:
		check_tcp(check, &r);
		break;
	case CHECK_PROCESS:
		check_process(check, &r);
		break;
	case CHECK_DATABASE:
		check_database(check, &r);
		break;
	}
	/* Free for the next poll before this one hears of the result, so a poll
	 * right after this one never finds the check still busy. */
	pthread_mutex_lock(&busy_lock);
	busy[job->index] = 0;
	pthread_mutex_unlock(&busy_lock);
	struct run *run = job->run;
	pthread_mutex_lock(&run->lock);
	if (run->abandoned) {
		json_object_put(r.details);
		json_object_put(r.uptime);
	} else {
		run->results[job->index] = r;
		run->finished[job->index] = 1;
	}
	run->pending--;
	pthread_cond_signal(&run->changed);
	pthread_mutex_unlock(&run->lock);
	run_release(run);
	free(job);
}

/* Queues check i unless its last job is still running; 0, or why not. */
static int start_check(struct run *run, size_t i)
{
	pthread_mutex_lock(&busy_lock);
	int was_busy = busy[i];
	busy[i] = 1;
	pthread_mutex_unlock(&busy_lock);
	if (was_busy)
		return -EBUSY;
	struct job *job = malloc(sizeof *job);
	int rc = job ? 0 : -ENOMEM;
	if (job) {
		*job = (struct job){run, i};
		pthread_mutex_lock(&run->lock);
		run->pending++;
		run->refs++;
		pthread_mutex_unlock(&run->lock);
		rc = tacws_pool_submit(pool, check_main, job);
		if (rc) {
			pthread_mutex_lock(&run->lock);
			run->pending--;
			run->refs--;
			pthread_mutex_unlock(&run->lock);
			free(job);
		}
	}
	if (rc) {
		pthread_mutex_lock(&busy_lock);
		busy[i] = 0;
		pthread_mutex_unlock(&busy_lock);
	}
	return rc;
}

/* TAC's rendering: "2d 3h 5m", "3h 12m", "7m". */
static void format_uptime(double seconds, char *buf, size_t len)
{
	long s = (long)seconds, d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
	if (d > 0)
		snprintf(buf, len, "%ldd %ldh %ldm", d, h, m);
	else if (h > 0)
		snprintf(buf, len, "%ldh %ldm", h, m);
	else
		snprintf(buf, len, "%ldm", m);
}

/* Moves r's uptime into svc: the number the service reported (null when none)
 * and its text, or TAC's rendering of the number. */
static void add_uptime(json_object *svc, struct result *r)
{
	double seconds = r->uptime ? json_object_get_double(r->uptime) : -1;
	if (seconds < 0) {
		json_object_put(r->uptime);
		r->uptime = NULL;
		json_object_object_add(svc, "uptime_seconds", NULL);
		json_object_object_add(svc, "uptime_human", NULL);
		return;
	}
	if (!*r->uptime_human)
		format_uptime(seconds, r->uptime_human, sizeof r->uptime_human);
	json_object_object_add(svc, "uptime_seconds", r->uptime);
	r->uptime = NULL;
	json_object_object_add(svc, "uptime_human", json_object_new_string(r->uptime_human));
}

/* A check without a name of its own, under one of TAC's service keys, shows
 * the name TAC's panel shows for it. */
static const char *display_name(const struct check *c)
{
	static const char *const tac[][2] = {
	    {"backend_api", "Backend API"},     {"database", "Database"},
	    {"webhook", "Webhook Service"},     {"frontend", "Frontend"},
	    {"cloudflare_tunnel", "Cloudflare Tunnel"}, {"github_webhook", "GitHub Webhook"},
	};
	for (size_t i = 0; !strcmp(c->name, c->key) && i < sizeof tac / sizeof *tac; i++)
		if (!strcmp(c->key, tac[i][0]))
			return tac[i][1];
	return c->name;
}

static json_object *build_payload(struct run *run)
{
	json_object *services = json_object_new_object();
	enum status overall = ST_HEALTHY;
	int healthy = 0;
	for (size_t i = 0; i < n_checks; i++) {
		struct result *r = &run->results[i];
		json_object *svc = json_object_new_object();
		json_object_object_add(svc, "name", json_object_new_string(display_name(&checks[i])));
		json_object_object_add(svc, "status",
		                       json_object_new_string(status_names[r->status]));
		add_uptime(svc, r);
		json_object_object_add(svc, "message", json_object_new_string(r->message));
		json_object_object_add(svc, "details",
		                       r->details ? r->details : json_object_new_object());
		r->details = NULL;
		json_object_object_add(services, checks[i].key, svc);
		if (r->status > overall && r->status != ST_UNKNOWN)
			overall = r->status;
		healthy += r->status == ST_HEALTHY;
	}
	json_object *summary = json_object_new_object();
	json_object_object_add(summary, "healthy_services", json_object_new_int(healthy));
	json_object_object_add(summary, "total_services", json_object_new_int((int)n_checks));
	json_object_object_add(
	    summary, "health_percentage",
	    tacws_json_new_double_rounded(n_checks ? 100.0 * healthy / (double)n_checks : 0.0, 1));
	json_object *out = json_object_new_object();
	json_object_object_add(out, "overall_status",
	                       json_object_new_string(status_names[overall]));
	json_object_object_add(out, "services", services);
	json_object_object_add(out, "summary", summary);
	return out;
}

static struct run *run_new(void)
{
	size_t n = n_checks ? n_checks : 1;
	struct run *run = calloc(1, sizeof *run);
	if (!run)
		return NULL;
	run->results = calloc(n, sizeof *run->results);
	run->finished = calloc(n, sizeof *run->finished);
	if (!run->results || !run->finished) {
		free(run->results);
		free(run->finished);
		free(run);
		return NULL;
	}
	pthread_mutex_init(&run->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&run->changed, &attr);
	pthread_condattr_destroy(&attr);
	run->refs = 1;
	return run;
}

/* Waits for the run's jobs until wait_ms have passed; what has not answered
 * by then is an error, and its late answer is dropped. */
static void run_wait(struct run *run, long wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	long long ns = until.tv_nsec + wait_ms % 1000 * 1000000LL;
	until.tv_sec += wait_ms / 1000 + ns / 1000000000;
	until.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&run->lock);
	while (run->pending > 0 &&
	       pthread_cond_timedwait(&run->changed, &run->lock, &until) != ETIMEDOUT)
		;
	run->abandoned = 1;
	for (size_t i = 0; i < n_checks; i++) {
		struct result *r = &run->results[i];
		if (run->finished[i])
			continue;
		r->status = ST_ERROR;
		snprintf(r->message, sizeof r->message, "no answer within %ld ms",
		         checks[i].timeout_ms);
		run->finished[i] = 1;
	}
	pthread_mutex_unlock(&run->lock);
}

static int system_status_snapshot(void *arg, const char *param, json_object **data, char *err,
                                  size_t errlen)
{
	(void)arg;
	(void)param;
	struct run *run = run_new();
	if (!run) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	long wait_ms = 0;
	for (size_t i = 0; i < n_checks; i++) {
		if (checks[i].timeout_ms > wait_ms)
			wait_ms = checks[i].timeout_ms;
		int rc = start_check(run, i);
		if (!rc)
			continue;
		struct result *r = &run->results[i];
		pthread_mutex_lock(&run->lock);
		r->status = ST_ERROR;
		if (rc == -EBUSY)
			snprintf(r->message, sizeof r->message,
			         "no answer within %ld ms (still running)", checks[i].timeout_ms);
		else
			snprintf(r->message, sizeof r->message, "cannot start the check: %s",
			         strerror(-rc));
		run->finished[i] = 1;
		pthread_mutex_unlock(&run->lock);
	}
	run_wait(run, n_checks ? wait_ms + GRACE_MS : 0);
	json_object *body = build_payload(run);
	run_release(run);
	char changed[48];
	tacws_change_stamp_get(&stamp, body, changed, sizeof changed);
	json_object_object_add(body, "timestamp", json_object_new_string(changed));
	*data = body;
	return 0;
}

static void free_checks(void)
{
	for (size_t i = 0; i < n_checks; i++) {
		struct check *c = &checks[i];
		free(c->key);
		free(c->type);
		free(c->name);
		free(c->url);
		free(c->host);
		free(c->port);
		free(c->pattern);
		free(c->database);
		free(c->timeout);
	}
	free(checks);
	checks = NULL;
	n_checks = 0;
}

/* [check.<key>] keys, in the order of struct check's string fields. */
static const char *const check_keys[] = {"type", "name",    "url",      "host",
                                         "port", "pattern", "database", "timeout_ms"};
/* Indexed by enum check_type. */
static const char *const check_types[] = {"http", "tcp", "process", "database"};
#define N_CHECK_TYPES (sizeof check_types / sizeof *check_types)

static int collect_key(void *arg, const char *section, const char *key, const char *value)
{
	(void)arg;
	const char *name = section + strlen("check.");
	size_t i;
	for (i = 0; i < n_checks; i++)
		if (!strcmp(checks[i].key, name))
			break;
	if (i == n_checks) {
		struct check *grown = realloc(checks, (n_checks + 1) * sizeof *checks);
		if (!grown)
			return -ENOMEM;
		checks = grown;
		memset(&checks[n_checks], 0, sizeof *checks);
		if (!(checks[n_checks].key = strdup(name)))
			return -ENOMEM;
		n_checks++;
	}
	struct check *c = &checks[i];
	char **fields[] = {&c->type, &c->name,    &c->url,      &c->host,
	                   &c->port, &c->pattern, &c->database, &c->timeout};
	for (size_t k = 0; k < sizeof check_keys / sizeof *check_keys; k++) {
		if (strcmp(key, check_keys[k]))
			continue;
		free(*fields[k]);
		return (*fields[k] = strdup(value)) ? 0 : -ENOMEM;
	}
	host->log(ctx, TACWS_LOG_ERROR, "[%s] %s: unknown key", section, key);
	return -EINVAL;
}

/* Fills in defaults and refuses what cannot work, with a line naming the key. */
static int validate(struct check *c)
{
	const char *const *types = check_types;
	const char *problem = NULL;
	size_t t;
	for (t = 0; c->type && t < N_CHECK_TYPES; t++)
		if (!strcmp(c->type, types[t]))
			break;
	if (!c->type || t == N_CHECK_TYPES)
		problem = "type: must be http, tcp, process or database";
	else if (tacws_http_parse_ms(c->timeout, DEFAULT_TIMEOUT_MS, &c->timeout_ms))
		problem = "timeout_ms: not a duration in ms";
	c->kind = (enum check_type)t;
	if (!problem && c->kind == CHECK_HTTP && (!c->url || !*c->url))
		problem = "url: required for an http check";
	if (!problem && c->kind == CHECK_TCP) {
		char *end = NULL;
		long port = c->port ? strtol(c->port, &end, 10) : 0;
		if (!c->host || !*c->host)
			problem = "host: required for a tcp check";
		else if (!c->port || *end || port < 1 || port > 65535)
			problem = "port: must be 1 to 65535";
	}
	if (!problem && c->kind == CHECK_PROCESS && (!c->pattern || !*c->pattern))
		problem = "pattern: required for a process check";
	if (!problem && c->kind == CHECK_DATABASE && !c->database &&
	    !(c->database = strdup(default_database)))
		return -ENOMEM;
	if (!problem && !c->name && !(c->name = strdup(c->key)))
		return -ENOMEM;
	if (problem) {
		host->log(ctx, TACWS_LOG_ERROR, "[check.%s] %s", c->key, problem);
		return -EINVAL;
	}
	return 0;
}

static void system_status_fini(void)
{
	/* Checks that overran their poll still read the configuration. */
	tacws_pool_free(pool);
	pool = NULL;
	free(busy);
	busy = NULL;
	tacws_change_stamp_reset(&stamp);
	free_checks();
	curl_global_cleanup();
}

static int system_status_init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	default_database = tacws_source_get(host, ctx, "database");
	repo_root = tacws_source_get(host, ctx, "repo_root");

	int rc = host->config_foreach(ctx, "check.", collect_key, NULL);
	for (size_t i = 0; !rc && i < n_checks; i++)
		rc = validate(&checks[i]);
	if (rc) {
		free_checks();
		return rc;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free_checks();
		return -EIO;
	}
	tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = "system-status",
	    .message_type = "system_status_update",
	    .snapshot = system_status_snapshot,
	    .default_interval_ms = 5000,
	};
	rc = host->feed_register(ctx, &desc);
	/* Snapshots run only once init has returned: the pool can come after. */
	if (!rc && n_checks) {
		busy = calloc(n_checks, 1);
		rc = busy ? tacws_pool_new(n_checks < MAX_THREADS ? (unsigned)n_checks : MAX_THREADS,
		                           &pool)
		          : -ENOMEM;
	}
	if (rc && rc != -ENOENT) { /* -ENOENT: not enabled, load quietly */
		system_status_fini();
		return rc;
	}
	return 0;
}

/* --- configuration check (tacwsd --check-config, start-up, reload) --- */

struct config_check_arg {
	const tacws_host_api *host;
	tacws_plugin_ctx *ctx;
};

/* One [check.*] key, with the limits the checks themselves apply. */
static int check_config_key(void *arg, const char *section, const char *key, const char *value)
{
	const tacws_host_api *h = ((struct config_check_arg *)arg)->host;
	tacws_plugin_ctx *check_ctx = ((struct config_check_arg *)arg)->ctx;
	size_t k = 0, t = 0;
	long number;
	char *end;
	if (!section[strlen("check.")])
		return h->config_error(check_ctx, section, NULL, "a check needs a name");
	while (k < sizeof check_keys / sizeof *check_keys && strcmp(key, check_keys[k]))
		k++;
	if (k == sizeof check_keys / sizeof *check_keys)
		return h->config_error(check_ctx, section, key, "unknown key '%s'", key);
	while (!strcmp(key, "type") && t < N_CHECK_TYPES && strcmp(value, check_types[t]))
		t++;
	if (t == N_CHECK_TYPES)
		return h->config_error(check_ctx, section, key,
		                       "'%s' is not http, tcp, process or database", value);
	if (!strcmp(key, "timeout_ms") && tacws_http_parse_ms(value, DEFAULT_TIMEOUT_MS, &number))
		return h->config_error(check_ctx, section, key, "'%s' is not a duration in ms",
		                       value);
	number = !strcmp(key, "port") ? strtol(value, &end, 10) : 1;
	if (!strcmp(key, "port") && (*end || !*value || number < 1 || number > 65535))
		return h->config_error(check_ctx, section, key, "'%s' is not from 1 to 65535", value);
	return 0;
}

static int system_status_config_check(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	int rc = tacws_sources_check(h, c);
	if (rc || !h->config_error)
		return rc;
	struct config_check_arg arg = {h, c};
	return h->config_foreach(c, "check.", check_config_key, &arg);
}

static const char *const owned_sections[] = {"sources", "check.", NULL};

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,        .name = "system_status",    .version = "1.0",
    .init = system_status_init, .fini = system_status_fini,
    .config_sections = owned_sections, .config_check = system_status_config_check,
};
