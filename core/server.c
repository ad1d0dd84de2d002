#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "input.h"
#include "loader.h"
#include "log.h"
#include "server.h"

struct tacws_cmd {
	struct tacws_cmd *next;
	bool publish;
	char *base, *param, *type;
	json_object *data;
};

static void cmd_free(struct tacws_cmd *c)
{
	free(c->base);
	free(c->param);
	free(c->type);
	json_object_put(c->data);
	free(c);
}

static tacws_feed *feed_by_name(tacws_server *srv, const char *base)
{
	return tacws_feed_find(srv, base, strlen(base));
}

static int queue_cmd(tacws_server *srv, bool publish, const char *base, const char *param,
		     const char *type, json_object *data)
{
	/* Any thread: the feed list belongs to the loop (a reload changes it), so
	 * the command is queued unchecked and the loop drops it for an unknown feed. */
	struct tacws_cmd *c = calloc(1, sizeof *c);
	if (!c) {
		json_object_put(data);
		return -ENOMEM;
	}
	c->publish = publish;
	c->data = data;
	c->base = strdup(base);
	c->param = param ? strdup(param) : NULL;
	c->type = type ? strdup(type) : NULL;
	if (!c->base || (param && !c->param) || (type && !c->type)) {
		cmd_free(c);
		return -ENOMEM;
	}
	pthread_mutex_lock(&srv->cmd_lock);
	*srv->cmds_tail = c;
	srv->cmds_tail = &c->next;
	pthread_mutex_unlock(&srv->cmd_lock);
	if (srv->lws)
		lws_cancel_service(srv->lws);
	return 0;
}

int tacws_server_request_poll(tacws_server *srv, const char *base, const char *param)
{
	return queue_cmd(srv, false, base, param, NULL, NULL);
}

int tacws_server_request_publish(tacws_server *srv, const char *base, const char *param,
				 const char *type, json_object *data)
{
	return queue_cmd(srv, true, base, param, type, data);
}

static void run_cmds(tacws_server *srv)
{
	pthread_mutex_lock(&srv->cmd_lock);
	struct tacws_cmd *c = srv->cmds;
	srv->cmds = NULL;
	srv->cmds_tail = &srv->cmds;
	pthread_mutex_unlock(&srv->cmd_lock);
	while (c) {
		struct tacws_cmd *next = c->next;
		tacws_feed *feed = feed_by_name(srv, c->base);
		if (!feed) {
			tacws_log_debug("server", "dropped a request for unknown feed '%s'", c->base);
		} else if (c->publish) {
			tacws_feed_publish(feed, c->param, c->type, c->data);
			c->data = NULL;
		} else {
			tacws_feed_poll_now(feed, c->param);
		}
		cmd_free(c);
		c = next;
	}
}

/* --- routing --- */

struct route {
	tacws_feed *feed; /* NULL with mux */
	bool mux;
	char param[260];
};

/* Maps a WebSocket path to a feed. Returns 0, 404 or 400. */
static int route_ws(tacws_server *srv, const char *path, struct route *r)
{
	memset(r, 0, sizeof *r);
	tacws_topic_name t;
	int rc = tacws_ws_path_parse(srv->cfg->api_prefix, path, &r->mux, &t);
	if (rc || r->mux)
		return rc == -ENOENT ? 404 : rc ? 400 : 0;
	r->feed = tacws_feed_find(srv, t.base, strlen(t.base));
	if (!r->feed)
		return 404;
	if (!r->feed->param_name)
		return t.has_param ? 404 : 0;
	if (!t.has_param || !tacws_feed_param_ok(r->feed, t.param))
		return 400;
	snprintf(r->param, sizeof r->param, "%s", t.param);
	return 0;
}

/* Constant-time comparison, so a token cannot be guessed byte by byte. */
static bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
	return diff == 0;
}

static bool bearer_ok(struct lws *wsi, const char *token)
{
	char auth[512];
	if (lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
	    !strncasecmp(auth, "Bearer ", 7))
		return secret_equal(auth + 7, token);
	return false;
}

static bool token_ok(struct lws *wsi, const char *token)
{
	if (!*token)
		return true;
	if (bearer_ok(wsi, token))
		return true;
	char arg[512];
	const char *v = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof arg);
	return v && secret_equal(v, token);
}

/* allowed_origins, beside the same origin: a page of the Host the request
 * came to (the dashboard tacwsd serves) is never cross-site. */
static bool origin_ok(struct lws *wsi, const char *allowed)
{
	char origin[256], host[256];
	if (!*allowed || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
		return true; /* not a browser, or no list */
	if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) > 0 &&
	    !strncasecmp(origin, "http://", 7) && !strcasecmp(origin + 7, host))
		return true;
	size_t olen = strlen(origin);
	for (const char *p = allowed; *p;) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && p[m - 1] == ' ')
			m--;
		if (m && m == olen && !strncasecmp(p, origin, m))
			return true;
		p += n;
	}
	return false;
}

/* max_connections_per_ip: the peer's address may hold that many sockets. */
static bool peer_ok(struct lws *wsi, tacws_server *srv)
{
	long max = srv->cfg->max_connections_per_ip;
	if (!max)
		return true;
	char peer[64];
	lws_get_peer_simple(wsi, peer, sizeof peer);
	return tacws_peers_count(srv, peer) < max;
}

/* client_messages_per_s as a token bucket holding one second's worth. */
static bool rate_ok(tacws_server *srv, tacws_conn *conn)
{
	double rate = (double)srv->cfg->client_messages_per_s;
	lws_usec_t now = lws_now_usecs();
	if (conn->rate_last)
		conn->rate_tokens += rate * (double)(now - conn->rate_last) / LWS_US_PER_SEC;
	if (!conn->rate_last || conn->rate_tokens > rate)
		conn->rate_tokens = rate;
	conn->rate_last = now;
	if (conn->rate_tokens < 1)
		return false;
	conn->rate_tokens -= 1;
	return true;
}

/* --- HTTP --- */

static int http_send(struct lws *wsi, tacws_conn *pss, int status, const char *type, char *body)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
					   *end = buf + sizeof buf - 1;
	size_t len = body ? strlen(body) : 0;
	if (lws_add_http_common_headers(wsi, (unsigned int)status, type, len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end)) {
		free(body);
		return 1;
	}
	pss->http_body = body;
	pss->http_len = len;
	pss->http_sent = 0;
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_error(struct lws *wsi, tacws_conn *pss, int status, const char *message)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(message));
	char *body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return http_send(wsi, pss, status, "application/json", body);
}

static int http_write_more(struct lws *wsi, tacws_conn *pss)
{
	unsigned char buf[LWS_PRE + 8192];
	size_t left = pss->http_len - pss->http_sent;
	size_t n = left < sizeof buf - LWS_PRE ? left : sizeof buf - LWS_PRE;
	if (n)
		memcpy(buf + LWS_PRE, pss->http_body + pss->http_sent, n);
	bool last = n == left;
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
	    (int)n)
		return -1;
	pss->http_sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	free(pss->http_body);
	pss->http_body = NULL;
	return pss->http_close || lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Answers a POST step's status, or goes on reading the body (status 0).
 * body is read only after the step that fills it has run. */
static int http_post_reply(struct lws *wsi, tacws_conn *pss, int status, char **body)
{
	if (!status)
		return 0;
	if (!*body)
		return http_error(wsi, pss, 500, "out of memory");
	return http_send(wsi, pss, status, "application/json", *body);
}

static const char *mime_for(const char *path)
{
	static const char *const map[][2] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
		{".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
		{".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(dot, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

/* Serves a file of web_dir; nothing outside it, whatever the path says. */
static int serve_static(struct lws *wsi, tacws_conn *pss, tacws_server *srv, const char *uri)
{
	const char *web = srv->cfg->web_dir;
	if (!*web)
		return http_error(wsi, pss, 404, "not found");
	if (uri[0] != '/' || strstr(uri, "..") || strchr(uri, '\\') || strstr(uri, "//"))
		return http_error(wsi, pss, 404, "not found");
	char path[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	snprintf(path, sizeof path, "%s%s%s", web, uri, uri[strlen(uri) - 1] == '/' ? "index.html" : "");
	if (!realpath(web, root) || !realpath(path, real) || strncmp(real, root, strlen(root)) ||
	    (real[strlen(root)] != '/' && real[strlen(root)] != '\0'))
		return http_error(wsi, pss, 404, "not found");
	int n = lws_serve_http_file(wsi, real, mime_for(real), NULL, 0);
	if (n < 0)
		return -1;
	return 0;
}

static int handle_http(struct lws *wsi, tacws_conn *pss, tacws_server *srv, const char *uri)
{
	srv->metrics.http_requests++;
	char *body = NULL;
	const char *type = NULL;
	int status = 0;
	char feeds_path[128];
	snprintf(feeds_path, sizeof feeds_path, "%s/feeds", srv->cfg->api_prefix);
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	if (get && !strcmp(uri, "/healthz"))
		status = tacws_http_healthz(srv, &body, &type);
	else if (get && !strcmp(uri, "/metrics"))
		status = tacws_http_metrics(srv, &body, &type);
	else if (get && !strcmp(uri, feeds_path))
		status = tacws_http_feeds(srv, &body, &type);
	else if (get && !strncmp(uri, srv->cfg->api_prefix, strlen(srv->cfg->api_prefix)))
		return http_error(wsi, pss, 404, "no such endpoint");
	else if (get)
		return serve_static(wsi, pss, srv, uri);
	else
		return http_post_reply(wsi, pss, tacws_http_post_begin(srv, wsi, pss, uri, &body),
				       &body);
	if (!body)
		return http_error(wsi, pss, 500, "out of memory");
	return http_send(wsi, pss, status, type, body);
}

/* --- WebSocket --- */

static int upgrade_check(struct lws *wsi, tacws_server *srv)
{
	char path[512];
	int status = 0;
	const char *why = "";
	struct route r;
	if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0) {
		status = 404, why = "no such feed";
	} else if ((status = route_ws(srv, path, &r))) {
		why = status == 404 ? "no such feed" : "bad parameter";
	} else if (!origin_ok(wsi, srv->cfg->allowed_origins)) {
		status = 403, why = "origin not allowed";
		srv->metrics.auth_failures[TACWS_AUTH_ORIGIN]++;
	} else if (!token_ok(wsi, srv->cfg->ws_token)) {
		status = 401, why = "missing or wrong token";
		srv->metrics.auth_failures[TACWS_AUTH_WS_TOKEN]++;
	} else if (srv->metrics.connections_current >= srv->cfg->max_connections || srv->stopping) {
		status = 503, why = "too many connections";
		srv->metrics.limit_hits[TACWS_LIMIT_CONNECTIONS] += !srv->stopping;
	} else if (!peer_ok(wsi, srv)) {
		status = 429, why = "too many connections from this address";
		srv->metrics.limit_hits[TACWS_LIMIT_CONNECTIONS_IP]++;
	}
	if (!status)
		return 0;
	srv->metrics.connections_rejected++;
	tacws_log_debug("ws", "upgrade refused (%d %s): %s", status, why, path);
	lws_return_http_status(wsi, (unsigned int)status, why);
	return 1;
}

static void send_json(tacws_conn *conn, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	tacws_msg *m = tacws_msg_from(s, strlen(s));
	if (m) {
		tacws_conn_enqueue(conn, NULL, NULL, m);
		tacws_msg_unref(m);
	}
	json_object_put(o);
}

static void send_error(tacws_conn *conn, const char *message, const char *topic)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("error"));
	json_object_object_add(o, "message", json_object_new_string(message));
	if (topic)
		json_object_object_add(o, "feed", json_object_new_string(topic));
	send_json(conn, o);
}

static tacws_sub *find_sub(tacws_conn *conn, tacws_feed *feed, const char *param)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&conn->subs)) {
		tacws_sub *s = lws_container_of(d, tacws_sub, conn_link);
		if (s->topic->feed == feed &&
		    ((!param && !s->topic->param) ||
		     (param && s->topic->param && !strcmp(param, s->topic->param))))
			return s;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

static void mux_change(tacws_server *srv, tacws_conn *conn, json_object *feeds, bool subscribe)
{
	size_t n = json_object_array_length(feeds);
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(feeds, i);
		const char *name = json_object_is_type(item, json_type_string)
					   ? json_object_get_string(item)
					   : NULL;
		char path[400];
		struct route r;
		if (!name || snprintf(path, sizeof path, "%s/ws/%s", srv->cfg->api_prefix, name) >=
				     (int)sizeof path ||
		    route_ws(srv, path, &r) || r.mux) {
			srv->metrics.messages_ignored++;
			srv->metrics.bad_input[TACWS_INPUT_TOPIC]++;
			send_error(conn, "unknown feed or bad parameter", name);
			continue;
		}
		const char *param = r.feed->param_name ? r.param : NULL;
		tacws_sub *existing = find_sub(conn, r.feed, param);
		if (!subscribe) {
			if (existing)
				tacws_unsubscribe(existing);
			continue;
		}
		if (existing)
			continue;
		if ((long)conn->subs.count >= srv->cfg->max_subscriptions) {
			srv->metrics.limit_hits[TACWS_LIMIT_SUBSCRIPTIONS]++;
			send_error(conn, "too many subscriptions", name);
			continue;
		}
		tacws_subscribe(conn, r.feed, param);
	}
}

static void on_client_message(tacws_server *srv, tacws_conn *conn, const char *text, size_t len)
{
	tacws_client_msg m;
	tacws_client_msg_parse(text, len, &m);
	switch (m.kind) {
	case TACWS_CLIENT_PING: {
		json_object *reply = json_object_new_object();
		json_object_object_add(reply, "type", json_object_new_string("pong"));
		if (m.timestamp)
			json_object_object_add(reply, "timestamp", json_object_get(m.timestamp));
		send_json(conn, reply);
		break;
	}
	case TACWS_CLIENT_READY:
		break; /* older dashboards announce themselves; nothing to do */
	case TACWS_CLIENT_SUBSCRIBE:
	case TACWS_CLIENT_UNSUBSCRIBE:
		if (conn->mux) {
			mux_change(srv, conn, m.feeds, m.kind == TACWS_CLIENT_SUBSCRIBE);
			break;
		}
		srv->metrics.messages_ignored++;
		send_error(conn, "subscribe and unsubscribe work on the multiplexed socket", NULL);
		break;
	case TACWS_CLIENT_INVALID:
		srv->metrics.messages_ignored++;
		srv->metrics.bad_input[TACWS_INPUT_CLIENT_MESSAGE]++;
		send_error(conn, "expected a JSON object with a string \"type\"", NULL);
		break;
	case TACWS_CLIENT_UNKNOWN:
		srv->metrics.messages_ignored++;
		break;
	}
	tacws_client_msg_clear(&m);
}

static int on_receive(struct lws *wsi, tacws_server *srv, tacws_conn *conn, const void *in,
		      size_t len)
{
	long max = srv->cfg->max_inbound_bytes;
	if ((long)(conn->rx_len + len) > max) {
		srv->metrics.oversized_closes++;
		static const char reason[] = "message too big";
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason,
				 sizeof reason - 1);
		return -1;
	}
	if (!lws_frame_is_binary(wsi) || conn->rx_len) {
		char *grown = realloc(conn->rx, conn->rx_len + len + 1);
		if (!grown)
			return -1;
		conn->rx = grown;
		memcpy(conn->rx + conn->rx_len, in, len);
		conn->rx_len += len;
	}
	if (!lws_is_final_fragment(wsi))
		return 0;
	if (!rate_ok(srv, conn)) {
		srv->metrics.limit_hits[TACWS_LIMIT_MESSAGE_RATE]++;
		static const char reason[] = "too many messages";
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)reason,
				 sizeof reason - 1);
		return -1;
	}
	if (!lws_frame_is_binary(wsi) && !tacws_utf8_valid(conn->rx, conn->rx_len)) {
		srv->metrics.bad_input[TACWS_INPUT_UTF8]++;
		static const char reason[] = "invalid UTF-8";
		lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, (unsigned char *)reason,
				 sizeof reason - 1);
		return -1;
	}
	if (lws_frame_is_binary(wsi))
		srv->metrics.messages_ignored++;
	else if (conn->rx)
		on_client_message(srv, conn, conn->rx, conn->rx_len);
	conn->rx_len = 0;
	return 0;
}

static int on_established(struct lws *wsi, tacws_server *srv, tacws_conn *conn)
{
	char path[512];
	struct route r;
	memset(conn, 0, sizeof *conn);
	conn->wsi = wsi;
	lws_get_peer_simple(wsi, conn->peer, sizeof conn->peer);
	if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0 || route_ws(srv, path, &r))
		return -1; /* upgrade_check let it through, so this does not happen */
	if (tacws_peers_add(srv, conn->peer))
		return -1;
	char ext[256];
	conn->deflate = srv->cfg->compression &&
			lws_hdr_copy(wsi, ext, sizeof ext, WSI_TOKEN_EXTENSIONS) > 0 &&
			strstr(ext, "permessage-deflate");
	srv->metrics.connections_compressed += conn->deflate;
	conn->established = true;
	conn->last_rx = lws_now_usecs();
	lws_dll2_add_tail(&conn->link, &srv->conns); /* in order of last_rx (conn.c) */
	srv->metrics.connections_total++;
	srv->metrics.connections_current++;
	conn->mux = r.mux;
	if (!r.mux && !tacws_subscribe(conn, r.feed, r.feed->param_name ? r.param : NULL))
		return -1;
	return 0;
}

static int callback_tacws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			  size_t len)
{
	tacws_conn *conn = user;
	struct lws_context *ctx = lws_get_context(wsi);
	tacws_server *srv = ctx ? lws_context_user(ctx) : NULL;
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (srv && srv->workers) {
			tacws_feed_collect(srv);
			run_cmds(srv);
		}
		return 0;
	case LWS_CALLBACK_HTTP:
		tacws_handshake_done(srv, wsi);
		return conn ? handle_http(wsi, conn, srv, in) : -1;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return conn && conn->http_body ? http_write_more(wsi, conn) : 0;
	case LWS_CALLBACK_HTTP_BODY: {
		char *body = NULL;
		return conn ? http_post_reply(wsi, conn,
					      tacws_http_post_body(srv, conn, in, len, &body), &body)
			    : -1;
	}
	case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
		char *body = NULL;
		return conn ? http_post_reply(wsi, conn, tacws_http_post_complete(srv, conn, &body),
					      &body)
			    : -1;
	}
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		/* a connection that dies before its headers are in has no session data */
		if (conn) {
			free(conn->http_body);
			conn->http_body = NULL;
			tacws_http_post_free(conn);
		} else if (srv) {
			srv->metrics.handshakes_incomplete++; /* handshake_timeout_s, or a peer gone */
		}
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		tacws_handshake_done(srv, wsi);
		return upgrade_check(wsi, srv);
	case LWS_CALLBACK_WSI_DESTROY:
		tacws_handshake_done(srv, wsi); /* gone before its headers were in */
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		return on_established(wsi, srv, conn);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return tacws_conn_drain(conn);
	case LWS_CALLBACK_RECEIVE:
		tacws_conn_seen(srv, conn);
		return on_receive(wsi, srv, conn, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		tacws_conn_seen(srv, conn);
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (conn && conn->established) {
			tacws_conn_release(conn);
			tacws_peers_remove(srv, conn->peer);
			srv->metrics.connections_compressed -= conn->deflate;
			lws_dll2_remove(&conn->link);
			srv->metrics.connections_current--;
			conn->established = false;
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* [server] compression = 1: lws's own permessage-deflate, offered to clients that ask. */
static const struct lws_extension deflate_extension[] = {
	{"permessage-deflate", lws_extension_callback_pm_deflate,
	 "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
	{NULL, NULL, NULL},
};

/* rx_buffer_size: lws gives every connection a receive buffer of this size (4 KiB when 0);
 * client messages are small, and longer ones arrive in pieces on_receive joins.
 * tx_packet_size: lws caps each send() at it (else at rx_buffer_size), so a large message
 * goes out in one write instead of 4 KiB pieces, each a syscall and a pass of the loop. */
static const struct lws_protocols protocols[] = {
	{"tacws", callback_tacws, sizeof(tacws_conn), 512, 0, NULL, 256 * 1024},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		n--;
	tacws_log(level == LLL_ERR ? TACWS_LOG_WARN : TACWS_LOG_DEBUG, "lws", "%.*s", (int)n, line);
}

static void wake(void *arg)
{
	tacws_server *srv = arg;
	lws_cancel_service(srv->lws);
}

int tacws_server_create(tacws_config *cfg, tacws_server **out)
{
	tacws_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return -ENOMEM;
	srv->cfg = cfg;
	pthread_mutex_init(&srv->cmd_lock, NULL);
	srv->cmds_tail = &srv->cmds;
	tacws_now_iso(srv->started_at, sizeof srv->started_at);
	*out = srv;
	return 0;
}

/* Starts listening; plugins must be loaded. */
static int server_listen(tacws_server *srv)
{
	tacws_config *cfg = srv->cfg;
	lws_set_log_level(tacws_log_threshold >= TACWS_LOG_DEBUG ? LLL_ERR | LLL_WARN : LLL_ERR,
			  lws_log_emit);

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* listen.c owns the listening sockets */
	info.protocols = protocols;
	info.user = srv;
	/* No per-connection validity timer (lws's default pings at 300 s): each reset is a
	 * sorted insert walking every connection's timer. conn.c pings with one timer. */
	static const lws_retry_bo_t no_validity_timer = {.secs_since_valid_hangup = 0};
	info.retry_and_idle_policy = &no_validity_timer;
	/* The handshake deadline is listen.c's; these cover a request body or a keep-alive. */
	info.timeout_secs = (unsigned int)cfg->handshake_timeout_s;
	info.timeout_secs_ah_idle = (unsigned int)cfg->handshake_timeout_s;
	info.options = 0; /* UTF-8 is checked per message in on_receive, where it is counted */
	if (cfg->compression)
		info.extensions = deflate_extension;
	info.vhost_name = "tacws";
	info.server_string = "tacws";
	/* lws 4.1's own loop is poll(): every pass scans every descriptor, O(connections)
	 * per wake-up. On a libuv (epoll) loop of ours a pass costs O(ready sockets).
	 * (Not libev: lws 4.1 re-arms its libev timer without stopping it, so a timer
	 * set sooner than the pending one fires late.) */
	srv->loop = malloc(sizeof *srv->loop);
	if (!srv->loop || uv_loop_init(srv->loop)) {
		free(srv->loop);
		srv->loop = NULL;
		tacws_log_error("server", "cannot create the event loop");
		return -ENOMEM;
	}
	void *foreign_loops[1] = {srv->loop};
	info.foreign_loops = foreign_loops;
	info.options |= LWS_SERVER_OPTION_LIBUV;
	info.pcontext = &srv->lws; /* cleared when the staged destroy is done */
	srv->lws = lws_create_context(&info);
	if (!srv->lws) {
		tacws_log_error("server", "cannot start libwebsockets (is its libuv plugin, Debian's "
				"libwebsockets-evlib-uv, installed?)");
		return -ENOMEM;
	}
	srv->vhost = lws_get_vhost_by_name(srv->lws, "tacws");
	int lrc = srv->vhost ? tacws_listen_start(srv) : -ENOMEM;
	if (lrc)
		return lrc;
	tacws_conn_liveness_start(srv); /* pings: see conn.c */
	int rc = tacws_workers_start(&srv->workers, (int)cfg->workers, wake, srv);
	if (rc)
		return rc;
	tacws_log_info("server", "tacws listening on http://%s:%d/ (%zu feeds)", cfg->listen,
		       srv->port, srv->n_feeds);
	return 0;
}

static void shutdown_tick(lws_sorted_usec_list_t *sul)
{
	(void)sul; /* only wakes the loop so the shutdown loop checks its deadline */
}

int tacws_server_run(tacws_server *srv)
{
	int rc = server_listen(srv);
	if (rc)
		return rc;
	while (!srv->stop_requested) {
		if (srv->reload_requested) {
			srv->reload_requested = 0;
			tacws_server_reload(srv);
			/* lws re-arms its loop timer after an event: timers set here need one */
			lws_cancel_service(srv->lws);
		}
		uv_run(srv->loop, UV_RUN_ONCE);
	}

	srv->stopping = true;
	tacws_listen_stop(srv);
	lws_sul_cancel(&srv->liveness);
	tacws_log_info("server", "shutting down: closing %u connections", srv->conns.count);
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->conns)) {
		tacws_conn_close(lws_container_of(d, tacws_conn, link), LWS_CLOSE_STATUS_GOINGAWAY,
				 "server shutting down");
	}
	lws_end_foreach_dll(d);
	lws_sorted_usec_list_t tick;
	memset(&tick, 0, sizeof tick);
	lws_usec_t deadline = lws_now_usecs() + 3 * LWS_US_PER_SEC;
	while (srv->conns.count && lws_now_usecs() < deadline) {
		lws_sul_schedule(srv->lws, 0, &tick, shutdown_tick, 50 * LWS_US_PER_MS);
		lws_cancel_service(srv->lws); /* as after a reload */
		uv_run(srv->loop, UV_RUN_ONCE);
	}
	lws_sul_cancel(&tick);
	return 0;
}

void tacws_server_destroy(tacws_server *srv)
{
	if (!srv)
		return;
	bool workers_done = tacws_workers_stop(srv->workers, 3000);
	srv->workers = NULL;
	if (!workers_done)
		tacws_log_error("server", "a snapshot is still running; plugins are not unloaded");
	srv->stopping = true;
	/* Timers live in the lws context: drop topics before it goes. */
	for (size_t i = 0; workers_done && i < srv->n_feeds; i++)
		tacws_feed_drop_topics(srv->feeds[i]);
	/* On a loop of ours, lws destroys its context in stages: each call closes handles
	 * the loop then runs down, and lws clears srv->lws (info.pcontext) when done. */
	for (int stage = 0; srv->lws && stage < 4; stage++) {
		lws_context_destroy(srv->lws);
		if (srv->loop)
			uv_run(srv->loop, UV_RUN_DEFAULT);
	}
	if (srv->lws)
		tacws_log_warn("server", "libwebsockets did not finish closing");
	srv->lws = NULL;
	/* after lws: closing a connection still in its handshake drops its FIFO entry */
	tacws_listen_free(srv);
	if (srv->loop) {
		uv_run(srv->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(srv->loop))
			tacws_log_warn("server", "event loop still has open handles at exit");
		else
			free(srv->loop);
	}
	srv->loop = NULL;
	tacws_listen_release(srv);
	tacws_peers_free(srv);
	if (workers_done)
		tacws_plugins_unload(srv);
	struct tacws_cmd *c = srv->cmds;
	while (c) {
		struct tacws_cmd *next = c->next;
		cmd_free(c);
		c = next;
	}
	pthread_mutex_destroy(&srv->cmd_lock);
	free(srv);
}
