#include "input.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEPTH_CLIENT 8
#define DEPTH_BODY 32

bool tacws_utf8_valid(const char *s, size_t len)
{
	if (!s)
		return len == 0;
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		unsigned int c = *p++, cp, min;
		size_t n;
		if (c < 0x80)
			continue;
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if ((size_t)(end - p) < n)
			return false;
		for (size_t i = 0; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		p += n;
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

int tacws_json_parse(const char *text, size_t len, int depth, json_object **out)
{
	*out = NULL;
	if (!text || len > INT_MAX)
		return -EINVAL;
	json_tokener *tok = json_tokener_new_ex(depth);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e != json_tokener_success) {
		json_object_put(o);
		return -EINVAL;
	}
	/* one value only: "{...} {...}" or a value then a NUL is refused */
	for (size_t i = end; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') {
			json_object_put(o);
			return -EINVAL;
		}
	*out = o;
	return 0;
}

static bool name_char_or_dash(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

bool tacws_base_ok(const char *s, size_t len)
{
	if (len == 0 || len > TACWS_BASE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool tacws_param_ok(const char *s, size_t len)
{
	if (len == 0 || len > TACWS_PARAM_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || strchr("/?#%\"\\", c))
			return false;
	}
	return true;
}

int tacws_topic_name_parse(const char *s, size_t len, tacws_topic_name *out)
{
	memset(out, 0, sizeof *out);
	const char *slash = memchr(s, '/', len);
	size_t base_len = slash ? (size_t)(slash - s) : len;
	if (!tacws_base_ok(s, base_len))
		return -EINVAL;
	memcpy(out->base, s, base_len);
	if (!slash || base_len + 1 == len)
		return 0; /* "queue" or "queue/" */
	const char *param = slash + 1;
	size_t plen = len - base_len - 1;
	if (!tacws_param_ok(param, plen))
		return -EINVAL;
	memcpy(out->param, param, plen);
	out->has_param = true;
	return 0;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static bool dot_segment(const char *seg, size_t len)
{
	return (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.');
}

bool tacws_target_is_path(const char *target, const char *path)
{
	size_t end = strcspn(target, "?#"), at = 0, seg = 0;
	if (!end || target[0] != '/')
		return false;
	for (size_t i = 0; i < end; i++, at++) {
		char c = target[i];
		if (c == '%') {
			int hi = i + 2 < end ? hex_value(target[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(target[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (path[at] != c)
			return false;
		if (c == '/') {
			if (dot_segment(path + seg, at - seg))
				return false;
			seg = at + 1;
		}
	}
	return path[at] == '\0' && !dot_segment(path + seg, at - seg);
}

int tacws_ws_path_parse(const char *prefix, const char *path, bool *mux, tacws_topic_name *out)
{
	*mux = false;
	memset(out, 0, sizeof *out);
	size_t plen = strlen(prefix);
	if (strncmp(path, prefix, plen) || strncmp(path + plen, "/ws", 3))
		return -ENOENT;
	const char *rest = path + plen + 3;
	if (!*rest || !strcmp(rest, "/")) {
		*mux = true;
		return 0;
	}
	if (*rest != '/')
		return -ENOENT;
	rest++;
	size_t len = strlen(rest);
	size_t base_len = strcspn(rest, "/");
	if (!tacws_base_ok(rest, base_len))
		return -ENOENT;
	return tacws_topic_name_parse(rest, len, out);
}

int tacws_client_msg_parse(const char *text, size_t len, tacws_client_msg *out)
{
	memset(out, 0, sizeof *out);
	out->kind = TACWS_CLIENT_INVALID;
	json_object *type;
	if (tacws_json_parse(text, len, DEPTH_CLIENT, &out->root) ||
	    !json_object_is_type(out->root, json_type_object) ||
	    !json_object_object_get_ex(out->root, "type", &type) ||
	    !json_object_is_type(type, json_type_string))
		return -EINVAL;
	const char *t = json_object_get_string(type);
	json_object *feeds = NULL;
	out->kind = TACWS_CLIENT_UNKNOWN;
	if (!strcmp(t, "ping")) {
		out->kind = TACWS_CLIENT_PING;
		json_object_object_get_ex(out->root, "timestamp", &out->timestamp);
	} else if (!strcmp(t, "client_ready")) {
		out->kind = TACWS_CLIENT_READY;
	} else if ((!strcmp(t, "subscribe") || !strcmp(t, "unsubscribe")) &&
	           json_object_object_get_ex(out->root, "feeds", &feeds) &&
	           json_object_is_type(feeds, json_type_array)) {
		out->kind = t[0] == 's' ? TACWS_CLIENT_SUBSCRIBE : TACWS_CLIENT_UNSUBSCRIBE;
		out->feeds = feeds;
	}
	return 0;
}

void tacws_client_msg_clear(tacws_client_msg *m)
{
	json_object_put(m->root);
	memset(m, 0, sizeof *m);
	m->kind = TACWS_CLIENT_INVALID;
}

static bool type_ok(const char *s, size_t len)
{
	if (len == 0 || len > TACWS_TYPE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("_.:-", c)))
			return false;
	}
	return true;
}

/* A string member's value and length (json-c strings may hold NULs). */
static bool get_string(json_object *o, const char *key, const char **s, size_t *len)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return false;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return true;
}

static int fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

static bool epoch_ok(const char *s, size_t len)
{
	if (len == 0 || len > TACWS_EPOCH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_or_dash(s[i]))
			return false;
	return true;
}

static int delta_mode_parse(const char *s, tacws_delta_mode *mode)
{
	if (strcmp(s, "json-patch"))
		return -EINVAL;
	*mode = TACWS_DELTA_JSON_PATCH;
	return 0;
}

/* A decimal seq without sign, leading zeros or spaces, at most TACWS_SINCE_MAX. */
static int since_parse(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	if (len == 0 || len > 16 || strspn(s, "0123456789") != len || (s[0] == '0' && len > 1))
		return -EINVAL;
	uint64_t v = strtoull(s, NULL, 10);
	if (v > TACWS_SINCE_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int resume_set(tacws_sub_options *o, uint64_t since, const char *epoch, size_t elen)
{
	if (!epoch_ok(epoch, elen))
		return -EINVAL;
	o->resume = true;
	o->since = since;
	memcpy(o->epoch, epoch, elen);
	o->epoch[elen] = '\0';
	return 0;
}

int tacws_sub_options_from_query(const char *delta, const char *since, const char *epoch,
				 const char *offset, tacws_sub_options *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (delta && delta_mode_parse(delta, &out->delta))
		return fail(err, errlen, "delta must be json-patch");
	if (!since != !epoch)
		return fail(err, errlen, "since and epoch go together");
	if (offset && !since)
		return fail(err, errlen, "offset needs since and epoch");
	uint64_t seq;
	if (since && (since_parse(since, &seq) || resume_set(out, seq, epoch, strlen(epoch))))
		return fail(err, errlen, "since must be a seq and epoch 1-32 of [A-Za-z0-9_-]");
	if (offset && since_parse(offset, &out->offset))
		return fail(err, errlen, "offset must be an event offset");
	out->has_offset = offset != NULL;
	return 0;
}

static int sub_object_parse(json_object *item, tacws_sub_request *out, char *err, size_t errlen)
{
	json_object *since = NULL, *epoch = NULL, *offset = NULL;
	json_object_object_foreach(item, key, val)
	{
		if (!strcmp(key, "topic")) {
			if (!json_object_is_type(val, json_type_string))
				return fail(err, errlen, "\"topic\" must be a string");
			out->topic = json_object_get_string(val);
			out->topic_len = (size_t)json_object_get_string_len(val);
		} else if (!strcmp(key, "delta")) {
			if (!json_object_is_type(val, json_type_string) ||
			    delta_mode_parse(json_object_get_string(val), &out->opts.delta))
				return fail(err, errlen, "\"delta\" must be \"json-patch\"");
		} else if (!strcmp(key, "since")) {
			since = val;
		} else if (!strcmp(key, "epoch")) {
			epoch = val;
		} else if (!strcmp(key, "offset")) {
			offset = val;
		} else {
			return fail(err, errlen, "unknown member in a subscription");
		}
	}
	if (!out->topic)
		return fail(err, errlen, "a subscription needs \"topic\"");
	if (!since != !epoch)
		return fail(err, errlen, "\"since\" and \"epoch\" go together");
	if (offset && !since)
		return fail(err, errlen, "\"offset\" needs \"since\" and \"epoch\"");
	if (offset) {
		int64_t off = json_object_get_int64(offset);
		if (!json_object_is_type(offset, json_type_int) || off < 0 ||
		    (uint64_t)off > TACWS_SINCE_MAX)
			return fail(err, errlen, "\"offset\" must be an event offset");
		out->opts.has_offset = true;
		out->opts.offset = (uint64_t)off;
	}
	if (!since)
		return 0;
	int64_t seq = json_object_get_int64(since);
	if (!json_object_is_type(since, json_type_int) || seq < 0 ||
	    (uint64_t)seq > TACWS_SINCE_MAX || !json_object_is_type(epoch, json_type_string) ||
	    resume_set(&out->opts, (uint64_t)seq, json_object_get_string(epoch),
		       (size_t)json_object_get_string_len(epoch)))
		return fail(err, errlen, "\"since\" must be a seq and \"epoch\" 1-32 of [A-Za-z0-9_-]");
	return 0;
}

int tacws_sub_request_parse(json_object *item, tacws_sub_request *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (json_object_is_type(item, json_type_string)) {
		out->topic = json_object_get_string(item);
		out->topic_len = (size_t)json_object_get_string_len(item);
		return 0;
	}
	if (!json_object_is_type(item, json_type_object))
		return fail(err, errlen, "a subscription is a topic name or an object");
	int rc = sub_object_parse(item, out, err, errlen);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

int tacws_publish_parse(const char *body, size_t len, tacws_publish_req *out, char *err,
                        size_t errlen)
{
	memset(out, 0, sizeof *out);
	json_object *root, *data, *param;
	const char *s;
	size_t n;
	if (tacws_json_parse(body, len, DEPTH_BODY, &root))
		return fail(err, errlen, "body is not valid JSON");
	int rc = -EINVAL;
	if (!json_object_is_type(root, json_type_object)) {
		fail(err, errlen, "body must be a JSON object");
		goto out;
	}
	if (!get_string(root, "feed", &s, &n) || !tacws_base_ok(s, n)) {
		fail(err, errlen, "\"feed\" must be a feed name ([a-z0-9_-], 1-64)");
		goto out;
	}
	memcpy(out->feed, s, n);
	if (!get_string(root, "type", &s, &n) || !type_ok(s, n)) {
		fail(err, errlen, "\"type\" must be 1-64 of [A-Za-z0-9_.:-]");
		goto out;
	}
	memcpy(out->type, s, n);
	if (!json_object_object_get_ex(root, "data", &data)) {
		fail(err, errlen, "\"data\" is missing");
		goto out;
	}
	if (json_object_object_get_ex(root, "param", &param) && param) {
		if (!get_string(root, "param", &s, &n) || !tacws_param_ok(s, n)) {
			fail(err, errlen, "\"param\" must be a topic parameter (1-256 bytes)");
			goto out;
		}
		memcpy(out->param, s, n);
		out->has_param = true;
	}
	out->data = json_object_get(data);
	rc = 0;
out:
	json_object_put(root);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

int tacws_refresh_parse(const char *body, size_t len, char param[TACWS_PARAM_MAX + 1],
                        bool *has_param, char *err, size_t errlen)
{
	*has_param = false;
	param[0] = '\0';
	size_t blank = 0;
	while (blank < len && strchr(" \t\r\n", body[blank]) && body[blank])
		blank++;
	if (blank == len)
		return 0;
	json_object *root, *v;
	const char *s;
	size_t n;
	if (tacws_json_parse(body, len, DEPTH_BODY, &root) ||
	    !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return fail(err, errlen, "body must be empty or a JSON object");
	}
	int rc = 0;
	if (json_object_object_get_ex(root, "param", &v) && v) {
		if (!get_string(root, "param", &s, &n) || !tacws_param_ok(s, n)) {
			rc = fail(err, errlen, "\"param\" must be a topic parameter (1-256 bytes)");
		} else {
			memcpy(param, s, n);
			param[n] = '\0';
			*has_param = true;
		}
	}
	json_object_put(root);
	return rc;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool tacws_secret_equal(const char *a, const char *b)
{
	/* Hashing both sides first makes the comparison independent of their lengths. */
	unsigned char ha[SHA256_DIGEST_LENGTH], hb[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)a, strlen(a), ha);
	SHA256((const unsigned char *)b, strlen(b), hb);
	return CRYPTO_memcmp(ha, hb, sizeof ha) == 0;
}

bool tacws_hmac_sha256_ok(const char *secret, const char *prefix, const char *header,
                          const void *body, size_t len)
{
	unsigned char want[32], got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	size_t plen = prefix ? strlen(prefix) : 0;
	if (!secret || !*secret || !header || strncmp(header, prefix ? prefix : "", plen) ||
	    strlen(header + plen) != 64 || len > INT_MAX)
		return false;
	for (int i = 0; i < 32; i++) {
		int hi = hex_val(header[plen + 2 * i]), lo = hex_val(header[plen + 1 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	static const unsigned char empty[1];
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), len ? body : empty, len, got,
	          &got_len) ||
	    got_len != 32)
		return false;
	return CRYPTO_memcmp(want, got, 32) == 0;
}

/* The value of field name in a form-encoded body, decoded ('+' and %XX).
 * Returns 0 with *out (malloc'd) and *out_len, -ENOENT, -EINVAL or -ENOMEM. */
static int form_field(const char *body, size_t len, const char *name, char **out, size_t *out_len)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < len;) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - body) : len;
		if (end - i > nlen && !memcmp(body + i, name, nlen) && body[i + nlen] == '=') {
			size_t vs = i + nlen + 1;
			char *v = malloc(end - vs + 1);
			if (!v)
				return -ENOMEM;
			size_t n = 0;
			for (size_t j = vs; j < end; j++) {
				char c = body[j];
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int hi = j + 2 < end ? hex_val(body[j + 1]) : -1;
					int lo = j + 2 < end ? hex_val(body[j + 2]) : -1;
					if (hi < 0 || lo < 0) {
						free(v);
						return -EINVAL;
					}
					c = (char)(hi << 4 | lo);
					j += 2;
				}
				v[n++] = c;
			}
			v[n] = '\0';
			*out = v;
			*out_len = n;
			return 0;
		}
		i = end + 1;
	}
	return -ENOENT;
}

bool tacws_webhook_event_ok(const char *event)
{
	size_t elen = event ? strlen(event) : 0;
	return elen && elen <= 64 && strspn(event, "abcdefghijklmnopqrstuvwxyz_") == elen;
}

int tacws_webhook_payload_parse(const char *content_type, const char *body, size_t len,
                                json_object **payload, char *err, size_t errlen)
{
	*payload = NULL;
	char *form = NULL;
	size_t form_len = 0;
	if (content_type && !strncasecmp(content_type, "application/x-www-form-urlencoded", 33)) {
		int rc = form_field(body, len, "payload", &form, &form_len);
		if (rc == -ENOMEM)
			return rc;
		if (rc)
			return fail(err, errlen, "form body without a valid payload field");
		body = form;
		len = form_len;
	}
	json_object *root;
	int rc = tacws_json_parse(body, len, DEPTH_BODY, &root);
	free(form);
	if (rc || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return fail(err, errlen, "payload is not a JSON object");
	}
	*payload = root;
	return 0;
}

/* Where a URL or path inside free text ends. */
static bool text_delim(char c)
{
	return !c || c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == ')' ||
	       c == '>' || c == ',' || c == ';';
}

struct redacted {
	char *out;
	size_t cap, len;
};

static void emit(struct redacted *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n && r->len + 1 < r->cap; i++)
		r->out[r->len++] = s[i];
	r->out[r->len] = '\0';
}

/* From just after "://": host (no userinfo), path, no query. Returns the end. */
static const char *redact_url(struct redacted *r, const char *p)
{
	size_t auth = strcspn(p, "/?# \t\n\"'),;>");
	const char *at = NULL;
	for (size_t i = 0; i < auth; i++)
		if (p[i] == '@')
			at = p + i;
	const char *host = at ? at + 1 : p;
	emit(r, host, (size_t)(p + auth - host));
	p += auth;
	size_t path = strcspn(p, "?# \t\n\"'),;>");
	emit(r, p, path);
	p += path;
	while (!text_delim(*p))
		p++; /* the query and fragment */
	return p;
}

/* From a '/' that starts a local path: its last segment only. */
static const char *redact_path(struct redacted *r, const char *p)
{
	const char *end = p, *last = p;
	while (!text_delim(*end) && *end != ':') {
		if (*end == '/')
			last = end + 1;
		end++;
	}
	if (last == p + 1 && !memchr(p + 1, '/', (size_t)(end - p - 1))) {
		emit(r, p, (size_t)(end - p)); /* "/x": nothing to hide */
		return end;
	}
	emit(r, ".../", 4);
	emit(r, last, (size_t)(end - last));
	return end;
}

void tacws_redact(const char *text, char *out, size_t cap)
{
	struct redacted r = {out, cap, 0};
	if (!cap)
		return;
	out[0] = '\0';
	char prev = ' ';
	for (const char *p = text; *p;) {
		if (!strncmp(p, "://", 3)) {
			emit(&r, p, 3);
			p = redact_url(&r, p + 3);
		} else if (*p == '/' && (text_delim(prev) || prev == ':' || prev == '=' || prev == '(')) {
			p = redact_path(&r, p);
		} else {
			emit(&r, p, 1);
			p++;
		}
		prev = p > text ? p[-1] : ' ';
	}
}

int tacws_post_framing(const char *cl, int cl_len, int te_len, size_t max_body, size_t *expected,
		       const char **why)
{
	*expected = 0;
	*why = "";
	if (cl_len && te_len) {
		*why = "Content-Length with Transfer-Encoding";
		return 400;
	}
	if (cl_len < 0 || te_len < 0 || (cl_len && strspn(cl, "0123456789") != (size_t)cl_len) ||
	    (size_t)cl_len != strlen(cl)) {
		*why = "bad Content-Length";
		return 400;
	}
	if (te_len) {
		*why = "Content-Length required";
		return 411;
	}
	size_t n = 0;
	for (const char *p = cl; *p; p++) {
		if (n > (max_body - (size_t)(*p - '0')) / 10) {
			*why = "body over max_body_bytes";
			return 413;
		}
		n = n * 10 + (size_t)(*p - '0');
	}
	*expected = n;
	return 0;
}
