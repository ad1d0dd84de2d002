/* Bodies of the status endpoints. Loop thread. Each builds a response body
 * (*body, the caller's; NULL when out of memory) and its content type, and
 * returns the HTTP status. */
#ifndef TACWS_HTTP_API_H
#define TACWS_HTTP_API_H

typedef struct tacws_server tacws_server;

int tacws_http_healthz(tacws_server *srv, char **body, const char **type); /* GET /healthz */
int tacws_http_feeds(tacws_server *srv, char **body, const char **type);   /* GET <prefix>/feeds */
int tacws_http_metrics(tacws_server *srv, char **body, const char **type); /* GET /metrics */

#endif
