/* Resume points for tacws-cat: see resume.h. */
#include "resume.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH_MAX 32 /* the server's: 1..32 of [A-Za-z0-9_-] */

typedef struct resume_topic {
	char *name;		   /* as subscribed; NULL on a per-feed socket */
	const char *param;	   /* after the name's '/', or NULL */
	char epoch[EPOCH_MAX + 1]; /* "" until known */
	long long seq;		   /* valid when has_seq */
	long long offset;	   /* the last event's in epoch; 0: none */
	int has_seq;
} resume_topic;

struct cat_resume {
	resume_topic *topics;
	size_t n;
};

cat_resume *cat_resume_new(const char *topics)
{
	cat_resume *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	size_t cap = 1;
	for (const char *p = topics; p && *p; p++)
		cap += *p == ',';
	if (!(r->topics = calloc(cap, sizeof *r->topics))) {
		free(r);
		return NULL;
	}
	if (!topics) {
		r->n = 1;
		return r;
	}
	for (const char *p = topics; *p;) {
		size_t len = strcspn(p, ",");
		if (len) {
			resume_topic *t = &r->topics[r->n];
			if (!(t->name = strndup(p, len))) {
				cat_resume_free(r);
				return NULL;
			}
			const char *slash = strchr(t->name, '/');
			t->param = slash ? slash + 1 : NULL;
			r->n++;
		}
		p += len + (p[len] == ',');
	}
	return r;
}

void cat_resume_free(cat_resume *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->topics[i].name);
	free(r->topics);
	free(r);
}

static const char *string_of(json_object *msg, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(msg, key, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

static int int_of(json_object *msg, const char *key, long long *out)
{
	json_object *v;
	if (!json_object_object_get_ex(msg, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

/* An epoch the server would take back in a query. */
static int epoch_ok(const char *e)
{
	size_t len = e ? strlen(e) : 0;
	if (!len || len > EPOCH_MAX)
		return 0;
	return strspn(e, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == len;
}

/* A member other than the envelope's own holds the parameter: adw-state/<id>'s "adw_id". */
static int carries_param(json_object *msg, const char *param)
{
	json_object_object_foreach(msg, key, val)
	{
		if (strcmp(key, "type") && strcmp(key, "epoch") && strcmp(key, "timestamp") &&
		    json_object_is_type(val, json_type_string) && !strcmp(json_object_get_string(val), param))
			return 1;
	}
	return 0;
}

static resume_topic *topic_of(cat_resume *r, json_object *msg)
{
	if (r->n == 1)
		return r->topics; /* a per-feed socket, or one subscription */
	const char *name = string_of(msg, "topic");
	const char *epoch = string_of(msg, "epoch");
	resume_topic *untold = NULL;
	size_t n_untold = 0;
	for (size_t i = 0; i < r->n; i++) {
		resume_topic *t = &r->topics[i];
		if (name ? !strcmp(name, t->name) : epoch && !strcmp(epoch, t->epoch))
			return t;
		if (!*t->epoch)
			untold = t, n_untold++;
	}
	if (name) /* a topic not subscribed to */
		return NULL;
	for (size_t i = 0; i < r->n; i++) /* a delta carries no epoch, but its parameter */
		if (r->topics[i].param && carries_param(msg, r->topics[i].param))
			return &r->topics[i];
	return epoch && n_untold == 1 ? untold : NULL;
}

static void epoch_set(resume_topic *t, const char *epoch)
{
	if (!strcmp(epoch, t->epoch))
		return;
	snprintf(t->epoch, sizeof t->epoch, "%s", epoch);
	t->offset = 0; /* offsets count within an epoch */
}

void cat_resume_feed(cat_resume *r, const char *text)
{
	json_object *msg = json_tokener_parse(text);
	resume_topic *t = json_object_is_type(msg, json_type_object) ? topic_of(r, msg) : NULL;
	const char *type = t ? string_of(msg, "type") : NULL;
	const char *epoch = t ? string_of(msg, "epoch") : NULL;
	long long seq, offset;
	if (!type || int_of(msg, "seq", &seq)) {
		json_object_put(msg);
		return;
	}
	if (epoch && !epoch_ok(epoch)) {
		t->has_seq = 0;
		*t->epoch = '\0';
	} else if (!strcmp(type, "resumed")) {
		json_object *rec;
		if (epoch)
			epoch_set(t, epoch);
		/* not recovered: what is held is not that history's; the snapshot follows */
		if (!json_object_object_get_ex(msg, "recovered", &rec) || !json_object_get_boolean(rec) ||
		    !epoch)
			t->has_seq = 0;
		else
			t->seq = seq, t->has_seq = 1;
	} else if (epoch || json_object_object_get_ex(msg, "delta", NULL)) {
		/* a snapshot or an event (its seq is the topic's), or a delta of the epoch held */
		if (epoch)
			epoch_set(t, epoch);
		t->seq = seq;
		t->has_seq = *t->epoch != '\0';
		if (epoch && !int_of(msg, "offset", &offset) && offset > 0)
			t->offset = offset;
	}
	json_object_put(msg);
}

void cat_resume_forget(cat_resume *r, const char *text)
{
	json_object *msg = json_tokener_parse(text);
	resume_topic *t = json_object_is_type(msg, json_type_object) ? topic_of(r, msg) : NULL;
	if (t)
		t->has_seq = 0;
	json_object_put(msg);
}

int cat_resume_query(const cat_resume *r, char *buf, size_t len)
{
	const resume_topic *t = r->topics;
	if (r->n != 1 || !t->has_seq || !*t->epoch)
		return -ENOENT;
	int n = t->offset ? snprintf(buf, len, "since=%lld&epoch=%s&offset=%lld", t->seq, t->epoch,
				     t->offset)
			  : snprintf(buf, len, "since=%lld&epoch=%s", t->seq, t->epoch);
	return n < 0 || (size_t)n >= len ? -ENOENT : 0;
}

char *cat_resume_subscribe(const cat_resume *r, int delta)
{
	json_object *msg = json_object_new_object();
	json_object *feeds = json_object_new_array();
	for (size_t i = 0; i < r->n; i++) {
		const resume_topic *t = &r->topics[i];
		if (!t->name)
			continue;
		int resume = t->has_seq && *t->epoch;
		if (!delta && !resume) {
			json_object_array_add(feeds, json_object_new_string(t->name));
			continue;
		}
		json_object *entry = json_object_new_object();
		json_object_object_add(entry, "topic", json_object_new_string(t->name));
		if (delta)
			json_object_object_add(entry, "delta", json_object_new_string("json-patch"));
		if (resume) {
			json_object_object_add(entry, "since", json_object_new_int64(t->seq));
			json_object_object_add(entry, "epoch", json_object_new_string(t->epoch));
			if (t->offset)
				json_object_object_add(entry, "offset", json_object_new_int64(t->offset));
		}
		json_object_array_add(feeds, entry);
	}
	json_object_object_add(msg, "type", json_object_new_string("subscribe"));
	json_object_object_add(msg, "feeds", feeds);
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = text ? strdup(text) : NULL;
	json_object_put(msg);
	return out;
}
