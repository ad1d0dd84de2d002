/*
 * The server: the libwebsockets context on a libuv loop, the lws callback
 * that hands each event to the module that owns it, and start-up and
 * shutdown. The struct is the state the
 * modules share; each field says which module writes it. Everything is the
 * loop thread's, except the command queue (any thread) and the two signal
 * flags (a signal handler).
 */
#ifndef TACWS_SERVER_H
#define TACWS_SERVER_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <tacws/plugin.h>

#include "config.h"
#include "metrics.h"
#include "workers.h"

typedef struct tacws_server tacws_server;
typedef struct tacws_feed tacws_feed;
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_timer_s uv_timer_t;

struct tacws_server {
	/* server.c, and reload.c when a reload takes effect */
	tacws_config *cfg;
	struct lws_context *lws;
	uv_loop_t *loop; /* libuv (epoll): lws runs on it */
	struct lws_vhost *vhost;
	tacws_workers *workers;
	char started_at[32];
	volatile int stop_requested;   /* set from a signal handler */
	volatile int reload_requested; /* set from a signal handler (SIGHUP) */
	bool stopping;

	struct tacws_listeners *listeners; /* listen.c */
	int port;			   /* listen.c: the one bound (cfg->port may be 0) */
	struct tacws_peers *peers;	   /* peers.c */

	/* feed.c: the feeds served, and those a reload removed (kept until
	 * shutdown: queued messages still point at them for their counters) */
	tacws_feed **feeds;
	size_t n_feeds;
	tacws_feed **retired;
	size_t n_retired;

	tacws_plugin_ctx *plugins; /* loader.c */
	/* reload.c: configurations loaded by reloads (plugins may hold their strings) */
	tacws_config **configs;
	size_t n_configs;

	lws_dll2_owner_t conns;		 /* conn.c: open WebSocket connections */
	lws_sorted_usec_list_t liveness; /* conn.c: pings and hang-ups of idle peers */
	struct tacws_metrics metrics;	 /* every module counts what it sees */

	/* cluster.c: the broker of [cluster] (NULL alone, or once closing), its lease tick */
	struct tacws_broker *broker;
	uv_timer_t *cluster_tick;
	struct tacws_cluster_peers *cluster_peers; /* the live peers last read (cluster.c) */
	struct tacws_cluster_metrics cluster; /* feed.c and cluster.c count */

	/* commands.c: requests from other threads (plugins), drained on the loop */
	pthread_mutex_t cmd_lock;
	struct tacws_cmd *cmds, **cmds_tail;
};

int tacws_server_create(tacws_config *cfg, tacws_server **out);
int tacws_server_run(tacws_server *srv); /* until stop_requested */
void tacws_server_destroy(tacws_server *srv);

#endif
