/*
 * The plugin loader: opens <plugin_dir>/<name>.so for each plugin named by
 * an enabled [feed.*] section, checks its descriptor before running any of
 * its code, and gives it the host API. A bad plugin is refused with one log
 * line; the rest of the server starts.
 */
#ifndef TACWS_LOADER_H
#define TACWS_LOADER_H

#include "server.h"

struct tacws_plugin_ctx {
	tacws_loaded_plugin *next;
	tacws_server *srv;
	char *name;
	void *handle;
	const tacws_plugin *desc;
	bool registering; /* feed_register is allowed (during init) */
	int n_feeds;
};

/* Loads every plugin the configuration enables. Returns 0, or -EINVAL when
 * a feed section has keys its plugin does not accept (a configuration
 * error: err says where). Plugins that fail to load are logged and skipped. */
int tacws_plugins_load(tacws_server *srv, char *err, size_t errlen);

/* Runs every plugin's fini and unloads it. */
void tacws_plugins_unload(tacws_server *srv);

/* Loads one plugin file (for tests and tacwsd --check-config). */
int tacws_plugin_open(tacws_server *srv, const char *name, const char *path,
		      tacws_loaded_plugin **out);

extern const tacws_host_api tacws_host;

#endif
