/*
 * POST endpoints: publish, refresh and the [webhook.*] sections. Loop thread.
 * Each step returns 0 to go on (the body is still to come), or an HTTP status
 * with *body, a JSON text the caller frees, to answer now; the request's
 * state lives in the connection's post field. A body over max_body_bytes is
 * answered 413 and asks for the connection to close.
 */
#ifndef TACWS_HTTP_POST_H
#define TACWS_HTTP_POST_H

#include <stdbool.h>
#include <stddef.h>

struct lws;
typedef struct tacws_server tacws_server;
typedef struct tacws_post tacws_post;

/* The request line and headers are in. *close_after: answer, then close
 * (the body, if any, is not read). */
int tacws_http_post_begin(tacws_server *srv, struct lws *wsi, tacws_post **post, const char *uri,
			  bool *close_after, char **body);
/* A piece of the body. */
int tacws_http_post_body(tacws_server *srv, tacws_post **post, const void *in, size_t len,
			 bool *close_after, char **body);
/* The body is complete. */
int tacws_http_post_complete(tacws_server *srv, tacws_post **post, char **body);
/* Frees *post and sets it NULL (on close). */
void tacws_http_post_free(tacws_post **post);

#endif
