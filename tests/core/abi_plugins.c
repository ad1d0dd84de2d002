/*
 * Plugins built against other versions of the ABI, one per build:
 *  ABI_OLDER, ABI_NEWER  an incompatible ABI version (refused, both versions logged)
 *  GROWN                 a newer compatible header: descriptor and feed descriptor
 *                        carry fields this host does not know (must load)
 *  SMALL_DESC            a descriptor smaller than the first version's (refused)
 *  SMALL_FEED            a feed descriptor smaller than the first version's (feed refused)
 *  FROZEN_V1             its own copy of the first release's struct layouts, so it
 *                        stays an "old plugin" when the header's structs grow (must load)
 * Each registers feed "alpha", whose snapshot is {"abi": "<build>"}.
 */
#include <errno.h>
#include <stdint.h>
#include <tacws/plugin.h>

#if defined(ABI_OLDER)
#define BUILD "older"
#elif defined(ABI_NEWER)
#define BUILD "newer"
#elif defined(GROWN)
#define BUILD "grown"
#elif defined(SMALL_DESC)
#define BUILD "small_desc"
#elif defined(FROZEN_V1)
#define BUILD "frozen_v1"
#else
#define BUILD "small_feed"
#endif

static int snapshot(void *arg, const char *param, json_object **data, char *err, size_t errlen)
{
	(void)arg, (void)param, (void)err, (void)errlen;
	*data = json_object_new_object();
	json_object_object_add(*data, "abi", json_object_new_string(BUILD));
	return 0;
}

/* What a later header might append to tacws_feed_desc. */
struct grown_feed_desc {
	tacws_feed_desc v1;
	uint64_t max_topics;
	const char *description;
};

#if defined(FROZEN_V1)
/* tacws_feed_desc and tacws_plugin exactly as ABI 1 first shipped them. */
struct v1_feed_desc {
	uint32_t size;
	const char *endpoint;
	const char *message_type;
	tacws_snapshot_fn snapshot;
	void *arg;
	uint32_t default_interval_ms;
	const char *param_pattern;
	const char *const *config_keys;
};
struct v1_plugin {
	uint32_t abi_version;
	uint32_t size;
	const char *name;
	const char *version;
	int (*init)(const tacws_host_api *host, tacws_plugin_ctx *ctx);
	void (*fini)(void);
};

static int init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	/* a host's table is never smaller than the first version's */
	if (host->size < offsetof(tacws_host_api, publish) + sizeof host->publish)
		return -EPROTO;
	struct v1_feed_desc d = {.size = sizeof d,
	                         .endpoint = "alpha",
	                         .message_type = "abi_update",
	                         .snapshot = snapshot,
	                         .default_interval_ms = 300};
	int rc = host->feed_register(ctx, (const tacws_feed_desc *)(const void *)&d);
	return rc == -ENOENT ? 0 : rc;
}

__attribute__((visibility("default"))) const struct v1_plugin tacws_plugin_descriptor = {
    .abi_version = 1,
    .size = sizeof(struct v1_plugin),
    .name = BUILD,
    .version = "1.0",
    .init = init,
};
#else
static int init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	struct grown_feed_desc d = {
	    .v1 = {.size = sizeof d.v1,
	           .endpoint = "alpha",
	           .message_type = "abi_update",
	           .snapshot = snapshot,
	           .default_interval_ms = 300},
	    .max_topics = 7,
	    .description = "a field from the future",
	};
#if defined(GROWN)
	d.v1.size = sizeof d;
#elif defined(SMALL_FEED)
	d.v1.size = (uint32_t)offsetof(tacws_feed_desc, param_pattern);
#endif
	int rc = host->feed_register(ctx, &d.v1);
	return rc == -ENOENT ? 0 : rc;
}

#if defined(GROWN)
struct grown_plugin {
	tacws_plugin v1;
	uint64_t flags;
	int (*reconfigure)(void);
};
__attribute__((visibility("default"))) const struct grown_plugin tacws_plugin_descriptor = {
    .v1 = {.abi_version = TACWS_PLUGIN_ABI_VERSION,
           .size = sizeof(struct grown_plugin),
           .name = "grown",
           .version = "2.0",
           .init = init},
    .flags = 1,
};
#else
TACWS_PLUGIN_EXPORT = {
#if defined(ABI_OLDER)
    .abi_version = TACWS_PLUGIN_ABI_VERSION - 1,
    .size = sizeof(tacws_plugin),
#elif defined(ABI_NEWER)
    .abi_version = TACWS_PLUGIN_ABI_VERSION + 1,
    .size = sizeof(tacws_plugin),
#elif defined(SMALL_DESC)
    .abi_version = TACWS_PLUGIN_ABI_VERSION,
    .size = (uint32_t)offsetof(tacws_plugin, init),
#else
    TACWS_PLUGIN_HEADER,
#endif
    .name = BUILD,
    .init = init,
};
#endif
#endif /* FROZEN_V1 */
