#include "http_route.h"

#include <libwebsockets.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "http_api.h"
#include "http_post.h"
#include "jsontext.h"
#include "listen.h"
#include "server.h"
#include "upgrade.h"

static int http_send(struct lws *wsi, tacws_conn *pss, int status, const char *type, char *body)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
					   *end = buf + sizeof buf - 1;
	size_t len = body ? strlen(body) : 0;
	if (lws_add_http_common_headers(wsi, (unsigned int)status, type, len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end)) {
		free(body);
		return 1;
	}
	pss->http.body = body;
	pss->http.len = len;
	pss->http.sent = 0;
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_error(struct lws *wsi, tacws_conn *pss, int status, const char *message)
{
	return http_send(wsi, pss, status, "application/json", tacws_json_error(message));
}

/* The request in progress is over (answered, or its connection gone). */
static void request_end(tacws_conn *pss)
{
	if (!pss->http.counted)
		return;
	pss->http.counted = false;
	lws_sul_cancel(&pss->http.deadline);
	tacws_server *srv = lws_context_user(lws_get_context(pss->http.wsi));
	srv->metrics.http_current--;
}

/* http_request_timeout_s: lws restarts its own timeout on every piece of a
 * body, so a body sent a byte at a time would hold the connection forever. */
static void on_request_deadline(lws_sorted_usec_list_t *sul)
{
	tacws_conn *pss = lws_container_of(sul, tacws_conn, http.deadline);
	tacws_server *srv = lws_context_user(lws_get_context(pss->http.wsi));
	srv->metrics.limit_hits[TACWS_LIMIT_REQUEST_TIME]++;
	lws_set_timeout(pss->http.wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
}

/* A POST begins: it counts toward max_connections until it is answered,
 * and must be done within http_request_timeout_s. 0, or 1 when refused. */
static int request_begin(struct lws *wsi, tacws_conn *pss, tacws_server *srv)
{
	if (srv->metrics.connections_current + srv->metrics.http_current >=
	    srv->cfg->max_connections) {
		srv->metrics.limit_hits[TACWS_LIMIT_CONNECTIONS]++;
		return 1;
	}
	if (pss->http.counted)
		request_end(pss); /* the previous request on a kept-alive connection */
	pss->http.counted = true;
	pss->http.wsi = wsi;
	srv->metrics.http_current++;
	lws_sul_schedule(lws_get_context(wsi), 0, &pss->http.deadline, on_request_deadline,
			 srv->cfg->http_request_timeout_s * LWS_US_PER_SEC);
	return 0;
}

int tacws_http_writeable(struct lws *wsi, tacws_conn *pss)
{
	unsigned char buf[LWS_PRE + 8192];
	size_t left = pss->http.len - pss->http.sent;
	size_t n = left < sizeof buf - LWS_PRE ? left : sizeof buf - LWS_PRE;
	if (n)
		memcpy(buf + LWS_PRE, pss->http.body + pss->http.sent, n);
	bool last = n == left;
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
	    (int)n)
		return -1;
	pss->http.sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	free(pss->http.body);
	pss->http.body = NULL;
	request_end(pss);
	return pss->http.close || lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Answers a POST step's status, or goes on reading the body (status 0).
 * body is read only after the step that fills it has run. */
static int http_post_reply(struct lws *wsi, tacws_conn *pss, int status, char **body)
{
	if (!status)
		return 0;
	if (!*body)
		return http_error(wsi, pss, 500, "out of memory");
	return http_send(wsi, pss, status, "application/json", *body);
}

static const char *mime_for(const char *path)
{
	static const char *const map[][2] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
		{".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
		{".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(dot, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

/* Serves a file of web_dir; nothing outside it, whatever the path says. */
static int serve_static(struct lws *wsi, tacws_conn *pss, tacws_server *srv, const char *uri)
{
	const char *web = srv->cfg->web_dir;
	if (!*web)
		return http_error(wsi, pss, 404, "not found");
	if (uri[0] != '/' || strstr(uri, "..") || strchr(uri, '\\') || strstr(uri, "//"))
		return http_error(wsi, pss, 404, "not found");
	char path[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	snprintf(path, sizeof path, "%s%s%s", web, uri, uri[strlen(uri) - 1] == '/' ? "index.html" : "");
	if (!realpath(web, root) || !realpath(path, real) || strncmp(real, root, strlen(root)) ||
	    (real[strlen(root)] != '/' && real[strlen(root)] != '\0'))
		return http_error(wsi, pss, 404, "not found");
	int n = lws_serve_http_file(wsi, real, mime_for(real), NULL, 0);
	if (n < 0)
		return -1;
	return 0;
}

/* status_token guards /metrics and the feeds list (they name feeds, topics
 * and errors); /healthz stays open for liveness probes. */
static bool status_token_ok(struct lws *wsi, tacws_server *srv)
{
	const char *token = srv->cfg->status_token;
	if (!*token || tacws_bearer_ok(wsi, token))
		return true;
	srv->metrics.auth_failures[TACWS_AUTH_STATUS_TOKEN]++;
	return false;
}

int tacws_http_request(struct lws *wsi, tacws_conn *pss, tacws_server *srv, const char *uri)
{
	srv->metrics.http_requests++;
	bool as_sent = !tacws_path_as_sent(wsi, uri);
	tacws_handshake_done(srv, wsi);
	if (!as_sent)
		return http_error(wsi, pss, 400, "path not routable as sent");
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	/* A GET is answered at once, so /healthz and /metrics still answer a full
	 * server; a POST holds its connection while its body arrives. */
	if (!get && request_begin(wsi, pss, srv)) {
		pss->http.close = true;
		return http_error(wsi, pss, 503, "too many connections");
	}
	char *body = NULL;
	const char *type = NULL;
	int status = 0;
	char feeds_path[128];
	snprintf(feeds_path, sizeof feeds_path, "%s/feeds", srv->cfg->api_prefix);
	bool status_page = get && (!strcmp(uri, "/metrics") || !strcmp(uri, feeds_path));
	if (status_page && !status_token_ok(wsi, srv))
		return http_error(wsi, pss, 401, "missing or wrong status token");
	if (get && !strcmp(uri, "/healthz"))
		status = tacws_http_healthz(srv, &body, &type);
	else if (get && !strcmp(uri, "/metrics"))
		status = tacws_http_metrics(srv, &body, &type);
	else if (get && !strcmp(uri, feeds_path))
		status = tacws_http_feeds(srv, &body, &type);
	else if (get && !strncmp(uri, srv->cfg->api_prefix, strlen(srv->cfg->api_prefix)))
		return http_error(wsi, pss, 404, "no such endpoint");
	else if (get)
		return serve_static(wsi, pss, srv, uri);
	else
		return http_post_reply(wsi, pss,
				       tacws_http_post_begin(srv, wsi, &pss->post, uri,
							     &pss->http.close, &body),
				       &body);
	if (!body)
		return http_error(wsi, pss, 500, "out of memory");
	return http_send(wsi, pss, status, type, body);
}

int tacws_http_body(struct lws *wsi, tacws_conn *pss, tacws_server *srv, const void *in,
		    size_t len)
{
	char *body = NULL;
	return http_post_reply(
		wsi, pss, tacws_http_post_body(srv, &pss->post, in, len, &pss->http.close, &body),
		&body);
}

int tacws_http_body_complete(struct lws *wsi, tacws_conn *pss, tacws_server *srv)
{
	char *body = NULL;
	return http_post_reply(wsi, pss, tacws_http_post_complete(srv, &pss->post, &body), &body);
}

int tacws_http_file_done(struct lws *wsi, tacws_conn *pss)
{
	if (pss)
		request_end(pss);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void tacws_http_closed(tacws_conn *pss)
{
	request_end(pss);
	free(pss->http.body);
	pss->http.body = NULL;
	tacws_http_post_free(&pss->post);
}
