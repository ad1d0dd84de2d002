/*
 * JSON deltas: the input is two JSON documents separated by the first NUL byte
 * (or newline). apply(diff(a, b), a) must be b in the canonical form; b is also
 * tried as a patch on a, to exercise apply on hostile patches.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const row_keys[] = {"id", "queue_id", "adw_id", NULL};

static int parse(const uint8_t *text, size_t len, json_object **out)
{
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -1;
	*out = json_tokener_parse_ex(tok, (const char *)text, (int)len);
	int ok = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(*out);
		*out = NULL;
	}
	return ok ? 0 : -1;
}

static char *canon(json_object *o)
{
	return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	const uint8_t *sep = memchr(data, '\0', size);
	if (!sep)
		sep = memchr(data, '\n', size);
	if (!sep)
		return 0;
	json_object *a, *b;
	if (parse(data, (size_t)(sep - data), &a))
		return 0;
	if (parse(sep + 1, size - (size_t)(sep - data) - 1, &b)) {
		json_object_put(a);
		return 0;
	}
	json_object *patch = NULL, *got = NULL, *other = NULL;
	if (!tacws_delta_diff(a, b, row_keys, &patch)) {
		if (tacws_delta_apply(a, patch, &got))
			abort(); /* our own patch must apply */
		char *want = canon(b), *have = canon(got);
		if (strcmp(want, have))
			abort();
		free(want);
		free(have);
	}
	tacws_delta_apply(a, b, &other);
	json_object_put(other);
	json_object_put(got);
	json_object_put(patch);
	json_object_put(a);
	json_object_put(b);
	return 0;
}
