/*
 * A WebSocket connection: its subscriptions, its send queue (shared
 * messages, latest snapshot wins, capped at send_queue_bytes), liveness
 * pings, and its life from the upgrade to the close. The struct is
 * libwebsockets' per-session data, for HTTP requests too; each group of
 * fields says which module writes it. Loop thread.
 */
#ifndef TACWS_CONN_H
#define TACWS_CONN_H

#include <json-c/json.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "feed.h"
#include "msg.h"
#include "wsframe.h"

typedef struct tacws_post tacws_post;

struct tacws_out_entry {
	tacws_msg *msg;
	tacws_sub *sub;	  /* set for snapshots, which coalesce */
	tacws_feed *feed; /* for the counters; NULL for replies such as pong */
};

struct tacws_conn {
	/* conn.c */
	lws_dll2_t link; /* in srv->conns, in order of last_rx */
	tacws_server *srv;
	struct lws *wsi;
	bool established;
	bool mux;     /* the multiplexed socket: subscriptions come by message */
	bool deflate; /* permessage-deflate on: gets the shared compressed frames (deflate.h) */
	lws_dll2_owner_t subs;
	struct tacws_out_entry *ring;
	uint32_t ring_cap;    /* power of two */
	uint64_t head, tail;  /* absolute positions; entries head..tail-1 */
	size_t queued_bytes;
	int close_code;	      /* nonzero: close at the next writable */
	char close_reason[64];
	char peer[64];
	lws_usec_t last_rx; /* last frame or pong from the peer; 0 = not yet seen */
	bool ping_due;	    /* a protocol ping goes out at the next writable */
	bool pinged;	    /* a ping went out since last_rx */
	int fd;		    /* watched by the frame tap (recvtap.h) when >= 0 */
	tacws_frame_reader frames; /* the tap's reader of what the client sends */

	/* client.c: what the client sends */
	struct {
		char *buf; /* partial inbound message */
		size_t len;
		size_t msg_bytes; /* of the message so far, binary too (max_inbound_bytes) */
		double rate_tokens; /* client messages allowed now (client_messages_per_s) */
		lws_usec_t rate_last; /* when rate_tokens was last refilled; 0 = never */
		double topic_tokens;   /* new topics allowed now (topic_creations_per_s) */
		lws_usec_t topic_last; /* when topic_tokens was last refilled; 0 = never */
	} rx;

	/* http_route.c: an HTTP response being written */
	struct {
		char *body;
		size_t len, sent;
		bool close; /* close the connection after this response */
		bool counted; /* a request in progress (metrics.http_current) */
		struct lws *wsi;
		lws_sorted_usec_list_t deadline; /* http_request_timeout_s */
	} http;
	tacws_post *post; /* http_post.c: a POST whose body is being read */
};

/* LWS_CALLBACK_ESTABLISHED: conn (zeroed here) serves wsi; a socket of one
 * topic is subscribed to feed/param with opts. Returns 0, or -1 to close. */
int tacws_conn_open(tacws_server *srv, tacws_conn *conn, struct lws *wsi, bool mux,
		    tacws_feed *feed, const char *param, const tacws_sub_options *opts);

/* LWS_CALLBACK_ADD_HEADERS of an upgrade: lws's permessage-deflate answered the
 * client's offer with a bare "permessage-deflate" (lws 4.1 answers no window
 * parameter and only the no_context_takeover ones offered). Its line is
 * replaced with tacws_deflate_answer's, or taken out when tacws declines the
 * offer, and lws's inflater is set to end after each message, with the window
 * answered. Returns 0, or -1 to fail the upgrade. */
int tacws_conn_answer_deflate(tacws_server *srv, struct lws *wsi,
			      struct lws_process_html_args *args);

/* LWS_CALLBACK_CLOSED: frees the queue and the subscriptions. */
void tacws_conn_closed(tacws_server *srv, tacws_conn *conn);

/* Closes at the next writable with code and reason. */
void tacws_conn_close(tacws_conn *conn, int code, const char *reason);

/* Whether conn is the multiplexed socket. */
bool tacws_conn_is_mux(const tacws_conn *conn);

/* conn's subscription to feed/param, or NULL; how many it has. */
tacws_sub *tacws_conn_find_sub(tacws_conn *conn, const tacws_feed *feed, const char *param);
size_t tacws_conn_sub_count(const tacws_conn *conn);

/* feed.c's subscribe and unsubscribe: sub joins or leaves conn's list
 * (leaving, its unsent snapshot stays queued, for no subscription). */
void tacws_conn_attach(tacws_conn *conn, tacws_sub *sub);
void tacws_conn_detach(tacws_sub *sub);

/* Queues msg for the sub's connection (a new reference is taken). A snapshot
 * replaces the sub's unsent one. Returns false when the connection is over
 * its send_queue_bytes cap and is being closed. */
bool tacws_conn_enqueue(tacws_conn *conn, tacws_sub *sub, tacws_feed *feed, tacws_msg *msg);

/* As tacws_conn_enqueue, but writes msg at once when nothing is queued before
 * it (fan-out). Not for a connection inside its own callback. */
bool tacws_conn_push(tacws_conn *conn, tacws_sub *sub, tacws_feed *feed, tacws_msg *msg);

/* Queues a reply of ours (pong, error): o as text; takes o. */
void tacws_conn_send_json(tacws_conn *conn, json_object *o);

/* Queues {"type":"error","message":message[,"feed":feed]}. */
void tacws_conn_send_error(tacws_conn *conn, const char *message, const char *feed);

/* Writes what the socket takes now (on LWS_CALLBACK_SERVER_WRITEABLE).
 * Returns -1 when the connection must close. */
int tacws_conn_drain(tacws_conn *conn);

/* The peer showed it is alive (a frame or a pong came in). */
void tacws_conn_seen(tacws_server *srv, tacws_conn *conn);

/* Starts the liveness timer: a connection silent for ping_interval_s gets a
 * ping, one silent for 2 x ping_interval_s + 5 is dropped. One timer walks
 * all connections, instead of one lws timer per connection, whose sorted
 * insert costs O(connections) at every pong. tacws_conn_liveness_stop stops it.
 * The frame tap (recvtap.h) starts and stops with it, on the loop thread. */
void tacws_conn_liveness_start(tacws_server *srv);
void tacws_conn_liveness_stop(tacws_server *srv);

#endif
