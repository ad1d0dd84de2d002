/* Bodies of the status endpoints: /healthz, /api/v1/feeds, /metrics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api.h"

#include "broker.h"
#include "cluster.h"
#include "feed.h"
#include "jsontext.h"
#include "listen.h"
#include "loader.h"
#include "server.h"

static json_object *string_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

int tacws_http_healthz(tacws_server *srv, char **body, const char **type)
{
	json_object *o = json_object_new_object();
	bool ready = srv->n_feeds > 0 && !srv->stopping;
	/* a node cut off from Redis still serves its cache and polls: ready, but degraded */
	bool ok = ready && tacws_cluster_link_up(srv);
	json_object_object_add(o, "status", json_object_new_string(ok ? "ok" : "degraded"));
	json_object_object_add(o, "live", json_object_new_boolean(1));
	json_object_object_add(o, "ready", json_object_new_boolean(ready));
	json_object_object_add(o, "feeds", json_object_new_int64((int64_t)srv->n_feeds));
	json_object_object_add(o, "connections",
			       json_object_new_int64(srv->metrics.connections_current));
	json_object_object_add(o, "started_at", json_object_new_string(srv->started_at));
	json_object *cluster = tacws_cluster_status(srv);
	if (cluster)
		json_object_object_add(o, "cluster", cluster);
	*body = tacws_json_text(o);
	*type = "application/json";
	return srv->stopping ? 503 : 200;
}

int tacws_http_feeds(tacws_server *srv, char **body, const char **type)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < srv->n_feeds; i++) {
		tacws_feed *f = srv->feeds[i];
		tacws_feed_stats st;
		tacws_feed_get_stats(f, &st);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "endpoint", json_object_new_string(tacws_feed_endpoint(f)));
		json_object_object_add(o, "type", json_object_new_string(tacws_feed_type(f)));
		json_object_object_add(o, "plugin",
				       json_object_new_string(tacws_plugin_name(tacws_feed_plugin(f))));
		json_object_object_add(o, "interval_ms", json_object_new_int64(tacws_feed_interval(f)));
		json_object_object_add(o, "subscribers", json_object_new_int64(st.subscribers));
		json_object_object_add(o, "topics", json_object_new_int64(st.topics));
		json_object_object_add(o, "seq", json_object_new_int64((int64_t)st.seq));
		json_object_object_add(o, "polls", json_object_new_int64((int64_t)st.polls));
		json_object_object_add(o, "poll_errors",
				       json_object_new_int64((int64_t)st.poll_errors));
		json_object_object_add(o, "failing", json_object_new_boolean(st.failing_topics > 0));
		json_object_object_add(o, "leases_held", json_object_new_int64(st.leases_held));
		json_object_object_add(o, "last_change", string_or_null(st.last_change_at));
		json_object_object_add(o, "last_error", string_or_null(st.last_error));
		json_object_object_add(o, "last_error_at", string_or_null(st.last_error_at));
		json_object_array_add(list, o);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "feeds", list);
	json_object_object_add(o, "multiplex", json_object_new_boolean(1));
	json_object_object_add(o, "node_id", json_object_new_string(srv->cfg->node_id));
	json_object *cluster = tacws_cluster_status(srv);
	if (cluster)
		json_object_object_add(o, "cluster", cluster);
	*body = tacws_json_text(o);
	*type = "application/json";
	return 200;
}

struct text {
	char *buf;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !t->buf)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *grown = realloc(t->buf, cap);
		if (!grown) {
			free(t->buf);
			t->buf = NULL;
			return;
		}
		t->buf = grown;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* One counter family with a value per feed. */
#define PER_FEED(t, srv, name, kind, help, field)                                         \
	do {                                                                               \
		put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind);             \
		for (size_t i = 0; i < (srv)->n_feeds; i++)                                \
			put(t, "%s{feed=\"%s\"} %llu\n", name, tacws_feed_base((srv)->feeds[i]), \
			    (unsigned long long)stats[i].field);                           \
	} while (0)

static void global(struct text *t, const char *name, const char *kind, const char *help,
		   unsigned long long value)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, kind, name, value);
}

/* One counter family with a value per label (the edge: limits, auth, bad input). */
static void labelled(struct text *t, const char *name, const char *help, const char *label,
		     const char *const *keys, const uint64_t *values, size_t n)
{
	put(t, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < n; i++)
		put(t, "%s{%s=\"%s\"} %llu\n", name, label, keys[i], (unsigned long long)values[i]);
}

static void edge_metrics(struct text *t, const struct tacws_metrics *m)
{
	static const char *const limits[TACWS_LIMIT_COUNT + 1] = {
		"max_connections", "max_connections_per_ip", "client_messages_per_s",
		"max_body_bytes", "max_subscriptions", "header_bytes", "max_topics",
		"topic_creations_per_s", "http_request_timeout_s", "max_inbound_bytes"};
	uint64_t hits[TACWS_LIMIT_COUNT + 1];
	memcpy(hits, m->limit_hits, sizeof m->limit_hits);
	hits[TACWS_LIMIT_COUNT] = m->oversized_closes;
	labelled(t, "tacws_limit_hits_total", "Times a [server] limit refused or closed a client.",
		 "limit", limits, hits, TACWS_LIMIT_COUNT + 1);
	static const char *const auth[TACWS_AUTH_COUNT] = {"ws_token", "origin", "publish_token",
							   "webhook_signature", "status_token"};
	labelled(t, "tacws_auth_failures_total",
		 "Requests refused for a missing or wrong token, origin or signature.", "reason",
		 auth, m->auth_failures, TACWS_AUTH_COUNT);
	static const char *const input[TACWS_INPUT_COUNT] = {
		"client_message", "topic", "publish_body", "webhook_body", "utf8",
		"unmasked_frame", "frame_header", "data_before_upgrade"};
	labelled(t, "tacws_bad_input_total", "Malformed client input, refused and counted.", "kind",
		 input, m->bad_input, TACWS_INPUT_COUNT);
	global(t, "tacws_publishes_total", "counter", "Events accepted by POST publish.",
	       m->publishes);
	global(t, "tacws_refreshes_total", "counter", "Feeds refreshed by POST refresh.",
	       m->refreshes);
	global(t, "tacws_webhooks_total", "counter", "Webhook deliveries accepted.", m->webhooks);
	global(t, "tacws_handshakes_incomplete_total", "counter",
	       "Connections closed before their request was complete (handshake_timeout_s, or the "
	       "peer gave up).",
	       m->handshakes_incomplete);
}

/* [cluster]: docs/CLUSTER.md lists these names; the cluster tests read them. */
static void cluster_metrics(struct text *t, tacws_server *srv, const tacws_feed_stats *stats)
{
	global(t, "tacws_cluster_enabled", "gauge", "1 when [cluster] links this node to others.",
	       srv->broker != NULL);
	if (!srv->broker)
		return;
	const struct tacws_cluster_metrics *c = &srv->cluster;
	put(t, "# HELP tacws_cluster_node_info This node's id.\n# TYPE tacws_cluster_node_info gauge\n"
	       "tacws_cluster_node_info{node=\"%s\"} 1\n", srv->cfg->node_id);
	put(t, "# HELP tacws_cluster_link_up 1 while the link to a Redis shard is up.\n"
	       "# TYPE tacws_cluster_link_up gauge\n");
	for (unsigned i = 0; i < srv->cfg->broker.n_shards; i++)
		put(t, "tacws_cluster_link_up{shard=\"%u\",addr=\"%s:%d\"} %d\n", i,
		    srv->cfg->broker.shards[i].host, srv->cfg->broker.shards[i].port,
		    tacws_broker_is_up(srv->broker, i) != 0);
	unsigned long long leases = 0;
	for (size_t i = 0; i < srv->n_feeds; i++)
		leases += (unsigned long long)stats[i].leases_held;
	global(t, "tacws_cluster_leases_held", "gauge", "Topics this node polls for the cluster.",
	       leases);
	global(t, "tacws_cluster_leases_acquired_total", "counter", "Leases this node took.",
	       c->leases_acquired);
	global(t, "tacws_cluster_leases_lost_total", "counter",
	       "Leases found to be another node's at a renew or commit.", c->leases_lost);
	global(t, "tacws_cluster_commits_total", "counter",
	       "Changes this node detected and committed (one per change cluster-wide).",
	       c->commits);
	put(t, "# HELP tacws_cluster_commits_refused_total Commits the broker refused.\n"
	       "# TYPE tacws_cluster_commits_refused_total counter\n"
	       "tacws_cluster_commits_refused_total{reason=\"stale\"} %llu\n"
	       "tacws_cluster_commits_refused_total{reason=\"not_holder\"} %llu\n",
	    (unsigned long long)c->commits_stale, (unsigned long long)c->commits_not_holder);
	put(t, "# HELP tacws_cluster_messages_total Changes and events the broker delivered here.\n"
	       "# TYPE tacws_cluster_messages_total counter\n"
	       "tacws_cluster_messages_total{kind=\"change\"} %llu\n"
	       "tacws_cluster_messages_total{kind=\"event\"} %llu\n",
	    (unsigned long long)c->changes_in, (unsigned long long)c->events_in);
	global(t, "tacws_cluster_resyncs_total", "counter", "Topic states re-read from Redis.",
	       c->resyncs);
	global(t, "tacws_cluster_local_polls_total", "counter",
	       "Polls made while the topic's link was down (each node on its own).", c->local_polls);
	global(t, "tacws_cluster_poll_requests_total", "counter",
	       "Refreshes sent to the topic's lease holder.", c->poll_requests);
	global(t, "tacws_cluster_history_reads_total", "counter",
	       "Resumes whose missed events were read from the Redis Stream.", c->history_reads);
	const char *const *peers;
	size_t n_peers = tacws_cluster_peers(srv, &peers);
	global(t, "tacws_cluster_peers", "gauge",
	       "Other nodes seen in the cluster's registry within the lease TTL (last read).",
	       n_peers);
	if (n_peers)
		put(t, "# HELP tacws_cluster_peer_info The other live nodes, one per id.\n"
		       "# TYPE tacws_cluster_peer_info gauge\n");
	for (size_t i = 0; i < n_peers; i++)
		put(t, "tacws_cluster_peer_info{node=\"%s\"} 1\n", peers[i]);
	tacws_broker_stats bs;
	tacws_broker_get_stats(srv->broker, &bs);
	global(t, "tacws_cluster_links_lost_total", "counter", "Times a Redis link went down.",
	       bs.links_lost);
	global(t, "tacws_cluster_probe_failures_total", "counter",
	       "Links dropped because the liveness probe was not heard back.", bs.probe_failures);
}

int tacws_http_metrics(tacws_server *srv, char **body, const char **type)
{
	struct text t = {.buf = malloc(4096), .cap = 4096};
	tacws_feed_stats *stats = calloc(srv->n_feeds + 1, sizeof *stats);
	if (t.buf)
		t.buf[0] = '\0';
	if (!stats) {
		free(t.buf);
		*body = NULL;
		*type = "text/plain";
		return 500;
	}
	for (size_t i = 0; i < srv->n_feeds; i++)
		tacws_feed_get_stats(srv->feeds[i], &stats[i]);
	const struct tacws_metrics *m = &srv->metrics;
	global(&t, "tacws_connections", "gauge", "Open WebSocket connections.",
	       (unsigned long long)m->connections_current);
	global(&t, "tacws_connections_compressed", "gauge",
	       "Open WebSocket connections with permessage-deflate ([server] compression).",
	       (unsigned long long)m->connections_compressed);
	global(&t, "tacws_handshakes_pending", "gauge",
	       "Connections accepted whose request is not in yet (each closed after "
	       "handshake_timeout_s).",
	       tacws_handshakes_pending(srv));
	global(&t, "tacws_connections_total", "counter", "WebSocket connections accepted.",
	       m->connections_total);
	global(&t, "tacws_connections_rejected_total", "counter",
	       "Upgrades refused (unknown feed, bad parameter, auth, origin, limits).",
	       m->connections_rejected);
	global(&t, "tacws_client_messages_ignored_total", "counter",
	       "Client messages that were not understood.", m->messages_ignored);
	global(&t, "tacws_oversized_closes_total", "counter",
	       "Connections closed for a frame over max_inbound_bytes (1009).",
	       m->oversized_closes);
	global(&t, "tacws_dropped_clients_total", "counter",
	       "Connections closed because their send queue was full (1013).",
	       m->slow_consumer_drops);
	global(&t, "tacws_http_requests_total", "counter", "HTTP requests served.",
	       m->http_requests);
	edge_metrics(&t, m);
	cluster_metrics(&t, srv, stats);
	PER_FEED(&t, srv, "tacws_feed_subscribers", "gauge", "Subscribers per feed.", subscribers);
	PER_FEED(&t, srv, "tacws_messages_sent_total", "counter", "Messages sent per feed.",
		 messages_sent);
	PER_FEED(&t, srv, "tacws_bytes_sent_total", "counter", "Payload bytes sent per feed.",
		 bytes_sent);
	PER_FEED(&t, srv, "tacws_polls_total", "counter", "Snapshot polls per feed.", polls);
	PER_FEED(&t, srv, "tacws_poll_errors_total", "counter", "Failed snapshot polls per feed.",
		 poll_errors);
	PER_FEED(&t, srv, "tacws_changes_total", "counter",
		 "Snapshot changes per feed (one envelope serialized each).", changes);
	PER_FEED(&t, srv, "tacws_events_total", "counter", "Events published per feed.", events);
	put(&t, "# HELP tacws_poll_duration_seconds Time a snapshot took.\n"
		"# TYPE tacws_poll_duration_seconds histogram\n");
	for (size_t i = 0; i < srv->n_feeds; i++) {
		const char *base = tacws_feed_base(srv->feeds[i]);
		const tacws_feed_stats *f = &stats[i];
		unsigned long long cumulative = 0;
		for (int b = 0; b < TACWS_POLL_BUCKETS; b++) {
			cumulative += f->poll_buckets[b];
			if (b == TACWS_POLL_BUCKETS - 1)
				put(&t, "tacws_poll_duration_seconds_bucket{feed=\"%s\",le=\"+Inf\"} %llu\n",
				    base, cumulative);
			else
				put(&t, "tacws_poll_duration_seconds_bucket{feed=\"%s\",le=\"%g\"} %llu\n",
				    base, tacws_poll_bucket_bounds[b], cumulative);
		}
		put(&t, "tacws_poll_duration_seconds_sum{feed=\"%s\"} %.6f\n", base,
		    f->poll_seconds);
		put(&t, "tacws_poll_duration_seconds_count{feed=\"%s\"} %llu\n", base,
		    (unsigned long long)f->polls);
	}
	free(stats);
	*body = t.buf;
	*type = "text/plain; version=0.0.4";
	return 200;
}
