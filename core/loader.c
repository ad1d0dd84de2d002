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

/* The fields appended to the descriptor after ABI 1's first release, or
 * NULL when the plugin was built before them. */
#define DESC_FIELD(d, field)                                                        \
	((d)->size >= offsetof(tacws_plugin, field) + sizeof(d)->field ? (d)->field : NULL)

static bool section_owned(const tacws_plugin *d, const char *section)
{
	const char *const *owned = DESC_FIELD(d, config_sections);
	for (; owned && *owned; owned++) {
		size_t n = strlen(*owned);
		if (n && (*owned)[n - 1] == '.' ? !strncmp(section, *owned, n) && section[n]
						: !strcmp(section, *owned))
			return true;
	}
	return false;
}

static int host_config_error(tacws_plugin_ctx *ctx, const char *section, const char *key,
			     const char *fmt, ...)
{
	if (!ctx || !ctx->checking || !section || !fmt || ctx->check_err[0])
		return -EINVAL; /* outside config_check, or a problem is already reported */
	const tacws_config *cfg = ctx->checking;
	const tacws_config_entry *e = key ? tacws_config_find(cfg, section, key) : NULL;
	for (size_t i = 0; !e && i < cfg->n_entries; i++)
		if (!strcmp(cfg->entries[i].section, section))
			e = &cfg->entries[i];
	char reason[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	snprintf(ctx->check_err, sizeof ctx->check_err, "%s:%d: [%s]%s%s: %s", cfg->path,
		 e ? e->line : 0, section, key ? " " : "", key ? key : "", reason);
	return -EINVAL;
}

static int host_config_set(tacws_plugin_ctx *ctx, const char *section, const char *key,
			   const char *value)
{
	if (!ctx || !ctx->checking || !section || !key || !value ||
	    !section_owned(ctx->desc, section))
		return -EINVAL;
	return tacws_config_set(ctx->checking, section, key, value);
}

static const char *host_config_dir(tacws_plugin_ctx *ctx)
{
	if (!ctx)
		return NULL;
	return __atomic_load_n(&ctx->cfg, __ATOMIC_ACQUIRE)->dir;
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
	feed->webhook_data = desc->webhook_data;
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
	.config_error = host_config_error,
	.config_set = host_config_set,
	.config_dir = host_config_dir,
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
	return tacws_plugin_open_ex(srv, name, path, srv->cfg, NULL, out, NULL, 0);
}

/* Runs the plugin's config_check with ctx showing cfg. */
static int run_config_check(tacws_plugin_ctx *ctx, tacws_config *cfg, char *err, size_t errlen)
{
	int (*check)(const tacws_host_api *, tacws_plugin_ctx *) =
		DESC_FIELD(ctx->desc, config_check);
	if (!check)
		return 0;
	ctx->checking = cfg;
	ctx->check_err[0] = '\0';
	int rc = check(&tacws_host, ctx);
	ctx->checking = NULL;
	if (!rc)
		return 0;
	if (ctx->check_err[0])
		snprintf(err, errlen, "%s", ctx->check_err);
	else
		snprintf(err, errlen, "%s: plugin %s refused the configuration: %s", cfg->path,
			 ctx->name, strerror(rc < 0 ? -rc : rc));
	return -EINVAL;
}

int tacws_plugin_check_config(tacws_loaded_plugin *lp, tacws_config *cfg, char *err,
			      size_t errlen)
{
	/* A ctx of its own: the running instance's still shows the running file. */
	tacws_plugin_ctx check = {.srv = lp->srv, .name = lp->name, .desc = lp->desc, .cfg = cfg};
	return run_config_check(&check, cfg, err, errlen);
}

int tacws_plugins_check_sections(tacws_server *srv, const tacws_config *cfg, char *err,
				 size_t errlen)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const tacws_config_entry *e = &cfg->entries[i];
		bool owned = tacws_config_section_is_core(e->section);
		for (tacws_loaded_plugin *lp = srv->plugins; lp && !owned; lp = lp->next)
			owned = section_owned(lp->desc, e->section);
		if (!owned) {
			snprintf(err, errlen, "%s:%d: unknown section [%s]", cfg->path, e->line,
				 e->section);
			return -EINVAL;
		}
	}
	return 0;
}

int tacws_plugin_open_ex(tacws_server *srv, const char *name, const char *path,
			 tacws_config *cfg, tacws_loaded_plugin *replaces,
			 tacws_loaded_plugin **out, char *err, size_t errlen)
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
	char check_err[512];
	if (!rc && (rc = run_config_check(lp, cfg, check_err, sizeof check_err))) {
		if (err)
			snprintf(err, errlen, "%s", check_err);
		else
			tacws_log_error("config", "%s", check_err);
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
	err[0] = '\0';
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
		int rc = tacws_plugin_open_ex(srv, fc->plugin, path, srv->cfg, NULL, &lp, err, errlen);
		if (rc == -EINVAL && err[0])
			return rc; /* the configuration is wrong, not the plugin */
		if (rc)
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
	int rc = tacws_plugins_check_sections(srv, cfg, err, errlen);
	return rc ? rc : tacws_plugins_check_keys(srv, cfg, err, errlen);
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
