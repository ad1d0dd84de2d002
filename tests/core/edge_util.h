/*
 * Helpers for the edge tests (publish, webhook, multiplexed socket, limits):
 * raw sockets for what a well-behaved client cannot do (bind a source
 * address, hold a handshake, reuse one HTTP connection) and the GitHub
 * signature computed independently of the server.
 *
 * Threads: any. Functions return 0 or a negative errno unless said otherwise.
 */
#ifndef TACWS_EDGE_UTIL_H
#define TACWS_EDGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "server_fixture.h"

/* A TCP connection to 127.0.0.1:port from source address src ("127.0.0.2";
 * NULL: any). Returns the socket or -errno. */
int edge_connect(const char *src, int port);

/* The same with the socket's receive buffer set to rcvbuf bytes (0: the system's
 * default): a client that does not read then fills up the server's side fast. */
int edge_connect_rcvbuf(const char *src, int port, int rcvbuf);

/* Sends a WebSocket upgrade for path with extra header lines (each ending in
 * "\r\n", or NULL) and reads the answer up to its blank line, no further: the
 * frames that follow stay in the socket for edge_ws_frame. answer (cap bytes, or
 * NULL) gets the status line and headers. Returns the HTTP status (101 when
 * upgraded), or -errno. The socket stays open. */
int edge_ws_upgrade(int fd, const char *path, const char *extra_headers, int timeout_ms,
                    char *answer, size_t cap);

/* Reads the next server frame within timeout_ms: its first byte (FIN, RSV1,
 * opcode) and its payload (*payload: the caller's, NUL-terminated). */
int edge_ws_frame(int fd, int timeout_ms, unsigned char *first, unsigned char **payload,
                  size_t *len);

/* Sends one WebSocket frame: first is its first byte (FIN, opcode), the
 * payload is masked with a fixed key unless masked is false (a client must
 * mask, RFC 6455 5.1; an unmasked frame is what a test sends to see it refused). */
int edge_ws_send_frame(int fd, unsigned char first, const void *payload, size_t len, bool masked);

/* Skips frames until the close frame (within timeout_ms): returns its code
 * (1005 when it has none) and its reason in reason (len bytes, may be 0), or
 * -ETIMEDOUT / -ECONNRESET when none came. skipped, when not NULL, counts the
 * frames skipped. */
int edge_ws_close_frame(int fd, int timeout_ms, char *reason, size_t len, int *skipped);

/* Reads what the server sends until it closes the connection or timeout_ms
 * passes, into buf (NUL-terminated; past cap - 1 bytes the rest is dropped).
 * Returns the bytes kept; *closed tells whether the server closed. */
size_t edge_read_until_close(int fd, int timeout_ms, char *buf, size_t cap, bool *closed);

/* Sends raw bytes and reads the answer's status line (headers only).
 * Returns the HTTP status or -errno. */
int edge_raw(int fd, const char *request, size_t len, int timeout_ms);

/* One HTTP/1.1 request on an open socket (keep-alive): sends it and reads
 * one whole answer (Content-Length framing). Returns the status; *body, when
 * not NULL, is the answer's body (the caller's). */
int edge_http(int fd, const char *method, const char *path, const char *extra_headers,
              const char *body, size_t body_len, int timeout_ms, char **out_body);

/* Starts tacwsd with testfeed's feed "alpha" (serving {"v":1}) after the
 * sections in ini_extra ("[auth]\n..."); *port is where it listens. */
int edge_start_alpha(tacws_server_fixture **fx, const char *ini_extra, int *port);

/* Copies from to dir/name through a temporary file renamed into place, so a
 * loaded .so is never written over (a reload test replaces plugins so). */
int edge_install_file(const char *from, const char *dir, const char *name);

/* "sha256=<hex>" of HMAC-SHA256(secret, body) into out (at least 72 bytes). */
void edge_github_signature(const char *secret, const char *body, size_t len, char *out);

/* {"fill":"xxx…"} with bytes of x (malloc'd, the caller's): a snapshot big enough to
 * fill the kernel's socket buffers on both sides. NULL when out of memory. */
char *edge_filler_json(size_t bytes);

#endif
