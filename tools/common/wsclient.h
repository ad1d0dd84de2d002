/*
 * tacws_wsclient: a small WebSocket client on libwebsockets, for tacws-cat and
 * the tests.
 *
 * It feels synchronous: every call that waits takes a timeout and runs the
 * libwebsockets service loop itself until its condition holds or time runs
 * out. Clients live in a group (one lws_context); waiting on one client
 * services every client of its group, so hundreds of connections can be
 * opened and read at once from one thread. Messages that arrive for a client
 * are queued until it reads them.
 *
 * Conventions:
 *  - Functions return 0 or a negative errno.
 *  - Threads: a group and its clients are used from one thread at a time;
 *    nothing here is locked. Separate groups may run in separate threads.
 *  - Ownership: strings returned through char ** are the caller's (free());
 *    strings passed in are copied or used only during the call.
 *  - Only ws:// (no TLS).
 *  - libwebsockets logs only errors (a process-wide setting made by the first
 *    tacws_wsgroup_new); TACWS_LWS_LOG=<lws log mask> in the environment
 *    changes that, e.g. TACWS_LWS_LOG=15 for notices and more.
 */
#ifndef TACWS_WSCLIENT_H
#define TACWS_WSCLIENT_H

#include <stddef.h>

typedef struct tacws_wsgroup tacws_wsgroup;
typedef struct tacws_wsclient tacws_wsclient;

typedef struct tacws_wsclient_opts {
	const char *host; /* "127.0.0.1"; also sent as the Host header */
	int port;
	const char *path;         /* "/api/v1/ws/queue?token=x"; NULL means "/" */
	const char *origin;       /* Origin header as sent ("http://x:1"), or NULL */
	const char *bearer_token; /* sends "Authorization: Bearer <token>", or NULL */
	/* NULL-terminated list of extra "Name: value" header lines, or NULL. */
	const char *const *headers;
} tacws_wsclient_opts;

/* Client states, in order. */
typedef enum tacws_wsclient_state {
	TACWS_WSCLIENT_CONNECTING,
	TACWS_WSCLIENT_OPEN,
	TACWS_WSCLIENT_CLOSED, /* closed, refused or failed; see close_code, http_status */
} tacws_wsclient_state;

/* Splits "ws://host[:port][/path[?query]]" into a newly allocated host and
 * path (path "/" when absent; both the caller's) and the port (default 80).
 * Returns 0, -EINVAL for anything else (wss:// included), -ENOMEM. */
int tacws_wsclient_parse_url(const char *url, char **host, int *port, char **path);

/* A group of clients sharing one lws_context. Returns 0 or -ENOMEM/-EIO. */
int tacws_wsgroup_new(tacws_wsgroup **out);

/* Closes every client of the group without waiting for the peers, frees the
 * clients still alive (their pointers become invalid) and the group. NULL is
 * accepted. */
void tacws_wsgroup_free(tacws_wsgroup *g);

/* Runs the service loop for up to timeout_ms (0: only what is ready now).
 * Returns 0. */
int tacws_wsgroup_service(tacws_wsgroup *g, int timeout_ms);

/* Starts connecting without waiting; the connection progresses whenever the
 * group is serviced. g NULL gives the client a private group that it frees
 * with itself. On success *out is the caller's (tacws_wsclient_free).
 * Returns 0, -EINVAL, -ENOMEM, or -ECONNREFUSED when lws refused at once. */
int tacws_wsclient_start(tacws_wsgroup *g, const tacws_wsclient_opts *o, tacws_wsclient **out);

/* Waits until the client is open. Returns 0 when open; -EPROTO when the
 * server answered the upgrade with another HTTP status than 101 (see
 * tacws_wsclient_http_status); -ECONNREFUSED when the connection failed or
 * closed before the handshake ended; -ETIMEDOUT. */
int tacws_wsclient_wait_open(tacws_wsclient *c, int timeout_ms);

/* tacws_wsclient_start then tacws_wsclient_wait_open. On failure *out is NULL
 * and the client is freed. http_status, when not NULL, receives the status of
 * the server's answer (101 on success, 401/403/404... when refused, 0 when no
 * HTTP answer came). Returns what wait_open returns. */
int tacws_wsclient_connect(tacws_wsgroup *g, const tacws_wsclient_opts *o, int timeout_ms,
                           tacws_wsclient **out, int *http_status);

tacws_wsclient_state tacws_wsclient_get_state(const tacws_wsclient *c);

/* The HTTP status the server answered the upgrade with, 0 until known. */
int tacws_wsclient_http_status(const tacws_wsclient *c);

/* The close code the server sent (1000, 1001, 1008, 1009...); 1005 when its
 * close frame had no code; the client's own code when the client closed
 * first; 1006 when the connection ended without a close frame; 0 while it
 * has not closed. */
int tacws_wsclient_close_code(const tacws_wsclient *c);

/* Next message received (text or binary), waiting up to timeout_ms. On
 * success *msg is a NUL-terminated copy (the caller's) and *len, when not
 * NULL, its length. Returns 0, -ETIMEDOUT, or -ENOTCONN when the connection
 * is closed and nothing is left to read. */
int tacws_wsclient_recv(tacws_wsclient *c, int timeout_ms, char **msg, size_t *len);

/* Number of received messages not read yet. */
size_t tacws_wsclient_pending(const tacws_wsclient *c);

/* Queues one frame of len bytes (copied; any size, sent as one frame) and
 * returns at once; it is written while the group is serviced. binary selects
 * a binary frame instead of text. Returns 0, -ENOTCONN, -ENOMEM. */
int tacws_wsclient_send(tacws_wsclient *c, const void *data, size_t len, int binary);

/* Services the group until every queued frame of c is written. Returns 0,
 * -ETIMEDOUT, or -ENOTCONN when the connection closed first. */
int tacws_wsclient_flush(tacws_wsclient *c, int timeout_ms);

/* Sends a close frame with code (1000 when 0) after the queued frames and
 * waits up to timeout_ms for the connection to end. Returns 0 or -ETIMEDOUT. */
int tacws_wsclient_close(tacws_wsclient *c, int code, int timeout_ms);

/* Waits until the peer closes the connection. Returns 0 or -ETIMEDOUT. */
int tacws_wsclient_wait_closed(tacws_wsclient *c, int timeout_ms);

/* Frees the client. An open connection is closed (code 1000) in the
 * background, while the group is serviced or freed. NULL is accepted. */
void tacws_wsclient_free(tacws_wsclient *c);

#endif
