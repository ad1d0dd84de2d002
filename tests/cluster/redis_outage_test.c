/*
 * Redis goes away (issue 14): three tacwsd nodes, one redis-server, changes
 * continuing. Stop redis-server while a change is on its way and start it
 * again (empty: the test Redis keeps nothing) while another is. Throughout,
 * every client stays on its node and gets every change once, seq only ever
 * growing; /healthz and /metrics of every node say the link is down, then up;
 * afterwards the nodes are one sequence again, polled by one node.
 */
#include <stdio.h>
#include <string.h>

#include "cluster_util.h"
#include "testutil.h"

#define LEASE_TTL_MS 2000
#define INTERVAL_MS 200
#define CLIENTS_PER_NODE 2
#define DELIVERY_MS 5000
/* Down: at once when the socket closes, within two probe intervals (2 s) when it does not.
 * Up: the reconnect backoff is capped at 5 s by default. */
#define LINK_DOWN_MS 10000
#define LINK_UP_MS 15000

static cluster cl;

static void test_redis_restart_under_load(void)
{
	CU_ASSERT_EQUAL_FATAL(cluster_subscribe_all(&cl, CLIENTS_PER_NODE, DELIVERY_MS), 0);
	for (int i = 0; i < CLUSTER_NODES; i++)
		CU_ASSERT_EQUAL_FATAL(cluster_wait_link(&cl, i, true, LINK_UP_MS), 0);
	CU_ASSERT_EQUAL_FATAL(cluster_changes(&cl, 3, DELIVERY_MS), 0);

	/* Away with a change on its way: each node serves it from its own poll. */
	cl.check_one_sequence = false;
	long long v = cluster_change(&cl);
	CU_ASSERT_EQUAL_FATAL(cluster_redis("stop"), 0);
	CU_ASSERT_FATAL(cluster_wait_all(&cl, v, DELIVERY_MS) >= 0);
	for (int i = 0; i < CLUSTER_NODES; i++)
		CU_ASSERT_EQUAL(cluster_wait_link(&cl, i, false, LINK_DOWN_MS), 0);
	CU_ASSERT_EQUAL_FATAL(cluster_changes(&cl, 3, DELIVERY_MS), 0);

	/* Back, empty, with a change on its way. */
	v = cluster_change(&cl);
	CU_ASSERT_EQUAL_FATAL(cluster_redis("start"), 0);
	CU_ASSERT_FATAL(cluster_wait_all(&cl, v, DELIVERY_MS) >= 0);
	for (int i = 0; i < CLUSTER_NODES; i++)
		CU_ASSERT_EQUAL(cluster_wait_link(&cl, i, true, LINK_UP_MS), 0);
	CU_ASSERT_EQUAL_FATAL(cluster_changes(&cl, 2, DELIVERY_MS), 0);

	/* Resynchronised: one sequence again, one poller. */
	cl.check_one_sequence = true;
	CU_ASSERT_EQUAL_FATAL(cluster_changes(&cl, 3, DELIVERY_MS), 0);
	for (int i = 1; i < cl.n_clients; i++) {
		CU_ASSERT_EQUAL(cl.clients[i].seq, cl.clients[0].seq);
		CU_ASSERT_STRING_EQUAL(cl.clients[i].epoch, cl.clients[0].epoch);
	}
	CU_ASSERT(cluster_poller(&cl, INTERVAL_MS, 10000) >= 0);
	for (int i = 0; i < cl.n_clients; i++)
		CU_ASSERT_FALSE(cl.clients[i].closed);
	CU_ASSERT_EQUAL(cluster_finish(&cl), 0);
}

static int setup(void)
{
	return cluster_start(&cl, LEASE_TTL_MS, INTERVAL_MS) != 0;
}

static int teardown(void)
{
	int problems = cluster_finish(&cl);
	/* The Redis fixture must be there for the tests after this one, whatever happened. */
	cluster_redis("start");
	return problems != 0;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"redis-server stopped and started under load", test_redis_restart_under_load},
	    {NULL, NULL},
	};
	return tacws_test_run("cluster redis outage", setup, teardown, cases);
}
