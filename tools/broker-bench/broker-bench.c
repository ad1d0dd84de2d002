/* broker-bench: what one Redis gives a tacws cluster, measured through core/broker.h.
 *   broker-bench --redis redis://127.0.0.1:PORT [--messages N] [--leases N] [--events N]
 *                [--subscribers S]
 * 1. commit + deliver: one publisher node commits N changes of 1 KiB (up to 64 in flight),
 *    S subscriber nodes (2) receive them; messages/s until all have all of them.
 * 2. leases: N acquires (SET NX PX) on distinct topics, then N renews (script); ops/s.
 * 3. history: N events of 1 KiB and of 100 B on one topic; MEMORY USAGE of its stream.
 * Redis's own CPU (INFO cpu) is reported per phase. Loopback, bounded: every phase has a
 * deadline. Exit 0 when every phase completed. */
#include "broker.h"

#include <errno.h>
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

/* N requests, WINDOW in flight: the server runs one connection's in order, so commit k
 * can be sent before commit k-1 is answered. */
typedef struct pipeline {
	long total, sent, acked, failed;
	int (*send)(struct pipeline *p, long i); /* starts request i; 0 or a negative errno */
	node *n;
	const char *topic;
	const char *payload;
	size_t len;
	char token[TACWS_BROKER_TOKEN_MAX];
	char (*tokens)[TACWS_BROKER_TOKEN_MAX]; /* leases: one per topic */
	int renewing;
	const char *run;
} pipeline;

static void pipeline_fill(pipeline *p)
{
	while (p->sent < p->total && p->sent - p->acked < WINDOW) {
		if (p->send(p, p->sent) != 0) {
			p->failed++;
			p->acked++;
		}
		p->sent++;
	}
}

static void pipeline_answer(pipeline *p, int status)
{
	if (status != 0)
		p->failed++;
	p->acked++;
	pipeline_fill(p);
}

static void on_pipe_commit(void *arg, int status, uint64_t seq, const char *epoch)
{
	(void)seq;
	(void)epoch;
	pipeline_answer(arg, status);
}

/* Runs the pipeline (and the loop) until every request is answered and, when subs is
 * given, each of n_subs nodes got total messages. Returns seconds taken, or -1. */
static double pipeline_run(pipeline *p, node **subs, int n_subs)
{
	p->sent = p->acked = p->failed = 0;
	double t0 = now_s();
	pipeline_fill(p);
	uint64_t end = uv_now(&loop) + PHASE_DEADLINE_MS;
	for (;;) {
		int done = p->acked == p->total;
		for (int i = 0; i < n_subs; i++)
			done = done && subs[i]->received >= p->total;
		if (done)
			return now_s() - t0;
		if (uv_now(&loop) >= end)
			return -1;
		uv_run(&loop, UV_RUN_ONCE);
	}
}

/* ---- 1. commit + deliver ---- */

static int send_commit(pipeline *p, long i)
{
	return tacws_broker_commit(p->n->b, p->topic, p->token, (uint64_t)i, p->payload, p->len,
				   on_pipe_commit, p);
}

static void on_bench_lease(void *arg, int status, const char *token)
{
	pipeline *p = arg;
	if (status == 0)
		snprintf(p->token, sizeof p->token, "%s", token);
	p->acked = 1;
}

#define MAX_SUBSCRIBERS 32

static int bench_commit(long n, int n_subs, const char *run)
{
	node pubn = {0}, subs[MAX_SUBSCRIBERS] = {{0}};
	node *sub_ptrs[MAX_SUBSCRIBERS];
	char topic[64];
	snprintf(topic, sizeof topic, "bench/commit/%s", run);
	if (node_open(&pubn, "bench-pub", 0))
		return -1;
	for (int i = 0; i < n_subs; i++) {
		char id[32];
		snprintf(id, sizeof id, "bench-sub%d", i + 1);
		if (node_open(&subs[i], id, 0))
			return -1;
		tacws_broker_subscribe(subs[i].b, topic);
		sub_ptrs[i] = &subs[i];
	}
	char *payload = malloc(1024);
	memset(payload, 'x', 1024);
	pipeline p = {.total = 1, .send = send_commit, .n = &pubn, .topic = topic,
		      .payload = payload, .len = 1024};
	tacws_broker_lease_acquire(pubn.b, topic, 600000, on_bench_lease, &p);
	/* The lease, and time for the SUBSCRIBEs to land before the first commit. */
	uint64_t settle = uv_now(&loop) + 200;
	while (!p.acked || uv_now(&loop) < settle)
		uv_run(&loop, UV_RUN_NOWAIT);
	p.total = n;
	double cpu0 = redis_cpu();
	double dt = pipeline_run(&p, sub_ptrs, n_subs);
	double cpu = redis_cpu() - cpu0;
	printf("commit+deliver: %ld commits of 1 KiB, %d subscriber nodes: %.2f s, %.0f commits/s, "
	       "%.0f deliveries/s; refused %ld; redis CPU %.2f s (%.0f%%)\n",
	       n, n_subs, dt, n / dt, n_subs * n / dt, p.failed, cpu, 100 * cpu / dt);
	free(payload);
	tacws_broker_close(pubn.b);
	for (int i = 0; i < n_subs; i++)
		tacws_broker_close(subs[i].b);
	return dt > 0 && !p.failed ? 0 : -1;
}

/* ---- 2. leases ---- */

typedef struct lease_req {
	pipeline *p;
	long i;
} lease_req;

static void on_pipe_lease(void *arg, int status, const char *token)
{
	lease_req *q = arg;
	pipeline *p = q->p;
	if (status == 0 && token)
		snprintf(p->tokens[q->i], TACWS_BROKER_TOKEN_MAX, "%s", token);
	free(q);
	pipeline_answer(p, status);
}

static int send_lease(pipeline *p, long i)
{
	char topic[96];
	snprintf(topic, sizeof topic, "bench/lease/%s/%ld", p->run, i);
	lease_req *q = malloc(sizeof *q);
	if (!q)
		return -ENOMEM;
	*q = (lease_req){.p = p, .i = i};
	int rc = p->renewing ? tacws_broker_lease_renew(p->n->b, topic, p->tokens[i], 30000,
							on_pipe_lease, q)
			     : tacws_broker_lease_acquire(p->n->b, topic, 30000, on_pipe_lease, q);
	if (rc)
		free(q);
	return rc;
}

static int bench_leases(long n, const char *run)
{
	node nd = {0};
	if (node_open(&nd, "bench-lease", 0))
		return -1;
	pipeline p = {.total = n, .send = send_lease, .n = &nd, .run = run};
	p.tokens = calloc((size_t)n, sizeof *p.tokens);
	int rc = 0;
	for (p.renewing = 0; p.renewing < 2; p.renewing++) {
		double cpu0 = redis_cpu();
		double dt = pipeline_run(&p, NULL, 0);
		double cpu = redis_cpu() - cpu0;
		printf("leases %s: %ld on distinct topics: %.2f s, %.0f/s; failed %ld; redis CPU "
		       "%.2f s\n",
		       p.renewing ? "renew (script)" : "acquire (SET NX PX)", n, dt, n / dt, p.failed,
		       cpu);
		if (dt < 0 || p.failed)
			rc = -1;
	}
	free(p.tokens);
	tacws_broker_close(nd.b);
	return rc;
}

/* ---- 3. history memory ---- */

static int send_event(pipeline *p, long i)
{
	(void)i;
	return tacws_broker_event_append(p->n->b, p->topic, p->payload, p->len, on_pipe_commit, p);
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
	pipeline p = {.total = n, .send = send_event, .n = &nd, .topic = topic,
		      .payload = payload, .len = len};
	double dt = pipeline_run(&p, NULL, 0);
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
	return dt > 0 && !p.failed && mem > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	long messages = 20000, n_leases = 20000, events = 1000, subscribers = 2;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--redis") && i + 1 < argc)
			url = argv[++i];
		else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
			messages = atol(argv[++i]);
		else if (!strcmp(argv[i], "--leases") && i + 1 < argc)
			n_leases = atol(argv[++i]);
		else if (!strcmp(argv[i], "--events") && i + 1 < argc)
			events = atol(argv[++i]);
		else if (!strcmp(argv[i], "--subscribers") && i + 1 < argc)
			subscribers = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: %s --redis redis://HOST:PORT [--messages N] "
					"[--leases N] [--events N] [--subscribers 1..32]\n",
				argv[0]);
			return 2;
		}
	}
	char err[256];
	if (!url || tacws_broker_config_parse(url, &cfg, err, sizeof err) != 0 ||
	    messages < 1 || messages > 1000000 || n_leases < 1 || n_leases > 1000000 ||
	    events < 1 || events > 1000000 || subscribers < 1 || subscribers > MAX_SUBSCRIBERS) {
		fprintf(stderr, "%s: --redis URL, counts 1..1000000, subscribers 1..32\n", argv[0]);
		return 2;
	}
	char run[32];
	snprintf(run, sizeof run, "%d", (int)getpid());
	uv_loop_init(&loop);
	int rc = 0;
	rc |= bench_commit(messages, (int)subscribers, run);
	rc |= bench_leases(n_leases, run);
	rc |= bench_history(events, 1024, run);
	rc |= bench_history(events, 100, run);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return rc ? 1 : 0;
}
