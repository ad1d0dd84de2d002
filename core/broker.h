/* The cluster broker: what a node needs from the store that links the nodes of a cluster.
 *
 * A topic is polled by one node at a time, the holder of its lease. The holder commits
 * each change (seq, snapshot) through the broker; the broker refuses a stale or duplicate
 * write, caches the snapshot and delivers the change to every node subscribed to the topic.
 * Events (publish, webhook) come from any node: they are kept in a bounded per-topic
 * history, numbered by their own offset, and delivered the same way.
 * Each topic has an epoch: a random id made when the broker first stores the topic, and
 * made anew when its history cannot be trusted (the store lost it). A seq or offset is
 * only comparable within one epoch.
 *
 * One interface, one implementation per engine: broker_redis.c is the Redis engine
 * (tacws_broker_redis_open). Every function runs on the loop's thread, as do all callbacks.
 * Errors: 0 or a negative errno. A request fails at once with -EINVAL (bad argument) or
 * -ENOTCONN (its shard's link is down: serve from the node's own cache meanwhile), and then
 * calls no callback. One that starts calls its callback exactly once: with the outcome, or
 * -ECONNRESET when the link drops before the answer, -ECANCELED when the broker is closed
 * first, -EIO when Redis answers an error.
 * Ownership: every pointer passed in is copied or used only during the call; every
 * pointer passed to a callback is valid only during that callback. */
#ifndef TACWS_BROKER_H
#define TACWS_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Outcomes, beside 0 (done) and negative errnos. */
enum {
	TACWS_BROKER_NOT_HOLDER = 1, /* the lease is someone else's (or nobody's) */
	TACWS_BROKER_STALE = 2,	     /* commit: the stored seq is not the base */
	TACWS_BROKER_EMPTY = 3,	     /* snapshot: nothing cached for the topic */
	TACWS_BROKER_GAP = 4,	     /* history: it cannot cover since (trimmed, or other epoch) */
};

#define TACWS_BROKER_EPOCH_LEN 16     /* hex characters, without the terminating NUL */
#define TACWS_BROKER_TOKEN_MAX 96     /* a lease token, with its NUL */
#define TACWS_BROKER_NODE_ID_MAX 64   /* [A-Za-z0-9_.-], with its NUL */

/* Whether id is a node id: 1..TACWS_BROKER_NODE_ID_MAX - 1 of [A-Za-z0-9_.-]. */
bool tacws_broker_node_id_ok(const char *id);
#define TACWS_BROKER_MAX_SHARDS 16
#define TACWS_BROKER_TOPIC_MAX 256

/* POLL: a node asks the topic's lease holder to poll now (a refresh); seq 0, no data. */
typedef enum {
	TACWS_BROKER_CHANGE = 'c',
	TACWS_BROKER_EVENT = 'e',
	TACWS_BROKER_POLL = 'p'
} tacws_broker_kind;

/* One change or event as delivered to a subscribed node, or read back from history. */
typedef struct tacws_broker_msg {
	const char *topic;
	tacws_broker_kind kind;
	uint64_t seq; /* CHANGE: the topic's new seq; EVENT: the event's offset */
	const char *epoch;
	const char *data; /* the payload as committed or appended (not NUL-terminated) */
	size_t len;
	/* CHANGE: the holder's delta from seq - 1 (as committed, not NUL-terminated), or NULL
	 * (none, or seq is not the stored seq + 1 of this epoch) */
	const char *delta;
	size_t delta_len;
} tacws_broker_msg;

/* [cluster] redis = redis://[:password@]host:port[/db][,redis://...]
 * Several addresses shard the topics by a hash of the topic name (tacws_broker_shard_of);
 * every node must list them in the same order. */
typedef struct tacws_broker_addr {
	char host[256];
	int port;
	int db;
	char user[64];	    /* empty: AUTH with the password alone */
	char password[128]; /* empty: no AUTH */
} tacws_broker_addr;

typedef struct tacws_broker_config {
	tacws_broker_addr shards[TACWS_BROKER_MAX_SHARDS];
	unsigned n_shards;
} tacws_broker_config;

/* Parses the [cluster] redis value into cfg. Returns 0, or -EINVAL with a reason in err. */
int tacws_broker_config_parse(const char *value, tacws_broker_config *cfg, char *err,
			      size_t errlen);

/* The shard (0 .. n_shards-1) that keeps topic: FNV-1a of its name, so every node agrees. */
unsigned tacws_broker_shard_of(const char *topic, unsigned n_shards);

/* What the node gives the broker: its identity, limits and its callbacks. */
typedef struct tacws_broker_options {
	const char *node_id;	    /* unique in the cluster, up to TACWS_BROKER_NODE_ID_MAX-1 */
	unsigned history_max;	    /* events kept per topic, about (trimmed in blocks); 0: 1000 */
	unsigned history_ttl_ms;    /* and none older than this (Redis's clock); 0: no age limit */
	unsigned probe_interval_ms; /* liveness probe of the subscription; 0: 2000 */
	unsigned backoff_max_ms;    /* reconnect backoff doubles from 100 ms up to this; 0: 5000 */
	/* A shard's link went up (1) or down (0). After up, messages sent while it was down
	 * are lost to this node: re-read the snapshots (tacws_broker_snapshot) of its topics. */
	void (*on_state)(void *arg, unsigned shard, int up);
	/* A change or event on a topic this node subscribed to; each once per link. Changes
	 * of a topic come in seq order; a seq that skips means a lost message: re-read. */
	void (*on_message)(void *arg, const tacws_broker_msg *msg);
	/* topic's subscription is active (after tacws_broker_subscribe, and again after each
	 * reconnect): from now on no change is missed, so read its snapshot now. May be NULL. */
	void (*on_subscribed)(void *arg, const char *topic);
	void *arg;
} tacws_broker_options;

/* Counters for /metrics and /healthz, since the broker was opened. */
typedef struct tacws_broker_stats {
	unsigned shards, shards_up;
	unsigned subscriptions;	 /* topics this node subscribes to now */
	uint64_t links_lost;	 /* a shard's link went down (error, close, or the probe) */
	uint64_t probe_failures; /* of those, found by the liveness probe */
	uint64_t messages;	 /* handed to on_message */
} tacws_broker_stats;

typedef struct tacws_broker tacws_broker;
struct uv_loop_s;

typedef void (*tacws_broker_lease_cb)(void *arg, int status, const char *token);
typedef void (*tacws_broker_commit_cb)(void *arg, int status, uint64_t seq, const char *epoch);
typedef void (*tacws_broker_snapshot_cb)(void *arg, int status, uint64_t seq, const char *epoch,
					 const char *data, size_t len);
typedef void (*tacws_broker_history_cb)(void *arg, int status, const char *epoch,
					const tacws_broker_msg *msgs, size_t n);
typedef void (*tacws_broker_nodes_cb)(void *arg, int status, const char *const *ids, size_t n);

/* The engine's functions; the wrappers below are what callers use. */
typedef struct tacws_broker_ops {
	int (*lease_acquire)(tacws_broker *b, const char *topic, unsigned ttl_ms,
			     tacws_broker_lease_cb cb, void *arg);
	int (*lease_renew)(tacws_broker *b, const char *topic, const char *token, unsigned ttl_ms,
			   tacws_broker_lease_cb cb, void *arg);
	int (*lease_release)(tacws_broker *b, const char *topic, const char *token,
			     tacws_broker_lease_cb cb, void *arg);
	int (*commit)(tacws_broker *b, const char *topic, const char *token, uint64_t base_seq,
		      const char *data, size_t len, const char *delta, size_t delta_len,
		      tacws_broker_commit_cb cb, void *arg);
	int (*snapshot)(tacws_broker *b, const char *topic, tacws_broker_snapshot_cb cb, void *arg);
	int (*event_append)(tacws_broker *b, const char *topic, const char *data, size_t len,
			    tacws_broker_commit_cb cb, void *arg);
	int (*history)(tacws_broker *b, const char *topic, uint64_t since, const char *epoch,
		       unsigned limit, tacws_broker_history_cb cb, void *arg);
	int (*request_poll)(tacws_broker *b, const char *topic);
	int (*seq_floor)(tacws_broker *b, const char *topic, uint64_t seq);
	int (*nodes)(tacws_broker *b, unsigned window_ms, unsigned max, tacws_broker_nodes_cb cb,
		     void *arg);
	int (*subscribe)(tacws_broker *b, const char *topic);
	int (*unsubscribe)(tacws_broker *b, const char *topic);
	int (*is_up)(const tacws_broker *b, unsigned shard);
	void (*stats)(const tacws_broker *b, tacws_broker_stats *out);
	void (*close)(tacws_broker *b);
} tacws_broker_ops;

struct tacws_broker {
	const tacws_broker_ops *ops;
};

/* The Redis engine: connects to every shard of cfg on loop (hiredis on the same loop) and
 * keeps reconnecting with backoff until tacws_broker_close. Returns NULL on bad options
 * or out of memory. The links come up later: watch on_state. */
tacws_broker *tacws_broker_redis_open(struct uv_loop_s *loop, const tacws_broker_config *cfg,
				      const tacws_broker_options *opt);

/* Lease of topic for ttl_ms. acquire: status 0 and a fresh token when this node got it,
 * NOT_HOLDER when another node holds it. renew (extends the TTL) and release: 0 when the
 * lease was still token's, else NOT_HOLDER. A lease lost lets another node poll: stop. */
static inline int tacws_broker_lease_acquire(tacws_broker *b, const char *topic, unsigned ttl_ms,
					     tacws_broker_lease_cb cb, void *arg)
{
	return b->ops->lease_acquire(b, topic, ttl_ms, cb, arg);
}
static inline int tacws_broker_lease_renew(tacws_broker *b, const char *topic, const char *token,
					   unsigned ttl_ms, tacws_broker_lease_cb cb, void *arg)
{
	return b->ops->lease_renew(b, topic, token, ttl_ms, cb, arg);
}
static inline int tacws_broker_lease_release(tacws_broker *b, const char *topic, const char *token,
					     tacws_broker_lease_cb cb, void *arg)
{
	return b->ops->lease_release(b, topic, token, cb, arg);
}

/* Commits topic's new snapshot data (the envelope as subscribers get it) on top of
 * base_seq, the seq this node last saw, in one atomic step: refused with NOT_HOLDER unless
 * token holds the lease, with STALE unless the stored seq is base_seq (cb gets the stored
 * seq and epoch: resynchronise). Else stores seq base_seq+1 (or above a floor set by
 * tacws_broker_seq_floor), the snapshot and the epoch,
 * delivers the change to the subscribed nodes (this one too, when subscribed) and calls cb
 * with 0, the new seq and the epoch. A topic the broker does not know gets a new epoch. */
static inline int tacws_broker_commit(tacws_broker *b, const char *topic, const char *token,
				      uint64_t base_seq, const char *data, size_t len,
				      tacws_broker_commit_cb cb, void *arg)
{
	return b->ops->commit(b, topic, token, base_seq, data, len, NULL, 0, cb, arg);
}

/* The same, with the change's delta from base_seq's data (an opaque patch the nodes hand
 * their delta subscribers): carried in the message to the nodes, not stored. */
static inline int tacws_broker_commit_delta(tacws_broker *b, const char *topic,
					    const char *token, uint64_t base_seq, const char *data,
					    size_t len, const char *delta, size_t delta_len,
					    tacws_broker_commit_cb cb, void *arg)
{
	return b->ops->commit(b, topic, token, base_seq, data, len, delta, delta_len, cb, arg);
}

/* The cached snapshot of topic: 0 with its seq, epoch and data, or EMPTY. */
static inline int tacws_broker_snapshot(tacws_broker *b, const char *topic,
					tacws_broker_snapshot_cb cb, void *arg)
{
	return b->ops->snapshot(b, topic, cb, arg);
}

/* Appends an event to topic's history (bounded by history_max) and delivers it; any node
 * may. cb gets 0, the event's offset (1, 2, ... per epoch) and the epoch. */
static inline int tacws_broker_event_append(tacws_broker *b, const char *topic, const char *data,
					    size_t len, tacws_broker_commit_cb cb, void *arg)
{
	return b->ops->event_append(b, topic, data, len, cb, arg);
}

/* The events of topic after offset since, oldest first, at most limit (1..10000) of them:
 * 0 when the history covers every event after since (call again from the last offset when
 * n == limit), GAP when some were trimmed or epoch is not the topic's (cb gets the current
 * epoch; resend the full snapshot). */
static inline int tacws_broker_history(tacws_broker *b, const char *topic, uint64_t since,
				       const char *epoch, unsigned limit,
				       tacws_broker_history_cb cb, void *arg)
{
	return b->ops->history(b, topic, since, epoch, limit, cb, arg);
}

/* Asks the node holding topic's lease to poll it now: a POLL message to every node
 * subscribed to topic (this one too), nothing stored. Fire and forget: 0 when sent,
 * -ENOTCONN, -EINVAL. */
static inline int tacws_broker_request_poll(tacws_broker *b, const char *topic)
{
	return b->ops->request_poll(b, topic);
}

/* The next commit of topic gets a seq above seq: max(base_seq, the highest floor) + 1. A
 * node whose subscribers hold seqs of its own (made while cut off from the broker) asks
 * this, so that no subscriber of it sees seq go back once it takes the broker's changes
 * again. Fire and forget, ordered before this node's later requests on the topic: 0 when
 * sent, -ENOTCONN, -EINVAL. */
static inline int tacws_broker_seq_floor(tacws_broker *b, const char *topic, uint64_t seq)
{
	return b->ops->seq_floor(b, topic, seq);
}

/* The node registry (on shard 0): records this node as seen now (Redis's clock), forgets
 * every node not seen within the last window_ms, and answers the other nodes seen within
 * it: cb gets 0 and their ids (not this node's; the most recently seen first, at most max
 * of them, 1..TACWS_BROKER_NODES_MAX). A node calls it more often than window_ms to stay
 * listed by the others. */
#define TACWS_BROKER_NODES_MAX 1024
static inline int tacws_broker_nodes(tacws_broker *b, unsigned window_ms, unsigned max,
				     tacws_broker_nodes_cb cb, void *arg)
{
	return b->ops->nodes(b, window_ms, max, cb, arg);
}

/* This node wants (or no longer wants) topic's changes and events through on_message.
 * Kept across reconnects; on_subscribed says when it is active. After unsubscribe, a
 * message already on its way may still arrive. Returns 0, -EINVAL, or -ENOMEM. */
static inline int tacws_broker_subscribe(tacws_broker *b, const char *topic)
{
	return b->ops->subscribe(b, topic);
}
static inline int tacws_broker_unsubscribe(tacws_broker *b, const char *topic)
{
	return b->ops->unsubscribe(b, topic);
}

/* 1 when shard's link is up: both connections ready and every topic subscribed (so on
 * on_state up, the topics' snapshots can be re-read without missing a change). */
static inline int tacws_broker_is_up(const tacws_broker *b, unsigned shard)
{
	return b->ops->is_up(b, shard);
}

static inline void tacws_broker_get_stats(const tacws_broker *b, tacws_broker_stats *out)
{
	b->ops->stats(b, out);
}

/* Cancels what is pending (callbacks get -ECANCELED, during this call or, when called from
 * a broker callback, once that returns) and frees the broker as the loop runs on: run the
 * loop until it has no more handles. on_state is not called for the links it closes. */
static inline void tacws_broker_close(tacws_broker *b)
{
	b->ops->close(b);
}

#endif
