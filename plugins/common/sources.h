/*
 * [sources]: where TAC WebBuilder keeps its state, read by most plugins.
 * The keys and their defaults live here once:
 *   repo_root = .                          the TAC checkout (agents/, trees/);
 *                                          relative to the configuration file
 *   database = sqlite:db/database.db       sqlite:<path> (relative to repo_root)
 *                                          or a postgresql:// URL
 *   backend_url = http://127.0.0.1:8002    TAC's backend (routes)
 *   webhook_status_url = http://127.0.0.1:8001/webhook-status
 *
 * A plugin that reads [sources] puts TACWS_SOURCES_CONFIG in its descriptor,
 * so the section is its own (the host refuses sections nobody owns) and the
 * file is checked before the plugin starts.
 */
#ifndef TACWS_SOURCES_H
#define TACWS_SOURCES_H

#include <tacws/plugin.h>

/* The value of [sources] key, or its default (NULL for a key not listed above).
 * The string is the host's or static. Any thread. */
const char *tacws_source_get(const tacws_host_api *host, tacws_plugin_ctx *ctx, const char *key);

/* config_check of [sources]: refuses unknown keys, makes repo_root absolute. */
int tacws_sources_check(const tacws_host_api *host, tacws_plugin_ctx *ctx);

extern const char *const tacws_sources_sections[]; /* {"sources", NULL} */

#define TACWS_SOURCES_CONFIG \
	.config_sections = tacws_sources_sections, .config_check = tacws_sources_check

#endif
