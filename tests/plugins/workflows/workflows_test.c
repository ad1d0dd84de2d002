#include "agents.h" /* TACWS_AGENTS_COALESCE_MS */
#include "fake_host.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *root;

static int setup(void)
{
	root = tacws_test_mkdtemp();
	return root ? 0 : 1;
}

static int teardown(void)
{
	tacws_test_rmtree(root);
	free(root);
	return 0;
}

static void fresh_root(void)
{
	tacws_test_rmtree(root);
	tacws_test_mkdirs(root, "");
}

static void load(void)
{
	fake_host_config_set("sources", "repo_root", root);
	fake_host_config_set("feed.workflows", "enabled", "true");
	CU_ASSERT_EQUAL_FATAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake_host_feed("workflows"));
}

static void write_state(const char *id, const char *json)
{
	char rel[256];
	snprintf(rel, sizeof rel, "agents/%s/adw_state.json", id);
	CU_ASSERT_EQUAL_FATAL(tacws_test_write_file(root, rel, json), 0);
}

static void mkmarker(const char *id, const char *phase)
{
	char rel[256];
	snprintf(rel, sizeof rel, "agents/%s/adw_%s_iso", id, phase);
	CU_ASSERT_EQUAL_FATAL(tacws_test_mkdirs(root, rel), 0);
}

static void test_registration(void)
{
	const tacws_feed_desc *f;
	load();
	f = fake_host_feed("workflows");
	CU_ASSERT_STRING_EQUAL(f->endpoint, "workflows");
	CU_ASSERT_STRING_EQUAL(f->message_type, "workflows_update");
	CU_ASSERT_EQUAL(f->default_interval_ms, 2000);
	fake_host_unload();

	/* Not enabled: nothing registered, and loading still succeeds. */
	fake_host_config_set("sources", "repo_root", root);
	CU_ASSERT_EQUAL(fake_host_load(PLUGIN_PATH), 0);
	CU_ASSERT_EQUAL(fake_host_feed_count(), 0);
	fake_host_unload();
}

static void test_missing_agents_folder(void)
{
	fresh_root();
	load();
	char *s = fake_host_snapshot_string("workflows", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "[]");
	free(s);
	fake_host_unload();
}

static void test_payload(void)
{
	fresh_root();
	/* Created out of order: the payload is sorted by adw_id whatever readdir says. */
	write_state("zz999999", "{\"adw_id\":\"zz999999\",\"issue_number\":\"5\","
	                        "\"github_url\":\"https://github.com/o/r/issues/5\"}");
	mkmarker("zz999999", "plan");
	mkmarker("zz999999", "build");
	mkmarker("zz999999", "test");
	write_state("aaaa1111", "{\n  \"adw_id\": \"aaaa1111\",\n  \"issue_number\": \"42\"\n}");
	mkmarker("aaaa1111", "review");
	mkmarker("aaaa1111", "ship");
	mkmarker("aaaa1111", "plan");
	/* A file named like a marker is not a marker. */
	CU_ASSERT_EQUAL(tacws_test_write_file(root, "agents/bbbb2222/adw_build_iso", "x"), 0);
	write_state("bbbb2222", "{\"issue_number\":7}");
	write_state("cccc3333", "{\"issue_number\":\"abc\"}");
	write_state("dddd4444", "{\"adw_id\":\"dddd4444\"}");
	write_state("eeee5555", "{\"issue_number\":\"4.5\"}");
	write_state("ffff6666", "{\"issue_number\":null}");
	write_state("gggg7777", "{\"adw_id\": \"gggg7777\", \"issue_num");
	write_state("hhhh8888", "");
	write_state("iiii9999", "[1,2]");
	write_state("bad.name", "{\"issue_number\":\"1\"}");
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents/jjjj0000/adw_plan_iso"), 0);
	load();
	char *s = fake_host_snapshot_string("workflows", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(
	    s,
	    "[{\"adw_id\":\"aaaa1111\",\"issue_number\":42,\"phase\":\"ship\",\"github_url\":\"\"},"
	    "{\"adw_id\":\"bbbb2222\",\"issue_number\":7,\"phase\":\"plan\",\"github_url\":\"\"},"
	    "{\"adw_id\":\"zz999999\",\"issue_number\":5,\"phase\":\"test\",\"github_url\":"
	    "\"https:\\/\\/github.com\\/o\\/r\\/issues\\/5\"}]");
	free(s);

	/* Stable: a second poll of the same tree gives the same bytes. */
	char *again = fake_host_snapshot_string("workflows", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	s = fake_host_snapshot_string("workflows", NULL);
	CU_ASSERT_STRING_EQUAL(again, s);
	free(again);
	free(s);

	/* The half-written file is completed: it shows up. */
	write_state("gggg7777", "{\"adw_id\": \"gggg7777\", \"issue_number\": \"9\"}");
	mkmarker("gggg7777", "document");
	s = fake_host_snapshot_string("workflows", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "{\"adw_id\":\"gggg7777\",\"issue_number\":9,\"phase\":"
	                                 "\"document\",\"github_url\":\"\"}"));
	free(s);
	fake_host_unload();

	/* With github_repo set, every URL is built from it, as TAC does. */
	fake_host_config_set("feed.workflows", "github_repo", "acme/shop");
	load();
	s = fake_host_snapshot_string("workflows", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "{\"adw_id\":\"zz999999\",\"issue_number\":5,\"phase\":"
	                                 "\"test\",\"github_url\":"
	                                 "\"https:\\/\\/github.com\\/acme\\/shop\\/issues\\/5\"}"));
	free(s);
	fake_host_unload();
}

static void test_inotify_latency(void)
{
	fresh_root();
	CU_ASSERT_EQUAL(tacws_test_mkdirs(root, "agents"), 0);
	load();
	CU_ASSERT_EQUAL(fake_host_poll_count("workflows"), 0);

	/* A new run folder with its state file. */
	long long t0 = tacws_test_now_ms();
	write_state("abcd0001", "{\"issue_number\":\"1\"}");
	CU_ASSERT_TRUE(fake_host_wait_polls("workflows", 1, 1000) >= 1);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 1000);

	/* Each step below starts once the poll of the one before came: the events of one change
	 * are reported together, so nothing of it is left to count in the next. */
	/* A rewrite of the state file in a folder that existed at load. */
	int before = fake_host_poll_count("workflows");
	t0 = tacws_test_now_ms();
	write_state("abcd0001", "{\"issue_number\":\"2\"}");
	CU_ASSERT_TRUE(fake_host_wait_polls("workflows", before + 1, 1000) > before);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 1000);

	/* A phase marker. */
	before = fake_host_poll_count("workflows");
	mkmarker("abcd0001", "build");
	CU_ASSERT_TRUE(fake_host_wait_polls("workflows", before + 1, 1000) > before);

	/* A burst is coalesced into a poll per coalescing window it spans (a loaded machine
	 * stretches it), not fifty. Counting ends half a second after the burst: a window, as
	 * the end of coalescing shows nowhere outside the plugin. */
	before = fake_host_poll_count("workflows");
	long long burst_start = tacws_test_now_ms();
	for (int i = 0; i < 50; i++)
		write_state("abcd0001", "{\"issue_number\":\"3\"}");
	int most = (int)((tacws_test_now_ms() - burst_start) / TACWS_AGENTS_COALESCE_MS) + 2;
	int after = fake_host_wait_polls("workflows", 1000, 500);
	CU_ASSERT_TRUE(after > before);
	CU_ASSERT_TRUE(after - before <= most);
	fake_host_unload();
}

static void test_agents_folder_appears_later(void)
{
	fresh_root();
	load(); /* its watcher is in place when init returns */
	write_state("late0001", "{\"issue_number\":\"1\"}");
	/* agents/ is created by this write: the watch on repo_root notices it. */
	long long t0 = tacws_test_now_ms();
	CU_ASSERT_TRUE(fake_host_wait_polls("workflows", 1, 1000) >= 1);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 1000);
	int before = fake_host_poll_count("workflows");
	write_state("late0001", "{\"issue_number\":\"2\"}");
	CU_ASSERT_TRUE(fake_host_wait_polls("workflows", before + 1, 1000) > before);
	fake_host_unload();
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"registration", test_registration},
	    {"missing agents folder", test_missing_agents_folder},
	    {"payload", test_payload},
	    {"inotify latency", test_inotify_latency},
	    {"agents folder appears later", test_agents_folder_appears_later},
	    {NULL, NULL},
	};
	return tacws_test_run("workflows", setup, teardown, cases);
}
