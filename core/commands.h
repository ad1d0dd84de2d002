/*
 * Requests from other threads for the loop: a plugin's poll_now and publish
 * (loader.c's host API). Queued from any thread, run on the loop, where a
 * request for a feed that does not exist (or no longer does after a reload)
 * is dropped.
 */
#ifndef TACWS_COMMANDS_H
#define TACWS_COMMANDS_H

#include <json-c/json.h>

typedef struct tacws_server tacws_server;

/* Any thread. Poll a feed's topic (param NULL: every topic), or publish to
 * it (takes data, also on error). Return 0 once queued, or -ENOMEM. */
int tacws_commands_poll(tacws_server *srv, const char *base, const char *param);
int tacws_commands_publish(tacws_server *srv, const char *base, const char *param,
			   const char *type, json_object *data);

/* Loop thread: runs what is queued (after a wake-up). */
void tacws_commands_run(tacws_server *srv);

/* Before anything queues / after nothing can (server create, destroy). */
void tacws_commands_init(tacws_server *srv);
void tacws_commands_free(tacws_server *srv);

#endif
