/* Plugins the loader must refuse, one per build: BAD_ABI, INIT_FAILS, DUP_FEED, NO_SYMBOL. */
#include <errno.h>
#include <tacws/plugin.h>

#ifndef NO_SYMBOL
__attribute__((unused)) static int snapshot(void *arg, const char *param, json_object **data,
					   char *err, size_t errlen)
{
	(void)arg, (void)param, (void)err, (void)errlen;
	*data = json_object_new_object();
	return 0;
}

static int init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
#ifdef INIT_FAILS
	(void)host, (void)ctx;
	return -EIO;
#else
	/* the second registration of one endpoint must fail with -EEXIST */
	tacws_feed_desc d = {
		.size = sizeof d, .endpoint = "beta", .message_type = "dup", .snapshot = snapshot};
	int rc = host->feed_register(ctx, &d);
	return rc ? rc : host->feed_register(ctx, &d);
#endif
}

TACWS_PLUGIN_EXPORT = {
#ifdef BAD_ABI
	.abi_version = TACWS_PLUGIN_ABI_VERSION + 1,
	.size = sizeof(tacws_plugin),
#else
	TACWS_PLUGIN_HEADER,
#endif
	.name = "bad",
	.init = init,
};
#else
int tacws_not_a_plugin;
#endif
