/*
 * Latest snapshot wins, against a real tacwsd: a subscriber that stops reading
 * while its topic changes several times gets, once it reads again, the newest
 * snapshot with the newest seq, and none of the ones in between.
 *
 * The subscriber is a raw socket with a small receive buffer; a first change
 * of several megabytes fills the kernel's buffers on both sides, so every
 * later change has to wait in tacwsd's queue for that subscriber.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_util.h"
#include "server_fixture.h"
#include "testutil.h"

/* More than the server's largest send buffer (tcp_wmem's 4 MB) and the client's. */
#define FILLER_BYTES (8u << 20)
#define CHANGES "tacws_changes_total{feed=\"alpha\"}"

static tacws_server_fixture *fx;
static int port;
static char alpha_file[1024];

/* The next frame's envelope: its seq and its data as compact JSON (data_out, the caller's). */
static long long read_envelope(int fd, char **data_out)
{
	unsigned char first, *payload = NULL;
	size_t len = 0;
	*data_out = NULL;
	int rc = edge_ws_frame(fd, 20000, &first, &payload, &len);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		return -1;
	CU_ASSERT_EQUAL(first, 0x81); /* FIN, text */
	json_object *m = json_tokener_parse((char *)payload);
	free(payload);
	json_object *seq, *data;
	long long value = -1;
	if (json_object_object_get_ex(m, "seq", &seq) &&
	    json_object_object_get_ex(m, "data", &data)) {
		value = json_object_get_int64(seq);
		*data_out = strdup(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(m);
	CU_ASSERT(value >= 0);
	return value;
}

/* Writes a new snapshot and waits until tacwsd has seen it as a change. */
static void change_to(const char *json, long long changes)
{
	CU_ASSERT_EQUAL_FATAL(tacws_test_replace_file(alpha_file, json), 0);
	CU_ASSERT_EQUAL_FATAL(tacws_server_wait_metric_at_least(fx, CHANGES, changes, 20000),
	                      changes);
}

static void test_latest_snapshot_wins(void)
{
	int fd = edge_connect_rcvbuf(NULL, port, 4096);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(edge_ws_upgrade(fd, "/api/v1/ws/alpha", NULL, 3000, NULL, 0), 101);
	char *data;
	long long seq = read_envelope(fd, &data);
	CU_ASSERT_STRING_EQUAL(data ? data : "", "{\"v\":0}");
	free(data);
	long long changes = tacws_server_metric(fx, CHANGES);
	CU_ASSERT_FATAL(changes >= 1);

	/* the filler fills the socket; the subscriber reads nothing from here on */
	char *filler = edge_filler_json(FILLER_BYTES);
	CU_ASSERT_PTR_NOT_NULL_FATAL(filler);
	change_to(filler, ++changes);
	free(filler);
	enum { INTERMEDIATE = 5 };
	for (int v = 1; v <= INTERMEDIATE; v++) {
		char json[32];
		snprintf(json, sizeof json, "{\"v\":%d}", v);
		change_to(json, ++changes);
	}

	/* reading again: the filler, then only the newest snapshot */
	CU_ASSERT_EQUAL(read_envelope(fd, &data), seq + 1);
	CU_ASSERT_EQUAL(data ? strlen(data) : 0, FILLER_BYTES + 11);
	free(data);
	CU_ASSERT_EQUAL(read_envelope(fd, &data), seq + 1 + INTERMEDIATE);
	CU_ASSERT_STRING_EQUAL(data ? data : "", "{\"v\":5}");
	free(data);
	/* and the next change comes as usual */
	change_to("{\"v\":6}", ++changes);
	CU_ASSERT_EQUAL(read_envelope(fd, &data), seq + 2 + INTERMEDIATE);
	CU_ASSERT_STRING_EQUAL(data ? data : "", "{\"v\":6}");
	free(data);
	close(fd);
}

static int setup(void)
{
	if (tacws_server_fixture_new(&fx))
		return 1;
	snprintf(alpha_file, sizeof alpha_file, "%s/alpha.json", tacws_server_fixture_dir(fx));
	if (tacws_test_replace_file(alpha_file, "{\"v\":0}"))
		return 1;
	char ini[2048];
	snprintf(ini, sizeof ini, "[feed.alpha]\nplugin = testfeed\nfile = %s\ninterval_ms = 50\n",
	         alpha_file);
	return (port = tacws_server_fixture_start_ini(fx, TEST_PLUGIN_DIR, NULL, ini)) < 0;
}

static int teardown(void)
{
	return tacws_server_fixture_finish(fx);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"a subscriber that does not read gets the latest snapshot", test_latest_snapshot_wins},
	    {NULL, NULL},
	};
	return tacws_test_run("latest snapshot wins", setup, teardown, cases);
}
