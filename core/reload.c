/*
 * SIGHUP: re-read the configuration and apply it without touching the
 * connections it does not concern. Runs on the loop thread between two
 * lws_service calls, so nothing else changes feeds meanwhile; workers only
 * run polls, and the reload waits for the polls of what it replaces.
 */
#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed.h"
#include "loader.h"
#include "log.h"
#include "server.h"

#define IDLE_WAIT_MS 5000

static const tacws_feed_config *enabled_feed(const tacws_config *cfg, const char *endpoint)
{
	for (size_t i = 0; i < cfg->n_feeds; i++)
		if (cfg->feeds[i].enabled && !strcmp(cfg->feeds[i].endpoint, endpoint))
			return &cfg->feeds[i];
	return NULL;
}

/* *slot becomes a copy of value (kept as it is when out of memory). */
static void keep_string(char **slot, const char *value)
{
	char *copy = strdup(value);
	if (copy) {
		free(*slot);
		*slot = copy;
	}
}

/* What lws and the workers were started with stays until a restart. */
static void keep_restart_keys(const tacws_config *old, tacws_config *cfg)
{
	static const char *const keys[] = {
	    "listen", "port", "workers", "ping_interval_s", "handshake_timeout_s", "log_level"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *a = tacws_config_get(old, "server", keys[i]);
		const char *b = tacws_config_get(cfg, "server", keys[i]);
		if ((a || b) && (!a || !b || strcmp(a, b)))
			tacws_log_warn("reload",
			               "[server] %s changed: it takes effect at the next "
			               "start",
			               keys[i]);
	}
	keep_string(&cfg->listen, old->listen);
	keep_string(&cfg->log_level, old->log_level);
	/* the broker was opened with [cluster] (server.c) */
	if (strcmp(old->redis, cfg->redis) || strcmp(old->node_id, cfg->node_id))
		tacws_log_warn("reload", "[cluster] changed: it takes effect at the next start");
	keep_string(&cfg->redis, old->redis);
	keep_string(&cfg->node_id, old->node_id);
	cfg->broker = old->broker;
	cfg->port = old->port;
	cfg->workers = old->workers;
	cfg->ping_interval_s = old->ping_interval_s;
	cfg->handshake_timeout_s = old->handshake_timeout_s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits, collecting finished polls, until no feed marked in busy[] polls. */
static int wait_idle(tacws_server *srv, const bool *busy)
{
	for (int waited = 0;; waited += 2) {
		bool any = false;
		for (size_t i = 0; i < srv->n_feeds; i++)
			any |= busy[i] && tacws_feed_quiesce(srv->feeds[i]);
		if (!any)
			return 0;
		if (waited >= IDLE_WAIT_MS || !srv->workers)
			return -EBUSY;
		sleep_ms(2);
		tacws_feed_collect(srv);
	}
}

void tacws_reload_free(tacws_server *srv)
{
	for (size_t i = 0; i < srv->n_configs; i++)
		tacws_config_free(srv->configs[i]);
	free(srv->configs);
	srv->configs = NULL;
	srv->n_configs = 0;
}

/* Retires the feeds cfg removes, once none of them, nor of the feeds whose
 * plugin restarts, polls. Returns 0 or -EBUSY (nothing changed). */
static int retire_feeds(tacws_server *srv, const tacws_config *cfg)
{
	size_t n = srv->n_feeds;
	bool *busy = calloc(n + 1, sizeof *busy);
	bool *removed = calloc(n + 1, sizeof *removed);
	if (!busy || !removed) {
		free(busy);
		free(removed);
		return -ENOMEM;
	}
	tacws_plugins_decide_restarts(srv, cfg);
	for (size_t i = 0; i < n; i++) {
		tacws_feed *f = srv->feeds[i];
		tacws_plugin_ctx *plugin = tacws_feed_plugin(f);
		const tacws_feed_config *fc = enabled_feed(cfg, tacws_feed_base(f));
		removed[i] = !fc || strcmp(fc->plugin, tacws_plugin_name(plugin));
		busy[i] = removed[i] || tacws_plugin_restarts(plugin);
	}
	int rc = wait_idle(srv, busy);
	for (size_t i = n; !rc && i-- > 0;)
		if (removed[i])
			tacws_feed_retire(srv, i, "feed removed");
	free(busy);
	free(removed);
	return rc;
}

int tacws_server_reload(tacws_server *srv)
{
	tacws_config *old = srv->cfg, *cfg;
	char err[1024];
	tacws_log_info("reload", "reloading %s", old->path);
	int rc = tacws_config_load(old->path, &cfg, err, sizeof err);
	if (!rc && (rc = tacws_plugins_precheck(srv, cfg, err, sizeof err)))
		tacws_config_free(cfg);
	tacws_config **grown =
	    rc ? NULL : realloc(srv->configs, (srv->n_configs + 1) * sizeof *grown);
	if (!rc && !grown) {
		tacws_config_free(cfg);
		snprintf(err, sizeof err, "out of memory");
		rc = -ENOMEM;
	}
	if (rc) {
		tacws_log_error("reload", "reload refused: %s; the running configuration stays",
		                err);
		return rc;
	}
	srv->configs = grown;
	keep_restart_keys(old, cfg);

	/* What goes, what restarts: none of their polls may run while it happens. */
	rc = retire_feeds(srv, cfg);
	if (rc) {
		tacws_config_free(cfg);
		if (rc == -EBUSY)
			tacws_log_error("reload",
			                "reload refused: a snapshot it would replace is still "
			                "running after %d ms; the running configuration stays",
			                IDLE_WAIT_MS);
		else
			tacws_log_error("reload", "reload refused: out of memory");
		return rc;
	}

	/* Plugins: gone, restarted (changed file, or a feed only init can add), new. */
	int reloaded, added_plugins;
	tacws_plugins_reload(srv, cfg, &reloaded, &added_plugins);

	for (size_t i = 0; i < srv->n_feeds; i++) {
		tacws_feed *f = srv->feeds[i];
		const tacws_feed_config *fc = enabled_feed(cfg, tacws_feed_base(f));
		long was = tacws_feed_set_interval(f, fc ? fc->interval_ms : 0);
		if (was != tacws_feed_interval(f))
			tacws_log_info("reload", "feed %s: interval %ld ms (was %ld)",
			               tacws_feed_base(f), tacws_feed_interval(f), was);
	}
	srv->configs[srv->n_configs++] = cfg;
	__atomic_store_n(&srv->cfg, cfg, __ATOMIC_RELEASE);
	tacws_log_info("reload", "reloaded %s: %zu feed%s, %d plugin%s reloaded, %d loaded",
	               cfg->path, srv->n_feeds, srv->n_feeds == 1 ? "" : "s", reloaded,
	               reloaded == 1 ? "" : "s", added_plugins);
	return 0;
}
