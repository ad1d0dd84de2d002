/* Client WebSocket messages (UTF-8, then JSON), and the topic names a subscribe carries. */
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
			json_object *item = json_object_array_get_idx(m.feeds, i);
			if (!json_object_is_type(item, json_type_string))
				continue;
			tacws_topic_name t;
			tacws_topic_name_parse(json_object_get_string(item),
			                       (size_t)json_object_get_string_len(item), &t);
		}
	}
	tacws_client_msg_clear(&m);
	return 0;
}
