/* WebSocket paths, topic names and parameters, checked as the server does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tacws_feed *item; /* "item/{id}" with the default pattern, like adw-state */

static int no_snapshot(void *arg, const char *param, json_object **out, char *err, size_t errlen)
{
	(void)arg, (void)param, (void)out, (void)err, (void)errlen;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!item) {
		tacws_feed_desc d;
		memset(&d, 0, sizeof d);
		d.endpoint = "item/{id}";
		d.message_type = "item_update";
		d.snapshot = no_snapshot;
		char err[256];
		if (tacws_feed_create(NULL, NULL, &d, 1000, &item, err, sizeof err))
			abort();
	}
	char *path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	bool mux;
	tacws_topic_name t;
	if (!tacws_ws_path_parse("/api/v1", path, &mux, &t) && !mux && t.has_param)
		tacws_feed_param_ok(item, t.param);
	if (!tacws_topic_name_parse((const char *)data, size, &t) && t.has_param)
		tacws_feed_param_ok(item, t.param);
	free(path);
	return 0;
}
