#include "upgrade.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "feed.h"
#include "listen.h"
#include "log.h"
#include "peers.h"
#include "recvtap.h"
#include "server.h"

static int route_name(tacws_server *srv, tacws_route *r)
{
	r->feed = tacws_feed_find(srv, r->name.base, strlen(r->name.base));
	if (!r->feed)
		return 404;
	if (!tacws_feed_has_param(r->feed))
		return r->name.has_param ? 404 : 0;
	if (!r->name.has_param || !tacws_feed_param_ok(r->feed, r->name.param))
		return 400;
	r->param = r->name.param;
	return 0;
}

int tacws_route_topic(tacws_server *srv, const char *name, size_t len, tacws_route *r)
{
	memset(r, 0, sizeof *r);
	if (tacws_topic_name_parse(name, len, &r->name))
		return tacws_base_ok(name, strcspn(name, "/")) ? 400 : 404;
	return route_name(srv, r);
}

int tacws_route_path(tacws_server *srv, const char *path, tacws_route *r)
{
	memset(r, 0, sizeof *r);
	int rc = tacws_ws_path_parse(srv->cfg->api_prefix, path, &r->mux, &r->name);
	if (rc || r->mux)
		return rc == -ENOENT ? 404 : rc ? 400 : 0;
	return route_name(srv, r);
}

/* What each header the checks read may hold: an origin or host is a DNS name
 * (253 bytes) with a scheme and a port; a bearer token fits AUTH_MAX. */
enum { NAME_MAX_BYTES = 280, AUTH_MAX = 512, URI_MAX = 512 };

int tacws_header_copy(struct lws *wsi, int t, char *buf, size_t cap)
{
	int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
	buf[0] = '\0';
	if (len <= 0)
		return 0;
	if ((size_t)len >= cap ||
	    lws_hdr_copy(wsi, buf, (int)cap, (enum lws_token_indexes)t) != len) {
		buf[0] = '\0';
		return -1;
	}
	return len;
}

int tacws_route_options(struct lws *wsi, tacws_sub_options *opts, char *err, size_t errlen)
{
	char delta[32], since[32], epoch[TACWS_EPOCH_MAX + 2], offset[32];
	const char *d = lws_get_urlarg_by_name(wsi, "delta=", delta, sizeof delta);
	const char *s = lws_get_urlarg_by_name(wsi, "since=", since, sizeof since);
	const char *e = lws_get_urlarg_by_name(wsi, "epoch=", epoch, sizeof epoch);
	const char *o = lws_get_urlarg_by_name(wsi, "offset=", offset, sizeof offset);
	return tacws_sub_options_from_query(d, s, e, o, opts, err, errlen);
}

bool tacws_bearer_ok(struct lws *wsi, const char *token)
{
	char auth[AUTH_MAX];
	return tacws_header_copy(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth) > 0 &&
	       !strncasecmp(auth, "Bearer ", 7) && tacws_secret_equal(auth + 7, token);
}

static bool token_ok(struct lws *wsi, const char *token)
{
	if (!*token)
		return true;
	if (tacws_bearer_ok(wsi, token))
		return true;
	char arg[512];
	const char *v = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof arg);
	return v && tacws_secret_equal(v, token);
}

/* allowed_origins, beside the same origin: a page of the Host the request
 * came to (the dashboard tacwsd serves) is never cross-site. */
static bool origin_ok(struct lws *wsi, const char *allowed)
{
	char origin[NAME_MAX_BYTES], host[NAME_MAX_BYTES];
	if (!*allowed || tacws_header_copy(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin) <= 0)
		return true; /* not a browser, or no list; headers_fit refused a long one */
	if (tacws_header_copy(wsi, WSI_TOKEN_HOST, host, sizeof host) > 0 &&
	    !strncasecmp(origin, "http://", 7) && !strcasecmp(origin + 7, host))
		return true;
	size_t olen = strlen(origin);
	for (const char *p = allowed; *p;) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && p[m - 1] == ' ')
			m--;
		if (m && m == olen && !strncasecmp(p, origin, m))
			return true;
		p += n;
	}
	return false;
}

/* Every header the checks read fits its buffer: one that does not is
 * refused, not skipped (a long Origin must not pass as no Origin). */
static bool headers_fit(struct lws *wsi)
{
	static const struct {
		enum lws_token_indexes t;
		int max;
	} checked[] = {{WSI_TOKEN_ORIGIN, NAME_MAX_BYTES},
		       {WSI_TOKEN_HOST, NAME_MAX_BYTES},
		       {WSI_TOKEN_HTTP_AUTHORIZATION, AUTH_MAX},
		       {WSI_TOKEN_GET_URI, URI_MAX}};
	for (size_t i = 0; i < sizeof checked / sizeof checked[0]; i++)
		if (lws_hdr_total_length(wsi, checked[i].t) >= checked[i].max)
			return false;
	return true;
}

/* Routes are decided on the path the client sent: lws decodes and
 * normalises it ("/ws/x/%2E%2E" becomes "/ws/"); a path that is not the
 * same once decoded, or holds dot segments, is 400. */
int tacws_path_as_sent(struct lws *wsi, const char *path)
{
	const char *target = tacws_request_target(wsi);
	return target && !tacws_target_is_path(target, path) ? 400 : 0;
}

/* max_connections_per_ip: the peer's address may hold that many sockets. */
static bool peer_ok(struct lws *wsi, tacws_server *srv)
{
	long max = srv->cfg->max_connections_per_ip;
	if (!max)
		return true;
	char peer[64];
	lws_get_peer_simple(wsi, peer, sizeof peer);
	return tacws_peers_count(srv, peer) < max;
}

int tacws_upgrade_check(struct lws *wsi, tacws_server *srv)
{
	char path[URI_MAX];
	int status = 0;
	const char *why = "";
	tacws_route r;
	bool creates;
	tacws_sub_options opts;
	char bad_query[80];
	if (!headers_fit(wsi)) {
		status = 431, why = "request header too long";
		srv->metrics.limit_hits[TACWS_LIMIT_HEADER_BYTES]++;
	} else if (!tacws_recvtap_request_read_last(lws_get_socket_fd(wsi))) {
		/* frames sent before the 101 would be read past the frame tap */
		status = 400, why = "data sent before the upgrade was answered";
		srv->metrics.bad_input[TACWS_INPUT_EARLY_DATA]++;
	} else if (tacws_header_copy(wsi, WSI_TOKEN_GET_URI, path, sizeof path) <= 0) {
		status = 404, why = "no such feed";
	} else if ((status = tacws_path_as_sent(wsi, path))) {
		why = "path not routable as sent";
	} else if ((status = tacws_route_path(srv, path, &r))) {
		why = status == 404 ? "no such feed" : "bad parameter";
	} else if (!r.mux && tacws_route_options(wsi, &opts, bad_query, sizeof bad_query)) {
		status = 400, why = bad_query;
	} else if (!r.mux && tacws_feed_topic_room(r.feed, r.param, &creates)) {
		status = 503, why = "too many live topics for this feed (max_topics)";
		srv->metrics.limit_hits[TACWS_LIMIT_TOPICS]++;
	} else if (!origin_ok(wsi, srv->cfg->allowed_origins)) {
		status = 403, why = "origin not allowed";
		srv->metrics.auth_failures[TACWS_AUTH_ORIGIN]++;
	} else if (!token_ok(wsi, srv->cfg->ws_token)) {
		status = 401, why = "missing or wrong token";
		srv->metrics.auth_failures[TACWS_AUTH_WS_TOKEN]++;
	} else if (srv->metrics.connections_current + srv->metrics.http_current >=
			   srv->cfg->max_connections ||
		   srv->stopping) {
		status = 503, why = "too many connections";
		srv->metrics.limit_hits[TACWS_LIMIT_CONNECTIONS] += !srv->stopping;
	} else if (!peer_ok(wsi, srv)) {
		status = 429, why = "too many connections from this address";
		srv->metrics.limit_hits[TACWS_LIMIT_CONNECTIONS_IP]++;
	}
	if (!status)
		return 0;
	srv->metrics.connections_rejected++;
	tacws_log_debug("ws", "upgrade refused (%d %s): %s", status, why, path);
	lws_return_http_status(wsi, (unsigned int)status, why);
	return 1;
}
