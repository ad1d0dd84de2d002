/*
 * delta-stats: reads messages as tacws-cat prints them (one JSON message a line,
 * several feeds mixed), and for each change of a feed's data reports the bytes of
 * the full message against the same message carrying an RFC 6902 JSON Patch
 * (core/delta.h) or an RFC 7386 Merge Patch instead, each also after raw deflate
 * (level 6, a fresh stream per message, as compress-once would send it).
 * Every JSON Patch is checked: applied to the old data it must give the new data.
 *
 *   delta-stats [--keys id,queue_id,adw_id] [--emit FILE] < capture.jsonl
 *
 * --emit writes one line per change, {"full":"<message>","delta":"<delta message>"},
 * the input of browser-apply.mjs (the client's cost of a delta against a snapshot).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "delta.h"

#define MAX_FEEDS 32
#define MAX_KEYS 16
#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

typedef struct feed_stats {
	char type[64];
	json_object *last; /* the last message seen */
	long changes, too_big, patch_ops;
	double full, full_z, patch, patch_z, merge, merge_z, sent, sent_z, diff_us;
} feed_stats;

static size_t deflated(const char *s, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		exit(1);
	uLong cap = deflateBound(&z, (uLong)n);
	unsigned char *out = malloc(cap);
	z.next_in = (unsigned char *)s;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		exit(1);
	size_t len = z.total_out;
	deflateEnd(&z);
	free(out);
	return len;
}

/* RFC 7386: members that changed, null for removed ones; arrays and other values whole. */
static json_object *merge_patch(json_object *a, json_object *b)
{
	if (!json_object_is_type(a, json_type_object) || !json_object_is_type(b, json_type_object))
		return json_object_get(b);
	json_object *p = json_object_new_object();
	json_object_object_foreach(a, ka, va) {
		(void)va;
		if (!json_object_object_get_ex(b, ka, NULL))
			json_object_object_add(p, ka, NULL);
	}
	json_object_object_foreach(b, kb, vb) {
		json_object *old;
		if (!json_object_object_get_ex(a, kb, &old)) {
			json_object_object_add(p, kb, json_object_get(vb));
		} else if (strcmp(json_object_to_json_string_ext(old, FLAGS),
		                  json_object_to_json_string_ext(vb, FLAGS))) {
			json_object_object_add(p, kb, merge_patch(old, vb));
		}
	}
	return p;
}

/* The message as sent with `member` (delta or merge) in place of data, and base_seq. */
static size_t envelope(json_object *msg, json_object *base, const char *member, json_object *body,
                       size_t *zlen)
{
	json_object *e = json_object_new_object(), *v;
	json_object_object_foreach(msg, k, val) {
		if (!strcmp(k, "data")) {
			json_object_object_add(e, member, json_object_get(body));
			if (json_object_object_get_ex(base, "seq", &v))
				json_object_object_add(e, "base_seq", json_object_get(v));
		} else {
			json_object_object_add(e, k, json_object_get(val));
		}
	}
	size_t n;
	const char *s = json_object_to_json_string_length(e, FLAGS, &n);
	*zlen = deflated(s, n);
	json_object_put(e);
	return n;
}

static FILE *emit_to;

static void emit_change(const char *full, json_object *msg, json_object *base, json_object *patch)
{
	json_object *e = json_object_new_object(), *v;
	json_object *dm = json_object_new_object();
	json_object_object_foreach(msg, k, val) {
		if (!strcmp(k, "data")) {
			json_object_object_add(dm, "delta", json_object_get(patch));
			if (json_object_object_get_ex(base, "seq", &v))
				json_object_object_add(dm, "base_seq", json_object_get(v));
		} else {
			json_object_object_add(dm, k, json_object_get(val));
		}
	}
	json_object_object_add(e, "full", json_object_new_string(full));
	json_object_object_add(e, "delta",
	                       json_object_new_string(json_object_to_json_string_ext(dm, FLAGS)));
	fprintf(emit_to, "%s\n", json_object_to_json_string_ext(e, FLAGS));
	json_object_put(dm);
	json_object_put(e);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int change(feed_stats *f, json_object *msg, const char *const *keys)
{
	json_object *old_data, *new_data;
	json_object_object_get_ex(f->last, "data", &old_data);
	json_object_object_get_ex(msg, "data", &new_data);
	if (!strcmp(json_object_to_json_string_ext(old_data, FLAGS),
	            json_object_to_json_string_ext(new_data, FLAGS)))
		return 0; /* an unchanged resend (a reconnect's snapshot) */
	size_t n, z;
	const char *full = json_object_to_json_string_length(msg, FLAGS, &n);
	size_t full_z = deflated(full, n);
	f->changes++;
	f->full += (double)n;
	f->full_z += (double)full_z;

	json_object *patch = NULL, *got = NULL;
	/* CPU per diff: the best of a few runs, so page faults and other processes do not count. */
	double best = 1e30;
	int rc = 0;
	for (int run = 0; run < 5; run++) {
		json_object_put(patch);
		patch = NULL;
		double t0 = now_us();
		rc = tacws_delta_diff(old_data, new_data, keys, &patch);
		double t = now_us() - t0;
		best = t < best ? t : best;
	}
	f->diff_us += best;
	size_t pn = n, pz = full_z;
	if (rc == -E2BIG) {
		f->too_big++;
	} else if (rc) {
		fprintf(stderr, "delta-stats: diff failed: %s\n", strerror(-rc));
		return -1;
	} else {
		if (tacws_delta_apply(old_data, patch, &got) ||
		    strcmp(json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN),
		           json_object_to_json_string_ext(new_data, JSON_C_TO_STRING_PLAIN))) {
			fprintf(stderr, "delta-stats: %s: the patch does not give the new data\n", f->type);
			return -1;
		}
		f->patch_ops += (long)json_object_array_length(patch);
		if (emit_to)
			emit_change(full, msg, f->last, patch);
		pn = envelope(msg, f->last, "delta", patch, &pz);
	}
	f->patch += (double)pn;
	f->patch_z += (double)pz;
	/* What a server sends: the delta only when it is smaller. */
	f->sent += (double)(pn < n ? pn : n);
	f->sent_z += (double)(pn < n ? pz : full_z);
	json_object *merge = merge_patch(old_data, new_data);
	f->merge += (double)envelope(msg, f->last, "merge", merge, &z);
	f->merge_z += (double)z;
	json_object_put(merge);
	json_object_put(patch);
	json_object_put(got);
	return 0;
}

int main(int argc, char **argv)
{
	char keybuf[256] = "id,queue_id,adw_id";
	const char *keys[MAX_KEYS + 1];
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 < argc && !strcmp(argv[i], "--keys")) {
			snprintf(keybuf, sizeof keybuf, "%s", argv[i + 1]);
		} else if (i + 1 < argc && !strcmp(argv[i], "--emit")) {
			if (!(emit_to = fopen(argv[i + 1], "w"))) {
				perror(argv[i + 1]);
				return 1;
			}
		} else {
			fprintf(stderr, "usage: delta-stats [--keys id,queue_id,adw_id] [--emit FILE] "
			                "< capture.jsonl\n");
			return 1;
		}
	}
	int nk = 0;
	for (char *save, *k = strtok_r(keybuf, ",", &save); k && nk < MAX_KEYS;
	     k = strtok_r(NULL, ",", &save))
		keys[nk++] = k;
	keys[nk] = NULL;

	static feed_stats feeds[MAX_FEEDS];
	int nfeeds = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, stdin) > 0) {
		json_object *msg = json_tokener_parse(line), *type, *data;
		if (!json_object_object_get_ex(msg, "type", &type) ||
		    !json_object_object_get_ex(msg, "data", &data)) {
			json_object_put(msg);
			continue;
		}
		feed_stats *f = NULL;
		for (int i = 0; i < nfeeds && !f; i++)
			if (!strcmp(feeds[i].type, json_object_get_string(type)))
				f = &feeds[i];
		if (!f && nfeeds < MAX_FEEDS) {
			f = &feeds[nfeeds++];
			snprintf(f->type, sizeof f->type, "%s", json_object_get_string(type));
		}
		if (f && f->last && change(f, msg, keys))
			return 2;
		if (f) {
			json_object_put(f->last);
			f->last = msg;
		} else {
			json_object_put(msg);
		}
	}
	free(line);
	if (emit_to)
		fclose(emit_to);
	printf("| feed (message type) | changes | full B | JSON Patch B | merge patch B | sent B "
	       "| full+deflate B | JSON Patch+deflate B | merge+deflate B | sent+deflate B "
	       "| ops/change | diff µs | patch too big |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < nfeeds; i++) {
		feed_stats *f = &feeds[i];
		double c = f->changes ? (double)f->changes : 1;
		printf("| %s | %ld | %.0f | %.0f (%.1f%%) | %.0f (%.1f%%) | %.0f | %.0f | %.0f | %.0f | %.0f "
		       "| %.1f | %.1f | %ld |\n",
		       f->type, f->changes, f->full / c, f->patch / c, 100 * f->patch / (f->full ? f->full : 1),
		       f->merge / c, 100 * f->merge / (f->full ? f->full : 1), f->sent / c, f->full_z / c,
		       f->patch_z / c, f->merge_z / c, f->sent_z / c, (double)f->patch_ops / c,
		       f->diff_us / c, f->too_big);
		json_object_put(f->last);
	}
	return 0;
}
