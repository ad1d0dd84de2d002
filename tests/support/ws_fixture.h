/*
 * WebSocket helpers for end-to-end tests, over tacws_wsclient (tools/common).
 * A test that uses them links tacws_wsclient (tests/tools/tacws-cat adds it to
 * the test-support library for every test).
 *
 * Threads and ownership follow tacws_wsclient: one thread per group; a
 * json_object returned through json_object ** is the caller's
 * (json_object_put). Functions return 0 or a negative errno.
 */
#ifndef TACWS_WS_FIXTURE_H
#define TACWS_WS_FIXTURE_H

#include <json-c/json.h>

#include "wsclient.h"

/* Timeout used by the helpers that take none. */
#define TACWS_WS_TIMEOUT_MS 5000

/*
 * Connects to ws://127.0.0.1:<port>/api/v1/ws/<feed> ("queue",
 * "adw-state/77c90e61"); feed NULL or "" means the multiplexed /api/v1/ws.
 * query, when not NULL, is appended after '?' ("token=x"). extra may give
 * origin, bearer_token and headers (its host, port and path are ignored); it
 * may be NULL. g NULL gives the client its own group. http_status may be
 * NULL. Returns what tacws_wsclient_connect returns.
 */
int tacws_ws_connect(int port, tacws_wsgroup *g, const char *feed, const char *query,
                     const tacws_wsclient_opts *extra, int timeout_ms, tacws_wsclient **out,
                     int *http_status);

/* The same without waiting, for opening many clients at once: start them
 * all, then tacws_wsclient_wait_open each. */
int tacws_ws_start(int port, tacws_wsgroup *g, const char *feed, const char *query,
                   const tacws_wsclient_opts *extra, tacws_wsclient **out);

/* Receives the next message and parses it. Returns 0, -ETIMEDOUT, -ENOTCONN,
 * or -EBADMSG when it is not a JSON object. */
int tacws_ws_next(tacws_wsclient *c, int timeout_ms, json_object **msg);

/* The next message must have "type" == type. Returns 0; -EBADMSG when the next
 * message has another type (*msg is still set, for a closer look) or is not
 * JSON; -ETIMEDOUT; -ENOTCONN. msg may be NULL when the caller does not need
 * the message. */
int tacws_ws_expect(tacws_wsclient *c, const char *type, int timeout_ms, json_object **msg);

/* Skips messages of other types until one of type comes. Returns 0,
 * -ETIMEDOUT or -ENOTCONN. msg may be NULL. */
int tacws_ws_wait_type(tacws_wsclient *c, const char *type, int timeout_ms, json_object **msg);

/* Asserts that nothing arrives within ms: returns 0 when nothing came,
 * -EEXIST when a message came (it is consumed and, when msg is not NULL,
 * returned), -ENOTCONN when the connection closed. */
int tacws_ws_expect_silence(tacws_wsclient *c, int ms, json_object **msg);

/* Envelope accessors (borrowed from msg). seq is -1 and type/timestamp NULL
 * when absent or of the wrong type. */
long long tacws_ws_seq(json_object *msg);
const char *tacws_ws_type(json_object *msg);
const char *tacws_ws_timestamp(json_object *msg);
json_object *tacws_ws_data(json_object *msg);

/* Sends text as one text frame (copied). */
int tacws_ws_send_text(tacws_wsclient *c, const char *text);

/* Sends {"type":"ping","timestamp":timestamp} and waits for the matching
 * {"type":"pong","timestamp":timestamp}, skipping other messages. */
int tacws_ws_ping(tacws_wsclient *c, long long timestamp, int timeout_ms);

#endif
