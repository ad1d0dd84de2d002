/* POST /api/v1/publish and /feeds/{feed}/refresh bodies. */
#include <stddef.h>
#include <stdint.h>

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tacws_publish_req req;
	char err[128];
	if (!tacws_publish_parse((const char *)data, size, &req, err, sizeof err)) {
		/* what the server does next: serialize the data into an envelope */
		json_object_to_json_string_ext(req.data, JSON_C_TO_STRING_PLAIN |
		                                             JSON_C_TO_STRING_NOSLASHESCAPE);
		json_object_put(req.data);
	}
	char param[TACWS_PARAM_MAX + 1];
	bool has_param;
	tacws_refresh_parse((const char *)data, size, param, &has_param, err, sizeof err);
	return 0;
}
