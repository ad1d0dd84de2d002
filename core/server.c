/* The loop and the lws context: every lws event goes to the module that owns it. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "server.h"

#include "client.h"
#include "cluster.h"
#include "commands.h"
#include "conn.h"
#include "feed.h"
#include "http_route.h"
#include "listen.h"
#include "loader.h"
#include "log.h"
#include "now.h"
#include "peers.h"
#include "reload.h"
#include "upgrade.h"

static int callback_tacws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			  size_t len)
{
	tacws_conn *conn = user;
	struct lws_context *ctx = lws_get_context(wsi);
	tacws_server *srv = ctx ? lws_context_user(ctx) : NULL;
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (srv && srv->workers) {
			tacws_feed_collect(srv);
			tacws_commands_run(srv);
		}
		return 0;
	case LWS_CALLBACK_HTTP: /* tacws_handshake_done once it read the request as sent */
		return conn ? tacws_http_request(wsi, conn, srv, in) : -1;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return conn && conn->http.body ? tacws_http_writeable(wsi, conn) : 0;
	case LWS_CALLBACK_HTTP_BODY:
		return conn ? tacws_http_body(wsi, conn, srv, in, len) : -1;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return conn ? tacws_http_body_complete(wsi, conn, srv) : -1;
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		return tacws_http_file_done(wsi, conn);
	case LWS_CALLBACK_CLOSED_HTTP:
		/* a connection that dies before its headers are in has no session data */
		if (conn)
			tacws_http_closed(conn);
		else if (srv)
			srv->metrics.handshakes_incomplete++; /* handshake_timeout_s, or a peer gone */
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
		int refused = tacws_upgrade_check(wsi, srv); /* reads the request as sent */
		tacws_handshake_done(srv, wsi);
		return refused;
	}
	case LWS_CALLBACK_WSI_DESTROY:
		tacws_handshake_done(srv, wsi); /* gone before its headers were in */
		return 0;
	case LWS_CALLBACK_ADD_HEADERS: /* only the upgrade's answer comes here */
		return srv ? tacws_conn_answer_deflate(srv, wsi, in) : 0;
	case LWS_CALLBACK_ESTABLISHED:
		return tacws_client_open(wsi, srv, conn);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return tacws_conn_drain(conn);
	case LWS_CALLBACK_RECEIVE:
		tacws_conn_seen(srv, conn);
		return tacws_client_receive(wsi, srv, conn, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		tacws_conn_seen(srv, conn);
		return 0;
	case LWS_CALLBACK_CLOSED:
		tacws_client_closed(conn);
		tacws_conn_closed(srv, conn);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* [server] compression = 1: lws's permessage-deflate takes the offer and inflates
 * what clients send (lws 4.1 closes on RSV1 frames without an active extension);
 * tacws rewrites its answer (tacws_conn_answer_deflate: no context takeover either
 * way, a small client window) and writes the shared compressed frames itself
 * (deflate.h), so lws's per connection compressor is never set up. */
static const struct lws_extension deflate_extension[] = {
	{"permessage-deflate", lws_extension_callback_pm_deflate,
	 "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
	{NULL, NULL, NULL},
};

/* rx_buffer_size: lws gives every connection a receive buffer of this size (4 KiB when 0);
 * client messages are small, and longer ones arrive in pieces on_receive joins.
 * tx_packet_size: lws caps each send() at it (else at rx_buffer_size), so a large message
 * goes out in one write instead of 4 KiB pieces, each a syscall and a pass of the loop. */
static const struct lws_protocols protocols[] = {
	{"tacws", callback_tacws, sizeof(tacws_conn), 512, 0, NULL, 256 * 1024},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		n--;
	tacws_log(level == LLL_ERR ? TACWS_LOG_WARN : TACWS_LOG_DEBUG, "lws", "%.*s", (int)n, line);
}

static void wake(void *arg)
{
	tacws_server *srv = arg;
	lws_cancel_service(srv->lws);
}

int tacws_server_create(tacws_config *cfg, tacws_server **out)
{
	tacws_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return -ENOMEM;
	srv->cfg = cfg;
	tacws_commands_init(srv);
	tacws_now_iso(srv->started_at, sizeof srv->started_at);
	*out = srv;
	return 0;
}

/* Starts listening; plugins must be loaded. */
static int server_listen(tacws_server *srv)
{
	tacws_config *cfg = srv->cfg;
	lws_set_log_level(tacws_log_threshold >= TACWS_LOG_DEBUG ? LLL_ERR | LLL_WARN : LLL_ERR,
			  lws_log_emit);

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* listen.c owns the listening sockets */
	info.protocols = protocols;
	info.user = srv;
	/* No per-connection validity timer (lws's default pings at 300 s): each reset is a
	 * sorted insert walking every connection's timer. conn.c pings with one timer. */
	static const lws_retry_bo_t no_validity_timer = {.secs_since_valid_hangup = 0};
	info.retry_and_idle_policy = &no_validity_timer;
	/* The handshake deadline is listen.c's; these cover a request body or a keep-alive. */
	info.timeout_secs = (unsigned int)cfg->handshake_timeout_s;
	info.timeout_secs_ah_idle = (unsigned int)cfg->handshake_timeout_s;
	info.options = 0; /* UTF-8 is checked per message in on_receive, where it is counted */
	if (cfg->compression)
		info.extensions = deflate_extension;
	info.vhost_name = "tacws";
	info.server_string = "tacws";
	/* lws 4.1's own loop is poll(): every pass scans every descriptor, O(connections)
	 * per wake-up. On a libuv (epoll) loop of ours a pass costs O(ready sockets).
	 * (Not libev: lws 4.1 re-arms its libev timer without stopping it, so a timer
	 * set sooner than the pending one fires late.) */
	srv->loop = malloc(sizeof *srv->loop);
	if (!srv->loop || uv_loop_init(srv->loop)) {
		free(srv->loop);
		srv->loop = NULL;
		tacws_log_error("server", "cannot create the event loop");
		return -ENOMEM;
	}
	void *foreign_loops[1] = {srv->loop};
	info.foreign_loops = foreign_loops;
	info.options |= LWS_SERVER_OPTION_LIBUV;
	info.pcontext = &srv->lws; /* cleared when the staged destroy is done */
	srv->lws = lws_create_context(&info);
	if (!srv->lws) {
		tacws_log_error("server", "cannot start libwebsockets (is its libuv plugin, Debian's "
				"libwebsockets-evlib-uv, installed?)");
		return -ENOMEM;
	}
	srv->vhost = lws_get_vhost_by_name(srv->lws, "tacws");
	int lrc = srv->vhost ? tacws_listen_start(srv) : -ENOMEM;
	if (lrc)
		return lrc;
	tacws_conn_liveness_start(srv); /* pings: see conn.c */
	int rc = tacws_workers_start(&srv->workers, (int)cfg->workers, wake, srv);
	if (!rc)
		rc = tacws_cluster_start(srv);
	if (rc)
		return rc;
	tacws_log_info("server", "tacws listening on http://%s:%d/ (%zu feeds)", cfg->listen,
		       srv->port, srv->n_feeds);
	return 0;
}

static void shutdown_tick(lws_sorted_usec_list_t *sul)
{
	(void)sul; /* only wakes the loop so the shutdown loop checks its deadline */
}

int tacws_server_run(tacws_server *srv)
{
	int rc = server_listen(srv);
	if (rc)
		return rc;
	while (!srv->stop_requested) {
		if (srv->reload_requested) {
			srv->reload_requested = 0;
			tacws_server_reload(srv);
			/* lws re-arms its loop timer after an event: timers set here need one */
			lws_cancel_service(srv->lws);
		}
		uv_run(srv->loop, UV_RUN_ONCE);
	}

	srv->stopping = true;
	tacws_listen_stop(srv);
	tacws_conn_liveness_stop(srv);
	tacws_log_info("server", "shutting down: closing %u connections", srv->conns.count);
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&srv->conns)) {
		tacws_conn_close(lws_container_of(d, tacws_conn, link), LWS_CLOSE_STATUS_GOINGAWAY,
				 "server shutting down");
	}
	lws_end_foreach_dll(d);
	lws_sorted_usec_list_t tick;
	memset(&tick, 0, sizeof tick);
	lws_usec_t deadline = lws_now_usecs() + 3 * LWS_US_PER_SEC;
	while (srv->conns.count && lws_now_usecs() < deadline) {
		lws_sul_schedule(srv->lws, 0, &tick, shutdown_tick, 50 * LWS_US_PER_MS);
		lws_cancel_service(srv->lws); /* as after a reload */
		uv_run(srv->loop, UV_RUN_ONCE);
	}
	lws_sul_cancel(&tick);
	return 0;
}

void tacws_server_destroy(tacws_server *srv)
{
	if (!srv)
		return;
	bool workers_done = tacws_workers_stop(srv->workers, 3000);
	srv->workers = NULL;
	if (!workers_done)
		tacws_log_error("server", "a snapshot is still running; plugins are not unloaded");
	srv->stopping = true;
	/* Timers live in the lws context: drop topics before it goes. */
	for (size_t i = 0; workers_done && i < srv->n_feeds; i++)
		tacws_feed_drop_topics(srv->feeds[i]);
	tacws_cluster_stop(srv); /* after the topics: they release their leases */
	/* On a loop of ours, lws destroys its context in stages: each call closes handles
	 * the loop then runs down, and lws clears srv->lws (info.pcontext) when done. */
	for (int stage = 0; srv->lws && stage < 4; stage++) {
		lws_context_destroy(srv->lws);
		if (srv->loop)
			uv_run(srv->loop, UV_RUN_DEFAULT);
	}
	if (srv->lws)
		tacws_log_warn("server", "libwebsockets did not finish closing");
	srv->lws = NULL;
	/* after lws: closing a connection still in its handshake drops its FIFO entry */
	tacws_listen_free(srv);
	if (srv->loop) {
		uv_run(srv->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(srv->loop))
			tacws_log_warn("server", "event loop still has open handles at exit");
		else
			free(srv->loop);
	}
	srv->loop = NULL;
	tacws_listen_release(srv);
	tacws_peers_free(srv);
	if (workers_done) {
		tacws_plugins_unload(srv);
		tacws_reload_free(srv);
	}
	tacws_commands_free(srv);
	free(srv);
}
