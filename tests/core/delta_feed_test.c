/*
 * Deltas end to end, against a real tacwsd and the testfeed plugin: a
 * subscriber that asks for deltas gets, for a change of one row, a JSON Patch
 * on the seq it holds, which applies (tacws_delta_apply) to exactly the new
 * snapshot; one that does not ask gets full snapshots; a delta no smaller than
 * the snapshot is not sent; a subscriber whose snapshots were coalesced gets
 * the full snapshot, never a delta on a base it does not hold.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delta.h"
#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"

/* More than the server's largest send buffer (tcp_wmem's 4 MB) and the client's. */
#define FILLER_BYTES (8u << 20)
#define CHANGES "tacws_changes_total{feed=\"alpha\"}"

static tacws_server_fixture *fx;
static int port;
static char rows_file[1024];
static long long changes;

static json_object *member(json_object *m, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(m, key, &v) ? v : NULL;
}

/* The next frame as JSON (the caller's), NULL on failure. */
static json_object *next_msg(int fd)
{
	unsigned char first, *payload = NULL;
	size_t len = 0;
	int rc = edge_ws_frame(fd, 20000, &first, &payload, &len);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		return NULL;
	CU_ASSERT_EQUAL(first, 0x81);
	json_object *m = json_tokener_parse((char *)payload);
	free(payload);
	CU_ASSERT_PTR_NOT_NULL(m);
	return m;
}

static int open_rows(const char *query)
{
	int fd = edge_connect_rcvbuf(NULL, port, 4096);
	CU_ASSERT_FATAL(fd >= 0);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/ws/alpha%s%s", query ? "?" : "", query ? query : "");
	int status = edge_ws_upgrade(fd, path, NULL, 3000, NULL, 0);
	if (status != 101)
		fprintf(stderr, "upgrade %s: %d\n", path, status);
	CU_ASSERT_EQUAL_FATAL(status, 101);
	return fd;
}

/* Writes a new snapshot and waits until tacwsd has seen it as a change. */
static void change_to(const char *json)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(rows_file, json), 0);
	changes++;
	CU_ASSERT_EQUAL_FATAL(tacws_server_wait_metric_at_least(fx, CHANGES, changes, 20000),
	                      changes);
}

static char *canonical(json_object *o)
{
	return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* A client's view of the topic: the document and the seq it holds. */
struct view {
	json_object *doc;
	long long seq;
	int deltas, snapshots;
};

/* Reads one message and applies it to v, as a client must: a delta only on its base. */
static void view_next(int fd, struct view *v)
{
	json_object *m = next_msg(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	long long seq = json_object_get_int64(member(m, "seq"));
	json_object *patch = member(m, "delta"), *data = member(m, "data");
	if (patch) {
		CU_ASSERT_EQUAL(json_object_get_int64(member(m, "base_seq")), v->seq);
		CU_ASSERT_EQUAL(seq, v->seq + 1);
		json_object *next = NULL;
		CU_ASSERT_EQUAL(tacws_delta_apply(v->doc, patch, &next), 0);
		json_object_put(v->doc);
		v->doc = next;
		v->deltas++;
	} else {
		CU_ASSERT_PTR_NOT_NULL_FATAL(data);
		json_object_put(v->doc);
		v->doc = json_object_get(data);
		v->snapshots++;
	}
	v->seq = seq;
	json_object_put(m);
}

static bool view_equals(const struct view *v, const char *json)
{
	json_object *want = json_tokener_parse(json);
	char *a = canonical(v->doc), *b = canonical(want);
	bool same = !strcmp(a, b);
	free(a);
	free(b);
	json_object_put(want);
	return same;
}

static void view_is(const struct view *v, const char *json)
{
	CU_ASSERT_TRUE(view_equals(v, json));
}

/* A new subscriber: the cached snapshot may be older than the file; reads until
 * the view is json, then counts the changes tacwsd has seen. */
static void view_start(int fd, struct view *v, const char *json)
{
	for (int i = 0; i < 3; i++) {
		view_next(fd, v);
		if (view_equals(v, json))
			break;
	}
	view_is(v, json);
	changes = tacws_server_metric(fx, CHANGES);
}

static void rows_json(char *out, size_t cap, const char *status_of_b)
{
	snprintf(out, cap,
	         "{\"rows\":[{\"id\":\"a\",\"status\":\"done\",\"note\":\"%0100d\"},"
	         "{\"id\":\"b\",\"status\":\"%s\",\"note\":\"%0100d\"},"
	         "{\"id\":\"c\",\"status\":\"queued\",\"note\":\"%0100d\"}]}",
	         1, status_of_b, 2, 3);
}

static void test_delta_applies(void)
{
	char json[1024];
	rows_json(json, sizeof json, "running");
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(rows_file, json), 0);
	int with = open_rows("delta=json-patch"), without = open_rows(NULL);
	struct view dv = {0}, fv = {0};
	view_start(with, &dv, json);
	view_start(without, &fv, json);
	CU_ASSERT_EQUAL(dv.deltas, 0);
	rows_json(json, sizeof json, "failed");
	change_to(json);
	view_next(with, &dv);
	view_next(without, &fv);
	CU_ASSERT_EQUAL(dv.deltas, 1);
	CU_ASSERT_EQUAL(fv.deltas, 0);
	CU_ASSERT_EQUAL(dv.seq, fv.seq);
	view_is(&dv, json);
	view_is(&fv, json);

	/* a rewrite whose patch is no smaller than the snapshot comes whole */
	change_to("[1]");
	int snapshots = dv.snapshots;
	view_next(with, &dv);
	CU_ASSERT_EQUAL(dv.deltas, 1);
	CU_ASSERT_EQUAL(dv.snapshots, snapshots + 1);
	view_is(&dv, "[1]");
	json_object_put(dv.doc);
	json_object_put(fv.doc);
	close(with);
	close(without);
}

static void test_coalesced_gets_snapshot(void)
{
	char json[1024];
	rows_json(json, sizeof json, "running");
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(rows_file, json), 0);
	int fd = open_rows("delta=json-patch");
	struct view v = {0};
	view_start(fd, &v, json);
	long long seq = v.seq;
	int deltas = v.deltas;

	/* the filler fills the socket; the subscriber reads nothing from here on */
	char *filler = edge_filler_json(FILLER_BYTES);
	CU_ASSERT_PTR_NOT_NULL_FATAL(filler);
	change_to(filler);
	free(filler);
	static const char *const states[] = {"a", "b", "c", "d"};
	for (size_t i = 0; i < 4; i++) {
		rows_json(json, sizeof json, states[i]);
		change_to(json);
	}
	view_next(fd, &v); /* the filler */
	CU_ASSERT_EQUAL(v.seq, seq + 1);
	/* the first rows document after the filler could have been a delta on it; coalesced
	 * with three more, only the full snapshot is correct */
	view_next(fd, &v);
	CU_ASSERT_EQUAL(v.seq, seq + 5);
	CU_ASSERT_EQUAL(v.deltas, deltas);
	view_is(&v, json);
	/* and the next change is a delta on that */
	rows_json(json, sizeof json, "e");
	change_to(json);
	view_next(fd, &v);
	CU_ASSERT_EQUAL(v.deltas, deltas + 1);
	view_is(&v, json);
	json_object_put(v.doc);
	close(fd);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	snprintf(rows_file, sizeof rows_file, "%s/rows.json", tacws_server_fixture_dir(fx));
	if (tacws_test_replace_file(rows_file, "{\"rows\":[]}"))
		return 1;
	char ini[2048];
	snprintf(ini, sizeof ini, "[feed.alpha]\nplugin = testfeed\nfile = %s\ninterval_ms = 50\n",
	         rows_file);
	return (port = tacws_server_fixture_start_ini(fx, TEST_PLUGIN_DIR, NULL, ini)) < 0;
}

static int teardown(void)
{
	return tacws_server_fixture_finish(fx);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"a delta applies to the new snapshot; no delta for others", test_delta_applies},
	    {"a coalesced subscriber gets the full snapshot", test_coalesced_gets_snapshot},
	    {NULL, NULL},
	};
	return tacws_test_run("deltas", setup, teardown, cases);
}
