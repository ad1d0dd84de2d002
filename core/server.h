/*
 * The server's state and the types its parts share. Everything here is owned
 * and touched by the event-loop thread only, except where a field says
 * otherwise (worker threads read a topic while its poll is in flight, and the
 * command queue is filled from any thread).
 */
#ifndef TACWS_SERVER_H
#define TACWS_SERVER_H

#include <libwebsockets.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <tacws/plugin.h>

#include "config.h"
#include "msg.h"
#include "workers.h"

typedef struct tacws_server tacws_server;
typedef struct tacws_feed tacws_feed;
typedef struct tacws_topic tacws_topic;
typedef struct tacws_conn tacws_conn;
typedef struct tacws_sub tacws_sub;
typedef struct tacws_plugin_ctx tacws_loaded_plugin; /* loader.c */
typedef struct uv_loop_s uv_loop_t;

#define TACWS_POLL_BUCKETS 10
extern const double tacws_poll_bucket_bounds[TACWS_POLL_BUCKETS]; /* seconds; last = +Inf */

struct tacws_feed {
	tacws_server *srv;
	tacws_loaded_plugin *plugin;
	char *base;	  /* "item" */
	char *endpoint;	  /* "item/{id}" */
	char *param_name; /* "id", or NULL */
	char *type;
	char *type_json; /* type as a JSON string literal, for envelopes */
	tacws_snapshot_fn snapshot;
	void *arg;
	int (*webhook_data)(void *arg, const char *event, json_object *payload, json_object **data);
	long interval_ms;
	long default_interval_ms; /* the plugin's, for when interval_ms leaves the file */
	regex_t param_re;
	char **config_keys; /* NULL-terminated, may be NULL */
	lws_dll2_owner_t topics;

	/* counters for /metrics and /api/v1/feeds */
	uint64_t polls, poll_errors, changes, events, messages_sent, bytes_sent;
	uint64_t poll_buckets[TACWS_POLL_BUCKETS];
	double poll_seconds;
	long subscribers;
	char last_error[256];
	char last_error_at[32];
	char last_change_at[32];
};

/* A feed plus its parameter: the unit that is polled, cached and versioned. */
struct tacws_topic {
	lws_dll2_t feed_link;
	tacws_feed *feed;
	char *param;	   /* NULL for a feed without parameter */
	char *param_json;  /* param as a JSON string literal, for envelopes */
	uint64_t seq;	   /* version: +1 per change */
	char *last_data;   /* serialized data of the last change */
	tacws_msg *cached; /* the envelope of the last change, sent to newcomers */
	lws_dll2_owner_t subs;
	lws_sorted_usec_list_t timer; /* next poll, or idle expiry */
	lws_usec_t last_poll_end;     /* 0 = never polled */
	long backoff_ms;	      /* 0 while healthy */
	bool in_flight, poll_again, doomed;

	/* The in-flight poll: filled by a worker, read back on the loop. */
	struct topic_job {
		tacws_job job;
		tacws_topic *topic;
		int rc;
		char err[256];
		char *data;	/* serialized, when it changed */
		tacws_msg *msg; /* envelope with seq + 1, when it changed */
		double seconds;
	} job;
};

/* One connection's interest in one topic. */
struct tacws_sub {
	lws_dll2_t conn_link, topic_link;
	tacws_conn *conn;
	tacws_topic *topic;
	uint64_t pending; /* queue position of an unsent snapshot + 1, or 0 */
};

struct out_entry {
	tacws_msg *msg;
	tacws_sub *sub;	  /* set for snapshots, which coalesce */
	tacws_feed *feed; /* for the counters; NULL for replies such as pong */
};

/* A WebSocket connection (libwebsockets per-session data). */
struct tacws_conn {
	lws_dll2_t link;
	struct lws *wsi;
	bool mux;
	bool established;
	bool deflate; /* permessage-deflate may be on: lws frames (and compresses) each message */
	lws_dll2_owner_t subs;
	struct out_entry *ring;
	uint32_t ring_cap;	   /* power of two */
	uint64_t head, tail;	   /* absolute positions; entries head..tail-1 */
	size_t queued_bytes;
	char *rx;		   /* partial inbound message */
	size_t rx_len;
	int close_code;		   /* nonzero: close at the next writable */
	char close_reason[64];
	char peer[64];
	/* HTTP responses use the same session data */
	char *http_body;
	size_t http_len, http_sent;
	bool http_close;	  /* close the connection after this response */
	struct tacws_post *post;  /* a POST whose body is being read (http_post.c) */
	double rate_tokens;	  /* client messages allowed now (client_messages_per_s) */
	lws_usec_t rate_last;	  /* when rate_tokens was last refilled; 0 = never */
	lws_usec_t last_rx;	  /* last frame or pong from the peer; 0 = not yet seen */
	bool ping_due;		  /* a protocol ping goes out at the next writable */
	bool pinged;		  /* a ping went out since last_rx */
};

/* Limits of the edge, each counted in /metrics when hit. */
enum tacws_limit {
	TACWS_LIMIT_CONNECTIONS,     /* max_connections: upgrade refused 503 */
	TACWS_LIMIT_CONNECTIONS_IP,  /* max_connections_per_ip: upgrade refused 429 */
	TACWS_LIMIT_MESSAGE_RATE,    /* client_messages_per_s: closed 1008 */
	TACWS_LIMIT_BODY_BYTES,	     /* max_body_bytes: 413 */
	TACWS_LIMIT_SUBSCRIPTIONS,   /* max_subscriptions: error message */
	TACWS_LIMIT_COUNT
};
enum tacws_auth_failure {
	TACWS_AUTH_WS_TOKEN,
	TACWS_AUTH_ORIGIN,
	TACWS_AUTH_PUBLISH_TOKEN,
	TACWS_AUTH_WEBHOOK_SIGNATURE,
	TACWS_AUTH_COUNT
};
enum tacws_bad_input {
	TACWS_INPUT_CLIENT_MESSAGE, /* not JSON, or not an object with a string type */
	TACWS_INPUT_TOPIC,	    /* a subscribe naming an unknown feed or a bad parameter */
	TACWS_INPUT_PUBLISH_BODY,
	TACWS_INPUT_WEBHOOK_BODY,
	TACWS_INPUT_UTF8, /* a text frame that is not UTF-8: closed 1007 */
	TACWS_INPUT_COUNT
};

struct tacws_metrics {
	uint64_t connections_total, connections_rejected, messages_ignored, oversized_closes,
		slow_consumer_drops, http_requests;
	long connections_current;
	long connections_compressed; /* of those, permessage-deflate offered and taken */
	uint64_t limit_hits[TACWS_LIMIT_COUNT];
	uint64_t auth_failures[TACWS_AUTH_COUNT];
	uint64_t bad_input[TACWS_INPUT_COUNT];
	uint64_t publishes, refreshes, webhooks;
	uint64_t handshakes_incomplete; /* closed before the request was in (timeout or gave up) */
};

struct tacws_server {
	tacws_config *cfg;
	struct lws_context *lws;
	uv_loop_t *loop; /* libuv (epoll): lws runs on it */
	struct tacws_listeners *listeners; /* listen.c */
	struct tacws_peers *peers;	   /* connections per address (peers.c) */
	int port; /* the one bound (cfg->port may be 0) */
	struct lws_vhost *vhost;
	tacws_workers *workers;
	tacws_feed **feeds;
	size_t n_feeds;
	tacws_loaded_plugin *plugins;
	lws_dll2_owner_t conns;
	struct tacws_metrics metrics;
	char started_at[32];
	volatile int stop_requested; /* set from a signal handler */
	volatile int reload_requested; /* set from a signal handler (SIGHUP) */
	bool stopping;

	/* Feeds removed by a reload: topics gone, struct kept until shutdown since
	 * queued messages still point at it for their counters (reload.c). */
	tacws_feed **retired;
	size_t n_retired;
	/* Configurations loaded by reloads: plugins may hold their strings. */
	tacws_config **configs;
	size_t n_configs;

	/* Requests from other threads (plugins, workers), drained on the loop. */
	pthread_mutex_t cmd_lock;
	struct tacws_cmd *cmds, **cmds_tail;

	lws_sorted_usec_list_t liveness; /* pings and hang-ups of idle peers (conn.c) */
};

/* Current UTC time as "2026-11-26T10:31:00.512Z". */
void tacws_now_iso(char *buf, size_t len);

/* --- feeds and topics (feed.c) --- */

/* Creates a feed from a plugin's descriptor; checks it. Returns 0, -EINVAL
 * (err says why) or -ENOMEM. */
int tacws_feed_create(tacws_server *srv, tacws_loaded_plugin *plugin,
		      const tacws_feed_desc *desc, long interval_ms, tacws_feed **out, char *err,
		      size_t errlen);
void tacws_feed_destroy(tacws_feed *feed);

/* The feed whose base is name[0..len), or NULL. */
tacws_feed *tacws_feed_find(tacws_server *srv, const char *name, size_t len);

/* Checks a parameter against the feed's pattern (and that the feed takes one). */
bool tacws_feed_param_ok(const tacws_feed *feed, const char *param);

/* Subscribes conn to feed/param: creates the topic if needed, queues the
 * cached snapshot or starts the first poll. Returns the sub or NULL. */
tacws_sub *tacws_subscribe(tacws_conn *conn, tacws_feed *feed, const char *param);
void tacws_unsubscribe(tacws_sub *sub);

/* Polls now the topic (or every topic of the feed when param is NULL). */
void tacws_feed_poll_now(tacws_feed *feed, const char *param);

/* Sends an event to the topic's subscribers (every topic when param is NULL).
 * Takes data. Returns the number of subscribers it was queued for. */
int tacws_feed_publish(tacws_feed *feed, const char *param, const char *type, json_object *data);

/* Drains finished polls (called on the loop after a wake-up). */
void tacws_feed_collect(tacws_server *srv);

/* Drops every topic (shutdown): cancels timers, frees caches. */
void tacws_feed_drop_topics(tacws_feed *feed);

/* --- reload (reload.c) --- */

/* Re-reads srv->cfg->path and applies it (SIGHUP), on the loop thread: feeds
 * added and removed, intervals, plugins whose .so changed. A file that fails
 * validation changes nothing. Returns 0 or a negative errno (logged). */
int tacws_server_reload(tacws_server *srv);

/* Takes srv->feeds[i] out of service: its socket subscribers are closed with
 * 1001 and reason, multiplexed ones get an error message and lose the topic.
 * No poll of it may be in flight. */
void tacws_feed_retire(tacws_server *srv, size_t i, const char *reason);

/* Frees retired feeds and reloaded configurations (after plugins unloaded). */
void tacws_reload_cleanup(tacws_server *srv);

/* --- connections (conn.c) --- */

/* Queues msg for the sub's connection (a new reference is taken). A snapshot
 * replaces the sub's unsent one. Returns false when the connection is over
 * its send_queue_bytes cap and is being closed. */
bool tacws_conn_enqueue(tacws_conn *conn, tacws_sub *sub, tacws_feed *feed, tacws_msg *msg);

/* As tacws_conn_enqueue, but writes msg at once when nothing is queued before
 * it (fan-out). Not for a connection inside its own callback. */
bool tacws_conn_push(tacws_conn *conn, tacws_sub *sub, tacws_feed *feed, tacws_msg *msg);

/* Writes what the socket takes now (on LWS_CALLBACK_SERVER_WRITEABLE).
 * Returns -1 when the connection must close. */
int tacws_conn_drain(tacws_conn *conn);

/* Frees the queue and the subscriptions (on close). */
void tacws_conn_release(tacws_conn *conn);

/* Closes at the next writable with code and reason. */
void tacws_conn_close(tacws_conn *conn, int code, const char *reason);

/* The peer showed it is alive (a frame or a pong came in). */
void tacws_conn_seen(tacws_server *srv, tacws_conn *conn);

/* Starts the liveness timer: a connection silent for ping_interval_s gets a
 * ping, one silent for 2 x ping_interval_s + 5 is dropped. One timer walks
 * all connections, instead of one lws timer per connection, whose sorted
 * insert costs O(connections) at every pong. Stop with lws_sul_cancel(&srv->liveness). */
void tacws_conn_liveness_start(tacws_server *srv);

/* --- commands from other threads (server.c) --- */
int tacws_server_request_poll(tacws_server *srv, const char *base, const char *param);
int tacws_server_request_publish(tacws_server *srv, const char *base, const char *param,
				 const char *type, json_object *data);

/* --- HTTP endpoints (http_api.c): build a response body, return status --- */
int tacws_http_healthz(tacws_server *srv, char **body, const char **type);
int tacws_http_feeds(tacws_server *srv, char **body, const char **type);
int tacws_http_metrics(tacws_server *srv, char **body, const char **type);

/* --- POST endpoints (http_post.c): publish, refresh, GitHub webhook ---
 * Loop thread. Each returns 0 to go on (the body is still to come), or an HTTP
 * status with *body, a JSON text the caller frees, to answer now; the
 * request's state lives in pss->post. A body over max_body_bytes is answered
 * 413 and sets pss->http_close. */
int tacws_http_post_begin(tacws_server *srv, struct lws *wsi, tacws_conn *pss, const char *uri,
			  char **body);
int tacws_http_post_body(tacws_server *srv, tacws_conn *pss, const void *in, size_t len,
			 char **body);
int tacws_http_post_complete(tacws_server *srv, tacws_conn *pss, char **body);
/* Frees pss->post (on close). */
void tacws_http_post_free(tacws_conn *pss);

/* --- open connections per client address (peers.c) --- */
long tacws_peers_count(tacws_server *srv, const char *addr);
int tacws_peers_add(tacws_server *srv, const char *addr); /* 0 or -ENOMEM */
void tacws_peers_remove(tacws_server *srv, const char *addr);
void tacws_peers_free(tacws_server *srv);

/* --- listening sockets and handshake deadlines (listen.c) --- */

/* Binds cfg->listen:port with SO_REUSEPORT sockets on srv->loop; accepted
 * sockets go to srv->vhost. Sets srv->port. Returns 0 or a negative errno. */
int tacws_listen_start(tacws_server *srv);
/* The request headers of wsi are in (or it is going): its deadline is off. */
void tacws_handshake_done(tacws_server *srv, struct lws *wsi);
/* Connections accepted whose request headers are not in yet. */
unsigned tacws_handshakes_pending(const tacws_server *srv);
/* Stops accepting (shutdown). */
void tacws_listen_stop(tacws_server *srv);
/* After lws_context_destroy: closes the remaining handles; then, once the loop
 * has run them down, tacws_listen_release frees the memory. */
void tacws_listen_free(tacws_server *srv);
void tacws_listen_release(tacws_server *srv);

/* --- lifecycle (server.c) --- */
int tacws_server_create(tacws_config *cfg, tacws_server **out);
int tacws_server_run(tacws_server *srv); /* until stop_requested */
void tacws_server_destroy(tacws_server *srv);

#endif
