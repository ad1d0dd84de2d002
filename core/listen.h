/*
 * The listening sockets and handshake deadlines: tacws binds its own
 * SO_REUSEPORT sockets on the libuv loop and hands accepted sockets to lws,
 * a bounded number of handshakes at a time. Loop thread.
 */
#ifndef TACWS_LISTEN_H
#define TACWS_LISTEN_H

struct lws;
typedef struct tacws_server tacws_server;

/* Binds cfg->listen:port with SO_REUSEPORT sockets on srv->loop; accepted
 * sockets go to srv->vhost. Sets srv->port. Returns 0 or a negative errno. */
int tacws_listen_start(tacws_server *srv);
/* The request headers of wsi are in (or it is going): its deadline is off. */
void tacws_handshake_done(tacws_server *srv, struct lws *wsi);
/* The target of wsi's request line as the client sent it (before lws
 * decoded and normalised it), while its handshake is pending; else NULL. */
const char *tacws_request_target(struct lws *wsi);
/* Connections accepted whose request headers are not in yet. */
unsigned tacws_handshakes_pending(const tacws_server *srv);
/* Stops accepting (shutdown). */
void tacws_listen_stop(tacws_server *srv);
/* After lws_context_destroy: closes the remaining handles; then, once the loop
 * has run them down, tacws_listen_release frees the memory. */
void tacws_listen_free(tacws_server *srv);
void tacws_listen_release(tacws_server *srv);

#endif
