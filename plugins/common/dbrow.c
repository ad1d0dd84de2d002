#include "dbrow.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"

static json_object *fallback(const tacws_db_field *f)
{
	json_object *v = f->fallback ? json_tokener_parse(f->fallback) : NULL;
	if (v && f->model)
		return tacws_db_row_shape(v, f->model, false);
	return v;
}

static bool text_to_number(const char *s, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return *s && end != s && !*end && !errno && isfinite(*out);
}

/* v converted to f's type (a new reference), or the fallback when it cannot be. */
static json_object *convert(const tacws_db_field *f, json_object *v)
{
	json_type t = json_object_get_type(v);
	double d;
	switch (f->type) {
	case TACWS_FIELD_ANY:
		return json_object_get(v);
	case TACWS_FIELD_INT:
		if (t == json_type_int)
			return json_object_get(v);
		if (t == json_type_boolean)
			return json_object_new_int64(json_object_get_boolean(v));
		d = json_object_get_double(v);
		if (t == json_type_string && !text_to_number(json_object_get_string(v), &d))
			break;
		if ((t == json_type_double || t == json_type_string) && d == floor(d) &&
		    fabs(d) < 9e15)
			return json_object_new_int64((int64_t)d);
		break;
	case TACWS_FIELD_FLOAT:
		if (t == json_type_int || t == json_type_double)
			return tacws_db_new_double(json_object_get_double(v));
		if (t == json_type_string && text_to_number(json_object_get_string(v), &d))
			return tacws_db_new_double(d);
		break;
	case TACWS_FIELD_BOOL:
		if (t == json_type_boolean)
			return json_object_get(v);
		if (t == json_type_int)
			return json_object_new_boolean(json_object_get_int64(v) != 0);
		if (t == json_type_string) {
			const char *s = json_object_get_string(v);
			if (!strcasecmp(s, "true") || !strcmp(s, "1"))
				return json_object_new_boolean(1);
			if (!strcasecmp(s, "false") || !strcmp(s, "0"))
				return json_object_new_boolean(0);
		}
		break;
	case TACWS_FIELD_TEXT:
		if (t == json_type_string)
			return json_object_get(v);
		break;
	case TACWS_FIELD_OBJECT:
	case TACWS_FIELD_ARRAY: {
		json_type want = f->type == TACWS_FIELD_OBJECT ? json_type_object : json_type_array;
		json_object *parsed = t == json_type_string
		                          ? json_tokener_parse(json_object_get_string(v))
		                          : json_object_get(v);
		if (json_object_is_type(parsed, want)) {
			if (!f->model)
				return parsed;
			json_object *shaped = tacws_db_row_shape(parsed, f->model, false);
			json_object_put(parsed);
			return shaped;
		}
		json_object_put(parsed);
		if (f->bad_is_null && t == json_type_string && *json_object_get_string(v))
			return NULL;
		break;
	}
	}
	return fallback(f);
}

json_object *tacws_db_row_shape(json_object *row, const tacws_db_field *model, bool keep_other)
{
	json_object *out = json_object_new_object();
	for (const tacws_db_field *f = model; f->name; f++) {
		json_object *v;
		if (!json_object_object_get_ex(row, f->name, &v)) {
			if (!f->omit_missing)
				json_object_object_add(out, f->name, fallback(f));
		} else if (!v) {
			json_object_object_add(out, f->name, f->not_null ? fallback(f) : NULL);
		} else {
			json_object_object_add(out, f->name, convert(f, v));
		}
	}
	if (keep_other) {
		json_object_object_foreach(row, key, val)
		{
			if (!json_object_object_get_ex(out, key, NULL))
				json_object_object_add(out, key, json_object_get(val));
		}
	}
	return out;
}

void tacws_db_rows_shape(json_object *rows, const tacws_db_field *model)
{
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		json_object_array_put_idx(
		    rows, i, tacws_db_row_shape(json_object_array_get_idx(rows, i), model, true));
}

static const char *group_key(json_object *row)
{
	const char *k = json_object_get_string(json_object_object_get(row, "k"));
	return k ? k : "null";
}

static int by_dim_then_key(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;
	int c = strcmp(json_object_get_string(json_object_object_get(*x, "dim")),
	               json_object_get_string(json_object_object_get(*y, "dim")));
	return c ? c : strcmp(group_key(*x), group_key(*y));
}

void tacws_db_group_counts(json_object *rows, json_object *into)
{
	json_object_array_sort(rows, by_dim_then_key);
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *g = json_object_array_get_idx(rows, i);
		const char *dim = json_object_get_string(json_object_object_get(g, "dim"));
		json_object *counts;
		if (!json_object_object_get_ex(into, dim, &counts)) {
			counts = json_object_new_object();
			json_object_object_add(into, dim, counts);
		}
		json_object_object_add(
		    counts, group_key(g),
		    json_object_new_int64(json_object_get_int64(json_object_object_get(g, "n"))));
	}
}
