/*
 * [cluster]: the broker that links this node to the others (broker.h). Opened at start
 * when the configuration names Redis; its callbacks go to feed.c, its lease tick runs
 * every lease_ttl_ms / 6; the status pages read what it shows. Loop thread.
 */
#ifndef TACWS_CLUSTER_H
#define TACWS_CLUSTER_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct tacws_server tacws_server;

/* Opens the broker (srv->broker) when [cluster] redis is set. Returns 0 (also without
 * [cluster]) or -ENOMEM. The links come up later, with backoff. */
int tacws_cluster_start(tacws_server *srv);

/* Closes the broker: pending requests are answered -ECANCELED. Run the loop after. */
void tacws_cluster_stop(tacws_server *srv);

/* {"node_id","link","shards":[{"addr","up"}],"leases_held","peers":[ids]}, or NULL
 * alone. The caller's. */
json_object *tacws_cluster_status(tacws_server *srv);

/* The other live nodes of the cluster, sorted, as last read from the broker (at most
 * TACWS_BROKER_NODES_MAX): their count, and *ids valid until the loop runs on (NULL, 0
 * alone). */
size_t tacws_cluster_peers(const tacws_server *srv, const char *const **ids);

/* Whether every shard's link is up (true alone). */
int tacws_cluster_link_up(const tacws_server *srv);

#endif
