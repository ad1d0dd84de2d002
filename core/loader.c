#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "feed.h"
#include "log.h"
#include "server.h"

/* One loaded plugin: the host's handle, passed to the plugin as ctx. */
struct tacws_plugin_ctx {
	tacws_plugin_ctx *next;
	tacws_server *srv;
	char *name;
	char *path;
	struct stat st; /* of path when loaded: a reload reloads the plugin when it differs */
	void *handle;
	const tacws_plugin *desc;
	/* The configuration the plugin sees (host config_get); swapped by a
	 * reload, read from any thread: use __atomic loads. */
	const tacws_config *cfg;
	/* During a reload's init: the previous instance, whose feeds this one
	 * takes over when it registers the same endpoints. */
	tacws_plugin_ctx *replaces;
	/* During the plugin's config_check: the configuration it checks (may be
	 * written with host config_set) and the first problem it reported. */
	tacws_config *checking;
	char check_err[512];
	bool registering; /* feed_register is allowed (during init) */
	bool reloaded;	  /* restarted by the reload under way */
	bool restart;	  /* the reload under way restarts it: decided once, before its polls are waited for */
	int n_feeds;
};

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
	if (existing && (!ctx->replaces || tacws_feed_plugin(existing) != ctx->replaces)) {
		host_log(ctx, TACWS_LOG_ERROR, "feed '%.*s' is already registered",
			 (int)base_len, desc->endpoint);
		return -EEXIST;
	}
	/* A reloaded plugin registering an endpoint its previous instance served:
	 * the feed (topics, subscribers, seq, cache) runs the new code. */
	tacws_feed *feed;
	char err[256];
	int rc = existing ? tacws_feed_take_over(existing, ctx, desc, fc->interval_ms, err,
						 sizeof err)
			  : tacws_feed_create(srv, ctx, desc, fc->interval_ms, &feed, err,
					      sizeof err);
	if (rc) {
		host_log(ctx, TACWS_LOG_ERROR, "feed '%s' refused: %s", desc->endpoint, err);
		return rc;
	}
	if (!existing && (rc = tacws_feeds_add(srv, feed)))
		return rc;
	ctx->n_feeds++;
	return 0;
}

static int host_poll_now(tacws_plugin_ctx *ctx, const char *endpoint, const char *param)
{
	if (!ctx || !endpoint)
		return -EINVAL;
	return tacws_commands_poll(ctx->srv, endpoint, param);
}

static int host_publish(tacws_plugin_ctx *ctx, const char *endpoint, const char *param,
			const char *type, json_object *data)
{
	if (!ctx || !endpoint || !type) {
		json_object_put(data);
		return -EINVAL;
	}
	return tacws_commands_publish(ctx->srv, endpoint, param, type, data);
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

static void plugin_close(tacws_plugin_ctx *lp)
{
	if (lp->handle)
		dlclose(lp->handle);
	free(lp->name);
	free(lp->path);
	free(lp);
}

void tacws_plugin_close(tacws_plugin_ctx *lp, bool keep)
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
		      tacws_plugin_ctx **out)
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

int tacws_plugin_check_config(tacws_plugin_ctx *lp, tacws_config *cfg, char *err,
			      size_t errlen)
{
	/* A ctx of its own: the running instance's still shows the running file. */
	tacws_plugin_ctx check = {.srv = lp->srv, .name = lp->name, .desc = lp->desc, .cfg = cfg};
	return run_config_check(&check, cfg, err, errlen);
}

static void plugin_path(const tacws_config *cfg, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.so", cfg->plugin_dir, name);
}

/* Whether the plugin of a disabled feed owns section: its sections stay valid
 * while it is off (a file keeps a disabled plugin's sections as they are).
 * Its descriptor is read, none of its functions called. */
static bool disabled_plugin_owns(const tacws_config *cfg, const char *section)
{
	bool owned = false;
	for (size_t i = 0; i < cfg->n_feeds && !owned; i++) {
		if (cfg->feeds[i].enabled)
			continue;
		char path[PATH_MAX];
		plugin_path(cfg, cfg->feeds[i].plugin, path, sizeof path);
		void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		const tacws_plugin *d = handle ? dlsym(handle, TACWS_PLUGIN_SYMBOL) : NULL;
		owned = d && d->abi_version == TACWS_PLUGIN_ABI_VERSION && section_owned(d, section);
		if (handle)
			dlclose(handle);
	}
	return owned;
}

int tacws_plugins_check_sections(tacws_server *srv, const tacws_config *cfg, char *err,
				 size_t errlen)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const tacws_config_entry *e = &cfg->entries[i];
		if (i && !strcmp(e->section, cfg->entries[i - 1].section))
			continue; /* its section was checked with the key before */
		bool owned = tacws_config_section_is_core(e->section);
		for (tacws_plugin_ctx *lp = srv->plugins; lp && !owned; lp = lp->next)
			owned = section_owned(lp->desc, e->section);
		if (!owned && !disabled_plugin_owns(cfg, e->section)) {
			snprintf(err, errlen, "%s:%d: unknown section [%s]", cfg->path, e->line,
				 e->section);
			return -EINVAL;
		}
	}
	return 0;
}

int tacws_plugin_open_ex(tacws_server *srv, const char *name, const char *path,
			 tacws_config *cfg, tacws_plugin_ctx *replaces,
			 tacws_plugin_ctx **out, char *err, size_t errlen)
{
	tacws_plugin_ctx *lp = calloc(1, sizeof *lp);
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
		for (size_t i = srv->n_feeds; i-- > 0;) {
			tacws_plugin_ctx *owner = tacws_feed_plugin(srv->feeds[i]);
			if (owner == lp || (replaces && owner == replaces))
				tacws_feed_retire(srv, i, "plugin failed to load");
		}
		plugin_close(lp);
		return rc;
	}
	*out = lp;
	return 0;
}

const char *tacws_plugin_name(const tacws_plugin_ctx *lp)
{
	return lp->name;
}

static tacws_plugin_ctx *plugin_find(tacws_server *srv, const char *name)
{
	for (tacws_plugin_ctx *lp = srv->plugins; lp; lp = lp->next)
		if (!strcmp(lp->name, name))
			return lp;
	return NULL;
}

static void plugin_unlink(tacws_server *srv, tacws_plugin_ctx *lp)
{
	for (tacws_plugin_ctx **p = &srv->plugins; *p; p = &(*p)->next)
		if (*p == lp) {
			*p = lp->next;
			lp->next = NULL;
			return;
		}
}

static bool plugin_needed(const tacws_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_feeds; i++)
		if (cfg->feeds[i].enabled && !strcmp(cfg->feeds[i].plugin, name))
			return true;
	return false;
}

/* Opens <plugin_dir>/<name>.so with cfg and puts it in srv's list: start-up
 * and reload both. replaces: the instance it restarts, or NULL. */
static int plugin_load(tacws_server *srv, const char *name, tacws_config *cfg,
		       tacws_plugin_ctx *replaces, const char *component, char *err, size_t errlen)
{
	char path[PATH_MAX];
	plugin_path(cfg, name, path, sizeof path);
	tacws_plugin_ctx *lp;
	int rc = tacws_plugin_open_ex(srv, name, path, cfg, replaces, &lp, err, errlen);
	if (rc)
		return rc;
	lp->next = srv->plugins;
	srv->plugins = lp;
	tacws_log_info(component, "plugin %s %s %s: %d feed%s", lp->name,
		       lp->desc->version ? lp->desc->version : "", replaces ? "reloaded" : "loaded",
		       lp->n_feeds, lp->n_feeds == 1 ? "" : "s");
	return 0;
}

/* A replaced file (new inode), or one rewritten in place (size, mtime). */
static bool file_changed(const tacws_plugin_ctx *lp, const tacws_config *cfg)
{
	char path[PATH_MAX];
	plugin_path(cfg, lp->name, path, sizeof path);
	struct stat st;
	if (stat(path, &st))
		return false; /* gone: keep what runs */
	return strcmp(lp->path, path) || st.st_dev != lp->st.st_dev || st.st_ino != lp->st.st_ino ||
	       st.st_size != lp->st.st_size || st.st_mtim.tv_sec != lp->st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != lp->st.st_mtim.tv_nsec;
}

/* An enabled feed of cfg that this plugin does not serve yet: only its init can add it. */
static bool plugin_gains_feed(tacws_server *srv, const tacws_config *cfg,
			      const tacws_plugin_ctx *lp)
{
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		tacws_feed *f = tacws_feed_find(srv, fc->endpoint, strlen(fc->endpoint));
		if (fc->enabled && !strcmp(fc->plugin, lp->name) && (!f || tacws_feed_plugin(f) != lp))
			return true;
	}
	return false;
}

void tacws_plugins_decide_restarts(tacws_server *srv, const tacws_config *cfg)
{
	for (tacws_plugin_ctx *lp = srv->plugins; lp; lp = lp->next)
		lp->restart = file_changed(lp, cfg) || plugin_gains_feed(srv, cfg, lp);
}

bool tacws_plugin_restarts(const tacws_plugin_ctx *lp)
{
	return lp->restart;
}

/* The [feed.*] keys of cfg against the feeds' config_keys; only_kept: only
 * feeds whose plugin stays as it is (a reload's check before anything runs:
 * the others register again). */
static int check_keys(tacws_server *srv, const tacws_config *cfg, bool only_kept, char *err,
		      size_t errlen)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const tacws_config_entry *e = &cfg->entries[i];
		if (strncmp(e->section, "feed.", 5))
			continue;
		const char *name = e->section + 5;
		tacws_feed *feed = tacws_feed_find(srv, name, strlen(name));
		if (!feed || tacws_feed_accepts_key(feed, e->key))
			continue;
		const char *plugin = tacws_feed_plugin(feed)->name;
		if (only_kept) {
			bool kept = false;
			for (size_t j = 0; j < cfg->n_feeds; j++)
				kept |= cfg->feeds[j].enabled && !strcmp(cfg->feeds[j].endpoint, name) &&
					!strcmp(cfg->feeds[j].plugin, plugin);
			if (!kept)
				continue;
		}
		snprintf(err, errlen, "%s:%d: [%s]: unknown key '%s' for plugin %s", cfg->path,
			 e->line, e->section, e->key, plugin);
		return -EINVAL;
	}
	return 0;
}

/* After loading: sections nobody owns, keys no feed takes, feeds not served. */
static int check_loaded(tacws_server *srv, const tacws_config *cfg, const char *component,
			char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		if (fc->enabled && !tacws_feed_find(srv, fc->endpoint, strlen(fc->endpoint)))
			tacws_log_warn(component, "%s:%d: feed %s is not served (plugin %s did not "
				       "register it)", cfg->path, fc->line, fc->endpoint, fc->plugin);
	}
	int rc = tacws_plugins_check_sections(srv, cfg, err, errlen);
	return rc ? rc : check_keys(srv, cfg, false, err, errlen);
}

int tacws_plugins_load(tacws_server *srv, char *err, size_t errlen)
{
	tacws_config *cfg = srv->cfg;
	err[0] = '\0';
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		if (!fc->enabled || plugin_find(srv, fc->plugin))
			continue;
		int rc = plugin_load(srv, fc->plugin, cfg, NULL, "loader", err, errlen);
		if (rc == -EINVAL && err[0])
			return rc; /* the configuration is wrong, not the plugin */
	}
	return check_loaded(srv, cfg, "loader", err, errlen);
}

int tacws_plugins_precheck(tacws_server *srv, tacws_config *cfg, char *err, size_t errlen)
{
	bool adds_plugins = false;
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		char path[PATH_MAX];
		plugin_path(cfg, fc->plugin, path, sizeof path);
		struct stat st;
		if (!fc->enabled || plugin_find(srv, fc->plugin))
			continue;
		adds_plugins = true;
		if (stat(path, &st)) {
			snprintf(err, errlen, "%s:%d: [feed.%s] plugin %s: %.400s: %s", cfg->path,
				 fc->line, fc->endpoint, fc->plugin, path, strerror(errno));
			return -EINVAL;
		}
	}
	/* The plugins that stay check their sections of the new file. */
	for (tacws_plugin_ctx *lp = srv->plugins; lp; lp = lp->next) {
		int rc = plugin_needed(cfg, lp->name) ? tacws_plugin_check_config(lp, cfg, err, errlen)
						      : 0;
		if (rc)
			return rc;
	}
	/* With a plugin still to load, its sections are known only once it is. */
	if (!adds_plugins && tacws_plugins_check_sections(srv, cfg, err, errlen))
		return -EINVAL;
	return check_keys(srv, cfg, true, err, errlen);
}

void tacws_plugins_reload(tacws_server *srv, tacws_config *cfg, int *restarted, int *added)
{
	*restarted = *added = 0;
	for (tacws_plugin_ctx *lp = srv->plugins, *next; lp; lp = next) {
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
		tacws_plugin_ctx *old = NULL;
		for (tacws_plugin_ctx *lp = srv->plugins; lp && !old; lp = lp->next)
			if (!lp->reloaded && lp->restart)
				old = lp;
		if (!old)
			break;
		/* fini + unload the running instance, load the file again; its feeds stay */
		plugin_unlink(srv, old);
		tacws_plugin_close(old, true);
		if (!plugin_load(srv, old->name, cfg, old, "reload", NULL, 0)) {
			/* Feeds the new instance no longer registers. */
			for (size_t i = srv->n_feeds; i-- > 0;)
				if (tacws_feed_plugin(srv->feeds[i]) == old)
					tacws_feed_retire(srv, i, "feed removed");
			srv->plugins->reloaded = true; /* once per reload, even when it registered less */
		}
		tacws_plugin_close(old, false);
		(*restarted)++;
	}
	for (tacws_plugin_ctx *lp = srv->plugins; lp; lp = lp->next)
		lp->reloaded = lp->restart = false;
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const tacws_feed_config *fc = &cfg->feeds[i];
		if (fc->enabled && !plugin_find(srv, fc->plugin) &&
		    !plugin_load(srv, fc->plugin, cfg, NULL, "reload", NULL, 0))
			(*added)++;
	}
	char err[1024];
	if (check_loaded(srv, cfg, "reload", err, sizeof err))
		tacws_log_error("reload", "%s", err);
}

void tacws_plugins_unload(tacws_server *srv)
{
	tacws_feeds_free(srv);
	while (srv->plugins) {
		tacws_plugin_ctx *lp = srv->plugins;
		srv->plugins = lp->next;
		tacws_plugin_close(lp, false);
	}
}
