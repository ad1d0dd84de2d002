/* broker-bench: what one Redis gives a tacws cluster, measured through core/broker.h.
 *   broker-bench --redis redis://127.0.0.1:PORT [--messages N] [--leases N] [--events N]
 * 1. commit + deliver: one publisher node commits N changes of 1 KiB (up to 64 in flight),
 *    two subscriber nodes receive them; messages/s until both have all of them.
 * 2. leases: N acquires (SET NX PX) on distinct topics, then N renews (script); ops/s.
 * 3. history: N events of 1 KiB and of 100 B on one topic; MEMORY USAGE of its stream.
 * Redis's own CPU (INFO cpu) is reported per phase. Loopback, bounded: every phase has a
 * deadline. Exit 0 when every phase completed. */
#include "broker.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define WINDOW 64
#define PHASE_DEADLINE_MS 60000

static uv_loop_t loop;
static tacws_broker_config cfg;

typedef struct node {
	tacws_broker *b;
	int up;
	long received;
} node;

static void on_state(void *arg, unsigned shard, int up)
{
	(void)shard;
	((node *)arg)->up = up;
}

static void on_message(void *arg, const tacws_broker_msg *m)
{
	(void)m;
	((node *)arg)->received++;
}

static int node_open(node *n, const char *id, unsigned history_max)
{
	tacws_broker_options opt = {.node_id = id,
				    .history_max = history_max,
				    .on_state = on_state,
				    .on_message = on_message,
				    .arg = n};
	n->b = tacws_broker_redis_open(&loop, &cfg, &opt);
	if (!n->b)
		return -1;
	uint64_t end = uv_now(&loop) + 5000;
	while (!n->up && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	return n->up ? 0 : -1;
}

/* Runs the loop until *done or the phase deadline; 0 when done. */
static int run_until(const int *done)
{
	uint64_t end = uv_now(&loop) + PHASE_DEADLINE_MS;
	while (!*done && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	return *done ? 0 : -1;
}

static double now_s(void)
{
	return (double)uv_hrtime() / 1e9;
}

/* Redis's CPU seconds so far (user + sys), from INFO cpu. */
static double redis_cpu(void)
{
	redisContext *c = redisConnect(cfg.shards[0].host, cfg.shards[0].port);
	double cpu = -1;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "INFO cpu");
		if (r && r->type == REDIS_REPLY_STRING) {
			const char *u = strstr(r->str, "used_cpu_user:");
			const char *s = strstr(r->str, "used_cpu_sys:");
			if (u && s)
				cpu = atof(u + 14) + atof(s + 13);
		}
		freeReplyObject(r);
	}
	redisFree(c);
	return cpu;
}

/* ---- 1. commit + deliver ---- */

typedef struct pub {
	node *n;
	const char *topic;
	char token[TACWS_BROKER_TOKEN_MAX];
	const char *payload;
	size_t len;
	long total, sent, acked, failed;
	int got_lease;
} pub;

static void pub_fill(pub *p);
static void on_committed(void *arg, int status, uint64_t seq, const char *epoch)
{
	pub *p = arg;
	(void)seq;
	(void)epoch;
	p->acked++;
	if (status != 0)
		p->failed++;
	pub_fill(p);
}

/* Keeps WINDOW commits in flight: the server runs them in order, so base k, k+1, ... */
static void pub_fill(pub *p)
{
	while (p->sent < p->total && p->sent - p->acked < WINDOW) {
		if (tacws_broker_commit(p->n->b, p->topic, p->token, (uint64_t)p->sent, p->payload,
					p->len, on_committed, p) != 0) {
			p->failed++;
			p->acked++;
		}
		p->sent++;
	}
}

static void on_bench_lease(void *arg, int status, const char *token)
{
	pub *p = arg;
	if (status == 0)
		snprintf(p->token, sizeof p->token, "%s", token);
	p->got_lease = status == 0 ? 1 : -1;
}

static int bench_commit(long n, const char *run)
{
	node pubn = {0}, s1 = {0}, s2 = {0};
	char topic[64];
	snprintf(topic, sizeof topic, "bench/commit/%s", run);
	if (node_open(&pubn, "bench-pub", 0) || node_open(&s1, "bench-sub1", 0) ||
	    node_open(&s2, "bench-sub2", 0))
		return -1;
	tacws_broker_subscribe(s1.b, topic);
	tacws_broker_subscribe(s2.b, topic);
	char *payload = malloc(1024);
	memset(payload, 'x', 1024);
	pub p = {.n = &pubn, .topic = topic, .payload = payload, .len = 1024, .total = n};
	tacws_broker_lease_acquire(pubn.b, topic, 600000, on_bench_lease, &p);
	run_until(&p.got_lease);
	/* Let the SUBSCRIBEs land before the first commit. */
	uint64_t settle = uv_now(&loop) + 200;
	while (uv_now(&loop) < settle)
		uv_run(&loop, UV_RUN_NOWAIT);
	double cpu0 = redis_cpu(), t0 = now_s();
	pub_fill(&p);
	int all = 0;
	uint64_t end = uv_now(&loop) + PHASE_DEADLINE_MS;
	while (!all && uv_now(&loop) < end) {
		uv_run(&loop, UV_RUN_ONCE);
		all = p.acked == n && s1.received >= n && s2.received >= n;
	}
	double dt = now_s() - t0, cpu = redis_cpu() - cpu0;
	printf("commit+deliver: %ld commits of 1 KiB, 2 subscriber nodes: %.2f s, %.0f commits/s, "
	       "%.0f deliveries/s; refused %ld; redis CPU %.2f s (%.0f%%)\n",
	       n, dt, n / dt, 2 * n / dt, p.failed, cpu, 100 * cpu / dt);
	free(payload);
	tacws_broker_close(pubn.b);
	tacws_broker_close(s1.b);
	tacws_broker_close(s2.b);
	return all && !p.failed ? 0 : -1;
}

/* ---- 2. leases ---- */

typedef struct leases {
	node *n;
	const char *run;
	long total, sent, acked, failed;
	int renewing;
	char (*tokens)[TACWS_BROKER_TOKEN_MAX];
} leases;

typedef struct lease_req {
	leases *l;
	long i;
} lease_req;

static void leases_fill(leases *l);
static void on_lease_done(void *arg, int status, const char *token)
{
	lease_req *q = arg;
	leases *l = q->l;
	if (status != 0)
		l->failed++;
	else if (token)
		snprintf(l->tokens[q->i], TACWS_BROKER_TOKEN_MAX, "%s", token);
	free(q);
	l->acked++;
	leases_fill(l);
}

static void leases_fill(leases *l)
{
	while (l->sent < l->total && l->sent - l->acked < WINDOW) {
		char topic[96];
		snprintf(topic, sizeof topic, "bench/lease/%s/%ld", l->run, l->sent);
		lease_req *q = malloc(sizeof *q);
		q->l = l;
		q->i = l->sent;
		int rc = l->renewing ? tacws_broker_lease_renew(l->n->b, topic, l->tokens[l->sent],
								 30000, on_lease_done, q)
				     : tacws_broker_lease_acquire(l->n->b, topic, 30000,
								   on_lease_done, q);
		if (rc != 0) {
			free(q);
			l->failed++;
			l->acked++;
		}
		l->sent++;
	}
}

static int bench_leases(long n, const char *run)
{
	node nd = {0};
	if (node_open(&nd, "bench-lease", 0))
		return -1;
	leases l = {.n = &nd, .run = run, .total = n};
	l.tokens = calloc((size_t)n, sizeof *l.tokens);
	int rc = 0;
	for (int phase = 0; phase < 2; phase++) {
		l.renewing = phase;
		l.sent = l.acked = l.failed = 0;
		double cpu0 = redis_cpu(), t0 = now_s();
		leases_fill(&l);
		int done = 0;
		uint64_t end = uv_now(&loop) + PHASE_DEADLINE_MS;
		while (!done && uv_now(&loop) < end) {
			uv_run(&loop, UV_RUN_ONCE);
			done = l.acked == n;
		}
		double dt = now_s() - t0, cpu = redis_cpu() - cpu0;
		printf("leases %s: %ld on distinct topics: %.2f s, %.0f/s; failed %ld; redis CPU "
		       "%.2f s\n",
		       phase ? "renew (script)" : "acquire (SET NX PX)", n, dt, n / dt, l.failed,
		       cpu);
		if (!done || l.failed)
			rc = -1;
	}
	free(l.tokens);
	tacws_broker_close(nd.b);
	return rc;
}

/* ---- 3. history memory ---- */

typedef struct appender {
	node *n;
	const char *topic;
	const char *payload;
	size_t len;
	long total, sent, acked, failed;
} appender;

static void append_fill(appender *a);
static void on_appended(void *arg, int status, uint64_t seq, const char *epoch)
{
	appender *a = arg;
	(void)seq;
	(void)epoch;
	if (status != 0)
		a->failed++;
	a->acked++;
	append_fill(a);
}

static void append_fill(appender *a)
{
	while (a->sent < a->total && a->sent - a->acked < WINDOW) {
		if (tacws_broker_event_append(a->n->b, a->topic, a->payload, a->len, on_appended,
					      a) != 0) {
			a->failed++;
			a->acked++;
		}
		a->sent++;
	}
}

static int bench_history(long n, size_t len, const char *run)
{
	node nd = {0};
	if (node_open(&nd, "bench-hist", (unsigned)n))
		return -1;
	char topic[96];
	snprintf(topic, sizeof topic, "bench/hist/%zu/%s", len, run);
	char *payload = malloc(len);
	memset(payload, 'y', len);
	appender a = {.n = &nd, .topic = topic, .payload = payload, .len = len, .total = n};
	double t0 = now_s();
	append_fill(&a);
	int done = 0;
	uint64_t end = uv_now(&loop) + PHASE_DEADLINE_MS;
	while (!done && uv_now(&loop) < end) {
		uv_run(&loop, UV_RUN_ONCE);
		done = a.acked == n;
	}
	double dt = now_s() - t0;
	char key[160];
	snprintf(key, sizeof key, "tacws:{%s}:hist", topic);
	redisContext *c = redisConnect(cfg.shards[0].host, cfg.shards[0].port);
	redisReply *r = c && !c->err ? redisCommand(c, "MEMORY USAGE %s SAMPLES 0", key) : NULL;
	redisReply *xl = c && !c->err ? redisCommand(c, "XLEN %s", key) : NULL;
	long long mem = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	long long kept = xl && xl->type == REDIS_REPLY_INTEGER ? xl->integer : -1;
	printf("history: %ld events of %zu B appended in %.2f s (%.0f/s); stream keeps %lld, "
	       "MEMORY USAGE %lld B (%.0f B per event, %.2f x payload)\n",
	       n, len, dt, n / dt, kept, mem, kept > 0 ? (double)mem / (double)kept : 0,
	       kept > 0 ? (double)mem / (double)kept / (double)len : 0);
	freeReplyObject(r);
	freeReplyObject(xl);
	redisFree(c);
	free(payload);
	tacws_broker_close(nd.b);
	return done && !a.failed && mem > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	long messages = 20000, n_leases = 20000, events = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--redis") && i + 1 < argc)
			url = argv[++i];
		else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
			messages = atol(argv[++i]);
		else if (!strcmp(argv[i], "--leases") && i + 1 < argc)
			n_leases = atol(argv[++i]);
		else if (!strcmp(argv[i], "--events") && i + 1 < argc)
			events = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: %s --redis redis://HOST:PORT [--messages N] "
					"[--leases N] [--events N]\n",
				argv[0]);
			return 2;
		}
	}
	char err[256];
	if (!url || tacws_broker_config_parse(url, &cfg, err, sizeof err) != 0 ||
	    messages < 1 || messages > 1000000 || n_leases < 1 || n_leases > 1000000 ||
	    events < 1 || events > 1000000) {
		fprintf(stderr, "%s: --redis URL and counts 1..1000000 needed\n", argv[0]);
		return 2;
	}
	char run[32];
	snprintf(run, sizeof run, "%d", (int)getpid());
	uv_loop_init(&loop);
	int rc = 0;
	rc |= bench_commit(messages, run);
	rc |= bench_leases(n_leases, run);
	rc |= bench_history(events, 1024, run);
	rc |= bench_history(events, 100, run);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return rc ? 1 : 0;
}
