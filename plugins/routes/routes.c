/*
 * routes: the TAC backend's route table, read from its OpenAPI document.
 *
 *   data: [{"path","method","name","summary","description","tags"}], the
 *   method in upper case, name the handler's name as TAC gives it (from the
 *   operationId), "" for what the document does not say.
 *
 * [sources] backend_url   the backend (default http://127.0.0.1:8002);
 *                         the plugin reads <backend_url>/openapi.json
 * [feed.routes] timeout_ms  how long one fetch may take (default 5000)
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tacws/plugin.h>

#include "http.h"
#include "sources.h"


/* The order entries of one path appear in; OPTIONS is left out on purpose. */
static const char *const methods[] = {"get", "post", "put", "patch", "delete", "head"};
static const char *const hidden_prefixes[] = {"/docs", "/redoc", "/openapi"};

static struct {
	char url[1024];
	long timeout_ms;
} feed;

static int is_hidden(const char *path)
{
	for (size_t i = 0; i < sizeof hidden_prefixes / sizeof *hidden_prefixes; i++)
		if (!strncmp(path, hidden_prefixes[i], strlen(hidden_prefixes[i])))
			return 1;
	return 0;
}

static json_object *string_or_empty(json_object *op, const char *key)
{
	json_object *v;
	if (json_object_object_get_ex(op, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get(v);
	return json_object_new_string("");
}

/* TAC names a route by its handler ("get_routes"); FastAPI's operationId is
 * that name, then the path with every non-word character as "_", then "_"
 * and a method ("get_routes_api_v1_routes_get"). Gives the handler's name
 * back when the operationId has that form, else the operationId. */
static json_object *route_name(json_object *op, const char *path)
{
	json_object *id = string_or_empty(op, "operationId");
	const char *text = json_object_get_string(id);
	size_t n = strlen(text), plen = strlen(path);
	for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
		size_t mlen = strlen(methods[m]);
		if (n <= plen + 1 + mlen || strcmp(text + n - mlen, methods[m]) ||
		    text[n - mlen - 1] != '_')
			continue;
		const char *tail = text + n - mlen - 1 - plen;
		size_t i = 0;
		while (i < plen && tail[i] == (isalnum((unsigned char)path[i]) || path[i] == '_'
		                                   ? path[i]
		                                   : '_'))
			i++;
		if (i == plen) {
			json_object *name = json_object_new_string_len(text, (int)(tail - text));
			json_object_put(id);
			return name;
		}
	}
	return id;
}

static json_object *route_entry(const char *path, const char *method, json_object *op)
{
	json_object *e = json_object_new_object();
	char upper[8];
	size_t i;
	for (i = 0; method[i] && i + 1 < sizeof upper; i++)
		upper[i] = (char)(method[i] - 'a' + 'A');
	upper[i] = '\0';
	json_object_object_add(e, "path", json_object_new_string(path));
	json_object_object_add(e, "method", json_object_new_string(upper));
	json_object_object_add(e, "name", route_name(op, path));
	json_object_object_add(e, "summary", string_or_empty(op, "summary"));
	json_object_object_add(e, "description", string_or_empty(op, "description"));
	json_object *tags;
	if (json_object_object_get_ex(op, "tags", &tags) &&
	    json_object_is_type(tags, json_type_array))
		json_object_object_add(e, "tags", json_object_get(tags));
	else
		json_object_object_add(e, "tags", json_object_new_array());
	return e;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int routes_snapshot(void *arg, const char *param, json_object **data, char *err,
                           size_t errlen)
{
	(void)arg;
	(void)param;
	json_object *doc, *paths;
	int rc = tacws_http_get_json(feed.url, feed.timeout_ms, 0, &doc, NULL, err, errlen);
	if (rc)
		return rc;
	if (!json_object_object_get_ex(doc, "paths", &paths) ||
	    !json_object_is_type(paths, json_type_object)) {
		snprintf(err, errlen, "%s: no \"paths\" object in the OpenAPI document", feed.url);
		json_object_put(doc);
		return -EBADMSG;
	}

	/* Paths sorted by name, so the same document always gives the same payload. */
	size_t n = (size_t)json_object_object_length(paths), k = 0;
	const char **names = calloc(n ? n : 1, sizeof *names);
	if (!names) {
		json_object_put(doc);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_object_object_foreach(paths, name, value)
	{
		(void)value;
		names[k++] = name;
	}
	qsort(names, n, sizeof *names, by_name);

	json_object *out = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *ops = json_object_object_get(paths, names[i]);
		if (is_hidden(names[i]) || !json_object_is_type(ops, json_type_object))
			continue;
		for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
			json_object *op;
			if (json_object_object_get_ex(ops, methods[m], &op) &&
			    json_object_is_type(op, json_type_object))
				json_object_array_add(out, route_entry(names[i], methods[m], op));
		}
	}
	free(names);
	json_object_put(doc);
	*data = out;
	return 0;
}

static int routes_init(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	const char *base = tacws_source_get(host, ctx, "backend_url");
	size_t len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	if (snprintf(feed.url, sizeof feed.url, "%.*s/openapi.json", (int)len, base) >=
	    (int)sizeof feed.url) {
		host->log(ctx, TACWS_LOG_ERROR, "[sources] backend_url is too long");
		return -EINVAL;
	}
	tacws_feed_desc desc = {
	    .size = sizeof desc,
	    .endpoint = "routes",
	    .message_type = "routes_update",
	    .snapshot = routes_snapshot,
	    .default_interval_ms = 10000,
	    .config_keys = tacws_http_feed_keys,
	};
	return tacws_http_feed_start(host, ctx, &desc, 5000, &feed.timeout_ms);
}

static void routes_fini(void)
{
	tacws_http_feed_stop();
}

TACWS_PLUGIN_EXPORT = {
    TACWS_PLUGIN_HEADER, .name = "routes",    .version = "1.0",
    .init = routes_init, .fini = routes_fini,
    TACWS_SOURCES_CONFIG,
};
