/*
 * tacws plugin ABI: everything a data-source plugin needs.
 *
 * A plugin is a shared object that exports one descriptor:
 *
 *     TACWS_PLUGIN_EXPORT = {
 *         TACWS_PLUGIN_HEADER,
 *         .name = "my_plugin",
 *         .init = my_init,           // registers feeds through the host table
 *         .fini = my_fini,           // optional
 *     };
 *
 * Conventions, one everywhere:
 *  - Names are prefixed tacws_. Functions return 0 on success or a negative
 *    errno value (-EINVAL, -ENOMEM, -EIO, ...) on failure.
 *  - Ownership: what a plugin hands to the core is the core's (a json_object
 *    passed to publish or returned by a snapshot is released by the core, also
 *    on error). What the core hands to a plugin stays the core's: strings
 *    returned by the host are valid until the plugin's fini returns; do not
 *    free them.
 *  - Threads: init and fini run on the main thread, before the server serves
 *    and after it stopped, or during a reload (SIGHUP), when none of the
 *    plugin's snapshots runs; init may run again after fini, so it must set
 *    every static it relies on. Snapshot functions run on worker threads, never
 *    on the event loop, and never twice at once for the same topic (they may
 *    run at once for different topics of the same feed). Every host function
 *    may be called from any thread, at any time between init and fini.
 *  - Growth: each struct begins with its size (and the descriptor with the ABI
 *    version), so fields can be appended later without breaking plugins built
 *    against an older header. The loader refuses a descriptor whose ABI version
 *    differs from the host's, or whose size is smaller than the first version.
 *    A struct the plugin passes in (tacws_plugin, tacws_feed_desc) may be
 *    shorter or longer than the host's: the host reads the fields both know
 *    and treats missing ones as zero. The host's table may be shorter than
 *    the plugin's header says: before calling a function appended after ABI 1's
 *    first release, check that host->size covers it, e.g.
 *        if (host->size >= offsetof(tacws_host_api, fn) + sizeof host->fn)
 */
#ifndef TACWS_PLUGIN_H
#define TACWS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TACWS_PLUGIN_ABI_VERSION 1

/* The exported symbol the loader looks up. */
#define TACWS_PLUGIN_SYMBOL "tacws_plugin_descriptor"

typedef enum tacws_log_level {
	TACWS_LOG_ERROR = 0,
	TACWS_LOG_WARN = 1,
	TACWS_LOG_INFO = 2,
	TACWS_LOG_DEBUG = 3,
} tacws_log_level;

/* The host's handle for one loaded plugin; opaque to the plugin. */
typedef struct tacws_plugin_ctx tacws_plugin_ctx;

/*
 * Produce the current snapshot of one topic.
 *
 * feed_arg: the feed's arg, as registered. param: the topic parameter
 * (e.g. the adw_id of "adw-state/{adw_id}"), already validated against the
 * feed's param_pattern; NULL for a feed without a parameter.
 *
 * On success store a new json_object in *data and return 0; the core owns it.
 * On failure return a negative errno and write a one-line reason into err
 * (errlen bytes, NUL-terminated); the core logs it, shows it in
 * /api/v1/feeds and backs off. A failing snapshot may still store a payload
 * in *data (for example {"status":"error","message":...}): the core then
 * publishes it like any other, and still counts the error.
 */
typedef int (*tacws_snapshot_fn)(void *feed_arg, const char *param, json_object **data,
				 char *err, size_t errlen);

/* One feed, passed to host->feed_register. All strings are copied by the core. */
typedef struct tacws_feed_desc {
	uint32_t size; /* sizeof(tacws_feed_desc) */
	/* "queue", or with one parameter segment: "adw-state/{adw_id}". The name
	 * inside the braces is added to each envelope as "adw_id": "<param>". */
	const char *endpoint;
	const char *message_type; /* "queue_update" */
	tacws_snapshot_fn snapshot;
	void *arg;		       /* passed back to snapshot */
	uint32_t default_interval_ms;  /* used when [feed.X] interval_ms is absent */
	/* POSIX extended regex the whole parameter must match; NULL means
	 * "[A-Za-z0-9_-]{1,64}". Ignored for feeds without a parameter. */
	const char *param_pattern;
	/* NULL-terminated list of extra keys this feed accepts in its [feed.X]
	 * section, besides plugin, enabled and interval_ms. May be NULL. */
	const char *const *config_keys;

	/* --- appended after ABI 1's first release --- */

	/* Builds the data of an event that a [webhook.*] section publishes to this
	 * feed, from the delivery's payload (a JSON object; event: the value of
	 * the webhook's event header, "" when it names none). Optional: without
	 * it the payload itself is the data. Runs on the event loop: keep it
	 * short, touch no file or socket. Return 0 with a new *data (the core's),
	 * or a negative errno to send nothing to this feed. payload stays the
	 * core's. */
	int (*webhook_data)(void *feed_arg, const char *event, json_object *payload,
			    json_object **data);
} tacws_feed_desc;

/* Called by config_foreach for each key of each matching section, in file
 * order. Return 0 to go on, anything else to stop (config_foreach returns it). */
typedef int (*tacws_config_cb)(void *arg, const char *section, const char *key,
			       const char *value);

/* The host's API, passed to init. Every function is safe from any thread. */
typedef struct tacws_host_api {
	uint32_t size;	      /* sizeof(tacws_host_api) as the host built it */
	uint32_t abi_version; /* TACWS_PLUGIN_ABI_VERSION of the host */

	/* printf-style log line, tagged with the plugin's name. */
	void (*log)(tacws_plugin_ctx *ctx, tacws_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Value of key in [section], or NULL when absent. The string is the host's,
	 * valid until fini returns; after a reload, calls answer from the new file. */
	const char *(*config_get)(tacws_plugin_ctx *ctx, const char *section, const char *key);

	/* Visit every key of every section whose name starts with prefix
	 * ("check." visits [check.frontend], [check.db], ...). */
	int (*config_foreach)(tacws_plugin_ctx *ctx, const char *prefix, tacws_config_cb cb,
			      void *arg);

	/* Register a feed. Only valid during init. Returns 0, -EINVAL for a bad
	 * descriptor or pattern, -EEXIST when the endpoint is taken, -ENOENT when
	 * the feed is not enabled in the configuration (not an error: skip it). */
	int (*feed_register)(tacws_plugin_ctx *ctx, const tacws_feed_desc *feed);

	/* Ask the core to poll now, ahead of the interval. endpoint is the feed's
	 * base ("adw-state"); param selects one topic, NULL means every topic of
	 * the feed. Returns 0 once queued (the event loop drops a request for a
	 * feed that does not exist, or no longer does after a reload), -EINVAL or
	 * -ENOMEM. Cheap: topics without subscribers are not polled. */
	int (*poll_now)(tacws_plugin_ctx *ctx, const char *endpoint, const char *param);

	/* Push an event to a topic's subscribers now, outside the snapshot cycle
	 * (param NULL: every topic of the feed). Events are never coalesced and
	 * carry the topic's current seq. Takes ownership of data (also on error).
	 * Returns 0 once queued (dropped later for an unknown feed, like
	 * poll_now), -EINVAL or -ENOMEM. */
	int (*publish)(tacws_plugin_ctx *ctx, const char *endpoint, const char *param,
		       const char *message_type, json_object *data);

	/* --- appended after ABI 1's first release: check host->size first --- */

	/* Reports a problem in a section the plugin owns, as "FILE:LINE: [section]
	 * key: reason" with the line of that key (key NULL: of the section's first
	 * key). Only valid inside config_check. Returns -EINVAL, for
	 * "return host->config_error(...)". */
	int (*config_error)(tacws_plugin_ctx *ctx, const char *section, const char *key,
			    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

	/* Sets [section] key in the configuration being checked (a default, a
	 * normalized value); the host copies value. Only valid inside config_check,
	 * only for sections the plugin owns. Returns 0, -EINVAL or -ENOMEM. */
	int (*config_set)(tacws_plugin_ctx *ctx, const char *section, const char *key,
			  const char *value);

	/* The absolute folder of the configuration file: relative paths in it are
	 * meant from there. Valid like config_get's strings. */
	const char *(*config_dir)(tacws_plugin_ctx *ctx);
} tacws_host_api;

/* The descriptor each plugin exports under TACWS_PLUGIN_SYMBOL. */
typedef struct tacws_plugin {
	uint32_t abi_version; /* TACWS_PLUGIN_ABI_VERSION the plugin was built with */
	uint32_t size;	      /* sizeof(tacws_plugin) the plugin was built with */
	const char *name;
	const char *version;
	/* Register feeds with host->feed_register; keep host and ctx for later
	 * calls. Return 0, or a negative errno to refuse loading (fini is then
	 * not called). */
	int (*init)(const tacws_host_api *host, tacws_plugin_ctx *ctx);
	/* Stop threads and free what init made. Optional. Called after every
	 * snapshot of this plugin has returned. */
	void (*fini)(void);

	/* --- appended after ABI 1's first release (size covers them) --- */

	/* NULL-terminated list of the configuration sections this plugin owns,
	 * besides its [feed.X] sections: a name ("sources") or a prefix ending in
	 * '.' ("check." owns [check.db], [check.web], ...). Several plugins may
	 * own one section. The host refuses a section that no loaded plugin owns
	 * (and that is not its own: [server], [auth], [feed.*], [webhook.*]).
	 * May be NULL. */
	const char *const *config_sections;
	/* Validates the sections the plugin owns in the configuration ctx shows,
	 * reporting each problem with host->config_error, and may fill in
	 * defaults with host->config_set. Optional. Main thread: before init when
	 * the plugin loads, and on a reload before the new file takes effect
	 * (then with a ctx valid only during the call, while the running instance
	 * keeps serving: touch no state of it). Returns 0 or a negative errno,
	 * which refuses the file (tacwsd --check-config exits 1, a reload keeps
	 * the running configuration). */
	int (*config_check)(const tacws_host_api *host, tacws_plugin_ctx *ctx);
} tacws_plugin;

#define TACWS_PLUGIN_HEADER .abi_version = TACWS_PLUGIN_ABI_VERSION, .size = sizeof(tacws_plugin)

/* Defines the exported descriptor: TACWS_PLUGIN_EXPORT = { TACWS_PLUGIN_HEADER, ... }; */
#define TACWS_PLUGIN_EXPORT __attribute__((visibility("default"))) const tacws_plugin tacws_plugin_descriptor

#ifdef __cplusplus
}
#endif

#endif /* TACWS_PLUGIN_H */
