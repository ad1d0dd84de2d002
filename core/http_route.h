/*
 * Plain HTTP on the WebSocket port: routes a request to the status
 * endpoints (http_api.c), the POST endpoints (http_post.c) or a file of
 * web_dir, and writes the response. Loop thread, from the lws callback; the
 * response's state is in the connection's http fields.
 */
#ifndef TACWS_HTTP_ROUTE_H
#define TACWS_HTTP_ROUTE_H

#include <stddef.h>

struct lws;
typedef struct tacws_server tacws_server;
typedef struct tacws_conn tacws_conn;

/* Each returns 0 to go on, nonzero to close the connection (lws's rule). */
int tacws_http_request(struct lws *wsi, tacws_conn *pss, tacws_server *srv, const char *uri);
int tacws_http_writeable(struct lws *wsi, tacws_conn *pss); /* writes more of the response */
int tacws_http_body(struct lws *wsi, tacws_conn *pss, tacws_server *srv, const void *in,
		    size_t len);
int tacws_http_body_complete(struct lws *wsi, tacws_conn *pss, tacws_server *srv);
/* A file of web_dir was sent (pss may be NULL). */
int tacws_http_file_done(struct lws *wsi, tacws_conn *pss);
void tacws_http_closed(tacws_conn *pss); /* frees the response and the POST state */

#endif
