/*
 * JSON deltas (core/delta.h): a property test over random documents and random
 * edits (apply(diff(a, b), a) is b, byte for byte in the canonical form), and
 * unit cases for the patch's size and form on TAC-shaped rows.
 * TACWS_DELTA_SEED and TACWS_DELTA_ITERATIONS override the fixed seed and count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"
#include "testutil.h"

static const char *const row_keys[] = {"id", "queue_id", "adw_id", NULL};

static const char *canon(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* ---- random documents ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* Names and strings that need escaping in a pointer, in JSON, or are not ASCII. */
static const char *const words[] = {
    "id", "status", "a/b", "m~n", "~1", "~0/", "/", "~", "", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
    "\xf0\x9f\x98\x80", "quote\"d", "back\\slash", "tab\there", "0", "-", "01", "phase", "x y",
};
#define N_WORDS (sizeof words / sizeof *words)

static json_object *gen_value(int depth);

static json_object *gen_scalar(void)
{
	switch (pick(7)) {
	case 0:
		return NULL;
	case 1:
		return json_object_new_boolean(pick(2));
	case 2:
		return json_object_new_int64((int64_t)pick(2000) - 1000);
	case 3:
		return json_object_new_double((double)pick(1000) / 8.0 - 20.0);
	case 4:
		return json_object_new_int64(INT64_MIN + pick(3));
	default:
		return json_object_new_string(words[pick(N_WORDS)]);
	}
}

/* A row: a unique id (string or integer by the array's choice) and a few members. */
static json_object *gen_row(const char *key, int id, int string_ids, int depth)
{
	json_object *row = json_object_new_object();
	char buf[32];
	snprintf(buf, sizeof buf, "r%d/~%d", id, id);
	json_object_object_add(row, key, string_ids ? json_object_new_string(buf)
	                                            : json_object_new_int(id));
	int n = pick(4);
	for (int i = 0; i < n; i++)
		json_object_object_add(row, words[pick(N_WORDS)], gen_value(depth + 1));
	return row;
}

static int next_row_id;

static json_object *gen_rows(int depth)
{
	json_object *arr = json_object_new_array();
	const char *key = row_keys[pick(3)];
	int string_ids = pick(2), n = pick(8);
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, gen_row(key, next_row_id++, string_ids, depth));
	return arr;
}

static json_object *gen_value(int depth)
{
	int kind = depth > 4 ? 0 : depth == 0 ? 3 + pick(3) : pick(6);
	if (kind <= 2)
		return gen_scalar();
	if (kind == 3)
		return gen_rows(depth);
	if (kind == 4) {
		json_object *arr = json_object_new_array();
		for (int i = pick(5); i > 0; i--)
			json_object_array_add(arr, gen_value(depth + 1));
		return arr;
	}
	json_object *obj = json_object_new_object();
	for (int i = pick(6); i > 0; i--)
		json_object_object_add(obj, words[pick(N_WORDS)], gen_value(depth + 1));
	return obj;
}

/* ---- random edits, in place on a copy ---- */

static json_object *deep_copy(json_object *o)
{
	json_object *c = NULL;
	if (o && json_object_deep_copy(o, &c, NULL))
		abort();
	return c;
}

/* The object rebuilt with its members in a shuffled order. */
static void shuffle_members(json_object *obj)
{
	int n = json_object_object_length(obj);
	if (n < 2)
		return;
	char **names = calloc((size_t)n, sizeof *names);
	json_object **vals = calloc((size_t)n, sizeof *vals);
	int i = 0;
	json_object_object_foreach(obj, k, v) {
		names[i] = strdup(k);
		vals[i++] = json_object_get(v);
	}
	for (i = 0; i < n; i++)
		json_object_object_del(obj, names[i]);
	for (i = n - 1; i > 0; i--) {
		int j = pick(i + 1);
		char *tn = names[i];
		json_object *tv = vals[i];
		names[i] = names[j], vals[i] = vals[j];
		names[j] = tn, vals[j] = tv;
	}
	for (i = 0; i < n; i++) {
		json_object_object_add(obj, names[i], vals[i]);
		free(names[i]);
	}
	free(names);
	free(vals);
}

static const char *rows_key(json_object *arr)
{
	json_object *first = json_object_array_get_idx(arr, 0);
	for (const char *const *k = row_keys; *k; k++)
		if (json_object_is_type(first, json_type_object) &&
		    json_object_object_get_ex(first, *k, NULL))
			return *k;
	return NULL;
}

static void array_move(json_object *arr, size_t from, size_t to)
{
	size_t n = json_object_array_length(arr);
	json_object *rebuilt = json_object_new_array();
	json_object *moved = json_object_array_get_idx(arr, from);
	for (size_t i = 0, out = 0; i < n; i++) {
		if (i == from)
			continue;
		if (out++ == to)
			json_object_array_add(rebuilt, json_object_get(moved));
		json_object_array_add(rebuilt, json_object_get(json_object_array_get_idx(arr, i)));
	}
	if (json_object_array_length(rebuilt) < n)
		json_object_array_add(rebuilt, json_object_get(moved));
	json_object_array_del_idx(arr, 0, n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_get(json_object_array_get_idx(rebuilt, i)));
	json_object_put(rebuilt);
}

static void array_insert_at(json_object *arr, size_t at, json_object *v)
{
	size_t n = json_object_array_length(arr);
	json_object_array_add(arr, v);
	array_move(arr, n, at);
}

static json_object *mutate(json_object *v, int depth);

static void mutate_array(json_object *arr, int depth)
{
	size_t n = json_object_array_length(arr);
	const char *key = n ? rows_key(arr) : NULL;
	switch (pick(5)) {
	case 0: { /* insert: a row with a fresh id in a keyed array */
		json_object *fresh;
		if (key) {
			json_object *id;
			json_object_object_get_ex(json_object_array_get_idx(arr, 0), key, &id);
			fresh = gen_row(key, next_row_id++, json_object_is_type(id, json_type_string), depth);
		} else {
			fresh = gen_value(depth + 1);
		}
		array_insert_at(arr, (size_t)pick((int)n + 1), fresh);
		break;
	}
	case 1:
		if (n)
			json_object_array_del_idx(arr, (size_t)pick((int)n), 1);
		break;
	case 2:
		if (n > 1)
			array_move(arr, (size_t)pick((int)n), (size_t)pick((int)n - 1));
		break;
	default:
		for (size_t i = 0; i < n; i++)
			if (pick(3) == 0)
				json_object_array_put_idx(arr, i,
				    mutate(json_object_get(json_object_array_get_idx(arr, i)), depth + 1));
	}
}

static void mutate_object(json_object *obj, int depth)
{
	switch (pick(5)) {
	case 0:
		json_object_object_add(obj, words[pick(N_WORDS)], gen_value(depth + 1));
		break;
	case 1: {
		int n = json_object_object_length(obj), i = 0, victim = n ? pick(n) : -1;
		json_object_object_foreach(obj, k, v) {
			(void)v;
			if (i++ == victim) {
				json_object_object_del(obj, k);
				break;
			}
		}
		break;
	}
	case 2:
		shuffle_members(obj);
		break;
	default: {
		json_object_object_foreach(obj, k, v) {
			if (pick(3) == 0)
				json_object_object_add(obj, k, mutate(json_object_get(v), depth + 1));
		}
	}
	}
}

/* Takes v, returns its edited version (possibly another type). */
static json_object *mutate(json_object *v, int depth)
{
	if (pick(8) == 0 || depth > 6) { /* a type change or a new scalar */
		json_object_put(v);
		return pick(2) ? gen_scalar() : gen_value(depth);
	}
	if (json_object_is_type(v, json_type_array))
		mutate_array(v, depth);
	else if (json_object_is_type(v, json_type_object))
		mutate_object(v, depth);
	else if (pick(2)) {
		json_object_put(v);
		return gen_scalar();
	}
	return v;
}

/* ---- the property ---- */

static long iterations(void)
{
	const char *s = getenv("TACWS_DELTA_ITERATIONS");
	return s ? strtol(s, NULL, 10) : 20000;
}

static uint64_t seed(void)
{
	const char *s = getenv("TACWS_DELTA_SEED");
	return s ? strtoull(s, NULL, 0) : 0x7ac5de17aULL;
}

static void test_property_random_edits(void)
{
	uint64_t s = seed();
	long n = iterations(), ops = 0, failures = 0;
	rng_state = s;
	for (long i = 0; i < n && failures < 3; i++) {
		json_object *a = gen_value(0); /* a container: rows, an array or an object */
		json_object *b = deep_copy(a);
		for (int e = 1 + pick(3); e > 0; e--)
			b = mutate(b, 0);
		json_object *patch = NULL, *got = NULL;
		int rc = tacws_delta_diff(a, b, row_keys, &patch);
		int rc2 = rc ? rc : tacws_delta_apply(a, patch, &got);
		if (rc || rc2 || strcmp(canon(got), canon(b))) {
			failures++;
			printf("\ndelta property failed: seed 0x%" PRIx64 " iteration %ld (diff %d, apply %d)\n"
			       "  a:     %s\n", s, i, rc, rc2, canon(a));
			printf("  b:     %s\n", canon(b));
			printf("  patch: %s\n", patch ? canon(patch) : "-");
			printf("  got:   %s\n", got ? canon(got) : "-");
		}
		if (patch)
			ops += (long)json_object_array_length(patch);
		json_object *self = NULL;
		CU_ASSERT_EQUAL(tacws_delta_diff(a, a, row_keys, &self), 0);
		CU_ASSERT_EQUAL(json_object_array_length(self), 0);
		json_object_put(self);
		json_object_put(a);
		json_object_put(b);
		json_object_put(patch);
		json_object_put(got);
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_TRUE(ops > n); /* the edits were not all no-ops */
	printf("\n  %ld random pairs, %ld operations, seed 0x%" PRIx64 "\n", n, ops, s);
}

/* ---- unit cases on TAC-shaped rows ---- */

/* workflow-history's shape: 50 rows of about 800 bytes, a count, analytics. */
static json_object *history(int first_id)
{
	json_object *doc = json_object_new_object(), *rows = json_object_new_array();
	for (int i = 0; i < 50; i++) {
		json_object *r = json_object_new_object();
		char id[16], text[700];
		snprintf(id, sizeof id, "%08x", 0x1000 + first_id + i);
		memset(text, 'x', sizeof text - 1);
		text[sizeof text - 1] = '\0';
		json_object_object_add(r, "id", json_object_new_int(first_id + i));
		json_object_object_add(r, "adw_id", json_object_new_string(id));
		json_object_object_add(r, "status", json_object_new_string("running"));
		json_object_object_add(r, "nl_input", json_object_new_string(text));
		json_object_array_add(rows, r);
	}
	json_object_object_add(doc, "workflows", rows);
	json_object_object_add(doc, "total_count", json_object_new_int(50 + first_id));
	json_object_object_add(doc, "analytics", json_object_new_object());
	return doc;
}

static json_object *diff_checked(json_object *a, json_object *b)
{
	json_object *patch = NULL, *got = NULL;
	CU_ASSERT_EQUAL_FATAL(tacws_delta_diff(a, b, row_keys, &patch), 0);
	CU_ASSERT_EQUAL(tacws_delta_apply(a, patch, &got), 0);
	CU_ASSERT_STRING_EQUAL(canon(got), canon(b));
	json_object_put(got);
	return patch;
}

static json_object *row(json_object *doc, size_t i)
{
	json_object *rows;
	json_object_object_get_ex(doc, "workflows", &rows);
	return json_object_array_get_idx(rows, i);
}

static void test_one_row_changed_is_one_op(void)
{
	json_object *a = history(0), *b = history(0);
	json_object_object_add(row(b, 7), "status", json_object_new_string("completed"));
	json_object *patch = diff_checked(a, b);
	CU_ASSERT_STRING_EQUAL(canon(patch),
	                       "[{\"op\":\"replace\",\"path\":\"\\/workflows\\/7\\/status\","
	                       "\"value\":\"completed\"}]");
	CU_ASSERT_TRUE(strlen(canon(patch)) * 100 < strlen(canon(b)));
	json_object_put(patch);
	json_object_put(a);
	json_object_put(b);
}

static void test_new_row_on_top_is_add_and_remove(void)
{
	json_object *a = history(1), *b = history(0); /* b: one newer row on top, oldest gone */
	json_object_object_add(b, "total_count", json_object_new_int(52));
	json_object *patch = diff_checked(a, b);
	CU_ASSERT_EQUAL(json_object_array_length(patch), 3); /* remove, add, total_count */
	CU_ASSERT_TRUE(strlen(canon(patch)) < 1200);
	json_object_put(patch);
	json_object_put(a);
	json_object_put(b);
}

static void test_moved_row_is_one_move(void)
{
	json_object *a = history(0), *b = history(0);
	json_object *rows;
	json_object_object_get_ex(b, "workflows", &rows);
	array_move(rows, 30, 0);
	json_object *patch = diff_checked(a, b);
	CU_ASSERT_STRING_EQUAL(canon(patch),
	                       "[{\"op\":\"move\",\"path\":\"\\/workflows\\/0\",\"from\":\"\\/workflows\\/30\"}]");
	json_object_put(patch);
	/* Down the list too: one move, not one per row it passes. */
	array_move(rows, 0, 30); /* back */
	array_move(rows, 2, 40);
	patch = diff_checked(a, b);
	CU_ASSERT_STRING_EQUAL(canon(patch),
	                       "[{\"op\":\"move\",\"path\":\"\\/workflows\\/40\",\"from\":\"\\/workflows\\/2\"}]");
	json_object_put(patch);
	json_object_put(a);
	json_object_put(b);
}

static void test_without_keys_rows_go_by_position(void)
{
	json_object *a = history(1), *b = history(0), *patch = NULL;
	CU_ASSERT_EQUAL(tacws_delta_diff(a, b, NULL, &patch), 0);
	CU_ASSERT_TRUE(json_object_array_length(patch) > 50); /* every row shifted by one */
	json_object_put(patch);
	json_object_put(a);
	json_object_put(b);
}

/* The patch from text a to text b applies, and is want (canonical) when want is set. */
static void check_texts(const char *a_text, const char *b_text, const char *want)
{
	json_object *a = json_tokener_parse(a_text), *b = json_tokener_parse(b_text);
	json_object *patch = diff_checked(a, b);
	if (want)
		CU_ASSERT_STRING_EQUAL(canon(patch), want);
	json_object_put(patch);
	json_object_put(a);
	json_object_put(b);
}

static void test_pointer_escapes(void)
{
	check_texts("{\"a/b\":1,\"m~n\":{\"~1\":2}}", "{\"a/b\":3,\"m~n\":{\"~1\":4}}",
	            "[{\"op\":\"replace\",\"path\":\"\\/a~1b\",\"value\":3},"
	            "{\"op\":\"replace\",\"path\":\"\\/m~0n\\/~01\",\"value\":4}]");
}

static void test_member_order_is_kept(void)
{
	/* y and x change places, w is new: x moves behind w by a move onto itself. */
	check_texts("{\"x\":1,\"y\":2,\"z\":3}", "{\"y\":2,\"w\":0,\"x\":1,\"z\":3}", NULL);
}

/* RFC 6902's own examples and its error cases. */
static void test_apply_rfc_cases(void)
{
	static const struct {
		const char *doc, *patch, *want; /* want NULL: -EINVAL */
	} cases[] = {
	    {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
	     "{\"foo\":\"bar\",\"baz\":\"qux\"}"},
	    {"{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
	     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
	    {"{\"foo\":[1]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":2}]", "{\"foo\":[1,2]}"},
	    {"{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
	     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"},
	    {"{\"a\":[1,2,3,4]}", "[{\"op\":\"move\",\"from\":\"/a/1\",\"path\":\"/a/3\"}]",
	     "{\"a\":[1,3,4,2]}"},
	    {"{\"a\":{\"b\":null}}", "[{\"op\":\"replace\",\"path\":\"/a/b\",\"value\":[null]}]",
	     "{\"a\":{\"b\":[null]}}"},
	    {"{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"},"
	                  "{\"op\":\"test\",\"path\":\"/b\",\"value\":1}]", "{\"a\":1,\"b\":1}"},
	    {"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[7]}]", "[7]"},
	    {"{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b/c\",\"value\":2}]", NULL},
	    {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]", NULL},
	    {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]", NULL},
	    {"{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":2}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":2}]", NULL},
	    {"{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL},
	    {"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", NULL},
	    {"{\"a\":1}", "{\"op\":\"remove\",\"path\":\"/a\"}", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		json_object *doc = json_tokener_parse(cases[i].doc);
		json_object *patch = json_tokener_parse(cases[i].patch), *got = NULL;
		char *before = strdup(canon(doc));
		int rc = tacws_delta_apply(doc, patch, &got);
		if (cases[i].want) {
			CU_ASSERT_EQUAL(rc, 0);
			json_object *want = json_tokener_parse(cases[i].want);
			CU_ASSERT_STRING_EQUAL(rc ? "(failed)" : canon(got), canon(want));
			json_object_put(want);
		} else {
			CU_ASSERT_EQUAL(rc, -EINVAL);
			CU_ASSERT_PTR_NULL(got);
		}
		CU_ASSERT_STRING_EQUAL(canon(doc), before); /* the input is left alone */
		free(before);
		json_object_put(got);
		json_object_put(doc);
		json_object_put(patch);
	}
}

static void test_bounds_give_up(void)
{
	/* Deeper than the cap: built by hand, the parser would stop earlier. */
	json_object *a = json_object_new_int(1), *b = json_object_new_int(2);
	for (int i = 0; i < TACWS_DELTA_MAX_DEPTH + 2; i++) {
		json_object *wa = json_object_new_object(), *wb = json_object_new_object();
		json_object_object_add(wa, "n", a);
		json_object_object_add(wb, "n", b);
		a = wa, b = wb;
	}
	json_object *patch = (json_object *)1;
	CU_ASSERT_EQUAL(tacws_delta_diff(a, b, row_keys, &patch), -E2BIG);
	CU_ASSERT_PTR_NULL(patch);
	json_object_put(a);
	json_object_put(b);
	/* More operations than the cap. */
	a = json_object_new_array(), b = json_object_new_array();
	for (int i = 0; i < TACWS_DELTA_MAX_OPS + 1; i++) {
		json_object_array_add(a, json_object_new_int(i));
		json_object_array_add(b, json_object_new_int(-i - 1));
	}
	CU_ASSERT_EQUAL(tacws_delta_diff(a, b, row_keys, &patch), -E2BIG);
	json_object_put(a);
	json_object_put(b);
	CU_ASSERT_EQUAL(tacws_delta_diff(NULL, NULL, NULL, NULL), -EINVAL);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"random documents and edits: apply(diff(a, b), a) == b", test_property_random_edits},
	    {"one row changed is one replace", test_one_row_changed_is_one_op},
	    {"a new row on top is one add and one remove", test_new_row_on_top_is_add_and_remove},
	    {"a moved row is one move", test_moved_row_is_one_move},
	    {"without keys rows are diffed by position", test_without_keys_rows_go_by_position},
	    {"pointer tokens escape ~ and /", test_pointer_escapes},
	    {"member order follows the new document", test_member_order_is_kept},
	    {"apply: RFC 6902 cases and errors", test_apply_rfc_cases},
	    {"depth and size caps give up with -E2BIG", test_bounds_give_up},
	    {NULL, NULL},
	};
	return tacws_test_run("delta", NULL, NULL, cases);
}
