#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <time.h>

#include "broker.h"
#include "conn.h"
#include "delta.h"
#include "feed.h"
#include "input.h"
#include "log.h"
#include "msg.h"
#include "now.h"
#include "server.h"
#include "workers.h"

const double tacws_poll_bucket_bounds[TACWS_POLL_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1,
							     0.5,   1,	   5,	 10,   INFINITY};

struct tacws_feed {
	tacws_server *srv;
	tacws_plugin_ctx *plugin;
	char *base;	  /* "item" */
	char *endpoint;	  /* "item/{id}" */
	char *param_name; /* "id", or NULL */
	char *type;
	char *type_json; /* type as a JSON string literal, for envelopes */
	tacws_snapshot_fn snapshot;
	void *arg;
	int (*webhook_data)(void *arg, const char *event, json_object *payload, json_object **data);
	long interval_ms;
	long default_interval_ms; /* the plugin's, for when interval_ms leaves the file */
	regex_t param_re;
	char **config_keys; /* NULL-terminated, may be NULL */
	char **delta_keys;  /* [server] delta_keys at creation: rows' key members, NULL-terminated */
	lws_dll2_owner_t topics;
	tacws_topic **index; /* topics by parameter: chained buckets (topic_find) */
	size_t index_size;   /* a power of two, or 0 */
	tacws_feed_stats stats; /* counters; topics, failing_topics and seq are filled on demand */
};

#define TOPIC_EPOCH_LEN TACWS_BROKER_EPOCH_LEN

/* A feed plus its parameter: the unit that is polled, cached and versioned. */
struct tacws_topic {
	lws_dll2_t feed_link;
	tacws_topic *index_next; /* in its feed's index bucket */
	size_t hash;
	tacws_feed *feed;
	char *param;	   /* NULL for a feed without parameter */
	char *param_json;  /* param as a JSON string literal, for envelopes */
	uint64_t seq;	   /* version: +1 per change */
	tacws_msg **events; /* events_keep: a ring of events_cap, events_n from events_head */
	size_t events_cap, events_head, events_n;
	uint64_t event_offset; /* the last event's offset (0: none known) */
	char epoch[TOPIC_EPOCH_LEN + 1]; /* names this topic object's history of seqs (resume) */
	char *last_data;   /* serialized data of the last change */
	json_object *last_doc; /* the same parsed: the base of the next delta */
	tacws_msg *cached; /* the envelope of the last change, sent to newcomers */
	lws_dll2_owner_t subs;
	uv_timer_t timer; /* next poll, or idle expiry: libuv's heap, O(log n) per
			     insert (lws's sorted list walked every topic) */
	lws_usec_t last_poll_end;     /* 0 = never polled */
	long backoff_ms;	      /* 0 while healthy */
	bool in_flight, poll_again;

	/* [cluster]: the topic's lease and its state in the broker (srv->broker set) */
	struct topic_cluster {
		unsigned refs;	 /* broker requests under way with this topic as their arg */
		bool dead;	 /* freed meanwhile: the last answer closes it */
		bool held;	 /* this node holds the lease: it polls and commits */
		bool lease_busy, snapshot_busy, committing;
		bool synced;	 /* seq and epoch are the broker's */
		bool diverged;	 /* the epoch is not the broker's (changes made while cut off, or
				    the broker's seq is below what this node's subscribers hold) */
		uint64_t bseq;	 /* diverged: the broker's seq as last read, the next commit's base */
		bool poll_after_sync; /* lease just taken: poll once the snapshot is read */
		char token[TACWS_BROKER_TOKEN_MAX];
		uint64_t base; /* the change being committed, on top of seq base: */
		char *data;
		json_object *doc;
		tacws_msg *msg, *delta;
		char *patch;	/* delta's patch: the other nodes' delta subscribers get it */
		char *in_data; /* a change that came while a poll was in flight, applied after */
		uint64_t in_seq;
		char in_epoch[TOPIC_EPOCH_LEN + 1];
	} cl;

	/* The in-flight poll: filled by a worker, read back on the loop. */
	struct topic_job {
		tacws_job job;
		tacws_topic *topic;
		int rc;
		char err[256];
		char *data;	/* serialized, when it changed */
		tacws_msg *msg; /* envelope with seq + 1, when it changed */
		json_object *doc;  /* the new data, when it changed */
		tacws_msg *delta;  /* the delta from seq to seq + 1, when smaller than msg */
		char *patch;	   /* its patch, for the broker to carry to the other nodes */
		bool want_delta;   /* a subscriber asked for deltas, or the cluster's holder */
		double seconds;
	} job;
};

/* [cluster] a read of the broker's events for one resuming subscriber (history_start). */
struct tacws_history_read {
	tacws_topic *topic;
	tacws_sub *sub; /* NULL once it unsubscribed */
	uint64_t since; /* this page asks for the events after it */
};

#define HISTORY_PAGE 1000 /* events per read of the broker's history */
#define DEFAULT_INTERVAL_MS 2000
#define DEFAULT_PARAM_PATTERN "[A-Za-z0-9_-]{1,64}"
#define MAX_PARAM_LEN 256
#define BACKOFF_CAP_MS 60000L

static bool name_char(char c, bool dash)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (dash && c == '-');
}

static char *json_literal(const char *s)
{
	json_object *o = json_object_new_string(s);
	char *lit = o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(o);
	return lit;
}

#define DELTA_KEYS_MAX 16

/* "id, queue_id" to a NULL-terminated list (empty for ""); NULL when out of memory. */
static char **delta_keys_split(const char *list)
{
	char **keys = calloc(DELTA_KEYS_MAX + 1, sizeof *keys);
	size_t n = 0;
	for (const char *p = list ? list : ""; keys && *p && n < DELTA_KEYS_MAX;) {
		p += strspn(p, " ,");
		size_t len = strcspn(p, " ,");
		if (len && !(keys[n++] = strndup(p, len))) {
			for (size_t i = 0; i + 1 < n; i++)
				free(keys[i]);
			free(keys);
			return NULL;
		}
		p += len;
	}
	return keys;
}

static void tacws_feed_destroy(tacws_feed *f);

int tacws_feed_create(tacws_server *srv, tacws_plugin_ctx *plugin,
		      const tacws_feed_desc *desc, long interval_ms, tacws_feed **out, char *err,
		      size_t errlen)
{
	const char *ep = desc->endpoint;
	size_t base_len = strcspn(ep, "/");
	if (base_len == 0 || base_len > 64) {
		snprintf(err, errlen, "endpoint '%s' needs a name of 1-64 characters", ep);
		return -EINVAL;
	}
	for (size_t i = 0; i < base_len; i++)
		if (!name_char(ep[i], true) || (ep[i] >= 'A' && ep[i] <= 'Z')) {
			snprintf(err, errlen, "endpoint '%s': use a-z 0-9 - _", ep);
			return -EINVAL;
		}
	const char *rest = ep + base_len;
	size_t pname_len = 0;
	if (*rest) {
		/* One parameter segment: "/{name}". */
		pname_len = strlen(rest) - 3;
		bool ok = strlen(rest) >= 4 && rest[1] == '{' && rest[strlen(rest) - 1] == '}' &&
			  pname_len <= 32;
		for (size_t i = 0; ok && i < pname_len; i++)
			ok = name_char(rest[2 + i], false);
		if (!ok) {
			snprintf(err, errlen, "endpoint '%s': the parameter must be one /{name}", ep);
			return -EINVAL;
		}
	}
	if (!*desc->message_type) {
		snprintf(err, errlen, "endpoint '%s' has an empty message_type", ep);
		return -EINVAL;
	}
	tacws_feed *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->srv = srv;
	f->plugin = plugin;
	f->base = strndup(ep, base_len);
	f->endpoint = strdup(ep);
	f->param_name = pname_len ? strndup(rest + 2, pname_len) : NULL;
	f->type = strdup(desc->message_type);
	f->type_json = json_literal(desc->message_type);
	f->snapshot = desc->snapshot;
	f->arg = desc->arg;
	f->webhook_data = desc->webhook_data;
	f->default_interval_ms = desc->default_interval_ms;
	tacws_feed_set_interval(f, interval_ms);
	size_t nkeys = 0;
	while (desc->config_keys && desc->config_keys[nkeys])
		nkeys++;
	if (nkeys) {
		f->config_keys = calloc(nkeys + 1, sizeof *f->config_keys);
		for (size_t i = 0; f->config_keys && i < nkeys; i++)
			f->config_keys[i] = strdup(desc->config_keys[i]);
	}
	f->delta_keys = delta_keys_split(srv ? srv->cfg->delta_keys : NULL);
	if (!f->base || !f->endpoint || !f->type || !f->type_json || (pname_len && !f->param_name) ||
	    (nkeys && !f->config_keys) || !f->delta_keys) {
		tacws_feed_destroy(f);
		return -ENOMEM;
	}
	if (pname_len) {
		const char *pattern = desc->param_pattern ? desc->param_pattern : DEFAULT_PARAM_PATTERN;
		char anchored[512];
		snprintf(anchored, sizeof anchored, "^(%s)$", pattern);
		if (regcomp(&f->param_re, anchored, REG_EXTENDED | REG_NOSUB)) {
			snprintf(err, errlen, "endpoint '%s': bad param_pattern '%s'", ep, pattern);
			free(f->param_name);
			f->param_name = NULL; /* no regex to free */
			tacws_feed_destroy(f);
			return -EINVAL;
		}
	}
	*out = f;
	return 0;
}

static void tacws_feed_destroy(tacws_feed *f)
{
	if (!f)
		return;
	tacws_feed_drop_topics(f);
	if (f->param_name)
		regfree(&f->param_re);
	for (char **k = f->config_keys; k && *k; k++)
		free(*k);
	free(f->config_keys);
	for (char **k = f->delta_keys; k && *k; k++)
		free(*k);
	free(f->delta_keys);
	free(f->base);
	free(f->endpoint);
	free(f->param_name);
	free(f->type);
	free(f->type_json);
	free(f->index);
	free(f);
}

tacws_feed *tacws_feed_find(tacws_server *srv, const char *name, size_t len)
{
	for (size_t i = 0; i < srv->n_feeds; i++)
		if (strlen(srv->feeds[i]->base) == len && !memcmp(srv->feeds[i]->base, name, len))
			return srv->feeds[i];
	return NULL;
}

bool tacws_feed_param_ok(const tacws_feed *feed, const char *param)
{
	if (!feed->param_name)
		return param == NULL;
	return param && *param && strlen(param) <= MAX_PARAM_LEN &&
	       !regexec(&feed->param_re, param, 0, NULL, 0);
}

/* The topic index: a client that creates topics by the thousand must not make
 * each lookup walk them all (issue 13, F1). FNV-1a over the parameter. */
static size_t param_hash(const char *param)
{
	size_t h = 1469598103934665603ULL & SIZE_MAX;
	for (const char *p = param ? param : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * (size_t)1099511628211ULL;
	return h;
}

static bool same_param(const tacws_topic *t, const char *param)
{
	return (!param && !t->param) || (param && t->param && !strcmp(param, t->param));
}

/* Doubles the buckets when the feed holds more topics than buckets. */
static int index_grow(tacws_feed *feed)
{
	if (feed->topics.count < feed->index_size)
		return 0;
	size_t size = feed->index_size ? feed->index_size * 2 : 16;
	tacws_topic **buckets = calloc(size, sizeof *buckets);
	if (!buckets)
		return -ENOMEM;
	for (size_t i = 0; i < feed->index_size; i++)
		for (tacws_topic *t = feed->index[i], *next; t; t = next) {
			next = t->index_next;
			t->index_next = buckets[t->hash & (size - 1)];
			buckets[t->hash & (size - 1)] = t;
		}
	free(feed->index);
	feed->index = buckets;
	feed->index_size = size;
	return 0;
}

static void index_remove(tacws_topic *t)
{
	tacws_feed *feed = t->feed;
	if (!feed->index_size)
		return;
	for (tacws_topic **at = &feed->index[t->hash & (feed->index_size - 1)]; *at;
	     at = &(*at)->index_next)
		if (*at == t) {
			*at = t->index_next;
			return;
		}
}

static tacws_topic *topic_find(tacws_feed *feed, const char *param)
{
	if (!feed->index_size)
		return NULL;
	size_t h = param_hash(param);
	for (tacws_topic *t = feed->index[h & (feed->index_size - 1)]; t; t = t->index_next)
		if (t->hash == h && same_param(t, param))
			return t;
	return NULL;
}

int tacws_feed_topic_room(tacws_feed *feed, const char *param, bool *creates)
{
	*creates = !topic_find(feed, param);
	return *creates && (long)feed->topics.count >= feed->srv->cfg->max_topics ? -ENOSPC : 0;
}

static void topic_closed(uv_handle_t *timer)
{
	free(timer->data);
}

static void cluster_forget(tacws_topic *t);
static void events_forget(tacws_topic *t);

static void topic_free(tacws_topic *t)
{
	uv_timer_stop(&t->timer);
	cluster_forget(t);
	events_forget(t);
	index_remove(t);
	lws_dll2_remove(&t->feed_link);
	tacws_msg_unref(t->cached);
	free(t->last_data);
	json_object_put(t->last_doc);
	free(t->param);
	free(t->param_json);
	if (t->cl.refs)
		t->cl.dead = true; /* the broker's last answer closes it */
	else
		uv_close((uv_handle_t *)&t->timer, topic_closed); /* frees t */
}

static bool cluster_waits(const tacws_topic *t);

static void run_poll(tacws_job *job);
static void topic_start_poll(tacws_topic *t);

static void on_timer(uv_timer_t *timer)
{
	tacws_topic *t = timer->data;
	if (t->subs.count) {
		/* linked and another node polls: its changes come through the broker */
		if (!cluster_waits(t))
			topic_start_poll(t);
	} else if (!t->in_flight) {
		topic_free(t); /* idle for topic_idle_s: forget it */
	}
}

static void topic_schedule(tacws_topic *t, long delay_ms)
{
	uv_timer_start(&t->timer, on_timer, (uint64_t)(delay_ms > 0 ? delay_ms : 0), 0);
}

/* A fresh epoch: a topic created again (after idle expiry, a restart) starts
 * a history of seqs that a client's since cannot be measured against. */
static void epoch_new(tacws_server *srv, char out[TOPIC_EPOCH_LEN + 1])
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[TOPIC_EPOCH_LEN];
	if (lws_get_random(srv->lws, r, sizeof r) != sizeof r) {
		/* no entropy source: still unlikely to repeat across restarts */
		uint64_t x = (uint64_t)lws_now_usecs() ^ (uintptr_t)out;
		for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
			r[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < TOPIC_EPOCH_LEN; i++)
		out[i] = alphabet[r[i] & 63];
	out[TOPIC_EPOCH_LEN] = '\0';
}

static void cluster_join(tacws_topic *t);

static tacws_topic *topic_create(tacws_feed *feed, const char *param)
{
	tacws_topic *t = index_grow(feed) ? NULL : calloc(1, sizeof *t);
	if (!t)
		return NULL;
	epoch_new(feed->srv, t->epoch);
	if (param && (!(t->param = strdup(param)) || !(t->param_json = json_literal(param)))) {
		free(t->param);
		free(t);
		return NULL;
	}
	uv_timer_init(feed->srv->loop, &t->timer);
	t->timer.data = t;
	t->feed = feed;
	t->job.topic = t;
	t->job.job.run = run_poll;
	lws_dll2_add_tail(&t->feed_link, &feed->topics);
	t->cl.diverged = true; /* a fresh epoch of this node's until the broker's is known */
	cluster_join(t);
	t->hash = param_hash(param);
	t->index_next = feed->index[t->hash & (feed->index_size - 1)];
	feed->index[t->hash & (feed->index_size - 1)] = t;
	return t;
}

static bool topic_wants_delta(tacws_topic *t)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&t->subs)) {
		if (lws_container_of(d, tacws_sub, topic_link)->opts.delta)
			return true;
	}
	lws_end_foreach_dll(d);
	return false;
}

static tacws_broker *topic_broker(const tacws_topic *t);

static void topic_start_poll(tacws_topic *t)
{
	if (t->in_flight || t->cl.committing) {
		t->poll_again = true;
		return;
	}
	uv_timer_stop(&t->timer);
	t->in_flight = true;
	t->poll_again = false;
	t->job.rc = 0;
	t->job.err[0] = '\0';
	t->job.data = NULL;
	t->job.msg = NULL;
	t->job.doc = NULL;
	t->job.delta = NULL;
	t->job.patch = NULL;
	/* the holder of a cluster's topic makes the delta for every node's subscribers */
	t->job.want_delta = topic_wants_delta(t) || (t->cl.held && topic_broker(t));
	tacws_workers_submit(t->feed->srv->workers, &t->job.job);
}

/* The envelope, built once per change or event and shared by all subscribers:
 * {"type","<param name>","data","timestamp","seq","epoch"}; a delta's has
 * "delta":<patch>,"base_seq":<seq - 1> in place of "data" and no epoch; an event's has
 * "offset":<its place in the topic's events> after the epoch (offset 0: none). */
static tacws_msg *build_frame(const tacws_feed *feed, const tacws_topic *t, const char *type_json,
			      const char *member, const char *value, uint64_t base_seq, uint64_t seq,
			      uint64_t offset)
{
	char ts[32];
	tacws_now_iso(ts, sizeof ts);
	char param[MAX_PARAM_LEN + 48] = "";
	if (feed->param_name && t->param_json)
		snprintf(param, sizeof param, "\"%s\":%s,", feed->param_name, t->param_json);
	char base[48] = "", epoch[TOPIC_EPOCH_LEN + 48] = "";
	if (!strcmp(member, "delta"))
		snprintf(base, sizeof base, "\"base_seq\":%llu,", (unsigned long long)base_seq);
	else if (offset)
		snprintf(epoch, sizeof epoch, ",\"epoch\":\"%s\",\"offset\":%llu", t->epoch,
			 (unsigned long long)offset);
	else
		snprintf(epoch, sizeof epoch, ",\"epoch\":\"%s\"", t->epoch);
	const char *fmt = "{\"type\":%s,%s\"%s\":%s,%s\"timestamp\":\"%s\",\"seq\":%llu%s}";
	int len = snprintf(NULL, 0, fmt, type_json, param, member, value, base, ts,
			   (unsigned long long)seq, epoch);
	if (len < 0)
		return NULL;
	tacws_msg *m = tacws_msg_new((size_t)len);
	if (m)
		snprintf(tacws_msg_data(m), (size_t)len + 1, fmt, type_json, param, member, value, base,
			 ts, (unsigned long long)seq, epoch);
	return m;
}

static tacws_msg *build_envelope(const tacws_feed *feed, const tacws_topic *t, const char *type_json,
				 const char *data, uint64_t seq)
{
	return build_frame(feed, t, type_json, "data", data, 0, seq, 0);
}

/* An event's frame: offset 0 when it has no place in the history (cut off from it). */
static tacws_msg *build_event(tacws_topic *t, const char *type_json, const char *data,
			      uint64_t offset)
{
	return build_frame(t->feed, t, type_json, "data", data, 0, t->seq, offset);
}

/* The events kept for resume: the last history_max of one contiguous run of offsets,
 * ending at event_offset (the last one seen in this epoch). A gap starts a new run. */
static void events_clear(tacws_topic *t)
{
	for (size_t i = 0; i < t->events_n; i++)
		tacws_msg_unref(t->events[(t->events_head + i) % t->events_cap]);
	t->events_n = t->events_head = 0;
}

static void events_forget(tacws_topic *t)
{
	events_clear(t);
	free(t->events);
	t->events = NULL;
	t->events_cap = 0;
	t->event_offset = 0;
}

static void events_keep(tacws_topic *t, uint64_t offset, tacws_msg *m)
{
	if (offset != t->event_offset + 1)
		events_clear(t);
	t->event_offset = offset;
	if (!t->events) {
		size_t cap = t->feed->srv ? (size_t)t->feed->srv->cfg->history_max : 1000;
		if (!(t->events = calloc(cap, sizeof *t->events)))
			return;
		t->events_cap = cap;
	}
	if (t->events_n == t->events_cap) {
		tacws_msg_unref(t->events[t->events_head]);
		t->events_head = (t->events_head + 1) % t->events_cap;
		t->events_n--;
	}
	t->events[(t->events_head + t->events_n++) % t->events_cap] = tacws_msg_ref(m);
}

/* Whether the events after offset are all here (none missed: true). */
static bool events_cover(const tacws_topic *t, uint64_t offset)
{
	if (offset >= t->event_offset)
		return offset == t->event_offset;
	return t->events_n && t->event_offset - t->events_n <= offset;
}

/* The events after offset, in order, to conn (events_cover said they are here). */
static void events_replay(tacws_conn *conn, const tacws_topic *t, uint64_t offset)
{
	for (uint64_t o = offset + 1; o <= t->event_offset; o++)
		tacws_conn_push(conn, NULL, t->feed,
				t->events[(t->events_head + (size_t)(t->events_n - (t->event_offset - o) - 1)) %
					  t->events_cap]);
}

/* On a worker: the delta frame from base (the topic's last document) to doc, or NULL
 * when there is no base, the patch cannot be made, or it is not smaller than
 * the full message of full_len bytes. *text gets the patch's text with a frame, else NULL. */
static tacws_msg *build_delta(const tacws_feed *feed, const tacws_topic *t, json_object *base,
			      json_object *doc, size_t full_len, char **text)
{
	json_object *patch = NULL;
	*text = NULL;
	if (!base || !t->seq ||
	    tacws_delta_diff(base, doc, (const char *const *)feed->delta_keys, &patch))
		return NULL;
	const char *s = json_object_to_json_string_ext(
		patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	tacws_msg *m = s ? build_frame(feed, t, feed->type_json, "delta", s, t->seq, t->seq + 1, 0) : NULL;
	if (m && m->len >= full_len) {
		tacws_msg_unref(m);
		m = NULL;
	}
	if (m && !(*text = strdup(s))) {
		tacws_msg_unref(m);
		m = NULL;
	}
	json_object_put(patch);
	return m;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* On a worker: the topic's fields it reads do not change while in flight. */
static void run_poll(tacws_job *job)
{
	struct topic_job *tj = lws_container_of(job, struct topic_job, job);
	tacws_topic *t = tj->topic;
	tacws_feed *feed = t->feed;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	json_object *data = NULL;
	int rc = feed->snapshot(feed->arg, t->param, &data, tj->err, sizeof tj->err);
	tj->seconds = seconds_since(&start);
	tj->err[sizeof tj->err - 1] = '\0';
	if (rc > 0)
		rc = -EIO; /* not the convention: treat as a failure */
	if (rc && !tj->err[0])
		snprintf(tj->err, sizeof tj->err, "snapshot failed: %s", strerror(-rc));
	tj->rc = rc;
	if (!data)
		return;
	const char *s = json_object_to_json_string_ext(
		data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s && (!t->last_data || strcmp(s, t->last_data))) {
		tj->data = strdup(s);
		tj->msg = tj->data ? build_envelope(feed, t, feed->type_json, s, t->seq + 1) : NULL;
		if (!tj->msg) {
			free(tj->data);
			tj->data = NULL;
			tj->rc = -ENOMEM;
			snprintf(tj->err, sizeof tj->err, "out of memory building the message");
		} else {
			if (tj->want_delta) {
				/* a new holder keeps no document yet: its base from the text */
				json_object *base = t->last_doc, *parsed = NULL;
				if (!base && t->last_data && t->seq)
					base = parsed = json_tokener_parse(t->last_data);
				tj->delta = build_delta(feed, t, base, data, tj->msg->len, &tj->patch);
				json_object_put(parsed);
			}
			tj->doc = json_object_get(data);
		}
	}
	json_object_put(data);
}

/* A subscriber gets the delta only on the base it holds: the last snapshot
 * handed to its connection is base_seq and none is waiting in its queue
 * (a waiting one would be replaced by this one, skipping a seq). */
static tacws_msg *msg_for(const tacws_sub *sub, tacws_msg *full, tacws_msg *delta, uint64_t base_seq)
{
	return delta && sub->opts.delta && !sub->pending && sub->last_seq == base_seq ? delta : full;
}

/* Whether sub gets the live event of offset (0: none): not while the broker's history is
 * read for it (the topic's ring keeps it for after), nor one that history replayed. */
static bool event_wanted(const tacws_sub *sub, const tacws_topic *t, uint64_t offset)
{
	if (sub->history)
		return false;
	return !offset || offset > sub->replayed || strcmp(sub->replayed_epoch, t->epoch);
}

/* An event (its offset, or 0): to every subscriber, never coalesced. */
static void fan_out(tacws_topic *t, tacws_msg *msg, uint64_t offset)
{
	/* Each delivery reads three cold objects: the sub, its connection, lws's wsi.
	 * Fetching the next sub's connection while this one is written hides a miss. */
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&t->subs)) {
		tacws_sub *sub = lws_container_of(d, tacws_sub, topic_link);
		if (d->next)
			__builtin_prefetch(lws_container_of(d->next, tacws_sub, topic_link)->conn);
		if (event_wanted(sub, t, offset))
			tacws_conn_push(sub->conn, NULL, t->feed, msg);
	}
	lws_end_foreach_dll(d);
}

static void subscribe_deliver(tacws_conn *conn, tacws_sub *sub, tacws_topic *t);

/* A change: its snapshot, or its delta (on base_seq) to those that can apply it. A
 * subscriber still waiting for its first answer gets that instead. */
static void fan_out_change(tacws_topic *t, tacws_msg *full, tacws_msg *delta, uint64_t base_seq)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&t->subs)) {
		tacws_sub *sub = lws_container_of(d, tacws_sub, topic_link);
		if (d->next)
			__builtin_prefetch(lws_container_of(d->next, tacws_sub, topic_link)->conn);
		if (!sub->greeted) {
			subscribe_deliver(sub->conn, sub, t);
		} else {
			tacws_msg *m = msg_for(sub, full, delta, base_seq);
			sub->last_seq = t->seq;
			tacws_conn_push(sub->conn, sub, t->feed, m);
		}
	}
	lws_end_foreach_dll(d);
}

/* Makes data the topic's state at seq (and epoch, when not NULL) and hands it to the
 * subscribers. Takes data, doc, msg and delta; msg and delta (may be NULL) were built for
 * seq on the topic's current epoch, else msg is built here. */
static void topic_apply(tacws_topic *t, char *data, json_object *doc, tacws_msg *msg,
			tacws_msg *delta, uint64_t seq, const char *epoch)
{
	tacws_feed *feed = t->feed;
	if (epoch && strcmp(epoch, t->epoch)) {
		snprintf(t->epoch, sizeof t->epoch, "%s", epoch);
		events_clear(t); /* offsets count within an epoch */
		t->event_offset = 0;
		tacws_msg_unref(msg);
		msg = NULL;
	}
	uint64_t base_seq = t->seq;
	if (seq != base_seq + 1 || !msg) {
		tacws_msg_unref(delta);
		delta = NULL;
	}
	t->seq = seq;
	if (!msg && !(msg = build_envelope(feed, t, feed->type_json, data, seq))) {
		t->seq = base_seq;
		tacws_log_warn("feed", "%s: out of memory building a message", feed->base);
		free(data);
		json_object_put(doc);
		return;
	}
	free(t->last_data);
	t->last_data = data;
	tacws_msg_unref(t->cached);
	t->cached = msg;
	json_object_put(t->last_doc);
	t->last_doc = NULL; /* a delta's base: kept only while someone takes deltas */
	if (doc && (topic_wants_delta(t) || t->cl.held))
		t->last_doc = doc;
	else
		json_object_put(doc);
	feed->stats.changes++;
	tacws_now_iso(feed->stats.last_change_at, sizeof feed->stats.last_change_at);
	fan_out_change(t, msg, delta, base_seq);
	tacws_msg_unref(delta);
}

/* Cut off from the broker: changes from now on make a history of this node's own. */
static void topic_diverge(tacws_topic *t)
{
	epoch_new(t->feed->srv, t->epoch);
	t->cl.diverged = true;
	events_clear(t);
	t->event_offset = 0;
}

static bool cluster_apply_deferred(tacws_topic *t);
static void cluster_commit(tacws_topic *t, char *data, json_object *doc, tacws_msg *msg,
			   tacws_msg *delta, char *patch);

static void finish_poll(tacws_topic *t)
{
	struct topic_job *tj = &t->job;
	tacws_feed *feed = t->feed;
	tacws_server *srv = feed->srv;
	t->in_flight = false;
	feed->stats.polls++;
	feed->stats.poll_seconds += tj->seconds;
	for (int i = 0; i < TACWS_POLL_BUCKETS; i++)
		if (tj->seconds <= tacws_poll_bucket_bounds[i]) {
			feed->stats.poll_buckets[i]++;
			break;
		}
	if (tj->rc) {
		feed->stats.poll_errors++;
		/* status pages show it without credentials, queries or local paths */
		char shown[sizeof feed->stats.last_error];
		tacws_redact(tj->err, shown, sizeof shown);
		bool same = !strcmp(feed->stats.last_error, shown);
		snprintf(feed->stats.last_error, sizeof feed->stats.last_error, "%s", shown);
		tacws_now_iso(feed->stats.last_error_at, sizeof feed->stats.last_error_at);
		long base = feed->interval_ms > 1000 ? feed->interval_ms : 1000;
		long cap = feed->interval_ms > BACKOFF_CAP_MS ? feed->interval_ms : BACKOFF_CAP_MS;
		t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : base * 2;
		if (t->backoff_ms > cap)
			t->backoff_ms = cap;
		/* Every failure at debug; a new reason at warn, so a dead source does not flood. */
		tacws_log(same ? TACWS_LOG_DEBUG : TACWS_LOG_WARN, "feed",
			  "%s%s%s: poll failed: %s (next try in %ld ms)", feed->base,
			  t->param ? "/" : "", t->param ? t->param : "", tj->err, t->backoff_ms);
	} else if (t->backoff_ms) {
		tacws_log_info("feed", "%s%s%s: recovered", feed->base, t->param ? "/" : "",
			       t->param ? t->param : "");
		t->backoff_ms = 0;
	}
	if (srv->broker && !topic_broker(t))
		srv->cluster.local_polls++;
	if (cluster_apply_deferred(t)) {
		/* built on a state the broker replaced meanwhile */
		tacws_msg_unref(tj->msg);
		tacws_msg_unref(tj->delta);
		tj->msg = tj->delta = NULL;
	}
	if (tj->data && t->last_data && !strcmp(tj->data, t->last_data)) {
		tacws_msg_unref(tj->msg);
		tacws_msg_unref(tj->delta);
		json_object_put(tj->doc);
		free(tj->data);
	} else if (tj->data && topic_broker(t)) {
		if (t->cl.held) {
			cluster_commit(t, tj->data, tj->doc, tj->msg, tj->delta, tj->patch);
			tj->patch = NULL;
		} else { /* the lease went while it polled: the new holder's poll counts */
			tacws_msg_unref(tj->msg);
			tacws_msg_unref(tj->delta);
			json_object_put(tj->doc);
			free(tj->data);
		}
	} else if (tj->data) {
		if (srv->broker && !t->cl.diverged) {
			topic_diverge(t); /* cut off from the broker */
			tacws_msg_unref(tj->msg);
			tacws_msg_unref(tj->delta);
			tj->msg = tj->delta = NULL;
		}
		topic_apply(t, tj->data, tj->doc, tj->msg, tj->delta, t->seq + 1, NULL);
	}
	tj->data = NULL;
	tj->msg = NULL;
	tj->doc = NULL;
	tj->delta = NULL;
	free(tj->patch);
	tj->patch = NULL;
	t->last_poll_end = lws_now_usecs();
	if (srv->stopping)
		return;
	if (!t->subs.count)
		topic_schedule(t, srv->cfg->topic_idle_s * 1000);
	else if (t->poll_again && !t->backoff_ms)
		topic_start_poll(t);
	else
		topic_schedule(t, t->backoff_ms ? t->backoff_ms : feed->interval_ms);
}

void tacws_feed_collect(tacws_server *srv)
{
	tacws_job *job = tacws_workers_take_done(srv->workers);
	while (job) {
		tacws_job *next = job->next;
		finish_poll(lws_container_of(job, struct topic_job, job)->topic);
		job = next;
	}
}

/* {"type":"resumed","topic","seq","epoch","recovered"}: what a resuming client holds. */
static void send_resumed(tacws_conn *conn, const tacws_topic *t, bool recovered)
{
	char name[TACWS_BASE_MAX + TACWS_PARAM_MAX + 2];
	snprintf(name, sizeof name, "%s%s%s", t->feed->base, t->param ? "/" : "",
		 t->param ? t->param : "");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("resumed"));
	json_object_object_add(o, "topic", json_object_new_string(name));
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)t->seq));
	json_object_object_add(o, "epoch", json_object_new_string(t->epoch));
	json_object_object_add(o, "recovered", json_object_new_boolean(recovered));
	tacws_conn_send_json(conn, o);
}

/* The first answer to sub: "resumed" (recovered or not) and/or the cached snapshot. */
static void subscribe_greet(tacws_conn *conn, tacws_sub *sub, tacws_topic *t, bool recovered)
{
	const tacws_sub_options *o = &sub->opts;
	sub->greeted = true;
	bool holds_current = recovered && o->since == t->seq && t->cached;
	if (o->resume && (!recovered || holds_current))
		send_resumed(conn, t, recovered);
	if (!t->cached)
		return; /* the first poll brings the snapshot */
	sub->last_seq = t->seq;
	if (!holds_current)
		tacws_conn_enqueue(conn, sub, t->feed, t->cached);
}

static bool history_start(tacws_sub *sub, tacws_topic *t, uint64_t since);

/* A resume this topic's history of seqs can serve: same epoch, a seq it had. */
static bool resumable(const tacws_sub *sub, const tacws_topic *t)
{
	const tacws_sub_options *o = &sub->opts;
	return o->resume && !strcmp(o->epoch, t->epoch) && o->since <= t->seq;
}

/* What a new subscription gets now: the cached snapshot; on a resume from the
 * seq the topic is at (same epoch), only "resumed"; on a resume this topic's
 * history cannot serve (another epoch, a seq it never had), "resumed" with
 * "recovered": false before the snapshot. The events after the client's offset follow,
 * from this node's ring, or in a cluster from the broker's history when the ring does not
 * reach back (the answer comes later). */
static void subscribe_deliver(tacws_conn *conn, tacws_sub *sub, tacws_topic *t)
{
	const tacws_sub_options *o = &sub->opts;
	if (sub->history)
		return; /* greeted when the broker's history answers */
	bool can = resumable(sub, t);
	if (can && o->has_offset && !events_cover(t, o->offset) && t->cached &&
	    history_start(sub, t, o->offset))
		return;
	bool recovered = can && (!o->has_offset || events_cover(t, o->offset));
	subscribe_greet(conn, sub, t, recovered);
	if (recovered && o->has_offset && t->cached)
		events_replay(conn, t, o->offset); /* then live ones: no gap, none twice */
}

static void cluster_lease_acquire(tacws_topic *t);

tacws_sub *tacws_subscribe(tacws_conn *conn, tacws_feed *feed, const char *param)
{
	return tacws_subscribe_with(conn, feed, param, NULL);
}

tacws_sub *tacws_subscribe_with(tacws_conn *conn, tacws_feed *feed, const char *param,
				const tacws_sub_options *opts)
{
	tacws_topic *t = topic_find(feed, param);
	if (!t && !(t = topic_create(feed, param)))
		return NULL;
	tacws_sub *sub = calloc(1, sizeof *sub);
	if (!sub) {
		if (!t->subs.count && !t->in_flight && !t->last_poll_end)
			topic_free(t);
		return NULL;
	}
	sub->topic = t;
	if (opts)
		sub->opts = *opts;
	bool was_idle = t->subs.count == 0;
	lws_dll2_add_tail(&sub->topic_link, &t->subs);
	tacws_conn_attach(conn, sub);
	feed->stats.subscribers++;
	/* in a cluster, a topic new to this node waits for its state from the broker */
	if (!topic_broker(t) || t->cl.synced || t->cached)
		subscribe_deliver(conn, sub, t);
	if (opts && opts->delta && !t->last_doc && t->last_data && !t->in_flight)
		t->last_doc = json_tokener_parse(t->last_data); /* the base of the next delta */
	if (t->in_flight || !was_idle)
		return sub; /* the poll under way or scheduled serves this one too */
	if (topic_broker(t) && !t->cl.held) {
		cluster_lease_acquire(t); /* the holder polls; the change comes through the broker */
		return sub;
	}
	lws_usec_t age = lws_now_usecs() - t->last_poll_end;
	long due = feed->interval_ms - (long)(age / LWS_US_PER_MS);
	if (!t->last_poll_end || (due <= 0 && !t->backoff_ms))
		topic_start_poll(t); /* first subscriber, or a stale cache */
	else
		topic_schedule(t, t->backoff_ms ? t->backoff_ms : (due > 0 ? due : 1));
	return sub;
}

void tacws_unsubscribe(tacws_sub *sub)
{
	tacws_topic *t = sub->topic;
	if (sub->history)
		sub->history->sub = NULL; /* its answer finds nobody */
	tacws_conn_detach(sub);
	lws_dll2_remove(&sub->topic_link);
	t->feed->stats.subscribers--;
	free(sub);
	if (!t->subs.count && !t->in_flight && !t->feed->srv->stopping)
		topic_schedule(t, t->feed->srv->cfg->topic_idle_s * 1000);
}

/* The topic's name in the cluster: "base" or "base/param". */
static void name_of(const tacws_feed *feed, const char *param, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", feed->base, param ? "/" : "", param ? param : "");
}

static int cluster_event(tacws_server *srv, const char *name, const char *type_json,
			 const char *data);

long tacws_feed_poll_now(tacws_feed *feed, const char *param)
{
	long polled = 0;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&feed->topics)) {
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		if (t->subs.count && (!param || (t->param && !strcmp(param, t->param)))) {
			tacws_broker *b = topic_broker(t);
			char name[TACWS_BROKER_TOPIC_MAX];
			name_of(feed, t->param, name, sizeof name);
			if (!b || t->cl.held)
				topic_start_poll(t);
			else if (!tacws_broker_request_poll(b, name)) /* the holder polls */
				feed->srv->cluster.poll_requests++;
			polled++;
		}
	}
	lws_end_foreach_dll_safe(d, d1);
	return polled;
}

int tacws_feed_publish(tacws_feed *feed, const char *param, const char *type, json_object *data)
{
	int queued = 0;
	char *type_json = json_literal(type);
	const char *s = json_object_to_json_string_ext(
		data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char name[TACWS_BROKER_TOPIC_MAX];
	tacws_server *srv = feed->srv;
	if (srv && srv->broker && type_json && s && (param || !feed->param_name)) {
		/* one topic: the other nodes' subscribers get it even when this node has none */
		tacws_topic *here = topic_find(feed, param);
		name_of(feed, param, name, sizeof name);
		if (!here || !here->subs.count)
			cluster_event(srv, name, type_json, s);
	}
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&feed->topics)) {
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		/* no continue here: lws_start_foreach_dll advances at its end */
		if (type_json && s && t->subs.count &&
		    (!param || (t->param && !strcmp(param, t->param)))) {
			name_of(feed, t->param, name, sizeof name);
			/* through the broker when linked: every node's subscribers, this one's too */
			tacws_msg *m = NULL;
			if (!srv || !srv->broker) {
				m = build_event(t, type_json, s, t->event_offset + 1);
				if (m)
					events_keep(t, t->event_offset + 1, m);
			} else if (cluster_event(srv, name, type_json, s)) {
				/* cut off: no place in the cluster's history (a resume across it
				 * is not recovered) */
				events_clear(t);
				t->event_offset = 0;
				m = build_event(t, type_json, s, 0);
			}
			queued += m ? 0 : (int)t->subs.count;
			if (m) {
				fan_out(t, m, t->event_offset);
				queued += (int)t->subs.count;
				tacws_msg_unref(m);
			}
		}
	}
	lws_end_foreach_dll(d);
	feed->stats.events++;
	free(type_json);
	json_object_put(data);
	return queued;
}

void tacws_feed_drop_topics(tacws_feed *feed)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&feed->topics)) {
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		while (t->subs.head)
			tacws_unsubscribe(lws_container_of(t->subs.head, tacws_sub, topic_link));
		tacws_msg_unref(t->job.msg);
		tacws_msg_unref(t->job.delta);
		json_object_put(t->job.doc);
		free(t->job.data);
		free(t->job.patch);
		topic_free(t);
	}
	lws_end_foreach_dll_safe(d, d1);
}

bool tacws_sub_is(const tacws_sub *sub, const tacws_feed *feed, const char *param)
{
	return sub->topic->feed == feed && same_param(sub->topic, param);
}

bool tacws_feed_quiesce(tacws_feed *feed)
{
	bool busy = false;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&feed->topics))
	{
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		t->poll_again = false; /* a poll that ends now does not start another */
		busy |= t->in_flight;
	}
	lws_end_foreach_dll(d);
	return busy;
}

int tacws_feed_webhook_data(tacws_feed *feed, const char *event, json_object *payload,
			    json_object **data)
{
	if (!feed->webhook_data) {
		*data = json_object_get(payload);
		return 0;
	}
	*data = NULL;
	return feed->webhook_data(feed->arg, event, payload, data);
}

void tacws_feed_count_sent(tacws_feed *feed, size_t bytes)
{
	feed->stats.messages_sent++;
	feed->stats.bytes_sent += bytes;
}

const char *tacws_feed_base(const tacws_feed *feed)
{
	return feed->base;
}

const char *tacws_feed_endpoint(const tacws_feed *feed)
{
	return feed->endpoint;
}

const char *tacws_feed_type(const tacws_feed *feed)
{
	return feed->type;
}

tacws_plugin_ctx *tacws_feed_plugin(const tacws_feed *feed)
{
	return feed->plugin;
}

bool tacws_feed_has_param(const tacws_feed *feed)
{
	return feed->param_name != NULL;
}

bool tacws_feed_accepts_key(const tacws_feed *feed, const char *key)
{
	if (!strcmp(key, "plugin") || !strcmp(key, "enabled") || !strcmp(key, "interval_ms"))
		return true;
	for (char **k = feed->config_keys; k && *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

long tacws_feed_interval(const tacws_feed *feed)
{
	return feed->interval_ms;
}

long tacws_feed_set_interval(tacws_feed *feed, long configured_ms)
{
	long was = feed->interval_ms;
	long ms = configured_ms ? configured_ms : feed->default_interval_ms;
	feed->interval_ms = ms > 0 ? ms : DEFAULT_INTERVAL_MS;
	return was;
}

void tacws_feed_get_stats(const tacws_feed *feed, tacws_feed_stats *stats)
{
	*stats = feed->stats;
	stats->topics = stats->failing_topics = stats->leases_held = 0;
	stats->seq = 0;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head((lws_dll2_owner_t *)&feed->topics)) {
		const tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		if (t->seq > stats->seq)
			stats->seq = t->seq;
		stats->topics++;
		stats->failing_topics += t->backoff_ms != 0;
		stats->leases_held += t->cl.held;
	}
	lws_end_foreach_dll(d);
}

#define SWAP(a, b)                             \
	do {                                   \
		__typeof__(a) swap_tmp_ = (a); \
		(a) = (b);                     \
		(b) = swap_tmp_;               \
	} while (0)

int tacws_feed_take_over(tacws_feed *feed, tacws_plugin_ctx *plugin, const tacws_feed_desc *desc,
			 long interval_ms, char *err, size_t errlen)
{
	if (strcmp(feed->endpoint, desc->endpoint)) {
		snprintf(err, errlen, "feed '%s' was '%s': a reload cannot change its parameter; "
			 "restart tacwsd", desc->endpoint, feed->endpoint);
		return -EINVAL;
	}
	tacws_feed *fresh;
	int rc = tacws_feed_create(feed->srv, plugin, desc, interval_ms, &fresh, err, errlen);
	if (rc)
		return rc;
	/* Swap what the descriptor defines; the old values go with fresh. */
	SWAP(feed->type, fresh->type);
	SWAP(feed->type_json, fresh->type_json);
	SWAP(feed->config_keys, fresh->config_keys);
	SWAP(feed->param_re, fresh->param_re);
	feed->snapshot = fresh->snapshot;
	feed->arg = fresh->arg;
	feed->webhook_data = fresh->webhook_data;
	feed->plugin = plugin;
	feed->default_interval_ms = fresh->default_interval_ms;
	feed->interval_ms = fresh->interval_ms;
	tacws_feed_destroy(fresh);
	return 0;
}

int tacws_feeds_add(tacws_server *srv, tacws_feed *feed)
{
	tacws_feed **grown = realloc(srv->feeds, (srv->n_feeds + 1) * sizeof *srv->feeds);
	if (!grown) {
		tacws_feed_destroy(feed);
		return -ENOMEM;
	}
	srv->feeds = grown;
	srv->feeds[srv->n_feeds++] = feed;
	return 0;
}

void tacws_feed_retire(tacws_server *srv, size_t i, const char *reason)
{
	tacws_feed *feed = srv->feeds[i];
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&feed->topics))
	{
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		lws_start_foreach_dll(struct lws_dll2 *, s, lws_dll2_get_head(&t->subs))
		{
			/* One socket, many feeds: only this one goes. */
			tacws_conn *conn = lws_container_of(s, tacws_sub, topic_link)->conn;
			if (tacws_conn_is_mux(conn))
				tacws_conn_send_error(conn, reason, feed->base);
			else
				tacws_conn_close(conn, LWS_CLOSE_STATUS_GOINGAWAY, reason);
		}
		lws_end_foreach_dll(s);
	}
	lws_end_foreach_dll(d);
	tacws_feed_drop_topics(feed);
	memmove(&srv->feeds[i], &srv->feeds[i + 1], (srv->n_feeds - i - 1) * sizeof *srv->feeds);
	srv->n_feeds--;
	tacws_feed **grown = realloc(srv->retired, (srv->n_retired + 1) * sizeof *grown);
	if (grown) {
		srv->retired = grown;
		srv->retired[srv->n_retired++] = feed;
	} /* else it leaks: freeing it would leave queued messages pointing at it */
}

void tacws_feeds_free(tacws_server *srv)
{
	for (size_t i = 0; i < srv->n_feeds; i++)
		tacws_feed_destroy(srv->feeds[i]);
	free(srv->feeds);
	srv->feeds = NULL;
	srv->n_feeds = 0;
	for (size_t i = 0; i < srv->n_retired; i++)
		tacws_feed_destroy(srv->retired[i]);
	free(srv->retired);
	srv->retired = NULL;
	srv->n_retired = 0;
}

int tacws_feed_snapshot(tacws_feed *feed, const char *param, json_object **data, char *err,
			size_t errlen)
{
	return feed->snapshot(feed->arg, param, data, err, errlen);
}

/* --- [cluster] ---
 * A topic's life in a cluster: created, it subscribes to its broker channel and reads the
 * broker's state (on_subscribed). While it has subscribers it tries to take its lease; the
 * holder alone polls and commits each change on top of the seq it last saw. Every node
 * (the holder too) hands a change to its subscribers when it arrives, from the broker's
 * message or the commit's answer, whichever is first: a seq not above the topic's is
 * dropped, so nothing is sent twice or out of order. While the topic's link is down the
 * node polls on its own under an epoch of its own, and adopts the broker's state again
 * when the link is back. */

static void cluster_name(const tacws_topic *t, char out[TACWS_BROKER_TOPIC_MAX])
{
	name_of(t->feed, t->param, out, TACWS_BROKER_TOPIC_MAX);
}

/* The broker when the topic's shard is linked, else NULL (alone, or cut off). */
static tacws_broker *topic_broker(const tacws_topic *t)
{
	tacws_server *srv = t->feed->srv;
	if (!srv || !srv->broker)
		return NULL;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	unsigned shard = tacws_broker_shard_of(name, srv->cfg->broker.n_shards);
	return tacws_broker_is_up(srv->broker, shard) ? srv->broker : NULL;
}

/* A linked topic that another node polls: its changes come through the broker. */
static bool cluster_waits(const tacws_topic *t)
{
	return !t->cl.held && topic_broker(t);
}

static void cluster_join(tacws_topic *t)
{
	tacws_server *srv = t->feed->srv;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	if (srv && srv->broker && tacws_broker_subscribe(srv->broker, name))
		tacws_log_warn("cluster", "%s: cannot subscribe to its broker channel", name);
}

/* A broker answer for t came: false when t was freed meanwhile (it goes with the last). */
static bool topic_answered(tacws_topic *t)
{
	t->cl.refs--;
	if (!t->cl.dead)
		return true;
	if (!t->cl.refs)
		uv_close((uv_handle_t *)&t->timer, topic_closed);
	return false;
}

static void cluster_drop_commit(tacws_topic *t)
{
	free(t->cl.data);
	json_object_put(t->cl.doc);
	tacws_msg_unref(t->cl.msg);
	tacws_msg_unref(t->cl.delta);
	free(t->cl.patch);
	t->cl.patch = NULL;
	t->cl.data = NULL;
	t->cl.doc = NULL;
	t->cl.msg = t->cl.delta = NULL;
}

static void lease_ignored(void *arg, int status, const char *token)
{
	(void)arg, (void)status, (void)token;
}

static void cluster_release(tacws_topic *t)
{
	tacws_server *srv = t->feed->srv;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	if (t->cl.held && srv->broker)
		tacws_broker_lease_release(srv->broker, name, t->cl.token, lease_ignored, NULL);
	t->cl.held = false;
}

static void cluster_forget(tacws_topic *t)
{
	tacws_server *srv = t->feed->srv;
	cluster_drop_commit(t);
	free(t->cl.in_data);
	t->cl.in_data = NULL;
	if (!srv || !srv->broker)
		return;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	cluster_release(t);
	tacws_broker_unsubscribe(srv->broker, name);
}

/* Its subscribers that wait for their first answer get it now. */
static void greet_waiting(tacws_topic *t)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&t->subs)) {
		tacws_sub *sub = lws_container_of(d, tacws_sub, topic_link);
		if (!sub->greeted)
			subscribe_deliver(sub->conn, sub, t);
	}
	lws_end_foreach_dll(d);
}

static bool same_data(const tacws_topic *t, const char *data, size_t len)
{
	return t->last_data && strlen(t->last_data) == len && !memcmp(t->last_data, data, len);
}

/* The broker's numbering (seq, epoch) for what t's subscribers already hold: taken without
 * sending them anything (they would get a change they have again, under another seq).
 * They keep the seq they hold, below t's: the next change is above it, as a full snapshot
 * (a delta's base is the seq a subscriber holds). */
static void topic_renumber(tacws_topic *t, uint64_t seq, const char *epoch)
{
	tacws_feed *feed = t->feed;
	if (strcmp(epoch, t->epoch)) {
		snprintf(t->epoch, sizeof t->epoch, "%s", epoch);
		events_clear(t); /* offsets count within an epoch */
		t->event_offset = 0;
	}
	t->seq = seq;
	tacws_msg *m = build_envelope(feed, t, feed->type_json, t->last_data, seq);
	if (m) { /* else newcomers get the old numbering: a resume across it is not recovered */
		tacws_msg_unref(t->cached);
		t->cached = m;
	}
}

static void cluster_catch_up(tacws_topic *t);

/* The broker's state is of another epoch and not above t's seq: taking it would show t's
 * subscribers seq going back (t numbered changes of its own while cut off, or the broker
 * lost its state). t keeps its own numbering until a change above it comes; the broker is
 * asked to number its next change above t's seq, and the holder stores its state now. */
static void cluster_ahead(tacws_topic *t, uint64_t broker_seq)
{
	t->cl.diverged = true;
	t->cl.bseq = broker_seq;
	tacws_broker *b = topic_broker(t);
	if (!b)
		return;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	tacws_broker_seq_floor(b, name, t->seq);
	cluster_catch_up(t);
}

/* The delta frame of the holder's patch (delta_len bytes) for the change to seq, when t's
 * subscribers can apply it: t is at seq - 1 of the same epoch and one of them takes deltas. */
static tacws_msg *incoming_delta(tacws_topic *t, uint64_t seq, const char *epoch,
				 const char *delta, size_t delta_len)
{
	if (!delta || !delta_len || seq != t->seq + 1 || strcmp(epoch, t->epoch) ||
	    !topic_wants_delta(t))
		return NULL;
	char *text = strndup(delta, delta_len);
	tacws_msg *m = text ? build_frame(t->feed, t, t->feed->type_json, "delta", text, t->seq, seq,
					  0)
			    : NULL;
	free(text);
	return m;
}

/* The broker's state (seq, epoch, data, and the holder's delta when it came with a
 * change) for t: adopted when above t's seq. Content t's subscribers hold already only
 * renumbers t; one of another epoch not above t's seq leaves t on its own numbering
 * (cluster_ahead). */
static void cluster_incoming(tacws_topic *t, uint64_t seq, const char *epoch, const char *data,
			     size_t len, const char *delta, size_t delta_len)
{
	if (t->in_flight) { /* the worker reads the topic: after the poll */
		free(t->cl.in_data);
		t->cl.in_data = strndup(data, len);
		t->cl.in_seq = seq;
		snprintf(t->cl.in_epoch, sizeof t->cl.in_epoch, "%s", epoch);
		return;
	}
	if (t->cl.committing && t->cl.data && strlen(t->cl.data) == len &&
	    !memcmp(t->cl.data, data, len))
		return; /* most likely this node's own change: its answer brings the delta too */
	t->cl.synced = true;
	if (seq <= t->seq) {
		/* had it already (this node committed it, or a duplicate), or of another epoch */
		if (strcmp(epoch, t->epoch))
			cluster_ahead(t, seq);
		greet_waiting(t);
		return;
	}
	t->cl.diverged = false;
	if (same_data(t, data, len)) {
		topic_renumber(t, seq, epoch);
	} else {
		char *copy = strndup(data, len);
		tacws_msg *d = copy ? incoming_delta(t, seq, epoch, delta, delta_len) : NULL;
		/* with a delta, the full message on the same epoch, built here */
		tacws_msg *full = d ? build_envelope(t->feed, t, t->feed->type_json, copy, seq) : NULL;
		if (copy)
			topic_apply(t, copy, NULL, full, full ? d : NULL, seq, epoch);
		if (!full)
			tacws_msg_unref(d);
	}
	greet_waiting(t);
}

static bool cluster_apply_deferred(tacws_topic *t)
{
	if (!t->cl.in_data)
		return false;
	uint64_t seq = t->seq;
	char epoch[TOPIC_EPOCH_LEN + 1];
	snprintf(epoch, sizeof epoch, "%s", t->epoch);
	char *data = t->cl.in_data;
	t->cl.in_data = NULL;
	cluster_incoming(t, t->cl.in_seq, t->cl.in_epoch, data, strlen(data), NULL, 0);
	free(data);
	return seq != t->seq || strcmp(epoch, t->epoch);
}

static void cluster_resync(tacws_topic *t);

static void cluster_lease_acquire(tacws_topic *t);

static void on_commit(void *arg, int status, uint64_t seq, const char *epoch)
{
	tacws_topic *t = arg;
	if (!topic_answered(t))
		return;
	tacws_server *srv = t->feed->srv;
	t->cl.committing = false;
	char *data = t->cl.data;
	json_object *doc = t->cl.doc;
	tacws_msg *msg = t->cl.msg, *delta = t->cl.delta;
	free(t->cl.patch); /* the message carried it */
	t->cl.patch = NULL;
	t->cl.data = NULL;
	t->cl.doc = NULL;
	t->cl.msg = t->cl.delta = NULL;
	bool applied = false;
	if (status == 0) {
		srv->cluster.commits++;
		t->cl.synced = true;
		bool as_built = !strcmp(epoch, t->epoch) && seq == t->cl.base + 1 && t->seq == t->cl.base;
		if (seq <= t->seq) { /* its message came first, or numbered below this node's own */
			if (strcmp(epoch, t->epoch))
				cluster_ahead(t, seq);
		} else {
			t->cl.diverged = false;
			if (same_data(t, data, strlen(data))) {
				topic_renumber(t, seq, epoch); /* the state t had, stored anew */
			} else {
				if (!as_built) {
					tacws_msg_unref(msg);
					tacws_msg_unref(delta);
					msg = delta = NULL;
				}
				topic_apply(t, data, doc, msg, delta, seq, epoch);
				applied = true;
			}
		}
		greet_waiting(t);
	} else if (status == TACWS_BROKER_STALE) {
		srv->cluster.commits_stale++;
		cluster_resync(t); /* then the next poll commits on the broker's seq */
	} else if (status == TACWS_BROKER_NOT_HOLDER) {
		/* the lease expired (or the broker lost it: an empty Redis came back): take it
		 * again when nobody else has, and read what the broker has meanwhile */
		srv->cluster.commits_not_holder++;
		srv->cluster.leases_lost++;
		t->cl.held = false;
		t->poll_again = false;
		cluster_resync(t);
		if (t->subs.count && !srv->stopping)
			cluster_lease_acquire(t);
	}
	/* a link lost mid-commit: the next poll (local while cut off) tries again */
	if (!applied) {
		free(data);
		json_object_put(doc);
		tacws_msg_unref(msg);
		tacws_msg_unref(delta);
	}
	if (t->poll_again && t->subs.count && !srv->stopping && !cluster_waits(t))
		topic_start_poll(t);
}

/* Commits a change the holder's poll found; takes data, doc, msg, delta and patch (delta's
 * text, carried to the other nodes when the commit is seq + 1). On top of the seq t last
 * took from the broker; while t numbers on its own (diverged), above the seq its
 * subscribers hold too. */
static void cluster_commit(tacws_topic *t, char *data, json_object *doc, tacws_msg *msg,
			   tacws_msg *delta, char *patch)
{
	tacws_server *srv = t->feed->srv;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	if (!delta || t->cl.diverged) {
		free(patch);
		patch = NULL;
	}
	t->cl.data = data;
	t->cl.doc = doc;
	t->cl.msg = msg;
	t->cl.delta = delta;
	t->cl.patch = patch;
	t->cl.base = t->cl.diverged ? t->cl.bseq : t->seq;
	t->cl.refs++;
	t->cl.committing = true;
	int rc = t->cl.diverged ? tacws_broker_seq_floor(srv->broker, name, t->seq) : 0;
	if (!rc)
		rc = tacws_broker_commit_delta(srv->broker, name, t->cl.token, t->cl.base, data,
					       strlen(data), patch, patch ? strlen(patch) : 0,
					       on_commit, t);
	if (!rc)
		return;
	t->cl.refs--;
	t->cl.committing = false;
	free(patch);
	t->cl.patch = NULL;
	t->cl.data = NULL;
	t->cl.doc = NULL;
	t->cl.msg = t->cl.delta = NULL;
	topic_diverge(t); /* cut off just now: a change of this node's own */
	tacws_msg_unref(msg);
	tacws_msg_unref(delta);
	if (same_data(t, data, strlen(data))) {
		free(data); /* a catch-up: nothing new */
		json_object_put(doc);
	} else {
		topic_apply(t, data, doc, NULL, NULL, t->seq + 1, NULL);
	}
}

/* The holder stores the state its subscribers hold when the broker's is behind it. */
static void cluster_catch_up(tacws_topic *t)
{
	if (!t->cl.held || !t->last_data || t->in_flight || t->cl.committing ||
	    !t->feed->srv->broker || t->feed->srv->stopping)
		return;
	char *copy = strdup(t->last_data);
	if (copy)
		cluster_commit(t, copy, NULL, NULL, NULL, NULL);
}

static void on_snapshot(void *arg, int status, uint64_t seq, const char *epoch, const char *data,
			size_t len)
{
	tacws_topic *t = arg;
	if (!topic_answered(t))
		return;
	tacws_server *srv = t->feed->srv;
	t->cl.snapshot_busy = false;
	if (status == 0) {
		cluster_incoming(t, seq, epoch, data, len, NULL, 0);
	} else if (status == TACWS_BROKER_EMPTY) {
		t->cl.synced = true;
		greet_waiting(t);
		/* the broker lost it (or never had it): its next seq goes above this node's, and
		 * the holder stores what this node has */
		if (t->last_data)
			cluster_ahead(t, 0);
	}
	if (t->cl.poll_after_sync && !srv->stopping) {
		t->cl.poll_after_sync = false;
		if (t->cl.held && t->subs.count)
			topic_start_poll(t);
	}
}

/* Reads the broker's state of t (a new topic, a refused commit, a link back up). */
static void cluster_resync(tacws_topic *t)
{
	tacws_server *srv = t->feed->srv;
	tacws_broker *b = topic_broker(t);
	if (!b || t->cl.snapshot_busy || srv->stopping)
		return;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	t->cl.refs++;
	t->cl.snapshot_busy = true;
	if (tacws_broker_snapshot(b, name, on_snapshot, t)) {
		t->cl.refs--;
		t->cl.snapshot_busy = false;
		return;
	}
	srv->cluster.resyncs++;
}

static void on_lease(void *arg, int status, const char *token)
{
	tacws_topic *t = arg;
	if (!topic_answered(t))
		return;
	tacws_server *srv = t->feed->srv;
	bool acquiring = !t->cl.held;
	t->cl.lease_busy = false;
	if (acquiring && status == 0 && token) {
		snprintf(t->cl.token, sizeof t->cl.token, "%s", token);
		t->cl.held = true;
		srv->cluster.leases_acquired++;
		if (!t->subs.count || srv->stopping) {
			cluster_release(t);
			return;
		}
		/* poll on top of the broker's seq: read it first */
		t->cl.poll_after_sync = true;
		bool busy = t->cl.snapshot_busy;
		cluster_resync(t);
		if (!busy && !t->cl.snapshot_busy) {
			t->cl.poll_after_sync = false;
			topic_start_poll(t);
		}
	} else if (!acquiring && status == TACWS_BROKER_NOT_HOLDER) {
		/* it expired: another node took it (stop polling), or nobody (take it again) */
		t->cl.held = false;
		srv->cluster.leases_lost++;
		t->poll_again = false;
		tacws_log_info("cluster", "%s%s%s: lease lost", t->feed->base, t->param ? "/" : "",
			       t->param ? t->param : "");
		if (t->subs.count && !srv->stopping)
			cluster_lease_acquire(t);
	}
}

static void cluster_lease_acquire(tacws_topic *t)
{
	tacws_server *srv = t->feed->srv;
	tacws_broker *b = topic_broker(t);
	if (!b || t->cl.lease_busy || t->cl.held || srv->stopping)
		return;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	t->cl.refs++;
	t->cl.lease_busy = true;
	if (tacws_broker_lease_acquire(b, name, (unsigned)srv->cfg->lease_ttl_ms, on_lease, t)) {
		t->cl.refs--;
		t->cl.lease_busy = false;
	}
}

static void cluster_lease_renew(tacws_topic *t, tacws_broker *b)
{
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	t->cl.refs++;
	t->cl.lease_busy = true;
	if (tacws_broker_lease_renew(b, name, t->cl.token, (unsigned)t->feed->srv->cfg->lease_ttl_ms,
				     on_lease, t)) {
		t->cl.refs--;
		t->cl.lease_busy = false;
	}
}

void tacws_feed_cluster_tick(tacws_feed *feed, bool renew)
{
	if (feed->srv->stopping)
		return;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&feed->topics)) {
		tacws_topic *t = lws_container_of(d, tacws_topic, feed_link);
		tacws_broker *b = topic_broker(t);
		if (!b) {
			/* cut off: poll on its own, as a node alone does */
			if (t->subs.count && !t->in_flight && !t->cl.committing &&
			    !uv_is_active((uv_handle_t *)&t->timer))
				topic_start_poll(t);
		} else if (t->cl.lease_busy) {
			/* an answer is pending */
		} else if (t->cl.held && !t->subs.count) {
			cluster_release(t); /* nobody here wants it: a node with subscribers polls */
		} else if (t->cl.held) {
			if (renew)
				cluster_lease_renew(t, b);
		} else if (t->subs.count) {
			cluster_lease_acquire(t);
		}
	}
	lws_end_foreach_dll(d);
}

/* The topic a broker name stands for, when this node has it. */
static tacws_topic *topic_named(tacws_server *srv, const char *name)
{
	size_t base_len = strcspn(name, "/");
	tacws_feed *feed = tacws_feed_find(srv, name, base_len);
	if (!feed)
		return NULL;
	return topic_find(feed, name[base_len] ? name + base_len + 1 : NULL);
}

void tacws_feed_cluster_subscribed(tacws_server *srv, const char *name)
{
	tacws_topic *t = topic_named(srv, name);
	if (!t)
		return;
	events_clear(t); /* those sent while the subscription was down never came */
	t->event_offset = 0;
	cluster_resync(t);
	/* a lease held before the link went may be gone (expired, or Redis came back empty) */
	tacws_broker *b = topic_broker(t);
	if (b && t->cl.held && !t->cl.lease_busy && !srv->stopping)
		cluster_lease_renew(t, b);
}

/* An event as the broker keeps it ("<type as JSON>\n<data>", cluster_event) as t's frame
 * at offset (0: none). NULL when malformed or out of memory. */
static tacws_msg *event_frame(tacws_topic *t, const char *payload, size_t len, uint64_t offset)
{
	const char *nl = memchr(payload, '\n', len);
	if (!nl)
		return NULL;
	char *type_json = strndup(payload, (size_t)(nl - payload));
	char *data = strndup(nl + 1, len - (size_t)(nl + 1 - payload));
	tacws_msg *m = type_json && data ? build_event(t, type_json, data, offset) : NULL;
	free(type_json);
	free(data);
	return m;
}

static void cluster_deliver_event(tacws_topic *t, const tacws_broker_msg *m)
{
	if (!t->subs.count)
		return;
	/* offsets count in the broker's epoch, which this node may not have adopted yet */
	bool placed = !strcmp(m->epoch, t->epoch);
	tacws_msg *msg = event_frame(t, m->data, m->len, placed ? m->seq : 0);
	if (msg && placed) {
		events_keep(t, m->seq, msg);
	} else {
		events_clear(t);
		t->event_offset = 0;
	}
	if (msg) {
		fan_out(t, msg, placed ? m->seq : 0);
		tacws_msg_unref(msg);
	}
}

/* Resume from the broker's history: a subscriber whose offset this node's ring does not
 * reach back to (it joined the topic later, restarted, or its ring was cleared) waits,
 * ungreeted, while the history after its offset is read. Live events meanwhile are not
 * sent to it but kept in the topic's ring. On the answer it gets its greeting (recovered),
 * the events read, then the ring's after them; then live ones, any the history already
 * had skipped (replayed). When the history cannot cover the offset (trimmed, aged out,
 * another epoch) or the read fails: recovered:false and the snapshot. */
static void on_history(void *arg, int status, const char *epoch, const tacws_broker_msg *msgs,
		       size_t n);

static int history_request(struct tacws_history_read *r)
{
	tacws_topic *t = r->topic;
	tacws_broker *b = topic_broker(t);
	if (!b || t->feed->srv->stopping)
		return -ENOTCONN;
	char name[TACWS_BROKER_TOPIC_MAX];
	cluster_name(t, name);
	t->cl.refs++;
	int rc = tacws_broker_history(b, name, r->since, t->epoch, HISTORY_PAGE, on_history, r);
	if (rc)
		t->cl.refs--;
	return rc;
}

static bool history_start(tacws_sub *sub, tacws_topic *t, uint64_t since)
{
	if (!topic_broker(t) || !t->cl.synced || t->cl.diverged)
		return false;
	struct tacws_history_read *r = calloc(1, sizeof *r);
	if (!r)
		return false;
	r->topic = t;
	r->sub = sub;
	r->since = since;
	if (history_request(r)) {
		free(r);
		return false;
	}
	sub->history = r;
	t->feed->srv->cluster.history_reads++;
	return true;
}

static void on_history(void *arg, int status, const char *epoch, const tacws_broker_msg *msgs,
		       size_t n)
{
	struct tacws_history_read *r = arg;
	tacws_topic *t = r->topic;
	tacws_sub *sub = r->sub;
	if (!topic_answered(t) || !sub) { /* the topic goes only once its subscribers went */
		free(r);
		return;
	}
	tacws_conn *conn = sub->conn;
	uint64_t last = r->since;
	bool ok = status == 0 && epoch && !strcmp(epoch, t->epoch) && resumable(sub, t) && t->cached;
	for (size_t i = 0; ok && i < n; i++)
		ok = msgs[i].seq == ++last; /* contiguous from since + 1 */
	if (!ok) {
		sub->history = NULL;
		free(r);
		/* (a later page that fails: the rest comes live, the events between are missed) */
		if (!sub->greeted)
			subscribe_greet(conn, sub, t, false);
		return;
	}
	if (!sub->greeted)
		subscribe_greet(conn, sub, t, true);
	for (size_t i = 0; i < n; i++) {
		tacws_msg *m = event_frame(t, msgs[i].data, msgs[i].len, msgs[i].seq);
		if (m) {
			tacws_conn_push(conn, NULL, t->feed, m);
			tacws_msg_unref(m);
		}
	}
	sub->replayed = last;
	snprintf(sub->replayed_epoch, sizeof sub->replayed_epoch, "%s", t->epoch);
	if (events_cover(t, last)) {
		events_replay(conn, t, last); /* those that came live meanwhile */
		sub->replayed = t->event_offset;
	} else if (t->event_offset > last && n) {
		r->since = last; /* more in the history than one page */
		if (!history_request(r))
			return;
	}
	sub->history = NULL;
	free(r);
}

void tacws_feed_cluster_message(tacws_server *srv, const tacws_broker_msg *m)
{
	tacws_topic *t = topic_named(srv, m->topic);
	if (!t)
		return; /* sent before this node unsubscribed */
	switch (m->kind) {
	case TACWS_BROKER_CHANGE:
		srv->cluster.changes_in++;
		cluster_incoming(t, m->seq, m->epoch, m->data, m->len, m->delta, m->delta_len);
		break;
	case TACWS_BROKER_EVENT:
		srv->cluster.events_in++;
		t->feed->stats.events++;
		cluster_deliver_event(t, m);
		break;
	case TACWS_BROKER_POLL:
		if (t->cl.held && t->subs.count && !srv->stopping)
			topic_start_poll(t);
		break;
	}
}

static void event_sent(void *arg, int status, uint64_t offset, const char *epoch)
{
	(void)offset, (void)epoch;
	if (status)
		tacws_log_warn("cluster", "an event was not stored: %s",
			       status < 0 ? strerror(-status) : "refused");
	(void)arg;
}

/* Publishes an event to every node's subscribers of name. Returns 0 when the broker took
 * it (this node's subscribers get it back), else a negative errno: deliver it here. */
static int cluster_event(tacws_server *srv, const char *name, const char *type_json,
			 const char *data)
{
	size_t tl = strlen(type_json), dl = strlen(data);
	char *payload = malloc(tl + 1 + dl + 1);
	if (!payload)
		return -ENOMEM;
	memcpy(payload, type_json, tl);
	payload[tl] = '\n';
	memcpy(payload + tl + 1, data, dl + 1);
	int rc = tacws_broker_event_append(srv->broker, name, payload, tl + 1 + dl, event_sent, NULL);
	free(payload);
	return rc;
}
