/*
 * A plugin for the reload tests, built twice: reloadfeed_v1 serves the JSON
 * in its section's `file` as is; reloadfeed_v2 (RELOAD_V2) serves
 * {"v2": <the JSON>}, so a replaced .so shows in the data. Feeds r1, r2, r3.
 *
 * With a `gate` key, a snapshot waits while that file is missing (20 s at
 * most) and shows it waits by creating <gate>.waiting: a test holds a snapshot
 * running for as long as it needs, and knows when one is (reload_race_test).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <tacws/plugin.h>
#include <time.h>
#include <unistd.h>

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;

static void wait_for_gate(const char *gate)
{
	if (!access(gate, F_OK))
		return;
	char waiting[1100];
	snprintf(waiting, sizeof waiting, "%s.waiting", gate);
	int fd = open(waiting, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 2000 && access(gate, F_OK); i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static int snapshot(void *arg, const char *param, json_object **data, char *err, size_t errlen)
{
	(void)param;
	const char *gate = host->config_get(ctx, arg, "gate");
	if (gate)
		wait_for_gate(gate);
	const char *file = host->config_get(ctx, arg, "file");
	json_object *content = file ? json_object_from_file(file) : NULL;
	if (!content) {
		snprintf(err, errlen, "cannot read %s", file ? file : "(no file key)");
		return -ENOENT;
	}
#ifdef RELOAD_V2
	*data = json_object_new_object();
	json_object_object_add(*data, "v2", content);
#else
	*data = content;
#endif
	return 0;
}

static const char *const keys[] = {"file", "gate", NULL};

static int init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	static const char *const endpoints[] = {"r1", "r2", "r3"};
	static const char *const sections[] = {"feed.r1", "feed.r2", "feed.r3"};
	for (int i = 0; i < 3; i++) {
		tacws_feed_desc d = {
		    .size = sizeof d,
		    .endpoint = endpoints[i],
		    .message_type = "reload_update",
		    .snapshot = snapshot,
		    .arg = (void *)sections[i],
		    .default_interval_ms = 100,
		    .config_keys = keys,
		};
		int rc = host->feed_register(ctx, &d);
		if (rc && rc != -ENOENT)
			return rc;
	}
	return 0;
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER,
    .name = "reloadfeed",
#ifdef RELOAD_V2
    .version = "2",
#else
    .version = "1",
#endif
    .init = init,
};
