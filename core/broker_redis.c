/* The Redis engine of the broker (broker.h): hiredis on the node's libuv loop.
 *
 * Per shard, two connections: one for commands and scripts, one in pub/sub mode that
 * receives the topics' channels and the node's own channel (the liveness probe).
 * Keys of a topic share a hash tag, so a script's keys live on one Redis Cluster slot:
 *   tacws:{topic}:lease  the lease holder's token (SET NX PX)
 *   tacws:{topic}:snap   hash: seq, epoch, data (the cached snapshot), eseq (last event),
 *                        floor (the next commit's seq is above it: tacws_broker_seq_floor)
 *   tacws:{topic}:hist   stream of events, entry id "<offset>-0", fields d (the event) and t
 *                        (Redis's clock in ms when appended, for history_ttl_ms)
 * The node registry, on shard 0: tacws:nodes, a sorted set of node ids scored by when each
 * was last seen (Redis's clock, ms): tacws_broker_nodes.
 * A topic's channel is tacws:ch:<topic>, each message "<c|e> <seq> <epoch>\n<data>"; a change
 * may add the holder's delta: "c <seq> <epoch> <delta length>\n<data><delta>". */
#include "broker.h"

#include <errno.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uv.h>

#define CHANNEL_PREFIX "tacws:ch:"
#define NODE_CHANNEL_PREFIX "tacws:node:"
#define NODES_KEY "tacws:nodes"
#define BACKOFF_MIN_MS 100
#define CONNECT_TIMEOUT_MS 3000 /* a link not up by then is dropped and retried */

/* The scripts. Each returns a status first (0, or a TACWS_BROKER_* outcome) so one
 * reply parser serves them all. */
enum {
	SCRIPT_RENEW,
	SCRIPT_RELEASE,
	SCRIPT_COMMIT,
	SCRIPT_EVENT,
	SCRIPT_HISTORY,
	SCRIPT_FLOOR,
	SCRIPT_NODES,
	N_SCRIPTS
};

/* Lua for EVENT and HISTORY, with ttl (ms, 0: none) set: drops the oldest events of KEYS[2]
 * appended more than ttl ms ago (field t), by Redis's clock; sets now (ms). Entries are in
 * offset order, so it stops at the first younger one. */
#define AGE_TRIM                                                                                   \
	"local clock = redis.call('TIME')\n"                                                      \
	"local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)\n"         \
	"if ttl > 0 then\n"                                                                       \
	"  local keep\n"                                                                          \
	"  repeat\n"                                                                              \
	"    local batch = redis.call('XRANGE', KEYS[2], keep or '-', '+', 'COUNT', 100)\n"       \
	"    local young = nil\n"                                                                 \
	"    for _, e in ipairs(batch) do\n"                                                      \
	"      local at = tonumber(e[2][4] or '0')\n"                                             \
	"      if e[2][3] == 't' and at > now - ttl then young = e[1] break end\n"                \
	"      keep = '(' .. e[1]\n"                                                              \
	"    end\n"                                                                               \
	"    if young then redis.call('XTRIM', KEYS[2], 'MINID', young) keep = nil break end\n"   \
	"  until #batch < 100\n"                                                                  \
	"  if keep then redis.call('DEL', KEYS[2]) end\n"                                         \
	"end\n"

static const char *const script_text[N_SCRIPTS] = {
	/* RENEW KEYS lease ARGV token ttl_ms: extend the TTL only while the lease is ours. */
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {0}\n"
	"end\n"
	"return {1}\n",
	/* RELEASE KEYS lease ARGV token: delete only our own lease. */
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  redis.call('DEL', KEYS[1]) return {0}\n"
	"end\n"
	"return {1}\n",
	/* COMMIT KEYS lease snap hist ARGV token base data new_epoch channel delta
	 * -> {0|1|2, seq, epoch}: 1 not the holder, 2 stored seq is not base (both with the
	 * stored seq and epoch); 0 stored max(base, floor)+1 and published. A topic without a
	 * stored seq takes any base; one without an epoch gets new_epoch and an empty history.
	 * The message carries delta (the patch from base's data) only when seq is base+1 of
	 * the stored epoch: the one state a node can apply it to. */
	"local cur = redis.call('HMGET', KEYS[2], 'seq', 'epoch', 'floor')\n"
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then\n"
	"  return {1, cur[1] or '0', cur[2] or ''}\n"
	"end\n"
	"local base = tonumber(ARGV[2])\n"
	"if cur[1] and tonumber(cur[1]) ~= base then return {2, cur[1], cur[2] or ''} end\n"
	"local epoch = cur[2]\n"
	"local delta = ARGV[6] or ''\n"
	"if not epoch or not cur[1] then delta = '' end\n"
	"if not epoch then\n"
	"  epoch = ARGV[4]\n"
	"  redis.call('DEL', KEYS[3])\n"
	"  redis.call('HDEL', KEYS[2], 'eseq')\n"
	"end\n"
	"local floor = tonumber(cur[3] or '0')\n"
	"if floor > base then base = floor delta = '' end\n"
	"local seq = string.format('%.0f', base + 1)\n"
	"redis.call('HSET', KEYS[2], 'seq', seq, 'epoch', epoch, 'data', ARGV[3])\n"
	"local head = 'c ' .. seq .. ' ' .. epoch\n"
	"if #delta > 0 then head = head .. ' ' .. #delta end\n"
	"redis.call('PUBLISH', ARGV[5], head .. '\\n' .. ARGV[3] .. delta)\n"
	"return {0, seq, epoch}\n",
	/* EVENT KEYS snap hist ARGV new_epoch maxlen data channel ttl_ms -> {0, offset, epoch}:
	 * the next offset of the topic, appended (history trimmed to about maxlen, and of the
	 * events older than ttl_ms when not 0: AGE_TRIM) and published. A topic without an
	 * epoch gets new_epoch and an empty history. */
	"local epoch = redis.call('HGET', KEYS[1], 'epoch')\n"
	"if not epoch then\n"
	"  epoch = ARGV[1]\n"
	"  redis.call('HSET', KEYS[1], 'epoch', epoch)\n"
	"  redis.call('DEL', KEYS[2])\n"
	"end\n"
	"local off = redis.call('HINCRBY', KEYS[1], 'eseq', 1)\n"
	"local ttl = tonumber(ARGV[5])\n"
	AGE_TRIM
	"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], off .. '-0', 'd', ARGV[3], 't', now)\n"
	"if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end\n"
	"redis.call('PUBLISH', ARGV[4], 'e ' .. off .. ' ' .. epoch .. '\\n' .. ARGV[3])\n"
	"return {0, off, epoch}\n",
	/* HISTORY KEYS snap hist ARGV since epoch limit ttl_ms
	 * -> {0|4, epoch, off1, d1, off2, d2...}: 4 when epoch is not the topic's or an event
	 * after since was trimmed (by count, or older than ttl_ms). Offsets are contiguous, so
	 * the oldest entry kept tells whether anything after since is gone. */
	"local epoch = redis.call('HGET', KEYS[1], 'epoch')\n"
	"if not epoch or epoch ~= ARGV[2] then return {4, epoch or ''} end\n"
	"local ttl = tonumber(ARGV[4])\n"
	AGE_TRIM
	"local since = tonumber(ARGV[1])\n"
	"local top = tonumber(redis.call('HGET', KEYS[1], 'eseq') or '0')\n"
	"if since > top then return {4, epoch} end\n"
	"if since == top then return {0, epoch} end\n"
	"local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)\n"
	"if #first == 0 or tonumber(string.match(first[1][1], '^%d+')) > since + 1 then\n"
	"  return {4, epoch}\n"
	"end\n"
	"local out = {0, epoch}\n"
	"local from = string.format('%.0f', since + 1) .. '-0'\n"
	"for _, e in ipairs(redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', ARGV[3])) do\n"
	"  out[#out + 1] = string.match(e[1], '^%d+')\n"
	"  out[#out + 1] = e[2][2]\n"
	"end\n"
	"return out\n",
	/* FLOOR KEYS snap ARGV seq -> {0}: the topic's next commit gets a seq above seq. */
	"local f = tonumber(redis.call('HGET', KEYS[1], 'floor') or '0')\n"
	"if tonumber(ARGV[1]) > f then redis.call('HSET', KEYS[1], 'floor', ARGV[1]) end\n"
	"return {0}\n",
	/* NODES KEYS nodes ARGV node_id window_ms max -> {0, id1, id2...}: node_id seen now;
	 * the nodes not seen within window_ms dropped; the others, most recent first, at most
	 * max. The key itself goes when no node has been seen for two windows. */
	"local clock = redis.call('TIME')\n"
	"local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)\n"
	"local window = tonumber(ARGV[2])\n"
	"local max = tonumber(ARGV[3])\n"
	"redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[1])\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now - window))\n"
	"redis.call('PEXPIRE', KEYS[1], window * 2)\n"
	"local out = {0}\n"
	"for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, max)) do\n"
	"  if id ~= ARGV[1] and #out <= max then out[#out + 1] = id end\n"
	"end\n"
	"return out\n",
};

typedef struct redis_broker redis_broker;

typedef struct shard {
	redis_broker *rb;
	unsigned index;
	tacws_broker_addr addr;
	redisAsyncContext *cmd; /* NULL while down */
	redisAsyncContext *sub;
	int cmd_ready; /* scripts loaded */
	int sub_ready; /* node channel subscribed */
	int up;
	int lost; /* shard_lost ran since the last connect */
	unsigned setup_pending; /* replies the command connection still waits for */
	unsigned backoff_ms;
	uv_timer_t retry;
	uv_timer_t probe;
	unsigned long long probe_sent, probe_seen;
} shard;

typedef struct topic_sub {
	struct topic_sub *next;
	char topic[];
} topic_sub;

struct redis_broker {
	tacws_broker base;
	uv_loop_t *loop;
	tacws_broker_options opt;
	char node_id[TACWS_BROKER_NODE_ID_MAX];
	char node_channel[sizeof NODE_CHANNEL_PREFIX + TACWS_BROKER_NODE_ID_MAX];
	char sha[N_SCRIPTS][41];
	topic_sub *subs;
	tacws_broker_stats stats; /* counters only; the rest is filled on demand */
	int closing;
	unsigned alive; /* contexts and timer handles not yet released */
	unsigned n_shards;
	shard shards[];
};

/* ---- small helpers ---- */

static void random_hex(char *out, size_t n_hex)
{
	unsigned char raw[32];
	size_t n = (n_hex + 1) / 2;
	if (n > sizeof raw)
		n = sizeof raw;
	if (getrandom(raw, n, 0) != (ssize_t)n) {
		/* Never expected on Linux; a clock-seeded fallback still differs between nodes. */
		uv_timeval64_t tv;
		uv_gettimeofday(&tv);
		srand((unsigned)(tv.tv_usec ^ tv.tv_sec ^ (long)uv_os_getpid()));
		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)rand();
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n_hex; i++)
		out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[n_hex] = '\0';
}

static int topic_ok(const char *topic)
{
	if (!topic)
		return 0;
	size_t len = strlen(topic);
	return len > 0 && len < TACWS_BROKER_TOPIC_MAX;
}

static void topic_key(char *out, size_t size, const char *topic, const char *what)
{
	snprintf(out, size, "tacws:{%s}:%s", topic, what);
}

static void topic_channel(char *out, size_t size, const char *topic)
{
	snprintf(out, size, CHANNEL_PREFIX "%s", topic);
}

unsigned tacws_broker_shard_of(const char *topic, unsigned n_shards)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)topic; *p; p++)
		h = (h ^ *p) * 16777619u;
	return n_shards ? h % n_shards : 0;
}

static shard *shard_for(redis_broker *rb, const char *topic)
{
	return &rb->shards[tacws_broker_shard_of(topic, rb->n_shards)];
}

/* A reply element as an unsigned number (scripts answer strings or integers). */
static uint64_t reply_u64(const redisReply *r)
{
	if (!r)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer > 0 ? (uint64_t)r->integer : 0;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		return strtoull(r->str, NULL, 10);
	return 0;
}

static const char *reply_str(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

/* ---- connections ---- */

static void shard_connect(shard *sh);
static void shard_lost(shard *sh);
static void broker_release(redis_broker *rb);

/* hiredis 0.14's libuv adapter ignores a poll error (libuv reports a refused connect as
 * UV_EBADF and stops the handle), so a failed connect would never be noticed. Our hooks
 * wrap the adapter's and restart the poll with a callback that lets hiredis see the error. */
static void on_poll(uv_poll_t *handle, int status, int events)
{
	redisLibuvEvents *p = handle->data;
	redisAsyncContext *ac = p->context;
	if (!ac)
		return;
	if (status < 0) {
		if (ac->c.flags & REDIS_CONNECTED)
			redisAsyncHandleRead(ac); /* reads the error, disconnects */
		else
			redisAsyncHandleWrite(ac); /* checks the connect, fails it */
		return;
	}
	if (events & UV_READABLE)
		redisAsyncHandleRead(ac);
	if (p->context && (events & UV_WRITABLE))
		redisAsyncHandleWrite(ac);
}

static void poll_rearm(redisLibuvEvents *p)
{
	if (p->events)
		uv_poll_start(&p->handle, p->events, on_poll);
}

static void add_read(void *privdata)
{
	redisLibuvAddRead(privdata);
	poll_rearm(privdata);
}

static void del_read(void *privdata)
{
	redisLibuvDelRead(privdata);
	poll_rearm(privdata);
}

static void add_write(void *privdata)
{
	redisLibuvAddWrite(privdata);
	poll_rearm(privdata);
}

static void del_write(void *privdata)
{
	redisLibuvDelWrite(privdata);
	poll_rearm(privdata);
}

/* Counts a context's end: hiredis calls the adapter's cleanup exactly once as it frees
 * the context, after every pending callback ran. */
static void counted_cleanup(void *privdata)
{
	redisLibuvEvents *ev = privdata;
	shard *sh = ev->context->data;
	redisLibuvCleanup(privdata);
	broker_release(sh->rb);
}

static void broker_free(redis_broker *rb)
{
	while (rb->subs) {
		topic_sub *s = rb->subs;
		rb->subs = s->next;
		free(s);
	}
	free(rb);
}

static void broker_release(redis_broker *rb)
{
	if (--rb->alive == 0 && rb->closing)
		broker_free(rb);
}

static void on_handle_closed(uv_handle_t *h)
{
	shard *sh = h->data;
	broker_release(sh->rb);
}

/* Frees a context from outside its callbacks' path of error, without our callbacks
 * about its end (the caller already knows). */
static void context_drop(redisAsyncContext **slot)
{
	redisAsyncContext *ac = *slot;
	if (!ac)
		return;
	*slot = NULL;
	ac->onConnect = NULL;
	ac->onDisconnect = NULL;
	redisAsyncFree(ac);
}

static void set_up(shard *sh, int up)
{
	if (sh->up == up)
		return;
	sh->up = up;
	if (up)
		sh->backoff_ms = BACKOFF_MIN_MS;
	if (sh->rb->opt.on_state && !sh->rb->closing)
		sh->rb->opt.on_state(sh->rb->opt.arg, sh->index, up);
}

static void check_up(shard *sh)
{
	if (sh->cmd_ready && sh->sub_ready && sh->cmd && sh->sub && !sh->lost) {
		uv_timer_stop(&sh->retry); /* the connect watchdog */
		sh->probe_sent = sh->probe_seen = 0;
		set_up(sh, 1);
	}
}

static void on_retry(uv_timer_t *t)
{
	shard *sh = t->data;
	context_drop(&sh->cmd);
	context_drop(&sh->sub);
	shard_connect(sh);
}

/* Either connection ended or failed: both go, and we reconnect after the backoff. */
static void shard_lost(shard *sh)
{
	redis_broker *rb = sh->rb;
	if (rb->closing || sh->lost)
		return;
	sh->lost = 1;
	if (sh->up)
		rb->stats.links_lost++;
	sh->cmd_ready = sh->sub_ready = 0;
	set_up(sh, 0);
	uv_timer_start(&sh->retry, on_retry, sh->backoff_ms, 0);
	sh->backoff_ms = sh->backoff_ms * 2 > rb->opt.backoff_max_ms ? rb->opt.backoff_max_ms
								   : sh->backoff_ms * 2;
}

static void on_connected(const redisAsyncContext *ac, int status)
{
	shard *sh = ac->data;
	if (status == REDIS_OK)
		return;
	/* hiredis frees the context after this callback. */
	if (sh->cmd == ac)
		sh->cmd = NULL;
	if (sh->sub == ac)
		sh->sub = NULL;
	shard_lost(sh);
}

static void on_disconnected(const redisAsyncContext *ac, int status)
{
	(void)status;
	on_connected(ac, REDIS_ERR);
}

static void on_setup_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	shard *sh = ac->data;
	redisReply *reply = r;
	intptr_t script = (intptr_t)privdata; /* -1: AUTH or SELECT */
	if (!reply || sh->rb->closing)
		return;
	if (reply->type == REDIS_REPLY_ERROR ||
	    (script >= 0 && (reply->type != REDIS_REPLY_STRING || reply->len != 40))) {
		/* Wrong password, db or a server without scripting: retry later, stay down. */
		shard_lost(sh);
		return;
	}
	if (script >= 0)
		memcpy(sh->rb->sha[script], reply->str, 41);
	if (--sh->setup_pending == 0) {
		sh->cmd_ready = 1;
		check_up(sh);
	}
}

static void on_sub_message(redisAsyncContext *ac, void *r, void *privdata);
static topic_sub **sub_find(redis_broker *rb, const char *topic);

/* The subscriber's AUTH: its failure is the only answer that matters. */
static void on_sub_auth(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply *reply = r;
	(void)privdata;
	if (reply && reply->type == REDIS_REPLY_ERROR && !((shard *)ac->data)->rb->closing)
		shard_lost(ac->data);
}

/* Returns 1 when AUTH was sent, 0 when none is needed, -1 when it could not be queued. */
static int send_auth(redisAsyncContext *ac, const tacws_broker_addr *a, redisCallbackFn *fn)
{
	if (!a->password[0])
		return 0;
	const char *with_user[3] = {"AUTH", a->user, a->password};
	const char *alone[2] = {"AUTH", a->password};
	int rc = a->user[0] ? redisAsyncCommandArgv(ac, fn, (void *)(intptr_t)-1, 3, with_user, NULL)
			    : redisAsyncCommandArgv(ac, fn, (void *)(intptr_t)-1, 2, alone, NULL);
	return rc == REDIS_OK ? 1 : -1;
}

static int subscribe_channel(shard *sh, const char *channel)
{
	const char *argv[2] = {"SUBSCRIBE", channel};
	return redisAsyncCommandArgv(sh->sub, on_sub_message, sh, 2, argv, NULL) == REDIS_OK ? 0
											      : -EIO;
}

static redisAsyncContext *context_open(shard *sh)
{
	redisAsyncContext *ac = redisAsyncConnect(sh->addr.host, sh->addr.port);
	if (!ac)
		return NULL;
	if (ac->err) {
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = sh;
	if (redisLibuvAttach(ac, sh->rb->loop) != REDIS_OK) {
		/* The adapter leaves its hooks half set: free without them. */
		ac->ev.cleanup = NULL;
		ac->ev.addRead = ac->ev.delRead = ac->ev.addWrite = ac->ev.delWrite = NULL;
		redisAsyncFree(ac);
		return NULL;
	}
	ac->ev.cleanup = counted_cleanup;
	ac->ev.addRead = add_read;
	ac->ev.delRead = del_read;
	ac->ev.addWrite = add_write;
	ac->ev.delWrite = del_write;
	sh->rb->alive++;
	redisAsyncSetConnectCallback(ac, on_connected);
	redisAsyncSetDisconnectCallback(ac, on_disconnected);
	return ac;
}

static void shard_connect(shard *sh)
{
	redis_broker *rb = sh->rb;
	sh->lost = 0;
	uv_timer_start(&sh->retry, on_retry, CONNECT_TIMEOUT_MS, 0);
	sh->cmd = context_open(sh);
	sh->sub = sh->cmd ? context_open(sh) : NULL;
	if (!sh->sub) {
		context_drop(&sh->cmd);
		shard_lost(sh);
		return;
	}
	/* Pipelined: the server answers in order, so the scripts are loaded before any
	 * request can be sent (requests wait for up). */
	int auth = send_auth(sh->cmd, &sh->addr, on_setup_reply);
	sh->setup_pending = (unsigned)(auth > 0) + N_SCRIPTS;
	if (sh->addr.db) {
		char db[16];
		snprintf(db, sizeof db, "%d", sh->addr.db);
		redisAsyncCommandArgv(sh->cmd, on_setup_reply, (void *)(intptr_t)-1, 2,
				      (const char *[]){"SELECT", db}, NULL);
		sh->setup_pending++;
	}
	for (intptr_t i = 0; i < N_SCRIPTS; i++)
		redisAsyncCommandArgv(sh->cmd, on_setup_reply, (void *)i, 3,
				      (const char *[]){"SCRIPT", "LOAD", script_text[i]}, NULL);
	if (send_auth(sh->sub, &sh->addr, on_sub_auth) < 0)
		auth = -1;
	/* The node's channel last: its confirmation (which makes the shard up) then comes
	 * after every topic's, so up means subscribed. */
	for (topic_sub *s = rb->subs; s; s = s->next) {
		if (shard_for(rb, s->topic) == sh) {
			char ch[sizeof CHANNEL_PREFIX + TACWS_BROKER_TOPIC_MAX];
			topic_channel(ch, sizeof ch, s->topic);
			subscribe_channel(sh, ch);
		}
	}
	subscribe_channel(sh, rb->node_channel);
	if (auth < 0)
		shard_lost(sh);
}

/* Parses "<c|e> <seq> <epoch>[ <delta length>]\n<data>[<delta>]" and hands it to the node. */
static void deliver(redis_broker *rb, const char *topic, const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);
	if (!nl || len < 2 || (p[0] != 'c' && p[0] != 'e' && p[0] != 'p') || p[1] != ' ')
		return;
	char head[96];
	size_t hlen = (size_t)(nl - p);
	if (hlen >= sizeof head)
		return;
	memcpy(head, p, hlen);
	head[hlen] = '\0';
	char *end;
	unsigned long long seq = strtoull(head + 2, &end, 10);
	if (*end != ' ')
		return;
	size_t body = len - hlen - 1, dlen = 0;
	char *sp = strchr(end + 1, ' ');
	if (sp) {
		*sp = '\0';
		char *e;
		unsigned long long n = strtoull(sp + 1, &e, 10);
		if (*e || n > body)
			return;
		dlen = (size_t)n;
	}
	tacws_broker_msg m = {.topic = topic,
			      .kind = (tacws_broker_kind)p[0],
			      .seq = seq,
			      .epoch = end + 1,
			      .data = nl + 1,
			      .len = body - dlen,
			      .delta = dlen ? nl + 1 + body - dlen : NULL,
			      .delta_len = dlen};
	rb->stats.messages++;
	if (rb->opt.on_message)
		rb->opt.on_message(rb->opt.arg, &m);
}

static void on_sub_message(redisAsyncContext *ac, void *r, void *privdata)
{
	shard *sh = privdata;
	redisReply *reply = r;
	(void)ac;
	if (!reply || sh->rb->closing || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING)
		return;
	const char *kind = reply->element[0]->str;
	const char *channel = reply->element[1]->str;
	int is_node = strcmp(channel, sh->rb->node_channel) == 0;
	if (strcmp(kind, "subscribe") == 0) {
		if (is_node) {
			sh->sub_ready = 1;
			check_up(sh);
		} else if (strncmp(channel, CHANNEL_PREFIX, sizeof CHANNEL_PREFIX - 1) == 0 &&
			   sh->rb->opt.on_subscribed) {
			const char *topic = channel + sizeof CHANNEL_PREFIX - 1;
			if (*sub_find(sh->rb, topic)) /* not unsubscribed meanwhile */
				sh->rb->opt.on_subscribed(sh->rb->opt.arg, topic);
		}
		return;
	}
	if (strcmp(kind, "message") != 0 || reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (is_node) {
		unsigned long long n = strtoull(reply->element[2]->str, NULL, 10);
		if (n > sh->probe_seen)
			sh->probe_seen = n;
		return;
	}
	if (strncmp(channel, CHANNEL_PREFIX, sizeof CHANNEL_PREFIX - 1) == 0)
		deliver(sh->rb, channel + sizeof CHANNEL_PREFIX - 1, reply->element[2]->str,
			reply->element[2]->len);
}

/* The liveness probe: each tick publishes a number on the node's channel; the last one
 * not heard back by the next tick means the subscription is dead though the socket is
 * open (a failover, a proxy that lost the session): drop both links and reconnect. */
static void on_probe(uv_timer_t *t)
{
	shard *sh = t->data;
	if (!sh->up)
		return;
	if (sh->probe_sent > sh->probe_seen) {
		sh->rb->stats.probe_failures++;
		context_drop(&sh->cmd);
		context_drop(&sh->sub);
		shard_lost(sh);
		return;
	}
	char n[24];
	snprintf(n, sizeof n, "%llu", ++sh->probe_sent);
	redisAsyncCommandArgv(sh->cmd, NULL, NULL, 3,
			      (const char *[]){"PUBLISH", sh->rb->node_channel, n}, NULL);
}

/* ---- requests ---- */

typedef enum { REQ_LEASE, REQ_COMMIT, REQ_SNAPSHOT, REQ_HISTORY, REQ_NODES } req_kind;

typedef struct request {
	redis_broker *rb;
	req_kind kind;
	union {
		tacws_broker_lease_cb lease;
		tacws_broker_commit_cb commit;
		tacws_broker_snapshot_cb snapshot;
		tacws_broker_history_cb history;
		tacws_broker_nodes_cb nodes;
	} cb;
	void *arg;
	char token[TACWS_BROKER_TOKEN_MAX]; /* REQ_LEASE acquire: the token we set */
	char topic[];
} request;

static void fail_request(request *q, int status)
{
	switch (q->kind) {
	case REQ_LEASE:
		q->cb.lease(q->arg, status, NULL);
		break;
	case REQ_COMMIT:
		q->cb.commit(q->arg, status, 0, NULL);
		break;
	case REQ_SNAPSHOT:
		q->cb.snapshot(q->arg, status, 0, NULL, NULL, 0);
		break;
	case REQ_HISTORY:
		q->cb.history(q->arg, status, NULL, NULL, 0);
		break;
	case REQ_NODES:
		q->cb.nodes(q->arg, status, NULL, 0);
		break;
	}
}

static void answer_history(request *q, const redisReply *r)
{
	int status = (int)reply_u64(r->element[0]);
	const char *epoch = r->elements > 1 ? reply_str(r->element[1]) : "";
	size_t n = r->elements > 2 ? (r->elements - 2) / 2 : 0;
	tacws_broker_msg *msgs = n ? calloc(n, sizeof *msgs) : NULL;
	if (n && !msgs) {
		fail_request(q, -ENOMEM);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const redisReply *d = r->element[2 + 2 * i + 1];
		msgs[i] = (tacws_broker_msg){.topic = q->topic,
					     .kind = TACWS_BROKER_EVENT,
					     .seq = reply_u64(r->element[2 + 2 * i]),
					     .epoch = epoch,
					     .data = d->type == REDIS_REPLY_STRING ? d->str : "",
					     .len = d->type == REDIS_REPLY_STRING ? d->len : 0};
	}
	q->cb.history(q->arg, status, epoch, msgs, n);
	free(msgs);
}

static void answer_nodes(request *q, const redisReply *r)
{
	size_t n = r->elements - 1;
	const char **ids = n ? calloc(n, sizeof *ids) : NULL;
	if (n && !ids) {
		fail_request(q, -ENOMEM);
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (r->element[1 + i]->type == REDIS_REPLY_STRING)
			ids[k++] = r->element[1 + i]->str;
	q->cb.nodes(q->arg, (int)reply_u64(r->element[0]), ids, k);
	free(ids);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	request *q = privdata;
	redisReply *reply = r;
	(void)ac;
	if (!reply)
		fail_request(q, q->rb->closing ? -ECANCELED : -ECONNRESET);
	else if (reply->type == REDIS_REPLY_ERROR)
		fail_request(q, -EIO);
	else if (q->kind == REQ_LEASE && q->token[0]) /* acquire: SET NX answers OK or nil */
		q->cb.lease(q->arg, reply->type == REDIS_REPLY_STATUS ? 0 : TACWS_BROKER_NOT_HOLDER,
			    reply->type == REDIS_REPLY_STATUS ? q->token : NULL);
	else if (q->kind == REQ_SNAPSHOT) {
		if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
			fail_request(q, -EPROTO);
		else if (reply->element[0]->type != REDIS_REPLY_STRING ||
			 reply->element[2]->type != REDIS_REPLY_STRING)
			q->cb.snapshot(q->arg, TACWS_BROKER_EMPTY, 0, NULL, NULL, 0);
		else
			q->cb.snapshot(q->arg, 0, reply_u64(reply->element[0]),
				       reply_str(reply->element[1]), reply->element[2]->str,
				       reply->element[2]->len);
	} else if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
		fail_request(q, -EPROTO);
	else if (q->kind == REQ_LEASE)
		q->cb.lease(q->arg, (int)reply_u64(reply->element[0]), NULL);
	else if (q->kind == REQ_COMMIT)
		q->cb.commit(q->arg, (int)reply_u64(reply->element[0]),
			     reply->elements > 1 ? reply_u64(reply->element[1]) : 0,
			     reply->elements > 2 ? reply_str(reply->element[2]) : "");
	else if (q->kind == REQ_NODES)
		answer_nodes(q, reply);
	else
		answer_history(q, reply);
	free(q);
}

/* Starts a request on shard sh; argv[0] "EVALSHA" gets the script's digest as argv[1]. */
static int request_send_to(redis_broker *rb, shard *sh, request *q, int script, int argc,
			   const char **argv, const size_t *lens)
{
	if (rb->closing || !sh->up || !sh->cmd) {
		free(q);
		return -ENOTCONN;
	}
	if (script >= 0)
		argv[1] = rb->sha[script];
	if (redisAsyncCommandArgv(sh->cmd, on_reply, q, argc, argv, lens) != REDIS_OK) {
		free(q);
		return -EIO;
	}
	return 0;
}

/* The same on topic's shard. */
static int request_send(redis_broker *rb, const char *topic, request *q, int script, int argc,
			const char **argv, const size_t *lens)
{
	return request_send_to(rb, shard_for(rb, topic), q, script, argc, argv, lens);
}

/* Lengths of an EVALSHA's arguments: argv[1] is the digest (set later), argv[data_at] the
 * payload (any bytes, data_len of them), the others strings. */
static void arg_lengths(const char **argv, size_t *lens, int argc, int data_at, size_t data_len)
{
	for (int i = 0; i < argc; i++)
		lens[i] = i == 1 ? 40 : i == data_at ? data_len : strlen(argv[i]);
}

static request *request_new(redis_broker *rb, const char *topic, req_kind kind, void *arg)
{
	if (!topic_ok(topic))
		return NULL;
	size_t tl = strlen(topic) + 1;
	request *q = calloc(1, sizeof *q + tl);
	if (!q)
		return NULL;
	q->rb = rb;
	q->kind = kind;
	q->arg = arg;
	memcpy(q->topic, topic, tl);
	return q;
}

#define KEY_SIZE (TACWS_BROKER_TOPIC_MAX + 16)
#define REQUEST_OR_FAIL(q, rb, topic, kind, arg)                                                   \
	request *q = request_new(rb, topic, kind, arg);                                            \
	if (!q)                                                                                    \
		return topic_ok(topic) ? -ENOMEM : -EINVAL;

static int redis_lease_acquire(tacws_broker *b, const char *topic, unsigned ttl_ms,
			       tacws_broker_lease_cb cb, void *arg)
{
	redis_broker *rb = (redis_broker *)b;
	if (!cb || !ttl_ms)
		return -EINVAL;
	REQUEST_OR_FAIL(q, rb, topic, REQ_LEASE, arg);
	q->cb.lease = cb;
	int n = snprintf(q->token, sizeof q->token, "%s:", rb->node_id);
	random_hex(q->token + n, 16);
	char key[KEY_SIZE], ttl[16];
	topic_key(key, sizeof key, topic, "lease");
	snprintf(ttl, sizeof ttl, "%u", ttl_ms);
	const char *argv[] = {"SET", key, q->token, "NX", "PX", ttl};
	return request_send(rb, topic, q, -1, 6, argv, NULL);
}

static int lease_script(tacws_broker *b, int script, const char *topic, const char *token,
			unsigned ttl_ms, tacws_broker_lease_cb cb, void *arg)
{
	redis_broker *rb = (redis_broker *)b;
	if (!cb || !token || (script == SCRIPT_RENEW && !ttl_ms))
		return -EINVAL;
	REQUEST_OR_FAIL(q, rb, topic, REQ_LEASE, arg);
	q->cb.lease = cb;
	char key[KEY_SIZE], ttl[16];
	topic_key(key, sizeof key, topic, "lease");
	snprintf(ttl, sizeof ttl, "%u", ttl_ms);
	const char *argv[] = {"EVALSHA", NULL, "1", key, token, ttl};
	return request_send(rb, topic, q, script, script == SCRIPT_RENEW ? 6 : 5, argv, NULL);
}

static int redis_lease_renew(tacws_broker *b, const char *topic, const char *token,
			     unsigned ttl_ms, tacws_broker_lease_cb cb, void *arg)
{
	return lease_script(b, SCRIPT_RENEW, topic, token, ttl_ms, cb, arg);
}

static int redis_lease_release(tacws_broker *b, const char *topic, const char *token,
			       tacws_broker_lease_cb cb, void *arg)
{
	return lease_script(b, SCRIPT_RELEASE, topic, token, 0, cb, arg);
}

static int redis_commit(tacws_broker *b, const char *topic, const char *token, uint64_t base_seq,
			const char *data, size_t len, const char *delta, size_t delta_len,
			tacws_broker_commit_cb cb, void *arg)
{
	redis_broker *rb = (redis_broker *)b;
	if (!cb || !token || (!data && len) || (!delta && delta_len))
		return -EINVAL;
	REQUEST_OR_FAIL(q, rb, topic, REQ_COMMIT, arg);
	q->cb.commit = cb;
	char lease[KEY_SIZE], snap[KEY_SIZE], hist[KEY_SIZE], ch[KEY_SIZE], base[24];
	char epoch[TACWS_BROKER_EPOCH_LEN + 1];
	topic_key(lease, sizeof lease, topic, "lease");
	topic_key(snap, sizeof snap, topic, "snap");
	topic_key(hist, sizeof hist, topic, "hist");
	topic_channel(ch, sizeof ch, topic);
	snprintf(base, sizeof base, "%llu", (unsigned long long)base_seq);
	random_hex(epoch, TACWS_BROKER_EPOCH_LEN);
	const char *argv[] = {"EVALSHA", NULL, "3", lease, snap, hist, token, base,
			      data ? data : "", epoch, ch, delta ? delta : ""};
	size_t lens[12];
	arg_lengths(argv, lens, 12, 8, len);
	lens[11] = delta_len;
	return request_send(rb, topic, q, SCRIPT_COMMIT, 12, argv, lens);
}

static int redis_snapshot(tacws_broker *b, const char *topic, tacws_broker_snapshot_cb cb,
			  void *arg)
{
	redis_broker *rb = (redis_broker *)b;
	if (!cb)
		return -EINVAL;
	REQUEST_OR_FAIL(q, rb, topic, REQ_SNAPSHOT, arg);
	q->cb.snapshot = cb;
	char snap[KEY_SIZE];
	topic_key(snap, sizeof snap, topic, "snap");
	const char *argv[] = {"HMGET", snap, "seq", "epoch", "data"};
	return request_send(rb, topic, q, -1, 5, argv, NULL);
}

static int redis_event_append(tacws_broker *b, const char *topic, const char *data, size_t len,
			      tacws_broker_commit_cb cb, void *arg)
{
	redis_broker *rb = (redis_broker *)b;
	if (!cb || (!data && len))
		return -EINVAL;
	REQUEST_OR_FAIL(q, rb, topic, REQ_COMMIT, arg);
	q->cb.commit = cb;
	char snap[KEY_SIZE], hist[KEY_SIZE], ch[KEY_SIZE], maxlen[16], ttl[16];
	char epoch[TACWS_BROKER_EPOCH_LEN + 1];
	topic_key(snap, sizeof snap, topic, "snap");
	topic_key(hist, sizeof hist, topic, "hist");
	topic_channel(ch, sizeof ch, topic);
	snprintf(maxlen, sizeof maxlen, "%u", rb->opt.history_max);
	snprintf(ttl, sizeof ttl, "%u", rb->opt.history_ttl_ms);
	random_hex(epoch, TACWS_BROKER_EPOCH_LEN);
	const char *argv[] = {"EVALSHA", NULL, "2", snap, hist, epoch, maxlen, data ? data : "", ch,
			      ttl};
	size_t lens[10];
	arg_lengths(argv, lens, 10, 7, len);
	return request_send(rb, topic, q, SCRIPT_EVENT, 10, argv, lens);
}

static int redis_history(tacws_broker *b, const char *topic, uint64_t since, const char *epoch,
			 unsigned limit, tacws_broker_history_cb cb, void *arg)
{
	redis_broker *rb = (redis_broker *)b;
	if (!cb || !epoch || limit < 1 || limit > 10000)
		return -EINVAL;
	REQUEST_OR_FAIL(q, rb, topic, REQ_HISTORY, arg);
	q->cb.history = cb;
	char snap[KEY_SIZE], hist[KEY_SIZE], s[24], l[16], ttl[16];
	topic_key(snap, sizeof snap, topic, "snap");
	topic_key(hist, sizeof hist, topic, "hist");
	snprintf(s, sizeof s, "%llu", (unsigned long long)since);
	snprintf(l, sizeof l, "%u", limit);
	snprintf(ttl, sizeof ttl, "%u", rb->opt.history_ttl_ms);
	const char *argv[] = {"EVALSHA", NULL, "2", snap, hist, s, epoch, l, ttl};
	return request_send(rb, topic, q, SCRIPT_HISTORY, 9, argv, NULL);
}

/* topic's shard when a command can go to it now; NULL with *err set otherwise. */
static shard *shard_ready(redis_broker *rb, const char *topic, int *err)
{
	if (!topic_ok(topic)) {
		*err = -EINVAL;
		return NULL;
	}
	shard *sh = shard_for(rb, topic);
	if (rb->closing || !sh->up || !sh->cmd) {
		*err = -ENOTCONN;
		return NULL;
	}
	return sh;
}

static int redis_request_poll(tacws_broker *b, const char *topic)
{
	redis_broker *rb = (redis_broker *)b;
	int err = 0;
	shard *sh = shard_ready(rb, topic, &err);
	if (!sh)
		return err;
	char ch[KEY_SIZE];
	topic_channel(ch, sizeof ch, topic);
	return redisAsyncCommandArgv(sh->cmd, NULL, NULL, 3,
				     (const char *[]){"PUBLISH", ch, "p 0 -\n"}, NULL) == REDIS_OK
		       ? 0
		       : -EIO;
}

static int redis_seq_floor(tacws_broker *b, const char *topic, uint64_t seq)
{
	redis_broker *rb = (redis_broker *)b;
	int err = 0;
	shard *sh = shard_ready(rb, topic, &err);
	if (!sh)
		return err;
	char snap[KEY_SIZE], s[24];
	topic_key(snap, sizeof snap, topic, "snap");
	snprintf(s, sizeof s, "%llu", (unsigned long long)seq);
	const char *argv[] = {"EVALSHA", rb->sha[SCRIPT_FLOOR], "1", snap, s};
	return redisAsyncCommandArgv(sh->cmd, NULL, NULL, 5, argv, NULL) == REDIS_OK ? 0 : -EIO;
}

static int redis_nodes(tacws_broker *b, unsigned window_ms, unsigned max,
		       tacws_broker_nodes_cb cb, void *arg)
{
	redis_broker *rb = (redis_broker *)b;
	if (!cb || !window_ms || max < 1 || max > TACWS_BROKER_NODES_MAX)
		return -EINVAL;
	request *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	q->rb = rb;
	q->kind = REQ_NODES;
	q->arg = arg;
	q->cb.nodes = cb;
	char window[16], n[16];
	snprintf(window, sizeof window, "%u", window_ms);
	snprintf(n, sizeof n, "%u", max);
	const char *argv[] = {"EVALSHA", NULL, "1", NODES_KEY, rb->node_id, window, n};
	return request_send_to(rb, &rb->shards[0], q, SCRIPT_NODES, 7, argv, NULL);
}

static topic_sub **sub_find(redis_broker *rb, const char *topic)
{
	topic_sub **p = &rb->subs;
	while (*p && strcmp((*p)->topic, topic) != 0)
		p = &(*p)->next;
	return p;
}

static int redis_subscribe(tacws_broker *b, const char *topic)
{
	redis_broker *rb = (redis_broker *)b;
	if (!topic_ok(topic) || rb->closing)
		return -EINVAL;
	topic_sub **p = sub_find(rb, topic);
	if (*p)
		return 0;
	size_t tl = strlen(topic) + 1;
	topic_sub *s = malloc(sizeof *s + tl);
	if (!s)
		return -ENOMEM;
	memcpy(s->topic, topic, tl);
	s->next = NULL;
	*p = s;
	shard *sh = shard_for(rb, topic);
	if (sh->sub) { /* else shard_connect subscribes it */
		char ch[KEY_SIZE];
		topic_channel(ch, sizeof ch, topic);
		subscribe_channel(sh, ch);
	}
	return 0;
}

static int redis_unsubscribe(tacws_broker *b, const char *topic)
{
	redis_broker *rb = (redis_broker *)b;
	if (!topic_ok(topic) || rb->closing)
		return -EINVAL;
	topic_sub **p = sub_find(rb, topic);
	if (!*p)
		return 0;
	topic_sub *s = *p;
	*p = s->next;
	free(s);
	shard *sh = shard_for(rb, topic);
	if (sh->sub && (sh->sub->c.flags & REDIS_SUBSCRIBED)) {
		/* hiredis routes the answer to the channel's own callback, which ignores it. */
		char ch[KEY_SIZE];
		topic_channel(ch, sizeof ch, topic);
		redisAsyncCommandArgv(sh->sub, NULL, NULL, 2, (const char *[]){"UNSUBSCRIBE", ch},
				      NULL);
	}
	return 0;
}

static int redis_is_up(const tacws_broker *b, unsigned shard_index)
{
	const redis_broker *rb = (const redis_broker *)b;
	return shard_index < rb->n_shards && rb->shards[shard_index].up;
}

static void redis_stats(const tacws_broker *b, tacws_broker_stats *out)
{
	const redis_broker *rb = (const redis_broker *)b;
	*out = rb->stats;
	out->shards = rb->n_shards;
	for (unsigned i = 0; i < rb->n_shards; i++)
		out->shards_up += rb->shards[i].up != 0;
	for (const topic_sub *s = rb->subs; s; s = s->next)
		out->subscriptions++;
}

static void redis_close(tacws_broker *b)
{
	redis_broker *rb = (redis_broker *)b;
	if (rb->closing)
		return;
	rb->closing = 1;
	rb->alive++; /* held while we close, so nothing below frees rb under us */
	for (unsigned i = 0; i < rb->n_shards; i++) {
		shard *sh = &rb->shards[i];
		uv_close((uv_handle_t *)&sh->retry, on_handle_closed);
		uv_close((uv_handle_t *)&sh->probe, on_handle_closed);
		context_drop(&sh->cmd);
		context_drop(&sh->sub);
	}
	broker_release(rb);
}

static const tacws_broker_ops redis_ops = {
	.lease_acquire = redis_lease_acquire,
	.lease_renew = redis_lease_renew,
	.lease_release = redis_lease_release,
	.commit = redis_commit,
	.snapshot = redis_snapshot,
	.event_append = redis_event_append,
	.history = redis_history,
	.request_poll = redis_request_poll,
	.seq_floor = redis_seq_floor,
	.nodes = redis_nodes,
	.subscribe = redis_subscribe,
	.unsubscribe = redis_unsubscribe,
	.is_up = redis_is_up,
	.stats = redis_stats,
	.close = redis_close,
};

bool tacws_broker_node_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	return n > 0 && n < TACWS_BROKER_NODE_ID_MAX &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

tacws_broker *tacws_broker_redis_open(uv_loop_t *loop, const tacws_broker_config *cfg,
				      const tacws_broker_options *opt)
{
	if (!loop || !cfg || !opt || cfg->n_shards < 1 || cfg->n_shards > TACWS_BROKER_MAX_SHARDS ||
	    !tacws_broker_node_id_ok(opt->node_id))
		return NULL;
	redis_broker *rb = calloc(1, sizeof *rb + cfg->n_shards * sizeof(shard));
	if (!rb)
		return NULL;
	rb->base.ops = &redis_ops;
	rb->loop = loop;
	rb->opt = *opt;
	if (!rb->opt.history_max)
		rb->opt.history_max = 1000;
	if (!rb->opt.probe_interval_ms)
		rb->opt.probe_interval_ms = 2000;
	if (!rb->opt.backoff_max_ms)
		rb->opt.backoff_max_ms = 5000;
	snprintf(rb->node_id, sizeof rb->node_id, "%s", opt->node_id);
	rb->opt.node_id = rb->node_id;
	snprintf(rb->node_channel, sizeof rb->node_channel, NODE_CHANNEL_PREFIX "%s", rb->node_id);
	rb->n_shards = cfg->n_shards;
	for (unsigned i = 0; i < rb->n_shards; i++) {
		shard *sh = &rb->shards[i];
		sh->rb = rb;
		sh->index = i;
		sh->addr = cfg->shards[i];
		sh->backoff_ms = BACKOFF_MIN_MS;
		uv_timer_init(loop, &sh->retry);
		uv_timer_init(loop, &sh->probe);
		sh->retry.data = sh->probe.data = sh;
		rb->alive += 2;
		uv_timer_start(&sh->probe, on_probe, rb->opt.probe_interval_ms,
			       rb->opt.probe_interval_ms);
		shard_connect(sh);
	}
	return &rb->base;
}

/* ---- [cluster] redis = ... ---- */

static int parse_one(const char *s, size_t n, tacws_broker_addr *a, char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	memset(a, 0, sizeof *a);
	a->port = 6379;
	if (n < sizeof scheme - 1 || strncmp(s, scheme, sizeof scheme - 1) != 0) {
		snprintf(err, errlen, "'%.*s' does not start with redis://", (int)n, s);
		return -EINVAL;
	}
	const char *p = s + sizeof scheme - 1, *end = s + n;
	const char *at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		size_t ul = colon ? (size_t)(colon - p) : 0, pl = (size_t)(at - pw);
		if (ul >= sizeof a->user || pl >= sizeof a->password || pl == 0) {
			snprintf(err, errlen, "bad or too long user or password");
			return -EINVAL;
		}
		memcpy(a->user, p, ul);
		memcpy(a->password, pw, pl);
		p = at + 1;
	}
	size_t hl = strcspn(p, ":/,");
	if (p + hl > end)
		hl = (size_t)(end - p);
	if (hl == 0 || hl >= sizeof a->host) {
		snprintf(err, errlen, "missing or too long host in '%.*s'", (int)n, s);
		return -EINVAL;
	}
	memcpy(a->host, p, hl);
	p += hl;
	char *e;
	if (p < end && *p == ':') {
		long port = strtol(p + 1, &e, 10);
		if (e == p + 1 || port < 1 || port > 65535 || (e < end && *e != '/')) {
			snprintf(err, errlen, "bad port in '%.*s'", (int)n, s);
			return -EINVAL;
		}
		a->port = (int)port;
		p = e;
	}
	if (p < end && *p == '/') {
		long db = strtol(p + 1, &e, 10);
		if (p + 1 == end)
			db = 0, e = (char *)end;
		if (e != end || db < 0 || db > 1000000) {
			snprintf(err, errlen, "bad database number in '%.*s'", (int)n, s);
			return -EINVAL;
		}
		a->db = (int)db;
		p = end;
	}
	if (p != end) {
		snprintf(err, errlen, "unexpected text in '%.*s'", (int)n, s);
		return -EINVAL;
	}
	return 0;
}

int tacws_broker_config_parse(const char *value, tacws_broker_config *cfg, char *err,
			      size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	if (!value || !*value) {
		snprintf(err, errlen, "empty address list");
		return -EINVAL;
	}
	for (const char *p = value;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, ",");
		size_t trimmed = n;
		while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
			trimmed--;
		if (cfg->n_shards == TACWS_BROKER_MAX_SHARDS) {
			snprintf(err, errlen, "more than %d addresses", TACWS_BROKER_MAX_SHARDS);
			return -EINVAL;
		}
		int rc = parse_one(p, trimmed, &cfg->shards[cfg->n_shards], err, errlen);
		if (rc)
			return rc;
		cfg->n_shards++;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}
