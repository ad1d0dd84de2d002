#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

static bool ring_grow(tacws_conn *conn)
{
	uint32_t cap = conn->ring_cap ? conn->ring_cap * 2 : 8;
	struct out_entry *ring = malloc(cap * sizeof *ring);
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
		struct out_entry *e = &conn->ring[(sub->pending - 1) & (conn->ring_cap - 1)];
		conn->queued_bytes = conn->queued_bytes - e->msg->len + msg->len;
		tacws_msg_unref(e->msg);
		e->msg = tacws_msg_ref(msg);
		return true;
	}
	/* feed->srv spares a trip through the wsi: at 10^5 deliveries/s its cache miss shows */
	tacws_server *srv = feed ? feed->srv : lws_context_user(lws_get_context(conn->wsi));
	bool was_empty = conn->tail == conn->head;
	if (!was_empty &&
	    conn->queued_bytes + msg->len > (size_t)srv->cfg->send_queue_bytes) {
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
		(struct out_entry){tacws_msg_ref(msg), sub, feed};
	if (sub)
		sub->pending = conn->tail + 1;
	conn->tail++;
	conn->queued_bytes += msg->len;
	if (was_empty) /* otherwise a writable is already asked for, or drain is running */
		lws_callback_on_writable(conn->wsi);
	return true;
}

static void release_queue(tacws_conn *conn)
{
	for (uint64_t i = conn->head; i < conn->tail; i++) {
		struct out_entry *e = &conn->ring[i & (conn->ring_cap - 1)];
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

int tacws_conn_drain(tacws_conn *conn)
{
	if (conn->close_code) {
		lws_close_reason(conn->wsi, (enum lws_close_status)conn->close_code,
				 (unsigned char *)conn->close_reason, strlen(conn->close_reason));
		return -1;
	}
	while (conn->head < conn->tail) {
		struct out_entry e = conn->ring[conn->head & (conn->ring_cap - 1)];
		if (e.sub)
			e.sub->pending = 0;
		conn->head++;
		conn->queued_bytes -= e.msg->len;
		int n = lws_write(conn->wsi, (unsigned char *)tacws_msg_data(e.msg), e.msg->len,
				  LWS_WRITE_TEXT);
		if (n < (int)e.msg->len) {
			tacws_msg_unref(e.msg);
			return -1;
		}
		if (e.feed) {
			e.feed->messages_sent++;
			e.feed->bytes_sent += e.msg->len;
		}
		tacws_msg_unref(e.msg);
		if (conn->head < conn->tail && lws_send_pipe_choked(conn->wsi)) {
			lws_callback_on_writable(conn->wsi);
			break;
		}
	}
	return 0;
}

void tacws_conn_release(tacws_conn *conn)
{
	while (conn->subs.head)
		tacws_unsubscribe(lws_container_of(conn->subs.head, tacws_sub, conn_link));
	release_queue(conn);
	free(conn->ring);
	conn->ring = NULL;
	conn->ring_cap = 0;
	free(conn->rx);
	conn->rx = NULL;
}
