/*
 * The plugin loader: opens <plugin_dir>/<name>.so for each plugin named by
 * an enabled [feed.*] section, checks its descriptor before running any of
 * its code, and gives it the host API. A bad plugin is refused with one log
 * line; the rest of the server starts.
 */
#ifndef TACWS_LOADER_H
#define TACWS_LOADER_H

#include <sys/stat.h>

#include "server.h"

struct tacws_plugin_ctx {
	tacws_loaded_plugin *next;
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
	tacws_loaded_plugin *replaces;
	/* During the plugin's config_check: the configuration it checks (may be
	 * written with host config_set) and the first problem it reported. */
	tacws_config *checking;
	char check_err[512];
	bool registering; /* feed_register is allowed (during init) */
	bool reloaded;	  /* restarted by the reload under way */
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

/* The same, with the configuration its config_check and init see and, on a
 * reload, the instance it replaces (already finished and closed; may be
 * NULL). When the plugin's config_check refuses cfg, returns -EINVAL with
 * "FILE:LINE: reason" in err (NULL: logged); other failures are logged. */
int tacws_plugin_open_ex(tacws_server *srv, const char *name, const char *path,
			 tacws_config *cfg, tacws_loaded_plugin *replaces,
			 tacws_loaded_plugin **out, char *err, size_t errlen);

/* Runs lp's config_check on cfg (not yet in use) through a ctx valid for the
 * call; lp keeps serving. Returns 0, or -EINVAL with "FILE:LINE: reason". */
int tacws_plugin_check_config(tacws_loaded_plugin *lp, tacws_config *cfg, char *err,
			      size_t errlen);

/* Refuses a section of cfg that neither the server nor a loaded plugin owns.
 * Returns 0 or -EINVAL with "FILE:LINE: unknown section [x]" in err. */
int tacws_plugins_check_sections(tacws_server *srv, const tacws_config *cfg, char *err,
				 size_t errlen);

/* Runs the plugin's fini and closes it; its feeds must be gone or
 * re-pointed, and none of its snapshots running. Frees lp unless keep. */
void tacws_plugin_close(tacws_loaded_plugin *lp, bool keep);

/* Checks every [feed.*] key of cfg against the feeds' config_keys. Returns 0
 * or -EINVAL with "FILE:LINE: reason" in err. */
int tacws_plugins_check_keys(tacws_server *srv, const tacws_config *cfg, char *err,
			     size_t errlen);

extern const tacws_host_api tacws_host;

#endif
