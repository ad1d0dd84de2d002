/*
 * Where a WebSocket request goes, and whether it may: the route of a path or
 * topic name to a feed, and the checks of an upgrade (origin, token,
 * connection limits). Loop thread.
 */
#ifndef TACWS_UPGRADE_H
#define TACWS_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "input.h"

struct lws;
typedef struct tacws_server tacws_server;
typedef struct tacws_feed tacws_feed;

typedef struct tacws_route {
	tacws_feed *feed; /* NULL with mux */
	bool mux;
	const char *param; /* into name.param, or NULL for a feed without one */
	tacws_topic_name name;
} tacws_route;

/* A topic name ("queue", "item/77c90e61") to its feed. Returns 0, 404 (no
 * such feed) or 400 (a parameter the feed does not take). */
int tacws_route_topic(tacws_server *srv, const char *name, size_t len, tacws_route *r);

/* A request path ("<prefix>/ws/<topic>" or the multiplexed "<prefix>/ws").
 * Returns 0, 404 or 400. */
int tacws_route_path(tacws_server *srv, const char *path, tacws_route *r);

/* 0 when path, as lws decoded and normalised it, is what the client sent on
 * the request line (or that line is not known: a kept-alive connection's
 * later request); else 400. Before tacws_handshake_done. */
int tacws_path_as_sent(struct lws *wsi, const char *path);

/* A per-feed socket's subscription options from its query (?delta=,
 * ?since=&epoch=[&offset=]). Returns 0, or -EINVAL with the reason in err. */
int tacws_route_options(struct lws *wsi, tacws_sub_options *opts, char *err, size_t errlen);

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: routes and checks the request; a refusal
 * is answered (and counted) here. Returns 0 to upgrade, 1 when refused. */
int tacws_upgrade_check(struct lws *wsi, tacws_server *srv);

/* Header t copied whole into buf (cap bytes): its length, 0 when absent, or
 * -1 when it does not fit. A header that cannot be read whole is refused
 * (431), never taken as absent. */
int tacws_header_copy(struct lws *wsi, int t, char *buf, size_t cap);

/* An "Authorization: Bearer <token>" header carrying token (constant time). */
bool tacws_bearer_ok(struct lws *wsi, const char *token);

#endif
