/* JSON Patch (RFC 6902) diff and apply over json-c documents; see delta.h. */
#include "delta.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- diff ---- */

/* The path being visited: RFC 6901 tokens appended and cut back as the walk descends. */
typedef struct path_buf {
	char *s;
	size_t len, cap;
} path_buf;

typedef struct differ {
	const char *const *keys;
	json_object *patch;
	path_buf path;
	int ops;
} differ;

static int path_reserve(path_buf *p, size_t extra)
{
	if (p->len + extra + 1 <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap : 128;
	while (cap < p->len + extra + 1)
		cap *= 2;
	char *s = realloc(p->s, cap);
	if (!s)
		return -ENOMEM;
	p->s = s;
	p->cap = cap;
	return 0;
}

/* Appends "/" and the token with '~' and '/' escaped as "~0" and "~1". */
static int path_push_key(path_buf *p, const char *key)
{
	size_t n = strlen(key);
	if (path_reserve(p, 1 + 2 * n))
		return -ENOMEM;
	p->s[p->len++] = '/';
	for (size_t i = 0; i < n; i++) {
		if (key[i] == '~' || key[i] == '/') {
			p->s[p->len++] = '~';
			p->s[p->len++] = key[i] == '~' ? '0' : '1';
		} else {
			p->s[p->len++] = key[i];
		}
	}
	p->s[p->len] = '\0';
	return 0;
}

static int path_push_index(path_buf *p, size_t idx)
{
	char tok[24];
	snprintf(tok, sizeof tok, "%zu", idx);
	return path_push_key(p, tok);
}

static void path_cut(path_buf *p, size_t len)
{
	p->len = len;
	if (p->s)
		p->s[len] = '\0';
}

static const char *path_str(const path_buf *p)
{
	return p->s ? p->s : "";
}

/*
 * Doubles print as the parser read them (kept as userdata) or by json-c's
 * default format: equal bits print alike, otherwise compare the text.
 * Serialising caches a buffer in each object, so it is the rare path.
 */
static bool same_double(json_object *a, json_object *b)
{
	if (!json_object_get_userdata(a) && !json_object_get_userdata(b)) {
		double x = json_object_get_double(a), y = json_object_get_double(b);
		return !memcmp(&x, &y, sizeof x);
	}
	return !strcmp(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
	               json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
}

/* Equality in the canonical form: same types, members in the same order, same text. */
static bool same(json_object *a, json_object *b)
{
	if (a == b)
		return true;
	json_type t = json_object_get_type(a);
	if (t != json_object_get_type(b))
		return false;
	switch (t) {
	case json_type_null:
		return true;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) == json_object_get_string_len(b) &&
		       !memcmp(json_object_get_string(a), json_object_get_string(b),
		               (size_t)json_object_get_string_len(a));
	case json_type_int:
		return json_object_get_int64(a) == json_object_get_int64(b) &&
		       json_object_get_uint64(a) == json_object_get_uint64(b);
	case json_type_double:
		return same_double(a, b);
	case json_type_array: {
		size_t n = json_object_array_length(a);
		if (n != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!same(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
				return false;
		return true;
	}
	case json_type_object: {
		if (json_object_object_length(a) != json_object_object_length(b))
			return false;
		struct lh_entry *ea = json_object_get_object(a)->head;
		struct lh_entry *eb = json_object_get_object(b)->head;
		for (; ea && eb; ea = ea->next, eb = eb->next)
			if (strcmp(lh_entry_k(ea), lh_entry_k(eb)) ||
			    !same((json_object *)lh_entry_v(ea), (json_object *)lh_entry_v(eb)))
				return false;
		return !ea && !eb;
	}
	}
	return false;
}

/*
 * Appends {"op","path"[,"from"][,"value"]}; value is shared with the new document.
 * "add" and "replace" carry a value, which may be NULL: json-c's JSON null.
 */
static int emit(differ *d, const char *op, const char *from, json_object *value)
{
	bool with_value = !strcmp(op, "add") || !strcmp(op, "replace");
	if (++d->ops > TACWS_DELTA_MAX_OPS)
		return -E2BIG;
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	int rc = json_object_object_add(o, "op", json_object_new_string(op));
	rc |= json_object_object_add(o, "path", json_object_new_string(path_str(&d->path)));
	if (from)
		rc |= json_object_object_add(o, "from", json_object_new_string(from));
	if (with_value)
		rc |= json_object_object_add(o, "value", json_object_get(value));
	if (rc || json_object_array_add(d->patch, o)) {
		json_object_put(o);
		return -ENOMEM;
	}
	return 0;
}

static int diff_value(differ *d, json_object *a, json_object *b, int depth);

/* diff_value one level down, at the member (or index) key. */
static int diff_member(differ *d, json_object *a, json_object *b, const char *key, int depth)
{
	size_t mark = d->path.len;
	int rc = path_push_key(&d->path, key);
	if (!rc)
		rc = diff_value(d, a, b, depth + 1);
	path_cut(&d->path, mark);
	return rc;
}

static int diff_index(differ *d, json_object *a, json_object *b, size_t idx, int depth)
{
	char tok[24];
	snprintf(tok, sizeof tok, "%zu", idx);
	return diff_member(d, a, b, tok, depth);
}

static int emit_at_key(differ *d, const char *op, const char *key, json_object *value)
{
	size_t mark = d->path.len;
	int rc = path_push_key(&d->path, key);
	if (!rc)
		rc = emit(d, op, NULL, value);
	path_cut(&d->path, mark);
	return rc;
}

static int emit_at_index(differ *d, const char *op, size_t idx, json_object *value)
{
	char tok[24];
	snprintf(tok, sizeof tok, "%zu", idx);
	return emit_at_key(d, op, tok, value);
}

/*
 * Objects. "add" appends a member and "replace" keeps its place, so the members
 * b keeps in place are the longest head of b's order that is also in a's order;
 * every later member of b is appended in b's order: new ones by "add", ones a
 * already had by a "move" onto themselves (remove, then append) and a diff.
 */
static int diff_object(differ *d, json_object *a, json_object *b, int depth)
{
	int rc;
	/* The common case, rows of one table: the same members in the same order. */
	struct lh_entry *ea = json_object_get_object(a)->head;
	struct lh_entry *eb = json_object_get_object(b)->head;
	while (ea && eb && !strcmp(lh_entry_k(ea), lh_entry_k(eb)))
		ea = ea->next, eb = eb->next;
	if (!ea && !eb) {
		ea = json_object_get_object(a)->head;
		for (eb = json_object_get_object(b)->head; eb; ea = ea->next, eb = eb->next)
			if ((rc = diff_member(d, (json_object *)lh_entry_v(ea),
			                      (json_object *)lh_entry_v(eb), lh_entry_k(eb), depth)))
				return rc;
		return 0;
	}
	json_object_object_foreach(a, ka, unused) {
		(void)unused;
		if (!json_object_object_get_ex(b, ka, NULL) && (rc = emit_at_key(d, "remove", ka, NULL)))
			return rc;
	}
	/* Walk a's surviving members alongside b's to find the head kept in place. */
	ea = json_object_get_object(a)->head;
	eb = json_object_get_object(b)->head;
	for (; eb; eb = eb->next) {
		const char *kb = lh_entry_k(eb);
		while (ea && !json_object_object_get_ex(b, lh_entry_k(ea), NULL))
			ea = ea->next;
		if (!ea || strcmp(lh_entry_k(ea), kb))
			break;
		if ((rc = diff_member(d, (json_object *)lh_entry_v(ea), (json_object *)lh_entry_v(eb),
		                      kb, depth)))
			return rc;
		ea = ea->next;
	}
	for (; eb; eb = eb->next) {
		const char *kb = lh_entry_k(eb);
		json_object *vb = (json_object *)lh_entry_v(eb), *va;
		if (!json_object_object_get_ex(a, kb, &va)) {
			rc = emit_at_key(d, "add", kb, vb);
		} else {
			size_t mark = d->path.len;
			rc = path_push_key(&d->path, kb);
			if (!rc)
				rc = emit(d, "move", path_str(&d->path), NULL);
			path_cut(&d->path, mark);
			if (!rc)
				rc = diff_member(d, va, vb, kb, depth);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* A row's identity, read once so that comparing two is cheap: a string or an integer. */
typedef struct row_id {
	bool is_string;
	const char *s; /* is_string: the bytes, and their count in n */
	uint64_t n;    /* the integer's int64 bits, or the string's length */
	uint64_t u;    /* the integer's uint64 reading (json-c keeps both) */
} row_id;

static bool row_id_of(json_object *row, const char *key, row_id *id)
{
	json_object *v;
	if (!json_object_is_type(row, json_type_object) || !json_object_object_get_ex(row, key, &v))
		return false;
	if (json_object_is_type(v, json_type_string)) {
		*id = (row_id){true, json_object_get_string(v), (uint64_t)json_object_get_string_len(v), 0};
		return true;
	}
	if (!json_object_is_type(v, json_type_int))
		return false;
	*id = (row_id){false, NULL, (uint64_t)json_object_get_int64(v), json_object_get_uint64(v)};
	return true;
}

static bool row_id_same(const row_id *x, const row_id *y)
{
	return x->is_string == y->is_string && x->n == y->n && x->u == y->u &&
	       (!x->is_string || !memcmp(x->s, y->s, (size_t)x->n));
}

/* Each row's id under key, or NULL (and nothing to free) when a row has none or one repeats. */
static row_id *row_ids(json_object *arr, const char *key)
{
	size_t n = json_object_array_length(arr);
	row_id *ids = malloc((n ? n : 1) * sizeof *ids);
	if (!ids)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool ok = row_id_of(json_object_array_get_idx(arr, i), key, &ids[i]);
		for (size_t j = 0; j < i && ok; j++)
			ok = !row_id_same(&ids[i], &ids[j]);
		if (!ok) {
			free(ids);
			return NULL;
		}
	}
	return ids;
}

/* The first caller key that identifies every row of both arrays, with the rows' ids. */
static const char *array_key(differ *d, json_object *a, json_object *b, row_id **ida, row_id **idb)
{
	size_t na = json_object_array_length(a), nb = json_object_array_length(b);
	if (!d->keys || !na || !nb || na > TACWS_DELTA_MAX_KEYED_ROWS ||
	    nb > TACWS_DELTA_MAX_KEYED_ROWS)
		return NULL;
	for (const char *const *k = d->keys; *k; k++) {
		if (!(*ida = row_ids(a, *k)))
			continue;
		if ((*idb = row_ids(b, *k)))
			return *k;
		free(*ida);
	}
	return NULL;
}

static long find_id(const row_id *ids, size_t n, const row_id *id)
{
	for (size_t i = 0; i < n; i++)
		if (row_id_same(id, &ids[i]))
			return (long)i;
	return -1;
}

static size_t position(const long *at, size_t n, long row)
{
	size_t j = 0;
	while (j < n && at[j] != row)
		j++;
	return j;
}

/* Emits a move of the element at index from to index to of the array at the path. */
static int emit_move(differ *d, size_t from, size_t to)
{
	size_t base = d->path.len;
	int rc = path_push_index(&d->path, from);
	char *from_path = rc ? NULL : strdup(path_str(&d->path));
	path_cut(&d->path, base);
	if (!rc && !from_path)
		rc = -ENOMEM;
	if (!rc)
		rc = path_push_index(&d->path, to);
	if (!rc)
		rc = emit(d, "move", from_path, NULL);
	path_cut(&d->path, base);
	free(from_path);
	return rc;
}

/*
 * Which rows of b keep their place: a longest run of rows common to a and b
 * that are in the same order in both (b's rows by a's index, -1 for new ones).
 */
static bool *rows_staying(const long *from, size_t nb)
{
	size_t *len = calloc(nb + 1, sizeof *len), *prev = calloc(nb + 1, sizeof *prev);
	bool *stay = calloc(nb + 1, sizeof *stay);
	if (!len || !prev || !stay) {
		free(len), free(prev), free(stay);
		return NULL;
	}
	size_t best = 0, end = SIZE_MAX;
	for (size_t i = 0; i < nb; i++) {
		if (from[i] < 0)
			continue;
		len[i] = 1, prev[i] = SIZE_MAX;
		for (size_t j = 0; j < i; j++)
			if (from[j] >= 0 && from[j] < from[i] && len[j] + 1 > len[i])
				len[i] = len[j] + 1, prev[i] = j;
		if (len[i] > best)
			best = len[i], end = i;
	}
	for (size_t i = end; i != SIZE_MAX; i = prev[i])
		stay[i] = true;
	free(len);
	free(prev);
	return stay;
}

/*
 * Keyed rows: remove the rows b lacks (last first, so indexes hold); keep the
 * longest run of rows already in b's order; put every other row, moved or new,
 * right after the row b has before it (one "move" or "add" each), then diff the
 * rows in place. `at` mirrors the array as the patch so far leaves it: a's index
 * of each row, or -1 - i for b's new row i.
 */
static int diff_keyed(differ *d, json_object *a, json_object *b, const row_id *ida,
                      const row_id *idb, int depth)
{
	size_t na = json_object_array_length(a), nb = json_object_array_length(b);
	long *at = malloc((na + nb + 1) * sizeof *at), *from = malloc((nb + 1) * sizeof *from);
	bool *stay = NULL;
	int rc = at && from ? 0 : -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < na && !rc; i++)
		at[n++] = (long)i;
	for (size_t i = na; i-- > 0 && !rc;) {
		if (find_id(idb, nb, &ida[i]) < 0) {
			rc = emit_at_index(d, "remove", i, NULL);
			memmove(at + i, at + i + 1, (n - i - 1) * sizeof *at);
			n--;
		}
	}
	for (size_t i = 0; i < nb && !rc; i++)
		from[i] = find_id(ida, na, &idb[i]);
	if (!rc && !(stay = rows_staying(from, nb)))
		rc = -ENOMEM;
	for (size_t i = 0; i < nb && !rc; i++) {
		if (stay[i])
			continue;
		long row = from[i] >= 0 ? from[i] : -1 - (long)i;
		size_t j = from[i] >= 0 ? position(at, n, row) : n;
		if (j < n) { /* take it out first: a move's target index counts without it */
			memmove(at + j, at + j + 1, (n - j - 1) * sizeof *at);
			n--;
		}
		long pred = i == 0 ? 0 : from[i - 1] >= 0 ? from[i - 1] : -(long)i;
		size_t to = i == 0 ? 0 : position(at, n, pred) + 1;
		if (from[i] >= 0)
			rc = j == to ? 0 : emit_move(d, j, to);
		else
			rc = emit_at_index(d, "add", to, json_object_array_get_idx(b, i));
		memmove(at + to + 1, at + to, (n - to) * sizeof *at);
		at[to] = row;
		n++;
	}
	for (size_t i = 0; i < nb && !rc; i++)
		if (from[i] >= 0)
			rc = diff_index(d, json_object_array_get_idx(a, (size_t)from[i]),
			                json_object_array_get_idx(b, i), i, depth);
	free(at);
	free(from);
	free(stay);
	return rc;
}

/* Unkeyed: trim the equal head and tail, diff the middle by position, add or drop the rest. */
static int diff_positional(differ *d, json_object *a, json_object *b, int depth)
{
	size_t na = json_object_array_length(a), nb = json_object_array_length(b);
	size_t head = 0, tail = 0;
	while (head < na && head < nb &&
	       same(json_object_array_get_idx(a, head), json_object_array_get_idx(b, head)))
		head++;
	while (tail < na - head && tail < nb - head &&
	       same(json_object_array_get_idx(a, na - 1 - tail),
	            json_object_array_get_idx(b, nb - 1 - tail)))
		tail++;
	size_t ma = na - head - tail, mb = nb - head - tail;
	size_t common = ma < mb ? ma : mb;
	int rc = 0;
	for (size_t i = 0; i < common && !rc; i++)
		rc = diff_index(d, json_object_array_get_idx(a, head + i),
		                json_object_array_get_idx(b, head + i), head + i, depth);
	for (size_t i = common; i < mb && !rc; i++)
		rc = emit_at_index(d, "add", head + i, json_object_array_get_idx(b, head + i));
	for (size_t i = common; i < ma && !rc; i++)
		rc = emit_at_index(d, "remove", head + common, NULL);
	return rc;
}

static int diff_value(differ *d, json_object *a, json_object *b, int depth)
{
	if (depth > TACWS_DELTA_MAX_DEPTH)
		return -E2BIG;
	json_type t = json_object_get_type(a);
	if (t == json_type_object && json_object_is_type(b, json_type_object))
		return diff_object(d, a, b, depth);
	if (t == json_type_array && json_object_is_type(b, json_type_array)) {
		row_id *ida, *idb;
		if (!array_key(d, a, b, &ida, &idb))
			return diff_positional(d, a, b, depth);
		int rc = diff_keyed(d, a, b, ida, idb, depth);
		free(ida);
		free(idb);
		return rc;
	}
	return same(a, b) ? 0 : emit(d, "replace", NULL, b);
}

int tacws_delta_diff(json_object *old_doc, json_object *new_doc, const char *const *keys,
                     json_object **patch)
{
	if (!patch)
		return -EINVAL;
	*patch = NULL;
	differ d = {.keys = keys, .patch = json_object_new_array()};
	if (!d.patch)
		return -ENOMEM;
	int rc = diff_value(&d, old_doc, new_doc, 0);
	free(d.path.s);
	if (rc) {
		json_object_put(d.patch);
		return rc;
	}
	*patch = d.patch;
	return 0;
}

/* ---- apply ---- */

/* One RFC 6901 token, unescaped, into buf (NUL-terminated); the rest of the pointer in *rest. */
static int token_next(const char **p, char **buf, size_t *cap)
{
	const char *s = *p + 1; /* past '/' */
	size_t n = 0;
	for (const char *q = s; *q && *q != '/'; q++)
		n++;
	if (n + 1 > *cap) {
		char *nb = realloc(*buf, n + 1);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = n + 1;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '~') {
			if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
				return -EINVAL;
			(*buf)[o++] = s[i + 1] == '0' ? '~' : '/';
			i++;
		} else {
			(*buf)[o++] = s[i];
		}
	}
	(*buf)[o] = '\0';
	*p = s + n;
	return 0;
}

/* An array index token: "0" or digits without a leading zero, at most limit. */
static int token_index(const char *tok, size_t limit, size_t *idx)
{
	if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 18)
		return -EINVAL;
	size_t v = 0;
	for (const char *c = tok; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (size_t)(*c - '0');
	}
	if (v > limit)
		return -EINVAL;
	*idx = v;
	return 0;
}

/*
 * Resolves every token of ptr but the last; *parent is the container it names
 * and *last the last token, unescaped (the caller frees *last).
 */
static int resolve_parent(json_object *doc, const char *ptr, json_object **parent, char **last)
{
	char *tok = NULL;
	size_t cap = 0;
	json_object *cur = doc;
	int rc = 0;
	while (!rc) {
		rc = token_next(&ptr, &tok, &cap);
		if (rc || !*ptr)
			break;
		json_object *next = NULL;
		if (json_object_is_type(cur, json_type_object)) {
			if (!json_object_object_get_ex(cur, tok, &next))
				rc = -EINVAL;
		} else if (json_object_is_type(cur, json_type_array)) {
			size_t i;
			size_t n = json_object_array_length(cur);
			rc = n ? token_index(tok, n - 1, &i) : -EINVAL;
			if (!rc)
				next = json_object_array_get_idx(cur, i);
		} else {
			rc = -EINVAL;
		}
		cur = next;
	}
	if (rc) {
		free(tok);
		return rc;
	}
	*parent = cur;
	*last = tok;
	return 0;
}

/* Whether ptr names a value in doc; *v is it (borrowed; NULL is JSON null). */
static bool resolve(json_object *doc, const char *ptr, json_object **v)
{
	*v = doc;
	if (!*ptr)
		return true;
	json_object *parent;
	char *last;
	if (ptr[0] != '/' || resolve_parent(doc, ptr, &parent, &last))
		return false;
	bool found = false;
	if (json_object_is_type(parent, json_type_object)) {
		found = json_object_object_get_ex(parent, last, v);
	} else if (json_object_is_type(parent, json_type_array)) {
		size_t i, n = json_object_array_length(parent);
		found = n && !token_index(last, n - 1, &i);
		if (found)
			*v = json_object_array_get_idx(parent, i);
	}
	free(last);
	return found;
}

/* Inserts v (owned) at idx <= length: json-c 0.16 has no insert, so shift up by one. */
static int array_insert(json_object *arr, size_t idx, json_object *v)
{
	size_t n = json_object_array_length(arr);
	if (json_object_array_add(arr, json_object_get(v))) {
		json_object_put(v);
		json_object_put(v);
		return -ENOMEM;
	}
	for (size_t k = n; k > idx; k--)
		json_object_array_put_idx(arr, k, json_object_get(json_object_array_get_idx(arr, k - 1)));
	if (idx < n)
		json_object_array_put_idx(arr, idx, v);
	else
		json_object_put(v);
	return 0;
}

/* Takes v (owned), puts it at ptr in *doc; "" replaces the whole document. */
static int op_add(json_object **doc, const char *ptr, json_object *v, bool replace)
{
	if (!*ptr) {
		json_object_put(*doc);
		*doc = v;
		return 0;
	}
	json_object *parent;
	char *last;
	int rc = ptr[0] == '/' ? resolve_parent(*doc, ptr, &parent, &last) : -EINVAL;
	if (rc) {
		json_object_put(v);
		return rc;
	}
	if (json_object_is_type(parent, json_type_object)) {
		if (replace && !json_object_object_get_ex(parent, last, NULL))
			rc = -EINVAL;
		else if (json_object_object_add(parent, last, v))
			rc = -ENOMEM;
		v = rc ? v : NULL;
	} else if (json_object_is_type(parent, json_type_array)) {
		size_t n = json_object_array_length(parent), i = n;
		if (replace)
			rc = n ? token_index(last, n - 1, &i) : -EINVAL;
		else if (strcmp(last, "-"))
			rc = token_index(last, n, &i);
		if (!rc && replace) {
			rc = json_object_array_put_idx(parent, i, v) ? -ENOMEM : 0;
			v = rc ? v : NULL;
		} else if (!rc) {
			rc = array_insert(parent, i, v);
			v = NULL; /* array_insert takes it, also on failure */
		}
	} else {
		rc = -EINVAL;
	}
	json_object_put(v);
	free(last);
	return rc;
}

/* Removes the value at ptr; when taken is not NULL, hands it over instead of freeing it. */
static int op_remove(json_object *doc, const char *ptr, json_object **taken)
{
	json_object *parent;
	char *last;
	if (ptr[0] != '/')
		return -EINVAL; /* also "": the whole document cannot be removed */
	int rc = resolve_parent(doc, ptr, &parent, &last);
	if (rc)
		return rc;
	json_object *v = NULL;
	if (json_object_is_type(parent, json_type_object)) {
		if (!json_object_object_get_ex(parent, last, &v))
			rc = -EINVAL;
		else {
			json_object_get(v);
			json_object_object_del(parent, last);
		}
	} else if (json_object_is_type(parent, json_type_array)) {
		size_t i, n = json_object_array_length(parent);
		rc = n ? token_index(last, n - 1, &i) : -EINVAL;
		if (!rc) {
			v = json_object_get(json_object_array_get_idx(parent, i));
			json_object_array_del_idx(parent, i, 1);
		}
	} else {
		rc = -EINVAL;
	}
	free(last);
	if (taken && !rc)
		*taken = v;
	else
		json_object_put(v);
	return rc;
}

/* A deep copy; NULL for JSON null, and also when out of memory (callers tell by v). */
static json_object *copy_of(json_object *v)
{
	json_object *c = NULL;
	return v && !json_object_deep_copy(v, &c, NULL) ? c : NULL;
}

static int apply_op(json_object **doc, json_object *op)
{
	json_object *jop, *jpath, *jfrom = NULL, *value = NULL;
	if (!json_object_is_type(op, json_type_object) || !json_object_object_get_ex(op, "op", &jop) ||
	    !json_object_object_get_ex(op, "path", &jpath) ||
	    !json_object_is_type(jop, json_type_string) || !json_object_is_type(jpath, json_type_string))
		return -EINVAL;
	const char *name = json_object_get_string(jop), *path = json_object_get_string(jpath);
	if ((size_t)json_object_get_string_len(jpath) != strlen(path))
		return -EINVAL; /* a NUL inside the pointer */
	bool has_value = json_object_object_get_ex(op, "value", &value);
	bool needs_from = !strcmp(name, "move") || !strcmp(name, "copy");
	if (needs_from && (!json_object_object_get_ex(op, "from", &jfrom) ||
	                   !json_object_is_type(jfrom, json_type_string)))
		return -EINVAL;
	const char *from = jfrom ? json_object_get_string(jfrom) : NULL;

	if (!strcmp(name, "add") || !strcmp(name, "replace")) {
		if (!has_value)
			return -EINVAL;
		json_object *cur;
		if (!strcmp(name, "replace") && !resolve(*doc, path, &cur))
			return -EINVAL;
		json_object *v = copy_of(value);
		if (!v && value)
			return -ENOMEM;
		return op_add(doc, path, v, !strcmp(name, "replace"));
	}
	if (!strcmp(name, "remove"))
		return op_remove(*doc, path, NULL);
	if (!strcmp(name, "test")) {
		json_object *cur;
		return has_value && resolve(*doc, path, &cur) && same(cur, value) ? 0 : -EINVAL;
	}
	if (!strcmp(name, "copy")) {
		json_object *src;
		if (!resolve(*doc, from, &src))
			return -EINVAL;
		json_object *v = copy_of(src);
		if (!v && src)
			return -ENOMEM;
		return op_add(doc, path, v, false);
	}
	if (!strcmp(name, "move")) {
		size_t fl = strlen(from);
		if (!strncmp(path, from, fl) && path[fl] == '/')
			return -EINVAL; /* into its own child */
		json_object *src;
		if (!resolve(*doc, from, &src))
			return -EINVAL;
		if (!*from) /* the whole document onto itself: "" is a prefix only of "" here */
			return 0;
		json_object *v;
		int rc = op_remove(*doc, from, &v);
		return rc ? rc : op_add(doc, path, v, false);
	}
	return -EINVAL;
}

int tacws_delta_apply(json_object *doc, json_object *patch, json_object **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!json_object_is_type(patch, json_type_array))
		return -EINVAL;
	size_t n = json_object_array_length(patch);
	if (n > TACWS_DELTA_MAX_OPS)
		return -E2BIG;
	json_object *cur = copy_of(doc);
	if (!cur && doc)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = apply_op(&cur, json_object_array_get_idx(patch, i));
		if (rc) {
			json_object_put(cur);
			return rc;
		}
	}
	*out = cur;
	return 0;
}
