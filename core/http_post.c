/* POST endpoints: publish, refresh, [webhook.*]. Everything here runs on the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_post.h"

#include <libwebsockets.h>

#include "feed.h"
#include "input.h"
#include "jsontext.h"
#include "log.h"
#include "server.h"
#include "upgrade.h"

enum post_kind { POST_PUBLISH, POST_REFRESH, POST_WEBHOOK };

struct tacws_post {
	enum post_kind kind;
	int status; /* nonzero: refused before the body, answered once it is read */
	char error[128];
	tacws_feed *feed; /* refresh */
	const tacws_webhook_config *webhook; /* of a configuration kept until shutdown */
	char signature[256], event[80], content_type[128];
	char *body;
	size_t len, cap, expected;
};

static int reply_error(int status, const char *message, char **body)
{
	*body = tacws_json_error(message);
	return status;
}

static int reply_count(int status, const char *key, long n, char **body)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, key, json_object_new_int64(n));
	*body = tacws_json_text(o);
	return status;
}

/* A header by name ("X-Hub-Signature-256"), as lws keeps it: lower case, with
 * ':'. Its length, 0 when absent, -1 when it does not fit buf. */
static int header_named(struct lws *wsi, const char *name, char *buf, size_t len)
{
	char key[72];
	size_t n = 0;
	for (; n < sizeof key - 2 && name[n]; n++)
		key[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
	key[n++] = ':';
	key[n] = '\0';
	buf[0] = '\0';
	int have = name[0] ? lws_hdr_custom_length(wsi, key, (int)n) : 0;
	if (have <= 0)
		return 0;
	if ((size_t)have >= len || lws_hdr_custom_copy(wsi, buf, (int)len, key, (int)n) != have) {
		buf[0] = '\0';
		return -1;
	}
	return have;
}

/* Which endpoint uri names; 0 or 404. */
static int route_post(tacws_server *srv, const char *uri, struct tacws_post *p)
{
	const char *prefix = srv->cfg->api_prefix;
	size_t plen = strlen(prefix);
	if (strncmp(uri, prefix, plen))
		return 404;
	const char *rest = uri + plen;
	if (!strcmp(rest, "/publish")) {
		p->kind = POST_PUBLISH;
		return 0;
	}
	const tacws_config *cfg = srv->cfg;
	for (size_t i = 0; i < cfg->n_webhooks; i++)
		if (!strcmp(rest, cfg->webhooks[i].path)) {
			p->kind = POST_WEBHOOK;
			p->webhook = &cfg->webhooks[i];
			return 0;
		}
	static const char feeds[] = "/feeds/", refresh[] = "/refresh";
	size_t rlen = strlen(rest);
	if (strncmp(rest, feeds, sizeof feeds - 1) ||
	    rlen <= sizeof feeds - 1 + sizeof refresh - 1 ||
	    strcmp(rest + rlen - (sizeof refresh - 1), refresh))
		return 404;
	const char *name = rest + sizeof feeds - 1;
	size_t name_len = rlen - (sizeof feeds - 1) - (sizeof refresh - 1);
	if (!tacws_base_ok(name, name_len) || !(p->feed = tacws_feed_find(srv, name, name_len)))
		return 404;
	p->kind = POST_REFRESH;
	return 0;
}

static void refuse(struct tacws_post *p, int status, const char *why)
{
	p->status = status;
	snprintf(p->error, sizeof p->error, "%s", why);
}

static void check_auth(struct lws *wsi, tacws_server *srv, struct tacws_post *p)
{
	const tacws_config *cfg = srv->cfg;
	if (p->kind == POST_WEBHOOK) {
		if (!*p->webhook->secret)
			refuse(p, 403, "webhook disabled: no secret");
		return; /* the signature is checked on the whole body */
	}
	if (!*cfg->publish_token) {
		refuse(p, 403, "publish disabled: no publish_token");
		return;
	}
	if (!tacws_bearer_ok(wsi, cfg->publish_token)) {
		srv->metrics.auth_failures[TACWS_AUTH_PUBLISH_TOKEN]++;
		refuse(p, 401, "missing or wrong publish token");
	}
}

void tacws_http_post_free(tacws_post **post)
{
	if (!*post)
		return;
	free((*post)->body);
	free(*post);
	*post = NULL;
}

static int complete_publish(tacws_server *srv, struct tacws_post *p, char **body)
{
	tacws_publish_req req;
	char err[128];
	if (tacws_publish_parse(p->body ? p->body : "", p->len, &req, err, sizeof err)) {
		srv->metrics.bad_input[TACWS_INPUT_PUBLISH_BODY]++;
		return reply_error(400, err, body);
	}
	tacws_feed *feed = tacws_feed_find(srv, req.feed, strlen(req.feed));
	int status = 0;
	if (!feed)
		status = reply_error(404, "no such feed", body);
	else if (req.has_param && !tacws_feed_param_ok(feed, req.param))
		status = reply_error(400, "bad param for this feed", body);
	if (status) {
		json_object_put(req.data);
		return status;
	}
	srv->metrics.publishes++;
	int n = tacws_feed_publish(feed, req.has_param ? req.param : NULL, req.type, req.data);
	return reply_count(202, "subscribers", n, body);
}

static int complete_refresh(tacws_server *srv, struct tacws_post *p, char **body)
{
	char param[TACWS_PARAM_MAX + 1], err[128];
	bool has_param;
	if (tacws_refresh_parse(p->body ? p->body : "", p->len, param, &has_param, err,
	                        sizeof err)) {
		srv->metrics.bad_input[TACWS_INPUT_PUBLISH_BODY]++;
		return reply_error(400, err, body);
	}
	if (has_param && !tacws_feed_param_ok(p->feed, param))
		return reply_error(400, "bad param for this feed", body);
	srv->metrics.refreshes++;
	long topics = tacws_feed_poll_now(p->feed, has_param ? param : NULL);
	return reply_count(202, "topics", topics, body);
}

static bool signature_ok(const tacws_webhook_config *w, const struct tacws_post *p)
{
	if (w->scheme == TACWS_SIGNATURE_TOKEN)
		return p->signature[0] && tacws_secret_equal(p->signature, w->secret);
	return tacws_hmac_sha256_ok(w->secret, w->signature_prefix, p->signature, p->body, p->len);
}

static bool listed(char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Publishes the delivery to each feed in the webhook's publish list, through
 * the feed's webhook_data when it has one. Returns the subscribers reached. */
static int webhook_publish(tacws_server *srv, const tacws_webhook_config *w, const char *event,
			   json_object *payload)
{
	int n = 0;
	for (char **name = w->publish; name && *name; name++) {
		tacws_feed *feed = tacws_feed_find(srv, *name, strlen(*name));
		json_object *data = NULL;
		if (!feed)
			continue;
		if (w->payload_as_data)
			data = json_object_get(payload);
		else if (tacws_feed_webhook_data(feed, event, payload, &data))
			continue;
		n += tacws_feed_publish(feed, NULL, w->message_type, data);
	}
	return n;
}

static int complete_webhook(tacws_server *srv, struct tacws_post *p, char **body)
{
	const tacws_webhook_config *w = p->webhook;
	char err[128];
	if (!signature_ok(w, p)) {
		srv->metrics.auth_failures[TACWS_AUTH_WEBHOOK_SIGNATURE]++;
		snprintf(err, sizeof err, "bad or missing %s", w->signature_header);
		return reply_error(401, err, body);
	}
	json_object *payload = NULL;
	if (*w->event_header && !tacws_webhook_event_ok(p->event))
		snprintf(err, sizeof err, "%s is missing or malformed", w->event_header);
	else if (tacws_webhook_payload_parse(p->content_type, p->body ? p->body : "", p->len,
					     &payload, err, sizeof err))
		payload = NULL;
	if (!payload) {
		srv->metrics.bad_input[TACWS_INPUT_WEBHOOK_BODY]++;
		return reply_error(400, err, body);
	}
	srv->metrics.webhooks++;
	if (listed(w->ignore_events, p->event)) {
		json_object_put(payload);
		return reply_count(200, "subscribers", 0, body);
	}
	int n = webhook_publish(srv, w, p->event, payload);
	json_object_put(payload);
	for (char **name = w->refresh; name && *name; name++) {
		tacws_feed *feed = tacws_feed_find(srv, *name, strlen(*name));
		if (feed)
			tacws_feed_poll_now(feed, NULL);
	}
	return reply_count(202, "subscribers", n, body);
}

int tacws_http_post_complete(tacws_server *srv, tacws_post **post, char **body)
{
	struct tacws_post *p = *post;
	*body = NULL;
	if (!p)
		return 0;
	int status;
	if (p->status)
		status = reply_error(p->status, p->error, body);
	else if (p->kind == POST_PUBLISH)
		status = complete_publish(srv, p, body);
	else if (p->kind == POST_REFRESH)
		status = complete_refresh(srv, p, body);
	else
		status = complete_webhook(srv, p, body);
	tacws_http_post_free(post);
	return status;
}

/* The webhook's headers, each read whole or the request refused. */
static void webhook_headers(struct lws *wsi, struct tacws_post *p)
{
	if (header_named(wsi, p->webhook->signature_header, p->signature, sizeof p->signature) < 0 ||
	    header_named(wsi, p->webhook->event_header, p->event, sizeof p->event) < 0 ||
	    tacws_header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, p->content_type,
			      sizeof p->content_type) < 0)
		refuse(p, 431, "request header too long");
}

static int too_large(tacws_server *srv, tacws_post **post, bool *close_after, char **body)
{
	srv->metrics.limit_hits[TACWS_LIMIT_BODY_BYTES]++;
	tacws_http_post_free(post);
	*close_after = true; /* the rest of the body is not read */
	return reply_error(413, "body over max_body_bytes", body);
}

int tacws_http_post_begin(tacws_server *srv, struct lws *wsi, tacws_post **post, const char *uri,
                          bool *close_after, char **body)
{
	*body = NULL;
	tacws_http_post_free(post);
	char cl[32], te[32];
	int cl_len = tacws_header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl);
	int te_len = tacws_header_copy(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, te, sizeof te);
	/* Refused before its body is read: the body would be taken for the next request. */
	*close_after = te_len || cl_len < 0 || (cl_len && strcmp(cl, "0"));
	struct tacws_post route = {0};
	if (route_post(srv, uri, &route))
		return reply_error(404, "no such endpoint", body);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
		return reply_error(405, "method not allowed", body);
	size_t expected;
	const char *why;
	int status = tacws_post_framing(cl, cl_len, te_len, (size_t)srv->cfg->max_body_bytes,
					&expected, &why);
	if (status == 413)
		return too_large(srv, post, close_after, body);
	if (status)
		return reply_error(status, why, body);
	struct tacws_post *p = calloc(1, sizeof *p);
	if (!p)
		return reply_error(500, "out of memory", body);
	*close_after = false; /* the body is read: the connection can be kept */
	*p = route;
	p->expected = expected;
	*post = p;
	check_auth(wsi, srv, p);
	if (p->kind == POST_WEBHOOK && !p->status)
		webhook_headers(wsi, p);
	/* Refused on its headers: answered now, the body never read. */
	*close_after = p->status && p->expected;
	if (!p->expected || p->status)
		return tacws_http_post_complete(srv, post, body);
	return 0;
}

/* The body buffer grows with what arrived, never to the claimed
 * Content-Length before a byte of it is in. */
static int body_grow(struct tacws_post *p, size_t need)
{
	if (need <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap : 1024;
	while (cap < need)
		cap *= 2;
	if (cap > p->expected + 1)
		cap = p->expected + 1;
	char *grown = realloc(p->body, cap);
	if (!grown)
		return -1;
	p->body = grown;
	p->cap = cap;
	return 0;
}

int tacws_http_post_body(tacws_server *srv, tacws_post **post, const void *in, size_t len,
                         bool *close_after, char **body)
{
	struct tacws_post *p = *post;
	*body = NULL;
	if (!p)
		return 0;
	if (len > p->expected - p->len)
		return too_large(srv, post, close_after, body); /* more than Content-Length said */
	if (body_grow(p, p->len + len + 1)) {
		tacws_http_post_free(post);
		*close_after = true;
		return reply_error(500, "out of memory", body);
	}
	memcpy(p->body + p->len, in, len);
	p->len += len;
	p->body[p->len] = '\0';
	return 0;
}
