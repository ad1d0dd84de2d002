/*
 * A plugin for the core's tests. Feeds "alpha", "beta", "slow" and "lagging"
 * serve the JSON in the file named by their section's `file` key; "item/{id}"
 * serves {"id": id, "content": <file>}. `delay_ms` makes a snapshot slow. A
 * missing file is a failing snapshot. Two polls of one topic at once fail loudly
 * (-EDEADLK), so the scheduler's no-overlap rule is visible from outside.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tacws/plugin.h>
#include <time.h>

static const tacws_host_api *host;
static tacws_plugin_ctx *ctx;

struct feed {
	const char *section;
	pthread_mutex_t lock;
	int running;
};

static struct feed feeds[] = {
	{"feed.alpha", PTHREAD_MUTEX_INITIALIZER, 0},
	{"feed.beta", PTHREAD_MUTEX_INITIALIZER, 0},
	{"feed.item", PTHREAD_MUTEX_INITIALIZER, 0},
	{"feed.slow", PTHREAD_MUTEX_INITIALIZER, 0},
	{"feed.lagging", PTHREAD_MUTEX_INITIALIZER, 0},
};

static int snapshot(void *arg, const char *param, json_object **data, char *err, size_t errlen)
{
	struct feed *f = arg;
	pthread_mutex_lock(&f->lock);
	/* item topics may poll at once; alpha and beta have one topic each */
	int overlap = !param && f->running++ > 0;
	pthread_mutex_unlock(&f->lock);
	int rc = 0;
	const char *delay = host->config_get(ctx, f->section, "delay_ms");
	if (delay) {
		long ms = atol(delay);
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	const char *file = host->config_get(ctx, f->section, "file");
	json_object *content = file ? json_object_from_file(file) : NULL;
	if (overlap) {
		snprintf(err, errlen, "two polls of one topic at once");
		rc = -EDEADLK;
	} else if (!content) {
		snprintf(err, errlen, "cannot read %s", file ? file : "(no file key)");
		rc = -ENOENT;
	} else if (param) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(param));
		json_object_object_add(o, "content", content);
		content = NULL;
		*data = o;
	} else {
		*data = content;
		content = NULL;
	}
	json_object_put(content);
	pthread_mutex_lock(&f->lock);
	if (!param)
		f->running--;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static const char *const keys[] = {"file", "delay_ms", NULL};

static int init(const tacws_host_api *h, tacws_plugin_ctx *c)
{
	host = h;
	ctx = c;
	static const char *const endpoints[] = {"alpha", "beta", "item/{id}", "slow", "lagging"};
	for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
		tacws_feed_desc d = {
			.size = sizeof d,
			.endpoint = endpoints[i],
			.message_type = i == 2 ? "item_update" : "test_update",
			.snapshot = snapshot,
			.arg = &feeds[i],
			.default_interval_ms = 200,
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
	.name = "testfeed",
	.version = "1",
	.init = init,
};
