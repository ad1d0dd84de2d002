/* The Redis broker (core/broker.h) against a real redis-server (tests/support/redis.cmake):
 * two or three "nodes" (broker instances) in one process, on one libuv loop the test drives.
 * Every wait is on an event with a deadline. */
#include "broker.h"
#include "testutil.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static tacws_broker_config cfg;
static char run_id[32]; /* topics are fresh per run: the server outlives one run */

/* ---- driving the loop ---- */

static int deadline_hit;
static void on_deadline(uv_timer_t *t)
{
	(void)t;
	deadline_hit = 1;
}

/* Runs the loop until *count reaches want or timeout_ms pass. Returns 1 when it did. */
static int run_until_count(const int *count, int want, unsigned timeout_ms)
{
	uv_timer_t deadline;
	uv_timer_init(&loop, &deadline);
	deadline_hit = 0;
	uv_timer_start(&deadline, on_deadline, timeout_ms, 0);
	while (*count < want && !deadline_hit)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&deadline, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return *count >= want;
}

static int run_until(const int *flag, unsigned timeout_ms)
{
	return run_until_count(flag, 1, timeout_ms);
}

/* ---- a node: a broker and what it saw ---- */

#define MAX_SEEN 64
typedef struct seen_msg {
	tacws_broker_kind kind;
	uint64_t seq;
	char epoch[TACWS_BROKER_EPOCH_LEN + 1];
	char topic[64];
	char data[64];
	char delta[64]; /* a change's delta, "" without */
} seen_msg;

typedef struct node {
	tacws_broker *b;
	int ups, downs;
	int subscribed; /* on_subscribed calls */
	int n_seen;
	seen_msg seen[MAX_SEEN];
} node;

static void node_state(void *arg, unsigned shard, int up)
{
	node *n = arg;
	(void)shard;
	if (up)
		n->ups++;
	else
		n->downs++;
}

static void node_message(void *arg, const tacws_broker_msg *m)
{
	node *n = arg;
	if (n->n_seen == MAX_SEEN)
		return;
	seen_msg *s = &n->seen[n->n_seen++];
	s->kind = m->kind;
	s->seq = m->seq;
	snprintf(s->epoch, sizeof s->epoch, "%s", m->epoch);
	snprintf(s->topic, sizeof s->topic, "%s", m->topic);
	snprintf(s->data, sizeof s->data, "%.*s", (int)(m->len < 63 ? m->len : 63), m->data);
	snprintf(s->delta, sizeof s->delta, "%.*s", (int)(m->delta_len < 63 ? m->delta_len : 63),
		 m->delta ? m->delta : "");
}

static void node_subscribed(void *arg, const char *topic)
{
	(void)topic;
	((node *)arg)->subscribed++;
}

static unsigned next_history_ttl_ms; /* for the next node_open_with */

static void node_open_with(node *n, const char *id, unsigned history_max, unsigned probe_ms)
{
	memset(n, 0, sizeof *n);
	tacws_broker_options opt = {.node_id = id,
				    .history_max = history_max,
				    .history_ttl_ms = next_history_ttl_ms,
				    .probe_interval_ms = probe_ms,
				    .backoff_max_ms = 400,
				    .on_state = node_state,
				    .on_message = node_message,
				    .on_subscribed = node_subscribed,
				    .arg = n};
	n->b = tacws_broker_redis_open(&loop, &cfg, &opt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n->b);
	CU_ASSERT_FATAL(run_until_count(&n->ups, (int)cfg.n_shards, 5000)); /* every shard */
	CU_ASSERT(tacws_broker_is_up(n->b, 0));
}

static void node_open(node *n, const char *id)
{
	node_open_with(n, id, 0, 0);
}

static void node_close(node *n)
{
	tacws_broker_close(n->b);
	n->b = NULL;
}

static void topic_name(char *out, size_t size, const char *what)
{
	snprintf(out, size, "%s/%s", what, run_id);
}

/* Two nodes, up, and a fresh topic named for the test. */
static void open_pair(node *a, node *b, char *topic, size_t size, const char *what)
{
	topic_name(topic, size, what);
	node_open(a, "node-a");
	node_open(b, "node-b");
}

static void close_pair(node *a, node *b)
{
	node_close(a);
	node_close(b);
}

/* ---- one answer of each kind ---- */

typedef struct answer {
	int done;
	int status;
	uint64_t seq;
	char epoch[TACWS_BROKER_EPOCH_LEN + 1];
	char token[TACWS_BROKER_TOKEN_MAX];
	char data[128];
	size_t n;
	uint64_t offsets[16];
} answer;

static void on_lease(void *arg, int status, const char *token)
{
	answer *a = arg;
	a->done = 1;
	a->status = status;
	snprintf(a->token, sizeof a->token, "%s", token ? token : "");
}

static void on_commit(void *arg, int status, uint64_t seq, const char *epoch)
{
	answer *a = arg;
	a->done = 1;
	a->status = status;
	a->seq = seq;
	snprintf(a->epoch, sizeof a->epoch, "%s", epoch ? epoch : "");
}

static void on_snapshot(void *arg, int status, uint64_t seq, const char *epoch, const char *data,
			size_t len)
{
	answer *a = arg;
	on_commit(arg, status, seq, epoch);
	a->n = len < sizeof a->data ? len : sizeof a->data - 1;
	if (data)
		memcpy(a->data, data, a->n);
	a->data[a->n] = '\0';
}

static void on_history(void *arg, int status, const char *epoch, const tacws_broker_msg *msgs,
		       size_t n)
{
	answer *a = arg;
	on_commit(arg, status, 0, epoch);
	a->n = n;
	a->data[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i < 16)
			a->offsets[i] = msgs[i].seq;
		size_t used = strlen(a->data);
		snprintf(a->data + used, sizeof a->data - used, "%.*s;", (int)msgs[i].len,
			 msgs[i].data);
	}
}

static answer acquire(node *n, const char *topic, unsigned ttl_ms)
{
	answer a = {0};
	CU_ASSERT_EQUAL(tacws_broker_lease_acquire(n->b, topic, ttl_ms, on_lease, &a), 0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

static answer renew(node *n, const char *topic, const char *token)
{
	answer a = {0};
	CU_ASSERT_EQUAL(tacws_broker_lease_renew(n->b, topic, token, 5000, on_lease, &a), 0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

static answer release(node *n, const char *topic, const char *token)
{
	answer a = {0};
	CU_ASSERT_EQUAL(tacws_broker_lease_release(n->b, topic, token, on_lease, &a), 0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

static answer commit(node *n, const char *topic, const char *token, uint64_t base,
		     const char *data)
{
	answer a = {0};
	CU_ASSERT_EQUAL(tacws_broker_commit(n->b, topic, token, base, data, strlen(data),
					    on_commit, &a),
			0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

static answer snapshot(node *n, const char *topic)
{
	answer a = {0};
	CU_ASSERT_EQUAL(tacws_broker_snapshot(n->b, topic, on_snapshot, &a), 0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

static answer event(node *n, const char *topic, const char *data)
{
	answer a = {0};
	CU_ASSERT_EQUAL(
		tacws_broker_event_append(n->b, topic, data, strlen(data), on_commit, &a), 0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

static answer history(node *n, const char *topic, uint64_t since, const char *epoch)
{
	answer a = {0};
	CU_ASSERT_EQUAL(tacws_broker_history(n->b, topic, since, epoch, 100, on_history, &a), 0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

/* Waits until node n has seen at least count messages. */
static int wait_seen(node *n, int count, unsigned timeout_ms)
{
	return run_until_count(&n->n_seen, count, timeout_ms);
}

/* Subscribes n to topic and waits until the subscription is active. */
static void subscribe(node *n, const char *topic)
{
	int before = n->subscribed;
	CU_ASSERT_EQUAL(tacws_broker_subscribe(n->b, topic), 0);
	CU_ASSERT(run_until_count(&n->subscribed, before + 1, 3000));
}

/* A plain synchronous connection for what a test does to the server behind the nodes' back. */
static redisReply *admin(const char *fmt, const char *arg)
{
	redisContext *c = redisConnect(cfg.shards[0].host, cfg.shards[0].port);
	CU_ASSERT_FATAL(c && !c->err);
	redisReply *r = redisCommand(c, fmt, arg);
	redisFree(c);
	return r;
}

/* Waits until the server counts want subscribers on topic's channel (0: none left). */
static int wait_subscribers(const char *topic, long long want, unsigned timeout_ms)
{
	char channel[96];
	snprintf(channel, sizeof channel, "tacws:ch:%s", topic);
	long long end = tacws_test_now_ms() + timeout_ms;
	for (;;) {
		redisReply *r = admin("PUBSUB NUMSUB %s", channel);
		int match = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
			   r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == want;
		freeReplyObject(r);
		if (match)
			return 1;
		if (tacws_test_now_ms() >= end)
			return 0;
		int never = 0;
		run_until(&never, 10);
	}
}

/* ---- the tests ---- */

static void test_config_parse(void)
{
	tacws_broker_config c;
	char err[256];
	CU_ASSERT_EQUAL(tacws_broker_config_parse("redis://10.0.0.1:7000/3", &c, err, sizeof err), 0);
	CU_ASSERT_EQUAL(c.n_shards, 1);
	CU_ASSERT_STRING_EQUAL(c.shards[0].host, "10.0.0.1");
	CU_ASSERT_EQUAL(c.shards[0].port, 7000);
	CU_ASSERT_EQUAL(c.shards[0].db, 3);
	CU_ASSERT_STRING_EQUAL(c.shards[0].password, "");

	CU_ASSERT_EQUAL(tacws_broker_config_parse("redis://:s3cret@a, redis://bob:pw@b:6380", &c, err,
						  sizeof err),
			0);
	CU_ASSERT_EQUAL(c.n_shards, 2);
	CU_ASSERT_STRING_EQUAL(c.shards[0].host, "a");
	CU_ASSERT_EQUAL(c.shards[0].port, 6379);
	CU_ASSERT_STRING_EQUAL(c.shards[0].password, "s3cret");
	CU_ASSERT_STRING_EQUAL(c.shards[0].user, "");
	CU_ASSERT_STRING_EQUAL(c.shards[1].user, "bob");
	CU_ASSERT_STRING_EQUAL(c.shards[1].password, "pw");
	CU_ASSERT_EQUAL(c.shards[1].port, 6380);

	const char *bad[] = {"", "http://a", "redis://", "redis://a:0", "redis://a:70000",
			     "redis://a:12x", "redis://a/x", "redis://a,", "redis://:@a", NULL};
	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(tacws_broker_config_parse(bad[i], &c, err, sizeof err), -EINVAL);
		CU_ASSERT(err[0] != '\0');
	}

	/* Sharding: stable, in range, and it spreads. */
	int hits[4] = {0};
	for (int i = 0; i < 400; i++) {
		char t[32];
		snprintf(t, sizeof t, "feed/%08x", i * 2654435761u);
		unsigned s = tacws_broker_shard_of(t, 4);
		CU_ASSERT(s < 4);
		CU_ASSERT_EQUAL(s, tacws_broker_shard_of(t, 4));
		hits[s]++;
	}
	for (int i = 0; i < 4; i++)
		CU_ASSERT(hits[i] > 50);
	CU_ASSERT_EQUAL(tacws_broker_shard_of("queue", 1), 0);
}

static void test_lease_exclusive(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "lease");

	answer la = acquire(&a, topic, 10000);
	CU_ASSERT_EQUAL(la.status, 0);
	CU_ASSERT(strncmp(la.token, "node-a:", 7) == 0);
	answer lb = acquire(&b, topic, 10000);
	CU_ASSERT_EQUAL(lb.status, TACWS_BROKER_NOT_HOLDER);
	CU_ASSERT_STRING_EQUAL(lb.token, "");

	/* Only the holder's token renews or releases. */
	CU_ASSERT_EQUAL(renew(&b, topic, "node-b:0000000000000000").status, TACWS_BROKER_NOT_HOLDER);
	CU_ASSERT_EQUAL(release(&b, topic, "node-b:0000000000000000").status,
			TACWS_BROKER_NOT_HOLDER);
	CU_ASSERT_EQUAL(renew(&a, topic, la.token).status, 0);
	CU_ASSERT_EQUAL(acquire(&b, topic, 10000).status, TACWS_BROKER_NOT_HOLDER);
	CU_ASSERT_EQUAL(release(&a, topic, la.token).status, 0);

	lb = acquire(&b, topic, 10000);
	CU_ASSERT_EQUAL(lb.status, 0);
	CU_ASSERT(strncmp(lb.token, "node-b:", 7) == 0);
	/* a's old token is worth nothing now. */
	CU_ASSERT_EQUAL(renew(&a, topic, la.token).status, TACWS_BROKER_NOT_HOLDER);
	CU_ASSERT_EQUAL(release(&b, topic, lb.token).status, 0);

	/* Bad input is refused at once, without a callback. */
	answer none = {0};
	CU_ASSERT_EQUAL(tacws_broker_lease_acquire(a.b, "", 1000, on_lease, &none), -EINVAL);
	CU_ASSERT_EQUAL(tacws_broker_lease_acquire(a.b, topic, 0, on_lease, &none), -EINVAL);
	CU_ASSERT_EQUAL(none.done, 0);
	close_pair(&a, &b);
}

/* b retries every 50 ms until the lease a stopped renewing expires. */
typedef struct takeover {
	node *b;
	const char *topic;
	answer last;
	int won;
	uv_timer_t retry;
} takeover;

static void takeover_try(uv_timer_t *t);
static void takeover_answer(void *arg, int status, const char *token)
{
	takeover *k = arg;
	(void)token;
	if (status == 0)
		k->won = 1;
	else
		uv_timer_start(&k->retry, takeover_try, 50, 0);
}

static void takeover_try(uv_timer_t *t)
{
	takeover *k = t->data;
	if (tacws_broker_lease_acquire(k->b->b, k->topic, 5000, takeover_answer, k) != 0)
		uv_timer_start(&k->retry, takeover_try, 50, 0);
}

static void test_lease_expiry_hands_over(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "expiry");
	CU_ASSERT_EQUAL(acquire(&a, topic, 600).status, 0);
	long long t0 = tacws_test_now_ms();

	takeover k = {.b = &b, .topic = topic};
	uv_timer_init(&loop, &k.retry);
	k.retry.data = &k;
	takeover_try(&k.retry);
	CU_ASSERT(run_until(&k.won, 5000));
	long long waited = tacws_test_now_ms() - t0;
	CU_ASSERT(waited >= 500);  /* not before the TTL */
	CU_ASSERT(waited < 3000); /* soon after it (loose: CI machines are busy) */
	uv_close((uv_handle_t *)&k.retry, NULL);
	close_pair(&a, &b);
}

static void test_commit_refuses_stale_and_foreign(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "commit");
	subscribe(&b, topic);
	CU_ASSERT_EQUAL(snapshot(&b, topic).status, TACWS_BROKER_EMPTY);
	answer lease = acquire(&a, topic, 10000);
	CU_ASSERT_EQUAL_FATAL(lease.status, 0);

	/* Without the lease: refused, nothing stored. */
	answer c = commit(&b, topic, "node-b:0000000000000000", 0, "{\"v\":0}");
	CU_ASSERT_EQUAL(c.status, TACWS_BROKER_NOT_HOLDER);
	CU_ASSERT_EQUAL(snapshot(&b, topic).status, TACWS_BROKER_EMPTY);

	/* A fresh topic takes the holder's seq and gets an epoch. */
	c = commit(&a, topic, lease.token, 41, "{\"v\":1}");
	CU_ASSERT_EQUAL(c.status, 0);
	CU_ASSERT_EQUAL(c.seq, 42);
	CU_ASSERT_EQUAL(strlen(c.epoch), TACWS_BROKER_EPOCH_LEN);
	char epoch[TACWS_BROKER_EPOCH_LEN + 1];
	snprintf(epoch, sizeof epoch, "%s", c.epoch);

	answer again = commit(&a, topic, lease.token, 42, "{\"v\":2}");
	CU_ASSERT_EQUAL(again.status, 0);
	CU_ASSERT_EQUAL(again.seq, 43);
	CU_ASSERT_STRING_EQUAL(again.epoch, epoch);

	/* The same base twice (a duplicate) and an older base (a stale poll): refused, with
	 * the stored seq so the node can resynchronise. */
	answer dup = commit(&a, topic, lease.token, 42, "{\"v\":2}");
	CU_ASSERT_EQUAL(dup.status, TACWS_BROKER_STALE);
	CU_ASSERT_EQUAL(dup.seq, 43);
	CU_ASSERT_EQUAL(commit(&a, topic, lease.token, 7, "{\"v\":0}").status, TACWS_BROKER_STALE);

	/* Payloads are bytes: NUL inside, and no NUL after (on the heap, so the sanitizer
	 * build sees a read past the end). */
	char *bytes = malloc(6);
	memcpy(bytes, (char[6]){'a', '\0', 'b', '\n', 'c', 'd'}, 6);
	char *tail = bytes + 2; /* "b\ncd", unterminated */
	char other_topic[64];
	topic_name(other_topic, sizeof other_topic, "commit-bytes");
	answer lo = acquire(&a, other_topic, 10000);
	answer bc = {0};
	CU_ASSERT_EQUAL(tacws_broker_commit(a.b, other_topic, lo.token, 0, bytes, 6, on_commit, &bc),
			0);
	CU_ASSERT(run_until(&bc.done, 3000) && bc.status == 0);
	answer bs = snapshot(&b, other_topic);
	CU_ASSERT_EQUAL(bs.status, 0);
	CU_ASSERT_EQUAL(bs.n, 6);
	CU_ASSERT(memcmp(bs.data, bytes, 6) == 0);
	bc.done = 0;
	CU_ASSERT_EQUAL(tacws_broker_commit(a.b, other_topic, lo.token, 1, tail, 4, on_commit, &bc),
			0);
	CU_ASSERT(run_until(&bc.done, 3000) && bc.status == 0);
	bc.done = 0;
	CU_ASSERT_EQUAL(tacws_broker_event_append(a.b, other_topic, tail, 4, on_commit, &bc), 0);
	CU_ASSERT(run_until(&bc.done, 3000) && bc.status == 0);
	bs = snapshot(&b, other_topic);
	CU_ASSERT(bs.n == 4 && memcmp(bs.data, tail, 4) == 0);
	free(bytes);

	/* The cache, read from any node. */
	answer s = snapshot(&b, topic);
	CU_ASSERT_EQUAL(s.status, 0);
	CU_ASSERT_EQUAL(s.seq, 43);
	CU_ASSERT_STRING_EQUAL(s.epoch, epoch);
	CU_ASSERT_STRING_EQUAL(s.data, "{\"v\":2}");

	/* A lease lost mid-poll: the old holder's write is refused. */
	CU_ASSERT_EQUAL(release(&a, topic, lease.token).status, 0);
	answer lb = acquire(&b, topic, 10000);
	CU_ASSERT_EQUAL(commit(&a, topic, lease.token, 43, "{\"v\":3}").status,
			TACWS_BROKER_NOT_HOLDER);
	CU_ASSERT_EQUAL(commit(&b, topic, lb.token, 43, "{\"v\":3}").seq, 44);

	/* b sees each accepted change once, in order, with the epoch: the channel keeps
	 * order, so the last one arriving means no duplicate of an earlier one is coming. */
	CU_ASSERT(wait_seen(&b, 3, 3000));
	CU_ASSERT_EQUAL(b.n_seen, 3);
	CU_ASSERT_EQUAL(b.seen[2].seq, 44);
	CU_ASSERT_EQUAL(b.seen[0].kind, TACWS_BROKER_CHANGE);
	CU_ASSERT_EQUAL(b.seen[0].seq, 42);
	CU_ASSERT_STRING_EQUAL(b.seen[0].data, "{\"v\":1}");
	CU_ASSERT_STRING_EQUAL(b.seen[0].topic, topic);
	CU_ASSERT_EQUAL(b.seen[1].seq, 43);
	CU_ASSERT_STRING_EQUAL(b.seen[1].epoch, epoch);
	CU_ASSERT_STRING_EQUAL(b.seen[1].data, "{\"v\":2}");
	CU_ASSERT_EQUAL(a.n_seen, 0); /* a did not subscribe */

	/* Unsubscribed: no more deliveries. Once the server has dropped the subscription, a
	 * commit and then an event on a topic b still has: only the event arrives. */
	char other[64];
	topic_name(other, sizeof other, "commit-other");
	subscribe(&b, other);
	CU_ASSERT_EQUAL(tacws_broker_unsubscribe(b.b, topic), 0);
	CU_ASSERT(wait_subscribers(topic, 0, 3000));
	int before = b.n_seen;
	CU_ASSERT_EQUAL(commit(&b, topic, lb.token, 44, "{\"v\":4}").status, 0);
	CU_ASSERT_EQUAL(event(&a, other, "sentinel").status, 0);
	CU_ASSERT(wait_seen(&b, before + 1, 3000));
	CU_ASSERT_EQUAL(b.n_seen, before + 1);
	CU_ASSERT_STRING_EQUAL(b.seen[before].topic, other);

	/* Unsubscribed and subscribed again before the server answered the first: it works. */
	CU_ASSERT_EQUAL(tacws_broker_unsubscribe(b.b, other), 0);
	subscribe(&b, other);
	CU_ASSERT(wait_subscribers(other, 1, 3000));
	before = b.n_seen;
	CU_ASSERT_EQUAL(event(&a, other, "again").status, 0);
	CU_ASSERT(wait_seen(&b, before + 1, 3000));
	CU_ASSERT_STRING_EQUAL(b.seen[before].data, "again");
	close_pair(&a, &b);
}

/* A floor: the next commit is numbered above it, on top of the stored base as before; a
 * lower floor changes nothing. Works on a topic Redis does not store (an empty Redis). */
static void test_seq_floor(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "floor");
	answer lease = acquire(&a, topic, 10000);
	CU_ASSERT_EQUAL_FATAL(lease.status, 0);
	CU_ASSERT_EQUAL(tacws_broker_seq_floor(b.b, topic, 9), 0);
	/* (an answer on b's connection: the floor before it is stored) */
	CU_ASSERT_EQUAL(snapshot(&b, topic).status, TACWS_BROKER_EMPTY);
	answer c = commit(&a, topic, lease.token, 0, "{\"v\":1}");
	CU_ASSERT_EQUAL(c.status, 0);
	CU_ASSERT_EQUAL(c.seq, 10);
	CU_ASSERT_EQUAL(commit(&a, topic, lease.token, 10, "{\"v\":2}").seq, 11);
	CU_ASSERT_EQUAL(tacws_broker_seq_floor(b.b, topic, 20), 0);
	CU_ASSERT_EQUAL(tacws_broker_seq_floor(b.b, topic, 5), 0);
	CU_ASSERT_EQUAL(snapshot(&b, topic).seq, 11);
	/* the base must still be the stored seq */
	CU_ASSERT_EQUAL(commit(&a, topic, lease.token, 20, "{\"v\":3}").status, TACWS_BROKER_STALE);
	c = commit(&a, topic, lease.token, 11, "{\"v\":3}");
	CU_ASSERT_EQUAL(c.status, 0);
	CU_ASSERT_EQUAL(c.seq, 21);
	answer s = snapshot(&b, topic);
	CU_ASSERT_EQUAL(s.seq, 21);
	CU_ASSERT_STRING_EQUAL(s.data, "{\"v\":3}");
	CU_ASSERT_EQUAL(commit(&a, topic, lease.token, 21, "{\"v\":4}").seq, 22);
	CU_ASSERT_EQUAL(tacws_broker_seq_floor(b.b, "", 1), -EINVAL);
	close_pair(&a, &b);
}

/* A change's delta rides with its message, only on top of the stored seq of its epoch. */
static void test_commit_carries_delta(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "delta");
	subscribe(&b, topic);
	answer lease = acquire(&a, topic, 10000);
	CU_ASSERT_EQUAL_FATAL(lease.status, 0);
	answer c = {0};
	/* a new epoch: no base for a delta */
	CU_ASSERT_EQUAL(tacws_broker_commit_delta(a.b, topic, lease.token, 0, "{\"v\":1}", 7, "[x]",
						  3, on_commit, &c),
			0);
	CU_ASSERT(run_until(&c.done, 3000));
	CU_ASSERT_EQUAL(c.seq, 1);
	CU_ASSERT_FATAL(wait_seen(&b, 1, 3000));
	CU_ASSERT_STRING_EQUAL(b.seen[0].data, "{\"v\":1}");
	CU_ASSERT_STRING_EQUAL(b.seen[0].delta, "");
	c = (answer){0};
	static const char patch[] = "[{\"op\":\"replace\",\"path\":\"/v\",\"value\":2}]";
	CU_ASSERT_EQUAL(tacws_broker_commit_delta(a.b, topic, lease.token, 1, "{\"v\":2}", 7, patch,
						  strlen(patch), on_commit, &c),
			0);
	CU_ASSERT(run_until(&c.done, 3000));
	CU_ASSERT_EQUAL(c.seq, 2);
	CU_ASSERT_FATAL(wait_seen(&b, 2, 3000));
	CU_ASSERT_EQUAL(b.seen[1].seq, 2);
	CU_ASSERT_STRING_EQUAL(b.seen[1].data, "{\"v\":2}");
	CU_ASSERT_STRING_EQUAL(b.seen[1].delta, patch);
	CU_ASSERT_STRING_EQUAL(snapshot(&b, topic).data, "{\"v\":2}"); /* not stored */
	/* numbered above a floor: seq - 1 is no state a node had, so no delta */
	CU_ASSERT_EQUAL(tacws_broker_seq_floor(b.b, topic, 5), 0);
	CU_ASSERT_EQUAL(snapshot(&b, topic).seq, 2);
	c = (answer){0};
	CU_ASSERT_EQUAL(tacws_broker_commit_delta(a.b, topic, lease.token, 2, "{\"v\":3}", 7, "[y]",
						  3, on_commit, &c),
			0);
	CU_ASSERT(run_until(&c.done, 3000));
	CU_ASSERT_EQUAL(c.seq, 6);
	CU_ASSERT_FATAL(wait_seen(&b, 3, 3000));
	CU_ASSERT_STRING_EQUAL(b.seen[2].data, "{\"v\":3}");
	CU_ASSERT_STRING_EQUAL(b.seen[2].delta, "");
	close_pair(&a, &b);
}

static void test_events_history(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "events");
	subscribe(&a, topic);
	answer e = {0};
	for (int i = 1; i <= 5; i++) {
		char d[16];
		snprintf(d, sizeof d, "ev%d", i);
		e = event(&b, topic, d); /* any node may append */
		CU_ASSERT_EQUAL(e.status, 0);
		CU_ASSERT_EQUAL(e.seq, (uint64_t)i);
	}
	char epoch[TACWS_BROKER_EPOCH_LEN + 1];
	snprintf(epoch, sizeof epoch, "%s", e.epoch);

	answer h = history(&a, topic, 0, epoch);
	CU_ASSERT_EQUAL(h.status, 0);
	CU_ASSERT_EQUAL(h.n, 5);
	CU_ASSERT_STRING_EQUAL(h.data, "ev1;ev2;ev3;ev4;ev5;");
	CU_ASSERT_EQUAL(h.offsets[0], 1);
	CU_ASSERT_EQUAL(h.offsets[4], 5);
	h = history(&a, topic, 3, epoch);
	CU_ASSERT_EQUAL(h.status, 0);
	CU_ASSERT_STRING_EQUAL(h.data, "ev4;ev5;");
	CU_ASSERT_EQUAL(h.offsets[0], 4);
	h = history(&a, topic, 5, epoch); /* up to date */
	CU_ASSERT_EQUAL(h.status, 0);
	CU_ASSERT_EQUAL(h.n, 0);
	CU_ASSERT_EQUAL(history(&a, topic, 2, "0000000000000000").status, TACWS_BROKER_GAP);
	CU_ASSERT_EQUAL(history(&a, topic, 9, epoch).status, TACWS_BROKER_GAP);

	/* Live delivery of the same events, in order. */
	CU_ASSERT(wait_seen(&a, 5, 3000));
	for (int i = 0; i < 5 && i < a.n_seen; i++) {
		CU_ASSERT_EQUAL(a.seen[i].kind, TACWS_BROKER_EVENT);
		CU_ASSERT_EQUAL(a.seen[i].seq, (uint64_t)i + 1);
	}
	close_pair(&a, &b);
}

static void test_history_trimmed(void)
{
	node a;
	char topic[64];
	topic_name(topic, sizeof topic, "trimmed");
	node_open_with(&a, "node-a", 10, 0);
	answer e = {0};
	for (int i = 1; i <= 400; i++)
		e = event(&a, topic, "x");
	CU_ASSERT_EQUAL(e.seq, 400);
	/* MAXLEN ~ trims whole blocks: the oldest are gone, the newest kept. */
	answer h = history(&a, topic, 0, e.epoch);
	CU_ASSERT_EQUAL(h.status, TACWS_BROKER_GAP);
	CU_ASSERT_EQUAL(h.n, 0);
	h = history(&a, topic, 395, e.epoch);
	CU_ASSERT_EQUAL(h.status, 0);
	CU_ASSERT_EQUAL(h.n, 5);
	CU_ASSERT_EQUAL(h.offsets[0], 396);
	node_close(&a);
}

/* history_ttl_ms: events older than it leave the stream (by Redis's clock); younger ones
 * and the offsets stay. */
static void test_history_age_limit(void)
{
	node a;
	char topic[64];
	topic_name(topic, sizeof topic, "aged");
	next_history_ttl_ms = 400;
	node_open_with(&a, "node-a", 0, 0);
	next_history_ttl_ms = 0;
	answer e = event(&a, topic, "old1");
	event(&a, topic, "old2");
	answer h = history(&a, topic, 0, e.epoch);
	CU_ASSERT_EQUAL(h.status, 0);
	CU_ASSERT_STRING_EQUAL(h.data, "old1;old2;");
	/* the only event here is the age: ask until the history says both are gone (the
	 * second, so the first too: they leave in order) */
	uv_update_time(&loop);
	uint64_t until = uv_now(&loop) + 5000;
	while ((h = history(&a, topic, 1, e.epoch)).status == 0 && uv_now(&loop) < until)
		CU_ASSERT_STRING_EQUAL(h.data, "old2;");
	CU_ASSERT_EQUAL(h.status, TACWS_BROKER_GAP);
	CU_ASSERT_EQUAL(history(&a, topic, 0, e.epoch).status, TACWS_BROKER_GAP);
	answer f = event(&a, topic, "new");
	CU_ASSERT_EQUAL(f.seq, 3);
	CU_ASSERT_STRING_EQUAL(f.epoch, e.epoch);
	h = history(&a, topic, 2, e.epoch);
	CU_ASSERT_EQUAL(h.status, 0);
	CU_ASSERT_STRING_EQUAL(h.data, "new;");
	CU_ASSERT_EQUAL(history(&a, topic, 1, e.epoch).status, TACWS_BROKER_GAP);
	node_close(&a);
}

static void redis_ctl(const char *cmd)
{
	char line[1024];
	snprintf(line, sizeof line, "sh %s %s %s %s >/dev/null", getenv("TACWS_TEST_REDIS_SCRIPT"),
		 cmd, getenv("TACWS_TEST_REDIS_DIR"), getenv("TACWS_TEST_REDIS_PORT"));
	CU_ASSERT_EQUAL_FATAL(system(line), 0);
}

/* Commits one change on a and checks b's subscription delivers it. */
static void check_delivery(node *a, node *b, const char *topic)
{
	answer lease = acquire(a, topic, 10000);
	CU_ASSERT_EQUAL_FATAL(lease.status, 0);
	answer s = snapshot(a, topic);
	uint64_t base = s.status == 0 ? s.seq : 0;
	int before = b->n_seen;
	answer c = commit(a, topic, lease.token, base, "{\"after\":true}");
	CU_ASSERT_EQUAL(c.status, 0);
	CU_ASSERT(wait_seen(b, before + 1, 3000));
	CU_ASSERT_EQUAL(b->seen[before].seq, base + 1);
	CU_ASSERT_EQUAL(release(a, topic, lease.token).status, 0);
}

static void test_redis_restart(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "restart");
	subscribe(&b, topic);
	check_delivery(&a, &b, topic);
	answer before = snapshot(&a, topic);

	redis_ctl("stop");
	CU_ASSERT(run_until(&a.downs, 5000));
	CU_ASSERT(run_until(&b.downs, 5000));
	CU_ASSERT(!tacws_broker_is_up(a.b, 0));
	answer none = {0};
	CU_ASSERT_EQUAL(tacws_broker_snapshot(a.b, topic, on_snapshot, &none), -ENOTCONN);
	/* An outage of some retries (backoff 100, 200, 400 ms): the nodes keep trying. */
	int never = 0;
	run_until(&never, 800);
	a.ups = b.ups = 0;
	redis_ctl("start");
	CU_ASSERT(run_until(&a.ups, 5000));
	CU_ASSERT(run_until(&b.ups, 5000));
	CU_ASSERT_EQUAL(b.subscribed, 2); /* up comes after the topics are subscribed again */

	/* The server lost everything (no persistence): the cache is gone and the next
	 * commit starts a new epoch; b's subscription came back by itself. */
	CU_ASSERT_EQUAL(snapshot(&a, topic).status, TACWS_BROKER_EMPTY);
	check_delivery(&a, &b, topic);
	CU_ASSERT_STRING_NOT_EQUAL(b.seen[b.n_seen - 1].epoch, before.epoch);
	close_pair(&a, &b);
}

static void test_killed_subscription(void)
{
	node a, b;
	char topic[64];
	open_pair(&a, &b, topic, sizeof topic, "killed");
	subscribe(&b, topic);
	redisReply *r = admin("CLIENT KILL TYPE %s", "pubsub");
	CU_ASSERT(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 2);
	freeReplyObject(r);
	CU_ASSERT(run_until(&a.downs, 3000)); /* both nodes' subscriptions were killed */
	CU_ASSERT(run_until(&b.downs, 3000));
	a.ups = b.ups = 0;
	CU_ASSERT(run_until(&a.ups, 5000));
	CU_ASSERT(run_until(&b.ups, 5000));
	CU_ASSERT_EQUAL(b.subscribed, 2);
	check_delivery(&a, &b, topic);
	tacws_broker_stats st;
	tacws_broker_get_stats(b.b, &st);
	CU_ASSERT_EQUAL(st.shards, 1);
	CU_ASSERT_EQUAL(st.shards_up, 1);
	CU_ASSERT_EQUAL(st.subscriptions, 1);
	CU_ASSERT_EQUAL(st.links_lost, 1);
	CU_ASSERT_EQUAL(st.probe_failures, 0); /* a closed socket, seen as such */
	CU_ASSERT_EQUAL(st.messages, (uint64_t)b.n_seen);
	close_pair(&a, &b);
}

/* A subscription that goes silent while its socket stays open: only the probe sees it. */
static void test_probe_detects_silent_subscription(void)
{
	node a, b;
	char topic[64];
	topic_name(topic, sizeof topic, "silent");
	node_open_with(&a, "node-a", 0, 200);
	node_open_with(&b, "node-b", 0, 200);
	subscribe(&b, topic);
	redisReply *r = admin("CLIENT PAUSE 4000 %s", "ALL");
	CU_ASSERT(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	long long t0 = tacws_test_now_ms();
	CU_ASSERT(run_until(&b.downs, 3000));
	CU_ASSERT(tacws_test_now_ms() - t0 < 3000); /* by the probe, before the pause ends */
	CU_ASSERT(run_until(&a.downs, 3000));
	a.ups = b.ups = 0;
	CU_ASSERT(run_until(&b.ups, 8000));
	CU_ASSERT(run_until(&a.ups, 8000));
	tacws_broker_stats st;
	tacws_broker_get_stats(b.b, &st);
	CU_ASSERT(st.probe_failures >= 1);
	CU_ASSERT_EQUAL(st.links_lost, st.probe_failures);
	CU_ASSERT_EQUAL(b.subscribed, 2);
	check_delivery(&a, &b, topic);
	close_pair(&a, &b);
}

static int suite_init(void)
{
	const char *url = getenv("TACWS_TEST_REDIS_URL");
	char err[256];
	if (!url || tacws_broker_config_parse(url, &cfg, err, sizeof err) != 0)
		return 1;
	snprintf(run_id, sizeof run_id, "%d-%lld", (int)getpid(), tacws_test_now_ms());
	return uv_loop_init(&loop);
}

/* Every broker closed and freed: the loop ends with no handle left. */
static int suite_cleanup(void)
{
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : 1;
}

static void test_closed_cleanly(void)
{
	node a;
	node_open(&a, "node-a");
	answer pending = {0};
	char topic[64];
	topic_name(topic, sizeof topic, "closing");
	CU_ASSERT_EQUAL(tacws_broker_snapshot(a.b, topic, on_snapshot, &pending), 0);
	node_close(&a); /* the pending request is cancelled */
	CU_ASSERT(pending.done);
	CU_ASSERT_EQUAL(pending.status, -ECANCELED);
	uv_run(&loop, UV_RUN_DEFAULT);
	CU_ASSERT_EQUAL(uv_loop_alive(&loop), 0);
}

/* Closing from inside a broker callback, with another request pending behind it. */
typedef struct close_in_cb {
	node *n;
	answer first, second;
} close_in_cb;

static void close_on_answer(void *arg, int status, uint64_t seq, const char *epoch,
			    const char *data, size_t len)
{
	close_in_cb *c = arg;
	on_snapshot(&c->first, status, seq, epoch, data, len);
	node_close(c->n);
}

static void second_answer(void *arg, int status, uint64_t seq, const char *epoch,
			  const char *data, size_t len)
{
	on_snapshot(&((close_in_cb *)arg)->second, status, seq, epoch, data, len);
}

static void test_close_from_callback(void)
{
	node a;
	node_open(&a, "node-a");
	close_in_cb c = {.n = &a};
	char topic[64];
	topic_name(topic, sizeof topic, "close-in-cb");
	CU_ASSERT_EQUAL(tacws_broker_snapshot(a.b, topic, close_on_answer, &c), 0);
	CU_ASSERT_EQUAL(tacws_broker_snapshot(a.b, topic, second_answer, &c), 0);
	CU_ASSERT(run_until(&c.second.done, 3000));
	CU_ASSERT_EQUAL(c.first.status, TACWS_BROKER_EMPTY);
	/* Answered by the server already, or cancelled by the close: either way exactly once. */
	CU_ASSERT(c.second.status == TACWS_BROKER_EMPTY || c.second.status == -ECANCELED);
	uv_run(&loop, UV_RUN_DEFAULT);
	CU_ASSERT_EQUAL(uv_loop_alive(&loop), 0);
}

/* A refused AUTH keeps the link down (and retrying) without harm. */
static void test_bad_password_stays_down(void)
{
	tacws_broker_config saved = cfg;
	snprintf(cfg.shards[0].password, sizeof cfg.shards[0].password, "wrong");
	node a;
	memset(&a, 0, sizeof a);
	tacws_broker_options opt = {.node_id = "node-a", .on_state = node_state, .arg = &a};
	a.b = tacws_broker_redis_open(&loop, &cfg, &opt);
	cfg = saved;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.b);
	CU_ASSERT(!run_until(&a.ups, 1000));
	CU_ASSERT(!tacws_broker_is_up(a.b, 0));
	node_close(&a);
	uv_run(&loop, UV_RUN_DEFAULT);

	opt.node_id = "bad id with spaces";
	CU_ASSERT_PTR_NULL(tacws_broker_redis_open(&loop, &cfg, &opt));
}

/* Two shards (two databases of the one server, so two sets of connections): each topic's
 * keys live on the shard tacws_broker_shard_of names, and both shards deliver. */
static void test_two_shards(void)
{
	char url[256], err[256];
	snprintf(url, sizeof url, "%s/1, %s/2", getenv("TACWS_TEST_REDIS_URL"),
		 getenv("TACWS_TEST_REDIS_URL"));
	tacws_broker_config saved = cfg;
	CU_ASSERT_EQUAL_FATAL(tacws_broker_config_parse(url, &cfg, err, sizeof err), 0);
	node a, b;
	char topics[2][64];
	int found[2] = {0};
	for (int i = 0; !(found[0] && found[1]) && i < 64; i++) {
		char t[64];
		snprintf(t, sizeof t, "shard%d/%s", i, run_id);
		unsigned s = tacws_broker_shard_of(t, 2);
		if (!found[s]) {
			snprintf(topics[s], sizeof topics[s], "%s", t);
			found[s] = 1;
		}
	}
	CU_ASSERT_FATAL(found[0] && found[1]);
	node_open(&a, "node-a");
	node_open(&b, "node-b");
	CU_ASSERT_EQUAL(a.ups, 2); /* once per shard */
	CU_ASSERT(tacws_broker_is_up(a.b, 1));
	for (int s = 0; s < 2; s++) {
		subscribe(&b, topics[s]);
		check_delivery(&a, &b, topics[s]);
		CU_ASSERT_STRING_EQUAL(b.seen[b.n_seen - 1].topic, topics[s]);
	}
	/* The keys are where the hash says: database 1 for shard 0, 2 for shard 1. */
	redisContext *c = redisConnect(cfg.shards[0].host, cfg.shards[0].port);
	CU_ASSERT_FATAL(c && !c->err);
	for (int s = 0; s < 2; s++) {
		for (int db = 1; db <= 2; db++) {
			redisReply *r = redisCommand(c, "SELECT %d", db);
			freeReplyObject(r);
			r = redisCommand(c, "EXISTS tacws:{%s}:snap", topics[s]);
			CU_ASSERT(r && r->type == REDIS_REPLY_INTEGER);
			if (r)
				CU_ASSERT_EQUAL(r->integer, db == s + 1);
			freeReplyObject(r);
		}
	}
	redisFree(c);
	close_pair(&a, &b);
	cfg = saved;
}

/* ---- the node registry ---- */

typedef struct nodes_answer {
	int done, status;
	size_t n;
	char ids[8][TACWS_BROKER_NODE_ID_MAX];
} nodes_answer;

static void on_nodes(void *arg, int status, const char *const *ids, size_t n)
{
	nodes_answer *a = arg;
	a->done = 1;
	a->status = status;
	a->n = n;
	for (size_t i = 0; i < n && i < 8; i++)
		snprintf(a->ids[i], sizeof a->ids[i], "%s", ids[i]);
}

static nodes_answer read_nodes(node *n, unsigned window_ms, unsigned max)
{
	nodes_answer a = {0};
	CU_ASSERT_EQUAL(tacws_broker_nodes(n->b, window_ms, max, on_nodes, &a), 0);
	CU_ASSERT(run_until(&a.done, 3000));
	return a;
}

static int lists(const nodes_answer *a, const char *id)
{
	for (size_t i = 0; i < a->n && i < 8; i++)
		if (!strcmp(a->ids[i], id))
			return 1;
	return 0;
}

/* Reads node a's registry every 50 ms until id is gone from it. */
typedef struct gone_watch {
	node *a;
	const char *id;
	unsigned window_ms;
	nodes_answer last;
	int pending, gone;
	uv_timer_t every;
} gone_watch;

static void gone_answer(void *arg, int status, const char *const *ids, size_t n)
{
	gone_watch *w = arg;
	w->pending = 0;
	on_nodes(&w->last, status, ids, n);
	if (status == 0 && !lists(&w->last, w->id))
		w->gone = 1;
}

static void gone_tick(uv_timer_t *t)
{
	gone_watch *w = t->data;
	if (!w->pending && !w->gone &&
	    tacws_broker_nodes(w->a->b, w->window_ms, TACWS_BROKER_NODES_MAX, gone_answer, w) == 0)
		w->pending = 1;
}

/* Each node records itself and reads the others seen within the window, never itself; a
 * node that stops calling is forgotten once the window passed since its last call. */
static void test_node_registry(void)
{
	node a, b;
	char ida[48], idb[48];
	snprintf(ida, sizeof ida, "reg-a-%s", run_id);
	snprintf(idb, sizeof idb, "reg-b-%s", run_id);
	node_open(&a, ida);
	node_open(&b, idb);
	nodes_answer r = read_nodes(&a, 1000, 1024);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_FALSE(lists(&r, ida));
	r = read_nodes(&b, 1000, 1024);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_TRUE(lists(&r, ida));
	CU_ASSERT_FALSE(lists(&r, idb));
	r = read_nodes(&a, 1000, 1024);
	CU_ASSERT_TRUE(lists(&r, idb));
	CU_ASSERT_FALSE(lists(&r, ida));
	r = read_nodes(&a, 1000, 1); /* the cap: b is the most recent other */
	CU_ASSERT_EQUAL(r.n, 1);
	CU_ASSERT_STRING_EQUAL(r.ids[0], idb);
	CU_ASSERT_EQUAL(tacws_broker_nodes(a.b, 1000, 0, on_nodes, &r), -EINVAL);
	CU_ASSERT_EQUAL(tacws_broker_nodes(a.b, 1000, TACWS_BROKER_NODES_MAX + 1, on_nodes, &r),
			-EINVAL);
	CU_ASSERT_EQUAL(tacws_broker_nodes(a.b, 0, 10, on_nodes, &r), -EINVAL);

	/* b stops: a, calling on, stops listing it after the window, not before */
	long long t0 = tacws_test_now_ms();
	node_close(&b);
	gone_watch w = {.a = &a, .id = idb, .window_ms = 1000};
	uv_timer_init(&loop, &w.every);
	w.every.data = &w;
	uv_timer_start(&w.every, gone_tick, 0, 50);
	CU_ASSERT(run_until(&w.gone, 4000));
	long long waited = tacws_test_now_ms() - t0;
	CU_ASSERT(waited >= 900); /* b's last call came just before t0 */
	CU_ASSERT(waited < 3000);
	uv_close((uv_handle_t *)&w.every, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	while (w.pending) /* the last read's answer: the broker answers each once */
		uv_run(&loop, UV_RUN_ONCE);
	node_close(&a);
}

int main(void)
{
	static const tacws_test_case cases[] = {
		{"config_parse", test_config_parse},
		{"lease_exclusive", test_lease_exclusive},
		{"lease_expiry_hands_over", test_lease_expiry_hands_over},
		{"commit_refuses_stale_and_foreign", test_commit_refuses_stale_and_foreign},
		{"seq_floor", test_seq_floor},
		{"commit_carries_delta", test_commit_carries_delta},
		{"events_history", test_events_history},
		{"history_trimmed", test_history_trimmed},
		{"history_age_limit", test_history_age_limit},
		{"killed_subscription", test_killed_subscription},
		{"probe_detects_silent_subscription", test_probe_detects_silent_subscription},
		{"redis_restart", test_redis_restart},
		{"closed_cleanly", test_closed_cleanly},
		{"two_shards", test_two_shards},
		{"node_registry", test_node_registry},
		{"close_from_callback", test_close_from_callback},
		{"bad_password_stays_down", test_bad_password_stays_down},
		{NULL, NULL},
	};
	return tacws_test_run("broker", suite_init, suite_cleanup, cases);
}
