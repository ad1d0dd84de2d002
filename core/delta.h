/*
 * JSON deltas: the RFC 6902 JSON Patch that turns one snapshot of a topic into
 * the next, computed once per change, and its application.
 *
 * Canonical form: two documents are the same when
 * json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN) gives the same
 * bytes. That includes the order of object members, so the patch from a to b
 * applied to a with tacws_delta_apply yields b in b's member order.
 *
 * Arrays whose elements are all objects carrying a unique string or integer
 * member named by the caller (e.g. a row's id) are diffed by that member: a
 * row that changed gives operations under that row, an inserted row one "add",
 * a removed row one "remove", a moved row one "move" (the longest run of rows
 * already in the new order stays put). Other arrays are diffed by position
 * after trimming their common head and tail.
 *
 * Why JSON Patch and not RFC 7386 Merge Patch: a merge patch cannot address an
 * array element, so one row changing in a 50-row history rewrites all 50 rows.
 * Measured on the demo's real changes (docs/BENCHMARKS.md, tools/delta-stats):
 * on the four feeds whose payloads are lists of rows, a merge patch is 99-101 %
 * of the full message, a JSON Patch 4-15 %; merge patches win only on the two
 * small status objects (50 % against 81 %, 23 % against 42 %), about 0.6 % of
 * all bytes. Over every change:
 * merge patch 98.9 % of the full bytes, JSON Patch 7.5 %.
 *
 * Both functions are pure: they never modify their inputs, may run on any
 * thread, and use no global state. Work is bounded: recursion stops at
 * TACWS_DELTA_MAX_DEPTH and a patch at TACWS_DELTA_MAX_OPS operations.
 */
#ifndef TACWS_DELTA_H
#define TACWS_DELTA_H

#include <json-c/json.h>

#define TACWS_DELTA_MAX_DEPTH 64
#define TACWS_DELTA_MAX_OPS 4096
/* Arrays longer than this are diffed by position, not by key (keyed diff is quadratic). */
#define TACWS_DELTA_MAX_KEYED_ROWS 1024

/*
 * The JSON Patch (a json array of operations) from old_doc to new_doc.
 * keys: NULL-terminated list of member names that identify array rows, tried in
 * order (the first one that every row of both arrays carries, uniquely, wins);
 * NULL for none. On success *patch is a new array the caller owns (empty when
 * the documents are equal); its values may share json-c nodes with new_doc,
 * so do not modify new_doc while the patch lives.
 * Returns 0; -E2BIG when the patch would exceed TACWS_DELTA_MAX_OPS or the
 * documents nest deeper than TACWS_DELTA_MAX_DEPTH (send the full snapshot);
 * -EINVAL for a NULL argument; -ENOMEM. On error *patch is NULL.
 */
int tacws_delta_diff(json_object *old_doc, json_object *new_doc, const char *const *keys,
                     json_object **patch);

/*
 * Applies a JSON Patch (add, remove, replace, move, copy, test; paths in RFC 6901
 * form) to a copy of doc. On success *out is the new document, owned by the
 * caller; doc and patch are unchanged.
 * Returns 0; -EINVAL when the patch is malformed or does not apply (a missing
 * path, a failed test, an index out of range); -E2BIG past TACWS_DELTA_MAX_OPS
 * operations; -ENOMEM. On error *out is NULL.
 */
int tacws_delta_apply(json_object *doc, json_object *patch, json_object **out);

#endif
