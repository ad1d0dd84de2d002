/*
 * tacws-cat's view of whole states: the data each topic last had, to which the
 * server's JSON Patch deltas ({"delta":[...],"base_seq":N,"seq":M}) apply.
 * A topic is the message's "topic" or "feed" member, else its type (and adw_id).
 */
#ifndef TACWS_CAT_STATES_H
#define TACWS_CAT_STATES_H

#include <stddef.h>

typedef struct cat_states cat_states;

/* At most max_topics are remembered (the least recently changed is forgotten). */
cat_states *cat_states_new(size_t max_topics);
void cat_states_free(cat_states *st);

/*
 * Feeds one received message (text, NUL-terminated). Returns:
 *  0  print the message as received (not a delta; a snapshot is remembered);
 *  1  print *whole (malloc'd, the caller frees it): the delta applied, with "data";
 * -EINVAL  the delta does not apply (another base, a broken patch): print nothing,
 *     *why (static text) says why, and the topic waits for its next snapshot;
 * -ENOMEM.
 */
int cat_states_feed(cat_states *st, const char *text, char **whole, const char **why);

#endif
