/*
 * A small real HTTP/1.1 server for tests, on 127.0.0.1 and an ephemeral port.
 *
 * The test sets one canned response per path (status, content type, body,
 * and a delay before answering to simulate a hung service); any method is
 * answered the same way, query strings are ignored, unknown paths get 404.
 * Each connection is served by its own thread and closed after one response,
 * so slow responses do not hold up others.
 *
 * It can be stopped (the port then refuses connections; requests in flight
 * are dropped without an answer, delays included) and restarted on the same
 * port.
 *
 * All functions may be called from any thread. Strings passed in are copied.
 * Functions return 0 or a negative errno.
 */
#ifndef TACWS_HTTP_FIXTURE_H
#define TACWS_HTTP_FIXTURE_H

#include <stddef.h>

typedef struct tacws_http_fixture tacws_http_fixture;

/* Starts a server on 127.0.0.1 and an ephemeral port. *out is the caller's;
 * release it with tacws_http_fixture_free. */
int tacws_http_fixture_start(tacws_http_fixture **out);

/* Stops (if running) and frees f. NULL is fine. */
void tacws_http_fixture_free(tacws_http_fixture *f);

/* Closes the listening socket and drops requests in flight; returns once no
 * server thread runs. Routes and counters are kept. */
int tacws_http_fixture_stop(tacws_http_fixture *f);

/* Listens again on the same port. -EALREADY when running. */
int tacws_http_fixture_restart(tacws_http_fixture *f);

/* The port, fixed for the fixture's lifetime. */
int tacws_http_fixture_port(const tacws_http_fixture *f);

/* Writes "http://127.0.0.1:<port><path>" into buf and returns buf. */
char *tacws_http_fixture_url(const tacws_http_fixture *f, const char *path, char *buf, size_t len);

/*
 * Sets (or replaces) the response for path ("/openapi.json", exact match,
 * without query). content_type NULL means "application/json"; body NULL means
 * empty. delay_ms > 0 waits that long after reading the request before
 * answering.
 */
int tacws_http_fixture_set(tacws_http_fixture *f, const char *path, int status,
                           const char *content_type, const char *body, int delay_ms);

/* Makes path answer status (301, 302, 307, ...) with a Location header. */
int tacws_http_fixture_set_redirect(tacws_http_fixture *f, const char *path, int status,
                                    const char *location);

/* Removes path's response (it then answers 404). */
int tacws_http_fixture_unset(tacws_http_fixture *f, const char *path);

/* Number of requests answered by path's response since it was first set (NULL: all
 * requests since start, unknown paths included). */
int tacws_http_fixture_requests(tacws_http_fixture *f, const char *path);

#endif
