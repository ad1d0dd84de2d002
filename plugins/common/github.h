/*
 * GitHub deliveries as TAC WebBuilder reads them: a [webhook.*] section
 * publishes them to a feed, whose descriptor names tacws_github_event_data
 * as its webhook_data.
 */
#ifndef TACWS_GITHUB_H
#define TACWS_GITHUB_H

#include <json-c/json.h>
#include <stddef.h>

/* tacws_feed_desc.webhook_data: builds the workflow_update data
 * {event, action, issue_number, repository, sender, adw_workflow} from a
 * GitHub payload (null where the payload has none). feed_arg is unused.
 * Returns 0 and *data (the caller's), or -ENOMEM. */
int tacws_github_event_data(void *feed_arg, const char *event, json_object *payload,
                            json_object **data);

/* The first "adw_<name>_iso" workflow name in text ([a-z0-9_], at a word
 * start), copied to out. Returns 0 or -ENOENT. */
int tacws_adw_workflow_find(const char *text, char *out, size_t outlen);

#endif
