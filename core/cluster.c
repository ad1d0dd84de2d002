/* The broker of [cluster]: opened, ticked, shown. What a topic does with it is feed.c's. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cluster.h"

#include "broker.h"
#include "feed.h"
#include "log.h"
#include "server.h"

/* The other live nodes: each node records itself in the broker's registry every third of
 * the lease TTL and reads back those seen within the last TTL (Redis's clock), so a node
 * that stops is gone from the others' lists within 4/3 of the TTL (plus a round trip). The
 * status pages read this copy, never Redis. With shard 0 down it keeps the last list read. */
#define PEERS_MAX TACWS_BROKER_NODES_MAX

struct tacws_cluster_peers {
	char **ids; /* sorted */
	size_t n;
	bool pending; /* a read is on its way: its answer goes here */
	bool closed;  /* tacws_cluster_stop ran: that answer frees this */
};

static void peers_clear(struct tacws_cluster_peers *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ids[i]);
	free(p->ids);
	p->ids = NULL;
	p->n = 0;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void on_nodes(void *arg, int status, const char *const *ids, size_t n)
{
	struct tacws_cluster_peers *p = arg;
	p->pending = false;
	if (p->closed) {
		peers_clear(p);
		free(p);
		return;
	}
	if (status != 0)
		return; /* the last list stays */
	char **copy = n ? calloc(n, sizeof *copy) : NULL;
	size_t k = 0;
	for (size_t i = 0; copy && i < n; i++) {
		/* anything else in the registry is not a node of ours, and would not be
		 * safe in a metric label */
		if (!tacws_broker_node_id_ok(ids[i]))
			continue;
		if (!(copy[k] = strdup(ids[i]))) { /* out of memory: the last list stays */
			while (k)
				free(copy[--k]);
			free(copy);
			return;
		}
		k++;
	}
	if (n && !copy)
		return;
	if (k)
		qsort(copy, k, sizeof *copy, id_cmp);
	peers_clear(p);
	p->ids = copy;
	p->n = k;
}

static void peers_read(tacws_server *srv)
{
	struct tacws_cluster_peers *p = srv->cluster_peers;
	if (!srv->broker || !p || p->pending)
		return;
	if (tacws_broker_nodes(srv->broker, (unsigned)srv->cfg->lease_ttl_ms, PEERS_MAX, on_nodes,
			       p) == 0)
		p->pending = true;
}

static void on_state(void *arg, unsigned shard, int up)
{
	tacws_server *srv = arg;
	if (up && shard == 0)
		peers_read(srv); /* listed by the others, and the list, without waiting a tick */
	const tacws_broker_addr *a = &srv->cfg->broker.shards[shard];
	if (up)
		tacws_log_info("cluster", "redis %s:%d up: re-reading the topics' state", a->host,
			       a->port);
	else
		tacws_log_warn("cluster", "redis %s:%d down: serving and polling on this node alone",
			       a->host, a->port);
	/* up: each topic is re-read when its subscription is active again (on_subscribed);
	 * down: the tick polls them here until then */
}

static void on_message(void *arg, const tacws_broker_msg *msg)
{
	tacws_feed_cluster_message(arg, msg);
}

static void on_subscribed(void *arg, const char *topic)
{
	tacws_feed_cluster_subscribed(arg, topic);
}

/* Every lease_ttl_ms / 6: a free lease is taken within a sixth of the TTL after it
 * expires; held ones are renewed every other tick (a third of the TTL), and the peers
 * read along. */
static void on_tick(uv_timer_t *timer)
{
	static unsigned ticks;
	tacws_server *srv = timer->data;
	bool renew = ticks++ % 2 == 0;
	for (size_t i = 0; srv->broker && i < srv->n_feeds; i++)
		tacws_feed_cluster_tick(srv->feeds[i], renew);
	if (renew)
		peers_read(srv);
}

int tacws_cluster_start(tacws_server *srv)
{
	const tacws_config *cfg = srv->cfg;
	if (!cfg->broker.n_shards)
		return 0;
	tacws_broker_options opt = {.node_id = cfg->node_id,
				    .history_max = (unsigned)cfg->history_max,
				    .history_ttl_ms = (unsigned)cfg->history_ttl_s * 1000u,
				    .on_state = on_state,
				    .on_message = on_message,
				    .on_subscribed = on_subscribed,
				    .arg = srv};
	srv->broker = tacws_broker_redis_open(srv->loop, &cfg->broker, &opt);
	srv->cluster_tick = malloc(sizeof *srv->cluster_tick);
	srv->cluster_peers = calloc(1, sizeof *srv->cluster_peers);
	if (!srv->broker || !srv->cluster_tick || !srv->cluster_peers) {
		free(srv->cluster_tick); /* not a timer yet: nothing to uv_close */
		srv->cluster_tick = NULL;
		tacws_cluster_stop(srv);
		return -ENOMEM;
	}
	uv_timer_init(srv->loop, srv->cluster_tick);
	srv->cluster_tick->data = srv;
	uint64_t every = (uint64_t)cfg->lease_ttl_ms / 6;
	uv_timer_start(srv->cluster_tick, on_tick, every, every);
	tacws_log_info("cluster", "node %s, %u redis shard(s), lease %ld ms", cfg->node_id,
		       cfg->broker.n_shards, cfg->lease_ttl_ms);
	return 0;
}

static void tick_closed(uv_handle_t *h)
{
	free(h);
}

void tacws_cluster_stop(tacws_server *srv)
{
	if (srv->cluster_tick)
		uv_close((uv_handle_t *)srv->cluster_tick, tick_closed);
	srv->cluster_tick = NULL;
	struct tacws_cluster_peers *p = srv->cluster_peers;
	srv->cluster_peers = NULL;
	if (p && p->pending) {
		p->closed = true; /* the broker's close answers the read: on_nodes frees it */
	} else if (p) {
		peers_clear(p);
		free(p);
	}
	tacws_broker *b = srv->broker;
	srv->broker = NULL; /* answers that come now start nothing new */
	if (b)
		tacws_broker_close(b);
}

int tacws_cluster_link_up(const tacws_server *srv)
{
	for (unsigned i = 0; srv->broker && i < srv->cfg->broker.n_shards; i++)
		if (!tacws_broker_is_up(srv->broker, i))
			return 0;
	return 1;
}

json_object *tacws_cluster_status(tacws_server *srv)
{
	if (!srv->broker)
		return NULL;
	json_object *o = json_object_new_object();
	json_object *shards = json_object_new_array();
	unsigned up = 0, n = srv->cfg->broker.n_shards;
	for (unsigned i = 0; i < n; i++) {
		const tacws_broker_addr *a = &srv->cfg->broker.shards[i];
		char addr[300];
		snprintf(addr, sizeof addr, "%s:%d", a->host, a->port);
		int is_up = tacws_broker_is_up(srv->broker, i);
		up += is_up != 0;
		json_object *s = json_object_new_object();
		json_object_object_add(s, "addr", json_object_new_string(addr));
		json_object_object_add(s, "up", json_object_new_boolean(is_up));
		json_object_array_add(shards, s);
	}
	long leases = 0;
	for (size_t i = 0; i < srv->n_feeds; i++) {
		tacws_feed_stats st;
		tacws_feed_get_stats(srv->feeds[i], &st);
		leases += st.leases_held;
	}
	json_object_object_add(o, "node_id", json_object_new_string(srv->cfg->node_id));
	json_object_object_add(o, "link", json_object_new_string(up == n ? "up" : up ? "partial"
										   : "down"));
	json_object_object_add(o, "shards", shards);
	json_object_object_add(o, "leases_held", json_object_new_int64(leases));
	json_object *peers = json_object_new_array();
	const char *const *ids;
	size_t n_peers = tacws_cluster_peers(srv, &ids);
	for (size_t i = 0; i < n_peers; i++)
		json_object_array_add(peers, json_object_new_string(ids[i]));
	json_object_object_add(o, "peers", peers);
	return o;
}

size_t tacws_cluster_peers(const tacws_server *srv, const char *const **ids)
{
	const struct tacws_cluster_peers *p = srv->cluster_peers;
	*ids = p ? (const char *const *)p->ids : NULL;
	return p ? p->n : 0;
}
