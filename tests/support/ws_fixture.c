#include "ws_fixture.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int make_path(char *buf, size_t len, const char *feed, const char *query)
{
	int n = snprintf(buf, len, "/api/v1/ws%s%s%s%s", feed && *feed ? "/" : "", feed ? feed : "",
	                 query ? "?" : "", query ? query : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int make_opts(tacws_wsclient_opts *o, char *path, size_t len, int port, const char *feed,
                     const char *query, const tacws_wsclient_opts *extra)
{
	memset(o, 0, sizeof(*o));
	if (extra)
		*o = *extra;
	o->host = "127.0.0.1";
	o->port = port;
	o->path = path;
	return make_path(path, len, feed, query);
}

int tacws_ws_connect(int port, tacws_wsgroup *g, const char *feed, const char *query,
                     const tacws_wsclient_opts *extra, int timeout_ms, tacws_wsclient **out,
                     int *http_status)
{
	tacws_wsclient_opts o;
	char path[1024];
	int rc = make_opts(&o, path, sizeof(path), port, feed, query, extra);
	if (rc)
		return rc;
	return tacws_wsclient_connect(g, &o, timeout_ms, out, http_status);
}

int tacws_ws_start(int port, tacws_wsgroup *g, const char *feed, const char *query,
                   const tacws_wsclient_opts *extra, tacws_wsclient **out)
{
	tacws_wsclient_opts o;
	char path[1024];
	int rc = make_opts(&o, path, sizeof(path), port, feed, query, extra);
	if (rc)
		return rc;
	return tacws_wsclient_start(g, &o, out);
}

int tacws_ws_next(tacws_wsclient *c, int timeout_ms, json_object **msg)
{
	char *text;
	*msg = NULL;
	int rc = tacws_wsclient_recv(c, timeout_ms, &text, NULL);
	if (rc)
		return rc;
	json_object *o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		fprintf(stderr, "ws fixture: not a JSON object: %.200s\n", text);
		json_object_put(o);
		free(text);
		return -EBADMSG;
	}
	free(text);
	*msg = o;
	return 0;
}

static void give(json_object *o, json_object **msg)
{
	if (msg)
		*msg = o;
	else
		json_object_put(o);
}

int tacws_ws_expect(tacws_wsclient *c, const char *type, int timeout_ms, json_object **msg)
{
	json_object *o;
	if (msg)
		*msg = NULL;
	int rc = tacws_ws_next(c, timeout_ms, &o);
	if (rc)
		return rc;
	const char *t = tacws_ws_type(o);
	if (!t || strcmp(t, type)) {
		fprintf(stderr, "ws fixture: expected type %s, got %s\n", type, t ? t : "(none)");
		rc = -EBADMSG;
	}
	give(o, msg);
	return rc;
}

int tacws_ws_wait_type(tacws_wsclient *c, const char *type, int timeout_ms, json_object **msg)
{
	long long deadline = tacws_test_now_ms() + timeout_ms;
	if (msg)
		*msg = NULL;
	for (;;) {
		json_object *o;
		long long left = deadline - tacws_test_now_ms();
		int rc = tacws_ws_next(c, left > 0 ? (int)left : 0, &o);
		if (rc == -EBADMSG)
			continue;
		if (rc)
			return rc;
		const char *t = tacws_ws_type(o);
		if (t && !strcmp(t, type)) {
			give(o, msg);
			return 0;
		}
		json_object_put(o);
	}
}

int tacws_ws_expect_silence(tacws_wsclient *c, int ms, json_object **msg)
{
	char *text;
	size_t len;
	if (msg)
		*msg = NULL;
	int rc = tacws_wsclient_recv(c, ms, &text, &len);
	if (rc == -ETIMEDOUT)
		return 0;
	if (rc)
		return rc;
	fprintf(stderr, "ws fixture: expected silence, got %.200s\n", text);
	if (msg)
		*msg = json_tokener_parse(text);
	free(text);
	return -EEXIST;
}

long long tacws_ws_seq(json_object *msg)
{
	json_object *v;
	if (!msg || !json_object_object_get_ex(msg, "seq", &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

static const char *get_string(json_object *msg, const char *key)
{
	json_object *v;
	if (!msg || !json_object_object_get_ex(msg, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *tacws_ws_type(json_object *msg)
{
	return get_string(msg, "type");
}

const char *tacws_ws_timestamp(json_object *msg)
{
	return get_string(msg, "timestamp");
}

json_object *tacws_ws_data(json_object *msg)
{
	json_object *v;
	return msg && json_object_object_get_ex(msg, "data", &v) ? v : NULL;
}

int tacws_ws_send_text(tacws_wsclient *c, const char *text)
{
	return tacws_wsclient_send(c, text, strlen(text), 0);
}

int tacws_ws_ping(tacws_wsclient *c, long long timestamp, int timeout_ms)
{
	char buf[96];
	snprintf(buf, sizeof(buf), "{\"type\":\"ping\",\"timestamp\":%lld}", timestamp);
	int rc = tacws_ws_send_text(c, buf);
	long long deadline = tacws_test_now_ms() + timeout_ms;
	while (!rc) {
		json_object *o, *ts;
		long long left = deadline - tacws_test_now_ms();
		rc = tacws_ws_wait_type(c, "pong", left > 0 ? (int)left : 0, &o);
		if (rc)
			break;
		int match = json_object_object_get_ex(o, "timestamp", &ts) &&
		            json_object_get_int64(ts) == timestamp;
		json_object_put(o);
		if (match)
			return 0;
	}
	return rc;
}
