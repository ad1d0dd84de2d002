/*
 * The plugin loader and each plugin's life: open (dlopen, descriptor checks
 * before any of its code runs), config_check, init, reload (restart when its
 * file changed), fini, close; and the host API plugins call. A bad plugin is
 * refused with one log line; the rest of the server starts. Main/loop thread,
 * except the host API (any thread).
 */
#ifndef TACWS_LOADER_H
#define TACWS_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <tacws/plugin.h>

#include "config.h"

typedef struct tacws_server tacws_server;

/* The host table every plugin's init gets. */
extern const tacws_host_api tacws_host;

/* The plugin's name ("queue"). */
const char *tacws_plugin_name(const tacws_plugin_ctx *lp);

/* Start-up: loads every plugin the configuration enables. Returns 0, or
 * -EINVAL for a configuration error (a plugin's config_check refused it, a
 * section nobody owns, a key no feed takes: err says where). Plugins that
 * fail to load are logged and skipped. */
int tacws_plugins_load(tacws_server *srv, char *err, size_t errlen);

/* Shutdown: frees the feeds, runs every plugin's fini and unloads it. */
void tacws_plugins_unload(tacws_server *srv);

/* Reload, before anything changes: what may refuse cfg (a plugin file
 * missing, a kept plugin's config_check, sections, keys of kept feeds).
 * Returns 0 or -EINVAL with "FILE:LINE: reason". */
int tacws_plugins_precheck(tacws_server *srv, tacws_config *cfg, char *err, size_t errlen);

/* Decides, once per reload, which plugins a reload to cfg restarts (its file
 * changed, or it gains a feed only its init can register): their feeds'
 * polls must be over first, and a file replaced after this decision waits
 * for the next reload (issue 13, F9). */
void tacws_plugins_decide_restarts(tacws_server *srv, const tacws_config *cfg);
/* What tacws_plugins_decide_restarts decided for lp. */
bool tacws_plugin_restarts(const tacws_plugin_ctx *lp);

/* Reload: unloads the plugins cfg no longer names, points the others at cfg,
 * restarts those tacws_plugins_decide_restarts chose, loads the new ones. */
void tacws_plugins_reload(tacws_server *srv, tacws_config *cfg, int *restarted, int *added);

/* Loads one plugin file (tests). */
int tacws_plugin_open(tacws_server *srv, const char *name, const char *path,
		      tacws_plugin_ctx **out);

/* The same, with the configuration its config_check and init see and, on a
 * reload, the instance it replaces (already finished and closed; may be
 * NULL). When the plugin's config_check refuses cfg, returns -EINVAL with
 * "FILE:LINE: reason" in err (NULL: logged); other failures are logged. */
int tacws_plugin_open_ex(tacws_server *srv, const char *name, const char *path,
			 tacws_config *cfg, tacws_plugin_ctx *replaces, tacws_plugin_ctx **out,
			 char *err, size_t errlen);

/* Runs the plugin's fini and closes it; its feeds must be gone or
 * re-pointed, and none of its snapshots running. Frees lp unless keep. */
void tacws_plugin_close(tacws_plugin_ctx *lp, bool keep);

/* Runs lp's config_check on cfg (not yet in use) through a ctx valid for the
 * call; lp keeps serving. Returns 0, or -EINVAL with "FILE:LINE: reason". */
int tacws_plugin_check_config(tacws_plugin_ctx *lp, tacws_config *cfg, char *err,
			      size_t errlen);

/* Refuses a section of cfg that neither the server nor a loaded plugin owns.
 * Returns 0 or -EINVAL with "FILE:LINE: unknown section [x]" in err. */
int tacws_plugins_check_sections(tacws_server *srv, const tacws_config *cfg, char *err,
				 size_t errlen);

#endif
