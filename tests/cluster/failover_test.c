/*
 * A node dies (issue 14): three tacwsd nodes, one redis-server. SIGKILL the
 * node that holds the topic's lease. Polling must move to one survivor within
 * the lease TTL (the first change after the kill reaches the survivors' clients
 * by then), and the dead node's clients, reconnecting to survivors with
 * ?since=&epoch=, resume with nothing lost or duplicated: "resumed" when nothing
 * changed, the one current snapshot when something did, then every change once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cluster_util.h"
#include "testutil.h"

#define LEASE_TTL_MS 2000
#define INTERVAL_MS 200
#define CLIENTS_PER_NODE 2

/* How long a change may take to reach every client in steady state (ASan, a shared machine). */
#define DELIVERY_MS 5000
/* A dead holder's lease runs out within its TTL; then one poll interval and a delivery
 * (slack for a loaded machine). */
#define FAILOVER_BOUND_MS (LEASE_TTL_MS + 2 * INTERVAL_MS + 1500)

static cluster cl;

static void test_holder_killed(void)
{
	CU_ASSERT_EQUAL_FATAL(cluster_subscribe_all(&cl, CLIENTS_PER_NODE, DELIVERY_MS), 0);
	/* One commit per change, summed over the nodes: one poller found each. */
	long long commits = cluster_metric_sum(&cl, CLUSTER_COMMITS);
	CU_ASSERT_EQUAL_FATAL(cluster_changes(&cl, 5, DELIVERY_MS), 0);
	CU_ASSERT_EQUAL(cluster_metric_sum(&cl, CLUSTER_COMMITS), commits + 5);

	int holder = cluster_poller(&cl, INTERVAL_MS, 10000);
	CU_ASSERT_FATAL(holder >= 0);
	int s1 = (holder + 1) % CLUSTER_NODES, s2 = (holder + 2) % CLUSTER_NODES;
	int gone[CLIENTS_PER_NODE] = {0}, watcher = -1, n_gone = 0;
	for (int i = 0; i < cl.n_clients; i++) {
		if (cl.clients[i].node == holder)
			gone[n_gone++] = i;
		else if (watcher < 0)
			watcher = i;
	}
	CU_ASSERT_FATAL(n_gone == CLIENTS_PER_NODE && watcher >= 0);
	long long held_seq = cl.clients[gone[0]].seq;

	long long killed_at = tacws_test_now_ms();
	CU_ASSERT_EQUAL_FATAL(cluster_kill(&cl, holder), 0);
	for (int k = 0; k < n_gone; k++)
		CU_ASSERT_EQUAL_FATAL(cluster_wait_closed(&cl, gone[k], 5000), 0);

	/* Nothing changed since: a survivor resumes the first one at once, lease or not. */
	CU_ASSERT_EQUAL_FATAL(cluster_resume(&cl, gone[0], s1), 0);
	CU_ASSERT_EQUAL(cluster_wait_resumed(&cl, gone[0], DELIVERY_MS), 0);
	CU_ASSERT_EQUAL(cl.clients[gone[0]].snapshots, 0);
	CU_ASSERT_EQUAL(cl.clients[gone[0]].seq, held_seq);

	/* The first change after the kill can only be polled by the next holder. */
	long long v = cluster_change(&cl);
	long long waited = cluster_wait_client(&cl, watcher, v, FAILOVER_BOUND_MS + 10000);
	long long failover_ms = waited < 0 ? -1 : tacws_test_now_ms() - killed_at;
	fprintf(stderr, "failover: change delivered by the new holder %lld ms after SIGKILL "
	                "(lease TTL %d ms, bound %d ms)\n",
	        failover_ms, LEASE_TTL_MS, FAILOVER_BOUND_MS);
	CU_ASSERT_FATAL(waited >= 0);
	CU_ASSERT(failover_ms <= FAILOVER_BOUND_MS);
	CU_ASSERT_FATAL(cluster_wait_all(&cl, v, DELIVERY_MS) >= 0);

	/* Something changed since: the current snapshot once, the same epoch (the cluster's). */
	char epoch[CLUSTER_EPOCH_MAX];
	snprintf(epoch, sizeof epoch, "%s", cl.clients[gone[1]].epoch);
	CU_ASSERT_EQUAL_FATAL(cluster_resume(&cl, gone[1], s2), 0);
	CU_ASSERT_FATAL(cluster_wait_client(&cl, gone[1], v, DELIVERY_MS) >= 0);
	CU_ASSERT_EQUAL(cl.clients[gone[1]].snapshots, 1);
	CU_ASSERT_EQUAL(cl.clients[gone[1]].resumed, 0);
	CU_ASSERT_EQUAL(cl.clients[gone[1]].seq, held_seq + 1);
	CU_ASSERT_STRING_EQUAL(cl.clients[gone[1]].epoch, epoch);

	/* Then every change once, on every client, old and resumed. */
	CU_ASSERT_EQUAL_FATAL(cluster_changes(&cl, 5, DELIVERY_MS), 0);
	int poller = cluster_poller(&cl, INTERVAL_MS, 10000);
	CU_ASSERT(poller == s1 || poller == s2);
	CU_ASSERT_EQUAL(cluster_finish(&cl), 0);
}

static int setup(void)
{
	return cluster_start(&cl, LEASE_TTL_MS, INTERVAL_MS) != 0;
}

static int teardown(void)
{
	return cluster_finish(&cl) != 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"SIGKILL of the lease holder: polling moves, clients resume", test_holder_killed},
	    {NULL, NULL},
	};
	return tacws_test_run("cluster failover", setup, teardown, cases);
}
