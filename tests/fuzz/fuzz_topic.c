/* WebSocket paths, topic names and parameters, and a per-feed socket's query
 * (?delta=&since=&epoch=&offset=), checked as the server does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tacws_feed *item; /* "item/{id}" with the default pattern, like adw-state */

static int no_snapshot(void *arg, const char *param, json_object **out, char *err, size_t errlen)
{
	(void)arg, (void)param, (void)out, (void)err, (void)errlen;
	return 0;
}

/* The value of name= in the query, copied as upgrade.c's lws_get_urlarg_by_name does
 * into a buffer of cap bytes (cut to fit), or NULL. */
static const char *query_arg(const char *query, const char *name, char *buf, size_t cap)
{
	size_t nlen = strlen(name);
	for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nlen))
			continue;
		size_t n = strcspn(p + nlen, "&");
		if (n >= cap)
			n = cap - 1;
		memcpy(buf, p + nlen, n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

static void query_check(const char *query)
{
	char d[32], s[32], e[TACWS_EPOCH_MAX + 2], o[32], err[128];
	tacws_sub_options opts;
	if (!tacws_sub_options_from_query(query_arg(query, "delta=", d, sizeof d),
					  query_arg(query, "since=", s, sizeof s),
					  query_arg(query, "epoch=", e, sizeof e),
					  query_arg(query, "offset=", o, sizeof o), &opts, err,
					  sizeof err) &&
	    (opts.has_offset && !opts.resume))
		abort(); /* an offset alone is refused */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!item) {
		tacws_feed_desc d;
		memset(&d, 0, sizeof d);
		d.endpoint = "item/{id}";
		d.message_type = "item_update";
		d.snapshot = no_snapshot;
		char err[256];
		if (tacws_feed_create(NULL, NULL, &d, 1000, &item, err, sizeof err))
			abort();
	}
	char *path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	char *query = strchr(path, '?');
	if (query) {
		query_check(query + 1);
		*query = '\0';
	}
	bool mux;
	tacws_topic_name t;
	if (!tacws_ws_path_parse("/api/v1", path, &mux, &t) && !mux && t.has_param)
		tacws_feed_param_ok(item, t.param);
	if (!tacws_topic_name_parse((const char *)data, size, &t) && t.has_param)
		tacws_feed_param_ok(item, t.param);
	free(path);
	return 0;
}
