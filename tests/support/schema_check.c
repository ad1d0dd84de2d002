#include "schema_check.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *type_name(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "boolean";
	case json_type_double: return "number";
	case json_type_int: return "integer";
	case json_type_object: return "object";
	case json_type_array: return "array";
	case json_type_string: return "string";
	}
	return "?";
}

static bool type_matches(const char *want, json_object *v)
{
	const char *got = type_name(v);
	if (strcmp(want, got) == 0)
		return true;
	if (strcmp(want, "number") == 0 && strcmp(got, "integer") == 0)
		return true;
	/* 3.0 is an integer to JSON Schema, whatever the parser made of it. */
	if (strcmp(want, "integer") == 0 && strcmp(got, "number") == 0) {
		double d = json_object_get_double(v);
		return d == floor(d);
	}
	return false;
}

static int fail(char *err, size_t errlen, const char *path, const char *fmt, const char *a,
		const char *b)
{
	char why[256];
	snprintf(why, sizeof why, fmt, a, b);
	snprintf(err, errlen, "%s: %s", path, why);
	return -1;
}

static int check_at(json_object *schema, json_object *v, const char *path, char *err,
		    size_t errlen);

static int check_type(json_object *t, json_object *v, const char *path, char *err, size_t errlen)
{
	if (json_object_is_type(t, json_type_string))
		return type_matches(json_object_get_string(t), v)
			   ? 0
			   : fail(err, errlen, path, "want %s, got %s", json_object_get_string(t),
				  type_name(v));
	size_t n = json_object_array_length(t);
	for (size_t i = 0; i < n; i++)
		if (type_matches(json_object_get_string(json_object_array_get_idx(t, i)), v))
			return 0;
	return fail(err, errlen, path, "want %s, got %s", json_object_to_json_string(t),
		    type_name(v));
}

static int check_object(json_object *schema, json_object *v, const char *path, char *err,
			size_t errlen)
{
	json_object *props = NULL, *req = NULL, *extra = NULL;
	json_object_object_get_ex(schema, "properties", &props);
	json_object_object_get_ex(schema, "required", &req);
	json_object_object_get_ex(schema, "additionalProperties", &extra);
	char sub[512];
	for (size_t i = 0; req && i < json_object_array_length(req); i++) {
		const char *key = json_object_get_string(json_object_array_get_idx(req, i));
		if (!json_object_object_get_ex(v, key, NULL))
			return fail(err, errlen, path, "missing required \"%s\"%s", key, "");
	}
	json_object_object_foreach(v, key, val) {
		snprintf(sub, sizeof sub, "%s.%s", path, key);
		json_object *ps = NULL;
		if (props && json_object_object_get_ex(props, key, &ps)) {
			if (check_at(ps, val, sub, err, errlen))
				return -1;
		} else if (extra && json_object_is_type(extra, json_type_boolean)) {
			if (!json_object_get_boolean(extra))
				return fail(err, errlen, path, "unexpected \"%s\"%s", key, "");
		} else if (extra && check_at(extra, val, sub, err, errlen)) {
			return -1;
		}
	}
	return 0;
}

static int check_array(json_object *schema, json_object *v, const char *path, char *err,
		       size_t errlen)
{
	json_object *items = NULL, *min = NULL;
	size_t n = json_object_array_length(v);
	if (json_object_object_get_ex(schema, "minItems", &min) &&
	    (int64_t)n < json_object_get_int64(min)) {
		char want[32];
		snprintf(want, sizeof want, "%lld", (long long)json_object_get_int64(min));
		return fail(err, errlen, path, "want at least %s items%s", want, "");
	}
	if (!json_object_object_get_ex(schema, "items", &items))
		return 0;
	char sub[512];
	for (size_t i = 0; i < n; i++) {
		snprintf(sub, sizeof sub, "%s[%zu]", path, i);
		if (check_at(items, json_object_array_get_idx(v, i), sub, err, errlen))
			return -1;
	}
	return 0;
}

static int check_enum(json_object *e, json_object *v, const char *path, char *err, size_t errlen)
{
	for (size_t i = 0; i < json_object_array_length(e); i++)
		if (json_object_equal(json_object_array_get_idx(e, i), v))
			return 0;
	return fail(err, errlen, path, "%s is not one of %s", json_object_to_json_string(v),
		    json_object_to_json_string(e));
}

static int check_bounds(json_object *schema, json_object *v, const char *path, char *err,
			size_t errlen)
{
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return 0;
	double d = json_object_get_double(v);
	json_object *b;
	if (json_object_object_get_ex(schema, "minimum", &b) && d < json_object_get_double(b))
		return fail(err, errlen, path, "%s is below the minimum %s",
			    json_object_to_json_string(v), json_object_to_json_string(b));
	if (json_object_object_get_ex(schema, "maximum", &b) && d > json_object_get_double(b))
		return fail(err, errlen, path, "%s is above the maximum %s",
			    json_object_to_json_string(v), json_object_to_json_string(b));
	return 0;
}

static const char *const known_keywords[] = {
	"type", "properties", "required", "additionalProperties", "items", "minItems",
	"enum", "minimum", "maximum", "description", "$comment", NULL,
};

static int check_at(json_object *schema, json_object *v, const char *path, char *err,
		    size_t errlen)
{
	if (!json_object_is_type(schema, json_type_object))
		return fail(err, errlen, path, "schema is not an object%s%s", "", "");
	json_object_object_foreach(schema, kw, unused) {
		(void)unused;
		bool known = false;
		for (const char *const *k = known_keywords; *k && !known; k++)
			known = strcmp(*k, kw) == 0;
		if (!known)
			return fail(err, errlen, path, "schema keyword \"%s\" is not supported%s",
				    kw, "");
	}
	json_object *t, *e;
	if (json_object_object_get_ex(schema, "type", &t) && check_type(t, v, path, err, errlen))
		return -1;
	if (json_object_object_get_ex(schema, "enum", &e) && check_enum(e, v, path, err, errlen))
		return -1;
	if (check_bounds(schema, v, path, err, errlen))
		return -1;
	if (json_object_is_type(v, json_type_object))
		return check_object(schema, v, path, err, errlen);
	if (json_object_is_type(v, json_type_array))
		return check_array(schema, v, path, err, errlen);
	return 0;
}

int schema_check(json_object *schema, json_object *value, char *err, size_t errlen)
{
	return check_at(schema, value, "$", err, errlen);
}

int schema_check_file(const char *path, const char *payload_json, char *err, size_t errlen)
{
	json_object *schema = json_object_from_file(path);
	if (!schema) {
		snprintf(err, errlen, "%s: cannot read the schema", path);
		return -1;
	}
	json_object *value = json_tokener_parse(payload_json ? payload_json : "");
	int rc;
	if (!value) {
		snprintf(err, errlen, "payload is not JSON");
		rc = -1;
	} else {
		rc = schema_check(schema, value, err, errlen);
	}
	json_object_put(value);
	json_object_put(schema);
	return rc;
}
