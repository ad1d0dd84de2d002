/*
 * Parsers and checks of outside input: client WebSocket messages, WebSocket
 * paths and topic names, publish bodies, webhook deliveries and secrets. They touch no
 * socket and no server state, so any thread may call them and the fuzz
 * targets (tests/fuzz/) drive them directly.
 *
 * Conventions: functions return 0 or a negative errno; inputs are (pointer,
 * length) and need not be NUL-terminated; what is returned through a
 * pointer is the caller's unless said otherwise; err, when given, receives a
 * short reason that is safe to send back to the client.
 */
#ifndef TACWS_INPUT_H
#define TACWS_INPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TACWS_BASE_MAX 64   /* a feed's endpoint base: [a-z0-9_-], as feed.c requires */
#define TACWS_PARAM_MAX 256 /* a topic parameter, before the feed's own pattern */
#define TACWS_TYPE_MAX 64   /* a published message type */

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool tacws_utf8_valid(const char *s, size_t len);

/* Parses JSON text that must be one complete value (trailing whitespace is
 * allowed), valid UTF-8, at most depth levels deep. Returns the value (the
 * caller's; NULL for a JSON null) and 0, or -EINVAL. */
int tacws_json_parse(const char *text, size_t len, int depth, json_object **out);

/* A feed base: 1..TACWS_BASE_MAX of [a-z0-9_-]. */
bool tacws_base_ok(const char *s, size_t len);

/* A topic parameter as it may travel in a path or a message: 1..TACWS_PARAM_MAX
 * bytes, printable ASCII without '/', '?', '#', '%' or space. The feed's
 * pattern (tacws_feed_param_ok) is checked after this. */
bool tacws_param_ok(const char *s, size_t len);

/* "<base>" or "<base>/<param>", as in "queue" or "item/77c90e61". */
typedef struct tacws_topic_name {
	char base[TACWS_BASE_MAX + 1];
	char param[TACWS_PARAM_MAX + 1];
	bool has_param;
} tacws_topic_name;

/* Splits and checks a topic name. Returns 0 or -EINVAL. */
int tacws_topic_name_parse(const char *s, size_t len, tacws_topic_name *out);

/* Whether target, a request line's target as the client sent it ("/a/b?q"),
 * names exactly path, the path lws decoded and normalised: after
 * percent-decoding, no "." or ".." segment and nothing lws merged or dropped. */
bool tacws_target_is_path(const char *target, const char *path);

/* A WebSocket request path: "<prefix>/ws" (the multiplexed socket, a trailing
 * '/' allowed) or "<prefix>/ws/<topic name>". Returns 0 with *mux set, or
 * when not mux the topic in *out; -ENOENT for a path that is not ours;
 * -EINVAL for a malformed topic name (unknown base characters: -ENOENT). */
int tacws_ws_path_parse(const char *prefix, const char *path, bool *mux, tacws_topic_name *out);

/* A client message. */
typedef enum tacws_client_msg_kind {
	TACWS_CLIENT_INVALID,     /* not a JSON object with a string "type" */
	TACWS_CLIENT_UNKNOWN,     /* a type we do not know, or a malformed known one */
	TACWS_CLIENT_PING,        /* timestamp may be NULL */
	TACWS_CLIENT_READY,       /* "client_ready" */
	TACWS_CLIENT_SUBSCRIBE,   /* feeds is an array */
	TACWS_CLIENT_UNSUBSCRIBE, /* feeds is an array */
} tacws_client_msg_kind;

typedef struct tacws_client_msg {
	tacws_client_msg_kind kind;
	json_object *root;      /* the parsed message: tacws_client_msg_clear frees it */
	json_object *timestamp; /* borrowed from root */
	json_object *feeds;     /* borrowed from root; items are not checked here */
} tacws_client_msg;

/* Parses one client text message (depth at most 8). Always fills *out;
 * returns 0, or -EINVAL when kind is TACWS_CLIENT_INVALID. */
int tacws_client_msg_parse(const char *text, size_t len, tacws_client_msg *out);
void tacws_client_msg_clear(tacws_client_msg *m);

/* How a subscription wants its messages: deltas, and where to resume. */
#define TACWS_EPOCH_MAX 32			 /* a topic epoch: 1..32 of [A-Za-z0-9_-] */
#define TACWS_SINCE_MAX 9007199254740991ULL /* 2^53 - 1: exact in a JavaScript number */

typedef enum tacws_delta_mode {
	TACWS_DELTA_NONE,
	TACWS_DELTA_JSON_PATCH, /* "json-patch": RFC 6902 operations */
} tacws_delta_mode;

typedef struct tacws_sub_options {
	tacws_delta_mode delta;
	bool resume; /* since and epoch were given (always together) */
	uint64_t since;
	char epoch[TACWS_EPOCH_MAX + 1];
	bool has_offset; /* offset was given (only with since and epoch) */
	uint64_t offset; /* the last event the client got: later ones are replayed */
} tacws_sub_options;

/* One item of a subscribe's "feeds": a topic name string, or
 * {"topic":…[,"delta":"json-patch"][,"since":<seq>,"epoch":"…"[,"offset":<event>]]}
 * with no other member. */
typedef struct tacws_sub_request {
	const char *topic; /* borrowed from the item; the name is not checked here */
	size_t topic_len;
	tacws_sub_options opts;
} tacws_sub_request;

/* Parses a subscribe item. Returns 0, or -EINVAL with the reason in err. */
int tacws_sub_request_parse(json_object *item, tacws_sub_request *out, char *err, size_t errlen);

/* A per-feed socket's query values (each NULL when absent): delta=json-patch,
 * since=<decimal seq> with epoch=<epoch>, and with both offset=<decimal event
 * offset>. Returns 0, or -EINVAL with the reason in err. */
int tacws_sub_options_from_query(const char *delta, const char *since, const char *epoch,
				 const char *offset, tacws_sub_options *out, char *err,
				 size_t errlen);

/* POST /api/v1/publish: {"feed","type","data"[,"param"]}. */
typedef struct tacws_publish_req {
	char feed[TACWS_BASE_MAX + 1];
	char type[TACWS_TYPE_MAX + 1]; /* [A-Za-z0-9_.:-] */
	char param[TACWS_PARAM_MAX + 1];
	bool has_param;
	json_object *data; /* the caller's (json_object_put); may be NULL for JSON null */
} tacws_publish_req;

/* Parses a publish body. Returns 0, or -EINVAL with the reason in err (and
 * nothing to free). */
int tacws_publish_parse(const char *body, size_t len, tacws_publish_req *out, char *err,
                        size_t errlen);

/* POST /api/v1/feeds/{feed}/refresh: an empty body (every topic of the feed)
 * or {"param":"<topic parameter>"} (that topic). Returns 0 with *has_param
 * and param filled, or -EINVAL with the reason in err. */
int tacws_refresh_parse(const char *body, size_t len, char param[TACWS_PARAM_MAX + 1],
                        bool *has_param, char *err, size_t errlen);

/* Constant-time equality of two secrets (tokens, webhook tokens): the time
 * taken says nothing of where they differ or of their lengths. */
bool tacws_secret_equal(const char *a, const char *b);

/* Checks a signature header of the form "<prefix><64 hex>" (GitHub's
 * X-Hub-Signature-256: prefix "sha256=") against the HMAC-SHA256 of body
 * with secret, in constant time. False for an empty secret or a malformed
 * header. */
bool tacws_hmac_sha256_ok(const char *secret, const char *prefix, const char *header,
                          const void *body, size_t len);

/* A webhook event name as an event header carries it: 1..64 of [a-z_]. */
bool tacws_webhook_event_ok(const char *event);

/* Reads a webhook delivery's payload: body as JSON, or form-encoded
 * (payload=...) when content_type says application/x-www-form-urlencoded.
 * Returns 0 and *payload (the caller's, a JSON object), or -EINVAL with the
 * reason in err, or -ENOMEM. */
int tacws_webhook_payload_parse(const char *content_type, const char *body, size_t len,
                                json_object **payload, char *err, size_t errlen);

/* text as it may leave the process (status pages, messages): each URL without
 * its userinfo ("user:pass@"), query and fragment, each absolute local path
 * cut to ".../<last segment>". The log keeps the original. out holds cap
 * bytes, NUL-terminated. */
void tacws_redact(const char *text, char *out, size_t cap);

/* A POST's framing from its headers as tacws read them: cl (NUL-terminated)
 * and cl_len, te_len as tacws_header_copy returns them (0 absent, -1 too long
 * to read). Returns 0 with *expected, the body's length, or the status that
 * refuses it (*why): 400 for both framings or a Content-Length that is not a
 * plain number tacws can read (RFC 9112 6.3: sender and server could disagree
 * on where the body ends), 411 for a chunked body, 413 over max_body. */
int tacws_post_framing(const char *cl, int cl_len, int te_len, size_t max_body, size_t *expected,
		       const char **why);

#endif
