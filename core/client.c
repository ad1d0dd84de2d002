#include "client.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "feed.h"
#include "input.h"
#include "server.h"
#include "upgrade.h"

/* client_messages_per_s as a token bucket holding one second's worth. */
static bool rate_ok(tacws_server *srv, tacws_conn *conn)
{
	double rate = (double)srv->cfg->client_messages_per_s;
	lws_usec_t now = lws_now_usecs();
	if (conn->rx.rate_last)
		conn->rx.rate_tokens += rate * (double)(now - conn->rx.rate_last) / LWS_US_PER_SEC;
	if (!conn->rx.rate_last || conn->rx.rate_tokens > rate)
		conn->rx.rate_tokens = rate;
	conn->rx.rate_last = now;
	if (conn->rx.rate_tokens < 1)
		return false;
	conn->rx.rate_tokens -= 1;
	return true;
}

static void mux_change(tacws_server *srv, tacws_conn *conn, json_object *feeds, bool subscribe)
{
	size_t n = json_object_array_length(feeds);
	for (size_t i = 0; i < n; i++) {
		tacws_sub_request req;
		char err[128];
		if (tacws_sub_request_parse(json_object_array_get_idx(feeds, i), &req, err, sizeof err)) {
			srv->metrics.messages_ignored++;
			srv->metrics.bad_input[TACWS_INPUT_TOPIC]++;
			tacws_conn_send_error(conn, err, NULL);
			continue;
		}
		/* a name with a NUL inside is refused by the route as it is by the parser */
		const char *name = req.topic;
		tacws_route r;
		if (strlen(name) != req.topic_len || tacws_route_topic(srv, name, req.topic_len, &r)) {
			srv->metrics.messages_ignored++;
			srv->metrics.bad_input[TACWS_INPUT_TOPIC]++;
			tacws_conn_send_error(conn, "unknown feed or bad parameter", name);
			continue;
		}
		tacws_sub *existing = tacws_conn_find_sub(conn, r.feed, r.param);
		if (!subscribe) {
			if (existing)
				tacws_unsubscribe(existing);
			continue;
		}
		if (existing)
			continue;
		if ((long)tacws_conn_sub_count(conn) >= srv->cfg->max_subscriptions) {
			srv->metrics.limit_hits[TACWS_LIMIT_SUBSCRIPTIONS]++;
			tacws_conn_send_error(conn, "too many subscriptions", name);
			continue;
		}
		tacws_subscribe_with(conn, r.feed, r.param, &req.opts);
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
		tacws_conn_send_json(conn, reply);
		break;
	}
	case TACWS_CLIENT_READY:
		break; /* older dashboards announce themselves; nothing to do */
	case TACWS_CLIENT_SUBSCRIBE:
	case TACWS_CLIENT_UNSUBSCRIBE:
		if (tacws_conn_is_mux(conn)) {
			mux_change(srv, conn, m.feeds, m.kind == TACWS_CLIENT_SUBSCRIBE);
			break;
		}
		srv->metrics.messages_ignored++;
		tacws_conn_send_error(conn, "subscribe and unsubscribe work on the multiplexed socket", NULL);
		break;
	case TACWS_CLIENT_INVALID:
		srv->metrics.messages_ignored++;
		srv->metrics.bad_input[TACWS_INPUT_CLIENT_MESSAGE]++;
		tacws_conn_send_error(conn, "expected a JSON object with a string \"type\"", NULL);
		break;
	case TACWS_CLIENT_UNKNOWN:
		srv->metrics.messages_ignored++;
		break;
	}
	tacws_client_msg_clear(&m);
}

int tacws_client_receive(struct lws *wsi, tacws_server *srv, tacws_conn *conn, const void *in,
			 size_t len)
{
	long max = srv->cfg->max_inbound_bytes;
	if ((long)(conn->rx.len + len) > max) {
		srv->metrics.oversized_closes++;
		static const char reason[] = "message too big";
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason,
				 sizeof reason - 1);
		return -1;
	}
	if (!lws_frame_is_binary(wsi) || conn->rx.len) {
		char *grown = realloc(conn->rx.buf, conn->rx.len + len + 1);
		if (!grown)
			return -1;
		conn->rx.buf = grown;
		memcpy(conn->rx.buf + conn->rx.len, in, len);
		conn->rx.len += len;
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
	if (!lws_frame_is_binary(wsi) && !tacws_utf8_valid(conn->rx.buf, conn->rx.len)) {
		srv->metrics.bad_input[TACWS_INPUT_UTF8]++;
		static const char reason[] = "invalid UTF-8";
		lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, (unsigned char *)reason,
				 sizeof reason - 1);
		return -1;
	}
	if (lws_frame_is_binary(wsi))
		srv->metrics.messages_ignored++;
	else if (conn->rx.buf)
		on_client_message(srv, conn, conn->rx.buf, conn->rx.len);
	conn->rx.len = 0;
	return 0;
}

int tacws_client_open(struct lws *wsi, tacws_server *srv, tacws_conn *conn)
{
	char path[512];
	tacws_route r;
	if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0 ||
	    tacws_route_path(srv, path, &r))
		return -1; /* tacws_upgrade_check let it through, so this does not happen */
	tacws_sub_options opts;
	if (tacws_route_options(wsi, &opts, NULL, 0))
		return -1; /* refused by tacws_upgrade_check too */
	return tacws_conn_open(srv, conn, wsi, r.mux, r.feed, r.param, &opts);
}

void tacws_client_closed(tacws_conn *conn)
{
	if (!conn)
		return;
	free(conn->rx.buf);
	conn->rx.buf = NULL;
	conn->rx.len = 0;
}
