/*
 * Where tacws-cat resumes after a reconnect, per topic: the seq and epoch of the
 * state it holds and the offset of the last event it got in that epoch, sent as
 * ?since=&epoch=&offset= on a per-feed socket or in the subscription objects on
 * the multiplexed one. The server then answers "resumed" instead of a snapshot
 * that did not change and replays the events missed, in order.
 *
 * On the multiplexed socket a message is the topic's that it names ("resumed"),
 * whose epoch it carries, whose parameter it carries (adw-state/<id>: "adw_id"),
 * or the one topic not told apart yet; a message of none of these is not
 * counted, and its topic gets its snapshot again after a reconnect.
 */
#ifndef TACWS_CAT_RESUME_H
#define TACWS_CAT_RESUME_H

#include <stddef.h>

typedef struct cat_resume cat_resume;

/* topics: the comma list given to --subscribe, or NULL for a per-feed socket
 * (one topic, every message its own). Returns NULL when out of memory. */
cat_resume *cat_resume_new(const char *topics);
void cat_resume_free(cat_resume *r);

/* Notes one received message (text, NUL-terminated; not JSON: ignored). */
void cat_resume_feed(cat_resume *r, const char *text);

/* The message's topic holds no state to resume from any more (a delta that did
 * not apply): it gets a snapshot after the next reconnect. */
void cat_resume_forget(cat_resume *r, const char *text);

/* A per-feed socket's query, "since=<seq>&epoch=<epoch>[&offset=<n>]", into buf.
 * Returns 0, or -ENOENT when there is nothing to resume from (or buf is short). */
int cat_resume_query(const cat_resume *r, char *buf, size_t len);

/* {"type":"subscribe","feeds":[...]} for every topic: a name, or an object with
 * "delta":"json-patch" (delta set) and the resume point when there is one.
 * Returns a malloc'd string, or NULL when out of memory. */
char *cat_resume_subscribe(const cat_resume *r, int delta);

#endif
