#include "sources.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *key, *def;
} sources[] = {
    {"repo_root", "."},
    {"database", "sqlite:db/database.db"},
    {"backend_url", "http://127.0.0.1:8002"},
    {"webhook_status_url", "http://127.0.0.1:8001/webhook-status"},
};

const char *const tacws_sources_sections[] = {"sources", NULL};

static const char *source_default(const char *key)
{
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
		if (!strcmp(sources[i].key, key))
			return sources[i].def;
	return NULL;
}

const char *tacws_source_get(const tacws_host_api *host, tacws_plugin_ctx *ctx, const char *key)
{
	const char *value = host->config_get(ctx, "sources", key);
	return value && *value ? value : source_default(key);
}

struct check_arg {
	const tacws_host_api *host;
	tacws_plugin_ctx *ctx;
};

static int check_key(void *arg, const char *section, const char *key, const char *value)
{
	struct check_arg *a = arg;
	(void)value;
	if (strcmp(section, "sources") || source_default(key))
		return 0;
	return a->host->config_error(a->ctx, section, key, "unknown key '%s'", key);
}

#define HOST_HAS(host, fn) ((host)->size >= offsetof(tacws_host_api, fn) + sizeof (host)->fn)

int tacws_sources_check(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	if (!HOST_HAS(host, config_dir) || !host->config_dir)
		return 0; /* an older host checked [sources] itself */
	struct check_arg arg = {host, ctx};
	int rc = host->config_foreach(ctx, "sources", check_key, &arg);
	if (rc)
		return rc;
	/* Plugins see an absolute repo_root, whatever their working folder. */
	const char *root = tacws_source_get(host, ctx, "repo_root");
	if (root[0] == '/')
		return 0;
	char joined[PATH_MAX], real[PATH_MAX];
	if (snprintf(joined, sizeof joined, "%s/%s", host->config_dir(ctx), root) >=
	    (int)sizeof joined)
		return host->config_error(ctx, "sources", "repo_root", "path too long");
	/* Resolve what exists; keep the joined path for what does not (yet). */
	return host->config_set(ctx, "sources", "repo_root", realpath(joined, real) ? real : joined);
}
