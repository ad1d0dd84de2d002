/*
 * Where a WebSocket request goes, and whether it may: the route of a path or
 * topic name to a feed, and the checks of an upgrade (origin, token,
 * connection limits). Loop thread.
 */
#ifndef TACWS_UPGRADE_H
#define TACWS_UPGRADE_H

#include <stdbool.h>

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

/* A per-feed socket's subscription options from its query (?delta=,
 * ?since=&epoch=). Returns 0, or -EINVAL with the reason in err. */
int tacws_route_options(struct lws *wsi, tacws_sub_options *opts, char *err, size_t errlen);

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: routes and checks the request; a refusal
 * is answered (and counted) here. Returns 0 to upgrade, 1 when refused. */
int tacws_upgrade_check(struct lws *wsi, tacws_server *srv);

/* An "Authorization: Bearer <token>" header carrying token (constant time). */
bool tacws_bearer_ok(struct lws *wsi, const char *token);

#endif
