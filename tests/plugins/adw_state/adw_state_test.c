#include "fake_host.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *root;

static int setup(void)
{
	root = tacws_test_mkdtemp();
	if (!root)
		return 1;
	fake_host_config_set("sources", "repo_root", root);
	fake_host_config_set("feed.adw-state", "interval_ms", "2000");
	return fake_host_load(PLUGIN_PATH) == 0 && fake_host_feed("adw-state") ? 0 : 1;
}

static int teardown(void)
{
	fake_host_unload();
	tacws_test_rmtree(root);
	free(root);
	return 0;
}

static void test_registration(void)
{
	const tacws_feed_desc *f = fake_host_feed("adw-state");
	CU_ASSERT_STRING_EQUAL(f->endpoint, "adw-state/{adw_id}");
	CU_ASSERT_STRING_EQUAL(f->message_type, "adw_state_update");
	CU_ASSERT_STRING_EQUAL(f->param_pattern, "[A-Za-z0-9_-]{1,64}");
	CU_ASSERT_EQUAL(f->default_interval_ms, 2000);
}

static void test_raw_state(void)
{
	const char *text = "{\n  \"adw_id\": \"77c90e61\",\n  \"issue_number\": \"42\",\n"
	                   "  \"estimated_cost_breakdown\": {\n    \"plan\": 0.25\n  },\n"
	                   "  \"all_adws\": [\n    \"adw_plan_iso\"\n  ],\n  \"end_time\": null,\n"
	                   "  \"extra_key\": true\n}\n";
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(root, "agents/77c90e61/adw_state.json", text),
	                      0);
	char *s = fake_host_snapshot_string("adw-state", "77c90e61");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"adw_id\":\"77c90e61\",\"issue_number\":\"42\","
	                          "\"estimated_cost_breakdown\":{\"plan\":0.25},"
	                          "\"all_adws\":[\"adw_plan_iso\"],\"end_time\":null,"
	                          "\"extra_key\":true}");
	free(s);
}

static void test_missing(void)
{
	char *s = fake_host_snapshot_string("adw-state", "nosuchid");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{}");
	free(s);
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents/emptyrun"), 0);
	s = fake_host_snapshot_string("adw-state", "emptyrun");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{}");
	free(s);
}

static void test_refused_ids(void)
{
	/* A readable file one level up: none of these ids may reach it. */
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "adw_state.json", "{\"secret\":1}"), 0);
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/adw_state.json", "{\"secret\":2}"), 0);
	char long_id[70];
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	const char *bad[] = {"..", ".", "", "../agents", "a/b", "a b", "id\n", long_id, NULL};
	for (int i = 0; bad[i]; i++) {
		json_object *data = NULL;
		char err[256];
		int rc = fake_host_snapshot("adw-state", bad[i], &data, err, sizeof err);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NULL(data);
		json_object_put(data);
	}
	json_object *data = NULL;
	char err[256];
	CU_ASSERT_EQUAL(fake_host_snapshot("adw-state", NULL, &data, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NULL(data);
	/* 64 characters is still fine. */
	long_id[64] = '\0';
	char *s = fake_host_snapshot_string("adw-state", long_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{}");
	free(s);
}

static void test_half_written(void)
{
	CU_ASSERT_EQUAL(
	    tacws_test_write_file(root, "agents/half0001/adw_state.json", "{\"adw_id\": \"half"),
	    0);
	json_object *data = NULL;
	char err[256] = "";
	int rc = fake_host_snapshot("adw-state", "half0001", &data, err, sizeof err);
	CU_ASSERT_EQUAL(rc, -EBADMSG);
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "half0001"));
	json_object_put(data);
}

static void test_inotify_latency(void)
{
	int made = fake_host_poll_count("adw-state") + 1;
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents/fast0001"), 0);
	/* the new folder's poll first, so the next one is the state file's */
	int before = fake_host_wait_polls("adw-state", made, 1000);
	CU_ASSERT_EQUAL(before, made);
	long long t0 = tacws_test_now_ms();
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/fast0001/adw_state.json", "{}"), 0);
	CU_ASSERT_TRUE(fake_host_wait_polls("adw-state", before + 1, 1000) > before);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 1000);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"registration", test_registration},
	    {"raw state", test_raw_state},
	    {"missing state is {}", test_missing},
	    {"refused ids", test_refused_ids},
	    {"half-written state", test_half_written},
	    {"inotify latency", test_inotify_latency},
	    {NULL, NULL},
	};
	return tacws_test_run("adw_state", setup, teardown, cases);
}
