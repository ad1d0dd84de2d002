/*
 * The edge's counters for /metrics: one struct in the server, incremented on
 * the loop thread by the module that sees the event, read by http_api.c.
 * (Per-feed counters are the feed's: feed.h.)
 */
#ifndef TACWS_METRICS_H
#define TACWS_METRICS_H

#include <stdint.h>

/* Limits of the edge, each counted in /metrics when hit. */
enum tacws_limit {
	TACWS_LIMIT_CONNECTIONS,    /* max_connections: upgrade refused 503 */
	TACWS_LIMIT_CONNECTIONS_IP, /* max_connections_per_ip: upgrade refused 429 */
	TACWS_LIMIT_MESSAGE_RATE,   /* client_messages_per_s: closed 1008 */
	TACWS_LIMIT_BODY_BYTES,	    /* max_body_bytes: 413 */
	TACWS_LIMIT_SUBSCRIPTIONS,  /* max_subscriptions: error message */
	TACWS_LIMIT_HEADER_BYTES,   /* a header longer than tacws reads: 431, or plain frames */
	TACWS_LIMIT_TOPICS,	    /* max_topics: error message, or 503 on a feed's own socket */
	TACWS_LIMIT_TOPIC_RATE,	    /* topic_creations_per_s: error message */
	TACWS_LIMIT_REQUEST_TIME,   /* http_request_timeout_s: the POST is cut */
	TACWS_LIMIT_COUNT
};
enum tacws_auth_failure {
	TACWS_AUTH_WS_TOKEN,
	TACWS_AUTH_ORIGIN,
	TACWS_AUTH_PUBLISH_TOKEN,
	TACWS_AUTH_WEBHOOK_SIGNATURE,
	TACWS_AUTH_STATUS_TOKEN,
	TACWS_AUTH_COUNT
};
enum tacws_bad_input {
	TACWS_INPUT_CLIENT_MESSAGE, /* not JSON, or not an object with a string type */
	TACWS_INPUT_TOPIC,	    /* a subscribe naming an unknown feed or a bad parameter */
	TACWS_INPUT_PUBLISH_BODY,
	TACWS_INPUT_WEBHOOK_BODY,
	TACWS_INPUT_UTF8, /* a text frame that is not UTF-8: closed 1007 */
	TACWS_INPUT_UNMASKED_FRAME, /* a client frame without a mask: closed 1002 */
	TACWS_INPUT_FRAME_HEADER,   /* a frame header RFC 6455 forbids: closed 1002 */
	TACWS_INPUT_EARLY_DATA,	    /* bytes behind an upgrade request, before the 101: 400 */
	TACWS_INPUT_COUNT
};

struct tacws_metrics {
	uint64_t connections_total, connections_rejected, messages_ignored, oversized_closes,
		slow_consumer_drops, http_requests;
	long connections_current;
	long http_current; /* HTTP requests in progress, toward max_connections */
	long connections_compressed; /* of those, permessage-deflate offered and taken */
	uint64_t limit_hits[TACWS_LIMIT_COUNT];
	uint64_t auth_failures[TACWS_AUTH_COUNT];
	uint64_t bad_input[TACWS_INPUT_COUNT];
	uint64_t publishes, refreshes, webhooks;
	uint64_t handshakes_incomplete; /* closed before the request was in (timeout or gave up) */
};

/* [cluster]: counted by feed.c and cluster.c, read by http_api.c (docs/CLUSTER.md). */
struct tacws_cluster_metrics {
	uint64_t leases_acquired, leases_lost;
	uint64_t commits, commits_stale, commits_not_holder;
	uint64_t changes_in, events_in; /* messages the broker delivered */
	uint64_t resyncs;		/* snapshots re-read */
	uint64_t local_polls;		/* polls made while the topic's link was down */
	uint64_t poll_requests;		/* refreshes sent to the holder */
	uint64_t history_reads;		/* resumes served from the broker's event history */
};

#endif
