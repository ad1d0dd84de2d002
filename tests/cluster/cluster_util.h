/*
 * A three-node tacws cluster for the failure tests: three real tacwsd processes
 * on loopback sharing one real redis-server (the ctest fixture of
 * tests/support/redis.cmake, whose address, folder and script come in the
 * environment), and the adw_state plugin on one repo_root, so one run's
 * agents/<adw_id>/adw_state.json is a source every node reads and the test
 * changes. Each change writes {"adw_id":..,"v":N} with N one more than before,
 * so a client's messages say which change they carry.
 *
 * Subscribers are tracked: every message they get is checked as it is read
 * (seq and v only ever grow, no v is delivered twice, no v skipped when the
 * test asks for every change, one seq means one v cluster-wide within one
 * epoch), and the failures are CUnit assertions naming the client.
 *
 * Threads: one thread. Functions return 0 or a negative errno unless said
 * otherwise. Every process started is stopped by its PID, nothing else.
 */
#ifndef TACWS_CLUSTER_UTIL_H
#define TACWS_CLUSTER_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "server_fixture.h"
#include "ws_fixture.h"

#define CLUSTER_NODES 3
#define CLUSTER_MAX_CLIENTS 32
#define CLUSTER_EPOCH_MAX 64

/* What the tests read of a node's status (docs/CLUSTER.md): its polls of the
 * feed, its commits (one per change, summed over the nodes), and the link to
 * Redis in /healthz ("cluster": {"link": "up"|"down"}) and /metrics
 * (tacws_cluster_link_up{shard="0",addr="host:port"}, 1 up, 0 down). */
#define CLUSTER_POLLS "tacws_polls_total{feed=\"adw-state\"}"
#define CLUSTER_COMMITS "tacws_cluster_commits_total"
#define CLUSTER_HEALTHZ_OBJECT "cluster"
#define CLUSTER_HEALTHZ_LINK "link"
#define CLUSTER_LINK_UP "up"
#define CLUSTER_LINK_DOWN "down"
#define CLUSTER_LINK_METRIC "tacws_cluster_link_up{shard=\"0\",addr=\"127.0.0.1:%s\"}"

typedef struct cluster_client {
	tacws_wsclient *ws;
	int node;	   /* the node it is connected to */
	long long seq;	   /* last seq it holds, -1 before its first snapshot */
	long long v;	   /* the change it holds */
	char epoch[CLUSTER_EPOCH_MAX];
	int resumed;	   /* "resumed" messages received (recovered true) */
	int snapshots;	   /* snapshots received on this connection */
	bool every_change; /* v must grow by exactly one per message */
	bool closed;	   /* its node went away */
	char name[32];
} cluster_client;

typedef struct cluster {
	tacws_server_fixture *node[CLUSTER_NODES];
	bool alive[CLUSTER_NODES];
	char *repo; /* the shared repo_root */
	char adw_id[16];
	char topic[32];	      /* adw-state/<adw_id> */
	long long v;	      /* the last change written */
	int lease_ttl_ms;
	tacws_wsgroup *group; /* every client of the test */
	cluster_client clients[CLUSTER_MAX_CLIENTS];
	int n_clients;
	bool check_one_sequence; /* off while Redis is away: nodes then number on their own */
} cluster;

/* The redis-server of the ctest fixture: its URL (TACWS_TEST_REDIS_URL), or NULL
 * when the test runs outside ctest. */
const char *cluster_redis_url(void);

/* Stops (stop) or starts again on its port and folder (start) the fixture's
 * redis-server, through tests/support/redis_server.sh. */
int cluster_redis(const char *what);

/* Starts three nodes on one new repo_root, adw-state polled every interval_ms
 * with lease_ttl_ms, and writes change 0. */
int cluster_start(cluster *c, int lease_ttl_ms, int interval_ms);

/* Frees the clients, stops the live nodes, removes the repo. Returns the
 * number of nodes that did not exit cleanly on SIGTERM or reported a sanitizer
 * finding (their logs go to stderr). A zeroed cluster is fine. */
int cluster_finish(cluster *c);

/* Writes change v + 1 to the source; returns its v. */
long long cluster_change(cluster *c);

/* Opens a per-feed socket on node to the topic; query ("since=3&epoch=...") may
 * be NULL. Returns the client's index, or -1 (asserted). */
int cluster_subscribe(cluster *c, int node, const char *query, bool every_change);

/* per_node clients on every node, each to get every change; waits until each has
 * its first snapshot. Returns 0 or -1 (asserted). */
int cluster_subscribe_all(cluster *c, int per_node, int timeout_ms);

/* n changes, one at a time: each written once every open client holds the one before.
 * Returns 0, or -ETIMEDOUT when one did not reach every client within timeout_ms. */
int cluster_changes(cluster *c, int n, int timeout_ms);

/* Reconnects client i (whose node died) to node with ?since=<seq>&epoch=<epoch>
 * of what it holds. Returns 0 or -1 (asserted). */
int cluster_resume(cluster *c, int i, int node);

/* Reads and checks what has arrived, waiting until every open client holds at
 * least change v or timeout_ms passes. Returns the ms waited, or -ETIMEDOUT. */
long long cluster_wait_all(cluster *c, long long v, int timeout_ms);

/* Waits until client i holds at least change v. Returns ms waited or -ETIMEDOUT. */
long long cluster_wait_client(cluster *c, int i, long long v, int timeout_ms);

/* Waits until client i has got "resumed" or its connection closed; returns 0 or -ETIMEDOUT. */
int cluster_wait_resumed(cluster *c, int i, int timeout_ms);
int cluster_wait_closed(cluster *c, int i, int timeout_ms);

/* The node that polls the topic: the only live node whose poll count grows
 * while the others' stay, over windows of 3 poll intervals. Returns its
 * index, or -1 when none was the only one before timeout_ms. */
int cluster_poller(cluster *c, int interval_ms, int timeout_ms);

/* The sum over the live nodes of a sample of /metrics (absent counts 0). */
long long cluster_metric_sum(cluster *c, const char *sample);

/* SIGKILLs node i and reaps it. Returns 0 or -errno. */
int cluster_kill(cluster *c, int i);

/* Waits until /healthz and /metrics of node i say the cluster link is up
 * (true) or down (false). Returns 0 or -ETIMEDOUT. */
int cluster_wait_link(cluster *c, int i, bool up, int timeout_ms);

#endif
