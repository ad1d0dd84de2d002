/*
 * SIGHUP: re-read the configuration and apply it without touching the
 * connections it does not concern. Runs on the loop thread between two
 * lws_service calls, so nothing else changes feeds meanwhile; workers only
 * run polls, and the reload waits for the polls of what it replaces.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static bool plugin_needed(const tacws_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_feeds; i++)
		if (cfg->feeds[i].enabled && !strcmp(cfg->feeds[i].plugin, name))
			return true;
	return false;
}

static tacws_loaded_plugin *plugin_find(tacws_server *srv, const char *name)
{
	for (tacws_loaded_plugin *lp = srv->plugins; lp; lp = lp->next)
		if (!strcmp(lp->name, name))
			return lp;
	return NULL;
}

static void plugin_unlink(tacws_server *srv, tacws_loaded_plugin *lp)
{
	for (tacws_loaded_plugin **p = &srv->plugins; *p; p = &(*p)->next)
		if (*p == lp) {
			*p = lp->next;
			lp->next = NULL;
			return;
		}
}

static void plugin_path(const tacws_config *cfg, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.so", cfg->plugin_dir, name);
}

/* A replaced file (new inode), or one rewritten in place (size, mtime). */
static bool file_changed(const tacws_loaded_plugin *lp, const char *path)
{
	struct stat st;
	if (stat(path, &st))
		return false; /* gone: keep what runs */
	return strcmp(lp->path, path) || st.st_dev != lp->st.st_dev || st.st_ino != lp->st.st_ino ||
	       st.st_size != lp->st.st_size || st.st_mtim.tv_sec != lp->st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != lp->st.st_mtim.tv_nsec;
}

/* An enabled feed of cfg that this plugin does not serve yet: only its init can add it. */
static bool plugin_gains_feed(tacws_server *srv, const tacws_config *cfg,
                              const tacws_loaded_plugin *lp)
{
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		tacws_feed *f = tacws_feed_find(srv, fc->endpoint, strlen(fc->endpoint));
		if (fc->enabled && !strcmp(fc->plugin, lp->name) && (!f || f->plugin != lp))
			return true;
	}
	return false;
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
	char *listen = strdup(old->listen), *level = strdup(old->log_level);
	if (listen && level) {
		free(cfg->listen);
		free(cfg->log_level);
		cfg->listen = listen;
		cfg->log_level = level;
	} else {
		free(listen);
		free(level);
	}
	cfg->port = old->port;
	cfg->workers = old->workers;
	cfg->ping_interval_s = old->ping_interval_s;
	cfg->handshake_timeout_s = old->handshake_timeout_s;
}

static bool feed_polling(tacws_feed *feed)
{
	bool busy = false;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&feed->topics))
	{
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		t->poll_again = false; /* a poll that ends now does not start another */
		busy |= t->in_flight;
	}
	lws_end_foreach_dll(d);
	return busy;
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
			any |= busy[i] && feed_polling(srv->feeds[i]);
		if (!any)
			return 0;
		if (waited >= IDLE_WAIT_MS || !srv->workers)
			return -EBUSY;
		sleep_ms(2);
		tacws_feed_collect(srv);
	}
}

/* One socket, many feeds: only this one goes. */
static void tell_mux(tacws_conn *conn, const tacws_feed *feed, const char *reason)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("error"));
	json_object_object_add(o, "message", json_object_new_string(reason));
	json_object_object_add(o, "feed", json_object_new_string(feed->base));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	tacws_msg *m = tacws_msg_from(text, strlen(text));
	if (m) {
		tacws_conn_enqueue(conn, NULL, NULL, m);
		tacws_msg_unref(m);
	}
	json_object_put(o);
}

void tacws_feed_retire(tacws_server *srv, size_t i, const char *reason)
{
	tacws_feed *feed = srv->feeds[i];
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&feed->topics))
	{
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		lws_start_foreach_dll(struct lws_dll2 *, s, lws_dll2_get_head(&t->subs))
		{
			tacws_conn *conn = lws_container_of(s, tacws_sub, topic_link)->conn;
			if (conn->mux)
				tell_mux(conn, feed, reason);
			else
				tacws_conn_close(conn, LWS_CLOSE_STATUS_GOINGAWAY, reason);
		}
		lws_end_foreach_dll(s);
	}
	lws_end_foreach_dll(d);
	tacws_feed_drop_topics(feed);
	memmove(&srv->feeds[i], &srv->feeds[i + 1], (srv->n_feeds - i - 1) * sizeof *srv->feeds);
	srv->n_feeds--;
	tacws_feed **grown = realloc(srv->retired, (srv->n_retired + 1) * sizeof *grown);
	if (grown) {
		srv->retired = grown;
		srv->retired[srv->n_retired++] = feed;
	} /* else it leaks: freeing it would leave queued messages pointing at it */
}

void tacws_reload_cleanup(tacws_server *srv)
{
	for (size_t i = 0; i < srv->n_retired; i++)
		tacws_feed_destroy(srv->retired[i]);
	free(srv->retired);
	srv->retired = NULL;
	srv->n_retired = 0;
	for (size_t i = 0; i < srv->n_configs; i++)
		tacws_config_free(srv->configs[i]);
	free(srv->configs);
	srv->configs = NULL;
	srv->n_configs = 0;
}

/* Refusable checks: nothing runs yet. Returns 0 or -EINVAL with err. */
static int precheck(tacws_server *srv, tacws_config *cfg, char *err, size_t errlen)
{
	/* The plugins that stay check their sections of the new file. */
	bool adds_plugins = false;
	for (size_t i = 0; i < cfg->n_feeds; i++)
		adds_plugins |= cfg->feeds[i].enabled && !plugin_find(srv, cfg->feeds[i].plugin);
	for (tacws_loaded_plugin *lp = srv->plugins; lp; lp = lp->next) {
		int rc = plugin_needed(cfg, lp->name) ? tacws_plugin_check_config(lp, cfg, err, errlen) : 0;
		if (rc)
			return rc;
	}
	/* With a plugin still to load, its sections are known only once it is. */
	if (!adds_plugins && tacws_plugins_check_sections(srv, cfg, err, errlen))
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		char path[PATH_MAX];
		plugin_path(cfg, fc->plugin, path, sizeof path);
		struct stat st;
		if (fc->enabled && !plugin_find(srv, fc->plugin) && stat(path, &st)) {
			snprintf(err, errlen, "%s:%d: [feed.%s] plugin %s: %.400s: %s", cfg->path,
			         fc->line, fc->endpoint, fc->plugin, path, strerror(errno));
			return -EINVAL;
		}
	}
	/* Keys of feeds whose plugin stays as it is: it will not register again. */
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const tacws_config_entry *e = &cfg->entries[i];
		if (strncmp(e->section, "feed.", 5))
			continue;
		tacws_feed *f = tacws_feed_find(srv, e->section + 5, strlen(e->section + 5));
		const tacws_feed_config *fc = enabled_feed(cfg, e->section + 5);
		if (!f || !fc || strcmp(fc->plugin, f->plugin->name) || !strcmp(e->key, "plugin") ||
		    !strcmp(e->key, "enabled") || !strcmp(e->key, "interval_ms"))
			continue;
		bool ok = false;
		for (char **k = f->config_keys; k && *k && !ok; k++)
			ok = !strcmp(*k, e->key);
		if (!ok) {
			snprintf(err, errlen, "%s:%d: [%s]: unknown key '%s' for plugin %s",
			         cfg->path, e->line, e->section, e->key, f->plugin->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* fini + unload the running instance, load the file again; its feeds stay. */
static void restart_plugin(tacws_server *srv, tacws_loaded_plugin *old, tacws_config *cfg)
{
	char path[PATH_MAX];
	plugin_path(cfg, old->name, path, sizeof path);
	plugin_unlink(srv, old);
	tacws_plugin_close(old, true);
	tacws_loaded_plugin *lp;
	int rc = tacws_plugin_open_ex(srv, old->name, path, cfg, old, &lp, NULL, 0);
	if (!rc) {
		/* Feeds the new instance no longer registers. */
		for (size_t i = srv->n_feeds; i-- > 0;)
			if (srv->feeds[i]->plugin == old)
				tacws_feed_retire(srv, i, "feed removed");
		lp->next = srv->plugins;
		srv->plugins = lp;
		lp->reloaded = true; /* once per reload, even when it registered less */
		tacws_log_info("reload", "plugin %s %s reloaded: %d feed%s", lp->name,
		               lp->desc->version ? lp->desc->version : "", lp->n_feeds,
		               lp->n_feeds == 1 ? "" : "s");
	}
	tacws_plugin_close(old, false);
}

int tacws_server_reload(tacws_server *srv)
{
	tacws_config *old = srv->cfg, *cfg;
	char err[1024];
	tacws_log_info("reload", "reloading %s", old->path);
	int rc = tacws_config_load(old->path, &cfg, err, sizeof err);
	if (!rc && (rc = precheck(srv, cfg, err, sizeof err)))
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
	size_t n = srv->n_feeds;
	bool *busy = calloc(n + 1, sizeof *busy);
	bool *removed = calloc(n + 1, sizeof *removed);
	if (!busy || !removed) {
		free(busy);
		free(removed);
		tacws_config_free(cfg);
		tacws_log_error("reload", "reload refused: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		tacws_feed *f = srv->feeds[i];
		const tacws_feed_config *fc = enabled_feed(cfg, f->base);
		char path[PATH_MAX];
		plugin_path(cfg, f->plugin->name, path, sizeof path);
		removed[i] = !fc || strcmp(fc->plugin, f->plugin->name);
		busy[i] = removed[i] || file_changed(f->plugin, path) ||
		          plugin_gains_feed(srv, cfg, f->plugin);
	}
	if (wait_idle(srv, busy)) {
		free(busy);
		free(removed);
		tacws_config_free(cfg);
		tacws_log_error("reload",
		                "reload refused: a snapshot it would replace is still "
		                "running after %d ms; the running configuration stays",
		                IDLE_WAIT_MS);
		return -EBUSY;
	}
	for (size_t i = n; i-- > 0;)
		if (removed[i])
			tacws_feed_retire(srv, i, "feed removed");
	free(busy);
	free(removed);

	/* Plugins: gone, restarted (changed file, or a feed only init can add), new. */
	int reloaded = 0, added_plugins = 0;
	for (tacws_loaded_plugin *lp = srv->plugins, *next; lp; lp = next) {
		next = lp->next;
		if (!plugin_needed(cfg, lp->name)) {
			tacws_log_info("reload", "plugin %s unloaded", lp->name);
			plugin_unlink(srv, lp);
			tacws_plugin_close(lp, false);
		} else {
			__atomic_store_n(&lp->cfg, cfg, __ATOMIC_RELEASE);
		}
	}
	/* Restarting changes the list: pick first, then restart. */
	for (;;) {
		tacws_loaded_plugin *pick = NULL;
		for (tacws_loaded_plugin *lp = srv->plugins; lp && !pick; lp = lp->next) {
			char path[PATH_MAX];
			plugin_path(cfg, lp->name, path, sizeof path);
			if (!lp->reloaded &&
			    (file_changed(lp, path) || plugin_gains_feed(srv, cfg, lp)))
				pick = lp;
		}
		if (!pick)
			break;
		restart_plugin(srv, pick, cfg);
		reloaded++;
	}
	for (tacws_loaded_plugin *lp = srv->plugins; lp; lp = lp->next)
		lp->reloaded = false;
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		if (!fc->enabled || plugin_find(srv, fc->plugin))
			continue;
		char path[PATH_MAX];
		plugin_path(cfg, fc->plugin, path, sizeof path);
		tacws_loaded_plugin *lp;
		if (tacws_plugin_open_ex(srv, fc->plugin, path, cfg, NULL, &lp, NULL, 0))
			continue;
		lp->next = srv->plugins;
		srv->plugins = lp;
		added_plugins++;
		tacws_log_info("reload", "plugin %s %s loaded: %d feed%s", lp->name,
		               lp->desc->version ? lp->desc->version : "", lp->n_feeds,
		               lp->n_feeds == 1 ? "" : "s");
	}

	for (size_t i = 0; i < srv->n_feeds; i++) {
		tacws_feed *f = srv->feeds[i];
		const tacws_feed_config *fc = enabled_feed(cfg, f->base);
		long interval = fc && fc->interval_ms ? fc->interval_ms : f->default_interval_ms;
		if (interval <= 0)
			interval = 2000;
		if (interval != f->interval_ms)
			tacws_log_info("reload", "feed %s: interval %ld ms (was %ld)", f->base,
			               interval, f->interval_ms);
		f->interval_ms = interval; /* from the next schedule on */
	}
	if (tacws_plugins_check_sections(srv, cfg, err, sizeof err) ||
	    tacws_plugins_check_keys(srv, cfg, err, sizeof err))
		tacws_log_error("reload", "%s", err);
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		if (fc->enabled && !tacws_feed_find(srv, fc->endpoint, strlen(fc->endpoint)))
			tacws_log_warn("reload",
			               "%s:%d: feed %s is not served (plugin %s did not "
			               "register it)",
			               cfg->path, fc->line, fc->endpoint, fc->plugin);
	}
	srv->configs[srv->n_configs++] = cfg;
	__atomic_store_n(&srv->cfg, cfg, __ATOMIC_RELEASE);
	tacws_log_info("reload", "reloaded %s: %zu feed%s, %d plugin%s reloaded, %d loaded",
	               cfg->path, srv->n_feeds, srv->n_feeds == 1 ? "" : "s", reloaded,
	               reloaded == 1 ? "" : "s", added_plugins);
	return 0;
}
