/* Client WebSocket messages (UTF-8, then JSON), and the subscriptions (names or objects) a subscribe carries. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tacws_utf8_valid((const char *)data, size); /* checked before the parser, on the loop */
	tacws_client_msg m;
	tacws_client_msg_parse((const char *)data, size, &m);
	if (m.feeds) {
		size_t n = json_object_array_length(m.feeds);
		for (size_t i = 0; i < n; i++) {
			tacws_sub_request req;
			char err[128];
			if (tacws_sub_request_parse(json_object_array_get_idx(m.feeds, i), &req, err,
			                            sizeof err))
				continue;
			tacws_topic_name t;
			tacws_topic_name_parse(req.topic, req.topic_len, &t);
		}
	}
	tacws_client_msg_clear(&m);
	return 0;
}
