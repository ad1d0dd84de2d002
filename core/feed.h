/*
 * Feeds and their topics: the poll schedule (interval, backoff, no overlap),
 * change detection, the cached snapshot, subscriptions, events, and the
 * server's list of feeds. A topic is a feed plus its parameter
 * ("item/77c90e61"): the unit that is polled, cached and versioned.
 *
 * Loop thread, unless said otherwise: snapshots run on the workers, and
 * their results come back through tacws_feed_collect.
 */
#ifndef TACWS_FEED_H
#define TACWS_FEED_H

#include <json-c/json.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <tacws/plugin.h>

#include "input.h"

typedef struct tacws_server tacws_server;
typedef struct tacws_feed tacws_feed;   /* private to feed.c */
typedef struct tacws_topic tacws_topic; /* private to feed.c */
typedef struct tacws_conn tacws_conn;

#define TACWS_POLL_BUCKETS 10
extern const double tacws_poll_bucket_bounds[TACWS_POLL_BUCKETS]; /* seconds; last = +Inf */

/* What /metrics and /api/v1/feeds show of a feed. */
typedef struct tacws_feed_stats {
	uint64_t polls, poll_errors, changes, events, messages_sent, bytes_sent;
	uint64_t poll_buckets[TACWS_POLL_BUCKETS];
	double poll_seconds;
	long subscribers;
	long topics, failing_topics; /* now */
	long leases_held;	     /* [cluster]: topics this node polls for the cluster */
	uint64_t seq;		     /* the highest of its topics */
	char last_error[256];
	char last_error_at[32];
	char last_change_at[32];
} tacws_feed_stats;

/*
 * One connection's interest in one topic. feed.c creates and frees it and
 * writes topic and topic_link; conn.c writes conn, conn_link and pending
 * (tacws_conn_attach / tacws_conn_detach).
 */
typedef struct tacws_sub {
	lws_dll2_t conn_link, topic_link;
	tacws_conn *conn;
	tacws_topic *topic;
	uint64_t pending; /* queue position of an unsent snapshot + 1, or 0 */
	tacws_sub_options opts; /* deltas, resume: as the client asked */
	uint64_t last_seq;	/* seq of the last snapshot or delta handed to conn */
	bool greeted; /* got its first answer (snapshot or resumed); in a cluster that waits
			 for the topic's state from the broker */
	/* [cluster] a resume whose events this node does not keep: the broker's history is
	 * read for it (feed.c), and live events wait in the topic's ring meanwhile */
	struct tacws_history_read *history;
	uint64_t replayed;	     /* the last event offset replayed to it, in replayed_epoch: */
	char replayed_epoch[17];     /* a live event not above it is not sent again */
} tacws_sub;

/* --- life of a feed --- */

/* Creates a feed from a plugin's descriptor; checks it. interval_ms: the
 * configured interval, 0 for the descriptor's default. Returns 0, -EINVAL
 * (err says why) or -ENOMEM. */
int tacws_feed_create(tacws_server *srv, tacws_plugin_ctx *plugin, const tacws_feed_desc *desc,
		      long interval_ms, tacws_feed **out, char *err, size_t errlen);

/* A reloaded plugin registers the endpoint again: the feed (topics,
 * subscribers, seq, cache) now runs plugin's desc. No poll of it may run.
 * Returns 0, -EINVAL (err says why: the endpoint's parameter changed, a bad
 * descriptor) or -ENOMEM. */
int tacws_feed_take_over(tacws_feed *feed, tacws_plugin_ctx *plugin, const tacws_feed_desc *desc,
			 long interval_ms, char *err, size_t errlen);

/* Adds a created feed to srv's list. Returns 0 or -ENOMEM (feed destroyed). */
int tacws_feeds_add(tacws_server *srv, tacws_feed *feed);

/* Takes srv's i-th feed out of service: its socket subscribers are closed
 * with 1001 and reason, multiplexed ones get an error message and lose the
 * topic. No poll of it may be in flight. The struct stays until
 * tacws_feeds_free: queued messages still count against it. */
void tacws_feed_retire(tacws_server *srv, size_t i, const char *reason);

/* Frees every feed, retired ones too (shutdown, after the plugins' snapshots
 * have all returned). */
void tacws_feeds_free(tacws_server *srv);

/* Drops every topic (shutdown): cancels timers, frees caches. */
void tacws_feed_drop_topics(tacws_feed *feed);

/* Reload: from now on no poll of the feed starts again by itself. Returns
 * whether one is still in flight. */
bool tacws_feed_quiesce(tacws_feed *feed);

/* --- what others read --- */

tacws_feed *tacws_feed_find(tacws_server *srv, const char *name, size_t len);
const char *tacws_feed_base(const tacws_feed *feed);	 /* "item" */
const char *tacws_feed_endpoint(const tacws_feed *feed); /* "item/{id}" */
const char *tacws_feed_type(const tacws_feed *feed);
tacws_plugin_ctx *tacws_feed_plugin(const tacws_feed *feed);
bool tacws_feed_has_param(const tacws_feed *feed);
/* Checks a parameter against the feed's pattern (and that the feed takes one). */
bool tacws_feed_param_ok(const tacws_feed *feed, const char *param);
/* Whether key may appear in the feed's [feed.X] section. */
bool tacws_feed_accepts_key(const tacws_feed *feed, const char *key);
long tacws_feed_interval(const tacws_feed *feed);
/* Sets the interval from the configured one (0: the plugin's default), from
 * the next schedule on. Returns the previous one. */
long tacws_feed_set_interval(tacws_feed *feed, long configured_ms);
/* Fills *stats (a snapshot of the counters and topics). */
void tacws_feed_get_stats(const tacws_feed *feed, tacws_feed_stats *stats);

/* --- what happens to a feed --- */

/* Whether subscribing to feed/param would create a topic (*creates), and
 * whether the feed has room for it: 0, or -ENOSPC at max_topics. */
int tacws_feed_topic_room(tacws_feed *feed, const char *param, bool *creates);

/* Subscribes conn to feed/param: creates the topic if needed, queues the
 * cached snapshot or starts the first poll. Returns the sub or NULL. */
tacws_sub *tacws_subscribe(tacws_conn *conn, tacws_feed *feed, const char *param);
/* The same with the client's options (NULL: none). */
tacws_sub *tacws_subscribe_with(tacws_conn *conn, tacws_feed *feed, const char *param,
				const tacws_sub_options *opts);
void tacws_unsubscribe(tacws_sub *sub);
/* Whether sub is to feed/param. */
bool tacws_sub_is(const tacws_sub *sub, const tacws_feed *feed, const char *param);

/* Polls now the topic (or every topic of the feed when param is NULL).
 * Returns how many topics with subscribers it polls. */
long tacws_feed_poll_now(tacws_feed *feed, const char *param);

/* Sends an event to the topic's subscribers (every topic when param is NULL).
 * Takes data. Returns the number of subscribers it was queued for. */
int tacws_feed_publish(tacws_feed *feed, const char *param, const char *type, json_object *data);

/* The data of a webhook event for this feed: the feed's webhook_data, or
 * payload itself. Returns 0 and *data (the caller's), or a negative errno. */
int tacws_feed_webhook_data(tacws_feed *feed, const char *event, json_object *payload,
			    json_object **data);

/* Runs the feed's snapshot on the calling thread, outside the schedule (tests). */
int tacws_feed_snapshot(tacws_feed *feed, const char *param, json_object **data, char *err,
			size_t errlen);

/* Drains finished polls (called on the loop after a wake-up). */
void tacws_feed_collect(tacws_server *srv);

/* --- [cluster] (cluster.c hands the broker's callbacks here; broker.h) --- */
struct tacws_broker_msg;
/* A change, event or poll request the broker delivered for a topic. */
void tacws_feed_cluster_message(tacws_server *srv, const struct tacws_broker_msg *msg);
/* The broker's subscription to topic is active (again): re-read its state. */
void tacws_feed_cluster_subscribed(tacws_server *srv, const char *topic);
/* Every lease_ttl_ms / 6: try to take the leases of subscribed topics, renew held ones
 * (when renew), release those without subscribers, poll locally the topics whose link
 * is down. */
void tacws_feed_cluster_tick(tacws_feed *feed, bool renew);

/* A message of this feed left for a subscriber (conn.c): counted. */
void tacws_feed_count_sent(tacws_feed *feed, size_t bytes);

#endif
