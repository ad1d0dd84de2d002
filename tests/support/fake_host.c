#include "fake_host.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ENTRIES 256
#define MAX_FEEDS 16

struct entry {
	char *section, *key, *value;
};

struct feed {
	char *base;
	tacws_feed_desc desc;
};

struct poll_req {
	char *base;
	int count;
};

static struct entry entries[MAX_ENTRIES];
static int n_entries;
static struct feed feeds[MAX_FEEDS];
static int n_feeds;
static struct poll_req polls[MAX_FEEDS];
static int n_polls;
static char *last_type, *last_data;
static int n_publish;
static void *handle;
static const tacws_plugin *plugin;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t polled = PTHREAD_COND_INITIALIZER;

struct tacws_plugin_ctx {
	int unused;
};
static tacws_plugin_ctx the_ctx;

static char *base_of(const char *endpoint)
{
	size_t n = strcspn(endpoint, "/");
	return strndup(endpoint, n);
}

void fake_host_config_set(const char *section, const char *key, const char *value)
{
	for (int i = 0; i < n_entries; i++)
		if (!strcmp(entries[i].section, section) && !strcmp(entries[i].key, key)) {
			free(entries[i].value);
			entries[i].value = strdup(value);
			return;
		}
	if (n_entries == MAX_ENTRIES)
		abort();
	entries[n_entries++] = (struct entry){strdup(section), strdup(key), strdup(value)};
}

static void host_log(tacws_plugin_ctx *ctx, tacws_log_level level, const char *fmt, ...)
{
	(void)ctx;
	static const char *names[] = {"error", "warn", "info", "debug"};
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[fake-host %s] ", names[level & 3]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *host_config_get(tacws_plugin_ctx *ctx, const char *section, const char *key)
{
	(void)ctx;
	for (int i = 0; i < n_entries; i++)
		if (!strcmp(entries[i].section, section) && !strcmp(entries[i].key, key))
			return entries[i].value;
	return NULL;
}

static int host_config_foreach(tacws_plugin_ctx *ctx, const char *prefix, tacws_config_cb cb,
			       void *arg)
{
	(void)ctx;
	for (int i = 0; i < n_entries; i++) {
		if (strncmp(entries[i].section, prefix, strlen(prefix)))
			continue;
		int rc = cb(arg, entries[i].section, entries[i].key, entries[i].value);
		if (rc)
			return rc;
	}
	return 0;
}

static int host_feed_register(tacws_plugin_ctx *ctx, const tacws_feed_desc *desc)
{
	(void)ctx;
	if (!desc || desc->size < offsetof(tacws_feed_desc, config_keys) || !desc->endpoint ||
	    !desc->message_type || !desc->snapshot)
		return -EINVAL;
	char *base = base_of(desc->endpoint);
	char section[128];
	snprintf(section, sizeof section, "feed.%s", base);
	const char *enabled = host_config_get(ctx, section, "enabled");
	int present = 0;
	for (int i = 0; i < n_entries; i++)
		present |= !strcmp(entries[i].section, section);
	if (!present || (enabled && !strcmp(enabled, "false"))) {
		free(base);
		return -ENOENT;
	}
	for (int i = 0; i < n_feeds; i++)
		if (!strcmp(feeds[i].base, base)) {
			free(base);
			return -EEXIST;
		}
	if (n_feeds == MAX_FEEDS)
		abort();
	feeds[n_feeds].base = base;
	memset(&feeds[n_feeds].desc, 0, sizeof feeds[n_feeds].desc);
	memcpy(&feeds[n_feeds].desc, desc,
	       desc->size < sizeof(tacws_feed_desc) ? desc->size : sizeof(tacws_feed_desc));
	n_feeds++;
	return 0;
}

static int host_poll_now(tacws_plugin_ctx *ctx, const char *endpoint, const char *param)
{
	(void)ctx;
	(void)param;
	pthread_mutex_lock(&lock);
	int i;
	for (i = 0; i < n_polls; i++)
		if (!strcmp(polls[i].base, endpoint))
			break;
	if (i == n_polls && n_polls < MAX_FEEDS)
		polls[n_polls++] = (struct poll_req){strdup(endpoint), 0};
	if (i < n_polls)
		polls[i].count++;
	pthread_cond_broadcast(&polled);
	pthread_mutex_unlock(&lock);
	return 0;
}

static int host_publish(tacws_plugin_ctx *ctx, const char *endpoint, const char *param,
			const char *type, json_object *data)
{
	(void)ctx;
	(void)endpoint;
	(void)param;
	pthread_mutex_lock(&lock);
	free(last_type);
	free(last_data);
	last_type = strdup(type ? type : "");
	last_data = strdup(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	n_publish++;
	pthread_mutex_unlock(&lock);
	json_object_put(data);
	return 0;
}

static const tacws_host_api host_api = {
	.size = sizeof(tacws_host_api),
	.abi_version = TACWS_PLUGIN_ABI_VERSION,
	.log = host_log,
	.config_get = host_config_get,
	.config_foreach = host_config_foreach,
	.feed_register = host_feed_register,
	.poll_now = host_poll_now,
	.publish = host_publish,
};

int fake_host_load(const char *so_path)
{
	handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		fprintf(stderr, "fake host: %s\n", dlerror());
		return -ENOENT;
	}
	plugin = dlsym(handle, TACWS_PLUGIN_SYMBOL);
	if (!plugin || plugin->abi_version != TACWS_PLUGIN_ABI_VERSION ||
	    plugin->size < sizeof(tacws_plugin) || !plugin->init) {
		dlclose(handle);
		handle = NULL;
		plugin = NULL;
		return -EINVAL;
	}
	int rc = plugin->init(&host_api, &the_ctx);
	if (rc) {
		dlclose(handle);
		handle = NULL;
		plugin = NULL;
	}
	return rc;
}

void fake_host_unload(void)
{
	if (plugin && plugin->fini)
		plugin->fini();
	if (handle)
		dlclose(handle);
	handle = NULL;
	plugin = NULL;
	for (int i = 0; i < n_entries; i++) {
		free(entries[i].section);
		free(entries[i].key);
		free(entries[i].value);
	}
	n_entries = 0;
	for (int i = 0; i < n_feeds; i++)
		free(feeds[i].base);
	n_feeds = 0;
	for (int i = 0; i < n_polls; i++)
		free(polls[i].base);
	n_polls = 0;
	free(last_type);
	free(last_data);
	last_type = last_data = NULL;
	n_publish = 0;
}

const tacws_feed_desc *fake_host_feed(const char *endpoint_base)
{
	for (int i = 0; i < n_feeds; i++)
		if (!strcmp(feeds[i].base, endpoint_base))
			return &feeds[i].desc;
	return NULL;
}

int fake_host_feed_count(void)
{
	return n_feeds;
}

int fake_host_snapshot(const char *endpoint_base, const char *param, json_object **data,
		       char *err, size_t errlen)
{
	const tacws_feed_desc *f = fake_host_feed(endpoint_base);
	*data = NULL;
	if (!f) {
		snprintf(err, errlen, "no feed %s", endpoint_base);
		return -ENOENT;
	}
	err[0] = '\0';
	return f->snapshot(f->arg, param, data, err, errlen);
}

char *fake_host_snapshot_string(const char *endpoint_base, const char *param)
{
	json_object *data;
	char err[256];
	int rc = fake_host_snapshot(endpoint_base, param, &data, err, sizeof err);
	if (rc)
		fprintf(stderr, "fake host: snapshot %s: %d %s\n", endpoint_base, rc, err);
	if (!data)
		return NULL;
	char *s = strdup(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	json_object_put(data);
	return s;
}

int fake_host_poll_count(const char *endpoint_base)
{
	int total = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_polls; i++)
		if (!endpoint_base || !strcmp(polls[i].base, endpoint_base))
			total += polls[i].count;
	pthread_mutex_unlock(&lock);
	return total;
}

int fake_host_wait_polls(const char *endpoint_base, int want, int timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	int seen;
	while ((seen = fake_host_poll_count(endpoint_base)) < want) {
		pthread_mutex_lock(&lock);
		int rc = pthread_cond_timedwait(&polled, &lock, &deadline);
		pthread_mutex_unlock(&lock);
		if (rc == ETIMEDOUT)
			return fake_host_poll_count(endpoint_base);
	}
	return seen;
}

const char *fake_host_last_publish_type(void)
{
	return last_type;
}

const char *fake_host_last_publish_data(void)
{
	return last_data;
}

int fake_host_publish_count(void)
{
	return n_publish;
}
