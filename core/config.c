#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef TACWS_DEFAULT_PLUGIN_DIR
#define TACWS_DEFAULT_PLUGIN_DIR "/usr/local/lib/tacws/plugins"
#endif
#ifndef TACWS_DEFAULT_WEB_DIR
#define TACWS_DEFAULT_WEB_DIR "/usr/local/share/tacws/web"
#endif

enum kind { K_STRING, K_PATH, K_LONG, K_LEVEL };

struct key_spec {
	const char *section, *key;
	enum kind kind;
	size_t offset; /* into tacws_config */
	const char *def;
	long min, max;
};

#define OFF(field) offsetof(tacws_config, field)

static const struct key_spec specs[] = {
	{"server", "listen", K_STRING, OFF(listen), "127.0.0.1", 0, 0},
	{"server", "port", K_LONG, OFF(port), "8003", 0, 65535},
	{"server", "api_prefix", K_STRING, OFF(api_prefix), "/api/v1", 0, 0},
	{"server", "plugin_dir", K_PATH, OFF(plugin_dir), TACWS_DEFAULT_PLUGIN_DIR, 0, 0},
	{"server", "web_dir", K_PATH, OFF(web_dir), TACWS_DEFAULT_WEB_DIR, 0, 0},
	{"server", "workers", K_LONG, OFF(workers), "4", 1, 64},
	{"server", "max_connections", K_LONG, OFF(max_connections), "10000", 1, 1000000},
	{"server", "max_connections_per_ip", K_LONG, OFF(max_connections_per_ip), "0", 0, 1000000},
	{"server", "max_inbound_bytes", K_LONG, OFF(max_inbound_bytes), "4096", 128, 1048576},
	{"server", "ping_interval_s", K_LONG, OFF(ping_interval_s), "30", 1, 3600},
	{"server", "handshake_timeout_s", K_LONG, OFF(handshake_timeout_s), "10", 1, 300},
	{"server", "http_request_timeout_s", K_LONG, OFF(http_request_timeout_s), "30", 1, 3600},
	{"server", "send_queue_bytes", K_LONG, OFF(send_queue_bytes), "1048576", 4096, 1L << 30},
	{"server", "client_messages_per_s", K_LONG, OFF(client_messages_per_s), "20", 1, 100000},
	{"server", "max_body_bytes", K_LONG, OFF(max_body_bytes), "1048576", 1024, 64L << 20},
	{"server", "max_subscriptions", K_LONG, OFF(max_subscriptions), "64", 1, 10000},
	{"server", "topic_idle_s", K_LONG, OFF(topic_idle_s), "60", 1, 86400},
	{"server", "max_topics", K_LONG, OFF(max_topics), "10000", 1, 10000000},
	{"server", "topic_creations_per_s", K_LONG, OFF(topic_creations_per_s), "20", 1, 100000},
	{"server", "delta_keys", K_STRING, OFF(delta_keys), "id", 0, 0},
	{"server", "compression", K_LONG, OFF(compression), "1", 0, 1},
	{"server", "log_level", K_LEVEL, OFF(log_level), "info", 0, 0},
	{"auth", "ws_token", K_STRING, OFF(ws_token), "", 0, 0},
	{"auth", "allowed_origins", K_STRING, OFF(allowed_origins), "", 0, 0},
	{"auth", "publish_token", K_STRING, OFF(publish_token), "", 0, 0},
	{"auth", "github_webhook_secret", K_STRING, OFF(github_webhook_secret), "", 0, 0},
	{"auth", "status_token", K_STRING, OFF(status_token), "", 0, 0},
	{"cluster", "redis", K_STRING, OFF(redis), "", 0, 0},
	{"cluster", "node_id", K_STRING, OFF(node_id), "", 0, 0},
	{"cluster", "lease_ttl_ms", K_LONG, OFF(lease_ttl_ms), "3000", 300, 600000},
	{"cluster", "history_max", K_LONG, OFF(history_max), "1000", 1, 1000000},
	{"cluster", "history_ttl_s", K_LONG, OFF(history_ttl_s), "0", 0, 4000000},
};

/* Set by tacwsd when it runs from an installed prefix other than the built one. */
static const char *default_plugin_dir, *default_web_dir;

void tacws_config_set_default_dirs(const char *plugin_dir, const char *web_dir)
{
	default_plugin_dir = plugin_dir;
	default_web_dir = web_dir;
}

static const char *spec_default(const struct key_spec *spec)
{
	if (spec->offset == OFF(plugin_dir) && default_plugin_dir)
		return default_plugin_dir;
	if (spec->offset == OFF(web_dir) && default_web_dir)
		return default_web_dir;
	return spec->def;
}

struct parse_state {
	tacws_config *cfg;
	char *err;
	size_t errlen;
	int error_line; /* first line our handler refused */
};

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};
	for (int i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			return *out = true, 0;
	for (int i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i]))
			return *out = false, 0;
	return -EINVAL;
}

/* Endpoint names become URL path segments and metric labels. */
static bool valid_endpoint(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

static const struct key_spec *find_spec(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if (!strcmp(specs[i].section, section) && !strcmp(specs[i].key, key))
			return &specs[i];
	return NULL;
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if (!strcmp(specs[i].section, section))
			return true;
	return false;
}

static char *resolve_path(const tacws_config *cfg, const char *value)
{
	if (!*value || value[0] == '/')
		return strdup(value);
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s/%s", cfg->dir, value) >= (int)sizeof buf)
		return NULL;
	char real[PATH_MAX];
	/* Resolve what exists; keep the joined path for what does not (yet). */
	return strdup(realpath(buf, real) ? real : buf);
}

/* Checks value against spec and stores it; err gets the reason. */
static int apply_spec(tacws_config *cfg, const struct key_spec *spec, const char *value,
		      char *err, size_t errlen)
{
	char *stored = NULL;
	long number = 0;
	switch (spec->kind) {
	case K_LONG:
		if (parse_long(value, spec->min, spec->max, &number)) {
			snprintf(err, errlen, "[%s] %s: '%s' is not a whole number from %ld to %ld",
				 spec->section, spec->key, value, spec->min, spec->max);
			return -EINVAL;
		}
		break;
	case K_LEVEL:
		if (strcmp(value, "error") && strcmp(value, "warn") && strcmp(value, "info") &&
		    strcmp(value, "debug")) {
			snprintf(err, errlen, "[%s] %s: '%s' is not one of error, warn, info, debug",
				 spec->section, spec->key, value);
			return -EINVAL;
		}
		/* fall through */
	case K_STRING:
		stored = strdup(value);
		break;
	case K_PATH:
		stored = resolve_path(cfg, value);
		break;
	}
	if (spec->kind != K_LONG && !stored) {
		snprintf(err, errlen, "[%s] %s: out of memory or path too long", spec->section,
			 spec->key);
		return -ENOMEM;
	}
	if (spec->kind == K_LONG) {
		*(long *)((char *)cfg + spec->offset) = number;
	} else {
		char **slot = (char **)((char *)cfg + spec->offset);
		free(*slot);
		*slot = stored;
	}
	return 0;
}

static tacws_config_entry *add_entry(tacws_config *cfg, const char *section, const char *key,
				     const char *value, int line)
{
	tacws_config_entry *grown =
		realloc(cfg->entries, (cfg->n_entries + 1) * sizeof *cfg->entries);
	if (!grown)
		return NULL;
	cfg->entries = grown;
	tacws_config_entry *e = &cfg->entries[cfg->n_entries];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		return NULL;
	}
	cfg->n_entries++;
	return e;
}

static tacws_feed_config *feed_for(tacws_config *cfg, const char *endpoint, int line)
{
	for (size_t i = 0; i < cfg->n_feeds; i++)
		if (!strcmp(cfg->feeds[i].endpoint, endpoint))
			return &cfg->feeds[i];
	tacws_feed_config *grown = realloc(cfg->feeds, (cfg->n_feeds + 1) * sizeof *cfg->feeds);
	if (!grown)
		return NULL;
	cfg->feeds = grown;
	tacws_feed_config *f = &cfg->feeds[cfg->n_feeds];
	*f = (tacws_feed_config){.endpoint = strdup(endpoint), .enabled = true, .line = line};
	if (!f->endpoint)
		return NULL;
	cfg->n_feeds++;
	return f;
}

static int check_feed_key(tacws_config *cfg, const char *endpoint, const char *key,
			  const char *value, int line, char *err, size_t errlen)
{
	if (!valid_endpoint(endpoint)) {
		snprintf(err, errlen, "[feed.%s]: a feed name is 1-64 of a-z 0-9 - _", endpoint);
		return -EINVAL;
	}
	tacws_feed_config *f = feed_for(cfg, endpoint, line);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!strcmp(key, "plugin")) {
		if (!valid_endpoint(value)) {
			snprintf(err, errlen, "[feed.%s] plugin: '%s' is not a plugin name", endpoint,
				 value);
			return -EINVAL;
		}
		free(f->plugin);
		f->plugin = strdup(value);
	} else if (!strcmp(key, "enabled")) {
		if (parse_bool(value, &f->enabled)) {
			snprintf(err, errlen, "[feed.%s] enabled: '%s' is not true or false",
				 endpoint, value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "interval_ms")) {
		if (parse_long(value, 10, 86400000, &f->interval_ms)) {
			snprintf(err, errlen,
				 "[feed.%s] interval_ms: '%s' is not a whole number from 10 to 86400000",
				 endpoint, value);
			return -EINVAL;
		}
	}
	/* Other keys are the plugin's; they are checked once it has registered. */
	return 0;
}

static const char *const webhook_keys[] = {
	"path",		 "secret",	  "signature", "signature_header", "signature_prefix",
	"event_header", "message_type", "publish",   "refresh",	    "ignore_events",
	"data",
};

static tacws_webhook_config *webhook_for(tacws_config *cfg, const char *name, int line)
{
	for (size_t i = 0; i < cfg->n_webhooks; i++)
		if (!strcmp(cfg->webhooks[i].name, name))
			return &cfg->webhooks[i];
	tacws_webhook_config *grown =
		realloc(cfg->webhooks, (cfg->n_webhooks + 1) * sizeof *cfg->webhooks);
	if (!grown)
		return NULL;
	cfg->webhooks = grown;
	tacws_webhook_config *w = &cfg->webhooks[cfg->n_webhooks];
	*w = (tacws_webhook_config){.name = strdup(name), .line = line};
	if (!w->name)
		return NULL;
	cfg->n_webhooks++;
	return w;
}

static void free_list(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

/* "a b, c" -> {"a", "b", "c", NULL}, each 1-64 of a-z 0-9 - _. Returns 0,
 * -EINVAL (err says which) or -ENOMEM. */
static int name_list(const char *value, const char *section, const char *key, char ***out,
		     char *err, size_t errlen)
{
	char **list = calloc(strlen(value) / 2 + 2, sizeof *list);
	size_t n = 0;
	const char *p = value + strspn(value, " \t,");
	while (list && *p) {
		size_t len = strcspn(p, " \t,");
		if (!(list[n] = strndup(p, len)))
			break;
		if (!valid_endpoint(list[n++])) {
			snprintf(err, errlen, "[%s] %s: '%s' is not 1-64 of a-z 0-9 - _", section,
				 key, list[n - 1]);
			free_list(list);
			return -EINVAL;
		}
		p += len + strspn(p + len, " \t,");
	}
	if (!list || *p) {
		free_list(list);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*out = list;
	return 0;
}

static bool valid_header_name(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static int check_webhook_key(tacws_config *cfg, const char *section, const char *key,
			     const char *value, int line, char *err, size_t errlen)
{
	const char *name = section + strlen("webhook.");
	size_t k = 0;
	while (k < sizeof webhook_keys / sizeof *webhook_keys && strcmp(key, webhook_keys[k]))
		k++;
	if (!valid_endpoint(name)) {
		snprintf(err, errlen, "[%s]: a webhook name is 1-64 of a-z 0-9 - _", section);
		return -EINVAL;
	}
	if (k == sizeof webhook_keys / sizeof *webhook_keys) {
		snprintf(err, errlen, "[%s]: unknown key '%s'", section, key);
		return -EINVAL;
	}
	tacws_webhook_config *w = webhook_for(cfg, name, line);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!strcmp(key, "publish"))
		return name_list(value, section, key, &w->publish, err, errlen);
	if (!strcmp(key, "refresh"))
		return name_list(value, section, key, &w->refresh, err, errlen);
	if (!strcmp(key, "ignore_events"))
		return name_list(value, section, key, &w->ignore_events, err, errlen);
	if (!strcmp(key, "data")) {
		if (strcmp(value, "feed") && strcmp(value, "payload")) {
			snprintf(err, errlen, "[%s] data: '%s' is not feed or payload", section,
				 value);
			return -EINVAL;
		}
		w->payload_as_data = !strcmp(value, "payload");
		return 0;
	}
	if (!strcmp(key, "signature")) {
		if (strcmp(value, "hmac-sha256") && strcmp(value, "token")) {
			snprintf(err, errlen, "[%s] signature: '%s' is not hmac-sha256 or token",
				 section, value);
			return -EINVAL;
		}
		w->scheme = strcmp(value, "token") ? TACWS_SIGNATURE_HMAC_SHA256
						   : TACWS_SIGNATURE_TOKEN;
		return 0;
	}
	if ((!strcmp(key, "signature_header") || (!strcmp(key, "event_header") && *value)) &&
	    !valid_header_name(value)) {
		snprintf(err, errlen, "[%s] %s: '%s' is not a header name", section, key, value);
		return -EINVAL;
	}
	if (!strcmp(key, "path") && (value[0] != '/' || strlen(value) > 128 ||
				     strpbrk(value, "?#% \t"))) {
		snprintf(err, errlen, "[%s] path: must start with '/' (at most 128, no ? # %%)",
			 section);
		return -EINVAL;
	}
	if (!strcmp(key, "message_type") &&
	    (!*value || strlen(value) > 64 ||
	     strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") !=
		     strlen(value))) {
		snprintf(err, errlen, "[%s] message_type: '%s' is not 1-64 of A-Z a-z 0-9 _ . : -",
			 section, value);
		return -EINVAL;
	}
	char **fields[] = {&w->path, &w->secret, NULL, &w->signature_header, &w->signature_prefix,
			   &w->event_header, &w->message_type};
	char **slot = fields[k];
	free(*slot);
	if (!(*slot = strdup(value))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Defaults, and what one key alone cannot say. */
static int finish_webhooks(tacws_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->n_webhooks; i++) {
		tacws_webhook_config *w = &cfg->webhooks[i];
		char path[80];
		snprintf(path, sizeof path, "/webhooks/%s", w->name);
		bool hmac = w->scheme == TACWS_SIGNATURE_HMAC_SHA256;
		/* [auth] github_webhook_secret: the key this section replaced */
		const char *secret = strcmp(w->name, "github") ? "" : cfg->github_webhook_secret;
		struct {
			char **slot;
			const char *def;
		} defaults[] = {{&w->path, path},
				{&w->secret, secret},
				{&w->signature_header, hmac ? "X-Hub-Signature-256" : NULL},
				{&w->signature_prefix, hmac ? "sha256=" : ""},
				{&w->event_header, ""}};
		for (size_t d = 0; d < sizeof defaults / sizeof *defaults; d++) {
			if (*defaults[d].slot)
				continue;
			if (!defaults[d].def) {
				snprintf(err, errlen, "%s:%d: [webhook.%s]: signature = token needs "
					 "signature_header", cfg->path, w->line, w->name);
				return -EINVAL;
			}
			if (!(*defaults[d].slot = strdup(defaults[d].def))) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
		}
		if (w->publish && w->publish[0] && !w->message_type) {
			snprintf(err, errlen, "%s:%d: [webhook.%s]: publish needs message_type",
				 cfg->path, w->line, w->name);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->webhooks[j].path, w->path)) {
				snprintf(err, errlen, "%s:%d: [webhook.%s]: path %s is [webhook.%s]'s",
					 cfg->path, w->line, w->name, w->path,
					 cfg->webhooks[j].name);
				return -EINVAL;
			}
	}
	return 0;
}

static int on_key(void *user, const char *section, const char *key, const char *value,
		  int line)
{
	struct parse_state *st = user;
	tacws_config *cfg = st->cfg;
	char *err = st->err;
	size_t errlen = st->errlen;
	int rc = 0;

	if (st->error_line)
		return 1; /* report only the first error */
	if (tacws_config_find(cfg, section, key)) {
		snprintf(err, errlen, "[%s] %s: set twice", section, key);
		rc = -EINVAL;
	} else if (!strncmp(section, "feed.", 5)) {
		rc = check_feed_key(cfg, section + 5, key, value, line, err, errlen);
	} else if (!strncmp(section, "webhook.", 8)) {
		rc = check_webhook_key(cfg, section, key, value, line, err, errlen);
	} else if (!*section) {
		snprintf(err, errlen, "unknown section [] (a key before any section)");
		rc = -EINVAL;
	} else if (section_known(section)) {
		const struct key_spec *spec = find_spec(section, key);
		if (!spec) {
			snprintf(err, errlen, "[%s]: unknown key '%s'", section, key);
			rc = -EINVAL;
		} else {
			rc = apply_spec(cfg, spec, value, err, errlen);
		}
	}
	/* Any other section is kept for the plugin that owns it (loader.c checks). */
	if (!rc && !add_entry(cfg, section, key, value, line)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	if (rc) {
		st->error_line = line;
		return 0;
	}
	return 1;
}

/* inih hands no line number to the handler; count lines ourselves. */
struct line_reader {
	FILE *f;
	int line;
};

static char *read_line(char *buf, int size, void *stream)
{
	struct line_reader *r = stream;
	char *s = fgets(buf, size, r->f);
	if (s)
		r->line++;
	return s;
}

struct handler_ctx {
	struct parse_state *st;
	struct line_reader *reader;
};

static int on_ini_key(void *user, const char *section, const char *key, const char *value)
{
	struct handler_ctx *h = user;
	return on_key(h->st, section, key, value, h->reader->line);
}

static int apply_defaults(tacws_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		const struct key_spec *spec = &specs[i];
		const tacws_config_entry *e = tacws_config_find(cfg, spec->section, spec->key);
		int rc = apply_spec(cfg, spec, e ? e->value : spec_default(spec), err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_feeds(tacws_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		tacws_feed_config *f = &cfg->feeds[i];
		if (!f->plugin) {
			snprintf(err, errlen, "%s:%d: [feed.%s]: missing 'plugin'", cfg->path,
				 f->line, f->endpoint);
			return -EINVAL;
		}
	}
	if (cfg->api_prefix[0] != '/' || strlen(cfg->api_prefix) > 64 ||
	    cfg->api_prefix[strlen(cfg->api_prefix) - 1] == '/') {
		const tacws_config_entry *e = tacws_config_find(cfg, "server", "api_prefix");
		snprintf(err, errlen, "%s:%d: [server] api_prefix: must start with '/' and not end "
			 "with one", cfg->path, e ? e->line : 0);
		return -EINVAL;
	}
	return 0;
}

/* What a node id is made of (tacws_broker_node_id_ok): a hostname's others become '-'. */
static const char node_id_chars[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

/* [cluster]: the addresses parsed, and node_id defaulted to <hostname>-<pid>. */
static int finish_cluster(tacws_config *cfg, char *err, size_t errlen)
{
	char reason[256];
	const tacws_config_entry *e = tacws_config_find(cfg, "cluster", "redis");
	if (*cfg->redis &&
	    tacws_broker_config_parse(cfg->redis, &cfg->broker, reason, sizeof reason)) {
		snprintf(err, errlen, "%s:%d: [cluster] redis: %s", cfg->path, e ? e->line : 0,
			 reason);
		return -EINVAL;
	}
	if (!*cfg->node_id) {
		char host[TACWS_BROKER_NODE_ID_MAX - 12] = "node";
		if (gethostname(host, sizeof host) || !host[0])
			snprintf(host, sizeof host, "node");
		host[sizeof host - 1] = '\0';
		for (char *p = host; *p; p++)
			if (!strchr(node_id_chars, *p))
				*p = '-';
		char id[TACWS_BROKER_NODE_ID_MAX];
		snprintf(id, sizeof id, "%s-%ld", host, (long)getpid());
		char *copy = strdup(id);
		if (!copy) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		free(cfg->node_id);
		cfg->node_id = copy;
	} else if (!tacws_broker_node_id_ok(cfg->node_id)) {
		e = tacws_config_find(cfg, "cluster", "node_id");
		snprintf(err, errlen, "%s:%d: [cluster] node_id: '%s' is not 1-%d of A-Z a-z 0-9 _ . -",
			 cfg->path, e ? e->line : 0, cfg->node_id, TACWS_BROKER_NODE_ID_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

int tacws_config_load(const char *path, tacws_config **out, char *err, size_t errlen)
{
	*out = NULL;
	tacws_config *cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		return -ENOMEM;
	cfg->path = strdup(path);
	char real[PATH_MAX];
	if (!cfg->path) {
		tacws_config_free(cfg);
		return -ENOMEM;
	}
	struct line_reader reader = {.f = fopen(path, "r")};
	if (!reader.f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		tacws_config_free(cfg);
		return -e;
	}
	if (realpath(path, real)) {
		char *slash = strrchr(real, '/');
		*slash = '\0';
		cfg->dir = strdup(slash == real ? "/" : real);
	} else {
		cfg->dir = strdup(".");
	}

	char reason[512] = "";
	struct parse_state st = {.cfg = cfg, .err = reason, .errlen = sizeof reason};
	struct handler_ctx h = {.st = &st, .reader = &reader};
	int line = ini_parse_stream(read_line, &reader, on_ini_key, &h);
	fclose(reader.f);
	if (st.error_line || line) {
		snprintf(err, errlen, "%s:%d: %s", path, st.error_line ? st.error_line : line,
			 st.error_line ? reason : "syntax error (expected [section] or key = value)");
		tacws_config_free(cfg);
		return -EINVAL;
	}
	int rc = apply_defaults(cfg, reason, sizeof reason);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, reason);
		tacws_config_free(cfg);
		return rc;
	}
	rc = check_feeds(cfg, err, errlen);
	if (!rc)
		rc = finish_webhooks(cfg, err, errlen);
	if (!rc)
		rc = finish_cluster(cfg, err, errlen);
	if (rc) {
		tacws_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int tacws_config_override(tacws_config *cfg, const char *key, const char *value, char *err,
			  size_t errlen)
{
	const struct key_spec *spec = find_spec("server", key);
	if (!spec) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -EINVAL;
	}
	return apply_spec(cfg, spec, value, err, errlen);
}

const tacws_config_entry *tacws_config_find(const tacws_config *cfg, const char *section,
					    const char *key)
{
	for (size_t i = 0; i < cfg->n_entries; i++)
		if (!strcmp(cfg->entries[i].section, section) && !strcmp(cfg->entries[i].key, key))
			return &cfg->entries[i];
	return NULL;
}

bool tacws_config_section_is_core(const char *section)
{
	return section_known(section) || !strncmp(section, "feed.", 5) ||
	       !strncmp(section, "webhook.", 8);
}

int tacws_config_set(tacws_config *cfg, const char *section, const char *key, const char *value)
{
	tacws_config_entry *e = (tacws_config_entry *)tacws_config_find(cfg, section, key);
	if (!e)
		return add_entry(cfg, section, key, value, 0) ? 0 : -ENOMEM;
	char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	free(e->value);
	e->value = copy;
	return 0;
}

const char *tacws_config_get(const tacws_config *cfg, const char *section, const char *key)
{
	const tacws_config_entry *e = tacws_config_find(cfg, section, key);
	return e ? e->value : NULL;
}

void tacws_config_free(tacws_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if (specs[i].kind != K_LONG)
			free(*(char **)((char *)cfg + specs[i].offset));
	for (size_t i = 0; i < cfg->n_entries; i++) {
		free(cfg->entries[i].section);
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		free(cfg->feeds[i].endpoint);
		free(cfg->feeds[i].plugin);
	}
	free(cfg->feeds);
	for (size_t i = 0; i < cfg->n_webhooks; i++) {
		tacws_webhook_config *w = &cfg->webhooks[i];
		free(w->name);
		free(w->path);
		free(w->secret);
		free(w->signature_header);
		free(w->signature_prefix);
		free(w->event_header);
		free(w->message_type);
		free_list(w->publish);
		free_list(w->refresh);
		free_list(w->ignore_events);
	}
	free(cfg->webhooks);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}
