#include "db.h"
#include "sources.h"

#include <errno.h>
#include <stdio.h>

const char *const tacws_db_feed_keys[] = {"listen_channel", NULL};

static void on_db_event(void *arg, tacws_db_event event, const char *text)
{
	tacws_db_feed *f = arg;
	if (event == TACWS_DB_LOST)
		f->host->log(f->ctx, TACWS_LOG_WARN, "listen: %s (retrying)", text);
	else /* a notification, or listening again after changes may have been missed */
		f->host->poll_now(f->ctx, f->endpoint, NULL);
}

int tacws_db_feed_start(tacws_db_feed *f, const tacws_host_api *host, tacws_plugin_ctx *ctx,
                        const tacws_feed_desc *desc)
{
	f->host = host;
	f->ctx = ctx;
	f->endpoint = desc->endpoint;
	f->url = tacws_source_get(host, ctx, "database");
	f->repo_root = tacws_source_get(host, ctx, "repo_root");
	int rc = host->feed_register(ctx, desc);
	if (rc < 0)
		return rc;

	char section[128];
	snprintf(section, sizeof section, "feed.%s", f->endpoint);
	const char *channel = host->config_get(ctx, section, "listen_channel");
	if (channel && *channel) {
		char err[256];
		if (!tacws_db_url_is_postgres(f->url))
			host->log(ctx, TACWS_LOG_WARN, "listen_channel needs PostgreSQL: ignored");
		else if (tacws_db_listen_start(f->url, channel, on_db_event, f, &f->listener, err,
		                               sizeof err) < 0)
			host->log(ctx, TACWS_LOG_WARN, "listen: %s", err);
	}
	return 0;
}

int tacws_db_feed_init(tacws_db_feed *f, const tacws_host_api *host, tacws_plugin_ctx *ctx,
                       const char *endpoint, const char *message_type, tacws_snapshot_fn snapshot,
                       int interval_ms)
{
	tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = endpoint,
	    .message_type = message_type,
	    .snapshot = snapshot,
	    .default_interval_ms = interval_ms,
	    .config_keys = tacws_db_feed_keys,
	};
	int rc = tacws_db_feed_start(f, host, ctx, &desc);
	return rc == -ENOENT ? 0 : rc;
}

int tacws_db_feed_open(tacws_db_feed *f, tacws_db **db, char *err, size_t errlen)
{
	int rc = tacws_db_ensure(&f->db, f->url, f->repo_root, err, errlen);
	*db = f->db;
	return rc;
}

void tacws_db_feed_stop(tacws_db_feed *f)
{
	tacws_db_listen_stop(f->listener);
	f->listener = NULL;
	tacws_db_close(f->db);
	f->db = NULL;
}
