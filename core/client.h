/*
 * The client protocol on an open WebSocket: what a client sends (ping,
 * client_ready, subscribe and unsubscribe on the multiplexed socket), with
 * its limits (max_inbound_bytes, client_messages_per_s, UTF-8,
 * max_subscriptions). Loop thread, from the lws callback.
 */
#ifndef TACWS_CLIENT_H
#define TACWS_CLIENT_H

#include <stddef.h>

#include "wsframe.h"

struct lws;
typedef struct tacws_server tacws_server;
typedef struct tacws_conn tacws_conn;

/* LWS_CALLBACK_ESTABLISHED: the connection opens on the route of its path.
 * Returns 0, or -1 to close. */
int tacws_client_open(struct lws *wsi, tacws_server *srv, tacws_conn *conn);

/* LWS_CALLBACK_RECEIVE: a piece of a client message. Returns 0, or -1 to
 * close (the close reason is set). */
int tacws_client_receive(struct lws *wsi, tacws_server *srv, tacws_conn *conn, const void *in,
			 size_t len);

/* The frame tap's callback (recvtap.h), ctx the tacws_conn: an unmasked frame
 * or a forbidden header closes with 1002; each ping or pong (which lws answers
 * or keeps without a callback) counts toward client_messages_per_s. */
void tacws_client_frames(void *ctx, const tacws_frame_counts *seen);

/* LWS_CALLBACK_CLOSED: frees what a partial message held. */
void tacws_client_closed(tacws_conn *conn);

#endif
