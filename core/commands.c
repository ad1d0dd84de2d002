/* Requests from other threads (plugins, workers) for the loop: a mutex-guarded
 * list, drained on the loop after lws_cancel_service wakes it. */
#include "commands.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "log.h"
#include "server.h"

struct tacws_cmd {
	struct tacws_cmd *next;
	bool publish;
	char *base, *param, *type;
	json_object *data;
};

static void cmd_free(struct tacws_cmd *c)
{
	free(c->base);
	free(c->param);
	free(c->type);
	json_object_put(c->data);
	free(c);
}

static int queue_cmd(tacws_server *srv, bool publish, const char *base, const char *param,
		     const char *type, json_object *data)
{
	/* Any thread: the feed list belongs to the loop (a reload changes it), so
	 * the command is queued unchecked and the loop drops it for an unknown feed. */
	struct tacws_cmd *c = calloc(1, sizeof *c);
	if (!c) {
		json_object_put(data);
		return -ENOMEM;
	}
	c->publish = publish;
	c->data = data;
	c->base = strdup(base);
	c->param = param ? strdup(param) : NULL;
	c->type = type ? strdup(type) : NULL;
	if (!c->base || (param && !c->param) || (type && !c->type)) {
		cmd_free(c);
		return -ENOMEM;
	}
	pthread_mutex_lock(&srv->cmd_lock);
	*srv->cmds_tail = c;
	srv->cmds_tail = &c->next;
	pthread_mutex_unlock(&srv->cmd_lock);
	if (srv->lws)
		lws_cancel_service(srv->lws);
	return 0;
}

int tacws_commands_poll(tacws_server *srv, const char *base, const char *param)
{
	return queue_cmd(srv, false, base, param, NULL, NULL);
}

int tacws_commands_publish(tacws_server *srv, const char *base, const char *param,
				 const char *type, json_object *data)
{
	return queue_cmd(srv, true, base, param, type, data);
}

void tacws_commands_run(tacws_server *srv)
{
	pthread_mutex_lock(&srv->cmd_lock);
	struct tacws_cmd *c = srv->cmds;
	srv->cmds = NULL;
	srv->cmds_tail = &srv->cmds;
	pthread_mutex_unlock(&srv->cmd_lock);
	while (c) {
		struct tacws_cmd *next = c->next;
		tacws_feed *feed = tacws_feed_find(srv, c->base, strlen(c->base));
		if (!feed) {
			tacws_log_debug("server", "dropped a request for unknown feed '%s'", c->base);
		} else if (c->publish) {
			tacws_feed_publish(feed, c->param, c->type, c->data);
			c->data = NULL;
		} else {
			tacws_feed_poll_now(feed, c->param);
		}
		cmd_free(c);
		c = next;
	}
}

void tacws_commands_init(tacws_server *srv)
{
	pthread_mutex_init(&srv->cmd_lock, NULL);
	srv->cmds_tail = &srv->cmds;
}

void tacws_commands_free(tacws_server *srv)
{
	struct tacws_cmd *c = srv->cmds;
	while (c) {
		struct tacws_cmd *next = c->next;
		cmd_free(c);
		c = next;
	}
	srv->cmds = NULL;
	pthread_mutex_destroy(&srv->cmd_lock);
}
