#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void host_log(tacws_plugin_ctx *ctx, tacws_log_level level, const char *fmt, ...)
{
	char component[80];
	snprintf(component, sizeof component, "plugin:%s", ctx ? ctx->name : "?");
	va_list ap;
	va_start(ap, fmt);
	tacws_vlog(level, component, fmt, ap);
	va_end(ap);
}

static const char *host_config_get(tacws_plugin_ctx *ctx, const char *section, const char *key)
{
	if (!ctx || !section || !key)
		return NULL;
	return tacws_config_get(__atomic_load_n(&ctx->cfg, __ATOMIC_ACQUIRE), section, key);
}

static int host_config_foreach(tacws_plugin_ctx *ctx, const char *prefix, tacws_config_cb cb,
			       void *arg)
{
	if (!ctx || !prefix || !cb)
		return -EINVAL;
	const tacws_config *cfg = __atomic_load_n(&ctx->cfg, __ATOMIC_ACQUIRE);
	size_t n = strlen(prefix);
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const tacws_config_entry *e = &cfg->entries[i];
		if (strncmp(e->section, prefix, n))
			continue;
		int rc = cb(arg, e->section, e->key, e->value);
		if (rc)
			return rc;
	}
	return 0;
}

#define SWAP(a, b)                        \
	do {                              \
		__typeof__(a) swap_tmp_ = (a); \
		(a) = (b);                \
		(b) = swap_tmp_;          \
	} while (0)

/*
 * A reloaded plugin registers an endpoint its previous instance served: the
 * existing feed (topics, subscribers, seq, cache) now runs the new code.
 * Nothing of the feed is polling (the reload waited).
 */
static int feed_take_over(tacws_plugin_ctx *ctx, tacws_feed *feed, const tacws_feed_desc *desc,
			  const tacws_feed_config *fc)
{
	if (strcmp(feed->endpoint, desc->endpoint)) {
		host_log(ctx, TACWS_LOG_ERROR, "feed '%s' was '%s': a reload cannot change its "
			 "parameter; restart tacwsd", desc->endpoint, feed->endpoint);
		return -EINVAL;
	}
	tacws_feed *fresh;
	char err[256];
	int rc = tacws_feed_create(ctx->srv, ctx, desc, feed->interval_ms, &fresh, err, sizeof err);
	if (rc) {
		host_log(ctx, TACWS_LOG_ERROR, "feed '%s' refused: %s", desc->endpoint, err);
		return rc;
	}
	/* Swap what the descriptor defines; the old values go with fresh. */
	SWAP(feed->type, fresh->type);
	SWAP(feed->type_json, fresh->type_json);
	SWAP(feed->config_keys, fresh->config_keys);
	SWAP(feed->param_re, fresh->param_re);
	feed->snapshot = desc->snapshot;
	feed->arg = desc->arg;
	feed->plugin = ctx;
	feed->default_interval_ms = desc->default_interval_ms;
	long interval = fc->interval_ms ? fc->interval_ms : (long)desc->default_interval_ms;
	feed->interval_ms = interval > 0 ? interval : 2000;
	tacws_feed_destroy(fresh);
	ctx->n_feeds++;
	return 0;
}

/* The size of the first ABI version's feed descriptor. */
#define TACWS_FEED_DESC_MIN_SIZE (offsetof(tacws_feed_desc, config_keys) + sizeof(void *))

static int host_feed_register(tacws_plugin_ctx *ctx, const tacws_feed_desc *desc)
{
	if (!ctx || !desc)
		return -EINVAL;
	if (!ctx->registering) {
		host_log(ctx, TACWS_LOG_ERROR, "feed_register called outside init");
		return -EINVAL;
	}
	if (desc->size < TACWS_FEED_DESC_MIN_SIZE) {
		host_log(ctx, TACWS_LOG_ERROR, "feed_register: descriptor size %u is below %zu",
			 desc->size, (size_t)TACWS_FEED_DESC_MIN_SIZE);
		return -EINVAL;
	}
	/* A plugin built against an older header passes a shorter struct, a newer
	 * one a longer: read what both know, the rest stays zero. */
	tacws_feed_desc d;
	memset(&d, 0, sizeof d);
	memcpy(&d, desc, desc->size < sizeof d ? desc->size : sizeof d);
	desc = &d;
	if (!desc->endpoint || !desc->message_type || !desc->snapshot) {
		host_log(ctx, TACWS_LOG_ERROR,
			 "feed_register: descriptor needs size, endpoint, message_type, snapshot");
		return -EINVAL;
	}
	tacws_server *srv = ctx->srv;
	size_t base_len = strcspn(desc->endpoint, "/");
	const tacws_feed_config *fc = NULL;
	for (size_t i = 0; i < ctx->cfg->n_feeds; i++) {
		const tacws_feed_config *f = &ctx->cfg->feeds[i];
		if (strlen(f->endpoint) == base_len && !strncmp(f->endpoint, desc->endpoint, base_len))
			fc = f;
	}
	if (!fc || !fc->enabled || strcmp(fc->plugin, ctx->name))
		return -ENOENT;
	tacws_feed *existing = tacws_feed_find(srv, desc->endpoint, base_len);
	if (existing && ctx->replaces && existing->plugin == ctx->replaces)
		return feed_take_over(ctx, existing, desc, fc);
	if (existing) {
		host_log(ctx, TACWS_LOG_ERROR, "feed '%.*s' is already registered",
			 (int)base_len, desc->endpoint);
		return -EEXIST;
	}
	tacws_feed *feed;
	char err[256];
	long interval = fc->interval_ms ? fc->interval_ms : (long)desc->default_interval_ms;
	int rc = tacws_feed_create(srv, ctx, desc, interval > 0 ? interval : 2000, &feed, err,
				   sizeof err);
	if (rc) {
		host_log(ctx, TACWS_LOG_ERROR, "feed '%s' refused: %s", desc->endpoint, err);
		return rc;
	}
	feed->default_interval_ms = desc->default_interval_ms;
	tacws_feed **grown = realloc(srv->feeds, (srv->n_feeds + 1) * sizeof *srv->feeds);
	if (!grown) {
		tacws_feed_destroy(feed);
		return -ENOMEM;
	}
	srv->feeds = grown;
	srv->feeds[srv->n_feeds++] = feed;
	ctx->n_feeds++;
	return 0;
}

static int host_poll_now(tacws_plugin_ctx *ctx, const char *endpoint, const char *param)
{
	if (!ctx || !endpoint)
		return -EINVAL;
	return tacws_server_request_poll(ctx->srv, endpoint, param);
}

static int host_publish(tacws_plugin_ctx *ctx, const char *endpoint, const char *param,
			const char *type, json_object *data)
{
	if (!ctx || !endpoint || !type) {
		json_object_put(data);
		return -EINVAL;
	}
	return tacws_server_request_publish(ctx->srv, endpoint, param, type, data);
}

const tacws_host_api tacws_host = {
	.size = sizeof(tacws_host_api),
	.abi_version = TACWS_PLUGIN_ABI_VERSION,
	.log = host_log,
	.config_get = host_config_get,
	.config_foreach = host_config_foreach,
	.feed_register = host_feed_register,
	.poll_now = host_poll_now,
	.publish = host_publish,
};

static void plugin_close(tacws_loaded_plugin *lp)
{
	if (lp->handle)
		dlclose(lp->handle);
	free(lp->name);
	free(lp->path);
	free(lp);
}

void tacws_plugin_close(tacws_loaded_plugin *lp, bool keep)
{
	if (lp->desc && lp->desc->fini)
		lp->desc->fini();
	if (lp->handle)
		dlclose(lp->handle);
	lp->handle = NULL;
	lp->desc = NULL;
	if (!keep)
		plugin_close(lp);
}

/* The size of the first ABI version's descriptor: anything smaller is not ours. */
#define TACWS_PLUGIN_MIN_SIZE (offsetof(tacws_plugin, fini) + sizeof(void (*)(void)))

int tacws_plugin_open(tacws_server *srv, const char *name, const char *path,
		      tacws_loaded_plugin **out)
{
	return tacws_plugin_open_ex(srv, name, path, srv->cfg, NULL, out);
}

int tacws_plugin_open_ex(tacws_server *srv, const char *name, const char *path,
			 const tacws_config *cfg, tacws_loaded_plugin *replaces,
			 tacws_loaded_plugin **out)
{
	tacws_loaded_plugin *lp = calloc(1, sizeof *lp);
	if (!lp || !(lp->name = strdup(name)) || !(lp->path = strdup(path))) {
		if (lp)
			free(lp->name);
		free(lp);
		return -ENOMEM;
	}
	lp->srv = srv;
	lp->cfg = cfg;
	lp->replaces = replaces;
	/* Identify the file before opening it: a reload compares with this. */
	if (stat(path, &lp->st))
		memset(&lp->st, 0, sizeof lp->st);
	lp->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lp->handle) {
		tacws_log_error("loader", "plugin %s refused: cannot open %s: %s", name, path,
				dlerror());
		plugin_close(lp);
		return -ENOENT;
	}
	lp->desc = dlsym(lp->handle, TACWS_PLUGIN_SYMBOL);
	const tacws_plugin *d = lp->desc;
	int rc = 0;
	if (!d) {
		tacws_log_error("loader", "plugin %s refused: %s exports no %s", name, path,
				TACWS_PLUGIN_SYMBOL);
		rc = -ENOENT;
	} else if (d->abi_version != TACWS_PLUGIN_ABI_VERSION) {
		tacws_log_error("loader",
				"plugin %s refused: built for plugin ABI %u, this tacwsd speaks ABI %u",
				name, d->abi_version, TACWS_PLUGIN_ABI_VERSION);
		rc = -EPROTO;
	} else if (d->size < TACWS_PLUGIN_MIN_SIZE) {
		tacws_log_error("loader", "plugin %s refused: descriptor size %u is below %zu", name,
				d->size, (size_t)TACWS_PLUGIN_MIN_SIZE);
		rc = -EPROTO;
	} else if (!d->init || !d->name) {
		tacws_log_error("loader", "plugin %s refused: descriptor has no %s", name,
				d->init ? "name" : "init");
		rc = -EINVAL;
	}
	if (!rc) {
		lp->registering = true;
		rc = d->init(&tacws_host, lp);
		lp->registering = false;
		lp->replaces = NULL;
		if (rc) {
			tacws_log_error("loader", "plugin %s refused: init failed: %s", name,
					strerror(rc < 0 ? -rc : rc));
			rc = rc < 0 ? rc : -rc;
		}
	}
	if (rc) {
		/* Feeds it registered (or took over) before failing go with it. */
		for (size_t i = srv->n_feeds; i-- > 0;)
			if (srv->feeds[i]->plugin == lp || (replaces && srv->feeds[i]->plugin == replaces))
				tacws_feed_retire(srv, i, "plugin failed to load");
		plugin_close(lp);
		return rc;
	}
	*out = lp;
	return 0;
}

static bool key_accepted(const tacws_feed *feed, const char *key)
{
	if (!strcmp(key, "plugin") || !strcmp(key, "enabled") || !strcmp(key, "interval_ms"))
		return true;
	for (char **k = feed->config_keys; k && *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

int tacws_plugins_check_keys(tacws_server *srv, const tacws_config *cfg, char *err,
			     size_t errlen)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const tacws_config_entry *e = &cfg->entries[i];
		if (strncmp(e->section, "feed.", 5))
			continue;
		const char *name = e->section + 5;
		tacws_feed *feed = tacws_feed_find(srv, name, strlen(name));
		if (feed && !key_accepted(feed, e->key)) {
			snprintf(err, errlen, "%s:%d: [%s]: unknown key '%s' for plugin %s",
				 cfg->path, e->line, e->section, e->key, feed->plugin->name);
			return -EINVAL;
		}
	}
	return 0;
}

int tacws_plugins_load(tacws_server *srv, char *err, size_t errlen)
{
	const tacws_config *cfg = srv->cfg;
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		if (!fc->enabled)
			continue;
		bool loaded = false;
		for (tacws_loaded_plugin *lp = srv->plugins; lp; lp = lp->next)
			loaded |= !strcmp(lp->name, fc->plugin);
		for (size_t j = 0; j < i; j++)
			loaded |= cfg->feeds[j].enabled && !strcmp(cfg->feeds[j].plugin, fc->plugin);
		if (loaded)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s.so", cfg->plugin_dir, fc->plugin);
		tacws_loaded_plugin *lp;
		if (tacws_plugin_open(srv, fc->plugin, path, &lp))
			continue;
		lp->next = srv->plugins;
		srv->plugins = lp;
		tacws_log_info("loader", "plugin %s %s loaded: %d feed%s", lp->name,
			       lp->desc->version ? lp->desc->version : "", lp->n_feeds,
			       lp->n_feeds == 1 ? "" : "s");
	}
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		if (fc->enabled && !tacws_feed_find(srv, fc->endpoint, strlen(fc->endpoint)))
			tacws_log_warn("loader", "%s:%d: feed %s is not served (plugin %s did not "
				       "register it)", cfg->path, fc->line, fc->endpoint, fc->plugin);
	}
	return tacws_plugins_check_keys(srv, cfg, err, errlen);
}

void tacws_plugins_unload(tacws_server *srv)
{
	for (size_t i = 0; i < srv->n_feeds; i++)
		tacws_feed_destroy(srv->feeds[i]);
	free(srv->feeds);
	srv->feeds = NULL;
	srv->n_feeds = 0;
	while (srv->plugins) {
		tacws_loaded_plugin *lp = srv->plugins;
		srv->plugins = lp->next;
		if (lp->desc->fini)
			lp->desc->fini();
		plugin_close(lp);
	}
	tacws_reload_cleanup(srv);
}
