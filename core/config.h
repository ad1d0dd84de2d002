/*
 * The server's configuration: one INI file (inih), validated in full before
 * anything starts. Errors name the file, the line and the reason. Sections
 * the server does not own are kept as entries; the plugins that own them
 * check them once loaded (loader.c).
 */
#ifndef TACWS_CONFIG_H
#define TACWS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "broker.h"

typedef struct tacws_config_entry {
	char *section, *key, *value;
	int line;
} tacws_config_entry;

typedef struct tacws_feed_config {
	char *endpoint; /* the name after "feed." */
	char *plugin;
	bool enabled;
	long interval_ms; /* 0: the plugin's default */
	int line;
} tacws_feed_config;

/* How a webhook's sender proves itself. */
typedef enum tacws_signature_scheme {
	TACWS_SIGNATURE_HMAC_SHA256, /* header: prefix + hex HMAC-SHA256 of the body with secret */
	TACWS_SIGNATURE_TOKEN,	     /* header: the secret itself */
} tacws_signature_scheme;

/* A [webhook.<name>] section: POST <api_prefix><path> from an outside
 * service becomes an event for some feeds and a refresh of others. */
typedef struct tacws_webhook_config {
	char *name;		/* the name after "webhook." */
	char *path;		/* "/webhooks/<name>" unless set */
	char *secret;		/* "": the endpoint answers 403 */
	tacws_signature_scheme scheme;
	char *signature_header; /* "X-Hub-Signature-256" unless set */
	char *signature_prefix; /* "sha256=" for hmac-sha256 unless set */
	char *event_header;	/* names the event ("X-GitHub-Event"); "" = none */
	char *message_type;	/* of the published event; NULL when nothing is published */
	char **publish;		/* feeds that get the event; NULL-terminated */
	char **refresh;		/* feeds polled after it; NULL-terminated */
	char **ignore_events;	/* answered 200, nothing done ("ping"); NULL-terminated */
	bool payload_as_data;	/* data = payload: the payload as is, not the feed's webhook_data */
	int line;
} tacws_webhook_config;

typedef struct tacws_config {
	char *path;
	char *dir; /* folder of the file: relative paths are resolved against it */

	/* [server] */
	char *listen;
	long port;
	char *api_prefix;
	char *plugin_dir;
	char *web_dir; /* "" = no dashboard */
	long workers;
	long max_connections;
	long max_connections_per_ip;
	long max_inbound_bytes;
	long ping_interval_s;
	long handshake_timeout_s;
	long http_request_timeout_s; /* an HTTP request's body and answer, from its headers */
	long send_queue_bytes;
	long client_messages_per_s;
	long max_body_bytes;
	long max_subscriptions;
	long topic_idle_s;
	long max_topics;	   /* live topics per feed */
	long topic_creations_per_s; /* new topics one connection may create */
	long compression; /* 1 (default): take permessage-deflate offers */
	char *delta_keys; /* members that identify array rows in deltas: "id, queue_id" */
	char *log_level;

	/* [auth] */
	char *ws_token, *allowed_origins, *publish_token, *github_webhook_secret;
	char *status_token; /* "": /metrics and /api/v1/feeds open */

	/* [cluster]: absent (redis = "") runs one node alone */
	char *redis;		/* the addresses as written */
	char *node_id;		/* "<hostname>-<pid>" unless set */
	long lease_ttl_ms;	/* a dead holder's topics move within it */
	long history_max;	/* events kept per topic for resume */
	long history_ttl_s;	/* and in Redis none older than this; 0: no age limit */
	tacws_broker_config broker; /* redis parsed; n_shards 0 without [cluster] */

	/* every key of the file, for plugins (host config_get / config_foreach) */
	tacws_config_entry *entries;
	size_t n_entries;

	tacws_feed_config *feeds;
	size_t n_feeds;

	tacws_webhook_config *webhooks;
	size_t n_webhooks;
} tacws_config;

/* Reads and validates path. Returns 0 and *out, or -errno and a message
 * "FILE:LINE: reason" in err. */
int tacws_config_load(const char *path, tacws_config **out, char *err, size_t errlen);

/* Applies a command-line override to [server] key, with the same checks. */
int tacws_config_override(tacws_config *cfg, const char *key, const char *value, char *err,
			  size_t errlen);

/* The value of [section] key, or NULL. The string belongs to cfg. */
const char *tacws_config_get(const tacws_config *cfg, const char *section, const char *key);

/* The entry of [section] key (for its line number), or NULL. */
const tacws_config_entry *tacws_config_find(const tacws_config *cfg, const char *section,
					    const char *key);

/* Sets [section] key to a copy of value, adding the entry (line 0) when
 * absent. For plugins that fill in defaults of their own sections (loader.c),
 * before cfg is in use. Returns 0 or -ENOMEM. */
int tacws_config_set(tacws_config *cfg, const char *section, const char *key, const char *value);

/* Whether the server itself owns section ([server], [auth], [feed.*],
 * [webhook.*]); any other section belongs to a plugin that claims it. */
bool tacws_config_section_is_core(const char *section);

void tacws_config_free(tacws_config *cfg);

/* Replaces the built-in defaults of [server] plugin_dir and web_dir for every
 * later load (NULL keeps the built-in one). The strings must outlive those
 * loads. Main thread, before any load. */
void tacws_config_set_default_dirs(const char *plugin_dir, const char *web_dir);

#endif
