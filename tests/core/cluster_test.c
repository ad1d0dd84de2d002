/*
 * Three real tacwsd nodes and one real redis-server (tests/support/redis.cmake): every
 * node's subscribers see one seq sequence, each change is polled once for the whole
 * cluster (the lease holder's poll, asked for by a refresh on any node), and an event
 * published on one node reaches the subscribers of every node once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>

#include "delta.h"
#include "server_fixture.h"
#include "testutil.h"
#include "ws_fixture.h"

#define NODES 3
#define TOKEN "cluster-pub"
#define POLLS "tacws_polls_total{feed=\"alpha\"}"
#define COMMITS "tacws_cluster_commits_total"
#define LEASES "tacws_cluster_leases_held"
#define PEERS "tacws_cluster_peers"

static tacws_server_fixture *fx[NODES];
static int port[NODES];
static tacws_wsclient *sub[NODES];
static char alpha_file[1024];
static char epoch[64];
static long long seq;

static long long sum(const char *sample)
{
	long long total = 0;
	for (int i = 0; i < NODES; i++)
		total += fx[i] ? tacws_server_metric(fx[i], sample) : 0;
	return total;
}

static const char *str_of(json_object *m, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(m, key, &v) ? json_object_get_string(v) : "";
}

static long post(int node, const char *path, const char *body)
{
	static const char *const headers[] = {"Authorization: Bearer " TOKEN, NULL};
	tacws_http_reply r;
	if (tacws_server_http_post(fx[node], path, headers, body, &r))
		return -1;
	long status = r.status;
	tacws_http_reply_clear(&r);
	return status;
}

static void test_one_sequence_one_poll_per_change(void)
{
	CU_ASSERT_EQUAL(sum(POLLS), 1); /* the first subscriber's node polled, once */
	CU_ASSERT_EQUAL(sum(LEASES), 1);
	for (int change = 1; change <= 5; change++) {
		char text[64];
		snprintf(text, sizeof text, "{\"v\":%d}", change);
		CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, text), 0);
		/* a refresh on any node: the holder polls */
		CU_ASSERT_EQUAL(post(change % NODES, "/api/v1/feeds/alpha/refresh", ""), 202);
		for (int i = 0; i < NODES; i++) {
			json_object *m = NULL;
			CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(sub[i], "test_update", 5000, &m), 0);
			CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + change);
			CU_ASSERT_STRING_EQUAL(str_of(m, "epoch"), epoch);
			json_object_put(m);
		}
		CU_ASSERT_EQUAL(sum(POLLS), 1 + change);
		CU_ASSERT_EQUAL(sum(COMMITS), 1 + change);
	}
	for (int i = 0; i < NODES; i++)
		CU_ASSERT_EQUAL(tacws_ws_expect_silence(sub[i], 300, NULL), 0);
	seq += 5;
}

static json_object *member(json_object *m, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(m, key, &v) ? v : NULL;
}

/* alpha's file: v and a long note, so that a change of v is a delta smaller than the
 * snapshot. */
static void write_noted(int v)
{
	char text[512];
	snprintf(text, sizeof text, "{\"v\":%d,\"note\":\"%0300d\"}", v, 7);
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, text), 0);
}

/* The keepers (full snapshots) get the change to seq + 1. */
static void keepers_get_next(void)
{
	for (int i = 0; i < NODES; i++) {
		json_object *m = NULL;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(sub[i], "test_update", 5000, &m), 0);
		CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
		CU_ASSERT_PTR_NOT_NULL(member(m, "data"));
		json_object_put(m);
	}
	seq++;
}

/* A delta subscriber on a node that does not hold the lease gets deltas: the holder's
 * patch comes with the change through Redis, applies to what the client holds, and a
 * client without deltas on the same node still gets the full snapshot. */
static void test_deltas_on_every_node(void)
{
	int holder = -1;
	for (int i = 0; i < NODES; i++)
		if (tacws_server_metric(fx[i], LEASES) == 1)
			holder = i;
	CU_ASSERT_FATAL(holder >= 0);
	int other = (holder + 1) % NODES;
	write_noted(100);
	CU_ASSERT_EQUAL(post(other, "/api/v1/feeds/alpha/refresh", ""), 202);
	keepers_get_next();
	tacws_wsclient *c = NULL;
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[other], NULL, "alpha", "delta=json-patch", NULL,
					       3000, &c, NULL),
			      0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 5000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq);
	json_object *doc = json_object_get(member(m, "data"));
	json_object_put(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	for (int v = 101; v <= 102; v++) {
		write_noted(v);
		CU_ASSERT_EQUAL(post(other, "/api/v1/feeds/alpha/refresh", ""), 202);
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 5000, &m), 0);
		CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
		json_object *patch = member(m, "delta"), *next = NULL;
		CU_ASSERT_PTR_NOT_NULL(patch);
		if (patch) {
			CU_ASSERT_EQUAL(json_object_get_int64(member(m, "base_seq")), seq);
			CU_ASSERT_EQUAL(tacws_delta_apply(doc, patch, &next), 0);
			json_object *jv = next ? member(next, "v") : NULL;
			CU_ASSERT_EQUAL(jv ? json_object_get_int(jv) : -1, v);
			json_object_put(doc);
			doc = next;
		}
		json_object_put(m);
		keepers_get_next();
	}
	json_object_put(doc);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 300, NULL), 0);
	tacws_wsclient_free(c);
}

static void test_publish_reaches_every_node(void)
{
	CU_ASSERT_EQUAL(post(0, "/api/v1/publish",
			     "{\"feed\":\"alpha\",\"type\":\"alert\",\"data\":{\"n\":1}}"),
			202);
	for (int i = 0; i < NODES; i++) {
		json_object *m = NULL;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(sub[i], "alert", 5000, &m), 0);
		CU_ASSERT_EQUAL(tacws_ws_seq(m), seq);
		json_object_put(m);
		CU_ASSERT_EQUAL(tacws_ws_expect_silence(sub[i], 300, NULL), 0); /* once */
	}
}

static long long int_of(json_object *m, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(m, key, &v) ? json_object_get_int64(v) : -1;
}

/* Events published on node a while a client of node c is away: it resumes on node b and
 * gets them replayed in order (offsets are the cluster's, so any node can). */
static void test_missed_events_replayed_on_another_node(void)
{
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[2], NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"alpha\"]}"), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "test_update", 3000, NULL), 0);
	CU_ASSERT_EQUAL(post(0, "/api/v1/publish", "{\"feed\":\"alpha\",\"type\":\"alert\",\"data\":1}"), 202);
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 5000, &m), 0);
	long long offset = int_of(m, "offset");
	CU_ASSERT_TRUE(offset > 0);
	json_object_put(m);
	tacws_wsclient_free(c);
	for (int n = 2; n <= 3; n++) {
		char body[96];
		snprintf(body, sizeof body, "{\"feed\":\"alpha\",\"type\":\"alert\",\"data\":%d}", n);
		CU_ASSERT_EQUAL(post(0, "/api/v1/publish", body), 202);
	}
	for (int i = 0; i < NODES; i++) { /* the keepers got all three */
		for (int n = 1; n <= 3; n++)
			CU_ASSERT_EQUAL(tacws_ws_expect(sub[i], "alert", 5000, NULL), 0);
	}
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[1], NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	char msg[256];
	snprintf(msg, sizeof msg,
		 "{\"type\":\"subscribe\",\"feeds\":[{\"topic\":\"alpha\",\"since\":%lld,"
		 "\"epoch\":\"%s\",\"offset\":%lld}]}",
		 seq, epoch, offset);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, msg), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 3000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "true");
	json_object_put(m);
	for (int n = 2; n <= 3; n++) {
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
		CU_ASSERT_EQUAL(int_of(m, "offset"), offset + n - 1);
		CU_ASSERT_EQUAL(int_of(m, "data"), n);
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 300, NULL), 0);
	tacws_wsclient_free(c);
}

static void publish_item(int node, int n)
{
	char body[128];
	snprintf(body, sizeof body,
		 "{\"feed\":\"item\",\"param\":\"s1\",\"type\":\"alert\",\"data\":%d}", n);
	CU_ASSERT_EQUAL(post(node, "/api/v1/publish", body), 202);
}

/* A client resumes on a node that never had the topic: the events it missed, published on
 * node a, come from the Redis Stream in order, then the live ones, none twice. */
static void test_missed_events_from_the_stream(void)
{
	tacws_wsclient *c = NULL;
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[0], NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"item/s1\"]}"), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "item_update", 5000, &m), 0);
	long long item_seq = tacws_ws_seq(m);
	char item_epoch[64];
	snprintf(item_epoch, sizeof item_epoch, "%s", str_of(m, "epoch"));
	json_object_put(m);
	publish_item(0, 1);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 5000, &m), 0);
	long long offset = int_of(m, "offset");
	CU_ASSERT_TRUE(offset > 0);
	json_object_put(m);
	tacws_wsclient_free(c);
	for (int n = 2; n <= 4; n++)
		publish_item(n % 2, n); /* on node a and b; c has never had the topic */
	long long reads = tacws_server_metric(fx[2], "tacws_cluster_history_reads_total");
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[2], NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	char msg[256];
	snprintf(msg, sizeof msg,
		 "{\"type\":\"subscribe\",\"feeds\":[{\"topic\":\"item/s1\",\"since\":%lld,"
		 "\"epoch\":\"%s\",\"offset\":%lld}]}",
		 item_seq, item_epoch, offset);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, msg), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 5000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "true");
	CU_ASSERT_EQUAL(tacws_ws_seq(m), item_seq);
	json_object_put(m);
	/* in the stream's order (two nodes' publishes may reach Redis in either order): each
	 * once, offsets one after the other */
	int got = 0;
	for (int n = 2; n <= 4; n++) {
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
		CU_ASSERT_EQUAL(int_of(m, "offset"), offset + n - 1);
		long long d = int_of(m, "data");
		CU_ASSERT_TRUE(d >= 2 && d <= 4 && !(got & (1 << d)));
		if (d >= 2 && d <= 4)
			got |= 1 << d;
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(got, (1 << 2) | (1 << 3) | (1 << 4));
	CU_ASSERT_EQUAL(tacws_server_metric(fx[2], "tacws_cluster_history_reads_total"), reads + 1);
	/* then live, from any node, once */
	publish_item(0, 5);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 3000, &m), 0);
	CU_ASSERT_EQUAL(int_of(m, "offset"), offset + 4);
	CU_ASSERT_EQUAL(int_of(m, "data"), 5);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 300, NULL), 0);
	tacws_wsclient_free(c);
}

/* A resume on a node that never had the topic, from an offset the stream no longer has
 * (history_max 50 in this test): recovered:false and the snapshot. */
static void test_trimmed_stream_not_recovered(void)
{
	tacws_wsclient *c = NULL;
	json_object *m = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[0], NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, "{\"type\":\"subscribe\",\"feeds\":[\"item/s2\"]}"), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "item_update", 5000, &m), 0);
	long long item_seq = tacws_ws_seq(m);
	char item_epoch[64];
	snprintf(item_epoch, sizeof item_epoch, "%s", str_of(m, "epoch"));
	json_object_put(m);
	for (int n = 1; n <= 300; n++) {
		char body[128];
		snprintf(body, sizeof body,
			 "{\"feed\":\"item\",\"param\":\"s2\",\"type\":\"alert\",\"data\":%d}", n);
		CU_ASSERT_EQUAL(post(0, "/api/v1/publish", body), 202);
	}
	for (int n = 1; n <= 300; n++) { /* all stored */
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "alert", 5000, &m), 0);
		CU_ASSERT_EQUAL(int_of(m, "offset"), n);
		json_object_put(m);
	}
	tacws_wsclient_free(c);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[2], NULL, NULL, NULL, NULL, 3000, &c, NULL), 0);
	char msg[256];
	snprintf(msg, sizeof msg,
		 "{\"type\":\"subscribe\",\"feeds\":[{\"topic\":\"item/s2\",\"since\":%lld,"
		 "\"epoch\":\"%s\",\"offset\":1}]}",
		 item_seq, item_epoch);
	CU_ASSERT_EQUAL(tacws_ws_send_text(c, msg), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "resumed", 5000, &m), 0);
	CU_ASSERT_STRING_EQUAL(str_of(m, "recovered"), "false");
	json_object_put(m);
	CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(c, "item_update", 3000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), item_seq);
	json_object_put(m);
	CU_ASSERT_EQUAL(tacws_ws_expect_silence(c, 300, NULL), 0);
	tacws_wsclient_free(c);
}

/* A late subscriber on any node gets the cluster's snapshot without a poll. */
static void test_new_subscriber_from_the_cache(void)
{
	long long polls = sum(POLLS);
	tacws_wsclient *c = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_ws_connect(port[2], NULL, "alpha", NULL, NULL, 3000, &c, NULL), 0);
	json_object *m = NULL;
	CU_ASSERT_EQUAL(tacws_ws_expect(c, "test_update", 3000, &m), 0);
	CU_ASSERT_EQUAL(tacws_ws_seq(m), seq);
	json_object_put(m);
	tacws_wsclient_free(c);
	CU_ASSERT_EQUAL(sum(POLLS), polls);
}

static char link_sample[128];

static int redis_script(const char *action)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "sh %s %s %s %s >/dev/null", getenv("TACWS_TEST_REDIS_SCRIPT"),
		 action, getenv("TACWS_TEST_REDIS_DIR"), getenv("TACWS_TEST_REDIS_PORT"));
	return system(cmd);
}

/* Redis goes away: each node polls and serves on its own (an epoch of its own); it comes
 * back empty: no client gets what it holds again, and the next change is one new epoch and
 * seq on every node, above the seq each client holds; then one sequence again. */
static void test_redis_restart(void)
{
	CU_ASSERT_EQUAL_FATAL(redis_script("stop"), 0);
	for (int i = 0; i < NODES; i++)
		CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx[i], link_sample, 0, 10000), 0);
	for (int i = 0; i < NODES; i++) /* the last list read stays while the link is down */
		CU_ASSERT_EQUAL(tacws_server_metric(fx[i], PEERS), 2);
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, "{\"v\":\"alone\"}"), 0);
	char alone[NODES][64];
	for (int i = 0; i < NODES; i++) {
		CU_ASSERT_EQUAL(post(i, "/api/v1/feeds/alpha/refresh", ""), 202);
		json_object *m = NULL;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(sub[i], "test_update", 5000, &m), 0);
		CU_ASSERT_EQUAL(tacws_ws_seq(m), seq + 1);
		snprintf(alone[i], sizeof alone[i], "%s", str_of(m, "epoch"));
		CU_ASSERT_STRING_NOT_EQUAL(alone[i], epoch);
		json_object_put(m);
	}
	CU_ASSERT_TRUE(sum("tacws_cluster_local_polls_total") >= NODES);
	CU_ASSERT_EQUAL_FATAL(redis_script("start"), 0);
	for (int i = 0; i < NODES; i++)
		CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx[i], link_sample, 1, 15000), 1);
	/* the nodes store and take their state again: nothing new for a client */
	for (int i = 0; i < NODES; i++) {
		json_object *m = NULL;
		CU_ASSERT_EQUAL(tacws_ws_expect_silence(sub[i], 1500, &m), 0);
		if (m)
			fprintf(stderr, "node %d sent again: %s\n", i, json_object_to_json_string(m));
		json_object_put(m);
	}
	/* the next change: one new epoch and seq on every node, above the one each holds */
	char joined[NODES][64];
	long long joined_seq[NODES];
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, "{\"v\":\"together\"}"), 0);
	CU_ASSERT_EQUAL(post(1, "/api/v1/feeds/alpha/refresh", ""), 202);
	for (int i = 0; i < NODES; i++) {
		json_object *m = NULL;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(sub[i], "test_update", 5000, &m), 0);
		joined_seq[i] = tacws_ws_seq(m);
		snprintf(joined[i], sizeof joined[i], "%s", str_of(m, "epoch"));
		CU_ASSERT_TRUE(joined_seq[i] > seq + 1);
		CU_ASSERT_STRING_NOT_EQUAL(joined[i], alone[i]);
		json_object_put(m);
	}
	for (int i = 1; i < NODES; i++) {
		CU_ASSERT_STRING_EQUAL(joined[i], joined[0]);
		CU_ASSERT_EQUAL(joined_seq[i], joined_seq[0]);
	}
	/* and one sequence again */
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, "{\"v\":\"again\"}"), 0);
	CU_ASSERT_EQUAL(post(2, "/api/v1/feeds/alpha/refresh", ""), 202);
	for (int i = 0; i < NODES; i++) {
		json_object *m = NULL;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(sub[i], "test_update", 5000, &m), 0);
		CU_ASSERT_EQUAL(tacws_ws_seq(m), joined_seq[0] + 1);
		CU_ASSERT_STRING_EQUAL(str_of(m, "epoch"), joined[0]);
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(sum(LEASES), 1);
}

/* The "peers" of node i's "cluster" object in path's answer, joined with commas. */
static void peers_of(int i, const char *path, char *out, size_t size)
{
	tacws_http_reply r;
	out[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx[i], path, &r), 0);
	json_object *o = json_tokener_parse(r.body), *cluster, *peers;
	tacws_http_reply_clear(&r);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "cluster", &cluster) &&
			json_object_object_get_ex(cluster, "peers", &peers) &&
			json_object_is_type(peers, json_type_array));
	size_t len = 0;
	for (size_t k = 0; k < json_object_array_length(peers); k++)
		len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%s", k ? "," : "",
				       json_object_get_string(json_object_array_get_idx(peers, k)));
	json_object_put(o);
}

/* Each node lists the two others as its peers, sorted, on both status pages and in
 * /metrics; never itself. */
static void test_peers_listed(void)
{
	static const char *const want[NODES] = {"node-b,node-c", "node-a,node-c", "node-a,node-b"};
	for (int i = 0; i < NODES; i++) {
		/* within a lease tick of the last node's start (lease_ttl_ms / 3 = 500 ms) */
		CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx[i], PEERS, 2, 5000), 2);
		char got[256];
		peers_of(i, "/api/v1/feeds", got, sizeof got);
		CU_ASSERT_STRING_EQUAL(got, want[i]);
		peers_of(i, "/healthz", got, sizeof got);
		CU_ASSERT_STRING_EQUAL(got, want[i]);
		for (int j = 0; j < NODES; j++) {
			char sample[96];
			snprintf(sample, sizeof sample, "tacws_cluster_peer_info{node=\"node-%c\"}",
				 'a' + j);
			CU_ASSERT_EQUAL(tacws_server_metric(fx[i], sample), i == j ? -1 : 1);
		}
	}
}

/* SIGKILL of the lease holder: another node takes the lease within the TTL and polls, and
 * the survivors stop listing it as a peer within 4/3 of the TTL (docs/CLUSTER.md). */
static void test_holder_killed(void)
{
	int holder = -1;
	for (int i = 0; i < NODES; i++)
		if (tacws_server_metric(fx[i], LEASES) == 1)
			holder = i;
	CU_ASSERT_FATAL(holder >= 0);
	json_object *m = NULL;
	/* the seq every node is at now */
	tacws_http_reply r;
	int other = (holder + 1) % NODES;
	CU_ASSERT_EQUAL_FATAL(tacws_server_http_get(fx[other], "/api/v1/feeds", &r), 0);
	json_object *feeds = json_tokener_parse(r.body), *list, *seq_now;
	tacws_http_reply_clear(&r);
	CU_ASSERT_FATAL(json_object_object_get_ex(feeds, "feeds", &list) &&
			json_object_object_get_ex(json_object_array_get_idx(list, 0), "seq", &seq_now));
	long long before = json_object_get_int64(seq_now);
	json_object_put(feeds);
	long long killed_at = tacws_test_now_ms();
	CU_ASSERT_EQUAL_FATAL(kill(tacws_server_fixture_pid(fx[holder]), SIGKILL), 0);
	CU_ASSERT_EQUAL(tacws_server_fixture_wait_exit(fx[holder], 5000), 128 + SIGKILL);
	tacws_server_fixture_free(fx[holder]);
	fx[holder] = NULL;
	tacws_wsclient_free(sub[holder]);
	sub[holder] = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, "{\"v\":\"after\"}"), 0);
	/* the new holder's first poll finds the change: within lease_ttl_ms (1.5 s) and a tick */
	for (int i = 0; i < NODES; i++) {
		if (!sub[i])
			continue;
		CU_ASSERT_EQUAL_FATAL(tacws_ws_expect(sub[i], "test_update", 4000, &m), 0);
		CU_ASSERT_EQUAL(tacws_ws_seq(m), before + 1);
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(sum(LEASES), 1);
	/* 1500 ms of TTL + 500 ms to the next read, and a margin for a busy machine */
	for (int i = 0; i < NODES; i++) {
		if (!fx[i])
			continue;
		long long left = killed_at + 2000 + 1000 - tacws_test_now_ms();
		CU_ASSERT_EQUAL(tacws_server_wait_metric_equal(fx[i], PEERS, 1,
							       left > 0 ? (int)left : 0), 1);
		fprintf(stderr, "node-%c: node-%c gone from its peers %lld ms after SIGKILL\n", 'a' + i,
			'a' + holder, tacws_test_now_ms() - killed_at);
		char got[256], want[16];
		peers_of(i, "/api/v1/feeds", got, sizeof got);
		snprintf(want, sizeof want, "node-%c", 'a' + (3 - i - holder));
		CU_ASSERT_STRING_EQUAL(got, want);
	}
}

static int start_node(int i, const char *redis_url)
{
	char ini[4096];
	snprintf(ini, sizeof ini,
		 "[auth]\npublish_token = " TOKEN "\n"
		 "[feed.alpha]\nplugin = testfeed\nfile = %s\ninterval_ms = 600000\n"
		 "[feed.item]\nplugin = testfeed\nfile = %s\ninterval_ms = 600000\n"
		 "[cluster]\nredis = %s\nnode_id = node-%c\nlease_ttl_ms = 1500\n"
		 "history_max = 50\n",
		 alpha_file, alpha_file, redis_url, 'a' + i);
	if (tacws_server_fixture_new(&fx[i]))
		return -1;
	port[i] = tacws_server_fixture_start_ini(fx[i], TEST_PLUGIN_DIR, NULL, ini);
	return port[i] < 0 ? -1 : 0;
}

static int setup(void)
{
	const char *url = getenv("TACWS_TEST_REDIS_URL"), *rport = getenv("TACWS_TEST_REDIS_PORT");
	if (!url || !rport) {
		fprintf(stderr, "cluster_test: TACWS_TEST_REDIS_URL is not set (run it with ctest)\n");
		return 1;
	}
	/* a database of its own, emptied: the broker test shares the server */
	char cmd[256], redis_url[512];
	snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %s -n 7 FLUSHDB >/dev/null", rport);
	if (system(cmd))
		return 1;
	snprintf(redis_url, sizeof redis_url, "%s/7", url);
	snprintf(alpha_file, sizeof alpha_file, "%s/cluster-alpha-%d.json",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	if (tacws_test_replace_file(alpha_file, "{\"v\":0}"))
		return 1;
	snprintf(link_sample, sizeof link_sample,
		 "tacws_cluster_link_up{shard=\"0\",addr=\"127.0.0.1:%s\"}", rport);
	for (int i = 0; i < NODES; i++)
		if (start_node(i, redis_url) ||
		    tacws_server_wait_metric_equal(fx[i], link_sample, 1, 10000) != 1)
			return 1;
	/* node a first: it takes the lease and polls; b and c get the broker's state */
	for (int i = 0; i < NODES; i++) {
		json_object *m = NULL;
		if (tacws_ws_connect(port[i], NULL, "alpha", NULL, NULL, 3000, &sub[i], NULL) ||
		    tacws_ws_expect(sub[i], "test_update", 5000, &m))
			return 1;
		if (i == 0) {
			seq = tacws_ws_seq(m);
			snprintf(epoch, sizeof epoch, "%s", str_of(m, "epoch"));
		}
		int same = tacws_ws_seq(m) == seq && !strcmp(str_of(m, "epoch"), epoch);
		json_object_put(m);
		if (!same) {
			fprintf(stderr, "cluster_test: node %d started at another seq or epoch\n", i);
			return 1;
		}
	}
	return 0;
}

static int teardown(void)
{
	int rc = 0;
	for (int i = 0; i < NODES; i++) {
		tacws_wsclient_free(sub[i]);
		if (fx[i] && tacws_server_fixture_finish(fx[i]))
			rc = 1;
	}
	unlink(alpha_file);
	return rc;
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"each node lists the others as its peers", test_peers_listed},
	    {"one seq sequence on every node, one poll per change", test_one_sequence_one_poll_per_change},
	    {"publish on node a reaches every node once", test_publish_reaches_every_node},
	    {"deltas on a node that does not poll", test_deltas_on_every_node},
	    {"missed events replayed in order on another node",
	     test_missed_events_replayed_on_another_node},
	    {"missed events from the Redis Stream on a node that never had the topic",
	     test_missed_events_from_the_stream},
	    {"a stream trimmed past the offset: not recovered", test_trimmed_stream_not_recovered},
	    {"a new subscriber gets the cluster's snapshot without a poll",
	     test_new_subscriber_from_the_cache},
	    {"redis restarts: each node alone, then one epoch and sequence again", test_redis_restart},
	    {"the lease holder killed: another node polls within the TTL", test_holder_killed},
	    {NULL, NULL},
	};
	return tacws_test_run("cluster", setup, teardown, cases);
}
