/*
 * example: the template for a tacws plugin. Copy this folder, rename the
 * plugin and the feed, and change snapshot() to read your source.
 *
 * Feed "example" serves the JSON document in the file named by the `file`
 * key of its section:
 *
 *     [feed.example]
 *     plugin = example            ; loads <plugin_dir>/example.so
 *     file = /srv/status.json     ; relative paths: against tacwsd's working folder
 *     interval_ms = 1000          ; optional; default below
 *
 * Subscribers of ws://HOST:PORT/api/v1/ws/example get the document at once,
 * then again each time it changes. Build it with the tacws tree, or alone:
 *
 *     cc -shared -fPIC -o example.so example.c $(pkg-config --cflags --libs tacws-plugin)
 */
#include <errno.h>
#include <stdio.h>
#include <tacws/plugin.h>

/* Keep the host's table and your handle: host functions need both. */
static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;

/*
 * Runs on a worker thread, never on the event loop, and never twice at once
 * for one topic. Return 0 and a new object in *data (the core owns it), or a
 * negative errno and a one-line reason in err. Return the whole state each
 * time: the core compares it with the last one and sends only changes, so
 * nothing in it may change at every poll (no "checked at" time).
 */
static int snapshot(void *arg, const char *param, json_object **data, char *err, size_t errlen)
{
	const char *path = arg;
	(void)param; /* this feed has no {parameter} */
	if (!path) {
		snprintf(err, errlen, "[feed.example] has no 'file' key");
		return -EINVAL;
	}
	*data = json_object_from_file(path);
	if (!*data) {
		snprintf(err, errlen, "cannot read %s: %s", path, json_util_get_last_err());
		return -EIO;
	}
	return 0;
}

/* Keys this feed accepts in its section, besides plugin, enabled and interval_ms;
 * any other key there stops tacwsd at start with the file and line. */
static const char *const config_keys[] = {"file", NULL};

/* Runs once on the main thread before the server serves. */
static int init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	/* The host's strings stay valid until fini: no need to copy. */
	const char *file = host->config_get(ctx, "feed.example", "file");
	tacws_feed_desc feed = {
	    .size = sizeof feed,
	    .endpoint = "example", /* or "example/{id}" for one topic per id */
	    .message_type = "example_update",
	    .snapshot = snapshot,
	    .arg = (void *)file,
	    .default_interval_ms = 2000,
	    .config_keys = config_keys,
	};
	int rc = host->feed_register(ctx, &feed);
	if (rc == -ENOENT)
		return 0; /* not enabled in the configuration: nothing to serve */
	if (!rc)
		host->log(ctx, TACWS_LOG_INFO, "serving %s", file ? file : "(no file)");
	return rc;
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER, .name = "example", .version = "1.0", .init = init,
    /* .fini: stop your threads and free what init made; not needed here */
};
