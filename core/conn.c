#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "client.h"
#include "deflate.h"
#include "log.h"
#include "peers.h"
#include "recvtap.h"
#include "server.h"
#include "upgrade.h"

static bool ring_grow(tacws_conn *conn)
{
	uint32_t cap = conn->ring_cap ? conn->ring_cap * 2 : 8;
	struct tacws_out_entry *ring = malloc(cap * sizeof *ring);
	if (!ring)
		return false;
	/* Positions are absolute, so entries keep their position in the bigger ring. */
	for (uint64_t i = conn->head; i < conn->tail; i++)
		ring[i & (cap - 1)] = conn->ring[i & (conn->ring_cap - 1)];
	free(conn->ring);
	conn->ring = ring;
	conn->ring_cap = cap;
	return true;
}

bool tacws_conn_enqueue(tacws_conn *conn, tacws_sub *sub, tacws_feed *feed, tacws_msg *msg)
{
	if (conn->close_code)
		return false;
	if (sub && sub->pending) {
		/* Latest wins: the client has not been sent the older snapshot yet. */
		struct tacws_out_entry *e = &conn->ring[(sub->pending - 1) & (conn->ring_cap - 1)];
		conn->queued_bytes = conn->queued_bytes - e->msg->len + msg->len;
		tacws_msg_unref(e->msg);
		e->msg = tacws_msg_ref(msg);
		return true;
	}
	tacws_server *srv = conn->srv; /* not through the wsi: at 10^5 deliveries/s its cache miss shows */
	bool was_empty = conn->tail == conn->head;
	if (!was_empty && conn->queued_bytes + msg->len > (size_t)srv->cfg->send_queue_bytes) {
		srv->metrics.slow_consumer_drops++;
		tacws_log_debug("conn", "%s: send queue over %ld bytes, closing", conn->peer,
		                srv->cfg->send_queue_bytes);
		tacws_conn_close(conn, 1013, "send queue full");
		return false;
	}
	if (conn->tail - conn->head == conn->ring_cap && !ring_grow(conn)) {
		tacws_conn_close(conn, 1011, "out of memory");
		return false;
	}
	conn->ring[conn->tail & (conn->ring_cap - 1)] =
	    (struct tacws_out_entry){tacws_msg_ref(msg), sub, feed};
	if (sub)
		sub->pending = conn->tail + 1;
	conn->tail++;
	conn->queued_bytes += msg->len;
	if (was_empty) /* otherwise a writable is already asked for, or drain is running */
		lws_callback_on_writable(conn->wsi);
	return true;
}

/* Counts a message as sent to the peer, for /metrics and /api/v1/feeds. */
static void count_sent(tacws_feed *feed, const tacws_msg *msg)
{
	if (feed)
		tacws_feed_count_sent(feed, msg->len);
}

/* The prebuilt frame conn gets for msg: the shared compressed one when
 * permessage-deflate is on for conn, else the plain one. */
static unsigned char *frame_for(const tacws_conn *conn, tacws_msg *msg, size_t *len)
{
	return conn->deflate ? tacws_deflate_frame(msg, len) : tacws_msg_frame(msg, len);
}

/* Writes msg's prebuilt frame raw: lws's framing would touch its per-connection
 * WebSocket state for every delivery. */
static int write_frame(tacws_conn *conn, tacws_msg *msg)
{
	size_t len;
	unsigned char *frame = frame_for(conn, msg, &len);
	return lws_write(conn->wsi, frame, len, LWS_WRITE_HTTP) < (int)len ? -1 : 0;
}

/* Nothing of ours queued, nothing of lws's pending: a frame written now goes out
 * in order, without a writable round trip (two epoll changes and a pass of the
 * loop). */
static bool can_write_now(tacws_conn *conn)
{
	return conn->head == conn->tail && !lws_partial_buffered(conn->wsi);
}

bool tacws_conn_push(tacws_conn *conn, tacws_sub *sub, tacws_feed *feed, tacws_msg *msg)
{
	if (!conn->established || conn->close_code || conn->ping_due || !can_write_now(conn))
		return tacws_conn_enqueue(conn, sub, feed, msg);
	if (write_frame(conn, msg)) {
		/* not from inside this connection's callback: lws closes it on its next pass */
		lws_set_timeout(conn->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return false;
	}
	/* a part the socket did not take is kept by lws, which writes it on POLLOUT */
	count_sent(feed, msg);
	return true;
}

static void release_queue(tacws_conn *conn)
{
	for (uint64_t i = conn->head; i < conn->tail; i++) {
		struct tacws_out_entry *e = &conn->ring[i & (conn->ring_cap - 1)];
		if (e->sub)
			e->sub->pending = 0;
		tacws_msg_unref(e->msg);
	}
	conn->head = conn->tail;
	conn->queued_bytes = 0;
}

void tacws_conn_close(tacws_conn *conn, int code, const char *reason)
{
	if (conn->close_code)
		return;
	conn->close_code = code;
	snprintf(conn->close_reason, sizeof conn->close_reason, "%s", reason);
	release_queue(conn); /* its memory goes now, not when the peer gets round to it */
	lws_callback_on_writable(conn->wsi);
}

/* Frames for a batch, built on the loop thread only. */
#define BATCH_BYTES 65536
static unsigned char batch[BATCH_BYTES];

/* Takes the head entry off the queue and counts it as sent. */
static void pop_sent(tacws_conn *conn)
{
	struct tacws_out_entry *e = &conn->ring[conn->head & (conn->ring_cap - 1)];
	if (e->sub)
		e->sub->pending = 0;
	conn->head++;
	conn->queued_bytes -= e->msg->len;
	count_sent(e->feed, e->msg);
	tacws_msg_unref(e->msg);
}

/* Frames as many queued messages as fit in the batch buffer; returns how many. */
static size_t batch_fill(tacws_conn *conn, size_t *used)
{
	size_t n = 0;
	*used = 0;
	for (uint64_t i = conn->head; i < conn->tail; i++, n++) {
		size_t len;
		const unsigned char *frame = frame_for(conn, conn->ring[i & (conn->ring_cap - 1)].msg, &len);
		if (*used + len > BATCH_BYTES)
			break;
		memcpy(batch + *used, frame, len);
		*used += len;
	}
	return n;
}

void tacws_conn_seen(tacws_server *srv, tacws_conn *conn)
{
	if (conn && conn->established) {
		conn->last_rx = lws_now_usecs();
		conn->pinged = false;
		/* srv->conns stays in order of last_rx, so the liveness tick reads only the
		 * connections that are due */
		lws_dll2_remove(&conn->link);
		lws_dll2_add_tail(&conn->link, &srv->conns);
	}
}

static lws_usec_t liveness_period(const tacws_server *srv)
{
	lws_usec_t t = srv->cfg->ping_interval_s * LWS_US_PER_SEC / 10;
	return t > LWS_US_PER_SEC ? t : LWS_US_PER_SEC;
}

/* lws passes no empty pong up, so a ping carries a byte to echo. */
static int write_ping(tacws_conn *conn)
{
	unsigned char ping[LWS_PRE + 1];
	ping[LWS_PRE] = 't';
	return lws_write(conn->wsi, ping + LWS_PRE, 1, LWS_WRITE_PING) < 1 ? -1 : 0;
}

/* Pings now when the connection is idle, as most are (no writable round trip);
 * else after what is queued. */
static void send_ping(tacws_conn *conn)
{
	if (can_write_now(conn)) {
		if (write_ping(conn))
			lws_set_timeout(conn->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return;
	}
	conn->ping_due = true;
	lws_callback_on_writable(conn->wsi);
}

static void liveness_tick(lws_sorted_usec_list_t *sul)
{
	tacws_server *srv = lws_container_of(sul, tacws_server, liveness);
	lws_usec_t now = lws_now_usecs();
	lws_usec_t ping = srv->cfg->ping_interval_s * LWS_US_PER_SEC;
	lws_usec_t hangup = 2 * ping + 5 * LWS_US_PER_SEC;
	/* Oldest last_rx first: stop at the first connection not due. Those pinged and not
	 * yet answered stay at the front until they answer or are dropped. */
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->conns))
	{
		tacws_conn *c = lws_container_of(d, tacws_conn, link);
		if (now - c->last_rx < ping)
			break;
		if (now - c->last_rx >= hangup) {
			/* a close frame would wait on the peer that stopped answering */
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		} else if (!c->pinged && !c->close_code) {
			c->pinged = true;
			send_ping(c);
		}
	}
	lws_end_foreach_dll(d);
	if (!srv->stopping)
		lws_sul_schedule(srv->lws, 0, &srv->liveness, liveness_tick, liveness_period(srv));
}

void tacws_conn_liveness_start(tacws_server *srv)
{
	tacws_recvtap_start(tacws_client_frames);
	lws_sul_schedule(srv->lws, 0, &srv->liveness, liveness_tick, liveness_period(srv));
}

void tacws_conn_liveness_stop(tacws_server *srv)
{
	lws_sul_cancel(&srv->liveness);
	tacws_recvtap_stop();
}

int tacws_conn_drain(tacws_conn *conn)
{
	if (conn->close_code) {
		/* The close frame is framed and written here: lws 4.1 on libuv shuts a socket
		 * whose writable callback fails without sending what lws_close_reason set. */
		unsigned char frame[4 + sizeof conn->close_reason];
		size_t n = strlen(conn->close_reason); /* < 64: a one-byte length */
		frame[0] = 0x88; /* FIN, close */
		frame[1] = (unsigned char)(2 + n);
		frame[2] = (unsigned char)(conn->close_code >> 8);
		frame[3] = (unsigned char)conn->close_code;
		memcpy(frame + 4, conn->close_reason, n);
		lws_write(conn->wsi, frame, 4 + n, LWS_WRITE_HTTP);
		return -1;
	}
	if (conn->ping_due) {
		conn->ping_due = false;
		if (write_ping(conn))
			return -1;
		if (conn->head < conn->tail && lws_send_pipe_choked(conn->wsi)) {
			lws_callback_on_writable(conn->wsi);
			return 0;
		}
	}
	while (conn->head < conn->tail) {
		/* Several queued messages go out in one write: a syscall costs more than the copy.
		 * They are framed here and written raw; lws keeps any unsent rest ahead of its own
		 * frames (pings, close). */
		size_t used = 0, n = conn->tail - conn->head > 1 ? batch_fill(conn, &used) : 0;
		if (n > 1) {
			if (lws_write(conn->wsi, batch, used, LWS_WRITE_HTTP) < (int)used)
				return -1;
			while (n--)
				pop_sent(conn);
		} else {
			if (write_frame(conn, conn->ring[conn->head & (conn->ring_cap - 1)].msg))
				return -1;
			pop_sent(conn);
		}
		if (conn->head < conn->tail && lws_send_pipe_choked(conn->wsi)) {
			lws_callback_on_writable(conn->wsi);
			break;
		}
	}
	return 0;
}

/* Whether wsi's client may get the shared compressed frames, as far as its request
 * tells: its offer is one tacws takes (copied into offer, *n its length) and it
 * is not a client known to break. An offer or User-Agent too long to read whole
 * gets plain frames: a User-Agent cut short (or taken as none) could be Safari
 * 15.0-15.3's. */
static bool deflate_offered(tacws_server *srv, struct lws *wsi,
			    char offer[TACWS_DEFLATE_OFFER_MAX + 1], int *n)
{
	char agent[512];
	*n = tacws_header_copy(wsi, WSI_TOKEN_EXTENSIONS, offer, TACWS_DEFLATE_OFFER_MAX + 1);
	int a = *n > 0 ? tacws_header_copy(wsi, WSI_TOKEN_HTTP_USER_AGENT, agent, sizeof agent) : 0;
	if (*n < 0 || a < 0) {
		srv->metrics.limit_hits[TACWS_LIMIT_HEADER_BYTES]++;
		return false;
	}
	return *n && tacws_deflate_offer_accepts(offer, (size_t)*n) &&
	       tacws_deflate_user_agent_ok(a > 0 ? agent : NULL);
}

/* Whether lws's permessage-deflate is active on wsi (setting an option fails on a
 * connection without it; rx_buf_size 10 is its default) and was answered: the
 * same test as tacws_conn_answer_deflate's. */
static bool deflate_negotiated(tacws_server *srv, struct lws *wsi)
{
	char offer[TACWS_DEFLATE_OFFER_MAX + 1];
	int n;
	return deflate_offered(srv, wsi, offer, &n) &&
	       lws_set_extension_option(wsi, "permessage-deflate", "rx_buf_size", "10") == 0;
}

/* The start of the header line that ends at end ("...\r\n"), looked for at most
 * 256 bytes back; NULL when there is none. */
static char *line_start(char *end)
{
	if (end[-1] != '\n' || end[-2] != '\r')
		return NULL;
	for (char *q = end - 3; q > end - 256; q--)
		if (q[-2] == '\r' && q[-1] == '\n')
			return q;
	return NULL;
}

int tacws_conn_answer_deflate(tacws_server *srv, struct lws *wsi,
			      struct lws_process_html_args *args)
{
	static const char field[] = "Sec-WebSocket-Extensions: ";
	/* lws answered an offer only with its extension on, and only in the upgrade
	 * (no mount of tacws's has a protocol, so no file response comes here) */
	if (!srv->cfg->compression || lws_hdr_total_length(wsi, WSI_TOKEN_KEY) <= 0 ||
	    lws_hdr_total_length(wsi, WSI_TOKEN_EXTENSIONS) <= 0 ||
	    lws_set_extension_option(wsi, "permessage-deflate", "rx_buf_size", "10"))
		return 0;
	/* lws's line is the last one before args->p; it is answered again or taken out */
	char *line = line_start(args->p);
	if (!line || strncmp(line, field, sizeof field - 1) ||
	    strncmp(line + sizeof field - 1, "permessage-deflate", 18))
		return 0;
	char offer[TACWS_DEFLATE_OFFER_MAX + 1], answer[TACWS_DEFLATE_ANSWER_MAX];
	int n, inflate_bits = 15;
	size_t alen = deflate_offered(srv, wsi, offer, &n)
			  ? tacws_deflate_answer(offer, (size_t)n, answer, sizeof answer,
						 &inflate_bits)
			  : 0;
	size_t room = (size_t)(args->p - line) + (size_t)args->max_len;
	if (alen + sizeof field + 2 > room)
		return -1;
	/* declined: no line, so the client neither expects nor sends compressed
	 * frames (lws's extension stays on, idle) */
	args->p = line;
	if (alen)
		args->p += snprintf(line, room, "%s%s\r\n", field, answer);
	args->max_len = (int)(room - (size_t)(args->p - line));
	/* lws's inflater ends after each message when its server_no_context_takeover
	 * is set (client_no_context_takeover, answered above, is what allows it), and
	 * is opened with server_max_window_bits: the window answered to the client */
	char bits[4];
	snprintf(bits, sizeof bits, "%d", inflate_bits);
	if (lws_set_extension_option(wsi, "permessage-deflate", "server_no_context_takeover",
				     "1") ||
	    lws_set_extension_option(wsi, "permessage-deflate", "server_max_window_bits", bits))
		return -1;
	return 0;
}

int tacws_conn_open(tacws_server *srv, tacws_conn *conn, struct lws *wsi, bool mux,
		    tacws_feed *feed, const char *param, const tacws_sub_options *opts)
{
	memset(conn, 0, sizeof *conn);
	conn->srv = srv;
	conn->wsi = wsi;
	lws_get_peer_simple(wsi, conn->peer, sizeof conn->peer);
	if (tacws_peers_add(srv, conn->peer))
		return -1;
	conn->deflate = srv->cfg->compression && deflate_negotiated(srv, wsi);
	srv->metrics.connections_compressed += conn->deflate;
	conn->established = true;
	conn->last_rx = lws_now_usecs();
	lws_dll2_add_tail(&conn->link, &srv->conns); /* in order of last_rx */
	srv->metrics.connections_total++;
	srv->metrics.connections_current++;
	conn->mux = mux;
	conn->fd = -1;
	if (!mux && !tacws_subscribe_with(conn, feed, param, opts))
		return -1;
	/* the frames lws reads from now on go through the tap (no byte of them
	 * was read before: tacws_upgrade_check refused a client that sent some) */
	int fd = lws_get_socket_fd(wsi);
	if (!tacws_recvtap_watch(fd, &conn->frames, conn))
		conn->fd = fd;
	return 0;
}

void tacws_conn_closed(tacws_server *srv, tacws_conn *conn)
{
	if (!conn || !conn->established)
		return;
	if (conn->fd >= 0)
		tacws_recvtap_unwatch(conn->fd); /* before lws closes the descriptor */
	conn->fd = -1;
	while (conn->subs.head)
		tacws_unsubscribe(lws_container_of(conn->subs.head, tacws_sub, conn_link));
	release_queue(conn);
	free(conn->ring);
	conn->ring = NULL;
	conn->ring_cap = 0;
	tacws_peers_remove(srv, conn->peer);
	srv->metrics.connections_compressed -= conn->deflate;
	lws_dll2_remove(&conn->link);
	srv->metrics.connections_current--;
	conn->established = false;
}

bool tacws_conn_is_mux(const tacws_conn *conn)
{
	return conn->mux;
}

void tacws_conn_attach(tacws_conn *conn, tacws_sub *sub)
{
	sub->conn = conn;
	sub->pending = 0;
	lws_dll2_add_tail(&sub->conn_link, &conn->subs);
}

void tacws_conn_detach(tacws_sub *sub)
{
	tacws_conn *conn = sub->conn;
	if (sub->pending)
		conn->ring[(sub->pending - 1) & (conn->ring_cap - 1)].sub = NULL;
	sub->pending = 0;
	lws_dll2_remove(&sub->conn_link);
}

void tacws_conn_send_json(tacws_conn *conn, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	tacws_msg *m = tacws_msg_from(s, strlen(s));
	if (m) {
		tacws_conn_enqueue(conn, NULL, NULL, m);
		tacws_msg_unref(m);
	}
	json_object_put(o);
}

void tacws_conn_send_error(tacws_conn *conn, const char *message, const char *feed)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("error"));
	json_object_object_add(o, "message", json_object_new_string(message));
	if (feed)
		json_object_object_add(o, "feed", json_object_new_string(feed));
	tacws_conn_send_json(conn, o);
}

tacws_sub *tacws_conn_find_sub(tacws_conn *conn, const tacws_feed *feed, const char *param)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&conn->subs)) {
		tacws_sub *s = lws_container_of(d, tacws_sub, conn_link);
		if (tacws_sub_is(s, feed, param))
			return s;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

size_t tacws_conn_sub_count(const tacws_conn *conn)
{
	return conn->subs.count;
}
