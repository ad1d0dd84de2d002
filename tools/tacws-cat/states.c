/* Whole states for tacws-cat: see states.h. */
#include "states.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"

typedef struct topic_state {
	char *key;
	long long seq;
	json_object *data; /* NULL json-c object is JSON null: has_data says whether known */
	int has_data;
	struct topic_state *next;
} topic_state;

struct cat_states {
	topic_state *head; /* most recently changed first */
	size_t count, max;
};

cat_states *cat_states_new(size_t max_topics)
{
	cat_states *st = calloc(1, sizeof *st);
	if (st)
		st->max = max_topics ? max_topics : 1;
	return st;
}

static void topic_free(topic_state *t)
{
	free(t->key);
	json_object_put(t->data);
	free(t);
}

void cat_states_free(cat_states *st)
{
	if (!st)
		return;
	while (st->head) {
		topic_state *t = st->head;
		st->head = t->next;
		topic_free(t);
	}
	free(st);
}

static char *topic_key(json_object *msg)
{
	json_object *v, *id;
	if ((json_object_object_get_ex(msg, "topic", &v) || json_object_object_get_ex(msg, "feed", &v)) &&
	    json_object_is_type(v, json_type_string))
		return strdup(json_object_get_string(v));
	if (!json_object_object_get_ex(msg, "type", &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	char buf[512];
	if (json_object_object_get_ex(msg, "adw_id", &id) && json_object_is_type(id, json_type_string))
		snprintf(buf, sizeof buf, "%s/%s", json_object_get_string(v), json_object_get_string(id));
	else
		snprintf(buf, sizeof buf, "%s", json_object_get_string(v));
	return strdup(buf);
}

/* The topic's entry, moved to the front; created when create is set. */
static topic_state *topic_find(cat_states *st, const char *key, int create)
{
	topic_state **p = &st->head;
	for (; *p; p = &(*p)->next) {
		if (!strcmp((*p)->key, key)) {
			topic_state *t = *p;
			*p = t->next;
			t->next = st->head;
			st->head = t;
			return t;
		}
	}
	if (!create)
		return NULL;
	topic_state *t = calloc(1, sizeof *t);
	if (!t || !(t->key = strdup(key))) {
		free(t);
		return NULL;
	}
	t->next = st->head;
	st->head = t;
	if (++st->count > st->max) { /* forget the least recently changed */
		topic_state **last = &st->head;
		while ((*last)->next)
			last = &(*last)->next;
		topic_free(*last);
		*last = NULL;
		st->count--;
	}
	return t;
}

static int apply_delta(cat_states *st, json_object *msg, const char *key, json_object *patch,
                       char **whole, const char **why)
{
	json_object *base_seq, *seq, *data = NULL;
	topic_state *t = topic_find(st, key, 0);
	if (!json_object_object_get_ex(msg, "base_seq", &base_seq) ||
	    !json_object_object_get_ex(msg, "seq", &seq)) {
		*why = "a delta without base_seq and seq";
		return -EINVAL;
	}
	if (!t || !t->has_data) {
		*why = "no snapshot of the topic yet";
		return -EINVAL;
	}
	if (json_object_get_int64(base_seq) != t->seq) {
		*why = "its base_seq is not the last seq seen";
		t->has_data = 0;
		return -EINVAL;
	}
	int rc = tacws_delta_apply(t->data, patch, &data);
	if (rc) {
		*why = rc == -ENOMEM ? "out of memory" : "the patch does not apply to the state";
		t->has_data = 0;
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	json_object_put(t->data);
	t->data = data;
	t->seq = json_object_get_int64(seq);
	/* The message as a snapshot: "data" where "delta" was, no base_seq. */
	json_object *out = json_object_new_object();
	json_object_object_foreach(msg, k, v) {
		if (!strcmp(k, "delta"))
			json_object_object_add(out, "data", json_object_get(data));
		else if (strcmp(k, "base_seq"))
			json_object_object_add(out, k, json_object_get(v));
	}
	*whole = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
	                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	return *whole ? 1 : -ENOMEM;
}

int cat_states_feed(cat_states *st, const char *text, char **whole, const char **why)
{
	*whole = NULL;
	*why = NULL;
	json_object *msg = json_tokener_parse(text), *patch, *data, *seq;
	if (!json_object_is_type(msg, json_type_object)) {
		json_object_put(msg);
		return 0;
	}
	char *key = topic_key(msg);
	int rc = 0;
	if (!key) {
		rc = 0;
	} else if (json_object_object_get_ex(msg, "delta", &patch)) {
		rc = apply_delta(st, msg, key, patch, whole, why);
	} else if (json_object_object_get_ex(msg, "data", &data) &&
	           json_object_object_get_ex(msg, "seq", &seq) &&
	           json_object_is_type(seq, json_type_int)) {
		topic_state *t = topic_find(st, key, 1);
		if (!t) {
			rc = -ENOMEM;
		} else {
			json_object_put(t->data);
			t->data = json_object_get(data);
			t->has_data = 1;
			t->seq = json_object_get_int64(seq);
		}
	}
	free(key);
	json_object_put(msg);
	return rc;
}
