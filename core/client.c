#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "feed.h"
#include "input.h"
#include "server.h"
#include "upgrade.h"

/* A token bucket holding one second's worth of rate: takes one if it can. */
static bool bucket_take(double *tokens, lws_usec_t *last, long per_s)
{
	double rate = (double)per_s;
	lws_usec_t now = lws_now_usecs();
	if (*last)
		*tokens += rate * (double)(now - *last) / LWS_US_PER_SEC;
	if (!*last || *tokens > rate)
		*tokens = rate;
	*last = now;
	if (*tokens < 1)
		return false;
	*tokens -= 1;
	return true;
}

/* client_messages_per_s */
static bool rate_ok(tacws_server *srv, tacws_conn *conn)
{
	return bucket_take(&conn->rx.rate_tokens, &conn->rx.rate_last,
			   srv->cfg->client_messages_per_s);
}

/* Whether conn may subscribe to a topic of r: one that does not exist yet
 * needs room in its feed (max_topics) and in the connection's rate of new
 * topics (topic_creations_per_s). NULL, or why not. */
static const char *topic_refusal(tacws_server *srv, tacws_conn *conn, const tacws_route *r)
{
	bool creates;
	if (tacws_feed_topic_room(r->feed, r->param, &creates)) {
		srv->metrics.limit_hits[TACWS_LIMIT_TOPICS]++;
		return "too many live topics for this feed (max_topics)";
	}
	if (creates && !bucket_take(&conn->rx.topic_tokens, &conn->rx.topic_last,
				    srv->cfg->topic_creations_per_s)) {
		srv->metrics.limit_hits[TACWS_LIMIT_TOPIC_RATE]++;
		return "new topics too fast (topic_creations_per_s)";
	}
	return NULL;
}

/* The names one subscribe or unsubscribe refused: answered with one error
 * (a message listing 780 bad names is not worth 780 answers). */
struct refusals {
	const char *message, *first; /* the first refusal's reason and name */
	char message_copy[128];	     /* the reason, when it was the parser's words */
	size_t n;
};

static void refuse_name(struct refusals *r, const char *message, const char *name)
{
	if (!r->n++) {
		r->message = message;
		r->first = name;
	}
}

static void send_refusals(tacws_conn *conn, const struct refusals *r)
{
	if (r->n == 1)
		tacws_conn_send_error(conn, r->message, r->first);
	if (r->n <= 1)
		return;
	char text[192];
	snprintf(text, sizeof text, "%s (and %zu more names refused)", r->message, r->n - 1);
	tacws_conn_send_error(conn, text, r->first);
}

static void mux_change(tacws_server *srv, tacws_conn *conn, json_object *feeds, bool subscribe)
{
	size_t n = json_object_array_length(feeds);
	struct refusals refused = {0};
	for (size_t i = 0; i < n; i++) {
		tacws_sub_request req;
		char err[128];
		if (tacws_sub_request_parse(json_object_array_get_idx(feeds, i), &req, err, sizeof err)) {
			srv->metrics.messages_ignored++;
			srv->metrics.bad_input[TACWS_INPUT_TOPIC]++;
			if (!refused.n)
				snprintf(refused.message_copy, sizeof refused.message_copy, "%s", err);
			refuse_name(&refused, refused.message_copy, NULL);
			continue;
		}
		/* a name with a NUL inside is refused by the route as it is by the parser */
		const char *name = req.topic;
		tacws_route r;
		if (strlen(name) != req.topic_len || tacws_route_topic(srv, name, req.topic_len, &r)) {
			srv->metrics.messages_ignored++;
			srv->metrics.bad_input[TACWS_INPUT_TOPIC]++;
			refuse_name(&refused, "unknown feed or bad parameter", name);
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
			refuse_name(&refused, "too many subscriptions", name);
			continue;
		}
		const char *why = topic_refusal(srv, conn, &r);
		if (why) {
			refuse_name(&refused, why, name);
			continue;
		}
		tacws_subscribe_with(conn, r.feed, r.param, &req.opts);
	}
	send_refusals(conn, &refused);
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

static int close_with(struct lws *wsi, enum lws_close_status code, const char *reason)
{
	lws_close_reason(wsi, code, (unsigned char *)reason, strlen(reason));
	return -1;
}

/* One more frame or message against client_messages_per_s: each fragment of
 * a message counts, so a message cut in 1-byte frames costs what it is. */
static bool frame_counted(struct lws *wsi, tacws_server *srv, tacws_conn *conn)
{
	bool frame_end = !lws_remaining_packet_payload(wsi);
	if (!frame_end || rate_ok(srv, conn))
		return true;
	srv->metrics.limit_hits[TACWS_LIMIT_MESSAGE_RATE]++;
	return false;
}

void tacws_client_frames(void *ctx, const tacws_frame_counts *seen)
{
	tacws_conn *conn = ctx;
	tacws_server *srv = conn->srv;
	if (conn->close_code)
		return;
	if (seen->unmasked) {
		srv->metrics.bad_input[TACWS_INPUT_UNMASKED_FRAME]++;
		tacws_conn_close(conn, LWS_CLOSE_STATUS_PROTOCOL_ERR, "unmasked frame");
		return;
	}
	if (seen->malformed) { /* lws refuses these too; counted here */
		srv->metrics.bad_input[TACWS_INPUT_FRAME_HEADER]++;
		tacws_conn_close(conn, LWS_CLOSE_STATUS_PROTOCOL_ERR, "bad frame header");
		return;
	}
	/* data frames are counted as lws passes them up (frame_counted) */
	for (size_t i = 0; i < seen->control; i++) {
		if (!rate_ok(srv, conn)) {
			srv->metrics.limit_hits[TACWS_LIMIT_MESSAGE_RATE]++;
			tacws_conn_close(conn, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many messages");
			return;
		}
	}
}

int tacws_client_receive(struct lws *wsi, tacws_server *srv, tacws_conn *conn, const void *in,
			 size_t len)
{
	if (conn->close_code) /* condemned (the frame tap saw the frame lws passes up now) */
		return close_with(wsi, (enum lws_close_status)conn->close_code, conn->close_reason);
	long max = srv->cfg->max_inbound_bytes;
	conn->rx.msg_bytes += len; /* text or binary, fragments summed */
	if ((long)conn->rx.msg_bytes > max) {
		srv->metrics.oversized_closes++;
		return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
	}
	if (!frame_counted(wsi, srv, conn))
		return close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many messages");
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
	if (!lws_frame_is_binary(wsi) && !tacws_utf8_valid(conn->rx.buf, conn->rx.len)) {
		srv->metrics.bad_input[TACWS_INPUT_UTF8]++;
		return close_with(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "invalid UTF-8");
	}
	if (lws_frame_is_binary(wsi))
		srv->metrics.messages_ignored++;
	else if (conn->rx.buf)
		on_client_message(srv, conn, conn->rx.buf, conn->rx.len);
	conn->rx.len = 0;
	conn->rx.msg_bytes = 0;
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
